//! The gateway side of the shared ingest queue: dedupe and append in one atomic Redis script.
//!
//! One script call per ingest batch: it refuses when the stream's backlog is full, adds each mention's
//! 16-byte key hash to the shared seen-set, and appends the fresh ones as one stream entry. Because the
//! script is atomic (and Redis logs its effects as one unit in the append-only file), a mention is never
//! marked seen without being stored: a failure before the script leaves nothing, so a retry is not
//! called a duplicate. The caller is answered once the script returns, which with
//! `appendfsync always` means once the entry is on Redis's disk.

use std::sync::Arc;
use std::time::Duration;

use earshot_indexer::doc::{key_hash, mention_key};
use earshot_proto::v1::Mention;
use redis::Value;

use super::{Keys, RedisHandle};
use crate::ingest::queue::{Appended, IngestQueue, QueueError, Receipt};

/// KEYS: ingest stream, seen set. ARGV: max backlog, n, n key hashes, n encoded mentions (each a
/// length-delimited field 1 of `IngestRequest`, so their concatenation is an `IngestRequest`).
const APPEND_SCRIPT: &str = r"
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return {'BUSY'} end
local n = tonumber(ARGV[2])
local flags = {}
local parts = {}
for i = 1, n do
  if redis.call('SADD', KEYS[2], ARGV[2 + i]) == 1 then
    flags[i] = 1
    parts[#parts + 1] = ARGV[2 + n + i]
  else
    flags[i] = 0
  end
end
local id = ''
if #parts > 0 then id = redis.call('XADD', KEYS[1], '*', 'b', table.concat(parts)) end
return {id, flags}
";

/// How often `wait_searchable` looks for the index owner's marker.
const SEARCHABLE_POLL: Duration = Duration::from_millis(25);

/// The shared ingest queue (gateway side).
pub struct RedisQueue {
    redis: Arc<RedisHandle>,
    keys: Keys,
    max_backlog: usize,
    busy_wait: Duration,
    script: redis::Script,
}

impl RedisQueue {
    /// A queue on `redis`; a stream waits out a full backlog for at most `busy_wait`.
    pub fn new(redis: Arc<RedisHandle>, keys: Keys, max_backlog: usize, busy_wait: Duration) -> Self {
        RedisQueue { redis, keys, max_backlog, busy_wait, script: redis::Script::new(APPEND_SCRIPT) }
    }

    async fn try_append(&self, mentions: &[Mention], chunks: &[Vec<u8>]) -> Result<Appended, QueueError> {
        let unavailable = |e: redis::RedisError| QueueError::Unavailable(format!("Redis: {e}"));
        let mut conn = self.redis.connection().await.map_err(unavailable)?;
        let mut call = self.script.key(self.keys.ingest());
        call.key(self.keys.seen()).arg(self.max_backlog).arg(mentions.len());
        for m in mentions {
            call.arg(&key_hash(&mention_key(&m.tenant, &m.id)).to_be_bytes()[..]);
        }
        for chunk in chunks {
            call.arg(chunk.as_slice());
        }
        let reply: Vec<Value> = call.invoke_async(&mut conn).await.map_err(unavailable)?;
        parse_reply(reply, mentions.len())
    }
}

fn parse_reply(reply: Vec<Value>, n: usize) -> Result<Appended, QueueError> {
    let bad = || QueueError::Unavailable("Redis: unexpected reply from the append script".into());
    let mut items = reply.into_iter();
    let id: String = match items.next() {
        Some(v) => redis::from_redis_value(&v).map_err(|_| bad())?,
        None => return Err(bad()),
    };
    if id == "BUSY" {
        return Err(QueueError::Busy);
    }
    let flags: Vec<i64> = match items.next() {
        Some(v) => redis::from_redis_value(&v).map_err(|_| bad())?,
        // Lua drops an empty table to nil: a batch of nothing.
        None => Vec::new(),
    };
    if flags.len() != n {
        return Err(bad());
    }
    let receipt = if id.is_empty() { Receipt::Nothing } else { Receipt::StreamEntry(id) };
    Ok(Appended { fresh: flags.into_iter().map(|f| f == 1).collect(), receipt })
}

/// A mention as field 1 of `IngestRequest`: tag, length, bytes.
fn chunk(mention: &Mention) -> Vec<u8> {
    let mut buf = Vec::new();
    prost::encoding::message::encode(1, mention, &mut buf);
    buf
}

#[tonic::async_trait]
impl IngestQueue for RedisQueue {
    async fn append(&self, mentions: Vec<Mention>, retry_when_busy: bool) -> Result<Appended, QueueError> {
        if mentions.is_empty() {
            return Ok(Appended { fresh: Vec::new(), receipt: Receipt::Nothing });
        }
        let chunks: Vec<Vec<u8>> = mentions.iter().map(chunk).collect();
        let give_up = tokio::time::Instant::now() + self.busy_wait;
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.try_append(&mentions, &chunks).await {
                Err(QueueError::Busy) if retry_when_busy && tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    async fn wait_searchable(&self, receipt: &Receipt, limit: Duration) -> bool {
        let Receipt::StreamEntry(entry) = receipt else { return true };
        let marker = self.keys.indexed(entry);
        let wait = async {
            loop {
                if let Ok(mut conn) = self.redis.connection().await {
                    let found: redis::RedisResult<bool> =
                        redis::cmd("EXISTS").arg(&marker).query_async(&mut conn).await;
                    if found.unwrap_or(false) {
                        return;
                    }
                }
                tokio::time::sleep(SEARCHABLE_POLL).await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_proto::v1::IngestRequest;
    use prost::Message;

    #[test]
    fn concatenated_chunks_decode_as_one_request() {
        let a = Mention { id: "a".into(), text: "one".into(), ..Default::default() };
        let b = Mention { id: "b".into(), text: "two".into(), ..Default::default() };
        let bytes = [chunk(&a), chunk(&b)].concat();
        let decoded = IngestRequest::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(decoded.mentions, vec![a, b]);
    }

    #[test]
    fn replies() {
        let busy = parse_reply(vec![Value::BulkString(b"BUSY".to_vec())], 2);
        assert!(matches!(busy, Err(QueueError::Busy)));
        let reply = vec![Value::BulkString(b"1-0".to_vec()), Value::Array(vec![Value::Int(1), Value::Int(0)])];
        let appended = parse_reply(reply, 2).expect("parses");
        assert_eq!(appended.fresh, vec![true, false]);
        assert_eq!(appended.receipt, Receipt::StreamEntry("1-0".into()));
        assert!(parse_reply(vec![Value::BulkString(b"1-0".to_vec())], 2).is_err());
    }
}
