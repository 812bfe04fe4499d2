//! A wrapper that makes any query safe to use as an exclusion (`NOT`) or intersection member.
//!
//! Tantivy 0.27's `PhraseScorer::seek_danger` asserts (in debug builds) that it is never asked for a
//! document before the one it sits on, but `Exclude` and `Intersection` do exactly that when the
//! phrase's next match lies beyond the document they are checking. Release builds give the right
//! answer; debug builds (our tests) panic, depending on how documents fall into segments. The guard
//! keeps `DocSet`'s default `seek_danger` (built on `seek`, which it makes tolerant of targets behind
//! the current document) and forwards everything else; the type Tantivy's override returns is not
//! public, so this is also the only override we could write.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term};

/// Wraps `inner` so that its scorers tolerate seeks behind their current document.
#[derive(Debug)]
pub struct SeekGuard {
    inner: Box<dyn Query>,
}

impl SeekGuard {
    /// The guarded query.
    pub fn new(inner: Box<dyn Query>) -> Self {
        SeekGuard { inner }
    }
}

impl Clone for SeekGuard {
    fn clone(&self) -> Self {
        SeekGuard { inner: self.inner.box_clone() }
    }
}

impl Query for SeekGuard {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(GuardWeight { inner: self.inner.weight(enable_scoring)? }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.inner.query_terms(visitor);
    }
}

struct GuardWeight {
    inner: Box<dyn Weight>,
}

impl Weight for GuardWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(GuardScorer { inner: self.inner.scorer(reader, boost)? }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.inner.count(reader)
    }
}

struct GuardScorer {
    inner: Box<dyn Scorer>,
}

impl DocSet for GuardScorer {
    fn advance(&mut self) -> DocId {
        self.inner.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let doc = self.inner.doc();
        if target <= doc {
            return doc;
        }
        self.inner.seek(target)
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }

    fn cost(&self) -> u64 {
        self.inner.cost()
    }
}

impl Scorer for GuardScorer {
    fn score(&mut self) -> Score {
        self.inner.score()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::DocSetCollector;
    use tantivy::query::{BooleanQuery, Occur, PhraseQuery, TermQuery};
    use tantivy::schema::{IndexRecordOption, Schema, TEXT};
    use tantivy::{doc, Index, IndexWriter};

    use super::*;

    /// Documents where the phrase's first match comes after the first document the positive
    /// clause matches: the layout that trips Tantivy's assertion.
    fn excluded_phrase(guard: bool) -> usize {
        let mut schema = Schema::builder();
        let body = schema.add_text_field("body", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).expect("in-memory index");
        writer.add_document(doc!(body => "alpha beta gamma")).expect("in-memory index");
        writer.add_document(doc!(body => "alpha gamma beta")).expect("in-memory index");
        writer.add_document(doc!(body => "beta gamma alpha")).expect("in-memory index");
        writer.commit().expect("in-memory index");
        let term = |t: &str| Term::from_field_text(body, t);
        let phrase: Box<dyn Query> = Box::new(PhraseQuery::new(vec![term("gamma"), term("beta")]));
        let phrase = if guard { Box::new(SeekGuard::new(phrase)) } else { phrase };
        let query = BooleanQuery::new(vec![
            (Occur::Must, Box::new(TermQuery::new(term("alpha"), IndexRecordOption::Basic)) as Box<dyn Query>),
            (Occur::MustNot, phrase),
        ]);
        let searcher = index.reader().expect("in-memory index").searcher();
        searcher.search(&query, &DocSetCollector).expect("in-memory index").len()
    }

    #[test]
    fn excluded_phrase_ahead_of_the_target_is_answered() {
        assert_eq!(excluded_phrase(true), 2);
    }

    #[test]
    #[cfg(debug_assertions)]
    fn unguarded_phrase_trips_tantivy_assertion() {
        // If this stops panicking, Tantivy fixed the assertion and the guard can go.
        let outcome = std::panic::catch_unwind(|| excluded_phrase(false));
        assert!(outcome.is_err());
    }
}
