//! Directories beneath a root, reached without following any symlink: the one
//! way every writer (`build`, `secrets seal`, `secrets updatekeys`, the journal's
//! recovery) gets at the directory it writes in.
//!
//! A path is walked from the root one component at a time with
//! `openat(O_NOFOLLOW | O_DIRECTORY)`, and the write (a temp file, a rename) is
//! then made relative to the descriptor held: a directory swapped for a symlink
//! after the walk does not redirect the write, because the descriptor still names
//! the directory that was checked. A symlink on the way is refused, with its path.
use anyhow::{Context as _, bail};
use rustix::fs::{AtFlags, Mode, OFlags};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// Opens `rel_dir` (repository-relative, `/`-separated; `""` or `.` for the root)
/// beneath `root` without following symlinks. With `create`, missing directories
/// are made (mode 0777 less the umask, as `mkdir -p` does). `what` is the
/// repository-relative file the caller means to write, for the messages.
pub fn open_dir(root: &Path, rel_dir: &str, create: bool, what: &str) -> anyhow::Result<OwnedFd> {
    let mut fd = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", root.display()))?;
    let mut walked = String::new();
    for part in rel_dir.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            bail!("refusing to write `{what}`: its path leaves the repository (`..`)");
        }
        if !walked.is_empty() {
            walked.push('/');
        }
        walked.push_str(part);
        fd = match open_child(&fd, part) {
            Ok(child) => child,
            Err(rustix::io::Errno::NOENT) if create => {
                match rustix::fs::mkdirat(&fd, part, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => {
                        return Err(std::io::Error::from(e))
                            .with_context(|| format!("creating {}", root.join(&walked).display()));
                    }
                }
                open_child(&fd, part).map_err(|e| refusal(&fd, part, e, root, &walked, what))?
            }
            Err(e) => return Err(refusal(&fd, part, e, root, &walked, what)),
        };
    }
    Ok(fd)
}

/// Refuses `rel` (a file, repository-relative) when a symlink is on its way or is
/// the file itself; a missing directory ends the walk (nothing below it exists).
/// For readers that must not be led out of the repository before they write.
pub fn check_path(root: &Path, rel: &str) -> anyhow::Result<()> {
    let (dir_rel, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let dir = match open_dir(root, dir_rel, false, rel) {
        Ok(dir) => dir,
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) =>
        {
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if is_symlink(&dir, name) {
        bail!(
            "refusing to write `{rel}`: it is a symlink\n  = help: replace the link with the file itself"
        );
    }
    Ok(())
}

fn open_child(dir: &OwnedFd, name: &str) -> Result<OwnedFd, rustix::io::Errno> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// The error for a component that could not be opened as a directory: a symlink
/// is named as such (a write through it could leave the repository).
fn refusal(
    parent: &OwnedFd,
    name: &str,
    error: rustix::io::Errno,
    root: &Path,
    walked: &str,
    what: &str,
) -> anyhow::Error {
    let at = root.join(walked);
    match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st)
            if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink =>
        {
            anyhow::anyhow!(
                "refusing to write `{what}`: {} is a symlink, and a write through it could leave the repository\n  = help: replace the link with a real directory",
                at.display()
            )
        }
        Ok(_) if error == rustix::io::Errno::NOTDIR => {
            anyhow::anyhow!("cannot write `{what}`: {} is not a directory", at.display())
        }
        _ => anyhow::Error::new(std::io::Error::from(error))
            .context(format!("opening {}", at.display())),
    }
}

/// Whether `name` in `dir` is a symlink (`false` when it is anything else or absent).
pub fn is_symlink(dir: &impl AsFd, name: &str) -> bool {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink
    })
}

/// A fresh name `<prefix><random>.tmp` for a temp file (unpredictable enough that
/// two writers never pick the same; `O_EXCL` catches the rest).
pub fn temp_name(prefix: &str) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u32(std::process::id());
    format!("{prefix}{:016x}.tmp", h.finish())
}

/// Creates the new file `name` in `dir` (never through a symlink: `O_EXCL |
/// O_NOFOLLOW`) with `mode`, and writes `bytes` to it; synced when `sync`.
/// The file is removed again when writing fails.
pub fn create_file(
    dir: &OwnedFd,
    name: &str,
    bytes: &[u8],
    mode: u32,
    sync: bool,
) -> std::io::Result<()> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
    )?;
    let written = (|| {
        let mut file = std::fs::File::from(fd);
        std::io::Write::write_all(&mut file, bytes)?;
        // The umask may have taken bits `mode` asks for.
        rustix::fs::fchmod(&file, Mode::from_raw_mode(mode))?;
        if sync {
            file.sync_all()?;
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
    }
    written
}

/// The permission bits of `name` in `dir` (not following a symlink), when it is
/// a regular file.
pub fn file_mode(dir: &OwnedFd, name: &str) -> Option<u32> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
    (rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile)
        .then_some(st.st_mode & 0o7777)
}

/// Removes what a killed writer left in `dir` (whose path is `shown`): the
/// regular files and directories whose names `is_ours` recognises (a temp file,
/// a staging directory; `remove_dir_all` follows no symlink inside). Symlinks
/// and anything else are left alone. Only run with the writers' lock held.
pub fn sweep_temps(
    dir: &OwnedFd,
    shown: &Path,
    is_ours: &dyn Fn(&str) -> bool,
) -> std::io::Result<()> {
    let listing = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut entries = rustix::fs::Dir::read_from(&listing)?;
    let mut stale = Vec::new();
    while let Some(entry) = entries.read() {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy();
        if is_ours(&name) {
            stale.push(name.into_owned());
        }
    }
    for name in stale {
        let Ok(st) = rustix::fs::statat(dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        match rustix::fs::FileType::from_raw_mode(st.st_mode) {
            rustix::fs::FileType::RegularFile => {
                match rustix::fs::unlinkat(dir, name.as_str(), AtFlags::empty()) {
                    Ok(()) | Err(rustix::io::Errno::NOENT) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            // Reached without a symlink just now (`dir`): the path names the same
            // directory unless it is being swapped this instant.
            rustix::fs::FileType::Directory => std::fs::remove_dir_all(shown.join(&name))?,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_on_the_way_is_refused_and_nothing_is_made_through_it() {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(root.path().join("secrets")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), root.path().join("secrets/routy"))
            .expect("symlink");
        let err = open_dir(
            root.path(),
            "secrets/routy/deep",
            true,
            "secrets/routy/deep/x",
        )
        .expect_err("through a symlink");
        assert!(err.to_string().contains("is a symlink"), "{err:#}");
        assert!(!outside.path().join("deep").exists());
        let fd = open_dir(root.path(), "a/b/c", true, "a/b/c/x").expect("made");
        assert!(root.path().join("a/b/c").is_dir());
        drop(fd);
    }
}
