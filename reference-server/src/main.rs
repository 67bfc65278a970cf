//! The `reference-server` binary: see `--help`, README.md and
//! docs/server-protocol.md.
#![forbid(unsafe_code)]

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    reference_server::run(reference_server::Config::parse()).await
}
