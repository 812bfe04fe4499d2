//! Insights end to end through the real binary: calendar buckets across a DST change, share of voice,
//! significant terms, a planted spike that fires once (stream and signed webhook) explained by its
//! planted term, a planted KPI correlation at a known lag, and `earshot report --csv`.
//!
//! The server runs without the classifier, and ingest treats sentiment as the service's (what a client
//! sends is replaced), so every mention here is unclassified; net sentiment is checked by hand on an
//! index fixture with labels in `indexer/tests/insights.rs`.

use std::time::Duration;

use chrono::DateTime;
use earshot_proto::v1::insights_service_client::InsightsServiceClient;
use earshot_proto::v1::kpi_service_client::KpiServiceClient;
use earshot_proto::v1::topic_service_client::TopicServiceClient;
use earshot_proto::v1::{
    AlertRule, CorrelateRequest, CreateTopicRequest, IngestKpiRequest, IngestRequest, InsightScope, Interval, KpiPoint,
    ListAlertRulesRequest, Mention, SeriesMetric, ShareOfVoiceRequest, SpikeSettings, TrendingTermsRequest,
    VolumeRequest, WatchAlertsRequest,
};
use earshot_tests::{earshot_bin, now_secs, Sandbox};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn ts(secs: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: secs, nanos: 0 })
}

fn utc(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).expect("time").timestamp()
}

fn at(id: String, secs: i64, text: String) -> Mention {
    Mention { id, text, created_at: ts(secs), language: "en".into(), source: 1, ..Default::default() }
}

fn scope(query: &str, from: i64, to: i64) -> Option<InsightScope> {
    Some(InsightScope { query: query.into(), from: ts(from), to: ts(to), ..Default::default() })
}

const DAY: i64 = 86_400;

/// Reads one HTTP request from `listener`, answers 200, returns its lower-cased head and its body.
async fn accept_webhook(listener: &tokio::net::TcpListener) -> (String, Vec<u8>) {
    let (mut conn, _) = listener.accept().await.expect("accept");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = conn.read(&mut chunk).await.expect("read");
        assert!(n > 0, "webhook connection closed early");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("length");
            while buf.len() < i + 4 + len {
                let n = conn.read(&mut chunk).await.expect("read body");
                buf.extend_from_slice(&chunk[..n]);
            }
            conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await.expect("reply");
            return (head, buf[i + 4..i + 4 + len].to_vec());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier", "--alert-interval-ms", "100"]).await;
    let channel = server.channel().await;
    let mut insights = InsightsServiceClient::new(channel.clone());
    let mut ingest = server.ingest().await;
    TopicServiceClient::new(channel.clone())
        .create_topic(CreateTopicRequest { name: "Acme".into(), query: "acme".into(), description: String::new() })
        .await
        .expect("topic");

    let mut ms = Vec::new();
    // Berlin's spring-forward day (2024-03-31) has 23 hours.
    for (i, t) in ["2024-03-30T22:30:00Z", "2024-03-30T23:30:00Z", "2024-03-31T21:30:00Z", "2024-03-31T22:30:00Z"]
        .iter()
        .enumerate()
    {
        ms.push(at(format!("dst{i}"), utc(t), format!("dstcheck note {i}")));
    }
    // Share of voice on 2024-04-10: 6 acme, 2 globex.
    for i in 0..8 {
        let brand = if i < 6 { "acme" } else { "globex" };
        ms.push(at(format!("sov{i}"), utc("2024-04-10T12:00:00Z") + i, format!("{brand} launch event {i}")));
    }
    // Terms: background May 1-5 (20 × "zeta product review"), window May 5-6 (6 × recall, 4 × review).
    let may1 = utc("2024-05-01T00:00:00Z");
    for i in 0..20 {
        ms.push(at(format!("zb{i}"), may1 + i * 3600, format!("zeta product review {i}")));
    }
    for i in 0..10 {
        let text = if i < 6 { format!("zeta recall #zetafail {i}") } else { format!("zeta product review {i}") };
        ms.push(at(format!("zf{i}"), may1 + 4 * DAY + i * 3600, text));
    }
    // KPI correlation: kappa mentions per day v(d) = 3 + (7d mod 11) over June 1-20.
    let june1 = utc("2024-06-01T00:00:00Z");
    let v = |d: i64| 3 + (d * 7) % 11;
    for d in 0..20 {
        for k in 0..v(d) {
            ms.push(at(format!("k{d}-{k}"), june1 + d * DAY + k * 60, format!("kappa order {k}")));
        }
    }
    // Spike: 2 acme mentions at this hour on each of the last 7 days, then 30 at the start of this hour.
    let hour = now_secs() / 3600 * 3600;
    for d in 1..=7 {
        for k in 0..2 {
            ms.push(at(format!("base{d}-{k}"), hour - d * DAY + k, format!("acme app works fine {d} {k}")));
        }
    }
    for k in 0..30 {
        ms.push(at(format!("spike{k}"), hour, format!("acme outage again, login dead {k}")));
    }
    let response = ingest
        .ingest(IngestRequest { mentions: ms.clone(), wait_searchable: true })
        .await
        .expect("ingest")
        .into_inner();
    assert_eq!(response.accepted as usize, ms.len());
    assert!(response.searchable);

    // Volume in Europe/Berlin days: [Mar 30: 1, Mar 31 (23 h): 2, Apr 1: 1, Apr 2: 0].
    let req = VolumeRequest {
        scope: scope("dstcheck", utc("2024-03-30T00:00:00Z"), utc("2024-04-02T00:00:00Z")),
        interval: Interval::Day as i32,
        time_zone: "Europe/Berlin".into(),
        split_by: 0,
    };
    let vol = insights.volume(req.clone()).await.expect("volume").into_inner();
    assert_eq!(vol.buckets.iter().map(|b| b.total).collect::<Vec<_>>(), vec![1, 2, 1, 0]);
    assert_eq!(vol.buckets[1].label, "2024-03-31T00:00:00+01:00");
    assert_eq!(vol.buckets[2].label, "2024-04-01T00:00:00+02:00");
    let b1 = &vol.buckets[1];
    assert_eq!(b1.end.map(|t| t.seconds).unwrap_or(0) - b1.start.map(|t| t.seconds).unwrap_or(0), 23 * 3600);
    let bad = VolumeRequest { time_zone: "Mars/Olympus".into(), ..req };
    let status = insights.volume(bad).await.expect_err("unknown zone");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);

    // Share of voice: 6 / 8 and 2 / 8.
    let req = ShareOfVoiceRequest {
        topics: vec!["Acme".into(), "query:globex".into()],
        scope: scope("", utc("2024-04-10T00:00:00Z"), utc("2024-04-11T00:00:00Z")),
    };
    let sov = insights.share_of_voice(req).await.expect("sov").into_inner();
    assert_eq!(sov.topics.iter().map(|t| (t.volume, t.share)).collect::<Vec<_>>(), vec![(6, 0.75), (2, 0.25)]);

    // Significant terms: recall and #zetafail: f = 6/10, b = (0 + 1)/(20 + 1) → (0.6 − 1/21)·(0.6·21).
    let req = TrendingTermsRequest {
        scope: scope("zeta", may1 + 4 * DAY, may1 + 5 * DAY),
        background_from: ts(may1),
        background_to: ts(may1 + 4 * DAY),
        ..Default::default()
    };
    let terms = insights.trending_terms(req).await.expect("terms").into_inner();
    assert_eq!((terms.foreground_total, terms.background_total), (10, 20));
    let expected = (0.6 - 1.0 / 21.0) * (0.6 * 21.0);
    let top: Vec<(&str, u64, bool)> = terms
        .significant
        .iter()
        .map(|t| (t.term.as_str(), t.foreground_count, (t.score - expected).abs() < 1e-9))
        .collect();
    assert_eq!(top, vec![("#zetafail", 6, true), ("recall", 6, true)]);
    assert_eq!(terms.hashtags.len(), 1);

    // KPI orders(d) = 500 − 10·v(d − 2): the topic leads by 2 days with r = −1 over 18 days.
    let points =
        (2..20).map(|d| KpiPoint { at: ts(june1 + d * DAY + 43_200), value: 500.0 - 10.0 * v(d - 2) as f64 }).collect();
    KpiServiceClient::new(channel.clone())
        .ingest_kpi(IngestKpiRequest { name: "orders".into(), points, ..Default::default() })
        .await
        .expect("kpi");
    let req = CorrelateRequest {
        scope: scope("kappa", june1, june1 + 20 * DAY),
        kpi: "orders".into(),
        metric: SeriesMetric::Volume as i32,
        max_lag: 4,
        ..Default::default()
    };
    let corr = insights.correlate(req).await.expect("correlate").into_inner();
    let best = corr.best.expect("best lag");
    assert_eq!((best.lag, best.n), (2, 18));
    assert!((best.r + 1.0).abs() < 1e-9);
    assert!(corr.statement.contains("not causation"));

    // Alert: watch, then add a rule with a webhook; the spike fires once on the stream and the hook.
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let secret = "0123456789abcdef-secret";
    let mut watch = insights.watch_alerts(WatchAlertsRequest::default()).await.expect("watch").into_inner();
    let mut other_tenant = tonic::Request::new(WatchAlertsRequest::default());
    other_tenant.metadata_mut().insert("x-earshot-tenant", "someone-else".parse().expect("header"));
    let mut other_watch = insights.watch_alerts(other_tenant).await.expect("watch").into_inner();
    let rule = AlertRule {
        topic: "Acme".into(),
        enabled: true,
        settings: Some(SpikeSettings::default()),
        webhook_url: format!("http://{}/hook", hook.local_addr().expect("addr")),
        webhook_secret: secret.into(),
        ..Default::default()
    };
    let rule = insights.put_alert_rule(rule).await.expect("rule").into_inner();
    let alert = tokio::time::timeout(Duration::from_secs(60), watch.next())
        .await
        .expect("an alert")
        .expect("stream")
        .expect("alert");
    assert_eq!(alert.rule_id, rule.id);
    let spike = alert.spike.clone().expect("spike");
    assert_eq!(spike.start.map(|t| t.seconds), Some(hour));
    // 30 mentions against a baseline of exactly 2 at this hour: z = 28 / sqrt(2).
    assert_eq!(spike.peak_count, 30);
    assert!((spike.z_score - 28.0 / 2f64.sqrt()).abs() < 1e-9);
    assert!(spike.top_terms.iter().any(|t| t.term == "outage"), "{:?}", spike.top_terms);
    let (head, body) = tokio::time::timeout(Duration::from_secs(60), accept_webhook(&hook)).await.expect("webhook");
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(&body);
    let signature = format!("x-earshot-signature: sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert!(head.contains(&signature), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("\"outage\""));

    // Let the evaluator run several more times over the same event; it must not fire again.
    let fired_at = alert.fired_at.map_or(0, |t| t.seconds);
    let rules = loop {
        let rules = insights.list_alert_rules(ListAlertRulesRequest {}).await.expect("list").into_inner().rules;
        if rules[0].last_evaluated_at.map_or(0, |t| t.seconds) >= fired_at + 2 {
            break rules;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(rules[0].fired, 1);
    assert!(rules[0].webhook_secret.is_empty(), "secrets are write-only");
    assert!(futures::FutureExt::now_or_never(watch.next()).is_none(), "a second alert for the same event");
    assert!(futures::FutureExt::now_or_never(other_watch.next()).is_none(), "another tenant's watcher saw the alert");

    // The CLI prints the report and writes CSV with the same volume numbers.
    let csv_dir = dir.path().join("report");
    let output = std::process::Command::new(earshot_bin())
        .args([
            "report",
            "dstcheck",
            "--server",
            &server.endpoint,
            "--from",
            "2024-03-30T00:00:00Z",
            "--to",
            "2024-04-02T00:00:00Z",
            "--tz",
            "Europe/Berlin",
            "--csv",
        ])
        .arg(&csv_dir)
        .output()
        .expect("run earshot report");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("2024-03-31T00:00:00+01:00"));
    let volume_csv = std::fs::read_to_string(csv_dir.join("volume.csv")).expect("volume.csv");
    let totals: Vec<&str> = volume_csv.lines().skip(1).map(|l| l.split(',').nth(1).unwrap_or("")).collect();
    assert_eq!(totals, vec!["1", "2", "1", "0"]);
    for name in ["sentiment", "authors", "terms", "spikes"] {
        assert!(csv_dir.join(format!("{name}.csv")).exists(), "{name}.csv");
    }
    assert!(server.stop().await);
}
