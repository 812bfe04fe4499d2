//! The indexing thread: adds documents, commits on a short interval, reloads the searcher, and reports
//! how far the index is durable so that the write-ahead log can be truncated.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use earshot_proto::v1::Mention;
use tantivy::{IndexReader, IndexWriter, TantivyDocument, Term};
use tracing::{debug, error, info};

use crate::doc::{mention_key, prepare, to_document_flagged, Prepared};
use crate::noise::NearDuplicates;
use crate::schema::Fields;

/// Work for the indexing thread.
pub enum IndexCommand {
    /// Mentions to add; `last_position` is the log position of the last one (`None` for work that is not
    /// in the log).
    Add {
        /// The mentions, already validated and deduplicated.
        mentions: Vec<(Mention, String)>,
        /// Log position of the last mention of the batch.
        last_position: Option<u64>,
    },
    /// Replaces stored mentions (same tenant and id) with new versions, e.g. re-labelled ones.
    Upsert {
        /// The new versions and the model version that labelled them.
        mentions: Vec<(Mention, String)>,
    },
    /// Deletes every document holding one of `terms` (e.g. their `key`s), then commits and answers.
    Delete {
        /// The terms to delete by.
        terms: Vec<Term>,
        /// Answered once the deletion is committed and searchers reloaded.
        reply: Option<crossbeam_channel::Sender<Result<Option<u64>, String>>>,
    },
    /// Commits now and answers when done.
    Commit {
        /// Answered with the committed log position.
        reply: crossbeam_channel::Sender<Result<Option<u64>, String>>,
    },
    /// A caller waits to see what is pending: commit it after the ordinary interval, not after the longer
    /// one a bulk load earned.
    Hurry,
}

/// An [`IndexCommand`] whose documents are built: what the preparing thread hands the indexing thread.
pub(crate) enum Work {
    Add { items: Vec<Item>, last_position: Option<u64> },
    Upsert { items: Vec<Item> },
    Delete { terms: Vec<Term>, reply: Option<Sender<Result<Option<u64>, String>>> },
    Commit { reply: Sender<Result<Option<u64>, String>> },
    Hurry,
}

/// A mention with its document built but for the near-duplicate flag.
pub(crate) struct Item {
    mention: Mention,
    model_version: String,
    prepared: Prepared,
}

impl Work {
    fn prepare(command: IndexCommand, fields: &Fields) -> Work {
        let items = |mentions: Vec<(Mention, String)>| {
            mentions
                .into_iter()
                .map(|(mention, model_version)| {
                    let prepared = prepare(fields, &mention, &model_version);
                    Item { mention, model_version, prepared }
                })
                .collect()
        };
        match command {
            IndexCommand::Add { mentions, last_position } => Work::Add { items: items(mentions), last_position },
            IndexCommand::Upsert { mentions } => Work::Upsert { items: items(mentions) },
            IndexCommand::Delete { terms, reply } => Work::Delete { terms, reply },
            IndexCommand::Commit { reply } => Work::Commit { reply },
            IndexCommand::Hurry => Work::Hurry,
        }
    }
}

/// The preparing thread: builds documents (stored protobuf, terms, SimHash, spam flag) in order, so that
/// the indexing thread only decides near-duplicates and hands documents to Tantivy, and keeps building
/// while that thread is blocked in a commit. It ends when every sender of `rx` is gone, and its end
/// (dropping `tx`) is what stops the indexing thread.
pub(crate) fn prepare_loop(fields: Fields, rx: Receiver<IndexCommand>, tx: Sender<Work>) {
    for command in rx {
        if tx.send(Work::prepare(command, &fields)).is_err() {
            return;
        }
    }
}

/// When the indexing thread commits.
#[derive(Debug, Clone)]
pub struct CommitPolicy {
    /// Longest time an added document waits before a commit makes it searchable, under ordinary load.
    pub interval: Duration,
    /// Commit early once this many documents are waiting.
    pub max_docs: usize,
    /// Under bulk load (a commit of at least [`CommitPolicy::bulk_docs`] documents) the wait doubles after
    /// each commit, up to this; the first commit under ordinary load returns to `interval`.
    pub max_interval: Duration,
    /// Documents in one commit that mean bulk load.
    pub bulk_docs: usize,
}

impl Default for CommitPolicy {
    fn default() -> Self {
        CommitPolicy {
            interval: Duration::from_millis(500),
            max_docs: 200_000,
            max_interval: Duration::from_secs(4),
            bulk_docs: 5_000,
        }
    }
}

impl CommitPolicy {
    /// When what is pending commits: `interval` after the first pending change, and, while bulk load has
    /// lengthened `interval`, no later than the ordinary interval after the last change came in. The
    /// longer wait only gathers a stream that keeps coming; once it pauses (a backfill's end), waiting
    /// on gains nothing and keeps the last mentions from being searchable.
    pub fn commit_due(&self, first_pending: Instant, last_change: Instant, interval: Duration) -> Instant {
        let due = first_pending + interval;
        if interval > self.interval {
            due.min(last_change + self.interval)
        } else {
            due
        }
    }

    /// The wait before the next commit, after a commit of `docs` documents that followed a wait of
    /// `current`. Every commit writes a segment that merges then rewrite: during a backfill, fewer and
    /// larger commits cut the CPU an import needs by a third (BENCHMARKS.md), while a trickle of live
    /// mentions keeps the short wait.
    pub fn next_interval(&self, current: Duration, docs: usize) -> Duration {
        if docs >= self.bulk_docs {
            (current * 2).clamp(self.interval, self.max_interval.max(self.interval))
        } else {
            self.interval
        }
    }
}

pub(crate) struct WriterLoop {
    pub index: tantivy::Index,
    pub writer_threads: usize,
    pub writer_memory_bytes: usize,
    /// `None` only between a failed rollback and the next successful re-creation.
    pub writer: Option<IndexWriter>,
    /// Everything applied since the last successful commit, in order: after a failed commit (a full
    /// disk) the writer is rolled back and all of it re-applied, so nothing acknowledged is dropped.
    pub pending: Vec<Op>,
    /// When the next attempt after a failed commit is due, and the wait after that one.
    pub retry: Option<(Instant, Duration)>,
    pub reader: IndexReader,
    pub fields: Fields,
    pub policy: CommitPolicy,
    pub on_commit: Box<dyn FnMut(u64) + Send>,
    pub metrics: crate::IndexMetrics,
    pub near_duplicates: NearDuplicates,
}

/// One change since the last commit, kept until a commit holds it. Mentions are moved here, not
/// copied; the near-duplicate flag is kept so a re-application builds the very same document.
pub(crate) enum Op {
    Add { mention: Mention, model_version: String, near_duplicate: bool },
    Replace { mention: Mention, model_version: String, near_duplicate: bool },
    Delete(Term),
}

/// First wait after a failed commit; doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

impl WriterLoop {
    /// Hands one change to the Tantivy writer. Errors are logged: the change stays in `pending`, and a
    /// failed writer shows at the commit, which rolls back and re-applies.
    /// `doc` is the document of an add or replace when it was built already (the first application);
    /// a re-application after a failed commit builds it again from the mention.
    fn apply(&mut self, op: &Op, mut doc: Option<TantivyDocument>) {
        let Some(writer) = self.writer.as_mut() else { return };
        let fields = &self.fields;
        let mut document = |mention: &Mention, model_version: &str, near_duplicate: bool| {
            doc.take().unwrap_or_else(|| to_document_flagged(fields, mention, model_version, near_duplicate))
        };
        let result = match op {
            Op::Add { mention, model_version, near_duplicate } => {
                writer.add_document(document(mention, model_version, *near_duplicate))
            }
            Op::Replace { mention, model_version, near_duplicate } => {
                let key = mention_key(&mention.tenant, &mention.id);
                // The delete is stamped before the add, so it removes only the old version.
                writer.delete_term(Term::from_field_text(fields.key, &key));
                writer.add_document(document(mention, model_version, *near_duplicate))
            }
            Op::Delete(term) => {
                writer.delete_term(term.clone());
                Ok(0)
            }
        };
        if let Err(e) = result {
            debug!(error = %e, "indexing failed; retried after the next commit attempt");
        }
    }

    fn push(&mut self, op: Op, doc: Option<TantivyDocument>) {
        self.apply(&op, doc);
        self.pending.push(op);
    }

    pub(crate) fn run(mut self, rx: Receiver<Work>) {
        let mut pending_docs = 0usize;
        let mut first_pending: Option<Instant> = None;
        let mut pending_position: Option<u64> = None;
        let mut interval = self.policy.interval;
        let mut last_change = Instant::now();
        loop {
            let commit_due = first_pending.map(|t| self.policy.commit_due(t, last_change, interval));
            let deadline = match (commit_due, self.retry) {
                (Some(c), Some((r, _))) => Some(c.max(r)),
                (c, r) => c.or(r.map(|(r, _)| r)),
            };
            let received = match deadline {
                Some(d) => rx.recv_deadline(d),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let mut reply = None;
            let commit_now = match received {
                Ok(Work::Add { items, last_position }) => {
                    // Only a log position (a replay whose mentions were all indexed already): committing it
                    // at once makes a restarted server ready without waiting out the interval.
                    let position_only = items.is_empty() && pending_docs == 0 && last_position.is_some();
                    pending_docs += items.len();
                    for Item { mention, model_version, prepared } in items {
                        let near_duplicate = prepared.is_near_duplicate(&mention, &mut self.near_duplicates);
                        let doc = prepared.finish(&self.fields, near_duplicate);
                        self.push(Op::Add { mention, model_version, near_duplicate }, Some(doc));
                    }
                    if last_position.is_some() {
                        pending_position = last_position;
                    }
                    first_pending.get_or_insert_with(Instant::now);
                    last_change = Instant::now();
                    position_only || pending_docs >= self.policy.max_docs
                }
                Ok(Work::Upsert { items }) => {
                    pending_docs += items.len();
                    for Item { mention, model_version, prepared } in items {
                        let key = crate::doc::mention_key(&mention.tenant, &mention.id);
                        // A mention deleted (erased, expired) since it was read must not come back.
                        if !self.committed_key(&key) {
                            continue;
                        }
                        let near_duplicate = prepared.is_near_duplicate(&mention, &mut self.near_duplicates);
                        let doc = prepared.finish(&self.fields, near_duplicate);
                        self.push(Op::Replace { mention, model_version, near_duplicate }, Some(doc));
                    }
                    first_pending.get_or_insert_with(Instant::now);
                    last_change = Instant::now();
                    pending_docs >= self.policy.max_docs
                }
                Ok(Work::Delete { terms, reply: r }) => {
                    for term in terms {
                        self.push(Op::Delete(term), None);
                    }
                    reply = r;
                    true
                }
                Ok(Work::Commit { reply: r }) => {
                    reply = Some(r);
                    true
                }
                Ok(Work::Hurry) => {
                    interval = self.policy.interval;
                    false
                }
                Err(RecvTimeoutError::Timeout) => true,
                Err(RecvTimeoutError::Disconnected) => {
                    if first_pending.is_some() || self.retry.is_some() {
                        let _ = self.commit(pending_docs, pending_position);
                    }
                    info!("indexing thread stopped");
                    return;
                }
            };
            // Under steady load a message is always waiting and the deadline never times out: a commit
            // that is due must still happen.
            let commit_now = commit_now
                || first_pending.is_some_and(|t| Instant::now() >= self.policy.commit_due(t, last_change, interval));
            // While commits fail, only a caller waiting for an answer or the retry timer tries again.
            let retry_due = self.retry.is_none_or(|(at, _)| Instant::now() >= at);
            if commit_now && (retry_due || reply.is_some()) {
                let result = self.commit(pending_docs, pending_position);
                if result.is_ok() {
                    interval = self.policy.next_interval(interval, pending_docs);
                    pending_docs = 0;
                    first_pending = None;
                }
                if let Some(r) = reply {
                    let _ = r.send(result.map(|()| pending_position));
                }
            }
        }
    }

    /// Whether the last commit holds a document with this key.
    fn committed_key(&self, key: &str) -> bool {
        let term = Term::from_field_text(self.fields.key, key);
        let searcher = self.reader.searcher();
        searcher.segment_readers().iter().any(|segment| {
            let alive = segment.alive_bitset();
            let Ok(index) = segment.inverted_index(self.fields.key) else { return false };
            let Ok(Some(mut postings)) = index.read_postings(&term, tantivy::schema::IndexRecordOption::Basic) else {
                return false;
            };
            let mut doc = tantivy::DocSet::doc(&postings);
            while doc != tantivy::TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    return true;
                }
                doc = tantivy::DocSet::advance(&mut postings);
            }
            false
        })
    }

    /// Gets a writer back to the last commit with every pending change applied again: a rollback, or
    /// a new writer when the old one could not even roll back.
    fn recover(&mut self) -> Result<(), String> {
        let rolled_back = match self.writer.as_mut() {
            Some(writer) => writer.rollback().map(|_| ()).map_err(|e| e.to_string()),
            None => Err("no writer".into()),
        };
        if let Err(why) = rolled_back {
            // A failed rollback has given up the directory lock with the old writer: start afresh.
            self.writer = None;
            let writer = self
                .index
                .writer_with_num_threads(self.writer_threads, self.writer_memory_bytes)
                .map_err(|e| format!("{why}; a new index writer failed too: {e}"))?;
            self.writer = Some(writer);
        }
        let pending = std::mem::take(&mut self.pending);
        for op in &pending {
            self.apply(op, None);
        }
        self.pending = pending;
        Ok(())
    }

    fn commit(&mut self, docs: usize, position: Option<u64>) -> Result<(), String> {
        let started = Instant::now();
        if self.retry.is_some() {
            if let Err(e) = self.recover() {
                return Err(self.failed(e));
            }
        }
        let committed = match self.writer.as_mut() {
            Some(writer) => writer.commit().map_err(|e| e.to_string()),
            None => Err("no index writer".into()),
        };
        if let Err(e) = committed {
            return Err(self.failed(e));
        }
        self.pending.clear();
        if self.retry.take().is_some() {
            info!("index commits again; nothing was lost");
            self.metrics.set_failing(None);
        }
        if let Err(e) = self.reader.reload() {
            error!(error = %e, "searcher reload failed");
        }
        let elapsed = started.elapsed();
        self.metrics.record_commit(docs, elapsed);
        debug!(docs, ?elapsed, "committed");
        if let Some(p) = position {
            (self.on_commit)(p);
        }
        Ok(())
    }

    /// Records a failed commit and schedules the next attempt. Nothing is truncated from the log and
    /// every pending change is kept, so the documents come back with the next successful commit (or,
    /// after a restart, from the log).
    fn failed(&mut self, why: String) -> String {
        let wait = self.retry.map_or(RETRY_FIRST, |(_, wait)| (wait * 2).min(RETRY_MAX));
        if self.retry.is_none() {
            error!(error = %why, "index commit failed; retrying until it succeeds");
        }
        self.retry = Some((Instant::now() + wait, wait));
        self.metrics.set_failing(Some(why.clone()));
        why
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::CommitPolicy;

    #[test]
    fn bulk_load_lengthens_the_wait_up_to_its_cap_and_a_trickle_resets_it() {
        let policy = CommitPolicy::default();
        let ms = Duration::from_millis;
        assert_eq!(policy.next_interval(ms(500), 10), ms(500));
        assert_eq!(policy.next_interval(ms(500), 5_000), ms(1000));
        assert_eq!(policy.next_interval(ms(1000), 50_000), ms(2000));
        assert_eq!(policy.next_interval(ms(2000), 50_000), ms(4000));
        assert_eq!(policy.next_interval(ms(4000), 50_000), ms(4000), "capped");
        assert_eq!(policy.next_interval(ms(4000), 4_999), ms(500), "back to the short wait");
        // A configured interval above the cap is never shortened by bulk load.
        let slow = CommitPolicy { interval: Duration::from_secs(10), ..CommitPolicy::default() };
        assert_eq!(slow.next_interval(Duration::from_secs(10), 50_000), Duration::from_secs(10));
    }

    #[test]
    fn a_pause_in_bulk_load_commits_after_the_ordinary_interval() {
        let policy = CommitPolicy::default();
        let ms = Duration::from_millis;
        let t0 = std::time::Instant::now();
        // Ordinary load: the interval after the first pending change, whenever the last one came.
        assert_eq!(policy.commit_due(t0, t0 + ms(400), ms(500)), t0 + ms(500));
        // Bulk load, mentions still coming: the long wait.
        assert_eq!(policy.commit_due(t0, t0 + ms(3800), ms(4000)), t0 + ms(4000));
        // Bulk load that paused 500 ms after its last change: commit then, not at 4 s.
        assert_eq!(policy.commit_due(t0, t0 + ms(1000), ms(4000)), t0 + ms(1500));
    }
}
