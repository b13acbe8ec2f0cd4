//! A Commerce Layer webhook receiver on axum.
//!
//! `CL_WEBHOOK_SECRET=secret cargo run` (comma-separated secrets while rotating); `PORT` (3000)
//! and `HOST` (127.0.0.1) say where it listens. POST deliveries to `/webhooks`.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use clhooks::payload::SeenKeys;
use clhooks::{receive, Verifier};
use serde_json::{json, Value};

struct App {
    verifier: Verifier,
    seen: Mutex<SeenKeys>,
}

async fn webhook(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> (StatusCode, Json<Value>) {
    let pairs = headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    let event = match receive(&body, pairs, &app.verifier) {
        Ok(event) => event,
        Err(e) => {
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            return (status, Json(json!({"error": e.code(), "message": e.to_string()})));
        }
    };
    let key = event.idempotency_key();
    let fresh = app.seen.lock().map(|mut seen| seen.insert(&key)).unwrap_or(true);
    if fresh {
        // Real work goes here, or onto a queue when it may take more than a moment: Commerce
        // Layer waits 5 s for the answer.
        println!("event {} {} {}", event.topic, event.resource().id, &key[..12]);
    }
    (StatusCode::OK, Json(json!({"received": event.topic.as_str(), "duplicate": !fresh})))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secrets = std::env::var("CL_WEBHOOK_SECRET").unwrap_or_default();
    let verifier = Verifier::new(secrets.split(',').filter(|s| !s.is_empty()))?;
    let app = Arc::new(App { verifier, seen: Mutex::new(SeenKeys::new(10_000)) });
    let router = Router::new()
        .route("/webhooks", post(webhook))
        .layer(DefaultBodyLimit::max(5 << 20))
        .with_state(app);
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
