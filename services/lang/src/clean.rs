//! What of a social post says something about its language.
//!
//! Urls, `@handles`, `#hashtags`, domains, numbers and emoji are the same in every language (and
//! brand tags are mostly English or made up), so they are set aside before lingua sees the text and
//! before its letters are counted.

/// Whether a white-space separated token is social furniture rather than a word of the language.
fn is_furniture(token: &str) -> bool {
    let lower = token.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '#');
    if lower.starts_with('@') || lower.starts_with('#') || token.contains("://") {
        return true;
    }
    if lower.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("www.")) {
        return true;
    }
    is_domain(lower.trim_end_matches(|c: char| !c.is_alphanumeric()))
}

/// `loopstack.dev/blog`, `bbc.co.uk`: dot-joined labels whose last label (before any `/`) is 2–6
/// ASCII letters. A sentence end without a space (`fine.Thanks`) is rare enough to lose.
fn is_domain(token: &str) -> bool {
    let host = token.split('/').next().unwrap_or(token);
    let mut labels = host.split('.');
    let Some(first) = labels.next() else { return false };
    let rest: Vec<&str> = labels.collect();
    let Some(last) = rest.last() else { return false };
    !first.is_empty()
        && rest.iter().all(|l| !l.is_empty())
        && (2..=6).contains(&last.len())
        && last.chars().all(|c| c.is_ascii_lowercase())
}

/// The text with urls, domains, `@handles` and `#hashtags` removed, and every character that is not a
/// letter, a combining mark or an apostrophe turned into a space (digits, emoji, punctuation).
pub fn strip_social(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for token in text.split_whitespace().filter(|t| !is_furniture(t)) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(token.chars().map(|c| if c.is_alphabetic() || is_mark(c) || is_apostrophe(c) { c } else { ' ' }));
    }
    out
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

/// Combining marks (decomposed accents) belong to the letter before them.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// How many letters a text has.
pub fn letter_count(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphabetic()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn furniture_goes_words_stay() {
        let got =
            strip_social("New post: https://loopstack.dev/blog ask @acme_help #fail www.x.io bbc.co.uk 42 😂 l’app");
        assert_eq!(got.split_whitespace().collect::<Vec<_>>(), vec!["New", "post", "ask", "l’app"]);
    }

    #[test]
    fn sentences_with_dots_are_not_domains() {
        assert_eq!(strip_social("Sehr gut. Danke!"), "Sehr gut  Danke ");
        assert!(!is_domain("z.B"));
        assert!(is_domain("example.com"));
        assert!(!is_domain("3.5"));
    }

    #[test]
    fn letters_count_after_stripping() {
        assert_eq!(letter_count(&strip_social("ok 👍 @bob #yes 12345")), 2);
        assert_eq!(letter_count(&strip_social("très")), 4);
    }
}
