//! Text preparation shared with training: the exact normalisation of `models/recipe/prepare_data.py`
//! (`normalize()`), then WordPiece tokenisation with the model's own vocabulary.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use rust_tokenizers::tokenizer::{BertTokenizer, Tokenizer, TruncationStrategy};
use rust_tokenizers::vocab::Vocab;

use crate::ModelError;

fn url_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)(?:https?://|www\.)\S+").unwrap_or_else(|e| panic!("{e}")))
}

fn handle_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(^|[^\w@])@\w+").unwrap_or_else(|e| panic!("{e}")))
}

/// Emoji → name (`emoji.tsv`, shipped with the weights): the uncased vocabulary has no emoji, each would
/// be `[UNK]`, while their names ("enraged face") are words the model knows.
#[derive(Debug, Clone, Default)]
pub struct EmojiNames(HashMap<char, String>);

impl EmojiNames {
    /// Parses `emoji <TAB> name` lines; entries that are not exactly one character are skipped, as in the recipe.
    pub fn parse(table: &str) -> Self {
        let names = table
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter_map(|(emoji, name)| {
                let mut chars = emoji.chars();
                match (chars.next(), chars.next(), name.trim().is_empty()) {
                    (Some(c), None, false) => Some((c, name.to_owned())),
                    _ => None,
                }
            })
            .collect();
        EmojiNames(names)
    }

    /// Reads the table from a file.
    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        let table = std::fs::read_to_string(path).map_err(|e| ModelError::Load(format!("{}: {e}", path.display())))?;
        Ok(Self::parse(&table))
    }

    /// Emoji in the table.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// URLs → `http`, @handles → `@user`, listed emoji → ` <name> `, whitespace runs → one space, trimmed
/// (as in training).
pub fn normalize(text: &str, emoji: &EmojiNames) -> String {
    let text = url_re().replace_all(text, "http");
    let text = handle_re().replace_all(&text, "${1}@user");
    let mut named = String::with_capacity(text.len());
    for c in text.chars() {
        match emoji.0.get(&c) {
            Some(name) => {
                named.push(' ');
                named.push_str(name);
                named.push(' ');
            }
            None => named.push(c),
        }
    }
    named.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Token ids of a batch, padded to its longest member.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// Row-major `[batch, len]` token ids.
    pub input_ids: Vec<i64>,
    /// Row-major `[batch, len]` mask: 1 for real tokens, 0 for padding.
    pub attention_mask: Vec<i64>,
    /// Texts in the batch.
    pub batch: usize,
    /// Padded length.
    pub len: usize,
}

/// The model's WordPiece tokenizer (lower-cased, accents stripped, as the base model was trained).
pub struct TextEncoder {
    tokenizer: BertTokenizer,
    emoji: EmojiNames,
    max_len: usize,
    pad_id: i64,
}

impl TextEncoder {
    /// Loads `vocab.txt` and the emoji table; sequences are cut to `max_len` tokens including `[CLS]` and `[SEP]`.
    pub fn new(vocab: &Path, emoji: EmojiNames, max_len: usize) -> Result<Self, ModelError> {
        let tokenizer = BertTokenizer::from_file(vocab, true, true)
            .map_err(|e| ModelError::Load(format!("vocabulary {}: {e}", vocab.display())))?;
        let pad_id = tokenizer.vocab().token_to_id("[PAD]");
        Ok(TextEncoder { tokenizer, emoji, max_len: max_len.max(2), pad_id })
    }

    /// The text as the model sees it before tokenisation.
    pub fn normalize(&self, text: &str) -> String {
        normalize(text, &self.emoji)
    }

    /// Token ids of one normalised text, with `[CLS]`/`[SEP]`, truncated.
    pub fn ids(&self, text: &str) -> Vec<i64> {
        let normalized = self.normalize(text);
        self.tokenizer
            .encode(&normalized, None, self.max_len, &TruncationStrategy::LongestFirst, 0)
            .token_ids
    }

    /// Encodes a batch, padding to the longest member.
    pub fn encode(&self, texts: &[&str]) -> Encoded {
        let rows: Vec<Vec<i64>> = texts.iter().map(|t| self.ids(t)).collect();
        let len = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut input_ids = Vec::with_capacity(rows.len() * len);
        let mut attention_mask = Vec::with_capacity(rows.len() * len);
        for row in &rows {
            input_ids.extend_from_slice(row);
            attention_mask.extend(std::iter::repeat_n(1, row.len()));
            input_ids.extend(std::iter::repeat_n(self.pad_id, len - row.len()));
            attention_mask.extend(std::iter::repeat_n(0, len - row.len()));
        }
        Encoded { input_ids, attention_mask, batch: rows.len(), len }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_matches_the_recipe() {
        let none = EmojiNames::default();
        assert_eq!(normalize("@acme your app  is down https://t.co/x1 see www.acme.com/status", &none), "@user your app is down http see http");
        assert_eq!(normalize("mail me a@b.com, cc @bob!", &none), "mail me a@b.com, cc @user!");
        assert_eq!(normalize("  @x@y  ", &none), "@user@y");
        assert_eq!(normalize("HTTPS://A.B", &none), "http");
    }

    #[test]
    fn emoji_become_their_names_outside_urls() {
        let emoji = EmojiNames::parse("😡\tenraged face\n👍\tthumbs up\n🇫🇷\tflag: France\nbad line\n");
        assert_eq!(emoji.len(), 2, "multi-code-point and malformed entries are skipped");
        assert_eq!(normalize("late again😡😡 @acme👍", &emoji), "late again enraged face enraged face @user thumbs up");
        assert_eq!(normalize("see https://x.io/😡 now", &emoji), "see http now");
        assert_eq!(normalize("🇫🇷 ok", &emoji), "🇫🇷 ok");
    }
}
