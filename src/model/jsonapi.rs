//! JSON:API documents as Commerce Layer sends and returns them.
//!
//! Every member this crate does not model is kept in an `extra` map, so a document read and
//! written back loses nothing, whatever Commerce Layer adds later.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A JSON object.
pub type Object = Map<String, Value>;

/// A document whose primary data is a single resource: a webhook payload, or the response to a
/// retrieve, create or update call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The primary resource.
    pub data: Resource,
    /// Related resources asked for with `include` (for a webhook, its `include_resources`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included: Vec<Resource>,
    /// Top-level `meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Object>,
    /// Top-level `links`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Object>,
    /// Any other top-level member, such as `jsonapi`.
    #[serde(flatten)]
    pub extra: Object,
}

/// A resource object: `id`, `type`, attributes and relationships.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// The resource's id.
    pub id: String,
    /// The resource type, such as `orders`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `links` (in payloads `self` is relative, such as `/api/orders/wBXVhZOmXO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Object>,
    /// The attributes, in the order they were received.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Object,
    /// The relationships, by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub relationships: IndexMap<String, Relationship>,
    /// `meta`, such as `{"mode": "test", "organization_id": "..."}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Object>,
    /// Any other member.
    #[serde(flatten)]
    pub extra: Object,
}

/// A resource identifier: what a relationship's `data` points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    /// The related resource's type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The related resource's id.
    pub id: String,
    /// Any other member, such as `meta`.
    #[serde(flatten)]
    pub extra: Object,
}

/// A relationship's `data`, when present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Linkage {
    /// A to-many relationship.
    Many(Vec<Identifier>),
    /// A to-one relationship that is set.
    One(Identifier),
    /// A to-one relationship that is empty (`"data": null`).
    Null,
}

/// A relationship object. Without `data` the related resources were not included and only
/// `links` are there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relationship {
    /// `links.self` and `links.related`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Object>,
    /// The linkage; `None` when the member is absent, [`Linkage::Null`] when it is `null`.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub data: Option<Linkage>,
    /// `meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Object>,
    /// Any other member.
    #[serde(flatten)]
    pub extra: Object,
}

/// Tells a member that is present and `null` from one that is absent.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Option<Linkage>, D::Error> {
    Linkage::deserialize(deserializer).map(Some)
}

pub(crate) fn json_error(err: &serde_json::Error) -> Error {
    Error::InvalidJson { message: err.to_string() }
}

pub(crate) fn document_error(err: &serde_json::Error) -> Error {
    Error::InvalidDocument { message: err.to_string() }
}

impl Document {
    /// Parses a body into a document.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJson`] when the bytes are not JSON (including not UTF-8, or nested more
    /// than 128 levels), [`Error::InvalidDocument`] when the JSON is not a document with a
    /// single resource in `data`.
    pub fn from_slice(body: &[u8]) -> Result<Document> {
        match serde_json::from_slice::<Document>(body) {
            Ok(document) => Ok(document),
            // The JSON is fine but its shape is not: read it again as a plain value, only on
            // this error path, to say precisely what is wrong.
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                let value: Value = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
                Document::from_value(value)
            }
            Err(e) => Err(json_error(&e)),
        }
    }

    /// Reads a document from an already parsed JSON value.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDocument`] as for [`Document::from_slice`].
    pub fn from_value(value: Value) -> Result<Document> {
        // The same checks, in the same order and words, as a runtime's outline gets.
        {
            let names = crate::payload::outline::value_names(&value);
            crate::payload::outline::check(&crate::payload::outline::of_value(&value), &names)?;
        }
        serde_json::from_value(value).map_err(|e| document_error(&e))
    }

    /// The document as compact JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serializing plain maps, strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Finds an included resource.
    #[must_use]
    pub fn find_included(&self, kind: &str, id: &str) -> Option<&Resource> {
        self.included.iter().find(|r| r.kind == kind && r.id == id)
    }
}

impl Resource {
    /// A relationship by name.
    #[must_use]
    pub fn relationship(&self, name: &str) -> Option<&Relationship> {
        self.relationships.get(name)
    }

    /// An attribute.
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<&Value> {
        self.attributes.get(name)
    }

    /// `meta.mode`, `test` or `live`, when present.
    #[must_use]
    pub fn mode(&self) -> Option<super::Mode> {
        self.meta.as_ref().and_then(|m| m.get("mode")).and_then(Value::as_str).map(super::Mode::from)
    }

    /// Reads this resource as a typed one, such as [`Webhook`](super::Webhook).
    ///
    /// # Errors
    ///
    /// [`Error::WrongResourceType`] when the type differs, [`Error::InvalidDocument`] when a
    /// field has the wrong shape.
    pub fn to_typed<T: super::TypedResource>(&self) -> Result<T> {
        if self.kind != T::TYPE {
            return Err(Error::WrongResourceType { expected: T::TYPE, found: self.kind.clone() });
        }
        let value = serde_json::to_value(self).map_err(|e| document_error(&e))?;
        serde_json::from_value(value).map_err(|e| document_error(&e))
    }
}
