//! The source allow-list: addresses read exactly as `std::net` reads them, blocks, proxies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::net::IpAddr;

use clhooks::receiver::{Body, Receiver};
use clhooks::sources::{Address, Forwarded, Sources, COMMERCE_LAYER};
use clhooks::{sign, Verifier};
use wasm_bindgen_test::wasm_bindgen_test;

fn std_parse(text: &str) -> Option<Address> {
    text.parse::<IpAddr>().ok().map(|ip| match ip {
        IpAddr::V4(v4) => Address::V4(u32::from(v4)),
        IpAddr::V6(v6) => {
            v6.to_ipv4_mapped().map_or(Address::V6(u128::from(v6)), |v4| Address::V4(u32::from(v4)))
        }
    })
}

#[wasm_bindgen_test(unsupported = test)]
fn addresses_are_read_as_std_net_reads_them() {
    let fixed = [
        "1.2.3.4",
        "0.0.0.0",
        "255.255.255.255",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "1..3.4",
        " 1.2.3.4",
        "::",
        "::1",
        "1::",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "1::8",
        "1:::8",
        "1::2::3",
        "::ffff:1.2.3.4",
        "::ffff:01.2.3.4",
        "64:ff9b::1.2.3.4",
        "1:2:3:4:5:6:1.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4",
        "12345::",
        "g::",
        "fe80::1%eth0",
        "::ffff:7f00:1",
        "2001:db8::",
        ":",
        ":1",
        "1:",
        "",
        "ABCD:ef01::",
        "0:0:0:0:0:ffff:1.2.3.4",
        "1.2.3.4::",
        "::1.2.3.4",
    ];
    for text in fixed {
        assert_eq!(Address::parse(text), std_parse(text), "{text:?}");
    }
    // Random strings over the characters addresses are made of.
    let alphabet = b"0123456789abcdefABCDEF:.:.:";
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..200_000 {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let length = (state >> 59) as usize + 1;
        let text: String = (0..length)
            .map(|i| {
                let pick = (state.rotate_left(7 * i as u32) >> 40) as usize % alphabet.len();
                char::from(alphabet[pick])
            })
            .collect();
        assert_eq!(Address::parse(&text), std_parse(&text), "{text:?}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_allow_list_admits_its_addresses_and_blocks_only() {
    let none: &[(&str, &str)] = &[];
    let sources = Sources::allow(["commercelayer", "10.0.0.0/8", "2001:db8::/32"]).unwrap();
    for peer in COMMERCE_LAYER.iter().copied().chain([
        "10.1.2.3",
        "[2001:db8::5]:443",
        "::ffff:10.0.0.1",
        "54.246.59.198:1234",
    ]) {
        assert!(sources.admits(Some(peer), none).is_ok(), "{peer}");
    }
    for peer in ["127.0.0.1", "11.0.0.1", "2001:db9::1", "not an address"] {
        assert_eq!(sources.admits(Some(peer), none).unwrap_err().code(), "forbidden_source", "{peer}");
    }
    assert_eq!(sources.admits(None, none).unwrap_err().code(), "forbidden_source", "no address: refused");
    assert!(Sources::default().admits(None, none).is_ok(), "no allow-list: everyone");
    for bad in ["1.2.3.4/33", "::/129", "example.com", "10.0.0.0/x", ""] {
        assert_eq!(Sources::allow([bad]).unwrap_err().code(), "invalid_source", "{bad}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
    let behind = Sources::allow(["54.246.59.198"])
        .unwrap()
        .behind(["127.0.0.1", "10.0.0.0/8"], Forwarded::XForwardedFor)
        .unwrap();
    let xff = |value: &'static str| vec![("X-Forwarded-For", value)];
    // From the trusted proxy: the last address that is not a proxy is the caller.
    assert!(behind.admits(Some("127.0.0.1"), &xff("54.246.59.198")).is_ok());
    assert!(behind.admits(Some("127.0.0.1"), &xff("6.6.6.6, 54.246.59.198, 10.0.0.7")).is_ok());
    assert!(
        behind.admits(Some("127.0.0.1"), &xff("54.246.59.198, 6.6.6.6")).is_err(),
        "the caller spoofed the first hop"
    );
    assert!(behind.admits(Some("127.0.0.1"), &xff("54.246.59.198, junk")).is_err());
    // From anyone else the header is not read.
    assert!(behind.admits(Some("8.8.8.8"), &xff("54.246.59.198")).is_err());
    // A platform header (a Worker has no peer).
    let worker = Sources::allow(["commercelayer"])
        .unwrap()
        .behind(Vec::<&str>::new(), Forwarded::Header("CF-Connecting-IP".into()))
        .unwrap();
    assert!(worker.admits(None, &[("cf-connecting-ip", "3.220.172.67")]).is_ok());
    assert!(worker.admits(None, &[("cf-connecting-ip", "3.220.172.68")]).is_err());
    assert!(
        worker.admits(Some("3.220.172.68"), &[("cf-connecting-ip", "3.220.172.67")]).is_err(),
        "a peer that is not a trusted proxy"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_receiver_refuses_other_sources_before_anything_else() {
    let body = br#"{"data":{"id":"o1","type":"orders"}}"#;
    let signature = sign(body, "s").unwrap();
    let headers =
        [("X-CommerceLayer-Signature", signature.as_str()), ("X-CommerceLayer-Topic", "orders.place")];
    let receiver =
        Receiver::new(Verifier::new(["s"]).unwrap()).with_sources(Sources::allow(["commercelayer"]).unwrap());
    let refused = receiver.receive_from("GET", Some("127.0.0.1"), [("a", "b")], Body::TooLarge).unwrap_err();
    assert_eq!(
        (refused.status, refused.body.contains("forbidden_source")),
        (403, true),
        "before 405, 413 and 401"
    );
    assert!(receiver.receive_from("POST", Some("54.74.119.33"), headers, Body::Bytes(body)).is_ok());
    assert_eq!(
        receiver.receive("POST", headers, Body::Bytes(body)).unwrap_err().status,
        403,
        "no peer: refused"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_shared_source_vectors() {
    let vectors: serde_json::Value = serde_json::from_str(include_str!("vectors/sources.json")).unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
    };
    for case in cases {
        let sources = &case["sources"];
        let forwarded = match sources["forwarded"].as_str() {
            None => Forwarded::None,
            Some(name) if name.eq_ignore_ascii_case("x-forwarded-for") => Forwarded::XForwardedFor,
            Some(name) => Forwarded::Header(name.to_owned()),
        };
        let headers: Vec<(String, String)> = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| (pair[0].as_str().unwrap().to_owned(), pair[1].as_str().unwrap().to_owned()))
            .collect();
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let got = Sources::allow(strings(&sources["allow"]))
            .and_then(|s| s.behind(strings(&sources["proxies"]), forwarded))
            .and_then(|s| s.admits(case["peer"].as_str(), &pairs))
            .map_or_else(|e| e.code().to_owned(), |()| "ok".to_owned());
        assert_eq!(got, case["expect"].as_str().unwrap(), "{}", case["name"]);
    }
}
