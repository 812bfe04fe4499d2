//! Query text → Tantivy query.
//!
//! This first version delegates to Tantivy's own query parser over the text, author and url fields.
//! It is known to mis-read Brandwatch-style syntax (`NEAR/n`, wildcards); the analyst query language
//! replaces it.

use tantivy::query::{AllQuery, Query, QueryParser};
use tantivy::Index;

use crate::schema::Fields;
use crate::IndexError;

/// Parses `text`; an empty or blank query matches everything.
pub fn parse_query(index: &Index, fields: &Fields, text: &str) -> Result<Box<dyn Query>, IndexError> {
    if text.trim().is_empty() {
        return Ok(Box::new(AllQuery));
    }
    let mut parser = QueryParser::for_index(index, vec![fields.text, fields.author_name]);
    parser.set_conjunction_by_default();
    parser
        .parse_query(text)
        .map_err(|e| IndexError::InvalidQuery { message: e.to_string(), span: None })
}
