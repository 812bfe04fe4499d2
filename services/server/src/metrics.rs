//! Prometheus metrics (`earshot_<what>_<unit>`) and the HTTP listener that serves them on `/metrics`.
//!
//! One process-wide set ([`global`]), so any module can count without plumbing: the gate layer counts
//! RPCs by method and code and times them; ingest counts mentions by outcome and batch sizes; the
//! labelling stage times inference; the Redis code (when present) counts its errors with
//! [`Metrics::redis_error`]. Values other parts already keep (the index's commit counters, queue
//! depths) are read at scrape time through [`Metrics::add_source`]: their owners register a [`Source`],
//! so this module knows no other part of the server.

use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
pub use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// Labels of an RPC count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    /// Full gRPC path, e.g. `/earshot.v1.SearchService/Search`.
    pub method: String,
    /// gRPC status code name, e.g. `Ok`, `Unauthenticated`.
    pub code: String,
}

/// Labels of a per-method histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    /// Full gRPC path.
    pub method: String,
}

/// A single `kind` label (ingest outcome, Redis operation, deletion reason).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The kind.
    pub kind: String,
}

/// Labels of a live source's series: `source` is `<tenant>/<source id>` (as many as configured
/// sources), `outcome` of a poll `ok`, `error` or `rate_limited` (empty for the per-source gauges).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// `<tenant>/<source id>`.
    pub source: String,
    /// Poll outcome.
    pub outcome: String,
}

/// A value read at scrape time: `(name, help, type, read)`.
pub struct Source {
    /// Metric name without `_total`.
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: MetricType,
    /// Reads the current value.
    pub read: Box<dyn Fn() -> f64 + Send + Sync>,
}

#[derive(Default, Clone)]
struct Sources(Arc<Mutex<Vec<Source>>>);

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sources")
    }
}

impl Collector for Sources {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for s in self.0.lock().iter() {
            let value = (s.read)();
            let metric = encoder.encode_descriptor(s.name, s.help, None, s.kind)?;
            match s.kind {
                MetricType::Counter => ConstCounter::new(value).encode(metric)?,
                _ => ConstGauge::new(value).encode(metric)?,
            }
        }
        Ok(())
    }
}

/// Every metric earshot exports.
pub struct Metrics {
    registry: Registry,
    /// RPCs by method and status code.
    pub rpc_requests: Family<RpcLabels, Counter>,
    /// RPC handling time until the response headers, by method (search latency is the Search row).
    pub rpc_seconds: Family<MethodLabels, Histogram>,
    /// Ingested mentions by outcome (`accepted`, `duplicate`, `rejected`).
    pub ingest_mentions: Family<KindLabels, Counter>,
    /// Mentions per ingest request.
    pub ingest_batch_size: Histogram,
    /// Time of one classifier call of the labelling stage.
    pub inference_seconds: Histogram,
    /// Texts per classifier call of the labelling stage.
    pub inference_batch_size: Histogram,
    /// Time of one language identification pass of the labelling stage (mentions without a language).
    pub language_seconds: Histogram,
    /// Redis failures by operation (degraded, not lost).
    pub redis_errors: Family<KindLabels, Counter>,
    /// Insight results served from the cache (`hit`) or computed (`miss`).
    pub insight_cache: Family<KindLabels, Counter>,
    /// Mentions deleted by governance, by reason (`erase_author`, `retention`).
    pub deleted_mentions: Family<KindLabels, Counter>,
    /// Audit lines that could not be written.
    pub audit_errors: Counter,
    /// Polls of live sources by source and outcome.
    pub source_polls: Family<SourceLabels, Counter>,
    /// Mentions live sources stored (accepted, not duplicates), by source.
    pub source_mentions: Family<SourceLabels, Counter>,
    /// Seconds between the newest item a source stored and its last poll, by source.
    pub source_lag_seconds: Family<SourceLabels, Gauge<f64, AtomicU64>>,
    /// Failed polls in a row, by source.
    pub source_consecutive_errors: Family<SourceLabels, Gauge>,
    sources: Sources,
}

fn latency_histogram() -> Histogram {
    // 100 µs … ~52 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 20))
}

fn size_histogram() -> Histogram {
    // 1 … 16384.
    Histogram::new(exponential_buckets(1.0, 2.0, 15))
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let rpc_requests = Family::<RpcLabels, Counter>::default();
        registry.register("earshot_rpc_requests", "gRPC calls by method and status code", rpc_requests.clone());
        let rpc_seconds =
            Family::<MethodLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register("earshot_rpc_duration_seconds", "gRPC handling time by method", rpc_seconds.clone());
        let ingest_mentions = Family::<KindLabels, Counter>::default();
        registry.register("earshot_ingest_mentions", "Ingested mentions by outcome", ingest_mentions.clone());
        let ingest_batch_size = size_histogram();
        registry.register("earshot_ingest_batch_size", "Mentions per ingest request", ingest_batch_size.clone());
        let inference_seconds = latency_histogram();
        registry.register(
            "earshot_inference_duration_seconds",
            "Time of one classifier batch",
            inference_seconds.clone(),
        );
        let language_seconds = latency_histogram();
        registry.register(
            "earshot_language_id_duration_seconds",
            "Time of one language identification pass over a batch",
            language_seconds.clone(),
        );
        let inference_batch_size = size_histogram();
        registry.register("earshot_inference_batch_size", "Texts per classifier batch", inference_batch_size.clone());
        let redis_errors = Family::<KindLabels, Counter>::default();
        registry.register("earshot_redis_errors", "Redis failures by operation", redis_errors.clone());
        let insight_cache = Family::<KindLabels, Counter>::default();
        registry.register(
            "earshot_insight_cache",
            "Insight results by cache outcome (hit, miss)",
            insight_cache.clone(),
        );
        let deleted_mentions = Family::<KindLabels, Counter>::default();
        registry.register(
            "earshot_deleted_mentions",
            "Mentions deleted by governance, by reason",
            deleted_mentions.clone(),
        );
        let audit_errors = Counter::default();
        registry.register("earshot_audit_write_errors", "Audit lines that could not be written", audit_errors.clone());
        let source_polls = Family::<SourceLabels, Counter>::default();
        registry.register("earshot_source_polls", "Polls of live sources by outcome", source_polls.clone());
        let source_mentions = Family::<SourceLabels, Counter>::default();
        registry.register("earshot_source_mentions", "Mentions stored by live sources", source_mentions.clone());
        let source_lag_seconds = Family::<SourceLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "earshot_source_lag_seconds",
            "Age of a live source's newest stored item at its last poll",
            source_lag_seconds.clone(),
        );
        let source_consecutive_errors = Family::<SourceLabels, Gauge>::default();
        registry.register(
            "earshot_source_consecutive_errors",
            "Failed polls in a row of a live source",
            source_consecutive_errors.clone(),
        );
        let sources = Sources::default();
        registry.register_collector(Box::new(sources.clone()));
        Metrics {
            registry,
            rpc_requests,
            rpc_seconds,
            ingest_mentions,
            ingest_batch_size,
            inference_seconds,
            inference_batch_size,
            language_seconds,
            redis_errors,
            insight_cache,
            deleted_mentions,
            audit_errors,
            source_polls,
            source_mentions,
            source_lag_seconds,
            source_consecutive_errors,
            sources,
        }
    }

    /// Counts one Redis failure of `operation` (e.g. `xadd`, `rate_limit`).
    pub fn redis_error(&self, operation: &str) {
        self.redis_errors.get_or_create(&KindLabels { kind: operation.to_owned() }).inc();
    }

    /// Counts one insight answered from the cache (`hit`) or computed (`miss`).
    pub fn cache(&self, outcome: &str) {
        self.insight_cache.get_or_create(&KindLabels { kind: outcome.to_owned() }).inc();
    }

    /// Counts ingest outcomes of one request.
    pub fn ingested(&self, accepted: u64, duplicates: u64, rejected: u64) {
        for (kind, n) in [("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)] {
            self.ingest_mentions.get_or_create(&KindLabels { kind: kind.to_owned() }).inc_by(n);
        }
        self.ingest_batch_size.observe((accepted + duplicates + rejected) as f64);
    }

    /// Counts one poll of a live source and the mentions it stored.
    pub fn source_poll(&self, source: &str, outcome: &str, accepted: u64) {
        let labels = SourceLabels { source: source.to_owned(), outcome: outcome.to_owned() };
        self.source_polls.get_or_create(&labels).inc();
        let labels = SourceLabels { source: source.to_owned(), outcome: String::new() };
        self.source_mentions.get_or_create(&labels).inc_by(accepted);
    }

    /// Sets a live source's lag and failures in a row.
    pub fn source_state(&self, source: &str, lag_seconds: f64, consecutive_errors: u32) {
        let labels = SourceLabels { source: source.to_owned(), outcome: String::new() };
        self.source_lag_seconds.get_or_create(&labels).set(lag_seconds);
        self.source_consecutive_errors.get_or_create(&labels).set(i64::from(consecutive_errors));
    }

    /// Counts deleted mentions.
    pub fn deleted(&self, reason: &str, n: u64) {
        self.deleted_mentions.get_or_create(&KindLabels { kind: reason.to_owned() }).inc_by(n);
    }

    /// Registers a value read at every scrape. A name registered twice (a second server in one
    /// process, as in tests) replaces the first.
    pub fn add_source(&self, source: Source) {
        let mut sources = self.sources.0.lock();
        sources.retain(|s| s.name != source.name);
        sources.push(source);
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// The `method` label of a call to `path`: the path itself when it names an RPC this server's contract
/// declares (earshot's services, health, reflection), `unknown` otherwise. Label values must come from
/// a closed set: a label per made-up path would let anyone grow the scrape (and the process) without
/// bound.
pub fn method_label(path: &str) -> &str {
    static KNOWN: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        let mut known = std::collections::HashSet::new();
        for set in [earshot_proto::FILE_DESCRIPTOR_SET, tonic_health::pb::FILE_DESCRIPTOR_SET] {
            let Ok(set) = <prost_types::FileDescriptorSet as prost::Message>::decode(set) else { continue };
            for file in set.file {
                let package = file.package.unwrap_or_default();
                for service in file.service {
                    let service_name = service.name.unwrap_or_default();
                    for method in service.method {
                        known.insert(format!("/{package}.{service_name}/{}", method.name.unwrap_or_default()));
                    }
                }
            }
        }
        known
    });
    if known.contains(path) {
        path
    } else {
        "unknown"
    }
}

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                global().encode(),
            )
        }),
    );
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_sources_are_encoded() {
        let m = Metrics::new();
        m.ingested(3, 1, 0);
        m.redis_error("xadd");
        m.add_source(Source { name: "earshot_test_depth", help: "x", kind: MetricType::Gauge, read: Box::new(|| 7.0) });
        let text = m.encode();
        assert!(text.contains("earshot_ingest_mentions_total{kind=\"accepted\"} 3"), "{text}");
        assert!(text.contains("earshot_redis_errors_total{kind=\"xadd\"} 1"), "{text}");
        assert!(text.contains("earshot_test_depth 7"), "{text}");
        assert!(text.contains("earshot_ingest_batch_size_count 1"), "{text}");
    }

    #[test]
    fn method_labels_come_from_the_contract() {
        assert_eq!(method_label("/earshot.v1.SearchService/Search"), "/earshot.v1.SearchService/Search");
        assert_eq!(method_label("/grpc.health.v1.Health/Check"), "/grpc.health.v1.Health/Check");
        assert_eq!(method_label("/earshot.v1.SearchService/Nope"), "unknown");
        assert_eq!(method_label("/x/y"), "unknown");
    }
}
