//! What a restart pays before it serves: opening the index (once) and listing every mention's unique key (the
//! dedupe set is rebuilt from it), side by side with the per-document lookup it replaced.
//!
//! ```text
//! EARSHOT_BENCH_DOCS=1000000 EARSHOT_BENCH_DIR=/tmp/startup-1m cargo bench -p earshot-indexer --bench startup
//! ```
//!
//! - `EARSHOT_BENCH_DOCS`: mentions (default 1,000,000), short texts, ids `m<n>` in tenant `bench`.
//! - `EARSHOT_BENCH_DIR`: keep the index there and reuse it (default: a temporary folder).
//! - `EARSHOT_BENCH_ROUNDS`: rounds of each method, alternating (default 5); medians reported.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use earshot_indexer::{IndexCommand, Indexer, IndexerOptions};
use earshot_proto::v1::Mention;

// This bench draws no random corpus: the shared generator stays unused here.
#[allow(dead_code)]
mod common;
use common::{env_usize, percentile};

/// The key listing before the dictionary stream: every alive document's ordinal looked up on its own.
fn keys_by_document(indexer: &Indexer) -> Result<usize, Box<dyn std::error::Error>> {
    let searcher = indexer.searcher();
    let (mut n, mut buf) = (0, String::new());
    for segment in searcher.segment_readers() {
        let Some(column) = segment.fast_fields().str("key")? else { continue };
        let alive = segment.alive_bitset();
        for doc in 0..segment.max_doc() {
            if alive.is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            for ord in column.term_ords(doc) {
                buf.clear();
                if column.ord_to_str(ord, &mut buf)? {
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo test --benches` runs bench binaries without `--bench`; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let docs = env_usize("EARSHOT_BENCH_DOCS", 1_000_000);
    let rounds = env_usize("EARSHOT_BENCH_ROUNDS", 5).max(1);
    let temp = tempfile::tempdir()?;
    let dir = std::env::var("EARSHOT_BENCH_DIR").map(PathBuf::from).unwrap_or_else(|_| temp.path().to_owned());
    let options = IndexerOptions { writer_memory_bytes: 512 << 20, ..IndexerOptions::default() };
    let started = Instant::now();
    let indexer = Indexer::open(&dir, options, |_| {})?;
    let open = started.elapsed();
    let present = indexer.searcher().num_docs() as usize;
    if present != docs {
        if present != 0 {
            return Err(format!("{} holds {present} mentions, not {docs}; use an empty folder", dir.display()).into());
        }
        let started = Instant::now();
        for chunk in (0..docs).collect::<Vec<_>>().chunks(1000) {
            let mentions = chunk
                .iter()
                .map(|n| {
                    let m = Mention {
                        tenant: "bench".into(),
                        id: format!("m{n}"),
                        text: format!("post number {n} about acme"),
                        created_at: Some(prost_types::Timestamp { seconds: 1_700_000_000 + *n as i64, nanos: 0 }),
                        ..Default::default()
                    };
                    (m, String::new())
                })
                .collect();
            indexer.send(IndexCommand::Add { mentions, last_position: None })?;
        }
        indexer.commit()?;
        eprintln!("indexed {docs} mentions in {:.1?}", started.elapsed());
    }

    // Alternating, so that a drift of the machine's speed hits both methods alike.
    let (mut by_doc, mut stream) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        let old = keys_by_document(&indexer)?;
        by_doc.push(started.elapsed());
        let started = Instant::now();
        let mut new = 0;
        indexer.for_each_key(|_| new += 1)?;
        stream.push(started.elapsed());
        assert_eq!((old, new), (docs, docs), "both list every key once");
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        percentile(v, 0.5)
    };
    let segments = indexer.searcher().segment_readers().len();
    let (d, s) = (median(&mut by_doc), median(&mut stream));
    println!("{docs} mentions, {segments} segments, {rounds} rounds (medians)");
    println!("open index (once)                {open:>10.1?}");
    println!("keys, one lookup per document    {d:>10.1?}");
    println!("keys, dictionary stream          {s:>10.1?}   ({:.1}x faster)", d.as_secs_f64() / s.as_secs_f64());
    Ok(())
}
