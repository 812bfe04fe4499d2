//! A positional query of our own: `NEAR/n`, `NEAR/nf`, `"…"~n`, and phrases with wildcards, read
//! straight from Tantivy's postings positions.
//!
//! An *operand* is a set of alternatives (an OR-group); an alternative is a run of *slots* at
//! consecutive positions (a word is one slot, a phrase several); a slot is a set of terms (one term,
//! or a wildcard's expansion). The scorer walks the documents that contain every operand (a
//! leapfrog over unions and intersections of postings), then checks positions with [`super::spans`].

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{Bm25Weight, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, Term, TERMINATED};

use super::spans::{self, PosSpan};
use super::wildcard::{expand, searcher_of};
use super::words::Glob;

/// What one slot looks up.
#[derive(Clone, Debug)]
pub enum SlotTerms {
    /// One term.
    Exact(Term),
    /// The terms of `field` a pattern matches.
    Pattern(Field, Glob),
}

/// An operand: alternatives, each a run of slots at consecutive positions.
#[derive(Clone, Debug, Default)]
pub struct Operand {
    /// The alternatives.
    pub alternatives: Vec<Vec<SlotTerms>>,
}

/// How operands must sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One operand, anywhere (a phrase with wildcards).
    Anywhere,
    /// Two operands with at most `distance` words between them; `ordered`: the first one first.
    Near {
        /// Most words between.
        distance: u32,
        /// First operand first.
        ordered: bool,
    },
    /// Every operand, in any order, in a window with at most `distance` other words.
    Within {
        /// Most other words in the window.
        distance: u32,
    },
}

/// The positional query.
#[derive(Clone, Debug)]
pub struct PositionalQuery {
    operands: Vec<Operand>,
    mode: Mode,
    cap: usize,
}

impl PositionalQuery {
    /// A query; `cap` bounds each wildcard's expansion.
    pub fn new(operands: Vec<Operand>, mode: Mode, cap: usize) -> Self {
        PositionalQuery { operands, mode, cap }
    }
}

/// Operand → alternative → slot → terms, with wildcards expanded.
type Resolved = Vec<Vec<Vec<Vec<Term>>>>;

impl Query for PositionalQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let mut resolved: Resolved = Vec::with_capacity(self.operands.len());
        for operand in &self.operands {
            let mut alternatives = Vec::new();
            for alternative in &operand.alternatives {
                let mut slots = Vec::new();
                for slot in alternative {
                    slots.push(match slot {
                        SlotTerms::Exact(term) => vec![term.clone()],
                        SlotTerms::Pattern(field, glob) => {
                            let searcher = searcher_of(&enable_scoring)?;
                            expand(searcher, *field, glob, self.cap).map_err(TantivyError::InvalidArgument)?
                        }
                    });
                }
                alternatives.push(slots);
            }
            resolved.push(alternatives);
        }
        let all: Vec<Term> = resolved.iter().flatten().flatten().flatten().cloned().collect();
        let bm25 = match (enable_scoring, all.first()) {
            (EnableScoring::Enabled { statistics_provider, .. }, Some(first)) => {
                let same_field: Vec<Term> = all.iter().filter(|t| t.field() == first.field()).cloned().collect();
                Some(Bm25Weight::for_terms(statistics_provider, &same_field)?)
            }
            _ => None,
        };
        let norm_field = all.first().map(Term::field);
        Ok(Box::new(PositionalWeight { resolved, mode: self.mode, bm25, norm_field }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for slot in self.operands.iter().flat_map(|o| o.alternatives.iter().flatten()) {
            if let SlotTerms::Exact(term) = slot {
                visitor(term, true);
            }
        }
    }
}

struct PositionalWeight {
    resolved: Resolved,
    mode: Mode,
    bm25: Option<Bm25Weight>,
    norm_field: Option<Field>,
}

impl PositionalWeight {
    fn positional_scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Option<PositionalScorer>> {
        let mut operands = Vec::with_capacity(self.resolved.len());
        for alternatives in &self.resolved {
            let mut alts = Vec::new();
            'alt: for slots in alternatives {
                let mut cursors = Vec::with_capacity(slots.len());
                for terms in slots {
                    let mut postings = Vec::new();
                    for term in terms {
                        let inverted = reader.inverted_index(term.field())?;
                        if let Some(p) = inverted.read_postings(term, IndexRecordOption::WithFreqsAndPositions)? {
                            postings.push(p);
                        }
                    }
                    if postings.is_empty() {
                        continue 'alt;
                    }
                    cursors.push(SlotCursor::new(postings));
                }
                alts.push(AltCursor::new(cursors));
            }
            if alts.is_empty() {
                return Ok(None);
            }
            operands.push(OperandCursor::new(alts));
        }
        let fieldnorms = match (&self.bm25, self.norm_field) {
            (Some(_), Some(field)) => reader.fieldnorms_readers().get_field(field)?,
            _ => None,
        };
        let bm25 = self.bm25.as_ref().map(|w| w.boost_by(boost));
        let mut scorer = PositionalScorer { operands, mode: self.mode, doc: 0, bm25, fieldnorms, boost };
        scorer.doc = scorer.find(0);
        Ok(Some(scorer))
    }
}

impl Weight for PositionalWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(match self.positional_scorer(reader, boost)? {
            Some(scorer) => Box::new(scorer),
            None => Box::new(EmptyScorer),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.doc() > doc || scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!("document #({doc}) does not match")));
        }
        Ok(Explanation::new("positional match (NEAR, proximity or wildcard phrase)", scorer.score()))
    }
}

/// A union of the postings of a slot's terms.
struct SlotCursor {
    postings: Vec<SegmentPostings>,
    doc: DocId,
}

impl SlotCursor {
    fn new(postings: Vec<SegmentPostings>) -> Self {
        let doc = postings.iter().map(DocSet::doc).min().unwrap_or(TERMINATED);
        SlotCursor { postings, doc }
    }

    /// Moves to the first document ≥ `target` holding any term.
    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc < target {
            let mut min = TERMINATED;
            for p in &mut self.postings {
                if p.doc() < target {
                    p.seek(target);
                }
                min = min.min(p.doc());
            }
            self.doc = min;
        }
        self.doc
    }

    /// Sorted positions of any of the slot's terms in the current document.
    fn positions(&mut self, out: &mut Vec<u32>) {
        out.clear();
        let doc = self.doc;
        for p in self.postings.iter_mut().filter(|p| p.doc() == doc) {
            p.append_positions_with_offset(0, out);
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// An intersection of slots (one alternative of an operand).
struct AltCursor {
    slots: Vec<SlotCursor>,
    doc: DocId,
}

impl AltCursor {
    fn new(mut slots: Vec<SlotCursor>) -> Self {
        let doc = leapfrog(&mut slots, 0, SlotCursor::seek);
        AltCursor { slots, doc }
    }

    /// Moves to the first document ≥ `target` holding every slot (all slots then sit on it).
    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        self.doc = leapfrog(&mut self.slots, target, SlotCursor::seek);
        self.doc
    }

    /// Spans of this alternative in the current document.
    fn spans(&mut self, out: &mut Vec<PosSpan>) {
        let positions: Vec<Vec<u32>> = self
            .slots
            .iter_mut()
            .map(|s| {
                let mut p = Vec::new();
                s.positions(&mut p);
                p
            })
            .collect();
        out.extend(spans::sequence(&positions));
    }
}

/// A union of alternatives (one operand).
struct OperandCursor {
    alts: Vec<AltCursor>,
    doc: DocId,
}

impl OperandCursor {
    fn new(alts: Vec<AltCursor>) -> Self {
        let doc = alts.iter().map(|a| a.doc).min().unwrap_or(TERMINATED);
        OperandCursor { alts, doc }
    }

    /// Moves to the first document ≥ `target` holding any alternative.
    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        self.doc = self.alts.iter_mut().map(|a| a.seek(target)).min().unwrap_or(TERMINATED);
        self.doc
    }

    /// Spans of the alternatives present in the current document, sorted.
    fn spans(&mut self) -> Vec<PosSpan> {
        let mut out = Vec::new();
        let doc = self.doc;
        for alt in self.alts.iter_mut().filter(|a| a.doc == doc) {
            alt.spans(&mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The first document ≥ `target` where every cursor agrees.
fn leapfrog<C>(cursors: &mut [C], target: DocId, seek: impl Fn(&mut C, DocId) -> DocId) -> DocId {
    let mut doc = target;
    'outer: loop {
        if doc >= TERMINATED {
            return TERMINATED;
        }
        for cursor in cursors.iter_mut() {
            let d = seek(cursor, doc);
            if d > doc {
                doc = d;
                continue 'outer;
            }
        }
        return doc;
    }
}

struct PositionalScorer {
    operands: Vec<OperandCursor>,
    mode: Mode,
    doc: DocId,
    bm25: Option<Bm25Weight>,
    fieldnorms: Option<FieldNormReader>,
    boost: Score,
}

impl PositionalScorer {
    /// The first document ≥ `target` whose positions match.
    fn find(&mut self, mut target: DocId) -> DocId {
        loop {
            let doc = leapfrog(&mut self.operands, target, OperandCursor::seek);
            if doc >= TERMINATED {
                return TERMINATED;
            }
            if self.positions_match() {
                return doc;
            }
            target = doc + 1;
        }
    }

    fn positions_match(&mut self) -> bool {
        let spans: Vec<Vec<PosSpan>> = self.operands.iter_mut().map(OperandCursor::spans).collect();
        match (self.mode, spans.as_slice()) {
            (Mode::Anywhere, [only]) => !only.is_empty(),
            (Mode::Near { distance, ordered }, [a, b]) => spans::near_pair(a, b, distance, ordered),
            (Mode::Within { distance }, [a, b]) => spans::near_pair(a, b, distance, false),
            (Mode::Within { distance }, operands) => spans::within(operands, distance),
            _ => false,
        }
    }
}

impl DocSet for PositionalScorer {
    fn advance(&mut self) -> DocId {
        if self.doc < TERMINATED {
            self.doc = self.find(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc < target {
            self.doc = self.find(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.operands
            .iter()
            .map(|o| o.alts.iter().flat_map(|a| a.slots.first()).flat_map(|s| &s.postings).map(|p| p.size_hint()).sum())
            .min()
            .unwrap_or(0)
    }
}

impl Scorer for PositionalScorer {
    fn score(&mut self) -> Score {
        match (&self.bm25, &self.fieldnorms) {
            (Some(bm25), Some(norms)) => bm25.score(norms.fieldnorm_id(self.doc), 1),
            _ => self.boost,
        }
    }
}
