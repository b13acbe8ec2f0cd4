//! `clhooks`: sign, verify and inspect Commerce Layer webhook payloads, simulate Commerce
//! Layer's sender, deliver and replay webhooks over HTTP, and receive them locally.

#[cfg(not(target_arch = "wasm32"))]
#[path = "clhooks/cli.rs"]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
#[path = "clhooks/deliver.rs"]
mod deliver;
#[cfg(not(target_arch = "wasm32"))]
#[path = "clhooks/inspect.rs"]
mod inspect;
#[cfg(not(target_arch = "wasm32"))]
#[path = "clhooks/listen.rs"]
mod listen;

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}
