//! One module per command; each returns the process exit code.
use crate::cli::{Cli, Command};
use crate::context::Context;
use std::process::ExitCode;

mod build;
pub mod check;
mod completions;
mod diff;
mod eval;
mod explain;
mod graph;
mod man;
mod secrets;
mod status;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(cli.global)?;
    if !matches!(
        cli.command,
        Command::Explain(_) | Command::Completions(_) | Command::Man
    ) {
        ctx.check_repo()?;
    }
    // Without a declarations file `build` and `diff` could not run (exit 2, as
    // `check` does), rather than refuse as for findings (exit 1).
    if matches!(cli.command, Command::Build(_) | Command::Diff(_))
        && let Some(missing) = ctx.network_missing()
    {
        let mut sources = avalanche_diag::SourceMap::default();
        sources.set_root(&ctx.repo);
        ctx.print_diagnostics(&[missing], &sources);
        return Ok(ExitCode::from(2));
    }
    match cli.command {
        Command::Eval(args) => eval::run(&ctx, args),
        Command::Check(args) => check::run(&ctx, args),
        Command::Explain(args) => explain::run(args),
        Command::Build(args) => build::run(&ctx, args),
        Command::Diff(args) => diff::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::Graph(args) => graph::run(&ctx, args),
        Command::Completions(args) => completions::run(args),
        Command::Man => man::run(),
        Command::Secrets(args) => secrets::run(&ctx, args),
    }
}
