//! Bluesky: `app.bsky.feed.searchPosts` of a query, newest first (`sort=latest`), with `since` set to the
//! newest post stored; the `cursor` pages back until a page reaches that time (or ends). The first poll
//! of a new source reads one page. The public AppView needs no credentials.

use futures::future::BoxFuture;

use super::checkpoint::Checkpoint;
use super::http::{send, Batch, PollError, Poller};

/// Posts per page (the API's maximum).
const PAGE: &str = "100";
/// Pages read per poll at most.
const MAX_PAGES: usize = 10;
/// Where searches go when the source names no address.
pub const DEFAULT_BASE: &str = "https://public.api.bsky.app";

/// Polls one Bluesky search.
pub struct BlueskyPoller {
    /// Shared HTTP client.
    pub client: reqwest::Client,
    /// The AppView, e.g. `https://public.api.bsky.app`.
    pub base: String,
    /// The search words.
    pub query: String,
}

impl Poller for BlueskyPoller {
    fn poll<'a>(&'a mut self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<Batch, PollError>> {
        Box::pin(async move {
            let url = format!("{}/xrpc/app.bsky.feed.searchPosts", self.base.trim_end_matches('/'));
            let since = checkpoint.since_ms.and_then(chrono::DateTime::from_timestamp_millis);
            let mut batch = Batch::default();
            let mut cursor: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let mut request =
                    self.client.get(&url).query(&[("q", self.query.as_str()), ("sort", "latest"), ("limit", PAGE)]);
                if let Some(since) = since {
                    request = request.query(&[("since", since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))]);
                }
                if let Some(c) = &cursor {
                    request = request.query(&[("cursor", c)]);
                }
                let fetched = send(request).await?;
                batch.wait = fetched.quota_wait();
                let value = fetched.json()?;
                let (mentions, _, outcome) =
                    earshot_sources::collect("bluesky", |out| earshot_sources::bluesky::map(&value, "", out));
                cursor = value.get("cursor").and_then(|c| c.as_str()).map(str::to_owned);
                if batch.add_newest_first(mentions, outcome.unreadable, checkpoint.since_ms, cursor.is_some()) {
                    break;
                }
            }
            Ok(batch.finish_newest_first(checkpoint))
        })
    }
}
