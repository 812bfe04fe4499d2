//! The syntax tree of a query.
//!
//! The tree keeps what the analyst wrote (raw words, phrase text) and the byte span of every node,
//! so that problems point at the text and printing gives back an equivalent query. Parentheses leave
//! no node of their own: the printer puts them back wherever precedence needs them.

use std::fmt;

/// A byte range `(start, end)` in the query text.
pub type Span = (usize, usize);

/// A node and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node is.
    pub kind: NodeKind,
    /// Where it is in the query text.
    pub span: Span,
}

/// The kinds of node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// Every child must match (`AND`, juxtaposition, binary `NOT`).
    And(Vec<Node>),
    /// Any child matches (`OR`).
    Or(Vec<Node>),
    /// Excludes what its operand matches.
    Not(Box<Node>),
    /// `left NEAR/n right` (unordered) or `left NEAR/nf right` (left before right): at most
    /// `distance` words between the two.
    Near {
        /// The left operand.
        left: Box<Node>,
        /// The right operand.
        right: Box<Node>,
        /// Most words allowed between the operands.
        distance: u32,
        /// Whether `left` must come first.
        ordered: bool,
    },
    /// A bare word, as written; may hold `*` and `?` wildcards.
    Word(String),
    /// `"some words"`, or `"some words"~n` (all words within a window with at most `n` other words).
    Phrase {
        /// The text between the quotes.
        text: String,
        /// The `~n` proximity, if any.
        slop: Option<u32>,
    },
    /// `{BT}`: a case-sensitive word or phrase.
    CaseSensitive(String),
    /// `field:value`, where the value is a word, a phrase or a parenthesised group of them.
    Field {
        /// The field operator.
        field: FieldOp,
        /// The value.
        value: Box<Node>,
    },
    /// `field:[low TO high]`, inclusive; `None` is `*` (unbounded).
    Range {
        /// The numeric field operator.
        field: FieldOp,
        /// Lower bound as written.
        low: Option<String>,
        /// Upper bound as written.
        high: Option<String>,
    },
    /// `topic:"Name"`: a saved topic's query.
    Topic(String),
}

/// Field operators of the language and the schema fields they search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOp {
    /// `author:` → `author_handle` (without `@`, case-insensitive).
    Author,
    /// `authorName:` → `author_name` (display name, analyzed like text).
    AuthorName,
    /// `site:` → the host of `url` (matches sub-domains).
    Site,
    /// `url:` → `url` (host, then path words).
    Url,
    /// `language:` → `language`.
    Language,
    /// `country:` → `country`.
    Country,
    /// `source:` → `source`.
    Source,
    /// `engagementType:` → `engagement_type`.
    EngagementType,
    /// `sentiment:` → `sentiment`.
    Sentiment,
    /// `tags:` → `tags`.
    Tags,
    /// `authorFollowers:` → `author_followers` (number or range).
    AuthorFollowers,
    /// `rating:` → `rating` (number or range).
    Rating,
    /// `authorVerified:` → `author_verified` (`true` or `false`).
    AuthorVerified,
}

impl FieldOp {
    /// Every operator, in the order suggestions are listed.
    pub const ALL: [FieldOp; 13] = [
        FieldOp::Author,
        FieldOp::AuthorName,
        FieldOp::Site,
        FieldOp::Url,
        FieldOp::Language,
        FieldOp::Country,
        FieldOp::Source,
        FieldOp::EngagementType,
        FieldOp::Sentiment,
        FieldOp::Tags,
        FieldOp::AuthorFollowers,
        FieldOp::Rating,
        FieldOp::AuthorVerified,
    ];

    /// The operator as written in queries.
    pub fn name(self) -> &'static str {
        match self {
            FieldOp::Author => "author",
            FieldOp::AuthorName => "authorName",
            FieldOp::Site => "site",
            FieldOp::Url => "url",
            FieldOp::Language => "language",
            FieldOp::Country => "country",
            FieldOp::Source => "source",
            FieldOp::EngagementType => "engagementType",
            FieldOp::Sentiment => "sentiment",
            FieldOp::Tags => "tags",
            FieldOp::AuthorFollowers => "authorFollowers",
            FieldOp::Rating => "rating",
            FieldOp::AuthorVerified => "authorVerified",
        }
    }

    /// Whether the operator takes numbers and `[a TO b]` ranges.
    pub fn is_numeric(self) -> bool {
        matches!(self, FieldOp::AuthorFollowers | FieldOp::Rating)
    }

    /// Looks an operator up by name, ignoring case.
    pub fn from_name(name: &str) -> Option<FieldOp> {
        FieldOp::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for FieldOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Node {
    /// A node.
    pub fn new(kind: NodeKind, span: Span) -> Node {
        Node { kind, span }
    }

    /// Whether the node matches documents by itself (as opposed to only excluding some): `NOT x` does
    /// not, an `AND` does when any child does, an `OR` when every child does, a field when its value
    /// does.
    pub fn is_positive(&self) -> bool {
        match &self.kind {
            NodeKind::Not(_) => false,
            NodeKind::And(children) => children.iter().any(Node::is_positive),
            NodeKind::Or(children) => children.iter().all(Node::is_positive),
            NodeKind::Field { value, .. } => value.is_positive(),
            _ => true,
        }
    }

    /// The same tree with every span set to `(0, 0)`, to compare shapes.
    pub fn without_spans(&self) -> Node {
        let kind = match &self.kind {
            NodeKind::And(c) => NodeKind::And(c.iter().map(Node::without_spans).collect()),
            NodeKind::Or(c) => NodeKind::Or(c.iter().map(Node::without_spans).collect()),
            NodeKind::Not(n) => NodeKind::Not(Box::new(n.without_spans())),
            NodeKind::Near { left, right, distance, ordered } => NodeKind::Near {
                left: Box::new(left.without_spans()),
                right: Box::new(right.without_spans()),
                distance: *distance,
                ordered: *ordered,
            },
            NodeKind::Field { field, value } => {
                NodeKind::Field { field: *field, value: Box::new(value.without_spans()) }
            }
            other => other.clone(),
        };
        Node { kind, span: (0, 0) }
    }
}
