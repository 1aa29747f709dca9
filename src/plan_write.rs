//! Writing a [`Plan`] to disk: all files or none, never a file we did not
//! generate, never over a hand edit, pruning what is no longer produced.
//!
//! The ledger `<root>/<kubernetes.dir>/.avalanche-generated.json` (`Plan::ledger_path`) records every generated file with
//! the SHA-256 of what was written. A file whose content no longer matches its
//! ledger hash was edited by hand: `build` refuses to overwrite or prune it unless
//! `--force`. A file absent from the ledger is not ours: it is never overwritten
//! (unless `--force` adopts it) nor pruned.
//!
//! Atomicity: every new content is first written to a temp file in its target
//! directory, or, when that directory does not exist yet, under its final name
//! inside a staging directory that becomes the outermost missing directory (one
//! rename for a whole new subtree: a first build renames a handful of directories,
//! not every file). Only when all are staged are they renamed into place (then the
//! pruned files deleted, then the ledger, or the subtree holding it). Any error
//! before the renames leaves the tree as it was (temp files and staging
//! directories are removed). Concurrent builds are excluded by an advisory lock (`flock`) on the
//! root directory itself, so no lock file is left behind.
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
//! variable part of a build. Without `--sync`, a crash of the machine (not of the
//! build: a killed build is covered above) may leave some generated files empty;
//! an empty file at a generated path is therefore never protected as a hand edit
//! (it holds nothing to lose), and the next build rewrites it. A build that
//! changes nothing writes and syncs nothing.
//!
//! Large plans are written on two threads (temp files, then renames): the
//! directories are made first, on one thread, and the ledger is still renamed last.
//!
//! A build killed mid-way (SIGKILL cannot be caught) may leave
//! `.avalanche-net-*.tmp` files and staging directories, and leaves its marker
//! (`.avalanche-net-build.tmp` in the root, there from the first staged file to
//! the last rename); a build that finds the marker removes them, with the lock
//! held, in the directories the plan writes to and the ones on the way (regular
//! files and real directories only, never through a symlink).
use anyhow::{Context as _, bail};
use avalanche_model::layout::{self, LedgerScope};
use avalanche_render::Plan;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};

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

fn read_existing(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Ok(Some(read_sized(path, m.len())?)),
        Ok(_) => bail!("{} exists and is not a regular file", path.display()),
        Err(e) if absent(&e) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("inspecting {}", path.display())),
    }
}

/// Reads a regular file whose size an `lstat` gave (one `read` call for the
/// content, no second `stat`).
fn read_sized(path: &Path, len: u64) -> anyhow::Result<Vec<u8>> {
    File::open(path)
        .and_then(|mut f| crate::sized_read::read_all(&mut f, len))
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

/// Holds the exclusive build lock on `root` until dropped.
pub struct Lock {
    _dir: File,
}

/// Takes the exclusive lock on the root directory; fails at once if another build holds it.
pub fn lock(root: &Path) -> anyhow::Result<Lock> {
    let dir = File::open(root).with_context(|| format!("opening {}", root.display()))?;
    match fs4::FileExt::try_lock(&dir) {
        Ok(()) => Ok(Lock { _dir: dir }),
        Err(fs4::TryLockError::WouldBlock) => {
            bail!(
                "another avalanche-net command (`build` or `secrets`) is writing to {} (it holds the lock); try again when it is done",
                root.display()
            )
        }
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
/// `hashes` are the plan's ([`Hashes::of`]).
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
    let marker = root.join(BUILD_MARKER);
    if std::fs::symlink_metadata(&marker).is_ok() {
        sweep_stale_temps(root, plan)?; // the last build that wrote did not finish
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

    let mut staging = Staging::default();
    let mut summary = Summary {
        unchanged: prepared.unchanged.clone(),
        ..Summary::default()
    };
    let ledger_exists = root.join(&prepared.ledger_rel).exists();
    let ledger_bytes = (prepared.ledger_old != prepared.ledger_new || !ledger_exists)
        .then(|| prepared.ledger_new.to_bytes());
    let result = (|| -> anyhow::Result<()> {
        if !prepared.changes.is_empty() || ledger_bytes.is_some() || !edits.is_empty() {
            create_marker(&marker)?;
        }
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
        let _ = std::fs::remove_file(&marker);
        return Err(e.context("nothing was changed"));
    }

    let mut filesystems = std::mem::take(&mut staging.filesystems);
    let prunes: Vec<&String> = prepared
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Prune { path, .. } => Some(path),
            Change::Write { .. } => None,
        })
        .collect();
    for path in &prunes {
        let full = root.join(path);
        if let Some(dir) = full.parent() {
            let dev = safe.device(dir)?;
            filesystems.entry(dev).or_insert_with(|| dir.to_path_buf());
        }
    }
    if staging.is_empty() && prunes.is_empty() {
        let _ = std::fs::remove_file(&marker);
        return Ok(summary); // Nothing changes: nothing written, nothing synced.
    }

    // A hand-written file edited while the others were staged: still nothing changed.
    if let Err(e) = verify_hand_edits(root, edits, plan, &prepared.ledger_old, &mut safe) {
        staging.abort();
        let _ = std::fs::remove_file(&marker);
        return Err(e);
    }
    // Point of no return: renames (the ledger last, so it never claims files that are not there).
    let ledger_stage = staging.take(&prepared.ledger_rel);
    let ledger_subtrees = staging.commit()?;
    for path in prunes {
        let full = root.join(path);
        std::fs::remove_file(&full).with_context(|| format!("pruning {}", full.display()))?;
        remove_empty_parents(root, &full);
        summary.pruned.push(path.clone());
    }
    if let Some(s) = ledger_stage {
        s.persist()?;
    }
    for subtree in &ledger_subtrees {
        subtree.persist()?;
    }
    // Everything is in place: no temp file is left for the next build to sweep.
    std::fs::remove_file(&marker).with_context(|| format!("removing {}", marker.display()))?;
    // The renames and deletions (directory entries) reach the disk: one call per
    // filesystem instead of an `fsync` of every touched directory.
    if sync {
        sync_filesystems(filesystems.values())
            .context("the files are in place, but syncing them to disk failed")?;
    }
    Ok(summary)
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

/// Removes the directories above `file` that became empty, up to `root`.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// A temp file written and closed (no descriptor stays open: a plan can have
/// tens of thousands of files), waiting to be renamed onto its target.
struct Staged {
    rel: String,
    temp: tempfile::TempPath,
    target: PathBuf,
}

impl Staged {
    fn persist(self) -> anyhow::Result<()> {
        let target = self.target;
        self.temp.persist(&target).map_err(|e| {
            anyhow::Error::new(e.error).context(format!("renaming into {}", target.display()))
        })
    }
}

/// A directory the plan needs that does not exist yet, built whole under a
/// staging directory beside it (`.avalanche-net-*.tmp`, files under their final
/// names) and renamed into place in one call: one rename for the subtree instead
/// of a temp file and a rename per file (on a first build, that is every file).
struct Subtree {
    /// The staging directory, in `target`'s parent.
    staging: PathBuf,
    /// The missing directory it becomes.
    target: PathBuf,
    /// The ledger is inside: this subtree is renamed last.
    holds_ledger: bool,
}

impl Subtree {
    fn persist(&self) -> anyhow::Result<()> {
        rename_noreplace(&self.staging, &self.target)
            .with_context(|| format!("renaming a staged directory into {}", self.target.display()))
    }
}

/// `rename`, failing if `to` appeared meanwhile (instead of replacing an empty
/// directory); a plain `rename` where the filesystem cannot promise that.
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => std::fs::rename(from, to),
        Err(e) => Err(e.into()),
    }
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
}

impl Staging {
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
        let (dir, target) = match rel.rsplit_once('/') {
            Some((parent, name)) => {
                let dir = safe.check(root, parent)?;
                let target = dir.join(name);
                (dir, target)
            }
            None => (root.to_path_buf(), safe.check(root, rel)?),
        };
        if let Some(staged_dir) = self.stage_dir(safe, &dir)? {
            let target = match target.file_name() {
                Some(name) => staged_dir.join(name),
                None => bail!("refusing to write `{rel}`: not a file path"),
            };
            return Ok(Job {
                rel,
                bytes,
                existing: false,
                dir: staged_dir,
                target,
                direct: true,
            });
        }
        let dev = safe.device(&dir)?;
        self.filesystems.entry(dev).or_insert_with(|| dir.clone());
        Ok(Job {
            rel,
            bytes,
            existing,
            dir,
            target,
            direct: false,
        })
    }

    /// `None` when `dir` exists; else where it is staged (made now, with the
    /// staging directory of its outermost missing ancestor when that is new).
    fn stage_dir(&mut self, safe: &mut SafePaths, dir: &Path) -> anyhow::Result<Option<PathBuf>> {
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
                let staging = new_staging_dir(parent)?;
                let dev = safe.device(parent)?;
                self.filesystems
                    .entry(dev)
                    .or_insert_with(|| parent.to_path_buf());
                self.subtrees.push(Subtree {
                    staging,
                    target: top.to_path_buf(),
                    holds_ledger: false,
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
            .find(|t| job.direct && job.dir.starts_with(&t.staging))
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

    fn take(&mut self, rel: &str) -> Option<Staged> {
        let i = self.files.iter().rposition(|s| s.rel == rel)?;
        Some(self.files.remove(i))
    }

    /// Renames every temp file onto its target (on two threads when many), then
    /// every staged subtree into place but the ledger's, which is returned.
    fn commit(self) -> anyhow::Result<Vec<Subtree>> {
        let persist_all = |part: Vec<Staged>| -> anyhow::Result<()> {
            for s in part {
                s.persist()?;
            }
            Ok(())
        };
        let mut files = self.files;
        if files.len() < PARALLEL_FROM {
            persist_all(files)?;
        } else {
            let second = files.split_off(files.len() / 2);
            std::thread::scope(|scope| {
                let other = scope.spawn(|| persist_all(second));
                let mine = persist_all(files);
                match other.join() {
                    Ok(theirs) => mine.and(theirs),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })?;
        }
        let (last, now): (Vec<Subtree>, Vec<Subtree>) =
            self.subtrees.into_iter().partition(|t| t.holds_ledger);
        for subtree in &now {
            subtree.persist()?;
        }
        Ok(last)
    }

    /// Deletes the temp files and the staging directories.
    fn abort(self) {
        drop(self.files);
        for subtree in &self.subtrees {
            // Our own fresh directory: `remove_dir_all` does not follow symlinks.
            let _ = std::fs::remove_dir_all(&subtree.staging);
        }
    }
}

/// Makes an empty staging directory in `parent`, with the mode a directory made
/// there by `mkdir` would have.
fn new_staging_dir(parent: &Path) -> anyhow::Result<PathBuf> {
    let dir = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempdir_in(parent)
        .with_context(|| format!("creating a staging directory in {}", parent.display()))?
        .keep();
    let mode = 0o777 & !umask().unwrap_or(0o022);
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", dir.display()))?;
    Ok(dir)
}

/// A file to stage: its directory exists; the file is not written yet.
struct Job<'b> {
    rel: &'b str,
    bytes: &'b [u8],
    existing: bool,
    dir: PathBuf,
    target: PathBuf,
    /// Written under its final name inside a staged subtree (no temp file, no
    /// rename of its own).
    direct: bool,
}

impl Job<'_> {
    /// Writes the file and closes it: a temp file next to the target (returned,
    /// to be renamed), or the file itself inside a staged subtree.
    fn write(&self) -> anyhow::Result<Option<Staged>> {
        let (rel, dir) = (self.rel, &self.dir);
        // A generated file is as readable as any other in the repo (0644; an existing
        // file keeps its mode). Created with that mode when the umask lets it through,
        // else set afterwards (tempfile's default is 0600).
        let created_right = !self.existing && umask_keeps(NEW_FILE_MODE);
        if self.direct {
            use std::os::unix::fs::OpenOptionsExt as _;
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
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
        if created_right {
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(NEW_FILE_MODE));
        }
        let mut temp = builder
            .tempfile_in(dir)
            .with_context(|| format!("creating a temp file in {}", dir.display()))?;
        temp.write_all(self.bytes)
            .with_context(|| format!("writing a temp file for {rel}"))?;
        if !created_right {
            let mode = self
                .existing
                .then(|| std::fs::metadata(&self.target).ok())
                .flatten()
                .map(|m| m.permissions())
                .unwrap_or_else(|| std::os::unix::fs::PermissionsExt::from_mode(NEW_FILE_MODE));
            temp.as_file()
                .set_permissions(mode)
                .with_context(|| format!("setting the mode of a temp file for {rel}"))?;
        }
        // Closed now (no descriptor stays open); synced later, all at once.
        Ok(Some(Staged {
            rel: rel.to_owned(),
            temp: temp.into_temp_path(),
            target: self.target.clone(),
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

/// Present (in the root) from before the first file is staged until the last
/// rename: a build that finds it knows the previous one was killed and sweeps
/// its temp files. Without it there is nothing to sweep, and a large tree is not
/// listed directory by directory for nothing. Its name is a temp file's, so the
/// sweep removes it too.
const BUILD_MARKER: &str = ".avalanche-net-build.tmp";

/// Creates the build marker (never through a symlink: `O_EXCL`).
fn create_marker(marker: &Path) -> anyhow::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(marker)
        .map(drop)
        .with_context(|| format!("creating the build marker {}", marker.display()))
}

/// How the names of the writer's temp files start and end.
const TEMP_PREFIX: &str = layout::BUILD_TEMP_PREFIX;
const TEMP_SUFFIX: &str = ".tmp";

/// Removes what a killed build left (`.avalanche-net-*.tmp` temp files and
/// staging directories) in the directories the plan writes to and the ones on the
/// way. Runs with the lock held, so none is in use. Only regular files and real
/// directories are removed, and no symlink is followed (a directory reached
/// through one is skipped; `remove_dir_all` does not follow links inside).
fn sweep_stale_temps(root: &Path, plan: &Plan) -> anyhow::Result<()> {
    let mut dirs = BTreeSet::new();
    for rel in plan
        .files()
        .map(|(rel, _)| rel)
        .chain(std::iter::once(plan.ledger_path()))
    {
        // Every directory on the way: a staging directory sits beside the
        // outermost missing one.
        let mut rest = rel;
        while let Some((parent, _)) = rest.rsplit_once('/') {
            if !dirs.insert(parent) {
                break;
            }
            rest = parent;
        }
    }
    let mut checked = SafePaths::default();
    let sweep = |dir: PathBuf| -> anyhow::Result<()> {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(()); // missing: nothing to sweep
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
                continue;
            }
            let path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_file() => std::fs::remove_file(&path),
                Ok(kind) if kind.is_dir() => std::fs::remove_dir_all(&path),
                _ => continue,
            }
            .with_context(|| format!("removing {}", path.display()))?;
        }
        Ok(())
    };
    sweep(root.to_path_buf())?;
    for dir in dirs {
        // A path through a symlink is refused here (and later by the writer).
        let Ok(full) = checked.check(root, dir) else {
            continue;
        };
        if checked.dirs.contains_key(&full) {
            sweep(full)?;
        }
    }
    Ok(())
}

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
