//! clhooks-axum's router, in process (tower's `oneshot`) and over loopback: the core's answers,
//! each delivery handled once, handlers that fail, panic or outlive the handler timeout, typed
//! resources, and a readable 413. The tests read the workspace's captured payload: they run
//! from the repository, not the package.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use clhooks::receiver::Receiver;
use clhooks::Verifier;
use clhooks_axum::{Event, Failure, Webhooks};
use http_body_util::BodyExt;
use serde::Deserialize;
use tower::ServiceExt;

const FIXTURE: &[u8] = include_bytes!("../../../tests/vectors/orders-place-payload.json");
const SECRET: &str = "axum-secret";

fn delivery(body: &[u8], secret: &str) -> Request<Body> {
    Request::post("/webhooks")
        .header("content-type", "application/json")
        .header("x-commercelayer-topic", "orders.place")
        .header("x-commercelayer-signature", clhooks::sign(body, secret).unwrap())
        .body(Body::from(body.to_vec()))
        .unwrap()
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    assert_eq!(response.headers()["content-type"], "application/json");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_delivery_is_handled_once_and_every_refusal_is_the_cores() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let app = Webhooks::new([SECRET])
        .unwrap()
        .on("orders.*", move |event: Event| {
            let counted = Arc::clone(&counted);
            async move {
                assert_eq!((event.topic().as_str(), event.id()), ("orders.place", "wBXVhZOmXO"));
                assert_eq!(event.idempotency_key().len(), 64);
                counted.fetch_add(1, Ordering::SeqCst);
                Ok::<(), std::io::Error>(())
            }
        })
        .unwrap()
        .into_router("/webhooks");
    let (status, body) = send(&app, delivery(FIXTURE, SECRET)).await;
    assert_eq!((status, body["received"].as_str()), (StatusCode::OK, Some("orders.place")));
    let (status, body) = send(&app, delivery(FIXTURE, SECRET)).await;
    assert_eq!((status, body["duplicate"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the duplicate ran no handler");

    let mut tampered = FIXTURE.to_vec();
    tampered[200] ^= 1;
    let mut request = delivery(FIXTURE, SECRET);
    *request.body_mut() = Body::from(tampered);
    let (status, body) = send(&app, request).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("signature_mismatch")));
    let (status, body) = send(&app, delivery(FIXTURE, "another-secret")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("signature_mismatch")));
    let get = Request::get("/webhooks").body(Body::empty()).unwrap();
    let (status, body) = send(&app, get).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let big = vec![b' '; 6 * 1024 * 1024];
    let mut request = delivery(&big, SECRET);
    request.headers_mut().remove("content-length");
    let (status, body) = send(&app, request).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[derive(Debug, Deserialize)]
struct Order {
    number: u64,
    customer_email: String,
    line_items: Vec<LineItem>,
}

#[derive(Debug, Deserialize)]
struct LineItem {
    quantity: u32,
}

#[tokio::test]
async fn handlers_get_typed_resources_and_run_in_the_order_they_were_added() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (first, second) = (Arc::clone(&seen), Arc::clone(&seen));
    let app = Webhooks::new(["old", SECRET])
        .unwrap()
        .on("orders.place", move |event: Event| {
            let seen = Arc::clone(&first);
            async move {
                let order: Order = event.resource()?;
                let quantity: u32 = order.line_items.iter().map(|item| item.quantity).sum();
                seen.lock().unwrap().push(format!("{} {} {quantity}", order.number, order.customer_email));
                Ok::<(), clhooks_axum::ReadError>(())
            }
        })
        .unwrap()
        .on("*", move |event: Event| {
            let seen = Arc::clone(&second);
            async move {
                seen.lock().unwrap().push(format!("* {}", event.topic()));
                Ok::<(), std::io::Error>(())
            }
        })
        .unwrap()
        .into_router("/webhooks");
    assert_eq!(send(&app, delivery(FIXTURE, SECRET)).await.0, StatusCode::OK);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].starts_with("28030653 bolaji@commercelayer.io "), "{seen:?}");
    assert_eq!(seen[1], "* orders.place");
}

#[tokio::test]
async fn a_failing_or_panicking_handler_is_answered_500_and_runs_again_on_the_retry() {
    let calls = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let (counted, told) = (Arc::clone(&calls), Arc::clone(&failures));
    let app = Webhooks::new([SECRET])
        .unwrap()
        .on("orders.place", move |_event: Event| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => Err(std::io::Error::other("the database is down")),
                    1 => panic!("a bug"),
                    _ => Ok(()),
                }
            }
        })
        .unwrap()
        .on_error(move |failure: &Failure<'_>| {
            told.lock().unwrap().push(format!("{} {failure}", failure.code()))
        })
        .into_router("/webhooks");
    for expected in ["handler_failed", "handler_failed"] {
        let (status, body) = send(&app, delivery(FIXTURE, SECRET)).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some(expected)));
    }
    assert_eq!(
        send(&app, delivery(FIXTURE, SECRET)).await.0,
        StatusCode::OK,
        "released each time: the retry ran"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0]
        .contains("handler_failed orders.place wBXVhZOmXO: a handler failed: the database is down"));
    assert!(failures[1].contains("panicked"), "{failures:?}");
}

#[tokio::test]
async fn a_handler_past_the_handler_timeout_keeps_its_claim_and_is_recorded_when_it_ends() {
    let (release, released) = tokio::sync::watch::channel(false);
    let receiver = Receiver::new(Verifier::new([SECRET]).unwrap()).with_handler_timeout_ms(100);
    let app = Webhooks::with_receiver(receiver)
        .on("orders.place", move |_event: Event| {
            let mut released = released.clone();
            async move {
                released.wait_for(|done| *done).await.unwrap();
                Ok::<(), std::io::Error>(())
            }
        })
        .unwrap()
        .into_router("/webhooks");
    let (status, body) = send(&app, delivery(FIXTURE, SECRET)).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("handler_timeout")));
    // Commerce Layer's retry while the first still runs: not run twice.
    let (status, body) = send(&app, delivery(FIXTURE, SECRET)).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("in_flight")));
    release.send(true).unwrap();
    // Recorded once the handler ends: the next retry is a duplicate.
    for _ in 0..100 {
        let (status, body) = send(&app, delivery(FIXTURE, SECRET)).await;
        if status == StatusCode::OK {
            assert_eq!(body["duplicate"], true);
            return;
        }
        assert_eq!(status, StatusCode::CONFLICT);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the claim was never recorded");
}

#[tokio::test]
async fn over_loopback_an_eager_client_reads_its_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = Webhooks::new([SECRET]).unwrap().into_router("/webhooks");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let body = vec![b'x'; 6 * 1024 * 1024];
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /webhooks HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\nx-commercelayer-topic: orders.place\r\nx-commercelayer-signature: {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        clhooks::sign(&body, SECRET).unwrap()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The whole body before reading a byte, as a client that does not read while it writes.
    for chunk in body.chunks(64 * 1024) {
        stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.unwrap();
        stream.write_all(chunk).await.unwrap();
        stream.write_all(b"\r\n").await.unwrap();
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "no answer within 10 s");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"payload_too_large\""), "{answer}");
    server.abort();
}
