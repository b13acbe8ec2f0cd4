//! Offline commands: the topic catalogue and payload inspection.

use std::path::PathBuf;

use clhooks::payload::{self, DenormalizeOptions};
use clhooks::{catalogue, Topic};
use serde_json::{json, Value};

use crate::cli::{input, print, Failure};

fn topic_json(info: &catalogue::TopicInfo) -> Value {
    json!({
        "topic": info.name,
        "resource": info.resource,
        "event": info.event,
        "description": info.description,
    })
}

pub fn topics(as_json: bool, resource: Option<&str>) -> Result<(), Failure> {
    let list: Vec<_> = catalogue::all().iter().filter(|t| resource.is_none_or(|r| t.resource == r)).collect();
    if as_json {
        let values: Vec<Value> = list.iter().map(|t| topic_json(t)).collect();
        return print(&serde_json::to_string_pretty(&values).unwrap_or_default());
    }
    let width = list.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for t in &list {
        let line = format!("{:width$}  {}", t.name, t.description.unwrap_or(""));
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.push_str(&format!("{} topics", list.len()));
    print(&text)
}

pub fn topic(name: &str) -> Result<(), Failure> {
    let topic = Topic::parse(name)?;
    let mut text = format!(
        "topic     {topic}\nresource  {}\nevent     {}\nknown     {}",
        topic.resource(),
        topic.event(),
        if topic.is_known() { "yes" } else { "no (well-formed, not in the catalogue)" }
    );
    if let Some(description) = topic.info().and_then(|i| i.description) {
        text.push_str(&format!("\ntrigger   {description}"));
    }
    print(&text)
}

fn summary(document: &clhooks::Document, topic: Option<&Topic>) -> String {
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
            Some((_, n)) => *n += 1,
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

pub struct Inspect<'a> {
    pub file: Option<&'a PathBuf>,
    pub topic: Option<&'a str>,
    pub max_depth: usize,
    pub json: bool,
    pub pointer: Option<&'a str>,
}

pub fn inspect(args: &Inspect<'_>) -> Result<(), Failure> {
    let body = input(args.file)?;
    let document = payload::parse(&body)?;
    let topic = args.topic.map(Topic::parse).transpose()?;
    let options = DenormalizeOptions::default().with_max_depth(args.max_depth);
    let denormalized = document.denormalize_with(options)?;
    let shown = match args.pointer {
        Some(pointer) => denormalized.pointer(pointer).ok_or_else(|| {
            Failure::Cli("pointer", format!("nothing at {pointer} in the denormalized document"))
        })?,
        None => &denormalized,
    };
    let pretty = serde_json::to_string_pretty(shown).unwrap_or_default();
    if args.json {
        // The topic is checked as in the text mode: a payload about another resource is an error.
        if let Some(topic) = &topic {
            payload::check_topic(topic, &document)?;
        }
        return print(&pretty);
    }
    print(&summary(&document, topic.as_ref()))?;
    if let Some(topic) = &topic {
        payload::check_topic(topic, &document)?;
    }
    print(&format!("\n{pretty}"))
}
