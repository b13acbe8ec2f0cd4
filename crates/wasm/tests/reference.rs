//! `docs/reference.md` against the code: the committed file is what `make reference` prints, and
//! the lists it is made of are the code's (the core's codes and answers, the receiver's builder
//! methods, the `clhooks listen` flags). The package's side is `tests/receivers/options.test.mjs`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::Path;

use clhooks::receiver::{
    Action, Body, Claim, Notice, Receiver, Session, ANSWER_CODES, DEFAULT_HANDLER_TIMEOUT_MS,
};
use clhooks::{Error, Topic, Verifier};
use clhooks_wasm::codes::BINDING_CODES;
use clhooks_wasm::reference::{self, Origin, MEANINGS, RECEIVER_OPTIONS};

/// A file of the workspace.
fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn docs_reference_md_is_what_make_reference_prints() {
    let generated = reference::render().unwrap_or_else(|e| panic!("{e}"));
    let committed = read(reference::PATH);
    if committed != generated {
        let (line, (want, got)) = generated
            .lines()
            .chain(std::iter::repeat(""))
            .zip(committed.lines().chain(std::iter::repeat("")))
            .enumerate()
            .find(|(_, (want, got))| want != got)
            .unwrap_or((0, ("", "")));
        panic!(
            "{} is not what the code says: run `make reference` (and commit it).\n\
             First difference, line {}:\n  generated: {want}\n  committed: {got}",
            reference::PATH,
            line + 1
        );
    }
}

#[test]
fn every_code_has_one_meaning_and_every_meaning_a_code() {
    let codes = reference::codes().unwrap_or_else(|e| panic!("{e}"));
    let listed: Vec<&str> = codes.iter().map(|c| c.code).collect();
    let expected: Vec<&str> = Error::CODES
        .iter()
        .chain(BINDING_CODES)
        .copied()
        .chain(ANSWER_CODES.iter().map(|(code, _)| *code))
        .chain(
            Notice::ALL
                .iter()
                .map(Notice::code)
                .filter(|code| !ANSWER_CODES.iter().any(|(c, _)| c == code) && !Error::CODES.contains(code)),
        )
        .chain(clhooks::health::Signal::CODES)
        .collect();
    assert_eq!(listed, expected);
    let meanings: Vec<&str> = MEANINGS.iter().map(|(code, _)| *code).collect();
    assert_eq!(meanings.iter().collect::<BTreeSet<_>>().len(), meanings.len(), "a code has two meanings");
    assert_eq!(meanings.iter().collect::<BTreeSet<_>>(), listed.iter().collect::<BTreeSet<_>>());
    for code in &codes {
        assert!(!code.meaning.contains('\n'), "{}: a meaning is one line", code.code);
        if code.origin == Origin::Answer {
            assert!(!Error::CODES.contains(&code.code), "{} is both an error and an answer", code.code);
        }
    }
}

/// The `with_` methods of `clhooks::receiver::Receiver`, from its source.
fn builder_methods() -> BTreeSet<String> {
    read("src/receiver.rs")
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("pub fn with_"))
        .map(|rest| {
            format!("with_{}", rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap())
        })
        .collect()
}

/// The `with_` names a text mentions.
fn with_names(text: &str) -> Vec<String> {
    text.match_indices("with_")
        .map(|(at, _)| {
            let name: String =
                text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            name
        })
        .collect()
}

#[test]
fn every_builder_method_of_the_receiver_is_an_option() {
    let methods = builder_methods();
    assert!(methods.contains("with_max_body_bytes"), "{methods:?}");
    let named: BTreeSet<String> = RECEIVER_OPTIONS.iter().flat_map(|o| with_names(o.rust)).collect();
    assert_eq!(
        named, methods,
        "the options' Rust column (reference.rs) and Receiver's `pub fn with_*` (src/receiver.rs) differ"
    );
}

#[test]
fn the_listen_flags_named_are_the_command_lines() {
    let help = match clhooks_args::parse(["listen", "--help"], false) {
        Err(said) => said.text,
        Ok(_) => panic!("`clhooks listen --help` printed no help"),
    };
    for option in RECEIVER_OPTIONS {
        for flag in option.listen {
            assert!(
                help.contains(&format!("{flag} ")),
                "{}: `clhooks listen` has no {flag}; its help:\n{help}",
                option.name
            );
        }
    }
}

#[test]
fn the_options_are_named_once() {
    let names: BTreeSet<&str> = RECEIVER_OPTIONS.iter().map(|o| o.name).collect();
    assert_eq!(names.len(), RECEIVER_OPTIONS.len());
}

/// `(code, status)` of an answer.
fn coded(answer: &clhooks::Answer) -> (String, u16) {
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    (body["error"].as_str().unwrap().to_owned(), answer.status)
}

#[test]
fn every_answer_the_receiver_makes_is_listed_with_its_status() {
    let receiver = Receiver::new(Verifier::new(["s"]).unwrap());
    let none: [(&str, &str); 0] = [];
    let topic = Topic::parse("orders.place").unwrap();
    // A session with one handler and no store, told `input`: its answer.
    let answered = |input: &dyn Fn(&mut Session)| {
        let mut session = Session::new(&receiver, topic.clone(), 1, false, 0);
        input(&mut session);
        std::iter::from_fn(|| session.poll())
            .find_map(|action| match action {
                Action::Answer(answer) => Some(answer),
                _ => None,
            })
            .unwrap()
    };
    let answers = [
        receiver.receive("GET", none, Body::Bytes(b"")).unwrap_err(),
        receiver.receive("POST", none, Body::TooLarge).unwrap_err(),
        receiver.receive("POST", none, Body::Unreadable).unwrap_err(),
        receiver.claimed(&topic, Claim::InFlight).unwrap_err(),
        answered(&|session| session.handler_ended(false, 1)),
        answered(&|session| session.wake(DEFAULT_HANDLER_TIMEOUT_MS)),
        Receiver::failed("a bug"),
        {
            let handing_off =
                receiver.clone().with_handoff(clhooks::receiver::Handoff::Queue { claims: true });
            let mut session = Session::new(&handing_off, topic.clone(), 1, true, 0);
            session.enqueue_failed(1);
            std::iter::from_fn(|| session.poll())
                .find_map(|action| match action {
                    Action::Answer(answer) => Some(answer),
                    _ => None,
                })
                .unwrap()
        },
    ];
    let made: BTreeSet<(String, u16)> = answers.iter().map(coded).collect();
    let listed: BTreeSet<(String, u16)> =
        ANSWER_CODES.iter().map(|(code, status)| ((*code).to_owned(), *status)).collect();
    assert_eq!(made, listed);
    // The answers of an error are its own status: the store's, say.
    let store = Receiver::store_failed("down");
    let codes = reference::codes().unwrap();
    let entry = codes.iter().find(|c| c.code == "store_unavailable").unwrap();
    assert_eq!(coded(&store), (entry.code.to_owned(), entry.status));
}
