//! A source's durable checkpoint: how far it has read, in the words of its platform (a feed's ETag and
//! Last-Modified, Mastodon's newest status id, the newest post time of a search). One private file per
//! source under `sources/` in the data folder, replaced atomically (`files::write_atomic`).
//!
//! The runner saves a checkpoint only after every mention it covers was acknowledged by the ingest
//! path (durable in the log). A crash before the save re-reads those items on the next start; the
//! (tenant, id) dedupe of ingest drops them. A crash after the save loses nothing either: what the
//! checkpoint covers is already durable.

use std::path::{Path, PathBuf};

use earshot_proto::v1::Mention;
use serde::{Deserialize, Serialize};

/// Creation times (Unix ms) of mentions.
pub fn item_times(mentions: &[Mention]) -> Vec<i64> {
    mentions.iter().filter_map(|m| m.created_at).map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000).collect()
}

/// How far one source has read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Feeds: the `ETag` of the last response stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Feeds: the `Last-Modified` of the last response stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Mastodon: the newest status id stored (the next poll asks for what follows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_id: Option<String>,
    /// Bluesky, Reddit: creation time (Unix ms) of the newest item stored; the next poll reads back to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// Jetstream: `time_us` of the last event stored or passed over (the reconnect's `cursor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_us: Option<i64>,
    /// Creation time (Unix ms) of the newest item stored, whatever the kind (state and lag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_item_ms: Option<i64>,
}

impl Checkpoint {
    /// Moves `last_item_ms` forward to the newest of `times_ms` (never back).
    pub fn saw_items(&mut self, times_ms: impl IntoIterator<Item = i64>) {
        if let Some(newest) = times_ms.into_iter().max() {
            self.last_item_ms = Some(self.last_item_ms.map_or(newest, |t| t.max(newest)));
        }
    }
}

/// Where the checkpoints of a data folder live.
#[derive(Debug, Clone)]
pub struct CheckpointDir(PathBuf);

impl CheckpointDir {
    /// `data_dir/sources`, created when missing.
    pub fn open(data_dir: &Path) -> std::io::Result<CheckpointDir> {
        let dir = data_dir.join("sources");
        std::fs::create_dir_all(&dir)?;
        Ok(CheckpointDir(dir))
    }

    fn path(&self, source_id: &str) -> PathBuf {
        self.0.join(format!("{source_id}.checkpoint.json"))
    }

    /// The checkpoint of `source_id`; the default (start from now) when there is none yet.
    pub fn load(&self, source_id: &str) -> std::io::Result<Checkpoint> {
        match std::fs::read(self.path(source_id)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Checkpoint::default()),
            Err(e) => Err(e),
        }
    }

    /// Replaces the checkpoint of `source_id` atomically (fsynced before it returns).
    pub fn save(&self, source_id: &str, checkpoint: &Checkpoint) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(checkpoint).map_err(std::io::Error::other)?;
        crate::files::write_atomic(&self.path(source_id), &bytes)
    }

    /// Forgets the checkpoint of a removed source.
    pub fn remove(&self, source_id: &str) {
        let _ = std::fs::remove_file(self.path(source_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_checkpoints_come_back_and_missing_ones_start_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CheckpointDir::open(dir.path()).expect("open");
        assert_eq!(store.load("s1").expect("load"), Checkpoint::default());
        let mut cp = Checkpoint { etag: Some("\"abc\"".into()), since_id: Some("42".into()), ..Default::default() };
        cp.saw_items([5, 9, 7]);
        cp.saw_items([3]);
        assert_eq!(cp.last_item_ms, Some(9), "never moves back");
        store.save("s1", &cp).expect("save");
        let again = CheckpointDir::open(dir.path()).expect("reopen");
        assert_eq!(again.load("s1").expect("load"), cp);
        store.remove("s1");
        assert_eq!(store.load("s1").expect("load"), Checkpoint::default());
    }

    #[test]
    fn a_damaged_checkpoint_is_an_error_not_a_fresh_start() {
        // Starting over silently could skip items (a fresh Mastodon source starts at "now").
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CheckpointDir::open(dir.path()).expect("open");
        std::fs::write(dir.path().join("sources/s2.checkpoint.json"), b"{not json").expect("write");
        assert!(store.load("s2").is_err());
    }
}
