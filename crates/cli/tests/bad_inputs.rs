//! The bad-input vectors (`tests/vectors/bad-inputs.json`) through the `clhooks` binary: each
//! answered with the same code as the crate and the npm package give (`error[code]` on stderr,
//! or the code in `clhooks listen`'s answer). Patterns have no command; an argument holding a
//! NUL cannot be passed on a command line at all.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_clhooks");
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/");

#[derive(Debug, Deserialize)]
struct Body {
    utf8: Option<String>,
    base64: Option<String>,
    file: Option<String>,
    repeat: Option<String>,
    length: Option<usize>,
    flip: Option<usize>,
    append: Option<String>,
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        let mut bytes = if let Some(text) = &self.utf8 {
            text.as_bytes().to_vec()
        } else if let Some(b64) = &self.base64 {
            base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
        } else if let Some(file) = &self.file {
            std::fs::read(format!("{VECTORS}{file}")).unwrap()
        } else {
            let unit = self.repeat.as_ref().unwrap().as_bytes();
            unit.iter().copied().cycle().take(self.length.unwrap()).collect()
        };
        if let Some(append) = &self.append {
            bytes.extend_from_slice(append.as_bytes());
        }
        if let Some(k) = self.flip {
            bytes[k] ^= 1;
        }
        bytes
    }
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    expect: String,
    op: String,
    body: Option<Body>,
    secrets: Option<Vec<String>>,
    signature: Option<String>,
    input: Option<String>,
    document: Option<Value>,
    max_depth: Option<usize>,
    headers: Option<Vec<(String, String)>>,
    scenario: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Vectors {
    secret: String,
    cases: Vec<Case>,
}

/// `"ok"` for a success, else the code of `error[code]` on stderr.
fn code_of(output: &std::process::Output) -> String {
    if output.status.success() {
        return "ok".into();
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr.split("error[").nth(1).and_then(|rest| rest.split(']').next()).unwrap_or("no code").to_owned()
}

fn clhooks(args: &[&str]) -> String {
    code_of(&Command::new(BIN).args(args).env_remove("CL_WEBHOOK_SECRET").output().unwrap())
}

#[test]
fn every_bad_input_gets_its_code_from_the_command_line() {
    let vectors: Vectors =
        serde_json::from_str(&std::fs::read_to_string(format!("{VECTORS}bad-inputs.json")).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("clhooks-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |n: usize, bytes: &[u8]| -> PathBuf {
        let path = dir.join(format!("{n}"));
        std::fs::write(&path, bytes).unwrap();
        path
    };
    // One receiver for the whole deliveries.
    let mut listener = Command::new(BIN)
        .args(["listen", "--port", "0", "--secret", &vectors.secret])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(listener.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let address = first.strip_prefix("listening on http://").unwrap().split(' ').next().unwrap().to_owned();
    std::thread::spawn(move || for _ in lines {});

    let mut ran = 0;
    let mut wrong = Vec::new();
    for (n, case) in vectors.cases.iter().enumerate() {
        let has_nul = |s: &Option<String>| s.as_deref().is_some_and(|s| s.contains('\0'));
        if case.op == "pattern" || has_nul(&case.signature) || has_nul(&case.input) {
            continue;
        }
        let got = match case.op.as_str() {
            "verify" => {
                let path = file(n, &case.body.as_ref().unwrap().bytes());
                let mut args =
                    vec!["verify".to_owned(), "--signature".into(), case.signature.clone().unwrap()];
                for secret in case.secrets.as_ref().unwrap() {
                    args.push(format!("--secret={secret}"));
                }
                args.push(path.display().to_string());
                clhooks(&args.iter().map(String::as_str).collect::<Vec<_>>())
            }
            "topic" => clhooks(&["topic", "--", case.input.as_ref().unwrap()]),
            "document" => {
                clhooks(&["inspect", file(n, &case.body.as_ref().unwrap().bytes()).to_str().unwrap()])
            }
            "denormalize" => {
                let path = file(n, case.document.as_ref().unwrap().to_string().as_bytes());
                let depth = case.max_depth.unwrap_or(2).to_string();
                clhooks(&["inspect", "--json", "--max-depth", &depth, path.to_str().unwrap()])
            }
            "simulate" => {
                clhooks(&["simulate", file(n, case.scenario.as_ref().unwrap().as_bytes()).to_str().unwrap()])
            }
            "receive" => {
                let body = case.body.as_ref().unwrap().bytes();
                let mut request =
                    format!("POST /hooks HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n", body.len());
                for (name, value) in case.headers.as_ref().unwrap() {
                    request.push_str(&format!("{name}: {value}\r\n"));
                }
                request.push_str("\r\n");
                let mut stream = std::net::TcpStream::connect(&address).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                stream.write_all(request.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                let json: Value =
                    serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or("{}")).unwrap_or_default();
                json.get("error").and_then(Value::as_str).map_or_else(|| "ok".to_owned(), str::to_owned)
            }
            other => panic!("{}: unknown op {other}", case.name),
        };
        ran += 1;
        if got != case.expect {
            wrong.push(format!("{}: expected {}, got {got}", case.name, case.expect));
        }
    }
    let _ = listener.kill();
    let _ = listener.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ran >= 60, "{ran} cases ran");
    assert!(wrong.is_empty(), "{wrong:#?}");
}
