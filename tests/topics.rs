//! Topic vectors and the catalogue, natively and on wasm32.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use clhooks::{catalogue, Topic, TopicPattern};
use common::outcome;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test(unsupported = test)]
fn catalogue_matches_the_reference() {
    let vectors = common::topics();
    assert_eq!(catalogue::all().len(), vectors.catalogue.count);
    assert_eq!(catalogue::resources().len(), vectors.catalogue.resources);
    for known in &vectors.catalogue.known {
        let info = catalogue::lookup(&known.topic).unwrap_or_else(|| panic!("{} missing", known.topic));
        assert_eq!(info.description, known.description.as_deref(), "{}", known.topic);
        assert!(Topic::parse(&known.topic).unwrap().is_known());
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn catalogue_is_sorted_parsable_and_consistent() {
    let all = catalogue::all();
    assert!(all.windows(2).all(|w| w[0].name < w[1].name));
    for info in all {
        let topic = Topic::parse(info.name).unwrap();
        assert_eq!((topic.resource(), topic.event()), (info.resource, info.event));
        assert!(catalogue::is_known(info.name));
        assert!(catalogue::events(info.resource).any(|t| t.name == info.name));
    }
    let seeded = all.iter().filter(|t| t.sources.seed_page).count();
    assert_eq!(seeded, all.iter().filter(|t| t.description.is_some()).count());
    assert!(catalogue::events("orders").all(|t| t.resource == "orders"));
    assert_eq!(catalogue::events("no_such_resources").count(), 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn parse_vectors() {
    for case in common::topics().parse {
        let got = Topic::parse(&case.input);
        match &case.error {
            Some(code) => assert_eq!(outcome(&got), code, "{:?}", case.input),
            None => {
                let topic = got.unwrap_or_else(|e| panic!("{:?}: {e}", case.input));
                assert_eq!(Some(topic.resource()), case.resource.as_deref());
                assert_eq!(Some(topic.event()), case.event.as_deref());
                assert_eq!(Some(topic.is_known()), case.known);
                assert_eq!(topic.to_string(), case.input);
                assert_eq!(case.input.parse::<Topic>().unwrap(), topic);
            }
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn pattern_vectors() {
    for case in common::topics().patterns {
        let got = TopicPattern::parse(&case.pattern);
        match (&case.error, &case.topic) {
            (Some(code), _) => assert_eq!(outcome(&got), code, "{:?}", case.pattern),
            (None, Some(topic)) => {
                let pattern = got.unwrap_or_else(|e| panic!("{:?}: {e}", case.pattern));
                assert_eq!(Some(pattern.matches_name(topic)), case.matches, "{} vs {topic}", case.pattern);
            }
            (None, None) => panic!("pattern case without a topic or an error"),
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn malformed_names_never_match_a_pattern() {
    let any = TopicPattern::parse("*").unwrap();
    assert!(any.matches_name("widgets.explode"));
    for bad in ["", "orders", "Orders.place", "orders.place.x"] {
        assert!(!any.matches_name(bad), "{bad:?}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn topics_serialize_as_strings() {
    let topic: Topic = serde_json::from_str("\"orders.place\"").unwrap();
    assert_eq!(serde_json::to_string(&topic).unwrap(), "\"orders.place\"");
    assert!(serde_json::from_str::<Topic>("\"orders\"").is_err());
}

#[wasm_bindgen_test(unsupported = test)]
fn error_messages_quote_invisible_and_direction_changing_characters() {
    let message = clhooks::Topic::parse("orders\u{202E}.place\u{200B}\n").unwrap_err().to_string();
    assert!(message.contains(r#""orders\u{202e}.place\u{200b}\n""#), "{message}");
    assert!(!message.contains('\u{202E}'));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_huge_input_is_refused_and_shown_cut() {
    let huge = format!("orders.{}", "a".repeat(1 << 20));
    let err = huge.parse::<Topic>().unwrap_err();
    assert_eq!(err.code(), "invalid_topic");
    let message = err.to_string();
    assert!(message.len() < 300, "{} bytes", message.len());
    assert!(message.contains("…\""), "{message}");
    let clhooks::Error::InvalidTopic { input, .. } = err else { panic!() };
    assert!(input.len() <= 103);
    let pattern = TopicPattern::parse(&huge).unwrap_err();
    assert!(pattern.to_string().len() < 300);
    // Multi-byte characters are cut on a boundary.
    let wide = "é".repeat(500);
    assert!(wide.parse::<Topic>().unwrap_err().to_string().is_char_boundary(10));
}
