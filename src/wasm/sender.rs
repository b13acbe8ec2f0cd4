//! The sender's state machine for JS, so that `simulateLive` can drive it with `fetch`: the
//! same decisions as the Rust sender, the HTTP calls made by the host.

use std::collections::VecDeque;

use js_sys::{Array, Object, Uint8Array, JSON};
use wasm_bindgen::prelude::*;

use super::errors::{throw, JsResult};
use super::set;
use crate::error::Error;
use crate::sender::simulate::{self, Scenario, Scheduled};
use crate::sender::{Outcome, Output, Sender};

fn to_js<T: serde::Serialize>(value: &T) -> JsValue {
    let text = serde_json::to_string(value).unwrap_or_default();
    JSON::parse(&text).unwrap_or(JsValue::NULL)
}

fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue, what: &str) -> crate::Result<T> {
    let text = match value.as_string() {
        Some(text) => text,
        None => JSON::stringify(value).ok().and_then(|s| s.as_string()).unwrap_or_default(),
    };
    serde_json::from_str(&text).map_err(|e| Error::InvalidScenario { message: format!("{what}: {e}") })
}

fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

/// A sender loaded with a scenario's webhooks and agenda, driven from JS.
#[wasm_bindgen(js_name = LiveSender)]
pub struct JsLiveSender {
    sender: Sender,
    agenda: VecDeque<(u64, Scheduled)>,
    timeline: Vec<Output>,
}

#[wasm_bindgen(js_class = LiveSender)]
impl JsLiveSender {
    /// Loads a scenario (JSON text or object) whose first scheduled item happens at `now`.
    #[wasm_bindgen(constructor)]
    pub fn new(scenario: &JsValue, now: f64) -> JsResult<JsLiveSender> {
        let scenario: Scenario = throw(from_js(scenario, "scenario"))?;
        let sender = throw(scenario.sender())?;
        let agenda = throw(scenario.agenda())?;
        let first = agenda.first().map_or(0, |(at, _)| *at);
        let start = ms(now);
        let agenda = agenda
            .into_iter()
            .map(|(at, item)| (start.saturating_add(at.saturating_sub(first)), item))
            .collect();
        Ok(JsLiveSender { sender, agenda, timeline: Vec::new() })
    }

    fn record(&mut self, outputs: Vec<Output>) -> Array {
        let out: Array = outputs.iter().map(to_js).collect();
        self.timeline.extend(outputs);
        out
    }

    /// Publishes the events and applies the updates that are due: the timeline entries.
    #[wasm_bindgen(js_name = runScheduled)]
    pub fn run_scheduled(&mut self, now: f64) -> JsResult<Array> {
        let now = ms(now);
        let mut outputs = Vec::new();
        while self.agenda.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, item)) = self.agenda.pop_front() {
                outputs.extend(throw(item.apply(&mut self.sender, now))?);
            }
        }
        Ok(self.record(outputs))
    }

    /// The next attempt due: `{id, webhook, event, attempt, url, headers, body, entry}`, or
    /// `undefined`.
    pub fn poll(&mut self, now: f64) -> JsValue {
        let Some((attempt, output)) = self.sender.poll(ms(now)) else { return JsValue::UNDEFINED };
        let out = Object::new();
        set(&out, "id", &JsValue::from_f64(attempt.id as f64));
        set(&out, "webhook", &JsValue::from_str(&attempt.webhook));
        set(&out, "event", &JsValue::from_str(&attempt.event));
        set(&out, "attempt", &JsValue::from_f64(f64::from(attempt.attempt)));
        set(&out, "url", &JsValue::from_str(&attempt.request.url));
        let headers: Array = attempt
            .request
            .headers
            .iter()
            .map(|(k, v)| JsValue::from(Array::of2(&JsValue::from_str(k), &JsValue::from_str(v))))
            .collect();
        set(&out, "headers", &headers);
        set(&out, "body", &Uint8Array::from(attempt.request.body.as_slice()));
        set(&out, "entry", &self.record(vec![output]).get(0));
        out.into()
    }

    /// Reports how an attempt ended — `{kind: 'status', code, message}`, `{kind: 'timeout'}` or
    /// `{kind: 'error', message}` — and returns the timeline entries it led to.
    pub fn complete(&mut self, id: f64, outcome: &JsValue, now: f64) -> JsResult<Array> {
        let outcome: Outcome = throw(from_js(outcome, "outcome"))?;
        let outputs = throw(self.sender.complete(ms(id), &outcome, ms(now)))?;
        Ok(self.record(outputs))
    }

    /// When the next retry or scheduled item after `now` is due.
    #[wasm_bindgen(js_name = nextDueAfter)]
    pub fn next_due_after(&self, now: f64) -> Option<f64> {
        let now = ms(now);
        [self.agenda.front().map(|(at, _)| *at).filter(|at| *at > now), self.sender.next_due_after(now)]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t as f64)
    }

    /// The policy's timeout in ms: how long to wait for an answer.
    #[wasm_bindgen(getter, js_name = timeoutMs)]
    pub fn timeout_ms(&self) -> f64 {
        self.sender.policy().timeout_ms as f64
    }

    /// The report of the run so far, as `simulate` returns it.
    pub fn report(&self, start: f64, end: f64) -> JsValue {
        to_js(&simulate::report(&self.sender, self.timeline.clone(), ms(start), ms(end)))
    }
}
