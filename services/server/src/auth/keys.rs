//! The key store: `keys.json` in the data folder holds every API key (hashed), its tenant and roles,
//! and per-tenant settings.
//!
//! A key is `esk_<id>_<secret>`: `id` (12 hex digits) is public and names the key in lists, logs and
//! the audit trail; `secret` is 32 random bytes (64 hex digits) shown once, at creation. The store keeps
//! only SHA-256 of the secret: the secret has 256 bits of entropy, so a slow password hash would add
//! nothing, and a lookup costs one hash. Hashes are compared in constant time.
//!
//! The CLI edits the file (under a lock file, written to a temp file, fsynced and renamed, as
//! `topics.json` is). The server only reads it: [`KeyRegistry`] checks the file's identity (inode,
//! length, modification time) on every authentication and re-reads it when it changed, and at least
//! every [`RELOAD_EVERY`], so a revocation applies to the next call without a restart.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Identity, Role};
use crate::ingest::validate::validate_tenant;

/// File name of the store in the data folder.
pub const KEYS_FILE: &str = "keys.json";
/// Prefix of every key.
pub const KEY_PREFIX: &str = "esk_";
/// Longest time the server trusts its copy of the store without re-reading it.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);
/// How long the CLI waits for another `earshot keys` command to finish.
const LOCK_PATIENCE: Duration = Duration::from_secs(10);

/// Errors of the key store.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// A field is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No key with that id.
    #[error("no key {0:?}")]
    NotFound(String),
    /// The file could not be read or written.
    #[error("key store {path}: {reason}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// Why a call was not authenticated. Every variant maps to `UNAUTHENTICATED`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `authorization: Bearer …` or `x-api-key` metadata.
    #[error("missing API key: send `authorization: Bearer <key>` or `x-api-key: <key>`")]
    Missing,
    /// Not of the form `esk_<id>_<secret>`, unknown id, or wrong secret.
    #[error("invalid API key")]
    Invalid,
    /// The key was revoked.
    #[error("API key {0} has been revoked")]
    Revoked(String),
}

/// Settings of one tenant; `None` means "the server's default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSettings {
    /// Delete mentions created more than this many days ago (0: keep forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Replace e-mail addresses and phone numbers in texts at ingest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redact_pii: Option<bool>,
    /// The incident signal's problem words and phrases for this tenant, instead of the defaults of
    /// every language (a request's own `problem_terms` still come first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_terms: Option<Vec<String>>,
}

/// One key as stored (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Public id.
    pub id: String,
    /// Free-form label.
    #[serde(default)]
    pub name: String,
    /// The tenant the key acts for.
    pub tenant: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// Hex SHA-256 of the secret.
    pub sha256: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Revocation time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<i64>,
}

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyFile {
    /// Every key, revoked ones included (for the record).
    #[serde(default)]
    pub keys: Vec<StoredKey>,
    /// Per-tenant settings.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantSettings>,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Splits `esk_<id>_<secret>`.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.trim().strip_prefix(KEY_PREFIX)?.split_once('_')?;
    let hex_of = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of(id, 12) && hex_of(secret, 64)).then_some((id, secret))
}

/// Edits and reads `keys.json` (the CLI's side).
#[derive(Debug, Clone)]
pub struct KeyStore {
    path: PathBuf,
}

/// Holds the lock file while the store is edited; removes it when dropped.
struct EditLock(PathBuf);

impl Drop for EditLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl KeyStore {
    /// The store of a data folder.
    pub fn in_data_dir(data_dir: &Path) -> KeyStore {
        KeyStore { path: data_dir.join(KEYS_FILE) }
    }

    /// The store in a file of its own (e.g. a Kubernetes Secret every replica mounts read-only).
    pub fn at(path: PathBuf) -> KeyStore {
        KeyStore { path }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn storage_error(&self, reason: impl ToString) -> KeyStoreError {
        KeyStoreError::Storage { path: self.path.clone(), reason: reason.to_string() }
    }

    /// Reads the file; a missing file is an empty store.
    pub fn load(&self) -> Result<KeyFile, KeyStoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| self.storage_error(e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyFile::default()),
            Err(e) => Err(self.storage_error(e)),
        }
    }

    fn lock(&self) -> Result<EditLock, KeyStoreError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.storage_error(e))?;
        }
        let lock = self.path.with_extension("json.lock");
        let give_up = Instant::now() + LOCK_PATIENCE;
        loop {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(_) => return Ok(EditLock(lock)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && Instant::now() < give_up => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(self.storage_error(format!(
                        "cannot take {} ({e}); if no other `earshot keys` command runs, delete it",
                        lock.display()
                    )))
                }
            }
        }
    }

    fn persist(&self, file: &KeyFile) -> Result<(), KeyStoreError> {
        let bytes = serde_json::to_vec_pretty(file).map_err(|e| self.storage_error(e))?;
        crate::files::write_atomic(&self.path, &bytes).map_err(|e| self.storage_error(e))
    }

    /// Loads, changes and saves the file under the lock. Blocking.
    fn edit<R>(&self, f: impl FnOnce(&mut KeyFile) -> Result<R, KeyStoreError>) -> Result<R, KeyStoreError> {
        let _lock = self.lock()?;
        let mut file = self.load()?;
        let result = f(&mut file)?;
        self.persist(&file)?;
        Ok(result)
    }

    /// Creates a key; returns it as stored and the full key (`esk_<id>_<secret>`), which is shown only now.
    pub fn create(&self, tenant: &str, roles: &[Role], name: &str) -> Result<(StoredKey, String), KeyStoreError> {
        validate_tenant(tenant).map_err(|reason| KeyStoreError::InvalidArgument { field: "tenant", reason })?;
        if roles.is_empty() {
            return Err(KeyStoreError::InvalidArgument { field: "role", reason: "give at least one role".into() });
        }
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let mut rng = rand::rng();
        let mut id = [0u8; 6];
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut id);
        rng.fill_bytes(&mut secret);
        let (id, secret) = (hex::encode(id), hex::encode(secret));
        let key = StoredKey {
            id: id.clone(),
            name: name.to_owned(),
            tenant: tenant.to_owned(),
            roles,
            sha256: hex::encode(digest(&secret)),
            created: now(),
            revoked: None,
        };
        self.edit(|file| {
            file.keys.push(key.clone());
            Ok(())
        })?;
        Ok((key, format!("{KEY_PREFIX}{id}_{secret}")))
    }

    /// Every key (of one tenant, if given), oldest first.
    pub fn list(&self, tenant: Option<&str>) -> Result<Vec<StoredKey>, KeyStoreError> {
        let file = self.load()?;
        Ok(file.keys.into_iter().filter(|k| tenant.is_none_or(|t| k.tenant == t)).collect())
    }

    /// Revokes a key by id; revoking twice keeps the first time.
    pub fn revoke(&self, id: &str) -> Result<StoredKey, KeyStoreError> {
        self.edit(|file| {
            let key =
                file.keys.iter_mut().find(|k| k.id == id).ok_or_else(|| KeyStoreError::NotFound(id.to_owned()))?;
            key.revoked.get_or_insert_with(now);
            Ok(key.clone())
        })
    }

    /// Changes a tenant's settings: `Some` fields replace, `None` fields stay.
    pub fn set_tenant(&self, tenant: &str, change: TenantSettings) -> Result<TenantSettings, KeyStoreError> {
        validate_tenant(tenant).map_err(|reason| KeyStoreError::InvalidArgument { field: "tenant", reason })?;
        self.edit(|file| {
            let settings = file.tenants.entry(tenant.to_owned()).or_default();
            if change.retention_days.is_some() {
                settings.retention_days = change.retention_days;
            }
            if change.redact_pii.is_some() {
                settings.redact_pii = change.redact_pii;
            }
            if change.problem_terms.is_some() {
                settings.problem_terms = change.problem_terms.filter(|t| !t.is_empty());
            }
            Ok(settings.clone())
        })
    }
}

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp_of(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp { inode, len: meta.len(), modified: meta.modified().ok() })
}

struct Loaded {
    stamp: Option<Stamp>,
    read_at: Instant,
    by_id: HashMap<String, StoredKey>,
    tenants: BTreeMap<String, TenantSettings>,
}

/// The server's read-only view of the store, re-read when the file changes.
pub struct KeyRegistry {
    store: KeyStore,
    loaded: RwLock<Loaded>,
}

impl KeyRegistry {
    /// Opens the registry; fails when the file exists but cannot be read.
    pub fn open(store: KeyStore) -> Result<KeyRegistry, KeyStoreError> {
        let stamp = stamp_of(store.path());
        let file = store.load()?;
        let loaded = Loaded {
            stamp,
            read_at: Instant::now(),
            by_id: file.keys.into_iter().map(|k| (k.id.clone(), k)).collect(),
            tenants: file.tenants,
        };
        Ok(KeyRegistry { store, loaded: RwLock::new(loaded) })
    }

    /// Re-reads the file if it changed. A file that cannot be read keeps the last good copy (logged):
    /// writes are atomic renames, so this is an operator's edit gone wrong, not a half-written file.
    fn refresh(&self) {
        let stamp = stamp_of(self.store.path());
        {
            let loaded = self.loaded.read();
            if loaded.stamp == stamp && loaded.read_at.elapsed() < RELOAD_EVERY {
                return;
            }
        }
        let mut loaded = self.loaded.write();
        match self.store.load() {
            Ok(file) => {
                loaded.by_id = file.keys.into_iter().map(|k| (k.id.clone(), k)).collect();
                loaded.tenants = file.tenants;
            }
            Err(e) => tracing::error!(error = %e, "cannot re-read the key store; keeping the last good copy"),
        }
        loaded.stamp = stamp;
        loaded.read_at = Instant::now();
    }

    /// Checks a presented key.
    pub fn authenticate(&self, token: &str) -> Result<Identity, AuthError> {
        let (id, secret) = parse_token(token).ok_or(AuthError::Invalid)?;
        self.refresh();
        let loaded = self.loaded.read();
        let key = loaded.by_id.get(id).ok_or(AuthError::Invalid)?;
        let stored = hex::decode(&key.sha256).map_err(|_| AuthError::Invalid)?;
        if !bool::from(stored.as_slice().ct_eq(&digest(secret))) {
            return Err(AuthError::Invalid);
        }
        if key.revoked.is_some() {
            return Err(AuthError::Revoked(key.id.clone()));
        }
        Ok(Identity { key_id: key.id.clone(), tenant: key.tenant.clone(), roles: key.roles.clone() })
    }

    /// Every tenant with settings of its own.
    pub fn tenant_settings(&self) -> BTreeMap<String, TenantSettings> {
        self.refresh();
        self.loaded.read().tenants.clone()
    }

    /// One tenant's settings (defaults when it has none).
    pub fn settings_of(&self, tenant: &str) -> TenantSettings {
        self.refresh();
        self.loaded.read().tenants.get(tenant).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_authenticate_until_revoked_and_never_store_the_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = KeyStore::in_data_dir(dir.path());
        let registry = KeyRegistry::open(store.clone()).expect("open empty");
        let (key, token) = store.create("acme", &[Role::Cmo, Role::Analyst, Role::Cmo], "dashboards").expect("create");
        assert_eq!(key.roles, vec![Role::Analyst, Role::Cmo]);
        let on_disk = std::fs::read_to_string(store.path()).expect("read");
        let secret = token.rsplit('_').next().expect("secret");
        assert!(!on_disk.contains(secret), "the secret must not be stored");

        let who = registry.authenticate(&token).expect("valid key");
        assert_eq!((who.key_id.as_str(), who.tenant.as_str()), (key.id.as_str(), "acme"));
        // Same id, one secret digit changed.
        let last = token.chars().last().expect("last");
        let wrong = format!("{}{}", &token[..token.len() - 1], if last == '0' { '1' } else { '0' });
        assert_eq!(registry.authenticate(&wrong), Err(AuthError::Invalid));
        assert_eq!(registry.authenticate("esk_nothex"), Err(AuthError::Invalid));
        assert_eq!(registry.authenticate(""), Err(AuthError::Invalid));

        store.revoke(&key.id).expect("revoke");
        assert_eq!(registry.authenticate(&token), Err(AuthError::Revoked(key.id.clone())));
        assert!(matches!(store.revoke("000000000000"), Err(KeyStoreError::NotFound(_))));
        assert!(matches!(store.create("Bad Tenant", &[Role::Admin], ""), Err(KeyStoreError::InvalidArgument { .. })));
        assert!(matches!(store.create("acme", &[], ""), Err(KeyStoreError::InvalidArgument { .. })));
        assert_eq!(store.list(Some("acme")).expect("list").len(), 1);
        assert!(store.list(Some("other")).expect("list").is_empty());
    }

    #[test]
    fn tenant_settings_merge_and_reach_the_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = KeyStore::in_data_dir(dir.path());
        let registry = KeyRegistry::open(store.clone()).expect("open");
        store.set_tenant("acme", TenantSettings { retention_days: Some(30), ..Default::default() }).expect("set");
        let merged =
            store.set_tenant("acme", TenantSettings { redact_pii: Some(true), ..Default::default() }).expect("set");
        assert_eq!(merged, TenantSettings { retention_days: Some(30), redact_pii: Some(true), problem_terms: None });
        assert_eq!(registry.settings_of("acme"), merged);
        let terms = Some(vec!["störung".to_owned(), "geht nicht".to_owned()]);
        let with_terms = store
            .set_tenant("acme", TenantSettings { problem_terms: terms.clone(), ..Default::default() })
            .expect("set");
        assert_eq!((with_terms.retention_days, with_terms.problem_terms), (Some(30), terms));
        let cleared = store.set_tenant("acme", TenantSettings { problem_terms: Some(vec![]), ..Default::default() });
        assert_eq!(cleared.expect("set").problem_terms, None, "an empty list goes back to the defaults");
        assert_eq!(registry.settings_of("other"), TenantSettings::default());
    }
}
