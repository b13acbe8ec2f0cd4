//! [Commerce Layer](https://commercelayer.io) webhooks on [axum]: verified deliveries routed to
//! async handlers, each delivery handled once however often Commerce Layer retries it.
//!
//! ```no_run
//! use clhooks_axum::{Event, Webhooks};
//!
//! async fn placed(event: Event) -> Result<(), std::io::Error> {
//!     println!("{} {}", event.topic(), event.id());
//!     Ok(()) // an Err answers 500, and Commerce Layer retries
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let app = Webhooks::new([std::env::var("CL_WEBHOOK_SECRET")?])?
//!         .on("orders.place", placed)?
//!         .into_router("/webhooks");
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! The router answers as Commerce Layer expects, here driven in process with tower's `oneshot`:
//!
//! ```
//! use axum::body::Body;
//! use axum::http::Request;
//! use clhooks_axum::{Event, Webhooks};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Webhooks::new(["secret"])?
//!     .on("orders.*", |event: Event| async move {
//!         assert_eq!(event.id(), "o1");
//!         Ok::<(), std::io::Error>(())
//!     })?
//!     .into_router("/webhooks");
//! let body = r#"{"data":{"id":"o1","type":"orders","attributes":{}}}"#;
//! let delivery = || {
//!     Request::post("/webhooks")
//!         .header("X-CommerceLayer-Topic", "orders.place")
//!         .header("X-CommerceLayer-Signature", clhooks::sign(body.as_bytes(), "secret").unwrap())
//!         .body(Body::from(body))
//! };
//! assert_eq!(app.clone().oneshot(delivery()?).await?.status(), 200);
//! assert_eq!(app.oneshot(delivery()?).await?.status(), 200); // a duplicate: the handler ran once
//! # Ok(())
//! # }
//! ```
//!
//! The crate only moves bytes and runs futures. Every answer (200, 401, 400, 405, 413, 409,
//! 500, 503), what counts as a duplicate, and the order and timing of a delivery's steps are
//! decided by clhooks' core: its [`Receiver`] reads the request, and its [`Session`] says when
//! to claim the key in the seen-store, which handler to run, when Commerce Layer's 5 s deadline
//! has passed, what to answer and how to end the claim. The body is read while it streams, up
//! to the receiver's limit; past it the answer is a JSON 413, and what the client still sends is
//! read and dropped within the core's bounds so that it can read that answer. A span per
//! delivery (`clhooks.delivery`: topic, id, claim, status) goes to [`tracing`]; no secret or
//! body is in it.
//!
//! The seen-store is the in-memory one by default (one process); give every instance the same
//! `clhooks_redis::RedisStore` with [`Webhooks::store`] and each delivery is handled once across
//! them. [`Webhooks::into_router`] gives an axum [`Router`], itself a tower `Service` for hyper
//! users; serve it `into_make_service_with_connect_info::<SocketAddr>()` for a source
//! allow-list ([`Receiver::with_sources`]) to see the caller.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body as HttpBody, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use clhooks::handoff::{Queue, Record};
use clhooks::health::{Attempt, Outcome, Signal, Webhook};
use clhooks::receiver::{
    Action, Answer, AsyncSeenStore, Body, Delivery, Handoff, MemoryStore, Notice, Receiver, Session,
    ANSWER_CONTENT_TYPE,
};
use clhooks::{ReceivedEvent, Topic, Verifier};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;
use tracing::Instrument;

mod health;
mod memory;
mod observe;
mod worker;
pub use health::Health;
pub use memory::{DeadMessage, MemoryQueue};
pub use worker::{Worker, WorkerFailure, WorkerHandle};

/// Any error a handler returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;
type Handler = Arc<dyn Fn(Event) -> HandlerFuture + Send + Sync>;

type ErrorHook = Arc<dyn Fn(&Failure<'_>) + Send + Sync>;

/// A verified delivery, as a handler gets it: cheap to clone.
#[derive(Debug, Clone)]
pub struct Event {
    delivery: Arc<Delivery>,
    duplicate: bool,
}

impl Event {
    /// The topic, such as `orders.place`.
    #[must_use]
    pub fn topic(&self) -> &Topic {
        &self.delivery.event.topic
    }

    /// The id of the payload's resource.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.delivery.event.resource().id
    }

    /// The event as the core read it: the JSON:API document, its resource, `denormalize()`.
    #[must_use]
    pub fn received(&self) -> &ReceivedEvent {
        &self.delivery.event
    }

    /// The delivery's idempotency key: the same for every retry of it.
    #[must_use]
    pub fn idempotency_key(&self) -> &str {
        &self.delivery.key
    }

    /// Whether the delivery was handled before (only under `Duplicates::Mark`).
    #[must_use]
    pub fn duplicate(&self) -> bool {
        self.duplicate
    }

    /// The resource, its relationships resolved from `included`, as a type of yours:
    /// `event.resource::<Order>()` with `#[derive(Deserialize)] struct Order { number: u64, .. }`.
    ///
    /// # Errors
    ///
    /// [`ReadError::Denormalize`] past the core's budgets; [`ReadError::Shape`] when the
    /// resource does not fit `T`.
    pub fn resource<T: DeserializeOwned>(&self) -> Result<T, ReadError> {
        let value = self.delivery.event.denormalize().map_err(ReadError::Denormalize)?;
        serde_json::from_value(value).map_err(ReadError::Shape)
    }
}

/// Why [`Event::resource`] could not give a typed resource.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// Resolving the relationships went past a budget of the core (`denormalize_limit`).
    Denormalize(clhooks::Error),
    /// The resource does not have the shape of the type asked for.
    Shape(serde_json::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Denormalize(e) => write!(f, "the resource could not be resolved: {e}"),
            ReadError::Shape(e) => write!(f, "the resource does not fit the type asked for: {e}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Denormalize(e) => Some(e),
            ReadError::Shape(e) => Some(e),
        }
    }
}

/// What the error hook ([`Webhooks::on_error`]) is told. The answer is decided already.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure<'a> {
    /// A handler returned an error or panicked: answered 500, the claim released, so that
    /// Commerce Layer's retry runs it again.
    Handler {
        /// The delivery.
        event: &'a Event,
        /// What the handler returned (a panic's message, for a panic).
        error: &'a BoxError,
    },
    /// A handler is still running at Commerce Layer's 5 s deadline: Commerce Layer counts the
    /// delivery as failed and will retry it (answered 409 while this one runs, then as a
    /// duplicate). Hand slow work to a queue.
    Deadline {
        /// The delivery.
        event: &'a Event,
    },
    /// The seen-store could not end a claim; its lease frees the key.
    Store {
        /// The delivery.
        event: &'a Event,
    },
    /// In handoff mode, the queue did not take the delivery (it failed, or said nothing within
    /// the store wait): answered 503, so Commerce Layer retries it.
    Queue {
        /// The delivery.
        event: &'a Event,
        /// What the queue said, when it failed.
        error: Option<&'a str>,
    },
    /// A webhook's failure streak crossed a threshold, counted as Commerce Layer counts it
    /// ([`clhooks::health`]): `failure_streak` at the notice (5) and as the circuit opens (30),
    /// `failure_streak_ended` when a success ends a streak that had reached the notice.
    Streak {
        /// Whose streak: a topic's webhook, or the signature mismatches claiming it.
        webhook: &'a Webhook,
        /// What crossed.
        signal: Signal,
    },
    /// The shared store failed to count an answer in a failure streak, or said nothing within
    /// the store wait (`store_unavailable`): the answer stands, the streak misses it.
    Uncounted {
        /// Whose streak.
        webhook: &'a Webhook,
        /// What the store said.
        error: &'a clhooks::Error,
    },
}

impl Failure<'_> {
    /// The stable code: `handler_failed`, `deadline_exceeded`, `store_unavailable`,
    /// `queue_unavailable`, `failure_streak`, `failure_streak_ended`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Streak { signal, .. } => signal.code(),
            Failure::Uncounted { error, .. } => error.code(),
            other => other.notice().code(),
        }
    }

    fn notice(&self) -> Notice {
        match self {
            Failure::Handler { .. } => Notice::HandlerFailed,
            Failure::Deadline { .. } => Notice::DeadlineExceeded,
            Failure::Store { .. } => Notice::EndFailed,
            Failure::Queue { .. } | Failure::Streak { .. } | Failure::Uncounted { .. } => Notice::QueueFailed,
        }
    }
}

impl std::fmt::Display for Failure<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Handler { event, error } => {
                write!(f, "{} {}: a handler failed: {error}", event.topic(), event.id())
            }
            Failure::Deadline { event } | Failure::Store { event } => {
                write!(f, "{} {}: {}", event.topic(), event.id(), self.notice().message())
            }
            Failure::Queue { event, error } => {
                write!(f, "{} {}: {}", event.topic(), event.id(), self.notice().message())?;
                error.map_or(Ok(()), |error| write!(f, ": {error}"))
            }
            Failure::Streak { webhook, signal } => f.write_str(&signal.message(webhook)),
            Failure::Uncounted { webhook, error } => {
                write!(
                    f,
                    "the failure streak of {} was not counted (the answer stands): {error}",
                    webhook.topic
                )
            }
        }
    }
}

/// Commerce Layer webhooks for axum: the secret, the seen-store and the handlers by topic
/// pattern, made into a [`Router`].
pub struct Webhooks {
    receiver: Receiver,
    store: Option<Arc<dyn AsyncSeenStore>>,
    /// Whether the store was chosen ([`Webhooks::store`], [`Webhooks::without_store`]).
    store_chosen: bool,
    /// Handoff mode's queue.
    queue: Option<Arc<dyn Queue>>,
    /// By the core's route index; `None` for a route the given receiver had already.
    handlers: Vec<Option<Handler>>,
    on_error: Option<ErrorHook>,
    /// The failure streaks counted.
    health: Health,
}

impl Webhooks {
    /// Webhooks verified with these secrets (several while rotating: any match passes), with
    /// the core's defaults: a 5 MiB body limit, duplicates skipped, the in-memory store.
    ///
    /// # Errors
    ///
    /// `missing_secret`, `empty_secret`.
    pub fn new<I, S>(secrets: I) -> clhooks::Result<Webhooks>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(Webhooks::with_receiver(Receiver::new(Verifier::new(secrets)?)))
    }

    /// Webhooks on a receiver of your own settings (body limit, handler timeout, duplicates,
    /// sources, lease and keep times: `Receiver::with_*`). Routes it has already run no
    /// handler: add them with [`Webhooks::on`].
    #[must_use]
    pub fn with_receiver(receiver: Receiver) -> Webhooks {
        Webhooks {
            receiver,
            store: Some(Arc::new(MemoryStore::default())),
            store_chosen: false,
            queue: None,
            handlers: Vec::new(),
            on_error: None,
            health: Health::default(),
        }
    }

    /// The failure streaks these webhooks count, per webhook, as Commerce Layer counts them:
    /// [`Health::report`] for the counters, [`Health::into_router`] for a health endpoint. Take
    /// it before [`Webhooks::into_router`]; it is the same counters after.
    #[must_use]
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Handoff mode: each verified delivery is written to `queue` (a
    /// `clhooks_redis::RedisQueue`) and answered 200 once the queue holds it, 503 when the queue
    /// fails or is slower than the store wait; a [`Worker`] runs the handlers afterwards
    /// ([`Webhooks::worker`]). A queue that claims keys does so in the same step, unless a
    /// seen-store is chosen: then the store claims, and the key is recorded once the queue holds
    /// the record.
    #[must_use]
    pub fn queue(mut self, queue: impl Queue + 'static) -> Webhooks {
        self.queue = Some(Arc::new(queue));
        self
    }

    /// In handoff mode, a worker running these handlers on what the queue holds, verifying with
    /// this receiver's secrets and settings, and telling its error hook of handlers that fail
    /// (the worker's other notices go to [`tracing`], or to [`Worker::on_error`]); the worker's
    /// own settings are [`Worker::config`]'s. `None` without a queue.
    #[must_use]
    pub fn worker(&self) -> Option<Worker> {
        let queue = Arc::clone(self.queue.as_ref()?);
        // A queue that claims keys holds each delivery once; any other may hold one twice, and
        // its runs are claimed in the seen-store.
        let seen = if queue.claims() && !self.store_chosen { None } else { self.store.clone() };
        let worker =
            Worker::from_parts(self.receiver.clone(), queue, self.handlers.clone(), self.on_error.clone());
        Some(worker.with_seen(seen))
    }

    /// Where the deliveries handled are remembered: shared by every instance (a
    /// `clhooks_redis::RedisStore`), or in this process (the default).
    #[must_use]
    pub fn store(mut self, store: impl AsyncSeenStore + 'static) -> Webhooks {
        self.store = Some(Arc::new(store));
        self.store_chosen = true;
        self
    }

    /// No seen-store: every delivery runs its handlers, duplicates too.
    #[must_use]
    pub fn without_store(mut self) -> Webhooks {
        self.store = None;
        self.store_chosen = true;
        self
    }

    /// Runs `handler` for every verified delivery whose topic matches `pattern` (`*`,
    /// `orders.*`, `*.destroy`, `orders.place`), after the handlers added before it.
    ///
    /// # Errors
    ///
    /// `invalid_topic_pattern`.
    pub fn on<F, Fut, E>(mut self, pattern: &str, handler: F) -> clhooks::Result<Webhooks>
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let index = self.receiver.route(pattern)?;
        set_handler(&mut self.handlers, index, handler);
        Ok(self)
    }

    /// Told of a handler that failed, a handler past Commerce Layer's deadline, a store that
    /// could not end a claim, and a failure streak's thresholds ([`Failure::Streak`]). By
    /// default they go to [`tracing`] (`warn`; a streak's end at `info`).
    #[must_use]
    pub fn on_error(mut self, hook: impl Fn(&Failure<'_>) + Send + Sync + 'static) -> Webhooks {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// A router answering deliveries on `path`, every method (the receiver answers 405 to all
    /// but POST). Merge it into your app, or serve it alone.
    pub fn into_router(mut self, path: &str) -> Router {
        if let Some(queue) = &self.queue {
            // A queue that claims replaces the default store; a store chosen claims itself.
            let claims = queue.claims() && !self.store_chosen;
            self.receiver = self.receiver.clone().with_handoff(Handoff::Queue { claims });
            if claims {
                self.store = None;
            }
        }
        // A store that keeps counters (Redis), or else a queue that claims in its place, counts
        // the streaks every instance shares.
        self.health.share(self.store.clone(), self.queue.clone(), self.receiver.verifier().fingerprints());
        Router::new().route(path, any(deliver)).with_state(Arc::new(self))
    }

    fn tell(&self, failure: &Failure<'_>) {
        match (&self.on_error, failure) {
            (Some(hook), _) => hook(failure),
            (None, Failure::Streak { webhook, signal: signal @ Signal::Ended { streak } }) => tracing::info!(
                code = signal.code(),
                topic = %webhook.topic,
                verified = webhook.verified,
                streak,
                "{failure}"
            ),
            (None, Failure::Streak { webhook, signal: signal @ Signal::Streak { streak, circuit } }) => {
                tracing::warn!(
                    code = signal.code(),
                    topic = %webhook.topic,
                    verified = webhook.verified,
                    streak,
                    circuit = circuit.as_str(),
                    "{failure}"
                );
            }
            (None, _) => tracing::warn!(code = failure.code(), "{failure}"),
        }
    }

    /// What a shared store said of a count in `webhook`'s streak: a threshold crossed told, the
    /// streak recorded; a store that failed told (the answer stands). The streak now, if known.
    fn shared_count(
        &self,
        webhook: &Webhook,
        counted: clhooks::Result<(Option<Signal>, u32)>,
    ) -> Option<u32> {
        match counted {
            Ok((signal, now)) => {
                if let Some(signal) = signal {
                    self.tell(&Failure::Streak { webhook, signal });
                }
                observe::streak(webhook, now);
                Some(now)
            }
            Err(error) => {
                self.tell(&Failure::Uncounted { webhook, error: &error });
                None
            }
        }
    }

    /// Counts an answer in `webhooks`' failure streaks (handed over now, `arrived` being when
    /// the request came), tells what crossed a threshold, and records it (see [`observe`]): the
    /// delivery's `event`, or for a refusal the `label` of the topic it claimed.
    fn count(
        app: &Arc<Webhooks>,
        webhooks: Vec<Webhook>,
        event: Option<&Event>,
        label: &str,
        counted: Counted,
        arrived: Arrived,
    ) {
        let latency = arrived.elapsed();
        let attempt = Attempt::of(&counted.answer, now_ms(), whole_ms(latency));
        // A store that keeps counters shares them with every instance: counted on a task of its
        // own, after the answer; a counter that fails changes nothing.
        if let Some(store) = app.health.counter() {
            let (app, event, label) = (Arc::clone(app), event.cloned(), label.to_owned());
            tokio::spawn(async move {
                let mut streak = None;
                let wait = app.receiver.terms().wait_ms;
                for webhook in &webhooks {
                    let Some(counting) = store.count(webhook, &attempt) else { continue };
                    // Within the store wait, as every store call.
                    let counted = if wait > 0 {
                        tokio::time::timeout(Duration::from_millis(wait), counting).await.unwrap_or_else(
                            |_| {
                                Err(clhooks::Error::StoreUnavailable {
                                    message: format!("no answer within {wait} ms"),
                                })
                            },
                        )
                    } else {
                        counting.await
                    };
                    // The streak the request counts in last is its own (a refusal's unverified one).
                    streak = app.shared_count(webhook, counted);
                }
                observe::answered(event.as_ref(), &label, &counted, latency, streak);
            });
            return;
        }
        let mut streak = None;
        for webhook in &webhooks {
            if let Some(signal) = app.health.count(webhook, &attempt) {
                app.tell(&Failure::Streak { webhook, signal });
            }
            let now = app.health.streak(webhook);
            // The streak the request counts in last is its own (a refusal's unverified one).
            streak = Some(now);
            observe::streak(webhook, now);
        }
        observe::answered(event, label, &counted, latency, streak);
    }
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("receiver", &self.receiver)
            .field("store", &self.store.is_some())
            .field("queue", &self.queue.is_some())
            .field("handlers", &self.handlers.iter().flatten().count())
            .finish_non_exhaustive()
    }
}

/// What a queue said when it failed: its client's message.
fn queue_said(error: clhooks::Error) -> String {
    match error {
        clhooks::Error::StoreUnavailable { message } => message,
        other => other.to_string(),
    }
}

/// Puts `handler` at the core's route `index` (routes are numbered in the order they are added).
fn set_handler<F, Fut, E>(handlers: &mut Vec<Option<Handler>>, index: usize, handler: F)
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    let handler: Handler = Arc::new(move |event| {
        let future = handler(event);
        Box::pin(async move { future.await.map_err(Into::into) })
    });
    if handlers.len() <= index {
        handlers.resize(index.saturating_add(1), None);
    }
    if let Some(slot) = handlers.get_mut(index) {
        *slot = Some(handler);
    }
}

/// One request: read, then the delivery's session, here until it has to wait and then on a
/// task of its own (it outlives a client that hangs up, as Commerce Layer does at 5 s), whose
/// answer this sends.
async fn deliver(State(app): State<Arc<Webhooks>>, request: Request) -> Response {
    let arrived = Arrived::now();
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_string());
    let (parts, mut body) = request.into_parts();
    let headers = pairs(&parts.headers);
    // Step 0: a caller outside the allow-list is refused before its body is read.
    if let Err(answer) = app.receiver.admit(peer.as_deref(), &headers) {
        linger(&app.receiver, body);
        return respond(answer);
    }
    let max = app.receiver.max_body_bytes();
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    // Over the limit by its Content-Length: answered before a byte is read.
    let read = match declared {
        Some(length) if length > max => Ok(None),
        _ => read_up_to(&mut body, max, declared.unwrap_or(0)).await,
    };
    let body = match &read {
        Ok(Some(bytes)) => Body::Bytes(bytes),
        Ok(None) => {
            linger(&app.receiver, body);
            Body::TooLarge
        }
        Err(()) => Body::Unreadable,
    };
    let claimed = parts.headers.get(clhooks::TOPIC_HEADER).and_then(|v| v.to_str().ok());
    let delivery = match app.receiver.receive_from(parts.method.as_str(), peer.as_deref(), headers, body) {
        Ok(delivery) => Arc::new(delivery),
        Err(answer) => {
            // A signature mismatch counts in a streak of its own (the core says which).
            let label = Webhook::unverified(claimed).topic;
            let counted = Counted { outcome: Outcome::Refused, answer };
            let webhooks = app.receiver.counted_refusal(&counted.answer, claimed);
            let answer = counted.answer.clone();
            Webhooks::count(&app, webhooks, None, &label, counted, arrived);
            return respond(answer);
        }
    };
    // Handoff: the record the queue is given, the body as it came.
    let record = match (&app.queue, read) {
        (Some(_), Ok(Some(bytes))) => Some(Record {
            key: delivery.key.clone(),
            topic: delivery.event.topic.as_str().to_owned(),
            signature: parts
                .headers
                .get(clhooks::SIGNATURE_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            received_ms: now_ms(),
            attempts: 0,
            body: bytes.to_vec(),
        }),
        _ => None,
    };
    let (send, answered) = oneshot::channel();
    let span = tracing::info_span!(
        "clhooks.delivery",
        topic = %delivery.event.topic,
        id = %delivery.event.resource().id,
        claim = tracing::field::Empty,
        status = tracing::field::Empty,
    );
    // The session runs here as far as it goes at once (the memory store, handlers with nothing
    // to wait for: most deliveries end so); what must wait goes on a task of its own, which
    // outlives a client that hangs up. A span only costs where a subscriber takes it.
    if span.is_disabled() {
        run_or_spawn(Box::pin(drive(app, delivery, record, send, arrived))).await;
    } else {
        run_or_spawn(Box::pin(drive(app, delivery, record, send, arrived).instrument(span))).await;
    }
    respond(answered.await.unwrap_or_else(|_| Receiver::failed("the delivery ended without an answer")))
}

/// Polls `session` once; spawns it when it has to wait.
async fn run_or_spawn(mut session: Pin<Box<impl Future<Output = ()> + Send + 'static>>) {
    let done = std::future::poll_fn(|cx| Poll::Ready(session.as_mut().poll(cx).is_ready())).await;
    if !done {
        tokio::spawn(session);
    }
}

/// Does what the delivery's session hands out until it has nothing left: the only place that
/// awaits the store and the handlers, and sleeps until the session's next wake-up meanwhile.
async fn drive(
    app: Arc<Webhooks>,
    delivery: Arc<Delivery>,
    record: Option<Record>,
    send: oneshot::Sender<Answer>,
    arrived: Arrived,
) {
    // A queue that claims stands for the store.
    let claims = app.receiver.handoff() == Handoff::Queue { claims: true };
    let mut run = Run {
        session: Session::new(
            &app.receiver,
            delivery.event.topic.clone(),
            delivery.routes.len(),
            app.store.is_some() || claims,
            now_ms(),
        ),
        send: Some(send),
        event: Event { delivery: Arc::clone(&delivery), duplicate: false },
        failed: None,
        queue_error: None,
        arrived,
        counted: None,
        fold: Fold::No,
    };
    if app.store.is_some() && app.health.folds() {
        // On the session's clock: whole ms rounded up, so the arrival is never later than it was.
        run.session.fold_counts(now_ms().saturating_sub(whole_ms(arrived.elapsed())));
    }
    while let Some(action) = run.session.poll() {
        match action {
            Action::Claim(terms) => {
                let Some(store) = app.store.clone() else { break };
                let claimed = run.awaiting(&app, store.claim(&delivery.key, terms)).await;
                match claimed {
                    Ok(claim) => {
                        tracing::Span::current().record("claim", claim.as_str());
                        run.session.claimed(claim, now_ms());
                    }
                    Err(clhooks::Error::StoreUnavailable { message }) => run.session.store_failed(&message),
                    Err(e) => run.session.store_failed(&e.to_string()),
                }
            }
            Action::Run { index, duplicate } => {
                run.event.duplicate = duplicate;
                let handler =
                    delivery.routes.get(index).and_then(|route| app.handlers.get(*route)).cloned().flatten();
                let started = std::time::Instant::now();
                let outcome = match handler {
                    // A panic is a failure like an error, not a lost claim.
                    Some(handler) => run.awaiting(&app, Caught(handler(run.event.clone()))).await,
                    // A route of the receiver given, with no handler: nothing to run.
                    None => Ok(()),
                };
                observe::handled(&run.event, started.elapsed(), outcome.is_ok());
                let ok = outcome.is_ok();
                run.failed = outcome.err();
                run.session.handler_ended(ok, now_ms());
            }
            Action::Enqueue { claim } => {
                let (Some(queue), Some(record)) = (app.queue.clone(), record.as_ref()) else {
                    run.session.enqueue_failed(now_ms());
                    continue;
                };
                let keep = claim.then(|| app.receiver.terms().keep_ms);
                match run.awaiting(&app, queue.enqueue(record, keep)).await {
                    Ok(claim) => run.session.enqueued(claim, now_ms()),
                    Err(e) => {
                        run.queue_error = Some(queue_said(e));
                        run.session.enqueue_failed(now_ms());
                    }
                }
            }
            Action::End { handled, count: Some(answer) } => {
                let Some(store) = app.store.clone() else { continue };
                // The answer that waits for the end is counted in the same script.
                let webhook = run.webhook(&app);
                let attempt = Attempt::of(&answer, now_ms(), whole_ms(run.arrived.elapsed()));
                let terms = app.receiver.terms();
                let Some(ending) = store.end_counting(&delivery.key, terms, handled, (&webhook, &attempt))
                else {
                    run.session.unfolded();
                    let ended = run.awaiting(&app, store.end(&delivery.key, terms, handled)).await;
                    run.session.claim_ended(ended.is_ok());
                    continue;
                };
                run.fold = Fold::Pending;
                // Past the store wait the answer is given without it (the session says so); its
                // count waits one store wait more, as a count on its own would.
                let wait = terms.wait_ms;
                let ending = async move {
                    if wait == 0 {
                        return ending.await;
                    }
                    tokio::time::timeout(Duration::from_millis(wait.saturating_mul(2)), ending)
                        .await
                        .unwrap_or_else(|_| {
                            Err(clhooks::Error::StoreUnavailable {
                                message: format!("no answer within {wait} ms"),
                            })
                        })
                };
                let ended = run.awaiting(&app, ending).await;
                match std::mem::replace(&mut run.fold, Fold::No) {
                    // The answer was given and its count waited for this reply.
                    Fold::Waiting(counted, latency) => {
                        let streak = app.shared_count(&webhook, ended);
                        observe::answered(Some(&run.event), &webhook.topic, &counted, latency, streak);
                    }
                    _ => {
                        let ok = ended.is_ok();
                        // A failed end counted nothing: the session has it counted on its own.
                        if ok {
                            run.fold = Fold::Replied(ended);
                        }
                        run.session.claim_ended(ok);
                    }
                }
            }
            Action::End { handled, count: None } => {
                let Some(store) = app.store.clone() else { continue };
                let ended = run.awaiting(&app, store.end(&delivery.key, app.receiver.terms(), handled)).await;
                run.session.claim_ended(ended.is_ok());
            }
            other => run.side(&app, other),
        }
    }
}

/// A handler's future, polled on the session's own task (no task of its own to spawn per
/// handler): a panic while it runs ends it as a failure, as an error does.
struct Caught(HandlerFuture);

impl Future for Caught {
    type Output = Result<(), BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                let said = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                Poll::Ready(Err(BoxError::from(format!("the handler panicked: {said}"))))
            }
        }
    }
}

/// A delivery's session and what its caller holds for it.
struct Run {
    session: Session,
    send: Option<oneshot::Sender<Answer>>,
    event: Event,
    failed: Option<BoxError>,
    /// What the queue said when it failed.
    queue_error: Option<String>,
    /// When the request came.
    arrived: Arrived,
    /// The answer given, to count.
    counted: Option<Counted>,
    /// Where the count folded into the claim's end is.
    fold: Fold,
}

/// A count folded into the claim's end ([`Action::End`] with a count).
enum Fold {
    /// None asked.
    No,
    /// The end is out.
    Pending,
    /// The end came back: its count's reply.
    Replied(clhooks::Result<(Option<Signal>, u32)>),
    /// The answer was given first (the store outlived its wait), that long after the request
    /// came: recorded when the end's reply comes.
    Waiting(Counted, Duration),
}

impl Run {
    /// `future`'s output, waking the session at its wake-ups meanwhile: what they give (an
    /// answer, a notice) is done at once, while the store or the handler goes on.
    async fn awaiting<T>(&mut self, app: &Arc<Webhooks>, future: impl Future<Output = T>) -> T {
        tokio::pin!(future);
        // Most are ready at once (the memory store, a handler with nothing to wait for): those
        // set no timer, which costs a clock read and a wake-up of tokio's driver.
        let first = std::future::poll_fn(|cx| {
            Poll::Ready(match future.as_mut().poll(cx) {
                Poll::Ready(output) => Some(output),
                Poll::Pending => None,
            })
        })
        .await;
        if let Some(output) = first {
            return output;
        }
        loop {
            let Some(wake) = self.session.next_wake() else { return future.await };
            let pause = Duration::from_millis(wake.saturating_sub(now_ms()));
            tokio::select! {
                output = &mut future => return output,
                () = tokio::time::sleep(pause) => {
                    self.session.wake(now_ms());
                    while let Some(action) = self.session.poll() {
                        self.side(app, action);
                    }
                }
            }
        }
    }

    /// The webhook the delivery counts in: the catalogue's topics only (the topic header is not
    /// signed), and the secret that verified it.
    fn webhook(&self, app: &Webhooks) -> Webhook {
        app.receiver.webhook(self.event.topic().as_str(), self.event.delivery.secret)
    }

    /// The actions that need no waiting: an answer, a notice.
    fn side(&mut self, app: &Arc<Webhooks>, action: Action) {
        match action {
            Action::Answer(answer) => {
                tracing::Span::current().record("status", answer.status);
                if let Some(send) = self.send.take() {
                    // Kept to count and record: a failure keeps its body (its code), a success
                    // only its status and outcome.
                    let outcome = Outcome::of(&answer, true);
                    let kept = if answer.is_success() {
                        Answer { status: answer.status, body: String::new() }
                    } else {
                        answer.clone()
                    };
                    self.counted = Some(Counted { answer: kept, outcome });
                    // A client gone already has nothing to be told.
                    let _ = send.send(answer);
                }
            }
            Action::Count { folded } => {
                let Some(counted) = self.counted.take() else { return };
                let webhook = self.webhook(app);
                match std::mem::replace(&mut self.fold, Fold::No) {
                    Fold::Replied(said) if folded => {
                        let streak = app.shared_count(&webhook, said);
                        observe::answered(
                            Some(&self.event),
                            &webhook.topic,
                            &counted,
                            self.arrived.elapsed(),
                            streak,
                        );
                    }
                    Fold::Pending if folded => self.fold = Fold::Waiting(counted, self.arrived.elapsed()),
                    _ => {
                        let label = webhook.topic.clone();
                        Webhooks::count(app, vec![webhook], Some(&self.event), &label, counted, self.arrived);
                    }
                }
            }
            Action::Tell(Notice::HandlerFailed) => {
                let error = self.failed.take().unwrap_or_else(|| BoxError::from("a handler failed"));
                app.tell(&Failure::Handler { event: &self.event, error: &error });
            }
            Action::Tell(Notice::DeadlineExceeded) => app.tell(&Failure::Deadline { event: &self.event }),
            Action::Tell(Notice::EndFailed) => app.tell(&Failure::Store { event: &self.event }),
            Action::Tell(Notice::QueueFailed) => {
                app.tell(&Failure::Queue { event: &self.event, error: self.queue_error.as_deref() });
            }
            // Waiting actions come only from the session's main loop.
            Action::Claim(_) | Action::Run { .. } | Action::End { .. } | Action::Enqueue { .. } => {}
        }
    }
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, ANSWER_CONTENT_TYPE)], answer.body).into_response()
}

/// The body, or `None` as soon as it goes over `max` bytes (the rest left unread). A body that
/// comes in one frame is kept as it came; room for more is made for the `declared` length.
async fn read_up_to(body: &mut HttpBody, max: usize, declared: usize) -> Result<Option<Bytes>, ()> {
    let mut first: Option<Bytes> = None;
    let mut joined: Option<Vec<u8>> = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(drop)?.into_data() else { continue };
        let held = joined.as_ref().map_or_else(|| first.as_ref().map_or(0, Bytes::len), Vec::len);
        if held.saturating_add(data.len()) > max {
            return Ok(None);
        }
        match (&first, &mut joined) {
            (None, _) => first = Some(data),
            (Some(head), None) => {
                let mut bytes =
                    Vec::with_capacity(declared.clamp(head.len().saturating_add(data.len()), max));
                bytes.extend_from_slice(head);
                bytes.extend_from_slice(&data);
                joined = Some(bytes);
            }
            (Some(_), Some(bytes)) => bytes.extend_from_slice(&data),
        }
    }
    Ok(Some(joined.map_or_else(|| first.unwrap_or_default(), Bytes::from)))
}

/// The core's lingering close after an answer sent before the body was read whole: the rest is
/// read and dropped on a task of its own within the core's bounds, so that a client still
/// sending reads the answer; past them the body is dropped and hyper closes.
fn linger(receiver: &Receiver, mut body: HttpBody) {
    let mut linger = receiver.linger(now_ms());
    tokio::spawn(async move {
        let left = linger.until_ms().saturating_sub(now_ms());
        let deadline = tokio::time::Instant::now() + Duration::from_millis(left);
        while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await {
            let read = frame.data_ref().map_or(0, |data| data.len());
            if !linger.read(read, now_ms()) {
                break;
            }
        }
    });
}

/// When a request came, for its answer's latency (on a clock that does not go back).
#[derive(Debug, Clone, Copy)]
struct Arrived(std::time::Instant);

impl Arrived {
    fn now() -> Arrived {
        Arrived(std::time::Instant::now())
    }

    fn elapsed(self) -> Duration {
        self.0.elapsed()
    }
}

/// An answer given, kept to count and record: its status (and body, when it failed) and outcome.
#[derive(Debug)]
struct Counted {
    answer: Answer,
    outcome: Outcome,
}

/// A latency in whole ms, rounded up: 5000.2 ms is past a 5000 ms deadline.
fn whole_ms(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros().div_ceil(1000)).unwrap_or(u64::MAX)
}

/// Milliseconds since the epoch: the core reads no clock.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn pairs(headers: &HeaderMap) -> Vec<(&str, &str)> {
    let mut pairs = Vec::with_capacity(headers.len());
    pairs.extend(headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))));
    pairs
}
