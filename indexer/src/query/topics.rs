//! `topic:"Name"`: replacing a reference by the saved topic's query, with cycle detection.
//!
//! The topic's query is lexed and parsed on its own; its nodes take the span of the reference, so a
//! problem found later (say, the topic used as a NEAR operand) points at `topic:"Name"` in the query
//! being checked. Problems inside the topic's text are reported as `in topic "Name": …`.
//!
//! Expansion is bounded: by [`MAX_TOPIC_DEPTH`] (a chain of topics), by [`MAX_TOPIC_REFERENCES`]
//! (topics that each refer to others several times multiply) and by [`MAX_QUERY_TERMS`] over the
//! whole expanded query, counted before each topic is spliced in.

use super::ast::{Node, NodeKind, Span};
use super::lexer::lex;
use super::limits::{check_length, clip, count_terms, MAX_PROBLEMS, MAX_QUERY_TERMS, MAX_TOPIC_REFERENCES};
use super::parser::Parser;
use super::QueryProblem;

/// Saved topics, looked up by name (per tenant, by the caller).
pub trait TopicResolver {
    /// The query text of topic `name`, or `None` when there is no such topic.
    fn topic_query(&self, name: &str) -> Option<String>;
}

/// No saved topics: every reference is unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTopics;

impl TopicResolver for NoTopics {
    fn topic_query(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Deepest chain of topics referring to topics.
pub const MAX_TOPIC_DEPTH: usize = 8;

/// One expansion: the topics being expanded and what has been spent of the limits.
struct Expansion<'r> {
    resolver: &'r dyn TopicResolver,
    /// The topics being expanded, outermost first.
    stack: Vec<String>,
    /// Topic references expanded so far (see [`MAX_TOPIC_REFERENCES`]).
    references: usize,
    /// Terms so far: the query's own and those of the topics expanded (see [`MAX_QUERY_TERMS`]).
    terms: usize,
    /// The span, in the query being checked, of the outermost reference being expanded.
    outer: Span,
    /// The limit problem, once a limit is hit: then nothing more is expanded. It is reported at the
    /// outermost reference, not inside `in topic …` prefixes, since the limit is the whole query's.
    over: Option<QueryProblem>,
}

/// Replaces every topic reference in `node`, within [`MAX_TOPIC_DEPTH`], [`MAX_TOPIC_REFERENCES`]
/// and (counting `node`'s own terms) [`MAX_QUERY_TERMS`]. Expansion stops at the first limit hit, so
/// topics that refer to each other many times cost no more than the limits.
pub fn expand(node: Node, resolver: &dyn TopicResolver, problems: &mut Vec<QueryProblem>) -> Option<Node> {
    let terms = count_terms(&node);
    let mut x = Expansion { resolver, stack: Vec::new(), references: 0, terms, outer: node.span, over: None };
    let expanded = expand_node(node, &mut x, problems);
    problems.extend(x.over);
    expanded
}

fn expand_node(node: Node, x: &mut Expansion<'_>, problems: &mut Vec<QueryProblem>) -> Option<Node> {
    let Node { kind, span } = node;
    let kind = match kind {
        NodeKind::Topic(name) => return expand_topic(&name, span, x, problems),
        NodeKind::And(children) => NodeKind::And(expand_all(children, x, problems)?),
        NodeKind::Or(children) => NodeKind::Or(expand_all(children, x, problems)?),
        NodeKind::Not(operand) => NodeKind::Not(Box::new(expand_node(*operand, x, problems)?)),
        NodeKind::Near { left, right, distance, ordered } => NodeKind::Near {
            left: Box::new(expand_node(*left, x, problems)?),
            right: Box::new(expand_node(*right, x, problems)?),
            distance,
            ordered,
        },
        other => other,
    };
    Some(Node { kind, span })
}

fn expand_all(children: Vec<Node>, x: &mut Expansion<'_>, problems: &mut Vec<QueryProblem>) -> Option<Vec<Node>> {
    let mut out = Vec::with_capacity(children.len());
    for child in children {
        // Expand every child even after a failure, to report every problem.
        if let Some(c) = expand_node(child, x, problems) {
            out.push(c);
        }
    }
    Some(out).filter(|o| !o.is_empty())
}

fn expand_topic(name: &str, span: Span, x: &mut Expansion<'_>, problems: &mut Vec<QueryProblem>) -> Option<Node> {
    if x.over.is_some() {
        return None;
    }
    if x.stack.is_empty() {
        x.outer = span;
    }
    let quoted = clip(name);
    if x.stack.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        let chain: Vec<&str> = x.stack.iter().map(String::as_str).chain(std::iter::once(name)).collect();
        let chain = chain.iter().map(|n| format!("\"{}\"", clip(n))).collect::<Vec<_>>().join(" → ");
        problems.push(QueryProblem::new(format!("topics refer to each other in a loop: {chain}"), span));
        return None;
    }
    if x.stack.len() >= MAX_TOPIC_DEPTH {
        problems.push(QueryProblem::new(format!("topics nest more than {MAX_TOPIC_DEPTH} deep"), span));
        return None;
    }
    x.references += 1;
    if x.references > MAX_TOPIC_REFERENCES {
        x.over = Some(QueryProblem::new(
            format!(
                "the query refers to saved topics more than {MAX_TOPIC_REFERENCES} times, counting topics within \
                 topics; at most {MAX_TOPIC_REFERENCES} are accepted"
            ),
            x.outer,
        ));
        return None;
    }
    let Some(text) = x.resolver.topic_query(name) else {
        problems.push(QueryProblem::new(format!("unknown topic \"{quoted}\""), span));
        return None;
    };
    let context = |p: QueryProblem| QueryProblem::new(format!("in topic \"{quoted}\": {}", p.message), span);
    // Saved before the limit existed, maybe: a topic's text is held to it like a query's, unlexed.
    if let Some(p) = check_length(&text) {
        problems.push(context(p));
        return None;
    }
    let mut inner = Vec::new();
    let tokens = lex(&text, &mut inner);
    let root = Parser::new(tokens, &mut inner).parse();
    // All at one span and with the same prefix: a few say enough, and a bad topic text referred
    // to many times must not multiply them.
    inner.truncate(MAX_PROBLEMS);
    problems.extend(inner.into_iter().map(context));
    let Some(root) = root else {
        problems.push(QueryProblem::new(format!("topic \"{quoted}\" has an empty query"), span));
        return None;
    };
    x.terms += count_terms(&root);
    if x.terms > MAX_QUERY_TERMS {
        x.over = Some(QueryProblem::new(
            format!(
                "with topic \"{quoted}\" expanded, the query has {} terms or more; at most {MAX_QUERY_TERMS} are \
                 accepted",
                x.terms
            ),
            x.outer,
        ));
        return None;
    }
    x.stack.push(name.to_owned());
    let mut nested = Vec::new();
    let expanded = expand_node(root, x, &mut nested);
    x.stack.pop();
    problems.extend(nested.into_iter().map(context));
    expanded.map(|n| respan(n, span))
}

/// Gives every node of a topic's tree the span of its reference.
fn respan(node: Node, span: Span) -> Node {
    let kind = match node.kind {
        NodeKind::And(c) => NodeKind::And(c.into_iter().map(|n| respan(n, span)).collect()),
        NodeKind::Or(c) => NodeKind::Or(c.into_iter().map(|n| respan(n, span)).collect()),
        NodeKind::Not(n) => NodeKind::Not(Box::new(respan(*n, span))),
        NodeKind::Near { left, right, distance, ordered } => NodeKind::Near {
            left: Box::new(respan(*left, span)),
            right: Box::new(respan(*right, span)),
            distance,
            ordered,
        },
        NodeKind::Field { field, value } => NodeKind::Field { field, value: Box::new(respan(*value, span)) },
        other => other,
    };
    Node { kind, span }
}
