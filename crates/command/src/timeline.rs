//! The timeline and the summary of a run as the text people read: the CLI prints it, the
//! inspector and the npm package show it.

use clhooks::sender::simulate::Report;
use clhooks::sender::Output;

/// A time since the start of a run: `+HH:MM:SS.mmm`.
#[must_use]
pub fn clock(ms: u64) -> String {
    format!("+{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1_000 % 60, ms % 1_000)
}

/// One readable line for a timeline entry of a run that started at `start`; `None` for the
/// hand-out of an attempt, which its result tells (and for a kind of entry it does not know).
#[must_use]
pub fn line(output: &Output, start: u64) -> Option<String> {
    let t = |at: &u64| clock(at.saturating_sub(start));
    Some(match output {
        Output::Published { at, event, topic, webhooks } => {
            let to = if webhooks.is_empty() { "no webhook".to_owned() } else { webhooks.join(", ") };
            format!("{}  {event:<7} {topic} published → {to}", t(at))
        }
        Output::Attempt { .. } => return None,
        Output::AttemptFinished { at, event, webhook, attempt, success, result, failure_count } => format!(
            "{}  {event:<7} {webhook:<10} attempt {attempt:>2}  {} {result}  (failures: {failure_count})",
            t(at),
            if *success { "ok  " } else { "FAIL" }
        ),
        Output::RetryScheduled { at, event, webhook, attempt, due } => {
            format!("{}  {event:<7} {webhook:<10} retry {attempt} at {}", t(at), t(due))
        }
        Output::Delivered { at, event, webhook, attempts } => {
            format!("{}  {event:<7} {webhook:<10} delivered after {attempts} attempt(s)", t(at))
        }
        Output::Dropped { at, event, webhook, reason } => {
            format!("{}  {event:<7} {webhook:<10} DROPPED: {}", t(at), reason.as_str())
        }
        Output::Notice { at, webhook, failure_count } => format!(
            "{}  {:<7} {webhook:<10} notice to the organization owner: {failure_count} consecutive failures",
            t(at),
            ""
        ),
        Output::CircuitOpened { at, webhook, failure_count } => format!(
            "{}  {:<7} {webhook:<10} CIRCUIT OPEN after {failure_count} consecutive failures: no more calls until reset",
            t(at),
            ""
        ),
        Output::CircuitReset { at, webhook } => {
            format!("{}  {:<7} {webhook:<10} _reset_circuit: circuit closed, failure count 0", t(at), "")
        }
        Output::Disabled { at, webhook } => format!("{}  {:<7} {webhook:<10} _disable", t(at), ""),
        Output::Enabled { at, webhook } => format!("{}  {:<7} {webhook:<10} _enable", t(at), ""),
        // A record of a newer core that this crate does not word yet.
        _ => return None,
    })
}

/// The lines of a whole timeline.
#[must_use]
pub fn timeline(report: &Report) -> Vec<String> {
    report.timeline.iter().filter_map(|o| line(o, report.start_ms)).collect()
}

/// A table of how each webhook fared, and a line of totals.
#[must_use]
pub fn summary(report: &Report) -> String {
    let mut lines = vec![format!(
        "{:<10} {:<7} {:>5} {:>8} {:>4} {:>6} {:>9} {:>7}  {}",
        "webhook", "circuit", "count", "attempts", "ok", "failed", "delivered", "notices", "dropped"
    )];
    for s in &report.summary {
        let dropped: Vec<String> = s.dropped.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
        let circuit = if s.disabled { "disabled".to_owned() } else { s.circuit_state.clone() };
        lines.push(format!(
            "{:<10} {:<7} {:>5} {:>8} {:>4} {:>6} {:>9} {:>7}  {}",
            s.id,
            circuit,
            s.circuit_failure_count,
            s.attempts,
            s.successes,
            s.failures,
            s.delivered,
            s.notices,
            if dropped.is_empty() { "-".to_owned() } else { dropped.join(", ") }
        ));
    }
    lines.push(format!(
        "{} events, {} calls, {} of virtual time",
        report.events,
        report.attempts,
        clock(report.end_ms.saturating_sub(report.start_ms))
    ));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use clhooks::sender::simulate::{simulate, Scenario};

    use super::{summary, timeline};

    #[test]
    fn a_run_reads_without_its_secret() {
        const SECRET: &str = "s3cr3t-never-printed-7f9a";
        let scenario = serde_json::json!({
            "webhooks": [{"id": "wh", "topic": "orders.place", "callback_url": "https://example.com/hooks",
                          "shared_secret": SECRET}],
            "endpoints": {"https://example.com/hooks": {"script": [500, "timeout", 200]}},
            "events": [{"at_ms": 0, "topic": "orders.place"}],
        });
        let report = simulate(&Scenario::from_json(&scenario.to_string()).unwrap()).unwrap();
        let text = format!("{}\n{}", timeline(&report).join("\n"), summary(&report));
        assert!(text.contains("delivered after 3 attempt(s)"), "{text}");
        assert!(!text.contains(SECRET), "the text shows the secret: {text}");
    }
}
