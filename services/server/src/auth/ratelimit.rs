//! Per-caller rate limits, shared by every replica when Redis is configured.
//!
//! The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp): each
//! identity has a "theoretical arrival time"; a call moves it one emission interval (`1 / per_sec`)
//! into the future and is refused when that would put it more than `burst` intervals ahead of now.
//! With Redis the check is one atomic Lua script using Redis's clock, so N replicas enforce one limit;
//! without Redis (or while it is unreachable) an in-process limiter with the same arithmetic decides,
//! which then limits per replica.
//!
//! The tower layer that applies it to calls is `crate::api::rate_limit`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracing::warn;

use crate::cluster::{Keys, RedisHandle};

/// A caller went over its rate limit.
#[derive(Debug, thiserror::Error)]
#[error("rate limit of {per_sec} calls per second exceeded; retry in {:.3} s", retry_after.as_secs_f64())]
pub struct RateLimited {
    /// When the next call would be allowed.
    pub retry_after: Duration,
    /// The sustained limit.
    pub per_sec: f64,
}

/// A limit: `per_sec` calls per second on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained calls per second.
    pub per_sec: f64,
    /// Calls allowed at once after a quiet period (at least 1).
    pub burst: u32,
}

impl RateLimit {
    fn interval_micros(&self) -> f64 {
        1_000_000.0 / self.per_sec.max(1e-6)
    }
}

/// KEYS: the bucket. ARGV: emission interval (µs), burst. Returns {allowed (0|1), retry after (µs)}.
const GCRA_SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if allow_at > now then return {0, math.ceil(allow_at - now)} end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
";

/// Most identities the local limiter remembers before dropping the idle ones.
const LOCAL_IDENTITIES: usize = 100_000;

/// In-process GCRA with the same arithmetic as the Redis script.
#[derive(Default)]
pub struct LocalLimiter {
    tat: Mutex<HashMap<String, Instant>>,
}

impl LocalLimiter {
    /// Decides one call of `identity` at `now`; `Err(retry_after)` when over the limit.
    pub fn check_at(&self, identity: &str, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let interval = Duration::from_secs_f64(limit.interval_micros() / 1e6);
        let mut map = self.tat.lock();
        if map.len() >= LOCAL_IDENTITIES {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(identity).copied().filter(|t| *t > now).unwrap_or(now);
        let new_tat = tat + interval;
        let allow_at = new_tat.checked_sub(interval * limit.burst.max(1)).unwrap_or(now);
        if allow_at > now {
            return Err(allow_at - now);
        }
        map.insert(identity.to_owned(), new_tat);
        Ok(())
    }
}

/// The limiter: Redis when configured and reachable, the local one otherwise.
pub struct RateLimiter {
    limit: RateLimit,
    local: LocalLimiter,
    redis: Option<(Arc<RedisHandle>, Keys)>,
    script: redis::Script,
    /// When Redis last failed: for a while after, calls go straight to the local limiter instead of
    /// each waiting for a failed connection attempt.
    redis_failed: Mutex<Option<Instant>>,
}

/// How long after a Redis failure the local limiter decides alone.
const REDIS_RETRY: Duration = Duration::from_secs(1);

impl RateLimiter {
    /// A limiter; with `redis` the buckets are shared by every replica.
    pub fn new(limit: RateLimit, redis: Option<(Arc<RedisHandle>, Keys)>) -> Self {
        let limit = RateLimit { per_sec: limit.per_sec, burst: limit.burst.max(1) };
        RateLimiter {
            limit,
            local: LocalLimiter::default(),
            redis,
            script: redis::Script::new(GCRA_SCRIPT),
            redis_failed: Mutex::new(None),
        }
    }

    /// Decides one call of `identity`.
    pub async fn check(&self, identity: &str) -> Result<(), RateLimited> {
        let limited = |retry_after| RateLimited { retry_after, per_sec: self.limit.per_sec };
        let recently_failed = self.redis_failed.lock().is_some_and(|t| t.elapsed() < REDIS_RETRY);
        if let Some((redis, keys)) = self.redis.as_ref().filter(|_| !recently_failed) {
            match self.check_redis(redis, keys, identity).await {
                Ok(decision) => {
                    if self.redis_failed.lock().take().is_some() {
                        tracing::info!("rate limits: Redis reachable again, limits are shared");
                    }
                    return decision.map_err(limited);
                }
                Err(e) => {
                    if self.redis_failed.lock().replace(Instant::now()).is_none() {
                        warn!(error = %e, "rate limits: Redis unreachable, limiting per replica until it returns");
                    }
                }
            }
        }
        self.local.check_at(identity, self.limit, Instant::now()).map_err(limited)
    }

    async fn check_redis(
        &self,
        redis: &RedisHandle,
        keys: &Keys,
        identity: &str,
    ) -> redis::RedisResult<Result<(), Duration>> {
        let mut conn = redis.connection().await?;
        let (allowed, retry_micros): (i64, i64) = self
            .script
            .key(keys.rate(identity))
            .arg(self.limit.interval_micros())
            .arg(self.limit.burst)
            .invoke_async(&mut conn)
            .await?;
        Ok(if allowed == 1 { Ok(()) } else { Err(Duration::from_micros(retry_micros.max(1) as u64)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_gcra_allows_burst_then_one_per_interval() {
        let limiter = LocalLimiter::default();
        let limit = RateLimit { per_sec: 10.0, burst: 3 };
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("k", limit, t0).is_ok());
        }
        let wait = limiter.check_at("k", limit, t0).expect_err("fourth at once is over the burst");
        // The next slot frees one interval (100 ms) after the first call's.
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-3, "{wait:?}");
        assert!(limiter.check_at("other", limit, t0).is_ok(), "identities are independent");
        assert!(limiter.check_at("k", limit, t0 + Duration::from_millis(100)).is_ok());
        assert!(limiter.check_at("k", limit, t0 + Duration::from_millis(100)).is_err());
        // After a quiet second the whole burst is back.
        let later = t0 + Duration::from_secs(2);
        for _ in 0..3 {
            assert!(limiter.check_at("k", limit, later).is_ok());
        }
        assert!(limiter.check_at("k", limit, later).is_err());
    }
}
