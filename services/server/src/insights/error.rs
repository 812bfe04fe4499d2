//! Errors of the insights, KPI and alert domain (mapped onto gRPC codes in `crate::api::status`).

use crate::search::query_problem;

/// Errors of insights, KPIs and alert rules.
#[derive(Debug, thiserror::Error)]
pub enum InsightsError {
    /// A request field is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// Field path.
        field: String,
        /// Why.
        reason: String,
    },
    /// The query text is invalid.
    #[error("invalid query: {message}")]
    InvalidQuery {
        /// What is wrong.
        message: String,
        /// Byte range, when known.
        span: Option<(usize, usize)>,
    },
    /// The tenant of the call is not valid.
    #[error("invalid tenant: {0}")]
    InvalidTenant(String),
    /// No such KPI or alert rule.
    #[error("{0}")]
    NotFound(String),
    /// A store could not be written or read.
    #[error("storage: {0}")]
    Storage(String),
    /// The index failed.
    #[error("index failure: {0}")]
    Index(String),
}

impl InsightsError {
    /// An invalid field.
    pub fn invalid(field: &str, reason: &str) -> InsightsError {
        InsightsError::InvalidArgument { field: field.to_owned(), reason: reason.to_owned() }
    }
}

impl From<earshot_indexer::IndexError> for InsightsError {
    fn from(e: earshot_indexer::IndexError) -> Self {
        match query_problem(e) {
            Ok((message, span)) => InsightsError::InvalidQuery { message, span },
            Err(internal) => InsightsError::Index(internal),
        }
    }
}

impl From<tantivy::TantivyError> for InsightsError {
    fn from(e: tantivy::TantivyError) -> Self {
        InsightsError::Index(e.to_string())
    }
}

impl From<earshot_indexer::insights::calendar::CalendarError> for InsightsError {
    fn from(e: earshot_indexer::insights::calendar::CalendarError) -> Self {
        use earshot_indexer::insights::calendar::CalendarError;
        let field = match e {
            CalendarError::UnknownZone(_) => "time_zone",
            CalendarError::EmptyRange => "scope.to",
            CalendarError::TooManyBuckets => "interval",
        };
        InsightsError::invalid(field, &e.to_string())
    }
}
