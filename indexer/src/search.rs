//! Tenant-scoped search and count over the latest committed searcher.

use std::ops::Bound;

use earshot_proto::v1::Mention;
use tantivy::collector::{Collector, Count, TopDocs};
use tantivy::query::{BooleanQuery, ConstScoreQuery, EnableScoring, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DateTime, DocAddress, Order, Searcher, SegmentOrdinal, TantivyDocument, Term};

use crate::doc::from_document;
use crate::{IndexError, Indexer};

/// Order of hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first.
    TimeDesc,
    /// Oldest first.
    TimeAsc,
    /// Best BM25 score first.
    Relevance,
}

/// What to search for. Times are Unix seconds; `to` is exclusive.
pub struct SearchParams {
    /// The tenant whose mentions are searched.
    pub tenant: String,
    /// The parsed user query.
    pub query: Box<dyn Query>,
    /// Inclusive lower bound on `created_at`.
    pub from: Option<i64>,
    /// Exclusive upper bound on `created_at`.
    pub to: Option<i64>,
    /// Order of hits.
    pub sort: Sort,
    /// Hits to skip.
    pub offset: usize,
    /// Hits to return.
    pub limit: usize,
    /// Build highlighted snippets of the text.
    pub highlight: bool,
}

/// One hit.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The mention as ingested (with its sentiment).
    pub mention: Mention,
    /// BM25 score for relevance sort, else 0.
    pub score: f32,
    /// Snippet with `<b>` around matches, when asked for.
    pub highlight: Option<String>,
}

/// Hits plus the exact number of matches.
#[derive(Debug, Clone)]
pub struct SearchResults {
    /// The page of hits.
    pub hits: Vec<SearchHit>,
    /// Exact number of matching mentions.
    pub total: u64,
}

/// The best `limit` matches after `offset` by BM25, and how many documents match. Where the count needs
/// no walk ([`crate::newest::counts_itself`]) the page is found alone, with Block-WAND, which skips what
/// cannot make it; collected together with the count, every match is scored.
fn top_by_score(
    searcher: &Searcher,
    query: &dyn Query,
    limit: usize,
    offset: usize,
) -> tantivy::Result<(Vec<(f32, DocAddress)>, usize)> {
    let weight = query.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let page = || TopDocs::with_limit(limit).and_offset(offset).order_by_score();
    let (top, both) = (page(), (page(), Count));
    let mut pages = Vec::with_capacity(searcher.segment_readers().len());
    let mut total = 0;
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        let ord = ord as SegmentOrdinal;
        if crate::newest::counts_itself(query, reader) {
            pages.push(top.collect_segment(weight.as_ref(), ord, reader)?);
            total += weight.count(reader)? as usize;
        } else {
            let (page, count) = both.collect_segment(weight.as_ref(), ord, reader)?;
            pages.push(page);
            total += count;
        }
    }
    Ok((top.merge_fruits(pages)?, total))
}

/// A clause that restricts matches without changing scores.
fn filter(query: impl Query) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(query), 0.0))
}

impl Indexer {
    /// Whether every document `searcher` sees (deleted ones included) belongs to `tenant`. Then the
    /// tenant filter removes nothing, and leaving it out saves intersecting every match with a posting
    /// list as long as the index (the common single-tenant deployment; broad searches took twice the
    /// time). It is decided on the very searcher that runs the query, so a commit that brings another
    /// tenant in cannot come between the check and the search.
    fn sole_tenant(&self, searcher: &Searcher, tenant: &str) -> bool {
        let field = self.fields().tenant;
        let term = Term::from_field_text(field, tenant);
        searcher.segment_readers().iter().all(|segment| {
            // Every document has exactly one tenant, so its term's document frequency counts documents.
            let docs = segment.inverted_index(field).ok().and_then(|index| index.doc_freq(&term).ok());
            docs == Some(segment.max_doc())
        })
    }

    /// Wraps `query` with the tenant and time filters every search on `searcher` must apply.
    pub fn scoped_query(
        &self,
        searcher: &Searcher,
        tenant: &str,
        query: Box<dyn Query>,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Box<dyn Query> {
        let f = self.fields();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, query)];
        if !self.sole_tenant(searcher, tenant) {
            let term = Term::from_field_text(f.tenant, tenant);
            clauses.push((Occur::Must, filter(TermQuery::new(term, IndexRecordOption::Basic))));
        }
        if from.is_some() || to.is_some() {
            let bound = |t: Option<i64>, inclusive: bool| match t {
                None => Bound::Unbounded,
                Some(s) => {
                    let term = Term::from_field_date(f.created_at, DateTime::from_timestamp_secs(s));
                    if inclusive {
                        Bound::Included(term)
                    } else {
                        Bound::Excluded(term)
                    }
                }
            };
            clauses.push((Occur::Must, filter(RangeQuery::new(bound(from, true), bound(to, false)))));
        }
        if clauses.len() == 1 {
            // Unwrapped, a word's count is its document frequency (a one-clause BooleanQuery iterates).
            return clauses.remove(0).1;
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// Runs a search. CPU-bound: call it from a blocking context.
    pub fn search(&self, params: SearchParams) -> Result<SearchResults, IndexError> {
        let searcher = self.searcher();
        let highlight_query = params.query.box_clone();
        let query = self.scoped_query(&searcher, &params.tenant, params.query, params.from, params.to);
        let limit = params.limit.max(1);
        let (scored, total): (Vec<(f32, DocAddress)>, usize) = match params.sort {
            Sort::Relevance => top_by_score(&searcher, query.as_ref(), limit, params.offset)?,
            Sort::TimeDesc | Sort::TimeAsc => {
                let order = if params.sort == Sort::TimeDesc { Order::Desc } else { Order::Asc };
                let k = params.offset.saturating_add(limit);
                let (docs, total) = crate::newest::top_by_date(&searcher, query.as_ref(), k, order)?;
                (docs.into_iter().skip(params.offset).map(|(_, a)| (0.0, a)).collect(), total)
            }
        };
        let snippets = if params.highlight {
            let mut g = SnippetGenerator::create(&searcher, &*highlight_query, self.fields().text)?;
            g.set_max_num_chars(240);
            Some(g)
        } else {
            None
        };
        let hits = self.load_hits(&searcher, scored, snippets.as_ref())?;
        Ok(SearchResults { hits, total: total as u64 })
    }

    fn load_hits(
        &self,
        searcher: &Searcher,
        scored: Vec<(f32, DocAddress)>,
        snippets: Option<&SnippetGenerator>,
    ) -> Result<Vec<SearchHit>, IndexError> {
        let mut hits = Vec::with_capacity(scored.len());
        for (score, address) in scored {
            let doc: TantivyDocument = searcher.doc(address)?;
            let Some(mention) = from_document(self.fields(), &doc) else {
                tracing::warn!(?address, "stored mention could not be decoded");
                continue;
            };
            let highlight = snippets.map(|g| g.snippet(&mention.text).to_html());
            hits.push(SearchHit { mention, score, highlight });
        }
        Ok(hits)
    }

    /// Up to `limit` stored mentions matching `query`, across tenants (for maintenance jobs). Blocking.
    pub fn collect_mentions(&self, query: Box<dyn Query>, limit: usize) -> Result<Vec<Mention>, IndexError> {
        let searcher = self.searcher();
        let docs = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let hits = self.load_hits(&searcher, docs, None)?;
        Ok(hits.into_iter().map(|h| h.mention).collect())
    }

    /// Counts matches. CPU-bound: call it from a blocking context.
    pub fn count(
        &self,
        tenant: &str,
        query: Box<dyn Query>,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<u64, IndexError> {
        let searcher = self.searcher();
        let query = self.scoped_query(&searcher, tenant, query, from, to);
        Ok(searcher.search(&query, &Count)? as u64)
    }
}

#[cfg(test)]
mod tests {
    use earshot_proto::v1::Mention;
    use tantivy::query::AllQuery;

    use tantivy::{DocAddress, Term};

    use super::{SearchParams, Sort};
    use crate::{IndexCommand, Indexer, IndexerOptions};

    fn add(indexer: &Indexer, tenant: &str, ids: &[&str]) {
        let mentions = ids
            .iter()
            .map(|id| {
                (
                    Mention { id: (*id).into(), tenant: tenant.into(), text: "acme".into(), ..Default::default() },
                    String::new(),
                )
            })
            .collect();
        indexer.send(IndexCommand::Add { mentions, last_position: None }).expect("send");
        indexer.commit().expect("commit");
    }

    /// Relevance: a word takes the Block-WAND path (counted from its document frequency), a Boolean query
    /// and a segment with deletions the path that scores every match. Either way: the scores and the
    /// total of scoring every match, and pages that follow on without overlap.
    #[test]
    fn relevance_pages_agree_with_scoring_every_match() {
        use tantivy::collector::{Count, TopDocs};
        use tantivy::schema::Value;

        let dir = tempfile::tempdir().expect("tempdir");
        let indexer = Indexer::open(dir.path(), IndexerOptions::default(), |_| {}).expect("open");
        let words = ["acme", "outage", "refund", "down", "today", "again"];
        for part in 0..3 {
            let mentions = (0..150)
                .map(|i: usize| {
                    let n = part * 150 + i;
                    // Lengths and repeats vary, so scores spread; many still tie.
                    let text: Vec<&str> = (0..1 + n % 7).map(|j| words[(n * 7 + j * j) % words.len()]).collect();
                    let mention =
                        Mention { id: n.to_string(), tenant: "t".into(), text: text.join(" "), ..Default::default() };
                    (mention, String::new())
                })
                .collect();
            indexer.send(IndexCommand::Add { mentions, last_position: None }).expect("send");
            indexer.commit().expect("commit");
        }
        let id = |m: &Mention| m.id.clone();
        for (text, delete) in [("acme", false), ("acme AND outage", false), ("refund", true)] {
            if delete {
                let key = crate::doc::mention_key("t", "7");
                let terms = vec![Term::from_field_text(indexer.fields().key, &key)];
                indexer.send(IndexCommand::Delete { terms, reply: None }).expect("delete");
                indexer.commit().expect("commit");
            }
            let searcher = indexer.searcher();
            let parsed = || crate::query::parse_query(indexer.index(), indexer.fields(), text).expect("parse");
            let (all, count): (Vec<(f32, DocAddress)>, usize) =
                searcher.search(&*parsed(), &(TopDocs::with_limit(1000).order_by_score(), Count)).expect("reference");
            let search = |offset: usize| {
                let params = SearchParams {
                    tenant: "t".into(),
                    query: parsed(),
                    from: None,
                    to: None,
                    sort: Sort::Relevance,
                    offset,
                    limit: 10,
                    highlight: false,
                };
                indexer.search(params).expect("search")
            };
            let (first, second) = (search(0), search(10));
            assert_eq!(first.total as usize, count, "{text}");
            let scores: Vec<f32> = first.hits.iter().chain(&second.hits).map(|h| h.score).collect();
            let expected: Vec<f32> = all.iter().take(20).map(|(score, _)| *score).collect();
            assert_eq!(scores, expected, "{text}");
            let mut ids: Vec<String> = first.hits.iter().chain(&second.hits).map(|h| id(&h.mention)).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), 20, "{text}: pages overlap");
            // Whatever scores above the 20th is on the two pages.
            let cut = expected[19];
            for (score, address) in all.iter().filter(|(score, _)| *score > cut) {
                let doc: tantivy::TantivyDocument = searcher.doc(*address).expect("doc");
                let raw = doc.get_first(indexer.fields().raw).and_then(|v| v.as_bytes()).expect("raw");
                let mention = <Mention as prost::Message>::decode(raw).expect("decode");
                assert!(ids.contains(&mention.id), "{text}: {} ({score}) missing", mention.id);
            }
        }
    }

    #[test]
    fn the_tenant_filter_is_left_out_only_while_the_index_holds_one_tenant() {
        let dir = tempfile::tempdir().expect("tempdir");
        let indexer = Indexer::open(dir.path(), IndexerOptions::default(), |_| {}).expect("open");
        add(&indexer, "a", &["1", "2"]);
        let count = |tenant: &str| indexer.count(tenant, Box::new(AllQuery), None, None).expect("count");
        assert!(indexer.sole_tenant(&indexer.searcher(), "a"));
        assert!(!indexer.sole_tenant(&indexer.searcher(), "b"));
        assert_eq!((count("a"), count("b")), (2, 0));
        // A second tenant in a new segment: the older segment alone would still be all "a".
        add(&indexer, "b", &["1"]);
        assert!(!indexer.sole_tenant(&indexer.searcher(), "a"));
        assert_eq!((count("a"), count("b")), (2, 1));
    }
}
