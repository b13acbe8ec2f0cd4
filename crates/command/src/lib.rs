//! What the `clhooks` command lines decide and say, written once and sans IO: the Rust
//! `clhooks` binary (`clhooks-cli`) and the npm package's `npx clhooks` read the files, sockets,
//! clocks and environment, and ask this crate everything else: which secrets apply, what an
//! inspection or a run prints, how `listen` misbehaves on purpose and what it logs, what a
//! replay's answer means, and how a failure exits.
//!
//! It is apart from the `clhooks` crate so that a receiver built on that crate compiles none of
//! this, and its wording stays free to change: it serves the two command lines, not as an API.

pub mod builtin;
pub mod dead;
pub mod text;
pub mod timeline;

use std::collections::HashMap;

use serde_json::Value;

use clhooks::model::SharedSecret;
use clhooks::payload::{self, DenormalizeOptions};
use clhooks::receiver::Answer;
use clhooks::sender::simulate::{Report, Scenario, Scheduled};
use clhooks::sender::{self, Driver, Outcome, Output, Policy, Rng, Sender, WebhookConfig};
use clhooks::sources::Forwarded;
use clhooks::{Error, Topic};

/// The environment variable read for the secret when no option gives one.
pub const SECRET_ENV: &str = "CL_WEBHOOK_SECRET";
/// The exit status of a command whose outcome is a failure (an invalid signature, an event
/// not delivered).
pub const EXIT_FAILED: u8 = 1;
/// The exit status of a command that could not run as asked (bad usage, an unreadable file).
pub const EXIT_USAGE: u8 = 2;

/// `listen`'s address.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// `listen`'s port.
pub const DEFAULT_PORT: u16 = 4000;
/// The seed of `listen --fail-rate`.
pub const DEFAULT_SEED: u64 = 1;
/// How long `listen` waits for a request's head, in ms (408 after).
pub const DEFAULT_HEADER_TIMEOUT_MS: u64 = 10_000;
/// How long `listen` waits for a request's body once its head has arrived, in ms.
pub const DEFAULT_BODY_TIMEOUT_MS: u64 = 30_000;
/// How many connections `listen` reads at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// How long a command runs before it shows a progress line on a terminal, in ms.
pub const PROGRESS_AFTER_MS: u64 = 1_000;
/// How much of an endpoint's answer `replay` shows, in bytes.
pub const ANSWER_SHOWN_BYTES: usize = 4096;

/// The most bytes a request's head may take at `listen` (431 above).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most headers a request may have at `listen` (431 above).
pub const MAX_HEADERS: usize = 100;

/// What a client may cost `listen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenLimits {
    /// Until a request's head has arrived, in ms (408 and closed after).
    pub header_timeout_ms: u64,
    /// Until its body has arrived once the head has, in ms (the core's 400 `body_unreadable`).
    pub body_timeout_ms: u64,
    /// Connections read at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// The most bytes a request's head may take (431 above).
    pub max_head_bytes: usize,
    /// The most headers a request may have (431 above).
    pub max_headers: usize,
}

impl ListenLimits {
    /// The limits of `--header-timeout-ms`, `--body-timeout-ms` and `--max-connections`: at
    /// least 1 ms and one connection, whatever is asked.
    #[must_use]
    pub fn new(header_timeout_ms: u64, body_timeout_ms: u64, max_connections: usize) -> ListenLimits {
        ListenLimits {
            header_timeout_ms: header_timeout_ms.max(1),
            body_timeout_ms: body_timeout_ms.max(1),
            max_connections: max_connections.max(1),
            max_head_bytes: MAX_HEAD_BYTES,
            max_headers: MAX_HEADERS,
        }
    }
}

/// Why `listen` refuses a request before the receiver sees it: its status and the text of the
/// plain answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// One connection more than `max_connections` (503).
    TooManyConnections,
    /// The head did not arrive in time (408).
    HeadTimeout,
    /// The head is over `max_head_bytes` (431).
    HeadTooLarge,
    /// More than `max_headers` headers (431).
    TooManyHeaders,
    /// A chunked body (411).
    Chunked,
    /// A line ending with a bare LF, how requests are smuggled past other parsers (400).
    BareLf,
    /// The head ended early (400).
    Incomplete,
    /// Not an HTTP/1.1 head (400).
    NotHttp,
    /// A header value that is not UTF-8 (400).
    HeaderNotUtf8,
    /// `Content-Length` beside `Transfer-Encoding` (400).
    LengthWithEncoding,
    /// A `Content-Length` that is not a number of bytes (400).
    BadLength,
    /// More than one `Content-Length` (400).
    SeveralLengths,
}

impl Refusal {
    /// Every refusal, by [`Refusal::name`].
    pub const ALL: [Refusal; 12] = [
        Refusal::TooManyConnections,
        Refusal::HeadTimeout,
        Refusal::HeadTooLarge,
        Refusal::TooManyHeaders,
        Refusal::Chunked,
        Refusal::BareLf,
        Refusal::Incomplete,
        Refusal::NotHttp,
        Refusal::HeaderNotUtf8,
        Refusal::LengthWithEncoding,
        Refusal::BadLength,
        Refusal::SeveralLengths,
    ];

    /// A stable snake_case name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Refusal::TooManyConnections => "too_many_connections",
            Refusal::HeadTimeout => "head_timeout",
            Refusal::HeadTooLarge => "head_too_large",
            Refusal::TooManyHeaders => "too_many_headers",
            Refusal::Chunked => "chunked",
            Refusal::BareLf => "bare_lf",
            Refusal::Incomplete => "incomplete",
            Refusal::NotHttp => "not_http",
            Refusal::HeaderNotUtf8 => "header_not_utf8",
            Refusal::LengthWithEncoding => "length_with_encoding",
            Refusal::BadLength => "bad_length",
            Refusal::SeveralLengths => "several_lengths",
        }
    }

    /// The refusal of a name.
    #[must_use]
    pub fn named(name: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The status.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Refusal::TooManyConnections => 503,
            Refusal::HeadTimeout => 408,
            Refusal::HeadTooLarge | Refusal::TooManyHeaders => 431,
            Refusal::Chunked => 411,
            _ => 400,
        }
    }

    /// The answer's text (`text/plain`).
    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            Refusal::TooManyConnections => "too many connections",
            Refusal::HeadTimeout => "the request's head did not arrive in time",
            Refusal::HeadTooLarge => "the request's head is over 16 KiB",
            Refusal::TooManyHeaders => "more than 100 headers",
            Refusal::Chunked => "send the body with a Content-Length",
            Refusal::BareLf => "lines must end with CRLF",
            Refusal::Incomplete => "the request's head is incomplete",
            Refusal::NotHttp => "the request's head is not HTTP/1.1",
            Refusal::HeaderNotUtf8 => "a header value is not UTF-8",
            Refusal::LengthWithEncoding => "Content-Length and Transfer-Encoding together",
            Refusal::BadLength => "Content-Length is not a number of bytes",
            Refusal::SeveralLengths => "more than one Content-Length",
        }
    }

    /// Whether the connection is read a little longer after the answer, so that a client
    /// still sending gets to read it (not after a timeout).
    #[must_use]
    pub fn lingers(self) -> bool {
        self != Refusal::HeadTimeout
    }
}

/// The reason phrase of a status (RFC 9110's, and the registered ones), or "" for an unknown
/// one: the command lines word a status by its code, whatever the other side sent.
#[must_use]
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        511 => "Network Authentication Required",
        _ => "",
    }
}

/// A status outcome of a call, worded by its code.
#[must_use]
pub fn status_outcome(status: u16) -> Outcome {
    Outcome::Status { code: status, message: reason(status).to_owned() }
}

/// Where a scenario's `payload_file` is: beside the scenario (`scenario`, its path as given),
/// or `name` itself when absolute.
#[must_use]
pub fn beside(scenario: &str, name: &str) -> String {
    let dir = std::path::Path::new(scenario).parent().unwrap_or_else(|| std::path::Path::new(""));
    dir.join(name).display().to_string()
}

/// `--forwarded`: which header trusted proxies name the caller in.
///
/// # Errors
/// `usage` for an empty name.
pub fn forwarded(name: Option<&str>) -> Result<Forwarded, Failure> {
    match name {
        None => Ok(Forwarded::None),
        Some(name) => Forwarded::named(name)
            .ok_or_else(|| Failure::usage("usage", "--forwarded names a header, such as x-forwarded-for")),
    }
}

/// Why a command failed, and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A stable code: the core's error code, or the command line's own (`usage`, `io`, ...).
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The exit status: [`EXIT_FAILED`] or [`EXIT_USAGE`].
    pub exit: u8,
}

impl Failure {
    /// The command could not run as asked: exit 2.
    #[must_use]
    pub fn usage(code: &str, message: impl Into<String>) -> Failure {
        Failure { code: code.to_owned(), message: message.into(), exit: EXIT_USAGE }
    }

    /// The command ran and its outcome is a failure: exit 1.
    #[must_use]
    pub fn refused(code: &str, message: impl Into<String>) -> Failure {
        Failure { code: code.to_owned(), message: message.into(), exit: EXIT_FAILED }
    }

    /// A file that could not be read.
    #[must_use]
    pub fn unreadable(name: &str, reason: &str) -> Failure {
        Failure::usage("io", format!("cannot read {name}: {reason}"))
    }

    /// The line printed on standard error, `error[code]: message`, coloured when `colour`.
    #[must_use]
    pub fn line(&self, colour: bool) -> String {
        let head = text::paint(colour, text::Style::Error, &format!("error[{}]:", self.code));
        format!("{head} {}", self.message)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure { code: error.code().to_owned(), message: error.to_string(), exit: EXIT_FAILED }
    }
}

/// Whether to colour output: only on a terminal, never with `NO_COLOR` set to anything but the
/// empty string (<https://no-color.org>), nor on a `dumb` terminal.
#[must_use]
pub fn colour(terminal: bool, no_color: Option<&str>, term: Option<&str>) -> bool {
    terminal && no_color.is_none_or(str::is_empty) && term != Some("dumb")
}

/// The secrets a command uses: every `--secret`, then each non-empty line of the
/// `--secret-file` (`(its name, its text)`), or else the environment's [`SECRET_ENV`].
///
/// # Errors
/// `usage` for a secret file holding none, `missing_secret` when nothing gives one.
pub fn secrets(
    given: &[String],
    file: Option<(&str, &str)>,
    env: Option<&str>,
) -> Result<Vec<String>, Failure> {
    let mut secrets = given.to_vec();
    if let Some((name, text)) = file {
        secrets.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned));
        if secrets.is_empty() {
            return Err(Failure::usage("usage", format!("{name} holds no secret")));
        }
    }
    if secrets.is_empty() {
        match env.map(str::trim) {
            Some(secret) if !secret.is_empty() => secrets.push(secret.to_owned()),
            _ => {
                return Err(Failure::usage(
                    "missing_secret",
                    format!("no secret: pass --secret, --secret-file or set {SECRET_ENV}"),
                ))
            }
        }
    }
    Ok(secrets)
}

/// A secret file's text, from its bytes (`name` for the error).
///
/// # Errors
/// `io` when it is not UTF-8.
pub fn secret_file_text(name: &str, bytes: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|_| Failure::unreadable(name, "stream did not contain valid UTF-8"))
}

/// The one secret a command signs with.
///
/// # Errors
/// `usage` when several are given.
pub fn one_secret(mut secrets: Vec<String>) -> Result<String, Failure> {
    if secrets.len() > 1 {
        return Err(Failure::usage("usage", "one secret signs: give one, not several"));
    }
    Ok(secrets.pop().unwrap_or_default())
}

/// What `inspect` is asked.
#[derive(Debug, Clone, Default)]
pub struct Inspect {
    /// The topic to check the payload against.
    pub topic: Option<String>,
    /// How many times one resource may repeat on a path when resolving relationships.
    pub max_depth: Option<usize>,
    /// Only the denormalized document.
    pub json: bool,
    /// Only this part of it (a JSON pointer).
    pub pointer: Option<String>,
}

/// What a command printed before it ended: its standard output, and how it failed, if it did
/// (`inspect` prints a payload's summary before it reports that the payload is not the topic's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printed {
    /// Standard output, each line ending with a newline.
    pub stdout: String,
    /// The failure to report after it.
    pub failure: Option<Failure>,
}

impl Printed {
    fn ok(stdout: String) -> Printed {
        Printed { stdout, failure: None }
    }

    fn failed(stdout: String, failure: Failure) -> Printed {
        Printed { stdout, failure: Some(failure) }
    }
}

fn lines(text: &str) -> String {
    format!("{text}\n")
}

fn printed<T>(result: Result<T, impl Into<Failure>>, text: impl FnOnce(T) -> String) -> Printed {
    match result {
        Ok(value) => Printed::ok(lines(&text(value))),
        Err(failure) => Printed::failed(String::new(), failure.into()),
    }
}

/// `sign`: the body's `X-CommerceLayer-Signature` with `secret`.
#[must_use]
pub fn sign(body: &[u8], secret: &str) -> Printed {
    printed(clhooks::sign(body, secret), |signature| signature)
}

/// `verify`: `ok` when the signature is one of `secrets`' for the body.
#[must_use]
pub fn verify(body: &[u8], signature: &str, secrets: &[String]) -> Printed {
    printed(clhooks::Verifier::new(secrets).and_then(|v| v.verify(body, signature)), |()| "ok".to_owned())
}

/// `topics`: the catalogue, of one resource or all, as a table or as JSON.
#[must_use]
pub fn topics(resource: Option<&str>, json: bool) -> Printed {
    Printed::ok(lines(&if json { text::topics_json(resource) } else { text::topics(resource) }))
}

/// `topic`: one topic name parsed.
#[must_use]
pub fn topic(name: &str) -> Printed {
    printed(Topic::parse(name), |topic| text::topic(&topic))
}

/// `inspect`: a payload's summary and its denormalized document, or only the document
/// (`json`), or one part of it (`pointer`).
#[must_use]
pub fn inspect(body: &[u8], options: &Inspect) -> Printed {
    let run = || -> Result<Printed, Failure> {
        let document = payload::parse(body)?;
        let topic = options.topic.as_deref().map(Topic::parse).transpose()?;
        let mut denormalize = DenormalizeOptions::default();
        if let Some(depth) = options.max_depth {
            denormalize = denormalize.with_max_depth(depth);
        }
        let denormalized = document.denormalize_with(denormalize)?;
        let shown = match options.pointer.as_deref() {
            Some(pointer) => denormalized.pointer(pointer).ok_or_else(|| {
                Failure::usage("pointer", format!("nothing at {pointer} in the denormalized document"))
            })?,
            None => &denormalized,
        };
        let pretty = serde_json::to_string_pretty(shown).unwrap_or_default();
        let checked = topic.as_ref().map(|t| payload::check_topic(t, &document)).transpose();
        if options.json {
            // The topic is checked as in the text mode: a payload about another resource is an error.
            checked?;
            return Ok(Printed::ok(lines(&pretty)));
        }
        let summary = lines(&text::payload_summary(&document, topic.as_ref()));
        Ok(match checked {
            Ok(_) => Printed::ok(format!("{summary}\n{pretty}\n")),
            Err(e) => Printed::failed(summary, e.into()),
        })
    };
    run().unwrap_or_else(|failure| Printed::failed(String::new(), failure))
}

/// A scenario file's text made into a scenario. Each event's `payload_file` (a path relative
/// to the scenario) is read with `read`, which returns the name to show for it and its bytes.
///
/// # Errors
/// `invalid_scenario`, or what `read` failed with.
pub fn read_scenario(
    text: &[u8],
    mut read: impl FnMut(&str) -> Result<(String, Vec<u8>), Failure>,
) -> Result<Scenario, Failure> {
    let invalid = |message: String| Failure::from(Error::InvalidScenario { message });
    let mut value: Value = serde_json::from_slice(text).map_err(|e| invalid(e.to_string()))?;
    if let Some(events) = value.get_mut("events").and_then(Value::as_array_mut) {
        for event in events.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(file) = event.remove("payload_file") {
                let Some(name) = file.as_str() else {
                    return Err(invalid("payload_file must be a path".into()));
                };
                let (shown, body) = read(name)?;
                let payload = serde_json::from_slice(&body).map_err(|e| invalid(format!("{shown}: {e}")))?;
                event.insert("payload".into(), payload);
            }
        }
    }
    Ok(Scenario::from_json(&value.to_string())?)
}

/// Why a scenario file could not be read: there is no such file (`missing`), and what the
/// system said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// No file of that name.
    pub missing: bool,
    /// Why, as the system words it.
    pub reason: String,
}

/// `simulate SCENARIO`'s scenario: the file `arg` names (`file`: its bytes, or why they could
/// not be read), its `payload_file`s read with `read` as [`read_scenario`] does; or, when there
/// is no such file and `arg` is a built-in scenario's name ([`builtin::SCENARIOS`]), that one,
/// its `payload_file`s the built-in payloads of their file names.
///
/// # Errors
/// `io` for a file that cannot be read and is no built-in's name (the error lists them),
/// `invalid_scenario`, or what `read` failed with.
pub fn simulate_scenario(
    arg: &str,
    file: Result<Vec<u8>, Unread>,
    read: impl FnMut(&str) -> Result<(String, Vec<u8>), Failure>,
) -> Result<Scenario, Failure> {
    let unread = match file {
        Ok(text) => return read_scenario(&text, read),
        Err(unread) => unread,
    };
    match builtin::scenario(arg) {
        Some(scenario) if unread.missing => read_scenario(scenario.text.as_bytes(), |name| {
            let shown = format!("{} (built in): {name}", scenario.name);
            let text = builtin::payload(name)
                .ok_or_else(|| Failure::unreadable(&shown, "no such built-in payload"))?;
            Ok((shown, text.as_bytes().to_vec()))
        }),
        _ => Err(Failure::usage(
            "io",
            format!(
                "cannot read {arg}: {}; nor is it a built-in scenario ({})",
                unread.reason,
                builtin::names()
            ),
        )),
    }
}

/// What `simulate` prints of a report: the timeline and the summary, or the report as JSON.
#[must_use]
pub fn report_text(report: &Report, json: bool, colour: bool) -> String {
    if json {
        return lines(&serde_json::to_string_pretty(report).unwrap_or_default());
    }
    let timeline: Vec<String> =
        report.timeline.iter().filter_map(|o| text::line(o, report.start_ms, colour)).collect();
    format!("{}\n\n{}\n", timeline.join("\n"), timeline::summary(report))
}

/// What `simulate --live` prints once its run ends (its timeline was printed as it went).
#[must_use]
pub fn live_report_text(report: &Report, json: bool) -> String {
    if json {
        return lines(&serde_json::to_string_pretty(report).unwrap_or_default());
    }
    format!("\n{}\n", timeline::summary(report))
}

/// What `send` is asked: one event for one callback URL.
#[derive(Debug, Clone)]
pub struct Send<'a> {
    /// The payload.
    pub body: &'a [u8],
    /// The callback URL.
    pub url: &'a str,
    /// The secret to sign with.
    pub secret: &'a str,
    /// The topic.
    pub topic: &'a str,
    /// The `include_resources` paths.
    pub include: &'a [String],
    /// How much of each wait to really wait.
    pub time_scale: f64,
    /// Retries after a failure, instead of Commerce Layer's.
    pub max_retries: Option<u32>,
    /// The deliveries' Content-Type.
    pub content_type: &'a str,
}

/// `send`'s run: a webhook for `url` and the event published at `now`, for the caller to drive.
///
/// # Errors
/// An invalid payload, topic or URL, or a topic about another resource than the payload (found
/// here, before anything is printed, rather than when the run publishes it).
pub fn send(args: &Send<'_>, now: u64) -> Result<Driver, Failure> {
    let document = payload::parse(args.body)?;
    let topic = Topic::parse(args.topic)?;
    payload::check_topic(&topic, &document)?;
    let mut policy = Policy::default();
    args.content_type.clone_into(&mut policy.content_type);
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
    sender.add_webhook(config, now)?;
    let agenda = vec![(now, Scheduled::Publish(topic, Box::new(document)))];
    Ok(Driver::live(sender, agenda, now, args.time_scale))
}

/// How `send` ends once its run is over: delivered, or `not_delivered`.
///
/// # Errors
/// `not_delivered` (exit 1) when no attempt succeeded.
pub fn send_result(timeline: &[Output]) -> Result<(), Failure> {
    if timeline.iter().any(|o| matches!(o, Output::Delivered { .. })) {
        Ok(())
    } else {
        Err(Failure::refused("not_delivered", "the event was not delivered"))
    }
}

/// A time scale as a live run applies it: 0 to 1, and 1 for one that is not a number.
fn clamped(time_scale: f64) -> f64 {
    if time_scale.is_finite() {
        time_scale.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// A wait of the schedule compressed by a time scale, as a live run waits it.
fn scaled(ms: u64, time_scale: f64) -> u64 {
    (ms as f64 * clamped(time_scale)) as u64
}

/// The time scales `send`'s hint may suggest, largest first.
const SUGGESTED_SCALES: [(&str, f64); 6] = [
    ("0.1", 0.1),
    ("0.01", 0.01),
    ("0.001", 0.001),
    ("0.0001", 0.0001),
    ("0.00001", 0.000_01),
    ("0.000001", 0.000_001),
];

/// How long a live run may take before `send` suggests compressing it, in real ms.
pub const HINT_AFTER_MS: u64 = 60_000;

/// `send`'s note on standard error before it starts, when a delivery that fails every attempt
/// would take over [`HINT_AFTER_MS`] of real time at `time_scale` with `max_retries` (or
/// Commerce Layer's): how long its retries last, and the largest `--time-scale` that runs
/// them within a minute.
#[must_use]
pub fn send_hint(max_retries: Option<u32>, time_scale: f64) -> Option<String> {
    let policy = Policy::default();
    let retries = max_retries.unwrap_or(policy.max_retries);
    // The schedule's own entries, then its last one for each retry beyond them.
    let listed = u32::try_from(policy.backoff_ms.len()).unwrap_or(u32::MAX);
    let mut total: u64 = (1..=retries.min(listed)).map(|r| policy.backoff(r)).fold(0, u64::saturating_add);
    total = total
        .saturating_add(u64::from(retries.saturating_sub(listed)).saturating_mul(policy.backoff(listed)));
    let real = scaled(total, time_scale);
    if real <= HINT_AFTER_MS {
        return None;
    }
    let mut hint = format!("note: a failing delivery is retried for up to {}", text::duration(total));
    if clamped(time_scale) < 1.0 {
        hint.push_str(&format!(" ({} at --time-scale {time_scale})", text::duration(real)));
    }
    if let Some((name, scale)) =
        SUGGESTED_SCALES.into_iter().find(|(_, s)| scaled(total, *s) <= HINT_AFTER_MS)
    {
        hint.push_str(&format!(
            "; --time-scale {name} runs that in {}",
            text::duration(scaled(total, scale))
        ));
    }
    Some(hint)
}

/// Where `send`'s answer line begins: under the word `attempt` of the line above it.
const ANSWER_INDENT: usize = 34;

/// What `send` prints of new timeline entries (of a run started at `start`, its waits
/// compressed by `time_scale`): their lines; under an attempt's, the answer to it (`answer`:
/// the outcome of the call whose end gave these entries, and the start of the answer's body),
/// its body as [`text::excerpt`] shows it, with a note when it says it is a duplicate; and on a
/// retry's, how long until it is due, in the schedule's time and the real one.
#[must_use]
pub fn send_lines(
    entries: &[Output],
    start: u64,
    time_scale: f64,
    answer: Option<(&Outcome, &[u8])>,
    colour: bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in entries {
        let Some(mut line) = text::line(entry, start, colour) else { continue };
        match entry {
            Output::RetryScheduled { at, due, .. } => {
                let wait = due.saturating_sub(*at);
                line.push_str(&format!(": next retry in {}", text::duration(wait)));
                if clamped(time_scale) < 1.0 {
                    let real = text::duration(scaled(wait, time_scale));
                    line.push_str(&format!(" ({real} at --time-scale {time_scale})"));
                }
                lines.push(line);
            }
            Output::AttemptFinished { .. } => {
                lines.push(line);
                if let Some((Outcome::Status { .. }, body)) = answer {
                    lines.push(answer_line(body));
                }
            }
            _ => lines.push(line),
        }
    }
    lines
}

/// The line of an answer's body under its attempt.
fn answer_line(body: &[u8]) -> String {
    let mut line = format!("{:ANSWER_INDENT$}answer  {}", "", text::excerpt(body, text::EXCERPT_BYTES));
    let said: Value = serde_json::from_slice(body).unwrap_or_default();
    if said.get("duplicate") == Some(&Value::Bool(true)) {
        line.push_str("  (a duplicate: the receiver had handled this event already)");
    }
    line
}

/// The progress line of a live run that has gone on for a while (`now` and `started` on the
/// wall clock): how long it has run, what was delivered or failed, and what it waits for.
#[must_use]
pub fn progress(driver: &Driver, now_ms: u64, started_ms: u64) -> String {
    let (mut attempts, mut delivered, mut dropped) = (0u64, 0u64, 0u64);
    for entry in driver.timeline() {
        match entry {
            Output::AttemptFinished { .. } => attempts = attempts.saturating_add(1),
            Output::Delivered { .. } => delivered = delivered.saturating_add(1),
            Output::Dropped { .. } => dropped = dropped.saturating_add(1),
            _ => {}
        }
    }
    let elapsed = now_ms.saturating_sub(started_ms) / 1000;
    let mut line = format!(
        "… {}:{:02}  {attempts} attempt(s), {delivered} delivered, {dropped} dropped",
        elapsed / 60,
        elapsed % 60
    );
    let in_flight = driver.in_flight();
    let now = driver.now(now_ms);
    if in_flight > 0 {
        line.push_str(&format!(", {in_flight} call(s) waiting for an answer"));
    } else if let Some(next) = driver.next_wake(now) {
        // The next step on the run's clock, in real seconds.
        let ms = next.saturating_sub(now);
        line.push_str(&format!(", next step in {} s of run time", ms.div_ceil(1000)));
    }
    line
}

/// The headers `replay` sends: the body signed with `secret`, with its topic when given.
///
/// # Errors
/// An empty secret, or a malformed topic.
pub fn replay_headers(
    body: &[u8],
    secret: &str,
    topic: Option<&str>,
    content_type: &str,
) -> Result<Vec<(String, String)>, Failure> {
    let topic = topic.map(Topic::parse).transpose()?;
    Ok(sender::delivery_headers(content_type, clhooks::sign(body, secret)?, topic.as_ref()))
}

/// Said on standard error when `replay` sends no topic.
pub const NO_TOPIC_NOTE: &str =
    "note: no --topic, so no X-CommerceLayer-Topic header: most receivers refuse that";

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `replay --curl`: the curl command that POSTs `file` (`-` for standard input) with `headers`.
#[must_use]
pub fn curl(url: &str, headers: &[(String, String)], file: &str) -> String {
    let mut command = format!("curl -sS -X POST {}", shell_quote(url));
    for (name, value) in headers {
        command.push_str(&format!(" \\\n  -H {}", shell_quote(&format!("{name}: {value}"))));
    }
    let data = if file == "-" { "@-".to_owned() } else { format!("@{file}") };
    command.push_str(&format!(" \\\n  --data-binary {}\n", shell_quote(&data)));
    command
}

/// What `replay` prints of the endpoint's answer (`ms` after sending; `body`, its answer, of
/// which the first [`ANSWER_SHOWN_BYTES`] are shown), and whether it was accepted.
#[must_use]
pub fn replay_result(outcome: &Outcome, ms: u64, body: &str) -> Printed {
    let (line, ok) = match outcome {
        Outcome::Status { code, message } => {
            (format!("{code} {message} in {ms} ms"), Policy::is_success(*code))
        }
        Outcome::Timeout => {
            let timeout = Policy::default().timeout_ms;
            (format!("no answer within {timeout} ms (Commerce Layer counts that as a failure)"), false)
        }
        Outcome::Error { message } => (format!("failed after {ms} ms: {message}"), false),
    };
    let mut stdout = lines(&line);
    let mut end = body.len().min(ANSWER_SHOWN_BYTES);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let shown = body.get(..end).unwrap_or_default().trim_end();
    if !shown.is_empty() {
        stdout.push_str(&lines(shown));
    }
    if ok {
        Printed::ok(stdout)
    } else {
        Printed::failed(stdout, Failure::refused("not_accepted", "the endpoint did not answer 2xx"))
    }
}

/// How `listen` treats the deliveries of one path.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Behaviour {
    /// The share answered 500, at random (seeded).
    pub fail_rate: f64,
    /// The first this many fail.
    pub fail_first: u64,
    /// Wait this long before answering, in ms.
    pub slow_ms: u64,
}

/// What `listen` does with one verified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    /// Wait this long before answering.
    pub slow_ms: u64,
    /// Fail it (500) on purpose.
    pub fail: bool,
    /// Which attempt of this delivery it is (from 1; over 1, a retry).
    pub run: u32,
    /// Its topic, the resource's type and id: for the log line.
    pub topic: String,
    /// The resource's type.
    pub kind: String,
    /// The resource's id.
    pub id: String,
}

/// Said of a delivery failed on purpose.
pub const FAILING_ON_PURPOSE: &str = "failing on purpose";

/// `listen`'s misbehaviour on purpose, and its log.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    base: Behaviour,
    routes: HashMap<String, Behaviour>,
    rng: Rng,
    runs: HashMap<String, u32>,
    per_path: HashMap<String, u64>,
}

impl Rehearsal {
    /// `base` for every path but those of `routes`, each `PATH=RULE[,RULE]` with rules
    /// `fail-rate:F`, `fail-first:N` and `slow-ms:MS`; `seed` seeds the fail rate.
    ///
    /// # Errors
    /// `usage` for a malformed route or a fail rate outside 0..=1.
    pub fn new(base: Behaviour, routes: &[String], seed: u64) -> Result<Rehearsal, Failure> {
        let rate = |rate: f64, what: &str| {
            if (0.0..=1.0).contains(&rate) {
                Ok(())
            } else {
                Err(Failure::usage("usage", format!("{what}: a fail rate is between 0 and 1")))
            }
        };
        rate(base.fail_rate, "--fail-rate")?;
        let mut parsed = HashMap::new();
        for route in routes {
            let bad = || {
                Failure::usage(
                    "usage",
                    format!("--route {route:?}: expected PATH=fail-rate:F|fail-first:N|slow-ms:MS"),
                )
            };
            let (path, rules) = route.split_once('=').ok_or_else(bad)?;
            let mut behaviour = base;
            for rule in rules.split(',') {
                let (name, value) = rule.split_once(':').ok_or_else(bad)?;
                match name {
                    "fail-rate" => behaviour.fail_rate = value.parse().map_err(|_| bad())?,
                    "fail-first" => behaviour.fail_first = value.parse().map_err(|_| bad())?,
                    "slow-ms" => behaviour.slow_ms = value.parse().map_err(|_| bad())?,
                    _ => return Err(bad()),
                }
            }
            rate(behaviour.fail_rate, &format!("--route {route:?}"))?;
            parsed.insert(path.to_owned(), behaviour);
        }
        Ok(Rehearsal {
            base,
            routes: parsed,
            rng: Rng::new(seed),
            runs: HashMap::new(),
            per_path: HashMap::new(),
        })
    }

    /// What to do with a verified delivery to `target` (a request target: a path, perhaps
    /// with a query, which is not part of the route): its event's idempotency `key`, topic and
    /// resource say which attempt it is and what the log line says.
    pub fn delivery(&mut self, target: &str, key: &str, topic: &str, kind: &str, id: &str) -> Act {
        let path = path_of(target);
        let run = self.runs.entry(key.to_owned()).or_insert(0);
        *run = run.saturating_add(1);
        let run = *run;
        let count = self.per_path.entry(path.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        let count = *count;
        let behaviour = self.routes.get(path).copied().unwrap_or(self.base);
        let fail = count <= behaviour.fail_first || self.rng.unit() < behaviour.fail_rate;
        Act {
            slow_ms: behaviour.slow_ms,
            fail,
            run,
            topic: topic.to_owned(),
            kind: kind.to_owned(),
            id: id.to_owned(),
        }
    }
}

/// A request target's path, without its query.
#[must_use]
pub fn path_of(target: &str) -> &str {
    target.split('?').next().unwrap_or_default()
}

/// `listen`'s first line.
#[must_use]
pub fn listening(address: &str, secrets: usize) -> String {
    format!("listening on http://{address} ({secrets} secret(s))")
}

/// `listen`'s line for one request answered at `now_ms` (wall clock): its method and path,
/// then what the delivery was (`act`, when it reached the handler) and the answer.
#[must_use]
pub fn listen_line(
    now_ms: u64,
    method: &str,
    target: &str,
    act: Option<&Act>,
    answer: &Answer,
    streak: Option<u32>,
    colour: bool,
) -> String {
    // The time of day (UTC), worded as a run's clock words a time.
    let time = timeline::clock(now_ms % 86_400_000);
    let time = time.trim_start_matches('+');
    // Outside text is printed escaped: a method, path or id cannot break or forge a log line.
    let mut line = format!("{time}  {} {}", method.escape_debug(), path_of(target).escape_debug());
    let style = if answer.is_success() { text::Style::Good } else { text::Style::Bad };
    let status = text::paint(colour, style, &answer.status.to_string());
    let body: Value = serde_json::from_str(&answer.body).unwrap_or_default();
    let field = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    match act {
        Some(act) => {
            line.push_str(&format!(
                "  {}  {}/{}  verified  {status}",
                act.topic.escape_debug(),
                act.kind.escape_debug(),
                act.id.escape_debug()
            ));
            if !answer.is_success() {
                if act.fail {
                    line.push_str(&format!(" ({FAILING_ON_PURPOSE})"));
                } else {
                    line.push_str(&format!(" {}: {}", field("error"), field("message")));
                }
            }
            if act.run > 1 {
                line.push_str(&format!("  (this delivery's attempt {}: a retry)", act.run));
            }
        }
        None if body.get("duplicate").is_some() => {
            line.push_str(&format!(
                "  {}  {status}  duplicate: already handled, not handled again",
                field("received")
            ));
        }
        None => line.push_str(&format!("  {status} {}: {}", field("error"), field("message"))),
    }
    // The webhook's failure streak as Commerce Layer counts it, while there is one.
    if let Some(streak) = streak.filter(|n| *n > 0) {
        line.push_str(&text::paint(colour, text::Style::Bad, &format!("  (failure streak {streak})")));
    }
    line
}

/// `listen`'s line for a failure streak's notice (`code` `failure_streak` or
/// `failure_streak_ended`, `message` the core's words for it), at `now_ms`.
#[must_use]
pub fn streak_line(now_ms: u64, code: &str, message: &str, colour: bool) -> String {
    let time = timeline::clock(now_ms % 86_400_000);
    let style = if code == "failure_streak_ended" { text::Style::Good } else { text::Style::Bad };
    // The core's own words, about a topic of the catalogue (or `unknown`): nothing to escape.
    format!("{}  {}", time.trim_start_matches('+'), text::paint(colour, style, message))
}

/// The file name `listen --save` writes a payload to: the topic and the resource's id, with
/// anything but letters, digits, `_` and `-` replaced by `_` (so an id cannot leave the folder,
/// hide, or break a line), at most 100 characters of the id.
#[must_use]
pub fn save_name(topic: &str, id: &str) -> String {
    let mut safe: String = id
        .chars()
        .take(100)
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    if safe.is_empty() {
        safe.push('_');
    }
    format!("{topic}-{safe}.json")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn refusals_say_the_limits_listen_applies() {
        assert!(Refusal::HeadTooLarge.text().contains(&format!("{} KiB", MAX_HEAD_BYTES / 1024)));
        assert!(Refusal::TooManyHeaders.text().contains(&MAX_HEADERS.to_string()));
        let limits = ListenLimits::new(0, 0, 0);
        assert_eq!((limits.max_head_bytes, limits.max_headers), (MAX_HEAD_BYTES, MAX_HEADERS));
        assert_eq!((limits.header_timeout_ms, limits.body_timeout_ms, limits.max_connections), (1, 1, 1));
        for refusal in Refusal::ALL {
            assert_eq!(Refusal::named(refusal.name()), Some(refusal));
            assert!(!reason(refusal.status()).is_empty());
        }
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None, Some("xterm")));
        assert!(colour(true, Some(""), None));
        assert!(!colour(true, Some("1"), None));
        assert!(!colour(false, None, None));
        assert!(!colour(true, None, Some("dumb")));
    }

    #[test]
    fn secrets_come_from_flags_then_the_file_then_the_environment() {
        let given = vec!["a".to_owned()];
        assert_eq!(secrets(&given, Some(("f", "b\n\n c \n")), Some("e")).unwrap(), ["a", "b", "c"]);
        assert_eq!(secrets(&[], None, Some(" e ")).unwrap(), ["e"]);
        assert_eq!(secrets(&[], Some(("f", "\n")), Some("e")).unwrap_err().code, "usage");
        assert_eq!(secrets(&[], None, Some("  ")).unwrap_err().code, "missing_secret");
        assert_eq!(one_secret(vec!["a".into(), "b".into()]).unwrap_err().exit, EXIT_USAGE);
    }

    #[test]
    fn a_rehearsal_fails_the_first_deliveries_of_a_route_and_counts_retries() {
        let base = Behaviour { fail_rate: 0.0, fail_first: 0, slow_ms: 5 };
        let mut r = Rehearsal::new(base, &["/a=fail-first:1,slow-ms:9".into()], 1).unwrap();
        let first = r.delivery("/a?x=1", "k", "orders.place", "orders", "x");
        assert_eq!((first.fail, first.slow_ms, first.run), (true, 9, 1));
        let again = r.delivery("/a", "k", "orders.place", "orders", "x");
        assert_eq!((again.fail, again.run), (false, 2));
        assert_eq!(r.delivery("/b", "j", "t.e", "t", "y").slow_ms, 5);
        assert!(Rehearsal::new(base, &["/a=fail-rate:2".into()], 1).is_err());
        assert!(Rehearsal::new(base, &["/a".into()], 1).is_err());
    }

    #[test]
    fn send_hints_at_time_scale_when_a_failing_run_takes_over_a_minute() {
        let hint = send_hint(None, 1.0).unwrap();
        assert_eq!(
            hint,
            "note: a failing delivery is retried for up to 4 h 18 min 45 s; --time-scale 0.001 runs that in 16 s"
        );
        assert!(send_hint(None, 0.5).unwrap().contains("(2 h 9 min 23 s at --time-scale 0.5)"));
        assert_eq!(send_hint(None, 0.001), None);
        assert_eq!(send_hint(Some(2), 1.0), None, "45 s of retries");
        assert!(send_hint(Some(3), 1.0).unwrap().contains("1 min 45 s; --time-scale 0.1 runs that in 11 s"));
        // Retries beyond the schedule wait its last entry; the sum is not counted one by one.
        let most = send_hint(Some(u32::MAX), 1.0).unwrap();
        assert!(most.starts_with("note: a failing delivery is retried for up to 8589934"), "{most}");
        assert!(!most.contains("runs that in"), "{most}");
        assert!(send_hint(None, f64::NAN).is_some() && send_hint(None, 0.0).is_none());
    }

    #[test]
    fn send_shows_each_answer_and_when_the_retry_is_due() {
        let finished = |success: bool, result: &str| Output::AttemptFinished {
            at: 1_000,
            event: "evt_1".into(),
            webhook: "webhook".into(),
            attempt: 1,
            success,
            result: result.into(),
            failure_count: u32::from(!success),
        };
        let retry = Output::RetryScheduled {
            at: 1_000,
            event: "evt_1".into(),
            webhook: "webhook".into(),
            attempt: 2,
            due: 16_000,
        };
        let failed = status_outcome(500);
        let lines = send_lines(
            &[finished(false, "500 Internal Server Error"), retry.clone()],
            0,
            0.01,
            Some((&failed, b"oops\n")),
            false,
        );
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert_eq!(lines[1], format!("{:34}answer  oops", ""));
        assert!(lines[0].contains(" attempt  1  FAIL 500"), "{lines:#?}");
        assert!(
            lines[2].ends_with("retry 2 at +00:00:16.000: next retry in 15 s (150 ms at --time-scale 0.01)")
        );
        let at_once = send_lines(std::slice::from_ref(&retry), 0, 1.0, None, false);
        assert!(at_once[0].ends_with(": next retry in 15 s"), "{at_once:#?}");
        let duplicate = br#"{"received":"orders.place","duplicate":true}"#;
        let ok = status_outcome(200);
        let lines = send_lines(&[finished(true, "200 OK")], 0, 1.0, Some((&ok, duplicate)), false);
        assert_eq!(
            lines[1].trim_start(),
            r#"answer  {"received":"orders.place","duplicate":true}  (a duplicate: the receiver had handled this event already)"#
        );
        // No answer line for a call that got none, nor for the entries of a poll.
        assert_eq!(
            send_lines(&[finished(false, "timeout")], 0, 1.0, Some((&Outcome::Timeout, b"")), false).len(),
            1
        );
        assert_eq!(send_lines(&[finished(true, "200 OK")], 0, 1.0, None, false).len(), 1);
    }

    #[test]
    fn simulate_runs_a_file_or_else_a_builtin_of_that_name() {
        let missing =
            || Err(Unread { missing: true, reason: "No such file or directory (os error 2)".into() });
        let no_read =
            |name: &str| -> Result<(String, Vec<u8>), Failure> { Err(Failure::unreadable(name, "not here")) };
        for builtin in builtin::SCENARIOS {
            let scenario = simulate_scenario(builtin.name, missing(), no_read).unwrap();
            assert!(!scenario.webhooks.is_empty());
        }
        let from_file =
            simulate_scenario("three-webhooks", Ok(b"{\"webhooks\":[]}".to_vec()), no_read).unwrap();
        assert!(from_file.webhooks.is_empty(), "a file of that name comes first");
        let unknown = simulate_scenario("demo", missing(), no_read).unwrap_err();
        assert_eq!((unknown.code.as_str(), unknown.exit), ("io", EXIT_USAGE));
        assert!(
            unknown.message.ends_with("nor is it a built-in scenario (demo-live, three-webhooks)"),
            "{unknown:?}"
        );
        let denied = Err(Unread { missing: false, reason: "Permission denied (os error 13)".into() });
        assert!(simulate_scenario("demo-live", denied, no_read).is_err(), "only a missing file falls back");
    }

    #[test]
    fn saved_names_stay_in_their_folder() {
        assert_eq!(save_name("orders.place", "../../etc\n"), "orders.place-______etc_.json");
        assert_eq!(save_name("orders.place", ""), "orders.place-_.json");
    }
}
