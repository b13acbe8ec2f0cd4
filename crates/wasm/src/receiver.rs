//! The core's sans-IO receiver and memory seen-store for JS: the package's `Webhooks` (node:http,
//! Express, fetch) moves bytes and awaits the user's handlers and store; these decide.

use clhooks::health::Outcome;
use clhooks::payload::KeyScope;
use clhooks::receiver::{
    Action, Answer, Body, Claim, Duplicates, Handoff, InFlight, MemoryStore, Notice, Receiver, SeenStore,
    Session, Terms,
};
use clhooks::signature::{Check, TAG_LEN};
use clhooks::{Topic, Verifier};
use std::cell::RefCell;
use std::rc::Rc;

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

/// Verifies a held body as `check` says, then reads it with the engine: the core's
/// `receive_with` for the bindings (`Verifier.receive` and `Receiver.receive`).
pub(crate) fn check_signature(
    verifier: &Verifier,
    tags: Option<&[[u8; TAG_LEN]]>,
    body: &Held,
    signature: &str,
) -> clhooks::Result<()> {
    let matched = match tags {
        Some(tags) => Check::Tags(tags).matched(&[], signature),
        None => Check::Keys(verifier).matched(&body.bytes(), signature),
    };
    matched.map(matched_secret)
}

std::thread_local! {
    /// Which secret verified the delivery received last (its place in the list): its session's
    /// failure streak is that secret's webhook's. Set by the verification of step 1, read by the
    /// step that keeps its session, within one call or two calls in a row (`receiveWritten`,
    /// then `receiveOutlined`).
    static MATCHED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Notes which secret verified the delivery received now.
pub(crate) fn matched_secret(secret: usize) {
    MATCHED.with(|matched| matched.set(secret));
}

/// `Receiver.receive`'s `[answer, event, session, pending]`, the `undefined` ones left as holes:
/// `Array.of` costs about fifteen times an array literal in V8, and this is made per request.
fn step1(
    answer: Option<&JsValue>,
    event: Option<&JsValue>,
    session: Option<&JsValue>,
    pending: Option<&JsValue>,
) -> Array {
    let out = Array::new_with_length(4);
    for (index, value) in [answer, event, session, pending].into_iter().enumerate() {
        if let Some(value) = value {
            out.set(u32::try_from(index).unwrap_or(0), value.clone());
        }
    }
    out
}

fn claim(value: &JsValue) -> Result<Claim, BindingError> {
    crate::shared::claim_value(value).ok_or_else(|| {
        BindingError::invalid(
            "a seen-store's claim() must give \"fresh\", \"duplicate\", \"in_flight\" or { held }",
        )
    })
}

fn topic(value: &JsValue) -> Result<Topic, BindingError> {
    Ok(Topic::parse(&string(value, "the topic")?)?)
}

/// The receiver: `receive`, then the delivery's session (the core's `Session`), driven by the
/// package through `sessionNext` and the `session*` inputs.
#[wasm_bindgen(js_name = Receiver)]
pub struct JsReceiver {
    inner: Receiver,
    /// The terms handed to the store with each claim, `{leaseMs, keepMs, waitMs}`, frozen.
    terms: JsValue,
    /// What every delivery of a topic shares, made once: its routes.
    topics: RefCell<crate::Kept<Shared>>,
    /// The topic of the delivery whose head `receiveWritten` accepted last, until
    /// `receiveOutlined` takes it.
    head: RefCell<Option<Topic>>,
    /// The sessions of the deliveries under way.
    sessions: RefCell<Sessions>,
    /// The answer a session handed out last, until `answer` takes it.
    answer: RefCell<JsValue>,
    /// Answers made into frozen objects once (a receiver gives a handful of different ones).
    answers: RefCell<Vec<(Answer, JsValue)>>,
    /// The outcome of the answer a session handed out last (its place in `Outcome::ALL`), for
    /// the `COUNT` that follows it.
    outcome: std::cell::Cell<u32>,
}

/// A topic's routes: their indexes as an array for the event, and how many.
struct Shared {
    routes: JsValue,
    count: usize,
}

/// How many different answers a receiver keeps made (all forgotten at once past it).
const ANSWERS_KEPT: usize = 32;

/// A session's next action for the package, as one number: the kind in the low four bits,
/// [`step::FLAG`] and [`step::LAST`], and an index from bit 8. Read by the package once, from
/// `Receiver.sessionSteps()`.
mod step {
    /// Nothing until the session is told something: a handler's end, the store's, the wake-up.
    pub(super) const WAIT: u32 = 0;
    /// Run the handler of the delivery's route `code >> 8` (`FLAG`: it was handled before),
    /// then `sessionHandled`.
    pub(super) const RUN: u32 = 1;
    /// End the claim in the store (`FLAG`: record it as done; otherwise release it), then
    /// `sessionClaimEnded`. `FOLD`: count the answer that `answer()` gives now in the same
    /// step (the store's `endCounting`), the answer it waits for, for the secret `code >> 11`.
    pub(super) const END: u32 = 2;
    /// Tell the error handler notice `code >> 8` (`notices`).
    pub(super) const TELL: u32 = 3;
    /// Send the answer that `answer()` gives.
    pub(super) const ANSWER: u32 = 4;
    /// Claim the key with the receiver's `terms`, then `sessionClaimed` or `sessionStoreFailed`
    /// (a session opened with `session`; the `receive` calls claim themselves).
    pub(super) const CLAIM: u32 = 5;
    /// The session is over.
    pub(super) const OVER: u32 = 6;
    /// Write the delivery's record to the queue (`FLAG`: the queue claims its key in the same
    /// step), then `sessionEnqueued` or `sessionEnqueueFailed`.
    pub(super) const ENQUEUE: u32 = 7;
    /// Count the answer just given in its webhook's failure streak (`Health.count`), with the
    /// time it was handed over and how long after its request arrived; its outcome is
    /// `outcomes[(code >> 8) & 7]`, the secret that verified it `code >> 11`. `FLAG`: the
    /// claim's end counted it already (`FOLD`): its reply is the count's.
    pub(super) const COUNT: u32 = 8;
    /// See `RUN` and `END`.
    pub(super) const FLAG: u32 = 1 << 4;
    /// The session is over and forgotten: nothing follows this action.
    pub(super) const LAST: u32 = 1 << 5;
    /// See `END`.
    pub(super) const FOLD: u32 = 1 << 6;
}

/// A delivery's session, with what its driver here needs: the key, for the core's memory store,
/// which this module ends itself (no crossing).
struct Live {
    session: Session,
    key: String,
    memory: Option<Rc<MemoryStore>>,
    /// Which secret verified it.
    secret: u32,
}

/// The sessions under way, by number: a slot's index in the low [`SLOT_BITS`] bits, and its
/// generation above them, so that a number whose session is over finds nothing.
#[derive(Default)]
struct Sessions {
    slots: Vec<(u32, Option<Live>)>,
    free: Vec<u32>,
}

const SLOT_BITS: u32 = 20;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;

impl Sessions {
    /// `None` with over a million sessions under way.
    fn insert(&mut self, live: Live) -> Option<u32> {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.slots.len()).ok().filter(|i| *i <= SLOT_MASK)?;
                self.slots.push((0, None));
                index
            }
        };
        let (generation, slot) = self.slots.get_mut(index as usize)?;
        *slot = Some(live);
        Some(index | (*generation << SLOT_BITS))
    }

    fn get(&mut self, id: u32) -> Option<&mut Live> {
        let (generation, slot) = self.slots.get_mut((id & SLOT_MASK) as usize)?;
        if *generation != id >> SLOT_BITS {
            return None;
        }
        slot.as_mut()
    }

    fn remove(&mut self, id: u32) {
        if let Some((generation, slot)) = self.slots.get_mut((id & SLOT_MASK) as usize) {
            if *generation == id >> SLOT_BITS && slot.take().is_some() {
                *generation = (*generation + 1) & (u32::MAX >> SLOT_BITS);
                self.free.push(id & SLOT_MASK);
            }
        }
    }
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
        // Set by the package from its `queue` option: whether the queue claims keys itself.
        match choice(options, "handoff", &["claims", "queue"], "handoff must be 'claims' or 'queue'")? {
            Some(0) => inner = inner.with_handoff(Handoff::Queue { claims: true }),
            Some(_) => inner = inner.with_handoff(Handoff::Queue { claims: false }),
            None => {}
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
            sessions: RefCell::new(Sessions::default()),
            answer: RefCell::new(JsValue::UNDEFINED),
            answers: RefCell::new(Vec::new()),
            outcome: std::cell::Cell::new(0),
        })
    }

    /// The answer when the receiving side itself failed (a seen-store that broke its contract):
    /// 500 `receiver_failed`, so that Commerce Layer tries again.
    pub fn failed(message: &JsValue) -> JsValue {
        answer_value(&Receiver::failed(&message.as_string().unwrap_or_default()))
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

    /// Step 1: `[answer, event, session, pending]`: an answer `{status, body}` to send at once,
    /// or the event verified with the number of its session (see `sessionNext`), and the store's
    /// pending claim when it did not answer at once; the rest `undefined`. `now` is the time in
    /// ms, on the clock the package gives every session input. `signature`
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
        now: f64,
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
            Ok(delivery) => self.accepted(delivery.topic, delivery.event, held.as_ref(), digest, store, now),
            Err(answer) => Ok(answered(&answer)),
        }
    }

    /// A queued delivery read again by a worker: `[answer, event]`, the refusal of a record that
    /// does not verify or read (the `receive` checks, as a POST), or its event, with its routes
    /// and key, and no session: the worker's own machine runs it.
    pub fn read(&self, signature: Option<String>, topic: Option<String>, body: &JsValue) -> JsResult<Array> {
        let refused = |answer: &Answer| Array::of2(&answer_value(answer), &JsValue::UNDEFINED);
        let held = match Held::read(body) {
            Ok(held) => held,
            Err(e) => return Ok(refused(&Answer::error(e.http_status(), e.code(), &e.to_string()))),
        };
        let headers = convert::delivery_headers(signature, topic);
        let verify: crate::receive::Verify<'_> =
            &|verifier, signature| check_signature(verifier, None, &held, signature);
        let size = Body::Length(held.length_within(self.inner.max_body_bytes()));
        let received = self.inner.receive_with("POST", headers, size, verify, |verified| {
            document::read(&held, Some(&verified.topic))
        });
        match received {
            Ok(delivery) => {
                let key = document::key_of(self.inner.key_scope(), &delivery.topic, &held, None);
                let (routes, _) = self.shared(&delivery.topic);
                let event = document::event(delivery.event, &delivery.topic, Some(&key), &routes);
                Ok(Array::of2(&JsValue::UNDEFINED, &event))
            }
            Err(answer) => Ok(refused(&answer)),
        }
    }

    /// The rest of step 1 once a delivery is verified and read: its key (for a store, or a key
    /// scope of the body alone), its routes and event, then its session, with the store's claim
    /// told to it when the store answers at once (the core's memory store, a synchronous one). A
    /// store that throws, or answers something else than a claim, is the caller's failure to
    /// report (the adapters answer 500), and leaves no session.
    fn accepted(
        &self,
        topic: Topic,
        payload: document::JsPayload,
        held: Option<&Held>,
        digest: Option<[u8; 32]>,
        store: Option<Store<'_>>,
        now: f64,
    ) -> JsResult<Array> {
        // The key only for a store (or when a handler reads it): no second pass over the body
        // otherwise. A body-only key is made here too: the event's own lazy key is the default one.
        let scope = self.inner.key_scope();
        let eager = store.is_some() || scope != KeyScope::TopicAndBody;
        let key = match (held, eager) {
            (Some(held), true) => Some(document::key_of(scope, &topic, held, digest)),
            _ => None,
        };
        let (routes, count) = self.shared(&topic);
        let event = document::event(payload, &topic, key.as_deref(), &routes);
        let key = key.unwrap_or_default();
        let mut session = Session::new(&self.inner, topic, count, store.is_some(), ms(now));
        // The claim the session asks first, when there is a store.
        let mut pending = None;
        let mut memory = None;
        if let Some(Action::Claim(_)) = session.peek() {
            session.poll();
            match store {
                // The core's own memory store, claimed here: no crossing.
                Some(Store::Memory(store)) => {
                    session.claimed(store.claimed(&key), ms(now));
                    memory = Some(Rc::clone(&store.inner));
                }
                Some(Store::Js(store)) => match call_store(store, &key, &self.terms)? {
                    Stored::Value(claimed) => session.claimed(throw(claim(&claimed))?, ms(now)),
                    Stored::Pending(promise) => pending = Some(promise),
                },
                None => {}
            }
        }
        // Answered at once and over (a duplicate, a copy in flight): no session to keep. (An
        // over session's last actions are its answer and its count, which step 1's answer with
        // an event stands for; any other goes through `sessionNext`.)
        if session.is_over() && pending.is_none() {
            if let Some(Action::Answer(answer)) = session.peek() {
                if session.pending() == 2 {
                    return Ok(step1(Some(&self.answer_value(answer)), Some(&event), None, None));
                }
            }
        }
        let secret = u32::try_from(MATCHED.with(std::cell::Cell::get)).unwrap_or(0);
        let id = self.keep(Live { session, key, memory, secret })?;
        Ok(step1(None, Some(&event), Some(&JsValue::from(id)), pending.as_ref()))
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
    /// `outlineWritten`: as `receive`, `[answer, event, session, pending]`, with the caller's store
    /// or none. `undefined` when the outline is refused, or there is no such delivery: the
    /// package then calls `receive`.
    #[wasm_bindgen(js_name = receiveOutlined)]
    pub fn receive_outlined(
        &self,
        codes_len: usize,
        body: &js_sys::Uint8Array,
        digest: Option<js_sys::Uint8Array>,
        store: Option<Object>,
        now: f64,
    ) -> JsResult<JsValue> {
        let store = store.map(JsValue::from);
        self.outlined(codes_len, body, digest, store.as_ref().map(Store::Js), now)
    }

    /// As `receiveOutlined`, claimed in the core's own memory store.
    #[wasm_bindgen(js_name = receiveOutlinedInMemory)]
    pub fn receive_outlined_in_memory(
        &self,
        codes_len: usize,
        body: &js_sys::Uint8Array,
        digest: Option<js_sys::Uint8Array>,
        memory: &JsMemoryStore,
        now: f64,
    ) -> JsResult<JsValue> {
        self.outlined(codes_len, body, digest, Some(Store::Memory(memory)), now)
    }

    fn outlined(
        &self,
        codes_len: usize,
        body: &js_sys::Uint8Array,
        digest: Option<js_sys::Uint8Array>,
        store: Option<Store<'_>>,
        now: f64,
    ) -> JsResult<JsValue> {
        let Some(topic) = self.head.borrow_mut().take() else { return Ok(JsValue::UNDEFINED) };
        if !crate::receive::outline_written(codes_len) {
            return Ok(JsValue::UNDEFINED);
        }
        let held = Held::Bytes(body.clone());
        let digest = throw(digest.as_ref().map(document::digest_of).transpose())?;
        // The outline's first code said `data.type` is the topic's resource.
        let payload = document::JsPayload { body: held.value(), kind: topic.resource().to_owned() };
        self.accepted(topic, payload, Some(&held), digest, store, now).map(JsValue::from)
    }

    /// The routes of `topic` (as an array for the event, and how many), made on first use and
    /// kept.
    fn shared(&self, topic: &Topic) -> (JsValue, usize) {
        let mut topics = self.topics.borrow_mut();
        let entry = topics.get_or(topic.as_str(), || {
            let routes = self.inner.routes_of(topic);
            Shared { routes: document::routes_value(&routes), count: routes.len() }
        });
        entry.map_or((JsValue::NULL, 0), |shared| (shared.routes.clone(), shared.count))
    }

    /// `answer` as a frozen `{status, body}`, made once for each different answer.
    fn answer_value(&self, answer: &Answer) -> JsValue {
        let mut answers = self.answers.borrow_mut();
        if let Some((_, value)) = answers.iter().find(|(a, _)| a == answer) {
            return value.clone();
        }
        if answers.len() >= ANSWERS_KEPT {
            answers.clear();
        }
        let value: JsValue = Object::freeze(&answer_value(answer).into()).into();
        answers.push((answer.clone(), value.clone()));
        value
    }

    /// Keeps a session under way; its number.
    fn keep(&self, live: Live) -> JsResult<u32> {
        self.sessions.borrow_mut().insert(live).ok_or_else(|| {
            crate::errors::to_js(&BindingError::invalid("over a million deliveries are under way at once"))
        })
    }

    /// Does what session `id` hands out that this module does itself (the core's memory store's
    /// ends) and gives the package the next action (see [`step`]); forgets the session when that
    /// is its last.
    fn advance(&self, id: u32) -> u32 {
        let mut sessions = self.sessions.borrow_mut();
        let Some(live) = sessions.get(id) else { return step::OVER | step::LAST };
        let code = loop {
            let Some(action) = live.session.poll() else {
                break if live.session.is_done() { step::OVER } else { step::WAIT };
            };
            match action {
                Action::Claim(_) => break step::CLAIM,
                Action::Enqueue { claim } => break step::ENQUEUE | flag(claim),
                Action::Run { index, duplicate } => {
                    let index = u32::try_from(index).unwrap_or(u32::MAX >> 8);
                    break step::RUN | flag(duplicate) | (index << 8);
                }
                Action::End { handled, count } => {
                    if let Some(memory) = &live.memory {
                        end_in_memory(memory, &live.key, handled);
                        live.session.claim_ended(true);
                        continue;
                    }
                    let Some(answer) = count else { break step::END | flag(handled) };
                    // The answer the end carries to count, read by the package as `answer()`.
                    *self.answer.borrow_mut() = self.answer_value(&answer);
                    break step::END | flag(handled) | step::FOLD | (live.secret.min(MAX_SECRET) << 11);
                }
                Action::Tell(notice) => {
                    let index = Notice::ALL.iter().position(|n| *n == notice).unwrap_or(0);
                    break step::TELL | (u32::try_from(index).unwrap_or(0) << 8);
                }
                Action::Answer(answer) => {
                    *self.answer.borrow_mut() = self.answer_value(&answer);
                    let outcome = Outcome::of(&answer, true);
                    let index = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
                    self.outcome.set(u32::try_from(index).unwrap_or(0));
                    break step::ANSWER;
                }
                Action::Count { folded } => {
                    break step::COUNT
                        | flag(folded)
                        | (self.outcome.get() << 8)
                        | (live.secret.min(MAX_SECRET) << 11);
                }
            }
        };
        if live.session.is_done() && code != step::WAIT {
            sessions.remove(id);
            return code | step::LAST;
        }
        code
    }

    /// The fields of a handoff record (see `docs/handoff.md`) before its body, `[name, value, ...]` (strings), in the order they
    /// are written: the body follows, as `'body', bytes`.
    #[wasm_bindgen(js_name = recordHead)]
    pub fn record_head(key: &str, topic: &str, signature: &str, received_ms: f64, attempts: u32) -> Array {
        let record = clhooks::handoff::Record {
            key: key.to_owned(),
            topic: topic.to_owned(),
            signature: signature.to_owned(),
            received_ms: ms(received_ms),
            attempts,
            body: Vec::new(),
        };
        let out = Array::new();
        for (name, value) in record.head() {
            out.push(&name.into());
            out.push(&value.into());
        }
        out
    }

    /// A handoff record `{v, key, topic, sig, rcv, attempt, body}` (the body as bytes or text) as
    /// one message's bytes (see `docs/handoff.md`), refused over `limit` bytes when given
    /// (`record_too_large`).
    #[wasm_bindgen(js_name = recordBytes)]
    pub fn record_bytes(record: &JsValue, limit: Option<u32>) -> JsResult<js_sys::Uint8Array> {
        let text = |name: &'static str| option(record, name).as_string().unwrap_or_default();
        let number = |name: &'static str| text(name).parse::<u64>().unwrap_or(0);
        let body = throw(convert::body(&option(record, "body")))?;
        let record = clhooks::handoff::Record {
            key: text("key"),
            topic: text("topic"),
            signature: text("sig"),
            received_ms: number("rcv"),
            attempts: u32::try_from(number("attempt")).unwrap_or(u32::MAX),
            body,
        };
        let bytes = match limit {
            Some(limit) => throw(record.encode_within(limit as usize))?,
            None => record.encode(),
        };
        Ok(js_sys::Uint8Array::from(bytes.as_slice()))
    }

    /// The session of a delivery of `topic` accepted at `now`, with `handlers` handlers and a
    /// store (`store`) or none, for a caller that claims itself (`CLAIM`): its number. The
    /// `receive` calls open their deliveries' sessions themselves.
    pub fn session(&self, topic_name: &JsValue, handlers: u32, store: bool, now: f64) -> JsResult<u32> {
        let topic = throw(topic(topic_name))?;
        let handlers = usize::try_from(handlers).unwrap_or(usize::MAX);
        let session = Session::new(&self.inner, topic, handlers, store, ms(now));
        self.keep(Live { session, key: String::new(), memory: None, secret: 0 })
    }

    /// Session `id`'s store ends a claim and counts in one step (`endCounting`), and its
    /// request arrived at `arrived` (on the sessions' clock): each end whose answer is sure to
    /// be in time carries its count (`END | FOLD`).
    #[wasm_bindgen(js_name = sessionFold)]
    pub fn session_fold(&self, id: u32, arrived: f64) {
        if let Some(live) = self.sessions.borrow_mut().get(id) {
            live.session.fold_counts(ms(arrived));
        }
    }

    /// Session `id`'s store ends its claim without the count `END | FOLD` gave it: the answer
    /// is counted on its own (`COUNT` without `FLAG`).
    #[wasm_bindgen(js_name = sessionUnfolded)]
    pub fn session_unfolded(&self, id: u32) {
        if let Some(live) = self.sessions.borrow_mut().get(id) {
            live.session.unfolded();
        }
    }

    /// The next action of session `id` (see `sessionSteps`).
    #[wasm_bindgen(js_name = sessionNext)]
    pub fn session_next(&self, id: u32) -> u32 {
        self.advance(id)
    }

    /// The store's answer to session `id`'s claim, `'fresh'`, `'duplicate'` or `'in_flight'`;
    /// then its next action. Anything else is the store's broken contract: thrown (the adapters
    /// answer 500), and the session forgotten.
    #[wasm_bindgen(js_name = sessionClaimed)]
    pub fn session_claimed(&self, id: u32, claimed: &JsValue, now: f64) -> JsResult<u32> {
        let claimed = claim(claimed);
        {
            let mut sessions = self.sessions.borrow_mut();
            match (sessions.get(id), claimed) {
                (Some(live), Ok(claimed)) => live.session.claimed(claimed, ms(now)),
                (Some(_), Err(e)) => {
                    sessions.remove(id);
                    return Err(crate::errors::to_js(&e));
                }
                (None, _) => {}
            }
        }
        Ok(self.advance(id))
    }

    /// The queue holds session `id`'s record: what a queue that claims found (`'fresh'`: queued
    /// now, `'duplicate'`, `'in_flight'`), `'fresh'` from any other; then its next action.
    #[wasm_bindgen(js_name = sessionEnqueued)]
    pub fn session_enqueued(&self, id: u32, claimed: &JsValue, now: f64) -> JsResult<u32> {
        let claimed = claim(claimed).map_err(|_| {
            BindingError::invalid("a queue's enqueue() must give \"fresh\", \"duplicate\" or \"in_flight\"")
        });
        {
            let mut sessions = self.sessions.borrow_mut();
            match (sessions.get(id), claimed) {
                (Some(live), Ok(claimed)) => live.session.enqueued(claimed, ms(now)),
                // A queue that broke its contract may or may not hold the record: told as a
                // failure, so the delivery is answered 503 and retried (a copy it did hold runs
                // twice at worst; none is lost).
                (Some(live), Err(_)) => live.session.enqueue_failed(ms(now)),
                (None, _) => {}
            }
        }
        Ok(self.advance(id))
    }

    /// Session `id`'s queue failed to take its record; then its next action.
    #[wasm_bindgen(js_name = sessionEnqueueFailed)]
    pub fn session_enqueue_failed(&self, id: u32, now: f64) -> u32 {
        if let Some(live) = self.sessions.borrow_mut().get(id) {
            live.session.enqueue_failed(ms(now));
        }
        self.advance(id)
    }

    /// Session `id`'s store failed to claim (`message` says how); then its next action.
    #[wasm_bindgen(js_name = sessionStoreFailed)]
    pub fn session_store_failed(&self, id: u32, message: &JsValue) -> u32 {
        if let Some(live) = self.sessions.borrow_mut().get(id) {
            live.session.store_failed(&message.as_string().unwrap_or_default());
        }
        self.advance(id)
    }

    /// The handler session `id` ran last ended, `ok` or failed, at `now`; then its next action.
    #[wasm_bindgen(js_name = sessionHandled)]
    pub fn session_handled(&self, id: u32, ok: bool, now: f64) -> u32 {
        if let Some(live) = self.sessions.borrow_mut().get(id) {
            live.session.handler_ended(ok, ms(now));
        }
        self.advance(id)
    }

    /// The store ended session `id`'s claim as `END` said (`ok`), or failed to; then its next
    /// action.
    #[wasm_bindgen(js_name = sessionClaimEnded)]
    pub fn session_claim_ended(&self, id: u32, ok: bool) -> u32 {
        if let Some(live) = self.sessions.borrow_mut().get(id) {
            live.session.claim_ended(ok);
        }
        self.advance(id)
    }

    /// The time is `now` for session `id`; then its next action.
    #[wasm_bindgen(js_name = sessionWake)]
    pub fn session_wake(&self, id: u32, now: f64) -> u32 {
        if let Some(live) = self.sessions.borrow_mut().get(id) {
            live.session.wake(ms(now));
        }
        self.advance(id)
    }

    /// When to call `sessionWake` for session `id` if nothing else happens first, or
    /// `undefined`.
    #[wasm_bindgen(js_name = sessionWakeAt)]
    pub fn session_wake_at(&self, id: u32) -> Option<f64> {
        self.sessions.borrow_mut().get(id).and_then(|live| live.session.next_wake()).map(|t| t as f64)
    }

    /// The answer the last `ANSWER` handed out: `{status, body}`, frozen.
    pub fn answer(&self) -> JsValue {
        self.answer.replace(JsValue::UNDEFINED)
    }

    /// The terms the store is asked to claim with, `{leaseMs, keepMs, waitMs}`, frozen.
    #[wasm_bindgen(getter)]
    pub fn terms(&self) -> JsValue {
        self.terms.clone()
    }

    /// How many sessions are under way (their deliveries' handlers or store not done yet).
    #[wasm_bindgen(getter, js_name = sessionsUnderWay)]
    pub fn sessions_under_way(&self) -> u32 {
        let sessions = self.sessions.borrow();
        u32::try_from(sessions.slots.len() - sessions.free.len()).unwrap_or(u32::MAX)
    }

    /// Which secret verified the delivery received last (its place in the list): what a
    /// delivery answered in step 1 counts for.
    #[wasm_bindgen(getter, js_name = matchedSecret)]
    pub fn matched_secret(&self) -> u32 {
        u32::try_from(MATCHED.with(std::cell::Cell::get)).unwrap_or(0)
    }

    /// Every secret's fingerprint, in order, where several are set (`[]` with one): what names
    /// a secret's webhook in failure streaks, never the secret.
    #[wasm_bindgen(getter)]
    pub fn fingerprints(&self) -> Vec<String> {
        self.inner.verifier().fingerprints().to_vec()
    }

    /// What the session numbers say: `{WAIT, RUN, END, TELL, ANSWER, CLAIM, OVER, ENQUEUE,
    /// COUNT, FLAG, FOLD, LAST, notices, outcomes}`, `notices` the `[code, message, status]` of
    /// each notice `TELL` names by its place.
    #[wasm_bindgen(js_name = sessionSteps)]
    pub fn session_steps() -> Object {
        let out = Object::new();
        for (name, value) in [
            ("WAIT", step::WAIT),
            ("RUN", step::RUN),
            ("END", step::END),
            ("TELL", step::TELL),
            ("ANSWER", step::ANSWER),
            ("CLAIM", step::CLAIM),
            ("OVER", step::OVER),
            ("ENQUEUE", step::ENQUEUE),
            ("COUNT", step::COUNT),
            ("FLAG", step::FLAG),
            ("FOLD", step::FOLD),
            ("LAST", step::LAST),
        ] {
            set(&out, name, &JsValue::from(value));
        }
        let notices = Array::new();
        for notice in Notice::ALL {
            let pair = Array::of3(
                &JsValue::from_str(notice.code()),
                &JsValue::from_str(notice.message()),
                &JsValue::from(notice.status()),
            );
            notices.push(&Object::freeze(&pair.into()).into());
        }
        set(&out, "notices", &Object::freeze(&notices.into()).into());
        let outcomes: Array = Outcome::ALL.iter().map(|o| JsValue::from_str(o.as_str())).collect();
        set(&out, "outcomes", &Object::freeze(&outcomes.into()).into());
        Object::freeze(&out)
    }
}

/// The highest secret's place a session step can name.
const MAX_SECRET: u32 = u32::MAX >> 11;

/// `FLAG` when `on`.
fn flag(on: bool) -> u32 {
    if on {
        step::FLAG
    } else {
        0
    }
}

/// Ends a claim in the core's memory store, which cannot fail.
fn end_in_memory(memory: &MemoryStore, key: &str, handled: bool) {
    let _ = if handled { memory.done(key, NO_TERMS) } else { memory.release(key) };
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
    /// Shared with the sessions it claimed for, which end their claims in it.
    inner: Rc<MemoryStore>,
}

#[wasm_bindgen(js_class = MemoryStore)]
impl JsMemoryStore {
    /// Remembers at most `max` handled keys (default 10,000).
    #[wasm_bindgen(constructor)]
    pub fn new(max: Option<u32>) -> JsMemoryStore {
        JsMemoryStore {
            inner: Rc::new(max.map_or_else(MemoryStore::default, |max| MemoryStore::new(max as usize))),
        }
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

/// Milliseconds from JS (a double) as the core's: negatives and NaN are 0.
fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}
