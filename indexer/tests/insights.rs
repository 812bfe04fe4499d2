//! Insights on a small fixture index whose answers are worked out by hand below.

use chrono::DateTime;
use earshot_indexer::insights::authors::top_authors;
use earshot_indexer::insights::calendar::{edges, parse_zone, Interval};
use earshot_indexer::insights::sentiment::sentiment;
use earshot_indexer::insights::terms::{jlh, term_counts, TermRanges};
use earshot_indexer::insights::volume::{volume, Split, VolumeParams};
use earshot_indexer::insights::{insight_query, Noise};
use earshot_indexer::{IndexCommand, Indexer, IndexerOptions};
use earshot_proto::v1::{Author, EngagementCounts, EngagementType, Mention, Sentiment};
use tantivy::query::{AllQuery, Query};

fn utc(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).expect("time").timestamp()
}

struct M {
    id: &'static str,
    at: &'static str,
    text: &'static str,
    label: Sentiment,
    score: f32,
    kind: EngagementType,
    author: (&'static str, u64, u64),
}

fn mention(m: &M) -> Mention {
    Mention {
        id: m.id.into(),
        tenant: "t".into(),
        text: m.text.into(),
        created_at: Some(prost_types::Timestamp { seconds: utc(m.at), nanos: 0 }),
        sentiment: m.label as i32,
        sentiment_score: m.score,
        engagement_type: m.kind as i32,
        author: Some(Author {
            id: m.author.0.into(),
            handle: m.author.0.into(),
            followers: m.author.1,
            ..Default::default()
        }),
        counts: Some(EngagementCounts { likes: m.author.2, ..Default::default() }),
        ..Default::default()
    }
}

use EngagementType::{Post, Quote, Repost};
use Sentiment::{Negative as Neg, Neutral as Neu, Positive as Pos, Unspecified as Unc};

const FIXTURE: &[M] = &[
    // Around Berlin's spring-forward night (2024-03-31 02:00 CET → 03:00 CEST).
    M {
        id: "d1",
        at: "2024-03-30T22:30:00Z",
        text: "late night acme order arrived",
        label: Pos,
        score: 0.9,
        kind: Post,
        author: ("ann", 100, 5),
    },
    M {
        id: "d2",
        at: "2024-03-30T23:30:00Z",
        text: "acme support answered fast at night",
        label: Pos,
        score: 0.9,
        kind: Post,
        author: ("ann", 120, 1),
    },
    M {
        id: "d3",
        at: "2024-03-31T21:30:00Z",
        text: "acme shipping was late again sadly",
        label: Neg,
        score: 0.8,
        kind: Repost,
        author: ("bob", 5000, 0),
    },
    M {
        id: "d4",
        at: "2024-03-31T22:30:00Z",
        text: "acme keyboard feels solid and quiet",
        label: Pos,
        score: 0.9,
        kind: Quote,
        author: ("cat", 10, 40),
    },
    M {
        id: "d5",
        at: "2024-03-31T10:00:00Z",
        text: "acme store opening hours on easter sunday",
        label: Neu,
        score: 0.7,
        kind: Post,
        author: ("dan", 0, 0),
    },
    M { id: "d6", at: "2024-03-31T11:00:00Z", text: "acme", label: Unc, score: 0.0, kind: Post, author: ("dan", 0, 0) },
];

fn open(dir: &std::path::Path, mentions: Vec<Mention>) -> Indexer {
    let indexer = Indexer::open(dir, IndexerOptions::default(), |_| {}).expect("open");
    let batch = mentions.into_iter().map(|m| (m, "test".to_owned())).collect();
    indexer.send(IndexCommand::Add { mentions: batch, last_position: None }).expect("send");
    indexer.commit().expect("commit");
    indexer
}

fn all() -> Box<dyn Query> {
    Box::new(AllQuery)
}

#[test]
fn volume_buckets_follow_local_days_across_dst() {
    let dir = tempfile::tempdir().expect("tempdir");
    let idx = open(dir.path(), FIXTURE.iter().map(mention).collect());
    let searcher = idx.searcher();
    let (from, to) = (utc("2024-03-30T00:00:00Z"), utc("2024-04-02T00:00:00Z"));
    let q = insight_query(idx.fields(), "t", all(), from, to, Noise::default());
    let berlin = parse_zone("Europe/Berlin").expect("zone");
    let e = edges(from, to, Interval::Day, berlin).expect("edges");
    let buckets =
        volume(&searcher, &*q, VolumeParams { edges: e.clone(), split: Some(Split::EngagementType) }).expect("volume");
    // Local days: Mar 30 holds d1 (23:30 CET); Mar 31 (23 hours) holds d2 (00:30 CET), d5, d6 and d3
    // (23:30 CEST); Apr 1 holds d4 (00:30 CEST).
    assert_eq!(buckets.iter().map(|b| b.total).collect::<Vec<_>>(), vec![1, 4, 1, 0]);
    assert_eq!(e[2] - e[1], 23 * 3600);
    assert_eq!((buckets[1].originals, buckets[1].reposts, buckets[1].quotes), (3, 1, 0));
    assert_eq!(buckets[2].quotes, 1);
    assert_eq!(buckets[1].split.get("repost"), Some(&1));
    assert_eq!(buckets[1].split.get("post"), Some(&3));
    // The same mentions in UTC days: Mar 30 has d1, d2; Mar 31 has d3, d4, d5, d6.
    let e = edges(from, to, Interval::Day, parse_zone("UTC").expect("utc")).expect("edges");
    let utc_days = volume(&searcher, &*q, VolumeParams { edges: e, split: None }).expect("volume");
    assert_eq!(utc_days.iter().map(|b| b.total).collect::<Vec<_>>(), vec![2, 4, 0]);
    // Reposts and quotes left out.
    let noise = Noise { exclude_reposts: true, exclude_quotes: true, ..Noise::default() };
    let q = insight_query(idx.fields(), "t", all(), from, to, noise);
    assert_eq!(sentiment(&searcher, &*q).expect("sentiment").total(), 4);
}

#[test]
fn sentiment_counts_net_and_mean_by_hand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let idx = open(dir.path(), FIXTURE.iter().map(mention).collect());
    let q = insight_query(
        idx.fields(),
        "t",
        all(),
        utc("2024-03-30T00:00:00Z"),
        utc("2024-04-02T00:00:00Z"),
        Noise::default(),
    );
    let s = sentiment(&idx.searcher(), &*q).expect("sentiment");
    assert_eq!((s.positive, s.neutral, s.negative, s.unclassified), (3, 1, 1, 1));
    // (P − N) / (P + N) = (3 − 1) / 4.
    assert!((s.net_sentiment() - 0.5).abs() < 1e-12);
    // (0.9 + 0.9 + 0.9 − 0.8 + 0) / 5 classified; scores are f32 in the index.
    let expected = (3.0 * f64::from(0.9f32) - f64::from(0.8f32)) / 5.0;
    assert!((s.mean_score() - expected).abs() < 1e-9, "{}", s.mean_score());
    // Another tenant sees nothing.
    let other = insight_query(idx.fields(), "u", all(), 0, i64::MAX / 2, Noise::default());
    assert_eq!(sentiment(&idx.searcher(), &*other).expect("sentiment").total(), 0);
}

#[test]
fn authors_by_mentions_reach_and_engagement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let idx = open(dir.path(), FIXTURE.iter().map(mention).collect());
    let q = insight_query(idx.fields(), "t", all(), 0, utc("2025-01-01T00:00:00Z"), Noise::default());
    let top = top_authors(&idx.searcher(), &*q, 2).expect("authors");
    assert_eq!(top.unique, 4);
    // ann and dan have 2 mentions each (tie broken by key); bob has 5000 followers; cat 40 likes.
    assert_eq!(
        top.by_mentions.iter().map(|a| (a.key.as_str(), a.mentions)).collect::<Vec<_>>(),
        vec![("ann", 2), ("dan", 2)]
    );
    assert_eq!(top.by_reach[0].key, "bob");
    assert_eq!(top.by_reach[1].followers, 120); // ann's largest follower count
    assert_eq!(
        top.by_engagement.iter().map(|a| (a.key.as_str(), a.engagement)).collect::<Vec<_>>(),
        vec![("cat", 40), ("ann", 6)]
    );
    assert_eq!(top.by_mentions[0].handle, "ann");
}

#[test]
fn authors_stay_right_across_commits_with_cached_segment_hashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let idx = open(dir.path(), FIXTURE.iter().map(mention).collect());
    let q = || insight_query(idx.fields(), "t", all(), 0, utc("2025-01-01T00:00:00Z"), Noise::default());
    let first = top_authors(&idx.searcher(), &*q(), 2).expect("authors");
    let again = top_authors(&idx.searcher(), &*q(), 2).expect("authors");
    assert_eq!((first.by_mentions.clone(), first.unique), (again.by_mentions, again.unique));
    // A new segment holds a new author and one more mention of an old one: the old segment's hashes
    // come from the cache, the new one's are computed, and both merge by author.
    let eve = M { id: "e1", author: ("eve", 7, 0), ..FIXTURE[0] };
    let more: Vec<Mention> = (1..=3)
        .map(|i| Mention { id: format!("e{i}"), ..mention(&eve) })
        .chain([Mention { id: "a9".into(), ..mention(&M { author: ("ann", 1, 0), ..FIXTURE[0] }) }])
        .collect();
    let batch = more.into_iter().map(|m| (m, "test".to_owned())).collect();
    idx.send(IndexCommand::Add { mentions: batch, last_position: None }).expect("send");
    idx.commit().expect("commit");
    let after = top_authors(&idx.searcher(), &*q(), 2).expect("authors");
    assert_eq!(after.unique, first.unique + 1);
    assert_eq!(
        after.by_mentions.iter().map(|a| (a.key.as_str(), a.mentions)).collect::<Vec<_>>(),
        vec![("ann", 3), ("eve", 3)]
    );
}

fn at(secs: i64, id: String, text: &str) -> Mention {
    Mention {
        id,
        tenant: "t".into(),
        text: text.into(),
        created_at: Some(prost_types::Timestamp { seconds: secs, nanos: 0 }),
        ..Default::default()
    }
}

#[test]
fn significant_terms_against_a_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t0 = utc("2024-05-01T00:00:00Z");
    let mut ms = Vec::new();
    // Background (day 1): 20 mentions, "acme app" in all, "slow" in 2.
    for i in 0..20 {
        let text = if i < 2 { format!("acme app slow variant{i}") } else { format!("acme app variant{i}") };
        ms.push(at(t0 + i * 60, format!("b{i}"), &text));
    }
    // Window (day 2): 10 mentions, "acme app" in all, "outage" + "#acmedown" in 6, "slow" in 2.
    for i in 0..10 {
        let text = match i {
            0..=5 => format!("acme app outage #acmedown item{i}"),
            6 | 7 => format!("acme app slow item{i}"),
            _ => format!("acme app item{i}"),
        };
        ms.push(at(t0 + 86_400 + i * 60, format!("f{i}"), &text));
    }
    let idx = open(dir.path(), ms);
    let ranges = TermRanges { foreground: (t0 + 86_400, t0 + 2 * 86_400), background: (t0, t0 + 86_400) };
    let q = insight_query(idx.fields(), "t", all(), t0, t0 + 2 * 86_400, Noise::default());
    let counts = term_counts(&idx.searcher(), &*q, ranges).expect("terms");
    assert_eq!((counts.foreground_total, counts.background_total), (10, 20));
    assert_eq!(counts.terms.get("outage"), Some(&(6, 0)));
    assert_eq!(counts.terms.get("#acmedown"), Some(&(6, 0)));
    assert_eq!(counts.terms.get("acme"), Some(&(10, 20)));
    let top = counts.significant(3, 3, |_| true);
    // outage: f = 6/10, b = 1/21 → (0.6 − 1/21) · (0.6 · 21); slow: f = 0.2 < 3 window mentions? no: 2 < 3.
    let expected = (0.6 - 1.0 / 21.0) * (0.6 * 21.0);
    assert_eq!(top.len(), 2);
    assert_eq!(top[0].term, "#acmedown"); // tie on score, ordered by term
    assert_eq!(top[1].term, "outage");
    assert!((top[1].score - expected).abs() < 1e-9);
    assert!((jlh(6, 10, 0, 20) - expected).abs() < 1e-12);
    // "acme" is in every mention of both periods: f = 1, b = 21/21 → not significant.
    assert!(counts.significant(10, 1, |_| true).iter().all(|t| t.term != "acme"));
}

#[test]
fn function_words_of_de_it_fr_es_never_trend() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t0 = utc("2024-05-01T00:00:00Z");
    // A quiet English background, then a window of complaints in four languages, half with their
    // language given and half without (the fallback lists must catch those too).
    let mut ms: Vec<Mention> =
        (0..10).map(|i| at(t0 + i * 60, format!("b{i}"), &format!("acme is fine today {i}"))).collect();
    let window = [
        ("de", "Die App hängt auf dem Handy und mit dem Laptop geht auch nichts"),
        ("it", "Per me l'app non funziona, del servizio clienti non parliamo"),
        ("fr", "Le service est en panne, le site ne répond pas et l'app non plus"),
        ("es", "La app del banco no funciona y el soporte no contesta"),
    ];
    for i in 0..16 {
        let (lang, text) = window[i % 4];
        let mut m = at(t0 + 86_400 + i as i64 * 60, format!("f{i}"), text);
        if i < 8 {
            m.language = lang.into();
        }
        ms.push(m);
    }
    let idx = open(dir.path(), ms);
    let ranges = TermRanges { foreground: (t0 + 86_400, t0 + 2 * 86_400), background: (t0, t0 + 86_400) };
    let q = insight_query(idx.fields(), "t", all(), t0, t0 + 2 * 86_400, Noise::default());
    let counts = term_counts(&idx.searcher(), &*q, ranges).expect("terms");
    let trending: Vec<String> = counts.significant(100, 1, |_| true).into_iter().map(|t| t.term).collect();
    let function_words =
        ["auf", "mit", "und", "die", "dem", "per", "non", "del", "le", "la", "est", "en", "el", "no", "dell"];
    for word in function_words {
        assert!(!trending.contains(&word.to_owned()), "`{word}` trends: {trending:?}");
    }
    for word in ["app", "funziona", "panne", "soporte", "handy"] {
        assert!(trending.contains(&word.to_owned()), "`{word}` should trend: {trending:?}");
    }
}

#[test]
fn near_duplicates_and_spam_are_flagged_and_excludable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t0 = utc("2024-06-01T00:00:00Z");
    let ms = vec![
        at(t0, "a".into(), "huge outage at acme today, nothing works and login fails every time"),
        at(t0 + 1, "b".into(), "huge outage at acme today, nothing works and login fails every time!!"),
        at(t0 + 2, "c".into(), "loving the new acme keyboard, typing feels great and the battery lasts"),
        at(t0 + 3, "d".into(), "#win #free #gift #acme #deal #promo now"),
    ];
    let idx = open(dir.path(), ms);
    let count = |noise: Noise| {
        let q = insight_query(idx.fields(), "t", all(), t0, t0 + 10, noise);
        sentiment(&idx.searcher(), &*q).expect("count").total()
    };
    assert_eq!(count(Noise::default()), 4);
    assert_eq!(count(Noise { exclude_near_duplicates: true, ..Noise::default() }), 3);
    assert_eq!(count(Noise { exclude_spam: true, ..Noise::default() }), 3);
    assert_eq!(count(Noise { exclude_spam: true, exclude_near_duplicates: true, ..Noise::default() }), 2);
}
