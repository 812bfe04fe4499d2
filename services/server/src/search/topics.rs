//! Saved topics ("monitors"): Boolean queries with a name, per tenant, validated on save and kept in
//! `topics.json` in the data folder (written to a temp file, fsynced, then renamed over the old one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use earshot_indexer::query::{validate_with_topics, QueryProblem, TopicResolver};
use earshot_proto::v1::Topic;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Errors of the topic domain.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// No topic with that id or name.
    #[error("no topic {0:?}")]
    NotFound(String),
    /// Another topic of the tenant has that name.
    #[error("a topic named {0:?} already exists")]
    AlreadyExists(String),
    /// A field is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// Field name.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The query has problems.
    #[error("invalid query: {}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    InvalidQuery(Vec<QueryProblem>),
    /// The topics file could not be written.
    #[error("topic storage: {0}")]
    Storage(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredTopic {
    id: String,
    name: String,
    query: String,
    description: String,
    created: i64,
    updated: i64,
}

#[derive(Default, Serialize, Deserialize)]
struct TopicFile {
    next_id: u64,
    tenants: BTreeMap<String, Vec<StoredTopic>>,
}

/// Every tenant's topics, persisted.
pub struct TopicStore {
    path: PathBuf,
    data: Mutex<TopicFile>,
}

/// One tenant's topics, for expanding `topic:"Name"` in queries.
pub struct TenantTopics(Vec<(String, String)>);

impl TopicResolver for TenantTopics {
    fn topic_query(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, q)| q.clone())
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn to_proto(t: &StoredTopic) -> Topic {
    let ts = |s: i64| Some(prost_types::Timestamp { seconds: s, nanos: 0 });
    Topic {
        id: t.id.clone(),
        name: t.name.clone(),
        query: t.query.clone(),
        description: t.description.clone(),
        created_at: ts(t.created),
        updated_at: ts(t.updated),
    }
}

fn check_name(name: &str) -> Result<String, TopicError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.contains('"') {
        return Err(TopicError::InvalidArgument {
            field: "name",
            reason: "must be 1 to 200 characters, without double quotes".into(),
        });
    }
    Ok(name.to_owned())
}

fn matches(t: &StoredTopic, key: &str) -> bool {
    t.id == key || t.name.eq_ignore_ascii_case(key.trim())
}

impl TopicStore {
    /// Opens (or starts) the store at `path`.
    pub fn open(path: &Path) -> Result<TopicStore, TopicError> {
        let data = match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| TopicError::Storage(format!("{}: {e}", path.display())))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TopicFile::default(),
            Err(e) => return Err(TopicError::Storage(format!("{}: {e}", path.display()))),
        };
        Ok(TopicStore { path: path.to_path_buf(), data: Mutex::new(data) })
    }

    fn persist(&self, data: &TopicFile) -> Result<(), TopicError> {
        let err = |e: std::io::Error| TopicError::Storage(format!("{}: {e}", self.path.display()));
        let bytes = serde_json::to_vec_pretty(data).map_err(|e| TopicError::Storage(e.to_string()))?;
        crate::files::write_atomic(&self.path, &bytes).map_err(err)
    }

    /// The tenant's topics as a resolver.
    pub fn resolver(&self, tenant: &str) -> TenantTopics {
        let data = self.data.lock();
        let list = data.tenants.get(tenant).map(|ts| ts.iter().map(|t| (t.name.clone(), t.query.clone())).collect());
        TenantTopics(list.unwrap_or_default())
    }

    /// A hash of the tenant's topic names and queries: moves whenever one is created, changed or
    /// deleted (cached results computed through a topic key on it).
    pub fn fingerprint(&self, tenant: &str) -> u64 {
        let data = self.data.lock();
        let mut text = String::new();
        for t in data.tenants.get(tenant).into_iter().flatten() {
            for part in [&t.id, &t.name, &t.query] {
                text.push_str(part);
                text.push('\u{1f}');
            }
        }
        xxhash_rust::xxh3::xxh3_64(text.as_bytes())
    }

    /// The query of a topic (by id or name).
    pub fn query_of(&self, tenant: &str, key: &str) -> Result<String, TopicError> {
        self.get(tenant, key).map(|t| t.query)
    }

    fn check_query(&self, tenant: &str, name: &str, query: &str, replacing: Option<&str>) -> Result<(), TopicError> {
        if query.trim().is_empty() {
            return Err(TopicError::InvalidArgument { field: "query", reason: "is required".into() });
        }
        // Validate as if saved, so that a topic that includes itself is caught as a loop.
        let mut topics = self.resolver(tenant).0;
        topics.retain(|(n, _)| !replacing.is_some_and(|r| n.eq_ignore_ascii_case(r)));
        topics.push((name.to_owned(), query.to_owned()));
        let problems = validate_with_topics(query, &TenantTopics(topics));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TopicError::InvalidQuery(problems))
        }
    }

    /// Saves a new topic.
    pub fn create(&self, tenant: &str, name: &str, query: &str, description: &str) -> Result<Topic, TopicError> {
        let name = check_name(name)?;
        self.check_query(tenant, &name, query, None)?;
        let mut data = self.data.lock();
        if data.tenants.get(tenant).is_some_and(|ts| ts.iter().any(|t| t.name.eq_ignore_ascii_case(&name))) {
            return Err(TopicError::AlreadyExists(name));
        }
        data.next_id += 1;
        let t = now();
        let topic = StoredTopic {
            id: format!("t{}", data.next_id),
            name,
            query: query.trim().to_owned(),
            description: description.to_owned(),
            created: t,
            updated: t,
        };
        data.tenants.entry(tenant.to_owned()).or_default().push(topic.clone());
        self.persist(&data)?;
        Ok(to_proto(&topic))
    }

    /// A topic by id or name.
    pub fn get(&self, tenant: &str, key: &str) -> Result<Topic, TopicError> {
        let data = self.data.lock();
        data.tenants
            .get(tenant)
            .and_then(|ts| ts.iter().find(|t| matches(t, key)))
            .map(to_proto)
            .ok_or_else(|| TopicError::NotFound(key.to_owned()))
    }

    /// Every topic of the tenant, by name.
    pub fn list(&self, tenant: &str) -> Vec<Topic> {
        let data = self.data.lock();
        let mut topics: Vec<Topic> =
            data.tenants.get(tenant).map(|ts| ts.iter().map(to_proto).collect()).unwrap_or_default();
        topics.sort_by_key(|t| t.name.to_lowercase());
        topics
    }

    /// Changes the non-empty fields of a topic.
    pub fn update(
        &self,
        tenant: &str,
        key: &str,
        name: &str,
        query: &str,
        description: &str,
    ) -> Result<Topic, TopicError> {
        let current = self.get(tenant, key)?;
        let new_name = if name.trim().is_empty() { current.name.clone() } else { check_name(name)? };
        let new_query = if query.trim().is_empty() { current.query.clone() } else { query.trim().to_owned() };
        self.check_query(tenant, &new_name, &new_query, Some(&current.name))?;
        let mut data = self.data.lock();
        let topics = data.tenants.entry(tenant.to_owned()).or_default();
        if topics.iter().any(|t| t.id != current.id && t.name.eq_ignore_ascii_case(&new_name)) {
            return Err(TopicError::AlreadyExists(new_name));
        }
        let topic =
            topics.iter_mut().find(|t| t.id == current.id).ok_or_else(|| TopicError::NotFound(key.to_owned()))?;
        topic.name = new_name;
        topic.query = new_query;
        if !description.is_empty() {
            topic.description = description.to_owned();
        }
        topic.updated = now();
        let updated = to_proto(topic);
        self.persist(&data)?;
        Ok(updated)
    }

    /// Deletes a topic; false when there was none.
    pub fn delete(&self, tenant: &str, key: &str) -> Result<bool, TopicError> {
        let mut data = self.data.lock();
        let Some(topics) = data.tenants.get_mut(tenant) else { return Ok(false) };
        let before = topics.len();
        topics.retain(|t| !matches(t, key));
        let deleted = topics.len() != before;
        if deleted {
            self.persist(&data)?;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_persist_validate_and_stay_per_tenant() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("topics.json");
        let store = TopicStore::open(&path).expect("open");
        let t = store.create("a", "Outages", "outage OR down", "").expect("create");
        assert!(matches!(store.create("a", "outages", "x", ""), Err(TopicError::AlreadyExists(_))));
        assert!(matches!(store.create("a", "Bad", "a AND b OR c", ""), Err(TopicError::InvalidQuery(_))));
        assert!(matches!(store.create("a", "Loop", "topic:\"Loop\"", ""), Err(TopicError::InvalidQuery(_))));
        store.create("a", "Acme outages", "acme AND topic:\"Outages\"", "").expect("nested topic");
        assert!(store.get("b", &t.id).is_err(), "other tenants cannot see it");
        let reopened = TopicStore::open(&path).expect("reopen");
        assert_eq!(reopened.list("a").len(), 2);
        assert_eq!(reopened.resolver("a").topic_query("OUTAGES").as_deref(), Some("outage OR down"));
        reopened.update("a", "Outages", "", "outage OR down OR offline", "").expect("update");
        assert!(reopened.delete("a", &t.id).expect("delete"));
        assert!(!reopened.delete("a", &t.id).expect("delete again"));
    }
}
