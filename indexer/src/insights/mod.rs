//! Aggregations for insights, computed over fast fields of the documents a query matches.
//!
//! Each insight is a Tantivy collector: per segment it opens the columns it needs and accumulates
//! into plain arrays indexed by term ordinal (cheap: no strings per document), then turns ordinals into
//! strings once per segment and merges segments by key. Callers build the query with
//! [`insight_query`] (tenant, time range, noise filters) and run these on one [`tantivy::Searcher`],
//! off the async workers.
//!
//! - [`calendar`]: bucket edges in an IANA time zone (hour, day, week, month) across DST changes.
//! - [`volume`]: mentions per bucket, originals vs reposts/quotes, split by a dimension.
//! - [`sentiment`]: label counts, net sentiment, mean signed score.
//! - [`authors`]: top authors by mentions, reach and engagement; unique authors.
//! - [`terms`]: significant and emerging terms against a background period.

pub mod authors;
pub mod calendar;
pub mod sentiment;
pub mod terms;
pub mod volume;

use std::marker::PhantomData;
use std::ops::Bound;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DateTime, DocId, Score, SegmentOrdinal, SegmentReader, Term};

use crate::schema::Fields;

/// What to leave out of an insight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Noise {
    /// Leave out reposts.
    pub exclude_reposts: bool,
    /// Leave out quotes.
    pub exclude_quotes: bool,
    /// Leave out mentions flagged as near-duplicates of earlier ones.
    pub exclude_near_duplicates: bool,
    /// Leave out mentions flagged as spam.
    pub exclude_spam: bool,
}

/// Largest absolute time, in seconds, a query bound may have (year 2262).
pub const MAX_SECS: i64 = 9_000_000_000;

fn filter(query: impl Query) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(query), 0.0))
}

/// `query` restricted to `tenant`, `created_at` in `[from, to)`, and without the noise asked to be left out.
pub fn insight_query(
    fields: &Fields,
    tenant: &str,
    query: Box<dyn Query>,
    from: i64,
    to: i64,
    noise: Noise,
) -> Box<dyn Query> {
    // Tantivy dates are nanoseconds in an i64: keep seconds within what that can hold.
    let date =
        |s: i64| Term::from_field_date(fields.created_at, DateTime::from_timestamp_secs(s.clamp(-MAX_SECS, MAX_SECS)));
    let term = |t: Term| filter(TermQuery::new(t, IndexRecordOption::Basic));
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
        (Occur::Must, query),
        (Occur::Must, term(Term::from_field_text(fields.tenant, tenant))),
        (Occur::Must, filter(RangeQuery::new(Bound::Included(date(from)), Bound::Excluded(date(to))))),
    ];
    if noise.exclude_reposts {
        clauses.push((Occur::MustNot, term(Term::from_field_text(fields.engagement_type, "repost"))));
    }
    if noise.exclude_quotes {
        clauses.push((Occur::MustNot, term(Term::from_field_text(fields.engagement_type, "quote"))));
    }
    if noise.exclude_near_duplicates {
        clauses.push((Occur::MustNot, term(Term::from_field_bool(fields.near_duplicate, true))));
    }
    if noise.exclude_spam {
        clauses.push((Occur::MustNot, term(Term::from_field_bool(fields.spam, true))));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// A per-segment accumulator; [`AccCollector`] runs it on every segment.
pub trait SegmentAcc: Sized + 'static {
    /// What every segment's accumulator is built from.
    type Params: Sync + Send;
    /// What one segment yields.
    type Out: Send + 'static;
    /// Opens the columns this accumulator reads.
    fn open(params: &Self::Params, segment_ord: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self>;
    /// Counts one matching document.
    fn collect(&mut self, doc: DocId);
    /// The segment's result (ordinals turned into keys).
    fn finish(self) -> Self::Out;
}

/// A collector running accumulator `A` per segment; its fruit is every segment's output.
pub struct AccCollector<A: SegmentAcc> {
    params: A::Params,
    marker: PhantomData<fn() -> A>,
}

impl<A: SegmentAcc> AccCollector<A> {
    /// A collector with these parameters.
    pub fn new(params: A::Params) -> Self {
        AccCollector { params, marker: PhantomData }
    }
}

/// Adapter from [`SegmentAcc`] to Tantivy's segment collector.
pub struct AccSegment<A>(A);

impl<A: SegmentAcc> SegmentCollector for AccSegment<A> {
    type Fruit = A::Out;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.0.collect(doc);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        for &doc in docs {
            self.0.collect(doc);
        }
    }

    fn harvest(self) -> A::Out {
        self.0.finish()
    }
}

impl<A: SegmentAcc> Collector for AccCollector<A> {
    type Fruit = Vec<A::Out>;
    type Child = AccSegment<A>;

    fn for_segment(&self, segment_ord: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<AccSegment<A>> {
        Ok(AccSegment(A::open(&self.params, segment_ord, reader)?))
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<A::Out>) -> tantivy::Result<Vec<A::Out>> {
        Ok(fruits)
    }
}

/// Every term of a string column, by ordinal.
pub(crate) fn ord_strings(column: &StrColumn) -> tantivy::Result<Vec<String>> {
    let mut out = Vec::with_capacity(column.num_terms());
    let mut stream = column.dictionary().stream()?;
    while stream.advance() {
        out.push(String::from_utf8_lossy(stream.key()).into_owned());
    }
    Ok(out)
}

/// Maps every ordinal of an optional string column through `f` (empty when the segment lacks it).
pub(crate) fn ord_map<T>(column: Option<&StrColumn>, f: impl Fn(&str) -> T) -> tantivy::Result<Vec<T>> {
    Ok(match column {
        Some(c) => ord_strings(c)?.iter().map(|s| f(s)).collect(),
        None => Vec::new(),
    })
}

/// The first ordinal of `doc` in an optional single-valued string column.
#[inline]
pub(crate) fn first_ord(column: Option<&StrColumn>, doc: DocId) -> Option<usize> {
    column.and_then(|c| c.term_ords(doc).next()).map(|o| o as usize)
}

/// A sentiment label as an index: 0 positive, 1 neutral, 2 negative, 3 unclassified.
pub(crate) fn label_index(name: &str) -> u8 {
    match name {
        "positive" => 0,
        "neutral" => 1,
        "negative" => 2,
        _ => 3,
    }
}
