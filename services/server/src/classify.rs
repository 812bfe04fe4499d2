//! The classify domain: label texts that are not stored.

use std::time::Duration;

use earshot_models::batcher::{ClassifierHandle, ClassifyError, ModelState};
use earshot_proto::v1::{ClassifyItem, ClassifyResponse, ClassifyResult, SentimentScores};

use crate::ingest::pipeline::sentiment_of;
use crate::ingest::validate::MAX_TEXT_BYTES;

/// Most items in one request.
pub const MAX_ITEMS: usize = 1000;
/// How long a request may wait for the model.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of the classify RPC.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyApiError {
    /// More items than allowed.
    #[error("{size} items is more than the limit of {max}")]
    TooMany {
        /// Items in the request.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// One item's text is not acceptable.
    #[error("items[{index}].text {reason}")]
    InvalidText {
        /// Position of the item.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The queue is full; retry shortly.
    #[error("classifier queue is full, retry shortly")]
    Overloaded,
    /// The deadline passed while waiting for the model.
    #[error("the model did not answer in time")]
    Deadline,
    /// No model loaded.
    #[error("classifier unavailable: {0}")]
    Unavailable(String),
    /// Inference failed.
    #[error("inference failed: {0}")]
    Inference(String),
}

/// The classify domain service.
pub struct ClassifyDomain {
    classifier: Option<ClassifierHandle>,
}

impl ClassifyDomain {
    /// A service over `classifier` (`None` when the server runs without a model).
    pub fn new(classifier: Option<ClassifierHandle>) -> Self {
        ClassifyDomain { classifier }
    }

    /// Labels every item, in order.
    pub async fn classify(&self, items: Vec<ClassifyItem>) -> Result<ClassifyResponse, ClassifyApiError> {
        let Some(classifier) = &self.classifier else {
            return Err(ClassifyApiError::Unavailable("this server runs without a sentiment model".into()));
        };
        if items.len() > MAX_ITEMS {
            return Err(ClassifyApiError::TooMany { size: items.len(), max: MAX_ITEMS });
        }
        for (i, item) in items.iter().enumerate() {
            if item.text.len() > MAX_TEXT_BYTES {
                return Err(ClassifyApiError::InvalidText {
                    index: i,
                    reason: format!("is longer than {MAX_TEXT_BYTES} bytes"),
                });
            }
        }
        let version = match classifier.state() {
            ModelState::Ready(v) => v,
            ModelState::Loading => return Err(ClassifyApiError::Unavailable("the model is still loading".into())),
            ModelState::Failed(why) => return Err(ClassifyApiError::Unavailable(why)),
        };
        let texts = items.iter().map(|i| i.text.clone()).collect();
        let predictions = classifier.classify(texts, Some(TIMEOUT)).await.map_err(|e| match e {
            ClassifyError::QueueFull => ClassifyApiError::Overloaded,
            ClassifyError::DeadlineExceeded => ClassifyApiError::Deadline,
            ClassifyError::Unavailable(why) => ClassifyApiError::Unavailable(why),
            ClassifyError::Inference(why) => ClassifyApiError::Inference(why),
        })?;
        let results = items
            .into_iter()
            .zip(predictions)
            .map(|(item, p)| ClassifyResult {
                id: item.id,
                label: sentiment_of(p.label) as i32,
                score: p.score,
                scores: Some(SentimentScores {
                    negative: p.probabilities[0],
                    neutral: p.probabilities[1],
                    positive: p.probabilities[2],
                }),
            })
            .collect();
        Ok(ClassifyResponse { results, model_version: version })
    }
}
