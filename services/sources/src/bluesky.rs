//! Bluesky: `app.bsky.feed.searchPosts` / `getPosts` responses (`posts`: PostViews), feeds (`feed[].post`),
//! and Jetstream events (one per line); only `commit` creates of `app.bsky.feed.post` are mentions, every
//! other event is skipped and counted.
//!
//! Ids are the posts' AT URIs behind `bluesky:` (`bluesky:at://did:plc:…/app.bsky.feed.post/…`), the same
//! whether a post came from search or from Jetstream, so the two deduplicate.

use earshot_proto::v1::{Author, EngagementCounts, EngagementType, Mention, SourceNetwork};
use serde_json::{Map, Value};

use super::{child, count_of, language, rfc3339, text_of, Out};

const POST_VIEW_FIELDS: &[&str] =
    &["uri", "cid", "author", "record", "replyCount", "repostCount", "likeCount", "quoteCount", "indexedAt"];
const AUTHOR_FIELDS: &[&str] = &["did", "handle", "displayName", "verification"];
const RECORD_FIELDS: &[&str] = &["$type", "text", "createdAt", "langs", "reply", "embed", "facets", "tags"];
const POST: &str = "app.bsky.feed.post";

/// Maps a response, a PostView, or a Jetstream event.
pub fn map(value: &Value, at: &str, out: &mut Out<'_>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                map(item, &child(at, format!("[{i}]")), out);
            }
        }
        Value::Object(o) if o.contains_key("time_us") && o.contains_key("did") => event(o, at, out),
        Value::Object(o) if o.contains_key("posts") => map(&o["posts"], &child(at, "posts"), out),
        Value::Object(o) if o.contains_key("feed") => {
            if let Some(items) = o.get("feed").and_then(Value::as_array) {
                for (i, item) in items.iter().enumerate() {
                    let at = child(at, format!("feed[{i}]"));
                    match item.get("post") {
                        Some(post) => map(post, &at, out),
                        None => out.problem(at, "feed item without post"),
                    }
                }
            }
        }
        Value::Object(o) if o.contains_key("uri") && o.contains_key("record") => post_view(o, at, out),
        _ => out.problem(at, "neither a Bluesky PostView nor a Jetstream event"),
    }
}

fn post_view(p: &Map<String, Value>, at: &str, out: &mut Out<'_>) {
    let uri = text_of(p, "uri");
    let Some(record) = p.get("record").and_then(Value::as_object) else {
        return out.problem(at, format!("{uri}: record is not an object"));
    };
    out.unmapped(p, "", POST_VIEW_FIELDS);
    let author = p.get("author").and_then(Value::as_object);
    if let Some(a) = author {
        out.unmapped(a, "author", AUTHOR_FIELDS);
    }
    let author = author.map_or_else(Author::default, |a| Author {
        id: text_of(a, "did").to_owned(),
        handle: text_of(a, "handle").to_owned(),
        display_name: text_of(a, "displayName").to_owned(),
        followers: 0,
        verified: a.get("verification").and_then(|v| v.get("verifiedStatus")).and_then(Value::as_str) == Some("valid"),
    });
    let counts = EngagementCounts {
        likes: count_of(p, "likeCount"),
        shares: count_of(p, "repostCount") + count_of(p, "quoteCount"),
        replies: count_of(p, "replyCount"),
    };
    post(uri, record, author, Some(counts), at, out);
}

fn event(e: &Map<String, Value>, at: &str, out: &mut Out<'_>) {
    let commit = e.get("commit").and_then(Value::as_object);
    let Some(c) = commit.filter(|_| text_of(e, "kind") == "commit") else {
        // identity and account events.
        return out.skip();
    };
    if text_of(c, "collection") != POST || text_of(c, "operation") != "create" {
        // Likes, reposts (no text of their own), follows, profile updates, deletes, edits.
        return out.skip();
    }
    let Some(record) = c.get("record").and_then(Value::as_object) else {
        return out.problem(at, "post create without a record");
    };
    let did = text_of(e, "did");
    let uri = format!("at://{did}/{POST}/{}", text_of(c, "rkey"));
    let author = Author { id: did.to_owned(), ..Default::default() };
    post(&uri, record, author, None, at, out);
}

fn post(
    uri: &str,
    record: &Map<String, Value>,
    author: Author,
    counts: Option<EngagementCounts>,
    at: &str,
    out: &mut Out<'_>,
) {
    if !uri.starts_with("at://") {
        return out.problem(at, format!("post uri {uri:?} is not an AT URI"));
    }
    let text = text_of(record, "text");
    if text.trim().is_empty() {
        // Image-only posts.
        return out.skip();
    }
    let Some(created_at) = rfc3339(text_of(record, "createdAt")) else {
        return out.problem(at, format!("{uri}: record.createdAt missing or not RFC 3339"));
    };
    out.unmapped(record, "record", RECORD_FIELDS);
    let reply_uri = |which: &str| {
        record
            .get("reply")
            .and_then(|r| r.get(which))
            .and_then(|r| r.get("uri"))
            .and_then(Value::as_str)
            .map(|u| format!("bluesky:{u}"))
    };
    let embed = record.get("embed").and_then(Value::as_object);
    // A quote embeds the quoted post as a record (with media: one level deeper).
    let quoted = embed.and_then(|e| match text_of(e, "$type") {
        "app.bsky.embed.record" => e.get("record"),
        "app.bsky.embed.recordWithMedia" => e.get("record").and_then(|r| r.get("record")),
        _ => None,
    });
    let quoted = quoted.and_then(|q| q.get("uri")).and_then(Value::as_str).filter(|u| u.contains(POST));
    let (engagement, parent, root) = match (reply_uri("parent"), quoted) {
        (Some(parent), _) => (EngagementType::Reply, parent, reply_uri("root").unwrap_or_default()),
        (None, Some(q)) => (EngagementType::Quote, format!("bluesky:{q}"), String::new()),
        (None, None) => (EngagementType::Post, String::new(), String::new()),
    };
    let mut tags: Vec<String> = record
        .get("facets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("features").and_then(Value::as_array))
        .flatten()
        .filter(|f| f.get("$type").and_then(Value::as_str) == Some("app.bsky.richtext.facet#tag"))
        .filter_map(|f| f.get("tag").and_then(Value::as_str).map(str::to_owned))
        .collect();
    tags.extend(
        record.get("tags").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned),
    );
    tags.dedup();
    let lang = record
        .get("langs")
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .and_then(Value::as_str)
        .map(language)
        .unwrap_or_default();
    // at://<did>/app.bsky.feed.post/<rkey> → the app's address of the post.
    let rkey = uri.rsplit('/').next().unwrap_or_default();
    let profile = if author.handle.is_empty() { author.id.as_str() } else { author.handle.as_str() };
    let profile = if profile.is_empty() {
        uri.trim_start_matches("at://").split('/').next().unwrap_or_default()
    } else {
        profile
    };
    out.mention(Mention {
        id: format!("bluesky:{uri}"),
        source: SourceNetwork::Bluesky as i32,
        url: format!("https://bsky.app/profile/{profile}/post/{rkey}"),
        author: Some(author),
        text: text.to_owned(),
        language: lang,
        created_at: Some(created_at),
        engagement_type: engagement as i32,
        parent_id: parent,
        root_id: root,
        counts,
        tags,
        ..Default::default()
    });
}
