//! A gRPC status as an HTTP answer: the status code a browser or `curl` expects, and a JSON body that
//! keeps what the gRPC status carries (message, field violations, retry hint).

use axum::response::{IntoResponse, Response};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The HTTP status of a gRPC code.
pub fn http_status(code: Code) -> http::StatusCode {
    use http::StatusCode as S;
    match code {
        Code::Ok => S::OK,
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => S::BAD_REQUEST,
        Code::Unauthenticated => S::UNAUTHORIZED,
        Code::PermissionDenied => S::FORBIDDEN,
        Code::NotFound => S::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => S::CONFLICT,
        Code::ResourceExhausted => S::TOO_MANY_REQUESTS,
        Code::Unavailable => S::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => S::GATEWAY_TIMEOUT,
        Code::Unimplemented => S::NOT_IMPLEMENTED,
        Code::Cancelled => S::from_u16(499).unwrap_or(S::BAD_REQUEST),
        _ => S::INTERNAL_SERVER_ERROR,
    }
}

/// `SCREAMING_SNAKE` name of a code, as in the gRPC specification.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The JSON body of a failed call: `{"code","message","violations"?,"retryAfterSeconds"?}`.
pub fn error_json(status: &Status) -> serde_json::Value {
    let mut body = serde_json::json!({ "code": code_name(status.code()), "message": status.message() });
    let details = status.get_error_details();
    if let Some(bad) = details.bad_request() {
        let violations: Vec<_> = bad
            .field_violations
            .iter()
            .map(|v| serde_json::json!({ "field": v.field, "description": v.description }))
            .collect();
        body["violations"] = serde_json::Value::Array(violations);
    }
    if let Some(delay) = details.retry_info().and_then(|r| r.retry_delay) {
        body["retryAfterSeconds"] = serde_json::json!(delay.as_secs_f64());
    }
    body
}

/// The whole HTTP answer for a failed call (with `Retry-After` when the status carries a hint).
pub fn error_response(status: &Status) -> Response {
    let body = error_json(status);
    let mut response = (http_status(status.code()), axum::Json(body.clone())).into_response();
    if let Some(secs) = body.get("retryAfterSeconds").and_then(serde_json::Value::as_f64) {
        if let Ok(v) = http::HeaderValue::from_str(&(secs.ceil().max(1.0) as u64).to_string()) {
            response.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn violations_and_retry_hints_survive() {
        let status = Status::with_error_details(
            Code::InvalidArgument,
            "invalid query",
            ErrorDetails::with_bad_request_violation("query", "`(` is never closed (at 4..5)"),
        );
        let body = error_json(&status);
        assert_eq!(body["code"], "INVALID_ARGUMENT");
        assert_eq!(body["violations"][0]["field"], "query");
        assert_eq!(error_response(&status).status(), http::StatusCode::BAD_REQUEST);

        let busy = Status::with_error_details(
            Code::ResourceExhausted,
            "slow down",
            ErrorDetails::with_retry_info(Some(std::time::Duration::from_millis(500))),
        );
        let response = error_response(&busy);
        assert_eq!(response.status(), http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("1"));
        assert_eq!(error_json(&busy)["retryAfterSeconds"], 0.5);
    }
}
