//! Cross-correlation of a mention series with a KPI series over lags, and what it does not prove.
//!
//! At lag `k`, Pearson's r is computed over the pairs `(topic[t], kpi[t + k])` where both exist; a
//! positive lag means the topic moves first. The best lag is the one with the largest |r| among lags
//! with at least [`MIN_PAIRS`] pairs. Its p-value comes from the t statistic `r·sqrt((n−2)/(1−r²))`
//! (two-sided, normal approximation of Student's t for n > 30, exact enough for a plain statement) and
//! is not corrected for having tried many lags.

/// Fewest pairs a lag needs to be reported as best.
pub const MIN_PAIRS: usize = 5;

/// Correlation at one lag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LagR {
    /// Lag in buckets (positive: topic leads).
    pub lag: i32,
    /// Pearson r (0 when undefined).
    pub r: f64,
    /// Pairs used.
    pub n: usize,
}

/// Pearson r of paired values; `None` when fewer than 3 pairs or a side is constant.
pub fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    let n = pairs.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let (mx, my) = pairs.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (mx / nf, my / nf);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    if sxx <= f64::EPSILON || syy <= f64::EPSILON {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// r at every lag in `-max_lag..=max_lag`; `None` values in a series are missing buckets.
pub fn cross_correlate(topic: &[Option<f64>], kpi: &[Option<f64>], max_lag: i32) -> Vec<LagR> {
    (-max_lag..=max_lag)
        .map(|lag| {
            let pairs: Vec<(f64, f64)> = (0..topic.len())
                .filter_map(|t| {
                    let j = t as i64 + i64::from(lag);
                    let y = *kpi.get(usize::try_from(j).ok()?)?;
                    Some((topic[t]?, y?))
                })
                .collect();
            LagR { lag, r: pearson(&pairs).unwrap_or(0.0), n: pairs.len() }
        })
        .collect()
}

/// The lag with the largest |r| and at least [`MIN_PAIRS`] pairs (ties: the smallest |lag|).
pub fn best(lags: &[LagR]) -> Option<LagR> {
    lags.iter()
        .filter(|l| l.n >= MIN_PAIRS)
        .copied()
        .max_by(|a, b| a.r.abs().total_cmp(&b.r.abs()).then_with(|| b.lag.abs().cmp(&a.lag.abs())))
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, error < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Two-sided p-value of r over n pairs under no correlation.
pub fn p_value(r: f64, n: usize) -> f64 {
    if n < 3 {
        return 1.0;
    }
    let r = r.clamp(-0.999_999, 0.999_999);
    let t = r * ((n as f64 - 2.0) / (1.0 - r * r)).sqrt();
    (2.0 * (1.0 - normal_cdf(t.abs()))).clamp(0.0, 1.0)
}

/// A plain statement of the result and of what it does not prove.
pub fn statement(best: Option<LagR>, p: f64, what: &str, kpi: &str, unit: &str) -> String {
    let caveat = "Correlation is not causation: both series may follow a third factor (a launch, a season, \
                  a news event), a lag only says which series moved first, and trying many lags makes a \
                  strong-looking r more likely by chance.";
    match best {
        None => format!("Not enough overlapping {unit}s of {what} and {kpi} to correlate. {caveat}"),
        Some(b) => {
            let strength = match b.r.abs() {
                a if a >= 0.7 => "strong",
                a if a >= 0.4 => "moderate",
                a if a >= 0.2 => "weak",
                _ => "no meaningful",
            };
            let direction = if b.r >= 0.0 { "positive" } else { "negative" };
            let timing = match b.lag {
                0 => "in the same ".to_owned() + unit,
                l if l > 0 => format!("when {what} leads {kpi} by {l} {unit}(s)"),
                l => format!("when {kpi} leads {what} by {} {unit}(s)", -l),
            };
            format!(
                "{strength} {direction} correlation (r = {:.2}, {} pairs, p ≈ {:.3}) between {what} and {kpi} {timing}. {caveat}",
                b.r, b.n, p
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_by_hand() {
        // x = 1,2,3; y = 2,4,7: mx = 2, my = 13/3; sxy = 5, sxx = 2, syy = 38/3 → r = 5 / sqrt(76/3).
        let r = pearson(&[(1.0, 2.0), (2.0, 4.0), (3.0, 7.0)]).expect("r");
        assert!((r - 5.0 / (76.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(pearson(&[(1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]), None);
    }

    #[test]
    fn a_planted_lag_is_found() {
        // kpi[t] = 100 − 3·topic[t − 2]: the topic leads by 2 buckets with r = −1.
        let topic: Vec<f64> = (0..30).map(|i| ((i * 7919) % 13) as f64).collect();
        let kpi: Vec<Option<f64>> =
            (0..30).map(|t| if t >= 2 { Some(100.0 - 3.0 * topic[t - 2]) } else { None }).collect();
        let lags = cross_correlate(&topic.iter().map(|&x| Some(x)).collect::<Vec<_>>(), &kpi, 5);
        let b = best(&lags).expect("best");
        assert_eq!(b.lag, 2);
        assert!((b.r + 1.0).abs() < 1e-9);
        assert_eq!(b.n, 28);
        assert!(p_value(b.r, b.n) < 1e-6);
        assert!(statement(Some(b), 0.0, "volume", "orders", "day").contains("volume leads orders by 2 day"));
    }

    #[test]
    fn p_value_of_no_correlation_is_one() {
        assert!((p_value(0.0, 50) - 1.0).abs() < 1e-6);
        // r = 0.3 over 50 pairs: t = 0.3·sqrt(48/0.91) = 2.179 → p ≈ 0.029 (normal approximation).
        assert!((p_value(0.3, 50) - 0.0293).abs() < 2e-3);
    }
}
