//! Payloads read by the engine: the body is parsed once, by `JSON.parse` (faster than any
//! parser compiled to WebAssembly), and stays a JS object. The package's `read` hook
//! (`pkg-templates/api.js`) decodes and parses a verified body and gives the document's
//! outline, the skeleton as integers that `outline.js` writes; the core checks the shape and
//! plans `denormalize` from it (`clhooks::payload::outline`). One call across per delivery: the
//! document stays with the package, which hands it to the event.

use std::cell::RefCell;

use clhooks::payload::outline::{self, Plan};
use clhooks::payload::{DenormalizeOptions, KeyScope, Payload};
use clhooks::{Error, Topic};
use js_sys::{Array, Function, Int32Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::errors::{BindingError, Result};

#[wasm_bindgen]
extern "C" {
    /// The package's `makeEvent(info, key, body, routes)`, with the document its `read` hook
    /// parsed last: `key` is `undefined` until asked for (it is then made from `body`).
    type EventMaker;
    #[wasm_bindgen(method, js_name = call)]
    fn make(
        this: &EventMaker,
        this_arg: &JsValue,
        info: &JsValue,
        key: &JsValue,
        body: &JsValue,
        routes: &JsValue,
    ) -> JsValue;
}

thread_local! {
    static OUTLINE: RefCell<Option<Function>> = const { RefCell::new(None) };
    static READ: RefCell<Option<Function>> = const { RefCell::new(None) };
    static DOCUMENT: RefCell<Option<Function>> = const { RefCell::new(None) };
    static MAKE_EVENT: RefCell<Option<EventMaker>> = const { RefCell::new(None) };
    /// Each topic's fields as a frozen object, made once (the catalogue's and a bounded number
    /// of others).
    static TOPICS: RefCell<crate::Kept<JsValue>> = const { RefCell::new(crate::Kept::new(TOPIC_CACHE)) };
}

/// How many topics' fields are kept made.
const TOPIC_CACHE: usize = 512;

/// Registers the package's hooks:
/// - `outline(document)`: a parsed document's outline, as an `Int32Array`;
/// - `read(body, info)`: a verified body (a string or a `Uint8Array`) decoded as strict UTF-8
///   (a byte-order mark kept, so that `JSON.parse` refuses it, as the core does) and parsed.
///   It gives `undefined` when the bytes are not UTF-8, `JSON.parse`'s message when they are
///   not JSON, and otherwise an `Int32Array`: whether `data.type` is `info.resource` (1, 0, or
///   -1 without `info`), then the document's outline;
/// - `document()`: the document `read` parsed last;
/// - `makeEvent`, which makes the event handed to handlers from that document.
#[wasm_bindgen(js_name = "__setHooks")]
pub fn set_hooks(outline: Function, read: Function, document: Function, make_event: Function) {
    OUTLINE.with(|o| *o.borrow_mut() = Some(outline));
    READ.with(|r| *r.borrow_mut() = Some(read));
    DOCUMENT.with(|d| *d.borrow_mut() = Some(document));
    MAKE_EVENT.with(|m| *m.borrow_mut() = Some(make_event.unchecked_into()));
}

/// A registered hook's `call(null, ...args)`, `undefined` without one (or when it threw).
fn call_hook(hook: &'static std::thread::LocalKey<RefCell<Option<Function>>>, args: &[&JsValue]) -> JsValue {
    hook.with(|h| {
        h.borrow().as_ref().map_or(JsValue::UNDEFINED, |f| {
            let called = match args {
                [] => f.call0(&JsValue::NULL),
                [a] => f.call1(&JsValue::NULL, a),
                [a, b, ..] => f.call2(&JsValue::NULL, a, b),
            };
            called.unwrap_or(JsValue::UNDEFINED)
        })
    })
}

/// A topic's fields (`topic`, `resource`, `event`, `known`, `description`), frozen.
fn topic_info(topic: &Topic) -> JsValue {
    TOPICS.with(|topics| {
        topics
            .borrow_mut()
            .get_or(topic.as_str(), || {
                let info = crate::topic_value(&crate::topic_fields(topic));
                Object::freeze(info.unchecked_ref::<Object>()).into()
            })
            .map_or(JsValue::UNDEFINED, |info| info.clone())
    })
}

/// The event handed to handlers (a `WebhookEvent`): the topic's fields, `data`'s id and type, the
/// idempotency key when it was made (else the body it is made from when asked), the routes, and
/// the document as the engine parsed it (the package's, from its `read`).
pub(crate) fn event(payload: JsPayload, topic: &Topic, key: Option<&str>, routes: &JsValue) -> JsValue {
    let key = key.map_or(JsValue::UNDEFINED, JsValue::from_str);
    MAKE_EVENT.with(|m| {
        m.borrow().as_ref().map_or(JsValue::UNDEFINED, |make| {
            make.make(&JsValue::NULL, &topic_info(topic), &key, &payload.body, routes)
        })
    })
}

/// A frozen list of route indices, shared by the events that have it.
pub(crate) fn routes_value(routes: &[usize]) -> JsValue {
    let list: Array = routes.iter().map(|&r| JsValue::from(u32::try_from(r).unwrap_or(u32::MAX))).collect();
    Object::freeze(list.unchecked_ref::<Object>()).into()
}

/// A delivery's idempotency key (see `clhooks::ReceivedEvent::idempotency_key`), from the
/// body's SHA-256 when the host computed it, else hashing the body here.
pub(crate) fn key_of(scope: KeyScope, topic: &Topic, body: &Held, digest: Option<[u8; 32]>) -> String {
    match digest {
        Some(digest) => scope.key_of_digest(topic, &digest),
        None => scope.key(topic, &body.bytes()),
    }
}

/// A host's SHA-256 of a body: `undefined` or `null` when it did not compute one.
pub(crate) fn digest(value: &JsValue) -> Result<Option<[u8; 32]>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .dyn_ref::<Uint8Array>()
        .ok_or_else(|| BindingError::invalid("a digest is the 32-byte SHA-256 of the body, as a Uint8Array"))
        .and_then(digest_of)
        .map(Some)
}

/// A host's SHA-256 of a body, from its bytes.
pub(crate) fn digest_of(bytes: &Uint8Array) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes.to_vec().as_slice())
        .map_err(|_| BindingError::invalid("a digest is the 32-byte SHA-256 of the body, as a Uint8Array"))
}

/// The idempotency key of a verified event (`topic`, the raw `body`), with the host's SHA-256 of
/// the body when it has a faster one: what `event.idempotencyKey` gives when first read.
#[wasm_bindgen(js_name = idempotencyKey)]
pub fn idempotency_key(
    topic: &JsValue,
    body: &JsValue,
    digest_value: &JsValue,
) -> crate::errors::JsResult<String> {
    let topic = crate::errors::throw(Topic::parse(&topic.as_string().unwrap_or_default()))?;
    let body = crate::errors::throw(Held::read(body))?;
    let digest = crate::errors::throw(digest(digest_value))?;
    Ok(key_of(KeyScope::TopicAndBody, &topic, &body, digest))
}

fn outline_of(document: &JsValue) -> Vec<i32> {
    OUTLINE.with(|o| {
        o.borrow()
            .as_ref()
            .and_then(|f| f.call1(&JsValue::NULL, document).ok())
            .and_then(|codes| codes.dyn_into::<Int32Array>().ok())
            .map(|codes| codes.to_vec())
            .unwrap_or_default()
    })
}

/// A body as the caller passed it, kept in JS: a string, or the bytes of any typed array,
/// `DataView` or `ArrayBuffer` (from this realm or another), viewed without a copy.
pub(crate) enum Held {
    Text(JsValue),
    Bytes(Uint8Array),
}

impl Held {
    pub(crate) fn read(value: &JsValue) -> Result<Held> {
        if value.is_string() {
            return Ok(Held::Text(value.clone()));
        }
        crate::convert::bytes_view(value).map(Held::Bytes)
    }

    /// The value as the caller passed it (a view of its bytes for a typed array).
    pub(crate) fn value(&self) -> JsValue {
        match self {
            Held::Text(text) => text.clone(),
            Held::Bytes(bytes) => bytes.clone().into(),
        }
    }

    /// The bytes, copied in for this crate's own HMAC.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        match self {
            Held::Text(text) => text.as_string().unwrap_or_default().into_bytes(),
            Held::Bytes(bytes) => bytes.to_vec(),
        }
    }

    /// The length in bytes as far as a limit of `max` bytes can tell: exact for bytes; for a
    /// string of n UTF-16 units (n to 3n bytes of UTF-8), n when 3n is within the limit, and
    /// otherwise measured.
    pub(crate) fn length_within(&self, max: usize) -> usize {
        match self {
            Held::Bytes(bytes) => bytes.length() as usize,
            Held::Text(text) => {
                let units = text.unchecked_ref::<js_sys::JsString>().length() as usize;
                if units.saturating_mul(3) <= max {
                    units
                } else {
                    text.as_string().map_or(0, |s| s.len())
                }
            }
        }
    }
}

/// A payload parsed by the engine and checked by the core (the document stays with the
/// package: its `document()` hook gives it).
pub(crate) struct JsPayload {
    /// The body as the caller passed it.
    pub(crate) body: JsValue,
    pub(crate) kind: String,
}

impl Payload for JsPayload {
    fn data_type(&self) -> &str {
        &self.kind
    }
}

fn get(target: &JsValue, name: &'static str) -> JsValue {
    Reflect::get(target, &crate::key(name)).unwrap_or(JsValue::UNDEFINED)
}

/// The name of a resource's `index`th relationship, for a shape error's message.
fn relationship_name(document: &JsValue, position: usize, index: usize) -> String {
    let resource = if position == 0 {
        get(document, "data")
    } else {
        Reflect::get_u32(&get(document, "included"), u32::try_from(position - 1).unwrap_or(u32::MAX))
            .unwrap_or(JsValue::UNDEFINED)
    };
    let relationships = get(&resource, "relationships");
    relationships
        .dyn_ref::<Object>()
        .map(|r| Object::keys(r).get(u32::try_from(index).unwrap_or(u32::MAX)))
        .and_then(|name| name.as_string())
        .unwrap_or_default()
}

/// The core's check of a parsed document: its skeleton.
fn skeleton(document: &JsValue) -> clhooks::Result<outline::Skeleton> {
    let names = |position: usize, index: usize| relationship_name(document, position, index);
    outline::check(&outline_of(document), &names)
}

/// The document the package's `read` parsed last.
pub(crate) fn last_document() -> JsValue {
    call_hook(&DOCUMENT, &[])
}

/// Has the package decode and parse a verified body, and the core check it. With the topic,
/// `data.type` is known to be its resource or not without crossing over.
pub(crate) fn read(body: &Held, topic: Option<&Topic>) -> clhooks::Result<JsPayload> {
    let info = topic.map_or(JsValue::UNDEFINED, topic_info);
    let read = call_hook(&READ, &[&body.value(), &info]);
    let Some(codes) = read.dyn_ref::<Int32Array>().map(Int32Array::to_vec) else {
        let message = read.as_string().unwrap_or_else(|| "the body is not valid UTF-8".into());
        return Err(Error::InvalidJson { message });
    };
    let (same_type, outline) = codes.split_first().map_or((-1, &[][..]), |(first, rest)| (*first, rest));
    let names = |position: usize, index: usize| relationship_name(&last_document(), position, index);
    outline::check(outline, &names)?;
    // A string once the shape is checked: the topic's resource when the package saw they match.
    let kind = match (topic, same_type) {
        (Some(topic), 1) => topic.resource().to_owned(),
        _ => get(&get(&last_document(), "data"), "type").as_string().unwrap_or_default(),
    };
    Ok(JsPayload { body: body.value(), kind })
}

/// The options of the package's `denormalize`: `maxDepth`, `maxNodes`, `maxGrowth`.
fn denormalize_options(options: &JsValue) -> Result<DenormalizeOptions> {
    if !options.is_undefined() && !options.is_null() && !options.is_object() {
        return Err(BindingError::invalid("denormalize's options must be an object"));
    }
    let mut out = DenormalizeOptions::default();
    let option =
        |name| crate::convert::whole(options, name, u64::from(u32::MAX)).map(|n| n.map(|n| n as usize));
    if let Some(depth) = option("maxDepth")? {
        out = out.with_max_depth(depth);
    }
    if let Some(nodes) = option("maxNodes")? {
        out = out.with_max_nodes(nodes);
    }
    if let Some(growth) = option("maxGrowth")? {
        out = out.with_max_growth(growth);
    }
    Ok(out)
}

/// How to expand a parsed document (see `clhooks::payload::outline::Plan`), for the package's
/// `denormalize`. `weigh(position)` is the package's count of a resource's
/// `clhooks::payload::outline::weight`.
#[wasm_bindgen(js_name = denormalizePlan)]
pub fn denormalize_plan(
    document: &JsValue,
    options: &JsValue,
    weigh: &Function,
) -> crate::errors::JsResult<Int32Array> {
    let options = crate::errors::throw(denormalize_options(options))?;
    let weigh = |position: usize| {
        let weight =
            weigh.call1(&JsValue::UNDEFINED, &JsValue::from(position as u32)).ok().and_then(|w| w.as_f64());
        // A weight is a count: whatever else comes back counts as nothing to copy.
        weight.filter(|w| w.is_finite() && *w >= 0.0).map_or(0, |w| w as u64)
    };
    let plan: Plan = crate::errors::throw(
        skeleton(document).and_then(|s| s.plan(options, weigh)).map_err(BindingError::Core),
    )?;
    Ok(Int32Array::from(plan.as_slice()))
}
