//! Authors of the matching mentions: by mentions, by reach (followers) and by engagement, and how many
//! distinct authors there are. An author is their id on the source network, or `@handle` when the
//! mention carries no id.

use std::collections::HashMap;

use tantivy::columnar::{Column, StrColumn};
use tantivy::query::Query;
use tantivy::{DocId, Searcher, SegmentOrdinal, SegmentReader};

use super::{first_ord, ord_strings, AccCollector, SegmentAcc};

/// One author's numbers in the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorCounts {
    /// Id (or `@handle`).
    pub key: String,
    /// Handle as indexed (lower case), when known.
    pub handle: String,
    /// Mentions.
    pub mentions: u64,
    /// Largest follower count seen.
    pub followers: u64,
    /// Sum of likes, shares and replies.
    pub engagement: u64,
}

/// The three rankings and the number of distinct authors.
#[derive(Debug, Clone, Default)]
pub struct TopAuthors {
    /// Most mentions first.
    pub by_mentions: Vec<AuthorCounts>,
    /// Most followers first.
    pub by_reach: Vec<AuthorCounts>,
    /// Most engagement first.
    pub by_engagement: Vec<AuthorCounts>,
    /// Distinct authors.
    pub unique: u64,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    mentions: u64,
    followers: u64,
    engagement: u64,
    /// A document of this author, to read the handle from.
    doc: DocId,
}

impl Slot {
    fn add(&mut self, followers: u64, engagement: u64, doc: DocId) {
        if self.mentions == 0 {
            self.doc = doc;
        }
        self.mentions += 1;
        self.followers = self.followers.max(followers);
        self.engagement += engagement;
    }
}

/// Per-segment accumulator of [`top_authors`].
pub struct AuthorAcc {
    ids: Option<StrColumn>,
    handles: Option<StrColumn>,
    followers: Column<u64>,
    likes: Column<u64>,
    shares: Column<u64>,
    replies: Column<u64>,
    by_id: Vec<Slot>,
    by_handle: Vec<Slot>,
}

impl SegmentAcc for AuthorAcc {
    type Params = ();
    type Out = Vec<AuthorCounts>;

    fn open(_: &(), _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self> {
        let ff = reader.fast_fields();
        let ids = ff.str("author_id")?;
        let handles = ff.str("author_handle")?;
        Ok(AuthorAcc {
            by_id: vec![Slot::default(); ids.as_ref().map_or(0, |c| c.num_terms())],
            by_handle: vec![Slot::default(); handles.as_ref().map_or(0, |c| c.num_terms())],
            ids,
            handles,
            followers: ff.u64("author_followers")?,
            likes: ff.u64("likes")?,
            shares: ff.u64("shares")?,
            replies: ff.u64("replies")?,
        })
    }

    #[inline]
    fn collect(&mut self, doc: DocId) {
        let slot = match first_ord(self.ids.as_ref(), doc) {
            Some(o) => &mut self.by_id[o],
            None => match first_ord(self.handles.as_ref(), doc) {
                Some(o) => &mut self.by_handle[o],
                None => return,
            },
        };
        let engagement = self.likes.first(doc).unwrap_or(0) + self.shares.first(doc).unwrap_or(0) + self.replies.first(doc).unwrap_or(0);
        slot.add(self.followers.first(doc).unwrap_or(0), engagement, doc);
    }

    fn finish(self) -> Vec<AuthorCounts> {
        let mut out = Vec::new();
        let handle_of = |doc: DocId, buf: &mut String| {
            buf.clear();
            if let Some(h) = &self.handles {
                if let Some(o) = h.term_ords(doc).next() {
                    let _ = h.ord_to_str(o, buf);
                }
            }
        };
        for (slots, column, prefix) in [(&self.by_id, &self.ids, ""), (&self.by_handle, &self.handles, "@")] {
            let Some(column) = column else { continue };
            if slots.iter().all(|s| s.mentions == 0) {
                continue;
            }
            let names = ord_strings(column).unwrap_or_default();
            let mut handle = String::new();
            for (ord, s) in slots.iter().enumerate().filter(|(_, s)| s.mentions > 0) {
                let Some(name) = names.get(ord) else { continue };
                handle_of(s.doc, &mut handle);
                out.push(AuthorCounts {
                    key: format!("{prefix}{name}"),
                    handle: handle.clone(),
                    mentions: s.mentions,
                    followers: s.followers,
                    engagement: s.engagement,
                });
            }
        }
        out
    }
}

fn top_by(all: &[AuthorCounts], limit: usize, metric: impl Fn(&AuthorCounts) -> u64) -> Vec<AuthorCounts> {
    let mut refs: Vec<&AuthorCounts> = all.iter().collect();
    let cmp = |a: &&AuthorCounts, b: &&AuthorCounts| metric(b).cmp(&metric(a)).then_with(|| a.key.cmp(&b.key));
    if refs.len() > limit {
        refs.select_nth_unstable_by(limit, cmp);
        refs.truncate(limit);
    }
    refs.sort_by(cmp);
    refs.into_iter().cloned().collect()
}

/// The top `limit` authors of the mentions `query` matches, three ways. Blocking.
pub fn top_authors(searcher: &Searcher, query: &dyn Query, limit: usize) -> tantivy::Result<TopAuthors> {
    let segments = searcher.search(query, &AccCollector::<AuthorAcc>::new(()))?;
    let mut merged: HashMap<String, AuthorCounts> = HashMap::new();
    for a in segments.into_iter().flatten() {
        match merged.get_mut(&a.key) {
            Some(m) => {
                m.mentions += a.mentions;
                m.followers = m.followers.max(a.followers);
                m.engagement += a.engagement;
            }
            None => {
                merged.insert(a.key.clone(), a);
            }
        }
    }
    let all: Vec<AuthorCounts> = merged.into_values().collect();
    Ok(TopAuthors {
        by_mentions: top_by(&all, limit, |a| a.mentions),
        by_reach: top_by(&all, limit, |a| a.followers),
        by_engagement: top_by(&all, limit, |a| a.engagement),
        unique: all.len() as u64,
    })
}
