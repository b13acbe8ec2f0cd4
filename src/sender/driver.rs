//! The one delivery loop: the agenda of a run (events to publish, webhook updates) and the
//! [`Sender`], driven by a caller that owns the clock and makes the calls.
//!
//! The simulator ([`simulate`](super::simulate::simulate)) answers calls from a scenario's
//! endpoint model on a virtual clock; `clhooks simulate --live` and `clhooks send` make them
//! over HTTP from threads; the npm package's `simulateLive` makes them with `fetch`. All of
//! them loop the same way:
//!
//! 1. [`Driver::poll`] at `now`: it publishes what is due, applies the updates that are due, and
//!    hands out every attempt due — [`Call`]s to make now, side by side (one per webhook at a
//!    time, so each webhook sees its deliveries in order).
//! 2. [`Driver::complete`] with each call's [`Outcome`] as it ends.
//! 3. [`Driver::wait`] says how long to sleep for — until the next retry or scheduled item, or
//!    until a call ends — or that the run is over; [`Driver::woke`] says why the sleep ended.
//!
//! A live run compresses its waits by a time scale: while no call is out, a wait of 15 s for a
//! retry may really last 15 ms, and the driver's clock ([`Driver::now`]) jumps the difference.
//! While a call is out nothing is compressed: calls take real time, and the policy's 5 s
//! deadline stays 5 s.

use std::ops::Range;

use super::simulate::{report, Agenda, Report, Scenario, MAX_TIMELINE};
use super::{Outcome, Output, Request, Sender};
use crate::error::{Error, Result};

/// A call to make now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Pass it back to [`Driver::complete`].
    pub id: u64,
    /// The webhook.
    pub webhook: String,
    /// The event.
    pub event: String,
    /// 1 for the first call of a delivery.
    pub attempt: u32,
    /// The request: URL, headers, signed body.
    pub request: Request,
    /// Abort the call after this long: the policy's timeout.
    pub timeout_ms: u64,
}

/// What [`Driver::poll`] did: the calls to make, and where the timeline entries it added are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Due {
    /// Calls to make now, side by side.
    pub calls: Vec<Call>,
    /// The new timeline entries: [`Driver::entries`] of this range.
    pub entries: Range<usize>,
}

/// What to do until the next [`Driver::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Nothing is due and nothing is out: the run is over.
    Done,
    /// Sleep this many real ms, or less if a call ends first; `None`: until a call ends.
    Sleep(Option<u64>),
}

/// The delivery loop of one run.
#[derive(Debug)]
pub struct Driver {
    sender: Sender,
    agenda: Agenda,
    timeline: Vec<Output>,
    start: u64,
    in_flight: usize,
    scale: f64,
    skipped: u64,
    /// A compressed sleep under way: (virtual ms, real ms).
    sleeping: Option<(u64, u64)>,
    /// The `now` of the last poll: what is due by then has been handed out or waits for a call.
    polled_at: u64,
}

impl Driver {
    /// A driver over a sender and an agenda whose times are on the caller's clock; `start` is
    /// where the report's clock begins.
    #[must_use]
    pub fn new(sender: Sender, agenda: impl Into<Agenda>, start: u64) -> Driver {
        Driver {
            sender,
            agenda: agenda.into(),
            timeline: Vec::new(),
            start,
            in_flight: 0,
            scale: 1.0,
            skipped: 0,
            sleeping: None,
            polled_at: 0,
        }
    }

    /// A live run: the agenda moved so that its first item happens at `now` (ms since the Unix
    /// epoch), its waits compressed by `time_scale` (1 for real time, 0.001 to make 15 s last
    /// 15 ms; clamped to 0..=1).
    #[must_use]
    pub fn live(sender: Sender, agenda: impl Into<Agenda>, now: u64, time_scale: f64) -> Driver {
        let mut agenda = agenda.into();
        agenda.start_at(now);
        let mut driver = Driver::new(sender, agenda, now);
        driver.scale = if time_scale.is_finite() { time_scale.clamp(0.0, 1.0) } else { 1.0 };
        driver
    }

    /// A scenario on its own virtual clock, from its `start_ms`.
    ///
    /// # Errors
    ///
    /// As [`Scenario::sender`] and [`Scenario::agenda`].
    pub fn simulated(scenario: &Scenario) -> Result<Driver> {
        Ok(Driver::new(scenario.sender()?, scenario.agenda()?, scenario.start_ms))
    }

    /// A scenario delivered live from `now`; see [`Driver::live`].
    ///
    /// # Errors
    ///
    /// As [`Scenario::sender`] and [`Scenario::agenda`].
    pub fn from_scenario_live(scenario: &Scenario, now: u64, time_scale: f64) -> Result<Driver> {
        Ok(Driver::live(scenario.sender()?, scenario.agenda()?, now, time_scale))
    }

    /// The driver's clock for a wall-clock time: the wall clock plus the waits skipped.
    #[must_use]
    pub fn now(&self, wall_ms: u64) -> u64 {
        wall_ms.saturating_add(self.skipped)
    }

    /// When the run started.
    #[must_use]
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The sender.
    #[must_use]
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// Everything decided so far.
    #[must_use]
    pub fn timeline(&self) -> &[Output] {
        &self.timeline
    }

    /// How many calls are out.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Publishes the events and applies the updates due at `now`, then hands out every attempt
    /// due whose webhook has no call out.
    ///
    /// # Errors
    ///
    /// As [`Sender::publish`] and [`Sender::update`].
    pub fn poll(&mut self, now: u64) -> Result<Due> {
        self.polled_at = now;
        let first = self.timeline.len();
        let mut calls = Vec::new();
        while let Some(item) = self.agenda.pop_due(now)? {
            self.timeline.extend(item.apply(&mut self.sender, now)?);
            self.within_budget()?;
        }
        let timeout_ms = self.sender.policy().timeout_ms;
        while let Some((attempt, entry)) = self.sender.poll(now) {
            self.timeline.push(entry);
            self.within_budget()?;
            self.in_flight = self.in_flight.saturating_add(1);
            calls.push(Call {
                id: attempt.id,
                webhook: attempt.webhook,
                event: attempt.event,
                attempt: attempt.attempt,
                request: attempt.request,
                timeout_ms,
            });
        }
        Ok(Due { calls, entries: first..self.timeline.len() })
    }

    /// Reports how a call ended; returns where the timeline entries it led to are
    /// ([`Driver::entries`]).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownAttempt`] for a call that is not out.
    pub fn complete(&mut self, id: u64, outcome: &Outcome, now: u64) -> Result<Range<usize>> {
        let first = self.timeline.len();
        let entries = self.sender.complete(id, outcome, now)?;
        self.in_flight = self.in_flight.saturating_sub(1);
        self.timeline.extend(entries);
        self.within_budget()?;
        Ok(first..self.timeline.len())
    }

    /// [`MAX_TIMELINE`]: a run records at most that many entries.
    fn within_budget(&self) -> Result<()> {
        if self.timeline.len() > MAX_TIMELINE {
            return Err(Error::SimulationLimit { limit: "timeline entries", value: MAX_TIMELINE as u64 });
        }
        Ok(())
    }

    /// The timeline entries of a range that [`Driver::poll`] or [`Driver::complete`] gave.
    #[must_use]
    pub fn entries(&self, range: Range<usize>) -> &[Output] {
        self.timeline.get(range).unwrap_or_default()
    }

    /// When the next scheduled item or retry after `now` is due.
    #[must_use]
    pub fn next_wake(&self, now: u64) -> Option<u64> {
        let scheduled = self.agenda.next_at().map(|at| at.max(now.saturating_add(1)));
        [scheduled, self.sender.next_due_after(now)].into_iter().flatten().min()
    }

    /// How long to sleep, at `now`, after the last [`poll`](Driver::poll), with the waits
    /// compressed while no call is out. What fell due since that poll (time passes between the
    /// two) makes the sleep 0: poll again.
    pub fn wait(&mut self, now: u64) -> Wait {
        self.sleeping = None;
        match self.next_wake(self.polled_at) {
            None if self.in_flight == 0 => Wait::Done,
            None => Wait::Sleep(None),
            Some(at) => {
                let wait = at.saturating_sub(now);
                if self.in_flight > 0 {
                    return Wait::Sleep(Some(wait));
                }
                let real = (wait as f64 * self.scale) as u64;
                self.sleeping = Some((wait, real));
                Wait::Sleep(Some(real))
            }
        }
    }

    /// The sleep ended: by a call's end (`by_call`) or by running its course, in which case a
    /// compressed wait's skipped time is added to the clock.
    pub fn woke(&mut self, by_call: bool) {
        if let Some((wait, real)) = self.sleeping.take() {
            if !by_call {
                self.skipped = self.skipped.saturating_add(wait.saturating_sub(real));
            }
        }
    }

    /// The report of the run so far, ending at `end`.
    #[must_use]
    pub fn report(&self, end: u64) -> Report {
        report(&self.sender, self.timeline.clone(), self.start, end)
    }

    /// The report of the run, ending at `end`, without copying its timeline.
    #[must_use]
    pub fn into_report(self, end: u64) -> Report {
        report(&self.sender, self.timeline, self.start, end)
    }
}
