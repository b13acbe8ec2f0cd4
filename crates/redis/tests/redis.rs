//! The Redis store against a real redis-server, started here on loopback (Debian's, installed by
//! `make test`): the claim's three answers, leases and keep times that expire, a stale holder
//! that cannot release a key taken since, one fresh claim among concurrent ones, and a Redis
//! that is down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use clhooks::receiver::{Claim, Terms};
use clhooks::Error;
use clhooks_redis::RedisStore;

const TERMS: Terms = Terms { lease_ms: 45_000, keep_ms: 60_000, wait_ms: 2_000 };

mod common;
use common::server;

#[tokio::test]
async fn a_claim_is_fresh_then_in_flight_then_a_duplicate_once_done() {
    let redis = server().await;
    let a = RedisStore::connect(&redis.url, "t1:").await.unwrap();
    let b = RedisStore::connect(&redis.url, "t1:").await.unwrap();
    assert_eq!(a.claim("k", TERMS).await.unwrap(), Claim::Fresh);
    assert_eq!(b.claim("k", TERMS).await.unwrap(), Claim::InFlight, "another instance's copy");
    a.release("k", TERMS).await.unwrap();
    assert_eq!(b.claim("k", TERMS).await.unwrap(), Claim::Fresh, "the retry runs after a failed handler");
    b.done("k", TERMS).await.unwrap();
    assert_eq!(a.claim("k", TERMS).await.unwrap(), Claim::Duplicate);
    // Another prefix is another store.
    let other = RedisStore::connect(&redis.url, "t2:").await.unwrap();
    assert_eq!(other.claim("k", TERMS).await.unwrap(), Claim::Fresh);
}

#[tokio::test]
async fn a_dead_holders_claim_expires_and_a_stale_release_frees_nothing() {
    let redis = server().await;
    let short = Terms { lease_ms: 200, keep_ms: 300, wait_ms: 2_000 };
    let dead = RedisStore::connect(&redis.url, "").await.unwrap();
    let live = RedisStore::connect(&redis.url, "").await.unwrap();
    assert_eq!(dead.claim("k", short).await.unwrap(), Claim::Fresh);
    assert_eq!(live.claim("k", short).await.unwrap(), Claim::InFlight);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(live.claim("k", short).await.unwrap(), Claim::Fresh, "the lease ran out");
    // The first holder comes back and gives up: the key is the second's now.
    dead.release("k", short).await.unwrap();
    assert_eq!(dead.claim("k", short).await.unwrap(), Claim::InFlight);
    live.done("k", short).await.unwrap();
    assert_eq!(dead.claim("k", short).await.unwrap(), Claim::Duplicate);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(dead.claim("k", short).await.unwrap(), Claim::Fresh, "forgotten after keep_ms");
}

#[tokio::test]
async fn one_claim_among_many_concurrent_ones_is_fresh() {
    let redis = server().await;
    let stores: Vec<Arc<RedisStore>> = {
        let mut stores = Vec::new();
        for _ in 0..4 {
            stores.push(Arc::new(RedisStore::connect(&redis.url, "race:").await.unwrap()));
        }
        stores
    };
    for round in 0..50 {
        let key = format!("k{round}");
        let claims = futures_join(stores.iter().cycle().take(16).cloned().map(|s| {
            let key = key.clone();
            tokio::spawn(async move { s.claim(&key, TERMS).await.unwrap() })
        }))
        .await;
        assert_eq!(claims.iter().filter(|c| **c == Claim::Fresh).count(), 1, "{claims:?}");
    }
}

async fn futures_join<T: Send + 'static>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_redis_that_is_down_is_store_unavailable() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = RedisStore::connect(&format!("redis://127.0.0.1:{port}"), "").await.unwrap_err();
    assert_eq!(error.code(), "store_unavailable");
    assert_eq!(error.http_status(), 503);
    let redis = server().await;
    let store = RedisStore::connect(&redis.url, "").await.unwrap();
    drop(redis);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let failed = tokio::time::timeout(Duration::from_secs(5), store.claim("k", TERMS)).await;
    assert!(matches!(failed, Ok(Err(Error::StoreUnavailable { .. }))), "{failed:?}");
}

/// Behind `dyn AsyncSeenStore`, as a receiver holds whichever store it was given: the same
/// claims as the store's own methods, and a Node or Rust instance on the same Redis agrees.
#[tokio::test]
async fn the_async_store_trait_claims_and_ends_as_the_store_does() {
    use clhooks::receiver::{AsyncSeenStore, MemoryStore};
    let redis = server().await;
    let stores: Vec<std::sync::Arc<dyn AsyncSeenStore>> = vec![
        std::sync::Arc::new(RedisStore::connect(&redis.url, "t9:").await.unwrap()),
        std::sync::Arc::new(MemoryStore::default()),
    ];
    for store in stores {
        assert_eq!(store.claim("k", TERMS).await.unwrap(), Claim::Fresh);
        assert_eq!(store.claim("k", TERMS).await.unwrap(), Claim::InFlight);
        store.end("k", TERMS, false).await.unwrap();
        assert_eq!(store.claim("k", TERMS).await.unwrap(), Claim::Fresh, "released: the retry runs");
        store.end("k", TERMS, true).await.unwrap();
        assert_eq!(store.claim("k", TERMS).await.unwrap(), Claim::Duplicate);
    }
}
