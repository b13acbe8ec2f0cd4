//! Turns the JS values users pass (bodies, headers, secrets) into what the core takes, with a
//! typed error for anything else: nothing here may throw a JS exception of its own or panic.

use js_sys::{Array, ArrayBuffer, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::errors::{BindingError, Result};

fn number(value: &JsValue, key: &str) -> Option<u32> {
    Reflect::get(value, &JsValue::from_str(key)).ok()?.as_f64().map(|n| n as u32)
}

/// An option of an options object: absent (`undefined`, `null`, or no object at all), or a
/// whole number from 0 to `max`; anything else is `invalid_argument`.
pub(crate) fn whole(options: &JsValue, name: &'static str, max: u64) -> Result<Option<u64>> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let value = Reflect::get(options, &crate::key(name))
        .map_err(|_| BindingError::invalid(format!("{name} could not be read")))?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && n >= 0.0 && n <= max as f64 => Ok(Some(n as u64)),
        _ => Err(BindingError::invalid(format!("{name} must be a whole number from 0 to {max}"))),
    }
}

/// The raw bytes of a body: a string (as UTF-8), any typed array or `DataView` (Node's
/// `Buffer` included), or an `ArrayBuffer`, from this realm or another.
pub(crate) fn body(value: &JsValue) -> Result<Vec<u8>> {
    if let Some(text) = value.as_string() {
        return Ok(text.into_bytes());
    }
    bytes_view(value).map(|bytes| bytes.to_vec())
}

/// A `Uint8Array` over the bytes of any typed array, `DataView` or `ArrayBuffer`, from this
/// realm or another, without a copy.
pub(crate) fn bytes_view(value: &JsValue) -> Result<Uint8Array> {
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return Ok(bytes.clone());
    }
    if ArrayBuffer::is_view(value) {
        let buffer = Reflect::get(value, &JsValue::from_str("buffer")).unwrap_or(JsValue::UNDEFINED);
        let offset = number(value, "byteOffset").unwrap_or(0);
        let length = number(value, "byteLength").unwrap_or(0);
        return Ok(Uint8Array::new_with_byte_offset_and_length(&buffer, offset, length));
    }
    // An ArrayBuffer, possibly from another realm (where instanceof fails): it has a
    // byteLength but, unlike a view, no byteOffset.
    let buffer_like =
        value.is_object() && number(value, "byteLength").is_some() && number(value, "byteOffset").is_none();
    if value.is_instance_of::<ArrayBuffer>() || buffer_like {
        return Ok(Uint8Array::new(value));
    }
    let found = if value.is_undefined() || value.is_null() {
        "missing"
    } else if Array::is_array(value) {
        "a parsed JSON array"
    } else if value.is_object() {
        "a parsed object"
    } else {
        "neither text nor bytes"
    };
    Err(BindingError::BodyNotRaw {
        found,
        reader: crate::errors::Reader::Caller,
        max_body_bytes: clhooks::receiver::DEFAULT_MAX_BODY_BYTES,
    })
}

fn invalid(message: &str) -> BindingError {
    BindingError::invalid(message)
}

/// One secret or an array of them (a rotation).
pub(crate) fn secrets(value: &JsValue) -> Result<Vec<String>> {
    const EXPECTED: &str = "the secret must be a string or an array of strings";
    if let Some(secret) = value.as_string() {
        return Ok(vec![secret]);
    }
    if !Array::is_array(value) {
        return Err(if value.is_undefined() || value.is_null() {
            BindingError::Core(clhooks::Error::MissingSecret)
        } else {
            invalid(EXPECTED)
        });
    }
    Array::from(value).iter().map(|s| s.as_string().ok_or_else(|| invalid(EXPECTED))).collect()
}

/// The two delivery headers as the core reads headers: the package finds their values in
/// whatever the runtime has (a fetch `Headers`, Node's `req.headers`, pairs), names in any case.
pub(crate) fn delivery_headers(
    signature: Option<String>,
    topic: Option<String>,
) -> impl Iterator<Item = (&'static str, String)> {
    let signature = signature.map(|v| (clhooks::SIGNATURE_HEADER, v));
    let topic = topic.map(|v| (clhooks::TOPIC_HEADER, v));
    signature.into_iter().chain(topic)
}

/// Tags a host computed: 32 bytes per secret, back to back in one `Uint8Array`.
pub(crate) fn tags(value: &JsValue) -> Result<Vec<[u8; clhooks::signature::TAG_LEN]>> {
    let bytes = value
        .dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .ok_or_else(|| invalid("tags must be a Uint8Array of 32-byte HMAC-SHA256 tags"))?;
    tag_chunks(&bytes)
}

/// Tags from their bytes, 32 each.
pub(crate) fn tag_chunks(bytes: &[u8]) -> Result<Vec<[u8; clhooks::signature::TAG_LEN]>> {
    let chunks = bytes.chunks_exact(clhooks::signature::TAG_LEN);
    if !chunks.remainder().is_empty() {
        return Err(invalid("tags must be a Uint8Array of 32-byte HMAC-SHA256 tags"));
    }
    Ok(chunks.filter_map(|chunk| <[u8; clhooks::signature::TAG_LEN]>::try_from(chunk).ok()).collect())
}

/// Tags a host computed, owned here: `undefined` or `null` when the host did not compute them.
pub(crate) fn hosted_tags(value: &JsValue) -> Result<Option<Vec<[u8; clhooks::signature::TAG_LEN]>>> {
    if value.is_undefined() || value.is_null() {
        Ok(None)
    } else {
        tags(value).map(Some)
    }
}

/// A receiver's sources: `undefined` for none, or `{ allow, proxies, forwarded }` — `allow` an
/// array of addresses and CIDR blocks (`'commercelayer'` for Commerce Layer's), `proxies` the
/// ones trusted to say who called them, `forwarded` `'x-forwarded-for'` or the name of a header
/// the platform sets to the caller's address (`'cf-connecting-ip'`).
pub(crate) fn sources(value: &JsValue) -> Result<clhooks::sources::Sources> {
    use clhooks::sources::{Forwarded, Sources};
    if value.is_undefined() || value.is_null() {
        return Ok(Sources::default());
    }
    const EXPECTED: &str =
        "sources must be { allow: [...], proxies?: [...], forwarded?: 'x-forwarded-for' | header name }";
    if !value.is_object() {
        return Err(invalid(EXPECTED));
    }
    let list = |key: &str| -> Result<Vec<String>> {
        let entries = Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
        if entries.is_undefined() {
            return Ok(Vec::new());
        }
        if let Some(one) = entries.as_string() {
            return Ok(vec![one]);
        }
        if !Array::is_array(&entries) {
            return Err(invalid(EXPECTED));
        }
        Array::from(&entries).iter().map(|e| e.as_string().ok_or_else(|| invalid(EXPECTED))).collect()
    };
    let forwarded = Reflect::get(value, &JsValue::from_str("forwarded")).unwrap_or(JsValue::UNDEFINED);
    let forwarded = match forwarded.as_string() {
        None if forwarded.is_undefined() => Forwarded::None,
        Some(name) => Forwarded::named(&name).ok_or_else(|| invalid(EXPECTED))?,
        None => return Err(invalid(EXPECTED)),
    };
    let allow = list("allow")?;
    if allow.is_empty() {
        return Err(invalid("sources.allow lists no address: leave sources out to receive from anywhere"));
    }
    Ok(Sources::allow(allow)?.behind(list("proxies")?, forwarded)?)
}
