//! `Health`: one process's failure streaks, counted by the core's rule (`clhooks::health`).

use std::cell::RefCell;

use clhooks::health::redis::RedisHealth;
use clhooks::health::{self, Attempt, Health, Outcome, Report, Rules, Signal, Webhook};
use clhooks::Answer;
use js_sys::{Array, Object, Reflect};
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

/// A latency in whole ms, rounded up: 5000.2 ms is past a 5000 ms deadline.
fn latency_ms(value: f64) -> u64 {
    ms(value.ceil())
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
    /// delivery of `topic` (verified by the secret whose fingerprint is `secret`, where several
    /// are set) at `at` (ms since the epoch), `latency` ms after it arrived: the
    /// webhook's streak now (a number), or, when a threshold was crossed, the signal `{code,
    /// message, streak, topic, verified, circuit, current}`.
    pub fn count(
        &self,
        topic: &str,
        secret: Option<String>,
        status: u16,
        body: Option<String>,
        at: f64,
        latency: f64,
    ) -> JsValue {
        let (webhook, attempt) = verified_attempt(topic, secret.as_deref(), status, body, at, latency);
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
    /// counts (a signature mismatch; see `clhooks::health::refused`): for each streak it counts
    /// in (its own, unverified one last), what `count` gives; `[]` when none.
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
        let attempt = Attempt::of(&answer, ms(at), latency_ms(latency));
        let mut inner = self.inner.borrow_mut();
        for webhook in webhooks {
            let signal = inner.count(&webhook, &attempt);
            let current = inner.tally(&webhook).map_or(0, |t| t.streak);
            out.push(&signal.map_or(JsValue::from(current), |s| signal_value(&webhook, s, current)));
        }
        out
    }

    /// The health endpoint's answer, `{status, body}`: 200 while healthy, 503 once a webhook's
    /// estimated circuit is open; the body the report as JSON.
    pub fn answer(&self, secrets: Vec<String>) -> JsValue {
        answer_value(&self.inner.borrow().report().with_secrets(&secrets).answer())
    }

    /// For a store that keeps the streaks every instance shares (`count(args)`): the count
    /// script's arguments `[webhook, reason, status, at, arrived, notice, breaker]` for the
    /// answer given to a verified delivery of `topic`.
    #[wasm_bindgen(js_name = countArgs)]
    pub fn count_args(
        topic: &str,
        secret: Option<String>,
        status: u16,
        body: Option<String>,
        at: f64,
        latency: f64,
    ) -> Array {
        let (webhook, attempt) = verified_attempt(topic, secret.as_deref(), status, body, at, latency);
        shared().count_args(&webhook, &attempt).iter().map(|a| JsValue::from_str(a)).collect()
    }

    /// Whether a Redis store under `prefix` may end a claim and count in one script: on a
    /// cluster (`cluster`) only when its prefix has a hash tag, so that every key shares a slot.
    pub fn folds(prefix: &str, cluster: bool) -> bool {
        clhooks::store::RedisProtocol::new(prefix).folds(cluster)
    }

    /// As `countArgs`, for a refusal where the core says it counts: one array of arguments per
    /// streak it counts in (none for most refusals).
    #[wasm_bindgen(js_name = refusedArgs)]
    #[allow(clippy::too_many_arguments)]
    pub fn refused_args(
        topic: Option<String>,
        status: u16,
        body: String,
        from_commerce_layer: bool,
        secrets: u32,
        at: f64,
        latency: f64,
    ) -> Array {
        let answer = Answer { status, body };
        let attempt = Attempt::of(&answer, ms(at), latency_ms(latency));
        let protocol = shared();
        health::refused(&answer, topic.as_deref(), from_commerce_layer, secrets as usize)
            .iter()
            .map(|webhook| -> JsValue {
                protocol
                    .count_args(webhook, &attempt)
                    .iter()
                    .map(|a| JsValue::from_str(a))
                    .collect::<Array>()
                    .into()
            })
            .collect()
    }

    /// What the count script answered for `webhook` (`[signal, streak, now]`): the streak now
    /// (a number), or the signal `{code, message, streak, topic, verified, circuit, current}`.
    /// Anything else is a store that is not clhooks': thrown.
    #[wasm_bindgen(js_name = countReply)]
    pub fn count_reply(webhook: &str, reply: &JsValue) -> crate::errors::JsResult<JsValue> {
        let part = |i: u32| Reflect::get_u32(reply, i).unwrap_or(JsValue::UNDEFINED);
        let number = |v: JsValue| {
            v.as_f64().map(ms).or_else(|| v.as_string().and_then(|s| s.parse::<u64>().ok())).unwrap_or(0)
        };
        let signal = part(0).as_string().unwrap_or_else(|| "?".to_owned());
        let Some(webhook) = Webhook::from_key(webhook) else {
            let message = format!("'{webhook}' names no webhook");
            return crate::errors::throw(Err(clhooks::Error::StoreUnavailable { message }));
        };
        let (signal, now) =
            crate::errors::throw(shared().count_reply(&signal, number(part(1)), number(part(2))))?;
        Ok(signal.map_or(JsValue::from(now), |s| signal_value(&webhook, s, now)))
    }

    /// The health endpoint's answer from a shared store's counters: `entries` is
    /// `[[webhook, fields], ...]`, `fields` a webhook hash's (`{s, fr, fs, fa, ok, op}`, or its
    /// `[name, value, ...]`).
    #[wasm_bindgen(js_name = reportOf)]
    pub fn report_of(entries: &Array, secrets: Vec<String>) -> JsValue {
        let mut tallies = Vec::new();
        for entry in entries.iter() {
            let Some(webhook) = Reflect::get_u32(&entry, 0).ok().and_then(|k| k.as_string()) else {
                continue;
            };
            let Some(webhook) = Webhook::from_key(&webhook) else { continue };
            let pairs = pairs_of(&Reflect::get_u32(&entry, 1).unwrap_or(JsValue::UNDEFINED));
            tallies.push((webhook, RedisHealth::tally(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))));
        }
        answer_value(&Report::new(Rules::default(), tallies).with_secrets(&secrets).answer())
    }

    /// The count script's rule for a store that runs no Lua (the Durable Object store): a
    /// webhook's `fields` (`{s, fr, fs, fa, ok, op}`, or none yet) updated by the count's `args`
    /// (what `countArgs` made), `[fields, [signal, streak, now]]`: the fields to keep and the
    /// reply `countReply` reads. Arguments the core did not make are thrown.
    #[wasm_bindgen(js_name = applyCount)]
    pub fn apply_count(fields: &JsValue, args: Vec<String>) -> crate::errors::JsResult<Array> {
        let pairs = pairs_of(fields);
        let mut tally = RedisHealth::tally(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let (signal, streak, now) = crate::errors::throw(RedisHealth::apply(&mut tally, &args))?;
        let kept = Object::new();
        for (name, value) in RedisHealth::fields(&tally) {
            set(&kept, name, &JsValue::from_str(&value));
        }
        let reply = Array::of3(&JsValue::from_str(&signal), &JsValue::from(streak), &JsValue::from(now));
        Ok(Array::of2(&kept, &reply))
    }
}

/// A webhook's fields as `[name, value]` pairs, from an object or a flat `[name, value, ...]`.
fn pairs_of(fields: &JsValue) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    if Array::is_array(fields) {
        let list = Array::from(fields);
        for i in (0..list.length()).step_by(2) {
            pairs.push((text(&list.get(i)), text(&list.get(i + 1))));
        }
    } else if fields.is_object() {
        for pair in Object::entries(&Object::from(fields.clone())).iter() {
            pairs.push((
                text(&Reflect::get_u32(&pair, 0).unwrap_or_default()),
                text(&Reflect::get_u32(&pair, 1).unwrap_or_default()),
            ));
        }
    }
    pairs
}

/// The shared streaks' protocol (its keys are the store's; the arguments and replies are these).
fn shared() -> RedisHealth {
    RedisHealth::new("", Rules::default())
}

/// A field's text: a string, a number, or bytes (a client that returns buffers).
fn text(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        return text;
    }
    if let Some(number) = value.as_f64() {
        // The hash holds whole numbers (streaks, times, statuses).
        return ms(number).to_string();
    }
    if value.is_object() {
        return String::from_utf8_lossy(&js_sys::Uint8Array::new(value).to_vec()).into_owned();
    }
    String::new()
}

/// The webhook and the attempt of an answer (`status`, and its `body` when it is not a 2xx)
/// given to a verified delivery of `topic` at `at`, `latency` ms after it arrived.
fn verified_attempt(
    topic: &str,
    secret: Option<&str>,
    status: u16,
    body: Option<String>,
    at: f64,
    latency: f64,
) -> (Webhook, Attempt) {
    let answer = Answer { status, body: body.unwrap_or_default() };
    (Webhook::verified(topic, secret), Attempt::of(&answer, ms(at), latency_ms(latency)))
}
