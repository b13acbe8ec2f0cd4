//! The bad-input vectors (`tests/vectors/bad-inputs.json`): what a hostile sender or a careless
//! user passes, each answered with one error code, the same here as in the CLI and the package
//! in every runtime. Natively and on wasm32.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use clhooks::payload::{self, DenormalizeOptions};
use clhooks::sender::simulate::{simulate, Scenario};
use clhooks::{receive, Document, Topic, TopicPattern, Verifier};
use common::{outcome, Body};
use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

const BAD_INPUTS: &str = include_str!("vectors/bad-inputs.json");

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    class: String,
    expect: String,
    op: String,
    body: Option<Body>,
    secrets: Option<Vec<String>>,
    signature: Option<String>,
    input: Option<String>,
    document: Option<Value>,
    max_depth: Option<usize>,
    headers: Option<Vec<(String, String)>>,
    scenario: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Vectors {
    cases: Vec<Case>,
}

fn run(case: &Case) -> &'static str {
    let body = || case.body.as_ref().unwrap().bytes();
    let verifier = || Verifier::new(case.secrets.as_ref().unwrap());
    match case.op.as_str() {
        "verify" => match verifier() {
            Ok(v) => outcome(&v.verify(&body(), case.signature.as_ref().unwrap())),
            Err(e) => e.code(),
        },
        "topic" => outcome(&case.input.as_ref().unwrap().parse::<Topic>()),
        "pattern" => outcome(&TopicPattern::parse(case.input.as_ref().unwrap())),
        "document" => outcome(&payload::parse(&body())),
        "denormalize" => {
            let options = DenormalizeOptions::default().with_max_depth(case.max_depth.unwrap_or(2));
            let document = Document::from_value(case.document.clone().unwrap()).unwrap();
            outcome(&document.denormalize_with(options))
        }
        "receive" => match verifier() {
            Ok(v) => {
                let headers = case.headers.as_ref().unwrap().iter().map(|(k, v)| (k.as_str(), v.as_str()));
                outcome(&receive(&body(), headers, &v))
            }
            Err(e) => e.code(),
        },
        "simulate" => {
            outcome(&Scenario::from_json(case.scenario.as_ref().unwrap()).and_then(|s| simulate(&s)))
        }
        other => panic!("{}: unknown op {other}", case.name),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn every_bad_input_gets_its_code() {
    let vectors: Vectors = serde_json::from_str(BAD_INPUTS).unwrap();
    assert!(vectors.cases.len() >= 60);
    let classes: std::collections::BTreeSet<&str> = vectors.cases.iter().map(|c| c.class.as_str()).collect();
    assert!(classes.len() >= 7, "{classes:?}");
    let wrong: Vec<String> = vectors
        .cases
        .iter()
        .filter_map(|case| {
            let got = run(case);
            (got != case.expect).then(|| format!("{}: expected {}, got {got}", case.name, case.expect))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}
