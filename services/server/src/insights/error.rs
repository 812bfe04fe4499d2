//! Errors of the insights, KPI and alert domain, and their one mapping onto gRPC codes.

use tonic::Status;

use crate::error::{invalid, invalid_query, query_problem};

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

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;
    use tonic_types::StatusExt;

    #[test]
    fn codes_and_fields() {
        let s: Status = InsightsError::invalid("time_zone", "unknown").into();
        assert_eq!(s.code(), Code::InvalidArgument);
        let field = s.get_error_details().bad_request().map(|b| b.field_violations[0].field.clone());
        assert_eq!(field.as_deref(), Some("time_zone"));
        let s: Status = InsightsError::InvalidQuery { message: "x".into(), span: Some((0, 1)) }.into();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(Status::from(InsightsError::NotFound("no rule".into())).code(), Code::NotFound);
        assert_eq!(Status::from(InsightsError::InvalidTenant("bad".into())).code(), Code::InvalidArgument);
        assert_eq!(Status::from(InsightsError::Storage("disk".into())).code(), Code::Internal);
    }
}
