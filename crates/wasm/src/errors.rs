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
    },
    /// An argument has the wrong type, such as a secret that is not a string.
    InvalidArgument {
        /// What was expected.
        message: String,
    },
}

/// The codes only the bindings have, after the core's [`Error::CODES`].
/// `core_failed` is thrown by the package's JS layer when an instance trapped (it is then
/// replaced); it is listed here so that every code is in one place.
pub const BINDING_CODES: &[&str] = &["body_not_raw", "invalid_argument", "core_failed"];

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
            BindingError::BodyNotRaw { .. } | BindingError::InvalidArgument { .. } => 500,
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
            BindingError::BodyNotRaw { found } => write!(
                f,
                "the body is {found}, not the raw request body: pass the bytes exactly as received \
                 (a string, Uint8Array, ArrayBuffer or Buffer, such as express.raw() gives or \
                 await request.arrayBuffer()), never a parsed or re-serialized object; behind \
                 express.json(), keep the bytes with express.json({{ verify: keepRawBody }})"
            ),
            BindingError::InvalidArgument { message } => f.write_str(message),
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
