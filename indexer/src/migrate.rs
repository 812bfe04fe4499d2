//! Upgrading an index built by an older version: before the insights fields existed, or with another
//! [`ANALYSIS_VERSION`](crate::schema::ANALYSIS_VERSION) (how text is split and folded, which terms
//! are kept).
//!
//! Every document stores the mention as ingested (`raw`), so an older index can be rebuilt with the
//! current schema: read each live document, decode it, index it again (analyzing its text, computing
//! terms, SimHash, near-duplicate and spam flags) into a sibling folder, then swap the folders. The old folder is only
//! removed once the new one is in place, so a crash midway leaves the old index untouched (the
//! half-built sibling is discarded on the next attempt).

use std::path::{Path, PathBuf};

use earshot_proto::v1::Mention;
use prost::Message;
use tantivy::schema::Value;
use tantivy::{Index, TantivyDocument};
use tracing::{info, warn};

use crate::doc::prepare;
use crate::noise::NearDuplicates;
use crate::schema::{build_schema, is_current, register_tokenizers, ANALYSIS_VERSION};
use crate::IndexError;

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    dir.with_file_name(name)
}

fn io(e: std::io::Error) -> IndexError {
    IndexError::Tantivy(tantivy::TantivyError::from(e))
}

/// Rebuilds the index in `dir` with the current schema when it was built by an older version. Returns
/// how many mentions were re-indexed (`None` when nothing needed doing). Blocking.
pub fn upgrade_if_needed(dir: &Path) -> Result<Option<u64>, IndexError> {
    if !dir.join("meta.json").exists() {
        return Ok(None);
    }
    let old = Index::open_in_dir(dir)?;
    if is_current(&old.schema()) {
        return Ok(None);
    }
    info!(
        dir = %dir.display(),
        analysis_version = ANALYSIS_VERSION,
        "index built by an older version (schema or text analysis); rebuilding it from the stored mentions"
    );
    let raw = old.schema().get_field("raw")?;
    let tmp = sibling(dir, ".upgrading");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io)?;
    }
    std::fs::create_dir_all(&tmp).map_err(io)?;
    let (schema, fields) = build_schema();
    let new = Index::create_in_dir(&tmp, schema)?;
    register_tokenizers(new.tokenizers());
    register_tokenizers(new.fast_field_tokenizer());
    let mut writer = new.writer_with_num_threads(1, 128 << 20)?;
    let mut near = NearDuplicates::default();
    let mut count = 0u64;
    let searcher = old.reader()?.searcher();
    for segment in searcher.segment_readers() {
        let store = segment.get_store_reader(64).map_err(io)?;
        let versions = segment.fast_fields().str("model_version")?;
        let mut version = String::new();
        for doc_id in 0..segment.max_doc() {
            if segment.alive_bitset().is_some_and(|a| !a.is_alive(doc_id)) {
                continue;
            }
            let doc: TantivyDocument = store.get(doc_id)?;
            let Some(mention) = doc.get_first(raw).and_then(|v| v.as_bytes()).and_then(|b| Mention::decode(b).ok())
            else {
                warn!(doc_id, "stored mention could not be decoded; dropped from the rebuilt index");
                continue;
            };
            version.clear();
            if let Some(ord) = versions.as_ref().and_then(|c| c.term_ords(doc_id).next()) {
                if let Some(c) = &versions {
                    c.ord_to_str(ord, &mut version).map_err(io)?;
                }
            }
            let prepared = prepare(&fields, &mention, &version);
            let duplicate = prepared.is_near_duplicate(&mention, &mut near);
            writer.add_document(prepared.finish(&fields, duplicate))?;
            count += 1;
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    drop(searcher);
    drop(old);
    let backup = sibling(dir, ".pre-upgrade");
    if backup.exists() {
        std::fs::remove_dir_all(&backup).map_err(io)?;
    }
    std::fs::rename(dir, &backup).map_err(io)?;
    std::fs::rename(&tmp, dir).map_err(io)?;
    std::fs::remove_dir_all(&backup).map_err(io)?;
    info!(mentions = count, "index rebuilt with the current schema");
    Ok(Some(count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::NEWEST_FIELD;
    use tantivy::schema::{Schema, FAST, STORED, STRING};

    #[test]
    fn an_old_index_is_rebuilt_with_every_mention() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("index");
        std::fs::create_dir_all(&path).expect("mkdir");
        // The shape of an index before the insights fields: raw mention and model version.
        let mut b = Schema::builder();
        let raw = b.add_bytes_field("raw", STORED);
        let version = b.add_text_field("model_version", STRING | FAST);
        let old = Index::create_in_dir(&path, b.build()).expect("create");
        let mut w = old.writer_with_num_threads(1, 15 << 20).expect("writer");
        for i in 0..3 {
            let m = Mention {
                id: format!("m{i}"),
                tenant: "t".into(),
                text: format!("hello number {i}"),
                ..Default::default()
            };
            let mut d = TantivyDocument::default();
            d.add_bytes(raw, &m.encode_to_vec());
            d.add_text(version, "v1");
            w.add_document(d).expect("add");
        }
        w.commit().expect("commit");
        drop(w);
        drop(old);
        assert_eq!(upgrade_if_needed(&path).expect("upgrade"), Some(3));
        let upgraded = Index::open_in_dir(&path).expect("open");
        assert!(upgraded.schema().get_field(NEWEST_FIELD).is_ok());
        assert_eq!(upgraded.reader().expect("reader").searcher().num_docs(), 3);
        assert_eq!(upgrade_if_needed(&path).expect("second"), None);
    }

    #[test]
    fn an_index_of_an_older_analysis_version_is_rebuilt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("index");
        std::fs::create_dir_all(&path).expect("mkdir");
        // Insights fields present, but the text analyzed by the version-1 analyzer (`l'app` was two
        // positions then, and `dell` a trending term).
        let mut b = Schema::builder();
        let raw = b.add_bytes_field("raw", STORED);
        b.add_text_field("model_version", STRING | FAST);
        let indexing = tantivy::schema::TextFieldIndexing::default().set_tokenizer("earshot_social");
        let text = b.add_text_field("text", tantivy::schema::TextOptions::default().set_indexing_options(indexing));
        b.add_bool_field(NEWEST_FIELD, FAST);
        let old = Index::create_in_dir(&path, b.build()).expect("create");
        // Any tokenizer stands in for the old analyzer: only its name is checked.
        old.tokenizers().register("earshot_social", tantivy::tokenizer::SimpleTokenizer::default());
        assert!(!is_current(&old.schema()));
        let mut w = old.writer_with_num_threads(1, 15 << 20).expect("writer");
        let m = Mention {
            id: "m".into(),
            tenant: "t".into(),
            text: "apri l'app dell'ospedale".into(),
            ..Default::default()
        };
        let mut d = TantivyDocument::default();
        d.add_bytes(raw, &m.encode_to_vec());
        d.add_text(text, &m.text);
        w.add_document(d).expect("add");
        w.commit().expect("commit");
        drop(w);
        drop(old);
        assert_eq!(upgrade_if_needed(&path).expect("upgrade"), Some(1));
        let upgraded = Index::open_in_dir(&path).expect("open");
        assert!(is_current(&upgraded.schema()));
        assert_eq!(upgrade_if_needed(&path).expect("second"), None);
    }
}
