//! Data governance: erasing an author's mentions (GDPR requests) and deleting expired ones (retention),
//! from the index, the write-ahead log and the dedupe keys, with hooks for caches to forget them.
//!
//! - this module: [`Governance`] (erase by author, delete by key), [`GovernanceError`], and the
//!   [`DeletionHook`]s that caches register.
//! - [`retention`]: per-tenant retention and the background job applying it.
//!
//! Deletions leave control records in the write-ahead log (`crate::ingest::records`), so that they
//! survive a replay.

pub mod retention;

use std::sync::Arc;
use std::time::Duration;

use earshot_indexer::doc::{key_hash, KEY_SEPARATOR};
use earshot_indexer::Indexer;
use earshot_wal::Wal;
use parking_lot::RwLock;
use tokio::sync::watch;

use crate::ingest::records::{self, normalise_handle, Control, KEYS_PER_RECORD};
use crate::ingest::validate::validate_tenant;
use crate::ingest::SeenKeys;
use crate::storage::Storage;

/// How long an erasure waits for earlier ingests to reach the index.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(30);
/// How often an erasure that waits for the index asks it to commit.
const NUDGE_EVERY: Duration = Duration::from_millis(20);

/// Errors of the governance domain.
#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
    /// A request field is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The log or the index cannot take the deletion now (overloaded, shutting down, I/O).
    #[error("governance unavailable: {0}")]
    Unavailable(String),
    /// The index failed.
    #[error("index failure: {0}")]
    Index(String),
}

/// Why mentions were deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionReason {
    /// An erasure request for their author.
    EraseAuthor,
    /// They were older than their tenant's retention.
    Retention,
}

impl DeletionReason {
    /// Lower-case name (metrics label).
    pub fn name(self) -> &'static str {
        match self {
            DeletionReason::EraseAuthor => "erase_author",
            DeletionReason::Retention => "retention",
        }
    }
}

/// Mentions that were just deleted (the deletion is committed).
#[derive(Debug)]
pub struct Deletion<'a> {
    /// Why.
    pub reason: DeletionReason,
    /// Their keys, `tenant \x1f id`, sorted.
    pub keys: &'a [String],
}

/// Told about every committed deletion, so that caches (insights, Redis) can drop what they derived.
pub trait DeletionHook: Send + Sync {
    /// Called after the deletion is committed, off the async workers; keep it short.
    fn deleted(&self, deletion: &Deletion<'_>);
}

/// Outcome of an erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    /// Ids of the erased mentions, sorted.
    pub ids: Vec<String>,
}

/// The governance domain service.
pub struct Governance {
    indexer: Arc<Indexer>,
    wal: Arc<Wal>,
    seen: Arc<SeenKeys>,
    committed: watch::Receiver<Option<u64>>,
    hooks: RwLock<Vec<Arc<dyn DeletionHook>>>,
}

fn id_of(key: &str) -> &str {
    key.split_once(KEY_SEPARATOR).map_or(key, |(_, id)| id)
}

impl Governance {
    /// A governance service over the server's storage.
    pub fn new(storage: &Storage) -> Governance {
        Governance {
            indexer: storage.indexer.clone(),
            wal: storage.wal.clone(),
            seen: storage.seen.clone(),
            committed: storage.committed.clone(),
            hooks: RwLock::new(Vec::new()),
        }
    }

    /// Adds a hook told about every deletion.
    pub fn add_hook(&self, hook: Arc<dyn DeletionHook>) {
        self.hooks.write().push(hook);
    }

    async fn append(&self, control: &Control) -> Result<Option<u64>, GovernanceError> {
        self.wal
            .append_waiting(vec![records::encode(control)], Some(CATCH_UP_LIMIT))
            .await
            .map_err(|e| GovernanceError::Unavailable(e.to_string()))
    }

    /// Deletes mentions by key everywhere: a trace in the log first (so a replay cannot bring them
    /// back), then the index (committed before this returns), the dedupe keys, and the hooks.
    pub async fn delete_keys(&self, keys: Vec<String>, reason: DeletionReason) -> Result<(), GovernanceError> {
        if keys.is_empty() {
            return Ok(());
        }
        for chunk in keys.chunks(KEYS_PER_RECORD) {
            self.append(&Control::Deleted { keys: chunk.to_vec() }).await?;
        }
        let indexer = self.indexer.clone();
        let seen = self.seen.clone();
        let hooks: Vec<_> = self.hooks.read().clone();
        let n = keys.len() as u64;
        tokio::task::spawn_blocking(move || {
            indexer.delete_keys(&keys).map_err(|e| GovernanceError::Index(e.to_string()))?;
            let hashes: Vec<u128> = keys.iter().map(|k| key_hash(k)).collect();
            seen.remove_all(&hashes);
            let deletion = Deletion { reason, keys: &keys };
            for hook in &hooks {
                hook.deleted(&deletion);
            }
            Ok::<_, GovernanceError>(())
        })
        .await
        .map_err(|e| GovernanceError::Index(e.to_string()))??;
        crate::metrics::global().deleted(reason.name(), n);
        tracing::info!(reason = reason.name(), deleted = n, "mentions deleted");
        Ok(())
    }

    /// Waits until the index has committed log position `position`, asking the indexing thread to
    /// commit every [`NUDGE_EVERY`] rather than waiting out its commit interval.
    async fn catch_up(&self, position: u64) -> Result<(), GovernanceError> {
        let give_up = tokio::time::Instant::now() + CATCH_UP_LIMIT;
        let mut committed = self.committed.clone();
        loop {
            if committed.borrow_and_update().is_some_and(|c| c >= position) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= give_up {
                return Err(GovernanceError::Unavailable("the index did not catch up in time; retry".into()));
            }
            match tokio::time::timeout(NUDGE_EVERY, committed.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(GovernanceError::Unavailable("the index is shutting down".into())),
                Err(_) => {
                    let indexer = self.indexer.clone();
                    tokio::task::spawn_blocking(move || indexer.commit())
                        .await
                        .map_err(|e| GovernanceError::Index(e.to_string()))?
                        .map_err(|e| GovernanceError::Unavailable(e.to_string()))?;
                }
            }
        }
    }

    /// Erases every mention of `tenant` by the author with this id or handle. Returns once the deletion
    /// is committed: searches started afterwards do not see them, and a restart does not bring them back.
    pub async fn erase_author(
        &self,
        tenant: &str,
        author_id: &str,
        author_handle: &str,
    ) -> Result<Erased, GovernanceError> {
        validate_tenant(tenant).map_err(|reason| GovernanceError::InvalidArgument { field: "tenant", reason })?;
        let author_id = author_id.trim();
        let author_handle = normalise_handle(author_handle);
        if author_id.is_empty() && author_handle.is_empty() {
            return Err(GovernanceError::InvalidArgument {
                field: "author_id",
                reason: "give the author's id, handle, or both".into(),
            });
        }
        if author_handle.chars().any(char::is_whitespace) {
            return Err(GovernanceError::InvalidArgument {
                field: "author_handle",
                reason: "must be a single word".into(),
            });
        }
        // 1. Mark the erasure in the log: older records of this author are now dropped on replay.
        let mark = Control::EraseAuthor {
            tenant: tenant.to_owned(),
            author_id: author_id.to_owned(),
            author_handle: author_handle.clone(),
        };
        let position = self.append(&mark).await?;
        // 2. Wait until everything logged before the mark is indexed, so the index lists it all.
        if let Some(position) = position {
            self.catch_up(position).await?;
        }
        // 3. List and delete by key.
        let indexer = self.indexer.clone();
        let (tenant_owned, id_owned, handle_owned) = (tenant.to_owned(), author_id.to_owned(), author_handle);
        let keys = tokio::task::spawn_blocking(move || {
            let Some(query) = indexer.author_query(&tenant_owned, &id_owned, &handle_owned) else {
                return Ok(Vec::new());
            };
            indexer.keys_matching(&*query)
        })
        .await
        .map_err(|e| GovernanceError::Index(e.to_string()))?
        .map_err(|e| GovernanceError::Index(e.to_string()))?;
        let ids = keys.iter().map(|k| id_of(k).to_owned()).collect();
        self.delete_keys(keys, DeletionReason::EraseAuthor).await?;
        Ok(Erased { ids })
    }
}

#[cfg(test)]
mod tests;
