//! Replays what the fuzzers found: every file under `tests/vectors/crashers/<target>/` (copied
//! there by `fuzz/run.sh` from cargo-fuzz's crash, timeout and out-of-memory artifacts) goes
//! through the same check as the fuzz target `<target>` (`fuzz/checks.rs`, shared with
//! `fuzz/fuzz_targets/`), on stable Rust. No directory, or an empty one, passes.
//!
//! Each input runs in a child process (this test binary again), under the fuzzers' budget: it
//! fails when the check panics, when the process holds more than 2 GiB (`-rss_limit_mb=2048`,
//! read from `/proc` on Linux) or when it runs longer than 10 s (`-timeout=10`; 120 s in an
//! unoptimized build). Native only: it reads the directory and spawns processes.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in a child: the target and the file it replays.
const REPLAY: &str = "CLHOOKS_FUZZ_REPLAY";
const TEST: &str = "saved_crashers_pass_their_fuzz_checks";
const RSS_LIMIT_KB: u64 = 2048 * 1024;
const TIMEOUT: Duration = Duration::from_secs(if cfg!(debug_assertions) { 120 } else { 10 });

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

/// The resident set of a process, in KiB (Linux; `None` elsewhere).
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs one input in a child process; `Err` says how it failed.
fn replay(target: &str, file: &Path, log: &Path) -> Result<(Duration, u64), String> {
    let out = std::fs::File::create(log).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(REPLAY, format!("{target}\n{}", file.display()))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut peak = 0;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let elapsed = started.elapsed();
            if status.success() {
                return Ok((elapsed, peak));
            }
            let output = std::fs::read_to_string(log).unwrap_or_default();
            let panic = output.lines().skip_while(|l| !l.contains("panicked at")).take(3).collect::<Vec<_>>();
            return Err(format!("{status} after {elapsed:.2?}: {}", panic.join(" / ")));
        }
        peak = peak.max(rss_kb(child.id()).unwrap_or(0));
        let over = if peak > RSS_LIMIT_KB {
            Some(format!("out of memory: {} MiB resident, over the 2048 MiB limit", peak / 1024))
        } else if started.elapsed() > TIMEOUT {
            Some(format!("timeout: still running after {TIMEOUT:?}"))
        } else {
            None
        };
        if let Some(reason) = over {
            let _ = child.kill();
            let _ = child.wait();
            return Err(reason);
        }
        let pause = if started.elapsed() < Duration::from_millis(100) { 1 } else { 10 };
        std::thread::sleep(Duration::from_millis(pause));
    }
}

#[test]
fn saved_crashers_pass_their_fuzz_checks() {
    if let Ok(job) = std::env::var(REPLAY) {
        // The child: one input through its target's check; a panic fails the process.
        let (target, file) = job.split_once('\n').unwrap();
        checks::by_name(target).unwrap()(&std::fs::read(file).unwrap());
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/crashers");
    let Ok(entries) = std::fs::read_dir(&root) else { return };
    let mut dirs: Vec<PathBuf> = entries.map(|entry| entry.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz_crashers.log");
    let mut failures = Vec::new();
    for dir in dirs {
        let target = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if checks::by_name(&target).is_none() {
            let names: Vec<&str> = checks::TARGETS.iter().map(|(name, _)| *name).collect();
            panic!("{}: not a fuzz target (one of {names:?})", dir.display());
        }
        for file in inputs(&dir) {
            let name = format!("{target}/{}", file.file_name().unwrap().to_string_lossy());
            match replay(&target, &file, &log) {
                Ok((elapsed, peak)) => eprintln!("{name}: ok in {elapsed:.2?}, {} MiB", peak / 1024),
                Err(reason) => failures.push(format!("{name}: {reason}")),
            }
        }
    }
    assert!(failures.is_empty(), "saved fuzz inputs that still fail: {failures:#?}");
}
