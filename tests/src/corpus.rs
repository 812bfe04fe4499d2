//! A deterministic generator of realistic-looking mentions for load tests and benchmarks: Zipf-like
//! word frequencies, brand names, hashtags, handles, URLs, a spread of sources, languages and times.

use earshot_proto::v1::{Author, EngagementCounts, Mention};

const COMMON: &[&str] = &[
    "the",
    "a",
    "to",
    "and",
    "is",
    "it",
    "my",
    "for",
    "of",
    "i",
    "this",
    "in",
    "on",
    "that",
    "with",
    "you",
    "so",
    "but",
    "just",
    "was",
    "not",
    "have",
    "are",
    "be",
    "at",
    "they",
    "me",
    "all",
    "from",
    "your",
    "new",
    "app",
    "phone",
    "order",
    "support",
    "today",
    "customer",
    "service",
    "again",
    "still",
    "really",
    "love",
    "hate",
    "great",
    "terrible",
    "slow",
    "fast",
    "down",
    "login",
    "error",
    "update",
    "battery",
    "price",
    "shipping",
    "refund",
    "delivery",
    "store",
    "website",
    "account",
    "password",
    "charged",
    "broken",
    "works",
    "working",
    "help",
    "team",
    "thanks",
    "never",
    "always",
    "best",
    "worst",
    "quality",
    "camera",
    "screen",
    "deal",
    "sale",
    "week",
    "month",
    "year",
    "hours",
    "minutes",
    "waiting",
    "answer",
    "email",
    "call",
    "chat",
    "issue",
    "problem",
    "fixed",
    "finally",
    "honestly",
    "anyone",
    "else",
    "outage",
    "crash",
    "crashes",
    "bug",
    "feature",
    "design",
    "review",
    "recommend",
    "buy",
    "bought",
    "return",
    "replacement",
    "warranty",
    "cheap",
    "expensive",
    "value",
    "launch",
    "event",
    "keynote",
    "announcement",
    "partnership",
    "earnings",
    "stock",
    "ceo",
    "jobs",
    "privacy",
    "data",
    "security",
    "breach",
    "policy",
    "change",
    "customers",
    "users",
    "complain",
    "complaint",
    "complaints",
    "complained",
    "complaining",
    "customise",
    "customize",
    "customised",
    "customized",
    "keyboard",
    "mouse",
    "headphones",
    "earbuds",
    "laptop",
    "tablet",
    "watch",
    "charger",
    "cable",
    "speaker",
    "thermostat",
    "camera",
];
const BRANDS: &[&str] = &["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Logitech", "Stark", "Wayne"];
const TAGS: &[&str] = &["#acmedown", "#fail", "#love", "#deal", "#tech", "#support", "#outage", "#unboxing"];
const SOURCES: &[i32] = &[1, 1, 1, 1, 2, 2, 3, 4, 9, 12];
const LANGS: &[&str] = &["en", "en", "en", "en", "en", "es", "fr", "de", "pt", "nl"];
const COUNTRIES: &[&str] = &["US", "US", "GB", "DE", "FR", "ES", "BR", "NL", "CA", "AU"];

/// A small fast PRNG (xorshift64*), so the corpus is the same on every machine.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Index skewed towards 0 (roughly Zipf), in `0..n`.
    pub fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) - 1.0) as usize % n.max(1)
    }
}

/// Mention number `i` of a corpus spread over `days` days ending at `end_secs`.
pub fn synthetic_mention(rng: &mut Rng, i: u64, end_secs: i64, days: i64) -> Mention {
    let words = 8 + rng.below(30);
    let mut text = String::with_capacity(words * 7);
    for w in 0..words {
        if w > 0 {
            text.push(' ');
        }
        match rng.below(20) {
            0 | 1 => text.push_str(BRANDS[rng.skewed(BRANDS.len())]),
            2 => text.push_str(TAGS[rng.below(TAGS.len())]),
            3 if w > 0 => text.push_str(&format!("@user{}", rng.skewed(50_000))),
            _ => text.push_str(COMMON[rng.skewed(COMMON.len())]),
        }
    }
    if rng.below(10) == 0 {
        text.push_str(&format!(" https://www.example{}.com/p/{}", rng.below(20), rng.below(1000)));
    }
    let author = rng.skewed(200_000);
    Mention {
        id: format!("m{i}"),
        text,
        source: SOURCES[rng.below(SOURCES.len())],
        created_at: Some(prost_types::Timestamp {
            seconds: end_secs - rng.below((days * 86_400) as usize) as i64,
            nanos: 0,
        }),
        author: Some(Author {
            id: format!("a{author}"),
            handle: format!("user{author}"),
            display_name: format!("User {author}"),
            followers: (rng.skewed(1_000_000) as u64).pow(2) / 1000,
            verified: rng.below(50) == 0,
        }),
        language: LANGS[rng.below(LANGS.len())].into(),
        country: COUNTRIES[rng.below(COUNTRIES.len())].into(),
        engagement_type: 1 + rng.below(5) as i32,
        counts: Some(EngagementCounts {
            likes: rng.skewed(10_000) as u64,
            shares: rng.skewed(1_000) as u64,
            replies: rng.skewed(500) as u64,
        }),
        ..Default::default()
    }
}
