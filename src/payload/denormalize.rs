use serde_json::Value;

use crate::error::Result;
use crate::model::Document;

/// Limits for [`Document::denormalize_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DenormalizeOptions {
    /// How many times one resource may appear on a path from the root (the root counts) before
    /// it is left as an identifier. 2 shows an order, its line items and each line item's order
    /// once more. (Commerce Layer's `denormalizePayload` has no such bound: it recurses until the
    /// stack overflows on a cycle.)
    pub max_depth: usize,
    /// How deep the nesting may go, whatever the resources, before identifiers are left.
    pub max_nesting: usize,
    /// How many objects the output may hold in all, expanded resources and identifiers left as
    /// they are; more is an error.
    pub max_nodes: usize,
    /// How much copying a resource more than once may add to the output: at most 2^20
    /// [`weight`](crate::payload::outline::weight) units (about a mebibyte of JSON), or
    /// `max_growth` times the weight of the document's resources, whichever is more. More is an error. This keeps the output
    /// (and the time spent making it) within a fixed multiple of the input, whatever the graph.
    pub max_growth: usize,
}

/// What any document may add by repeating resources, in [`weight`](crate::payload::outline::weight)
/// units (about a mebibyte of JSON), before [`DenormalizeOptions::max_growth`] applies.
pub const GROWTH_ALLOWANCE: u64 = 1 << 20;

/// How many times one resource may repeat on a path, by default.
pub const DEFAULT_MAX_DEPTH: usize = 2;

impl Default for DenormalizeOptions {
    fn default() -> Self {
        DenormalizeOptions {
            max_depth: DEFAULT_MAX_DEPTH,
            max_nesting: 32,
            max_nodes: 100_000,
            max_growth: 16,
        }
    }
}

impl DenormalizeOptions {
    /// The defaults with another `max_depth`.
    #[must_use]
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// The defaults with another `max_growth`.
    #[must_use]
    pub fn with_max_growth(mut self, max_growth: usize) -> Self {
        self.max_growth = max_growth;
        self
    }

    /// The defaults with another `max_nodes`.
    #[must_use]
    pub fn with_max_nodes(mut self, max_nodes: usize) -> Self {
        self.max_nodes = max_nodes;
        self
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
    /// [`Error::DenormalizeLimit`](crate::Error::DenormalizeLimit) when the output would hold more than 100,000 objects, or when
    /// repeating resources would add more than 16 times the document's size (and more than a
    /// mebibyte): see [`DenormalizeOptions`].
    pub fn denormalize(&self) -> Result<Value> {
        self.denormalize_with(DenormalizeOptions::default())
    }

    /// As [`Document::denormalize`], with explicit limits.
    ///
    /// # Errors
    ///
    /// [`Error::DenormalizeLimit`](crate::Error::DenormalizeLimit) when the output would exceed `options.max_nodes` or
    /// `options.max_growth`.
    pub fn denormalize_with(&self, options: DenormalizeOptions) -> Result<Value> {
        // The plan is the one every runtime follows (see `outline`); here it is carried out on
        // this document.
        let plan = self.skeleton().plan(options, |position| self.weight_of(position))?;
        Ok(self.expand(&plan))
    }
}
