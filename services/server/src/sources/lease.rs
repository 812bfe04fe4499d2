//! Who may run a source when several replicas could: a lease per source (tenant and name), taken or
//! renewed before every poll and handed back when the source stops. Without one (a single process) every
//! source runs. With Redis, `cluster::source_lease` implements it; a replica that takes over from one
//! that died re-reads from its own checkpoint, and the shared dedupe set drops what the other stored.

use std::time::Duration;

use futures::future::BoxFuture;

/// A lease per source.
pub trait SourceLease: Send + Sync {
    /// Takes or renews the lease named `key` for `ttl`; false while another replica holds it.
    fn hold<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool, String>>;
    /// Hands the lease back if this replica holds it.
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;
}

/// How long a lease lasts: several poll intervals, so that the holder renews it well before it lapses,
/// and at least 2 s.
pub fn ttl(poll_interval: Duration) -> Duration {
    (poll_interval * 3).max(Duration::from_secs(2))
}
