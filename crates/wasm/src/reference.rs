//! `docs/reference.md`, the reference of the receivers' options and of every error code, made
//! from the code's own lists: the core's [`Error::CODES`] with each error's
//! [`http_status`](Error::http_status), the bindings' [`BINDING_CODES`], the receiver's
//! [`ANSWER_CODES`] and the receiver's defaults. What the code cannot say, what an option or a
//! code means, is written once here, keyed by name: [`render`] refuses a code without a meaning
//! and a meaning without a code, and the tests (`tests/reference.rs`, and
//! `tests/receivers/options.test.mjs` against the built package) fail when the committed file,
//! the Rust builder methods, the `clhooks listen` flags or the package's options say otherwise.
//! `src/bin/clhooks-reference.rs` prints it: `make reference`.

use clhooks::health::Signal;
use clhooks::payload::KeyScope;
use clhooks::receiver::{
    Duplicates, InFlight, Notice, Receiver, ANSWER_CODES, DEFAULT_HANDLER_TIMEOUT_MS, DEFAULT_KEEP_MS,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_SEEN_CAPACITY, DEFAULT_STORE_TIMEOUT_MS, LEASE_MARGIN_MS,
    UNBOUNDED_LEASE_MS,
};
use clhooks::{Error, SignatureHint, Verifier};
use clhooks_command::text::duration;
use serde::Serialize;

use crate::codes::{BINDING_CODES, BINDING_STATUS};

/// Where `docs/reference.md` is, from the workspace's root.
pub const PATH: &str = "docs/reference.md";

/// One option of the package's receivers: `new Webhooks(options)`, `createNodeHandler`,
/// `expressMiddleware` and `handleRequest` (`ReceiverOptions` in `index.d.ts`).
#[derive(Debug, Clone, Copy)]
pub struct ReceiverOption {
    /// Its name in JavaScript.
    pub name: &'static str,
    /// What sets it on the Rust [`Receiver`] (Markdown): its builder method, or what stands for it.
    pub rust: &'static str,
    /// The `clhooks listen` flags that set it.
    pub listen: &'static [&'static str],
    /// Its default, in words for people (Markdown).
    pub default: fn() -> String,
    /// What it does (Markdown, one line).
    pub meaning: &'static str,
}

/// Every option of the package's receivers, in the order the reference lists them.
pub const RECEIVER_OPTIONS: &[ReceiverOption] = &[
    ReceiverOption {
        name: "secret",
        rust: "`Receiver::new(Verifier::new(secrets)?)`",
        listen: &["--secret", "--secret-file"],
        default: || "none: required (`clhooks listen` reads `CL_WEBHOOK_SECRET` without a flag)".into(),
        meaning: "The webhook's shared secret; several while rotating (any match passes), or a `Verifier`.",
    },
    ReceiverOption {
        name: "onEvent",
        rust: "`route(\"*\")`, with the handler given to `handle`",
        listen: &[],
        default: || "none".into(),
        meaning: "Called for every verified event, as `on('*', handler)`; one that throws or rejects makes \
                  the answer 500 `handler_failed`.",
    },
    ReceiverOption {
        name: "onError",
        rust: "none: the handler's `Err`",
        listen: &[],
        default: || "`console.error`; `null`: nothing".into(),
        meaning: "Told of the error a handler threw (the answer is 500 all the same), of a handler still \
                  running at Commerce Layer's 5 s deadline (`deadline_exceeded`), of a seen-store \
                  that could not record or release a key (`store_unavailable`; the answer stands), and \
                  of a webhook's failure streak at 5 and 30 and its end (`failure_streak`, \
                  `failure_streak_ended`; a streak goes to `console.warn` when unset).",
    },
    ReceiverOption {
        name: "meter",
        rust: "the `metrics` facade: install any recorder",
        listen: &[],
        default: || "none: no metrics".into(),
        meaning: "An OpenTelemetry `Meter` (`metrics.getMeter('my-app')`): `clhooks.deliveries`, \
                  `clhooks.answer.duration`, `clhooks.handler.duration` and `clhooks.failure_streak`. \
                  See docs/health.md.",
    },
    ReceiverOption {
        name: "logger",
        rust: "`tracing` events (target `clhooks`)",
        listen: &[],
        default: || "none: no logs".into(),
        meaning: "A pino- or console-style logger: one record per request answered (`info`, `warn` when \
                  it failed) with the topic, event id, idempotency key, status, outcome, duration, duplicate \
                  flag and streak; never a secret, a signature or a body.",
    },
    ReceiverOption {
        name: "maxBodyBytes",
        rust: "`with_max_body_bytes`",
        listen: &["--max-body"],
        default: || bytes(DEFAULT_MAX_BODY_BYTES),
        meaning: "A body over this many bytes is answered 413 `payload_too_large` without being read; real \
                  payloads are tens of KB.",
    },
    ReceiverOption {
        name: "handlerTimeoutMs",
        rust: "`with_handler_timeout_ms`",
        listen: &[],
        default: || ms(DEFAULT_HANDLER_TIMEOUT_MS),
        meaning: "How long the handlers of a delivery may run before a caller still waiting is answered \
                  503 `handler_timeout`. The claim is kept until they end (copies get 409, then a \
                  duplicate once recorded), or until its lease ends; so it also sizes the lease, which \
                  frees the key of an instance that died mid-handler. 0: no limit.",
    },
    ReceiverOption {
        name: "seen",
        rust: "the `SeenStore` given to `handle`",
        listen: &[],
        default: || format!("the last {} handled keys, in memory", thousands(DEFAULT_SEEN_CAPACITY as u64)),
        meaning: "Where idempotency keys are remembered: a store with `claim`, `done` and `release` \
                  (`createRedisStore`, `createDurableObjectStore`, one of your own); `null` turns \
                  idempotency off.",
    },
    ReceiverOption {
        name: "keyScope",
        rust: "`with_key_scope`",
        listen: &[],
        default: || {
            let word = match KeyScope::default() {
                KeyScope::TopicAndBody => "topic-and-body",
                KeyScope::Body => "body",
            };
            format!("`'{word}'`")
        },
        meaning: "What the idempotency key is made of: the topic and the body, or the body alone (`'body'`: \
                  one signed body resent under other topics is handled once; the topic header is not \
                  signed).",
    },
    ReceiverOption {
        name: "duplicates",
        rust: "`with_duplicates`",
        listen: &[],
        default: || word(Duplicates::default()),
        meaning: "A delivery already handled is answered 200 without calling the handlers (`'skip'`), or \
                  passed to them with `duplicate: true` (`'mark'`).",
    },
    ReceiverOption {
        name: "inFlight",
        rust: "`with_in_flight`",
        listen: &[],
        default: || word(InFlight::default()),
        meaning: "A copy another instance is handling right now is answered 409 `in_flight`, so that \
                  Commerce Layer retries it later (`'retry'`), or 200 with `in_flight: true`, trusting \
                  that instance (`'accept'`).",
    },
    ReceiverOption {
        name: "leaseMs",
        rust: "`with_lease_ms`",
        listen: &[],
        default: || {
            let lease = Verifier::new(["s"]).map(|v| Receiver::new(v).terms().lease_ms).unwrap_or_default();
            format!(
                "`handlerTimeoutMs` + `storeTimeoutMs` + {}: {}; {} when `handlerTimeoutMs` is 0",
                duration(LEASE_MARGIN_MS),
                ms(lease),
                duration(UNBOUNDED_LEASE_MS)
            )
        },
        meaning: "How long a claim lasts when its holder never ends it (a process killed mid-handler, a \
                  handler that never returns: the receiver releases it then); it must be over \
                  `handlerTimeoutMs` + `storeTimeoutMs`.",
    },
    ReceiverOption {
        name: "keepMs",
        rust: "`with_keep_ms`",
        listen: &[],
        default: || ms(DEFAULT_KEEP_MS),
        meaning: "How long a shared store keeps a handled key; the default is Commerce Layer's retry \
                  window, so that no retry of a handled delivery runs again.",
    },
    ReceiverOption {
        name: "storeTimeoutMs",
        rust: "`with_store_timeout_ms`",
        listen: &[],
        default: || ms(DEFAULT_STORE_TIMEOUT_MS),
        meaning: "How long to wait for the seen-store's answer to a claim before answering 503 \
                  `store_unavailable`; 0: for ever.",
    },
    ReceiverOption {
        name: "queue",
        rust: "`with_handoff(Handoff::Queue { claims })`",
        listen: &[],
        default: || "none: the handlers run within the request".into(),
        meaning: "Handoff mode: each verified delivery is written to this durable queue \
                  (`createRedisQueue`, `createMemoryQueue`, or your own: see docs/handoff.md) and answered 200 \
                  `handed_off` once the queue holds it; workers (`createWorker`) run the handlers after. \
                  A queue that fails or is slower than `storeTimeoutMs` gets 503 `queue_unavailable`.",
    },
    ReceiverOption {
        name: "sources",
        rust: "`with_sources(Sources::allow(..)?.behind(..)?)`",
        listen: &["--allow-source", "--trust-proxy", "--forwarded"],
        default: || "none: every caller".into(),
        meaning: "Receive only from these addresses: `{ allow, proxies?, forwarded? }` (`'commercelayer'` \
                  for Commerce Layer's published ones); any other caller is answered 403 \
                  `forbidden_source` before anything is read.",
    },
];

/// What each error code means, with its usual cause and fix (Markdown, one line), keyed by code.
pub const MEANINGS: &[(&str, &str)] = &[
    (
        "invalid_topic",
        "The `X-CommerceLayer-Topic` header (or a topic given) is not `{resource}.{event}` in lowercase \
         snake_case.",
    ),
    ("invalid_topic_pattern", "A routing pattern other than `*`, `resource.*`, `*.event` or a topic."),
    ("empty_secret", "A secret is `\"\"`: an environment variable that is not set, usually."),
    ("missing_secret", "No secret was given: pass the webhook's shared secret."),
    (
        "missing_signature",
        "No `X-CommerceLayer-Signature` header, or a blank one: is the request from Commerce Layer?",
    ),
    (
        "malformed_signature",
        "The signature is not base64 of 32 bytes; `hint: 'looks_like_hex'` when it is a hex digest.",
    ),
    (
        "signature_mismatch",
        "The body was changed or re-serialized before verification, or the secret is another webhook's: \
         verify the raw bytes with this webhook's secret.",
    ),
    ("missing_topic", "No `X-CommerceLayer-Topic` header, or a blank one."),
    ("topic_mismatch", "The topic is about another resource than the payload's `data.type`."),
    ("invalid_json", "The body is not JSON, or not UTF-8."),
    (
        "invalid_document",
        "The body is not a single-resource JSON:API document; the message says where it goes wrong.",
    ),
    ("wrong_resource_type", "A typed read (`Webhook`…) of a resource of another type."),
    (
        "invalid_include_path",
        "An `include_resources` entry that is not a dot path such as `line_items.sku`: Commerce Layer \
         would refuse it.",
    ),
    (
        "invalid_callback_url",
        "A callback URL that is not an absolute `http://` or `https://` URL: Commerce Layer would refuse it.",
    ),
    ("conflicting_triggers", "A webhook update asks for `_disable` and `_enable` at once."),
    (
        "forbidden_for_sales_channel",
        "`_reset_circuit` with a sales-channel credential, which Commerce Layer refuses: use an \
         integration's.",
    ),
    ("unknown_webhook", "A sender was asked about a webhook it does not have."),
    ("duplicate_webhook_id", "One webhook id given to two webhooks of a sender."),
    (
        "unknown_attempt",
        "An attempt reported complete that is not in flight (unknown, or completed already).",
    ),
    (
        "invalid_scenario",
        "A simulation scenario that does not parse or makes no sense, or asks for more than a run may do.",
    ),
    (
        "simulation_limit",
        "A run that would record more timeline entries than it may (a retry policy without end, say): \
         stopped there.",
    ),
    (
        "denormalize_limit",
        "Denormalizing would make more objects than `maxNodes`, or copy repeated resources past \
         `maxGrowth`: lower the depth, raise the limit or read `included` directly.",
    ),
    (
        "forbidden_source",
        "The caller is not in the receiver's `sources` allow-list (or its address could not be told): \
         refused before anything is read.",
    ),
    ("invalid_source", "A `sources` entry that is neither an IP address nor a CIDR block."),
    (
        "store_unavailable",
        "The seen-store could not be reached, failed, or did not answer a claim within `storeTimeoutMs`; \
         told to `onError` when a handled key could not be recorded (the answer stays 200).",
    ),
    (
        "invalid_record",
        "A queued message is not a record this version reads (another version, a field missing or \
         malformed): a worker moves it to the dead letters with this reason.",
    ),
    (
        "record_too_large",
        "In handoff mode on Cloudflare Queues, the delivery's record is over a message's 128 KB: answered \
         503 and told to `onError`. Hand such deliveries to the Redis queue, which has no such limit.",
    ),
    (
        "invalid_worker",
        "A worker's settings do not make sense (no attempt, no concurrency, a reclaim idle time under 3 ms).",
    ),
    (
        "body_not_raw",
        "Something read the body before clhooks and kept only a parsed object, or nothing: the \
         message names the fix for what the adapter saw (Express: mount the route before \
         `express.json()`, or `express.json(webhooks.jsonOptions())`; the Next.js Pages Router: \
         `bodyParser: false`; a fetch `Request` already read: pass it unread; your own call: the \
         raw bytes). A missing or malformed signature is answered 401 first.",
    ),
    (
        "invalid_argument",
        "An argument or option of the wrong type, or one that cannot be read (a detached buffer, a \
         throwing getter or Proxy, a freed `Verifier`).",
    ),
    (
        "core_failed",
        "The WebAssembly instance failed (a trap); the package replaced it, and everything made before goes \
         on in the new one: make the call again.",
    ),
    (
        "method_not_allowed",
        "The request is not a `POST`: Commerce Layer only POSTs, so something else called the webhook's URL.",
    ),
    (
        "payload_too_large",
        "The body is over `maxBodyBytes` (the answer's `limit`); what the client still sends is read and \
         dropped, within bounds, before the connection closes.",
    ),
    (
        "body_unreadable",
        "The body could not be read to its end: the client went away, or sent a broken or late body.",
    ),
    (
        "in_flight",
        "Another copy of this delivery is being handled right now; the retry finds it handled (a \
         duplicate), or runs it if that copy failed.",
    ),
    (
        "handler_failed",
        "A handler threw or rejected; `onError` is told, and the claim released so the retry runs.",
    ),
    (
        "handler_timeout",
        "The handlers ran past `handlerTimeoutMs`. The claim is kept until they end: Commerce Layer's retry \
         gets 409, then a duplicate once they succeed (or runs, if they fail). Answer within Commerce \
         Layer's 5 s: queue slow work.",
    ),
    (
        "deadline_exceeded",
        "Told, never answered: a handler is still running at Commerce Layer's 5 s deadline, so Commerce \
         Layer counts the delivery as failed and will retry it (409 while this one runs, then a \
         duplicate). Once per delivery; the status is the one Commerce Layer counts. Hand slow work to a \
         queue and answer at once.",
    ),
    (
        "queue_unavailable",
        "In handoff mode, the queue failed to take the delivery or said nothing within `storeTimeoutMs`; \
         `onError` is told. Nothing is answered 200 that the queue does not hold: Commerce Layer retries, \
         and a record the queue took after all makes the retry a duplicate. A worker is told this code \
         when it cannot read or settle (the message is reclaimed and runs again).",
    ),
    (
        "failure_streak",
        "A webhook's consecutive failed attempts, counted as Commerce Layer counts them, reached 5 (it \
         e-mails the organization's owner: `circuit: 'notice'`) or 30 (it opens the webhook's circuit and \
         sends nothing more until it is reset: `circuit: 'open'`); with `streak`, `topic` and `verified` \
         (false: signature mismatches claiming that topic). Told once per threshold.",
    ),
    (
        "failure_streak_ended",
        "A success ended a streak that had reached the notice; `streak` says how long it was.",
    ),
    (
        "receiver_failed",
        "The receiving side itself failed (a seen-store that broke its contract, a bug); the message says \
         how.",
    ),
];

/// Where a code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An [`Error`] of the core: the same in Rust, the command line and JavaScript.
    Core,
    /// The JavaScript package's only ([`BINDING_CODES`]).
    Package,
    /// A receiver's answer that is no error of either ([`ANSWER_CODES`]).
    Answer,
    /// Told to the error handler, never answered ([`Notice`]).
    Notice,
    /// A failure streak's threshold, told to the error handler ([`Signal`]).
    Streak,
}

impl Origin {
    fn label(self) -> &'static str {
        match self {
            Origin::Core => "core (Rust, CLI, JS)",
            Origin::Package => "JS package only",
            Origin::Answer => "receiver answer",
            Origin::Notice => "told to `onError` / `on_error`",
            Origin::Streak => "told to `onError` / `on_error` (a failure streak)",
        }
    }
}

/// One error code as the reference lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The code.
    pub code: &'static str,
    /// The status a receiver answers it with (and a thrown `WebhookError` carries).
    pub status: u16,
    /// Where it comes from.
    pub origin: Origin,
    /// Its entry of [`MEANINGS`].
    pub meaning: &'static str,
}

/// One error of each variant, for its status: [`Error::http_status`] is decided by the variant
/// alone. [`codes`] refuses a code of [`Error::CODES`] without one here.
fn core_errors() -> Vec<Error> {
    let text = String::new;
    vec![
        Error::InvalidTopic { input: text(), reason: "" },
        Error::InvalidTopicPattern { input: text() },
        Error::EmptySecret,
        Error::MissingSecret,
        Error::MissingSignature,
        Error::MalformedSignature { hint: SignatureHint::NotBase64 },
        Error::SignatureMismatch,
        Error::MissingTopic,
        Error::TopicMismatch { topic: text(), data_type: text() },
        Error::InvalidJson { message: text() },
        Error::InvalidDocument { message: text() },
        Error::WrongResourceType { expected: "", found: text() },
        Error::InvalidIncludePath { path: text() },
        Error::InvalidCallbackUrl { url: text() },
        Error::ConflictingTriggers,
        Error::ForbiddenForSalesChannel,
        Error::UnknownWebhook { id: text() },
        Error::DuplicateWebhookId { id: text() },
        Error::UnknownAttempt { id: 0 },
        Error::InvalidScenario { message: text() },
        Error::SimulationLimit { limit: "", value: 0 },
        Error::DenormalizeLimit { limit: "", value: 0 },
        Error::ForbiddenSource { address: text() },
        Error::InvalidSource { input: text() },
        Error::StoreUnavailable { message: text() },
        Error::InvalidRecord { reason: text() },
        Error::RecordTooLarge { size: 0, limit: 0 },
        Error::InvalidWorker { reason: text() },
    ]
}

/// Every code: the core's, the package's, then the receivers' answers, each with its status and
/// meaning.
///
/// # Errors
///
/// What is out of step, in words: a code of [`Error::CODES`] with no sample error, a code in
/// two lists, a code without an entry in [`MEANINGS`], or an entry for a code no list has.
pub fn codes() -> Result<Vec<Code>, String> {
    let samples = core_errors();
    let mut listed = Vec::new();
    for &code in Error::CODES {
        let status = samples.iter().find(|e| e.code() == code).map(Error::http_status).ok_or_else(|| {
            format!("`{code}` is in Error::CODES but reference.rs has no sample of it (core_errors)")
        })?;
        listed.push((code, status, Origin::Core));
    }
    listed.extend(BINDING_CODES.iter().map(|&code| (code, BINDING_STATUS, Origin::Package)));
    listed.extend(ANSWER_CODES.iter().map(|&(code, status)| (code, status, Origin::Answer)));
    // The notices the error handler is told share their code with an answer or an error, all
    // but the deadline's.
    listed.extend(Notice::ALL.iter().map(|n| (n.code(), n.status(), Origin::Notice)));
    // A streak's signal carries the status of the answer that crossed its threshold.
    listed.extend(Signal::CODES.iter().map(|&code| (code, 0, Origin::Streak)));
    let mut out: Vec<Code> = Vec::with_capacity(listed.len());
    for (code, status, origin) in listed {
        if let Some(known) = out.iter().find(|c| c.code == code) {
            if origin == Origin::Notice && known.status == status {
                continue;
            }
            return Err(format!("`{code}` is in two lists of codes"));
        }
        let meaning = MEANINGS.iter().find(|(c, _)| *c == code).map(|(_, m)| *m).ok_or_else(|| {
            format!("`{code}` has no meaning in reference.rs (MEANINGS): add one line for it")
        })?;
        out.push(Code { code, status, origin, meaning });
    }
    if let Some((stale, _)) = MEANINGS.iter().find(|(code, _)| !out.iter().any(|c| c.code == *code)) {
        return Err(format!("MEANINGS in reference.rs has `{stale}`, which no list of codes has any more"));
    }
    Ok(out)
}

/// `docs/reference.md`, whole.
///
/// # Errors
///
/// As [`codes`].
pub fn render() -> Result<String, String> {
    let mut out = String::new();
    let mut line = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    line("# Reference: receiver options and error codes");
    line("");
    line(
        "Generated by `make reference` from the code's own lists (`crates/wasm/src/reference.rs`): do not \
         edit it by hand; `cargo test` fails when it differs from what the code says.",
    );
    line("");
    line("## Receiver options");
    line("");
    line(
        "The options of `new Webhooks(options)`, `createNodeHandler(options)`, \
         `expressMiddleware(options)` and `handleRequest(request, options)` (`ReceiverOptions` in the \
         types); a value of the wrong type throws `WebhookError` `invalid_argument`. In Rust, the builder \
         method of `clhooks::receiver::Receiver` that does the same; `clhooks listen` has a flag for some \
         and uses the defaults for the others.",
    );
    line("");
    line("| option | Rust `Receiver` | `clhooks listen` | default | meaning |");
    line("|---|---|---|---|---|");
    for option in RECEIVER_OPTIONS {
        let flags = if option.listen.is_empty() {
            "—".to_owned()
        } else {
            option.listen.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
        };
        line(&row(&[
            &format!("`{}`", option.name),
            option.rust,
            &flags,
            &(option.default)(),
            option.meaning,
        ]));
    }
    line("");
    line("## Error codes");
    line("");
    line(
        "Every `code` of `clhooks::Error`, of the package's `WebhookError`, and of a receiver's answer \
         `{\"error\": code, \"message\": text}`. The status is what a receiver answers with, and the \
         `status` of a thrown `WebhookError`. Commerce Layer retries every answer that is not a 2xx, with \
         its backoff, until its retry window closes; a receiver answers 200 only a delivery handled \
         (`{\"received\": topic}`), a duplicate (`\"duplicate\": true`), a delivery a queue holds in \
         handoff mode (`\"handed_off\": true`), or a copy in flight elsewhere under `inFlight: 'accept'` \
         (`\"in_flight\": true`).",
    );
    line("");
    line("| code | status | retried | from | meaning |");
    line("|---|---|---|---|---|");
    for code in codes()? {
        let (status, retried) = match code.status {
            0 => ("the answer's".to_owned(), "—"),
            ok if (200..300).contains(&ok) => (ok.to_string(), "no"),
            failed => (failed.to_string(), "yes"),
        };
        line(&row(&[&format!("`{}`", code.code), &status, retried, code.origin.label(), code.meaning]));
    }
    Ok(out)
}

/// A table row, `|` in a cell escaped.
fn row(cells: &[&str]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
    format!("| {} |", cells.join(" | "))
}

/// A choice as JavaScript writes it: `'skip'`.
fn word<T: Serialize>(value: T) -> String {
    let word =
        serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    format!("`'{word}'`")
}

/// `5242880` as `5,242,880`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size for people: `5 MiB (5,242,880 bytes)`.
fn bytes(n: usize) -> String {
    let n = n as u64;
    let unit = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        .into_iter()
        .find(|(size, _)| n >= *size && n.is_multiple_of(*size));
    match unit {
        Some((size, name)) => format!("{} {name} ({} bytes)", n / size, thousands(n)),
        None => format!("{} bytes", thousands(n)),
    }
}

/// A duration in ms for people: `30 s (30,000 ms)`.
fn ms(ms: u64) -> String {
    format!("{} ({} ms)", duration(ms), thousands(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_as_people_write_them() {
        assert_eq!(bytes(5 * 1024 * 1024), "5 MiB (5,242,880 bytes)");
        assert_eq!(bytes(1500), "1,500 bytes");
        assert_eq!(bytes(0), "0 bytes");
        assert_eq!(ms(30_000), "30 s (30,000 ms)");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
    }
}
