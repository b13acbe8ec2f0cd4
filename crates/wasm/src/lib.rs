//! The JavaScript bindings of clhooks. They convert arguments, call the core and map errors;
//! every decision stays in the core (`clhooks`, and `clhooks-command` for what the command
//! lines and a run's text say). The npm package's entrypoints (`pkg-templates/`) wrap
//! these. They build as two modules: `receiver` (verify, receive, topics, payloads: what a
//! receiver loads) and `sender` (the simulator and the delivery driver, loaded on first use),
//! and `cli`, the sender's with the command line's (`npx clhooks`).
//! Only [`types`], [`codes`] and [`reference`](mod@reference) are compiled natively: the
//! TypeScript types and `docs/reference.md` are generated from them.

// Each module builds with part of the shared helpers.
#![cfg_attr(
    not(all(feature = "receiver", feature = "sender", feature = "sources", feature = "worker")),
    allow(dead_code)
)]

pub mod codes;
#[cfg(not(target_arch = "wasm32"))]
pub mod reference;
pub mod types;

#[cfg(all(target_arch = "wasm32", feature = "sources"))]
mod admission;
#[cfg(all(target_arch = "wasm32", feature = "cli"))]
mod command;
#[cfg(target_arch = "wasm32")]
mod convert;
#[cfg(all(target_arch = "wasm32", feature = "receiver"))]
mod document;
#[cfg(all(target_arch = "wasm32", feature = "sender"))]
mod driver;
#[cfg(target_arch = "wasm32")]
pub mod errors;
#[cfg(all(target_arch = "wasm32", feature = "receiver"))]
mod health;
#[cfg(all(target_arch = "wasm32", feature = "receiver"))]
mod receive;
#[cfg(all(target_arch = "wasm32", feature = "receiver"))]
mod receiver;
#[cfg(all(target_arch = "wasm32", feature = "sender"))]
mod sender;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod worker;

#[cfg(target_arch = "wasm32")]
mod shared {
    use clhooks::topic::Topic;
    use clhooks::Error;
    use js_sys::{Object, Reflect, JSON};
    use wasm_bindgen::prelude::*;

    use crate::errors::BindingError;
    use crate::types::TopicFields;

    /// A serializable value as the engine's own object, through JSON text: `JSON.parse` builds
    /// objects faster than any conversion from Rust would.
    pub(crate) fn to_js_value<T: serde::Serialize>(value: &T) -> JsValue {
        let text = serde_json::to_string(value).unwrap_or_default();
        JSON::parse(&text).unwrap_or(JsValue::NULL)
    }

    /// A value from JS (JSON text or an object) read into a core type.
    pub(crate) fn from_js_value<T: serde::de::DeserializeOwned>(
        value: &JsValue,
        invalid: impl Fn(String) -> Error,
    ) -> Result<T, BindingError> {
        let text = match value.as_string() {
            Some(text) => text,
            None if value.is_object() => {
                JSON::stringify(value).ok().and_then(|s| s.as_string()).unwrap_or_default()
            }
            None => return Err(invalid("expected JSON text or an object".into()).into()),
        };
        serde_json::from_str(&text).map_err(|e| invalid(e.to_string()).into())
    }

    /// Values kept by topic name, a bounded number of them (all forgotten at once past it),
    /// found by a look at each: a receiver meets a handful of topics, and this is less code in
    /// the module than a hash map, and as fast for so few.
    pub(crate) struct Kept<V> {
        entries: Vec<(String, V)>,
        max: usize,
    }

    impl<V> Kept<V> {
        pub(crate) const fn new(max: usize) -> Kept<V> {
            Kept { entries: Vec::new(), max }
        }

        /// The value kept for `name`, made by `make` (and kept) when there is none.
        pub(crate) fn get_or(&mut self, name: &str, make: impl FnOnce() -> V) -> Option<&mut V> {
            let at = match self.entries.iter().position(|(n, _)| n == name) {
                Some(at) => at,
                None => {
                    if self.entries.len() >= self.max {
                        self.entries.clear();
                    }
                    self.entries.push((name.to_owned(), make()));
                    self.entries.len() - 1
                }
            };
            // Found, or just pushed there: always some.
            self.entries.get_mut(at).map(|(_, value)| value)
        }

        pub(crate) fn clear(&mut self) {
            self.entries.clear();
        }
    }

    thread_local! {
        /// Member names made into JS strings once (they are set on every request's objects).
        static KEYS: std::cell::RefCell<Vec<(&'static str, JsValue)>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// A member name as a JS string, made once.
    pub(crate) fn key(name: &'static str) -> JsValue {
        KEYS.with(|keys| {
            let mut keys = keys.borrow_mut();
            if let Some((_, value)) = keys.iter().find(|(k, _)| std::ptr::eq(*k, name) || *k == name) {
                return value.clone();
            }
            let value = JsValue::from_str(name);
            keys.push((name, value.clone()));
            value
        })
    }

    /// A seen-store's claim: `'fresh'`, `'duplicate'`, `'in_flight'`, or `{ held }`, what a Redis
    /// `SET … NX … GET` found (`clhooks/redis`), read by the core. `None` for anything else.
    pub(crate) fn claim_value(value: &JsValue) -> Option<clhooks::Claim> {
        if let Some(text) = value.as_string() {
            return match text.as_str() {
                "fresh" => Some(clhooks::Claim::Fresh),
                "duplicate" => Some(clhooks::Claim::Duplicate),
                "in_flight" => Some(clhooks::Claim::InFlight),
                _ => None,
            };
        }
        if !value.is_object() {
            return None;
        }
        let held = Reflect::get(value, &key("held")).ok()?;
        if held.is_null() {
            return Some(clhooks::store::RedisProtocol::claim_held(None));
        }
        held.as_string().map(|held| clhooks::store::RedisProtocol::claim_held(Some(&held)))
    }

    pub(crate) fn set(target: &Object, name: &'static str, value: &JsValue) {
        let _ = Reflect::set(target, &key(name), value);
    }

    /// An answer as `{status, body}`, member by member (on every request: no JSON text between).
    pub(crate) fn answer_value(answer: &clhooks::Answer) -> JsValue {
        let out = Object::new();
        set(&out, "status", &JsValue::from(answer.status));
        set(&out, "body", &JsValue::from_str(&answer.body));
        out.into()
    }

    /// A topic's fields as an object, member by member (no JSON serializer in the receiver's
    /// module).
    pub(crate) fn topic_value(fields: &TopicFields) -> JsValue {
        let out = Object::new();
        set(&out, "topic", &JsValue::from_str(&fields.topic));
        set(&out, "resource", &JsValue::from_str(&fields.resource));
        set(&out, "event", &JsValue::from_str(&fields.event));
        set(&out, "known", &JsValue::from_bool(fields.known));
        set(&out, "description", &fields.description.as_deref().map_or(JsValue::NULL, JsValue::from_str));
        out.into()
    }

    /// An error's details as an object, the members that apply only.
    pub(crate) fn details_value(details: &crate::types::ErrorDetails) -> JsValue {
        let out = Object::new();
        set(&out, "status", &JsValue::from(details.status));
        let strings = [
            ("hint", &details.hint),
            ("topic", &details.topic),
            ("dataType", &details.data_type),
            ("input", &details.input),
        ];
        for (name, value) in strings {
            if let Some(value) = value {
                set(&out, name, &JsValue::from_str(value));
            }
        }
        if let Some(length) = details.length {
            set(&out, "length", &JsValue::from(length));
        }
        out.into()
    }

    pub(crate) fn topic_fields(topic: &Topic) -> TopicFields {
        TopicFields {
            topic: topic.as_str().to_owned(),
            resource: topic.resource().to_owned(),
            event: topic.event().to_owned(),
            known: topic.is_known(),
            description: topic.info().and_then(|i| i.description).map(str::to_owned),
        }
    }

    pub(crate) fn string(value: &JsValue, what: &str) -> Result<String, BindingError> {
        value.as_string().ok_or_else(|| BindingError::invalid(format!("{what} must be a string")))
    }
}

#[cfg(all(target_arch = "wasm32", feature = "receiver"))]
pub(crate) use receive::JsVerifier;
#[cfg(all(target_arch = "wasm32", feature = "sender"))]
pub(crate) use sender::{read_scenario, report_value};
#[cfg(target_arch = "wasm32")]
#[allow(unused_imports)]
pub(crate) use shared::{
    answer_value, details_value, from_js_value, key, set, string, to_js_value, topic_fields, topic_value,
    Kept,
};
