//! Prints token ids and raw logits of the texts given on stdin (one per line) through the Rust path:
//! `cargo run -p earshot-onnx --example logits -- <weights dir> < texts.txt`.

use std::io::BufRead;
use std::path::PathBuf;

use earshot_models::weights::Weights;
use earshot_onnx::{OnnxClassifier, OnnxOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).map(PathBuf::from).ok_or("usage: logits <weights dir>")?;
    let classifier = OnnxClassifier::load(Weights::open(&dir)?, &OnnxOptions { intra_threads: 1 })?;
    let texts: Vec<String> = std::io::stdin().lock().lines().collect::<Result<_, _>>()?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let logits = classifier.logits(&refs)?;
    for (text, l) in texts.iter().zip(logits) {
        println!("{:?}\t{:?}\t{:?}", classifier.text_encoder().ids(text), l, text);
    }
    Ok(())
}
