//! The repository's files, as both `check` and `secrets` see them: the one walker.
//!
//! The files are the ones git shows (tracked, plus untracked files that are not
//! ignored, so a check before `git add` sees new files), found by a walk that reads
//! the ignore files as git does (see [`list_files`]); outside a git repository,
//! every file (skipping `.git`, `target`, `result*` and `node_modules`). Paths matched
//! by the repository's `.avalancheignore` (gitignore syntax) are left out: files
//! that live in the repository but are not part of the network, such as test
//! fixtures or a changelog that must keep talking about a retired host.
use crate::facts::Skipped;
use anyhow::Context as _;
use ignore::gitignore::Gitignore;
use std::path::{Path, PathBuf};

/// The repository's files (see the module documentation), less the
/// `.avalancheignore`d ones.
pub fn list(repo: &Path) -> anyhow::Result<Listing> {
    let ignored = load_ignore(repo)?;
    list_files(repo, &ignored)
}

/// [`list`], only the files under the repository-relative directory `dir` (`.`
/// for all): the same files `check` sees there, without walking the rest.
pub fn list_under(repo: &Path, dir: &str) -> anyhow::Result<Listing> {
    let ignored = load_ignore(repo)?;
    list_files_under(repo, dir, &ignored)
}

/// The name of the file listing paths `check` leaves out (gitignore syntax).
pub const IGNORE_FILE: &str = ".avalancheignore";

/// The patterns of `<repo>/.avalancheignore` (none when the file is absent).
fn load_ignore(repo: &Path) -> anyhow::Result<Gitignore> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(repo);
    let path = repo.join(IGNORE_FILE);
    if path.is_file()
        && let Some(err) = builder.add(&path)
    {
        anyhow::bail!("{}: {err}", path.display());
    }
    builder
        .build()
        .with_context(|| format!("reading {}", path.display()))
}

/// The files of a repository, and the ones whose names cannot be represented.
pub struct Listing {
    /// Repository-relative, `/`-separated, sorted.
    pub paths: Vec<String>,
    /// Files whose names are not UTF-8 (or whose index could not be read).
    pub unrepresentable: Vec<Skipped>,
}

/// Repository-relative, `/`-separated, sorted paths of the repository's files, less
/// the `.avalancheignore`d ones.
///
/// In a git repository these are the files `git ls-files --cached --others
/// --exclude-standard` shows, found without running git: the tracked files from
/// git's index (`.git/index`: tracked means tracked, even when `.gitignore` matches
/// it), plus a walk that honours `.gitignore` files, `.git/info/exclude` and git's
/// global excludes file, and does not enter `.git` or nested repositories
/// (submodules). Spawning git costs more than the whole check of a homelab
/// repository. Outside a git repository, every file but those under `.git`,
/// `target`, `result*` and `node_modules`. A name that is not UTF-8 cannot be
/// reported at a location: it is listed in `unrepresentable`.
pub fn list_files(repo: &Path, ignored: &Gitignore) -> anyhow::Result<Listing> {
    list_files_under(repo, ".", ignored)
}

/// [`list_files`] under the repository-relative directory `dir` only.
fn list_files_under(repo: &Path, dir: &str, ignored: &Gitignore) -> anyhow::Result<Listing> {
    let dir = avalanche_model::layout::normalized(dir);
    let prefix = if dir == "." {
        String::new()
    } else {
        format!("{dir}/")
    };
    let in_git = repo.ancestors().any(|dir| dir.join(".git").exists());
    let start = if prefix.is_empty() {
        repo.to_path_buf()
    } else {
        repo.join(&dir)
    };
    if !start.is_dir() {
        return Ok(Listing {
            paths: Vec::new(),
            unrepresentable: Vec::new(),
        });
    }
    let mut walk = ignore::WalkBuilder::new(&start);
    walk.standard_filters(false)
        .git_ignore(in_git)
        .git_exclude(in_git)
        // The `ignore` crate finds the global excludes file by compiling a regex
        // to read git's config: more than the rest of a homelab check. Found here.
        .git_global(false)
        .parents(in_git)
        // We know whether this is a git repository: no `.git` lookup per directory.
        .require_git(false)
        .follow_links(false);
    if in_git
        && let Some(global) = global_excludes_file()
        && global.is_file()
        && let Some(err) = walk.add_ignore(&global)
    {
        anyhow::bail!("{}: {err}", global.display());
    }
    let root = repo.to_path_buf();
    let avalancheignore = ignored;
    let ignored = ignored.clone();
    // A directory holding `.git` (a submodule, a checkout inside the tree) is a
    // nested repository, not ours: its paths are dropped after the walk (noticing
    // the `.git` entry costs nothing; asking every directory for one costs a
    // `stat` each).
    let nested = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let found = std::sync::Arc::clone(&nested);
    // The repository's own `.git` is at depth 1 only when the walk starts at its root.
    let own_git_depth = if prefix.is_empty() { 1 } else { 0 };
    walk.filter_entry(move |entry| {
        if entry.file_name() == ".git" {
            if entry.depth() > own_git_depth
                && let Some(dir) = entry.path().parent()
                && let Ok(mut found) = found.lock()
            {
                found.push(dir.to_path_buf());
            }
            return false;
        }
        // A temp file (or staging directory) a killed writer left: not the
        // repository's, and swept by the next writer.
        if avalanche_model::layout::is_writer_temp(&entry.file_name().to_string_lossy()) {
            return false;
        }
        keep_entry(&root, &ignored, in_git, entry)
    });
    let mut paths = Vec::new();
    let mut unrepresentable = Vec::new();
    let not_utf8 = |rel: &Path| Skipped {
        path: rel.to_string_lossy().into_owned(),
        reason: "its name is not UTF-8: rename it".into(),
        unreadable: true,
    };
    for entry in walk.build() {
        let entry = entry.with_context(|| format!("listing the files of {}", repo.display()))?;
        // Regular files, and symlinks to regular files (git lists a link; its
        // target is what is read). Never a FIFO or a device: opening one could block.
        let regular = match entry.file_type() {
            Some(kind) if kind.is_file() => true,
            Some(kind) if kind.is_symlink() => {
                std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file())
            }
            _ => false,
        };
        if !regular {
            // A FIFO, device or socket (or a link to one) is never opened, and
            // never skipped silently. Directories and dangling links are not files.
            use std::os::unix::fs::FileTypeExt as _;
            if let Ok(meta) = std::fs::metadata(entry.path())
                && let kind = meta.file_type()
                && (kind.is_fifo()
                    || kind.is_char_device()
                    || kind.is_block_device()
                    || kind.is_socket())
                && let Ok(rel) = entry.path().strip_prefix(repo)
            {
                unrepresentable.push(Skipped {
                    path: rel.to_string_lossy().into_owned(),
                    reason: "not a regular file (a FIFO, device or socket): never read".into(),
                    unreadable: true,
                });
            }
            continue;
        }
        if let Ok(rel) = entry.path().strip_prefix(repo) {
            match rel.to_str() {
                Some(rel) => paths.push(rel.replace('\\', "/")),
                None => unrepresentable.push(not_utf8(rel)),
            }
        }
    }
    // Tracked files the walk did not see (ignored, yet tracked).
    if in_git && let Some(index) = crate::git_index::index_path(repo) {
        match crate::git_index::tracked(&index) {
            Ok(tracked) => {
                let seen: std::collections::HashSet<String> = paths.iter().cloned().collect();
                for raw in tracked {
                    let Ok(rel) = String::from_utf8(raw.clone()) else {
                        let rel =
                            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&raw);
                        if std::fs::metadata(repo.join(rel)).is_ok_and(|m| m.is_file()) {
                            unrepresentable.push(not_utf8(Path::new(rel)));
                        }
                        continue;
                    };
                    if seen.contains(&rel)
                        || !rel.starts_with(&prefix)
                        || avalancheignore
                            .matched_path_or_any_parents(Path::new(&rel), false)
                            .is_ignore()
                        || !std::fs::metadata(repo.join(&rel)).is_ok_and(|m| m.is_file())
                    {
                        continue;
                    }
                    paths.push(rel);
                }
            }
            Err(e) => unrepresentable.push(Skipped {
                path: index.display().to_string(),
                reason: format!("{e:#} (tracked files that .gitignore matches are not seen)"),
                unreadable: true,
            }),
        }
    }
    let nested: Vec<String> = match nested.lock() {
        Ok(dirs) if in_git => dirs
            .iter()
            .filter_map(|dir| dir.strip_prefix(repo).ok())
            .map(|rel| format!("{}/", rel.to_string_lossy().replace('\\', "/")))
            .collect(),
        _ => Vec::new(),
    };
    if !nested.is_empty() {
        paths.retain(|p| !nested.iter().any(|dir| p.starts_with(dir.as_str())));
    }
    paths.sort_unstable();
    paths.dedup();
    unrepresentable.sort_by(|a, b| a.path.cmp(&b.path));
    unrepresentable.dedup_by(|a, b| a.path == b.path);
    Ok(Listing {
        paths,
        unrepresentable,
    })
}

/// git's global excludes file: `core.excludesFile` from the user's git config
/// (`$XDG_CONFIG_HOME/git/config`, then `~/.gitconfig`, the later winning, as git
/// reads them), else `$XDG_CONFIG_HOME/git/ignore` (`~/.config/git/ignore`).
fn global_excludes_file() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let configs = [
        xdg.as_ref().map(|x| x.join("git/config")),
        home.as_ref().map(|h| h.join(".gitconfig")),
    ];
    let configured = configs
        .iter()
        .flatten()
        .filter_map(|config| avalanche_fsread::read_text(config, 1 << 20).ok())
        .filter_map(|text| core_excludes_file(&text))
        .next_back();
    match configured {
        Some(value) => Some(match value.strip_prefix("~/") {
            Some(rest) => home?.join(rest),
            None => PathBuf::from(value),
        }),
        None => xdg.map(|x| x.join("git/ignore")),
    }
}

/// The value of `core.excludesFile` in the text of a git config file (the last
/// one set; git's plain `key = value` form, optionally quoted).
fn core_excludes_file(text: &str) -> Option<String> {
    let mut in_core = false;
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[') {
            let name = section.split([']', ' ', '"']).next().unwrap_or("");
            in_core = name.eq_ignore_ascii_case("core");
            continue;
        }
        if !in_core {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("excludesfile") {
            let value = value.split(['#', ';']).next().unwrap_or("").trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            found = Some(value.to_owned());
        }
    }
    found
}

/// Whether the walk keeps `entry` (and, for a directory, enters it).
fn keep_entry(root: &Path, ignored: &Gitignore, in_git: bool, entry: &ignore::DirEntry) -> bool {
    if entry.depth() == 0 {
        return true;
    }
    let is_dir = entry.file_type().is_some_and(|kind| kind.is_dir());
    if is_dir && !in_git {
        let name = entry.file_name().to_string_lossy();
        if name == "target" || name.starts_with("result") || name == "node_modules" {
            return false;
        }
    }
    let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
    !ignored.matched(rel, is_dir).is_ignore()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// `git ls-files --cached --others --exclude-standard`: the list the walk stands in for.
    fn git_list(repo: &Path) -> Vec<String> {
        let out = Command::new("git")
            .args([
                "-c",
                "core.quotepath=off",
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(repo)
            .output()
            .expect("running git ls-files");
        assert!(out.status.success(), "git ls-files failed");
        let mut paths: Vec<String> = out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty() && !p.ends_with(b"/"))
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| repo.join(p).is_file())
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }

    fn git(repo: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(["-c", "commit.gpgsign=false", "-c", "core.excludesFile="])
            .args(args)
            .current_dir(repo)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("running git");
        assert!(status.success(), "git {args:?}");
    }

    fn write(repo: &Path, rel: &str, text: &str) {
        let path = repo.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// The walk lists what git lists: tracked files, untracked files that are not
    /// ignored (nested `.gitignore`s with negations, `.git/info/exclude`, hidden
    /// files), never `.git` or a nested repository's files.
    #[test]
    fn the_walk_lists_what_git_lists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path();
        git(repo, &["init", "-q", "-b", "main"]);
        write(repo, ".gitignore", "*.log\n/build/\nresult*\n!keep.log\n");
        write(repo, ".sops.yaml", "creation_rules: []\n");
        write(repo, "nix/network.nix", "{ }\n");
        write(repo, "kubernetes/a.yaml", "a: 1\n");
        write(
            repo,
            "kubernetes/.gitignore",
            "secret-*.yaml\n!secret-ok.yaml\n",
        );
        write(repo, "kubernetes/secret-x.yaml", "x: 1\n");
        write(repo, "kubernetes/secret-ok.yaml", "x: 1\n");
        write(repo, "debug.log", "ignored\n");
        write(repo, "keep.log", "kept by a negation\n");
        write(repo, "build/out.txt", "ignored dir\n");
        write(repo, "result-link/x", "ignored by a glob\n");
        write(repo, "docs/excluded.md", "in info/exclude\n");
        write(repo, ".git/info/exclude", "docs/excluded.md\n");
        write(repo, "vendor/sub/file.txt", "a nested repository\n");
        git(&repo.join("vendor/sub"), &["init", "-q", "-b", "main"]);
        write(repo, "vendor/own.txt", "ours\n");
        write(repo, "weird name/ü.txt", "unicode\n");
        git(repo, &["add", ".gitignore", "nix", "kubernetes/a.yaml"]);
        git(repo, &["commit", "-q", "-m", "init"]);
        write(repo, "untracked.txt", "not yet added\n");
        // Tracked although ignored (issue 20 item 25): git lists it, so must we.
        write(repo, "forced.log", "force-added\n");
        git(repo, &["add", "-f", "forced.log"]);

        let ours = list_files(repo, &Gitignore::empty())
            .expect("listing")
            .paths;
        assert_eq!(ours, git_list(repo));
        assert!(ours.contains(&".sops.yaml".to_owned()), "{ours:?}");
        assert!(ours.contains(&"untracked.txt".to_owned()), "{ours:?}");
        assert!(ours.contains(&"forced.log".to_owned()), "{ours:?}");
        assert!(!ours.iter().any(|p| p.starts_with(".git/")), "{ours:?}");
    }

    /// `.avalancheignore` only removes paths; a `!` in it cannot bring back a file git ignores.
    #[test]
    fn avalancheignore_removes_and_never_adds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path();
        git(repo, &["init", "-q", "-b", "main"]);
        write(repo, ".gitignore", "*.log\n");
        write(repo, ".avalancheignore", "/docs/\n!debug.log\n");
        write(repo, "docs/a.md", "left out\n");
        write(repo, "debug.log", "git ignores it\n");
        write(repo, "nix/network.nix", "{ }\n");
        let ignored = load_ignore(repo).expect("reading .avalancheignore");
        let ours = list_files(repo, &ignored).expect("listing").paths;
        assert_eq!(ours, [".avalancheignore", ".gitignore", "nix/network.nix"]);
    }

    #[test]
    fn core_excludes_file_is_read_from_the_core_section() {
        let text = "[user]\n\texcludesFile = /not/this\n[core]\n\teditor = vi\n\texcludesFile = \"~/.gitignore_global\" # mine\n[alias]\n\tst = status\n";
        assert_eq!(
            core_excludes_file(text).as_deref(),
            Some("~/.gitignore_global")
        );
        assert_eq!(core_excludes_file("[core]\n\tautocrlf = false\n"), None);
        assert_eq!(
            core_excludes_file("[Core]\nexcludesfile=/etc/gitignore\n").as_deref(),
            Some("/etc/gitignore")
        );
    }

    /// A named pipe in the tree is skipped, not opened (opening it would block).
    #[test]
    fn a_fifo_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path();
        git(repo, &["init", "-q", "-b", "main"]);
        write(repo, "a.txt", "a\n");
        let fifo = repo.join("pipe");
        let status = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("running mkfifo");
        assert!(status.success());
        assert_eq!(
            list_files(repo, &Gitignore::empty())
                .expect("listing")
                .paths,
            ["a.txt"]
        );
        let (files, large, skipped) = crate::facts::read_files(repo, &[]).expect("reading");
        assert_eq!(files.len(), 1);
        assert!(large.is_empty());
        // Not read, and said so (issue 15 item 11).
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0].path, "pipe");
    }

    #[test]
    fn outside_git_everything_but_build_outputs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("r");
        write(&repo, "a.txt", "a\n");
        write(&repo, ".gitignore", "a.txt\n");
        write(&repo, "target/x", "built\n");
        write(&repo, "result/x", "built\n");
        write(&repo, "node_modules/x/y.js", "vendored\n");
        let ours = list_files(&repo, &Gitignore::empty())
            .expect("listing")
            .paths;
        assert_eq!(ours, [".gitignore", "a.txt"]);
    }

    /// Issue 20 item 25: a name that is not UTF-8 is reported, tracked or not.
    #[test]
    fn names_that_are_not_utf8_are_reported() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path();
        git(repo, &["init", "-q", "-b", "main"]);
        write(repo, "a.txt", "a\n");
        let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
        std::fs::write(repo.join(odd), "latin-1 name\n").expect("write");
        let listing = list_files(repo, &Gitignore::empty()).expect("listing");
        assert_eq!(listing.paths, ["a.txt"]);
        assert_eq!(
            listing.unrepresentable.len(),
            1,
            "{:?}",
            listing.unrepresentable
        );
        assert!(listing.unrepresentable[0].reason.contains("not UTF-8"));
        git(repo, &["add", "-A"]);
        let listing = list_files(repo, &Gitignore::empty()).expect("listing");
        assert_eq!(
            listing.unrepresentable.len(),
            1,
            "tracked: {:?}",
            listing.unrepresentable
        );
    }
}
