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
