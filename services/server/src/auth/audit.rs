//! The audit trail: who (key id, tenant) called what (method, query or topic, result count, status
//! code) and when, one JSON object per line in `audit/audit.jsonl` under the data folder, and the same
//! record as a `tracing` event with target `earshot::audit`.
//!
//! The gate layer writes the line before the response leaves, so a caller that got an answer can
//! already find its call in the file. Lines go to the OS (no fsync: the trail is evidence, not the
//! data the durability promise covers). The file is rotated at [`AuditOptions::max_bytes`]: `audit.jsonl`
//! becomes `audit.1.jsonl`, older ones shift up, and at most [`AuditOptions::keep`] old files stay.
//!
//! Handlers add what only they know (query text, topic, result count) through an [`AuditNote`] the layer
//! puts into the request's extensions.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;

/// Where and how much to keep.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The folder (`<data dir>/audit`).
    pub dir: PathBuf,
    /// Rotate once the current file is this large.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub keep: usize,
}

impl AuditOptions {
    /// Defaults under a data folder: 64 MiB files, 8 kept.
    pub fn in_data_dir(data_dir: &Path) -> AuditOptions {
        AuditOptions { dir: data_dir.join("audit"), max_bytes: 64 << 20, keep: 8 }
    }
}

/// What a handler adds to its call's audit record.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AuditDetails {
    /// Query text, when the call ran one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Saved topic, when the call used one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Results returned, counted or affected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<u64>,
    /// The subject of a governance call (e.g. the erased author).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// A slot in the request's extensions where the handler notes [`AuditDetails`].
#[derive(Debug, Clone, Default)]
pub struct AuditNote(Arc<Mutex<AuditDetails>>);

impl AuditNote {
    /// The note of a request (a detached one when the request has none, e.g. in unit tests).
    pub fn of<T>(request: &tonic::Request<T>) -> AuditNote {
        request.extensions().get::<AuditNote>().cloned().unwrap_or_default()
    }

    /// Changes the details.
    pub fn set(&self, f: impl FnOnce(&mut AuditDetails)) {
        f(&mut self.0.lock());
    }

    /// Records the query and topic of a call (empty strings are left out). A long query is kept as a
    /// bounded prefix plus its length and digest: the trail must say what was asked, not copy megabytes.
    pub fn query(&self, query: &str, topic: &str) {
        self.set(|d| {
            d.query = (!query.is_empty()).then(|| earshot_indexer::query::query_digest(query));
            d.topic = (!topic.is_empty()).then(|| earshot_indexer::query::query_digest(topic));
        });
    }

    /// Records the number of results.
    pub fn results(&self, n: u64) {
        self.set(|d| d.results = Some(n));
    }

    pub(crate) fn take(&self) -> AuditDetails {
        std::mem::take(&mut self.0.lock())
    }
}

/// One line of the trail.
#[derive(Debug, Serialize)]
pub struct AuditRecord<'a> {
    /// Unix milliseconds when the response was ready.
    pub ts_ms: u64,
    /// Public id of the key (`anonymous` with auth off, empty when unauthenticated).
    pub key_id: &'a str,
    /// Tenant acted for (empty when unauthenticated).
    pub tenant: &'a str,
    /// Full gRPC path.
    pub method: &'a str,
    /// Status code name (`Ok`, `PermissionDenied`, …).
    pub code: &'a str,
    /// Handling time in milliseconds.
    pub duration_ms: f64,
    /// What the handler noted.
    #[serde(flatten)]
    pub details: AuditDetails,
}

struct Current {
    file: Option<File>,
    len: u64,
}

/// The trail's writer.
pub struct AuditLog {
    options: AuditOptions,
    current: Mutex<Current>,
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl AuditLog {
    /// Opens (creating the folder) the trail.
    pub fn open(options: AuditOptions) -> std::io::Result<AuditLog> {
        std::fs::create_dir_all(&options.dir)?;
        let file = crate::files::open_append(&options.dir.join("audit.jsonl"))?;
        let len = file.metadata()?.len();
        Ok(AuditLog { options, current: Mutex::new(Current { file: Some(file), len }) })
    }

    /// The current file.
    pub fn path(&self) -> PathBuf {
        self.options.dir.join("audit.jsonl")
    }

    fn rotated(&self, n: usize) -> PathBuf {
        self.options.dir.join(format!("audit.{n}.jsonl"))
    }

    fn rotate(&self, current: &mut Current) -> std::io::Result<()> {
        current.file = None;
        let _ = std::fs::remove_file(self.rotated(self.options.keep.max(1)));
        for n in (1..self.options.keep.max(1)).rev() {
            let from = self.rotated(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        std::fs::rename(self.path(), self.rotated(1))?;
        current.file = Some(crate::files::open_append(&self.path())?);
        current.len = 0;
        Ok(())
    }

    /// Appends one record (and emits it as a tracing event). Failures are counted and logged, never
    /// fail the call.
    pub fn write(&self, record: &AuditRecord<'_>) {
        tracing::info!(
            target: "earshot::audit",
            key_id = record.key_id,
            tenant = record.tenant,
            method = record.method,
            code = record.code,
            query = record.details.query.as_deref(),
            topic = record.details.topic.as_deref(),
            results = record.details.results,
            subject = record.details.subject.as_deref(),
            "call"
        );
        let mut line = match serde_json::to_vec(record) {
            Ok(l) => l,
            Err(e) => return self.failed(&e.to_string()),
        };
        line.push(b'\n');
        let mut current = self.current.lock();
        if current.len > 0 && current.len + line.len() as u64 > self.options.max_bytes {
            if let Err(e) = self.rotate(&mut current) {
                return self.failed(&e.to_string());
            }
        }
        let Some(file) = current.file.as_mut() else { return self.failed("audit file is not open") };
        match file.write_all(&line) {
            Ok(()) => current.len += line.len() as u64,
            Err(e) => self.failed(&e.to_string()),
        }
    }

    fn failed(&self, why: &str) {
        crate::metrics::global().audit_errors.inc();
        tracing::error!(why, "audit line not written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u64) -> AuditRecord<'static> {
        AuditRecord {
            ts_ms: n,
            key_id: "k1",
            tenant: "acme",
            method: "/earshot.v1.SearchService/Search",
            code: "Ok",
            duration_ms: 1.5,
            details: AuditDetails { query: Some("acme AND \"down\"".into()), results: Some(n), ..Default::default() },
        }
    }

    #[test]
    fn lines_are_json_and_files_rotate_within_bounds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = AuditOptions { dir: dir.path().join("audit"), max_bytes: 400, keep: 2 };
        let log = AuditLog::open(options).expect("open");
        for n in 0..20 {
            log.write(&record(n));
        }
        let current = std::fs::read_to_string(log.path()).expect("read");
        let last: serde_json::Value = serde_json::from_str(current.lines().last().expect("a line")).expect("json line");
        assert_eq!(last["results"], 19);
        assert_eq!(last["query"], "acme AND \"down\"");
        assert_eq!(last["tenant"], "acme");
        assert!(last.get("topic").is_none());
        let files = std::fs::read_dir(dir.path().join("audit")).expect("list").count();
        assert_eq!(files, 3, "current + 2 rotated");
        assert!(current.len() <= 400);
    }
}
