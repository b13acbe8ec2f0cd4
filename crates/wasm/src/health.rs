//! `Health`: one process's failure streaks, counted by the core's rule (`clhooks::health`).

use std::cell::RefCell;

use clhooks::health::{self, Attempt, Health, Outcome, Signal, Webhook};
use clhooks::Answer;
use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use crate::{answer_value, set};

/// One process's counters, per webhook.
#[wasm_bindgen(js_name = Health)]
pub struct JsHealth {
    inner: RefCell<Health>,
}

impl Default for JsHealth {
    fn default() -> Self {
        JsHealth::new()
    }
}

/// A whole number of ms from JS (negative and NaN as 0).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn ms(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value as u64
    } else {
        0
    }
}

/// `{code, message, streak, topic, verified, circuit, current}` of a signal (`circuit` for a
/// streak; `current`, the streak now).
fn signal_value(webhook: &Webhook, signal: Signal, current: u32) -> JsValue {
    let out = Object::new();
    set(&out, "current", &JsValue::from(current));
    set(&out, "code", &JsValue::from_str(signal.code()));
    set(&out, "message", &JsValue::from_str(&signal.message(webhook)));
    set(&out, "topic", &JsValue::from_str(&webhook.topic));
    set(&out, "verified", &JsValue::from(webhook.verified));
    match signal {
        Signal::Streak { streak, circuit } => {
            set(&out, "streak", &JsValue::from(streak));
            set(&out, "circuit", &JsValue::from_str(circuit.as_str()));
        }
        Signal::Ended { streak } => set(&out, "streak", &JsValue::from(streak)),
    }
    out.into()
}

#[wasm_bindgen(js_class = Health)]
impl JsHealth {
    /// Counters under Commerce Layer's documented rules (notice at 5, circuit at 30, 5 s).
    #[wasm_bindgen(constructor)]
    #[must_use]
    pub fn new() -> JsHealth {
        JsHealth { inner: RefCell::new(Health::default()) }
    }

    /// Counts the answer (`status`, and its `body` when it is not a 2xx) given to a verified
    /// delivery of `topic` at `at` (ms since the epoch), `latency` ms after it arrived: the
    /// webhook's streak now (a number), or, when a threshold was crossed, the signal `{code,
    /// message, streak, topic, verified, circuit, current}`.
    pub fn count(&self, topic: &str, status: u16, body: Option<String>, at: f64, latency: f64) -> JsValue {
        let answer = Answer { status, body: body.unwrap_or_default() };
        let webhook = Webhook::verified(topic, None);
        let attempt = Attempt::of(&answer, ms(at), ms(latency));
        let mut inner = self.inner.borrow_mut();
        let signal = inner.count(&webhook, &attempt);
        let current = inner.tally(&webhook).map_or(0, |t| t.streak);
        signal.map_or(JsValue::from(current), |s| signal_value(&webhook, s, current))
    }

    /// The outcome of an answer (`status`, `body`) given to a request `verified` or not:
    /// `handled`, `duplicate`, `handed_off`, `in_flight`, `failed` or `refused`.
    pub fn outcome(status: u16, body: String, verified: bool) -> String {
        Outcome::of(&Answer { status, body }, verified).as_str().to_owned()
    }

    /// The label of a request's claimed topic in metrics and logs: the topic when the catalogue
    /// knows it, `unknown` otherwise (anyone may claim any topic).
    pub fn label(topic: Option<String>) -> String {
        Webhook::unverified(topic.as_deref()).topic
    }

    /// Counts a refusal (`status`, `body`) of a request claiming `topic` where the core says it
    /// counts (a signature mismatch; see `clhooks::health::refused`): the signals of the
    /// thresholds crossed, `[]` when none.
    #[wasm_bindgen(js_name = countRefused)]
    #[allow(clippy::too_many_arguments)]
    pub fn count_refused(
        &self,
        topic: Option<String>,
        status: u16,
        body: String,
        from_commerce_layer: bool,
        secrets: u32,
        at: f64,
        latency: f64,
    ) -> Array {
        let answer = Answer { status, body };
        let out = Array::new();
        let webhooks = health::refused(&answer, topic.as_deref(), from_commerce_layer, secrets as usize);
        let attempt = Attempt::of(&answer, ms(at), ms(latency));
        let mut inner = self.inner.borrow_mut();
        for webhook in webhooks {
            if let Some(signal) = inner.count(&webhook, &attempt) {
                let current = inner.tally(&webhook).map_or(0, |t| t.streak);
                out.push(&signal_value(&webhook, signal, current));
            }
        }
        out
    }

    /// The health endpoint's answer, `{status, body}`: 200 while healthy, 503 once a webhook's
    /// estimated circuit is open; the body the report as JSON.
    pub fn answer(&self) -> JsValue {
        answer_value(&self.inner.borrow().report().answer())
    }
}
