//! `clhooks dead-letters`: what the command lines print of a handoff queue's dead letters on
//! Redis, and how they read its replies, written once. The commands sent are the core's
//! (`clhooks::handoff::RedisQueue`); each command line only moves them and their replies.

use clhooks::handoff::{Record, RedisQueue};

use crate::{inspect, lines, Failure, Inspect, Printed};

/// The environment variable holding the Redis URL when `--redis` is not given.
pub const REDIS_ENV: &str = "REDIS_URL";

/// How many dead letters `list` shows by default.
pub const DEFAULT_LIST_COUNT: u64 = 20;

/// The Redis URL to use: `--redis`, or `REDIS_URL`.
///
/// # Errors
///
/// A usage failure when neither is given.
pub fn redis_url(given: Option<&str>, env: Option<&str>) -> Result<String, Failure> {
    given.or(env).map(str::trim).filter(|url| !url.is_empty()).map(str::to_owned).ok_or_else(|| {
        Failure::usage("usage", format!("give the queue's Redis with --redis URL, or set {REDIS_ENV}"))
    })
}

/// A Redis that could not be reached or answered wrong.
#[must_use]
pub fn unavailable(url: &str, message: &str) -> Failure {
    Failure::refused("store_unavailable", format!("Redis at {url} did not answer: {message}"))
}

/// The queue of `stream` (its dead letters are `STREAM:dead`).
#[must_use]
pub fn queue(stream: &str) -> RedisQueue {
    RedisQueue::new(stream, clhooks::handoff::DEFAULT_GROUP, clhooks::store::DEFAULT_PREFIX)
}

/// One dead letter as the command lines show it: its id and fields as Redis holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id in the dead letters' stream.
    pub id: String,
    /// Its fields: the record's, then `reason`, `error`, `failed`.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl DeadLetter {
    fn field(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    }

    fn record(&self) -> clhooks::Result<Record> {
        Record::from_fields(self.fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())))
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of ms since the Unix epoch (UTC).
#[must_use]
pub fn utc(ms: u64) -> String {
    let seconds = ms / 1000;
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let day = seconds % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", day / 3_600, day % 3_600 / 60, day % 60)
}

fn when(text: &str) -> String {
    text.parse::<u64>().map_or_else(|_| text.to_owned(), utc)
}

/// `list`: a line per dead letter (its id, topic, attempts, why, when and the error), then how
/// many, of `stream`'s dead letters.
#[must_use]
pub fn list(stream: &str, letters: &[DeadLetter]) -> Printed {
    let dead = queue(stream).dead();
    if letters.is_empty() {
        return Printed::ok(lines(&format!("no dead letters in {dead}")));
    }
    let mut text = String::new();
    for letter in letters {
        let attempts = letter.field("attempt");
        let line = format!(
            "{}  {}  {} attempt{}  {}  {}  {}",
            letter.id,
            letter.field("topic"),
            attempts,
            if attempts == "1" { "" } else { "s" },
            letter.field("reason"),
            when(&letter.field("failed")),
            letter.field("error").replace(['\n', '\r'], " "),
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    let count = letters.len();
    text.push_str(&format!("{count} dead letter{} in {dead}", if count == 1 { "" } else { "s" }));
    Printed::ok(lines(&text))
}

/// `show`: one dead letter (`None`: not there), its record and why it failed, then its payload
/// as `inspect` shows it.
#[must_use]
pub fn show(stream: &str, id: &str, letter: Option<&DeadLetter>) -> Printed {
    let dead = queue(stream).dead();
    let Some(letter) = letter else {
        return Printed::failed(
            String::new(),
            Failure::refused("unknown_dead_letter", format!("no dead letter {id} in {dead}")),
        );
    };
    let record = match letter.record() {
        Ok(record) => record,
        Err(e) => return Printed::failed(String::new(), e.into()),
    };
    let head = [
        ("topic", record.topic.clone()),
        ("key", record.key.clone()),
        ("received", utc(record.received_ms)),
        (
            "failed",
            format!(
                "{} after {} attempt{}: {}",
                when(&letter.field("failed")),
                record.attempts,
                if record.attempts == 1 { "" } else { "s" },
                letter.field("reason")
            ),
        ),
        ("error", letter.field("error")),
        ("signature", record.signature.clone()),
    ];
    let mut text = format!("dead letter {} in {dead}\n", letter.id);
    for (name, value) in head {
        text.push_str(format!("{name:<10} {value}").trim_end());
        text.push('\n');
    }
    text.push('\n');
    let shown = inspect(&record.body, &Inspect { topic: Some(record.topic.clone()), ..Inspect::default() });
    Printed { stdout: text + &shown.stdout, failure: shown.failure }
}

/// The dead-letter ids a command was given, checked: each `MS-SEQ` as Redis writes them.
///
/// # Errors
///
/// A usage failure naming the first that is not one.
pub fn check_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<(), Failure> {
    match ids.into_iter().find(|id| !clhooks::handoff::is_entry_id(id)) {
        Some(id) => Err(Failure::usage(
            "usage",
            format!("{id:?} is not a dead letter's id (such as 1765000000000-0)"),
        )),
        None => Ok(()),
    }
}

/// Which dead letters `replay` moves: those named, or all with `--all` (`None`).
///
/// # Errors
///
/// A usage failure for neither, or both.
pub fn replay_ids(ids: Vec<String>, all: bool) -> Result<Option<Vec<String>>, Failure> {
    match (ids.is_empty(), all) {
        (true, true) => Ok(None),
        (false, false) => {
            check_ids(ids.iter().map(String::as_str))?;
            Ok(Some(ids))
        }
        (true, false) => Err(Failure::usage("usage", "name the dead letters to replay, or give --all")),
        (false, true) => Err(Failure::usage("usage", "give dead letters' ids or --all, not both")),
    }
}

/// `replay`: how many moved back to the queue, and how many named were not there.
#[must_use]
pub fn replayed(stream: &str, moved: u64, named: Option<usize>) -> Printed {
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    let mut text = format!("moved {moved} dead letter{} back to {stream}", plural(moved));
    if let Some(named) = named.map(|n| u64::try_from(n).unwrap_or(u64::MAX)) {
        if named > moved {
            let missing = named - moved;
            text.push_str(&format!(
                "; {missing} named {} not there",
                if missing == 1 { "was" } else { "were" }
            ));
        }
    }
    Printed::ok(lines(&text))
}
