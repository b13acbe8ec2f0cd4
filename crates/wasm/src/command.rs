//! The command line's bindings, for `npx clhooks` (the package's `cli.mjs`): `clhooks-command`,
//! which decides and words everything the Rust `clhooks` does. A command gives `{stdout,
//! failure}` (`failure`: `{code, message, exit}` or `null`); what cannot run throws such a
//! failure, a plain object.

use clhooks::receiver::Answer;
use clhooks::sender::Driver;
use clhooks_command::{self as command, Act, Behaviour, Failure, Printed, Rehearsal};
use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::driver::{ms, JsDriver};
use crate::errors::BindingError;
use crate::{set, to_js_value};

fn failure_value(failure: &Failure) -> JsValue {
    to_js_value(&serde_json::json!({"code": failure.code, "message": failure.message, "exit": failure.exit}))
}

fn printed_value(printed: &Printed) -> JsValue {
    let out = js_sys::Object::new();
    set(&out, "stdout", &JsValue::from_str(&printed.stdout));
    set(&out, "failure", &printed.failure.as_ref().map_or(JsValue::NULL, failure_value));
    out.into()
}

/// A binding's error as the command line reports it: exit 1, as the core's errors do.
fn failed(error: BindingError) -> JsValue {
    let failure = match error {
        BindingError::Core(e) => Failure::from(e),
        other => Failure::refused(other.code(), other.to_string()),
    };
    failure_value(&failure)
}

fn bytes(value: &JsValue) -> Result<Vec<u8>, JsValue> {
    convert::body(value).map_err(failed)
}

fn field(value: &JsValue, name: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn text_field(value: &JsValue, name: &str) -> Option<String> {
    field(value, name).as_string()
}

/// A failure thrown back from JS (a read that failed): `{code, message, exit}`.
fn failure_from(value: &JsValue) -> Failure {
    let code = text_field(value, "code").unwrap_or_else(|| "io".to_owned());
    let message = text_field(value, "message").unwrap_or_else(|| format!("{value:?}"));
    match field(value, "exit").as_f64() {
        Some(exit) if exit == f64::from(command::EXIT_FAILED) => Failure::refused(&code, message),
        _ => Failure::usage(&code, message),
    }
}

/// The command line `args` (without the program's name) parsed by the Rust CLI's own grammar:
/// `{args}`, the command and its options (`{command: 'sign', secret: [...], file, ...}`), or
/// `{said: {text, stderr, exit}}`, what to print instead (a help, the version, bad usage), its
/// help and errors coloured when `colour`.
#[wasm_bindgen(js_name = parseArgs)]
pub fn parse_args(args: Vec<String>, colour: bool) -> JsValue {
    let out = js_sys::Object::new();
    match clhooks_args::parse(args, colour) {
        Ok(cli) => set(&out, "args", &to_js_value(&cli.command)),
        Err(said) => set(
            &out,
            "said",
            &to_js_value(&serde_json::json!({"text": said.text, "stderr": said.stderr, "exit": said.exit})),
        ),
    }
    out.into()
}

/// `clhooks sign`.
#[wasm_bindgen(js_name = commandSign)]
pub fn sign(body: &JsValue, secret: &str) -> Result<JsValue, JsValue> {
    Ok(printed_value(&command::sign(&bytes(body)?, secret)))
}

/// `clhooks verify`.
#[wasm_bindgen(js_name = commandVerify)]
pub fn verify(body: &JsValue, signature: &str, secrets: Vec<String>) -> Result<JsValue, JsValue> {
    Ok(printed_value(&command::verify(&bytes(body)?, signature, &secrets)))
}

/// `clhooks topics`.
#[wasm_bindgen(js_name = commandTopics)]
pub fn topics(resource: Option<String>, json: bool) -> JsValue {
    printed_value(&command::topics(resource.as_deref(), json))
}

/// `clhooks topic`.
#[wasm_bindgen(js_name = commandTopic)]
pub fn topic(name: &str) -> JsValue {
    printed_value(&command::topic(name))
}

/// `clhooks inspect`: `options` is `{topic, maxDepth, json, pointer}`.
#[wasm_bindgen(js_name = commandInspect)]
pub fn inspect(body: &JsValue, options: &JsValue) -> Result<JsValue, JsValue> {
    let depth = convert::whole(options, "maxDepth", u64::from(u32::MAX)).map_err(failed)?;
    let options = command::Inspect {
        topic: text_field(options, "topic"),
        max_depth: depth.and_then(|d| usize::try_from(d).ok()),
        json: field(options, "json").is_truthy(),
        pointer: text_field(options, "pointer"),
    };
    Ok(printed_value(&command::inspect(&bytes(body)?, &options)))
}

/// The secrets of a command: `--secret`s, the `--secret-file` (its name and bytes) and the
/// environment's value. Throws a failure when there are none.
#[wasm_bindgen(js_name = commandSecrets)]
pub fn secrets(
    given: Vec<String>,
    file_name: Option<String>,
    file_bytes: Option<Vec<u8>>,
    env: Option<String>,
) -> Result<Vec<String>, JsValue> {
    let text = match (&file_name, file_bytes) {
        (Some(name), Some(bytes)) => {
            Some(command::secret_file_text(name, bytes).map_err(|f| failure_value(&f))?)
        }
        _ => None,
    };
    let file = file_name.as_deref().zip(text.as_deref());
    command::secrets(&given, file, env.as_deref()).map_err(|f| failure_value(&f))
}

/// The one secret to sign with; throws a failure for several.
#[wasm_bindgen(js_name = commandOneSecret)]
pub fn one_secret(secrets: Vec<String>) -> Result<String, JsValue> {
    command::one_secret(secrets).map_err(|f| failure_value(&f))
}

/// `simulate SCENARIO`'s scenario as JSON: `file` is the bytes of the file `arg` names, or
/// `{missing, reason}` when it could not be read (`missing`: there is no such file, and `arg`
/// may then name a built-in scenario). Its `payload_file`s are read by `read(name)`, which
/// returns `[shownName, bytes]` or throws a failure; with `contentType`, its deliveries'
/// Content-Type.
#[wasm_bindgen(js_name = commandReadScenario)]
pub fn read_scenario(
    arg: &str,
    file: &JsValue,
    read: &Function,
    content_type: Option<String>,
) -> Result<String, JsValue> {
    let file = match text_field(file, "reason") {
        Some(reason) => Err(command::Unread { missing: field(file, "missing").is_truthy(), reason }),
        None => Ok(bytes(file)?),
    };
    let mut scenario = command::simulate_scenario(arg, file, |name| {
        let got = read.call1(&JsValue::NULL, &JsValue::from_str(name)).map_err(|e| failure_from(&e))?;
        let got = Array::from(&got);
        let shown = got.get(0).as_string().unwrap_or_else(|| name.to_owned());
        let body = convert::body(&got.get(1)).map_err(|e| Failure::usage("io", e.to_string()))?;
        Ok((shown, body))
    })
    .map_err(|f| failure_value(&f))?;
    if let Some(content_type) = content_type {
        scenario.policy.content_type = content_type;
    }
    Ok(serde_json::to_string(&scenario).unwrap_or_default())
}

/// `clhooks simulate` of a scenario's JSON (from [`read_scenario`]).
#[wasm_bindgen(js_name = commandSimulate)]
pub fn simulate(scenario: &str, json: bool, colour: bool) -> JsValue {
    let run = clhooks::sender::simulate::Scenario::from_json(scenario)
        .and_then(|s| clhooks::sender::simulate::simulate(&s));
    printed_value(&match run {
        Ok(report) => Printed { stdout: command::report_text(&report, json, colour), failure: None },
        Err(e) => Printed { stdout: String::new(), failure: Some(e.into()) },
    })
}

/// The failure a thrown error of the core (`code`, `message`) is reported as.
#[wasm_bindgen(js_name = coreFailure)]
pub fn core_failure(code: &str, message: &str) -> JsValue {
    failure_value(&Failure::refused(code, message))
}

/// The line a failure is reported with on standard error.
#[wasm_bindgen(js_name = failureLine)]
pub fn failure_line(failure: &JsValue, colour: bool) -> String {
    failure_from(failure).line(colour)
}

/// Whether to colour: on a terminal, without `NO_COLOR`, not on a dumb terminal.
#[wasm_bindgen(js_name = useColour)]
pub fn use_colour(terminal: bool, no_color: Option<String>, term: Option<String>) -> bool {
    command::colour(terminal, no_color.as_deref(), term.as_deref())
}

/// What `replay` sends: `{headers, timeoutMs}`, the headers as `[name, value]` pairs and
/// the time Commerce Layer waits for an answer. Throws a failure.
#[wasm_bindgen(js_name = commandReplayHeaders)]
pub fn replay_headers(
    body: &JsValue,
    secret: &str,
    topic: Option<String>,
    content_type: &str,
) -> Result<JsValue, JsValue> {
    let headers = command::replay_headers(&bytes(body)?, secret, topic.as_deref(), content_type)
        .map_err(|f| failure_value(&f))?;
    let out = js_sys::Object::new();
    set(&out, "headers", &to_js_value(&headers));
    set(&out, "timeoutMs", &JsValue::from_f64(clhooks::sender::Policy::default().timeout_ms as f64));
    Ok(out.into())
}

fn pairs(headers: &JsValue) -> Vec<(String, String)> {
    Array::from(headers)
        .iter()
        .map(|pair| {
            let pair = Array::from(&pair);
            (pair.get(0).as_string().unwrap_or_default(), pair.get(1).as_string().unwrap_or_default())
        })
        .collect()
}

/// `replay --curl`'s command.
#[wasm_bindgen(js_name = commandCurl)]
pub fn curl(url: &str, headers: &JsValue, file: &str) -> String {
    command::curl(url, &pairs(headers), file)
}

/// What `replay` prints of an answer (`outcome` as the driver takes it).
#[wasm_bindgen(js_name = commandReplayResult)]
pub fn replay_result(outcome: &JsValue, ms: f64, body: &str) -> Result<JsValue, JsValue> {
    let outcome = crate::driver::read_outcome(outcome).map_err(failed)?;
    Ok(printed_value(&command::replay_result(&outcome, ms.max(0.0) as u64, body)))
}

/// Said when `replay` sends no topic.
#[wasm_bindgen(js_name = noTopicNote)]
pub fn no_topic_note() -> String {
    command::NO_TOPIC_NOTE.to_owned()
}

/// How long a live run goes before it shows a progress line, in ms.
#[wasm_bindgen(js_name = progressAfterMs)]
pub fn progress_after_ms() -> f64 {
    command::PROGRESS_AFTER_MS as f64
}

/// Where a scenario's `payload_file` is, beside the scenario (`scenario`: its path as given).
#[wasm_bindgen(js_name = commandBeside)]
pub fn beside(scenario: &str, name: &str) -> String {
    command::beside(scenario, name)
}

/// Checks `listen --forwarded`; throws a failure for an empty name.
#[wasm_bindgen(js_name = commandForwarded)]
pub fn forwarded(name: Option<String>) -> Result<(), JsValue> {
    command::forwarded(name.as_deref()).map(|_| ()).map_err(|f| failure_value(&f))
}

/// `listen`'s limits (`{headerTimeoutMs, bodyTimeoutMs, maxConnections, maxHeadBytes,
/// maxHeaders}`) for its `--header-timeout-ms`, `--body-timeout-ms` and `--max-connections`.
#[wasm_bindgen(js_name = listenLimits)]
pub fn listen_limits(header_timeout_ms: f64, body_timeout_ms: f64, max_connections: f64) -> JsValue {
    let whole = |n: f64| if n.is_finite() && n > 0.0 { n as u64 } else { 0 };
    let limits = command::ListenLimits::new(
        whole(header_timeout_ms),
        whole(body_timeout_ms),
        usize::try_from(whole(max_connections)).unwrap_or(usize::MAX),
    );
    let out = js_sys::Object::new();
    set(&out, "headerTimeoutMs", &JsValue::from_f64(limits.header_timeout_ms as f64));
    set(&out, "bodyTimeoutMs", &JsValue::from_f64(limits.body_timeout_ms as f64));
    set(&out, "maxConnections", &JsValue::from_f64(limits.max_connections as f64));
    set(&out, "maxHeadBytes", &JsValue::from_f64(limits.max_head_bytes as f64));
    set(&out, "maxHeaders", &JsValue::from_f64(limits.max_headers as f64));
    out.into()
}

/// How `listen` refuses a request it cannot take (`name`: `too_many_connections`, `chunked`,
/// `bare_lf`, ...): `{status, reason, text}`, or `null` for an unknown name.
#[wasm_bindgen(js_name = refusal)]
pub fn refusal(name: &str) -> JsValue {
    command::Refusal::named(name).map_or(JsValue::NULL, |r| {
        let out = js_sys::Object::new();
        set(&out, "status", &JsValue::from(r.status()));
        set(&out, "reason", &JsValue::from_str(command::reason(r.status())));
        set(&out, "text", &JsValue::from_str(r.text()));
        out.into()
    })
}

/// What a delivery failed on purpose says.
#[wasm_bindgen(js_name = failingOnPurpose)]
pub fn failing_on_purpose() -> String {
    command::FAILING_ON_PURPOSE.to_owned()
}

/// `listen`'s first line.
#[wasm_bindgen(js_name = listening)]
pub fn listening(address: &str, secrets: u32) -> String {
    command::listening(address, secrets as usize)
}

/// The file name `listen --save` writes a payload to.
#[wasm_bindgen(js_name = saveName)]
pub fn save_name(topic: &str, id: &str) -> String {
    command::save_name(topic, id)
}

fn act_value(act: &Act) -> JsValue {
    let out = js_sys::Object::new();
    set(&out, "slowMs", &JsValue::from_f64(act.slow_ms as f64));
    set(&out, "fail", &JsValue::from_bool(act.fail));
    set(&out, "run", &JsValue::from(act.run));
    set(&out, "topic", &JsValue::from_str(&act.topic));
    set(&out, "kind", &JsValue::from_str(&act.kind));
    set(&out, "id", &JsValue::from_str(&act.id));
    out.into()
}

fn read_act(value: &JsValue) -> Option<Act> {
    if value.is_undefined() || value.is_null() {
        return None;
    }
    Some(Act {
        slow_ms: field(value, "slowMs").as_f64().unwrap_or(0.0) as u64,
        fail: field(value, "fail").is_truthy(),
        run: field(value, "run").as_f64().unwrap_or(1.0) as u32,
        topic: text_field(value, "topic").unwrap_or_default(),
        kind: text_field(value, "kind").unwrap_or_default(),
        id: text_field(value, "id").unwrap_or_default(),
    })
}

/// `listen`'s misbehaviour on purpose.
#[wasm_bindgen(js_name = Rehearsal)]
pub struct JsRehearsal {
    inner: Rehearsal,
}

#[wasm_bindgen(js_class = Rehearsal)]
impl JsRehearsal {
    /// `--fail-rate`, `--slow-ms`, the `--route`s and `--seed`; throws a failure for a bad route.
    #[wasm_bindgen(constructor)]
    pub fn new(fail_rate: f64, slow_ms: f64, routes: Vec<String>, seed: f64) -> Result<JsRehearsal, JsValue> {
        let base = Behaviour { fail_rate, fail_first: 0, slow_ms: slow_ms.max(0.0) as u64 };
        Rehearsal::new(base, &routes, seed.max(0.0) as u64)
            .map(|inner| JsRehearsal { inner })
            .map_err(|f| failure_value(&f))
    }

    /// What to do with a verified delivery: `{slowMs, fail, run, topic, kind, id}`.
    pub fn delivery(&mut self, target: &str, key: &str, topic: &str, kind: &str, id: &str) -> JsValue {
        act_value(&self.inner.delivery(target, key, topic, kind, id))
    }
}

/// `listen`'s line for a request answered at `nowMs`: `act` from `Rehearsal.delivery` when it
/// reached the handler, `answer` as `{status, body}`.
#[wasm_bindgen(js_name = listenLine)]
pub fn listen_line(
    now_ms: f64,
    method: &str,
    target: &str,
    act: &JsValue,
    answer: &JsValue,
    streak: Option<u32>,
    colour: bool,
) -> String {
    let answer = Answer {
        status: field(answer, "status").as_f64().unwrap_or(0.0) as u16,
        body: text_field(answer, "body").unwrap_or_default(),
    };
    command::listen_line(
        now_ms.max(0.0) as u64,
        method,
        target,
        read_act(act).as_ref(),
        &answer,
        streak,
        colour,
    )
}

/// A request target's path, without its query (what `--health-path` is matched with).
#[wasm_bindgen(js_name = pathOf)]
pub fn path_of(target: &str) -> String {
    command::path_of(target).to_owned()
}

/// `listen`'s line for a failure streak's notice (see `clhooks_command::streak_line`).
#[wasm_bindgen(js_name = streakLine)]
pub fn streak_line(now_ms: f64, code: &str, message: &str, colour: bool) -> String {
    command::streak_line(now_ms.max(0.0) as u64, code, message, colour)
}

/// `send`'s run for [`crate::driver`]: `options` is `{body, url, secret, topic, include,
/// timeScale, maxRetries, contentType}`; throws a failure.
pub(crate) fn send_driver(options: &JsValue, now: u64) -> Result<Driver, JsValue> {
    let body = bytes(&field(options, "body"))?;
    let include: Vec<String> =
        Array::from(&field(options, "include")).iter().filter_map(|v| v.as_string()).collect();
    let max_retries = convert::whole(options, "maxRetries", u64::from(u32::MAX)).map_err(failed)?;
    let scale = field(options, "timeScale").as_f64().unwrap_or(1.0);
    let args = command::Send {
        body: &body,
        url: &text_field(options, "url").unwrap_or_default(),
        secret: &text_field(options, "secret").unwrap_or_default(),
        topic: &text_field(options, "topic").unwrap_or_default(),
        include: &include,
        time_scale: scale,
        max_retries: max_retries.and_then(|r| u32::try_from(r).ok()),
        content_type: &text_field(options, "contentType")
            .unwrap_or_else(|| clhooks::sender::CONTENT_TYPE.to_owned()),
    };
    command::send(&args, now).map_err(|f| failure_value(&f))
}

/// `send`'s note before it starts (`options` as `Driver.send` takes them: its `maxRetries` and
/// `timeScale`), or `null`.
#[wasm_bindgen(js_name = commandSendHint)]
pub fn send_hint(options: &JsValue) -> Result<Option<String>, JsValue> {
    let max_retries = convert::whole(options, "maxRetries", u64::from(u32::MAX)).map_err(failed)?;
    let scale = field(options, "timeScale").as_f64().unwrap_or(1.0);
    Ok(command::send_hint(max_retries.and_then(|r| u32::try_from(r).ok()), scale))
}

/// How a finished `send` ends: `null`, or the failure.
pub(crate) fn send_result(driver: &Driver) -> JsValue {
    command::send_result(driver.timeline()).err().map_or(JsValue::NULL, |f| failure_value(&f))
}

/// The lines of timeline entries `from..` a driver's timeline, and where the next begin.
pub(crate) fn lines(driver: &Driver, from: usize, colour: bool) -> JsValue {
    let timeline = driver.timeline();
    let lines: Array = timeline
        .get(from..)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| command::text::line(o, driver.start(), colour))
        .map(|l| JsValue::from_str(&l))
        .collect();
    let out = js_sys::Object::new();
    set(&out, "lines", &lines);
    set(&out, "next", &JsValue::from_f64(timeline.len() as f64));
    out.into()
}

/// The command line's part of the delivery driver.
#[wasm_bindgen(js_class = Driver)]
impl JsDriver {
    /// `clhooks send`'s run at `now`: one event (`{body, url, secret, topic, include, timeScale,
    /// maxRetries, contentType}`) for one callback URL. Throws a command failure.
    pub fn send(options: &JsValue, now: f64) -> Result<JsDriver, JsValue> {
        send_driver(options, ms(now)).map(|inner| JsDriver { inner })
    }

    /// The text lines of the timeline entries from `from` on (`{lines, next}`: `next` is
    /// where the following call begins), coloured when `colour`.
    pub fn lines(&self, from: f64, colour: bool) -> JsValue {
        lines(&self.inner, ms(from) as usize, colour)
    }

    /// `send`'s lines for the timeline entries from `from` on (`{lines, next}`), its waits
    /// compressed by `timeScale`: `outcome` is the outcome of the call whose end gave them, with
    /// the start of the answer's body as `bytes`, or `undefined` for those of a poll.
    #[wasm_bindgen(js_name = sendLines)]
    pub fn send_lines(
        &self,
        from: f64,
        colour: bool,
        time_scale: f64,
        outcome: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let answer = if outcome.is_undefined() || outcome.is_null() {
            None
        } else {
            let body = field(outcome, "bytes");
            let body = if body.is_undefined() { Vec::new() } else { bytes(&body)? };
            Some((crate::driver::read_outcome(outcome).map_err(failed)?, body))
        };
        let timeline = self.inner.timeline();
        let entries = timeline.get(ms(from) as usize..).unwrap_or_default();
        let answer = answer.as_ref().map(|(outcome, body)| (outcome, body.as_slice()));
        let lines: Array = command::send_lines(entries, self.inner.start(), time_scale, answer, colour)
            .iter()
            .map(|l| JsValue::from_str(l))
            .collect();
        let out = js_sys::Object::new();
        set(&out, "lines", &lines);
        set(&out, "next", &JsValue::from_f64(timeline.len() as f64));
        Ok(out.into())
    }

    /// The progress line at `now` of a run started at `started` (wall-clock ms).
    pub fn progress(&self, now: f64, started: f64) -> String {
        command::progress(&self.inner, ms(now), ms(started))
    }

    /// How a `send` run ended: `null` when delivered, else the failure.
    #[wasm_bindgen(js_name = sendResult)]
    pub fn send_result(&self) -> JsValue {
        send_result(&self.inner)
    }

    /// What `simulate --live` prints once its run ends.
    #[wasm_bindgen(js_name = liveReportText)]
    pub fn live_report_text(&self, now: f64, json: bool) -> String {
        command::live_report_text(&self.inner.report(ms(now)), json)
    }
}

/// `dead-letters`' Redis URL: `--redis`, or the environment's; throws a failure for neither.
#[wasm_bindgen(js_name = commandRedisUrl)]
pub fn redis_url(given: Option<String>, env: Option<String>) -> Result<String, JsValue> {
    command::dead::redis_url(given.as_deref(), env.as_deref()).map_err(|f| failure_value(&f))
}

/// A Redis that could not be reached or answered wrong, as a failure.
#[wasm_bindgen(js_name = commandRedisUnavailable)]
pub fn redis_unavailable(url: &str, message: &str) -> JsValue {
    failure_value(&command::dead::unavailable(url, message))
}

/// A dead letter from JS: `{id, fields: [name, value, ...]}`, names and values strings or bytes.
fn dead_letter(value: &JsValue) -> Result<command::dead::DeadLetter, JsValue> {
    let id = text_field(value, "id").unwrap_or_default();
    let fields = js_sys::Array::from(&field(value, "fields"));
    let mut pairs = Vec::new();
    let mut items = fields.iter();
    while let (Some(name), Some(value)) = (items.next(), items.next()) {
        pairs.push((bytes(&name)?, bytes(&value)?));
    }
    Ok(command::dead::DeadLetter { id, fields: pairs })
}

/// `dead-letters list`: `letters` as `{id, fields}`.
#[wasm_bindgen(js_name = commandDeadLetters)]
pub fn dead_letters(stream: &str, letters: &js_sys::Array) -> Result<JsValue, JsValue> {
    let letters = letters.iter().map(|letter| dead_letter(&letter)).collect::<Result<Vec<_>, _>>()?;
    Ok(printed_value(&command::dead::list(stream, &letters)))
}

/// `dead-letters show ID`: the letter as `{id, fields}`, or `undefined` when it is not there.
#[wasm_bindgen(js_name = commandDeadLetter)]
pub fn dead_letter_shown(stream: &str, id: &str, letter: &JsValue) -> Result<JsValue, JsValue> {
    let letter = if letter.is_undefined() || letter.is_null() { None } else { Some(dead_letter(letter)?) };
    Ok(printed_value(&command::dead::show(stream, id, letter.as_ref())))
}

/// Throws a usage failure for the first of `ids` that is not a dead letter's id.
#[wasm_bindgen(js_name = commandCheckIds)]
pub fn check_ids(ids: Vec<String>) -> Result<(), JsValue> {
    command::dead::check_ids(ids.iter().map(String::as_str)).map_err(|f| failure_value(&f))
}

/// `dead-letters replay`'s ids: an array, or `null` for all; throws a failure for neither or both.
#[wasm_bindgen(js_name = commandReplayIds)]
pub fn replay_ids(ids: Vec<String>, all: bool) -> Result<JsValue, JsValue> {
    let chosen = command::dead::replay_ids(ids, all).map_err(|f| failure_value(&f))?;
    Ok(chosen
        .map_or(JsValue::NULL, |ids| ids.into_iter().map(JsValue::from).collect::<js_sys::Array>().into()))
}

/// `dead-letters replay`'s outcome: how many moved, of how many named (`undefined`: all).
#[wasm_bindgen(js_name = commandReplayed)]
pub fn replayed(stream: &str, moved: f64, named: Option<u32>) -> JsValue {
    let moved = if moved.is_finite() && moved > 0.0 { moved as u64 } else { 0 };
    printed_value(&command::dead::replayed(stream, moved, named.map(|n| n as usize)))
}
