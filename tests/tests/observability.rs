//! Metrics and the audit trail through the real binary: `/metrics` counters move by exactly what a
//! call did, and a search is audited with who, what and how many.

use earshot_proto::v1::{IngestRequest, Mention, SearchRequest};
use earshot_tests::{create_key, mention, with_key, Sandbox};

use earshot_tests::{metric_value as value, scrape};

#[tokio::test]
async fn metrics_count_ingests_and_calls_and_searches_are_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key_id, key) = create_key(dir.path(), "acme", "analyst");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier", "--auth", "keys"]).await;
    assert!(!server.metrics.is_empty(), "the metrics address is printed");
    let before = scrape(&server.metrics).await;

    // 3 accepted, 1 duplicate (same id twice), 1 rejected (no id).
    let batch: Vec<Mention> = vec![
        mention("m1", "acme one"),
        mention("m2", "acme two"),
        mention("m3", "three"),
        mention("m1", "again"),
        mention("", "no id"),
    ];
    let mut ingest = server.ingest().await;
    ingest.ingest(with_key(IngestRequest { mentions: batch, wait_searchable: true }, &key)).await.expect("ingest");
    let unauthenticated =
        ingest.ingest(IngestRequest { mentions: vec![mention("x", "x")], wait_searchable: false }).await;
    assert_eq!(unauthenticated.expect_err("no key").code(), tonic::Code::Unauthenticated);
    let search = SearchRequest { query: "acme".into(), ..Default::default() };
    let found = server.search().await.search(with_key(search, &key)).await.expect("search").into_inner();
    assert_eq!(found.total, 2);

    let after = scrape(&server.metrics).await;
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(delta("earshot_ingest_mentions_total{kind=\"accepted\"}"), 3.0);
    assert_eq!(delta("earshot_ingest_mentions_total{kind=\"duplicate\"}"), 1.0);
    assert_eq!(delta("earshot_ingest_mentions_total{kind=\"rejected\"}"), 1.0);
    assert_eq!(delta("earshot_ingest_batch_size_count"), 1.0);
    assert_eq!(delta("earshot_ingest_batch_size_sum"), 5.0);
    let ingest_ok = "earshot_rpc_requests_total{method=\"/earshot.v1.IngestService/Ingest\",code=\"Ok\"}";
    assert_eq!(delta(ingest_ok), 1.0);
    let ingest_denied =
        "earshot_rpc_requests_total{method=\"/earshot.v1.IngestService/Ingest\",code=\"Unauthenticated\"}";
    assert_eq!(delta(ingest_denied), 1.0);
    assert_eq!(delta("earshot_rpc_duration_seconds_count{method=\"/earshot.v1.SearchService/Search\"}"), 1.0);
    // wait_searchable returned after the commit that holds the 3 accepted mentions.
    assert!(delta("earshot_index_committed_docs_total") >= 3.0, "{after}");
    assert!(after.contains("earshot_index_queue_depth"));

    // The trail has the search: who, what, how many, and the refused call without a key.
    let trail = std::fs::read_to_string(dir.path().join("audit/audit.jsonl")).expect("audit trail");
    let lines: Vec<serde_json::Value> = trail.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    let searched = lines.iter().find(|l| l["method"] == "/earshot.v1.SearchService/Search").expect("search audited");
    assert_eq!(searched["key_id"], key_id.as_str());
    assert_eq!(searched["tenant"], "acme");
    assert_eq!(searched["query"], "acme");
    assert_eq!(searched["results"], 2);
    assert_eq!(searched["code"], "Ok");
    assert!(lines.iter().any(|l| l["code"] == "Unauthenticated" && l["key_id"] == ""));
    assert!(server.stop().await);
}
