//! Governance on real storage (log, index, labelling stage) in a temp dir: replay honours control
//! records, retention applies per-tenant rules at an explicit "now", erasure tells the hooks.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use earshot_indexer::doc::{key_hash, mention_key};
use earshot_indexer::IndexCommand;
use earshot_proto::v1::{Author, Mention};
use earshot_wal::{Wal, WalOptions};
use parking_lot::Mutex;
use prost::Message;
use tantivy::query::AllQuery;

use super::retention::RetentionPolicy;
use super::{Deletion, DeletionHook, Governance};
use crate::ingest::records::{encode, Control};
use crate::ingest::{Backlog, Ingestor, LocalQueue, WAIT_SEARCHABLE_LIMIT};
use crate::storage::{Storage, StorageOptions};

const DAY: i64 = 86_400;

fn config(dir: &Path) -> StorageOptions {
    StorageOptions {
        data_dir: dir.to_path_buf(),
        commit_interval: Duration::from_millis(50),
        index_memory_bytes: 64 << 20,
        index_threads: 1,
        wal_salvage: false,
        commit_max_docs: 200_000,
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn mention(tenant: &str, id: &str, handle: &str, created: i64) -> Mention {
    Mention {
        tenant: tenant.into(),
        id: id.into(),
        text: format!("text of {id}"),
        language: "en".into(),
        created_at: Some(prost_types::Timestamp { seconds: created, nanos: 0 }),
        author: Some(Author { handle: handle.into(), ..Default::default() }),
        ..Default::default()
    }
}

fn indexed(storage: &Storage) -> Vec<String> {
    storage.indexer.keys_matching(&AllQuery).expect("keys")
}

/// Commits until the index covers log position `position` (the replay travels through the labelling
/// stage, so one commit may come too early).
fn wait_committed(storage: &Storage, position: u64) {
    for _ in 0..10_000 {
        if storage.committed.borrow().is_some_and(|c| c >= position) {
            return;
        }
        storage.indexer.commit().expect("commit");
    }
    panic!("the index never reached position {position}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_skips_what_control_records_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(&dir.path().join("wal"), WalOptions::default(), |_| {}).expect("wal");
    let now = now_secs();
    let records = |ms: Vec<Mention>| ms.into_iter().map(|m| m.encode_to_vec()).collect::<Vec<_>>();
    wal.append(records(vec![
        mention("a", "1", "Bob", now),
        mention("a", "2", "alice", now),
        mention("b", "3", "bob", now),
    ]))
    .await
    .expect("append");
    let erase = Control::EraseAuthor { tenant: "a".into(), author_id: String::new(), author_handle: "bob".into() };
    wal.append(vec![encode(&erase)]).await.expect("append");
    wal.append(vec![encode(&Control::Deleted { keys: vec![mention_key("a", "2")] })]).await.expect("append");
    // Ingested again after its deletion: this one stays.
    let last = wal.append(records(vec![mention("a", "2", "alice", now)])).await.expect("append").expect("position");
    tokio::task::block_in_place(|| wal.close());

    let storage = tokio::task::block_in_place(|| Storage::open(&config(dir.path()), None)).expect("open");
    tokio::task::block_in_place(|| wait_committed(&storage, last));
    assert_eq!(indexed(&storage), vec![mention_key("a", "2"), mention_key("b", "3")]);
    tokio::task::block_in_place(|| storage.close());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_applies_tenant_rules_at_the_given_now() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = tokio::task::block_in_place(|| Storage::open(&config(dir.path()), None)).expect("open");
    let governance = Governance::new(&storage);
    let now = 1_700_000_000;
    let docs = [
        ("a", "a-old", 40),
        ("a", "a-mid", 10),
        ("a", "a-new", 1),
        ("b", "b-old", 40),
        ("b", "b-mid", 10),
        ("c", "c-old", 400),
    ];
    let mentions = docs.iter().map(|(t, id, age)| (mention(t, id, "x", now - age * DAY), String::new())).collect();
    storage.indexer.send(IndexCommand::Add { mentions, last_position: None }).expect("add");
    tokio::task::block_in_place(|| storage.indexer.commit()).expect("commit");
    for (t, id, _) in docs {
        storage.seen.insert(key_hash(&mention_key(t, id)));
    }
    // Default 30 days; b keeps 5 days; c keeps everything (0).
    let overrides = || vec![("b".to_owned(), 5), ("c".to_owned(), 0)];
    let policy = RetentionPolicy { default_days: 30, tenants: Some(Arc::new(overrides)) };

    let deleted = governance.apply_retention(&policy, now).await.expect("retention");
    let expected: std::collections::BTreeMap<String, u64> = [("a".to_owned(), 1), ("b".to_owned(), 2)].into();
    assert_eq!(deleted, expected);
    let left = vec![mention_key("a", "a-mid"), mention_key("a", "a-new"), mention_key("c", "c-old")];
    assert_eq!(tokio::task::block_in_place(|| indexed(&storage)), left);
    assert!(storage.seen.insert(key_hash(&mention_key("a", "a-old"))), "deleted keys are forgotten");
    assert!(!storage.seen.insert(key_hash(&mention_key("a", "a-mid"))), "kept keys are remembered");
    // A second round at the same time finds nothing more.
    assert!(governance.apply_retention(&policy, now).await.expect("again").is_empty());
    tokio::task::block_in_place(|| storage.close());
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl DeletionHook for Recorder {
    fn deleted(&self, deletion: &Deletion<'_>) {
        self.0.lock().extend(deletion.keys.iter().cloned());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_reaches_unindexed_mentions_and_tells_the_hooks() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A commit interval longer than the test: the erasure must not wait for it.
    let slow = StorageOptions { commit_interval: Duration::from_secs(3600), ..config(dir.path()) };
    let storage = tokio::task::block_in_place(|| Storage::open(&slow, None)).expect("open");
    let governance = Governance::new(&storage);
    let recorder = Arc::new(Recorder::default());
    governance.add_hook(recorder.clone());
    let queue = LocalQueue::new(
        storage.wal.clone(),
        storage.seen.clone(),
        storage.committed.clone(),
        WAIT_SEARCHABLE_LIMIT,
        Arc::new(Backlog::new(u64::MAX, storage.committed.clone(), None)),
    );
    let ingestor = Ingestor::new(Arc::new(queue), 100);
    let now = now_secs() - 60;
    let batch = vec![mention("", "1", "@Bob", now), mention("", "2", "alice", now), mention("", "3", "BOB", now)];
    ingestor.ingest("a", batch, false, false).await.expect("ingest");

    let erased = governance.erase_author("a", "", "bob").await.expect("erase");
    assert_eq!(erased.ids, vec!["1", "3"]);
    assert_eq!(*recorder.0.lock(), vec![mention_key("a", "1"), mention_key("a", "3")]);
    assert_eq!(tokio::task::block_in_place(|| indexed(&storage)), vec![mention_key("a", "2")]);
    assert!(governance.erase_author("a", "", "").await.is_err());
    tokio::task::block_in_place(|| storage.close());
}
