//! A handoff worker's metrics (the `metrics` facade, read with metrics-util's debugging
//! recorder) and logs (`tracing` events as JSON) on a real redis-server: each handler run and
//! each message settled, with the queue's OpenTelemetry messaging attributes, as the JavaScript
//! package records them. One test: it installs the process's recorder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use clhooks::handoff::{self, WorkerConfig};
use clhooks_axum::{Event, Webhooks};
use clhooks_redis::RedisQueue;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::ServiceExt;

#[path = "../../redis/tests/common/mod.rs"]
mod common;
mod logs;
use logs::Lines;

const SECRET: &str = "observed-secret";

fn delivery(id: &str) -> Request<Body> {
    let body = format!(r#"{{"data":{{"id":"{id}","type":"orders","attributes":{{}}}}}}"#);
    Request::post("/webhooks")
        .header("x-commercelayer-topic", "orders.place")
        .header("x-commercelayer-signature", clhooks::sign(body.as_bytes(), SECRET).unwrap())
        .body(Body::from(body))
        .unwrap()
}

/// The worker's records of settled messages.
fn settled(lines: &Lines) -> Vec<serde_json::Value> {
    lines.records().into_iter().filter(|record| record["fields"]["attempt"].is_number()).collect()
}

#[test]
fn a_worker_records_each_run_and_each_message_settled_with_the_queues_attributes() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let lines = Lines::default();
    let subscriber = lines.subscriber();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // The worker's tasks run on the runtime's threads: the process's subscriber.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    runtime.block_on(async {
        let redis = common::server().await;
        let queue = RedisQueue::connect(&redis.url, handoff::RedisQueue::default()).await.unwrap();
        let webhooks = Webhooks::new([SECRET])
            .unwrap()
            .queue(queue)
            .on("orders.*", |event: Event| async move {
                if event.id() == "fail" {
                    Err(std::io::Error::other("the database is down"))
                } else {
                    Ok(())
                }
            })
            .unwrap()
            .on_error(|_| {});
        let config = WorkerConfig { max_attempts: 2, retry_ms: 10, block_ms: 50, ..WorkerConfig::default() };
        let worker = webhooks.worker().unwrap().config(config).unwrap().start();
        let app = webhooks.into_router("/webhooks");
        for id in ["o1", "fail"] {
            assert_eq!(app.clone().oneshot(delivery(id)).await.unwrap().status(), 200);
        }
        for _ in 0..500 {
            if settled(&lines).len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        worker.stop(Duration::from_secs(5)).await;
    });

    let mut counters = BTreeMap::new();
    let mut runs = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let (_, key) = key.into_parts();
        let mut labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        labels.sort();
        let name = format!("{} {}", key.name(), labels.join(" "));
        match value {
            DebugValue::Counter(n) if key.name() == "clhooks.messages" => {
                counters.insert(name, n);
            }
            DebugValue::Histogram(values) if key.name() == "clhooks.handler.duration" => {
                runs.insert(name, values.len());
            }
            _ => {}
        }
    }
    let queue = "messaging.consumer.group.name=clhooks messaging.destination.name=clhooks:queue";
    let place = "clhooks.topic=orders.place";
    let expected: BTreeMap<String, u64> = [
        (format!("clhooks.messages clhooks.outcome=done {place} {queue} messaging.operation.type=settle messaging.system=redis"), 1),
        (format!("clhooks.messages clhooks.outcome=retry {place} {queue} messaging.operation.type=settle messaging.system=redis"), 1),
        (
            format!("clhooks.messages clhooks.outcome=dead {place} error.type=handler_failed {queue} messaging.operation.type=settle messaging.system=redis"),
            1,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(counters, expected);
    let expected: BTreeMap<String, usize> = [
        (format!("clhooks.handler.duration clhooks.outcome=failed {place} {queue} messaging.operation.type=process messaging.system=redis"), 2),
        (format!("clhooks.handler.duration clhooks.outcome=ok {place} {queue} messaging.operation.type=process messaging.system=redis"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(runs, expected);

    let mut records: Vec<(String, String, String, u64, String)> = settled(&lines)
        .iter()
        .map(|r| {
            let f = &r["fields"];
            let text = |name: &str| f[name].as_str().unwrap_or_default().to_owned();
            (
                r["level"].as_str().unwrap().to_owned(),
                text("event_id"),
                text("outcome"),
                f["attempt"].as_u64().unwrap(),
                text("code"),
            )
        })
        .collect();
    records.sort();
    assert_eq!(
        records,
        [
            ("INFO".into(), "o1".into(), "done".into(), 1, String::new()),
            ("WARN".into(), "fail".into(), "dead".into(), 2, "handler_failed".into()),
            ("WARN".into(), "fail".into(), "retry".into(), 1, String::new()),
        ]
    );
    let text = lines.text();
    assert!(!text.contains(SECRET) && !text.contains("attributes"), "nothing secret in the logs");
}
