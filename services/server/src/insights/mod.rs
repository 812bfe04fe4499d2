//! The insights domain: scope checks, the aggregations of `earshot_indexer::insights` run off the async
//! workers, spike detection, KPIs, correlation, alert rules and their delivery.
//!
//! - [`error`]: the errors of the domain ([`InsightsError`]).
//! - [`queries`]: volume, sentiment summary, share of voice, top authors, trending terms.
//! - [`signals`]: spikes with explanations, the incident signal, KPI correlation, the perception gap.
//! - [`spikes`], [`correlate`]: the math, plain functions with hand-computed tests.
//! - [`kpi`]: the KPI store.
//! - [`alerts`]: alert rules, the evaluator (fires once per event), the [`alerts::AlertBus`].
//! - [`webhook`]: signed webhook delivery with retries.
//! - [`cache`]: the results cache (trait, in-process LRU, invalidation on deletion); its Redis
//!   implementation is `crate::cluster::cache`.

pub mod alerts;
pub mod cache;
pub mod correlate;
pub mod error;
pub mod kpi;
pub mod queries;
pub mod signals;
pub mod spikes;
#[cfg(test)]
mod tests;
pub mod vocab;
pub mod webhook;

use std::path::Path;
use std::sync::Arc;

use earshot_indexer::insights::{insight_query, Noise};
use earshot_indexer::query::parse_query_with_searcher;
use earshot_indexer::Indexer;
use earshot_proto::v1::{InsightScope, NoiseFilter};
use tantivy::query::Query;
use tantivy::Searcher;

pub use error::InsightsError;

use crate::ingest::validate::validate_tenant;
use crate::search::topics::TopicStore;

/// Latest time a scope or KPI point may name (2100-01-01).
pub const MAX_TIME: i64 = 4_102_444_800;

/// A checked scope: what to match, when, without which noise.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The caller's tenant.
    pub tenant: String,
    /// Query text (a topic's query when the scope named a topic).
    pub query: String,
    /// Start, Unix seconds, inclusive.
    pub from: i64,
    /// End, Unix seconds, exclusive.
    pub to: i64,
    /// Noise left out.
    pub noise: Noise,
}

impl Scope {
    /// Length in seconds.
    pub fn len(&self) -> i64 {
        self.to - self.from
    }

    /// Whether the range is empty (never, once checked).
    pub fn is_empty(&self) -> bool {
        self.len() <= 0
    }

    /// The same scope over another range.
    pub fn with_range(&self, from: i64, to: i64) -> Scope {
        Scope { from, to, ..self.clone() }
    }
}

fn noise_of(n: Option<&NoiseFilter>) -> Noise {
    n.map_or_else(Noise::default, |n| Noise {
        exclude_reposts: n.exclude_reposts,
        exclude_quotes: n.exclude_quotes,
        exclude_near_duplicates: n.exclude_near_duplicates,
        exclude_spam: n.exclude_spam,
    })
}

/// Seconds of a timestamp field, checked to lie in 1970..2100.
pub fn seconds(field: &str, t: Option<&prost_types::Timestamp>) -> Result<i64, InsightsError> {
    let t = t.ok_or_else(|| InsightsError::invalid(field, "is required"))?;
    if !(0..=MAX_TIME).contains(&t.seconds) {
        return Err(InsightsError::invalid(field, "must be between 1970 and 2100"));
    }
    Ok(t.seconds)
}

/// Writes `data` as JSON to `path` atomically (temp file, fsync, rename, fsync of the folder).
pub(crate) fn persist_json<T: serde::Serialize>(path: &Path, data: &T) -> Result<(), InsightsError> {
    let err = |e: std::io::Error| InsightsError::Storage(format!("{}: {e}", path.display()));
    let bytes = serde_json::to_vec_pretty(data).map_err(|e| InsightsError::Storage(e.to_string()))?;
    crate::files::write_atomic(path, &bytes).map_err(err)
}

/// The insights domain service. Cheap to clone, so blocking tasks can own one.
#[derive(Clone)]
pub struct InsightsDomain {
    indexer: Arc<Indexer>,
    topics: Arc<TopicStore>,
    kpis: Arc<kpi::KpiStore>,
    problem_terms: Option<vocab::TenantProblemTerms>,
}

impl InsightsDomain {
    /// Insights over `indexer`, resolving topics in `topics` and KPIs in `kpis`.
    pub fn new(indexer: Arc<Indexer>, topics: Arc<TopicStore>, kpis: Arc<kpi::KpiStore>) -> Self {
        InsightsDomain { indexer, topics, kpis, problem_terms: None }
    }

    /// Reads each tenant's own incident vocabulary through `terms` (see [`vocab`]).
    pub fn with_problem_terms(mut self, terms: Option<vocab::TenantProblemTerms>) -> Self {
        self.problem_terms = terms;
        self
    }

    /// The KPI store.
    pub fn kpis(&self) -> &kpi::KpiStore {
        &self.kpis
    }

    /// The topic store.
    pub fn topics(&self) -> &TopicStore {
        &self.topics
    }

    /// Checks the tenant.
    pub fn check_tenant(tenant: &str) -> Result<(), InsightsError> {
        validate_tenant(tenant).map_err(InsightsError::InvalidTenant)
    }

    /// The query text of a topic (id or name) of `tenant`.
    pub fn topic_query(&self, tenant: &str, topic: &str, field: &str) -> Result<String, InsightsError> {
        self.topics.query_of(tenant, topic).map_err(|_| InsightsError::invalid(field, &format!("no topic {topic:?}")))
    }

    /// Checks a request's scope: tenant, query or topic (not both), range within 1970..2100 and non-empty.
    pub fn scope(&self, tenant: &str, scope: Option<&InsightScope>) -> Result<Scope, InsightsError> {
        Self::check_tenant(tenant)?;
        let s = scope.ok_or_else(|| InsightsError::invalid("scope", "is required"))?;
        let query = match (s.query.trim().is_empty(), s.topic.trim().is_empty()) {
            (_, true) => s.query.clone(),
            (true, false) => self.topic_query(tenant, &s.topic, "scope.topic")?,
            (false, false) => return Err(InsightsError::invalid("scope.topic", "give a query or a topic, not both")),
        };
        let from = seconds("scope.from", s.from.as_ref())?;
        let to = seconds("scope.to", s.to.as_ref())?;
        if from >= to {
            return Err(InsightsError::invalid("scope.to", "must be after scope.from"));
        }
        Ok(Scope { tenant: tenant.to_owned(), query, from, to, noise: noise_of(s.noise.as_ref()) })
    }

    /// The current searcher.
    pub fn searcher(&self) -> Searcher {
        self.indexer.searcher()
    }

    /// The Tantivy query of a scope (tenant, range, noise), optionally narrowed by `extra`. Blocking.
    pub fn query(
        &self,
        searcher: &Searcher,
        scope: &Scope,
        extra: Option<Box<dyn Query>>,
    ) -> Result<Box<dyn Query>, InsightsError> {
        let resolver = self.topics.resolver(&scope.tenant);
        let mut q = parse_query_with_searcher(searcher, self.indexer.fields(), &scope.query, &resolver)?;
        if let Some(extra) = extra {
            use tantivy::query::{BooleanQuery, Occur};
            q = Box::new(BooleanQuery::new(vec![(Occur::Must, q), (Occur::Must, extra)]));
        }
        Ok(insight_query(self.indexer.fields(), &scope.tenant, q, scope.from, scope.to, scope.noise))
    }

    /// A query on the `sentiment` field.
    pub fn label_query(&self, label: &str) -> Box<dyn Query> {
        use tantivy::query::TermQuery;
        use tantivy::schema::IndexRecordOption;
        let term = tantivy::Term::from_field_text(self.indexer.fields().sentiment, label);
        Box::new(TermQuery::new(term, IndexRecordOption::Basic))
    }

    /// Runs blocking work on the blocking pool.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(InsightsDomain) -> Result<T, InsightsError> + Send + 'static,
    ) -> Result<T, InsightsError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(this)).await.map_err(|e| InsightsError::Index(e.to_string()))?
    }
}

/// The JSON body of an alert's webhook.
pub fn alert_json(a: &earshot_proto::v1::Alert) -> serde_json::Value {
    use serde_json::json;
    let secs = |t: &Option<prost_types::Timestamp>| t.as_ref().map_or(0, |t| t.seconds);
    let metric = if a.metric == earshot_proto::v1::SpikeMetric::Negative as i32 { "negative" } else { "volume" };
    let spike = a.spike.as_ref().map(|s| {
        json!({
            "start": secs(&s.start),
            "end": secs(&s.end),
            "peak": secs(&s.peak),
            "peak_count": s.peak_count,
            "expected": s.expected,
            "z_score": s.z_score,
            "top_terms": s.top_terms.iter().map(|t| json!({"term": t.term, "count": t.foreground_count, "score": t.score})).collect::<Vec<_>>(),
            "top_authors": s.top_authors.iter().map(|c| json!({"author": c.key, "count": c.count})).collect::<Vec<_>>(),
            "top_sources": s.top_sources.iter().map(|c| json!({"source": c.key, "count": c.count})).collect::<Vec<_>>(),
        })
    });
    json!({
        "id": a.id,
        "rule_id": a.rule_id,
        "tenant": a.tenant,
        "topic": a.topic,
        "metric": metric,
        "fired_at": secs(&a.fired_at),
        "spike": spike,
    })
}
