//! The one mapping of every domain error onto gRPC status codes, with field violations and retry
//! hints; and the statuses the layers answer themselves (not ready, undecodable request).

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::ratelimit::RateLimited;
use crate::classify::ClassifyApiError;
use crate::governance::GovernanceError;
use crate::ingest::IngestError;
use crate::insights::InsightsError;
use crate::search::topics::TopicError;
use crate::search::SearchError;
use crate::sources::SourceError;

/// How long a client should wait before retrying after back-pressure.
pub const RETRY_AFTER: Duration = Duration::from_millis(500);

impl From<IngestError> for Status {
    fn from(e: IngestError) -> Status {
        match e {
            IngestError::BatchTooLarge { .. } => too_many("mentions", e.to_string()),
            IngestError::Overloaded | IngestError::Backlogged { .. } => {
                retry_later(Code::ResourceExhausted, e.to_string())
            }
            IngestError::InvalidTenant(reason) => invalid("tenant", &reason),
            IngestError::Unavailable(_) => retry_later(Code::Unavailable, e.to_string()),
            IngestError::Stream(status) => decode_status(status),
        }
    }
}

impl From<SearchError> for Status {
    fn from(e: SearchError) -> Status {
        match e {
            SearchError::InvalidArgument { field, reason } => invalid(field, &reason),
            SearchError::InvalidQuery { message, span } => invalid_query("query", message, span),
            SearchError::InvalidTenant(reason) => invalid("tenant", &reason),
            SearchError::Index(_) => Status::internal(e.to_string()),
        }
    }
}

impl From<TopicError> for Status {
    fn from(e: TopicError) -> Status {
        match e {
            TopicError::NotFound(_) => Status::not_found(e.to_string()),
            TopicError::AlreadyExists(_) => Status::already_exists(e.to_string()),
            TopicError::InvalidArgument { field, ref reason } => invalid(field, reason),
            TopicError::InvalidQuery(ref problems) => {
                let mut details = ErrorDetails::new();
                for p in problems {
                    details
                        .add_bad_request_violation("query", format!("{} (at {}..{})", p.message, p.span.0, p.span.1));
                }
                Status::with_error_details(Code::InvalidArgument, e.to_string(), details)
            }
            TopicError::Storage(_) => Status::internal(e.to_string()),
        }
    }
}

impl From<ClassifyApiError> for Status {
    fn from(e: ClassifyApiError) -> Status {
        match e {
            ClassifyApiError::TooMany { .. } => too_many("items", e.to_string()),
            ClassifyApiError::InvalidText { index, ref reason } => invalid(&format!("items[{index}].text"), reason),
            ClassifyApiError::Overloaded => retry_later(Code::ResourceExhausted, e.to_string()),
            ClassifyApiError::Deadline => Status::deadline_exceeded(e.to_string()),
            ClassifyApiError::Unavailable(_) => retry_later(Code::Unavailable, e.to_string()),
            ClassifyApiError::Inference(_) => Status::internal(e.to_string()),
        }
    }
}

impl From<InsightsError> for Status {
    fn from(e: InsightsError) -> Status {
        match e {
            InsightsError::InvalidArgument { field, reason } => invalid(&field, &reason),
            InsightsError::InvalidQuery { message, span } => invalid_query("scope.query", message, span),
            InsightsError::InvalidTenant(reason) => invalid("tenant", &reason),
            InsightsError::NotFound(_) => Status::not_found(e.to_string()),
            InsightsError::Storage(_) | InsightsError::Index(_) => Status::internal(e.to_string()),
        }
    }
}

impl From<GovernanceError> for Status {
    fn from(e: GovernanceError) -> Status {
        match e {
            GovernanceError::InvalidArgument { field, ref reason } => Status::with_error_details(
                Code::InvalidArgument,
                e.to_string(),
                ErrorDetails::with_bad_request_violation(field, reason.clone()),
            ),
            GovernanceError::Unavailable(_) => Status::unavailable(e.to_string()),
            GovernanceError::Index(_) => Status::internal(e.to_string()),
        }
    }
}

impl From<SourceError> for Status {
    fn from(e: SourceError) -> Status {
        match e {
            SourceError::InvalidArgument { ref field, ref reason } => invalid(field, reason),
            SourceError::InvalidTenant(ref reason) => invalid("tenant", reason),
            SourceError::NotFound(_) => Status::not_found(e.to_string()),
            SourceError::AlreadyExists(_) => Status::already_exists(e.to_string()),
            SourceError::Unavailable(_) => Status::failed_precondition(e.to_string()),
            SourceError::Storage(_) => Status::internal(e.to_string()),
        }
    }
}

impl From<RateLimited> for Status {
    fn from(e: RateLimited) -> Status {
        retry_later_after(Code::ResourceExhausted, e.to_string(), e.retry_after)
    }
}

/// `UNAVAILABLE` with a retry hint for reads while the index is still replaying the write-ahead log
/// after a start: a partial answer with `OK` would be a wrong answer.
pub fn not_ready() -> Status {
    retry_later(
        Code::Unavailable,
        "the index is still replaying the write-ahead log after a restart; retry shortly".into(),
    )
}

/// A status from reading a request: a message that does not decode is the caller's mistake
/// (`INVALID_ARGUMENT`), not an internal error as tonic's codec reports it.
pub fn decode_status(status: Status) -> Status {
    if status.code() == Code::Internal && status.message().starts_with("failed to decode") {
        return Status::invalid_argument(format!("the request is not a valid protobuf message: {}", status.message()));
    }
    status
}

/// `INVALID_ARGUMENT` naming `field` and why.
fn invalid(field: &str, reason: &str) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid {field}: {reason}"),
        ErrorDetails::with_bad_request_violation(field, reason),
    )
}

/// `INVALID_ARGUMENT` on `field` for a query the parser refused, with the span in the reason.
fn invalid_query(field: &str, message: String, span: Option<(usize, usize)>) -> Status {
    let reason = match span {
        Some((s, t)) => format!("{message} (at {s}..{t})"),
        None => message,
    };
    invalid(field, &reason)
}

/// `RESOURCE_EXHAUSTED` for a request with more of `field` than allowed: retrying will not help.
fn too_many(field: &str, message: String) -> Status {
    Status::with_error_details(
        Code::ResourceExhausted,
        message.clone(),
        ErrorDetails::with_bad_request_violation(field, message),
    )
}

fn retry_later(code: Code, message: String) -> Status {
    let mut status = Status::with_error_details(code, message, ErrorDetails::with_retry_info(Some(RETRY_AFTER)));
    if let Ok(v) = format!("{:.1}", RETRY_AFTER.as_secs_f32()).parse() {
        status.metadata_mut().insert("retry-after", v);
    }
    status
}

/// A status asking to retry after `after` (rounded up to the millisecond), in the `RetryInfo` detail and
/// in `retry-after` metadata (seconds).
fn retry_later_after(code: Code, message: String, after: Duration) -> Status {
    let after = Duration::from_millis(after.as_micros().div_ceil(1000) as u64);
    let mut status = Status::with_error_details(code, message, ErrorDetails::with_retry_info(Some(after)));
    if let Ok(v) = format!("{:.3}", after.as_secs_f64()).parse() {
        status.metadata_mut().insert("retry-after", v);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &Status) -> Option<String> {
        s.get_error_details().bad_request().map(|b| b.field_violations[0].field.clone())
    }

    #[test]
    fn codes() {
        let s: Status = IngestError::BatchTooLarge { size: 5, max: 1 }.into();
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(field(&s).as_deref(), Some("mentions"));
        let s: Status = IngestError::Overloaded.into();
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert!(s.metadata().get("retry-after").is_some());
        let s: Status = RateLimited { retry_after: Duration::from_micros(1_250_001), per_sec: 2.0 }.into();
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(s.metadata().get("retry-after").and_then(|v| v.to_str().ok()), Some("1.251"));
        let s: Status = SearchError::InvalidQuery { message: "x".into(), span: Some((1, 2)) }.into();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(field(&s).as_deref(), Some("query"));
        let s: Status = ClassifyApiError::TooMany { size: 5, max: 1 }.into();
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(field(&s).as_deref(), Some("items"));
    }

    #[test]
    fn insights_codes_and_fields() {
        let s: Status = InsightsError::invalid("time_zone", "unknown").into();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(field(&s).as_deref(), Some("time_zone"));
        let s: Status = InsightsError::InvalidQuery { message: "x".into(), span: Some((0, 1)) }.into();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(Status::from(InsightsError::NotFound("no rule".into())).code(), Code::NotFound);
        assert_eq!(Status::from(InsightsError::InvalidTenant("bad".into())).code(), Code::InvalidArgument);
        assert_eq!(Status::from(InsightsError::Storage("disk".into())).code(), Code::Internal);
        let s: Status = SourceError::InvalidArgument { field: "spec.url".into(), reason: "bad".into() }.into();
        assert_eq!((s.code(), field(&s).as_deref()), (Code::InvalidArgument, Some("spec.url")));
        assert_eq!(Status::from(SourceError::NotFound("x".into())).code(), Code::NotFound);
        assert_eq!(Status::from(SourceError::AlreadyExists("x".into())).code(), Code::AlreadyExists);
    }
}
