//! clhooks-axum's failure streaks: a handler that always fails is told at the 5th and the 30th
//! consecutive failed attempt (as Commerce Layer e-mails the owner and opens the circuit), the
//! health endpoint turns 503, a success ends it; an answer later than 5 s counts as failed even
//! when it is a 200; signature mismatches are a streak of their own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use clhooks::health::{Circuit, Signal};
use clhooks_axum::{Event, Failure, Webhooks};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[path = "../../redis/tests/common/mod.rs"]
mod common;

const SECRET: &str = "axum-health-secret";

fn delivery(n: usize, secret: &str) -> Request<Body> {
    let body = format!(r#"{{"data":{{"id":"o{n}","type":"orders","attributes":{{}}}}}}"#);
    Request::post("/webhooks")
        .header("x-commercelayer-topic", "orders.place")
        .header("x-commercelayer-signature", clhooks::sign(body.as_bytes(), secret).unwrap())
        .body(Body::from(body))
        .unwrap()
}

async fn status(app: &Router, request: Request<Body>) -> StatusCode {
    app.clone().oneshot(request).await.unwrap().status()
}

async fn probe(app: &Router) -> (StatusCode, serde_json::Value) {
    let response = app.clone().oneshot(Request::get("/health").body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

type Told = Arc<Mutex<Vec<(String, Option<Signal>, bool)>>>;

/// A router with its health endpoint on `/health`, its hook's notices kept.
fn app(failing: Arc<AtomicBool>, delay: Duration) -> (Router, Told) {
    let told: Told = Arc::default();
    let kept = Arc::clone(&told);
    let webhooks = Webhooks::new([SECRET])
        .unwrap()
        .on("orders.*", move |_event: Event| {
            let failing = failing.load(Ordering::SeqCst);
            async move {
                tokio::time::sleep(delay).await;
                if failing {
                    Err(std::io::Error::other("the database is down"))
                } else {
                    Ok(())
                }
            }
        })
        .unwrap()
        .on_error(move |failure| {
            let (signal, verified) = match failure {
                Failure::Streak { webhook, signal } => (Some(*signal), webhook.verified),
                _ => (None, true),
            };
            kept.lock().unwrap().push((failure.code().to_owned(), signal, verified));
        });
    let health = webhooks.health();
    (webhooks.into_router("/webhooks").merge(health.into_router("/health")), told)
}

fn streaks(told: &Told) -> Vec<(Signal, bool)> {
    told.lock().unwrap().iter().filter_map(|(_, signal, verified)| signal.map(|s| (s, *verified))).collect()
}

#[tokio::test]
async fn the_owner_is_told_at_the_5th_and_the_30th_failure_and_the_probe_turns_503() {
    let failing = Arc::new(AtomicBool::new(true));
    let (app, told) = app(Arc::clone(&failing), Duration::ZERO);
    for n in 1..=4 {
        assert_eq!(status(&app, delivery(n, SECRET)).await, StatusCode::INTERNAL_SERVER_ERROR);
    }
    assert!(streaks(&told).is_empty());
    let (code, report) = probe(&app).await;
    assert_eq!(
        (code, report["status"].as_str(), report["webhooks"][0]["streak"].as_u64()),
        (StatusCode::OK, Some("failing"), Some(4))
    );
    for n in 5..=30 {
        assert_eq!(status(&app, delivery(n, SECRET)).await, StatusCode::INTERNAL_SERVER_ERROR);
    }
    assert_eq!(
        streaks(&told),
        [
            (Signal::Streak { streak: 5, circuit: Circuit::Notice }, true),
            (Signal::Streak { streak: 30, circuit: Circuit::Open }, true)
        ]
    );
    let (code, report) = probe(&app).await;
    assert_eq!(
        (code, report["webhooks"][0]["circuit"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("open"))
    );
    assert_eq!(report["webhooks"][0]["last_failure"]["reason"], "handler_failed");
    assert!(!report.to_string().contains(SECRET));
    failing.store(false, Ordering::SeqCst);
    assert_eq!(status(&app, delivery(31, SECRET)).await, StatusCode::OK);
    assert_eq!(streaks(&told).last().unwrap().0, Signal::Ended { streak: 30 });
    let (code, report) = probe(&app).await;
    assert_eq!((code, report["status"].as_str()), (StatusCode::OK, Some("ok")));
    // Signature mismatches: a streak of their own, which never turns the probe 503.
    for n in 1..=30 {
        assert_eq!(status(&app, delivery(n, "a rotated secret")).await, StatusCode::UNAUTHORIZED);
    }
    let unverified: Vec<_> = streaks(&told).into_iter().filter(|(_, verified)| !verified).collect();
    assert_eq!(unverified.len(), 2);
    assert_eq!(probe(&app).await.0, StatusCode::OK);
}

/// Commerce Layer gave up at 5 s: a 200 given after it is a failed attempt.
#[tokio::test]
async fn a_200_later_than_5_s_counts_as_failed() {
    let (app, _told) = app(Arc::new(AtomicBool::new(false)), Duration::from_millis(5_100));
    assert_eq!(status(&app, delivery(1, SECRET)).await, StatusCode::OK);
    let (_, report) = probe(&app).await;
    let webhook = &report["webhooks"][0];
    assert_eq!(
        (webhook["streak"].as_u64(), webhook["last_failure"]["reason"].as_str()),
        (Some(1), Some("late"))
    );
    assert_eq!(webhook["last_failure"]["status"], 200);
}

/// Two instances sharing a Redis store count one streak: the owner is told once at the 5th and
/// once at the 30th, whichever instance the attempt reached; either probe sees it; a success on
/// either ends it; and an instance started afterwards sees the same counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_redis_count_one_streak() {
    let redis = common::server().await;
    let failing = Arc::new(AtomicBool::new(true));
    let told: Told = Arc::default();
    let instance = |told: Told, failing: Arc<AtomicBool>| {
        let redis = redis.url.clone();
        async move {
            let store = clhooks_redis::RedisStore::connect(&redis, "shared:").await.unwrap();
            let webhooks = Webhooks::new([SECRET])
                .unwrap()
                .store(store)
                .on("orders.*", move |_event: Event| {
                    let failing = failing.load(Ordering::SeqCst);
                    async move {
                        if failing {
                            Err(std::io::Error::other("the database is down"))
                        } else {
                            Ok(())
                        }
                    }
                })
                .unwrap()
                .on_error(move |failure| {
                    if let Failure::Streak { webhook, signal } = failure {
                        told.lock().unwrap().push((
                            failure.code().to_owned(),
                            Some(*signal),
                            webhook.verified,
                        ));
                    }
                });
            let health = webhooks.health();
            webhooks.into_router("/webhooks").merge(health.into_router("/health"))
        }
    };
    let apps = [
        instance(Arc::clone(&told), Arc::clone(&failing)).await,
        instance(Arc::clone(&told), Arc::clone(&failing)).await,
    ];
    // Counted after each answer, on a task: waited for before the next, as Commerce Layer's
    // attempts of one webhook come one after another.
    let settled = |n: usize| {
        let apps = apps.clone();
        async move {
            for _ in 0..500 {
                let (_, report) = probe(&apps[0]).await;
                if report["webhooks"][0]["streak"].as_u64() == Some(n as u64) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            panic!("the streak never reached {n}");
        }
    };
    for n in 1..=30 {
        assert_eq!(status(&apps[n % 2], delivery(n, SECRET)).await, StatusCode::INTERNAL_SERVER_ERROR);
        settled(n).await;
    }
    // The owner is told on the counting task, just after the count.
    told_at_least(&told, 2).await;
    assert_eq!(
        streaks(&told),
        [
            (Signal::Streak { streak: 5, circuit: Circuit::Notice }, true),
            (Signal::Streak { streak: 30, circuit: Circuit::Open }, true)
        ]
    );
    for app in &apps {
        let (code, report) = probe(app).await;
        assert_eq!(
            (code, report["webhooks"][0]["circuit"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("open"))
        );
    }
    // A third instance, started now (a restart), sees the same counters.
    let later = instance(Arc::clone(&told), Arc::clone(&failing)).await;
    assert_eq!(probe(&later).await.0, StatusCode::SERVICE_UNAVAILABLE);
    failing.store(false, Ordering::SeqCst);
    assert_eq!(status(&later, delivery(31, SECRET)).await, StatusCode::OK);
    settled(0).await;
    told_at_least(&told, 3).await;
    assert_eq!(streaks(&told).last().unwrap().0, Signal::Ended { streak: 30 });
    assert_eq!(streaks(&told).len(), 3, "each threshold told once, by one instance");
    assert_eq!(probe(&apps[1]).await.0, StatusCode::OK);
    // Two round trips a delivery: the claim, one SET, then one script that ends the claim and
    // counts the answer (failed calls, such as a first NOSCRIPT, left out).
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let stats: String = redis::cmd("INFO").arg("commandstats").query_async(&mut connection).await.unwrap();
    let calls = |command: &str| -> u64 {
        stats.lines().find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls="))).map_or(
            0,
            |rest| {
                let field = |name: &str| -> u64 {
                    rest.split(',').find_map(|f| f.strip_prefix(name)).map_or(0, |n| n.parse().unwrap())
                };
                rest.split(',').next().unwrap().parse::<u64>().unwrap() - field("failed_calls=")
            },
        )
    };
    // The SETs: 31 claims, and the record of the one handled delivery its end script wrote
    // (Redis counts the commands a script runs too).
    assert_eq!((calls("eval") + calls("evalsha"), calls("set")), (31, 31 + 1), "{stats}");
}

/// Waits (at most 2.5 s) until `told` holds `n` streak notices.
async fn told_at_least(told: &Told, n: usize) {
    for _ in 0..500 {
        if streaks(told).len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("fewer than {n} notices: {:?}", streaks(told));
}
