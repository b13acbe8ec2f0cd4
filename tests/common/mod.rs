//! Loads the shared vectors of `tests/vectors/`, compiled in so the same tests run natively
//! and on wasm32 (where there is no file system).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

pub const SIGNATURES: &str = include_str!("../vectors/signatures.json");
pub const TOPICS: &str = include_str!("../vectors/topics.json");
pub const PAYLOADS: &str = include_str!("../vectors/payloads.json");
pub const FIXTURE: &[u8] = include_bytes!("../vectors/orders-place-payload.json");
pub const RECEIVER: &str = include_str!("../vectors/receiver.json");

/// A body as the vectors describe it (see `tests/vectors/generate.py`).
#[derive(Debug, Deserialize)]
pub struct Body {
    utf8: Option<String>,
    base64: Option<String>,
    file: Option<String>,
    repeat: Option<String>,
    length: Option<usize>,
    append: Option<String>,
    flip: Option<usize>,
}

impl Body {
    pub fn bytes(&self) -> Vec<u8> {
        let mut bytes = if let Some(text) = &self.utf8 {
            text.as_bytes().to_vec()
        } else if let Some(b64) = &self.base64 {
            STANDARD.decode(b64).unwrap()
        } else if let Some(file) = &self.file {
            assert_eq!(file, "orders-place-payload.json", "unknown vector file");
            FIXTURE.to_vec()
        } else if let Some(pattern) = &self.repeat {
            let length = self.length.unwrap();
            pattern.as_bytes().iter().copied().cycle().take(length).collect()
        } else {
            panic!("body spec without content: {self:?}")
        };
        if let Some(text) = &self.append {
            bytes.extend_from_slice(text.as_bytes());
        }
        if let Some(offset) = self.flip {
            bytes[offset] ^= 0x01;
        }
        bytes
    }
}

#[derive(Debug, Deserialize)]
pub struct SignCase {
    pub name: String,
    pub body: Body,
    pub secret: String,
    pub signature: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct VerifyCase {
    pub name: String,
    pub body: Body,
    pub secrets: Vec<String>,
    pub header: Option<String>,
    pub expect: String,
}

#[derive(Debug, Deserialize)]
pub struct Signatures {
    pub sign: Vec<SignCase>,
    pub verify: Vec<VerifyCase>,
}

#[derive(Debug, Deserialize)]
pub struct KnownTopic {
    pub topic: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Catalogue {
    pub count: usize,
    pub resources: usize,
    pub known: Vec<KnownTopic>,
}

#[derive(Debug, Deserialize)]
pub struct ParseCase {
    pub input: String,
    pub resource: Option<String>,
    pub event: Option<String>,
    pub known: Option<bool>,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PatternCase {
    pub pattern: String,
    pub topic: Option<String>,
    pub matches: Option<bool>,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Topics {
    pub catalogue: Catalogue,
    pub parse: Vec<ParseCase>,
    pub patterns: Vec<PatternCase>,
}

#[derive(Debug, Deserialize)]
pub struct ReceiveCase {
    pub name: String,
    pub body: Body,
    pub headers: Vec<(String, String)>,
    pub secrets: Vec<String>,
    pub expect: String,
    pub topic: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<String>,
    pub included: Option<usize>,
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub denormalized: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct DenormalizeCase {
    pub name: String,
    pub document: Value,
    pub max_depth: Option<usize>,
    /// The expansion, or (with `error`) the budget it runs out of.
    pub expected: Option<Value>,
    pub error: Option<String>,
    pub limit: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Payloads {
    pub receive: Vec<ReceiveCase>,
    pub denormalize: Vec<DenormalizeCase>,
}

/// What a receiver must answer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Expected {
    pub status: u16,
    pub error: Option<String>,
    pub duplicate: bool,
    pub routes: Option<Vec<usize>>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Exchange {
    pub name: String,
    #[serde(default = "post")]
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// For the sequence: whether the handler fails.
    pub handler: Option<String>,
    pub expect: Expected,
}

fn post() -> String {
    "POST".into()
}

/// `tests/vectors/receiver.json`: one receiver's answers, request by request.
#[derive(Debug, Deserialize)]
pub struct ReceiverVectors {
    pub secrets: Vec<String>,
    pub routes: Vec<String>,
    pub max_body_bytes: usize,
    pub requests: Vec<Exchange>,
    pub sequence: Vec<Exchange>,
}

pub fn receiver() -> ReceiverVectors {
    serde_json::from_str(RECEIVER).unwrap()
}

pub fn signatures() -> Signatures {
    serde_json::from_str(SIGNATURES).unwrap()
}

pub fn topics() -> Topics {
    serde_json::from_str(TOPICS).unwrap()
}

pub fn payloads() -> Payloads {
    serde_json::from_str(PAYLOADS).unwrap()
}

/// The code of a result: `"ok"` or the error's code.
pub fn outcome<T>(result: &clhooks::Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}
