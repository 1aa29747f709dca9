//! `avalanche-net check`: validate the declarations and the whole repository.
//!
//! Exit: 0 clean (warnings allowed), 1 errors found (decoding errors included),
//! 2 could not run (the declarations cannot be read, the repository cannot be listed).
use crate::cli::{CheckArgs, DiagFormat};
use crate::context::Context;
use crate::facts::{FileList, Skipped};
use avalanche_diag::{Diagnostic, Format, RenderOptions, SourceMap};
use avalanche_model::Network;
use avalanche_render::Plan;
use std::io::Write;
use std::process::ExitCode;

/// Every repository check on an already decoded `network`: gathers the repository
/// facts (git-tracked files, `.sops.yaml`, SOPS files, the Kubernetes tree, the
/// flake) and runs the rules. The files findings point into are added to `sources`.
/// `plan` is the network's render plan (`None` when it could not be rendered:
/// unknown references, which the checks report), so a command that renders anyway
/// renders once; `listing` was started before the declarations were read.
/// `Err` only when the repository cannot be read.
/// Also returns the files that could not be read as text.
pub fn run_checks_reporting(
    network: &Network,
    sources: &mut SourceMap,
    plan: Option<&Plan>,
    listing: FileList,
) -> anyhow::Result<(Vec<Diagnostic>, Vec<Skipped>)> {
    let (diagnostics, _facts, skipped) = run_checks_on(
        network,
        sources,
        plan,
        listing,
        avalanche_check::Options::default(),
    )?;
    Ok((diagnostics, skipped))
}

/// [`run_checks_reporting`] with the rules' `options`, returning the repository
/// facts too (for the wiring `build` does and the reachability `status` judges).
pub fn run_checks_on(
    network: &Network,
    sources: &mut SourceMap,
    plan: Option<&Plan>,
    listing: FileList,
    options: avalanche_check::Options,
) -> anyhow::Result<(Vec<Diagnostic>, avalanche_check::RepoFacts, Vec<Skipped>)> {
    let generated = plan.map_or_else(Vec::new, |plan| {
        plan.files().map(|(p, _)| p.to_owned()).collect()
    });
    let (facts, skipped) = crate::facts::gather(network, generated, listing)?;
    let diagnostics = avalanche_check::check_with(network, &facts, sources, options);
    Ok((diagnostics, facts, skipped))
}

/// The summary's line about files `check` could not read as text (binary files,
/// names that are not UTF-8, unreadable files): nothing is skipped silently.
/// `verbose` lists them.
fn skipped_note(skipped: &[Skipped], verbose: bool) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    let unreadable = skipped.iter().filter(|s| s.unreadable).count();
    let binary = skipped.len() - unreadable;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut parts = Vec::new();
    if binary > 0 {
        parts.push(format!("{binary} binary"));
    }
    if unreadable > 0 {
        parts.push(format!("{unreadable} unreadable"));
    }
    let mut note = format!(
        "note: {} file{} not read as text ({}){}",
        skipped.len(),
        plural(skipped.len()),
        parts.join(", "),
        if verbose {
            ":"
        } else {
            "; `--verbose` lists them"
        }
    );
    if verbose {
        for s in skipped {
            note.push_str(&format!("\n  {}: {}", s.path, s.reason));
        }
    }
    Some(avalanche_diag::escape_controls(&note).into_owned())
}

/// How many findings of one rule in one file the human report shows in full
/// before summing up the rest in one line (`--verbose` shows them all).
const HUMAN_CAP: usize = 3;

pub fn run(ctx: &Context, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut sources = SourceMap::default();
    let listing = FileList::start(&ctx.repo, &ctx.network_file());
    let mut skipped = Vec::new();
    let (diagnostics, could_not_run) = match ctx.load_network(&mut sources) {
        Ok((network, mut diagnostics)) => {
            let plan = avalanche_render::render(&network).ok();
            let (found, not_read) =
                run_checks_reporting(&network, &mut sources, plan.as_ref(), listing)?;
            diagnostics.extend(found);
            skipped = not_read;
            (diagnostics, false)
        }
        // Decoding errors are findings; a file that cannot be read or evaluated is not.
        Err(diagnostics) => {
            let unreadable = avalanche_diag::could_not_run(&diagnostics);
            (diagnostics, unreadable)
        }
    };
    let format = match args.format {
        DiagFormat::Human => Format::Human,
        DiagFormat::Json => Format::Json,
        DiagFormat::Sarif => Format::Sarif,
    };
    let code: u8 = if could_not_run {
        2
    } else if avalanche_diag::has_errors(&diagnostics) {
        1
    } else {
        0
    };
    crate::exit_on_broken_pipe(code);
    let mut out = std::io::stdout().lock();
    let options = RenderOptions {
        color: color_stdout(ctx),
    };
    let shown: Vec<Diagnostic> = if ctx.global.quiet {
        diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect()
    } else {
        diagnostics.clone()
    };
    let report = match format {
        // Grouped by rule and file, repeats capped (all of them with `--verbose`).
        Format::Human => avalanche_diag::render_grouped(
            &shown,
            &sources,
            options,
            if ctx.global.verbose { 0 } else { HUMAN_CAP },
        ),
        _ => avalanche_diag::render(format, &shown, &sources, options),
    };
    out.write_all(report.as_bytes())?;
    if format == Format::Human && !(ctx.global.quiet && shown.is_empty()) {
        writeln!(out, "{}", avalanche_diag::summary_by_rule(&diagnostics))?;
    }
    if let Some(note) = skipped_note(&skipped, ctx.global.verbose)
        && !ctx.global.quiet
    {
        // Machine formats keep stdout to the report.
        if format == Format::Human {
            writeln!(out, "{note}")?;
        } else {
            eprintln!("{note}");
        }
    }
    out.flush()?;
    Ok(ExitCode::from(code))
}

/// `--color` for a report on stdout.
fn color_stdout(ctx: &Context) -> bool {
    use crate::cli::ColorChoice;
    use std::io::IsTerminal;
    match ctx.global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}
