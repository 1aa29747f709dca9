//! `avalanche-net`: declare the network once in Nix; validate the repository; emit
//! Kubernetes manifests, SOPS secrets and Tailscale configuration.
//!
//! Exit codes (stable): 0 success / clean, 1 findings (errors, drift), 2 could not run.

mod cli;
mod cmd;
mod context;
mod facts;
mod plan_write;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
