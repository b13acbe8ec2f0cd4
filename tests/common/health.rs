//! What the runners of `tests/vectors/health.json` share: how a case writes a signal, and how
//! a report is compared with the members a case expects. Used by `tests/health.rs` and
//! `crates/redis/tests/health.rs`.
#![allow(dead_code)]

use clhooks::health::Signal;
use serde_json::Value;

/// A signal as the vectors write it.
pub fn written(signal: Signal) -> String {
    match signal {
        Signal::Streak { streak, circuit } => format!("failure_streak {streak} {}", circuit.as_str()),
        Signal::Ended { streak } => format!("failure_streak_ended {streak}"),
    }
}

/// Whether `actual` has every member `expected` has (arrays: the same length, each alike).
pub fn has(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e.iter().all(|(k, v)| a.get(k).is_some_and(|a| has(a, v))),
        (Value::Array(a), Value::Array(e)) => a.len() == e.len() && a.iter().zip(e).all(|(a, e)| has(a, e)),
        (a, e) => a == e,
    }
}

/// A case's `secrets`: the receiver's fingerprints, none when it names none.
pub fn secrets(case: &Value) -> Vec<String> {
    case["secrets"]
        .as_array()
        .map(|list| list.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}
