//! The receiving side of a webhook as a sans-IO machine: a request in, the whole answer out.
//!
//! Every receiver clhooks ships — the npm package's node:http, Express and fetch adapters,
//! `clhooks listen`, the Rust examples — runs through [`Receiver`], so the status of every
//! request, the body limit, what counts as a duplicate and when a key is recorded are decided
//! here once. The caller owns the socket, the handlers, the seen-store and the clock; the
//! machine says what to do in two parts:
//!
//! 1. [`Receiver::receive`] — the method, the headers and the body (or the fact that it went over
//!    the limit) in; an [`Answer`] to send at once (405, 413, 401, 400...) or a verified
//!    [`Delivery`] with its idempotency key and the routes its topic matches.
//! 2. A [`Session`] for that delivery — the claim in the seen-store, the handlers in route
//!    order, Commerce Layer's deadline and the handler timeout, the claim's end (recorded, or
//!    released so a retry runs again) and the answer, as [`Action`]s the caller does and tells
//!    the session about ([`Receiver::claimed`] is its decision on the claim alone).
//!
//! [`Receiver::handle`] drives both with a synchronous store and handler; `clhooks-axum` and the
//! npm package's receivers drive them with asynchronous ones.

mod session;

pub use session::{Action, Notice, Session, ANSWER_DEADLINE_MS};

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::Document;
use crate::payload::{check_type, verify_headers, KeyScope, Payload, ReceivedEvent, Verified};
use crate::signature::{decode_signature, Check, Verifier};
use crate::sources::Sources;
use crate::topic::{Topic, TopicPattern};

/// The largest body a receiver accepts by default: 5 MiB. Real payloads are tens of KB (a large
/// order with every resource included is about 50 KB); anything near this is not a delivery.
pub const DEFAULT_MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// How many idempotency keys [`MemoryStore::default`] remembers.
pub const DEFAULT_SEEN_CAPACITY: usize = 10_000;

/// How long a receiver lets the handlers of a delivery run before it answers 503
/// `handler_timeout` to a caller still waiting (30 s). Commerce Layer has hung up at 5 s by
/// then; what the limit really sets is the claim's lease (30 s + the store wait +
/// [`LEASE_MARGIN_MS`], 45 s): the claim is kept while a handler runs (see [`Session`]), and
/// released when the lease ends, so a handler that runs longer may run a second time beside
/// itself, and an instance that dies mid-handler holds the key (copies answered 409) that
/// long. 30 s leaves room for slow inline work (a call to an ERP, a retried API call) and frees
/// a dead instance's key in under a minute, within the early retries a sender spaces tens of
/// seconds apart. Work that takes longer belongs on a queue, answered at once.
pub const DEFAULT_HANDLER_TIMEOUT_MS: u64 = 30_000;

/// The content type of every [`Answer`] body.
pub const ANSWER_CONTENT_TYPE: &str = "application/json";

/// The codes a receiver answers with besides the [`Error`] codes ([`Receiver::refusal`]), each
/// with its status: every answer [`Receiver`] makes itself takes its code and status from here.
/// None is a 2xx, so Commerce Layer retries each. `docs/reference.md` is generated from it.
pub const ANSWER_CODES: &[(&str, u16)] = &[
    METHOD_NOT_ALLOWED,
    PAYLOAD_TOO_LARGE,
    BODY_UNREADABLE,
    IN_FLIGHT,
    HANDLER_FAILED,
    HANDLER_TIMEOUT,
    RECEIVER_FAILED,
    QUEUE_UNAVAILABLE,
];

const METHOD_NOT_ALLOWED: (&str, u16) = ("method_not_allowed", 405);
const PAYLOAD_TOO_LARGE: (&str, u16) = ("payload_too_large", 413);
const BODY_UNREADABLE: (&str, u16) = ("body_unreadable", 400);
const IN_FLIGHT: (&str, u16) = ("in_flight", 409);
const HANDLER_FAILED: (&str, u16) = ("handler_failed", 500);
const HANDLER_TIMEOUT: (&str, u16) = ("handler_timeout", 503);
const RECEIVER_FAILED: (&str, u16) = ("receiver_failed", 500);
const QUEUE_UNAVAILABLE: (&str, u16) = ("queue_unavailable", 503);

/// How many bytes past its body limit a receiver still reads and drops after answering a request
/// whose body it left unread (8 MiB): see [`Linger`].
pub const LINGER_EXTRA_BYTES: usize = 8 * 1024 * 1024;

/// For how long a receiver still reads and drops a request's unread body after answering it
/// (3 s): see [`Linger`].
pub const LINGER_MS: u64 = 3_000;

/// The lingering close, sans IO: what a server does after an answer it sent before it read the
/// whole request (413 on a body over the limit, 403 to a refused caller).
///
/// Closing a connection with bytes still unread makes the kernel reset it, and a client that
/// writes its whole request before it reads the answer (Python's `http.client`, most clients on
/// a body that fits the socket buffers) then gets `ECONNRESET` instead of the answer. So, as
/// nginx's `lingering_close` and Go's `net/http` do, the server keeps reading and dropping what
/// the client sends until the body ends, then closes; it gives up (and closes at once) past
/// the body limit plus [`LINGER_EXTRA_BYTES`] or after [`LINGER_MS`], so a client cannot hold
/// the connection for ever.
///
/// ```
/// use clhooks::receiver::{Linger, LINGER_MS};
/// let mut linger = Linger::new(1_000, 5);
/// assert!(linger.read(5, 1_010));
/// assert_eq!(linger.until_ms(), 1_000 + LINGER_MS);
/// assert!(!linger.read(1, 1_000 + LINGER_MS)); // time is up
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linger {
    left: usize,
    until_ms: u64,
}

impl Linger {
    /// Lingering from `now_ms` (ms since the epoch) after refusing a body, for a receiver whose
    /// body limit is `max_body_bytes`.
    #[must_use]
    pub fn new(now_ms: u64, max_body_bytes: usize) -> Linger {
        Linger { left: Linger::bytes(max_body_bytes), until_ms: now_ms.saturating_add(LINGER_MS) }
    }

    /// The most bytes read and dropped after the answer, for a body limit of `max_body_bytes`.
    #[must_use]
    pub fn bytes(max_body_bytes: usize) -> usize {
        max_body_bytes.saturating_add(LINGER_EXTRA_BYTES)
    }

    /// When to stop waiting for more bytes and close (ms since the epoch; 0 once over).
    #[must_use]
    pub fn until_ms(&self) -> u64 {
        self.until_ms
    }

    /// Whether to go on reading, after `n` more bytes were read and dropped at `now_ms`: false
    /// once the bytes or the time are used up, and the connection is to be closed.
    pub fn read(&mut self, n: usize, now_ms: u64) -> bool {
        match self.left.checked_sub(n) {
            Some(left) if now_ms < self.until_ms => {
                self.left = left;
                true
            }
            _ => {
                // Over for good: neither bound comes back.
                self.left = 0;
                self.until_ms = 0;
                false
            }
        }
    }
}

/// A request body as the caller read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body<'a> {
    /// The bytes exactly as received.
    Bytes(&'a [u8]),
    /// The body went over [`Receiver::max_body_bytes`]; the caller kept none of it (and should
    /// read the rest before answering, so the client gets the 413 instead of a reset).
    TooLarge,
    /// The body could not be read (the client went away, a broken chunked encoding).
    Unreadable,
    /// The body was read whole, this many bytes, and stays with the caller: the `verify` and
    /// `read` of [`Receiver::receive_with`] reach it (a JavaScript string or buffer that is never
    /// copied into WebAssembly when the host computes the HMAC).
    Length(usize),
}

/// What to answer: a status and a JSON body (`application/json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body: `{"received": topic}` (with `"duplicate": true` for a duplicate,
    /// `"handed_off": true` for a delivery a queue took) on success, `{"error": code, "message": text}` otherwise.
    pub body: String,
}

/// Appends a JSON string literal. (The answers are a few fixed members: written here, they keep
/// a JSON serializer out of the WebAssembly a receiver loads.)
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    // Topics and most messages need no escape: copied whole.
    if !text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(text);
        out.push('"');
        return;
    }
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                out.push_str("\\u00");
                for nibble in [u32::from(c) >> 4, u32::from(c) & 15] {
                    out.push(char::from_digit(nibble, 16).unwrap_or('0'));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Answer {
    /// `{"name": "value", ...}` from string members, then raw JSON members (numbers, `true`).
    fn json(status: u16, strings: &[(&str, &str)], raw: &[(&str, &str)]) -> Answer {
        // The members and their quotes, commas and colons: grown no further unless escaped.
        let size = strings.iter().chain(raw).map(|(n, v)| n.len() + v.len() + 6).sum::<usize>() + 2;
        let mut body = String::with_capacity(size);
        body.push('{');
        for (i, (name, value)) in
            strings.iter().map(|(n, v)| (n, *v)).chain(raw.iter().map(|(n, v)| (n, *v))).enumerate()
        {
            if i > 0 {
                body.push(',');
            }
            push_json_string(&mut body, name);
            body.push(':');
            if i < strings.len() {
                push_json_string(&mut body, value);
            } else {
                body.push_str(value);
            }
        }
        body.push('}');
        Answer { status, body }
    }

    /// A refusal: `{"error": code, "message": message}` with its status. For errors that exist
    /// outside this crate (the JS bindings' own); this crate's are answered by
    /// [`Receiver::refusal`], and its other answers have their code in [`ANSWER_CODES`].
    #[must_use]
    pub fn error(status: u16, code: &str, message: &str) -> Answer {
        Answer::json(status, &[("error", code), ("message", message)], &[])
    }

    /// A refusal of [`ANSWER_CODES`].
    fn coded((code, status): (&str, u16), message: &str) -> Answer {
        Answer::error(status, code, message)
    }

    fn received(topic: &str, duplicate: bool) -> Answer {
        let raw: &[(&str, &str)] = if duplicate { &[("duplicate", "true")] } else { &[] };
        Answer::json(200, &[("received", topic)], raw)
    }

    /// A delivery the queue holds: `{"received": topic, "handed_off": true}`.
    fn handed_off(topic: &str) -> Answer {
        Answer::json(200, &[("received", topic)], &[("handed_off", "true")])
    }

    /// The code of a refusal (`{"error": code, ...}`), or `None` for any other answer.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        let rest = self.body.strip_prefix("{\"error\":\"")?;
        rest.split_once('"').map(|(code, _)| code)
    }

    /// Whether it is a 2xx: what Commerce Layer counts as delivered.
    #[must_use]
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What a seen-store says of an idempotency key when a receiver claims it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Claim {
    /// Never handled and not being handled: the claim is now the caller's.
    Fresh,
    /// Already handled successfully.
    Duplicate,
    /// Another copy is being handled right now.
    InFlight,
}

impl Claim {
    /// `fresh`, `duplicate` or `in_flight`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Claim::Fresh => "fresh",
            Claim::Duplicate => "duplicate",
            Claim::InFlight => "in_flight",
        }
    }
}

/// How long a store keeps a handled key by default: Commerce Layer's retry window under the
/// default [`Policy`](crate::sender::Policy) (retries 15 s to 2 h apart, the last 4 h 18 min
/// 45 s after the first attempt), so that no retry of a handled delivery runs it again.
pub const DEFAULT_KEEP_MS: u64 = 15_525_000;

/// How much longer than the handler timeout and the store wait a claim lasts by default (13 s,
/// so 45 s with the defaults): time for a handler just past its timeout to end and be recorded,
/// and for the store's answers on the way, before its claim is released; a claim whose holder
/// died (a process killed mid-handler) frees itself as soon, well before Commerce Layer's later
/// retries.
pub const LEASE_MARGIN_MS: u64 = 13_000;

/// The lease when handlers may run for ever ([`Receiver::with_handler_timeout_ms`] 0): 5 min,
/// after which the claim is released all the same (see [`Session`]).
pub const UNBOUNDED_LEASE_MS: u64 = 300_000;

/// How long a receiver waits for its seen-store's answer to a claim before answering 503
/// `store_unavailable` (2 s): a store that is down must not take the 5 s Commerce Layer waits.
pub const DEFAULT_STORE_TIMEOUT_MS: u64 = 2_000;

/// What a receiver asks of its seen-store for a key: how long a claim lasts when its holder never
/// ends it, and how long a handled key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Terms {
    /// A claim not ended within this many ms expires, and the next copy runs.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub lease_ms: u64,
    /// A handled key is kept at least this many ms.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub keep_ms: u64,
    /// The receiver waits this many ms for a claim's answer, then answers 503 (0: for ever);
    /// a store may bound its own commands by it.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub wait_ms: u64,
}

/// Where idempotency keys are remembered, with an atomic claim: a key is recorded as handled
/// only once every handler succeeded, two concurrent copies never both run, and a copy whose
/// handler failed can run again.
///
/// A shared store (Redis, a Durable Object) claims with a lease ([`Terms::lease_ms`]) in one
/// atomic step, so that the claim of a process that died while handling a key expires and a
/// retry runs; a handled key is kept for [`Terms::keep_ms`]. `clhooks::store` has the
/// protocol of the Redis one.
pub trait SeenStore {
    /// Claims a key: [`Claim::Fresh`] hands the key to the caller until [`SeenStore::done`] or
    /// [`SeenStore::release`], or until the lease runs out.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`]: the delivery is answered 503.
    fn claim(&self, key: &str, terms: Terms) -> crate::Result<Claim>;
    /// Records a claimed key as handled, for [`Terms::keep_ms`].
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`]. The work is done: the answer stays a success.
    fn done(&self, key: &str, terms: Terms) -> crate::Result<()>;
    /// Gives a claimed key up (its handler failed), so that the retry runs.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`]. The lease frees the key all the same.
    fn release(&self, key: &str) -> crate::Result<()>;
}

/// What an [`AsyncSeenStore`] returns: a boxed future, so that the trait works behind `dyn`
/// (`Arc<dyn AsyncSeenStore>` in a receiver's state), and `Send`, so that a multi-threaded
/// runtime may move it.
pub type StoreFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<T>> + Send + 'a>>;

/// A seen-store for asynchronous receivers (tokio, axum): the claim of a delivery's key with the
/// receiver's [`Terms`], then its end, recorded as handled or released. The in-memory
/// [`MemoryStore`] and `clhooks_redis::RedisStore` implement it, so a receiver picks its store
/// in one line; a [`Session`] says when to call each. [`SeenStore`] stays for synchronous
/// callers with no runtime ([`Receiver::handle`], `clhooks listen`, the npm package's core).
pub trait AsyncSeenStore: Send + Sync {
    /// Claims a key: [`Claim::Fresh`] hands it to the caller until [`AsyncSeenStore::end`], or
    /// until [`Terms::lease_ms`] runs out.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`]: the delivery is answered 503.
    fn claim<'a>(&'a self, key: &'a str, terms: Terms) -> StoreFuture<'a, Claim>;

    /// Ends a claim: recorded as handled for [`Terms::keep_ms`] (`handled`), or released so
    /// that the retry runs.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`]. The answer stands: the work is done, or the lease frees
    /// the key.
    fn end<'a>(&'a self, key: &'a str, terms: Terms, handled: bool) -> StoreFuture<'a, ()>;

    /// Counts an attempt in a webhook's failure streak where every instance sees it, by the
    /// rule of [`crate::health::Tally::count`]: what crossed a threshold, and the streak now.
    /// `None` (the default, and the memory store's) for a store that keeps no counters: the
    /// receiver counts in its own process then.
    ///
    /// # Errors
    ///
    /// The store's: the answer was given already, and stands.
    fn count<'a>(
        &'a self,
        webhook: &'a crate::health::Webhook,
        attempt: &'a crate::health::Attempt,
    ) -> Option<StoreFuture<'a, (Option<crate::health::Signal>, u32)>> {
        let _ = (webhook, attempt);
        None
    }

    /// Ends a claim as [`AsyncSeenStore::end`] does and counts `attempt` as
    /// [`AsyncSeenStore::count`] does, in one step (one round trip): what a [`Session`] made
    /// with [`Session::fold_counts`] asks ([`Action::End`] with a count). `None` (the default)
    /// for a store that cannot: it then ends and counts apart. A driver asks for the future
    /// only to run it; asking runs nothing.
    ///
    /// # Errors
    ///
    /// The store's: the claim's end failed, and the count with it.
    fn end_counting<'a>(
        &'a self,
        key: &'a str,
        terms: Terms,
        handled: bool,
        count: (&'a crate::health::Webhook, &'a crate::health::Attempt),
    ) -> Option<StoreFuture<'a, (Option<crate::health::Signal>, u32)>> {
        let _ = (key, terms, handled, count);
        None
    }

    /// Every webhook's counters where the store keeps them ([`AsyncSeenStore::count`]); `None`
    /// for a store that keeps none.
    ///
    /// # Errors
    ///
    /// The store's.
    fn tallies(&self) -> Option<StoreFuture<'_, Vec<(crate::health::Webhook, crate::health::Tally)>>> {
        None
    }
}

impl AsyncSeenStore for MemoryStore {
    fn claim<'a>(&'a self, key: &'a str, terms: Terms) -> StoreFuture<'a, Claim> {
        Box::pin(std::future::ready(SeenStore::claim(self, key, terms)))
    }

    fn end<'a>(&'a self, key: &'a str, terms: Terms, handled: bool) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(end_claim(self, key, terms, handled)))
    }
}

#[derive(Debug, Default)]
struct Keys {
    capacity: usize,
    /// Every key held: `true` once handled, `false` while in flight.
    state: HashMap<Arc<str>, bool>,
    /// The handled keys, oldest first (each shared with `state`: one allocation a key).
    order: VecDeque<Arc<str>>,
}

/// A bounded in-memory [`SeenStore`]: the keys handled most recently (the oldest forgotten first)
/// and the keys being handled. One process only: several instances behind a load balancer need
/// a shared store. It reads no clock, so it bounds keys by number, not by [`Terms`]: a claim
/// cannot outlive its holder here (both go with the process), and a stuck handler's claim is
/// released by its session when the lease ends.
///
/// ```
/// use clhooks::receiver::{Claim, MemoryStore, Receiver, SeenStore};
/// let terms = Receiver::new(clhooks::Verifier::new(["secret"])?).terms();
/// let seen = MemoryStore::new(2);
/// assert_eq!(seen.claim("a", terms)?, Claim::Fresh);
/// assert_eq!(seen.claim("a", terms)?, Claim::InFlight);  // a concurrent copy
/// seen.release("a")?;                                    // its handler failed
/// assert_eq!(seen.claim("a", terms)?, Claim::Fresh);     // the retry runs
/// seen.done("a", terms)?;
/// assert_eq!(seen.claim("a", terms)?, Claim::Duplicate);
/// # Ok::<(), clhooks::Error>(())
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    keys: Mutex<Keys>,
}

impl MemoryStore {
    /// Remembers at most `capacity` handled keys.
    #[must_use]
    pub fn new(capacity: usize) -> MemoryStore {
        MemoryStore { keys: Mutex::new(Keys { capacity, ..Keys::default() }) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Keys) -> T) -> T {
        // A panic elsewhere while the lock was held leaves consistent sets behind: go on.
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut keys)
    }

    /// How many handled keys are remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.with(|k| k.order.len())
    }

    /// Whether no handled key is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(DEFAULT_SEEN_CAPACITY)
    }
}

impl SeenStore for MemoryStore {
    fn claim(&self, key: &str, _terms: Terms) -> crate::Result<Claim> {
        Ok(self.with(|k| match k.state.get(key) {
            Some(true) => Claim::Duplicate,
            Some(false) => Claim::InFlight,
            None => {
                k.state.insert(Arc::from(key), false);
                Claim::Fresh
            }
        }))
    }

    fn done(&self, key: &str, _terms: Terms) -> crate::Result<()> {
        self.end(key, true);
        Ok(())
    }

    fn release(&self, key: &str) -> crate::Result<()> {
        self.end(key, false);
        Ok(())
    }
}

impl MemoryStore {
    /// Ends a claim: recorded when `handled`, otherwise released.
    fn end(&self, key: &str, handled: bool) {
        self.with(|k| {
            // Only a claim in flight ends; a handled key stays as it is.
            let Some(held) =
                k.state.get_key_value(key).filter(|(_, done)| !**done).map(|(held, _)| Arc::clone(held))
            else {
                return;
            };
            if !handled || k.capacity == 0 {
                k.state.remove(key);
                return;
            }
            while k.order.len() >= k.capacity {
                match k.order.pop_front() {
                    Some(old) => k.state.remove(&old),
                    None => break,
                };
            }
            k.state.insert(Arc::clone(&held), true);
            k.order.push_back(held);
        });
    }
}

/// What a receiver does with a delivery it has already handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Duplicates {
    /// Answer 200 with `"duplicate": true` and run no handler (the default).
    #[default]
    Skip,
    /// Run the handlers again, telling them it is a duplicate.
    Mark,
}

/// What a receiver answers a copy of a delivery that another instance is handling right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum InFlight {
    /// 409 `in_flight`, so that Commerce Layer tries again later, when the first copy has either
    /// succeeded (the retry is a duplicate) or failed or died (the retry runs): the default,
    /// and the only choice that loses nothing.
    #[default]
    Retry,
    /// 200 with `"in_flight": true`: the copy is taken as delivered and trusted to the instance
    /// handling it. Should that one fail, Commerce Layer does not retry this copy.
    Accept,
}

/// A verified delivery waiting for its claim and its handlers.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The event.
    pub event: ReceivedEvent,
    /// Its [idempotency key](ReceivedEvent::idempotency_key).
    pub key: String,
    /// The indices of the routes its topic matches, in the order they were added.
    pub routes: Vec<usize>,
    /// Which secret verified it: its place in the verifier's list.
    pub secret: usize,
}

/// A verified delivery read by [`Receiver::receive_with`]: what the caller's `read` made of it,
/// its topic and its routes. Its idempotency key is
/// [`idempotency_key_of_digest`](crate::payload::idempotency_key_of_digest) of the topic and the
/// body's SHA-256, computed when a seen-store needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted<P> {
    /// What `read` made of the body.
    pub event: P,
    /// Its topic.
    pub topic: Topic,
    /// The indices of the routes its topic matches, in the order they were added.
    pub routes: Vec<usize>,
}

/// What to do after the claim: run the handlers of [`Delivery::routes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Run {
    /// Whether the key was already handled ([`Duplicates::Mark`]): tell the handlers.
    pub duplicate: bool,
    /// Whether the claim is the caller's: then [`SeenStore::done`] must follow.
    pub claimed: bool,
}

/// A webhook receiver: verification, routes compiled once, the body limit and the duplicate
/// rule. It holds no state between requests; the seen-store does.
///
/// ```
/// use clhooks::receiver::{Body, MemoryStore, Receiver};
/// use clhooks::{sign, Verifier};
/// let mut receiver = Receiver::new(Verifier::new(["secret"])?);
/// let orders = receiver.route("orders.*")?;
/// let body = br#"{"data":{"id":"o1","type":"orders","attributes":{}}}"#;
/// let signature = sign(body, "secret")?;
/// let headers = [("X-CommerceLayer-Signature", signature.as_str()), ("X-CommerceLayer-Topic", "orders.place")];
/// let seen = MemoryStore::default();
/// let mut handled = Vec::new();
/// let answer = receiver.handle("POST", headers, Body::Bytes(body), &seen, |delivery, _| {
///     assert_eq!(delivery.routes, [orders]);
///     handled.push(delivery.event.resource().id.clone());
///     Ok::<(), String>(())
/// });
/// assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"received":"orders.place"}"#));
/// let again = receiver.handle("POST", headers, Body::Bytes(body), &seen, |_, _| Ok::<(), String>(()));
/// assert_eq!(again.body, r#"{"received":"orders.place","duplicate":true}"#);
/// assert_eq!(handled, ["o1"]);
/// # Ok::<(), clhooks::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Receiver {
    verifier: Verifier,
    routes: Vec<TopicPattern>,
    max_body_bytes: usize,
    duplicates: Duplicates,
    sources: Sources,
    handler_timeout_ms: u64,
    key_scope: KeyScope,
    lease_ms: Option<u64>,
    keep_ms: u64,
    in_flight: InFlight,
    store_timeout_ms: u64,
    handoff: Handoff,
}

/// Where a receiver's verified deliveries go: to its handlers at once (the default), or to a
/// durable queue that workers take them from ([`crate::handoff`]), answered 200 once the queue
/// holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handoff {
    /// The handlers run within the request.
    #[default]
    Inline,
    /// The delivery is written to a queue. `claims`: the queue claims the idempotency key in the
    /// same atomic step (the Redis queue with its seen keys, the memory queue); otherwise the
    /// seen-store claims it first, and records it once the queue holds the record.
    Queue {
        /// Whether the queue claims the key itself.
        claims: bool,
    },
}

impl Receiver {
    /// A receiver with the defaults: a 5 MiB body limit, duplicates skipped, no routes.
    #[must_use]
    pub fn new(verifier: Verifier) -> Receiver {
        Receiver {
            verifier,
            routes: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            duplicates: Duplicates::Skip,
            sources: Sources::default(),
            handler_timeout_ms: DEFAULT_HANDLER_TIMEOUT_MS,
            key_scope: KeyScope::TopicAndBody,
            lease_ms: None,
            keep_ms: DEFAULT_KEEP_MS,
            in_flight: InFlight::Retry,
            store_timeout_ms: DEFAULT_STORE_TIMEOUT_MS,
            handoff: Handoff::Inline,
        }
    }

    /// Sets where verified deliveries go ([`Handoff`]): with a queue, a delivery's session
    /// hands out [`Action::Enqueue`] instead of running handlers, and answers once the queue
    /// holds it. The store wait bounds the queue's answer as it bounds a claim.
    #[must_use]
    pub fn with_handoff(mut self, handoff: Handoff) -> Receiver {
        self.handoff = handoff;
        self
    }

    /// Where verified deliveries go.
    #[must_use]
    pub fn handoff(&self) -> Handoff {
        self.handoff
    }

    /// Sets what the idempotency key is made of: the topic and the body (the default), or the
    /// body alone, so that one signed body resent under other topics is one claim.
    #[must_use]
    pub fn with_key_scope(mut self, scope: KeyScope) -> Receiver {
        self.key_scope = scope;
        self
    }

    /// What the idempotency key is made of.
    #[must_use]
    pub fn key_scope(&self) -> KeyScope {
        self.key_scope
    }

    /// Sets how long a claim lasts when its holder never ends it (it died mid-handler). It must
    /// be longer than the handler timeout ([`Receiver::lease_covers_handlers`]), or a live
    /// handler could lose its claim to a retry.
    #[must_use]
    pub fn with_lease_ms(mut self, ms: u64) -> Receiver {
        self.lease_ms = Some(ms);
        self
    }

    /// Sets how long a handled key is kept (default [`DEFAULT_KEEP_MS`], the retry window).
    #[must_use]
    pub fn with_keep_ms(mut self, ms: u64) -> Receiver {
        self.keep_ms = ms;
        self
    }

    /// Sets what a copy being handled elsewhere is answered (default [`InFlight::Retry`]).
    #[must_use]
    pub fn with_in_flight(mut self, in_flight: InFlight) -> Receiver {
        self.in_flight = in_flight;
        self
    }

    /// Sets how long to wait for a store's claim before answering 503
    /// ([`Receiver::store_failed`]); 0: for ever. [`Terms::wait_ms`] tells the store.
    #[must_use]
    pub fn with_store_timeout_ms(mut self, ms: u64) -> Receiver {
        self.store_timeout_ms = ms;
        self
    }

    /// The answer when the seen-store failed or did not answer a claim in time: 503
    /// `store_unavailable`, so that Commerce Layer tries again. Never a 200 for an event that
    /// could not be claimed.
    #[must_use]
    pub fn store_failed(message: &str) -> Answer {
        Receiver::refusal(&Error::StoreUnavailable { message: message.to_owned() })
    }

    /// What this receiver asks of its seen-store: the lease (set, or [`LEASE_MARGIN_MS`] past
    /// the handler timeout and the store wait, or [`UNBOUNDED_LEASE_MS`] without a handler
    /// timeout), the keep time, and how long it waits for a claim
    /// ([`Receiver::with_store_timeout_ms`]).
    #[must_use]
    pub fn terms(&self) -> Terms {
        let lease_ms = self.lease_ms.unwrap_or(match self.handler_timeout_ms {
            0 => UNBOUNDED_LEASE_MS,
            ms => ms.saturating_add(self.store_timeout_ms).saturating_add(LEASE_MARGIN_MS),
        });
        Terms { lease_ms, keep_ms: self.keep_ms, wait_ms: self.store_timeout_ms }
    }

    /// Whether a claim outlasts its handlers: the lease runs from the store's claim, and the
    /// handler timeout from the claim's answer, up to the store wait later, so the lease must
    /// be longer than both together; neither it nor the keep time may be 0. A receiver set up
    /// otherwise could run a delivery twice.
    #[must_use]
    pub fn lease_covers_handlers(&self) -> bool {
        let terms = self.terms();
        let busy = self.handler_timeout_ms.saturating_add(self.store_timeout_ms);
        terms.lease_ms > 0 && terms.keep_ms > 0 && (self.handler_timeout_ms == 0 || terms.lease_ms > busy)
    }

    /// Sets how long the handlers of a delivery may run before a caller still waiting is
    /// answered 503 `handler_timeout`; the claim is kept until they end, or until its lease
    /// ends (see [`Session`] and [`DEFAULT_HANDLER_TIMEOUT_MS`]). 0: no limit, and a lease of
    /// [`UNBOUNDED_LEASE_MS`] by default.
    #[must_use]
    pub fn with_handler_timeout_ms(mut self, ms: u64) -> Receiver {
        self.handler_timeout_ms = ms;
        self
    }

    /// How long the handlers of a claimed delivery may run; 0: no limit.
    #[must_use]
    pub fn handler_timeout_ms(&self) -> u64 {
        self.handler_timeout_ms
    }

    /// Sets the body limit; larger bodies get 413.
    #[must_use]
    pub fn with_max_body_bytes(mut self, max: usize) -> Receiver {
        self.max_body_bytes = max;
        self
    }

    /// Sets what happens to a delivery already handled.
    #[must_use]
    pub fn with_duplicates(mut self, duplicates: Duplicates) -> Receiver {
        self.duplicates = duplicates;
        self
    }

    /// Adds a route (`*`, `orders.*`, `*.destroy`, `orders.place`); returns its index.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopicPattern`].
    pub fn route(&mut self, pattern: &str) -> crate::Result<usize> {
        self.routes.push(TopicPattern::parse(pattern)?);
        Ok(self.routes.len().saturating_sub(1))
    }

    /// Receives only from these sources (an allow-list of addresses, and the proxies trusted to
    /// say who called them): every other caller is answered 403 `forbidden_source` before
    /// anything else. Off by default.
    #[must_use]
    pub fn with_sources(mut self, sources: Sources) -> Receiver {
        self.sources = sources;
        self
    }

    /// The body limit.
    #[must_use]
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// How a server lingers, from `now_ms`, after answering a request whose body it did not read
    /// whole (it was [`Body::TooLarge`], or the answer came from [`Receiver::admit`]): see [`Linger`].
    #[must_use]
    pub fn linger(&self, now_ms: u64) -> Linger {
        Linger::new(now_ms, self.max_body_bytes)
    }

    /// The verifier.
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Step 1: checks a request. Only `POST` is accepted (405), the body must be within the
    /// limit (413), then everything [`receive`](crate::receive) checks, each error answered with
    /// its [`Error::http_status`].
    ///
    /// # Errors
    ///
    /// The answer to send at once.
    pub fn receive<H, K, V>(&self, method: &str, headers: H, body: Body<'_>) -> Result<Delivery, Answer>
    where
        H: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.receive_from(method, None, headers, body)
    }

    /// As [`Receiver::receive`], from `peer`: the socket's address (`1.2.3.4`, `[::1]:5678`), for
    /// an allow-list of [sources](Receiver::with_sources).
    ///
    /// # Errors
    ///
    /// The answer to send at once.
    pub fn receive_from<H, K, V>(
        &self,
        method: &str,
        peer: Option<&str>,
        headers: H,
        body: Body<'_>,
    ) -> Result<Delivery, Answer>
    where
        H: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let headers: Vec<(K, V)> = headers.into_iter().collect();
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        self.admit(peer, &pairs)?;
        let bytes = match body {
            Body::Bytes(bytes) => bytes,
            Body::Length(_) => {
                return Err(Receiver::failed(
                    "Receiver::receive needs the body's bytes (Body::Length is for receive_with)",
                ))
            }
            Body::TooLarge | Body::Unreadable => &[],
        };
        // Which secret verified: its webhooks' failure streaks are its own.
        let matched = std::cell::Cell::new(0);
        let accepted = self.receive_with(
            method,
            pairs.iter().copied(),
            body,
            |verifier, signature| Check::Keys(verifier).matched(bytes, signature).map(|i| matched.set(i)),
            |verified| {
                let document = Document::from_slice(bytes)?;
                Ok(ReceivedEvent { topic: verified.topic, document, body: bytes.to_vec() })
            },
        )?;
        Ok(Delivery {
            key: accepted.event.idempotency_key_in(self.key_scope),
            event: accepted.event,
            routes: accepted.routes,
            secret: matched.get(),
        })
    }

    /// The part of [`Receiver::receive_with`] before the body is read: the method (405), the
    /// body's length (413), then the signature and the topic (as [`verify_headers`]), each
    /// refusal answered as there. A caller that reads the body itself then checks the document
    /// and its type ([`check_type`]) and takes the topic's routes ([`Receiver::routes_of`]):
    /// [`Receiver::receive_with`] is exactly these steps in order.
    ///
    /// # Errors
    ///
    /// The answer to send at once.
    pub fn receive_head<H, K, V>(
        &self,
        method: &str,
        headers: H,
        body: Body<'_>,
        verify: impl FnOnce(&Verifier, &str) -> crate::Result<()>,
    ) -> Result<Verified, Answer>
    where
        H: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        if !method.eq_ignore_ascii_case("POST") {
            return Err(Receiver::not_post());
        }
        let length = match body {
            Body::Bytes(bytes) => bytes.len(),
            Body::Length(length) => length,
            Body::Unreadable => {
                return Err(Answer::coded(BODY_UNREADABLE, "the request body could not be read to its end"))
            }
            Body::TooLarge => usize::MAX,
        };
        if length > self.max_body_bytes {
            let limit = self.max_body_bytes.to_string();
            let message = format!("the body is over {limit} bytes");
            let (code, status) = PAYLOAD_TOO_LARGE;
            return Err(Answer::json(
                status,
                &[("error", code), ("message", &message)],
                &[("limit", &limit)],
            ));
        }
        verify_headers(headers, |signature| verify(&self.verifier, signature))
            .map_err(|e| Receiver::refusal(&e))
    }

    /// As [`Receiver::receive`], whoever holds the body: `verify` checks the signature header
    /// (with [`Check::verify`] against the verifier's keys or a host's tags) and `read` parses
    /// the body once they have passed; see [`crate::payload::receive_with`].
    ///
    /// # Errors
    ///
    /// The answer to send at once.
    pub fn receive_with<H, K, V, P: Payload>(
        &self,
        method: &str,
        headers: H,
        body: Body<'_>,
        verify: impl FnOnce(&Verifier, &str) -> crate::Result<()>,
        read: impl FnOnce(Verified) -> crate::Result<P>,
    ) -> Result<Accepted<P>, Answer>
    where
        H: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let verified = self.receive_head(method, headers, body, verify)?;
        let topic = verified.topic.clone();
        let event = read(verified)
            .and_then(|event| check_type(&topic, event.data_type()).map(|()| event))
            .map_err(|e| Receiver::refusal(&e))?;
        let routes = self.routes_of(&topic);
        Ok(Accepted { event, topic, routes })
    }

    fn not_post() -> Answer {
        Answer::coded(METHOD_NOT_ALLOWED, "webhook deliveries are POST requests")
    }

    /// The answer to a request whose body the caller cannot hand over (a JS framework that
    /// already parsed it): `refusal`, unless what this receiver checks before the body says
    /// otherwise — the method (405), then a missing or malformed signature header (401).
    #[must_use]
    pub fn refuse_body<H, K, V>(&self, method: &str, headers: H, refusal: Answer) -> Answer
    where
        H: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        if !method.eq_ignore_ascii_case("POST") {
            return Receiver::not_post();
        }
        match verify_headers(headers, |signature| decode_signature(signature).map(|_| ())) {
            Err(e @ (Error::MissingSignature | Error::MalformedSignature { .. })) => Receiver::refusal(&e),
            _ => refusal,
        }
    }

    /// Step 0, when there is an allow-list of [sources](Receiver::with_sources): whether a
    /// request from `peer` (the socket's address) with these headers may be received at all. A
    /// caller outside the list is answered 403 `forbidden_source` and told nothing else: this
    /// comes before the method, the body and the signature. [`Receiver::receive_from`] runs it;
    /// [`Receiver::receive_with`] leaves it to its caller (the JavaScript package runs it from a
    /// module of its own, loaded only when `sources` are set).
    ///
    /// # Errors
    ///
    /// The 403 answer.
    pub fn admit(&self, peer: Option<&str>, headers: &[(&str, &str)]) -> Result<(), Answer> {
        self.sources.admits(peer, headers).map_err(|e| Receiver::refusal(&e))
    }

    /// The indices of the routes a topic matches, in the order they were added.
    #[must_use]
    pub fn routes_of(&self, topic: &Topic) -> Vec<usize> {
        self.routes
            .iter()
            .enumerate()
            .filter(|(_, pattern)| pattern.matches(topic))
            .map(|(index, _)| index)
            .collect()
    }

    /// The answer when the receiving side itself failed (a seen-store that threw, a bug): 500
    /// `receiver_failed`, so that Commerce Layer tries again.
    #[must_use]
    pub fn failed(message: &str) -> Answer {
        Answer::coded(RECEIVER_FAILED, message)
    }

    /// The answer to a request refused with `error`: its status, code and message.
    #[must_use]
    pub fn refusal(error: &Error) -> Answer {
        Answer::error(error.http_status(), error.code(), &error.to_string())
    }

    /// Step 2: what the seen-store said of the key of a delivery of `topic`.
    ///
    /// # Errors
    ///
    /// The answer to send at once: 200 (`"duplicate": true`) for a duplicate when they are
    /// skipped; 409 for a copy still being handled, so that Commerce Layer tries again later,
    /// when the first copy has either succeeded (and this one is a duplicate) or failed (and
    /// this one runs), or 200 with `"in_flight": true` under [`InFlight::Accept`].
    pub fn claimed(&self, topic: &Topic, claim: Claim) -> Result<Run, Answer> {
        session::decide(topic, claim, self.duplicates, self.in_flight)
    }

    /// The webhook a delivery of `topic` verified by the secret at `secret` (its place in the
    /// list) is, for its failure streak: the topic, and the secret's fingerprint where several
    /// are set ([`Verifier::fingerprint`]).
    #[must_use]
    pub fn webhook(&self, topic: &str, secret: usize) -> crate::health::Webhook {
        crate::health::Webhook::verified(topic, self.verifier.fingerprint(secret))
    }

    /// The failure streaks a refusal of this receiver's counts in ([`crate::health::refused`]):
    /// a signature mismatch, in the unverified streak of the topic the request claims
    /// (`claimed_topic`, the header's value), and in that webhook's own when an allow-list of
    /// sources is on (the request came from Commerce Layer's addresses) and one secret is set.
    #[must_use]
    pub fn counted_refusal(
        &self,
        answer: &Answer,
        claimed_topic: Option<&str>,
    ) -> Vec<crate::health::Webhook> {
        crate::health::refused(answer, claimed_topic, self.sources.is_on(), self.verifier.secret_count())
    }

    /// The three steps with a synchronous store and handler: the handler gets the delivery and
    /// whether it is a duplicate ([`Duplicates::Mark`]), and fails with any error.
    pub fn handle<H, K, V, E>(
        &self,
        method: &str,
        headers: H,
        body: Body<'_>,
        store: &dyn SeenStore,
        handler: impl FnOnce(&Delivery, bool) -> Result<(), E>,
    ) -> Answer
    where
        H: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.handle_from(method, None, headers, body, store, handler)
    }

    /// As [`Receiver::handle`], from `peer` (see [`Receiver::receive_from`]).
    pub fn handle_from<H, K, V, E>(
        &self,
        method: &str,
        peer: Option<&str>,
        headers: H,
        body: Body<'_>,
        store: &dyn SeenStore,
        handler: impl FnOnce(&Delivery, bool) -> Result<(), E>,
    ) -> Answer
    where
        H: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let headers: Vec<(K, V)> = headers.into_iter().collect();
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        self.exchange(method, peer, &pairs, body, store, handler).answer
    }

    /// As [`Receiver::handle_from`], saying also which failure streaks the answer counts in
    /// ([`crate::health`]): the delivery's webhook when it verified, those of a refusal where
    /// it counts (a signature mismatch), and its outcome. The caller counts it once it hands
    /// the answer over, with the time (this function reads no clock).
    pub fn exchange<E>(
        &self,
        method: &str,
        peer: Option<&str>,
        headers: &[(&str, &str)],
        body: Body<'_>,
        store: &dyn SeenStore,
        handler: impl FnOnce(&Delivery, bool) -> Result<(), E>,
    ) -> Exchange {
        let delivery = match self.receive_from(method, peer, headers.iter().copied(), body) {
            Ok(delivery) => delivery,
            Err(answer) => {
                let claimed = headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(crate::payload::TOPIC_HEADER))
                    .map(|(_, value)| *value);
                let counted = self.counted_refusal(&answer, claimed);
                let label = crate::health::Webhook::unverified(claimed).topic;
                return Exchange { answer, counted, outcome: crate::health::Outcome::Refused, topic: label };
            }
        };
        // The session decides the sequence; this loop only does what it says. One handler, the
        // caller's; no clock: a synchronous handler's end is the only time that passes.
        let terms = self.terms();
        let mut session = Session::new(self, delivery.event.topic.clone(), 1, true, 0);
        // Should the handler panic and the panic be caught upstream, the claim is released.
        let mut guard = ClaimGuard { store, key: &delivery.key, held: false };
        let mut handler = Some(handler);
        let mut answer = None;
        let mut counted = false;
        while let Some(action) = session.poll() {
            match action {
                Action::Claim(terms) => match store.claim(&delivery.key, terms) {
                    Ok(claim) => {
                        guard.held = claim == Claim::Fresh;
                        session.claimed(claim, 0);
                    }
                    Err(Error::StoreUnavailable { message }) => session.store_failed(&message),
                    Err(e) => session.store_failed(&e.to_string()),
                },
                Action::Run { duplicate, .. } => {
                    let ok = handler.take().is_some_and(|handler| handler(&delivery, duplicate).is_ok());
                    session.handler_ended(ok, 0);
                }
                // This store counts nothing: no count to fold into its end.
                Action::End { handled, .. } => {
                    guard.held = false;
                    // The store failing to end the claim changes no answer (see SeenStore):
                    // the work is done, or the lease frees the key.
                    session.claim_ended(end_claim(store, &delivery.key, terms, handled).is_ok());
                }
                // A synchronous caller has no error handler to tell.
                Action::Tell(_) => {}
                // No queue here: a receiver that hands off is driven by its own session.
                Action::Enqueue { .. } => session.enqueue_failed(0),
                Action::Answer(given) => answer = Some(given),
                // No clock here: the caller counts the answer it is given, when it hands it over.
                Action::Count { .. } => counted = true,
            }
        }
        let answer = answer.unwrap_or_else(|| Receiver::failed("the delivery ended without an answer"));
        let topic = delivery.event.topic.as_str().to_owned();
        let counted = if counted { vec![self.webhook(&topic, delivery.secret)] } else { Vec::new() };
        let outcome = crate::health::Outcome::of(&answer, true);
        Exchange { answer, counted, outcome, topic }
    }
}

/// What [`Receiver::exchange`] gives: the answer, and what to count and record of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The answer.
    pub answer: Answer,
    /// The failure streaks it counts in, once handed over ([`crate::health::Health::count`]).
    pub counted: Vec<crate::health::Webhook>,
    /// Its outcome, for metrics and logs.
    pub outcome: crate::health::Outcome,
    /// The delivery's topic, or the label of the topic a refused request claims.
    pub topic: String,
}

/// Releases a fresh claim when dropped before it was ended.
struct ClaimGuard<'a> {
    store: &'a dyn SeenStore,
    key: &'a str,
    held: bool,
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        if self.held {
            let _ = self.store.release(self.key);
        }
    }
}

/// Ends a claim as [`Action::End`] says: recorded (`handled`) or released.
///
/// # Errors
///
/// The store's.
pub fn end_claim(store: &dyn SeenStore, key: &str, terms: Terms, handled: bool) -> crate::Result<()> {
    if handled {
        store.done(key, terms)
    } else {
        store.release(key)
    }
}
