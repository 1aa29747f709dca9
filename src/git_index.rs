//! The paths git tracks, read from its index (`.git/index`, versions 2 to 4) without
//! running git: `check` must see a tracked file even when it matches `.gitignore`.
//!
//! Written here rather than taken from `gix-index`: that crate needs Rust 1.95 (the
//! MSRV is 1.88) and a score of gitoxide crates, for the path list only.
use std::path::{Path, PathBuf};

/// The index of a repository is read up to this size (a 100,000-file index is
/// about 10 MiB).
const MAX_INDEX_BYTES: u64 = 512 << 20;

/// The index file of the repository at `repo` (`.git/index`, or the index of the
/// git directory a `.git` file points to, as in a worktree), if there is one.
pub fn index_path(repo: &Path) -> Option<PathBuf> {
    let dot_git = repo.join(".git");
    let git_dir = if dot_git.is_dir() {
        dot_git
    } else {
        let text = avalanche_fsread::read_text(&dot_git, 4096).ok()?;
        let dir = text.lines().next()?.strip_prefix("gitdir:")?.trim();
        let dir = Path::new(dir);
        if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            repo.join(dir)
        }
    };
    let index = git_dir.join("index");
    index.is_file().then_some(index)
}

/// Whether the repository's objects are named by SHA-256 (`extensions.objectFormat`).
fn sha256_repo(index: &Path) -> bool {
    // The config lives in the common git directory; a worktree's has a `commondir`.
    let dir = index.parent().unwrap_or(Path::new("."));
    let common = avalanche_fsread::read_text(&dir.join("commondir"), 4096)
        .map(|c| dir.join(c.trim()))
        .unwrap_or_else(|_| dir.to_path_buf());
    avalanche_fsread::read_text(&common.join("config"), 1 << 20).is_ok_and(|config| {
        config.lines().any(|l| {
            let l = l.trim().to_ascii_lowercase().replace(' ', "");
            l == "objectformat=sha256"
        })
    })
}

/// The tracked paths (as bytes: git allows any name but NUL) of the files in the
/// work tree: regular files and symlinks, one per path, without submodules,
/// sparse-index directories or entries marked skip-worktree.
pub fn tracked(index: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let bytes = avalanche_fsread::read(index, MAX_INDEX_BYTES)?;
    parse(&bytes, if sha256_repo(index) { 32 } else { 20 }).map_err(|why| {
        anyhow::anyhow!(
            "{}: not a git index this tool reads ({why})",
            index.display()
        )
    })
}

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| "truncated".to_owned())
}

fn be16(b: &[u8], at: usize) -> Result<u16, String> {
    b.get(at..at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| "truncated".to_owned())
}

/// Parses an index whose object ids are `oid_len` bytes.
pub fn parse(b: &[u8], oid_len: usize) -> Result<Vec<Vec<u8>>, String> {
    if b.get(..4) != Some(b"DIRC") {
        return Err("no DIRC signature".into());
    }
    let version = be32(b, 4)?;
    if !(2..=4).contains(&version) {
        return Err(format!("version {version}"));
    }
    let count = be32(b, 8)? as usize;
    let mut at = 12;
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(count.min(1 << 20));
    let mut previous: Vec<u8> = Vec::new();
    // ctime, mtime (8 each), dev, ino, mode, uid, gid, size (4 each), the oid, flags.
    let fixed = 40 + oid_len + 2;
    for _ in 0..count {
        let start = at;
        let mode = be32(b, start + 24)?;
        let flags = be16(b, start + 40 + oid_len)?;
        let mut header = fixed;
        let mut skip_worktree = false;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return Err("extended flags in a version 2 index".into());
            }
            skip_worktree = be16(b, start + fixed)? & 0x4000 != 0;
            header += 2;
        }
        let name_at = start + header;
        let path = if version == 4 {
            // The number of bytes to drop from the previous path (git's offset
            // varint), then the rest, NUL-terminated; no padding.
            let mut i = name_at;
            let mut byte = *b.get(i).ok_or("truncated")?;
            let mut strip = u64::from(byte & 0x7f);
            while byte & 0x80 != 0 {
                i += 1;
                byte = *b.get(i).ok_or("truncated")?;
                strip = ((strip + 1) << 7) | u64::from(byte & 0x7f);
                if strip > 1 << 32 {
                    return Err("bad path prefix".into());
                }
            }
            i += 1;
            let strip = usize::try_from(strip).map_err(|_| "bad path prefix")?;
            let keep = previous.len().checked_sub(strip).ok_or("bad path prefix")?;
            let end = i + memchr::memchr(0, b.get(i..).ok_or("truncated")?).ok_or("truncated")?;
            let mut path = previous[..keep].to_vec();
            path.extend_from_slice(&b[i..end]);
            at = end + 1;
            path
        } else {
            let end = name_at
                + memchr::memchr(0, b.get(name_at..).ok_or("truncated")?).ok_or("truncated")?;
            let path = b[name_at..end].to_vec();
            // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes.
            at = start + ((header + path.len() + 8) & !7);
            path
        };
        if at > b.len() {
            return Err("truncated".into());
        }
        let kind = mode & 0o170000;
        let file = kind == 0o100000 || kind == 0o120000;
        if file && !skip_worktree && out.last() != Some(&path) {
            out.push(path.clone());
        }
        previous = path;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(repo: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(repo)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("running git");
        assert!(status.success(), "git {args:?}");
    }

    /// Versions 2, 3 (an intent-to-add entry sets extended flags) and 4 (prefix
    /// compression) list what `git ls-files --cached` lists, submodules aside.
    #[test]
    fn every_index_version_lists_what_git_lists() {
        for version in ["2", "3", "4"] {
            let dir = tempfile::tempdir().expect("tempdir");
            let repo = dir.path();
            git(repo, &["init", "-q", "-b", "main"]);
            for rel in [
                "a.txt",
                "dir/b.nix",
                "dir/sub/c.yaml",
                "dir/sub/d.yaml",
                "zz/long-name-to-compress.txt",
                "zz/long-name-to-compress2.txt",
            ] {
                let path = repo.join(rel);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, rel).expect("write");
            }
            git(repo, &["add", "."]);
            std::fs::write(repo.join("new.txt"), "n").expect("write");
            git(repo, &["add", "-N", "new.txt"]);
            git(repo, &["update-index", "--index-version", version]);
            let ours: Vec<String> = tracked(&repo.join(".git/index"))
                .expect("reading the index")
                .into_iter()
                .map(|p| String::from_utf8(p).expect("UTF-8"))
                .collect();
            let out = Command::new("git")
                .args(["ls-files", "-z", "--cached"])
                .current_dir(repo)
                .output()
                .expect("git ls-files");
            let theirs: Vec<String> = out
                .stdout
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            assert_eq!(ours, theirs, "index version {version}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"DIRC",
            b"DIRC\0\0\0\x02\0\0\0\x05",
            b"DIRC\0\0\0\x04\0\0\0\x01\0\0\0\0",
        ] {
            assert!(parse(bytes, 20).is_err());
        }
    }
}
