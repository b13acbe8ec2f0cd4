//! A Commerce Layer webhook receiver on axum.
//!
//! `CL_WEBHOOK_SECRET=secret cargo run` (comma-separated secrets while rotating); `PORT` (3000)
//! and `HOST` (127.0.0.1) say where it listens; with `EVENTS_LOG=path` each event is appended
//! to that file; with `REDIS_URL=redis://host:6379` its idempotency claims are shared with every
//! other instance on that Redis (Rust or Node receivers alike). POST deliveries to `/webhooks`.
//!
//! axum only moves bytes here: clhooks' `Receiver` decides every answer (405, 413, 401, 400,
//! 409, 500, 200 and duplicates), and its seen-store records an event only once the work is
//! done, so a delivery whose work failed is handled again when Commerce Layer retries it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body as HttpBody;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use clhooks::receiver::{
    end_claim, Answer, Body, Claim, Delivery, MemoryStore, Receiver, SeenStore, Terms, ANSWER_CONTENT_TYPE,
};
use clhooks::sources::Sources;
use clhooks::Verifier;
use clhooks_redis::RedisStore;
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

struct App {
    receiver: Receiver,
    seen: Seen,
    events_log: Option<String>,
}

/// Where the claims live: this process's memory, or a Redis that several instances share.
enum Seen {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl Seen {
    async fn claim(&self, key: &str, terms: Terms) -> clhooks::Result<Claim> {
        match self {
            Seen::Memory(store) => store.claim(key, terms),
            Seen::Redis(store) => store.claim(key, terms).await,
        }
    }

    async fn finish(&self, key: &str, terms: Terms, done: Option<bool>) -> clhooks::Result<()> {
        match self {
            Seen::Memory(store) => end_claim(store, key, terms, done),
            Seen::Redis(store) => store.finish(key, terms, done).await,
        }
    }
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, ANSWER_CONTENT_TYPE)], answer.body).into_response()
}

/// The work: real code would write to a database or a queue. Commerce Layer waits 5 s for the
/// answer, so anything slower goes onto a queue.
async fn work(app: &App, delivery: &Delivery) -> std::io::Result<()> {
    let event = &delivery.event;
    let line = format!("event {} {} {}", event.topic, event.resource().id, &delivery.key[..12]);
    if let Some(path) = &app.events_log {
        let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await?;
        file.write_all(format!("{line}\n").as_bytes()).await?;
    }
    println!("{line}");
    Ok(())
}

async fn webhook(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, mut body) = request.into_parts();
    // Step 0 (with ALLOW_SOURCES): a caller outside the allow-list is refused before its body is read.
    let peer = peer.ip().to_string();
    if let Err(answer) = app.receiver.admit(Some(&peer), &pairs(&parts.headers)) {
        linger(&app, body);
        return respond(answer);
    }
    let max = app.receiver.max_body_bytes();
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    // Over the limit by its Content-Length: answered before reading (and before `100 Continue`).
    let read = match declared {
        Some(length) if length > max => Ok(None),
        _ => read_up_to(&mut body, max).await,
    };
    let body = match &read {
        Ok(Some(bytes)) => Body::Bytes(bytes),
        Ok(None) => {
            linger(&app, body);
            Body::TooLarge
        }
        Err(()) => Body::Unreadable,
    };
    let delivery =
        match app.receiver.receive_from(parts.method.as_str(), Some(&peer), pairs(&parts.headers), body) {
            Ok(delivery) => delivery,
            Err(answer) => return respond(answer),
        };
    // Claim, work and end the claim on a task of their own: axum drops this handler when the
    // client hangs up (Commerce Layer does at 5 s), and the claim must end all the same.
    let task = tokio::spawn(async move {
        let topic = &delivery.event.topic;
        let terms = app.receiver.terms();
        // A store that is down, or slower than the receiver waits (0: for ever): 503, and
        // Commerce Layer retries.
        let claimed = within(terms.wait_ms, app.seen.claim(&delivery.key, terms)).await;
        let claim = match claimed {
            Some(Ok(claim)) => claim,
            Some(Err(e)) => return Receiver::store_failed(&e.to_string()),
            None => return Receiver::store_failed("no answer in time"),
        };
        let run = match app.receiver.claimed(topic, claim) {
            Ok(run) => run,
            Err(answer) => return answer,
        };
        // Work past the handler timeout is answered 503 and its claim released (the lease is
        // sized for it), so the retry runs instead of racing a stuck handler for ever.
        let finish = match within(app.receiver.handler_timeout_ms(), work(&app, &delivery)).await {
            Some(Ok(())) => app.receiver.finished(topic, run, true),
            Some(Err(e)) => {
                eprintln!("work failed for {} {}: {e}", topic, delivery.event.resource().id);
                app.receiver.finished(topic, run, false)
            }
            None => app.receiver.timed_out(run),
        };
        if let Err(e) = app.seen.finish(&delivery.key, terms, finish.done).await {
            eprintln!("the seen-store could not end the claim of {}: {e}", delivery.key);
        }
        finish.answer
    });
    respond(task.await.unwrap_or_else(|e| Receiver::failed(&e.to_string())))
}

/// The body, or `None` as soon as it goes over `max` bytes (the rest is left unread).
async fn read_up_to(body: &mut HttpBody, max: usize) -> Result<Option<Vec<u8>>, ()> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(drop)?.into_data() else { continue };
        if bytes.len().saturating_add(data.len()) > max {
            return Ok(None);
        }
        bytes.extend_from_slice(&data);
    }
    Ok(Some(bytes))
}

/// The core's lingering close after an answer sent before the body was read whole: the rest is
/// read and dropped on a task of its own, within the core's bounds, so that a client still
/// sending gets to read the answer; past them the body is dropped and hyper closes.
fn linger(app: &App, mut body: HttpBody) {
    let mut linger = app.receiver.linger(now_ms());
    tokio::spawn(async move {
        let left = linger.until_ms().saturating_sub(now_ms());
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(left);
        while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await {
            let read = frame.data_ref().map_or(0, |data| data.len());
            if !linger.read(read, now_ms()) {
                break;
            }
        }
    });
}

/// Milliseconds since the epoch: the core reads no clock.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `future`'s output, or `None` when it takes longer than `ms` (0: no limit).
async fn within<T>(ms: u64, future: impl std::future::Future<Output = T>) -> Option<T> {
    if ms == 0 {
        return Some(future.await);
    }
    tokio::time::timeout(std::time::Duration::from_millis(ms), future).await.ok()
}

fn pairs(headers: &HeaderMap) -> Vec<(&str, &str)> {
    headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))).collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secrets = std::env::var("CL_WEBHOOK_SECRET").unwrap_or_default();
    let verifier = Verifier::new(secrets.split(',').filter(|s| !s.is_empty()))?;
    let app = Arc::new(App {
        receiver: match std::env::var("ALLOW_SOURCES").ok().filter(|s| !s.is_empty()) {
            // Only these addresses ("commercelayer": Commerce Layer's published ones).
            Some(list) => Receiver::new(verifier).with_sources(Sources::allow(list.split(','))?),
            None => Receiver::new(verifier),
        },
        seen: match std::env::var("REDIS_URL").ok().filter(|s| !s.is_empty()) {
            Some(url) => Seen::Redis(RedisStore::connect(&url, clhooks::store::DEFAULT_PREFIX).await?),
            None => Seen::Memory(MemoryStore::default()),
        },
        events_log: std::env::var("EVENTS_LOG").ok().filter(|p| !p.is_empty()),
    });
    let router = Router::new()
        .route("/webhooks", any(webhook))
        // The receiver applies its own limit (5 MiB) and answers 413 itself.
        .layer(DefaultBodyLimit::disable())
        .with_state(app);
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
