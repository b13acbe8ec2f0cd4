//! Signature vectors, natively and on wasm32 (Node and Chromium).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use clhooks::signature::decode_signature;
use clhooks::{sign, verify, Error, SignatureHint, Verifier};
use common::outcome;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test(unsupported = test)]
fn sign_vectors() {
    let vectors = common::signatures();
    assert!(vectors.sign.len() >= 8);
    for case in &vectors.sign {
        let got = sign(&case.body.bytes(), &case.secret);
        match (&case.signature, &case.error) {
            (Some(expected), None) => {
                assert_eq!(got.as_ref().ok(), Some(expected), "{}", case.name)
            }
            (None, Some(code)) => assert_eq!(outcome(&got), code, "{}", case.name),
            _ => panic!("{}: a sign case has a signature or an error", case.name),
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn verify_vectors() {
    let vectors = common::signatures();
    let mut passing = 0;
    for case in &vectors.verify {
        let body = case.body.bytes();
        let got =
            Verifier::new(&case.secrets).and_then(|v| v.verify(&body, case.header.as_deref().unwrap_or("")));
        assert_eq!(outcome(&got), case.expect, "{}", case.name);
        if case.expect == "ok" {
            passing += 1;
            // The one-shot function agrees with the verifier for a single secret.
            if let [secret] = case.secrets.as_slice() {
                assert!(verify(&body, case.header.as_deref().unwrap(), secret).is_ok(), "{}", case.name);
            }
        }
    }
    assert!(passing >= 8, "too few passing cases: {passing}");
}

/// A host's HMAC (tags computed outside, as node:crypto or WebCrypto do) gives every vector the
/// same outcome as the crate's own keys: the core still decodes, compares and picks the error.
#[wasm_bindgen_test(unsupported = test)]
fn verify_vectors_with_host_computed_tags() {
    use clhooks::signature::{verify_tags, TAG_LEN};
    for case in &common::signatures().verify {
        if case.secrets.is_empty() || case.secrets.iter().any(String::is_empty) {
            continue; // secrets the keys refuse never reach a host
        }
        let body = case.body.bytes();
        let tags: Vec<[u8; TAG_LEN]> =
            case.secrets.iter().map(|s| decode_signature(&sign(&body, s).unwrap()).unwrap()).collect();
        let got = verify_tags(case.header.as_deref().unwrap_or(""), &tags);
        assert_eq!(outcome(&got), case.expect, "{}", case.name);
    }
    assert_eq!(verify_tags("x", &[]).unwrap_err().code(), "missing_secret");
}

/// Every passing vector also fails once any single byte of a short body changes, and once the
/// signature loses a bit: independent of the vectors' own flipped twins.
#[wasm_bindgen_test(unsupported = test)]
fn every_passing_case_fails_when_a_byte_flips() {
    for case in common::signatures().verify.iter().filter(|c| c.expect == "ok") {
        let body = case.body.bytes();
        let verifier = Verifier::new(&case.secrets).unwrap();
        let header = case.header.as_deref().unwrap();
        let positions: Vec<usize> = if body.len() <= 64 {
            (0..body.len()).collect()
        } else {
            vec![0, body.len() / 2, body.len() - 1]
        };
        for i in positions {
            let mut tampered = body.clone();
            tampered[i] ^= 0x80;
            let got = verifier.verify(&tampered, header);
            assert_eq!(outcome(&got), "signature_mismatch", "{} byte {i}", case.name);
        }
        let mut tag = decode_signature(header).unwrap();
        tag[31] ^= 0x01;
        let other = base64_encode(&tag);
        assert_eq!(outcome(&verifier.verify(&body, &other)), "signature_mismatch", "{}", case.name);
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[wasm_bindgen_test(unsupported = test)]
fn hex_signatures_are_diagnosed() {
    let body = b"{}";
    let tag = decode_signature(&sign(body, "s").unwrap()).unwrap();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let err = verify(body, &hex, "s").unwrap_err();
    assert_eq!(err, Error::MalformedSignature { hint: SignatureHint::LooksLikeHex });
    assert!(err.to_string().contains("hex"));
    let upper = hex.to_uppercase();
    assert_eq!(verify(body, &upper, "s").unwrap_err().code(), "malformed_signature");
}

#[wasm_bindgen_test(unsupported = test)]
fn wrong_length_says_how_long() {
    let err = verify(b"", "AAAAAAAAAAAAAAAAAAAAAA==", "s").unwrap_err();
    assert_eq!(err, Error::MalformedSignature { hint: SignatureHint::WrongLength(16) });
    assert!(err.to_string().contains("16 bytes"));
}

#[wasm_bindgen_test(unsupported = test)]
fn verifier_debug_hides_secrets() {
    let verifier = Verifier::new(["top-secret-one", "top-secret-two"]).unwrap();
    let shown = format!("{verifier:?}");
    assert!(!shown.contains("top-secret"), "{shown}");
    assert!(shown.contains('2'));
    assert_eq!(verifier.secret_count(), 2);
}

#[wasm_bindgen_test(unsupported = test)]
fn verifier_signs_with_the_first_secret() {
    let verifier = Verifier::new(["current", "previous"]).unwrap();
    assert_eq!(verifier.sign(b"body"), sign(b"body", "current").unwrap());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_verifier_is_reusable_after_failures() {
    let verifier = Verifier::new(["s"]).unwrap();
    let good = sign(b"payload", "s").unwrap();
    for bad in ["", "x", "!!!!", "AAAA", &good[1..]] {
        assert!(verifier.verify(b"payload", bad).is_err());
    }
    assert!(verifier.verify(b"payload", &good).is_ok());
}
