//! The worker's decisions (`clhooks::handoff::Worker`) against the shared cases of
//! `tests/vectors/worker.json`, natively and on wasm32 (the JS package runs the same file), and
//! the queued record's fields.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use clhooks::handoff::{DeadReason, Outcome, Record, Worker, WorkerAction, WorkerConfig};
use serde_json::{json, Value};
use wasm_bindgen_test::wasm_bindgen_test;

const CASES: &str = include_str!("vectors/worker.json");

fn config(settings: &Value) -> WorkerConfig {
    let mut config = WorkerConfig::default();
    let ms = |name: &str| settings[name].as_u64();
    if let Some(n) = ms("max_attempts") {
        config.max_attempts = u32::try_from(n).unwrap();
    }
    if let Some(n) = ms("concurrency") {
        config.concurrency = u32::try_from(n).unwrap();
    }
    config.retry_ms = ms("retry_ms").unwrap_or(config.retry_ms);
    config.retry_cap_ms = ms("retry_cap_ms").unwrap_or(config.retry_cap_ms);
    config.reclaim_idle_ms = ms("reclaim_idle_ms").unwrap_or(config.reclaim_idle_ms);
    config.block_ms = ms("block_ms").unwrap_or(config.block_ms);
    config.handler_timeout_ms = ms("handler_timeout_ms").unwrap_or(config.handler_timeout_ms);
    config.queue_timeout_ms = ms("queue_timeout_ms").unwrap_or(config.queue_timeout_ms);
    config.claim_runs = settings["claim_runs"] == true;
    config.keep_ms = ms("keep_ms").unwrap_or(config.keep_ms);
    config.check().unwrap();
    config
}

fn outcome(outcome: Outcome) -> String {
    match outcome {
        Outcome::Done { keep_ms } => format!("done {keep_ms}"),
        Outcome::Retry { attempts, delay_ms } => format!("retry {attempts} {delay_ms}"),
        Outcome::Dead { attempts, reason } => format!("dead {attempts} {}", reason.code()),
        Outcome::Release => "release".into(),
    }
}

fn written(action: WorkerAction) -> Value {
    match action {
        WorkerAction::Take { take, count, block_ms, reclaim_idle_ms } => {
            json!({ "take": [take, count, block_ms, reclaim_idle_ms] })
        }
        WorkerAction::Run { job, index } => json!({ "run": [job, index] }),
        WorkerAction::Extend { job } => json!({ "extend": job }),
        WorkerAction::Settle { job, outcome: o } => json!({ "settle": [job, outcome(o)] }),
        WorkerAction::Tell { job, notice } => json!({ "tell": [job, notice.code()] }),
        WorkerAction::Forget { job } => json!({ "forget": job }),
        WorkerAction::ClaimRun { job } => json!({ "claim_run": job }),
        WorkerAction::EndRun { job, handled } => json!({ "end_run": [job, handled] }),
        WorkerAction::Stopped => json!("stopped"),
    }
}

fn reason(word: &str) -> DeadReason {
    match word {
        "unverified" => DeadReason::Unverified,
        "invalid_record" => DeadReason::InvalidRecord,
        other => panic!("no dead reason {other}"),
    }
}

fn pair(value: &Value) -> (u32, bool) {
    (u32::try_from(value[0].as_u64().unwrap()).unwrap(), value[1].as_bool().unwrap())
}

#[wasm_bindgen_test(unsupported = test)]
fn every_worker_case() {
    let cases: Value = serde_json::from_str(CASES).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let config = config(&case["config"]);
        let mut worker: Option<Worker> = None;
        let mut last_take = 0;
        for (n, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let at = step["at"].as_u64().unwrap();
            let worker = worker.get_or_insert_with(|| Worker::new(config, at));
            let take = step["of_take"].as_u64().map_or(last_take, |t| u32::try_from(t).unwrap());
            if let Some(messages) = step["taken"].as_array() {
                for message in messages {
                    let number = |i: usize| u32::try_from(message[i].as_u64().unwrap()).unwrap();
                    let handlers = match &message[2] {
                        Value::String(word) => Err(reason(word)),
                        handlers => Ok(usize::try_from(handlers.as_u64().unwrap()).unwrap()),
                    };
                    worker.taken(take, number(0), number(1), handlers, at);
                }
                worker.take_ended(take, at);
            }
            if step["take_failed"] == true {
                worker.take_failed(take, at);
            }
            if step["handler"].is_array() {
                let (job, ok) = pair(&step["handler"]);
                worker.handler_ended(job, ok, at);
            }
            if step["extended"].is_array() {
                let (job, owned) = pair(&step["extended"]);
                worker.extended(job, owned, at);
            }
            if step["settled"].is_array() {
                let (job, ok) = pair(&step["settled"]);
                worker.settled(job, ok, at);
            }
            if step["run_claimed"].is_array() {
                let job = u32::try_from(step["run_claimed"][0].as_u64().unwrap()).unwrap();
                let claim = match step["run_claimed"][1].as_str().unwrap() {
                    "fresh" => clhooks::Claim::Fresh,
                    "duplicate" => clhooks::Claim::Duplicate,
                    _ => clhooks::Claim::InFlight,
                };
                worker.run_claimed(job, claim, at);
            }
            if let Some(job) = step["run_claim_failed"].as_u64() {
                worker.run_claim_failed(u32::try_from(job).unwrap(), at);
            }
            if let Some(job) = step["extend_failed"].as_u64() {
                worker.extend_failed(u32::try_from(job).unwrap());
            }
            if let Some(job) = step["run_ended"].as_u64() {
                worker.run_ended(u32::try_from(job).unwrap(), at);
            }
            if step["wake"] == true {
                worker.wake(at);
            }
            if let Some(grace) = step["stop"].as_u64() {
                worker.stop(at, grace);
            }
            let actions: Vec<WorkerAction> = std::iter::from_fn(|| worker.poll()).collect();
            if let Some(WorkerAction::Take { take: latest, .. }) =
                actions.iter().rev().find(|a| matches!(a, WorkerAction::Take { .. }))
            {
                last_take = *latest;
            }
            let actions: Vec<Value> = actions.into_iter().map(written).collect();
            assert_eq!(Value::Array(actions), step["expect"], "{name}, step {n}");
            if let Some(wake) = step.get("next_wake") {
                assert_eq!(
                    worker.next_wake().map_or(Value::Null, Value::from),
                    *wake,
                    "{name}, step {n}: next wake-up"
                );
            }
        }
    }
}

/// The default backoff doubles from 5 s, capped at 1 h, and the ten attempts span about 42
/// minutes.
#[wasm_bindgen_test(unsupported = test)]
fn the_default_backoff() {
    let config = WorkerConfig::default();
    let delays: Vec<u64> = (1..config.max_attempts).map(|n| config.retry_delay_ms(n)).collect();
    assert_eq!(delays, [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_280_000]);
    assert_eq!(delays.iter().sum::<u64>(), 2_555_000);
    assert_eq!(config.retry_delay_ms(u32::MAX), config.retry_cap_ms);
    assert_eq!(config.heartbeat_ms(), 20_000);
    for bad in [
        WorkerConfig { max_attempts: 0, ..config },
        WorkerConfig { concurrency: 0, ..config },
        WorkerConfig { reclaim_idle_ms: 2, ..config },
        WorkerConfig { keep_ms: 0, ..config },
        WorkerConfig { queue_timeout_ms: 0, ..config },
    ] {
        assert_eq!(bad.check().unwrap_err().code(), "invalid_worker");
    }
}

fn record() -> Record {
    Record {
        key: "k1".into(),
        topic: "orders.place".into(),
        signature: "c2lnbmF0dXJl".into(),
        received_ms: 1_765_000_000_123,
        attempts: 2,
        body: vec![b'{', 0, 0xff, b'}'],
    }
}

/// A record's fields come back as they went, in any order, binary body included; unknown fields
/// are ignored; another version, a missing or malformed field is a typed error.
#[wasm_bindgen_test(unsupported = test)]
fn records_round_trip_and_refuse_what_they_are_not() {
    let record = record();
    let mut fields: Vec<(Vec<u8>, Vec<u8>)> =
        record.head().into_iter().map(|(n, v)| (n.as_bytes().to_vec(), v.into_bytes())).collect();
    fields.push((b"body".to_vec(), record.body.clone()));
    let names: Vec<&str> = record.head().iter().map(|(n, _)| *n).chain(["body"]).collect();
    assert_eq!(names, Record::FIELDS);
    assert_eq!(Record::from_fields(fields.clone()).unwrap(), record);
    let mut shuffled = fields.clone();
    shuffled.reverse();
    shuffled.push((b"later".to_vec(), b"ignored".to_vec()));
    assert_eq!(Record::from_fields(shuffled).unwrap(), record);
    let with = |name: &str, value: &[u8]| {
        let mut changed = fields.clone();
        for (n, v) in &mut changed {
            if n == name.as_bytes() {
                *v = value.to_vec();
            }
        }
        Record::from_fields(changed)
    };
    for (name, value, says) in [
        ("v", b"2".as_slice(), "version \"2\""),
        ("rcv", b"-1", "`rcv` is not a whole number"),
        ("attempt", b"99999999999", "`attempt` is too large"),
        ("rcv", b"99999999999999999999999", "`rcv` is too large"),
        ("key", b"\xff", "`key` is not UTF-8"),
    ] {
        let error = with(name, value).unwrap_err();
        assert_eq!(error.code(), "invalid_record");
        assert!(error.to_string().contains(says), "{name}: {error}");
    }
    let without: Vec<_> = fields.iter().filter(|(n, _)| n != b"sig").cloned().collect();
    assert!(Record::from_fields(without).unwrap_err().to_string().contains("no `sig`"));
    let empty: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    assert!(Record::from_fields(empty).unwrap_err().to_string().contains("not a clhooks record"));
}

/// A record as one message's bytes (Cloudflare Queues): a JSON head line, then the body as it is;
/// read back the same; over the limit refused; anything else an invalid record.
#[wasm_bindgen_test(unsupported = test)]
fn records_as_bytes_keep_the_body_as_it_is() {
    let record = Record { topic: "orders.\"place\"".into(), ..record() };
    let bytes = record.encode();
    let head = br#"{"v":"1","key":"k1","topic":"orders.\"place\"","sig":"c2lnbmF0dXJl","rcv":"1765000000123","attempt":"2"}"#;
    assert_eq!(&bytes[..head.len()], head.as_slice());
    assert_eq!(&bytes[head.len()..], [b"\n".as_slice(), record.body.as_slice()].concat());
    assert_eq!(Record::decode(&bytes).unwrap(), record);
    assert_eq!(record.encode_within(bytes.len()).unwrap(), bytes);
    let error = record.encode_within(bytes.len() - 1).unwrap_err();
    assert_eq!((error.code(), error.http_status()), ("record_too_large", 503));
    for bad in [b"no newline".as_slice(), b"[1]\nbody", b"{\"v\":1}\nbody", b"{\"v\":\"1\"}\nbody"] {
        assert_eq!(
            Record::decode(bad).unwrap_err().code(),
            "invalid_record",
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    const { assert!(clhooks::handoff::CLOUDFLARE_MESSAGE_LIMIT < 128_000) };
}
