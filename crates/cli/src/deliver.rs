//! The sender's side: simulated runs, live delivery over HTTP, and replay.

use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clhooks::sender::simulate::{Scenario, Target};
use clhooks::sender::{self, Driver, Outcome, Output, Policy, Request, Wait};
use clhooks_command::{self as command, Failure};

use crate::cli::{colour, input, out, print, printed, read_input};

/// Reads a scenario file, and the files its events' `payload_file`s name (relative to it); or,
/// when there is no such file, the built-in scenario of that name.
fn read_scenario(path: &PathBuf) -> Result<Scenario, Failure> {
    let scenario = path.display().to_string();
    let file = read_input(Some(path)).map_err(|e| command::Unread {
        missing: e.kind() == std::io::ErrorKind::NotFound,
        reason: e.to_string(),
    });
    command::simulate_scenario(&scenario, file, |name| {
        let file = command::beside(&scenario, name);
        Ok((file.clone(), input(Some(&PathBuf::from(file)))?))
    })
}

pub fn simulate(path: &PathBuf, as_json: bool) -> Result<(), Failure> {
    let report = sender::simulate::simulate(&read_scenario(path)?)?;
    out(&command::report_text(&report, as_json, colour(false)))
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

/// Makes one call and says how it ended, as the sender needs to know, with the start of the
/// answer's body.
fn call(agent: &ureq::Agent, request: &Request) -> (Outcome, Vec<u8>) {
    let mut builder = agent.post(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    match builder.send(&request.body[..]) {
        Ok(response) => {
            let status = response.status();
            // At most what replay shows, however much the endpoint sends.
            let mut body = Vec::new();
            let shown = command::ANSWER_SHOWN_BYTES as u64;
            let _ = response.into_body().into_reader().take(shown).read_to_end(&mut body);
            (command::status_outcome(status.as_u16()), body)
        }
        Err(ureq::Error::Timeout(_)) => (Outcome::Timeout, Vec::new()),
        Err(e) => (Outcome::Error { message: e.to_string() }, Vec::new()),
    }
}

/// The progress line on standard error, when it is a terminal and the run has gone on for
/// [`command::PROGRESS_AFTER_MS`].
struct Progress {
    on: bool,
    started: u64,
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        use std::io::IsTerminal;
        Progress { on: std::io::stderr().is_terminal(), started: wall_clock_ms(), shown: false }
    }

    fn show(&mut self, driver: &Driver) {
        let now = wall_clock_ms();
        if self.on && now.saturating_sub(self.started) >= command::PROGRESS_AFTER_MS {
            eprint!("\r\x1b[2K{}", command::progress(driver, now, self.started));
            self.shown = true;
        }
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }
}

/// How often the progress line is redrawn while a run waits.
const REDRAW: Duration = Duration::from_millis(250);

/// The lines to print for new timeline entries: `(entries, the outcome and answer body of the
/// call whose end gave them)`, the run's start, and whether to colour.
type Lines = dyn Fn(&[Output], Option<(&Outcome, &[u8])>, u64, bool) -> Vec<String>;

/// Drives a run against real endpoints until nothing is left to do, printing the timeline as
/// it goes (each entry's lines as `lines` words them). Every call is made on a thread of its
/// own, so calls to different webhooks run side by side; the driver decides everything else.
fn drive(mut driver: Driver, lines: &Lines) -> Result<Driver, Failure> {
    let start = driver.start();
    let colour = colour(false);
    let mut progress = Progress::new();
    let show = |lines: Vec<String>, progress: &mut Progress| -> Result<(), Failure> {
        for line in lines {
            progress.clear();
            print(&line)?;
        }
        Ok(())
    };
    let (done_tx, done_rx) = mpsc::channel::<(u64, Outcome, Vec<u8>)>();
    loop {
        let due = driver.poll(driver.now(wall_clock_ms()))?;
        show(lines(driver.entries(due.entries), None, start, colour), &mut progress)?;
        for call in due.calls {
            let done = done_tx.clone();
            std::thread::spawn(move || {
                // Every call reports back, even one that panicked, or the run would wait forever.
                let made = std::panic::catch_unwind(|| self::call(&agent(call.timeout_ms), &call.request));
                let (outcome, body) = made
                    .unwrap_or_else(|_| (Outcome::Error { message: "the call failed".into() }, Vec::new()));
                let _ = done.send((call.id, outcome, body));
            });
        }
        progress.show(&driver);
        let deadline = match driver.wait(driver.now(wall_clock_ms())) {
            Wait::Done => {
                progress.clear();
                return Ok(driver);
            }
            // Every call ends: the agent aborts it after the policy's timeout.
            Wait::Sleep(ms) => ms.map(|ms| Instant::now() + Duration::from_millis(ms)),
        };
        // The sleep, in slices that redraw the progress line.
        let ended = loop {
            let slice = deadline.map_or(REDRAW, |d| d.saturating_duration_since(Instant::now()).min(REDRAW));
            match done_rx.recv_timeout(slice) {
                Ok(done) => break Some(done),
                Err(_) if deadline.is_some_and(|d| Instant::now() >= d) => break None,
                Err(_) => progress.show(&driver),
            }
        };
        driver.woke(ended.is_some());
        if let Some((id, outcome, body)) = ended {
            let entries = driver.complete(id, &outcome, driver.now(wall_clock_ms()))?;
            show(lines(driver.entries(entries), Some((&outcome, &body)), start, colour), &mut progress)?;
        }
    }
}

/// The timeline's lines, as `simulate` prints them.
fn timeline_lines(entries: &[Output], _: Option<(&Outcome, &[u8])>, start: u64, colour: bool) -> Vec<String> {
    entries.iter().filter_map(|entry| command::text::line(entry, start, colour)).collect()
}

/// Delivers one event with Commerce Layer's retry policy, printing each answer and when each
/// retry is due (after a note on how to compress a long run); fails unless it was delivered.
pub fn send(args: &command::Send<'_>) -> Result<(), Failure> {
    let driver = command::send(args, wall_clock_ms())?;
    if let Some(hint) = command::send_hint(args.max_retries, args.time_scale) {
        eprintln!("{hint}");
    }
    let scale = args.time_scale;
    let lines = move |entries: &[Output], answer: Option<(&Outcome, &[u8])>, start: u64, colour: bool| {
        command::send_lines(entries, start, scale, answer, colour)
    };
    let driver = drive(driver, &lines)?;
    command::send_result(driver.timeline())
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
    let driver = drive(Driver::from_scenario_live(&scenario, wall_clock_ms(), scale)?, &timeline_lines)?;
    out(&command::live_report_text(&driver.report(driver.now(wall_clock_ms())), as_json))
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
pub fn replay(args: &Replay<'_>) -> Result<(), Failure> {
    let body = input(Some(args.file))?;
    let headers = command::replay_headers(&body, args.secret, args.topic, args.content_type)?;
    if args.curl {
        return out(&command::curl(args.url, &headers, &args.file.display().to_string()));
    }
    if args.topic.is_none() {
        eprintln!("{}", command::NO_TOPIC_NOTE);
    }
    let request = Request { url: args.url.to_owned(), headers, body };
    let started = Instant::now();
    let (outcome, response) = call(&agent(Policy::default().timeout_ms), &request);
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    printed(command::replay_result(&outcome, ms, &String::from_utf8_lossy(&response)))
}
