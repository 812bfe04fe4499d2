//! The search domain: request checks, query parsing and Tantivy work off the async workers.
//!
//! - this module: [`SearchDomain`] (search, count, validate) and [`SearchError`].
//! - [`topics`]: saved topics per tenant, validated on save, persisted in `topics.json`; a query may
//!   name one in place of its text.

pub mod export;
pub mod topics;

use std::sync::Arc;

use earshot_indexer::query::{parse_query_with_searcher, validate_with_topics};
use earshot_indexer::search::{SearchParams, Sort};
use earshot_indexer::Indexer;
use earshot_proto::v1::{Hit, QueryProblem, SearchRequest, SearchResponse, SortOrder, TimeRange, ValidateResponse};

use crate::ingest::validate::validate_tenant;
use topics::TopicStore;

/// Page size when the request leaves it at 0.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// Largest page size.
pub const MAX_PAGE_SIZE: usize = 1000;
/// Deepest result reachable by paging (offset + page size).
pub const MAX_RESULT_WINDOW: usize = 100_000;

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

impl From<earshot_indexer::IndexError> for SearchError {
    fn from(e: earshot_indexer::IndexError) -> Self {
        match query_problem(e) {
            Ok((message, span)) => SearchError::InvalidQuery { message, span },
            Err(internal) => SearchError::Index(internal),
        }
    }
}

/// The search domain service. Cheap to clone (shared handles), so blocking tasks can own one.
#[derive(Clone)]
pub struct SearchDomain {
    indexer: Arc<Indexer>,
    topics: Arc<TopicStore>,
}

fn time_bounds(range: Option<&TimeRange>) -> Result<(Option<i64>, Option<i64>), SearchError> {
    let Some(range) = range else { return Ok((None, None)) };
    let from = range.from.map(|t| t.seconds);
    let to = range.to.map(|t| t.seconds + i64::from(t.nanos > 0));
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(SearchError::InvalidArgument { field: "time_range", reason: "from must be before to".into() });
        }
    }
    Ok((from, to))
}

/// Encodes the offset of the next page as an opaque token.
fn encode_token(offset: usize) -> String {
    hex::encode(format!("o:{offset}"))
}

fn decode_token(token: &str) -> Result<usize, SearchError> {
    if token.is_empty() {
        return Ok(0);
    }
    let bad =
        || SearchError::InvalidArgument { field: "page_token", reason: "not a token from a previous response".into() };
    let bytes = hex::decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("o:").and_then(|n| n.parse().ok()).ok_or_else(bad)
}

impl SearchDomain {
    /// A search service over `indexer`.
    pub fn new(indexer: Arc<Indexer>, topics: Arc<TopicStore>) -> Self {
        SearchDomain { indexer, topics }
    }

    /// The query text to run: the request's query, or the saved topic's.
    fn query_text(&self, tenant: &str, query: String, topic: &str) -> Result<String, SearchError> {
        if topic.is_empty() {
            return Ok(query);
        }
        if !query.trim().is_empty() {
            return Err(SearchError::InvalidArgument {
                field: "topic",
                reason: "give a query or a topic, not both".into(),
            });
        }
        self.topics
            .query_of(tenant, topic)
            .map_err(|_| SearchError::InvalidArgument { field: "topic", reason: format!("no topic {topic:?}") })
    }

    /// Parses `text` for `tenant` (expanding its topics) on the current searcher. Blocking.
    fn parse(&self, tenant: &str, text: &str) -> Result<Box<dyn tantivy::query::Query>, SearchError> {
        let resolver = self.topics.resolver(tenant);
        Ok(parse_query_with_searcher(&self.indexer.searcher(), self.indexer.fields(), text, &resolver)?)
    }

    /// Every problem of a query, with spans.
    pub fn validate(&self, tenant: &str, query: &str) -> Result<ValidateResponse, SearchError> {
        validate_tenant(tenant).map_err(SearchError::InvalidTenant)?;
        let problems: Vec<QueryProblem> = validate_with_topics(query, &self.topics.resolver(tenant))
            .into_iter()
            .map(|p| QueryProblem { message: p.message, start: p.span.0 as u32, end: p.span.1 as u32 })
            .collect();
        Ok(ValidateResponse { valid: problems.is_empty(), problems })
    }

    /// Runs a search for `tenant`.
    pub async fn search(&self, tenant: String, req: SearchRequest) -> Result<SearchResponse, SearchError> {
        validate_tenant(&tenant).map_err(SearchError::InvalidTenant)?;
        let limit = match req.page_size as usize {
            0 => DEFAULT_PAGE_SIZE,
            n if n > MAX_PAGE_SIZE => {
                return Err(SearchError::InvalidArgument {
                    field: "page_size",
                    reason: format!("must be at most {MAX_PAGE_SIZE}"),
                })
            }
            n => n,
        };
        let offset = decode_token(&req.page_token)?;
        if offset + limit > MAX_RESULT_WINDOW {
            return Err(SearchError::InvalidArgument {
                field: "page_token",
                reason: format!("paging is limited to the first {MAX_RESULT_WINDOW} results; narrow the query"),
            });
        }
        let (from, to) = time_bounds(req.time_range.as_ref())?;
        let sort = match SortOrder::try_from(req.sort) {
            Ok(SortOrder::Unspecified | SortOrder::TimeDesc) => Sort::TimeDesc,
            Ok(SortOrder::TimeAsc) => Sort::TimeAsc,
            Ok(SortOrder::Relevance) => Sort::Relevance,
            Err(_) => return Err(SearchError::InvalidArgument { field: "sort", reason: "unknown sort order".into() }),
        };
        let text = self.query_text(&tenant, req.query, &req.topic)?;
        let this = self.clone();
        let results = tokio::task::spawn_blocking(move || {
            let query = this.parse(&tenant, &text)?;
            let params = SearchParams { tenant, query, from, to, sort, offset, limit, highlight: req.highlight };
            this.indexer.search(params).map_err(SearchError::from)
        })
        .await
        .map_err(|e| SearchError::Index(e.to_string()))??;
        let next = offset + results.hits.len();
        let next_page_token = if (next as u64) < results.total && results.hits.len() == limit {
            encode_token(next)
        } else {
            String::new()
        };
        Ok(SearchResponse {
            hits: results
                .hits
                .into_iter()
                .map(|h| Hit { mention: Some(h.mention), score: h.score, highlight: h.highlight.unwrap_or_default() })
                .collect(),
            total: results.total,
            next_page_token,
        })
    }

    /// Counts matches for `tenant`.
    pub async fn count(
        &self,
        tenant: String,
        query: String,
        topic: String,
        range: Option<TimeRange>,
    ) -> Result<u64, SearchError> {
        validate_tenant(&tenant).map_err(SearchError::InvalidTenant)?;
        let (from, to) = time_bounds(range.as_ref())?;
        let text = self.query_text(&tenant, query, &topic)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let query = this.parse(&tenant, &text)?;
            this.indexer.count(&tenant, query, from, to).map_err(SearchError::from)
        })
        .await
        .map_err(|e| SearchError::Index(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        assert_eq!(decode_token(&encode_token(40)).ok(), Some(40));
        assert_eq!(decode_token("").ok(), Some(0));
        assert!(decode_token("zz").is_err());
        assert!(decode_token(&hex::encode("x:1")).is_err());
    }
}
