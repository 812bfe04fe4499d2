//! Fan-out of byte messages to every replica over Redis pub/sub (alerts to every `WatchAlerts` stream).
//!
//! Pub/sub is fire-and-forget: a message published while a subscriber is disconnected is not delivered
//! to it. A subscription's background task re-subscribes by itself when Redis comes back, and
//! [`Subscription::wait_subscribed`] tells when it is listening (tests and health use it).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{broadcast, watch};
use tracing::{info, warn};

use super::{Keys, RedisHandle, CONNECT_TIMEOUT};

/// Publishes to and subscribes on named channels shared by every replica.
#[derive(Clone)]
pub struct RedisBroadcast {
    redis: Arc<RedisHandle>,
    keys: Keys,
}

impl RedisBroadcast {
    /// A broadcaster on `redis`.
    pub fn new(redis: Arc<RedisHandle>, keys: Keys) -> Self {
        RedisBroadcast { redis, keys }
    }

    /// Sends `payload` to every current subscriber of `channel` on every replica; returns how many
    /// Redis subscriptions received it. Fails while Redis is unreachable.
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> redis::RedisResult<usize> {
        let mut conn = self.redis.connection().await?;
        redis::cmd("PUBLISH").arg(self.keys.channel(channel)).arg(payload).query_async(&mut conn).await
    }

    /// Subscribes to `channel`; messages arrive on the returned subscription until it is dropped.
    /// `capacity` bounds the messages a slow reader may fall behind by (it then sees `Lagged`).
    pub fn subscribe(&self, channel: &str, capacity: usize) -> Subscription {
        let (tx, rx) = broadcast::channel(capacity.max(1));
        let (ready_tx, ready) = watch::channel(false);
        let client = self.redis.client().clone();
        let channel = self.keys.channel(channel);
        let task = tokio::spawn(async move {
            let mut logged_down = false;
            loop {
                let connected = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub()).await;
                let mut pubsub = match connected {
                    Ok(Ok(p)) => p,
                    Ok(Err(e)) => {
                        if !logged_down {
                            warn!(channel, error = %e, "pub/sub: Redis unreachable, re-subscribing when it returns");
                            logged_down = true;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    Err(_) => continue,
                };
                if pubsub.subscribe(&channel).await.is_err() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                if logged_down {
                    info!(channel, "pub/sub: subscribed again");
                    logged_down = false;
                }
                ready_tx.send_replace(true);
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    if tx.send(message.get_payload_bytes().to_vec()).is_err() && tx.receiver_count() == 0 {
                        return;
                    }
                }
                ready_tx.send_replace(false);
            }
        });
        Subscription { receiver: rx, ready, task }
    }
}

/// A live subscription; dropping it unsubscribes.
pub struct Subscription {
    receiver: broadcast::Receiver<Vec<u8>>,
    ready: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Subscription {
    /// The next message; `Lagged(n)` when `n` were dropped because this reader was slow.
    pub async fn recv(&mut self) -> Result<Vec<u8>, broadcast::error::RecvError> {
        self.receiver.recv().await
    }

    /// Waits until the subscription is active in Redis (messages published from then on arrive).
    pub async fn wait_subscribed(&mut self) {
        let _ = self.ready.wait_for(|up| *up).await;
    }

    /// A watch of whether the subscription is active in Redis.
    pub fn readiness(&self) -> watch::Receiver<bool> {
        self.ready.clone()
    }

    /// Whether the subscription is active in Redis now.
    pub fn is_subscribed(&self) -> bool {
        *self.ready.borrow()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}
