//! The storage side of a server: the data folder's lock, the index, the write-ahead log and the dedupe
//! keys, opened and replayed through the ingest pipeline.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use earshot_indexer::doc::{key_hash, mention_key};
use earshot_indexer::{CommitPolicy, Indexer, IndexerOptions};
use earshot_models::batcher::ClassifierHandle;
use earshot_wal::{Wal, WalOptions};
use tokio::sync::watch;
use tracing::info;

use crate::ingest::pipeline::{self, CommitFeedback};
use crate::ingest::{records, SeenKeys};
use crate::metrics::{self, MetricType, Source};

/// Why the storage could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The index could not be opened.
    #[error(transparent)]
    Index(#[from] earshot_indexer::IndexError),
    /// The log could not be opened.
    #[error(transparent)]
    Wal(#[from] earshot_wal::WalError),
    /// A start-up task failed.
    #[error("start-up task failed: {0}")]
    Join(String),
    /// The data folder could not be locked.
    #[error("set-up: {0}")]
    Setup(String),
}

/// Where and how to open the storage (from [`crate::Config`]).
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// Folder for the log and the index.
    pub data_dir: PathBuf,
    /// Longest wait between an ack and the commit that makes it searchable.
    pub commit_interval: Duration,
    /// Memory for Tantivy's indexing buffers.
    pub index_memory_bytes: usize,
    /// Tantivy indexing threads.
    pub index_threads: usize,
    /// Open a damaged write-ahead log by salvaging every readable record into a new log.
    pub wal_salvage: bool,
    /// Commit once this many documents wait, whatever the interval.
    pub commit_max_docs: usize,
}

/// Takes the data folder for this process: an exclusive lock on `<data_dir>/earshot.lock`, held until
/// the returned file is dropped. A second server on the same folder fails at once with the path in the
/// message, before it listens (Tantivy's own lock would only refuse later, naming no path).
pub fn lock_data_dir(data_dir: &Path) -> Result<std::fs::File, StorageError> {
    let setup = |what: &str, e: std::io::Error| StorageError::Setup(format!("{what} {}: {e}", data_dir.display()));
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
        Err(std::fs::TryLockError::WouldBlock) => Err(StorageError::Setup(format!(
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

impl Storage {
    /// Opens index and log under `options.data_dir`, rebuilds the dedupe keys and replays the log
    /// through the labelling stage. Blocking.
    pub fn open(options: &StorageOptions, classifier: Option<ClassifierHandle>) -> Result<Storage, StorageError> {
        let (feedback, on_commit, committed) = CommitFeedback::new();
        let index_options = IndexerOptions {
            commit: CommitPolicy {
                interval: options.commit_interval,
                max_docs: options.commit_max_docs,
                ..CommitPolicy::default()
            },
            writer_memory_bytes: options.index_memory_bytes,
            writer_threads: options.index_threads,
            ..IndexerOptions::default()
        };
        let indexer = Arc::new(Indexer::open(&options.data_dir.join("index"), index_options, on_commit)?);
        let seen = Arc::new(SeenKeys::default());
        indexer.for_each_key(|key| {
            seen.insert(key_hash(key));
        })?;
        let indexed = seen.len();
        let stage = pipeline::spawn_stage(classifier, indexer.sender());
        let wal_options = WalOptions { salvage: options.wal_salvage, ..WalOptions::default() };
        let (wal, replay) = Wal::open(&options.data_dir.join("wal"), wal_options, pipeline::log_sink(stage.clone()))?;
        let wal = Arc::new(wal);
        feedback.attach(wal.clone());
        let replayed = replay.records.len();
        let last_position = replay.records.last().map(|(p, _)| *p);
        let first_position = replay.records.first().map(|(p, _)| *p);
        let mentions: Vec<_> = pipeline::decode_records(records::drop_deleted(replay.records))
            .into_iter()
            .filter(|(_, m)| seen.insert(key_hash(&mention_key(&m.tenant, &m.id))))
            .map(|(_, m)| m)
            .collect();
        let recovered = mentions.len();
        if stage.send(pipeline::StageBatch { mentions, last_position }).is_err() {
            return Err(StorageError::Join("labelling stage did not start".into()));
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

    /// Exports the index's commit counters and queue depth.
    pub fn export_metrics(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let indexer = &self.indexer;
        let m = metrics::global();
        let i = indexer.clone();
        m.add_source(Source {
            name: "earshot_index_commits",
            help: "Index commits",
            kind: MetricType::Counter,
            read: Box::new(move || i.metrics().get().commits.load(Relaxed) as f64),
        });
        let i = indexer.clone();
        m.add_source(Source {
            name: "earshot_index_committed_docs",
            help: "Documents made searchable by index commits",
            kind: MetricType::Counter,
            read: Box::new(move || i.metrics().get().docs_committed.load(Relaxed) as f64),
        });
        let i = indexer.clone();
        m.add_source(Source {
            name: "earshot_index_commit_seconds",
            help: "Total time spent in index commits (divide by commits for the mean commit latency)",
            kind: MetricType::Counter,
            read: Box::new(move || Duration::from_micros(i.metrics().get().commit_micros.load(Relaxed)).as_secs_f64()),
        });
        let i = indexer.clone();
        m.add_source(Source {
            name: "earshot_index_commit_failures",
            help: "Index commits that failed (e.g. a full disk) and were retried; nothing is dropped",
            kind: MetricType::Counter,
            read: Box::new(move || i.metrics().get().commit_failures.load(Relaxed) as f64),
        });
        let sender = indexer.sender();
        m.add_source(Source {
            name: "earshot_index_queue_depth",
            help: "Batches waiting for the indexing thread",
            kind: MetricType::Gauge,
            read: Box::new(move || sender.len() as f64),
        });
    }
}
