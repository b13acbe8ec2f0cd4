//! Maps [`Error`] to the JS `WebhookError` class that the package's entrypoints register.

use std::cell::RefCell;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;

use crate::error::{Error, SignatureHint};

thread_local! {
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers the constructor thrown for every error: `new WebhookError(code, message, details)`.
#[wasm_bindgen(js_name = "__setErrorClass")]
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

fn details(error: &Error) -> JsValue {
    let out = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&out, &JsValue::from_str(k), &v);
    };
    set("status", JsValue::from_f64(f64::from(error.http_status())));
    match error {
        Error::MalformedSignature { hint } => {
            set("hint", hint.as_str().into());
            if let SignatureHint::WrongLength(n) = hint {
                set("length", JsValue::from_f64(*n as f64));
            }
        }
        Error::TopicMismatch { topic, data_type } => {
            set("topic", topic.into());
            set("dataType", data_type.into());
        }
        Error::InvalidTopic { input, .. } | Error::InvalidTopicPattern { input } => {
            set("input", input.into())
        }
        _ => {}
    }
    out.into()
}

/// The JS value thrown for an error: a registered `WebhookError`, or a plain `Error` with a
/// `code` when no class was registered.
pub(crate) fn to_js(error: &Error) -> JsValue {
    let message = JsValue::from_str(&error.to_string());
    let code = JsValue::from_str(error.code());
    let constructed = ERROR_CLASS.with(|c| {
        c.borrow().as_ref().and_then(|class| {
            let args = Array::of3(&code, &message, &details(error));
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
pub(crate) type JsResult<T> = Result<T, JsValue>;

pub(crate) fn throw<T>(result: crate::Result<T>) -> JsResult<T> {
    result.map_err(|e| to_js(&e))
}
