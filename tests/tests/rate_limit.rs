//! Per-caller rate limits through the real binary: over the limit a call gets RESOURCE_EXHAUSTED with
//! retry-after; with Redis the limit is shared by replicas; health checks are never limited.

use earshot_proto::v1::search_service_client::SearchServiceClient;
use earshot_proto::v1::CountRequest;
use earshot_tests::redis::RedisServer;
use earshot_tests::Sandbox;
use tonic::transport::Channel;
use tonic::{Code, Request};

/// One call per 10 s after a burst of 2: the test's own pace cannot refill a bucket.
const LIMIT: [&str; 4] = ["--rate-limit-per-sec", "0.1", "--rate-limit-burst", "2"];

async fn count(client: &mut SearchServiceClient<Channel>, tenant: &str) -> Result<u64, tonic::Status> {
    let mut request = Request::new(CountRequest { query: "x".into(), ..Default::default() });
    request.metadata_mut().insert("x-earshot-tenant", tenant.parse().expect("tenant header"));
    client.count(request).await.map(|r| r.into_inner().count)
}

fn assert_limited(result: Result<u64, tonic::Status>) {
    let status = result.expect_err("over the limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let after: f64 = status
        .metadata()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("retry-after in seconds");
    assert!(after > 0.0 && after <= 10.0, "retry-after {after}");
}

#[tokio::test]
async fn over_the_limit_is_resource_exhausted_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = vec!["--no-classifier"];
    args.extend(LIMIT);
    let server = Sandbox::start_in(dir.path(), &args).await;
    let mut search = server.search().await;
    assert!(count(&mut search, "acme").await.is_ok());
    assert!(count(&mut search, "acme").await.is_ok());
    assert_limited(count(&mut search, "acme").await);
    assert!(count(&mut search, "globex").await.is_ok(), "each caller has its own limit");
    // Health is not an earshot.v1 call: never limited.
    server.wait_serving("earshot.v1.SearchService").await;
    assert!(server.stop().await);
}

#[tokio::test]
async fn replicas_share_one_limit_through_redis() {
    let redis = RedisServer::start().await;
    let url = redis.url();
    let (dir_a, dir_b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let mut args = vec!["--no-classifier", "--redis-url", &url];
    args.extend(LIMIT);
    let a = Sandbox::start_in(dir_a.path(), &[&args[..], &["--role", "all", "--redis-consumer", "a"]].concat()).await;
    // b has no index of its own, so it serves no search; the limit applies to any earshot.v1 call.
    let b = Sandbox::start_serving(
        dir_b.path(),
        &[&args[..], &["--role", "gateway,worker", "--redis-consumer", "b"]].concat(),
        None,
        &["earshot.v1.IngestService"],
    )
    .await;
    let mut search_a = a.search().await;
    assert!(count(&mut search_a, "acme").await.is_ok());
    let mut search_b = SearchServiceClient::new(b.channel().await);
    // b's call counts against the shared bucket even though b answers it with UNIMPLEMENTED.
    let on_b = count(&mut search_b, "acme").await.expect_err("b serves no search");
    assert_eq!(on_b.code(), Code::Unimplemented);
    assert_limited(count(&mut search_a, "acme").await);
    assert_limited(count(&mut search_b, "acme").await);
    assert!(a.stop().await);
    assert!(b.stop().await);
}
