//! The analyst query language: Brandwatch-style Boolean search, lowered to Tantivy queries.
//!
//! Tantivy's own `QueryParser` silently misreads this syntax (`complain*` as the word "complain",
//! `a NEAR/2 b` as a phrase with "near" and "2"). Here every construct is either understood exactly
//! or refused with a plain-language message and the byte span of the problem.
//!
//! # Layout
//! - [`mod@limits`]: what one query may cost (text length, terms, topic and wildcard expansion,
//!   nesting) and how much of it a problem may quote; [`mod@digest`]: a bounded stand-in for a
//!   query text in logs.
//! - [`lexer`]: text → tokens (comments `<<<…>>>` dropped).
//! - [`parser`]: tokens → [`ast`] tree, recording every syntax problem and going on.
//! - [`topics`]: `topic:"Name"` → the saved topic's tree, with cycle detection.
//! - [`mod@validate`]: problems the grammar can't see (only-negative queries, NEAR operands, values).
//! - [`mod@print`]: tree → canonical text (parsing it gives the same tree).
//! - [`words`], [`fields`]: query words and field values → indexed terms, through [`crate::tokenizer`].
//! - [`lower`]: tree → Tantivy query; [`near`] (our positional query over postings positions, with
//!   the arithmetic in [`spans`]) and [`wildcard`] (capped expansion) are the queries of our own.
//!
//! # Semantics in brief
//! - `AND`, `OR`, `NOT` are upper case; no operator means AND; `a NOT b` is `a AND NOT b`. AND and OR
//!   may not be mixed in one chain without parentheses.
//! - `a NEAR/n b`: at most `n` words between, any order; `NEAR/nf`: `a` first. Operands are words,
//!   phrases, `{…}` or OR-groups of them. `"a b c"~n`: all the words, any order, in a window with at
//!   most `n` other words.
//! - Bare words and phrases search the mention text. An unaccented word matches accented and
//!   unaccented forms; an accented one only itself (the accent rule). `apple` also matches `#apple`;
//!   `#apple` only the hashtag. `{BT}` matches that case only.
//! - German: `ä`/`ae`, `ö`/`oe`, `ü`/`ue`, `ß`/`ss` are the same letter spelled two ways, in both
//!   directions: `Müller` and `Mueller` each find both, `Straße` and `Strasse` each find both. The plain
//!   vowel follows the accent rule: `Muller` also finds `Müller`, `Müller` does not find `Muller`.
//! - French/Italian elisions are dropped in text and query alike (`l'`, `d'`, `qu'`, `c'`, `dell'`,
//!   `all'`, `un'`…, with `'` or `’`): `app` finds "l'app", `"aprire l'app"` and `"aprire app"` both
//!   find "aprire l'app" (the elision takes no word position). English possessives are untouched.
//!   The rules and their reasons: [`crate::tokenizer`] and [`crate::tokenizer::segment`].

pub mod ast;
pub mod digest;
pub mod fields;
pub mod guard;
pub mod lexer;
pub mod limits;
pub mod lower;
pub mod near;
pub mod parser;
pub mod print;
pub mod spans;
pub mod topics;
pub mod validate;
pub mod wildcard;
pub mod words;

use tantivy::query::{AllQuery, Query};
use tantivy::{Index, ReloadPolicy, Searcher};

pub use ast::{FieldOp, Node, NodeKind, Span};
pub use digest::{query_digest, DIGEST_PREFIX_CHARS};
pub use lexer::MAX_DISTANCE;
pub use limits::{
    MAX_EXPANDED_TERMS, MAX_PROBLEMS, MAX_QUERY_BYTES, MAX_QUERY_TERMS, MAX_QUOTED_CHARS, MAX_TOPIC_REFERENCES,
};
pub use parser::MAX_DEPTH;
pub use print::print;
pub use topics::{NoTopics, TopicResolver, MAX_TOPIC_DEPTH};
pub use validate::MAX_PROXIMITY_WORDS;
pub use wildcard::MAX_WILDCARD_TERMS;

use crate::schema::Fields;
use crate::IndexError;

/// A problem in a query: what is wrong, in plain language, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryProblem {
    /// What is wrong and how to fix it.
    pub message: String,
    /// Byte range `(start, end)` in the query text.
    pub span: Span,
}

impl QueryProblem {
    /// A problem at `span`.
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        QueryProblem { message: message.into(), span }
    }
}

impl From<QueryProblem> for IndexError {
    fn from(p: QueryProblem) -> Self {
        IndexError::InvalidQuery { message: p.message, span: Some(p.span) }
    }
}

/// Lexes and parses only: the tree (`None` for an empty query) and the syntax problems. A text
/// over [`MAX_QUERY_BYTES`] is refused before it is lexed.
pub fn parse_syntax(text: &str) -> (Option<Node>, Vec<QueryProblem>) {
    if let Some(too_long) = limits::check_length(text) {
        return (None, vec![too_long]);
    }
    let mut problems = Vec::new();
    let tokens = lexer::lex(text, &mut problems);
    let root = parser::Parser::new(tokens, &mut problems).parse();
    (root, problems)
}

/// Parses, expands topics (when a resolver is given) and checks: the tree, or the problems in text
/// order (at most [`MAX_PROBLEMS`] and one that sums up the rest). The [limits](mod@limits) are
/// checked on the way: a query over [`MAX_QUERY_TERMS`] is not expanded further.
pub fn parse(text: &str, topics: Option<&dyn TopicResolver>) -> Result<Option<Node>, Vec<QueryProblem>> {
    let (root, mut problems) = parse_syntax(text);
    let too_many = root.as_ref().and_then(limits::check_terms);
    let root = match (root, topics) {
        (Some(root), Some(resolver)) if too_many.is_none() => topics::expand(root, resolver, &mut problems),
        (root, _) => root,
    };
    problems.extend(too_many);
    if let Some(root) = &root {
        validate::check(root, &mut problems);
    }
    if problems.is_empty() {
        return Ok(root);
    }
    problems.sort_by(|a, b| a.span.cmp(&b.span).then_with(|| a.message.cmp(&b.message)));
    problems.dedup();
    limits::cap_problems(&mut problems);
    Err(problems)
}

/// Every problem of a query at once (for a Validate RPC); empty when the query is valid. Topic
/// references are not looked up: see [`validate_with_topics`].
pub fn validate(text: &str) -> Vec<QueryProblem> {
    parse(text, None).err().unwrap_or_default()
}

/// Every problem of a query, expanding (and so checking) its topic references.
pub fn validate_with_topics(text: &str, topics: &dyn TopicResolver) -> Vec<QueryProblem> {
    parse(text, Some(topics)).err().unwrap_or_default()
}

/// Parses `text`; an empty or blank query (comments only, too) matches everything. The first problem
/// becomes [`IndexError::InvalidQuery`]. `topic:` references are unknown here: see
/// [`parse_query_with_topics`].
pub fn parse_query(index: &Index, fields: &Fields, text: &str) -> Result<Box<dyn Query>, IndexError> {
    parse_query_with_topics(index, fields, text, &NoTopics)
}

/// [`parse_query`], expanding `topic:"Name"` through `topics`.
pub fn parse_query_with_topics(
    index: &Index,
    fields: &Fields,
    text: &str,
    topics: &dyn TopicResolver,
) -> Result<Box<dyn Query>, IndexError> {
    let root = parse_checked(text, topics)?;
    let Some(root) = root else { return Ok(Box::new(AllQuery)) };
    // Wildcards are checked against the index now, so that hitting the cap is an invalid query with
    // its span rather than a failed search.
    let searcher = if print(&root).contains(['*', '?']) {
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Some(reader.searcher())
    } else {
        None
    };
    lower::Lowerer::new(fields, searcher.as_ref(), MAX_WILDCARD_TERMS).lower(&root)
}

/// [`parse_query_with_topics`] on a searcher the caller already has (no reader is opened).
pub fn parse_query_with_searcher(
    searcher: &Searcher,
    fields: &Fields,
    text: &str,
    topics: &dyn TopicResolver,
) -> Result<Box<dyn Query>, IndexError> {
    match parse_checked(text, topics)? {
        None => Ok(Box::new(AllQuery)),
        Some(root) => lower::Lowerer::new(fields, Some(searcher), MAX_WILDCARD_TERMS).lower(&root),
    }
}

fn parse_checked(text: &str, topics: &dyn TopicResolver) -> Result<Option<Node>, IndexError> {
    parse(text, Some(topics)).map_err(|problems| match problems.into_iter().next() {
        Some(first) => first.into(),
        None => IndexError::InvalidQuery { message: "invalid query".into(), span: None },
    })
}
