//! Ingest throughput (no classification) and search latency of the real server over gRPC on loopback.
//!
//! `cargo bench -p earshot-tests --bench ingest_search`; `EARSHOT_BENCH_MENTIONS` sets the corpus size
//! (default 1,000,000), `EARSHOT_BENCH_STREAMS` the concurrent import streams (default 2),
//! `EARSHOT_BENCH_QUERY_RUNS` the runs per query (default 200). Prints a Markdown table.

use std::time::{Duration, Instant};

use earshot_proto::v1::{CountRequest, IngestRequest, SearchRequest, SortOrder, TimeRange};
use earshot_tests::corpus::{synthetic_mention, Rng};
use earshot_tests::{now_secs, peak_rss_mib, Sandbox};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let total = env_or("EARSHOT_BENCH_MENTIONS", 1_000_000) as u64;
    let streams = env_or("EARSHOT_BENCH_STREAMS", 2) as u64;
    let runs = env_or("EARSHOT_BENCH_QUERY_RUNS", 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(
        dir.path(),
        &["--no-classifier", "--commit-interval-ms", "1000", "--index-memory-mb", "512", "--index-threads", "2"],
    )
    .await;
    let end = now_secs();
    let days = 90;

    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..streams {
        let mut client = server.ingest().await;
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(s + 1);
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            let producer = tokio::spawn(async move {
                let mut i = s;
                while i < total {
                    let mut batch = Vec::with_capacity(500);
                    while batch.len() < 500 && i < total {
                        batch.push(synthetic_mention(&mut rng, i, end, days));
                        i += streams;
                    }
                    if tx.send(IngestRequest { mentions: batch, wait_searchable: false }).await.is_err() {
                        return;
                    }
                }
            });
            let mut responses = client
                .ingest_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .expect("stream")
                .into_inner();
            let mut accepted = 0u64;
            while let Some(r) = responses.message().await.expect("response") {
                accepted += u64::from(r.accepted);
            }
            producer.await.expect("producer");
            accepted
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.expect("stream task");
    }
    let acked = started.elapsed();
    // Indexing may trail the acks (bounded by the pipeline's queues): poll until everything is searchable.
    let mut counter = server.search().await;
    loop {
        let count = counter.count(CountRequest::default()).await.expect("count").into_inner().count;
        if count >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let searchable = started.elapsed();
    assert_eq!(accepted, total, "every generated mention is accepted");

    println!("## Ingest ({total} mentions, {streams} streams × batches of 500, no classification)\n");
    println!("| measure | value |\n|---|---|");
    println!(
        "| acknowledged (fsynced) | {:.1} s, {:.0} mentions/s |",
        acked.as_secs_f64(),
        total as f64 / acked.as_secs_f64()
    );
    println!(
        "| all searchable | {:.1} s, {:.0} mentions/s |",
        searchable.as_secs_f64(),
        total as f64 / searchable.as_secs_f64()
    );
    println!("| server peak RSS | {:.0} MiB |", peak_rss_mib(server.pid()));

    let mut search = server.search().await;
    let week = Some(TimeRange { from: Some(prost_types::Timestamp { seconds: end - 7 * 86_400, nanos: 0 }), to: None });
    let cases: Vec<(&str, SearchRequest)> = vec![
        ("term, newest 20", SearchRequest { query: "refund".into(), ..Default::default() }),
        ("rare term, newest 20", SearchRequest { query: "thermostat".into(), ..Default::default() }),
        ("AND, newest 20", SearchRequest { query: "acme AND outage".into(), ..Default::default() }),
        ("OR, newest 20", SearchRequest { query: "refund OR replacement OR warranty".into(), ..Default::default() }),
        ("phrase, newest 20", SearchRequest { query: "\"customer service\"".into(), ..Default::default() }),
        ("term + last 7 days", SearchRequest { query: "acme".into(), time_range: week, ..Default::default() }),
        (
            "term, relevance 20",
            SearchRequest { query: "battery".into(), sort: SortOrder::Relevance as i32, ..Default::default() },
        ),
        ("match all, newest 100", SearchRequest { page_size: 100, ..Default::default() }),
    ];
    println!("\n## Search latency (gRPC round trip, {runs} runs each, sequential)\n");
    println!("| query | matches | p50 ms | p99 ms |\n|---|---|---|---|");
    for (name, request) in cases {
        let mut times = Vec::with_capacity(runs);
        let mut matches = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let r = search.search(request.clone()).await.expect("search").into_inner();
            times.push(t.elapsed());
            matches = r.total;
        }
        times.sort();
        println!("| {name} | {matches} | {:.2} | {:.2} |", percentile(&times, 0.5), percentile(&times, 0.99));
    }
    let mut times = Vec::with_capacity(runs);
    let mut count = 0;
    for _ in 0..runs {
        let t = Instant::now();
        count = search
            .count(CountRequest { query: "acme OR globex".into(), ..Default::default() })
            .await
            .expect("count")
            .into_inner()
            .count;
        times.push(t.elapsed());
    }
    times.sort();
    println!("| count: acme OR globex | {count} | {:.2} | {:.2} |", percentile(&times, 0.5), percentile(&times, 0.99));
    println!("\nserver peak RSS after queries: {:.0} MiB", peak_rss_mib(server.pid()));
    assert!(server.stop().await);
}
