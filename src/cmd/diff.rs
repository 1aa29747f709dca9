//! `diff`: what `build` would change, as a unified diff; exit 1 on drift (for CI).
use crate::cli::DiffArgs;
use crate::context::Context;
use crate::pipeline::{Purpose, Rendered, for_writing, out_root};
use crate::plan_write::{self, Change};
use std::io::Write as _;
use std::process::ExitCode;

/// One file's change: path, old content (none: new file), new content (none: pruned).
type Entry<'a> = (&'a str, Option<&'a [u8]>, Option<&'a [u8]>);

pub fn run(ctx: &Context, args: DiffArgs) -> anyhow::Result<ExitCode> {
    let (plan, hashes, protected, edits) =
        match for_writing(ctx, args.out.is_none(), Purpose::Diff)? {
            Rendered::Plan(p, h, k, e) => (p, h, k, e),
            Rendered::Refused(code) => return Ok(code),
        };
    let root = out_root(ctx, args.out.as_ref());
    let prepared = plan_write::prepare(&root, &plan, hashes, &protected)?;
    if prepared.is_clean() && edits.is_empty() {
        if !ctx.global.quiet {
            eprintln!(
                "no drift: {} generated files up to date",
                prepared.unchanged.len()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Drift is the finding: it stays exit 1 even if the reader goes away.
    crate::exit_on_broken_pipe(1);
    let mut out = std::io::stdout().lock();
    let mut entries: Vec<Entry> = prepared
        .changes
        .iter()
        .map(|c| match c {
            Change::Write { path, old, new } => (path.as_str(), old.as_deref(), Some(*new)),
            Change::Prune { path, old } => (path.as_str(), Some(old.as_slice()), None),
        })
        .collect();
    let ledger = prepared.ledger_change(&root);
    if let Some((path, old, new)) = &ledger {
        entries.push((path, old.as_deref(), Some(new)));
    }
    // The hand-written kustomizations `build` wires (one added line each).
    for edit in &edits {
        entries.push((&edit.path, Some(&edit.before), Some(&edit.after)));
    }
    for (path, old, new) in &entries {
        if args.stat {
            let what = match (old, new) {
                (None, _) => "new",
                (_, None) => "pruned",
                _ => "changed",
            };
            writeln!(out, "{what:8} {path}")?;
            continue;
        }
        let old_text = old.map(String::from_utf8_lossy).unwrap_or_default();
        let new_text = new.map(String::from_utf8_lossy).unwrap_or_default();
        let a = if old.is_some() {
            format!("a/{path}")
        } else {
            "/dev/null".to_owned()
        };
        let b = if new.is_some() {
            format!("b/{path}")
        } else {
            "/dev/null".to_owned()
        };
        let diff = similar::TextDiff::from_lines(old_text.as_ref(), new_text.as_ref());
        write!(
            out,
            "{}",
            diff.unified_diff().context_radius(3).header(&a, &b)
        )?;
    }
    if !ctx.global.quiet {
        eprintln!(
            "drift: {} file(s) differ from what `avalanche-net build` would write",
            entries.len()
        );
    }
    Ok(ExitCode::from(1))
}
