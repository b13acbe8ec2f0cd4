//! The command line's grammar as data, read off its `clap` definition: every command, its flags,
//! their value types, defaults and dependencies, and the help texts. `npx clhooks` (the npm
//! package's CLI, `pkg-templates/cli.mjs`) parses its arguments with this, so the two command
//! lines take the same flags with the same defaults and print the same help. The copy the
//! package ships, `pkg-templates/cli-spec.json`, is checked against the definition here
//! (`CLHOOKS_WRITE_SPEC=1 cargo test -p clhooks-cli spec` rewrites it).

use std::any::TypeId;
use std::path::PathBuf;

use clap::{Arg, ArgAction, CommandFactory};
use serde_json::{json, Value};

use crate::cli::Cli;

/// The value type of an option: what the JavaScript parser accepts.
fn kind(arg: &Arg) -> &'static str {
    if matches!(arg.get_action(), ArgAction::SetTrue) {
        return "flag";
    }
    let id = arg.get_value_parser().type_id();
    if id == TypeId::of::<u16>() {
        "u16"
    } else if id == TypeId::of::<u32>() {
        "u32"
    } else if id == TypeId::of::<u64>() || id == TypeId::of::<usize>() {
        "u64"
    } else if id == TypeId::of::<f64>() {
        "f64"
    } else if id == TypeId::of::<String>() || id == TypeId::of::<PathBuf>() {
        "string"
    } else {
        "unknown"
    }
}

fn plain(text: &clap::builder::StyledStr) -> String {
    text.to_string()
}

/// A sample value an option accepts, to ask clap what else it requires.
fn sample(arg: &Arg) -> &'static str {
    match kind(arg) {
        "string" => "x",
        "flag" => "",
        _ => "1",
    }
}

/// The ids of the arguments `arg` requires, as clap reports them: given alone beside the
/// command's required arguments, what is missing.
fn requires(command: &clap::Command, arg: &Arg) -> Vec<String> {
    if arg.is_positional() || arg.is_required_set() {
        return Vec::new();
    }
    let mut argv = vec!["clhooks".to_owned(), command.get_name().to_owned()];
    for other in command.get_arguments().filter(|a| a.is_required_set()) {
        if let Some(long) = other.get_long() {
            argv.push(format!("--{long}"));
        }
        argv.push(sample(other).to_owned());
    }
    if let Some(long) = arg.get_long() {
        argv.push(format!("--{long}"));
        if kind(arg) != "flag" {
            argv.push(sample(arg).to_owned());
        }
    }
    let Err(error) = Cli::command().try_get_matches_from(&argv) else { return Vec::new() };
    if error.kind() != clap::error::ErrorKind::MissingRequiredArgument {
        return Vec::new();
    }
    let Some(clap::error::ContextValue::Strings(missing)) = error.get(clap::error::ContextKind::InvalidArg)
    else {
        return Vec::new();
    };
    command
        .get_arguments()
        .filter(|a| {
            let shown = a.get_long().map(|l| format!("--{l}"));
            missing.iter().any(|m| shown.as_ref().is_some_and(|s| m.starts_with(s.as_str())))
        })
        .map(|a| a.get_id().to_string())
        .collect()
}

fn argument(command: &clap::Command, arg: &Arg) -> Value {
    let defaults: Vec<String> =
        arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
    let value_name = arg.get_value_names().and_then(|n| n.first()).map(ToString::to_string);
    json!({
        "id": arg.get_id().to_string(),
        "long": arg.get_long(),
        "positional": arg.is_positional(),
        "value": value_name,
        "kind": kind(arg),
        "multiple": matches!(arg.get_action(), ArgAction::Append),
        "required": arg.is_required_set(),
        "default": defaults.first(),
        "requires": requires(command, arg),
    })
}

/// What clap prints for `args` (a help, a version): the text it would exit with.
fn printed(args: &[&str]) -> String {
    let argv = std::iter::once("clhooks").chain(args.iter().copied());
    match Cli::command().color(clap::ColorChoice::Never).try_get_matches_from(argv) {
        Err(e) => e.render().to_string(),
        Ok(_) => String::new(),
    }
}

/// The grammar of every command, and the help texts.
pub fn spec() -> Value {
    let mut root = Cli::command().color(clap::ColorChoice::Never);
    root.build();
    let commands: Vec<Value> = root
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .map(|command| {
            let mut command = command.clone();
            let args: Vec<Value> = command
                .get_arguments()
                .filter(|a| a.get_id() != "help")
                .map(|a| argument(&command, a))
                .collect();
            json!({
                "name": command.get_name(),
                "usage": plain(&command.render_usage()),
                "help": printed(&[command.get_name(), "-h"]),
                "longHelp": printed(&[command.get_name(), "--help"]),
                "helpCommand": printed(&["help", command.get_name()]),
                "args": args,
            })
        })
        .collect();
    json!({
        "name": root.get_name(),
        "version": root.get_version(),
        "usage": plain(&root.render_usage()),
        "help": printed(&["-h"]),
        "longHelp": printed(&["--help"]),
        "helpCommand": printed(&["help"]),
        "bare": printed(&[]),
        "commands": commands,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../pkg-templates/cli-spec.json");

    #[test]
    fn the_packaged_grammar_is_this_command_lines() {
        let spec = super::spec();
        let text = format!("{}\n", serde_json::to_string_pretty(&spec).unwrap());
        if std::env::var_os("CLHOOKS_WRITE_SPEC").is_some() {
            std::fs::write(SHIPPED, &text).unwrap();
        }
        let shipped = std::fs::read_to_string(SHIPPED).unwrap_or_default();
        assert!(
            shipped == text,
            "pkg-templates/cli-spec.json is not the CLI's grammar: CLHOOKS_WRITE_SPEC=1 cargo test -p clhooks-cli spec"
        );
        for command in spec["commands"].as_array().unwrap() {
            for arg in command["args"].as_array().unwrap() {
                assert_ne!(arg["kind"], "unknown", "{}: {}", command["name"], arg["id"]);
            }
        }
    }
}
