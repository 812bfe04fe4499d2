//! The classifier worker: takes batches from the shared ingest stream, labels them with the sentiment
//! model and hands them to the index owner's stream. Any number of replicas run one; the consumer group
//! gives each entry to one of them.
//!
//! Delivery is at-least-once and the hand-off exactly-once: an entry stays pending for its worker until
//! the hand-off script acknowledges it, and that script appends the labelled batch only if its own
//! `XACK` acknowledged something. So when a slow worker's entry was reclaimed by another, whichever hands
//! off second finds it acknowledged and appends nothing. Entries of a worker that died are reclaimed
//! (`XAUTOCLAIM`) by live workers once idle for `claim_idle`; a worker restarted under the same consumer
//! name first finishes its own pending entries.
//!
//! Runs on its own thread with a blocking connection: inference is blocking work.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use earshot_models::batcher::{ClassifierHandle, ModelState};
use earshot_proto::v1::IngestRequest;
use prost::Message;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamInfoConsumersReply, StreamReadReply};
use tracing::{debug, error};

use super::{connect_blocking, ensure_group, Keys, OutageLog, StopFlag, WORKER_GROUP};
use crate::ingest::pipeline::label_mentions;

/// KEYS: ingest stream, labelled stream, stats hash. ARGV: group, consumer, n, then per entry: ingest
/// id, labelled payload, model version, mention count.
const HANDOFF_SCRIPT: &str = r"
local n = tonumber(ARGV[3])
local handed = 0
local mentions = 0
for i = 0, n - 1 do
  local at = 4 + i * 4
  local id = ARGV[at]
  if redis.call('XACK', KEYS[1], ARGV[1], id) == 1 then
    redis.call('XADD', KEYS[2], '*', 'b', ARGV[at + 1], 'v', ARGV[at + 2], 'o', id)
    redis.call('XDEL', KEYS[1], id)
    handed = handed + 1
    mentions = mentions + tonumber(ARGV[at + 3])
  end
end
if mentions > 0 then redis.call('HINCRBY', KEYS[3], ARGV[2], mentions) end
return handed
";

/// A consumer with nothing pending that has not read for this long belongs to a replica that is gone.
const DEPARTED: Duration = Duration::from_secs(3600);

/// Settings of a worker.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Key names.
    pub keys: Keys,
    /// This worker's consumer name.
    pub consumer: String,
    /// Reclaim entries other workers have held this long.
    pub claim_idle: Duration,
    /// Stop taking work while the labelled stream holds this many entries (the index owner is behind).
    pub max_backlog: usize,
    /// Entries (ingest batches) taken per read.
    pub read_count: usize,
}

/// Starts a worker thread; it runs until `stop`.
pub fn spawn_worker(
    client: redis::Client,
    options: WorkerOptions,
    classifier: Option<ClassifierHandle>,
    stop: StopFlag,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("earshot-worker".into()).spawn(move || {
        let mut worker = Worker {
            options,
            classifier,
            script: redis::Script::new(HANDOFF_SCRIPT),
            own_pending: true,
            claim_cursor: "0-0".into(),
            next_claim: Instant::now(),
        };
        let mut outage = OutageLog::default();
        let mut conn: Option<redis::Connection> = None;
        while !stop.stopped() {
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match connect(&client, &worker.options) {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        outage.failed("worker", &e);
                        stop.sleep(Duration::from_millis(200));
                        continue;
                    }
                },
            };
            match worker.step(c, &stop) {
                Ok(()) => outage.ok("worker"),
                Err(e) => {
                    outage.failed("worker", &e);
                    conn = None;
                    // What this worker held is still pending for it: read it again after reconnecting.
                    worker.own_pending = true;
                    stop.sleep(Duration::from_millis(200));
                }
            }
        }
    })
}

fn connect(client: &redis::Client, options: &WorkerOptions) -> redis::RedisResult<redis::Connection> {
    let name = format!("earshot-worker:{}", options.consumer);
    let mut conn = connect_blocking(client, Duration::from_secs(5), &name)?;
    ensure_group(&mut conn, &options.keys.ingest(), WORKER_GROUP)?;
    Ok(conn)
}

struct Worker {
    options: WorkerOptions,
    classifier: Option<ClassifierHandle>,
    script: redis::Script,
    /// Read this consumer's own pending entries next (after start or a reconnect).
    own_pending: bool,
    claim_cursor: String,
    next_claim: Instant,
}

impl Worker {
    fn step(&mut self, conn: &mut redis::Connection, stop: &StopFlag) -> redis::RedisResult<()> {
        // A worker with a model waits for it rather than passing work on unlabelled.
        if self.classifier.as_ref().is_some_and(|c| matches!(c.state(), ModelState::Loading)) {
            stop.sleep(Duration::from_millis(100));
            return Ok(());
        }
        let labelled_backlog: usize = redis::cmd("XLEN").arg(self.options.keys.labelled()).query(conn)?;
        if labelled_backlog >= self.options.max_backlog {
            stop.sleep(Duration::from_millis(100));
            return Ok(());
        }
        let entries = if self.own_pending {
            let entries = self.read(conn, "0", None)?;
            self.own_pending = !entries.is_empty();
            entries
        } else if Instant::now() >= self.next_claim {
            self.claim(conn)?
        } else {
            self.read(conn, ">", Some(1000))?
        };
        if !entries.is_empty() {
            self.process(conn, entries)?;
        }
        Ok(())
    }

    fn read(
        &self,
        conn: &mut redis::Connection,
        from: &str,
        block_ms: Option<u64>,
    ) -> redis::RedisResult<Vec<StreamId>> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(WORKER_GROUP).arg(&self.options.consumer).arg("COUNT").arg(self.options.read_count);
        if let Some(ms) = block_ms {
            cmd.arg("BLOCK").arg(ms);
        }
        cmd.arg("STREAMS").arg(self.options.keys.ingest()).arg(from);
        let reply: Option<StreamReadReply> = cmd.query(conn)?;
        Ok(reply.map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect()).unwrap_or_default())
    }

    /// One step of a reclaim pass over entries idle longer than `claim_idle`.
    fn claim(&mut self, conn: &mut redis::Connection) -> redis::RedisResult<Vec<StreamId>> {
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(self.options.keys.ingest())
            .arg(WORKER_GROUP)
            .arg(&self.options.consumer)
            .arg(self.options.claim_idle.as_millis() as u64)
            .arg(&self.claim_cursor)
            .arg("COUNT")
            .arg(self.options.read_count)
            .query(conn)?;
        if !reply.deleted_ids.is_empty() {
            // Pending ids whose entries no longer exist: nothing to do but forget them.
            redis::cmd("XACK").arg(self.options.keys.ingest()).arg(WORKER_GROUP).arg(&reply.deleted_ids).exec(conn)?;
        }
        if reply.next_stream_id == "0-0" {
            // The pass reached the end: the next one starts after half the idle time.
            self.next_claim = Instant::now() + self.options.claim_idle / 2;
            self.forget_departed(conn)?;
        }
        self.claim_cursor = reply.next_stream_id;
        if !reply.claimed.is_empty() {
            tracing::info!(entries = reply.claimed.len(), consumer = %self.options.consumer, "reclaimed entries another worker left pending");
        }
        Ok(reply.claimed)
    }

    /// Removes consumers of departed replicas (nothing pending, idle for long) from the group, so the
    /// group's consumer list does not grow with every restart under a new name.
    fn forget_departed(&self, conn: &mut redis::Connection) -> redis::RedisResult<()> {
        let info: StreamInfoConsumersReply =
            redis::cmd("XINFO").arg("CONSUMERS").arg(self.options.keys.ingest()).arg(WORKER_GROUP).query(conn)?;
        for gone in info.consumers.iter().filter(|c| c.pending == 0 && c.idle as u128 > DEPARTED.as_millis()) {
            redis::cmd("XGROUP")
                .arg("DELCONSUMER")
                .arg(self.options.keys.ingest())
                .arg(WORKER_GROUP)
                .arg(&gone.name)
                .exec(conn)?;
        }
        Ok(())
    }

    /// Labels every mention of `entries` in one model call, then hands them off atomically.
    fn process(&self, conn: &mut redis::Connection, entries: Vec<StreamId>) -> redis::RedisResult<()> {
        let mut batches = Vec::with_capacity(entries.len());
        let mut all = Vec::new();
        for entry in &entries {
            let bytes: Option<Vec<u8>> = entry.get("b");
            let decoded = bytes.as_deref().map(IngestRequest::decode);
            match decoded {
                Some(Ok(request)) => {
                    batches.push(Some(request.mentions.len()));
                    all.extend(request.mentions);
                }
                Some(Err(e)) => {
                    error!(entry = %entry.id, error = %e, "undecodable ingest entry; passed on as is");
                    batches.push(None);
                }
                None => batches.push(None),
            }
        }
        let version = label_mentions(self.classifier.as_ref(), &mut all);
        let mut invocation = self.script.key(self.options.keys.ingest());
        invocation
            .key(self.options.keys.labelled())
            .key(self.options.keys.worked())
            .arg(WORKER_GROUP)
            .arg(&self.options.consumer)
            .arg(entries.len());
        let mut rest = all.into_iter();
        for (entry, batch) in entries.iter().zip(batches) {
            let (payload, count) = match batch {
                Some(n) => {
                    let mentions: Vec<_> = rest.by_ref().take(n).collect();
                    (IngestRequest { mentions, wait_searchable: false }.encode_to_vec(), n)
                }
                None => (entry.get::<Vec<u8>>("b").unwrap_or_default(), 0),
            };
            invocation.arg(&entry.id).arg(payload).arg(&version).arg(count);
        }
        let handed: usize = invocation.invoke(conn)?;
        debug!(handed, of = entries.len(), "handed labelled batches to the index owner");
        Ok(())
    }
}
