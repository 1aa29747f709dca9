//! `avalanche-net`: declare the network once in Nix; validate the repository; emit
//! Kubernetes manifests, SOPS secrets and Tailscale configuration.
//!
//! Exit codes (stable): 0 success / clean, 1 findings (errors, drift), 2 could not run.

mod beneath;
mod cli;
mod cmd;
mod context;
mod draft;
mod facts;
mod git_index;
mod journal;
mod pipeline;
mod plan_write;
mod walk;
mod wire;

use clap::Parser;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};

/// The exit code if stdout turns out to be a closed pipe (`check | head -1`):
/// a command that knows its findings (errors, drift) sets it before printing them,
/// so the code survives the reader going away. Commands whose output is their
/// result leave it at 0: the reader stopped reading on purpose.
static EXIT_ON_BROKEN_PIPE: AtomicU8 = AtomicU8::new(0);

/// Sets the exit code kept when stdout is a closed pipe (see [`EXIT_ON_BROKEN_PIPE`]).
pub fn exit_on_broken_pipe(code: u8) {
    EXIT_ON_BROKEN_PIPE.store(code, Ordering::Relaxed);
}

fn main() -> ExitCode {
    quiet_broken_pipe_panics();
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::from(EXIT_ON_BROKEN_PIPE.load(Ordering::Relaxed));
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
/// the reader has all it wanted, so end quietly with the exit code of the findings
/// (see [`EXIT_ON_BROKEN_PIPE`]) instead of a panic message and exit 101. Every
/// other panic keeps the default report.
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
            std::process::exit(i32::from(EXIT_ON_BROKEN_PIPE.load(Ordering::Relaxed)));
        }
        default(info);
    }));
}
