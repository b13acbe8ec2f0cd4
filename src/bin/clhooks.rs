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
    #[command(
        name = "clhooks",
        version,
        about = "Sign, verify and inspect Commerce Layer webhooks"
    )]
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

    /// A failure to report: an error of the core (exit 1) or of the command line (exit 2).
    enum Failure {
        Core(Error),
        Io(String),
    }

    impl From<Error> for Failure {
        fn from(e: Error) -> Self {
            Failure::Core(e)
        }
    }

    fn input(file: Option<&PathBuf>) -> Result<Vec<u8>, Failure> {
        read_input(file).map_err(|e| {
            let name = file.map_or_else(|| "standard input".into(), |p| p.display().to_string());
            Failure::Io(format!("cannot read {name}: {e}"))
        })
    }

    fn print(text: &str) -> Result<(), Failure> {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}").map_err(|e| Failure::Io(e.to_string()))
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
        let list: Vec<_> = catalogue::all()
            .iter()
            .filter(|t| resource.is_none_or(|r| t.resource == r))
            .collect();
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
            if topic.is_known() {
                "yes"
            } else {
                "no (well-formed, not in the catalogue)"
            }
        );
        if let Some(description) = topic.info().and_then(|i| i.description) {
            text.push_str(&format!("\ntrigger   {description}"));
        }
        print(&text)
    }

    fn summary(document: &clhooks::Document, topic: Option<&Topic>) -> String {
        let data = &document.data;
        let mut lines = vec![format!("resource  {} {}", data.kind, data.id)];
        if let Some(topic) = topic {
            let known = if topic.is_known() {
                "known"
            } else {
                "not in the catalogue"
            };
            lines.push(format!("topic     {topic} ({known})"));
            if let Some(description) = topic.info().and_then(|i| i.description) {
                lines.push(format!("trigger   {description}"));
            }
        }
        if let Some(mode) = data.mode() {
            lines.push(format!("mode      {mode}"));
        }
        for (name, value) in &data.attributes {
            let shown = name == "number" || name == "status" || name.ends_with("_status");
            if shown && !value.is_null() {
                lines.push(format!(
                    "{name:<9} {}",
                    value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned)
                ));
            }
        }
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for r in &document.included {
            match counts.iter_mut().find(|(k, _)| *k == r.kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((&r.kind, 1)),
            }
        }
        let included: Vec<String> = counts.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        lines.push(format!(
            "included  {} resource(s){}{}",
            document.included.len(),
            if included.is_empty() { "" } else { ": " },
            included.join(", ")
        ));
        let events: Vec<&str> = catalogue::events(&data.kind).map(|t| t.event).collect();
        if !events.is_empty() {
            lines.push(format!("topics    {}.{{{}}}", data.kind, events.join(",")));
        }
        lines.join("\n")
    }

    fn inspect(
        file: Option<&PathBuf>,
        topic: Option<&str>,
        max_depth: usize,
        as_json: bool,
    ) -> Result<(), Failure> {
        let body = input(file)?;
        let document = payload::parse(&body)?;
        let topic = topic.map(Topic::parse).transpose()?;
        let denormalized =
            document.denormalize_with(DenormalizeOptions::default().with_max_depth(max_depth))?;
        let pretty = serde_json::to_string_pretty(&denormalized).unwrap_or_default();
        if as_json {
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
            Command::Verify {
                secrets,
                signature,
                file,
            } => {
                let verifier = Verifier::new(&secrets)?;
                let body = input(file.as_ref())?;
                verifier.verify(&body, &signature)?;
                print("ok")
            }
            Command::Topics { json, resource } => topics(json, resource.as_deref()),
            Command::Topic { name } => topic(&name),
            Command::Inspect {
                file,
                topic,
                max_depth,
                json,
            } => inspect(file.as_ref(), topic.as_deref(), max_depth, json),
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
            Err(Failure::Io(message)) => {
                eprintln!("error[io]: {message}");
                ExitCode::from(2)
            }
        }
    }
}
