//! `earshot-lang`: which of earshot's five languages a mention is written in.
//!
//! [`Identifier`] wraps a [lingua](https://docs.rs/lingua) detector built once for English, German,
//! French, Italian and Spanish only (the other 70 models are never compiled in), with its models
//! preloaded so that the first mention does not pay for loading them. It answers an ISO 639-1 code
//! (`en`, `de`, `fr`, `it`, `es`) or [`UNDETERMINED`] (`und`, the ISO 639-2 code for "undetermined").
//!
//! # When the answer is `und`
//! A wrong language is worse than none: it sends a post to the wrong per-language view and the wrong
//! stopword list. So the identifier answers `und` when
//! - the text has fewer than [`Rules::min_letters`] letters once urls, `@handles`, `#hashtags`,
//!   numbers and emoji are set aside (`ok`, `lol 😂`, `@acme #fail`), or
//! - lingua's confidence in its best language beats the runner-up's by less than
//!   [`Rules::min_margin`] (a greeting like `ciao` or a brand name alone).
//!
//! Both thresholds were chosen on the seed posts of `models/recipe/data/seed` and on texts written
//! in this crate's tests, never on the held-out set (see `tests/heldout.rs` and BENCHMARKS.md).
//!
//! # Cost
//! Building an [`Identifier`] loads the five models (tens of MB, about a second); detection is
//! CPU-bound and synchronous, so async callers run it on a blocking thread. The models live in
//! lingua's process-wide tables: a second identifier shares them.

mod clean;

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};

pub use clean::{letter_count, strip_social};

/// The code of an undetermined language (ISO 639-2 `und`).
pub const UNDETERMINED: &str = "und";

/// The languages an [`Identifier`] chooses from, as ISO 639-1 codes.
pub const LANGUAGES: [&str; 5] = ["en", "de", "fr", "it", "es"];

const LINGUA_LANGUAGES: [Language; 5] =
    [Language::English, Language::German, Language::French, Language::Italian, Language::Spanish];

/// What [`Identifier::detect`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detected {
    /// An ISO 639-1 code from [`LANGUAGES`], or [`UNDETERMINED`].
    pub code: &'static str,
    /// lingua's confidence in its best language, 0–1 (also when the answer is `und`: then it says how
    /// sure the best guess was; 0 when the text had too few letters to ask).
    pub confidence: f64,
}

impl Detected {
    fn undetermined(confidence: f64) -> Detected {
        Detected { code: UNDETERMINED, confidence }
    }

    /// Whether a language was decided (the code is not [`UNDETERMINED`]).
    pub fn is_determined(&self) -> bool {
        self.code != UNDETERMINED
    }
}

/// When a text is too short or too ambiguous to name its language.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Fewest letters (after [`strip_social`]) a text needs before lingua is asked.
    pub min_letters: usize,
    /// Smallest lead of the best language's confidence over the runner-up's.
    pub min_margin: f64,
}

impl Default for Rules {
    fn default() -> Self {
        // Chosen with `examples/tune.rs` (seed posts, their first 1–4 words, and tests/data/own.jsonl):
        // the smallest margin at which short posts that get a language get the right one ≥ 95 % of
        // the time (95.9 %, 19 % of short posts `und`); whole posts stay 99.5 % right. Below 3 letters
        // (`ok`, `si`, `+1`) lingua is not asked at all.
        Rules { min_letters: 3, min_margin: 0.15 }
    }
}

/// Language identification for mentions; build once, share (it is `Send + Sync`).
pub struct Identifier {
    detector: LanguageDetector,
    rules: Rules,
}

impl Default for Identifier {
    fn default() -> Self {
        Identifier::new()
    }
}

impl std::fmt::Debug for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identifier").field("languages", &LANGUAGES).field("rules", &self.rules).finish()
    }
}

fn code_of(language: Language) -> &'static str {
    match language {
        Language::English => "en",
        Language::German => "de",
        Language::French => "fr",
        Language::Italian => "it",
        Language::Spanish => "es",
        // Only the five languages above are compiled in; anything else cannot come back.
        #[allow(unreachable_patterns)]
        _ => UNDETERMINED,
    }
}

impl Identifier {
    /// An identifier with the default [`Rules`], its models loaded. Blocking (about a second).
    pub fn new() -> Identifier {
        Identifier::with_rules(Rules::default())
    }

    /// An identifier with the given rules, its models loaded. Blocking.
    pub fn with_rules(rules: Rules) -> Identifier {
        let detector =
            LanguageDetectorBuilder::from_languages(&LINGUA_LANGUAGES).with_preloaded_language_models().build();
        Identifier { detector, rules }
    }

    /// The rules in force.
    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// The language of one text.
    pub fn detect(&self, text: &str) -> Detected {
        let cleaned = strip_social(text);
        if letter_count(&cleaned) < self.rules.min_letters {
            return Detected::undetermined(0.0);
        }
        // Sorted best first; the values of the five languages sum to 1 (all 0 when lingua found no word).
        let values = self.detector.compute_language_confidence_values(cleaned);
        let best = values.first().copied();
        let runner_up = values.get(1).map_or(0.0, |(_, c)| *c);
        match best {
            Some((language, confidence)) if confidence > 0.0 && confidence - runner_up >= self.rules.min_margin => {
                Detected { code: code_of(language), confidence }
            }
            Some((_, confidence)) => Detected::undetermined(confidence),
            None => Detected::undetermined(0.0),
        }
    }

    /// The languages of many texts, in order. Sequential: earshot already runs this on a thread of its
    /// own, and lingua's parallel variant would compete with the indexing threads for the cores.
    pub fn detect_many(&self, texts: &[&str]) -> Vec<Detected> {
        texts.iter().map(|t| self.detect(t)).collect()
    }
}

#[cfg(test)]
mod tests;
