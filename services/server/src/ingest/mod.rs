//! The ingest domain: validate each mention, then hand the valid ones to the durable ingest queue
//! ([`queue`]: the write-ahead log, or the shared Redis stream), which drops duplicates and answers
//! only once the rest are durable; after the log, the [`pipeline`] labels and indexes them.
//!
//! # Layout
//! - [`validate`]: checks of one mention (and a tenant name) at the boundary: field + reason.
//! - [`redact`]: PII redaction of texts before they are stored.
//! - [`seen`]: [`SeenKeys`], the keys of every stored mention (idempotent ingest).
//! - [`queue`]: the [`IngestQueue`] trait, the local queue over the write-ahead log, and the
//!   [`Backlog`] bound between what was acknowledged and what is searchable.
//! - [`records`]: what a log record is: a mention, or one of governance's control records.
//! - [`pipeline`]: log → labelling stage (sentiment model) → indexing thread; commits → log
//!   truncation; the re-classification job.
//! - this module: [`Ingestor`], the domain service the `Ingest` adapters call, and [`IngestError`].

pub mod pipeline;
pub mod queue;
pub mod records;
pub mod redact;
pub mod seen;
pub mod validate;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use earshot_proto::v1::{IngestResult, IngestStatus, Mention};

pub use queue::{Backlog, IngestQueue, LocalQueue};
pub use seen::SeenKeys;

use queue::{QueueError, Receipt};
use redact::PiiPolicy;
use validate::{validate_mention, validate_tenant};

/// How long `wait_searchable` (and a stream waiting out a full queue) waits for a commit before answering anyway (the data is durable).
pub const WAIT_SEARCHABLE_LIMIT: Duration = Duration::from_secs(30);

/// Errors of the ingest path.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// More mentions in one request than the server accepts.
    #[error("batch of {size} mentions is larger than the limit of {max}")]
    BatchTooLarge {
        /// Mentions in the request.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The write-ahead log queue is full; retry shortly.
    #[error("ingest queue is full, retry shortly")]
    Overloaded,
    /// Indexing and labelling are too far behind what was acknowledged; retry shortly.
    #[error("indexing is {behind} mentions behind what was acknowledged (the limit is {limit}); retry shortly")]
    Backlogged {
        /// Mentions acknowledged but not yet searchable.
        behind: u64,
        /// The bound (`--max-backlog`).
        limit: u64,
    },
    /// The tenant of the call is not valid.
    #[error("invalid tenant: {0}")]
    InvalidTenant(String),
    /// The log cannot take writes (I/O failure or shutting down).
    #[error("ingest unavailable: {0}")]
    Unavailable(String),
    /// The request stream itself failed (a message could not be read); its status as received.
    #[error("{}", .0.message())]
    Stream(tonic::Status),
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
    pii: PiiPolicy,
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
    pub fn with_pii(mut self, pii: PiiPolicy) -> Self {
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
                        redact::redact_mention(&mut mention);
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
            results[slot].status = if fresh { IngestStatus::Accepted as i32 } else { IngestStatus::Duplicate as i32 };
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
