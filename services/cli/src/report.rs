//! `earshot report`: the insights of a topic or query for a period, printed as tables and optionally
//! written as CSV files (one per table).

use std::path::Path;

use anyhow::Context;
use earshot_proto::v1::insights_service_client::InsightsServiceClient;
use earshot_proto::v1::{
    CorrelateRequest, Dimension, IncidentSignalRequest, InsightScope, Interval, NoiseFilter, PerceptionGapRequest,
    SentimentStats, SentimentSummaryRequest, SeriesMetric, ShareOfVoiceRequest, SpikesRequest, TopAuthorsRequest,
    TrendingTermsRequest, VolumeRequest,
};
use tonic::transport::Channel;

use crate::args::ReportArgs;
use crate::client::status_error;
use crate::records::parse_time;

/// A printable, exportable table.
struct Table {
    name: &'static str,
    title: String,
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(name: &'static str, title: impl Into<String>, headers: &[&'static str]) -> Table {
        Table { name, title: title.into(), headers: headers.to_vec(), rows: Vec::new() }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn print(&self) {
        println!("\n== {} ==", self.title);
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| self.rows.iter().map(|r| r[i].chars().count()).chain([self.headers[i].len()]).max().unwrap_or(0))
            .collect();
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            println!("{}", padded.join("  ").trim_end());
        };
        line(self.headers.clone());
        for r in &self.rows {
            line(r.iter().map(String::as_str).collect());
        }
        if self.rows.is_empty() {
            println!("(none)");
        }
    }

    fn write_csv(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(format!("{}.csv", self.name));
        let mut w = csv::Writer::from_path(&path).with_context(|| format!("cannot write {}", path.display()))?;
        w.write_record(&self.headers)?;
        for r in &self.rows {
            w.write_record(r)?;
        }
        w.flush()?;
        Ok(())
    }
}

fn time(t: &Option<prost_types::Timestamp>) -> String {
    let secs = t.as_ref().map_or(0, |t| t.seconds);
    chrono::DateTime::from_timestamp(secs, 0).map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

fn f(x: f64) -> String {
    format!("{x:.3}")
}

fn interval(name: &str) -> anyhow::Result<Interval> {
    Ok(match name {
        "hour" => Interval::Hour,
        "day" => Interval::Day,
        "week" => Interval::Week,
        "month" => Interval::Month,
        other => anyhow::bail!("--interval must be hour, day, week or month, not {other:?}"),
    })
}

fn sentiment_row(label: &str, s: &SentimentStats) -> Vec<String> {
    vec![
        label.into(),
        s.total.to_string(),
        s.positive.to_string(),
        s.neutral.to_string(),
        s.negative.to_string(),
        s.unclassified.to_string(),
        f(s.net_sentiment),
        f(s.mean_score),
    ]
}

/// Fetches every insight and builds the tables.
async fn tables(
    client: &mut InsightsServiceClient<Channel>,
    args: &ReportArgs,
    scope: InsightScope,
) -> anyhow::Result<Vec<Table>> {
    let mut out = Vec::new();

    let req = VolumeRequest {
        scope: Some(scope.clone()),
        interval: interval(&args.interval)? as i32,
        time_zone: args.tz.clone(),
        split_by: Dimension::Sentiment as i32,
    };
    let volume = client.volume(args.client.request(req)?).await.map_err(status_error)?.into_inner();
    let mut t = Table::new(
        "volume",
        format!("Volume per {} ({}), {} mentions", args.interval, args.tz, volume.total),
        &["bucket", "total", "originals", "reposts", "quotes", "positive", "neutral", "negative", "unclassified"],
    );
    for b in &volume.buckets {
        let get = |k: &str| b.split.get(k).copied().unwrap_or(0).to_string();
        t.row(vec![
            b.label.clone(),
            b.total.to_string(),
            b.originals.to_string(),
            b.reposts.to_string(),
            b.quotes.to_string(),
            get("positive"),
            get("neutral"),
            get("negative"),
            get("unclassified"),
        ]);
    }
    out.push(t);

    let req = SentimentSummaryRequest { scope: Some(scope.clone()) };
    let s = client.sentiment_summary(args.client.request(req)?).await.map_err(status_error)?.into_inner();
    let mut t = Table::new(
        "sentiment",
        format!(
            "Sentiment (net change {:+.3}, volume change {:+.1}%)",
            s.net_sentiment_change,
            s.volume_change * 100.0
        ),
        &["period", "total", "positive", "neutral", "negative", "unclassified", "net", "mean_score"],
    );
    t.row(sentiment_row("current", &s.current.unwrap_or_default()));
    t.row(sentiment_row("previous", &s.previous.unwrap_or_default()));
    out.push(t);
    let mut t = Table::new(
        "languages",
        "Languages (share of the period's mentions, sentiment per language)",
        &["language", "share", "total", "positive", "neutral", "negative", "unclassified", "net", "mean_score"],
    );
    for l in &s.by_language {
        let name = if l.language.is_empty() { "(none)".to_owned() } else { l.language.clone() };
        let mut row = sentiment_row(&name, &l.stats.unwrap_or_default());
        row.insert(1, format!("{:.1}%", l.share * 100.0));
        t.row(row);
    }
    out.push(t);

    let req = TopAuthorsRequest { scope: Some(scope.clone()), limit: args.limit };
    let a = client.top_authors(args.client.request(req)?).await.map_err(status_error)?.into_inner();
    let mut t = Table::new(
        "authors",
        format!("Top authors ({} unique)", a.unique_authors),
        &["ranking", "author", "handle", "mentions", "followers", "engagement"],
    );
    for (ranking, list) in [("mentions", &a.by_mentions), ("reach", &a.by_reach), ("engagement", &a.by_engagement)] {
        for x in list {
            t.row(vec![
                ranking.into(),
                x.author_id.clone(),
                x.handle.clone(),
                x.mentions.to_string(),
                x.followers.to_string(),
                x.engagement.to_string(),
            ]);
        }
    }
    out.push(t);

    let req = TrendingTermsRequest { scope: Some(scope.clone()), limit: args.limit, ..Default::default() };
    let tt = client.trending_terms(args.client.request(req)?).await.map_err(status_error)?.into_inner();
    let mut t = Table::new(
        "terms",
        format!("Trending terms ({} mentions vs {} in the background)", tt.foreground_total, tt.background_total),
        &["kind", "term", "window", "background", "score"],
    );
    for (kind, list) in [("significant", &tt.significant), ("hashtag", &tt.hashtags), ("emerging", &tt.emerging)] {
        for x in list {
            t.row(vec![
                kind.into(),
                x.term.clone(),
                x.foreground_count.to_string(),
                x.background_count.to_string(),
                f(x.score),
            ]);
        }
    }
    out.push(t);

    let req = SpikesRequest { scope: Some(scope.clone()), ..Default::default() };
    let sp = client.spikes(args.client.request(req)?).await.map_err(status_error)?.into_inner();
    let req = IncidentSignalRequest { scope: Some(scope.clone()), ..Default::default() };
    let inc = client.incident_signal(args.client.request(req)?).await.map_err(status_error)?.into_inner();
    let mut t = Table::new(
        "spikes",
        format!("Spikes (incident level now: z = {:.2})", inc.current_level),
        &["kind", "start", "end", "peak_count", "expected", "z", "top_terms", "top_authors", "top_sources"],
    );
    for (kind, list) in [("volume", &sp.spikes), ("incident", &inc.incidents)] {
        for x in list {
            let join = |v: Vec<String>| v.join(" ");
            t.row(vec![
                kind.into(),
                time(&x.start),
                time(&x.end),
                x.peak_count.to_string(),
                f(x.expected),
                f(x.z_score),
                join(x.top_terms.iter().map(|t| t.term.clone()).collect()),
                join(x.top_authors.iter().map(|a| format!("{}:{}", a.key, a.count)).collect()),
                join(x.top_sources.iter().map(|a| format!("{}:{}", a.key, a.count)).collect()),
            ]);
        }
    }
    out.push(t);

    if !args.compare.is_empty() {
        let mut topics = vec![match (&args.scope.topic, &args.scope.query) {
            (Some(topic), _) => topic.clone(),
            (None, q) => format!("query:{}", q.clone().unwrap_or_default()),
        }];
        topics.extend(args.compare.iter().cloned());
        let req = ShareOfVoiceRequest {
            topics,
            scope: Some(InsightScope { query: String::new(), topic: String::new(), ..scope.clone() }),
        };
        let sov = client.share_of_voice(args.client.request(req)?).await.map_err(status_error)?.into_inner();
        let mut t = Table::new("share_of_voice", "Share of voice", &["topic", "volume", "share", "net_sentiment"]);
        for x in &sov.topics {
            t.row(vec![
                x.topic.clone(),
                x.volume.to_string(),
                f(x.share),
                f(x.sentiment.as_ref().map_or(0.0, |s| s.net_sentiment)),
            ]);
        }
        out.push(t);
    }

    if let Some(kpi) = &args.kpi {
        let req = CorrelateRequest {
            scope: Some(scope.clone()),
            kpi: kpi.clone(),
            metric: SeriesMetric::Volume as i32,
            ..Default::default()
        };
        let c = client.correlate(args.client.request(req)?).await.map_err(status_error)?.into_inner();
        let mut t =
            Table::new("correlation", format!("Volume vs {kpi}: {}", c.statement), &["lag_days", "r", "pairs", "best"]);
        let best = c.best.map(|b| b.lag);
        for l in &c.lags {
            t.row(vec![
                l.lag.to_string(),
                f(l.r),
                l.n.to_string(),
                if Some(l.lag) == best { "*".into() } else { String::new() },
            ]);
        }
        out.push(t);
        let req = PerceptionGapRequest { scope: Some(scope), kpi: kpi.clone(), ..Default::default() };
        let g = client.perception_gap(args.client.request(req)?).await.map_err(status_error)?.into_inner();
        let mut t = Table::new(
            "perception_gap",
            format!("Perception gap: {}", g.statement),
            &["day", "kpi", "net_sentiment", "volume", "gap"],
        );
        for p in &g.points {
            t.row(vec![
                time(&p.start),
                if p.has_kpi { f(p.kpi) } else { String::new() },
                f(p.net_sentiment),
                p.volume.to_string(),
                f(p.gap),
            ]);
        }
        out.push(t);
    }
    Ok(out)
}

/// Entry point of `earshot report`.
pub async fn report(args: ReportArgs) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let to = match &args.to {
        Some(t) => parse_time(t).map_err(anyhow::Error::msg)?,
        None => prost_types::Timestamp { seconds: now, nanos: 0 },
    };
    let from = match &args.from {
        Some(t) => parse_time(t).map_err(anyhow::Error::msg)?,
        None => prost_types::Timestamp { seconds: to.seconds - 7 * 86_400, nanos: 0 },
    };
    let n = args.exclude_noise;
    let scope = InsightScope {
        query: args.scope.query.clone().unwrap_or_default(),
        topic: args.scope.topic.clone().unwrap_or_default(),
        from: Some(from),
        to: Some(to),
        noise: Some(NoiseFilter { exclude_reposts: n, exclude_quotes: n, exclude_near_duplicates: n, exclude_spam: n }),
    };
    let mut client = InsightsServiceClient::new(args.client.channel().await?);
    let tables = tables(&mut client, &args, scope).await?;
    let what = args.scope.topic.as_ref().map_or_else(
        || format!("query {:?}", args.scope.query.clone().unwrap_or_default()),
        |t| format!("topic {t:?}"),
    );
    println!("Report for {what}, {} to {}", time(&Some(from)), time(&Some(to)));
    for t in &tables {
        t.print();
    }
    if let Some(dir) = &args.csv {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for t in &tables {
            t.write_csv(dir)?;
        }
        println!("\nCSV files written to {}", dir.display());
    }
    Ok(())
}
