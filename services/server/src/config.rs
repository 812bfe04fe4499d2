//! Server settings: what the CLI fills from flags and `EARSHOT_*` variables, and hands to
//! [`crate::run`].

use std::path::PathBuf;
use std::time::Duration;

use earshot_models::batcher::{BatchOptions, ClassifierHandle};
use earshot_models::weights::Weights;
use earshot_models::LoadClassifier;

use crate::auth::ratelimit::RateLimit;
use crate::auth::{AuthMode, KeyStore};
use crate::cluster::RedisConfig;
use crate::storage::StorageOptions;

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
    pub guard: GuardConfig,
    /// Share the ingest queue (and what else replicas share) through Redis; `None` runs in one process.
    pub redis: Option<RedisConfig>,
    /// Per-caller rate limit on every `earshot.v1` call; `None` for none.
    pub rate_limit: Option<RateLimit>,
    /// How often alert rules are evaluated.
    pub alert_interval: Duration,
    /// Most mentions acknowledged but not yet searchable before ingest answers `RESOURCE_EXHAUSTED`
    /// (streams wait instead); keeps acknowledgements from running minutes ahead of search.
    pub max_backlog: u64,
    /// Open a damaged write-ahead log by salvaging every readable record into a new log (the damaged
    /// files are moved aside); without it a damaged log refuses to start.
    pub wal_salvage: bool,
    /// The web app served beside the JSON API on the HTTP listener (`None`: the API alone).
    pub web_assets: Option<earshot_http::Assets>,
}

impl Config {
    /// What opening the storage needs.
    pub fn storage(&self) -> StorageOptions {
        StorageOptions {
            data_dir: self.data_dir.clone(),
            commit_interval: self.commit_interval,
            index_memory_bytes: self.index_memory_bytes,
            index_threads: self.index_threads,
            wal_salvage: self.wal_salvage,
        }
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
            guard: GuardConfig::default(),
            redis: None,
            rate_limit: None,
            alert_interval: Duration::from_secs(60),
            max_backlog: 20_000,
            wal_salvage: false,
            web_assets: None,
        }
    }
}

/// Where the sentiment model is and how to run it.
#[derive(Debug, Clone)]
pub struct ClassifierConfig {
    /// Folder with `model.onnx`, `config.json`, `tokenizer.json`, `calibration.json` and `SHA256SUMS`.
    pub weights_dir: PathBuf,
    /// Threads one inference may use.
    pub intra_threads: usize,
    /// Dynamic batching.
    pub batch: BatchOptions,
    /// The model runtime (`earshot_onnx::load` in `earshot-engine`): the server itself links none (ADR 0007).
    pub load: LoadClassifier,
}

impl ClassifierConfig {
    /// Starts the classifier thread; the weights load there, off the async runtime.
    pub fn spawn(&self) -> ClassifierHandle {
        let dir = self.weights_dir.clone();
        let (load, threads) = (self.load, self.intra_threads.max(1));
        ClassifierHandle::spawn(move || load(Weights::open(&dir)?, threads), self.batch.clone())
    }
}

/// PEM files of the gRPC listener's certificate chain and private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// Settings of access control and governance.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// How calls authenticate.
    pub auth: AuthMode,
    /// Write the audit trail under `<data dir>/audit`.
    pub audit: bool,
    /// Days mentions are kept when the tenant has no setting of its own; 0 keeps forever.
    pub retention_days: u32,
    /// Redact e-mail addresses and phone numbers at ingest for tenants without a setting of their own.
    pub redact_pii: bool,
    /// Serve gRPC over TLS.
    pub tls: Option<TlsFiles>,
    /// The key store's file, when not `<data dir>/keys.json` (replicas sharing one Secret).
    pub keys_file: Option<PathBuf>,
}

impl GuardConfig {
    /// The key store these settings name.
    pub fn key_store(&self, data_dir: &std::path::Path) -> KeyStore {
        self.keys_file.clone().map_or_else(|| KeyStore::in_data_dir(data_dir), KeyStore::at)
    }
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            auth: AuthMode::Off,
            audit: true,
            retention_days: 0,
            redact_pii: false,
            tls: None,
            keys_file: None,
        }
    }
}
