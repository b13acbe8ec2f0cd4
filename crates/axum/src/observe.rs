//! Metrics and logs where Rust services already look: the [`metrics`] facade (any exporter:
//! Prometheus, OpenTelemetry, StatsD) and [`tracing`] events. Nothing is recorded unless a
//! recorder or a subscriber is installed.
//!
//! Why the `metrics` facade rather than the `opentelemetry` crate: it is what Rust libraries
//! record through (a library must not choose the exporter, and the facade costs an atomic load
//! when no recorder is set), it is stable, and `metrics-exporter-opentelemetry` or
//! `metrics-exporter-prometheus` carry it to either backend. The names, units and attributes
//! are the JavaScript package's (see `docs/health.md`).

use std::time::Duration;

use clhooks::health::{Outcome, Webhook};
use metrics::Unit;

use crate::{Counted, Event};

/// Requests answered, by topic and outcome.
pub(crate) const DELIVERIES: &str = "clhooks.deliveries";
/// From the moment the receiver saw a request to its answer, in seconds.
pub(crate) const ANSWER: &str = "clhooks.answer.duration";
/// Each handler run, in seconds.
pub(crate) const HANDLER: &str = "clhooks.handler.duration";
/// Consecutive failed attempts per webhook, as Commerce Layer counts them.
pub(crate) const STREAK: &str = "clhooks.failure_streak";
/// Queued deliveries a handoff worker settled, by topic and outcome.
pub(crate) const MESSAGES: &str = "clhooks.messages";
pub(crate) const OPERATION: &str = "messaging.operation.type";
pub(crate) const TOPIC: &str = "clhooks.topic";
pub(crate) const OUTCOME: &str = "clhooks.outcome";
pub(crate) const VERIFIED: &str = "clhooks.verified";
pub(crate) const STATUS: &str = "http.response.status_code";
pub(crate) const ERROR: &str = "error.type";

/// Describes the metrics to the recorder installed, once.
fn describe() {
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    DESCRIBED.call_once(|| {
        metrics::describe_counter!(DELIVERIES, Unit::Count, "Requests answered by a webhook receiver, by topic and outcome");
        metrics::describe_histogram!(ANSWER, Unit::Seconds, "From the moment the receiver saw a request to its answer");
        metrics::describe_histogram!(HANDLER, Unit::Seconds, "Each handler run of a delivery");
        metrics::describe_counter!(MESSAGES, Unit::Count, "Queued deliveries a handoff worker settled, by topic and outcome");
        metrics::describe_gauge!(
            STREAK,
            Unit::Count,
            "Consecutive failed attempts per webhook, as Commerce Layer counts them (a notice at 5, the circuit open at 30)"
        );
    });
}

/// A request answered: one count, its duration, and one `tracing` event (`info` for a 2xx,
/// `warn` otherwise) with the topic, event id, idempotency key, status, outcome, duration,
/// duplicate flag and streak; never a secret, a signature or a body.
pub(crate) fn answered(
    event: Option<&Event>,
    label: &str,
    counted: &Counted,
    latency: Duration,
    streak: Option<u32>,
) {
    describe();
    let status = counted.answer.status;
    let outcome = counted.outcome.as_str();
    let code = counted.answer.code().map(str::to_owned);
    let mut labels =
        vec![(TOPIC, label.to_owned()), (OUTCOME, outcome.to_owned()), (STATUS, status.to_string())];
    if let Some(code) = &code {
        labels.push((ERROR, code.clone()));
    }
    let labels: Vec<metrics::Label> = labels.into_iter().map(|(k, v)| metrics::Label::new(k, v)).collect();
    metrics::counter!(DELIVERIES, labels.iter()).increment(1);
    metrics::histogram!(ANSWER, labels.iter()).record(latency.as_secs_f64());
    let duration_ms = latency.as_secs_f64() * 1_000.0;
    let code = code.as_deref().unwrap_or_default();
    let streak = streak.map(u64::from);
    match event {
        Some(event) if counted.answer.is_success() => tracing::info!(
            target: "clhooks",
            topic = label,
            event_id = event.id(),
            idempotency_key = event.idempotency_key(),
            status,
            outcome,
            duration_ms,
            duplicate = counted.outcome == Outcome::Duplicate,
            streak,
            "clhooks: {label} {outcome} ({status})"
        ),
        Some(event) => tracing::warn!(
            target: "clhooks",
            topic = label,
            event_id = event.id(),
            idempotency_key = event.idempotency_key(),
            status,
            outcome,
            code,
            duration_ms,
            duplicate = false,
            streak,
            "clhooks: {label} {outcome} ({status})"
        ),
        None => tracing::warn!(
            target: "clhooks",
            topic = label,
            status,
            outcome,
            code,
            duration_ms,
            streak,
            "clhooks: {label} {outcome} ({status})"
        ),
    }
}

/// A handler ran for `took`, `ok` or failed.
pub(crate) fn handled(event: &Event, took: Duration, ok: bool) {
    describe();
    let topic = clhooks::health::label(Some(event.topic().as_str())).to_owned();
    metrics::histogram!(HANDLER, TOPIC => topic, OUTCOME => if ok { "ok" } else { "failed" })
        .record(took.as_secs_f64());
}

/// A handoff worker ran a handler of a queued delivery for `took`, `ok` or failed; `messaging`
/// the queue's attributes.
pub(crate) fn processed(event: &Event, took: Duration, ok: bool, messaging: &[(&'static str, String)]) {
    describe();
    let topic = clhooks::health::label(Some(event.topic().as_str())).to_owned();
    let mut labels = vec![
        metrics::Label::new(TOPIC, topic),
        metrics::Label::new(OUTCOME, if ok { "ok" } else { "failed" }),
        metrics::Label::new(OPERATION, "process"),
    ];
    labels.extend(messaging.iter().map(|(k, v)| metrics::Label::new(*k, v.clone())));
    metrics::histogram!(HANDLER, labels).record(took.as_secs_f64());
}

/// A handoff worker settled a queued delivery (`event`, when its record read) as `outcome`, at
/// its `attempt`, `took` after it was taken: one count and one `tracing` event (`info` when
/// done, `warn` otherwise), never a secret, a signature or a body.
pub(crate) fn settled(
    event: Option<&Event>,
    outcome: &clhooks::handoff::Outcome,
    attempt: u32,
    took: Duration,
    messaging: &[(&'static str, String)],
    message_id: &str,
) {
    describe();
    let label = clhooks::health::label(event.map(|e| e.topic().as_str())).to_owned();
    let kind = outcome.kind();
    let code = match outcome {
        clhooks::handoff::Outcome::Dead { reason, .. } => Some(reason.code()),
        _ => None,
    };
    let mut labels = vec![
        metrics::Label::new(TOPIC, label.clone()),
        metrics::Label::new(OUTCOME, kind),
        metrics::Label::new(OPERATION, "settle"),
    ];
    labels.extend(messaging.iter().map(|(k, v)| metrics::Label::new(*k, v.clone())));
    if let Some(code) = code {
        labels.push(metrics::Label::new(ERROR, code));
    }
    metrics::counter!(MESSAGES, labels).increment(1);
    let duration_ms = took.as_secs_f64() * 1_000.0;
    let (event_id, key) = event.map_or(("", ""), |e| (e.id(), e.idempotency_key()));
    let named = |name: &str| messaging.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str());
    let (system, destination, group) = (
        named("messaging.system"),
        named("messaging.destination.name"),
        named("messaging.consumer.group.name"),
    );
    if code.is_none() && kind == "done" {
        tracing::info!(
            target: "clhooks",
            topic = label,
            event_id,
            idempotency_key = key,
            outcome = kind,
            attempt,
            duration_ms,
            messaging.system = system,
            messaging.destination.name = destination,
            messaging.consumer.group.name = group,
            messaging.message.id = message_id,
            "clhooks: {label} {kind} (attempt {attempt})"
        );
    } else {
        tracing::warn!(
            target: "clhooks",
            topic = label,
            event_id,
            idempotency_key = key,
            outcome = kind,
            code = code.unwrap_or_default(),
            attempt,
            duration_ms,
            messaging.system = system,
            messaging.destination.name = destination,
            messaging.consumer.group.name = group,
            messaging.message.id = message_id,
            "clhooks: {label} {kind} (attempt {attempt})"
        );
    }
}

/// A webhook's streak now.
pub(crate) fn streak(webhook: &Webhook, streak: u32) {
    describe();
    metrics::gauge!(STREAK, TOPIC => webhook.topic.clone(), VERIFIED => if webhook.verified { "true" } else { "false" })
        .set(f64::from(streak));
}
