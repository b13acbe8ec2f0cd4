//! Every Rust block of the repository's README.md and docs/, as doctests: `cargo test --doc`
//! compiles each against this example's dependencies (clhooks, clhooks-redis, axum, tokio) and
//! runs those that do not start a server (marked `no_run`; those are files of `examples/`, run
//! over HTTP by the docs' test runner, tests/docs/run.mjs). Not part of the example.

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;

#[cfg(doctest)]
#[doc = include_str!("../../docs/rust.md")]
pub struct RustGuide;
