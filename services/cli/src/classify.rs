//! `earshot classify` (JSON lines in, labels out, no server) and `earshot eval` (accuracy of the
//! shipped weights through the Rust path, per language, beside a lexicon baseline on the same texts:
//! VADER for English, `models/lexicons/<lang>.tsv` for German, French, Italian and Spanish).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use earshot_models::lexicon::Lexicon;
use earshot_models::weights::Weights;
use earshot_models::{Classifier, Label, LoadClassifier};
use serde::Deserialize;
use serde_json::json;

use crate::args::{ClassifyArgs, EvalArgs, ModelArgs};

fn load_model(model: &ModelArgs, load: LoadClassifier) -> anyhow::Result<Box<dyn Classifier>> {
    let dir = model.weights_dir();
    let weights = Weights::open(&dir).with_context(|| format!("weights in {}", dir.display()))?;
    Ok(load(weights, model.threads())?)
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

fn flush_batch(model: &mut dyn Classifier, batch: &mut Vec<TextLine>, out: &mut impl Write) -> anyhow::Result<()> {
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
pub fn classify(args: ClassifyArgs, load: LoadClassifier) -> anyhow::Result<()> {
    let mut model = load_model(&args.model, load)?;
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
                flush_batch(model.as_mut(), &mut batch, &mut out)?;
            }
        }
    }
    flush_batch(model.as_mut(), &mut batch, &mut out)?;
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
    Scores {
        n,
        accuracy: if n > 0 { correct as f64 / n as f64 } else { 0.0 },
        macro_f1: f1_sum / 3.0,
        recall,
        confusion,
    }
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
    #[serde(default)]
    lang: Option<String>,
}

/// A labelled file: texts, labels, and its language (the `lang` field of its lines when they agree; English
/// when absent, as in the recipe's English test sets).
struct Labelled {
    texts: Vec<String>,
    labels: Vec<usize>,
    language: String,
}

fn read_labelled(path: &Path) -> anyhow::Result<Labelled> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (mut texts, mut labels) = (Vec::new(), Vec::new());
    let mut languages = std::collections::BTreeSet::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let l: LabelledLine = serde_json::from_str(&line).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        let label = label_index(&l.label)
            .with_context(|| format!("{}:{}: unknown label {:?}", path.display(), i + 1, l.label))?;
        languages.insert(l.lang.unwrap_or_else(|| "en".into()));
        texts.push(l.text);
        labels.push(label);
    }
    let language = if languages.len() == 1 { languages.into_iter().next().unwrap_or_default() } else { "mixed".into() };
    Ok(Labelled { texts, labels, language })
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

fn jsonl_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".jsonl"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The recipe's held-out sets in name order: the hand-written per-language sets
/// `<weights>/../recipe/data/heldout/sentiment_*.jsonl`, then the English test splits `data/test_*.jsonl`.
fn held_out_sets(weights: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let data = weights.join("../recipe/data");
    let mut sets = jsonl_files(&data.join("heldout"), "sentiment_");
    sets.extend(jsonl_files(&data, "test_"));
    anyhow::ensure!(!sets.is_empty(), "no labelled files given and no held-out sets in {}", data.display());
    Ok(sets)
}

/// One line per set: language, accuracy and macro-F1 of the model and of the baseline (VADER for English,
/// the language's lexicon otherwise; `VADER*`: no lexicon for that language, VADER is English-only).
fn print_summary(rows: &[(String, String, &str, Scores, Scores)]) {
    if rows.len() < 2 {
        return;
    }
    println!("\nset                      lang   n      earshot acc / F1    baseline acc / F1");
    for (name, language, baseline_name, ours, baseline) in rows {
        println!(
            "{name:<24} {language:<6} {:<6} {:.3} / {:.3}       {:.3} / {:.3} ({baseline_name})",
            ours.n, ours.accuracy, ours.macro_f1, baseline.accuracy, baseline.macro_f1
        );
    }
}

/// Entry point of `earshot eval`.
pub fn eval(args: EvalArgs, load: LoadClassifier) -> anyhow::Result<()> {
    let files = if args.files.is_empty() { held_out_sets(&args.model.weights_dir())? } else { args.files.clone() };
    let mut model = load_model(&args.model, load)?;
    let vader = vader_sentiment::SentimentIntensityAnalyzer::new();
    let lexicons = args.model.weights_dir().join("../lexicons");
    println!("model {}", model.version());
    let mut report = serde_json::Map::new();
    let mut summary = Vec::new();
    for path in &files {
        let Labelled { texts, labels: truth, language } = read_labelled(path)?;
        let started = Instant::now();
        let mut predicted = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(32) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            predicted.extend(model.classify(&refs)?.into_iter().map(|p| p.label as usize));
        }
        let seconds = started.elapsed().as_secs_f64();
        let ours = score(&truth, &predicted);
        // Baseline: VADER for English, the language's own lexicon (models/lexicons/) for the others.
        let lexicon = if language == "en" { None } else { Lexicon::open(&lexicons, &language).ok() };
        let (baseline_name, baseline_predicted): (&str, Vec<usize>) = match &lexicon {
            Some(lexicon) => ("lexicon", texts.iter().map(|t| lexicon.label(t) as usize).collect()),
            None if language == "en" => ("VADER", texts.iter().map(|t| vader_label(&vader, t)).collect()),
            // No lexicon for this language: VADER shows what an English-only baseline gets.
            None => ("VADER*", texts.iter().map(|t| vader_label(&vader, t)).collect()),
        };
        let baseline = score(&truth, &baseline_predicted);
        println!(
            "{} [{language}] ({} texts, {:.0} texts/s)",
            path.display(),
            ours.n,
            ours.n as f64 / seconds.max(1e-9)
        );
        print_scores("earshot", &ours);
        print_scores(baseline_name, &baseline);
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        summary.push((stem, language.clone(), baseline_name, ours.clone(), baseline.clone()));
        let baseline_key = if baseline_name == "lexicon" { "lexicon" } else { "vader" };
        report.insert(
            path.display().to_string(),
            json!({"language": language, "earshot": scores_json(&ours), baseline_key: scores_json(&baseline)}),
        );
    }
    print_summary(&summary);
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
