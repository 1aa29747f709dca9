//! The writer's journal: what a build's commit does (every rename and deletion),
//! written and synced to `<root>/.avalanche-net-journal.json` before the first of
//! them, and removed after the last. A build killed in between leaves it; the next
//! command of any kind ([`recover`], run before anything else) reads it and rolls
//! the commit forward, so the tree is entirely the new one and the ledger (renamed
//! last) matches it. A commit that fails part-way in the build itself is rolled
//! back from the same journal, so the tree is entirely the old one; if even that
//! fails, the error says which files are in which state and the journal stays for
//! the next command to finish the rollback.
//!
//! Each operation's state is read from the tree, not logged: a replacement is done
//! when its temp file is gone (renamed onto the target), a staged directory when
//! its staging directory is gone, a prune when its target is gone. Replaced and
//! pruned files are first hard-linked to a backup name (a temp name, swept like
//! the others), which is what a rollback renames back. Every path of the journal
//! is checked as the ledger's are (it is a file in the repository too), and every
//! operation is made relative to a directory reached without following a symlink
//! (`crate::beneath`).
//!
//! The marker `<root>/.avalanche-net-build.tmp` lists the directories a build
//! writes temp files in; it exists from before the first temp file until the
//! journal is done, so that [`recover`] can remove the temp files of a build killed
//! while staging (before its journal existed), without knowing its plan.
use crate::beneath;
use anyhow::{Context as _, bail};
use avalanche_model::layout::{self, BUILD_TEMP_PREFIX, JOURNAL};
use rustix::fs::{AtFlags, Mode, OFlags};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::Path;

/// The marker: present while a build has temp files; lists their directories.
pub const BUILD_MARKER: &str = ".avalanche-net-build.tmp";

/// A journal larger than this is not one the writer wrote (it holds a line per
/// changed file: 50,000 files make about 10 MB).
const MAX_JOURNAL_BYTES: u64 = 256 << 20;

/// One operation of a commit. `dir` is repository-relative (`""` for the root),
/// every other name is a single path component in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Rename the temp file `temp` onto `name`; `backup` is a hard link to the
    /// file it replaces (none when the file is new).
    Replace {
        dir: String,
        name: String,
        temp: String,
        backup: Option<String>,
    },
    /// Rename the staged directory `staging` to the missing directory `name`.
    Subtree {
        dir: String,
        name: String,
        staging: String,
    },
    /// Delete `name`, first hard-linked to `backup`.
    Prune {
        dir: String,
        name: String,
        backup: String,
    },
}

impl Op {
    fn dir(&self) -> &str {
        match self {
            Op::Replace { dir, .. } | Op::Subtree { dir, .. } | Op::Prune { dir, .. } => dir,
        }
    }

    fn name(&self) -> &str {
        match self {
            Op::Replace { name, .. } | Op::Subtree { name, .. } | Op::Prune { name, .. } => name,
        }
    }

    /// The repository-relative path the operation changes.
    pub fn path(&self) -> String {
        layout::join(
            if self.dir().is_empty() {
                "."
            } else {
                self.dir()
            },
            self.name(),
        )
    }
}

/// Which way a journal is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Finish the commit (a build was killed during it).
    Forward,
    /// Undo it (the build failed during it, and is, or was, rolling back).
    Back,
}

/// A commit's operations, in the order they are made (the ledger's last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    pub direction: Direction,
    pub ops: Vec<Op>,
}

impl Journal {
    fn to_text(&self) -> String {
        use serde_json::{Value, json};
        let ops: Vec<Value> = self
            .ops
            .iter()
            .map(|op| match op {
                Op::Replace {
                    dir,
                    name,
                    temp,
                    backup,
                } => json!({"op": "replace", "dir": dir, "name": name, "temp": temp, "backup": backup}),
                Op::Subtree { dir, name, staging } => {
                    json!({"op": "subtree", "dir": dir, "name": name, "staging": staging})
                }
                Op::Prune { dir, name, backup } => {
                    json!({"op": "prune", "dir": dir, "name": name, "backup": backup})
                }
            })
            .collect();
        let direction = match self.direction {
            Direction::Forward => "forward",
            Direction::Back => "back",
        };
        let doc = json!({
            "comment": "An avalanche-net build was interrupted while renaming its files into place. Any avalanche-net command finishes (or undoes) it. Do not edit.",
            "version": 1,
            "direction": direction,
            "ops": ops,
        });
        let mut text = doc.to_string();
        text.push('\n');
        text
    }

    /// Reads a journal, checking every path in it (see the module documentation).
    pub fn parse(text: &str) -> Result<Journal, String> {
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
        let direction = match doc.get("direction").and_then(|d| d.as_str()) {
            Some("forward") => Direction::Forward,
            Some("back") => Direction::Back,
            _ => return Err("no `direction` (`forward` or `back`)".to_owned()),
        };
        let list = doc
            .get("ops")
            .and_then(|o| o.as_array())
            .ok_or("no `ops` list")?;
        let mut ops = Vec::with_capacity(list.len());
        for (i, op) in list.iter().enumerate() {
            let field = |key: &str| -> Result<String, String> {
                op.get(key)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
                    .ok_or_else(|| format!("operation {i}: no `{key}`"))
            };
            let dir = field("dir")?;
            let name = field("name")?;
            if !dir.is_empty()
                && let Some(why) = layout::relative_path_problem(&dir)
            {
                return Err(format!("operation {i}: directory {dir:?}: {why}"));
            }
            if !is_component(&name) {
                return Err(format!("operation {i}: {name:?} is not a file name"));
            }
            let path = layout::join(if dir.is_empty() { "." } else { &dir }, &name);
            if layout::is_protected(&path) {
                return Err(format!(
                    "operation {i}: {path:?}: the writer never touches it"
                ));
            }
            let temp_name = |key: &str| -> Result<String, String> {
                let value = field(key)?;
                if is_component(&value)
                    && value.starts_with(BUILD_TEMP_PREFIX)
                    && value.ends_with(".tmp")
                {
                    Ok(value)
                } else {
                    Err(format!(
                        "operation {i}: `{key}` {value:?} is not a temp file name"
                    ))
                }
            };
            ops.push(match op.get("op").and_then(|o| o.as_str()) {
                Some("replace") => Op::Replace {
                    backup: match op.get("backup") {
                        None | Some(serde_json::Value::Null) => None,
                        Some(_) => Some(temp_name("backup")?),
                    },
                    temp: temp_name("temp")?,
                    dir,
                    name,
                },
                Some("subtree") => Op::Subtree {
                    staging: temp_name("staging")?,
                    dir,
                    name,
                },
                Some("prune") => Op::Prune {
                    backup: temp_name("backup")?,
                    dir,
                    name,
                },
                _ => return Err(format!("operation {i}: unknown `op`")),
            });
        }
        Ok(Journal { direction, ops })
    }

    /// Writes the journal to `<root>/.avalanche-net-journal.json` (a temp file,
    /// synced, renamed, and the root directory synced): on disk before any
    /// operation it lists is made.
    pub fn save(&self, root_fd: &OwnedFd, root: &Path) -> anyhow::Result<()> {
        let temp = beneath::temp_name(BUILD_TEMP_PREFIX);
        beneath::create_file(root_fd, &temp, self.to_text().as_bytes(), 0o644, true)
            .with_context(|| format!("writing the journal in {}", root.display()))?;
        rustix::fs::renameat(root_fd, temp.as_str(), root_fd, JOURNAL)
            .map_err(std::io::Error::from)
            .with_context(|| format!("writing the journal {}", root.join(JOURNAL).display()))?;
        rustix::fs::fsync(root_fd)
            .map_err(std::io::Error::from)
            .with_context(|| format!("syncing {}", root.display()))?;
        Ok(())
    }
}

/// A single, plain path component.
fn is_component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

/// Directories opened beneath the root (never through a symlink), by relative path.
pub struct Dirs<'r> {
    root: &'r Path,
    open: HashMap<String, OwnedFd>,
}

impl<'r> Dirs<'r> {
    pub fn new(root: &'r Path) -> Dirs<'r> {
        Dirs {
            root,
            open: HashMap::new(),
        }
    }

    pub fn get(&mut self, dir: &str, what: &str) -> anyhow::Result<&OwnedFd> {
        if !self.open.contains_key(dir) {
            let fd = beneath::open_dir(self.root, dir, false, what)?;
            self.open.insert(dir.to_owned(), fd);
        }
        Ok(&self.open[dir])
    }
}

/// Whether `name` exists in `dir` (not following a symlink).
pub fn exists(dir: &OwnedFd, name: &str) -> bool {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok()
}

fn unlink_if_there(dir: &OwnedFd, name: &str) -> std::io::Result<()> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn rename(dir: &OwnedFd, from: &str, to: &str) -> std::io::Result<()> {
    rustix::fs::renameat(dir, from, dir, to).map_err(Into::into)
}

/// `rename`, failing when `to` exists (rather than replacing an empty directory);
/// a plain rename where the filesystem cannot promise that.
pub fn rename_noreplace(dir: &OwnedFd, from: &str, to: &str) -> std::io::Result<()> {
    use rustix::fs::{RenameFlags, renameat_with};
    match renameat_with(dir, from, dir, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => rename(dir, from, to),
        Err(e) => Err(e.into()),
    }
}

/// Removes a staging directory `name` of `dir` (ours, freshly made: its content
/// is ours too; `remove_dir_all` follows no symlink inside it).
fn remove_staging(root: &Path, dir: &str, dir_fd: &OwnedFd, name: &str) -> std::io::Result<()> {
    if !exists(dir_fd, name) {
        return Ok(());
    }
    // The directory was reached without a symlink just now (`dir_fd`); the path
    // names the same directory unless it is being swapped this instant.
    std::fs::remove_dir_all(root.join(dir).join(name))
}

/// Makes one operation of a commit (forward), from whatever state it is in.
pub fn forward(dirs: &mut Dirs<'_>, op: &Op) -> anyhow::Result<()> {
    let path = op.path();
    let dir = dirs.get(op.dir(), &path)?;
    let done =
        |e: std::io::Error, what: &str| anyhow::Error::new(e).context(format!("{what} {path}"));
    match op {
        Op::Replace {
            name, temp, backup, ..
        } => {
            if exists(dir, temp) {
                rename(dir, temp, name).map_err(|e| done(e, "renaming the new content into"))?;
            }
            if let Some(backup) = backup {
                unlink_if_there(dir, backup).map_err(|e| done(e, "removing the backup of"))?;
            }
        }
        Op::Subtree { name, staging, .. } => {
            if exists(dir, staging) {
                rename_noreplace(dir, staging, name)
                    .map_err(|e| done(e, "renaming a staged directory into"))?;
            }
        }
        Op::Prune { name, backup, .. } => {
            unlink_if_there(dir, name).map_err(|e| done(e, "pruning"))?;
            unlink_if_there(dir, backup).map_err(|e| done(e, "removing the backup of"))?;
        }
    }
    Ok(())
}

/// Undoes one operation of a commit, from whatever state it is in. `Ok(true)`
/// when it had been made (and is now undone).
pub fn back(root: &Path, dirs: &mut Dirs<'_>, op: &Op) -> anyhow::Result<bool> {
    let path = op.path();
    let dir = dirs.get(op.dir(), &path)?;
    let failed =
        |e: std::io::Error, what: &str| anyhow::Error::new(e).context(format!("{what} {path}"));
    match op {
        Op::Replace {
            name, temp, backup, ..
        } => {
            if exists(dir, temp) {
                // Not made: drop the new content (and the backup link, if made).
                unlink_if_there(dir, temp).map_err(|e| failed(e, "removing the new content of"))?;
                if let Some(backup) = backup {
                    unlink_if_there(dir, backup)
                        .map_err(|e| failed(e, "removing the backup of"))?;
                }
                return Ok(false);
            }
            match backup {
                Some(backup) if exists(dir, backup) => {
                    rename(dir, backup, name).map_err(|e| failed(e, "restoring"))?
                }
                Some(_) => bail!("cannot restore {path}: its backup is gone"),
                None => {
                    unlink_if_there(dir, name).map_err(|e| failed(e, "removing the new file"))?
                }
            }
            Ok(true)
        }
        Op::Subtree { name, staging, .. } => {
            let made = !exists(dir, staging) && exists(dir, name);
            if made {
                rename_noreplace(dir, name, staging)
                    .map_err(|e| failed(e, "moving back the new directory"))?;
            }
            let dir = dirs.get(op.dir(), &path)?;
            remove_staging(root, op.dir(), dir, staging)
                .map_err(|e| failed(e, "removing the staged copy of"))?;
            Ok(made)
        }
        Op::Prune { name, backup, .. } => {
            let made = !exists(dir, name) && exists(dir, backup);
            if made {
                rename(dir, backup, name).map_err(|e| failed(e, "restoring the pruned"))?;
            } else {
                unlink_if_there(dir, backup).map_err(|e| failed(e, "removing the backup of"))?;
            }
            Ok(made)
        }
    }
}

/// Removes the directories above the pruned files that became empty (never the
/// root; never through a symlink).
pub fn remove_empty_parents(root: &Path, ops: &[Op]) {
    let mut dirs: Vec<&str> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Prune { dir, .. } if !dir.is_empty() => Some(dir.as_str()),
            _ => None,
        })
        .collect();
    dirs.sort_unstable();
    dirs.dedup();
    // Deepest first, so a parent is tried after its children.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    for dir in dirs {
        let mut at = dir;
        loop {
            let (parent, name) = at.rsplit_once('/').unwrap_or(("", at));
            let Ok(parent_fd) = beneath::open_dir(root, parent, false, at) else {
                break;
            };
            if rustix::fs::unlinkat(&parent_fd, name, AtFlags::REMOVEDIR).is_err()
                || parent.is_empty()
            {
                break;
            }
            at = parent;
        }
    }
}

/// Rolls a commit back (operations in reverse order), attempting every one even
/// after a failure. `Err` lists what could not be restored.
pub fn roll_back(root: &Path, ops: &[Op]) -> Result<usize, Vec<(String, anyhow::Error)>> {
    let mut dirs = Dirs::new(root);
    let mut undone = 0;
    let mut failures = Vec::new();
    for op in ops.iter().rev() {
        match back(root, &mut dirs, op) {
            Ok(made) => undone += usize::from(made),
            Err(e) => failures.push((op.path(), e)),
        }
    }
    if failures.is_empty() {
        Ok(undone)
    } else {
        Err(failures)
    }
}

/// The message for a rollback that could not restore everything: which files are
/// in which state, and how to finish.
pub fn rollback_failed(root: &Path, cause: &str, failures: &[(String, anyhow::Error)]) -> String {
    let mut msg = format!(
        "{cause}\nrolling the build back failed: the tree is the previous one except for {} file(s) still in an intermediate state:",
        failures.len()
    );
    for (path, e) in failures {
        msg.push_str(&format!("\n  {path}: {e:#}"));
    }
    msg.push_str(&format!(
        "\n  = note: the journal {} records the rollback\n  = help: fix the cause above, then run any avalanche-net command (e.g. `avalanche-net status`): it finishes the rollback first",
        root.join(JOURNAL).display()
    ));
    msg
}

/// Finishes what a killed (or failed) build left, before a command does anything
/// else: applies the journal if there is one, then removes the temp files listed
/// by the marker. Takes the writers' lock; when another process holds it, that
/// one is writing and nothing is done. `Ok(Some(note))` says what was done.
pub fn recover(root: &Path) -> anyhow::Result<Option<String>> {
    let there = |name: &str| std::fs::symlink_metadata(root.join(name)).is_ok();
    if !there(JOURNAL) && !there(BUILD_MARKER) {
        return Ok(None);
    }
    let Some(_lock) = crate::plan_write::try_lock(root)? else {
        return Ok(None);
    };
    recover_locked(root)
}

/// [`recover`], with the lock already held.
pub fn recover_locked(root: &Path) -> anyhow::Result<Option<String>> {
    let root_fd = beneath::open_dir(root, "", false, JOURNAL)?;
    let mut note = None;
    if exists(&root_fd, JOURNAL) {
        let shown = root.join(JOURNAL);
        let text = read_small(&root_fd, JOURNAL, MAX_JOURNAL_BYTES)
            .with_context(|| format!("reading the journal {}", shown.display()))?;
        let journal = Journal::parse(&text).map_err(|why| {
            anyhow::anyhow!(
                "{}: {why}\n  = note: the journal records an interrupted build; this one was not written by avalanche-net, so nothing was done with it\n  = help: check `git status`, then remove the file",
                shown.display()
            )
        })?;
        match journal.direction {
            Direction::Forward => {
                let mut dirs = Dirs::new(root);
                for op in &journal.ops {
                    forward(&mut dirs, op).with_context(|| {
                        format!(
                            "finishing the interrupted build recorded in {} (the tree is partly old, partly new until it is finished; fix the cause and run any avalanche-net command again)",
                            shown.display()
                        )
                    })?;
                }
                remove_empty_parents(root, &journal.ops);
                note = Some(format!(
                    "finished the build that was interrupted while renaming its files ({} operations): the tree is the new one",
                    journal.ops.len()
                ));
            }
            Direction::Back => {
                if let Err(failures) = roll_back(root, &journal.ops) {
                    bail!(rollback_failed(
                        root,
                        "an earlier build failed and could not be rolled back",
                        &failures
                    ));
                }
                note = Some(format!(
                    "rolled back the build that failed while renaming its files ({} operations): the tree is the previous one",
                    journal.ops.len()
                ));
            }
        }
        rustix::fs::unlinkat(&root_fd, JOURNAL, AtFlags::empty())
            .map_err(std::io::Error::from)
            .with_context(|| format!("removing {}", shown.display()))?;
    }
    if exists(&root_fd, BUILD_MARKER) {
        let dirs = read_small(&root_fd, BUILD_MARKER, MAX_JOURNAL_BYTES).unwrap_or_default();
        sweep(root, dirs.lines())?;
        unlink_if_there(&root_fd, BUILD_MARKER)
            .with_context(|| format!("removing {}", root.join(BUILD_MARKER).display()))?;
        note.get_or_insert_with(|| {
            "removed the temp files of a build that was interrupted before renaming anything: the tree is the previous one".to_owned()
        });
    }
    Ok(note)
}

/// Writes the marker listing the directories temp files will be made in.
pub fn create_marker(root_fd: &OwnedFd, root: &Path, dirs: &[&str]) -> anyhow::Result<()> {
    let mut text = String::new();
    for dir in dirs {
        text.push_str(dir);
        text.push('\n');
    }
    beneath::create_file(root_fd, BUILD_MARKER, text.as_bytes(), 0o644, false).with_context(|| {
        format!(
            "creating the build marker {}",
            root.join(BUILD_MARKER).display()
        )
    })
}

/// Removes the marker (the build's temp files are all gone).
pub fn remove_marker(root_fd: &OwnedFd, root: &Path) -> anyhow::Result<()> {
    unlink_if_there(root_fd, BUILD_MARKER)
        .with_context(|| format!("removing {}", root.join(BUILD_MARKER).display()))
}

/// Removes the build's temp files and staging directories in the root and in
/// `dirs` (repository-relative; a line that is not a plain relative path, or a
/// directory reached through a symlink, is skipped).
fn sweep<'a>(root: &Path, dirs: impl Iterator<Item = &'a str>) -> anyhow::Result<()> {
    let mut all = vec![""];
    all.extend(
        dirs.filter(|d| layout::relative_path_problem(d).is_none() && !layout::is_protected(d)),
    );
    for dir in all {
        let Ok(fd) = beneath::open_dir(root, dir, false, dir) else {
            continue; // missing, or through a symlink: nothing of ours there
        };
        beneath::sweep_temps(&fd, &root.join(dir), &|name| {
            name.starts_with(BUILD_TEMP_PREFIX) && name.ends_with(".tmp") && name != BUILD_MARKER
        })
        .with_context(|| format!("removing temp files in {}", root.join(dir).display()))?;
    }
    Ok(())
}

/// Reads a small regular file of `dir` (not through a symlink), at most `max` bytes.
fn read_small(dir: &OwnedFd, name: &str, max: u64) -> anyhow::Result<String> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let st = rustix::fs::fstat(&fd)?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        bail!("{name} is not a regular file");
    }
    let len = u64::try_from(st.st_size).unwrap_or(0);
    if len > max {
        bail!("{name} is {len} bytes, more than the {max} it can be");
    }
    let mut file = std::fs::File::from(fd);
    let bytes = avalanche_fsread::read_sized(&mut file, len)?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{name} is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollback_that_cannot_restore_says_which_file_and_how_to_finish() {
        let root = tempfile::tempdir().expect("a temp dir");
        std::fs::create_dir(root.path().join("k")).expect("mkdir");
        std::fs::write(root.path().join("k/a.yaml"), "new\n").expect("new a");
        std::fs::write(root.path().join("k/b.yaml"), "new\n").expect("new b");
        std::fs::write(root.path().join("k/.avalanche-net-b.tmp"), "old\n").expect("backup of b");
        // Both renamed (no temp file left); `a`'s backup is gone, `b`'s is there.
        let ops = [
            Op::Replace {
                dir: "k".into(),
                name: "a.yaml".into(),
                temp: ".avalanche-net-1.tmp".into(),
                backup: Some(".avalanche-net-a.tmp".into()),
            },
            Op::Replace {
                dir: "k".into(),
                name: "b.yaml".into(),
                temp: ".avalanche-net-2.tmp".into(),
                backup: Some(".avalanche-net-b.tmp".into()),
            },
        ];
        let failures = roll_back(root.path(), &ops).expect_err("a cannot be restored");
        assert_eq!(failures.len(), 1);
        let message = rollback_failed(root.path(), "renaming failed", &failures);
        assert!(
            message.contains("k/a.yaml: cannot restore k/a.yaml: its backup is gone")
                && message.contains("1 file(s) still in an intermediate state")
                && message.contains(JOURNAL)
                && message.contains("run any avalanche-net command"),
            "{message}"
        );
        // `b` was restored all the same.
        let b = std::fs::read_to_string(root.path().join("k/b.yaml")).expect("b");
        assert_eq!(b, "old\n");
    }

    #[test]
    fn a_journal_reads_back_and_refuses_paths_out_of_its_place() {
        let journal = Journal {
            direction: Direction::Forward,
            ops: vec![
                Op::Replace {
                    dir: "kubernetes/base".into(),
                    name: "a.yaml".into(),
                    temp: ".avalanche-net-1.tmp".into(),
                    backup: Some(".avalanche-net-2.tmp".into()),
                },
                Op::Subtree {
                    dir: "kubernetes".into(),
                    name: "apps".into(),
                    staging: ".avalanche-net-3.tmp".into(),
                },
                Op::Prune {
                    dir: "".into(),
                    name: "x.yaml".into(),
                    backup: ".avalanche-net-4.tmp".into(),
                },
            ],
        };
        assert_eq!(Journal::parse(&journal.to_text()), Ok(journal.clone()));
        for (from, to) in [
            ("\"kubernetes/base\"", "\"../outside\""),
            ("\"a.yaml\"", "\"../a.yaml\""),
            ("\"x.yaml\"", "\"x/y\""),
            ("\".avalanche-net-1.tmp\"", "\"flake.nix\""),
            ("\"kubernetes\"", "\".git\""),
        ] {
            let text = journal.to_text().replacen(from, to, 1);
            assert!(Journal::parse(&text).is_err(), "{to} accepted");
        }
    }
}
