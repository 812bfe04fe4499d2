//! The gRPC face of the server: thin tonic adapters over the domains, the tower layers every call
//! passes, and the one mapping of domain errors onto status codes. Nothing below this folder sees a
//! `tonic::Request`.
//!
//! # Layout
//! - [`gate`]: authentication (API key or `--auth off`), the role check, the identity and audit note
//!   in the request's extensions, RPC metrics and the audit line. Outermost layer.
//! - [`rate_limit`]: per-caller rate limits (after the gate, so they count per API key).
//! - [`ready`]: reads answer `UNAVAILABLE` until the index holds what the log replayed.
//! - [`ingest`], [`search`] (search, topics), [`classify`], [`insights`] (insights, KPIs, alerts,
//!   through the results cache), [`governance`] (erasure, who-am-I), [`sources`] (live sources): the adapters. Each takes the
//!   tenant from the caller's identity ([`tenant_of`]), unwraps the request, calls the domain and
//!   converts the answer.
//! - [`status`]: every domain error → `tonic::Status` (field violations, retry hints).

pub mod classify;
pub mod gate;
pub mod governance;
pub mod ingest;
pub mod insights;
pub mod rate_limit;
pub mod ready;
pub mod search;
pub mod sources;
pub mod status;

use std::pin::Pin;

use earshot_proto::DEFAULT_TENANT;
use futures::Stream;
use tonic::{Request, Status};

use crate::auth::Identity;

/// A server stream of `T`.
pub type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The caller's tenant: that of the [`Identity`] the gate layer authenticated (with `--auth off`, the
/// `x-earshot-tenant` header's). Never read a tenant from the request itself.
pub fn tenant_of<T>(request: &Request<T>) -> String {
    request.extensions().get::<Identity>().map_or_else(|| DEFAULT_TENANT.to_owned(), |who| who.tenant.clone())
}
