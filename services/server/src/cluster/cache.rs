//! The results cache of the insights shared through Redis: every replica reads and fills it, and the
//! index owner moves a tenant's generation on after each commit that touched the tenant (see
//! [`super::index_feed`]). The contract is [`ResultCache`]'s.

use std::sync::Arc;
use std::time::Duration;

use super::{Keys, RedisHandle};
use crate::insights::cache::{Lookup, ResultCache};

/// KEYS: the tenant's generation. ARGV: key prefix up to the generation, request key.
const LOOKUP_SCRIPT: &str = r"
local g = redis.call('GET', KEYS[1]) or '0'
return {g, redis.call('GET', ARGV[1] .. g .. ':' .. ARGV[2])}
";

/// The cache shared through Redis.
pub struct RedisCache {
    redis: Arc<RedisHandle>,
    keys: Keys,
    ttl: Duration,
    script: redis::Script,
}

impl RedisCache {
    /// A cache on `redis` whose entries live at most `ttl`.
    pub fn new(redis: Arc<RedisHandle>, keys: Keys, ttl: Duration) -> Self {
        RedisCache { redis, keys, ttl, script: redis::Script::new(LOOKUP_SCRIPT) }
    }

    async fn try_lookup(&self, tenant: &str, request: &str) -> redis::RedisResult<Lookup> {
        let mut conn = self.redis.connection().await?;
        let cached = self.keys.cached(tenant, 0, request);
        // `…:cache:{tenant}:` — the script appends the generation and the request.
        let prefix = cached.strip_suffix(&format!("0:{request}")).unwrap_or(&cached).to_owned();
        let (generation, value): (u64, Option<Vec<u8>>) =
            self.script.key(self.keys.generation(tenant)).arg(prefix).arg(request).invoke_async(&mut conn).await?;
        Ok(Lookup { value, generation })
    }
}

#[tonic::async_trait]
impl ResultCache for RedisCache {
    async fn lookup(&self, tenant: &str, request: &str) -> Lookup {
        match self.try_lookup(tenant, request).await {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(error = %e, "cache lookup failed; computing");
                // Generation u64::MAX: a put after a failed lookup stores nothing anyone reads.
                Lookup { value: None, generation: u64::MAX }
            }
        }
    }

    async fn put(&self, tenant: &str, request: &str, generation: u64, value: Vec<u8>) {
        if generation == u64::MAX {
            return;
        }
        let Ok(mut conn) = self.redis.connection().await else { return };
        let key = self.keys.cached(tenant, generation, request);
        let ttl_ms = self.ttl.as_millis().max(1) as u64;
        let stored: redis::RedisResult<()> =
            redis::cmd("SET").arg(key).arg(value).arg("PX").arg(ttl_ms).query_async(&mut conn).await;
        if let Err(e) = stored {
            tracing::debug!(error = %e, "cache put failed");
        }
    }

    async fn invalidate(&self, tenant: &str) {
        if let Ok(mut conn) = self.redis.connection().await {
            let _: redis::RedisResult<u64> =
                redis::cmd("INCR").arg(self.keys.generation(tenant)).query_async(&mut conn).await;
        }
    }
}
