//! The ingest domain: validate each mention, drop duplicates, append the rest to the write-ahead log
//! and answer only once they are durable.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use earshot_indexer::doc::{key_hash, mention_key};
use earshot_proto::v1::{IngestResult, IngestStatus, Mention};
use earshot_wal::{Wal, WalError};
use parking_lot::Mutex;
use prost::Message;
use tokio::sync::watch;

use crate::error::IngestError;
use crate::validate::{validate_mention, validate_tenant};

/// How long `wait_searchable` waits for a commit before answering anyway (the data is durable).
const WAIT_SEARCHABLE_LIMIT: Duration = Duration::from_secs(30);

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
    /// Log position of the last accepted mention.
    pub last_position: Option<u64>,
    /// Whether the accepted mentions were searchable on return (only checked with `wait_searchable`).
    pub searchable: bool,
}

/// The ingest domain service.
pub struct Ingestor {
    wal: Arc<Wal>,
    seen: Arc<SeenKeys>,
    committed: watch::Receiver<Option<u64>>,
    max_batch: usize,
    pii: crate::redact::PiiPolicy,
}

fn now_timestamp() -> prost_types::Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 }
}

impl Ingestor {
    /// A new ingestor writing to `wal`. `committed` carries the last log position the index has committed.
    pub fn new(
        wal: Arc<Wal>,
        seen: Arc<SeenKeys>,
        committed: watch::Receiver<Option<u64>>,
        max_batch: usize,
    ) -> Self {
        Ingestor { wal, seen, committed, max_batch, pii: Default::default() }
    }

    /// Redacts e-mail addresses and phone numbers in the texts of the tenants `pii` covers, before the log.
    pub fn with_pii(mut self, pii: crate::redact::PiiPolicy) -> Self {
        self.pii = pii;
        self
    }

    /// Ingests a batch for `tenant`; returns once every accepted mention is durable (and searchable when
    /// `wait_searchable`).
    pub async fn ingest(
        &self,
        tenant: &str,
        mentions: Vec<Mention>,
        wait_searchable: bool,
        retry_when_busy: bool,
    ) -> Result<IngestOutcome, IngestError> {
        validate_tenant(tenant).map_err(IngestError::InvalidTenant)?;
        if mentions.len() > self.max_batch {
            return Err(IngestError::BatchTooLarge { size: mentions.len(), max: self.max_batch });
        }
        let ingested_at = now_timestamp();
        let redact = self.pii.applies_to(tenant);
        let mut results = Vec::with_capacity(mentions.len());
        let mut records = Vec::new();
        let mut hashes = Vec::new();
        for (index, mut mention) in mentions.into_iter().enumerate() {
            let mut result = IngestResult { index: index as u32, id: mention.id.clone(), ..Default::default() };
            match validate_mention(&mut mention, tenant) {
                Err(rejection) => {
                    result.status = IngestStatus::Rejected as i32;
                    result.field = rejection.field.to_owned();
                    result.reason = rejection.reason;
                }
                Ok(()) => {
                    let hash = key_hash(&mention_key(tenant, &mention.id));
                    if self.seen.insert(hash) {
                        if redact {
                            crate::redact::redact_mention(&mut mention);
                        }
                        mention.ingested_at = Some(ingested_at);
                        records.push(mention.encode_to_vec());
                        hashes.push(hash);
                        result.status = IngestStatus::Accepted as i32;
                    } else {
                        result.status = IngestStatus::Duplicate as i32;
                    }
                }
            }
            results.push(result);
        }
        let last_position = match self.append(records, retry_when_busy).await {
            Ok(p) => p,
            Err(e) => {
                // Nothing of this batch is stored: forget its keys so a retry is not called a duplicate.
                self.seen.remove_all(&hashes);
                return Err(match e {
                    WalError::QueueFull => IngestError::Overloaded,
                    other => IngestError::Unavailable(other.to_string()),
                });
            }
        };
        let searchable = match (wait_searchable, last_position) {
            (true, Some(position)) => {
                let mut committed = self.committed.clone();
                let wait = committed.wait_for(|c| c.is_some_and(|c| c >= position));
                let reached = tokio::time::timeout(WAIT_SEARCHABLE_LIMIT, wait).await.is_ok_and(|r| r.is_ok());
                reached
            }
            _ => wait_searchable,
        };
        Ok(IngestOutcome { results, last_position, searchable })
    }

    /// Appends to the log; with `retry_when_busy` a full queue is waited out (streams apply
    /// back-pressure instead of failing), otherwise it fails at once with `QueueFull`.
    async fn append(&self, records: Vec<Vec<u8>>, retry_when_busy: bool) -> Result<Option<u64>, WalError> {
        self.wal.append_waiting(records, retry_when_busy.then_some(WAIT_SEARCHABLE_LIMIT)).await
    }
}
