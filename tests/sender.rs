//! The sender: exact timelines of small scripted scenarios, and invariants over thousands of
//! random ones, natively and on wasm32.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::HashMap;

use clhooks::sender::simulate::{simulate, Report, Scenario};
use clhooks::sender::{Output, Rng};
use clhooks::{receive, Verifier};
use serde_json::{json, Value};
use wasm_bindgen_test::wasm_bindgen_test;

fn run(scenario: Value) -> Report {
    simulate(&serde_json::from_value::<Scenario>(scenario).unwrap()).unwrap()
}

/// A scenario with one webhook `w` on orders.place, the clock starting at 0, and the given
/// policy, endpoint and events/actions.
fn one_webhook(policy: Value, endpoint: Value, events: Value, actions: Value) -> Value {
    json!({
        "start_ms": 0,
        "policy": policy,
        "webhooks": [{"id": "w", "topic": "orders.place", "callback_url": "https://w.example/hooks", "shared_secret": "s"}],
        "endpoints": {"https://w.example/hooks": endpoint},
        "events": events,
        "actions": actions,
    })
}

/// The timeline as short lines, to compare with expected ones.
fn brief(report: &Report) -> Vec<String> {
    report
        .timeline
        .iter()
        .map(|o| match o {
            Output::Published { at, event, webhooks, .. } => {
                format!("{at} published {event} to {}", webhooks.join(","))
            }
            Output::Attempt { at, event, attempt, .. } => format!("{at} attempt {event} #{attempt}"),
            Output::AttemptFinished { at, event, attempt, success, result, failure_count, .. } => {
                format!(
                    "{at} finished {event} #{attempt} {} {result} count={failure_count}",
                    if *success { "ok" } else { "fail" }
                )
            }
            Output::RetryScheduled { at, event, attempt, due, .. } => {
                format!("{at} retry {event} #{attempt} due {due}")
            }
            Output::Delivered { at, event, attempts, .. } => {
                format!("{at} delivered {event} after {attempts}")
            }
            Output::Dropped { at, event, reason, .. } => format!("{at} dropped {event} {}", reason.as_str()),
            Output::Notice { at, failure_count, .. } => format!("{at} notice at {failure_count}"),
            Output::CircuitOpened { at, failure_count, .. } => format!("{at} open at {failure_count}"),
            Output::CircuitReset { at, .. } => format!("{at} reset"),
            Output::Disabled { at, .. } => format!("{at} disabled"),
            Output::Enabled { at, .. } => format!("{at} enabled"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn retries_then_success_exact_timeline() {
    let report = run(one_webhook(
        json!({"backoff_ms": [1000, 2000]}),
        json!({"script": [500, "timeout", 200], "latency_ms": 10}),
        json!([{"at_ms": 0, "topic": "orders.place"}]),
        json!([]),
    ));
    assert_eq!(
        brief(&report),
        [
            "0 published evt_1 to w",
            "0 attempt evt_1 #1",
            "10 finished evt_1 #1 fail 500 Internal Server Error count=1",
            "10 retry evt_1 #2 due 1010",
            "1010 attempt evt_1 #2",
            "6010 finished evt_1 #2 fail timeout after 5000 ms count=2",
            "6010 retry evt_1 #3 due 8010",
            "8010 attempt evt_1 #3",
            "8020 finished evt_1 #3 ok 200 OK count=0",
            "8020 delivered evt_1 after 3",
        ]
    );
    let callbacks = &report.webhooks[0];
    assert_eq!(callbacks.attributes.circuit_failure_count, 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn retries_exhausted_after_eleven_attempts() {
    let report = run(one_webhook(
        json!({"backoff_ms": [100]}),
        json!({"script": vec![503; 20], "latency_ms": 1}),
        json!([{"at_ms": 0, "topic": "orders.place"}]),
        json!([]),
    ));
    let lines = brief(&report);
    assert_eq!(lines.iter().filter(|l| l.contains(" attempt ")).count(), 11);
    assert!(lines.last().unwrap().ends_with("dropped evt_1 retries_exhausted"), "{lines:#?}");
    assert_eq!(lines.iter().filter(|l| l.contains("notice at 5")).count(), 1);
    assert!(!lines.iter().any(|l| l.contains("open")));
    assert_eq!(report.summary[0].circuit_failure_count, 11);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_circuit_opens_on_the_thirtieth_failure_and_drops_what_is_pending() {
    // Five events failing forever: 55 attempts would be made without the breaker.
    let report = run(one_webhook(
        json!({"backoff_ms": [1000]}),
        json!({"outages": [{"from_ms": 0, "to_ms": 1_000_000_000u64}]}),
        json!([{"at_ms": 0, "topic": "orders.place", "count": 5, "every_ms": 10}]),
        json!([]),
    ));
    let lines = brief(&report);
    let finished: Vec<&String> = lines.iter().filter(|l| l.contains(" finished ")).collect();
    assert_eq!(finished.len(), 30, "{lines:#?}");
    assert!(finished[29].ends_with("count=30"));
    let open = lines.iter().position(|l| l.contains("open at 30")).unwrap();
    assert!(lines[..open].iter().any(|l| l.ends_with("count=30")));
    assert!(!lines[open..].iter().any(|l| l.contains(" attempt ")), "no call after the circuit opened");
    let dropped: Vec<&String> = lines[open..].iter().filter(|l| l.contains("circuit_opened")).collect();
    assert_eq!(dropped.len(), 5, "every event still pending is dropped with the reason: {lines:#?}");
    assert_eq!(lines.iter().filter(|l| l.contains("notice")).collect::<Vec<_>>().len(), 1);
    let w = &report.webhooks[0];
    assert_eq!(w.attributes.circuit_state.as_str(), "open");
    assert_eq!(w.attributes.circuit_failure_count, 30);
    let callbacks = w.last_event_callbacks().unwrap();
    assert!(matches!(&callbacks.data, Some(clhooks::model::Linkage::Many(ids)) if ids.len() == 10));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_smaller_threshold_opens_exactly_there_and_events_while_open_are_dropped() {
    let report = run(one_webhook(
        json!({"breaker_threshold": 3, "notice_after": 2, "backoff_ms": [100]}),
        json!({"script": [500, 500, 500], "latency_ms": 1}),
        json!([{"at_ms": 0, "topic": "orders.place"}, {"at_ms": 5000, "topic": "orders.place"},
               {"at_ms": 20000, "topic": "orders.place"}]),
        json!([{"at_ms": 10000, "webhook": "w", "_reset_circuit": true}]),
    ));
    assert_eq!(
        brief(&report),
        [
            "0 published evt_1 to w",
            "0 attempt evt_1 #1",
            "1 finished evt_1 #1 fail 500 Internal Server Error count=1",
            "1 retry evt_1 #2 due 101",
            "101 attempt evt_1 #2",
            "102 finished evt_1 #2 fail 500 Internal Server Error count=2",
            "102 notice at 2",
            "102 retry evt_1 #3 due 202",
            "202 attempt evt_1 #3",
            "203 finished evt_1 #3 fail 500 Internal Server Error count=3",
            "203 open at 3",
            "203 dropped evt_1 circuit_opened",
            "5000 published evt_2 to w",
            "5000 dropped evt_2 circuit_open",
            "10000 reset",
            "20000 published evt_3 to w",
            "20000 attempt evt_3 #1",
            "20001 finished evt_3 #1 ok 200 OK count=0",
            "20001 delivered evt_3 after 1",
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_disabled_webhook_is_skipped_until_enabled() {
    let report = run(one_webhook(
        json!({}),
        json!({"latency_ms": 5}),
        json!([{"at_ms": 100, "topic": "orders.place"}, {"at_ms": 300, "topic": "orders.place"}]),
        json!([{"at_ms": 0, "webhook": "w", "_disable": true}, {"at_ms": 200, "webhook": "w", "_enable": true}]),
    ));
    assert_eq!(
        brief(&report),
        [
            "0 disabled",
            "100 published evt_1 to w",
            "100 dropped evt_1 webhook_disabled",
            "200 enabled",
            "300 published evt_2 to w",
            "300 attempt evt_2 #1",
            "305 finished evt_2 #1 ok 200 OK count=0",
            "305 delivered evt_2 after 1",
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn disabling_drops_pending_retries() {
    let report = run(one_webhook(
        json!({"backoff_ms": [1000]}),
        json!({"script": [500], "latency_ms": 1}),
        json!([{"at_ms": 0, "topic": "orders.place"}]),
        json!([{"at_ms": 500, "webhook": "w", "_disable": true}]),
    ));
    let lines = brief(&report);
    assert_eq!(&lines[lines.len() - 2..], ["500 disabled", "500 dropped evt_1 webhook_disabled"]);
}

#[wasm_bindgen_test(unsupported = test)]
fn sales_channels_cannot_reset_a_circuit() {
    let scenario = one_webhook(
        json!({}),
        json!({}),
        json!([]),
        json!([{"at_ms": 0, "webhook": "w", "_reset_circuit": true, "credential": "sales_channel"}]),
    );
    let err = simulate(&serde_json::from_value(scenario).unwrap()).unwrap_err();
    assert_eq!(err.code(), "forbidden_for_sales_channel");
    let both = one_webhook(
        json!({}),
        json!({}),
        json!([]),
        json!([{"at_ms": 0, "webhook": "w", "_disable": true, "_enable": true}]),
    );
    assert_eq!(simulate(&serde_json::from_value(both).unwrap()).unwrap_err().code(), "conflicting_triggers");
}

#[wasm_bindgen_test(unsupported = test)]
fn invalid_scenarios_say_why() {
    for (text, needle) in [
        ("{}", "webhooks"),
        (r#"{"webhooks": [], "surprise": 1}"#, "surprise"),
        (r#"{"webhooks": [], "endpoints": {"x": {"script": ["maybe"]}}}"#, "maybe"),
        (r#"{"webhooks": [], "endpoints": {"x": {"failure_rate": 2}}}"#, "failure_rate"),
        (
            r#"{"webhooks": [{"id": "a", "topic": "Orders", "callback_url": "https://x", "shared_secret": "s"}]}"#,
            "invalid topic",
        ),
    ] {
        let err = Scenario::from_json(text).and_then(|s| simulate(&s)).unwrap_err();
        assert_eq!(err.code(), "invalid_scenario", "{text}");
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
    // Words in a scenario are enums: a wrong one is refused when the scenario is read, not later.
    for (text, needle) in [
        (
            r#"{"webhooks": [], "endpoints": {"x": {"script": [200, "slow"]}}}"#,
            "unknown script step \"slow\"",
        ),
        (r#"{"webhooks": [], "actions": [{"at_ms": 0, "webhook": "w", "credential": "admin"}]}"#, "admin"),
    ] {
        let err = Scenario::from_json(text).unwrap_err();
        assert_eq!(err.code(), "invalid_scenario", "{text}");
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
    let read = Scenario::from_json(
        r#"{"webhooks": [], "endpoints": {"x": {"script": [503, "timeout", "error"]}},
            "actions": [{"at_ms": 0, "webhook": "w", "credential": "sales_channel"}]}"#,
    )
    .unwrap();
    let again: Value = serde_json::to_value(&read).unwrap();
    assert_eq!(again["endpoints"]["x"]["script"], json!([503, "timeout", "error"]));
    assert_eq!(again["actions"][0]["credential"], "sales_channel");
}

#[wasm_bindgen_test(unsupported = test)]
fn deliveries_are_signed_and_cut_to_include_resources() {
    use clhooks::sender::{Policy, Sender, WebhookConfig};
    let document = clhooks::payload::parse(common::FIXTURE).unwrap();
    let mut sender = Sender::new(Policy::default());
    for (id, include) in
        [("all", vec!["customer", "line_items"]), ("bare", vec![]), ("customer", vec!["customer"])]
    {
        let config = WebhookConfig {
            id: id.into(),
            name: None,
            topic: "orders.place".parse().unwrap(),
            callback_url: format!("https://example.com/{id}"),
            include_resources: include.into_iter().map(String::from).collect(),
            shared_secret: clhooks::model::SharedSecret::new(format!("secret-{id}")),
        };
        sender.add_webhook(config, 0).unwrap();
    }
    sender.publish(&"orders.place".parse().unwrap(), &document, 0).unwrap();
    let mut included = HashMap::new();
    while let Some((attempt, _)) = sender.poll(0) {
        let request = &attempt.request;
        let header = |name: &str| request.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        // What Commerce Layer's own receiver examples read (express.json(), Next.js req.body).
        assert_eq!(header("Content-Type"), Some("application/json"));
        assert!(header("User-Agent").unwrap().starts_with("clhooks-sender/"));
        let verifier = Verifier::new([format!("secret-{}", attempt.webhook)]).unwrap();
        let event = receive(&request.body, request.headers.clone(), &verifier).unwrap();
        assert_eq!(event.topic.as_str(), "orders.place");
        // As a GET with ?include= returns it: linkage only on the included paths, and every
        // identifier it carries resolves to an included resource (none dangles).
        let document = &event.document;
        let linked: Vec<&str> = document
            .data
            .relationships
            .iter()
            .filter(|(_, r)| r.data.is_some())
            .map(|(name, _)| name.as_str())
            .collect();
        let expected: &[&str] = match attempt.webhook.as_str() {
            "all" => &["customer", "line_items"],
            "customer" => &["customer"],
            _ => &[],
        };
        let mut linked_sorted = linked.clone();
        linked_sorted.sort_unstable();
        assert_eq!(linked_sorted, expected, "{}", attempt.webhook);
        for resource in std::iter::once(&document.data).chain(&document.included) {
            for relationship in resource.relationships.values() {
                let ids: Vec<&clhooks::model::Identifier> = match &relationship.data {
                    Some(clhooks::model::Linkage::One(id)) => vec![id],
                    Some(clhooks::model::Linkage::Many(ids)) => ids.iter().collect(),
                    _ => vec![],
                };
                for id in ids {
                    assert!(document.find_included(&id.kind, &id.id).is_some(), "{} dangles", id.id);
                }
            }
        }
        included.insert(
            attempt.webhook.clone(),
            event.document.included.iter().map(|r| r.kind.clone()).collect::<Vec<_>>(),
        );
        sender
            .complete(attempt.id, &clhooks::sender::Outcome::Status { code: 204, message: String::new() }, 1)
            .unwrap();
    }
    assert_eq!(included["bare"], Vec::<String>::new());
    assert_eq!(included["customer"], ["customers"]);
    assert_eq!(included["all"].len(), 7, "{:?}", included["all"]);
    assert!(sender.is_idle());
    let callbacks = sender.last_event_callbacks("all");
    assert_eq!(callbacks[0].attributes.response_code.as_deref(), Some("204"));
    assert!(callbacks[0].succeeded());
    assert_eq!(callbacks[0].attributes.common.created_at.as_deref(), Some("1970-01-01T00:00:00.001Z"));
}

#[wasm_bindgen_test(unsupported = test)]
fn the_ready_scenario_tells_the_three_stories_and_is_deterministic() {
    let text = include_str!("../examples/scenarios/three-webhooks.json");
    let scenario = Scenario::from_json(text).unwrap();
    let report = simulate(&scenario).unwrap();
    assert_eq!(report, simulate(&scenario).unwrap(), "same seed, same report");
    let by_id = |id: &str| report.summary.iter().find(|s| s.id == id).unwrap();
    assert_eq!((by_id("healthy").delivered, by_id("healthy").failures), (3, 0));
    assert!(by_id("flaky").failures > 0 && by_id("flaky").delivered == 3);
    let dead = by_id("dead");
    assert_eq!((dead.notices, dead.circuit_opened, dead.circuit_resets, dead.delivered), (1, 1, 1, 2));
    assert_eq!(dead.circuit_state, "closed");
    let mut other = scenario.clone();
    other.seed = 8;
    other.endpoints.get_mut("https://flaky.example.com/hooks").unwrap().failure_rate = 0.6;
    assert_ne!(simulate(&other).unwrap().timeline, report.timeline);
}

/// A random scenario: small breaker and retry numbers so that every rule fires often.
fn random_scenario(rng: &mut Rng) -> Value {
    let n_webhooks = 1 + rng.below(3) as usize;
    let topics = ["orders.place", "orders.approve"];
    let webhooks: Vec<Value> = (0..n_webhooks)
        .map(|i| {
            json!({"id": format!("w{i}"), "topic": topics[rng.below(2) as usize],
                        "callback_url": format!("https://w{i}.example/hooks"), "shared_secret": "s"})
        })
        .collect();
    let endpoints: serde_json::Map<String, Value> = (0..n_webhooks)
        .map(|i| {
            let script: Vec<Value> = (0..rng.below(6))
                .map(|_| {
                    [json!(200), json!(500), json!("timeout"), json!("error")][rng.below(4) as usize].clone()
                })
                .collect();
            let failure = rng.below(100) as f64 / 100.0;
            let timeout = (1.0 - failure) * rng.below(50) as f64 / 100.0;
            let from = rng.below(20_000);
            (
                format!("https://w{i}.example/hooks"),
                json!({
                    "script": script, "failure_rate": failure, "timeout_rate": timeout,
                    "latency_ms": rng.below(7000), "latency_jitter_ms": rng.below(100),
                    "outages": [{"from_ms": from, "to_ms": from + rng.below(20_000)}],
                }),
            )
        })
        .collect();
    let events: Vec<Value> = (0..1 + rng.below(4))
        .map(|_| {
            json!({"at_ms": rng.below(30_000), "topic": topics[rng.below(2) as usize],
                        "count": 1 + rng.below(5), "every_ms": rng.below(3000)})
        })
        .collect();
    let actions: Vec<Value> = (0..rng.below(4))
        .map(|_| {
            let mut action =
                json!({"at_ms": rng.below(40_000), "webhook": format!("w{}", rng.below(n_webhooks as u64))});
            let which = ["_disable", "_enable", "_reset_circuit"][rng.below(3) as usize];
            action[which] = json!(true);
            action
        })
        .collect();
    json!({
        "seed": rng.next_u64(),
        "start_ms": 0,
        "policy": {"max_retries": rng.below(5), "breaker_threshold": 1 + rng.below(8),
                   "notice_after": 1 + rng.below(6), "backoff_ms": [rng.below(3000), rng.below(6000)]},
        "webhooks": webhooks, "endpoints": endpoints, "events": events, "actions": actions,
    })
}

#[derive(Default)]
struct WebhookTrack {
    open: bool,
    disabled: bool,
    streak: u32,
    noticed: bool,
}

/// Checks the invariants of one report against the policy of its scenario.
fn check_invariants(scenario: &Value, report: &Report) {
    let policy = &scenario["policy"];
    let max_attempts = policy["max_retries"].as_u64().unwrap() as u32 + 1;
    let threshold = policy["breaker_threshold"].as_u64().unwrap() as u32;
    let notice_after = policy["notice_after"].as_u64().unwrap() as u32;
    let mut hooks: HashMap<String, WebhookTrack> = HashMap::new();
    let mut attempts: HashMap<(String, String), u32> = HashMap::new();
    let mut outcome: HashMap<(String, String), u32> = HashMap::new();
    let mut published: Vec<(String, String)> = Vec::new();
    let context = || serde_json::to_string(scenario).unwrap();
    for (i, output) in report.timeline.iter().enumerate() {
        match output {
            Output::Published { event, webhooks, .. } => {
                published.extend(webhooks.iter().map(|w| (event.clone(), w.clone())));
            }
            Output::Attempt { event, webhook, attempt, .. } => {
                let h = hooks.entry(webhook.clone()).or_default();
                assert!(!h.open && !h.disabled, "call while open or disabled at {i}: {}", context());
                let n = attempts.entry((event.clone(), webhook.clone())).or_default();
                *n += 1;
                assert_eq!(*n, *attempt);
                assert!(*n <= max_attempts, "more than {max_attempts} attempts: {}", context());
            }
            Output::AttemptFinished { webhook, success, failure_count, .. } => {
                let h = hooks.entry(webhook.clone()).or_default();
                if *success {
                    h.streak = 0;
                    h.noticed = false;
                } else {
                    h.streak += 1;
                }
                assert_eq!(
                    *failure_count,
                    h.streak,
                    "count is the consecutive failures at {i}: {}",
                    context()
                );
                let next = report.timeline.get(i + 1);
                if !*success && h.streak == notice_after && !h.noticed {
                    assert!(
                        matches!(next, Some(Output::Notice { .. })),
                        "notice at {notice_after}: {}",
                        context()
                    );
                }
                if !*success && h.streak >= threshold && !h.open {
                    let opened = report.timeline[i + 1..i + 3]
                        .iter()
                        .any(|o| matches!(o, Output::CircuitOpened { .. }));
                    assert!(opened, "the circuit opens at {threshold}: {}", context());
                }
            }
            Output::Notice { webhook, failure_count, .. } => {
                let h = hooks.entry(webhook.clone()).or_default();
                assert!(!h.noticed, "one notice per streak: {}", context());
                assert_eq!(*failure_count, notice_after);
                h.noticed = true;
            }
            Output::CircuitOpened { webhook, failure_count, .. } => {
                assert_eq!(*failure_count, threshold);
                hooks.entry(webhook.clone()).or_default().open = true;
            }
            Output::CircuitReset { webhook, .. } => {
                let h = hooks.entry(webhook.clone()).or_default();
                h.open = false;
                h.streak = 0;
                h.noticed = false;
            }
            Output::Disabled { webhook, .. } => hooks.entry(webhook.clone()).or_default().disabled = true,
            Output::Enabled { webhook, .. } => hooks.entry(webhook.clone()).or_default().disabled = false,
            Output::Delivered { event, webhook, .. } | Output::Dropped { event, webhook, .. } => {
                *outcome.entry((event.clone(), webhook.clone())).or_default() += 1;
            }
            _ => {}
        }
    }
    for pair in &published {
        assert_eq!(outcome.get(pair), Some(&1), "{pair:?} delivered or dropped exactly once: {}", context());
    }
    assert_eq!(outcome.len(), published.len());
}

#[wasm_bindgen_test(unsupported = test)]
fn invariants_hold_over_ten_thousand_random_scenarios() {
    let mut rng = Rng::new(20_261_122);
    let mut totals = (0u32, 0u32, 0usize);
    for _ in 0..10_000 {
        let scenario = random_scenario(&mut rng);
        let report = simulate(&serde_json::from_value(scenario.clone()).unwrap()).unwrap();
        check_invariants(&scenario, &report);
        totals.0 += report.attempts;
        totals.1 += report.summary.iter().map(|s| s.circuit_opened).sum::<u32>();
        totals.2 += report.timeline.iter().filter(|o| matches!(o, Output::Notice { .. })).count();
    }
    // The random scenarios do reach every rule.
    assert!(totals.0 > 50_000 && totals.1 > 1_000 && totals.2 > 1_000, "{totals:?}");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_busy_webhook_does_not_hold_back_the_retries_of_another() {
    // `slow` answers in 4 s; `quick` fails once and retries after 100 ms, while `slow`'s first
    // attempt is still in flight: the retry is due at 101, not when `slow` finishes.
    let report = run(json!({
        "start_ms": 0,
        "policy": {"backoff_ms": [100]},
        "webhooks": [
            {"id": "slow", "topic": "orders.place", "callback_url": "https://slow.example/hooks", "shared_secret": "s"},
            {"id": "quick", "topic": "orders.place", "callback_url": "https://quick.example/hooks", "shared_secret": "s"},
        ],
        "endpoints": {
            "https://slow.example/hooks": {"latency_ms": 4000},
            "https://quick.example/hooks": {"script": [500], "latency_ms": 1},
        },
        "events": [{"at_ms": 0, "topic": "orders.place"}, {"at_ms": 0, "topic": "orders.place"}],
    }));
    let quick: Vec<String> = brief(&report).into_iter().filter(|l| l.contains("attempt evt")).collect();
    assert!(quick.contains(&"101 attempt evt_1 #2".to_owned()), "{:#?}", brief(&report));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_scenario_is_checked_whole_before_it_runs() {
    let mismatch = one_webhook(
        json!({}),
        json!({}),
        json!([{"at_ms": 0, "topic": "orders.place"}, {"at_ms": 10, "topic": "orders.place",
                "payload": {"data": {"id": "s1", "type": "shipments"}}}]),
        json!([]),
    );
    let scenario: Scenario = serde_json::from_value(mismatch).unwrap();
    assert_eq!(scenario.agenda().unwrap_err().code(), "topic_mismatch");
    let reset = one_webhook(
        json!({}),
        json!({}),
        json!([]),
        json!([{"at_ms": 99, "webhook": "w", "_reset_circuit": true, "credential": "sales_channel"}]),
    );
    let scenario: Scenario = serde_json::from_value(reset).unwrap();
    assert_eq!(scenario.agenda().unwrap_err().code(), "forbidden_for_sales_channel");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_retry_that_falls_due_between_poll_and_wait_is_not_lost() {
    use clhooks::sender::{Driver, Outcome, Wait};
    let scenario = Scenario::from_json(
        r#"{"policy": {"backoff_ms": [10]},
            "webhooks": [{"id": "w", "topic": "orders.place", "callback_url": "https://x.example/h", "shared_secret": "s"}],
            "events": [{"at_ms": 0, "topic": "orders.place"}]}"#,
    )
    .unwrap();
    let mut driver = Driver::from_scenario_live(&scenario, 1_000, 1.0).unwrap();
    let call = driver.poll(1_000).unwrap().calls.remove(0);
    driver.complete(call.id, &Outcome::Status { code: 500, message: String::new() }, 1_001).unwrap();
    assert!(driver.poll(1_001).unwrap().calls.is_empty(), "the retry is due at 1011");
    // Time passes between the poll and the wait: the retry is due by then, so poll again now.
    assert_eq!(driver.wait(1_020), Wait::Sleep(Some(0)));
    driver.woke(false);
    assert_eq!(driver.poll(1_020).unwrap().calls.len(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn targets_move_callback_urls_by_host() {
    use clhooks::sender::simulate::Target;
    let targets = |list: &[&str]| list.iter().map(|t| Target::parse(t).unwrap()).collect::<Vec<_>>();
    let moved = |list: &[&str], url: &str| Target::apply(&targets(list), url);
    assert_eq!(
        moved(&["http://127.0.0.1:4000"], "https://shop.example/hooks?x=1"),
        "http://127.0.0.1:4000/hooks?x=1"
    );
    let by_host = ["shop.example=http://127.0.0.1:4000", "Other.Example:8443=http://127.0.0.1:5000/ignored"];
    assert_eq!(moved(&by_host, "https://SHOP.example/a"), "http://127.0.0.1:4000/a");
    assert_eq!(moved(&by_host, "https://shop.example:9999/a"), "http://127.0.0.1:4000/a");
    assert_eq!(moved(&by_host, "https://other.example:8443/b"), "http://127.0.0.1:5000/b");
    assert_eq!(moved(&by_host, "https://other.example/b"), "https://other.example/b", "the port differs");
    assert_eq!(moved(&by_host, "https://elsewhere.example/c"), "https://elsewhere.example/c");
    // A host written as a URL names its host.
    assert_eq!(
        moved(&["https://shop.example=http://localhost:4000"], "https://shop.example/h"),
        "http://localhost:4000/h"
    );
    for bad in ["=http://x.example", "not a url", "shop.example=ftp://x"] {
        assert_eq!(Target::parse(bad).unwrap_err().code(), "invalid_callback_url", "{bad}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_policy_chooses_the_deliveries_content_type() {
    use clhooks::sender::{Policy, Sender, WebhookConfig};
    let mut policy = Policy::default();
    policy.content_type = "application/vnd.api+json".into();
    let mut sender = Sender::new(policy);
    let config = WebhookConfig {
        id: "w".into(),
        name: None,
        topic: "orders.place".parse().unwrap(),
        callback_url: "https://example.com/w".into(),
        include_resources: vec![],
        shared_secret: clhooks::model::SharedSecret::new("s".to_owned()),
    };
    sender.add_webhook(config, 0).unwrap();
    let document = clhooks::payload::parse(br#"{"data":{"id":"o","type":"orders"}}"#).unwrap();
    sender.publish(&"orders.place".parse().unwrap(), &document, 0).unwrap();
    let (attempt, _) = sender.poll(0).unwrap();
    assert_eq!(
        attempt.request.headers.first().map(|(k, v)| (k.as_str(), v.as_str())),
        Some(("Content-Type", "application/vnd.api+json"))
    );
    let scenario = Scenario::from_json(r#"{"policy":{"content_type":"text/plain"},"webhooks":[]}"#).unwrap();
    assert_eq!(scenario.policy.content_type, "text/plain");
}

#[wasm_bindgen_test(unsupported = test)]
fn an_import_mutes_all_but_the_order_status_topics() {
    let report = run(json!({
        "webhooks": [
            {"id": "created", "topic": "orders.create", "callback_url": "https://example.com/c", "shared_secret": "s"},
            {"id": "placed", "topic": "orders.place", "callback_url": "https://example.com/p", "shared_secret": "s"}
        ],
        "imports": [{"at_ms": 1000, "for_ms": 60000}],
        "events": [
            {"at_ms": 0, "topic": "orders.create"},
            {"at_ms": 2000, "topic": "orders.create"},
            {"at_ms": 2000, "topic": "orders.place"},
            {"at_ms": 61000, "topic": "orders.create"}
        ]
    }));
    let text = brief(&report);
    let muted: Vec<&String> = text.iter().filter(|l| l.contains("muted_during_import")).collect();
    assert_eq!(muted.len(), 1, "{text:#?}");
    assert!(muted[0].contains("evt_2"), "{text:#?}");
    let delivered = text.iter().filter(|l| l.contains("delivered")).count();
    assert_eq!(delivered, 3, "{text:#?}");
}

fn outcome_of(scenario: Value) -> Result<Report, clhooks::Error> {
    simulate(&Scenario::from_json(&scenario.to_string())?)
}

// Native only: two million entries take a while in a debug build, longer in wasm32 (the
// package's vectors run it in every runtime from the release build).
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_run_that_would_never_end_stops_at_the_timeline_budget() {
    // Retries without end, a breaker that never opens, an endpoint that always fails.
    let scenario = one_webhook(
        json!({"max_retries": 1_000_000_000u32, "breaker_threshold": u32::MAX}),
        json!({"failure_rate": 1.0}),
        json!([{"at_ms": 0, "topic": "orders.place", "count": 2}]),
        json!([]),
    );
    let err = outcome_of(scenario).unwrap_err();
    assert_eq!(err.code(), "simulation_limit");
    assert!(err.to_string().contains("2000000 timeline entries"), "{err}");
}

#[wasm_bindgen_test(unsupported = test)]
fn deliveries_and_their_bytes_are_bounded_up_front() {
    let big = json!({"data": {"id": "o", "type": "orders", "attributes": {"note": "x".repeat(4_000)}}});
    let scenario = one_webhook(
        json!({}),
        json!({}),
        json!([{"at_ms": 0, "topic": "orders.place", "count": 1_000_000, "every_ms": 1, "payload": big}]),
        json!([]),
    );
    let err = outcome_of(scenario).unwrap_err();
    assert_eq!(err.code(), "invalid_scenario");
    assert!(err.to_string().contains("MiB"), "{err}");
    let mut two = one_webhook(
        json!({}),
        json!({}),
        json!([{"at_ms": 0, "topic": "orders.place", "count": 600_000}]),
        json!([]),
    );
    let first = two["webhooks"][0].clone();
    let mut second = first.clone();
    second["id"] = json!("b");
    two["webhooks"] = json!([first, second]);
    let err = outcome_of(two).unwrap_err();
    assert!(err.to_string().contains("1200000 deliveries"), "{err}");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_backlog_behind_a_slow_webhook_is_delivered_in_order() {
    // 3,000 events 1 ms apart to an endpoint taking 80 ms: the queue grows to thousands, and
    // each webhook still gets its deliveries one at a time, oldest first.
    let report = run(one_webhook(
        json!({}),
        json!({"latency_ms": 80}),
        json!([{"at_ms": 0, "topic": "orders.place", "count": 3_000, "every_ms": 1}]),
        json!([]),
    ));
    let delivered: Vec<&str> = report
        .timeline
        .iter()
        .filter_map(|o| match o {
            Output::Delivered { event, .. } => Some(event.as_str()),
            _ => None,
        })
        .collect();
    let published: Vec<&str> = report
        .timeline
        .iter()
        .filter_map(|o| match o {
            Output::Published { event, .. } => Some(event.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(delivered.len(), 3_000);
    assert_eq!(delivered, published);
}
