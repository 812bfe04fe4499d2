//! Bounded stand-ins for query texts in audit records and log lines.
//!
//! A query is refused past [`super::MAX_QUERY_BYTES`], but only once it is parsed; the server logs
//! and audits what it was sent before that, and copying a 10 MB text into each line made 1 MB log
//! lines. [`query_digest`] keeps a short query as it is and cuts a long one to a prefix that still
//! says what it was about, plus its length and a hash that tells two long queries apart (and lets
//! an operator match a line to a query they have in hand).

use xxhash_rust::xxh3::xxh3_64;

/// Characters of a long query kept before the digest.
pub const DIGEST_PREFIX_CHARS: usize = 256;

/// `text` itself when it has at most [`DIGEST_PREFIX_CHARS`] characters; otherwise its first
/// [`DIGEST_PREFIX_CHARS`] characters, `…`, and `[N bytes, xxh3 H]` where `H` is the 16 hex digits
/// of the XXH3-64 hash of the whole text (its bytes as UTF-8, seed 0).
///
/// The result is at most [`DIGEST_PREFIX_CHARS`] characters plus 60 bytes. It is not escaped: log
/// it with `{:?}` or as a structured field, as any user text.
pub fn query_digest(text: &str) -> String {
    // `nth` walks at most DIGEST_PREFIX_CHARS characters: a huge text costs only its hash.
    match text.char_indices().nth(DIGEST_PREFIX_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}… [{} bytes, xxh3 {:016x}]", &text[..end], text.len(), xxh3_64(text.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_queries_are_kept_whole() {
        assert_eq!(query_digest(""), "");
        assert_eq!(query_digest("apple OR pear"), "apple OR pear");
        let exact = "é".repeat(DIGEST_PREFIX_CHARS);
        assert_eq!(query_digest(&exact), exact);
    }

    #[test]
    fn long_queries_keep_a_prefix_their_length_and_a_hash() {
        let text = "apple OR ".repeat(1_000_000);
        let d = query_digest(&text);
        let prefix: String = text.chars().take(DIGEST_PREFIX_CHARS).collect();
        assert!(d.starts_with(&format!("{prefix}… [9000000 bytes, xxh3 ")), "{d}");
        assert!(d.ends_with(']'));
        assert!(d.len() <= DIGEST_PREFIX_CHARS + 48, "{} bytes", d.len());
        let hex = &d[d.len() - 17..d.len() - 1];
        assert_eq!(hex, format!("{:016x}", xxh3_64(text.as_bytes())));
    }

    #[test]
    fn the_cut_falls_on_a_character_boundary() {
        // 4-byte characters: a byte-based cut would land inside one.
        let text = "😀".repeat(DIGEST_PREFIX_CHARS + 1);
        let d = query_digest(&text);
        assert!(d.starts_with(&"😀".repeat(DIGEST_PREFIX_CHARS)));
        assert_eq!(d.chars().nth(DIGEST_PREFIX_CHARS), Some('…'));
    }

    #[test]
    fn different_long_queries_get_different_digests() {
        let a = format!("{} a", "x".repeat(300));
        let b = format!("{} b", "x".repeat(300));
        assert_ne!(query_digest(&a), query_digest(&b));
        assert_eq!(query_digest(&a), query_digest(&a.clone()));
    }
}
