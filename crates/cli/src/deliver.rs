//! The sender's side: simulated runs, live delivery over HTTP, and replay.

use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clhooks::model::SharedSecret;
use clhooks::payload;
use clhooks::sender::simulate::{Scenario, Scheduled, Target};
use clhooks::sender::{self, text, Driver, Outcome, Output, Policy, Request, Sender, Wait, WebhookConfig};
use clhooks::Topic;

use crate::cli::{input, print, Failure};

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
    print(&text::timeline(&report).join("\n"))?;
    print(&format!("\n{}", text::summary(&report)))
}

/// Milliseconds since the Unix epoch, from the system clock.
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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

/// Drives a run against real endpoints until nothing is left to do, printing the timeline as
/// it goes. Every call is made on a thread of its own, so calls to different webhooks run side
/// by side; the driver decides everything else.
fn drive(mut driver: Driver) -> Result<Driver, Failure> {
    let start = driver.start();
    let show = |entries: &[Output]| -> Result<(), Failure> {
        for entry in entries {
            if let Some(line) = text::line(entry, start) {
                print(&line)?;
            }
        }
        Ok(())
    };
    let (done_tx, done_rx) = mpsc::channel::<(u64, Outcome)>();
    loop {
        let due = driver.poll(driver.now(wall_clock_ms()))?;
        show(driver.entries(due.entries))?;
        for call in due.calls {
            let done = done_tx.clone();
            std::thread::spawn(move || {
                // Every call reports back, even one that panicked, or the run would wait forever.
                let made = std::panic::catch_unwind(|| self::call(&agent(call.timeout_ms), &call.request).0);
                let outcome = made.unwrap_or_else(|_| Outcome::Error { message: "the call failed".into() });
                let _ = done.send((call.id, outcome));
            });
        }
        let ended = match driver.wait(driver.now(wall_clock_ms())) {
            Wait::Done => return Ok(driver),
            Wait::Sleep(Some(ms)) => done_rx.recv_timeout(Duration::from_millis(ms)).ok(),
            // Every call ends: the agent aborts it after the policy's timeout.
            Wait::Sleep(None) => done_rx.recv().ok(),
        };
        driver.woke(ended.is_some());
        if let Some((id, outcome)) = ended {
            let entries = driver.complete(id, &outcome, driver.now(wall_clock_ms()))?;
            show(driver.entries(entries))?;
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
    pub content_type: &'a str,
}

/// Delivers one event with Commerce Layer's retry policy; `Ok(true)` once delivered.
pub fn send(args: &Send<'_>) -> Result<bool, Failure> {
    let document = payload::parse(&input(args.file)?)?;
    let topic = Topic::parse(args.topic)?;
    let mut policy = Policy::default();
    policy.content_type = args.content_type.to_owned();
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
        shared_secret: SharedSecret::new(args.secret),
    };
    let now = wall_clock_ms();
    sender.add_webhook(config, now)?;
    let agenda = vec![(now, Scheduled::Publish(topic, Box::new(document)))];
    let driver = drive(Driver::live(sender, agenda, now, args.time_scale))?;
    Ok(driver.timeline().iter().any(|o| matches!(o, Output::Delivered { .. })))
}

/// `clhooks simulate --live`: the scenario's events and updates on a real (compressed) clock,
/// delivered over HTTP.
pub fn simulate_live(
    path: &PathBuf,
    targets: &[String],
    scale: f64,
    content_type: Option<String>,
    as_json: bool,
) -> Result<(), Failure> {
    let mut scenario = read_scenario(path)?;
    if let Some(content_type) = content_type {
        scenario.policy.content_type = content_type;
    }
    let targets = targets.iter().map(|t| Target::parse(t)).collect::<Result<Vec<_>, _>>()?;
    scenario.retarget(&targets);
    let driver = drive(Driver::from_scenario_live(&scenario, wall_clock_ms(), scale)?)?;
    let report = driver.report(driver.now(wall_clock_ms()));
    if as_json {
        return print(&serde_json::to_string_pretty(&report).unwrap_or_default());
    }
    print(&format!("\n{}", text::summary(&report)))
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
    pub content_type: &'a str,
}

/// Re-signs a captured payload and POSTs it once (or prints the equivalent curl command).
pub fn replay(args: &Replay<'_>) -> Result<bool, Failure> {
    let body = input(Some(args.file))?;
    let topic = args.topic.map(Topic::parse).transpose()?;
    let headers =
        sender::delivery_headers(args.content_type, clhooks::sign(&body, args.secret)?, topic.as_ref());
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
