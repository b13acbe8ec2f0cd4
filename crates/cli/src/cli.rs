//! Arguments and dispatch.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use clhooks::command::{self, Failure, Printed};

use crate::deliver::{self, simulate};

#[derive(Parser)]
#[command(name = "clhooks", version, about = "Sign, verify and inspect Commerce Layer webhooks")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the shared secrets come from: `--secret` (seen in the process list), `--secret-file`,
/// or the `CL_WEBHOOK_SECRET` environment variable when neither is given.
#[derive(clap::Args)]
pub struct Secrets {
    /// A shared secret; repeat it during a rotation (any match passes). It shows in the process
    /// list: prefer --secret-file or CL_WEBHOOK_SECRET.
    #[arg(long = "secret")]
    secret: Vec<String>,
    /// A file holding the shared secret, or several (a rotation), one per line.
    #[arg(long)]
    secret_file: Option<PathBuf>,
}

impl Secrets {
    /// Every secret given.
    pub fn all(&self) -> Result<Vec<String>, Failure> {
        let file = match &self.secret_file {
            Some(path) => {
                let name = path.display().to_string();
                let text =
                    std::fs::read_to_string(path).map_err(|e| Failure::unreadable(&name, &e.to_string()))?;
                Some((name, text))
            }
            None => None,
        };
        let env = std::env::var(command::SECRET_ENV).ok();
        command::secrets(&self.secret, file.as_ref().map(|(n, t)| (n.as_str(), t.as_str())), env.as_deref())
    }

    /// The one secret to sign with.
    pub fn one(&self) -> Result<String, Failure> {
        command::one_secret(self.all()?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Print the X-CommerceLayer-Signature of a body.
    Sign {
        #[command(flatten)]
        secret: Secrets,
        /// The body, byte for byte ("-" or nothing: standard input).
        file: Option<PathBuf>,
    },
    /// Check a body against an X-CommerceLayer-Signature value: prints ok, or the error on
    /// stderr and exits 1.
    Verify {
        #[command(flatten)]
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
        /// The scenario (JSON; see examples/scenarios/).
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
        #[command(flatten)]
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
        #[command(flatten)]
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
    Listen(crate::listen::Listen),
}

fn read_input(file: Option<&PathBuf>) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match file {
        Some(path) if path.as_os_str() != "-" => bytes = std::fs::read(path)?,
        _ => {
            io::stdin().read_to_end(&mut bytes)?;
        }
    }
    Ok(bytes)
}

pub fn input(file: Option<&PathBuf>) -> Result<Vec<u8>, Failure> {
    read_input(file).map_err(|e| {
        let name = file.map_or_else(|| "standard input".into(), |p| p.display().to_string());
        Failure::unreadable(&name, &e.to_string())
    })
}

/// Writes `text` as it is (the core's text ends its lines).
pub fn out(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| Failure::usage("io", e.to_string()))
}

/// Writes one line.
pub fn print(text: &str) -> Result<(), Failure> {
    out(&format!("{text}\n"))
}

/// Prints what a command printed, then reports its failure, if any.
pub fn printed(printed: Printed) -> Result<(), Failure> {
    out(&printed.stdout)?;
    printed.failure.map_or(Ok(()), Err)
}

/// Whether to colour what goes to standard output or, with `stderr`, to standard error.
pub fn colour(stderr: bool) -> bool {
    use std::io::IsTerminal;
    let terminal = if stderr { io::stderr().is_terminal() } else { io::stdout().is_terminal() };
    let no_color = std::env::var("NO_COLOR").ok();
    let term = std::env::var("TERM").ok();
    command::colour(terminal, no_color.as_deref(), term.as_deref())
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Sign { secret, file } => {
            let secret = secret.one()?;
            printed(command::sign(&input(file.as_ref())?, &secret))
        }
        Command::Verify { secrets, signature, file } => {
            let secrets = secrets.all()?;
            printed(command::verify(&input(file.as_ref())?, &signature, &secrets))
        }
        Command::Topics { json, resource } => printed(command::topics(resource.as_deref(), json)),
        Command::Topic { name } => printed(command::topic(&name)),
        Command::Inspect { file, topic, max_depth, json, pointer } => {
            let body = input(file.as_ref())?;
            printed(command::inspect(
                &body,
                &command::Inspect { topic, max_depth: Some(max_depth), json, pointer },
            ))
        }
        Command::Simulate { scenario, json, live: false, .. } => simulate(&scenario, json),
        Command::Simulate { scenario, json, live: true, targets, time_scale, content_type } => {
            deliver::simulate_live(&scenario, &targets, time_scale, content_type, json)
        }
        Command::Send { url, secret, topic, include, time_scale, max_retries, content_type, file } => {
            let secret = secret.one()?;
            let body = input(file.as_ref())?;
            deliver::send(&command::Send {
                body: &body,
                url: &url,
                secret: &secret,
                topic: &topic,
                include: &include,
                time_scale,
                max_retries,
                content_type: &content_type,
            })
        }
        Command::Replay { file, url, secret, topic, curl, content_type } => {
            let secret = secret.one()?;
            deliver::replay(&deliver::Replay {
                file: &file,
                url: &url,
                secret: &secret,
                topic: topic.as_deref(),
                curl,
                content_type: &content_type,
            })
        }
        Command::Listen(args) => crate::listen::listen(&args),
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.line(colour(true)));
            ExitCode::from(failure.exit)
        }
    }
}
