//! Live sources: feeds and platform APIs the service polls itself, per tenant, storing what they return
//! through the same ingest path as `Ingest` (validation, PII redaction, (tenant, id) dedupe, the log).
//!
//! # Layout
//! - [`spec`]: the API boundary: a `SourceSpec` checked (field + reason) into a [`store::SourceConfig`],
//!   and back into a `Source` without its secret.
//! - [`store`]: `sources.json` in the data folder (private, atomic), the [`store::Secret`] that never
//!   prints.
//! - [`checkpoint`]: one durable checkpoint file per source, saved after what it covers is durable.
//! - [`backoff`]: exponential backoff with a cap, and the waits platforms ask for (`Retry-After`,
//!   `x-ratelimit-reset`, …).
//! - [`http`]: one exchange classified (429 → rate limited with its wait), and the [`http::Poller`] trait.
//! - [`feed`], [`mastodon`], [`bluesky`], [`reddit`], [`jetstream`] (a websocket): one poller per kind; the mapping of what they read
//!   onto mentions is `earshot-sources`', shared with `earshot import`.
//! - [`lease`]: [`lease::SourceLease`], so that with several replicas exactly one runs a source (Redis
//!   implements it in `cluster::source_lease`).
//! - [`runner`]: one task per running source: (lease) → poll → store → checkpoint → wait.
//! - this module: [`SourceDomain`] (add, list, pause, resume, remove; starts and stops the tasks) and
//!   [`SourceError`].
//!
//! Sources run where the ingest path is. With Redis, each replica keeps its own `sources.json`; a source
//! added under the same name on several gateways is run by one of them at a time (the lease holder).

pub mod backoff;
pub mod bluesky;
pub mod checkpoint;
pub mod feed;
pub mod http;
pub mod jetstream;
pub mod lease;
pub mod mastodon;
pub mod reddit;
pub mod runner;
pub mod spec;
pub mod store;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use earshot_proto::v1::{Source, SourceSpec};
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use checkpoint::CheckpointDir;
use runner::{Runner, State};
use store::{SourceConfig, SourceStore};

pub use checkpoint::item_times;

/// How long stopping a source waits for the poll or store in progress.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Errors of the source domain.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A field of the request is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// Field path, e.g. `spec.url`.
        field: String,
        /// Why.
        reason: String,
    },
    /// No source with that id or name.
    #[error("no source {0:?}")]
    NotFound(String),
    /// Another source of the tenant has that name.
    #[error("a source named {0:?} already exists")]
    AlreadyExists(String),
    /// The tenant of the call is not valid.
    #[error("invalid tenant: {0}")]
    InvalidTenant(String),
    /// This replica does not run sources (no ingest path here).
    #[error("sources are not run on this replica: {0}")]
    Unavailable(String),
    /// The sources file or a checkpoint could not be read or written.
    #[error("source storage: {0}")]
    Storage(String),
}

struct Task {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

/// The source domain service: the configured sources and their running tasks.
pub struct SourceDomain {
    store: SourceStore,
    checkpoints: CheckpointDir,
    runner: Option<Arc<Runner>>,
    states: Mutex<HashMap<String, Arc<Mutex<State>>>>,
    tasks: Mutex<HashMap<String, Task>>,
}

impl SourceDomain {
    /// Opens the sources of `data_dir`. With a `runner` (where the ingest path is) sources can run;
    /// call [`SourceDomain::start_all`] to start those not paused.
    pub fn open(data_dir: &Path, runner: Option<Runner>) -> Result<SourceDomain, SourceError> {
        let store = SourceStore::open(&data_dir.join("sources.json"))?;
        let checkpoints = CheckpointDir::open(data_dir).map_err(|e| SourceError::Storage(e.to_string()))?;
        Ok(SourceDomain {
            store,
            checkpoints,
            runner: runner.map(Arc::new),
            states: Mutex::default(),
            tasks: Mutex::default(),
        })
    }

    /// Starts every source that is not paused. Needs a tokio runtime.
    pub fn start_all(&self) {
        for (tenant, source) in self.store.all() {
            if !source.paused {
                self.start(&tenant, &source);
            }
        }
    }

    fn state(&self, id: &str) -> Arc<Mutex<State>> {
        self.states.lock().entry(id.to_owned()).or_default().clone()
    }

    fn start(&self, tenant: &str, source: &SourceConfig) {
        let Some(runner) = &self.runner else { return };
        let state = self.state(&source.id);
        state.lock().running = true;
        let (stop, stopped) = watch::channel(false);
        let task = runner.clone().run(tenant.to_owned(), source.clone(), state, stopped);
        let handle = tokio::spawn(task);
        if let Some(old) = self.tasks.lock().insert(source.id.clone(), Task { stop, handle }) {
            old.stop.send_replace(true);
        }
    }

    async fn stop(&self, id: &str) {
        let task = self.tasks.lock().remove(id);
        if let Some(task) = task {
            task.stop.send_replace(true);
            // A store in progress finishes (its checkpoint too) before the task ends.
            if tokio::time::timeout(STOP_GRACE, task.handle).await.is_err() {
                tracing::warn!(source = id, "source task did not stop in time");
            }
        }
        if let Some(state) = self.states.lock().get(id) {
            state.lock().running = false;
        }
    }

    /// Stops every running source (shutdown), waiting for stores in progress.
    pub async fn stop_all(&self) {
        let ids: Vec<String> = self.tasks.lock().keys().cloned().collect();
        for id in ids {
            self.stop(&id).await;
        }
    }

    fn view(&self, source: &SourceConfig) -> Source {
        let state = self.states.lock().get(&source.id).map(|s| s.lock().clone()).unwrap_or_default();
        spec::to_proto(source, &state)
    }

    fn check_tenant(tenant: &str) -> Result<(), SourceError> {
        crate::ingest::validate::validate_tenant(tenant).map_err(SourceError::InvalidTenant)
    }

    /// Adds a source for `tenant` and starts it.
    pub fn add(&self, tenant: &str, spec: Option<SourceSpec>) -> Result<Source, SourceError> {
        Self::check_tenant(tenant)?;
        if self.runner.is_none() {
            return Err(SourceError::Unavailable("this replica has no ingest path".into()));
        }
        let spec =
            spec.ok_or_else(|| SourceError::InvalidArgument { field: "spec".into(), reason: "is required".into() })?;
        let source = self.store.add(tenant, spec::config_of(spec)?)?;
        tracing::info!(tenant, source = %source.id, kind = source.kind.name(), "source added");
        self.start(tenant, &source);
        Ok(self.view(&source))
    }

    /// The tenant's sources with their state.
    pub fn list(&self, tenant: &str) -> Result<Vec<Source>, SourceError> {
        Self::check_tenant(tenant)?;
        Ok(self.store.list(tenant).iter().map(|s| self.view(s)).collect())
    }

    /// Pauses (stops polling) or resumes a source, by id or name.
    pub async fn set_paused(&self, tenant: &str, key: &str, paused: bool) -> Result<Source, SourceError> {
        Self::check_tenant(tenant)?;
        let source = self.store.set_paused(tenant, key, paused)?;
        let running = self.tasks.lock().contains_key(&source.id);
        if paused {
            self.stop(&source.id).await;
        } else if !running {
            self.start(tenant, &source);
        }
        Ok(self.view(&source))
    }

    /// Removes a source (by id or name) and its checkpoint; false when there was none.
    pub async fn remove(&self, tenant: &str, key: &str) -> Result<bool, SourceError> {
        Self::check_tenant(tenant)?;
        let Some(source) = self.store.remove(tenant, key)? else { return Ok(false) };
        self.stop(&source.id).await;
        self.checkpoints.remove(&source.id);
        self.states.lock().remove(&source.id);
        Ok(true)
    }
}
