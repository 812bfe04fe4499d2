//! Noise signals computed when a mention is indexed: the terms insights count, a SimHash of the text
//! with a near-duplicate detector, and a simple spam/bot flag.
//!
//! All three are fast fields so that every insight can count terms or leave noise out without loading
//! stored documents.

use std::collections::HashMap;

use earshot_proto::v1::Mention;

use crate::tokenizer::{normalize, segments, Case, Segment, SegmentKind};

/// Most distinct terms kept per mention (the first ones in the text).
pub const MAX_TERMS_PER_MENTION: usize = 48;
/// Largest Hamming distance between two SimHashes that counts as a near-duplicate.
pub const NEAR_DUPLICATE_DISTANCE: u32 = 3;
/// Fewest words a text needs before it can be a near-duplicate (short texts collide by chance).
pub const NEAR_DUPLICATE_MIN_WORDS: usize = 5;

/// Spam phrases; one of them together with a link flags a mention.
const SPAM_PHRASES: &[&str] = &[
    "free followers",
    "click here",
    "dm me",
    "giveaway",
    "earn $",
    "100% free",
    "crypto signal",
    "whatsapp me",
    "check my bio",
    "limited offer",
];

pub use crate::stopwords::is_stopword;

/// What indexing computes from a mention's text: its terms, SimHash and spam flag, from one
/// segmentation and one normalisation per word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    /// See [`terms_of_lang`].
    pub terms: Vec<String>,
    /// See [`simhash`].
    pub simhash: Option<u64>,
    /// See [`is_spam`].
    pub spam: bool,
}

/// The [`Features`] of a mention, in its language.
pub fn features(mention: &Mention) -> Features {
    let segs = segments(&mention.text);
    let (terms, simhash) = words_of(&mention.text, &segs, &mention.language);
    Features { terms, simhash, spam: spam_of(mention, &segs) }
}

/// [`terms_of_lang`] for a mention of unknown language (every fallback language's stopwords).
pub fn terms_of(text: &str) -> Vec<String> {
    terms_of_lang(text, "")
}

/// Distinct lower-cased words and hashtags of a text, in order, without the stopwords of `language`
/// (see [`crate::stopwords::for_language`]), one-letter words and numbers; at most
/// [`MAX_TERMS_PER_MENTION`].
pub fn terms_of_lang(text: &str, language: &str) -> Vec<String> {
    words_of(text, &segments(text), language).0
}

/// 64-bit SimHash over the lower-cased words (stopwords of every fallback language left out) and word
/// bigrams (all words, so word order still counts) of a text; `None` when it has fewer than
/// [`NEAR_DUPLICATE_MIN_WORDS`] words. Leaving stopwords out keeps two posts that differ only in
/// function words (`the app is down again` / `app down again`) close, and two that share only
/// function words far.
pub fn simhash(text: &str) -> Option<u64> {
    words_of(text, &segments(text), "").1
}

/// The terms (in `language`) and the SimHash of a text, from its segments.
fn words_of(text: &str, segs: &[Segment], language: &str) -> (Vec<String>, Option<u64>) {
    let stopwords = crate::stopwords::for_language(language);
    let mut terms: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::with_capacity(segs.len());
    for seg in segs {
        if matches!(seg.kind, SegmentKind::Url | SegmentKind::Emoji) {
            continue;
        }
        let word = normalize(&text[seg.start..seg.end], Case::Lower);
        if matches!(seg.kind, SegmentKind::Word | SegmentKind::Hashtag)
            && terms.len() < MAX_TERMS_PER_MENTION
            && is_term(&word, stopwords)
            && !terms.contains(&word)
        {
            terms.push(word.clone());
        }
        words.push(word);
    }
    (terms, simhash_of_words(&words))
}

fn is_term(term: &str, stopwords: &std::collections::HashSet<&'static str>) -> bool {
    let bare = term.trim_start_matches('#');
    bare.chars().nth(1).is_some()
        && !bare.chars().all(|c| c.is_ascii_digit())
        && !stopwords.contains(term)
        && term.len() <= crate::tokenizer::MAX_TOKEN_BYTES
}

fn simhash_of_words(words: &[String]) -> Option<u64> {
    if words.len() < NEAR_DUPLICATE_MIN_WORDS {
        return None;
    }
    let mut weights = [0i32; 64];
    let mut add = |h: u64| {
        for (bit, w) in weights.iter_mut().enumerate() {
            *w += if h >> bit & 1 == 1 { 1 } else { -1 };
        }
    };
    for w in words.iter().filter(|w| !is_stopword(w)) {
        add(xxhash_rust::xxh3::xxh3_64(w.as_bytes()));
    }
    let mut pair = String::new();
    for two in words.windows(2) {
        pair.clear();
        pair.push_str(&two[0]);
        pair.push(' ');
        pair.push_str(&two[1]);
        add(xxhash_rust::xxh3::xxh3_64(pair.as_bytes()));
    }
    Some(weights.iter().enumerate().fold(0u64, |acc, (bit, w)| if *w > 0 { acc | 1 << bit } else { acc }))
}

/// The simple spam/bot flag: a pile of hashtags, handles or links; a spam phrase with a link; a run of
/// one character; or a bot-like handle (six or more trailing digits) with fewer than 10 followers.
pub fn is_spam(mention: &Mention) -> bool {
    spam_of(mention, &segments(&mention.text))
}

fn spam_of(mention: &Mention, segs: &[Segment]) -> bool {
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
        NearDuplicates {
            capacity: capacity.max(2),
            current: Generation::default(),
            previous: Generation::default(),
            next_seq: 0,
        }
    }

    /// Records mention `key` (a hash of tenant and id) of `tenant` with `hash` and says whether an
    /// earlier mention has a near-identical text. Seeing the same key again (a re-labelled mention)
    /// compares it only with mentions recorded before its first sighting.
    pub fn check(&mut self, tenant: &str, key: u64, hash: u64) -> bool {
        let tenant = xxhash_rust::xxh3::xxh3_64(tenant.as_bytes());
        // One pass, no allocation: the earliest sighting of this key and the earliest close hash of
        // another key. This runs on the indexing thread for every mention, over band lists that grow
        // long when many texts are alike.
        let mut own_seq: Option<u64> = None;
        let mut first_close = u64::MAX;
        for generation in [&self.current, &self.previous] {
            for i in 0..4 {
                let Some(list) = generation.bands.get(&(tenant, i, band(hash, i))) else { continue };
                for e in list {
                    if e.key == key {
                        own_seq = Some(own_seq.map_or(e.seq, |s| s.min(e.seq)));
                    } else if (e.hash ^ hash).count_ones() <= NEAR_DUPLICATE_DISTANCE {
                        first_close = first_close.min(e.seq);
                    }
                }
            }
        }
        let duplicate = first_close < own_seq.unwrap_or(u64::MAX);
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
    fn terms_drop_the_stopwords_of_the_mention_language() {
        let de = "Die App stürzt auf dem iPhone mit iOS ab, nicht nur bei mir und auch nicht bei meiner Frau";
        assert_eq!(terms_of_lang(de, "de"), vec!["app", "stürzt", "iphone", "ios", "ab", "frau"]);
        let it = "Per me l'app non funziona del tutto, dell'assistenza non parliamo";
        assert_eq!(terms_of_lang(it, "it"), vec!["app", "funziona", "assistenza", "parliamo"]);
        let fr = "Le service client de la banque ne répond pas, c'est la panne du siècle";
        assert_eq!(terms_of_lang(fr, "fr"), vec!["service", "client", "banque", "répond", "panne", "siècle"]);
        let es = "La app del banco no funciona desde ayer por la noche";
        assert_eq!(terms_of_lang(es, "es"), vec!["app", "banco", "funciona", "ayer", "noche"]);
        // Unknown language: every fallback list applies, so the same function words go.
        for (text, lang) in [(de, "de"), (it, "it"), (fr, "fr"), (es, "es")] {
            let unknown = terms_of(text);
            for w in ["auf", "mit", "per", "non", "le", "del", "la", "die", "und"] {
                assert!(!unknown.contains(&w.to_owned()), "{w} in {unknown:?}");
                assert!(!terms_of_lang(text, lang).contains(&w.to_owned()), "{w} ({lang})");
            }
        }
        // An English post keeps `die` (not an English stopword); a German one drops it.
        assert_eq!(terms_of_lang("batteries die fast", "en"), vec!["batteries", "die", "fast"]);
        assert_eq!(terms_of_lang("die Batterie", "de"), vec!["batterie"]);
    }

    #[test]
    fn near_identical_texts_are_close_and_different_texts_far() {
        let a = simhash("huge outage at acme today, nothing works, login fails every time").expect("long");
        let b = simhash("huge outage at acme today, nothing works, login fails every time!!").expect("long");
        let c = simhash("loving the new acme keyboard, typing feels great and the battery lasts").expect("long");
        assert!((a ^ b).count_ones() <= NEAR_DUPLICATE_DISTANCE);
        assert!((a ^ c).count_ones() > 10);
        assert_eq!(simhash("too short"), None);
        // Function words alone don't make two posts alike.
        let d = simhash("the app is down again and the support is not answering").expect("long");
        let e = simhash("the weather is nice again and the beach is not crowded").expect("long");
        assert!((d ^ e).count_ones() > 10);
    }

    #[test]
    fn features_are_what_indexes_of_this_analysis_version_hold() {
        // Indexes store these values: changing them needs a new ANALYSIS_VERSION (a rebuild on open).
        let de = "Die App stürzt auf dem iPhone mit iOS ab, nicht nur bei mir und auch nicht bei meiner Frau \
                  #Störung @Telekom https://t.co/x 👍🏽";
        assert_eq!(
            simhash("huge outage at acme today, nothing works, login fails every time"),
            Some(12730743038239596259)
        );
        assert_eq!(simhash(de), Some(12421583736608503697));
        let mention = Mention { text: de.into(), language: "de".into(), ..Default::default() };
        let got = features(&mention);
        assert_eq!(got.terms, vec!["app", "stürzt", "iphone", "ios", "ab", "frau", "#störung"]);
        assert_eq!((got.simhash, got.spam), (simhash(de), is_spam(&mention)));
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
