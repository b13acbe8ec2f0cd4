//! The sender's bindings: the simulator, the delivery driver (`driver.rs`) and delivery
//! headers. They build into a module of their own, loaded only when a run needs them.

use clhooks::sender::simulate::{simulate as run_scenario, Report, Scenario};
use clhooks::topic::Topic;
use clhooks::Error;
use clhooks_command::timeline;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::convert;
use crate::errors::{throw, BindingError, JsResult};
use crate::{from_js_value, set, string, to_js_value};

/// Signs a body with a secret: the `X-CommerceLayer-Signature` value. (Signing is the sender's:
/// a receiver's module has no base64 encoder.)
#[wasm_bindgen]
pub fn sign(body: &JsValue, secret: &JsValue) -> JsResult<String> {
    let secret = throw(string(secret, "the secret"))?;
    let body = throw(convert::body(body))?;
    throw(clhooks::sign(&body, &secret))
}

/// Signs a body as a `Verifier` of `secrets` does: with the first one.
#[wasm_bindgen(js_name = signWith)]
pub fn sign_with(body: &JsValue, secrets: &JsValue) -> JsResult<String> {
    let verifier = throw(convert::secrets(secrets).and_then(|s| Ok(clhooks::Verifier::new(s)?)))?;
    let body = throw(convert::body(body))?;
    Ok(verifier.sign(&body))
}

/// The headers of a delivery of `body` signed with `secret`, as Commerce Layer's sender sends
/// them: `[name, value]` pairs (the topic's only when one is given).
#[wasm_bindgen(js_name = deliveryHeaders)]
pub fn delivery_headers(
    body: &JsValue,
    secret: &JsValue,
    topic: &JsValue,
    content_type: &JsValue,
) -> JsResult<JsValue> {
    let content_type = match content_type.as_string() {
        Some(content_type) => content_type,
        None if content_type.is_undefined() || content_type.is_null() => {
            clhooks::sender::CONTENT_TYPE.to_owned()
        }
        None => {
            return Err(crate::errors::to_js(&BindingError::invalid("the content type must be a string")))
        }
    };
    let secret = throw(string(secret, "the secret"))?;
    let body = throw(convert::body(body))?;
    let signature = throw(clhooks::sign(&body, &secret))?;
    let topic = match topic.as_string().filter(|t| !t.trim().is_empty()) {
        Some(name) => Some(throw(Topic::parse(name.trim()))?),
        None => None,
    };
    Ok(to_js_value(&clhooks::sender::delivery_headers(&content_type, signature, topic.as_ref())))
}

/// The reason phrase of an HTTP status, as the command lines word it ("" for an unknown one).
#[wasm_bindgen(js_name = reasonPhrase)]
pub fn reason_phrase(status: u16) -> String {
    clhooks_command::reason(status).to_owned()
}

/// How much of an endpoint's answer is read and shown, in bytes (the rest is not read).
#[wasm_bindgen(js_name = answerShownBytes)]
pub fn answer_shown_bytes() -> u32 {
    u32::try_from(clhooks_command::ANSWER_SHOWN_BYTES).unwrap_or(u32::MAX)
}

pub(crate) fn read_scenario(value: &JsValue) -> Result<Scenario, BindingError> {
    from_js_value(value, |message| Error::InvalidScenario { message })
}

/// A report as JS gets it; with `text`, also `text: {lines, summary}` as the CLI prints
/// it, `lines[i]` telling `timeline[i]` (`null` for an attempt's hand-out).
pub(crate) fn report_value(report: &Report, with_text: bool) -> JsValue {
    let value = to_js_value(report);
    if with_text {
        let lines: Vec<Option<String>> =
            report.timeline.iter().map(|entry| timeline::line(entry, report.start_ms)).collect();
        let text = serde_json::json!({"lines": lines, "summary": timeline::summary(report)});
        set(value.unchecked_ref(), "text", &to_js_value(&text));
    }
    value
}

/// Runs a sender scenario on a virtual clock: the report as `{timeline, summary, webhooks,
/// ...}`, and its `text` when asked. The scenario may be JSON text or an object.
#[wasm_bindgen]
pub fn simulate(value: &JsValue, with_text: Option<bool>) -> JsResult<JsValue> {
    let report = throw(read_scenario(value).and_then(|s| run_scenario(&s).map_err(BindingError::from)))?;
    Ok(report_value(&report, with_text.unwrap_or(false)))
}
