//! Checks on a parsed tree: what the grammar allows but the query can't mean.
//!
//! - A query, or a part joined by OR, that only excludes (`NOT x` alone) would match almost
//!   everything.
//! - NEAR takes words, phrases, `{…}` and OR-groups of them; not AND, NOT, fields or another NEAR.
//! - Every word and phrase must leave something to search once analyzed; wildcards must stay
//!   inside one word; a `~n` proximity takes at most [`MAX_PROXIMITY_WORDS`] words.
//! - Field values must suit their field (numbers, `true`/`false`, domains).

use super::ast::{FieldOp, Node, NodeKind};
use super::{fields, words, QueryProblem};
use crate::tokenizer::Case;

/// Most words in a `"…"~n` proximity phrase.
pub const MAX_PROXIMITY_WORDS: usize = 8;

/// Adds every problem of `root` to `problems`.
pub fn check(root: &Node, problems: &mut Vec<QueryProblem>) {
    // An OR with a negative part is reported at that part, which says more.
    let or_at_top = match &root.kind {
        NodeKind::Field { value, .. } => matches!(value.kind, NodeKind::Or(_)),
        kind => matches!(kind, NodeKind::Or(_)),
    };
    if !root.is_positive() && !or_at_top {
        problems.push(QueryProblem::new(
            "this query only excludes (NOT …): add something to look for, like `apple NOT pie`",
            root.span,
        ));
    }
    walk(root, problems);
}

fn walk(node: &Node, problems: &mut Vec<QueryProblem>) {
    let mut report = |message: String| problems.push(QueryProblem::new(message, node.span));
    match &node.kind {
        NodeKind::And(children) => children.iter().for_each(|c| walk(c, problems)),
        NodeKind::Or(children) => {
            for child in children {
                if !child.is_positive() {
                    problems.push(QueryProblem::new(
                        "each part of an OR must look for something; `NOT x` can't stand alone there \
                         (write `(a OR b) NOT x`)",
                        child.span,
                    ));
                }
                walk(child, problems);
            }
        }
        NodeKind::Not(operand) => {
            if !operand.is_positive() {
                problems.push(QueryProblem::new(
                    "NOT of something that is itself only negative: drop both NOTs",
                    node.span,
                ));
            }
            walk(operand, problems);
        }
        NodeKind::Near { left, right, .. } => {
            near_operand(left, problems);
            near_operand(right, problems);
        }
        NodeKind::Word(w) => {
            if let Err(e) = words::text_word(w, Case::Lower) {
                report(e);
            }
        }
        NodeKind::Phrase { text, slop } => match words::phrase(text, Case::Lower) {
            Err(e) => report(e),
            Ok(w) if slop.is_some() && w.len() > MAX_PROXIMITY_WORDS => {
                report(format!("a `~n` proximity search takes at most {MAX_PROXIMITY_WORDS} words"));
            }
            Ok(_) => {}
        },
        NodeKind::CaseSensitive(text) => {
            if let Err(e) = words::phrase(text, Case::Keep) {
                report(e);
            }
        }
        NodeKind::Field { field, value } => field_value(*field, value, problems),
        NodeKind::Range { field, low, high } => {
            if let Err(e) = fields::range(*field, low.as_deref(), high.as_deref()) {
                report(e);
            }
        }
        NodeKind::Topic(_) => {}
    }
}

/// Checks a NEAR operand: a word, a phrase without `~`, `{…}`, or an OR-group of those.
fn near_operand(node: &Node, problems: &mut Vec<QueryProblem>) {
    let message = match &node.kind {
        NodeKind::Word(_) | NodeKind::Phrase { slop: None, .. } | NodeKind::CaseSensitive(_) => {
            return walk(node, problems);
        }
        NodeKind::Or(children) => {
            return children.iter().for_each(|c| near_operand(c, problems));
        }
        NodeKind::Near { .. } => "NEAR can't be chained or nested: combine NEAR clauses with AND instead",
        NodeKind::And(_) => "AND can't be inside a NEAR operand: NEAR takes words, phrases, or OR-groups of them",
        NodeKind::Not(_) => "NOT can't be inside a NEAR operand: put NOT outside, like `(a NEAR/3 b) NOT c`",
        NodeKind::Phrase { .. } => "a `~n` proximity phrase can't be an operand of NEAR",
        NodeKind::Field { .. } | NodeKind::Range { .. } => "NEAR works on the mention text only, not on fields",
        NodeKind::Topic(_) => "this topic can't be an operand of NEAR: its query is not only words and OR",
    };
    problems.push(QueryProblem::new(message, node.span));
}

/// Checks the value of a field operator.
fn field_value(field: FieldOp, value: &Node, problems: &mut Vec<QueryProblem>) {
    let raw = match &value.kind {
        NodeKind::And(children) | NodeKind::Or(children) => {
            if matches!(value.kind, NodeKind::Or(_)) {
                for child in children.iter().filter(|c| !c.is_positive()) {
                    problems.push(QueryProblem::new("each part of an OR must look for something", child.span));
                }
            }
            return children.iter().for_each(|c| field_value(field, c, problems));
        }
        NodeKind::Not(operand) => return field_value(field, operand, problems),
        NodeKind::Word(w) => w.as_str(),
        NodeKind::Phrase { text, .. } => text.as_str(),
        // Reported by the parser.
        _ => return,
    };
    if let Err(e) = value_of(field, raw) {
        problems.push(QueryProblem::new(e, value.span));
    }
}

/// Checks one raw value of a field operator.
pub(crate) fn value_of(field: FieldOp, raw: &str) -> Result<(), String> {
    match field {
        FieldOp::AuthorFollowers | FieldOp::Rating => fields::number(field, raw).map(drop),
        FieldOp::AuthorVerified => fields::boolean(raw).map(drop),
        FieldOp::Url => words::url(raw).map(drop),
        FieldOp::AuthorName => words::phrase(raw, Case::Lower).map(drop),
        _ => fields::keyword(field, raw).map(drop),
    }
}
