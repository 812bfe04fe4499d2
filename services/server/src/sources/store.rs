//! Every tenant's sources as configured, in `sources.json` in the data folder (private, replaced
//! atomically). Secrets stored with a source live here and nowhere else: [`Secret`] prints as
//! `<redacted>`, and what the API returns never carries one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::SourceError;

/// Poll interval when the spec gives none.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// Shortest poll interval accepted (tests poll fast; platforms would not thank us for less).
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What a source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// RSS / Atom.
    Feed,
    /// A Mastodon hashtag or public timeline.
    Mastodon,
    /// Bluesky `searchPosts`.
    Bluesky,
    /// Reddit search or subreddit listing.
    Reddit,
    /// Bluesky's Jetstream websocket.
    Jetstream,
}

impl Kind {
    /// The lower-case name (metrics label, CLI).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Feed => "feed",
            Kind::Mastodon => "mastodon",
            Kind::Bluesky => "bluesky",
            Kind::Reddit => "reddit",
            Kind::Jetstream => "jetstream",
        }
    }
}

/// A credential. Its `Debug` says only that there is one, so a source logged whole leaks nothing.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "<none>" } else { "<redacted>" })
    }
}

/// One configured source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceConfig {
    /// Assigned by the store (`src-<n>`); names the checkpoint file.
    pub id: String,
    /// Unique within the tenant.
    pub name: String,
    /// What it reads.
    pub kind: Kind,
    /// Feed address or API base address.
    pub url: String,
    /// Hashtag or search words.
    #[serde(default)]
    pub query: String,
    /// Reddit: the subreddit.
    #[serde(default)]
    pub subreddit: String,
    /// Time between polls, in ms.
    pub poll_interval_ms: u64,
    /// Stored credential (Mastodon token, Reddit client secret).
    #[serde(default)]
    pub secret: Secret,
    /// Or the environment variable that holds it.
    #[serde(default)]
    pub secret_env: String,
    /// Reddit: the OAuth client id.
    #[serde(default)]
    pub client_id: String,
    /// Reddit: the token endpoint.
    #[serde(default)]
    pub token_url: String,
    /// Paused sources are not polled.
    #[serde(default)]
    pub paused: bool,
    /// Creation time, Unix seconds.
    pub created: i64,
}

impl SourceConfig {
    /// Time between polls.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// The credential: the stored one, or the named environment variable's (read at each use, so a
    /// rotated Kubernetes Secret is picked up on restart of the poller).
    pub fn secret(&self) -> Option<Secret> {
        if !self.secret.0.is_empty() {
            return Some(self.secret.clone());
        }
        if self.secret_env.is_empty() {
            return None;
        }
        std::env::var(&self.secret_env).ok().filter(|s| !s.is_empty()).map(Secret)
    }
}

#[derive(Default, Serialize, Deserialize)]
struct SourceFile {
    next_id: u64,
    tenants: BTreeMap<String, Vec<SourceConfig>>,
}

/// Every tenant's sources, persisted.
pub struct SourceStore {
    path: PathBuf,
    data: Mutex<SourceFile>,
}

fn matches(s: &SourceConfig, key: &str) -> bool {
    s.id == key || s.name.eq_ignore_ascii_case(key.trim())
}

impl SourceStore {
    /// Opens (or starts) the store at `path`.
    pub fn open(path: &Path) -> Result<SourceStore, SourceError> {
        let storage = |e: String| SourceError::Storage(format!("{}: {e}", path.display()));
        let data = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| storage(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SourceFile::default(),
            Err(e) => return Err(storage(e.to_string())),
        };
        Ok(SourceStore { path: path.to_path_buf(), data: Mutex::new(data) })
    }

    fn persist(&self, data: &SourceFile) -> Result<(), SourceError> {
        let bytes = serde_json::to_vec_pretty(data).map_err(|e| SourceError::Storage(e.to_string()))?;
        crate::files::write_atomic(&self.path, &bytes)
            .map_err(|e| SourceError::Storage(format!("{}: {e}", self.path.display())))
    }

    /// Adds a checked source for `tenant`; its id is assigned here.
    pub fn add(&self, tenant: &str, mut source: SourceConfig) -> Result<SourceConfig, SourceError> {
        let mut data = self.data.lock();
        let list = data.tenants.get(tenant);
        if list.is_some_and(|l| l.iter().any(|s| s.name.eq_ignore_ascii_case(&source.name))) {
            return Err(SourceError::AlreadyExists(source.name));
        }
        data.next_id += 1;
        source.id = format!("src-{}", data.next_id);
        data.tenants.entry(tenant.to_owned()).or_default().push(source.clone());
        if let Err(e) = self.persist(&data) {
            data.tenants.entry(tenant.to_owned()).or_default().retain(|s| s.id != source.id);
            return Err(e);
        }
        Ok(source)
    }

    /// The tenant's sources, in the order they were added.
    pub fn list(&self, tenant: &str) -> Vec<SourceConfig> {
        self.data.lock().tenants.get(tenant).cloned().unwrap_or_default()
    }

    /// Every source of every tenant (what to run on start).
    pub fn all(&self) -> Vec<(String, SourceConfig)> {
        let data = self.data.lock();
        data.tenants.iter().flat_map(|(t, l)| l.iter().map(move |s| (t.clone(), s.clone()))).collect()
    }

    /// Sets the `paused` flag of a source (by id or name) and returns it.
    pub fn set_paused(&self, tenant: &str, key: &str, paused: bool) -> Result<SourceConfig, SourceError> {
        let mut data = self.data.lock();
        let found = data.tenants.get_mut(tenant).and_then(|l| l.iter_mut().find(|s| matches(s, key)));
        let Some(source) = found else { return Err(SourceError::NotFound(key.to_owned())) };
        let before = source.paused;
        source.paused = paused;
        let updated = source.clone();
        if before != paused {
            self.persist(&data)?;
        }
        Ok(updated)
    }

    /// Removes a source (by id or name); returns it, or `None` when there was none.
    pub fn remove(&self, tenant: &str, key: &str) -> Result<Option<SourceConfig>, SourceError> {
        let mut data = self.data.lock();
        let Some(list) = data.tenants.get_mut(tenant) else { return Ok(None) };
        let Some(at) = list.iter().position(|s| matches(s, key)) else { return Ok(None) };
        let removed = list.remove(at);
        self.persist(&data)?;
        Ok(Some(removed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str) -> SourceConfig {
        SourceConfig {
            id: String::new(),
            name: name.into(),
            kind: Kind::Mastodon,
            url: "https://mastodon.example".into(),
            query: "rust".into(),
            subreddit: String::new(),
            poll_interval_ms: 1000,
            secret: Secret("token-123".into()),
            secret_env: String::new(),
            client_id: String::new(),
            token_url: String::new(),
            paused: false,
            created: 1,
        }
    }

    #[test]
    fn sources_persist_per_tenant_with_private_secrets() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sources.json");
        let store = SourceStore::open(&path).expect("open");
        let a = store.add("t1", source("Rust")).expect("add");
        assert!(matches!(store.add("t1", source("rust")), Err(SourceError::AlreadyExists(_))));
        store.add("t2", source("rust")).expect("another tenant may use the name");
        store.set_paused("t1", "RUST", true).expect("pause by name");
        assert!(matches!(store.set_paused("t2", &a.id, true), Err(SourceError::NotFound(_))), "ids are per tenant");
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        assert!(!format!("{:?}", store.all()).contains("token-123"), "Debug redacts the secret");

        let reopened = SourceStore::open(&path).expect("reopen");
        let list = reopened.list("t1");
        assert_eq!((list.len(), list[0].paused, list[0].secret.0.as_str()), (1, true, "token-123"));
        assert_eq!(reopened.remove("t1", &a.id).expect("remove").map(|s| s.name), Some("Rust".into()));
        assert_eq!(reopened.remove("t1", &a.id).expect("remove"), None);
        assert_eq!(reopened.all().len(), 1);
    }
}
