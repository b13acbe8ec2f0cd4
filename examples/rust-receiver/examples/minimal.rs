use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use clhooks::receiver::{Body, MemoryStore, Receiver, ANSWER_CONTENT_TYPE, DEFAULT_MAX_BODY_BYTES};
use clhooks::Verifier;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("CL_WEBHOOK_SECRET").map_err(|_| "set CL_WEBHOOK_SECRET to the webhook's shared secret")?;
    let receiver = Arc::new(Receiver::new(Verifier::new([secret])?));
    let seen = Arc::new(MemoryStore::default()); // remembers handled deliveries: duplicates answer 200
    let hook = move |headers: HeaderMap, body: Bytes| async move {
        let headers = headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let answer = receiver.handle("POST", headers, Body::Bytes(&body), &*seen, |delivery, _duplicate| {
            println!("{} {}", delivery.event.topic, delivery.event.resource().id);
            Ok::<(), std::io::Error>(()) // an Err answers 500: Commerce Layer retries
        });
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, [(header::CONTENT_TYPE, ANSWER_CONTENT_TYPE)], answer.body)
    };
    let app = Router::new()
        .route("/webhooks", post(hook))
        .layer(DefaultBodyLimit::max(DEFAULT_MAX_BODY_BYTES)); // axum's own default is 2 MiB
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("0.0.0.0:{port}")).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
