//! `build`: render the plan and write it (see `plan_write` for the guarantees).
use crate::cli::{BuildArgs, BuildFormat};
use crate::context::Context;
use crate::plan_write;
use avalanche_diag::{Diagnostic, SourceMap};
use avalanche_render::Plan;
use std::path::PathBuf;
use std::process::ExitCode;

/// The rendered plan, or the exit code when diagnostics were printed instead.
pub(super) enum Rendered {
    Plan(Plan),
    Refused(ExitCode),
}

/// Reads, decodes and checks the declarations (exactly what `check` runs), then
/// renders them. Diagnostics are printed; nothing is rendered while any error
/// remains, so `build` refuses exactly when `check` would exit 1.
pub(super) fn render(ctx: &Context) -> anyhow::Result<Rendered> {
    let mut sources = SourceMap::default();
    let (network, mut diagnostics) = match ctx.load_network(&mut sources) {
        Ok(loaded) => loaded,
        Err(diagnostics) => return Ok(refuse(ctx, &diagnostics, &sources)),
    };
    diagnostics.extend(super::check::run_checks(ctx, &network, &mut sources)?);
    if avalanche_diag::has_errors(&diagnostics) {
        return Ok(refuse(ctx, &diagnostics, &sources));
    }
    if !diagnostics.is_empty() && !ctx.global.quiet {
        ctx.print_diagnostics(&diagnostics, &sources); // warnings only
    }
    match avalanche_render::render(&network) {
        Ok(plan) => Ok(Rendered::Plan(plan)),
        Err(diagnostics) => Ok(refuse(ctx, &diagnostics, &sources)),
    }
}

fn refuse(ctx: &Context, diagnostics: &[Diagnostic], sources: &SourceMap) -> Rendered {
    ctx.print_diagnostics(diagnostics, sources);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    eprintln!(
        "error: {errors} error(s) in the declarations; nothing written (run `avalanche-net check`)"
    );
    Rendered::Refused(ExitCode::from(1))
}

/// Where the plan's paths are rooted: `--out`, else the repository.
pub(super) fn out_root(ctx: &Context, out: Option<&PathBuf>) -> PathBuf {
    out.cloned().unwrap_or_else(|| ctx.repo.clone())
}

pub fn run(ctx: &Context, args: BuildArgs) -> anyhow::Result<ExitCode> {
    let plan = match render(ctx)? {
        Rendered::Plan(p) => p,
        Rendered::Refused(code) => return Ok(code),
    };
    let root = out_root(ctx, args.out.as_ref());
    let summary = plan_write::write(&root, &plan, args.force)?;
    match args.format {
        BuildFormat::Json => {
            let doc = serde_json::json!({
                "root": root.display().to_string(),
                "written": summary.written,
                "unchanged": summary.unchanged,
                "pruned": summary.pruned,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        BuildFormat::Human => {
            if ctx.global.verbose {
                for p in &summary.written {
                    println!("written   {p}");
                }
                for p in &summary.unchanged {
                    println!("unchanged {p}");
                }
                for p in &summary.pruned {
                    println!("pruned    {p}");
                }
            }
            if !ctx.global.quiet {
                println!(
                    "written {}, unchanged {}, pruned {}",
                    summary.written.len(),
                    summary.unchanged.len(),
                    summary.pruned.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
