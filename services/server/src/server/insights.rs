//! Builds the insights services for `run`: the domain, alert rules and their evaluator, the alert bus
//! and the results cache — shared through Redis when this replica has one, in process otherwise.

use std::sync::Arc;
use std::time::Duration;

use earshot_indexer::Indexer;
use earshot_proto::v1::insights_service_server::InsightsServiceServer;
use earshot_proto::v1::kpi_service_server::KpiServiceServer;
use tokio::sync::watch;

use super::error::ServerError;
use crate::api::insights::{InsightsApi, KpiApi};
use crate::cluster::cache::RedisCache;
use crate::cluster::pubsub::RedisBroadcast;
use crate::cluster::shared::{ForgetInRedis, RedisBus};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::governance::Governance;
use crate::insights::alerts::{AlertBus, AlertEngine, AlertRules, LocalBus};
use crate::insights::cache::{InvalidateOnDelete, LocalCache, ResultCache};
use crate::insights::kpi::KpiStore;
use crate::insights::{InsightsDomain, InsightsError};
use crate::search::topics::TopicStore;

/// Results kept in the in-process cache.
const LOCAL_CACHE_ENTRIES: usize = 4096;
/// How long a result lives in the Redis cache (generations make it stale sooner).
const REDIS_CACHE_TTL: Duration = Duration::from_secs(300);

/// What the insights share with the rest of the replica.
pub struct Shared<'a> {
    /// Redis, when replicas share one.
    pub cluster: Option<&'a Cluster>,
    /// Erasures, which must also clear cached results (and the shared dedupe set).
    pub governance: Option<&'a Governance>,
    /// A tenant's own problem vocabulary for the incident signal, from its settings.
    pub problem_terms: Option<crate::insights::vocab::TenantProblemTerms>,
}

/// The services, and the sender whose drop stops the alert evaluator.
pub type Services = (InsightsServiceServer<InsightsApi>, KpiServiceServer<KpiApi>, crossbeam_channel::Sender<()>);

/// Builds the insights and KPI services and starts the alert evaluator on its own thread. Call inside
/// the runtime. With Redis, only the index owner evaluates rules (its index is the one fed), alerts
/// reach every replica's watchers over pub/sub, and results are cached in Redis.
pub fn services(
    config: &Config,
    indexer: Arc<Indexer>,
    topics: Arc<TopicStore>,
    closing: watch::Receiver<bool>,
    shared: Shared<'_>,
) -> Result<Services, ServerError> {
    let storage = |e: InsightsError| ServerError::Join(e.to_string());
    let kpis = Arc::new(KpiStore::open(&config.data_dir.join("kpis.json")).map_err(storage)?);
    let rules = Arc::new(AlertRules::open(&config.data_dir.join("alerts.json")).map_err(storage)?);
    let domain = InsightsDomain::new(indexer.clone(), topics.clone(), kpis).with_problem_terms(shared.problem_terms);
    let (bus, cache): (Arc<dyn AlertBus>, Arc<dyn ResultCache>) = match shared.cluster {
        Some(c) => (
            Arc::new(RedisBus::start(RedisBroadcast::new(c.redis.clone(), c.config.keys()))),
            Arc::new(RedisCache::new(c.redis.clone(), c.config.keys(), REDIS_CACHE_TTL)),
        ),
        None => {
            let commits = Arc::new(move || indexer.metrics().get().commits.load(std::sync::atomic::Ordering::Relaxed));
            (Arc::new(LocalBus::default()), Arc::new(LocalCache::new(LOCAL_CACHE_ENTRIES, commits)))
        }
    };
    if let Some(governance) = shared.governance {
        governance.add_hook(Arc::new(InvalidateOnDelete::new(cache.clone())));
        if let Some(c) = shared.cluster {
            governance.add_hook(Arc::new(ForgetInRedis::new(c.redis.clone(), c.config.keys())));
        }
    }
    let active = shared.cluster.and_then(Cluster::index_owner);
    let engine = AlertEngine::new(domain.clone(), rules.clone(), bus.clone(), Some(tokio::runtime::Handle::current()))
        .only_while(active);
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    Arc::new(engine).spawn(config.alert_interval, stopped);
    let max = config.max_message_bytes;
    let api = InsightsApi { domain: domain.clone(), rules, bus, closing, cache: Some(cache), topics };
    Ok((
        InsightsServiceServer::new(api).max_decoding_message_size(max).max_encoding_message_size(max),
        KpiServiceServer::new(KpiApi(domain)).max_decoding_message_size(max).max_encoding_message_size(max),
        stop,
    ))
}
