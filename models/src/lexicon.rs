//! Lexicon baselines for German, French, Italian and Spanish (`models/lexicons/<lang>.tsv`, written by the
//! recipe's `lexicons.py` from permissively licensed packages): what a word list gets on the same held-out
//! posts, printed by `earshot eval` beside the model. English uses VADER instead.
//!
//! Scoring: lower-cased words (runs of alphabetic characters); stemmed lexicons look words up by their
//! Snowball stem. The polarities of the words found are summed; a negation word ("nicht", "non", "pas",
//! "no", ...) flips the next lexicon word within three words. Sum > 0.1 → positive, < -0.1 → negative,
//! else neutral.

use std::collections::HashMap;
use std::path::Path;

use rust_stemmers::{Algorithm, Stemmer};

use crate::{Label, ModelError};

/// A language's polarity lexicon.
pub struct Lexicon {
    terms: HashMap<String, f32>,
    stemmer: Option<Stemmer>,
    negations: &'static [&'static str],
}

fn negations(language: &str) -> &'static [&'static str] {
    match language {
        "de" => &["nicht", "kein", "keine", "keinen", "keiner", "keinem", "nie", "niemals", "nichts"],
        "fr" => &["pas", "jamais", "aucun", "aucune", "ni", "rien", "plus"],
        "it" => &["non", "mai", "nessun", "nessuno", "nessuna", "né", "niente", "nulla"],
        "es" => &["no", "nunca", "jamás", "ni", "tampoco", "nada", "ningún", "ninguno", "ninguna"],
        _ => &[],
    }
}

impl Lexicon {
    /// Parses a lexicon file: `#` comment lines (one of them `# stemmed: <snowball language>|none`), then
    /// `term <TAB> polarity` lines.
    pub fn parse(language: &str, text: &str) -> Lexicon {
        let mut terms = HashMap::new();
        let mut stemmer = None;
        for line in text.lines() {
            if let Some(stemmed) = line.strip_prefix("# stemmed:") {
                stemmer = match stemmed.trim() {
                    "italian" => Some(Stemmer::create(Algorithm::Italian)),
                    "spanish" => Some(Stemmer::create(Algorithm::Spanish)),
                    "french" => Some(Stemmer::create(Algorithm::French)),
                    "german" => Some(Stemmer::create(Algorithm::German)),
                    _ => None,
                };
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            if let Some((term, polarity)) = line.split_once('\t') {
                if let Ok(p) = polarity.trim().parse::<f32>() {
                    terms.insert(term.to_lowercase(), p);
                }
            }
        }
        Lexicon { terms, stemmer, negations: negations(language) }
    }

    /// Loads `<dir>/<language>.tsv`.
    pub fn open(dir: &Path, language: &str) -> Result<Lexicon, ModelError> {
        let path = dir.join(format!("{language}.tsv"));
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::Load(format!("{}: {e}", path.display())))?;
        Ok(Lexicon::parse(language, &text))
    }

    /// Terms in the lexicon.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether the lexicon is empty.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    fn polarity(&self, word: &str) -> Option<f32> {
        if let Some(p) = self.terms.get(word) {
            return Some(*p);
        }
        let stemmer = self.stemmer.as_ref()?;
        self.terms.get(stemmer.stem(word).as_ref()).copied()
    }

    /// The summed polarity of a text.
    pub fn score(&self, text: &str) -> f32 {
        let lower = text.to_lowercase();
        let mut total = 0.0;
        let mut negated_for = 0usize;
        for word in lower.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()) {
            if self.negations.contains(&word) {
                negated_for = 3;
                continue;
            }
            if let Some(p) = self.polarity(word) {
                total += if negated_for > 0 { -p } else { p };
                negated_for = 0;
            } else {
                negated_for = negated_for.saturating_sub(1);
            }
        }
        total
    }

    /// The baseline's label for a text.
    pub fn label(&self, text: &str) -> Label {
        let s = self.score(text);
        if s > 0.1 {
            Label::Positive
        } else if s < -0.1 {
            Label::Negative
        } else {
            Label::Neutral
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_stems_and_negation() {
        let de = Lexicon::parse("de", "# stemmed: none\nschlecht\t-0.7\ngut\t0.8\n");
        assert_eq!(de.label("Das war wirklich schlecht."), Label::Negative);
        assert_eq!(de.label("Gar nicht schlecht!"), Label::Positive);
        assert_eq!(de.label("Die Filiale öffnet um 9 Uhr."), Label::Neutral);
        let it = Lexicon::parse("it", "# stemmed: italian\npessim\t-1.0\n");
        assert_eq!(it.label("Servizio pessimo"), Label::Negative);
    }

    #[test]
    fn shipped_lexicons_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("lexicons");
        for language in ["de", "fr", "it", "es"] {
            let lexicon = Lexicon::open(&dir, language).expect("lexicon");
            assert!(lexicon.len() > 1000, "{language}: {} terms", lexicon.len());
        }
    }
}
