"""Driver of the side-by-side harness (bench/compare.sh runs it): earshot, tantivy-py, SQLite FTS5 and
DuckDB on one corpus, one system at a time, then the agreement check and the table.

    python run.py --binary target/release/earshot --corpus corpus.jsonl --n N --work DIR --out DIR

earshot: a fresh `earshot serve --no-classifier` on DIR/earshot; `earshot import` of the file (the
acknowledged time is when the import command exits); Count polled every 100 ms until it answers N (the
load time); the server's VmHWM then; the queries from a separate Python process over gRPC; a restart
(SIGTERM, start on the same data: address printed, health SERVING, Count = N); the CLI's start time.
The peers: `peer.py` each in its own process (load, peak RSS, queries). Results in OUT/compare.json and
OUT/compare.md; exit status 1 when any answer disagrees.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import check
import report
from queries import CASES
from sys_earshot import Earshot, Server, cli_time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = {"tantivy": "tantivy-py", "sqlite": "SQLite FTS5", "duckdb": "DuckDB"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores ({cpu}), {mem / 2**20:.0f} GiB, {platform.system()} {platform.release()}"


def peer(system: str, args, target: str = "") -> dict:
    workdir = os.path.join(args.work, f"{system}-peer")  # (earshot's own data is in work/earshot)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    out = os.path.join(args.out, f"{system}.json")
    cmd = [sys.executable, os.path.join(HERE, "peer.py"), system, args.corpus, workdir, out, str(args.n)]
    if target:
        cmd += ["--target", target]
    subprocess.run(cmd, check=True)
    with open(out) as f:
        result = json.load(f)
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def earshot(args) -> tuple[dict, dict]:
    data = os.path.join(args.work, "earshot")
    shutil.rmtree(data, ignore_errors=True)
    server = Server(args.binary, data, os.path.join(args.out, "earshot-server.log"))
    extra: dict = {}
    server.start()
    client = Earshot(server.target)
    log(f"earshot: importing {args.n:,} mentions into {server.target}")
    t0 = time.perf_counter()
    imported = subprocess.run([args.binary, "import", args.corpus, "--server", f"http://{server.target}",
                               "--json", "--no-progress"], check=True, capture_output=True, text=True)
    acked = time.perf_counter() - t0
    summary = json.loads(imported.stdout.strip().splitlines()[-1])
    if summary.get("accepted") != args.n:
        raise SystemExit(f"earshot import accepted {summary.get('accepted')} of {args.n}: {imported.stdout}")
    client.wait_count(args.n)
    searchable = time.perf_counter() - t0
    rss = server.peak_rss_mib()
    log(f"earshot: acknowledged {acked:.1f} s, searchable {searchable:.1f} s, VmHWM {rss:.0f} MiB")
    result = peer("earshot", args, server.target)
    result.update(load_s=searchable, acked_s=acked, peak_rss_mib=rss)
    extra["import: acknowledged (import command done)"] = f"{acked:.1f} s ({args.n / acked:,.0f} mentions/s)"
    extra["import: all searchable (Count = N)"] = f"{searchable:.1f} s ({args.n / searchable:,.0f} mentions/s)"
    extra["server VmHWM after the queries (MiB)"] = f"{server.peak_rss_mib():,.0f}"
    floor = result["floor"]
    extra["gRPC floor (health Check round trip) p50 / p99"] = f"{floor['p50_ms']:.2f} / {floor['p99_ms']:.2f} ms"
    client.channel.close()

    log("earshot: restart")
    extra["shutdown (SIGTERM until exit)"] = f"{server.stop():.2f} s"
    listening = server.start()
    serving = server.wait_serving()
    restarted = Earshot(server.target)
    restarted.wait_count(args.n, timeout=600, every=0.02)
    counted = time.perf_counter() - server.t_start
    restarted.channel.close()
    extra["restart: address printed"] = f"{listening:.2f} s"
    extra["**restart: health SERVING**"] = f"**{serving:.2f} s**"
    extra["restart: Count answers N"] = f"{counted:.2f} s"
    extra["VmHWM of the restarted server (MiB)"] = f"{server.peak_rss_mib():,.0f}"
    server.stop()
    if os.environ.get("BENCH_KEEP_DATA") != "1":  # kept: to profile a restart by hand
        shutil.rmtree(data, ignore_errors=True)
    log(f"earshot: restart SERVING after {serving:.2f} s, Count after {counted:.2f} s")

    for label, cli in [("`earshot --version`", ["--version"]), ("`earshot search --help`", ["search", "--help"])]:
        t = cli_time(args.binary, cli)
        extra[f"{label}: median / max of 10, peak RSS"] = (
            f"{t['median_ms']:.0f} / {t['max_ms']:.0f} ms, {t['peak_rss_mib']:.0f} MiB")
    return result, extra


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--systems", default="earshot,tantivy,sqlite,duckdb")
    p.add_argument("--classifier-md", help="markdown of models/bench/compare.sh to fold in")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    systems = args.systems.split(",")
    started = dt.datetime.now(dt.timezone.utc)
    load_start = os.getloadavg()
    version = subprocess.run([args.binary, "--version"], capture_output=True, text=True).stdout.strip()

    results: dict = {}
    extra: dict = {}
    if "earshot" in systems:
        results["earshot"], extra = earshot(args)
    for system, name in PEERS.items():
        if system in systems:
            log(f"{name}: load + queries")
            results[name] = peer(system, args)
            log(f"{name}: loaded in {results[name]['load_s']:.1f} s, peak RSS {results[name]['peak_rss_mib']:.0f} MiB")

    load_end = os.getloadavg()
    problems, notes = check.check_all(CASES, results) if "earshot" in results else ([], {})
    method = (f"{started:%Y-%m-%d %H:%M} UTC, {version}, N = {args.n:,}, {machine()}; load average (1/5/15 min) "
              f"{' / '.join(f'{x:.2f}' for x in load_start)} at the start, "
              f"{' / '.join(f'{x:.2f}' for x in load_end)} at the end; each query {os.environ.get('BENCH_WARM', '3')} "
              f"warm-up calls, then up to {os.environ.get('BENCH_REPEAT', '50')} measured "
              f"(fewer, at least 5, past {os.environ.get('BENCH_BUDGET_S', '20')} s).")
    md = [f"# Side by side: earshot vs tantivy-py, SQLite FTS5, DuckDB", "", method, "",
          report.table(results, CASES, extra, notes), ""]
    md.append("Best peer of the load row: among the systems that build a text index (DuckDB's load is a plain "
              "table; without the fts extension each of its queries scans every row).")
    md.append("")
    md.append("**Answers: all agree.**" if not problems else
              "**ANSWERS DISAGREE:**\n" + "\n".join(f"- {p}" for p in problems))
    if args.classifier_md and os.path.exists(args.classifier_md):
        md += ["", "## Classifier: Rust vs Python (models/bench/compare.sh)", "", open(args.classifier_md).read()]
    text = "\n".join(md) + "\n"
    with open(os.path.join(args.out, "compare.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "compare.json"), "w") as f:
        json.dump({"method": method, "results": results, "earshot": extra, "problems": problems}, f, indent=1)
    print(text)
    if problems:
        log(f"{len(problems)} answers disagree (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
