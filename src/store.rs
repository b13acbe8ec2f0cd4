//! The protocol of a seen-store that many receivers share on Redis or Valkey, sans-IO: the
//! commands that claim and end a key, and what their replies mean. The caller owns the
//! connection (the `clhooks-redis` crate for Rust, `clhooks/redis` in the npm package, which
//! ships the same two scripts).
//!
//! A key is one Redis string under a prefix: absent (never handled, or its claim expired),
//! `f:<token>` while a claimer holds it (with the lease as its expiry), `d` once handled (kept
//! for [`Terms::keep_ms`]). A claim is one plain `SET … NX PX … GET` (atomic: it takes an absent
//! key and answers what a taken one holds); the end is one short Lua script, so a claimer whose
//! lease ran out cannot release a key another has taken since. A server older than Redis 7.0
//! (no `NX` with `GET`) claims with the claim script, the same step in Lua.

use crate::error::Error;
use crate::health::redis::RedisHealth;
use crate::health::{Attempt, Webhook};
use crate::receiver::{Claim, Terms};

/// The claim script, for a server older than Redis 7.0 (see [`RedisProtocol::claims_by_script`]):
/// `EVAL CLAIM_SCRIPT 1 key token lease_ms` answers `fresh`, `duplicate` or `in_flight`.
pub const CLAIM_SCRIPT: &str = include_str!("store/claim.lua");

/// The end script: `EVAL END_SCRIPT 1 key token handled keep_ms` (`handled` is `1` to record,
/// `0` to release).
pub const END_SCRIPT: &str = include_str!("store/end.lua");

/// The end script with the count script folded in (one round trip where the receiver counts
/// the answer that waits for the end): `EVAL FOLD_SCRIPT 3 key hash set token handled keep_ms
/// webhook reason status at arrived notice breaker` answers `{ended, signal, streak, now}`.
/// The two scripts are wrapped as functions, as they are, and `fold.lua` calls them in turn.
pub const FOLD_SCRIPT: &str = concat!(
    "local function finish(KEYS, ARGV)\n",
    include_str!("store/end.lua"),
    "end\nlocal function count(KEYS, ARGV)\n",
    include_str!("health/count.lua"),
    "end\n",
    include_str!("store/fold.lua"),
);

/// The prefix of every key by default.
pub const DEFAULT_PREFIX: &str = "clhooks:seen:";

/// The commands of one Redis seen-store: its keys under `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisProtocol {
    prefix: String,
}

impl Default for RedisProtocol {
    fn default() -> Self {
        RedisProtocol { prefix: DEFAULT_PREFIX.to_owned() }
    }
}

impl RedisProtocol {
    /// The keys under `prefix`, so that several apps can share one Redis apart.
    #[must_use]
    pub fn new(prefix: &str) -> RedisProtocol {
        RedisProtocol { prefix: prefix.to_owned() }
    }

    /// The prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The Redis key of an idempotency key.
    #[must_use]
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The claim of `key` by the claimer `token` (unique to this claim): `SET key f:token NX PX
    /// lease_ms GET`, which takes the key when it is absent and answers what it held (nil when
    /// it took it): read with [`RedisProtocol::claim_held`]. One plain command, no script.
    #[must_use]
    pub fn claim(&self, key: &str, token: &str, terms: Terms) -> Vec<String> {
        vec![
            "SET".into(),
            self.key(key),
            format!("f:{token}"),
            "NX".into(),
            "PX".into(),
            terms.lease_ms.max(1).to_string(),
            "GET".into(),
        ]
    }

    /// What a claim found: nothing (`None`, the key is now the claimer's), a handled or queued
    /// key (`d`, `q`), or another claimer's `f:<token>`.
    ///
    /// ```
    /// use clhooks::{store::RedisProtocol, Claim};
    /// assert_eq!(RedisProtocol::claim_held(None), Claim::Fresh);
    /// assert_eq!(RedisProtocol::claim_held(Some("d")), Claim::Duplicate);
    /// assert_eq!(RedisProtocol::claim_held(Some("q")), Claim::Duplicate);
    /// assert_eq!(RedisProtocol::claim_held(Some("f:another")), Claim::InFlight);
    /// ```
    #[must_use]
    pub fn claim_held(held: Option<&str>) -> Claim {
        match held {
            None => Claim::Fresh,
            Some("d" | "q") => Claim::Duplicate,
            Some(_) => Claim::InFlight,
        }
    }

    /// Whether the error a claim got says the server does not take `NX` with `GET` (Redis
    /// before 7.0 answers `ERR syntax error`): claim with [`RedisProtocol::claim_script`] from
    /// then on.
    ///
    /// ```
    /// use clhooks::store::RedisProtocol;
    /// assert!(RedisProtocol::claims_by_script("ERR syntax error"));
    /// assert!(!RedisProtocol::claims_by_script("LOADING Redis is loading the dataset in memory"));
    /// ```
    #[must_use]
    pub fn claims_by_script(error: &str) -> bool {
        error.to_ascii_lowercase().contains("syntax error")
    }

    /// `EVAL` of the claim script: the claim of [`RedisProtocol::claim`] on a server older than
    /// Redis 7.0, answered as [`RedisProtocol::claim_reply`] reads.
    #[must_use]
    pub fn claim_script(&self, key: &str, token: &str, terms: Terms) -> Vec<String> {
        vec![
            "EVAL".into(),
            CLAIM_SCRIPT.into(),
            "1".into(),
            self.key(key),
            token.into(),
            terms.lease_ms.max(1).to_string(),
        ]
    }

    /// `EVAL` of the end script: `handled` records the key for [`Terms::keep_ms`], otherwise the
    /// claim of `token` is released.
    #[must_use]
    pub fn end(&self, key: &str, token: &str, handled: bool, terms: Terms) -> Vec<String> {
        vec![
            "EVAL".into(),
            END_SCRIPT.into(),
            "1".into(),
            self.key(key),
            token.into(),
            if handled { "1" } else { "0" }.into(),
            terms.keep_ms.max(1).to_string(),
        ]
    }

    /// `EVAL` of the fold script: the end of [`RedisProtocol::end`] and the count of
    /// [`RedisHealth::count`] in one step (see [`RedisProtocol::folds`]).
    #[must_use]
    pub fn end_counting(
        &self,
        end: (&str, &str, bool, Terms),
        health: &RedisHealth,
        webhook: &Webhook,
        attempt: &Attempt,
    ) -> Vec<String> {
        let (key, token, handled, terms) = end;
        let mut command = vec![
            "EVAL".into(),
            FOLD_SCRIPT.into(),
            "3".into(),
            self.key(key),
            health.key(webhook),
            health.index(),
            token.into(),
            if handled { "1" } else { "0" }.into(),
            terms.keep_ms.max(1).to_string(),
        ];
        command.extend(health.count_args(webhook, attempt));
        command
    }

    /// Whether the fold script may run on this store: its keys must share one slot on a Redis
    /// Cluster, so there only under a prefix with a hash tag (`{hooks}:seen:`); anywhere on one
    /// Redis. Otherwise the end and the count are two scripts.
    ///
    /// ```
    /// use clhooks::store::RedisProtocol;
    /// assert!(RedisProtocol::default().folds(false));
    /// assert!(!RedisProtocol::default().folds(true));
    /// assert!(RedisProtocol::new("{hooks}:seen:").folds(true));
    /// assert!(!RedisProtocol::new("{}:seen:").folds(true));
    /// ```
    #[must_use]
    pub fn folds(&self, cluster: bool) -> bool {
        !cluster || hash_tag(&self.prefix)
    }

    /// What the claim script's reply means.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`] for any other reply (not a clhooks store, or an old one).
    pub fn claim_reply(reply: &str) -> crate::Result<Claim> {
        match reply {
            "fresh" => Ok(Claim::Fresh),
            "duplicate" => Ok(Claim::Duplicate),
            "in_flight" => Ok(Claim::InFlight),
            other => Err(Error::StoreUnavailable {
                message: format!("the claim script answered {other:?}, not fresh, duplicate or in_flight"),
            }),
        }
    }
}

/// Whether `key` has a hash tag, as Redis Cluster reads one: the text between the first `{` and
/// the first `}` after it, when not empty, decides the slot.
fn hash_tag(key: &str) -> bool {
    let mut bytes = key.bytes().skip_while(|b| *b != b'{').skip(1);
    bytes.next().is_some_and(|first| first != b'}' && bytes.any(|b| b == b'}'))
}
