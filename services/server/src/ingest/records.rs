//! Control records in the write-ahead log, so that what governance deleted does not come back when
//! the log is replayed on start.
//!
//! The log holds records until the index has committed everything in their segment, and replay adds
//! back whatever the index lacks. A deleted mention is lacking, so without a trace of its deletion it
//! would be re-indexed. Two control records leave that trace:
//! - [`Control::EraseAuthor`], appended when an erasure starts: every earlier record of that author (of
//!   that tenant) is dropped on replay;
//! - [`Control::Deleted`], appended before keys are deleted from the index: every earlier record with
//!   one of those keys is dropped on replay. It covers retention, and mentions of an erased author
//!   ingested while the erasure ran.
//!
//! A control record is a zero byte followed by JSON. A protobuf message never starts with a zero byte
//! (field number 0 is invalid), so mentions and control records cannot be confused, and an older
//! binary skips control records as undecodable.

use std::collections::HashSet;

use earshot_indexer::doc::mention_key;
use earshot_proto::v1::Mention;
use prost::Message;
use serde::{Deserialize, Serialize};

/// First byte of every control record.
const CONTROL_TAG: u8 = 0;
/// Keys per [`Control::Deleted`] record (bounds one record to about a megabyte).
pub const KEYS_PER_RECORD: usize = 10_000;

/// A control record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// An erasure of one author's mentions started.
    EraseAuthor {
        /// The tenant.
        tenant: String,
        /// Author id on the source network ("" when erased by handle only).
        author_id: String,
        /// Normalised handle: lower case, no `@` ("" when erased by id only).
        author_handle: String,
    },
    /// These mention keys (`tenant \x1f id`) are being deleted.
    Deleted {
        /// The keys.
        keys: Vec<String>,
    },
}

/// Normalises a handle as the index stores it for matching: trimmed, no `@`, lower case.
pub fn normalise_handle(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

/// Whether a log record is a control record.
pub fn is_control(record: &[u8]) -> bool {
    record.first() == Some(&CONTROL_TAG)
}

/// Encodes a control record.
pub fn encode(control: &Control) -> Vec<u8> {
    let mut out = vec![CONTROL_TAG];
    // Serialising plain strings cannot fail.
    out.extend(serde_json::to_vec(control).unwrap_or_default());
    out
}

/// Decodes a control record; `None` for mentions and damaged control records.
pub fn decode(record: &[u8]) -> Option<Control> {
    if !is_control(record) {
        return None;
    }
    serde_json::from_slice(&record[1..]).ok()
}

fn by_author(m: &Mention, tenant: &str, author_id: &str, author_handle: &str) -> bool {
    let Some(author) = &m.author else { return false };
    m.tenant == tenant
        && ((!author_id.is_empty() && author.id == author_id)
            || (!author_handle.is_empty() && normalise_handle(&author.handle) == author_handle))
}

/// Drops from replayed records every mention a later control record deleted. Control records and
/// undecodable records stay (the pipeline skips them; positions must stay dense).
pub fn drop_deleted(records: Vec<(u64, Vec<u8>)>) -> Vec<(u64, Vec<u8>)> {
    if !records.iter().any(|(_, r)| is_control(r)) {
        return records;
    }
    let mut deleted: HashSet<String> = HashSet::new();
    let mut erasures: Vec<(String, String, String)> = Vec::new();
    let mut kept = Vec::with_capacity(records.len());
    let mut dropped = 0usize;
    // Newest first, so that a control record applies only to what came before it.
    for (position, record) in records.into_iter().rev() {
        match decode(&record) {
            Some(Control::Deleted { keys }) => deleted.extend(keys),
            Some(Control::EraseAuthor { tenant, author_id, author_handle }) => {
                erasures.push((tenant, author_id, author_handle));
            }
            None => {
                if let Ok(m) = Mention::decode(record.as_slice()) {
                    if deleted.contains(&mention_key(&m.tenant, &m.id))
                        || erasures.iter().any(|(t, id, h)| by_author(&m, t, id, h))
                    {
                        dropped += 1;
                        continue;
                    }
                }
            }
        }
        kept.push((position, record));
    }
    kept.reverse();
    if dropped > 0 {
        tracing::info!(dropped, "replay skipped mentions deleted by erasure or retention");
    }
    kept
}

#[cfg(test)]
mod tests {
    use earshot_proto::v1::Author;

    use super::*;

    fn record(tenant: &str, id: &str, handle: &str) -> Vec<u8> {
        Mention {
            tenant: tenant.into(),
            id: id.into(),
            author: Some(Author { handle: handle.into(), ..Default::default() }),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn ids(records: &[(u64, Vec<u8>)]) -> Vec<String> {
        records.iter().filter_map(|(_, r)| Mention::decode(r.as_slice()).ok()).map(|m| m.id).collect()
    }

    #[test]
    fn control_records_drop_only_earlier_matching_mentions() {
        let erase = encode(&Control::EraseAuthor {
            tenant: "a".into(),
            author_id: String::new(),
            author_handle: normalise_handle("@Bob"),
        });
        assert!(Mention::decode(erase.as_slice()).is_err(), "a control record is never a mention");
        let records = vec![
            (0, record("a", "1", "bob")),
            (1, record("b", "2", "bob")),
            (2, record("a", "3", "@BOB")),
            (3, record("a", "4", "carol")),
            (4, erase),
            (5, record("a", "5", "bob")),
            (6, encode(&Control::Deleted { keys: vec![mention_key("a", "4"), mention_key("a", "6")] })),
            (7, record("a", "6", "dave")),
        ];
        let kept = drop_deleted(records);
        // 1 and 3: bob of tenant a before the erasure; 4: deleted by key. 2 is another tenant's bob,
        // 5 came after the erasure, 6 was ingested again after its deletion.
        assert_eq!(ids(&kept), vec!["2", "5", "6"]);
        assert_eq!(kept.len(), 5, "control records stay");
        assert_eq!(decode(&kept[1].1).map(|c| matches!(c, Control::EraseAuthor { .. })), Some(true));
    }
}
