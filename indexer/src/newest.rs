//! Newest (or oldest) first: the top hits by `created_at` and the exact number of matches.
//!
//! Most searches ask for "the newest N of many matches". Reading every match's date into a heap, which is
//! what Tantivy's sort-by-fast-field collector does, was most of a cheap search's server time at 1M
//! mentions (BENCHMARKS.md). Here the two halves of the answer are found apart:
//!
//! - a single word's count is its document frequency, with no iteration at all ([`counts_itself`]); any
//!   other query's matches are counted by the walk that looks for the hits, which reads no date in a block
//!   that cannot rank;
//! - the hits skip whatever cannot rank. Each segment keeps the best date of every block of documents
//!   (computed once per segment, [`crate::segment_cache`]). Once `k` hits are held, segments, windows and
//!   blocks whose best date is worse than the k-th are passed over with `seek` (or, while counting, walked
//!   without reading dates). Mentions mostly arrive in time order, so the best windows, visited first, are
//!   the last ones of the newest segment, and a search reads little more than its page. When dates are
//!   spread evenly, a search reads dates until the k-th is good enough to skip blocks with: a few
//!   thousand at 1M mentions (BENCHMARKS.md).
//!
//! The answer is exact: a document is passed over only when its date is strictly worse than the k-th kept
//! hit's. Ties on the date are broken by document address, lower first, so pages are stable and do not
//! overlap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::LazyLock;

use tantivy::columnar::Column;
use tantivy::query::{AllQuery, EnableScoring, Query, Scorer, TermQuery, Weight};
use tantivy::{DateTime, DocAddress, DocId, DocSet, Order, Searcher, SegmentOrdinal, SegmentReader};

use crate::segment_cache::SegmentCache;

/// The date field hits are ordered by.
const DATE_FIELD: &str = "created_at";

/// How documents are grouped for skipping.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Documents per block, a power of two: the unit a best date is kept for, and skipped by.
    pub block: u32,
    /// Blocks per window: the unit visited out of document order.
    pub window: u32,
    /// Windows reached with a fresh scorer (best first) before the rest of a segment is swept in order.
    pub jumps: usize,
}

impl Layout {
    /// 32-document blocks (16 bytes of bounds each: half a byte per document), 2,048-document windows,
    /// four jumps (a jump costs a new scorer, a few microseconds for a word). Over dates spread evenly, a
    /// search reads about `k × block × ln(blocks)` dates before the k-th is good enough to skip with, so
    /// smaller blocks read fewer; at 1M mentions 32 was no slower than 16 or 128.
    pub const DEFAULT: Layout = Layout { block: 32, window: 64, jumps: 4 };
}

/// A hit's rank: larger is better. The date key is reversed for ascending order; the document address
/// breaks ties, lower first.
type Rank = (i64, Reverse<DocAddress>);

fn key(value: Option<DateTime>, order: Order) -> i64 {
    match (value, order) {
        // A document without a date comes last either way.
        (None, _) => i64::MIN,
        (Some(date), Order::Desc) => date.into_timestamp_nanos(),
        // `!` reverses the order without overflowing, and never gives i64::MIN for a real date.
        (Some(date), Order::Asc) => !date.into_timestamp_nanos(),
    }
}

/// What one segment's dates allow skipping in one order. Deleted documents are included, which only
/// loosens the bounds.
struct Side {
    /// The best key of every block.
    blocks: Vec<i64>,
    /// Every window with its best key, best first.
    windows: Vec<(i64, u32)>,
    /// Whether the dates come in runs, as when mentions arrive in time order: then at most
    /// [`Layout::jumps`] windows besides the best reach past the best window's worst key, and visiting
    /// the best windows first lets the rest be skipped. When dates are spread evenly every window reaches
    /// as far as the best one, and jumping would only cost scorers.
    clustered: bool,
}

impl Side {
    /// The side for the keys of `blocks`; `reverse` holds the other order's, whose best key of a block,
    /// reversed, is this order's worst.
    fn new(blocks: Vec<i64>, reverse: &[i64], max_doc: DocId, layout: Layout) -> Side {
        let windows = max_doc.div_ceil(layout.block * layout.window);
        let range = |w: u32| window_blocks(w, max_doc, layout);
        let mut best: Vec<(i64, u32)> =
            (0..windows).map(|w| (blocks[range(w)].iter().copied().max().unwrap_or(i64::MIN), w)).collect();
        best.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let clustered = best.first().is_some_and(|&(_, first)| {
            let floor = reverse[range(first)].iter().map(|&k| !k).min().unwrap_or(i64::MIN);
            best.iter().take_while(|&&(bound, _)| bound >= floor).count() <= layout.jumps + 1
        });
        Side { blocks, windows: best, clustered }
    }

    /// The best key of the whole segment.
    fn best(&self) -> i64 {
        self.windows.first().map_or(i64::MIN, |&(bound, _)| bound)
    }
}

/// The blocks of window `w`.
fn window_blocks(w: u32, max_doc: DocId, layout: Layout) -> std::ops::Range<usize> {
    let (lo, hi) = window_docs(w, max_doc, layout);
    (lo / layout.block) as usize..hi.div_ceil(layout.block) as usize
}

/// The documents of window `w`.
fn window_docs(w: u32, max_doc: DocId, layout: Layout) -> (DocId, DocId) {
    let span = layout.block * layout.window;
    (w * span, ((w + 1) * span).min(max_doc))
}

/// One segment's [`Side`]s for both orders.
struct Bounds {
    desc: Side,
    asc: Side,
}

impl Bounds {
    fn compute(column: Option<&Column<DateTime>>, max_doc: DocId, layout: Layout) -> Bounds {
        let block = layout.block;
        let blocks = max_doc.div_ceil(block) as usize;
        let (mut desc, mut asc) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks));
        let (mut docs, mut values) = (Vec::with_capacity(block as usize), Vec::with_capacity(block as usize));
        for b in 0..blocks as u32 {
            docs.clear();
            docs.extend(b * block..((b + 1) * block).min(max_doc));
            values.clear();
            values.resize(docs.len(), None);
            if let Some(column) = column {
                column.first_vals(&docs, &mut values);
            }
            desc.push(values.iter().map(|v| key(*v, Order::Desc)).max().unwrap_or(i64::MIN));
            asc.push(values.iter().map(|v| key(*v, Order::Asc)).max().unwrap_or(i64::MIN));
        }
        let desc = Side::new(desc, &asc, max_doc, layout);
        let asc = Side::new(asc, &desc.blocks, max_doc, layout);
        Bounds { desc, asc }
    }

    fn of(&self, order: Order) -> &Side {
        match order {
            Order::Desc => &self.desc,
            Order::Asc => &self.asc,
        }
    }
}

/// The [`Bounds`] of segments, by segment and layout.
static BOUNDS: LazyLock<SegmentCache<(u32, u32, usize), Bounds>> = LazyLock::new(SegmentCache::default);

/// A hit and its date (none when the mention has none).
pub type DatedHit = (Option<DateTime>, DocAddress);

/// Matches whose dates are read together.
const PENDING: usize = 64;

/// The best `k` ranks seen so far.
struct Top {
    k: usize,
    /// The worst kept rank on top.
    heap: BinaryHeap<Reverse<Rank>>,
}

impl Top {
    /// Whether a group of documents whose best key is `best` may still hold a hit: always while fewer
    /// than `k` are kept; else when `best` is no worse than the k-th key (equal keys may win on address).
    #[inline]
    fn may_rank(&self, best: i64) -> bool {
        self.heap.len() < self.k || self.heap.peek().is_none_or(|Reverse(worst)| best >= worst.0)
    }

    #[inline]
    fn offer(&mut self, rank: Rank) {
        if self.heap.len() < self.k {
            self.heap.push(Reverse(rank));
        } else if self.heap.peek().is_some_and(|Reverse(worst)| rank > *worst) {
            self.heap.pop();
            self.heap.push(Reverse(rank));
        }
    }
}

/// The search of one segment.
struct SegmentRun<'a> {
    weight: &'a dyn Weight,
    reader: &'a SegmentReader,
    segment: SegmentOrdinal,
    column: Option<Column<DateTime>>,
    side: &'a Side,
    layout: Layout,
    order: Order,
    /// Whether every match must be walked to count it (see [`counts_itself`]).
    counting: bool,
    /// Matches walked by [`SegmentRun::scan`] while counting.
    count: u64,
    docs: Vec<DocId>,
    values: Vec<Option<DateTime>>,
}

/// Whether `query`'s weight counts a segment's matches without walking them: a word's document frequency,
/// or the number of documents, while nothing is deleted. Other queries walk every match to count it; then
/// the walk that looks for the hits counts them too, rather than walking twice.
pub fn counts_itself(query: &dyn Query, reader: &SegmentReader) -> bool {
    reader.alive_bitset().is_none() && (query.is::<TermQuery>() || query.is::<AllQuery>())
}

impl SegmentRun<'_> {
    /// Offers every match in `lo..hi` to `top`, block by block. Blocks that cannot rank are passed over
    /// with a seek, or, when counting, walked through without reading a date. The dates of the matches
    /// that may rank are read [`PENDING`] at a time (a sparse query has about one per block).
    fn scan(&mut self, scorer: &mut dyn Scorer, lo: DocId, hi: DocId, top: &mut Top) {
        if scorer.doc() < lo {
            scorer.seek(lo);
        }
        let shift = self.layout.block.trailing_zeros();
        let alive = self.reader.alive_bitset();
        loop {
            // TERMINATED is above every `hi`.
            let mut doc = scorer.doc();
            if doc >= hi {
                break;
            }
            let b = doc >> shift;
            let end = ((b + 1) << shift).min(hi);
            if top.may_rank(self.side.blocks[b as usize]) {
                while doc < end {
                    if alive.is_none_or(|alive| alive.is_alive(doc)) {
                        self.docs.push(doc);
                    }
                    doc = scorer.advance();
                }
                if self.docs.len() >= PENDING {
                    self.offer_pending(top);
                }
            } else if self.counting {
                while doc < end {
                    self.count += u64::from(alive.is_none_or(|alive| alive.is_alive(doc)));
                    doc = scorer.advance();
                }
            } else {
                let mut next = b + 1;
                while next << shift < hi && !top.may_rank(self.side.blocks[next as usize]) {
                    next += 1;
                }
                if next << shift >= hi {
                    break;
                }
                scorer.seek(next << shift);
            }
        }
        self.offer_pending(top);
    }

    /// Reads the dates of the pending matches and offers them; they are counted here.
    fn offer_pending(&mut self, top: &mut Top) {
        self.count += self.docs.len() as u64;
        self.values.clear();
        self.values.resize(self.docs.len(), None);
        if let Some(column) = &self.column {
            column.first_vals(&self.docs, &mut self.values);
        }
        for (&doc, &value) in self.docs.iter().zip(&self.values) {
            top.offer((key(value, self.order), Reverse(DocAddress::new(self.segment, doc))));
        }
        self.docs.clear();
    }

    /// Visits the segment's windows best first, each from a scorer that can reach it, until the rest
    /// cannot rank; after `layout.jumps` windows (none when the segment is not
    /// [`clustered`](Side::clustered)), sweeps what may still rank in document order with one scorer (each
    /// jump costs a scorer). When counting, every window is visited.
    fn run(&mut self, top: &mut Top) -> tantivy::Result<()> {
        let max_doc = self.reader.max_doc();
        let (layout, side) = (self.layout, self.side);
        let range = |w: u32| window_docs(w, max_doc, layout);
        let best = &side.windows;
        let jumps = if side.clustered { layout.jumps } else { 0 };
        let mut scorer: Option<Box<dyn Scorer>> = None;
        for (i, &(bound, w)) in best.iter().enumerate() {
            if !top.may_rank(bound) && !self.counting {
                // Windows are in order of their bound: none after this one can rank either.
                return Ok(());
            }
            if i == jumps {
                let counting = self.counting;
                let mut rest: Vec<u32> =
                    best[i..].iter().filter(|(b, _)| counting || top.may_rank(*b)).map(|&(_, w)| w).collect();
                rest.sort_unstable();
                let mut sweep = self.weight.scorer(self.reader, 1.0)?;
                for w in rest {
                    let (lo, hi) = range(w);
                    self.scan(sweep.as_mut(), lo, hi, top);
                }
                return Ok(());
            }
            let (lo, hi) = range(w);
            // A scorer only moves forward: reuse the last one if it has not passed this window.
            let mut current = match scorer.take() {
                Some(s) if s.doc() <= lo => s,
                _ => self.weight.scorer(self.reader, 1.0)?,
            };
            self.scan(current.as_mut(), lo, hi, top);
            scorer = Some(current);
        }
        Ok(())
    }
}

/// The best `k` matches of `query` by `created_at` in `order`, with their dates, and how many documents
/// match.
pub fn top_by_date(
    searcher: &Searcher,
    query: &dyn Query,
    k: usize,
    order: Order,
) -> tantivy::Result<(Vec<DatedHit>, usize)> {
    top_by_date_with(searcher, query, k, order, Layout::DEFAULT)
}

/// [`top_by_date`] with another grouping of documents (tests use small ones).
pub fn top_by_date_with(
    searcher: &Searcher,
    query: &dyn Query,
    k: usize,
    order: Order,
    layout: Layout,
) -> tantivy::Result<(Vec<DatedHit>, usize)> {
    debug_assert!(layout.block.is_power_of_two(), "blocks are found by shifting");
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut total = 0usize;
    let mut segments = Vec::new();
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        let counting = !counts_itself(query, reader);
        if !counting {
            let count = weight.count(reader)?;
            total += count as usize;
            if count == 0 {
                continue;
            }
        }
        let column = reader.fast_fields().date(DATE_FIELD).ok();
        let bounds = BOUNDS.get_or_compute(reader.segment_id(), (layout.block, layout.window, layout.jumps), || {
            Bounds::compute(column.as_ref(), reader.max_doc(), layout)
        });
        let best = bounds.of(order).best();
        segments.push((best, ord as SegmentOrdinal, reader, column, bounds, counting));
    }
    BOUNDS.keep_only(searcher);
    // Best segments first, so that the k-th key rises early and older segments are passed over whole.
    segments.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut top = Top { k: k.max(1), heap: BinaryHeap::with_capacity(k.max(1) + 1) };
    for (best, segment, reader, column, bounds, counting) in segments {
        if !top.may_rank(best) {
            if counting {
                total += weight.count(reader)? as usize;
            }
            continue;
        }
        let mut run = SegmentRun {
            weight: weight.as_ref(),
            reader,
            segment,
            column,
            side: bounds.of(order),
            layout,
            order,
            counting,
            count: 0,
            docs: Vec::with_capacity(PENDING + layout.block as usize),
            values: Vec::with_capacity(PENDING + layout.block as usize),
        };
        run.run(&mut top)?;
        if counting {
            total += run.count as usize;
        }
    }
    let mut ranks: Vec<Rank> = top.heap.into_iter().map(|Reverse(rank)| rank).collect();
    ranks.sort_unstable_by(|a, b| b.cmp(a));
    let hits = ranks
        .into_iter()
        .map(|(key, Reverse(address))| {
            let nanos = match order {
                _ if key == i64::MIN => None,
                Order::Desc => Some(key),
                Order::Asc => Some(!key),
            };
            (nanos.map(DateTime::from_timestamp_nanos), address)
        })
        .collect();
    Ok((hits, total))
}

#[cfg(test)]
mod tests;
