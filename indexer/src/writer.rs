//! The indexing thread: adds documents, commits on a short interval, reloads the searcher, and reports
//! how far the index is durable so that the write-ahead log can be truncated.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use earshot_proto::v1::Mention;
use tantivy::{IndexReader, IndexWriter, Term};
use tracing::{debug, error, info};

use crate::doc::{key_hash, mention_key, to_document_flagged};
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
}

/// When the indexing thread commits.
#[derive(Debug, Clone)]
pub struct CommitPolicy {
    /// Longest time an added document waits before a commit makes it searchable.
    pub interval: Duration,
    /// Commit early once this many documents are waiting.
    pub max_docs: usize,
}

impl Default for CommitPolicy {
    fn default() -> Self {
        CommitPolicy { interval: Duration::from_millis(500), max_docs: 200_000 }
    }
}

pub(crate) struct WriterLoop {
    pub writer: IndexWriter,
    pub reader: IndexReader,
    pub fields: Fields,
    pub policy: CommitPolicy,
    pub on_commit: Box<dyn FnMut(u64) + Send>,
    pub metrics: crate::IndexMetrics,
    pub near_duplicates: NearDuplicates,
}

impl WriterLoop {
    /// The document of a mention, its near-duplicate flag decided against what was indexed before.
    fn document(&mut self, mention: &Mention, model_version: &str) -> tantivy::TantivyDocument {
        let near_duplicate = crate::noise::simhash(&mention.text).is_some_and(|hash| {
            let key = key_hash(&mention_key(&mention.tenant, &mention.id)) as u64;
            self.near_duplicates.check(&mention.tenant, key, hash)
        });
        to_document_flagged(&self.fields, mention, model_version, near_duplicate)
    }

    pub(crate) fn run(mut self, rx: Receiver<IndexCommand>) {
        let mut pending_docs = 0usize;
        let mut first_pending: Option<Instant> = None;
        let mut pending_position: Option<u64> = None;
        loop {
            let deadline = first_pending.map(|t| t + self.policy.interval);
            let received = match deadline {
                Some(d) => rx.recv_deadline(d),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let mut reply = None;
            let commit_now = match received {
                Ok(IndexCommand::Add { mentions, last_position }) => {
                    for (mention, model_version) in &mentions {
                        let doc = self.document(mention, model_version);
                        if let Err(e) = self.writer.add_document(doc) {
                            error!(error = %e, "indexing failed");
                        }
                    }
                    pending_docs += mentions.len();
                    if last_position.is_some() {
                        pending_position = last_position;
                    }
                    first_pending.get_or_insert_with(Instant::now);
                    pending_docs >= self.policy.max_docs
                }
                Ok(IndexCommand::Upsert { mentions }) => {
                    for (mention, model_version) in &mentions {
                        let key = crate::doc::mention_key(&mention.tenant, &mention.id);
                        // A mention deleted (erased, expired) since it was read must not come back.
                        if !self.committed_key(&key) {
                            continue;
                        }
                        // The delete is stamped before the add, so it removes only the old version.
                        self.writer.delete_term(Term::from_field_text(self.fields.key, &key));
                        let doc = self.document(mention, model_version);
                        if let Err(e) = self.writer.add_document(doc) {
                            error!(error = %e, "re-indexing failed");
                        }
                    }
                    pending_docs += mentions.len();
                    first_pending.get_or_insert_with(Instant::now);
                    pending_docs >= self.policy.max_docs
                }
                Ok(IndexCommand::Delete { terms, reply: r }) => {
                    for term in terms {
                        self.writer.delete_term(term);
                    }
                    reply = r;
                    true
                }
                Ok(IndexCommand::Commit { reply: r }) => {
                    reply = Some(r);
                    true
                }
                Err(RecvTimeoutError::Timeout) => true,
                Err(RecvTimeoutError::Disconnected) => {
                    if first_pending.is_some() {
                        let _ = self.commit(pending_docs, pending_position);
                    }
                    info!("indexing thread stopped");
                    return;
                }
            };
            if commit_now {
                let result = self.commit(pending_docs, pending_position);
                pending_docs = 0;
                first_pending = None;
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

    fn commit(&mut self, docs: usize, position: Option<u64>) -> Result<(), String> {
        let started = Instant::now();
        if let Err(e) = self.writer.commit() {
            // Nothing is truncated from the log, so the documents come back on restart.
            error!(error = %e, "index commit failed");
            return Err(e.to_string());
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
}
