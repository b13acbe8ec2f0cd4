//! `clhooks listen`: a local receiver that verifies every delivery with the core and prints it,
//! and can misbehave on purpose (failures, slowness) so retries and the breaker can be watched.

use std::net::TcpListener;
use std::time::Duration;

use clhooks::health::{Attempt, Health};
use clhooks::receiver::{Answer, Body, MemoryStore, Receiver, ANSWER_CONTENT_TYPE};
use clhooks::sources::Sources;
use clhooks::Verifier;
use clhooks_command::{self as command, Behaviour, Failure, Rehearsal};

use clhooks_args::Listen;

use crate::cli::{colour, print, secrets};
use crate::deliver::wall_clock_ms;
use crate::server::{self, Limits, Payload, Reply};

fn respond(answer: &Answer, delay_ms: u64) -> Reply {
    Reply {
        delay: Duration::from_millis(delay_ms),
        status: answer.status,
        content_type: ANSWER_CONTENT_TYPE,
        body: answer.body.clone(),
    }
}

pub fn listen(args: &Listen) -> Result<(), Failure> {
    let secrets = secrets(&args.secrets)?;
    let mut receiver = Receiver::new(Verifier::new(&secrets)?).with_max_body_bytes(args.max_body);
    if !args.allow_sources.is_empty() {
        let forwarded = command::forwarded(args.forwarded.as_deref())?;
        receiver = receiver
            .with_sources(Sources::allow(&args.allow_sources)?.behind(&args.trust_proxies, forwarded)?);
    }
    let seen = MemoryStore::default();
    // The failure streaks, counted as Commerce Layer counts them.
    let mut health = Health::default();
    let base = Behaviour { fail_rate: args.fail_rate, fail_first: 0, slow_ms: args.slow_ms };
    let mut rehearsal = Rehearsal::new(base, &args.routes, args.seed)?;
    let listener = TcpListener::bind((args.host.as_str(), args.port)).map_err(|e| {
        Failure::usage("listen", format!("cannot listen on {}:{}: {e}", args.host, args.port))
    })?;
    let address = listener.local_addr().map_or_else(|_| "?".into(), |a| a.to_string());
    print(&command::listening(&address, secrets.len()))?;
    let requests = server::serve(
        listener,
        Limits {
            listen: command::ListenLimits::new(
                args.header_timeout_ms,
                args.body_timeout_ms,
                args.max_connections,
            ),
            max_body: args.max_body,
        },
    );
    let colour = colour(false);
    let mut served: u64 = 0;
    for (request, reply) in requests.iter() {
        let body = match &request.body {
            Payload::Bytes(bytes) => Body::Bytes(bytes),
            Payload::TooLarge => Body::TooLarge,
            Payload::Unreadable => Body::Unreadable,
        };
        served = served.saturating_add(1);
        let last = args.max_requests.is_some_and(|max| served >= max);
        // `--health-path`: the counters, not a delivery.
        if request.method == "GET"
            && args.health_path.as_deref().is_some_and(|p| p == command::path_of(&request.path))
        {
            let answer =
                respond(&health.report().with_secrets(receiver.verifier().fingerprints()).answer(), 0);
            if last {
                reply.finish(answer);
                break;
            }
            reply.send(answer);
            continue;
        }
        let pairs: Vec<(&str, &str)> =
            request.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let peer = request.peer.map(|a| a.to_string());
        let mut act = None;
        let exchange =
            receiver.exchange(&request.method, peer.as_deref(), &pairs, body, &seen, |delivery, _| {
                let event = &delivery.event;
                let resource = event.resource();
                let now = rehearsal.delivery(
                    &request.path,
                    &delivery.key,
                    event.topic.as_str(),
                    &resource.kind,
                    &resource.id,
                );
                if let Some(dir) = &args.save {
                    let file = dir.join(command::save_name(event.topic.as_str(), &resource.id));
                    let _ = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(file, &event.body));
                }
                let fail = now.fail;
                act = Some(now);
                if fail {
                    Err(command::FAILING_ON_PURPOSE)
                } else {
                    Ok(())
                }
            });
        let answer = exchange.answer;
        // `--slow-ms`: the answer waits on its connection's thread, holding up no other.
        let delay = act.as_ref().map_or(0, |a| a.slow_ms);
        // Counted as handed over: after the wait, from the moment the request began to arrive.
        // Rounded up: 5000.2 ms is past the deadline.
        let waited = request.arrived.elapsed().as_micros().div_ceil(1000);
        let latency = u64::try_from(waited).unwrap_or(u64::MAX).saturating_add(delay);
        let attempt = Attempt::of(&answer, wall_clock_ms().saturating_add(delay), latency);
        let mut streak = None;
        let mut notices = Vec::new();
        for webhook in &exchange.counted {
            if let Some(signal) = health.count(webhook, &attempt) {
                notices.push(command::streak_line(
                    wall_clock_ms(),
                    signal.code(),
                    &signal.message(webhook),
                    colour,
                ));
            }
            streak = health.tally(webhook).map(|t| t.streak);
        }
        let line = command::listen_line(
            wall_clock_ms(),
            &request.method,
            &request.path,
            act.as_ref(),
            &answer,
            streak,
            colour,
        );
        print(&line)?;
        for notice in notices {
            print(&notice)?;
        }
        if last {
            reply.finish(respond(&answer, delay));
            break;
        }
        reply.send(respond(&answer, delay));
    }
    Ok(())
}
