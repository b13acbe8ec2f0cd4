//! The failure streaks a receiver counts, and their health endpoint.

use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clhooks::health::{Attempt, Report, Signal, Webhook};
use clhooks::receiver::ANSWER_CONTENT_TYPE;

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
#[derive(Debug, Clone, Default)]
pub struct Health {
    counters: Arc<Mutex<clhooks::health::Health>>,
}

impl Health {
    /// Counts an attempt; what crossed a threshold.
    pub(crate) fn count(&self, webhook: &Webhook, attempt: &Attempt) -> Option<Signal> {
        // A panic elsewhere while counting leaves counters that are still counters.
        self.counters.lock().unwrap_or_else(PoisonError::into_inner).count(webhook, attempt)
    }

    /// A webhook's streak now.
    pub(crate) fn streak(&self, webhook: &Webhook) -> u32 {
        self.counters.lock().unwrap_or_else(PoisonError::into_inner).tally(webhook).map_or(0, |t| t.streak)
    }

    /// Every webhook's counters: streak, last failure, last success, estimated circuit. A lower
    /// bound of Commerce Layer's: attempts that never reached this receiver are not in them.
    #[must_use]
    pub fn report(&self) -> Report {
        self.counters.lock().unwrap_or_else(PoisonError::into_inner).report()
    }

    /// A router serving the report as JSON on `path` (GET): 200 while healthy, 503 once a
    /// webhook's estimated circuit is open, so a probe alerts. No secret, payload or
    /// fingerprint is in it.
    pub fn into_router(self, path: &str) -> Router {
        Router::new().route(path, get(move || std::future::ready(self.clone())))
    }
}

/// The health endpoint's answer: the report as JSON, 200 or 503.
impl IntoResponse for Health {
    fn into_response(self) -> Response {
        let answer = self.report().answer();
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, ANSWER_CONTENT_TYPE), (header::CACHE_CONTROL, "no-store")],
            answer.body,
        )
            .into_response()
    }
}
