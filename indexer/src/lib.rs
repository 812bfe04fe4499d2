//! `earshot-indexer`: the Tantivy side of earshot.
//!
//! # Layout
//! - [`schema`]: fields (fast fields for every insight dimension) and analyzers.
//! - [`doc`]: mention ⇄ document, unique keys.
//! - [`writer`]: the indexing thread, fed by a bounded channel through a preparing thread that builds the
//!   documents; commits on an interval and reports the log position it has made durable.
//! - [`search`]: tenant-scoped search and count over the latest committed searcher; [`newest`] finds its
//!   time-ordered hits, skipping blocks of documents that cannot make the page.
//! - [`segment_cache`]: what is read out of a segment once (author hashes, date bounds) and kept while the
//!   segment is searched.
//! - [`maintenance`]: listing and deleting mentions by key for erasure and retention.
//! - [`tokenizer`]: social-text analysis (hashtags, handles, domains, emoji, accent folding, French/Italian
//!   elisions, German spellings).
//! - [`noise`]: terms, SimHash near-duplicates and the spam flag, decided at indexing time, with the
//!   per-language [`stopwords`].
//! - [`insights`]: aggregations over fast fields (volume, sentiment, authors, terms) run on a searcher.
//! - [`migrate`]: rebuilds an index of an older schema from its stored mentions.
//! - [`query`]: the analyst query language: parser, validation, printing, and lowering to Tantivy
//!   queries (including a positional `NEAR` query of our own).
//!
//! Tantivy work never runs on async workers: documents are built on the preparing thread, adds and
//! commits happen on the indexing thread, and callers run searches inside `spawn_blocking`.

pub mod doc;
pub mod export;
pub mod insights;
pub mod maintenance;
pub mod migrate;
pub mod newest;
pub mod noise;
pub mod query;
pub mod schema;
pub mod search;
pub mod segment_cache;
pub mod stopwords;
pub mod tokenizer;
pub mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Sender};
use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, ReloadPolicy};

pub use schema::Fields;
pub use writer::{CommitPolicy, IndexCommand};

/// Errors of the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Tantivy failed (I/O, corrupt segment, …).
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The query text is not valid; `span` is the byte range of the problem when known.
    #[error("invalid query: {message}")]
    InvalidQuery {
        /// What is wrong, in plain language.
        message: String,
        /// Byte range in the query text.
        span: Option<(usize, usize)>,
    },
    /// The indexing thread has stopped.
    #[error("the indexing thread has stopped")]
    Closed,
}

/// Batches of built documents that may wait between the preparing and the indexing thread.
const PREPARED_BATCHES: usize = 16;

/// Settings of the index.
#[derive(Debug, Clone)]
pub struct IndexerOptions {
    /// When to commit.
    pub commit: CommitPolicy,
    /// Memory for Tantivy's indexing buffers, in bytes.
    pub writer_memory_bytes: usize,
    /// Tantivy indexing threads.
    pub writer_threads: usize,
    /// Batches that may wait for the indexing thread.
    pub queue_capacity: usize,
}

impl Default for IndexerOptions {
    fn default() -> Self {
        IndexerOptions {
            commit: CommitPolicy::default(),
            writer_memory_bytes: 256 << 20,
            writer_threads: 2,
            queue_capacity: 256,
        }
    }
}

/// Counters the server exports as metrics.
#[derive(Debug, Default, Clone)]
pub struct IndexMetrics(Arc<IndexMetricsInner>);

/// The counters behind [`IndexMetrics`].
#[derive(Debug, Default)]
pub struct IndexMetricsInner {
    /// Commits done.
    pub commits: AtomicU64,
    /// Documents committed.
    pub docs_committed: AtomicU64,
    /// Total commit time in microseconds.
    pub commit_micros: AtomicU64,
    /// Failed commits (each is retried; nothing is lost).
    pub commit_failures: AtomicU64,
    /// Why the last commit failed, while the index has not committed since (e.g. the disk is full).
    pub failing: parking_lot::Mutex<Option<String>>,
}

impl IndexMetrics {
    fn record_commit(&self, docs: usize, elapsed: Duration) {
        self.0.commits.fetch_add(1, Ordering::Relaxed);
        self.0.docs_committed.fetch_add(docs as u64, Ordering::Relaxed);
        self.0.commit_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// The counters.
    pub fn get(&self) -> &IndexMetricsInner {
        &self.0
    }

    fn set_failing(&self, why: Option<String>) {
        if why.is_some() {
            self.0.commit_failures.fetch_add(1, Ordering::Relaxed);
        }
        *self.0.failing.lock() = why;
    }
}

/// The index: a writer thread plus a reader that reloads on every commit.
pub struct Indexer {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    tx: Sender<IndexCommand>,
    metrics: IndexMetrics,
}

impl Indexer {
    /// Opens (or creates) the index in `dir` and starts its indexing thread. `on_commit` runs on that
    /// thread after each commit with the last log position the commit covers.
    pub fn open(
        dir: &Path,
        options: IndexerOptions,
        on_commit: impl FnMut(u64) + Send + 'static,
    ) -> Result<Indexer, IndexError> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::Tantivy(tantivy::TantivyError::from(e)))?;
        migrate::upgrade_if_needed(dir)?;
        let (schema, fields) = schema::build_schema();
        let directory = MmapDirectory::open(dir).map_err(|e| {
            IndexError::Tantivy(tantivy::TantivyError::SystemError(format!("cannot open {}: {e}", dir.display())))
        })?;
        let index = Index::open_or_create(directory, schema)?;
        schema::register_tokenizers(index.tokenizers());
        // Fast fields resolve their normalizers through a manager of their own.
        schema::register_tokenizers(index.fast_field_tokenizer());
        let writer = index.writer_with_num_threads(options.writer_threads.max(1), options.writer_memory_bytes)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let metrics = IndexMetrics::default();
        let (tx, rx) = bounded(options.queue_capacity.max(1));
        let writer_loop = writer::WriterLoop {
            index: index.clone(),
            writer_threads: options.writer_threads.max(1),
            writer_memory_bytes: options.writer_memory_bytes,
            writer: Some(writer),
            pending: Vec::new(),
            retry: None,
            reader: reader.clone(),
            fields: fields.clone(),
            policy: options.commit.clone(),
            on_commit: Box::new(on_commit),
            metrics: metrics.clone(),
            near_duplicates: noise::NearDuplicates::default(),
        };
        // A few batches of built documents: enough to keep building through a commit, few enough that
        // documents (larger than their mentions) do not pile up.
        let (work_tx, work_rx) = bounded(PREPARED_BATCHES);
        // Both threads end once every sender (this indexer's and the pipeline's) is dropped.
        let thread_error = |e: std::io::Error| IndexError::Tantivy(tantivy::TantivyError::from(e));
        let prepare_fields = fields.clone();
        std::thread::Builder::new()
            .name("earshot-index-docs".into())
            .spawn(move || writer::prepare_loop(prepare_fields, rx, work_tx))
            .map_err(thread_error)?;
        std::thread::Builder::new()
            .name("earshot-indexer".into())
            .spawn(move || writer_loop.run(work_rx))
            .map_err(thread_error)?;
        Ok(Indexer { index, reader, fields, tx, metrics })
    }

    /// The schema's fields.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The Tantivy index (for tokenizers and schema).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Commit and indexing counters.
    pub fn metrics(&self) -> &IndexMetrics {
        &self.metrics
    }

    /// Why the index cannot commit right now (e.g. the disk is full), or `None` when it can. The
    /// indexing thread keeps what it could not commit and retries on its own.
    pub fn failure(&self) -> Option<String> {
        self.metrics.get().failing.lock().clone()
    }

    /// A searcher on the latest commit.
    pub fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    /// Sends work to the indexing thread, waiting while its queue is full (back-pressure).
    pub fn send(&self, command: IndexCommand) -> Result<(), IndexError> {
        self.tx.send(command).map_err(|_| IndexError::Closed)
    }

    /// Asks for the ordinary commit interval for what is pending (see [`IndexCommand::Hurry`]). Never
    /// blocks: with the queue full the indexing thread is busy anyway, and the next commit comes on its own.
    pub fn hurry(&self) {
        let _ = self.tx.try_send(IndexCommand::Hurry);
    }

    /// A sender for the indexing thread, for pipelines that feed it directly.
    pub fn sender(&self) -> Sender<IndexCommand> {
        self.tx.clone()
    }

    /// Commits what was sent so far and waits for it. Blocking.
    pub fn commit(&self) -> Result<Option<u64>, IndexError> {
        let (reply, rx) = bounded(1);
        self.send(IndexCommand::Commit { reply })?;
        rx.recv()
            .map_err(|_| IndexError::Closed)?
            .map_err(|e| IndexError::Tantivy(tantivy::TantivyError::SystemError(e)))
    }

    /// Calls `f` with the unique key of every indexed mention (to rebuild dedupe sets on start).
    pub fn for_each_key(&self, mut f: impl FnMut(&str)) -> Result<(), IndexError> {
        let searcher = self.searcher();
        for segment in searcher.segment_readers() {
            let Some(column) = segment.fast_fields().str("key")? else { continue };
            let dictionary = column.dictionary();
            // Streaming the sorted dictionary reads each block once; looking every document's ordinal up
            // (`ord_to_str`) decodes a block per document and took most of a 1M-mention restart. Deleted
            // documents keep their terms in the dictionary until a merge, so with deletes only the ordinals
            // of alive documents count.
            let alive_ords = segment.alive_bitset().map(|alive| {
                let mut ords = vec![false; dictionary.num_terms()];
                for doc in alive.iter_alive() {
                    for ord in column.term_ords(doc) {
                        if let Some(slot) = ords.get_mut(ord as usize) {
                            *slot = true;
                        }
                    }
                }
                ords
            });
            let mut terms = dictionary.stream().map_err(tantivy::TantivyError::from)?;
            while terms.advance() {
                let alive = alive_ords.as_ref().is_none_or(|ords| ords.get(terms.term_ord() as usize) == Some(&true));
                if let (true, Ok(key)) = (alive, std::str::from_utf8(terms.key())) {
                    f(key);
                }
            }
        }
        Ok(())
    }

    /// Commits what is pending and stops the indexing thread. Blocking.
    pub fn close(&self) {
        if let Err(e) = self.commit() {
            tracing::warn!(error = %e, "final commit failed; the write-ahead log still holds the data");
        }
    }
}
