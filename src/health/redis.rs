//! The failure streaks that many receivers share on Redis or Valkey, sans-IO: the script that
//! counts one attempt atomically, the arguments it takes and what its reply means, and how a
//! webhook's hash reads back as a [`Tally`]. The caller owns the connection (`clhooks-redis`
//! for Rust, `clhooks/redis` in the npm package, which ships the same script).
//!
//! Each webhook is one hash, `<prefix>{health}:<webhook key>`, listed in the set
//! `<prefix>{health}` (one hash tag, so a cluster keeps them on one slot). A count is one
//! script call; a counter that fails changes no answer.

use super::{Attempt, Failure, Rules, Signal, Tally, Webhook};
use crate::error::Error;

/// The count script: `EVAL COUNT_SCRIPT 2 hash set webhook reason status at arrived notice
/// breaker` answers `{signal, streak, now}`.
pub const COUNT_SCRIPT: &str = include_str!("count.lua");

/// The commands of the failure streaks of one Redis store: its keys under `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisHealth {
    prefix: String,
    rules: Rules,
}

impl RedisHealth {
    /// The streaks under `prefix` (the seen-store's), counted by `rules`.
    #[must_use]
    pub fn new(prefix: &str, rules: Rules) -> RedisHealth {
        RedisHealth { prefix: prefix.to_owned(), rules }
    }

    /// The set listing every webhook counted.
    #[must_use]
    pub fn index(&self) -> String {
        format!("{}{{health}}", self.prefix)
    }

    /// A webhook's hash.
    #[must_use]
    pub fn key(&self, webhook: &Webhook) -> String {
        format!("{}{{health}}:{}", self.prefix, webhook.key())
    }

    /// A webhook's hash, from its key as the set lists it.
    #[must_use]
    pub fn key_of(&self, webhook_key: &str) -> String {
        format!("{}{{health}}:{webhook_key}", self.prefix)
    }

    /// The script's arguments after the two keys, for an attempt of `webhook`.
    #[must_use]
    pub fn count_args(&self, webhook: &Webhook, attempt: &Attempt) -> Vec<String> {
        vec![
            webhook.key(),
            attempt.failure(&self.rules).unwrap_or_default(),
            attempt.status.to_string(),
            attempt.at_ms.to_string(),
            attempt.arrived_ms().to_string(),
            self.rules.notice_after.to_string(),
            self.rules.breaker_threshold.to_string(),
        ]
    }

    /// `EVAL` of the count script for an attempt of `webhook`.
    #[must_use]
    pub fn count(&self, webhook: &Webhook, attempt: &Attempt) -> Vec<String> {
        let mut command =
            vec!["EVAL".into(), COUNT_SCRIPT.into(), "2".into(), self.key(webhook), self.index()];
        command.extend(self.count_args(webhook, attempt));
        command
    }

    /// What the count script's reply `{signal, streak, now}` means: the signal, if a threshold
    /// was crossed, and the streak now.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`] for any other reply.
    pub fn count_reply(&self, signal: &str, streak: u64, now: u64) -> crate::Result<(Option<Signal>, u32)> {
        let streak = u32::try_from(streak).unwrap_or(u32::MAX);
        let now = u32::try_from(now).unwrap_or(u32::MAX);
        let signal = match signal {
            "" => None,
            "streak" => Some(Signal::Streak { streak, circuit: self.rules.circuit(streak) }),
            "ended" => Some(Signal::Ended { streak }),
            other => {
                return Err(Error::StoreUnavailable {
                    message: format!("the count script answered '{other}', not '', 'streak' or 'ended'"),
                })
            }
        };
        Ok((signal, now))
    }

    /// A webhook's counters from its hash's fields (`HGETALL`), whatever is missing left out.
    #[must_use]
    pub fn tally<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Tally {
        let mut tally = Tally::default();
        let (mut reason, mut status, mut at) = (None, None, None);
        for (name, value) in fields {
            match name {
                "s" => tally.streak = value.parse().unwrap_or(0),
                "ok" => tally.last_success_ms = value.parse().ok(),
                "op" => tally.opened_ms = value.parse().ok(),
                "fr" => reason = Some(value.to_owned()),
                "fs" => status = value.parse().ok(),
                "fa" => at = value.parse().ok(),
                _ => {}
            }
        }
        if let (Some(reason), Some(status), Some(at_ms)) = (reason, status, at) {
            tally.last_failure = Some(Failure { reason, status, at_ms });
        }
        tally
    }

    /// The count script's rule applied here, for a store that runs no Lua (a Durable Object):
    /// `tally` updated by the script's arguments `args` ([`RedisHealth::count_args`]), and the
    /// script's reply `[signal, streak, now]`.
    ///
    /// # Errors
    ///
    /// [`Error::StoreUnavailable`] for arguments the core did not make.
    pub fn apply(tally: &mut Tally, args: &[String]) -> crate::Result<(String, u32, u32)> {
        let bad =
            || Error::StoreUnavailable { message: "the count's arguments are not the core's".to_owned() };
        let [_, reason, status, at, arrived, notice, breaker] = args else { return Err(bad()) };
        let number = |text: &String| text.parse::<u64>().map_err(|_| bad());
        let rules = Rules {
            notice_after: u32::try_from(number(notice)?).map_err(|_| bad())?,
            breaker_threshold: u32::try_from(number(breaker)?).map_err(|_| bad())?,
            deadline_ms: 0,
        };
        let failure = (!reason.is_empty()).then(|| reason.clone());
        let status = u16::try_from(number(status)?).map_err(|_| bad())?;
        let signal = tally.apply(failure, status, number(at)?, number(arrived)?, &rules);
        Ok(match signal {
            Some(Signal::Streak { streak, .. }) => ("streak".to_owned(), streak, tally.streak),
            Some(Signal::Ended { streak }) => ("ended".to_owned(), streak, tally.streak),
            None => (String::new(), tally.streak, tally.streak),
        })
    }

    /// A webhook's hash fields (`s`, `fr`, `fs`, `fa`, `ok`, `op`), as the count script writes
    /// them: what [`RedisHealth::tally`] reads back.
    #[must_use]
    pub fn fields(tally: &Tally) -> Vec<(&'static str, String)> {
        let mut fields = vec![("s", tally.streak.to_string())];
        if let Some(failure) = &tally.last_failure {
            fields.push(("fr", failure.reason.clone()));
            fields.push(("fs", failure.status.to_string()));
            fields.push(("fa", failure.at_ms.to_string()));
        }
        if let Some(at) = tally.last_success_ms {
            fields.push(("ok", at.to_string()));
        }
        if let Some(at) = tally.opened_ms {
            fields.push(("op", at.to_string()));
        }
        fields
    }
}
