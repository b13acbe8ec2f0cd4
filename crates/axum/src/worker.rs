//! The handoff worker on tokio: see [`Worker`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use clhooks::handoff::{self, DeadReason, Message, Outcome, Queue, Record, WorkerAction, WorkerConfig};
use clhooks::receiver::{AsyncSeenStore, Body, Claim, Receiver};
use clhooks::{Verifier, SIGNATURE_HEADER, TOPIC_HEADER};
use tokio::sync::{mpsc, oneshot};

use crate::{now_ms, observe, queue_said, BoxError, Caught, ErrorHook, Event, Handler};

/// What a worker's error hook ([`Worker::on_error`]) is told.
#[derive(Debug)]
#[non_exhaustive]
pub enum WorkerFailure<'a> {
    /// A handler failed (returned an error or panicked); the message is retried or
    /// dead-lettered, as the core decides.
    Handler {
        /// The event.
        event: &'a Event,
        /// What it returned.
        error: &'a BoxError,
    },
    /// A notice of the core's worker ([`handoff::WorkerNotice`]): a handler past the worker's
    /// timeout, a message dead-lettered, a queue that could not be read or settle; with the
    /// event when there is one, and the cause when there is one.
    Notice {
        /// What.
        notice: handoff::WorkerNotice,
        /// The event, if it could be read.
        event: Option<&'a Event>,
        /// The cause (the queue's error, the last handler error, why a record cannot run).
        cause: Option<&'a str>,
    },
}

impl WorkerFailure<'_> {
    /// The stable code: `handler_failed`, `handler_timeout`, `dead_lettered`,
    /// `queue_unavailable`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            WorkerFailure::Handler { .. } => handoff::WorkerNotice::HandlerFailed.code(),
            WorkerFailure::Notice { notice, .. } => notice.code(),
        }
    }
}

impl std::fmt::Display for WorkerFailure<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerFailure::Handler { event, error } => {
                write!(f, "{} {}: a handler failed: {error}", event.topic(), event.id())
            }
            WorkerFailure::Notice { notice, event, cause } => {
                if let Some(event) = event {
                    write!(f, "{} {}: ", event.topic(), event.id())?;
                }
                f.write_str(notice.message())?;
                cause.map_or(Ok(()), |cause| write!(f, ": {cause}"))
            }
        }
    }
}

type WorkerHook = Arc<dyn Fn(&WorkerFailure<'_>) + Send + Sync>;

/// Runs the handlers of what receivers handed off to a queue (`clhooks_redis::RedisQueue`), on
/// tokio, as the core's worker machine ([`handoff::Worker`]) decides: how many messages to take,
/// each one verified again and its handlers run in order, renewed while they run, then done,
/// retried after a backoff, or dead-lettered. It only moves messages and runs futures.
///
/// ```no_run
/// use std::sync::Arc;
/// use clhooks_axum::{Event, Worker};
/// use clhooks_redis::RedisQueue;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let queue = RedisQueue::connect("redis://127.0.0.1:6379", Default::default()).await?;
/// let worker = Worker::new([std::env::var("CL_WEBHOOK_SECRET")?], queue)?
///     .on("orders.place", |event: Event| async move {
///         println!("{} {}", event.topic(), event.id());
///         Ok::<(), std::io::Error>(()) // an Err is retried after a backoff
///     })?
///     .start();
/// // ... until the process should stop:
/// worker.stop(std::time::Duration::from_secs(30)).await;
/// # Ok(()) }
/// ```
pub struct Worker {
    receiver: Receiver,
    queue: Arc<dyn Queue>,
    /// Where each message's run is claimed, for a queue that may hold a delivery twice.
    seen: Option<Arc<dyn AsyncSeenStore>>,
    handlers: Vec<Option<Handler>>,
    config: WorkerConfig,
    on_error: Option<WorkerHook>,
    consumer: String,
    /// How metrics and logs name the queue.
    messaging: handoff::Messaging,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .field("consumer", &self.consumer)
            .field("handlers", &self.handlers.iter().flatten().count())
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker verifying every record with these secrets (keep the old one while rotating), on
    /// `queue`, with the core's defaults ([`WorkerConfig::default`]).
    ///
    /// # Errors
    ///
    /// `missing_secret`, `empty_secret`.
    pub fn new<I, S>(secrets: I, queue: impl Queue + 'static) -> clhooks::Result<Worker>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(Worker::from_parts(Receiver::new(Verifier::new(secrets)?), Arc::new(queue), Vec::new(), None))
    }

    pub(crate) fn from_parts(
        receiver: Receiver,
        queue: Arc<dyn Queue>,
        handlers: Vec<Option<Handler>>,
        on_error: Option<ErrorHook>,
    ) -> Worker {
        let on_error: Option<WorkerHook> = on_error.map(|hook| {
            let hook: WorkerHook = Arc::new(move |failure: &WorkerFailure<'_>| match failure {
                WorkerFailure::Handler { event, error } => hook(&crate::Failure::Handler { event, error }),
                // The receiver's hook knows the receiver's failures only: the worker's go to tracing.
                other => tracing::warn!(code = other.code(), "{other}"),
            });
            hook
        });
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let messaging = queue.messaging();
        Worker {
            receiver,
            queue,
            messaging,
            seen: None,
            handlers,
            config: WorkerConfig::default(),
            on_error,
            consumer: format!("{}-{nanos:x}", std::process::id()),
        }
    }

    /// The worker's attempts, backoff, heartbeat and pace.
    ///
    /// # Errors
    ///
    /// `invalid_worker` ([`WorkerConfig::check`]).
    pub fn config(mut self, config: WorkerConfig) -> clhooks::Result<Worker> {
        config.check()?;
        self.config = WorkerConfig { claim_runs: self.seen.is_some(), ..config };
        Ok(self)
    }

    /// Claims each message's run in `store` before running it, so that a delivery a queue holds
    /// twice (a queue that cannot claim keys, a crash between its write and its record) runs once.
    /// The Redis queue needs none: its claim and write are one step.
    #[must_use]
    pub fn seen(mut self, store: impl AsyncSeenStore + 'static) -> Worker {
        self.seen = Some(Arc::new(store));
        self.config.claim_runs = true;
        self
    }

    pub(crate) fn with_seen(mut self, store: Option<Arc<dyn AsyncSeenStore>>) -> Worker {
        self.config.claim_runs = store.is_some();
        self.seen = store;
        self
    }

    /// Runs `handler` for every queued event whose topic matches `pattern`, after the handlers
    /// added before it.
    ///
    /// # Errors
    ///
    /// `invalid_topic_pattern`.
    pub fn on<F, Fut, E>(mut self, pattern: &str, handler: F) -> clhooks::Result<Worker>
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let index = self.receiver.route(pattern)?;
        crate::set_handler(&mut self.handlers, index, handler);
        Ok(self)
    }

    /// Told of a handler's failure, a dead letter, a handler past the timeout and a queue that
    /// failed. By default they go to [`tracing`] (`warn`).
    #[must_use]
    pub fn on_error(mut self, hook: impl Fn(&WorkerFailure<'_>) + Send + Sync + 'static) -> Worker {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// Starts taking messages, on a task of its own.
    #[must_use]
    pub fn start(self) -> WorkerHandle {
        let (stop, stopping) = oneshot::channel();
        let task = tokio::spawn(self.run(stopping));
        WorkerHandle { stop: Some(stop), task }
    }

    fn tell(&self, failure: &WorkerFailure<'_>) {
        match &self.on_error {
            Some(hook) => hook(failure),
            None => tracing::warn!(code = failure.code(), "{failure}"),
        }
    }

    /// The machine's loop: its actions done, what they give told back, its wake-ups kept.
    async fn run(self, mut stopping: oneshot::Receiver<Duration>) {
        let this = Arc::new(self);
        let mut machine = handoff::Worker::new(this.config, now_ms());
        let (tell, mut told) = mpsc::unbounded_channel::<Done>();
        let mut jobs: HashMap<u32, Job> = HashMap::new();
        let mut take_error: Option<String> = None;
        let mut stop_asked = false;
        loop {
            while let Some(action) = machine.poll() {
                match action {
                    WorkerAction::Take { take, count, block_ms, reclaim_idle_ms } => {
                        let (this, tell) = (Arc::clone(&this), tell.clone());
                        tokio::spawn(async move {
                            let taken =
                                this.queue.take(&this.consumer, count, block_ms, reclaim_idle_ms).await;
                            let _ = tell.send(Done::Taken(take, taken.map_err(queue_said)));
                        });
                    }
                    WorkerAction::Run { job, index } => {
                        let Some(held) = jobs.get(&job) else { continue };
                        let Some(event) = held.event.clone() else { continue };
                        let handler = event
                            .delivery
                            .routes
                            .get(index)
                            .and_then(|route| this.handlers.get(*route))
                            .cloned()
                            .flatten();
                        let (this, tell) = (Arc::clone(&this), tell.clone());
                        tokio::spawn(async move {
                            let outcome = match handler {
                                Some(handler) => {
                                    let started = std::time::Instant::now();
                                    let outcome = Caught(handler(event.clone())).await;
                                    observe::processed(
                                        &event,
                                        started.elapsed(),
                                        outcome.is_ok(),
                                        &this.messaging,
                                    );
                                    outcome
                                }
                                // A route of the receiver given, with no handler: nothing ran.
                                None => Ok(()),
                            };
                            let _ = tell.send(Done::Handled(job, outcome));
                        });
                    }
                    WorkerAction::Extend { job } => {
                        let Some(held) = jobs.get(&job) else { continue };
                        let (this, tell, message) = (Arc::clone(&this), tell.clone(), held.message.clone());
                        tokio::spawn(async move {
                            let extended = this.queue.extend(&message).await.map_err(queue_said);
                            let _ = tell.send(Done::Extended(job, extended));
                        });
                    }
                    WorkerAction::Settle { job, outcome } => {
                        let attempt = machine.attempt(job).unwrap_or(1);
                        let Some(held) = jobs.get_mut(&job) else { continue };
                        held.settling = Some((outcome, attempt));
                        let error =
                            if matches!(outcome, Outcome::Dead { .. }) { held.error.clone() } else { None };
                        let (this, tell, message) = (Arc::clone(&this), tell.clone(), held.message.clone());
                        tokio::spawn(async move {
                            let settled = this
                                .queue
                                .settle(&message, outcome, error.as_deref().unwrap_or_default())
                                .await;
                            let _ = tell.send(Done::Settled(job, settled.map(|_| ()).map_err(queue_said)));
                        });
                    }
                    WorkerAction::Tell { job, notice } => {
                        let held = job.and_then(|job| jobs.get(&job));
                        let event = held.and_then(|held| held.event.as_ref());
                        if let (handoff::WorkerNotice::HandlerFailed, Some(event), Some(error)) =
                            (notice, event, held.and_then(|held| held.failure.as_ref()))
                        {
                            this.tell(&WorkerFailure::Handler { event, error });
                        } else {
                            let cause = match notice {
                                handoff::WorkerNotice::TakeFailed => take_error.as_deref(),
                                handoff::WorkerNotice::StoreFailed => {
                                    held.and_then(|h| h.store_error.as_deref())
                                }
                                handoff::WorkerNotice::SettleFailed | handoff::WorkerNotice::ExtendFailed => {
                                    held.and_then(|h| h.settle_error.as_deref())
                                }
                                _ => held.and_then(|h| h.error.as_deref()),
                            };
                            this.tell(&WorkerFailure::Notice { notice, event, cause });
                        }
                    }
                    WorkerAction::ClaimRun { job } => {
                        let (Some(held), Some(seen)) = (jobs.get(&job), this.seen.clone()) else { continue };
                        let (tell, key, terms) =
                            (tell.clone(), handoff::run_key(&held.key), this.config.run_terms());
                        tokio::spawn(async move {
                            let _ = tell.send(Done::RunClaimed(
                                job,
                                seen.claim(&key, terms).await.map_err(queue_said),
                            ));
                        });
                    }
                    WorkerAction::EndRun { job, handled } => {
                        let (Some(held), Some(seen)) = (jobs.get(&job), this.seen.clone()) else { continue };
                        let (tell, key, terms) =
                            (tell.clone(), handoff::run_key(&held.key), this.config.run_terms());
                        tokio::spawn(async move {
                            // The store failing to end it changes nothing: the lease frees the key.
                            let _ = seen.end(&key, terms, handled).await;
                            let _ = tell.send(Done::RunEnded(job));
                        });
                    }
                    WorkerAction::Forget { job } => {
                        jobs.remove(&job);
                    }
                    WorkerAction::Stopped => {
                        let _ = this.queue.leave(&this.consumer).await;
                        return;
                    }
                }
            }
            let pause = machine.next_wake().map(|at| Duration::from_millis(at.saturating_sub(now_ms())));
            let sleep = async move {
                match pause {
                    Some(pause) => tokio::time::sleep(pause).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                done = told.recv() => match done {
                    Some(Done::Taken(take, Ok(messages))) => {
                        take_error = None;
                        for message in messages {
                            // A take no longer waited for: its messages stay pending, to be reclaimed.
                            if let Some((job, held)) = this.read(&mut machine, take, message) {
                                jobs.insert(job, held);
                            }
                        }
                        machine.take_ended(take, now_ms());
                    }
                    Some(Done::Taken(take, Err(error))) => {
                        take_error = Some(error);
                        machine.take_failed(take, now_ms());
                    }
                    Some(Done::Handled(job, outcome)) => {
                        let ok = outcome.is_ok();
                        if let (Err(error), Some(held)) = (outcome, jobs.get_mut(&job)) {
                            held.error = Some(error.to_string());
                            held.failure = Some(error);
                        }
                        machine.handler_ended(job, ok, now_ms());
                    }
                    Some(Done::Extended(job, Ok(owned))) => machine.extended(job, owned, now_ms()),
                    Some(Done::Extended(job, Err(error))) => {
                        if let Some(held) = jobs.get_mut(&job) {
                            held.settle_error = Some(error);
                        }
                        machine.extend_failed(job);
                    }
                    Some(Done::RunClaimed(job, Ok(claim))) => machine.run_claimed(job, claim, now_ms()),
                    Some(Done::RunClaimed(job, Err(error))) => {
                        if let Some(held) = jobs.get_mut(&job) {
                            held.store_error = Some(error);
                        }
                        machine.run_claim_failed(job, now_ms());
                    }
                    Some(Done::RunEnded(job)) => machine.run_ended(job, now_ms()),
                    Some(Done::Settled(job, settled)) => {
                        match (&settled, jobs.get_mut(&job)) {
                            (Err(error), Some(held)) => held.settle_error = Some(error.clone()),
                            (Ok(()), Some(held)) => {
                                if let Some((outcome, attempt)) = held.settling {
                                    observe::settled(
                                        held.event.as_ref(),
                                        &outcome,
                                        attempt,
                                        held.taken.elapsed(),
                                        &this.messaging,
                                        &held.message.id,
                                    );
                                }
                            }
                            (_, None) => {}
                        }
                        machine.settled(job, settled.is_ok(), now_ms());
                    }
                    None => return,
                },
                () = sleep => machine.wake(now_ms()),
                grace = &mut stopping, if !stop_asked => {
                    stop_asked = true;
                    // A handle dropped without `stop` stops the worker too, with no grace.
                    machine.stop(now_ms(), grace.map_or(0, |g| u64::try_from(g.as_millis()).unwrap_or(u64::MAX)));
                }
            }
        }
    }

    /// A message take `take` got: its record read and verified again, then given to the machine.
    fn read(&self, machine: &mut handoff::Worker, take: u32, message: Message) -> Option<(u32, Job)> {
        let record = Record::from_fields(message.fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())));
        let key = record.as_ref().map(|record| record.key.clone()).unwrap_or_default();
        let (attempts, handlers, event, error) = match record {
            Err(e) => (0, Err(DeadReason::InvalidRecord), None, Some(e.to_string())),
            Ok(record) => {
                let headers =
                    [(SIGNATURE_HEADER, record.signature.as_str()), (TOPIC_HEADER, record.topic.as_str())];
                match self.receiver.receive("POST", headers, Body::Bytes(&record.body)) {
                    Ok(delivery) => {
                        let count = delivery.routes.len();
                        let event = Event { delivery: Arc::new(delivery), duplicate: false };
                        (record.attempts, Ok(count), Some(event), None)
                    }
                    Err(answer) => {
                        let reason = DeadReason::of_refusal(answer.status);
                        (record.attempts, Err(reason), None, Some(answer.body))
                    }
                }
            }
        };
        let job = machine.taken(take, attempts, message.deliveries, handlers, now_ms())?;
        let job_held = Job {
            message,
            event,
            error,
            failure: None,
            settle_error: None,
            store_error: None,
            key,
            taken: std::time::Instant::now(),
            settling: None,
        };
        Some((job, job_held))
    }
}

/// A running [`Worker`]: stop it to let what runs finish.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: Option<oneshot::Sender<Duration>>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Takes nothing more, lets what runs finish for `grace`, then hands back what still runs;
    /// returns once nothing is held.
    pub async fn stop(mut self, grace: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(grace);
        }
        let _ = (&mut self.task).await;
    }
}

/// A message the worker holds.
struct Job {
    message: Message,
    event: Option<Event>,
    /// The last failure's message (a handler's error, why a record cannot run).
    error: Option<String>,
    failure: Option<BoxError>,
    settle_error: Option<String>,
    store_error: Option<String>,
    /// Its delivery's key (its run is claimed under it).
    key: String,
    /// When it was taken.
    taken: std::time::Instant,
    /// How it is being settled, and at which attempt: recorded once it is.
    settling: Option<(Outcome, u32)>,
}

/// What a spawned action gives back to the worker's loop.
enum Done {
    Taken(u32, Result<Vec<Message>, String>),
    Handled(u32, Result<(), BoxError>),
    Extended(u32, Result<bool, String>),
    RunClaimed(u32, Result<Claim, String>),
    RunEnded(u32),
    Settled(u32, Result<(), String>),
}
