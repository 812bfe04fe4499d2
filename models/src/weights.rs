//! The shipped weights: where they are, and checking them against their recorded checksums.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::ModelError;

/// Files the classifier needs, all listed in `SHA256SUMS`.
pub const REQUIRED: [&str; 4] = ["model.onnx", "config.json", "tokenizer.json", "calibration.json"];

/// A verified weights folder.
#[derive(Debug, Clone)]
pub struct Weights {
    /// The folder.
    pub dir: PathBuf,
    /// `earshot-sentiment-<12 hex>`: a digest of the checksums of every required file, so that a change of
    /// anything that changes an answer (graph, tokenizer, temperature) is a new version and
    /// stored mentions get re-classified.
    pub version: String,
    /// Softmax temperature fitted on the validation set.
    pub temperature: f32,
    /// Labels in logit order, from config.json's `id2label`.
    pub labels: Vec<String>,
}

#[derive(Deserialize)]
struct Calibration {
    temperature: f32,
}

#[derive(Deserialize)]
struct ModelConfig {
    id2label: std::collections::BTreeMap<String, String>,
}

fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = std::fs::File::open(path).map_err(|e| ModelError::Load(format!("{}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| ModelError::Load(format!("{}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn read(path: &Path) -> Result<String, ModelError> {
    std::fs::read_to_string(path).map_err(|e| ModelError::Load(format!("{}: {e}", path.display())))
}

impl Weights {
    /// Opens `dir`, checks every required file against `SHA256SUMS`, reads calibration and labels.
    pub fn open(dir: &Path) -> Result<Weights, ModelError> {
        let sums = read(&dir.join("SHA256SUMS"))?;
        let mut version = Sha256::new();
        for name in REQUIRED {
            let expected = sums
                .lines()
                .filter_map(|l| l.split_once(char::is_whitespace))
                .find(|(_, file)| file.trim().trim_start_matches('*') == name)
                .map(|(sum, _)| sum.trim().to_ascii_lowercase())
                .ok_or_else(|| ModelError::Load(format!("SHA256SUMS has no entry for {name}")))?;
            let actual = sha256_file(&dir.join(name))?;
            if actual != expected {
                return Err(ModelError::Load(format!(
                    "{name} does not match its checksum (expected {expected}, found {actual}); re-run scripts/setup.sh"
                )));
            }
            version.update(format!("{actual}  {name}\n"));
        }
        let calibration: Calibration = serde_json::from_str(&read(&dir.join("calibration.json"))?)
            .map_err(|e| ModelError::Load(format!("calibration.json: {e}")))?;
        if !(calibration.temperature.is_finite() && calibration.temperature > 0.0) {
            return Err(ModelError::Load("calibration.json: temperature must be positive".into()));
        }
        let config: ModelConfig = serde_json::from_str(&read(&dir.join("config.json"))?)
            .map_err(|e| ModelError::Load(format!("config.json: {e}")))?;
        let mut labels: Vec<(usize, String)> = config
            .id2label
            .into_iter()
            .filter_map(|(k, v)| k.parse().ok().map(|k| (k, v.to_ascii_lowercase())))
            .collect();
        labels.sort();
        let labels: Vec<String> = labels.into_iter().map(|(_, v)| v).collect();
        if labels != ["negative", "neutral", "positive"] {
            return Err(ModelError::Load(format!(
                "config.json: labels {labels:?}, expected negative/neutral/positive"
            )));
        }
        let version = hex::encode(version.finalize());
        Ok(Weights {
            dir: dir.to_path_buf(),
            version: format!("earshot-sentiment-{}", &version[..12]),
            temperature: calibration.temperature,
            labels,
        })
    }

    /// The ONNX model file.
    pub fn model_file(&self) -> PathBuf {
        self.dir.join("model.onnx")
    }

    /// The SentencePiece tokenizer (Hugging Face `tokenizer.json`).
    pub fn tokenizer_file(&self) -> PathBuf {
        self.dir.join("tokenizer.json")
    }
}

/// The weights folder to use when none is given: `EARSHOT_MODEL_DIR`, else `models/weights` found
/// from the current folder or next to the executable's workspace.
pub fn default_weights_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("EARSHOT_MODEL_DIR") {
        return PathBuf::from(dir);
    }
    let mut candidates = vec![PathBuf::from("models/weights")];
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            candidates.push(up.join("models/weights"));
        }
        if let Some(dir) = exe.parent() {
            candidates.push(dir.join("../share/earshot/weights"));
        }
    }
    candidates.iter().find(|d| d.join("model.onnx").exists()).cloned().unwrap_or_else(|| candidates[0].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_weights(dir: &Path, tamper: bool) {
        let files = [
            ("model.onnx", "not really onnx"),
            ("config.json", r#"{"id2label":{"0":"NEGATIVE","1":"neutral","2":"positive"}}"#),
            ("tokenizer.json", "{}"),
            ("calibration.json", r#"{"temperature": 1.5}"#),
        ];
        let mut sums = String::new();
        for (name, body) in files {
            std::fs::write(dir.join(name), body).expect("write");
            sums.push_str(&format!("{}  {name}\n", sha256_file(&dir.join(name)).expect("sha")));
        }
        std::fs::write(dir.join("SHA256SUMS"), sums).expect("write");
        if tamper {
            std::fs::write(dir.join("tokenizer.json"), "{\"tampered\": 1}").expect("write");
        }
    }

    #[test]
    fn verified_weights_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_weights(dir.path(), false);
        let w = Weights::open(dir.path()).expect("open");
        assert_eq!(w.temperature, 1.5);
        assert!(w.version.starts_with("earshot-sentiment-"));
        // Any answer-changing file makes a new version, not only the graph.
        let sums = std::fs::read_to_string(dir.path().join("SHA256SUMS")).expect("sums");
        std::fs::write(dir.path().join("calibration.json"), r#"{"temperature": 2.0}"#).expect("write");
        let sha = sha256_file(&dir.path().join("calibration.json")).expect("sha");
        let sums: String =
            sums.lines()
                .map(|l| {
                    if l.ends_with("calibration.json") {
                        format!("{sha}  calibration.json\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
        std::fs::write(dir.path().join("SHA256SUMS"), sums).expect("write");
        let recalibrated = Weights::open(dir.path()).expect("open");
        assert_ne!(recalibrated.version, w.version);
    }

    #[test]
    fn tampered_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_weights(dir.path(), true);
        let err = Weights::open(dir.path()).expect_err("tampered");
        assert!(err.to_string().contains("tokenizer.json"), "{err}");
    }
}
