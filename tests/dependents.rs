//! What a crate that depends on `clhooks` compiles: the protocol's dependencies only — none of
//! the command line's (clap, ureq, tiny_http, rustls), the bindings' (wasm-bindgen, js-sys) or
//! the type generator's (ts-rs), natively and on wasm32 (native only: it runs cargo).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

const FORBIDDEN: &[&str] = &["clap", "ureq", "tiny_http", "rustls", "wasm-bindgen", "js-sys", "ts-rs"];

fn tree(dependent: &Path, target: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["tree", "--offline", "--edges", "normal,build", "--prefix", "none", "--format", "{p}"])
        .current_dir(dependent)
        .env("CARGO_TARGET_DIR", dependent.join("target"));
    if let Some(target) = target {
        command.args(["--target", target]);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_dependent_compiles_only_the_protocol() {
    let dependent = std::env::temp_dir().join(format!("clhooks-dependent-{}", std::process::id()));
    std::fs::create_dir_all(dependent.join("src")).unwrap();
    let core = env!("CARGO_MANIFEST_DIR").replace('\\', "/");
    std::fs::write(
        dependent.join("Cargo.toml"),
        format!(
            "[package]\nname = \"dependent\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nclhooks = {{ path = \"{core}\" }}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(dependent.join("src/lib.rs"), "pub use clhooks::Receiver;\n").unwrap();
    // The lockfile of the workspace pins the versions the dependent resolves offline.
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"), dependent.join("Cargo.lock"))
        .unwrap();
    for target in [None, Some("wasm32-unknown-unknown")] {
        let listed = tree(&dependent, target);
        let names: Vec<&str> = listed.lines().filter_map(|l| l.split_whitespace().next()).collect();
        assert!(
            names.contains(&"clhooks") && names.contains(&"hmac") && names.contains(&"serde_json"),
            "{listed}"
        );
        for name in FORBIDDEN {
            assert!(!names.contains(name), "{name} is compiled for a dependent ({target:?}):\n{listed}");
        }
    }
    let _ = std::fs::remove_dir_all(&dependent);
}
