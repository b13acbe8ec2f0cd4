//! The shapes the bindings hand to JavaScript that the core has no type for. Their TypeScript
//! declarations are generated from here (`src/bin/clhooks-types.rs`), like the core's.

use serde::Serialize;

#[cfg(not(target_arch = "wasm32"))]
use ts_rs::TS;

/// The fields a `WebhookError` carries besides `code` and `message`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(not(target_arch = "wasm32"), derive(TS))]
pub struct ErrorDetails {
    /// The HTTP status a receiver answers with for this error.
    pub status: u16,
    /// For `malformed_signature`: what the value looks like instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        not(target_arch = "wasm32"),
        ts(optional, type = "'not_base64' | 'wrong_length' | 'looks_like_hex'")
    )]
    pub hint: Option<String>,
    /// For `malformed_signature` with `hint: 'wrong_length'`: how many bytes it decodes to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(not(target_arch = "wasm32"), ts(optional))]
    pub length: Option<u32>,
    /// For `failure_streak` and `failure_streak_ended`: the streak's length.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(not(target_arch = "wasm32"), ts(optional))]
    pub streak: Option<u32>,
    /// For `failure_streak`: `'notice'` at 5 (Commerce Layer e-mails the owner), `'open'` at 30
    /// (it opens the webhook's circuit).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(not(target_arch = "wasm32"), ts(optional, type = "'notice' | 'open'"))]
    pub circuit: Option<String>,
    /// For `failure_streak` and `failure_streak_ended`: `false` for signature mismatches, a
    /// streak of their own labelled with the topic they claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(not(target_arch = "wasm32"), ts(optional))]
    pub verified: Option<bool>,
    /// For `topic_mismatch`: the topic from the header; for a failure streak, its topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(not(target_arch = "wasm32"), ts(optional))]
    pub topic: Option<String>,
    /// For `topic_mismatch`: the payload's `data.type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(not(target_arch = "wasm32"), ts(optional))]
    pub data_type: Option<String>,
    /// For `invalid_topic` and `invalid_topic_pattern`: the rejected input.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(not(target_arch = "wasm32"), ts(optional))]
    pub input: Option<String>,
}

/// What a topic is: `parseTopic` returns it and every event carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(TS))]
pub struct TopicFields {
    /// `{resource}.{event}`.
    pub topic: String,
    /// The resource side, such as `orders`.
    pub resource: String,
    /// The event side, such as `place`.
    pub event: String,
    /// Whether the topic is in the catalogue.
    pub known: bool,
    /// What triggers it, where Commerce Layer documents it.
    pub description: Option<String>,
}

/// A verified delivery as the receivers hand it over (the document itself is added by the
/// bindings as the engine's own parsed object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(not(target_arch = "wasm32"), derive(TS))]
pub struct EventFields {
    /// The topic and what it is.
    #[serde(flatten)]
    pub topic: TopicFields,
    /// `data.id`.
    pub id: String,
    /// `data.type`, always the topic's resource.
    #[serde(rename = "type")]
    pub kind: String,
    /// The same for every retry of one delivery (and across a secret rotation), different for
    /// different deliveries: the hex SHA-256 of the topic, a zero byte and the raw body's
    /// SHA-256 (Commerce Layer resends the same body on a retry). Made when first read.
    pub idempotency_key: String,
    /// The indices of the receiver's routes the topic matches.
    pub routes: Vec<u32>,
}

/// A call a live run makes now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(not(target_arch = "wasm32"), derive(TS))]
pub struct CallFields {
    /// Pass it back to `complete`.
    pub id: u32,
    /// The webhook.
    pub webhook: String,
    /// The event.
    pub event: String,
    /// 1 for the first call of a delivery.
    pub attempt: u32,
    /// Where to POST.
    pub url: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// Abort the call after this long.
    pub timeout_ms: u32,
}
