//! Replays what the fuzzers found: every file under `tests/vectors/crashers/<target>/` (copied
//! there by `fuzz/run.sh` from cargo-fuzz's crash, timeout and out-of-memory artifacts) goes
//! through the same check as the fuzz target `<target>` (`fuzz/checks.rs`, shared with
//! `fuzz/fuzz_targets/`), on stable Rust. No directory, or an empty one, passes. Native only: it
//! reads the directory when it runs.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../fuzz/checks.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The saved inputs of one target, in name order, leaving out dot files and notes (`*.md`).
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            !name.starts_with('.') && !name.ends_with(".md")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn saved_crashers_pass_their_fuzz_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/crashers");
    let Ok(entries) = std::fs::read_dir(&root) else { return };
    let mut dirs: Vec<PathBuf> = entries.map(|entry| entry.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for dir in dirs {
        let target = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let check = checks::by_name(&target).unwrap_or_else(|| {
            let names: Vec<&str> = checks::TARGETS.iter().map(|(name, _)| *name).collect();
            panic!("{}: not a fuzz target (one of {names:?})", dir.display())
        });
        for file in inputs(&dir) {
            let data = std::fs::read(&file).unwrap();
            let started = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| check(&data)));
            replayed += 1;
            let name = format!("{target}/{}", file.file_name().unwrap().to_string_lossy());
            match outcome {
                Ok(()) => eprintln!("{name}: ok in {:.2?}", started.elapsed()),
                Err(_) => failures.push(name),
            }
        }
    }
    eprintln!("{replayed} saved fuzz inputs replayed");
    assert!(failures.is_empty(), "fuzz inputs that still fail their check: {failures:#?}");
}
