//! `avalanche-net eval [FILE]`: the evaluated declarations as JSON, exactly what
//! `nix-instantiate --eval --strict --json FILE` prints.
use crate::cli::EvalArgs;
use crate::context::Context;
use std::io::Write;
use std::process::ExitCode;

pub fn run(ctx: &Context, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let file = args.file.unwrap_or_else(|| ctx.network_file());
    let mut sources = avalanche_diag::SourceMap::default();
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
