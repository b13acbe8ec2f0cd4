//! JavaScript bindings, compiled for wasm32 only. They convert arguments, call the core and
//! map errors; every decision stays in the core. The npm package's entrypoints wrap these.

mod convert;
mod errors;
mod sender;

use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::payload::DenormalizeOptions;
use crate::topic::{catalogue, Topic, TopicPattern};
use crate::{Document, Verifier};
use errors::{throw, JsResult};

pub(crate) fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// Signs a body with a secret: the `X-CommerceLayer-Signature` value.
#[wasm_bindgen]
pub fn sign(body: &JsValue, secret: &JsValue) -> JsResult<String> {
    let secret = secret.as_string().ok_or_else(|| {
        errors::to_js(&Error::InvalidArgument { message: "the secret must be a string".into() })
    })?;
    throw(convert::body(body).and_then(|b| crate::sign(&b, &secret)))
}

/// Verifies a body against a signature with one secret or an array of them.
#[wasm_bindgen]
pub fn verify(body: &JsValue, signature: &JsValue, secrets: &JsValue) -> JsResult<()> {
    JsVerifier::new(secrets)?.verify(body, signature)
}

/// Verifies (and reads) deliveries with secrets keyed once.
#[wasm_bindgen(js_name = Verifier)]
pub struct JsVerifier {
    inner: Verifier,
}

#[wasm_bindgen(js_class = Verifier)]
impl JsVerifier {
    /// Keys a verifier with one secret or an array of them (a rotation).
    #[wasm_bindgen(constructor)]
    pub fn new(secrets: &JsValue) -> JsResult<JsVerifier> {
        throw(convert::secrets(secrets).and_then(Verifier::new).map(|inner| JsVerifier { inner }))
    }

    /// Verifies a body against an `X-CommerceLayer-Signature` value.
    pub fn verify(&self, body: &JsValue, signature: &JsValue) -> JsResult<()> {
        let body = throw(convert::body(body))?;
        let signature = signature.as_string().unwrap_or_default();
        throw(self.inner.verify(&body, &signature))
    }

    /// Signs a body with the first secret.
    pub fn sign(&self, body: &JsValue) -> JsResult<String> {
        throw(convert::body(body)).map(|b| self.inner.sign(&b))
    }

    /// Verifies and reads a delivery: see the package's `receive`.
    pub fn receive(&self, body: &JsValue, headers: &JsValue) -> JsResult<Object> {
        let bytes = throw(convert::body(body))?;
        let headers = throw(convert::headers(headers))?;
        let event = throw(crate::receive(&bytes, headers, &self.inner))?;
        let out = topic_object(&event.topic);
        // The body is valid UTF-8 JSON once the core accepted it; the engine's own parser
        // builds the document object faster than any conversion from Rust would.
        let text = String::from_utf8_lossy(&event.body);
        let document = JSON::parse(&text).unwrap_or(JsValue::NULL);
        let data = Reflect::get(&document, &JsValue::from_str("data")).unwrap_or(JsValue::NULL);
        let included = Reflect::get(&document, &JsValue::from_str("included"))
            .ok()
            .filter(Array::is_array)
            .unwrap_or_else(|| Array::new().into());
        set(&out, "document", &document);
        set(&out, "data", &data);
        set(&out, "included", &included);
        set(&out, "id", &JsValue::from_str(&event.document.data.id));
        set(&out, "idempotencyKey", &JsValue::from_str(&event.idempotency_key()));
        set(&out, "type", &JsValue::from_str(&event.document.data.kind));
        Ok(out)
    }

    /// How many secrets are accepted.
    #[wasm_bindgen(getter, js_name = secretCount)]
    pub fn secret_count(&self) -> usize {
        self.inner.secret_count()
    }
}

/// Verifies and reads a delivery: `{topic, resource, event, known, id, type, data, included, document}`.
#[wasm_bindgen]
pub fn receive(body: &JsValue, headers: &JsValue, secrets: &JsValue) -> JsResult<Object> {
    JsVerifier::new(secrets)?.receive(body, headers)
}

fn topic_object(topic: &Topic) -> Object {
    let out = Object::new();
    set(&out, "topic", &JsValue::from_str(topic.as_str()));
    set(&out, "resource", &JsValue::from_str(topic.resource()));
    set(&out, "event", &JsValue::from_str(topic.event()));
    set(&out, "known", &JsValue::from_bool(topic.is_known()));
    let description = topic.info().and_then(|i| i.description);
    set(&out, "description", &description.map_or(JsValue::NULL, JsValue::from_str));
    out
}

/// Parses a topic: `{topic, resource, event, known, description}`.
#[wasm_bindgen(js_name = parseTopic)]
pub fn parse_topic(name: &JsValue) -> JsResult<Object> {
    let name = name.as_string().unwrap_or_default();
    throw(Topic::parse(&name)).map(|t| topic_object(&t))
}

/// Whether a topic name matches a routing pattern; a malformed name never matches.
#[wasm_bindgen(js_name = matchTopic)]
pub fn match_topic(pattern: &JsValue, name: &JsValue) -> JsResult<bool> {
    let pattern = throw(TopicPattern::parse(&pattern.as_string().unwrap_or_default()))?;
    Ok(name.as_string().is_some_and(|n| pattern.matches_name(&n)))
}

/// Every catalogue topic with its resource, event and trigger description.
#[wasm_bindgen]
pub fn catalogue() -> Array {
    catalogue::all()
        .iter()
        .map(|info| {
            let out = Object::new();
            set(&out, "topic", &JsValue::from_str(info.name));
            set(&out, "resource", &JsValue::from_str(info.resource));
            set(&out, "event", &JsValue::from_str(info.event));
            set(&out, "description", &info.description.map_or(JsValue::NULL, JsValue::from_str));
            JsValue::from(out)
        })
        .collect()
}

/// Every error code.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Array {
    Error::CODES.iter().map(|c| JsValue::from_str(c)).collect()
}

/// Resolves a document's relationships against `included`. The document may be the raw body
/// or a parsed object; `maxDepth` (default 2) bounds how often one resource repeats on a path.
#[wasm_bindgen]
pub fn denormalize(document: &JsValue, max_depth: Option<u32>) -> JsResult<JsValue> {
    let bytes = match convert::body(document) {
        Ok(bytes) => bytes,
        // A parsed document is fine here: nothing is verified against its bytes.
        Err(Error::BodyNotRaw { .. }) if document.is_object() => {
            JSON::stringify(document).ok().and_then(|s| s.as_string()).unwrap_or_default().into_bytes()
        }
        Err(e) => return Err(errors::to_js(&e)),
    };
    let mut options = DenormalizeOptions::default();
    if let Some(depth) = max_depth {
        options = options.with_max_depth(depth as usize);
    }
    let value = throw(Document::from_slice(&bytes).and_then(|d| d.denormalize_with(options)))?;
    let text = serde_json::to_string(&value).unwrap_or_default();
    Ok(JSON::parse(&text).unwrap_or(JsValue::NULL))
}

/// Runs a sender scenario on a virtual clock: the report as `{timeline, summary, webhooks, ...}`.
/// The scenario may be JSON text or an object.
#[wasm_bindgen]
pub fn simulate(scenario: &JsValue) -> JsResult<JsValue> {
    let text = match scenario.as_string() {
        Some(text) => text,
        None if scenario.is_object() => {
            JSON::stringify(scenario).ok().and_then(|s| s.as_string()).unwrap_or_default()
        }
        None => {
            return Err(errors::to_js(&Error::InvalidScenario {
                message: "the scenario must be JSON text or an object".into(),
            }))
        }
    };
    let report = throw(
        crate::sender::simulate::Scenario::from_json(&text)
            .and_then(|s| crate::sender::simulate::simulate(&s)),
    )?;
    let json = serde_json::to_string(&report).unwrap_or_default();
    Ok(JSON::parse(&json).unwrap_or(JsValue::NULL))
}
