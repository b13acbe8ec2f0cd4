//! `clhooks listen`: a local receiver that verifies every delivery with the core and prints it,
//! and can misbehave on purpose (failures, slowness) so retries and the breaker can be watched.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use clhooks::receiver::{Answer, Body, MemoryStore, Receiver, ANSWER_CONTENT_TYPE, DEFAULT_MAX_BODY_BYTES};
use clhooks::sender::{iso8601, Rng};
use clhooks::sources::{Forwarded, Sources};
use clhooks::Verifier;

use crate::cli::{print, Failure, Secrets};
use crate::deliver::wall_clock_ms;
use crate::server::{self, Limits, Payload, Reply};

/// Options of `clhooks listen`.
#[derive(Args)]
pub struct Listen {
    /// The address to listen on (loopback unless you mean otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port (0 picks a free one; the first line printed says which).
    #[arg(long, default_value_t = 4000)]
    port: u16,
    #[command(flatten)]
    secrets: Secrets,
    /// Answer this share of verified deliveries with 500, at random (seeded).
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Wait this long before answering (over 5000, Commerce Layer counts a timeout).
    #[arg(long, default_value_t = 0)]
    slow_ms: u64,
    /// Behaviour for one path, overriding the above: PATH=RULE[,RULE], each RULE one of
    /// fail-rate:F, fail-first:N (the first N deliveries fail), slow-ms:MS. Repeatable.
    #[arg(long = "route")]
    routes: Vec<String>,
    /// Seed of --fail-rate.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many requests.
    #[arg(long)]
    max_requests: Option<u64>,
    /// Largest body accepted, in bytes (413 above).
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body: usize,
    /// Also write each verified payload to this folder, named by topic and id.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Receive only from this address or CIDR block ("commercelayer": Commerce Layer's published
    /// addresses); repeatable. Any other caller gets 403. Off by default.
    #[arg(long = "allow-source")]
    allow_sources: Vec<String>,
    /// A proxy trusted to say who called it (an address or CIDR block); repeatable.
    #[arg(long = "trust-proxy", requires = "allow_sources")]
    trust_proxies: Vec<String>,
    /// Where trusted proxies say it: x-forwarded-for, or a header holding the caller's address.
    #[arg(long, requires = "allow_sources")]
    forwarded: Option<String>,
    /// A request's head must arrive within this many ms (408 and closed otherwise).
    #[arg(long, default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// A request's body must arrive within this many ms once its head has.
    #[arg(long, default_value_t = 30_000)]
    body_timeout_ms: u64,
    /// Connections read at once; one more is answered 503 and closed.
    #[arg(long, default_value_t = 64)]
    max_connections: usize,
}

#[derive(Clone, Copy, Default)]
struct Behaviour {
    fail_rate: f64,
    fail_first: u64,
    slow_ms: u64,
}

fn parse_route(route: &str, base: Behaviour) -> Result<(String, Behaviour), Failure> {
    let bad = || {
        Failure::Cli("usage", format!("--route {route:?}: expected PATH=fail-rate:F|fail-first:N|slow-ms:MS"))
    };
    let (path, rules) = route.split_once('=').ok_or_else(bad)?;
    let mut behaviour = base;
    for rule in rules.split(',') {
        let (name, value) = rule.split_once(':').ok_or_else(bad)?;
        match name {
            "fail-rate" => behaviour.fail_rate = value.parse().map_err(|_| bad())?,
            "fail-first" => behaviour.fail_first = value.parse().map_err(|_| bad())?,
            "slow-ms" => behaviour.slow_ms = value.parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        }
    }
    Ok((path.to_owned(), behaviour))
}

fn respond(answer: &Answer) -> Reply {
    Reply { status: answer.status, content_type: ANSWER_CONTENT_TYPE, body: answer.body.clone() }
}

/// A file name for a saved payload: the topic and the resource's id, with anything but
/// letters, digits, `_` and `-` replaced by `_` (so an id cannot leave the folder, hide, or
/// break a line), at most 100 characters of the id.
fn save_path(dir: &Path, topic: &str, id: &str) -> PathBuf {
    let mut safe: String = id
        .chars()
        .take(100)
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    if safe.is_empty() {
        safe.push('_');
    }
    dir.join(format!("{topic}-{safe}.json"))
}

/// What the log line says of an answer the handler did not make: its error and message.
fn describe(answer: &Answer) -> String {
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
    let text = |key: &str| body.get(key).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    if body.get("duplicate").is_some() {
        format!("  {}  {}  duplicate: already handled, not handled again", text("received"), answer.status)
    } else {
        format!("  {} {}: {}", answer.status, text("error"), text("message"))
    }
}

pub fn listen(args: &Listen) -> Result<(), Failure> {
    let secrets = args.secrets.all()?;
    let mut receiver = Receiver::new(Verifier::new(&secrets)?).with_max_body_bytes(args.max_body);
    if !args.allow_sources.is_empty() {
        let forwarded = match args.forwarded.as_deref() {
            None => Forwarded::None,
            Some(name) if name.eq_ignore_ascii_case("x-forwarded-for") => Forwarded::XForwardedFor,
            Some(name) => Forwarded::Header(name.to_owned()),
        };
        receiver = receiver
            .with_sources(Sources::allow(&args.allow_sources)?.behind(&args.trust_proxies, forwarded)?);
    }
    let seen = MemoryStore::default();
    let base = Behaviour { fail_rate: args.fail_rate, fail_first: 0, slow_ms: args.slow_ms };
    let routes: HashMap<String, Behaviour> =
        args.routes.iter().map(|r| parse_route(r, base)).collect::<Result<_, _>>()?;
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .map_err(|e| Failure::Cli("listen", format!("cannot listen on {}:{}: {e}", args.host, args.port)))?;
    let address = listener.local_addr().map_or_else(|_| "?".into(), |a| a.to_string());
    print(&format!("listening on http://{address} ({} secret(s))", secrets.len()))?;
    let requests = server::serve(
        listener,
        Limits {
            header_timeout: Duration::from_millis(args.header_timeout_ms),
            body_timeout: Duration::from_millis(args.body_timeout_ms),
            max_connections: args.max_connections.max(1),
            max_body: args.max_body,
        },
    );
    let mut rng = Rng::new(args.seed);
    let mut runs: HashMap<String, u32> = HashMap::new();
    let mut per_path: HashMap<String, u64> = HashMap::new();
    for (index, (request, reply)) in requests.iter().enumerate() {
        let served = u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1);
        let time = iso8601(wall_clock_ms());
        let time = time.get(11..23).unwrap_or_default().to_owned();
        let path = request.path.split('?').next().unwrap_or_default().to_owned();
        let method = request.method.clone();
        let body = match &request.body {
            Payload::Bytes(bytes) => Body::Bytes(bytes),
            Payload::TooLarge => Body::TooLarge,
            Payload::Unreadable => Body::Unreadable,
        };
        let headers = &request.headers;
        let mut line = format!("{time}  {method} {path}");
        let mut handled = None;
        let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let peer = request.peer.map(|a| a.to_string());
        let answer =
            receiver.handle_from(&method, peer.as_deref(), pairs, body, &seen, |delivery, _duplicate| {
                let run = runs.entry(delivery.key.clone()).or_insert(0);
                *run += 1;
                let count = per_path.entry(path.clone()).or_insert(0);
                *count += 1;
                let behaviour = routes.get(&path).copied().unwrap_or(base);
                if behaviour.slow_ms > 0 {
                    std::thread::sleep(Duration::from_millis(behaviour.slow_ms));
                }
                let fail = *count <= behaviour.fail_first || rng.unit() < behaviour.fail_rate;
                let event = &delivery.event;
                let resource = event.resource();
                // Outside text is printed escaped: an id cannot break or forge a log line.
                let (kind, id) = (resource.kind.escape_debug(), resource.id.escape_debug());
                handled = Some((format!("  {}  {kind}/{id}  verified", event.topic), *run));
                if let Some(dir) = &args.save {
                    let file = save_path(dir, event.topic.as_str(), &resource.id);
                    let _ = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(file, &event.body));
                }
                if fail {
                    Err("failing on purpose")
                } else {
                    Ok(())
                }
            });
        match handled {
            Some((what, run)) => {
                line.push_str(&what);
                line.push_str(&format!("  {}", answer.status));
                if !answer.is_success() {
                    line.push_str(" (failing on purpose)");
                }
                if run > 1 {
                    line.push_str(&format!("  (this delivery's attempt {run}: a retry)"));
                }
            }
            None => line.push_str(&describe(&answer)),
        }
        print(&line)?;
        let _ = reply.send(respond(&answer));
        if args.max_requests.is_some_and(|max| served >= max) {
            break;
        }
    }
    Ok(())
}
