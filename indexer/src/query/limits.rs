//! Limits on what one query may cost, and on what its problems may echo back.
//!
//! Without them a 1,000,000-term OR (10.9 MB) took seconds and a gigabyte to refuse or run, a few
//! saved topics referring to each other could multiply into millions of nodes, and a problem could
//! quote megabytes of the query back into a status message. Each limit is a constant here (or next
//! to the code it guards, re-exported from [`crate::query`]) so that the server can quote it, and
//! each is reported as a [`QueryProblem`] that says what the limit is and what was found.
//!
//! | limit                     | checked                                                       |
//! |---------------------------|---------------------------------------------------------------|
//! | [`MAX_QUERY_BYTES`]       | first, before lexing: a huge text costs one comparison        |
//! | [`MAX_QUERY_TERMS`]       | after parsing, and again as each saved topic is expanded      |
//! | [`MAX_TOPIC_REFERENCES`]  | while topics are expanded (topics within topics count)        |
//! | [`MAX_EXPANDED_TERMS`]    | while lowering, over all wildcards together                   |
//! | [`MAX_PROBLEMS`]          | on the problems reported: the rest are summed up in one more   |
//! | [`MAX_QUOTED_CHARS`]      | on any word, value or name a problem quotes                   |

use std::borrow::Cow;

use super::ast::{Node, NodeKind, Span};
use super::QueryProblem;
use crate::tokenizer::segments;

/// Longest query text accepted, in bytes (16 KiB). Saved topics' texts are held to it too. A
/// Brandwatch-sized boolean query of a few hundred terms fits in a quarter of it.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// Most terms in a query, counting the terms of the saved topics it refers to. A term is one
/// searchable word: a bare word, each word of a phrase or `{…}` (`e-mail` is two), a field value, a
/// range. A wildcard counts once here; what it matches counts toward [`MAX_EXPANDED_TERMS`].
pub const MAX_QUERY_TERMS: usize = 1024;

/// Most `topic:"Name"` references expanded for one query, counting references inside topics.
/// With [`super::topics::MAX_TOPIC_DEPTH`] alone, topics that each refer to others several times
/// would multiply without bound.
pub const MAX_TOPIC_REFERENCES: usize = 256;

/// Most indexed words all the wildcards of one query may match together (each one alone is held to
/// [`super::MAX_WILDCARD_TERMS`]).
pub const MAX_EXPANDED_TERMS: usize = 8 * 1024;

/// Most problems listed for one query; the rest are summed up in one more problem. Keeps a Validate
/// answer and the error details of a status small when the text is garbage.
pub const MAX_PROBLEMS: usize = 20;

/// Most characters of a word, value or name quoted in a problem's message; longer ones are cut and
/// end in `…`.
pub const MAX_QUOTED_CHARS: usize = 64;

/// `s` cut to [`MAX_QUOTED_CHARS`] characters (on a character boundary), with `…` when cut.
pub fn clip(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(MAX_QUOTED_CHARS) {
        None => Cow::Borrowed(s),
        Some((end, _)) => Cow::Owned(format!("{}…", &s[..end])),
    }
}

/// A size in words: `20000 bytes`, or `10.9 MB (10900000 bytes)` from a megabyte up.
fn size(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB ({bytes} bytes)", bytes as f64 / 1e6)
    } else {
        format!("{bytes} bytes")
    }
}

/// The problem of a text longer than [`MAX_QUERY_BYTES`], at the part beyond the limit.
pub fn check_length(text: &str) -> Option<QueryProblem> {
    if text.len() <= MAX_QUERY_BYTES {
        return None;
    }
    let mut start = MAX_QUERY_BYTES;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    Some(QueryProblem::new(
        format!("the query is {}; at most {MAX_QUERY_BYTES} bytes are accepted", size(text.len())),
        (start, text.len()),
    ))
}

/// Calls `f` with the span and term count of every leaf of `node`, in text order. Topic references
/// count nothing: their terms are counted as they are expanded.
fn leaves(node: &Node, f: &mut impl FnMut(Span, usize)) {
    // Words split the way the index splits them, so that `a-b-c-…` counts what it costs.
    let words = |text: &str| segments(text).len().max(1);
    match &node.kind {
        NodeKind::And(children) | NodeKind::Or(children) => children.iter().for_each(|c| leaves(c, f)),
        NodeKind::Not(operand) => leaves(operand, f),
        NodeKind::Near { left, right, .. } => {
            leaves(left, f);
            leaves(right, f);
        }
        NodeKind::Field { value, .. } => leaves(value, f),
        NodeKind::Word(text) | NodeKind::Phrase { text, .. } | NodeKind::CaseSensitive(text) => {
            f(node.span, words(text))
        }
        NodeKind::Range { .. } => f(node.span, 1),
        NodeKind::Topic(_) => {}
    }
}

/// How many terms `node` has (see [`MAX_QUERY_TERMS`]), not counting saved topics it refers to.
pub fn count_terms(node: &Node) -> usize {
    let mut total = 0;
    leaves(node, &mut |_, n| total += n);
    total
}

/// The problem of a tree with more than [`MAX_QUERY_TERMS`] terms, at the leaf that goes past it.
pub fn check_terms(root: &Node) -> Option<QueryProblem> {
    let mut total = 0;
    let mut first_over = None;
    leaves(root, &mut |span, n| {
        total += n;
        if total > MAX_QUERY_TERMS && first_over.is_none() {
            first_over = Some(span);
        }
    });
    first_over.map(|span| {
        QueryProblem::new(format!("the query has {total} terms; at most {MAX_QUERY_TERMS} are accepted"), span)
    })
}

/// Keeps the first [`MAX_PROBLEMS`] problems (already in text order) and sums up the rest in one more.
pub fn cap_problems(problems: &mut Vec<QueryProblem>) {
    if problems.len() <= MAX_PROBLEMS {
        return;
    }
    let more = problems.len() - MAX_PROBLEMS;
    let span = problems[MAX_PROBLEMS].span;
    problems.truncate(MAX_PROBLEMS);
    problems.push(QueryProblem::new(
        format!("{more} more problems from here on are not listed; fix the ones above first"),
        span,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_syntax;

    #[test]
    fn clip_cuts_long_text_on_a_char_boundary() {
        assert_eq!(clip("short"), "short");
        let exact = "é".repeat(MAX_QUOTED_CHARS);
        assert_eq!(clip(&exact), exact.as_str());
        let long = "é".repeat(MAX_QUOTED_CHARS + 1);
        assert_eq!(clip(&long), format!("{}…", "é".repeat(MAX_QUOTED_CHARS)));
    }

    #[test]
    fn length_is_checked_in_bytes_and_said_in_words() {
        assert!(check_length(&"a".repeat(MAX_QUERY_BYTES)).is_none());
        let p = check_length(&"a".repeat(MAX_QUERY_BYTES + 1)).expect("too long");
        assert_eq!(p.message, "the query is 16385 bytes; at most 16384 bytes are accepted");
        assert_eq!(p.span, (MAX_QUERY_BYTES, MAX_QUERY_BYTES + 1));
        let p = check_length(&"a".repeat(10_900_000)).expect("too long");
        assert_eq!(p.message, "the query is 10.9 MB (10900000 bytes); at most 16384 bytes are accepted");
        // A span never cuts a character: `é` is two bytes, the limit falls inside the last one.
        let text = format!("a{}", "é".repeat(MAX_QUERY_BYTES / 2));
        let p = check_length(&text).expect("too long");
        assert!(text.is_char_boundary(p.span.0));
        assert_eq!(p.span.0, MAX_QUERY_BYTES - 1);
    }

    #[test]
    fn terms_are_searchable_words() {
        let root = |q: &str| parse_syntax(q).0.expect("a tree");
        assert_eq!(count_terms(&root("apple")), 1);
        assert_eq!(count_terms(&root("e-mail \"apple pie\" {BT} tags:x rating:[1 TO 2] topic:T")), 7);
        assert_eq!(count_terms(&root("(a OR b) NEAR/2 c NOT d*")), 4);
    }

    #[test]
    fn problems_past_the_cap_are_summed_up() {
        let mut problems: Vec<QueryProblem> =
            (0..MAX_PROBLEMS + 5).map(|i| QueryProblem::new("x", (i, i + 1))).collect();
        cap_problems(&mut problems);
        assert_eq!(problems.len(), MAX_PROBLEMS + 1);
        let last = &problems[MAX_PROBLEMS];
        assert_eq!(last.span, (MAX_PROBLEMS, MAX_PROBLEMS + 1));
        assert!(last.message.starts_with("5 more problems"), "{}", last.message);
    }
}
