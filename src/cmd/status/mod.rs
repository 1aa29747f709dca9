//! `status`: where the migration stands (`avalanche_status`), from the one
//! pipeline's analysis and this repository's worktree. Always exits 0 once the
//! declarations read.
use crate::cli::{StatusArgs, StatusFormat};
use crate::context::Context;
use crate::pipeline;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(ctx: &Context, args: StatusArgs) -> anyhow::Result<ExitCode> {
    // `check` on the same sources, so its findings' spans can be matched with the
    // declarations'. A repository that cannot be read leaves phases 3 and 4 open.
    // The plan `build` would write (when the declarations resolve) is rendered once
    // for the checks and for the phases that compare the repository with it.
    let analysis = pipeline::analyze(
        ctx,
        pipeline::Options {
            render: true,
            check: true,
            ..Default::default()
        },
    );
    let Some(network) = &analysis.network else {
        // Warnings are `check`'s business; errors end here (exit 2).
        ctx.print_diagnostics(&analysis.findings, &analysis.sources);
        return Ok(ExitCode::from(2));
    };
    let plan = analysis.plan.as_ref().and_then(|plan| plan.as_ref().ok());
    let checked = match &analysis.facts {
        Some(Ok(facts)) => Ok((analysis.check_findings(), &analysis.sources, facts)),
        Some(Err(err)) => Err(format!("{err:#}")),
        None => Err("the repository was not read".to_owned()),
    };
    let repo = Repo {
        root: ctx.repo.clone(),
    };
    let network_file = relative(&ctx.repo, &ctx.network_file());
    let status = avalanche_status::assess(network, plan, &repo, &network_file, checked);
    let text = match args.format {
        StatusFormat::Json => {
            let mut text = serde_json::to_string_pretty(&status.to_json())?;
            text.push('\n');
            text
        }
        StatusFormat::Human if ctx.global.quiet => status.summary() + "\n",
        StatusFormat::Human => status.to_human(ctx.global.verbose),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `path` relative to `root` when it is inside, with `/` separators.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The repository's worktree: files read from the disk, history from `git`.
struct Repo {
    root: PathBuf,
}

impl Repo {
    /// stdout of `git args…` in the repo, `None` when git fails (not a repo, no git).
    fn git(&self, args: &[&str]) -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl avalanche_status::Worktree for Repo {
    fn is_file(&self, rel: &str) -> bool {
        self.root.join(rel).is_file()
    }

    fn bytes(&self, rel: &str) -> Option<Vec<u8>> {
        avalanche_fsread::read(&self.root.join(rel), 64 << 20).ok()
    }

    fn committed_on(&self, rel: &str, needle: &str) -> Option<String> {
        let out = self.git(&["log", "-1", "--format=%cs", "-S", needle, "--", rel])?;
        let day = out.trim();
        (day.len() == 10).then(|| day.to_owned())
    }

    fn uncommitted(&self, paths: &[&str]) -> Vec<String> {
        let mut args = vec!["status", "--porcelain", "--untracked-files=all", "--"];
        args.extend_from_slice(paths);
        let Some(out) = self.git(&args) else {
            return Vec::new();
        };
        out.lines()
            .filter_map(|l| l.get(3..))
            .map(|p| p.trim_matches('"').to_owned())
            .collect()
    }
}
