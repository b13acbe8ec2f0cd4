//! The delivery session (`clhooks::receiver::Session`) against the shared cases of
//! `tests/vectors/sessions.json`, natively and on wasm32 (the JS package runs the same file).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use clhooks::receiver::{Action, Claim, Duplicates, Handoff, InFlight, Receiver, Session};
use clhooks::{Topic, Verifier};
use serde_json::{json, Value};
use wasm_bindgen_test::wasm_bindgen_test;

const CASES: &str = include_str!("vectors/sessions.json");

fn receiver(settings: &Value) -> Receiver {
    let mut receiver = Receiver::new(Verifier::new(["secret"]).unwrap());
    if let Some(ms) = settings["handler_timeout_ms"].as_u64() {
        receiver = receiver.with_handler_timeout_ms(ms);
    }
    if let Some(ms) = settings["store_timeout_ms"].as_u64() {
        receiver = receiver.with_store_timeout_ms(ms);
    }
    if settings["duplicates"] == "mark" {
        receiver = receiver.with_duplicates(Duplicates::Mark);
    }
    if settings["in_flight"] == "accept" {
        receiver = receiver.with_in_flight(InFlight::Accept);
    }
    match settings["handoff"].as_str() {
        Some("claims") => receiver = receiver.with_handoff(Handoff::Queue { claims: true }),
        Some("queue") => receiver = receiver.with_handoff(Handoff::Queue { claims: false }),
        _ => {}
    }
    receiver
}

/// An action as the vectors write it.
fn written(action: Action) -> Value {
    match action {
        Action::Claim(terms) => {
            json!({ "claim": { "lease_ms": terms.lease_ms, "keep_ms": terms.keep_ms, "wait_ms": terms.wait_ms } })
        }
        Action::Run { index, duplicate } => json!({ "run": [index, duplicate] }),
        Action::End { handled, count: None } => json!({ "end": handled }),
        Action::End { handled, count: Some(answer) } => {
            json!({ "end": handled, "counting": answer.status })
        }
        Action::Tell(notice) => json!({ "tell": notice.code() }),
        Action::Enqueue { claim } => json!({ "enqueue": claim }),
        Action::Count { folded: false } => json!({ "count": true }),
        Action::Count { folded: true } => json!({ "count": "folded" }),
        Action::Answer(answer) => {
            let body: Value = serde_json::from_str(&answer.body).unwrap();
            let status = answer.status.to_string();
            let said = if let Some(code) = body["error"].as_str() {
                format!("{status} {code}")
            } else if body["duplicate"] == true {
                format!("{status} duplicate")
            } else if body["in_flight"] == true {
                format!("{status} in_flight")
            } else if body["handed_off"] == true {
                assert_eq!(body["received"], "orders.place", "{}", answer.body);
                format!("{status} handed_off")
            } else {
                assert_eq!(body["received"], "orders.place", "{}", answer.body);
                status
            };
            json!({ "answer": said })
        }
    }
}

fn claim(word: &str) -> Claim {
    match word {
        "fresh" => Claim::Fresh,
        "duplicate" => Claim::Duplicate,
        "in_flight" => Claim::InFlight,
        other => panic!("no claim {other}"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn every_session_case() {
    let cases: Value = serde_json::from_str(CASES).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let receiver = receiver(&case["receiver"]);
        let topic = Topic::parse("orders.place").unwrap();
        let handlers = usize::try_from(case["handlers"].as_u64().unwrap()).unwrap();
        let mut session: Option<Session> = None;
        for (n, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let at = step["at"].as_u64().unwrap();
            let session = session.get_or_insert_with(|| {
                let mut session = Session::new(&receiver, topic.clone(), handlers, case["store"] == true, at);
                if let Some(arrived) = case["fold"].as_u64() {
                    session.fold_counts(arrived);
                }
                session
            });
            if let Some(word) = step["claimed"].as_str() {
                session.claimed(claim(word), at);
            } else if let Some(word) = step["enqueued"].as_str() {
                session.enqueued(claim(word), at);
            } else if step["enqueue_failed"] == true {
                session.enqueue_failed(at);
            } else if let Some(message) = step["store_failed"].as_str() {
                session.store_failed(message);
            } else if let Some(outcome) = step["handler"].as_str() {
                session.handler_ended(outcome == "ok", at);
            } else if let Some(outcome) = step["claim_ended"].as_str() {
                session.claim_ended(outcome == "ok");
            } else if step["unfolded"] == true {
                session.unfolded();
            } else if step["wake"] == true {
                session.wake(at);
            }
            let actions: Vec<Value> = std::iter::from_fn(|| session.poll()).map(written).collect();
            assert_eq!(Value::Array(actions), step["expect"], "{name}, step {n}");
            if let Some(wake) = step.get("next_wake") {
                assert_eq!(
                    session.next_wake().map_or(Value::Null, Value::from),
                    *wake,
                    "{name}, step {n}: the next wake-up"
                );
            }
            if let Some(over) = step["over"].as_bool() {
                assert_eq!(session.is_over(), over, "{name}, step {n}: over");
            }
        }
    }
}

/// The session answers once, whatever the caller tells it after, and ignores what does not
/// apply to where it is (a claim while handlers run, a handler end while claiming).
#[wasm_bindgen_test(unsupported = test)]
fn out_of_place_inputs_change_nothing() {
    let receiver = Receiver::new(Verifier::new(["secret"]).unwrap());
    let topic = Topic::parse("orders.place").unwrap();
    let mut session = Session::new(&receiver, topic, 1, true, 0);
    assert!(matches!(session.poll(), Some(Action::Claim(_))));
    session.handler_ended(true, 1);
    assert_eq!(session.poll(), None);
    session.claimed(Claim::Fresh, 2);
    assert!(matches!(session.poll(), Some(Action::Run { index: 0, duplicate: false })));
    session.claimed(Claim::Fresh, 3);
    session.store_failed("late news");
    assert_eq!(session.poll(), None);
    session.handler_ended(true, 4);
    assert_eq!(session.poll(), Some(Action::End { handled: true, count: None }));
    session.handler_ended(false, 5);
    session.claimed(Claim::InFlight, 5);
    assert_eq!(session.poll(), None);
    session.claim_ended(true);
    assert!(matches!(session.poll(), Some(Action::Answer(a)) if a.status == 200));
    assert_eq!(session.poll(), Some(Action::Count { folded: false }));
    session.claim_ended(false);
    session.wake(u64::MAX);
    assert_eq!(session.poll(), None);
    assert!(session.answered() && session.is_over());
}

/// The in-memory store behind the async trait answers at once (no runtime needed), as its
/// synchronous methods do.
#[wasm_bindgen_test(unsupported = test)]
fn the_memory_store_answers_the_async_trait_at_once() {
    use clhooks::receiver::{AsyncSeenStore, MemoryStore, StoreFuture};
    use std::task::{Context, Poll, Waker};
    fn now<T>(mut future: StoreFuture<'_, T>) -> clhooks::Result<T> {
        match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("the memory store made a caller wait"),
        }
    }
    let memory = MemoryStore::new(8);
    let store: &dyn AsyncSeenStore = &memory;
    let terms = Receiver::new(Verifier::new(["secret"]).unwrap()).terms();
    assert_eq!(now(store.claim("k", terms)).unwrap(), Claim::Fresh);
    assert_eq!(now(store.claim("k", terms)).unwrap(), Claim::InFlight);
    now(store.end("k", terms, false)).unwrap();
    assert_eq!(now(store.claim("k", terms)).unwrap(), Claim::Fresh);
    now(store.end("k", terms, true)).unwrap();
    assert_eq!(now(store.claim("k", terms)).unwrap(), Claim::Duplicate);
}
