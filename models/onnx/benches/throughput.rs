//! Throughput of the Rust classifier (rust-bert ONNXEncoder, int8) on the same texts and batch size the
//! Python comparison uses. `cargo bench -p earshot-onnx --bench throughput -- <texts.jsonl> [batch]`;
//! `models/bench/compare.sh` runs this and the Python `transformers` pipeline side by side.
//! Every pass classifies all texts; `EARSHOT_BENCH_PASSES` passes (default 5) after one warm-up batch, and the
//! median pass is reported. Prints one JSON line per thread count:
//! {"threads", "batch", "texts", "passes", "texts_per_s" (median), "min", "max"}.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use earshot_models::weights::{default_weights_dir, Weights};
use earshot_models::Classifier;
use earshot_onnx::{OnnxClassifier, OnnxOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let path = args.first().map(PathBuf::from).ok_or("usage: throughput <texts.jsonl> [batch]")?;
    let batch: usize = args.get(1).and_then(|b| b.parse().ok()).unwrap_or(32);
    let texts: Vec<String> = std::io::BufReader::new(std::fs::File::open(&path)?)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .collect();
    if texts.is_empty() {
        return Err(format!("no {{\"text\": …}} lines in {}", path.display()).into());
    }
    let passes: usize = std::env::var("EARSHOT_BENCH_PASSES").ok().and_then(|p| p.parse().ok()).unwrap_or(5).max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut thread_counts = vec![1];
    if cores > 1 {
        thread_counts.push(cores);
    }
    for threads in thread_counts {
        let weights = Weights::open(&default_weights_dir())?;
        let mut model = OnnxClassifier::load(weights, &OnnxOptions { intra_threads: threads })?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        model.classify(&refs[..batch.min(refs.len())])?; // warm-up
        let mut rates = Vec::with_capacity(passes);
        for _ in 0..passes {
            let started = Instant::now();
            let mut n = 0;
            for chunk in refs.chunks(batch) {
                n += model.classify(chunk)?.len();
            }
            rates.push(n as f64 / started.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{}",
            serde_json::json!({"stack": "rust-bert ONNX int8", "threads": threads, "batch": batch, "texts": refs.len(),
                "passes": passes, "texts_per_s": rates[rates.len() / 2], "min": rates[0], "max": rates[rates.len() - 1]})
        );
    }
    Ok(())
}
