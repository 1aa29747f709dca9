//! `avalanche-net init`: draft the declarations file from the repository.
//!
//! Exit: 0 written (or printed with `--print`), 1 the declarations file exists
//! (nothing written), 2 could not run.
use crate::cli::InitArgs;
use crate::context::Context;
use anyhow::Context as _;
use std::io::Write as _;
use std::process::ExitCode;

pub fn run(ctx: &Context, args: InitArgs) -> anyhow::Result<ExitCode> {
    let file = ctx.network_file();
    let rel = file
        .strip_prefix(&ctx.repo)
        .ok()
        .and_then(|p| p.to_str())
        .map(str::to_owned)
        .filter(|p| !p.is_empty() && avalanche_model::layout::relative_path_problem(p).is_none());
    // Refused before anything is read: the one thing `init` must never do is replace it.
    if !args.print && std::fs::symlink_metadata(&file).is_ok() {
        eprintln!(
            "error: {} exists, and `init` never overwrites a file\n  help: `avalanche-net init --print` shows the draft: compare it with yours, or move yours away first",
            rel.as_deref().unwrap_or(&file.to_string_lossy())
        );
        return Ok(ExitCode::from(1));
    }
    let Some(rel) = rel else {
        anyhow::bail!(
            "{} is not a file inside the repository {}: `init` writes only there (use `--print` to see the draft)",
            file.display(),
            ctx.repo.display()
        );
    };
    // Every YAML file is read as Kubernetes (the draft finds where the tree is).
    let mut network = avalanche_model::Network::default();
    network.kubernetes.dir = ".".to_owned();
    let listing =
        crate::facts::FileList::start(&ctx.repo, &file, crate::facts::FlakeHosts::of(&ctx.global));
    let (facts, _skipped) = crate::facts::gather(&network, Vec::new(), listing)?;
    let dirs = avalanche_check::hosts::host_dirs(&facts, &[]);
    let draft = crate::draft::draft(&facts, &dirs);
    if args.print {
        let mut out = std::io::stdout().lock();
        out.write_all(draft.text.as_bytes())?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    write_new(&ctx.repo, &rel, draft.text.as_bytes())?;
    if !ctx.global.quiet {
        println!("wrote {rel}: a draft of what this repository already says");
        for line in &draft.summary {
            println!("  {line}");
        }
        println!(
            "next: review {rel} (each entry names where it was found; `FILL IN` marks what to complete),\n      then `avalanche-net check` and `avalanche-net diff` (a preview, even while check fails),\n      then `avalanche-net secrets seal NAME` for each credentials secret check reports unsealed\n      (the `.sops.yaml` recipients' public keys suffice), then `avalanche-net build`"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the new file `rel` (repository-relative) all at once: a temp file in
/// its directory, reached without following symlinks, renamed in only if
/// nothing is there (never replacing a file that appeared meanwhile).
fn write_new(repo: &std::path::Path, rel: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let fd = crate::beneath::open_dir(repo, dir, true, rel)?;
    let temp = crate::beneath::temp_name(avalanche_model::layout::BUILD_TEMP_PREFIX);
    crate::beneath::create_file(&fd, &temp, bytes, 0o644, false)
        .with_context(|| format!("writing {rel}"))?;
    let exists = crate::journal::exists(&fd, name);
    let renamed = if exists {
        Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists))
    } else {
        crate::journal::rename_noreplace(&fd, &temp, name)
    };
    if let Err(e) = renamed {
        let _ = rustix::fs::unlinkat(&fd, temp.as_str(), rustix::fs::AtFlags::empty());
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::bail!("{rel} appeared while the draft was made: nothing written");
        }
        return Err(e).with_context(|| format!("writing {rel}"));
    }
    Ok(())
}
