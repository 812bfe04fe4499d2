//! `earshot-server`: the gRPC services and the `run` that wires log, index and server together.
//!
//! # Layout
//! The folders are the architecture; each imports only from the ones listed before it.
//! - [`files`], [`metrics`]: shared leaves (private state files written atomically; Prometheus
//!   metrics, to which the owners of values register [`metrics::Source`]s). They import no domain.
//! - [`ingest`]: validation, PII redaction, dedupe keys, the durable queue (local log or Redis) with its
//!   backlog bound, the log's record kinds, the pipeline (log → labelling stage → indexing thread →
//!   commit → log truncation), and the [`ingest::Ingestor`] domain service.
//! - [`classify`]: the classify domain (labels for texts that are not stored).
//! - [`storage`]: the data folder's lock, and the index, log and dedupe keys opened and replayed.
//! - [`governance`]: erase-by-author, retention, deletion hooks.
//! - [`search`]: the search domain (queries, counts, validation) and saved topics.
//! - [`insights`]: aggregations, spikes, KPIs, correlation, alert rules, webhooks, the results cache.
//! - [`sources`]: live sources (RSS/Atom, Mastodon, Bluesky, Reddit) polled per tenant into the ingest
//!   path, with durable checkpoints, backoff and rate-limit waits.
//! - [`cluster`]: everything Redis: implementations of the domains' traits (queue, alert bus, cache,
//!   deletion hook) and the worker and index-feed threads replicas share work through.
//! - [`auth`]: API keys, roles, identities, the audit trail, rate limits.
//! - [`api`]: the gRPC face: tonic adapters, the gate, rate-limit and ready layers, and the one
//!   mapping of domain errors onto status codes.
//! - [`config`]: the server's settings.
//! - [`server`]: [`run`]: start-up, health, serving, shutdown.
//!
//! Data flow: `Ingest` → validate → log append (group commit, fsync) → ack; the log thread hands
//! durable records to the labelling stage and the indexing thread, whose commits (≤ `commit_interval`)
//! make them searchable and let the log drop them. On start, what the log still holds is replayed,
//! skipping what the index has.

pub mod api;
pub mod auth;
pub mod classify;
pub mod cluster;
pub mod config;
pub mod files;
pub mod governance;
pub mod ingest;
pub mod insights;
pub mod metrics;
pub mod search;
pub mod server;
pub mod sources;
pub mod storage;

pub use config::{ClassifierConfig, Config, GuardConfig, TlsFiles};
pub use server::{run, serve, Listeners, ServerError};
pub use storage::{lock_data_dir, Storage, StorageError};
