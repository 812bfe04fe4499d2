//! Spike detection on a count series against a baseline that respects the time of day.
//!
//! For bucket `i` the baseline is the same bucket on each of the previous `baseline_days` days
//! (`i − per_day`, `i − 2·per_day`, …): its mean `μ` and population variance `σ²`. The score is
//! `z = (x − μ) / sqrt(σ² + max(μ, 1))` — the `max(μ, 1)` term is the Poisson noise a count has even
//! when the baseline is flat, so a quiet series does not turn every extra mention into a spike.
//!
//! Hysteresis: a spike opens at the first bucket with `z ≥ threshold` and at least `min_count`
//! mentions, and stays open (the same event: it does not fire again) until a bucket scores below
//! `release`. The spike's end is that bucket's start; a spike still open at the end of the series is
//! ongoing.

/// How spikes are detected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikeConfig {
    /// Bucket width in seconds; divides a day.
    pub bucket_secs: i64,
    /// Days of baseline.
    pub baseline_days: u32,
    /// z that opens a spike.
    pub threshold: f64,
    /// z below which an open spike ends.
    pub release: f64,
    /// Fewest mentions in a bucket to open a spike.
    pub min_count: u64,
}

impl Default for SpikeConfig {
    fn default() -> Self {
        SpikeConfig { bucket_secs: 3600, baseline_days: 7, threshold: 4.0, release: 1.5, min_count: 10 }
    }
}

impl SpikeConfig {
    /// Buckets per day.
    pub fn per_day(&self) -> usize {
        (86_400 / self.bucket_secs.max(1)) as usize
    }

    /// Seconds of baseline before the first evaluated bucket.
    pub fn baseline_secs(&self) -> i64 {
        i64::from(self.baseline_days) * 86_400
    }
}

/// Expected value and z-score of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Baseline mean (0 when there is no baseline yet).
    pub expected: f64,
    /// z-score (0 when there is no baseline yet).
    pub z: f64,
}

/// A detected spike, by bucket index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detected {
    /// First bucket.
    pub start: usize,
    /// One past the last bucket that was still above the release level.
    pub end: usize,
    /// Bucket with the highest z.
    pub peak: usize,
    /// Whether the spike is still open at the end of the series.
    pub ongoing: bool,
}

/// Scores bucket `i` of `series` against the same time of day on earlier days.
pub fn score(series: &[f64], i: usize, config: &SpikeConfig) -> Scored {
    let per_day = config.per_day();
    let past: Vec<f64> =
        (1..=config.baseline_days as usize).filter_map(|k| i.checked_sub(k * per_day)).map(|j| series[j]).collect();
    if past.is_empty() {
        return Scored { expected: 0.0, z: 0.0 };
    }
    let n = past.len() as f64;
    let mean = past.iter().sum::<f64>() / n;
    let var = past.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let z = (series[i] - mean) / (var + mean.max(1.0)).sqrt();
    Scored { expected: mean, z }
}

/// Spikes among buckets `from..` of `series` (earlier buckets only serve as baseline).
pub fn detect(series: &[f64], from: usize, config: &SpikeConfig) -> (Vec<Detected>, Vec<Scored>) {
    let scores: Vec<Scored> = (0..series.len()).map(|i| score(series, i, config)).collect();
    let mut spikes = Vec::new();
    let mut open: Option<Detected> = None;
    for i in from..series.len() {
        let z = scores[i].z;
        match open.as_mut() {
            None => {
                if z >= config.threshold && series[i] >= config.min_count as f64 {
                    open = Some(Detected { start: i, end: i + 1, peak: i, ongoing: false });
                }
            }
            Some(s) => {
                if z < config.release {
                    spikes.push(*s);
                    open = None;
                } else {
                    s.end = i + 1;
                    if z > scores[s.peak].z {
                        s.peak = i;
                    }
                }
            }
        }
    }
    if let Some(mut s) = open {
        s.ongoing = true;
        spikes.push(s);
    }
    (spikes, scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four buckets a day, so the "same time of day" is 4 buckets back.
    fn config() -> SpikeConfig {
        SpikeConfig { bucket_secs: 6 * 3600, baseline_days: 3, threshold: 4.0, release: 1.5, min_count: 10 }
    }

    #[test]
    fn baseline_is_the_same_time_of_day() {
        // Busy mornings (bucket 1 of each day: 20) and quiet nights (bucket 0: 2).
        let mut s = vec![2.0, 20.0, 10.0, 5.0, 2.0, 20.0, 10.0, 5.0, 2.0, 20.0, 10.0, 5.0];
        s.extend([2.0, 20.0, 10.0, 5.0]);
        // A normal morning is no spike although it is 10× the night.
        let (spikes, scores) = detect(&s, 12, &config());
        assert!(spikes.is_empty());
        assert_eq!(scores[13], Scored { expected: 20.0, z: 0.0 });
        // 16 at night: μ = 2, σ² = 0 → z = 14 / sqrt(2).
        s[12] = 16.0;
        let (spikes, scores) = detect(&s, 12, &config());
        assert!((scores[12].z - 14.0 / 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(spikes, vec![Detected { start: 12, end: 13, peak: 12, ongoing: false }]);
    }

    #[test]
    fn hysteresis_keeps_one_event_until_it_calms_down() {
        // Flat baseline of 4 per bucket over 3 days, then 30, 40, 12 (z = 4 ≥ release), 4, 80.
        let mut s = vec![4.0; 12];
        s.extend([30.0, 40.0, 12.0, 4.0, 80.0]);
        let (spikes, scores) = detect(&s, 12, &config());
        // z(30) = 26/2 = 13, z(40) = 18, z(12) = 4, z(4) = 0 → one event over buckets 12..15, peak 13.
        assert_eq!(scores[14].z, 4.0);
        assert_eq!(spikes.len(), 2);
        assert_eq!(spikes[0], Detected { start: 12, end: 15, peak: 13, ongoing: false });
        // After it calmed down, a new rise is a new event, still open at the end: its baseline is
        // 30, 4, 4 (μ = 38/3, σ² = 150.2) → z = (80 − 12.67) / sqrt(150.2 + 12.67) = 5.28.
        let mu: f64 = 38.0 / 3.0;
        let var = ((30.0 - mu) * (30.0 - mu) + 2.0 * (4.0 - mu) * (4.0 - mu)) / 3.0;
        assert!((scores[16].z - (80.0 - mu) / (var + mu).sqrt()).abs() < 1e-12);
        assert_eq!(spikes[1], Detected { start: 16, end: 17, peak: 16, ongoing: true });
    }

    #[test]
    fn few_mentions_never_open_a_spike() {
        let mut s = vec![0.0; 12];
        s.push(8.0); // z = 8 but below min_count 10
        assert!(detect(&s, 12, &config()).0.is_empty());
    }
}
