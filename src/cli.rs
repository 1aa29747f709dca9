//! The command line, declared with clap derive.
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Declare your network once in Nix; get validated Kubernetes manifests, SOPS
/// secrets and Tailscale configuration.
///
/// The declarations live in `nix/network.nix` (option `avalanche.network`).
/// Exit codes: 0 success, 1 findings (errors, drift), 2 could not run.
#[derive(Debug, Parser)]
#[command(name = "avalanche-net", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Examples:\n  avalanche-net check\n  avalanche-net build\n  avalanche-net eval nix/network.nix")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The repository root (default: the current directory's git root).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// The declarations file (default: `<repo>/nix/network.nix`).
    #[arg(long, global = true, value_name = "FILE")]
    pub network: Option<PathBuf>,
    /// Which evaluator reads the declarations: `static` (built in, no Nix needed),
    /// `nix` (real Nix), or `auto` (static; real Nix when the file leaves the static
    /// subset and `nix` is installed).
    #[arg(long, global = true, value_enum, default_value_t = EvalMode::Auto)]
    pub eval: EvalMode,
    /// When to use colours: `auto` (on a terminal, unless NO_COLOR is set), `always`, `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what is done.
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

/// `--eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalMode {
    /// Static first; real Nix when the file leaves the subset and nix is installed.
    Auto,
    /// The built-in static reader only.
    Static,
    /// Real Nix (`nix-instantiate`, or `nix eval` in a flake).
    Nix,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Output format of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagFormat {
    /// rustc-style text, grouped by file.
    Human,
    /// A JSON array of findings.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the evaluated declarations as JSON (as `nix-instantiate --eval --strict --json` would).
    #[command(after_help = "Examples:\n  avalanche-net eval\n  avalanche-net eval nix/network.nix --eval static")]
    Eval(EvalArgs),
    /// Validate the declarations and the whole repository.
    #[command(after_help = "Exit: 0 clean, 1 errors found, 2 could not run.\n\nExamples:\n  avalanche-net check\n  avalanche-net check --format json")]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The Nix file to evaluate (default: the declarations file).
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
    pub format: DiagFormat,
}
