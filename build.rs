//! Compiles the topic catalogue (`data/topics.tsv`) into a sorted static table.
//!
//! The TSV stays the single source of truth, readable and diffable by people; generating Rust
//! from it at build time means the crate carries no parser for it at run time, cannot fail to
//! load it, and a malformed row stops the build instead of reaching users. Panicking is how a
//! build script reports that, so the library's no-panic lints are lifted here only.
#![allow(clippy::panic, clippy::expect_used, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::{env, fs, path::Path};

fn segment_ok(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && s.chars().all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && !s.ends_with('_')
        && !s.contains("__")
}

fn flag(value: &str, line: usize, column: &str) -> bool {
    match value {
        "yes" => true,
        "no" => false,
        other => {
            panic!("data/topics.tsv line {line}: column {column} is {other:?}, expected yes or no")
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=data/topics.tsv");
    let tsv = fs::read_to_string("data/topics.tsv").expect("data/topics.tsv is readable");
    let mut rows = Vec::new();
    for (index, row) in tsv.lines().enumerate().skip(1) {
        let line = index + 1;
        if row.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = row.split('\t').collect();
        assert!(cols.len() >= 5, "data/topics.tsv line {line}: expected 6 columns");
        let name = cols[0];
        let (resource, event) = name
            .split_once('.')
            .unwrap_or_else(|| panic!("data/topics.tsv line {line}: {name:?} has no dot"));
        assert!(
            segment_ok(resource) && segment_ok(event),
            "data/topics.tsv line {line}: {name:?} is not resource.event in snake_case"
        );
        let description = cols.get(5).map(|d| d.trim()).filter(|d| !d.is_empty());
        rows.push((
            name.to_owned(),
            resource.to_owned(),
            event.to_owned(),
            description.map(str::to_owned),
            [
                flag(cols[1], line, "in_seed_doc"),
                flag(cols[2], line, "docs_2021"),
                flag(cols[3], line, "app_2024"),
                flag(cols[4], line, "dashboard_2026"),
            ],
        ));
    }
    rows.sort();
    for pair in rows.windows(2) {
        assert!(pair[0].0 != pair[1].0, "data/topics.tsv: {} is listed twice", pair[0].0);
    }

    let mut out = String::from("&[\n");
    for (name, resource, event, description, s) in &rows {
        writeln!(
            out,
            "    TopicInfo {{ name: {name:?}, resource: {resource:?}, event: {event:?}, description: {description:?}, \
             sources: Sources {{ seed_page: {}, docs_2021: {}, app_2024: {}, dashboard_2026: {} }} }},",
            s[0], s[1], s[2], s[3]
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("]\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalogue.rs");
    fs::write(dest, out).expect("OUT_DIR is writable");
}
