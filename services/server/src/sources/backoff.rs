//! When to poll again: exponential backoff with a cap after failures, and the waits platforms ask for
//! (`Retry-After`, `x-ratelimit-reset` and its relatives) after a 429 or when a quota is spent.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest wait after failures in a row.
pub const BACKOFF_CAP: Duration = Duration::from_secs(300);

/// Exponential backoff: `base`, `2·base`, `4·base`, … up to `cap`; a success starts over.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// Backoff starting at `base` (at least 10 ms), never above `cap`.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff { base: base.max(Duration::from_millis(10)), cap: cap.max(base), failures: 0 }
    }

    /// Records a failure and returns how long to wait before the next try.
    pub fn failed(&mut self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX);
        self.failures = self.failures.saturating_add(1);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Records a success: the next failure waits `base` again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// How long a platform asks us to wait, from one header value: `Retry-After` (seconds or an HTTP date),
/// or a rate-limit reset given as seconds from now (Reddit's `x-ratelimit-reset`), as a Unix time
/// (Bluesky's `ratelimit-reset`) or as an RFC 3339 time (Mastodon's `x-ratelimit-reset`).
pub fn wait_from_header(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let now_secs = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
    if let Ok(n) = value.parse::<f64>() {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        // A number this large is a point in time, not a delay (1e9 s is 31 years).
        let secs = if n > 1e9 { n - now_secs } else { n };
        return Some(Duration::from_secs_f64(secs.clamp(0.0, BACKOFF_CAP.as_secs_f64() * 12.0)));
    }
    let at =
        chrono::DateTime::parse_from_rfc2822(value).or_else(|_| chrono::DateTime::parse_from_rfc3339(value)).ok()?;
    let secs = at.timestamp_millis() as f64 / 1000.0 - now_secs;
    Some(Duration::from_secs_f64(secs.max(0.0)))
}

/// The wait asked for by a response's headers (the longest of those present), if any.
pub fn wait_from_headers(headers: &reqwest::header::HeaderMap, now: SystemTime) -> Option<Duration> {
    ["retry-after", "x-ratelimit-reset", "ratelimit-reset"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .filter_map(|v| wait_from_header(v, now))
        .max()
}

/// Whether the response says the quota is spent (`x-ratelimit-remaining: 0`), so that the next call
/// should wait for the reset even though this one succeeded.
pub fn quota_spent(headers: &reqwest::header::HeaderMap) -> bool {
    ["x-ratelimit-remaining", "ratelimit-remaining"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .any(|v| v.trim().parse::<f64>().is_ok_and(|n| n < 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_starts_over() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let waits: Vec<_> = (0..6).map(|_| b.failed().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.failures(), 6);
        b.succeeded();
        assert_eq!(b.failed(), Duration::from_millis(100));
        let mut long = Backoff::new(Duration::from_secs(1), BACKOFF_CAP);
        for _ in 0..100 {
            assert!(long.failed() <= BACKOFF_CAP, "no overflow after many failures");
        }
    }

    #[test]
    fn header_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(wait_from_header("3", now), Some(Duration::from_secs(3)));
        assert_eq!(wait_from_header(" 1.5 ", now), Some(Duration::from_millis(1500)));
        assert_eq!(wait_from_header("1700000042", now), Some(Duration::from_secs(42)), "Unix time");
        assert_eq!(wait_from_header("Tue, 14 Nov 2023 22:14:00 GMT", now), Some(Duration::from_secs(40)));
        assert_eq!(wait_from_header("2023-11-14T22:13:30.000Z", now), Some(Duration::from_secs(10)));
        assert_eq!(wait_from_header("1600000000", now), Some(Duration::ZERO), "a reset in the past");
        assert_eq!(wait_from_header("-1", now), None);
        assert_eq!(wait_from_header("soon", now), None);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "2".parse().expect("value"));
        headers.insert("x-ratelimit-reset", "5".parse().expect("value"));
        assert_eq!(wait_from_headers(&headers, now), Some(Duration::from_secs(5)), "the longest wins");
        assert!(!quota_spent(&headers));
        headers.insert("x-ratelimit-remaining", "0.0".parse().expect("value"));
        assert!(quota_spent(&headers));
    }
}
