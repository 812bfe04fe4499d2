//! Noise signals computed when a mention is indexed: the terms insights count, a SimHash of the text
//! with a near-duplicate detector, and a simple spam/bot flag.
//!
//! All three are fast fields so that every insight can count terms or leave noise out without loading
//! stored documents.

use std::collections::HashMap;

use earshot_proto::v1::Mention;

use crate::tokenizer::{normalize, segments, Case, SegmentKind};

/// Most distinct terms kept per mention (the first ones in the text).
pub const MAX_TERMS_PER_MENTION: usize = 48;
/// Largest Hamming distance between two SimHashes that counts as a near-duplicate.
pub const NEAR_DUPLICATE_DISTANCE: u32 = 3;
/// Fewest words a text needs before it can be a near-duplicate (short texts collide by chance).
pub const NEAR_DUPLICATE_MIN_WORDS: usize = 5;

/// Words too common to say anything about a topic (English plus the commonest of es/fr/de/pt/nl).
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by",
    "can", "could", "did", "do", "does", "for", "from", "get", "got", "had", "has", "have", "he", "her", "him",
    "his", "how", "i", "if", "im", "in", "into", "is", "it", "its", "just", "me", "more", "my", "no", "not", "of",
    "on", "one", "or", "our", "out", "so", "than", "that", "the", "their", "them", "then", "there", "they",
    "this", "to", "too", "up", "us", "was", "we", "were", "what", "when", "which", "who", "why", "will", "with",
    "would", "you", "your", "de", "la", "el", "en", "y", "que", "los", "las", "un", "una", "es", "le", "les",
    "et", "des", "du", "est", "der", "die", "das", "und", "ist", "ich", "nicht", "o", "e", "do", "da", "het",
    "een", "van", "ik",
];

/// Spam phrases; one of them together with a link flags a mention.
const SPAM_PHRASES: &[&str] = &[
    "free followers", "click here", "dm me", "giveaway", "earn $", "100% free", "crypto signal", "whatsapp me",
    "check my bio", "limited offer",
];

/// Whether a lower-cased word is a stopword.
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
}

/// Distinct lower-cased words and hashtags of a text, in order, without stopwords, one-letter words
/// and numbers; at most [`MAX_TERMS_PER_MENTION`].
pub fn terms_of(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for seg in segments(text) {
        if !matches!(seg.kind, SegmentKind::Word | SegmentKind::Hashtag) {
            continue;
        }
        let term = normalize(&text[seg.start..seg.end], Case::Lower);
        let bare = term.trim_start_matches('#');
        if bare.chars().count() < 2 || bare.chars().all(|c| c.is_ascii_digit()) || is_stopword(&term) {
            continue;
        }
        if term.len() <= crate::tokenizer::MAX_TOKEN_BYTES && !out.contains(&term) {
            out.push(term);
            if out.len() == MAX_TERMS_PER_MENTION {
                break;
            }
        }
    }
    out
}

/// 64-bit SimHash over the lower-cased words and word bigrams of a text; `None` when it has fewer than
/// [`NEAR_DUPLICATE_MIN_WORDS`] words.
pub fn simhash(text: &str) -> Option<u64> {
    let words: Vec<String> = segments(text)
        .into_iter()
        .filter(|s| !matches!(s.kind, SegmentKind::Url | SegmentKind::Emoji))
        .map(|s| normalize(&text[s.start..s.end], Case::Lower))
        .collect();
    if words.len() < NEAR_DUPLICATE_MIN_WORDS {
        return None;
    }
    let mut weights = [0i32; 64];
    let mut add = |h: u64| {
        for (bit, w) in weights.iter_mut().enumerate() {
            *w += if h >> bit & 1 == 1 { 1 } else { -1 };
        }
    };
    for w in &words {
        add(xxhash_rust::xxh3::xxh3_64(w.as_bytes()));
    }
    for pair in words.windows(2) {
        add(xxhash_rust::xxh3::xxh3_64(format!("{} {}", pair[0], pair[1]).as_bytes()));
    }
    Some(weights.iter().enumerate().fold(0u64, |acc, (bit, w)| if *w > 0 { acc | 1 << bit } else { acc }))
}

/// The simple spam/bot flag: a pile of hashtags, handles or links; a spam phrase with a link; a run of
/// one character; or a bot-like handle (six or more trailing digits) with fewer than 10 followers.
pub fn is_spam(mention: &Mention) -> bool {
    let segs = segments(&mention.text);
    let count = |kind: SegmentKind| segs.iter().filter(|s| s.kind == kind).count();
    let links = count(SegmentKind::Url) + count(SegmentKind::Domain);
    if count(SegmentKind::Hashtag) >= 6 || count(SegmentKind::Handle) >= 6 || links >= 3 {
        return true;
    }
    let lower = mention.text.to_lowercase();
    if links > 0 && SPAM_PHRASES.iter().any(|p| lower.contains(p)) {
        return true;
    }
    let mut run = (None, 0usize);
    for c in lower.chars() {
        run = if Some(c) == run.0 { (run.0, run.1 + 1) } else { (Some(c), 1) };
        if run.1 >= 10 && !c.is_whitespace() {
            return true;
        }
    }
    if let Some(author) = &mention.author {
        let digits = author.handle.chars().rev().take_while(char::is_ascii_digit).count();
        if digits >= 6 && author.followers < 10 {
            return true;
        }
    }
    false
}

/// Remembers recent SimHashes per tenant and says whether a new one is within
/// [`NEAR_DUPLICATE_DISTANCE`] of an earlier mention's.
///
/// Locality-sensitive lookup: the 64 bits are cut into 4 bands of 16; two hashes within distance 3
/// agree on at least one whole band (pigeonhole), so only hashes sharing a band are compared. Memory is
/// bounded by keeping two generations of at most `capacity / 2` hashes each.
pub struct NearDuplicates {
    capacity: usize,
    current: Generation,
    previous: Generation,
    next_seq: u64,
}

#[derive(Default)]
struct Generation {
    bands: HashMap<(u64, u8, u16), Vec<Entry>>,
    len: usize,
}

#[derive(Clone, Copy)]
struct Entry {
    hash: u64,
    key: u64,
    seq: u64,
}

impl Default for NearDuplicates {
    fn default() -> Self {
        NearDuplicates::new(1 << 20)
    }
}

fn band(hash: u64, i: u8) -> u16 {
    (hash >> (16 * u32::from(i))) as u16
}

impl NearDuplicates {
    /// A detector remembering about `capacity` mentions.
    pub fn new(capacity: usize) -> Self {
        NearDuplicates { capacity: capacity.max(2), current: Generation::default(), previous: Generation::default(), next_seq: 0 }
    }

    /// Records mention `key` (a hash of tenant and id) of `tenant` with `hash` and says whether an
    /// earlier mention has a near-identical text. Seeing the same key again (a re-labelled mention)
    /// compares it only with mentions recorded before its first sighting.
    pub fn check(&mut self, tenant: &str, key: u64, hash: u64) -> bool {
        let tenant = xxhash_rust::xxh3::xxh3_64(tenant.as_bytes());
        let mut own_seq = None;
        let mut candidates: Vec<Entry> = Vec::new();
        for generation in [&self.current, &self.previous] {
            for i in 0..4 {
                if let Some(list) = generation.bands.get(&(tenant, i, band(hash, i))) {
                    for e in list {
                        if e.key == key {
                            own_seq = Some(own_seq.map_or(e.seq, |s: u64| s.min(e.seq)));
                        } else {
                            candidates.push(*e);
                        }
                    }
                }
            }
        }
        let before = own_seq.unwrap_or(u64::MAX);
        let duplicate = candidates
            .iter()
            .any(|e| e.seq < before && (e.hash ^ hash).count_ones() <= NEAR_DUPLICATE_DISTANCE);
        if own_seq.is_none() {
            self.insert(tenant, Entry { hash, key, seq: self.next_seq });
            self.next_seq += 1;
        }
        duplicate
    }

    fn insert(&mut self, tenant: u64, entry: Entry) {
        if self.current.len >= self.capacity / 2 {
            self.previous = std::mem::take(&mut self.current);
        }
        for i in 0..4 {
            self.current.bands.entry((tenant, i, band(entry.hash, i))).or_default().push(entry);
        }
        self.current.len += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_proto::v1::Author;

    #[test]
    fn terms_drop_stopwords_and_repeat() {
        assert_eq!(terms_of("The app is DOWN again, #AcmeDown down 42 x"), vec!["app", "down", "again", "#acmedown"]);
    }

    #[test]
    fn near_identical_texts_are_close_and_different_texts_far() {
        let a = simhash("huge outage at acme today, nothing works, login fails every time").expect("long");
        let b = simhash("huge outage at acme today, nothing works, login fails every time!!").expect("long");
        let c = simhash("loving the new acme keyboard, typing feels great and the battery lasts").expect("long");
        assert!((a ^ b).count_ones() <= NEAR_DUPLICATE_DISTANCE);
        assert!((a ^ c).count_ones() > 10);
        assert_eq!(simhash("too short"), None);
    }

    #[test]
    fn detector_flags_later_copies_only_within_a_tenant() {
        let mut d = NearDuplicates::new(100);
        let h = 0xdead_beef_u64;
        assert!(!d.check("t", 1, h));
        assert!(d.check("t", 2, h ^ 0b101)); // distance 2
        assert!(!d.check("u", 3, h)); // other tenant
        assert!(!d.check("t", 4, !h)); // far
        // Re-indexing the first mention does not make it a copy of the later one.
        assert!(!d.check("t", 1, h));
        assert!(d.check("t", 2, h ^ 0b101));
    }

    #[test]
    fn spam_rules() {
        let m = |text: &str| Mention { text: text.into(), ..Default::default() };
        assert!(is_spam(&m("#a #b #c #d #e #f win")));
        assert!(is_spam(&m("free followers click here https://x.io/a")));
        assert!(is_spam(&m("sooooooooooooo good")));
        assert!(!is_spam(&m("the acme app is down again #fail")));
        let bot = Mention {
            author: Some(Author { handle: "deals1234567".into(), followers: 2, ..Default::default() }),
            ..m("great deal")
        };
        assert!(is_spam(&bot));
    }
}
