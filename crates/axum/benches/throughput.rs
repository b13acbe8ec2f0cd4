//! `make bench`, axum side: requests per second of a `clhooks-axum` receiver against the axum
//! server a competent user would write by hand for the same work, on loopback, 4 KiB signed
//! deliveries, 32 keep-alive connections, each body fresh (2,048 variants going round, each a
//! different body and signature, more than either store keeps).
//!
//! The work on both sides, per request: the raw body read, one HMAC-SHA256 over it compared in
//! constant time with the signature header, the topic header read, one JSON parse of the body, a
//! SHA-256 of topic and body for the idempotency key, the key claimed, a handler that does nothing,
//! the key recorded, a JSON answer. With the memory store the hand-written server keeps its keys in
//! a `Mutex<HashMap>` bounded like clhooks' (the oldest handled keys forgotten first); with Redis
//! it claims with `SET key 1 NX PX lease` and records with `SET key done PX keep` on the same
//! redis-server, where clhooks runs its two scripts: two round trips each.
//!
//! Each server runs on a thread of its own (a current-thread tokio runtime); the load generator on
//! another. As in `tests/bench/receiver.mjs`, every server first takes 2 s of load, then the load
//! goes round them in 0.5 s turns, 12 times, each round starting one server later, and a server's
//! figure is its total over its turns.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::indexing_slicing
)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use clhooks_axum::{Event, Webhooks};
use clhooks_redis::RedisStore;
use hmac::{KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};

const SECRET: &str = "bench-secret";
const WARMUP: Duration = Duration::from_secs(2);
const WINDOW: Duration = Duration::from_millis(500);
const ROUNDS: usize = 12;
const CONNECTIONS: usize = 32;
const VARIANTS: usize = 2048;
/// Keys a memory store keeps: fewer than there are variants, so that every delivery is fresh.
const KEPT: usize = VARIANTS / 2;
const LEASE_MS: u64 = 45_000;
const KEEP_MS: u64 = 15_525_000;

type Server = Box<
    dyn FnOnce(tokio::net::TcpListener) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> + Send,
>;

/// A signed 4 KiB `orders.place` document, as Commerce Layer sends it, in `VARIANTS` variants
/// (trailing whitespace: each a different body, signature and idempotency key).
fn variants() -> Arc<Vec<(Bytes, String)>> {
    let padding = "x".repeat(4096 - 87);
    let body = format!(
        r#"{{"data":{{"id":"wBXVhZOmXO","type":"orders","attributes":{{"status":"placed","note":"{padding}"}}}}}}"#
    );
    Arc::new(
        (0..VARIANTS)
            .map(|i| {
                let tail: String =
                    format!("{i:011b}").chars().map(|c| if c == '0' { ' ' } else { '\n' }).collect();
                let variant = format!("{body}{tail}");
                let signature = clhooks::sign(variant.as_bytes(), SECRET).unwrap();
                (Bytes::from(variant), signature)
            })
            .collect(),
    )
}

async fn nothing(_event: Event) -> Result<(), std::convert::Infallible> {
    Ok(())
}

/// clhooks-axum with the in-memory store, or with Redis at `redis`.
fn clhooks_server(redis: Option<String>) -> Server {
    Box::new(move |listener| {
        Box::pin(async move {
            let mut webhooks = Webhooks::new([SECRET]).unwrap().on("*", nothing).unwrap();
            webhooks = match redis {
                Some(url) => webhooks.store(RedisStore::connect(&url, "clhooks-bench-a:").await.unwrap()),
                None => webhooks.store(clhooks::receiver::MemoryStore::new(KEPT)),
            };
            axum::serve(listener, webhooks.into_router("/hooks")).await.unwrap();
        })
    })
}

/// What the hand-written server claims keys in.
enum Keys {
    Memory(Mutex<Memory>),
    Redis(redis::aio::ConnectionManager),
}

/// A bounded set of handled keys and the ones in flight, as a user would keep them.
#[derive(Default)]
struct Memory {
    state: HashMap<[u8; 32], bool>,
    handled: VecDeque<[u8; 32]>,
}

/// The hand-written receiver: verify, parse, dedupe, answer.
async fn by_hand(State(keys): State<Arc<Keys>>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(given) = header("x-commercelayer-signature")
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
    else {
        return (StatusCode::UNAUTHORIZED, String::new());
    };
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&body);
    if mac.verify_slice(&given).is_err() {
        return (StatusCode::UNAUTHORIZED, String::new());
    }
    let Some(topic) = header("x-commercelayer-topic") else {
        return (StatusCode::BAD_REQUEST, String::new());
    };
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, String::new());
    };
    if !document["data"]["type"].is_string() {
        return (StatusCode::BAD_REQUEST, String::new());
    }
    let key: [u8; 32] = Sha256::new().chain_update(topic).chain_update(&body).finalize().into();
    let answer = format!(r#"{{"received":"{topic}"}}"#);
    match &*keys {
        Keys::Memory(memory) => {
            {
                let mut memory = memory.lock().unwrap();
                match memory.state.get(&key) {
                    Some(true) => return (StatusCode::OK, answer),
                    Some(false) => return (StatusCode::CONFLICT, String::new()),
                    None => memory.state.insert(key, false),
                };
            }
            // The handler would run here.
            let mut memory = memory.lock().unwrap();
            memory.state.insert(key, true);
            memory.handled.push_back(key);
            while memory.handled.len() > KEPT {
                if let Some(old) = memory.handled.pop_front() {
                    memory.state.remove(&old);
                }
            }
        }
        Keys::Redis(connection) => {
            let mut connection = connection.clone();
            let name = format!("clhooks-bench-b:{}", hex(&key));
            let claimed: Option<String> = redis::cmd("SET")
                .arg(&name)
                .arg("1")
                .arg("NX")
                .arg("PX")
                .arg(LEASE_MS)
                .query_async(&mut connection)
                .await
                .unwrap();
            if claimed.is_none() {
                return (StatusCode::OK, answer);
            }
            // The handler would run here.
            let () = redis::cmd("SET")
                .arg(&name)
                .arg("done")
                .arg("PX")
                .arg(KEEP_MS)
                .query_async(&mut connection)
                .await
                .unwrap();
        }
    }
    (StatusCode::OK, answer)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hand_server(redis: Option<String>) -> Server {
    Box::new(move |listener| {
        Box::pin(async move {
            let keys = match redis {
                Some(url) => {
                    let client = redis::Client::open(url).unwrap();
                    Keys::Redis(redis::aio::ConnectionManager::new(client).await.unwrap())
                }
                None => Keys::Memory(Mutex::new(Memory::default())),
            };
            let app = Router::new().route("/hooks", post(by_hand)).with_state(Arc::new(keys));
            axum::serve(listener, app).await.unwrap();
        })
    })
}

/// Starts `server` on a thread of its own (named `thread`, for a profiler); its address.
fn start(thread: &str, server: Server) -> SocketAddr {
    let (sender, receiver) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new().name(thread.to_owned());
    let _ = thread.spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender.send(listener.local_addr().unwrap()).unwrap();
            server(listener).await;
        });
    });
    receiver.recv().unwrap()
}

/// Load on `address` for `time`, over `CONNECTIONS` keep-alive connections, the variants in
/// turn: (requests answered 200, requests answered otherwise, seconds).
async fn load(
    address: SocketAddr,
    variants: &Arc<Vec<(Bytes, String)>>,
    next: &Arc<AtomicUsize>,
    time: Duration,
) -> (u64, u64, f64) {
    let started = Instant::now();
    let deadline = started + time;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let variants = Arc::clone(variants);
        let next = Arc::clone(next);
        tasks.spawn_local(async move {
            let stream = tokio::net::TcpStream::connect(address).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
            tokio::task::spawn_local(connection);
            let (mut good, mut bad) = (0_u64, 0_u64);
            while Instant::now() < deadline {
                let (body, signature) = &variants[next.fetch_add(1, Ordering::Relaxed) % variants.len()];
                let request = Request::post("/hooks")
                    .header("host", "127.0.0.1")
                    .header("content-type", "application/vnd.api+json")
                    .header("x-commercelayer-signature", signature.as_str())
                    .header("x-commercelayer-topic", "orders.place")
                    .body(Full::new(body.clone()))
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                let ok = response.status() == StatusCode::OK;
                response.into_body().collect().await.unwrap();
                if ok {
                    good += 1;
                } else {
                    bad += 1;
                }
            }
            (good, bad)
        });
    }
    let (mut good, mut bad) = (0, 0);
    while let Some(counts) = tasks.join_next().await {
        let (g, b) = counts.unwrap();
        good += g;
        bad += b;
    }
    (good, bad, started.elapsed().as_secs_f64())
}

/// A redis-server on a free loopback port, or `None` when there is none installed.
fn redis_server() -> Option<(Child, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let url = format!("redis://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, url));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

struct Measured {
    name: &'static str,
    address: SocketAddr,
    done: u64,
    bad: u64,
    seconds: f64,
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let variants = variants();
    let redis = redis_server();
    let url = redis.as_ref().map(|(_, url)| url.clone());
    let mut pairs: Vec<[(&'static str, &str, Server); 2]> = vec![[
        ("clhooks-axum, memory store", "clhooks-memory", clhooks_server(None)),
        ("by hand: hmac + serde_json + Mutex<HashMap>", "hand-memory", hand_server(None)),
    ]];
    if let Some(url) = &url {
        pairs.push([
            (
                "clhooks-axum, Redis store (SET NX PX GET to claim, the end script with the count folded in to record)",
                "clhooks-redis",
                clhooks_server(Some(url.clone())),
            ),
            ("by hand: hmac + serde_json + SET NX PX, SET PX", "hand-redis", hand_server(Some(url.clone()))),
        ]);
    } else {
        println!("\nno redis-server here: the Redis rows are left out (`make tool-redis` installs it)");
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    println!(
        "\naxum receivers on loopback: 4 KiB signed deliveries ({VARIANTS} variants), {CONNECTIONS} keep-alive \
         connections; {} s of warm-up each, then {ROUNDS} turns of {} s each, side by side",
        WARMUP.as_secs(),
        WINDOW.as_secs_f64()
    );
    let next = Arc::new(AtomicUsize::new(0));
    let mut servers: Vec<Measured> = Vec::new();
    for pair in pairs {
        for (name, thread, server) in pair {
            servers.push(Measured { name, address: start(thread, server), done: 0, bad: 0, seconds: 0.0 });
        }
    }
    local.block_on(&runtime, async {
        for server in &mut servers {
            let (_, bad, _) = load(server.address, &variants, &next, WARMUP).await;
            server.bad += bad;
        }
        for round in 0..ROUNDS {
            let count = servers.len();
            for turn in 0..count {
                let server = &mut servers[(round + turn) % count];
                let (done, bad, seconds) = load(server.address, &variants, &next, WINDOW).await;
                server.done += done;
                server.bad += bad;
                server.seconds += seconds;
            }
        }
    });
    // For `tests/bench/equal.mjs`, which puts these rows in its table: one JSON line.
    if std::env::var_os("CLHOOKS_BENCH_JSON").is_some() {
        let rows: Vec<String> = servers
            .iter()
            .map(|s| {
                format!(
                    "{{\"name\":{:?},\"rate\":{:.1},\"bad\":{}}}",
                    s.name,
                    s.done as f64 / s.seconds,
                    s.bad
                )
            })
            .collect();
        println!("clhooks-bench-json [{}]", rows.join(","));
    }
    println!("  {:<56} {:>22}", "", "requests/s (× by hand)");
    for pair in servers.chunks(2) {
        let hand = pair[1].done as f64 / pair[1].seconds;
        for server in pair {
            let rate = server.done as f64 / server.seconds;
            println!("  {:<56} {:>22}", server.name, format!("{rate:.0} ({:.2}×)", rate / hand));
            if server.bad > 0 {
                println!("  {:<56} {} requests did not get 200", "", server.bad);
            }
        }
    }
    if let Some((mut child, _)) = redis {
        let _ = child.kill();
        let _ = child.wait();
    }
}
