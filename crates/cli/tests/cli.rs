//! The `clhooks` command line, run as a user would (native only).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn clhooks(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clhooks"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command refused before it reads its input (an empty secret, say) closes the pipe: then
    // the write fails, and the command's answer is what the test checks.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/orders-place-payload.json");

#[test]
fn sign_matches_every_sign_vector_through_stdin() {
    for case in common::signatures().sign {
        let out = clhooks(&["sign", "--secret", &case.secret, "-"], &case.body.bytes());
        match case.signature {
            Some(signature) => {
                assert!(out.status.success(), "{}: {}", case.name, stderr(&out));
                assert_eq!(stdout(&out), format!("{signature}\n"), "{}", case.name);
            }
            None => {
                assert_eq!(out.status.code(), Some(1), "{}", case.name);
                assert!(stderr(&out).starts_with("error[empty_secret]: "), "{}", case.name);
            }
        }
    }
}

#[test]
fn verify_follows_every_verify_vector() {
    for case in common::signatures().verify {
        // The command line cannot express an absent --signature or --secret: those stay in the
        // library tests.
        let Some(header) = &case.header else { continue };
        if case.secrets.is_empty() {
            continue;
        }
        let mut args = vec!["verify", "--signature", header];
        for secret in &case.secrets {
            args.extend(["--secret", secret]);
        }
        let out = clhooks(&args, &case.body.bytes());
        if case.expect == "ok" {
            assert!(out.status.success(), "{}: {}", case.name, stderr(&out));
            assert_eq!(stdout(&out), "ok\n");
        } else {
            assert_eq!(out.status.code(), Some(1), "{}", case.name);
            let prefix = format!("error[{}]: ", case.expect);
            assert!(stderr(&out).starts_with(&prefix), "{}: {}", case.name, stderr(&out));
            assert!(stdout(&out).is_empty());
        }
    }
}

#[test]
fn sign_and_verify_read_files() {
    let out = clhooks(&["sign", "--secret", "abc", FIXTURE], b"");
    let signature = stdout(&out).trim().to_owned();
    let out = clhooks(&["verify", "--secret", "abc", "--signature", &signature, FIXTURE], b"");
    assert!(out.status.success());
    let out = clhooks(&["verify", "--secret", "abc", "--signature", &signature, "/nonexistent/x.json"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error[io]: cannot read /nonexistent/x.json"));
}

#[test]
fn topics_lists_the_catalogue() {
    let out = clhooks(&["topics"], b"");
    let text = stdout(&out);
    assert!(text.contains("orders.place") && text.contains("An existing order status is set to `placed`"));
    assert!(text.ends_with("188 topics\n"));
    let json: serde_json::Value =
        serde_json::from_slice(&clhooks(&["topics", "--json"], b"").stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 188);
    assert_eq!(json[0]["topic"], "addresses.tagged");
    let shipments = stdout(&clhooks(&["topics", "--resource", "shipments"], b""));
    assert!(shipments.lines().all(|l| l.starts_with("shipments.") || l.ends_with(" topics")));
}

#[test]
fn topic_parses_one_name() {
    let out = clhooks(&["topic", "orders.place"], b"");
    assert!(out.status.success());
    assert!(stdout(&out).contains("known     yes"));
    let unknown = clhooks(&["topic", "orders.explode"], b"");
    assert!(unknown.status.success());
    assert!(stdout(&unknown).contains("known     no"));
    for bad in ["Orders.Place", "orders", "orders.place.x", ""] {
        let out = clhooks(&["topic", bad], b"");
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        assert!(stderr(&out).starts_with("error[invalid_topic]: "), "{bad:?}");
    }
}

#[test]
fn inspect_summarizes_and_denormalizes() {
    let out = clhooks(&["inspect", "--topic", "orders.place", FIXTURE], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in
        ["orders wBXVhZOmXO", "orders.place (known)", "payment_status      authorized", "line_items ×6"]
    {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&clhooks(&["inspect", "--json", FIXTURE], b"").stdout).unwrap();
    assert_eq!(json["line_items"].as_array().unwrap().len(), 6);
    assert_eq!(json["customer"]["type"], "customers");

    let mismatch = clhooks(&["inspect", "--topic", "shipments.ship", FIXTURE], b"");
    assert_eq!(mismatch.status.code(), Some(1));
    assert!(stderr(&mismatch).starts_with("error[topic_mismatch]: "));
    // The JSON mode checks the topic as the text mode does, and prints nothing then.
    let mismatch = clhooks(&["inspect", "--json", "--topic", "shipments.ship", FIXTURE], b"");
    assert_eq!(mismatch.status.code(), Some(1));
    assert!(stderr(&mismatch).starts_with("error[topic_mismatch]: "));
    assert!(mismatch.stdout.is_empty());
    let bad = clhooks(&["inspect", "-"], b"{\"data\": [");
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).starts_with("error[invalid_json]: "));
}
