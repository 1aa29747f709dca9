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
mod init;
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
        // A build killed (or failed) while renaming its files is finished (or
        // undone) before anything reads the tree.
        if let Some(note) = crate::journal::recover(&ctx.repo)?
            && !ctx.global.quiet
        {
            eprintln!("note: {note}");
        }
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
    // A command whose output is its result cannot succeed without a stdout (`>&-`:
    // Rust would drop every write to a closed descriptor silently).
    let prints_result = matches!(
        cli.command,
        Command::Eval(_) | Command::Graph(_) | Command::Completions(_) | Command::Man
    ) || matches!(&cli.command, Command::Init(i) if i.print)
        || matches!(
            &cli.command,
            Command::Secrets(s) if matches!(s.command, crate::cli::SecretsCommand::Show(_))
        );
    if prints_result && stdout_closed() {
        anyhow::bail!("stdout is closed: this command prints its result there");
    }
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
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

/// Whether the process started with stdout closed (`>&-`). Rust's runtime then
/// opens `/dev/null` read-write in its place, so every write would succeed unseen;
/// a shell's `>/dev/null` opens it write-only, which is a choice, not a mistake.
fn stdout_closed() -> bool {
    use rustix::fs::{FileType, OFlags};
    let out = std::io::stdout();
    let Ok(flags) = rustix::fs::fcntl_getfl(&out) else {
        return true;
    };
    let (Ok(stat), Ok(null)) = (rustix::fs::fstat(&out), rustix::fs::stat("/dev/null")) else {
        return false;
    };
    FileType::from_raw_mode(stat.st_mode) == FileType::CharacterDevice
        && stat.st_rdev == null.st_rdev
        && flags & OFlags::RWMODE == OFlags::RDWR
}
