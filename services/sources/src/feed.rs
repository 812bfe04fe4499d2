//! News feeds: RSS 2.0 and Atom (also RSS 1.0 and JSON Feed, which `feed-rs` reads alike).
//!
//! An entry becomes a mention of source `news`: its title and summary (or content) as plain text, its
//! first link, its publication time (the update time when it has none), its first author, its categories
//! as tags, and the entry's or the feed's language. Ids are the entries' ids (RSS `guid`, Atom `id`)
//! behind `news:`.

use std::io::Read;

use earshot_proto::v1::{Author, EngagementType, Mention, SourceNetwork};

use super::{html_to_text, language, Out};

/// Reads a whole feed.
pub fn read(body: impl Read, out: &mut Out<'_>) {
    let feed = match feed_rs::parser::parse(body) {
        Ok(feed) => feed,
        Err(e) => {
            out.fatal(format!("not an RSS or Atom feed: {e}"));
            return;
        }
    };
    let feed_language = feed.language.as_deref().map(language).unwrap_or_default();
    for (i, entry) in feed.entries.iter().enumerate() {
        let at = format!("entry[{i}]");
        let title = entry.title.as_ref().map(|t| plain(&t.content, t.content_type.as_str())).unwrap_or_default();
        let body = match (&entry.summary, &entry.content) {
            (Some(s), _) if !s.content.trim().is_empty() => plain(&s.content, s.content_type.as_str()),
            (_, Some(c)) => c.body.as_deref().map(|b| plain(b, c.content_type.as_str())).unwrap_or_default(),
            _ => String::new(),
        };
        let text = match (title.is_empty(), body.is_empty()) {
            (false, false) if body != title => format!("{title}\n\n{body}"),
            (false, _) => title,
            (true, _) => body,
        };
        if text.trim().is_empty() {
            out.problem(at, format!("entry {:?} has neither title nor text", entry.id));
            continue;
        }
        let Some(time) = entry.published.or(entry.updated) else {
            out.problem(at, format!("entry {:?} has no publication date", entry.id));
            continue;
        };
        let author = entry.authors.first().and_then(|p| p.name.clone()).unwrap_or_default();
        for (name, present) in [
            ("media", !entry.media.is_empty()),
            ("contributors", !entry.contributors.is_empty()),
            ("rights", entry.rights.is_some()),
        ] {
            if present {
                out.unmapped_name(name);
            }
        }
        let lang = entry.language.as_deref().map(language).unwrap_or_else(|| feed_language.clone());
        out.mention(Mention {
            id: format!("news:{}", entry.id),
            source: SourceNetwork::News as i32,
            url: entry.links.first().map(|l| l.href.clone()).unwrap_or_default(),
            author: Some(Author { display_name: author, ..Default::default() }),
            text,
            language: lang,
            created_at: Some(prost_types::Timestamp {
                seconds: time.timestamp(),
                nanos: time.timestamp_subsec_nanos() as i32,
            }),
            engagement_type: EngagementType::Post as i32,
            tags: entry.categories.iter().map(|c| c.term.trim().to_owned()).filter(|t| !t.is_empty()).collect(),
            ..Default::default()
        });
    }
}

/// Feed text may be HTML (RSS descriptions nearly always are, whatever they declare).
fn plain(text: &str, content_type: &str) -> String {
    if content_type.contains("html") || text.contains('<') {
        html_to_text(text)
    } else {
        text.trim().to_owned()
    }
}
