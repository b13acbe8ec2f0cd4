//! The failure streaks shared on a real redis-server (started here on loopback) against the
//! shared cases of `tests/vectors/health.json`: the count script gives the same signals,
//! streaks and report as the core's own rule (`clhooks::health::Tally::count`), and two stores
//! on one Redis count one streak, whether counted on its own or in the script that ends a claim.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use clhooks::health::{self, Attempt, Report, Rules, Webhook};
use clhooks::receiver::{Claim, Terms};
use clhooks::Answer;
use clhooks_redis::RedisStore;
use serde_json::Value;

mod common;
use common::{server, server_with};

#[path = "../../../tests/common/health.rs"]
mod vectors;
use vectors::{has, secrets, written};

const CASES: &str = include_str!("../../../tests/vectors/health.json");

#[tokio::test]
async fn every_health_case_counts_the_same_on_redis() {
    let redis = server().await;
    let cases: Value = serde_json::from_str(CASES).unwrap();
    for (c, case) in cases["cases"].as_array().unwrap().iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        // Two stores on one Redis, taking turns: one streak.
        let prefix = format!("case{c}:");
        let stores = [
            RedisStore::connect(&redis.url, &prefix).await.unwrap(),
            RedisStore::connect(&redis.url, &prefix).await.unwrap(),
        ];
        let mut turn = 0;
        let terms = Terms { lease_ms: 60_000, keep_ms: 60_000, wait_ms: 2_000 };
        for (n, step) in case["attempts"].as_array().unwrap().iter().enumerate() {
            let status = u16::try_from(step["status"].as_u64().unwrap()).unwrap();
            let body = match step["code"].as_str() {
                Some(code) => Answer::error(status, code, "why").body,
                None => r#"{"received":"orders.place"}"#.to_owned(),
            };
            let answer = Answer { status, body };
            let webhooks = match step.get("refused") {
                Some(claimed) => health::refused(
                    &answer,
                    claimed.as_str(),
                    step["from_commerce_layer"].as_bool().unwrap(),
                    usize::try_from(step["secrets"].as_u64().unwrap()).unwrap(),
                ),
                None => vec![Webhook::from_key(step["webhook"].as_str().unwrap()).unwrap()],
            };
            let mut signals = Vec::new();
            let mut now = None;
            for i in 0..step["times"].as_u64().unwrap_or(1) {
                let at = step["at"].as_u64().unwrap() + i * step["every"].as_u64().unwrap_or(0);
                let attempt = Attempt::of(&answer, at, step["latency"].as_u64().unwrap());
                let refused = step.get("refused").is_some();
                for webhook in &webhooks {
                    turn += 1;
                    let store = &stores[turn % 2];
                    // Every other verified attempt ends a claim of its own and counts in the
                    // same script (the fold): the same streak either way, the claim ended.
                    let (signal, streak) = if refused || turn % 4 < 2 {
                        store.count(webhook, &attempt).await.unwrap()
                    } else {
                        let key = format!("key-{n}-{i}");
                        let handled = answer.is_success();
                        assert_eq!(store.claim(&key, terms).await.unwrap(), Claim::Fresh);
                        let counted =
                            store.end_counting(&key, handled, terms, webhook, &attempt).await.unwrap();
                        let expected = if handled { Claim::Duplicate } else { Claim::Fresh };
                        assert_eq!(
                            store.claim(&key, terms).await.unwrap(),
                            expected,
                            "{name}: the claim ended"
                        );
                        counted
                    };
                    signals.extend(signal.map(written));
                    now = Some(streak);
                }
            }
            if let Some(expected) = step.get("signals") {
                let expected: Vec<&str> =
                    expected.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
                assert_eq!(signals, expected, "{name}, attempt {n}: the signals");
            }
            if let Some(streak) = step["streak"].as_u64() {
                assert_eq!(now.map(u64::from), Some(streak), "{name}, attempt {n}: the streak");
            }
        }
        if let Some(report) = case.get("report") {
            let secrets = secrets(case);
            let answer = Report::new(Rules::default(), stores[0].tallies().await.unwrap())
                .with_secrets(&secrets)
                .answer();
            assert_eq!(u64::from(answer.status), report["status"].as_u64().unwrap(), "{name}: the status");
            let body: Value = serde_json::from_str(&answer.body).unwrap();
            assert!(
                has(&body, &report["body"]),
                "{name}: the report\n{body:#}\nhas not\n{:#}",
                report["body"]
            );
        }
    }
}

/// On a Redis Cluster (here one node holding every slot) a script's keys must share a slot: the
/// fold runs under a prefix with a hash tag, and without one the store ends and counts in two
/// scripts, the claim ended and the attempt counted all the same.
#[tokio::test]
async fn on_a_cluster_the_fold_needs_a_hash_tag_and_falls_back_without_one() {
    let dir = std::env::temp_dir().join(format!("clhooks-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("nodes.conf");
    let redis =
        server_with(&["--cluster-enabled", "yes", "--cluster-config-file", config.to_str().unwrap()]).await;
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: () =
        redis::cmd("CLUSTER").arg("ADDSLOTSRANGE").arg(0).arg(16383).query_async(&mut admin).await.unwrap();
    for _ in 0..500 {
        let info: String = redis::cmd("CLUSTER").arg("INFO").query_async(&mut admin).await.unwrap();
        if info.contains("cluster_state:ok") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let terms = Terms { lease_ms: 60_000, keep_ms: 60_000, wait_ms: 2_000 };
    let failed = Answer::error(500, "handler_failed", "why");
    let webhook = Webhook::from_key("v:orders.place").unwrap();
    for prefix in ["clhooks:seen:", "{hooks}:seen:"] {
        let store = RedisStore::connect(&redis.url, prefix).await.unwrap();
        for n in 1..=3_u32 {
            let key = format!("key-{n}");
            assert_eq!(store.claim(&key, terms).await.unwrap(), Claim::Fresh);
            let attempt = Attempt::of(&failed, u64::from(n), 1);
            let (_, streak) = store.end_counting(&key, false, terms, &webhook, &attempt).await.unwrap();
            assert_eq!(streak, n, "{prefix}: counted");
            assert_eq!(store.claim(&key, terms).await.unwrap(), Claim::Fresh, "{prefix}: released");
        }
    }
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}
