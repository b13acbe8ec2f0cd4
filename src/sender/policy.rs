use serde::{Deserialize, Serialize};

/// Commerce Layer's delivery rules, as data.
///
/// The defaults are the documented ones: 5 s to answer with a 2xx, up to 10 retries of a
/// failed delivery (11 attempts in all), a notice to the organization owner after 5
/// consecutive failed attempts, and the circuit opening after 30 consecutive failed attempts,
/// retries included.
///
/// **Where the circuit opens.** `circuit_failure_count` goes up by one at each failed attempt
/// and the circuit opens on the failure that makes it reach `breaker_threshold`: with the
/// default, the 30th consecutive failure opens it and no 31st call is made. ("Once the number
/// of consecutive failures exceeds the threshold" in one page, "after 30 consecutive failures"
/// in another: this crate follows the second, the more specific.)
///
/// **Backoff.** Commerce Layer does not document when it retries. The default schedule waits
/// 15 s, 30 s, 1 min, 2 min, 5 min, 10 min, 20 min, 40 min, 1 h and 2 h before retries 1 to 10:
/// a delivery is given up 4 h 18 min 45 s after the first attempt, close to what Shopify (8
/// retries over 4 h) and Svix (7 retries over about 28 h, front-loaded) do; early retries are
/// close together so a brief blip recovers within a minute, later ones far apart so an outage
/// does not burn through the 30-failure breaker budget of a webhook with a steady event flow in
/// minutes. Set `backoff_ms` to use another schedule; when it has fewer entries than retries,
/// its last entry repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[non_exhaustive]
pub struct Policy {
    /// How long the endpoint has to answer, in ms; a slower answer is a failure.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub timeout_ms: u64,
    /// How many times a failed delivery is tried again.
    pub max_retries: u32,
    /// Consecutive failed attempts that open the circuit.
    pub breaker_threshold: u32,
    /// Consecutive failed attempts after which the owner is notified (once per streak).
    pub notice_after: u32,
    /// Delay before each retry, in ms: entry `n - 1` before retry `n`.
    #[cfg_attr(feature = "ts", ts(type = "number[]"))]
    pub backoff_ms: Vec<u64>,
    /// How many event callbacks a webhook's `last_event_callbacks` keeps.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub last_callbacks: usize,
    /// The `Content-Type` of deliveries: `application/json` by default, what Commerce Layer's
    /// own receiver examples read (`express.json()`, Next.js' `req.body`).
    pub content_type: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout_ms: 5_000,
            max_retries: 10,
            breaker_threshold: 30,
            notice_after: 5,
            backoff_ms: vec![
                15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000, 2_400_000, 3_600_000, 7_200_000,
            ],
            last_callbacks: 10,
            content_type: super::CONTENT_TYPE.to_owned(),
        }
    }
}

impl Policy {
    /// The wait before retry `retry` (1-based).
    #[must_use]
    pub fn backoff(&self, retry: u32) -> u64 {
        let index = usize::try_from(retry.saturating_sub(1)).unwrap_or(usize::MAX);
        self.backoff_ms.get(index).or(self.backoff_ms.last()).copied().unwrap_or(0)
    }

    /// Whether an HTTP status is a success (2xx).
    #[must_use]
    pub fn is_success(status: u16) -> bool {
        (200..300).contains(&status)
    }

    /// Whether an answer `elapsed_ms` after the request is past the `timeout_ms` deadline: a
    /// failed attempt whatever its status.
    #[must_use]
    pub fn is_late(elapsed_ms: u64, timeout_ms: u64) -> bool {
        elapsed_ms > timeout_ms
    }
}
