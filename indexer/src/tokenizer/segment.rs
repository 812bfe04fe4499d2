//! Splitting social text into segments: words, `#hashtags`, `@handles`, domains, urls and emoji.
//!
//! Segmentation is the one place that decides where a token starts and ends. The index analyzers
//! and the query language both go through it, so a query word always splits the way the indexed
//! text did.
//!
//! **Elisions** (French and Italian): an elided article, pronoun or preposition and its apostrophe
//! (`l'`, `d’`, `qu'`, `dell'`, `all'`, `un'`…, see [`ELISIONS`]) are dropped, so `l'app` is the one
//! word `app` at one position, as in Lucene's elision filter. The word after the apostrophe must have
//! at least two letters and not be an English contraction ending (`'ll`, `'re`, `'ve`), so English
//! possessives keep their word (`Dell's` is `Dell` and `s`).

/// What a segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// A run of letters, digits and `_`.
    Word,
    /// `#` followed by letters, digits or `_`.
    Hashtag,
    /// `@` followed by letters, digits or `_`, at the start of a word.
    Handle,
    /// `bbc.co.uk`: words joined by dots whose last label is alphabetic and at least 2 letters long.
    Domain,
    /// `https://…` or `www.…` up to the next white space.
    Url,
    /// One emoji, with its modifiers and joined sequence.
    Emoji,
}

/// A segment: its kind and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// What it is.
    pub kind: SegmentKind,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past its last character.
    pub end: usize,
}

/// Elided words of French and Italian, lower case, that drop before an apostrophe.
pub const ELISIONS: &[&str] = &[
    // French: articles, pronouns, `de`, `ne`, `que` and its compounds.
    "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu", "quelqu",
    // Italian: articulated prepositions, `un'`, demonstratives and a few common truncations.
    "dell", "dall", "nell", "sull", "all", "coll", "pell", "un", "quell", "quest", "bell", "sant", "tutt", "v",
];

/// English endings after an apostrophe that are never the elided word's host (`we'll`, `you're`).
const CONTRACTION_ENDINGS: &[&str] = &["ll", "re", "ve"];

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

/// Byte length of an elision (the elided word and its apostrophe) at the start of `text`, or 0.
pub fn elision_len(text: &str) -> usize {
    let word_end = text.find(|c: char| !is_word_char(c)).unwrap_or(text.len());
    let word = &text[..word_end];
    let Some(apostrophe) = text[word_end..].chars().next().filter(|c| is_apostrophe(*c)) else { return 0 };
    let after_start = word_end + apostrophe.len_utf8();
    let after = &text[after_start..];
    let after_word = &after[..after.find(|c: char| !is_word_char(c)).unwrap_or(after.len())];
    let elided = word.len() <= 6 && ELISIONS.iter().any(|e| e.eq_ignore_ascii_case(word));
    let host_ok = after_word.chars().count() >= 2
        && after_word.chars().next().is_some_and(char::is_alphabetic)
        && !CONTRACTION_ENDINGS.iter().any(|e| e.eq_ignore_ascii_case(after_word));
    if elided && host_ok {
        after_start
    } else {
        0
    }
}

/// Combining marks count as part of the word they follow (decomposed accents).
pub(crate) fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Letters, digits, combining marks and `_` (so `acme_support` stays one word, like the handle).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c) || c == '_'
}

fn is_tag_char(c: char) -> bool {
    is_word_char(c)
}

/// Emoji that start a segment (pictographs, symbols, dingbats, flags' regional indicators).
pub(crate) fn is_emoji(c: char) -> bool {
    matches!(
        c as u32,
        0x1F000..=0x1FAFF
            | 0x2600..=0x27BF
            | 0x2300..=0x23FF
            | 0x2B00..=0x2BFF
            | 0x2190..=0x21FF
            | 0x25A0..=0x25FF
            | 0x2934..=0x2935
            | 0x3030
            | 0x303D
            | 0x3297
            | 0x3299
            | 0x00A9
            | 0x00AE
            | 0x203C
            | 0x2049
            | 0x2122
            | 0x2139
            | 0x24C2
    )
}

/// Characters that change how an emoji is drawn; they never start a segment.
pub(crate) fn is_emoji_presentation(c: char) -> bool {
    matches!(c as u32, 0xFE0E | 0xFE0F | 0x20E3 | 0xE0020..=0xE007F)
}

/// Skin-tone modifiers.
pub(crate) fn is_skin_tone(c: char) -> bool {
    matches!(c as u32, 0x1F3FB..=0x1F3FF)
}

fn is_regional_indicator(c: char) -> bool {
    matches!(c as u32, 0x1F1E6..=0x1F1FF)
}

const ZWJ: char = '\u{200D}';

/// A cursor over the text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.text.get(self.pos + offset..).and_then(|s| s.chars().next())
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat_while(&mut self, f: impl Fn(char) -> bool) {
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn starts_with_ignore_case(&self, prefix: &str) -> bool {
        self.text.get(self.pos..self.pos + prefix.len()).is_some_and(|s| s.eq_ignore_ascii_case(prefix))
    }
}

/// True when `s` looks like a domain: at least two dot-separated labels of word characters (or `-`)
/// whose last label is alphabetic and at least two characters long.
pub(crate) fn is_domain_like(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return false;
    }
    let last = labels[labels.len() - 1];
    last.chars().count() >= 2 && last.chars().all(char::is_alphabetic)
}

/// Splits `text` into segments, in order. Everything else (white space, punctuation) separates them.
pub fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut cur = Cursor { text, pos: 0 };
    let mut prev: Option<char> = None;
    while let Some(c) = cur.peek() {
        let start = cur.pos;
        if cur.starts_with_ignore_case("http://")
            || cur.starts_with_ignore_case("https://")
            || (cur.starts_with_ignore_case("www.") && !prev.is_some_and(is_word_char))
        {
            cur.eat_while(|c| !c.is_whitespace());
            let trimmed = text[start..cur.pos].trim_end_matches(|c: char| ".,;:!?)]}'\"".contains(c));
            out.push(Segment { kind: SegmentKind::Url, start, end: start + trimmed.len() });
        } else if (c == '#' || c == '@') && !prev.is_some_and(is_tag_char) && cur.peek_at(1).is_some_and(is_tag_char) {
            cur.bump();
            cur.eat_while(is_tag_char);
            let kind = if c == '#' { SegmentKind::Hashtag } else { SegmentKind::Handle };
            out.push(Segment { kind, start, end: cur.pos });
        } else if is_emoji(c) {
            eat_emoji(&mut cur);
            out.push(Segment { kind: SegmentKind::Emoji, start, end: cur.pos });
        } else if c.is_alphanumeric() {
            // An elided word is skipped like punctuation; the word after it is segmented as usual.
            match elision_len(&text[start..]) {
                0 => eat_word_or_domain(&mut cur, &mut out),
                n => cur.pos += n,
            }
        } else {
            cur.bump();
        }
        prev = text[..cur.pos].chars().next_back();
    }
    out
}

/// Eats letters and digits, joined by single dots; pushes one domain segment or one word segment per
/// dot-separated part.
fn eat_word_or_domain(cur: &mut Cursor<'_>, out: &mut Vec<Segment>) {
    let start = cur.pos;
    loop {
        cur.eat_while(is_word_char);
        let joined =
            (cur.peek() == Some('.') || cur.peek() == Some('-')) && cur.peek_at(1).is_some_and(|c| c.is_alphanumeric());
        if !joined {
            break;
        }
        cur.bump();
    }
    let run = &cur.text[start..cur.pos];
    if run.contains('.') && is_domain_like(run) {
        out.push(Segment { kind: SegmentKind::Domain, start, end: cur.pos });
        return;
    }
    // Not a domain: every part between dots and hyphens is a word of its own.
    let mut part_start = start;
    for (i, c) in run.char_indices() {
        if c == '.' || c == '-' {
            if part_start < start + i {
                out.push(Segment { kind: SegmentKind::Word, start: part_start, end: start + i });
            }
            part_start = start + i + 1;
        }
    }
    if part_start < cur.pos {
        out.push(Segment { kind: SegmentKind::Word, start: part_start, end: cur.pos });
    }
}

/// Eats one emoji with its presentation selectors, skin tone, ZWJ-joined parts, or the second
/// regional indicator of a flag.
fn eat_emoji(cur: &mut Cursor<'_>) {
    let first = cur.bump();
    if first.is_some_and(is_regional_indicator) && cur.peek().is_some_and(is_regional_indicator) {
        cur.bump();
        return;
    }
    loop {
        match cur.peek() {
            Some(c) if is_emoji_presentation(c) || is_skin_tone(c) => {
                cur.bump();
            }
            Some(ZWJ) if cur.peek_at(ZWJ.len_utf8()).is_some_and(is_emoji) => {
                cur.bump();
                cur.bump();
            }
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(SegmentKind, &str)> {
        segments(text).into_iter().map(|s| (s.kind, &text[s.start..s.end])).collect()
    }

    #[test]
    fn splits_social_text() {
        use SegmentKind::*;
        assert_eq!(
            kinds("Love #Rust, ask @bob_s! see https://www.bbc.co.uk/news. bbc.co.uk e.g. 3.5 😀👍🏽"),
            vec![
                (Word, "Love"),
                (Hashtag, "#Rust"),
                (Word, "ask"),
                (Handle, "@bob_s"),
                (Word, "see"),
                (Url, "https://www.bbc.co.uk/news"),
                (Domain, "bbc.co.uk"),
                (Word, "e"),
                (Word, "g"),
                (Word, "3"),
                (Word, "5"),
                (Emoji, "😀"),
                (Emoji, "👍🏽"),
            ]
        );
    }

    #[test]
    fn emails_are_not_handles_and_hyphens_split() {
        use SegmentKind::*;
        assert_eq!(kinds("bob@example.com"), vec![(Word, "bob"), (Domain, "example.com")]);
        assert_eq!(kinds("e-mail"), vec![(Word, "e"), (Word, "mail")]);
        assert_eq!(kinds("🇫🇷🇩🇪"), vec![(Emoji, "🇫🇷"), (Emoji, "🇩🇪")]);
        assert_eq!(kinds("# @ #_x"), vec![(Hashtag, "#_x")]);
    }

    #[test]
    fn elisions_drop_before_the_word() {
        use SegmentKind::*;
        assert_eq!(
            kinds("l'app dell’app qu'il d'accord all'ospedale c'est"),
            vec![(Word, "app"), (Word, "app"), (Word, "il"), (Word, "accord"), (Word, "ospedale"), (Word, "est"),]
        );
        assert_eq!(
            kinds("L'App jusqu'ici rock'n'roll"),
            vec![(Word, "App"), (Word, "ici"), (Word, "rock"), (Word, "roll")]
        );
        // A one-letter host keeps its elision (`c'è`, `jusqu'à`: both parts stay words).
        assert_eq!(kinds("jusqu'à"), vec![(Word, "jusqu"), (Word, "à")]);
        // English possessives and contractions keep both parts.
        assert_eq!(
            kinds("Dell's we'll don't c'è"),
            vec![
                (Word, "Dell"),
                (Word, "s"),
                (Word, "we"),
                (Word, "ll"),
                (Word, "don"),
                (Word, "t"),
                (Word, "c"),
                (Word, "è"),
            ]
        );
        // Not at the start of a word, and not a known elision: unchanged.
        assert_eq!(kinds("xl'app"), vec![(Word, "xl"), (Word, "app")]);
        assert_eq!(kinds("l'"), vec![(Word, "l")]);
        assert_eq!(kinds("l'example.com"), vec![(Domain, "example.com")]);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "",
            "\u{200D}",
            "a\u{301}",
            "#",
            "@",
            "http://",
            "www.",
            ".",
            "a.",
            "\u{FE0F}😀\u{200D}",
            "l'",
            "l’é",
            "d''x",
        ] {
            let _ = segments(text);
        }
    }
}
