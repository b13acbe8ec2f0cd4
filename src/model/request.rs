//! Request bodies for creating and updating webhooks.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::Object;
use crate::error::{Error, Result};
use crate::topic::Topic;

/// The kind of API credential a request is made with; some trigger attributes depend on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[non_exhaustive]
pub enum Credential {
    /// An integration (back-end) application (the default).
    #[default]
    Integration,
    /// A sales channel application: may not reset a circuit.
    SalesChannel,
    /// A Dashboard user (webapp).
    Webapp,
}

/// Checks an `include_resources` entry as the Dashboard does: its check of the list is
/// `^[a-z][a-z_.]*[a-z](,[a-z][a-z_.]*[a-z])*$`, so an entry is two characters or more, of
/// lowercase letters, underscores and dots, starting and ending with a letter, such as
/// `line_items.line_item_options`.
///
/// ```
/// use clhooks::model::validate_include_path;
/// assert!(validate_include_path("shipments.shipping_method").is_ok());
/// assert!(validate_include_path("a").is_err());          // one character
/// assert!(validate_include_path("line_items.").is_err()); // ends with a dot
/// assert!(validate_include_path("Customer").is_err());
/// ```
///
/// # Errors
///
/// [`Error::InvalidIncludePath`].
pub fn validate_include_path(path: &str) -> Result<()> {
    let bytes = path.as_bytes();
    let ok = bytes.len() >= 2
        && bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes.last().is_some_and(u8::is_ascii_lowercase)
        && bytes.iter().all(|&b| b.is_ascii_lowercase() || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidIncludePath { path: path.to_owned() })
    }
}

/// Checks a callback URL: absolute `http://` or `https://`, with a host, no whitespace.
///
/// # Errors
///
/// [`Error::InvalidCallbackUrl`].
pub fn validate_callback_url(url: &str) -> Result<()> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    let ok = host.is_some_and(|h| !h.is_empty() && !h.starts_with(':'))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidCallbackUrl { url: url.to_owned() })
    }
}

fn checked_paths<I, S>(paths: I) -> Result<Vec<String>>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    paths
        .into_iter()
        .map(|p| {
            let p = p.into();
            validate_include_path(&p).map(|()| p)
        })
        .collect()
}

/// The optional attributes both create and update bodies may carry.
macro_rules! attribute_setters {
    () => {
        /// Sets the unique name (on create, Commerce Layer defaults it to "webhook {id}").
        #[must_use]
        pub fn name(mut self, name: impl Into<String>) -> Self {
            self.attributes.insert("name".into(), Value::String(name.into()));
            self
        }

        /// Sets the related resources to include in each payload, as dot paths.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidIncludePath`] for an entry that is not a dot path.
        pub fn include_resources<I, S>(mut self, paths: I) -> Result<Self>
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            let paths = checked_paths(paths)?;
            self.attributes.insert("include_resources".into(), json!(paths));
            Ok(self)
        }

        /// Sets the metadata.
        #[must_use]
        pub fn metadata(mut self, metadata: Object) -> Self {
            self.attributes.insert("metadata".into(), Value::Object(metadata));
            self
        }

        /// Sets the external reference and, optionally, its origin.
        #[must_use]
        pub fn reference(mut self, reference: impl Into<String>, origin: Option<&str>) -> Self {
            self.attributes.insert("reference".into(), Value::String(reference.into()));
            if let Some(origin) = origin {
                self.attributes.insert("reference_origin".into(), Value::String(origin.to_owned()));
            }
            self
        }
    };
}

/// The body of `POST /api/webhooks`.
///
/// ```
/// use clhooks::model::WebhookCreate;
/// let body = WebhookCreate::new("orders.place".parse()?, "https://example.com/hooks")?
///     .name("order placed")
///     .include_resources(["customer", "line_items.line_item_options"])?
///     .to_body();
/// assert_eq!(body["data"]["type"], "webhooks");
/// assert_eq!(body["data"]["attributes"]["topic"], "orders.place");
/// assert_eq!(body["data"]["attributes"]["include_resources"][1], "line_items.line_item_options");
/// # Ok::<(), clhooks::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookCreate {
    topic: Topic,
    callback_url: String,
    attributes: Object,
}

impl WebhookCreate {
    /// Starts a create request with the two required attributes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCallbackUrl`].
    pub fn new(topic: Topic, callback_url: &str) -> Result<WebhookCreate> {
        validate_callback_url(callback_url)?;
        Ok(WebhookCreate { topic, callback_url: callback_url.to_owned(), attributes: Map::new() })
    }

    attribute_setters!();

    /// The JSON:API request body.
    #[must_use]
    pub fn to_body(&self) -> Value {
        let mut attributes = Map::new();
        attributes.insert("topic".into(), Value::String(self.topic.to_string()));
        attributes.insert("callback_url".into(), Value::String(self.callback_url.clone()));
        attributes.extend(self.attributes.clone());
        json!({"data": {"type": "webhooks", "attributes": attributes}})
    }
}

/// The body of `PATCH /api/webhooks/{id}`: attribute changes and the trigger attributes
/// `_disable`, `_enable` and `_reset_circuit`.
///
/// ```
/// use clhooks::model::{Credential, WebhookUpdate};
/// let body = WebhookUpdate::new("wh1").reset_circuit().to_body(Credential::Integration)?;
/// assert_eq!(body.to_string(),
///     r#"{"data":{"type":"webhooks","id":"wh1","attributes":{"_reset_circuit":true}}}"#);
/// let err = WebhookUpdate::new("wh1").reset_circuit().to_body(Credential::SalesChannel);
/// assert_eq!(err.unwrap_err().code(), "forbidden_for_sales_channel");
/// # Ok::<(), clhooks::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookUpdate {
    id: String,
    attributes: Object,
    disable: bool,
    enable: bool,
    reset_circuit: bool,
}

impl WebhookUpdate {
    /// Starts an update of the webhook `id` that changes nothing yet.
    #[must_use]
    pub fn new(id: impl Into<String>) -> WebhookUpdate {
        WebhookUpdate {
            id: id.into(),
            attributes: Map::new(),
            disable: false,
            enable: false,
            reset_circuit: false,
        }
    }

    /// Changes the topic.
    #[must_use]
    pub fn topic(mut self, topic: &Topic) -> Self {
        self.attributes.insert("topic".into(), Value::String(topic.to_string()));
        self
    }

    /// Changes the callback URL.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCallbackUrl`].
    pub fn callback_url(mut self, url: &str) -> Result<Self> {
        validate_callback_url(url)?;
        self.attributes.insert("callback_url".into(), Value::String(url.to_owned()));
        Ok(self)
    }

    attribute_setters!();

    /// Disables the webhook (`_disable: true`).
    #[must_use]
    pub fn disable(mut self) -> Self {
        self.disable = true;
        self
    }

    /// Enables the webhook (`_enable: true`).
    #[must_use]
    pub fn enable(mut self) -> Self {
        self.enable = true;
        self
    }

    /// Closes the circuit and zeroes the failure count (`_reset_circuit: true`).
    #[must_use]
    pub fn reset_circuit(mut self) -> Self {
        self.reset_circuit = true;
        self
    }

    /// Whether `_disable` is asked for.
    #[must_use]
    pub fn disables(&self) -> bool {
        self.disable
    }

    /// Whether `_enable` is asked for.
    #[must_use]
    pub fn enables(&self) -> bool {
        self.enable
    }

    /// Whether `_reset_circuit` is asked for.
    #[must_use]
    pub fn resets_circuit(&self) -> bool {
        self.reset_circuit
    }

    /// The webhook's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Checks the update against Commerce Layer's rules for the given credential.
    ///
    /// # Errors
    ///
    /// [`Error::ConflictingTriggers`] for `_disable` with `_enable`;
    /// [`Error::ForbiddenForSalesChannel`] for `_reset_circuit` with a sales channel.
    pub fn check(&self, credential: Credential) -> Result<()> {
        if self.disable && self.enable {
            return Err(Error::ConflictingTriggers);
        }
        if self.reset_circuit && credential == Credential::SalesChannel {
            return Err(Error::ForbiddenForSalesChannel);
        }
        Ok(())
    }

    /// The JSON:API request body, once [checked](WebhookUpdate::check).
    ///
    /// # Errors
    ///
    /// As [`WebhookUpdate::check`].
    pub fn to_body(&self, credential: Credential) -> Result<Value> {
        self.check(credential)?;
        let mut attributes = self.attributes.clone();
        for (flag, name) in
            [(self.disable, "_disable"), (self.enable, "_enable"), (self.reset_circuit, "_reset_circuit")]
        {
            if flag {
                attributes.insert(name.into(), Value::Bool(true));
            }
        }
        Ok(json!({"data": {"type": "webhooks", "id": self.id, "attributes": attributes}}))
    }
}
