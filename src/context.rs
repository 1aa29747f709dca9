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
            None => {
                find_repo_root(&std::env::current_dir().context("reading the current directory")?)
            }
        };
        Ok(Context { global, repo })
    }

    /// The declarations file: `--network`, else `<repo>/nix/network.nix`.
    pub fn network_file(&self) -> PathBuf {
        self.global
            .network
            .clone()
            .unwrap_or_else(|| self.repo.join("nix/network.nix"))
    }

    /// Evaluates a Nix file with the reader `--eval` asks for.
    ///
    /// `auto`: the static reader; when the only errors are `nix-unsupported` and
    /// `nix-instantiate` is on PATH, real Nix instead, with a note on stderr (unless
    /// `--quiet`) saying which construct left the subset and where.
    pub fn evaluate(&self, file: &Path, sources: &mut SourceMap) -> Result<Value, Vec<Diagnostic>> {
        match self.global.eval {
            EvalMode::Static => avalanche_nix::read_file(file, sources),
            EvalMode::Nix => avalanche_nix::eval_with_nix(file).map_err(|d| vec![d]),
            EvalMode::Auto => {
                let diagnostics = match avalanche_nix::read_file(file, sources) {
                    Ok(value) => return Ok(value),
                    Err(diagnostics) => diagnostics,
                };
                let Some(first) = avalanche_nix::only_unsupported(&diagnostics) else {
                    return Err(diagnostics);
                };
                if !avalanche_nix::nix_available_for(file) {
                    return Err(diagnostics);
                }
                if !self.global.quiet {
                    let construct =
                        avalanche_nix::unsupported_construct(first).unwrap_or("a construct");
                    let (shown, at) = match first.span {
                        Some(span) => {
                            let (line, col) = sources.line_col(span);
                            (
                                sources.path(span.file).display().to_string(),
                                format!(" at {line}:{col}"),
                            )
                        }
                        None => (file.display().to_string(), String::new()),
                    };
                    let tool = match avalanche_nix::nix_tool_for(file) {
                        "nix" => "nix eval",
                        other => other,
                    };
                    eprintln!(
                        "note: {shown} leaves the static subset ({construct}{at}); evaluated with {tool}"
                    );
                }
                avalanche_nix::eval_with_nix(file).map_err(|d| vec![d])
            }
        }
    }

    /// Reads the declarations file (`--network`, else `<repo>/nix/network.nix`) with
    /// the reader `--eval` asks for, and decodes it into the typed network.
    ///
    /// `Ok` holds the network and the warnings found on the way; `Err` every
    /// diagnostic when the file cannot be read or decoded (render them with
    /// `sources`, whose root is set to the repository so paths print relative to it).
    pub fn load_network(
        &self,
        sources: &mut SourceMap,
    ) -> Result<(avalanche_model::Network, Vec<Diagnostic>), Vec<Diagnostic>> {
        if sources.root().is_none() {
            sources.set_root(&self.repo);
        }
        let file = self.network_file();
        if !file.is_file() {
            let shown = file.strip_prefix(&self.repo).unwrap_or(&file);
            let help = "declare the network there (`avalanche.network = { … };`), or pass `--network FILE`";
            return Err(vec![
                Diagnostic::error(
                    "network-missing",
                    format!("{} does not exist", shown.display()),
                )
                .with_help(help),
            ]);
        }
        let value = self.evaluate(&file, sources)?;
        match avalanche_model::decode(&value) {
            (Some(network), diagnostics) => Ok((network, diagnostics)),
            (None, diagnostics) => Err(diagnostics),
        }
    }

    /// Whether stderr gets colours.
    pub fn color(&self) -> bool {
        match self.global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        }
    }

    /// Prints diagnostics to stderr in human form.
    pub fn print_diagnostics(&self, diagnostics: &[Diagnostic], sources: &SourceMap) {
        let text = avalanche_diag::render_human(
            diagnostics,
            sources,
            RenderOptions {
                color: self.color(),
            },
        );
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
