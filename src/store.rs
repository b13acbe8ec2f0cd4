//! The protocol of a seen-store that many receivers share on Redis or Valkey, sans-IO: the
//! commands that claim and end a key, and what their replies mean. The caller owns the
//! connection (the `clhooks-redis` crate for Rust, `clhooks/redis` in the npm package, which
//! ships the same two scripts).
//!
//! A key is one Redis string under a prefix: absent (never handled, or its claim expired),
//! `f:<token>` while a claimer holds it (with the lease as its expiry), `d` once handled (kept
//! for [`Terms::keep_ms`]). Each step is one short Lua script, so a claim is atomic and a
//! claimer whose lease ran out cannot release a key another has taken since.

use crate::error::Error;
use crate::receiver::{Claim, Terms};

/// The claim script: `EVAL CLAIM_SCRIPT 1 key token lease_ms` answers `fresh`, `duplicate` or
/// `in_flight`.
pub const CLAIM_SCRIPT: &str = include_str!("store/claim.lua");

/// The end script: `EVAL END_SCRIPT 1 key token handled keep_ms` (`handled` is `1` to record,
/// `0` to release).
pub const END_SCRIPT: &str = include_str!("store/end.lua");

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

    /// `EVAL` of the claim script for `key`, by the claimer `token` (unique to this claim).
    #[must_use]
    pub fn claim(&self, key: &str, token: &str, terms: Terms) -> Vec<String> {
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
