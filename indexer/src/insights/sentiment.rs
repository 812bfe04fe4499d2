//! Sentiment of the matching mentions: counts per label, shares, net sentiment and mean signed score.

use tantivy::columnar::{Column, StrColumn};
use tantivy::query::Query;
use tantivy::{DocId, Searcher, SegmentOrdinal, SegmentReader};

use super::{first_ord, label_index, ord_map, AccCollector, SegmentAcc};

/// Label counts and the sum of signed scores.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SentimentCounts {
    /// Positive mentions.
    pub positive: u64,
    /// Neutral mentions.
    pub neutral: u64,
    /// Negative mentions.
    pub negative: u64,
    /// Mentions without a label yet.
    pub unclassified: u64,
    /// Sum over classified mentions of +p (positive), -p (negative) or 0 (neutral), p the label's probability.
    pub signed_score_sum: f64,
}

impl SentimentCounts {
    /// Every mention.
    pub fn total(&self) -> u64 {
        self.classified() + self.unclassified
    }

    /// Mentions with a label.
    pub fn classified(&self) -> u64 {
        self.positive + self.neutral + self.negative
    }

    /// (P − N) / (P + N), or 0 when there is neither.
    pub fn net_sentiment(&self) -> f64 {
        net_sentiment(self.positive, self.negative)
    }

    /// Mean signed score over classified mentions (0 when none).
    pub fn mean_score(&self) -> f64 {
        ratio(self.signed_score_sum, self.classified())
    }

    /// Share of a count among classified mentions.
    pub fn share(&self, count: u64) -> f64 {
        ratio(count as f64, self.classified())
    }

    /// Adds another set of counts.
    pub fn add(&mut self, o: &SentimentCounts) {
        self.positive += o.positive;
        self.neutral += o.neutral;
        self.negative += o.negative;
        self.unclassified += o.unclassified;
        self.signed_score_sum += o.signed_score_sum;
    }

    /// Counts one mention of label index `label` (see [`super::label_index`]) with probability `score`.
    pub fn count(&mut self, label: u8, score: f64) {
        match label {
            0 => {
                self.positive += 1;
                self.signed_score_sum += score;
            }
            1 => self.neutral += 1,
            2 => {
                self.negative += 1;
                self.signed_score_sum -= score;
            }
            _ => self.unclassified += 1,
        }
    }
}

fn ratio(x: f64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        x / n as f64
    }
}

/// (P − N) / (P + N), or 0 when both are 0.
pub fn net_sentiment(positive: u64, negative: u64) -> f64 {
    let sum = positive + negative;
    if sum == 0 {
        0.0
    } else {
        (positive as f64 - negative as f64) / sum as f64
    }
}

/// Per-segment accumulator of [`sentiment`].
pub struct SentimentAcc {
    labels: Option<StrColumn>,
    label_of: Vec<u8>,
    score: Column<f64>,
    counts: SentimentCounts,
}

impl SegmentAcc for SentimentAcc {
    type Params = ();
    type Out = SentimentCounts;

    fn open(_: &(), _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self> {
        let ff = reader.fast_fields();
        let labels = ff.str("sentiment")?;
        Ok(SentimentAcc {
            label_of: ord_map(labels.as_ref(), label_index)?,
            labels,
            score: ff.f64("sentiment_score")?,
            counts: SentimentCounts::default(),
        })
    }

    #[inline]
    fn collect(&mut self, doc: DocId) {
        let label = first_ord(self.labels.as_ref(), doc).map_or(3, |o| self.label_of[o]);
        let score = if label == 0 || label == 2 { self.score.first(doc).unwrap_or(0.0) } else { 0.0 };
        self.counts.count(label, score);
    }

    fn finish(self) -> SentimentCounts {
        self.counts
    }
}

/// Sentiment counts of the mentions `query` matches. Blocking.
pub fn sentiment(searcher: &Searcher, query: &dyn Query) -> tantivy::Result<SentimentCounts> {
    let mut total = SentimentCounts::default();
    for c in searcher.search(query, &AccCollector::<SentimentAcc>::new(()))? {
        total.add(&c);
    }
    Ok(total)
}

/// Per-segment accumulator of [`sentiment_by_language`]: [`SentimentCounts`] per language ordinal.
pub struct LanguageSentimentAcc {
    labels: Option<StrColumn>,
    label_of: Vec<u8>,
    score: Column<f64>,
    languages: Option<StrColumn>,
    names: Vec<String>,
    /// Indexed by language ordinal; the last slot is "no language".
    counts: Vec<SentimentCounts>,
}

impl SegmentAcc for LanguageSentimentAcc {
    type Params = ();
    type Out = Vec<(String, SentimentCounts)>;

    fn open(_: &(), _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self> {
        let ff = reader.fast_fields();
        let labels = ff.str("sentiment")?;
        let languages = ff.str("language")?;
        let names = ord_map(languages.as_ref(), str::to_owned)?;
        Ok(LanguageSentimentAcc {
            label_of: ord_map(labels.as_ref(), label_index)?,
            labels,
            score: ff.f64("sentiment_score")?,
            counts: vec![SentimentCounts::default(); names.len() + 1],
            languages,
            names,
        })
    }

    #[inline]
    fn collect(&mut self, doc: DocId) {
        let label = first_ord(self.labels.as_ref(), doc).map_or(3, |o| self.label_of[o]);
        let score = if label == 0 || label == 2 { self.score.first(doc).unwrap_or(0.0) } else { 0.0 };
        let slot = first_ord(self.languages.as_ref(), doc).unwrap_or(self.names.len());
        self.counts[slot].count(label, score);
    }

    fn finish(self) -> Vec<(String, SentimentCounts)> {
        let names = self.names.into_iter().chain(std::iter::once(String::new()));
        names.zip(self.counts).filter(|(_, c)| c.total() > 0).collect()
    }
}

/// Sentiment counts of the mentions `query` matches, per language code (`""` for none), most mentions
/// first. Blocking.
pub fn sentiment_by_language(
    searcher: &Searcher,
    query: &dyn Query,
) -> tantivy::Result<Vec<(String, SentimentCounts)>> {
    let mut merged: std::collections::BTreeMap<String, SentimentCounts> = Default::default();
    for segment in searcher.search(query, &AccCollector::<LanguageSentimentAcc>::new(()))? {
        for (language, counts) in segment {
            merged.entry(language).or_default().add(&counts);
        }
    }
    let mut out: Vec<_> = merged.into_iter().collect();
    out.sort_by(|a, b| b.1.total().cmp(&a.1.total()).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_sentiment_by_hand() {
        assert_eq!(net_sentiment(6, 2), 0.5);
        assert_eq!(net_sentiment(1, 3), -0.5);
        assert_eq!(net_sentiment(0, 0), 0.0);
        let mut c = SentimentCounts::default();
        c.count(0, 0.9);
        c.count(2, 0.7);
        c.count(1, 0.8);
        c.count(3, 0.0);
        assert_eq!(c.total(), 4);
        assert!((c.mean_score() - (0.9 - 0.7) / 3.0).abs() < 1e-12);
        assert!((c.share(c.positive) - 1.0 / 3.0).abs() < 1e-12);
    }
}
