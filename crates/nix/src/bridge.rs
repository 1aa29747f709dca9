//! The bridge to real Nix: `nix-instantiate --eval --strict --json`, or `nix eval`
//! of the flake's `lib.network` for the default declarations of a flake repo.
//!
//! Two trust levels. [`eval_restricted`] (what `--eval auto` uses) evaluates only the
//! declarations file, in restricted mode (no file outside the repository, no URL),
//! read-only (nothing written to the store) and without import-from-derivation, so
//! no build runs. [`eval_with_nix`] (`--eval nix`, asked for explicitly) evaluates
//! the flake: that runs the repository's code, builds included.
// `eval_with_nix` returns one `Diagnostic` by contract (see lib.rs); it is an error
// path taken once per run, so its size does not matter.
#![allow(clippy::result_large_err)]
use crate::value::Value;
use avalanche_diag::Diagnostic;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The expression handed to `nix-instantiate`: the file, and if it is a function,
/// called with an attrset whose arguments fail only when used (as the static reader
/// treats them), so `{ config, lib, ... }:` modules that ignore them evaluate.
fn wrapper(path: &Path) -> String {
    let lit = nix_string(&path.display().to_string());
    format!(
        "let f = import (/. + {lit}); args = builtins.functionArgs f; in \
         if builtins.isFunction f then f (builtins.mapAttrs \
         (n: _: throw \"avalanche-net: the argument `${{n}}` of the top-level function is not available\") \
         (builtins.removeAttrs args (builtins.filter (n: args.${{n}}) (builtins.attrNames args)))) else f"
    )
}

fn nix_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The arguments after `nix-instantiate` that evaluate `path` (absolute) as the
/// static reader does: `--eval --strict --json -E <expr>`, where the expression calls a
/// top-level function with arguments that fail only when used.
pub fn nix_instantiate_args(path: &Path) -> Vec<String> {
    vec![
        "--eval".into(),
        "--strict".into(),
        "--json".into(),
        "-E".into(),
        wrapper(path),
    ]
}

/// The options that make `nix-instantiate` safe on a file nobody vetted: no
/// import-from-derivation (no build runs), read-only store, and restricted
/// evaluation where only files under `allowed` (the repository) can be read.
pub fn restricted_args(allowed: &Path) -> Vec<String> {
    vec![
        "--readonly-mode".into(),
        "--option".into(),
        "allow-import-from-derivation".into(),
        "false".into(),
        "--option".into(),
        "restrict-eval".into(),
        "true".into(),
        "-I".into(),
        allowed.display().to_string(),
    ]
}

/// Evaluates `path` with `nix-instantiate --eval --strict --json` in restricted,
/// read-only mode without import-from-derivation (see [`restricted_args`]): the
/// declarations file only, never a flake, and no build. Files under `allowed` (the
/// repository root) may be imported.
pub fn eval_restricted(path: &Path, allowed: &Path) -> Result<Value, Diagnostic> {
    let Some(tool) = which("nix-instantiate") else {
        return Err(missing("nix-instantiate"));
    };
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if let Err(e) = avalanche_fsread::open(&abs) {
        return Err(Diagnostic::error(&crate::rules::NIX_READ, e.to_string()));
    }
    let allowed = std::path::absolute(allowed).unwrap_or_else(|_| allowed.to_path_buf());
    // The file may live outside the repository (`--network /elsewhere/x.nix`).
    let dir = abs.parent().unwrap_or(&abs);
    let mut cmd = Command::new(tool);
    cmd.args(restricted_args(&allowed));
    if !dir.starts_with(&allowed) {
        cmd.args(["-I".into(), dir.display().to_string()]);
    }
    cmd.args(nix_instantiate_args(&abs));
    run_json(
        cmd,
        &format!(
            "nix-instantiate --eval --strict --json --readonly-mode (restricted, no import-from-derivation) {}",
            path.display()
        ),
    )
}

/// True when `nix-instantiate` (what [`eval_restricted`] runs) is on PATH.
pub fn nix_instantiate_available() -> bool {
    which("nix-instantiate").is_some()
}

/// The tool [`eval_with_nix`] runs for `path`: `nix` (`nix eval` of the flake's
/// `lib.network`) for the default declarations of a flake repo, else `nix-instantiate`.
pub fn nix_tool_for(path: &Path) -> &'static str {
    if flake_repo_for(path).is_some() {
        "nix"
    } else {
        "nix-instantiate"
    }
}

/// True when the tool [`eval_with_nix`] needs for `path` is on PATH.
pub fn nix_available_for(path: &Path) -> bool {
    which(nix_tool_for(path)).is_some()
}

pub(crate) fn which(tool: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Evaluates `path` with real Nix (`nix-instantiate --eval --strict --json`).
/// When `path` is `<repo>/nix/network.nix` of a repo with a `flake.nix`, evaluates
/// the flake's `lib.network` with `nix eval --json` instead.
pub fn eval_with_nix(path: &Path) -> Result<Value, Diagnostic> {
    if let Some(repo) = flake_repo_for(path) {
        return eval_flake(&repo);
    }
    let Some(tool) = which("nix-instantiate") else {
        return Err(missing("nix-instantiate"));
    };
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if let Err(e) = avalanche_fsread::open(&abs) {
        return Err(Diagnostic::error(&crate::rules::NIX_READ, e.to_string()));
    }
    let mut cmd = Command::new(tool);
    cmd.args(nix_instantiate_args(&abs));
    run_json(
        cmd,
        &format!("nix-instantiate --eval --strict --json {}", path.display()),
    )
}

/// The repo root when `path` is the default declarations of a flake repo that
/// defines `lib.network`.
fn flake_repo_for(path: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(path).ok()?;
    let nix_dir = abs.parent()?;
    if abs.file_name()? != "network.nix" || nix_dir.file_name()? != "nix" {
        return None;
    }
    let repo = nix_dir.parent()?;
    let flake = avalanche_fsread::read_text(&repo.join("flake.nix"), FLAKE_LIMIT).ok()?;
    // The flake engineer's contract: `lib.network` is the evaluated declarations.
    let defines_network =
        flake.contains("lib.network") || (flake.contains("lib =") && flake.contains("network ="));
    defines_network.then(|| repo.to_path_buf())
}

/// `flake.nix` is read (to see whether it defines `lib.network`) up to this size.
const FLAKE_LIMIT: u64 = 64 << 20;

fn eval_flake(repo: &Path) -> Result<Value, Diagnostic> {
    let Some(tool) = which("nix") else {
        return Err(missing("nix"));
    };
    let mut cmd = Command::new(tool);
    cmd.env("NIX_CONFIG", nix_config())
        .args(["eval", "--json"])
        .arg(format!("{}#lib.network", repo.display()));
    run_json(
        cmd,
        &format!("nix eval --json {}#lib.network", repo.display()),
    )
}

fn nix_config() -> String {
    let mut config = std::env::var("NIX_CONFIG").unwrap_or_default();
    if !config.contains("experimental-features") {
        if !config.is_empty() {
            config.push('\n');
        }
        config.push_str("experimental-features = nix-command flakes");
    }
    config
}

fn run_json(mut cmd: Command, shown: &str) -> Result<Value, Diagnostic> {
    let output = cmd.output().map_err(|e| {
        Diagnostic::error(
            &crate::rules::NIX_MISSING,
            format!("cannot run `{shown}`: {e}"),
        )
        .with_help("install nix or use `--eval static`")
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut d = Diagnostic::error(&crate::rules::NIX_EVAL_FAILED, format!("`{shown}` failed"))
            .with_help(
                "fix the error Nix reports above, or try `--eval static` for a located diagnostic",
            );
        for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
            d = d.with_note(line.to_string());
        }
        return Err(d);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(text.trim()).map_err(|e| {
        Diagnostic::error(
            &crate::rules::NIX_EVAL_FAILED,
            format!("`{shown}` printed something that is not JSON: {e}"),
        )
    })?;
    Ok(Value::from_json(&json))
}

fn missing(tool: &str) -> Diagnostic {
    Diagnostic::error(
        &crate::rules::NIX_MISSING,
        format!("`{tool}` is not on PATH"),
    )
    .with_help("install nix or use `--eval static`")
}
