//! Stopwords per language, for trending terms and SimHash.
//!
//! The lists are NLTK's, shipped by the `stop-words` crate (function words only: articles, pronouns,
//! prepositions, auxiliaries), not a list of our own. Two small adjustments, both for social
//! listening, are the only words written here:
//! - [`KEPT`]: words NLTK's English list has that carry the signal analysts look for (`down`,
//!   `again`: "app down again" must trend);
//! - [`EXTRA`]: function words of social posts that NLTK's lists lack (`im`, `got`; French `non`,
//!   `plus`, `ça`; German particles `ja`, `mal`, `schon`).
//!
//! A mention in a language NLTK has (`de`, `it`, `pt`, …) is checked against that language's list
//! together with English (posts in every language mix in English words); a mention whose language is
//! unknown (empty, `und`, or one NLTK has no list for) against the [`FALLBACK_LANGUAGES`] together.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Languages whose lists together stand in when a mention's language is unknown: earshot's five and
/// the two the hand-written list it replaces also covered.
pub const FALLBACK_LANGUAGES: [&str; 7] = ["en", "de", "fr", "it", "es", "pt", "nl"];

/// Words of NLTK's English list that are kept as terms: they say something about a brand's day.
pub const KEPT: &[&str] = &["down", "again", "off", "against", "won"];

/// Function words of social posts missing from NLTK's lists, per language.
pub const EXTRA: &[(&str, &[&str])] = &[
    ("en", &["im", "ive", "get", "got", "also", "would", "could", "us", "one", "still", "since", "today", "really"]),
    (
        "fr",
        &[
            "non", "plus", "ça", "très", "aussi", "tout", "tous", "si", "encore", "toujours", "déjà", "depuis",
            "vraiment", "rien",
        ],
    ),
    (
        "de",
        &[
            "ja",
            "nein",
            "mal",
            "schon",
            "halt",
            "eben",
            "gar",
            "seit",
            "mehr",
            "ganz",
            "immer",
            "wieder",
            "gerade",
            "sehr",
            "heute",
            "los",
            "echt",
            "einfach",
            "eigentlich",
            "bisschen",
            "da",
        ],
    ),
    ("it", &["più", "già", "ancora", "sempre", "poi", "oggi", "molto", "solo", "proprio", "davvero", "niente"]),
    ("es", &["más", "ya", "todavía", "siempre", "hoy", "solo", "nada", "ahora", "después"]),
];

fn extra(code: &str) -> &'static [&'static str] {
    EXTRA.iter().find(|(c, _)| *c == code).map_or(&[], |(_, words)| words)
}

struct Lists {
    /// ISO 639-1 code → that language's and English's lists and [`EXTRA`]s, less [`KEPT`].
    by_language: HashMap<&'static str, HashSet<&'static str>>,
    /// The [`FALLBACK_LANGUAGES`]' lists and [`EXTRA`]s, less [`KEPT`].
    fallback: HashSet<&'static str>,
}

fn nltk(code: &str) -> &'static [&'static str] {
    stop_words::lookup(code).unwrap_or(&[])
}

fn build(codes: &[&str]) -> HashSet<&'static str> {
    let mut set: HashSet<&'static str> = codes.iter().flat_map(|c| nltk(c).iter().chain(extra(c)).copied()).collect();
    for word in KEPT {
        set.remove(word);
    }
    set
}

fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    LISTS.get_or_init(|| {
        let by_language = stop_words::available_languages()
            .iter()
            .filter(|code| code.len() == 2)
            .map(|code| (*code, build(&["en", code])))
            .collect();
        Lists { by_language, fallback: build(&FALLBACK_LANGUAGES) }
    })
}

/// ISO 639-3 (and 639-2/B) codes of the languages with a list here, as clients may send them.
const THREE_LETTER: &[(&str, &str)] = &[
    ("eng", "en"),
    ("deu", "de"),
    ("ger", "de"),
    ("fra", "fr"),
    ("fre", "fr"),
    ("ita", "it"),
    ("spa", "es"),
    ("por", "pt"),
    ("nld", "nl"),
    ("dut", "nl"),
];

/// The ISO 639-1 part of a language tag (`de`, `de-AT`, `DE_at`, `deu` → `de`).
fn primary_subtag(language: &str) -> String {
    let primary = language.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    THREE_LETTER.iter().find(|(three, _)| *three == primary).map_or(primary, |(_, two)| (*two).to_owned())
}

/// The stopwords of mentions in `language` (an ISO 639-1 code or tag; empty or `und` when unknown).
pub fn for_language(language: &str) -> &'static HashSet<&'static str> {
    let lists = lists();
    lists.by_language.get(primary_subtag(language).as_str()).unwrap_or(&lists.fallback)
}

/// Whether a lower-cased word is a stopword in any of the [`FALLBACK_LANGUAGES`].
pub fn is_stopword(word: &str) -> bool {
    lists().fallback.contains(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_has_its_function_words() {
        for (lang, words) in [
            ("en", &["the", "and", "is", "im"][..]),
            ("de", &["auf", "mit", "und", "nicht", "der"]),
            ("it", &["per", "non", "del", "che", "il"]),
            ("fr", &["le", "les", "des", "est", "pas", "non", "plus"]),
            ("es", &["del", "los", "que", "para", "por"]),
        ] {
            for w in words {
                assert!(for_language(lang).contains(w), "{w} should be a {lang} stopword");
                assert!(is_stopword(w), "{w} should be in the fallback list");
            }
        }
    }

    #[test]
    fn lists_are_per_language_with_english() {
        // `die` is German, not English: an English post keeps it, a German one drops it.
        assert!(!for_language("en").contains("die"));
        assert!(for_language("de").contains("die"));
        assert!(for_language("de-AT").contains("die") && for_language("deu").contains("die"));
        assert!(for_language("it").contains("the"), "English mixes into every language");
        // Unknown languages get every fallback language's list.
        for lang in ["", "und", "xx", "ja"] {
            assert!(for_language(lang).contains("die") && for_language(lang).contains("non"), "{lang:?}");
        }
    }

    #[test]
    fn signal_words_are_kept() {
        for w in KEPT {
            assert!(!for_language("en").contains(w) && !is_stopword(w), "{w}");
        }
        assert!(!is_stopword("outage") && !is_stopword("störung") && !is_stopword("panne"));
    }
}
