//! The core's sans-IO receiver and memory seen-store for JS: the package's `Webhooks` (node:http,
//! Express, fetch) moves bytes and awaits the user's handlers and store; these decide.

use clhooks::payload::KeyScope;
use clhooks::receiver::{
    Action, Answer, Body, Claim, Duplicates, InFlight, MemoryStore, Receiver, Run, SeenStore, Session, Terms,
};
use clhooks::signature::{Check, TAG_LEN};
use clhooks::{Topic, Verifier};
use std::cell::RefCell;

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::document::{self, Held};
use crate::errors::{throw, BindingError, JsResult};
use crate::{answer_value, set, string};

/// `options[name]`, or `undefined` without options.
fn option(options: &JsValue, name: &'static str) -> JsValue {
    if options.is_undefined() || options.is_null() {
        JsValue::UNDEFINED
    } else {
        Reflect::get(options, &crate::key(name)).unwrap_or(JsValue::NULL)
    }
}

/// `options[name]` as the index of one of `words`; `None` when it is not set.
fn choice(
    options: &JsValue,
    name: &'static str,
    words: &[&str],
    message: &'static str,
) -> JsResult<Option<usize>> {
    let value = option(options, name);
    if value.is_undefined() {
        return Ok(None);
    }
    let chosen = value.as_string().and_then(|v| words.iter().position(|w| *w == v));
    chosen.map(Some).ok_or_else(|| crate::errors::to_js(&BindingError::invalid(message)))
}

/// `{leaseMs, keepMs, waitMs}`, frozen.
fn terms_value(terms: Terms) -> JsValue {
    let out = Object::new();
    set(&out, "leaseMs", &JsValue::from(terms.lease_ms as f64));
    set(&out, "keepMs", &JsValue::from(terms.keep_ms as f64));
    set(&out, "waitMs", &JsValue::from(terms.wait_ms as f64));
    Object::freeze(&out).into()
}

/// `{answer}` or `{key: value}`.
fn either(key: &'static str, value: &JsValue) -> Object {
    let out = Object::new();
    set(&out, key, value);
    out
}

/// Verifies a held body as `check` says, then reads it with the engine: the core's
/// `receive_with` for the bindings (`Verifier.receive` and `Receiver.receive`).
pub(crate) fn check_signature(
    verifier: &Verifier,
    tags: Option<&[[u8; TAG_LEN]]>,
    body: &Held,
    signature: &str,
) -> clhooks::Result<()> {
    match tags {
        Some(tags) => Check::Tags(tags).verify(&[], signature),
        None => Check::Keys(verifier).verify(&body.bytes(), signature),
    }
}

/// `Receiver.receive`'s `[answer, event, run, pending]`, the `undefined` ones left as holes:
/// `Array.of` costs about fifteen times an array literal in V8, and this is made per request.
fn step1(
    answer: Option<&JsValue>,
    event: Option<&JsValue>,
    run: Option<&JsValue>,
    pending: Option<&JsValue>,
) -> Array {
    let out = Array::new_with_length(4);
    for (index, value) in [answer, event, run, pending].into_iter().enumerate() {
        if let Some(value) = value {
            out.set(u32::try_from(index).unwrap_or(0), value.clone());
        }
    }
    out
}

fn claim(value: &JsValue) -> Result<Claim, BindingError> {
    match value.as_string().as_deref() {
        Some("fresh") => Ok(Claim::Fresh),
        Some("duplicate") => Ok(Claim::Duplicate),
        Some("in_flight") => Ok(Claim::InFlight),
        _ => Err(BindingError::invalid(
            "a seen-store's claim() must give \"fresh\", \"duplicate\" or \"in_flight\"",
        )),
    }
}

fn topic(value: &JsValue) -> Result<Topic, BindingError> {
    Ok(Topic::parse(&string(value, "the topic")?)?)
}

/// The receiver: `receive`, then `claimed` with what the store said, then `finished`.
#[wasm_bindgen(js_name = Receiver)]
pub struct JsReceiver {
    inner: Receiver,
    /// The terms handed to the store with each claim, `{leaseMs, keepMs, waitMs}`, frozen.
    terms: JsValue,
    /// What every delivery of a topic shares, made once: its routes and its runs.
    topics: RefCell<crate::Kept<Shared>>,
    /// The topic of the delivery whose head `receiveWritten` accepted last, until
    /// `receiveOutlined` takes it.
    head: RefCell<Option<Topic>>,
}

/// A topic's routes, and a run object per kind of run (fresh and claimed; a marked duplicate).
struct Shared {
    routes: JsValue,
    runs: [Option<JsValue>; 2],
}

/// How many topics a receiver keeps made.
const TOPICS_KEPT: usize = 512;

#[wasm_bindgen(js_class = Receiver)]
impl JsReceiver {
    /// `secret` is a secret, an array of them, or a `Verifier`'s secrets; `options` may hold
    /// `maxBodyBytes` (default 5 MiB), `duplicates` (`'skip'` or `'mark'`) and
    /// `handlerTimeoutMs` (default 30 s; 0 for none).
    #[wasm_bindgen(constructor)]
    pub fn new(secrets: &JsValue, options: &JsValue) -> JsResult<JsReceiver> {
        let verifier = throw(convert::secrets(secrets).and_then(|s| Ok(Verifier::new(s)?)))?;
        JsReceiver::with_verifier(verifier, options)
    }

    /// As the constructor, with a `Verifier`'s keys.
    #[wasm_bindgen(js_name = fromVerifier)]
    pub fn from_verifier(verifier: &crate::JsVerifier, options: &JsValue) -> JsResult<JsReceiver> {
        JsReceiver::with_verifier(verifier.inner.clone(), options)
    }

    fn with_verifier(verifier: Verifier, options: &JsValue) -> JsResult<JsReceiver> {
        let mut inner = Receiver::new(verifier);
        if let Some(max) = throw(convert::whole(options, "maxBodyBytes", u64::from(u32::MAX)))? {
            inner = inner.with_max_body_bytes(max as usize);
        }
        if let Some(ms) = throw(convert::whole(options, "handlerTimeoutMs", 2_147_483_647))? {
            inner = inner.with_handler_timeout_ms(ms);
        }
        if choice(
            options,
            "keyScope",
            &["topic-and-body", "body"],
            "keyScope must be 'topic-and-body' or 'body'",
        )? == Some(1)
        {
            inner = inner.with_key_scope(KeyScope::Body);
        }
        if choice(options, "duplicates", &["skip", "mark"], "duplicates must be 'skip' or 'mark'")? == Some(1)
        {
            inner = inner.with_duplicates(Duplicates::Mark);
        }
        if choice(options, "inFlight", &["retry", "accept"], "inFlight must be 'retry' or 'accept'")?
            == Some(1)
        {
            inner = inner.with_in_flight(InFlight::Accept);
        }
        if let Some(ms) = throw(convert::whole(options, "leaseMs", 2_147_483_647))? {
            inner = inner.with_lease_ms(ms);
        }
        if let Some(ms) = throw(convert::whole(options, "keepMs", 1 << 50))? {
            inner = inner.with_keep_ms(ms);
        }
        if let Some(ms) = throw(convert::whole(options, "storeTimeoutMs", 2_147_483_647))? {
            inner = inner.with_store_timeout_ms(ms);
        }
        if !inner.lease_covers_handlers() {
            return Err(crate::errors::to_js(&BindingError::invalid(
                "leaseMs must be over handlerTimeoutMs + storeTimeoutMs, keepMs over 0",
            )));
        }
        let terms = terms_value(inner.terms());
        Ok(JsReceiver {
            inner,
            terms,
            topics: RefCell::new(crate::Kept::new(TOPICS_KEPT)),
            head: RefCell::new(None),
        })
    }

    /// The answer when the receiving side itself failed: 500 `receiver_failed`; with `store`,
    /// the seen-store failed or was late: 503 `store_unavailable`, so that Commerce Layer tries
    /// again.
    pub fn failed(message: &JsValue, store: bool) -> JsValue {
        let message = message.as_string().unwrap_or_default();
        answer_value(&if store { Receiver::store_failed(&message) } else { Receiver::failed(&message) })
    }

    /// The answer when an instance of this module failed (a trap) while receiving, and was
    /// replaced: 500 `core_failed`, so that Commerce Layer tries again.
    #[wasm_bindgen(js_name = coreFailed)]
    pub fn core_failed(message: &JsValue) -> JsValue {
        let message = message.as_string().unwrap_or_default();
        answer_value(&Answer::error(crate::codes::BINDING_STATUS, "core_failed", &message))
    }

    /// Adds a route pattern; returns its index.
    pub fn route(&mut self, pattern: &JsValue) -> JsResult<u32> {
        let pattern = throw(string(pattern, "a topic pattern"))?;
        let index = throw(self.inner.route(&pattern))?;
        // The topics' routes change with it.
        self.topics.get_mut().clear();
        Ok(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// How long the handlers of a delivery may run, in ms (0: no limit).
    #[wasm_bindgen(getter, js_name = handlerTimeoutMs)]
    pub fn handler_timeout_ms(&self) -> f64 {
        self.inner.handler_timeout_ms() as f64
    }

    /// The body limit in bytes.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.inner.max_body_bytes() as f64
    }

    /// After an answer sent before the body was read whole: how many more bytes the adapter
    /// reads and drops before it closes (the core's lingering close, `Linger`).
    #[wasm_bindgen(getter, js_name = lingerBytes)]
    pub fn linger_bytes(&self) -> f64 {
        clhooks::receiver::Linger::bytes(self.inner.max_body_bytes()) as f64
    }

    /// The same, for how long in ms.
    #[wasm_bindgen(getter, js_name = lingerMs)]
    pub fn linger_ms(&self) -> f64 {
        clhooks::receiver::LINGER_MS as f64
    }

    /// Step 1: `[answer, event, run, pending]`: an answer `{status, body}` to send at once, or
    /// the event verified with its run (step 2 done, the store answered at once) or the store's
    /// pending claim; the rest `undefined`. `signature`
    /// and `topic` are the values of the two delivery headers, as the package found them;
    /// `state` is `undefined` for a body read whole, `'too_large'`, `'unreadable'`, or
    /// `'parsed:express'` (`node`, `fetch`) for one a parser read first; `tags`,
    /// when given, are the HMAC-SHA256 of the body under each secret, computed by the host.
    // One call per request from JS: every argument crosses at once.
    #[allow(clippy::too_many_arguments)]
    pub fn receive(
        &self,
        method: &JsValue,
        signature: Option<String>,
        topic: Option<String>,
        body: &JsValue,
        state: &JsValue,
        tags: &JsValue,
        digest: &JsValue,
        store: &JsValue,
    ) -> JsResult<Array> {
        let tags = throw(convert::hosted_tags(tags))?;
        let digest = throw(document::digest(digest))?;
        // A store is given or not (`undefined`, `null`): asked once.
        let store = (!store.is_undefined() && !store.is_null()).then_some(Store::Js(store));
        let answered = |answer: &Answer| step1(Some(&answer_value(answer)), None, None, None);
        let method = method.as_string().unwrap_or_default();
        let headers = convert::delivery_headers(signature, topic);
        let state = state.as_string();
        // `parsed:READER`: the adapter saw a parser read the body before it (`express`, `node`,
        // `fetch`), so the refusal names that parser's fix.
        let reader =
            state.as_deref().and_then(|s| s.strip_prefix("parsed:")).map(crate::errors::Reader::named);
        let held = match state.as_deref() {
            Some("too_large" | "unreadable") => None,
            _ => match Held::read(body) {
                Ok(held) => Some(held),
                // A setup mistake (a parsed body): answered like any refusal, with its status, once
                // the core has said what it says first (the method, the signature header).
                Err(e) => {
                    let found = match e {
                        BindingError::BodyNotRaw { found, .. } => found,
                        _ => "neither text nor bytes",
                    };
                    let e = BindingError::BodyNotRaw {
                        found,
                        reader: reader.unwrap_or(crate::errors::Reader::Caller),
                        max_body_bytes: self.inner.max_body_bytes(),
                    };
                    let refusal = Answer::error(e.http_status(), e.code(), &e.to_string());
                    return Ok(answered(&self.inner.refuse_body(&method, headers, refusal)));
                }
            },
        };
        let size = match (&held, state.as_deref()) {
            (Some(held), _) => Body::Length(held.length_within(self.inner.max_body_bytes())),
            (None, Some("too_large")) => Body::TooLarge,
            (None, _) => Body::Unreadable,
        };
        // A `dyn` check, as `receive_written` passes: one copy of the core's steps for both.
        let verify: crate::receive::Verify<'_> = &|verifier, signature| match &held {
            Some(held) => check_signature(verifier, tags.as_deref(), held, signature),
            None => Err(clhooks::Error::MissingSignature),
        };
        let received = self.inner.receive_with(&method, headers, size, verify, |verified| {
            held.as_ref().map_or(Err(clhooks::Error::MissingSignature), |held| {
                document::read(held, Some(&verified.topic))
            })
        });
        match received {
            Ok(delivery) => self.accepted(&delivery.topic, delivery.event, held.as_ref(), digest, store),
            Err(answer) => Ok(answered(&answer)),
        }
    }

    /// The rest of step 1 once a delivery is verified and read: its key (for a store, or a key
    /// scope of the body alone), its routes and event, then the store's claim and step 2 at once
    /// when the store answers at once (none, or a synchronous one). A store that throws, or
    /// answers something else than a claim, is the caller's failure to report (the adapters
    /// answer 500).
    fn accepted(
        &self,
        topic: &Topic,
        payload: document::JsPayload,
        held: Option<&Held>,
        digest: Option<[u8; 32]>,
        store: Option<Store<'_>>,
    ) -> JsResult<Array> {
        // The key only for a store (or when a handler reads it): no second pass over the body
        // otherwise. A body-only key is made here too: the event's own lazy key is the default one.
        let scope = self.inner.key_scope();
        let eager = store.is_some() || scope != KeyScope::TopicAndBody;
        let key = match (held, eager) {
            (Some(held), true) => Some(document::key_of(scope, topic, held, digest)),
            _ => None,
        };
        let routes = self.shared(topic, |shared| shared.routes.clone());
        let event = document::event(payload, topic, key.as_deref(), &routes);
        let key = key.as_deref().unwrap_or_default();
        let claim = match store {
            // The core's own memory store, claimed here: no crossing.
            Some(Store::Memory(memory)) => memory.claimed(key),
            Some(Store::Js(store)) => match call_store(store, key, &self.terms)? {
                Stored::Value(claimed) => throw(claim(&claimed))?,
                Stored::Pending(promise) => return Ok(step1(None, Some(&event), None, Some(&promise))),
            },
            None => Claim::Fresh,
        };
        Ok(match self.step2(topic, claim) {
            Ok(run) => step1(None, Some(&event), Some(&run), None),
            Err(answer) => step1(Some(&answer), Some(&event), None, None),
        })
    }

    /// Step 1's head from the scratch (see the package's `scratch`): whether the first
    /// `first_len` bytes — the body, or with `tagged` the host's tags of it — then the next
    /// `method_len`, `signature_len` and `topic_len`, the request's method and the values of the
    /// two delivery headers, are a request this receiver reads the body of (`receive`'s checks
    /// up to the topic, for a body of `body_len` bytes). `false` for anything else: the package
    /// then calls `receive`, for the answer, so there is one place that decides.
    #[wasm_bindgen(js_name = receiveWritten)]
    pub fn receive_written(
        &self,
        tagged: bool,
        body_len: usize,
        first_len: usize,
        method_len: usize,
        signature_len: usize,
        topic_len: usize,
    ) -> bool {
        let topic = crate::receive::with_written(
            first_len,
            [method_len, signature_len, topic_len],
            &mut |first, [method, signature, topic]| {
                let check = crate::receive::written_check(tagged, first)?;
                let headers = convert::delivery_headers(Some(signature.to_owned()), Some(topic.to_owned()));
                let verify: crate::receive::Verify<'_> =
                    &|verifier, signature| check.verify(verifier, signature);
                self.inner.receive_head(method, headers, Body::Length(body_len), verify).ok().map(|v| v.topic)
            },
        );
        let accepted = topic.is_some();
        *self.head.borrow_mut() = topic;
        accepted
    }

    /// Step 1's end for the delivery `receiveWritten` accepted last, once the package has read
    /// its body (the document `read` parsed last) and written its outline for the core's
    /// `outlineWritten`: as `receive`, `[answer, event, run, pending]`, with the caller's store
    /// or none. `undefined` when the outline is refused, or there is no such delivery: the
    /// package then calls `receive`.
    #[wasm_bindgen(js_name = receiveOutlined)]
    pub fn receive_outlined(
        &self,
        codes_len: usize,
        body: &js_sys::Uint8Array,
        digest: Option<js_sys::Uint8Array>,
        store: Option<Object>,
    ) -> JsResult<JsValue> {
        let store = store.map(JsValue::from);
        self.outlined(codes_len, body, digest, store.as_ref().map(Store::Js))
    }

    /// As `receiveOutlined`, claimed in the core's own memory store.
    #[wasm_bindgen(js_name = receiveOutlinedInMemory)]
    pub fn receive_outlined_in_memory(
        &self,
        codes_len: usize,
        body: &js_sys::Uint8Array,
        digest: Option<js_sys::Uint8Array>,
        memory: &JsMemoryStore,
    ) -> JsResult<JsValue> {
        self.outlined(codes_len, body, digest, Some(Store::Memory(memory)))
    }

    fn outlined(
        &self,
        codes_len: usize,
        body: &js_sys::Uint8Array,
        digest: Option<js_sys::Uint8Array>,
        store: Option<Store<'_>>,
    ) -> JsResult<JsValue> {
        let Some(topic) = self.head.borrow_mut().take() else { return Ok(JsValue::UNDEFINED) };
        if !crate::receive::outline_written(codes_len) {
            return Ok(JsValue::UNDEFINED);
        }
        let held = Held::Bytes(body.clone());
        let digest = throw(digest.as_ref().map(document::digest_of).transpose())?;
        // The outline's first code said `data.type` is the topic's resource.
        let payload = document::JsPayload { body: held.value(), kind: topic.resource().to_owned() };
        self.accepted(&topic, payload, Some(&held), digest, store).map(JsValue::from)
    }

    /// `take` of what deliveries of `topic` share, made on first use and kept: only what
    /// `take` returns is copied out.
    fn shared(&self, topic: &Topic, take: impl FnOnce(&mut Shared) -> JsValue) -> JsValue {
        let mut topics = self.topics.borrow_mut();
        let entry = topics.get_or(topic.as_str(), || Shared {
            routes: document::routes_value(&self.inner.routes_of(topic)),
            runs: [None, None],
        });
        entry.map_or(JsValue::NULL, take)
    }

    /// A run and both its ends, as the core decides them: `{duplicate, claimed, ok: {answer,
    /// done}, failed: {answer, done}}`, frozen. The JS layer runs the handlers, takes `ok` or
    /// `failed`, and tells the store `done` when it is not `null`.
    fn run_value(&self, topic: &Topic, run: Run) -> JsValue {
        let slot = usize::from(run.duplicate);
        let end = |ok: bool| {
            let finish = self.inner.finished(topic, run, ok);
            let out = either("answer", &answer_value(&finish.answer));
            set(&out, "done", &finish.done.map_or(JsValue::NULL, JsValue::from_bool));
            JsValue::from(Object::freeze(&out))
        };
        self.shared(topic, |shared| {
            let Some(runs) = shared.runs.get_mut(slot) else { return JsValue::NULL };
            runs.get_or_insert_with(|| {
                let value = Object::new();
                set(&value, "duplicate", &JsValue::from_bool(run.duplicate));
                set(&value, "claimed", &JsValue::from_bool(run.claimed));
                set(&value, "ok", &end(true));
                set(&value, "failed", &end(false));
                let timed_out = self.inner.timed_out(run);
                let out = either("answer", &answer_value(&timed_out.answer));
                set(&out, "done", &timed_out.done.map_or(JsValue::NULL, JsValue::from_bool));
                set(&value, "timedOut", &Object::freeze(&out));
                Object::freeze(&value).into()
            })
            .clone()
        })
    }

    /// Step 2: the run, or the answer to send at once.
    fn step2(&self, topic: &Topic, claim: Claim) -> Result<JsValue, JsValue> {
        match self.inner.claimed(topic, claim) {
            Ok(run) => Ok(self.run_value(topic, run)),
            Err(answer) => Err(answer_value(&answer)),
        }
    }

    /// Step 2, with what an asynchronous store's `claim` resolved to: `{answer}` to send at
    /// once, or `{run}` as step 1 gives it.
    pub fn claimed(&self, topic_name: &JsValue, claimed: &JsValue) -> JsResult<Object> {
        let topic = throw(topic(topic_name))?;
        let claim = throw(claim(claimed))?;
        let out = Object::new();
        match self.step2(&topic, claim) {
            Ok(run) => set(&out, "run", &run),
            Err(answer) => set(&out, "answer", &answer),
        }
        Ok(out)
    }
}

/// The seen-store step 1 claims in: the caller's (any object with `claim`), or the core's own
/// memory store.
pub(crate) enum Store<'a> {
    Js(&'a JsValue),
    Memory(&'a JsMemoryStore),
}

/// What a seen-store's method gave.
enum Stored {
    /// A value, at once.
    Value(JsValue),
    /// A promise (a store over the network): the JS layer awaits it.
    Pending(JsValue),
}

/// Calls `store.claim(key, terms)`; what it throws is thrown on.
fn call_store(store: &JsValue, key: &str, terms: &JsValue) -> JsResult<Stored> {
    let function = Reflect::get(store, &crate::key("claim")).ok().and_then(|f| f.dyn_into::<Function>().ok());
    let Some(function) = function else {
        return Err(crate::errors::to_js(&BindingError::invalid("a seen-store needs a claim() method")));
    };
    let value = function.call2(store, &JsValue::from_str(key), terms)?;
    let then = Reflect::get(&value, &crate::key("then")).ok().filter(JsValue::is_function);
    Ok(if value.is_object() && then.is_some() { Stored::Pending(value) } else { Stored::Value(value) })
}

/// The memory store keeps keys by number, not time.
const NO_TERMS: Terms = Terms { lease_ms: 0, keep_ms: 0, wait_ms: 0 };

/// The core's bounded in-memory seen-store.
#[wasm_bindgen(js_name = MemoryStore)]
pub struct JsMemoryStore {
    inner: MemoryStore,
}

#[wasm_bindgen(js_class = MemoryStore)]
impl JsMemoryStore {
    /// Remembers at most `max` handled keys (default 10,000).
    #[wasm_bindgen(constructor)]
    pub fn new(max: Option<u32>) -> JsMemoryStore {
        JsMemoryStore { inner: max.map_or_else(MemoryStore::default, |max| MemoryStore::new(max as usize)) }
    }

    /// `'fresh'`, `'duplicate'` or `'in_flight'`. (It reads no clock: the terms are not
    /// needed by a store that goes with its process.)
    pub fn claim(&self, key: &JsValue) -> JsResult<String> {
        let key = throw(string(key, "the key"))?;
        Ok(self.claimed(&key).as_str().to_owned())
    }

    /// Ends a claim: `handled` records the key, otherwise it is released (the retry runs).
    pub fn done(&self, key: &JsValue, handled: bool) -> JsResult<()> {
        let key = throw(string(key, "the key"))?;
        let _ = if handled { self.inner.done(&key, NO_TERMS) } else { self.inner.release(&key) };
        Ok(())
    }

    /// A claim of `key`, as `claim` gives it (for step 1, without a crossing).
    fn claimed(&self, key: &str) -> Claim {
        self.inner.claim(key, NO_TERMS).unwrap_or(Claim::InFlight)
    }

    /// How many handled keys are remembered.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }
}

/// One delivery's sequence after step 1, the core's `Session`: the package tells it what
/// happened and does what it hands out (`poll`), waking it at `nextWake`.
#[wasm_bindgen(js_name = Session)]
pub struct JsSession {
    inner: Session,
}

#[wasm_bindgen(js_class = Session)]
impl JsSession {
    /// The session of a delivery of `topic` that `receiver` accepted at `now` (ms), with
    /// `handlers` handlers to run and a seen-store (`store`) or none.
    #[wasm_bindgen(constructor)]
    pub fn new(
        receiver: &JsReceiver,
        topic_name: &JsValue,
        handlers: u32,
        store: bool,
        now: f64,
    ) -> JsResult<JsSession> {
        let topic = throw(topic(topic_name))?;
        let handlers = usize::try_from(handlers).unwrap_or(usize::MAX);
        Ok(JsSession { inner: Session::new(&receiver.inner, topic, handlers, store, ms(now)) })
    }

    /// The next action, or `undefined`: `{kind: 'claim', terms}`, `{kind: 'run', index,
    /// duplicate}`, `{kind: 'end', handled}`, `{kind: 'tell', code, message}` or `{kind:
    /// 'answer', answer: {status, body}}`.
    pub fn poll(&mut self) -> JsValue {
        let Some(action) = self.inner.poll() else { return JsValue::UNDEFINED };
        let out = Object::new();
        match action {
            Action::Claim(terms) => {
                set(&out, "kind", &JsValue::from_str("claim"));
                set(&out, "terms", &terms_value(terms));
            }
            Action::Run { index, duplicate } => {
                set(&out, "kind", &JsValue::from_str("run"));
                set(&out, "index", &JsValue::from(u32::try_from(index).unwrap_or(u32::MAX)));
                set(&out, "duplicate", &JsValue::from(duplicate));
            }
            Action::End { handled } => {
                set(&out, "kind", &JsValue::from_str("end"));
                set(&out, "handled", &JsValue::from(handled));
            }
            Action::Tell(notice) => {
                set(&out, "kind", &JsValue::from_str("tell"));
                set(&out, "code", &JsValue::from_str(notice.code()));
                set(&out, "message", &JsValue::from_str(notice.message()));
            }
            Action::Answer(answer) => {
                set(&out, "kind", &JsValue::from_str("answer"));
                set(&out, "answer", &answer_value(&answer));
            }
        }
        out.into()
    }

    /// When to call `wake`, in the caller's ms, or `undefined`.
    #[wasm_bindgen(getter, js_name = nextWake)]
    pub fn next_wake(&self) -> Option<f64> {
        self.inner.next_wake().map(|t| t as f64)
    }

    /// The store's answer to the claim: `'fresh'`, `'duplicate'` or `'in_flight'`.
    pub fn claimed(&mut self, claim: &JsValue, now: f64) -> JsResult<()> {
        let claim = match claim.as_string().as_deref() {
            Some("fresh") => Claim::Fresh,
            Some("duplicate") => Claim::Duplicate,
            Some("in_flight") => Claim::InFlight,
            _ => {
                return Err(crate::errors::to_js(&BindingError::invalid(
                    "a claim is 'fresh', 'duplicate' or 'in_flight'",
                )))
            }
        };
        self.inner.claimed(claim, ms(now));
        Ok(())
    }

    /// The store failed to claim: 503 `store_unavailable`.
    #[wasm_bindgen(js_name = storeFailed)]
    pub fn store_failed(&mut self, message: &JsValue) {
        self.inner.store_failed(&message.as_string().unwrap_or_default());
    }

    /// The handler the last `run` named ended: `ok`, or it failed.
    #[wasm_bindgen(js_name = handlerEnded)]
    pub fn handler_ended(&mut self, ok: bool, now: f64) {
        self.inner.handler_ended(ok, ms(now));
    }

    /// The store could not end the claim.
    #[wasm_bindgen(js_name = endFailed)]
    pub fn end_failed(&mut self) {
        self.inner.end_failed();
    }

    /// The time is `now` (ms).
    pub fn wake(&mut self, now: f64) {
        self.inner.wake(ms(now));
    }

    /// Whether nothing is left to do.
    #[wasm_bindgen(getter, js_name = isOver)]
    pub fn is_over(&self) -> bool {
        self.inner.is_over()
    }
}

/// Milliseconds from JS (a double) as the core's: negatives and NaN are 0.
fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}
