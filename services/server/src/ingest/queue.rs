//! The durable ingest queue behind the ingest domain: what "stored, so we may acknowledge" means.
//!
//! Two implementations satisfy [`IngestQueue`]:
//! - [`LocalQueue`] (one process, no Redis): dedupe against an in-memory key set, then the write-ahead
//!   log (group commit, fsync). The log's sink feeds the labelling stage and the index.
//! - [`crate::cluster::RedisQueue`] (`--redis-url`): dedupe and append in one atomic Redis script onto a
//!   stream that workers on any replica consume (see `docs/adr/0004-redis-queue.md`).
//!
//! Both promise the same thing: `append` returns only once every fresh mention is durable, and a
//! mention reported as a duplicate was stored by an earlier call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use earshot_indexer::doc::{key_hash, mention_key};
use earshot_proto::v1::Mention;
use earshot_wal::{Wal, WalError};
use prost::Message;
use tokio::sync::watch;

use super::seen::SeenKeys;
use crate::metrics::{self, MetricType, Source};

/// Why a queue could not take a batch. Nothing of the batch is stored when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue is full (back-pressure); retry shortly.
    #[error("ingest queue is full")]
    Busy,
    /// Indexing is more than the bound behind what was acknowledged (back-pressure); retry shortly.
    #[error("indexing is {behind} mentions behind (limit {limit})")]
    Backlog {
        /// Acknowledged but not yet committed to the index.
        behind: u64,
        /// The bound.
        limit: u64,
    },
    /// The queue cannot take writes now (I/O failure, Redis unreachable, shutting down).
    #[error("{0}")]
    Unavailable(String),
}

/// Where an appended batch went, for waiting until it is searchable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Nothing was appended.
    Nothing,
    /// Write-ahead log position of the batch's last record.
    LogPosition(u64),
    /// Id of the batch's entry in the Redis ingest stream.
    StreamEntry(String),
}

/// Result of [`IngestQueue::append`].
#[derive(Debug)]
pub struct Appended {
    /// Per mention, in order: whether it was stored now (false: a duplicate of a stored one).
    pub fresh: Vec<bool>,
    /// Where the fresh ones went.
    pub receipt: Receipt,
}

/// A durable, deduplicating queue of mentions on their way to the index.
#[tonic::async_trait]
pub trait IngestQueue: Send + Sync {
    /// Stores the mentions (validated, tenant set) that are not stored yet; returns once they are
    /// durable. With `retry_when_busy` a full queue is waited out for a while instead of failing.
    async fn append(&self, mentions: Vec<Mention>, retry_when_busy: bool) -> Result<Appended, QueueError>;

    /// Waits at most `limit` until what `receipt` covers is searchable; whether it is.
    async fn wait_searchable(&self, receipt: &Receipt, limit: Duration) -> bool;
}

/// The one-process queue: in-memory dedupe keys in front of the write-ahead log.
pub struct LocalQueue {
    wal: Arc<Wal>,
    seen: Arc<SeenKeys>,
    committed: watch::Receiver<Option<u64>>,
    /// How long a stream waits out a full log queue or a backlog over the bound.
    busy_wait: Duration,
    backlog: Arc<Backlog>,
    /// Called when a caller starts waiting until searchable: the index commits at its ordinary pace
    /// then, not at a bulk load's slower one.
    hurry: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// How far indexing (labelling included) runs behind what the log acknowledged, and its bound.
///
/// Positions are dense in the log, so the distance between the last acknowledged position and the
/// last committed one counts the records in between. Before the first commit of this process the
/// base is the position just before the first one this process saw (replayed or appended).
pub struct Backlog {
    limit: u64,
    /// Last position acknowledged, plus one (0: none yet).
    acknowledged: AtomicU64,
    /// First position this process saw (u64::MAX: none yet).
    base: AtomicU64,
    committed: watch::Receiver<Option<u64>>,
}

impl Backlog {
    /// A bound of `limit` records; `replayed` is the range of positions replayed on start, if any.
    pub fn new(limit: u64, committed: watch::Receiver<Option<u64>>, replayed: Option<(u64, u64)>) -> Backlog {
        let (base, acknowledged) = replayed.map_or((u64::MAX, 0), |(first, last)| (first, last + 1));
        Backlog { limit, acknowledged: AtomicU64::new(acknowledged), base: AtomicU64::new(base), committed }
    }

    /// The bound.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Exports how far indexing runs behind acknowledged ingest, and the bound that turns ingest away.
    pub fn export_metrics(self: &Arc<Self>) {
        let m = metrics::global();
        let b = self.clone();
        m.add_source(Source {
            name: "earshot_ingest_backlog",
            help: "Mentions acknowledged but not yet committed to the index (labelling included)",
            kind: MetricType::Gauge,
            read: Box::new(move || b.behind() as f64),
        });
        let b = self.clone();
        m.add_source(Source {
            name: "earshot_ingest_backlog_limit",
            help: "Backlog above which ingest answers RESOURCE_EXHAUSTED (--max-backlog)",
            kind: MetricType::Gauge,
            read: Box::new(move || b.limit() as f64),
        });
    }

    /// Records acknowledged and not yet committed to the index.
    pub fn behind(&self) -> u64 {
        self.behind_of(*self.committed.borrow())
    }

    fn behind_of(&self, committed: Option<u64>) -> u64 {
        let acknowledged = self.acknowledged.load(Ordering::Acquire);
        if acknowledged == 0 {
            return 0;
        }
        let done = match committed {
            Some(c) => c + 1,
            None => self.base.load(Ordering::Acquire).min(acknowledged),
        };
        acknowledged.saturating_sub(done)
    }

    fn acknowledge(&self, first: u64, last: u64) {
        let _ = self.base.fetch_min(first, Ordering::AcqRel);
        self.acknowledged.fetch_max(last + 1, Ordering::AcqRel);
    }

    /// Waits at most `patience` for the backlog to fall under the bound; the error says how far behind.
    async fn admit(&self, patience: Option<Duration>) -> Result<(), QueueError> {
        let behind = self.behind();
        if behind <= self.limit {
            return Ok(());
        }
        if let Some(patience) = patience {
            let mut committed = self.committed.clone();
            let under = committed.wait_for(|c| self.behind_of(*c) <= self.limit);
            if tokio::time::timeout(patience, under).await.is_ok_and(|r| r.is_ok()) {
                return Ok(());
            }
        }
        Err(QueueError::Backlog { behind: self.behind(), limit: self.limit })
    }
}

impl LocalQueue {
    /// A queue writing to `wal`; `committed` carries the last log position the index has committed.
    pub fn new(
        wal: Arc<Wal>,
        seen: Arc<SeenKeys>,
        committed: watch::Receiver<Option<u64>>,
        busy_wait: Duration,
        backlog: Arc<Backlog>,
    ) -> Self {
        LocalQueue { wal, seen, committed, busy_wait, backlog, hurry: None }
    }

    /// Sets what asks the index to commit at its ordinary pace when someone waits.
    pub fn with_hurry(mut self, hurry: impl Fn() + Send + Sync + 'static) -> Self {
        self.hurry = Some(Arc::new(hurry));
        self
    }
}

#[tonic::async_trait]
impl IngestQueue for LocalQueue {
    async fn append(&self, mentions: Vec<Mention>, retry_when_busy: bool) -> Result<Appended, QueueError> {
        self.backlog.admit(retry_when_busy.then_some(self.busy_wait)).await?;
        let mut fresh = Vec::with_capacity(mentions.len());
        let mut records = Vec::new();
        let mut hashes = Vec::new();
        for mention in &mentions {
            let hash = key_hash(&mention_key(&mention.tenant, &mention.id));
            let new = self.seen.insert(hash);
            if new {
                records.push(mention.encode_to_vec());
                hashes.push(hash);
            }
            fresh.push(new);
        }
        let count = records.len() as u64;
        let appended = self.wal.append_waiting(records, retry_when_busy.then_some(self.busy_wait)).await;
        match appended {
            Ok(position) => {
                if let Some(last) = position {
                    self.backlog.acknowledge(last + 1 - count, last);
                }
                Ok(Appended { fresh, receipt: position.map_or(Receipt::Nothing, Receipt::LogPosition) })
            }
            Err(e) => {
                // Nothing of this batch is stored: forget its keys so a retry is not called a duplicate.
                self.seen.remove_all(&hashes);
                Err(match e {
                    WalError::QueueFull => QueueError::Busy,
                    other => QueueError::Unavailable(other.to_string()),
                })
            }
        }
    }

    async fn wait_searchable(&self, receipt: &Receipt, limit: Duration) -> bool {
        let Receipt::LogPosition(position) = *receipt else { return true };
        let mut committed = self.committed.clone();
        if !committed.borrow().is_some_and(|c| c >= position) {
            if let Some(hurry) = &self.hurry {
                hurry();
            }
        }
        let wait = committed.wait_for(|c| c.is_some_and(|c| c >= position));
        tokio::time::timeout(limit, wait).await.is_ok_and(|r| r.is_ok())
    }
}
