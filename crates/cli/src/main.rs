//! `clhooks`: sign, verify and inspect Commerce Layer webhook payloads, simulate Commerce
//! Layer's sender, deliver and replay webhooks over HTTP, and receive them locally.

mod cli;
mod dead;
mod deliver;
mod listen;
mod server;

fn main() -> std::process::ExitCode {
    cli::main()
}
