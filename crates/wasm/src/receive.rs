//! The receiver's bindings: verify (with the keys here or tags a host computed),
//! receive, topics, the catalogue, error codes and denormalize.

use clhooks::signature::Check;
use clhooks::topic::{catalogue as topics, Topic, TopicPattern};
use clhooks::{Error, Verifier};
use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::document::{self, Held};
use crate::errors::{throw, JsResult, BINDING_CODES};
use crate::receiver::check_signature;
use crate::{set, topic_fields};

/// Decodes an `X-CommerceLayer-Signature` value into its 32-byte tag, for a host that checks it
/// itself (WebCrypto's `verify`); the core's error for a missing or malformed one.
#[wasm_bindgen(js_name = decodeSignature)]
pub fn decode_signature(signature: &JsValue) -> JsResult<Vec<u8>> {
    let signature = signature.as_string().unwrap_or_default();
    throw(clhooks::signature::decode_signature(&signature)).map(|tag| tag.to_vec())
}

/// What a host's check of a decoded tag comes to: nothing when it matched, the core's
/// `signature_mismatch` otherwise.
#[wasm_bindgen(js_name = checkMatched)]
pub fn check_matched(matched: bool) -> JsResult<()> {
    if matched {
        Ok(())
    } else {
        throw(Err::<(), _>(Error::SignatureMismatch))
    }
}

/// Verifies an `X-CommerceLayer-Signature` value against tags a host computed (node:crypto,
/// WebCrypto): the HMAC-SHA256 of the body under each secret, back to back. The core decodes
/// the header, compares in constant time and picks the error.
#[wasm_bindgen(js_name = verifyTags)]
pub fn verify_tags(signature: &str, tags: &[u8]) -> JsResult<()> {
    let tags = throw(convert::tag_chunks(tags))?;
    throw(clhooks::signature::verify_tags(signature, &tags))
}

/// A view of at least `len` bytes of this instance's memory for `Verifier.verifyWritten`, kept
/// between calls: valid until the memory grows (the view is then detached, of length 0) or
/// `scratch` is called again.
#[wasm_bindgen]
pub fn scratch(len: usize) -> js_sys::Uint8Array {
    SCRATCH.with(|scratch| {
        let (at, len) = grown(&mut scratch.borrow_mut(), len);
        js_sys::Uint8Array::new_with_byte_offset_and_length(&memory_buffer(), at, len)
    })
}

/// A view of at least `len` codes of this instance's memory, where the package writes a parsed
/// document's outline for [`outline_written`]: kept between calls, valid as [`scratch`]'s view.
#[wasm_bindgen(js_name = scratchCodes)]
pub fn scratch_codes(len: usize) -> js_sys::Int32Array {
    CODES.with(|codes| {
        let (at, len) = grown(&mut codes.borrow_mut(), len);
        js_sys::Int32Array::new_with_byte_offset_and_length(&memory_buffer(), at, len)
    })
}

/// A kept vector grown to at least `len` items: where it starts in memory, and its length, for
/// a view of it. Its items stay where they are until it grows again; a grown memory detaches a
/// view rather than leaving it pointing elsewhere.
fn grown<T: Copy + Default>(items: &mut Vec<T>, len: usize) -> (u32, u32) {
    if items.len() < len {
        items.resize(len, T::default());
    }
    (u32::try_from(items.as_ptr() as usize).unwrap_or(0), u32::try_from(items.len()).unwrap_or(0))
}

/// The instance's memory, as an `ArrayBuffer`.
fn memory_buffer() -> JsValue {
    js_sys::Reflect::get(&wasm_bindgen::memory(), &crate::key("buffer")).unwrap_or(JsValue::UNDEFINED)
}

/// The second step of a receive written into the scratch (see `Verifier.receiveWritten`):
/// whether the first `len` codes of [`scratch_codes`] — 1 when `data.type` is the topic's
/// resource, then the outline of the parsed document — are a document `receive` accepts. `false`
/// for anything else: the package then calls `receive` for the typed error.
#[wasm_bindgen(js_name = outlineWritten)]
pub fn outline_written(len: usize) -> bool {
    CODES.with(|codes| {
        let codes = codes.borrow();
        match codes.get(..len) {
            // The names only make an error's message: a refused outline takes the typed path.
            Some([1, outline @ ..]) => {
                clhooks::payload::outline::check(outline, &|_, _| String::new()).is_ok()
            }
            _ => false,
        }
    })
}

/// Verifies a body against a signature with one secret or an array of them.
#[wasm_bindgen]
pub fn verify(body: &JsValue, signature: &JsValue, secrets: &JsValue) -> JsResult<()> {
    JsVerifier::new(secrets)?.verify(body, signature)
}

/// Verifies deliveries with secrets keyed once.
#[wasm_bindgen(js_name = Verifier)]
pub struct JsVerifier {
    pub(crate) inner: Verifier,
}

#[wasm_bindgen(js_class = Verifier)]
impl JsVerifier {
    /// Keys a verifier with one secret or an array of them (a rotation).
    #[wasm_bindgen(constructor)]
    pub fn new(secrets: &JsValue) -> JsResult<JsVerifier> {
        let secrets = throw(convert::secrets(secrets))?;
        throw(Verifier::new(secrets)).map(|inner| JsVerifier { inner })
    }

    /// Verifies a body against an `X-CommerceLayer-Signature` value.
    pub fn verify(&self, body: &JsValue, signature: &JsValue) -> JsResult<()> {
        let body = throw(convert::body(body))?;
        let signature = signature.as_string().unwrap_or_default();
        throw(self.inner.verify(&body, &signature))
    }

    /// Verifies and reads a delivery: see the package's `receive`. `signature` and `topic` are
    /// the values of the two delivery headers, as the package found them; with `tags`
    /// (computed by the host for each secret), the signature is checked against them.
    pub fn receive(
        &self,
        body: &JsValue,
        signature: Option<String>,
        topic: Option<String>,
        tags: &JsValue,
    ) -> JsResult<JsValue> {
        let held = throw(Held::read(body))?;
        let tags = throw(convert::hosted_tags(tags))?;
        let mut head = None;
        let verify: Check1<'_> = &|signature| check_signature(&self.inner, tags.as_deref(), &held, signature);
        let payload = throw(clhooks::payload::receive_with(
            convert::delivery_headers(signature, topic),
            verify,
            |verified| {
                let payload = document::read(&held, Some(&verified.topic));
                head = Some(verified);
                payload
            },
        ))?;
        let verified = throw(head.ok_or(Error::MissingSignature))?;
        // The key is made when first asked for (event.idempotencyKey): not a second pass over
        // the body on every receive.
        NO_ROUTES.with(|routes| Ok(document::event(payload, &verified.topic, None, routes)))
    }

    /// The first step of `receive`, from the scratch (see [`scratch`]): whether the first
    /// `first_len` bytes — the body, or with `tagged` the host's tags of it (32 bytes per secret)
    /// — then the next `signature_len` and `topic_len`, the values of the two delivery headers,
    /// verify and name a topic. `false` for anything else: the package then calls `receive`
    /// for the typed error, so there is one place that decides.
    #[wasm_bindgen(js_name = receiveWritten)]
    pub fn receive_written(
        &self,
        tagged: bool,
        first_len: usize,
        signature_len: usize,
        topic_len: usize,
    ) -> bool {
        // Nothing is written between the body and the signature (a receiver's method goes there).
        with_written(first_len, [0, signature_len, topic_len], &mut |first, [_, signature, topic]| {
            let check = written_check(tagged, first)?;
            let headers = convert::delivery_headers(Some(signature.to_owned()), Some(topic.to_owned()));
            let verify: Check1<'_> = &|signature| check.verify(&self.inner, signature);
            clhooks::payload::verify_headers(headers, verify).ok().map(|verified| verified.topic)
        })
        .is_some()
    }

    /// Whether the first `body_len` bytes of the scratch (see [`scratch`]) are a body and the
    /// next `signature_len` an `X-CommerceLayer-Signature` value that verifies it: the core's
    /// `verify`, without a value crossing over. `false` for anything else (a mismatch, a
    /// malformed header, lengths past the scratch): the package then calls `verify` for the
    /// typed error, so there is one place that decides.
    #[wasm_bindgen(js_name = verifyWritten)]
    pub fn verify_written(&self, body_len: usize, signature_len: usize) -> bool {
        SCRATCH.with(|scratch| {
            let scratch = scratch.borrow();
            let Some(end) = body_len.checked_add(signature_len) else { return false };
            let (Some(body), Some(signature)) = (scratch.get(..body_len), scratch.get(body_len..end)) else {
                return false;
            };
            std::str::from_utf8(signature).is_ok_and(|signature| self.inner.verify(body, signature).is_ok())
        })
    }

    /// How many secrets are accepted.
    #[wasm_bindgen(getter, js_name = secretCount)]
    pub fn secret_count(&self) -> usize {
        self.inner.secret_count()
    }
}

/// A signature check, as a `dyn` so that the core's steps are compiled once for every way in.
pub(crate) type Verify<'a> = &'a dyn Fn(&Verifier, &str) -> clhooks::Result<()>;
/// The same with the verifier chosen.
pub(crate) type Check1<'a> = &'a dyn Fn(&str) -> clhooks::Result<()>;
/// What [`with_written`] does with the values written: the topic they name, if they verify.
pub(crate) type Written<'a> = &'a mut dyn FnMut(&[u8], [&str; 3]) -> Option<Topic>;

/// How a body written into the scratch is checked: against the host's tags of it, or with the
/// verifier's own keys.
pub(crate) enum WrittenCheck<'a> {
    Tags(Vec<[u8; clhooks::signature::TAG_LEN]>),
    Body(&'a [u8]),
}

impl WrittenCheck<'_> {
    pub(crate) fn verify(&self, verifier: &Verifier, signature: &str) -> clhooks::Result<()> {
        let matched = match self {
            WrittenCheck::Tags(tags) => Check::Tags(tags).matched(&[], signature),
            WrittenCheck::Body(body) => Check::Keys(verifier).matched(body, signature),
        };
        matched.map(crate::receiver::matched_secret)
    }
}

/// The check of what was written first: with `tagged`, the host's tags (none when they are not
/// whole 32-byte tags), else the body.
pub(crate) fn written_check(tagged: bool, first: &[u8]) -> Option<WrittenCheck<'_>> {
    if tagged {
        convert::tag_chunks(first).ok().map(WrittenCheck::Tags)
    } else {
        Some(WrittenCheck::Body(first))
    }
}

/// `f` of the scratch's first `first_len` bytes and the three strings written after them, of
/// `lens` bytes each (UTF-8): the topic `f` found, `None` when the strings are past the scratch
/// or not UTF-8. (A `dyn` `f`: one copy for every way in.)
pub(crate) fn with_written(first_len: usize, lens: [usize; 3], f: Written<'_>) -> Option<Topic> {
    SCRATCH.with(|scratch| {
        let scratch = scratch.borrow();
        let mut strings = [""; 3];
        let mut at = first_len;
        for (string, len) in strings.iter_mut().zip(lens) {
            let end = at.checked_add(len)?;
            *string = std::str::from_utf8(scratch.get(at..end)?).ok()?;
            at = end;
        }
        f(scratch.get(..first_len)?, strings)
    })
}

thread_local! {
    /// Where the package writes a parsed document's outline for [`outline_written`].
    static CODES: std::cell::RefCell<Vec<i32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Where the package writes a small body and its signature for `Verifier.verifyWritten`.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The routes of an event received without a router: none, one frozen list for all.
    static NO_ROUTES: JsValue = document::routes_value(&[]);
}

/// Parses a topic: `{topic, resource, event, known, description}`.
#[wasm_bindgen(js_name = parseTopic)]
pub fn parse_topic(name: &JsValue) -> JsResult<JsValue> {
    let name = name.as_string().unwrap_or_default();
    throw(Topic::parse(&name)).map(|t| crate::topic_value(&topic_fields(&t)))
}

/// Whether a topic name matches a routing pattern; a malformed name never matches.
#[wasm_bindgen(js_name = matchTopic)]
pub fn match_topic(pattern: &JsValue, name: &JsValue) -> JsResult<bool> {
    let pattern = throw(TopicPattern::parse(&pattern.as_string().unwrap_or_default()))?;
    Ok(name.as_string().is_some_and(|n| pattern.matches_name(&n)))
}

/// Every catalogue topic with its resource, event and trigger description.
#[wasm_bindgen]
pub fn catalogue() -> Array {
    topics::all()
        .iter()
        .map(|info| {
            let out = Object::new();
            set(&out, "topic", &JsValue::from_str(info.name));
            set(&out, "resource", &JsValue::from_str(info.resource));
            set(&out, "event", &JsValue::from_str(info.event));
            set(&out, "description", &info.description.map_or(JsValue::NULL, JsValue::from_str));
            JsValue::from(out)
        })
        .collect()
}

/// Every error code: the core's, then the bindings' own.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Array {
    Error::CODES.iter().chain(BINDING_CODES).map(|c| JsValue::from_str(c)).collect()
}

/// A document to denormalize: a raw body (text or bytes) parsed by the engine and checked by
/// the core, or an object already parsed, as it is.
#[wasm_bindgen(js_name = parseDocument)]
pub fn parse_document(value: &JsValue) -> JsResult<JsValue> {
    if value.is_object() && convert::bytes_view(value).is_err() {
        return Ok(value.clone());
    }
    let held = throw(Held::read(value))?;
    throw(document::read(&held, None)).map(|_| document::last_document())
}
