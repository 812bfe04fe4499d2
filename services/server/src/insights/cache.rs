//! A cache of computed results (insights) keyed by tenant + request, invalidated by index commits.
//!
//! Invalidation is by generation: every entry is stored under the tenant's generation current when its
//! computation *started*, and a commit moves the generation on, so entries computed before the commit
//! are never read again (they expire by TTL). Use it as: `lookup` → on a miss compute → `put` with the
//! lookup's generation. A result computed across a commit is thus stored under the old generation and
//! cannot shadow fresher data.
//!
//! - `crate::cluster::cache::RedisCache` (`--redis-url`): shared by every replica; the generation is a
//!   per-tenant counter the index owner increments after each commit that touched the tenant (see
//!   `cluster::index_feed`).
//! - [`LocalCache`]: an in-process LRU; the generation is the index's commit count (every commit
//!   invalidates every tenant) plus explicit per-tenant bumps.
//!
//! The cache is best effort: a Redis failure reads as a miss and a put that fails is dropped.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::governance::{Deletion, DeletionHook};

/// What [`ResultCache::lookup`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The cached bytes, if any.
    pub value: Option<Vec<u8>>,
    /// The generation to pass to `put` for a result computed now.
    pub generation: u64,
}

/// The stable key of a request: hex of a 128-bit hash of its encoded bytes.
pub fn request_key(encoded_request: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(encoded_request))
}

/// A cache of results per tenant and request.
#[tonic::async_trait]
pub trait ResultCache: Send + Sync {
    /// The cached result of `request` for `tenant` at the current generation.
    async fn lookup(&self, tenant: &str, request: &str) -> Lookup;
    /// Stores a result computed from the data as of `generation` (from the `lookup` before computing).
    async fn put(&self, tenant: &str, request: &str, generation: u64, value: Vec<u8>);
    /// Makes every cached result of `tenant` stale.
    async fn invalidate(&self, tenant: &str);
}

/// The in-process cache.
pub struct LocalCache {
    entries: Mutex<lru::LruCache<(String, u64, String), Vec<u8>>>,
    bumps: Mutex<HashMap<String, u64>>,
    commits: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl LocalCache {
    /// A cache of at most `capacity` results; `commits` reads the index's commit count.
    pub fn new(capacity: usize, commits: Arc<dyn Fn() -> u64 + Send + Sync>) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        LocalCache { entries: Mutex::new(lru::LruCache::new(capacity)), bumps: Mutex::default(), commits }
    }

    fn generation(&self, tenant: &str) -> u64 {
        // Commit counts and bumps only grow, so their sum moves on whenever either does.
        (self.commits)() + self.bumps.lock().get(tenant).copied().unwrap_or(0)
    }
}

#[tonic::async_trait]
impl ResultCache for LocalCache {
    async fn lookup(&self, tenant: &str, request: &str) -> Lookup {
        let generation = self.generation(tenant);
        let value = self.entries.lock().get(&(tenant.to_owned(), generation, request.to_owned())).cloned();
        Lookup { value, generation }
    }

    async fn put(&self, tenant: &str, request: &str, generation: u64, value: Vec<u8>) {
        self.entries.lock().put((tenant.to_owned(), generation, request.to_owned()), value);
    }

    async fn invalidate(&self, tenant: &str) {
        *self.bumps.lock().entry(tenant.to_owned()).or_default() += 1;
    }
}

/// Makes the cached results of every tenant a deletion touched stale before the erasure answers: a
/// deletion moves the local commit count, but not a Redis generation, which only the index feed bumps.
pub struct InvalidateOnDelete {
    cache: Arc<dyn ResultCache>,
    runtime: tokio::runtime::Handle,
}

impl InvalidateOnDelete {
    /// A hook on `cache`; call inside the runtime.
    pub fn new(cache: Arc<dyn ResultCache>) -> Self {
        InvalidateOnDelete { cache, runtime: tokio::runtime::Handle::current() }
    }
}

impl DeletionHook for InvalidateOnDelete {
    fn deleted(&self, deletion: &Deletion<'_>) {
        let tenants: std::collections::BTreeSet<&str> =
            deletion.keys.iter().filter_map(|k| k.split(earshot_indexer::doc::KEY_SEPARATOR).next()).collect();
        // Hooks run on a blocking thread, so waiting here is fine, and needed: the erasure answers after.
        self.runtime.block_on(async {
            for tenant in tenants {
                self.cache.invalidate(tenant).await;
            }
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// The contract every implementation keeps (here against the local one, in `cluster::redis_tests`
    /// against Redis); `commit` does what an index commit does to the cache.
    pub(crate) async fn contract<F, Fut>(cache: &dyn ResultCache, commit: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let first = cache.lookup("t1", "q").await;
        assert_eq!(first.value, None);
        cache.put("t1", "q", first.generation, b"r1".to_vec()).await;
        assert_eq!(cache.lookup("t1", "q").await.value.as_deref(), Some(&b"r1"[..]));
        assert_eq!(cache.lookup("t2", "q").await.value, None, "tenants do not share entries");
        // Invalidation of one tenant.
        cache.invalidate("t1").await;
        let after = cache.lookup("t1", "q").await;
        assert_eq!(after.value, None);
        // A result computed before a commit, stored after it, is never read.
        commit().await;
        cache.put("t1", "q", after.generation, b"stale".to_vec()).await;
        let fresh = cache.lookup("t1", "q").await;
        assert_eq!(fresh.value, None);
        cache.put("t1", "q", fresh.generation, b"r2".to_vec()).await;
        assert_eq!(cache.lookup("t1", "q").await.value.as_deref(), Some(&b"r2"[..]));
    }

    #[tokio::test]
    async fn local_cache_keeps_the_contract() {
        let commits = Arc::new(AtomicU64::new(0));
        let read = commits.clone();
        let cache = LocalCache::new(16, Arc::new(move || read.load(Ordering::SeqCst)));
        contract(&cache, || async {
            commits.fetch_add(1, Ordering::SeqCst);
        })
        .await;
    }

    #[tokio::test]
    async fn local_cache_is_bounded() {
        let cache = LocalCache::new(2, Arc::new(|| 0));
        for q in ["a", "b", "c"] {
            cache.put("t", q, 0, q.as_bytes().to_vec()).await;
        }
        assert_eq!(cache.lookup("t", "a").await.value, None, "least recently used is dropped");
        assert!(cache.lookup("t", "c").await.value.is_some());
    }

    #[test]
    fn request_keys_are_stable_hex() {
        assert_eq!(request_key(b"x"), request_key(b"x"));
        assert_ne!(request_key(b"x"), request_key(b"y"));
        assert_eq!(request_key(b"x").len(), 32);
    }
}
