//! The ingest domain: validate each mention, then hand the valid ones to the durable ingest queue
//! ([`crate::queue`]: the write-ahead log, or the shared Redis stream), which drops duplicates and
//! answers only once the rest are durable.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use earshot_proto::v1::{IngestResult, IngestStatus, Mention};
use parking_lot::Mutex;

use crate::error::IngestError;
use crate::queue::{IngestQueue, QueueError, Receipt};
use crate::validate::{validate_mention, validate_tenant};

/// How long `wait_searchable` (and a stream waiting out a full queue) waits for a commit before answering anyway (the data is durable).
pub const WAIT_SEARCHABLE_LIMIT: Duration = Duration::from_secs(30);

/// Keys of every mention stored (in the log or the index), for idempotent ingest.
#[derive(Default)]
pub struct SeenKeys(Mutex<HashSet<u128>>);

impl SeenKeys {
    /// Marks a key as stored; false when it already was.
    pub fn insert(&self, hash: u128) -> bool {
        self.0.lock().insert(hash)
    }

    /// Forgets keys (after a failed append, or once their mentions are deleted).
    pub fn remove_all(&self, hashes: &[u128]) {
        let mut set = self.0.lock();
        for h in hashes {
            set.remove(h);
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Outcome of one ingest call.
#[derive(Debug, Default)]
pub struct IngestOutcome {
    /// One result per mention, in request order.
    pub results: Vec<IngestResult>,
    /// Whether the accepted mentions were searchable on return (only checked with `wait_searchable`).
    pub searchable: bool,
}

/// A batch stored by [`Ingestor::store`], not yet reported.
#[derive(Debug)]
pub struct Stored {
    /// One result per mention, in request order.
    pub results: Vec<IngestResult>,
    /// Where the accepted mentions went.
    pub receipt: Receipt,
}

/// An id as echoed back in a result: ids over the accepted length are rejected, and the echo must not
/// carry an unbounded input back (clients cap the size of what they read).
fn bounded_id(id: &str) -> String {
    const MAX_ECHO: usize = 300;
    if id.len() <= MAX_ECHO {
        return id.to_owned();
    }
    let mut end = MAX_ECHO;
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &id[..end])
}

/// The ingest domain service.
pub struct Ingestor {
    queue: Arc<dyn IngestQueue>,
    max_batch: usize,
    pii: crate::redact::PiiPolicy,
}

fn now_timestamp() -> prost_types::Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 }
}

impl Ingestor {
    /// A new ingestor storing into `queue` (the local write-ahead log or the shared Redis stream).
    pub fn new(queue: Arc<dyn IngestQueue>, max_batch: usize) -> Self {
        Ingestor { queue, max_batch, pii: Default::default() }
    }

    /// Redacts e-mail addresses and phone numbers in the texts of the tenants `pii` covers, before the queue.
    pub fn with_pii(mut self, pii: crate::redact::PiiPolicy) -> Self {
        self.pii = pii;
        self
    }

    /// Ingests a batch for `tenant`; returns once every accepted mention is durable (and searchable when
    /// `wait_searchable`). With `retry_when_busy` a full queue is waited out (streams apply
    /// back-pressure instead of failing), otherwise it fails at once.
    pub async fn ingest(
        &self,
        tenant: &str,
        mentions: Vec<Mention>,
        wait_searchable: bool,
        retry_when_busy: bool,
    ) -> Result<IngestOutcome, IngestError> {
        let stored = self.store(tenant, mentions, retry_when_busy).await?;
        Ok(self.finish(stored, wait_searchable).await)
    }

    /// The first half of [`Ingestor::ingest`]: validates and stores the batch; on success every accepted
    /// mention is durable, on error nothing of the batch is stored.
    pub async fn store(
        &self,
        tenant: &str,
        mentions: Vec<Mention>,
        retry_when_busy: bool,
    ) -> Result<Stored, IngestError> {
        validate_tenant(tenant).map_err(IngestError::InvalidTenant)?;
        if mentions.len() > self.max_batch {
            return Err(IngestError::BatchTooLarge { size: mentions.len(), max: self.max_batch });
        }
        let ingested_at = now_timestamp();
        let redact = self.pii.applies_to(tenant);
        let mut results = Vec::with_capacity(mentions.len());
        let mut valid = Vec::new();
        let mut valid_results = Vec::new();
        for (index, mut mention) in mentions.into_iter().enumerate() {
            let mut result = IngestResult { index: index as u32, id: bounded_id(&mention.id), ..Default::default() };
            match validate_mention(&mut mention, tenant) {
                Err(rejection) => {
                    result.status = IngestStatus::Rejected as i32;
                    result.field = rejection.field.to_owned();
                    result.reason = rejection.reason;
                }
                Ok(()) => {
                    if redact {
                        crate::redact::redact_mention(&mut mention);
                    }
                    mention.ingested_at = Some(ingested_at);
                    valid.push(mention);
                    valid_results.push(results.len());
                }
            }
            results.push(result);
        }
        let appended = self.queue.append(valid, retry_when_busy).await.map_err(|e| match e {
            QueueError::Busy => IngestError::Overloaded,
            QueueError::Backlog { behind, limit } => IngestError::Backlogged { behind, limit },
            QueueError::Unavailable(why) => IngestError::Unavailable(why),
        })?;
        for (slot, fresh) in valid_results.into_iter().zip(appended.fresh) {
            results[slot].status =
                if fresh { IngestStatus::Accepted as i32 } else { IngestStatus::Duplicate as i32 };
        }
        Ok(Stored { results, receipt: appended.receipt })
    }

    /// The second half of [`Ingestor::ingest`]: waits (when asked) until the stored batch is searchable.
    pub async fn finish(&self, stored: Stored, wait_searchable: bool) -> IngestOutcome {
        let Stored { results, receipt } = stored;
        let searchable = wait_searchable && self.queue.wait_searchable(&receipt, WAIT_SEARCHABLE_LIMIT).await;
        IngestOutcome { results, searchable }
    }
}
