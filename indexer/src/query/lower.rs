//! A checked tree → Tantivy queries.
//!
//! | construct                    | query                                                        |
//! |------------------------------|--------------------------------------------------------------|
//! | word                         | `TermQuery` on `text` (a word that splits, like `e-mail`, is a phrase) |
//! | `"phrase"`                   | `PhraseQuery` (with wildcards: [`PositionalQuery`], anywhere) |
//! | `"a b c"~n`                  | [`PositionalQuery`], within a window                         |
//! | `a NEAR/n b`, `NEAR/nf`      | [`PositionalQuery`], near                                    |
//! | `complain*`                  | [`WildcardQuery`]                                            |
//! | `{BT}`                       | the same on `text_cs`                                        |
//! | `AND` / `OR` / `NOT`         | `BooleanQuery` (`MustNot` plus `AllQuery` where nothing is required) |
//! | `field:value`, `field:[a TO b]` | `TermQuery`, `WildcardQuery`, `RangeQuery` on the schema field |

use std::cell::Cell;
use std::ops::Bound;

use tantivy::query::{AllQuery, BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

use super::ast::{FieldOp, Node, NodeKind, Span};
use super::fields::{self, Number};
use super::guard::SeekGuard;
use super::limits::{clip, MAX_EXPANDED_TERMS};
use super::near::{Mode, Operand, PositionalQuery, SlotTerms};
use super::wildcard::{expand, WildcardQuery};
use super::words::{self, Slot};
use crate::schema::Fields;
use crate::tokenizer::Case;
use crate::IndexError;

fn problem(message: impl Into<String>, span: Span) -> IndexError {
    IndexError::InvalidQuery { message: message.into(), span: Some(span) }
}

/// Lowers checked trees; `searcher`, when given, is used to check wildcard expansions up front.
pub struct Lowerer<'a> {
    fields: &'a Fields,
    searcher: Option<&'a Searcher>,
    cap: usize,
    /// Most words all wildcards may match together ([`MAX_EXPANDED_TERMS`] unless changed).
    total_cap: usize,
    /// Words matched by the wildcards checked so far.
    expanded: Cell<usize>,
}

impl<'a> Lowerer<'a> {
    /// A lowerer over the schema's fields with the wildcard cap (each wildcard) and
    /// [`MAX_EXPANDED_TERMS`] (all of them together).
    pub fn new(fields: &'a Fields, searcher: Option<&'a Searcher>, cap: usize) -> Self {
        Lowerer { fields, searcher, cap, total_cap: MAX_EXPANDED_TERMS, expanded: Cell::new(0) }
    }

    /// The same with another cap on the words all wildcards match together (for tests on a small
    /// index).
    pub fn with_total_cap(mut self, total_cap: usize) -> Self {
        self.total_cap = total_cap;
        self
    }

    /// The query of a checked tree.
    pub fn lower(&self, node: &Node) -> Result<Box<dyn Query>, IndexError> {
        self.boolean(node, None)
    }

    fn boolean(&self, node: &Node, field: Option<FieldOp>) -> Result<Box<dyn Query>, IndexError> {
        Ok(match &node.kind {
            NodeKind::And(children) => {
                let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(children.len() + 1);
                for child in children {
                    match &child.kind {
                        NodeKind::Not(operand) => clauses.push((Occur::MustNot, self.boolean(operand, field)?)),
                        _ => clauses.push((Occur::Must, self.boolean(child, field)?)),
                    }
                }
                if !clauses.iter().any(|(occur, _)| *occur == Occur::Must) {
                    // Tantivy matches nothing when every clause is MustNot: exclude from everything.
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            NodeKind::Or(children) => {
                let clauses = children.iter().map(|c| Ok((Occur::Should, self.boolean(c, field)?))).collect::<Result<
                    Vec<_>,
                    IndexError,
                >>(
                )?;
                Box::new(BooleanQuery::new(clauses))
            }
            NodeKind::Not(operand) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, self.boolean(operand, field)?),
            ])),
            _ => match field {
                None => self.text_leaf(node)?,
                Some(f) => self.field_leaf(f, node)?,
            },
        })
    }

    fn text_leaf(&self, node: &Node) -> Result<Box<dyn Query>, IndexError> {
        let span = node.span;
        let text = self.fields.text;
        match &node.kind {
            NodeKind::Word(w) => {
                self.slots_query(text, words::text_word(w, Case::Lower).map_err(|e| problem(e, span))?, span)
            }
            NodeKind::Phrase { text: t, slop } => {
                let words = words::phrase(t, Case::Lower).map_err(|e| problem(e, span))?;
                match slop {
                    Some(distance) if words.len() > 1 => {
                        let operands = words
                            .into_iter()
                            .map(|slots| Ok(Operand { alternatives: vec![self.slot_terms(text, slots, span)?] }))
                            .collect::<Result<Vec<_>, IndexError>>()?;
                        Ok(Box::new(PositionalQuery::new(operands, Mode::Within { distance: *distance }, self.cap)))
                    }
                    _ => self.slots_query(text, words.into_iter().flatten().collect(), span),
                }
            }
            NodeKind::CaseSensitive(t) => {
                let slots = words::phrase(t, Case::Keep).map_err(|e| problem(e, span))?;
                self.slots_query(self.fields.text_cs, slots.into_iter().flatten().collect(), span)
            }
            NodeKind::Near { left, right, distance, ordered } => {
                let operands = vec![self.near_operand(left)?, self.near_operand(right)?];
                Ok(Box::new(PositionalQuery::new(
                    operands,
                    Mode::Near { distance: *distance, ordered: *ordered },
                    self.cap,
                )))
            }
            NodeKind::Field { field, value } => self.boolean(value, Some(*field)),
            NodeKind::Range { field, low, high } => self.range(*field, low.as_deref(), high.as_deref(), span),
            NodeKind::Topic(name) => Err(problem(format!("unknown topic \"{}\"", clip(name)), span)),
            NodeKind::And(_) | NodeKind::Or(_) | NodeKind::Not(_) => self.boolean(node, None),
        }
    }

    /// An operand of NEAR: a word, a phrase, `{…}`, or an OR-group of them.
    fn near_operand(&self, node: &Node) -> Result<Operand, IndexError> {
        let span = node.span;
        let alternative = match &node.kind {
            NodeKind::Word(w) => {
                let slots = words::text_word(w, Case::Lower).map_err(|e| problem(e, span))?;
                self.slot_terms(self.fields.text, slots, span)?
            }
            NodeKind::Phrase { text, slop: None } => {
                let slots = words::phrase(text, Case::Lower).map_err(|e| problem(e, span))?;
                self.slot_terms(self.fields.text, slots.into_iter().flatten().collect(), span)?
            }
            NodeKind::CaseSensitive(text) => {
                let slots = words::phrase(text, Case::Keep).map_err(|e| problem(e, span))?;
                self.slot_terms(self.fields.text_cs, slots.into_iter().flatten().collect(), span)?
            }
            NodeKind::Or(children) => {
                let mut operand = Operand::default();
                for child in children {
                    operand.alternatives.extend(self.near_operand(child)?.alternatives);
                }
                return Ok(operand);
            }
            _ => return Err(problem("NEAR takes words, phrases, or OR-groups of them", span)),
        };
        Ok(Operand { alternatives: vec![alternative] })
    }

    /// Slots → what the positional query looks up, checking wildcard expansions.
    fn slot_terms(&self, field: Field, slots: Vec<Slot>, span: Span) -> Result<Vec<SlotTerms>, IndexError> {
        slots
            .into_iter()
            .map(|slot| match slot {
                Slot::Exact(t) => Ok(SlotTerms::Exact(Term::from_field_text(field, &t))),
                Slot::Pattern(glob) => {
                    self.check_expansion(field, &glob, span)?;
                    Ok(SlotTerms::Pattern(field, glob))
                }
            })
            .collect()
    }

    /// Checks a wildcard against its own cap and, with the ones before it, against the total cap:
    /// each alone may be fine while a thousand of them make a million-term query.
    fn check_expansion(&self, field: Field, glob: &words::Glob, span: Span) -> Result<(), IndexError> {
        let Some(searcher) = self.searcher else { return Ok(()) };
        let found = expand(searcher, field, glob, self.cap).map_err(|e| problem(e, span))?.len();
        let total = self.expanded.get() + found;
        self.expanded.set(total);
        if total > self.total_cap {
            return Err(problem(
                format!(
                    "the wildcards up to here match {total} different words together; at most {} are accepted: \
                     make the parts before the wildcards longer, or use fewer",
                    self.total_cap
                ),
                span,
            ));
        }
        Ok(())
    }

    /// A word or phrase on a positional field: a term, a phrase, a wildcard, or a positional query.
    fn slots_query(&self, field: Field, slots: Vec<Slot>, span: Span) -> Result<Box<dyn Query>, IndexError> {
        let exact: Option<Vec<Term>> = slots
            .iter()
            .map(|s| match s {
                Slot::Exact(t) => Some(Term::from_field_text(field, t)),
                Slot::Pattern(_) => None,
            })
            .collect();
        if let Some(mut terms) = exact {
            return Ok(match terms.len() {
                0 => return Err(problem("nothing to search for", span)),
                1 => Box::new(TermQuery::new(terms.remove(0), IndexRecordOption::WithFreqs)),
                _ => Box::new(SeekGuard::new(Box::new(PhraseQuery::new(terms)))),
            });
        }
        if let [Slot::Pattern(glob)] = slots.as_slice() {
            self.check_expansion(field, glob, span)?;
            return Ok(Box::new(WildcardQuery::new(field, glob.clone(), IndexRecordOption::WithFreqs, self.cap)));
        }
        let alternative = self.slot_terms(field, slots, span)?;
        Ok(Box::new(PositionalQuery::new(vec![Operand { alternatives: vec![alternative] }], Mode::Anywhere, self.cap)))
    }

    fn field_leaf(&self, field: FieldOp, node: &Node) -> Result<Box<dyn Query>, IndexError> {
        let span = node.span;
        let raw = match &node.kind {
            NodeKind::Word(w) => w.as_str(),
            NodeKind::Phrase { text, .. } => text.as_str(),
            _ => return Err(problem(format!("`{field}:` takes a word, a \"phrase\" or a (group) of them"), span)),
        };
        let f = self.fields;
        let basic = |term: Term| -> Box<dyn Query> { Box::new(TermQuery::new(term, IndexRecordOption::Basic)) };
        Ok(match field {
            FieldOp::AuthorFollowers | FieldOp::Rating => {
                let number = fields::number(field, raw).map_err(|e| problem(e, span))?;
                basic(self.number_term(number))
            }
            FieldOp::AuthorVerified => {
                basic(Term::from_field_bool(f.author_verified, fields::boolean(raw).map_err(|e| problem(e, span))?))
            }
            FieldOp::Url => self.slots_query(f.url, words::url(raw).map_err(|e| problem(e, span))?, span)?,
            FieldOp::AuthorName => {
                let slots = words::phrase(raw, Case::Lower).map_err(|e| problem(e, span))?;
                self.slots_query(f.author_name, slots.into_iter().flatten().collect(), span)?
            }
            _ => {
                let schema_field = self.keyword_field(field);
                match fields::keyword(field, raw).map_err(|e| problem(e, span))? {
                    Slot::Exact(value) => basic(Term::from_field_text(schema_field, &value)),
                    Slot::Pattern(glob) => {
                        self.check_expansion(schema_field, &glob, span)?;
                        Box::new(WildcardQuery::new(schema_field, glob, IndexRecordOption::Basic, self.cap))
                    }
                }
            }
        })
    }

    fn keyword_field(&self, field: FieldOp) -> Field {
        let f = self.fields;
        match field {
            FieldOp::Author => f.author_handle,
            FieldOp::Site | FieldOp::Url => f.url,
            FieldOp::Language => f.language,
            FieldOp::Country => f.country,
            FieldOp::Source => f.source,
            FieldOp::EngagementType => f.engagement_type,
            FieldOp::Sentiment => f.sentiment,
            FieldOp::Tags => f.tags,
            FieldOp::AuthorName => f.author_name,
            FieldOp::AuthorFollowers => f.author_followers,
            FieldOp::Rating => f.rating,
            FieldOp::AuthorVerified => f.author_verified,
        }
    }

    fn number_term(&self, number: Number) -> Term {
        match number {
            Number::Count(n) => Term::from_field_u64(self.fields.author_followers, n),
            Number::Rating(v) => Term::from_field_f64(self.fields.rating, v),
        }
    }

    fn range(
        &self,
        field: FieldOp,
        low: Option<&str>,
        high: Option<&str>,
        span: Span,
    ) -> Result<Box<dyn Query>, IndexError> {
        let (low, high) = fields::range(field, low, high).map_err(|e| problem(e, span))?;
        if low.is_none() && high.is_none() {
            // Every mention has both numeric fields.
            return Ok(Box::new(AllQuery));
        }
        let bound = |n: Option<Number>| n.map_or(Bound::Unbounded, |n| Bound::Included(self.number_term(n)));
        Ok(Box::new(RangeQuery::new(bound(low), bound(high))))
    }
}
