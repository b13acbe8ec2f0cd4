//! `clhooks`: sign, verify and inspect Commerce Layer webhook payloads from the command line.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::io::{self, Read, Write};
    use std::path::PathBuf;
    use std::process::ExitCode;

    use clap::{Parser, Subcommand};
    use clhooks::payload::{self, DenormalizeOptions};
    use clhooks::sender::simulate::{Report, Scenario};
    use clhooks::sender::{self, Output};
    use clhooks::{catalogue, Error, Topic, Verifier};
    use serde_json::{json, Value};

    #[derive(Parser)]
    #[command(name = "clhooks", version, about = "Sign, verify and inspect Commerce Layer webhooks")]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Print the X-CommerceLayer-Signature of a body.
        Sign {
            /// The webhook's shared secret.
            #[arg(long)]
            secret: String,
            /// The body, byte for byte ("-" or nothing: standard input).
            file: Option<PathBuf>,
        },
        /// Check a body against an X-CommerceLayer-Signature value: prints ok, or the error on
        /// stderr and exits 1.
        Verify {
            /// A shared secret; repeat it during a rotation (any match passes).
            #[arg(long = "secret", required = true)]
            secrets: Vec<String>,
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
            #[arg(long, default_value_t = 2)]
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
        /// a virtual clock, and print the timeline and a summary.
        Simulate {
            /// The scenario (JSON; see examples/scenarios/).
            scenario: PathBuf,
            /// Print the report as JSON.
            #[arg(long)]
            json: bool,
        },
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

    /// A failure to report: an error of the core (exit 1), or of the command line itself, such
    /// as an unreadable file (exit 2), with its own code.
    enum Failure {
        Core(Error),
        Cli(&'static str, String),
    }

    impl From<Error> for Failure {
        fn from(e: Error) -> Self {
            Failure::Core(e)
        }
    }

    fn input(file: Option<&PathBuf>) -> Result<Vec<u8>, Failure> {
        read_input(file).map_err(|e| {
            let name = file.map_or_else(|| "standard input".into(), |p| p.display().to_string());
            Failure::Cli("io", format!("cannot read {name}: {e}"))
        })
    }

    fn print(text: &str) -> Result<(), Failure> {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}").map_err(|e| Failure::Cli("io", e.to_string()))
    }

    fn topic_json(info: &catalogue::TopicInfo) -> Value {
        json!({
            "topic": info.name,
            "resource": info.resource,
            "event": info.event,
            "description": info.description,
        })
    }

    fn topics(as_json: bool, resource: Option<&str>) -> Result<(), Failure> {
        let list: Vec<_> =
            catalogue::all().iter().filter(|t| resource.is_none_or(|r| t.resource == r)).collect();
        if as_json {
            let values: Vec<Value> = list.iter().map(|t| topic_json(t)).collect();
            return print(&serde_json::to_string_pretty(&values).unwrap_or_default());
        }
        let width = list.iter().map(|t| t.name.len()).max().unwrap_or(0);
        let mut text = String::new();
        for t in &list {
            let line = format!("{:width$}  {}", t.name, t.description.unwrap_or(""));
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text.push_str(&format!("{} topics", list.len()));
        print(&text)
    }

    fn topic(name: &str) -> Result<(), Failure> {
        let topic = Topic::parse(name)?;
        let mut text = format!(
            "topic     {topic}\nresource  {}\nevent     {}\nknown     {}",
            topic.resource(),
            topic.event(),
            if topic.is_known() { "yes" } else { "no (well-formed, not in the catalogue)" }
        );
        if let Some(description) = topic.info().and_then(|i| i.description) {
            text.push_str(&format!("\ntrigger   {description}"));
        }
        print(&text)
    }

    fn summary(document: &clhooks::Document, topic: Option<&Topic>) -> String {
        let data = &document.data;
        let mut rows: Vec<(String, String)> = vec![("resource".into(), format!("{} {}", data.kind, data.id))];
        if let Some(topic) = topic {
            let known = if topic.is_known() { "known" } else { "not in the catalogue" };
            rows.push(("topic".into(), format!("{topic} ({known})")));
            if let Some(description) = topic.info().and_then(|i| i.description) {
                rows.push(("trigger".into(), description.into()));
            }
        }
        if let Some(mode) = data.mode() {
            rows.push(("mode".into(), mode.to_string()));
        }
        for (name, value) in &data.attributes {
            let shown = name == "number" || name == "status" || name.ends_with("_status");
            if shown && !value.is_null() {
                rows.push((name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned)));
            }
        }
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for r in &document.included {
            match counts.iter_mut().find(|(k, _)| *k == r.kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((&r.kind, 1)),
            }
        }
        let kinds: Vec<String> = counts.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        let included = if kinds.is_empty() {
            "none".to_owned()
        } else {
            format!("{} resources: {}", document.included.len(), kinds.join(", "))
        };
        rows.push(("included".into(), included));
        let events: Vec<&str> = catalogue::events(&data.kind).map(|t| t.event).collect();
        if !events.is_empty() {
            rows.push(("topics".into(), format!("{}.{{{}}}", data.kind, events.join(","))));
        }
        let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
        rows.iter().map(|(label, value)| format!("{label:<width$}  {value}")).collect::<Vec<_>>().join("\n")
    }

    struct Inspect<'a> {
        file: Option<&'a PathBuf>,
        topic: Option<&'a str>,
        max_depth: usize,
        json: bool,
        pointer: Option<&'a str>,
    }

    fn inspect(args: &Inspect<'_>) -> Result<(), Failure> {
        let body = input(args.file)?;
        let document = payload::parse(&body)?;
        let topic = args.topic.map(Topic::parse).transpose()?;
        let options = DenormalizeOptions::default().with_max_depth(args.max_depth);
        let denormalized = document.denormalize_with(options)?;
        let shown = match args.pointer {
            Some(pointer) => denormalized.pointer(pointer).ok_or_else(|| {
                Failure::Cli("pointer", format!("nothing at {pointer} in the denormalized document"))
            })?,
            None => &denormalized,
        };
        let pretty = serde_json::to_string_pretty(shown).unwrap_or_default();
        if args.json {
            return print(&pretty);
        }
        print(&summary(&document, topic.as_ref()))?;
        if let Some(topic) = &topic {
            payload::check_topic(topic, &document)?;
        }
        print(&format!("\n{pretty}"))
    }

    fn clock(ms: u64) -> String {
        format!("+{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1_000 % 60, ms % 1_000)
    }

    /// One readable line per decision of the sender (attempt hand-outs are folded into their
    /// results).
    fn timeline_line(output: &Output, start: u64) -> Option<String> {
        let t = |at: &u64| clock(at.saturating_sub(start));
        Some(match output {
            Output::Published { at, event, topic, webhooks } => {
                let to = if webhooks.is_empty() { "no webhook".to_owned() } else { webhooks.join(", ") };
                format!("{}  {event:<7} {topic} published → {to}", t(at))
            }
            Output::Attempt { .. } => return None,
            Output::AttemptFinished { at, event, webhook, attempt, success, result, failure_count } => format!(
                "{}  {event:<7} {webhook:<10} attempt {attempt:>2}  {} {result}  (failures: {failure_count})",
                t(at),
                if *success { "ok  " } else { "FAIL" }
            ),
            Output::RetryScheduled { at, event, webhook, attempt, due } => {
                format!("{}  {event:<7} {webhook:<10} retry {attempt} at {}", t(at), t(due))
            }
            Output::Delivered { at, event, webhook, attempts } => {
                format!("{}  {event:<7} {webhook:<10} delivered after {attempts} attempt(s)", t(at))
            }
            Output::Dropped { at, event, webhook, reason } => {
                format!("{}  {event:<7} {webhook:<10} DROPPED: {}", t(at), reason.as_str())
            }
            Output::Notice { at, webhook, failure_count } => format!(
                "{}  {:<7} {webhook:<10} notice to the organization owner: {failure_count} consecutive failures",
                t(at),
                ""
            ),
            Output::CircuitOpened { at, webhook, failure_count } => format!(
                "{}  {:<7} {webhook:<10} CIRCUIT OPEN after {failure_count} consecutive failures: no more calls until reset",
                t(at),
                ""
            ),
            Output::CircuitReset { at, webhook } => {
                format!("{}  {:<7} {webhook:<10} _reset_circuit: circuit closed, failure count 0", t(at), "")
            }
            Output::Disabled { at, webhook } => format!("{}  {:<7} {webhook:<10} _disable", t(at), ""),
            Output::Enabled { at, webhook } => format!("{}  {:<7} {webhook:<10} _enable", t(at), ""),
            _ => return None,
        })
    }

    fn summary_table(report: &Report) -> String {
        let mut lines = vec![format!(
            "{:<10} {:<7} {:>5} {:>8} {:>4} {:>6} {:>9} {:>7}  {}",
            "webhook", "circuit", "count", "attempts", "ok", "failed", "delivered", "notices", "dropped"
        )];
        for s in &report.summary {
            let dropped: Vec<String> = s.dropped.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
            let circuit = if s.disabled { "disabled".to_owned() } else { s.circuit_state.clone() };
            lines.push(format!(
                "{:<10} {:<7} {:>5} {:>8} {:>4} {:>6} {:>9} {:>7}  {}",
                s.id,
                circuit,
                s.circuit_failure_count,
                s.attempts,
                s.successes,
                s.failures,
                s.delivered,
                s.notices,
                if dropped.is_empty() { "-".to_owned() } else { dropped.join(", ") }
            ));
        }
        lines.push(format!(
            "{} events, {} calls, {} of virtual time",
            report.events,
            report.attempts,
            clock(report.end_ms.saturating_sub(report.start_ms))
        ));
        lines.join("\n")
    }

    fn simulate(path: &PathBuf, as_json: bool) -> Result<(), Failure> {
        let text = input(Some(path))?;
        let scenario = Scenario::from_json(&String::from_utf8_lossy(&text))?;
        let report = sender::simulate::simulate(&scenario)?;
        if as_json {
            return print(&serde_json::to_string_pretty(&report).unwrap_or_default());
        }
        let lines: Vec<String> =
            report.timeline.iter().filter_map(|o| timeline_line(o, report.start_ms)).collect();
        print(&lines.join("\n"))?;
        print(&format!("\n{}", summary_table(&report)))
    }

    fn run(command: Command) -> Result<(), Failure> {
        match command {
            Command::Sign { secret, file } => {
                let body = input(file.as_ref())?;
                print(&clhooks::sign(&body, &secret)?)
            }
            Command::Verify { secrets, signature, file } => {
                let verifier = Verifier::new(&secrets)?;
                let body = input(file.as_ref())?;
                verifier.verify(&body, &signature)?;
                print("ok")
            }
            Command::Topics { json, resource } => topics(json, resource.as_deref()),
            Command::Topic { name } => topic(&name),
            Command::Inspect { file, topic, max_depth, json, pointer } => inspect(&Inspect {
                file: file.as_ref(),
                topic: topic.as_deref(),
                max_depth,
                json,
                pointer: pointer.as_deref(),
            }),
            Command::Simulate { scenario, json } => simulate(&scenario, json),
        }
    }

    pub fn main() -> ExitCode {
        let cli = Cli::parse();
        match run(cli.command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(Failure::Core(e)) => {
                eprintln!("error[{}]: {e}", e.code());
                ExitCode::from(1)
            }
            Err(Failure::Cli(code, message)) => {
                eprintln!("error[{code}]: {message}");
                ExitCode::from(2)
            }
        }
    }
}
