//! The queue on Redis Streams, sans IO: the commands a driver sends and what their replies
//! mean. The npm package's `clhooks/redis` sends the same scripts with the same arguments.

use super::{Outcome, Record};
use crate::store::RedisProtocol;

/// The enqueue script: `EVAL ENQUEUE_SCRIPT 2 seen-key stream keep_ms field value ...` answers
/// `fresh` (queued now), `duplicate` or `in_flight`.
pub const ENQUEUE_SCRIPT: &str = include_str!("enqueue.lua");

/// The take script: `EVAL TAKE_SCRIPT 2 stream delayed group consumer reclaim_idle_ms count`:
/// due retries back on the stream, then the messages a dead worker held, reclaimed.
pub const TAKE_SCRIPT: &str = include_str!("take.lua");

/// The heartbeat script: `EVAL EXTEND_SCRIPT 1 stream group consumer id` answers 1 while the
/// message is the consumer's, 0 otherwise.
pub const EXTEND_SCRIPT: &str = include_str!("extend.lua");

/// The settle script: `EVAL SETTLE_SCRIPT 4 stream delayed dead seen-key group consumer id
/// outcome value attempts error` answers 1, or 0 when the message is not the consumer's.
pub const SETTLE_SCRIPT: &str = include_str!("settle.lua");

/// The replay script: `EVAL REPLAY_SCRIPT 2 stream dead id ...` moves those dead letters back to
/// the stream, their attempts counted afresh, and answers how many.
pub const REPLAY_SCRIPT: &str = include_str!("replay.lua");

/// How many dead letters one replay script moves at most (a longer list is moved in turns).
pub const REPLAY_BATCH: usize = 100;

/// The stream the receivers write by default.
pub const DEFAULT_STREAM: &str = "clhooks:queue";

/// The consumer group the workers read in by default.
pub const DEFAULT_GROUP: &str = "clhooks";

/// The most a dead letter keeps of an error's message, in bytes.
pub const DEAD_ERROR_BYTES: usize = 1_024;

/// One queue on Redis Streams: its stream, the consumer group of its workers, and the seen keys
/// it claims and records (the same keys as the seen-store's, [`RedisProtocol`], so receivers
/// that run handlers inline and receivers that hand off can share one Redis).
///
/// Keys: the stream (`clhooks:queue`), its delayed retries (`<stream>:delayed`, a sorted set)
/// and its dead letters (`<stream>:dead`, a stream). On Redis Cluster, give the stream and
/// the seen prefix one hash tag (`{hooks}:queue`, `{hooks}:seen:`), as every script names
/// its keys. Needs Redis 6.2 or later (`XAUTOCLAIM`), or Valkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisQueue {
    stream: String,
    group: String,
    seen: RedisProtocol,
}

impl Default for RedisQueue {
    fn default() -> Self {
        RedisQueue::new(DEFAULT_STREAM, DEFAULT_GROUP, crate::store::DEFAULT_PREFIX)
    }
}

/// A command: its arguments as bytes (a record's body is any bytes).
pub type Command = Vec<Vec<u8>>;

fn command<'a>(args: impl IntoIterator<Item = &'a [u8]>) -> Command {
    args.into_iter().map(<[u8]>::to_vec).collect()
}

impl RedisQueue {
    /// The queue on `stream`, read by the workers of `group`, with its seen keys under `prefix`.
    #[must_use]
    pub fn new(stream: &str, group: &str, prefix: &str) -> RedisQueue {
        RedisQueue { stream: stream.to_owned(), group: group.to_owned(), seen: RedisProtocol::new(prefix) }
    }

    /// The prefix of the seen keys (and of the failure streaks kept beside them).
    #[must_use]
    pub fn prefix(&self) -> &str {
        self.seen.prefix()
    }

    /// The stream.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The consumer group.
    #[must_use]
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The sorted set of delayed retries.
    #[must_use]
    pub fn delayed(&self) -> String {
        format!("{}:delayed", self.stream)
    }

    /// The stream of dead letters.
    #[must_use]
    pub fn dead(&self) -> String {
        format!("{}:dead", self.stream)
    }

    /// Writes `record`: with `claim_keep_ms`, the enqueue script, which claims its key for that
    /// long in the same step ([`RedisQueue::enqueue_reply`]); without, a plain `XADD`.
    #[must_use]
    pub fn enqueue(&self, record: &Record, claim_keep_ms: Option<u64>) -> Command {
        let head = record.head();
        let mut out: Command = match claim_keep_ms {
            Some(keep_ms) => {
                let key = self.seen.key(&record.key);
                let keep = keep_ms.max(1).to_string();
                let args = [b"EVAL".as_slice(), ENQUEUE_SCRIPT.as_bytes(), b"2", key.as_bytes()];
                let mut out = command(args);
                out.extend([self.stream.as_bytes().to_vec(), keep.into_bytes()]);
                out
            }
            None => command([b"XADD".as_slice(), self.stream.as_bytes(), b"*"]),
        };
        for (name, value) in head {
            out.push(name.as_bytes().to_vec());
            out.push(value.into_bytes());
        }
        out.push(b"body".to_vec());
        out.push(record.body.clone());
        out
    }

    /// What the enqueue script's reply means (a plain `XADD`'s, an entry id, is
    /// [`Claim::Fresh`](crate::Claim)).
    ///
    /// # Errors
    ///
    /// [`crate::Error::StoreUnavailable`] for another reply.
    pub fn enqueue_reply(reply: &str) -> crate::Result<crate::Claim> {
        RedisProtocol::claim_reply(reply)
    }

    /// The take script for `consumer`: due retries back on the stream, then up to `count`
    /// messages idle `reclaim_idle_ms` reclaimed. Its reply lists `[id, times handed out,
    /// [field, value, ...]]`.
    #[must_use]
    pub fn take(&self, consumer: &str, count: u32, reclaim_idle_ms: u64) -> Command {
        let (delayed, idle, count) = (self.delayed(), reclaim_idle_ms.to_string(), count.max(1).to_string());
        command([
            b"EVAL".as_slice(),
            TAKE_SCRIPT.as_bytes(),
            b"2",
            self.stream.as_bytes(),
            delayed.as_bytes(),
            self.group.as_bytes(),
            consumer.as_bytes(),
            idle.as_bytes(),
            count.as_bytes(),
        ])
    }

    /// `XREADGROUP` of up to `count` new messages for `consumer`, waiting up to `block_ms` for
    /// one when given (on a connection of its own: a blocking read holds it). Each is handed out
    /// for the first time.
    #[must_use]
    pub fn read(&self, consumer: &str, count: u32, block_ms: Option<u64>) -> Command {
        let count = count.max(1).to_string();
        let mut out =
            command([b"XREADGROUP".as_slice(), b"GROUP", self.group.as_bytes(), consumer.as_bytes()]);
        out.extend([b"COUNT".to_vec(), count.into_bytes()]);
        if let Some(ms) = block_ms {
            out.extend([b"BLOCK".to_vec(), ms.to_string().into_bytes()]);
        }
        out.extend([b"STREAMS".to_vec(), self.stream.as_bytes().to_vec(), b">".to_vec()]);
        out
    }

    /// The heartbeat of `consumer` for entry `id`: 1 while it is the consumer's.
    #[must_use]
    pub fn extend(&self, consumer: &str, id: &str) -> Command {
        command([
            b"EVAL".as_slice(),
            EXTEND_SCRIPT.as_bytes(),
            b"1",
            self.stream.as_bytes(),
            self.group.as_bytes(),
            consumer.as_bytes(),
            id.as_bytes(),
        ])
    }

    /// Settles entry `id` of `consumer`, whose record's key is `key`, as `outcome` says; `error`
    /// is the last failure's message for a dead letter (cut to [`DEAD_ERROR_BYTES`]). 1, or 0
    /// when the entry is not the consumer's any more.
    #[must_use]
    pub fn settle(&self, consumer: &str, id: &str, key: &str, outcome: Outcome, error: &str) -> Command {
        let seen = if key.is_empty() { String::new() } else { self.seen.key(key) };
        let (word, value, attempts) = match outcome {
            Outcome::Done { keep_ms } => ("done", keep_ms.max(1).to_string(), String::new()),
            Outcome::Retry { attempts, delay_ms } => ("retry", delay_ms.to_string(), attempts.to_string()),
            Outcome::Dead { attempts, reason } => ("dead", reason.code().to_owned(), attempts.to_string()),
            Outcome::Release => ("release", String::new(), String::new()),
        };
        let error = if matches!(outcome, Outcome::Dead { .. }) { cut(error, DEAD_ERROR_BYTES) } else { "" };
        let (delayed, dead) = (self.delayed(), self.dead());
        command([
            b"EVAL".as_slice(),
            SETTLE_SCRIPT.as_bytes(),
            b"4",
            self.stream.as_bytes(),
            delayed.as_bytes(),
            dead.as_bytes(),
            seen.as_bytes(),
            self.group.as_bytes(),
            consumer.as_bytes(),
            id.as_bytes(),
            word.as_bytes(),
            value.as_bytes(),
            attempts.as_bytes(),
            error.as_bytes(),
        ])
    }
}

impl RedisQueue {
    /// `XRANGE` of up to `count` dead letters from `start` (`-`: the oldest; `(ID`: after ID).
    /// Each entry's fields are a record's, then `reason`, `error` and `failed` (ms since the
    /// Unix epoch).
    #[must_use]
    pub fn dead_letters(&self, start: &str, count: usize) -> Command {
        let dead = self.dead();
        let count = count.to_string();
        command([b"XRANGE".as_slice(), dead.as_bytes(), start.as_bytes(), b"+", b"COUNT", count.as_bytes()])
    }

    /// The newest dead letter (`XREVRANGE`): replaying all of them goes up to it and no further,
    /// so dead letters that come back meanwhile (a worker running) do not make it endless.
    #[must_use]
    pub fn newest_dead_letter(&self) -> Command {
        let dead = self.dead();
        command([b"XREVRANGE".as_slice(), dead.as_bytes(), b"+", b"-", b"COUNT", b"1"])
    }

    /// `XRANGE` of the next page of dead letters to replay: from `after` (none: the oldest) up
    /// to `last` (the newest when the replay began), [`REPLAY_BATCH`] at most.
    #[must_use]
    pub fn dead_letters_up_to(&self, after: Option<&str>, last: &str) -> Command {
        let dead = self.dead();
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let count = REPLAY_BATCH.to_string();
        command([
            b"XRANGE".as_slice(),
            dead.as_bytes(),
            start.as_bytes(),
            last.as_bytes(),
            b"COUNT",
            count.as_bytes(),
        ])
    }

    /// The replay script for `ids` (at most [`REPLAY_BATCH`] of them are taken).
    #[must_use]
    pub fn replay<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Command {
        let dead = self.dead();
        let mut out = command([
            b"EVAL".as_slice(),
            REPLAY_SCRIPT.as_bytes(),
            b"2",
            self.stream.as_bytes(),
            dead.as_bytes(),
        ]);
        out.extend(ids.into_iter().take(REPLAY_BATCH).map(|id| id.as_bytes().to_vec()));
        out
    }
}

/// Whether `id` is a stream entry's id (`MS-SEQ`, both decimal).
#[must_use]
pub fn is_entry_id(id: &str) -> bool {
    let mut parts = id.split('-');
    let digits = |part: Option<&str>| {
        part.is_some_and(|p| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}
