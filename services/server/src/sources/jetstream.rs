//! Bluesky's Jetstream: the firehose of new posts as JSON over a websocket
//! (`…/subscribe?wantedCollections=app.bsky.feed.post`). Jetstream cannot filter by words, so posts are
//! kept when their text contains one of the source's words (all posts without words).
//!
//! The connection stays open across polls: one poll gathers what arrives within the poll interval (or up
//! to [`MAX_EVENTS`]) and the runner stores it and saves the checkpoint, the `time_us` of the last event
//! read, before the next poll. A dropped connection ends the poll with what it had (an error when it had
//! nothing: the runner backs off) and the next one reconnects with `cursor` = that time, so Jetstream
//! replays what came in between; what it replays twice is dropped by ingest's dedupe.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::checkpoint::Checkpoint;
use super::http::{Batch, PollError, Poller};
use super::item_times;

/// Where the firehose comes from when the source names no address.
pub const DEFAULT_URL: &str = "wss://jetstream2.us-east.bsky.network/subscribe";
/// Most events gathered by one poll.
pub const MAX_EVENTS: usize = 1000;
/// Longest wait for the websocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads one Jetstream subscription.
pub struct JetstreamPoller {
    url: String,
    words: Vec<String>,
    window: Duration,
    socket: Option<WebSocketStream<MaybeTlsStream<TcpStream>>>,
}

impl JetstreamPoller {
    /// A subscription at `url` keeping posts with one of the whitespace-separated `words`, gathering for
    /// `window` per poll.
    pub fn new(url: String, words: &str, window: Duration) -> JetstreamPoller {
        let words = words.split_whitespace().map(str::to_lowercase).collect();
        JetstreamPoller { url, words, window, socket: None }
    }

    fn wanted(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        self.words.is_empty() || self.words.iter().any(|w| text.contains(w.as_str()))
    }

    async fn connect(&mut self, cursor: Option<i64>) -> Result<(), PollError> {
        let mut url = format!("{}?wantedCollections=app.bsky.feed.post", self.url);
        if let Some(c) = cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let connecting = tokio_tungstenite::connect_async(url.as_str());
        let (socket, _) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| PollError::Failed("websocket handshake timed out".into()))?
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Http(r) if r.status().as_u16() == 429 => {
                    PollError::RateLimited { status: 429, wait: None }
                }
                e => PollError::Failed(format!("websocket: {e}")),
            })?;
        self.socket = Some(socket);
        Ok(())
    }
}

impl Poller for JetstreamPoller {
    fn poll<'a>(&'a mut self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<Batch, PollError>> {
        Box::pin(async move {
            if self.socket.is_none() {
                self.connect(checkpoint.cursor_us).await?;
            }
            let deadline = tokio::time::Instant::now() + self.window;
            let mut events: Vec<Value> = Vec::new();
            let mut last_us = checkpoint.cursor_us;
            let mut dropped: Option<String> = None;
            while events.len() < MAX_EVENTS {
                let Some(socket) = self.socket.as_mut() else { break };
                let message = tokio::select! {
                    m = socket.next() => m,
                    _ = tokio::time::sleep_until(deadline) => break,
                };
                match message {
                    Some(Ok(Message::Text(text))) => {
                        let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                        if let Some(t) = event.get("time_us").and_then(Value::as_i64) {
                            last_us = Some(last_us.map_or(t, |l| l.max(t)));
                        }
                        events.push(event);
                    }
                    Some(Ok(Message::Close(_))) | None => {
                        dropped = Some("the websocket was closed".into());
                        self.socket = None;
                    }
                    Some(Err(e)) => {
                        dropped = Some(format!("websocket: {e}"));
                        self.socket = None;
                    }
                    Some(Ok(_)) => {}
                }
            }
            if let (true, Some(why)) = (events.is_empty(), dropped) {
                return Err(PollError::Failed(why));
            }
            let mut batch = Batch::default();
            for event in &events {
                let (mentions, _, outcome) =
                    earshot_sources::collect("jetstream", |out| earshot_sources::bluesky::map(event, "", out));
                batch.unreadable += outcome.unreadable;
                batch.mentions.extend(mentions.into_iter().filter(|m| self.wanted(&m.text)));
            }
            let mut next = checkpoint.clone();
            next.cursor_us = last_us;
            next.saw_items(item_times(&batch.mentions));
            batch.checkpoint = next;
            Ok(batch)
        })
    }

    fn streaming(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_case_insensitively_and_none_keeps_everything() {
        let p = JetstreamPoller::new(DEFAULT_URL.into(), "Rust  earshot", Duration::from_secs(1));
        assert!(p.wanted("I like RUST"));
        assert!(!p.wanted("I like Go"));
        assert!(JetstreamPoller::new(DEFAULT_URL.into(), "", Duration::from_secs(1)).wanted("anything"));
    }
}
