//! The rate-limit layer: applies the [`RateLimiter`] to every `earshot.v1` call (health and
//! reflection are exempt) and answers `RESOURCE_EXHAUSTED` with `retry-after` metadata. Who the caller
//! is comes from an identity function: the API key ([`rate_limit_identity`]), or with auth off the
//! tenant the call names.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use earshot_proto::{DEFAULT_TENANT, TENANT_HEADER};

use crate::auth::ratelimit::RateLimiter;
use crate::auth::Identity;

/// Who a call counts against, from its HTTP/2 request head.
pub type IdentityFn = Arc<dyn Fn(&http::HeaderMap, &http::Extensions) -> String + Send + Sync>;

/// The caller's tenant (the `x-earshot-tenant` header), the identity until API keys exist.
pub fn tenant_identity() -> IdentityFn {
    Arc::new(|headers: &http::HeaderMap, _: &http::Extensions| {
        headers.get(TENANT_HEADER).and_then(|v| v.to_str().ok()).unwrap_or(DEFAULT_TENANT).to_owned()
    })
}

/// Who a rate limit counts a call against: the API key, or with auth off the tenant the call names.
pub fn rate_limit_identity() -> IdentityFn {
    Arc::new(|headers: &http::HeaderMap, extensions: &http::Extensions| match extensions.get::<Identity>() {
        Some(id) if id.key_id != Identity::ANONYMOUS => format!("key:{}", id.key_id),
        Some(id) => format!("tenant:{}", id.tenant),
        None => format!("tenant:{}", (tenant_identity())(headers, extensions)),
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
