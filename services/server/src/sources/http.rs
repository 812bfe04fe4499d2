//! One HTTP exchange of a poller, and the [`Poller`] contract every kind implements.
//!
//! Responses are classified once here: a 429 (or a 503 with `Retry-After`) becomes
//! [`PollError::RateLimited`] with the wait the platform asked for; other failures become
//! [`PollError::Failed`] with a message that never carries a credential (URLs are dropped from
//! transport errors; secrets never go into URLs, only into headers).

use std::time::{Duration, SystemTime};

use earshot_proto::v1::Mention;
use futures::future::BoxFuture;
use reqwest::header::HeaderMap;

use super::backoff::{quota_spent, wait_from_headers};
use super::checkpoint::{item_times, Checkpoint};

/// Largest response body read (a feed or an API page).
const MAX_BODY: usize = 16 << 20;
/// Longest wait for one exchange.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a poll produced nothing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PollError {
    /// The platform asked us to slow down; `wait` is what its headers asked for, if they said.
    #[error("rate limited (HTTP {status})")]
    RateLimited {
        /// The HTTP status (429, or 503 with `Retry-After`).
        status: u16,
        /// How long the platform asked us to wait.
        wait: Option<Duration>,
    },
    /// Anything else: transport, HTTP status, unreadable body, credentials missing.
    #[error("{0}")]
    Failed(String),
}

/// What one poll read: the mentions (possibly none) and the checkpoint that is true once they are
/// durable.
#[derive(Debug, Default)]
pub struct Batch {
    /// New (or possibly repeated: ingest drops duplicates) mentions.
    pub mentions: Vec<Mention>,
    /// The checkpoint to save after the mentions are durable.
    pub checkpoint: Checkpoint,
    /// Items that could not be mapped.
    pub unreadable: u64,
    /// The platform's quota is spent: wait this long before the next poll.
    pub wait: Option<Duration>,
}

impl Batch {
    /// Adds one page of a listing read newest first (Bluesky search, Reddit); returns whether to stop
    /// paging: the page reaches back to the newest item stored, or this is a new source's first poll (one
    /// page), or there is no next page, or the quota is spent.
    pub fn add_newest_first(&mut self, page: Vec<Mention>, unreadable: u64, since_ms: Option<i64>, next: bool) -> bool {
        let oldest = item_times(&page).into_iter().min();
        let reached = oldest.is_none_or(|oldest| since_ms.is_none_or(|s| oldest <= s));
        self.unreadable += unreadable;
        self.mentions.extend(page);
        since_ms.is_none() || reached || !next || self.wait.is_some()
    }

    /// Ends a poll of a listing read newest first: the next poll reads back to the newest item of this one.
    pub fn finish_newest_first(mut self, checkpoint: &Checkpoint) -> Batch {
        let mut next = checkpoint.clone();
        next.saw_items(item_times(&self.mentions));
        next.since_ms = next.last_item_ms;
        self.checkpoint = next;
        self
    }
}

/// One kind of source: reads what is new after `checkpoint`.
pub trait Poller: Send {
    /// One poll (possibly several requests, e.g. pages).
    fn poll<'a>(&'a mut self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<Batch, PollError>>;

    /// A stream (a websocket) waits for events inside `poll`: the runner polls again at once.
    fn streaming(&self) -> bool {
        false
    }
}

/// A response that was not a failure.
pub struct Fetched {
    /// HTTP status (2xx or 304).
    pub status: u16,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Vec<u8>,
}

impl Fetched {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// The wait the platform asks for before the next call, when its quota is spent.
    pub fn quota_wait(&self) -> Option<Duration> {
        quota_spent(&self.headers).then(|| wait_from_headers(&self.headers, SystemTime::now())).flatten()
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value, PollError> {
        serde_json::from_slice(&self.body).map_err(|e| PollError::Failed(format!("response is not JSON: {e}")))
    }
}

/// The client every poller shares: rustls, a timeout, earshot's user agent.
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(concat!("earshot/", env!("CARGO_PKG_VERSION"), " (social listening)"))
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())
}

/// Sends `request` and classifies the answer.
pub async fn send(request: reqwest::RequestBuilder) -> Result<Fetched, PollError> {
    let mut response = request.send().await.map_err(|e| PollError::Failed(transport(e)))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let asked = wait_from_headers(&headers, SystemTime::now());
    if status == 429 || (status == 503 && asked.is_some()) {
        return Err(PollError::RateLimited { status, wait: asked });
    }
    if !(200..300).contains(&status) && status != 304 {
        let host = response.url().host_str().unwrap_or_default().to_owned();
        return Err(PollError::Failed(format!("HTTP {status} from {host}")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| PollError::Failed(transport(e)))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(PollError::Failed(format!("response larger than {} MiB", MAX_BODY >> 20)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { status, headers, body })
}

/// A transport error without its URL, with its causes (a refused or reset connection says so).
fn transport(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
