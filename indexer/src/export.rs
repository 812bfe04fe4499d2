//! Bulk export: every match of a query in one fixed order, read from one searcher snapshot, in chunks.
//!
//! The order is `(created_at, xxh3 of the mention key)`, both read from fast fields, so it is total,
//! does not depend on segments or doc ids, and survives merges and restarts: a cursor naming the last
//! exported pair resumes an interrupted export without missing or repeating a mention that existed when
//! it started. Only the sort keys and addresses of the matches are held (24 bytes each); the stored
//! mentions are read one chunk at a time.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::Query;
use tantivy::{DateTime, DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader, TantivyDocument};

use earshot_proto::v1::Mention;

use crate::doc::from_document;
use crate::{IndexError, Indexer};

/// The position of one mention in export order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExportCursor {
    /// `created_at`, Unix seconds.
    pub created_at: i64,
    /// xxh3 of the mention's key (tenant and id).
    pub key_hash: u64,
}

impl ExportCursor {
    /// The opaque text form handed to clients.
    pub fn encode(&self) -> String {
        format!("e1.{}.{:016x}", self.created_at, self.key_hash)
    }

    /// Reads a cursor from [`ExportCursor::encode`]; `None` if it is not one.
    pub fn decode(text: &str) -> Option<ExportCursor> {
        let rest = text.strip_prefix("e1.")?;
        let (secs, hash) = rest.split_once('.')?;
        Some(ExportCursor { created_at: secs.parse().ok()?, key_hash: u64::from_str_radix(hash, 16).ok()? })
    }
}

/// The matches of an export, sorted, with the snapshot they were found in.
pub struct ExportPlan {
    searcher: Searcher,
    matches: Vec<(ExportCursor, DocAddress)>,
    next: usize,
}

impl ExportPlan {
    /// Matches not yet read.
    pub fn remaining(&self) -> usize {
        self.matches.len() - self.next
    }

    /// The next `n` mentions and the cursor after the last of them; `None` when all are read. Blocking.
    pub fn next_chunk(
        &mut self,
        indexer: &Indexer,
        n: usize,
    ) -> Result<Option<(Vec<Mention>, ExportCursor)>, IndexError> {
        let end = (self.next + n.max(1)).min(self.matches.len());
        if self.next == end {
            return Ok(None);
        }
        let mut mentions = Vec::with_capacity(end - self.next);
        for (_, address) in &self.matches[self.next..end] {
            let doc: TantivyDocument = self.searcher.doc(*address)?;
            match from_document(indexer.fields(), &doc) {
                Some(m) => mentions.push(m),
                None => tracing::warn!(?address, "stored mention could not be decoded; left out of the export"),
            }
        }
        let cursor = self.matches[end - 1].0;
        self.next = end;
        Ok(Some((mentions, cursor)))
    }
}

impl Indexer {
    /// Plans an export of every match of `query` (already scoped to a tenant, time and noise) after
    /// `after`, on the current searcher. CPU-bound: call it from a blocking context.
    pub fn export_plan(&self, query: &dyn Query, after: Option<ExportCursor>) -> Result<ExportPlan, IndexError> {
        let searcher = self.searcher();
        let mut matches = searcher.search(query, &SortKeys)?;
        if let Some(after) = after {
            matches.retain(|(key, _)| *key > after);
        }
        matches.sort_unstable();
        Ok(ExportPlan { searcher, matches, next: 0 })
    }
}

/// Collects `(sort key, address)` of every match.
struct SortKeys;

struct SegmentSortKeys {
    segment: SegmentOrdinal,
    created_at: tantivy::columnar::Column<DateTime>,
    key: Option<tantivy::columnar::StrColumn>,
    buf: String,
    found: Vec<(ExportCursor, DocAddress)>,
}

impl Collector for SortKeys {
    type Fruit = Vec<(ExportCursor, DocAddress)>;
    type Child = SegmentSortKeys;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentSortKeys> {
        let fast = reader.fast_fields();
        Ok(SegmentSortKeys {
            segment,
            created_at: fast.date("created_at")?,
            key: fast.str("key")?,
            buf: String::new(),
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentSortKeys {
    type Fruit = Vec<(ExportCursor, DocAddress)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let created_at = self.created_at.first(doc).map_or(i64::MIN, |t| t.into_timestamp_secs());
        self.buf.clear();
        if let Some(ord) = self.key.as_ref().and_then(|k| k.term_ords(doc).next()) {
            if let Some(column) = &self.key {
                let _ = column.ord_to_str(ord, &mut self.buf);
            }
        }
        let key_hash = xxhash_rust::xxh3::xxh3_64(self.buf.as_bytes());
        self.found.push((ExportCursor { created_at, key_hash }, DocAddress::new(self.segment, doc)));
    }

    fn harvest(self) -> Self::Fruit {
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_order_by_time_then_key() {
        let a = ExportCursor { created_at: 1_700_000_000, key_hash: 0xff };
        assert_eq!(ExportCursor::decode(&a.encode()), Some(a));
        assert!(ExportCursor::decode("o:12").is_none());
        assert!(ExportCursor::decode("e1.x.y").is_none());
        let b = ExportCursor { created_at: 1_700_000_000, key_hash: 0x100 };
        let c = ExportCursor { created_at: 1_700_000_001, key_hash: 0 };
        assert!(a < b && b < c);
    }
}
