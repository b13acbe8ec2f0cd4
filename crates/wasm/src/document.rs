//! Payloads read by the engine: the body is parsed once, by `JSON.parse` (faster than any
//! parser compiled to WebAssembly), and stays a JS object. The package's `outline` function
//! (`pkg-templates/outline.js`) writes the object's skeleton as integers; the core checks the
//! shape and plans `denormalize` from it (`clhooks::payload::outline`).

use std::cell::RefCell;
use std::collections::HashMap;

use clhooks::payload::outline::{self, Plan};
use clhooks::payload::{DenormalizeOptions, KeyScope, Payload};
use clhooks::{Error, Topic};
use js_sys::{Array, Function, Int32Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::errors::{BindingError, Result};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn json_parse(text: &JsValue) -> std::result::Result<JsValue, JsValue>;

    /// The package's `makeEvent(info, key, body, routes, document, data, included)`: `key` is
    /// `undefined` until asked for (it is then made from `body`); `data.id` and `data.type` are
    /// strings (the core checked them).
    type EventMaker;
    #[wasm_bindgen(method, js_name = call)]
    #[allow(clippy::too_many_arguments)]
    fn make(
        this: &EventMaker,
        this_arg: &JsValue,
        info: &JsValue,
        key: &JsValue,
        body: &JsValue,
        routes: &JsValue,
        document: &JsValue,
        data: &JsValue,
        included: &JsValue,
    ) -> JsValue;

    type TextDecoder;
    #[wasm_bindgen(constructor, catch)]
    fn new(label: &str, options: &JsValue) -> std::result::Result<TextDecoder, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn decode(this: &TextDecoder, bytes: &Uint8Array) -> std::result::Result<JsValue, JsValue>;
}

thread_local! {
    static OUTLINE: RefCell<Option<Function>> = const { RefCell::new(None) };
    static MAKE_EVENT: RefCell<Option<EventMaker>> = const { RefCell::new(None) };
    static DECODER: RefCell<Option<TextDecoder>> = const { RefCell::new(None) };
    /// Each topic's fields as a frozen object, made once (the catalogue's and a bounded number
    /// of others).
    static TOPICS: RefCell<HashMap<String, JsValue>> = RefCell::new(HashMap::new());
}

/// How many topics' fields are kept made.
const TOPIC_CACHE: usize = 512;

/// Registers the package's `outline(document)`, which gives a parsed document's outline as an
/// `Int32Array`, and its `makeEvent`, which makes the event handed to handlers.
#[wasm_bindgen(js_name = "__setHooks")]
pub fn set_hooks(outline: Function, make_event: Function) {
    OUTLINE.with(|o| *o.borrow_mut() = Some(outline));
    MAKE_EVENT.with(|m| *m.borrow_mut() = Some(make_event.unchecked_into()));
}

/// A topic's fields (`topic`, `resource`, `event`, `known`, `description`), frozen.
fn topic_info(topic: &Topic) -> JsValue {
    TOPICS.with(|topics| {
        let mut topics = topics.borrow_mut();
        if let Some(info) = topics.get(topic.as_str()) {
            return info.clone();
        }
        if topics.len() >= TOPIC_CACHE {
            topics.clear();
        }
        let info = crate::topic_value(&crate::topic_fields(topic));
        let info: JsValue = Object::freeze(info.unchecked_ref::<Object>()).into();
        topics.insert(topic.as_str().to_owned(), info.clone());
        info
    })
}

/// The event handed to handlers (a `WebhookEvent`): the topic's fields, `data`'s id and type, the
/// idempotency key when it was made (else the body it is made from when asked), the routes, and
/// the document as the engine parsed it.
pub(crate) fn event(payload: JsPayload, topic: &Topic, key: Option<&str>, routes: &JsValue) -> JsValue {
    let included = included(&payload.document);
    let key = key.map_or(JsValue::UNDEFINED, JsValue::from_str);
    MAKE_EVENT.with(|m| {
        m.borrow().as_ref().map_or(JsValue::UNDEFINED, |make| {
            make.make(
                &JsValue::NULL,
                &topic_info(topic),
                &key,
                &payload.body,
                routes,
                &payload.document,
                &payload.data,
                &included,
            )
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
    let bytes = value.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec);
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .map(Some)
        .ok_or_else(|| BindingError::invalid("a digest is the 32-byte SHA-256 of the body, as a Uint8Array"))
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

/// Strict UTF-8, a byte-order mark kept (so that `JSON.parse` refuses it, as the core does).
fn decode_utf8(bytes: &Uint8Array) -> Option<JsValue> {
    DECODER.with(|d| {
        let mut decoder = d.borrow_mut();
        if decoder.is_none() {
            let options = Object::new();
            crate::set(&options, "fatal", &JsValue::TRUE);
            crate::set(&options, "ignoreBOM", &JsValue::TRUE);
            *decoder = TextDecoder::new("utf-8", &options).ok();
        }
        decoder.as_ref().and_then(|decoder| decoder.decode(bytes).ok())
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

    fn text(&self) -> clhooks::Result<JsValue> {
        match self {
            Held::Text(text) => Ok(text.clone()),
            Held::Bytes(bytes) => decode_utf8(bytes)
                .ok_or_else(|| Error::InvalidJson { message: "the body is not valid UTF-8".into() }),
        }
    }
}

/// A payload parsed by the engine and checked by the core.
pub(crate) struct JsPayload {
    /// The body as the caller passed it.
    pub(crate) body: JsValue,
    pub(crate) document: JsValue,
    pub(crate) data: JsValue,
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

/// Parses a verified body with the engine and has the core check it.
pub(crate) fn read(body: &Held) -> clhooks::Result<JsPayload> {
    let text = body.text()?;
    let document = json_parse(&text).map_err(|e| Error::InvalidJson {
        message: get(&e, "message").as_string().unwrap_or_else(|| "JSON.parse failed".into()),
    })?;
    skeleton(&document)?;
    // Both are strings once the shape is checked.
    let data = get(&document, "data");
    let kind = get(&data, "type").as_string().unwrap_or_default();
    Ok(JsPayload { body: body.value(), document, data, kind })
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

/// `included`, or an empty array.
pub(crate) fn included(document: &JsValue) -> JsValue {
    let included = get(document, "included");
    if Array::is_array(&included) {
        included
    } else {
        Array::new().into()
    }
}
