//! The command line, declared with clap derive.
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Declare your network once in Nix; get validated Kubernetes manifests, SOPS
/// secrets and Tailscale configuration.
///
/// The declarations live in `nix/network.nix` (option `avalanche.network`).
/// Exit codes: 0 success, 1 findings (errors, drift), 2 could not run.
#[derive(Debug, Parser)]
#[command(
    name = "avalanche-net",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Examples:\n  avalanche-net check\n  avalanche-net build\n  avalanche-net eval nix/network.nix"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The repository root (default: the current directory's git root).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// The declarations file (default: `<repo>/nix/network.nix`).
    #[arg(long, global = true, value_name = "FILE")]
    pub network: Option<PathBuf>,
    /// Which evaluator reads the declarations, and whether real Nix may list the
    /// flake's hosts when the static scan of `flake.nix` cannot (`static`: never
    /// run Nix).
    #[arg(long, global = true, value_enum, default_value_t = EvalMode::Auto)]
    pub eval: EvalMode,
    /// How long real Nix may take to list the flake's hosts (`nix eval`, when the
    /// static scan cannot) before it is stopped and `check` says the list is unknown.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30)]
    pub nix_timeout: u64,
    /// When to use colours.
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
    /// The static reader; when the file leaves its subset and nix-instantiate is
    /// installed, nix-instantiate on that file only: restricted to the repository,
    /// read-only, no import-from-derivation (no build runs), with a note on stderr.
    /// When `flake.nix` computes its hosts in a way the static scan cannot follow,
    /// `nix eval --json .#nixosConfigurations --apply builtins.attrNames` lists them:
    /// offline, no lock file written, no import-from-derivation, no build, a reduced
    /// environment, killed after `--nix-timeout`.
    Auto,
    /// The built-in reader of a pure subset of Nix only, and the static scan of
    /// `flake.nix` only: never runs Nix (rules that need hosts it cannot see say so).
    Static,
    /// Real Nix: `nix eval .#lib.network` in a flake repository, else nix-instantiate.
    /// Evaluating the flake RUNS THE REPOSITORY'S CODE (builds included): use it on
    /// repositories you trust. The flake's hosts are listed as with `auto`.
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
    /// Draft the declarations file from what the repository already says.
    ///
    /// Reads the flake's hosts and the host directories (`hosts/`, `nixos/hosts/`,
    /// `machines/`, ...) with each host's `services.tailscale` settings and
    /// `tailscale up|set` flags (Tailscale nodes and roles); the `.sops.yaml`
    /// keys that no host and no creation rule uses (retired candidates, with
    /// their keys); the SOPS files' key names, never decrypted (secrets);
    /// hand-written gluetun Deployments and sidecars (proxies and sidecars, with
    /// their provider, countries, port forwarding and credentials Secret as
    /// `existingSecret`); workloads with `HTTP_PROXY` or `ALL_PROXY` (clients);
    /// the Argo CD repository and app-of-apps, or Flux (its bootstrap); the
    /// apps' layout (directories or flat manifests). Every
    /// entry says where it was found (file:line); what the files do not say is
    /// left commented out with `FILL IN`. Never overwrites a file: it refuses
    /// when the declarations file exists (see `--print`).
    #[command(
        after_help = "Exit: 0 written (or printed), 1 the declarations file exists (nothing written), 2 could not run.\n\nNext: review the file, then `avalanche-net check` and `avalanche-net diff` (a preview, even while check finds errors), then `avalanche-net secrets seal NAME` for each credentials secret `check` reports as `secret-file-missing` (the `.sops.yaml` recipients' public keys suffice), then `avalanche-net build`.\n\nExamples:\n  avalanche-net init\n  avalanche-net init --print | less\n  avalanche-net --network infra/network.nix init"
    )]
    Init(InitArgs),
    /// Print the evaluated declarations as JSON (as `nix-instantiate --eval --strict --json` would).
    #[command(
        after_help = "Exit: 0, 2 could not read or evaluate the file.\n\nExamples:\n  avalanche-net eval\n  avalanche-net eval nix/network.nix --eval static"
    )]
    Eval(EvalArgs),
    /// Validate the declarations and the whole repository.
    #[command(
        after_help = "Exit: 0 clean, 1 errors found, 2 could not run.\n\nExamples:\n  avalanche-net check\n  avalanche-net check --format json"
    )]
    Check(CheckArgs),
    /// Print the documentation of a diagnostic id: a `check` rule, or an error reading
    /// or decoding the declarations (without RULE: the list of every id).
    #[command(
        after_help = "Exit: 0, or 2 for an unknown rule.\n\nExamples:\n  avalanche-net explain retired-recipient\n  avalanche-net explain nix-syntax\n  avalanche-net explain"
    )]
    Explain(ExplainArgs),
    /// Write the generated manifests, docs and policy (refused while `check` finds
    /// errors, but for `--out DIR`: a preview, written anyway after a one-line count).
    #[command(
        after_help = "Exit: 0 written, 1 check errors (nothing written into the repository), 2 could not run.\n\nExamples:\n  avalanche-net build\n  avalanche-net build --out /tmp/preview --verbose"
    )]
    Build(BuildArgs),
    /// Show what `build` would change, as a unified diff (also while `check` finds
    /// errors: their count comes first, in one line).
    #[command(
        after_help = "Exit: 0 no drift, 1 drift (or declarations with errors), 2 could not run.\n\nExamples:\n  avalanche-net diff\n  avalanche-net diff --stat"
    )]
    Diff(DiffArgs),
    /// Show where the migration stands: each phase done, or what remains; money saved.
    #[command(
        after_help = "Exit: 0 (status reports, it does not judge; see `check` for that).\n\nExamples:\n  avalanche-net status\n  avalanche-net status --format json | jq '.phases[] | select(.done | not)'"
    )]
    Status(StatusArgs),
    /// Draw the network: Tailscale nodes and routes, egress paths, sidecars, NetworkPolicy fences.
    #[command(
        after_help = "Exit: 0, 2 could not run.\n\nExamples:\n  avalanche-net graph > network.mmd\n  avalanche-net graph --format dot | dot -Tsvg > network.svg"
    )]
    Graph(GraphArgs),
    /// SOPS secrets (age): seal declared secrets, show, verify, update keys.
    ///
    /// Age identities (to decrypt) are looked up as sops does: `SOPS_AGE_KEY_FILE`,
    /// `SOPS_AGE_KEY`, `~/.config/sops/age/keys.txt` (under `$XDG_CONFIG_HOME` when
    /// set), `SOPS_AGE_SSH_PRIVATE_KEY_FILE` or `~/.ssh/id_ed25519`. Recipients (to
    /// encrypt) come from the creation rules of `.sops.yaml`.
    #[command(
        after_help = "Exit: 0 success, 1 a file failed to verify or update, 2 could not run.\n\nExamples:\n  WIREGUARD_PRIVATE_KEY=... avalanche-net secrets seal protonvpn\n  SOPS_AGE_KEY_FILE=~/.config/sops/age/keys.txt avalanche-net secrets show protonvpn\n  avalanche-net secrets verify\n  avalanche-net secrets updatekeys --rotate"
    )]
    Secrets(SecretsArgs),
    /// Print a shell completion script on stdout.
    #[command(
        after_help = "Examples:\n  avalanche-net completions bash > ~/.local/share/bash-completion/completions/avalanche-net\n  avalanche-net completions zsh > ~/.zfunc/_avalanche-net\n  avalanche-net completions fish > ~/.config/fish/completions/avalanche-net.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout.
    #[command(
        after_help = "Examples:\n  avalanche-net man > avalanche-net.1\n  avalanche-net man | man -l -"
    )]
    Man,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Print the draft on stdout instead of writing the declarations file.
    #[arg(long)]
    pub print: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The Nix file to evaluate (default: the declarations file).
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The rule id, as `check` prints it (e.g. `retired-recipient`).
    pub rule: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
    pub format: DiagFormat,
    /// Which mentions of retired hosts to report: `named` (where a line names the
    /// host: an FQDN, an address, an ssh or URL host, a Nix attribute; one note per
    /// prose file) or `all` (every mention, bare words, prose and files marked
    /// `avalanche-net: history` included, as notes).
    #[arg(long, value_enum, default_value_t = Mentions::Named)]
    pub mentions: Mentions,
}

/// `check --mentions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mentions {
    /// Only mentions that name a host; prose grouped per file.
    Named,
    /// Every mention, as notes where they are weak evidence or history.
    All,
}

/// `status --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// A checklist for people.
    Human,
    /// One JSON object: `phases` and `savings`.
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
}

/// `graph --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart (renders on GitHub and GitLab).
    Mermaid,
    /// Graphviz DOT (for SVG or PNG: `| dot -Tsvg`).
    Dot,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
}

/// A shell `completions` can write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `build --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuildFormat {
    /// A summary line (per-file lines with `--verbose`).
    Human,
    /// One JSON object: `written`, `unchanged`, `pruned` (arrays of paths).
    Json,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Write under DIR instead of the repository root (paths inside stay the same).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite generated files that were edited by hand.
    #[arg(long)]
    pub force: bool,
    /// Flush the new files to disk before they are renamed into place, and the
    /// renames after (one `syncfs` each), so that even a power loss leaves the
    /// old tree or the new one. Off by default (as for `git checkout`): `syncfs`
    /// also waits for everything else unwritten on that filesystem. Without it, a
    /// crash of the machine may leave generated files empty; the next build
    /// rewrites them.
    #[arg(long)]
    pub sync: bool,
    /// Leave hand-written files alone. By default `build` wires what it generates:
    /// it adds `vpn-egress` to the `components:` of each client's and sidecar's
    /// kustomization, and the generated Application to the `resources:` of the
    /// app-of-apps kustomization (`kubernetes.argocd.registerIn`, or the one
    /// listing `*-app.yaml` files): one line each, every other byte kept, in the
    /// same all-or-nothing write. With `--no-wire`, `check` then reports what is
    /// left unwired, with the line to add. (`--out` never edits hand-written files.)
    #[arg(long)]
    pub no_wire: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = BuildFormat::Human)]
    pub format: BuildFormat,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Compare against DIR instead of the repository root.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only list the files that would change.
    #[arg(long)]
    pub stat: bool,
}

#[derive(Debug, Args)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub command: SecretsCommand,
}

/// `secrets` subcommands. Identities (to decrypt) are looked up as sops does:
/// `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY`, `~/.config/sops/age/keys.txt`
/// (`$XDG_CONFIG_HOME`), `SOPS_AGE_SSH_PRIVATE_KEY_FILE` or `~/.ssh/id_ed25519`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Encrypt a declared secret (`secrets.<NAME>`) to the recipients of its `.sops.yaml` rule.
    ///
    /// Each declared key's value comes from `--from FILE`, else the environment
    /// variable of the same name, else the current file's value, else a prompt
    /// (no echo, only on a terminal). Unchanged values and recipients leave the
    /// file byte for byte untouched.
    /// Existing values are decrypted with your age identities (see `secrets --help`).
    #[command(after_help = "Exit: 0 sealed (or unchanged), 2 could not run.

Examples:
  WIREGUARD_PRIVATE_KEY=... WIREGUARD_ADDRESSES=10.2.0.2/32 SHADOWSOCKS_PASSWORD=... \\
    avalanche-net secrets seal protonvpn
  avalanche-net secrets seal protonvpn --from old/qbittorrent-secret.sops.yaml \\
    --key stringData.WIREGUARD_PRIVATE_KEY")]
    Seal(SealArgs),
    /// Decrypt and print a declared secret or a SOPS file.
    ///
    /// The key to decrypt with is looked up as sops does: `SOPS_AGE_KEY_FILE`,
    /// `SOPS_AGE_KEY`, `~/.config/sops/age/keys.txt` (under `$XDG_CONFIG_HOME` when
    /// set), `SOPS_AGE_SSH_PRIVATE_KEY_FILE` or `~/.ssh/id_ed25519`.
    #[command(
        after_help = "Exit: 0 printed, 1 a value or the MAC does not hold (tampered), 2 could not run (no such
secret or file, no identity here can decrypt it: the message names the recipients that could).

Examples:
  avalanche-net secrets show protonvpn
  SOPS_AGE_KEY_FILE=tests/keys/demo.agekey avalanche-net secrets show protonvpn
  avalanche-net secrets show secrets/routy/tailscale.yaml"
    )]
    Show(ShowArgs),
    /// Check that SOPS files decrypt and their MAC holds (default: every SOPS file in the repo).
    #[command(
        after_help = "Exit: 0 all verified, 1 some file failed (tampered value, MAC mismatch, not a SOPS file),
2 none failed but some could not be checked here (no identity can decrypt them: the message
names the recipients that could, by their .sops.yaml anchors), or could not run.

Examples:
  avalanche-net secrets verify
  avalanche-net secrets verify secrets/routy/tailscale.yaml"
    )]
    Verify(VerifyArgs),
    /// Re-wrap data keys for the recipients of the current `.sops.yaml` rules (default: every SOPS file).
    #[command(
        name = "updatekeys",
        after_help = "Exit: 0 all updated or unchanged, 1 some file is damaged (tampered value, MAC mismatch),
2 some file could not be updated here (no identity can decrypt it, no creation rule), or could not run.

Examples:
  avalanche-net secrets updatekeys
  avalanche-net secrets updatekeys secrets/routy/tailscale.yaml --rotate"
    )]
    UpdateKeys(UpdateKeysArgs),
}

#[derive(Debug, Args)]
pub struct SealArgs {
    /// The declared secret (`secrets.<NAME>`).
    pub name: String,
    /// Take values from this existing SOPS file (decrypted with your identities).
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// With --from: which value to take, as a dotted path in FILE (e.g.
    /// `stringData.WIREGUARD_PRIVATE_KEY`, `data.wg-key` (base64-decoded)); `KEY=PATH`
    /// fills the declared key KEY. Repeatable. Without it, every declared key is looked
    /// up in FILE under `stringData`, `data` or the top level.
    #[arg(long, value_name = "PATH", requires = "from")]
    pub key: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A declared secret's name, or a path to a SOPS file.
    pub target: String,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Files to verify (default: every SOPS file in the repository).
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpdateKeysArgs {
    /// Files to update (default: every SOPS file in the repository).
    pub files: Vec<PathBuf>,
    /// Also make a new data key and re-encrypt every value.
    #[arg(long)]
    pub rotate: bool,
}
