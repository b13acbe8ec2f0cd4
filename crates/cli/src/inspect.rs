//! Offline commands: the topic catalogue and payload inspection.

use std::path::PathBuf;

use clhooks::payload::{self, DenormalizeOptions};
use clhooks::{text, Topic};

use crate::cli::{input, print, Failure};

pub fn topics(as_json: bool, resource: Option<&str>) -> Result<(), Failure> {
    print(&if as_json { text::topics_json(resource) } else { text::topics(resource) })
}

pub fn topic(name: &str) -> Result<(), Failure> {
    print(&text::topic(&Topic::parse(name)?))
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
    print(&text::payload_summary(&document, topic.as_ref()))?;
    if let Some(topic) = &topic {
        payload::check_topic(topic, &document)?;
    }
    print(&format!("\n{pretty}"))
}
