//! Latency of NEAR, wildcard and phrase queries on a large synthetic index.
//!
//! ```text
//! EARSHOT_BENCH_DOCS=1000000 cargo bench -p earshot-indexer --bench query
//! ```
//!
//! - `EARSHOT_BENCH_DOCS`: mentions to index (default 1,000,000).
//! - `EARSHOT_BENCH_DIR`: keep the index there and reuse it when it already holds that many mentions
//!   (default: a temporary folder, removed afterwards).
//! - `EARSHOT_BENCH_ROUNDS`: times each query runs (default 30).
//!
//! Mentions are social-media-like: Zipf-distributed words from a 20,000-word vocabulary (common
//! English first, then brand and service words, then made-up words), hashtags, handles, urls and
//! emoji, 6 to 40 words long. Each measured search is what the server does: parse and lower the
//! query, then count all matches and fetch the 20 newest, scoped to the tenant. Each query runs once
//! unmeasured first. Measure a reused index (`EARSHOT_BENCH_DIR`, second run) for steady-state
//! numbers: right after building, background segment merges compete for the CPU.

use std::path::PathBuf;
use std::time::Instant;

use earshot_indexer::query::parse_query;
use earshot_indexer::search::{SearchParams, Sort};
use earshot_indexer::{IndexCommand, Indexer, IndexerOptions};
use earshot_proto::v1::{Author, Mention};

mod common;
use common::{env_usize, percentile, Rng};

const COMMON: &str = "the a to and is it of for in my this on that was with you i not be have are but so \
    at just get they we me all from out up about what your can no like one if will do more when new now \
    time good great day love today really best why people how service support delivery customer order \
    keyboard mouse logitech complain complaint complaining complaints problem issue refund app update \
    phone battery screen price store shop brand product quality fast slow late broken terrible amazing \
    thanks help account login error bug crash team staff wait hours week again never always still york \
    pizza coffee café cafe résumé resume naive naïve customise customize customer customers";

struct Vocabulary {
    words: Vec<String>,
    /// Cumulative Zipf weights.
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new(size: usize) -> Self {
        let mut words: Vec<String> = COMMON.split_whitespace().map(str::to_owned).collect();
        let syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "zu", "pe", "qua", "dor", "fen", "gil"];
        let mut i = 0usize;
        while words.len() < size {
            let (a, b, c) = (i % 14, (i / 14) % 14, (i / 196) % 14);
            words.push(format!("{}{}{}{}", syllables[a], syllables[b], syllables[c], i / 2744));
            i += 1;
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(1.07);
                total
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    fn pick(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = (rng.next() as f64 / u64::MAX as f64) * total;
        let i = self.cumulative.partition_point(|&c| c < x).min(self.words.len() - 1);
        &self.words[i]
    }
}

fn mention(n: usize, vocab: &Vocabulary, rng: &mut Rng) -> Mention {
    let len = 6 + rng.below(35);
    let mut text = String::with_capacity(len * 7);
    for i in 0..len {
        if i > 0 {
            text.push(' ');
        }
        match rng.below(100) {
            0..=2 => text.push('#'),
            3 => text.push('@'),
            _ => {}
        }
        match rng.below(400) {
            0 => text.push('😀'),
            1 => text.push_str("👍🏽"),
            2 => text.push_str("https://www.bbc.co.uk/news/item"),
            _ => text.push_str(vocab.pick(rng)),
        }
    }
    Mention {
        id: format!("m{n}"),
        tenant: "bench".into(),
        text,
        language: "en".into(),
        country: "GB".into(),
        author: Some(Author {
            handle: format!("user{}", rng.below(50_000)),
            followers: rng.next() % 100_000,
            ..Default::default()
        }),
        created_at: Some(prost_types::Timestamp { seconds: 1_700_000_000 + n as i64, nanos: 0 }),
        ..Default::default()
    }
}

fn build(indexer: &Indexer, docs: usize) -> Result<(), earshot_indexer::IndexError> {
    let vocab = Vocabulary::new(20_000);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    for n in 0..docs {
        batch.push((mention(n, &vocab, &mut rng), String::new()));
        if batch.len() == 1000 || n + 1 == docs {
            indexer.send(IndexCommand::Add { mentions: std::mem::take(&mut batch), last_position: None })?;
        }
        if (n + 1) % 200_000 == 0 {
            eprintln!("  {} mentions sent ({:.0?})", n + 1, started.elapsed());
        }
    }
    indexer.commit()?;
    eprintln!("indexed {docs} mentions in {:.1?}", started.elapsed());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo test --benches` runs bench binaries with `--bench`-less args; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let docs = env_usize("EARSHOT_BENCH_DOCS", 1_000_000);
    let rounds = env_usize("EARSHOT_BENCH_ROUNDS", 30);
    let temp = tempfile::tempdir()?;
    let dir = std::env::var("EARSHOT_BENCH_DIR").map(PathBuf::from).unwrap_or_else(|_| temp.path().to_owned());
    let options = IndexerOptions { writer_memory_bytes: 512 << 20, ..IndexerOptions::default() };
    let indexer = Indexer::open(&dir, options, |_| {})?;
    let present = indexer.searcher().num_docs() as usize;
    if present != docs {
        if present != 0 {
            return Err(format!("{} holds {present} mentions, not {docs}; use an empty folder", dir.display()).into());
        }
        build(&indexer, docs)?;
    }
    let segments = indexer.searcher().segment_readers().len();
    println!("{docs} mentions, {segments} segments, {rounds} rounds per query\n");

    let classes: [(&str, &[&str]); 3] = [
        (
            "near",
            &[
                "logitech NEAR/3 keyboard",
                "(complain* OR problem) NEAR/5 (delivery OR service)",
                "customer NEAR/2f service",
            ],
        ),
        ("wildcard", &["complain*", "custom*", "deliver* AND late"]),
        ("phrase", &["\"customer service\"", "\"the delivery was\"", "\"new york pizza\"~2"]),
    ];
    println!("{:<10} {:<55} {:>9} {:>10} {:>10}", "class", "query", "matches", "p50", "p99");
    for (class, queries) in classes {
        let mut all = Vec::new();
        for q in queries {
            let mut times = Vec::with_capacity(rounds);
            let mut total = 0;
            // One unmeasured run first: it pages the postings in.
            for round in 0..=rounds {
                let started = Instant::now();
                let query = parse_query(indexer.index(), indexer.fields(), q)?;
                let params = SearchParams {
                    tenant: "bench".into(),
                    query,
                    from: None,
                    to: None,
                    sort: Sort::TimeDesc,
                    offset: 0,
                    limit: 20,
                    highlight: false,
                };
                total = indexer.search(params)?.total;
                if round > 0 {
                    times.push(started.elapsed());
                }
            }
            times.sort_unstable();
            println!(
                "{class:<10} {q:<55} {total:>9} {:>10.2?} {:>10.2?}",
                percentile(&times, 0.5),
                percentile(&times, 0.99)
            );
            all.extend(times);
        }
        all.sort_unstable();
        println!(
            "{class:<10} {:<55} {:>9} {:>10.2?} {:>10.2?}\n",
            "(all of the class)",
            "",
            percentile(&all, 0.5),
            percentile(&all, 0.99)
        );
    }
    indexer.close();
    Ok(())
}
