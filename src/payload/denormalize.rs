use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{Document, Identifier, Linkage, Resource};

/// Limits for [`Document::denormalize_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DenormalizeOptions {
    /// How many times one resource may appear on a path from the root (the root counts) before
    /// it is left as an identifier. 2, like Commerce Layer's `denormalizePayload`, shows an
    /// order, its line items and each line item's order once more.
    pub max_depth: usize,
    /// How deep the nesting may go, whatever the resources, before identifiers are left.
    pub max_nesting: usize,
    /// How many resource objects the output may hold in all; more is an error.
    pub max_nodes: usize,
}

impl Default for DenormalizeOptions {
    fn default() -> Self {
        DenormalizeOptions { max_depth: 2, max_nesting: 32, max_nodes: 100_000 }
    }
}

impl DenormalizeOptions {
    /// The defaults with another `max_depth`.
    #[must_use]
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// The defaults with another `max_nodes`.
    #[must_use]
    pub fn with_max_nodes(mut self, max_nodes: usize) -> Self {
        self.max_nodes = max_nodes;
        self
    }
}

struct Walk<'a> {
    included: HashMap<(&'a str, &'a str), &'a Resource>,
    on_path: HashMap<(&'a str, &'a str), usize>,
    nesting: usize,
    nodes: usize,
    options: DenormalizeOptions,
}

fn identifier(id: &Identifier) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), Value::String(id.id.clone()));
    out.insert("type".into(), Value::String(id.kind.clone()));
    Value::Object(out)
}

impl<'a> Walk<'a> {
    fn resource(&mut self, resource: &'a Resource) -> Result<Value> {
        self.nodes = self.nodes.saturating_add(1);
        if self.nodes > self.options.max_nodes {
            return Err(Error::DenormalizeLimit { max_nodes: self.options.max_nodes });
        }
        let key = (resource.kind.as_str(), resource.id.as_str());
        *self.on_path.entry(key).or_insert(0) += 1;
        self.nesting = self.nesting.saturating_add(1);

        let mut out = Map::new();
        out.insert("id".into(), Value::String(resource.id.clone()));
        out.insert("type".into(), Value::String(resource.kind.clone()));
        out.extend(resource.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut result = Ok(());
        for (name, relationship) in &resource.relationships {
            let value = match &relationship.data {
                None => continue,
                Some(Linkage::Null) => Value::Null,
                Some(Linkage::One(id)) => match self.related(id) {
                    Ok(v) => v,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                },
                Some(Linkage::Many(ids)) => {
                    match ids.iter().map(|id| self.related(id)).collect::<Result<Vec<_>>>() {
                        Ok(values) => Value::Array(values),
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
            };
            out.insert(name.clone(), value);
        }

        self.nesting = self.nesting.saturating_sub(1);
        if let Some(count) = self.on_path.get_mut(&key) {
            *count = count.saturating_sub(1);
        }
        result.map(|()| Value::Object(out))
    }

    fn related(&mut self, id: &Identifier) -> Result<Value> {
        let key = (id.kind.as_str(), id.id.as_str());
        let seen = self.on_path.get(&key).copied().unwrap_or(0);
        match self.included.get(&key).copied() {
            Some(found) if seen < self.options.max_depth && self.nesting < self.options.max_nesting => {
                self.resource(found)
            }
            _ => Ok(identifier(id)),
        }
    }
}

impl Document {
    /// The primary resource with its relationships resolved against `included`, with the
    /// default [`DenormalizeOptions`].
    ///
    /// Each resource becomes `{"id", "type", ...attributes, ...relationships}`; a relationship
    /// whose resource is not included stays an identifier `{"id", "type"}`, one without
    /// `data` (not included at all) is left out, and an empty to-one is `null`.
    ///
    /// ```
    /// let body = br#"{"data":{"id":"o1","type":"orders","attributes":{"number":1},
    ///   "relationships":{"customer":{"data":{"id":"c1","type":"customers"}}}},
    ///   "included":[{"id":"c1","type":"customers","attributes":{"email":"a@b.c"}}]}"#;
    /// let order = clhooks::payload::parse(body)?.denormalize()?;
    /// assert_eq!(order["customer"]["email"], "a@b.c");
    /// # Ok::<(), clhooks::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::DenormalizeLimit`] when the output would hold more than 100,000 resources.
    pub fn denormalize(&self) -> Result<Value> {
        self.denormalize_with(DenormalizeOptions::default())
    }

    /// As [`Document::denormalize`], with explicit limits.
    ///
    /// # Errors
    ///
    /// [`Error::DenormalizeLimit`] when the output would exceed `options.max_nodes`.
    pub fn denormalize_with(&self, options: DenormalizeOptions) -> Result<Value> {
        let mut included = HashMap::with_capacity(self.included.len());
        for r in &self.included {
            // A repeated entry does not replace the first, as in `Document::find_included`.
            included.entry((r.kind.as_str(), r.id.as_str())).or_insert(r);
        }
        let mut walk = Walk { included, on_path: HashMap::new(), nesting: 0, nodes: 0, options };
        walk.resource(&self.data)
    }
}
