//! `earshot-http`: earshot over plain HTTP, for browsers and `curl`.
//!
//! - `POST /api/<service>/<Method>` takes the request message as canonical proto3 JSON, turns it into
//!   a gRPC call and hands it, in process, to the very service stack the gRPC port serves (auth gate,
//!   rate limits, read readiness, audit, metrics): one contract, one set of rules
//!   (`docs/adr/0006-http-json-api.md`). Server-streaming methods answer JSON lines as they come.
//! - Every other `GET` is an asset of the embedded web app (unknown paths get its `index.html`, so the
//!   app's own URLs can be shared and reloaded).

mod errors;
mod transcode;

use std::convert::Infallible;
use std::future::Future;

use axum::body::Body as HttpBody;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, BodyStream, Full};
use tonic::Status;
use tower::util::BoxCloneSyncService;
use tower::ServiceExt;

pub use errors::{error_json, http_status};
pub use transcode::Transcoder;

/// The gRPC service stack the API calls into: the same layered routes the gRPC listener serves.
pub type GrpcStack = BoxCloneSyncService<Request<tonic::body::Body>, http::Response<tonic::body::Body>, Infallible>;

/// An embedded file: its bytes and content type.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The file.
    pub bytes: &'static [u8],
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

/// Finds an embedded asset by path (`/`, `/assets/app.js`, …).
pub type Assets = fn(&str) -> Option<Asset>;

/// Request headers passed on to the gRPC call: who is calling, and for which tenant.
const FORWARDED: &[&str] = &["authorization", "x-api-key", "x-earshot-tenant", "grpc-timeout"];

#[derive(Clone)]
struct AppState {
    grpc: GrpcStack,
    transcoder: Transcoder,
    assets: Option<Assets>,
}

/// The HTTP app: the JSON API over `grpc`, and the web app's `assets` (none: API only).
pub fn router(grpc: GrpcStack, assets: Option<Assets>) -> Result<axum::Router, String> {
    let state = AppState { grpc, transcoder: Transcoder::new()?, assets };
    Ok(axum::Router::new().route("/api/{service}/{method}", post(api)).fallback(static_file).with_state(state))
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn static_file(State(state): State<AppState>, request: Request<HttpBody>) -> Response {
    if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
        return errors::error_response(&Status::unimplemented("only GET serves files; the API is POST /api/…"));
    }
    let Some(assets) = state.assets else {
        return errors::error_response(&Status::not_found("this server has no web app; the API is POST /api/…"));
    };
    let path = request.uri().path();
    let found = assets(path).or_else(|| (!path.starts_with("/api/")).then(|| assets("/")).flatten());
    match found {
        Some(asset) => {
            let cache = if path == "/" || path.ends_with(".html") { "no-cache" } else { "public, max-age=3600" };
            ([(http::header::CONTENT_TYPE, asset.content_type), (http::header::CACHE_CONTROL, cache)], asset.bytes)
                .into_response()
        }
        None => errors::error_response(&Status::not_found(format!("no file {path}"))),
    }
}

async fn api(
    State(state): State<AppState>,
    Path((service, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(descriptor) = state.transcoder.method(&service, &method) else {
        return errors::error_response(&Status::not_found(format!("no method {service}/{method} in the contract")));
    };
    if descriptor.is_client_streaming() {
        return errors::error_response(&Status::unimplemented(format!(
            "{service}/{method} streams requests, which only gRPC can; send batches with the unary method"
        )));
    }
    let frame = match transcode::request_frame(&descriptor, &body) {
        Ok(frame) => frame,
        Err(why) => return errors::error_response(&Status::invalid_argument(why)),
    };
    let mut call = Request::post(format!("/{service}/{method}"))
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers");
    for name in FORWARDED {
        if let Some(value) = headers.get(*name) {
            call = call.header(*name, value);
        }
    }
    let call = match call.body(tonic::body::Body::new(Full::new(frame))) {
        Ok(call) => call,
        Err(e) => return errors::error_response(&Status::invalid_argument(format!("bad header: {e}"))),
    };
    let Ok(response) = state.grpc.oneshot(call).await;
    // Errors before any message come as a trailers-only response: the status is in the headers.
    if let Some(status) = Status::from_header_map(response.headers()).filter(|s| s.code() != tonic::Code::Ok) {
        return errors::error_response(&status);
    }
    if descriptor.is_server_streaming() {
        return stream_lines(descriptor, response.into_body());
    }
    let collected = match response.into_body().collect().await {
        Ok(collected) => collected,
        Err(status) => return errors::error_response(&status),
    };
    let trailers = collected.trailers().cloned();
    if let Some(status) = trailers.as_ref().and_then(Status::from_header_map).filter(|s| s.code() != tonic::Code::Ok) {
        return errors::error_response(&status);
    }
    let mut buf = BytesMut::from(&collected.to_bytes()[..]);
    let json = match transcode::next_message(&mut buf) {
        Some(Ok(message)) => transcode::response_json(&descriptor, &message),
        Some(Err(why)) => Err(why),
        None => Err("the call ended without an answer".into()),
    };
    match json {
        Ok(json) => ([(http::header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(why) => errors::error_response(&Status::internal(why)),
    }
}

/// A server stream as JSON lines (`application/x-ndjson`), one message per line as it arrives; a
/// failure after the start becomes a last line `{"error": {…}}`.
fn stream_lines(descriptor: prost_reflect::MethodDescriptor, body: tonic::body::Body) -> Response {
    let mut buf = BytesMut::new();
    let lines = BodyStream::new(body).flat_map(move |frame| {
        let mut out: Vec<Result<Bytes, Infallible>> = Vec::new();
        match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => {
                    buf.extend_from_slice(&data);
                    while let Some(message) = transcode::next_message(&mut buf) {
                        let line = message.and_then(|m| transcode::response_json(&descriptor, &m));
                        out.push(Ok(json_line(line)));
                    }
                }
                Err(frame) => {
                    let status = frame.trailers_ref().and_then(Status::from_header_map);
                    if let Some(status) = status.filter(|s| s.code() != tonic::Code::Ok) {
                        out.push(Ok(error_line(&status)));
                    }
                }
            },
            Err(status) => out.push(Ok(error_line(&status))),
        }
        futures::stream::iter(out)
    });
    ([(http::header::CONTENT_TYPE, "application/x-ndjson")], HttpBody::from_stream(lines)).into_response()
}

fn json_line(json: Result<Vec<u8>, String>) -> Bytes {
    match json {
        Ok(mut line) => {
            line.push(b'\n');
            Bytes::from(line)
        }
        Err(why) => error_line(&Status::internal(why)),
    }
}

fn error_line(status: &Status) -> Bytes {
    let mut line = serde_json::json!({ "error": error_json(status) }).to_string().into_bytes();
    line.push(b'\n');
    Bytes::from(line)
}
