//! Untrusted input never panics: a panic would abort a wasm instance for every later call.
//! Deterministic mutations of real inputs go through every entry point, natively and on wasm32.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use clhooks::model::{Webhook, WebhookCreate};
use clhooks::{payload, receive, sign, Document, Topic, TopicPattern, Verifier};
use wasm_bindgen_test::wasm_bindgen_test;

/// A small xorshift generator: the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    match rng.below(5) {
        0 if !out.is_empty() => {
            let i = rng.below(out.len());
            out[i] = rng.next() as u8;
        }
        1 => out.truncate(rng.below(out.len() + 1)),
        2 if !out.is_empty() => {
            let i = rng.below(out.len());
            const BYTES: &[u8] = b"{}[]\",:\\\x00\xff";
            out.insert(i, BYTES[rng.below(BYTES.len())]);
        }
        3 if !out.is_empty() => {
            let i = rng.below(out.len());
            let j = rng.below(out.len());
            out.swap(i, j);
        }
        _ => {
            let i = rng.below(out.len() + 1);
            let j = rng.below(out.len() + 1);
            let piece = out[i.min(j)..i.max(j)].to_vec();
            out.extend_from_slice(&piece);
        }
    }
    out
}

#[wasm_bindgen_test(unsupported = test)]
fn mutated_payloads_get_errors_not_panics() {
    let seeds: Vec<Vec<u8>> = vec![
        common::FIXTURE.to_vec(),
        br#"{"data":{"id":"o1","type":"orders","relationships":{"a":{"data":[{"id":"x","type":"y"}]}}},"included":[{"id":"x","type":"y","relationships":{"b":{"data":{"id":"o1","type":"orders"}}}}]}"#.to_vec(),
        br#"{"data":{"id":"w","type":"webhooks","attributes":{"topic":"orders.place","callback_url":"https://x"}}}"#.to_vec(),
    ];
    let verifier = Verifier::new(["secret"]).unwrap();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut ok = 0;
    for round in 0..1_500 {
        let seed = &seeds[round % seeds.len()];
        let mut body = mutate(&mut rng, seed);
        if rng.below(2) == 0 {
            body = mutate(&mut rng, &body);
        }
        let signature = sign(&body, "secret").unwrap();
        let headers =
            [("X-CommerceLayer-Signature", signature.as_str()), ("X-CommerceLayer-Topic", "orders.place")];
        if let Ok(event) = receive(&body, headers, &verifier) {
            ok += 1;
            let _ = event.denormalize();
        }
        if let Ok(document) = payload::parse(&body) {
            let _ = document.denormalize();
            let _ = document.data.to_typed::<Webhook>();
        }
        let text = String::from_utf8_lossy(&body);
        let _ = verifier.verify(&body, &text);
        let _ = Topic::parse(&text);
        let _ = TopicPattern::parse(&text);
        let _ = Webhook::from_document(&body);
        let _ = Document::from_slice(&body);
        if let Ok(topic) = "orders.place".parse() {
            let _ = WebhookCreate::new(topic, &text);
        }
    }
    // Some mutations keep a valid document (a changed digit, a swapped letter).
    assert!(ok > 0);
    // The same verifier still works after all of that.
    let body = common::FIXTURE;
    verifier.verify(body, &sign(body, "secret").unwrap()).unwrap();
}

#[wasm_bindgen_test(unsupported = test)]
fn pathological_inputs() {
    let verifier = Verifier::new(["s"]).unwrap();
    let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{{\"data\":{}{}}}", "{\"a\":".repeat(50_000), "}".repeat(50_001));
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 64],
        deep_array.into_bytes(),
        deep_object.into_bytes(),
        b"\"\\ud800\"".to_vec(),
        b"{\"data\":{\"id\":\"1\",\"type\":\"orders\",\"attributes\":{\"n\":1e999999}}}".to_vec(),
        "{\"data\":{\"id\":\"\u{0}\",\"type\":\"\u{1F600}\"}}".as_bytes().to_vec(),
    ];
    for body in &inputs {
        let _ = payload::parse(body);
        let signature = sign(body, "s").unwrap();
        let _ = receive(
            body,
            [("x-commercelayer-signature", signature.as_str()), ("x-commercelayer-topic", "a.b")],
            &verifier,
        );
    }
    for header in ["=", "====", "A===", "\u{1F600}", "\u{0}", &"A".repeat(1 << 16)] {
        assert!(verifier.verify(b"x", header).is_err());
    }
    for name in [".", "..", "a.b.", "\u{0}.b", &"a".repeat(1 << 16), "é.b"] {
        assert!(Topic::parse(name).is_err() || name.len() > 1000);
    }
}
