//! The core's worker machine and queued record for JS: the package's `createWorker` moves
//! messages and awaits handlers and the queue; these decide.

use std::cell::RefCell;

use clhooks::handoff::{DeadReason, Outcome, Record, Worker, WorkerAction, WorkerConfig};
use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::errors::{throw, BindingError, JsResult};
use crate::{convert, set};

/// The worker: `next()` hands out its actions, as arrays; the other methods tell it what
/// happened, with the time in ms.
#[wasm_bindgen(js_name = Worker)]
pub struct JsWorker {
    inner: RefCell<Worker>,
}

fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

fn outcome_value(outcome: Outcome) -> JsValue {
    let out = Object::new();
    let number = |n: u64| JsValue::from(n as f64);
    match outcome {
        Outcome::Done { keep_ms } => {
            set(&out, "type", &outcome.kind().into());
            set(&out, "keepMs", &number(keep_ms));
        }
        Outcome::Retry { attempts, delay_ms } => {
            set(&out, "type", &outcome.kind().into());
            set(&out, "attempts", &attempts.into());
            set(&out, "delayMs", &number(delay_ms));
        }
        Outcome::Dead { attempts, reason } => {
            set(&out, "type", &outcome.kind().into());
            set(&out, "attempts", &attempts.into());
            set(&out, "reason", &reason.code().into());
        }
        Outcome::Release => set(&out, "type", &outcome.kind().into()),
    }
    out.into()
}

#[wasm_bindgen(js_class = Worker)]
impl JsWorker {
    /// A worker with `options` (`maxAttempts`, `retryMs`, `retryCapMs`, `reclaimIdleMs`,
    /// `concurrency`, `blockMs`, `handlerTimeoutMs`, `queueTimeoutMs`, `keepMs`; the core's
    /// defaults for the rest),
    /// starting at `now`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &JsValue, now: f64) -> JsResult<JsWorker> {
        let mut config = WorkerConfig::default();
        let whole = |name: &'static str, max: u64| throw(convert::whole(options, name, max));
        if let Some(n) = whole("maxAttempts", 1_000_000)? {
            config.max_attempts = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = whole("concurrency", 1_000_000)? {
            config.concurrency = u32::try_from(n).unwrap_or(u32::MAX);
        }
        let ms_max = 2_147_483_647;
        config.retry_ms = whole("retryMs", ms_max)?.unwrap_or(config.retry_ms);
        config.retry_cap_ms = whole("retryCapMs", ms_max)?.unwrap_or(config.retry_cap_ms);
        config.reclaim_idle_ms = whole("reclaimIdleMs", ms_max)?.unwrap_or(config.reclaim_idle_ms);
        config.block_ms = whole("blockMs", ms_max)?.unwrap_or(config.block_ms);
        config.handler_timeout_ms = whole("handlerTimeoutMs", ms_max)?.unwrap_or(config.handler_timeout_ms);
        config.queue_timeout_ms = whole("queueTimeoutMs", ms_max)?.unwrap_or(config.queue_timeout_ms);
        config.keep_ms = whole("keepMs", 1 << 50)?.unwrap_or(config.keep_ms);
        config.claim_runs = js_sys::Reflect::get(options, &"claimRuns".into()).is_ok_and(|v| v.is_truthy());
        throw(config.check())?;
        Ok(JsWorker { inner: RefCell::new(Worker::new(config, ms(now))) })
    }

    /// The next action, or `undefined` until the worker is told something: `['take', take,
    /// count, blockMs, reclaimIdleMs]`, `['run', job, index]`, `['extend', job]`, `['settle', job,
    /// outcome]` (`{type: 'done', keepMs}`, `{type: 'retry', attempts, delayMs}`, `{type: 'dead',
    /// attempts, reason}`, `{type: 'release'}`), `['tell', job | undefined, code, message]`,
    /// `['forget', job]`, `['stopped']`.
    pub fn next(&self) -> JsValue {
        let Some(action) = self.inner.borrow_mut().poll() else { return JsValue::UNDEFINED };
        let n = |n: u64| JsValue::from(n as f64);
        let out = match action {
            WorkerAction::Take { take, count, block_ms, reclaim_idle_ms } => {
                Array::of5(&"take".into(), &take.into(), &count.into(), &n(block_ms), &n(reclaim_idle_ms))
            }
            WorkerAction::Run { job, index } => {
                Array::of3(&"run".into(), &job.into(), &u32::try_from(index).unwrap_or(u32::MAX).into())
            }
            WorkerAction::Extend { job } => Array::of2(&"extend".into(), &job.into()),
            WorkerAction::Settle { job, outcome } => {
                Array::of3(&"settle".into(), &job.into(), &outcome_value(outcome))
            }
            WorkerAction::Tell { job, notice } => Array::of4(
                &"tell".into(),
                &job.map_or(JsValue::UNDEFINED, JsValue::from),
                &notice.code().into(),
                &notice.message().into(),
            ),
            WorkerAction::Forget { job } => Array::of2(&"forget".into(), &job.into()),
            WorkerAction::ClaimRun { job } => Array::of2(&"claim-run".into(), &job.into()),
            WorkerAction::EndRun { job, handled } => {
                Array::of3(&"end-run".into(), &job.into(), &handled.into())
            }
            WorkerAction::Stopped => Array::of1(&"stopped".into()),
        };
        out.into()
    }

    /// A message take number `take` got: its record's attempt count, how many times the queue
    /// handed it out, and its handlers' count, or why it cannot run (`'unverified'`,
    /// `'invalid_record'`). The job's number, or `undefined` for a take no longer waited for.
    pub fn taken(
        &self,
        take: u32,
        attempts: u32,
        deliveries: u32,
        handlers: &JsValue,
        now: f64,
    ) -> Option<u32> {
        let handlers = match handlers.as_string().as_deref() {
            Some("unverified") => Err(DeadReason::Unverified),
            Some(_) => Err(DeadReason::InvalidRecord),
            None => Ok(handlers.as_f64().map_or(0, |n| n as usize)),
        };
        self.inner.borrow_mut().taken(take, attempts, deliveries, handlers, ms(now))
    }

    /// Take number `take` is over.
    #[wasm_bindgen(js_name = takeEnded)]
    pub fn take_ended(&self, take: u32, now: f64) {
        self.inner.borrow_mut().take_ended(take, ms(now));
    }

    /// Take number `take` failed.
    #[wasm_bindgen(js_name = takeFailed)]
    pub fn take_failed(&self, take: u32, now: f64) {
        self.inner.borrow_mut().take_failed(take, ms(now));
    }

    /// The handler `run` named for `job` ended, `ok` or failed.
    pub fn handled(&self, job: u32, ok: bool, now: f64) {
        self.inner.borrow_mut().handler_ended(job, ok, ms(now));
    }

    /// The queue could not renew `job`'s message (the heartbeat failed).
    #[wasm_bindgen(js_name = extendFailed)]
    pub fn extend_failed(&self, job: u32) {
        self.inner.borrow_mut().extend_failed(job);
    }

    /// Why a record the receiver's checks refused with `status` cannot run: `'unverified'` or
    /// `'invalid_record'`.
    #[wasm_bindgen(js_name = deadReasonOf)]
    pub fn dead_reason_of(status: u16) -> String {
        DeadReason::of_refusal(status).code().to_owned()
    }

    /// How long `stop` lets what runs finish by default, in ms.
    #[wasm_bindgen(js_name = defaultStopGraceMs)]
    pub fn default_stop_grace_ms() -> f64 {
        clhooks::handoff::DEFAULT_STOP_GRACE_MS as f64
    }

    /// Whether `job`'s message is still this worker's (the heartbeat's answer).
    pub fn extended(&self, job: u32, owned: bool, now: f64) {
        self.inner.borrow_mut().extended(job, owned, ms(now));
    }

    /// What the seen-store said of `job`'s run claim: `'fresh'`, `'duplicate'`, `'in_flight'` or
    /// `{ held }` (anything else counts as the store failing).
    #[wasm_bindgen(js_name = runClaimed)]
    pub fn run_claimed(&self, job: u32, claim: &JsValue, now: f64) {
        let mut inner = self.inner.borrow_mut();
        match crate::shared::claim_value(claim) {
            Some(claimed) => inner.run_claimed(job, claimed, ms(now)),
            None => inner.run_claim_failed(job, ms(now)),
        }
    }

    /// The seen-store could not claim `job`'s run.
    #[wasm_bindgen(js_name = runClaimFailed)]
    pub fn run_claim_failed(&self, job: u32, now: f64) {
        self.inner.borrow_mut().run_claim_failed(job, ms(now));
    }

    /// `job`'s run claim ended.
    #[wasm_bindgen(js_name = runEnded)]
    pub fn run_ended(&self, job: u32, now: f64) {
        self.inner.borrow_mut().run_ended(job, ms(now));
    }

    /// What a run's claim asks of the seen-store: `{leaseMs, keepMs, waitMs}`.
    #[wasm_bindgen(getter, js_name = runTerms)]
    pub fn run_terms(&self) -> JsValue {
        let terms = self.inner.borrow().config().run_terms();
        let out = Object::new();
        set(&out, "leaseMs", &(terms.lease_ms as f64).into());
        set(&out, "keepMs", &(terms.keep_ms as f64).into());
        set(&out, "waitMs", &(terms.wait_ms as f64).into());
        Object::freeze(&out).into()
    }

    /// The key a delivery's run is claimed under.
    #[wasm_bindgen(js_name = runKey)]
    pub fn run_key(key: &str) -> String {
        clhooks::handoff::run_key(key)
    }

    /// `job`'s settle is over, `ok` or failed.
    pub fn settled(&self, job: u32, ok: bool, now: f64) {
        self.inner.borrow_mut().settled(job, ok, ms(now));
    }

    /// The time is `now`.
    pub fn wake(&self, now: f64) {
        self.inner.borrow_mut().wake(ms(now));
    }

    /// When to call `wake`, or `undefined`.
    #[wasm_bindgen(js_name = wakeAt)]
    pub fn wake_at(&self) -> Option<f64> {
        self.inner.borrow().next_wake().map(|t| t as f64)
    }

    /// Stop: take nothing more, let what runs finish for `graceMs`, then hand it back.
    pub fn stop(&self, now: f64, grace_ms: f64) {
        self.inner.borrow_mut().stop(ms(now), ms(grace_ms));
    }

    /// Which attempt job `job` is, for metrics and logs (`undefined` once it is forgotten).
    pub fn attempt(&self, job: u32) -> Option<u32> {
        self.inner.borrow().attempt(job)
    }

    /// How many messages it holds.
    #[wasm_bindgen(getter)]
    pub fn busy(&self) -> u32 {
        self.inner.borrow().busy()
    }

    /// A record from one message's bytes (`Receiver.recordBytes`): as `readRecord` gives it.
    #[wasm_bindgen(js_name = decodeRecord)]
    pub fn decode_record(bytes: &JsValue) -> JsResult<Object> {
        let bytes = throw(convert::bytes_view(bytes))?.to_vec();
        Ok(record_value(throw(Record::decode(&bytes))?))
    }

    /// A record from its fields, `[name, value, ...]` (strings or bytes, in any order):
    /// `{key, topic, signature, receivedMs, attempts, body}`, the body as bytes. Throws
    /// `invalid_record` for anything else.
    #[wasm_bindgen(js_name = readRecord)]
    pub fn read_record(fields: &Array) -> JsResult<Object> {
        let mut pairs = Vec::new();
        let bytes = |value: JsValue| -> Result<Vec<u8>, BindingError> {
            match value.as_string() {
                Some(text) => Ok(text.into_bytes()),
                None => Ok(convert::bytes_view(&value)?.to_vec()),
            }
        };
        let mut values = fields.iter();
        while let (Some(name), Some(value)) = (values.next(), values.next()) {
            let name = throw(bytes(name))?;
            // Only the fields a record has are copied (a body may be large).
            if !Record::FIELDS.iter().any(|field| field.as_bytes() == name.as_slice()) {
                continue;
            }
            pairs.push((name, throw(bytes(value))?));
        }
        Ok(record_value(throw(Record::from_fields(pairs))?))
    }
}

/// `{key, topic, signature, receivedMs, attempts, body}`, the body as bytes.
fn record_value(record: Record) -> Object {
    let out = Object::new();
    set(&out, "key", &record.key.into());
    set(&out, "topic", &record.topic.into());
    set(&out, "signature", &record.signature.into());
    set(&out, "receivedMs", &(record.received_ms as f64).into());
    set(&out, "attempts", &record.attempts.into());
    set(&out, "body", &Uint8Array::from(record.body.as_slice()).into());
    out
}
