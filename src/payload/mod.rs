//! Webhook deliveries: the signed body, its topic, and the JSON:API document it carries.

mod denormalize;
pub mod outline;

pub use denormalize::{DenormalizeOptions, DEFAULT_MAX_DEPTH};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{Document, Resource};
use crate::signature::{Check, Verifier, SIGNATURE_HEADER};
use crate::topic::Topic;

/// The header carrying the topic, such as `orders.place`.
pub const TOPIC_HEADER: &str = "X-CommerceLayer-Topic";

/// A verified delivery: its topic, the parsed document and the raw body it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// The topic from `X-CommerceLayer-Topic`.
    pub topic: Topic,
    /// The payload, parsed.
    pub document: Document,
    /// The body exactly as received (what the signature covers).
    pub body: Vec<u8>,
}

impl ReceivedEvent {
    /// A key that is the same for every retry of one delivery and different for different
    /// deliveries: the hex SHA-256 of the topic, a zero byte and the SHA-256 of the raw body (the
    /// body's own digest, so that a host with a faster SHA-256 can compute that part).
    ///
    /// Commerce Layer resends the same body on every retry, so retries (and a delivery
    /// received again after a receiver timed out) share the key; a new event carries a
    /// different body (at least its `updated_at`). It does not depend on the secret, so it
    /// stays the same across a secret rotation (a retry signed with the new secret is still a
    /// duplicate). Limits: two deliveries with byte-identical bodies and the same topic share a
    /// key — for example the same event sent by two webhooks with the same `include_resources`
    /// to one receiver, which is one piece of news anyway.
    ///
    /// The topic header is not signed: whoever holds one signed body can resend it under
    /// another topic of the same resource, and it is then another key. A receiver that wants
    /// one claim per body whatever the topic keys it with [`KeyScope::Body`].
    #[must_use]
    pub fn idempotency_key(&self) -> String {
        idempotency_key(&self.topic, &self.body)
    }

    /// The idempotency key in a [`KeyScope`].
    #[must_use]
    pub fn idempotency_key_in(&self, scope: KeyScope) -> String {
        scope.key(&self.topic, &self.body)
    }

    /// The resource the event is about (`data`).
    #[must_use]
    pub fn resource(&self) -> &Resource {
        &self.document.data
    }

    /// The payload with relationships resolved into nested objects; see
    /// [`Document::denormalize`].
    ///
    /// # Errors
    ///
    /// [`Error::DenormalizeLimit`] for a document too large to expand.
    pub fn denormalize(&self) -> Result<Value> {
        self.document.denormalize()
    }
}

impl Payload for ReceivedEvent {
    fn data_type(&self) -> &str {
        &self.document.data.kind
    }
}

/// A delivery's payload as a runtime holds it, once read: [`receive_with`] checks that the
/// topic is about its `data.type`.
pub trait Payload {
    /// `data.type`, such as `orders`.
    fn data_type(&self) -> &str;
}

/// A delivery whose signature passed and whose topic is well formed; its body is not read yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The topic from `X-CommerceLayer-Topic`.
    pub topic: Topic,
}

/// What an idempotency key is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum KeyScope {
    /// The topic and the body ([`idempotency_key`]): the default.
    #[default]
    TopicAndBody,
    /// The body alone: one signed body is one claim whatever topic it is sent with (the topic
    /// header is not signed).
    Body,
}

impl KeyScope {
    /// The key of a topic and the SHA-256 of a body, in this scope. The body-only key is the
    /// topic-and-body key with an empty topic, which no topic is.
    #[must_use]
    pub fn key_of_digest(self, topic: &Topic, body_sha256: &[u8; 32]) -> String {
        match self {
            KeyScope::TopicAndBody => idempotency_key_of_digest(topic, body_sha256),
            KeyScope::Body => key_of_parts("", body_sha256),
        }
    }

    /// The key of a topic and a body, in this scope.
    #[must_use]
    pub fn key(self, topic: &Topic, body: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        self.key_of_digest(topic, &Sha256::digest(body).into())
    }
}

/// The [idempotency key](ReceivedEvent::idempotency_key) of a topic and body.
#[must_use]
pub fn idempotency_key(topic: &Topic, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    idempotency_key_of_digest(topic, &Sha256::digest(body).into())
}

/// The [idempotency key](ReceivedEvent::idempotency_key) of a topic and the SHA-256 of a body,
/// computed elsewhere (node:crypto, WebCrypto), or only when a key is asked for.
///
/// ```
/// use sha2::{Digest, Sha256};
/// let topic: clhooks::Topic = "orders.place".parse()?;
/// let body = br#"{"data":{"id":"o1","type":"orders"}}"#;
/// assert_eq!(clhooks::payload::idempotency_key_of_digest(&topic, &Sha256::digest(body).into()),
///            clhooks::payload::idempotency_key(&topic, body));
/// # Ok::<(), clhooks::Error>(())
/// ```
#[must_use]
pub fn idempotency_key_of_digest(topic: &Topic, body_sha256: &[u8; 32]) -> String {
    key_of_parts(topic.as_str(), body_sha256)
}

fn key_of_parts(topic: &str, body_sha256: &[u8; 32]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(topic.as_bytes());
    hash.update([0]);
    hash.update(body_sha256);
    let mut out = String::with_capacity(64);
    for byte in hash.finalize() {
        for nibble in [byte >> 4, byte & 15] {
            out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    out
}

/// Parses a delivery body into its document.
///
/// # Errors
///
/// As [`Document::from_slice`].
pub fn parse(body: &[u8]) -> Result<Document> {
    Document::from_slice(body)
}

/// Checks that a topic is about the payload's primary resource (`orders.place` carries an
/// `orders` resource).
///
/// # Errors
///
/// [`Error::TopicMismatch`].
pub fn check_topic(topic: &Topic, document: &Document) -> Result<()> {
    check_type(topic, &document.data.kind)
}

/// Checks that a topic is about a resource type (`orders.place` and `orders`).
///
/// # Errors
///
/// [`Error::TopicMismatch`].
pub fn check_type(topic: &Topic, data_type: &str) -> Result<()> {
    if topic.resource() == data_type {
        Ok(())
    } else {
        Err(Error::TopicMismatch { topic: topic.to_string(), data_type: data_type.to_owned() })
    }
}

/// Verifies and reads one delivery.
///
/// In order: the signature (`X-CommerceLayer-Signature`, header names in any case) against
/// every secret of the verifier; the topic (`X-CommerceLayer-Topic`); the body as a JSON:API
/// document; and that the topic's resource is the document's `data.type`. Nothing is parsed
/// before the signature has passed.
///
/// ```
/// use clhooks::{receive, sign, Verifier};
/// let body = br#"{"data":{"id":"xYZkjABcde","type":"orders","attributes":{"status":"placed"}}}"#;
/// let verifier = Verifier::new(["1c0994cc4e996e8c6ee56a2198f66f3c"])?;
/// let signature = sign(body, "1c0994cc4e996e8c6ee56a2198f66f3c")?;
/// let headers = [("x-commercelayer-signature", signature.as_str()),
///                ("X-CommerceLayer-Topic", "orders.place")];
/// let event = receive(body, headers, &verifier)?;
/// assert_eq!(event.topic.as_str(), "orders.place");
/// assert_eq!(event.resource().attributes["status"], "placed");
/// # Ok::<(), clhooks::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::MissingSignature`], [`Error::MalformedSignature`], [`Error::SignatureMismatch`],
/// [`Error::MissingTopic`], [`Error::InvalidTopic`], [`Error::InvalidJson`],
/// [`Error::InvalidDocument`] or [`Error::TopicMismatch`], checked in that order.
pub fn receive<H, K, V>(body: &[u8], headers: H, verifier: &Verifier) -> Result<ReceivedEvent>
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    receive_checked(body, headers, Check::Keys(verifier))
}

/// [`receive`], with the signature checked as `check` says: with a verifier's keys, or against
/// tags a host computed.
///
/// # Errors
///
/// As [`receive`].
pub fn receive_checked<H, K, V>(body: &[u8], headers: H, check: Check<'_>) -> Result<ReceivedEvent>
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    receive_with(
        headers,
        |signature| check.verify(body, signature),
        |verified| {
            let document = Document::from_slice(body)?;
            Ok(ReceivedEvent { topic: verified.topic, document, body: body.to_vec() })
        },
    )
}

/// Verifies and reads one delivery, whoever holds its body: `verify` checks the signature header
/// (with [`Check::verify`] on the body), then `read` parses the body into a [`Payload`] — called
/// only once the signature and the topic have passed — and its `data.type` is checked against
/// the topic. [`receive`] reads into a [`Document`]; the JavaScript package reads with the
/// engine's `JSON.parse` and checks the shape with [`outline::check`].
///
/// # Errors
///
/// As [`receive`]: the signature's (from `verify`), [`Error::MissingTopic`],
/// [`Error::InvalidTopic`], then `read`'s, then [`Error::TopicMismatch`].
pub fn receive_with<H, K, V, P: Payload>(
    headers: H,
    verify: impl FnOnce(&str) -> Result<()>,
    read: impl FnOnce(Verified) -> Result<P>,
) -> Result<P>
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let verified = verify_headers(headers, verify)?;
    let topic = verified.topic.clone();
    let payload = read(verified)?;
    check_type(&topic, payload.data_type())?;
    Ok(payload)
}

/// Whether a header is one a delivery is read from (the signature or the topic, in any case):
/// a runtime need not copy the others.
#[must_use]
pub fn is_delivery_header(name: &str) -> bool {
    name.eq_ignore_ascii_case(SIGNATURE_HEADER) || name.eq_ignore_ascii_case(TOPIC_HEADER)
}

/// The first two steps of [`receive_with`]: the signature and the topic.
///
/// # Errors
///
/// As [`receive_with`], up to the topic.
pub fn verify_headers<H, K, V>(headers: H, verify: impl FnOnce(&str) -> Result<()>) -> Result<Verified>
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut signature = None;
    let mut topic = None;
    for (name, value) in headers {
        let name = name.as_ref();
        if signature.is_none() && name.eq_ignore_ascii_case(SIGNATURE_HEADER) {
            signature = Some(value);
        } else if topic.is_none() && name.eq_ignore_ascii_case(TOPIC_HEADER) {
            topic = Some(value);
        }
    }
    let mut verify = Some(verify);
    verified(signature.as_ref().map(AsRef::as_ref), topic.as_ref().map(AsRef::as_ref), &mut |signature| {
        verify.take().map_or(Ok(()), |verify| verify(signature))
    })
}

/// The rest of [`verify_headers`] once the two headers are found: one copy whatever the
/// headers' types.
fn verified(
    signature: Option<&str>,
    topic: Option<&str>,
    verify: &mut dyn FnMut(&str) -> Result<()>,
) -> Result<Verified> {
    verify(signature.ok_or(Error::MissingSignature)?)?;
    let topic = topic.map(str::trim).filter(|t| !t.is_empty());
    let topic = Topic::parse(topic.ok_or(Error::MissingTopic)?)?;
    Ok(Verified { topic })
}
