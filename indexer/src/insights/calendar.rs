//! Calendar buckets in an IANA time zone.
//!
//! A bucket starts at a local calendar boundary (the top of a local hour, local midnight, Monday's
//! midnight, the first of the month) and ends where the next one starts, so a local day is 23 or 25
//! hours long on DST change days. Edges are UTC instants; a mention belongs to the bucket whose
//! `[start, end)` holds its `created_at`. When local midnight does not exist (a DST gap at midnight),
//! the day starts at the first instant after the gap.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Calendar bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// Local hours.
    Hour,
    /// Local days.
    Day,
    /// ISO weeks (Monday to Sunday).
    Week,
    /// Calendar months.
    Month,
}

/// Most buckets one request may produce.
pub const MAX_BUCKETS: usize = 20_000;

/// Why buckets could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    /// Not an IANA zone name.
    #[error("unknown time zone {0:?} (use an IANA name such as Europe/Berlin)")]
    UnknownZone(String),
    /// The range is empty or reversed.
    #[error("from must be before to")]
    EmptyRange,
    /// Too many buckets.
    #[error("the range has more than {MAX_BUCKETS} buckets; use a larger interval")]
    TooManyBuckets,
}

/// Parses an IANA zone name; empty means UTC.
pub fn parse_zone(name: &str) -> Result<Tz, CalendarError> {
    if name.trim().is_empty() {
        return Ok(Tz::UTC);
    }
    name.trim().parse::<Tz>().map_err(|_| CalendarError::UnknownZone(name.to_owned()))
}

/// The UTC instant of a local time; in a gap, the first instant after it; when repeated, the earlier.
fn resolve(tz: Tz, local: NaiveDateTime) -> i64 {
    let mut probe = local;
    for _ in 0..(4 * 24) {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.timestamp(),
            LocalResult::Ambiguous(a, _) => return a.timestamp(),
            // Step through the gap a quarter hour at a time and land on its end.
            LocalResult::None => probe += Duration::minutes(15),
        }
    }
    local.and_utc().timestamp()
}

fn local(tz: Tz, secs: i64) -> NaiveDateTime {
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default().with_timezone(&tz).naive_local()
}

fn midnight(date: NaiveDate) -> NaiveDateTime {
    date.and_hms_opt(0, 0, 0).unwrap_or_default()
}

/// Start of the bucket holding `secs`, as a local time.
fn floor_local(interval: Interval, t: NaiveDateTime) -> NaiveDateTime {
    let date = t.date();
    match interval {
        Interval::Hour => date.and_hms_opt(t.hour(), 0, 0).unwrap_or_default(),
        Interval::Day => midnight(date),
        Interval::Week => midnight(date - Duration::days(i64::from(date.weekday().num_days_from_monday()))),
        Interval::Month => midnight(date.with_day(1).unwrap_or(date)),
    }
}

fn next_local(interval: Interval, t: NaiveDateTime) -> NaiveDateTime {
    match interval {
        Interval::Hour => t + Duration::hours(1),
        Interval::Day => t + Duration::days(1),
        Interval::Week => t + Duration::days(7),
        Interval::Month => {
            let (y, m) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
            midnight(NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(t.date()))
        }
    }
}

/// Bucket edges covering `[from, to)`: `edges[i]..edges[i + 1]` is bucket `i`. The first bucket starts
/// at the boundary at or before `from`, the last ends at the boundary at or after `to`.
pub fn edges(from: i64, to: i64, interval: Interval, tz: Tz) -> Result<Vec<i64>, CalendarError> {
    if from >= to {
        return Err(CalendarError::EmptyRange);
    }
    let mut out = Vec::new();
    if interval == Interval::Hour {
        // Local hours are UTC hours shifted by the offset; stepping in UTC keeps both repeated hours of
        // a fall-back night apart (stepping local time would merge them).
        let start = local(tz, from);
        let floored = from - i64::from(start.minute()) * 60 - i64::from(start.second());
        let mut t = floored;
        loop {
            out.push(t);
            if t >= to || out.len() > MAX_BUCKETS + 1 {
                break;
            }
            t += 3600;
        }
    } else {
        let mut l = floor_local(interval, local(tz, from));
        loop {
            let t = resolve(tz, l);
            out.push(t);
            if t >= to || out.len() > MAX_BUCKETS + 1 {
                break;
            }
            l = next_local(interval, l);
        }
    }
    if out.len() > MAX_BUCKETS + 1 {
        return Err(CalendarError::TooManyBuckets);
    }
    Ok(out)
}

/// Fixed-width UTC edges from `from` (aligned down to a multiple of `width` seconds) past `to`.
pub fn fixed_edges(from: i64, to: i64, width: i64) -> Result<Vec<i64>, CalendarError> {
    if from >= to {
        return Err(CalendarError::EmptyRange);
    }
    let width = width.max(1);
    let start = from.div_euclid(width) * width;
    let n = (to - start + width - 1) / width;
    if n as usize > MAX_BUCKETS {
        return Err(CalendarError::TooManyBuckets);
    }
    Ok((0..=n).map(|i| start + i * width).collect())
}

/// The local start of a bucket as RFC 3339 with its offset (`2024-03-31T00:00:00+01:00`).
pub fn label(secs: i64, tz: Tz) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default().with_timezone(&tz).to_rfc3339()
}

/// Index of the bucket holding `t`, if any.
#[inline]
pub fn bucket_of(edges: &[i64], t: i64) -> Option<usize> {
    let i = edges.partition_point(|&e| e <= t);
    (i > 0 && i < edges.len()).then(|| i - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).expect("time").timestamp()
    }

    #[test]
    fn berlin_days_across_spring_forward_and_fall_back() {
        let tz = parse_zone("Europe/Berlin").expect("zone");
        // 2024-03-31: clocks go 02:00 CET → 03:00 CEST, a 23-hour day.
        let e = edges(utc("2024-03-30T12:00:00Z"), utc("2024-04-01T12:00:00Z"), Interval::Day, tz).expect("edges");
        assert_eq!(
            e,
            vec![
                utc("2024-03-29T23:00:00Z"),
                utc("2024-03-30T23:00:00Z"),
                utc("2024-03-31T22:00:00Z"),
                utc("2024-04-01T22:00:00Z")
            ]
        );
        assert_eq!(e[2] - e[1], 23 * 3600);
        // 2024-10-27: 03:00 CEST → 02:00 CET, a 25-hour day.
        let e = edges(utc("2024-10-27T00:00:00Z"), utc("2024-10-27T12:00:00Z"), Interval::Day, tz).expect("edges");
        assert_eq!(e, vec![utc("2024-10-26T22:00:00Z"), utc("2024-10-27T23:00:00Z")]);
        assert_eq!(label(e[0], tz), "2024-10-27T00:00:00+02:00");
    }

    #[test]
    fn new_york_hours_keep_both_repeated_hours_apart() {
        let tz = parse_zone("America/New_York").expect("zone");
        // 2024-11-03 01:00 EDT (05:00Z) and 01:00 EST (06:00Z) are two different buckets.
        let e = edges(utc("2024-11-03T04:30:00Z"), utc("2024-11-03T07:00:00Z"), Interval::Hour, tz).expect("edges");
        assert_eq!(
            e,
            vec![
                utc("2024-11-03T04:00:00Z"),
                utc("2024-11-03T05:00:00Z"),
                utc("2024-11-03T06:00:00Z"),
                utc("2024-11-03T07:00:00Z")
            ]
        );
        assert_eq!(label(e[1], tz), "2024-11-03T01:00:00-04:00");
        assert_eq!(label(e[2], tz), "2024-11-03T01:00:00-05:00");
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let tz = parse_zone("America/New_York").expect("zone");
        // Sunday 2024-03-10 is in the week of Monday 2024-03-04 (EST, -5).
        let e = edges(utc("2024-03-10T12:00:00Z"), utc("2024-03-11T12:00:00Z"), Interval::Week, tz).expect("edges");
        assert_eq!(e, vec![utc("2024-03-04T05:00:00Z"), utc("2024-03-11T04:00:00Z"), utc("2024-03-18T04:00:00Z")]);
        let e =
            edges(utc("2024-02-15T00:00:00Z"), utc("2024-03-15T00:00:00Z"), Interval::Month, Tz::UTC).expect("edges");
        assert_eq!(e, vec![utc("2024-02-01T00:00:00Z"), utc("2024-03-01T00:00:00Z"), utc("2024-04-01T00:00:00Z")]);
    }

    #[test]
    fn midnight_in_a_gap_starts_the_day_after_the_gap() {
        // America/Santiago skipped 2024-09-08 00:00 local (-04 → -03).
        let tz = parse_zone("America/Santiago").expect("zone");
        let e = edges(utc("2024-09-08T06:00:00Z"), utc("2024-09-08T07:00:00Z"), Interval::Day, tz).expect("edges");
        assert_eq!(e[0], utc("2024-09-08T04:00:00Z")); // 01:00 -03, the first instant of the day
    }

    #[test]
    fn bucket_lookup_and_errors() {
        let e = vec![0, 10, 20];
        assert_eq!(bucket_of(&e, 0), Some(0));
        assert_eq!(bucket_of(&e, 10), Some(1));
        assert_eq!(bucket_of(&e, 20), None);
        assert_eq!(bucket_of(&e, -1), None);
        assert!(matches!(parse_zone("Mars/Olympus"), Err(CalendarError::UnknownZone(_))));
        assert_eq!(edges(5, 5, Interval::Day, Tz::UTC), Err(CalendarError::EmptyRange));
        assert_eq!(fixed_edges(3605, 7300, 3600).expect("fixed"), vec![3600, 7200, 10800]);
    }
}
