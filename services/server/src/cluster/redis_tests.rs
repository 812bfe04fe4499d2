//! The shared building blocks against a real `redis-server` (started per test on a free port): results
//! cache, rate limits across replicas, pub/sub fan-out surviving a Redis restart, and the append script.

use std::sync::Arc;
use std::time::{Duration, Instant};

use earshot_proto::v1::Mention;
use earshot_tests::redis::RedisServer;

use super::cache::RedisCache;
use super::pubsub::RedisBroadcast;
use super::{Keys, RedisConfig, RedisHandle, RedisQueue};
use crate::auth::ratelimit::{RateLimit, RateLimiter};
use crate::ingest::queue::{IngestQueue, QueueError, Receipt};
use crate::insights::cache::ResultCache;

fn handle(server: &RedisServer) -> Arc<RedisHandle> {
    Arc::new(RedisHandle::open(&server.url()).expect("redis url"))
}

fn keys(server: &RedisServer) -> Keys {
    RedisConfig::new(server.url()).keys()
}

#[tokio::test]
async fn redis_cache_keeps_the_contract() {
    let server = RedisServer::start().await;
    let redis = handle(&server);
    let cache = RedisCache::new(redis.clone(), keys(&server), Duration::from_secs(60));
    // An index commit for tenant t1 is what the index feed does: INCR the tenant's generation.
    let commit = || {
        let redis = redis.clone();
        let key = keys(&server).generation("t1");
        async move {
            let mut conn = redis.connection().await.expect("connect");
            let _: u64 = redis::cmd("INCR").arg(key).query_async(&mut conn).await.expect("INCR");
        }
    };
    crate::insights::cache::tests::contract(&cache, commit).await;
    // A second replica sees the same entries.
    let other = RedisCache::new(handle(&server), keys(&server), Duration::from_secs(60));
    assert_eq!(other.lookup("t1", "q").await.value.as_deref(), Some(&b"r2"[..]));
}

#[tokio::test]
async fn rate_limits_are_shared_by_replicas_and_degrade_to_local() {
    let mut server = RedisServer::start().await;
    // One call per 10 s after the burst: the test's own pace cannot refill a bucket.
    let limit = RateLimit { per_sec: 0.1, burst: 3 };
    let a = RateLimiter::new(limit, Some((handle(&server), keys(&server))));
    let b = RateLimiter::new(limit, Some((handle(&server), keys(&server))));
    assert!(a.check("key-1").await.is_ok());
    assert!(b.check("key-1").await.is_ok());
    assert!(a.check("key-1").await.is_ok());
    // The burst of 3 is spent across both replicas: the 4th call is refused on either.
    let refused = b.check("key-1").await.expect_err("over the shared limit");
    assert!(
        refused.retry_after > Duration::from_secs(9) && refused.retry_after <= Duration::from_secs(10),
        "{refused:?}"
    );
    assert!(a.check("key-1").await.is_err());
    assert!(a.check("key-2").await.is_ok(), "other keys have their own bucket");

    // Without Redis each replica limits on its own (fresh local buckets), rather than failing calls.
    server.kill9();
    for _ in 0..3 {
        assert!(a.check("key-1").await.is_ok());
    }
    assert!(a.check("key-1").await.is_err());
}

#[tokio::test]
async fn pubsub_reaches_every_replica_and_resubscribes_after_restart() {
    let mut server = RedisServer::start().await;
    let replica_a = RedisBroadcast::new(handle(&server), keys(&server));
    let replica_b = RedisBroadcast::new(handle(&server), keys(&server));
    let mut sub_a = replica_a.subscribe("alerts", 16);
    let mut sub_b = replica_b.subscribe("alerts", 16);
    sub_a.wait_subscribed().await;
    sub_b.wait_subscribed().await;
    assert_eq!(replica_a.publish("alerts", b"spike-1").await.expect("publish"), 2);
    assert_eq!(sub_a.recv().await.expect("a receives"), b"spike-1");
    assert_eq!(sub_b.recv().await.expect("b receives"), b"spike-1");

    server.kill9();
    assert!(replica_a.publish("alerts", b"lost").await.is_err(), "publishing fails while Redis is down");
    server.restart().await;
    // Both subscriptions come back by themselves: publish until Redis counts both subscribers.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if replica_b.publish("alerts", b"spike-2").await.unwrap_or(0) == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "subscriptions did not come back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Earlier attempts may have reached one of them already: same payload, so any copy will do.
    assert_eq!(sub_a.recv().await.expect("a receives after restart"), b"spike-2");
    assert_eq!(sub_b.recv().await.expect("b receives after restart"), b"spike-2");
}

#[tokio::test]
async fn append_script_dedupes_atomically_and_applies_back_pressure() {
    let server = RedisServer::start().await;
    let mut config = RedisConfig::new(server.url());
    config.max_backlog = 2;
    let queue = RedisQueue::new(handle(&server), config.keys(), config.max_backlog, Duration::ZERO);
    let m = |id: &str| Mention { id: id.into(), tenant: "t".into(), text: "x".into(), ..Default::default() };
    let first = queue.append(vec![m("a"), m("b"), m("a")], false).await.expect("append");
    assert_eq!(first.fresh, vec![true, true, false]);
    assert!(matches!(first.receipt, Receipt::StreamEntry(_)));
    let again = queue.append(vec![m("b")], false).await.expect("append");
    assert_eq!(again.fresh, vec![false]);
    assert_eq!(again.receipt, Receipt::Nothing, "nothing new, no entry");
    let second = queue.append(vec![m("c")], false).await.expect("append");
    assert_eq!(second.fresh, vec![true]);
    // Two entries wait and nobody works: the third batch is refused and leaves no trace.
    assert!(matches!(queue.append(vec![m("d")], false).await, Err(QueueError::Busy)));
    let mut conn = server.connection().await;
    let len: usize = redis::cmd("XLEN").arg(config.keys().ingest()).query_async(&mut conn).await.expect("XLEN");
    assert_eq!(len, 2);
    let seen: bool = redis::cmd("SISMEMBER")
        .arg(config.keys().seen())
        .arg(&earshot_indexer::doc::key_hash(&earshot_indexer::doc::mention_key("t", "d")).to_be_bytes()[..])
        .query_async(&mut conn)
        .await
        .expect("SISMEMBER");
    assert!(!seen, "a refused mention is not marked seen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fan_out_to_every_replica_and_erasure_forgets_shared_keys() {
    use crate::governance::{Deletion, DeletionHook, DeletionReason};
    use crate::insights::alerts::AlertBus;
    use earshot_indexer::doc::{key_hash, mention_key};
    use futures::StreamExt;

    let server = RedisServer::start().await;
    let bus = |server: &RedisServer| super::shared::RedisBus::start(RedisBroadcast::new(handle(server), keys(server)));
    let (a, b) = (bus(&server), bus(&server));
    a.wait_subscribed().await;
    b.wait_subscribed().await;
    let (mut on_a, mut on_b) = (a.subscribe(), b.subscribe());
    let alert = earshot_proto::v1::Alert { id: "r1-100".into(), tenant: "t1".into(), ..Default::default() };
    a.publish(alert.clone());
    let within = |s| tokio::time::timeout(Duration::from_secs(10), s);
    assert_eq!(within(on_b.next()).await.expect("b in time"), Some(alert.clone()), "the other replica");
    assert_eq!(within(on_a.next()).await.expect("a in time"), Some(alert), "the publishing replica, once");

    // An erased mention's key leaves the shared dedupe set; others stay.
    let redis = handle(&server);
    let mut conn = redis.connection().await.expect("connect");
    let (gone, kept) = (mention_key("t1", "m1"), mention_key("t1", "m2"));
    for k in [&gone, &kept] {
        let _: u64 = redis::cmd("SADD")
            .arg(keys(&server).seen())
            .arg(&key_hash(k).to_be_bytes()[..])
            .query_async(&mut conn)
            .await
            .expect("SADD");
    }
    let hook = super::shared::ForgetInRedis::new(redis.clone(), keys(&server));
    let erased = [gone.clone()];
    tokio::task::spawn_blocking(move || hook.deleted(&Deletion { reason: DeletionReason::EraseAuthor, keys: &erased }))
        .await
        .expect("hook");
    let is_member =
        |k: &String| redis::cmd("SISMEMBER").arg(keys(&server).seen()).arg(&key_hash(k).to_be_bytes()[..]).clone();
    let (g, k): (bool, bool) = (
        is_member(&gone).query_async(&mut conn).await.expect("SISMEMBER"),
        is_member(&kept).query_async(&mut conn).await.expect("SISMEMBER"),
    );
    assert_eq!((g, k), (false, true));
}
