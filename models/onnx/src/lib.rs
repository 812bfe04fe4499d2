//! `earshot-onnx`: the model runtime behind earshot's [`Classifier`]: multilingual-e5-small fine-tuned for
//! sentiment (English, German, Italian, French, Spanish), int8 ONNX, run through rust-bert's `ONNXEncoder`
//! with the real attention mask (rust-bert's sequence-classification pipeline does not mask padding, which
//! changes logits of batched texts of different lengths).
//!
//! This is the only crate that links libtorch (through rust-bert's `tch`) and loads ONNX Runtime. Only the
//! `earshot-engine` binary depends on it; the rest of earshot takes [`load`] as a value
//! ([`earshot_models::LoadClassifier`]), so client commands never pay for the runtime (ADR 0007).

use std::sync::Arc;

use ort::{Environment, GraphOptimizationLevel};
use rust_bert::pipelines::onnx::config::ONNXEnvironmentConfig;
use rust_bert::pipelines::onnx::ONNXEncoder;
use tch::{Kind, Tensor};

use earshot_models::text::TextEncoder;
pub use earshot_models::text::MAX_TOKENS;
use earshot_models::weights::Weights;
use earshot_models::{Classifier, ModelError, Prediction};

/// The [`earshot_models::LoadClassifier`] of the ONNX model: verified weights, this many inference threads.
pub fn load(weights: Weights, intra_threads: usize) -> Result<Box<dyn Classifier>, ModelError> {
    Ok(Box::new(OnnxClassifier::load(weights, &OnnxOptions { intra_threads })?))
}

/// Settings of the ONNX classifier.
#[derive(Debug, Clone)]
pub struct OnnxOptions {
    /// Threads ONNX Runtime may use inside one inference.
    pub intra_threads: usize,
}

impl Default for OnnxOptions {
    fn default() -> Self {
        OnnxOptions { intra_threads: std::thread::available_parallelism().map_or(1, |n| n.get()) }
    }
}

/// Sentiment classifier over the shipped weights.
pub struct OnnxClassifier {
    encoder: ONNXEncoder,
    text: TextEncoder,
    weights: Weights,
}

/// Where ONNX Runtime's library is when `ORT_DYLIB_PATH` does not say: next to a checkout's build
/// (`.earshot/onnxruntime/`, installed by `scripts/runtime.sh`) or an installed layout (`../lib/`).
pub fn find_onnxruntime() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let candidates = [
        dir.join("../../.earshot/onnxruntime/libonnxruntime.so"),
        dir.join("../../../.earshot/onnxruntime/libonnxruntime.so"),
        dir.join("../lib/libonnxruntime.so"),
        dir.join("libonnxruntime.so"),
        std::path::PathBuf::from(".earshot/onnxruntime/libonnxruntime.so"),
    ];
    candidates.into_iter().find(|p| p.exists()).and_then(|p| p.canonicalize().ok())
}

fn ort_library_present() -> Result<(), ModelError> {
    let path = std::env::var_os("ORT_DYLIB_PATH").map(std::path::PathBuf::from);
    match path {
        Some(p) if p.is_absolute() && !p.exists() => Err(ModelError::Load(format!(
            "ONNX Runtime not found at {} (ORT_DYLIB_PATH); run scripts/setup.sh",
            p.display()
        ))),
        None => Err(ModelError::Load("ORT_DYLIB_PATH is not set; run scripts/setup.sh".into())),
        _ => Ok(()),
    }
}

impl OnnxClassifier {
    /// Loads and verifies the weights.
    pub fn load(weights: Weights, options: &OnnxOptions) -> Result<Self, ModelError> {
        ort_library_present()?;
        // libtorch only carries tensors in and out of rust-bert's encoder here; its OpenMP pool would
        // otherwise spin on the same cores ONNX Runtime's threads need (measured: 2 threads 509 → see BENCHMARKS).
        tch::set_num_threads(1);
        let config = ONNXEnvironmentConfig {
            num_intra_threads: Some(options.intra_threads.clamp(1, 64) as i16),
            num_inter_threads: Some(1),
            optimization_level: Some(GraphOptimizationLevel::Level3),
            ..ONNXEnvironmentConfig::from_device(tch::Device::Cpu)
        };
        let environment: Arc<Environment> =
            config.get_environment().map_err(|e| ModelError::Load(format!("ONNX Runtime: {e}")))?;
        let encoder = ONNXEncoder::new(weights.model_file(), &environment, &config)
            .map_err(|e| ModelError::Load(format!("{}: {e}", weights.model_file().display())))?;
        let text = TextEncoder::new(&weights.tokenizer_file(), MAX_TOKENS)?;
        Ok(OnnxClassifier { encoder, text, weights })
    }

    /// The tokenizer, for token-budget batching.
    pub fn text_encoder(&self) -> &TextEncoder {
        &self.text
    }

    /// Raw logits (before calibration), `[batch][3]`.
    pub fn logits(&self, texts: &[&str]) -> Result<Vec<[f32; 3]>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encoded = self.text.encode(texts);
        let shape = [encoded.batch as i64, encoded.len as i64];
        let ids = Tensor::from_slice(&encoded.input_ids).view(shape);
        let mask = Tensor::from_slice(&encoded.attention_mask).view(shape);
        // The graph declares input_ids and attention_mask only (XLM-R has one token type).
        let output = self
            .encoder
            .forward(Some(&ids), Some(&mask), None, None, None)
            .map_err(|e| ModelError::Inference(e.to_string()))?;
        let logits = output.logits.ok_or_else(|| ModelError::Inference("model has no `logits` output".into()))?;
        let flat: Vec<f32> = Vec::<f32>::try_from(logits.to_kind(Kind::Float).flatten(0, -1))
            .map_err(|e| ModelError::Inference(e.to_string()))?;
        if flat.len() != encoded.batch * 3 {
            return Err(ModelError::Inference(format!("expected {} logits, got {}", encoded.batch * 3, flat.len())));
        }
        Ok(flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
    }
}

/// Calibrated probabilities: softmax of logits divided by the temperature.
pub fn calibrated(logits: [f32; 3], temperature: f32) -> [f32; 3] {
    let scaled = logits.map(|l| l / temperature);
    let max = scaled.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp = scaled.map(|s| (s - max).exp());
    let sum: f32 = exp.iter().sum();
    exp.map(|e| e / sum)
}

impl Classifier for OnnxClassifier {
    fn version(&self) -> &str {
        &self.weights.version
    }

    fn classify(&mut self, texts: &[&str]) -> Result<Vec<Prediction>, ModelError> {
        let temperature = self.weights.temperature;
        Ok(self
            .logits(texts)?
            .into_iter()
            .map(|l| Prediction::from_probabilities(calibrated(l, temperature)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_softens_and_sums_to_one() {
        let sharp = calibrated([0.0, 1.0, 4.0], 1.0);
        let soft = calibrated([0.0, 1.0, 4.0], 2.0);
        assert!((sharp.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(soft[2] < sharp[2] && soft[2] > soft[1]);
    }
}
