//! A document's outline: the JSON:API skeleton of a parsed payload (what kind of value each
//! member is, and which resource each identifier names), as a flat list of integers.
//!
//! A runtime that parses JSON itself (JavaScript's `JSON.parse`, faster than any parser compiled
//! to WebAssembly) writes the outline of the object it parsed — a mechanical walk, no decision —
//! and this crate decides everything from it: whether the document has the shape of a webhook
//! payload (the same checks, in the same order and with the same messages, as
//! [`Document::from_slice`]), and how [`Document::denormalize`] expands it, as a [`Plan`] the
//! runtime carries out by copying its own objects. Rust documents go through the same two
//! functions, so both runtimes accept the same payloads and expand them the same way.
//!
//! # The outline
//!
//! Each member is written as its kind ([`Kind`] as an integer) and, for the members that make up
//! the skeleton, followed by what is inside, in this order:
//!
//! ```text
//! document      = kind(body) [object: kind(data) [object: resource]
//!                                     kind(included) [array: n, n × (kind(item) [object: resource])]
//!                                     kind(meta) kind(links)]
//! resource      = kind(id) kind(type) identity kind(attributes) kind(links) kind(meta)
//!                 kind(relationships) [object: n, n × relationship]
//! relationship  = kind(value) [object: kind(links) kind(meta) kind(data)
//!                                     [object: identifier | array: n, n × (kind(item) [object: identifier])]]
//! identifier    = kind(id) kind(type) identity
//! ```
//!
//! `identity` numbers each distinct pair of string `type` and `id` from 0, in the order first
//! met; it is -1 when either is not a string. Relationships are written in the order the
//! runtime lists the object's keys, which is also the order its plan is read in.
//!
//! [`Document::from_slice`]: crate::Document::from_slice
//! [`Document::denormalize`]: crate::Document::denormalize

use std::collections::HashMap;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{Document, Linkage};
use crate::payload::denormalize::GROWTH_ALLOWANCE;
use crate::payload::DenormalizeOptions;

/// The kind of a JSON value, as written in an outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Kind {
    /// The member is not there.
    Absent = 0,
    /// `null`.
    Null = 1,
    /// `true` or `false`.
    Bool = 2,
    /// A number.
    Number = 3,
    /// A string.
    String = 4,
    /// An array.
    Array = 5,
    /// An object.
    Object = 6,
    /// Anything else a runtime may hold (a function, a symbol): never JSON.
    Other = 7,
}

impl Kind {
    fn from_code(code: i32) -> Kind {
        match code {
            0 => Kind::Absent,
            1 => Kind::Null,
            2 => Kind::Bool,
            3 => Kind::Number,
            4 => Kind::String,
            5 => Kind::Array,
            6 => Kind::Object,
            _ => Kind::Other,
        }
    }

    /// The kind of a JSON value.
    #[must_use]
    pub fn of(value: Option<&Value>) -> Kind {
        match value {
            None => Kind::Absent,
            Some(Value::Null) => Kind::Null,
            Some(Value::Bool(_)) => Kind::Bool,
            Some(Value::Number(_)) => Kind::Number,
            Some(Value::String(_)) => Kind::String,
            Some(Value::Array(_)) => Kind::Array,
            Some(Value::Object(_)) => Kind::Object,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Absent => "missing",
            Kind::Null => "null",
            Kind::Bool => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
            Kind::Other => "not a JSON value",
        }
    }
}

/// What a relationship's `data` holds, in a checked outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// No `data` member: the related resources were not asked for.
    Absent,
    /// `"data": null`.
    Null,
    /// One identifier (its identity).
    One(u32),
    /// A list of identifiers: `count` identities in `Skeleton::targets` from `first`.
    Many { first: u32, count: u32 },
}

/// A resource: its identity and its relationships, `count` links in `Skeleton::links` from
/// `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    identity: u32,
    first: u32,
    count: u32,
}

/// A document's outline, checked: it has the shape of a webhook payload. Flat, so that checking
/// and planning allocate a handful of vectors whatever the document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skeleton {
    /// `data` first, then `included` in order.
    nodes: Vec<Node>,
    links: Vec<Link>,
    targets: Vec<u32>,
    /// One more than the largest identity.
    identities: usize,
}

impl Skeleton {
    fn links_of(&self, node: Node) -> &[Link] {
        let first = node.first as usize;
        self.links.get(first..first.saturating_add(node.count as usize)).unwrap_or_default()
    }

    fn targets_of(&self, first: u32, count: u32) -> &[u32] {
        let first = first as usize;
        self.targets.get(first..first.saturating_add(count as usize)).unwrap_or_default()
    }
}

fn index(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Where a shape error is, for its message. Relationship names are looked up only then.
#[derive(Clone, Copy)]
enum At {
    Data,
    Included(usize),
}

impl At {
    fn path(self) -> String {
        match self {
            At::Data => "data".into(),
            At::Included(i) => format!("included[{i}]"),
        }
    }

    fn position(self) -> usize {
        match self {
            At::Data => 0,
            At::Included(i) => i.saturating_add(1),
        }
    }
}

/// Gives the name of a resource's `n`th relationship, to say where a shape error is: the
/// resource is 0 for `data`, `i + 1` for `included[i]`.
pub type Names<'a> = &'a dyn Fn(usize, usize) -> String;

struct Reader<'a, 'n> {
    codes: std::slice::Iter<'a, i32>,
    /// How many codes there are: no identity can be larger.
    length: usize,
    names: Names<'n>,
    skeleton: Skeleton,
}

fn invalid(message: String) -> Error {
    Error::InvalidDocument { message }
}

/// `{path} is {what it is}; expected {expected}`.
#[cold]
fn wrong(path: &dyn Fn() -> String, kind: Kind, expected: &str) -> Error {
    invalid(format!("{} is {}; expected {expected}", path(), kind.noun()))
}

impl Reader<'_, '_> {
    #[inline]
    fn code(&mut self) -> Result<i32> {
        self.codes.next().copied().ok_or_else(|| invalid("the document's outline ended early".into()))
    }

    #[inline]
    fn kind(&mut self) -> Result<Kind> {
        self.code().map(Kind::from_code)
    }

    #[inline]
    fn count(&mut self) -> Result<usize> {
        usize::try_from(self.code()?)
            .ok()
            .filter(|&n| n <= self.length)
            .ok_or_else(|| invalid("the document's outline has a count out of range".into()))
    }

    /// An optional object member (`links`, `meta`): absent, null or an object.
    #[inline]
    fn optional_object(&mut self, path: &dyn Fn() -> String) -> Result<()> {
        match self.kind()? {
            Kind::Absent | Kind::Null | Kind::Object => Ok(()),
            other => Err(wrong(path, other, "an object")),
        }
    }

    /// An object member that may be left out but not null (`attributes`, `relationships`).
    #[inline]
    fn object_or_absent(&mut self, kind: Kind, path: &dyn Fn() -> String) -> Result<bool> {
        match kind {
            Kind::Absent => Ok(false),
            Kind::Object => Ok(true),
            other => Err(wrong(path, other, "an object")),
        }
    }

    /// `id` and `type`, both strings; their identity.
    #[inline]
    fn identity(&mut self, path: &dyn Fn() -> String) -> Result<u32> {
        for member in ["id", "type"] {
            match self.kind()? {
                Kind::String => {}
                Kind::Absent => return Err(invalid(format!("{} has no {member}", path()))),
                other => return Err(wrong(&|| format!("{}.{member}", path()), other, "a string")),
            }
        }
        let identity = usize::try_from(self.code()?)
            .ok()
            .filter(|&n| n < self.length)
            .ok_or_else(|| invalid(format!("{} has no identity in the document's outline", path())))?;
        self.skeleton.identities = self.skeleton.identities.max(identity.saturating_add(1));
        Ok(index(identity))
    }

    fn identifier(&mut self, kind: Kind, path: &dyn Fn() -> String) -> Result<u32> {
        if kind != Kind::Object {
            return Err(wrong(path, kind, "a resource identifier"));
        }
        self.identity(path)
    }

    fn resource(&mut self, at: At) -> Result<()> {
        let identity = self.identity(&|| at.path())?;
        let attributes = self.kind()?;
        self.object_or_absent(attributes, &|| format!("{}.attributes", at.path()))?;
        self.optional_object(&|| format!("{}.links", at.path()))?;
        self.optional_object(&|| format!("{}.meta", at.path()))?;
        let relationships = self.kind()?;
        let first = index(self.skeleton.links.len());
        let mut count = 0;
        if self.object_or_absent(relationships, &|| format!("{}.relationships", at.path()))? {
            count = self.count()?;
            for n in 0..count {
                let link = self.relationship(at, n)?;
                self.skeleton.links.push(link);
            }
        }
        self.skeleton.nodes.push(Node { identity, first, count: index(count) });
        Ok(())
    }

    fn relationship(&mut self, at: At, n: usize) -> Result<Link> {
        let names = self.names;
        let path = || format!("{}.relationships.{}", at.path(), names(at.position(), n));
        let kind = self.kind()?;
        if kind != Kind::Object {
            return Err(wrong(&path, kind, "a relationship object"));
        }
        self.optional_object(&|| format!("{}.links", path()))?;
        self.optional_object(&|| format!("{}.meta", path()))?;
        match self.kind()? {
            Kind::Absent => Ok(Link::Absent),
            Kind::Null => Ok(Link::Null),
            Kind::Object => self.identity(&|| format!("{}.data", path())).map(Link::One),
            Kind::Array => {
                let count = self.count()?;
                let first = index(self.skeleton.targets.len());
                for i in 0..count {
                    let kind = self.kind()?;
                    let identity = self.identifier(kind, &|| format!("{}.data[{i}]", path()))?;
                    self.skeleton.targets.push(identity);
                }
                Ok(Link::Many { first, count: index(count) })
            }
            other => Err(wrong(&|| format!("{}.data", path()), other, "null, an identifier or an array")),
        }
    }

    fn document(mut self) -> Result<Skeleton> {
        if self.kind()? != Kind::Object {
            return Err(invalid("the body is not a JSON object".into()));
        }
        match self.kind()? {
            Kind::Object => {}
            Kind::Absent => return Err(invalid("there is no data member".into())),
            Kind::Null => return Err(invalid("data is null".into())),
            Kind::Array => {
                return Err(invalid("data is an array; a webhook payload holds a single resource".into()))
            }
            _ => return Err(invalid("data is not an object".into())),
        }
        self.resource(At::Data)?;
        match self.kind()? {
            Kind::Absent => {}
            Kind::Array => {
                let count = self.count()?;
                for i in 0..count {
                    let kind = self.kind()?;
                    if kind != Kind::Object {
                        return Err(wrong(&|| At::Included(i).path(), kind, "a resource"));
                    }
                    self.resource(At::Included(i))?;
                }
            }
            other => return Err(wrong(&|| "included".into(), other, "an array")),
        }
        self.optional_object(&|| "meta".into())?;
        self.optional_object(&|| "links".into())?;
        if self.codes.next().is_some() {
            return Err(invalid("the document's outline goes on past its end".into()));
        }
        Ok(self.skeleton)
    }
}

/// Checks a document's outline: `Ok` when it has the shape of a webhook payload (a single
/// resource in `data`, `included` resources, identifiers in relationships), otherwise
/// [`Error::InvalidDocument`] saying what is wrong and where. `names` gives relationship names
/// for that message.
///
/// # Errors
///
/// [`Error::InvalidDocument`].
pub fn check(outline: &[i32], names: Names<'_>) -> Result<Skeleton> {
    Reader { codes: outline.iter(), length: outline.len(), names, skeleton: Skeleton::default() }.document()
}

/// What a runtime does to expand a document: the output of [`Skeleton::plan`], read in order.
///
/// ```text
/// plan     = item                       (the root: resource 0, `data`)
/// item     = -1                         (leave the identifier as `{id, type}`)
///          | p  node(p)                 (expand resource p: 0 is data, i + 1 is included[i])
/// node(p)  = for each relationship of resource p, in outline order:
///              0 (SKIP: no data, leave it out) | 1 (NULL: null) | 2 item (ONE) | 3 n item × n (MANY)
/// ```
///
/// The expanded resource is `{id, type, ...attributes}` with each relationship set by name.
pub type Plan = Vec<i32>;

/// [`Plan`]: a relationship without `data`, left out.
pub const SKIP: i32 = 0;
/// [`Plan`]: a relationship with `"data": null`.
pub const NULL: i32 = 1;
/// [`Plan`]: a to-one relationship; one item follows.
pub const ONE: i32 = 2;
/// [`Plan`]: a to-many relationship; a count and that many items follow.
pub const MANY: i32 = 3;
/// [`Plan`]: an item left as an identifier.
pub const IDENTIFIER: i32 = -1;

/// No included resource has this identity.
const NOWHERE: u32 = u32::MAX;

struct Planner<'a, W> {
    skeleton: &'a Skeleton,
    /// By identity: the position of the first included resource with it, or [`NOWHERE`].
    included: Vec<u32>,
    /// By identity: how many times it is on the path from the root.
    on_path: Vec<u32>,
    /// By position: how many times the resource is in the output so far.
    copies: Vec<u32>,
    /// By position: its weight, once asked for ([`UNWEIGHED`] before).
    weights: Vec<u64>,
    weigh: W,
    /// What repeating resources adds to the output, in weight units.
    growth: u64,
    /// The most `growth` may be, once it passes [`GROWTH_ALLOWANCE`].
    max_growth: Option<u64>,
    nesting: usize,
    count: usize,
    options: DenormalizeOptions,
    out: Plan,
}

/// A position's weight not asked for yet.
const UNWEIGHED: u64 = u64::MAX;

fn code(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn bump(counts: &mut [u32], identity: u32, up: bool) {
    if let Some(count) = counts.get_mut(identity as usize) {
        *count = if up { count.saturating_add(1) } else { count.saturating_sub(1) };
    }
}

impl<W: FnMut(usize) -> u64> Planner<'_, W> {
    /// One more object in the output.
    fn object(&mut self) -> Result<()> {
        self.count = self.count.saturating_add(1);
        if self.count > self.options.max_nodes {
            return Err(Error::DenormalizeLimit { limit: "max_nodes", value: self.options.max_nodes });
        }
        Ok(())
    }

    fn weight(&mut self, position: usize) -> u64 {
        let Some(slot) = self.weights.get_mut(position) else { return 0 };
        if *slot == UNWEIGHED {
            *slot = (self.weigh)(position);
        }
        *slot
    }

    /// Counts a copy of the resource at `position`: past the first, its weight is growth.
    fn copy(&mut self, position: usize) -> Result<()> {
        let Some(copies) = self.copies.get_mut(position) else { return Ok(()) };
        *copies = copies.saturating_add(1);
        if *copies < 2 {
            return Ok(());
        }
        let weight = self.weight(position);
        self.growth = self.growth.saturating_add(weight);
        if self.growth <= GROWTH_ALLOWANCE {
            return Ok(());
        }
        let max_growth = match self.max_growth {
            Some(max) => max,
            None => {
                // Past the allowance, the document's own size sets the bound: weigh it all.
                let size =
                    (0..self.skeleton.nodes.len()).fold(0u64, |sum, p| sum.saturating_add(self.weight(p)));
                let max = size.saturating_mul(self.options.max_growth as u64).max(GROWTH_ALLOWANCE);
                self.max_growth = Some(max);
                max
            }
        };
        if self.growth > max_growth {
            return Err(Error::DenormalizeLimit { limit: "max_growth", value: self.options.max_growth });
        }
        Ok(())
    }

    fn node(&mut self, position: usize) -> Result<()> {
        let Some(&node) = self.skeleton.nodes.get(position) else { return Ok(()) };
        self.object()?;
        self.copy(position)?;
        bump(&mut self.on_path, node.identity, true);
        self.nesting = self.nesting.saturating_add(1);
        let result = self.skeleton.links_of(node).iter().try_for_each(|&link| match link {
            Link::Absent => {
                self.out.push(SKIP);
                Ok(())
            }
            Link::Null => {
                self.out.push(NULL);
                Ok(())
            }
            Link::One(identity) => {
                self.out.push(ONE);
                self.item(identity)
            }
            Link::Many { first, count } => {
                self.out.push(MANY);
                self.out.push(i32::try_from(count).unwrap_or(i32::MAX));
                self.skeleton.targets_of(first, count).iter().try_for_each(|&identity| self.item(identity))
            }
        });
        self.nesting = self.nesting.saturating_sub(1);
        bump(&mut self.on_path, node.identity, false);
        result
    }

    fn item(&mut self, identity: u32) -> Result<()> {
        let seen = self.on_path.get(identity as usize).copied().unwrap_or(0) as usize;
        let position = self.included.get(identity as usize).copied().unwrap_or(NOWHERE);
        if position != NOWHERE && seen < self.options.max_depth && self.nesting < self.options.max_nesting {
            self.out.push(i32::try_from(position).unwrap_or(i32::MAX));
            self.node(position as usize)
        } else {
            self.out.push(IDENTIFIER);
            self.object()
        }
    }
}

impl Skeleton {
    /// How to expand the document: each relationship resolved against `included`, a resource
    /// repeated at most `options.max_depth` times on a path and nested at most
    /// `options.max_nesting` deep, an unresolved identifier left as it is.
    ///
    /// `weigh(position)` gives the [`weight`] of the resource at `position` (0 is `data`, `i + 1`
    /// is `included[i]`). It is asked only for resources the output repeats, and for all of them
    /// only once repeating has added 2^20 weight units (the growth allowance of
    /// [`DenormalizeOptions::max_growth`]); at most once each.
    ///
    /// # Errors
    ///
    /// [`Error::DenormalizeLimit`] when the expansion would hold more than `options.max_nodes`
    /// objects, or grow past `options.max_growth` (see [`DenormalizeOptions`]).
    pub fn plan(&self, options: DenormalizeOptions, weigh: impl FnMut(usize) -> u64) -> Result<Plan> {
        let mut included = vec![NOWHERE; self.identities];
        for (position, node) in self.nodes.iter().enumerate().skip(1) {
            // A repeated entry does not replace the first, as in `Document::find_included`.
            if let Some(slot) = included.get_mut(node.identity as usize) {
                if *slot == NOWHERE {
                    *slot = index(position);
                }
            }
        }
        let mut planner = Planner {
            skeleton: self,
            included,
            on_path: vec![0; self.identities],
            copies: vec![0; self.nodes.len()],
            weights: vec![UNWEIGHED; self.nodes.len()],
            weigh,
            growth: 0,
            max_growth: None,
            nesting: 0,
            count: 0,
            options,
            out: Vec::with_capacity(self.links.len().saturating_add(self.targets.len()).saturating_mul(2)),
        };
        planner.out.push(0);
        planner.node(0)?;
        Ok(planner.out)
    }
}

/// A resource's weight, the unit of [`DenormalizeOptions::max_growth`]: about what its
/// attributes take as JSON text, counted the same way in every runtime: 1 for the resource, and
/// for each member of `attributes` (and of any object in them) 1 and its name's length, for each
/// value 1 and a string's length; lengths in UTF-16 code units (JavaScript's `length`).
#[must_use]
pub fn weight(attributes: &serde_json::Map<String, Value>) -> u64 {
    fn members<'v>(sum: &mut u64, stack: &mut Vec<&'v Value>, object: &'v serde_json::Map<String, Value>) {
        for (name, value) in object {
            *sum = sum.saturating_add(1).saturating_add(utf16_length(name));
            stack.push(value);
        }
    }
    let mut sum: u64 = 1;
    let mut stack = Vec::new();
    members(&mut sum, &mut stack, attributes);
    while let Some(value) = stack.pop() {
        sum = sum.saturating_add(1);
        match value {
            Value::String(text) => sum = sum.saturating_add(utf16_length(text)),
            Value::Array(items) => stack.extend(items),
            Value::Object(object) => members(&mut sum, &mut stack, object),
            _ => {}
        }
    }
    sum
}

fn utf16_length(text: &str) -> u64 {
    text.chars().map(|c| c.len_utf16() as u64).sum()
}

/// Numbers each distinct `(type, id)` from 0, as a runtime's outline does.
#[derive(Default)]
struct Identities<'a> {
    seen: HashMap<(&'a str, &'a str), u32>,
}

impl<'a> Identities<'a> {
    fn of(&mut self, kind: &'a str, id: &'a str) -> u32 {
        let next = index(self.seen.len());
        *self.seen.entry((kind, id)).or_insert(next)
    }
}

/// Writes the outline of a parsed JSON value.
struct Outliner<'a> {
    out: Vec<i32>,
    identities: Identities<'a>,
}

fn kind_code(value: Option<&Value>) -> i32 {
    Kind::of(value) as i32
}

impl<'a> Outliner<'a> {
    fn identity(&mut self, object: &'a serde_json::Map<String, Value>) {
        let (id, kind) = (object.get("id"), object.get("type"));
        self.out.push(kind_code(id));
        self.out.push(kind_code(kind));
        let identity = match (id, kind) {
            (Some(Value::String(id)), Some(Value::String(kind))) => {
                i32::try_from(self.identities.of(kind, id)).unwrap_or(-1)
            }
            _ => -1,
        };
        self.out.push(identity);
    }

    fn resource(&mut self, object: &'a serde_json::Map<String, Value>) {
        self.identity(object);
        self.out.push(kind_code(object.get("attributes")));
        self.out.push(kind_code(object.get("links")));
        self.out.push(kind_code(object.get("meta")));
        let relationships = object.get("relationships");
        self.out.push(kind_code(relationships));
        let Some(Value::Object(relationships)) = relationships else { return };
        self.out.push(code(relationships.len()));
        for value in relationships.values() {
            self.out.push(kind_code(Some(value)));
            let Value::Object(relationship) = value else { continue };
            self.out.push(kind_code(relationship.get("links")));
            self.out.push(kind_code(relationship.get("meta")));
            let data = relationship.get("data");
            self.out.push(kind_code(data));
            match data {
                Some(Value::Object(identifier)) => self.identity(identifier),
                Some(Value::Array(items)) => {
                    self.out.push(code(items.len()));
                    for item in items {
                        self.out.push(kind_code(Some(item)));
                        if let Value::Object(identifier) = item {
                            self.identity(identifier);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn document(&mut self, value: &'a Value) {
        self.out.push(kind_code(Some(value)));
        let Value::Object(document) = value else { return };
        let data = document.get("data");
        self.out.push(kind_code(data));
        let Some(Value::Object(data)) = data else { return };
        self.resource(data);
        let included = document.get("included");
        self.out.push(kind_code(included));
        if let Some(Value::Array(items)) = included {
            self.out.push(code(items.len()));
            for item in items {
                self.out.push(kind_code(Some(item)));
                if let Value::Object(object) = item {
                    self.resource(object);
                }
            }
        }
        self.out.push(kind_code(document.get("meta")));
        self.out.push(kind_code(document.get("links")));
    }
}

/// The outline of a parsed JSON value (what [`Document::from_slice`](crate::Document::from_slice)
/// checks when the value is not a document, to say why).
#[must_use]
pub fn of_value(value: &Value) -> Vec<i32> {
    let mut outliner = Outliner { out: Vec::new(), identities: Identities::default() };
    outliner.document(value);
    outliner.out
}

/// The name of a resource's `n`th relationship in a parsed JSON value, for [`check`].
pub fn value_names(value: &Value) -> impl Fn(usize, usize) -> String + '_ {
    move |position, index| {
        let resource = if position == 0 {
            value.get("data")
        } else {
            value.get("included").and_then(|i| i.get(position.saturating_sub(1)))
        };
        resource
            .and_then(|r| r.get("relationships"))
            .and_then(Value::as_object)
            .and_then(|r| r.keys().nth(index))
            .cloned()
            .unwrap_or_default()
    }
}

impl Document {
    /// The document's skeleton (a parsed document always has the shape).
    pub(crate) fn skeleton(&self) -> Skeleton {
        let mut identities = Identities::default();
        let mut skeleton = Skeleton::default();
        for resource in std::iter::once(&self.data).chain(&self.included) {
            let identity = identities.of(&resource.kind, &resource.id);
            let first = index(skeleton.links.len());
            for relationship in resource.relationships.values() {
                let link = match &relationship.data {
                    None => Link::Absent,
                    Some(Linkage::Null) => Link::Null,
                    Some(Linkage::One(id)) => Link::One(identities.of(&id.kind, &id.id)),
                    Some(Linkage::Many(ids)) => {
                        let first = index(skeleton.targets.len());
                        skeleton.targets.extend(ids.iter().map(|id| identities.of(&id.kind, &id.id)));
                        Link::Many { first, count: index(ids.len()) }
                    }
                };
                skeleton.links.push(link);
            }
            skeleton.nodes.push(Node { identity, first, count: index(resource.relationships.len()) });
        }
        skeleton.identities = identities.seen.len();
        skeleton
    }

    /// The [`weight`] of the resource at `position` (0 is `data`).
    pub(crate) fn weight_of(&self, position: usize) -> u64 {
        let resource = if position == 0 { Some(&self.data) } else { self.included.get(position - 1) };
        resource.map_or(0, |r| weight(&r.attributes))
    }

    /// Carries out a [`Plan`] of this document's skeleton.
    pub(crate) fn expand(&self, plan: &[i32]) -> Value {
        let mut codes = plan.iter().copied();
        let root = codes.next().unwrap_or(0);
        self.expand_item(root, None, &mut codes)
    }

    fn expand_item(
        &self,
        item: i32,
        identifier: Option<&crate::model::Identifier>,
        codes: &mut impl Iterator<Item = i32>,
    ) -> Value {
        let resource = usize::try_from(item).ok().and_then(|p| {
            if p == 0 {
                Some(&self.data)
            } else {
                self.included.get(p.saturating_sub(1))
            }
        });
        let Some(resource) = resource else {
            let mut out = serde_json::Map::new();
            if let Some(id) = identifier {
                out.insert("id".into(), Value::String(id.id.clone()));
                out.insert("type".into(), Value::String(id.kind.clone()));
            }
            return Value::Object(out);
        };
        let mut out = serde_json::Map::new();
        out.insert("id".into(), Value::String(resource.id.clone()));
        out.insert("type".into(), Value::String(resource.kind.clone()));
        out.extend(resource.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (name, relationship) in &resource.relationships {
            let value = match (codes.next().unwrap_or(SKIP), &relationship.data) {
                (ONE, Some(Linkage::One(id))) => {
                    let next = codes.next().unwrap_or(IDENTIFIER);
                    self.expand_item(next, Some(id), codes)
                }
                (MANY, Some(Linkage::Many(ids))) => {
                    let count = codes.next().unwrap_or(0);
                    let items = ids.iter().take(usize::try_from(count).unwrap_or(0));
                    Value::Array(
                        items
                            .map(|id| {
                                let next = codes.next().unwrap_or(IDENTIFIER);
                                self.expand_item(next, Some(id), codes)
                            })
                            .collect(),
                    )
                }
                (NULL, _) => Value::Null,
                _ => continue,
            };
            out.insert(name.clone(), value);
        }
        Value::Object(out)
    }
}
