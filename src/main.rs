//! The `fleet-apiserver` binary: parses the command line and hands over to the subcommand.

mod access;
mod cli;
mod encryption;
mod error;
mod kubeconfig;
mod serve;
mod up;
mod wiring;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // rustls panics when two crypto providers are compiled in and none is chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal, never into a file or a pipe.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fleet-apiserver: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            cli::Command::Up(args) => up::run(args).await,
            cli::Command::Serve(args) => serve::run(args).await,
            cli::Command::Kubeconfig(args) => kubeconfig::run(args),
        }
    });
    // Tasks still running (watchers, timers, a blocking storage call) must not hold up the
    // exit after the server has closed its connections.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet-apiserver: {}", error::chain(&e));
            ExitCode::FAILURE
        }
    }
}
