//! The durability promise under `kill -9`: a client ingests without pause while the server is killed
//! several times; after each restart every acknowledged mention is searchable exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use earshot_proto::v1::{IngestRequest, IngestStatus};
use earshot_tests::{all_ids, mention, Sandbox};
use tokio::sync::Notify;

/// Acked mentions after which the server is killed in each round.
const ACKS_BEFORE_KILL: usize = 600;
const ROUNDS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_mentions_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut next_id = 0u64;
    for round in 0..ROUNDS {
        let server = Sandbox::start_in(dir.path(), &[]).await;
        let so_far = acked.lock().expect("lock").clone();
        verify(&server, &so_far, round).await;

        // Several concurrent writers so that kills land in the middle of group commits.
        let reached = Arc::new(Notify::new());
        let round_acks = Arc::new(Mutex::new(0usize));
        let mut writers = Vec::new();
        for w in 0..4 {
            let mut client = server.ingest().await;
            let acked = acked.clone();
            let reached = reached.clone();
            let round_acks = round_acks.clone();
            let start = next_id + w * 1_000_000;
            writers.push(tokio::spawn(async move {
                for b in 0u64.. {
                    let ids: Vec<String> = (0..25).map(|i| format!("m{}", start + b * 25 + i)).collect();
                    let batch = ids.iter().map(|id| mention(id, "crash test payload")).collect();
                    let request = IngestRequest { mentions: batch, wait_searchable: false };
                    let Ok(response) = client.ingest(request).await else { return };
                    let response = response.into_inner();
                    let mut acked = acked.lock().expect("lock");
                    for r in response.results {
                        assert_eq!(r.status, IngestStatus::Accepted as i32, "fresh ids are accepted");
                        acked.insert(r.id);
                    }
                    let mut n = round_acks.lock().expect("lock");
                    *n += 25;
                    if *n >= ACKS_BEFORE_KILL {
                        reached.notify_one();
                    }
                }
            }));
        }
        next_id += 100_000_000;
        reached.notified().await;
        server.kill9().await;
        for w in writers {
            w.await.expect("writer");
        }
    }
    let server = Sandbox::start_in(dir.path(), &[]).await;
    let all = acked.lock().expect("lock").clone();
    verify(&server, &all, ROUNDS).await;
    assert!(acked.lock().expect("lock").len() >= ROUNDS * ACKS_BEFORE_KILL);
    assert!(server.stop().await);
}

/// Every acked id is searchable exactly once, and nothing at all is indexed twice.
async fn verify(server: &Sandbox, acked: &HashSet<String>, round: usize) {
    // A mention ingested with wait_searchable is committed after everything replayed before it.
    let mut ingest = server.ingest().await;
    let marker = format!("marker-{round}");
    let request = IngestRequest { mentions: vec![mention(&marker, "marker")], wait_searchable: true };
    ingest.ingest(request).await.expect("marker");
    let mut search = server.search().await;
    let ids = all_ids(&mut search, "").await;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "indexed more than once after round {round}: {twice:?}");
    let missing: Vec<_> = acked.iter().filter(|id| !seen.contains_key(id.as_str())).take(10).collect();
    assert!(missing.is_empty(), "acknowledged but lost after round {round}: {missing:?}");
}
