//! Scoring an [`Identifier`] on labelled JSONL posts (`{"lang": "de", "text": "…"}`), shared by the
//! held-out test and the tuning example.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use earshot_lang::{Identifier, UNDETERMINED};

/// Posts of at least this many words count as "long" (the bar: ≥ 95 % there).
pub const LONG_WORDS: usize = 5;

/// One labelled post.
pub struct Post {
    pub lang: String,
    pub text: String,
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reads labelled posts; panics with the path on a bad file (tests and examples only).
pub fn load(path: &Path) -> Vec<Post> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let field = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{}: no `{k}`", path.display())).to_owned();
            Post { lang: field("lang"), text: field("text") }
        })
        .collect()
}

/// Words as an analyst counts them: white-space separated tokens with at least one letter or digit
/// (an emoji alone is not a word; a url or a handle is).
pub fn words(text: &str) -> usize {
    text.split_whitespace().filter(|t| t.chars().any(char::is_alphanumeric)).count()
}

/// Right, undetermined and wrong answers of one group of posts.
#[derive(Default, Clone, Copy)]
pub struct Tally {
    pub right: usize,
    pub und: usize,
    pub wrong: usize,
}

impl Tally {
    pub fn total(&self) -> usize {
        self.right + self.und + self.wrong
    }
    /// Right answers over all posts (`und` counts as not right).
    pub fn accuracy(&self) -> f64 {
        ratio(self.right, self.total())
    }
    /// Right answers over decided posts (`und` left out).
    pub fn precision(&self) -> f64 {
        ratio(self.right, self.right + self.wrong)
    }
    fn add(&mut self, other: Tally) {
        self.right += other.right;
        self.und += other.und;
        self.wrong += other.wrong;
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Tallies per language and length class ("long": ≥ [`LONG_WORDS`] words, "short": fewer).
#[derive(Default)]
pub struct Report {
    pub cells: BTreeMap<(String, &'static str), Tally>,
    pub mistakes: Vec<(String, String, &'static str)>,
}

impl Report {
    pub fn score(id: &Identifier, posts: &[Post]) -> Report {
        let mut report = Report::default();
        for post in posts {
            let got = id.detect(&post.text).code;
            let class = if words(&post.text) >= LONG_WORDS { "long" } else { "short" };
            let cell = report.cells.entry((post.lang.clone(), class)).or_default();
            if got == post.lang {
                cell.right += 1;
            } else if got == UNDETERMINED {
                cell.und += 1;
            } else {
                cell.wrong += 1;
                report.mistakes.push((post.lang.clone(), post.text.clone(), got));
            }
        }
        report
    }

    /// All languages of one class.
    pub fn class(&self, class: &str) -> Tally {
        let mut t = Tally::default();
        for ((_, c), cell) in &self.cells {
            if *c == class {
                t.add(*cell);
            }
        }
        t
    }

    /// The table as Markdown.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| language | class | posts | right | und | wrong | accuracy (und = miss) | accuracy of decided |\n|---|---|---|---|---|---|---|---|\n",
        );
        let mut row = |lang: &str, class: &str, t: Tally| {
            out.push_str(&format!(
                "| {lang} | {class} | {} | {} | {} | {} | {:.1} % | {:.1} % |\n",
                t.total(),
                t.right,
                t.und,
                t.wrong,
                100.0 * t.accuracy(),
                100.0 * t.precision()
            ));
        };
        for ((lang, class), t) in &self.cells {
            row(lang, class, *t);
        }
        for class in ["long", "short"] {
            row("**all**", class, self.class(class));
        }
        out
    }
}
