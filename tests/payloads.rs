//! Payload vectors: receive and denormalize, natively and on wasm32.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use clhooks::payload::{self, DenormalizeOptions};
use clhooks::{receive, sign, Document, Verifier};
use common::outcome;
use serde_json::{json, Value};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test(unsupported = test)]
fn receive_vectors() {
    let vectors = common::payloads();
    assert!(vectors.receive.iter().filter(|c| c.expect == "ok").count() >= 3);
    for case in &vectors.receive {
        let body = case.body.bytes();
        let verifier = Verifier::new(&case.secrets).unwrap();
        let headers = case.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let got = receive(&body, headers, &verifier);
        assert_eq!(outcome(&got), case.expect, "{}", case.name);
        let Ok(event) = got else { continue };
        assert_eq!(Some(event.topic.as_str()), case.topic.as_deref(), "{}", case.name);
        assert_eq!(Some(event.resource().kind.as_str()), case.kind.as_deref(), "{}", case.name);
        assert_eq!(Some(event.resource().id.as_str()), case.id.as_deref(), "{}", case.name);
        assert_eq!(Some(event.document.included.len()), case.included, "{}", case.name);
        assert_eq!(event.body, body);
        assert_eq!(Some(event.idempotency_key()), case.idempotency_key, "{}", case.name);
        let denormalized = event.denormalize().unwrap();
        for (pointer, expected) in &case.denormalized {
            assert_eq!(denormalized.pointer(pointer), Some(expected), "{}: {pointer}", case.name);
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn denormalize_vectors() {
    let vectors = common::payloads();
    assert!(vectors.denormalize.len() >= 6);
    for case in &vectors.denormalize {
        let document = Document::from_value(case.document.clone()).unwrap();
        let options = DenormalizeOptions::default().with_max_depth(case.max_depth.unwrap_or(2));
        match (document.denormalize_with(options), &case.expected) {
            (Ok(got), Some(expected)) => assert_eq!(&got, expected, "{}", case.name),
            (Err(clhooks::Error::DenormalizeLimit { limit, .. }), None) => {
                assert_eq!(case.error.as_deref(), Some("denormalize_limit"), "{}", case.name);
                assert_eq!(Some(limit), case.limit.as_deref(), "{}", case.name);
            }
            (got, _) => panic!("{}: {got:?}", case.name),
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_fixture_round_trips_without_loss() {
    let original: Value = serde_json::from_slice(common::FIXTURE).unwrap();
    let document = payload::parse(common::FIXTURE).unwrap();
    assert_eq!(serde_json::to_value(&document).unwrap(), original);
    assert_eq!(serde_json::from_str::<Value>(&document.to_json()).unwrap(), original);
    let order = document.data.attributes.keys().next().unwrap();
    assert_eq!(order, "number", "attribute order is kept");
    assert_eq!(document.data.mode().unwrap().as_str(), "test");
}

#[wasm_bindgen_test(unsupported = test)]
fn unknown_members_survive_a_round_trip() {
    let value = json!({
        "data": {"id": "x", "type": "orders", "attributes": {"brand_new": {"a": [1, 2]}},
                 "relationships": {"market": {"data": {"id": "m", "type": "markets", "meta": {"k": 1}},
                                              "novel": true},
                                   "empty": {"data": null},
                                   "lazy": {"links": {"related": "/x"}}},
                 "something": "else"},
        "jsonapi": {"version": "1.1"}
    });
    let document = Document::from_value(value.clone()).unwrap();
    assert_eq!(serde_json::to_value(&document).unwrap(), value);
}

fn all_related(n: usize) -> Document {
    // Every resource relates to every other: the expansion grows factorially with n.
    let ids: Vec<Value> = (0..n).map(|i| json!({"id": i.to_string(), "type": "things"})).collect();
    let resource =
        |i: usize| json!({"id": i.to_string(), "type": "things", "relationships": {"all": {"data": ids}}});
    Document::from_value(json!({"data": resource(0), "included": (1..n).map(resource).collect::<Vec<_>>()}))
        .unwrap()
}

#[wasm_bindgen_test(unsupported = test)]
fn denormalize_budget_is_an_error_not_a_hang() {
    let err =
        all_related(12).denormalize_with(DenormalizeOptions::default().with_max_nodes(10_000)).unwrap_err();
    assert_eq!(err.code(), "denormalize_limit");
    assert!(err.to_string().contains("10000"));
    assert!(matches!(err, clhooks::Error::DenormalizeLimit { limit: "max_nodes", value: 10_000 }));
    let small = all_related(4).denormalize_with(DenormalizeOptions::default().with_max_depth(1)).unwrap();
    // With max_depth 1 no resource repeats on a path: the root, then 3 others, 3·2, 3·2·1.
    assert_eq!(small.to_string().matches("\"all\"").count(), 1 + 3 + 6 + 6);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_long_chain_is_cut_at_the_nesting_limit() {
    let n = 2_000;
    let link = |i: usize| {
        json!({"id": i.to_string(), "type": "links",
               "relationships": {"next": {"data": {"id": (i + 1).to_string(), "type": "links"}}}})
    };
    let document =
        Document::from_value(json!({"data": link(0), "included": (1..n).map(link).collect::<Vec<_>>()}))
            .unwrap();
    let out = document.denormalize().unwrap();
    let mut depth = 0;
    let mut node = &out;
    while let Some(next) = node.get("next") {
        node = next;
        depth += 1;
    }
    assert_eq!(depth, DenormalizeOptions::default().max_nesting);
    assert_eq!(node, &json!({"id": "32", "type": "links"}));
}

#[wasm_bindgen_test(unsupported = test)]
fn topic_is_checked_against_data_type() {
    let body = br#"{"data":{"id":"s1","type":"shipments"}}"#;
    let verifier = Verifier::new(["k"]).unwrap();
    let signature = sign(body, "k").unwrap();
    let headers = |topic: &'static str| {
        vec![("X-CommerceLayer-Signature", signature.clone()), ("X-CommerceLayer-Topic", topic.into())]
    };
    assert!(receive(body, headers("shipments.ship"), &verifier).is_ok());
    let err = receive(body, headers("orders.place"), &verifier).unwrap_err();
    assert_eq!(err.code(), "topic_mismatch");
    assert!(err.to_string().contains("shipments"));
}

#[wasm_bindgen_test(unsupported = test)]
fn the_rust_parser_refuses_nesting_deeper_than_128() {
    // A limit of the Rust parser (its stack), not of the protocol: the JavaScript package reads
    // with the engine's JSON.parse, which has none.
    let nested = |depth: usize| {
        format!(
            r#"{{"data":{{"id":"d","type":"orders","attributes":{{"n":{}{}}}}}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    assert!(payload::parse(nested(100).as_bytes()).is_ok());
    assert_eq!(payload::parse(nested(200).as_bytes()).unwrap_err().code(), "invalid_json");
}

#[wasm_bindgen_test(unsupported = test)]
fn shape_errors_say_where() {
    let message = |body: &str| payload::parse(body.as_bytes()).unwrap_err().to_string();
    let cases = [
        (
            r#"{"data":{"id":"x","type":"orders","attributes":null}}"#,
            "data.attributes is null; expected an object",
        ),
        (
            r#"{"data":{"id":"x","type":"orders","relationships":{"market":{},"customer":{"data":{"id":1,"type":"customers"}}}}}"#,
            "data.relationships.customer.data.id is a number; expected a string",
        ),
        (
            r#"{"data":{"id":"x","type":"orders"},"included":[{"id":"c","type":"customers"},{"id":"l","type":"line_items","relationships":{"sku":{"data":["s"]}}}]}"#,
            "included[1].relationships.sku.data[0] is a string; expected a resource identifier",
        ),
        (r#"{"data":{"id":"x","type":"orders"},"included":[{"type":"customers"}]}"#, "included[0] has no id"),
        (r#"{"data":{"id":"x","type":"orders"},"links":[]}"#, "links is an array; expected an object"),
    ];
    for (body, expected) in cases {
        assert!(message(body).ends_with(expected), "{body}: {}", message(body));
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn copies_of_large_resources_are_bounded_by_the_input() {
    // Five resources of 20 KB each, all related: a few thousand copies would be hundreds of MB.
    let text = "x".repeat(20_000);
    let ids: Vec<Value> = (0..5).map(|i| json!({"id": i.to_string(), "type": "things"})).collect();
    let thing = |i: usize| {
        json!({"id": i.to_string(), "type": "things", "attributes": {"text": text},
               "relationships": {"all": {"data": ids}}})
    };
    let document =
        Document::from_value(json!({"data": thing(0), "included": (1..5).map(thing).collect::<Vec<_>>()}))
            .unwrap();
    let err = document.denormalize().unwrap_err();
    assert!(matches!(err, clhooks::Error::DenormalizeLimit { limit: "max_growth", value: 16 }), "{err}");
    assert!(err.to_string().contains("16 times"), "{err}");
    // Expanded once per path, the same graph is within the budget; the output is a bounded
    // multiple of the input.
    let once = document.denormalize_with(DenormalizeOptions::default().with_max_depth(1)).unwrap();
    let input = serde_json::to_vec(&document).unwrap().len();
    let output = serde_json::to_vec(&once).unwrap().len();
    assert!(output <= 17 * input + (1 << 21), "{output} bytes out of {input}");
    // A larger factor lets the default depth through.
    assert!(document.denormalize_with(DenormalizeOptions::default().with_max_growth(100_000)).is_ok());
}
