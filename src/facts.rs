//! Gathering the repository facts `check` needs: the only I/O of checking.
//!
//! The files are the repository's, as [`crate::walk`] lists them (the walker
//! `secrets` uses too).
use anyhow::Context as _;
use avalanche_check::{PreparedFacts, RepoFacts, RepoFile};
use avalanche_model::Network;
use std::path::{Path, PathBuf};

/// Files up to this size are read whole as text. Larger text files are read in
/// bounded memory once the network is known, keeping the lines `check` needs (see
/// [`read_sparse`]): a large file is never skipped silently.
const MAX_TEXT_BYTES: u64 = 4 << 20;

/// Files `check` parses as a whole (`flake.nix`, `.sops.yaml`, the Tailscale
/// policy, the declarations) are read whole up to this size; over it, they are
/// reported as not read.
const MAX_WHOLE_BYTES: u64 = 64 << 20;

/// Lines of a large file kept because they are SOPS metadata stop being kept past
/// this many bytes (the metadata of a file is a few kilobytes).
const MAX_KEPT_BYTES: usize = 16 << 20;

/// A file `check` could not read as text, for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Repository-relative path (lossy for a name that is not UTF-8).
    pub path: String,
    /// Why: `binary`, `not UTF-8 text`, or the read error.
    pub reason: String,
    /// True when it could not be read at all (not merely binary).
    pub unreadable: bool,
}

/// Completes the facts for `network`: `listing` (started before the declarations
/// were read) has listed and read the files and prepared everything that does not
/// depend on the network; `generated` are the paths of the files the render plan
/// holds (the caller rendered it once; empty when it could not be rendered).
/// Large text files are read now, keeping the lines that mention what the network
/// retired and their SOPS metadata. Also returns the files not read as text.
pub fn gather(
    network: &Network,
    generated: Vec<String>,
    listing: FileList,
) -> anyhow::Result<(RepoFacts, Vec<Skipped>)> {
    let repo = listing.repo.clone();
    let (mut prepared, large, mut skipped) = listing.finish()?;
    let needles = retired_needles(network);
    for rel in large {
        match read_sparse(&repo.join(&rel), &needles) {
            Ok(Some(text)) => prepared.add_text(&rel, text),
            Ok(None) => skipped.push(Skipped {
                path: rel,
                reason: "binary".into(),
                unreadable: false,
            }),
            Err(e) => skipped.push(Skipped {
                path: rel,
                reason: e.to_string(),
                unreadable: true,
            }),
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((prepared.finish(generated, &network.kubernetes.dir), skipped))
}

/// What a line of a large file must contain (ASCII case aside) to be kept: the
/// retired hosts' names, aliases and age recipients.
fn retired_needles(network: &Network) -> Vec<Vec<u8>> {
    let mut needles: Vec<Vec<u8>> = Vec::new();
    for (name, host) in &network.retired {
        needles.push(name.as_str().to_ascii_lowercase().into_bytes());
        for alias in &host.aliases {
            needles.push(alias.value.as_str().to_ascii_lowercase().into_bytes());
        }
        for recipient in &host.age_recipients {
            needles.push(recipient.value.to_ascii_lowercase().into_bytes());
        }
    }
    needles.retain(|n| !n.is_empty());
    needles
}

/// Reads a large file in bounded memory: the result has every line of the file,
/// but only the lines that contain a needle, or belong to a SOPS metadata block
/// (from a `sops:` line to the next `---`, or from a `"sops":` line to the end), keep
/// their text; the others are left empty, so line numbers hold. A line over 64 KiB
/// that holds a needle keeps only the needle. `None` for a binary file (a NUL in
/// its first 8000 bytes, as git decides).
fn read_sparse(path: &Path, needles: &[Vec<u8>]) -> anyhow::Result<Option<String>> {
    use std::io::Read as _;
    const LONG_LINE: usize = 64 << 10;
    let (file, _) = avalanche_fsread::open(path)?;
    let mut reader = std::io::BufReader::with_capacity(64 << 10, file);
    let mut out = String::new();
    let mut line: Vec<u8> = Vec::new();
    // A line over LONG_LINE keeps only its last KiB (where a needle may start);
    // `long_hit` is a needle it was seen to hold.
    let mut long = false;
    let mut long_hit: Option<Vec<u8>> = None;
    let mut in_sops = false;
    let mut first = true;
    let mut chunk = vec![0u8; 64 << 10];
    let find = |text: &[u8]| -> Option<Vec<u8>> {
        let lower = text.to_ascii_lowercase();
        needles
            .iter()
            .find(|n| memchr::memmem::find(&lower, n).is_some())
            .cloned()
    };
    let mut finish_line = |line: &mut Vec<u8>, long: &mut bool, long_hit: &mut Option<Vec<u8>>| {
        if line.starts_with(b"sops:") || memchr::memmem::find(line, b"\"sops\":").is_some() {
            in_sops = true;
        } else if line.starts_with(b"---") {
            in_sops = false;
        }
        let hit = long_hit.take().or_else(|| find(line));
        if *long {
            if let Some(needle) = hit {
                out.push_str(&String::from_utf8_lossy(&needle));
            }
        } else if (hit.is_some() || in_sops) && out.len() < MAX_KEPT_BYTES {
            out.push_str(&String::from_utf8_lossy(line));
        }
        out.push('\n');
        line.clear();
        *long = false;
    };
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let bytes = &chunk[..n];
        if first {
            first = false;
            if bytes[..bytes.len().min(8000)].contains(&0) {
                return Ok(None);
            }
        }
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            let (content, ends) = match piece.strip_suffix(b"\n") {
                Some(c) => (c, true),
                None => (piece, false),
            };
            line.extend_from_slice(content);
            if line.len() > LONG_LINE {
                if long_hit.is_none() {
                    long_hit = find(&line);
                }
                long = true;
                let keep = 1024.min(line.len());
                line.drain(..line.len() - keep);
            }
            if ends {
                finish_line(&mut line, &mut long, &mut long_hit);
            }
        }
    }
    if !line.is_empty() || long {
        finish_line(&mut line, &mut long, &mut long_hit);
        out.pop();
    }
    Ok(Some(out))
}

/// The repository's files (the ones git shows, less `.avalancheignore`d paths),
/// read and half-digested on another thread started first thing, so that the
/// walk, the reads and the parsing of `flake.nix`, `.sops.yaml` and the SOPS files
/// overlap reading, evaluating and rendering the declarations.
pub struct FileList {
    repo: PathBuf,
    reader: std::thread::JoinHandle<anyhow::Result<Listed>>,
}

/// What the reader thread hands over: the prepared facts, the large text files
/// left for [`gather`], the files not read.
type Listed = (PreparedFacts, Vec<String>, Vec<Skipped>);

/// Whether real Nix may list the flake's hosts when the static scan of
/// `flake.nix` cannot (`avalanche_nix::flake_eval`).
#[derive(Debug, Clone)]
pub enum FlakeHosts {
    /// Run `nix eval`, stopped after this long.
    Evaluate(std::time::Duration),
    /// Never run Nix: why, for the finding that says the list is unknown.
    Static(String),
}

impl FlakeHosts {
    /// What `--eval` and `--nix-timeout` ask for.
    pub fn of(global: &crate::cli::GlobalArgs) -> FlakeHosts {
        match global.eval {
            crate::cli::EvalMode::Static => {
                FlakeHosts::Static("`--eval static` runs no Nix".into())
            }
            crate::cli::EvalMode::Auto | crate::cli::EvalMode::Nix => {
                FlakeHosts::Evaluate(std::time::Duration::from_secs(global.nix_timeout))
            }
        }
    }
}

impl FileList {
    /// Starts listing, reading and preparing the files of `repo`;
    /// `network_file` is the declarations file. When the static scan cannot list
    /// the flake's hosts and `flake_hosts` allows it, real Nix lists them on the
    /// same thread (still overlapping the declarations' evaluation).
    pub fn start(repo: &Path, network_file: &Path, flake_hosts: FlakeHosts) -> FileList {
        let repo = repo.to_path_buf();
        let network_file = network_file.to_path_buf();
        let root = repo.clone();
        FileList {
            repo,
            reader: std::thread::spawn(move || {
                let declarations = declaration_files(&root, &network_file);
                let (files, large, skipped) = read_files(&root, &declarations)?;
                let mut prepared = RepoFacts::prepare(files, declarations);
                if prepared.flake_hosts_unknown() {
                    prepared.adopt_flake_listing(match flake_hosts {
                        FlakeHosts::Evaluate(timeout) => {
                            avalanche_nix::flake_eval::flake_host_names(&root, timeout)
                        }
                        FlakeHosts::Static(why) => Err(why),
                    });
                }
                Ok((prepared, large, skipped))
            }),
        }
    }

    /// The prepared facts, the large files, the skipped files.
    fn finish(self) -> anyhow::Result<Listed> {
        match self.reader.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Lists and reads the repository's files: text for UTF-8 files up to
/// [`MAX_TEXT_BYTES`] (and for the files parsed whole, up to [`MAX_WHOLE_BYTES`]).
/// Also returns the larger files, to be read by [`gather`], and the files not read.
pub(crate) fn read_files(
    repo: &Path,
    declarations: &[String],
) -> anyhow::Result<(Vec<RepoFile>, Vec<String>, Vec<Skipped>)> {
    use avalanche_check::facts::{FLAKE, SOPS_CONFIG, TAILSCALE_POLICY};
    let listing = crate::walk::list(repo)?;
    let mut skipped = listing.unrepresentable;
    let mut files = Vec::with_capacity(listing.paths.len());
    let mut large = Vec::new();
    for rel in listing.paths {
        let full = repo.join(&rel);
        // Opened once (never a FIFO or device: the path may have been swapped since
        // the listing), then sized from the open file.
        let (mut file, len) = match avalanche_fsread::open(&full) {
            Ok(opened) => opened,
            Err(e) => {
                if !e.is_not_found() {
                    skipped.push(Skipped {
                        path: rel,
                        reason: e.to_string(),
                        unreadable: true,
                    });
                }
                continue;
            }
        };
        let whole = [FLAKE, SOPS_CONFIG, TAILSCALE_POLICY].contains(&rel.as_str())
            || declarations.contains(&rel);
        let limit = if whole {
            MAX_WHOLE_BYTES
        } else {
            MAX_TEXT_BYTES
        };
        let text = if len > limit {
            if whole {
                skipped.push(Skipped {
                    path: rel.clone(),
                    reason: format!("{len} bytes, over the limit of {limit} bytes for this file"),
                    unreadable: true,
                });
            } else {
                large.push(rel.clone());
            }
            None
        } else {
            let bytes = avalanche_fsread::read_sized(&mut file, len)
                .with_context(|| format!("reading {}", full.display()))?;
            let text = as_text(bytes);
            if text.is_none() {
                skipped.push(Skipped {
                    path: rel.clone(),
                    reason: "binary or not UTF-8".into(),
                    unreadable: false,
                });
            }
            text
        };
        files.push(RepoFile { path: rel, text });
    }
    Ok((files, large, skipped))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20 item 8 / issue 15 item 11: a large file keeps, at their line
    /// numbers, the lines naming a needle and its SOPS metadata; a huge single
    /// line is bounded; a binary file is `None`.
    #[test]
    fn a_large_file_is_read_sparsely_with_its_lines_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.yaml");
        let mut text = String::new();
        for i in 0..200_000 {
            text.push_str(&format!("key{i}: filler filler filler\n"));
        }
        text.push_str("note: the old VPS host\n");
        text.push_str(&"x".repeat(1 << 20));
        text.push_str(" vps\n");
        text.push_str("sops:\n    age:\n        - recipient: age1abc\n    version: 3.11.0\n");
        std::fs::write(&path, &text).expect("write");
        let sparse = read_sparse(&path, &[b"vps".to_vec()])
            .expect("reading")
            .expect("text");
        let lines: Vec<&str> = sparse.split('\n').collect();
        assert_eq!(lines.len(), text.split('\n').count());
        assert_eq!(lines[200_000], "note: the old VPS host");
        assert_eq!(lines[200_001], "vps");
        assert_eq!(lines[200_002], "sops:");
        assert_eq!(lines[200_004], "        - recipient: age1abc");
        assert!(lines[0].is_empty());
        assert!(sparse.len() < 1 << 20, "{} bytes kept", sparse.len());
        std::fs::write(&path, b"\0binary").expect("write");
        assert!(read_sparse(&path, &[]).expect("reading").is_none());
    }
}
