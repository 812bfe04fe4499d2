//! Saved topics and query validation through the real binary.

use earshot_proto::v1::topic_service_client::TopicServiceClient;
use earshot_proto::v1::{
    CountRequest, CreateTopicRequest, GetTopicRequest, IngestRequest, ListTopicsRequest, SearchRequest,
    UpdateTopicRequest, ValidateRequest,
};
use earshot_tests::{mention, Sandbox};
use tonic::Code;

fn as_tenant<T>(message: T, tenant: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut().insert("x-earshot-tenant", tenant.parse().expect("header"));
    r
}

#[tokio::test]
async fn topics_are_saved_validated_expanded_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let mut ingest = server.ingest().await;
    let batch = vec![
        mention("t1", "Acme is down again, cannot log in"),
        mention("t2", "Acme outage for the second time today"),
        mention("t3", "Globex is down too"),
        mention("t4", "Acme launched a new phone"),
    ];
    ingest.ingest(IngestRequest { mentions: batch, wait_searchable: true }).await.expect("ingest");

    let mut topics = TopicServiceClient::new(server.channel().await);
    let outages =
        CreateTopicRequest { name: "Outages".into(), query: "down OR outage".into(), description: String::new() };
    let created = topics.create_topic(outages.clone()).await.expect("create").into_inner();
    assert!(!created.id.is_empty());
    assert_eq!(topics.create_topic(outages).await.expect_err("dup").code(), Code::AlreadyExists);
    let bad =
        CreateTopicRequest { name: "Bad".into(), query: "acme AND down OR outage".into(), description: String::new() };
    assert_eq!(topics.create_topic(bad).await.expect_err("mixed").code(), Code::InvalidArgument);

    let mut search = server.search().await;
    let by_topic = search
        .search(SearchRequest { topic: "outages".into(), page_size: 10, ..Default::default() })
        .await
        .expect("search by topic")
        .into_inner();
    assert_eq!(by_topic.total, 3);
    let nested = search
        .count(CountRequest { query: "acme AND topic:\"Outages\"".into(), ..Default::default() })
        .await
        .expect("count")
        .into_inner();
    assert_eq!(nested.count, 2);
    let both =
        search.search(SearchRequest { query: "acme".into(), topic: "Outages".into(), ..Default::default() }).await;
    assert_eq!(both.expect_err("query and topic").code(), Code::InvalidArgument);

    let problems = search
        .validate(ValidateRequest { query: "complain* AND (a OR b".into() })
        .await
        .expect("validate")
        .into_inner();
    assert!(!problems.valid);
    assert!(problems.problems.iter().all(|p| p.start <= p.end && p.end as usize <= 22));
    let ok = search.validate(ValidateRequest { query: "acme NEAR/3 down".into() }).await.expect("validate");
    assert!(ok.into_inner().valid);

    // Another tenant sees none of it.
    let other = topics.list_topics(as_tenant(ListTopicsRequest {}, "tenant-b")).await.expect("list").into_inner();
    assert!(other.topics.is_empty());
    let get = topics.get_topic(as_tenant(GetTopicRequest { topic: created.id.clone() }, "tenant-b")).await;
    assert_eq!(get.expect_err("other tenant").code(), Code::NotFound);

    let update = UpdateTopicRequest { topic: "Outages".into(), query: "down".into(), ..Default::default() };
    topics.update_topic(update).await.expect("update");
    assert!(server.stop().await);

    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let mut topics = TopicServiceClient::new(server.channel().await);
    let kept = topics.get_topic(GetTopicRequest { topic: "Outages".into() }).await.expect("kept").into_inner();
    assert_eq!(kept.query, "down");
    let mut search = server.search().await;
    let count = search.count(CountRequest { topic: kept.id, ..Default::default() }).await.expect("count");
    assert_eq!(count.into_inner().count, 2);
    assert!(server.stop().await);
}
