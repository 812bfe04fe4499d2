//! Keys of every mention stored (in the log or the index), for idempotent ingest. The local queue
//! checks them before the log, the index owner's feed before the index, and governance forgets the
//! keys it deletes.

use std::collections::HashSet;

use parking_lot::Mutex;

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
