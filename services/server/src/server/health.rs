//! `grpc.health.v1` driven by real state, and the read readiness that goes with it:
//! - ingest: with Redis, SERVING while Redis answers; without, `NOT_SERVING` while the write-ahead log
//!   cannot write (a full disk) or the index cannot commit, `SERVING` again once both can, without a
//!   restart. A log that failed only finds out that space is back when it next writes, so while it
//!   reports a failure a small probe file is written and fsynced beside it: once that succeeds, ingest
//!   is offered again and the next real append confirms it.
//! - search: with Redis, SERVING only on the replica holding the index owner lease; without, once the
//!   index has committed what the log replayed (reads answer `UNAVAILABLE` until then, see
//!   `crate::api::ready`).
//! - classify: SERVING once the model is loaded and warmed up.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use earshot_models::batcher::{ClassifierHandle, ModelState};
use earshot_proto::v1::classify_service_server::ClassifyServiceServer;
use earshot_proto::v1::ingest_service_server::IngestServiceServer;
use earshot_proto::v1::search_service_server::SearchServiceServer;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic_health::server::HealthReporter;
use tracing::{info, warn};

use crate::api::classify::ClassifyApi;
use crate::api::ingest::IngestApi;
use crate::api::search::SearchApi;
use crate::cluster::{self, Cluster};
use crate::storage::Storage;

/// Every earshot service NOT_SERVING (at start, and when shutting down).
pub async fn set_all_not_serving(health: &HealthReporter) {
    health.set_not_serving::<IngestServiceServer<IngestApi>>().await;
    health.set_not_serving::<SearchServiceServer<SearchApi>>().await;
    health.set_not_serving::<ClassifyServiceServer<ClassifyApi>>().await;
}

/// Keeps the ClassifyService health in step with the model: SERVING once loaded and warmed up.
pub async fn report_model_health(classifier: ClassifierHandle, health: HealthReporter) {
    let mut state = classifier.watch_state();
    loop {
        let current = state.borrow_and_update().clone();
        match current {
            ModelState::Ready(version) => {
                info!(version, "sentiment model ready");
                health.set_serving::<ClassifyServiceServer<ClassifyApi>>().await;
            }
            ModelState::Failed(why) => {
                tracing::error!(why, "sentiment model unavailable; mentions are stored unlabelled");
                health.set_not_serving::<ClassifyServiceServer<ClassifyApi>>().await;
            }
            ModelState::Loading => {}
        }
        if state.changed().await.is_err() {
            return;
        }
    }
}

/// Keeps the IngestService health in step with what ingest writes to: Redis (a gateway cannot
/// acknowledge without it) or the local storage. `None` when this replica serves no ingest.
pub fn watch_ingest(
    cluster: Option<&Cluster>,
    storage: Option<&Arc<Storage>>,
    wal_dir: PathBuf,
    health: &HealthReporter,
) -> Option<JoinHandle<()>> {
    match (cluster, storage) {
        (Some(c), _) => {
            let health = health.clone();
            Some(cluster::watch_health(c.redis.clone(), move |up| {
                let health = health.clone();
                async move {
                    if up {
                        health.set_serving::<IngestServiceServer<IngestApi>>().await;
                    } else {
                        health.set_not_serving::<IngestServiceServer<IngestApi>>().await;
                    }
                }
            }))
        }
        (None, Some(s)) => Some(watch_storage(s.clone(), wal_dir, health.clone())),
        (None, None) => None,
    }
}

/// Keeps the SearchService health (and `ready`, which gates reads) in step with the index: with Redis,
/// SERVING only while this replica holds the index owner lease; without, once the replayed log is
/// committed. `serving_search`: whether this replica serves search at all.
pub fn watch_search(
    serving_search: bool,
    cluster: Option<&Cluster>,
    storage: Option<&Arc<Storage>>,
    ready: watch::Sender<bool>,
    health: &HealthReporter,
) -> Option<JoinHandle<()>> {
    match (serving_search, cluster.and_then(Cluster::index_owner)) {
        (true, Some(mut owner)) => {
            ready.send_replace(true);
            let health = health.clone();
            Some(tokio::spawn(async move {
                loop {
                    if *owner.borrow_and_update() {
                        health.set_serving::<SearchServiceServer<SearchApi>>().await;
                    } else {
                        health.set_not_serving::<SearchServiceServer<SearchApi>>().await;
                    }
                    if owner.changed().await.is_err() {
                        return;
                    }
                }
            }))
        }
        (true, None) => {
            // After a crash or a stop with mentions still in labelling, search waits for the replay to be
            // committed: a count right after a restart must include everything acknowledged before it.
            let replay = storage.and_then(|s| (s.recovered > 0).then_some(s.replayed_upto).flatten());
            let committed = storage.map(|s| s.committed.clone());
            let health = health.clone();
            Some(tokio::spawn(async move {
                if let (Some(upto), Some(mut committed)) = (replay, committed) {
                    info!(upto, "search waits for the replayed log to be committed");
                    if committed.wait_for(|c| c.is_some_and(|c| c >= upto)).await.is_err() {
                        return;
                    }
                }
                ready.send_replace(true);
                health.set_serving::<SearchServiceServer<SearchApi>>().await;
            }))
        }
        (false, _) => {
            ready.send_replace(true);
            None
        }
    }
}

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
fn watch_storage(storage: Arc<Storage>, wal_dir: PathBuf, health: HealthReporter) -> tokio::task::JoinHandle<()> {
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
                        health.set_serving::<IngestServiceServer<IngestApi>>().await;
                    }
                    Some(why) => {
                        warn!(why, "storage cannot write: ingest reports NOT_SERVING until it can");
                        health.set_not_serving::<IngestServiceServer<IngestApi>>().await;
                    }
                }
                serving = Some(now.is_none());
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}
