//! Reddit: a search (`/search` or `/r/<sub>/search` with `restrict_sr`) sorted by new, or the newest posts
//! of a subreddit (`/r/<sub>/new`), through the OAuth API with an application-only token
//! (client-credentials grant: the client id and secret in Basic auth). The token is kept until shortly
//! before it expires and fetched again after a 401. Listings page back with `after` until they reach
//! the newest item stored; the first poll of a new source reads one page.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::checkpoint::Checkpoint;
use super::http::{send, Batch, PollError, Poller};
use super::store::Secret;

/// Items per page (the API's maximum).
const PAGE: &str = "100";
/// Pages read per poll at most.
const MAX_PAGES: usize = 5;
/// Where API calls go when the source names no address.
pub const DEFAULT_BASE: &str = "https://oauth.reddit.com";
/// Where tokens come from when the source names no endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://www.reddit.com/api/v1/access_token";

/// Polls one Reddit search or subreddit.
pub struct RedditPoller {
    /// Shared HTTP client.
    pub client: reqwest::Client,
    /// API base address.
    pub base: String,
    /// Token endpoint.
    pub token_url: String,
    /// Search words (may be empty with a subreddit).
    pub query: String,
    /// Subreddit without `r/` (may be empty with a query).
    pub subreddit: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub secret: Option<Secret>,
    /// The current token and when to stop using it.
    pub token: Option<(Secret, Instant)>,
}

impl RedditPoller {
    async fn token(&mut self) -> Result<Secret, PollError> {
        if let Some((token, until)) = &self.token {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let secret = self.secret.as_ref().ok_or_else(|| PollError::Failed("no client secret configured".into()))?;
        let request = self
            .client
            .post(&self.token_url)
            .basic_auth(&self.client_id, Some(&secret.0))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials");
        let fetched = send(request).await.map_err(|e| match e {
            PollError::Failed(why) => PollError::Failed(format!("token request: {why}")),
            limited => limited,
        })?;
        let value = fetched.json()?;
        let Some(token) = value.get("access_token").and_then(|t| t.as_str()) else {
            return Err(PollError::Failed("token response without access_token".into()));
        };
        let lifetime = value.get("expires_in").and_then(|e| e.as_u64()).unwrap_or(3600);
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1));
        self.token = Some((Secret(token.to_owned()), until));
        Ok(Secret(token.to_owned()))
    }

    fn listing_url(&self) -> (String, Vec<(&'static str, String)>) {
        let base = self.base.trim_end_matches('/');
        let mut params = vec![("limit", PAGE.to_owned()), ("raw_json", "1".to_owned())];
        let url = match (self.query.is_empty(), self.subreddit.is_empty()) {
            (true, _) => format!("{base}/r/{}/new", self.subreddit),
            (false, true) => format!("{base}/search"),
            (false, false) => {
                params.push(("restrict_sr", "1".to_owned()));
                format!("{base}/r/{}/search", self.subreddit)
            }
        };
        if !self.query.is_empty() {
            params.extend([("q", self.query.clone()), ("sort", "new".to_owned())]);
        }
        (url, params)
    }
}

impl Poller for RedditPoller {
    fn poll<'a>(&'a mut self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<Batch, PollError>> {
        Box::pin(async move {
            let (url, params) = self.listing_url();
            let mut batch = Batch::default();
            let mut after: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let token = self.token().await?;
                let mut request = self.client.get(&url).query(&params).bearer_auth(&token.0);
                if let Some(a) = &after {
                    request = request.query(&[("after", a)]);
                }
                let fetched = match send(request).await {
                    Err(PollError::Failed(why)) if why.starts_with("HTTP 401") => {
                        self.token = None;
                        return Err(PollError::Failed(format!("{why} (token refused; a new one is fetched)")));
                    }
                    other => other?,
                };
                batch.wait = fetched.quota_wait();
                let value = fetched.json()?;
                let (mentions, _, outcome) =
                    earshot_sources::collect("reddit", |out| earshot_sources::reddit::map(&value, "", out));
                after = value.pointer("/data/after").and_then(|a| a.as_str()).map(str::to_owned);
                if batch.add_newest_first(mentions, outcome.unreadable, checkpoint.since_ms, after.is_some()) {
                    break;
                }
            }
            Ok(batch.finish_newest_first(checkpoint))
        })
    }
}
