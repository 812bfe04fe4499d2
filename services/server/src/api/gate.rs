//! The gate: a tower layer in front of every gRPC service.
//!
//! For each call it (1) lets health and reflection through untouched, (2) finds the caller — the API
//! key's [`Identity`] in [`AuthMode::Keys`], an anonymous admin of the `x-earshot-tenant` header's tenant
//! in [`AuthMode::Off`] — or answers `UNAUTHENTICATED`, (3) checks the role table or answers
//! `PERMISSION_DENIED` naming the roles needed, (4) puts the identity and an [`AuditNote`] into the
//! request's extensions (handlers read the tenant from there: [`super::tenant_of`]), and (5) when
//! the response is ready, counts it by method and code, times it, and writes the audit line — all
//! inside an `rpc` tracing span carrying method, tenant and key id.
//!
//! The status code is read from the response headers: errors are trailers-only responses with
//! `grpc-status` there; a response without it is a success whose status follows in the trailers (for a
//! stream, the code is that of its start).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::HeaderMap;
use tonic::body::Body;
use tonic::{Code, Status};
use tower::{Layer, Service};
use tracing::Instrument;

use earshot_proto::{DEFAULT_TENANT, TENANT_HEADER};

use super::status::decode_status;
use crate::auth::audit::{now_ms, AuditDetails, AuditLog, AuditNote, AuditRecord};
use crate::auth::keys::{AuthError, KeyRegistry};
use crate::auth::{roles, AuthMode, Identity};
use crate::metrics::{self, MethodLabels, RpcLabels};

struct Gate {
    mode: AuthMode,
    keys: Option<Arc<KeyRegistry>>,
    audit: Option<Arc<AuditLog>>,
}

/// The layer; build it once and add it with `Server::builder().layer(…)`.
#[derive(Clone)]
pub struct GateLayer(Arc<Gate>);

impl GateLayer {
    /// A gate in `mode`; `keys` is required for [`AuthMode::Keys`] (without it every call is refused).
    pub fn new(mode: AuthMode, keys: Option<Arc<KeyRegistry>>, audit: Option<Arc<AuditLog>>) -> GateLayer {
        GateLayer(Arc::new(Gate { mode, keys, audit }))
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = GateService<S>;

    fn layer(&self, inner: S) -> GateService<S> {
        GateService { gate: self.0.clone(), inner }
    }
}

/// The layer's service.
#[derive(Clone)]
pub struct GateService<S> {
    gate: Arc<Gate>,
    inner: S,
}

/// The key a call presents: `authorization: Bearer <key>` or `x-api-key: <key>`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

impl Gate {
    fn identify(&self, headers: &HeaderMap) -> Result<Identity, Status> {
        match self.mode {
            AuthMode::Off => {
                let tenant = headers.get(TENANT_HEADER).and_then(|v| v.to_str().ok()).unwrap_or(DEFAULT_TENANT);
                Ok(Identity::anonymous(tenant.to_owned()))
            }
            AuthMode::Keys => {
                let token = presented_key(headers).ok_or(AuthError::Missing);
                let registry = self.keys.as_ref().ok_or(AuthError::Invalid);
                token
                    .and_then(|t| registry.and_then(|r| r.authenticate(t)))
                    .map_err(|e| Status::unauthenticated(e.to_string()))
            }
        }
    }

    fn finish(&self, method: &str, who: Option<&Identity>, code: Code, started: Instant, details: AuditDetails) {
        let elapsed = started.elapsed();
        let code_name = format!("{code:?}");
        let m = metrics::global();
        // Anyone can make up a path, authenticated or not, and each label value is a series kept for
        // the life of the process: only methods of the contract are labelled by name.
        let label = metrics::method_label(method);
        m.rpc_requests.get_or_create(&RpcLabels { method: label.to_owned(), code: code_name.clone() }).inc();
        m.rpc_seconds.get_or_create(&MethodLabels { method: label.to_owned() }).observe(elapsed.as_secs_f64());
        // The audit trail keeps what was called, but never more of a path than a real method needs.
        let method = bounded(method, 128);
        if let Some(audit) = &self.audit {
            audit.write(&AuditRecord {
                ts_ms: now_ms(),
                key_id: who.map_or("", |w| w.key_id.as_str()),
                tenant: who.map_or("", |w| w.tenant.as_str()),
                method,
                code: &code_name,
                duration_ms: elapsed.as_secs_f64() * 1e3,
                details,
            });
        }
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn bounded(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S> Service<http::Request<Body>> for GateService<S>
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

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // The service that was polled ready handles this call; the clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path().to_owned();
        if roles::is_public(&path) {
            return Box::pin(inner.call(request));
        }
        let gate = self.gate.clone();
        let started = Instant::now();
        let refuse = |gate: &Gate, who: Option<&Identity>, status: Status| -> Self::Future {
            gate.finish(&path, who, status.code(), started, AuditDetails::default());
            Box::pin(std::future::ready(Ok(status.into_http())))
        };
        let identity = match gate.identify(request.headers()) {
            Ok(identity) => identity,
            Err(status) => return refuse(&gate, None, status),
        };
        if let Err(why) = roles::authorize(&path, &identity.roles) {
            return refuse(&gate, Some(&identity), Status::permission_denied(why));
        }
        let note = AuditNote::default();
        request.extensions_mut().insert(identity.clone());
        request.extensions_mut().insert(note.clone());
        let span = tracing::info_span!("rpc", method = %path, tenant = %identity.tenant, key_id = %identity.key_id);
        Box::pin(
            async move {
                let mut response = inner.call(request).await?;
                let mut code =
                    response.headers().get("grpc-status").map_or(Code::Ok, |v| Code::from_bytes(v.as_bytes()));
                // tonic's codec reports a request that is not valid protobuf as INTERNAL before any
                // handler runs; it is the caller's mistake.
                if code == Code::Internal {
                    if let Some(status) = Status::from_header_map(response.headers()) {
                        let status = decode_status(status);
                        if status.code() != Code::Internal {
                            code = status.code();
                            response = status.into_http();
                        }
                    }
                }
                gate.finish(&path, Some(&identity), code, started, note.take());
                Ok(response)
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_bearer_or_x_api_key() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert("x-api-key", "esk_a_b".parse().expect("header"));
        assert_eq!(presented_key(&h), Some("esk_a_b"));
        h.insert(http::header::AUTHORIZATION, "bearer  esk_c_d ".parse().expect("header"));
        assert_eq!(presented_key(&h), Some("esk_c_d"));
        h.insert(http::header::AUTHORIZATION, "Basic abc".parse().expect("header"));
        assert_eq!(presented_key(&h), None);
    }

    #[test]
    fn off_mode_takes_the_tenant_header_and_keys_mode_ignores_it() {
        let off = Gate { mode: AuthMode::Off, keys: None, audit: None };
        let mut h = HeaderMap::new();
        assert_eq!(off.identify(&h).expect("anonymous").tenant, DEFAULT_TENANT);
        h.insert(TENANT_HEADER, "acme".parse().expect("header"));
        assert_eq!(off.identify(&h).expect("anonymous").tenant, "acme");
        let keys = Gate { mode: AuthMode::Keys, keys: None, audit: None };
        assert_eq!(keys.identify(&h).expect_err("no key").code(), Code::Unauthenticated);
    }
}
