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
//! - [`eval_with_nix`]: runs real `nix` and reads its JSON (values have no spans).
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
//! Only [`read_file`], imports and [`eval_with_nix`] touch the file system.
#![deny(missing_docs)]

mod bridge;
mod eval;
pub mod flake;
mod scan;
mod strings;
mod syntax;
pub mod value;

pub use bridge::{eval_with_nix, nix_available_for, nix_instantiate_args, nix_tool_for};
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
    if let Ok(meta) = std::fs::metadata(path)
        && meta.len() > eval::MAX_FILE_BYTES
    {
        return Err(vec![eval::too_large(
            format!(
                "{} is {} bytes (the limit is {})",
                path.display(),
                meta.len(),
                eval::MAX_FILE_BYTES
            ),
            None,
        )]);
    }
    match std::fs::read_to_string(path) {
        Ok(text) => read_source(path, &text, sources),
        Err(e) => Err(vec![
            Diagnostic::error("nix-read", format!("cannot read {}: {e}", path.display()))
                .with_help("check the path, or pass the declarations file with `--network FILE`"),
        ]),
    }
}

/// Evaluates `text` as if it were the file at `path`: it is added to `sources`
/// under `path`, and `import ./x.nix` resolves relative to `path`'s directory.
pub fn read_source(
    path: &Path,
    text: &str,
    sources: &mut SourceMap,
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
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                evaluator.run(&owned_path, owned_text)
            }));
            let map = evaluator.take_sources();
            let _ = tx.send((result, map));
            drop(evaluator);
        });
    let failed = |path: &Path| {
        Diagnostic::error(
            "nix-internal",
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
            "nix-internal",
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
    if !errors.is_empty() && errors.iter().all(|d| d.rule == "nix-unsupported") {
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
