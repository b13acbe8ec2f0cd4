//! Failure streaks (`clhooks::health`) against the shared cases of `tests/vectors/health.json`,
//! natively and on wasm32 (the JS package runs the same file through its `Health`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use clhooks::health::redis::RedisHealth;
use clhooks::health::{self, Attempt, Health, Rules, Signal, Webhook};
use clhooks::sender::Policy;
use clhooks::Answer;
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

#[path = "common/health.rs"]
mod vectors;
use vectors::{has, secrets, written};

const CASES: &str = include_str!("vectors/health.json");

#[wasm_bindgen_test(unsupported = test)]
fn every_health_case() {
    let cases: Value = serde_json::from_str(CASES).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut health = Health::default();
        // The same attempts through the count's arguments and a store's fields, as a store that
        // runs no Lua keeps them (a Durable Object): read, applied, written back each time.
        let mut stored: std::collections::HashMap<String, Vec<(&'static str, String)>> = Default::default();
        let protocol = RedisHealth::new("", Rules::default());
        for (n, step) in case["attempts"].as_array().unwrap().iter().enumerate() {
            let status = u16::try_from(step["status"].as_u64().unwrap()).unwrap();
            let body = match step["code"].as_str() {
                Some(code) => Answer::error(status, code, "why").body,
                None => r#"{"received":"orders.place"}"#.to_owned(),
            };
            let answer = Answer { status, body };
            let webhooks = match step.get("refused") {
                Some(claimed) => {
                    let counted = health::refused(
                        &answer,
                        claimed.as_str(),
                        step["from_commerce_layer"].as_bool().unwrap(),
                        usize::try_from(step["secrets"].as_u64().unwrap()).unwrap(),
                    );
                    let keys: Vec<String> = counted.iter().map(Webhook::key).collect();
                    let expected: Vec<&str> =
                        step["counted"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
                    assert_eq!(keys, expected, "{name}, attempt {n}: the webhooks counted");
                    counted
                }
                None => vec![Webhook::from_key(step["webhook"].as_str().unwrap()).unwrap()],
            };
            let mut signals = Vec::new();
            let times = step["times"].as_u64().unwrap_or(1);
            for i in 0..times {
                let at = step["at"].as_u64().unwrap() + i * step["every"].as_u64().unwrap_or(0);
                let attempt = Attempt::of(&answer, at, step["latency"].as_u64().unwrap());
                for webhook in &webhooks {
                    let signal = health.count(webhook, &attempt);
                    let fields = stored.entry(webhook.key()).or_default();
                    let mut tally = RedisHealth::tally(fields.iter().map(|(k, v)| (*k, v.as_str())));
                    let (kind, streak, now) =
                        RedisHealth::apply(&mut tally, &protocol.count_args(webhook, &attempt)).unwrap();
                    *fields = RedisHealth::fields(&tally);
                    let (applied, _) = protocol.count_reply(&kind, streak.into(), now.into()).unwrap();
                    assert_eq!(applied, signal, "{name}, attempt {n}: applied from the arguments");
                    assert_eq!(
                        Some(&tally),
                        health.tally(webhook),
                        "{name}, attempt {n}: the fields read back"
                    );
                    signals.extend(signal.map(written));
                }
            }
            if let Some(expected) = step.get("signals") {
                let expected: Vec<&str> =
                    expected.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
                assert_eq!(signals, expected, "{name}, attempt {n}: the signals");
            }
            if let Some(streak) = step["streak"].as_u64() {
                let tally = health.tally(webhooks.last().unwrap()).unwrap();
                assert_eq!(u64::from(tally.streak), streak, "{name}, attempt {n}: the streak");
            }
        }
        if let Some(report) = case.get("report") {
            let secrets = secrets(case);
            let answer = health.report().with_secrets(&secrets).answer();
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

/// The rules are the sender's: what its policy says, the receiver counts by.
#[wasm_bindgen_test(unsupported = test)]
fn the_rules_are_the_senders() {
    let mut policy = Policy::default();
    (policy.notice_after, policy.breaker_threshold, policy.timeout_ms) = (2, 3, 100);
    let rules = Rules::from(&policy);
    assert_eq!((rules.notice_after, rules.breaker_threshold, rules.deadline_ms), (2, 3, 100));
    assert_eq!(Rules::default(), Rules::from(&Policy::default()));
    let mut health = Health::new(rules);
    let webhook = Webhook::verified("orders.place", None);
    let late = Attempt { status: 204, code: None, at_ms: 1_000, latency_ms: 101 };
    assert_eq!(health.count(&webhook, &late), None);
    assert!(matches!(health.count(&webhook, &late), Some(Signal::Streak { streak: 2, .. })));
    assert!(matches!(health.count(&webhook, &late), Some(Signal::Streak { streak: 3, .. })));
    assert!(health.report().open());
}

/// Past its bound, the webhook counted longest ago is forgotten: any caller can claim any
/// topic, and the counters stay bounded.
#[wasm_bindgen_test(unsupported = test)]
fn the_counters_are_bounded() {
    let mut health = Health::default();
    let failed = Attempt { status: 500, code: None, at_ms: 1, latency_ms: 1 };
    // A topic the catalogue does not know is counted as `unknown`: replaying a delivery under
    // made-up topics adds nothing.
    for n in 0..100 {
        health.count(&Webhook::verified(&format!("orders.made_up{n}"), None), &failed);
    }
    assert_eq!(health.report().webhooks.len(), 1);
    assert_eq!(health.tally(&Webhook::verified("orders.anything", None)).unwrap().streak, 100);
    let webhook =
        |n: usize| Webhook { topic: format!("t{n}"), secret: Some(format!("{n:x}")), verified: true };
    for n in 0..=health::MAX_WEBHOOKS {
        health.count(&webhook(n), &failed);
    }
    let report = health.report();
    assert_eq!(report.webhooks.len(), health::MAX_WEBHOOKS);
    assert!(
        health.tally(&Webhook::verified("orders.anything", None)).is_none(),
        "the one counted longest ago"
    );
    assert!(health.tally(&webhook(health::MAX_WEBHOOKS)).is_some());
}

/// A webhook's key names it back, and a key of no webhook names none.
#[wasm_bindgen_test(unsupported = test)]
fn keys_name_webhooks_back() {
    for webhook in [
        Webhook::verified("orders.place", Some("a1b2c3d4e5f60718")),
        Webhook::unverified(Some(" orders.place ")),
    ] {
        assert_eq!(Webhook::from_key(&webhook.key()), Some(webhook));
    }
    assert_eq!(Webhook::unverified(Some("orders.place")).key(), "u:orders.place");
    assert_eq!(Webhook::verified("orders.place", Some("ab")).key(), "v:orders.place#ab");
    for bad in ["", "x:orders.place", "v:orders.place#", "v:orders.place#not-hex", "orders.place"] {
        assert_eq!(Webhook::from_key(bad), None, "{bad}");
    }
}

/// Each answer a receiver gives has one outcome, for metrics and logs.
#[wasm_bindgen_test(unsupported = test)]
fn every_answer_has_one_outcome() {
    use clhooks::health::Outcome;
    let answer = |status, body: &str| Answer { status, body: body.to_owned() };
    let cases = [
        (answer(200, r#"{"received":"orders.place"}"#), true, "handled"),
        (answer(200, r#"{"received":"orders.place","duplicate":true}"#), true, "duplicate"),
        (answer(200, r#"{"received":"orders.place","handed_off":true}"#), true, "handed_off"),
        (answer(200, r#"{"received":"orders.place","in_flight":true}"#), true, "in_flight"),
        (Answer::error(409, "in_flight", "later"), true, "failed"),
        (Answer::error(500, "handler_failed", "why"), true, "failed"),
        (Answer::error(401, "signature_mismatch", "why"), false, "refused"),
    ];
    for (answer, verified, expected) in cases {
        assert_eq!(Outcome::of(&answer, verified).as_str(), expected, "{}", answer.body);
    }
    let names: Vec<&str> = Outcome::ALL.iter().map(Outcome::as_str).collect();
    assert_eq!(names, ["handled", "duplicate", "handed_off", "in_flight", "failed", "refused"]);
}

/// Each secret is a webhook of its own where several are set, named by a fingerprint that is
/// never the secret, and that the report does not show.
#[wasm_bindgen_test(unsupported = test)]
fn several_secrets_count_apart_by_fingerprint() {
    use clhooks::receiver::{Body, Receiver};
    use clhooks::Verifier;
    let one = Verifier::new(["only"]).unwrap();
    assert_eq!((one.fingerprint(0), one.fingerprints().len()), (None, 0), "one secret: the topic alone");
    let two = Verifier::new(["new-secret", "old-secret"]).unwrap();
    let (a, b) = (two.fingerprint(0).unwrap().to_owned(), two.fingerprint(1).unwrap().to_owned());
    assert!(a != b && a.len() == 16 && !a.contains("new") && two.fingerprint(2).is_none());
    assert_eq!(Verifier::new(["new-secret"]).unwrap().fingerprint(0), None);
    assert_eq!(
        Verifier::new(["x", "new-secret"]).unwrap().fingerprint(1),
        Some(a.as_str()),
        "the same secret, the same name"
    );
    let receiver = Receiver::new(two.clone());
    let body = br#"{"data":{"id":"o1","type":"orders","attributes":{}}}"#;
    for (secret, place) in [("new-secret", 0), ("old-secret", 1)] {
        let signature = clhooks::sign(body, secret).unwrap();
        let headers =
            [("X-CommerceLayer-Signature", signature.as_str()), ("X-CommerceLayer-Topic", "orders.place")];
        let delivery = receiver.receive("POST", headers, Body::Bytes(body)).unwrap();
        assert_eq!(delivery.secret, place);
        assert_eq!(
            receiver.webhook("orders.place", delivery.secret).secret.as_deref(),
            two.fingerprint(place)
        );
    }
    let mut health = Health::default();
    let failed = Attempt { status: 500, code: None, at_ms: 1, latency_ms: 1 };
    for _ in 0..5 {
        health.count(&receiver.webhook("orders.place", 1), &failed);
    }
    assert_eq!(
        health.tally(&receiver.webhook("orders.place", 0)),
        None,
        "the other secret's webhook is untouched"
    );
    let json = health.report().with_secrets(two.fingerprints()).to_json();
    assert!(json.contains(r#""secret":2"#) && !json.contains(&b) && !json.contains("old-secret"), "{json}");
}
