//! Ingest health from the state of the storage: `NOT_SERVING` while the write-ahead log cannot write
//! (a full disk) or the index cannot commit, `SERVING` again once both can, without a restart.
//!
//! A log that failed only finds out that space is back when it next writes, so while it reports a
//! failure a small probe file is written and fsynced beside it: once that succeeds, ingest is offered
//! again and the next real append confirms it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use earshot_proto::v1::ingest_service_server::IngestServiceServer;
use tonic_health::server::HealthReporter;
use tracing::{info, warn};

use crate::Storage;

/// How often the storage state is looked at.
const EVERY: Duration = Duration::from_millis(250);
/// Size of the probe: enough to need a fresh block, small enough to be harmless.
const PROBE_BYTES: usize = 64 << 10;

/// Why ingest cannot be offered now, or `None` when it can.
fn trouble(storage: &Storage, probe: &Path) -> Option<String> {
    if let Some(why) = storage.wal.failure() {
        if write_probe(probe).is_err() {
            return Some(format!("write-ahead log: {why}"));
        }
    }
    storage.indexer.failure().map(|why| format!("index: {why}"))
}

fn write_probe(path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let result = std::fs::File::create(path).and_then(|mut f| {
        f.write_all(&[0u8; PROBE_BYTES])?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(path);
    result
}

/// Keeps the IngestService health in step with the storage until the task is aborted.
pub fn watch_storage(storage: Arc<Storage>, wal_dir: PathBuf, health: HealthReporter) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let probe = wal_dir.join(".space-probe");
        let mut serving = None;
        loop {
            let (s, p) = (storage.clone(), probe.clone());
            let now = tokio::task::spawn_blocking(move || trouble(&s, &p)).await.unwrap_or(None);
            if serving != Some(now.is_none()) {
                match &now {
                    None => {
                        if serving.is_some() {
                            info!("storage writes again: ingest is served");
                        }
                        health.set_serving::<IngestServiceServer<crate::grpc::IngestApi>>().await;
                    }
                    Some(why) => {
                        warn!(why, "storage cannot write: ingest reports NOT_SERVING until it can");
                        health.set_not_serving::<IngestServiceServer<crate::grpc::IngestApi>>().await;
                    }
                }
                serving = Some(now.is_none());
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}
