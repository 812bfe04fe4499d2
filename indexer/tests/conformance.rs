//! Conformance of the analyst query language: each case is a query and the exact set of fixture
//! mentions (`cNN`, see `fixture/mod.rs`) it must match, through the real index and search path.
//! Error cases check the message and the byte span of the first problem.

mod fixture;

use earshot_indexer::query::{self, parse_query, parse_query_with_topics, QueryProblem, TopicResolver};
use earshot_indexer::IndexError;
use fixture::{fixture, matching};

/// Saved topics of the fixture tenant.
struct Topics;

impl TopicResolver for Topics {
    fn topic_query(&self, name: &str) -> Option<String> {
        let q = match name {
            "Keyboards" => "logitech NEAR/2 keyboard <<<our hardware line>>>",
            "Fruit" => "apple OR orange",
            "Outer" => "topic:\"Keyboards\" OR topic:Fruit",
            "Loop" => "apple OR topic:\"Loop2\"",
            "Loop2" => "pie AND topic:\"Loop\"",
            "Broken" => "apple AND (pie",
            "Exclusions" => "NOT delivery NOT tags:complaint",
            _ => return None,
        };
        Some(q.to_owned())
    }
}

fn run(q: &str) -> Vec<u32> {
    let fx = fixture();
    let parsed = parse_query_with_topics(fx.indexer.index(), fx.indexer.fields(), q, &Topics);
    match parsed {
        Ok(query) => matching(query),
        Err(e) => panic!("`{q}` should parse: {e:?}"),
    }
}

fn first_problem(q: &str) -> (String, Option<(usize, usize)>) {
    let fx = fixture();
    match parse_query_with_topics(fx.indexer.index(), fx.indexer.fields(), q, &Topics) {
        Err(IndexError::InvalidQuery { message, span }) => (message, span),
        Err(e) => panic!("`{q}`: unexpected error {e:?}"),
        Ok(_) => panic!("`{q}` should be refused"),
    }
}

macro_rules! finds {
    ($($name:ident: $q:expr => [$($id:expr),* $(,)?];)*) => {$(
        #[test]
        fn $name() {
            let expected: Vec<u32> = vec![$($id),*];
            assert_eq!(run($q), expected, "query `{}`", $q);
        }
    )*};
}

macro_rules! refuses {
    ($($name:ident: $q:expr => ($start:expr, $end:expr), $needle:expr;)*) => {$(
        #[test]
        fn $name() {
            let (message, span) = first_problem($q);
            assert_eq!(span, Some(($start, $end)), "query `{}`: {}", $q, message);
            assert!(message.contains($needle), "query `{}`: message `{}` lacks `{}`", $q, message, $needle);
        }
    )*};
}

finds! {
    // Wildcards (Tantivy's parser reads `complain*` as the word "complain").
    wildcard_suffix: "complain*" => [1, 2, 3, 34];
    wildcard_single_char: "customi?e" => [4, 5];
    wildcard_wide_prefix: "custom*" => [4, 5, 41, 42];
    exact_word_is_not_a_prefix: "complain" => [1, 34];
    wildcard_plural: "keyboard*" => [6, 7, 8, 35];
    wildcard_on_tags: "tags:comp*" => [1, 7];
    wildcard_on_author: "author:acme*" => [16];
    wildcard_on_hashtags: "#app*" => [13, 44];
    wildcard_reaches_hashtag_words: "app*" => [13, 14, 22, 23, 24, 44, 46, 47];
    wildcard_matches_accented_letter: "caf?" => [9, 10, 38];
    wildcard_inside_phrase: "\"complain* about\"" => [1, 2];
    wildcard_single_char_inside_phrase: "\"best caf?\"" => [9, 10];
    wildcard_on_site: "site:bbc*" => [17, 18];

    // Accent rule: unaccented matches both, accented only itself.
    unaccented_matches_accented: "cafe" => [9, 10, 38];
    accented_matches_itself: "café" => [9, 38];
    unaccented_phrase: "\"best cafe\"" => [9, 10];
    accented_phrase: "\"best café\"" => [9];
    unaccented_naive: "naive" => [30, 31];
    accented_naive: "naïve" => [30];
    unaccented_resume: "resume" => [30, 31, 45];
    accented_resume: "résumé" => [30];
    folded_capitals: "unicode" => [30];
    unaccented_hashtag: "#cafe" => [38];
    accented_hashtag: "#café" => [38];
    uppercase_query_is_case_insensitive: "CAFÉ" => [9, 38];

    // Elisions: `l'`, `dell'`, `d'`, `c'`, `n'`… drop, with ' or ’, in text and query alike.
    elided_word_found_by_itself: "app" => [46, 47];
    elision_in_query: "l'app" => [46, 47];
    other_elision_in_query: "dell’app" => [46, 47];
    elided_preposition: "ospedale" => [47];
    elided_preposition_query: "\"dell'ospedale\"" => [47];
    elision_phrase: "\"aprire l'app\"" => [47];
    elision_takes_no_position: "\"aprire app\"" => [47];
    elision_phrase_other_apostrophe: "\"n’aime pas l’app\"" => [46];
    elision_d: "accord" => [48];
    elision_d_query: "d'accord" => [48];
    elision_c_phrase_with_accent_rule: "\"c'est regle\"" => [48];
    elision_near: "aprire NEAR/0 app" => [47];
    elision_wildcard: "l'osp*" => [47];
    possessive_is_not_an_elision: "dell" => [53];
    possessive_phrase: "\"dell's laptop\"" => [53];

    // German: ä/ae, ö/oe, ü/ue, ß/ss are one letter spelled two ways; the plain vowel is the accent rule.
    umlaut_finds_transcription: "müller" => [49, 50];
    transcription_finds_umlaut: "mueller" => [49, 50];
    plain_vowel_finds_umlaut: "muller" => [49, 51];
    umlaut_capitals: "MÜLLER" => [49, 50];
    umlaut_phrase: "\"herr mueller\"" => [49];
    transcription_phrase: "\"frau müller\"" => [50];
    plain_vowel_phrase: "\"herr muller\"" => [49];
    umlaut_case_sensitive: "{Müller}" => [49, 50];
    sharp_s_finds_ss: "straße" => [49, 50];
    ss_finds_sharp_s: "strasse" => [49, 50];
    sharp_s_phrase: "\"der strasse am\"" => [49, 50];
    sharp_s_phrase_reverse: "\"straße am bahnhof\"" => [49];
    umlaut_and_sharp_s_in_one_word: "gruesse" => [52];
    umlaut_and_sharp_s_plain: "grusse" => [52];
    umlaut_hashtag_word: "fussball" => [52];
    umlaut_hashtag: "#fussball" => [52];
    umlaut_hashtag_written: "#fußball" => [52];
    umlaut_near: "grüße NEAR/1 muenchen" => [52];
    umlaut_wildcard: "mü*" => [49, 52];

    // {…} case-sensitive.
    case_sensitive_upper: "{BT}" => [11, 36];
    case_insensitive_word: "bt" => [11, 12, 36, 37];
    case_sensitive_mixed: "{Bt}" => [37];
    case_sensitive_lower: "{bt}" => [12];
    case_sensitive_and_word: "{BT} AND broadband" => [11];
    case_sensitive_near: "{BT} NEAR/1 Tower" => [36];
    case_sensitive_near_two: "{BT} NEAR/2 London" => [36];
    case_sensitive_phrase: "{BT Tower}" => [36];

    // Hashtags, handles, emoji, domains.
    hashtag_only_hashtags: "#apple" => [13];
    word_includes_hashtags: "apple" => [13, 14, 22, 23, 24];
    handle_in_text: "@acme_support" => [15];
    handle_word_in_text: "acme_support" => [15];
    author_operator: "author:acme_support" => [16];
    author_with_at_and_case: "author:@Acme_Support" => [16];
    author_lowercases: "author:bob" => [2];
    emoji_grinning: "😀" => [19];
    emoji_without_skin_tone_matches_all: "👍" => [20, 21];
    emoji_with_skin_tone_matches_itself: "👍🏽" => [20];
    domain_in_text_from_url: "bbc.co.uk" => [17];
    domain_in_text: "bbc.com" => [18];
    domain_label_in_text: "bbc" => [17, 18];

    // site: and url:.
    site_domain: "site:bbc.co.uk" => [17];
    site_other_domain: "site:bbc.com" => [18];
    site_full_host: "site:www.bbc.co.uk" => [17];
    site_matches_subdomains: "site:example.com" => [35];
    site_with_scheme: "site:https://bbc.com" => [18];
    url_path_word: "url:news" => [17];
    url_host_then_path: "url:\"bbc.co.uk/news\"" => [17];
    url_path_word_case: "url:Keyboards" => [35];

    // NEAR (Tantivy's parser reads `NEAR/2` as the words "near" and "2").
    near_unordered: "logitech NEAR/2 keyboard" => [6, 7];
    near_ordered: "logitech NEAR/2f keyboard" => [6];
    near_ordered_reverse: "keyboard NEAR/2f logitech" => [7];
    near_five: "logitech NEAR/5 keyboard" => [6, 7, 8];
    near_four: "logitech NEAR/4 keyboard" => [6, 7];
    near_zero_needs_adjacent: "logitech NEAR/0 keyboard" => [];
    near_zero_adjacent: "wireless NEAR/0 keyboard" => [6];
    near_between_or_groups: "(logitech OR mouse) NEAR/1 (keyboard OR wireless)" => [6, 7];
    near_or_group_one_side: "(logitech OR mouse) NEAR/2 keyboard" => [6, 7, 8];
    near_needs_two_occurrences: "complain NEAR/1 complain" => [34];
    near_with_wildcard: "complain* NEAR/3 service" => [1];
    near_phrase_operand: "\"customer service\" NEAR/2 great" => [41];
    near_phrase_operand_too_far: "\"customer service\" NEAR/1 great" => [];
    near_three: "service NEAR/3 terrible" => [40];
    near_six: "service NEAR/6 terrible" => [39, 40];
    near_six_ordered: "service NEAR/6f terrible" => [39];
    near_one: "apple NEAR/1 juice" => [22, 24];
    near_two: "apple NEAR/2 juice" => [22, 23, 24];
    near_phrase_pizza: "\"new york\" NEAR/3 pizza" => [28, 29];
    near_phrase_ordered: "\"new york\" NEAR/0f pizza" => [28];
    near_is_a_word_in_lower_case: "near" => [27];
    near_and_boolean: "(apple NEAR/2 juice) NOT orange" => [22, 23];

    // "…"~n proximity: all words, any order, at most n others in the window.
    proximity_zero: "\"apple juice\"~0" => [22];
    proximity_two: "\"apple juice\"~2" => [22, 23, 24];
    proximity_reversed: "\"juice apple\"~1" => [22, 24];
    proximity_any_order: "\"service customer\"~3" => [41, 42];
    proximity_three_words_tight: "\"new york pizza\"~0" => [28];
    proximity_three_words_loose: "\"new york pizza\"~1" => [28, 29];
    proximity_repeated_word: "\"complain complain\"~0" => [34];
    proximity_single_word: "\"juice\"~3" => [22, 23, 24];

    // Phrases and words that split.
    phrase: "\"customer service\"" => [41];
    phrase_order_matters: "\"service customer\"" => [];
    hyphenated_word_is_a_phrase: "e-mail" => [25];
    joined_word: "email" => [26];
    hyphenated_phrase: "\"e-mail support\"" => [25];
    phrase_with_near_word: "\"the near future\"" => [27];

    // Boolean logic.
    and: "apple AND pie" => [14];
    implicit_and: "apple pie" => [14];
    or: "apple OR orange" => [13, 14, 22, 23, 24];
    binary_not: "apple NOT juice" => [13, 14];
    and_not: "apple AND NOT juice" => [13, 14];
    grouped_or_not: "(apple OR cafe) NOT paris" => [13, 14, 22, 23, 24, 38];
    and_of_or: "apple AND (pie OR juice)" => [14, 22, 23, 24];
    or_and_not: "(complain* OR terrible) AND NOT delivery" => [1, 3, 34, 40];
    not_phrase: "pizza AND NOT \"new york pizza\"" => [29];
    not_group: "apple NOT (juice OR pie)" => [13];
    comments_ignored: "<<<brand query>>> apple AND pie <<<end>>>" => [14];
    lower_case_and_is_a_word: "and" => [8, 24];
    negative_group_inside_and: "apple AND (NOT juice AND NOT pie)" => [13];

    // Field operators.
    language: "language:fr" => [9];
    country_any_case: "country:gb" => [1, 11, 36];
    source: "source:reddit" => [2];
    source_news: "source:news" => [17, 18];
    engagement_review: "engagementType:review" => [32, 33];
    engagement_reply: "engagementType:reply" => [7];
    sentiment: "sentiment:negative" => [1, 2, 7, 11, 33];
    tags: "tags:hardware" => [6, 7];
    tags_phrase_any_case: "tags:\"customer service\"" => [41];
    followers_range: "authorFollowers:[1000 TO 200000]" => [2, 6, 16];
    followers_open_range: "authorFollowers:[100000 TO *]" => [6, 16];
    followers_exact: "authorFollowers:50" => [1];
    rating_range: "rating:[3 TO 5]" => [32];
    rating_range_inclusive: "rating:[1 TO 4.5]" => [32, 33];
    rating_exact: "rating:4.5" => [32];
    verified: "authorVerified:true" => [2, 6, 16];
    verified_and_word: "authorVerified:true AND keyboard" => [6];
    author_name: "authorName:smith" => [43];
    author_group: "author:(bob OR ann)" => [2, 43];
    not_field: "keyboard AND NOT tags:hardware" => [8];
    two_fields: "sentiment:negative AND country:GB" => [1, 11];
    field_and_range: "source:review AND rating:[4 TO 5]" => [32];
    field_name_any_case: "Language:FR" => [9];
    field_group_and: "tags:(hardware AND complaint)" => [7];
    field_group_negative: "author:(NOT bob) AND complain*" => [1, 3, 34];

    // Topics.
    topic: "topic:\"Keyboards\"" => [6, 7];
    topic_and_not: "topic:\"Keyboards\" AND NOT tags:complaint" => [6];
    topic_as_near_operand: "topic:Fruit NEAR/0 juice" => [22, 24];
    nested_topics: "topic:Outer" => [6, 7, 13, 14, 22, 23, 24];
    exclusion_topic: "complain* AND topic:Exclusions" => [3, 34];

    // Empty queries match everything.
    empty: "" => [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
        24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46,
        47, 48, 49, 50, 51, 52, 53
    ];
}

refuses! {
    mixed_and_or: "apple AND pie OR juice" => (14, 16), "mixed without parentheses";
    implicit_and_mixed_with_or: "apple pie OR juice" => (10, 12), "mixed without parentheses";
    only_negative: "NOT apple" => (0, 9), "only excludes";
    only_negative_group: "NOT apple NOT pie" => (0, 17), "only excludes";
    negative_or_branch: "apple OR NOT pie" => (9, 16), "each part of an OR";
    leading_wildcard: "*plain" => (0, 6), "can't start a word";
    leading_wildcard_hashtag: "#*x" => (0, 3), "can't start a word";
    unclosed_paren: "(apple OR pie" => (0, 1), "never closed";
    stray_paren: "apple)" => (5, 6), "no matching `(`";
    unclosed_quote: "\"apple pie" => (0, 1), "never closed";
    unclosed_brace: "{BT" => (0, 1), "never closed";
    unclosed_comment: "apple <<<note" => (6, 9), "never closed";
    unknown_field: "autor:bob" => (0, 6), "did you mean `author:`";
    unknown_field_alias: "domain:bbc.com" => (0, 7), "did you mean `site:`";
    nested_near_operand: "a NEAR/3 (b NEAR/2 c)" => (10, 20), "can't be chained or nested";
    nested_near: "(a NEAR/2 b) NEAR/3 c" => (13, 19), "can't be chained or nested";
    chained_near: "a NEAR/2 b NEAR/3 c" => (11, 17), "can't be chained or nested";
    and_inside_near: "(apple pie) NEAR/3 juice" => (1, 10), "AND can't be inside a NEAR";
    not_inside_near: "apple NEAR/3 NOT pie" => (13, 20), "NOT can't be inside a NEAR";
    field_inside_near: "apple NEAR/3 tags:x" => (13, 19), "mention text only";
    tilde_on_word: "juice~1" => (5, 7), "only after a quoted phrase";
    lower_case_near: "logitech near/2 keyboard" => (9, 15), "upper case";
    near_without_distance: "logitech NEAR keyboard" => (9, 13), "NEAR needs a distance";
    near_without_left: "NEAR/3 apple" => (0, 6), "on each side";
    dangling_and: "apple AND" => (6, 9), "on each side";
    minus_is_not_an_operator: "apple -pie" => (6, 7), "use `NOT word`";
    inverted_range: "rating:[5 TO 3]" => (0, 15), "range is empty";
    range_on_text_field: "tags:[1 TO 2]" => (5, 13), "takes no range";
    range_not_a_number: "authorFollowers:[a TO 5]" => (0, 24), "not a whole number";
    verified_not_boolean: "authorVerified:maybe" => (15, 20), "`true` or `false`";
    site_with_path: "site:bbc.co.uk/news" => (5, 19), "use `url:";
    field_without_value: "author: apple" => (0, 7), "needs a value";
    only_punctuation: "apple !!!" => (6, 9), "only punctuation";
    wildcard_across_parts: "foo*-bar" => (0, 8), "single word";
    too_many_proximity_words: "\"a b c d e f g h i\"~3" => (0, 21), "at most 8 words";
    empty_parens: "apple ()" => (6, 8), "empty parentheses";
    unknown_topic: "topic:Missing" => (0, 13), "unknown topic \"Missing\"";
    topic_cycle: "topic:Loop" => (0, 10), "loop";
    topic_with_error: "juice OR topic:Broken" => (9, 21), "in topic \"Broken\"";
}

#[test]
fn topics_without_a_resolver_are_unknown() {
    let fx = fixture();
    let err = parse_query(fx.indexer.index(), fx.indexer.fields(), "topic:Fruit").err();
    assert!(matches!(err, Some(IndexError::InvalidQuery { ref message, .. }) if message.contains("unknown topic")));
}

#[test]
fn validate_reports_every_problem_in_order() {
    let problems = query::validate("*x AND autor:y OR (z");
    let spans: Vec<(usize, usize)> = problems.iter().map(|p| p.span).collect();
    assert_eq!(spans, vec![(0, 2), (7, 13), (15, 17), (18, 19)], "{problems:#?}");
    assert!(query::validate("apple AND (pie OR juice)").is_empty());
}

#[test]
fn validate_with_topics_checks_cycles() {
    let problems: Vec<QueryProblem> = query::validate_with_topics("topic:Loop", &Topics);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("\"Loop\" → \"Loop2\" → \"Loop\""), "{}", problems[0].message);
}

#[test]
fn wildcard_cap_is_a_clear_error_at_parse_time() {
    let fx = fixture();
    let root = query::parse("c*", None).expect("valid").expect("not empty");
    let searcher = fx.indexer.searcher();
    let lowered = query::lower::Lowerer::new(fx.indexer.fields(), Some(&searcher), 3).lower(&root);
    match lowered {
        Err(IndexError::InvalidQuery { message, span }) => {
            assert_eq!(span, Some((0, 2)));
            assert!(message.contains("matches more than 3 different words"), "{message}");
        }
        other => panic!("expected the cap error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn wildcard_cap_is_enforced_at_search_time_too() {
    let fx = fixture();
    let root = query::parse("\"c* overall\"", None).expect("valid").expect("not empty");
    // No searcher while lowering: the cap is only checked when the query runs.
    let lowered = query::lower::Lowerer::new(fx.indexer.fields(), None, 3).lower(&root).expect("lowered");
    let err = fx.indexer.count(fixture::TENANT, lowered, None, None).err();
    assert!(format!("{err:?}").contains("matches more than 3"), "{err:?}");
}

#[test]
fn wildcards_together_are_capped_at_parse_time() {
    let fx = fixture();
    let searcher = fx.indexer.searcher();
    let lower = |q: &str| {
        let root = query::parse(q, None).expect("valid").expect("not empty");
        query::lower::Lowerer::new(fx.indexer.fields(), Some(&searcher), 1024).with_total_cap(5).lower(&root)
    };
    // complain* → 3 words, customi?e → 2: 5 together is the cap.
    assert!(lower("complain* OR customi?e").is_ok());
    match lower("complain* OR customi?e OR complain*") {
        Err(IndexError::InvalidQuery { message, span }) => {
            assert_eq!(span, Some((26, 35)));
            assert!(
                message.starts_with("the wildcards up to here match 8 different words together; at most 5"),
                "{message}"
            );
        }
        other => panic!("expected the total cap error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_huge_query_is_refused_on_the_search_path() {
    let text = vec!["apple"; 1_000_000].join(" OR ");
    let (message, span) = first_problem(&text);
    assert!(message.starts_with("the query is 9.0 MB (8999996 bytes); at most 16384 bytes"), "{message}");
    assert_eq!(span, Some((query::MAX_QUERY_BYTES, text.len())));
    let (message, span) = first_problem(&format!("{}apple{}", "(".repeat(65), ")".repeat(65)));
    assert!(message.contains("nests more than 64 levels"), "{message}");
    assert_eq!(span, Some((64, 65)));
}
