//! Deleting mentions for data governance: which keys an erasure or a retention rule covers, and
//! deleting them by key (so that exactly the listed mentions go, never one ingested meanwhile).

use std::collections::BTreeMap;

use tantivy::collector::DocSetCollector;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DateTime, Term};

use crate::{IndexCommand, IndexError, Indexer};

impl Indexer {
    fn term_query(&self, term: Term) -> Box<dyn Query> {
        Box::new(TermQuery::new(term, IndexRecordOption::Basic))
    }

    /// Mentions of `tenant` by an author, matched by id on the source network or by handle (either
    /// matches; the handle without `@`, any case). `None` when neither is given.
    pub fn author_query(&self, tenant: &str, author_id: &str, handle: &str) -> Option<Box<dyn Query>> {
        let f = self.fields();
        let mut either: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if !author_id.is_empty() {
            either.push((Occur::Should, self.term_query(Term::from_field_text(f.author_id, author_id))));
        }
        let handle = handle.trim().trim_start_matches('@').to_lowercase();
        if !handle.is_empty() {
            either.push((Occur::Should, self.term_query(Term::from_field_text(f.author_handle, &handle))));
        }
        if either.is_empty() {
            return None;
        }
        Some(Box::new(BooleanQuery::new(vec![
            (Occur::Must, self.term_query(Term::from_field_text(f.tenant, tenant))),
            (Occur::Must, Box::new(BooleanQuery::new(either))),
        ])))
    }

    /// Mentions created before `before` (Unix seconds): of `tenant` when given, else of every tenant
    /// except `except`.
    pub fn created_before_query(&self, tenant: Option<&str>, except: &[String], before: i64) -> Box<dyn Query> {
        let f = self.fields();
        let bound = Term::from_field_date(f.created_at, DateTime::from_timestamp_secs(before));
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(RangeQuery::new(std::ops::Bound::Unbounded, std::ops::Bound::Excluded(bound))),
        )];
        if let Some(t) = tenant {
            clauses.push((Occur::Must, self.term_query(Term::from_field_text(f.tenant, t))));
        }
        for t in except {
            clauses.push((Occur::MustNot, self.term_query(Term::from_field_text(f.tenant, t))));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// Unique keys (`tenant \x1f id`) of every committed mention matching `query`, sorted. Blocking.
    pub fn keys_matching(&self, query: &dyn Query) -> Result<Vec<String>, IndexError> {
        let searcher = self.searcher();
        let docs = searcher.search(query, &DocSetCollector)?;
        let mut by_segment: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for address in docs {
            by_segment.entry(address.segment_ord).or_default().push(address.doc_id);
        }
        let mut keys = Vec::new();
        let mut buf = String::new();
        for (segment, doc_ids) in by_segment {
            let Some(column) = searcher.segment_reader(segment).fast_fields().str("key")? else { continue };
            for doc in doc_ids {
                for ord in column.term_ords(doc) {
                    buf.clear();
                    if column.ord_to_str(ord, &mut buf).map_err(tantivy::TantivyError::from)? {
                        keys.push(buf.clone());
                    }
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    /// Deletes the mentions with these keys and waits until the deletion is committed and searchers
    /// see it. Blocking.
    pub fn delete_keys(&self, keys: &[String]) -> Result<(), IndexError> {
        let terms = keys.iter().map(|k| Term::from_field_text(self.fields().key, k)).collect();
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.send(IndexCommand::Delete { terms, reply: Some(reply) })?;
        rx.recv()
            .map_err(|_| IndexError::Closed)?
            .map(|_| ())
            .map_err(|e| IndexError::Tantivy(tantivy::TantivyError::SystemError(e)))
    }
}

#[cfg(test)]
mod tests {
    use earshot_proto::v1::{Author, Mention};

    use crate::{IndexCommand, Indexer, IndexerOptions};

    fn mention(tenant: &str, id: &str, handle: &str, created: i64) -> (Mention, String) {
        let m = Mention {
            tenant: tenant.into(),
            id: id.into(),
            text: "hello".into(),
            created_at: Some(prost_types::Timestamp { seconds: created, nanos: 0 }),
            author: Some(Author { handle: handle.into(), id: format!("id-{handle}"), ..Default::default() }),
            ..Default::default()
        };
        (m, String::new())
    }

    #[test]
    fn author_and_age_queries_list_exactly_their_keys_and_deletes_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let indexer = Indexer::open(dir.path(), IndexerOptions::default(), |_| {}).expect("open");
        let mentions = vec![
            mention("a", "1", "Bob", 100),
            mention("a", "2", "@bob", 200),
            mention("a", "3", "alice", 300),
            mention("b", "4", "bob", 100),
        ];
        indexer.send(IndexCommand::Add { mentions, last_position: None }).expect("add");
        indexer.commit().expect("commit");
        let bob = indexer.author_query("a", "", "@BOB").expect("query");
        assert_eq!(indexer.keys_matching(&*bob).expect("keys"), vec!["a\u{1f}1", "a\u{1f}2"]);
        let by_id = indexer.author_query("a", "id-alice", "").expect("query");
        assert_eq!(indexer.keys_matching(&*by_id).expect("keys"), vec!["a\u{1f}3"]);
        assert!(indexer.author_query("a", "", " @ ").is_none());
        let old = indexer.created_before_query(None, &["b".to_owned()], 250);
        assert_eq!(indexer.keys_matching(&*old).expect("keys"), vec!["a\u{1f}1", "a\u{1f}2"]);
        let old_b = indexer.created_before_query(Some("b"), &[], 101);
        assert_eq!(indexer.keys_matching(&*old_b).expect("keys"), vec!["b\u{1f}4"]);

        indexer.delete_keys(&["a\u{1f}1".to_owned(), "a\u{1f}2".to_owned()]).expect("delete");
        assert!(indexer.keys_matching(&*bob).expect("keys").is_empty());
        let all = indexer.created_before_query(None, &[], 10_000);
        assert_eq!(indexer.keys_matching(&*all).expect("keys").len(), 2);
    }

    fn every_key(indexer: &Indexer) -> Vec<String> {
        let mut keys = Vec::new();
        indexer.for_each_key(|k| keys.push(k.to_owned())).expect("keys");
        keys.sort();
        keys
    }

    #[test]
    fn every_key_is_listed_once_across_segments_and_deleted_ones_are_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let indexer = Indexer::open(dir.path(), IndexerOptions::default(), |_| {}).expect("open");
        let first = vec![mention("a", "1", "x", 100), mention("a", "2", "x", 100), mention("b", "1", "x", 100)];
        indexer.send(IndexCommand::Add { mentions: first, last_position: None }).expect("add");
        indexer.commit().expect("commit");
        // A second commit makes a second segment.
        indexer
            .send(IndexCommand::Add { mentions: vec![mention("a", "3", "y", 200)], last_position: None })
            .expect("add");
        indexer.commit().expect("commit");
        assert_eq!(every_key(&indexer), ["a\u{1f}1", "a\u{1f}2", "a\u{1f}3", "b\u{1f}1"]);
        indexer.delete_keys(&["a\u{1f}2".to_owned(), "a\u{1f}3".to_owned()]).expect("delete");
        assert_eq!(every_key(&indexer), ["a\u{1f}1", "b\u{1f}1"]);
    }
}
