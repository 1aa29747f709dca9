//! `build`: render the plan and write it (see `plan_write` for the guarantees).
use crate::cli::{BuildArgs, BuildFormat};
use crate::context::Context;
use crate::pipeline::{Purpose, Rendered, for_writing, out_root};
use crate::plan_write;
use std::process::ExitCode;

pub fn run(ctx: &Context, args: BuildArgs) -> anyhow::Result<ExitCode> {
    // Hand-written files are edited only in the repository itself.
    let wire = !args.no_wire && args.out.is_none();
    let purpose = if args.out.is_some() {
        Purpose::Preview
    } else {
        Purpose::Build
    };
    let (plan, hashes, protected, edits) = match for_writing(ctx, wire, purpose)? {
        Rendered::Plan(p, h, k, e) => (p, h, k, e),
        Rendered::Refused(code) => return Ok(code),
    };
    let root = out_root(ctx, args.out.as_ref());
    let options = plan_write::WriteOptions {
        force: args.force,
        sync: args.sync,
    };
    let summary = plan_write::write_with_edits(&root, &plan, hashes, &protected, options, &edits)?;
    match args.format {
        BuildFormat::Json => {
            let doc = serde_json::json!({
                "root": root.display().to_string(),
                "written": summary.written,
                "unchanged": summary.unchanged,
                "pruned": summary.pruned,
                "wired": summary.wired,
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
                // Edits of hand-written files are always listed: they are the operator's files.
                for p in &summary.wired {
                    println!("wired     {p}");
                }
                println!(
                    "written {}, unchanged {}, pruned {}, wired {}",
                    summary.written.len(),
                    summary.unchanged.len(),
                    summary.pruned.len(),
                    summary.wired.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
