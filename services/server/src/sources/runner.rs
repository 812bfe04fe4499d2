//! One task per running source: poll, store what came through the ingest path, and only then save the
//! checkpoint; wait the poll interval, or the backoff after a failure, or what the platform asked for.
//!
//! Ordering is the whole durability story: `Ingestor::store` returns once every accepted mention is in
//! the write-ahead log (fsynced), and the checkpoint is written after that. A kill between the two
//! re-reads the same items on the next start, which ingest's (tenant, id) dedupe drops.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use earshot_proto::v1::{IngestStatus, Mention};
use parking_lot::Mutex;
use tokio::sync::watch;
use tracing::{debug, warn};

use super::backoff::{Backoff, BACKOFF_CAP};
use super::bluesky::BlueskyPoller;
use super::checkpoint::{Checkpoint, CheckpointDir};
use super::feed::FeedPoller;
use super::http::{Batch, PollError, Poller};
use super::jetstream::JetstreamPoller;
use super::lease::{self, SourceLease};
use super::mastodon::MastodonPoller;
use super::reddit::RedditPoller;
use super::store::{Kind, SourceConfig};
use crate::ingest::Ingestor;
use crate::metrics;

/// Where a source stands (what `ListSources` and the metrics show).
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Creation time (Unix ms) of the newest item stored.
    pub last_item_ms: Option<i64>,
    /// When the last poll ended (Unix ms).
    pub last_poll_ms: Option<i64>,
    /// When the next poll starts (Unix ms).
    pub next_poll_ms: Option<i64>,
    /// The last failure, empty after a success.
    pub last_error: String,
    /// Failures in a row.
    pub consecutive_errors: u32,
    /// Failures since start.
    pub errors_total: u64,
    /// Mentions accepted since start.
    pub mentions_total: u64,
    /// Whether a task runs the source.
    pub running: bool,
    /// Another replica holds the source's lease: this one waits.
    pub standby: bool,
}

/// What every source task needs: where to store, where checkpoints live, the HTTP client.
pub struct Runner {
    /// The ingest path (validation, redaction, dedupe, log).
    pub ingestor: Arc<Ingestor>,
    /// Checkpoint files.
    pub checkpoints: CheckpointDir,
    /// Shared HTTP client.
    pub client: reqwest::Client,
    /// Largest batch `Ingestor::store` takes.
    pub max_batch: usize,
    /// With several replicas: who runs which source.
    pub lease: Option<Arc<dyn SourceLease>>,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Runner {
    fn poller(&self, source: &SourceConfig) -> Box<dyn Poller> {
        let client = self.client.clone();
        let or = |value: &str, default: &str| if value.is_empty() { default.to_owned() } else { value.to_owned() };
        match source.kind {
            Kind::Feed => Box::new(FeedPoller { client, url: source.url.clone() }),
            Kind::Mastodon => Box::new(MastodonPoller {
                client,
                base: source.url.clone(),
                hashtag: source.query.clone(),
                token: source.secret(),
            }),
            Kind::Bluesky => Box::new(BlueskyPoller {
                client,
                base: or(&source.url, super::bluesky::DEFAULT_BASE),
                query: source.query.clone(),
            }),
            Kind::Reddit => Box::new(RedditPoller {
                client,
                base: or(&source.url, super::reddit::DEFAULT_BASE),
                token_url: or(&source.token_url, super::reddit::DEFAULT_TOKEN_URL),
                query: source.query.clone(),
                subreddit: source.subreddit.clone(),
                client_id: source.client_id.clone(),
                secret: source.secret(),
                token: None,
            }),
            Kind::Jetstream => Box::new(JetstreamPoller::new(
                or(&source.url, super::jetstream::DEFAULT_URL),
                &source.query,
                source.poll_interval(),
            )),
        }
    }

    /// Stores `mentions` for `tenant`; returns how many were accepted (not duplicates). On error
    /// nothing after the failed chunk is stored, and the checkpoint must not move.
    async fn store(&self, tenant: &str, mentions: Vec<Mention>) -> Result<u64, String> {
        let mut accepted = 0;
        let mut rest = mentions;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(self.max_batch.max(1)));
            let stored = self.ingestor.store(tenant, rest, true).await.map_err(|e| format!("storing: {e}"))?;
            let count = |s: IngestStatus| stored.results.iter().filter(|r| r.status == s as i32).count() as u64;
            let counts = [IngestStatus::Accepted, IngestStatus::Duplicate, IngestStatus::Rejected].map(count);
            metrics::global().ingested(counts[0], counts[1], counts[2]);
            if counts[2] > 0 {
                debug!(rejected = counts[2], "source items rejected by validation");
            }
            accepted += counts[0];
            rest = tail;
        }
        Ok(accepted)
    }

    /// Runs `source` of `tenant` until `stop` turns true.
    pub async fn run(
        self: Arc<Self>,
        tenant: String,
        source: SourceConfig,
        state: Arc<Mutex<State>>,
        mut stop: watch::Receiver<bool>,
    ) {
        let label = format!("{tenant}/{}", source.id);
        let mut checkpoint = match self.checkpoints.load(&source.id) {
            Ok(c) => c,
            Err(e) => {
                // A damaged checkpoint is not silently reset: starting over could skip items.
                let mut s = state.lock();
                s.last_error = format!("checkpoint unreadable ({e}); remove and add the source again");
                s.running = false;
                return;
            }
        };
        state.lock().last_item_ms = checkpoint.last_item_ms;
        let mut poller = self.poller(&source);
        let interval = source.poll_interval();
        let mut backoff = Backoff::new(interval.min(Duration::from_secs(1)), BACKOFF_CAP.max(interval));
        let lease_key = format!("{tenant}:{}", source.name.to_lowercase());
        loop {
            let polled = match self.leased(&lease_key, interval).await {
                Ok(false) => {
                    {
                        let mut s = state.lock();
                        s.standby = true;
                        s.next_poll_ms = Some(now_ms() + interval.as_millis() as i64);
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(interval) => continue,
                        _ = stop.wait_for(|s| *s) => break,
                    }
                }
                Ok(true) => {
                    state.lock().standby = false;
                    tokio::select! {
                        polled = poller.poll(&checkpoint) => polled,
                        _ = stop.wait_for(|s| *s) => break,
                    }
                }
                Err(e) => Err(e),
            };
            let outcome = match polled {
                Ok(batch) => self.commit(&tenant, &source.id, batch, &mut checkpoint).await,
                Err(e) => Err(e),
            };
            let wait = match outcome {
                Ok((accepted, asked)) => {
                    backoff.succeeded();
                    let mut s = state.lock();
                    s.mentions_total += accepted;
                    s.last_error.clear();
                    s.consecutive_errors = 0;
                    s.last_item_ms = checkpoint.last_item_ms;
                    metrics::global().source_poll(&label, "ok", accepted);
                    let pause = if poller.streaming() { Duration::ZERO } else { interval };
                    asked.map_or(pause, |w| w.max(pause))
                }
                Err(e) => {
                    let wait = match &e {
                        // The platform's own wait when it gave one (never less), else the backoff.
                        PollError::RateLimited { wait: Some(w), .. } => {
                            backoff.failed();
                            *w
                        }
                        _ => backoff.failed(),
                    };
                    warn!(source = %label, kind = source.kind.name(), error = %e, retry_in_ms = wait.as_millis() as u64, "source poll failed");
                    let mut s = state.lock();
                    s.last_error = e.to_string();
                    s.consecutive_errors = backoff.failures();
                    s.errors_total += 1;
                    let outcome = if matches!(e, PollError::RateLimited { .. }) { "rate_limited" } else { "error" };
                    metrics::global().source_poll(&label, outcome, 0);
                    wait
                }
            };
            {
                let mut s = state.lock();
                let now = now_ms();
                s.last_poll_ms = Some(now);
                s.next_poll_ms = Some(now + wait.as_millis() as i64);
                let lag = s.last_item_ms.map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0);
                metrics::global().source_state(&label, lag, s.consecutive_errors);
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        if let Some(lease) = &self.lease {
            lease.release(&lease_key).await;
        }
        let mut s = state.lock();
        (s.running, s.standby) = (false, false);
    }

    /// Whether this replica may poll now: always without a lease; otherwise once it holds (or renewed) it.
    async fn leased(&self, key: &str, interval: Duration) -> Result<bool, PollError> {
        match &self.lease {
            None => Ok(true),
            Some(l) => l.hold(key, lease::ttl(interval)).await.map_err(PollError::Failed),
        }
    }

    /// Stores a batch, then saves its checkpoint; returns the mentions accepted and any wait asked for.
    async fn commit(
        &self,
        tenant: &str,
        source_id: &str,
        batch: Batch,
        checkpoint: &mut Checkpoint,
    ) -> Result<(u64, Option<Duration>), PollError> {
        let accepted = self.store(tenant, batch.mentions).await.map_err(PollError::Failed)?;
        if batch.checkpoint != *checkpoint {
            let dir = self.checkpoints.clone();
            let (id, next) = (source_id.to_owned(), batch.checkpoint.clone());
            // An fsync and a rename: off the async workers.
            tokio::task::spawn_blocking(move || dir.save(&id, &next))
                .await
                .map_err(|e| PollError::Failed(format!("saving the checkpoint: {e}")))?
                .map_err(|e| PollError::Failed(format!("saving the checkpoint: {e}")))?;
            *checkpoint = batch.checkpoint;
        }
        Ok((accepted, batch.wait))
    }
}
