//! The limits on one query (issue 10, items 3 and 7): text length, terms, topic expansion, nesting,
//! and how much of the query a problem may echo. Each refusal is checked by its problem (message and
//! span), never by time; each limit is also shown to let through a query just under it.

use earshot_indexer::query::{
    self, QueryProblem, TopicResolver, MAX_DEPTH, MAX_PROBLEMS, MAX_QUERY_BYTES, MAX_QUERY_TERMS, MAX_QUOTED_CHARS,
    MAX_TOPIC_DEPTH, MAX_TOPIC_REFERENCES,
};

/// `n` distinct words joined by OR.
fn or_of(n: usize) -> String {
    (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" OR ")
}

fn only_problem(text: &str) -> QueryProblem {
    let mut problems = query::validate(text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    problems.remove(0)
}

#[test]
fn a_million_term_or_is_refused_by_its_length_alone() {
    let text = or_of(1_000_000);
    assert!(text.len() > 10_000_000);
    let p = only_problem(&text);
    assert_eq!(
        p.message,
        format!(
            "the query is {:.1} MB ({} bytes); at most {MAX_QUERY_BYTES} bytes are accepted",
            text.len() as f64 / 1e6,
            text.len()
        )
    );
    assert_eq!(p.span, (MAX_QUERY_BYTES, text.len()));
    // Nothing of the text is echoed.
    assert!(p.message.len() < 100, "{}", p.message);
}

#[test]
fn a_query_of_exactly_the_limit_still_parses() {
    let words = or_of(500);
    // Padded with a comment to exactly MAX_QUERY_BYTES.
    let pad = MAX_QUERY_BYTES - words.len() - " <<<>>>".len();
    let text = format!("{words} <<<{}>>>", "x".repeat(pad));
    assert_eq!(text.len(), MAX_QUERY_BYTES);
    assert_eq!(query::validate(&text), vec![]);
    let over = format!("{text} ");
    assert!(only_problem(&over).message.contains("at most 16384 bytes are accepted"));
}

#[test]
fn terms_are_limited_at_the_first_one_over() {
    assert_eq!(query::validate(&or_of(MAX_QUERY_TERMS)), vec![]);
    let text = or_of(MAX_QUERY_TERMS + 5);
    let p = only_problem(&text);
    assert_eq!(
        p.message,
        format!("the query has {} terms; at most {MAX_QUERY_TERMS} are accepted", MAX_QUERY_TERMS + 5)
    );
    let start = text.find(&format!(" w{MAX_QUERY_TERMS} ")).expect("the 1025th word") + 1;
    assert_eq!(p.span, (start, start + format!("w{MAX_QUERY_TERMS}").len()));
}

#[test]
fn phrase_words_count_as_terms() {
    let phrase = |n: usize| format!("\"{}\"", vec!["pie"; n].join(" "));
    assert_eq!(query::validate(&phrase(MAX_QUERY_TERMS)), vec![]);
    let p = only_problem(&phrase(MAX_QUERY_TERMS + 1));
    assert!(p.message.starts_with("the query has 1025 terms"), "{}", p.message);
}

/// Topic `Tn` refers to `T(n+1)` `fan` times, down to `depth`; the last is `apple OR pie`.
struct Fan {
    fan: usize,
    depth: usize,
}

impl TopicResolver for Fan {
    fn topic_query(&self, name: &str) -> Option<String> {
        let n: usize = name.strip_prefix('T')?.parse().ok()?;
        if n >= self.depth {
            return Some("apple OR pie".into());
        }
        Some(vec![format!("topic:T{}", n + 1); self.fan].join(" OR "))
    }
}

#[test]
fn topics_referring_to_topics_many_times_stop_at_the_reference_limit() {
    // 10^7 leaves if expanded: refused after MAX_TOPIC_REFERENCES look-ups.
    let problems = query::validate_with_topics("brand AND topic:T0", &Fan { fan: 10, depth: 7 });
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].span, (10, 18));
    assert_eq!(
        problems[0].message,
        format!(
            "the query refers to saved topics more than {MAX_TOPIC_REFERENCES} times, counting topics within \
             topics; at most {MAX_TOPIC_REFERENCES} are accepted"
        )
    );
}

/// Topic `Top` refers to `Leaf` `refs` times; `Leaf` is an OR of `words` words.
struct Wide {
    refs: usize,
    words: usize,
}

impl TopicResolver for Wide {
    fn topic_query(&self, name: &str) -> Option<String> {
        match name {
            "Top" => Some(vec!["topic:Leaf"; self.refs].join(" OR ")),
            "Leaf" => Some(or_of(self.words)),
            _ => None,
        }
    }
}

#[test]
fn topics_bringing_too_many_terms_are_refused() {
    // 8 × 128 = 1024 terms fit; a 9th reference brings 1152.
    assert_eq!(query::validate_with_topics("topic:Top", &Wide { refs: 8, words: 128 }), vec![]);
    let problems = query::validate_with_topics("topic:Top", &Wide { refs: 9, words: 128 });
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(
        problems[0].message,
        "with topic \"Leaf\" expanded, the query has 1152 terms or more; at most 1024 are accepted"
    );
    assert_eq!(problems[0].span, (0, 9));
    // The query's own terms count too.
    let problems = query::validate_with_topics("apple topic:Top", &Wide { refs: 8, words: 128 });
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].span, (6, 15));
}

#[test]
fn topic_depth_still_applies() {
    let ok = Fan { fan: 1, depth: MAX_TOPIC_DEPTH - 1 };
    assert_eq!(query::validate_with_topics("topic:T0", &ok), vec![]);
    let problems = query::validate_with_topics("topic:T0", &Fan { fan: 1, depth: MAX_TOPIC_DEPTH + 2 });
    assert!(problems.iter().any(|p| p.message.contains("topics nest more than 8 deep")), "{problems:#?}");
}

/// One saved topic whose text is over the length limit (saved before the limit existed).
struct Huge;

impl TopicResolver for Huge {
    fn topic_query(&self, _name: &str) -> Option<String> {
        Some(or_of(10_000))
    }
}

#[test]
fn a_topic_text_over_the_length_limit_is_refused_unlexed() {
    let problems = query::validate_with_topics("topic:Big", &Huge);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].message.starts_with("in topic \"Big\": the query is"), "{}", problems[0].message);
    assert_eq!(problems[0].span, (0, 9));
}

#[test]
fn nesting_past_the_limit_is_reported_at_the_first_level_beyond_it() {
    let nest = |n: usize| format!("{}apple{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(query::validate(&nest(MAX_DEPTH)), vec![]);
    let p = only_problem(&nest(MAX_DEPTH + 1));
    assert!(p.message.starts_with("the query nests more than 64 levels deep"), "{}", p.message);
    assert_eq!(p.span, (MAX_DEPTH, MAX_DEPTH + 1));
    // Far deeper, unclosed, or through NOTs and fields: still the one problem, at the 65th level.
    let p = only_problem(&"(".repeat(10_000));
    assert_eq!(p.span, (MAX_DEPTH, MAX_DEPTH + 1));
    let nots = format!("apple {}pie", "NOT ".repeat(MAX_DEPTH + 1));
    let p = only_problem(&nots);
    let at = 6 + 4 * MAX_DEPTH;
    assert_eq!((p.span, &nots[at..at + 3]), ((at, at + 3), "NOT"));
    let p = only_problem(&format!("a NEAR/2 {}b{}", "(".repeat(100), ")".repeat(100)));
    assert!(p.message.contains("nests more than"), "{}", p.message);
}

#[test]
fn problems_are_capped_and_the_rest_summed_up() {
    let problems = query::validate(&"} ".repeat(500));
    assert_eq!(problems.len(), MAX_PROBLEMS + 1);
    let last = &problems[MAX_PROBLEMS];
    assert_eq!(last.message, "480 more problems from here on are not listed; fix the ones above first");
    assert_eq!(last.span, (2 * MAX_PROBLEMS, 2 * MAX_PROBLEMS + 1));
}

/// Queries whose problems used to quote a piece of the query whole.
#[test]
fn no_problem_echoes_more_than_a_clipped_piece() {
    let long = "x".repeat(5_000);
    let queries = [
        format!("{long}: apple"),
        format!("apple {long}:"),
        format!("near/{long}"),
        format!("{long}*-b"),
        "!".repeat(5_000),
        format!("authorFollowers:{long}"),
        format!("rating:{long}"),
        format!("authorVerified:{long}"),
        format!("site:bbc.co.uk/{long}"),
        format!("url:bbc.co.uk/{}a*", "ab-".repeat(2_000)),
        format!("topic:\"{long}\""),
        format!("apple {long}~3"),
    ];
    for q in &queries {
        let problems = query::validate_with_topics(q, &query::NoTopics);
        assert!(!problems.is_empty(), "`{}…` should be refused", &q[..20]);
        for p in problems {
            assert!(p.message.len() < 300, "{} bytes: {}", p.message.len(), p.message);
        }
    }
    let clipped = format!("unknown field `{}…:`", "x".repeat(MAX_QUOTED_CHARS));
    let problems = query::validate(&format!("{long}: apple"));
    assert!(problems.iter().any(|p| p.message.starts_with(&clipped)), "{problems:#?}");
}

#[test]
fn topic_names_are_clipped_in_problems() {
    struct Loop;
    impl TopicResolver for Loop {
        fn topic_query(&self, name: &str) -> Option<String> {
            Some(format!("apple OR topic:\"{name}\""))
        }
    }
    let name = "n".repeat(2_000);
    let problems = query::validate_with_topics(&format!("topic:\"{name}\""), &Loop);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].message.len() < 400, "{}", problems[0].message);
    assert!(problems[0].message.contains("loop"), "{}", problems[0].message);
}
