//! `completions bash|zsh|fish`: the shell completion script, generated from clap.
use crate::cli::{Cli, CompletionsArgs, Shell};
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "avalanche-net", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}
