use crate::cli::EvalArgs;
use crate::context::Context;
use std::process::ExitCode;

pub fn run(ctx: &Context, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let file = args.file.unwrap_or_else(|| ctx.network_file());
    let mut sources = avalanche_diag::SourceMap::default();
    match ctx.evaluate(&file, &mut sources) {
        Ok(value) => {
            println!("{}", serde_json::to_string(&value.to_json())?);
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            ctx.print_diagnostics(&diagnostics, &sources);
            Ok(ExitCode::from(2))
        }
    }
}
