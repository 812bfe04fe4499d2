//! Mastodon `Status` entities: a timeline (an array), one status, `/api/v2/search` results (`statuses`),
//! or a thread context (`ancestors`, `descendants`).
//!
//! The HTML content becomes plain text (a content warning goes first), a boost becomes a repost whose
//! parent is the boosted status (imported as well: it is what the boost says), a quote (Mastodon 4.5)
//! a quote. Status ids are the instance's own ids behind `mastodon:`, as `in_reply_to_id` is.

use earshot_proto::v1::{Author, EngagementCounts, EngagementType, Mention, SourceNetwork};
use serde_json::{Map, Value};

use super::{child, count_of, html_to_text, id_of, language, rfc3339, text_of, Out};

const STATUS_FIELDS: &[&str] = &[
    "id",
    "created_at",
    "in_reply_to_id",
    "spoiler_text",
    "language",
    "uri",
    "url",
    "replies_count",
    "reblogs_count",
    "favourites_count",
    "quotes_count",
    "content",
    "reblog",
    "account",
    "tags",
    "quote",
];
const ACCOUNT_FIELDS: &[&str] = &["id", "acct", "username", "display_name", "followers_count"];

/// Maps statuses in any of the shapes the API returns them in.
pub fn map(value: &Value, at: &str, out: &mut Out<'_>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                map(item, &child(at, format!("[{i}]")), out);
            }
        }
        Value::Object(o) if !o.contains_key("content") => {
            let mut found = false;
            for key in ["statuses", "ancestors", "descendants"] {
                if let Some(items) = o.get(key) {
                    found = true;
                    map(items, &child(at, key), out);
                }
            }
            if !found {
                out.problem(at, "not a Mastodon status");
            }
        }
        Value::Object(o) => status(o, at, out),
        _ => out.problem(at, "not a Mastodon status"),
    }
}

fn status(s: &Map<String, Value>, at: &str, out: &mut Out<'_>) {
    let id = id_of(s, "id");
    if id.is_empty() {
        return out.problem(at, "status without an id");
    }
    let Some(created_at) = rfc3339(text_of(s, "created_at")) else {
        return out.problem(at, format!("status {id}: created_at missing or not RFC 3339"));
    };
    out.unmapped(s, "", STATUS_FIELDS);
    let account = s.get("account").and_then(Value::as_object);
    if let Some(a) = account {
        out.unmapped(a, "account", ACCOUNT_FIELDS);
    }
    let author = account.map(|a| Author {
        id: id_of(a, "id"),
        handle: text_of(a, "acct").to_owned(),
        display_name: text_of(a, "display_name").to_owned(),
        followers: count_of(a, "followers_count"),
        verified: false,
    });

    // A boost has no content of its own: it repeats the boosted status, which is imported too.
    let reblog = s.get("reblog").and_then(Value::as_object);
    let quoted = s
        .get("quote")
        .and_then(|q| q.get("quoted_status"))
        .and_then(Value::as_object)
        .map(|q| id_of(q, "id"))
        .filter(|q| !q.is_empty());
    let reply_to = id_of(s, "in_reply_to_id");
    let (engagement, parent) = if let Some(r) = reblog {
        (EngagementType::Repost, id_of(r, "id"))
    } else if !reply_to.is_empty() {
        (EngagementType::Reply, reply_to)
    } else if let Some(q) = quoted {
        (EngagementType::Quote, q)
    } else {
        (EngagementType::Post, String::new())
    };
    let shown = reblog.unwrap_or(s);
    let mut text = html_to_text(&without_quote_fallback(text_of(shown, "content")));
    let warning = text_of(shown, "spoiler_text").trim();
    if !warning.is_empty() {
        text = if text.is_empty() { warning.to_owned() } else { format!("{warning}\n\n{text}") };
    }
    if text.trim().is_empty() {
        // Media-only statuses have nothing to listen to.
        out.skip();
    } else {
        let url = match text_of(s, "url") {
            "" => text_of(s, "uri"),
            u => u,
        };
        let tags = shown
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(|t| t.get("name").and_then(Value::as_str)).map(str::to_owned).collect())
            .unwrap_or_default();
        out.mention(Mention {
            id: format!("mastodon:{id}"),
            source: SourceNetwork::Mastodon as i32,
            url: url.to_owned(),
            author,
            text,
            language: language(text_of(shown, "language")),
            created_at: Some(created_at),
            engagement_type: engagement as i32,
            parent_id: if parent.is_empty() { parent } else { format!("mastodon:{parent}") },
            counts: Some(EngagementCounts {
                likes: count_of(s, "favourites_count"),
                shares: count_of(s, "reblogs_count") + count_of(s, "quotes_count"),
                replies: count_of(s, "replies_count"),
            }),
            tags,
            ..Default::default()
        });
    }
    if let Some(r) = reblog {
        status(r, &child(at, "reblog"), out);
    }
}

/// Mastodon 4.5 starts a quote's HTML with `<p class="quote-inline">RE: <link></p>` for clients that
/// cannot show quotes; the quote is in `quote`, so the fallback is not part of what was said.
fn without_quote_fallback(html: &str) -> std::borrow::Cow<'_, str> {
    let Some(start) = html.find("<p class=\"quote-inline\">") else {
        return html.into();
    };
    match html[start..].find("</p>") {
        Some(len) => format!("{}{}", &html[..start], &html[start + len + "</p>".len()..]).into(),
        None => html.into(),
    }
}
