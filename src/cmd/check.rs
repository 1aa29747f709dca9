//! `avalanche-net check`: validate the declarations and the whole repository.
//!
//! Exit: 0 clean (warnings allowed), 1 errors found (decoding errors included),
//! 2 could not run (the declarations cannot be read, the repository cannot be listed).
use crate::cli::{CheckArgs, DiagFormat};
use crate::context::Context;
use crate::facts::Skipped;
use crate::pipeline;
use avalanche_diag::{Diagnostic, Format, RenderOptions};
use std::io::Write;
use std::process::ExitCode;

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

/// Up to this many findings, the human report shows each with its source lines;
/// a longer report lists them without (`--verbose` shows every line of every one):
/// twenty findings with snippets are already a few screens.
const SNIPPETS_UP_TO: usize = 10;

pub fn run(ctx: &Context, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let analysis = pipeline::analyze(
        ctx,
        pipeline::Options {
            render: true,
            check: true,
            mentions_all: args.mentions == crate::cli::Mentions::All,
            ..Default::default()
        },
    );
    // A repository that cannot be read is exit 2 (the error says why).
    if let Some(Err(e)) = analysis.facts {
        return Err(e);
    }
    let pipeline::Analysis {
        sources,
        findings: diagnostics,
        skipped,
        exit_class,
        ..
    } = analysis;
    let format = match args.format {
        DiagFormat::Human => Format::Human,
        DiagFormat::Json => Format::Json,
        DiagFormat::Sarif => Format::Sarif,
    };
    let code = exit_class.code();
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
        Format::Human if shown.len() > SNIPPETS_UP_TO && !ctx.global.verbose => {
            let mut report =
                avalanche_diag::render_grouped_concise(&shown, &sources, options, HUMAN_CAP);
            report.push_str(&format!(
                "note: {} findings, shown without their source lines; `--verbose` shows them in full\n",
                shown.len()
            ));
            report
        }
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
