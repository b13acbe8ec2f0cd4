//! Arguments and dispatch.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clhooks_args::{Command, Secrets};
use clhooks_command::{self as command, Failure, Printed};

use crate::deliver::{self, simulate};

/// The secrets given: `--secret`s, the `--secret-file`'s, or `CL_WEBHOOK_SECRET`'s.
pub fn secrets(given: &Secrets) -> Result<Vec<String>, Failure> {
    {
        let file = match &given.secret_file {
            Some(path) => {
                let name = path.display().to_string();
                let bytes = std::fs::read(path).map_err(|e| Failure::unreadable(&name, &e.to_string()))?;
                let text = command::secret_file_text(&name, bytes)?;
                Some((name, text))
            }
            None => None,
        };
        let env = std::env::var(command::SECRET_ENV).ok();
        command::secrets(&given.secret, file.as_ref().map(|(n, t)| (n.as_str(), t.as_str())), env.as_deref())
    }
}

/// The one secret to sign with.
pub fn one_secret(given: &Secrets) -> Result<String, Failure> {
    command::one_secret(secrets(given)?)
}

/// A file's bytes, or standard input's for none or `-`.
pub fn read_input(file: Option<&PathBuf>) -> io::Result<Vec<u8>> {
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
            let secret = one_secret(&secret)?;
            printed(command::sign(&input(file.as_ref())?, &secret))
        }
        Command::Verify { secrets, signature, file } => {
            let secrets = self::secrets(&secrets)?;
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
            let secret = one_secret(&secret)?;
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
            let secret = one_secret(&secret)?;
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
        Command::DeadLetters(args) => crate::dead::run(args),
    }
}

pub fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let cli = match clhooks_args::parse(args.clone(), false) {
        Ok(cli) => cli,
        Err(said) => {
            // Coloured only for a terminal (asked again: clap words it the same either way).
            let text = if colour(said.stderr) {
                clhooks_args::parse(args, true).err().map_or(said.text.clone(), |s| s.text)
            } else {
                said.text.clone()
            };
            let written = if said.stderr {
                io::stderr().lock().write_all(text.as_bytes())
            } else {
                io::stdout().lock().write_all(text.as_bytes())
            };
            return if written.is_ok() {
                ExitCode::from(said.exit)
            } else {
                ExitCode::from(command::EXIT_USAGE)
            };
        }
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.line(colour(true)));
            ExitCode::from(failure.exit)
        }
    }
}
