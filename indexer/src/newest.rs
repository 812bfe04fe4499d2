//! Newest (or oldest) first: the top hits by `created_at` and the exact number of matches, in one pass.
//!
//! Tantivy's sort-by-fast-field collector reads one date per matching document, through the column's
//! per-document path. Most searches are "the newest N of many matches", so this collector reads the dates
//! of a whole block of matches at once (`first_vals`) and keeps the best `k` in a small heap; at 1M mentions
//! the per-document reads were most of a cheap search's server time (BENCHMARKS.md). Ties on the date are
//! broken by document address, so the order is stable and pages do not overlap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DateTime, DocAddress, DocId, Order, Score, SegmentOrdinal, SegmentReader};

/// The best `k` matches by `created_at` in `order`, and how many documents matched.
pub struct ByDate {
    k: usize,
    order: Order,
}

impl ByDate {
    /// Keeps the first `k` hits (offset and page together) in `order`.
    pub fn new(k: usize, order: Order) -> Self {
        ByDate { k: k.max(1), order }
    }
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

/// Per-segment state of [`ByDate`].
pub struct ByDateSegment {
    column: Option<Column<DateTime>>,
    segment: SegmentOrdinal,
    order: Order,
    k: usize,
    /// The worst kept rank on top.
    heap: BinaryHeap<Reverse<Rank>>,
    count: u64,
    values: Vec<Option<DateTime>>,
}

impl ByDateSegment {
    #[inline]
    fn offer(&mut self, value: Option<DateTime>, doc: DocId) {
        let rank = (key(value, self.order), Reverse(DocAddress::new(self.segment, doc)));
        if self.heap.len() < self.k {
            self.heap.push(Reverse(rank));
        } else if self.heap.peek().is_some_and(|Reverse(worst)| rank > *worst) {
            self.heap.pop();
            self.heap.push(Reverse(rank));
        }
    }
}

impl SegmentCollector for ByDateSegment {
    type Fruit = (Vec<Rank>, u64);

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.count += 1;
        let value = self.column.as_ref().and_then(|c| c.first(doc));
        self.offer(value, doc);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.count += docs.len() as u64;
        let mut values = std::mem::take(&mut self.values);
        values.clear();
        values.resize(docs.len(), None);
        if let Some(column) = &self.column {
            column.first_vals(docs, &mut values);
        }
        for (&doc, &value) in docs.iter().zip(&values) {
            self.offer(value, doc);
        }
        self.values = values;
    }

    fn harvest(self) -> Self::Fruit {
        (self.heap.into_iter().map(|Reverse(rank)| rank).collect(), self.count)
    }
}

impl Collector for ByDate {
    /// The hits in order (at most `k`) with their dates, and the number of matches.
    type Fruit = (Vec<(Option<DateTime>, DocAddress)>, usize);
    type Child = ByDateSegment;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<ByDateSegment> {
        Ok(ByDateSegment {
            column: reader.fast_fields().date("created_at").ok(),
            segment,
            order: self.order,
            k: self.k,
            heap: BinaryHeap::with_capacity(self.k + 1),
            count: 0,
            values: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<(Vec<Rank>, u64)>) -> tantivy::Result<Self::Fruit> {
        let count = fruits.iter().map(|(_, n)| *n).sum::<u64>() as usize;
        let mut ranks: Vec<Rank> = fruits.into_iter().flat_map(|(ranks, _)| ranks).collect();
        ranks.sort_unstable_by(|a, b| b.cmp(a));
        ranks.truncate(self.k);
        let order = self.order;
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
        Ok((hits, count))
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::AllQuery;
    use tantivy::schema::{DateOptions, Schema};
    use tantivy::{doc, Index};

    use super::*;

    /// The same hits, order and count as Tantivy's own sort-by-date collector, over several segments,
    /// with ties and deleted documents, both ways, at every page size.
    #[test]
    fn agrees_with_tantivys_sort_by_date() {
        let mut builder = Schema::builder();
        let created_at = builder.add_date_field("created_at", DateOptions::default().set_fast().set_indexed());
        let id = builder.add_u64_field("id", tantivy::schema::INDEXED);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).expect("writer");
        for n in 0u64..300 {
            // Many ties: 37 distinct dates.
            let secs = ((n * 7919) % 37) as i64;
            writer.add_document(doc!(created_at => DateTime::from_timestamp_secs(secs), id => n)).expect("add");
            if n % 100 == 99 {
                writer.commit().expect("commit");
            }
        }
        writer.delete_term(tantivy::Term::from_field_u64(id, 5));
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        assert!(searcher.segment_readers().len() > 1);
        for order in [Order::Desc, Order::Asc] {
            for k in [1, 20, 299, 500] {
                let (ours, total) = searcher.search(&AllQuery, &ByDate::new(k, order)).expect("ours");
                let (theirs, count): (Vec<(Option<DateTime>, DocAddress)>, usize) = searcher
                    .search(&AllQuery, &(TopDocs::with_limit(k).order_by_fast_field("created_at", order), Count))
                    .expect("theirs");
                assert_eq!(total, count);
                assert_eq!(total, 299, "one document deleted");
                // Same dates in the same order; among equal dates ours is by address.
                let dates = |hits: &[(Option<DateTime>, DocAddress)]| hits.iter().map(|h| h.0).collect::<Vec<_>>();
                assert_eq!(dates(&ours), dates(&theirs), "{order:?} k={k}");
                let mut sorted = ours.clone();
                sorted.sort_by(|a, b| match order {
                    Order::Desc => b.0.cmp(&a.0).then(a.1.cmp(&b.1)),
                    Order::Asc => a.0.cmp(&b.0).then(a.1.cmp(&b.1)),
                });
                assert_eq!(ours, sorted);
            }
        }
    }
}
