//! Values derived from a segment once and kept while searchers still hold that segment.
//!
//! A segment never changes (deletions only hide documents), so what is read out of it, such as the
//! author hashes of `insights::authors` or the date bounds of [`crate::newest`], holds for its whole life.
//! This is what Elasticsearch's global ordinals do, kept per segment so that a commit only adds the new
//! segments' entries.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

use parking_lot::Mutex;
use tantivy::index::SegmentId;
use tantivy::{Searcher, SegmentReader};

/// Values of type `V` per segment and `K` (what else they depend on).
pub struct SegmentCache<K, V> {
    entries: Mutex<HashMap<(SegmentId, K), Arc<V>>>,
}

impl<K, V> Default for SegmentCache<K, V> {
    fn default() -> Self {
        SegmentCache { entries: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash, V> SegmentCache<K, V> {
    /// The value for `segment` and `key`, computed by `compute` the first time.
    pub fn get_or_compute(&self, segment: SegmentId, key: K, compute: impl FnOnce() -> V) -> Arc<V> {
        let id = (segment, key);
        if let Some(value) = self.entries.lock().get(&id) {
            return value.clone();
        }
        // Computed outside the lock; two searches racing on a new segment both compute it once.
        let value = Arc::new(compute());
        self.entries.lock().insert(id, value.clone());
        value
    }

    /// Drops the entries of segments `searcher` no longer holds (merged away or deleted).
    pub fn keep_only(&self, searcher: &Searcher) {
        let searched: HashSet<SegmentId> = searcher.segment_readers().iter().map(SegmentReader::segment_id).collect();
        self.entries.lock().retain(|(segment, _), _| searched.contains(segment));
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{Schema, INDEXED};
    use tantivy::{doc, Index, IndexWriter};

    use super::*;

    #[test]
    fn computes_once_per_segment_and_forgets_segments_no_longer_searched() {
        let mut builder = Schema::builder();
        let n = builder.add_u64_field("n", INDEXED);
        let index = Index::create_in_ram(builder.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).expect("writer");
        writer.add_document(doc!(n => 1u64)).expect("add");
        writer.commit().expect("commit");
        let reader = index.reader().expect("reader");
        let segment = reader.searcher().segment_reader(0).segment_id();
        let cache: SegmentCache<u8, u32> = SegmentCache::default();
        let mut computed = 0;
        for _ in 0..3 {
            let value = cache.get_or_compute(segment, 7, || {
                computed += 1;
                42
            });
            assert_eq!(*value, 42);
        }
        assert_eq!(computed, 1);
        cache.keep_only(&reader.searcher());
        assert_eq!(*cache.get_or_compute(segment, 7, || 0), 42, "a searched segment is kept");
        writer.delete_all_documents().expect("delete");
        writer.commit().expect("commit");
        reader.reload().expect("reload");
        cache.keep_only(&reader.searcher());
        assert_eq!(*cache.get_or_compute(segment, 7, || 0), 0, "a segment gone is computed again");
    }
}
