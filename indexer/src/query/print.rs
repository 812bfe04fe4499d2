//! Tree → canonical query text.
//!
//! Operators are spelled out (`AND` for juxtaposition and binary `NOT`), comments are gone, and
//! parentheses appear exactly where the tree needs them, so parsing the output gives the same tree.

use std::fmt::Write;

use super::ast::{Node, NodeKind};

/// The canonical text of a tree.
pub fn print(node: &Node) -> String {
    let mut out = String::new();
    write_node(node, &mut out);
    out
}

/// Where a node is printed, for deciding on parentheses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// An item of an AND or OR chain (or the top).
    ChainItem,
    /// The operand of NOT.
    NotOperand,
    /// An operand of NEAR.
    NearOperand,
    /// The value of a field operator.
    FieldValue,
}

fn needs_parens(node: &Node, place: Place) -> bool {
    matches!(
        (&node.kind, place),
        (NodeKind::And(_) | NodeKind::Or(_), _)
            | (NodeKind::Not(_) | NodeKind::Near { .. }, Place::NearOperand | Place::FieldValue)
    )
}

fn write_child(node: &Node, place: Place, out: &mut String) {
    if needs_parens(node, place) {
        out.push('(');
        write_node(node, out);
        out.push(')');
    } else {
        write_node(node, out);
    }
}

fn write_chain(children: &[Node], op: &str, out: &mut String) {
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            out.push_str(op);
        }
        write_child(child, Place::ChainItem, out);
    }
}

fn write_node(node: &Node, out: &mut String) {
    match &node.kind {
        NodeKind::And(children) => write_chain(children, " AND ", out),
        NodeKind::Or(children) => write_chain(children, " OR ", out),
        NodeKind::Not(operand) => {
            out.push_str("NOT ");
            write_child(operand, Place::NotOperand, out);
        }
        NodeKind::Near { left, right, distance, ordered } => {
            write_child(left, Place::NearOperand, out);
            let _ = write!(out, " NEAR/{distance}{} ", if *ordered { "f" } else { "" });
            write_child(right, Place::NearOperand, out);
        }
        NodeKind::Word(w) => out.push_str(w),
        NodeKind::Phrase { text, slop } => {
            let _ = write!(out, "\"{text}\"");
            if let Some(n) = slop {
                let _ = write!(out, "~{n}");
            }
        }
        NodeKind::CaseSensitive(text) => {
            let _ = write!(out, "{{{text}}}");
        }
        NodeKind::Field { field, value } => {
            let _ = write!(out, "{field}:");
            write_child(value, Place::FieldValue, out);
        }
        NodeKind::Range { field, low, high } => {
            let bound = |b: &Option<String>| b.clone().unwrap_or_else(|| "*".into());
            let _ = write!(out, "{field}:[{} TO {}]", bound(low), bound(high));
        }
        NodeKind::Topic(name) => {
            let _ = write!(out, "topic:\"{name}\"");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_syntax;
    use super::*;

    fn canonical(text: &str) -> String {
        let (root, problems) = parse_syntax(text);
        assert!(problems.is_empty(), "{text}: {problems:?}");
        root.map(|r| print(&r)).unwrap_or_default()
    }

    #[test]
    fn prints_canonical_text() {
        assert_eq!(canonical("a b NOT c <<<why>>>"), "a AND b AND NOT c");
        assert_eq!(canonical("(a OR b) NEAR/3f (c OR \"d e\")"), "(a OR b) NEAR/3f (c OR \"d e\")");
        assert_eq!(canonical("a AND (b AND c)"), "a AND (b AND c)");
        assert_eq!(canonical("author:(bob OR @alice) rating:[3 TO *]"), "author:(bob OR @alice) AND rating:[3 TO *]");
        assert_eq!(canonical("NOT NOT a"), "NOT NOT a");
        assert_eq!(canonical("{BT} \"x y\"~2 topic:T"), "{BT} AND \"x y\"~2 AND topic:\"T\"");
        assert_eq!(canonical("NOT (a OR b)"), "NOT (a OR b)");
    }
}
