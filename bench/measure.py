"""Timing helpers shared by every system of the side-by-side harness: warm up, repeat, p50/p99."""

from __future__ import annotations

import math
import resource
import time
from typing import Any, Callable


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def timed(fn: Callable[[], Any], warm: int, repeat: int, budget_s: float = float("inf")) -> dict:
    """Calls fn `warm` times unmeasured, then `repeat` times (or fewer, at least 5, once the measured calls
    have taken `budget_s` seconds); the answer of the last call, p50/p99 in ms and how many calls counted."""
    answer = None
    for _ in range(warm):
        answer = fn()
    samples: list[float] = []
    spent = 0.0
    while len(samples) < repeat and (len(samples) < 5 or spent < budget_s):
        t0 = time.perf_counter()
        answer = fn()
        samples.append((time.perf_counter() - t0) * 1000)
        spent += samples[-1] / 1000
    return {"answer": answer, "p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99),
            "runs": len(samples)}


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
