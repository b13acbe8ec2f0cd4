//! The Commerce Layer webhook model: JSON:API documents, the webhook, event callback, event and
//! event store resources, and the request bodies that create and update webhooks.

mod jsonapi;
mod request;

use std::fmt;

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use jsonapi::{Document, Identifier, Linkage, Object, Relationship, Resource};
pub use request::{validate_callback_url, validate_include_path, Credential, WebhookCreate, WebhookUpdate};

use crate::topic::Topic;

macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        ///
        /// A value this crate does not know yet is kept as `Unknown` instead of failing.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value not known to this crate, as received.
            Unknown(String),
        }

        impl $name {
            /// The value as Commerce Layer spells it.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($text => $name::$variant,)+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name::from(value.as_str())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

open_enum! {
    /// The state of a webhook's circuit breaker.
    CircuitState {
        /// Calls are made (the default).
        Closed = "closed",
        /// Too many consecutive failures: no calls until the circuit is reset.
        Open = "open",
    }
}

// Written out because the macro above serves enums without a default too.
#[allow(clippy::derivable_impls)]
impl Default for CircuitState {
    fn default() -> Self {
        CircuitState::Closed
    }
}

open_enum! {
    /// The environment a resource lives in (`meta.mode`).
    Mode {
        /// Test data.
        Test = "test",
        /// Live data.
        Live = "live",
    }
}

/// A webhook's shared secret. It is kept out of `Debug` output; [`SharedSecret::expose`] gives
/// the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SharedSecret(String);

impl SharedSecret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> SharedSecret {
        SharedSecret(secret.into())
    }

    /// The secret itself, to key a [`Verifier`](crate::Verifier) with.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

/// The attributes every Commerce Layer resource has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Common {
    /// Time at which the resource was created (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Time at which the resource was last updated (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// An external identifier.
    #[serde(default)]
    pub reference: Option<String>,
    /// The third-party system that defines `reference`.
    #[serde(default)]
    pub reference_origin: Option<String>,
    /// Key-value pairs attached to the resource.
    #[serde(default)]
    pub metadata: Option<Object>,
}

/// A resource's `meta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceMeta {
    /// `test` or `live`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The organization the resource belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Any other member.
    #[serde(flatten)]
    pub extra: Object,
}

/// The attributes of one resource type; ties a [`Record`] to its JSON:API `type`.
pub trait Attributes: Serialize + DeserializeOwned {
    /// The JSON:API type, such as `webhooks`.
    const TYPE: &'static str;
}

/// A resource that can be read from a [`Resource`] with [`Resource::to_typed`].
pub trait TypedResource: DeserializeOwned {
    /// The JSON:API type, such as `webhooks`.
    const TYPE: &'static str;
}

/// A typed resource: `id`, typed attributes, relationships and `meta`, with every member this
/// crate does not model kept in `extra` maps so nothing is lost on a round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record<A> {
    /// The resource's id.
    pub id: String,
    /// The JSON:API type (always `A::TYPE` once read).
    #[serde(rename = "type")]
    pub kind: String,
    /// `links`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Object>,
    /// The typed attributes.
    pub attributes: A,
    /// The relationships, by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub relationships: IndexMap<String, Relationship>,
    /// `meta`.
    #[serde(default)]
    pub meta: ResourceMeta,
    /// Any other member.
    #[serde(flatten)]
    pub extra: Object,
}

impl<A: Attributes> TypedResource for Record<A> {
    const TYPE: &'static str = A::TYPE;
}

impl<A: Attributes> Record<A> {
    /// Reads the primary resource of a response body, such as the body of a retrieve call.
    ///
    /// # Errors
    ///
    /// As [`Document::from_slice`] and [`Resource::to_typed`].
    pub fn from_document(body: &[u8]) -> crate::Result<Self> {
        Document::from_slice(body)?.data.to_typed()
    }

    /// A relationship by name.
    #[must_use]
    pub fn relationship(&self, name: &str) -> Option<&Relationship> {
        self.relationships.get(name)
    }

    /// `meta.mode`.
    #[must_use]
    pub fn mode(&self) -> Option<&Mode> {
        self.meta.mode.as_ref()
    }
}

/// A webhook.
///
/// ```
/// use clhooks::model::{CircuitState, Webhook};
/// let body = br#"{"data":{"id":"wh1","type":"webhooks","attributes":{
///     "name":"orders","topic":"orders.place","callback_url":"https://example.com/hooks",
///     "include_resources":["line_items"],"circuit_state":"open","circuit_failure_count":30,
///     "shared_secret":"s3cret","disabled_at":null}, "meta":{"mode":"test"}}}"#;
/// let webhook = Webhook::from_document(body)?;
/// assert_eq!(webhook.attributes.circuit_state, CircuitState::Open);
/// assert!(webhook.is_enabled() && !webhook.is_callable());
/// assert!(!format!("{webhook:?}").contains("s3cret"));
/// # Ok::<(), clhooks::Error>(())
/// ```
pub type Webhook = Record<WebhookAttributes>;

/// The attributes of a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookAttributes {
    /// Unique name (defaults to "webhook {id}" when created without one).
    #[serde(default)]
    pub name: Option<String>,
    /// The topic that fires the webhook.
    pub topic: Topic,
    /// Where Commerce Layer POSTs the payload.
    pub callback_url: String,
    /// Related resources included in the payload, as dot paths.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub include_resources: Vec<String>,
    /// When the webhook was disabled; `None` while enabled.
    #[serde(default)]
    pub disabled_at: Option<String>,
    /// The circuit breaker's state.
    #[serde(default)]
    pub circuit_state: CircuitState,
    /// Consecutive failed calls, retries included; 0 after the first success or a reset.
    #[serde(default)]
    pub circuit_failure_count: u32,
    /// The secret that signs the payloads.
    #[serde(default)]
    pub shared_secret: Option<SharedSecret>,
    /// Timestamps, reference and metadata.
    #[serde(flatten)]
    pub common: Common,
    /// Any other attribute.
    #[serde(flatten)]
    pub extra: Object,
}

impl Attributes for WebhookAttributes {
    const TYPE: &'static str = "webhooks";
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default())
}

impl Webhook {
    /// Whether the webhook is enabled (`disabled_at` is not set).
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.attributes.disabled_at.is_none()
    }

    /// Whether Commerce Layer calls it: enabled and with a closed circuit.
    #[must_use]
    pub fn is_callable(&self) -> bool {
        self.is_enabled() && self.attributes.circuit_state == CircuitState::Closed
    }

    /// The most recent event callbacks.
    #[must_use]
    pub fn last_event_callbacks(&self) -> Option<&Relationship> {
        self.relationship("last_event_callbacks")
    }

    /// The associated event stores.
    #[must_use]
    pub fn event_stores(&self) -> Option<&Relationship> {
        self.relationship("event_stores")
    }
}

/// The record of one call to a webhook's callback URL (kept one month by Commerce Layer).
pub type EventCallback = Record<EventCallbackAttributes>;

/// The attributes of an event callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventCallbackAttributes {
    /// The URL called.
    pub callback_url: String,
    /// The payload sent.
    #[serde(default)]
    pub payload: Option<Value>,
    /// The HTTP status code of the answer, as a string such as "200".
    #[serde(default)]
    pub response_code: Option<String>,
    /// The answer's status text or error, such as "OK".
    #[serde(default)]
    pub response_message: Option<String>,
    /// Timestamps, reference and metadata.
    #[serde(flatten)]
    pub common: Common,
    /// Any other attribute (older API versions also had `signature`).
    #[serde(flatten)]
    pub extra: Object,
}

impl Attributes for EventCallbackAttributes {
    const TYPE: &'static str = "event_callbacks";
}

impl EventCallback {
    /// Whether the call succeeded: a 2xx `response_code`.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.attributes
            .response_code
            .as_deref()
            .and_then(|code| code.parse::<u16>().ok())
            .is_some_and(|code| (200..300).contains(&code))
    }
}

/// An event that webhooks can subscribe to, such as `orders.create`.
pub type Event = Record<EventAttributes>;

/// The attributes of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventAttributes {
    /// The event's name: a topic.
    pub name: Topic,
    /// Timestamps, reference and metadata.
    #[serde(flatten)]
    pub common: Common,
    /// Any other attribute.
    #[serde(flatten)]
    pub extra: Object,
}

impl Attributes for EventAttributes {
    const TYPE: &'static str = "events";
}

impl Event {
    /// The body of an update that forces the event's webhooks to fire (`_trigger: true`).
    #[must_use]
    pub fn trigger_body(id: &str) -> Value {
        serde_json::json!({"data": {"type": "events", "id": id, "attributes": {"_trigger": true}}})
    }
}

/// A change recorded on a resource.
pub type EventStore = Record<EventStoreAttributes>;

/// The attributes of an event store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventStoreAttributes {
    /// The changed resource's type.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The changed resource's id.
    #[serde(default)]
    pub resource_id: Option<String>,
    /// `create` or `update`.
    #[serde(default)]
    pub event: Option<String>,
    /// Per-attribute changes, `{"status": {"from": ..., "to": ...}}`.
    #[serde(default)]
    pub payload: Option<Value>,
    /// Who made the change (application, owner).
    #[serde(default)]
    pub who: Option<Value>,
    /// Timestamps, reference and metadata.
    #[serde(flatten)]
    pub common: Common,
    /// Any other attribute.
    #[serde(flatten)]
    pub extra: Object,
}

impl Attributes for EventStoreAttributes {
    const TYPE: &'static str = "event_stores";
}
