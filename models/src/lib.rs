//! `earshot-models`: sentiment classification.
//!
//! The service talks to a [`Classifier`]; the batching thread, the tokenisation and the verified weights
//! live here. The transformer behind it (multilingual-e5-small fine-tuned for English, German, Italian,
//! French and Spanish, int8 ONNX run through `rust-bert`) is in `models/onnx/` (`earshot-onnx`), the only
//! crate that links the model runtime; it reaches the service as a [`LoadClassifier`] (ADR 0007). The
//! training recipe that produces the weights is in `models/recipe/` and documented in `models/MODEL_CARD.md`.

pub mod batcher;
pub mod lexicon;
pub mod text;
pub mod weights;

/// Loads the classifier from verified weights with this many threads per inference. `earshot-onnx`'s
/// `load` is the one the binaries pass in; tests may pass a fake.
pub type LoadClassifier = fn(weights::Weights, usize) -> Result<Box<dyn Classifier>, ModelError>;

/// The three sentiment labels, in the order of the model's logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// Complaints, anger, disappointment.
    Negative,
    /// Facts, questions, mixed or no opinion.
    Neutral,
    /// Praise, satisfaction, enthusiasm.
    Positive,
}

impl Label {
    /// Labels in logit order.
    pub const ALL: [Label; 3] = [Label::Negative, Label::Neutral, Label::Positive];

    /// Lower-case name (`negative`).
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Negative => "negative",
            Label::Neutral => "neutral",
            Label::Positive => "positive",
        }
    }
}

/// A classification: the label, its calibrated probability, and every label's probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The most probable label.
    pub label: Label,
    /// Its probability.
    pub score: f32,
    /// Probabilities in [`Label::ALL`] order; they sum to 1.
    pub probabilities: [f32; 3],
}

impl Prediction {
    /// The prediction for a probability vector in [`Label::ALL`] order.
    pub fn from_probabilities(probabilities: [f32; 3]) -> Prediction {
        let mut best = 0;
        for i in 1..3 {
            if probabilities[i] > probabilities[best] {
                best = i;
            }
        }
        Prediction { label: Label::ALL[best], score: probabilities[best], probabilities }
    }
}

/// Why classification failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The weights could not be loaded or failed their checksum.
    #[error("model could not be loaded: {0}")]
    Load(String),
    /// Inference failed.
    #[error("inference failed: {0}")]
    Inference(String),
}

/// Something that labels texts with sentiment. Implementations are blocking and CPU-bound: run
/// them on a dedicated thread.
pub trait Classifier: Send {
    /// Version of the weights, stored with every classified mention.
    fn version(&self) -> &str;
    /// Classifies a batch of texts, one prediction per text, in order.
    fn classify(&mut self, texts: &[&str]) -> Result<Vec<Prediction>, ModelError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_most_probable_label() {
        let p = Prediction::from_probabilities([0.2, 0.1, 0.7]);
        assert_eq!((p.label, p.score), (Label::Positive, 0.7));
        assert_eq!(Prediction::from_probabilities([0.5, 0.3, 0.2]).label, Label::Negative);
    }
}
