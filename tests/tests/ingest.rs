//! Ingest → search through the real binary: per-item results, idempotence, restart, bad input.

use earshot_proto::v1::{CountRequest, IngestRequest, IngestStatus, Mention, SearchRequest};
use earshot_tests::{all_ids, mention, now_secs, Sandbox};
use tonic::Code;

fn request(mentions: Vec<Mention>) -> IngestRequest {
    IngestRequest { mentions, wait_searchable: true }
}

#[tokio::test]
async fn ingested_mentions_are_found_by_search() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &[]).await;
    let mut ingest = server.ingest().await;
    let batch = vec![
        mention("a1", "The Acme battery died after two hours"),
        mention("a2", "Acme support fixed my login problem"),
        mention("a3", "Unrelated chatter about the weather"),
    ];
    let response = ingest.ingest(request(batch)).await.expect("ingest").into_inner();
    assert_eq!((response.accepted, response.duplicates, response.rejected), (3, 0, 0));
    assert!(response.searchable);

    let mut search = server.search().await;
    let mut ids = all_ids(&mut search, "acme").await;
    ids.sort();
    assert_eq!(ids, vec!["a1", "a2"]);
    let hit = search
        .search(SearchRequest { query: "battery".into(), highlight: true, ..Default::default() })
        .await
        .expect("search")
        .into_inner();
    assert_eq!(hit.total, 1);
    assert!(hit.hits[0].highlight.contains("<b>battery</b>"), "{}", hit.hits[0].highlight);
    let count = search.count(CountRequest { query: "weather".into(), ..Default::default() }).await.expect("count");
    assert_eq!(count.into_inner().count, 1);
    assert!(server.stop().await, "clean exit on SIGTERM");
}

#[tokio::test]
async fn duplicate_ids_are_stored_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &[]).await;
    let mut ingest = server.ingest().await;
    let first = ingest
        .ingest(request(vec![mention("d1", "first copy"), mention("d1", "same id in the same batch")]))
        .await
        .expect("ingest")
        .into_inner();
    let statuses: Vec<i32> = first.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![IngestStatus::Accepted as i32, IngestStatus::Duplicate as i32]);
    let again = ingest.ingest(request(vec![mention("d1", "sent again later")])).await.expect("ingest").into_inner();
    assert_eq!(again.duplicates, 1);
    // Through the streaming RPC too.
    let stream = futures::stream::iter(vec![request(vec![mention("d1", "streamed"), mention("d2", "new")])]);
    let mut responses = ingest.ingest_stream(stream).await.expect("stream").into_inner();
    let streamed = responses.message().await.expect("message").expect("one response");
    assert_eq!((streamed.accepted, streamed.duplicates), (1, 1));

    let mut search = server.search().await;
    let ids = all_ids(&mut search, "").await;
    assert_eq!(ids.iter().filter(|i| *i == "d1").count(), 1);
    let stored = search.search(SearchRequest { query: "copy".into(), ..Default::default() }).await.expect("search");
    assert_eq!(stored.into_inner().total, 1, "the first copy is the one kept");
    // Same id in another tenant is a different mention.
    let mut other = tonic::Request::new(request(vec![mention("d1", "tenant b's own d1")]));
    other.metadata_mut().insert("x-earshot-tenant", "tenant-b".parse().expect("header"));
    assert_eq!(ingest.ingest(other).await.expect("ingest").into_inner().accepted, 1);
    assert_eq!(all_ids(&mut search, "").await.len(), 2, "tenant b's mention is not visible to the default tenant");
    assert!(server.stop().await);
}

#[tokio::test]
async fn mixed_batch_gets_per_item_results_and_good_items_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &[]).await;
    let mut ingest = server.ingest().await;
    let mut no_time = mention("b3", "no timestamp");
    no_time.created_at = None;
    let mut future = mention("b4", "from the future");
    future.created_at = Some(prost_types::Timestamp { seconds: now_secs() + 7 * 86400, nanos: 0 });
    let mut bad_lang = mention("b5", "bad language");
    bad_lang.language = "klingon".into();
    let batch = vec![
        mention("b1", "good one"),
        mention("", "no id"),
        no_time,
        future,
        bad_lang,
        mention("b6", &"x".repeat(70 * 1024)),
        mention("b7", "   "),
        mention("b8", "good two"),
    ];
    let response = ingest.ingest(request(batch)).await.expect("ingest").into_inner();
    let got: Vec<(u32, i32, &str)> = response.results.iter().map(|r| (r.index, r.status, r.field.as_str())).collect();
    let (ok, rej) = (IngestStatus::Accepted as i32, IngestStatus::Rejected as i32);
    assert_eq!(
        got,
        vec![
            (0, ok, ""),
            (1, rej, "id"),
            (2, rej, "created_at"),
            (3, rej, "created_at"),
            (4, rej, "language"),
            (5, rej, "text"),
            (6, rej, "text"),
            (7, ok, ""),
        ]
    );
    assert!(response.results.iter().filter(|r| r.status == rej).all(|r| !r.reason.is_empty()));
    let mut search = server.search().await;
    let mut ids = all_ids(&mut search, "").await;
    ids.sort();
    assert_eq!(ids, vec!["b1", "b8"]);

    let oversized: Vec<Mention> = (0..1001).map(|i| mention(&format!("o{i}"), "bulk")).collect();
    let status = ingest.ingest(request(oversized)).await.expect_err("too large");
    assert_eq!(status.code(), Code::ResourceExhausted);
    let bad_query = search.search(SearchRequest { page_size: 5000, ..Default::default() }).await;
    assert_eq!(bad_query.expect_err("page too large").code(), Code::InvalidArgument);
    let bad_tenant = {
        let mut r = tonic::Request::new(request(vec![mention("t", "x")]));
        r.metadata_mut().insert("x-earshot-tenant", "Not A Tenant".parse().expect("header"));
        ingest.ingest(r).await
    };
    assert_eq!(bad_tenant.expect_err("bad tenant").code(), Code::InvalidArgument);
    assert!(server.stop().await);
}

#[tokio::test]
async fn restart_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &[]).await;
    let mut ingest = server.ingest().await;
    for b in 0..5 {
        let batch = (0..200).map(|i| mention(&format!("r{b}-{i}"), "restart survivor")).collect();
        // Not waiting for searchability: a clean stop must commit what is only in the log.
        ingest.ingest(IngestRequest { mentions: batch, wait_searchable: false }).await.expect("ingest");
    }
    assert!(server.stop().await);
    let server = Sandbox::start_in(dir.path(), &[]).await;
    let mut search = server.search().await;
    let count = search.count(CountRequest { query: "survivor".into(), ..Default::default() }).await.expect("count");
    assert_eq!(count.into_inner().count, 1000);
    let mut ingest = server.ingest().await;
    let again = ingest.ingest(request(vec![mention("r0-0", "after restart")])).await.expect("ingest");
    assert_eq!(again.into_inner().duplicates, 1, "dedupe survives restarts");
    assert!(server.stop().await);
}
