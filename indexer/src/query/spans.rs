//! Position arithmetic for phrases with wildcards, `NEAR` and `"…"~n`, on one document.
//!
//! A *span* is the inclusive range of token positions an operand occupies: one position for a word,
//! `k` consecutive positions for a `k`-word phrase. Two spans that share a position can't both be
//! used (a word can't be near itself), and the *gap* between two disjoint spans is the number of
//! positions strictly between them.

/// An inclusive range of token positions.
pub type PosSpan = (u32, u32);

/// Spans where the slots occur at consecutive positions: slot `i` at `start + i`. Each slot's
/// positions must be sorted.
pub fn sequence(slots: &[Vec<u32>]) -> Vec<PosSpan> {
    let Some((first, rest)) = slots.split_first() else { return Vec::new() };
    let len = rest.len() as u32;
    first
        .iter()
        .copied()
        .filter(|&start| {
            rest.iter().enumerate().all(|(i, positions)| {
                start.checked_add(i as u32 + 1).is_some_and(|p| positions.binary_search(&p).is_ok())
            })
        })
        .filter_map(|start| start.checked_add(len).map(|end| (start, end)))
        .collect()
}

/// Words strictly between two disjoint spans; `None` when they overlap.
fn gap(a: PosSpan, b: PosSpan) -> Option<u32> {
    if a.1 < b.0 {
        Some(b.0 - a.1 - 1)
    } else if b.1 < a.0 {
        Some(a.0 - b.1 - 1)
    } else {
        None
    }
}

/// `a NEAR/n b`: some span of `a` and some span of `b` are disjoint with at most `distance` words
/// between them; when `ordered`, the span of `a` comes first. Both lists are sorted by start.
pub fn near_pair(a: &[PosSpan], b: &[PosSpan], distance: u32, ordered: bool) -> bool {
    let longest_b = b.iter().map(|s| s.1 - s.0).max().unwrap_or(0);
    for &sa in a {
        // Spans of `b` that can be close enough start within this window.
        let lowest = if ordered {
            sa.1.saturating_add(1)
        } else {
            sa.0.saturating_sub(distance.saturating_add(longest_b).saturating_add(1))
        };
        let highest = sa.1.saturating_add(distance).saturating_add(1);
        let from = b.partition_point(|s| s.0 < lowest);
        for &sb in b[from..].iter().take_while(|s| s.0 <= highest) {
            match gap(sa, sb) {
                Some(g) if g <= distance && (!ordered || sa.1 < sb.0) => return true,
                _ => {}
            }
        }
    }
    false
}

/// `"w1 … wk"~n`: one span from every operand, pairwise disjoint, in any order, such that the window
/// they cover holds at most `distance` other words. Each list is sorted by start.
///
/// Every valid choice has a leftmost span; trying each span start as the window's left edge and
/// searching (depth first) for a choice inside the widest window that could qualify finds one if
/// there is one. The caller keeps the number of operands small.
pub fn within(operands: &[Vec<PosSpan>], distance: u32) -> bool {
    if operands.iter().any(Vec::is_empty) {
        return false;
    }
    let longest: u32 = operands.iter().map(|o| o.iter().map(|s| s.1 - s.0 + 1).max().unwrap_or(1)).sum();
    let mut starts: Vec<u32> = operands.iter().flatten().map(|s| s.0).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut chosen: Vec<PosSpan> = Vec::with_capacity(operands.len());
    for left in starts {
        let right = left.saturating_add(distance).saturating_add(longest);
        // Candidates of each operand inside [left, right); scarcest operands are tried first.
        let mut candidates: Vec<&[PosSpan]> = operands
            .iter()
            .map(|o| {
                let from = o.partition_point(|s| s.0 < left);
                let to = o.partition_point(|s| s.0 < right);
                &o[from..to]
            })
            .collect();
        if candidates.iter().any(|c| c.is_empty()) {
            continue;
        }
        candidates.sort_by_key(|c| c.len());
        chosen.clear();
        if choose(&candidates, distance, &mut chosen) {
            return true;
        }
    }
    false
}

fn choose(candidates: &[&[PosSpan]], distance: u32, chosen: &mut Vec<PosSpan>) -> bool {
    let Some((first, rest)) = candidates.split_first() else {
        return fits(chosen, distance);
    };
    for &span in first.iter() {
        if chosen.iter().all(|&c| gap(c, span).is_some()) {
            chosen.push(span);
            if choose(rest, distance, chosen) {
                return true;
            }
            chosen.pop();
        }
    }
    false
}

/// Whether disjoint spans cover a window with at most `distance` positions not in any of them.
fn fits(spans: &[PosSpan], distance: u32) -> bool {
    let lo = spans.iter().map(|s| s.0).min().unwrap_or(0);
    let hi = spans.iter().map(|s| s.1).max().unwrap_or(0);
    let covered: u32 = spans.iter().map(|s| s.1 - s.0 + 1).sum();
    (hi - lo + 1).saturating_sub(covered) <= distance
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(positions: &[u32]) -> Vec<PosSpan> {
        positions.iter().map(|&p| (p, p)).collect()
    }

    #[test]
    fn sequences_need_consecutive_positions() {
        assert_eq!(sequence(&[vec![1, 5, 9], vec![2, 7, 10], vec![3, 11]]), vec![(1, 3), (9, 11)]);
        assert_eq!(sequence(&[vec![u32::MAX], vec![0]]), vec![]);
    }

    #[test]
    fn near_counts_words_between() {
        // a _ _ b: two words between.
        assert!(near_pair(&words(&[0]), &words(&[3]), 2, false));
        assert!(!near_pair(&words(&[0]), &words(&[3]), 1, false));
        // Unordered finds b before a; ordered does not.
        assert!(near_pair(&words(&[5]), &words(&[3]), 1, false));
        assert!(!near_pair(&words(&[5]), &words(&[3]), 1, true));
        // A word is not near itself.
        assert!(!near_pair(&words(&[4]), &words(&[4]), 3, false));
        // Phrases as spans: "a b" at 0-1, c at 4: two words between.
        assert!(near_pair(&[(0, 1)], &words(&[4]), 2, true));
        assert!(!near_pair(&[(0, 1)], &words(&[4]), 1, true));
        // Long span of b starting well before a.
        assert!(near_pair(&words(&[10]), &[(2, 8)], 1, false));
    }

    #[test]
    fn within_needs_distinct_positions() {
        assert!(within(&[words(&[0]), words(&[2]), words(&[4])], 2));
        assert!(!within(&[words(&[0]), words(&[2]), words(&[4])], 1));
        // The same word twice needs two occurrences.
        assert!(!within(&[words(&[3]), words(&[3])], 5));
        assert!(within(&[words(&[3, 6]), words(&[3, 6])], 2));
        // Any order.
        assert!(within(&[words(&[9]), words(&[1, 8]), words(&[7])], 0));
        // Spans: "e mail" at 4-5 and x at 1: two words between.
        assert!(within(&[vec![(4, 5)], words(&[1]), words(&[7])], 3));
        assert!(!within(&[vec![(4, 5)], words(&[1]), words(&[7])], 2));
    }
}
