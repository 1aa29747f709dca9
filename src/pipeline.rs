//! The one pipeline every command runs: read and decode the declarations, render
//! them once, gather the repository facts, run `check`'s rules, and classify the
//! outcome. Commands only choose how much of it they need ([`Options`]) and how to
//! present the [`Analysis`]; no command reaches into another command's module.
//!
//! The repository listing starts on its own thread before the declarations are
//! read (see `facts::FileList`), and a large plan is hashed on the other core while
//! the rules run, so the stages overlap as they did inside each command.
use crate::context::Context;
use crate::facts::{FileList, Skipped};
use crate::plan_write::Hashes;
use avalanche_check::RepoFacts;
use avalanche_diag::{Diagnostic, SourceMap};
use avalanche_model::Network;
use avalanche_render::Plan;

/// How much of the pipeline a command needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Render the plan (`build` writes it; `check` and `status` compare the
    /// repository with its paths).
    pub render: bool,
    /// Gather the repository facts and run `check`'s rules (`graph` and `secrets`
    /// need only the network).
    pub check: bool,
    /// The rules judge a `build` that wires what it generates
    /// (`avalanche_check::Options::build_wires`).
    pub build_wires: bool,
    /// `check --mentions all` (`avalanche_check::Options::mentions_all`).
    pub mentions_all: bool,
    /// Hash the plan for the writer's ledger, on another core while the rules run
    /// when the plan is large.
    pub hash: bool,
}

/// What the run amounts to, for the exit code (0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitClass {
    /// No error (warnings allowed).
    Clean,
    /// Errors the user can fix: decoding errors, check findings.
    Findings,
    /// The declarations could not be found, read or evaluated: an error of a rule
    /// whose registry entry says `could_not_run`.
    CouldNotRun,
}

impl ExitClass {
    /// `check`'s exit code for this class.
    pub fn code(self) -> u8 {
        match self {
            ExitClass::Clean => 0,
            ExitClass::Findings => 1,
            ExitClass::CouldNotRun => 2,
        }
    }
}

/// Everything the pipeline found.
pub struct Analysis {
    /// The files the diagnostics point into (the declarations, then the repository
    /// files findings point into); paths print relative to the repository.
    pub sources: SourceMap,
    /// The typed network; `None` when the declarations could not be read or
    /// decoded (`findings` says why).
    pub network: Option<Network>,
    /// What `build` would write; `Err` holds the resolver's errors
    /// (`Network::resolve`: dangling references, the same findings `check`
    /// reports, so `check` never prints them twice). `None` without a network or
    /// when [`Options::render`] is off.
    pub plan: Option<Result<Plan, Vec<Diagnostic>>>,
    /// The plan's hashes, when [`Options::hash`] asked for them and the plan was
    /// large enough to hash on another core (else the writer hashes it, if it
    /// writes at all).
    pub hashes: Option<Hashes>,
    /// The repository facts the rules ran on ([`Options::check`]); `Err` when the
    /// repository could not be read. `None` when not asked or without a network.
    pub facts: Option<anyhow::Result<RepoFacts>>,
    /// Files not read as text (for `check`'s summary).
    pub skipped: Vec<Skipped>,
    /// Every diagnostic: reading and decoding the declarations first, then the
    /// rules' findings.
    pub findings: Vec<Diagnostic>,
    /// How many of `findings` come from reading and decoding the declarations.
    declared: usize,
    /// The outcome.
    pub exit_class: ExitClass,
}

impl Analysis {
    /// What reading and decoding the declarations gave, before any other stage:
    /// the later stages fill in the rest.
    fn declarations(sources: SourceMap, findings: Vec<Diagnostic>) -> Analysis {
        Analysis {
            sources,
            network: None,
            plan: None,
            hashes: None,
            facts: None,
            skipped: Vec::new(),
            declared: findings.len(),
            findings,
            exit_class: ExitClass::Clean,
        }
    }

    /// The rules' findings (without the declarations' own diagnostics).
    pub fn check_findings(&self) -> &[Diagnostic] {
        &self.findings[self.declared..]
    }
}

/// Runs the pipeline on the repository of `ctx`.
pub fn analyze(ctx: &Context, options: Options) -> Analysis {
    let mut sources = SourceMap::default();
    // Listed from the start, so the walk overlaps evaluating the declarations.
    let listing = options.check.then(|| {
        FileList::start(
            &ctx.repo,
            &ctx.network_file(),
            crate::facts::FlakeHosts::of(&ctx.global),
        )
    });
    let (network, findings) = match ctx.load_network(&mut sources) {
        Ok(loaded) => loaded,
        Err(findings) => {
            let exit_class = if avalanche_diag::could_not_run(&findings) {
                ExitClass::CouldNotRun
            } else {
                ExitClass::Findings
            };
            let mut analysis = Analysis::declarations(sources, findings);
            analysis.exit_class = exit_class;
            return analysis;
        }
    };
    // Resolved once: `check` reports what does not resolve, render takes what does.
    let resolution = (options.render || options.check).then(|| network.resolve());
    let unresolved: &[Diagnostic] = match &resolution {
        Some(Err(errors)) => errors,
        _ => &[],
    };
    // Rendered once: the checks compare the repository with the plan's paths.
    let plan = resolution
        .as_ref()
        .filter(|_| options.render)
        .map(|r| match r {
            Ok(resolved) => Ok(avalanche_render::render_resolved(resolved)),
            Err(errors) => Err(errors.clone()),
        });
    let mut analysis = Analysis::declarations(sources, findings);
    let (checked, hashes) = std::thread::scope(|scope| {
        // A large plan is hashed (for the ledger) on the other core while the checks run.
        let hashing = plan
            .as_ref()
            .and_then(|plan| plan.as_ref().ok())
            .filter(|plan| options.hash && crate::plan_write::worth_a_thread(plan))
            .map(|plan| scope.spawn(|| Hashes::sequential(plan)));
        let checked = listing.map(|listing| {
            check(
                &network,
                unresolved,
                &mut analysis.sources,
                plan.as_ref().and_then(|plan| plan.as_ref().ok()),
                listing,
                avalanche_check::Options {
                    build_wires: options.build_wires,
                    mentions_all: options.mentions_all,
                },
            )
        });
        let hashes = hashing.map(|h| match h.join() {
            Ok(hashes) => hashes,
            Err(panic) => std::panic::resume_unwind(panic),
        });
        (checked, hashes)
    });
    analysis.hashes = hashes;
    analysis.facts = checked.map(|checked| {
        checked.map(|(found, facts, skipped)| {
            analysis.findings.extend(found);
            analysis.skipped = skipped;
            facts
        })
    });
    analysis.exit_class = if avalanche_diag::has_errors(&analysis.findings) {
        ExitClass::Findings
    } else {
        ExitClass::Clean
    };
    analysis.network = Some(network);
    analysis.plan = plan;
    analysis
}

/// Gathers the repository facts for `network` and runs the rules on them. The
/// files findings point into are added to `sources`. `plan` is the network's
/// render plan (`None` when it could not be rendered), `unresolved` what
/// `Network::resolve` found; `listing` was started
/// before the declarations were read. `Err` only when the repository cannot be read.
fn check(
    network: &Network,
    unresolved: &[Diagnostic],
    sources: &mut SourceMap,
    plan: Option<&Plan>,
    listing: FileList,
    options: avalanche_check::Options,
) -> anyhow::Result<(Vec<Diagnostic>, RepoFacts, Vec<Skipped>)> {
    let generated = plan.map_or_else(Vec::new, |plan| {
        plan.files().map(|(p, _)| p.to_owned()).collect()
    });
    let (facts, skipped) = crate::facts::gather(network, generated, listing)?;
    let diagnostics =
        avalanche_check::check_resolved(network, unresolved, &facts, sources, options);
    Ok((diagnostics, facts, skipped))
}

/// The declarations alone (for commands that need no repository facts: `graph`,
/// `secrets`): the network, or the diagnostics printed to stderr and `None`.
pub fn network_or_print(ctx: &Context) -> Option<Network> {
    let analysis = analyze(ctx, Options::default());
    match analysis.network {
        Some(network) => Some(network),
        None => {
            ctx.print_diagnostics(&analysis.findings, &analysis.sources);
            None
        }
    }
}

/// The rendered plan ready for the writer, or the exit code when diagnostics were
/// printed instead.
pub enum Rendered {
    /// The plan, its files' hashes, the paths the writer must never touch
    /// ([`protected`]), and the edits that wire it into the hand-written
    /// kustomizations (none when not wiring).
    Plan(Plan, Hashes, Vec<String>, Vec<crate::plan_write::HandEdit>),
    Refused(std::process::ExitCode),
}

/// What the rendered plan is for: the repository itself, or a preview (`diff`,
/// `build --out DIR`), which goes on when `check` has errors (saying how many
/// in one line) so that the output can be seen before everything is clean.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `build` into the repository: refused while `check` fails.
    Build,
    /// `diff`: shows what `build` would change.
    Diff,
    /// `build --out DIR`: writes outside the repository.
    Preview,
}

/// Runs the whole pipeline (exactly what `check` runs) for a writer: `build` and
/// `diff`. Diagnostics are printed; for [`Purpose::Build`] nothing is returned
/// while any error remains, so `build` refuses exactly when `check` would exit 1
/// (a preview goes on, see [`Purpose`]) — except for the wiring `build` does
/// itself when `wire` is set: an app kustomization that does not list its
/// component yet, or an app-of-apps that does not list the Application yet, is
/// fixed by the same write (see `avalanche_check::wiring`).
pub fn for_writing(ctx: &Context, wire: bool, purpose: Purpose) -> anyhow::Result<Rendered> {
    let analysis = analyze(
        ctx,
        Options {
            render: true,
            check: true,
            build_wires: wire,
            hash: true,
            ..Options::default()
        },
    );
    let Analysis {
        sources,
        network,
        plan,
        hashes,
        facts,
        findings: diagnostics,
        exit_class,
        ..
    } = analysis;
    let (Some(network), Some(plan), Some(facts)) = (network, plan, facts) else {
        return Ok(refuse(
            ctx,
            &diagnostics,
            &sources,
            Stage::Declarations,
            exit_class,
            purpose,
        ));
    };
    let facts = facts?;
    if exit_class != ExitClass::Clean {
        if purpose == Purpose::Build {
            return Ok(refuse(
                ctx,
                &diagnostics,
                &sources,
                Stage::Check,
                exit_class,
                purpose,
            ));
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
    match plan {
        Ok(plan) => {
            let hashes = hashes.unwrap_or_else(|| Hashes::of(&plan));
            let edits = if wire {
                avalanche_check::wiring::plan(&network, &facts)
                    .edits()
                    .into_iter()
                    .map(|e| crate::plan_write::HandEdit {
                        path: e.path,
                        before: e.before.into_bytes(),
                        after: e.after.into_bytes(),
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
        Err(diagnostics) => Ok(refuse(
            ctx,
            &diagnostics,
            &sources,
            Stage::Render,
            ExitClass::Findings,
            purpose,
        )),
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
    /// Resolving the declarations' references (`Network::resolve`) for rendering.
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
    exit_class: ExitClass,
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
    let unreadable = exit_class == ExitClass::CouldNotRun;
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
    Rendered::Refused(std::process::ExitCode::from(if unreadable { 2 } else { 1 }))
}

/// Where the plan's paths are rooted: `--out`, else the repository.
pub fn out_root(ctx: &Context, out: Option<&std::path::PathBuf>) -> std::path::PathBuf {
    out.cloned().unwrap_or_else(|| ctx.repo.clone())
}
