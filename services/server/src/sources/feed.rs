//! RSS / Atom: one conditional GET per poll (`If-None-Match` / `If-Modified-Since` from the checkpoint);
//! a 304 is a poll with nothing new. A changed feed is mapped whole: entries already stored are dropped
//! by ingest's dedupe, so an entry is never missed because the feed reordered or edited itself.

use futures::future::BoxFuture;

use super::checkpoint::Checkpoint;
use super::http::{send, Batch, PollError, Poller};
use super::item_times;

/// Polls one feed.
pub struct FeedPoller {
    /// Shared HTTP client.
    pub client: reqwest::Client,
    /// The feed's address.
    pub url: String,
}

impl Poller for FeedPoller {
    fn poll<'a>(&'a mut self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<Batch, PollError>> {
        Box::pin(async move {
            let mut request = self.client.get(&self.url);
            if let Some(etag) = &checkpoint.etag {
                request = request.header("if-none-match", etag);
            }
            if let Some(modified) = &checkpoint.last_modified {
                request = request.header("if-modified-since", modified);
            }
            let fetched = send(request).await?;
            let wait = fetched.quota_wait();
            if fetched.status == 304 {
                return Ok(Batch { checkpoint: checkpoint.clone(), wait, ..Default::default() });
            }
            let (mentions, _, outcome) =
                earshot_sources::collect("feed", |out| earshot_sources::feed::read(fetched.body.as_slice(), out));
            if let Some(why) = outcome.fatal {
                return Err(PollError::Failed(why));
            }
            let mut next = checkpoint.clone();
            next.etag = fetched.header("etag");
            next.last_modified = fetched.header("last-modified");
            next.saw_items(item_times(&mentions));
            Ok(Batch { mentions, checkpoint: next, unreadable: outcome.unreadable, wait })
        })
    }
}
