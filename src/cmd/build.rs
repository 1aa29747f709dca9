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
    /// The plan, its files' hashes, the paths the writer must never touch
    /// ([`protected`]), and the edits that wire it into the hand-written
    /// kustomizations (none when not wiring).
    Plan(
        Plan,
        plan_write::Hashes,
        Vec<String>,
        Vec<plan_write::HandEdit>,
    ),
    Refused(ExitCode),
}

/// What the rendered plan is for: the repository itself, or a preview (`diff`,
/// `build --out DIR`), which goes on when `check` has errors (saying how many
/// in one line) so that the output can be seen before everything is clean.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// `build` into the repository: refused while `check` fails.
    Build,
    /// `diff`: shows what `build` would change.
    Diff,
    /// `build --out DIR`: writes outside the repository.
    Preview,
}

/// Reads, decodes and checks the declarations (exactly what `check` runs), then
/// renders them. Diagnostics are printed; for [`Purpose::Build`] nothing is
/// rendered while any error remains, so `build` refuses exactly when `check`
/// would exit 1 (a preview goes on, see [`Purpose`]) — except for the
/// wiring `build` does itself when `wire` is set: an app kustomization that does
/// not list its component yet, or an app-of-apps that does not list the
/// Application yet, is fixed by the same write (see `avalanche_check::wiring`).
pub(super) fn render(ctx: &Context, wire: bool, purpose: Purpose) -> anyhow::Result<Rendered> {
    let mut sources = SourceMap::default();
    let listing = crate::facts::FileList::start(&ctx.repo, &ctx.network_file());
    let (network, mut diagnostics) = match ctx.load_network(&mut sources) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            return Ok(refuse(
                ctx,
                &diagnostics,
                &sources,
                Stage::Declarations,
                purpose,
            ));
        }
    };
    // Rendered once: the checks compare the repository with the plan's paths.
    let rendered = avalanche_render::render(&network);
    // A large plan is hashed (for the ledger) on the other core while the checks run.
    let (checks, hashed) = std::thread::scope(|scope| {
        let hashing = rendered
            .as_ref()
            .ok()
            .filter(|plan| plan_write::worth_a_thread(plan))
            .map(|plan| scope.spawn(|| plan_write::Hashes::sequential(plan)));
        let options = avalanche_check::Options { build_wires: wire };
        let checks = super::check::run_checks_on(
            &network,
            &mut sources,
            rendered.as_ref().ok(),
            listing,
            options,
        );
        let hashed = hashing.map(|h| match h.join() {
            Ok(hashes) => hashes,
            Err(panic) => std::panic::resume_unwind(panic),
        });
        (checks, hashed)
    });
    let (checks, facts, _skipped) = checks?;
    diagnostics.extend(checks);
    if avalanche_diag::has_errors(&diagnostics) {
        if purpose == Purpose::Build {
            return Ok(refuse(ctx, &diagnostics, &sources, Stage::Check, purpose));
        }
        // A preview goes on: one line says how far from clean the repository is.
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        let plural = if errors == 1 { "" } else { "s" };
        let what = match purpose {
            Purpose::Diff => "showing what `build` would change",
            _ => "writing what would be generated",
        };
        eprintln!(
            "warning: `avalanche-net check` finds {errors} error{plural} (run it to see them); {what} anyway, but `build` into the repository refuses until they are fixed"
        );
    } else if !ctx.global.quiet
        && let Some(line) = avalanche_diag::warnings_line(&diagnostics)
    {
        // Warnings are `check`'s to show: one line here, not the whole report again.
        eprintln!("{line}");
    }
    match rendered {
        Ok(plan) => {
            let hashes = hashed.unwrap_or_else(|| plan_write::Hashes::of(&plan));
            let edits = if wire {
                avalanche_check::wiring::plan(&network, &facts)
                    .edits()
                    .map(|e| plan_write::HandEdit {
                        path: e.path.clone(),
                        before: e.before.clone().into_bytes(),
                        after: e.after.clone().into_bytes(),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok(Rendered::Plan(
                plan,
                hashes,
                protected(ctx, &network),
                edits,
            ))
        }
        Err(diagnostics) => Ok(refuse(ctx, &diagnostics, &sources, Stage::Render, purpose)),
    }
}

/// The repository-relative paths the writer never prunes or overwrites, whatever
/// its ledger says: the declarations file and every declared SOPS file (git's
/// files and `.sops.yaml` are refused by `layout::is_protected`).
fn protected(ctx: &Context, network: &avalanche_model::Network) -> Vec<String> {
    let mut paths: Vec<String> = network
        .secrets
        .values()
        .map(|s| s.file.value.clone())
        .collect();
    let file = ctx.network_file();
    let repo = ctx.repo.canonicalize().unwrap_or_else(|_| ctx.repo.clone());
    if let Ok(rel) = file
        .canonicalize()
        .unwrap_or(file)
        .strip_prefix(&repo)
        .map(|r| r.to_string_lossy().into_owned())
    {
        paths.push(rel);
    }
    paths
}

/// Where `build` stopped, for the refusal message and the exit code.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Reading or decoding the declarations.
    Declarations,
    /// `check`'s rules over the declarations and the repository.
    Check,
    /// Resolving the declarations' references while rendering.
    Render,
}

/// Prints why nothing is written. Exit 1 when the findings are the user's to fix
/// (what `check` reports), 2 when the declarations could not be read or
/// evaluated at all (as `check` does).
fn refuse(
    ctx: &Context,
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    stage: Stage,
    purpose: Purpose,
) -> Rendered {
    // The errors that stop the build; the warnings only as a count.
    let errors_only: Vec<Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    ctx.print_diagnostics(&errors_only, sources);
    if let Some(line) = avalanche_diag::warnings_line(diagnostics) {
        eprintln!("{line}");
    }
    let errors = errors_only.len();
    let unreadable = stage == Stage::Declarations && avalanche_diag::could_not_run(diagnostics);
    let plural = if errors == 1 { "" } else { "s" };
    let what = match stage {
        _ if unreadable => "the declarations could not be read",
        Stage::Declarations => "the declarations are invalid",
        Stage::Check | Stage::Render => "`avalanche-net check` fails",
    };
    // `diff` never writes: it has nothing to compare.
    let outcome = match purpose {
        Purpose::Diff => "nothing to compare",
        Purpose::Build | Purpose::Preview => "nothing written",
    };
    eprintln!("error: {outcome}: {what} ({errors} error{plural})");
    Rendered::Refused(ExitCode::from(if unreadable { 2 } else { 1 }))
}

/// Where the plan's paths are rooted: `--out`, else the repository.
pub(super) fn out_root(ctx: &Context, out: Option<&PathBuf>) -> PathBuf {
    out.cloned().unwrap_or_else(|| ctx.repo.clone())
}

pub fn run(ctx: &Context, args: BuildArgs) -> anyhow::Result<ExitCode> {
    // Hand-written files are edited only in the repository itself.
    let wire = !args.no_wire && args.out.is_none();
    let purpose = if args.out.is_some() {
        Purpose::Preview
    } else {
        Purpose::Build
    };
    let (plan, hashes, protected, edits) = match render(ctx, wire, purpose)? {
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
