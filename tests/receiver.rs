//! The sans-IO receiver against the shared exchanges of `tests/vectors/receiver.json` (the same
//! file the JS receivers, `clhooks listen` and the examples answer), and the seen-store's claim.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use clhooks::payload::KeyScope;
use clhooks::receiver::{Action, Body, Claim, Duplicates, MemoryStore, Receiver, SeenStore, Session, Terms};
use clhooks::Verifier;
use common::{Exchange, Expected};
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

const T: Terms = Terms { lease_ms: 45_000, keep_ms: 15_525_000, wait_ms: 2_000 };

fn receiver() -> Receiver {
    let vectors = common::receiver();
    let mut receiver =
        Receiver::new(Verifier::new(&vectors.secrets).unwrap()).with_max_body_bytes(vectors.max_body_bytes);
    for pattern in &vectors.routes {
        receiver.route(pattern).unwrap();
    }
    receiver
}

/// Runs one exchange the way an adapter that stops reading at the limit does, and says what
/// came back: the answer, and what the handler saw (its routes and the delivery's key).
fn exchange(receiver: &Receiver, seen: &MemoryStore, case: &Exchange) -> Expected {
    let bytes = case.body.bytes();
    let body = if bytes.len() > receiver.max_body_bytes() { Body::TooLarge } else { Body::Bytes(&bytes) };
    let mut handled = None;
    let answer = receiver.handle(&case.method, case.headers.clone(), body, seen, |delivery, _| {
        handled = Some((delivery.routes.clone(), delivery.key.clone()));
        if case.handler.as_deref() == Some("fail") {
            Err("failing on purpose")
        } else {
            Ok(())
        }
    });
    let json: Value = serde_json::from_str(&answer.body).unwrap();
    let (routes, idempotency_key) = handled.filter(|_| answer.is_success()).unzip();
    Expected {
        status: answer.status,
        error: json["error"].as_str().map(str::to_owned),
        duplicate: json["duplicate"] == Value::Bool(true),
        routes,
        idempotency_key,
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn every_shared_exchange_gets_its_answer() {
    let vectors = common::receiver();
    let receiver = receiver();
    let seen = MemoryStore::default();
    for case in &vectors.requests {
        assert_eq!(exchange(&receiver, &seen, case), case.expect, "{}", case.name);
    }
    for case in &vectors.sequence {
        let mut got = exchange(&receiver, &seen, case);
        (got.routes, got.idempotency_key) = (None, None);
        assert_eq!(got, case.expect, "{}", case.name);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_handler_releases_the_key_and_a_success_records_it() {
    // The drift this replaces: a receiver that marked the key seen before the work was done
    // made the retry of a failed delivery look like a duplicate, and the event was lost.
    let receiver = receiver();
    let seen = MemoryStore::default();
    let case = &common::receiver().sequence[0];
    let mut runs = 0;
    for fail in [true, true, false, false] {
        let bytes = case.body.bytes();
        let answer = receiver.handle("POST", case.headers.clone(), Body::Bytes(&bytes), &seen, |_, _| {
            runs += 1;
            if fail {
                Err(())
            } else {
                Ok(())
            }
        });
        assert_eq!(answer.status, if fail { 500 } else { 200 });
    }
    assert_eq!(runs, 3, "two failures and one success run the handler; the last copy is a duplicate");
    assert_eq!(seen.len(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn concurrent_copies_never_both_run() {
    let receiver = receiver();
    let seen = MemoryStore::default();
    let case = &common::receiver().requests[0];
    let bytes = case.body.bytes();
    let delivery = receiver.receive("POST", case.headers.clone(), Body::Bytes(&bytes)).unwrap();
    let topic = &delivery.event.topic;
    // The first copy claims the key; a second arrives while its handler runs.
    let mut first = Session::new(&receiver, topic.clone(), 1, true, 0);
    let mut second = Session::new(&receiver, topic.clone(), 1, true, 0);
    for session in [&mut first, &mut second] {
        assert!(matches!(session.poll(), Some(Action::Claim(_))));
        session.claimed(seen.claim(&delivery.key, T).unwrap(), 1);
    }
    assert_eq!(first.poll(), Some(Action::Run { index: 0, duplicate: false }));
    let Some(Action::Answer(refused)) = second.poll() else { panic!("the copy is answered at once") };
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains(r#""error":"in_flight""#));
    assert_eq!(second.poll(), Some(Action::Count { folded: false }), "a 409 counts in the failure streak");
    assert!(second.is_done());
    // The first one's handler succeeds: recorded, then answered.
    first.handler_ended(true, 2);
    assert_eq!(first.poll(), Some(Action::End { handled: true, count: None }));
    seen.done(&delivery.key, T).unwrap();
    first.claim_ended(true);
    assert!(matches!(first.poll(), Some(Action::Answer(a)) if a.status == 200));
    assert_eq!(seen.claim(&delivery.key, T).unwrap(), Claim::Duplicate);
}

#[wasm_bindgen_test(unsupported = test)]
fn marked_duplicates_run_without_claiming() {
    let receiver = receiver().with_duplicates(Duplicates::Mark);
    let seen = MemoryStore::default();
    let case = &common::receiver().requests[0];
    let bytes = case.body.bytes();
    let mut flags = Vec::new();
    for _ in 0..2 {
        let answer =
            receiver.handle("POST", case.headers.clone(), Body::Bytes(&bytes), &seen, |_, duplicate| {
                flags.push(duplicate);
                Ok::<(), ()>(())
            });
        assert_eq!(answer.status, 200);
    }
    assert_eq!(flags, [false, true]);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_memory_store_forgets_the_oldest_handled_keys_first() {
    let seen = MemoryStore::new(2);
    for key in ["a", "b", "c"] {
        assert_eq!(seen.claim(key, T).unwrap(), Claim::Fresh);
        seen.done(key, T).unwrap();
    }
    assert_eq!(seen.len(), 2);
    assert_eq!(seen.claim("b", T).unwrap(), Claim::Duplicate);
    assert_eq!(seen.claim("c", T).unwrap(), Claim::Duplicate);
    assert_eq!(seen.claim("a", T).unwrap(), Claim::Fresh, "a was the oldest");
    // A key being handled is not forgotten, and a duplicate claim changes nothing.
    seen.done("a", T).unwrap();
    assert_eq!(seen.claim("b", T).unwrap(), Claim::Fresh);
    seen.release("b").unwrap();
    assert_eq!(seen.len(), 2);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_body_limit_is_the_core_default_and_configurable() {
    let receiver = Receiver::new(Verifier::new(["s"]).unwrap());
    assert_eq!(receiver.max_body_bytes(), clhooks::receiver::DEFAULT_MAX_BODY_BYTES);
    assert_eq!(receiver.max_body_bytes(), 5 * 1024 * 1024);
    let refused = receiver.receive("POST", [("a", "b")], Body::TooLarge).unwrap_err();
    assert_eq!(refused.status, 413);
    let small = receiver.with_max_body_bytes(10);
    let refused = small.receive("POST", [("a", "b")], Body::Bytes(b"01234567890")).unwrap_err();
    assert_eq!(refused.status, 413);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_refusal_answers_with_the_status_and_code_of_its_error() {
    for (error, status) in [
        (clhooks::Error::EmptySecret, 500),
        (clhooks::Error::SignatureMismatch, 401),
        (clhooks::Error::MissingTopic, 400),
    ] {
        let answer = Receiver::refusal(&error);
        let json: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!((answer.status, json["error"].as_str()), (status, Some(error.code())));
        assert_eq!(json["message"].as_str(), Some(error.to_string().as_str()));
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn answers_are_json_whatever_the_text() {
    let message = "a \"quoted\" \\ word,\nnew line, tab\t, bell \u{7}, NUL \u{0}, é and 😀";
    let answer = clhooks::Answer::error(400, "some_code", message);
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body, serde_json::json!({"error": "some_code", "message": message}));
    let too_large = receiver().with_max_body_bytes(3);
    let answer = too_large.receive("POST", [("a", "b")], Body::Bytes(b"four")).unwrap_err();
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(
        (answer.status, &body["error"], &body["limit"]),
        (413, &Value::from("payload_too_large"), &Value::from(3))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_body_resent_under_other_topics_is_one_claim_when_keyed_on_the_body() {
    // The topic header is not signed: one signed orders body can be sent as orders.place, then
    // orders.approve, orders.cancel… By default each topic is another key; keyed on the body
    // alone, the handler runs once.
    let body = br#"{"data":{"id":"o1","type":"orders","attributes":{}}}"#;
    let signature = clhooks::sign(body, "s").unwrap();
    let topics = ["orders.place", "orders.approve", "orders.cancel"];
    for (scope, want) in [(KeyScope::TopicAndBody, 3), (KeyScope::Body, 1)] {
        let receiver = Receiver::new(Verifier::new(["s"]).unwrap()).with_key_scope(scope);
        let seen = MemoryStore::default();
        let mut runs = 0;
        for topic in topics {
            let headers =
                [("X-CommerceLayer-Signature", signature.as_str()), ("X-CommerceLayer-Topic", topic)];
            let answer = receiver.handle("POST", headers, Body::Bytes(body), &seen, |_, _| {
                runs += 1;
                Ok::<(), ()>(())
            });
            assert_eq!(answer.status, 200);
        }
        assert_eq!(runs, want, "{scope:?}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_terms_follow_the_handler_timeout_and_the_retry_window() {
    let receiver = Receiver::new(Verifier::new(["s"]).unwrap());
    assert_eq!(receiver.terms(), Terms { lease_ms: 45_000, keep_ms: 15_525_000, wait_ms: 2_000 });
    let policy = clhooks::sender::Policy::default();
    assert_eq!(
        receiver.terms().keep_ms,
        policy.backoff_ms.iter().sum::<u64>(),
        "kept for the whole retry window"
    );
    assert!(receiver.lease_covers_handlers());
    let quick = Receiver::new(Verifier::new(["s"]).unwrap()).with_handler_timeout_ms(1_000);
    assert_eq!(quick.terms().lease_ms, 16_000, "past the handler timeout and the store wait");
    let unbounded = Receiver::new(Verifier::new(["s"]).unwrap()).with_handler_timeout_ms(0);
    assert_eq!(unbounded.terms().lease_ms, clhooks::receiver::UNBOUNDED_LEASE_MS);
    for bad in [
        Receiver::new(Verifier::new(["s"]).unwrap()).with_lease_ms(30_000),
        // The handler timer starts when the claim is answered, up to the store wait later.
        Receiver::new(Verifier::new(["s"]).unwrap()).with_lease_ms(31_000),
        Receiver::new(Verifier::new(["s"]).unwrap()).with_lease_ms(0),
        Receiver::new(Verifier::new(["s"]).unwrap()).with_keep_ms(0),
    ] {
        assert!(!bad.lease_covers_handlers(), "{:?}", bad.terms());
    }
}

/// A store that is down.
struct Down;

impl SeenStore for Down {
    fn claim(&self, _: &str, _: Terms) -> clhooks::Result<Claim> {
        Err(clhooks::Error::StoreUnavailable { message: "connection refused".into() })
    }
    fn done(&self, _: &str, _: Terms) -> clhooks::Result<()> {
        unreachable!("nothing was claimed")
    }
    fn release(&self, _: &str) -> clhooks::Result<()> {
        unreachable!("nothing was claimed")
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_store_that_is_down_is_answered_503_and_no_handler_runs() {
    let receiver = receiver();
    let case = &common::receiver().requests[0];
    let bytes = case.body.bytes();
    let answer =
        receiver.handle("POST", case.headers.clone(), Body::Bytes(&bytes), &Down, |_, _| -> Result<(), ()> {
            panic!("no handler runs without a claim")
        });
    assert_eq!(answer.status, 503);
    assert!(answer.body.contains(r#""error":"store_unavailable""#), "{}", answer.body);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_copy_in_flight_is_retried_by_default_or_accepted() {
    let topic = clhooks::Topic::parse("orders.place").unwrap();
    assert_eq!(receiver().claimed(&topic, Claim::InFlight).unwrap_err().status, 409);
    let accept = receiver().with_in_flight(clhooks::receiver::InFlight::Accept);
    let answer = accept.claimed(&topic, Claim::InFlight).unwrap_err();
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#"{"received":"orders.place","in_flight":true}"#)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn lingering_reads_the_rest_of_a_refused_body_within_bytes_and_time() {
    use clhooks::receiver::{Linger, LINGER_EXTRA_BYTES, LINGER_MS};
    let receiver = Receiver::new(Verifier::new(["s"]).unwrap()).with_max_body_bytes(1_000);
    let mut linger = receiver.linger(50_000);
    assert_eq!(linger, Linger::new(50_000, 1_000));
    assert_eq!(linger.until_ms(), 50_000 + LINGER_MS);
    assert_eq!(Linger::bytes(1_000), 1_000 + LINGER_EXTRA_BYTES);
    // A 6 MiB body against the default 5 MiB limit is read whole.
    assert!(Linger::bytes(clhooks::receiver::DEFAULT_MAX_BODY_BYTES) > 6 << 20);
    // Up to the byte bound exactly, then no more.
    assert!(linger.read(1_000, 50_001));
    assert!(linger.read(LINGER_EXTRA_BYTES - 1, 50_002));
    assert!(linger.read(1, 50_003));
    assert!(!linger.read(1, 50_004));
    assert!(!linger.read(0, 50_005), "once over, it stays over");
    // The time bound, whatever the bytes.
    let mut slow = Linger::new(0, 1_000);
    assert!(slow.read(0, LINGER_MS - 1));
    assert!(!slow.read(0, LINGER_MS));
    // No overflow at the edges.
    let mut edge = Linger::new(u64::MAX, usize::MAX);
    assert_eq!(edge.until_ms(), u64::MAX);
    assert!(edge.read(usize::MAX, 0));
    assert!(!edge.read(1, 0));
}

/// What a Redis claim found, read by the core (`tests/vectors/claims.json`, which the package's
/// receivers answer too).
#[test]
#[wasm_bindgen_test]
fn a_redis_claim_means_what_the_key_held() {
    let vectors: Value = serde_json::from_str(include_str!("vectors/claims.json")).unwrap();
    for case in vectors["cases"].as_array().unwrap() {
        let claim = clhooks::store::RedisProtocol::claim_held(case["held"].as_str());
        assert_eq!(claim.as_str(), case["claim"].as_str().unwrap(), "{case}");
    }
}
