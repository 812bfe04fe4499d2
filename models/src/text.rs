//! Text preparation shared with training: the exact normalisation of `models/recipe/common.py`
//! (`normalize()`), then XLM-R SentencePiece (Unigram) tokenisation with the model's own `tokenizer.json`,
//! read by Hugging Face's `tokenizers` crate — the library the recipe tokenises with in Python.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::ModelError;

fn url_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)(?:https?://|www\.)\S+").unwrap_or_else(|e| panic!("{e}")))
}

fn handle_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(^|[^\w@])@\w+").unwrap_or_else(|e| panic!("{e}")))
}

/// Zero-width characters removed before anything else (U+200B/C/D, U+2060, U+FEFF): SentencePiece would
/// otherwise see different pieces for text that looks the same.
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Zero-width characters removed, URLs → `http`, @handles → `@user`, whitespace runs → one space, trimmed
/// (as in training). Emoji are kept: the XLM-R vocabulary has the common ones.
pub fn normalize(text: &str) -> String {
    let text: String = text.chars().filter(|&c| !is_zero_width(c)).collect();
    let text = url_re().replace_all(&text, "http");
    let text = handle_re().replace_all(&text, "${1}@user");
    text.split(is_python_space).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Python's `\s` / `str.isspace()` (what the recipe collapses): Unicode White_Space plus the four ASCII
/// separators U+001C..U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c)
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

/// Longest input in tokens including `<s>`/`</s>`, as in training (the model has 512 positions).
pub const MAX_TOKENS: usize = 128;

/// The model's SentencePiece tokenizer: `<s>` (0) text `</s>` (2), at most `max_len` tokens including
/// both, padding with `<pad>` (1).
pub struct TextEncoder {
    tokenizer: Tokenizer,
    max_len: usize,
    pad_id: i64,
}

impl TextEncoder {
    /// Loads `tokenizer.json`; sequences are cut to `max_len` tokens including `<s>` and `</s>`
    /// (at most 512: the model has 512 positions).
    pub fn new(tokenizer_json: &Path, max_len: usize) -> Result<Self, ModelError> {
        let mut tokenizer = Tokenizer::from_file(tokenizer_json)
            .map_err(|e| ModelError::Load(format!("tokenizer {}: {e}", tokenizer_json.display())))?;
        let max_len = max_len.clamp(2, 512);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| ModelError::Load(format!("tokenizer truncation: {e}")))?;
        tokenizer.with_padding(None);
        let id = |token: &str| {
            tokenizer
                .token_to_id(token)
                .ok_or_else(|| ModelError::Load(format!("tokenizer {} has no {token}", tokenizer_json.display())))
        };
        let (bos, pad, eos) = (id("<s>")?, id("<pad>")?, id("</s>")?);
        if (bos, pad, eos) != (0, 1, 2) {
            return Err(ModelError::Load(format!(
                "tokenizer special ids <s>={bos} <pad>={pad} </s>={eos}, expected 0/1/2"
            )));
        }
        Ok(TextEncoder { tokenizer, max_len, pad_id: i64::from(pad) })
    }

    /// The text as the model sees it before tokenisation.
    pub fn normalize(&self, text: &str) -> String {
        normalize(text)
    }

    /// Token ids of one text (normalised here), with `<s>`/`</s>`, truncated.
    pub fn ids(&self, text: &str) -> Vec<i64> {
        let normalized = self.normalize(text);
        match self.tokenizer.encode(normalized.as_str(), true) {
            Ok(encoding) => encoding.get_ids().iter().map(|&id| i64::from(id)).collect(),
            // The Unigram model does not fail on valid UTF-8; keep the row well-formed if it ever does.
            Err(_) => vec![0, 3, 2],
        }
    }

    /// Longest sequence in tokens, specials included.
    pub fn max_len(&self) -> usize {
        self.max_len
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
        assert_eq!(
            normalize("@acme your app  is down https://t.co/x1 see www.acme.com/status"),
            "@user your app is down http see http"
        );
        assert_eq!(normalize("mail me a@b.com, cc @bob!"), "mail me a@b.com, cc @user!");
        assert_eq!(normalize("  @x@y  "), "@user@y");
        assert_eq!(normalize("HTTPS://A.B"), "http");
    }

    #[test]
    fn zero_width_is_removed_and_emoji_kept() {
        assert_eq!(normalize("Zero\u{200B}width\u{FEFF}  and\ttabs"), "Zerowidth and tabs");
        assert_eq!(normalize("super 👍\u{200D}  @Acme_DE"), "super 👍 @user");
        assert_eq!(normalize("Ärger\u{2060}lich –\u{00A0}nie wieder"), "Ärgerlich – nie wieder");
        assert_eq!(normalize("a\u{1F}b\u{3000}c"), "a b c", "Python's whitespace, not only Rust's");
    }
}
