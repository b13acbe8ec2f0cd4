//! The crate's one error type.

use std::fmt;

/// Why a signature header could not be decoded; carried by [`Error::MalformedSignature`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureHint {
    /// The value is not standard base64 with padding.
    NotBase64,
    /// The value is valid base64 but does not decode to the 32 bytes of an HMAC-SHA256.
    WrongLength(usize),
    /// The value is 64 hexadecimal digits: a hex digest where Commerce Layer sends base64.
    LooksLikeHex,
}

/// Everything that can go wrong in clhooks.
///
/// Each variant has a stable snake_case [`code`](Error::code), the same in Rust, in the CLI and
/// in the JavaScript package. Verification failures say what kind of mistake it was but never
/// which byte differed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A topic is not of the form `{resource}.{event}` in lowercase snake_case.
    InvalidTopic {
        /// The rejected input.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A routing pattern is not `*`, `resource.*`, `*.event` or a topic.
    InvalidTopicPattern {
        /// The rejected pattern.
        input: String,
    },
    /// A shared secret is the empty string.
    EmptySecret,
    /// A verifier was given no secret at all.
    MissingSecret,
    /// The `X-CommerceLayer-Signature` header is absent or blank.
    MissingSignature,
    /// The `X-CommerceLayer-Signature` header is not base64 of a 32-byte HMAC-SHA256.
    MalformedSignature {
        /// What the value looks like instead.
        hint: SignatureHint,
    },
    /// The signature does not match the body under any of the secrets.
    SignatureMismatch,
    /// The `X-CommerceLayer-Topic` header is absent or blank.
    MissingTopic,
    /// The topic's resource is not the type of the payload's primary resource.
    TopicMismatch {
        /// The topic from the header.
        topic: String,
        /// `data.type` of the payload.
        data_type: String,
    },
    /// The body is not valid JSON (or not UTF-8, or nested too deeply).
    InvalidJson {
        /// The parser's message, with line and column.
        message: String,
    },
    /// The body is JSON but not a JSON:API document with a single resource in `data`.
    InvalidDocument {
        /// What is missing or of the wrong shape.
        message: String,
    },
    /// A typed resource was read from a resource of another type.
    WrongResourceType {
        /// The type the reader expects, such as `webhooks`.
        expected: &'static str,
        /// The type found.
        found: String,
    },
    /// An `include_resources` entry is not a dot path such as `line_items.sku`.
    InvalidIncludePath {
        /// The rejected entry.
        path: String,
    },
    /// A callback URL is not an absolute `http://` or `https://` URL.
    InvalidCallbackUrl {
        /// The rejected URL.
        url: String,
    },
    /// A webhook update asks for `_disable` and `_enable` at once.
    ConflictingTriggers,
    /// `_reset_circuit` was requested with a sales-channel credential, which Commerce Layer refuses.
    ForbiddenForSalesChannel,
    /// A webhook id that the sender does not have.
    UnknownWebhook {
        /// The id.
        id: String,
    },
    /// A webhook id given to two webhooks of one sender.
    DuplicateWebhookId {
        /// The id.
        id: String,
    },
    /// An attempt reported complete that is not in flight (unknown, or completed already).
    UnknownAttempt {
        /// The attempt's id.
        id: u64,
    },
    /// A simulation scenario is not valid.
    InvalidScenario {
        /// What is wrong, and where.
        message: String,
    },
    /// A simulated or live run would go past one of its budgets (see
    /// [`sender::simulate`](crate::sender::simulate)).
    SimulationLimit {
        /// What would be exceeded, such as `timeline entries`.
        limit: &'static str,
        /// The most there may be.
        value: u64,
    },
    /// Denormalizing would go past one of its budgets ([`DenormalizeOptions`]).
    ///
    /// [`DenormalizeOptions`]: crate::payload::DenormalizeOptions
    DenormalizeLimit {
        /// The budget that was exceeded: `max_nodes` or `max_growth`.
        limit: &'static str,
        /// Its value.
        value: usize,
    },
    /// A request came from an address the receiver's allow-list does not hold (or whose
    /// address could not be told).
    ForbiddenSource {
        /// The caller's address, or `unknown`.
        address: String,
    },
    /// An allow-list entry is neither an IP address nor a CIDR block.
    InvalidSource {
        /// The rejected entry.
        input: String,
    },
    /// The seen-store could not be reached or did not answer (a Redis server down, a timeout):
    /// the delivery is answered 503 so that Commerce Layer tries again.
    StoreUnavailable {
        /// What the store's client said.
        message: String,
    },
    /// A queued record cannot be read: another version, a field missing or malformed
    /// (see `clhooks::handoff::Record`). It goes to the dead letters.
    InvalidRecord {
        /// What is wrong.
        reason: String,
    },
    /// A delivery's record is over what its queue carries (Cloudflare Queues' 128 KB message):
    /// see `clhooks::handoff::CLOUDFLARE_MESSAGE_LIMIT`.
    RecordTooLarge {
        /// Its size, in bytes.
        size: usize,
        /// The queue's limit, in bytes.
        limit: usize,
    },
    /// A worker's settings do not make sense (see `clhooks::handoff::WorkerConfig::check`).
    InvalidWorker {
        /// Which.
        reason: String,
    },
}

impl SignatureHint {
    /// A stable snake_case name for the hint: `not_base64`, `wrong_length` or `looks_like_hex`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            SignatureHint::NotBase64 => "not_base64",
            SignatureHint::WrongLength(_) => "wrong_length",
            SignatureHint::LooksLikeHex => "looks_like_hex",
        }
    }
}

impl Error {
    /// The stable snake_case identifier of this error, for logs, exit messages and JS `code`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidTopic { .. } => "invalid_topic",
            Error::InvalidTopicPattern { .. } => "invalid_topic_pattern",
            Error::EmptySecret => "empty_secret",
            Error::MissingSecret => "missing_secret",
            Error::MissingSignature => "missing_signature",
            Error::MalformedSignature { .. } => "malformed_signature",
            Error::SignatureMismatch => "signature_mismatch",
            Error::MissingTopic => "missing_topic",
            Error::TopicMismatch { .. } => "topic_mismatch",
            Error::InvalidJson { .. } => "invalid_json",
            Error::InvalidDocument { .. } => "invalid_document",
            Error::WrongResourceType { .. } => "wrong_resource_type",
            Error::InvalidIncludePath { .. } => "invalid_include_path",
            Error::InvalidCallbackUrl { .. } => "invalid_callback_url",
            Error::ConflictingTriggers => "conflicting_triggers",
            Error::ForbiddenForSalesChannel => "forbidden_for_sales_channel",
            Error::UnknownWebhook { .. } => "unknown_webhook",
            Error::DuplicateWebhookId { .. } => "duplicate_webhook_id",
            Error::UnknownAttempt { .. } => "unknown_attempt",
            Error::InvalidScenario { .. } => "invalid_scenario",
            Error::SimulationLimit { .. } => "simulation_limit",
            Error::DenormalizeLimit { .. } => "denormalize_limit",
            Error::ForbiddenSource { .. } => "forbidden_source",
            Error::InvalidSource { .. } => "invalid_source",
            Error::StoreUnavailable { .. } => "store_unavailable",
            Error::InvalidRecord { .. } => "invalid_record",
            Error::RecordTooLarge { .. } => "record_too_large",
            Error::InvalidWorker { .. } => "invalid_worker",
        }
    }

    /// The HTTP status a receiver should answer with: 401 when the request cannot be trusted
    /// (signature missing, malformed or wrong), 400 when a trusted request is malformed (topic,
    /// document), 500 for a receiver or sender set up wrong (no secret, an unknown webhook).
    /// Commerce Layer retries anything but a 2xx.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        match self {
            Error::MissingSignature | Error::MalformedSignature { .. } | Error::SignatureMismatch => 401,
            Error::ForbiddenSource { .. } => 403,
            Error::StoreUnavailable { .. } => 503,
            Error::EmptySecret
            | Error::MissingSecret
            | Error::UnknownWebhook { .. }
            | Error::DuplicateWebhookId { .. }
            | Error::UnknownAttempt { .. }
            | Error::InvalidSource { .. }
            | Error::InvalidWorker { .. } => 500,
            Error::RecordTooLarge { .. } => 503,
            _ => 400,
        }
    }

    /// Every code [`Error::code`] can return, for documentation and exhaustive tests.
    pub const CODES: &'static [&'static str] = &[
        "invalid_topic",
        "invalid_topic_pattern",
        "empty_secret",
        "missing_secret",
        "missing_signature",
        "malformed_signature",
        "signature_mismatch",
        "missing_topic",
        "topic_mismatch",
        "invalid_json",
        "invalid_document",
        "wrong_resource_type",
        "invalid_include_path",
        "invalid_callback_url",
        "conflicting_triggers",
        "forbidden_for_sales_channel",
        "unknown_webhook",
        "duplicate_webhook_id",
        "unknown_attempt",
        "invalid_scenario",
        "simulation_limit",
        "denormalize_limit",
        "forbidden_source",
        "invalid_source",
        "store_unavailable",
        "invalid_record",
        "record_too_large",
        "invalid_worker",
    ];
}

/// How much of a text from the outside an error keeps and shows.
const CLIP: usize = 100;

/// At most [`CLIP`] bytes of `text` (cut on a character boundary), with `…` when cut: what an
/// error keeps of an input that may be a megabyte long.
pub(crate) fn clipped(text: &str) -> String {
    if text.len() <= CLIP {
        return text.to_owned();
    }
    let mut end = CLIP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text.get(..end).unwrap_or_default())
}

/// Text from the outside in double quotes, with quotes, backslashes, control characters and the
/// invisible or direction-changing ones (zero-width, bidi overrides, line separators, BOM, soft
/// hyphen) escaped as `\u{..}`, so that a message cannot hide or reorder what it quotes. (`{:?}`
/// would do much the same, but pulls Unicode tables into WebAssembly.)
struct Quoted<'a>(&'a str);

/// Characters that render as nothing or change the direction of what follows.
fn is_invisible(c: char) -> bool {
    matches!(u32::from(c), 0xAD | 0x061C | 0x180E | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2069 | 0xFEFF)
}

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        // A long input is shown cut, as `clipped` keeps it.
        let (shown, cut) = match self.0.char_indices().nth(CLIP) {
            Some((at, _)) => (self.0.get(..at).unwrap_or_default(), true),
            None => (self.0, false),
        };
        for c in shown.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() || is_invisible(c) => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        f.write_str(if cut { "…\"" } else { "\"" })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidTopic { input, reason } => {
                write!(f, "invalid topic {}: {reason}", Quoted(input))
            }
            Error::InvalidTopicPattern { input } => write!(
                f,
                "invalid topic pattern {}: expected `*`, `resource.*`, `*.event` or `resource.event`",
                Quoted(input)
            ),
            Error::EmptySecret => f.write_str(
                "the shared secret is empty (an environment variable such as CL_WEBHOOK_SECRET that is not set?)",
            ),
            Error::MissingSecret => f.write_str(
                "no shared secret was given: pass the webhook's shared secret (Commerce Layer shows it when the \
                 webhook is created; the examples read it from CL_WEBHOOK_SECRET)",
            ),
            Error::MissingSignature => {
                f.write_str("the X-CommerceLayer-Signature header is missing or empty")
            }
            Error::MalformedSignature { hint } => match hint {
                SignatureHint::LooksLikeHex => f.write_str(
                    "the signature looks like a hex digest, but Commerce Layer signatures are base64 \
                     (digest(\"base64\"), not digest(\"hex\"))",
                ),
                SignatureHint::WrongLength(n) => {
                    write!(f, "the signature decodes to {n} bytes; an HMAC-SHA256 signature is 32 bytes")
                }
                SignatureHint::NotBase64 => f.write_str("the signature is not standard base64 with padding"),
            },
            Error::SignatureMismatch => f.write_str(
                "the signature does not match the body: check the shared secret and that the body \
                 is the raw request body, byte for byte",
            ),
            Error::MissingTopic => f.write_str("the X-CommerceLayer-Topic header is missing or empty"),
            Error::TopicMismatch { topic, data_type } => write!(
                f,
                "topic {} is about another resource than the payload's data.type {}",
                Quoted(topic),
                Quoted(data_type)
            ),
            Error::InvalidJson { message } => write!(f, "the body is not valid JSON: {message}"),
            Error::InvalidDocument { message } => {
                write!(f, "the body is not a JSON:API single-resource document: {message}")
            }
            Error::WrongResourceType { expected, found } => {
                write!(f, "expected a resource of type {}, found {}", Quoted(expected), Quoted(found))
            }
            Error::InvalidIncludePath { path } => write!(
                f,
                "invalid include path {}: expected lowercase dot paths such as `line_items.sku`",
                Quoted(path)
            ),
            Error::InvalidCallbackUrl { url } => {
                write!(
                    f,
                    "invalid callback URL {}: expected an absolute http:// or https:// URL",
                    Quoted(url)
                )
            }
            Error::ConflictingTriggers => {
                f.write_str("a webhook cannot be disabled and enabled in the same update")
            }
            Error::ForbiddenForSalesChannel => {
                f.write_str("_reset_circuit cannot be passed with a sales channel credential")
            }
            Error::UnknownWebhook { id } => write!(f, "no webhook with id {}", Quoted(id)),
            Error::DuplicateWebhookId { id } => write!(f, "webhook id {} is used twice", Quoted(id)),
            Error::UnknownAttempt { id } => write!(f, "attempt {id} is not in flight"),
            Error::InvalidScenario { message } => write!(f, "invalid scenario: {message}"),
            Error::SimulationLimit { limit, value } => {
                write!(f, "the run would go past {value} {limit}; make the scenario smaller or shorter")
            }
            Error::DenormalizeLimit { limit: "max_growth", value } => write!(
                f,
                "denormalizing would copy the same resources into more than {value} times the document's size \
                 (max_growth); lower the depth, raise the limit or read `included` directly"
            ),
            Error::DenormalizeLimit { limit, value } => write!(
                f,
                "denormalizing would make more than {value} objects ({limit}); lower the depth, raise the limit \
                 or read `included` directly"
            ),
            Error::ForbiddenSource { address } => {
                write!(f, "deliveries are not received from {}: it is not in the allow-list", Quoted(address))
            }
            Error::InvalidSource { input } => {
                write!(
                    f,
                    "invalid source {}: expected an IP address or a CIDR block such as 10.0.0.0/8",
                    Quoted(input)
                )
            }
            Error::StoreUnavailable { message } => {
                write!(f, "the seen-store is unavailable ({}); Commerce Layer will try again", clipped(message))
            }
            Error::InvalidRecord { reason } => write!(f, "not a queued clhooks record: {}", clipped(reason)),
            Error::RecordTooLarge { size, limit } => write!(
                f,
                "the delivery's record is {size} bytes, over the {limit} a message of this queue carries \
                 (Cloudflare Queues: 128 KB); hand such deliveries to the Redis queue"
            ),
            Error::InvalidWorker { reason } => write!(f, "invalid worker settings: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
