//! Webhook topics: `{resource}.{event}` names, the catalogue of known ones, and routing patterns.

pub mod catalogue;
mod pattern;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use catalogue::{Sources, TopicInfo};
pub use pattern::TopicPattern;

use crate::error::{Error, Result};

/// The longest topic (or pattern) accepted, in bytes: three times the longest Commerce Layer
/// sends, so a hostile header cannot make a receiver hold or echo a megabyte.
pub const MAX_TOPIC_LEN: usize = 128;
/// A webhook topic such as `orders.place`: the resource type and the event on it.
///
/// Any well-formed topic parses, including ones Commerce Layer adds after this crate was built;
/// [`Topic::is_known`] says whether it is in the [catalogue](catalogue::all).
///
/// ```
/// use clhooks::Topic;
/// let topic: Topic = "orders.place".parse()?;
/// assert_eq!((topic.resource(), topic.event()), ("orders", "place"));
/// assert!(topic.is_known());
/// assert!(!"orders.explode".parse::<Topic>()?.is_known());
/// assert_eq!("Orders.Place".parse::<Topic>().unwrap_err().code(), "invalid_topic");
/// # Ok::<(), clhooks::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic {
    name: String,
    dot: usize,
}

/// Checks one side of a topic: lowercase snake_case, starting with a letter, no empty words.
pub(crate) fn check_segment(segment: &str) -> std::result::Result<(), &'static str> {
    let mut chars = segment.chars();
    match chars.next() {
        None => return Err("the resource and the event must both be non-empty"),
        Some('a'..='z') => {}
        Some(_) => return Err("each side must start with a lowercase letter"),
    }
    if !chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_')) {
        return Err("only lowercase letters, digits and underscores are allowed");
    }
    if segment.ends_with('_') || segment.as_bytes().windows(2).any(|pair| pair == b"__") {
        return Err("underscores must separate words");
    }
    Ok(())
}

impl Topic {
    /// Parses `{resource}.{event}`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopic`] unless there is exactly one dot with lowercase snake_case on
    /// both sides, in at most [`MAX_TOPIC_LEN`] bytes.
    pub fn parse(name: &str) -> Result<Topic> {
        let invalid = |reason| Error::InvalidTopic { input: crate::error::clipped(name), reason };
        if name.len() > MAX_TOPIC_LEN {
            return Err(invalid("longer than 128 bytes (the longest known topic has 39)"));
        }
        let (resource, event) = name
            .split_once('.')
            .ok_or_else(|| invalid("expected {resource}.{event}, such as orders.place"))?;
        if event.contains('.') {
            return Err(invalid("a topic has exactly one dot"));
        }
        check_segment(resource).map_err(invalid)?;
        check_segment(event).map_err(invalid)?;
        Ok(Topic { name: name.to_owned(), dot: resource.len() })
    }

    /// The resource type, such as `orders`: the `type` of the payload's `data`.
    #[must_use]
    pub fn resource(&self) -> &str {
        self.name.get(..self.dot).unwrap_or_default()
    }

    /// The event, such as `place`.
    #[must_use]
    pub fn event(&self) -> &str {
        self.name.get(self.dot.saturating_add(1)..).unwrap_or_default()
    }

    /// The full name, such as `orders.place`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The catalogue entry for this topic, if Commerce Layer is known to send it.
    #[must_use]
    pub fn info(&self) -> Option<&'static TopicInfo> {
        catalogue::lookup(&self.name)
    }

    /// Whether the topic is in the catalogue.
    #[must_use]
    pub fn is_known(&self) -> bool {
        self.info().is_some()
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl FromStr for Topic {
    type Err = Error;
    fn from_str(s: &str) -> Result<Topic> {
        Topic::parse(s)
    }
}

impl TryFrom<&str> for Topic {
    type Error = Error;
    fn try_from(s: &str) -> Result<Topic> {
        Topic::parse(s)
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Topic, D::Error> {
        let name = String::deserialize(deserializer)?;
        Topic::parse(&name).map_err(serde::de::Error::custom)
    }
}
