//! The sender's side: simulated runs, live delivery over HTTP, and replay.

use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clhooks::payload;
use clhooks::sender::simulate::{self, Report, Scenario, Scheduled};
use clhooks::sender::{self, Outcome, Output, Policy, Request, Sender, WebhookConfig};
use clhooks::Topic;

use crate::cli::{input, print, Failure};

fn clock(ms: u64) -> String {
    format!("+{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1_000 % 60, ms % 1_000)
}

/// One readable line per decision of the sender (attempt hand-outs are folded into their
/// results).
fn timeline_line(output: &Output, start: u64) -> Option<String> {
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
        _ => return None,
    })
}

fn summary_table(report: &Report) -> String {
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

/// Reads a scenario file; an event's `payload_file` (a path relative to the scenario) is read
/// into its `payload`, as the core reads no files.
fn read_scenario(path: &PathBuf) -> Result<Scenario, Failure> {
    let text = input(Some(path))?;
    let mut value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| clhooks::Error::InvalidScenario { message: e.to_string() })?;
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    if let Some(events) = value.get_mut("events").and_then(serde_json::Value::as_array_mut) {
        for event in events.iter_mut().filter_map(serde_json::Value::as_object_mut) {
            if let Some(file) = event.remove("payload_file") {
                let file = dir.join(file.as_str().unwrap_or_default());
                let body = input(Some(&file))?;
                let payload = serde_json::from_slice(&body).map_err(|e| clhooks::Error::InvalidScenario {
                    message: format!("{}: {e}", file.display()),
                })?;
                event.insert("payload".into(), payload);
            }
        }
    }
    Ok(Scenario::from_json(&value.to_string())?)
}

pub fn simulate(path: &PathBuf, as_json: bool) -> Result<(), Failure> {
    let scenario = read_scenario(path)?;
    let report = sender::simulate::simulate(&scenario)?;
    if as_json {
        return print(&serde_json::to_string_pretty(&report).unwrap_or_default());
    }
    let lines: Vec<String> =
        report.timeline.iter().filter_map(|o| timeline_line(o, report.start_ms)).collect();
    print(&lines.join("\n"))?;
    print(&format!("\n{}", summary_table(&report)))
}

/// Milliseconds since the Unix epoch, from the system clock.
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Real time, except that waits for retries and scheduled events are compressed by `scale`:
/// the sender sees the full wait, the user waits `scale` of it. Calls still take real time,
/// so Commerce Layer's 5 s timeout stays 5 s.
struct LiveClock {
    skipped_ms: u64,
    scale: f64,
}

impl LiveClock {
    fn now(&self) -> u64 {
        wall_clock_ms().saturating_add(self.skipped_ms)
    }

    fn wait_until(&mut self, at: u64) {
        let wait = at.saturating_sub(self.now());
        let real = (wait as f64 * self.scale) as u64;
        std::thread::sleep(Duration::from_millis(real));
        self.skipped_ms = self.skipped_ms.saturating_add(wait.saturating_sub(real));
    }
}

fn agent(timeout_ms: u64) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(timeout_ms)))
        .http_status_as_error(false)
        // Commerce Layer does not follow redirects: a 3xx is a failed delivery.
        .max_redirects(0)
        .user_agent(sender::USER_AGENT)
        .build()
        .into()
}

/// Makes one call and says how it ended, as the sender needs to know.
fn call(agent: &ureq::Agent, request: &Request) -> (Outcome, String) {
    let mut builder = agent.post(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    match builder.send(&request.body[..]) {
        Ok(response) => {
            let status = response.status();
            let mut body = String::new();
            let _ = response.into_body().into_reader().take(4096).read_to_string(&mut body);
            let message = status.canonical_reason().unwrap_or_default().to_owned();
            (Outcome::Status { code: status.as_u16(), message }, body)
        }
        Err(ureq::Error::Timeout(_)) => (Outcome::Timeout, String::new()),
        Err(e) => (Outcome::Error { message: e.to_string() }, String::new()),
    }
}

/// Drives a sender against real endpoints until nothing is left to do, printing the timeline.
fn drive(
    sender: &mut Sender,
    agenda: Vec<(u64, Scheduled)>,
    scale: f64,
) -> Result<(Vec<Output>, u64, u64), Failure> {
    let mut clock = LiveClock { skipped_ms: 0, scale };
    let start = clock.now();
    let first = agenda.first().map_or(start, |(at, _)| *at);
    // The agenda's times are relative to its first entry, which happens now.
    let mut agenda: VecDeque<(u64, Scheduled)> =
        agenda.into_iter().map(|(at, item)| (start.saturating_add(at.saturating_sub(first)), item)).collect();
    let agent = agent(sender.policy().timeout_ms);
    let mut timeline = Vec::new();
    let show = |outputs: Vec<Output>, timeline: &mut Vec<Output>| -> Result<(), Failure> {
        for output in outputs {
            if let Some(line) = timeline_line(&output, start) {
                print(&line)?;
            }
            timeline.push(output);
        }
        Ok(())
    };
    loop {
        let now = clock.now();
        while agenda.front().is_some_and(|(at, _)| *at <= now) {
            let Some((_, item)) = agenda.pop_front() else { break };
            show(item.apply(sender, now)?, &mut timeline)?;
        }
        if let Some((attempt, output)) = sender.poll(now) {
            show(vec![output], &mut timeline)?;
            let (outcome, _) = call(&agent, &attempt.request);
            let done = clock.now();
            show(sender.complete(attempt.id, &outcome, done)?, &mut timeline)?;
            continue;
        }
        match [agenda.front().map(|(at, _)| *at), sender.next_due()].into_iter().flatten().min() {
            Some(at) => clock.wait_until(at),
            None => return Ok((timeline, start, clock.now())),
        }
    }
}

/// Options of `clhooks send`.
pub struct Send<'a> {
    pub file: Option<&'a PathBuf>,
    pub url: &'a str,
    pub secret: &'a str,
    pub topic: &'a str,
    pub include: &'a [String],
    pub time_scale: f64,
    pub max_retries: Option<u32>,
}

/// Delivers one event with Commerce Layer's retry policy; `Ok(true)` once delivered.
pub fn send(args: &Send<'_>) -> Result<bool, Failure> {
    let document = payload::parse(&input(args.file)?)?;
    let topic = Topic::parse(args.topic)?;
    let mut policy = Policy::default();
    if let Some(retries) = args.max_retries {
        policy.max_retries = retries;
    }
    let mut sender = Sender::new(policy);
    let config = WebhookConfig {
        id: "webhook".into(),
        name: None,
        topic: topic.clone(),
        callback_url: args.url.to_owned(),
        include_resources: args.include.to_vec(),
        shared_secret: args.secret.to_owned(),
    };
    sender.add_webhook(config, wall_clock_ms())?;
    let (timeline, _, _) =
        drive(&mut sender, vec![(0, Scheduled::Publish(topic, Box::new(document)))], args.time_scale)?;
    Ok(timeline.iter().any(|o| matches!(o, Output::Delivered { .. })))
}

/// The scheme, host and port of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..].find(['/', '?', '#']).map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// Where `--target` sends deliveries: `URL` for all of them, or `HOST=URL` for the callback
/// URLs on that host (repeatable). The path of each callback URL is kept.
fn retarget(url: &str, targets: &[String]) -> String {
    let own = origin(url);
    let host = own.split("://").nth(1).unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    let chosen = targets.iter().find_map(|t| match t.split_once('=') {
        Some((h, to)) if !h.contains("://") => (h == host).then_some(to),
        _ => Some(t.as_str()),
    });
    match chosen {
        Some(to) => format!("{}{}", origin(to), &url[own.len()..]),
        None => url.to_owned(),
    }
}

/// `clhooks simulate --live`: the scenario's events and updates on a real (compressed) clock,
/// delivered over HTTP.
pub fn simulate_live(path: &PathBuf, targets: &[String], scale: f64, as_json: bool) -> Result<(), Failure> {
    let mut scenario = read_scenario(path)?;
    for webhook in &mut scenario.webhooks {
        webhook.callback_url = retarget(&webhook.callback_url, targets);
    }
    let mut sender = scenario.sender()?;
    let (timeline, start, end) = drive(&mut sender, scenario.agenda()?, scale)?;
    let report = simulate::report(&sender, timeline, start, end);
    if as_json {
        return print(&serde_json::to_string_pretty(&report).unwrap_or_default());
    }
    print(&format!("\n{}", summary_table(&report)))
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Options of `clhooks replay`.
pub struct Replay<'a> {
    pub file: &'a PathBuf,
    pub url: &'a str,
    pub secret: &'a str,
    pub topic: Option<&'a str>,
    pub curl: bool,
}

/// Re-signs a captured payload and POSTs it once (or prints the equivalent curl command).
pub fn replay(args: &Replay<'_>) -> Result<bool, Failure> {
    let body = input(Some(args.file))?;
    let topic = args.topic.map(Topic::parse).transpose()?;
    let mut headers = vec![
        ("Content-Type".to_owned(), sender::CONTENT_TYPE.to_owned()),
        (clhooks::SIGNATURE_HEADER.to_owned(), clhooks::sign(&body, args.secret)?),
    ];
    if let Some(topic) = &topic {
        headers.push((clhooks::TOPIC_HEADER.to_owned(), topic.to_string()));
    }
    if args.curl {
        let mut command = format!("curl -sS -X POST {}", shell_quote(args.url));
        for (name, value) in &headers {
            command.push_str(&format!(" \\\n  -H {}", shell_quote(&format!("{name}: {value}"))));
        }
        let data =
            if args.file.as_os_str() == "-" { "@-".to_owned() } else { format!("@{}", args.file.display()) };
        command.push_str(&format!(" \\\n  --data-binary {}", shell_quote(&data)));
        print(&command)?;
        return Ok(true);
    }
    if topic.is_none() {
        eprintln!("note: no --topic, so no X-CommerceLayer-Topic header: most receivers refuse that");
    }
    let request = Request { url: args.url.to_owned(), headers, body };
    let started = Instant::now();
    let (outcome, response) = call(&agent(Policy::default().timeout_ms), &request);
    let ms = started.elapsed().as_millis();
    let (line, ok) = match &outcome {
        Outcome::Status { code, message } => {
            (format!("{code} {message} in {ms} ms"), Policy::is_success(*code))
        }
        Outcome::Timeout => {
            ("no answer within 5000 ms (Commerce Layer counts that as a failure)".to_owned(), false)
        }
        Outcome::Error { message } => (format!("failed after {ms} ms: {message}"), false),
    };
    print(&line)?;
    if !response.is_empty() {
        print(response.trim_end())?;
    }
    Ok(ok)
}
