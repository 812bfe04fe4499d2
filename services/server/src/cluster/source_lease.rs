//! [`RedisSourceLease`]: the live sources' [`SourceLease`] in Redis, with the index owner's scripts (take
//! if free or ours, `SET … PX`; release only if ours), one key per source.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::index_feed::{LEASE_SCRIPT, RELEASE_SCRIPT};
use super::{Keys, RedisHandle};
use crate::metrics;
use crate::sources::lease::SourceLease;

/// Source leases held in Redis under this replica's name.
pub struct RedisSourceLease {
    redis: Arc<RedisHandle>,
    keys: Keys,
    owner: String,
}

impl RedisSourceLease {
    /// Leases named after `keys`, held as `owner` (the replica's consumer name).
    pub fn new(redis: Arc<RedisHandle>, keys: Keys, owner: String) -> RedisSourceLease {
        RedisSourceLease { redis, keys, owner }
    }
}

impl SourceLease for RedisSourceLease {
    fn hold<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let mut conn = self.redis.connection().await.map_err(|e| format!("source lease: {e}"))?;
            let held: redis::RedisResult<i64> = redis::Script::new(LEASE_SCRIPT)
                .key(self.keys.source_lease(key))
                .arg(&self.owner)
                .arg(ttl.as_millis() as u64)
                .invoke_async(&mut conn)
                .await;
            match held {
                Ok(held) => Ok(held == 1),
                Err(e) => {
                    metrics::global().redis_error("source_lease");
                    Err(format!("source lease: {e}"))
                }
            }
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Ok(mut conn) = self.redis.connection().await else { return };
            let released: redis::RedisResult<i64> = redis::Script::new(RELEASE_SCRIPT)
                .key(self.keys.source_lease(key))
                .arg(&self.owner)
                .invoke_async(&mut conn)
                .await;
            if let Err(e) = released {
                tracing::warn!(error = %e, "could not release a source lease; it lapses by itself");
            }
        })
    }
}
