//! Fuzzes the query language end to end: analysis, lexing, parsing, topic expansion, validation,
//! printing, lowering and running the query on a tiny index. Any panic is a bug; so is a problem span
//! outside the text, or a valid query whose printed form parses differently.

#![no_main]

use std::sync::OnceLock;

use earshot_indexer::query::{self, parse_query_with_topics, parse_syntax, print, TopicResolver};
use earshot_indexer::schema::{build_schema, register_tokenizers, Fields};
use earshot_indexer::tokenizer::{analyze, analyze_url, Case, Folder};
use earshot_proto::v1::{Author, Mention};
use libfuzzer_sys::fuzz_target;
use tantivy::query::Query;
use tantivy::{Index, Searcher};

/// Topics that refer to each other (including in a loop).
struct Topics;

impl TopicResolver for Topics {
    fn topic_query(&self, name: &str) -> Option<String> {
        let q = match name {
            "a" => "apple OR topic:b",
            "b" => "pie AND topic:a",
            "c" => "complain* NEAR/2 (service OR support)",
            "d" => "NOT spam",
            "e" => "(unclosed",
            _ => return None,
        };
        Some(q.to_owned())
    }
}

struct Fixture {
    index: Index,
    fields: Fields,
    searcher: Searcher,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (schema, fields) = build_schema();
        let index = Index::create_in_ram(schema);
        register_tokenizers(index.tokenizers());
        register_tokenizers(index.fast_field_tokenizer());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).expect("writer");
        let texts = [
            "I want to complain about the service #fail @acme_support",
            "Best café in Paris 😀 👍🏽 https://www.bbc.co.uk/news",
            "logitech wireless keyboard, e-mail support",
            "The BT Tower complain complain complain",
        ];
        for (i, text) in texts.iter().enumerate() {
            let mention = Mention {
                id: i.to_string(),
                tenant: "t".into(),
                text: (*text).into(),
                url: "https://shop.example.com/p/keyboards?x=1".into(),
                tags: vec!["hardware".into()],
                rating: 4.5,
                author: Some(Author { handle: "bob".into(), followers: 10, ..Default::default() }),
                ..Default::default()
            };
            writer.add_document(earshot_indexer::doc::to_document(&fields, &mention, "")).expect("add");
        }
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        Fixture { index, fields, searcher }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut folder = Folder::default();
    let _ = analyze(text, Case::Lower, &mut folder);
    let _ = analyze(text, Case::Keep, &mut folder);
    let _ = analyze_url(text, &mut folder);

    for problems in [query::validate(text), query::validate_with_topics(text, &Topics)] {
        for p in &problems {
            let (start, end) = p.span;
            assert!(start <= end && end <= text.len(), "span {:?} outside {text:?}", p.span);
            assert!(text.is_char_boundary(start) && text.is_char_boundary(end), "span {:?} splits a character", p.span);
        }
    }

    let (tree, problems) = parse_syntax(text);
    if let (Some(tree), true) = (&tree, problems.is_empty()) {
        let printed = print(tree);
        let (again, problems) = parse_syntax(&printed);
        assert!(problems.is_empty(), "{text:?} printed as {printed:?}: {problems:?}");
        let again = again.expect("a tree");
        assert_eq!(again.without_spans(), tree.without_spans(), "{text:?} printed as {printed:?}");
    }

    let fx = fixture();
    if let Ok(q) = parse_query_with_topics(&fx.index, &fx.fields, text, &Topics) {
        // Hitting the wildcard cap or similar is an error, never a panic.
        let _ = q.count(&fx.searcher);
    }
});
