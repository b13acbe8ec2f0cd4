//! Commerce Layer's side of a webhook: fan-out, signed requests, retries and the circuit
//! breaker, as a sans-IO state machine.
//!
//! Nothing here reads a clock or opens a socket: every call takes `now` (ms since the Unix
//! epoch) and the caller carries the requests. [`Sender::poll`] hands out the next attempt
//! that is due, the caller makes the HTTP call (or [simulates](simulate) it) and reports the
//! result with [`Sender::complete`]; every decision comes back as [`Output`] records.
//!
//! One attempt per webhook is in flight at a time, so each webhook sees its deliveries in
//! order and its failure count is a plain sequence of outcomes.

pub mod driver;
mod policy;
mod rng;
pub mod simulate;
pub mod time;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub use driver::{Call, Driver, Due, Wait};
pub use policy::Policy;
pub use rng::Rng;
use time::iso8601;

use crate::error::{Error, Result};
use crate::model::{
    CircuitState, Common, Credential, Document, EventCallback, EventCallbackAttributes, Identifier, Linkage,
    Relationship, Resource, ResourceMeta, SharedSecret, Webhook, WebhookUpdate,
};
use crate::payload::{check_topic, TOPIC_HEADER};
use crate::signature::{Verifier, SIGNATURE_HEADER};
use crate::topic::Topic;

/// The `User-Agent` of simulated deliveries (Commerce Layer does not document its own).
pub const USER_AGENT: &str = concat!("clhooks-sender/", env!("CARGO_PKG_VERSION"));

/// The default content type of deliveries: `application/json`, what Commerce Layer's own receiver
/// examples read (`express.json()` ignores the JSON:API media type `application/vnd.api+json`,
/// and their raw-body capture with it). [`Policy::content_type`] and the CLI's `--content-type`
/// choose another.
pub const CONTENT_TYPE: &str = "application/json";

/// The headers of a delivery, in the order they are sent: content type, signature, topic (when
/// there is one) and user agent. Every sender path uses them: the [`Sender`], `clhooks replay`
/// and its curl line, and the inspector's *Send* and curl.
#[must_use]
pub fn delivery_headers(
    content_type: &str,
    signature: String,
    topic: Option<&Topic>,
) -> Vec<(String, String)> {
    let mut headers =
        vec![("Content-Type".to_owned(), content_type.to_owned()), (SIGNATURE_HEADER.to_owned(), signature)];
    if let Some(topic) = topic {
        headers.push((TOPIC_HEADER.to_owned(), topic.to_string()));
    }
    headers.push(("User-Agent".to_owned(), USER_AGENT.to_owned()));
    headers
}

/// What a webhook is created with. Its secret stays out of `Debug` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WebhookConfig {
    /// The webhook's id.
    pub id: String,
    /// Its name.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub name: Option<String>,
    /// The topic it subscribes to.
    #[cfg_attr(feature = "ts", ts(type = "Topic"))]
    pub topic: Topic,
    /// Where deliveries go.
    pub callback_url: String,
    /// Related resources included in payloads (dot paths).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "string[]"))]
    pub include_resources: Vec<String>,
    /// The secret that signs payloads.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub shared_secret: SharedSecret,
}

/// Why a delivery was not (or no longer) attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DropReason {
    /// The webhook was disabled when the event came, or before a retry was due.
    WebhookDisabled,
    /// The webhook's circuit was open when the event came.
    CircuitOpen,
    /// The circuit opened on this delivery's failure, or while its retry was pending.
    CircuitOpened,
    /// The last of the retries failed.
    RetriesExhausted,
    /// An import was running and the topic is not one of the order status topics Commerce
    /// Layer still delivers then ([`IMPORT_TOPICS`]).
    MutedDuringImport,
}

/// The topics delivered while an import runs: Commerce Layer mutes every other webhook then.
pub const IMPORT_TOPICS: [&str; 10] = [
    "orders.place",
    "orders.approve",
    "orders.cancel",
    "orders.authorize",
    "orders.void",
    "orders.pay",
    "orders.refund",
    "orders.start_fulfilling",
    "orders.cancel_fulfilling",
    "orders.fulfill",
];

impl DropReason {
    /// The reason in snake_case, as serialized.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            DropReason::WebhookDisabled => "webhook_disabled",
            DropReason::CircuitOpen => "circuit_open",
            DropReason::CircuitOpened => "circuit_opened",
            DropReason::RetriesExhausted => "retries_exhausted",
            DropReason::MutedDuringImport => "muted_during_import",
        }
    }
}

/// How an attempt ended, as the caller observed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Outcome {
    /// The endpoint answered.
    Status {
        /// The HTTP status code.
        code: u16,
        /// The status text or a short body.
        message: String,
    },
    /// No answer within the policy's timeout.
    Timeout,
    /// The connection failed (refused, reset, DNS...).
    Error {
        /// What failed.
        message: String,
    },
}

/// One record of what the sender decided; a run's timeline is a list of these. Times (`at`,
/// `due`) are ms since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum Output {
    /// An event was published; `webhooks` are those subscribed to its topic.
    Published {
        /// When.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The event's id.
        event: String,
        /// Its topic.
        topic: String,
        /// The webhooks whose topic it is.
        webhooks: Vec<String>,
    },
    /// An attempt was handed out to be made.
    Attempt {
        /// When.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The event.
        event: String,
        /// The webhook.
        webhook: String,
        /// 1 for the first call, up to `max_retries + 1`.
        attempt: u32,
    },
    /// An attempt ended.
    AttemptFinished {
        /// When.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The event.
        event: String,
        /// The webhook.
        webhook: String,
        /// Which attempt.
        attempt: u32,
        /// Whether it counts as a success (2xx within the timeout).
        success: bool,
        /// What happened, such as "200 OK" or "timeout after 5000 ms".
        result: String,
        /// `circuit_failure_count` after this attempt.
        failure_count: u32,
    },
    /// A failed delivery will be tried again.
    RetryScheduled {
        /// When it was decided.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The event.
        event: String,
        /// The webhook.
        webhook: String,
        /// The attempt that is scheduled.
        attempt: u32,
        /// When it is due.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        due: u64,
    },
    /// A delivery succeeded.
    Delivered {
        /// When.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The event.
        event: String,
        /// The webhook.
        webhook: String,
        /// How many attempts it took.
        attempts: u32,
    },
    /// A delivery was dropped.
    Dropped {
        /// When.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The event.
        event: String,
        /// The webhook.
        webhook: String,
        /// Why.
        reason: DropReason,
    },
    /// The organization owner is notified of consecutive failures (once per streak).
    Notice {
        /// When.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The webhook.
        webhook: String,
        /// The failure count that triggered it.
        failure_count: u32,
    },
    /// The circuit opened: no calls until it is reset.
    CircuitOpened {
        /// When.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The webhook.
        webhook: String,
        /// The failure count that opened it.
        failure_count: u32,
    },
    /// `_reset_circuit`: closed again, count 0.
    CircuitReset {
        /// When.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The webhook.
        webhook: String,
    },
    /// `_disable`.
    Disabled {
        /// When.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The webhook.
        webhook: String,
    },
    /// `_enable`.
    Enabled {
        /// When.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// The webhook.
        webhook: String,
    },
}

/// An HTTP request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The callback URL.
    pub url: String,
    /// Headers: content type, signature, topic, user agent.
    pub headers: Vec<(String, String)>,
    /// The signed body.
    pub body: Vec<u8>,
}

/// An attempt handed out by [`Sender::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Pass it back to [`Sender::complete`].
    pub id: u64,
    /// The webhook.
    pub webhook: String,
    /// The event.
    pub event: String,
    /// 1 for the first call.
    pub attempt: u32,
    /// The request to make (the same body and signature on every attempt of a delivery).
    pub request: Request,
}

#[derive(Debug)]
struct WebhookState {
    config: WebhookConfig,
    signer: Verifier,
    circuit: CircuitState,
    failures: u32,
    notified: bool,
    disabled_at: Option<u64>,
    busy: bool,
    /// Its pending attempts' keys in `Sender::pending`, earliest first.
    queue: BTreeSet<(u64, u64)>,
    /// Its earliest pending key when it is in `Sender::ready` (not busy).
    head: Option<(u64, u64)>,
    created_at: u64,
    updated_at: u64,
    callbacks: VecDeque<EventCallback>,
}

#[derive(Debug)]
struct Delivery {
    webhook: usize,
    event: String,
    request: Request,
}

/// The delivery state machine for a set of webhooks.
#[derive(Debug)]
pub struct Sender {
    policy: Policy,
    webhooks: Vec<WebhookState>,
    deliveries: HashMap<u64, Delivery>,
    /// Due attempts, by (due time, sequence) → (delivery, attempt number).
    pending: BTreeMap<(u64, u64), (u64, u32)>,
    /// The earliest pending key of each webhook with no attempt in flight: what `poll` picks
    /// from, so a backlog behind a busy webhook is never scanned.
    ready: BTreeSet<(u64, u64)>,
    /// Attempts handed out: id → (delivery, attempt number, start time).
    in_flight: HashMap<u64, (u64, u32, u64)>,
    next_id: u64,
    next_event: u64,
    next_callback: u64,
    /// Import windows, `[start, end)` in ms.
    imports: Vec<(u64, u64)>,
}

fn webhook_error(id: &str) -> Error {
    Error::UnknownWebhook { id: id.to_owned() }
}

/// A resource's type and id.
type Key = (String, String);

/// What `include_resources` keeps of a document: the `included` resources reachable from `data`
/// along the dot paths (each prefix too, as JSON:API's `include` does), and for each resource
/// (`data` among them) the relationships the paths go through, which keep their `data` linkage.
fn reachable(document: &Document, paths: &[String]) -> (Vec<Key>, Vec<(Key, String)>) {
    let mut keep: Vec<Key> = Vec::new();
    let mut linked: Vec<(Key, String)> = Vec::new();
    for path in paths {
        let mut frontier: Vec<&Resource> = vec![&document.data];
        for name in path.split('.') {
            let mut next = Vec::new();
            for resource in frontier {
                let here = ((resource.kind.clone(), resource.id.clone()), name.to_owned());
                if !linked.contains(&here) {
                    linked.push(here);
                }
                let ids: Vec<&Identifier> =
                    match resource.relationships.get(name).and_then(|r| r.data.as_ref()) {
                        Some(Linkage::One(id)) => vec![id],
                        Some(Linkage::Many(ids)) => ids.iter().collect(),
                        _ => Vec::new(),
                    };
                for id in ids {
                    if let Some(found) = document.find_included(&id.kind, &id.id) {
                        let key = (found.kind.clone(), found.id.clone());
                        if !keep.contains(&key) {
                            keep.push(key);
                        }
                        next.push(found);
                    }
                }
            }
            frontier = next;
        }
    }
    (keep, linked)
}

/// The payload a webhook receives, as a GET with `?include=` returns it: `included` cut down to
/// its `include_resources`, and the relationships those paths go through with their `data`
/// linkage; every other relationship keeps only its `links`.
#[must_use]
pub fn payload_for(document: &Document, include_resources: &[String]) -> Document {
    let (keep, linked) = reachable(document, include_resources);
    let mut out = document.clone();
    out.included.retain(|r| keep.iter().any(|(k, i)| *k == r.kind && *i == r.id));
    let unlink = |resource: &mut Resource| {
        let (kind, id) = (resource.kind.clone(), resource.id.clone());
        for (name, relationship) in &mut resource.relationships {
            let kept = linked.iter().any(|((k, i), n)| *k == kind && *i == id && n == name);
            if !kept {
                relationship.data = None;
            }
        }
    };
    unlink(&mut out.data);
    out.included.iter_mut().for_each(unlink);
    out
}

impl Sender {
    /// A sender with no webhooks.
    #[must_use]
    pub fn new(policy: Policy) -> Sender {
        Sender {
            policy,
            webhooks: Vec::new(),
            deliveries: HashMap::new(),
            pending: BTreeMap::new(),
            ready: BTreeSet::new(),
            in_flight: HashMap::new(),
            next_id: 1,
            next_event: 1,
            next_callback: 1,
            imports: Vec::new(),
        }
    }

    /// Runs an import from `start` until `end` (ms): events published meanwhile reach webhooks
    /// only for the [`IMPORT_TOPICS`]; the others are dropped (`muted_during_import`).
    pub fn add_import(&mut self, start: u64, end: u64) {
        self.imports.push((start, end));
    }

    /// Whether an event of `topic` published at `now` is muted by a running import.
    #[must_use]
    pub fn muted(&self, topic: &Topic, now: u64) -> bool {
        self.imports.iter().any(|&(start, end)| (start..end).contains(&now))
            && !IMPORT_TOPICS.contains(&topic.as_str())
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Adds a webhook, enabled and with a closed circuit, as Commerce Layer creates them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCallbackUrl`], [`Error::InvalidIncludePath`], [`Error::EmptySecret`],
    /// or [`Error::DuplicateWebhookId`].
    pub fn add_webhook(&mut self, config: WebhookConfig, now: u64) -> Result<()> {
        crate::model::validate_callback_url(&config.callback_url)?;
        for path in &config.include_resources {
            crate::model::validate_include_path(path)?;
        }
        if self.index(&config.id).is_ok() {
            return Err(Error::DuplicateWebhookId { id: config.id.clone() });
        }
        let signer = Verifier::new([config.shared_secret.expose()])?;
        self.webhooks.push(WebhookState {
            config,
            signer,
            circuit: CircuitState::Closed,
            failures: 0,
            notified: false,
            disabled_at: None,
            busy: false,
            queue: BTreeSet::new(),
            head: None,
            created_at: now,
            updated_at: now,
            callbacks: VecDeque::new(),
        });
        Ok(())
    }

    fn index(&self, id: &str) -> Result<usize> {
        self.webhooks.iter().position(|w| w.config.id == id).ok_or_else(|| webhook_error(id))
    }

    fn schedule(&mut self, delivery: u64, attempt: u32, due: u64) {
        let seq = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        let Some(webhook) = self.deliveries.get(&delivery).map(|d| d.webhook) else { return };
        self.pending.insert((due, seq), (delivery, attempt));
        if let Some(w) = self.webhooks.get_mut(webhook) {
            w.queue.insert((due, seq));
        }
        self.refresh(webhook);
    }

    /// Puts a webhook's earliest pending attempt in `ready`, or takes it out while the webhook
    /// is busy or has nothing pending.
    fn refresh(&mut self, webhook: usize) {
        let Some(w) = self.webhooks.get_mut(webhook) else { return };
        let head = if w.busy { None } else { w.queue.first().copied() };
        if head == w.head {
            return;
        }
        if let Some(old) = w.head.take() {
            self.ready.remove(&old);
        }
        if let Some(new) = head {
            self.ready.insert(new);
        }
        w.head = head;
    }

    fn drop_pending(&mut self, webhook: usize, reason: DropReason, now: u64, out: &mut Vec<Output>) {
        let Some(w) = self.webhooks.get_mut(webhook) else { return };
        let queue = std::mem::take(&mut w.queue);
        self.refresh(webhook);
        for key in queue {
            let Some((delivery, _)) = self.pending.remove(&key) else { continue };
            if let Some(d) = self.deliveries.remove(&delivery) {
                out.push(self.dropped(&d, reason, now));
            }
        }
    }

    fn dropped(&self, d: &Delivery, reason: DropReason, now: u64) -> Output {
        Output::Dropped { at: now, event: d.event.clone(), webhook: self.webhook_id(d.webhook), reason }
    }

    fn webhook_id(&self, index: usize) -> String {
        self.webhooks.get(index).map(|w| w.config.id.clone()).unwrap_or_default()
    }

    /// Publishes an event: every webhook subscribed to its topic gets a delivery, unless it
    /// is disabled or its circuit is open (then the delivery is dropped, with the reason).
    ///
    /// # Errors
    ///
    /// [`Error::TopicMismatch`] when the topic is not about the document's `data.type`.
    pub fn publish(&mut self, topic: &Topic, document: &Document, now: u64) -> Result<(String, Vec<Output>)> {
        check_topic(topic, document)?;
        let event = format!("evt_{}", self.next_event);
        self.next_event = self.next_event.saturating_add(1);
        let subscribed: Vec<usize> = (0..self.webhooks.len())
            .filter(|&i| self.webhooks.get(i).is_some_and(|w| w.config.topic == *topic))
            .collect();
        let mut out = vec![Output::Published {
            at: now,
            event: event.clone(),
            topic: topic.to_string(),
            webhooks: subscribed.iter().map(|&i| self.webhook_id(i)).collect(),
        }];
        for index in subscribed {
            let Some(webhook) = self.webhooks.get(index) else { continue };
            let reason = if self.muted(topic, now) {
                Some(DropReason::MutedDuringImport)
            } else if webhook.disabled_at.is_some() {
                Some(DropReason::WebhookDisabled)
            } else if webhook.circuit == CircuitState::Open {
                Some(DropReason::CircuitOpen)
            } else {
                None
            };
            if let Some(reason) = reason {
                out.push(Output::Dropped {
                    at: now,
                    event: event.clone(),
                    webhook: webhook.config.id.clone(),
                    reason,
                });
                continue;
            }
            let payload = payload_for(document, &webhook.config.include_resources);
            let body = payload.to_json().into_bytes();
            let request = Request {
                url: webhook.config.callback_url.clone(),
                headers: delivery_headers(&self.policy.content_type, webhook.signer.sign(&body), Some(topic)),
                body,
            };
            let id = self.next_id;
            self.next_id = self.next_id.saturating_add(1);
            self.deliveries.insert(id, Delivery { webhook: index, event: event.clone(), request });
            self.schedule(id, 1, now);
        }
        Ok((event, out))
    }

    /// When the next pending attempt after `now` is due: what a caller waits for when
    /// everything due by `now` is handed out or waits for its webhook's attempt in flight.
    #[must_use]
    pub fn next_due_after(&self, now: u64) -> Option<u64> {
        self.pending.range((now.saturating_add(1), 0)..).next().map(|((due, _), _)| *due)
    }

    /// Whether anything is pending or in flight.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_empty()
    }

    /// Hands out the earliest attempt due at `now` whose webhook has no attempt in flight.
    pub fn poll(&mut self, now: u64) -> Option<(Attempt, Output)> {
        let key = self.ready.first().copied().filter(|(due, _)| *due <= now)?;
        let (delivery_id, attempt) = self.pending.remove(&key)?;
        let delivery = self.deliveries.get(&delivery_id)?;
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        let handed = Attempt {
            id,
            webhook: self.webhook_id(delivery.webhook),
            event: delivery.event.clone(),
            attempt,
            request: delivery.request.clone(),
        };
        let webhook = delivery.webhook;
        if let Some(w) = self.webhooks.get_mut(webhook) {
            w.busy = true;
            w.queue.remove(&key);
        }
        self.refresh(webhook);
        self.in_flight.insert(id, (delivery_id, attempt, now));
        let output = Output::Attempt {
            at: now,
            event: handed.event.clone(),
            webhook: handed.webhook.clone(),
            attempt,
        };
        Some((handed, output))
    }

    /// Reports how an attempt ended. A 2xx answer later than the policy's timeout counts as a
    /// timeout.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownAttempt`] for an attempt id that is not in flight.
    pub fn complete(&mut self, attempt_id: u64, outcome: &Outcome, now: u64) -> Result<Vec<Output>> {
        let (delivery_id, attempt, started) =
            self.in_flight.remove(&attempt_id).ok_or(Error::UnknownAttempt { id: attempt_id })?;
        let Some(index) = self.deliveries.get(&delivery_id).map(|d| d.webhook) else { return Ok(Vec::new()) };
        let out = self.finish(index, delivery_id, attempt, started, outcome, now);
        self.refresh(index);
        Ok(out)
    }

    /// The end of an attempt of a delivery to the webhook at `index`.
    fn finish(
        &mut self,
        index: usize,
        delivery_id: u64,
        attempt: u32,
        started: u64,
        outcome: &Outcome,
        now: u64,
    ) -> Vec<Output> {
        let Some(delivery) = self.deliveries.get(&delivery_id) else { return Vec::new() };
        let event = delivery.event.clone();
        let elapsed = now.saturating_sub(started);
        let (success, code, message) = match outcome {
            _ if Policy::is_late(elapsed, self.policy.timeout_ms) => {
                (false, None, format!("timeout after {} ms", self.policy.timeout_ms))
            }
            Outcome::Status { code, message } => {
                (Policy::is_success(*code), Some(code.to_string()), message.clone())
            }
            Outcome::Timeout => (false, None, format!("timeout after {} ms", self.policy.timeout_ms)),
            Outcome::Error { message } => (false, None, message.clone()),
        };
        let callback = self.callback(delivery_id, code.clone(), &message, now);
        let policy = &self.policy;
        let Some(webhook) = self.webhooks.get_mut(index) else { return Vec::new() };
        webhook.busy = false;
        if let Some(callback) = callback {
            webhook.callbacks.push_front(callback);
        }
        webhook.callbacks.truncate(policy.last_callbacks);
        let id = webhook.config.id.clone();
        let result = match &code {
            Some(code) if message.is_empty() => code.clone(),
            Some(code) => format!("{code} {message}"),
            None => message,
        };
        if success {
            webhook.failures = 0;
            webhook.notified = false;
        } else {
            webhook.failures = webhook.failures.saturating_add(1);
        }
        let failures = webhook.failures;
        let mut out = vec![Output::AttemptFinished {
            at: now,
            event: event.clone(),
            webhook: id.clone(),
            attempt,
            success,
            result,
            failure_count: failures,
        }];
        if success {
            out.push(Output::Delivered { at: now, event, webhook: id, attempts: attempt });
            self.deliveries.remove(&delivery_id);
            return out;
        }
        if failures >= policy.notice_after && !webhook.notified {
            webhook.notified = true;
            out.push(Output::Notice { at: now, webhook: id.clone(), failure_count: failures });
        }
        if failures >= policy.breaker_threshold && webhook.circuit != CircuitState::Open {
            webhook.circuit = CircuitState::Open;
            webhook.updated_at = now;
            out.push(Output::CircuitOpened { at: now, webhook: id.clone(), failure_count: failures });
            out.push(Output::Dropped { at: now, event, webhook: id, reason: DropReason::CircuitOpened });
            self.deliveries.remove(&delivery_id);
            self.drop_pending(index, DropReason::CircuitOpened, now, &mut out);
            return out;
        }
        let disabled = webhook.disabled_at.is_some();
        if disabled {
            out.push(Output::Dropped { at: now, event, webhook: id, reason: DropReason::WebhookDisabled });
            self.deliveries.remove(&delivery_id);
        } else if attempt <= policy.max_retries {
            let due = now.saturating_add(policy.backoff(attempt));
            out.push(Output::RetryScheduled {
                at: now,
                event,
                webhook: id,
                attempt: attempt.saturating_add(1),
                due,
            });
            self.schedule(delivery_id, attempt.saturating_add(1), due);
        } else {
            out.push(Output::Dropped { at: now, event, webhook: id, reason: DropReason::RetriesExhausted });
            self.deliveries.remove(&delivery_id);
        }
        out
    }

    fn callback(
        &mut self,
        delivery_id: u64,
        code: Option<String>,
        message: &str,
        now: u64,
    ) -> Option<EventCallback> {
        let id = format!("ecb_{}", self.next_callback);
        self.next_callback = self.next_callback.saturating_add(1);
        let delivery = self.deliveries.get(&delivery_id)?;
        let mut relationships = IndexMap::new();
        let webhook =
            Identifier { kind: "webhooks".into(), id: self.webhook_id(delivery.webhook), extra: Map::new() };
        relationships.insert(
            "webhook".to_owned(),
            Relationship { links: None, data: Some(Linkage::One(webhook)), meta: None, extra: Map::new() },
        );
        Some(EventCallback {
            id,
            kind: "event_callbacks".into(),
            links: None,
            attributes: EventCallbackAttributes {
                callback_url: delivery.request.url.clone(),
                // Parsed again from the body at each callback rather than held by every
                // pending delivery: a backlog costs its bodies, not a tree per delivery.
                payload: serde_json::from_slice(&delivery.request.body).ok(),
                response_code: code,
                response_message: Some(message.to_owned()),
                common: Common {
                    created_at: Some(iso8601(now)),
                    updated_at: Some(iso8601(now)),
                    metadata: Some(Map::new()),
                    ..Common::default()
                },
                extra: Map::new(),
            },
            relationships,
            meta: ResourceMeta::default(),
            extra: Map::new(),
        })
    }

    /// Applies a webhook update — `_disable`, `_enable`, `_reset_circuit` and attribute
    /// changes — through the model's [`WebhookUpdate`], so its rules hold here too.
    ///
    /// # Errors
    ///
    /// As [`WebhookUpdate::to_body`] ([`Error::ConflictingTriggers`],
    /// [`Error::ForbiddenForSalesChannel`]), [`Error::UnknownWebhook`].
    pub fn update(
        &mut self,
        update: &WebhookUpdate,
        credential: Credential,
        now: u64,
    ) -> Result<Vec<Output>> {
        let body = update.to_body(credential)?;
        let index = self.index(update.id())?;
        let attributes = body.pointer("/data/attributes").cloned().unwrap_or(Value::Null);
        let mut out = Vec::new();
        let mut disabled = false;
        let Some(webhook) = self.webhooks.get_mut(index) else { return Err(webhook_error(update.id())) };
        let id = webhook.config.id.clone();
        webhook.updated_at = now;
        if let Some(topic) = attributes.get("topic").and_then(Value::as_str) {
            webhook.config.topic = Topic::parse(topic)?;
        }
        if let Some(url) = attributes.get("callback_url").and_then(Value::as_str) {
            webhook.config.callback_url = url.to_owned();
        }
        if let Some(name) = attributes.get("name").and_then(Value::as_str) {
            webhook.config.name = Some(name.to_owned());
        }
        if let Some(paths) = attributes.get("include_resources").and_then(Value::as_array) {
            webhook.config.include_resources =
                paths.iter().filter_map(Value::as_str).map(str::to_owned).collect();
        }
        if update.disables() && webhook.disabled_at.is_none() {
            webhook.disabled_at = Some(now);
            out.push(Output::Disabled { at: now, webhook: id.clone() });
            disabled = true;
        }
        if update.enables() && webhook.disabled_at.is_some() {
            webhook.disabled_at = None;
            out.push(Output::Enabled { at: now, webhook: id.clone() });
        }
        if update.resets_circuit() {
            webhook.circuit = CircuitState::Closed;
            webhook.failures = 0;
            webhook.notified = false;
            out.push(Output::CircuitReset { at: now, webhook: id });
        }
        if disabled {
            self.drop_pending(index, DropReason::WebhookDisabled, now, &mut out);
        }
        Ok(out)
    }

    /// A webhook as Commerce Layer would return it: circuit state, failure count,
    /// `disabled_at`, and its most recent event callbacks as `last_event_callbacks`.
    #[must_use]
    pub fn webhook(&self, id: &str) -> Option<Webhook> {
        let w = self.webhooks.get(self.index(id).ok()?)?;
        let callbacks: Vec<Identifier> = w
            .callbacks
            .iter()
            .map(|c| Identifier { kind: "event_callbacks".into(), id: c.id.clone(), extra: Map::new() })
            .collect();
        let value = json!({
            "id": w.config.id,
            "type": "webhooks",
            "attributes": {
                "name": w.config.name,
                "topic": w.config.topic,
                "callback_url": w.config.callback_url,
                "include_resources": w.config.include_resources,
                "disabled_at": w.disabled_at.map(iso8601),
                "circuit_state": w.circuit,
                "circuit_failure_count": w.failures,
                "shared_secret": w.config.shared_secret,
                "created_at": iso8601(w.created_at),
                "updated_at": iso8601(w.updated_at),
                "reference": null,
                "reference_origin": null,
                "metadata": {},
            },
            "relationships": {
                "last_event_callbacks": Relationship {
                    links: None, data: Some(Linkage::Many(callbacks)), meta: None, extra: Map::new(),
                },
            },
            "meta": {"mode": "test"},
        });
        serde_json::from_value(value).ok()
    }

    /// A webhook's most recent event callbacks, newest first.
    #[must_use]
    pub fn last_event_callbacks(&self, id: &str) -> Vec<EventCallback> {
        self.index(id)
            .ok()
            .and_then(|i| self.webhooks.get(i))
            .map(|w| w.callbacks.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The ids of the webhooks, in the order they were added.
    #[must_use]
    pub fn webhook_ids(&self) -> Vec<String> {
        self.webhooks.iter().map(|w| w.config.id.clone()).collect()
    }
}
