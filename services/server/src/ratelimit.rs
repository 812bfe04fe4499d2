//! Per-caller rate limits, shared by every replica when Redis is configured.
//!
//! The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp): each
//! identity has a "theoretical arrival time"; a call moves it one emission interval (`1 / per_sec`)
//! into the future and is refused when that would put it more than `burst` intervals ahead of now.
//! With Redis the check is one atomic Lua script using Redis's clock, so N replicas enforce one limit;
//! without Redis (or while it is unreachable) an in-process limiter with the same arithmetic decides,
//! which then limits per replica.
//!
//! [`RateLimitLayer`] applies it to every `earshot.v1` call (health and reflection are exempt) and
//! answers `RESOURCE_EXHAUSTED` with `retry-after` metadata. Who the caller is comes from an identity
//! function: the tenant header today; the API key id once keys exist.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracing::warn;

use crate::cluster::{Keys, RedisHandle};
use crate::error::RateLimited;

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

/// Who a call counts against, from its HTTP/2 request head.
pub type IdentityFn = Arc<dyn Fn(&http::HeaderMap, &http::Extensions) -> String + Send + Sync>;

/// The caller's tenant (the `x-earshot-tenant` header), the identity until API keys exist.
pub fn tenant_identity() -> IdentityFn {
    Arc::new(|headers: &http::HeaderMap, _: &http::Extensions| {
        headers
            .get(crate::grpc::TENANT_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(crate::grpc::DEFAULT_TENANT)
            .to_owned()
    })
}

/// Tower layer applying a [`RateLimiter`] to `earshot.v1` calls; without a limiter it passes through.
#[derive(Clone)]
pub struct RateLimitLayer {
    limiter: Option<Arc<RateLimiter>>,
    identity: IdentityFn,
}

impl RateLimitLayer {
    /// A layer over `limiter` (`None`: no limits), counting calls per tenant.
    pub fn new(limiter: Option<Arc<RateLimiter>>) -> Self {
        RateLimitLayer { limiter, identity: tenant_identity() }
    }

    /// Counts calls against what `identity` returns instead (e.g. the API key id).
    pub fn with_identity(mut self, identity: IdentityFn) -> Self {
        self.identity = identity;
        self
    }
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService { inner, limiter: self.limiter.clone(), identity: self.identity.clone() }
    }
}

/// The service [`RateLimitLayer`] wraps around the routes.
#[derive(Clone)]
pub struct RateLimitService<S> {
    inner: S,
    limiter: Option<Arc<RateLimiter>>,
    identity: IdentityFn,
}

impl<S, B> tower::Service<http::Request<B>> for RateLimitService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call; the fresh clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limiter = self.limiter.clone().filter(|_| request.uri().path().starts_with("/earshot."));
        let Some(limiter) = limiter else { return Box::pin(inner.call(request)) };
        let identity = (self.identity)(request.headers(), request.extensions());
        Box::pin(async move {
            match limiter.check(&identity).await {
                Ok(()) => inner.call(request).await,
                Err(limited) => Ok(tonic::Status::from(limited).into_http()),
            }
        })
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
