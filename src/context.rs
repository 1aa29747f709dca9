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
    /// The repository root was guessed (no `--repo`, no `.git` above the current
    /// directory): the current directory stands in for it.
    pub repo_guessed: bool,
}

impl Context {
    pub fn new(global: GlobalArgs) -> anyhow::Result<Context> {
        let (repo, repo_guessed) = match &global.repo {
            Some(dir) => (dir.clone(), false),
            None => {
                let cwd = std::env::current_dir().context("reading the current directory")?;
                match find_repo_root(&cwd) {
                    Some(root) => (root, false),
                    None => (cwd, true),
                }
            }
        };
        Ok(Context {
            global,
            repo,
            repo_guessed,
        })
    }

    /// Fails (exit 2) when `--repo` names something that is not a directory: every
    /// path would otherwise be reported missing inside it, which hides the cause.
    pub fn check_repo(&self) -> anyhow::Result<()> {
        let Some(dir) = &self.global.repo else {
            return Ok(());
        };
        if dir.is_dir() {
            return Ok(());
        }
        let what = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        anyhow::bail!(
            "--repo {}: {what}\n  = help: pass the root of the repository that holds `nix/network.nix`, or leave `--repo` out to use the current directory's git root",
            dir.display()
        )
    }

    /// The `network-missing` error when the declarations file is not a readable
    /// file (absent, or a directory), else `None`.
    pub fn network_missing(&self) -> Option<Diagnostic> {
        let file = self.network_file();
        let shown = file.strip_prefix(&self.repo).unwrap_or(&file);
        match avalanche_fsread::open(&file) {
            Ok(_) => return None,
            Err(avalanche_fsread::ReadError::NotRegular { kind, .. }) if kind != "a directory" => {
                // `/dev/zero`, a FIFO: it exists, and reading it would never end.
                return Some(
                    Diagnostic::error(
                        &avalanche_nix::rules::NETWORK_MISSING,
                        format!("{} is {kind}, not a regular file", shown.display()),
                    )
                    .with_help(
                        "pass the declarations file itself (a Nix file) with `--network FILE`",
                    ),
                );
            }
            Err(e) if !e.is_not_found() && !file.is_dir() => {
                return Some(Diagnostic::error(
                    &avalanche_nix::rules::NETWORK_MISSING,
                    e.to_string(),
                ));
            }
            Err(_) => {}
        }
        if file.is_dir() {
            return Some(
                Diagnostic::error(
                    &avalanche_nix::rules::NETWORK_MISSING,
                    format!("{} is a directory, not a Nix file", shown.display()),
                )
                .with_help(format!(
                    "pass the declarations file itself, e.g. `--network {}`",
                    shown.join("network.nix").display()
                )),
            );
        }
        let mut diagnostic = Diagnostic::error(
            &avalanche_nix::rules::NETWORK_MISSING,
            format!("{} does not exist", shown.display()),
        );
        if self.repo_guessed
            && self.global.network.is_none()
            && let Some(bare) = self.repo.ancestors().find(|d| is_bare_repository(d))
        {
            diagnostic = diagnostic.with_note(format!(
                "{} is a bare git repository: it has no work tree, so no files to check",
                bare.display()
            ));
            diagnostic = diagnostic.with_help(
                "run avalanche-net in a clone with a work tree (`git clone` the bare repository, or `git worktree add`)",
            );
        } else if self.repo_guessed && self.global.network.is_none() {
            diagnostic = diagnostic.with_note(format!(
                "{} is not inside a git repository, so it stands in for the repository root",
                self.repo.display()
            ));
            diagnostic = diagnostic.with_help(
                "run avalanche-net inside your repository, or pass `--repo DIR` (or `--network FILE`)",
            );
        } else if let Some(given) = &self.global.network {
            // `--network` is relative to the current directory, not to `--repo`.
            let in_repo = self.repo.join(given);
            diagnostic = if given.is_relative() && in_repo.is_file() {
                diagnostic
                    .with_note("`--network` is relative to the current directory, not to `--repo`")
                    .with_help(format!("pass `--network {}`", in_repo.display()))
            } else {
                diagnostic.with_help("check the path given to `--network`")
            };
        } else {
            diagnostic = diagnostic.with_help(
                "declare the network there (`avalanche.network = { … };`), or pass `--network FILE`",
            );
        }
        Some(diagnostic)
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
    /// `nix-instantiate` is on PATH, real Nix on that file alone, restricted to the
    /// repository, read-only and without import-from-derivation (never the flake's
    /// `lib.network`: that runs the repository's code, builds included, and is only
    /// for an explicit `--eval nix`; the flake's host names are listed apart, offline
    /// and without builds, see `facts::FlakeHosts`).
    /// A note on stderr (even with `--quiet`) says that real Nix was used, and why.
    pub fn evaluate(&self, file: &Path, sources: &mut SourceMap) -> Result<Value, Vec<Diagnostic>> {
        self.evaluate_keeping(file, sources, avalanche_nix::keep_all)
    }

    /// [`Context::evaluate`]; the static reader forces only what `keep` wants.
    fn evaluate_keeping(
        &self,
        file: &Path,
        sources: &mut SourceMap,
        keep: avalanche_nix::Keep,
    ) -> Result<Value, Vec<Diagnostic>> {
        match self.global.eval {
            EvalMode::Static => avalanche_nix::read_file_keeping(file, sources, keep),
            EvalMode::Nix => avalanche_nix::eval_with_nix(file).map_err(|d| vec![d]),
            EvalMode::Auto => {
                let diagnostics = match avalanche_nix::read_file_keeping(file, sources, keep) {
                    Ok(value) => return Ok(value),
                    Err(diagnostics) => diagnostics,
                };
                let Some(first) = avalanche_nix::only_unsupported(&diagnostics) else {
                    return Err(diagnostics);
                };
                if !avalanche_nix::nix_instantiate_available() {
                    return Err(diagnostics);
                }
                let construct =
                    avalanche_nix::unsupported_construct(first).unwrap_or("a construct");
                let (shown, at) = match first.span {
                    Some(span) => {
                        let (line, col) = sources.line_col(span);
                        let path = sources.path(span.file);
                        let path = path.strip_prefix(&self.repo).unwrap_or(path);
                        (path.display().to_string(), format!(" at {line}:{col}"))
                    }
                    None => (
                        file.strip_prefix(&self.repo)
                            .unwrap_or(file)
                            .display()
                            .to_string(),
                        String::new(),
                    ),
                };
                eprintln!(
                    "note: {shown} leaves the static subset ({construct}{at}); evaluated with nix-instantiate (real Nix, on this file only: restricted to the repository, read-only, no import-from-derivation; `--eval nix` evaluates the flake)"
                );
                avalanche_nix::eval_restricted(file, &self.repo).map_err(|d| vec![d])
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
        if let Some(missing) = self.network_missing() {
            return Err(vec![missing]);
        }
        let file = self.network_file();
        // What decoding rejects unread (unknown attributes) is not evaluated.
        let value = self.evaluate_keeping(&file, sources, avalanche_model::decodes)?;
        match avalanche_model::decode_in(&value, &self.declarations_dir()) {
            (Some(mut network), diagnostics) => {
                crate::wire::detect_register_in(&self.repo, &mut network);
                Ok((network, diagnostics))
            }
            (None, diagnostics) => Err(diagnostics),
        }
    }

    /// The repository-relative directory of the declarations file (`.` when it is
    /// at the root or outside the repository): `kubernetes.dir` may not be it.
    pub fn declarations_dir(&self) -> String {
        let file = self.network_file();
        let dir = file.parent().unwrap_or(Path::new(""));
        let repo = self
            .repo
            .canonicalize()
            .unwrap_or_else(|_| self.repo.clone());
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        match dir.strip_prefix(&repo) {
            Ok(rel) => {
                let rel = rel.to_string_lossy();
                if rel.is_empty() {
                    ".".to_owned()
                } else {
                    rel.into_owned()
                }
            }
            Err(_) => ".".to_owned(),
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

/// Whether `dir` is a bare git repository (or a `.git` directory): `HEAD`, `objects/`
/// and `refs/` right in it.
fn is_bare_repository(dir: &Path) -> bool {
    dir.join("HEAD").is_file() && dir.join("objects").is_dir() && dir.join("refs").is_dir()
}

/// The nearest ancestor holding `.git`, if any.
fn find_repo_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}
