//! Authors of the matching mentions: by mentions, by reach (followers) and by engagement, and how many
//! distinct authors there are. An author is their id on the source network, or `@handle` when the
//! mention carries no id.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use tantivy::columnar::{Column, StrColumn};
use tantivy::index::SegmentId;
use tantivy::query::Query;
use tantivy::{DocId, Searcher, SegmentOrdinal, SegmentReader};

use super::{first_ord, AccCollector, SegmentAcc};
use crate::segment_cache::SegmentCache;

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
    /// A document of this author, to read the names from if the author makes a ranking.
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

    fn merge(&mut self, other: &Slot) {
        self.mentions += other.mentions;
        self.followers = self.followers.max(other.followers);
        self.engagement += other.engagement;
    }
}

/// One author's numbers in one segment: the author is known by a 128-bit hash of their key, and their
/// names are read (from `doc` of segment `segment`) only if they make a ranking. Reading a name from
/// the dictionary for each of hundreds of thousands of authors cost seconds on 1M mentions.
#[derive(Clone, Copy)]
pub struct Partial {
    key: u128,
    segment: SegmentOrdinal,
    slot: Slot,
}

/// Per-segment accumulator of [`top_authors`].
pub struct AuthorAcc {
    segment: SegmentOrdinal,
    segment_id: SegmentId,
    ids: Option<StrColumn>,
    handles: Option<StrColumn>,
    followers: Column<u64>,
    likes: Column<u64>,
    shares: Column<u64>,
    replies: Column<u64>,
    by_id: Vec<Slot>,
    by_handle: Vec<Slot>,
}

/// The ordinal hashes of segments' author dictionaries, by segment and namespace. Streaming a dictionary
/// decompresses every block (a fresh zstd context each) and was a quarter of a TopAuthors over 1M
/// mentions; a segment's hashes are computed once instead. Entries of segments no longer searched are
/// dropped by [`top_authors`].
static HASHES: LazyLock<SegmentCache<u8, Vec<u128>>> = LazyLock::new(SegmentCache::default);

/// Hashes of every term of a dictionary, in ordinal order; `namespace` keeps ids and handles apart.
fn ord_hashes(column: &StrColumn, namespace: u8) -> tantivy::Result<Vec<u128>> {
    let mut out = Vec::with_capacity(column.num_terms());
    let mut stream = column.dictionary().stream()?;
    let mut buf = Vec::new();
    while stream.advance() {
        buf.clear();
        buf.push(namespace);
        buf.extend_from_slice(stream.key());
        out.push(xxhash_rust::xxh3::xxh3_128(&buf));
    }
    Ok(out)
}

impl SegmentAcc for AuthorAcc {
    type Params = ();
    type Out = Vec<Partial>;

    fn open(_: &(), segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self> {
        let ff = reader.fast_fields();
        let ids = ff.str("author_id")?;
        let handles = ff.str("author_handle")?;
        Ok(AuthorAcc {
            segment,
            segment_id: reader.segment_id(),
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
        let engagement = self.likes.first(doc).unwrap_or(0)
            + self.shares.first(doc).unwrap_or(0)
            + self.replies.first(doc).unwrap_or(0);
        slot.add(self.followers.first(doc).unwrap_or(0), engagement, doc);
    }

    fn finish(self) -> Vec<Partial> {
        let mut out = Vec::new();
        for (slots, column, namespace) in [(&self.by_id, &self.ids, ID), (&self.by_handle, &self.handles, HANDLE)] {
            let Some(column) = column else { continue };
            if slots.iter().all(|s| s.mentions == 0) {
                continue;
            }
            let hashes =
                HASHES.get_or_compute(self.segment_id, namespace, || ord_hashes(column, namespace).unwrap_or_default());
            for (ord, slot) in slots.iter().enumerate().filter(|(_, s)| s.mentions > 0) {
                let Some(&key) = hashes.get(ord) else { continue };
                out.push(Partial { key, segment: self.segment, slot: *slot });
            }
        }
        out
    }
}

/// The keys are xxh3 hashes already: hashing them again (SipHash) was a third of the merge.
#[derive(Default)]
struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }
    fn write_u128(&mut self, key: u128) {
        self.0 = key as u64;
    }
}

const ID: u8 = 0;
const HANDLE: u8 = 1;

fn top_by(all: &[Partial], limit: usize, metric: impl Fn(&Slot) -> u64) -> Vec<Partial> {
    let mut refs: Vec<&Partial> = all.iter().collect();
    // Ties broken by the key hash: stable across runs and segment layouts.
    let cmp = |a: &&Partial, b: &&Partial| metric(&b.slot).cmp(&metric(&a.slot)).then_with(|| a.key.cmp(&b.key));
    if refs.len() > limit {
        refs.select_nth_unstable_by(limit, cmp);
        refs.truncate(limit);
    }
    refs.sort_by(cmp);
    refs.into_iter().copied().collect()
}

/// Reads the first term of `field` of `doc` in `segment`.
fn name_of(searcher: &Searcher, segment: SegmentOrdinal, doc: DocId, field: &str) -> Option<String> {
    let column = searcher.segment_reader(segment).fast_fields().str(field).ok()??;
    let ord = column.term_ords(doc).next()?;
    let mut name = String::new();
    column.ord_to_str(ord, &mut name).ok()?.then_some(name)
}

fn counts_of(searcher: &Searcher, p: &Partial) -> AuthorCounts {
    let handle = name_of(searcher, p.segment, p.slot.doc, "author_handle").unwrap_or_default();
    let key = match name_of(searcher, p.segment, p.slot.doc, "author_id") {
        Some(id) => id,
        None => format!("@{handle}"),
    };
    AuthorCounts { key, handle, mentions: p.slot.mentions, followers: p.slot.followers, engagement: p.slot.engagement }
}

/// The top `limit` authors of the mentions `query` matches, three ways. Blocking.
pub fn top_authors(searcher: &Searcher, query: &dyn Query, limit: usize) -> tantivy::Result<TopAuthors> {
    let segments = searcher.search(query, &AccCollector::<AuthorAcc>::new(()))?;
    HASHES.keep_only(searcher);
    let total: usize = segments.iter().map(Vec::len).sum();
    let mut merged: HashMap<u128, Partial, BuildHasherDefault<KeyIsHash>> =
        HashMap::with_capacity_and_hasher(total, Default::default());
    for p in segments.into_iter().flatten() {
        merged.entry(p.key).and_modify(|m| m.slot.merge(&p.slot)).or_insert(p);
    }
    let all: Vec<Partial> = merged.into_values().collect();
    // Which of several tied authors make the cut at the limit follows the hash; the list itself is in
    // order of the metric, then the author's key.
    let ranking = |metric: fn(&Slot) -> u64| {
        let mut named: Vec<(u64, AuthorCounts)> =
            top_by(&all, limit, metric).iter().map(|p| (metric(&p.slot), counts_of(searcher, p))).collect();
        named.sort_by(|(ma, a), (mb, b)| mb.cmp(ma).then_with(|| a.key.cmp(&b.key)));
        named.into_iter().map(|(_, a)| a).collect::<Vec<_>>()
    };
    Ok(TopAuthors {
        by_mentions: ranking(|s| s.mentions),
        by_reach: ranking(|s| s.followers),
        by_engagement: ranking(|s| s.engagement),
        unique: all.len() as u64,
    })
}
