//! Accuracy on the held-out set `models/recipe/data/heldout/langid.jsonl` (500 hand-written posts in
//! five languages, about 40 % of them 1–4 words). Nothing was tuned on it. Run with `--nocapture`
//! to see the table (it is copied into BENCHMARKS.md).

mod eval;

use earshot_lang::{Identifier, Rules};
use eval::{load, repo_root, Report};

#[test]
fn heldout_accuracy_is_at_least_95_percent_on_posts_of_five_words_or_more() {
    let posts = load(&repo_root().join("models/recipe/data/heldout/langid.jsonl"));
    assert_eq!(posts.len(), 500, "the held-out set changed");
    let report = Report::score(&Identifier::new(), &posts);
    println!("{}", report.table());
    for (lang, text, got) in &report.mistakes {
        println!("wrong: {lang} → {got}: {text}");
    }
    let long = report.class("long");
    let short = report.class("short");
    println!(
        "long: {:.3} ({} posts); short: {:.3} of all, {:.3} of decided, {} und ({} posts)",
        long.accuracy(),
        long.total(),
        short.accuracy(),
        short.precision(),
        short.und,
        short.total()
    );
    assert!(long.total() >= 200, "too few long posts to measure: {}", long.total());
    assert!(long.accuracy() >= 0.95, "accuracy on posts of ≥ 5 words is {:.3} < 0.95", long.accuracy());
    // A wrong language on a short post is worse than `und`: most short answers must be right or `und`.
    assert!(short.precision() >= 0.85, "short posts decided wrongly too often: {:.3}", short.precision());
}

#[test]
fn the_bar_fails_an_identifier_that_never_decides() {
    // The same check on an identifier that answers `und` to everything: it must not pass.
    let posts = load(&repo_root().join("models/recipe/data/heldout/langid.jsonl"));
    let never = Identifier::with_rules(Rules { min_letters: usize::MAX, min_margin: 0.0 });
    assert!(Report::score(&never, &posts).class("long").accuracy() < 0.95);
}
