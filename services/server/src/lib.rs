//! `earshot-server`: the gRPC service and the `run` that wires log, index and server together.
//!
//! # Layout
//! - [`validate`]: checks of one mention at the boundary (field + reason).
//! - [`ingest`]: the ingest domain (validate → dedupe → durable log → ack).
//! - [`pipeline`]: log → labelling stage (sentiment model) → indexing thread; the re-classification job.
//! - [`classify`]: the classify domain (labels for texts that are not stored).
//! - [`search`]: the search domain (queries, topics in place of queries, validation).
//! - [`topics`]: saved topics per tenant, validated on save, persisted in `topics.json`.
//! - [`insights`]: the insights domain (aggregations, spikes, KPIs, correlation, alert rules, webhooks).
//! - [`grpc`], [`grpc_insights`]: thin tonic adapters.
//! - [`error`]: domain errors and their mapping onto gRPC codes.
//!
//! Data flow: `Ingest` → validate → log append (group commit, fsync) → ack; the log thread hands
//! durable records to the indexing thread, whose commits (≤ `commit_interval`) make them searchable and
//! let the log drop them. On start, what the log still holds is replayed, skipping what the index has.

pub mod classify;
pub mod error;
pub mod grpc;
pub mod grpc_insights;
pub mod ingest;
pub mod insights;
pub mod pipeline;
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
use earshot_proto::v1::insights_service_server::InsightsServiceServer;
use earshot_proto::v1::kpi_service_server::KpiServiceServer;
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
    /// How often alert rules are evaluated.
    pub alert_interval: Duration,
}

/// Where the sentiment model is and how to run it.
#[derive(Debug, Clone)]
pub struct ClassifierConfig {
    /// Folder with `model.onnx`, `config.json`, `vocab.txt`, `calibration.json` and `SHA256SUMS`.
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
            alert_interval: Duration::from_secs(60),
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
    /// A start-up task panicked.
    #[error("start-up task failed: {0}")]
    Join(String),
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
            Wal::open(&config.data_dir.join("wal"), WalOptions::default(), pipeline::log_sink(stage.clone()))?;
        let wal = Arc::new(wal);
        let _ = wal_slot.set(wal.clone());
        let replayed = replay.records.len();
        let last_position = replay.records.last().map(|(p, _)| *p);
        let mentions: Vec<_> = pipeline::decode_records(replay.records)
            .into_iter()
            .filter(|(_, m)| seen.insert(key_hash(&mention_key(&m.tenant, &m.id))))
            .map(|(_, m)| m)
            .collect();
        let recovered = mentions.len();
        if stage.send(pipeline::StageBatch { mentions, last_position }).is_err() {
            return Err(ServerError::Join("labelling stage did not start".into()));
        }
        info!(indexed, replayed, recovered, torn_bytes = replay.torn_bytes, "storage opened");
        Ok(Storage { indexer, wal, seen, committed })
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

type InsightsServices = (
    InsightsServiceServer<grpc_insights::InsightsApi>,
    KpiServiceServer<grpc_insights::KpiApi>,
    crossbeam_channel::Sender<()>,
);

/// The insights and KPI services, and the alert evaluator on its own thread (it stops when the returned
/// sender is dropped).
fn insights_services(
    config: &Config,
    indexer: Arc<Indexer>,
    topics: Arc<topics::TopicStore>,
    max: usize,
    closing: watch::Receiver<bool>,
) -> Result<InsightsServices, ServerError> {
    let storage = |e: insights::InsightsError| ServerError::Join(e.to_string());
    let kpis = Arc::new(insights::kpi::KpiStore::open(&config.data_dir.join("kpis.json")).map_err(storage)?);
    let rules = Arc::new(insights::alerts::AlertRules::open(&config.data_dir.join("alerts.json")).map_err(storage)?);
    let domain = insights::InsightsDomain::new(indexer, topics, kpis);
    let bus: Arc<dyn insights::alerts::AlertBus> = Arc::new(insights::alerts::LocalBus::default());
    let engine = insights::alerts::AlertEngine::new(
        domain.clone(),
        rules.clone(),
        bus.clone(),
        Some(tokio::runtime::Handle::current()),
    );
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    Arc::new(engine).spawn(config.alert_interval, stopped);
    let api = grpc_insights::InsightsApi { domain: domain.clone(), rules, bus, closing };
    Ok((
        InsightsServiceServer::new(api).max_decoding_message_size(max).max_encoding_message_size(max),
        KpiServiceServer::new(grpc_insights::KpiApi(domain)).max_decoding_message_size(max).max_encoding_message_size(max),
        stop,
    ))
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

    let open_config = config.clone();
    let stage_classifier = classifier.clone();
    let storage = tokio::task::spawn_blocking(move || Storage::open(&open_config, stage_classifier))
        .await
        .map_err(|e| ServerError::Join(e.to_string()))??;
    let storage = Arc::new(storage);

    let max = config.max_message_bytes;
    let ingestor =
        Arc::new(Ingestor::new(storage.wal.clone(), storage.seen.clone(), storage.committed.clone(), config.max_batch));
    let topics = Arc::new(
        topics::TopicStore::open(&config.data_dir.join("topics.json")).map_err(|e| ServerError::Join(e.to_string()))?,
    );
    let search = Arc::new(search::SearchDomain::new(storage.indexer.clone(), topics.clone()));
    let (closing_tx, closing) = watch::channel(false);
    let (insights_service, kpi_service, _stop_alerts) =
        insights_services(&config, storage.indexer.clone(), topics.clone(), max, closing)?;
    let topic_service = TopicServiceServer::new(grpc::TopicApi(topics));
    let (_stop_relabel, relabel_stop) = crossbeam_channel::bounded::<()>(0);
    if let Some(c) = &classifier {
        pipeline::spawn_relabel_job(storage.indexer.clone(), c.clone(), relabel_stop);
        tokio::spawn(report_model_health(c.clone(), health.clone()));
    }
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

    let ingest_service = IngestServiceServer::new(grpc::IngestApi(ingestor))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let search_service = SearchServiceServer::new(grpc::SearchApi(search))
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);

    health.set_serving::<IngestServiceServer<grpc::IngestApi>>().await;
    health.set_serving::<SearchServiceServer<grpc::SearchApi>>().await;
    info!(addr = ?listener.local_addr().ok(), "serving");

    let stopping = {
        let health = health.clone();
        async move {
            shutdown.await;
            info!("shutting down: no new calls, draining");
            // Streams that never end on their own (WatchAlerts) must close for the drain to finish.
            closing_tx.send_replace(true);
            health.set_not_serving::<IngestServiceServer<grpc::IngestApi>>().await;
            health.set_not_serving::<SearchServiceServer<grpc::SearchApi>>().await;
            health.set_not_serving::<ClassifyServiceServer<grpc::ClassifyApi>>().await;
        }
    };
    let served = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(ingest_service)
        .add_service(search_service)
        .add_service(classify_service)
        .add_service(topic_service)
        .add_service(insights_service)
        .add_service(kpi_service)
        .serve_with_incoming_shutdown(incoming(listener), stopping)
        .await;

    let closing = storage.clone();
    tokio::task::spawn_blocking(move || closing.close())
        .await
        .map_err(|e| ServerError::Join(e.to_string()))?;
    info!("stopped");
    served.map_err(ServerError::from)
}
