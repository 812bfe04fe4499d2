//! Query words → the indexed terms (or wildcard patterns) they look up, position by position.
//!
//! A query word goes through the same analysis as indexed text ([`crate::tokenizer`]) and keeps the
//! primary token of each position: `e-mail` is two positions, `#Café` one (`#café`).

use super::limits::clip;
use crate::tokenizer::segment::elision_len;
use crate::tokenizer::{analyze, analyze_url, normalize, segments, Case, Folder, SegmentKind};

/// What one token position of a query looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// One indexed term.
    Exact(String),
    /// Every indexed term a wildcard pattern matches.
    Pattern(Glob),
}

/// A wildcard pattern: `*` is any run of characters (maybe none), `?` exactly one character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern, normalized like indexed terms.
    pub pattern: String,
    /// The characters before the first wildcard (never empty).
    pub prefix: String,
}

/// Whether `s` has a wildcard character.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

impl Glob {
    /// A pattern; refused when it starts with a wildcard.
    pub fn new(pattern: String) -> Result<Glob, String> {
        let first = pattern.find(['*', '?']).unwrap_or(pattern.len());
        let prefix = pattern[..first].to_owned();
        if prefix.is_empty() || prefix == "#" || prefix == "@" {
            return Err("a wildcard can't start a word: put at least one letter before `*` or `?`".into());
        }
        Ok(Glob { pattern, prefix })
    }

    /// Whether `term` matches the whole pattern.
    pub fn matches(&self, term: &str) -> bool {
        let p: Vec<char> = self.pattern.chars().collect();
        let t: Vec<char> = term.chars().collect();
        let (mut pi, mut ti) = (0, 0);
        // Position of the last `*` and the text position it was tried at.
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some((pi, ti));
                pi += 1;
            } else if let Some((sp, st)) = star {
                // Let the last `*` swallow one more character.
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

/// The slot of a keyword operator's (already normalized) value.
pub fn keyword_slot(value: &str) -> Result<Slot, String> {
    if has_wildcard(value) {
        Glob::new(value.to_owned()).map(Slot::Pattern)
    } else {
        Ok(Slot::Exact(value.to_owned()))
    }
}

/// The slots of one word of text (no white space in it).
pub fn text_word(word: &str, case: Case) -> Result<Vec<Slot>, String> {
    if has_wildcard(word) {
        // An elision goes as in indexed text (`l'app*` is `app*`); wildcards fill in one byte each.
        let elided = elision_len(&word.replace(['*', '?'], "a"));
        let word = if has_wildcard(&word[..elided]) { word } else { &word[elided..] };
        // Wildcards stand for word characters: the word must stay one segment with them filled in.
        let filled = word.replace(['*', '?'], "a");
        let parts = segments(&filled);
        let single = matches!(parts.as_slice(), [s] if s.start == 0 && s.end == filled.len()
            && matches!(s.kind, SegmentKind::Word | SegmentKind::Hashtag | SegmentKind::Handle | SegmentKind::Domain));
        if !single {
            return Err(format!("wildcards work inside a single word; `{}` has several parts", clip(word)));
        }
        return Glob::new(normalize(word, case)).map(|g| vec![Slot::Pattern(g)]);
    }
    let analyzed = analyze(word, case, &mut Folder::default());
    if analyzed.len() != segments(word).len() {
        return Err(format!(
            "part of `{}` can't be searched: a word is longer than 100 bytes, or a url has no host",
            clip(word)
        ));
    }
    if analyzed.is_empty() {
        return Err(format!("`{}` has nothing to search for: it is only punctuation", clip(word)));
    }
    Ok(analyzed.into_iter().map(|a| Slot::Exact(a.primary)).collect())
}

/// The slots of a phrase, word by word.
pub fn phrase(text: &str, case: Case) -> Result<Vec<Vec<Slot>>, String> {
    let words: Vec<Vec<Slot>> = text.split_whitespace().map(|w| text_word(w, case)).collect::<Result<_, _>>()?;
    if words.is_empty() {
        return Err("this phrase is empty".into());
    }
    Ok(words)
}

/// The slots of a `url:` value: its host, then its path words.
pub fn url(value: &str) -> Result<Vec<Slot>, String> {
    if has_wildcard(value) {
        let filled = value.replace(['*', '?'], "a");
        if analyze_url(&filled, &mut Folder::default()).len() != 1 {
            return Err(format!(
                "wildcards in `url:` work on a single word or domain; `{}` has several parts",
                clip(value)
            ));
        }
        return Glob::new(value.to_lowercase()).map(|g| vec![Slot::Pattern(g)]);
    }
    let analyzed = analyze_url(value, &mut Folder::default());
    if analyzed.is_empty() {
        return Err(format!("`{}` has nothing to search for", clip(value)));
    }
    Ok(analyzed.into_iter().map(|a| Slot::Exact(a.primary)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> Glob {
        Glob::new(p.to_owned()).expect("valid pattern")
    }

    #[test]
    fn globs_match_whole_terms() {
        assert!(glob("complain*").matches("complain"));
        assert!(glob("complain*").matches("complaints"));
        assert!(!glob("complain*").matches("complai"));
        assert!(glob("customi?e").matches("customise"));
        assert!(glob("customi?e").matches("customize"));
        assert!(!glob("customi?e").matches("customie"));
        assert!(glob("caf?").matches("café"));
        assert!(glob("a*b*c").matches("axxbyyc"));
        assert!(!glob("a*b*c").matches("axxbyy"));
        assert!(Glob::new("*x".into()).is_err());
        assert!(Glob::new("#*".into()).is_err());
    }

    #[test]
    fn words_become_slots() {
        let exact = |s: &str| Slot::Exact(s.into());
        assert_eq!(text_word("E-mail", Case::Lower), Ok(vec![exact("e"), exact("mail")]));
        assert_eq!(text_word("#Café", Case::Lower), Ok(vec![exact("#café")]));
        assert_eq!(text_word("BT", Case::Keep), Ok(vec![exact("BT")]));
        assert!(text_word("!!!", Case::Lower).is_err());
        assert!(text_word("foo*-bar", Case::Lower).is_err());
        assert_eq!(url("bbc.co.uk/News"), Ok(vec![exact("bbc.co.uk"), exact("news")]));
    }

    #[test]
    fn elisions_and_german_spellings_in_query_words() {
        let exact = |s: &str| Slot::Exact(s.into());
        assert_eq!(text_word("L'App", Case::Lower), Ok(vec![exact("app")]));
        assert_eq!(text_word("dell’app", Case::Lower), Ok(vec![exact("app")]));
        assert_eq!(text_word("Müller", Case::Lower), Ok(vec![exact("mueller")]));
        assert_eq!(text_word("Müller", Case::Keep), Ok(vec![exact("Mueller")]));
        assert_eq!(text_word("Straße", Case::Lower), Ok(vec![exact("strasse")]));
        assert_eq!(text_word("l'osp*", Case::Lower), Ok(vec![Slot::Pattern(glob("osp*"))]));
        // A wildcard inside the elided word keeps the word whole, and so several parts.
        assert!(text_word("d?ll'app", Case::Lower).is_err());
    }
}
