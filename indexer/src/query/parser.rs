//! Tokens → syntax tree, by recursive descent.
//!
//! ```text
//! query   := expr? EOF
//! expr    := unary ( (AND | OR)? unary )*        -- no operator means AND; `a NOT b` is `a AND NOT b`
//! unary   := NOT unary | near
//! near    := primary ( NEAR/n primary )?
//! primary := '(' expr ')' | FIELD value | WORD | PHRASE | CASE
//! value   := '(' expr ')' | '[' bound TO bound ']' | WORD | PHRASE
//! ```
//!
//! AND and OR bind equally, so mixing them in one chain without parentheses is a problem, as is a
//! chain of NEARs. The parser recovers from every problem (it records it and goes on), so one pass
//! finds them all; the tree it returns is only used when there were none.

use super::ast::{FieldOp, Node, NodeKind, Span};
use super::fields::suggest_field;
use super::lexer::{Tok, Token};
use super::limits::clip;
use super::QueryProblem;

/// Deepest nesting of parentheses, NOTs and fields (each adds a level).
pub const MAX_DEPTH: usize = 64;

/// Where an expression is: top level, or the value of a field operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ctx {
    field: Option<FieldOp>,
}

/// How a chain joins its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    And,
    Or,
}

pub(crate) struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Set once nesting passed [`MAX_DEPTH`]: parsing stopped there, and what the levels being
    /// unwound would say (`(` never closed, NOT without operand) is a consequence, not a problem.
    too_deep: bool,
    problems: &'a mut Vec<QueryProblem>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(tokens: Vec<Token>, problems: &'a mut Vec<QueryProblem>) -> Self {
        Parser { tokens, pos: 0, depth: 0, too_deep: false, problems }
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn span(&self) -> Span {
        self.tokens.get(self.pos).map_or((0, 0), |t| t.span)
    }

    fn problem(&mut self, message: impl Into<String>, span: Span) {
        if !self.too_deep {
            self.problems.push(QueryProblem::new(message, span));
        }
    }

    /// Parses the whole token list; `None` for an empty query.
    pub(crate) fn parse(mut self) -> Option<Node> {
        let mut root = None;
        while self.pos < self.tokens.len() {
            let node = self.expr(Ctx { field: None });
            // Text after a stray `)` was parsed too (to find its problems); the `)` is reported below.
            if root.is_none() {
                root = node;
            }
            if let Some(Tok::RParen) = self.peek() {
                self.problem("`)` has no matching `(`", self.span());
                self.pos += 1;
            } else if let Some(Tok::RBracket) = self.peek() {
                self.problem("`]` has no matching `[`", self.span());
                self.pos += 1;
            }
        }
        root
    }

    fn expr(&mut self, ctx: Ctx) -> Option<Node> {
        let mut items: Vec<Node> = Vec::new();
        let mut join: Option<Join> = None;
        let mut mixed_reported = false;
        let mut pending_op: Option<(Join, Span)> = None;
        loop {
            let op = match self.peek() {
                None | Some(Tok::RParen) | Some(Tok::RBracket) => break,
                Some(Tok::And) => Some(Join::And),
                Some(Tok::Or) => Some(Join::Or),
                _ => None,
            };
            if let Some(op) = op {
                let span = self.span();
                self.pos += 1;
                if items.is_empty() || pending_op.is_some() {
                    let name = if op == Join::And { "AND" } else { "OR" };
                    self.problem(format!("{name} needs something on each side"), span);
                }
                pending_op = Some((op, span));
                continue;
            }
            let start = self.span();
            let Some(item) = self.unary(ctx) else {
                // The item's own problem is recorded; don't blame the operator before it too.
                pending_op = None;
                continue;
            };
            if !items.is_empty() {
                // No operator between two items (or a binary NOT) means AND.
                let (op, op_span) = pending_op.unwrap_or((Join::And, start));
                match join {
                    None => join = Some(op),
                    Some(j) if j != op && !mixed_reported => {
                        mixed_reported = true;
                        self.problem(
                            "AND and OR are mixed without parentheses: add parentheses to say which goes first, \
                             like `(a AND b) OR c`",
                            op_span,
                        );
                    }
                    Some(_) => {}
                }
            }
            pending_op = None;
            items.push(item);
        }
        if let Some((op, span)) = pending_op {
            if !items.is_empty() {
                let name = if op == Join::And { "AND" } else { "OR" };
                self.problem(format!("{name} needs something on each side"), span);
            }
        }
        match items.len() {
            0 => None,
            1 => items.pop(),
            _ => {
                let span = (items[0].span.0, items[items.len() - 1].span.1);
                let kind = match join {
                    Some(Join::Or) => NodeKind::Or(items),
                    _ => NodeKind::And(items),
                };
                Some(Node::new(kind, span))
            }
        }
    }

    /// Runs `f` one level deeper, the level `open` (a `(`, NOT or field) starts, refusing to go
    /// past [`MAX_DEPTH`]: then the problem is at `open` and parsing stops, since going on would only
    /// recurse deeper.
    fn nested(&mut self, open: Span, f: impl FnOnce(&mut Self) -> Option<Node>) -> Option<Node> {
        if self.depth >= MAX_DEPTH {
            self.problem(
                format!(
                    "the query nests more than {MAX_DEPTH} levels deep (each `(`, NOT and field adds a level); \
                     take out some parentheses"
                ),
                open,
            );
            self.too_deep = true;
            self.pos = self.tokens.len();
            return None;
        }
        self.depth += 1;
        let node = f(self);
        self.depth -= 1;
        node
    }

    fn unary(&mut self, ctx: Ctx) -> Option<Node> {
        if let Some(Tok::Not) = self.peek() {
            let span = self.span();
            self.pos += 1;
            let operand = self.nested(span, |p| match p.peek() {
                None | Some(Tok::RParen) | Some(Tok::And) | Some(Tok::Or) | Some(Tok::RBracket) => None,
                _ => p.unary(ctx),
            });
            return match operand {
                Some(o) => {
                    let span = (span.0, o.span.1);
                    Some(Node::new(NodeKind::Not(Box::new(o)), span))
                }
                None => {
                    self.problem("NOT needs something after it", span);
                    None
                }
            };
        }
        self.near(ctx)
    }

    /// `primary (NEAR/n primary)?`; a chain of NEARs is a problem.
    fn near(&mut self, ctx: Ctx) -> Option<Node> {
        let mut left = self.primary(ctx);
        while let Some(&Tok::Near { distance, ordered }) = self.peek() {
            let op_span = self.span();
            self.pos += 1;
            if ctx.field.is_some() {
                self.problem("NEAR works on the mention text only, not inside a field", op_span);
            }
            let right = match self.peek() {
                Some(Tok::Not) => self.unary(ctx),
                _ => self.primary(ctx),
            };
            let (Some(l), Some(r)) = (left.take(), right) else {
                self.problem("NEAR needs a word, phrase or OR-group on each side", op_span);
                continue;
            };
            if matches!(l.kind, NodeKind::Near { .. }) {
                // Keep the tree shallow: a chain is reported, not built.
                self.problem("NEAR can't be chained or nested: combine NEAR clauses with AND instead", op_span);
                left = Some(l);
                continue;
            }
            let span = (l.span.0, r.span.1);
            left = Some(Node::new(NodeKind::Near { left: Box::new(l), right: Box::new(r), distance, ordered }, span));
        }
        left
    }

    fn primary(&mut self, ctx: Ctx) -> Option<Node> {
        let token = self.tokens.get(self.pos)?.clone();
        let span = token.span;
        match token.tok {
            Tok::LParen => {
                self.pos += 1;
                self.group(ctx, span)
            }
            Tok::Field(name) => {
                self.pos += 1;
                self.nested(span, |p| p.field(ctx, &name, span))
            }
            Tok::Word(w) => {
                self.pos += 1;
                if ctx.field.is_none() {
                    check_wildcard(&w, span, self.problems);
                }
                Some(Node::new(NodeKind::Word(w), span))
            }
            Tok::Phrase { text, slop } => {
                self.pos += 1;
                Some(Node::new(NodeKind::Phrase { text, slop }, span))
            }
            Tok::CaseSensitive(text) => {
                self.pos += 1;
                if ctx.field.is_some() {
                    self.problem("`{…}` (case-sensitive) works on the mention text only", span);
                }
                Some(Node::new(NodeKind::CaseSensitive(text), span))
            }
            Tok::LBracket => {
                self.pos += 1;
                self.problem("a `[a TO b]` range needs a numeric field before it, like `rating:[3 TO 5]`", span);
                self.skip_range();
                None
            }
            Tok::RBracket | Tok::RParen | Tok::And | Tok::Or => None,
            Tok::Not => self.unary(ctx),
            Tok::Near { .. } => {
                self.pos += 1;
                self.problem("NEAR needs a word, phrase or OR-group on each side", span);
                None
            }
        }
    }

    /// After `(`: an expression and its `)`.
    fn group(&mut self, ctx: Ctx, open: Span) -> Option<Node> {
        let inner = self.nested(open, |p| p.expr(ctx));
        match self.peek() {
            Some(Tok::RParen) => {
                let close = self.span();
                self.pos += 1;
                if inner.is_none() {
                    self.problem("empty parentheses", (open.0, close.1));
                }
            }
            _ => self.problem("`(` is never closed with `)`", open),
        }
        inner
    }

    /// After `name:`: the value of a field operator.
    fn field(&mut self, ctx: Ctx, name: &str, span: Span) -> Option<Node> {
        if ctx.field.is_some() {
            self.problem("a field can't be used inside another field's value", span);
        }
        if name.eq_ignore_ascii_case("topic") {
            return self.topic(span);
        }
        let Some(field) = FieldOp::from_name(name) else {
            self.problem(format!("unknown field `{}:`{}", clip(name), suggest_field(name)), span);
            // Parse the value anyway and keep it in the tree, so that later problems are found too.
            return self.value(Ctx { field: Some(FieldOp::Tags) });
        };
        let value = self.value(Ctx { field: Some(field) })?;
        let full = (span.0, value.span.1);
        let kind = match value.kind {
            NodeKind::Range { low, high, .. } => NodeKind::Range { field, low, high },
            _ => NodeKind::Field { field, value: Box::new(value) },
        };
        Some(Node::new(kind, full))
    }

    fn topic(&mut self, span: Span) -> Option<Node> {
        let token = self.tokens.get(self.pos).cloned();
        let name = match token.as_ref().map(|t| &t.tok) {
            Some(Tok::Phrase { text, slop: None }) => text.clone(),
            Some(Tok::Word(w)) => w.clone(),
            _ => {
                self.problem("`topic:` needs a topic name, like `topic:\"My brand\"`", span);
                return None;
            }
        };
        let end = token.map_or(span.1, |t| t.span.1);
        self.pos += 1;
        Some(Node::new(NodeKind::Topic(name), (span.0, end)))
    }

    fn value(&mut self, ctx: Ctx) -> Option<Node> {
        match self.peek() {
            Some(Tok::LBracket) => self.range(ctx),
            Some(Tok::Word(_)) | Some(Tok::Phrase { .. }) | Some(Tok::LParen) => {
                let node = self.primary(ctx)?;
                if let NodeKind::Phrase { slop: Some(_), .. } = node.kind {
                    self.problem("`~n` proximity works on the mention text only", node.span);
                }
                Some(node)
            }
            _ => {
                let span = self.span();
                self.problem("a field needs a value: a word, a \"phrase\" or a (group)", span);
                None
            }
        }
    }

    /// After a numeric field: `[low TO high]`.
    fn range(&mut self, ctx: Ctx) -> Option<Node> {
        let open = self.span();
        self.pos += 1;
        let mut words = Vec::new();
        let mut close = None;
        while let Some(t) = self.tokens.get(self.pos) {
            match &t.tok {
                Tok::Word(w) => words.push(w.clone()),
                Tok::RBracket => {
                    close = Some(t.span);
                    self.pos += 1;
                    break;
                }
                _ => break,
            }
            self.pos += 1;
        }
        let Some(close) = close else {
            self.problem("`[` is never closed with `]`", open);
            return None;
        };
        let span = (open.0, close.1);
        let field = ctx.field.unwrap_or(FieldOp::Rating);
        if !field.is_numeric() {
            self.problem(format!("`{field}:` takes no range; ranges work on authorFollowers and rating"), span);
        }
        let [low, to, high] = words.as_slice() else {
            self.problem("a range is written `[low TO high]`, with `*` for no limit", span);
            return None;
        };
        if to != "TO" {
            self.problem("a range is written `[low TO high]`, with `*` for no limit", span);
        }
        let bound = |s: &String| if s == "*" { None } else { Some(s.clone()) };
        Some(Node::new(NodeKind::Range { field, low: bound(low), high: bound(high) }, span))
    }

    fn skip_range(&mut self) {
        while let Some(t) = self.tokens.get(self.pos) {
            self.pos += 1;
            if t.tok == Tok::RBracket {
                break;
            }
        }
    }
}

/// A wildcard may not start a word: it would have to scan every term.
pub(crate) fn check_wildcard(word: &str, span: Span, problems: &mut Vec<QueryProblem>) {
    let body = word.trim_start_matches(['#', '@']);
    if body.starts_with(['*', '?']) {
        problems
            .push(QueryProblem::new("a wildcard can't start a word: put at least one letter before `*` or `?`", span));
    }
}
