//! The handoff queue on Redis Streams: see [`RedisQueue`].

use std::collections::HashMap;
use std::time::Duration;

use clhooks::handoff::{self, Message, Outcome, Queue, QueueFuture, Record};
use clhooks::health::redis::RedisHealth;
use clhooks::health::{Attempt, Rules, Signal, Tally, Webhook};
use clhooks::receiver::Claim;
use clhooks::Error;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Value};
use tokio::sync::Mutex;

use crate::unavailable;

/// A durable queue on Redis Streams (Redis 6.2 or later, or Valkey) for handoff: receivers write
/// each delivery's record and claim its key in one script; workers read in a consumer group,
/// each on a connection of its own (a blocking read holds it), so that their reads never stall
/// the receivers' commands nor each other. It only moves bytes: the commands and scripts are the core's
/// ([`clhooks::handoff::RedisQueue`], the same the npm package's `createRedisQueue` sends), so
/// receivers and workers in Rust and in JavaScript share one queue.
pub struct RedisQueue {
    client: redis::Client,
    connection: ConnectionManager,
    protocol: handoff::RedisQueue,
    /// The failure streaks beside the seen keys, as a [`crate::RedisStore`] keeps them.
    health: RedisHealth,
    /// Each worker's blocking connection, made on its first read.
    readers: Mutex<HashMap<String, MultiplexedConnection>>,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue").field("protocol", &self.protocol).finish_non_exhaustive()
    }
}

/// A dead letter: its id, its record's fields, why it failed (a [`handoff::DeadReason`] code),
/// the last error's message, and when (ms since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id in the dead letters.
    pub id: String,
    /// Its record's fields, `(name, value)`.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// Why.
    pub reason: String,
    /// The last error's message.
    pub error: String,
    /// When, ms since the Unix epoch.
    pub failed_ms: u64,
}

impl DeadLetter {
    /// Its record.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRecord`].
    pub fn record(&self) -> clhooks::Result<Record> {
        Record::from_fields(self.fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())))
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        Value::Okay => Some("OK".into()),
        _ => None,
    }
}

fn bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::BulkString(bytes) => bytes.clone(),
        other => text(other).unwrap_or_default().into_bytes(),
    }
}

fn items(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        _ => &[],
    }
}

/// `[name, value, ...]` as pairs.
fn pairs(value: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    items(value)
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            [name, value] => Some((bytes(name), bytes(value))),
            _ => None,
        })
        .collect()
}

fn unexpected(what: &str) -> Error {
    Error::StoreUnavailable {
        message: format!("Redis answered {what} with something else than the queue's scripts give"),
    }
}

impl RedisQueue {
    /// Connects to `url` (`redis://host:port/db`), for the queue `protocol` (its stream, group and
    /// seen-key prefix; [`handoff::RedisQueue::default`] for the defaults).
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`] when Redis cannot be reached or the URL is wrong.
    pub async fn connect(url: &str, protocol: handoff::RedisQueue) -> clhooks::Result<RedisQueue> {
        let client = redis::Client::open(url).map_err(|e| unavailable(&e))?;
        let connection = ConnectionManager::new(client.clone()).await.map_err(|e| unavailable(&e))?;
        let health = RedisHealth::new(protocol.prefix(), Rules::default());
        Ok(RedisQueue { client, connection, protocol, health, readers: Mutex::new(HashMap::new()) })
    }

    /// The protocol: its keys.
    #[must_use]
    pub fn protocol(&self) -> &handoff::RedisQueue {
        &self.protocol
    }

    async fn send(&self, args: Vec<Vec<u8>>) -> clhooks::Result<Value> {
        crate::run(&mut self.connection.clone(), &args).await.map_err(|e| unavailable(&e))
    }

    /// Up to `count` dead letters from `after` (the oldest without), oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`].
    pub async fn dead_letters(&self, after: Option<&str>, count: usize) -> clhooks::Result<Vec<DeadLetter>> {
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let reply = self.send(self.protocol.dead_letters(&start, count.max(1))).await?;
        Ok(items(&reply).iter().filter_map(dead_letter).collect())
    }

    /// One dead letter, if it is there.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`].
    pub async fn dead_letter(&self, id: &str) -> clhooks::Result<Option<DeadLetter>> {
        let mut command = self.protocol.dead_letters(id, 1);
        // From `id` to `id`: the entry itself or nothing.
        if let Some(end) = command.get_mut(3) {
            *end = id.as_bytes().to_vec();
        }
        let reply = self.send(command).await?;
        Ok(items(&reply).first().and_then(dead_letter))
    }

    /// Moves dead letters back to the queue, their attempts counted afresh: those of `ids`, or all
    /// of them (`None`). How many moved.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`].
    pub async fn replay(&self, ids: Option<&[String]>) -> clhooks::Result<u64> {
        let mut moved = 0;
        let replay = |batch: Vec<String>| {
            let command = self.protocol.replay(batch.iter().map(String::as_str));
            async move {
                let Value::Int(n) = self.send(command).await? else { return Err(unexpected("a replay")) };
                Ok::<u64, Error>(u64::try_from(n).unwrap_or(0))
            }
        };
        if let Some(ids) = ids {
            for batch in ids.chunks(handoff::REPLAY_BATCH) {
                moved += replay(batch.to_vec()).await?;
            }
            return Ok(moved);
        }
        // All: up to the newest when the replay begins, page after page, so that dead letters
        // that come back meanwhile (a worker running) do not make it endless.
        let newest = self.send(self.protocol.newest_dead_letter()).await?;
        let Some(last) = items(&newest).iter().filter_map(dead_letter).next().map(|d| d.id) else {
            return Ok(0);
        };
        let mut after: Option<String> = None;
        loop {
            let page = self.send(self.protocol.dead_letters_up_to(after.as_deref(), &last)).await?;
            let page: Vec<String> = items(&page).iter().filter_map(dead_letter).map(|d| d.id).collect();
            let Some(end) = page.last().cloned() else { return Ok(moved) };
            moved += replay(page).await?;
            after = Some(end);
        }
    }

    async fn read(&self, consumer: &str, count: u32, block_ms: Option<u64>) -> clhooks::Result<Value> {
        // The lock only finds or makes the worker's connection: the blocking read runs without it,
        // so workers sharing this queue never wait on each other's reads.
        let mut connection = {
            let mut readers = self.readers.lock().await;
            match readers.get(consumer) {
                Some(connection) => connection.clone(),
                None => {
                    // An answer may take the whole block time (a worker's is the same each read).
                    let wait = Duration::from_millis(block_ms.unwrap_or(0).saturating_add(5_000));
                    let config = AsyncConnectionConfig::new().set_response_timeout(Some(wait));
                    let made = self
                        .client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await
                        .map_err(|e| unavailable(&e))?;
                    readers.insert(consumer.to_owned(), made.clone());
                    made
                }
            }
        };
        let mut command = redis::Cmd::new();
        for arg in self.protocol.read(consumer, count, block_ms) {
            command.arg(arg);
        }
        let read = command.query_async(&mut connection).await;
        if read.is_err() {
            // Made again on the next read.
            self.readers.lock().await.remove(consumer);
        }
        read.map_err(|e| unavailable(&e))
    }
}

fn dead_letter(entry: &Value) -> Option<DeadLetter> {
    let [id, fields] = items(entry) else { return None };
    let mut letter = DeadLetter {
        id: text(id)?,
        fields: Vec::new(),
        reason: String::new(),
        error: String::new(),
        failed_ms: 0,
    };
    for (name, value) in pairs(fields) {
        match name.as_slice() {
            b"reason" => letter.reason = String::from_utf8_lossy(&value).into_owned(),
            b"error" => letter.error = String::from_utf8_lossy(&value).into_owned(),
            b"failed" => letter.failed_ms = String::from_utf8_lossy(&value).parse().unwrap_or(0),
            _ => letter.fields.push((name, value)),
        }
    }
    Some(letter)
}

impl Queue for RedisQueue {
    fn claims(&self) -> bool {
        true
    }

    fn messaging(&self) -> handoff::Messaging {
        vec![
            ("messaging.system", "redis".to_owned()),
            ("messaging.destination.name", self.protocol.stream().to_owned()),
            ("messaging.consumer.group.name", self.protocol.group().to_owned()),
        ]
    }

    // A receiver whose queue claims the keys has no seen-store: the queue keeps the streaks
    // every instance shares, as the store would.
    fn count<'a>(
        &'a self,
        webhook: &'a Webhook,
        attempt: &'a Attempt,
    ) -> Option<QueueFuture<'a, (Option<Signal>, u32)>> {
        Some(Box::pin(crate::count(&self.connection, &self.health, webhook, attempt)))
    }

    fn tallies(&self) -> Option<QueueFuture<'_, Vec<(Webhook, Tally)>>> {
        Some(Box::pin(crate::tallies(&self.connection, &self.health)))
    }

    fn enqueue<'a>(&'a self, record: &'a Record, claim_keep_ms: Option<u64>) -> QueueFuture<'a, Claim> {
        Box::pin(async move {
            let reply = self.send(self.protocol.enqueue(record, claim_keep_ms)).await?;
            match claim_keep_ms {
                None => Ok(Claim::Fresh),
                Some(_) => handoff::RedisQueue::enqueue_reply(&text(&reply).unwrap_or_default()),
            }
        })
    }

    fn take<'a>(
        &'a self,
        consumer: &'a str,
        count: u32,
        block_ms: u64,
        reclaim_idle_ms: u64,
    ) -> QueueFuture<'a, Vec<Message>> {
        Box::pin(async move {
            let reclaimed = self.send(self.protocol.take(consumer, count, reclaim_idle_ms)).await?;
            let mut taken: Vec<Message> = items(&reclaimed)
                .iter()
                .filter_map(|entry| {
                    let [id, times, fields] = items(entry) else { return None };
                    let deliveries = match times {
                        Value::Int(n) => u32::try_from(*n).unwrap_or(1),
                        _ => 1,
                    };
                    Some(Message {
                        id: text(id)?,
                        deliveries,
                        fields: pairs(fields),
                        consumer: consumer.to_owned(),
                    })
                })
                .collect();
            let wanted = count.saturating_sub(u32::try_from(taken.len()).unwrap_or(u32::MAX));
            if wanted == 0 {
                return Ok(taken);
            }
            let block = (taken.is_empty() && block_ms > 0).then_some(block_ms);
            let read = self.read(consumer, wanted, block).await?;
            // [[stream, [[id, [field, value, ...]], ...]]], or nothing.
            for stream in items(&read) {
                let [_, entries] = items(stream) else { continue };
                for entry in items(entries) {
                    let [id, fields] = items(entry) else { continue };
                    let Some(id) = text(id) else { continue };
                    taken.push(Message {
                        id,
                        deliveries: 1,
                        fields: pairs(fields),
                        consumer: consumer.to_owned(),
                    });
                }
            }
            Ok(taken)
        })
    }

    fn extend<'a>(&'a self, message: &'a Message) -> QueueFuture<'a, bool> {
        Box::pin(async move {
            let reply = self.send(self.protocol.extend(&message.consumer, &message.id)).await?;
            Ok(reply == Value::Int(1))
        })
    }

    fn settle<'a>(&'a self, message: &'a Message, outcome: Outcome, error: &'a str) -> QueueFuture<'a, bool> {
        Box::pin(async move {
            let key = message
                .fields
                .iter()
                .find(|(name, _)| name == b"key")
                .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
                .unwrap_or_default();
            let command = self.protocol.settle(&message.consumer, &message.id, &key, outcome, error);
            Ok(self.send(command).await? == Value::Int(1))
        })
    }

    /// A worker stopped: its blocking connection is closed.
    fn leave<'a>(&'a self, consumer: &'a str) -> QueueFuture<'a, ()> {
        Box::pin(async move {
            self.readers.lock().await.remove(consumer);
            Ok(())
        })
    }
}
