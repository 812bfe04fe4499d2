"""Talks to earshot with nothing but server reflection: no .proto files, no generated code.

The stock `grpcio-reflection` package asks the server (over `grpc.reflection.v1alpha`) for the file
descriptors of its services; a `descriptor_pool` built on them gives message classes at run time, and
the calls go out as plain RPCs on the channel (unary, or server-streaming for WatchAlerts) with those
classes' (de)serialisers.

    python reflection_client.py --target 127.0.0.1:50051 --tenant demo

lists the services and their methods, then ingests, counts and searches mentions, asks for an insight
(hourly volume), and watches alerts while it plants a spike under an alert rule.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import Iterable, Optional

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


class ReflectionClient:
    """Discovers the server's API through reflection and calls its methods with dynamic messages."""

    def __init__(self, target: str, tenant: str = "default", api_key: Optional[str] = None):
        self.channel = grpc.insecure_channel(target)
        self.metadata: list[tuple[str, str]] = [("x-earshot-tenant", tenant)]
        if api_key:
            self.metadata.append(("authorization", f"Bearer {api_key}"))
        # Reflection needs no credentials on earshot (even with --auth keys).
        self.database = ProtoReflectionDescriptorDatabase(self.channel)
        self.pool = descriptor_pool.DescriptorPool(self.database)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "ReflectionClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def services(self) -> list[str]:
        """Full names of every service the server offers (reflection itself included)."""
        return sorted(self.database.get_services())

    def service(self, name: str) -> ServiceDescriptor:
        return self.pool.FindServiceByName(name)

    def method(self, full_name: str) -> MethodDescriptor:
        """`earshot.v1.SearchService.Count` or `earshot.v1.SearchService/Count`."""
        service, _, method = full_name.replace("/", ".").rpartition(".")
        return self.service(service).methods_by_name[method]

    def message_class(self, full_name: str):
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(full_name))

    def new_request(self, method: str, **fields):
        """An empty (or keyword-initialised) request message of `method`."""
        return message_factory.GetMessageClass(self.method(method).input_type)(**fields)

    def call(self, method: str, request, timeout: Optional[float] = 30.0):
        """Calls a unary method (returns the response) or a server-streaming one (returns the call: iterate
        it for the responses, `.cancel()` it to stop)."""
        m = self.method(method)
        if m.client_streaming:
            raise ValueError(f"{m.full_name} takes a stream; this example calls only unary-request methods")
        path = f"/{m.containing_service.full_name}/{m.name}"
        serialize = lambda msg: msg.SerializeToString()  # noqa: E731
        deserialize = message_factory.GetMessageClass(m.output_type).FromString
        if m.server_streaming:
            rpc = self.channel.unary_stream(path, request_serializer=serialize, response_deserializer=deserialize)
        else:
            rpc = self.channel.unary_unary(path, request_serializer=serialize, response_deserializer=deserialize)
        return rpc(request, metadata=self.metadata, timeout=timeout)

    def enum_value(self, enum_full_name: str, value_name: str) -> int:
        return self.pool.FindEnumTypeByName(enum_full_name).values_by_name[value_name].number


def describe(client: ReflectionClient, log=print) -> dict[str, list[str]]:
    """Every service with its methods ("Name(Input) -> Output", streams marked)."""
    out: dict[str, list[str]] = {}
    for name in client.services():
        try:
            service = client.service(name)
        except KeyError:
            # A server may list a service whose descriptor it cannot give (not earshot); keep going.
            out[name] = []
            log(name + "  (no descriptor)")
            continue
        methods = []
        for m in service.methods:
            arg = ("stream " if m.client_streaming else "") + m.input_type.full_name
            ret = ("stream " if m.server_streaming else "") + m.output_type.full_name
            methods.append(f"{m.name}({arg}) -> {ret}")
        out[name] = methods
        log(name)
        for line in methods:
            log("    " + line)
    return out


def fill_mention(client: ReflectionClient, m, id: str, text: str, created_at: int, source: str = "SOURCE_NETWORK_TWITTER"):
    """Sets the fields of a reflected earshot.v1.Mention (`m`, e.g. from `request.mentions.add()`)."""
    m.id = id
    m.text = text
    m.language = "en"
    m.source = client.enum_value("earshot.v1.SourceNetwork", source)
    m.author.handle = "pythonista"
    m.created_at.seconds = created_at


def ingest(client: ReflectionClient, mentions: list[tuple[str, str, int]]):
    """Ingests (id, text, created_at seconds) triples in one request and waits until they are searchable."""
    request = client.new_request("earshot.v1.IngestService.Ingest", wait_searchable=True)
    for id, text, created_at in mentions:
        fill_mention(client, request.mentions.add(), id, text, created_at)
    return client.call("earshot.v1.IngestService.Ingest", request, timeout=60)


def run_demo(client: ReflectionClient, word: str = "reflected", alert_timeout: float = 60.0, log=print) -> dict:
    """Ingest, Count, Search, an insight (Volume) and WatchAlerts, every message built from reflected types."""
    seen: dict = {}
    now = int(time.time())
    hour = now // 3600 * 3600
    day = 86_400

    # Five mentions of `word` an hour apart, ending three days ago (clear of the alert's baseline hours).
    first = hour - 3 * day - 4 * 3600
    batch = [(f"{word}-{i}", f"{word} hello from python, no proto needed {i}", first + i * 3600) for i in range(5)]
    response = ingest(client, batch)
    log(f"Ingest: accepted {response.accepted}, duplicates {response.duplicates}, rejected {response.rejected}")
    seen["accepted"] = response.accepted

    count = client.call("earshot.v1.SearchService.Count", client.new_request("earshot.v1.SearchService.Count", query=word))
    log(f"Count({word!r}): {count.count}")
    seen["count"] = count.count

    search = client.call(
        "earshot.v1.SearchService.Search",
        client.new_request("earshot.v1.SearchService.Search", query=word, page_size=10),
    )
    log(f"Search({word!r}): total {search.total}: " + ", ".join(h.mention.id for h in search.hits))
    seen["search_total"] = search.total
    seen["search_ids"] = sorted(h.mention.id for h in search.hits)

    volume = client.new_request(
        "earshot.v1.InsightsService.Volume",
        interval=client.enum_value("earshot.v1.Interval", "INTERVAL_HOUR"),
        time_zone="UTC",
    )
    volume.scope.query = word
    getattr(volume.scope, "from").seconds = first  # `from` is a Python keyword
    volume.scope.to.seconds = first + 5 * 3600
    buckets = client.call("earshot.v1.InsightsService.Volume", volume)
    log(f"Volume({word!r}, hourly): total {buckets.total}, buckets {[b.total for b in buckets.buckets]}")
    seen["volume_total"] = buckets.total
    seen["volume_buckets"] = [b.total for b in buckets.buckets]

    # Alerts: a topic, a watcher, a rule, then a spike in the current hour (30 mentions against 2 at this
    # hour on each of the last 7 days).
    spiky = f"{word}spike"
    try:
        topic = client.call(
            "earshot.v1.TopicService.CreateTopic",
            client.new_request("earshot.v1.TopicService.CreateTopic", name=spiky, query=spiky),
        )
    except grpc.RpcError as e:  # a second run against the same server
        if e.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
        topic = client.call("earshot.v1.TopicService.GetTopic",
                            client.new_request("earshot.v1.TopicService.GetTopic", topic=spiky))
    watch = client.call("earshot.v1.InsightsService.WatchAlerts",
                        client.new_request("earshot.v1.InsightsService.WatchAlerts"), timeout=None)
    watch.initial_metadata()  # the server has subscribed once it has sent headers
    rule = client.new_request("earshot.v1.InsightsService.PutAlertRule", topic=topic.name, enabled=True)
    rule.metric = client.enum_value("earshot.v1.SpikeMetric", "SPIKE_METRIC_VOLUME")
    rule = client.call("earshot.v1.InsightsService.PutAlertRule", rule)
    log(f"PutAlertRule: {rule.id} on topic {topic.name!r}; watching alerts")
    seen["rule_id"] = rule.id
    spike = [(f"{spiky}-base-{d}-{k}", f"{spiky} app works fine {d} {k}", hour - d * day + k) for d in range(1, 8) for k in range(2)]
    spike += [(f"{spiky}-{k}", f"{spiky} outage again, login dead {k}", hour) for k in range(30)]
    seen["spike_accepted"] = ingest(client, spike).accepted

    timer = threading.Timer(alert_timeout, watch.cancel)
    timer.start()
    alert = None
    try:
        alert = next(iter(watch))
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.CANCELLED:
            raise
    finally:
        timer.cancel()
        watch.cancel()
    if alert is None:
        log(f"WatchAlerts: nothing within {alert_timeout:.0f} s")
    else:
        log(f"WatchAlerts: {alert.id} on {alert.topic!r}, peak {alert.spike.peak_count}, z {alert.spike.z_score:.1f}")
    seen["alert"] = alert
    return seen


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default=os.environ.get("EARSHOT_TARGET", "127.0.0.1:50051"))
    parser.add_argument("--tenant", default="default", help="tenant (x-earshot-tenant) with --auth off")
    parser.add_argument("--api-key", default=os.environ.get("EARSHOT_API_KEY"), help="API key with --auth keys")
    parser.add_argument("--list-only", action="store_true", help="only list the services")
    parser.add_argument("--alert-timeout", type=float, default=60.0, help="seconds to wait for the alert")
    args = parser.parse_args(list(argv) if argv is not None else None)
    with ReflectionClient(args.target, args.tenant, args.api_key) as client:
        grpc.channel_ready_future(client.channel).result(timeout=30)
        describe(client)
        if args.list_only:
            return 0
        seen = run_demo(client, alert_timeout=args.alert_timeout)
    return 0 if seen["alert"] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
