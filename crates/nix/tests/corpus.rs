//! Differential tests of the static reader against real Nix on the corpus in
//! `tests/nix-corpus/` (the end-to-end twin, through the binary, is `tests/eval.rs`):
//! every file must evaluate to the same JSON, and every file in `errors/` must fail
//! in both, at the same line and column.
use avalanche_diag::SourceMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/nix-corpus")
}

fn nix_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "nix"))
        .collect();
    files.sort();
    files
}

/// `nix-instantiate`, or `None` (skipping loudly) unless `AVALANCHE_REQUIRE_ORACLES=1`.
fn nix_instantiate() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nix-instantiate"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("AVALANCHE_REQUIRE_ORACLES").as_deref() != Ok("1"),
            "nix-instantiate is not installed and AVALANCHE_REQUIRE_ORACLES=1"
        );
        eprintln!("SKIPPED: oracle `nix-instantiate` is not installed");
    }
    found
}

struct Nix {
    tool: PathBuf,
    state: tempfile::TempDir,
}

impl Nix {
    fn new() -> Option<Nix> {
        Some(Nix {
            tool: nix_instantiate()?,
            state: tempfile::tempdir().expect("temp dir"),
        })
    }

    fn eval(&self, file: &Path) -> std::process::Output {
        let abs = std::fs::canonicalize(file).expect("canonical path");
        Command::new(&self.tool)
            .args(avalanche_nix::nix_instantiate_args(&abs))
            .env("NIX_STATE_DIR", self.state.path().join("state"))
            .env("HOME", self.state.path())
            .output()
            .expect("running nix-instantiate")
    }
}

#[test]
fn corpus_values_equal_nix_instantiate() {
    let Some(nix) = Nix::new() else { return };
    let files = nix_files(&corpus());
    assert!(
        files.len() >= 45,
        "the corpus has only {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let mut sources = SourceMap::default();
        let ours = avalanche_nix::read_file(file, &mut sources);
        let out = nix.eval(file);
        let theirs = String::from_utf8_lossy(&out.stdout);
        match ours {
            Ok(v) => {
                let ours_json: serde_json::Value = serde_json::from_str(&v.to_json_string())
                    .unwrap_or_else(|e| panic!("{}: our output is not JSON: {e}", file.display()));
                match serde_json::from_str::<serde_json::Value>(theirs.trim()) {
                    Ok(t) if t == ours_json => {}
                    _ => failures.push(format!(
                        "{}:\n  ours:   {}\n  theirs: {}{}",
                        file.display(),
                        v.to_json_string(),
                        theirs.trim(),
                        String::from_utf8_lossy(&out.stderr)
                    )),
                }
                // The text itself, too: same key order, floats and escapes.
                if out.status.success() && v.to_json_string() != theirs.trim() {
                    failures.push(format!(
                        "{}: texts differ:\n  ours:   {}\n  theirs: {}",
                        file.display(),
                        v.to_json_string(),
                        theirs.trim()
                    ));
                }
            }
            Err(d) => failures.push(format!(
                "{}: static reader failed:\n{}",
                file.display(),
                avalanche_diag::render_human(&d, &sources, Default::default())
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// `at /abs/path:L:C:` in Nix's error.
fn nix_error_position(stderr: &str) -> Option<(usize, usize)> {
    stderr.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("at ")?.strip_suffix(':')?;
        let mut parts = rest.rsplitn(3, ':');
        let col = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((line, col))
    })
}

#[test]
fn corpus_errors_fail_where_nix_fails() {
    let Some(nix) = Nix::new() else { return };
    let files = nix_files(&corpus().join("errors"));
    assert!(files.len() >= 20);
    let mut failures = Vec::new();
    for file in &files {
        let mut sources = SourceMap::default();
        let ours = avalanche_nix::read_file(file, &mut sources);
        let out = nix.eval(file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() || !stderr.is_empty(),
            "{}: nix accepted it",
            file.display()
        );
        let Err(diags) = ours else {
            failures.push(format!(
                "{}: the static reader accepted it; nix says {stderr}",
                file.display()
            ));
            continue;
        };
        let Some(span) = diags[0].span else {
            failures.push(format!("{}: no location", file.display()));
            continue;
        };
        let ours_at = sources.line_col(span);
        match nix_error_position(&stderr) {
            Some(theirs_at) if theirs_at == ours_at => {}
            // Nix gives no position for some errors (e.g. `{ } // [ ]` at the top).
            None if stderr.starts_with("error: ") => {}
            theirs_at => failures.push(format!(
                "{}: ours {:?} [{}] {}, nix {:?}: {}",
                file.display(),
                ours_at,
                diags[0].rule,
                diags[0].message,
                theirs_at,
                stderr.lines().next().unwrap_or("")
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
