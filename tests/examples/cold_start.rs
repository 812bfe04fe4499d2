//! Cold start of a fresh server with the sentiment model: time from spawning `earshot serve` (on an empty
//! data folder) until ingest, search and the classifier all answer SERVING, then one labelled mention made
//! searchable, and the server's peak RSS (VmHWM). Repeats and prints each run and the median.
//!
//! ```sh
//! EARSHOT_BIN=target/release/earshot cargo run -p earshot-tests --example cold_start -- [runs, default 5]
//! ```

use std::time::{Duration, Instant};

use earshot_proto::v1::IngestRequest;
use earshot_tests::{mention, peak_rss_mib, Sandbox};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5).max(1);
    let services = ["earshot.v1.IngestService", "earshot.v1.SearchService", "earshot.v1.ClassifyService"];
    let (mut serving, mut labelled, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        let dir = tempfile::tempdir().expect("temp dir");
        let started = Instant::now();
        let server = Sandbox::start_serving(dir.path(), &[], None, &services).await;
        let ready = started.elapsed();
        let mut ingest = server.ingest().await;
        let text = "Der Kundenservice war wirklich großartig, danke!";
        let request = IngestRequest { mentions: vec![mention("cold-1", text)], wait_searchable: true };
        let reply = ingest.ingest(request).await.expect("ingest").into_inner();
        assert!(reply.searchable, "the mention was not made searchable");
        let first = started.elapsed();
        let peak = peak_rss_mib(server.pid());
        println!("run {run}: SERVING after {ready:.2?}, first labelled mention searchable after {first:.2?}, peak RSS {peak:.0} MiB");
        serving.push(ready);
        labelled.push(first);
        rss.push(peak);
        assert!(server.stop().await, "the server did not stop cleanly");
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    rss.sort_by(f64::total_cmp);
    println!(
        "median of {runs}: SERVING {:.2?}, first labelled mention searchable {:.2?}, peak RSS {:.0} MiB",
        median(&mut serving),
        median(&mut labelled),
        rss[rss.len() / 2]
    );
}
