//! [`run`]: start-up, serving and shutdown of one server, in small steps.
//!
//! - this module: the order of things. Storage (and the replay) and Redis first, then the domains and
//!   their adapters, then the layers and the listener; on shutdown, not-ready first, drain, then the
//!   final commit and the model's quiesce.
//! - [`error`]: why the server could not start or stopped ([`ServerError`]).
//! - [`guard`]: access control, audit, governance, retention, storage metrics, TLS.
//! - [`insights`]: the insights services with their bus and cache (Redis or in process).
//! - [`health`]: `grpc.health.v1` driven by real state, and read readiness.

pub mod error;
pub mod guard;
pub mod health;
pub mod insights;

use std::future::Future;
use std::sync::Arc;

use earshot_models::batcher::ClassifierHandle;
use earshot_proto::v1::classify_service_server::ClassifyServiceServer;
use earshot_proto::v1::export_service_server::ExportServiceServer;
use earshot_proto::v1::ingest_service_server::IngestServiceServer;
use earshot_proto::v1::insights_service_server::InsightsServiceServer;
use earshot_proto::v1::kpi_service_server::KpiServiceServer;
use earshot_proto::v1::search_service_server::SearchServiceServer;
use earshot_proto::v1::source_service_server::SourceServiceServer;
use earshot_proto::v1::topic_service_server::TopicServiceServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic_health::server::HealthReporter;
use tracing::info;

use crate::api::classify::ClassifyApi;
use crate::api::ingest::IngestApi;
use crate::api::insights::{InsightsApi, KpiApi};
use crate::api::rate_limit::{rate_limit_identity, RateLimitLayer};
use crate::api::ready::ReadyLayer;
use crate::api::search::{ExportApi, SearchApi, TopicApi};
use crate::api::sources::SourceApi;
use crate::auth::ratelimit::RateLimiter;
use crate::classify::ClassifyDomain;
use crate::cluster::source_lease::RedisSourceLease;
use crate::cluster::{self, Cluster};
use crate::config::{ClassifierConfig, Config};
use crate::ingest::{pipeline, Backlog, IngestQueue, Ingestor, LocalQueue, WAIT_SEARCHABLE_LIMIT};
use crate::search::topics::TopicStore;
use crate::search::SearchDomain;
use crate::sources::{self, checkpoint::CheckpointDir, runner::Runner, SourceDomain};
use crate::storage::Storage;

pub use error::ServerError;

/// The services that read the index (only where it is), and the sender whose drop stops the alert
/// evaluator.
struct ReadServices {
    search: SearchServiceServer<SearchApi>,
    topics: TopicServiceServer<TopicApi>,
    insights: InsightsServiceServer<InsightsApi>,
    kpi: KpiServiceServer<KpiApi>,
    export: ExportServiceServer<ExportApi>,
    _stop_alerts: crossbeam_channel::Sender<()>,
}

/// Opens the storage off the async workers; only a replica with the index owner role keeps one.
async fn open_storage(
    config: &Config,
    classifier: Option<ClassifierHandle>,
) -> Result<Option<Arc<Storage>>, ServerError> {
    let roles = config.redis.as_ref().map_or(cluster::Roles::ALL, |r| r.roles);
    if !roles.indexer {
        return Ok(None);
    }
    let options = config.storage();
    let storage = tokio::task::spawn_blocking(move || Storage::open(&options, classifier))
        .await
        .map_err(|e| ServerError::Join(e.to_string()))??;
    Ok(Some(Arc::new(storage)))
}

/// Connects to Redis (lazily) and starts this replica's worker and index feed, when configured.
fn start_cluster(
    config: &Config,
    storage: Option<&Arc<Storage>>,
    classifier: Option<ClassifierHandle>,
) -> Result<Option<Cluster>, ServerError> {
    let Some(redis) = &config.redis else { return Ok(None) };
    let index = storage.map(|s| cluster::IndexSide {
        indexer: s.indexer.sender(),
        seen: s.seen.clone(),
        committed: s.committed.clone(),
        replayed_upto: s.replayed_upto,
    });
    Ok(Some(Cluster::start(redis, index, classifier).map_err(ServerError::Redis)?))
}

/// Where ingest stores: the shared Redis stream on a gateway, the local log where the storage is.
fn ingest_queue(
    config: &Config,
    cluster: Option<&Cluster>,
    storage: Option<&Arc<Storage>>,
) -> Option<Arc<dyn IngestQueue>> {
    match (cluster, storage) {
        (Some(c), _) => c.config.roles.gateway.then(|| Arc::new(c.queue(WAIT_SEARCHABLE_LIMIT)) as _),
        (None, Some(s)) => {
            let replayed = s.replayed_from.zip(s.replayed_upto);
            let backlog = Arc::new(Backlog::new(config.max_backlog, s.committed.clone(), replayed));
            backlog.export_metrics();
            let indexer = s.indexer.clone();
            let queue =
                LocalQueue::new(s.wal.clone(), s.seen.clone(), s.committed.clone(), WAIT_SEARCHABLE_LIMIT, backlog)
                    .with_hurry(move || indexer.hurry());
            Some(Arc::new(queue))
        }
        (None, None) => None,
    }
}

/// Search, topics and insights: they read the index, so only where it is.
fn read_services(
    config: &Config,
    storage: &Storage,
    cluster: Option<&Cluster>,
    guard: &guard::Guard,
    closing: watch::Receiver<bool>,
) -> Result<ReadServices, ServerError> {
    let max = config.max_message_bytes;
    let topics =
        Arc::new(TopicStore::open(&config.data_dir.join("topics.json")).map_err(|e| ServerError::Join(e.to_string()))?);
    let search = Arc::new(SearchDomain::new(storage.indexer.clone(), topics.clone()));
    let export = ExportServiceServer::new(ExportApi(search.clone())).max_encoding_message_size(max);
    let search =
        SearchServiceServer::new(SearchApi(search)).max_decoding_message_size(max).max_encoding_message_size(max);
    let shared =
        insights::Shared { cluster, governance: guard.governance.as_deref(), problem_terms: guard.problem_terms() };
    let (insights, kpi, stop) = insights::services(config, storage.indexer.clone(), topics.clone(), closing, shared)?;
    let topics = TopicServiceServer::new(TopicApi(topics));
    Ok(ReadServices { search, topics, insights, kpi, export, _stop_alerts: stop })
}

fn classify_service(config: &Config, classifier: Option<ClassifierHandle>) -> ClassifyServiceServer<ClassifyApi> {
    let max = config.max_message_bytes;
    ClassifyServiceServer::new(ClassifyApi(Arc::new(ClassifyDomain::new(classifier))))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max)
}

fn ingest_service(config: &Config, ingestor: Arc<Ingestor>) -> IngestServiceServer<IngestApi> {
    let max = config.max_message_bytes;
    IngestServiceServer::new(IngestApi(ingestor)).max_decoding_message_size(max).max_encoding_message_size(max)
}

/// Live sources: configured wherever the data folder is, run where the ingest path is.
fn source_domain(
    config: &Config,
    ingestor: Option<Arc<Ingestor>>,
    cluster: Option<&Cluster>,
) -> Result<Arc<SourceDomain>, ServerError> {
    let checkpoints = CheckpointDir::open(&config.data_dir).map_err(|e| ServerError::Setup(e.to_string()))?;
    let client = sources::http::client().map_err(ServerError::Setup)?;
    let lease = cluster.map(|c| {
        Arc::new(RedisSourceLease::new(c.redis.clone(), c.config.keys(), c.config.consumer.clone())) as Arc<_>
    });
    let runner = ingestor.map(|ingestor| Runner { ingestor, checkpoints, client, max_batch: config.max_batch, lease });
    let domain = SourceDomain::open(&config.data_dir, runner).map_err(|e| ServerError::Setup(e.to_string()))?;
    Ok(Arc::new(domain))
}

/// Server reflection in both versions clients speak: `v1`, and `v1alpha` (the stock Python
/// `grpcio-reflection` knows only that one).
fn reflection(routes: Routes) -> Result<Routes, ServerError> {
    let configure = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(earshot_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let v1 = configure().build_v1().map_err(|e| ServerError::Reflection(e.to_string()))?;
    let v1alpha = configure().build_v1alpha().map_err(|e| ServerError::Reflection(e.to_string()))?;
    Ok(routes.add_service(v1).add_service(v1alpha))
}

/// Adds `service` when there is one.
fn maybe<S>(routes: Routes, service: Option<S>) -> Routes
where
    S: tower::Service<http::Request<tonic::body::Body>, Error = std::convert::Infallible>
        + tonic::server::NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Response: axum::response::IntoResponse,
    S::Future: Send + 'static,
{
    match service {
        Some(service) => routes.add_service(service),
        None => routes,
    }
}

/// Serves the HTTP face (JSON API and web app) on `listener` until `closing` turns true. The API calls
/// go through `layers` around the same routes the gRPC listener serves.
fn spawn_http(
    listener: TcpListener,
    grpc: earshot_http::GrpcStack,
    assets: Option<earshot_http::Assets>,
    mut closing: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, ServerError> {
    let app = earshot_http::router(grpc, assets).map_err(ServerError::Setup)?;
    Ok(tokio::spawn(async move {
        let shutdown = async move {
            let _ = closing.wait_for(|c| *c).await;
        };
        if let Err(e) = earshot_http::serve(listener, app, shutdown).await {
            tracing::error!(error = %e, "HTTP listener failed");
        }
    }))
}

/// Accepted connections with Nagle's algorithm off: small responses must not wait for delayed ACKs.
fn incoming(listener: TcpListener) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures::StreamExt;
    TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok(conn)
    })
}

/// Resolves when `shutdown` does, after taking the server out of rotation: the health watchers stop,
/// streams that never end on their own (WatchAlerts) are told to close so the drain can finish, and
/// every service reports NOT_SERVING.
async fn stopping(
    shutdown: impl Future<Output = ()>,
    watchers: Vec<tokio::task::JoinHandle<()>>,
    closing: watch::Sender<bool>,
    health: HealthReporter,
) {
    shutdown.await;
    info!("shutting down: no new calls, draining");
    for task in watchers {
        task.abort();
    }
    closing.send_replace(true);
    health::set_all_not_serving(&health).await;
}

/// After the drain: stops the Redis threads, then commits and closes the storage, then waits until the
/// model is idle. Blocking.
fn close(cluster: Option<Cluster>, storage: Option<Arc<Storage>>, classifier: Option<ClassifierHandle>) {
    // The feed stops before the index closes; what it sent is committed by the close.
    if let Some(cluster) = cluster {
        cluster.stop();
    }
    if let Some(storage) = storage {
        storage.close();
    }
    if let Some(classifier) = classifier {
        classifier.quiesce();
    }
}

/// Where a server answers: gRPC always, HTTP (JSON API and web app) when given.
pub struct Listeners {
    /// The gRPC listener.
    pub grpc: TcpListener,
    /// The HTTP listener, if any.
    pub http: Option<TcpListener>,
}

/// Runs the server on `listener` (gRPC only) until `shutdown` resolves; see [`serve`].
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve(config, Listeners { grpc: listener, http: None }, shutdown).await
}

/// Runs the server on `listeners` until `shutdown` resolves, then drains calls, commits and returns.
pub async fn serve(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = listeners.grpc;
    let (health, health_service) = tonic_health::server::health_reporter();
    health::set_all_not_serving(&health).await;
    let classifier = config.classifier.as_ref().map(ClassifierConfig::spawn);

    // With Redis, a replica without the indexer role keeps no index: it searches nothing.
    let storage = open_storage(&config, classifier.clone()).await?;
    let cluster = start_cluster(&config, storage.as_ref(), classifier.clone())?;
    let queue = ingest_queue(&config, cluster.as_ref(), storage.as_ref());
    let guard = guard::Guard::setup(&config, storage.as_deref())?;
    let (closing_tx, closing) = watch::channel(false);
    let http_closing = closing.clone();
    let (_stop_relabel, relabel_stop) = crossbeam_channel::bounded::<()>(0);
    if let Some(c) = &classifier {
        if let Some(s) = &storage {
            pipeline::spawn_relabel_job(s.indexer.clone(), c.clone(), relabel_stop);
        }
        tokio::spawn(health::report_model_health(c.clone(), health.clone()));
    }
    let reads = match &storage {
        Some(s) => Some(read_services(&config, s, cluster.as_ref(), &guard, closing)?),
        None => None,
    };
    let classify_service = classify_service(&config, classifier.clone());
    let ingestor = queue.map(|queue| Arc::new(Ingestor::new(queue, config.max_batch).with_pii(guard.pii.clone())));
    let ingest_service = ingestor.clone().map(|i| ingest_service(&config, i));
    let sources = source_domain(&config, ingestor, cluster.as_ref())?;
    sources.start_all();

    let wal_dir = config.data_dir.join("wal");
    let ingest_health = ingest_service
        .as_ref()
        .and_then(|_| health::watch_ingest(cluster.as_ref(), storage.as_ref(), wal_dir, &health));
    // Reads answer UNAVAILABLE until the index holds everything the log replayed (see `api::ready`).
    let (ready_tx, ready_rx) = watch::channel(false);
    let search_health = health::watch_search(reads.is_some(), cluster.as_ref(), storage.as_ref(), ready_tx, &health);
    info!(addr = ?listener.local_addr().ok(), "serving");

    let watchers = [ingest_health, search_health].into_iter().flatten().collect();
    let stopping = stopping(shutdown, watchers, closing_tx, health.clone());
    let limiter = config.rate_limit.map(|limit| {
        let shared = cluster.as_ref().map(|c| (c.redis.clone(), c.config.keys()));
        Arc::new(RateLimiter::new(limit, shared))
    });
    let (search, topics, insights, kpi, export, _stop_alerts) = match reads {
        Some(r) => {
            (Some(r.search), Some(r.topics), Some(r.insights), Some(r.kpi), Some(r.export), Some(r._stop_alerts))
        }
        None => (None, None, None, None, None, None),
    };
    let mut routes = reflection(Routes::new(health_service))?;
    routes = maybe(routes, ingest_service);
    routes = maybe(routes, search);
    routes = routes.add_service(classify_service);
    routes = maybe(routes, topics);
    routes = maybe(routes, guard.governance_service());
    routes = maybe(routes, insights);
    routes = maybe(routes, kpi);
    routes = maybe(routes, export);
    routes = routes.add_service(SourceServiceServer::new(SourceApi(sources.clone())));
    // The gate runs first (outermost), so the limiter counts calls per API key, not per claimed tenant.
    let rate_limit = RateLimitLayer::new(limiter).with_identity(rate_limit_identity());
    let http = match listeners.http {
        Some(http) => {
            let stack = tower::ServiceBuilder::new()
                .layer(guard.layer.clone())
                .layer(rate_limit.clone())
                .layer(ReadyLayer::new(ready_rx.clone()))
                .service(routes.clone());
            Some(spawn_http(http, tower::util::BoxCloneSyncService::new(stack), config.web_assets, http_closing)?)
        }
        None => None,
    };
    let served = guard::Guard::server_builder(&config)?
        .layer(guard.layer.clone())
        .layer(rate_limit)
        .layer(ReadyLayer::new(ready_rx))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming(listener), stopping)
        .await;
    // Sources stop storing before the log and the index close.
    sources.stop_all().await;

    if let Some(http) = http {
        let _ = http.await;
    }
    let closing = storage.clone();
    tokio::task::spawn_blocking(move || close(cluster, closing, classifier))
        .await
        .map_err(|e| ServerError::Join(e.to_string()))?;
    info!("stopped");
    served.map_err(ServerError::from)
}
