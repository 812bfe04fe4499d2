//! X API v2: search / timeline / lookup responses (`data`, `includes`, `meta`), or bare tweet objects.
//!
//! The author comes from the `includes.users` expansion (`author_id`), the country from
//! `includes.places` (`geo.place_id`), the root from `conversation_id` (or the replied-to tweet's, when
//! it is among `includes.tweets`).

use std::collections::HashMap;

use earshot_proto::v1::{Author, EngagementCounts, EngagementType, Mention, SourceNetwork};
use serde_json::{Map, Value};

use super::{child, count_of, id_of, language, rfc3339, text_of, Out};

const TWEET_FIELDS: &[&str] = &[
    "id",
    "text",
    "created_at",
    "author_id",
    "lang",
    "referenced_tweets",
    "public_metrics",
    "conversation_id",
    "entities",
    "geo",
    "note_tweet",
];
const USER_FIELDS: &[&str] = &["id", "username", "name", "public_metrics", "verified"];

/// Twitter's epoch for snowflake ids, in milliseconds: a tweet without `created_at` (the default fields)
/// still has its creation time in its id.
const SNOWFLAKE_EPOCH_MS: u64 = 1_288_834_974_657;

struct Includes<'v> {
    users: HashMap<String, &'v Map<String, Value>>,
    tweets: HashMap<String, &'v Map<String, Value>>,
    places: HashMap<String, &'v Map<String, Value>>,
}

fn by_id<'v>(includes: Option<&'v Value>, key: &str) -> HashMap<String, &'v Map<String, Value>> {
    includes
        .and_then(|i| i.get(key))
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_object).map(|o| (id_of(o, "id"), o)).collect())
        .unwrap_or_default()
}

/// Maps a response (or a tweet, or an array of either).
pub fn map(value: &Value, at: &str, out: &mut Out<'_>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                map(item, &child(at, format!("[{i}]")), out);
            }
        }
        Value::Object(o) if o.contains_key("data") || o.contains_key("errors") => {
            let includes = o.get("includes");
            let inc = Includes {
                users: by_id(includes, "users"),
                tweets: by_id(includes, "tweets"),
                places: by_id(includes, "places"),
            };
            match o.get("data") {
                Some(Value::Array(tweets)) => {
                    for (i, t) in tweets.iter().enumerate() {
                        tweet(t, &child(at, format!("data[{i}]")), &inc, out);
                    }
                }
                Some(t @ Value::Object(_)) => tweet(t, &child(at, "data"), &inc, out),
                // A response with only `errors` (a lookup of deleted tweets): nothing to import.
                _ => out.skip(),
            }
        }
        Value::Object(_) => {
            let none = Includes { users: HashMap::new(), tweets: HashMap::new(), places: HashMap::new() };
            tweet(value, at, &none, out);
        }
        _ => out.problem(at, "not an X API response or tweet object"),
    }
}

fn tweet(value: &Value, at: &str, inc: &Includes<'_>, out: &mut Out<'_>) {
    let Some(t) = value.as_object() else {
        return out.problem(at, "a tweet must be a JSON object");
    };
    let id = id_of(t, "id");
    if id.is_empty() {
        return out.problem(at, "tweet without an id");
    }
    // Long posts carry their full text in `note_tweet`; `text` is then cut at 280 characters.
    let text =
        t.get("note_tweet").and_then(|n| n.get("text")).and_then(Value::as_str).unwrap_or_else(|| text_of(t, "text"));
    if text.trim().is_empty() {
        return out.problem(at, format!("tweet {id} has no text"));
    }
    let created_at = match t.get("created_at").and_then(Value::as_str) {
        Some(s) => match rfc3339(s) {
            Some(ts) => ts,
            None => return out.problem(at, format!("tweet {id}: cannot read created_at {s:?}")),
        },
        None => match id.parse::<u64>() {
            Ok(n) => {
                let ms = (n >> 22) + SNOWFLAKE_EPOCH_MS;
                prost_types::Timestamp { seconds: (ms / 1000) as i64, nanos: ((ms % 1000) * 1_000_000) as i32 }
            }
            Err(_) => return out.problem(at, format!("tweet {id}: no created_at and the id is not a snowflake")),
        },
    };
    out.unmapped(t, "", TWEET_FIELDS);

    let author_id = id_of(t, "author_id");
    let user = inc.users.get(&author_id).copied();
    let author = match user {
        Some(u) => {
            out.unmapped(u, "includes.users", USER_FIELDS);
            Author {
                id: author_id.clone(),
                handle: text_of(u, "username").to_owned(),
                display_name: text_of(u, "name").to_owned(),
                followers: u
                    .get("public_metrics")
                    .and_then(Value::as_object)
                    .map_or(0, |m| count_of(m, "followers_count")),
                verified: u.get("verified").and_then(Value::as_bool).unwrap_or(false),
            }
        }
        None => Author { id: author_id.clone(), ..Default::default() },
    };

    // A retweet that quotes lists both; it is a repost first.
    let refs: Vec<(&str, String)> = t
        .get("referenced_tweets")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_object).map(|r| (text_of(r, "type"), id_of(r, "id"))).collect())
        .unwrap_or_default();
    let find = |kind: &str| refs.iter().find(|(k, _)| *k == kind).map(|(_, id)| id.clone());
    let (engagement, parent) = if let Some(p) = find("retweeted") {
        (EngagementType::Repost, p)
    } else if let Some(p) = find("replied_to") {
        (EngagementType::Reply, p)
    } else if let Some(p) = find("quoted") {
        (EngagementType::Quote, p)
    } else {
        (EngagementType::Post, String::new())
    };
    let conversation = id_of(t, "conversation_id");
    let root = if !conversation.is_empty() && conversation != id {
        conversation
    } else if engagement == EngagementType::Reply {
        inc.tweets.get(&parent).map(|p| id_of(p, "conversation_id")).filter(|c| !c.is_empty()).unwrap_or_default()
    } else {
        String::new()
    };

    let metrics = t.get("public_metrics").and_then(Value::as_object);
    let counts = metrics.map(|m| EngagementCounts {
        likes: count_of(m, "like_count"),
        shares: count_of(m, "retweet_count") + count_of(m, "quote_count"),
        replies: count_of(m, "reply_count"),
    });
    let tags = t
        .get("entities")
        .and_then(|e| e.get("hashtags"))
        .and_then(Value::as_array)
        .map(|h| h.iter().filter_map(|h| h.get("tag").and_then(Value::as_str)).map(str::to_owned).collect())
        .unwrap_or_default();
    let country = t
        .get("geo")
        .and_then(|g| g.get("place_id"))
        .and_then(Value::as_str)
        .and_then(|p| inc.places.get(p))
        .map(|p| text_of(p, "country_code").to_owned())
        .unwrap_or_default();
    let url = match &author.handle {
        h if h.is_empty() => format!("https://x.com/i/web/status/{id}"),
        h => format!("https://x.com/{h}/status/{id}"),
    };
    let namespaced = |s: String| if s.is_empty() { s } else { format!("x:{s}") };
    out.mention(Mention {
        id: format!("x:{id}"),
        source: SourceNetwork::Twitter as i32,
        url,
        author: Some(author),
        text: text.to_owned(),
        language: language(text_of(t, "lang")),
        country,
        created_at: Some(created_at),
        engagement_type: engagement as i32,
        parent_id: namespaced(parent),
        root_id: namespaced(root),
        counts,
        tags,
        ..Default::default()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflake_time_and_retweet_over_quote() {
        let v: Value = serde_json::from_str(
            r#"{"data":[{"id":"1578516068309794817","text":"RT @a: hi","referenced_tweets":[{"type":"quoted","id":"1"},{"type":"retweeted","id":"2"}]}]}"#,
        )
        .expect("json");
        let mut got = Vec::new();
        let mut emit = |m: Result<Mention, crate::Problem>| {
            got.push(m);
            true
        };
        let mut out = Out::new(&mut emit);
        map(&v, "", &mut out);
        drop(out);
        let m = got[0].as_ref().expect("mapped");
        // The tweet's own text says it was written at 2022-10-07 22:42:12.637 (UTC), posted a moment later.
        assert_eq!(m.created_at.map(|t| (t.seconds, t.nanos / 1_000_000)), Some((1_665_182_532, 752)));
        assert_eq!((m.engagement_type, m.parent_id.as_str()), (EngagementType::Repost as i32, "x:2"));
        assert_eq!(m.url, "https://x.com/i/web/status/1578516068309794817");
    }
}
