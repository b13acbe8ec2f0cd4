//! The failure streaks a receiver counts, and their health endpoint.

use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clhooks::handoff::Queue;
use clhooks::health::Tally;
use clhooks::health::{Attempt, Report, Rules, Signal, Webhook};
use clhooks::receiver::{Answer, AsyncSeenStore, Receiver, StoreFuture, ANSWER_CONTENT_TYPE};

/// The failure streaks of a [`Webhooks`](crate::Webhooks), per webhook, counted in this process
/// as Commerce Layer counts them ([`clhooks::health`]): cheap to clone, the same counters.
///
/// ```
/// # fn main() -> Result<(), clhooks::Error> {
/// let webhooks = clhooks_axum::Webhooks::new(["secret"])?;
/// let health = webhooks.health();
/// let app = webhooks.into_router("/webhooks").merge(health.into_router("/webhooks/health"));
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Health {
    counters: Arc<Mutex<clhooks::health::Health>>,
    /// The store or queue whose counters every instance shares, when one keeps them.
    shared: Arc<Mutex<Option<Shared>>>,
    /// Whether that store counts in the script that ends a claim.
    folds: Arc<std::sync::atomic::AtomicBool>,
    /// The receiver's secrets' fingerprints, for the report to name them by their place.
    secrets: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health").field("shared", &self.shared()).finish_non_exhaustive()
    }
}

impl Health {
    /// Counts in `store` from now on when it keeps counters ([`AsyncSeenStore::count`]), or
    /// else in `queue` (one that claims the keys, standing for the store: [`Queue::count`]).
    pub(crate) fn share(
        &self,
        store: Option<Arc<dyn AsyncSeenStore>>,
        queue: Option<Arc<dyn Queue>>,
        secrets: &[String],
    ) {
        *self.secrets.lock().unwrap_or_else(PoisonError::into_inner) = secrets.to_vec();
        // Asking for a count's future runs nothing: it says whether the store keeps counters.
        let webhook = Webhook::unverified(None);
        let attempt = Attempt { status: 200, code: None, at_ms: 0, latency_ms: 0 };
        let store = store.filter(|store| store.count(&webhook, &attempt).is_some());
        let folds = store.as_ref().is_some_and(|store| {
            let terms = clhooks::receiver::Terms { lease_ms: 1, keep_ms: 1, wait_ms: 0 };
            store.end_counting("", terms, true, (&webhook, &attempt)).is_some()
        });
        let keeps = match store {
            Some(store) => Some(Shared::Store(store)),
            None => queue.filter(|queue| queue.count(&webhook, &attempt).is_some()).map(Shared::Queue),
        };
        self.folds.store(folds, std::sync::atomic::Ordering::Relaxed);
        *self.shared.lock().unwrap_or_else(PoisonError::into_inner) = keeps;
    }

    /// The store or queue whose counters every instance shares, if one keeps them.
    pub(crate) fn counter(&self) -> Option<Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Whether the counters are a shared store's.
    pub(crate) fn shared(&self) -> bool {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }

    /// Whether the shared store counts in the script that ends a claim
    /// ([`AsyncSeenStore::end_counting`]).
    pub(crate) fn folds(&self) -> bool {
        self.folds.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts an attempt; what crossed a threshold.
    pub(crate) fn count(&self, webhook: &Webhook, attempt: &Attempt) -> Option<Signal> {
        // A panic elsewhere while counting leaves counters that are still counters.
        self.counters.lock().unwrap_or_else(PoisonError::into_inner).count(webhook, attempt)
    }

    /// A webhook's streak now.
    pub(crate) fn streak(&self, webhook: &Webhook) -> u32 {
        self.counters.lock().unwrap_or_else(PoisonError::into_inner).tally(webhook).map_or(0, |t| t.streak)
    }

    /// Every webhook's counters: streak, last failure, last success, estimated circuit; the
    /// shared store's (every instance's) where it keeps them. A lower bound of Commerce Layer's:
    /// attempts that never reached a receiver are not in them.
    ///
    /// # Errors
    ///
    /// The shared store's.
    pub async fn report(&self) -> clhooks::Result<Report> {
        let shared = self.counter();
        let secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(tallies) = shared.as_ref().and_then(Shared::tallies) {
            return Ok(Report::new(Rules::default(), tallies.await?).with_secrets(&secrets));
        }
        Ok(self.counters.lock().unwrap_or_else(PoisonError::into_inner).report().with_secrets(&secrets))
    }

    /// The health endpoint's answer: the report as JSON, 200 while healthy, 503 once a
    /// webhook's estimated circuit is open (and when a shared store cannot be read).
    pub async fn answer(&self) -> Answer {
        match self.report().await {
            Ok(report) => report.answer(),
            Err(error) => Receiver::refusal(&error),
        }
    }

    /// A router serving the report as JSON on `path` (GET): 200 while healthy, 503 once a
    /// webhook's estimated circuit is open, so a probe alerts. No secret, payload or
    /// fingerprint is in it.
    pub fn into_router(self, path: &str) -> Router {
        Router::new().route(
            path,
            get(move || {
                let health = self.clone();
                async move { respond(health.answer().await) }
            }),
        )
    }
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, ANSWER_CONTENT_TYPE), (header::CACHE_CONTROL, "no-store")], answer.body)
        .into_response()
}

/// Where the streaks every instance shares are kept: the seen-store, or the queue that claims
/// the keys in its place.
#[derive(Clone)]
pub(crate) enum Shared {
    Store(Arc<dyn AsyncSeenStore>),
    Queue(Arc<dyn Queue>),
}

impl Shared {
    /// Counts an attempt there.
    pub(crate) fn count<'a>(
        &'a self,
        webhook: &'a Webhook,
        attempt: &'a Attempt,
    ) -> Option<StoreFuture<'a, (Option<Signal>, u32)>> {
        match self {
            Shared::Store(store) => store.count(webhook, attempt),
            Shared::Queue(queue) => queue.count(webhook, attempt),
        }
    }

    /// Every webhook's counters there.
    fn tallies(&self) -> Option<StoreFuture<'_, Vec<(Webhook, Tally)>>> {
        match self {
            Shared::Store(store) => store.tallies(),
            Shared::Queue(queue) => queue.tallies(),
        }
    }
}
