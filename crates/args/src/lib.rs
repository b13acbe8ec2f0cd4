//! The `clhooks` command line's grammar, written once with `clap`: the Rust binary
//! (`crates/cli`) parses its arguments with it, and so does `npx clhooks`, through the package's
//! `clhooks-cli.wasm`. Both take the same flags with the same defaults, print the same help and
//! refuse bad usage with the same words and exit status.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use clhooks::receiver::DEFAULT_MAX_BODY_BYTES;
use clhooks_command as command;
use serde::Serialize;

/// A whole command line.
#[derive(Parser, Serialize)]
#[command(name = "clhooks", version, about = "Sign, verify and inspect Commerce Layer webhooks", long_about = None)]
pub struct Cli {
    /// The command it runs.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the shared secrets come from: `--secret` (seen in the process list), `--secret-file`,
/// or the `CL_WEBHOOK_SECRET` environment variable when neither is given.
#[derive(clap::Args, Serialize)]
pub struct Secrets {
    /// A shared secret; repeat it during a rotation (any match passes). It shows in the process
    /// list: prefer --secret-file or CL_WEBHOOK_SECRET.
    #[arg(long = "secret")]
    pub secret: Vec<String>,
    /// A file holding the shared secret, or several (a rotation), one per line.
    #[arg(long)]
    pub secret_file: Option<PathBuf>,
}

/// The commands.
#[derive(Subcommand, Serialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    /// Print the X-CommerceLayer-Signature of a body.
    Sign {
        /// Where its secrets come from.
        #[command(flatten)]
        #[serde(flatten)]
        secret: Secrets,
        /// The body, byte for byte ("-" or nothing: standard input).
        file: Option<PathBuf>,
    },
    /// Check a body against an X-CommerceLayer-Signature value: prints ok, or the error on
    /// stderr and exits 1.
    Verify {
        /// Where its secrets come from.
        #[command(flatten)]
        #[serde(flatten)]
        secrets: Secrets,
        /// The X-CommerceLayer-Signature value.
        #[arg(long)]
        signature: String,
        /// The body, byte for byte ("-" or nothing: standard input).
        file: Option<PathBuf>,
    },
    /// List the known topics.
    Topics {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Only this resource's topics.
        #[arg(long)]
        resource: Option<String>,
    },
    /// Parse one topic name (exits 1 when it is malformed).
    Topic {
        /// A topic such as orders.place.
        name: String,
    },
    /// Summarize a payload and print it with its relationships resolved.
    Inspect {
        /// The payload ("-" or nothing: standard input).
        file: Option<PathBuf>,
        /// Check the payload against this topic (as sent in X-CommerceLayer-Topic).
        #[arg(long)]
        topic: Option<String>,
        /// How many times one resource may repeat on a path when resolving relationships.
        #[arg(long, default_value_t = clhooks::payload::DEFAULT_MAX_DEPTH)]
        max_depth: usize,
        /// Print only the denormalized document, as JSON.
        #[arg(long)]
        json: bool,
        /// Print only this part of the denormalized document (a JSON pointer such as
        /// /line_items/0).
        #[arg(long)]
        pointer: Option<String>,
    },
    /// Run a scenario through Commerce Layer's delivery, retry and circuit-breaker rules on
    /// a virtual clock (or, with --live, over HTTP), and print the timeline and a summary.
    Simulate {
        /// The scenario: a JSON file (its format: docs/cli.md in the clhooks repository), or the
        /// name of a built-in one, demo-live or three-webhooks (the npm package ships them in
        /// its scenarios/ folder, to copy and edit).
        scenario: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Deliver to the real callback URLs, on the real clock (waits compressed by
        /// --time-scale); the scenario's endpoint behaviour is then up to the endpoints.
        #[arg(long)]
        live: bool,
        /// With --live: send deliveries to this origin instead, keeping each URL's path; or,
        /// as HOST=URL (repeatable), only those whose callback URL is on HOST.
        #[arg(long = "target", requires = "live")]
        targets: Vec<String>,
        /// With --live: how much of each wait for a retry or an event to really wait (0.001
        /// turns 15 s into 15 ms).
        #[arg(long, default_value_t = 1.0, requires = "live")]
        time_scale: f64,
        /// With --live: the deliveries' Content-Type, instead of the scenario policy's.
        #[arg(long, requires = "live")]
        content_type: Option<String>,
    },
    /// Deliver one event as Commerce Layer does: signed, retried on failure with the real
    /// backoff (compressed by --time-scale). Exits 1 unless it is delivered.
    Send {
        /// The callback URL.
        #[arg(long)]
        url: String,
        /// Where its secrets come from.
        #[command(flatten)]
        #[serde(flatten)]
        secret: Secrets,
        /// The topic, such as orders.place.
        #[arg(long)]
        topic: String,
        /// An include_resources path; repeat it for several.
        #[arg(long)]
        include: Vec<String>,
        /// How much of each wait between retries to really wait (0.001 turns 15 s into 15 ms).
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// Retries after a failure (Commerce Layer: 10).
        #[arg(long)]
        max_retries: Option<u32>,
        /// The deliveries' Content-Type (Commerce Layer's receivers read application/json).
        #[arg(long, default_value = clhooks::sender::CONTENT_TYPE)]
        content_type: String,

        /// The payload ("-" or nothing: standard input).
        file: Option<PathBuf>,
    },
    /// Re-sign a captured payload and POST it once, or print the curl command that would.
    Replay {
        /// The payload, byte for byte.
        file: PathBuf,
        /// Where to POST it.
        #[arg(long)]
        url: String,
        /// Where its secrets come from.
        #[command(flatten)]
        #[serde(flatten)]
        secret: Secrets,
        /// The X-CommerceLayer-Topic to send.
        #[arg(long)]
        topic: Option<String>,
        /// Print the equivalent curl command instead of sending.
        #[arg(long)]
        curl: bool,
        /// The deliveries' Content-Type (Commerce Layer's receivers read application/json).
        #[arg(long, default_value = clhooks::sender::CONTENT_TYPE)]
        content_type: String,
    },
    /// A local receiver: verifies every delivery and prints it; can misbehave on purpose.
    Listen(Listen),
    /// The dead letters of a handoff queue on Redis: list them, show one, or move them back to
    /// the queue (their attempts counted afresh).
    DeadLetters(DeadLetters),
}

/// Options of `clhooks dead-letters`.
#[derive(Args, Serialize)]
pub struct DeadLetters {
    /// What to do.
    #[command(subcommand)]
    pub action: DeadLetterAction,
    /// The queue's Redis, as redis://host:port/db (default: the REDIS_URL environment variable).
    #[arg(long, global = true)]
    pub redis: Option<String>,
    /// The queue's stream; its dead letters are STREAM:dead.
    #[arg(long, global = true, default_value = clhooks::handoff::DEFAULT_STREAM)]
    pub stream: String,
}

/// What `clhooks dead-letters` does.
#[derive(Subcommand, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum DeadLetterAction {
    /// List the dead letters, oldest first: id, topic, attempts, why, when, the last error.
    List {
        /// Show at most this many (1 to 10000).
        #[arg(long, default_value_t = command::dead::DEFAULT_LIST_COUNT, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        count: u64,
        /// Start after this dead letter's id (to page on).
        #[arg(long)]
        after: Option<String>,
    },
    /// Show one dead letter: its record, why it failed, and its payload as inspect shows it.
    Show {
        /// The dead letter's id.
        id: String,
    },
    /// Move dead letters back to the queue, where workers run them again.
    Replay {
        /// The dead letters' ids.
        ids: Vec<String>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
    },
}

/// Options of `clhooks listen`.
#[derive(Args, Serialize)]
pub struct Listen {
    /// The address to listen on (loopback unless you mean otherwise).
    #[arg(long, default_value = command::DEFAULT_HOST)]
    pub host: String,
    /// The port (0 picks a free one; the first line printed says which).
    #[arg(long, default_value_t = command::DEFAULT_PORT)]
    pub port: u16,
    /// Where its secrets come from.
    #[command(flatten)]
    #[serde(flatten)]
    pub secrets: Secrets,
    /// Answer this share of verified deliveries with 500, at random (seeded).
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Wait this long before answering (over 5000, Commerce Layer counts a timeout).
    #[arg(long, default_value_t = 0)]
    pub slow_ms: u64,
    /// Behaviour for one path, overriding the above: PATH=RULE[,RULE], each RULE one of
    /// fail-rate:F, fail-first:N (the first N deliveries fail), slow-ms:MS. Repeatable.
    // This doc comment is the option's help, where `[,RULE]` is not a link.
    #[allow(rustdoc::broken_intra_doc_links)]
    #[arg(long = "route")]
    pub routes: Vec<String>,
    /// Seed of --fail-rate.
    #[arg(long, default_value_t = command::DEFAULT_SEED)]
    pub seed: u64,
    /// Stop after this many requests.
    #[arg(long)]
    pub max_requests: Option<u64>,
    /// Largest body accepted, in bytes (413 above).
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body: usize,
    /// Also write each verified payload to this folder, named by topic and id.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Receive only from this address or CIDR block ("commercelayer": Commerce Layer's published
    /// addresses); repeatable. Any other caller gets 403. Off by default.
    #[arg(long = "allow-source")]
    pub allow_sources: Vec<String>,
    /// A proxy trusted to say who called it (an address or CIDR block); repeatable.
    #[arg(long = "trust-proxy", requires = "allow_sources")]
    pub trust_proxies: Vec<String>,
    /// Where trusted proxies say it: x-forwarded-for, or a header holding the caller's address.
    #[arg(long, requires = "allow_sources")]
    pub forwarded: Option<String>,
    /// A request's head must arrive within this many ms (408 and closed otherwise).
    #[arg(long, default_value_t = command::DEFAULT_HEADER_TIMEOUT_MS)]
    pub header_timeout_ms: u64,
    /// A request's body must arrive within this many ms once its head has.
    #[arg(long, default_value_t = command::DEFAULT_BODY_TIMEOUT_MS)]
    pub body_timeout_ms: u64,
    /// Connections read at once; one more is answered 503 and closed.
    #[arg(long, default_value_t = command::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Serve the failure streaks, counted as Commerce Layer counts them, as JSON on GET to this
    /// path (200, or 503 once a webhook's circuit is estimated open).
    #[arg(long)]
    pub health_path: Option<String>,
}

/// What clap says instead of running a command: a help, the version, or bad usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// The text, with its line ends.
    pub text: String,
    /// Whether it goes to standard error (bad usage) rather than standard output.
    pub stderr: bool,
    /// The exit status: 0 for a help or the version, 2 for bad usage.
    pub exit: u8,
}

/// Parses a command line (`args` without the program's name), its help and errors in colour
/// when `colour`.
///
/// # Errors
/// What to print instead of running: a help, the version, or bad usage.
pub fn parse<I, T>(args: I, colour: bool) -> Result<Cli, Said>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let choice = if colour { clap::ColorChoice::Always } else { clap::ColorChoice::Never };
    let argv = std::iter::once(std::ffi::OsString::from("clhooks")).chain(args.into_iter().map(Into::into));
    let said = |e: clap::Error| Said {
        text: if colour { e.render().ansi().to_string() } else { e.render().to_string() },
        stderr: e.use_stderr(),
        exit: u8::try_from(e.exit_code()).unwrap_or(command::EXIT_USAGE),
    };
    let matches = Cli::command().color(choice).try_get_matches_from(argv).map_err(said)?;
    Cli::from_arg_matches(&matches).map_err(said)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn simulate_help_names_every_builtin_scenario() {
        let mut cli = Cli::command();
        let help =
            cli.find_subcommand_mut("simulate").map(|c| c.render_long_help().to_string()).unwrap_or_default();
        for builtin in clhooks_command::builtin::SCENARIOS {
            assert!(help.contains(builtin.name), "simulate --help does not name {}: {help}", builtin.name);
        }
    }
}
