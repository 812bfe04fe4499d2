//! What a hostile but fair operator found, through the real binary: a damaged log is refused (and
//! salvaged only when asked), made-up paths do not grow `/metrics`, reads wait for the replay, a stream
//! stores nothing after its failure, ingest pushes back when indexing falls behind, and a second server
//! on the same data is refused before it listens.

use earshot_proto::v1::{CountRequest, IngestRequest, IngestStatus};
use earshot_tests::{mention, metric_value, scrape, serve_refused, Sandbox};
use tonic::Code;

/// Ingests `n` mentions `prefix0…` in batches of `batch`, without waiting for search.
async fn ingest_n(server: &Sandbox, prefix: &str, n: usize, batch: usize) {
    let mut ingest = server.ingest().await;
    for start in (0..n).step_by(batch) {
        let mentions =
            (start..(start + batch).min(n)).map(|i| mention(&format!("{prefix}{i}"), "acme router")).collect();
        let response = ingest.ingest(IngestRequest { mentions, wait_searchable: false }).await.expect("ingest");
        assert_eq!(response.into_inner().accepted as usize, batch.min(n - start));
    }
}

async fn count(server: &Sandbox, query: &str) -> Result<u64, tonic::Status> {
    let mut search = server.search().await;
    search.count(CountRequest { query: query.into(), ..Default::default() }).await.map(|r| r.into_inner().count)
}

/// The newest log segment of a data folder.
fn newest_segment(data_dir: &std::path::Path) -> std::path::PathBuf {
    let mut segments: Vec<_> = std::fs::read_dir(data_dir.join("wal"))
        .expect("wal dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segments.sort();
    segments.pop().expect("a segment")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_in_the_newest_segment_is_refused_and_salvaged_only_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No index commit before the kill: every mention is only in the log.
    let server = Sandbox::start_in(dir.path(), &["--no-classifier", "--commit-interval-ms", "3600000"]).await;
    ingest_n(&server, "w", 1000, 100).await;
    server.kill9().await;

    let segment = newest_segment(dir.path());
    let mut bytes = std::fs::read(&segment).expect("read segment");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&segment, &bytes).expect("flip a byte");

    let (status, _, stderr) = serve_refused(dir.path(), &[]).await;
    assert!(!status.success(), "a damaged log must not be served: {stderr}");
    let name = segment.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(stderr.contains(name) && stderr.contains("--wal-salvage"), "names the segment and the way out: {stderr}");
    assert_eq!(std::fs::read(&segment).expect("read"), bytes, "a refused start leaves the files as they were");

    let server = Sandbox::start_in(dir.path(), &["--no-classifier", "--wal-salvage"]).await;
    let found = count(&server, "").await.expect("count");
    assert!((998..1000).contains(&found), "all but the damaged record are kept: {found}");
    let aside = std::fs::read_dir(dir.path().join("wal"))
        .expect("wal dir")
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with("damaged-"));
    assert!(aside, "the damaged files are kept aside");
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_paths_do_not_grow_the_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let channel = server.channel().await;
    let call = |path: String| {
        let channel = channel.clone();
        async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready().await.expect("ready");
            let codec = tonic_prost::ProstCodec::<(), ()>::default();
            let path = http::uri::PathAndQuery::try_from(path).expect("path");
            grpc.unary(tonic::Request::new(()), path, codec).await.expect_err("no such method").code()
        }
    };
    assert_eq!(call("/earshot.v1.SearchService/Nope0".into()).await, Code::Unimplemented);
    let baseline = scrape(&server.metrics).await.len();
    for i in 0..2000 {
        let path =
            if i % 2 == 0 { format!("/earshot.v1.SearchService/Nope{i}") } else { format!("/made.up.Service{i}/M") };
        call(path).await;
    }
    let after = scrape(&server.metrics).await;
    assert!(after.len() < baseline + 2048, "scrape grew from {baseline} to {} bytes", after.len());
    let unknown = metric_value(&after, "earshot_rpc_requests_total{method=\"unknown\",code=\"Unimplemented\"}");
    assert!(unknown >= 2000.0, "made-up calls are still counted, under one label: {unknown}");
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_answer_unavailable_until_the_replay_is_searchable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier", "--commit-interval-ms", "3600000"]).await;
    ingest_n(&server, "r", 20_000, 1000).await;
    server.kill9().await;
    // Indexing 20,000 replayed mentions takes seconds; ingest is served at once, so reads meet it.
    let server = Sandbox::start_serving(dir.path(), &["--no-classifier"], None, &["earshot.v1.IngestService"]).await;
    let mut unavailable = 0;
    loop {
        match count(&server, "").await {
            Ok(n) => {
                assert_eq!(n, 20_000, "an OK count is the whole count");
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(status.metadata().get("retry-after").is_some(), "with a retry hint");
                unavailable += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
    assert!(unavailable > 0, "the replay window was not observed");
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_stores_nothing_after_a_batch_that_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier", "--max-batch", "50"]).await;
    let batch = |prefix: &str, n: usize| IngestRequest {
        mentions: (0..n).map(|i| mention(&format!("{prefix}{i}"), "stream test")).collect(),
        wait_searchable: false,
    };
    let requests = vec![batch("a", 10), batch("b", 51), batch("c", 10), batch("d", 10)];
    let mut ingest = server.ingest().await;
    let mut responses = ingest.ingest_stream(tokio_stream::iter(requests)).await.expect("stream").into_inner();
    let first = responses.message().await.expect("first answer").expect("first batch acknowledged");
    assert_eq!(first.accepted, 10);
    let failure = responses.message().await.expect_err("the oversized batch ends the stream");
    assert_eq!(failure.code(), Code::ResourceExhausted, "{failure:?}");
    // Anything stored now would be stored without an acknowledgement.
    let mut wait = server.ingest().await;
    wait.ingest(IngestRequest { mentions: vec![mention("marker", "marker")], wait_searchable: true })
        .await
        .expect("marker");
    assert_eq!(count(&server, "stream").await.expect("count"), 10);
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_pushes_back_when_indexing_falls_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The model labels a few hundred texts a second here; acknowledgements are instant.
    let services = ["earshot.v1.IngestService", "earshot.v1.SearchService", "earshot.v1.ClassifyService"];
    let server = Sandbox::start_serving(dir.path(), &["--max-backlog", "300"], None, &services).await;
    let mut ingest = server.ingest().await;
    let mut accepted = 0;
    let mut pushed_back = 0;
    for b in 0..10 {
        let mentions = (0..200).map(|i| mention(&format!("p{b}-{i}"), "acme is down again")).collect();
        match ingest.ingest(IngestRequest { mentions, wait_searchable: false }).await {
            Ok(r) => accepted += r.into_inner().accepted,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(status.message().contains("behind"), "{}", status.message());
                assert!(status.metadata().get("retry-after").is_some());
                pushed_back += 1;
            }
        }
    }
    assert!(pushed_back > 0, "2,000 mentions at once are more than a backlog of 300");
    let metrics = scrape(&server.metrics).await;
    assert_eq!(metric_value(&metrics, "earshot_ingest_backlog_limit"), 300.0);
    // What was acknowledged becomes searchable, and the backlog drains: a client that honours the
    // retry hint gets through.
    loop {
        let last = IngestRequest { mentions: vec![mention("last", "down")], wait_searchable: true };
        match ingest.ingest(last).await {
            Ok(_) => break,
            Err(status) if status.code() == Code::ResourceExhausted => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    assert_eq!(count(&server, "acme").await.expect("count"), u64::from(accepted));
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_data_is_refused_before_it_listens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let (status, stdout, stderr) = serve_refused(dir.path(), &[]).await;
    assert!(!status.success());
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert!(stderr.contains(&dir.path().display().to_string()) && stderr.contains("in use"), "{stderr}");
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_invalid_argument_with_bounded_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    // Field 1 (`mentions`) sent as a number: not a valid IngestRequest.
    #[derive(Clone, PartialEq, prost::Message)]
    struct NotAnIngestRequest {
        #[prost(uint64, tag = "1")]
        mentions: u64,
    }
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<NotAnIngestRequest, earshot_proto::v1::IngestResponse>::default();
    let path = http::uri::PathAndQuery::from_static("/earshot.v1.IngestService/Ingest");
    let status =
        grpc.unary(tonic::Request::new(NotAnIngestRequest { mentions: 7 }), path, codec).await.expect_err("bad");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // A rejected field never echoes more than a bounded piece of its value.
    let mut long = mention("long", "text");
    long.language = "x".repeat(100_000);
    let mut ingest = server.ingest().await;
    let response = ingest.ingest(IngestRequest { mentions: vec![long], wait_searchable: false }).await.expect("ingest");
    let result = &response.into_inner().results[0];
    assert_eq!(result.status, IngestStatus::Rejected as i32);
    assert_eq!(result.field, "language");
    assert!(result.reason.len() < 200, "{}", result.reason);
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_query_is_refused_with_a_short_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let huge = vec!["w"; 1_000_000].join(" OR ");
    let status = count(&server, &huge).await.expect_err("over the limit");
    assert_eq!(status.code(), Code::InvalidArgument, "{}", &status.message()[..status.message().len().min(300)]);
    assert!(status.message().contains("at most 16384 bytes"), "{}", status.message());
    assert!(status.message().len() < 400, "the answer does not echo the query: {} bytes", status.message().len());
    let terms = (0..1100).map(|i| format!("t{i}")).collect::<Vec<_>>().join(" OR ");
    let status = count(&server, &terms).await.expect_err("too many terms");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("at most 1024"), "{}", status.message());
    assert!(server.stop().await);
}
