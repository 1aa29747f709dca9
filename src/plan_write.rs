//! Writing a [`Plan`] to disk: all files or none, never a file we did not
//! generate, never over a hand edit, pruning what is no longer produced.
//!
//! The ledger `<root>/<kubernetes.dir>/.avalanche-generated.json`
//! (`Plan::ledger_path`) records every generated file with the SHA-256 of what was
//! written. A file whose content no longer matches its ledger hash was edited by
//! hand: `build` refuses to overwrite or prune it unless `--force`. A file absent
//! from the ledger is not ours: it is never overwritten (unless `--force` adopts
//! it) nor pruned. The ledger itself is untrusted input (anyone can edit a file
//! of the repository): every entry must be a plain relative path inside
//! `kubernetes.dir` or one of the plan's own files, never in `.git`, the
//! declarations, `.sops.yaml` or a SOPS file, else `build` and `diff` stop with
//! the ledger's line and entry ([`layout::parse_ledger`]).
//!
//! Atomicity: every new content is first written to a temp file in its target
//! directory, or, when that directory does not exist yet, under its final name
//! inside a staging directory that becomes the outermost missing directory (one
//! rename for a whole new subtree: a first build renames a handful of directories,
//! not every file). Any error while staging leaves the tree as it was (temp files
//! and staging directories are removed). Then the commit is a transaction
//! ([`crate::journal`]): every rename and deletion is written to a journal,
//! synced, before the first of them; each replaced or pruned file is hard-linked to
//! a backup name and compared with what `prepare` read just before its rename (an
//! edit made during the build stops the commit: it is never overwritten); the
//! ledger is renamed last. A failure mid-commit rolls back what was done, so the
//! tree is the previous one; a build killed mid-commit is rolled forward by the
//! next command of any kind, so the tree is the new one. Either way the ledger
//! matches the tree.
//!
//! No symlink is followed: paths are inspected with `lstat` when compared, and
//! every directory written in is opened from the root without following a link
//! ([`crate::beneath`]); the temp files, renames and deletions are made relative
//! to that descriptor, so a directory swapped for a symlink during the build does
//! not redirect a write. Concurrent writers are excluded by an advisory lock
//! (`flock`) on the root directory itself, so no lock file is left behind.
//!
//! Durability is `--sync`'s (off by default, as for `git checkout`, cargo or
//! kustomize: the kernel flushes when it flushes). With it, one `syncfs` per
//! output filesystem makes the new contents durable *before* any rename (so a
//! crash can never leave a renamed but empty file), and one more after the
//! renames, prunes and the ledger makes the directory entries durable: a
//! constant number of calls, where an `fsync` per file and directory would cost
//! thousands of journal commits for a large network. Why not by default:
//! `syncfs` also waits for whatever else is dirty on that filesystem (a build
//! next to a large download waits for the download), which made it the most
//! variable part of a build. The journal itself is always synced. Without
//! `--sync`, a crash of the machine (not of the build: a killed build is covered
//! above) may leave some generated files empty; an empty file at a generated path
//! is therefore never protected as a hand edit (it holds nothing to lose), and the
//! next build rewrites it. A build that changes nothing writes and syncs nothing.
//!
//! Large plans are written on two threads (temp files, then renames): the
//! directories are made first, on one thread, and the ledger is still renamed last.
//!
//! A build killed while staging leaves `.avalanche-net-*.tmp` files and staging
//! directories, and its marker (`.avalanche-net-build.tmp` in the root, listing
//! the directories they are in); the next command removes them, with the lock
//! held (regular files and real directories only, never through a symlink).
use crate::{beneath, journal};
use anyhow::{Context as _, bail};
use avalanche_model::layout::{self, LedgerScope};
use avalanche_render::Plan;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// What a build did (or, for `diff`, would do).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Created or changed files.
    pub written: Vec<String>,
    /// Files already up to date.
    pub unchanged: Vec<String>,
    /// Generated files deleted because they are no longer produced.
    pub pruned: Vec<String>,
    /// Hand-written files edited to wire the generated ones (see [`HandEdit`]).
    pub wired: Vec<String>,
}

/// A minimal edit of a hand-written file (a kustomization's list entry), written
/// in the same all-or-nothing step as the plan. It is not generated: it never
/// enters the ledger, and it is refused when the file no longer holds exactly
/// `before` (edited since it was read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandEdit {
    /// Repository-relative path.
    pub path: String,
    /// The content the edit was computed from.
    pub before: Vec<u8>,
    /// The content to write.
    pub after: Vec<u8>,
}

/// Refuses unless every hand-written file still holds what its edit was computed from.
fn verify_hand_edits(
    root: &Path,
    edits: &[HandEdit],
    plan: &Plan,
    ledger: &Ledger,
    safe: &mut SafePaths,
) -> anyhow::Result<()> {
    for edit in edits {
        let protected = avalanche_model::layout::is_protected(&edit.path);
        if protected || plan.get(&edit.path).is_some() || ledger.files.contains_key(&edit.path) {
            bail!(
                "nothing written: `{}` is a generated file, not one to wire by hand",
                edit.path
            );
        }
        let path = safe.check(root, &edit.path)?;
        match read_existing(&path)? {
            Some(now) if now == edit.before => {}
            _ => bail!(
                "nothing written: `{}` changed since `build` read it; run `avalanche-net build` again",
                edit.path
            ),
        }
    }
    Ok(())
}

/// One change `build` would make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<'p> {
    /// A file created or rewritten: old content (if any) and new content (the plan's).
    Write {
        path: String,
        old: Option<Vec<u8>>,
        new: &'p [u8],
    },
    /// A generated file deleted.
    Prune { path: String, old: Vec<u8> },
}

/// Refusals that `--force` overrides.
#[derive(Debug, Default)]
struct Conflicts {
    hand_edited: Vec<String>,
    not_ours: Vec<String>,
}

/// The ledger: path → hex SHA-256.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ledger {
    pub files: BTreeMap<String, String>,
}

impl Ledger {
    /// Reads the ledger at `rel` (`path` on disk), every entry checked against
    /// `scope`: the ledger is a file of the repository, not a trusted record (see
    /// [`layout::parse_ledger`]).
    fn read(path: &Path, rel: &str, scope: &LedgerScope<'_>) -> anyhow::Result<Ledger> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if absent(&e) => return Ok(Ledger::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        if !meta.is_file() {
            bail!(
                "{rel}: the ledger is not a regular file\n  = help: remove it (`git checkout -- {rel}` restores the committed one)"
            );
        }
        if meta.len() > MAX_LEDGER_BYTES {
            bail!(
                "{rel}: the ledger is {} bytes, more than the {MAX_LEDGER_BYTES} a ledger of generated files can be\n  = help: restore it from git (`git checkout -- {rel}`)",
                meta.len()
            );
        }
        let bytes = read_sized(path, meta.len())?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{rel}: the ledger is not UTF-8 text\n  = help: restore it from git (`git checkout -- {rel}`)"))?;
        let files = layout::parse_ledger(&text, rel, scope).map_err(|e| {
            let what = match &e.entry {
                Some(_) => "remove the entry (or restore the ledger from git)",
                None => "restore the ledger from git, or delete it (the next build then asks for `--force` to adopt the files already there)",
            };
            anyhow::anyhow!(
                "{e}\n  = note: the ledger lists the files avalanche-net generated, so that `build` can prune them; it only ever names generated files\n  = help: {what}; nothing was written"
            )
        })?;
        Ok(Ledger { files })
    }

    fn to_bytes(&self) -> Vec<u8> {
        layout::ledger_text(&self.files).into_bytes()
    }
}

/// A ledger of 50,000 files is about 5 MB: a larger one is not ours.
const MAX_LEDGER_BYTES: u64 = 256 << 20;

/// Hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(2 * digest.len());
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// The SHA-256 of every file of a plan, in the plan's order: what the ledger
/// records. Computed apart from [`prepare`] so that `build` can hash on one core
/// while the checks run on the other.
pub struct Hashes(Vec<String>);

impl Hashes {
    /// Hashes the plan (on two threads when there is much to hash).
    pub fn of(plan: &Plan) -> Hashes {
        let files: Vec<(&str, &[u8])> = plan.files().collect();
        Hashes(hash_all(&files))
    }

    /// Hashes the plan on this thread only.
    pub fn sequential(plan: &Plan) -> Hashes {
        Hashes(plan.files().map(|(_, b)| sha256(b)).collect())
    }
}

/// Whether hashing `plan` is worth a thread of its own.
pub fn worth_a_thread(plan: &Plan) -> bool {
    plan.total_bytes() >= HASH_PARALLEL_BYTES
}

/// From this many bytes, hashing is split over two threads.
const HASH_PARALLEL_BYTES: usize = 1 << 20;

/// The SHA-256 of every file, on two threads when there is enough to hash.
fn hash_all(files: &[(&str, &[u8])]) -> Vec<String> {
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    if total < HASH_PARALLEL_BYTES || files.len() < 2 {
        return files.iter().map(|(_, b)| sha256(b)).collect();
    }
    let (first, second) = files.split_at(files.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| second.iter().map(|(_, b)| sha256(b)).collect::<Vec<_>>());
        let mut hashes: Vec<String> = first.iter().map(|(_, b)| sha256(b)).collect();
        match other.join() {
            Ok(rest) => hashes.extend(rest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        hashes
    })
}

/// Checks that paths are plain relative paths and that nothing on the way from
/// the root is a symlink (a link could send a write outside the repository).
/// Directories already seen to be real directories are not inspected again, so a
/// plan of 50,000 files costs one `lstat` per directory and file, not one per
/// path component.
#[derive(Default)]
struct SafePaths {
    /// Real directories seen, and the device (filesystem) each is on.
    dirs: HashMap<PathBuf, u64>,
    /// Paths seen not to exist (nothing below them needs a look either).
    missing: HashSet<PathBuf>,
}

/// A checked path, and what is there (from the one `lstat` of the check): `None`
/// when nothing is (or a directory on the way is missing).
struct Checked {
    path: PathBuf,
    found: Option<std::fs::Metadata>,
    /// The target is a directory already seen (so `found` was not looked up).
    known_dir: bool,
}

impl SafePaths {
    fn check(&mut self, root: &Path, rel: &str) -> anyhow::Result<PathBuf> {
        self.inspect(root, rel).map(|c| c.path)
    }

    fn inspect(&mut self, root: &Path, rel: &str) -> anyhow::Result<Checked> {
        let rel_path = Path::new(rel);
        if rel.is_empty()
            || !rel_path
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            bail!("refusing to write `{rel}`: not a plain relative path");
        }
        let mut at = root.to_path_buf();
        let count = rel_path.components().count();
        for (i, c) in rel_path.components().enumerate() {
            at.push(c);
            if self.dirs.contains_key(&at) {
                continue;
            }
            if self.missing.contains(&at) {
                return Ok(Checked {
                    path: root.join(rel_path),
                    found: None,
                    known_dir: false,
                });
            }
            let last = i + 1 == count;
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    bail!("refusing to write `{rel}`: {} is a symlink", at.display())
                }
                Ok(m) if last => {
                    if m.is_dir() {
                        self.dirs.insert(at.clone(), m.dev());
                    }
                    return Ok(Checked {
                        path: at,
                        found: Some(m),
                        known_dir: false,
                    });
                }
                Ok(m) if m.is_dir() => {
                    self.dirs.insert(at.clone(), m.dev());
                }
                Ok(_) => {}
                Err(e) if absent(&e) => {
                    self.missing.insert(at);
                    return Ok(Checked {
                        path: root.join(rel_path),
                        found: None,
                        known_dir: false,
                    });
                }
                Err(e) => return Err(e).with_context(|| format!("inspecting {}", at.display())),
            }
        }
        // Every component, the target included, is a directory seen before.
        Ok(Checked {
            path: root.join(rel_path),
            found: None,
            known_dir: true,
        })
    }

    /// The device of directory `dir` (from the cache when it was seen).
    fn device(&mut self, dir: &Path) -> anyhow::Result<u64> {
        if let Some(dev) = self.dirs.get(dir) {
            return Ok(*dev);
        }
        let m = std::fs::symlink_metadata(dir)
            .with_context(|| format!("inspecting {}", dir.display()))?;
        if m.is_dir() {
            self.dirs.insert(dir.to_path_buf(), m.dev());
        }
        Ok(m.dev())
    }
}

/// The bytes of the regular file at `path` (not through a symlink), `None` when
/// nothing is there: [`avalanche_fsread::read_existing`].
fn read_existing(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    Ok(avalanche_fsread::read_existing(path)?)
}

/// Reads a regular file whose size an `lstat` gave (one `read` call for the
/// content, no second `stat`).
fn read_sized(path: &Path, len: u64) -> anyhow::Result<Vec<u8>> {
    File::open(path)
        .and_then(|mut f| avalanche_fsread::read_sized(&mut f, len))
        .with_context(|| format!("reading {}", path.display()))
}

/// Not there: missing, or a parent is a regular file (then writing it fails later,
/// while staging, which leaves the tree untouched).
fn absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// Everything a build would do, without doing it.
pub struct Prepared<'p> {
    pub changes: Vec<Change<'p>>,
    pub unchanged: Vec<String>,
    ledger_rel: String,
    ledger_old: Ledger,
    ledger_new: Ledger,
    conflicts: Conflicts,
}

impl Prepared<'_> {
    /// True when `build` would change nothing (ledger included).
    pub fn is_clean(&self) -> bool {
        self.changes.is_empty() && self.ledger_old == self.ledger_new
    }

    /// The ledger's change, as (old, new) bytes, when it changes.
    pub fn ledger_change(&self, root: &Path) -> Option<(String, Option<Vec<u8>>, Vec<u8>)> {
        if self.ledger_old == self.ledger_new {
            return None;
        }
        let old = std::fs::read(root.join(&self.ledger_rel)).ok();
        Some((self.ledger_rel.clone(), old, self.ledger_new.to_bytes()))
    }
}

/// Compares the plan with the tree under `root`.
/// `hashes` are the plan's ([`Hashes::of`]).
/// `protected` are paths never pruned whatever the ledger says (the declarations
/// file, the SOPS files).
pub fn prepare<'p>(
    root: &Path,
    plan: &'p Plan,
    hashes: Hashes,
    protected: &[String],
) -> anyhow::Result<Prepared<'p>> {
    prepare_with(root, plan, hashes, protected, &mut SafePaths::default())
}

fn prepare_with<'p>(
    root: &Path,
    plan: &'p Plan,
    hashes: Hashes,
    protected: &[String],
    safe: &mut SafePaths,
) -> anyhow::Result<Prepared<'p>> {
    let ledger_rel = plan.ledger_path().to_owned();
    let kubernetes_dir = ledger_rel.rsplit_once('/').map_or(".", |(dir, _)| dir);
    // The generated files outside `kubernetes.dir` (the Tailscale policy).
    let also: Vec<&str> = plan
        .files()
        .map(|(rel, _)| rel)
        .filter(|rel| !layout::is_within(rel, kubernetes_dir))
        .collect();
    let scope = LedgerScope {
        kubernetes_dir,
        also: &also,
        protected,
    };
    let ledger_old = Ledger::read(&safe.check(root, &ledger_rel)?, &ledger_rel, &scope)?;
    let mut ledger_new = Ledger::default();
    let mut changes = Vec::new();
    let mut unchanged = Vec::new();
    let mut conflicts = Conflicts::default();
    let Hashes(hashes) = hashes;
    if hashes.len() != plan.len() {
        bail!(
            "internal error: {} hashes for {} files",
            hashes.len(),
            plan.len()
        );
    }
    for ((rel, bytes), hash) in plan.files().zip(hashes) {
        let checked = safe.inspect(root, rel)?;
        let old = match &checked.found {
            None if checked.known_dir => {
                bail!(
                    "{} exists and is not a regular file",
                    checked.path.display()
                )
            }
            None => None,
            Some(m) if m.is_file() => Some(read_sized(&checked.path, m.len())?),
            Some(_) => bail!(
                "{} exists and is not a regular file",
                checked.path.display()
            ),
        };
        ledger_new.files.insert(rel.to_owned(), hash);
        match old {
            Some(old) if old == bytes => unchanged.push(rel.to_owned()),
            Some(old) => {
                // An empty file holds nothing to protect: most likely a write a
                // crash of the machine cut short (see the module documentation).
                match ledger_old.files.get(rel) {
                    _ if old.is_empty() => {}
                    Some(hash) if *hash != sha256(&old) => {
                        conflicts.hand_edited.push(rel.to_owned())
                    }
                    Some(_) => {}
                    None => conflicts.not_ours.push(rel.to_owned()),
                }
                changes.push(Change::Write {
                    path: rel.to_owned(),
                    old: Some(old),
                    new: bytes,
                });
            }
            None => changes.push(Change::Write {
                path: rel.to_owned(),
                old: None,
                new: bytes,
            }),
        }
    }
    for (rel, hash) in &ledger_old.files {
        if plan.get(rel).is_some() {
            continue;
        }
        let path = safe.check(root, rel)?;
        if let Some(old) = read_existing(&path)? {
            // The ledger names only generated files (checked when read), and no
            // generated file is a SOPS file: one here was put there by hand.
            if avalanche_sops::is_sops_file(&String::from_utf8_lossy(&old)) {
                bail!(
                    "{ledger_rel}: entry {rel:?}: it is a SOPS file, which avalanche-net never generates nor prunes\n  = help: remove the entry from the ledger; nothing was written"
                );
            }
            if !old.is_empty() && sha256(&old) != *hash {
                conflicts.hand_edited.push(rel.clone());
            }
            changes.push(Change::Prune {
                path: rel.clone(),
                old,
            });
        }
    }
    Ok(Prepared {
        changes,
        unchanged,
        ledger_rel,
        ledger_old,
        ledger_new,
        conflicts,
    })
}

/// Holds the exclusive writers' lock on `root` until dropped.
pub struct Lock {
    _dir: File,
}

/// Takes the exclusive writers' lock on the root directory (`build`, `secrets`,
/// the journal's recovery); fails at once if another process holds it.
pub fn lock(root: &Path) -> anyhow::Result<Lock> {
    match try_lock(root)? {
        Some(lock) => Ok(lock),
        None => bail!(
            "another avalanche-net command (`build` or `secrets`) is writing to {} (it holds the lock); try again when it is done",
            root.display()
        ),
    }
}

/// [`lock`], or `None` when another process holds it.
pub fn try_lock(root: &Path) -> anyhow::Result<Option<Lock>> {
    let dir = File::open(root).with_context(|| format!("opening {}", root.display()))?;
    match fs4::FileExt::try_lock(&dir) {
        Ok(()) => Ok(Some(Lock { _dir: dir })),
        Err(fs4::TryLockError::WouldBlock) => Ok(None),
        Err(fs4::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", root.display()))
        }
    }
}

/// How [`write`] writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Overwrite (and prune) generated files edited by hand, adopt files that
    /// are not ours.
    pub force: bool,
    /// Flush to disk before and after the renames (see the module documentation).
    pub sync: bool,
}

/// Writes the plan under `root`: see the module documentation.
/// `hashes` are the plan's ([`Hashes::of`]); `protected` as for [`prepare`].
#[allow(dead_code)] // the plain form, for writers without hand edits
pub fn write(
    root: &Path,
    plan: &Plan,
    hashes: Hashes,
    protected: &[String],
    options: WriteOptions,
) -> anyhow::Result<Summary> {
    write_with_edits(root, plan, hashes, protected, options, &[])
}

/// [`write`], plus edits of hand-written files ([`HandEdit`]) staged and renamed
/// with the plan's files: all of them are written, or none.
pub fn write_with_edits(
    root: &Path,
    plan: &Plan,
    hashes: Hashes,
    protected: &[String],
    options: WriteOptions,
    edits: &[HandEdit],
) -> anyhow::Result<Summary> {
    let WriteOptions { force, sync } = options;
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    let _lock = lock(root)?;
    // What a killed build left is finished (or undone) before anything is compared.
    if let Some(note) = journal::recover_locked(root)? {
        eprintln!("note: {note}");
    }
    let mut safe = SafePaths::default();
    let prepared = prepare_with(root, plan, hashes, protected, &mut safe)?;
    verify_hand_edits(root, edits, plan, &prepared.ledger_old, &mut safe)?;
    if !force
        && (!prepared.conflicts.hand_edited.is_empty() || !prepared.conflicts.not_ours.is_empty())
    {
        let mut msg = String::from("nothing written:");
        for p in &prepared.conflicts.hand_edited {
            msg.push_str(&format!(
                "\n  {p}: generated, then edited by hand (its content differs from {})",
                prepared.ledger_rel
            ));
        }
        for p in &prepared.conflicts.not_ours {
            msg.push_str(&format!(
                "\n  {p}: exists and was not generated by avalanche-net"
            ));
        }
        msg.push_str("\nmove the edits into nix/network.nix (or the file away), or run `avalanche-net build --force` to overwrite");
        bail!(msg);
    }

    let mut summary = Summary {
        unchanged: prepared.unchanged.clone(),
        ..Summary::default()
    };
    let ledger_exists = root.join(&prepared.ledger_rel).exists();
    let ledger_bytes = (prepared.ledger_old != prepared.ledger_new || !ledger_exists)
        .then(|| prepared.ledger_new.to_bytes());
    if prepared.changes.is_empty() && ledger_bytes.is_none() && edits.is_empty() {
        return Ok(summary); // Nothing changes: nothing written, nothing synced.
    }
    let root_fd = beneath::open_dir(root, "", false, &prepared.ledger_rel)?;
    let mut staging = Staging::default();
    // The marker lists where temp files will be, for a recovery that does not
    // know the plan.
    journal::create_marker(&root_fd, root, &temp_dirs(plan))?;
    let result = (|| -> anyhow::Result<()> {
        // Directories first (one thread: they nest), then the files (on two
        // threads when many: each is independent).
        let mut jobs = Vec::new();
        for change in &prepared.changes {
            if let Change::Write { path, new, old } = change {
                jobs.push(staging.place(&mut safe, root, path, new, old.is_some())?);
                summary.written.push(path.clone());
            }
        }
        for edit in edits {
            jobs.push(staging.place(&mut safe, root, &edit.path, &edit.after, true)?);
            summary.wired.push(edit.path.clone());
        }
        if let Some(ledger_bytes) = &ledger_bytes {
            let job = staging.place(
                &mut safe,
                root,
                &prepared.ledger_rel,
                ledger_bytes,
                ledger_exists,
            )?;
            staging.holds_ledger(&job);
            jobs.push(job);
        }
        staging.write_all(jobs)?;
        // The new contents reach the disk before any rename can point at them.
        if sync && !staging.is_empty() {
            sync_filesystems(staging.filesystems.values())?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        staging.abort();
        let _ = journal::remove_marker(&root_fd, root);
        return Err(e.context("nothing was changed"));
    }

    let mut filesystems = std::mem::take(&mut staging.filesystems);
    let prunes: Vec<(&String, &[u8])> = prepared
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Prune { path, old } => Some((path, old.as_slice())),
            Change::Write { .. } => None,
        })
        .collect();
    for (path, _) in &prunes {
        let full = root.join(path);
        if let Some(dir) = full.parent() {
            let dev = safe.device(dir)?;
            filesystems.entry(dev).or_insert_with(|| dir.to_path_buf());
        }
    }
    // What each replaced or pruned file held when `prepare` read it: a file that
    // holds something else by its rename was edited meanwhile, and is kept.
    let olds: HashMap<&str, &[u8]> = prepared
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Write {
                path,
                old: Some(old),
                ..
            } => Some((path.as_str(), old.as_slice())),
            _ => None,
        })
        // A hand-written file the wiring edits must still hold what the edit
        // was computed from.
        .chain(edits.iter().map(|e| (e.path.as_str(), e.before.as_slice())))
        .collect();
    let steps = match staging.steps(root, &prepared.ledger_rel, &prunes, &olds) {
        Ok(steps) => steps,
        Err(e) => {
            staging.abort();
            let _ = journal::remove_marker(&root_fd, root);
            return Err(e.context("nothing was changed"));
        }
    };
    let ops: Vec<journal::Op> = steps.iter().map(|s| s.op.clone()).collect();
    let mut record = journal::Journal {
        direction: journal::Direction::Forward,
        ops,
    };
    // The journal is on disk before the first rename: from here a killed build is
    // finished by the next command.
    if let Err(e) = record.save(&root_fd, root) {
        let _ = journal::roll_back(root, &record.ops);
        let _ = journal::remove_marker(&root_fd, root);
        return Err(e.context("nothing was changed"));
    }
    if let Err(e) = run_steps(&steps) {
        let cause = format!("{e:#}");
        record.direction = journal::Direction::Back;
        let _ = record.save(&root_fd, root);
        match journal::roll_back(root, &record.ops) {
            Ok(undone) => {
                rustix::fs::unlinkat(&root_fd, layout::JOURNAL, rustix::fs::AtFlags::empty())
                    .map_err(std::io::Error::from)
                    .with_context(|| {
                        format!("removing {}", root.join(layout::JOURNAL).display())
                    })?;
                let _ = journal::remove_marker(&root_fd, root);
                bail!(
                    "{cause}\nthe build was rolled back ({undone} of {} renames and deletions undone): the tree is the previous one, nothing was changed",
                    record.ops.len()
                )
            }
            Err(failures) => bail!(journal::rollback_failed(root, &cause, &failures)),
        }
    }
    for step in &steps {
        if let journal::Op::Replace {
            backup: Some(backup),
            ..
        }
        | journal::Op::Prune { backup, .. } = &step.op
        {
            let _ = rustix::fs::unlinkat(&*step.dir, backup.as_str(), rustix::fs::AtFlags::empty());
        }
        if let journal::Op::Prune { .. } = &step.op {
            summary.pruned.push(step.op.path());
        }
    }
    journal::remove_empty_parents(root, &record.ops);
    rustix::fs::unlinkat(&root_fd, layout::JOURNAL, rustix::fs::AtFlags::empty())
        .map_err(std::io::Error::from)
        .with_context(|| format!("removing {}", root.join(layout::JOURNAL).display()))?;
    // Everything is in place: no temp file is left for the next command to sweep.
    journal::remove_marker(&root_fd, root)?;
    // The renames and deletions (directory entries) reach the disk: one call per
    // filesystem instead of an `fsync` of every touched directory.
    if sync {
        sync_filesystems(filesystems.values())
            .context("the files are in place, but syncing them to disk failed")?;
    }
    Ok(summary)
}

/// Every directory the plan writes in, and every one on the way (a staging
/// directory sits beside the outermost missing one): where its temp files can be.
fn temp_dirs(plan: &Plan) -> Vec<&str> {
    let mut dirs = BTreeSet::new();
    for rel in plan
        .files()
        .map(|(rel, _)| rel)
        .chain(std::iter::once(plan.ledger_path()))
    {
        let mut rest = rel;
        while let Some((parent, _)) = rest.rsplit_once('/') {
            if !dirs.insert(parent) {
                break;
            }
            rest = parent;
        }
    }
    dirs.into_iter().collect()
}

/// `syncfs` on the filesystem of each directory: one call each, whatever the number
/// of files written there.
fn sync_filesystems<'a>(dirs: impl IntoIterator<Item = &'a PathBuf>) -> anyhow::Result<()> {
    for dir in dirs {
        let fd = File::open(dir).with_context(|| format!("opening {}", dir.display()))?;
        rustix::fs::syncfs(&fd)
            .with_context(|| format!("syncing the filesystem of {}", dir.display()))?;
    }
    Ok(())
}

/// One operation of the commit, with the directory it is made in (held open
/// since it was reached without a symlink) and, for a file replaced or pruned,
/// what it must still hold.
struct Step<'a> {
    op: journal::Op,
    dir: Arc<OwnedFd>,
    old: Option<&'a [u8]>,
    /// Made after the files' renames, one at a time (staged directories, prunes,
    /// the ledger).
    last: bool,
}

impl Step<'_> {
    /// Makes the operation. A file replaced or pruned is first hard-linked to its
    /// backup name (what a rollback restores), and the backup compared with what
    /// `prepare` read: an edit made since is never overwritten.
    fn make(&self) -> anyhow::Result<()> {
        use rustix::fs::AtFlags;
        let dir = &*self.dir;
        let path = self.op.path();
        let link_and_compare = |name: &str, backup: &str| -> anyhow::Result<()> {
            match rustix::fs::linkat(dir, name, dir, backup, AtFlags::empty()) {
                Ok(()) => {}
                // A filesystem without hard links: the backup is a copy.
                Err(rustix::io::Errno::PERM | rustix::io::Errno::NOTSUP) => {
                    copy_backup(dir, name, backup)
                        .with_context(|| format!("copying a backup of {path}"))?;
                }
                Err(e) => {
                    return Err(std::io::Error::from(e))
                        .with_context(|| format!("linking a backup of {path}"));
                }
            }
            if let Some(old) = self.old
                && !same_content(dir, backup, old)
            {
                bail!(
                    "{path} was edited while the build ran (it changed after `build` read it); it was not overwritten\n  = help: run `avalanche-net build` again"
                );
            }
            Ok(())
        };
        match &self.op {
            journal::Op::Replace {
                name, temp, backup, ..
            } => {
                if let Some(backup) = backup {
                    link_and_compare(name, backup)?;
                }
                rustix::fs::renameat(dir, temp.as_str(), dir, name.as_str())
                    .map_err(std::io::Error::from)
                    .with_context(|| format!("renaming the new content into {path}"))
            }
            journal::Op::Subtree { name, staging, .. } => {
                journal::rename_noreplace(dir, staging, name)
                    .with_context(|| format!("renaming a staged directory into {path}"))
            }
            journal::Op::Prune { name, backup, .. } => {
                link_and_compare(name, backup)?;
                rustix::fs::unlinkat(dir, name.as_str(), AtFlags::empty())
                    .map_err(std::io::Error::from)
                    .with_context(|| format!("pruning {path}"))
            }
        }
    }
}

/// Copies the regular file `name` of `dir` to the new file `backup` (same mode),
/// never through a symlink.
fn copy_backup(dir: &OwnedFd, name: &str, backup: &str) -> std::io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let st = rustix::fs::fstat(&fd)?;
    let len = u64::try_from(st.st_size).unwrap_or(0);
    let bytes = avalanche_fsread::read_sized(&mut File::from(fd), len)?;
    beneath::create_file(dir, backup, &bytes, st.st_mode & 0o7777, false)
}

/// Whether `name` in `dir` (not through a symlink) holds exactly `expected`.
fn same_content(dir: &OwnedFd, name: &str, expected: &[u8]) -> bool {
    use rustix::fs::{Mode, OFlags};
    let Ok(fd) = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let Ok(st) = rustix::fs::fstat(&fd) else {
        return false;
    };
    if u64::try_from(st.st_size).ok() != u64::try_from(expected.len()).ok() {
        return false;
    }
    let mut file = File::from(fd);
    avalanche_fsread::read_sized(&mut file, expected.len() as u64).is_ok_and(|b| b == expected)
}

/// Makes the steps in order: the files' replacements (on two threads when many),
/// then the rest one by one (the ledger last). Stops at the first failure.
fn run_steps(steps: &[Step<'_>]) -> anyhow::Result<()> {
    let parallel = steps
        .iter()
        .take_while(|s| matches!(s.op, journal::Op::Replace { .. }) && !s.last)
        .count();
    let (files, rest) = steps.split_at(parallel);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let make_all = |part: &[Step<'_>]| -> anyhow::Result<()> {
        for step in part {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            if let Err(e) = step.make() {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(())
    };
    if files.len() < PARALLEL_FROM {
        make_all(files)?;
    } else {
        let (first, second) = files.split_at(files.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| make_all(second));
            let mine = make_all(first);
            match other.join() {
                Ok(theirs) => mine.and(theirs),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })?;
    }
    for step in rest {
        step.make()?;
    }
    Ok(())
}

/// A temp file written and closed (no descriptor stays open but its directory's:
/// a plan can have tens of thousands of files), waiting to be renamed onto its
/// target.
struct Staged {
    rel: String,
    /// Its directory (repository-relative), held open.
    dir_rel: String,
    dir: Arc<OwnedFd>,
    temp: String,
    name: String,
}

/// A directory the plan needs that does not exist yet, built whole under a
/// staging directory beside it (`.avalanche-net-*.tmp`, files under their final
/// names) and renamed into place in one call: one rename for the subtree instead
/// of a temp file and a rename per file (on a first build, that is every file).
struct Subtree {
    /// The staging directory, in the parent of the missing directory it becomes.
    staging: PathBuf,
    /// The ledger is inside: this subtree is renamed last.
    holds_ledger: bool,
    /// The parent (repository-relative), held open, and the two names in it.
    dir_rel: String,
    dir: Arc<OwnedFd>,
    staging_name: String,
    name: String,
}

/// What the writer has staged: temp files next to their targets, fresh
/// subtrees, and one directory per filesystem they are on (to sync it).
#[derive(Default)]
struct Staging {
    files: Vec<Staged>,
    subtrees: Vec<Subtree>,
    /// A missing directory → its subtree (index in `subtrees`).
    subtree_of: HashMap<PathBuf, usize>,
    /// Directories made inside staging directories.
    staged_dirs: HashSet<PathBuf>,
    filesystems: BTreeMap<u64, PathBuf>,
    /// Directories opened beneath the root (repository-relative path → descriptor).
    open: HashMap<String, Arc<OwnedFd>>,
}

/// A path relative to the root, `/`-separated (`""` for the root itself).
fn relative_to(root: &Path, path: &Path) -> anyhow::Result<String> {
    let rel = path.strip_prefix(root).with_context(|| {
        format!(
            "internal error: {} is not under {}",
            path.display(),
            root.display()
        )
    })?;
    Ok(rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/"))
}

impl Staging {
    /// The directory `dir_rel` beneath `root`, opened without following a
    /// symlink (once; the descriptor is kept for the renames).
    fn dir_fd(&mut self, root: &Path, dir_rel: &str, what: &str) -> anyhow::Result<Arc<OwnedFd>> {
        if let Some(fd) = self.open.get(dir_rel) {
            return Ok(Arc::clone(fd));
        }
        let fd = Arc::new(beneath::open_dir(root, dir_rel, false, what)?);
        self.open.insert(dir_rel.to_owned(), Arc::clone(&fd));
        Ok(fd)
    }

    /// Checks the directories on the way to `rel`; when its directory is missing,
    /// stages it (see [`Subtree`]). What is left to do is writing the file
    /// ([`Staging::write_all`]).
    fn place<'b>(
        &mut self,
        safe: &mut SafePaths,
        root: &Path,
        rel: &'b str,
        bytes: &'b [u8],
        existing: bool,
    ) -> anyhow::Result<Job<'b>> {
        // `prepare` inspected the target itself (and a rename replaces a symlink
        // rather than following it): only the directories on the way need a look.
        let (parent_rel, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let dir = if parent_rel.is_empty() {
            safe.check(root, rel)?;
            root.to_path_buf()
        } else {
            safe.check(root, parent_rel)?
        };
        if let Some(staged_dir) = self.stage_dir(safe, root, &dir, rel)? {
            let target = staged_dir.join(name);
            return Ok(Job {
                rel,
                bytes,
                existing: false,
                dir: staged_dir,
                target,
                name,
                dir_fd: None,
            });
        }
        let dev = safe.device(&dir)?;
        self.filesystems.entry(dev).or_insert_with(|| dir.clone());
        let dir_fd = self.dir_fd(root, parent_rel, rel)?;
        Ok(Job {
            rel,
            bytes,
            existing,
            target: dir.join(name),
            dir,
            name,
            dir_fd: Some(dir_fd),
        })
    }

    /// `None` when `dir` exists; else where it is staged (made now, with the
    /// staging directory of its outermost missing ancestor when that is new).
    fn stage_dir(
        &mut self,
        safe: &mut SafePaths,
        root: &Path,
        dir: &Path,
        what: &str,
    ) -> anyhow::Result<Option<PathBuf>> {
        // `safe.check` looked at the components on the way: the outermost one it
        // found missing (if any) is where the subtree starts. Its parent exists (or
        // is not a directory, and making the staging directory there fails).
        let mut top = None;
        let mut at = Some(dir);
        while let Some(p) = at {
            if safe.dirs.contains_key(p) {
                break;
            }
            if safe.missing.contains(p) {
                top = Some(p);
            }
            at = p.parent();
        }
        let Some((top, parent)) = top.and_then(|t| Some((t, t.parent()?))) else {
            return Ok(None);
        };
        let index = match self.subtree_of.get(top) {
            Some(i) => *i,
            None => {
                let parent_rel = relative_to(root, parent)?;
                let parent_fd = self.dir_fd(root, &parent_rel, what)?;
                let staging_name = new_staging_dir(&parent_fd, parent)?;
                let dev = safe.device(parent)?;
                self.filesystems
                    .entry(dev)
                    .or_insert_with(|| parent.to_path_buf());
                let name = top
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .with_context(|| format!("refusing to write `{what}`: not a file path"))?;
                self.subtrees.push(Subtree {
                    staging: parent.join(&staging_name),
                    holds_ledger: false,
                    dir_rel: parent_rel,
                    dir: parent_fd,
                    staging_name,
                    name,
                });
                self.subtree_of
                    .insert(top.to_path_buf(), self.subtrees.len() - 1);
                self.subtrees.len() - 1
            }
        };
        let staging = &self.subtrees[index].staging;
        let inner = dir.strip_prefix(top).unwrap_or(Path::new(""));
        let staged_dir = staging.join(inner);
        if !inner.as_os_str().is_empty() && !self.staged_dirs.contains(&staged_dir) {
            std::fs::create_dir_all(&staged_dir)
                .with_context(|| format!("creating {}", staged_dir.display()))?;
            self.staged_dirs.insert(staged_dir.clone());
        }
        Ok(Some(staged_dir))
    }

    /// Marks the subtree that holds `job` (the ledger's) to be renamed last.
    fn holds_ledger(&mut self, job: &Job<'_>) {
        if let Some(subtree) = self
            .subtrees
            .iter_mut()
            .find(|t| job.dir_fd.is_none() && job.dir.starts_with(&t.staging))
        {
            subtree.holds_ledger = true;
        }
    }

    /// Whether anything was staged.
    fn is_empty(&self) -> bool {
        self.files.is_empty() && self.subtrees.is_empty()
    }

    /// Writes the files of `jobs`, on two threads when there are many.
    /// The temp files written stay staged (for `abort`) even when another fails.
    fn write_all(&mut self, jobs: Vec<Job<'_>>) -> anyhow::Result<()> {
        let write_part = |part: &[Job<'_>]| {
            let mut staged = Vec::with_capacity(part.len());
            for job in part {
                match job.write() {
                    Ok(Some(s)) => staged.push(s),
                    Ok(None) => {}
                    Err(e) => return (staged, Err(e)),
                }
            }
            (staged, Ok(()))
        };
        let results = if jobs.len() < PARALLEL_FROM {
            vec![write_part(&jobs)]
        } else {
            let (first, second) = jobs.split_at(jobs.len() / 2);
            std::thread::scope(|scope| {
                let other = scope.spawn(|| write_part(second));
                let mine = write_part(first);
                match other.join() {
                    Ok(theirs) => vec![mine, theirs],
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })
        };
        let mut outcome = Ok(());
        for (staged, result) in results {
            self.files.extend(staged);
            if outcome.is_ok() {
                outcome = result;
            }
        }
        outcome
    }

    /// The commit's operations, in order: the files' renames, the staged
    /// directories, the prunes, then the ledger (its file or its subtree), so the
    /// ledger never claims files that are not there. Backup names are chosen for
    /// every file replaced or pruned.
    fn steps<'a>(
        &mut self,
        root: &Path,
        ledger_rel: &str,
        prunes: &[(&String, &'a [u8])],
        olds: &HashMap<&str, &'a [u8]>,
    ) -> anyhow::Result<Vec<Step<'a>>> {
        let backup = || beneath::temp_name(TEMP_PREFIX);
        let replace = |s: &Staged, existing: bool| journal::Op::Replace {
            dir: s.dir_rel.clone(),
            name: s.name.clone(),
            temp: s.temp.clone(),
            backup: existing.then(backup),
        };
        let ledger_at = self.files.iter().rposition(|s| s.rel == ledger_rel);
        let ledger = ledger_at.map(|i| self.files.remove(i));
        let mut steps =
            Vec::with_capacity(self.files.len() + self.subtrees.len() + prunes.len() + 1);
        for s in &self.files {
            let old = olds.get(s.rel.as_str()).copied();
            steps.push(Step {
                op: replace(s, old.is_some()),
                dir: Arc::clone(&s.dir),
                old,
                last: false,
            });
        }
        let subtree = |t: &Subtree| Step {
            op: journal::Op::Subtree {
                dir: t.dir_rel.clone(),
                name: t.name.clone(),
                staging: t.staging_name.clone(),
            },
            dir: Arc::clone(&t.dir),
            old: None,
            last: true,
        };
        steps.extend(
            self.subtrees
                .iter()
                .filter(|t| !t.holds_ledger)
                .map(subtree),
        );
        for (path, old) in prunes {
            let (dir_rel, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
            steps.push(Step {
                op: journal::Op::Prune {
                    dir: dir_rel.to_owned(),
                    name: name.to_owned(),
                    backup: backup(),
                },
                dir: self.dir_fd(root, dir_rel, path)?,
                old: Some(old),
                last: true,
            });
        }
        if let Some(s) = &ledger {
            let exists = journal::exists(&s.dir, &s.name);
            steps.push(Step {
                op: replace(s, exists),
                dir: Arc::clone(&s.dir),
                old: None,
                last: true,
            });
        }
        steps.extend(self.subtrees.iter().filter(|t| t.holds_ledger).map(subtree));
        if let Some(s) = ledger {
            self.files.push(s);
        }
        Ok(steps)
    }

    /// Deletes the temp files and the staging directories.
    fn abort(self) {
        for s in &self.files {
            let _ = rustix::fs::unlinkat(&*s.dir, s.temp.as_str(), rustix::fs::AtFlags::empty());
        }
        for subtree in &self.subtrees {
            // Our own fresh directory: `remove_dir_all` does not follow symlinks.
            let _ = std::fs::remove_dir_all(&subtree.staging);
        }
    }
}

/// Makes an empty staging directory in `parent` (held open; `shown` is its
/// path), with the mode a directory made there by `mkdir` would have. Returns
/// its name.
fn new_staging_dir(parent: &OwnedFd, shown: &Path) -> anyhow::Result<String> {
    let name = beneath::temp_name(TEMP_PREFIX);
    rustix::fs::mkdirat(
        parent,
        name.as_str(),
        rustix::fs::Mode::from_raw_mode(0o777),
    )
    .map_err(std::io::Error::from)
    .with_context(|| format!("creating a staging directory in {}", shown.display()))?;
    Ok(name)
}

/// A file to stage: its directory exists; the file is not written yet.
struct Job<'b> {
    rel: &'b str,
    bytes: &'b [u8],
    existing: bool,
    dir: PathBuf,
    target: PathBuf,
    name: &'b str,
    /// Its directory, held open; `None` when the file goes inside a staged
    /// subtree, under its final name (no temp file, no rename of its own).
    dir_fd: Option<Arc<OwnedFd>>,
}

impl Job<'_> {
    /// Writes the file and closes it: a temp file next to the target (returned,
    /// to be renamed), or the file itself inside a staged subtree.
    fn write(&self) -> anyhow::Result<Option<Staged>> {
        // A generated file is as readable as any other in the repo (0644; an
        // existing file keeps its mode).
        let Some(dir) = &self.dir_fd else {
            use std::os::unix::fs::OpenOptionsExt as _;
            let created_right = umask_keeps(NEW_FILE_MODE);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(NEW_FILE_MODE)
                .open(&self.target)
                .with_context(|| format!("creating {}", self.target.display()))?;
            file.write_all(self.bytes)
                .with_context(|| format!("writing {}", self.target.display()))?;
            if !created_right {
                file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(NEW_FILE_MODE))
                    .with_context(|| format!("setting the mode of {}", self.target.display()))?;
            }
            return Ok(None);
        };
        let mode = if self.existing {
            beneath::file_mode(dir, self.name).unwrap_or(NEW_FILE_MODE)
        } else {
            NEW_FILE_MODE
        };
        let temp = beneath::temp_name(TEMP_PREFIX);
        beneath::create_file(dir, &temp, self.bytes, mode, false).with_context(|| {
            format!(
                "writing a temp file for {} in {}",
                self.rel,
                self.dir.display()
            )
        })?;
        // Closed now (no descriptor stays open); synced later, all at once.
        let dir_rel = self.rel.rsplit_once('/').map_or("", |(d, _)| d);
        Ok(Some(Staged {
            rel: self.rel.to_owned(),
            dir_rel: dir_rel.to_owned(),
            dir: Arc::clone(dir),
            temp,
            name: self.name.to_owned(),
        }))
    }
}

/// Below this many files a second thread costs more than it saves.
const PARALLEL_FROM: usize = 64;

/// The mode of a newly generated file.
const NEW_FILE_MODE: u32 = 0o644;

/// Whether the process umask leaves every bit of `mode` (read from
/// `/proc/self/status`, once; `false` when it cannot be known, so the mode is
/// then set explicitly).
fn umask_keeps(mode: u32) -> bool {
    umask().is_some_and(|u| u & mode == 0)
}

/// The process umask (read from `/proc/self/status`, once; `None` when it cannot
/// be known).
fn umask() -> Option<u32> {
    static UMASK: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(line.trim(), 8).ok()
    })
}

/// How the names of the writer's temp files start (they end in `.tmp`).
const TEMP_PREFIX: &str = layout::BUILD_TEMP_PREFIX;

#[cfg(test)]
mod tests {
    use super::*;

    fn one_file_plan() -> Plan {
        let mut plan = Plan::new();
        plan.set_ledger_path("k/.avalanche-generated.json".to_owned());
        plan.insert("k/gen/app.yaml", "kind: Application\n".to_owned());
        plan
    }

    fn edit(before: &str, after: &str) -> HandEdit {
        HandEdit {
            path: "k/apps/kustomization.yaml".to_owned(),
            before: before.as_bytes().to_vec(),
            after: after.as_bytes().to_vec(),
        }
    }

    #[test]
    fn hand_edits_are_written_with_the_plan_and_not_ledgered() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("k/apps")).expect("mkdir");
        std::fs::write(root.join("k/apps/kustomization.yaml"), "resources: []\n").expect("write");
        let plan = one_file_plan();
        let summary = write_with_edits(
            root,
            &plan,
            Hashes::of(&plan),
            &[],
            WriteOptions::default(),
            &[edit("resources: []\n", "resources: [app.yaml]\n")],
        )
        .expect("written");
        assert_eq!(summary.wired, ["k/apps/kustomization.yaml"]);
        assert_eq!(
            std::fs::read_to_string(root.join("k/apps/kustomization.yaml")).expect("read"),
            "resources: [app.yaml]\n"
        );
        let ledger =
            std::fs::read_to_string(root.join("k/.avalanche-generated.json")).expect("ledger");
        assert!(
            ledger.contains("k/gen/app.yaml") && !ledger.contains("kustomization"),
            "{ledger}"
        );
    }

    #[test]
    fn a_hand_written_file_changed_since_it_was_read_stops_the_whole_write() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("k/apps")).expect("mkdir");
        std::fs::write(
            root.join("k/apps/kustomization.yaml"),
            "resources: [mine.yaml]\n",
        )
        .expect("write");
        let plan = one_file_plan();
        let err = write_with_edits(
            root,
            &plan,
            Hashes::of(&plan),
            &[],
            WriteOptions::default(),
            &[edit("resources: []\n", "resources: [app.yaml]\n")],
        )
        .expect_err("refused");
        assert!(format!("{err:#}").contains("changed since"), "{err:#}");
        assert!(!root.join("k/gen").exists(), "a generated file was written");
        assert_eq!(
            std::fs::read_to_string(root.join("k/apps/kustomization.yaml")).expect("read"),
            "resources: [mine.yaml]\n"
        );
    }

    #[test]
    fn sha256_is_lowercase_hex_of_the_digest() {
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256(b"").len(), 64);
    }
}
