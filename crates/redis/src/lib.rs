//! A seen-store on Redis or Valkey that clhooks receivers on many instances share: one atomic
//! claim per delivery with a lease, handled keys kept for Commerce Layer's retry window.
//!
//! It only moves bytes: the commands and what their replies mean are the core's
//! ([`clhooks::store::RedisProtocol`], the same commands and Lua scripts the npm package's
//! `clhooks/redis` sends), and the receiver says what to ask for ([`Receiver::terms`]) and what
//! to answer when Redis fails ([`Receiver::store_failed`], 503). Receivers in Rust and in
//! JavaScript can share one Redis: their keys and scripts are the same.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use clhooks::receiver::Receiver;
//! use clhooks_redis::RedisStore;
//! let receiver = Receiver::new(clhooks::Verifier::new(["secret"])?);
//! let store = RedisStore::connect("redis://127.0.0.1:6379", clhooks::store::DEFAULT_PREFIX).await?;
//! let claim = store.claim("the delivery's idempotency key", receiver.terms()).await?;
//! # Ok(()) }
//! ```
//!
//! [`Receiver::terms`]: clhooks::receiver::Receiver::terms
//! [`Receiver::store_failed`]: clhooks::receiver::Receiver::store_failed

mod queue;
pub use queue::{DeadLetter, RedisQueue};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use clhooks::health::redis::RedisHealth;
use clhooks::health::{Attempt, Rules, Signal, Tally, Webhook};
use clhooks::receiver::{AsyncSeenStore, Claim, StoreFuture, Terms};
use clhooks::store::RedisProtocol;
use clhooks::Error;
use redis::aio::ConnectionManager;

/// A Redis seen-store. Cheap to share behind an `Arc`; its connection reconnects by itself.
pub struct RedisStore {
    connection: ConnectionManager,
    protocol: RedisProtocol,
    /// The failure streaks, beside the keys.
    health: RedisHealth,
    /// The token of each claim this store holds, to end it.
    tokens: Mutex<HashMap<String, String>>,
    /// What makes this store's tokens unique: the process, the time it was made, a count.
    origin: String,
    count: AtomicU64,
    /// Whether the end and the count still go in one script (see [`RedisStore::end_counting`]).
    folding: AtomicBool,
    /// Whether this server claims by script (older than Redis 7.0, see [`RedisStore::claim`]).
    by_script: AtomicBool,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.protocol.prefix()).finish_non_exhaustive()
    }
}

fn unavailable(error: &redis::RedisError) -> Error {
    Error::StoreUnavailable { message: error.to_string() }
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`, `rediss://` with TLS where the client has it),
    /// its keys under `prefix`.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`] when Redis cannot be reached or the URL is wrong.
    pub async fn connect(url: &str, prefix: &str) -> clhooks::Result<RedisStore> {
        let client = redis::Client::open(url).map_err(|e| unavailable(&e))?;
        let connection = ConnectionManager::new(client).await.map_err(|e| unavailable(&e))?;
        Ok(RedisStore::new(connection, prefix))
    }

    /// A store on a connection made elsewhere.
    #[must_use]
    pub fn new(connection: ConnectionManager, prefix: &str) -> RedisStore {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        RedisStore {
            connection,
            protocol: RedisProtocol::new(prefix),
            health: RedisHealth::new(prefix, Rules::default()),
            tokens: Mutex::new(HashMap::new()),
            origin: format!("{}-{nanos:x}", std::process::id()),
            count: AtomicU64::new(0),
            folding: AtomicBool::new(true),
            by_script: AtomicBool::new(false),
        }
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn send<T: redis::FromRedisValue>(&self, args: &[String]) -> clhooks::Result<T> {
        query(&self.connection, args).await
    }

    /// Claims `key` for [`Terms::lease_ms`]: [`Claim::Fresh`] (it is this store's until
    /// [`RedisStore::done`], [`RedisStore::release`] or the lease's end), `Duplicate` or
    /// `InFlight`. One `SET … NX PX … GET`; on a server older than Redis 7.0, which refuses
    /// it, the claim script from then on.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`]: answer [`clhooks::receiver::Receiver::store_failed`].
    pub async fn claim(&self, key: &str, terms: Terms) -> clhooks::Result<Claim> {
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        let token = format!("{}-{n}", self.origin);
        let claim = if self.by_script.load(Ordering::Relaxed) {
            let reply: String = self.send(&self.protocol.claim_script(key, &token, terms)).await?;
            RedisProtocol::claim_reply(&reply)?
        } else {
            match self.send::<Option<String>>(&self.protocol.claim(key, &token, terms)).await {
                Ok(held) => RedisProtocol::claim_held(held.as_deref()),
                Err(Error::StoreUnavailable { message }) if RedisProtocol::claims_by_script(&message) => {
                    self.by_script.store(true, Ordering::Relaxed);
                    let reply: String = self.send(&self.protocol.claim_script(key, &token, terms)).await?;
                    RedisProtocol::claim_reply(&reply)?
                }
                Err(error) => return Err(error),
            }
        };
        // A live entry is never replaced: a second fresh claim of one key (after the first
        // lease ran out) is ended by its lease, not by a token that could free the other's.
        if claim == Claim::Fresh {
            self.tokens().entry(key.to_owned()).or_insert(token);
        }
        Ok(claim)
    }

    /// Records a claimed key as handled, for [`Terms::keep_ms`].
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`]. The work is done: the answer stays a success.
    pub async fn done(&self, key: &str, terms: Terms) -> clhooks::Result<()> {
        self.end(key, true, terms).await
    }

    /// Gives a claimed key up (its handler failed) while the claim is still this store's, so
    /// that the retry runs.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`]. The lease frees the key all the same.
    pub async fn release(&self, key: &str, terms: Terms) -> clhooks::Result<()> {
        self.end(key, false, terms).await
    }

    async fn end(&self, key: &str, handled: bool, terms: Terms) -> clhooks::Result<()> {
        let token = self.tokens().remove(key).unwrap_or_default();
        let _: i64 = self.send(&self.protocol.end(key, &token, handled, terms)).await?;
        Ok(())
    }

    /// Counts an attempt in `webhook`'s failure streak, shared by every instance on this Redis:
    /// what crossed a threshold, and the streak now.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`].
    pub async fn count(
        &self,
        webhook: &Webhook,
        attempt: &Attempt,
    ) -> clhooks::Result<(Option<Signal>, u32)> {
        count(&self.connection, &self.health, webhook, attempt).await
    }

    /// Ends a claim as [`RedisStore::done`] or [`RedisStore::release`] do and counts an
    /// attempt as [`RedisStore::count`] does, in one script (one round trip): the fold script
    /// of [`clhooks::store::FOLD_SCRIPT`].
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`]: neither is done. The answer stands, and the lease frees the
    /// key.
    pub async fn end_counting(
        &self,
        key: &str,
        handled: bool,
        terms: Terms,
        webhook: &Webhook,
        attempt: &Attempt,
    ) -> clhooks::Result<(Option<Signal>, u32)> {
        let token = self.tokens().remove(key).unwrap_or_default();
        if self.folding.load(Ordering::Relaxed) {
            let command =
                self.protocol.end_counting((key, &token, handled, terms), &self.health, webhook, attempt);
            match self.send::<(i64, String, u64, u64)>(&command).await {
                Ok((_, signal, streak, now)) => return self.health.count_reply(&signal, streak, now),
                // A server that shards keys without a hash tag in the prefix (a cluster behind a
                // proxy) refuses a script over keys of two slots before running it: two then.
                Err(Error::StoreUnavailable { message })
                    if message.to_ascii_uppercase().contains("CROSSSLOT") =>
                {
                    self.folding.store(false, Ordering::Relaxed);
                }
                Err(error) => return Err(error),
            }
        }
        let _: i64 = self.send(&self.protocol.end(key, &token, handled, terms)).await?;
        self.count(webhook, attempt).await
    }

    /// Every webhook's counters on this Redis.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`].
    pub async fn tallies(&self) -> clhooks::Result<Vec<(Webhook, Tally)>> {
        tallies(&self.connection, &self.health).await
    }
}

/// `args` sent on `connection`, its reply read as a `T`.
async fn query<T: redis::FromRedisValue>(
    connection: &ConnectionManager,
    args: &[String],
) -> clhooks::Result<T> {
    run(&mut connection.clone(), args).await.map_err(|e| unavailable(&e))
}

/// Each script's SHA-1 (its name in Redis's script cache), by its text.
static SHAS: Mutex<Vec<(Vec<u8>, String)>> = Mutex::new(Vec::new());

fn sha(script: &[u8]) -> String {
    let mut known = SHAS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, sha)) = known.iter().find(|(text, _)| text.as_slice() == script) {
        return sha.clone();
    }
    let sha = redis::Script::new(&String::from_utf8_lossy(script)).get_hash().to_owned();
    known.push((script.to_vec(), sha.clone()));
    sha
}

/// Sends one of the core's commands. An `EVAL` goes by the script's SHA-1 (`EVALSHA`: the text
/// is not sent, nor hashed by Redis, every time), and with its text when this Redis does not
/// have it yet (`NOSCRIPT`: after a restart or a `SCRIPT FLUSH`), which caches it.
async fn run<T, A>(connection: &mut impl redis::aio::ConnectionLike, args: &[A]) -> redis::RedisResult<T>
where
    T: redis::FromRedisValue,
    A: AsRef<[u8]>,
{
    let command = |args: &mut dyn Iterator<Item = &[u8]>| {
        let mut command = redis::Cmd::new();
        for arg in args {
            command.arg(arg);
        }
        command
    };
    if let [eval, script, rest @ ..] = args {
        if eval.as_ref() == b"EVAL" {
            let sha = sha(script.as_ref());
            let by_sha = command(
                &mut [b"EVALSHA".as_slice(), sha.as_bytes()]
                    .into_iter()
                    .chain(rest.iter().map(AsRef::as_ref)),
            );
            match by_sha.query_async(connection).await {
                Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {}
                done => return done,
            }
        }
    }
    command(&mut args.iter().map(AsRef::as_ref)).query_async(connection).await
}

/// Counts an attempt with the core's count script (the store's and the queue's streaks).
async fn count(
    connection: &ConnectionManager,
    health: &RedisHealth,
    webhook: &Webhook,
    attempt: &Attempt,
) -> clhooks::Result<(Option<Signal>, u32)> {
    let (signal, streak, now): (String, u64, u64) =
        query(connection, &health.count(webhook, attempt)).await?;
    health.count_reply(&signal, streak, now)
}

/// Every webhook's counters under `health`'s prefix.
async fn tallies(
    connection: &ConnectionManager,
    health: &RedisHealth,
) -> clhooks::Result<Vec<(Webhook, Tally)>> {
    let keys: Vec<String> = query(connection, &["SMEMBERS".to_owned(), health.index()]).await?;
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(webhook) = Webhook::from_key(&key) else { continue };
        let fields: HashMap<String, String> =
            query(connection, &["HGETALL".to_owned(), health.key_of(&key)]).await?;
        out.push((webhook, RedisHealth::tally(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))));
    }
    Ok(out)
}

impl AsyncSeenStore for RedisStore {
    fn claim<'a>(&'a self, key: &'a str, terms: Terms) -> StoreFuture<'a, Claim> {
        Box::pin(RedisStore::claim(self, key, terms))
    }

    fn end<'a>(&'a self, key: &'a str, terms: Terms, handled: bool) -> StoreFuture<'a, ()> {
        Box::pin(RedisStore::end(self, key, handled, terms))
    }

    fn count<'a>(
        &'a self,
        webhook: &'a Webhook,
        attempt: &'a Attempt,
    ) -> Option<StoreFuture<'a, (Option<Signal>, u32)>> {
        Some(Box::pin(RedisStore::count(self, webhook, attempt)))
    }

    fn end_counting<'a>(
        &'a self,
        key: &'a str,
        terms: Terms,
        handled: bool,
        (webhook, attempt): (&'a Webhook, &'a Attempt),
    ) -> Option<StoreFuture<'a, (Option<Signal>, u32)>> {
        // One Redis (a cluster is not what this store connects to): the keys may share a script.
        self.protocol.folds(false).then(|| -> StoreFuture<'a, (Option<Signal>, u32)> {
            Box::pin(RedisStore::end_counting(self, key, handled, terms, webhook, attempt))
        })
    }

    fn tallies(&self) -> Option<StoreFuture<'_, Vec<(Webhook, Tally)>>> {
        Some(Box::pin(RedisStore::tallies(self)))
    }
}
