use crate::cli::CheckArgs;
use crate::context::Context;
use std::process::ExitCode;

pub fn run(ctx: &Context, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let _ = (ctx, args);
    anyhow::bail!("check is not written yet")
}
