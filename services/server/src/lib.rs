//! `earshot-server`: the gRPC service and the `run` that wires log, index and server together.
//!
//! # Layout
//! - [`validate`]: checks of one mention at the boundary (field + reason).
//! - [`ingest`]: the ingest domain (validate → dedupe → durable queue → ack).
//! - [`queue`]: the durable ingest queue: the local write-ahead log, or (`--redis-url`) the shared
//!   Redis stream of [`cluster`], where gateways, classifier workers and the index owner meet.
//! - [`pipeline`]: log → labelling stage (sentiment model) → indexing thread; the re-classification job.
//! - [`classify`]: the classify domain (labels for texts that are not stored).
//! - [`search`]: the search domain (queries, topics in place of queries, validation).
//! - [`topics`]: saved topics per tenant, validated on save, persisted in `topics.json`.
//! - [`cache`]: results cache per tenant + request, invalidated by index commits (local LRU or Redis).
//! - [`ratelimit`]: per-caller rate limits (GCRA; shared through Redis when configured).
//! - [`insights`]: the insights domain (aggregations, spikes, KPIs, correlation, alert rules, webhooks).
//! - [`grpc`], [`grpc_insights`]: thin tonic adapters.
//! - [`error`]: domain errors and their mapping onto gRPC codes.
//! - [`auth`]: API keys, roles, tenants; the gate layer in front of every RPC.
//! - [`governance`]: erase-by-author, retention, deletion hooks; [`redact`]: PII redaction at ingest.
//! - [`audit`]: the audit trail; [`metrics`]: Prometheus metrics and `/metrics`.
//! - [`guard`]: wires the above (and TLS) into [`run`].
//!
//! Data flow: `Ingest` → validate → log append (group commit, fsync) → ack; the log thread hands
//! durable records to the indexing thread, whose commits (≤ `commit_interval`) make them searchable and
//! let the log drop them. On start, what the log still holds is replayed, skipping what the index has.

pub mod audit;
pub mod auth;
pub mod cache;
pub mod classify;
pub mod cluster;
pub mod error;
pub mod files;
pub mod governance;
pub mod grpc;
pub mod grpc_insights;
pub mod guard;
pub mod health;
pub mod ingest;
pub mod insights;
pub mod metrics;
pub mod pipeline;
pub mod redact;
pub mod queue;
pub mod ratelimit;
pub mod ready;
pub mod search;
pub mod topics;
pub mod validate;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use earshot_indexer::doc::{key_hash, mention_key};
use earshot_indexer::{CommitPolicy, Indexer, IndexerOptions};
use earshot_models::batcher::{BatchOptions, ClassifierHandle, ModelState};
use earshot_models::onnx::{OnnxClassifier, OnnxOptions};
use earshot_models::weights::Weights;
use earshot_models::Classifier;
use earshot_proto::v1::classify_service_server::ClassifyServiceServer;
use earshot_proto::v1::ingest_service_server::IngestServiceServer;
use earshot_proto::v1::search_service_server::SearchServiceServer;
use earshot_proto::v1::topic_service_server::TopicServiceServer;
use earshot_wal::{Wal, WalOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tracing::info;

use crate::ingest::{Ingestor, SeenKeys};

/// Server settings (the CLI fills them from flags and `EARSHOT_*` variables).
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder for the log and the index.
    pub data_dir: PathBuf,
    /// Most mentions per ingest request.
    pub max_batch: usize,
    /// Longest wait between an ack and the commit that makes it searchable.
    pub commit_interval: Duration,
    /// Memory for Tantivy's indexing buffers.
    pub index_memory_bytes: usize,
    /// Tantivy indexing threads.
    pub index_threads: usize,
    /// Largest gRPC message accepted, in bytes.
    pub max_message_bytes: usize,
    /// The sentiment model; `None` runs without one (mentions stay unlabelled).
    pub classifier: Option<ClassifierConfig>,
    /// Authentication, audit, retention, PII redaction, TLS.
    pub guard: guard::GuardConfig,
    /// Share the ingest queue (and what else replicas share) through Redis; `None` runs in one process.
    pub redis: Option<cluster::RedisConfig>,
    /// Per-caller rate limit on every `earshot.v1` call; `None` for none.
    pub rate_limit: Option<ratelimit::RateLimit>,
    /// How often alert rules are evaluated.
    pub alert_interval: Duration,
    /// Most mentions acknowledged but not yet searchable before ingest answers `RESOURCE_EXHAUSTED`
    /// (streams wait instead); keeps acknowledgements from running minutes ahead of search.
    pub max_backlog: u64,
    /// Open a damaged write-ahead log by salvaging every readable record into a new log (the damaged
    /// files are moved aside); without it a damaged log refuses to start.
    pub wal_salvage: bool,
}

/// Where the sentiment model is and how to run it.
#[derive(Debug, Clone)]
pub struct ClassifierConfig {
    /// Folder with `model.onnx`, `config.json`, `vocab.txt`, `emoji.tsv`, `calibration.json` and `SHA256SUMS`.
    pub weights_dir: PathBuf,
    /// Threads one inference may use.
    pub intra_threads: usize,
    /// Dynamic batching.
    pub batch: BatchOptions,
}

impl ClassifierConfig {
    /// Starts the classifier thread; the weights load there, off the async runtime.
    pub fn spawn(&self) -> ClassifierHandle {
        let dir = self.weights_dir.clone();
        let options = OnnxOptions { intra_threads: self.intra_threads.max(1) };
        ClassifierHandle::spawn(
            move || {
                let weights = Weights::open(&dir)?;
                Ok(Box::new(OnnxClassifier::load(weights, &options)?) as Box<dyn Classifier>)
            },
            self.batch.clone(),
        )
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("earshot-data"),
            max_batch: 1000,
            commit_interval: Duration::from_millis(500),
            index_memory_bytes: 256 << 20,
            index_threads: 2,
            max_message_bytes: 64 << 20,
            classifier: None,
            guard: guard::GuardConfig::default(),
            redis: None,
            rate_limit: None,
            alert_interval: Duration::from_secs(60),
            max_backlog: 20_000,
            wal_salvage: false,
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The index could not be opened.
    #[error(transparent)]
    Index(#[from] earshot_indexer::IndexError),
    /// The log could not be opened.
    #[error(transparent)]
    Wal(#[from] earshot_wal::WalError),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection could not be set up.
    #[error("reflection: {0}")]
    Reflection(String),
    /// The Redis settings are unusable.
    #[error("{0}")]
    Redis(String),
    /// A start-up task panicked.
    #[error("start-up task failed: {0}")]
    Join(String),
    /// Key store, audit trail or TLS files could not be set up.
    #[error("set-up: {0}")]
    Setup(String),
}

/// Takes the data folder for this process: an exclusive lock on `<data_dir>/earshot.lock`, held until
/// the returned file is dropped. A second server on the same folder fails at once with the path in the
/// message, before it listens (Tantivy's own lock would only refuse later, naming no path).
pub fn lock_data_dir(data_dir: &std::path::Path) -> Result<std::fs::File, ServerError> {
    let setup = |what: &str, e: std::io::Error| ServerError::Setup(format!("{what} {}: {e}", data_dir.display()));
    std::fs::create_dir_all(data_dir).map_err(|e| setup("cannot create the data folder", e))?;
    let path = data_dir.join("earshot.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| setup("cannot open the lock file in", e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(ServerError::Setup(format!(
            "the data folder {} is in use by another earshot process (lock {}); stop it or choose another --data-dir",
            data_dir.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(setup("cannot lock the data folder", e)),
    }
}

/// The storage side of a server: index, log and dedupe keys, opened and replayed.
pub struct Storage {
    /// The index.
    pub indexer: Arc<Indexer>,
    /// The write-ahead log.
    pub wal: Arc<Wal>,
    /// Keys of everything stored.
    pub seen: Arc<SeenKeys>,
    /// Last log position the index has committed.
    pub committed: watch::Receiver<Option<u64>>,
    /// Position of the last record replayed from the log on open.
    pub replayed_upto: Option<u64>,
    /// Position of the first record replayed from the log on open.
    pub replayed_from: Option<u64>,
    /// Mentions the log held that the index did not, sent through labelling and indexing on open.
    pub recovered: usize,
}

fn wal_options(config: &Config) -> WalOptions {
    WalOptions { salvage: config.wal_salvage, ..WalOptions::default() }
}

impl Storage {
    /// Opens index and log under `config.data_dir`, rebuilds the dedupe keys and replays the log through
    /// the labelling stage. Blocking.
    pub fn open(config: &Config, classifier: Option<ClassifierHandle>) -> Result<Storage, ServerError> {
        let (committed_tx, committed) = watch::channel(None);
        let wal_slot: Arc<OnceLock<Arc<Wal>>> = Arc::new(OnceLock::new());
        let on_commit = {
            let wal_slot = wal_slot.clone();
            move |position: u64| {
                if let Some(wal) = wal_slot.get() {
                    wal.truncate(position);
                }
                committed_tx.send_replace(Some(position));
            }
        };
        let options = IndexerOptions {
            commit: CommitPolicy { interval: config.commit_interval, ..CommitPolicy::default() },
            writer_memory_bytes: config.index_memory_bytes,
            writer_threads: config.index_threads,
            ..IndexerOptions::default()
        };
        let indexer = Arc::new(Indexer::open(&config.data_dir.join("index"), options, on_commit)?);
        let seen = Arc::new(SeenKeys::default());
        indexer.for_each_key(|key| {
            seen.insert(key_hash(key));
        })?;
        let indexed = seen.len();
        let stage = pipeline::spawn_stage(classifier, indexer.sender());
        let (wal, replay) =
            Wal::open(&config.data_dir.join("wal"), wal_options(config), pipeline::log_sink(stage.clone()))?;
        let wal = Arc::new(wal);
        let _ = wal_slot.set(wal.clone());
        let replayed = replay.records.len();
        let last_position = replay.records.last().map(|(p, _)| *p);
        let first_position = replay.records.first().map(|(p, _)| *p);
        let mentions: Vec<_> = pipeline::decode_records(governance::records::drop_deleted(replay.records))
            .into_iter()
            .filter(|(_, m)| seen.insert(key_hash(&mention_key(&m.tenant, &m.id))))
            .map(|(_, m)| m)
            .collect();
        let recovered = mentions.len();
        if stage.send(pipeline::StageBatch { mentions, last_position }).is_err() {
            return Err(ServerError::Join("labelling stage did not start".into()));
        }
        if let Some(s) = &replay.salvaged {
            tracing::warn!(
                kept = s.records_kept,
                skipped_bytes = s.bytes_skipped,
                aside = %s.aside_dir.display(),
                "started on a salvaged write-ahead log: what was readable is kept, the damaged files are aside"
            );
        }
        info!(indexed, replayed, recovered, torn_bytes = replay.torn_bytes, "storage opened");
        Ok(Storage {
            indexer,
            wal,
            seen,
            committed,
            replayed_upto: last_position,
            replayed_from: first_position,
            recovered,
        })
    }

    /// Writes what is queued, commits the index and stops the log. Blocking.
    pub fn close(&self) {
        self.wal.close();
        self.indexer.close();
    }
}

/// Keeps the ClassifyService health in step with the model: SERVING once loaded and warmed up.
async fn report_model_health(classifier: ClassifierHandle, health: tonic_health::server::HealthReporter) {
    let mut state = classifier.watch_state();
    loop {
        let current = state.borrow_and_update().clone();
        match current {
            ModelState::Ready(version) => {
                info!(version, "sentiment model ready");
                health.set_serving::<ClassifyServiceServer<grpc::ClassifyApi>>().await;
            }
            ModelState::Failed(why) => {
                tracing::error!(why, "sentiment model unavailable; mentions are stored unlabelled");
                health.set_not_serving::<ClassifyServiceServer<grpc::ClassifyApi>>().await;
            }
            ModelState::Loading => {}
        }
        if state.changed().await.is_err() {
            return;
        }
    }
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

/// Runs the server on `listener` until `shutdown` resolves, then drains calls, commits and returns.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_not_serving::<IngestServiceServer<grpc::IngestApi>>().await;
    health.set_not_serving::<SearchServiceServer<grpc::SearchApi>>().await;

    health.set_not_serving::<ClassifyServiceServer<grpc::ClassifyApi>>().await;
    let classifier = config.classifier.as_ref().map(ClassifierConfig::spawn);

    // With Redis, a replica without the indexer role keeps no index: it searches nothing.
    let roles = config.redis.as_ref().map_or(cluster::Roles::ALL, |r| r.roles);
    let storage = if roles.indexer {
        let open_config = config.clone();
        let stage_classifier = classifier.clone();
        let storage = tokio::task::spawn_blocking(move || Storage::open(&open_config, stage_classifier))
            .await
            .map_err(|e| ServerError::Join(e.to_string()))??;
        Some(Arc::new(storage))
    } else {
        None
    };
    let cluster = match &config.redis {
        Some(redis) => {
            let index = storage.as_ref().map(|s| cluster::IndexSide {
                indexer: s.indexer.sender(),
                seen: s.seen.clone(),
                committed: s.committed.clone(),
                replayed_upto: s.replayed_upto,
            });
            Some(cluster::Cluster::start(redis, index, classifier.clone()).map_err(ServerError::Redis)?)
        }
        None => None,
    };

    let max = config.max_message_bytes;
    let queue: Option<Arc<dyn queue::IngestQueue>> = match (&cluster, &storage) {
        (Some(c), _) => roles.gateway.then(|| Arc::new(c.queue(ingest::WAIT_SEARCHABLE_LIMIT)) as _),
        (None, Some(s)) => {
            let replayed = s.replayed_from.zip(s.replayed_upto);
            let backlog = Arc::new(queue::Backlog::new(config.max_backlog, s.committed.clone(), replayed));
            metrics::watch_backlog(backlog.clone());
            Some(Arc::new(queue::LocalQueue::new(
                s.wal.clone(),
                s.seen.clone(),
                s.committed.clone(),
                ingest::WAIT_SEARCHABLE_LIMIT,
                backlog,
            )))
        }
        (None, None) => None,
    };
    let guard = guard::Guard::setup(&config, storage.as_deref())?;
    let (closing_tx, closing) = watch::channel(false);
    let (_stop_relabel, relabel_stop) = crossbeam_channel::bounded::<()>(0);
    if let Some(c) = &classifier {
        if let Some(s) = &storage {
            pipeline::spawn_relabel_job(s.indexer.clone(), c.clone(), relabel_stop);
        }
        tokio::spawn(report_model_health(c.clone(), health.clone()));
    }
    // Search, topics and insights read the index: only where it is.
    let (search_service, topic_service, insights_service, kpi_service, _stop_alerts) = match &storage {
        Some(s) => {
            let topics = Arc::new(
                topics::TopicStore::open(&config.data_dir.join("topics.json"))
                    .map_err(|e| ServerError::Join(e.to_string()))?,
            );
            let search = Arc::new(search::SearchDomain::new(s.indexer.clone(), topics.clone()));
            let search_service = SearchServiceServer::new(grpc::SearchApi(search))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max);
            let shared = insights::setup::Shared { cluster: cluster.as_ref(), governance: guard.governance.as_deref() };
            let (insights, kpi, stop) = insights::setup::services(&config, s.indexer.clone(), topics.clone(), closing, shared)?;
            let topic_service = TopicServiceServer::new(grpc::TopicApi(topics));
            (Some(search_service), Some(topic_service), Some(insights), Some(kpi), Some(stop))
        }
        None => (None, None, None, None, None),
    };
    let classify_service = ClassifyServiceServer::new(grpc::ClassifyApi(Arc::new(
        classify::ClassifyDomain::new(classifier.clone()),
    )))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(earshot_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServerError::Reflection(e.to_string()))?;

    let ingest_service = queue.map(|queue| {
        IngestServiceServer::new(grpc::IngestApi(Arc::new(Ingestor::new(queue, config.max_batch).with_pii(guard.pii.clone()))))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max)
    });

    // With Redis, ingest is SERVING only while Redis answers (a gateway cannot acknowledge without it).
    let redis_health = match (&cluster, &ingest_service) {
        (Some(c), Some(_)) => {
            let health = health.clone();
            Some(cluster::watch_health(c.redis.clone(), move |up| {
                let health = health.clone();
                async move {
                    if up {
                        health.set_serving::<IngestServiceServer<grpc::IngestApi>>().await;
                    } else {
                        health.set_not_serving::<IngestServiceServer<grpc::IngestApi>>().await;
                    }
                }
            }))
        }
        (None, Some(_)) => storage
            .as_ref()
            .map(|s| health::watch_storage(s.clone(), config.data_dir.join("wal"), health.clone())),
        _ => None,
    };
    // Reads answer UNAVAILABLE until the index holds everything the log replayed (see `ready`).
    let (ready_tx, ready_rx) = watch::channel(false);
    // With Redis, search is SERVING only on the replica holding the index owner lease.
    let owner_health = match (search_service.is_some(), cluster.as_ref().and_then(|c| c.index_owner())) {
        (true, Some(mut owner)) => {
            ready_tx.send_replace(true);
            let health = health.clone();
            Some(tokio::spawn(async move {
                loop {
                    if *owner.borrow_and_update() {
                        health.set_serving::<SearchServiceServer<grpc::SearchApi>>().await;
                    } else {
                        health.set_not_serving::<SearchServiceServer<grpc::SearchApi>>().await;
                    }
                    if owner.changed().await.is_err() {
                        return;
                    }
                }
            }))
        }
        (true, None) => {
            // After a crash or a stop with mentions still in labelling, search waits for the replay to be
            // committed: a count right after a restart must include everything acknowledged before it.
            let replay = storage.as_ref().and_then(|s| (s.recovered > 0).then_some(s.replayed_upto).flatten());
            let committed = storage.as_ref().map(|s| s.committed.clone());
            let health = health.clone();
            Some(tokio::spawn(async move {
                if let (Some(upto), Some(mut committed)) = (replay, committed) {
                    info!(upto, "search waits for the replayed log to be committed");
                    if committed.wait_for(|c| c.is_some_and(|c| c >= upto)).await.is_err() {
                        return;
                    }
                }
                ready_tx.send_replace(true);
                health.set_serving::<SearchServiceServer<grpc::SearchApi>>().await;
            }))
        }
        (false, _) => {
            ready_tx.send_replace(true);
            None
        }
    };
    info!(addr = ?listener.local_addr().ok(), "serving");

    let stopping = {
        let health = health.clone();
        async move {
            shutdown.await;
            info!("shutting down: no new calls, draining");
            for task in [redis_health, owner_health].into_iter().flatten() {
                task.abort();
            }
            // Streams that never end on their own (WatchAlerts) must close for the drain to finish.
            closing_tx.send_replace(true);
            health.set_not_serving::<IngestServiceServer<grpc::IngestApi>>().await;
            health.set_not_serving::<SearchServiceServer<grpc::SearchApi>>().await;
            health.set_not_serving::<ClassifyServiceServer<grpc::ClassifyApi>>().await;
        }
    };
    let limiter = config.rate_limit.map(|limit| {
        let shared = cluster.as_ref().map(|c| (c.redis.clone(), c.config.keys()));
        Arc::new(ratelimit::RateLimiter::new(limit, shared))
    });
    // The gate runs first (outermost), so the limiter counts calls per API key, not per claimed tenant.
    let served = guard::Guard::server_builder(&config)?
        .layer(guard.layer.clone())
        .layer(ratelimit::RateLimitLayer::new(limiter).with_identity(auth::rate_limit_identity()))
        .layer(ready::ReadyLayer::new(ready_rx))
        .add_service(health_service)
        .add_service(reflection)
        .add_optional_service(ingest_service)
        .add_optional_service(search_service)
        .add_service(classify_service)
        .add_optional_service(topic_service)
        .add_optional_service(guard.governance_service())
        .add_optional_service(insights_service)
        .add_optional_service(kpi_service)
        .serve_with_incoming_shutdown(incoming(listener), stopping)
        .await;

    let closing = storage.clone();
    tokio::task::spawn_blocking(move || {
        // The feed stops before the index closes; what it sent is committed by the close.
        if let Some(cluster) = cluster {
            cluster.stop();
        }
        if let Some(storage) = closing {
            storage.close();
        }
        if let Some(classifier) = classifier {
            classifier.quiesce();
        }
    })
    .await
    .map_err(|e| ServerError::Join(e.to_string()))?;
    info!("stopped");
    served.map_err(ServerError::from)
}
