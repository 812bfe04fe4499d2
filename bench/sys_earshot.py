"""earshot for the side-by-side harness: the real release server, driven from Python over gRPC.

- Server: `earshot serve --no-classifier --data-dir D --listen 127.0.0.1:0` (everything else at its
  defaults), its address read from the `earshot listening on …` line, its logs (stderr) in a file, its peak
  RSS from /proc/<pid>/status VmHWM (the largest over the process and its children, should `earshot`
  hand `serve` to another executable);
- import: `earshot import FILE --server … --json --no-progress` (the CLI's own bulk path), then Count
  polled until it answers N: "searchable";
- restart: SIGTERM, wait for the exit, start on the same data, time until grpc.health.v1 says SERVING for
  `earshot.v1.SearchService` and until Count answers N;
- queries (class Earshot, same shape as the in-process peers): Search / Count / Volume / TopAuthors with
  stubs generated from proto/ at run time (the way examples/python does it; `BENCH_GEN` is their folder).
  Insights are cached by the server per request until the next commit, so each repetition moves the
  scope's end by one more second past the corpus: same answer, uncached work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Optional

sys.path.insert(0, os.environ.get("BENCH_GEN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen")))

import grpc  # noqa: E402
from earshot.v1 import insights_pb2, insights_pb2_grpc, search_pb2, search_pb2_grpc  # noqa: E402
from google.protobuf import timestamp_pb2  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from queries import TIME_ZONE, Case, earshot as earshot_text  # noqa: E402

SEARCH_SERVICE = "earshot.v1.SearchService"


def ts(t) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(t)
    return out


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def vm_kib(pid: int, key: str) -> int:
    """A /proc/<pid>/status value in KiB (VmHWM, VmRSS): the largest over pid and its children."""
    best = 0
    for p in [pid] + _children(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        best = max(best, int(line.split()[1]))
        except OSError:
            pass
    return best


class Server:
    """One `earshot serve` process on a data folder."""

    def __init__(self, binary: str, data_dir: str, log_path: str):
        self.binary, self.data_dir, self.log_path = binary, data_dir, log_path
        self.proc: Optional[subprocess.Popen] = None
        self.target = ""

    def start(self, timeout: float = 300) -> float:
        """Starts the server; seconds until it printed its gRPC address."""
        log = open(self.log_path, "ab")
        log.write(f"=== start {time.strftime('%H:%M:%S')}\n".encode())
        log.flush()
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--no-classifier", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=log, env={**os.environ, "NO_COLOR": "1"})
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"earshot serve exited ({self.proc.wait()}); see {self.log_path}")
            log.write(line.encode())
            if line.startswith("earshot listening on "):
                self.target = line.split()[-1]
                break
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError("earshot serve printed no address")
        listening = time.perf_counter() - t0
        threading.Thread(target=self._drain, args=(log,), daemon=True).start()
        self.t_start = t0
        return listening

    def _drain(self, log) -> None:
        for line in self.proc.stdout:
            log.write(line)

    def stop(self) -> float:
        """SIGTERM; seconds until the process has exited."""
        t0 = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=300)
        return time.perf_counter() - t0

    def peak_rss_mib(self) -> float:
        return vm_kib(self.proc.pid, "VmHWM") / 1024

    def wait_serving(self, timeout: float = 600) -> float:
        """Seconds since start() until health says SERVING for the search service."""
        channel = grpc.insecure_channel(self.target)
        stub = health_pb2_grpc.HealthStub(channel)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                r = stub.Check(health_pb2.HealthCheckRequest(service=SEARCH_SERVICE), timeout=5)
                if r.status == health_pb2.HealthCheckResponse.SERVING:
                    channel.close()
                    return time.perf_counter() - self.t_start
            except grpc.RpcError:
                pass
            time.sleep(0.02)
        raise RuntimeError("earshot never said SERVING")


class Earshot:
    """Queries through earshot's gRPC API (the server runs elsewhere: `target`)."""

    name = "earshot"

    def __init__(self, target: str):
        self.channel = grpc.insecure_channel(target)
        grpc.channel_ready_future(self.channel).result(timeout=60)
        self.search = search_pb2_grpc.SearchServiceStub(self.channel)
        self.insights = insights_pb2_grpc.InsightsServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self.md = [("x-earshot-tenant", "default")]

    def load(self, corpus: str, workdir: str) -> None:  # loaded by the driver (import over gRPC)
        pass

    def count(self, n: int) -> int:
        try:
            return self.search.Count(search_pb2.CountRequest(query=""), metadata=self.md, timeout=30).count
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE:  # replaying after a restart
                return -1
            raise

    def wait_count(self, n: int, timeout: float = 3600, every: float = 0.1) -> None:
        deadline = time.perf_counter() + timeout
        while self.count(n) != n:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"earshot: Count never reached {n}")
            time.sleep(every)

    def floor(self):
        """The gRPC round trip with no index work: a health check."""
        req = health_pb2.HealthCheckRequest(service=SEARCH_SERVICE)
        return lambda: {"status": self.health.Check(req, timeout=30).status}

    def prepare(self, case: Case):
        md = self.md
        time_range = None
        if case.window:
            time_range = search_pb2.TimeRange(**{"from": ts(case.window[0])}, to=ts(case.window[1]))
        q = earshot_text(case.query)
        if case.kind in ("search", "newest", "relevance"):
            sort = search_pb2.SORT_ORDER_RELEVANCE if case.kind == "relevance" else search_pb2.SORT_ORDER_TIME_DESC
            req = search_pb2.SearchRequest(query=q, page_size=case.limit, sort=sort, time_range=time_range)

            def search():
                r = self.search.Search(req, metadata=md, timeout=60)
                return {"total": r.total, "ids": [h.mention.id for h in r.hits]}
            return search
        if case.kind == "count":
            req = search_pb2.CountRequest(query=q, time_range=time_range)
            return lambda: {"count": self.search.Count(req, metadata=md, timeout=60).count}
        shift = [0]

        def scope() -> insights_pb2.InsightScope:
            shift[0] += 1  # past the corpus: same answer, a request the cache has not seen
            end = case.window[1].timestamp() + shift[0]
            return insights_pb2.InsightScope(query=q, to=timestamp_pb2.Timestamp(seconds=int(end)),
                                             **{"from": ts(case.window[0])})
        if case.kind == "volume":
            def volume():
                r = self.insights.Volume(insights_pb2.VolumeRequest(
                    scope=scope(), interval=insights_pb2.INTERVAL_DAY, time_zone=TIME_ZONE), metadata=md, timeout=60)
                return {"buckets": {b.label[:10]: b.total for b in r.buckets if b.total}, "time_zone": TIME_ZONE}
            return volume
        if case.kind == "authors":
            def authors():
                r = self.insights.TopAuthors(insights_pb2.TopAuthorsRequest(scope=scope(), limit=10),
                                             metadata=md, timeout=60)
                return {"top": [[a.author_id, a.mentions] for a in r.by_mentions], "distinct": r.unique_authors,
                        "distinct_exact": True}
            return authors
        raise ValueError(case.kind)


def cli_time(binary: str, args: list[str], runs: int = 10) -> dict:
    """Median and max wall time (ms) of running `earshot ARGS` to completion, and its peak RSS (MiB)."""
    samples, rss = [], 0.0
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        samples.append((time.perf_counter() - t0) * 1000)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"earshot {' '.join(args)} exited {proc.returncode}")
        rss = max(rss, usage.ru_maxrss / 1024)
    samples.sort()
    return {"median_ms": samples[len(samples) // 2], "max_ms": samples[-1], "peak_rss_mib": rss}
