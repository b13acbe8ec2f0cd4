//! No secret in any output: every public type that holds a shared secret keeps it out of its
//! `Debug` form, and out of everything a run prints or returns (reports, timelines, errors).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use clhooks::model::{SharedSecret, Webhook};
use clhooks::receiver::{MemoryStore, Receiver};
use clhooks::sender::simulate::{simulate, Scenario};
use clhooks::sender::{Driver, Policy, Sender, WebhookConfig};
use clhooks::{sign, Verifier};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

const SECRET: &str = "s3cr3t-never-printed-7f9a";

fn config() -> WebhookConfig {
    WebhookConfig {
        id: "wh".into(),
        name: Some("orders".into()),
        topic: "orders.place".parse().unwrap(),
        callback_url: "https://example.com/hooks".into(),
        include_resources: vec!["customer".into()],
        shared_secret: SharedSecret::new(SECRET),
    }
}

fn scenario() -> Scenario {
    serde_json::from_value(json!({
        "webhooks": [{"id": "wh", "topic": "orders.place", "callback_url": "https://example.com/hooks",
                      "shared_secret": SECRET}],
        "endpoints": {"https://example.com/hooks": {"script": [500, "timeout", 200]}},
        "events": [{"at_ms": 0, "topic": "orders.place"}],
    }))
    .unwrap()
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
}

#[wasm_bindgen_test(unsupported = test)]
fn debug_forms_hide_the_secret() {
    let verifier = Verifier::new([SECRET, "another"]).unwrap();
    assert_hidden("Verifier", &format!("{verifier:?}"));
    assert_hidden("SharedSecret", &format!("{:?}", SharedSecret::new(SECRET)));
    assert_hidden("WebhookConfig", &format!("{:?}", config()));
    assert_hidden("WebhookConfig (pretty)", &format!("{:#?}", config()));
    assert_hidden("Scenario", &format!("{:?}", scenario()));
    let mut sender = Sender::new(Policy::default());
    sender.add_webhook(config(), 0).unwrap();
    assert_hidden("Sender", &format!("{sender:?}"));
    let webhook: Webhook = sender.webhook("wh").unwrap();
    assert_eq!(webhook.attributes.shared_secret.as_ref().map(SharedSecret::expose), Some(SECRET));
    assert_hidden("Webhook", &format!("{webhook:?}"));
    let driver = Driver::simulated(&scenario()).unwrap();
    assert_hidden("Driver", &format!("{driver:?}"));
    let receiver = Receiver::new(Verifier::new([SECRET]).unwrap());
    assert_hidden("Receiver", &format!("{receiver:?}"));
    assert_hidden("MemoryStore", &format!("{:?}", MemoryStore::default()));
}

#[wasm_bindgen_test(unsupported = test)]
fn what_a_run_returns_and_prints_hides_the_secret() {
    let report = simulate(&scenario()).unwrap();
    assert_hidden("Report (JSON)", &serde_json::to_string(&report).unwrap());
    assert_hidden("Report (Debug)", &format!("{report:?}"));
    assert!(report.webhooks.iter().all(|w| w.attributes.shared_secret.is_none()));
}

#[wasm_bindgen_test(unsupported = test)]
fn errors_and_answers_never_carry_the_secret() {
    let verifier = Verifier::new([SECRET]).unwrap();
    let body = br#"{"data":{"id":"o1","type":"orders","attributes":{}}}"#;
    let wrong = sign(body, "other").unwrap();
    let error = verifier.verify(body, &wrong).unwrap_err();
    assert_hidden("Error (Display)", &error.to_string());
    assert_hidden("Error (Debug)", &format!("{error:?}"));
    let receiver = Receiver::new(verifier);
    let headers = [("X-CommerceLayer-Signature", wrong.as_str()), ("X-CommerceLayer-Topic", "orders.place")];
    let answer = receiver.receive("POST", headers, clhooks::Body::Bytes(body)).unwrap_err();
    assert_eq!(answer.status, 401);
    assert_hidden("Answer", &answer.body);
}
