//! The webhook model and request builders, natively and on wasm32.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use clhooks::model::{
    CircuitState, Credential, Event, EventCallback, EventStore, Mode, Webhook, WebhookCreate, WebhookUpdate,
};
use clhooks::{Document, Topic};
use serde_json::{json, Value};
use wasm_bindgen_test::wasm_bindgen_test;

fn webhook_json() -> Value {
    json!({
        "data": {
            "id": "wBXVhZOmXO",
            "type": "webhooks",
            "links": {"self": "https://acme.commercelayer.io/api/webhooks/wBXVhZOmXO"},
            "attributes": {
                "name": "orders placed",
                "topic": "orders.place",
                "callback_url": "https://example.com/hooks",
                "include_resources": ["customer", "line_items"],
                "disabled_at": null,
                "circuit_state": "closed",
                "circuit_failure_count": 0,
                "shared_secret": "1c0994cc4e996e8c6ee56a2198f66f3c",
                "created_at": "2018-01-01T12:00:00.000Z",
                "updated_at": "2018-01-01T12:00:00.000Z",
                "reference": "ANY-EXTERNAL-REFEFERNCE",
                "reference_origin": "ANY-EXTERNAL-REFEFERNCE-ORIGIN",
                "metadata": {"foo": "bar"},
                "an_attribute_from_the_future": [1, 2, 3]
            },
            "relationships": {
                "last_event_callbacks": {"links": {"self": "/api/webhooks/wBXVhZOmXO/relationships/last_event_callbacks",
                                                   "related": "/api/webhooks/wBXVhZOmXO/last_event_callbacks"}},
                "event_stores": {"data": [{"id": "es1", "type": "event_stores"}]}
            },
            "meta": {"mode": "test", "organization_id": "xRoEvFOrlN"}
        }
    })
}

#[wasm_bindgen_test(unsupported = test)]
fn a_webhook_reads_every_field_and_round_trips() {
    let value = webhook_json();
    let webhook = Webhook::from_document(value.to_string().as_bytes()).unwrap();
    let a = &webhook.attributes;
    assert_eq!(a.name.as_deref(), Some("orders placed"));
    assert_eq!(a.topic, "orders.place".parse::<Topic>().unwrap());
    assert_eq!(a.callback_url, "https://example.com/hooks");
    assert_eq!(a.include_resources, ["customer", "line_items"]);
    assert_eq!(a.circuit_state, CircuitState::Closed);
    assert_eq!(a.circuit_failure_count, 0);
    assert_eq!(a.shared_secret.as_ref().unwrap().expose(), "1c0994cc4e996e8c6ee56a2198f66f3c");
    assert_eq!(a.common.reference.as_deref(), Some("ANY-EXTERNAL-REFEFERNCE"));
    assert_eq!(a.common.reference_origin.as_deref(), Some("ANY-EXTERNAL-REFEFERNCE-ORIGIN"));
    assert_eq!(a.common.metadata.as_ref().unwrap()["foo"], "bar");
    assert_eq!(a.common.created_at.as_deref(), Some("2018-01-01T12:00:00.000Z"));
    assert_eq!(a.extra["an_attribute_from_the_future"], json!([1, 2, 3]));
    assert_eq!(webhook.mode(), Some(&Mode::Test));
    assert_eq!(webhook.meta.organization_id.as_deref(), Some("xRoEvFOrlN"));
    assert!(webhook.last_event_callbacks().unwrap().data.is_none());
    assert!(webhook.event_stores().unwrap().data.is_some());
    assert!(webhook.is_enabled() && webhook.is_callable());
    assert!(!format!("{webhook:?}").contains("1c0994cc"));
    assert_eq!(serde_json::to_value(&webhook).unwrap(), value["data"]);
}

#[wasm_bindgen_test(unsupported = test)]
fn unknown_enum_values_are_kept() {
    let mut value = webhook_json();
    value["data"]["attributes"]["circuit_state"] = json!("half_open");
    value["data"]["meta"]["mode"] = json!("sandbox");
    value["data"]["attributes"]["disabled_at"] = json!("2024-05-01T00:00:00Z");
    let webhook = Webhook::from_document(value.to_string().as_bytes()).unwrap();
    assert_eq!(webhook.attributes.circuit_state, CircuitState::Unknown("half_open".into()));
    assert_eq!(webhook.mode(), Some(&Mode::Unknown("sandbox".into())));
    assert!(!webhook.is_enabled() && !webhook.is_callable());
    assert_eq!(serde_json::to_value(&webhook).unwrap(), value["data"]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_typed_read_checks_the_type() {
    let body = br#"{"data":{"id":"o1","type":"orders","attributes":{}}}"#;
    assert_eq!(Webhook::from_document(body).unwrap_err().code(), "wrong_resource_type");
    let body =
        br#"{"data":{"id":"w1","type":"webhooks","attributes":{"topic":"Orders","callback_url":"x"}}}"#;
    assert_eq!(Webhook::from_document(body).unwrap_err().code(), "invalid_document");
}

#[wasm_bindgen_test(unsupported = test)]
fn event_callbacks_events_and_event_stores() {
    let callback =
        Document::from_value(json!({"data": {"id": "ec1", "type": "event_callbacks", "attributes": {
        "callback_url": "https://example.com/hooks", "payload": {"data": {"id": "o1", "type": "orders"}},
        "response_code": "503", "response_message": "Service Unavailable", "signature": "abc=",
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        "reference": null, "reference_origin": null, "metadata": {}},
        "relationships": {"webhook": {"data": {"id": "w1", "type": "webhooks"}}}}}))
        .unwrap()
        .data
        .to_typed::<EventCallback>()
        .unwrap();
    assert_eq!(callback.attributes.response_code.as_deref(), Some("503"));
    assert!(!callback.succeeded());
    assert_eq!(callback.attributes.extra["signature"], "abc=");
    assert!(callback.relationship("webhook").is_some());

    let event = Document::from_value(
        json!({"data": {"id": "e1", "type": "events", "attributes": {"name": "orders.create"}}}),
    )
    .unwrap()
    .data
    .to_typed::<Event>()
    .unwrap();
    assert_eq!(event.attributes.name.as_str(), "orders.create");
    assert_eq!(
        Event::trigger_body("e1"),
        json!({"data": {"type": "events", "id": "e1", "attributes": {"_trigger": true}}})
    );

    let store = Document::from_value(json!({"data": {"id": "s1", "type": "event_stores", "attributes": {
        "resource_type": "orders", "resource_id": "o1", "event": "update",
        "payload": {"status": {"from": "pending", "to": "placed"}}, "who": {"application": {"id": "a1"}}}}}))
    .unwrap()
    .data
    .to_typed::<EventStore>()
    .unwrap();
    assert_eq!(store.attributes.payload.as_ref().unwrap()["status"]["to"], "placed");
}

#[wasm_bindgen_test(unsupported = test)]
fn create_body_is_exactly_what_commerce_layer_expects() {
    let mut metadata = serde_json::Map::new();
    metadata.insert("team".into(), json!("ops"));
    let body = WebhookCreate::new("orders.place".parse().unwrap(), "https://example.com/hooks")
        .unwrap()
        .name("orders placed")
        .include_resources(["customer", "line_items.line_item_options"])
        .unwrap()
        .metadata(metadata)
        .reference("ERP-1", Some("erp"))
        .to_body();
    assert_eq!(
        body.to_string(),
        r#"{"data":{"type":"webhooks","attributes":{"topic":"orders.place","callback_url":"https://example.com/hooks","name":"orders placed","include_resources":["customer","line_items.line_item_options"],"metadata":{"team":"ops"},"reference":"ERP-1","reference_origin":"erp"}}}"#
    );
    let minimal = WebhookCreate::new("shipments.ship".parse().unwrap(), "http://127.0.0.1:8080/hook")
        .unwrap()
        .to_body();
    assert_eq!(
        minimal.to_string(),
        r#"{"data":{"type":"webhooks","attributes":{"topic":"shipments.ship","callback_url":"http://127.0.0.1:8080/hook"}}}"#
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn create_checks_urls_and_include_paths() {
    let topic: Topic = "orders.place".parse().unwrap();
    for bad in ["", "example.com", "ftp://x", "https://", "https:///x", "https://a b", "https://:80/x"] {
        assert_eq!(
            WebhookCreate::new(topic.clone(), bad).unwrap_err().code(),
            "invalid_callback_url",
            "{bad:?}"
        );
    }
    let create = WebhookCreate::new(topic, "https://example.com").unwrap();
    for bad in
        ["", "a", "Line_items", "line_items.", ".sku", "line items", "sku_", "_sku", "sku1", "line-items"]
    {
        let err = create.clone().include_resources([bad]).unwrap_err();
        assert_eq!(err.code(), "invalid_include_path", "{bad:?}");
    }
    // Exactly the Dashboard's check, `[a-z][a-z_.]*[a-z]` per entry: it lets "a..b" through.
    assert!(create
        .include_resources(["shipments.shipping_method", "customer", "ab", "line_items..sku"])
        .is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn update_triggers_follow_the_rules() {
    let update = WebhookUpdate::new("w1").disable();
    assert_eq!(
        update.to_body(Credential::SalesChannel).unwrap().to_string(),
        r#"{"data":{"type":"webhooks","id":"w1","attributes":{"_disable":true}}}"#
    );
    let both = WebhookUpdate::new("w1").disable().enable();
    assert_eq!(both.to_body(Credential::Integration).unwrap_err().code(), "conflicting_triggers");
    let reset = WebhookUpdate::new("w1").reset_circuit();
    assert!(reset.check(Credential::Integration).is_ok());
    assert!(reset.check(Credential::Webapp).is_ok());
    assert_eq!(reset.check(Credential::SalesChannel).unwrap_err().code(), "forbidden_for_sales_channel");
    let change = WebhookUpdate::new("w1")
        .topic(&"orders.approve".parse().unwrap())
        .callback_url("https://example.com/new")
        .unwrap()
        .name("n")
        .include_resources(["customer"])
        .unwrap()
        .enable();
    assert_eq!(
        change.to_body(Credential::Integration).unwrap().to_string(),
        r#"{"data":{"type":"webhooks","id":"w1","attributes":{"topic":"orders.approve","callback_url":"https://example.com/new","name":"n","include_resources":["customer"],"_enable":true}}}"#
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn error_codes_are_unique_snake_case_and_listed() {
    let codes = clhooks::Error::CODES;
    for code in codes {
        assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code}");
    }
    let mut sorted = codes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), codes.len());
}
