//! Gathering the repository facts `check` needs: the only I/O of checking.
//!
//! The files are git's (`git ls-files`: tracked, plus untracked files that are not
//! ignored, so a check before `git add` sees new files); outside a git repository,
//! a walk of the directory (skipping `.git`, `target` and `result*`). Paths matched
//! by the repository's `.avalancheignore` (gitignore syntax) are left out: files
//! that live in the repository but are not part of the network, such as test
//! fixtures or a changelog that must keep talking about a retired host.
use anyhow::Context as _;
use avalanche_check::{RepoFacts, RepoFile, RepoInput};
use avalanche_model::Network;
use std::path::Path;
use std::process::Command;

/// Files larger than this are not read as text (lock files and generated blobs
/// are far smaller; a text search through them would be noise).
const MAX_TEXT_BYTES: u64 = 4 << 20;

/// Builds the facts for `network` from the repository's files (read by `listing`,
/// started before the declarations were read). `network_file` is the
/// declarations file (its mentions of retired hosts are the retirement itself);
/// `generated` the paths of the files the render plan holds (the caller rendered
/// it once; empty when it could not be rendered).
pub fn gather(
    repo: &Path,
    network: &Network,
    network_file: &Path,
    generated: Vec<String>,
    listing: FileList,
) -> anyhow::Result<RepoFacts> {
    let files = listing.finish()?;
    Ok(RepoFacts::build(RepoInput {
        files,
        generated,
        declarations: declaration_files(repo, network_file),
        kubernetes_dir: network.kubernetes.dir.clone(),
    }))
}

/// The repository's files (git's list, less `.avalancheignore`d paths), read on
/// another thread started early, so the `git ls-files` spawn and the reads overlap
/// reading, evaluating and rendering the declarations.
pub struct FileList {
    reader: std::thread::JoinHandle<anyhow::Result<Vec<RepoFile>>>,
}

impl FileList {
    /// Starts listing and reading the files of `repo`.
    pub fn start(repo: &Path) -> FileList {
        let repo = repo.to_path_buf();
        FileList {
            reader: std::thread::spawn(move || read_files(&repo)),
        }
    }

    /// The files, as read.
    fn finish(self) -> anyhow::Result<Vec<RepoFile>> {
        match self.reader.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Lists and reads the repository's files (text for UTF-8 files up to
/// [`MAX_TEXT_BYTES`]).
fn read_files(repo: &Path) -> anyhow::Result<Vec<RepoFile>> {
    let ignored = load_ignore(repo)?;
    let paths = list_files(repo)?;
    let mut files = Vec::with_capacity(paths.len());
    for rel in paths {
        if ignored.matched_path_or_any_parents(&rel, false).is_ignore() {
            continue;
        }
        let full = repo.join(&rel);
        let Ok(meta) = std::fs::metadata(&full) else {
            continue;
        }; // deleted, not yet committed
        if !meta.is_file() {
            continue;
        }
        let text = if meta.len() > MAX_TEXT_BYTES {
            None
        } else {
            let bytes =
                std::fs::read(&full).with_context(|| format!("reading {}", full.display()))?;
            as_text(bytes)
        };
        files.push(RepoFile { path: rel, text });
    }
    Ok(files)
}

/// The name of the file listing paths `check` leaves out (gitignore syntax).
pub const IGNORE_FILE: &str = ".avalancheignore";

/// The patterns of `<repo>/.avalancheignore` (none when the file is absent).
fn load_ignore(repo: &Path) -> anyhow::Result<ignore::gitignore::Gitignore> {
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

/// The repository-relative path of the declarations file, when it is in the repository.
fn declaration_files(repo: &Path, network_file: &Path) -> Vec<String> {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    match canonical(network_file).strip_prefix(canonical(repo)) {
        Ok(rel) => vec![rel.to_string_lossy().replace('\\', "/")],
        Err(_) => Vec::new(),
    }
}

/// `Some(text)` for a UTF-8 file without NUL bytes.
fn as_text(bytes: Vec<u8>) -> Option<String> {
    if bytes[..bytes.len().min(8000)].contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// Repository-relative, `/`-separated paths of the repository's files.
fn list_files(repo: &Path) -> anyhow::Result<Vec<String>> {
    let output = Command::new("git")
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
        .stderr(std::process::Stdio::null())
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let mut paths: Vec<String> = out
                .stdout
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            paths.sort();
            paths.dedup();
            Ok(paths)
        }
        // Not a git repository, or no git: walk the directory.
        _ => {
            let mut paths = Vec::new();
            walk(repo, repo, &mut paths)
                .with_context(|| format!("listing the files of {}", repo.display()))?;
            paths.sort();
            Ok(paths)
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if name == ".git"
                || name == "target"
                || name.starts_with("result")
                || name == "node_modules"
            {
                continue;
            }
            walk(root, &entry.path(), out)?;
        } else if kind.is_file()
            && let Ok(rel) = entry.path().strip_prefix(root)
        {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}
