//! Live sources end to end: the real `earshot serve` polls a local replay server (`earshot_tests::replay`)
//! that answers with the recorded real payloads of `fixtures/sources`; what the sources store is read
//! back through gRPC Search. Covers: new items arriving, the feed's conditional GET, a 429 with
//! `Retry-After` honoured (asserted on the replay server's request times), a dropped connection
//! retried, Bluesky and Reddit (OAuth client credentials) polling, secrets kept out of `ListSources`,
//! the same key, role and tenant gate as every service (and the JSON API), bad specs refused naming
//! their field, Jetstream over a websocket resumed with its cursor after a dropped connection,
//! a `kill -9` mid-poll that loses nothing and duplicates nothing after the restart, and with Redis
//! exactly one replica polling a source (the lease) until it hands it over.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use earshot_proto::v1::source_service_client::SourceServiceClient;
use earshot_proto::v1::{AddSourceRequest, ListSourcesRequest, PauseSourceRequest, Source, SourceKind, SourceSpec};
use earshot_tests::redis::RedisServer;
use earshot_tests::replay::{Recorded, Replay, Reply, WsReplay};
use earshot_tests::{all_ids, create_key, http_post, with_key, Sandbox};
use serde_json::Value;
use tonic::transport::Channel;

const DEADLINE: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sources").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn sources(server: &Sandbox) -> SourceServiceClient<Channel> {
    SourceServiceClient::new(server.channel().await)
}

async fn add(server: &Sandbox, spec: SourceSpec) -> Source {
    let request = AddSourceRequest { spec: Some(SourceSpec { poll_interval_ms: 100, ..spec }) };
    sources(server).await.add_source(request).await.expect("add source").into_inner()
}

async fn list(server: &Sandbox) -> Vec<Source> {
    sources(server).await.list_sources(ListSourcesRequest {}).await.expect("list").into_inner().sources
}

/// Ids stored under `prefix`, waiting (polling the index until `DEADLINE`) until there are `n` of them.
async fn wait_ids(server: &Sandbox, prefix: &str, n: usize) -> Vec<String> {
    let mut search = server.search().await;
    let start = Instant::now();
    loop {
        let ids: Vec<String> = all_ids(&mut search, "").await.into_iter().filter(|id| id.starts_with(prefix)).collect();
        if ids.len() >= n {
            return ids;
        }
        assert!(start.elapsed() < DEADLINE, "{prefix}: {} of {n} stored after {DEADLINE:?}: {ids:?}", ids.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `check` holds for the tenant's sources.
async fn wait_sources(server: &Sandbox, what: &str, check: impl Fn(&[Source]) -> bool) -> Vec<Source> {
    let start = Instant::now();
    loop {
        let got = list(server).await;
        if check(&got) {
            return got;
        }
        assert!(start.elapsed() < DEADLINE, "{what}: {got:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_feed_is_polled_with_etags_and_new_entries_arrive() {
    let replay = Replay::start(|r: &Recorded| {
        if r.header("if-none-match") == Some("\"v1\"") {
            return Reply::Respond(304, vec![], vec![]);
        }
        let mut reply = Reply::ok("application/rss+xml", fixture("feeds/news.rss"));
        if let Reply::Respond(_, headers, _) = &mut reply {
            headers.push(("etag".into(), "\"v1\"".into()));
        }
        reply
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let url = format!("{}/news.rss", replay.base);
    add(&server, SourceSpec { kind: SourceKind::Feed as i32, name: "news".into(), url, ..Default::default() }).await;
    let ids = wait_ids(&server, "news:", 2).await;
    assert_eq!(ids.len(), 2, "{ids:?}");
    let seen = replay.wait_requests(3, DEADLINE).await;
    assert!(seen[0].header("if-none-match").is_none());
    assert!(seen[1..].iter().all(|r| r.header("if-none-match") == Some("\"v1\"")), "conditional after the first");

    // The feed changes: its new entries arrive.
    replay.set_handler(|_| Reply::ok("application/atom+xml", fixture("feeds/blog.atom")));
    wait_ids(&server, "news:", 4).await;
    let state = wait_sources(&server, "four stored", |s| s[0].state.as_ref().is_some_and(|st| st.mentions_total == 4))
        .await[0]
        .state
        .clone()
        .expect("state");
    assert!(state.running && state.last_error.is_empty() && state.last_item_at.is_some(), "{state:?}");
    let metrics = earshot_tests::scrape(&server.metrics).await;
    assert!(metrics.contains("earshot_source_polls_total{source=\"default/src-1\",outcome=\"ok\"}"), "{metrics}");
}

#[tokio::test]
async fn mastodon_survives_a_dropped_connection_and_honours_retry_after() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let replay = Replay::start(move |r: &Recorded| match seen.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::Drop,
        1 => Reply::Respond(429, vec![("retry-after".into(), "1".into())], b"{}".to_vec()),
        _ if r.param("min_id").is_some() => Reply::ok("application/json", "[]"),
        _ => Reply::ok("application/json", fixture("mastodon/statuses.json")),
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let spec = SourceSpec {
        kind: SourceKind::Mastodon as i32,
        name: "rust".into(),
        url: replay.base.clone(),
        query: "#rust".into(),
        secret: "mastodon-token-s3cret".into(),
        ..Default::default()
    };
    add(&server, spec).await;
    wait_ids(&server, "mastodon:", 6).await;
    let requests = replay.wait_requests(4, DEADLINE).await;
    assert!(requests.iter().all(|r| r.path() == "/api/v1/timelines/tag/rust"), "{requests:#?}");
    assert!(requests.iter().all(|r| r.header("authorization") == Some("Bearer mastodon-token-s3cret")));
    let waited = requests[2].at - requests[1].at;
    assert!(waited >= Duration::from_secs(1), "the request after a 429 with Retry-After: 1 came {waited:?} later");
    let newest = "117440841601474392";
    assert_eq!(requests[3].param("min_id").as_deref(), Some(newest), "pages forward from the newest status");

    let listed = wait_sources(&server, "recovered", |s| {
        s[0].state.as_ref().is_some_and(|st| st.errors_total >= 2 && st.last_error.is_empty())
    })
    .await;
    assert!(listed[0].has_secret);
    assert!(!format!("{listed:?}").contains("s3cret"), "no secret in ListSources: {listed:?}");
    let stored = std::fs::read_to_string(dir.path().join("sources.json")).expect("sources.json");
    assert!(stored.contains("s3cret"), "the secret is stored with the source");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("sources.json")).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let audit = std::fs::read_to_string(dir.path().join("audit/audit.jsonl")).unwrap_or_default();
    assert!(audit.contains("AddSource") && !audit.contains("s3cret"), "audited without the secret: {audit}");
}

#[tokio::test]
async fn bluesky_search_and_reddit_with_client_credentials() {
    let replay = Replay::start(|r: &Recorded| match r.path() {
        "/xrpc/app.bsky.feed.searchPosts" => Reply::ok("application/json", fixture("bluesky/search_posts.json")),
        "/api/v1/access_token" => {
            // Basic base64("app-id:reddit-s3cret").
            if r.header("authorization") != Some("Basic YXBwLWlkOnJlZGRpdC1zM2NyZXQ=") {
                return Reply::Respond(401, vec![], vec![]);
            }
            Reply::ok("application/json", r#"{"access_token":"tok-1","token_type":"bearer","expires_in":3600}"#)
        }
        "/r/rust/search" if r.header("authorization") == Some("Bearer tok-1") => {
            Reply::ok("application/json", fixture("reddit/search.json"))
        }
        _ => Reply::Respond(404, vec![], vec![]),
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let bluesky = SourceSpec {
        kind: SourceKind::Bluesky as i32,
        name: "bsky".into(),
        url: replay.base.clone(),
        query: "bluesky".into(),
        ..Default::default()
    };
    add(&server, bluesky).await;
    let reddit = SourceSpec {
        kind: SourceKind::Reddit as i32,
        name: "reddit".into(),
        url: replay.base.clone(),
        token_url: format!("{}/api/v1/access_token", replay.base),
        query: "earshot".into(),
        subreddit: "rust".into(),
        client_id: "app-id".into(),
        secret: "reddit-s3cret".into(),
        ..Default::default()
    };
    add(&server, reddit).await;
    wait_ids(&server, "bluesky:", 4).await;
    wait_ids(&server, "reddit:", 3).await;
    let requests = replay.requests();
    let search = requests.iter().find(|r| r.path() == "/r/rust/search").expect("a Reddit search");
    assert_eq!((search.param("q").as_deref(), search.param("restrict_sr").as_deref()), (Some("earshot"), Some("1")));
    let tokens = requests.iter().filter(|r| r.path() == "/api/v1/access_token").count();
    assert_eq!(tokens, 1, "the token is kept until it expires");
    let later = wait_sources(&server, "bluesky resumed", |_| {
        replay.requests().iter().any(|r| r.path().contains("searchPosts") && r.param("since").is_some())
    })
    .await;
    assert!(!format!("{later:?}").contains("s3cret"));
}

/// The statuses of the recorded timeline, oldest first, and the mention ids each one gives.
fn timeline() -> Vec<(String, Value, Vec<String>)> {
    let all: Vec<Value> = serde_json::from_slice(&fixture("mastodon/statuses.json")).expect("statuses");
    let mut statuses: Vec<(String, Value, Vec<String>)> = all
        .into_iter()
        .map(|s| {
            let id = s["id"].as_str().expect("id").to_owned();
            let mut ids = vec![format!("mastodon:{id}")];
            if let Some(inner) = s["reblog"]["id"].as_str() {
                ids.push(format!("mastodon:{inner}"));
            }
            (id, s, ids)
        })
        .collect();
    statuses.sort_by(|a, b| (a.0.len(), &a.0).cmp(&(b.0.len(), &b.0)));
    statuses
}

/// A live timeline: the first `revealed` statuses exist; `min_id` answers those after it, newest first.
fn live(revealed: Arc<AtomicUsize>, hold: Arc<AtomicUsize>) -> impl FnMut(&Recorded) -> Reply + Send + 'static {
    let statuses = timeline();
    move |r: &Recorded| {
        if hold.load(Ordering::SeqCst) == 1 {
            return Reply::Hold;
        }
        let shown = &statuses[..revealed.load(Ordering::SeqCst)];
        let after = |id: &String| r.param("min_id").is_none_or(|m| (id.len(), id) > (m.len(), &m));
        let page: Vec<&Value> = shown.iter().rev().filter(|(id, _, _)| after(id)).map(|(_, s, _)| s).collect();
        Reply::ok("application/json", serde_json::to_vec(&page).expect("json"))
    }
}

#[tokio::test]
async fn kill_9_mid_poll_loses_nothing_and_duplicates_nothing() {
    let statuses = timeline();
    let expected: BTreeSet<String> = statuses.iter().flat_map(|(_, _, ids)| ids.clone()).collect();
    let first: usize = statuses[..2].iter().map(|(_, _, ids)| ids.len()).sum();
    let (revealed, hold) = (Arc::new(AtomicUsize::new(2)), Arc::new(AtomicUsize::new(0)));
    let replay = Replay::start(live(revealed.clone(), hold.clone())).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = SourceSpec {
        kind: SourceKind::Mastodon as i32,
        name: "tl".into(),
        url: replay.base.clone(),
        ..Default::default()
    };

    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    add(&server, spec).await;
    wait_ids(&server, "mastodon:", first).await;
    // Wait for a poll that resumes after the stored statuses (the checkpoint is saved), then hold the next one.
    let newest_first = statuses[1].0.clone();
    let resumed = |rs: &[Recorded]| rs.iter().filter(|r| r.param("min_id").as_ref() == Some(&newest_first)).count();
    while resumed(&replay.requests()) < 1 {
        let n = replay.requests().len();
        replay.wait_requests(n + 1, DEADLINE).await;
    }
    hold.store(1, Ordering::SeqCst);
    let before = replay.requests().len();
    replay.wait_requests(before + 1, DEADLINE).await;
    // A poll is in flight (held); the rest of the timeline appears; the server dies.
    revealed.store(statuses.len(), Ordering::SeqCst);
    server.kill9().await;

    hold.store(0, Ordering::SeqCst);
    let restarted_at = replay.requests().len();
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let ids = wait_ids(&server, "mastodon:", expected.len()).await;
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique, expected, "nothing lost");
    assert_eq!(ids.len(), unique.len(), "nothing stored twice: {ids:?}");
    let after_restart = &replay.requests()[restarted_at..];
    assert_eq!(after_restart[0].param("min_id"), Some(newest_first.clone()), "resumed from the checkpoint");

    // A crash between the store and the checkpoint re-reads what was stored: dedupe drops it. Forced
    // here by removing the checkpoint: the whole timeline comes again, and nothing is stored twice.
    server.kill9().await;
    std::fs::remove_file(dir.path().join("sources/src-1.checkpoint.json")).expect("remove checkpoint");
    let replayed_from = replay.requests().len();
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let polled_twice = |s: &[Source]| s[0].state.as_ref().is_some_and(|st| st.last_poll_at.is_some());
    wait_sources(&server, "polled after the restart", polled_twice).await;
    replay.wait_requests(replayed_from + 2, DEADLINE).await;
    assert!(replay.requests()[replayed_from].param("min_id").is_none(), "started over without a checkpoint");
    let listed = list(&server).await;
    assert_eq!(listed[0].state.as_ref().map(|s| s.mentions_total), Some(0), "all duplicates: {listed:?}");
    let ids = all_ids(&mut server.search().await, "").await;
    assert_eq!(ids.len(), expected.len(), "nothing stored twice: {ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_exactly_one_replica_runs_a_source() {
    let redis = RedisServer::start().await;
    let replay = Replay::start(|_: &Recorded| Reply::ok("application/rss+xml", fixture("feeds/news.rss"))).await;
    let (dir_a, dir_b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let url = redis.url();
    let replica = |role: &'static str, name: &'static str| {
        vec!["--no-classifier", "--redis-url", url.as_str(), "--role", role, "--redis-consumer", name]
    };
    let services = ["earshot.v1.IngestService", "earshot.v1.SearchService"];
    let a = Sandbox::start_serving(dir_a.path(), &replica("all", "a"), None, &services).await;
    let b = Sandbox::start_serving(dir_b.path(), &replica("gateway", "b"), None, &services[..1]).await;
    let url = format!("{}/news.rss", replay.base);
    let spec = SourceSpec { kind: SourceKind::Feed as i32, name: "News".into(), url, ..Default::default() };
    add(&a, spec.clone()).await;
    wait_ids(&a, "news:", 2).await;

    // The same source on a second replica waits while the first holds the lease, however often it polls.
    add(&b, SourceSpec { name: "news".into(), ..spec }).await;
    wait_sources(&b, "b stands by", |s| s[0].state.as_ref().is_some_and(|st| st.standby)).await;
    let seen = replay.requests().len();
    replay.wait_requests(seen + 5, DEADLINE).await;
    let b_state = list(&b).await[0].state.clone().expect("state");
    assert!(b_state.standby && b_state.last_poll_at.is_none(), "b never polled: {b_state:?}");

    // Paused on the first replica, the source hands its lease back and the second takes over.
    let pause = PauseSourceRequest { source: "news".into() };
    sources(&a).await.pause_source(pause).await.expect("pause");
    let took_over = |s: &[Source]| s[0].state.as_ref().is_some_and(|st| !st.standby && st.last_poll_at.is_some());
    let b_state = wait_sources(&b, "b took over", took_over).await[0].state.clone().expect("state");
    assert_eq!(b_state.mentions_total, 0, "b's first poll stored only duplicates: {b_state:?}");
    let ids = all_ids(&mut a.search().await, "").await;
    assert_eq!(ids.len(), 2, "what b read again was dropped by the shared dedupe: {ids:?}");
}

#[tokio::test]
async fn jetstream_resumes_from_its_cursor_after_a_dropped_connection() {
    // Jetstream sends events in time order; the recorded events are a sample, so order them.
    let mut events: Vec<(i64, String)> = String::from_utf8(fixture("bluesky/jetstream.jsonl"))
        .expect("utf-8")
        .lines()
        .map(|l| (serde_json::from_str::<Value>(l).expect("event")["time_us"].as_i64().expect("time_us"), l.to_owned()))
        .collect();
    events.sort();
    let cut = 12;
    let cursor_at_cut = events[cut - 1].0;
    let script = move |connection: usize, uri: &str| {
        if connection == 0 {
            // The first connection drops after `cut` events.
            return (events[..cut].iter().map(|(_, l)| l.clone()).collect(), true);
        }
        let cursor: i64 = uri.split("cursor=").nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (events.iter().filter(|(t, _)| *t >= cursor).map(|(_, l)| l.clone()).collect(), false)
    };
    let ws = WsReplay::start(script).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let spec = SourceSpec {
        kind: SourceKind::Jetstream as i32,
        name: "firehose".into(),
        url: ws.url.clone(),
        ..Default::default()
    };
    add(&server, spec).await;
    let ids = wait_ids(&server, "bluesky:", 5).await;
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (5, 5), "every post once: {ids:?}");
    let connections = ws.wait_connections(2, DEADLINE).await;
    assert!(connections[0].contains("wantedCollections=app.bsky.feed.post") && !connections[0].contains("cursor"));
    assert!(connections[1].ends_with(&format!("cursor={cursor_at_cut}")), "resumed: {connections:?}");
}

#[tokio::test]
async fn sources_are_per_tenant_behind_the_role_gate_and_over_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, a_analyst) = create_key(dir.path(), "tenant-a", "analyst");
    let (_, a_cmo) = create_key(dir.path(), "tenant-a", "cmo");
    let (_, b_analyst) = create_key(dir.path(), "tenant-b", "analyst");
    let flags = ["--no-classifier", "--auth", "keys", "--http-listen", "127.0.0.1:0"];
    let server = Sandbox::start_in(dir.path(), &flags).await;
    let mut client = sources(&server).await;
    let spec = SourceSpec {
        kind: SourceKind::Feed as i32,
        name: "news".into(),
        url: "http://127.0.0.1:9/feed.xml".into(),
        poll_interval_ms: 60_000,
        ..Default::default()
    };
    let add = |spec: SourceSpec| AddSourceRequest { spec: Some(spec) };
    let denied = client.add_source(with_key(add(spec.clone()), &a_cmo)).await.expect_err("cmo may not add");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let bad = SourceSpec { url: "file:///etc/passwd".into(), ..spec.clone() };
    let refused = client.add_source(with_key(add(bad), &a_analyst)).await.expect_err("bad url");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("spec.url"), "{}", refused.message());
    client.add_source(with_key(add(spec.clone()), &a_analyst)).await.expect("analyst adds");
    let again = client.add_source(with_key(add(spec), &a_analyst)).await.expect_err("same name");
    assert_eq!(again.code(), tonic::Code::AlreadyExists);

    let listed = |key: &str| with_key(ListSourcesRequest {}, key);
    let seen_by_cmo = client.list_sources(listed(&a_cmo)).await.expect("cmo lists").into_inner().sources;
    assert_eq!(seen_by_cmo.len(), 1);
    let seen_by_b = client.list_sources(listed(&b_analyst)).await.expect("b lists").into_inner().sources;
    assert!(seen_by_b.is_empty(), "another tenant's sources are not visible: {seen_by_b:?}");
    let pause = PauseSourceRequest { source: "news".into() };
    let missing = client.pause_source(with_key(pause, &b_analyst)).await.expect_err("not b's");
    assert_eq!(missing.code(), tonic::Code::NotFound);

    // The JSON API transcodes the new service like every other.
    let auth = format!("Bearer {a_cmo}");
    let (status, body) =
        http_post(&server.web, "/api/earshot.v1.SourceService/ListSources", &[("authorization", &auth)], "{}").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"name\":\"news\"") && body.contains("SOURCE_KIND_FEED"), "{body}");
}
