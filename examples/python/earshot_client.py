"""A small Python client for earshot, on stubs generated from proto/ with grpcio-tools.

Generate the stubs first (run.sh does it):

    python -m grpc_tools.protoc -I ../../proto --python_out gen --grpc_python_out gen \
        ../../proto/earshot/v1/*.proto

Then, against a running `earshot serve`:

    python earshot_client.py --target 127.0.0.1:50051 --tenant demo

which ingests a batch, searches it, counts it, asks for an insight (hourly volume), saves a topic with an
alert rule, plants a spike and waits for the alert on WatchAlerts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from typing import Iterable, Iterator, Optional, Sequence

import grpc

# The generated modules import each other as `earshot.v1.…`, so gen/ goes on the path.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

try:
    from earshot.v1 import ingest_pb2, ingest_pb2_grpc
    from earshot.v1 import insights_pb2, insights_pb2_grpc
    from earshot.v1 import mention_pb2
    from earshot.v1 import search_pb2, search_pb2_grpc
    from earshot.v1 import topic_pb2, topic_pb2_grpc
except ImportError as e:  # pragma: no cover
    raise ImportError(
        f"{e}: generate the stubs first: ./run.sh does it, or (in examples/python) "
        "python -m grpc_tools.protoc -I ../../proto --python_out gen --grpc_python_out gen ../../proto/earshot/v1/*.proto"
    ) from e
from google.protobuf import timestamp_pb2  # noqa: E402

UTC = dt.timezone.utc


def timestamp(when: dt.datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when.astimezone(UTC))
    return ts


def mention(
    id: str,
    text: str,
    created_at: dt.datetime,
    *,
    source: int = mention_pb2.SOURCE_NETWORK_TWITTER,
    language: str = "en",
    author_handle: str = "",
) -> mention_pb2.Mention:
    """One mention to ingest; the tenant is left empty (the caller's)."""
    m = mention_pb2.Mention(id=id, text=text, source=source, language=language)
    m.created_at.CopyFrom(timestamp(created_at))
    if author_handle:
        m.author.id = author_handle
        m.author.handle = author_handle
    return m


class EarshotClient:
    """Thin wrapper over the generated stubs that sends the tenant (and an API key, if any) with each call.

    With `earshot serve --auth off` (the default) the tenant comes from `x-earshot-tenant`; with
    `--auth keys` pass `api_key` and the tenant comes from the key.
    """

    def __init__(self, target: str, tenant: str = "default", api_key: Optional[str] = None):
        self.channel = grpc.insecure_channel(target)
        self.metadata: list[tuple[str, str]] = [("x-earshot-tenant", tenant)]
        if api_key:
            self.metadata.append(("authorization", f"Bearer {api_key}"))
        self.ingest_stub = ingest_pb2_grpc.IngestServiceStub(self.channel)
        self.search_stub = search_pb2_grpc.SearchServiceStub(self.channel)
        self.topics_stub = topic_pb2_grpc.TopicServiceStub(self.channel)
        self.insights_stub = insights_pb2_grpc.InsightsServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "EarshotClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        grpc.channel_ready_future(self.channel).result(timeout=timeout)

    # Ingest ------------------------------------------------------------------------------------------

    def ingest(self, mentions: Sequence[mention_pb2.Mention], wait_searchable: bool = True) -> ingest_pb2.IngestResponse:
        """Ingests mentions in batches of at most 1000 (the server's default limit); returns the summed response."""
        total = ingest_pb2.IngestResponse(searchable=True)
        for start in range(0, len(mentions), 1000):
            batch = mentions[start : start + 1000]
            request = ingest_pb2.IngestRequest(mentions=batch, wait_searchable=wait_searchable)
            response = self.ingest_stub.Ingest(request, metadata=self.metadata, timeout=60)
            for result in response.results:
                result.index += start
            total.results.extend(response.results)
            total.accepted += response.accepted
            total.duplicates += response.duplicates
            total.rejected += response.rejected
            total.searchable = total.searchable and response.searchable
        return total

    # Search ------------------------------------------------------------------------------------------

    def search(self, query: str = "", page_size: int = 100, highlight: bool = False) -> Iterator[search_pb2.Hit]:
        """Every hit of `query`, newest first, following page tokens."""
        token = ""
        while True:
            request = search_pb2.SearchRequest(query=query, page_size=page_size, page_token=token, highlight=highlight)
            response = self.search_stub.Search(request, metadata=self.metadata, timeout=30)
            yield from response.hits
            token = response.next_page_token
            if not token:
                return

    def count(self, query: str = "") -> int:
        request = search_pb2.CountRequest(query=query)
        return self.search_stub.Count(request, metadata=self.metadata, timeout=30).count

    # Topics, insights, alerts ------------------------------------------------------------------------

    def create_topic(self, name: str, query: str, description: str = "") -> topic_pb2.Topic:
        request = topic_pb2.CreateTopicRequest(name=name, query=query, description=description)
        return self.topics_stub.CreateTopic(request, metadata=self.metadata, timeout=30)

    def get_or_create_topic(self, name: str, query: str, description: str = "") -> topic_pb2.Topic:
        try:
            return self.create_topic(name, query, description)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
            return self.topics_stub.GetTopic(topic_pb2.GetTopicRequest(topic=name), metadata=self.metadata, timeout=30)

    @staticmethod
    def scope(query: str, start: dt.datetime, end: dt.datetime, topic: str = "") -> insights_pb2.InsightScope:
        s = insights_pb2.InsightScope(query=query, topic=topic)
        getattr(s, "from").CopyFrom(timestamp(start))  # `from` is a Python keyword
        s.to.CopyFrom(timestamp(end))
        return s

    def volume(
        self,
        query: str,
        start: dt.datetime,
        end: dt.datetime,
        interval: int = insights_pb2.INTERVAL_DAY,
        time_zone: str = "UTC",
        split_by: int = insights_pb2.DIMENSION_UNSPECIFIED,
    ) -> insights_pb2.VolumeResponse:
        request = insights_pb2.VolumeRequest(
            scope=self.scope(query, start, end), interval=interval, time_zone=time_zone, split_by=split_by
        )
        return self.insights_stub.Volume(request, metadata=self.metadata, timeout=30)

    def sentiment_summary(self, query: str, start: dt.datetime, end: dt.datetime) -> insights_pb2.SentimentSummaryResponse:
        request = insights_pb2.SentimentSummaryRequest(scope=self.scope(query, start, end))
        return self.insights_stub.SentimentSummary(request, metadata=self.metadata, timeout=30)

    def put_alert_rule(self, topic: str, metric: int = insights_pb2.SPIKE_METRIC_VOLUME, **settings) -> insights_pb2.AlertRule:
        """Creates an enabled rule on a saved topic; `settings` are SpikeSettings fields (zero = default)."""
        rule = insights_pb2.AlertRule(
            topic=topic, metric=metric, enabled=True, settings=insights_pb2.SpikeSettings(**settings)
        )
        return self.insights_stub.PutAlertRule(rule, metadata=self.metadata, timeout=30)

    def watch_alerts(self, rule_id: str = "", timeout: Optional[float] = None):
        """Opens WatchAlerts and returns the call: iterate it for alerts, `.cancel()` it to stop.

        It returns once the server has answered with headers, i.e. once the subscription exists, so an
        alert fired after this returns is not missed.
        """
        call = self.insights_stub.WatchAlerts(
            insights_pb2.WatchAlertsRequest(rule_id=rule_id), metadata=self.metadata, timeout=timeout
        )
        call.initial_metadata()
        return call


# The demo ------------------------------------------------------------------------------------------------

DEMO_DAY = dt.datetime(2024, 4, 10, tzinfo=UTC)


def demo_batch() -> list[mention_pb2.Mention]:
    """24 mentions on 2024-04-10: 18 about acme (one per hour from 00:00), 6 about globex."""
    out = []
    for i in range(18):
        out.append(mention(f"demo-acme-{i}", f"acme launch event, take {i}", DEMO_DAY + dt.timedelta(hours=i),
                           author_handle=f"fan{i % 5}"))
    for i in range(6):
        out.append(mention(f"demo-globex-{i}", f"globex launch event, take {i}", DEMO_DAY + dt.timedelta(hours=i, minutes=30),
                           source=mention_pb2.SOURCE_NETWORK_REDDIT))
    return out


def spike_batch(now: dt.datetime, word: str) -> list[mention_pb2.Mention]:
    """A volume spike in the current hour: 2 mentions of `word` at this hour on each of the last 7 days
    (the baseline), then 30 at the start of this hour: z = (30 - 2) / sqrt(2), far over the default 4."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    out = []
    for d in range(1, 8):
        for k in range(2):
            out.append(mention(f"base-{d}-{k}", f"{word} app works fine {d} {k}", hour - dt.timedelta(days=d, seconds=-k)))
    for k in range(30):
        out.append(mention(f"spike-{k}", f"{word} outage again, login dead {k}", hour))
    return out


def run_demo(client: EarshotClient, alert_timeout: float = 60.0, log=print) -> dict:
    """Runs every step against the server and returns what it saw (the tests check these numbers)."""
    seen: dict = {}

    batch = demo_batch()
    response = client.ingest(batch)
    log(f"ingest: {response.accepted} accepted, {response.duplicates} duplicates, {response.rejected} rejected, "
        f"searchable={response.searchable}")
    seen["ingested"] = response.accepted
    seen["searchable"] = response.searchable

    hits = list(client.search("acme launch", page_size=5))
    log(f"search 'acme launch': {len(hits)} hits; newest: {hits[0].mention.text!r}" if hits else "search: no hits")
    seen["search_acme"] = len(hits)
    seen["search_ids"] = {h.mention.id for h in hits}

    seen["count_all"] = client.count("")
    seen["count_globex"] = client.count("globex")
    log(f"count: {seen['count_all']} in all, {seen['count_globex']} about globex")

    volume = client.volume("launch", DEMO_DAY, DEMO_DAY + dt.timedelta(days=1), interval=insights_pb2.INTERVAL_HOUR,
                           split_by=insights_pb2.DIMENSION_SOURCE)
    nonzero = [(b.label, b.total, dict(b.split)) for b in volume.buckets if b.total]
    log(f"volume of 'launch' on {DEMO_DAY:%Y-%m-%d}: {volume.total} in {len(volume.buckets)} hourly buckets; first: {nonzero[:3]}")
    seen["volume_total"] = volume.total
    seen["volume_buckets"] = [b.total for b in volume.buckets]
    seen["volume_split_first"] = dict(volume.buckets[0].split)

    summary = client.sentiment_summary("launch", DEMO_DAY, DEMO_DAY + dt.timedelta(days=1))
    log(f"sentiment of 'launch': total {summary.current.total}, unclassified {summary.current.unclassified}")
    seen["sentiment_total"] = summary.current.total

    # Alerts: a saved topic, a rule on it, a watcher, then the spike the rule should see.
    topic = client.get_or_create_topic("Zorblax", "zorblax", "the alert demo's brand")
    watch = client.watch_alerts()
    rule = client.put_alert_rule(topic.name)
    log(f"alert rule {rule.id} on topic {topic.name!r}; watching alerts")
    seen["rule_id"] = rule.id
    spike = client.ingest(spike_batch(dt.datetime.now(UTC), "zorblax"))
    log(f"planted a spike: {spike.accepted} mentions")
    seen["spike_ingested"] = spike.accepted

    deadline = time.monotonic() + alert_timeout
    alert = None
    try:
        # WatchAlerts has no deadline of its own; a timer cancels it if nothing comes in time.
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), watch.cancel)
        timer.start()
        try:
            alert = next(iter(watch))
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                raise
        finally:
            timer.cancel()
    finally:
        watch.cancel()
    if alert is None:
        log(f"no alert within {alert_timeout:.0f} s")
        seen["alert"] = None
        return seen
    terms = [t.term for t in alert.spike.top_terms]
    log(f"alert {alert.id}: topic {alert.topic!r}, peak {alert.spike.peak_count} vs expected "
        f"{alert.spike.expected:.1f} (z {alert.spike.z_score:.1f}), top terms {terms[:5]}")
    seen["alert"] = alert
    return seen


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default=os.environ.get("EARSHOT_TARGET", "127.0.0.1:50051"),
                        help="host:port of earshot's gRPC listener")
    parser.add_argument("--tenant", default="default", help="tenant (x-earshot-tenant) with --auth off")
    parser.add_argument("--api-key", default=os.environ.get("EARSHOT_API_KEY"), help="API key with --auth keys")
    parser.add_argument("--alert-timeout", type=float, default=60.0, help="seconds to wait for the alert")
    args = parser.parse_args(list(argv) if argv is not None else None)
    with EarshotClient(args.target, args.tenant, args.api_key) as client:
        client.wait_ready()
        seen = run_demo(client, alert_timeout=args.alert_timeout)
    return 0 if seen.get("alert") is not None else 1


if __name__ == "__main__":
    sys.exit(main())
