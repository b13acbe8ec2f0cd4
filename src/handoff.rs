//! Handoff: a receiver answers Commerce Layer as soon as a durable queue holds a delivery, and
//! workers run the handlers afterwards, retrying with a backoff and moving what keeps failing
//! to the dead letters.
//!
//! Everything decided is here, sans IO: the queued [`Record`] (versioned, language-neutral, so
//! a worker in one language runs what a receiver in another queued), the [`Worker`] machine
//! (what to take, run, keep, acknowledge, retry, dead-letter or hand back, and when), and the
//! Redis Streams protocol ([`RedisQueue`]: the commands and the Lua scripts the npm package's
//! `clhooks/redis` and the `clhooks-redis` crate send). The receiving side is a step of the
//! delivery's [`Session`](crate::receiver::Session) ([`crate::receiver::Handoff`]).
//!
//! A queue engine implements four operations, which are all a driver calls:
//! - `enqueue(record, claim)`: write the record durably; with a claim, claim the idempotency
//!   key in the same atomic step ([`crate::receiver::Action::Enqueue`]);
//! - `take(count, block_ms, reclaim_idle_ms)`: up to `count` messages: retries whose delay has
//!   passed, messages a dead worker held for `reclaim_idle_ms`, then new ones, waiting up to
//!   `block_ms` for one;
//! - `extend(message)`: the worker still holds it (a heartbeat: no other worker reclaims it);
//! - `settle(message, outcome)`: done (the key recorded as handled), retry later, dead letter,
//!   or handed back, each only while the message is still this worker's.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;

use crate::error::Error;
use crate::receiver::{Claim, DEFAULT_KEEP_MS};

mod redis;
pub use redis::{
    is_entry_id, Command, RedisQueue, DEAD_ERROR_BYTES, DEFAULT_GROUP, DEFAULT_STREAM, ENQUEUE_SCRIPT,
    EXTEND_SCRIPT, REPLAY_BATCH, REPLAY_SCRIPT, SETTLE_SCRIPT, TAKE_SCRIPT,
};

/// The version of the [`Record`] this crate writes and reads.
pub const RECORD_VERSION: &str = "1";

/// One queued delivery: what a worker needs to verify it again and run it. Its fields, in the
/// order they are written ([`Record::FIELDS`]):
///
/// | field | value |
/// |---|---|
/// | `v` | `1`, the record's version: a reader refuses any other |
/// | `key` | the delivery's idempotency key |
/// | `topic` | the `X-CommerceLayer-Topic` header |
/// | `sig` | the `X-CommerceLayer-Signature` header |
/// | `rcv` | when the receiver got it, ms since the Unix epoch, in decimal |
/// | `attempt` | how many runs of it failed or were abandoned before this copy, in decimal |
/// | `body` | the request's body, byte for byte |
///
/// On Redis each is a field of the stream entry (values are bytes, so the body is kept
/// exactly). A reader ignores fields it does not know, so a later minor version may add some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The delivery's idempotency key.
    pub key: String,
    /// The topic header.
    pub topic: String,
    /// The signature header.
    pub signature: String,
    /// When the receiver got the delivery, ms since the Unix epoch.
    pub received_ms: u64,
    /// How many runs failed or were abandoned before this copy.
    pub attempts: u32,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Record {
    /// The fields' names, in the order they are written.
    pub const FIELDS: [&'static str; 7] = ["v", "key", "topic", "sig", "rcv", "attempt", "body"];

    /// The fields before the body, as `(name, value)`: the body is written last, as it is.
    #[must_use]
    pub fn head(&self) -> [(&'static str, String); 6] {
        [
            ("v", RECORD_VERSION.to_owned()),
            ("key", self.key.clone()),
            ("topic", self.topic.clone()),
            ("sig", self.signature.clone()),
            ("rcv", self.received_ms.to_string()),
            ("attempt", self.attempts.to_string()),
        ]
    }

    /// The key a worker claims a run of this record's delivery under ([`WorkerAction::ClaimRun`]):
    /// apart from the key the receiver claimed the delivery under.
    #[must_use]
    pub fn run_key(&self) -> String {
        run_key(&self.key)
    }

    /// A record from its fields, in any order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRecord`]: another version, a field missing or not what it should be.
    pub fn from_fields<'a, I, N, V>(fields: I) -> crate::Result<Record>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]> + 'a,
        V: AsRef<[u8]> + 'a,
    {
        let invalid = |reason: String| Error::InvalidRecord { reason };
        let text = |name: &str, value: &[u8]| {
            String::from_utf8(value.to_vec()).map_err(|_| invalid(format!("`{name}` is not UTF-8")))
        };
        let (mut version, mut key, mut topic, mut signature, mut received, mut attempts, mut body) =
            (None, None, None, None, None, None, None);
        for (name, value) in fields {
            let value = value.as_ref();
            match name.as_ref() {
                b"v" => version = Some(text("v", value)?),
                b"key" => key = Some(text("key", value)?),
                b"topic" => topic = Some(text("topic", value)?),
                b"sig" => signature = Some(text("sig", value)?),
                b"rcv" => received = Some(number(text("rcv", value)?, "rcv")?),
                b"attempt" => {
                    let n = number(text("attempt", value)?, "attempt")?;
                    attempts = Some(u32::try_from(n).map_err(|_| invalid("`attempt` is too large".into()))?);
                }
                b"body" => body = Some(value.to_vec()),
                _ => {}
            }
        }
        match version.as_deref() {
            Some(RECORD_VERSION) => {}
            Some(other) => {
                return Err(invalid(format!("version {other:?}; this reader knows {RECORD_VERSION}")))
            }
            None => return Err(invalid("no version (`v`): not a clhooks record".into())),
        }
        let missing = |name: &str| invalid(format!("no `{name}`"));
        Ok(Record {
            key: key.ok_or_else(|| missing("key"))?,
            topic: topic.ok_or_else(|| missing("topic"))?,
            signature: signature.ok_or_else(|| missing("sig"))?,
            received_ms: received.ok_or_else(|| missing("rcv"))?,
            attempts: attempts.ok_or_else(|| missing("attempt"))?,
            body: body.ok_or_else(|| missing("body"))?,
        })
    }
}

/// The most bytes of one Cloudflare Queues message clhooks writes (127,000): Cloudflare's limit
/// is 128 KB (128,000 bytes), with its own metadata counted in it. A record over it is refused
/// ([`Error::RecordTooLarge`]), not stored elsewhere by reference: that would be a second write
/// that can fail or be orphaned, and a second binding to set up, for payloads Commerce Layer
/// rarely sends (its deliveries are tens of KB); the Redis queue has no such limit.
pub const CLOUDFLARE_MESSAGE_LIMIT: usize = 127_000;

impl Record {
    /// The record as one message's bytes, for a queue that carries bytes (Cloudflare Queues):
    /// its head as a JSON object of strings (`v`, `key`, `topic`, `sig`, `rcv`, `attempt`), a
    /// newline, then the body byte for byte (no base64: the body keeps its size).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut head = String::from("{");
        for (i, (name, value)) in self.head().iter().enumerate() {
            if i > 0 {
                head.push(',');
            }
            crate::receiver::push_json_string(&mut head, name);
            head.push(':');
            crate::receiver::push_json_string(&mut head, value);
        }
        head.push_str("}\n");
        let mut out = Vec::with_capacity(head.len().saturating_add(self.body.len()));
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// [`Record::encode`], refused over `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::RecordTooLarge`].
    pub fn encode_within(&self, limit: usize) -> crate::Result<Vec<u8>> {
        let bytes = self.encode();
        if bytes.len() > limit {
            return Err(Error::RecordTooLarge { size: bytes.len(), limit });
        }
        Ok(bytes)
    }

    /// A record from [`Record::encode`]'s bytes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRecord`].
    pub fn decode(bytes: &[u8]) -> crate::Result<Record> {
        let invalid = |reason: &str| Error::InvalidRecord { reason: reason.to_owned() };
        let end = bytes.iter().position(|b| *b == b'\n').ok_or_else(|| invalid("no head line"))?;
        let (head, rest) = bytes.split_at(end);
        // The head's fields as strings (a struct, not a map of JSON values: less code in a module
        // that loads this); one missing is told by `from_fields`, as for any record.
        #[derive(serde::Deserialize)]
        struct Head {
            v: Option<String>,
            key: Option<String>,
            topic: Option<String>,
            sig: Option<String>,
            rcv: Option<String>,
            attempt: Option<String>,
        }
        let head: Head = serde_json::from_slice(head)
            .map_err(|e| invalid(&format!("its head is not a JSON object of strings: {e}")))?;
        let mut pairs: Vec<(&[u8], Vec<u8>)> = Vec::with_capacity(7);
        for (name, value) in [
            ("v", head.v),
            ("key", head.key),
            ("topic", head.topic),
            ("sig", head.sig),
            ("rcv", head.rcv),
            ("attempt", head.attempt),
        ] {
            if let Some(value) = value {
                pairs.push((name.as_bytes(), value.into_bytes()));
            }
        }
        pairs.push((b"body", rest.get(1..).unwrap_or_default().to_vec()));
        Record::from_fields(pairs)
    }
}

/// The run key of a delivery's key: see [`Record::run_key`].
#[must_use]
pub fn run_key(key: &str) -> String {
    format!("run:{key}")
}

fn number(text: String, name: &str) -> crate::Result<u64> {
    // Decimal digits only: no sign, no spaces, no exponent.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidRecord { reason: format!("`{name}` is not a whole number: {text:?}") });
    }
    text.parse().map_err(|_| Error::InvalidRecord { reason: format!("`{name}` is too large") })
}

/// A queue's answer, boxed, so that [`Queue`] can stand behind an `Arc<dyn Queue>`.
pub type QueueFuture<'a, T> = Pin<Box<dyn Future<Output = crate::Result<T>> + Send + 'a>>;

/// A message a queue handed a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id in the queue.
    pub id: String,
    /// How many times the queue handed it out, this time included.
    pub deliveries: u32,
    /// Its record's fields as stored, `(name, value)` ([`Record::from_fields`] reads them).
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// The worker holding it.
    pub consumer: String,
}

/// A durable queue, for async Rust: what a receiver in handoff mode writes to
/// ([`Action::Enqueue`](crate::receiver::Action::Enqueue)) and a worker takes from (its
/// [`WorkerAction`]s). It stores and hands out records; every decision is the callers'.
/// `clhooks_redis::RedisQueue` is one on Redis Streams.
pub trait Queue: Send + Sync {
    /// Whether [`Queue::enqueue`] can claim the record's key in the same atomic step.
    fn claims(&self) -> bool;

    /// Stores `record` durably. With `claim_keep_ms` (only for a queue that [`Queue::claims`]),
    /// claims its key for that long in the same step and says what it found
    /// ([`Claim::Fresh`]: queued now); otherwise [`Claim::Fresh`].
    fn enqueue<'a>(&'a self, record: &'a Record, claim_keep_ms: Option<u64>) -> QueueFuture<'a, Claim>;

    /// Up to `count` messages for `consumer`: due retries, messages idle `reclaim_idle_ms` (a
    /// dead worker's), then new ones, waiting up to `block_ms` for one
    /// ([`WorkerAction::Take`]).
    fn take<'a>(
        &'a self,
        consumer: &'a str,
        count: u32,
        block_ms: u64,
        reclaim_idle_ms: u64,
    ) -> QueueFuture<'a, Vec<Message>>;

    /// Resets the message's idle time (a heartbeat); `false` when another worker took it over.
    fn extend<'a>(&'a self, message: &'a Message) -> QueueFuture<'a, bool>;

    /// Settles the message as `outcome` says, only while it is still its worker's (`false`
    /// otherwise); `error` is the last failure's message, kept with a dead letter.
    fn settle<'a>(&'a self, message: &'a Message, outcome: Outcome, error: &'a str) -> QueueFuture<'a, bool>;

    /// The worker `consumer` stopped: free what it used (a connection). Nothing by default.
    fn leave<'a>(&'a self, consumer: &'a str) -> QueueFuture<'a, ()> {
        let _ = consumer;
        Box::pin(async { Ok(()) })
    }

    /// How a worker's metrics and logs name this queue ([`Messaging`]); none by default.
    fn messaging(&self) -> Messaging {
        Vec::new()
    }

    /// Counts an attempt in a webhook's failure streak where every instance sees it, as
    /// [`AsyncSeenStore::count`](crate::receiver::AsyncSeenStore::count) does: for a receiver
    /// whose queue claims the keys (so has no seen-store of its own). `None` (the default) for
    /// a queue that keeps no counters.
    ///
    /// # Errors
    ///
    /// The queue's: the answer was given already, and stands.
    fn count<'a>(
        &'a self,
        webhook: &'a crate::health::Webhook,
        attempt: &'a crate::health::Attempt,
    ) -> Option<QueueFuture<'a, (Option<crate::health::Signal>, u32)>> {
        let _ = (webhook, attempt);
        None
    }

    /// Every webhook's counters where the queue keeps them ([`Queue::count`]).
    ///
    /// # Errors
    ///
    /// The queue's.
    fn tallies(&self) -> Option<QueueFuture<'_, Vec<(crate::health::Webhook, crate::health::Tally)>>> {
        None
    }
}

/// How many times a delivery runs before it goes to the dead letters by default (10): with the
/// default backoff the retries span about 42 minutes, long enough for a short outage of a
/// service the handlers call, or a fix deployed, to heal by itself; past that a person should
/// look, and the dead letters keep the event for them to replay.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// The delay before the first retry by default (5 s); each next one doubles it.
pub const DEFAULT_RETRY_MS: u64 = 5_000;

/// The longest delay between two runs by default (1 h).
pub const DEFAULT_RETRY_CAP_MS: u64 = 3_600_000;

/// How long a message may go without its worker's heartbeat before another worker reclaims it
/// by default (60 s): a worker's heartbeat comes every third of it, so only a worker that is
/// gone (killed, frozen, cut off) loses its messages, and they run again within about a minute.
pub const DEFAULT_RECLAIM_IDLE_MS: u64 = 60_000;

/// How many messages a worker runs at once by default (16).
pub const DEFAULT_CONCURRENCY: u32 = 16;

/// How long a worker's read waits for a new message by default (2 s): also how often an idle
/// worker looks for due retries and messages to reclaim, and how long `stop` waits for a read.
pub const DEFAULT_BLOCK_MS: u64 = 2_000;

/// How long a worker's handlers may run on one message by default (15 min, a Cloudflare Queues
/// consumer's limit); past it the run counts as failed, and the message is retried.
pub const DEFAULT_WORKER_TIMEOUT_MS: u64 = 900_000;

/// How long a worker waits for its queue by default (5 s past a read's block time): a queue that
/// says nothing by then, its client stuck or the network cut, is counted as failed, so that a
/// worker never waits for ever.
pub const DEFAULT_QUEUE_TIMEOUT_MS: u64 = 5_000;

/// How long a worker's `stop` lets what runs finish by default (30 s) before it hands it back:
/// most handlers end well within it, and a process manager's own grace (Kubernetes' is 30 s) is
/// rarely longer.
pub const DEFAULT_STOP_GRACE_MS: u64 = 30_000;

/// What a [`Worker`] does: its attempts, backoff, heartbeat and pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Runs of a message before it goes to the dead letters (at least 1).
    pub max_attempts: u32,
    /// The delay before the first retry, doubled for each next one.
    pub retry_ms: u64,
    /// The longest delay.
    pub retry_cap_ms: u64,
    /// How long a message may go without a heartbeat before another worker reclaims it.
    pub reclaim_idle_ms: u64,
    /// How many messages run at once (at least 1).
    pub concurrency: u32,
    /// How long a read waits for a new message.
    pub block_ms: u64,
    /// How long the handlers may run on one message; 0: no limit.
    pub handler_timeout_ms: u64,
    /// How long the worker waits for the queue (past a read's block time) before it counts the
    /// call as failed.
    pub queue_timeout_ms: u64,
    /// How long a handled key is kept (the receivers' [`Terms::keep_ms`](crate::Terms)).
    pub keep_ms: u64,
    /// Whether each message's run is claimed in a seen-store first ([`WorkerAction::ClaimRun`]):
    /// for a queue that may hold one delivery twice (Cloudflare Queues, a queue of your own),
    /// so that its handlers succeed once. Off for the Redis queue, whose claim and write are one
    /// step.
    pub claim_runs: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            retry_ms: DEFAULT_RETRY_MS,
            retry_cap_ms: DEFAULT_RETRY_CAP_MS,
            reclaim_idle_ms: DEFAULT_RECLAIM_IDLE_MS,
            concurrency: DEFAULT_CONCURRENCY,
            block_ms: DEFAULT_BLOCK_MS,
            handler_timeout_ms: DEFAULT_WORKER_TIMEOUT_MS,
            queue_timeout_ms: DEFAULT_QUEUE_TIMEOUT_MS,
            keep_ms: DEFAULT_KEEP_MS,
            claim_runs: false,
        }
    }
}

impl WorkerConfig {
    /// Whether the settings make sense: at least one attempt and one message at once, a reclaim
    /// idle time of at least 3 ms (a heartbeat comes every third of it), a handler timeout
    /// shorter than it is not needed (the heartbeat covers a running handler).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidWorker`], saying which.
    pub fn check(&self) -> crate::Result<()> {
        let invalid = |reason: &str| Err(Error::InvalidWorker { reason: reason.to_owned() });
        if self.max_attempts == 0 {
            return invalid("maxAttempts must be at least 1");
        }
        if self.concurrency == 0 {
            return invalid("concurrency must be at least 1");
        }
        if self.reclaim_idle_ms < 3 {
            return invalid("reclaimIdleMs must be at least 3 (a heartbeat comes every third of it)");
        }
        if self.keep_ms == 0 {
            return invalid("keepMs must be more than 0");
        }
        if self.queue_timeout_ms == 0 {
            return invalid("queueTimeoutMs must be more than 0");
        }
        Ok(())
    }

    /// What a run's claim asks of the seen-store ([`WorkerAction::ClaimRun`]): a lease past
    /// the handler timeout and the queue's wait (so a live run keeps it; a dead worker's frees
    /// itself), the keep time, and the queue's wait.
    #[must_use]
    pub fn run_terms(&self) -> crate::Terms {
        let busy = match self.handler_timeout_ms {
            0 => crate::receiver::UNBOUNDED_LEASE_MS,
            ms => ms.saturating_add(self.queue_timeout_ms).saturating_add(crate::receiver::LEASE_MARGIN_MS),
        };
        crate::Terms { lease_ms: busy, keep_ms: self.keep_ms, wait_ms: self.queue_timeout_ms }
    }

    /// How often a running message's worker says it still holds it: a third of the reclaim idle
    /// time, so two heartbeats can be late before it is reclaimed.
    #[must_use]
    pub fn heartbeat_ms(&self) -> u64 {
        (self.reclaim_idle_ms / 3).max(1)
    }

    /// The delay after the `attempt`-th run failed: [`WorkerConfig::retry_ms`] doubled for each
    /// run before it, at most [`WorkerConfig::retry_cap_ms`].
    #[must_use]
    pub fn retry_delay_ms(&self, attempt: u32) -> u64 {
        let doublings = attempt.saturating_sub(1).min(63);
        self.retry_ms.saturating_mul(1u64 << doublings).min(self.retry_cap_ms)
    }
}

/// Why a message went to the dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadReason {
    /// Its handlers failed on its last attempt.
    HandlerFailed,
    /// Its signature does not verify with any secret the worker has (a secret rotated away, or
    /// a message nobody signed).
    Unverified,
    /// Its record cannot be read (another version, a field missing).
    InvalidRecord,
    /// Workers stopped while holding it as many times as it may run (a handler that kills
    /// its process).
    Abandoned,
}

impl DeadReason {
    /// Why a record the receiver's checks refused (answered `status`) cannot run: its signature
    /// does not verify (401), or it is no delivery this receiver reads (anything else).
    #[must_use]
    pub fn of_refusal(status: u16) -> DeadReason {
        if status == 401 {
            DeadReason::Unverified
        } else {
            DeadReason::InvalidRecord
        }
    }

    /// `handler_failed`, `unverified`, `invalid_record` or `abandoned`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            DeadReason::HandlerFailed => "handler_failed",
            DeadReason::Unverified => "unverified",
            DeadReason::InvalidRecord => "invalid_record",
            DeadReason::Abandoned => "abandoned",
        }
    }
}

/// How a worker settles a message it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its handlers succeeded: acknowledged and removed, its key recorded as handled for
    /// `keep_ms`.
    Done {
        /// How long the key is kept.
        keep_ms: u64,
    },
    /// Run again after `delay_ms`, its record saying `attempts` runs failed.
    Retry {
        /// The record's new attempt count.
        attempts: u32,
        /// The delay.
        delay_ms: u64,
    },
    /// Moved to the dead letters, with why, after `attempts` runs.
    Dead {
        /// The record's attempt count.
        attempts: u32,
        /// Why.
        reason: DeadReason,
    },
    /// Handed back to the queue as it was, for another worker (this one stops).
    Release,
}

impl Outcome {
    /// Its name: `done`, `retry`, `dead` or `release` (the package's `type`, the metrics'
    /// `clhooks.outcome`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Done { .. } => "done",
            Outcome::Retry { .. } => "retry",
            Outcome::Dead { .. } => "dead",
            Outcome::Release => "release",
        }
    }
}

/// How metrics and logs name a queue: OpenTelemetry's messaging attributes
/// (`messaging.system`, `messaging.destination.name`, `messaging.consumer.group.name`), as
/// [`Queue::messaging`] gives them.
pub type Messaging = Vec<(&'static str, String)>;

/// What a [`Worker`] has its caller tell the error handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerNotice {
    /// A run's handler failed (its error is told); the message is retried or dead-lettered.
    HandlerFailed,
    /// A run's handlers outlived the worker's handler timeout: counted as failed.
    HandlerTimeout,
    /// A message went to the dead letters.
    DeadLettered,
    /// The queue could not be read (told once until a read succeeds); the worker tries again
    /// after its block time.
    TakeFailed,
    /// The queue could not settle a message: it stays pending, and is reclaimed and run again.
    SettleFailed,
    /// The seen-store could not claim a message's run: it is retried after a backoff.
    StoreFailed,
    /// The queue could not renew a message its handlers are running (a heartbeat failed).
    ExtendFailed,
}

impl WorkerNotice {
    /// Every notice, in a fixed order.
    pub const ALL: [WorkerNotice; 7] = [
        WorkerNotice::HandlerFailed,
        WorkerNotice::HandlerTimeout,
        WorkerNotice::DeadLettered,
        WorkerNotice::TakeFailed,
        WorkerNotice::SettleFailed,
        WorkerNotice::StoreFailed,
        WorkerNotice::ExtendFailed,
    ];

    /// `handler_failed`, `handler_timeout`, `dead_lettered`, `queue_unavailable` (both the
    /// queue's failures), `store_unavailable`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            WorkerNotice::HandlerFailed => "handler_failed",
            WorkerNotice::HandlerTimeout => "handler_timeout",
            WorkerNotice::DeadLettered => "dead_lettered",
            WorkerNotice::TakeFailed | WorkerNotice::SettleFailed => "queue_unavailable",
            WorkerNotice::StoreFailed => "store_unavailable",
            WorkerNotice::ExtendFailed => "queue_unavailable",
        }
    }

    /// What the error handler is told (the caller adds its error's message where it has one).
    #[must_use]
    pub fn message(&self) -> &'static str {
        match self {
            WorkerNotice::HandlerFailed => "a handler failed; the message is retried after a backoff",
            WorkerNotice::HandlerTimeout => {
                "the handlers outlived the worker's handler timeout; the run counts as failed"
            }
            WorkerNotice::DeadLettered => "a message was moved to the dead letters",
            WorkerNotice::TakeFailed => "the queue could not be read; the worker tries again",
            WorkerNotice::SettleFailed => {
                "the queue could not settle a message; it stays pending and is reclaimed and run again"
            }
            WorkerNotice::StoreFailed => {
                "the seen-store could not claim a message's run; it is retried after a backoff"
            }
            WorkerNotice::ExtendFailed => {
                "the queue could not renew a message being run; silent past reclaimIdleMs, another worker may run it too"
            }
        }
    }
}

/// What the caller of a [`Worker`] does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerAction {
    /// Take up to `count` messages (waiting up to `block_ms` for one; reclaiming those idle for
    /// `reclaim_idle_ms`): tell [`Worker::taken`] of each, then [`Worker::take_ended`], or
    /// [`Worker::take_failed`], with its number `take`.
    Take {
        /// Its number, to tell what it got.
        take: u32,
        /// At most this many.
        count: u32,
        /// Wait for a new one at most this long.
        block_ms: u64,
        /// Reclaim messages idle this long.
        reclaim_idle_ms: u64,
    },
    /// Claim `job`'s run in the seen-store ([`Record::run_key`], with
    /// [`WorkerConfig::run_terms`]), then tell [`Worker::run_claimed`] what it said, or
    /// [`Worker::run_claim_failed`].
    ClaimRun {
        /// The job.
        job: u32,
    },
    /// End `job`'s run claim: recorded as handled (`handled`) or released, then tell
    /// [`Worker::run_ended`] (whether the store did it or not: the lease frees it anyway).
    EndRun {
        /// The job.
        job: u32,
        /// Done or released.
        handled: bool,
    },
    /// Run handler `index` of `job`'s routes, then tell [`Worker::handler_ended`].
    Run {
        /// The job.
        job: u32,
        /// Which of its routes' handlers.
        index: usize,
    },
    /// Say the worker still holds `job`'s message; tell [`Worker::extended`] whether it does.
    Extend {
        /// The job.
        job: u32,
    },
    /// Settle `job`'s message so, then tell [`Worker::settled`].
    Settle {
        /// The job.
        job: u32,
        /// How.
        outcome: Outcome,
    },
    /// Tell the error handler this, about `job` when there is one.
    Tell {
        /// The job, if the notice is about one.
        job: Option<u32>,
        /// What.
        notice: WorkerNotice,
    },
    /// `job` is over: the caller forgets it (its message, its event).
    Forget {
        /// The job.
        job: u32,
    },
    /// The worker has stopped: nothing is held or running any more (bar handlers past a stop's
    /// grace, whose messages were handed back).
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Its run is being claimed ([`WorkerAction::ClaimRun`]) until `until`.
    Claiming { until: u64 },
    /// Handler `index` runs.
    Running { index: usize },
    /// Its run claim is being ended before `outcome` is settled, until `until`.
    Ending { until: u64, outcome: Outcome },
    /// The settle is asked; told as failed if the queue says nothing by `until`.
    Settling { until: u64 },
    /// Its handler still runs, but the message is no longer this worker's (reclaimed by another
    /// after a missed heartbeat, or handed back at stop): what it does changes nothing.
    Lost,
}

#[derive(Debug, Clone, Copy)]
struct Job {
    stage: Stage,
    /// Whether its run is claimed (to end before it is settled).
    claimed: bool,
    attempt: u32,
    handlers: usize,
    since: u64,
    next_beat: u64,
}

/// The take under way: its number, and until when it is waited for.
#[derive(Debug, Clone, Copy)]
struct Taking {
    take: u32,
    until: u64,
}

/// A worker's decisions, sans IO: how many messages to take and when, each message's handlers
/// in order, its heartbeat while they run, and how it is settled (done, retried after a backoff,
/// dead-lettered after its last attempt or when it no longer verifies), a graceful stop. The
/// caller owns the queue, the handlers and the clock; it does the [`WorkerAction`]s in order
/// and wakes the worker at [`Worker::next_wake`].
///
/// A message's attempt is its record's count of failed runs plus how many times the queue
/// handed it out (1, more when a dead worker's message was reclaimed), so a handler that
/// kills its process cannot make a message run for ever. Every wait on the queue is bounded
/// ([`WorkerConfig::queue_timeout_ms`] past a read's block time): a queue that never answers
/// is told as failed, and what it says later is ignored (a take's messages stay pending in the
/// queue and are reclaimed). Jobs and takes are numbered once, never reused, so a late answer
/// cannot be mistaken for another's.
#[derive(Debug, Clone)]
pub struct Worker {
    config: WorkerConfig,
    jobs: BTreeMap<u32, Job>,
    next_job: u32,
    /// Jobs that hold a slot (running or settling).
    busy: u32,
    taking: Option<Taking>,
    next_take: u32,
    /// No take before this time (after a failed one).
    not_before: u64,
    take_failing: bool,
    /// Stopping: no more takes; what still runs at `until` is handed back.
    stop_until: Option<u64>,
    /// The stop's grace is over (what ran then was handed back).
    graced: bool,
    stopped: bool,
    actions: VecDeque<WorkerAction>,
}

impl Worker {
    /// A worker with `config` (see [`WorkerConfig::check`]), starting at `now_ms`: its first
    /// action is a take.
    #[must_use]
    pub fn new(config: WorkerConfig, now_ms: u64) -> Worker {
        let mut worker = Worker {
            config,
            jobs: BTreeMap::new(),
            next_job: 0,
            busy: 0,
            taking: None,
            next_take: 0,
            not_before: now_ms,
            take_failing: false,
            stop_until: None,
            graced: false,
            stopped: false,
            actions: VecDeque::new(),
        };
        worker.next(now_ms);
        worker
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// The next thing to do, in order; `None` until the worker is told something more.
    pub fn poll(&mut self) -> Option<WorkerAction> {
        self.actions.pop_front()
    }

    /// Which attempt job `job` is (its record's attempts plus the times the queue handed it
    /// out), for metrics and logs; `None` for a job the worker no longer holds.
    #[must_use]
    pub fn attempt(&self, job: u32) -> Option<u32> {
        self.jobs.get(&job).map(|found| found.attempt)
    }

    /// How many jobs hold a slot (running or being settled).
    #[must_use]
    pub fn busy(&self) -> u32 {
        self.busy
    }

    /// Whether the worker has stopped.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// When to wake the worker ([`Worker::wake`]) if nothing else happens first.
    #[must_use]
    pub fn next_wake(&self) -> Option<u64> {
        let timeout_ms = self.config.handler_timeout_ms;
        let jobs = self.jobs.values().flat_map(|job| match job.stage {
            Stage::Running { .. } => {
                [Some(job.next_beat), (timeout_ms > 0).then(|| job.since.saturating_add(timeout_ms))]
            }
            Stage::Settling { until } | Stage::Claiming { until } | Stage::Ending { until, .. } => {
                [Some(until), None]
            }
            Stage::Lost => [None, None],
        });
        let take = match self.taking {
            Some(taking) => Some(taking.until),
            None => self.wants_take().then_some(self.not_before),
        };
        // Once the grace is over, there is nothing more to wake for at its end.
        let grace = self.stop_until.filter(|_| !self.stopped && !self.graced);
        jobs.flatten().chain(take).chain(grace).min()
    }

    /// A message take number `take` ([`WorkerAction::Take`]) got, at `now_ms`: its record's
    /// attempt count (0 when it could not be read), how many times the queue handed it out, and
    /// its handlers (how many of the worker's routes match its topic) once verified, or why it
    /// cannot run ([`DeadReason::Unverified`], [`DeadReason::InvalidRecord`]). The job's number,
    /// which the actions about it carry; `None` for a take no longer waited for (its message
    /// stays pending in the queue, to be reclaimed).
    pub fn taken(
        &mut self,
        take: u32,
        attempts: u32,
        deliveries: u32,
        handlers: Result<usize, DeadReason>,
        now_ms: u64,
    ) -> Option<u32> {
        if self.taking.is_none_or(|taking| taking.take != take) {
            return None;
        }
        let attempt = attempts.saturating_add(deliveries.max(1));
        let id = self.next_job;
        self.next_job = self.next_job.wrapping_add(1);
        let job = Job {
            stage: Stage::Lost,
            claimed: false,
            attempt,
            handlers: 0,
            since: now_ms,
            next_beat: now_ms,
        };
        self.jobs.insert(id, job);
        self.busy = self.busy.saturating_add(1);
        let dead = |reason| Outcome::Dead { attempts: attempt.saturating_sub(1), reason };
        match handlers {
            Err(reason) => self.settle(id, dead(reason), now_ms),
            // Handed out more often than it may run: the workers holding it stopped each time.
            Ok(_) if attempt > self.config.max_attempts => {
                self.settle(id, dead(DeadReason::Abandoned), now_ms)
            }
            Ok(0) => self.settle(id, Outcome::Done { keep_ms: self.config.keep_ms }, now_ms),
            Ok(handlers) => {
                let claim = self.config.claim_runs;
                if let Some(job) = self.jobs.get_mut(&id) {
                    job.handlers = handlers;
                    job.stage = if claim {
                        Stage::Claiming { until: now_ms.saturating_add(self.config.queue_timeout_ms) }
                    } else {
                        Stage::Running { index: 0 }
                    };
                    job.next_beat = now_ms.saturating_add(self.config.heartbeat_ms());
                }
                self.actions.push_back(if claim {
                    WorkerAction::ClaimRun { job: id }
                } else {
                    WorkerAction::Run { job: id, index: 0 }
                });
            }
        }
        Some(id)
    }

    /// What the seen-store said of `job`'s run claim: [`Claim::Fresh`] runs it; a
    /// [`Claim::Duplicate`] (a copy of the delivery already ran to success) is done without
    /// running; [`Claim::InFlight`] (a copy runs elsewhere now) is retried after a backoff.
    pub fn run_claimed(&mut self, job: u32, claim: Claim, now_ms: u64) {
        let Some(found) = self.jobs.get_mut(&job) else { return };
        let Stage::Claiming { .. } = found.stage else { return };
        match claim {
            Claim::Fresh => {
                found.claimed = true;
                found.stage = Stage::Running { index: 0 };
                self.actions.push_back(WorkerAction::Run { job, index: 0 });
            }
            Claim::Duplicate => self.settle(job, Outcome::Done { keep_ms: self.config.keep_ms }, now_ms),
            Claim::InFlight => self.later(job, now_ms),
        }
    }

    /// The seen-store could not claim `job`'s run (told): retried after a backoff.
    pub fn run_claim_failed(&mut self, job: u32, now_ms: u64) {
        let Some(found) = self.jobs.get(&job) else { return };
        let Stage::Claiming { .. } = found.stage else { return };
        self.actions.push_back(WorkerAction::Tell { job: Some(job), notice: WorkerNotice::StoreFailed });
        self.later(job, now_ms);
    }

    /// `job`'s run claim ended ([`WorkerAction::EndRun`]): its settle follows.
    pub fn run_ended(&mut self, job: u32, now_ms: u64) {
        let Some(found) = self.jobs.get(&job) else { return };
        let Stage::Ending { outcome, .. } = found.stage else { return };
        self.settle(job, outcome, now_ms);
    }

    /// Not run now (its run claimed elsewhere, or not claimable): retried after the first
    /// backoff, this attempt not counted.
    fn later(&mut self, job: u32, now_ms: u64) {
        let Some(found) = self.jobs.get(&job) else { return };
        let attempts = found.attempt.saturating_sub(1);
        self.settle(job, Outcome::Retry { attempts, delay_ms: self.config.retry_delay_ms(1) }, now_ms);
    }

    /// Take number `take` is over (every message it got told with [`Worker::taken`]); a take no
    /// longer waited for changes nothing.
    pub fn take_ended(&mut self, take: u32, now_ms: u64) {
        if self.taking.is_some_and(|taking| taking.take == take) {
            self.taking = None;
            self.take_failing = false;
            self.next(now_ms);
        }
    }

    /// Take number `take` failed (the queue is down): told once until a take succeeds, and tried
    /// again after the block time.
    pub fn take_failed(&mut self, take: u32, now_ms: u64) {
        if self.taking.is_some_and(|taking| taking.take == take) {
            self.failed_take(now_ms);
        }
    }

    fn failed_take(&mut self, now_ms: u64) {
        self.taking = None;
        if !self.take_failing {
            self.take_failing = true;
            self.actions.push_back(WorkerAction::Tell { job: None, notice: WorkerNotice::TakeFailed });
        }
        self.not_before = now_ms.saturating_add(self.config.block_ms.max(1));
        self.next(now_ms);
    }

    /// The handler [`WorkerAction::Run`] named for `job` ended, `ok` or failed (its error
    /// told with [`WorkerNotice::HandlerFailed`]).
    pub fn handler_ended(&mut self, job: u32, ok: bool, now_ms: u64) {
        let Some(found) = self.jobs.get_mut(&job) else { return };
        match found.stage {
            Stage::Running { index } => {
                if ok && index.saturating_add(1) < found.handlers {
                    let index = index.saturating_add(1);
                    found.stage = Stage::Running { index };
                    self.actions.push_back(WorkerAction::Run { job, index });
                    return;
                }
                if !ok {
                    self.actions.push_back(WorkerAction::Tell {
                        job: Some(job),
                        notice: WorkerNotice::HandlerFailed,
                    });
                }
                let attempt = found.attempt;
                self.ran(job, attempt, ok, now_ms);
            }
            // Handed back or reclaimed: its slot was freed then. A run it claimed is ended now, as
            // it went (done: a copy handed out meanwhile is a duplicate; failed: it runs).
            Stage::Lost => {
                if found.claimed {
                    found.claimed = false;
                    self.actions.push_back(WorkerAction::EndRun { job, handled: ok });
                }
                self.forget(job, now_ms);
            }
            Stage::Claiming { .. } | Stage::Ending { .. } | Stage::Settling { .. } => {}
        }
    }

    /// The queue could not renew `job`'s message (the heartbeat failed): told. Nothing else
    /// changes: its settle is checked against its holder all the same, and if the queue stays
    /// silent past the reclaim idle time another worker may take it over.
    pub fn extend_failed(&mut self, job: u32) {
        if let Some(Job { stage: Stage::Running { .. }, .. }) = self.jobs.get(&job) {
            self.actions.push_back(WorkerAction::Tell { job: Some(job), notice: WorkerNotice::ExtendFailed });
        }
    }

    /// What [`WorkerAction::Extend`] found: whether the message is still this worker's. One
    /// another worker took (this one missed its heartbeats) is no longer settled here: what its
    /// handler does changes nothing, and its slot is freed.
    pub fn extended(&mut self, job: u32, owned: bool, now_ms: u64) {
        if owned {
            return;
        }
        if let Some(found) = self.jobs.get_mut(&job) {
            if let Stage::Running { .. } = found.stage {
                found.stage = Stage::Lost;
                self.busy = self.busy.saturating_sub(1);
                self.next(now_ms);
            }
        }
    }

    /// The settle [`WorkerAction::Settle`] asked for `job` is over: `ok`, or the queue failed
    /// (the message stays pending, and is reclaimed).
    pub fn settled(&mut self, job: u32, ok: bool, now_ms: u64) {
        let Some(found) = self.jobs.get(&job) else { return };
        if !matches!(found.stage, Stage::Settling { .. }) {
            return;
        }
        if !ok {
            self.actions.push_back(WorkerAction::Tell { job: Some(job), notice: WorkerNotice::SettleFailed });
        }
        self.busy = self.busy.saturating_sub(1);
        self.forget(job, now_ms);
    }

    /// The time is `now_ms`: heartbeats due, handlers past their timeout, a queue silent past
    /// its wait, a stop's grace over, a take after a failed one.
    pub fn wake(&mut self, now_ms: u64) {
        let heartbeat = self.config.heartbeat_ms();
        let timeout_ms = self.config.handler_timeout_ms;
        let grace_over = self.stop_until.is_some_and(|until| now_ms >= until);
        self.graced |= grace_over;
        let mut ended = Vec::new();
        let mut unsettled = Vec::new();
        let mut unclaimed = Vec::new();
        let mut unended = Vec::new();
        for (&id, job) in &mut self.jobs {
            match job.stage {
                Stage::Running { .. } if grace_over => ended.push((id, None)),
                Stage::Running { .. } if timeout_ms > 0 && now_ms >= job.since.saturating_add(timeout_ms) => {
                    ended.push((id, Some(job.attempt)));
                }
                Stage::Running { .. } if now_ms >= job.next_beat => {
                    job.next_beat = now_ms.saturating_add(heartbeat);
                    self.actions.push_back(WorkerAction::Extend { job: id });
                }
                Stage::Settling { until } if now_ms >= until => unsettled.push(id),
                Stage::Claiming { until } if now_ms >= until => unclaimed.push(id),
                Stage::Ending { until, .. } if now_ms >= until => unended.push(id),
                Stage::Running { .. }
                | Stage::Settling { .. }
                | Stage::Claiming { .. }
                | Stage::Ending { .. }
                | Stage::Lost => {}
            }
        }
        // A store silent past the wait: a claim counted as failed, an end as done (its lease
        // frees the key all the same).
        for id in unclaimed {
            self.run_claim_failed(id, now_ms);
        }
        for id in unended {
            self.run_ended(id, now_ms);
        }
        for (id, attempt) in ended {
            match attempt {
                // Past the grace: handed back for another worker; the handler may go on, but
                // changes nothing now.
                None => self.settle(id, Outcome::Release, now_ms),
                Some(attempt) => {
                    self.actions.push_back(WorkerAction::Tell {
                        job: Some(id),
                        notice: WorkerNotice::HandlerTimeout,
                    });
                    // Its handler may still run: its run claim is left to its lease, so no copy
                    // runs beside it.
                    if let Some(found) = self.jobs.get_mut(&id) {
                        found.claimed = false;
                    }
                    self.ran(id, attempt, false, now_ms);
                }
            }
        }
        // The queue said nothing of these settles: failed (the messages stay pending, to be
        // reclaimed), and what it says later is ignored.
        for id in unsettled {
            self.settled(id, false, now_ms);
        }
        if self.taking.is_some_and(|taking| now_ms >= taking.until) {
            self.failed_take(now_ms);
        }
        self.next(now_ms);
    }

    /// Stop at `now_ms`: take nothing more, let what runs finish for `grace_ms`, then hand back
    /// what still runs; [`WorkerAction::Stopped`] once nothing is held.
    pub fn stop(&mut self, now_ms: u64, grace_ms: u64) {
        if self.stop_until.is_none() && !self.stopped {
            self.stop_until = Some(now_ms.saturating_add(grace_ms));
            self.wake(now_ms);
        }
    }

    /// A run of `job` (its `attempt`-th) is over: its settle.
    fn ran(&mut self, job: u32, attempt: u32, ok: bool, now_ms: u64) {
        let outcome = if ok {
            Outcome::Done { keep_ms: self.config.keep_ms }
        } else if attempt < self.config.max_attempts {
            Outcome::Retry { attempts: attempt, delay_ms: self.config.retry_delay_ms(attempt) }
        } else {
            Outcome::Dead { attempts: attempt, reason: DeadReason::HandlerFailed }
        };
        // A claimed run is recorded (done) or released before its message is settled: a copy
        // taken after the ack is then a duplicate, and one after a failure runs.
        if let Some(found) = self.jobs.get_mut(&job) {
            if found.claimed {
                found.claimed = false;
                found.stage =
                    Stage::Ending { until: now_ms.saturating_add(self.config.queue_timeout_ms), outcome };
                self.actions.push_back(WorkerAction::EndRun { job, handled: ok });
                return;
            }
        }
        self.settle(job, outcome, now_ms);
    }

    fn settle(&mut self, job: u32, outcome: Outcome, now_ms: u64) {
        let until = now_ms.saturating_add(self.config.queue_timeout_ms);
        if let Some(found) = self.jobs.get_mut(&job) {
            found.stage = if outcome == Outcome::Release { Stage::Lost } else { Stage::Settling { until } };
        }
        if matches!(outcome, Outcome::Dead { .. }) {
            self.actions.push_back(WorkerAction::Tell { job: Some(job), notice: WorkerNotice::DeadLettered });
        }
        self.actions.push_back(WorkerAction::Settle { job, outcome });
        if outcome == Outcome::Release {
            // Its slot is free: the handler that still runs is forgotten when it ends.
            self.busy = self.busy.saturating_sub(1);
        }
    }

    fn forget(&mut self, job: u32, now_ms: u64) {
        if self.jobs.remove(&job).is_some() {
            self.actions.push_back(WorkerAction::Forget { job });
        }
        self.next(now_ms);
    }

    fn wants_take(&self) -> bool {
        self.taking.is_none()
            && self.stop_until.is_none()
            && !self.stopped
            && self.busy < self.config.concurrency
    }

    /// A take when there is room and none is under way; the stop when nothing is held.
    fn next(&mut self, now_ms: u64) {
        if self.wants_take() && now_ms >= self.not_before {
            let take = self.next_take;
            self.next_take = self.next_take.wrapping_add(1);
            let until =
                now_ms.saturating_add(self.config.block_ms).saturating_add(self.config.queue_timeout_ms);
            self.taking = Some(Taking { take, until });
            self.actions.push_back(WorkerAction::Take {
                take,
                count: self.config.concurrency - self.busy,
                block_ms: self.config.block_ms,
                reclaim_idle_ms: self.config.reclaim_idle_ms,
            });
        }
        if self.stop_until.is_some() && !self.stopped && self.taking.is_none() && self.busy == 0 {
            self.stopped = true;
            self.actions.push_back(WorkerAction::Stopped);
        }
    }
}
