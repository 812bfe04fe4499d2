//! The insights side of what replicas share through Redis: alerts fanned out over pub/sub (every
//! replica's `WatchAlerts` sees what the index owner fires) and erasure reaching the shared dedupe set.

use std::collections::BTreeSet;
use std::sync::Arc;

use earshot_indexer::doc::key_hash;
use earshot_proto::v1::Alert;
use futures::stream::BoxStream;
use prost::Message;
use tokio::sync::broadcast::error::RecvError;
use tracing::warn;

use super::pubsub::RedisBroadcast;
use super::{Keys, RedisHandle};
use crate::governance::{Deletion, DeletionHook};
use crate::insights::alerts::{AlertBus, LocalBus};

/// The pub/sub channel alerts travel on.
pub const ALERTS_CHANNEL: &str = "alerts";

/// An [`AlertBus`] over Redis pub/sub: publishing goes to Redis, and one subscription per process relays
/// what Redis delivers (this replica's alerts included) to the local watchers. While Redis is away, an
/// alert is delivered to this replica's watchers only (pub/sub keeps nothing for absent subscribers).
pub struct RedisBus {
    broadcast: RedisBroadcast,
    local: Arc<LocalBus>,
    runtime: tokio::runtime::Handle,
    relay: tokio::task::JoinHandle<()>,
    subscribed: tokio::sync::watch::Receiver<bool>,
}

impl RedisBus {
    /// Subscribes and starts relaying; call inside the runtime.
    pub fn start(broadcast: RedisBroadcast) -> Self {
        let local = Arc::new(LocalBus::default());
        let mut subscription = broadcast.subscribe(ALERTS_CHANNEL, 1024);
        let subscribed = subscription.readiness();
        let relay_to = local.clone();
        let relay = tokio::spawn(async move {
            loop {
                match subscription.recv().await {
                    Ok(bytes) => match Alert::decode(bytes.as_slice()) {
                        Ok(alert) => relay_to.publish(alert),
                        Err(e) => warn!(error = %e, "undecodable alert on the pub/sub channel"),
                    },
                    Err(RecvError::Lagged(n)) => warn!(skipped = n, "alert relay fell behind"),
                    Err(RecvError::Closed) => return,
                }
            }
        });
        RedisBus { broadcast, local, runtime: tokio::runtime::Handle::current(), relay, subscribed }
    }

    /// Waits until this replica's subscription is active (alerts published from then on reach it).
    pub async fn wait_subscribed(&self) {
        let _ = self.subscribed.clone().wait_for(|up| *up).await;
    }
}

impl AlertBus for RedisBus {
    fn publish(&self, alert: Alert) {
        let (broadcast, local) = (self.broadcast.clone(), self.local.clone());
        // Called from the evaluator's thread, not the runtime.
        self.runtime.spawn(async move {
            if let Err(e) = broadcast.publish(ALERTS_CHANNEL, &alert.encode_to_vec()).await {
                crate::metrics::global().redis_error("publish");
                warn!(error = %e, alert = alert.id, "Redis unreachable: alert delivered to this replica's watchers only");
                local.publish(alert);
            }
        });
    }

    fn subscribe(&self) -> BoxStream<'static, Alert> {
        self.local.subscribe()
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.relay.abort();
    }
}

/// Forgets erased mentions in the shared dedupe set, so that the same ids may be sent again later.
pub struct ForgetInRedis {
    redis: Arc<RedisHandle>,
    keys: Keys,
    runtime: tokio::runtime::Handle,
}

impl ForgetInRedis {
    /// A hook on `redis`; call inside the runtime.
    pub fn new(redis: Arc<RedisHandle>, keys: Keys) -> Self {
        ForgetInRedis { redis, keys, runtime: tokio::runtime::Handle::current() }
    }
}

impl DeletionHook for ForgetInRedis {
    fn deleted(&self, deletion: &Deletion<'_>) {
        let hashes: BTreeSet<[u8; 16]> = deletion.keys.iter().map(|k| key_hash(k).to_be_bytes()).collect();
        let hashes: Vec<_> = hashes.into_iter().collect();
        let (redis, seen) = (self.redis.clone(), self.keys.seen());
        // Hooks run on a blocking thread and the erasure answers after them: wait for Redis here.
        let done: redis::RedisResult<()> = self.runtime.block_on(async move {
            let mut conn = redis.connection().await?;
            for chunk in hashes.chunks(1000) {
                let mut srem = redis::cmd("SREM");
                srem.arg(&seen);
                for h in chunk {
                    srem.arg(&h[..]);
                }
                let _: u64 = srem.query_async(&mut conn).await?;
            }
            Ok(())
        });
        if let Err(e) = done {
            crate::metrics::global().redis_error("srem");
            warn!(error = %e, "could not forget erased mentions in Redis: re-sending their ids reads as duplicate");
        }
    }
}
