//! Read readiness: while the index has not yet committed what the write-ahead log replayed on start,
//! every call that reads the index (search, count, insights, KPI reads) answers `UNAVAILABLE` with a
//! retry hint instead of a partial answer with `OK`.
//!
//! A tower layer, so the gRPC services (and any other adapter put behind it) are gated in one place;
//! health still says `NOT_SERVING` for search in the same window.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::watch;
use tonic::body::Body;
use tower::{Layer, Service};

/// Services whose answers depend on the index being complete.
const GATED: &[&str] = &["/earshot.v1.SearchService/", "/earshot.v1.InsightsService/", "/earshot.v1.KpiService/"];

/// Whether a call to `path` must wait for the replay.
fn gated(path: &str) -> bool {
    GATED.iter().any(|p| path.starts_with(p)) && !path.ends_with("/Validate")
}

/// The layer; `ready` turns true once the replay is committed (and stays so).
#[derive(Clone)]
pub struct ReadyLayer {
    ready: watch::Receiver<bool>,
}

impl ReadyLayer {
    /// Gates reads on `ready`.
    pub fn new(ready: watch::Receiver<bool>) -> Self {
        ReadyLayer { ready }
    }
}

impl<S> Layer<S> for ReadyLayer {
    type Service = ReadyService<S>;

    fn layer(&self, inner: S) -> ReadyService<S> {
        ReadyService { ready: self.ready.clone(), inner }
    }
}

/// The layer's service.
#[derive(Clone)]
pub struct ReadyService<S> {
    ready: watch::Receiver<bool>,
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S> Service<http::Request<Body>> for ReadyService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !*self.ready.borrow() && gated(request.uri().path()) {
            let status = super::status::not_ready();
            return Box::pin(std::future::ready(Ok(status.into_http())));
        }
        Box::pin(inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_gated_and_writes_and_checks_are_not() {
        assert!(gated("/earshot.v1.SearchService/Count"));
        assert!(gated("/earshot.v1.InsightsService/Volume"));
        assert!(!gated("/earshot.v1.SearchService/Validate"));
        assert!(!gated("/earshot.v1.IngestService/Ingest"));
        assert!(!gated("/grpc.health.v1.Health/Check"));
    }
}
