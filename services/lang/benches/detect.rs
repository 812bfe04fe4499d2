//! Cost of language identification: model loading time, resident memory, and texts per second on one
//! thread for whole seed posts and for short ones (their first three words).
//!
//! ```sh
//! cargo bench -p earshot-lang --bench detect
//! ```

use std::time::{Duration, Instant};

use earshot_lang::{Identifier, LANGUAGES};

/// Resident and peak resident memory of this process in MiB, from `/proc/self/status` (Linux).
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn seed_texts() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/recipe/data/seed");
    let mut out = Vec::new();
    for lang in LANGUAGES {
        let path = root.join(format!("seed_{lang}.jsonl"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push(v["text"].as_str().unwrap_or_default().to_owned());
        }
    }
    out
}

/// CPU seconds this thread has used, from `/proc/thread-self/stat` (Linux; clock ticks of 10 ms). On a
/// shared machine this is fairer than wall time: other processes' load does not count.
fn thread_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at `) `; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let ticks: f64 = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse::<f64>().ok()).sum();
    ticks / 100.0
}

/// Texts per wall-clock second and per CPU second over at least `min` of repeated passes.
fn throughput(id: &Identifier, texts: &[&str], min: Duration) -> (f64, f64) {
    let start = Instant::now();
    let cpu_start = thread_cpu_secs();
    let mut done = 0usize;
    while start.elapsed() < min {
        done += std::hint::black_box(id.detect_many(texts)).len();
    }
    (done as f64 / start.elapsed().as_secs_f64(), done as f64 / (thread_cpu_secs() - cpu_start))
}

fn main() {
    let texts = seed_texts();
    let (rss_before, _) = rss_mib();
    let start = Instant::now();
    let id = Identifier::new();
    let load = start.elapsed();
    let (rss_loaded, _) = rss_mib();
    println!("models loaded in {:.2} s; RSS {rss_before:.1} → {rss_loaded:.1} MiB", load.as_secs_f64());

    let long: Vec<&str> = texts.iter().map(String::as_str).collect();
    let short_owned: Vec<String> =
        texts.iter().map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).collect();
    let short: Vec<&str> = short_owned.iter().map(String::as_str).collect();
    let mean_chars = long.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / long.len() as f64;
    let min = Duration::from_secs(5);
    let long_rate = throughput(&id, &long, min);
    let short_rate = throughput(&id, &short, min);
    let (rss_after, peak) = rss_mib();
    println!(
        "seed posts ({} texts, mean {mean_chars:.0} chars): {:.0} texts/s on one thread ({:.0} per CPU second)",
        long.len(),
        long_rate.0,
        long_rate.1
    );
    println!(
        "short posts (first 3 words): {:.0} texts/s on one thread ({:.0} per CPU second)",
        short_rate.0, short_rate.1
    );
    println!("RSS after detection {rss_after:.1} MiB, peak {peak:.1} MiB");
}
