//! Tenant-scoped search and count over the latest committed searcher.

use std::ops::Bound;

use earshot_proto::v1::Mention;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DateTime, DocAddress, Order, Searcher, TantivyDocument, Term};

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

/// A clause that restricts matches without changing scores.
fn filter(query: impl Query) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(query), 0.0))
}

impl Indexer {
    /// Wraps `query` with the tenant and time filters every search must apply.
    pub fn scoped_query(
        &self,
        tenant: &str,
        query: Box<dyn Query>,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Box<dyn Query> {
        let f = self.fields();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, query),
            (Occur::Must, filter(TermQuery::new(Term::from_field_text(f.tenant, tenant), IndexRecordOption::Basic))),
        ];
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
        Box::new(BooleanQuery::new(clauses))
    }

    /// Runs a search. CPU-bound: call it from a blocking context.
    pub fn search(&self, params: SearchParams) -> Result<SearchResults, IndexError> {
        let searcher = self.searcher();
        let highlight_query = params.query.box_clone();
        let query = self.scoped_query(&params.tenant, params.query, params.from, params.to);
        let limit = params.limit.max(1);
        let top = TopDocs::with_limit(limit).and_offset(params.offset);
        let (scored, total): (Vec<(f32, DocAddress)>, usize) = match params.sort {
            Sort::Relevance => searcher.search(&query, &(top.order_by_score(), Count))?,
            Sort::TimeDesc | Sort::TimeAsc => {
                let order = if params.sort == Sort::TimeDesc { Order::Desc } else { Order::Asc };
                let (docs, total): (Vec<(Option<DateTime>, DocAddress)>, usize) =
                    searcher.search(&query, &(top.order_by_fast_field::<DateTime>("created_at", order), Count))?;
                (docs.into_iter().map(|(_, a)| (0.0, a)).collect(), total)
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
        let query = self.scoped_query(tenant, query, from, to);
        Ok(self.searcher().search(&query, &Count)? as u64)
    }
}
