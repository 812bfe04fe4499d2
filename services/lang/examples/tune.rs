//! Chooses [`Rules`]: sweeps `min_letters` and `min_margin` over the seed posts of
//! `models/recipe/data/seed` (whole, and cut to their first 1–4 words to stand in for short posts)
//! and this crate's own texts (`tests/data/own.jsonl`). Never the held-out set.
//!
//! ```sh
//! cargo run --release -p earshot-lang --example tune
//! ```

#[path = "../tests/eval/mod.rs"]
mod eval;

use earshot_lang::{Identifier, Rules, LANGUAGES};
use eval::{load, repo_root, Post, Report};

fn main() {
    let mut posts = Vec::new();
    for lang in LANGUAGES {
        let seed = load(&repo_root().join(format!("models/recipe/data/seed/seed_{lang}.jsonl")));
        for post in seed {
            let words: Vec<&str> = post.text.split_whitespace().collect();
            for n in 1..=4 {
                if words.len() > n {
                    posts.push(Post { lang: post.lang.clone(), text: words[..n].join(" ") });
                }
            }
            posts.push(post);
        }
    }
    posts.extend(load(&repo_root().join("services/lang/tests/data/own.jsonl")));
    println!("{} tuning posts", posts.len());
    println!("| min_letters | min_margin | long acc | short acc | short acc of decided | short und |");
    for min_letters in [2, 3, 4, 5, 6] {
        for min_margin in [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5] {
            let report = Report::score(&Identifier::with_rules(Rules { min_letters, min_margin }), &posts);
            let (long, short) = (report.class("long"), report.class("short"));
            println!(
                "| {min_letters} | {min_margin:.2} | {:.4} | {:.4} | {:.4} | {:.3} |",
                long.accuracy(),
                short.accuracy(),
                short.precision(),
                short.und as f64 / short.total() as f64
            );
        }
    }
}
