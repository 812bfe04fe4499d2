//! Tenant isolation and roles through the real binary with `--auth keys`: a key of tenant A never
//! reads, counts, aggregates, searches by topic, sees topics, alert rules or KPIs of, or erases tenant B's data; roles decide which RPCs
//! a key may call; no key or a revoked key is UNAUTHENTICATED.

use std::collections::BTreeSet;

use earshot_proto::v1::governance_service_client::GovernanceServiceClient;
use earshot_proto::v1::ingest_service_client::IngestServiceClient;
use earshot_proto::v1::insights_service_client::InsightsServiceClient;
use earshot_proto::v1::kpi_service_client::KpiServiceClient;
use earshot_proto::v1::search_service_client::SearchServiceClient;
use earshot_proto::v1::topic_service_client::TopicServiceClient;
use earshot_proto::v1::{
    AlertRule, DeleteAlertRuleRequest, GetKpiRequest, IngestKpiRequest, InsightScope, KpiPoint, ListAlertRulesRequest,
    ListKpisRequest, SentimentSummaryRequest, TopAuthorsRequest, VolumeRequest,
};
use earshot_proto::v1::{
    Author, ClassifyRequest, CountRequest, CreateTopicRequest, EraseAuthorRequest, GetTopicRequest, IngestRequest,
    ListTopicsRequest, Mention, SearchRequest, WhoAmIRequest,
};
use earshot_tests::{create_key, keys_command, mention, with_key, Sandbox};
use tonic::transport::Channel;
use tonic::Code;

fn by(id: &str, text: &str, handle: &str) -> Mention {
    Mention { author: Some(Author { handle: handle.into(), ..Default::default() }), ..mention(id, text) }
}

async fn ids(search: &mut SearchServiceClient<Channel>, key: &str, query: &str) -> BTreeSet<String> {
    let request = SearchRequest { query: query.into(), page_size: 100, ..Default::default() };
    let response = search.search(with_key(request, key)).await.expect("search").into_inner();
    response.hits.into_iter().filter_map(|h| h.mention.map(|m| m.id)).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// Scope of the last day around the test's mentions.
fn scope(query: &str) -> Option<InsightScope> {
    let now = earshot_tests::now_secs();
    let at = |s| Some(prost_types::Timestamp { seconds: s, nanos: 0 });
    Some(InsightScope { query: query.into(), from: at(now - 86_400), to: at(now + 3600), ..Default::default() })
}

/// Handles of the authors insights report for `key` (the same request each time, so a cached answer
/// would be returned if the cache outlived an erasure).
async fn authors(insights: &mut InsightsServiceClient<Channel>, key: &str) -> BTreeSet<String> {
    let request = TopAuthorsRequest { scope: scope("acme"), limit: 10 };
    let response = insights.top_authors(with_key(request, key)).await.expect("top authors").into_inner();
    response.by_mentions.into_iter().map(|a| a.handle).collect()
}

async fn volume(insights: &mut InsightsServiceClient<Channel>, key: &str, query: &str) -> u64 {
    let request = VolumeRequest { scope: scope(query), ..Default::default() };
    insights.volume(with_key(request, key)).await.expect("volume").into_inner().total
}

async fn count(search: &mut SearchServiceClient<Channel>, key: &str, query: &str) -> Result<u64, Code> {
    let request = CountRequest { query: query.into(), ..Default::default() };
    search.count(with_key(request, key)).await.map(|r| r.into_inner().count).map_err(|s| s.code())
}

#[tokio::test]
async fn keys_confine_every_call_to_their_tenant_and_roles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, a_analyst) = create_key(dir.path(), "tenant-a", "analyst");
    let (a_cmo_id, a_cmo) = create_key(dir.path(), "tenant-a", "cmo");
    let (_, b_admin) = create_key(dir.path(), "tenant-b", "admin");
    let (_, b_analyst) = create_key(dir.path(), "tenant-b", "analyst,cio");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier", "--auth", "keys"]).await;
    let channel = server.channel().await;
    let mut ingest = IngestServiceClient::new(channel.clone());
    let mut search = SearchServiceClient::new(channel.clone());
    let mut topics = TopicServiceClient::new(channel.clone());
    let mut governance = GovernanceServiceClient::new(channel.clone());

    // No key, a malformed key, a well-formed key nobody issued: UNAUTHENTICATED.
    let batch = |ms: Vec<Mention>| IngestRequest { mentions: ms, wait_searchable: true };
    let no_key = ingest.ingest(batch(vec![mention("x", "nobody")])).await.expect_err("no key");
    assert_eq!(no_key.code(), Code::Unauthenticated);
    for bad in ["garbage", &format!("esk_000000000000_{}", "0".repeat(64))] {
        let status = ingest.ingest(with_key(batch(vec![mention("x", "bad")]), bad)).await.expect_err("bad key");
        assert_eq!(status.code(), Code::Unauthenticated, "{bad}");
    }

    // The same author handle and words in both tenants.
    let a_batch = vec![by("a1", "acme outage in berlin", "bob"), by("a2", "acme is great", "alice")];
    ingest.ingest(with_key(batch(a_batch), &a_analyst)).await.expect("ingest a");
    // A tenant header naming A is ignored: the key decides.
    let mut spoof =
        with_key(batch(vec![by("b1", "acme outage here too", "bob"), by("b2", "acme rocks", "carol")]), &b_analyst);
    spoof.metadata_mut().insert("x-earshot-tenant", "tenant-a".parse().expect("header"));
    ingest.ingest(spoof).await.expect("ingest b");

    assert_eq!(ids(&mut search, &a_cmo, "acme").await, set(&["a1", "a2"]));
    assert_eq!(ids(&mut search, &b_analyst, "acme").await, set(&["b1", "b2"]));
    assert_eq!(count(&mut search, &a_cmo, "outage").await, Ok(1));
    assert_eq!(count(&mut search, &b_analyst, "berlin").await, Ok(0));

    // Topics: A's topic is invisible to B in list, get, search by topic and topic: in a query.
    let outages = CreateTopicRequest { name: "Outages".into(), query: "outage".into(), description: String::new() };
    let topic = topics.create_topic(with_key(outages, &a_analyst)).await.expect("create").into_inner();
    let listed = topics.list_topics(with_key(ListTopicsRequest {}, &b_analyst)).await.expect("list").into_inner();
    assert!(listed.topics.is_empty());
    let get = topics.get_topic(with_key(GetTopicRequest { topic: topic.id.clone() }, &b_admin)).await;
    assert_eq!(get.expect_err("other tenant's topic").code(), Code::NotFound);
    let by_topic = SearchRequest { topic: topic.id.clone(), ..Default::default() };
    assert_eq!(
        search.search(with_key(by_topic, &b_admin)).await.expect_err("topic of A").code(),
        Code::InvalidArgument
    );
    assert!(count(&mut search, &b_admin, "topic:\"Outages\"").await.is_err());
    assert_eq!(count(&mut search, &a_cmo, "topic:\"Outages\"").await, Ok(1));

    // Roles: a CMO reads but does not ingest, classify, edit topics or erase.
    let denied =
        ingest.ingest(with_key(batch(vec![mention("c1", "cmo writes")]), &a_cmo)).await.expect_err("cmo ingest");
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.message().contains("analyst"), "says which role is needed: {}", denied.message());
    let mut classify = earshot_proto::v1::classify_service_client::ClassifyServiceClient::new(channel.clone());
    let classify_denied =
        classify.classify(with_key(ClassifyRequest::default(), &a_cmo)).await.expect_err("cmo classify");
    assert_eq!(classify_denied.code(), Code::PermissionDenied);
    let edit = CreateTopicRequest { name: "Mine".into(), query: "acme".into(), description: String::new() };
    assert_eq!(
        topics.create_topic(with_key(edit, &a_cmo)).await.expect_err("cmo edits").code(),
        Code::PermissionDenied
    );
    let erase = |handle: &str| EraseAuthorRequest { author_handle: handle.into(), ..Default::default() };
    let not_admin = governance.erase_author(with_key(erase("bob"), &a_analyst)).await.expect_err("analyst erases");
    assert_eq!(not_admin.code(), Code::PermissionDenied);
    assert!(not_admin.message().contains("admin"), "{}", not_admin.message());

    // Insights aggregate the caller's tenant only; CIOs read them too; alert rules and KPIs are per tenant.
    let mut insights = InsightsServiceClient::new(channel.clone());
    let mut kpis = KpiServiceClient::new(channel.clone());
    let (_, a_cio) = create_key(dir.path(), "tenant-a", "cio");
    assert_eq!((volume(&mut insights, &a_cmo, "acme").await, volume(&mut insights, &b_analyst, "acme").await), (2, 2));
    assert_eq!(volume(&mut insights, &a_cio, "berlin").await, 1);
    assert_eq!(volume(&mut insights, &b_admin, "berlin").await, 0);
    assert_eq!(authors(&mut insights, &a_cmo).await, set(&["alice", "bob"]));
    assert_eq!(authors(&mut insights, &b_analyst).await, set(&["bob", "carol"]));
    let summary = SentimentSummaryRequest { scope: scope("topic:\"Outages\"") };
    let other = insights.sentiment_summary(with_key(summary.clone(), &b_analyst)).await;
    assert!(other.is_err(), "B cannot aggregate through A's topic");
    let own = insights.sentiment_summary(with_key(summary, &a_cmo)).await.expect("summary").into_inner();
    assert_eq!(own.current.map(|c| c.positive + c.neutral + c.negative + c.unclassified), Some(1));
    let rule = AlertRule { topic: topic.id.clone(), enabled: true, ..Default::default() };
    let b_rule = insights.put_alert_rule(with_key(rule.clone(), &b_analyst)).await;
    assert!(b_rule.is_err(), "B cannot watch A's topic");
    assert_eq!(
        insights.put_alert_rule(with_key(rule.clone(), &a_cmo)).await.expect_err("cmo").code(),
        Code::PermissionDenied
    );
    let a_rule = insights.put_alert_rule(with_key(rule, &a_analyst)).await.expect("rule").into_inner();
    let listed = insights.list_alert_rules(with_key(ListAlertRulesRequest {}, &b_admin)).await.expect("list");
    assert!(listed.into_inner().rules.is_empty());
    let delete = DeleteAlertRuleRequest { id: a_rule.id.clone() };
    let deleted = insights.delete_alert_rule(with_key(delete, &b_admin)).await.map(|r| r.into_inner().deleted);
    assert!(!deleted.unwrap_or(false), "B cannot delete A's rule");
    let now = earshot_tests::now_secs();
    let orders = IngestKpiRequest {
        name: "orders".into(),
        points: vec![KpiPoint { at: Some(prost_types::Timestamp { seconds: now, nanos: 0 }), value: 42.0 }],
        ..Default::default()
    };
    assert_eq!(
        kpis.ingest_kpi(with_key(orders.clone(), &a_cmo)).await.expect_err("cmo feeds").code(),
        Code::PermissionDenied
    );
    kpis.ingest_kpi(with_key(orders, &a_cio)).await.expect("cio feeds KPIs");
    assert!(kpis.list_kpis(with_key(ListKpisRequest {}, &b_admin)).await.expect("list").into_inner().kpis.is_empty());
    let get = kpis.get_kpi(with_key(GetKpiRequest { name: "orders".into(), ..Default::default() }, &b_admin)).await;
    assert_eq!(get.expect_err("A's KPI").code(), Code::NotFound);

    // B's admin erasing "bob" erases B's bob only: from search and from insights asked exactly as before
    // (a cached answer must not survive the erasure).
    let erased = governance.erase_author(with_key(erase("@Bob"), &b_admin)).await.expect("erase").into_inner();
    assert_eq!((erased.erased, erased.mention_ids), (1, vec!["b1".to_owned()]));
    assert_eq!(ids(&mut search, &a_cmo, "acme").await, set(&["a1", "a2"]));
    assert_eq!(ids(&mut search, &b_analyst, "acme").await, set(&["b2"]));
    assert_eq!(authors(&mut insights, &b_analyst).await, set(&["carol"]));
    assert_eq!(authors(&mut insights, &a_cmo).await, set(&["alice", "bob"]));

    // Who am I, then revocation takes effect on the next call, without a restart.
    let me = governance.who_am_i(with_key(WhoAmIRequest {}, &a_cmo)).await.expect("whoami").into_inner();
    assert_eq!(
        (me.key_id.as_str(), me.tenant.as_str(), me.roles),
        (a_cmo_id.as_str(), "tenant-a", vec!["cmo".to_owned()])
    );
    keys_command(dir.path(), &["revoke", &a_cmo_id]);
    let revoked = search.count(with_key(CountRequest { query: "acme".into(), ..Default::default() }, &a_cmo)).await;
    let revoked = revoked.expect_err("revoked key");
    assert_eq!(revoked.code(), Code::Unauthenticated);
    assert!(revoked.message().contains("revoked"), "{}", revoked.message());
    assert_eq!(count(&mut search, &a_analyst, "acme").await, Ok(2), "other keys keep working");
    assert!(server.stop().await);
}
