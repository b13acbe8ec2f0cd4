//! Runs a scenario — webhooks, events over time, endpoint behaviour — through the [`Sender`]
//! on a virtual clock. The same scenario and seed always give the same report.
//!
//! # Budgets
//!
//! A scenario is a few hundred bytes that can ask for any amount of work, so every run is
//! bounded, whatever its numbers (`max_retries`, `breaker_threshold`, `count`, `every_ms`):
//!
//! - webhook ids of at most [`MAX_WEBHOOK_ID`] bytes; at most [`MAX_EVENTS`] events, and
//!   [`MAX_DELIVERIES`] deliveries (an event times the
//!   webhooks on its topic), holding at most [`MAX_PAYLOAD_BYTES`] in all (payloads, and
//!   [`DELIVERY_OVERHEAD`] each): refused
//!   up front with [`Error::InvalidScenario`];
//! - at most [`MAX_TIMELINE`] timeline entries, which also bounds the attempts (each one records
//!   two): a run that would record more stops with [`Error::SimulationLimit`], simulated or live.
//!
//! Events are made as they fall due, and the queue of pending attempts costs a logarithm per
//! attempt whatever the backlog, so time and memory grow with what the run records.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::driver::Driver;
use super::{Outcome, Output, Policy, Rng, Sender, WebhookConfig};
use crate::error::{Error, Result};
use crate::model::{validate_callback_url, Credential, Document, Webhook, WebhookUpdate};
use crate::topic::Topic;

/// The most events a scenario may publish.
pub const MAX_EVENTS: u64 = 1_000_000;
/// The most deliveries (an event times the webhooks on its topic) a scenario may start with.
pub const MAX_DELIVERIES: u64 = 1_000_000;
/// The most bytes those deliveries may hold in all (512 MiB), each its payload and
/// [`DELIVERY_OVERHEAD`].
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 29;
/// The longest webhook id a scenario may give (Commerce Layer's are ten characters): every
/// timeline entry about a webhook holds its id.
pub const MAX_WEBHOOK_ID: usize = 64;
/// What a delivery held in memory costs besides its payload and its callback URL, for
/// [`MAX_PAYLOAD_BYTES`].
pub const DELIVERY_OVERHEAD: u64 = 1 << 10;
/// The most timeline entries a run may record.
pub const MAX_TIMELINE: usize = 2_000_000;

/// 2026-01-01T00:00:00Z, the default start of a scenario's virtual clock.
pub const DEFAULT_START_MS: u64 = 1_767_225_600_000;

/// A simulation: webhooks, how their endpoints behave, and what happens when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Scenario {
    /// Seeds the random endpoint behaviour.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub seed: u64,
    /// The virtual clock's start (ms since the Unix epoch); event times are relative to it.
    #[serde(default = "default_start")]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub start_ms: u64,
    /// The delivery rules; Commerce Layer's by default.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "Partial<Policy>"))]
    pub policy: Policy,
    /// The webhooks.
    pub webhooks: Vec<WebhookConfig>,
    /// Endpoint behaviour by callback URL; an unlisted URL always answers 200.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "Record<string, Partial<Endpoint>>"))]
    pub endpoints: BTreeMap<String, Endpoint>,
    /// The events to publish.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "Array<EventSpec>"))]
    pub events: Vec<EventSpec>,
    /// Webhook updates (`_disable`, `_enable`, `_reset_circuit`) at given times.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "Array<Action>"))]
    pub actions: Vec<Action>,
    /// Imports running at given times: only the order status topics are delivered meanwhile.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "Array<Import>"))]
    pub imports: Vec<Import>,
}

/// An import: from `at_ms` (after the start) for `for_ms`, Commerce Layer mutes every webhook but
/// the order status topics' ([`IMPORT_TOPICS`](super::IMPORT_TOPICS)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Import {
    /// When it starts, ms after the start.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_ms: u64,
    /// How long it runs, ms.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub for_ms: u64,
}

fn default_start() -> u64 {
    DEFAULT_START_MS
}

fn default_latency() -> u64 {
    50
}

fn default_failure_status() -> u16 {
    500
}

fn one() -> u32 {
    1
}

/// What one call to an endpoint does: in JSON a status, `"timeout"` or `"error"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StepJson", into = "StepJson")]
pub enum Step {
    /// Answers with this HTTP status.
    Status(u16),
    /// Gives no answer: the call times out.
    Timeout,
    /// Refuses the connection.
    Error,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StepJson {
    Status(u16),
    Word(String),
}

impl TryFrom<StepJson> for Step {
    type Error = String;

    fn try_from(value: StepJson) -> std::result::Result<Step, String> {
        match value {
            StepJson::Status(code) => Ok(Step::Status(code)),
            StepJson::Word(word) if word == "timeout" => Ok(Step::Timeout),
            StepJson::Word(word) if word == "error" => Ok(Step::Error),
            StepJson::Word(word) => {
                Err(format!("unknown script step {word:?}: use a status, \"timeout\" or \"error\""))
            }
        }
    }
}

impl From<Step> for StepJson {
    fn from(step: Step) -> StepJson {
        match step {
            Step::Status(code) => StepJson::Status(code),
            Step::Timeout => StepJson::Word("timeout".into()),
            Step::Error => StepJson::Word("error".into()),
        }
    }
}

/// A time window, relative to the scenario's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Window {
    /// From (inclusive), ms.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub from_ms: u64,
    /// To (exclusive), ms.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub to_ms: u64,
}

/// How an endpoint answers: its script first, then seeded random failures and timeouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Endpoint {
    /// The answers to the first calls, in order.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "Array<number | 'timeout' | 'error'>"))]
    pub script: Vec<Step>,
    /// After the script: the share of calls that fail with `failure_status`.
    #[serde(default)]
    pub failure_rate: f64,
    /// After the script: the share of calls that time out.
    #[serde(default)]
    pub timeout_rate: f64,
    /// The status of a random failure.
    #[serde(default = "default_failure_status")]
    pub failure_status: u16,
    /// Windows in which connections are refused.
    #[serde(default)]
    pub outages: Vec<Window>,
    /// How long an answer takes, ms (over the policy's timeout, the call times out).
    #[serde(default = "default_latency")]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub latency_ms: u64,
    /// Up to this much more, at random.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub latency_jitter_ms: u64,
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint {
            script: Vec::new(),
            failure_rate: 0.0,
            timeout_rate: 0.0,
            failure_status: default_failure_status(),
            outages: Vec::new(),
            latency_ms: default_latency(),
            latency_jitter_ms: 0,
        }
    }
}

/// One or more events of a topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventSpec {
    /// When, ms after the start.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_ms: u64,
    /// The topic.
    #[cfg_attr(feature = "ts", ts(type = "Topic"))]
    pub topic: Topic,
    /// The JSON:API document; a minimal one of the topic's resource when absent.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "Document"))]
    pub payload: Option<Value>,
    /// How many such events.
    #[serde(default = "one")]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub count: u32,
    /// The time between them, ms.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub every_ms: u64,
}

/// A webhook update at a given time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Action {
    /// When, ms after the start.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_ms: u64,
    /// The webhook's id.
    pub webhook: String,
    /// `_disable: true`.
    #[serde(default, rename = "_disable")]
    #[cfg_attr(feature = "ts", ts(optional, type = "boolean"))]
    pub disable: bool,
    /// `_enable: true`.
    #[serde(default, rename = "_enable")]
    #[cfg_attr(feature = "ts", ts(optional, type = "boolean"))]
    pub enable: bool,
    /// `_reset_circuit: true`.
    #[serde(default, rename = "_reset_circuit")]
    #[cfg_attr(feature = "ts", ts(optional, type = "boolean"))]
    pub reset_circuit: bool,
    /// The credential the update is made with (`integration` by default).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "Credential"))]
    pub credential: Credential,
}

impl Action {
    /// The update this action makes, and the credential it is made with.
    #[must_use]
    pub fn to_update(&self) -> (WebhookUpdate, Credential) {
        let mut update = WebhookUpdate::new(self.webhook.clone());
        if self.disable {
            update = update.disable();
        }
        if self.enable {
            update = update.enable();
        }
        if self.reset_circuit {
            update = update.reset_circuit();
        }
        (update, self.credential)
    }
}

/// How one webhook fared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WebhookSummary {
    /// The webhook.
    pub id: String,
    /// Its final circuit state: `closed` or `open`.
    #[cfg_attr(feature = "ts", ts(type = "'closed' | 'open'"))]
    pub circuit_state: String,
    /// Its final failure count.
    pub circuit_failure_count: u32,
    /// Whether it ended disabled.
    pub disabled: bool,
    /// Calls made.
    pub attempts: u32,
    /// Calls that succeeded.
    pub successes: u32,
    /// Calls that failed.
    pub failures: u32,
    /// Events delivered.
    pub delivered: u32,
    /// Events dropped, by reason.
    #[cfg_attr(feature = "ts", ts(type = "Partial<Record<DropReason, number>>"))]
    pub dropped: BTreeMap<String, u32>,
    /// Owner notices sent.
    pub notices: u32,
    /// Times the circuit opened.
    pub circuit_opened: u32,
    /// Times the circuit was reset.
    pub circuit_resets: u32,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Report {
    /// The clock's start (ms since the Unix epoch).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub start_ms: u64,
    /// When the last thing happened.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub end_ms: u64,
    /// Events published.
    pub events: u32,
    /// Calls made.
    pub attempts: u32,
    /// Every decision, in order.
    pub timeline: Vec<Output>,
    /// Per webhook.
    pub summary: Vec<WebhookSummary>,
    /// The webhooks as Commerce Layer would return them at the end, without their shared secret.
    #[cfg_attr(feature = "ts", ts(type = "Array<ResourceObject<'webhooks'>>"))]
    pub webhooks: Vec<Webhook>,
}

/// Something a scenario makes happen at a given time.
#[derive(Debug, Clone, PartialEq)]
pub enum Scheduled {
    /// An event to publish.
    Publish(Topic, Box<Document>),
    /// A webhook update, with the credential it is made with.
    Update(WebhookUpdate, Credential),
}

/// One event spec's events: `count` of them from `at`, `every` ms apart.
#[derive(Debug)]
struct Stream {
    at: u64,
    every: u64,
    count: u32,
    topic: Topic,
    /// The spec's payload, or `None` for a default document per event.
    payload: Option<Document>,
    /// How many events the earlier specs have: numbers default documents.
    numbered_from: u64,
}

impl Stream {
    fn at(&self, i: u32) -> u64 {
        self.at.saturating_add(self.every.saturating_mul(u64::from(i)))
    }

    fn event(&self, i: u32) -> Result<Scheduled> {
        let document = match &self.payload {
            Some(document) => document.clone(),
            None => {
                let n = self.numbered_from.saturating_add(u64::from(i)).saturating_add(1);
                Document::from_value(default_document(&self.topic, n))?
            }
        };
        Ok(Scheduled::Publish(self.topic.clone(), Box::new(document)))
    }
}

/// A run's agenda, in order: what is scheduled when (events and webhook updates). Events are
/// made as they fall due, so a long scenario holds its specs, not a million documents.
#[derive(Debug, Default)]
pub struct Agenda {
    streams: Vec<Stream>,
    /// Each stream's next event: (time, stream, index), earliest first; a stream listed
    /// earlier goes first at the same time, as events go before updates.
    heap: BinaryHeap<Reverse<(u64, usize, u32)>>,
    items: VecDeque<(u64, Scheduled)>,
    /// Moves every time: (the first item's time, where it goes).
    shift: Option<(u64, u64)>,
}

impl From<Vec<(u64, Scheduled)>> for Agenda {
    /// An agenda of these items, in this order.
    fn from(items: Vec<(u64, Scheduled)>) -> Agenda {
        Agenda { items: items.into(), ..Agenda::default() }
    }
}

impl Agenda {
    fn unshifted(&self) -> Option<(u64, bool)> {
        let event = self.heap.peek().map(|Reverse((at, _, _))| *at);
        let item = self.items.front().map(|(at, _)| *at);
        match (event, item) {
            (Some(e), Some(i)) if i < e => Some((i, false)),
            (Some(e), _) => Some((e, true)),
            (None, Some(i)) => Some((i, false)),
            (None, None) => None,
        }
    }

    /// When the next item is due.
    #[must_use]
    pub fn next_at(&self) -> Option<u64> {
        let (at, _) = self.unshifted()?;
        Some(match self.shift {
            Some((first, to)) => to.saturating_add(at.saturating_sub(first)),
            None => at,
        })
    }

    /// Moves the agenda so that its first item is due at `now`.
    pub fn start_at(&mut self, now: u64) {
        let first = self.unshifted().map_or(now, |(at, _)| at);
        self.shift = Some((first, now));
    }

    /// The next item, if it is due by `now`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDocument`] if an event's default document could not be made.
    pub fn pop_due(&mut self, now: u64) -> Result<Option<Scheduled>> {
        let (Some(at), Some((_, event))) = (self.next_at(), self.unshifted()) else { return Ok(None) };
        if at > now {
            return Ok(None);
        }
        if !event {
            return Ok(self.items.pop_front().map(|(_, item)| item));
        }
        let Some(Reverse((_, index, i))) = self.heap.pop() else { return Ok(None) };
        let Some(stream) = self.streams.get(index) else { return Ok(None) };
        let next = i.saturating_add(1);
        if next < stream.count {
            self.heap.push(Reverse((stream.at(next), index, next)));
        }
        stream.event(i).map(Some)
    }

    /// Whether nothing is left.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.items.is_empty()
    }
}

struct Endpoints {
    specs: BTreeMap<String, Endpoint>,
    calls: BTreeMap<String, usize>,
    rng: Rng,
    start: u64,
    timeout: u64,
}

impl Endpoints {
    /// How a call to `url` made at `now` ends, and when.
    fn answer(&mut self, url: &str, now: u64) -> (u64, Outcome) {
        let fallback = Endpoint::default();
        let spec = self.specs.get(url).unwrap_or(&fallback);
        let call = self.calls.entry(url.to_owned()).or_insert(0);
        let index = *call;
        *call = call.saturating_add(1);
        let latency =
            spec.latency_ms.saturating_add(self.rng.below(spec.latency_jitter_ms.saturating_add(1)));
        let roll = self.rng.unit();
        let offset = now.saturating_sub(self.start);
        let timeout = (now.saturating_add(self.timeout), Outcome::Timeout);
        let refused = (now.saturating_add(1), Outcome::Error { message: "connection refused".into() });
        if spec.outages.iter().any(|w| (w.from_ms..w.to_ms).contains(&offset)) {
            return refused;
        }
        let status = |code: u16| Outcome::Status { code, message: reason(code).into() };
        let outcome = match spec.script.get(index) {
            Some(Step::Status(code)) => status(*code),
            Some(Step::Timeout) => return timeout,
            Some(Step::Error) => return refused,
            None if roll < spec.timeout_rate => return timeout,
            None if roll < spec.timeout_rate + spec.failure_rate => status(spec.failure_status),
            None => status(200),
        };
        if latency > self.timeout {
            timeout
        } else {
            (now.saturating_add(latency), outcome)
        }
    }
}

/// The reason phrase of common statuses.
fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Where `--target` (or JS `target`) sends deliveries: `URL` for every callback URL, or
/// `HOST=URL` for the callback URLs on that host (`HOST` may carry a port, or be written as a
/// URL; hosts compare without regard to case). The path of each callback URL is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    host: Option<String>,
    origin: String,
}

/// The scheme, host and port of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i.saturating_add(3));
    let end = url
        .get(after_scheme..)
        .and_then(|rest| rest.find(['/', '?', '#']))
        .map_or(url.len(), |i| after_scheme.saturating_add(i));
    url.get(..end).unwrap_or(url)
}

/// The host and port of a URL (or of a bare `host[:port]`), lowercase.
fn authority(url: &str) -> String {
    let own = origin(url);
    own.split_once("://").map_or(own, |(_, rest)| rest).to_ascii_lowercase()
}

/// Whether a callback URL's authority is on `host`: the same host and, when `host` names a
/// port, the same port.
fn on_host(callback_authority: &str, host: &str) -> bool {
    if callback_authority == host {
        return true;
    }
    let has_port = |a: &str| {
        a.rsplit_once(':').is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let without_port = |a: &str| {
        if has_port(a) {
            a.rsplit_once(':').map_or(a, |(h, _)| h).to_owned()
        } else {
            a.to_owned()
        }
    };
    !has_port(host) && without_port(callback_authority) == host
}

impl Target {
    /// Reads `URL` or `HOST=URL`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCallbackUrl`] when the URL is not an absolute http(s) URL, or `HOST` is
    /// empty.
    pub fn parse(text: &str) -> Result<Target> {
        // `HOST=URL`: the `=` that comes before the URL's scheme.
        let split = text.find("=http://").or_else(|| text.find("=https://"));
        let (host, url) = match split {
            Some(at) => (
                Some(authority(text.get(..at).unwrap_or_default())),
                text.get(at.saturating_add(1)..).unwrap_or_default(),
            ),
            None => (None, text),
        };
        if host.as_deref().is_some_and(str::is_empty) {
            return Err(Error::InvalidCallbackUrl { url: text.to_owned() });
        }
        validate_callback_url(url)?;
        Ok(Target { host, origin: origin(url).to_owned() })
    }

    /// The URL a delivery for `url` goes to under these targets (the first that applies).
    #[must_use]
    pub fn apply(targets: &[Target], url: &str) -> String {
        let own = origin(url);
        let callback = authority(url);
        let chosen = targets.iter().find(|t| t.host.as_deref().is_none_or(|h| on_host(&callback, h)));
        match chosen {
            Some(target) => format!("{}{}", target.origin, url.get(own.len()..).unwrap_or_default()),
            None => url.to_owned(),
        }
    }
}

impl Scenario {
    /// Reads a scenario from JSON.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidScenario`], saying what and where.
    pub fn from_json(text: &str) -> Result<Scenario> {
        serde_json::from_str(text).map_err(|e| Error::InvalidScenario { message: e.to_string() })
    }

    /// Sends every webhook's deliveries where `targets` say ([`Target::apply`]).
    pub fn retarget(&mut self, targets: &[Target]) {
        for webhook in &mut self.webhooks {
            webhook.callback_url = Target::apply(targets, &webhook.callback_url);
        }
    }

    /// A sender with the scenario's policy and webhooks, created at its start.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidScenario`], and as [`Sender::add_webhook`].
    pub fn sender(&self) -> Result<Sender> {
        self.check()?;
        let mut sender = Sender::new(self.policy.clone());
        for webhook in &self.webhooks {
            sender.add_webhook(webhook.clone(), self.start_ms)?;
        }
        for import in &self.imports {
            let start = self.start_ms.saturating_add(import.at_ms);
            sender.add_import(start, start.saturating_add(import.for_ms));
        }
        Ok(sender)
    }

    /// What happens when (absolute ms), in order: the events, each `count` times, and the
    /// webhook updates. Each event's document is made when it is due, so a run holds what is
    /// under way, not every event it will publish.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDocument`] for a payload that is not a document,
    /// [`Error::TopicMismatch`] for a payload about another resource than its topic, and
    /// as [`WebhookUpdate::check`].
    pub fn agenda(&self) -> Result<Agenda> {
        let mut streams = Vec::with_capacity(self.events.len());
        let mut numbered = 0u64;
        for spec in &self.events {
            let payload = match &spec.payload {
                Some(value) => {
                    let document = Document::from_value(value.clone())?;
                    crate::payload::check_topic(&spec.topic, &document)?;
                    Some(document)
                }
                None => None,
            };
            streams.push(Stream {
                at: self.start_ms.saturating_add(spec.at_ms),
                every: spec.every_ms,
                count: spec.count,
                topic: spec.topic.clone(),
                payload,
                numbered_from: numbered,
            });
            numbered = numbered.saturating_add(u64::from(spec.count));
        }
        let mut items = Vec::with_capacity(self.actions.len());
        for action in &self.actions {
            let (update, credential) = action.to_update();
            update.check(credential)?;
            items.push((self.start_ms.saturating_add(action.at_ms), Scheduled::Update(update, credential)));
        }
        items.sort_by_key(|(at, _)| *at);
        let heap = streams
            .iter()
            .enumerate()
            .filter(|(_, s)| s.count > 0)
            .map(|(index, s)| Reverse((s.at, index, 0)))
            .collect();
        Ok(Agenda { streams, heap, items: items.into(), shift: None })
    }

    fn check(&self) -> Result<()> {
        let invalid = |message: String| Err(Error::InvalidScenario { message });
        for (url, endpoint) in &self.endpoints {
            let rates = [endpoint.failure_rate, endpoint.timeout_rate];
            if rates.iter().any(|r| !(0.0..=1.0).contains(r)) || rates.iter().sum::<f64>() > 1.0 {
                return invalid(format!("{url}: failure_rate and timeout_rate are shares between 0 and 1"));
            }
        }
        let events: u64 = self.events.iter().map(|e| u64::from(e.count)).sum();
        if events > MAX_EVENTS {
            return invalid(format!("{events} events; at most {MAX_EVENTS}"));
        }
        // Every timeline entry about a webhook holds its id: a long one would multiply the budget.
        if let Some(webhook) = self.webhooks.iter().find(|w| w.id.len() > MAX_WEBHOOK_ID) {
            return invalid(format!(
                "webhook id {}… is {} bytes; at most {MAX_WEBHOOK_ID}",
                webhook.id.chars().take(16).collect::<String>(),
                webhook.id.len()
            ));
        }
        let (mut deliveries, mut bytes) = (0u64, 0u64);
        for spec in &self.events {
            let matching = self.webhooks.iter().filter(|w| w.topic == spec.topic);
            // Each delivery holds its callback URL too.
            let urls = matching.clone().map(|w| w.callback_url.len() as u64).max().unwrap_or(0);
            let webhooks = matching.count() as u64;
            let count = u64::from(spec.count).saturating_mul(webhooks);
            // A default document is about 150 bytes; a delivery held in memory costs about a KiB
            // more (its request, its place in the queues).
            let size =
                spec.payload.as_ref().map_or(150, |p| serde_json::to_vec(p).map_or(0, |v| v.len() as u64));
            let size = size.saturating_add(DELIVERY_OVERHEAD).saturating_add(urls);
            deliveries = deliveries.saturating_add(count);
            bytes = bytes.saturating_add(count.saturating_mul(size));
        }
        if deliveries > MAX_DELIVERIES {
            return invalid(format!(
                "{deliveries} deliveries (events times the webhooks on their topics); at most {MAX_DELIVERIES}"
            ));
        }
        if bytes > MAX_PAYLOAD_BYTES {
            return invalid(format!(
                "the deliveries would hold {} MiB (payloads, and 1 KiB each); at most {} MiB",
                bytes >> 20,
                MAX_PAYLOAD_BYTES >> 20
            ));
        }
        Ok(())
    }
}

fn default_document(topic: &Topic, n: u64) -> Value {
    json!({"data": {"id": format!("{}_{n}", topic.resource()), "type": topic.resource(), "attributes": {},
                    "meta": {"mode": "test"}}})
}

/// Runs a scenario to the end on a virtual clock: the scenario's endpoints answer each call the
/// [`Driver`] hands out, and the clock jumps to the next thing that happens.
///
/// # Errors
///
/// [`Error::InvalidScenario`] for an invalid scenario, and the errors of
/// [`Sender::add_webhook`], [`Sender::publish`] and [`Sender::update`] (a webhook without a
/// valid URL, a payload about another resource than its topic, `_reset_circuit` from a
/// sales channel...).
pub fn simulate(scenario: &Scenario) -> Result<Report> {
    let start = scenario.start_ms;
    let mut driver = Driver::simulated(scenario)?;
    let mut endpoints = Endpoints {
        specs: scenario.endpoints.clone(),
        calls: BTreeMap::new(),
        rng: Rng::new(scenario.seed),
        start,
        timeout: scenario.policy.timeout_ms,
    };
    let mut answers: BTreeMap<(u64, u64), Outcome> = BTreeMap::new();
    let mut now = start;
    loop {
        while let Some(entry) = answers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let id = entry.key().1;
            let outcome = entry.remove();
            driver.complete(id, &outcome, now)?;
        }
        for call in driver.poll(now)?.calls {
            let (done, outcome) = endpoints.answer(&call.request.url, now);
            answers.insert((done, call.id), outcome);
        }
        let next =
            [answers.keys().next().map(|(done, _)| *done), driver.next_wake(now)].into_iter().flatten().min();
        match next {
            Some(t) => now = t,
            None => break,
        }
    }
    Ok(driver.into_report(now))
}

impl Scheduled {
    /// Makes it happen.
    ///
    /// # Errors
    ///
    /// As [`Sender::publish`] and [`Sender::update`].
    pub(crate) fn apply(&self, sender: &mut Sender, now: u64) -> Result<Vec<Output>> {
        match self {
            Scheduled::Publish(topic, document) => Ok(sender.publish(topic, document, now)?.1),
            Scheduled::Update(update, credential) => sender.update(update, *credential, now),
        }
    }
}

/// The report of a run (simulated or live) from its timeline.
#[must_use]
pub(crate) fn report(sender: &Sender, timeline: Vec<Output>, start_ms: u64, end_ms: u64) -> Report {
    let count =
        |f: fn(&Output) -> bool| u32::try_from(timeline.iter().filter(|o| f(o)).count()).unwrap_or(u32::MAX);
    let events = count(|o| matches!(o, Output::Published { .. }));
    let attempts = count(|o| matches!(o, Output::Attempt { .. }));
    let summary = summarize(sender, &timeline);
    let webhooks = sender
        .webhook_ids()
        .iter()
        .filter_map(|id| sender.webhook(id))
        .map(|mut webhook| {
            webhook.attributes.shared_secret = None;
            webhook
        })
        .collect();
    Report { start_ms, end_ms, events, attempts, timeline, summary, webhooks }
}

fn summarize(sender: &Sender, timeline: &[Output]) -> Vec<WebhookSummary> {
    let mut out: Vec<WebhookSummary> = sender
        .webhook_ids()
        .into_iter()
        .map(|id| {
            let state = sender.webhook(&id);
            WebhookSummary {
                circuit_state: state
                    .as_ref()
                    .map(|w| w.attributes.circuit_state.to_string())
                    .unwrap_or_default(),
                circuit_failure_count: state.as_ref().map_or(0, |w| w.attributes.circuit_failure_count),
                disabled: state.as_ref().is_some_and(|w| !w.is_enabled()),
                id,
                ..WebhookSummary::default()
            }
        })
        .collect();
    for output in timeline {
        let (webhook, apply): (&str, fn(&mut WebhookSummary, &Output)) = match output {
            Output::AttemptFinished { webhook, .. } => (webhook, |s, o| {
                s.attempts += 1;
                if matches!(o, Output::AttemptFinished { success: true, .. }) {
                    s.successes += 1;
                } else {
                    s.failures += 1;
                }
            }),
            Output::Delivered { webhook, .. } => (webhook, |s, _| s.delivered += 1),
            Output::Dropped { webhook, .. } => (webhook, |s, o| {
                if let Output::Dropped { reason, .. } = o {
                    *s.dropped.entry(reason.as_str().to_owned()).or_insert(0) += 1;
                }
            }),
            Output::Notice { webhook, .. } => (webhook, |s, _| s.notices += 1),
            Output::CircuitOpened { webhook, .. } => (webhook, |s, _| s.circuit_opened += 1),
            Output::CircuitReset { webhook, .. } => (webhook, |s, _| s.circuit_resets += 1),
            _ => continue,
        };
        if let Some(summary) = out.iter_mut().find(|s| s.id == webhook) {
            apply(summary, output);
        }
    }
    out
}
