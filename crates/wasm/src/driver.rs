//! The core's delivery driver for JS: `simulateLive` makes the calls with `fetch` and sleeps
//! with timers; what to call, when, and what each outcome means is decided here.

use clhooks::sender::simulate::Target;
use clhooks::sender::{Driver, Outcome, Output, Wait};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::errors::{throw, BindingError, JsResult};
use crate::types::CallFields;
use crate::{read_scenario, report_value, set, to_js_value};

pub(crate) fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

fn entries(outputs: &[Output]) -> Array {
    outputs.iter().map(to_js_value).collect()
}

/// `target`: one URL for every callback URL, `{host: url}` per callback host, or a list of
/// `URL` and `HOST=URL` strings (as `clhooks simulate --live --target` takes them).
fn targets(value: &JsValue) -> Result<Vec<Target>, BindingError> {
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    if let Some(url) = value.as_string() {
        return Ok(vec![Target::parse(&url)?]);
    }
    if Array::is_array(value) {
        return Array::from(value)
            .iter()
            .map(|t| {
                let text = t.as_string().ok_or_else(|| BindingError::invalid("target URLs are strings"))?;
                Ok(Target::parse(&text)?)
            })
            .collect();
    }
    if !value.is_object() {
        return Err(BindingError::invalid("target must be a URL or an object of URLs by callback host"));
    }
    Object::entries(value.unchecked_ref::<Object>())
        .iter()
        .map(|entry| {
            let entry = Array::from(&entry);
            let host = entry.get(0).as_string().unwrap_or_default();
            let url =
                entry.get(1).as_string().ok_or_else(|| BindingError::invalid("target URLs are strings"))?;
            Ok(Target::parse(&format!("{host}={url}"))?)
        })
        .collect()
}

/// An outcome from JS, read field by field (serde's tagged enums cost kilobytes of wasm).
pub(crate) fn read_outcome(value: &JsValue) -> Result<Outcome, BindingError> {
    let field = |key: &str| Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    let message = || field("message").as_string().unwrap_or_default();
    match field("kind").as_string().as_deref() {
        Some("status") => match field("code").as_f64() {
            Some(code) if (100.0..=999.0).contains(&code) => {
                Ok(Outcome::Status { code: code as u16, message: message() })
            }
            _ => Err(BindingError::invalid("a status outcome needs a code between 100 and 999")),
        },
        Some("timeout") => Ok(Outcome::Timeout),
        Some("error") => Ok(Outcome::Error { message: message() }),
        _ => Err(BindingError::invalid(
            "an outcome is {kind: 'status', code, message}, {kind: 'timeout'} or {kind: 'error', message}",
        )),
    }
}

/// A scenario delivered live: `poll`, make the calls, `complete` each, `wait`, `woke`.
#[wasm_bindgen(js_name = Driver)]
pub struct JsDriver {
    pub(crate) inner: Driver,
}

#[wasm_bindgen(js_class = Driver)]
impl JsDriver {
    /// Loads a scenario (JSON text or object) whose first item happens at `now` (wall-clock
    /// ms), its waits compressed by `timeScale`, its callback URLs moved by `target`.
    #[wasm_bindgen(constructor)]
    pub fn new(scenario: &JsValue, now: f64, time_scale: f64, target: &JsValue) -> JsResult<JsDriver> {
        let mut scenario = throw(read_scenario(scenario))?;
        scenario.retarget(&throw(targets(target))?);
        throw(Driver::from_scenario_live(&scenario, ms(now), time_scale)).map(|inner| JsDriver { inner })
    }

    /// The driver's clock for a wall-clock time.
    pub fn now(&self, wall: f64) -> f64 {
        self.inner.now(ms(wall)) as f64
    }

    /// `{calls, entries}`: the calls to make now (`{id, webhook, event, attempt, url, headers,
    /// timeoutMs, body}`) and the new timeline entries.
    pub fn poll(&mut self, now: f64) -> JsResult<Object> {
        let due = throw(self.inner.poll(ms(now)))?;
        let calls: Array = due
            .calls
            .iter()
            .map(|call| {
                let fields = CallFields {
                    id: u32::try_from(call.id).unwrap_or(u32::MAX),
                    webhook: call.webhook.clone(),
                    event: call.event.clone(),
                    attempt: call.attempt,
                    url: call.request.url.clone(),
                    headers: call.request.headers.clone(),
                    timeout_ms: u32::try_from(call.timeout_ms).unwrap_or(u32::MAX),
                };
                let out = to_js_value(&fields);
                set(out.unchecked_ref(), "body", &Uint8Array::from(call.request.body.as_slice()));
                out
            })
            .collect();
        let out = Object::new();
        set(&out, "calls", &calls);
        set(&out, "entries", &entries(self.inner.entries(due.entries)));
        Ok(out)
    }

    /// Reports how a call ended — `{kind: 'status', code, message}`, `{kind: 'timeout'}` or
    /// `{kind: 'error', message}` — and returns the timeline entries it led to.
    pub fn complete(&mut self, id: f64, outcome: &JsValue, now: f64) -> JsResult<Array> {
        let outcome = throw(read_outcome(outcome))?;
        let range = throw(self.inner.complete(ms(id), &outcome, ms(now)))?;
        Ok(entries(self.inner.entries(range)))
    }

    /// What to do next: `{done: true}`, or `{done: false, sleepMs}` (`null`: until a call ends).
    pub fn wait(&mut self, now: f64) -> Object {
        let out = Object::new();
        let (done, sleep) = match self.inner.wait(ms(now)) {
            Wait::Done => (true, JsValue::NULL),
            Wait::Sleep(None) => (false, JsValue::NULL),
            Wait::Sleep(Some(real)) => (false, JsValue::from_f64(real as f64)),
        };
        set(&out, "done", &JsValue::from_bool(done));
        set(&out, "sleepMs", &sleep);
        out
    }

    /// The sleep ended, by a call's end or by running its course.
    pub fn woke(&mut self, by_call: bool) {
        self.inner.woke(by_call);
    }

    /// The report of the run so far, as `simulate` returns it.
    pub fn report(&self, end: f64, with_text: Option<bool>) -> JsValue {
        report_value(&self.inner.report(ms(end)), with_text.unwrap_or(false))
    }
}
