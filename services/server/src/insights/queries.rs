//! Volume, sentiment summary, share of voice, top authors and trending terms: request checks, then the
//! index aggregations on the blocking pool.

use earshot_indexer::insights::authors::{top_authors, AuthorCounts};
use earshot_indexer::insights::calendar::{self, edges, parse_zone};
use earshot_indexer::insights::sentiment::{sentiment, SentimentCounts};
use earshot_indexer::insights::terms::{term_counts, ScoredTerm, TermRanges};
use earshot_indexer::insights::volume::{volume, Split, VolumeParams};
use earshot_proto::v1::{
    AuthorStats, Dimension, Interval, LanguageSentiment, SentimentStats, SentimentSummaryRequest,
    SentimentSummaryResponse, ShareOfVoiceRequest, ShareOfVoiceResponse, TermScore, TopAuthorsRequest,
    TopAuthorsResponse, TopicShare, TrendingTermsRequest, TrendingTermsResponse, VolumeBucket, VolumeRequest,
    VolumeResponse,
};

use super::{seconds, InsightsDomain, InsightsError, Scope};

/// Most topics in one share-of-voice call.
pub const MAX_SOV_TOPICS: usize = 20;

fn ts(secs: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: secs, nanos: 0 })
}

/// The calendar interval of a request (day when unspecified).
pub fn interval_of(value: i32, field: &str) -> Result<calendar::Interval, InsightsError> {
    Ok(match Interval::try_from(value) {
        Ok(Interval::Hour) => calendar::Interval::Hour,
        Ok(Interval::Day | Interval::Unspecified) => calendar::Interval::Day,
        Ok(Interval::Week) => calendar::Interval::Week,
        Ok(Interval::Month) => calendar::Interval::Month,
        Err(_) => return Err(InsightsError::invalid(field, "unknown interval")),
    })
}

fn split_of(value: i32) -> Result<Option<Split>, InsightsError> {
    Ok(match Dimension::try_from(value) {
        Ok(Dimension::Unspecified) => None,
        Ok(Dimension::Sentiment) => Some(Split::Sentiment),
        Ok(Dimension::Source) => Some(Split::Source),
        Ok(Dimension::Language) => Some(Split::Language),
        Ok(Dimension::EngagementType) => Some(Split::EngagementType),
        Err(_) => return Err(InsightsError::invalid("split_by", "unknown dimension")),
    })
}

/// Sentiment counts as the API's stats.
pub fn stats(c: &SentimentCounts) -> SentimentStats {
    SentimentStats {
        positive: c.positive,
        neutral: c.neutral,
        negative: c.negative,
        unclassified: c.unclassified,
        positive_share: c.share(c.positive),
        neutral_share: c.share(c.neutral),
        negative_share: c.share(c.negative),
        net_sentiment: c.net_sentiment(),
        mean_score: c.mean_score(),
        total: c.total(),
    }
}

/// A scored term as the API's.
pub fn term_score(t: &ScoredTerm) -> TermScore {
    TermScore {
        term: t.term.clone(),
        foreground_count: t.foreground,
        background_count: t.background,
        score: t.score,
        hashtag: t.term.starts_with('#'),
    }
}

fn author(a: &AuthorCounts) -> AuthorStats {
    AuthorStats {
        author_id: a.key.clone(),
        handle: a.handle.clone(),
        mentions: a.mentions,
        followers: a.followers,
        engagement: a.engagement,
    }
}

fn limit(value: u32, default: usize, max: usize, field: &str) -> Result<usize, InsightsError> {
    match value as usize {
        0 => Ok(default),
        n if n > max => Err(InsightsError::invalid(field, &format!("must be at most {max}"))),
        n => Ok(n),
    }
}

impl InsightsDomain {
    /// Sentiment counts of a scope. Blocking.
    pub fn sentiment_blocking(&self, scope: &Scope) -> Result<SentimentCounts, InsightsError> {
        let searcher = self.searcher();
        let q = self.query(&searcher, scope, None)?;
        Ok(sentiment(&searcher, &*q)?)
    }

    /// Sentiment counts of a scope per language. Blocking.
    pub fn sentiment_by_language_blocking(
        &self,
        scope: &Scope,
    ) -> Result<Vec<(String, SentimentCounts)>, InsightsError> {
        let searcher = self.searcher();
        let q = self.query(&searcher, scope, None)?;
        Ok(earshot_indexer::insights::sentiment::sentiment_by_language(&searcher, &*q)?)
    }

    /// Mentions per calendar bucket.
    pub async fn volume(&self, tenant: &str, req: VolumeRequest) -> Result<VolumeResponse, InsightsError> {
        let scope = self.scope(tenant, req.scope.as_ref())?;
        let interval = interval_of(req.interval, "interval")?;
        let tz = parse_zone(&req.time_zone)?;
        let split = split_of(req.split_by)?;
        let e = edges(scope.from, scope.to, interval, tz)?;
        self.blocking(move |d| {
            let searcher = d.searcher();
            let q = d.query(&searcher, &scope, None)?;
            let counts = volume(&searcher, &*q, VolumeParams { edges: e.clone(), split })?;
            let total = counts.iter().map(|c| c.total).sum();
            let buckets = counts
                .into_iter()
                .zip(e.windows(2))
                .map(|(c, w)| VolumeBucket {
                    start: ts(w[0]),
                    end: ts(w[1]),
                    label: calendar::label(w[0], tz),
                    total: c.total,
                    originals: c.originals,
                    reposts: c.reposts,
                    quotes: c.quotes,
                    split: c.split.into_iter().collect(),
                })
                .collect();
            Ok(VolumeResponse { buckets, total })
        })
        .await
    }

    /// Sentiment now and in the period of the same length before.
    pub async fn sentiment_summary(
        &self,
        tenant: &str,
        req: SentimentSummaryRequest,
    ) -> Result<SentimentSummaryResponse, InsightsError> {
        let scope = self.scope(tenant, req.scope.as_ref())?;
        self.blocking(move |d| {
            let now = d.sentiment_blocking(&scope)?;
            let by_language = d.sentiment_by_language_blocking(&scope)?;
            let before = d.sentiment_blocking(&scope.with_range((scope.from - scope.len()).max(0), scope.from))?;
            let volume_change = if before.total() == 0 {
                0.0
            } else {
                (now.total() as f64 - before.total() as f64) / before.total() as f64
            };
            Ok(SentimentSummaryResponse {
                current: Some(stats(&now)),
                previous: Some(stats(&before)),
                net_sentiment_change: now.net_sentiment() - before.net_sentiment(),
                mean_score_change: now.mean_score() - before.mean_score(),
                volume_change,
                by_language: by_language
                    .into_iter()
                    .map(|(language, counts)| LanguageSentiment {
                        share: if now.total() == 0 { 0.0 } else { counts.total() as f64 / now.total() as f64 },
                        language,
                        stats: Some(stats(&counts)),
                    })
                    .collect(),
            })
        })
        .await
    }

    /// Volume, share and sentiment of several topics over one period.
    pub async fn share_of_voice(
        &self,
        tenant: &str,
        req: ShareOfVoiceRequest,
    ) -> Result<ShareOfVoiceResponse, InsightsError> {
        let mut base = self.scope(tenant, req.scope.as_ref())?;
        if req.topics.is_empty() || req.topics.len() > MAX_SOV_TOPICS {
            return Err(InsightsError::invalid("topics", &format!("give 1 to {MAX_SOV_TOPICS} topics")));
        }
        let mut scopes = Vec::new();
        for (i, t) in req.topics.iter().enumerate() {
            base.query = match t.strip_prefix("query:") {
                Some(q) => q.to_owned(),
                None => self.topic_query(tenant, t, &format!("topics[{i}]"))?,
            };
            scopes.push((t.clone(), base.clone()));
        }
        self.blocking(move |d| {
            let mut rows = Vec::new();
            for (name, scope) in &scopes {
                rows.push((name.clone(), d.sentiment_blocking(scope)?));
            }
            let total: u64 = rows.iter().map(|(_, c)| c.total()).sum();
            let topics = rows
                .into_iter()
                .map(|(topic, c)| TopicShare {
                    topic,
                    volume: c.total(),
                    share: if total == 0 { 0.0 } else { c.total() as f64 / total as f64 },
                    sentiment: Some(stats(&c)),
                })
                .collect();
            Ok(ShareOfVoiceResponse { topics, total })
        })
        .await
    }

    /// Top authors three ways, and unique authors.
    pub async fn top_authors(&self, tenant: &str, req: TopAuthorsRequest) -> Result<TopAuthorsResponse, InsightsError> {
        let scope = self.scope(tenant, req.scope.as_ref())?;
        let n = limit(req.limit, 10, 1000, "limit")?;
        self.blocking(move |d| {
            let searcher = d.searcher();
            let q = d.query(&searcher, &scope, None)?;
            let top = top_authors(&searcher, &*q, n)?;
            Ok(TopAuthorsResponse {
                by_mentions: top.by_mentions.iter().map(author).collect(),
                by_reach: top.by_reach.iter().map(author).collect(),
                by_engagement: top.by_engagement.iter().map(author).collect(),
                unique_authors: top.unique,
            })
        })
        .await
    }

    /// Significant terms, significant hashtags and emerging terms of the window against a background.
    pub async fn trending_terms(
        &self,
        tenant: &str,
        req: TrendingTermsRequest,
    ) -> Result<TrendingTermsResponse, InsightsError> {
        let scope = self.scope(tenant, req.scope.as_ref())?;
        let n = limit(req.limit, 20, 200, "limit")?;
        let min_count = if req.min_count == 0 { 3 } else { u64::from(req.min_count) };
        let background = match (&req.background_from, &req.background_to) {
            (None, None) => ((scope.from - 4 * scope.len()).max(0), scope.from),
            (f, t) => {
                let bf = seconds("background_from", f.as_ref())?;
                let bt = seconds("background_to", t.as_ref())?;
                if bf >= bt {
                    return Err(InsightsError::invalid("background_to", "must be after background_from"));
                }
                if bf < scope.to && scope.from < bt {
                    return Err(InsightsError::invalid(
                        "background_from",
                        "the background must not overlap the window",
                    ));
                }
                (bf, bt)
            }
        };
        if background.0 >= background.1 {
            return Err(InsightsError::invalid("scope.from", "leaves no room for a background period before it"));
        }
        let ranges = TermRanges { foreground: (scope.from, scope.to), background };
        self.blocking(move |d| d.trending_blocking(&scope, ranges, n, min_count, None)).await
    }

    /// Trending terms of `scope` against `ranges.background`, among mentions with sentiment `label` when
    /// given. Blocking.
    pub fn trending_blocking(
        &self,
        scope: &Scope,
        ranges: TermRanges,
        n: usize,
        min_count: u64,
        label: Option<&str>,
    ) -> Result<TrendingTermsResponse, InsightsError> {
        let searcher = self.searcher();
        let cover = scope
            .with_range(ranges.foreground.0.min(ranges.background.0), ranges.foreground.1.max(ranges.background.1));
        let q = self.query(&searcher, &cover, label.map(|l| self.label_query(l)))?;
        let counts = term_counts(&searcher, &*q, ranges)?;
        Ok(TrendingTermsResponse {
            significant: counts.significant(n, min_count, |_| true).iter().map(term_score).collect(),
            hashtags: counts.significant(n, min_count, |t| t.starts_with('#')).iter().map(term_score).collect(),
            emerging: counts.emerging(n, min_count, ranges).iter().map(term_score).collect(),
            foreground_total: counts.foreground_total,
            background_total: counts.background_total,
        })
    }
}
