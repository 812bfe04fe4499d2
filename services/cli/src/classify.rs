//! `earshot classify` (JSON lines in, labels out, no server) and `earshot eval` (accuracy of the
//! shipped weights through the Rust path, beside VADER on the same texts).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use earshot_models::onnx::{OnnxClassifier, OnnxOptions};
use earshot_models::weights::Weights;
use earshot_models::{Classifier, Label};
use serde::Deserialize;
use serde_json::json;

use crate::args::{ClassifyArgs, EvalArgs, ModelArgs};

fn load(model: &ModelArgs) -> anyhow::Result<OnnxClassifier> {
    let dir = model.weights_dir();
    let weights = Weights::open(&dir).with_context(|| format!("weights in {}", dir.display()))?;
    Ok(OnnxClassifier::load(weights, &OnnxOptions { intra_threads: model.threads() })?)
}

fn open_inputs(files: &[PathBuf]) -> anyhow::Result<Vec<(String, Box<dyn BufRead>)>> {
    if files.is_empty() || files.iter().all(|f| f.as_os_str() == "-") {
        return Ok(vec![("<stdin>".into(), Box::new(BufReader::new(std::io::stdin())))]);
    }
    files
        .iter()
        .map(|f| {
            let file = std::fs::File::open(f).with_context(|| format!("cannot open {}", f.display()))?;
            Ok((f.display().to_string(), Box::new(BufReader::new(file)) as Box<dyn BufRead>))
        })
        .collect()
}

#[derive(Deserialize)]
struct TextLine {
    #[serde(default)]
    id: serde_json::Value,
    text: String,
}

fn flush_batch(model: &mut OnnxClassifier, batch: &mut Vec<TextLine>, out: &mut impl Write) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let texts: Vec<&str> = batch.iter().map(|l| l.text.as_str()).collect();
    let predictions = model.classify(&texts)?;
    for (line, p) in batch.iter().zip(predictions) {
        let record = json!({
            "id": line.id,
            "label": p.label.as_str(),
            "score": p.score,
            "scores": {"negative": p.probabilities[0], "neutral": p.probabilities[1], "positive": p.probabilities[2]},
        });
        writeln!(out, "{record}")?;
    }
    batch.clear();
    Ok(())
}

/// Entry point of `earshot classify`.
pub fn classify(args: ClassifyArgs) -> anyhow::Result<()> {
    let mut model = load(&args.model)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut batch = Vec::with_capacity(args.batch_size.max(1));
    let mut bad = 0usize;
    for (name, reader) in open_inputs(&args.files)? {
        for (i, line) in reader.lines().enumerate() {
            let line = line.with_context(|| format!("reading {name}"))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<TextLine>(&line) {
                Ok(l) => batch.push(l),
                Err(e) => {
                    bad += 1;
                    eprintln!("{name}:{}: skipped: {e}", i + 1);
                }
            }
            if batch.len() >= args.batch_size.max(1) {
                flush_batch(&mut model, &mut batch, &mut out)?;
            }
        }
    }
    flush_batch(&mut model, &mut batch, &mut out)?;
    out.flush()?;
    if bad > 0 {
        anyhow::bail!("{bad} input lines could not be read");
    }
    Ok(())
}

/// Accuracy, macro-F1, per-class recall and the confusion matrix (rows: truth, columns: prediction).
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub recall: [f64; 3],
    pub confusion: [[usize; 3]; 3],
}

pub fn score(truth: &[usize], predicted: &[usize]) -> Scores {
    let mut confusion = [[0usize; 3]; 3];
    for (&t, &p) in truth.iter().zip(predicted) {
        confusion[t][p] += 1;
    }
    let n = truth.len();
    let correct: usize = (0..3).map(|i| confusion[i][i]).sum();
    let mut recall = [0.0; 3];
    let mut f1_sum = 0.0;
    for c in 0..3 {
        let tp = confusion[c][c] as f64;
        let actual: usize = confusion[c].iter().sum();
        let predicted_c: usize = (0..3).map(|r| confusion[r][c]).sum();
        let r = if actual > 0 { tp / actual as f64 } else { 0.0 };
        let p = if predicted_c > 0 { tp / predicted_c as f64 } else { 0.0 };
        recall[c] = r;
        f1_sum += if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
    }
    Scores { n, accuracy: if n > 0 { correct as f64 / n as f64 } else { 0.0 }, macro_f1: f1_sum / 3.0, recall, confusion }
}

fn label_index(label: &str) -> Option<usize> {
    Label::ALL.iter().position(|l| l.as_str() == label.trim().to_ascii_lowercase())
}

/// VADER's usual thresholds on the compound score.
fn vader_label(analyzer: &vader_sentiment::SentimentIntensityAnalyzer, text: &str) -> usize {
    let compound = analyzer.polarity_scores(text).get("compound").copied().unwrap_or(0.0);
    if compound >= 0.05 {
        2
    } else if compound <= -0.05 {
        0
    } else {
        1
    }
}

#[derive(Deserialize)]
struct LabelledLine {
    text: String,
    label: String,
}

fn read_labelled(path: &Path) -> anyhow::Result<(Vec<String>, Vec<usize>)> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (mut texts, mut labels) = (Vec::new(), Vec::new());
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let l: LabelledLine =
            serde_json::from_str(&line).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        let label = label_index(&l.label)
            .with_context(|| format!("{}:{}: unknown label {:?}", path.display(), i + 1, l.label))?;
        texts.push(l.text);
        labels.push(label);
    }
    Ok((texts, labels))
}

fn print_scores(name: &str, s: &Scores) {
    println!(
        "  {name:<8} accuracy {:.3}  macro-F1 {:.3}  recall neg {:.3} neu {:.3} pos {:.3}",
        s.accuracy, s.macro_f1, s.recall[0], s.recall[1], s.recall[2]
    );
    println!("           confusion (rows truth neg/neu/pos, cols predicted): {:?}", s.confusion);
}

fn scores_json(s: &Scores) -> serde_json::Value {
    json!({"n": s.n, "accuracy": s.accuracy, "macro_f1": s.macro_f1, "recall": s.recall, "confusion": s.confusion})
}

/// The recipe's held-out sets, `<weights>/../recipe/data/test_*.jsonl`, in name order.
fn held_out_sets(weights: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let data = weights.join("../recipe/data");
    let mut sets: Vec<PathBuf> = std::fs::read_dir(&data)
        .with_context(|| format!("no labelled files given and no held-out sets in {}", data.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("test_") && n.ends_with(".jsonl")))
        .collect();
    sets.sort();
    anyhow::ensure!(!sets.is_empty(), "no labelled files given and no test_*.jsonl in {}", data.display());
    Ok(sets)
}

/// Entry point of `earshot eval`.
pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let files = if args.files.is_empty() { held_out_sets(&args.model.weights_dir())? } else { args.files.clone() };
    let mut model = load(&args.model)?;
    let vader = vader_sentiment::SentimentIntensityAnalyzer::new();
    println!("model {}", model.version());
    let mut report = serde_json::Map::new();
    for path in &files {
        let (texts, truth) = read_labelled(path)?;
        let started = Instant::now();
        let mut predicted = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(32) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            predicted.extend(model.classify(&refs)?.into_iter().map(|p| p.label as usize));
        }
        let seconds = started.elapsed().as_secs_f64();
        let ours = score(&truth, &predicted);
        let vader_predicted: Vec<usize> = texts.iter().map(|t| vader_label(&vader, t)).collect();
        let baseline = score(&truth, &vader_predicted);
        println!("{} ({} texts, {:.0} texts/s)", path.display(), ours.n, ours.n as f64 / seconds.max(1e-9));
        print_scores("earshot", &ours);
        print_scores("VADER", &baseline);
        report.insert(path.display().to_string(), json!({"earshot": scores_json(&ours), "vader": scores_json(&baseline)}));
    }
    if args.json {
        println!("{}", serde_json::Value::Object(report));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_by_hand() {
        // truth:     neg neg neu pos pos pos
        // predicted: neg neu neu pos neg pos
        let s = score(&[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 0, 2]);
        assert!((s.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(s.confusion, [[1, 1, 0], [0, 1, 0], [1, 0, 2]]);
        assert_eq!(s.recall, [0.5, 1.0, 2.0 / 3.0]);
        // F1: neg p=1/2 r=1/2 → 0.5; neu p=1/2 r=1 → 2/3; pos p=1 r=2/3 → 0.8
        assert!((s.macro_f1 - (0.5 + 2.0 / 3.0 + 0.8) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn vader_baseline_has_the_usual_direction() {
        let v = vader_sentiment::SentimentIntensityAnalyzer::new();
        assert_eq!(vader_label(&v, "I love this, it is great!"), 2);
        assert_eq!(vader_label(&v, "This is terrible and I hate it."), 0);
        assert_eq!(vader_label(&v, "The meeting is at ten."), 1);
    }
}
