//! Latency of every insight's index work on a large synthetic index.
//!
//! ```text
//! EARSHOT_BENCH_DOCS=1000000 cargo bench -p earshot-indexer --bench insights
//! ```
//!
//! - `EARSHOT_BENCH_DOCS`: mentions (default 1,000,000), spread over 30 days, one tenant.
//! - `EARSHOT_BENCH_DIR`: keep the index there and reuse it when it already holds that many mentions.
//! - `EARSHOT_BENCH_ROUNDS`: runs per insight (default 20), after one unmeasured run.
//!
//! The index is built directly through the `Indexer` (no gRPC). Each measured run is what the server
//! does for the RPC's index work: build the scoped query (tenant, range, noise filter) and run the
//! collector(s) on one searcher. Scopes: "all" = every mention of the 30 days; "topic" = mentions
//! matching `acme` (about 10%).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use earshot_indexer::insights::authors::top_authors;
use earshot_indexer::insights::calendar::{edges, fixed_edges, parse_zone, Interval};
use earshot_indexer::insights::sentiment::sentiment;
use earshot_indexer::insights::terms::{term_counts, TermRanges};
use earshot_indexer::insights::volume::{volume, Split, VolumeParams};
use earshot_indexer::insights::{insight_query, Noise};
use earshot_indexer::query::parse_query;
use earshot_indexer::{IndexCommand, Indexer, IndexerOptions};
use earshot_proto::v1::{Author, EngagementCounts, Mention};
use tantivy::query::Query;

mod common;
use common::{env_usize, percentile, Rng};

const WORDS: &str = "the a to and is it my for of this in on that with you so but just was not have are be at \
    new app phone order support today customer service again still really love hate great terrible slow fast \
    down login error update battery price shipping refund delivery store website account password charged \
    broken works working help team thanks never always best worst quality camera screen deal sale week month \
    hours waiting answer email call chat issue problem fixed finally outage crash bug feature design review \
    recommend buy bought return replacement warranty cheap expensive value launch event keynote partnership";
const BRANDS: &[&str] = &["acme", "globex", "initech", "umbrella", "hooli", "stark"];
const TAGS: &[&str] = &["#acmedown", "#fail", "#love", "#deal", "#tech", "#support", "#outage", "#unboxing"];
const END: i64 = 1_717_200_000; // 2024-06-01
const DAYS: i64 = 30;

fn mention(rng: &mut Rng, words: &[&str], i: u64) -> Mention {
    let n = 6 + rng.below(25);
    let mut text = String::new();
    for w in 0..n {
        if w > 0 {
            text.push(' ');
        }
        match rng.below(20) {
            0 => text.push_str(BRANDS[rng.skewed(BRANDS.len())]),
            1 => text.push_str(TAGS[rng.below(TAGS.len())]),
            _ => text.push_str(words[rng.skewed(words.len())]),
        }
    }
    let author = rng.skewed(200_000);
    Mention {
        id: format!("m{i}"),
        tenant: "bench".into(),
        text,
        source: [1, 1, 1, 2, 2, 3, 4, 9, 12][rng.below(9)],
        created_at: Some(prost_types::Timestamp {
            seconds: END - rng.below((DAYS * 86_400) as usize) as i64,
            nanos: 0,
        }),
        author: Some(Author {
            id: format!("a{author}"),
            handle: format!("user{author}"),
            followers: (rng.skewed(1_000_000) as u64).pow(2) / 1000,
            ..Default::default()
        }),
        language: ["en", "en", "en", "es", "fr", "de"][rng.below(6)].into(),
        engagement_type: 1 + rng.below(5) as i32,
        counts: Some(EngagementCounts {
            likes: rng.skewed(10_000) as u64,
            shares: rng.skewed(1000) as u64,
            replies: rng.skewed(500) as u64,
        }),
        sentiment: 1 + rng.below(3) as i32,
        sentiment_score: 0.5 + (rng.below(50) as f32) / 100.0,
        ..Default::default()
    }
}

fn build(dir: &std::path::Path, docs: u64) -> Indexer {
    let options = IndexerOptions { writer_memory_bytes: 512 << 20, writer_threads: 2, ..IndexerOptions::default() };
    let indexer = Indexer::open(dir, options, |_| {}).expect("open index");
    let have = indexer.searcher().num_docs();
    if have == docs {
        eprintln!("reusing {have} mentions in {}", dir.display());
        return indexer;
    }
    assert_eq!(have, 0, "{} holds {have} mentions, not {docs}; use an empty folder", dir.display());
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let mut i = 0;
    while i < docs {
        let batch: Vec<(Mention, String)> =
            (i..(i + 5000).min(docs)).map(|j| (mention(&mut rng, &words, j), "bench".to_owned())).collect();
        i += batch.len() as u64;
        indexer.send(IndexCommand::Add { mentions: batch, last_position: None }).expect("send");
    }
    indexer.commit().expect("commit");
    eprintln!("indexed {docs} mentions in {:.1?}", started.elapsed());
    indexer
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let docs = env_usize("EARSHOT_BENCH_DOCS", 1_000_000) as u64;
    let rounds = env_usize("EARSHOT_BENCH_ROUNDS", 20);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::env::var_os("EARSHOT_BENCH_DIR").map_or_else(|| tmp.path().join("index"), PathBuf::from);
    let idx = build(&dir, docs);
    let f = idx.fields();
    let (from, to) = (END - DAYS * 86_400, END + 1);
    let week = (END - 7 * 86_400, END + 1);
    let berlin = parse_zone("Europe/Berlin").expect("zone");
    let query = |text: &str, from: i64, to: i64, noise: Noise| -> Box<dyn Query> {
        insight_query(f, "bench", parse_query(idx.index(), f, text).expect("query"), from, to, noise)
    };
    let noise =
        Noise { exclude_reposts: true, exclude_quotes: true, exclude_near_duplicates: true, exclude_spam: true };
    let hour_edges = fixed_edges(from, to, 3600).expect("edges");
    let spike_hour = (END - 3 * 86_400, END - 3 * 86_400 + 3600);
    type Run<'a> = Box<dyn Fn() -> u64 + 'a>;
    let mut cases: Vec<(&str, &str, Run)> = Vec::new();
    for (scope, text) in [("all", ""), ("topic", "acme")] {
        let s = idx.searcher();
        let q = move |n: Noise| query(text, from, to, n);
        let qw = move || query(text, week.0 - 28 * 86_400, week.1, Noise::default());
        let s1 = s.clone();
        cases.push((
            "Volume (day, Europe/Berlin, split by sentiment)",
            scope,
            Box::new(move || {
                let e = edges(from, to, Interval::Day, berlin).expect("edges");
                volume(&s1, &*q(Noise::default()), VolumeParams { edges: e, split: Some(Split::Sentiment) })
                    .expect("volume")
                    .len() as u64
            }),
        ));
        let s2 = s.clone();
        cases.push((
            "Volume (hour, UTC, all noise excluded)",
            scope,
            Box::new(move || {
                let e = edges(from, to, Interval::Hour, berlin).expect("edges");
                volume(&s2, &*q(noise), VolumeParams { edges: e, split: None }).expect("volume").len() as u64
            }),
        ));
        let s3 = s.clone();
        cases.push((
            "SentimentSummary (period + previous period)",
            scope,
            Box::new(move || {
                let a = sentiment(&s3, &*q(Noise::default())).expect("s").total();
                let b = sentiment(&s3, &*query(text, from - (to - from), from, Noise::default())).expect("s").total();
                a + b
            }),
        ));
        let s4 = s.clone();
        cases.push((
            "TopAuthors (3 rankings + unique)",
            scope,
            Box::new(move || top_authors(&s4, &*q(Noise::default()), 10).expect("authors").unique),
        ));
        let s5 = s.clone();
        cases.push((
            "TrendingTerms (7 days vs 4 weeks before)",
            scope,
            Box::new(move || {
                let ranges = TermRanges { foreground: week, background: (week.0 - 28 * 86_400, week.0) };
                let c = term_counts(&s5, &*qw(), ranges).expect("terms");
                (c.significant(20, 3, |_| true).len() + c.emerging(20, 3, ranges).len()) as u64
            }),
        ));
        let s6 = s.clone();
        let he = hour_edges.clone();
        cases.push((
            "Spikes (30 days hourly series + 1 explanation)",
            scope,
            Box::new(move || {
                let series = volume(&s6, &*q(Noise::default()), VolumeParams { edges: he.clone(), split: None })
                    .expect("series");
                let ranges =
                    TermRanges { foreground: spike_hour, background: (spike_hour.0 - 7 * 86_400, spike_hour.0) };
                let wide = query(text, ranges.background.0, spike_hour.1, Noise::default());
                let terms = term_counts(&s6, &*wide, ranges).expect("terms").significant(5, 2, |_| true).len();
                let hour = query(text, spike_hour.0, spike_hour.1, Noise::default());
                let authors = top_authors(&s6, &*hour, 5).expect("authors").unique;
                let sources = volume(
                    &s6,
                    &*hour,
                    VolumeParams { edges: vec![spike_hour.0, spike_hour.1], split: Some(Split::Source) },
                )
                .expect("src");
                series.len() as u64 + terms as u64 + authors + sources.len() as u64
            }),
        ));
        let s7 = s.clone();
        cases.push((
            "Correlate / PerceptionGap (daily series split by sentiment)",
            scope,
            Box::new(move || {
                let e = fixed_edges(from, to, 86_400).expect("edges");
                volume(&s7, &*q(Noise::default()), VolumeParams { edges: e, split: Some(Split::Sentiment) })
                    .expect("v")
                    .len() as u64
            }),
        ));
    }
    let s8 = idx.searcher();
    cases.push((
        "ShareOfVoice (6 brands)",
        "6 topics",
        Box::new(move || {
            BRANDS.iter().map(|b| sentiment(&s8, &*query(b, from, to, Noise::default())).expect("s").total()).sum()
        }),
    ));
    let s9 = idx.searcher();
    let index9 = idx.index().clone();
    cases.push((
        "IncidentSignal (problem words, not positive, hourly)",
        "all",
        Box::new(move || {
            use tantivy::query::{BooleanQuery, Occur, TermQuery};
            let words =
                parse_query(&index9, f, "outage OR down OR login OR error OR slow OR crash OR broken").expect("query");
            let positive = TermQuery::new(
                tantivy::Term::from_field_text(f.sentiment, "positive"),
                tantivy::schema::IndexRecordOption::Basic,
            );
            let both: Box<dyn Query> =
                Box::new(BooleanQuery::new(vec![(Occur::Must, words), (Occur::MustNot, Box::new(positive))]));
            let q = insight_query(f, "bench", both, from, to, Noise::default());
            volume(&s9, &*q, VolumeParams { edges: hour_edges.clone(), split: None }).expect("v").len() as u64
        }),
    ));

    println!("| insight | scope | p50 ms | p99 ms | max ms |");
    println!("|---|---|---:|---:|---:|");
    for (name, scope, run) in &cases {
        std::hint::black_box(run());
        let mut times: Vec<Duration> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(run());
                t.elapsed()
            })
            .collect();
        times.sort();
        let p = |q: f64| ms(percentile(&times, q));
        println!("| {name} | {scope} | {:.1} | {:.1} | {:.1} |", p(0.5), p(0.99), p(1.0));
    }
}
