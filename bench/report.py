"""The one table of the side-by-side harness, as markdown (printed, and written to $BENCH_OUT/compare.md)."""

from __future__ import annotations

from typing import Optional

PEERS = ["tantivy-py", "SQLite FTS5", "DuckDB"]


def _ratio(mine: Optional[float], theirs: Optional[float]) -> str:
    if mine is None or not theirs:
        return "—"
    return f"{mine / theirs:.2f}×"


def _best(values: dict) -> tuple[Optional[str], Optional[float]]:
    known = {k: v for k, v in values.items() if v is not None}
    if not known:
        return None, None
    name = min(known, key=known.get)
    return name, known[name]


def _row(label: str, cells: dict, fmt, mine: Optional[float], peers: dict, systems: list[str],
         exclude: tuple = ()) -> str:
    best_name, best = _best({p: peers.get(p) for p in systems if p != "earshot" and p not in exclude})
    best_cell = f"{_ratio(mine, best)} ({best_name})" if best_name else "—"
    return "| " + " | ".join([label] + [fmt(cells.get(s)) for s in systems]
                             + [best_cell, _ratio(mine, peers.get("tantivy-py"))]) + " |"


def table(results: dict, cases, earshot_extra: dict, notes: dict) -> str:
    systems = [s for s in ["earshot"] + PEERS if s in results]
    head = "| measure | " + " | ".join(systems) + " | earshot / best peer | earshot / tantivy-py |"
    lines = [head, "|" + "---|" * (len(systems) + 3)]

    def num(fmt):
        return lambda v: "—" if v is None else fmt.format(v)

    load = {s: results[s].get("load_s") for s in systems}
    # DuckDB builds no text index (every query scans), so its load is no yardstick for indexing.
    lines.append(_row("load until all searchable (s)", load, num("{:.1f}"), load.get("earshot"), load, systems,
                      exclude=("DuckDB",)))
    rss = {s: results[s].get("peak_rss_mib") for s in systems}
    lines.append(_row("peak RSS during load (MiB)", rss, num("{:,.0f}"), rss.get("earshot"), rss, systems))
    for case in cases:
        cells, p50 = {}, {}
        for s in systems:
            r = results[s]["cases"].get(case.name)
            if r is not None:
                cells[s], p50[s] = r, r["p50_ms"]

        def fmt(r):
            return "n/a" if r is None else f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}"
        lines.append(_row(f"{case.name}: p50 / p99 ms", cells, fmt, p50.get("earshot"), p50, systems))
    out = ["\n".join(lines), ""]
    out.append("| earshot alone | value |")
    out.append("|---|---|")
    for label, value in earshot_extra.items():
        out.append(f"| {label} | {value} |")
    if notes:
        out += ["", "Answer notes:"]
        by_case: dict = {}
        for (case, system), note in notes.items():
            by_case.setdefault(case, []).append(f"{system}: {note}")
        out += [f"- {case}: " + "; ".join(items) for case, items in by_case.items()]
    return "\n".join(out)
