//! Domain errors of the server and their one mapping onto gRPC status codes.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// How long a client should wait before retrying after back-pressure.
pub const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Errors of the ingest path.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// More mentions in one request than the server accepts.
    #[error("batch of {size} mentions is larger than the limit of {max}")]
    BatchTooLarge {
        /// Mentions in the request.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The write-ahead log queue is full; retry shortly.
    #[error("ingest queue is full, retry shortly")]
    Overloaded,
    /// Indexing and labelling are too far behind what was acknowledged; retry shortly.
    #[error("indexing is {behind} mentions behind what was acknowledged (the limit is {limit}); retry shortly")]
    Backlogged {
        /// Mentions acknowledged but not yet searchable.
        behind: u64,
        /// The bound (`--max-backlog`).
        limit: u64,
    },
    /// The tenant of the call is not valid.
    #[error("invalid tenant: {0}")]
    InvalidTenant(String),
    /// The log cannot take writes (I/O failure or shutting down).
    #[error("ingest unavailable: {0}")]
    Unavailable(String),
    /// The request stream itself failed (a message could not be read); its status as received.
    #[error("{}", .0.message())]
    Stream(Status),
}

/// A caller went over its rate limit.
#[derive(Debug, thiserror::Error)]
#[error("rate limit of {per_sec} calls per second exceeded; retry in {:.3} s", retry_after.as_secs_f64())]
pub struct RateLimited {
    /// When the next call would be allowed.
    pub retry_after: Duration,
    /// The sustained limit.
    pub per_sec: f64,
}

impl From<RateLimited> for Status {
    fn from(e: RateLimited) -> Status {
        retry_later_after(Code::ResourceExhausted, e.to_string(), e.retry_after)
    }
}

/// Errors of search and count.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A request field is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The field path.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The query text is invalid.
    #[error("invalid query: {message}")]
    InvalidQuery {
        /// What is wrong.
        message: String,
        /// Byte range of the problem, when known.
        span: Option<(usize, usize)>,
    },
    /// The tenant of the call is not valid.
    #[error("invalid tenant: {0}")]
    InvalidTenant(String),
    /// The index failed.
    #[error("index failure: {0}")]
    Index(String),
}

/// Errors of the classify RPC.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyApiError {
    /// More items than allowed.
    #[error("{size} items is more than the limit of {max}")]
    TooMany {
        /// Items in the request.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// One item's text is not acceptable.
    #[error("items[{index}].text {reason}")]
    InvalidText {
        /// Position of the item.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The queue is full; retry shortly.
    #[error("classifier queue is full, retry shortly")]
    Overloaded,
    /// The deadline passed while waiting for the model.
    #[error("the model did not answer in time")]
    Deadline,
    /// No model loaded.
    #[error("classifier unavailable: {0}")]
    Unavailable(String),
    /// Inference failed.
    #[error("inference failed: {0}")]
    Inference(String),
}

impl From<ClassifyApiError> for Status {
    fn from(e: ClassifyApiError) -> Status {
        match e {
            ClassifyApiError::TooMany { .. } => retry_free_exhausted(e.to_string()),
            ClassifyApiError::InvalidText { index, ref reason } => {
                invalid(&format!("items[{index}].text"), reason)
            }
            ClassifyApiError::Overloaded => retry_later(Code::ResourceExhausted, e.to_string()),
            ClassifyApiError::Deadline => Status::deadline_exceeded(e.to_string()),
            ClassifyApiError::Unavailable(_) => retry_later(Code::Unavailable, e.to_string()),
            ClassifyApiError::Inference(_) => Status::internal(e.to_string()),
        }
    }
}

pub(crate) fn invalid(field: &str, reason: &str) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid {field}: {reason}"),
        ErrorDetails::with_bad_request_violation(field, reason),
    )
}

fn retry_later(code: Code, message: String) -> Status {
    let mut status =
        Status::with_error_details(code, message, ErrorDetails::with_retry_info(Some(RETRY_AFTER)));
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

impl From<IngestError> for Status {
    fn from(e: IngestError) -> Status {
        match e {
            IngestError::BatchTooLarge { .. } => retry_free_exhausted(e.to_string()),
            IngestError::Overloaded | IngestError::Backlogged { .. } => {
                retry_later(Code::ResourceExhausted, e.to_string())
            }
            IngestError::InvalidTenant(reason) => invalid("tenant", &reason),
            IngestError::Unavailable(_) => retry_later(Code::Unavailable, e.to_string()),
            IngestError::Stream(status) => decode_status(status),
        }
    }
}

/// `UNAVAILABLE` with a retry hint for reads while the index is still replaying the log after a start:
/// a partial answer with `OK` would be a wrong answer.
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

fn retry_free_exhausted(message: String) -> Status {
    Status::with_error_details(
        Code::ResourceExhausted,
        message.clone(),
        ErrorDetails::with_bad_request_violation("mentions", message),
    )
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

impl From<crate::topics::TopicError> for Status {
    fn from(e: crate::topics::TopicError) -> Status {
        use crate::topics::TopicError;
        match e {
            TopicError::NotFound(_) => Status::not_found(e.to_string()),
            TopicError::AlreadyExists(_) => Status::already_exists(e.to_string()),
            TopicError::InvalidArgument { field, ref reason } => invalid(field, reason),
            TopicError::InvalidQuery(ref problems) => {
                let mut details = ErrorDetails::new();
                for p in problems {
                    details.add_bad_request_violation("query", format!("{} (at {}..{})", p.message, p.span.0, p.span.1));
                }
                Status::with_error_details(Code::InvalidArgument, e.to_string(), details)
            }
            TopicError::Storage(_) => Status::internal(e.to_string()),
        }
    }
}

/// Splits an index error into the caller's mistake in the query (message, byte span when known) and a
/// failure inside the service. A wildcard over its expansion cap comes back from Tantivy as
/// `InvalidArgument`: that too is the query's fault.
pub fn query_problem(e: earshot_indexer::IndexError) -> Result<(String, Option<(usize, usize)>), String> {
    match e {
        earshot_indexer::IndexError::InvalidQuery { message, span } => Ok((message, span)),
        earshot_indexer::IndexError::Tantivy(tantivy::TantivyError::InvalidArgument(message)) => Ok((message, None)),
        other => Err(other.to_string()),
    }
}

/// `INVALID_ARGUMENT` on `field` for a query the parser refused, with the span in the reason.
pub fn invalid_query(field: &str, message: String, span: Option<(usize, usize)>) -> Status {
    let reason = match span {
        Some((s, t)) => format!("{message} (at {s}..{t})"),
        None => message,
    };
    invalid(field, &reason)
}

impl From<earshot_indexer::IndexError> for SearchError {
    fn from(e: earshot_indexer::IndexError) -> Self {
        match query_problem(e) {
            Ok((message, span)) => SearchError::InvalidQuery { message, span },
            Err(internal) => SearchError::Index(internal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let s: Status = IngestError::BatchTooLarge { size: 5, max: 1 }.into();
        assert_eq!(s.code(), Code::ResourceExhausted);
        let s: Status = IngestError::Overloaded.into();
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert!(s.metadata().get("retry-after").is_some());
        let s: Status = RateLimited { retry_after: Duration::from_micros(1_250_001), per_sec: 2.0 }.into();
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(s.metadata().get("retry-after").and_then(|v| v.to_str().ok()), Some("1.251"));
        let s: Status = SearchError::InvalidQuery { message: "x".into(), span: Some((1, 2)) }.into();
        assert_eq!(s.code(), Code::InvalidArgument);
        let details = s.get_error_details();
        assert_eq!(details.bad_request().map(|b| b.field_violations[0].field.as_str()), Some("query"));
    }
}
