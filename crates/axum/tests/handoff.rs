//! clhooks-axum in handoff mode on a real redis-server (started here on loopback): answered as
//! soon as the queue holds a delivery, its handlers run once by the tokio worker (a failing one
//! retried), and a queue that fails answered 503 and told.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use clhooks::handoff::{self, Message, Outcome, Queue, QueueFuture, Record, WorkerConfig};
use clhooks::receiver::Claim;
use clhooks_axum::{Event, Failure, Webhooks};
use clhooks_redis::RedisQueue;
use http_body_util::BodyExt;
use tower::ServiceExt;

#[path = "../../redis/tests/common/mod.rs"]
mod common;

const FIXTURE: &[u8] = include_bytes!("../../../tests/vectors/orders-place-payload.json");
const SECRET: &str = "axum-secret";

fn delivery(body: &[u8]) -> Request<Body> {
    Request::post("/webhooks")
        .header("x-commercelayer-topic", "orders.place")
        .header("x-commercelayer-signature", clhooks::sign(body, SECRET).unwrap())
        .body(Body::from(body.to_vec()))
        .unwrap()
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_is_answered_once_queued_and_run_once_by_the_worker() {
    let redis = common::server().await;
    let queue = RedisQueue::connect(&redis.url, handoff::RedisQueue::default()).await.unwrap();
    let runs = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&runs);
    let webhooks = Webhooks::new([SECRET]).unwrap().queue(queue).on("orders.*", move |event: Event| {
        let seen = Arc::clone(&seen);
        async move {
            let mut runs = seen.lock().unwrap();
            runs.push(event.id().to_owned());
            // The second document fails on its first run.
            if event.id() == "flaky" && runs.iter().filter(|id| *id == "flaky").count() == 1 {
                return Err("not yet".into());
            }
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        }
    });
    let webhooks = webhooks.unwrap();
    let config = WorkerConfig { retry_ms: 20, block_ms: 50, reclaim_idle_ms: 300, ..WorkerConfig::default() };
    let worker = webhooks.worker().unwrap().config(config).unwrap().start();
    let app = webhooks.into_router("/webhooks");
    assert_eq!(
        send(&app, delivery(FIXTURE)).await,
        (StatusCode::OK, serde_json::json!({ "received": "orders.place", "handed_off": true }))
    );
    assert_eq!(
        send(&app, delivery(FIXTURE)).await,
        (StatusCode::OK, serde_json::json!({ "received": "orders.place", "duplicate": true }))
    );
    let flaky = br#"{"data":{"id":"flaky","type":"orders","attributes":{}}}"#;
    assert_eq!(send(&app, delivery(flaky)).await.0, StatusCode::OK);
    until("both run, the flaky one twice", || runs.lock().unwrap().len() == 3).await;
    worker.stop(Duration::from_secs(5)).await;
    let mut ran = runs.lock().unwrap().clone();
    ran.sort();
    assert_eq!(ran, ["flaky", "flaky", "wBXVhZOmXO"]);
    // Handled: a copy is still a duplicate.
    assert_eq!(send(&app, delivery(FIXTURE)).await.1["duplicate"], true);
}

/// A queue that is down.
struct Down;

impl Queue for Down {
    fn claims(&self) -> bool {
        true
    }
    fn enqueue<'a>(&'a self, _: &'a Record, _: Option<u64>) -> QueueFuture<'a, Claim> {
        Box::pin(async { Err(clhooks::Error::StoreUnavailable { message: "connection refused".into() }) })
    }
    fn take<'a>(&'a self, _: &'a str, _: u32, _: u64, _: u64) -> QueueFuture<'a, Vec<Message>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn extend<'a>(&'a self, _: &'a Message) -> QueueFuture<'a, bool> {
        Box::pin(async { Ok(true) })
    }
    fn settle<'a>(&'a self, _: &'a Message, _: Outcome, _: &'a str) -> QueueFuture<'a, bool> {
        Box::pin(async { Ok(true) })
    }
}

#[tokio::test]
async fn a_queue_that_fails_is_answered_503_and_told() {
    let told = Arc::new(Mutex::new(Vec::new()));
    let hook = Arc::clone(&told);
    let app = Webhooks::new([SECRET])
        .unwrap()
        .queue(Down)
        .on_error(move |failure: &Failure<'_>| {
            hook.lock().unwrap().push((failure.code(), failure.to_string()))
        })
        .into_router("/webhooks");
    let (status, body) = send(&app, delivery(FIXTURE)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("queue_unavailable"))
    );
    let told = told.lock().unwrap();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].0, "queue_unavailable");
    assert!(told[0].1.ends_with("connection refused"), "{}", told[0].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_queue_runs_retries_and_dead_letters_and_a_seen_store_runs_a_copy_once() {
    use clhooks_axum::MemoryQueue;
    let queue = MemoryQueue::new();
    let runs = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&runs);
    let webhooks = Webhooks::new([SECRET])
        .unwrap()
        .queue(queue.clone())
        .on("orders.*", move |event: Event| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().unwrap().push(event.id().to_owned());
                if event.id() == "broken" {
                    return Err("always".into());
                }
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }
        })
        .unwrap();
    let config = WorkerConfig {
        retry_ms: 10,
        retry_cap_ms: 20,
        block_ms: 50,
        max_attempts: 3,
        ..WorkerConfig::default()
    };
    let worker = webhooks.worker().unwrap().config(config).unwrap().start();
    let app = webhooks.into_router("/webhooks");
    let broken = br#"{"data":{"id":"broken","type":"orders","attributes":{}}}"#;
    assert_eq!(send(&app, delivery(FIXTURE)).await.1["handed_off"], true);
    assert_eq!(send(&app, delivery(broken)).await.1["handed_off"], true);
    assert_eq!(send(&app, delivery(FIXTURE)).await.1["duplicate"], true);
    until("the dead letter", || queue.dead_letters().len() == 1).await;
    worker.stop(Duration::from_secs(5)).await;
    let dead = queue.dead_letters();
    assert_eq!((dead[0].reason.as_str(), dead[0].error.as_str()), ("handler_failed", "always"));
    let mut ran = runs.lock().unwrap().clone();
    ran.sort();
    assert_eq!(ran, ["broken", "broken", "broken", "wBXVhZOmXO"]);
    assert_eq!(queue.replay(), 1);

    // A record held twice (written without a claim): with a seen-store, its run is claimed and
    // the copy is done without running.
    let twice = MemoryQueue::new();
    let record = Record {
        key: "k-twice".into(),
        topic: "orders.place".into(),
        signature: clhooks::sign(FIXTURE, SECRET).unwrap(),
        received_ms: 1,
        attempts: 0,
        body: FIXTURE.to_vec(),
    };
    twice.enqueue(&record, None).await.unwrap();
    twice.enqueue(&record, None).await.unwrap();
    let count = Arc::new(Mutex::new(0));
    let counted = Arc::clone(&count);
    let worker = clhooks_axum::Worker::new([SECRET], twice.clone())
        .unwrap()
        .seen(clhooks::MemoryStore::default())
        .config(config)
        .unwrap()
        .on("*", move |_event: Event| {
            let counted = Arc::clone(&counted);
            async move {
                *counted.lock().unwrap() += 1;
                Ok::<(), std::io::Error>(())
            }
        })
        .unwrap()
        .start();
    until("both copies settled", || twice.is_empty()).await;
    worker.stop(Duration::from_secs(5)).await;
    assert_eq!(*count.lock().unwrap(), 1);
}

/// In handoff mode the queue that claims the keys keeps the failure streaks every instance
/// shares, as a seen-store would: the notice is told once whichever instance a mismatch reached,
/// and a delivery handed off by one is a success the other's probe sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_keeps_the_streaks_every_instance_shares() {
    let redis = common::server().await;
    let told = Arc::new(Mutex::new(Vec::new()));
    let instance = || {
        let (url, told) = (redis.url.clone(), Arc::clone(&told));
        async move {
            let queue = RedisQueue::connect(&url, handoff::RedisQueue::default()).await.unwrap();
            let webhooks = Webhooks::new([SECRET])
                .unwrap()
                .queue(queue)
                .on("orders.*", |_event: Event| async { Ok::<(), std::io::Error>(()) })
                .unwrap()
                .on_error(move |failure| {
                    if let Failure::Streak { webhook, signal } = failure {
                        told.lock().unwrap().push((*signal, webhook.verified));
                    }
                });
            let health = webhooks.health();
            webhooks.into_router("/webhooks").merge(health.into_router("/health"))
        }
    };
    let apps = [instance().await, instance().await];
    let probe = |app: &Router| {
        let app = app.clone();
        async move {
            let request = Request::get("/health").body(Body::empty()).unwrap();
            send(&app, request).await.1
        }
    };
    let streak = |report: &serde_json::Value, verified: bool| {
        report["webhooks"].as_array().unwrap().iter().find(|w| w["verified"] == verified).cloned()
    };
    for n in 1..=5_u64 {
        let forged = Request::post("/webhooks")
            .header("x-commercelayer-topic", "orders.place")
            .header("x-commercelayer-signature", clhooks::sign(FIXTURE, "a rotated secret").unwrap())
            .body(Body::from(FIXTURE.to_vec()))
            .unwrap();
        assert!(send(&apps[(n % 2) as usize], forged).await.0.is_client_error());
        // Counted after the answer: the other instance's probe sees it once it lands.
        let other = &apps[((n + 1) % 2) as usize];
        for _ in 0..500 {
            if streak(&probe(other).await, false).is_some_and(|w| w["streak"] == n) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(streak(&probe(other).await, false).unwrap()["streak"], n);
    }
    until("the notice", || !told.lock().unwrap().is_empty()).await;
    assert_eq!(
        *told.lock().unwrap(),
        [(clhooks::health::Signal::Streak { streak: 5, circuit: clhooks::health::Circuit::Notice }, false)]
    );
    assert_eq!(send(&apps[0], delivery(FIXTURE)).await.0, StatusCode::OK);
    for _ in 0..500 {
        if streak(&probe(&apps[1]).await, true).is_some_and(|w| w["last_success"].is_string()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the other instance never saw the success");
}
