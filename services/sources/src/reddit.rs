//! Reddit: listings from the JSON API (`{"kind":"Listing"}`, or the `[submission, comments]` pair of a
//! comments page, replies nested in `replies`), and the NDJSON dumps researchers use (one submission or
//! comment object per line, without the `kind` wrapper).
//!
//! Ids are fullnames (`t3_…` submissions, `t1_…` comments) behind `reddit:`, so a comment's `parent_id`
//! and `link_id` (its root) point at the same ids. The subreddit becomes the tag `r/<name>`.

use earshot_proto::v1::{Author, EngagementCounts, EngagementType, Mention, SourceNetwork};
use serde_json::{Map, Value};

use super::{child, count_of, id_of, text_of, Out};

const THING_FIELDS: &[&str] = &[
    "id",
    "name",
    "title",
    "selftext",
    "body",
    "created_utc",
    "author",
    "author_fullname",
    "subreddit",
    "permalink",
    "url",
    "score",
    "ups",
    "num_comments",
    "parent_id",
    "link_id",
    "replies",
];

/// Maps a listing, a comments page, a thing, or a dump line.
pub fn map(value: &Value, at: &str, out: &mut Out<'_>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                map(item, &child(at, format!("[{i}]")), out);
            }
        }
        Value::Object(o) => match text_of(o, "kind") {
            "Listing" => {
                let children = o.get("data").and_then(|d| d.get("children")).and_then(Value::as_array);
                match children {
                    Some(children) => {
                        for (i, c) in children.iter().enumerate() {
                            map(c, &child(at, format!("children[{i}]")), out);
                        }
                    }
                    None => out.problem(at, "listing without data.children"),
                }
            }
            "t1" | "t3" => match o.get("data").and_then(Value::as_object) {
                Some(data) => thing(data, text_of(o, "kind"), at, out),
                None => out.problem(at, "thing without data"),
            },
            // "more" stubs (comments not loaded), messages, subreddits, accounts: not mentions.
            k if !k.is_empty() => out.skip(),
            // A dump line: the thing's data alone; comments have a body, submissions a title.
            _ if o.contains_key("body") => thing(o, "t1", at, out),
            _ if o.contains_key("title") => thing(o, "t3", at, out),
            _ => out.problem(at, "neither a listing nor a submission or comment"),
        },
        _ => out.problem(at, "not a Reddit listing or thing"),
    }
}

fn created(o: &Map<String, Value>) -> Option<prost_types::Timestamp> {
    let secs = match o.get("created_utc")? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Some(prost_types::Timestamp { seconds: secs as i64, nanos: 0 })
}

fn thing(o: &Map<String, Value>, kind: &str, at: &str, out: &mut Out<'_>) {
    let id = id_of(o, "id");
    if id.is_empty() {
        return out.problem(at, format!("{kind} without an id"));
    }
    let body = text_of(o, "body");
    // Deleted and removed things keep their place in a thread but say nothing.
    if kind == "t1" && matches!(body, "[deleted]" | "[removed]") {
        out.skip();
        return walk_replies(o, at, out);
    }
    let text = if kind == "t3" {
        let (title, selftext) = (text_of(o, "title"), text_of(o, "selftext"));
        if selftext.is_empty() || matches!(selftext, "[deleted]" | "[removed]") {
            title.to_owned()
        } else {
            format!("{title}\n\n{selftext}")
        }
    } else {
        body.to_owned()
    };
    if text.trim().is_empty() {
        return out.problem(at, format!("{kind}_{id} has no text"));
    }
    let Some(created_at) = created(o) else {
        return out.problem(at, format!("{kind}_{id}: created_utc missing or not a number"));
    };
    out.unmapped(o, "", THING_FIELDS);
    let fullname = match text_of(o, "name") {
        n if n.starts_with("t1_") || n.starts_with("t3_") => n.to_owned(),
        _ => format!("{kind}_{id}"),
    };
    let handle = match text_of(o, "author") {
        "[deleted]" => "",
        a => a,
    };
    let permalink = text_of(o, "permalink");
    let url = if permalink.starts_with('/') {
        format!("https://www.reddit.com{permalink}")
    } else if permalink.starts_with("http") {
        permalink.to_owned()
    } else if kind == "t1" && !text_of(o, "subreddit").is_empty() && text_of(o, "link_id").starts_with("t3_") {
        // Older comments and some dumps carry no permalink; this address reaches the comment all the same.
        let link = text_of(o, "link_id").trim_start_matches("t3_");
        format!("https://www.reddit.com/r/{}/comments/{link}/_/{id}/", text_of(o, "subreddit"))
    } else {
        String::new()
    };
    let subreddit = text_of(o, "subreddit");
    let namespaced = |s: &str| if s.is_empty() { String::new() } else { format!("reddit:{s}") };
    let (engagement, parent, root) = if kind == "t1" {
        (EngagementType::Comment, namespaced(text_of(o, "parent_id")), namespaced(text_of(o, "link_id")))
    } else {
        (EngagementType::Post, String::new(), String::new())
    };
    out.mention(Mention {
        id: format!("reddit:{fullname}"),
        source: SourceNetwork::Reddit as i32,
        url,
        author: Some(Author {
            id: text_of(o, "author_fullname").to_owned(),
            handle: handle.to_owned(),
            ..Default::default()
        }),
        text,
        created_at: Some(created_at),
        engagement_type: engagement as i32,
        parent_id: parent,
        root_id: root,
        counts: Some(EngagementCounts {
            // Reddit hides downvotes; the score (ups − downs) is the closest to a like count it gives.
            likes: count_of(o, "score").max(count_of(o, "ups")),
            shares: 0,
            replies: count_of(o, "num_comments"),
        }),
        tags: if subreddit.is_empty() { Vec::new() } else { vec![format!("r/{subreddit}")] },
        ..Default::default()
    });
    walk_replies(o, at, out);
}

/// Comments of a comments page nest their replies as a listing in `replies` ("" when there are none).
fn walk_replies(o: &Map<String, Value>, at: &str, out: &mut Out<'_>) {
    if let Some(replies @ Value::Object(_)) = o.get("replies") {
        map(replies, &child(at, "replies"), out);
    }
}
