//! The delivery session: see [`Session`].

use std::collections::VecDeque;

use super::{Answer, Claim, Duplicates, Handoff, InFlight, Receiver, Run, Terms};
use crate::topic::Topic;

/// Commerce Layer's deadline for an answer (5 s): a handler still running then has failed the
/// delivery for Commerce Layer, which retries it.
pub const ANSWER_DEADLINE_MS: u64 = 5_000;

/// What the caller does next for a [`Session`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Ask the seen-store to claim the delivery's key with these terms, then tell the session
    /// what it said ([`Session::claimed`]) or that it failed ([`Session::store_failed`]).
    Claim(Terms),
    /// Run the handler of the delivery's `index`-th route (counted in the order the routes
    /// match), telling it whether the delivery was handled before; then tell the session
    /// [`Session::handler_ended`].
    Run {
        /// Which of the delivery's routes.
        index: usize,
        /// Whether the key was handled before ([`Duplicates::Mark`]).
        duplicate: bool,
    },
    /// End the claim: recorded as done (`handled`) or released, so the retry runs; then tell
    /// the session [`Session::claim_ended`], whether the store did it or failed. The answer,
    /// when there is one still to give, follows: a 200 means the key is recorded, so a copy
    /// that comes after it is a duplicate.
    End {
        /// Done (true) or released (false).
        handled: bool,
        /// With the count folded in (a store that can, [`Session::fold_counts`]): the answer
        /// that waits for the end, to count in the same step ([`crate::health::Attempt`], at the
        /// time the end is asked). Offered only when that answer is sure to be in time: the
        /// end is waited for at most the store wait, and that still ends within Commerce
        /// Layer's deadline. Then tell the session [`Session::claim_ended`] as ever.
        count: Option<Answer>,
    },
    /// Tell the error handler (`onError`) this.
    Tell(Notice),
    /// Send this answer. A session answers once.
    Answer(Answer),
    /// Count the answer just given in its webhook's failure streak ([`crate::health`]), with the
    /// time it was handed to the runtime and how long after its request arrived. It follows
    /// every [`Action::Answer`]. `folded`: the claim's end carried the count already
    /// ([`Action::End`]'s `count`): its reply, when it comes, is the count's, and nothing more
    /// is sent.
    Count {
        /// Counted by the claim's end.
        folded: bool,
    },
    /// Hand the delivery to the queue ([`Receiver::with_handoff`]): write its record
    /// ([`crate::handoff::Record`]) and tell the session [`Session::enqueued`] once the queue
    /// holds it durably, or [`Session::enqueue_failed`]. With `claim`, the queue claims the
    /// delivery's key in the same atomic step and says what it found, as a seen-store's claim
    /// would ([`Claim::Fresh`]: queued now); otherwise it only writes the record, and says
    /// [`Claim::Fresh`].
    Enqueue {
        /// Whether the queue claims the key in the same step.
        claim: bool,
    },
}

/// What a [`Session`] has the caller tell its error handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The handler that just ended failed: the caller tells its error.
    HandlerFailed,
    /// A handler is still running at Commerce Layer's deadline ([`ANSWER_DEADLINE_MS`]):
    /// Commerce Layer counts the delivery as failed and will retry it. Told once per delivery.
    DeadlineExceeded,
    /// The store could not end a claim, or said nothing within the store wait
    /// (`store_unavailable`): the answer stands, and the claim's lease frees the key in time.
    EndFailed,
    /// The queue failed to take the delivery, or said nothing within the store wait
    /// (`queue_unavailable`): answered 503, so Commerce Layer retries it. The caller tells its
    /// queue's error when there is one.
    QueueFailed,
}

impl Notice {
    /// Every notice, in a fixed order (a binding may hand them out by their place in it).
    pub const ALL: [Notice; 4] =
        [Notice::HandlerFailed, Notice::DeadlineExceeded, Notice::EndFailed, Notice::QueueFailed];

    /// The code the error handler is told: `handler_failed`, `deadline_exceeded`,
    /// `store_unavailable`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Notice::HandlerFailed => "handler_failed",
            Notice::DeadlineExceeded => "deadline_exceeded",
            Notice::EndFailed => "store_unavailable",
            Notice::QueueFailed => super::QUEUE_UNAVAILABLE.0,
        }
    }

    /// The status of the answer this notice goes with: 500 for a failed handler; 503 for a
    /// deadline passed (Commerce Layer counts the delivery as a failure to retry, whatever it
    /// is answered after it) and for a store that could not end a claim (`store_unavailable`'s).
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Notice::HandlerFailed => super::HANDLER_FAILED.1,
            Notice::DeadlineExceeded => super::HANDLER_TIMEOUT.1,
            Notice::EndFailed => crate::Error::StoreUnavailable { message: String::new() }.http_status(),
            Notice::QueueFailed => super::QUEUE_UNAVAILABLE.1,
        }
    }

    /// What the error handler is told, for a deadline passed (the others carry the caller's
    /// error).
    #[must_use]
    pub fn message(&self) -> &'static str {
        match self {
            Notice::HandlerFailed => "a handler failed; Commerce Layer will try again",
            Notice::DeadlineExceeded => {
                "a handler is still running at Commerce Layer's 5 s deadline: Commerce Layer counts \
                 the delivery as failed and will retry it (answered 409 while this one runs, then \
                 as a duplicate). Hand slow work to a queue and answer at once"
            }
            Notice::EndFailed => "the seen-store could not end a claim; its lease frees the key",
            Notice::QueueFailed => QUEUE_FAILED,
        }
    }
}

/// What a delivery the queue did not take is answered, and its error handler told.
const QUEUE_FAILED: &str = "the queue did not take the delivery; Commerce Layer will try again";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The claim is asked; answered 503 if the store says nothing by `until`.
    Claiming { until: Option<u64> },
    /// The store was too late: answered 503 already; a fresh claim coming back is released.
    Late,
    /// Handler `index` runs.
    Running { index: usize, run: Run, since: u64 },
    /// The claim's end is asked; the answer, if any is still to give, waits for it until
    /// `until` (the store wait).
    Ending { until: Option<u64> },
    /// The record is being written to the queue ([`Action::Enqueue`]); answered 503 if the queue
    /// says nothing by `until`. `claimed`: a seen-store's claim holds the key meanwhile.
    Enqueuing { until: Option<u64>, claimed: bool },
    /// The queue was too late: answered 503 already; what it says still ends a claim held.
    EnqueueLate { claimed: bool },
    /// Nothing left to do.
    Over,
}

/// One delivery's sequence after step 1, as a sans-IO machine: claim its key, wait a bounded
/// time for the store, run the handlers of its routes in order, warn when they outlive
/// Commerce Layer's deadline, end the claim (recorded or released), then answer: a 200 comes
/// once the key is recorded, so a copy sent after it is a duplicate (the end is waited for at
/// most the store wait, as the claim is). The caller owns the store, the
/// handlers and the clock: it tells the [`Session`] what happened, with the time, and does the
/// [`Action`]s it hands out, in order, waking it at [`Session::next_wake`]. No timer, future or
/// promise is inside, as quinn-proto's connection leaves its timers to quinn.
///
/// **The deadline rule.** Commerce Layer waits 5 s ([`ANSWER_DEADLINE_MS`]) for an answer and
/// retries after it. A handler still running then is told once ([`Notice::DeadlineExceeded`]):
/// inline work that slow belongs on a queue. Its claim is kept while it runs, so a retry that
/// arrives meanwhile is answered 409 `in_flight`, and it is recorded when the handler ends,
/// done or released, so the next retry is a duplicate or runs again: a slow handler is neither
/// lost nor run twice. Past the handler timeout the answer is 503 `handler_timeout` (if the
/// connection still waits), and the claim is still kept until the handler ends, or until its
/// lease ends (counted from the claim's answer; [`LEASE_MARGIN_MS`](super::LEASE_MARGIN_MS)
/// past the handler timeout): the claim is released then, as the store would free it by itself
/// (the memory store keeps no time, so only this frees its key), and a handler that ends later
/// changes nothing (a retry may have run it by then). A run
/// that holds no claim (no store, a marked duplicate) is over at the handler timeout. So every
/// session ends within a bounded time, whatever its handlers do, unless the handler timeout is
/// 0 and there is no claim: then it lasts as long as the handler.
///
/// [`Receiver::handle`] (and so `clhooks listen`), `clhooks-axum` and the package's receivers
/// drive it.
#[derive(Debug, Clone)]
pub struct Session {
    topic: Topic,
    handlers: usize,
    terms: Terms,
    duplicates: Duplicates,
    in_flight: InFlight,
    handler_timeout_ms: u64,
    started: u64,
    /// When the request arrived, where the store folds the count into the claim's end.
    fold: Option<u64>,
    /// The end asked carries the count.
    folding: bool,
    phase: Phase,
    answered: bool,
    warned: bool,
    timed_out: bool,
    handoff: Handoff,
    /// The answer to give once the claim's end comes back.
    after_end: Option<Answer>,
    actions: VecDeque<Action>,
}

impl Session {
    /// The session of a delivery of `topic` that `receiver` accepted at `now_ms`, with
    /// `handlers` handlers to run (its routes' handlers), and a seen-store (`store`) or none.
    #[must_use]
    pub fn new(receiver: &Receiver, topic: Topic, handlers: usize, store: bool, now_ms: u64) -> Session {
        let terms = receiver.terms();
        let mut session = Session {
            topic,
            handlers,
            terms,
            duplicates: receiver.duplicates,
            in_flight: receiver.in_flight,
            handler_timeout_ms: receiver.handler_timeout_ms,
            started: now_ms,
            fold: None,
            folding: false,
            phase: Phase::Over,
            answered: false,
            warned: false,
            timed_out: false,
            handoff: Handoff::Inline,
            after_end: None,
            actions: VecDeque::new(),
        };
        let until = (terms.wait_ms > 0).then(|| now_ms.saturating_add(terms.wait_ms));
        match (receiver.handoff, store) {
            // The queue claims the key as it takes the record: one step.
            (Handoff::Queue { claims: true }, true) => session.enqueue(until, false, true),
            (Handoff::Inline | Handoff::Queue { claims: false }, true) => {
                session.phase = Phase::Claiming { until };
                session.actions.push_back(Action::Claim(terms));
            }
            (Handoff::Queue { .. }, false) => session.enqueue(until, false, false),
            (Handoff::Inline, false) => session.run(Run { duplicate: false, claimed: false }, now_ms),
        }
        session.handoff = receiver.handoff;
        session
    }

    /// The store ends a claim and counts the answer in one step (the Redis store's end script:
    /// no round trip of its own for the count), and the request arrived at `arrived_ms` (the
    /// session's clock). Each [`Action::End`] whose waiting answer is sure to be in time then
    /// carries it to count, and the [`Action::Count`] after the answer says it was folded.
    pub fn fold_counts(&mut self, arrived_ms: u64) {
        self.fold = Some(arrived_ms);
    }

    /// The next thing to do, in order; `None` until the session is told something more.
    pub fn poll(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next thing to do, left in place: what [`Session::poll`] gives next.
    #[must_use]
    pub fn peek(&self) -> Option<&Action> {
        self.actions.front()
    }

    /// How many actions are handed out and not polled yet.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.actions.len()
    }

    /// When to wake the session ([`Session::wake`]) if nothing else happens first, in the
    /// caller's milliseconds.
    #[must_use]
    pub fn next_wake(&self) -> Option<u64> {
        match self.phase {
            Phase::Claiming { until } => until,
            Phase::Running { run, since, .. } => {
                let deadline = (!self.warned).then(|| self.started.saturating_add(ANSWER_DEADLINE_MS));
                let timeout = (!self.timed_out && self.handler_timeout_ms > 0)
                    .then(|| since.saturating_add(self.handler_timeout_ms));
                let lease = run.claimed.then(|| since.saturating_add(self.terms.lease_ms));
                [deadline, timeout, lease].into_iter().flatten().min()
            }
            Phase::Ending { until } | Phase::Enqueuing { until, .. } => until,
            Phase::Late | Phase::EnqueueLate { .. } | Phase::Over => None,
        }
    }

    /// Whether the session has nothing left to do (its actions polled or not).
    #[must_use]
    pub fn is_over(&self) -> bool {
        // A session answered late still waits for the claim, to release it should it be fresh,
        // or for the queue, to end the claim it holds.
        matches!(self.phase, Phase::Over)
    }

    /// Whether the session is over and every action it handed out was polled: a driver that
    /// keeps sessions may forget this one.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.is_over() && self.actions.is_empty()
    }

    /// Whether the session has handed out its answer.
    #[must_use]
    pub fn answered(&self) -> bool {
        self.answered
    }

    /// The store's answer to the claim.
    pub fn claimed(&mut self, claim: Claim, now_ms: u64) {
        match self.phase {
            Phase::Claiming { .. } => match decide(&self.topic, claim, self.duplicates, self.in_flight) {
                // Handed off: the claim held while the queue takes the record.
                Ok(Run { claimed: true, .. }) if self.handoff != Handoff::Inline => {
                    let until = (self.terms.wait_ms > 0).then(|| now_ms.saturating_add(self.terms.wait_ms));
                    self.enqueue(until, true, false);
                }
                // A queued event's copy is a duplicate, whatever the duplicate rule: it runs on
                // the queue.
                Ok(Run { duplicate: true, .. }) if self.handoff != Handoff::Inline => {
                    self.answer(Answer::received(self.topic.as_str(), true));
                    self.phase = Phase::Over;
                }
                Ok(run) => self.run(run, now_ms),
                Err(answer) => {
                    self.answer(answer);
                    self.phase = Phase::Over;
                }
            },
            // Answered 503 already: a claim that came back fresh is released at once, so that
            // the retry runs.
            Phase::Late => {
                if claim == Claim::Fresh {
                    self.end(false, now_ms);
                } else {
                    self.phase = Phase::Over;
                }
            }
            Phase::Running { .. }
            | Phase::Ending { .. }
            | Phase::Enqueuing { .. }
            | Phase::EnqueueLate { .. }
            | Phase::Over => {}
        }
    }

    /// The queue holds the delivery's record ([`Action::Enqueue`]), at `now_ms`: `claim` is what
    /// a queue that claims found ([`Claim::Fresh`]: queued now; a duplicate or a copy in flight
    /// is answered as a store's claim would be), [`Claim::Fresh`] from any other queue.
    pub fn enqueued(&mut self, claim: Claim, now_ms: u64) {
        match self.phase {
            // Queued under a seen-store's claim: the key is recorded, then 200.
            Phase::Enqueuing { claimed: true, .. } => {
                self.after_end = Some(Answer::handed_off(self.topic.as_str()));
                self.end(true, now_ms);
            }
            Phase::Enqueuing { claimed: false, .. } => {
                let answer = match decide(&self.topic, claim, self.duplicates, self.in_flight) {
                    Ok(Run { duplicate: false, .. }) => Answer::handed_off(self.topic.as_str()),
                    // A duplicate is answered so whatever the duplicate rule: it runs on the queue.
                    Ok(Run { duplicate: true, .. }) => Answer::received(self.topic.as_str(), true),
                    Err(answer) => answer,
                };
                self.answer(answer);
                self.phase = Phase::Over;
            }
            // Answered 503 already, but queued: the key is recorded all the same, so the retry is
            // a duplicate and the event runs once.
            Phase::EnqueueLate { claimed: true } => self.end(true, now_ms),
            Phase::EnqueueLate { claimed: false } => self.phase = Phase::Over,
            Phase::Claiming { .. }
            | Phase::Late
            | Phase::Running { .. }
            | Phase::Ending { .. }
            | Phase::Over => {}
        }
    }

    /// The queue failed to take the record (threw, rejected, is down), at `now_ms`: told, and
    /// 503 `queue_unavailable` once a seen-store's claim is released, so the retry runs.
    pub fn enqueue_failed(&mut self, now_ms: u64) {
        match self.phase {
            Phase::Enqueuing { claimed, .. } => {
                self.actions.push_back(Action::Tell(Notice::QueueFailed));
                let answer = Answer::coded(super::QUEUE_UNAVAILABLE, QUEUE_FAILED);
                if claimed {
                    self.after_end = Some(answer);
                    self.end(false, now_ms);
                } else {
                    self.answer(answer);
                    self.phase = Phase::Over;
                }
            }
            Phase::EnqueueLate { claimed: true } => self.end(false, now_ms),
            Phase::EnqueueLate { claimed: false } => self.phase = Phase::Over,
            Phase::Claiming { .. }
            | Phase::Late
            | Phase::Running { .. }
            | Phase::Ending { .. }
            | Phase::Over => {}
        }
    }

    /// The store failed to claim (threw, rejected, is down): 503 `store_unavailable`.
    pub fn store_failed(&mut self, message: &str) {
        match self.phase {
            Phase::Claiming { .. } => {
                self.answer(Receiver::store_failed(message));
                self.phase = Phase::Over;
            }
            Phase::Late => self.phase = Phase::Over,
            Phase::Running { .. }
            | Phase::Ending { .. }
            | Phase::Enqueuing { .. }
            | Phase::EnqueueLate { .. }
            | Phase::Over => {}
        }
    }

    /// The handler the last [`Action::Run`] named ended: `ok`, or it failed (threw, rejected).
    pub fn handler_ended(&mut self, ok: bool, now_ms: u64) {
        let Phase::Running { index, run, since } = self.phase else { return };
        if ok && index.saturating_add(1) < self.handlers {
            let index = index.saturating_add(1);
            self.phase = Phase::Running { index, run, since };
            self.actions.push_back(Action::Run { index, duplicate: run.duplicate });
            self.wake(now_ms);
            return;
        }
        if !ok {
            self.actions.push_back(Action::Tell(Notice::HandlerFailed));
        }
        self.finish(run, ok, now_ms);
    }

    /// The store could not carry the count the claim's end was given ([`Action::End`]'s
    /// `count`): it ends the claim alone, and the answer is counted on its own after it.
    pub fn unfolded(&mut self) {
        self.folding = false;
    }

    /// The claim's end ([`Action::End`]) came back: done (`ok`), or the store failed, and the
    /// error handler is told. Then the answer, if one is still to give: it stands either way.
    pub fn claim_ended(&mut self, ok: bool) {
        if let Phase::Ending { .. } = self.phase {
            if !ok {
                self.actions.push_back(Action::Tell(Notice::EndFailed));
                // The end failed, and the count it carried with it: counted on its own.
                self.folding = false;
            }
            self.ended();
        }
    }

    /// The time is `now_ms` (at [`Session::next_wake`], or later).
    pub fn wake(&mut self, now_ms: u64) {
        match self.phase {
            Phase::Claiming { until: Some(until) } if now_ms >= until => {
                let message = format!("no answer within {} ms", self.terms.wait_ms);
                self.answer(Receiver::store_failed(&message));
                self.phase = Phase::Late;
            }
            Phase::Running { run, since, .. } => {
                if !self.warned && now_ms >= self.started.saturating_add(ANSWER_DEADLINE_MS) {
                    self.warned = true;
                    self.actions.push_back(Action::Tell(Notice::DeadlineExceeded));
                }
                let timeout =
                    self.handler_timeout_ms > 0 && now_ms >= since.saturating_add(self.handler_timeout_ms);
                let lease_over = run.claimed && now_ms >= since.saturating_add(self.terms.lease_ms);
                let late = Answer::coded(
                    super::HANDLER_TIMEOUT,
                    "the handlers did not finish in time; Commerce Layer will try again",
                );
                if lease_over {
                    // The lease has run out: the claim is released (a store that keeps no time,
                    // the memory store, frees the key only so), and what the handler does
                    // afterwards changes nothing.
                    self.timed_out = true;
                    if !self.answered {
                        self.after_end = Some(late);
                    }
                    self.end(false, now_ms);
                } else if timeout && !self.timed_out {
                    // The connection may still wait: say the handlers took too long. A claim is
                    // kept, to be ended by the handler's own end (the deadline rule); without
                    // one, nothing is left to do.
                    self.timed_out = true;
                    self.answer(late);
                    if !run.claimed {
                        self.phase = Phase::Over;
                    }
                }
            }
            // The store said nothing of the end within its wait: told as a failure, and the
            // answer given; what it says later is not waited for (a count it carries is still
            // the count: its reply, should it come, says the streak).
            Phase::Ending { until: Some(until) } if now_ms >= until => {
                self.actions.push_back(Action::Tell(Notice::EndFailed));
                self.ended();
            }
            // The queue said nothing within the store wait: 503, and told. Whatever it says later
            // still ends a claim held (recorded if it queued the event, released if not).
            Phase::Enqueuing { until: Some(until), claimed } if now_ms >= until => {
                self.actions.push_back(Action::Tell(Notice::QueueFailed));
                self.answer(Answer::coded(super::QUEUE_UNAVAILABLE, QUEUE_FAILED));
                self.phase = Phase::EnqueueLate { claimed };
            }
            Phase::Claiming { .. }
            | Phase::Ending { .. }
            | Phase::Enqueuing { .. }
            | Phase::EnqueueLate { .. }
            | Phase::Late
            | Phase::Over => {}
        }
    }

    /// Hands the record to the queue (`claim`: the queue claims the key too), waiting for it
    /// until `until`.
    fn enqueue(&mut self, until: Option<u64>, claimed: bool, claim: bool) {
        self.phase = Phase::Enqueuing { until, claimed };
        self.actions.push_back(Action::Enqueue { claim });
    }

    fn run(&mut self, run: Run, now_ms: u64) {
        if self.handlers == 0 {
            self.finish(run, true, now_ms);
            return;
        }
        self.phase = Phase::Running { index: 0, run, since: now_ms };
        self.actions.push_back(Action::Run { index: 0, duplicate: run.duplicate });
        self.wake(now_ms);
    }

    fn finish(&mut self, run: Run, ok: bool, now_ms: u64) {
        let answer = if ok {
            Answer::received(self.topic.as_str(), run.duplicate)
        } else {
            Answer::coded(super::HANDLER_FAILED, "a handler failed; Commerce Layer will try again")
        };
        if run.claimed {
            if !self.answered {
                self.after_end = Some(answer);
            }
            self.end(ok, now_ms);
        } else {
            self.answer(answer);
            self.phase = Phase::Over;
        }
    }

    /// Asks for the claim's end, and waits for it at most the store wait.
    fn end(&mut self, handled: bool, now_ms: u64) {
        let until = (self.terms.wait_ms > 0).then(|| now_ms.saturating_add(self.terms.wait_ms));
        // The answer that waits for the end is given by `until` at the latest: folded in when
        // that is within Commerce Layer's deadline, so the count's lateness is known now.
        let count = match (self.fold, until, &self.after_end) {
            (Some(arrived), Some(until), Some(answer))
                if !self.answered
                    && !crate::sender::Policy::is_late(until.saturating_sub(arrived), ANSWER_DEADLINE_MS) =>
            {
                Some(answer.clone())
            }
            _ => None,
        };
        self.folding = count.is_some();
        self.actions.push_back(Action::End { handled, count });
        self.phase = Phase::Ending { until };
    }

    /// The claim's end is over: the answer that waited for it, and nothing more.
    fn ended(&mut self) {
        if let Some(answer) = self.after_end.take() {
            self.answer(answer);
        }
        self.phase = Phase::Over;
    }

    fn answer(&mut self, answer: Answer) {
        if !self.answered {
            self.answered = true;
            self.actions.push_back(Action::Answer(answer));
            self.actions.push_back(Action::Count { folded: self.folding });
        }
    }
}

/// Step 2's decision, shared by [`Receiver::claimed`] and the session.
pub(super) fn decide(
    topic: &Topic,
    claim: Claim,
    duplicates: Duplicates,
    in_flight: InFlight,
) -> Result<Run, Answer> {
    match (claim, duplicates) {
        (Claim::Fresh, _) => Ok(Run { duplicate: false, claimed: true }),
        (Claim::Duplicate, Duplicates::Skip) => Err(Answer::received(topic.as_str(), true)),
        (Claim::Duplicate, Duplicates::Mark) => Ok(Run { duplicate: true, claimed: false }),
        (Claim::InFlight, _) if in_flight == InFlight::Accept => {
            Err(Answer::json(200, &[("received", topic.as_str())], &[("in_flight", "true")]))
        }
        (Claim::InFlight, _) => Err(Answer::coded(
            super::IN_FLIGHT,
            "another copy of this delivery is being handled; try again later",
        )),
    }
}
