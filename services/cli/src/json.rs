//! JSON form of a mention for CLI output (the same field names the importer reads).

use earshot_proto::v1::{EngagementType, Mention, Sentiment, SourceNetwork};
use serde_json::{json, Value};

fn time(ts: Option<&prost_types::Timestamp>) -> Value {
    ts.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map_or(Value::Null, |d| Value::String(d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
}

/// Lower-case name of a sentiment label.
pub fn sentiment_label(m: &Mention) -> &'static str {
    match m.sentiment() {
        Sentiment::Unspecified => "unclassified",
        Sentiment::Negative => "negative",
        Sentiment::Neutral => "neutral",
        Sentiment::Positive => "positive",
    }
}

fn enum_name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_ascii_lowercase()
}

/// The mention as a JSON object.
pub fn mention_json(m: &Mention) -> Value {
    let author = m.author.clone().unwrap_or_default();
    let counts = m.counts.unwrap_or_default();
    json!({
        "id": m.id,
        "tenant": m.tenant,
        "source": enum_name(SourceNetwork::try_from(m.source).unwrap_or_default().as_str_name(), "SOURCE_NETWORK_"),
        "url": m.url,
        "author": {
            "id": author.id,
            "handle": author.handle,
            "display_name": author.display_name,
            "followers": author.followers,
            "verified": author.verified,
        },
        "text": m.text,
        "language": m.language,
        "country": m.country,
        "created_at": time(m.created_at.as_ref()),
        "engagement_type": enum_name(
            EngagementType::try_from(m.engagement_type).unwrap_or_default().as_str_name(),
            "ENGAGEMENT_TYPE_"
        ),
        "parent_id": m.parent_id,
        "root_id": m.root_id,
        "likes": counts.likes,
        "shares": counts.shares,
        "replies": counts.replies,
        "tags": m.tags,
        "rating": m.rating,
        "sentiment": sentiment_label(m),
        "sentiment_score": m.sentiment_score,
        "ingested_at": time(m.ingested_at.as_ref()),
    })
}

/// Columns of the CSV form: the importer's flat vocabulary, so an export can be imported again.
pub const COLUMNS: &[&str] = &[
    "id",
    "text",
    "created_at",
    "source",
    "url",
    "author_id",
    "author_handle",
    "author_name",
    "author_followers",
    "author_verified",
    "language",
    "country",
    "engagement_type",
    "parent_id",
    "root_id",
    "likes",
    "shares",
    "replies",
    "tags",
    "rating",
    "sentiment",
    "sentiment_score",
    "ingested_at",
];

/// A mention as the flat row of [`COLUMNS`], every value as text.
pub fn flat_row(m: &Mention) -> Vec<String> {
    let j = mention_json(m);
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let tags = m.tags.join("|");
    COLUMNS
        .iter()
        .map(|c| match *c {
            "author_id" => text(&j["author"]["id"]),
            "author_handle" => text(&j["author"]["handle"]),
            "author_name" => text(&j["author"]["display_name"]),
            "author_followers" => text(&j["author"]["followers"]),
            "author_verified" => text(&j["author"]["verified"]),
            "tags" => tags.clone(),
            other => text(&j[other]),
        })
        .collect()
}
