//! The classifier thread: a bounded queue in, token-budget dynamic batches through the model, replies on
//! oneshot channels. The model never runs on async workers.
//!
//! Texts of all waiting requests are pooled, sorted by length (less padding), and cut into batches of at
//! most `max_batch_tokens` padded tokens. Requests whose deadline has passed are answered without
//! running the model. Health is a `watch` channel: `Loading` until the weights are loaded and a warm-up
//! inference passed, then `Ready` (or `Failed`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use tokio::sync::{oneshot, watch};
use tracing::{error, info};

use crate::{Classifier, ModelError, Prediction};

/// State of the classifier, for health checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// Weights are loading or warming up.
    Loading,
    /// Serving; the weights' version.
    Ready(String),
    /// Could not load; why.
    Failed(String),
}

/// Why a classification request was not answered with predictions.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClassifyError {
    /// Too many requests are waiting.
    #[error("classifier queue is full")]
    QueueFull,
    /// The deadline passed before the model got to the request.
    #[error("deadline passed before classification")]
    DeadlineExceeded,
    /// The model is not loaded (yet, or it failed).
    #[error("classifier unavailable: {0}")]
    Unavailable(String),
    /// Inference failed.
    #[error("inference failed: {0}")]
    Inference(String),
}

/// Batching settings.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Most padded tokens (texts × longest text) in one model call.
    pub max_batch_tokens: usize,
    /// Most texts in one model call.
    pub max_batch_texts: usize,
    /// Requests that may wait in the queue.
    pub queue_capacity: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions { max_batch_tokens: 4096, max_batch_texts: 64, queue_capacity: 1024 }
    }
}

struct Job {
    texts: Vec<String>,
    deadline: Option<Instant>,
    reply: oneshot::Sender<Result<Vec<Prediction>, ClassifyError>>,
}

/// Handle to the classifier thread. Cheap to clone.
#[derive(Clone)]
pub struct ClassifierHandle {
    tx: Sender<Job>,
    state: watch::Receiver<ModelState>,
    /// Held by the thread while it loads the model or runs a batch; see [`ClassifierHandle::quiesce`].
    busy: Arc<Mutex<()>>,
}

/// A rough token count used only for budgeting batches (the model tokenises for real).
fn estimated_tokens(text: &str) -> usize {
    (text.len() / 4 + 2).min(crate::text::MAX_TOKENS)
}

impl ClassifierHandle {
    /// Starts the thread; `load` runs on it and builds the classifier.
    pub fn spawn<F>(load: F, options: BatchOptions) -> ClassifierHandle
    where
        F: FnOnce() -> Result<Box<dyn Classifier>, ModelError> + Send + 'static,
    {
        let (tx, rx) = bounded(options.queue_capacity.max(1));
        let (state_tx, state) = watch::channel(ModelState::Loading);
        let busy = Arc::new(Mutex::new(()));
        let thread_busy = busy.clone();
        let spawned = std::thread::Builder::new().name("earshot-classifier".into()).spawn(move || {
            let loading = thread_busy.lock().unwrap_or_else(|e| e.into_inner());
            let loaded = load().and_then(|mut m| m.classify(&["warm-up: the service is up"]).map(|_| m));
            drop(loading);
            let mut model = match loaded {
                Ok(m) => m,
                Err(e) => {
                    error!(error = %e, "classifier failed to load");
                    state_tx.send_replace(ModelState::Failed(e.to_string()));
                    drain_failed(&rx, &e.to_string());
                    return;
                }
            };
            info!(version = model.version(), "classifier ready");
            state_tx.send_replace(ModelState::Ready(model.version().to_owned()));
            run(&mut *model, &rx, &options, &thread_busy);
        });
        if let Err(e) = spawned {
            error!(error = %e, "could not start the classifier thread");
        }
        ClassifierHandle { tx, state, busy }
    }

    /// Waits for the model load or batch in progress to finish and keeps the thread from starting another,
    /// for good. Called before the process exits: ONNX Runtime's and libtorch's global destructors must not
    /// run while this thread is inside them (seen as heap corruption at exit when a server stopped during
    /// the model's warm-up). Requests sent afterwards wait forever, so only call it on the way out.
    pub fn quiesce(&self) {
        std::mem::forget(self.busy.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Current state.
    pub fn state(&self) -> ModelState {
        self.state.borrow().clone()
    }

    /// A receiver of state changes (for health reporting).
    pub fn watch_state(&self) -> watch::Receiver<ModelState> {
        self.state.clone()
    }

    /// Waits until the model is ready or failed; returns the final state.
    pub async fn ready(&self) -> ModelState {
        let mut rx = self.state.clone();
        let result = rx.wait_for(|s| *s != ModelState::Loading).await.map(|s| s.clone());
        result.unwrap_or_else(|_| ModelState::Failed("classifier thread stopped".into()))
    }

    /// Classifies texts; fails at once with `QueueFull` when the queue is full.
    pub async fn classify(
        &self,
        texts: Vec<String>,
        timeout: Option<Duration>,
    ) -> Result<Vec<Prediction>, ClassifyError> {
        let rx = self.submit(texts, timeout)?;
        rx.await.unwrap_or_else(|_| Err(ClassifyError::Unavailable("classifier thread stopped".into())))
    }

    /// Classifies texts from a blocking context, waiting while the queue is full (back-pressure).
    pub fn classify_blocking(&self, texts: Vec<String>) -> Result<Vec<Prediction>, ClassifyError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { texts, deadline: None, reply })
            .map_err(|_| ClassifyError::Unavailable("classifier thread stopped".into()))?;
        rx.blocking_recv().unwrap_or_else(|_| Err(ClassifyError::Unavailable("classifier thread stopped".into())))
    }

    fn submit(
        &self,
        texts: Vec<String>,
        timeout: Option<Duration>,
    ) -> Result<oneshot::Receiver<Result<Vec<Prediction>, ClassifyError>>, ClassifyError> {
        if let ModelState::Failed(why) = &*self.state.borrow() {
            return Err(ClassifyError::Unavailable(why.clone()));
        }
        let (reply, rx) = oneshot::channel();
        let deadline = timeout.map(|t| Instant::now() + t);
        match self.tx.try_send(Job { texts, deadline, reply }) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(ClassifyError::QueueFull),
            Err(TrySendError::Disconnected(_)) => Err(ClassifyError::Unavailable("classifier thread stopped".into())),
        }
    }
}

fn drain_failed(rx: &Receiver<Job>, why: &str) {
    while let Ok(job) = rx.recv() {
        let _ = job.reply.send(Err(ClassifyError::Unavailable(why.to_owned())));
    }
}

struct Pending {
    job: Job,
    results: Vec<Option<Prediction>>,
    failed: Option<ClassifyError>,
}

fn run(model: &mut dyn Classifier, rx: &Receiver<Job>, options: &BatchOptions, busy: &Mutex<()>) {
    while let Ok(first) = rx.recv() {
        let _busy = busy.lock().unwrap_or_else(|e| e.into_inner());
        let mut jobs = vec![first];
        let mut waiting_tokens: usize = jobs[0].texts.iter().map(|t| estimated_tokens(t)).sum();
        // Take whatever else is already waiting, up to a few batches' worth.
        while waiting_tokens < options.max_batch_tokens * 4 {
            match rx.try_recv() {
                Ok(job) => {
                    waiting_tokens += job.texts.iter().map(|t| estimated_tokens(t)).sum::<usize>();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let now = Instant::now();
        let mut pending: Vec<Pending> = Vec::with_capacity(jobs.len());
        for job in jobs {
            if job.deadline.is_some_and(|d| d <= now) {
                let _ = job.reply.send(Err(ClassifyError::DeadlineExceeded));
                continue;
            }
            let results = vec![None; job.texts.len()];
            pending.push(Pending { job, results, failed: None });
        }
        let mut items: Vec<(usize, usize, usize)> = pending
            .iter()
            .enumerate()
            .flat_map(|(j, p)| p.job.texts.iter().enumerate().map(move |(i, t)| (estimated_tokens(t), j, i)))
            .collect();
        items.sort_unstable();
        let mut start = 0;
        while start < items.len() {
            let mut end = start + 1;
            while end < items.len()
                && end - start < options.max_batch_texts
                && (end - start + 1) * items[end].0 <= options.max_batch_tokens
            {
                end += 1;
            }
            let batch = &items[start..end];
            let texts: Vec<&str> = batch.iter().map(|&(_, j, i)| pending[j].job.texts[i].as_str()).collect();
            match model.classify(&texts) {
                Ok(predictions) => {
                    for (&(_, j, i), p) in batch.iter().zip(predictions) {
                        pending[j].results[i] = Some(p);
                    }
                }
                Err(e) => {
                    for &(_, j, _) in batch {
                        pending[j].failed = Some(ClassifyError::Inference(e.to_string()));
                    }
                }
            }
            start = end;
        }
        for p in pending {
            let answer = match p.failed {
                Some(e) => Err(e),
                None => p
                    .results
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| ClassifyError::Inference("missing prediction".into())),
            };
            let _ = p.job.reply.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Label;
    use std::sync::{Arc, Mutex};

    /// Labels by text length parity and records batch sizes: a fake for testing the batching only.
    struct Fake {
        batches: Arc<Mutex<Vec<usize>>>,
    }

    impl Classifier for Fake {
        fn version(&self) -> &str {
            "fake"
        }
        fn classify(&mut self, texts: &[&str]) -> Result<Vec<Prediction>, ModelError> {
            self.batches.lock().expect("lock").push(texts.len());
            Ok(texts
                .iter()
                .map(|t| {
                    let p = if t.len() % 2 == 0 { [0.8, 0.1, 0.1] } else { [0.1, 0.1, 0.8] };
                    Prediction::from_probabilities(p)
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn answers_in_request_order_within_token_budget() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let recorded = batches.clone();
        let options = BatchOptions { max_batch_tokens: 64, max_batch_texts: 8, queue_capacity: 16 };
        let handle =
            ClassifierHandle::spawn(move || Ok(Box::new(Fake { batches: recorded }) as Box<dyn Classifier>), options);
        assert_eq!(handle.ready().await, ModelState::Ready("fake".into()));
        let texts: Vec<String> = (0..40).map(|i| "x".repeat(i + 1)).collect();
        let predictions = handle.classify(texts.clone(), None).await.expect("classify");
        for (t, p) in texts.iter().zip(&predictions) {
            let expected = if t.len() % 2 == 0 { Label::Negative } else { Label::Positive };
            assert_eq!(p.label, expected, "{t}");
        }
        let sizes = batches.lock().expect("lock").clone();
        assert!(sizes.iter().skip(1).all(|&n| n <= 8), "{sizes:?}");
        assert_eq!(sizes.iter().skip(1).sum::<usize>(), 40);
    }

    #[tokio::test]
    async fn expired_deadline_and_failed_load_are_reported() {
        let handle = ClassifierHandle::spawn(|| Err(ModelError::Load("no weights".into())), BatchOptions::default());
        assert!(matches!(handle.ready().await, ModelState::Failed(_)));
        let err = handle.classify(vec!["x".into()], None).await.expect_err("failed model");
        assert!(matches!(err, ClassifyError::Unavailable(_)));

        let batches = Arc::new(Mutex::new(Vec::new()));
        let ok = ClassifierHandle::spawn(
            move || Ok(Box::new(Fake { batches }) as Box<dyn Classifier>),
            BatchOptions::default(),
        );
        ok.ready().await;
        let err = ok.classify(vec!["x".into()], Some(Duration::ZERO)).await.expect_err("deadline");
        assert_eq!(err, ClassifyError::DeadlineExceeded);
    }
}
