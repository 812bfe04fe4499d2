//! Soak run: mixed ingest, search, count and insights against the real binary, with a `kill -9` and a
//! restart every cycle; at the end every acknowledged mention must be found exactly once. Prints calls,
//! errors by code, acknowledged vs found, and the server's peak RSS (VmHWM of each process).
//!
//! ```sh
//! cargo run -p earshot-tests --example soak -- [seconds per cycle, default 30] [cycles, default 4]
//! ```
//! Add `--model` as a third argument to run with the sentiment model (slower ingest, back-pressure).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use earshot_proto::v1::export_service_client::ExportServiceClient;
use earshot_proto::v1::insights_service_client::InsightsServiceClient;
use earshot_proto::v1::{CountRequest, ExportRequest, IngestRequest, InsightScope, SearchRequest, VolumeRequest};
use earshot_tests::{mention, peak_rss_mib, Sandbox};

#[derive(Default)]
struct Tally {
    calls: BTreeMap<&'static str, u64>,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn record<T>(&mut self, what: &'static str, result: &Result<T, tonic::Status>) {
        *self.calls.entry(what).or_default() += 1;
        if let Err(status) = result {
            *self.errors.entry(format!("{what} {:?}", status.code())).or_default() += 1;
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cycle = Duration::from_secs(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(30));
    let cycles: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);
    let model = args.iter().any(|a| a == "--model");
    let flags: &[&str] = if model { &[] } else { &["--no-classifier"] };
    let dir = tempfile::tempdir().expect("tempdir");
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let tally: Arc<Mutex<Tally>> = Arc::default();
    let mut peak = 0.0f64;
    let started = Instant::now();
    for round in 0..cycles {
        let server = Arc::new(Sandbox::start_in(dir.path(), flags).await);
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for w in 0..4u64 {
            let (server, stop, acked, tally) = (server.clone(), stop.clone(), acked.clone(), tally.clone());
            tasks.push(tokio::spawn(async move {
                let mut client = server.ingest().await;
                for b in 0u64.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let ids: Vec<String> = (0..50).map(|i| format!("r{round}w{w}b{b}i{i}")).collect();
                    let batch = ids.iter().map(|id| mention(id, "acme router outage soak")).collect();
                    let result = client.ingest(IngestRequest { mentions: batch, wait_searchable: false }).await;
                    tally.lock().expect("lock").record("Ingest", &result);
                    match result {
                        Ok(r) => acked.lock().expect("lock").extend(r.into_inner().results.into_iter().map(|r| r.id)),
                        Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                            tokio::time::sleep(Duration::from_millis(200)).await
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            }));
        }
        for r in 0..2 {
            let (server, stop, tally) = (server.clone(), stop.clone(), tally.clone());
            tasks.push(tokio::spawn(async move {
                let mut search = server.search().await;
                let mut insights = InsightsServiceClient::new(server.channel().await);
                while !stop.load(Ordering::Relaxed) {
                    let s = search
                        .search(SearchRequest { query: "acme AND outage".into(), page_size: 20, ..Default::default() })
                        .await;
                    tally.lock().expect("lock").record("Search", &s);
                    let c = search.count(CountRequest { query: "router".into(), ..Default::default() }).await;
                    tally.lock().expect("lock").record("Count", &c);
                    if r == 0 {
                        let now = earshot_tests::now_secs();
                        let at = |s: i64| Some(prost_types::Timestamp { seconds: s, nanos: 0 });
                        let scope = Some(InsightScope {
                            query: "acme".into(),
                            from: at(now - 2 * 86_400),
                            to: at(now + 3600),
                            ..Default::default()
                        });
                        let v = insights.volume(VolumeRequest { scope, ..Default::default() }).await;
                        tally.lock().expect("lock").record("Volume", &v);
                    }
                }
            }));
        }
        tokio::time::sleep(cycle).await;
        peak = peak.max(peak_rss_mib(server.pid()));
        // Killed mid-traffic: the calls in flight fail (counted), nothing acknowledged may be lost.
        stop.store(true, Ordering::Relaxed);
        let pid = server.pid().to_string();
        let killed = std::process::Command::new("kill").args(["-9", &pid]).status().expect("kill");
        assert!(killed.success());
        for t in tasks {
            let _ = t.await;
        }
        drop(server);
        eprintln!("cycle {round}: {} acknowledged so far", acked.lock().expect("lock").len());
    }
    let server = Sandbox::start_in(dir.path(), flags).await;
    let mut ingest = server.ingest().await;
    ingest
        .ingest(IngestRequest { mentions: vec![mention("final-marker", "marker")], wait_searchable: true })
        .await
        .expect("marker");
    // Every mention, through the export stream (paging stops at 100,000 results).
    let mut export = ExportServiceClient::new(server.channel().await);
    let request = ExportRequest { query: "soak".into(), chunk_size: 1000, ..Default::default() };
    let mut chunks = export.export(request).await.expect("export").into_inner();
    let mut found = Vec::new();
    while let Some(chunk) = chunks.message().await.expect("export chunk") {
        found.extend(chunk.mentions.into_iter().map(|m| m.id));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in &found {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    let missing = acked.iter().filter(|id| !seen.contains_key(id.as_str())).count();
    let doubled = seen.values().filter(|n| **n > 1).count();
    peak = peak.max(peak_rss_mib(server.pid()));
    let tally = std::mem::take(&mut *tally.lock().expect("lock"));
    println!(
        "soak: {cycles} cycles of {}s, kill -9 at the end of each, model {}",
        cycle.as_secs(),
        if model { "on" } else { "off" }
    );
    println!("wall: {:.0} s", started.elapsed().as_secs_f64());
    for (what, n) in &tally.calls {
        println!("calls {what}: {n}");
    }
    if tally.errors.is_empty() {
        println!("errors: none");
    }
    for (what, n) in &tally.errors {
        println!("errors {what}: {n}");
    }
    println!("acknowledged: {} · found: {} · missing: {missing} · found twice: {doubled}", acked.len(), found.len());
    println!("peak RSS of the server: {peak:.0} MiB");
    assert_eq!((missing, doubled), (0, 0), "acknowledged mentions lost or doubled");
    assert!(server.stop().await);
}
