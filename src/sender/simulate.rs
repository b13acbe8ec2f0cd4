//! Runs a scenario — webhooks, events over time, endpoint behaviour — through the [`Sender`]
//! on a virtual clock. The same scenario and seed always give the same report.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Attempt, Outcome, Output, Policy, Rng, Sender, WebhookConfig};
use crate::error::{Error, Result};
use crate::model::{Credential, Document, Webhook, WebhookUpdate};
use crate::topic::Topic;

/// 2026-01-01T00:00:00Z, the default start of a scenario's virtual clock.
pub const DEFAULT_START_MS: u64 = 1_767_225_600_000;

/// A simulation: webhooks, how their endpoints behave, and what happens when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Seeds the random endpoint behaviour.
    #[serde(default)]
    pub seed: u64,
    /// The virtual clock's start (ms since the Unix epoch); event times are relative to it.
    #[serde(default = "default_start")]
    pub start_ms: u64,
    /// The delivery rules; Commerce Layer's by default.
    #[serde(default)]
    pub policy: Policy,
    /// The webhooks.
    pub webhooks: Vec<WebhookConfig>,
    /// Endpoint behaviour by callback URL; an unlisted URL always answers 200.
    #[serde(default)]
    pub endpoints: BTreeMap<String, Endpoint>,
    /// The events to publish.
    #[serde(default)]
    pub events: Vec<EventSpec>,
    /// Webhook updates (`_disable`, `_enable`, `_reset_circuit`) at given times.
    #[serde(default)]
    pub actions: Vec<Action>,
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

/// What one call to an endpoint does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Step {
    /// Answers with this HTTP status.
    Status(u16),
    /// `"timeout"` (no answer) or `"error"` (connection refused).
    Word(String),
}

/// A time window, relative to the scenario's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// From (inclusive), ms.
    pub from_ms: u64,
    /// To (exclusive), ms.
    pub to_ms: u64,
}

/// How an endpoint answers: its script first, then seeded random failures and timeouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// The answers to the first calls, in order.
    #[serde(default)]
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
    pub latency_ms: u64,
    /// Up to this much more, at random.
    #[serde(default)]
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
pub struct EventSpec {
    /// When, ms after the start.
    pub at_ms: u64,
    /// The topic.
    pub topic: Topic,
    /// The JSON:API document; a minimal one of the topic's resource when absent.
    #[serde(default)]
    pub payload: Option<Value>,
    /// How many such events.
    #[serde(default = "one")]
    pub count: u32,
    /// The time between them, ms.
    #[serde(default)]
    pub every_ms: u64,
}

/// A webhook update at a given time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// When, ms after the start.
    pub at_ms: u64,
    /// The webhook's id.
    pub webhook: String,
    /// `_disable: true`.
    #[serde(default, rename = "_disable")]
    pub disable: bool,
    /// `_enable: true`.
    #[serde(default, rename = "_enable")]
    pub enable: bool,
    /// `_reset_circuit: true`.
    #[serde(default, rename = "_reset_circuit")]
    pub reset_circuit: bool,
    /// `integration` (default), `sales_channel` or `webapp`.
    #[serde(default)]
    pub credential: Option<String>,
}

impl Action {
    /// The update this action makes, and the credential it is made with.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidScenario`] for an unknown credential.
    pub fn to_update(&self) -> Result<(WebhookUpdate, Credential)> {
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
        let credential = match self.credential.as_deref() {
            None | Some("integration") => Credential::Integration,
            Some("sales_channel") => Credential::SalesChannel,
            Some("webapp") => Credential::Webapp,
            Some(other) => {
                return Err(Error::InvalidScenario { message: format!("unknown credential {other:?}") })
            }
        };
        Ok((update, credential))
    }
}

/// How one webhook fared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSummary {
    /// The webhook.
    pub id: String,
    /// Its final circuit state.
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
pub struct Report {
    /// The virtual clock's start.
    pub start_ms: u64,
    /// When the last thing happened.
    pub end_ms: u64,
    /// Events published.
    pub events: u32,
    /// Calls made.
    pub attempts: u32,
    /// Every decision, in order.
    pub timeline: Vec<Output>,
    /// Per webhook.
    pub summary: Vec<WebhookSummary>,
    /// The webhooks as Commerce Layer would return them at the end.
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

struct Endpoints {
    specs: BTreeMap<String, Endpoint>,
    calls: BTreeMap<String, usize>,
    rng: Rng,
    start: u64,
    timeout: u64,
}

impl Endpoints {
    /// How an attempt made at `now` ends, and when.
    fn answer(&mut self, attempt: &Attempt, now: u64) -> (u64, Outcome) {
        let url = &attempt.request.url;
        let fallback = Endpoint::default();
        let spec = self.specs.get(url).unwrap_or(&fallback);
        let call = self.calls.entry(url.clone()).or_insert(0);
        let index = *call;
        *call = call.saturating_add(1);
        let latency =
            spec.latency_ms.saturating_add(self.rng.below(spec.latency_jitter_ms.saturating_add(1)));
        let roll = self.rng.unit();
        let offset = now.saturating_sub(self.start);
        let timeout = (now.saturating_add(self.timeout), Outcome::Timeout);
        if spec.outages.iter().any(|w| (w.from_ms..w.to_ms).contains(&offset)) {
            return (now.saturating_add(1), Outcome::Error { message: "connection refused".into() });
        }
        let status = |code: u16| Outcome::Status { code, message: reason(code).into() };
        let outcome = match spec.script.get(index) {
            Some(Step::Status(code)) => status(*code),
            Some(Step::Word(word)) if word == "timeout" => return timeout,
            Some(Step::Word(_)) => {
                return (now.saturating_add(1), Outcome::Error { message: "connection refused".into() })
            }
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
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
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
        Ok(sender)
    }

    /// What happens when (absolute ms), in order: the events, each `count` times, and the
    /// webhook updates.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDocument`] for a payload that is not a document,
    /// [`Error::InvalidScenario`] for an unknown credential.
    pub fn agenda(&self) -> Result<Vec<(u64, Scheduled)>> {
        let mut agenda: Vec<(u64, usize, Scheduled)> = Vec::new();
        let mut generated = 0u64;
        for spec in &self.events {
            for i in 0..spec.count {
                generated += 1;
                let payload =
                    spec.payload.clone().unwrap_or_else(|| default_document(&spec.topic, generated));
                let document = Document::from_value(payload)?;
                crate::payload::check_topic(&spec.topic, &document)?;
                let at = self
                    .start_ms
                    .saturating_add(spec.at_ms)
                    .saturating_add(spec.every_ms.saturating_mul(u64::from(i)));
                agenda.push((at, agenda.len(), Scheduled::Publish(spec.topic.clone(), Box::new(document))));
            }
        }
        for action in &self.actions {
            let (update, credential) = action.to_update()?;
            update.check(credential)?;
            agenda.push((
                self.start_ms.saturating_add(action.at_ms),
                agenda.len(),
                Scheduled::Update(update, credential),
            ));
        }
        agenda.sort_by_key(|(at, seq, _)| (*at, *seq));
        Ok(agenda.into_iter().map(|(at, _, item)| (at, item)).collect())
    }

    fn check(&self) -> Result<()> {
        let invalid = |message: String| Err(Error::InvalidScenario { message });
        for step in self.endpoints.values().flat_map(|e| &e.script) {
            if let Step::Word(word) = step {
                if word != "timeout" && word != "error" {
                    return invalid(format!(
                        "unknown script step {word:?}: use a status, \"timeout\" or \"error\""
                    ));
                }
            }
        }
        for (url, endpoint) in &self.endpoints {
            let rates = [endpoint.failure_rate, endpoint.timeout_rate];
            if rates.iter().any(|r| !(0.0..=1.0).contains(r)) || rates.iter().sum::<f64>() > 1.0 {
                return invalid(format!("{url}: failure_rate and timeout_rate are shares between 0 and 1"));
            }
        }
        let events: u64 = self.events.iter().map(|e| u64::from(e.count)).sum();
        if events > 1_000_000 {
            return invalid(format!("{events} events; at most 1,000,000"));
        }
        Ok(())
    }
}

fn default_document(topic: &Topic, n: u64) -> Value {
    json!({"data": {"id": format!("{}_{n}", topic.resource()), "type": topic.resource(), "attributes": {},
                    "meta": {"mode": "test"}}})
}

/// Runs a scenario to the end: until nothing is pending and nothing is left to happen.
///
/// # Errors
///
/// [`Error::InvalidScenario`] for an invalid scenario, and the errors of
/// [`Sender::add_webhook`], [`Sender::publish`] and [`Sender::update`] (a webhook without a
/// valid URL, a payload about another resource than its topic, `_reset_circuit` from a
/// sales channel...).
pub fn simulate(scenario: &Scenario) -> Result<Report> {
    let start = scenario.start_ms;
    let mut sender = scenario.sender()?;
    let mut agenda: VecDeque<(u64, Scheduled)> = scenario.agenda()?.into();
    let mut endpoints = Endpoints {
        specs: scenario.endpoints.clone(),
        calls: BTreeMap::new(),
        rng: Rng::new(scenario.seed),
        start,
        timeout: scenario.policy.timeout_ms,
    };
    let mut in_flight: BTreeMap<(u64, u64), (u64, Outcome)> = BTreeMap::new();
    let mut timeline = Vec::new();
    let mut now = start;
    loop {
        while let Some(entry) = in_flight.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (id, outcome) = entry.remove();
            timeline.extend(sender.complete(id, &outcome, now)?);
        }
        while agenda.front().is_some_and(|(at, _)| *at <= now) {
            let Some((_, item)) = agenda.pop_front() else { break };
            timeline.extend(item.apply(&mut sender, now)?);
        }
        while let Some((attempt, output)) = sender.poll(now) {
            timeline.push(output);
            let (done, outcome) = endpoints.answer(&attempt, now);
            in_flight.insert((done, attempt.id), (attempt.id, outcome));
        }
        let next = [
            in_flight.keys().next().map(|(done, _)| *done),
            agenda.front().map(|(at, _)| *at),
            sender.next_due_after(now),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) => now = t,
            None => break,
        }
    }
    Ok(report(&sender, timeline, start, now))
}

impl Scheduled {
    /// Makes it happen.
    ///
    /// # Errors
    ///
    /// As [`Sender::publish`] and [`Sender::update`].
    pub fn apply(&self, sender: &mut Sender, now: u64) -> Result<Vec<Output>> {
        match self {
            Scheduled::Publish(topic, document) => Ok(sender.publish(topic, document, now)?.1),
            Scheduled::Update(update, credential) => sender.update(update, *credential, now),
        }
    }
}

/// The report of a run (simulated or live) from its timeline.
#[must_use]
pub fn report(sender: &Sender, timeline: Vec<Output>, start_ms: u64, end_ms: u64) -> Report {
    let count =
        |f: fn(&Output) -> bool| u32::try_from(timeline.iter().filter(|o| f(o)).count()).unwrap_or(u32::MAX);
    let events = count(|o| matches!(o, Output::Published { .. }));
    let attempts = count(|o| matches!(o, Output::Attempt { .. }));
    let summary = summarize(sender, &timeline);
    let webhooks = sender.webhook_ids().iter().filter_map(|id| sender.webhook(id)).collect();
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
