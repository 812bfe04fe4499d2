//! The index owner's feed: reads labelled batches from the shared stream into the indexing thread and
//! acknowledges them only after the index commit that covers them.
//!
//! Each batch gets a local sequence number passed to the indexer as its "log position"; the indexer's
//! commit callback reports the last position a commit covers, and everything at or below it is then
//! acknowledged and deleted from the stream. A crash before that leaves the entries pending for the
//! owner, which reads them again on start; mentions the index already has are skipped by key, so
//! at-least-once delivery indexes each mention exactly once.
//!
//! After acknowledging, the feed marks each batch's ingest entry as indexed (for `wait_searchable` on
//! any gateway) and bumps the cache generation of every tenant the commit touched.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;
use earshot_indexer::doc::{key_hash, mention_key};
use earshot_indexer::IndexCommand;
use earshot_proto::v1::IngestRequest;
use prost::Message;
use redis::streams::{StreamId, StreamReadReply};
use tokio::sync::watch;
use tracing::{error, info};

use super::{connect_blocking, ensure_group, Keys, OutageLog, StopFlag, INDEXER_CONSUMER, INDEXER_GROUP};
use crate::ingest::SeenKeys;

/// How long the "indexed" marker of an ingest entry lives (gateways wait at most 30 s).
const INDEXED_MARKER_SECS: u64 = 120;
/// Longest block on an empty stream, so acknowledgements of fresh commits are not held back.
const READ_BLOCK_MS: u64 = 100;
/// The index owner's lease: a second owner would silently split the labelled stream between two
/// indexes, so only the replica holding the lease reads. Renewed well before it runs out.
const LEASE: Duration = Duration::from_secs(15);
const LEASE_RENEW: Duration = Duration::from_secs(3);
/// KEYS: the lease. ARGV: owner. Deletes the lease if we hold it.
pub(crate) const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// KEYS: the lease. ARGV: owner, lease ms. Takes the lease if free or ours; 1 if held by us now.
pub(crate) const LEASE_SCRIPT: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Settings of the feed.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// Key names.
    pub keys: Keys,
    /// Entries per read.
    pub read_count: usize,
    /// This replica's name, held in the owner lease.
    pub owner: String,
    /// The log position the index must have committed before the feed starts (the local log's replay),
    /// so that positions of the two sources never mix in one commit report.
    pub after_position: Option<u64>,
}

struct Inflight {
    seq: u64,
    entry: String,
    origin: Option<String>,
    tenants: BTreeSet<String>,
}

/// Starts the feed thread; it runs until `stop`.
pub fn spawn_index_feed(
    client: redis::Client,
    options: FeedOptions,
    indexer: Sender<IndexCommand>,
    seen: Arc<SeenKeys>,
    committed: watch::Receiver<Option<u64>>,
    stop: StopFlag,
    owner: watch::Sender<bool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("earshot-index-feed".into()).spawn(move || {
        if let Some(after) = options.after_position {
            while !committed.borrow().is_some_and(|c| c >= after) {
                if stop.sleep(Duration::from_millis(20)) {
                    return;
                }
            }
        }
        let mut feed = Feed {
            next_seq: options.after_position.map_or(1, |p| p + 1),
            options,
            indexer,
            seen,
            committed,
            inflight: VecDeque::new(),
            to_ack: Vec::new(),
            own_pending: true,
            lease: redis::Script::new(LEASE_SCRIPT),
            lease_until: None,
            lease_refused_logged: false,
            owner,
        };
        let mut outage = OutageLog::default();
        let mut conn: Option<redis::Connection> = None;
        while !stop.stopped() {
            let c = match conn.as_mut() {
                Some(c) => c,
                None => {
                    let connected =
                        connect_blocking(&client, Duration::from_secs(5), "earshot-index-feed").and_then(|mut c| {
                            ensure_group(&mut c, &feed.options.keys.labelled(), INDEXER_GROUP)?;
                            Ok(c)
                        });
                    match connected {
                        Ok(c) => conn.insert(c),
                        Err(e) => {
                            outage.failed("index feed", &e);
                            stop.sleep(Duration::from_millis(200));
                            continue;
                        }
                    }
                }
            };
            match feed.step(c) {
                Ok(true) => outage.ok("index feed"),
                Ok(false) => {
                    info!("indexing thread stopped; index feed ends");
                    return;
                }
                Err(e) => {
                    outage.failed("index feed", &e);
                    conn = None;
                    // A read whose reply was lost left entries pending for the owner: read them again
                    // (those already sent are skipped by key and acknowledged with their commit).
                    feed.own_pending = true;
                    stop.sleep(Duration::from_millis(200));
                }
            }
        }
        // A clean stop hands the lease back, so a replacement owner need not wait for it to lapse.
        if let Some(c) = conn.as_mut() {
            let released: redis::RedisResult<i64> = redis::Script::new(RELEASE_SCRIPT)
                .key(feed.options.keys.index_owner())
                .arg(&feed.options.owner)
                .invoke(c);
            if let Err(e) = released {
                tracing::warn!(error = %e, "could not release the index owner lease; it lapses by itself");
            }
        }
    })
}

struct Feed {
    options: FeedOptions,
    indexer: Sender<IndexCommand>,
    seen: Arc<SeenKeys>,
    committed: watch::Receiver<Option<u64>>,
    next_seq: u64,
    /// Sent to the index, not yet committed, in sequence order.
    inflight: VecDeque<Inflight>,
    /// Committed, not yet acknowledged in Redis (kept across Redis outages).
    to_ack: Vec<Inflight>,
    /// Read the owner's own pending entries next (at start and after a reconnect).
    own_pending: bool,
    lease: redis::Script,
    /// When the lease was last renewed (plus `LEASE_RENEW`): renew after this.
    lease_until: Option<std::time::Instant>,
    lease_refused_logged: bool,
    /// Whether this replica holds the lease (search health follows it).
    owner: watch::Sender<bool>,
}

impl Feed {
    /// One round: acknowledge what was committed, read and send more. `Ok(false)` when the index is gone.
    fn step(&mut self, conn: &mut redis::Connection) -> redis::RedisResult<bool> {
        if !self.hold_lease(conn)? {
            std::thread::sleep(Duration::from_millis(500));
            return Ok(true);
        }
        let committed = *self.committed.borrow();
        while self.inflight.front().is_some_and(|f| committed.is_some_and(|c| f.seq <= c)) {
            if let Some(f) = self.inflight.pop_front() {
                self.to_ack.push(f);
            }
        }
        if !self.to_ack.is_empty() {
            self.acknowledge(conn)?;
        }
        let entries = if self.own_pending {
            let entries = self.read(conn, "0", None)?;
            self.own_pending = !entries.is_empty();
            entries
        } else {
            self.read(conn, ">", Some(READ_BLOCK_MS))?
        };
        for entry in entries {
            if !self.send(entry) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Takes or renews the owner lease; false while another replica holds it.
    fn hold_lease(&mut self, conn: &mut redis::Connection) -> redis::RedisResult<bool> {
        let now = std::time::Instant::now();
        if self.lease_until.is_some_and(|t| now < t) {
            return Ok(true);
        }
        let held: i64 = self
            .lease
            .key(self.options.keys.index_owner())
            .arg(&self.options.owner)
            .arg(LEASE.as_millis() as u64)
            .invoke(conn)?;
        if held == 1 {
            self.lease_until = Some(now + LEASE_RENEW);
            self.owner.send_if_modified(|held| !std::mem::replace(held, true));
            if self.lease_refused_logged {
                info!(owner = %self.options.owner, "index owner lease taken");
                self.lease_refused_logged = false;
            }
            return Ok(true);
        }
        self.lease_until = None;
        self.owner.send_if_modified(|held| std::mem::replace(held, false));
        if !self.lease_refused_logged {
            error!(
                owner = %self.options.owner,
                "another replica owns the index (run exactly one --role indexer); waiting for its lease to lapse"
            );
            self.lease_refused_logged = true;
        }
        Ok(false)
    }

    fn acknowledge(&mut self, conn: &mut redis::Connection) -> redis::RedisResult<()> {
        let keys = &self.options.keys;
        let ids: Vec<&str> = self.to_ack.iter().map(|f| f.entry.as_str()).collect();
        let tenants: BTreeSet<&str> = self.to_ack.iter().flat_map(|f| f.tenants.iter().map(String::as_str)).collect();
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("XACK").arg(keys.labelled()).arg(INDEXER_GROUP).arg(&ids).ignore();
        pipe.cmd("XDEL").arg(keys.labelled()).arg(&ids).ignore();
        for origin in self.to_ack.iter().filter_map(|f| f.origin.as_deref()) {
            pipe.cmd("SET").arg(keys.indexed(origin)).arg(1).arg("EX").arg(INDEXED_MARKER_SECS).ignore();
        }
        for tenant in tenants {
            pipe.cmd("INCR").arg(keys.generation(tenant)).ignore();
        }
        pipe.exec(conn)?;
        self.to_ack.clear();
        Ok(())
    }

    fn read(
        &self,
        conn: &mut redis::Connection,
        from: &str,
        block_ms: Option<u64>,
    ) -> redis::RedisResult<Vec<StreamId>> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(INDEXER_GROUP).arg(INDEXER_CONSUMER).arg("COUNT").arg(self.options.read_count);
        if let Some(ms) = block_ms {
            cmd.arg("BLOCK").arg(ms);
        }
        cmd.arg("STREAMS").arg(self.options.keys.labelled()).arg(from);
        let reply: Option<StreamReadReply> = cmd.query(conn)?;
        Ok(reply.map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect()).unwrap_or_default())
    }

    /// Sends one labelled batch to the indexing thread (waiting while it is full); false when it is gone.
    fn send(&mut self, entry: StreamId) -> bool {
        let bytes: Vec<u8> = entry.get("b").unwrap_or_default();
        let version: String = entry.get("v").unwrap_or_default();
        let origin: Option<String> = entry.get("o");
        let mentions = match IngestRequest::decode(bytes.as_slice()) {
            Ok(r) => r.mentions,
            Err(e) => {
                error!(entry = %entry.id, error = %e, "undecodable labelled entry, skipped");
                Vec::new()
            }
        };
        let tenants = mentions.iter().map(|m| m.tenant.clone()).collect();
        // Already indexed (a redelivery after a crash): skip by key, so nothing is indexed twice.
        let fresh: Vec<_> = mentions
            .into_iter()
            .filter(|m| self.seen.insert(key_hash(&mention_key(&m.tenant, &m.id))))
            .map(|m| (m, version.clone()))
            .collect();
        let seq = self.next_seq;
        self.next_seq += 1;
        // Sent even when empty: the commit that covers `seq` is what acknowledges the entry.
        if self.indexer.send(IndexCommand::Add { mentions: fresh, last_position: Some(seq) }).is_err() {
            return false;
        }
        self.inflight.push_back(Inflight { seq, entry: entry.id, origin, tenants });
        true
    }
}
