//! `topic:"Name"`: replacing a reference by the saved topic's query, with cycle detection.
//!
//! The topic's query is lexed and parsed on its own; its nodes take the span of the reference, so a
//! problem found later (say, the topic used as a NEAR operand) points at `topic:"Name"` in the query
//! being checked. Problems inside the topic's text are reported as `in topic "Name": …`.

use super::ast::{Node, NodeKind, Span};
use super::lexer::lex;
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

/// Replaces every topic reference in `node`. `stack` holds the topics being expanded (outermost first).
pub fn expand(
    node: Node,
    resolver: &dyn TopicResolver,
    stack: &mut Vec<String>,
    problems: &mut Vec<QueryProblem>,
) -> Option<Node> {
    let Node { kind, span } = node;
    let kind = match kind {
        NodeKind::Topic(name) => return expand_topic(&name, span, resolver, stack, problems),
        NodeKind::And(children) => NodeKind::And(expand_all(children, resolver, stack, problems)?),
        NodeKind::Or(children) => NodeKind::Or(expand_all(children, resolver, stack, problems)?),
        NodeKind::Not(operand) => NodeKind::Not(Box::new(expand(*operand, resolver, stack, problems)?)),
        NodeKind::Near { left, right, distance, ordered } => NodeKind::Near {
            left: Box::new(expand(*left, resolver, stack, problems)?),
            right: Box::new(expand(*right, resolver, stack, problems)?),
            distance,
            ordered,
        },
        other => other,
    };
    Some(Node { kind, span })
}

fn expand_all(
    children: Vec<Node>,
    resolver: &dyn TopicResolver,
    stack: &mut Vec<String>,
    problems: &mut Vec<QueryProblem>,
) -> Option<Vec<Node>> {
    let mut out = Vec::with_capacity(children.len());
    for child in children {
        // Expand every child even after a failure, to report every problem.
        if let Some(c) = expand(child, resolver, stack, problems) {
            out.push(c);
        }
    }
    Some(out).filter(|o| !o.is_empty())
}

fn expand_topic(
    name: &str,
    span: Span,
    resolver: &dyn TopicResolver,
    stack: &mut Vec<String>,
    problems: &mut Vec<QueryProblem>,
) -> Option<Node> {
    if stack.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        let chain: Vec<&str> = stack.iter().map(String::as_str).chain(std::iter::once(name)).collect();
        let chain = chain.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(" → ");
        problems.push(QueryProblem::new(format!("topics refer to each other in a loop: {chain}"), span));
        return None;
    }
    if stack.len() >= MAX_TOPIC_DEPTH {
        problems.push(QueryProblem::new(format!("topics nest more than {MAX_TOPIC_DEPTH} deep"), span));
        return None;
    }
    let Some(text) = resolver.topic_query(name) else {
        problems.push(QueryProblem::new(format!("unknown topic \"{name}\""), span));
        return None;
    };
    let mut inner = Vec::new();
    let tokens = lex(&text, &mut inner);
    let root = Parser::new(tokens, &mut inner).parse();
    let context = |p: QueryProblem| QueryProblem::new(format!("in topic \"{name}\": {}", p.message), span);
    problems.extend(inner.into_iter().map(context));
    let Some(root) = root else {
        problems.push(QueryProblem::new(format!("topic \"{name}\" has an empty query"), span));
        return None;
    };
    stack.push(name.to_owned());
    let mut nested = Vec::new();
    let expanded = expand(root, resolver, stack, &mut nested);
    stack.pop();
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
