"""End-to-end tests of the Python examples against the real `earshot` binary.

The binary comes from $EARSHOT_BIN (default: ${CARGO_TARGET_DIR:-target}/debug/earshot of this checkout). One server, on free
ports and a temporary data folder, serves every test; each test works in its own tenant.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import grpc
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import earshot_client  # noqa: E402
import reflection_client  # noqa: E402

START_TIMEOUT_S = 60
ALERT_TIMEOUT_S = 60


def earshot_bin() -> Path:
    """$EARSHOT_BIN, else ${CARGO_TARGET_DIR:-target}/debug/earshot; relative paths from the repository root."""
    default = Path(os.environ.get("CARGO_TARGET_DIR") or "target") / "debug" / "earshot"
    path = Path(os.environ.get("EARSHOT_BIN") or default)
    return path if path.is_absolute() else REPO / path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Starts `earshot serve` and yields its gRPC address ("127.0.0.1:PORT")."""
    binary = earshot_bin()
    if not binary.is_file():
        pytest.fail(f"no earshot binary at {binary}: build it (cargo build) or set EARSHOT_BIN")
    data = tmp_path_factory.mktemp("earshot-data")
    log_path = data.parent / "earshot.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [str(binary), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data), "--no-classifier",
         "--metrics-listen", "127.0.0.1:0", "--alert-interval-ms", "200"],
        stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO,
    )
    lines: "queue.Queue[str | None]" = queue.Queue()

    def pump():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    address = None
    try:
        while address is None:
            line = lines.get(timeout=START_TIMEOUT_S)
            if line is None:
                break
            if line.startswith("earshot listening on "):
                address = line.split()[-1]
    except queue.Empty:
        pass
    if address is None:
        process.kill()
        process.wait()
        log.close()
        pytest.fail(f"earshot did not start; its log:\n{log_path.read_text(errors='replace')[-4000:]}")
    grpc.channel_ready_future(grpc.insecure_channel(address)).result(timeout=START_TIMEOUT_S)
    yield address
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def tenant(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def assert_alert(alert, rule_id: str) -> None:
    assert alert is not None, f"no alert within {ALERT_TIMEOUT_S} s"
    assert alert.rule_id == rule_id
    spike = alert.spike
    # 30 mentions against a baseline of exactly 2 at this hour on each of 7 days: z = 28 / sqrt(2).
    assert spike.peak_count == 30
    assert abs(spike.expected - 2.0) < 1e-9
    assert abs(spike.z_score - 28 / 2**0.5) < 1e-9
    assert "outage" in [t.term for t in spike.top_terms]
    # The spike is in the current hour (or the one before, if the hour turned during the test).
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    assert now // 3600 * 3600 - 3600 <= spike.start.seconds <= now


# Generated stubs ---------------------------------------------------------------------------------------


def test_generated_stubs_ingest_search_insight_alert(server):
    with earshot_client.EarshotClient(server, tenant("stubs")) as client:
        seen = earshot_client.run_demo(client, alert_timeout=ALERT_TIMEOUT_S)

    assert seen["ingested"] == 24
    assert seen["searchable"]
    # Search follows pages of 5: all 18 acme mentions, each once.
    assert seen["search_acme"] == 18
    assert seen["search_ids"] == {f"demo-acme-{i}" for i in range(18)}
    assert seen["count_all"] == 24
    assert seen["count_globex"] == 6
    # Hourly volume of 2024-04-10: acme every hour 00-17, globex at hours 00-05.
    assert seen["volume_total"] == 24
    assert seen["volume_buckets"] == [2] * 6 + [1] * 12 + [0] * 6
    assert seen["volume_split_first"] == {"twitter": 1, "reddit": 1}
    assert seen["sentiment_total"] == 24
    assert seen["spike_ingested"] == 44
    assert_alert(seen["alert"], seen["rule_id"])


def test_generated_stubs_tenants_are_separate(server):
    """The tenant header scopes every call: another tenant sees none of the first one's mentions."""
    a, b = tenant("a"), tenant("b")
    with earshot_client.EarshotClient(server, a) as client:
        response = client.ingest(earshot_client.demo_batch()[:3])
        assert (response.accepted, response.searchable) == (3, True)
        again = client.ingest(earshot_client.demo_batch()[:3])
        assert (again.accepted, again.duplicates) == (0, 3)
        assert client.count("") == 3
    with earshot_client.EarshotClient(server, b) as client:
        assert client.count("") == 0
        assert list(client.search("acme")) == []


def test_generated_stubs_cli(server):
    run = subprocess.run(
        [sys.executable, str(HERE / "earshot_client.py"), "--target", server, "--tenant", tenant("cli"),
         "--alert-timeout", str(ALERT_TIMEOUT_S)],
        capture_output=True, text=True, timeout=ALERT_TIMEOUT_S + 60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ingest: 24 accepted" in run.stdout
    assert "count: 24 in all, 6 about globex" in run.stdout
    assert "peak 30" in run.stdout


# Reflection only ---------------------------------------------------------------------------------------


def reflection_or_fail(action):
    try:
        return action()
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.UNIMPLEMENTED:
            pytest.fail("the server does not answer grpc.reflection.v1alpha.ServerReflection "
                        "(stock grpcio-reflection speaks only v1alpha)")
        raise


def test_reflection_lists_services(server):
    with reflection_client.ReflectionClient(server, tenant("refl")) as client:
        described = reflection_or_fail(lambda: reflection_client.describe(client, log=lambda _: None))
    for service in ["earshot.v1.IngestService", "earshot.v1.SearchService", "earshot.v1.InsightsService",
                    "earshot.v1.TopicService"]:
        assert service in described, sorted(described)
    assert "Count(earshot.v1.CountRequest) -> earshot.v1.CountResponse" in described["earshot.v1.SearchService"]
    assert ("WatchAlerts(earshot.v1.WatchAlertsRequest) -> stream earshot.v1.Alert"
            in described["earshot.v1.InsightsService"])


def test_reflection_ingest_count_search_insight_alert(server):
    with reflection_client.ReflectionClient(server, tenant("refl")) as client:
        seen = reflection_or_fail(lambda: reflection_client.run_demo(client, alert_timeout=ALERT_TIMEOUT_S,
                                                                     log=lambda _: None))
    assert seen["accepted"] == 5
    assert seen["count"] == 5
    assert seen["search_total"] == 5
    assert seen["search_ids"] == [f"reflected-{i}" for i in range(5)]
    assert seen["volume_total"] == 5
    assert seen["volume_buckets"] == [1] * 5
    assert seen["spike_accepted"] == 44
    assert_alert(seen["alert"], seen["rule_id"])


def test_reflection_cli_needs_no_generated_code(server):
    """The reflection CLI runs in a fresh interpreter that cannot see gen/ and imports no earshot module."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['reflection_client.py', '--target', sys.argv[1], '--tenant', sys.argv[2]]\n"
        "try:\n"
        "    runpy.run_path('reflection_client.py', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "else:\n"
        "    code = 0\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('earshot'))\n"
        "print('earshot modules loaded:', loaded)\n"
        "sys.exit(code if not loaded else 3)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, "-c", probe, server, tenant("reflcli")],
        capture_output=True, text=True, cwd=HERE, env=env, timeout=ALERT_TIMEOUT_S + 60,
    )
    if "StatusCode.UNIMPLEMENTED" in run.stderr:
        pytest.fail("the server does not answer grpc.reflection.v1alpha.ServerReflection:\n" + run.stderr[-2000:])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "earshot modules loaded: []" in run.stdout
    assert "earshot.v1.SearchService" in run.stdout
    assert "Count('reflected'): 5" in run.stdout
    assert "WatchAlerts: " in run.stdout and "peak 30" in run.stdout


def test_parquet_export_reads_back_with_pyarrow(server, tmp_path):
    """`earshot export --format parquet` holds every matching mention once, typed, for pyarrow."""
    import pyarrow.parquet as pq

    name = tenant("parquet")
    day = dt.datetime(2024, 4, 10, tzinfo=dt.timezone.utc)
    with earshot_client.EarshotClient(server, name) as client:
        mentions = [
            earshot_client.mention(f"pq-{i}", f"acme export {i}", day + dt.timedelta(minutes=i), author_handle=f"user{i % 7}")
            for i in range(2500)
        ]
        client.ingest(mentions)
    out = tmp_path / "acme.parquet"
    run = subprocess.run(
        [str(earshot_bin()), "export", "acme", "--format", "parquet", "--output", str(out), "--no-progress",
         "--server", f"http://{server}", "--tenant", name],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    table = pq.read_table(out)
    assert table.num_rows == 2500
    ids = table.column("id").to_pylist()
    assert len(set(ids)) == 2500 and set(ids) == {f"pq-{i}" for i in range(2500)}
    created = table.column("created_at").to_pylist()
    assert min(created).replace(tzinfo=dt.timezone.utc) == day
    assert str(table.schema.field("author_followers").type) == "int64"
