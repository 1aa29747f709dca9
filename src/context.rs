//! What every command shares: where the repo is, how to read the declarations,
//! how to print diagnostics.
use crate::cli::{ColorChoice, EvalMode, GlobalArgs};
use anyhow::Context as _;
use avalanche_diag::{Diagnostic, RenderOptions, SourceMap};
use avalanche_nix::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub struct Context {
    pub global: GlobalArgs,
    /// The repository root.
    pub repo: PathBuf,
}

impl Context {
    pub fn new(global: GlobalArgs) -> anyhow::Result<Context> {
        let repo = match &global.repo {
            Some(dir) => dir.clone(),
            None => find_repo_root(&std::env::current_dir().context("reading the current directory")?),
        };
        Ok(Context { global, repo })
    }

    /// The declarations file: `--network`, else `<repo>/nix/network.nix`.
    pub fn network_file(&self) -> PathBuf {
        self.global.network.clone().unwrap_or_else(|| self.repo.join("nix/network.nix"))
    }

    /// Evaluates a Nix file with the reader `--eval` asks for.
    pub fn evaluate(&self, file: &Path, sources: &mut SourceMap) -> Result<Value, Vec<Diagnostic>> {
        match self.global.eval {
            EvalMode::Static => avalanche_nix::read_file(file, sources),
            EvalMode::Nix => avalanche_nix::eval_with_nix(file).map_err(|d| vec![d]),
            EvalMode::Auto => avalanche_nix::read_file(file, sources),
        }
    }

    /// Whether stderr gets colours.
    pub fn color(&self) -> bool {
        match self.global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
            }
        }
    }

    /// Prints diagnostics to stderr in human form.
    pub fn print_diagnostics(&self, diagnostics: &[Diagnostic], sources: &SourceMap) {
        let text = avalanche_diag::render_human(diagnostics, sources, RenderOptions { color: self.color() });
        eprint!("{text}");
    }
}

/// The nearest ancestor holding `.git`, or `dir` itself.
fn find_repo_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}
