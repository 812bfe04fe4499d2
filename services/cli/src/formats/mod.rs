//! Native formats that `earshot import` reads: what the platforms' APIs, dumps and feeds return, mapped
//! onto a [`Mention`].
//!
//! # Layout
//! - `mod.rs`: detection from the content, the two layouts (one JSON document read whole, or one JSON value
//!   per line), and the dispatch to the mappers.
//! - the mappers themselves (X, Reddit, Mastodon, Bluesky, RSS/Atom) and [`Out`], which counts what a file
//!   gave, live in the `earshot-sources` crate: the service's live sources map the same API responses.
//! - `tests.rs`: every fixture of `tests/fixtures/sources` read through [`read_file`].

use std::io::{BufRead, Read};
use std::path::Path;

use earshot_proto::v1::Mention;
use earshot_sources::{bluesky, child, feed, mastodon, reddit, x, Out};
pub use earshot_sources::{FileOutcome, Problem};
use serde_json::Value;

use crate::args::Format;
use crate::records::{read_csv, read_jsonl};

/// Bytes looked at to decide the format (a first line longer than this is taken for a JSON document).
const SNIFF_BYTES: u64 = 1 << 20;

/// The name `--format` takes for `format`.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Auto => "auto",
        Format::Jsonl => "jsonl",
        Format::Csv => "csv",
        Format::X => "x",
        Format::Reddit => "reddit",
        Format::Mastodon => "mastodon",
        Format::Bluesky => "bluesky",
        Format::Jetstream => "jetstream",
        Format::Feed => "feed",
    }
}

/// Reads one file (or standard input) in `format` (`Auto`: decided from the content), handing every
/// mention or unreadable item to `emit` (which returns false to stop).
pub fn read_file(
    path: &Path,
    reader: impl Read,
    format: Format,
    emit: &mut dyn FnMut(Result<Mention, Problem>) -> bool,
) -> std::io::Result<FileOutcome> {
    let mut head = Vec::new();
    let mut reader = std::io::BufReader::with_capacity(1 << 20, reader);
    (&mut reader).take(SNIFF_BYTES).read_to_end(&mut head)?;
    let full = (head.len() as u64) < SNIFF_BYTES;
    let body = std::io::Cursor::new(head).chain(reader);
    let mut body = std::io::BufReader::with_capacity(1 << 20, body);
    let head = body.fill_buf()?.to_vec();
    let sniffed = sniff(path, &head, full);
    let format = if format == Format::Auto { sniffed.format } else { format };
    let mut out = Out::new(emit);
    match (format, sniffed.layout) {
        (Format::Csv, _) => read_csv(body, |r| out_record(&mut out, r)),
        (Format::Feed, _) => feed::read(body, &mut out),
        (Format::Jsonl, Layout::Lines) => read_jsonl(body, |r| out_record(&mut out, r)),
        (f, Layout::Lines) => read_lines(body, f, &mut out),
        (f, Layout::Document) => read_document(body, f, &mut out),
    }
    Ok(out.finish(format_name(format)))
}

fn out_record(out: &mut Out<'_>, r: Result<Mention, crate::records::RecordError>) -> bool {
    match r {
        Ok(m) => out.mention(m),
        Err(e) => out.problem(e.line.to_string(), e.message),
    }
    !out.stopped()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// One JSON value per line.
    Lines,
    /// The whole file is one JSON value.
    Document,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sniffed {
    format: Format,
    layout: Layout,
}

/// Decides format and layout from the first bytes: XML is a feed; a first line that is a whole JSON value
/// means one value per line; anything else JSON is one document (pretty-printed API responses).
fn sniff(path: &Path, head: &[u8], complete: bool) -> Sniffed {
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        return Sniffed { format: Format::Csv, layout: Layout::Lines };
    }
    if text.starts_with('<') {
        return Sniffed { format: Format::Feed, layout: Layout::Document };
    }
    let first_line = text.lines().next().unwrap_or_default();
    if let Ok(value) = serde_json::from_str::<Value>(first_line) {
        // A compact document on one line followed by nothing is still one document.
        let only_line = text.trim_end().lines().nth(1).is_none() && complete;
        let layout = if only_line { Layout::Document } else { Layout::Lines };
        return Sniffed { format: classify(&value), layout };
    }
    if complete {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            return Sniffed { format: classify(&value), layout: Layout::Document };
        }
    }
    // A first line that does not close is a (pretty-printed) document, too large to look at whole or
    // broken: guess its kind from the names it mentions early on; reading it will say what is wrong.
    if text.starts_with('{') || text.starts_with('[') {
        return Sniffed { format: guess_from_names(text), layout: Layout::Document };
    }
    Sniffed { format: Format::Jsonl, layout: Layout::Lines }
}

fn guess_from_names(text: &str) -> Format {
    let has = |s: &str| text.contains(s);
    if has("\"kind\": \"Listing\"") || has("\"kind\":\"Listing\"") {
        Format::Reddit
    } else if has("\"edit_history_tweet_ids\"") || has("\"includes\"") {
        Format::X
    } else if has("\"at://") {
        Format::Bluesky
    } else if has("\"reblogs_count\"") {
        Format::Mastodon
    } else {
        Format::Jsonl
    }
}

/// The native format one JSON value (a document, a line, or an element of an array) is in.
fn classify(value: &Value) -> Format {
    let object = match value {
        Value::Array(items) => return items.first().map_or(Format::Jsonl, classify),
        Value::Object(o) => o,
        _ => return Format::Jsonl,
    };
    let has = |k: &str| object.contains_key(k);
    let str_of = |k: &str| object.get(k).and_then(Value::as_str).unwrap_or_default();
    let reddit_thing = matches!(str_of("kind"), "t1" | "t3" | "more") && has("data");
    let reddit_dump = has("subreddit") && (has("body") || has("title"));
    let x_response = has("data") && (has("includes") || has("meta") || has("errors"));
    // Bare tweets: every v2 tweet has `edit_history_tweet_ids` since 2022; older ones are told from
    // earshot's own records (which may also have `author_id`) by fields only X uses.
    let x_only = has("lang") || has("public_metrics") || has("referenced_tweets") || has("conversation_id");
    let x_tweet = has("edit_history_tweet_ids") || (has("author_id") && has("text") && x_only);
    if has("did") && has("time_us") && has("kind") {
        Format::Jetstream
    } else if str_of("kind") == "Listing" || reddit_thing || reddit_dump {
        Format::Reddit
    } else if x_response || x_tweet {
        Format::X
    } else if has("posts") || has("feed") || (str_of("uri").starts_with("at://") && has("record")) {
        Format::Bluesky
    } else if has("statuses") || has("ancestors") || (has("account") && has("content")) {
        Format::Mastodon
    } else {
        Format::Jsonl
    }
}

fn read_lines(body: impl BufRead, format: Format, out: &mut Out<'_>) {
    for (i, line) in body.lines().enumerate() {
        let at = (i + 1).to_string();
        match line {
            Err(e) => out.problem(at, e.to_string()),
            Ok(l) if l.trim().is_empty() => {}
            Ok(l) => match serde_json::from_str::<Value>(&l) {
                Ok(value) => map_value(format, &value, &at, out),
                Err(e) => out.problem(at, format!("not JSON: {e}")),
            },
        }
        if out.stopped() {
            return;
        }
    }
}

fn read_document(body: impl Read, format: Format, out: &mut Out<'_>) {
    match serde_json::from_reader::<_, Value>(body) {
        Ok(value) => map_value(format, &value, "", out),
        Err(e) => out.fatal(format!("not a JSON document: {e}")),
    }
}

fn map_value(format: Format, value: &Value, at: &str, out: &mut Out<'_>) {
    match format {
        Format::X => x::map(value, at, out),
        Format::Reddit => reddit::map(value, at, out),
        Format::Mastodon => mastodon::map(value, at, out),
        Format::Bluesky | Format::Jetstream => bluesky::map(value, at, out),
        _ => flat(value, at, out),
    }
}

/// earshot's own vocabulary inside a JSON document: an array of records, or one record.
fn flat(value: &Value, at: &str, out: &mut Out<'_>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flat(item, &child(at, format!("[{i}]")), out);
            }
        }
        _ => match crate::records::from_value(value) {
            Ok(m) => out.mention(m),
            Err(e) => out.problem(if at.is_empty() { "1" } else { at }, e),
        },
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod detection_tests {
    use super::*;

    fn sniffed(text: &str) -> (Format, Layout) {
        let s = sniff(Path::new("f.json"), text.as_bytes(), true);
        (s.format, s.layout)
    }

    #[test]
    fn detection() {
        assert_eq!(sniffed("{\n  \"data\": [],\n  \"meta\": {}\n}").0, Format::X);
        assert_eq!(sniffed("{\n  \"data\": [],\n  \"meta\": {}\n}").1, Layout::Document);
        assert_eq!(sniffed("[{\"kind\":\"Listing\",\"data\":{}}]"), (Format::Reddit, Layout::Document));
        assert_eq!(
            sniffed("{\"did\":\"d\",\"time_us\":1,\"kind\":\"commit\"}\n{}"),
            (Format::Jetstream, Layout::Lines)
        );
        assert_eq!(sniffed("{\"id\":\"a\",\"subreddit\":\"x\",\"body\":\"b\"}\n{}\n"), (Format::Reddit, Layout::Lines));
        assert_eq!(sniffed("<?xml version=\"1.0\"?><rss/>").0, Format::Feed);
        assert_eq!(sniffed("{\"id\":1,\"text\":\"hi\"}\n{\"id\":2,\"text\":\"yo\"}"), (Format::Jsonl, Layout::Lines));
        assert_eq!(sniffed("[{\"id\":\"1\",\"account\":{},\"content\":\"<p>x</p>\"}]").0, Format::Mastodon);
        assert_eq!(sniffed("{\"posts\":[{\"uri\":\"at://x\"}]}").0, Format::Bluesky);
        let own = "{\"id\":\"1\",\"text\":\"t\",\"author_id\":\"9\",\"source\":\"twitter\",\"language\":\"en\"}\n{}";
        assert_eq!(sniffed(own).0, Format::Jsonl, "earshot's own records stay earshot's");
        let samples =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/mentions.jsonl")).expect("samples");
        assert_eq!(sniff(Path::new("s.jsonl"), &samples, true).format, Format::Jsonl);
    }
}
