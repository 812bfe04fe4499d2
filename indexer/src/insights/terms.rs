//! Trending terms: which words and hashtags the window's mentions use more than a background period's.
//!
//! Counts are of mentions containing a term (document frequency, from the `terms` fast field). Two
//! scores rank them:
//! - **significance** (JLH, as in Elasticsearch's `significant_terms`): with `f = fg / fg_total` and
//!   `b = (bg + 1) / (bg_total + 1)` (add-one so a term absent from the background stays finite),
//!   `score = (f − b) · (f / b)` when `f > b`, else 0. It rewards terms whose *share* of mentions rose,
//!   so a term that is merely common everywhere scores low even with a high raw count.
//! - **growth** (emerging terms): the ratio of per-second rates, `(fg / fg_secs) / ((bg + 1) / bg_secs)`;
//!   it rewards terms whose absolute rate rose.

use std::collections::HashMap;

use tantivy::columnar::{Column, StrColumn};
use tantivy::query::Query;
use tantivy::{DocId, Searcher, SegmentOrdinal, SegmentReader};

use super::{AccCollector, SegmentAcc};

/// A term with its counts and score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredTerm {
    /// The term (hashtags keep their `#`).
    pub term: String,
    /// Mentions in the window containing it.
    pub foreground: u64,
    /// Mentions in the background containing it.
    pub background: u64,
    /// JLH significance or growth.
    pub score: f64,
}

/// Document frequencies of every term in the window and the background.
#[derive(Debug, Clone, Default)]
pub struct TermCounts {
    /// term → (foreground, background).
    pub terms: HashMap<String, (u64, u64)>,
    /// Mentions in the window.
    pub foreground_total: u64,
    /// Mentions in the background.
    pub background_total: u64,
}

/// Window and background, half-open second ranges; they should not overlap.
#[derive(Debug, Clone, Copy)]
pub struct TermRanges {
    /// The window `[from, to)`.
    pub foreground: (i64, i64),
    /// The background `[from, to)`.
    pub background: (i64, i64),
}

/// Per-segment accumulator of [`term_counts`].
pub struct TermAcc {
    ranges: TermRanges,
    created: Column<tantivy::DateTime>,
    terms: Option<StrColumn>,
    /// Per term ordinal: foreground and background document frequency.
    counts: Vec<[u32; 2]>,
    totals: [u64; 2],
}

impl SegmentAcc for TermAcc {
    type Params = TermRanges;
    type Out = TermCounts;

    fn open(ranges: &TermRanges, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self> {
        let ff = reader.fast_fields();
        let terms = ff.str("terms")?;
        Ok(TermAcc {
            ranges: *ranges,
            created: ff.date("created_at")?,
            counts: vec![[0; 2]; terms.as_ref().map_or(0, |c| c.num_terms())],
            terms,
            totals: [0; 2],
        })
    }

    #[inline]
    fn collect(&mut self, doc: DocId) {
        let Some(t) = self.created.first(doc) else { return };
        let t = t.into_timestamp_secs();
        let side = if (self.ranges.foreground.0..self.ranges.foreground.1).contains(&t) {
            0
        } else if (self.ranges.background.0..self.ranges.background.1).contains(&t) {
            1
        } else {
            return;
        };
        self.totals[side] += 1;
        if let Some(c) = &self.terms {
            for ord in c.term_ords(doc) {
                self.counts[ord as usize][side] += 1;
            }
        }
    }

    fn finish(self) -> TermCounts {
        let mut out =
            TermCounts { foreground_total: self.totals[0], background_total: self.totals[1], ..Default::default() };
        let Some(column) = &self.terms else { return out };
        // Only terms seen in the window matter; stream the dictionary once rather than seek per term.
        let Ok(mut stream) = column.dictionary().stream() else { return out };
        let mut ord = 0usize;
        while stream.advance() {
            if let Some(&[fg, bg]) = self.counts.get(ord) {
                if fg > 0 || bg > 0 {
                    out.terms
                        .insert(String::from_utf8_lossy(stream.key()).into_owned(), (u64::from(fg), u64::from(bg)));
                }
            }
            ord += 1;
        }
        out
    }
}

/// Counts terms of the mentions `query` matches (the query must cover both ranges). Blocking.
pub fn term_counts(searcher: &Searcher, query: &dyn Query, ranges: TermRanges) -> tantivy::Result<TermCounts> {
    let mut total = TermCounts::default();
    for segment in searcher.search(query, &AccCollector::<TermAcc>::new(ranges))? {
        total.foreground_total += segment.foreground_total;
        total.background_total += segment.background_total;
        for (term, (fg, bg)) in segment.terms {
            let e = total.terms.entry(term).or_insert((0, 0));
            e.0 += fg;
            e.1 += bg;
        }
    }
    Ok(total)
}

/// JLH significance of a term (see the module documentation).
pub fn jlh(fg: u64, fg_total: u64, bg: u64, bg_total: u64) -> f64 {
    if fg_total == 0 {
        return 0.0;
    }
    let f = fg as f64 / fg_total as f64;
    // Nothing to compare with (a spike in a series that was empty before, e.g. the first problem
    // reports): the window's own most frequent terms are what drove it.
    if bg_total == 0 {
        return f;
    }
    let b = (bg as f64 + 1.0) / (bg_total as f64 + 1.0);
    if f <= b {
        0.0
    } else {
        (f - b) * (f / b)
    }
}

/// Growth of a term's rate (see the module documentation).
pub fn growth(fg: u64, fg_secs: i64, bg: u64, bg_secs: i64) -> f64 {
    if fg_secs <= 0 || bg_secs <= 0 {
        return 0.0;
    }
    (fg as f64 / fg_secs as f64) / ((bg as f64 + 1.0) / bg_secs as f64)
}

fn rank(mut terms: Vec<ScoredTerm>, limit: usize) -> Vec<ScoredTerm> {
    terms.retain(|t| t.score > 0.0);
    terms.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.term.cmp(&b.term)));
    terms.truncate(limit);
    terms
}

impl TermCounts {
    /// The `limit` most significant terms with at least `min_count` window mentions; `filter` picks
    /// which terms compete (e.g. only hashtags).
    pub fn significant(&self, limit: usize, min_count: u64, filter: impl Fn(&str) -> bool) -> Vec<ScoredTerm> {
        let scored = self
            .terms
            .iter()
            .filter(|(t, (fg, _))| *fg >= min_count && filter(t))
            .map(|(t, &(fg, bg))| ScoredTerm {
                term: t.clone(),
                foreground: fg,
                background: bg,
                score: jlh(fg, self.foreground_total, bg, self.background_total),
            })
            .collect();
        rank(scored, limit)
    }

    /// The `limit` terms whose rate grew most, with at least `min_count` window mentions.
    pub fn emerging(&self, limit: usize, min_count: u64, ranges: TermRanges) -> Vec<ScoredTerm> {
        let fg_secs = ranges.foreground.1 - ranges.foreground.0;
        let bg_secs = ranges.background.1 - ranges.background.0;
        let scored = self
            .terms
            .iter()
            .filter(|(_, (fg, _))| *fg >= min_count)
            .map(|(t, &(fg, bg))| ScoredTerm {
                term: t.clone(),
                foreground: fg,
                background: bg,
                score: growth(fg, fg_secs, bg, bg_secs),
            })
            .filter(|t| t.score > 1.0)
            .collect();
        rank(scored, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jlh_by_hand() {
        // 30 of 100 window mentions vs 9 of 999 background ones: f = 0.3, b = 10/1000 = 0.01.
        let s = jlh(30, 100, 9, 999);
        assert!((s - (0.3 - 0.01) * (0.3 / 0.01)).abs() < 1e-9);
        // A term as common in the background as in the window is not significant.
        assert_eq!(jlh(50, 100, 499, 999), 0.0);
        // An empty background ranks by the window share alone.
        assert_eq!(jlh(30, 100, 0, 0), 0.3);
    }

    #[test]
    fn significant_prefers_rising_share_over_raw_count() {
        let mut c = TermCounts { foreground_total: 100, background_total: 1000, ..Default::default() };
        c.terms.insert("the_app".into(), (60, 600)); // common everywhere
        c.terms.insert("outage".into(), (20, 5)); // rare before
        c.terms.insert("#down".into(), (10, 0));
        let top = c.significant(10, 3, |_| true);
        // #down: f = 0.1, b = 1/1001 → 9.91; outage: f = 0.2, b = 6/1001 → 6.47; the_app: f = 0.6 < b = 601/1001.
        assert_eq!(top.iter().map(|t| t.term.as_str()).collect::<Vec<_>>(), vec!["#down", "outage"]);
        assert!((top[1].score - (0.2 - 6.0 / 1001.0) * (0.2 * 1001.0 / 6.0)).abs() < 1e-9);
        let tags = c.significant(10, 3, |t| t.starts_with('#'));
        assert_eq!(tags.len(), 1);
        let ranges = TermRanges { foreground: (0, 100), background: (-1000, 0) };
        // outage: (20/100) / (6/1000) = 33.3; #down: (10/100) / (1/1000) = 100; the_app: 0.6/0.601 < 1.
        let e = c.emerging(10, 3, ranges);
        assert_eq!(e.iter().map(|t| t.term.as_str()).collect::<Vec<_>>(), vec!["#down", "outage"]);
        assert!((e[0].score - 100.0).abs() < 1e-9);
    }
}
