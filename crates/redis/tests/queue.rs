//! The handoff queue against a real redis-server, started here on loopback: the claim and the
//! write in one step, records kept byte for byte, the heartbeat and settle only for the message's
//! holder, delayed retries, a dead worker's messages reclaimed, dead letters listed and replayed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::time::Duration;

use clhooks::handoff::{self, DeadReason, Message, Outcome, Queue, Record};
use clhooks::receiver::Claim;
use clhooks_redis::{RedisQueue, RedisStore};

mod common;
use common::server;

fn record(key: &str) -> Record {
    Record {
        key: key.into(),
        topic: "orders.place".into(),
        signature: "c2lnbmF0dXJl".into(),
        received_ms: 1_765_000_000_123,
        attempts: 0,
        // Not UTF-8: the queue keeps bytes.
        body: vec![b'{', 0, 0xff, 0xfe, b'}'],
    }
}

fn read(message: &Message) -> Record {
    Record::from_fields(message.fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice()))).unwrap()
}

async fn take(queue: &RedisQueue, consumer: &str, idle_ms: u64) -> Vec<Message> {
    queue.take(consumer, 10, 0, idle_ms).await.unwrap()
}

#[tokio::test]
async fn the_claim_and_the_write_are_one_step_and_a_copy_is_a_duplicate() {
    let redis = server().await;
    let queue = RedisQueue::connect(&redis.url, handoff::RedisQueue::default()).await.unwrap();
    assert!(queue.claims());
    assert_eq!(queue.enqueue(&record("k1"), Some(60_000)).await.unwrap(), Claim::Fresh);
    assert_eq!(queue.enqueue(&record("k1"), Some(60_000)).await.unwrap(), Claim::Duplicate);
    // An inline receiver's claim on the same Redis: in flight for the queue; a queued key is a
    // duplicate for the inline receiver.
    let store = RedisStore::connect(&redis.url, clhooks::store::DEFAULT_PREFIX).await.unwrap();
    let terms = clhooks::Terms { lease_ms: 45_000, keep_ms: 60_000, wait_ms: 2_000 };
    assert_eq!(store.claim("k2", terms).await.unwrap(), Claim::Fresh);
    assert_eq!(queue.enqueue(&record("k2"), Some(60_000)).await.unwrap(), Claim::InFlight);
    assert_eq!(store.claim("k1", terms).await.unwrap(), Claim::Duplicate);
    // Without a claim, only written.
    assert_eq!(queue.enqueue(&record("k1"), None).await.unwrap(), Claim::Fresh);
    let taken = take(&queue, "w1", 60_000).await;
    assert_eq!(taken.len(), 2);
    assert!(taken.iter().all(|m| m.deliveries == 1 && m.consumer == "w1"));
    assert_eq!(read(&taken[0]), record("k1"), "the record comes back byte for byte");
}

#[tokio::test]
async fn only_the_holder_renews_and_settles_and_done_records_the_key() {
    let redis = server().await;
    let queue = RedisQueue::connect(&redis.url, handoff::RedisQueue::default()).await.unwrap();
    queue.enqueue(&record("k"), Some(60_000)).await.unwrap();
    let [message] = take(&queue, "w1", 60_000).await.try_into().unwrap();
    assert!(queue.extend(&message).await.unwrap());
    let stranger = Message { consumer: "w2".into(), ..message.clone() };
    assert!(!queue.extend(&stranger).await.unwrap());
    assert!(!queue.settle(&stranger, Outcome::Done { keep_ms: 60_000 }, "").await.unwrap());
    assert!(queue.settle(&message, Outcome::Done { keep_ms: 60_000 }, "").await.unwrap());
    assert!(!queue.settle(&message, Outcome::Done { keep_ms: 60_000 }, "").await.unwrap(), "settled once");
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let len: u64 = redis::cmd("XLEN").arg("clhooks:queue").query_async(&mut connection).await.unwrap();
    assert_eq!(len, 0, "acknowledged entries are deleted");
    let key: String = redis::cmd("GET").arg("clhooks:seen:k").query_async(&mut connection).await.unwrap();
    assert_eq!(key, "d");
    assert_eq!(queue.enqueue(&record("k"), Some(60_000)).await.unwrap(), Claim::Duplicate);
}

#[tokio::test]
async fn a_retry_waits_for_its_delay_with_its_attempts_counted() {
    let redis = server().await;
    let queue = RedisQueue::connect(&redis.url, handoff::RedisQueue::default()).await.unwrap();
    queue.enqueue(&record("k"), Some(60_000)).await.unwrap();
    let [message] = take(&queue, "w1", 60_000).await.try_into().unwrap();
    // Not before its delay (a minute: however slow this machine is).
    assert!(queue.settle(&message, Outcome::Retry { attempts: 1, delay_ms: 60_000 }, "").await.unwrap());
    assert!(take(&queue, "w1", 60_000).await.is_empty(), "not before its delay");
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let due: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
        .arg("clhooks:queue:delayed")
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(&mut connection)
        .await
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as f64;
    assert!(
        due.len() == 1 && (due[0].1 - now - 60_000.0).abs() < 30_000.0,
        "due a minute from now: {}",
        due[0].1 - now
    );
    // Made due now, it comes back with its attempts counted.
    let _: u64 = redis::cmd("ZADD")
        .arg("clhooks:queue:delayed")
        .arg(0)
        .arg(&due[0].0)
        .query_async(&mut connection)
        .await
        .unwrap();
    let [again] = take(&queue, "w1", 60_000).await.try_into().unwrap();
    assert_eq!(again.deliveries, 1);
    assert_eq!(read(&again).attempts, 1);
    assert_ne!(again.id, message.id);
}

#[tokio::test]
async fn a_dead_workers_message_is_reclaimed_and_its_worker_cannot_settle_it() {
    let redis = server().await;
    let queue = RedisQueue::connect(&redis.url, handoff::RedisQueue::default()).await.unwrap();
    queue.enqueue(&record("k"), Some(60_000)).await.unwrap();
    let [held] = take(&queue, "dead", 60_000).await.try_into().unwrap();
    assert!(take(&queue, "live", 60_000).await.is_empty(), "not idle long enough");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let [reclaimed] = take(&queue, "live", 200).await.try_into().unwrap();
    assert_eq!((reclaimed.id.as_str(), reclaimed.deliveries), (held.id.as_str(), 2));
    assert!(!queue.extend(&held).await.unwrap(), "the dead worker's heartbeat does not take it back");
    assert!(!queue.settle(&held, Outcome::Done { keep_ms: 1_000 }, "").await.unwrap());
    // Handed back, it is a new message at the end of the stream.
    assert!(queue.settle(&reclaimed, Outcome::Release, "").await.unwrap());
    let [back] = take(&queue, "live", 60_000).await.try_into().unwrap();
    assert_eq!((read(&back).attempts, back.deliveries), (0, 1));
}

#[tokio::test]
async fn dead_letters_are_listed_with_why_and_replayed_with_attempts_afresh() {
    let redis = server().await;
    let queue = RedisQueue::connect(&redis.url, handoff::RedisQueue::default()).await.unwrap();
    for key in ["a", "b", "c"] {
        queue.enqueue(&record(key), Some(60_000)).await.unwrap();
    }
    let long = "é".repeat(2_000);
    for message in take(&queue, "w", 60_000).await {
        let outcome = Outcome::Dead { attempts: 10, reason: DeadReason::HandlerFailed };
        assert!(queue.settle(&message, outcome, &long).await.unwrap());
    }
    let dead = queue.dead_letters(None, 10).await.unwrap();
    assert_eq!(dead.len(), 3);
    assert_eq!(dead[0].reason, "handler_failed");
    assert!(
        dead[0].error.len() <= handoff::DEAD_ERROR_BYTES && dead[0].error.starts_with('é'),
        "cut on a character"
    );
    assert_eq!(dead[0].record().unwrap().attempts, 10);
    assert!(dead[0].failed_ms > 1_700_000_000_000);
    assert_eq!(queue.dead_letters(Some(&dead[0].id), 10).await.unwrap().len(), 2, "paged");
    assert_eq!(queue.dead_letter(&dead[1].id).await.unwrap().unwrap(), dead[1]);
    assert_eq!(queue.dead_letter("0-1").await.unwrap(), None);
    assert_eq!(queue.replay(Some(&[dead[1].id.clone(), "0-1".into()])).await.unwrap(), 1);
    assert_eq!(queue.replay(None).await.unwrap(), 2);
    assert!(queue.dead_letters(None, 10).await.unwrap().is_empty());
    let back = take(&queue, "w", 60_000).await;
    assert_eq!(back.len(), 3);
    assert!(back.iter().all(|m| read(m).attempts == 0), "attempts counted afresh");
    assert!(
        back.iter().all(|m| !m.fields.iter().any(|(n, _)| n == b"reason")),
        "the dead letter's own fields gone"
    );
}

#[tokio::test]
async fn a_queue_that_is_down_is_an_error_not_a_hang() {
    let redis = server().await;
    let queue = RedisQueue::connect(&redis.url, handoff::RedisQueue::default()).await.unwrap();
    drop(redis);
    let failed = tokio::time::timeout(Duration::from_secs(10), queue.enqueue(&record("k"), Some(1_000)))
        .await
        .unwrap();
    assert_eq!(failed.unwrap_err().code(), "store_unavailable");
}

/// An entry deleted while pending (by hand, or trimmed by a stream setting that ignores pending
/// work) is not handed out again: Redis 7 reports it apart and drops it from the pending list.
#[tokio::test]
async fn an_entry_deleted_while_pending_is_not_reclaimed() {
    let redis = server().await;
    let queue = RedisQueue::connect(&redis.url, handoff::RedisQueue::default()).await.unwrap();
    queue.enqueue(&record("gone"), Some(60_000)).await.unwrap();
    queue.enqueue(&record("kept"), Some(60_000)).await.unwrap();
    let held = take(&queue, "dead", 60_000).await;
    assert_eq!(held.len(), 2);
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: u64 =
        redis::cmd("XDEL").arg("clhooks:queue").arg(&held[0].id).query_async(&mut connection).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let reclaimed = take(&queue, "live", 100).await;
    assert_eq!(reclaimed.iter().map(|m| read(m).key).collect::<Vec<_>>(), ["kept"]);
    let pending: Vec<redis::Value> = redis::cmd("XPENDING")
        .arg("clhooks:queue")
        .arg("clhooks")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(pending.first(), Some(&redis::Value::Int(1)), "the deleted entry left the pending list");
}
