//! Reading Nix declarations into a [`Value`] that remembers where each part came from.
//!
//! Two readers produce the same [`Value`]:
//! - [`read_file`] / [`read_source`]: a static, lazy evaluator on `rnix` for a pure
//!   subset of Nix (literals, strings with every escape, `''…''` strings with Nix's
//!   indentation stripping, interpolation, attrsets with attr paths merged as Nix's
//!   parser merges them, `rec`, `let`, `inherit`, `inherit (e)`, lists, selection,
//!   `//`, `++`, `+ - * /`, unary minus, relative `import`, a top-level `{ ... }:`),
//!   exact to what `nix-instantiate --eval --strict --json` (Nix 2.8) prints, its
//!   errors included (duplicate attributes, undefined variables — reported before
//!   evaluating, as Nix does —, infinite recursion, type errors). Outside the subset
//!   it stops with a `nix-unsupported` diagnostic naming the construct, spanning it.
//! - [`eval_restricted`]: runs `nix-instantiate` on the file alone, restricted, read-only,
//!   without import-from-derivation (what `--eval auto` falls back to).
//! - [`eval_with_nix`]: runs real `nix` and reads its JSON (values have no spans); in a
//!   flake repository it evaluates the flake, which runs the repository's code.
//!
//! ```
//! use avalanche_diag::SourceMap;
//! use std::path::Path;
//! let mut sources = SourceMap::default();
//! let text = "let port = 8080; in { web = { inherit port; host = \"h\"; }; web.tls = true; }";
//! let value = avalanche_nix::read_source(Path::new("nix/network.nix"), text, &mut sources).unwrap();
//! assert_eq!(value.to_json_string(), r#"{"web":{"host":"h","port":8080,"tls":true}}"#);
//! let port = &value.as_attrs().unwrap()["web"].value.as_attrs().unwrap()["port"];
//! assert_eq!(sources.line_col(port.value.span.unwrap()), (1, 12)); // where 8080 is written
//! ```
//!
//! Any input, however hostile, gives a value or diagnostics: nesting is bounded
//! (`nix-too-deep`) and evaluation runs on a thread with a large stack.
//!
//! This crate knows nothing of the network schema; it must not interpret the value.
//! [`flake_eval::flake_host_names`] runs real Nix for the flake's host list when
//! [`flake::scan_flake`] cannot see it (read-only, offline, bounded in time).
//! Only [`read_file`], imports, [`eval_restricted`], [`eval_with_nix`] and
//! [`flake_eval`] touch the file system, reads always through `avalanche-fsread` (regular files, bounded).
#![deny(missing_docs)]

mod bridge;
mod eval;
pub mod flake;
pub mod flake_eval;
pub mod nixos;
pub mod rules;
mod scan;
mod strings;
mod syntax;
pub mod value;

pub use bridge::{
    eval_restricted, eval_with_nix, nix_available_for, nix_instantiate_args,
    nix_instantiate_available, nix_tool_for, restricted_args,
};
pub use syntax::UNSUPPORTED_HELP;
pub use value::{Attr, Value, ValueKind};

use avalanche_diag::{Diagnostic, SourceMap};
use std::path::Path;

/// Stack given to the thread that parses and evaluates: deep but legal input must
/// not overflow, and the depth limits keep use well below it.
const EVAL_STACK: usize = 256 * 1024 * 1024;

/// Reads and evaluates `path` with the static reader. Every file read is added to
/// `sources` (under its path as given, imports relative to it), so diagnostics can
/// be rendered. On failure, returns every diagnostic found.
pub fn read_file(path: &Path, sources: &mut SourceMap) -> Result<Value, Vec<Diagnostic>> {
    read_file_keeping(path, sources, keep_all)
}

/// Which attributes of the result a reader forces: given the attribute names from
/// the root of the value to an attribute, whether its value is wanted. An
/// attribute not wanted keeps its name (and where it is written) but holds `null`
/// unevaluated: a caller that will reject it anyway (an unknown attribute) does
/// not pay for evaluating it, however large it would be.
pub type Keep = fn(&[String]) -> bool;

/// The [`Keep`] that wants everything (what `nix-instantiate --strict` prints).
pub fn keep_all(_: &[String]) -> bool {
    true
}

/// [`read_file`], forcing only what `keep` wants.
pub fn read_file_keeping(
    path: &Path,
    sources: &mut SourceMap,
    keep: Keep,
) -> Result<Value, Vec<Diagnostic>> {
    match read_nix_file(path, sources) {
        Ok(text) => read_source_keeping(path, &text, sources, keep),
        Err(diagnostic) => Err(vec![diagnostic.with_help(
            "check the path, or pass the declarations file with `--network FILE`",
        )]),
    }
}

/// Reads a Nix file for the static reader through the shared bounded reader: a
/// regular file of at most [`eval::MAX_FILE_BYTES`], in UTF-8. Failures become a
/// diagnostic located in the file where that means something (an invalid byte, a
/// file too large: its first line), so every output format names the file.
// An error path taken once per file read; the diagnostic's size does not matter.
#[allow(clippy::result_large_err)]
pub(crate) fn read_nix_file(path: &Path, sources: &mut SourceMap) -> Result<String, Diagnostic> {
    use avalanche_fsread::ReadError;
    match avalanche_fsread::read_text(path, eval::MAX_FILE_BYTES) {
        Ok(text) => Ok(text),
        Err(ReadError::TooLarge { size, limit, .. }) => {
            let file = sources.add(path, String::new());
            Err(eval::too_large(
                format!("{} is {size} bytes (the limit is {limit})", path.display()),
                Some(avalanche_diag::Span {
                    file,
                    start: 0,
                    end: 0,
                }),
            ))
        }
        Err(ReadError::NotText { offset, .. }) => {
            // Shown up to the bad byte (each later invalid byte replaced), so the
            // snippet points at it.
            let bytes = avalanche_fsread::read(path, eval::MAX_FILE_BYTES).unwrap_or_default();
            let shown = String::from_utf8_lossy(&bytes).into_owned();
            let start = String::from_utf8_lossy(&bytes[..offset.min(bytes.len())]).len();
            let file = sources.add(path, shown);
            let at = u32::try_from(start).unwrap_or(u32::MAX);
            Err(Diagnostic::error(
                &crate::rules::NIX_READ,
                format!(
                    "{} is not UTF-8 text: Nix files must be UTF-8",
                    path.display()
                ),
            )
            .with_span(Some(avalanche_diag::Span {
                file,
                start: at,
                end: at.saturating_add(1),
            }))
            .with_help("save the file as UTF-8 (the byte at this place is not)"))
        }
        Err(e) => Err(Diagnostic::error(&crate::rules::NIX_READ, e.to_string())),
    }
}

/// Evaluates `text` as if it were the file at `path`: it is added to `sources`
/// under `path`, and `import ./x.nix` resolves relative to `path`'s directory.
pub fn read_source(
    path: &Path,
    text: &str,
    sources: &mut SourceMap,
) -> Result<Value, Vec<Diagnostic>> {
    read_source_keeping(path, text, sources, keep_all)
}

/// [`read_source`], forcing only what `keep` wants.
pub fn read_source_keeping(
    path: &Path,
    text: &str,
    sources: &mut SourceMap,
    keep: Keep,
) -> Result<Value, Vec<Diagnostic>> {
    // The evaluation runs on its own thread (a large stack for deep but legal input).
    // `sources` goes over to it, once it runs, and comes back with the files read
    // added (each text indexed once), a panic included: it is caught. The thread
    // drops the evaluation's internals (thunks, syntax trees) after handing the
    // result over, off the caller's time.
    let (to_thread, from_caller) = std::sync::mpsc::channel::<SourceMap>();
    let (tx, rx) = std::sync::mpsc::channel();
    let (owned_path, owned_text) = (path.to_path_buf(), text.to_string());
    let spawned = std::thread::Builder::new()
        .name("avalanche-nix-eval".into())
        .stack_size(EVAL_STACK)
        .spawn(move || {
            let Ok(map) = from_caller.recv() else {
                return;
            };
            let mut evaluator = eval::Evaluator::new(map);
            evaluator.keep = keep;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                evaluator.run(&owned_path, owned_text)
            }));
            let map = evaluator.take_sources();
            let _ = tx.send((result, map));
            drop(evaluator);
        });
    let failed = |path: &Path| {
        Diagnostic::error(
            &crate::rules::NIX_INTERNAL,
            format!(
                "the static reader failed on {} (a bug: please report it)",
                path.display()
            ),
        )
        .with_help("use `--eval nix` meanwhile")
    };
    if spawned.is_err() {
        sources.add(path, text);
        return Err(vec![Diagnostic::error(
            &crate::rules::NIX_INTERNAL,
            "cannot start the evaluation thread (out of memory?)",
        )]);
    }
    if let Err(back) = to_thread.send(std::mem::take(sources)) {
        *sources = back.0;
        sources.add(path, text);
        return Err(vec![failed(path)]);
    }
    match rx.recv() {
        Ok((result, map)) => {
            *sources = map;
            result.unwrap_or_else(|_| Err(vec![failed(path)]))
        }
        Err(_) => {
            sources.add(path, text);
            Err(vec![failed(path)])
        }
    }
}

/// If every error in `diagnostics` is `nix-unsupported`, the first one's construct
/// (e.g. `with`), for `--eval auto`'s note.
pub fn only_unsupported(diagnostics: &[Diagnostic]) -> Option<&Diagnostic> {
    let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() && errors.iter().all(|d| *d.rule == rules::NIX_UNSUPPORTED) {
        errors.first().copied()
    } else {
        None
    }
}

/// The construct a `nix-unsupported` diagnostic names (`with`, `if`, …).
pub fn unsupported_construct(diagnostic: &Diagnostic) -> Option<&str> {
    let rest = diagnostic.message.strip_prefix('`')?;
    rest.split_once("` is outside the static Nix subset")
        .map(|(what, _)| what)
}
