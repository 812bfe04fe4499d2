//! [`top_by_date`] against a brute-force answer: every match's date read, sorted, cut at `k`.

use tantivy::collector::{Count, DocSetCollector};
use tantivy::query::{AllQuery, BooleanQuery, Occur, TermQuery};
use tantivy::schema::{DateOptions, IndexRecordOption, Schema, INDEXED};
use tantivy::{doc, Index, Term};

use super::*;

/// How dates fall over documents in the order they are added.
#[derive(Clone, Copy, Debug)]
enum Dates {
    /// Rising, as mentions arriving live.
    Rising,
    /// Falling, as a backfill newest first.
    Falling,
    /// Scattered over few distinct values: many ties.
    Scattered,
}

struct Fixture {
    index: Index,
    created_at: tantivy::schema::Field,
    tag: tantivy::schema::Field,
    id: tantivy::schema::Field,
}

/// `n` documents in segments of `per_segment`; every 11th has no date; `tag` is `n % 5` (a 20 % match),
/// or 100 for every 97th (a rare one).
fn fixture(n: u64, per_segment: u64, dates: Dates) -> Fixture {
    let mut builder = Schema::builder();
    let created_at = builder.add_date_field(DATE_FIELD, DateOptions::default().set_fast().set_indexed());
    let tag = builder.add_u64_field("tag", INDEXED);
    let id = builder.add_u64_field("id", INDEXED);
    let index = Index::create_in_ram(builder.build());
    let mut writer = index.writer_with_num_threads(1, 15_000_000).expect("writer");
    writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    for i in 0..n {
        let secs = match dates {
            Dates::Rising => i as i64 / 3,
            Dates::Falling => (n - i) as i64 / 3,
            Dates::Scattered => ((i * 7919) % 37) as i64,
        };
        let t = if i % 97 == 0 { 100 } else { i % 5 };
        let mut document = doc!(tag => t, id => i);
        if i % 11 != 3 {
            document.add_date(created_at, DateTime::from_timestamp_secs(secs));
        }
        writer.add_document(document).expect("add");
        if i % per_segment == per_segment - 1 {
            writer.commit().expect("commit");
        }
    }
    writer.commit().expect("commit");
    Fixture { index, created_at, tag, id }
}

/// Every match sorted by date in `order` (no date last), ties by address; the first `k`.
fn brute_force(searcher: &Searcher, query: &dyn Query, k: usize, order: Order) -> Vec<(Option<DateTime>, DocAddress)> {
    let matches = searcher.search(query, &DocSetCollector).expect("doc set");
    let mut ranked: Vec<(Rank, Option<DateTime>)> = matches
        .into_iter()
        .map(|address| {
            let reader = searcher.segment_reader(address.segment_ord);
            let date = reader.fast_fields().date(DATE_FIELD).ok().and_then(|c| c.first(address.doc_id));
            ((key(date, order), Reverse(address)), date)
        })
        .collect();
    ranked.sort_by_key(|r| Reverse(r.0));
    ranked.into_iter().take(k).map(|((_, Reverse(address)), date)| (date, address)).collect()
}

fn check(searcher: &Searcher, query: &dyn Query, what: &str) {
    let count = searcher.search(query, &Count).expect("count");
    let small = Layout { block: 4, window: 2, jumps: 2 };
    for layout in [Layout::DEFAULT, small, Layout { jumps: 0, ..small }, Layout { jumps: 100, ..small }] {
        for order in [Order::Desc, Order::Asc] {
            for k in [1, 7, 20, 150, 5000] {
                let (hits, total) = top_by_date_with(searcher, query, k, order, layout).expect("top");
                assert_eq!(total, count, "{what} {order:?} k={k} {layout:?}");
                assert_eq!(hits, brute_force(searcher, query, k, order), "{what} {order:?} k={k} {layout:?}");
            }
        }
    }
}

#[test]
fn the_same_hits_count_and_order_as_sorting_every_match() {
    for dates in [Dates::Rising, Dates::Falling, Dates::Scattered] {
        let f = fixture(1_500, 400, dates);
        let mut writer: tantivy::IndexWriter = f.index.writer_with_num_threads(1, 15_000_000).expect("writer");
        for deleted in [5u64, 6, 7, 1_499, 1_200] {
            writer.delete_term(Term::from_field_u64(f.id, deleted));
        }
        writer.commit().expect("commit");
        let searcher = f.index.reader().expect("reader").searcher();
        assert!(searcher.segment_readers().len() >= 4, "several segments");
        let tag = |t: u64| TermQuery::new(Term::from_field_u64(f.tag, t), IndexRecordOption::Basic);
        check(&searcher, &AllQuery, &format!("{dates:?} all"));
        check(&searcher, &tag(2), &format!("{dates:?} a fifth"));
        check(&searcher, &tag(100), &format!("{dates:?} rare"));
        check(&searcher, &tag(42), &format!("{dates:?} none"));
        let either =
            BooleanQuery::new(vec![(Occur::Should, Box::new(tag(1)) as _), (Occur::Should, Box::new(tag(100)))]);
        check(&searcher, &either, &format!("{dates:?} union"));
    }
}

#[test]
fn bounds_stay_right_when_segments_change() {
    let f = fixture(600, 200, Dates::Rising);
    let reader = f.index.reader().expect("reader");
    check(&reader.searcher(), &AllQuery, "before");
    let mut writer: tantivy::IndexWriter = f.index.writer_with_num_threads(1, 15_000_000).expect("writer");
    // Older mentions arrive late (a backfill), and the newest are deleted.
    for i in 0..50u64 {
        let old = DateTime::from_timestamp_secs(i as i64);
        writer.add_document(doc!(f.created_at => old, f.tag => 1u64, f.id => 10_000 + i)).expect("add");
    }
    for deleted in 590u64..600 {
        writer.delete_term(Term::from_field_u64(f.id, deleted));
    }
    writer.commit().expect("commit");
    reader.reload().expect("reload");
    check(&reader.searcher(), &AllQuery, "after");
}
