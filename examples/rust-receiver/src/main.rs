//! A Commerce Layer webhook receiver on axum, with clhooks-axum.
//!
//! `CL_WEBHOOK_SECRET=secret cargo run` (comma-separated secrets while rotating); `PORT` (3000)
//! and `HOST` (127.0.0.1) say where it listens; with `EVENTS_LOG=path` each event is appended
//! to that file; with `REDIS_URL=redis://host:6379` its idempotency claims are shared with every
//! other instance on that Redis (Rust or Node receivers alike); with `ALLOW_SOURCES` (such as
//! `commercelayer`) only those callers are received. POST deliveries to `/webhooks`.
//!
//! clhooks decides every answer (405, 413, 401, 400, 409, 500, 503, 200 and duplicates), and
//! records an event only once its work is done, so a delivery whose work failed is handled
//! again when Commerce Layer retries it.

use std::net::SocketAddr;

use clhooks::receiver::Receiver;
use clhooks::sources::Sources;
use clhooks::Verifier;
use clhooks_axum::{Event, Webhooks};
use clhooks_redis::RedisStore;
use tokio::io::AsyncWriteExt;

/// The work: real code would write to a database or a queue. Commerce Layer waits 5 s for the
/// answer, so anything slower goes onto a queue.
async fn record(event: Event) -> std::io::Result<()> {
    let line = format!("event {} {} {}", event.topic(), event.id(), &event.idempotency_key()[..12]);
    if let Some(path) = setting("EVENTS_LOG") {
        let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await?;
        file.write_all(format!("{line}\n").as_bytes()).await?;
    }
    println!("{line}");
    Ok(())
}

fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secrets = setting("CL_WEBHOOK_SECRET").unwrap_or_default();
    let mut receiver = Receiver::new(Verifier::new(secrets.split(',').filter(|s| !s.is_empty()))?);
    if let Some(list) = setting("ALLOW_SOURCES") {
        receiver = receiver.with_sources(Sources::allow(list.split(','))?);
    }
    let mut webhooks = Webhooks::with_receiver(receiver).on("*", record)?;
    if let Some(url) = setting("REDIS_URL") {
        webhooks = webhooks.store(RedisStore::connect(&url, clhooks::store::DEFAULT_PREFIX).await?);
    }
    let host = setting("HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port = setting("PORT").unwrap_or_else(|| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = webhooks.into_router("/webhooks").into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await?;
    Ok(())
}
