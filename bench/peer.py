"""One system of the side-by-side harness, in a process of its own (so its peak RSS is its own).

    python peer.py tantivy|sqlite|duckdb CORPUS WORKDIR OUT.json N
    python peer.py earshot CORPUS WORKDIR OUT.json N --target HOST:PORT

Loads the corpus (not for earshot: the driver imports it into the server), checks it holds N mentions,
records the load time and this process's peak RSS at that point, then answers every case of queries.py
(BENCH_WARM unmeasured calls, then BENCH_REPEAT measured ones, fewer when a case has used BENCH_BUDGET_S
seconds: at least 5) and writes all of it as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time

from measure import peak_rss_mib, timed
from queries import CASES


def make(system: str, target: str = ""):
    if system == "tantivy":
        from peer_tantivy import Tantivy
        return Tantivy()
    if system == "sqlite":
        from peer_sql import Sqlite
        return Sqlite()
    if system == "duckdb":
        from peer_sql import Duckdb
        return Duckdb()
    if system == "earshot":
        from sys_earshot import Earshot
        return Earshot(target)
    raise SystemExit(f"unknown system {system}")


def main(argv: list[str]) -> int:
    system, corpus, workdir, out, n = argv[1], argv[2], argv[3], argv[4], int(argv[5])
    target = argv[7] if len(argv) > 7 and argv[6] == "--target" else ""
    warm = int(os.environ.get("BENCH_WARM", "3"))
    repeat = int(os.environ.get("BENCH_REPEAT", "50"))
    budget = float(os.environ.get("BENCH_BUDGET_S", "20"))
    impl = make(system, target)
    result = {"system": impl.name, "n": n, "cases": {}}
    if system != "earshot":
        t0 = time.perf_counter()
        impl.load(corpus, workdir)
        result["load_s"] = time.perf_counter() - t0
        result["peak_rss_mib"] = peak_rss_mib()
    have = impl.count(n)
    if have != n:
        raise SystemExit(f"{impl.name}: holds {have} mentions, expected {n}")
    if system == "earshot":
        result["floor"] = timed(impl.floor(), warm, repeat)
    for case in CASES:
        fn = impl.prepare(case)
        if fn is None:
            result["cases"][case.name] = None
            continue
        t0 = time.perf_counter()
        result["cases"][case.name] = timed(fn, warm, repeat, budget)
        print(f"  {impl.name:12} {case.name:48} {result['cases'][case.name]['p50_ms']:9.2f} ms p50 "
              f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
