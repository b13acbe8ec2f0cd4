//! `clhooks dead-letters`: the core's commands sent to Redis, its replies read, the core's text
//! printed.

use std::time::Duration;

use clhooks_args::{DeadLetterAction, DeadLetters};
use clhooks_command::dead::{self, DeadLetter};
use clhooks_command::Failure;
use redis::Value;

use crate::cli::printed;

/// How long to wait for Redis: to connect, and for each answer.
const WAIT: Duration = Duration::from_secs(5);

fn bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::BulkString(bytes) => bytes.clone(),
        Value::SimpleString(text) => text.clone().into_bytes(),
        Value::Int(n) => n.to_string().into_bytes(),
        _ => Vec::new(),
    }
}

fn items(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        _ => &[],
    }
}

/// An `XRANGE` reply's entries.
fn letters(reply: &Value) -> Vec<DeadLetter> {
    items(reply)
        .iter()
        .filter_map(|entry| match items(entry) {
            [id, fields] => Some(DeadLetter {
                id: String::from_utf8_lossy(&bytes(id)).into_owned(),
                fields: items(fields)
                    .chunks_exact(2)
                    .filter_map(|pair| match pair {
                        [name, value] => Some((bytes(name), bytes(value))),
                        _ => None,
                    })
                    .collect(),
            }),
            _ => None,
        })
        .collect()
}

pub fn run(args: DeadLetters) -> Result<(), Failure> {
    let url = dead::redis_url(args.redis.as_deref(), std::env::var(dead::REDIS_ENV).ok().as_deref())?;
    // What was given is checked before Redis is asked anything.
    let named = match &args.action {
        DeadLetterAction::List { after, .. } => dead::check_ids(after.as_deref()).map(|()| None)?,
        DeadLetterAction::Show { id } => dead::check_ids([id.as_str()]).map(|()| None)?,
        DeadLetterAction::Replay { ids, all } => dead::replay_ids(ids.clone(), *all)?,
    };
    let failed = |e: redis::RedisError| dead::unavailable(&url, &e.to_string());
    let client = redis::Client::open(url.as_str()).map_err(failed)?;
    let mut connection = client.get_connection_with_timeout(WAIT).map_err(failed)?;
    connection.set_read_timeout(Some(WAIT)).map_err(failed)?;
    let mut send = |args: Vec<Vec<u8>>| -> Result<Value, Failure> {
        let mut command = redis::Cmd::new();
        for arg in args {
            command.arg(arg);
        }
        command.query(&mut connection).map_err(failed)
    };
    let queue = dead::queue(&args.stream);
    match args.action {
        DeadLetterAction::List { count, after } => {
            let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
            let reply = send(queue.dead_letters(&start, usize::try_from(count).unwrap_or(usize::MAX)))?;
            printed(dead::list(&args.stream, &letters(&reply)))
        }
        DeadLetterAction::Show { id } => {
            let mut command = queue.dead_letters(&id, 1);
            // From the id to the id: the entry, or nothing.
            if let Some(end) = command.get_mut(3) {
                *end = id.clone().into_bytes();
            }
            let found = letters(&send(command)?).into_iter().next();
            printed(dead::show(&args.stream, &id, found.as_ref()))
        }
        DeadLetterAction::Replay { .. } => {
            let mut moved = 0;
            let replay = |send: &mut dyn FnMut(Vec<Vec<u8>>) -> Result<Value, Failure>, batch: &[String]| {
                let Value::Int(n) = send(queue.replay(batch.iter().map(String::as_str)))? else {
                    return Err(dead::unavailable(
                        &url,
                        "the replay script answered something else than a count",
                    ));
                };
                Ok::<u64, Failure>(u64::try_from(n).unwrap_or(0))
            };
            if let Some(ids) = &named {
                for batch in ids.chunks(clhooks::handoff::REPLAY_BATCH) {
                    moved += replay(&mut send, batch)?;
                }
            } else if let Some(last) =
                letters(&send(queue.newest_dead_letter())?).into_iter().next().map(|l| l.id)
            {
                // All: up to the newest when the replay began, page after page, so that dead
                // letters that come back meanwhile (a worker running) do not make it endless.
                let mut after: Option<String> = None;
                loop {
                    let page: Vec<String> =
                        letters(&send(queue.dead_letters_up_to(after.as_deref(), &last))?)
                            .into_iter()
                            .map(|letter| letter.id)
                            .collect();
                    let Some(end) = page.last().cloned() else { break };
                    moved += replay(&mut send, &page)?;
                    after = Some(end);
                }
            }
            printed(dead::replayed(&args.stream, moved, named.as_ref().map(Vec::len)))
        }
    }
}
