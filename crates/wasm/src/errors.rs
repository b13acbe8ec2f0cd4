//! The bindings' error type: the core's errors, and the two that exist only because JavaScript
//! can pass anything. Each becomes a thrown `WebhookError` (registered by the package).

use std::cell::RefCell;
use std::fmt;

use clhooks::{Error, SignatureHint};
use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;

use crate::types::ErrorDetails;

/// Everything a binding can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingError {
    /// An error of the core.
    Core(Error),
    /// The body given is not raw bytes or text: typically a JSON object a body parser already
    /// made, whose re-serialization can never be checked against the signature.
    BodyNotRaw {
        /// What was given instead, such as "a parsed object".
        found: &'static str,
        /// What read the body before the receiver, where an adapter could tell: the fix to name.
        reader: Reader,
        /// The receiver's body limit, which a parser keeping the bytes must allow.
        max_body_bytes: usize,
    },
    /// An argument has the wrong type, such as a secret that is not a string.
    InvalidArgument {
        /// What was expected.
        message: String,
    },
}

pub use crate::codes::{BINDING_CODES, BINDING_STATUS};

impl BindingError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            BindingError::Core(e) => e.code(),
            BindingError::BodyNotRaw { .. } => "body_not_raw",
            BindingError::InvalidArgument { .. } => "invalid_argument",
        }
    }

    /// The status a receiver answers with: the core's, or 500 for a receiver set up wrong.
    pub fn http_status(&self) -> u16 {
        match self {
            BindingError::Core(e) => e.http_status(),
            BindingError::BodyNotRaw { .. } | BindingError::InvalidArgument { .. } => BINDING_STATUS,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> BindingError {
        BindingError::InvalidArgument { message: message.into() }
    }

    fn details(&self) -> ErrorDetails {
        let mut details = ErrorDetails { status: self.http_status(), ..ErrorDetails::default() };
        match self {
            BindingError::Core(Error::MalformedSignature { hint }) => {
                details.hint = Some(hint.as_str().to_owned());
                if let SignatureHint::WrongLength(n) = hint {
                    details.length = Some(u32::try_from(*n).unwrap_or(u32::MAX));
                }
            }
            BindingError::Core(Error::TopicMismatch { topic, data_type }) => {
                details.topic = Some(topic.clone());
                details.data_type = Some(data_type.clone());
            }
            BindingError::Core(Error::InvalidTopic { input, .. } | Error::InvalidTopicPattern { input }) => {
                details.input = Some(input.clone());
            }
            _ => {}
        }
        details
    }
}

impl fmt::Display for BindingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindingError::Core(e) => e.fmt(f),
            BindingError::BodyNotRaw { found, reader, max_body_bytes } => {
                let limit = Limit(*max_body_bytes);
                match reader {
                    Reader::Express => write!(
                        f,
                        "express.json() (or another body parser) read the body before clhooks and kept \
                         {found}: its bytes, which the signature covers, are gone. Mount \
                         app.post(path, webhooks.express()) before app.use(express.json()), or keep \
                         the bytes at clhooks' limit: app.use(express.json(webhooks.jsonOptions())), \
                         that is express.json({{ limit: '{limit}', verify: keepRawBody }})"
                    ),
                    Reader::Node => write!(
                        f,
                        "a body parser read the request before clhooks and kept {found}: its bytes, \
                         which the signature covers, are gone. In the Next.js Pages Router, turn it \
                         off for this route (export const config = {{ api: {{ bodyParser: false }} }}); \
                         elsewhere, hand the request to clhooks before any parser reads it"
                    ),
                    Reader::Fetch => f.write_str(
                        "the request's body was read before clhooks (request.json(), request.text(), \
                         or a framework's parser): hand clhooks the request before anything reads it, \
                         or a request.clone() taken before reading",
                    ),
                    Reader::Caller => write!(
                        f,
                        "the body is {found}, not the raw request body: pass the bytes exactly as \
                         received (a string, Uint8Array, ArrayBuffer or Buffer, such as express.raw() \
                         gives or await request.arrayBuffer()), never a parsed or re-serialized \
                         object; behind express.json(), keep the bytes with \
                         express.json({{ limit: '{limit}', verify: keepRawBody }})"
                    ),
                }
            }
            BindingError::InvalidArgument { message } => f.write_str(message),
        }
    }
}

/// What read a request's body before the receiver, as an adapter saw it: each has its own fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The body was handed to clhooks by the caller (`receive`, `verify`...).
    Caller,
    /// An Express body parser (body-parser marks the request as read).
    Express,
    /// Some parser on node:http left `req.body` set and the stream read (Next.js's Pages Router).
    Node,
    /// A fetch `Request` whose body was already used.
    Fetch,
}

impl Reader {
    /// The reader an adapter names: `express`, `node`, `fetch`, anything else the caller.
    pub fn named(name: &str) -> Reader {
        match name {
            "express" => Reader::Express,
            "node" => Reader::Node,
            "fetch" => Reader::Fetch,
            _ => Reader::Caller,
        }
    }
}

/// A body limit as Express's `limit` option reads it: `5mb` for 5 MiB, else in bytes.
struct Limit(usize);

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MB: usize = 1024 * 1024;
        const KB: usize = 1024;
        match self.0 {
            n if n >= MB && n % MB == 0 => write!(f, "{}mb", n / MB),
            n if n >= KB && n % KB == 0 => write!(f, "{}kb", n / KB),
            n => write!(f, "{n}b"),
        }
    }
}

impl From<Error> for BindingError {
    fn from(e: Error) -> Self {
        BindingError::Core(e)
    }
}

thread_local! {
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers the constructor thrown for every error: `new WebhookError(code, message, details)`.
#[wasm_bindgen(js_name = "__setErrorClass")]
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

/// The JS value thrown for an error: a registered `WebhookError`, or a plain `Error` with a
/// `code` when no class was registered.
pub(crate) fn to_js(error: &BindingError) -> JsValue {
    let message = JsValue::from_str(&error.to_string());
    let code = JsValue::from_str(error.code());
    let details = crate::details_value(&error.details());
    let constructed = ERROR_CLASS.with(|c| {
        c.borrow().as_ref().and_then(|class| {
            let args = Array::of3(&code, &message, &details);
            Reflect::construct(class, &args).ok()
        })
    });
    constructed.map_or_else(
        || {
            let plain = js_sys::Error::new(&error.to_string());
            let _ = Reflect::set(&plain, &JsValue::from_str("code"), &code);
            plain.into()
        },
        JsValue::from,
    )
}

/// Result of every binding: errors become thrown `WebhookError`s.
pub(crate) type JsResult<T> = std::result::Result<T, JsValue>;

/// A binding's own result.
pub(crate) type Result<T> = std::result::Result<T, BindingError>;

pub(crate) fn throw<T, E: Into<BindingError>>(result: std::result::Result<T, E>) -> JsResult<T> {
    result.map_err(|e| to_js(&e.into()))
}
