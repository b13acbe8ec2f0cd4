//! A receiver in handoff mode with its worker: each delivery is answered as soon as Redis holds it,
//! and the handlers run on the worker afterwards, retried after a backoff if they fail.
//!
//! `REDIS_URL=redis://127.0.0.1:6379 CL_WEBHOOK_SECRET=secret cargo run --example handoff`;
//! `ROLE=receiver` only answers (the handlers run on workers elsewhere, in Rust or Node),
//! `ROLE=worker` only runs them; both by default. `PORT` (3000) says where it listens; with
//! `EVENTS_LOG=path` each event run is appended to that file.

use std::time::Duration;

use clhooks_axum::{Event, Webhooks};
use clhooks_redis::RedisQueue;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{signal, SignalKind};

/// The work, which may take as long as it needs: Commerce Layer has its answer already.
async fn record(event: Event) -> std::io::Result<()> {
    let line = format!("event {} {} {}", event.topic(), event.id(), &event.idempotency_key()[..12]);
    if let Ok(path) = std::env::var("EVENTS_LOG") {
        let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await?;
        file.write_all(format!("{line}\n").as_bytes()).await?;
    }
    println!("{line}");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secrets = std::env::var("CL_WEBHOOK_SECRET").map_err(|_| "set CL_WEBHOOK_SECRET")?;
    let url = std::env::var("REDIS_URL").map_err(|_| "set REDIS_URL to your Redis")?;
    let queue = RedisQueue::connect(&url, Default::default()).await?;
    let webhooks = Webhooks::new(secrets.split(','))?.queue(queue).on("*", record)?;
    let role = std::env::var("ROLE").unwrap_or_default();
    let worker = (role != "receiver").then(|| webhooks.worker().map(|worker| worker.start())).flatten();
    let mut terminate = signal(SignalKind::terminate())?;
    if role == "worker" {
        println!("worker started");
    } else {
        let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        println!("listening on http://{}", listener.local_addr()?);
        let app = webhooks.into_router("/webhooks");
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    // What runs may finish; what does not by then goes back to the queue for another worker.
    if let Some(worker) = worker {
        worker.stop(Duration::from_secs(30)).await;
    }
    Ok(())
}
