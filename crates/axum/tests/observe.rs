//! clhooks-axum's metrics (through the `metrics` facade, read with metrics-util's debugging
//! recorder) and logs (its `tracing` events, written as JSON by tracing-subscriber) for a known
//! sequence of deliveries: the names, units and labels the JavaScript package uses, and nothing
//! secret. One test: it installs the process's recorder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use clhooks_axum::{Event, Webhooks};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use tower::ServiceExt;

mod logs;
use logs::Lines;

const SECRET: &str = "observed-secret";

fn delivery(id: &str, secret: &str, topic: &str) -> Request<Body> {
    let body = format!(r#"{{"data":{{"id":"{id}","type":"orders","attributes":{{}}}}}}"#);
    Request::post("/webhooks")
        .header("x-commercelayer-topic", topic)
        .header("x-commercelayer-signature", clhooks::sign(body.as_bytes(), secret).unwrap())
        .body(Body::from(body))
        .unwrap()
}

async fn status(app: &Router, request: Request<Body>) -> u16 {
    app.clone().oneshot(request).await.unwrap().status().as_u16()
}

#[test]
fn metrics_and_logs_get_what_the_core_decided_and_nothing_secret() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let lines = Lines::default();
    let subscriber = lines.subscriber();
    let answers = tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let app = Webhooks::new([SECRET])
                .unwrap()
                .on("orders.*", |event: Event| async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    if event.id().starts_with("fail") {
                        Err(std::io::Error::other("the database is down"))
                    } else {
                        Ok(())
                    }
                })
                .unwrap()
                .on_error(|_| {})
                .into_router("/webhooks");
            let mut answers = Vec::new();
            for id in ["o1", "o2", "o3", "o1", "fail1", "fail2"] {
                answers.push(status(&app, delivery(id, SECRET, "orders.place")).await);
            }
            answers.push(status(&app, delivery("o9", "wrong", "orders.place")).await);
            answers.push(status(&app, delivery("o10", "wrong", "made.up.by.anyone")).await);
            answers
        })
    });
    assert_eq!(answers, [200, 200, 200, 200, 500, 500, 401, 401]);

    let mut counters = BTreeMap::new();
    let mut histograms = BTreeMap::new();
    let mut gauges = BTreeMap::new();
    for (key, unit, _, value) in snapshotter.snapshot().into_vec() {
        let (kind, key) = key.into_parts();
        let mut labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        labels.sort();
        let name = format!("{} {}", key.name(), labels.join(" "));
        match (kind, value) {
            (MetricKind::Counter, DebugValue::Counter(n)) => {
                counters.insert(name, n);
            }
            (MetricKind::Histogram, DebugValue::Histogram(values)) => {
                histograms.insert(name, (unit, values.iter().map(|v| v.into_inner()).collect::<Vec<f64>>()));
            }
            (MetricKind::Gauge, DebugValue::Gauge(v)) => {
                gauges.insert(name, v.into_inner());
            }
            other => panic!("{other:?}"),
        }
    }
    let place = "clhooks.topic=orders.place";
    let expected: BTreeMap<String, u64> = [
        (format!("clhooks.deliveries clhooks.outcome=handled {place} http.response.status_code=200"), 3),
        (format!("clhooks.deliveries clhooks.outcome=duplicate {place} http.response.status_code=200"), 1),
        (
            format!("clhooks.deliveries clhooks.outcome=failed {place} error.type=handler_failed http.response.status_code=500"),
            2,
        ),
        (
            format!(
                "clhooks.deliveries clhooks.outcome=refused {place} error.type=signature_mismatch http.response.status_code=401"
            ),
            1,
        ),
        (
            "clhooks.deliveries clhooks.outcome=refused clhooks.topic=unknown error.type=signature_mismatch http.response.status_code=401"
                .to_owned(),
            1,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(counters, expected);
    let (unit, handled) = &histograms
        [&format!("clhooks.answer.duration clhooks.outcome=handled {place} http.response.status_code=200")];
    assert_eq!(*unit, Some(metrics::Unit::Seconds));
    assert_eq!(handled.len(), 3);
    assert!(
        handled.iter().all(|s| (0.015..5.0).contains(s)),
        "seconds, past the handler's 20 ms: {handled:?}"
    );
    let (_, runs) = &histograms[&format!("clhooks.handler.duration clhooks.outcome=failed {place}")];
    assert_eq!(runs.len(), 2);
    let streaks: Vec<(&String, &f64)> = gauges.iter().collect();
    assert_eq!(
        streaks,
        [
            (&format!("clhooks.failure_streak {place} clhooks.verified=false"), &1.0),
            (&format!("clhooks.failure_streak {place} clhooks.verified=true"), &2.0),
            (&"clhooks.failure_streak clhooks.topic=unknown clhooks.verified=false".to_owned(), &1.0),
        ]
    );

    let text = lines.text();
    let records = lines.records();
    assert_eq!(records.len(), 8, "one record per request answered:\n{text}");
    let first = &records[0]["fields"];
    assert_eq!(
        (
            &first["topic"],
            &first["event_id"],
            &first["status"],
            &first["outcome"],
            &first["duplicate"],
            &first["streak"]
        ),
        (&"orders.place".into(), &"o1".into(), &200.into(), &"handled".into(), &false.into(), &0.into())
    );
    assert_eq!(records[0]["level"], "INFO");
    assert!(first["idempotency_key"].as_str().unwrap().len() == 64);
    assert!(first["duration_ms"].as_f64().unwrap() >= 15.0);
    assert_eq!(records[3]["fields"]["duplicate"], true);
    assert_eq!(
        (&records[5]["level"], &records[5]["fields"]["code"], &records[5]["fields"]["streak"]),
        (&"WARN".into(), &"handler_failed".into(), &2.into())
    );
    assert_eq!(
        (&records[6]["fields"]["outcome"], &records[6]["fields"]["code"]),
        (&"refused".into(), &"signature_mismatch".into())
    );
    assert_eq!(records[7]["fields"]["topic"], "unknown");
    for secret in [SECRET, "wrong", "attributes"] {
        assert!(!text.contains(secret), "{secret} in the logs");
    }
}
