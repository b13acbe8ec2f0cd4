//! A receiver's health as Commerce Layer judges it: over time, not per request.
//!
//! Commerce Layer counts a delivery attempt as failed when the answer is not a 2xx, or comes
//! later than its 5 s deadline; it notifies the organization's owner after 5 consecutive failed
//! attempts and opens the webhook's circuit after 30, retries included, then sends nothing more
//! until someone resets it. Those rules are the [sender's](crate::sender::Policy): [`Rules`]
//! takes them from there. A receiver counts the same way, per webhook, so it can warn before
//! or as Commerce Layer acts ([`Signal`]) and report its counters ([`Report`]) to a probe.
//!
//! **A lower bound.** Attempts that never reached the receiver (it was down, DNS, the network)
//! are invisible to it: its streak is at most Commerce Layer's.
//!
//! **What counts.** Every answer to a verified delivery (a [`Webhook`] of a topic), in-flight
//! 409s and 503s included: Commerce Layer counts them. A run of signature mismatches is its own
//! streak ([`Webhook::unverified`]), labelled with the topic the request claims (that header is
//! not signed): its usual cause is a rotated or wrong secret, while Commerce Layer counts those
//! attempts as failures of the webhook. Other refusals (a missing signature, a body too large)
//! do not come from Commerce Layer and are not counted.
//!
//! **The circuit, estimated.** The streak reaching the breaker threshold opens it. Commerce
//! Layer sends nothing while it is open, so a delivery that *arrives* after that moment means
//! someone reset it: a failure then starts a new streak, a success ends the old one.
//!
//! The counters are data ([`Tally`]) and one rule ([`Tally::count`]); [`Health`] keeps them in
//! memory for one process. Stores shared by many instances keep the same data and apply the
//! same rule.

use serde::{Deserialize, Serialize};

use crate::receiver::{push_json_string, Answer};
use crate::sender::Policy;

/// The failure streak's thresholds and the deadline, as Commerce Layer applies them: taken from
/// a sender [`Policy`] (the documented defaults unless the sender is set otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Consecutive failed attempts after which the owner is notified (5).
    pub notice_after: u32,
    /// Consecutive failed attempts that open the circuit (30).
    pub breaker_threshold: u32,
    /// How long Commerce Layer waits for an answer, in ms (5 s): a later one is a failure.
    pub deadline_ms: u64,
}

impl From<&Policy> for Rules {
    fn from(policy: &Policy) -> Rules {
        Rules {
            notice_after: policy.notice_after,
            breaker_threshold: policy.breaker_threshold,
            deadline_ms: policy.timeout_ms,
        }
    }
}

impl Default for Rules {
    fn default() -> Rules {
        Rules::from(&Policy::default())
    }
}

impl Rules {
    /// Whether Commerce Layer counts an answer with `status`, given `latency_ms` after the
    /// request arrived, as a failed attempt: not a 2xx, or too late.
    #[must_use]
    pub fn failed(&self, status: u16, latency_ms: u64) -> bool {
        !Policy::is_success(status) || Policy::is_late(latency_ms, self.deadline_ms)
    }

    /// The estimated circuit of a streak this long.
    #[must_use]
    pub fn circuit(&self, streak: u32) -> Circuit {
        if streak >= self.breaker_threshold && self.breaker_threshold > 0 {
            Circuit::Open
        } else if streak >= self.notice_after && self.notice_after > 0 {
            Circuit::Notice
        } else {
            Circuit::Closed
        }
    }
}

/// What Commerce Layer has done about a webhook, estimated from its streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Circuit {
    /// Fewer failures than the notice.
    Closed,
    /// The owner has been notified (5 or more); the circuit is still closed.
    Notice,
    /// The circuit is open (30): Commerce Layer sends nothing more until it is reset.
    Open,
}

impl Circuit {
    /// `closed`, `notice` or `open`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Circuit::Closed => "closed",
            Circuit::Notice => "notice",
            Circuit::Open => "open",
        }
    }
}

/// Whose attempts a streak counts: a webhook (a topic, and which secret where several are
/// configured), or the signature mismatches claiming a topic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Webhook {
    /// The topic (of an unverified request: the one it claims, or `unknown` when that is no
    /// topic of the catalogue).
    pub topic: String,
    /// The fingerprint of the secret that verified it, where several are configured
    /// ([`crate::Verifier::fingerprint`]): each secret is a webhook of its own, as on Commerce
    /// Layer's side. Never the secret itself.
    pub secret: Option<String>,
    /// Whether the attempts are verified deliveries.
    pub verified: bool,
}

/// The label of a topic none of the catalogue's: the topic header is not signed (a captured
/// delivery can be replayed under any topic of its resource), so streaks and metrics name only
/// the catalogue's topics, and count the rest together.
pub const UNKNOWN_TOPIC: &str = "unknown";

/// A topic as streaks, metrics and logs name it: the catalogue's, or [`UNKNOWN_TOPIC`].
#[must_use]
pub fn label(topic: Option<&str>) -> &str {
    topic.map(str::trim).filter(|t| crate::catalogue::is_known(t)).unwrap_or(UNKNOWN_TOPIC)
}

impl Webhook {
    /// The webhook of a verified delivery of `topic`.
    #[must_use]
    pub fn verified(topic: &str, secret: Option<&str>) -> Webhook {
        Webhook { topic: label(Some(topic)).to_owned(), secret: secret.map(str::to_owned), verified: true }
    }

    /// The streak of signature mismatches claiming `topic` (the header's value, unverified).
    #[must_use]
    pub fn unverified(topic: Option<&str>) -> Webhook {
        Webhook { topic: label(topic).to_owned(), secret: None, verified: false }
    }

    /// A key naming it in a store: `v:<topic>` (`v:<topic>#<secret>`) or `u:<topic>`.
    #[must_use]
    pub fn key(&self) -> String {
        let kind = if self.verified { "v" } else { "u" };
        match &self.secret {
            Some(secret) => format!("{kind}:{}#{secret}", self.topic),
            None => format!("{kind}:{}", self.topic),
        }
    }

    /// The webhook a [`Webhook::key`] names.
    #[must_use]
    pub fn from_key(key: &str) -> Option<Webhook> {
        let (kind, rest) = key.split_once(':')?;
        let verified = match kind {
            "v" => true,
            "u" => false,
            _ => return None,
        };
        let (topic, secret) = match rest.split_once('#') {
            Some((topic, secret)) => {
                let fingerprint =
                    !secret.is_empty() && secret.len() <= 64 && secret.bytes().all(|b| b.is_ascii_hexdigit());
                (topic, Some(fingerprint.then(|| secret.to_owned())?))
            }
            None => (rest, None),
        };
        Some(Webhook { topic: topic.to_owned(), secret, verified })
    }
}

/// One answer a receiver gave, to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The answer's status.
    pub status: u16,
    /// Its code (`handler_failed`, `in_flight`, ...) when it refused; `None` for a 2xx.
    pub code: Option<String>,
    /// When the answer was handed to the runtime, in ms since the Unix epoch.
    pub at_ms: u64,
    /// How long after the request arrived, in ms (from the earliest moment the receiver saw it).
    pub latency_ms: u64,
}

impl Attempt {
    /// The attempt that `answer` was, handed over at `at_ms`, `latency_ms` after its request
    /// arrived.
    #[must_use]
    pub fn of(answer: &Answer, at_ms: u64, latency_ms: u64) -> Attempt {
        Attempt { status: answer.status, code: answer.code().map(str::to_owned), at_ms, latency_ms }
    }

    /// When its request arrived.
    #[must_use]
    pub fn arrived_ms(&self) -> u64 {
        self.at_ms.saturating_sub(self.latency_ms)
    }

    /// Why Commerce Layer counts it as failed under `rules`, or `None` when it succeeded: the
    /// answer's code (or `http_<status>`), or `late` for a 2xx past the deadline.
    #[must_use]
    pub fn failure(&self, rules: &Rules) -> Option<String> {
        if !rules.failed(self.status, self.latency_ms) {
            return None;
        }
        Some(if Policy::is_success(self.status) {
            "late".to_owned()
        } else {
            self.code.clone().unwrap_or_else(|| format!("http_{}", self.status))
        })
    }
}

/// A failed attempt remembered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Why: the answer's code, `http_<status>`, or `late`.
    pub reason: String,
    /// The status answered.
    pub status: u16,
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
}

/// One webhook's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tally {
    /// Consecutive failed attempts.
    pub streak: u32,
    /// The last failed attempt.
    pub last_failure: Option<Failure>,
    /// When the last attempt succeeded, in ms since the Unix epoch.
    pub last_success_ms: Option<u64>,
    /// When the streak reached the breaker threshold (the estimated circuit opened).
    pub opened_ms: Option<u64>,
}

/// What a count tells the owner: at most one per count, once per threshold crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The streak reached the notice (`Circuit::Notice`) or the breaker threshold
    /// (`Circuit::Open`): code `failure_streak`.
    Streak {
        /// The streak's length.
        streak: u32,
        /// What Commerce Layer does at this length.
        circuit: Circuit,
    },
    /// A success ended a streak that had reached the notice: code `failure_streak_ended`.
    Ended {
        /// How long the streak was.
        streak: u32,
    },
}

impl Signal {
    /// Every signal's code.
    pub const CODES: [&'static str; 2] = ["failure_streak", "failure_streak_ended"];

    /// `failure_streak` or `failure_streak_ended`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Signal::Streak { .. } => Signal::CODES[0],
            Signal::Ended { .. } => Signal::CODES[1],
        }
    }

    /// What to tell the owner about `webhook`.
    #[must_use]
    pub fn message(&self, webhook: &Webhook) -> String {
        if !webhook.verified {
            let topic = &webhook.topic;
            return match self {
                Signal::Streak { streak, .. } => format!(
                    "{streak} consecutive requests claiming {topic} failed their signature (unverified): if they \
                     come from Commerce Layer, the secret is wrong or was rotated, and it counts them as failed \
                     attempts (it e-mails the owner at 5 and opens the circuit at 30)"
                ),
                Signal::Ended { streak } => {
                    format!("requests claiming {topic} verify again after {streak} that failed their signature")
                }
            };
        }
        let whose = format!("the {} webhook", webhook.topic);
        match self {
            Signal::Streak { streak, circuit: Circuit::Open } => format!(
                "{streak} consecutive failed attempts for {whose}: Commerce Layer has now opened this \
                 webhook's circuit and sends nothing more; fix the cause, then reset it (_reset_circuit: \
                 the dashboard, or `commercelayer webhooks:reset ID`)"
            ),
            Signal::Streak { streak, .. } => format!(
                "{streak} consecutive failed attempts for {whose}: Commerce Layer has e-mailed the \
                 organization's owner, and opens the circuit at 30"
            ),
            Signal::Ended { streak } => {
                format!("{whose} succeeded again after {streak} consecutive failed attempts")
            }
        }
    }
}

impl Tally {
    /// Counts `attempt` under `rules`, and says what crossed a threshold.
    pub fn count(&mut self, attempt: &Attempt, rules: &Rules) -> Option<Signal> {
        self.apply(attempt.failure(rules), attempt.status, attempt.at_ms, attempt.arrived_ms(), rules)
    }

    /// [`Tally::count`] of an attempt already judged: `failure` its reason when it failed
    /// ([`Attempt::failure`]), `None` when it succeeded; answered `status` at `at_ms` to a
    /// request that arrived at `arrived_ms`.
    pub fn apply(
        &mut self,
        failure: Option<String>,
        status: u16,
        at_ms: u64,
        arrived_ms: u64,
        rules: &Rules,
    ) -> Option<Signal> {
        let Some(reason) = failure else {
            let before = self.streak;
            self.streak = 0;
            self.opened_ms = None;
            self.last_success_ms = Some(at_ms);
            return (rules.notice_after > 0 && before >= rules.notice_after)
                .then_some(Signal::Ended { streak: before });
        };
        // A delivery sent after the circuit opened: someone reset it, and this streak is new.
        if self.opened_ms.is_some_and(|opened| arrived_ms > opened) {
            self.streak = 0;
            self.opened_ms = None;
        }
        self.streak = self.streak.saturating_add(1);
        self.last_failure = Some(Failure { reason, status, at_ms });
        let circuit = rules.circuit(self.streak);
        if circuit == Circuit::Open && self.opened_ms.is_none() {
            self.opened_ms = Some(at_ms);
        }
        let crossed = self.streak == rules.notice_after || self.streak == rules.breaker_threshold;
        crossed.then_some(Signal::Streak { streak: self.streak, circuit })
    }
}

/// How many webhooks a [`Health`] keeps: past it, the one counted longest ago is forgotten.
pub const MAX_WEBHOOKS: usize = 1_024;

/// One process's counters, per webhook: what a receiver without a shared store counts.
#[derive(Debug, Clone, Default)]
pub struct Health {
    rules: Rules,
    /// Each webhook's counters and when it was last counted (a receiver meets a handful of
    /// webhooks: a look at each finds one as fast as a map would, in less code).
    tallies: Vec<(Webhook, Tally, u64)>,
    counted: u64,
}

impl Health {
    /// Counters under `rules`.
    #[must_use]
    pub fn new(rules: Rules) -> Health {
        Health { rules, tallies: Vec::new(), counted: 0 }
    }

    /// The rules counted by.
    #[must_use]
    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// Counts an attempt of `webhook`; what crossed a threshold, if anything.
    pub fn count(&mut self, webhook: &Webhook, attempt: &Attempt) -> Option<Signal> {
        self.counted = self.counted.saturating_add(1);
        let counted = self.counted;
        let place = match self.tallies.iter().position(|(w, _, _)| w == webhook) {
            Some(place) => place,
            None => {
                if self.tallies.len() >= MAX_WEBHOOKS {
                    // The one counted longest ago is forgotten.
                    let oldest =
                        self.tallies.iter().enumerate().min_by_key(|(_, (_, _, at))| *at).map(|(i, _)| i);
                    if let Some(oldest) = oldest {
                        self.tallies.swap_remove(oldest);
                    }
                }
                self.tallies.push((webhook.clone(), Tally::default(), counted));
                self.tallies.len().saturating_sub(1)
            }
        };
        let (_, tally, at) = self.tallies.get_mut(place)?;
        *at = counted;
        tally.count(attempt, &self.rules)
    }

    /// One webhook's counters.
    #[must_use]
    pub fn tally(&self, webhook: &Webhook) -> Option<&Tally> {
        self.tallies.iter().find(|(w, _, _)| w == webhook).map(|(_, tally, _)| tally)
    }

    /// Every webhook's counters.
    #[must_use]
    pub fn report(&self) -> Report {
        Report::new(self.rules, self.tallies.iter().map(|(w, t, _)| (w.clone(), t.clone())).collect())
    }
}

/// The counters of every webhook a receiver has seen, for `health()` and a health endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The rules counted by.
    pub rules: Rules,
    /// Each webhook's counters, in order.
    pub webhooks: Vec<(Webhook, Tally)>,
    /// The receiver's secrets' fingerprints, in order ([`crate::Verifier::fingerprints`]): the
    /// report names a webhook's secret by its place in them (1 for the first), never by its
    /// fingerprint.
    pub secrets: Vec<String>,
}

/// What the report says of its counts, in every rendering.
pub const LOWER_BOUND: &str =
    "counts what reached this receiver: attempts that never did (it was down, DNS, \
                               the network) are failures Commerce Layer counts too";

impl Report {
    /// A report of these counters.
    #[must_use]
    pub fn new(rules: Rules, webhooks: Vec<(Webhook, Tally)>) -> Report {
        // In order by insertion: a handful of webhooks, and less code in WebAssembly than a sort.
        let mut sorted: Vec<(Webhook, Tally)> = Vec::with_capacity(webhooks.len());
        for entry in webhooks {
            let at = sorted.partition_point(|(w, _)| *w < entry.0);
            sorted.insert(at, entry);
        }
        Report { rules, webhooks: sorted, secrets: Vec::new() }
    }

    /// The same report, naming secrets by their place in `fingerprints` (the receiver's).
    #[must_use]
    pub fn with_secrets(mut self, fingerprints: &[String]) -> Report {
        self.secrets = fingerprints.to_vec();
        self
    }

    /// Whether a verified webhook's estimated circuit is open. (An unverified streak does not
    /// count: anyone can send requests that fail their signature.)
    #[must_use]
    pub fn open(&self) -> bool {
        self.webhooks.iter().any(|(w, t)| w.verified && self.rules.circuit(t.streak) == Circuit::Open)
    }

    /// The report as JSON, for the health endpoint and `health()`: no secret, payload or
    /// fingerprint in it.
    #[must_use]
    pub fn to_json(&self) -> String {
        // A streak of signature mismatches (anyone can send those) makes neither.
        let status = if self.open() {
            "open"
        } else if self.webhooks.iter().any(|(w, t)| w.verified && t.streak > 0) {
            "failing"
        } else {
            "ok"
        };
        let mut out = String::from("{\"status\":\"");
        out.push_str(status);
        out.push_str("\",\"webhooks\":[");
        for (i, (webhook, tally)) in self.webhooks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"topic\":");
            push_json_string(&mut out, &webhook.topic);
            if let Some(secret) = &webhook.secret {
                // Its place among this receiver's secrets; another instance's is "another".
                match self.secrets.iter().position(|s| s == secret) {
                    Some(place) => out.push_str(&format!(",\"secret\":{}", place.saturating_add(1))),
                    None => out.push_str(",\"secret\":\"another\""),
                }
            }
            out.push_str(&format!(
                ",\"verified\":{},\"streak\":{},\"circuit\":\"{}\"",
                webhook.verified,
                tally.streak,
                self.rules.circuit(tally.streak).as_str()
            ));
            if let Some(failure) = &tally.last_failure {
                out.push_str(",\"last_failure\":{\"reason\":");
                push_json_string(&mut out, &failure.reason);
                out.push_str(&format!(
                    ",\"status\":{},\"at\":\"{}\"}}",
                    failure.status,
                    crate::sender::time::iso8601(failure.at_ms)
                ));
            }
            if let Some(at) = tally.last_success_ms {
                out.push_str(&format!(",\"last_success\":\"{}\"", crate::sender::time::iso8601(at)));
            }
            out.push('}');
        }
        out.push_str("],\"note\":");
        push_json_string(&mut out, LOWER_BOUND);
        out.push('}');
        out
    }

    /// The health endpoint's answer: 200 while healthy, 503 once a webhook's estimated circuit
    /// is open, so a probe alerts.
    #[must_use]
    pub fn answer(&self) -> Answer {
        Answer { status: if self.open() { 503 } else { 200 }, body: self.to_json() }
    }
}

/// Whether a refusal came after the signature verified: Commerce Layer sent it (a payload whose
/// shape or topic the receiver refuses), and it is a failed attempt of the webhook.
#[must_use]
pub fn verified_refusal(answer: &Answer) -> bool {
    use crate::Error;
    let after = [
        Error::MissingTopic.code(),
        Error::InvalidTopic { input: String::new(), reason: "" }.code(),
        Error::TopicMismatch { topic: String::new(), data_type: String::new() }.code(),
        Error::InvalidJson { message: String::new() }.code(),
        Error::InvalidDocument { message: String::new() }.code(),
        Error::WrongResourceType { expected: "", found: String::new() }.code(),
    ];
    !answer.is_success() && answer.code().is_some_and(|code| after.contains(&code))
}

/// The streaks a refused request counts in: a refusal after the signature verified
/// ([`verified_refusal`]) in its webhook's, labelled with the topic it claims; a signature
/// mismatch counts in the unverified
/// streak of the topic it claims; and in that topic's webhook too when the request came from
/// Commerce Layer's addresses (`from_commerce_layer`: an allow-list of sources is on and let it
/// through) and one secret is configured (with several, which webhook it was is unknown). Any
/// other refusal (no signature, a body too large, a wrong method) is no attempt of Commerce
/// Layer's, and counts nowhere.
#[must_use]
pub fn refused(
    answer: &Answer,
    claimed_topic: Option<&str>,
    from_commerce_layer: bool,
    secrets: usize,
) -> Vec<Webhook> {
    if verified_refusal(answer) {
        return vec![Webhook::verified(label(claimed_topic), None)];
    }
    if answer.code() != Some(crate::Error::SignatureMismatch.code()) {
        return Vec::new();
    }
    let unverified = Webhook::unverified(claimed_topic);
    let mut webhooks = Vec::with_capacity(2);
    if from_commerce_layer && secrets == 1 && unverified.topic != UNKNOWN_TOPIC {
        webhooks.push(Webhook::verified(&unverified.topic, None));
    }
    webhooks.push(unverified);
    webhooks
}

/// What became of a request, as metrics and logs name it: low in cardinality, one of
/// [`Outcome::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Verified and handled: a 2xx.
    Handled,
    /// A copy of a delivery handled before: a 2xx, its handlers not run.
    Duplicate,
    /// Written to the queue (handoff mode): a 2xx.
    HandedOff,
    /// A copy accepted while another instance handles it (`InFlight::Accept`): a 2xx.
    InFlight,
    /// Verified, but not handled: a failed handler, a copy in flight (409), a store or queue
    /// that failed, a deadline passed. Commerce Layer retries it.
    Failed,
    /// Refused before it was verified (a signature that does not match, a body too large).
    Refused,
}

impl Outcome {
    /// Every outcome, in a fixed order (a binding may hand them out by their place in it).
    pub const ALL: [Outcome; 6] = [
        Outcome::Handled,
        Outcome::Duplicate,
        Outcome::HandedOff,
        Outcome::InFlight,
        Outcome::Failed,
        Outcome::Refused,
    ];

    /// `handled`, `duplicate`, `handed_off`, `in_flight`, `failed` or `refused`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::Duplicate => "duplicate",
            Outcome::HandedOff => "handed_off",
            Outcome::InFlight => "in_flight",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
        }
    }

    /// The outcome of `answer`, given to a request that was `verified` or not.
    #[must_use]
    pub fn of(answer: &Answer, verified: bool) -> Outcome {
        if !answer.is_success() {
            return if verified || verified_refusal(answer) { Outcome::Failed } else { Outcome::Refused };
        }
        // The receiver's own 2xx bodies: `{"received": topic}` and one flag at most, last.
        let flag = |name: &str| {
            answer
                .body
                .strip_suffix(":true}")
                .and_then(|rest| rest.strip_suffix(name))
                .is_some_and(|rest| rest.ends_with(",\""))
        };
        if flag("duplicate\"") {
            Outcome::Duplicate
        } else if flag("handed_off\"") {
            Outcome::HandedOff
        } else if flag("in_flight\"") {
            Outcome::InFlight
        } else {
            Outcome::Handled
        }
    }
}

pub mod redis;
