//! What the command lines print of topics and payloads, and their colours, written once (a
//! run's timeline is [`crate::timeline`]).

use serde_json::{json, Value};

use clhooks::model::Document;
use clhooks::sender::Output;
use clhooks::topic::{catalogue, Topic};

/// The known topics, of one resource or all: a line each (the name, and the trigger
/// description where Commerce Layer documents one), then their count.
#[must_use]
pub fn topics(resource: Option<&str>) -> String {
    let list = listed(resource);
    let width = list.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for t in &list {
        let line = format!("{:width$}  {}", t.name, t.description.unwrap_or(""));
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.push_str(&format!("{} topics", list.len()));
    text
}

/// The same as JSON: `[{topic, resource, event, description}]`, pretty-printed.
#[must_use]
pub fn topics_json(resource: Option<&str>) -> String {
    let values: Vec<Value> = listed(resource)
        .iter()
        .map(|info| {
            json!({
                "topic": info.name,
                "resource": info.resource,
                "event": info.event,
                "description": info.description,
            })
        })
        .collect();
    serde_json::to_string_pretty(&values).unwrap_or_default()
}

fn listed(resource: Option<&str>) -> Vec<&'static catalogue::TopicInfo> {
    catalogue::all().iter().filter(|t| resource.is_none_or(|r| t.resource == r)).collect()
}

/// One parsed topic: its resource and event, whether it is known, and its trigger description.
#[must_use]
pub fn topic(topic: &Topic) -> String {
    let mut text = format!(
        "topic     {topic}\nresource  {}\nevent     {}\nknown     {}",
        topic.resource(),
        topic.event(),
        if topic.is_known() { "yes" } else { "no (well-formed, not in the catalogue)" }
    );
    if let Some(description) = topic.info().and_then(|i| i.description) {
        text.push_str(&format!("\ntrigger   {description}"));
    }
    text
}

/// A payload's summary: its resource, the topic it came with (when given), the mode, its
/// number and statuses, what it includes, and the topics of its resource.
#[must_use]
pub fn payload_summary(document: &Document, topic: Option<&Topic>) -> String {
    let data = &document.data;
    let mut rows: Vec<(String, String)> = vec![("resource".into(), format!("{} {}", data.kind, data.id))];
    if let Some(topic) = topic {
        let known = if topic.is_known() { "known" } else { "not in the catalogue" };
        rows.push(("topic".into(), format!("{topic} ({known})")));
        if let Some(description) = topic.info().and_then(|i| i.description) {
            rows.push(("trigger".into(), description.into()));
        }
    }
    if let Some(mode) = data.mode() {
        rows.push(("mode".into(), mode.to_string()));
    }
    for (name, value) in &data.attributes {
        let shown = name == "number" || name == "status" || name.ends_with("_status");
        if shown && !value.is_null() {
            rows.push((name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned)));
        }
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in &document.included {
        match counts.iter_mut().find(|(k, _)| *k == r.kind) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => counts.push((&r.kind, 1)),
        }
    }
    let kinds: Vec<String> = counts.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    let included = if kinds.is_empty() {
        "none".to_owned()
    } else {
        format!("{} resources: {}", document.included.len(), kinds.join(", "))
    };
    rows.push(("included".into(), included));
    let events: Vec<&str> = catalogue::events(&data.kind).map(|t| t.event).collect();
    if !events.is_empty() {
        rows.push(("topics".into(), format!("{}.{{{}}}", data.kind, events.join(","))));
    }
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    rows.iter().map(|(label, value)| format!("{label:<width$}  {value}")).collect::<Vec<_>>().join("\n")
}

/// What a coloured piece of text means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// An error's heading (bold red).
    Error,
    /// A success (green).
    Good,
    /// A failure (red).
    Bad,
    /// Worth a look (yellow).
    Warn,
}

/// `text` in the terminal colour of `style` when `colour`, else unchanged.
#[must_use]
pub fn paint(colour: bool, style: Style, text: &str) -> String {
    if !colour {
        return text.to_owned();
    }
    let code = match style {
        Style::Error => "1;31",
        Style::Good => "32",
        Style::Bad => "31",
        Style::Warn => "33",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A timeline entry's line ([`crate::timeline::line`]), coloured by what happened when
/// `colour`: deliveries green, failures, drops and an open circuit red, notices yellow.
#[must_use]
pub fn line(output: &Output, start: u64, colour: bool) -> Option<String> {
    let line = crate::timeline::line(output, start)?;
    let style = match output {
        Output::Delivered { .. } => Style::Good,
        Output::AttemptFinished { success: false, .. }
        | Output::Dropped { .. }
        | Output::CircuitOpened { .. } => Style::Bad,
        Output::Notice { .. } => Style::Warn,
        _ => return Some(line),
    };
    Some(paint(colour, style, &line))
}
