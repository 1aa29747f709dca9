//! One module per command; each returns the process exit code.
use crate::cli::{Cli, Command};
use crate::context::Context;
use std::process::ExitCode;

mod check;
mod eval;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(cli.global)?;
    match cli.command {
        Command::Eval(args) => eval::run(&ctx, args),
        Command::Check(args) => check::run(&ctx, args),
    }
}
