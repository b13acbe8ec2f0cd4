//! What each fuzz target checks of one input: any input may be refused with an `Err`, none may
//! panic, and the properties below must hold. Shared, unchanged, by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`, nightly) and by `tests/fuzz_crashers.rs` (stable), which replays
//! the saved crashers of `tests/vectors/crashers/<target>/`.
#![allow(dead_code, clippy::panic)]

use clhooks::receiver::{Body, MemoryStore, Receiver};
use clhooks::sender::simulate::{simulate, Scenario};
use clhooks::signature::{decode_signature, verify_tags, Check};
use clhooks::{payload, sign, Error, Topic, TopicPattern, Verifier, SIGNATURE_HEADER, TOPIC_HEADER};
use serde_json::Value;

/// The fixed secret: the reference one of `tests/vectors/signatures.json` and `payloads.json`, so
/// that the seeds' signatures verify.
pub const SECRET: &str = "1c0994cc4e996e8c6ee56a2198f66f3c";
/// A second secret (a rotation in progress): the one `tests/vectors/receiver.json` signs with.
pub const OTHER_SECRET: &str = "new-secret";

/// A target's check of one input: it panics when the input breaks a property.
pub type TargetCheck = fn(&[u8]);

/// Every target, by name: the directory names under `tests/vectors/crashers/`.
pub const TARGETS: &[(&str, TargetCheck)] = &[
    ("signature_header", signature_header),
    ("topic", topic),
    ("document", document),
    ("receive", receive),
    ("scenario", scenario),
];

/// The check of a target, by name.
#[must_use]
pub fn by_name(name: &str) -> Option<TargetCheck> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, check)| *check)
}

fn verifier() -> Verifier {
    match Verifier::new([SECRET, OTHER_SECRET]) {
        Ok(verifier) => verifier,
        Err(e) => panic!("the fixed secrets are refused: {e}"),
    }
}

fn signed(body: &[u8], secret: &str) -> String {
    match sign(body, secret) {
        Ok(signature) => signature,
        Err(e) => panic!("signing with a non-empty secret failed: {e}"),
    }
}

fn is_signature_error(error: &Error) -> bool {
    matches!(error, Error::MissingSignature | Error::MalformedSignature { .. } | Error::SignatureMismatch)
}

/// `signature_header`: the input is a signature header, a NUL byte, then a body (no NUL: all
/// header, empty body). The header is verified with the fixed secrets, by every entry point
/// alike; a signature made with a secret always verifies, padded with the whitespace a header may
/// carry.
pub fn signature_header(data: &[u8]) {
    let (header, body) = match data.iter().position(|&b| b == 0) {
        Some(at) => (data.get(..at).unwrap_or_default(), data.get(at + 1..).unwrap_or_default()),
        None => (data, &[][..]),
    };
    let header = String::from_utf8_lossy(header);
    let verifier = verifier();

    let by_keys = verifier.verify(body, &header);
    let decoded = decode_signature(&header);
    if let Err(e) = &decoded {
        assert_eq!(by_keys.as_ref().err(), Some(e), "verify and decode_signature disagree on {header:?}");
    }
    if let Err(e) = &by_keys {
        assert!(is_signature_error(e), "verify failed with a non-signature error: {e:?}");
    }
    let tags = [decode_signature(&signed(body, SECRET)), decode_signature(&signed(body, OTHER_SECRET))];
    let tags: Vec<[u8; 32]> = tags.into_iter().filter_map(Result::ok).collect();
    assert_eq!(tags.len(), 2, "a signature made here does not decode");
    assert_eq!(verify_tags(&header, &tags), by_keys, "verify_tags and Verifier::verify disagree");
    assert_eq!(Check::Tags(&tags).verify(body, &header), by_keys);
    if by_keys.is_ok() {
        // Accepted: the header is one of the two tags (anything else would be a forgery).
        assert!(
            decoded.as_ref().is_ok_and(|tag| tags.contains(tag)),
            "{header:?} accepted but matches no tag"
        );
    }
    assert_eq!(
        clhooks::verify(body, &header, SECRET).is_ok(),
        decoded.as_ref().is_ok_and(|t| tags.first() == Some(t))
    );

    // Round trips: with the fixed secrets, and with the header's text as a secret.
    let signature = signed(body, SECRET);
    assert_eq!(verifier.sign(body), signature, "Verifier::sign is not sign with the first secret");
    assert_eq!(signature.len(), 44, "a signature is 44 characters of base64");
    for padded in [signature.clone(), format!(" \t{signature}\r\n"), format!("\n{signature} ")] {
        assert_eq!(verifier.verify(body, &padded), Ok(()), "a good signature {padded:?} is refused");
    }
    assert_eq!(verifier.verify(body, &signed(body, OTHER_SECRET)), Ok(()));
    if !header.is_empty() {
        let own = signed(body, &header);
        assert_eq!(clhooks::verify(body, &own, &header), Ok(()), "sign then verify with {header:?} failed");
    } else {
        assert_eq!(sign(body, ""), Err(Error::EmptySecret));
    }
}

/// A reference reading of one side of a topic: lowercase snake_case, starting with a letter.
fn reference_segment(segment: &str) -> bool {
    segment.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !segment.ends_with('_')
        && !segment.contains("__")
}

/// A reference reading of a topic: `{resource}.{event}`, at most 128 bytes.
fn reference_topic(text: &str) -> Option<(&str, &str)> {
    let (resource, event) = text.split_once('.')?;
    (text.len() <= 128 && !event.contains('.') && reference_segment(resource) && reference_segment(event))
        .then_some((resource, event))
}

/// A reference reading of a pattern: `*`, or two sides each `*` or a segment. `None` for a side
/// means any.
fn reference_pattern(text: &str) -> Option<(Option<&str>, Option<&str>)> {
    if text == "*" {
        return Some((None, None));
    }
    let (resource, event) = text.split_once('.')?;
    fn side(s: &str) -> Option<Option<&str>> {
        if s == "*" {
            Some(None)
        } else {
            reference_segment(s).then_some(Some(s))
        }
    }
    if text.len() > 128 || event.contains('.') {
        return None;
    }
    Some((side(resource)?, side(event)?))
}

/// `topic`: the input (as UTF-8, lossily) is parsed as a topic and as a pattern, and, split at
/// its first newline, as a pattern and a topic it may match. Parsing agrees with a reference
/// reading, and a topic or pattern prints as what re-parses to itself.
pub fn topic(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_topic_text(&text);
    if let Some((pattern, name)) = text.split_once('\n') {
        check_topic_text(pattern);
        check_topic_text(name);
        if let (Ok(p), Ok(t)) = (TopicPattern::parse(pattern), Topic::parse(name)) {
            let (resource, event) = reference_pattern(pattern).unwrap_or_default();
            let expected = resource.is_none_or(|r| r == t.resource()) && event.is_none_or(|e| e == t.event());
            assert_eq!(p.matches(&t), expected, "{pattern:?} matching {name:?}");
            assert_eq!(p.matches_name(name), expected);
        }
    }
}

fn check_topic_text(text: &str) {
    let parsed = Topic::parse(text);
    match (&parsed, reference_topic(text)) {
        (Ok(topic), Some((resource, event))) => {
            assert_eq!((topic.resource(), topic.event(), topic.as_str()), (resource, event, text));
            let shown = topic.to_string();
            assert_eq!(shown.parse::<Topic>().as_ref(), Ok(topic), "{shown:?} does not re-parse to itself");
            assert_eq!(topic.is_known(), topic.info().is_some());
            let json = serde_json::to_string(topic).unwrap_or_default();
            assert_eq!(serde_json::from_str::<Topic>(&json).ok().as_ref(), Some(topic));
        }
        (Err(Error::InvalidTopic { input, .. }), None) => {
            assert!(input.len() <= 100 + '…'.len_utf8(), "an error keeps {} bytes of its input", input.len());
        }
        (result, reference) => {
            panic!("Topic::parse({text:?}) is {result:?}, the reference reads {reference:?}")
        }
    }
    let pattern = TopicPattern::parse(text);
    match (&pattern, reference_pattern(text)) {
        (Ok(p), Some(_)) => {
            assert_eq!(p.as_str(), text);
            assert_eq!(p.to_string().parse::<TopicPattern>().as_ref(), Ok(p));
            if let Ok(topic) = &parsed {
                // Every topic is a pattern that matches itself.
                assert!(p.matches(topic), "{text:?} as a pattern does not match itself as a topic");
            }
        }
        (Err(Error::InvalidTopicPattern { .. }), None) => {}
        (result, reference) => {
            panic!("TopicPattern::parse({text:?}) is {result:?}, the reference reads {reference:?}")
        }
    }
}

/// `document`: the input is a delivery body. Parsed, it reads the same as through a JSON value
/// (the path the JavaScript runtimes take), prints as JSON that parses back to itself, and
/// denormalizes — or refuses with `denormalize_limit` only.
pub fn document(data: &[u8]) {
    let parsed = payload::parse(data);
    match serde_json::from_slice::<Value>(data) {
        Ok(value) => {
            let from_value = clhooks::Document::from_value(value);
            assert_eq!(
                parsed.as_ref().map_err(Error::code),
                from_value.as_ref().map_err(Error::code),
                "from_slice and from_value disagree"
            );
        }
        Err(_) => {
            let code = parsed.as_ref().err().map(Error::code);
            assert_eq!(code, Some("invalid_json"), "not JSON, yet parsed as {parsed:?}");
        }
    }
    let Ok(document) = parsed else { return };
    let json = document.to_json();
    assert_eq!(
        payload::parse(json.as_bytes()).as_ref(),
        Ok(&document),
        "to_json does not parse back: {json}"
    );
    if let Err(e) = document.denormalize() {
        assert_eq!(e.code(), "denormalize_limit", "denormalize failed: {e:?}");
    }
}

/// Splits a `receive` input into headers (`name: value` lines) and a body, at the first blank
/// line; without one, the whole input is the body.
fn request(data: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let Some(at) = data.windows(2).position(|w| w == b"\n\n") else { return (Vec::new(), data) };
    let head = String::from_utf8_lossy(data.get(..at).unwrap_or_default());
    let body = data.get(at + 2..).unwrap_or_default();
    let headers = head
        .split('\n')
        .map(|line| match line.split_once(':') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (line.to_owned(), String::new()),
        })
        .collect();
    (headers, body)
}

fn receiver() -> Receiver {
    let mut receiver = Receiver::new(verifier());
    for route in ["*", "orders.*", "*.destroy", "orders.place"] {
        if let Err(e) = receiver.route(route) {
            panic!("route {route:?} refused: {e}");
        }
    }
    receiver
}

/// What `Receiver::handle` must answer to a request that `receive` read as `result`.
fn check_answer(result: &Result<clhooks::ReceivedEvent, Error>, answer: &clhooks::Answer) {
    let json: Value = match serde_json::from_str(&answer.body) {
        Ok(json) => json,
        Err(e) => panic!("the answer's body is not JSON ({e}): {:?}", answer.body),
    };
    match result {
        Ok(event) => {
            assert_eq!(answer.status, 200, "{answer:?}");
            assert_eq!(json.get("received").and_then(Value::as_str), Some(event.topic.as_str()));
        }
        Err(e) => {
            assert_eq!(answer.status, e.http_status(), "{answer:?} to {e:?}");
            assert_eq!(json.get("error").and_then(Value::as_str), Some(e.code()), "{answer:?} to {e:?}");
        }
    }
}

/// `receive`: the input is `name: value` header lines, a blank line, then a body. It goes through
/// `receive` and `Receiver::handle` with the fixed secrets, which agree; then again with the
/// body correctly signed in place of any signature header, which never fails for its signature,
/// whether the HMAC is computed here or given as a tag.
pub fn receive(data: &[u8]) {
    let (headers, body) = request(data);
    let verifier = verifier();
    let receiver = receiver();
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();

    let result = clhooks::receive(body, pairs.iter().copied(), &verifier);
    let answer =
        receiver.handle("POST", pairs.iter().copied(), Body::Bytes(body), &MemoryStore::default(), |_, _| {
            Ok::<(), ()>(())
        });
    check_answer(&result, &answer);
    assert_eq!(
        receiver.receive("GET", pairs.iter().copied(), Body::Bytes(body)).map(|_| ()).map_err(|a| a.status),
        Err(405)
    );
    let too_large = receiver.receive("POST", pairs.iter().copied(), Body::TooLarge);
    assert_eq!(too_large.map(|_| ()).map_err(|a| a.status), Err(413));

    let signature = signed(body, SECRET);
    let mut signed_pairs = vec![(SIGNATURE_HEADER, signature.as_str())];
    signed_pairs.extend(pairs.iter().copied().filter(|(n, _)| !n.eq_ignore_ascii_case(SIGNATURE_HEADER)));
    let result = clhooks::receive(body, signed_pairs.iter().copied(), &verifier);
    if let Err(e) = &result {
        assert!(!is_signature_error(e), "a correctly signed body is refused: {e:?}");
    }
    let tags: Vec<[u8; 32]> = decode_signature(&signature).into_iter().collect();
    let by_tags = payload::receive_checked(body, signed_pairs.iter().copied(), Check::Tags(&tags));
    assert_eq!(by_tags, result, "receive with a host's tag and with the keys disagree");

    let store = MemoryStore::default();
    let answer =
        receiver.handle("POST", signed_pairs.iter().copied(), Body::Bytes(body), &store, |delivery, _| {
            if delivery.event.body == body {
                Ok(())
            } else {
                Err("the delivery's body is not the request's")
            }
        });
    check_answer(&result, &answer);
    let Ok(event) = result else { return };
    assert_eq!(event.topic.resource(), event.document.data.kind);
    let key = event.idempotency_key();
    assert!(key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()), "idempotency key {key:?}");
    if let Err(e) = event.denormalize() {
        assert_eq!(e.code(), "denormalize_limit", "denormalize failed: {e:?}");
    }
    // The same delivery again: a duplicate, its handler not run.
    let again = receiver.handle("POST", signed_pairs.iter().copied(), Body::Bytes(body), &store, |_, _| {
        Err("a duplicate ran its handler")
    });
    assert_eq!(again.status, 200, "{again:?}");
    let json: Value = serde_json::from_str(&again.body).unwrap_or_default();
    assert_eq!(json.get("duplicate"), Some(&Value::Bool(true)), "{again:?}");
    assert!(signed_pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case(TOPIC_HEADER)));
}

/// `scenario`: the input (as UTF-8, lossily) is read as a scenario; one that reads prints as JSON
/// that reads back to itself, and is simulated, within the budgets of `clhooks::sender::simulate`.
pub fn scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(scenario) = Scenario::from_json(&text) else { return };
    let json = match serde_json::to_string(&scenario) {
        Ok(json) => json,
        Err(e) => panic!("a scenario does not serialize: {e}"),
    };
    assert_eq!(Scenario::from_json(&json).as_ref(), Ok(&scenario), "does not read back: {json}");
    if let Ok(report) = simulate(&scenario) {
        let published =
            report.timeline.iter().filter(|o| matches!(o, clhooks::sender::Output::Published { .. }));
        assert_eq!(usize::try_from(report.events).ok(), Some(published.count()));
        assert!(report.end_ms >= report.start_ms, "the run ends before it starts");
    }
}
