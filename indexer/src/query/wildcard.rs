//! Wildcard words: expansion over the term dictionaries, with a cap.
//!
//! A pattern is expanded against every segment of the searcher a query runs on (so a term indexed
//! after parsing still counts). Only terms that start with the pattern's literal prefix are read. When
//! more than the cap of distinct terms match, the query fails with a clear message instead of
//! running slowly or silently dropping terms.

use std::collections::BTreeSet;

use tantivy::query::{BooleanQuery, EmptyWeight, EnableScoring, Occur, Query, TermQuery, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, TantivyError, Term};

use super::limits::clip;
use super::words::Glob;

/// Most distinct terms one wildcard may expand to.
pub const MAX_WILDCARD_TERMS: usize = 1024;

/// The message when a pattern matches too many terms.
pub fn too_many_terms(glob: &Glob, cap: usize) -> String {
    format!(
        "`{}` matches more than {cap} different words; make the part before the wildcard longer",
        clip(&glob.pattern)
    )
}

/// Every indexed term of `field` that `glob` matches, in order; `Err` with a message past `cap`.
pub fn expand(searcher: &Searcher, field: Field, glob: &Glob, cap: usize) -> Result<Vec<Term>, String> {
    let mut found: BTreeSet<String> = BTreeSet::new();
    let io = |e: std::io::Error| format!("reading the term dictionary failed: {e}");
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field).map_err(|e| e.to_string())?;
        let mut stream = inverted.terms().range().ge(glob.prefix.as_bytes()).into_stream().map_err(io)?;
        while stream.advance() {
            let key = stream.key();
            if !key.starts_with(glob.prefix.as_bytes()) {
                break;
            }
            let Ok(term) = std::str::from_utf8(key) else { continue };
            if glob.matches(term) && !found.contains(term) {
                found.insert(term.to_owned());
                if found.len() > cap {
                    return Err(too_many_terms(glob, cap));
                }
            }
        }
    }
    Ok(found.into_iter().map(|t| Term::from_field_text(field, &t)).collect())
}

/// The searcher a weight runs on; wildcards can't be expanded without one.
pub fn searcher_of<'a>(enable_scoring: &EnableScoring<'a>) -> tantivy::Result<&'a Searcher> {
    let searcher = match *enable_scoring {
        EnableScoring::Enabled { searcher, .. } => Some(searcher),
        EnableScoring::Disabled { searcher_opt, .. } => searcher_opt,
    };
    searcher.ok_or_else(|| TantivyError::InvalidArgument("a wildcard query needs a searcher to expand".into()))
}

/// A wildcard word on one field: any of the terms the pattern matches.
#[derive(Clone, Debug)]
pub struct WildcardQuery {
    field: Field,
    glob: Glob,
    record: IndexRecordOption,
    cap: usize,
}

impl WildcardQuery {
    /// A query for `glob` on `field`, with the cap on expansions.
    pub fn new(field: Field, glob: Glob, record: IndexRecordOption, cap: usize) -> Self {
        WildcardQuery { field, glob, record, cap }
    }
}

impl Query for WildcardQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let searcher = searcher_of(&enable_scoring)?;
        let terms = expand(searcher, self.field, &self.glob, self.cap).map_err(TantivyError::InvalidArgument)?;
        if terms.is_empty() {
            return Ok(Box::new(EmptyWeight));
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .into_iter()
            .map(|t| (Occur::Should, Box::new(TermQuery::new(t, self.record)) as Box<dyn Query>))
            .collect();
        BooleanQuery::new(clauses).weight(enable_scoring)
    }
}
