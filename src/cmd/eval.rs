//! `avalanche-net eval [FILE]`: the evaluated declarations as JSON, exactly what
//! `nix-instantiate --eval --strict --json FILE` prints.
use crate::cli::EvalArgs;
use crate::context::Context;
use std::io::Write;
use std::process::ExitCode;

pub fn run(ctx: &Context, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let mut sources = avalanche_diag::SourceMap::default();
    // Without FILE, the declarations: say what is wrong with them as `check` does
    // (not inside a git repository, a directory given to `--network`, …).
    if args.file.is_none()
        && let Some(missing) = ctx.network_missing()
    {
        sources.set_root(&ctx.repo);
        ctx.print_diagnostics(&[missing], &sources);
        return Ok(ExitCode::from(2));
    }
    let file = args.file.unwrap_or_else(|| ctx.network_file());
    match ctx.evaluate(&file, &mut sources) {
        Ok(value) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", value.to_json_string())?;
            out.flush()?;
            // The process ends here: freeing a large value piece by piece only costs time.
            std::mem::forget(value);
            std::mem::forget(sources);
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            ctx.print_diagnostics(&diagnostics, &sources);
            Ok(ExitCode::from(2))
        }
    }
}
