//! What happens to a mention after the log made it durable: decode, label with the sentiment model,
//! then hand to the indexing thread, all in log order. The indexing thread's commits then let the log
//! truncate.
//!
//! The log thread only decodes and queues (it must get back to fsyncing); labelling runs on its own
//! stage thread, which waits on the classifier thread. Every hop is a bounded channel, so a slow model
//! holds back the log's sink and, through it, ingest (back-pressure, never unbounded memory). When the
//! model is not ready, mentions are indexed unlabelled and the re-classification job labels them later.
//!
//! The loop closes with [`CommitFeedback`]: every index commit lets the log drop what it covers and is
//! published as the last committed log position (for `wait_searchable`, the backlog and governance).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use earshot_indexer::{IndexCommand, Indexer};
use earshot_models::batcher::{ClassifierHandle, ModelState};
use earshot_models::{Label, Prediction};
use earshot_proto::v1::{Mention, Sentiment};
use earshot_wal::{DurableBatch, Wal};
use prost::Message;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;
use tokio::sync::watch;
use tracing::{error, info, warn};

/// Batches waiting between the log and the labelling stage.
const STAGE_QUEUE: usize = 64;
/// Mentions re-labelled per round of the re-classification job.
const RELABEL_BATCH: usize = 256;

/// Mentions on their way to the index; `last_position` is the log position of the last one.
pub struct StageBatch {
    /// Decoded mentions.
    pub mentions: Vec<Mention>,
    /// Log position covered by this batch (`None` for work not in the log).
    pub last_position: Option<u64>,
}

/// Index commits fed back to the log: the index opens first (the log's replay feeds it), so its
/// commit callback only finds the log once [`CommitFeedback::attach`] hands it over.
pub struct CommitFeedback {
    wal: Arc<OnceLock<Arc<Wal>>>,
}

impl CommitFeedback {
    /// The feedback, the indexer's commit callback (truncate the log, publish the position) and the
    /// watch of the last log position the index has committed.
    pub fn new() -> (CommitFeedback, impl FnMut(u64) + Send + 'static, watch::Receiver<Option<u64>>) {
        let (committed_tx, committed) = watch::channel(None);
        let wal: Arc<OnceLock<Arc<Wal>>> = Arc::new(OnceLock::new());
        let slot = wal.clone();
        let on_commit = move |position: u64| {
            if let Some(wal) = slot.get() {
                wal.truncate(position);
            }
            committed_tx.send_replace(Some(position));
        };
        (CommitFeedback { wal }, on_commit, committed)
    }

    /// From now on, commits truncate `wal`.
    pub fn attach(&self, wal: Arc<Wal>) {
        let _ = self.wal.set(wal);
    }
}

/// Decodes log records into mentions; undecodable records are logged and skipped.
pub fn decode_records(records: impl IntoIterator<Item = (u64, Vec<u8>)>) -> Vec<(u64, Mention)> {
    records
        .into_iter()
        // Governance's control records only mark deletions for replay; nothing to index.
        .filter(|(_, bytes)| !super::records::is_control(bytes))
        .filter_map(|(position, bytes)| match Mention::decode(bytes.as_slice()) {
            Ok(m) => Some((position, m)),
            Err(e) => {
                error!(position, error = %e, "undecodable record in the write-ahead log, skipped");
                None
            }
        })
        .collect()
}

/// The proto label of a model label.
pub fn sentiment_of(label: Label) -> Sentiment {
    match label {
        Label::Negative => Sentiment::Negative,
        Label::Neutral => Sentiment::Neutral,
        Label::Positive => Sentiment::Positive,
    }
}

/// Stores a prediction on a mention.
fn apply(mention: &mut Mention, prediction: &Prediction) {
    mention.sentiment = sentiment_of(prediction.label) as i32;
    mention.sentiment_score = prediction.score;
}

/// Labels mentions in place when the model is ready; returns the model version used ("" if none).
pub fn label_mentions(classifier: Option<&ClassifierHandle>, mentions: &mut [Mention]) -> String {
    let Some(classifier) = classifier else { return String::new() };
    let ModelState::Ready(version) = classifier.state() else { return String::new() };
    let texts = mentions.iter().map(|m| m.text.clone()).collect();
    let started = std::time::Instant::now();
    let classified = classifier.classify_blocking(texts);
    let metrics = crate::metrics::global();
    metrics.inference_seconds.observe(started.elapsed().as_secs_f64());
    metrics.inference_batch_size.observe(mentions.len() as f64);
    match classified {
        Ok(predictions) => {
            for (m, p) in mentions.iter_mut().zip(&predictions) {
                apply(m, p);
            }
            version
        }
        Err(e) => {
            warn!(error = %e, "classification failed; indexing unlabelled, the re-classification job retries");
            String::new()
        }
    }
}

/// The log's sink: decodes each durable batch and queues it for the labelling stage (blocking when full).
pub fn log_sink(stage: Sender<StageBatch>) -> impl FnMut(DurableBatch) + Send + 'static {
    move |batch: DurableBatch| {
        let first = batch.first_position;
        let count = batch.records.len() as u64;
        let positioned = batch.records.into_iter().enumerate().map(|(i, r)| (first + i as u64, r));
        let mentions = decode_records(positioned).into_iter().map(|(_, m)| m).collect();
        let last_position = (count > 0).then(|| first + count - 1);
        if stage.send(StageBatch { mentions, last_position }).is_err() {
            error!("labelling stage is gone; the write-ahead log keeps the records for the next start");
        }
    }
}

/// Starts the labelling stage; returns its input.
pub fn spawn_stage(classifier: Option<ClassifierHandle>, indexer: Sender<IndexCommand>) -> Sender<StageBatch> {
    let (tx, rx): (Sender<StageBatch>, Receiver<StageBatch>) = bounded(STAGE_QUEUE);
    let spawned = std::thread::Builder::new().name("earshot-label".into()).spawn(move || {
        while let Ok(mut batch) = rx.recv() {
            let version = label_mentions(classifier.as_ref(), &mut batch.mentions);
            let mentions = batch.mentions.into_iter().map(|m| (m, version.clone())).collect();
            if indexer.send(IndexCommand::Add { mentions, last_position: batch.last_position }).is_err() {
                error!("indexing thread is gone; the write-ahead log keeps the records for the next start");
                return;
            }
        }
    });
    if let Err(e) = spawned {
        error!(error = %e, "could not start the labelling stage");
    }
    tx
}

/// Mentions not labelled by `version`: `NOT model_version:<version>`.
fn stale_query(indexer: &Indexer, version: &str) -> Box<dyn Query> {
    let term = Term::from_field_text(indexer.fields().model_version, version);
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
        (Occur::MustNot, Box::new(TermQuery::new(term, IndexRecordOption::Basic))),
    ]))
}

/// Starts the re-classification job: labels every mention whose stored model version differs from the
/// loaded model's (unlabelled ones included), a batch at a time, until none is left; then waits.
/// Stops when `stop` is dropped.
pub fn spawn_relabel_job(indexer: Arc<Indexer>, classifier: ClassifierHandle, stop: Receiver<()>) {
    let spawned = std::thread::Builder::new().name("earshot-relabel".into()).spawn(move || {
        let mut idle = Duration::from_millis(200);
        loop {
            match stop.recv_timeout(idle) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            let ModelState::Ready(version) = classifier.state() else {
                idle = Duration::from_secs(1);
                continue;
            };
            let relabelled = relabel_round(&indexer, &classifier, &version);
            idle = match relabelled {
                Ok(0) => Duration::from_secs(5),
                Ok(n) => {
                    info!(n, version, "re-labelled mentions with the current model");
                    Duration::from_millis(1)
                }
                Err(e) => {
                    warn!(error = %e, "re-classification round failed");
                    Duration::from_secs(5)
                }
            };
        }
    });
    if let Err(e) = spawned {
        error!(error = %e, "could not start the re-classification job");
    }
}

fn relabel_round(indexer: &Indexer, classifier: &ClassifierHandle, version: &str) -> Result<usize, String> {
    let stale = indexer.collect_mentions(stale_query(indexer, version), RELABEL_BATCH).map_err(|e| e.to_string())?;
    if stale.is_empty() {
        return Ok(0);
    }
    let texts = stale.iter().map(|m| m.text.clone()).collect();
    let predictions = classifier.classify_blocking(texts).map_err(|e| e.to_string())?;
    let n = stale.len();
    let mentions = stale
        .into_iter()
        .zip(predictions)
        .map(|(mut m, p)| {
            apply(&mut m, &p);
            (m, version.to_owned())
        })
        .collect();
    indexer.send(IndexCommand::Upsert { mentions }).map_err(|e| e.to_string())?;
    // Wait for the commit so the next round's search does not see the same mentions again.
    indexer.commit().map_err(|e| e.to_string())?;
    Ok(n)
}
