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

/// How much of an answer's body `send` shows, in bytes.
pub const EXCERPT_BYTES: usize = 200;

/// Whether a character is escaped in text shown from outside: control characters, and those
/// that move or hide text (line and paragraph separators, zero-width and bidirectional marks,
/// the byte-order mark), so that a body cannot break, forge or disguise a line.
fn escaped(c: char) -> bool {
    c.is_control() || matches!(c as u32, 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069 | 0xfeff)
}

/// An answer's body as one line: its first `max` bytes (trailing whitespace dropped; never a
/// character cut in two), control and invisible characters escaped (`\n`, `\u{1b}`), bytes that
/// are not UTF-8 as `\xNN`, then `…` when there was more; `(empty)` for none.
#[must_use]
pub fn excerpt(body: &[u8], max: usize) -> String {
    let body = body.trim_ascii_end();
    if body.is_empty() {
        return "(empty)".to_owned();
    }
    let mut end = body.len().min(max);
    let cut = end < body.len();
    // A cut inside a character backs up to its start (a UTF-8 character is 4 bytes at most).
    for _ in 0..3 {
        if cut && end > 0 && body.get(end).is_some_and(|b| b & 0xc0 == 0x80) {
            end -= 1;
        }
    }
    let mut out = String::new();
    for chunk in body.get(..end).unwrap_or_default().utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if escaped(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    if cut {
        out.push('…');
    }
    out
}

/// A length of time to read: `350 ms` under a second, else whole seconds (rounded) as
/// `4 h 18 min 45 s`, `2 min`, `15 s`.
#[must_use]
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let s = ms.saturating_add(500) / 1000;
    let parts: Vec<String> = [(s / 3600, "h"), (s / 60 % 60, "min"), (s % 60, "s")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    parts.join(" ")
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

#[cfg(test)]
mod tests {
    use super::{duration, excerpt, EXCERPT_BYTES};

    #[test]
    fn an_excerpt_is_one_line_of_at_most_its_bytes() {
        assert_eq!(excerpt(b"{\"received\":true}\n", EXCERPT_BYTES), "{\"received\":true}");
        assert_eq!(excerpt(b"", EXCERPT_BYTES), "(empty)");
        assert_eq!(excerpt(b" \r\n", EXCERPT_BYTES), "(empty)");
        let long = "x".repeat(4096);
        let shown = excerpt(long.as_bytes(), EXCERPT_BYTES);
        assert_eq!(shown, format!("{}…", "x".repeat(EXCERPT_BYTES)));
        assert_eq!(excerpt(&long.as_bytes()[..EXCERPT_BYTES], EXCERPT_BYTES), "x".repeat(EXCERPT_BYTES));
    }

    #[test]
    fn an_excerpt_escapes_control_and_invisible_characters() {
        assert_eq!(excerpt(b"a\nb\r\tc\x1b[31m\x00", 200), "a\\nb\\r\\tc\\u{1b}[31m\\u{0}");
        assert_eq!(excerpt("x\u{202e}y\u{2028}z\u{85}".as_bytes(), 200), "x\\u{202e}y\\u{2028}z\\u{85}");
        assert_eq!(excerpt("é ok ✓".as_bytes(), 200), "é ok ✓");
        assert!(!excerpt(b"\x1b]0;title\x07", 200).contains('\x1b'));
    }

    #[test]
    fn an_excerpt_shows_bytes_that_are_not_utf8() {
        assert_eq!(excerpt(b"ok\xff\xfe!", 200), "ok\\xff\\xfe!");
        // A cut inside a character backs up to its start; one of invalid bytes stays escaped.
        let mut body = "x".repeat(199).into_bytes();
        body.extend("é and more".as_bytes());
        assert_eq!(excerpt(&body, 200), format!("{}…", "x".repeat(199)));
        let mut body = "x".repeat(198).into_bytes();
        body.extend("✓ and more".as_bytes());
        assert_eq!(excerpt(&body, 200), format!("{}…", "x".repeat(198)));
        assert_eq!(excerpt(b"\x80\x80\x80\x80\x80", 2), "…");
        assert_eq!(excerpt(b"\xc3", 200), "\\xc3");
    }

    #[test]
    fn durations_read_in_the_largest_units() {
        assert_eq!(duration(0), "0 ms");
        assert_eq!(duration(150), "150 ms");
        assert_eq!(duration(15_000), "15 s");
        assert_eq!(duration(15_525), "16 s");
        assert_eq!(duration(120_000), "2 min");
        assert_eq!(duration(15_525_000), "4 h 18 min 45 s");
        assert_eq!(duration(u64::MAX), "5124095576030 h 25 min 51 s");
    }
}
