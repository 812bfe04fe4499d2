//! Domain tests on a real index: a planted spike fires once and is explained by its planted term; a
//! planted KPI relation is found at its lag.

use std::sync::Arc;

use earshot_indexer::{IndexCommand, Indexer, IndexerOptions};
use earshot_proto::v1::{AlertRule, CorrelateRequest, InsightScope, Mention, SeriesMetric, SpikeSettings};
use futures::StreamExt;

use super::alerts::{AlertBus, AlertEngine, AlertRules, LocalBus};
use super::kpi::KpiStore;
use super::InsightsDomain;
use crate::search::topics::TopicStore;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// Monday 2024-05-06 00:00 UTC.
const T0: i64 = 1_714_953_600;

fn mention(id: String, at: i64, text: &str) -> Mention {
    Mention {
        id,
        tenant: "t".into(),
        text: text.into(),
        created_at: Some(prost_types::Timestamp { seconds: at, nanos: 0 }),
        author: Some(earshot_proto::v1::Author { id: format!("a{}", at % 7), ..Default::default() }),
        source: 1,
        ..Default::default()
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    domain: InsightsDomain,
    rules: Arc<AlertRules>,
}

fn fixture(mentions: Vec<Mention>) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let indexer = Arc::new(Indexer::open(&dir.path().join("index"), IndexerOptions::default(), |_| {}).expect("index"));
    let batch = mentions.into_iter().map(|m| (m, String::new())).collect();
    indexer.send(IndexCommand::Add { mentions: batch, last_position: None }).expect("send");
    indexer.commit().expect("commit");
    let topics = Arc::new(TopicStore::open(&dir.path().join("topics.json")).expect("topics"));
    topics.create("t", "Acme", "acme", "").expect("topic");
    let kpis = Arc::new(KpiStore::open(&dir.path().join("kpis.json")).expect("kpis"));
    let rules = Arc::new(AlertRules::open(&dir.path().join("alerts.json")).expect("rules"));
    Fixture { domain: InsightsDomain::new(indexer, topics, kpis), rules, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_spike_fires_once_and_is_explained_by_its_term() {
    // Eight days of 2 mentions an hour, then at day 8, 10:00-11:00, 30 mentions about an outage.
    let mut ms = Vec::new();
    for h in 0..(8 * 24 + 14) {
        for k in 0..2 {
            ms.push(mention(format!("b{h}-{k}"), T0 + h * HOUR + k * 60, &format!("acme app works fine {h} {k}")));
        }
    }
    let spike_at = T0 + 8 * DAY + 10 * HOUR;
    for k in 0..30 {
        ms.push(mention(format!("s{k}"), spike_at + k * 60, &format!("acme outage again, app dead {k}")));
    }
    let f = fixture(ms);
    let bus = Arc::new(LocalBus::default());
    let mut watch = bus.subscribe();
    let rule = AlertRule {
        topic: "Acme".into(),
        enabled: true,
        settings: Some(SpikeSettings::default()),
        ..Default::default()
    };
    let rule = f.rules.put(&f.domain, "t", rule).expect("rule");
    let engine = AlertEngine::new(f.domain.clone(), f.rules.clone(), bus.clone() as Arc<dyn AlertBus>, None);

    // Before the spike nothing fires.
    assert!(engine.evaluate_at(spike_at - 1).is_empty());
    // During the spike hour (30 + 2 = 32 against μ = 2, σ² = 0: z = 30 / sqrt 2) it fires, once.
    let fired = engine.evaluate_at(spike_at + 40 * 60);
    assert_eq!(fired.len(), 1);
    let spike = fired[0].spike.clone().expect("spike");
    assert_eq!(spike.start.map(|t| t.seconds), Some(spike_at));
    assert_eq!(spike.peak_count, 32);
    assert!((spike.z_score - 30.0 / 2f64.sqrt()).abs() < 1e-9);
    let terms: Vec<&str> = spike.top_terms.iter().map(|t| t.term.as_str()).collect();
    assert!(terms.contains(&"outage"), "{terms:?}");
    assert!(!terms.contains(&"acme"), "acme is in every mention: {terms:?}");
    assert_eq!(spike.top_sources.first().map(|s| s.key.as_str()), Some("twitter"));
    // Later evaluations during the same event, after it, and the next day: nothing new.
    for now in [spike_at + 50 * 60, spike_at + HOUR + 10 * 60, spike_at + 3 * HOUR + 5, spike_at + DAY] {
        assert!(engine.evaluate_at(now).is_empty(), "fired again at {now}");
    }
    assert_eq!(f.rules.list("t")[0].fired, 1);
    assert_eq!(watch.next().await.map(|a| a.rule_id), Some(rule.id));
    assert!(futures::FutureExt::now_or_never(watch.next()).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_kpi_relation_is_found_at_its_lag() {
    // Daily volumes v(d) = 3 + (d·7 mod 11) for 40 days; orders(d) = 500 − 10·v(d − 3): the topic leads by 3.
    let v = |d: i64| 3 + (d * 7) % 11;
    let mut ms = Vec::new();
    for d in 0..40 {
        for k in 0..v(d) {
            ms.push(mention(format!("d{d}-{k}"), T0 + d * DAY + k * 600, &format!("acme order {k}")));
        }
    }
    let f = fixture(ms);
    let points: Vec<(i64, f64)> = (3..40).map(|d| (T0 + d * DAY + 12 * HOUR, 500.0 - 10.0 * v(d - 3) as f64)).collect();
    f.domain.kpis().ingest("t", "orders", "orders", "", &points).expect("kpi");
    let scope = InsightScope {
        topic: "Acme".into(),
        from: Some(prost_types::Timestamp { seconds: T0, nanos: 0 }),
        to: Some(prost_types::Timestamp { seconds: T0 + 40 * DAY, nanos: 0 }),
        ..Default::default()
    };
    let req = CorrelateRequest {
        scope: Some(scope),
        kpi: "orders".into(),
        metric: SeriesMetric::Volume as i32,
        max_lag: 5,
        ..Default::default()
    };
    let r = f.domain.correlate("t", req).await.expect("correlate");
    let best = r.best.expect("best");
    assert_eq!(best.lag, 3);
    assert!((best.r + 1.0).abs() < 1e-9, "r = {}", best.r);
    assert_eq!(best.n, 37);
    assert!(r.statement.contains("not causation"));
    let missing = CorrelateRequest { kpi: "nope".into(), ..Default::default() };
    assert!(f.domain.correlate("t", missing).await.is_err());
}
