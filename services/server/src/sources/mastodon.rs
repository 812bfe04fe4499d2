//! Mastodon: a hashtag timeline (`/api/v1/timelines/tag/:tag`) or the public timeline
//! (`/api/v1/timelines/public`) of an instance, paged forward from the newest status stored with
//! `min_id` (the statuses right after it, unlike `since_id`, which answers the newest page and leaves a
//! gap when more than a page arrived between polls). The first poll of a new source reads the newest page.
//! An access token, when given, goes in the `Authorization` header.

use futures::future::BoxFuture;

use super::checkpoint::Checkpoint;
use super::http::{send, Batch, PollError, Poller};
use super::item_times;
use super::store::Secret;

/// Statuses per page (Mastodon's maximum).
const PAGE: usize = 40;
/// Pages read per poll at most; the rest follows on the next poll.
const MAX_PAGES: usize = 10;

/// Polls one Mastodon timeline.
pub struct MastodonPoller {
    /// Shared HTTP client.
    pub client: reqwest::Client,
    /// The instance, e.g. `https://mastodon.social`.
    pub base: String,
    /// The hashtag without `#`; empty for the public timeline.
    pub hashtag: String,
    /// Access token.
    pub token: Option<Secret>,
}

/// Mastodon ids are decimal snowflakes in strings: longer is newer, then by text.
fn newer(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

impl MastodonPoller {
    fn url(&self) -> String {
        let base = self.base.trim_end_matches('/');
        if self.hashtag.is_empty() {
            format!("{base}/api/v1/timelines/public")
        } else {
            format!("{base}/api/v1/timelines/tag/{}", self.hashtag)
        }
    }
}

impl Poller for MastodonPoller {
    fn poll<'a>(&'a mut self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<Batch, PollError>> {
        Box::pin(async move {
            let mut next = checkpoint.clone();
            let mut batch = Batch::default();
            for _ in 0..MAX_PAGES {
                let mut request = self.client.get(self.url()).query(&[("limit", PAGE.to_string())]);
                if let Some(min_id) = &next.since_id {
                    request = request.query(&[("min_id", min_id)]);
                }
                if let Some(token) = &self.token {
                    request = request.bearer_auth(&token.0);
                }
                let fetched = send(request).await?;
                batch.wait = fetched.quota_wait();
                let value = fetched.json()?;
                let statuses = value.as_array().map_or(0, Vec::len);
                let newest =
                    value.as_array().into_iter().flatten().filter_map(|s| s.get("id").and_then(|id| id.as_str())).fold(
                        None::<&str>,
                        |best, id| match best {
                            Some(b) if !newer(id, b) => Some(b),
                            _ => Some(id),
                        },
                    );
                let (mentions, _, outcome) =
                    earshot_sources::collect("mastodon", |out| earshot_sources::mastodon::map(&value, "", out));
                batch.unreadable += outcome.unreadable;
                next.saw_items(item_times(&mentions));
                batch.mentions.extend(mentions);
                if let Some(id) = newest {
                    if next.since_id.as_deref().is_none_or(|old| newer(id, old)) {
                        next.since_id = Some(id.to_owned());
                    }
                }
                // A short page is the end; so is the first poll of a new source (start from now).
                if statuses < PAGE || checkpoint.since_id.is_none() || batch.wait.is_some() {
                    break;
                }
            }
            batch.checkpoint = next;
            Ok(batch)
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn snowflakes_compare_by_length_then_text() {
        assert!(super::newer("117440841601474392", "99440841601474392"));
        assert!(super::newer("117440841601474393", "117440841601474392"));
        assert!(!super::newer("9", "10"));
    }
}
