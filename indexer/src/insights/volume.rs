//! Mentions per bucket: totals, originals vs reposts and quotes, and an optional split by sentiment,
//! source, language or engagement type.

use std::collections::BTreeMap;

use tantivy::columnar::{Column, StrColumn};
use tantivy::query::Query;
use tantivy::{DocId, Searcher, SegmentOrdinal, SegmentReader};

use super::calendar::bucket_of;
use super::{first_ord, ord_map, ord_strings, AccCollector, SegmentAcc};

/// A dimension to split buckets by; the name is the fast field's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `positive`, `neutral`, `negative`, `unclassified`.
    Sentiment,
    /// Source network.
    Source,
    /// Language code (`none` when missing).
    Language,
    /// Engagement type.
    EngagementType,
}

impl Split {
    fn field(self) -> &'static str {
        match self {
            Split::Sentiment => "sentiment",
            Split::Source => "source",
            Split::Language => "language",
            Split::EngagementType => "engagement_type",
        }
    }
}

/// One bucket's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketCounts {
    /// Every matching mention.
    pub total: u64,
    /// Neither repost nor quote.
    pub originals: u64,
    /// Reposts.
    pub reposts: u64,
    /// Quotes.
    pub quotes: u64,
    /// Per value of the split dimension.
    pub split: BTreeMap<String, u64>,
}

/// Parameters of [`volume`].
pub struct VolumeParams {
    /// Bucket edges (see [`super::calendar::edges`]).
    pub edges: Vec<i64>,
    /// Dimension to split by.
    pub split: Option<Split>,
}

/// Per-segment accumulator of [`volume`].
pub struct VolumeAcc {
    edges: Vec<i64>,
    created: Column<tantivy::DateTime>,
    engagement: Option<StrColumn>,
    /// Engagement ordinal → 0 original, 1 repost, 2 quote.
    kind_of: Vec<u8>,
    split: Option<StrColumn>,
    split_terms: usize,
    /// Per bucket: total, originals, reposts, quotes.
    counts: Vec<[u64; 4]>,
    /// Per bucket and split ordinal (+1 slot for "none").
    split_counts: Vec<u64>,
}

impl SegmentAcc for VolumeAcc {
    type Params = VolumeParams;
    type Out = Vec<BucketCounts>;

    fn open(params: &VolumeParams, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self> {
        let ff = reader.fast_fields();
        let engagement = ff.str("engagement_type")?;
        let kind_of = ord_map(engagement.as_ref(), |s| match s {
            "repost" => 1,
            "quote" => 2,
            _ => 0,
        })?;
        let split = match params.split {
            Some(s) => ff.str(s.field())?,
            None => None,
        };
        let split_terms = split.as_ref().map_or(0, |c| c.num_terms()) + 1;
        let buckets = params.edges.len().saturating_sub(1);
        Ok(VolumeAcc {
            edges: params.edges.clone(),
            created: ff.date("created_at")?,
            engagement,
            kind_of,
            split_counts: if params.split.is_some() { vec![0; buckets * split_terms] } else { Vec::new() },
            split,
            split_terms,
            counts: vec![[0; 4]; buckets],
        })
    }

    #[inline]
    fn collect(&mut self, doc: DocId) {
        let Some(t) = self.created.first(doc) else { return };
        let Some(b) = bucket_of(&self.edges, t.into_timestamp_secs()) else { return };
        let kind = first_ord(self.engagement.as_ref(), doc).map_or(0, |o| self.kind_of[o]);
        let c = &mut self.counts[b];
        c[0] += 1;
        c[1 + usize::from(kind)] += 1;
        if !self.split_counts.is_empty() {
            let slot = first_ord(self.split.as_ref(), doc).unwrap_or(self.split_terms - 1);
            self.split_counts[b * self.split_terms + slot] += 1;
        }
    }

    fn finish(self) -> Vec<BucketCounts> {
        let names = match &self.split {
            Some(c) => ord_strings(c).unwrap_or_default(),
            None => Vec::new(),
        };
        self.counts
            .iter()
            .enumerate()
            .map(|(b, c)| {
                let mut split = BTreeMap::new();
                if !self.split_counts.is_empty() {
                    for (slot, &n) in
                        self.split_counts[b * self.split_terms..(b + 1) * self.split_terms].iter().enumerate()
                    {
                        if n > 0 {
                            let name = names.get(slot).cloned().unwrap_or_else(|| "none".into());
                            *split.entry(name).or_insert(0) += n;
                        }
                    }
                }
                BucketCounts { total: c[0], originals: c[1], reposts: c[2], quotes: c[3], split }
            })
            .collect()
    }
}

/// Counts the mentions `query` matches per bucket of `params.edges`. Blocking.
pub fn volume(searcher: &Searcher, query: &dyn Query, params: VolumeParams) -> tantivy::Result<Vec<BucketCounts>> {
    let buckets = params.edges.len().saturating_sub(1);
    let segments = searcher.search(query, &AccCollector::<VolumeAcc>::new(params))?;
    let mut out = vec![BucketCounts::default(); buckets];
    for segment in segments {
        for (acc, c) in out.iter_mut().zip(segment) {
            acc.total += c.total;
            acc.originals += c.originals;
            acc.reposts += c.reposts;
            acc.quotes += c.quotes;
            for (k, v) in c.split {
                *acc.split.entry(k).or_insert(0) += v;
            }
        }
    }
    Ok(out)
}
