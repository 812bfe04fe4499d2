//! What replicas share through Redis (`--redis-url`): the ingest queue between stateless gateways,
//! classifier workers and the one index owner, plus the connection handling and health that go with it.
//!
//! # Layout
//! - [`gateway`]: [`RedisQueue`], the [`crate::ingest::IngestQueue`] on a Redis Stream (dedupe + append in
//!   one atomic script, acknowledged once Redis has it).
//! - [`worker`]: the classifier worker thread (consumer group on the ingest stream, reclaim of entries a
//!   dead worker left pending, exactly-once hand-off to the labelled stream).
//! - [`index_feed`]: the index owner's thread (consumer group on the labelled stream, acknowledged only
//!   after the index commit that covers it).
//! - [`pubsub`]: fan-out of bytes to every replica (alerts), with automatic re-subscription.
//! - [`shared`]: the insights' alert bus over pub/sub, and erasures reaching the shared dedupe set.
//! - [`cache`]: the insights' results cache in Redis.
//! - [`source_lease`]: the lease that lets exactly one replica run a given live source.
//!
//! Each part implements a domain's trait ([`crate::ingest::IngestQueue`], `AlertBus`, `ResultCache`,
//! `DeletionHook`, `SourceLease`), so the domains never name Redis.
//!
//! Why a stream per stage and what Redis must be configured with: `docs/adr/0004-redis-queue.md`.

pub mod cache;
pub mod gateway;
pub mod index_feed;
pub mod pubsub;
#[cfg(test)]
mod redis_tests;
pub mod shared;
pub mod source_lease;
pub mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tracing::{info, warn};

pub use gateway::RedisQueue;

/// How long connecting to Redis may take before the attempt counts as failed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one Redis command may take (appends are fsynced by Redis before it answers).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which parts of the pipeline a replica runs when it shares a Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// Accepts `Ingest` calls and appends them to the shared stream.
    pub gateway: bool,
    /// Classifies entries of the ingest stream (the work that scales out).
    pub worker: bool,
    /// Owns the index: consumes labelled mentions, serves search. Exactly one replica should.
    pub indexer: bool,
}

impl Roles {
    /// Every role: one process does everything (the default).
    pub const ALL: Roles = Roles { gateway: true, worker: true, indexer: true };

    /// Parses `all` or a comma-separated list of `gateway`, `worker`, `indexer`.
    pub fn parse(text: &str) -> Result<Roles, String> {
        let mut roles = Roles { gateway: false, worker: false, indexer: false };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "all" => roles = Roles::ALL,
                "gateway" => roles.gateway = true,
                "worker" => roles.worker = true,
                "indexer" => roles.indexer = true,
                other => return Err(format!("unknown role {other:?} (expected all, gateway, worker, indexer)")),
            }
        }
        if roles == (Roles { gateway: false, worker: false, indexer: false }) {
            return Err("no role given (expected all, gateway, worker, indexer)".into());
        }
        Ok(roles)
    }
}

/// Settings of the Redis-backed mode.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://host:port/db`.
    pub url: String,
    /// What this replica does.
    pub roles: Roles,
    /// This replica's consumer name in the consumer groups; stable across restarts of the same replica
    /// (e.g. the pod name) so a restarted worker finishes its own pending entries first.
    pub consumer: String,
    /// Entries a worker has held this long without acknowledging are reclaimed by other workers.
    pub claim_idle: Duration,
    /// Most entries waiting in each stream before gateways answer `RESOURCE_EXHAUSTED`.
    pub max_backlog: usize,
    /// Prefix of every key (several deployments can share one Redis).
    pub prefix: String,
}

impl RedisConfig {
    /// Settings for `url` with every role and the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            roles: Roles::ALL,
            consumer: default_consumer_name(),
            claim_idle: Duration::from_secs(30),
            max_backlog: 10_000,
            prefix: "earshot".into(),
        }
    }

    /// The key names.
    pub fn keys(&self) -> Keys {
        Keys { prefix: self.prefix.clone() }
    }
}

/// `HOSTNAME` (a pod's name) or `host`, plus the process id so two processes on one host differ.
pub fn default_consumer_name() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "host".into());
    format!("{host}-{}", std::process::id())
}

/// Names of the shared keys.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Stream of accepted batches waiting for a worker.
    pub fn ingest(&self) -> String {
        format!("{}:ingest", self.prefix)
    }
    /// Stream of labelled batches waiting for the index owner.
    pub fn labelled(&self) -> String {
        format!("{}:labelled", self.prefix)
    }
    /// Set of 16-byte key hashes of every mention ever accepted (dedupe across gateways).
    pub fn seen(&self) -> String {
        format!("{}:seen", self.prefix)
    }
    /// Hash: worker consumer name → mentions it handed on (how the work was split).
    pub fn worked(&self) -> String {
        format!("{}:stats:worked", self.prefix)
    }
    /// Marker set once the batch of ingest entry `entry` is committed in the index.
    pub fn indexed(&self, entry: &str) -> String {
        format!("{}:indexed:{entry}", self.prefix)
    }
    /// Lease naming the replica that owns the index.
    pub fn index_owner(&self) -> String {
        format!("{}:index-owner", self.prefix)
    }
    /// The lease of one live source, named by tenant and source name (ids are per replica).
    pub fn source_lease(&self, source: &str) -> String {
        format!("{}:source-lease:{source}", self.prefix)
    }
    /// Per-tenant generation of cached results, bumped on every index commit for the tenant.
    pub fn generation(&self, tenant: &str) -> String {
        format!("{}:gen:{tenant}", self.prefix)
    }
    /// A cached result.
    pub fn cached(&self, tenant: &str, generation: u64, request: &str) -> String {
        format!("{}:cache:{tenant}:{generation}:{request}", self.prefix)
    }
    /// A rate-limit bucket.
    pub fn rate(&self, identity: &str) -> String {
        format!("{}:rate:{identity}", self.prefix)
    }
    /// A pub/sub channel.
    pub fn channel(&self, name: &str) -> String {
        format!("{}:channel:{name}", self.prefix)
    }
}

/// Name of the workers' consumer group on the ingest stream.
pub const WORKER_GROUP: &str = "workers";
/// Name of the index owner's consumer group on the labelled stream.
pub const INDEXER_GROUP: &str = "indexer";
/// Consumer name of the index owner (one owner; a restart continues its pending entries).
pub const INDEXER_CONSUMER: &str = "index-owner";

/// An async Redis connection that (re)connects by itself: the first use connects, and the manager
/// reconnects after failures. Commands fail fast while Redis is unreachable.
pub struct RedisHandle {
    client: redis::Client,
    manager: tokio::sync::Mutex<Option<ConnectionManager>>,
}

impl RedisHandle {
    /// A handle for `url`; does not connect yet.
    pub fn open(url: &str) -> Result<RedisHandle, redis::RedisError> {
        Ok(RedisHandle { client: redis::Client::open(url)?, manager: tokio::sync::Mutex::new(None) })
    }

    /// The client (for blocking connections of worker threads and pub/sub).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// A connection; connects on first use.
    pub async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let mut slot = self.manager.lock().await;
        if let Some(manager) = slot.as_ref() {
            return Ok(manager.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(1)
            .set_max_delay(500);
        let manager = ConnectionManager::new_with_config(self.client.clone(), config).await?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    /// Whether Redis answers a PING within `limit`.
    pub async fn ping(&self, limit: Duration) -> bool {
        let ping = async {
            let mut conn = self.connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        matches!(tokio::time::timeout(limit, ping).await, Ok(Ok(_)))
    }
}

/// A blocking connection for a worker thread, with timeouts so a vanished Redis cannot hang it.
/// `name` shows in Redis's `CLIENT LIST` (operators see which replica holds which connection).
pub fn connect_blocking(
    client: &redis::Client,
    read_timeout: Duration,
    name: &str,
) -> redis::RedisResult<redis::Connection> {
    let mut conn = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
    conn.set_read_timeout(Some(read_timeout))?;
    conn.set_write_timeout(Some(RESPONSE_TIMEOUT))?;
    // Client names may not contain spaces.
    let name: String = name.chars().map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect();
    redis::cmd("CLIENT").arg("SETNAME").arg(name).exec(&mut conn)?;
    Ok(conn)
}

/// Creates a consumer group reading a stream from its start (so entries appended before the first
/// consumer existed are not skipped); an existing group is fine.
pub fn ensure_group(conn: &mut redis::Connection, stream: &str, group: &str) -> redis::RedisResult<()> {
    let created: redis::RedisResult<()> =
        redis::cmd("XGROUP").arg("CREATE").arg(stream).arg(group).arg("0").arg("MKSTREAM").query(conn);
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// A stop flag shared with the background threads.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Asks the threads to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether a stop was asked for.
    pub fn stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    /// Sleeps `pause` in short steps; returns early (true) when stopped.
    pub fn sleep(&self, pause: Duration) -> bool {
        let step = Duration::from_millis(50);
        let mut left = pause;
        while !left.is_zero() {
            if self.stopped() {
                return true;
            }
            let now = left.min(step);
            std::thread::sleep(now);
            left -= now;
        }
        self.stopped()
    }
}

/// Logs a Redis failure once per outage instead of once per retry.
#[derive(Default)]
pub struct OutageLog {
    down: bool,
}

impl OutageLog {
    /// Records a failure; logs it when it starts an outage.
    pub fn failed(&mut self, what: &str, error: &dyn std::fmt::Display) {
        if !self.down {
            warn!(what, error = %error, "Redis unreachable; retrying until it is back");
            self.down = true;
        }
    }
    /// Records a success; logs the end of an outage.
    pub fn ok(&mut self, what: &str) {
        if self.down {
            info!(what, "Redis reachable again");
            self.down = false;
        }
    }
}

/// Keeps the health of `set` in step with Redis: SERVING while PING answers, NOT_SERVING while not.
/// `set` is called only on changes. Runs until the returned task is aborted.
pub fn watch_health<F, Fut>(redis: Arc<RedisHandle>, mut set: F) -> tokio::task::JoinHandle<()>
where
    F: FnMut(bool) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut serving: Option<bool> = None;
        loop {
            let up = redis.ping(Duration::from_secs(1)).await;
            if serving != Some(up) {
                if up {
                    info!("Redis reachable: ingest SERVING");
                } else {
                    warn!("Redis unreachable: ingest NOT_SERVING until it returns");
                }
                set(up).await;
                serving = Some(up);
            }
            tokio::time::sleep(if up { Duration::from_millis(500) } else { Duration::from_millis(200) }).await;
        }
    })
}

/// The Redis side of a running replica: its connection, the ingest queue (gateway) and the worker and
/// index-feed threads its roles call for.
pub struct Cluster {
    /// The shared connection.
    pub redis: Arc<RedisHandle>,
    /// This replica's settings.
    pub config: RedisConfig,
    stop: StopFlag,
    threads: Vec<std::thread::JoinHandle<()>>,
    owner: Option<tokio::sync::watch::Receiver<bool>>,
}

/// What the index owner's feed needs from the local storage.
pub struct IndexSide {
    /// The indexing thread's input.
    pub indexer: crossbeam_channel::Sender<earshot_indexer::IndexCommand>,
    /// Keys of everything indexed.
    pub seen: Arc<crate::ingest::SeenKeys>,
    /// Last position the index committed.
    pub committed: tokio::sync::watch::Receiver<Option<u64>>,
    /// Position of the local log's replay, to be committed before the feed starts.
    pub replayed_upto: Option<u64>,
}

impl Cluster {
    /// Connects lazily (Redis may be down at start) and starts the threads of this replica's roles.
    pub fn start(
        config: &RedisConfig,
        index: Option<IndexSide>,
        classifier: Option<earshot_models::batcher::ClassifierHandle>,
    ) -> Result<Cluster, String> {
        let redis = Arc::new(RedisHandle::open(&config.url).map_err(|e| format!("--redis-url: {e}"))?);
        let stop = StopFlag::default();
        let mut threads = Vec::new();
        let mut owner = None;
        let spawn_failed = |e: std::io::Error| format!("could not start a thread: {e}");
        if config.roles.worker {
            let options = worker::WorkerOptions {
                keys: config.keys(),
                consumer: config.consumer.clone(),
                claim_idle: config.claim_idle,
                max_backlog: config.max_backlog,
                read_count: 4,
            };
            threads.push(
                worker::spawn_worker(redis.client().clone(), options, classifier, stop.clone())
                    .map_err(spawn_failed)?,
            );
        }
        if let Some(side) = index.filter(|_| config.roles.indexer) {
            let (owner_tx, owner_rx) = tokio::sync::watch::channel(false);
            owner = Some(owner_rx);
            let options = index_feed::FeedOptions {
                keys: config.keys(),
                read_count: 64,
                owner: config.consumer.clone(),
                after_position: side.replayed_upto,
            };
            let feed = index_feed::spawn_index_feed(
                redis.client().clone(),
                options,
                side.indexer,
                side.seen,
                side.committed,
                stop.clone(),
                owner_tx,
            )
            .map_err(spawn_failed)?;
            threads.push(feed);
        }
        info!(roles = ?config.roles, consumer = %config.consumer, "sharing work through Redis");
        Ok(Cluster { redis, config: config.clone(), stop, threads, owner })
    }

    /// The gateway's ingest queue.
    pub fn queue(&self, busy_wait: Duration) -> RedisQueue {
        RedisQueue::new(self.redis.clone(), self.config.keys(), self.config.max_backlog, busy_wait)
    }

    /// Whether this replica holds the index owner lease (`None` without the indexer role). A replica that
    /// does not hold it has an index nobody feeds, so its search must not be SERVING.
    pub fn index_owner(&self) -> Option<tokio::sync::watch::Receiver<bool>> {
        self.owner.clone()
    }

    /// Stops the threads and waits for them (a worker finishes its current batch). Blocking.
    pub fn stop(self) {
        self.stop.stop();
        for t in self.threads {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse() {
        assert_eq!(Roles::parse("all"), Ok(Roles::ALL));
        assert_eq!(Roles::parse("gateway,worker"), Ok(Roles { gateway: true, worker: true, indexer: false }));
        assert_eq!(Roles::parse(" indexer "), Ok(Roles { gateway: false, worker: false, indexer: true }));
        assert!(Roles::parse("").is_err());
        assert!(Roles::parse("gateway,cook").is_err_and(|e| e.contains("cook")));
    }
}
