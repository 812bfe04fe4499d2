//! Reading mentions from export files: JSON lines and CSV, with one flat column vocabulary.
//!
//! JSON objects may nest the author (`"author": {"handle": …}`) or use the flat names
//! (`author_handle`), which are also the CSV column names. Times are RFC 3339, `YYYY-MM-DD HH:MM:SS`
//! (UTC) or Unix seconds. Tags in CSV are separated by `|`.

use std::io::BufRead;

use chrono::{DateTime, NaiveDateTime};
use earshot_proto::v1::{Author, EngagementCounts, EngagementType, Mention, SourceNetwork};
use serde::Deserialize;

/// A line or row that could not be read, with where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    /// 1-based line (JSON lines) or record (CSV) number.
    pub line: u64,
    /// Why.
    pub message: String,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct AuthorRecord {
    id: Option<StringOrNumber>,
    handle: Option<String>,
    #[serde(alias = "name")]
    display_name: Option<String>,
    followers: Option<u64>,
    verified: Option<bool>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum StringOrNumber {
    S(String),
    N(serde_json::Number),
}

impl StringOrNumber {
    fn into_string(self) -> String {
        match self {
            StringOrNumber::S(s) => s,
            StringOrNumber::N(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum Tags {
    List(Vec<String>),
    Joined(String),
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct FlatRecord {
    id: Option<StringOrNumber>,
    text: Option<String>,
    #[serde(alias = "date", alias = "timestamp")]
    created_at: Option<StringOrNumber>,
    source: Option<String>,
    url: Option<String>,
    author: Option<AuthorRecord>,
    author_id: Option<StringOrNumber>,
    author_handle: Option<String>,
    author_name: Option<String>,
    author_followers: Option<u64>,
    author_verified: Option<bool>,
    language: Option<String>,
    country: Option<String>,
    engagement_type: Option<String>,
    parent_id: Option<StringOrNumber>,
    root_id: Option<StringOrNumber>,
    likes: Option<u64>,
    shares: Option<u64>,
    replies: Option<u64>,
    tags: Option<Tags>,
    rating: Option<f32>,
}

/// Parses a time in one of the accepted forms.
pub fn parse_time(value: &str) -> Result<prost_types::Timestamp, String> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<i64>() {
        return Ok(prost_types::Timestamp { seconds: secs, nanos: 0 });
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 });
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%a %b %d %H:%M:%S %z %Y"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, format) {
            return Ok(prost_types::Timestamp { seconds: t.and_utc().timestamp(), nanos: 0 });
        }
        if let Ok(t) = DateTime::parse_from_str(v, format) {
            return Ok(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 });
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or_default();
        return Ok(prost_types::Timestamp { seconds: t, nanos: 0 });
    }
    Err(format!("cannot read time {v:?} (use RFC 3339, 'YYYY-MM-DD HH:MM:SS' or Unix seconds)"))
}

/// Maps a source name to the enum; unknown names become `Other`.
pub fn parse_source(name: &str) -> SourceNetwork {
    match name.trim().to_ascii_lowercase().as_str() {
        "" => SourceNetwork::Unspecified,
        "twitter" | "x" | "x.com" | "tweet" => SourceNetwork::Twitter,
        "reddit" => SourceNetwork::Reddit,
        "mastodon" => SourceNetwork::Mastodon,
        "bluesky" | "bsky" => SourceNetwork::Bluesky,
        "facebook" => SourceNetwork::Facebook,
        "instagram" => SourceNetwork::Instagram,
        "youtube" => SourceNetwork::Youtube,
        "tiktok" => SourceNetwork::Tiktok,
        "news" => SourceNetwork::News,
        "blog" | "blogs" => SourceNetwork::Blog,
        "forum" | "forums" => SourceNetwork::Forum,
        "review" | "reviews" => SourceNetwork::Review,
        _ => SourceNetwork::Other,
    }
}

fn parse_engagement(name: &str) -> Result<EngagementType, String> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "" => EngagementType::Unspecified,
        "post" | "original" => EngagementType::Post,
        "reply" => EngagementType::Reply,
        "repost" | "retweet" | "reblog" | "boost" => EngagementType::Repost,
        "quote" => EngagementType::Quote,
        "comment" => EngagementType::Comment,
        "review" => EngagementType::Review,
        other => return Err(format!("unknown engagement type {other:?}")),
    })
}

fn to_mention(r: FlatRecord) -> Result<Mention, String> {
    let created_at = match r.created_at {
        Some(StringOrNumber::N(n)) => {
            Some(prost_types::Timestamp { seconds: n.as_f64().map_or(0, |f| f as i64), nanos: 0 })
        }
        Some(StringOrNumber::S(s)) if !s.trim().is_empty() => Some(parse_time(&s)?),
        _ => None,
    };
    let nested = r.author.unwrap_or_default();
    let author = Author {
        id: nested.id.or(r.author_id).map(StringOrNumber::into_string).unwrap_or_default(),
        handle: nested.handle.or(r.author_handle).unwrap_or_default().trim_start_matches('@').to_owned(),
        display_name: nested.display_name.or(r.author_name).unwrap_or_default(),
        followers: nested.followers.or(r.author_followers).unwrap_or(0),
        verified: nested.verified.or(r.author_verified).unwrap_or(false),
    };
    let tags = match r.tags {
        Some(Tags::List(v)) => v,
        Some(Tags::Joined(s)) => {
            s.split(['|', ';']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
        }
        None => Vec::new(),
    };
    Ok(Mention {
        id: r.id.map(StringOrNumber::into_string).unwrap_or_default(),
        text: r.text.unwrap_or_default(),
        created_at,
        source: parse_source(r.source.as_deref().unwrap_or("")) as i32,
        url: r.url.unwrap_or_default(),
        author: Some(author),
        language: r.language.unwrap_or_default(),
        country: r.country.unwrap_or_default(),
        engagement_type: parse_engagement(r.engagement_type.as_deref().unwrap_or(""))? as i32,
        parent_id: r.parent_id.map(StringOrNumber::into_string).unwrap_or_default(),
        root_id: r.root_id.map(StringOrNumber::into_string).unwrap_or_default(),
        counts: Some(EngagementCounts {
            likes: r.likes.unwrap_or(0),
            shares: r.shares.unwrap_or(0),
            replies: r.replies.unwrap_or(0),
        }),
        tags,
        rating: r.rating.unwrap_or(0.0),
        ..Default::default()
    })
}

/// One record of the vocabulary, already parsed as JSON (an element of a JSON array document).
pub fn from_value(value: &serde_json::Value) -> Result<Mention, String> {
    FlatRecord::deserialize(value).map_err(|e| e.to_string()).and_then(to_mention)
}

/// Reads JSON lines, one mention (or error) per non-blank line.
pub fn read_jsonl(reader: impl BufRead, mut emit: impl FnMut(Result<Mention, RecordError>) -> bool) {
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let item = match line {
            Err(e) => Err(RecordError { line: line_no, message: e.to_string() }),
            Ok(l) if l.trim().is_empty() => continue,
            Ok(l) => serde_json::from_str::<FlatRecord>(&l)
                .map_err(|e| e.to_string())
                .and_then(to_mention)
                .map_err(|message| RecordError { line: line_no, message }),
        };
        if !emit(item) {
            return;
        }
    }
}

/// Reads CSV with a header row, one mention (or error) per record.
pub fn read_csv(reader: impl std::io::Read, mut emit: impl FnMut(Result<Mention, RecordError>) -> bool) {
    let mut csv = csv::ReaderBuilder::new().flexible(false).from_reader(reader);
    for (i, row) in csv.deserialize::<FlatRecord>().enumerate() {
        let item = row
            .map_err(|e| e.to_string())
            .and_then(to_mention)
            .map_err(|message| RecordError { line: i as u64 + 1, message });
        if !emit(item) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_jsonl(text: &str) -> Vec<Result<Mention, RecordError>> {
        let mut out = Vec::new();
        read_jsonl(text.as_bytes(), |m| {
            out.push(m);
            true
        });
        out
    }

    #[test]
    fn jsonl_nested_and_flat_authors() {
        let got = collect_jsonl(concat!(
            r#"{"id":1,"text":"hi","created_at":"2024-03-01T10:00:00Z","author":{"handle":"@a","followers":5}}"#,
            "\n\n",
            r#"{"id":"2","text":"yo","created_at":1700000000,"author_handle":"b","tags":["x","y"],"source":"reddit"}"#,
            "\n{not json}\n"
        ));
        assert_eq!(got.len(), 3);
        let a = got[0].as_ref().expect("first");
        assert_eq!((a.id.as_str(), a.author.as_ref().map(|x| x.handle.as_str())), ("1", Some("a")));
        assert_eq!(a.created_at.map(|t| t.seconds), Some(1_709_287_200));
        let b = got[1].as_ref().expect("second");
        assert_eq!(b.tags, vec!["x", "y"]);
        assert_eq!(b.source, SourceNetwork::Reddit as i32);
        assert_eq!(got[2].as_ref().err().map(|e| e.line), Some(4));
    }

    #[test]
    fn csv_rows() {
        let data = "id,text,created_at,author_handle,author_followers,tags,engagement_type\n\
                    7,\"hello, world\",2024-01-02 03:04:05,carol,12,a|b,reply\n\
                    8,bad,2024-01-02,dave,x,,post\n";
        let mut out = Vec::new();
        read_csv(data.as_bytes(), |m| {
            out.push(m);
            true
        });
        let m = out[0].as_ref().expect("row 1");
        assert_eq!(m.text, "hello, world");
        assert_eq!(m.tags, vec!["a", "b"]);
        assert_eq!(m.engagement_type, EngagementType::Reply as i32);
        assert!(out[1].is_err(), "followers 'x' is not a number");
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("2024-01-01").map(|t| t.seconds), Ok(1_704_067_200));
        assert_eq!(parse_time("2024-01-01T00:00:00+01:00").map(|t| t.seconds), Ok(1_704_063_600));
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn every_shipped_sample_is_accepted() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/mentions.jsonl");
        let file = std::fs::File::open(&path).expect("samples");
        let mut seen = 0;
        read_jsonl(std::io::BufReader::new(file), |m| {
            let mut m = m.expect("readable sample");
            let verdict = earshot_server::ingest::validate::validate_mention(&mut m, "default");
            assert!(verdict.is_ok(), "{}: {verdict:?}", m.id);
            seen += 1;
            true
        });
        assert_eq!(seen, 30);
    }
}
