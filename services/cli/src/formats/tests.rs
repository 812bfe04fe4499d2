//! Every fixture in `tests/fixtures/sources` read through [`read_file`] (no server): formats detected,
//! counts, problems with positions, fields not mapped. Field-by-field checks run end to end in
//! `tests/tests/sources.rs`.

use std::path::PathBuf;

use super::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/sources").join(name)
}

fn read(name: &str, format: Format) -> (FileOutcome, Vec<Mention>, Vec<Problem>) {
    let path = fixture(name);
    let file = std::fs::File::open(&path).expect("fixture");
    let (mut mentions, mut problems) = (Vec::new(), Vec::new());
    let mut emit = |item: Result<Mention, Problem>| {
        match item {
            Ok(m) => mentions.push(m),
            Err(p) => problems.push(p),
        }
        true
    };
    let outcome = read_file(&path, file, format, &mut emit).expect("read");
    if std::env::var_os("EARSHOT_SHOW_FIXTURES").is_some() {
        eprintln!("{name}: {outcome:?}\n{mentions:#?}\n{problems:?}");
    }
    (outcome, mentions, problems)
}

#[test]
fn every_fixture_is_detected_and_read() {
    let cases = [
        ("x/search_recent.json", "x", 4, 0, 0),
        ("x/search_nyc.json", "x", 5, 0, 0),
        ("x/mentions.json", "x", 2, 0, 0),
        ("x/tweepy_users_tweets.json", "x", 2, 0, 0),
        ("reddit/search.json", "reddit", 3, 0, 0),
        ("reddit/comments_2gmzqe.json", "reddit", 3, 0, 0),
        ("reddit/dump.ndjson", "reddit", 5, 0, 0),
        ("mastodon/statuses.json", "mastodon", 6, 0, 0),
        ("bluesky/search_posts.json", "bluesky", 4, 0, 0),
        ("bluesky/jetstream.jsonl", "jetstream", 5, 0, 9),
        ("feeds/news.rss", "feed", 2, 1, 0),
        ("feeds/blog.atom", "feed", 2, 0, 0),
    ];
    for (name, format, mentions, unreadable, skipped) in cases {
        let (outcome, got, problems) = read(name, Format::Auto);
        assert_eq!(outcome.format, format, "{name}");
        assert_eq!(got.len() as u64, outcome.mentions, "{name}");
        assert_eq!(
            (outcome.mentions, outcome.unreadable, outcome.skipped),
            (mentions, unreadable, skipped),
            "{name}: {problems:?}"
        );
        assert!(outcome.fatal.is_none(), "{name}");
        for m in &got {
            assert!(m.created_at.is_some() && !m.text.trim().is_empty(), "{name}: {m:?}");
        }
    }
}

#[test]
fn malformed_items_have_positions_and_the_rest_imports() {
    let (_, _, problems) = read("feeds/news.rss", Format::Auto);
    assert_eq!(problems[0].at, "entry[2]");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mixed.json");
    std::fs::write(
        &path,
        r#"{"data":[{"id":"1","text":"ok","created_at":"2024-01-01T00:00:00Z"},{"text":"no id"},{"id":"3","text":"bad time","created_at":"yesterday"}],"meta":{}}"#,
    )
    .expect("write");
    let (mut ok, mut bad) = (0, Vec::new());
    let mut emit = |item: Result<Mention, Problem>| {
        match item {
            Ok(_) => ok += 1,
            Err(p) => bad.push(p.at),
        }
        true
    };
    let file = std::fs::File::open(&path).expect("open");
    read_file(&path, file, Format::Auto, &mut emit).expect("read");
    assert_eq!((ok, bad), (1, vec!["data[1]".to_owned(), "data[2]".to_owned()]));
}

#[test]
fn unreadable_documents_and_forced_formats() {
    let (outcome, mentions, _) = read("x/search_recent.json", Format::Reddit);
    assert_eq!((outcome.format.as_str(), mentions.len()), ("reddit", 0), "forcing a format maps with it");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cut.json");
    std::fs::write(&path, "{\n  \"data\": [\n    {\"id\": \"1\"").expect("write");
    let mut emit = |_: Result<Mention, Problem>| true;
    let file = std::fs::File::open(&path).expect("open");
    let outcome = read_file(&path, file, Format::Auto, &mut emit).expect("read");
    assert!(outcome.fatal.as_deref().is_some_and(|e| e.contains("line 3")), "{outcome:?}");
}
