//! `avalanche-net`: declare the network once in Nix; validate the repository; emit
//! Kubernetes manifests, SOPS secrets and Tailscale configuration.
//!
//! Exit codes (stable): 0 success / clean, 1 findings (errors, drift), 2 could not run.

mod beneath;
mod cli;
mod cmd;
mod context;
mod facts;
mod git_index;
mod plan_write;
mod sized_read;
mod wire;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_broken_pipe_panics();
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            // Errors may quote their input (a path, a value): key material is
            // masked and terminal controls escaped, as in diagnostics.
            let text = format!("{err:#}");
            let text = avalanche_diag::redact_secrets(&text);
            eprintln!("error: {}", avalanche_diag::escape_controls(&text));
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

/// `println!` panics when stdout is a closed pipe (`avalanche-net build -v | head -1`);
/// the reader has all it wanted, so end quietly with exit 0 instead of a panic
/// message and exit 101. Every other panic keeps the default report.
fn quiet_broken_pipe_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
