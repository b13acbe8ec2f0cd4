//! The topics Commerce Layer is known to send, compiled in from `data/topics.tsv`.
//!
//! 188 topics over 43 resources, gathered from the real-time webhooks page, the 2021 docs, the
//! 2024 webhooks app and the 2026 Dashboard. Commerce Layer adds topics over time: a topic
//! missing here still parses as a [`Topic`](super::Topic), it is only not [known](is_known).

/// Where a topic was seen listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sources {
    /// The real-time webhooks documentation page (with a trigger description).
    pub seed_page: bool,
    /// The 2021 API documentation.
    pub docs_2021: bool,
    /// The 2024 webhooks app.
    pub app_2024: bool,
    /// The 2026 Dashboard's topic list.
    pub dashboard_2026: bool,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicInfo {
    /// The topic, such as `orders.place`.
    pub name: &'static str,
    /// The resource side, such as `orders`.
    pub resource: &'static str,
    /// The event side, such as `place`.
    pub event: &'static str,
    /// What triggers it, where the documentation says (for example "An existing order status
    /// is set to `placed`").
    pub description: Option<&'static str>,
    /// Where it was seen listed.
    pub sources: Sources,
}

static CATALOGUE: &[TopicInfo] = include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

/// Every known topic, sorted by name.
#[must_use]
pub fn all() -> &'static [TopicInfo] {
    CATALOGUE
}

/// The entry for a topic name, if known.
#[must_use]
pub fn lookup(name: &str) -> Option<&'static TopicInfo> {
    CATALOGUE.binary_search_by(|info| info.name.cmp(name)).ok().and_then(|index| CATALOGUE.get(index))
}

/// Whether `name` is a known topic.
#[must_use]
pub fn is_known(name: &str) -> bool {
    lookup(name).is_some()
}

/// The resources that have at least one known topic, sorted and without repeats.
#[must_use]
pub fn resources() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = CATALOGUE.iter().map(|info| info.resource).collect();
    out.dedup();
    out
}

/// The known topics of one resource, such as every `orders.*` topic.
pub fn events(resource: &str) -> impl Iterator<Item = &'static TopicInfo> + '_ {
    CATALOGUE.iter().filter(move |info| info.resource == resource)
}
