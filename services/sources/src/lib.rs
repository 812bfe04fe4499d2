//! `earshot-sources`: what the platforms' APIs, dumps and feeds return, mapped onto a [`Mention`]. One
//! mapping, two readers: `earshot import` (files, `services/cli/src/formats`) and the service's live
//! sources (`services/server/src/sources`), which poll the same APIs and hand each response body here.
//!
//! # Layout
//! - this module: [`Out`], which collects what a mapper produces (mentions, problems with their
//!   position, skipped items, fields no mention has a place for) into a [`FileOutcome`]; [`collect`] for
//!   callers that want the mentions in a `Vec`; the small JSON readers the mappers share.
//! - [`x`]: X API v2 responses (`data`, `includes.users|tweets|places`, `meta`).
//! - [`reddit`]: Reddit listings (`t3` submissions, `t1` comments with their replies) and NDJSON dumps.
//! - [`mastodon`]: Mastodon `Status` entities (arrays, search results, contexts).
//! - [`bluesky`]: `app.bsky.feed.searchPosts` / `getPosts` PostViews and Jetstream commit events.
//! - [`feed`]: RSS 2.0 and Atom (through `feed-rs`).
//!
//! Ids are prefixed with the network (`x:`, `reddit:`, `mastodon:`, `bluesky:`, `news:`) so that two
//! networks never collide within a tenant; parent and root ids carry the same prefix.

pub mod bluesky;
pub mod feed;
pub mod mastodon;
pub mod reddit;
pub mod x;

use std::collections::BTreeSet;

use earshot_proto::v1::Mention;
use serde_json::{Map, Value};

/// An item that could not be read, and where it was in its file or response.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Where: a line number (`12`) or a path into a document (`data[3]`).
    pub at: String,
    /// Why.
    pub message: String,
}

/// What one file (or one response) gave.
#[derive(Debug, Default, Clone)]
pub struct FileOutcome {
    /// The format it was read as.
    pub format: String,
    /// Mentions handed on.
    pub mentions: u64,
    /// Items that could not be read.
    pub unreadable: u64,
    /// Items read but deliberately not imported (likes, deleted comments, "more" stubs, …), by kind.
    pub skipped: u64,
    /// Fields present in the file that no mention field holds, once each.
    pub unmapped: Vec<String>,
    /// Why nothing in the file could be read, when the file as a whole is unreadable.
    pub fatal: Option<String>,
}

/// Collects what mappers produce: mentions and problems go to `emit`, the rest is counted.
pub struct Out<'a> {
    emit: &'a mut dyn FnMut(Result<Mention, Problem>) -> bool,
    outcome: FileOutcome,
    unmapped: BTreeSet<String>,
    /// The consumer went away (the import failed): stop reading.
    stopped: bool,
}

impl<'a> Out<'a> {
    /// Collects into `emit`, which returns false to stop.
    pub fn new(emit: &'a mut dyn FnMut(Result<Mention, Problem>) -> bool) -> Self {
        Out { emit, outcome: FileOutcome::default(), unmapped: BTreeSet::new(), stopped: false }
    }

    /// Hands on one mention.
    pub fn mention(&mut self, m: Mention) {
        self.outcome.mentions += 1;
        if !self.stopped && !(self.emit)(Ok(m)) {
            self.stopped = true;
        }
    }

    /// Reports one item that could not be read.
    pub fn problem(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.outcome.unreadable += 1;
        let p = Problem { at: at.into(), message: message.into() };
        if !self.stopped && !(self.emit)(Err(p)) {
            self.stopped = true;
        }
    }

    /// Counts one item read but deliberately not imported.
    pub fn skip(&mut self) {
        self.outcome.skipped += 1;
    }

    /// Says why nothing could be read.
    pub fn fatal(&mut self, why: impl Into<String>) {
        self.outcome.fatal = Some(why.into());
    }

    /// Whether the consumer asked to stop.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Remembers every key of `object` not in `known`, as `prefix.key`.
    pub fn unmapped(&mut self, object: &Map<String, Value>, prefix: &str, known: &[&str]) {
        for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
            if self.unmapped.len() < 256 {
                self.unmapped.insert(if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") });
            }
        }
    }

    /// Remembers one field name (for formats read by a parser that hands over a model, not keys).
    pub fn unmapped_name(&mut self, name: &str) {
        self.unmapped.insert(name.to_owned());
    }

    /// The outcome, named `format`.
    pub fn finish(mut self, format: &str) -> FileOutcome {
        self.outcome.format = format.to_owned();
        self.outcome.unmapped = self.unmapped.into_iter().collect();
        self.outcome
    }
}

/// Runs `map` over a collector and returns the mentions, the problems and the outcome (what a poller of
/// one API response wants).
pub fn collect(format: &str, map: impl FnOnce(&mut Out<'_>)) -> (Vec<Mention>, Vec<Problem>, FileOutcome) {
    let (mut mentions, mut problems) = (Vec::new(), Vec::new());
    let mut emit = |item: Result<Mention, Problem>| {
        match item {
            Ok(m) => mentions.push(m),
            Err(p) => problems.push(p),
        }
        true
    };
    let mut out = Out::new(&mut emit);
    map(&mut out);
    let outcome = out.finish(format);
    (mentions, problems, outcome)
}

/// `at` joined with a child position (`data[2]`, `line 4/posts[1]`).
pub fn child(at: &str, step: impl std::fmt::Display) -> String {
    if at.is_empty() {
        step.to_string()
    } else if at.bytes().all(|b| b.is_ascii_digit()) {
        format!("{at}:{step}")
    } else {
        format!("{at}.{step}")
    }
}

// Small readers of JSON values that the mappers share.

fn text_of<'v>(object: &'v Map<String, Value>, key: &str) -> &'v str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn count_of(object: &Map<String, Value>, key: &str) -> u64 {
    match object.get(key) {
        Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)).unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// An id that may be a JSON string or number.
fn id_of(object: &Map<String, Value>, key: &str) -> String {
    match object.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn rfc3339(value: &str) -> Option<prost_types::Timestamp> {
    let t = chrono::DateTime::parse_from_rfc3339(value.trim()).ok()?;
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 })
}

/// A language tag the service accepts, or nothing: platform codes for "undetermined" (`und`, X's `qme`,
/// `zxx`, …) say no language.
fn language(code: &str) -> String {
    let code = code.trim();
    let primary = code.split(['-', '_']).next().unwrap_or_default();
    if primary.is_empty() || primary == "und" || primary == "zxx" || (primary.len() == 3 && primary.starts_with('q')) {
        String::new()
    } else {
        code.to_owned()
    }
}

/// HTML (Mastodon content, feed summaries) as plain text: links keep their text and lose their
/// address (a listening index wants the words), paragraphs become blank lines, nothing is wrapped.
fn html_to_text(html: &str) -> String {
    let text = html2text::config::with_decorator(html2text::render::TrivialDecorator::new())
        .no_link_wrapping()
        .string_from_read(html.as_bytes(), 1 << 16)
        .unwrap_or_else(|_| html.to_owned());
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_html() {
        assert_eq!(language("und"), "");
        assert_eq!(language("qme"), "");
        assert_eq!(language("pt-BR"), "pt-BR");
        assert_eq!(
            html_to_text("<p>Hello <a href=\"https://x\">#<span>tag</span></a></p><p>two</p>"),
            "Hello #tag\n\ntwo"
        );
    }

    #[test]
    fn collect_gathers_mentions_and_problems() {
        let v: Value = serde_json::from_str(r#"[{"id":"1","created_at":"2024-01-01T00:00:00Z","content":"<p>hi</p>","account":{"id":"9","acct":"a"}},{"content":"x"}]"#)
            .expect("json");
        let (mentions, problems, outcome) = collect("mastodon", |out| mastodon::map(&v, "", out));
        assert_eq!((mentions.len(), problems.len(), outcome.format.as_str()), (1, 1, "mastodon"));
        assert_eq!(mentions[0].id, "mastodon:1");
        assert_eq!(problems[0].at, "[1]");
    }
}
