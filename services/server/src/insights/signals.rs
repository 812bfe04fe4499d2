//! Spikes with their explanations, the incident signal, KPI correlation and the perception gap.

use earshot_indexer::insights::authors::top_authors;
use earshot_indexer::insights::calendar::{self, bucket_of, fixed_edges};
use earshot_indexer::insights::sentiment::net_sentiment;
use earshot_indexer::insights::terms::TermRanges;
use earshot_indexer::insights::volume::{volume, BucketCounts, Split, VolumeParams};
use earshot_proto::v1::{
    CorrelateRequest, CorrelateResponse, IncidentSignalRequest, IncidentSignalResponse, Interval, KeyCount,
    LagCorrelation, PerceptionGapRequest, PerceptionGapResponse, PerceptionPoint, SeriesMetric, SeriesPoint, Spike,
    SpikeMetric, SpikeSettings, SpikesRequest, SpikesResponse,
};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query};

use super::correlate::{best, cross_correlate, p_value, pearson, statement};
use super::kpi::bucket_means;
use super::queries::interval_of;
use super::spikes::{detect, SpikeConfig};
use super::{InsightsDomain, InsightsError, Scope};

fn ts(secs: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: secs, nanos: 0 })
}

/// Spike settings of a request, defaults filled in and checked.
pub fn spike_config(s: Option<&SpikeSettings>) -> Result<SpikeConfig, InsightsError> {
    let d = SpikeConfig::default();
    let Some(s) = s else { return Ok(d) };
    let c = SpikeConfig {
        bucket_secs: if s.bucket_seconds == 0 { d.bucket_secs } else { i64::from(s.bucket_seconds) },
        baseline_days: if s.baseline_days == 0 { d.baseline_days } else { s.baseline_days },
        threshold: if s.threshold == 0.0 { d.threshold } else { s.threshold },
        release: if s.release == 0.0 { d.release } else { s.release },
        min_count: if s.min_count == 0 { d.min_count } else { u64::from(s.min_count) },
    };
    if c.bucket_secs < 60 || 86_400 % c.bucket_secs != 0 {
        return Err(InsightsError::invalid("settings.bucket_seconds", "must be at least 60 and divide a day (86400)"));
    }
    if c.baseline_days > 56 {
        return Err(InsightsError::invalid("settings.baseline_days", "must be at most 56"));
    }
    if !c.threshold.is_finite() || !c.release.is_finite() || c.release > c.threshold {
        return Err(InsightsError::invalid("settings.release", "must be a number not above the threshold"));
    }
    Ok(c)
}

/// Label a spike metric counts (`None`: every mention).
pub fn metric_label(metric: i32) -> Result<Option<&'static str>, InsightsError> {
    match SpikeMetric::try_from(metric) {
        Ok(SpikeMetric::Unspecified | SpikeMetric::Volume) => Ok(None),
        Ok(SpikeMetric::Negative) => Ok(Some("negative")),
        Err(_) => Err(InsightsError::invalid("metric", "unknown metric")),
    }
}

/// What selects the mentions of a series: a sentiment label, or any extra query.
pub enum Filter {
    /// Every mention of the scope.
    All,
    /// Mentions with this sentiment label.
    Label(&'static str),
    /// Mentions matching this query too.
    Query(Box<dyn Query>),
}

impl Filter {
    fn extra(&self, d: &InsightsDomain) -> Option<Box<dyn Query>> {
        match self {
            Filter::All => None,
            Filter::Label(l) => Some(d.label_query(l)),
            Filter::Query(q) => Some(q.box_clone()),
        }
    }

    fn label(&self) -> Option<&'static str> {
        match self {
            Filter::Label(l) => Some(l),
            _ => None,
        }
    }
}

impl InsightsDomain {
    /// Counts of `scope` per bucket of `edges`. Blocking.
    pub fn counts_blocking(
        &self,
        scope: &Scope,
        edges: Vec<i64>,
        filter: &Filter,
        split: Option<Split>,
    ) -> Result<Vec<BucketCounts>, InsightsError> {
        let searcher = self.searcher();
        // Buckets may start before `scope.from` (baseline, aligned edges) but never count past `scope.to`.
        let whole = scope.with_range(edges[0], edges.last().map_or(scope.to, |&e| e.min(scope.to)));
        let q = self.query(&searcher, &whole, filter.extra(self))?;
        Ok(volume(&searcher, &*q, VolumeParams { edges, split })?)
    }

    /// Spikes of `scope` (baseline read from before `scope.from`), each explained. Blocking.
    pub fn spikes_blocking(
        &self,
        scope: &Scope,
        filter: &Filter,
        config: &SpikeConfig,
    ) -> Result<SpikesResponse, InsightsError> {
        Ok(self.spikes_scored(scope, filter, config)?.0)
    }

    /// [`Self::spikes_blocking`] and the z-score of the last bucket. Blocking.
    pub fn spikes_scored(
        &self,
        scope: &Scope,
        filter: &Filter,
        config: &SpikeConfig,
    ) -> Result<(SpikesResponse, f64), InsightsError> {
        let edges = fixed_edges((scope.from - config.baseline_secs()).max(0), scope.to, config.bucket_secs)?;
        let first = bucket_of(&edges, scope.from).unwrap_or(0);
        let series: Vec<f64> =
            self.counts_blocking(scope, edges.clone(), filter, None)?.iter().map(|c| c.total as f64).collect();
        let (detected, scores) = detect(&series, first, config);
        let mut spikes = Vec::new();
        for s in detected {
            let (start, end) = (edges[s.start], edges[s.end]);
            let mut spike = Spike {
                start: ts(start),
                end: ts(end),
                peak: ts(edges[s.peak]),
                peak_count: series[s.peak] as u64,
                expected: scores[s.peak].expected,
                z_score: scores[s.peak].z,
                ..Default::default()
            };
            self.explain(scope, filter, config, start, end, &mut spike)?;
            spikes.push(spike);
        }
        let last_z = scores.last().map_or(0.0, |s| s.z);
        let series = (first..series.len())
            .map(|i| SeriesPoint { start: ts(edges[i]), value: series[i], expected: scores[i].expected })
            .collect();
        Ok((SpikesResponse { spikes, series }, last_z))
    }

    /// What drove a spike over `[start, end)`: terms significant against the baseline days before it,
    /// the authors and sources with the most mentions in it. Blocking.
    fn explain(
        &self,
        scope: &Scope,
        filter: &Filter,
        config: &SpikeConfig,
        start: i64,
        end: i64,
        spike: &mut Spike,
    ) -> Result<(), InsightsError> {
        let window = scope.with_range(start, end);
        let ranges =
            TermRanges { foreground: (start, end), background: ((start - config.baseline_secs()).max(0), start) };
        if ranges.background.0 < ranges.background.1 {
            let terms = match filter {
                Filter::Query(_) => self.trending_blocking(&window, ranges, 5, 2, None)?,
                _ => self.trending_blocking(&window, ranges, 5, 2, filter.label())?,
            };
            spike.top_terms = terms.significant;
        }
        let searcher = self.searcher();
        let q = self.query(&searcher, &window, filter.extra(self))?;
        spike.top_authors = top_authors(&searcher, &*q, 5)?
            .by_mentions
            .into_iter()
            .map(|a| KeyCount { key: a.key, count: a.mentions })
            .collect();
        let sources = volume(&searcher, &*q, VolumeParams { edges: vec![start, end], split: Some(Split::Source) })?;
        let mut by_source: Vec<KeyCount> =
            sources.into_iter().flat_map(|b| b.split).map(|(key, count)| KeyCount { key, count }).collect();
        by_source.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        by_source.truncate(5);
        spike.top_sources = by_source;
        Ok(())
    }

    /// Spikes of a scope.
    pub async fn spikes(&self, tenant: &str, req: SpikesRequest) -> Result<SpikesResponse, InsightsError> {
        let scope = self.scope(tenant, req.scope.as_ref())?;
        let config = spike_config(req.settings.as_ref())?;
        let filter = match metric_label(req.metric)? {
            Some(l) => Filter::Label(l),
            None => Filter::All,
        };
        self.blocking(move |d| d.spikes_blocking(&scope, &filter, &config)).await
    }

    /// Mentions using service-problem language and not labelled positive, as a series with spikes.
    pub async fn incident_signal(
        &self,
        tenant: &str,
        req: IncidentSignalRequest,
    ) -> Result<IncidentSignalResponse, InsightsError> {
        let mut scope = self.scope(tenant, req.scope.as_ref())?;
        let config = spike_config(req.settings.as_ref())?;
        // The request's own terms, else the tenant's, else every language's defaults.
        let terms: Vec<String> = if !req.problem_terms.is_empty() {
            req.problem_terms.clone()
        } else if let Some(own) = self.problem_terms.as_ref().and_then(|f| f(tenant)) {
            own
        } else {
            super::vocab::default_problem_terms()
        };
        if terms.len() > 100 {
            return Err(InsightsError::invalid("problem_terms", "at most 100 terms"));
        }
        for (i, t) in terms.iter().enumerate() {
            if t.trim().is_empty() || t.contains('"') || t.len() > 100 {
                return Err(InsightsError::invalid(
                    &format!("problem_terms[{i}]"),
                    "must be 1 to 100 characters without '\"'",
                ));
            }
        }
        let problems = terms.iter().map(|t| format!("\"{}\"", t.trim())).collect::<Vec<_>>().join(" OR ");
        scope.query =
            if scope.query.trim().is_empty() { problems } else { format!("({}) AND ({problems})", scope.query) };
        self.blocking(move |d| {
            let not_positive: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, d.label_query("positive")),
            ]));
            let (spikes, current_level) = d.spikes_scored(&scope, &Filter::Query(not_positive), &config)?;
            Ok(IncidentSignalResponse {
                series: spikes.series,
                incidents: spikes.spikes,
                current_level,
                query: scope.query.clone(),
            })
        })
        .await
    }

    /// A topic series per calendar bucket (UTC): volume, negatives or net sentiment. Blocking.
    fn topic_series(
        &self,
        scope: &Scope,
        edges: &[i64],
        metric: i32,
    ) -> Result<(Vec<Option<f64>>, Vec<BucketCounts>), InsightsError> {
        let counts = self.counts_blocking(scope, edges.to_vec(), &Filter::All, Some(Split::Sentiment))?;
        let get = |c: &BucketCounts, k: &str| c.split.get(k).copied().unwrap_or(0);
        let series = counts
            .iter()
            .map(|c| match SeriesMetric::try_from(metric) {
                Ok(SeriesMetric::Negative) => Some(get(c, "negative") as f64),
                Ok(SeriesMetric::NetSentiment) => {
                    let (p, n) = (get(c, "positive"), get(c, "negative"));
                    (p + n > 0).then(|| net_sentiment(p, n))
                }
                _ => Some(c.total as f64),
            })
            .collect();
        Ok((series, counts))
    }

    /// Cross-correlation of a topic series with a KPI over lags.
    pub async fn correlate(&self, tenant: &str, req: CorrelateRequest) -> Result<CorrelateResponse, InsightsError> {
        let scope = self.scope(tenant, req.scope.as_ref())?;
        let kpi = self.kpis().get(tenant, &req.kpi)?;
        if SeriesMetric::try_from(req.metric).is_err() {
            return Err(InsightsError::invalid("metric", "unknown metric"));
        }
        let interval = match Interval::try_from(req.interval) {
            Ok(Interval::Hour) => calendar::Interval::Hour,
            Ok(Interval::Day | Interval::Unspecified) => calendar::Interval::Day,
            _ => return Err(InsightsError::invalid("interval", "must be HOUR or DAY")),
        };
        let max_lag = if req.max_lag == 0 { 7 } else { req.max_lag };
        if max_lag > 60 {
            return Err(InsightsError::invalid("max_lag", "must be at most 60"));
        }
        let edges = calendar::edges(scope.from, scope.to, interval, chrono_tz::Tz::UTC)?;
        let unit = if interval == calendar::Interval::Hour { "hour" } else { "day" };
        let what = match SeriesMetric::try_from(req.metric) {
            Ok(SeriesMetric::Negative) => "negative mentions",
            Ok(SeriesMetric::NetSentiment) => "net sentiment",
            _ => "mention volume",
        };
        let kpi_name = req.kpi.clone();
        self.blocking(move |d| {
            let (topic, _) = d.topic_series(&scope, &edges, req.metric)?;
            let lags = cross_correlate(&topic, &bucket_means(&kpi, &edges), max_lag as i32);
            let top = best(&lags);
            let p = top.map_or(1.0, |b| p_value(b.r, b.n));
            let row = |l: &super::correlate::LagR| LagCorrelation { lag: l.lag, r: l.r, n: l.n as u32 };
            Ok(CorrelateResponse {
                best: top.as_ref().map(row),
                lags: lags.iter().map(row).collect(),
                p_value: p,
                statement: statement(top, p, what, &kpi_name, unit),
            })
        })
        .await
    }

    /// A KPI beside the topic's net sentiment per bucket, with the gap between their z-scores.
    pub async fn perception_gap(
        &self,
        tenant: &str,
        req: PerceptionGapRequest,
    ) -> Result<PerceptionGapResponse, InsightsError> {
        let scope = self.scope(tenant, req.scope.as_ref())?;
        let kpi = self.kpis().get(tenant, &req.kpi)?;
        let interval = match interval_of(req.interval, "interval")? {
            calendar::Interval::Month => return Err(InsightsError::invalid("interval", "must be HOUR, DAY or WEEK")),
            i => i,
        };
        let edges = calendar::edges(scope.from, scope.to, interval, chrono_tz::Tz::UTC)?;
        let kpi_name = req.kpi.clone();
        self.blocking(move |d| {
            let (net, counts) = d.topic_series(&scope, &edges, SeriesMetric::NetSentiment as i32)?;
            let kpis = bucket_means(&kpi, &edges);
            let pairs: Vec<(f64, f64)> = kpis.iter().zip(&net).filter_map(|(k, n)| Some(((*k)?, (*n)?))).collect();
            let standardise = |xs: Vec<f64>| {
                let n = xs.len().max(1) as f64;
                let mean = xs.iter().sum::<f64>() / n;
                let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
                (mean, if sd > 0.0 { sd } else { 1.0 })
            };
            let (km, ks) = standardise(pairs.iter().map(|p| p.0).collect());
            let (nm, ns) = standardise(pairs.iter().map(|p| p.1).collect());
            let points = (0..counts.len())
                .map(|i| {
                    let gap = match (kpis[i], net[i]) {
                        (Some(k), Some(n)) => (k - km) / ks - (n - nm) / ns,
                        _ => 0.0,
                    };
                    PerceptionPoint {
                        start: ts(edges[i]),
                        kpi: kpis[i].unwrap_or(0.0),
                        has_kpi: kpis[i].is_some(),
                        net_sentiment: net[i].unwrap_or(0.0),
                        volume: counts[i].total,
                        gap,
                    }
                })
                .collect();
            let r = pearson(&pairs).unwrap_or(0.0);
            let statement = format!(
                "Over {} buckets with both values, {kpi_name} and net sentiment correlate at r = {r:.2}. A positive gap \
                 means the KPI is better than its average while sentiment is worse than its average (the service \
                 does better than people say); a negative gap the reverse. The gap compares standardised values, \
                 not causes.",
                pairs.len()
            );
            Ok(PerceptionGapResponse { points, r, statement })
        })
        .await
    }
}
