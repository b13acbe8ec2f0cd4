use std::fmt;
use std::str::FromStr;

use super::{check_segment, Topic};
use crate::error::{Error, Result};

/// A routing pattern over topics: `*`, `orders.*`, `*.destroy`, `*.*` or an exact topic.
///
/// ```
/// use clhooks::{Topic, TopicPattern};
/// let orders: TopicPattern = "orders.*".parse()?;
/// assert!(orders.matches(&"orders.place".parse::<Topic>()?));
/// assert!(!orders.matches(&"order_copies.create".parse::<Topic>()?));
/// # Ok::<(), clhooks::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicPattern {
    source: String,
    resource: Option<String>,
    event: Option<String>,
}

fn side(segment: &str) -> Option<Option<String>> {
    if segment == "*" {
        Some(None)
    } else {
        check_segment(segment).ok().map(|()| Some(segment.to_owned()))
    }
}

impl TopicPattern {
    /// Parses a pattern.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTopicPattern`] when it is neither `*` nor two sides, each `*` or a
    /// lowercase snake_case word, joined by one dot.
    pub fn parse(pattern: &str) -> Result<TopicPattern> {
        let invalid = || Error::InvalidTopicPattern { input: crate::error::clipped(pattern) };
        if pattern.len() > super::MAX_TOPIC_LEN {
            return Err(invalid());
        }
        if pattern == "*" {
            return Ok(TopicPattern { source: pattern.to_owned(), resource: None, event: None });
        }
        let (resource, event) = pattern.split_once('.').ok_or_else(invalid)?;
        if event.contains('.') {
            return Err(invalid());
        }
        Ok(TopicPattern {
            source: pattern.to_owned(),
            resource: side(resource).ok_or_else(invalid)?,
            event: side(event).ok_or_else(invalid)?,
        })
    }

    /// Whether the topic matches.
    #[must_use]
    pub fn matches(&self, topic: &Topic) -> bool {
        self.resource.as_deref().is_none_or(|r| r == topic.resource())
            && self.event.as_deref().is_none_or(|e| e == topic.event())
    }

    /// Whether a topic name matches; a malformed name never does.
    #[must_use]
    pub fn matches_name(&self, name: &str) -> bool {
        Topic::parse(name).is_ok_and(|topic| self.matches(&topic))
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for TopicPattern {
    type Err = Error;
    fn from_str(s: &str) -> Result<TopicPattern> {
        TopicPattern::parse(s)
    }
}
