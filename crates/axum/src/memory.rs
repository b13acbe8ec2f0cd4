//! The in-process queue: see [`MemoryQueue`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use clhooks::handoff::{Message, Outcome, Queue, QueueFuture, Record};
use clhooks::receiver::{Claim, MemoryStore, SeenStore};
use tokio::sync::Notify;

/// An in-process queue with the Redis queue's behaviour, for development and tests. It is
/// **not durable**: what it holds is lost when the process stops, and only workers in this
/// process see it. Its keys are claimed in the core's bounded memory store.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueue {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    arrived: Notify,
    seen: MemoryStore,
}

#[derive(Debug, Default)]
struct State {
    count: u64,
    ready: VecDeque<Message>,
    held: Vec<Message>,
    /// Retries, with when they are due (ms since the epoch).
    delayed: Vec<(u64, Message)>,
    dead: Vec<DeadMessage>,
}

/// A dead letter of a [`MemoryQueue`]: its message, why (a reason code) and the last error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadMessage {
    /// The message, its record's attempt count set.
    pub message: Message,
    /// Why: `handler_failed`, `unverified`, `invalid_record`, `abandoned`.
    pub reason: String,
    /// The last error's message.
    pub error: String,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The record's fields, its `attempt` set to `attempts`.
fn with_attempts(fields: &[(Vec<u8>, Vec<u8>)], attempts: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
    fields
        .iter()
        .map(|(name, value)| {
            let value = if name == b"attempt" { attempts.to_string().into_bytes() } else { value.clone() };
            (name.clone(), value)
        })
        .collect()
}

impl MemoryQueue {
    /// An empty queue.
    #[must_use]
    pub fn new() -> MemoryQueue {
        MemoryQueue::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, fields: Vec<(Vec<u8>, Vec<u8>)>) {
        let mut state = self.state();
        state.count += 1;
        let id = state.count.to_string();
        state.ready.push_back(Message { id, deliveries: 0, fields, consumer: String::new() });
        drop(state);
        self.inner.arrived.notify_waiters();
    }

    /// The dead letters, oldest first.
    #[must_use]
    pub fn dead_letters(&self) -> Vec<DeadMessage> {
        self.state().dead.clone()
    }

    /// Moves every dead letter back to the queue, its attempts counted afresh; how many.
    pub fn replay(&self) -> usize {
        let dead = std::mem::take(&mut self.state().dead);
        let moved = dead.len();
        for dead in dead {
            self.push(with_attempts(&dead.message.fields, 0));
        }
        moved
    }

    /// How many messages are ready, delayed and held.
    #[must_use]
    pub fn len(&self) -> (usize, usize, usize) {
        let state = self.state();
        (state.ready.len(), state.delayed.len(), state.held.len())
    }

    /// Whether nothing is ready, delayed or held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0, 0)
    }

    /// Up to `count` due messages, now.
    fn take_now(&self, consumer: &str, count: u32) -> Vec<Message> {
        let mut state = self.state();
        let now = now_ms();
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut state.delayed).into_iter().partition(|(at, _)| *at <= now);
        state.delayed = later;
        for (_, message) in due {
            state.ready.push_back(message);
        }
        let mut taken = Vec::new();
        while taken.len() < count as usize {
            let Some(mut message) = state.ready.pop_front() else { break };
            message.deliveries += 1;
            message.consumer = consumer.to_owned();
            state.held.push(message.clone());
            taken.push(message);
        }
        taken
    }
}

impl Queue for MemoryQueue {
    fn claims(&self) -> bool {
        true
    }

    fn enqueue<'a>(&'a self, record: &'a Record, claim_keep_ms: Option<u64>) -> QueueFuture<'a, Claim> {
        Box::pin(async move {
            if claim_keep_ms.is_some() {
                let terms = clhooks::Terms { lease_ms: 1, keep_ms: 1, wait_ms: 0 };
                let claim = self.inner.seen.claim(&record.key, terms)?;
                if claim != Claim::Fresh {
                    return Ok(claim);
                }
                // Queued counts as recorded: a copy of it is a duplicate.
                self.inner.seen.done(&record.key, terms)?;
            }
            let mut fields: Vec<(Vec<u8>, Vec<u8>)> =
                record.head().into_iter().map(|(n, v)| (n.as_bytes().to_vec(), v.into_bytes())).collect();
            fields.push((b"body".to_vec(), record.body.clone()));
            self.push(fields);
            Ok(Claim::Fresh)
        })
    }

    fn take<'a>(
        &'a self,
        consumer: &'a str,
        count: u32,
        block_ms: u64,
        _reclaim_idle_ms: u64,
    ) -> QueueFuture<'a, Vec<Message>> {
        Box::pin(async move {
            let arrived = self.inner.arrived.notified();
            let taken = self.take_now(consumer, count);
            if !taken.is_empty() || block_ms == 0 {
                return Ok(taken);
            }
            let due = self.state().delayed.iter().map(|(at, _)| at.saturating_sub(now_ms())).min();
            let wait = due.map_or(block_ms, |due| due.clamp(1, block_ms));
            let _ = tokio::time::timeout(Duration::from_millis(wait), arrived).await;
            Ok(self.take_now(consumer, count))
        })
    }

    fn extend<'a>(&'a self, message: &'a Message) -> QueueFuture<'a, bool> {
        Box::pin(async move { Ok(self.state().held.iter().any(|m| m.id == message.id)) })
    }

    fn settle<'a>(&'a self, message: &'a Message, outcome: Outcome, error: &'a str) -> QueueFuture<'a, bool> {
        Box::pin(async move {
            let mut state = self.state();
            let Some(at) = state.held.iter().position(|m| m.id == message.id) else { return Ok(false) };
            let mut held = state.held.remove(at);
            match outcome {
                Outcome::Done { .. } => {}
                Outcome::Retry { attempts, delay_ms } => {
                    held.fields = with_attempts(&held.fields, attempts);
                    held.deliveries = 0;
                    state.delayed.push((now_ms().saturating_add(delay_ms), held));
                }
                Outcome::Dead { attempts, reason } => {
                    held.fields = with_attempts(&held.fields, attempts);
                    state.dead.push(DeadMessage {
                        message: held,
                        reason: reason.code().to_owned(),
                        error: error.to_owned(),
                    });
                }
                Outcome::Release => {
                    held.deliveries = 0;
                    state.ready.push_front(held);
                }
            }
            Ok(true)
        })
    }
}
