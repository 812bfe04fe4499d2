"""Do the four systems give the same answers? Every peer is compared with earshot, case by case.

- search / newest / count: the total and the ids of the newest hits, in order (created_at is unique in
  the corpus, so the order is the same everywhere);
- volume: every non-empty Berlin day and its count;
- authors: the top-10 counts in order, the authors above the 10th count (ties at the cut may differ) and
  the number of distinct authors (exactly, except tantivy-py's cardinality aggregation, a HyperLogLog
  estimate: within DISTINCT_TOLERANCE);
- relevance (BM25): the totals must agree; the top-10 sets are only reported (overlap), since each system
  scores its own token statistics (earshot indexes alternates beside each word; ties are ordered
  differently).
"""

from __future__ import annotations

DISTINCT_TOLERANCE = 0.05


def compare(kind: str, ref: dict, other: dict) -> tuple[list[str], str]:
    """Problems (empty when they agree) and a note."""
    problems: list[str] = []
    note = ""
    if kind in ("search", "newest"):
        if ref["total"] != other["total"]:
            problems.append(f"total {other['total']} vs earshot {ref['total']}")
        if ref["ids"] != other["ids"]:
            first = next((i for i, (a, b) in enumerate(zip(ref["ids"], other["ids"])) if a != b),
                         min(len(ref["ids"]), len(other["ids"])))
            problems.append(f"newest hits differ from #{first + 1} ({other['ids'][first:first + 2]} vs "
                            f"earshot {ref['ids'][first:first + 2]})")
    elif kind == "count":
        if ref["count"] != other["count"]:
            problems.append(f"count {other['count']} vs earshot {ref['count']}")
    elif kind == "volume":
        a, b = ref["buckets"], other["buckets"]
        if a != b:
            days = sorted(set(a) | set(b))
            bad = [d for d in days if a.get(d) != b.get(d)]
            problems.append(f"{len(bad)} of {len(days)} days differ, e.g. {bad[0]}: {b.get(bad[0])} vs "
                            f"earshot {a.get(bad[0])}")
        note = f"{len(a)} non-empty days, all equal" if a == b else ""
    elif kind == "authors":
        ra, oa = ref["top"], other["top"]
        if [c for _, c in ra] != [c for _, c in oa]:
            problems.append(f"top counts {[c for _, c in oa]} vs earshot {[c for _, c in ra]}")
        elif ra:
            cut = ra[-1][1]
            if {k for k, c in ra if c > cut} != {k for k, c in oa if c > cut}:
                problems.append("top authors differ")
        if other.get("distinct_exact", True):
            if other["distinct"] != ref["distinct"]:
                problems.append(f"distinct {other['distinct']} vs earshot {ref['distinct']}")
        else:
            off = (other["distinct"] - ref["distinct"]) / max(1, ref["distinct"])
            note = f"distinct estimated {other['distinct']} vs {ref['distinct']} ({off:+.1%})"
            if abs(off) > DISTINCT_TOLERANCE:
                problems.append(f"distinct estimate {other['distinct']} off by {off:+.1%} from earshot {ref['distinct']}")
    elif kind == "relevance":
        if ref["total"] != other["total"]:
            problems.append(f"total {other['total']} vs earshot {ref['total']}")
        overlap = len(set(ref["ids"]) & set(other["ids"]))
        note = f"top-10 overlap {overlap}/{len(ref['ids'])}"
    return problems, note


def check_all(cases, results: dict) -> tuple[list[str], dict]:
    """(every disagreement as a line, notes[(case, system)]); results: system name -> peer.py output."""
    problems: list[str] = []
    notes: dict = {}
    ref = results["earshot"]["cases"]
    for case in cases:
        mine = ref.get(case.name)
        if mine is None:
            problems.append(f"{case.name}: earshot gave no answer")
            continue
        for system, result in results.items():
            if system == "earshot":
                continue
            theirs = result["cases"].get(case.name)
            if theirs is None:
                continue
            found, note = compare(case.kind, mine["answer"], theirs["answer"])
            problems += [f"{case.name}: {system}: {p}" for p in found]
            if note:
                notes[(case.name, system)] = note
    return problems, notes
