//! The shared ingest queue against a real `redis-server`: replicas split the work and index every
//! acknowledged mention exactly once; a worker killed while holding work loses nothing (its entries are
//! reclaimed); Redis killed and restarted mid-run loses nothing acknowledged and ingest resumes by itself.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use earshot_proto::v1::ingest_service_client::IngestServiceClient;
use earshot_proto::v1::{CountRequest, IngestRequest};
use earshot_tests::redis::RedisServer;
use earshot_tests::{all_ids, mention, Sandbox, ServingStatus};
use tokio::sync::Notify;
use tonic::transport::Channel;

const INGEST: &str = "earshot.v1.IngestService";
const SEARCH: &str = "earshot.v1.SearchService";
/// Longest wait for the index to catch up before a test fails.
const CATCH_UP: Duration = Duration::from_secs(40);

/// Starts a replica on `redis` with `role` and consumer name `consumer`.
async fn replica(dir: &Path, redis: &RedisServer, role: &str, consumer: &str, extra: &[&str]) -> Sandbox {
    let url = redis.url();
    let mut args = vec!["--no-classifier", "--redis-url", &url, "--role", role, "--redis-consumer", consumer];
    args.extend_from_slice(extra);
    let services: &[&str] = if role.contains("indexer") || role == "all" { &[INGEST, SEARCH] } else { &[INGEST] };
    Sandbox::start_serving(dir, &args, None, services).await
}

/// Ingests `batches` batches of `size` fresh ids `{prefix}{n}`; every one must be accepted.
async fn ingest_fresh(
    client: &mut IngestServiceClient<Channel>,
    prefix: &str,
    batches: usize,
    size: usize,
) -> Vec<String> {
    let mut acked = Vec::new();
    for b in 0..batches {
        let ids: Vec<String> = (0..size).map(|i| format!("{prefix}{}", b * size + i)).collect();
        let request = IngestRequest {
            mentions: ids.iter().map(|id| mention(id, "shared queue")).collect(),
            wait_searchable: false,
        };
        let response = client.ingest(request).await.expect("ingest").into_inner();
        assert_eq!(response.accepted as usize, size, "fresh ids are accepted");
        acked.extend(ids);
    }
    acked
}

/// Waits until search on the index owner finds every acknowledged id, then checks none is there twice.
async fn assert_indexed_exactly_once(owner: &Sandbox, acked: &HashSet<String>) {
    let mut search = owner.search().await;
    let deadline = Instant::now() + CATCH_UP;
    let ids = loop {
        let ids = all_ids(&mut search, "").await;
        let found: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let missing: Vec<&String> = acked.iter().filter(|id| !found.contains(id.as_str())).collect();
        if missing.is_empty() {
            break ids;
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged mentions never indexed, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut times: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *times.entry(id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(twice.is_empty(), "indexed more than once: {twice:?}");
}

/// Mentions each worker handed on, as counted in Redis by the hand-off script.
async fn worked(redis: &RedisServer) -> HashMap<String, u64> {
    let mut conn = redis.connection().await;
    redis::cmd("HGETALL").arg("earshot:stats:worked").query_async(&mut conn).await.expect("HGETALL")
}

/// Ingest-stream entries delivered to `consumer` and not yet handed on.
async fn pending_of(redis: &RedisServer, consumer: &str) -> usize {
    let mut conn = redis.connection().await;
    let entries: Vec<redis::Value> = redis::cmd("XPENDING")
        .arg("earshot:ingest")
        .arg("workers")
        .arg("-")
        .arg("+")
        .arg(10_000)
        .arg(consumer)
        .query_async(&mut conn)
        .await
        .expect("XPENDING");
    entries.len()
}

/// Whether `consumer`'s worker connection is blocked in Redis waiting for entries.
async fn worker_blocked(redis: &RedisServer, consumer: &str) -> bool {
    let mut conn = redis.connection().await;
    let clients: String = redis::cmd("CLIENT").arg("LIST").query_async(&mut conn).await.expect("CLIENT LIST");
    let name = format!("name=earshot-worker:{consumer} ");
    clients.lines().any(|l| l.contains(&name) && l.contains(" flags=b ") && l.contains("cmd=xreadgroup"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_split_the_work_and_index_each_mention_once() {
    let redis = RedisServer::start().await;
    let (dir_a, dir_b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let a = replica(dir_a.path(), &redis, "all", "a", &[]).await;
    let b = replica(dir_b.path(), &redis, "gateway,worker", "b", &[]).await;

    // Four writers at once, two through each gateway.
    let (batches, size) = (30, 10);
    let mut writers = Vec::new();
    for (w, server) in [&a, &b, &a, &b].into_iter().enumerate() {
        let mut client = server.ingest().await;
        writers.push(tokio::spawn(async move { ingest_fresh(&mut client, &format!("w{w}-"), batches, size).await }));
    }
    let mut acked = HashSet::new();
    for w in writers {
        acked.extend(w.await.expect("writer"));
    }
    assert_eq!(acked.len(), 4 * batches * size);

    // Dedupe is shared: what went through gateway a is a duplicate at gateway b.
    let mut via_b = b.ingest().await;
    let again = (0..size).map(|i| mention(&format!("w0-{i}"), "sent again elsewhere")).collect();
    let response = via_b.ingest(IngestRequest { mentions: again, wait_searchable: false }).await.expect("ingest");
    assert_eq!(response.into_inner().duplicates as usize, size);

    // wait_searchable through a gateway that has no index waits for the owner's commit.
    let marked = IngestRequest { mentions: vec![mention("via-b", "zebracorn sighting")], wait_searchable: true };
    let response = via_b.ingest(marked).await.expect("ingest").into_inner();
    assert!(response.searchable);
    acked.insert("via-b".to_owned());
    let mut search = a.search().await;
    let count = search.count(CountRequest { query: "zebracorn".into(), ..Default::default() }).await.expect("count");
    assert_eq!(count.into_inner().count, 1, "searchable on the owner once the gateway said so");

    assert_indexed_exactly_once(&a, &acked).await;
    let worked = worked(&redis).await;
    let (by_a, by_b) = (worked.get("a").copied().unwrap_or(0), worked.get("b").copied().unwrap_or(0));
    assert!(by_a > 0 && by_b > 0, "both workers took a share: {worked:?}");
    assert_eq!(by_a + by_b, acked.len() as u64, "every stored mention was worked on exactly once");
    assert!(b.stop().await);
    assert!(a.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_nothing() {
    let redis = RedisServer::start().await;
    let (dir_a, dir_b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let a = replica(dir_a.path(), &redis, "all", "a", &["--redis-claim-idle-ms", "300"]).await;
    let b = replica(dir_b.path(), &redis, "gateway,worker", "b", &[]).await;
    let mut client = a.ingest().await;
    let mut acked: HashSet<String> = HashSet::new();

    // Freeze b while it waits for entries, then add batches until Redis has delivered one to it: b now
    // holds work it will never finish.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut round = 0;
    'frozen: loop {
        assert!(Instant::now() < deadline, "worker b never took a batch");
        b.signal("STOP");
        if worker_blocked(&redis, "b").await {
            while worker_blocked(&redis, "b").await {
                acked.extend(ingest_fresh(&mut client, &format!("r{round}-"), 1, 10).await);
                round += 1;
                if pending_of(&redis, "b").await > 0 {
                    break 'frozen;
                }
            }
            if pending_of(&redis, "b").await > 0 {
                break 'frozen;
            }
        }
        b.signal("CONT");
        tokio::task::yield_now().await;
    }
    let held = pending_of(&redis, "b").await;
    b.kill9().await;

    // Work keeps arriving after the death; a reclaims what b held.
    acked.extend(ingest_fresh(&mut client, "after-", 10, 10).await);
    assert_indexed_exactly_once(&a, &acked).await;
    assert_eq!(pending_of(&redis, "b").await, 0, "the {held} entries b held were reclaimed");
    let worked = worked(&redis).await;
    assert_eq!(worked.values().sum::<u64>(), acked.len() as u64, "{worked:?}");
    assert!(a.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_loses_nothing_acknowledged() {
    let mut redis = RedisServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let a = replica(dir.path(), &redis, "all", "a", &[]).await;
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Notify::new());

    let mut writers = Vec::new();
    for w in 0..2 {
        let mut client = a.ingest().await;
        let (acked, stop, progress) = (acked.clone(), stop.clone(), progress.clone());
        writers.push(tokio::spawn(async move {
            let mut failures = 0usize;
            for n in 0u64.. {
                if stop.load(Ordering::SeqCst) {
                    return failures;
                }
                let ids: Vec<String> = (0..10).map(|i| format!("w{w}-{n}-{i}")).collect();
                let request = IngestRequest {
                    mentions: ids.iter().map(|id| mention(id, "outage")).collect(),
                    wait_searchable: false,
                };
                match client.ingest(request).await {
                    Ok(response) => {
                        assert_eq!(response.into_inner().accepted, 10, "fresh ids are accepted");
                        acked.lock().expect("lock").extend(ids);
                        progress.notify_waiters();
                    }
                    Err(status) => {
                        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                        failures += 1;
                        // Back off as a client would; the outage is timed by the test, not by this.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            failures
        }));
    }
    let acked_count = || acked.lock().expect("lock").len();
    let wait_acks = |at_least: usize| {
        let progress = progress.clone();
        let acked = acked.clone();
        async move {
            let reached = async {
                while acked.lock().expect("lock").len() < at_least {
                    progress.notified().await;
                }
            };
            tokio::time::timeout(CATCH_UP, reached).await.expect("writers kept getting acknowledgements");
        }
    };
    wait_acks(300).await;

    redis.kill9();
    a.wait_health(INGEST, ServingStatus::NotServing).await;
    let mut client = a.ingest().await;
    let refused = client
        .ingest(IngestRequest { mentions: vec![mention("during-outage", "x")], wait_searchable: false })
        .await
        .expect_err("no ack without Redis");
    assert_eq!(refused.code(), tonic::Code::Unavailable);
    assert!(refused.metadata().get("retry-after").is_some(), "UNAVAILABLE carries retry-after");

    let before_restart = acked_count();
    redis.restart().await;
    a.wait_serving(INGEST).await;
    // Ingest resumes by itself: the writers get acknowledgements again.
    wait_acks(before_restart + 300).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();
    assert_indexed_exactly_once(&a, &acked).await;
    assert!(a.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_owner_killed_mid_run_indexes_each_mention_once() {
    let redis = RedisServer::start().await;
    let (dir_a, dir_b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let owner = replica(dir_a.path(), &redis, "all", "a", &[]).await;
    let gateway = replica(dir_b.path(), &redis, "gateway,worker", "b", &[]).await;
    let mut client = gateway.ingest().await;
    let mut acked: HashSet<String> = HashSet::new();
    acked.extend(ingest_fresh(&mut client, "before-", 20, 10).await);
    // Killed while it has read labelled batches it may not have committed (or acknowledged) yet.
    owner.kill9().await;
    // The gateway keeps acknowledging while the owner is gone; the work waits in Redis.
    acked.extend(ingest_fresh(&mut client, "while-down-", 20, 10).await);
    let owner = replica(dir_a.path(), &redis, "all", "a", &[]).await;
    acked.extend(ingest_fresh(&mut client, "after-", 10, 10).await);
    assert_indexed_exactly_once(&owner, &acked).await;
    assert!(gateway.stop().await);
    assert!(owner.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_come_from_the_worker_replica() {
    const POSITIVE: &str = "I absolutely love this phone, best purchase I have made all year!";
    const NEGATIVE: &str = "Worst customer service ever. Two hours on hold and still no refund. Never again.";
    let redis = RedisServer::start().await;
    let url = redis.url();
    let (dir_a, dir_b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    // The owner has no model and does no classification; the only worker is b, which has the model.
    let owner = replica(dir_a.path(), &redis, "gateway,indexer", "a", &[]).await;
    let worker_args = ["--redis-url", &url, "--role", "worker", "--redis-consumer", "b"];
    let worker = Sandbox::start_serving(dir_b.path(), &worker_args, None, &["earshot.v1.ClassifyService"]).await;
    let mut ingest = owner.ingest().await;
    let batch = vec![mention("p1", POSITIVE), mention("n1", NEGATIVE), mention("n2", NEGATIVE)];
    let response = ingest.ingest(IngestRequest { mentions: batch, wait_searchable: true }).await.expect("ingest");
    assert!(response.into_inner().searchable);
    let mut search = owner.search().await;
    let count = |query: &str| CountRequest { query: query.into(), ..Default::default() };
    assert_eq!(search.count(count("sentiment:negative")).await.expect("count").into_inner().count, 2);
    assert_eq!(search.count(count("sentiment:positive")).await.expect("count").into_inner().count, 1);
    assert_eq!(worked(&redis).await.get("b").copied(), Some(3));
    assert!(worker.stop().await);
    assert!(owner.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_index_owner_at_a_time() {
    let redis = RedisServer::start().await;
    let (dir_a, dir_c) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let a = replica(dir_a.path(), &redis, "all", "a", &[]).await;
    // A second indexer cannot take the lease: it feeds nothing, so its search is not SERVING.
    let url = redis.url();
    let args = ["--no-classifier", "--redis-url", &url, "--role", "indexer", "--redis-consumer", "c"];
    let c = Sandbox::start_serving(dir_c.path(), &args, None, &[]).await;
    let mut conn = redis.connection().await;
    let holder: String = redis::cmd("GET").arg("earshot:index-owner").query_async(&mut conn).await.expect("GET");
    assert_eq!(holder, "a");
    // a stops cleanly and hands the lease back; c takes over and becomes SERVING.
    assert!(a.stop().await);
    c.wait_serving(SEARCH).await;
    let holder: String = redis::cmd("GET").arg("earshot:index-owner").query_async(&mut conn).await.expect("GET");
    assert_eq!(holder, "c");
    assert!(c.stop().await);
}
