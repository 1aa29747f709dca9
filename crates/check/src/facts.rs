//! Repository facts: what `check` knows about the repository, built from the
//! tracked files' texts (read by the caller) by pure parsing.
//!
//! [`RepoFacts::build`] scans `flake.nix` for hosts, `.sops.yaml` for creation rules
//! and anchors, every SOPS file for its recipients, the Kubernetes tree for the
//! documents' kinds, images and NetworkPolicies, the apps' kustomizations for their
//! `components:`, and `tailscale/policy.hujson` for `tagOwners`. It runs in two
//! halves: [`RepoFacts::prepare`] needs only the files (so it can run while the
//! declarations are evaluated), [`PreparedFacts::finish`] the render plan's paths
//! and the Kubernetes directory.
//!
//! One submodule per format: the flake's hosts (`flake.rs`), `.sops.yaml`
//! (`sops_config.rs`), SOPS files' metadata (`sops_files.rs`), the Kubernetes
//! tree (`kube.rs`), the Tailscale policy (`policy.rs`); `lines.rs` turns
//! line numbers into byte offsets for all of them.
mod flake;
mod kube;
mod lines;
mod policy;
mod sops_config;
mod sops_files;

pub use kube::{
    FLUX_KUSTOMIZE_API, KubeDoc, MadeSecret, PodContainer, fast_reader_disagreement, is_flux_api,
    kube_docs_of,
};
pub(crate) use lines::LineIndex;
pub use sops_config::{RuleFacts, SopsFacts};
pub use sops_files::{SopsDocument, SopsFile, scan_sops_file};

use avalanche_nix::flake::FlakeScan;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One git-tracked file, as handed over by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// The text; `None` for binary (or non-UTF-8) files.
    pub text: Option<String>,
}

/// Everything the caller reads from disk for `check`.
#[derive(Debug, Clone, Default)]
pub struct RepoInput {
    /// The tracked files (all of them: directory rules need the binary ones too).
    pub files: Vec<RepoFile>,
    /// Repository-relative paths of the files the tool generates (the render plan).
    pub generated: Vec<String>,
    /// Repository-relative paths of the declaration files (`nix/network.nix` and
    /// its imports), where the retirement itself is written.
    pub declarations: Vec<String>,
    /// The Kubernetes directory (`kubernetes.dir`).
    pub kubernetes_dir: String,
}

/// A byte range in a repository file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    /// Repository-relative path.
    pub path: String,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A string found at a location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The text.
    pub value: String,
    /// Where.
    pub loc: Loc,
}

/// A problem reading a repository file (reported as `repo-file-invalid`, or
/// `sops-config-invalid` for `.sops.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// Where.
    pub loc: Loc,
    /// What.
    pub message: String,
}

/// Everything `check` knows about the repository.
#[derive(Debug, Clone, Default)]
pub struct RepoFacts {
    /// Tracked file paths, sorted.
    pub paths: Vec<String>,
    /// Texts of the tracked text files, by path.
    pub texts: HashMap<String, String>,
    /// Files the tool generates (render plan, declared secrets).
    pub generated: BTreeSet<String>,
    /// The declaration files.
    pub declarations: BTreeSet<String>,
    /// `flake.nix`, scanned (`None` when there is none).
    pub flake: Option<FlakeScan>,
    /// `secrets/<name>/` directories: name → first tracked file in it.
    pub secrets_dirs: BTreeMap<String, String>,
    /// `.sops.yaml` (`None` when absent or unreadable).
    pub sops: Option<SopsFacts>,
    /// SOPS files, sorted by path (see [`RepoFacts::is_sealed`]).
    pub sops_files: Vec<SopsFile>,
    /// Kubernetes documents under the Kubernetes directory.
    pub kube_docs: Vec<KubeDoc>,
    /// `tailscale/policy.hujson`'s `tagOwners` keys (`None` when there is no policy file).
    pub policy_tags: Option<BTreeSet<String>>,
    /// The Kubernetes directory.
    pub kubernetes_dir: String,
    /// Problems reading `.sops.yaml`.
    pub sops_problems: Vec<FileProblem>,
    /// Problems reading other files.
    pub problems: Vec<FileProblem>,
}

/// The path of the SOPS configuration.
pub const SOPS_CONFIG: &str = ".sops.yaml";
/// The path of the flake.
pub const FLAKE: &str = "flake.nix";
/// The path of the committed Tailscale policy.
pub const TAILSCALE_POLICY: &str = avalanche_model::layout::POLICY_PATH;

/// The first half of [`RepoFacts`]: what does not depend on the declarations'
/// network (see [`RepoFacts::prepare`]); [`PreparedFacts::finish`] adds the rest.
#[derive(Debug, Clone)]
pub struct PreparedFacts {
    facts: RepoFacts,
    /// The files, sorted by path, each path once.
    files: Vec<RepoFile>,
}

impl RepoFacts {
    /// Parses what `check` needs out of the tracked files. Never fails: files that
    /// do not parse become [`FileProblem`]s. The same as [`RepoFacts::prepare`]
    /// then [`PreparedFacts::finish`].
    pub fn build(input: RepoInput) -> RepoFacts {
        RepoFacts::prepare(input.files, input.declarations)
            .finish(input.generated, &input.kubernetes_dir)
    }

    /// The half of the facts that needs neither the render plan nor the
    /// network's settings, so it can run while the declarations are evaluated:
    /// the sorted paths, `flake.nix`'s hosts, `.sops.yaml`, every SOPS file's
    /// recipients, `tailscale/policy.hujson`'s tags, the `secrets/`
    /// directories. `declarations` are the declaration files (see
    /// [`RepoInput::declarations`]).
    pub fn prepare(mut files: Vec<RepoFile>, declarations: Vec<String>) -> PreparedFacts {
        let mut facts = RepoFacts {
            declarations: declarations.into_iter().collect(),
            ..RepoFacts::default()
        };
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);
        for file in &files {
            if let Some((name, _)) = file
                .path
                .strip_prefix("secrets/")
                .and_then(|rest| rest.split_once('/'))
            {
                facts
                    .secrets_dirs
                    .entry(name.to_owned())
                    .or_insert_with(|| file.path.clone());
            }
        }
        for file in &files {
            match &file.text {
                Some(text) => facts.prepare_file(&file.path, text),
                None if file.path == SOPS_CONFIG => facts.sops_problems.push(FileProblem {
                    loc: Loc {
                        path: SOPS_CONFIG.to_owned(),
                        start: 0,
                        end: 0,
                    },
                    message: "`.sops.yaml` is not UTF-8 text (a binary file, or another encoding): sops cannot read it either".into(),
                }),
                None => {}
            }
        }
        facts.paths = files.iter().map(|f| f.path.clone()).collect();
        PreparedFacts { facts, files }
    }
}

impl RepoFacts {
    /// What [`RepoFacts::prepare`] reads from one text file.
    fn prepare_file(&mut self, path: &str, text: &str) {
        if path == FLAKE {
            self.read_flake(path, text);
        } else if path == SOPS_CONFIG {
            self.read_sops_config(text);
        } else if path == TAILSCALE_POLICY {
            self.read_policy(text);
        }
        if let Some(sops_file) = scan_sops_file(path, text) {
            self.sops_files.push(sops_file);
        }
    }
}

impl PreparedFacts {
    /// True when there is a `flake.nix` whose hosts the static scan could not list:
    /// the caller may ask real Nix ([`PreparedFacts::adopt_flake_listing`]).
    pub fn flake_hosts_unknown(&self) -> bool {
        self.facts
            .flake
            .as_ref()
            .is_some_and(|scan| !scan.statically_complete())
    }

    /// The flake's hosts as real Nix listed them, or why it could not
    /// (see [`FlakeScan::adopt_nix_listing`]).
    pub fn adopt_flake_listing(&mut self, listing: Result<Vec<String>, String>) {
        if let Some(scan) = &mut self.facts.flake {
            scan.adopt_nix_listing(listing);
        }
    }

    /// Gives the file `path` (listed without a text) the text `text`, read later
    /// than the others: a large file read in bounded memory once the network said
    /// what to keep of it (its other lines blank, so line numbers hold).
    pub fn add_text(&mut self, path: &str, text: String) {
        let Ok(i) = self.files.binary_search_by(|f| f.path.as_str().cmp(path)) else {
            return;
        };
        self.facts.prepare_file(path, &text);
        self.facts.sops_files.sort_by(|a, b| a.path.cmp(&b.path));
        self.files[i].text = Some(text);
    }

    /// The other half of [`RepoFacts`], once the network is known: `generated`
    /// are the paths of the files the tool generates (see
    /// [`RepoInput::generated`]), `kubernetes_dir` the network's
    /// `kubernetes.dir`. Parses the hand-written Kubernetes YAML under it (the
    /// documents' kinds, images, labels, the kustomizations' `components:`).
    pub fn finish(self, generated: Vec<String>, kubernetes_dir: &str) -> RepoFacts {
        let PreparedFacts { mut facts, files } = self;
        facts.generated = generated.into_iter().collect();
        facts.kubernetes_dir = avalanche_model::layout::normalized(kubernetes_dir);
        let kube_prefix = match facts.kubernetes_dir.as_str() {
            "." => String::new(),
            dir => format!("{dir}/"),
        };
        let earlier_problems = facts.problems.len();
        // Files under `<chart>/templates/` next to a `Chart.yaml` are Go templates,
        // not YAML, until Helm renders them.
        let chart_templates: Vec<String> = files
            .iter()
            .filter_map(|f| f.path.strip_suffix("Chart.yaml"))
            .filter(|dir| dir.is_empty() || dir.ends_with('/'))
            .map(|dir| format!("{dir}templates/"))
            .collect();
        for file in &files {
            let Some(text) = &file.text else { continue };
            let path = file.path.as_str();
            // Generated files are the tool's own output: the rules that read the
            // Kubernetes tree are about what people wrote (and parsing is most of the cost).
            if !(path.ends_with(".yaml") || path.ends_with(".yml"))
                || facts.generated.contains(path)
                || chart_templates.iter().any(|t| path.starts_with(t.as_str()))
            {
                continue;
            }
            // Flux's own manifests often live outside `kubernetes.dir` (`flux
            // bootstrap` puts them in `clusters/<name>/`): they say what is applied
            // and decrypted, so they are read wherever they are.
            if path.starts_with(&kube_prefix) || text.contains(kube::FLUX_KUSTOMIZE_API) {
                facts.read_kube_file(path, text);
            }
        }
        if facts.problems.len() > earlier_problems {
            // In file order, as one pass over the files would have found them.
            facts.problems.sort_by(|a, b| a.loc.path.cmp(&b.loc.path));
        }
        facts.texts = files
            .into_iter()
            .filter_map(|f| f.text.map(|t| (f.path, t)))
            .collect();
        facts
    }
}

impl RepoFacts {
    /// The text of a tracked file.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.texts.get(path).map(String::as_str)
    }

    /// Whether `path` is tracked.
    pub fn is_tracked(&self, path: &str) -> bool {
        self.paths
            .binary_search_by(|p| p.as_str().cmp(path))
            .is_ok()
    }

    /// Whether `path` is a SOPS file (has SOPS metadata: sealed), as the one
    /// detector found it. `check` and `status` judge "sealed" by this alone.
    pub fn is_sealed(&self, path: &str) -> bool {
        self.sops_files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .is_ok()
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) fn input(files: &[(&str, &str)]) -> RepoInput {
        RepoInput {
            files: files
                .iter()
                .map(|(p, t)| RepoFile {
                    path: (*p).into(),
                    text: Some((*t).into()),
                })
                .collect(),
            kubernetes_dir: "kubernetes".into(),
            ..RepoInput::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::input;
    use super::*;

    #[test]
    fn dirs() {
        let facts = RepoFacts::build(input(&[
            ("hosts/vps/default.nix", "{}"),
            ("secrets/vps/a.yaml", "a: 1"),
        ]));
        assert_eq!(
            facts.secrets_dirs.get("vps").map(String::as_str),
            Some("secrets/vps/a.yaml")
        );
    }
}
