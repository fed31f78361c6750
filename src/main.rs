//! The `fleet-apiserver` binary: parses the command line and wires the crates together.

use std::process::ExitCode;

const USAGE: &str = "\
fleet-apiserver — the fleet.k0rdent.io aggregated API server

USAGE:
    fleet-apiserver --version
    fleet-apiserver --help

The storage layer is in place (crate `storage`); the serving subcommands
`serve`, `up` and `kubeconfig` are not built yet.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version" | "-V") => {
            println!("fleet-apiserver {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        None | Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("fleet-apiserver: unknown command {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
