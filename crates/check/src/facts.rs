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
use avalanche_nix::flake::{FlakeScan, scan_flake};
use avalanche_sops::config::SopsConfig;
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
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

/// `.sops.yaml`, parsed, with byte locations.
#[derive(Debug, Clone)]
pub struct SopsFacts {
    /// The parsed configuration (lines are 1-based).
    pub config: SopsConfig,
    /// Per rule: its location (the `- ` item), its `path_regex` location,
    /// its recipients with locations, and the location of `key_groups`.
    pub rules: Vec<RuleFacts>,
    /// Scalar anchors: name, value and location of the `&name`.
    pub anchors: Vec<(String, String, Loc)>,
    /// Every line of the file that writes an age recipient literally: value and location.
    pub literal_keys: Vec<Located>,
}

/// Locations of one creation rule.
#[derive(Debug, Clone)]
pub struct RuleFacts {
    /// The rule item.
    pub loc: Loc,
    /// `path_regex`, if any.
    pub path_regex: Option<Located>,
    /// Its age recipients, where written in the rule (an alias use or a literal).
    pub recipients: Vec<Located>,
    /// `key_groups:` key, if any.
    pub key_groups: Option<Loc>,
}

/// A SOPS-encrypted file and its recipients (read from its metadata, not decrypted).
#[derive(Debug, Clone)]
pub struct SopsFile {
    /// Repository-relative path.
    pub path: String,
    /// `sops.age[].recipient`, with locations, of every document.
    pub recipients: Vec<Located>,
    /// The `sops` metadata key (of the first document).
    pub loc: Loc,
    /// Each YAML document's own metadata, in order (one entry for a
    /// single-document file): documents are judged one by one.
    pub documents: Vec<SopsDocument>,
}

/// The `sops` metadata of one document of a SOPS file.
#[derive(Debug, Clone)]
pub struct SopsDocument {
    /// `sops.age[].recipient`, with locations.
    pub recipients: Vec<Located>,
    /// The document's `sops` metadata key.
    pub loc: Loc,
}

/// One Kubernetes document under the Kubernetes directory.
#[derive(Debug, Clone)]
pub struct KubeDoc {
    /// Repository-relative path.
    pub path: String,
    /// `kind`.
    pub kind: Option<Located>,
    /// `apiVersion`.
    pub api_version: Option<Located>,
    /// `metadata.name`.
    pub name: Option<String>,
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    /// Every `image:` value in the document.
    pub images: Vec<Located>,
    /// Every Helm chart name (`chart:` values, kustomize `helmCharts[].name`, a
    /// `Chart.yaml`'s `dependencies[].name`).
    pub charts: Vec<Located>,
    /// `spec.group` of a CustomResourceDefinition.
    pub crd_group: Option<Located>,
    /// `components:` entries, for a Kustomization.
    pub components: Option<Vec<Located>>,
    /// `resources:` entries, for a Kustomization (`None` for other documents).
    pub resources: Option<Vec<Located>>,
    /// `spec.source.path` and `spec.sources[].path` of an Argo CD Application:
    /// the repository directories it deploys.
    pub source_paths: Vec<String>,
    /// `namespace:` of a Kustomization (applies to all its resources).
    pub kustomization_namespace: Option<String>,
    /// `spec.template.metadata.labels` of a workload, and where they are.
    pub pod_labels: Option<(BTreeMap<String, String>, Loc)>,
    /// A workload's pod containers (`initContainers`, then `containers`).
    pub containers: Vec<PodContainer>,
}

/// One container of a workload's pod template.
#[derive(Debug, Clone)]
pub struct PodContainer {
    /// `name`.
    pub name: Option<String>,
    /// `image`.
    pub image: Option<String>,
    /// Listed under `initContainers` (a native sidecar, or an init step).
    pub init: bool,
    /// The list item (its first line).
    pub loc: Loc,
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
    /// SOPS files.
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
pub const TAILSCALE_POLICY: &str = "tailscale/policy.hujson";

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
            let scan = scan_flake(text);
            for (offset, message) in &scan.errors {
                let message = if scan.too_deep {
                    format!("`flake.nix` cannot be read: {message}")
                } else {
                    format!("`flake.nix` has a syntax error: {message}")
                };
                self.problems.push(FileProblem {
                    loc: Loc {
                        path: path.to_owned(),
                        start: *offset,
                        end: *offset,
                    },
                    message,
                });
            }
            self.flake = Some(scan);
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
            if path.starts_with(&kube_prefix)
                && (path.ends_with(".yaml") || path.ends_with(".yml"))
                && !facts.generated.contains(path)
                && !chart_templates.iter().any(|t| path.starts_with(t.as_str()))
            {
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
    fn read_sops_config(&mut self, text: &str) {
        let lines = LineIndex::new(text);
        let config = match SopsConfig::parse(text) {
            Ok(config) => config,
            Err(err) => {
                let line = match &err {
                    avalanche_sops::Error::Syntax { line, .. }
                    | avalanche_sops::Error::Config { line, .. } => *line,
                    avalanche_sops::Error::ShamirUnsupported { line, .. } => *line,
                    _ => 1,
                };
                let (start, end) = lines.trimmed_line(text, line);
                self.sops_problems.push(FileProblem {
                    loc: Loc {
                        path: SOPS_CONFIG.to_owned(),
                        start,
                        end,
                    },
                    message: format!("`.sops.yaml` cannot be read: {err}"),
                });
                return;
            }
        };
        let loc = |start: usize, end: usize| Loc {
            path: SOPS_CONFIG.to_owned(),
            start,
            end,
        };
        let at = |line: usize, needle: &str| {
            let (s, e) = lines.find_in_line(text, line, needle);
            loc(s, e)
        };
        let mut rules = Vec::new();
        for (i, rule) in config.rules.iter().enumerate() {
            let next_line = config.rules.get(i + 1).map_or(usize::MAX, |r| r.line);
            let recipients = rule
                .age
                .iter()
                .map(|(value, line)| {
                    // An alias use (`*host_x`) is shown where it is written.
                    let alias = config
                        .anchors
                        .iter()
                        .find(|(_, v, _)| v == value)
                        .map(|(n, _, _)| format!("*{n}"));
                    let (s, e) = lines.find_in_line(text, *line, value);
                    let (s, e) = match &alias {
                        Some(a) if s == e || !text[s..e].contains(value.as_str()) => {
                            lines.find_in_line(text, *line, a)
                        }
                        _ => (s, e),
                    };
                    Located {
                        value: value.clone(),
                        loc: loc(s, e),
                    }
                })
                .collect();
            let key_groups = (rule.key_groups > 0)
                .then(|| lines.find_after(text, rule.line, next_line, "key_groups"))
                .flatten()
                .map(|(s, e)| loc(s, e));
            // The item's own location: its first line, trimmed (from the `- `).
            let (item_start, item_end) = lines.trimmed_line(text, rule.line);
            rules.push(RuleFacts {
                loc: loc(item_start, item_end),
                path_regex: rule.path_regex.as_ref().map(|(re, line)| {
                    let (s, e) = lines.find_in_line(text, *line, re);
                    Located {
                        value: re.clone(),
                        loc: loc(s, e),
                    }
                }),
                recipients,
                key_groups,
            });
        }
        let anchors = config
            .anchors
            .iter()
            .map(|(name, value, line)| {
                (name.clone(), value.clone(), at(*line, &format!("&{name}")))
            })
            .collect();
        let literal_keys = text
            .lines()
            .enumerate()
            .flat_map(|(i, line)| {
                let base = lines.starts[i];
                find_age_keys(line)
                    .into_iter()
                    .map(move |(s, e)| (i, base + s, base + e))
            })
            .map(|(_, s, e)| Located {
                value: text[s..e].to_owned(),
                loc: loc(s, e),
            })
            .collect();
        self.sops = Some(SopsFacts {
            config,
            rules,
            anchors,
            literal_keys,
        });
    }

    fn read_policy(&mut self, text: &str) {
        let json = strip_hujson(text);
        match serde_json::from_str::<serde_json::Value>(&json) {
            Ok(value) => {
                let tags = value
                    .get("tagOwners")
                    .and_then(|t| t.as_object())
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                self.policy_tags = Some(tags);
            }
            Err(err) => {
                let lines = LineIndex::new(text);
                let (start, end) = lines.trimmed_line(text, err.line());
                self.problems.push(FileProblem {
                    loc: Loc {
                        path: TAILSCALE_POLICY.to_owned(),
                        start,
                        end,
                    },
                    message: format!("`{TAILSCALE_POLICY}` is not valid HuJSON: {err}"),
                });
            }
        }
    }

    fn read_kube_file(&mut self, path: &str, text: &str) {
        if !self.read_kube_file_fast(path, text) {
            self.read_kube_file_saphyr(path, text);
        }
    }

    fn read_kube_file_saphyr(&mut self, path: &str, text: &str) {
        // From the `&str` itself, not a `char` iterator (what `load_from_str` uses):
        // the same documents, spans and errors, read several times faster.
        let docs =
            match MarkedYaml::load_from_parser(&mut saphyr_parser::Parser::new_from_str(text)) {
                Ok(docs) => docs,
                Err(err) => {
                    let lines = LineIndex::new(text);
                    let (start, end) = lines.trimmed_line(text, err.marker().line());
                    self.problems.push(FileProblem {
                        loc: Loc {
                            path: path.to_owned(),
                            start,
                            end,
                        },
                        message: format!("`{path}` is not valid YAML: {}", err.info()),
                    });
                    return;
                }
            };
        let lines = LineIndex::new(text);
        let view = SaphyrView {
            text,
            lines: &lines,
        };
        let docs: Vec<&MarkedYaml<'_>> = docs.iter().filter(|d| d.data.is_mapping()).collect();
        kube_docs(&view, &docs, path, &mut self.kube_docs);
    }

    /// Reads a Kubernetes file with the fast reader, when it can.
    fn read_kube_file_fast(&mut self, path: &str, text: &str) -> bool {
        let Some(docs) = crate::kube_yaml::load(text) else {
            return false;
        };
        let view = FastView {
            text,
            gave_up: std::cell::Cell::new(false),
        };
        let docs: Vec<&crate::kube_yaml::Node<'_>> = docs.iter().collect();
        let mut out = Vec::new();
        kube_docs(&view, &docs, path, &mut out);
        if view.gave_up.get() {
            return false;
        }
        self.kube_docs.extend(out);
        true
    }

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
}

fn get<'a, 'i>(node: &'a MarkedYaml<'i>, key: &str) -> Option<&'a MarkedYaml<'i>> {
    node.data.as_mapping_get(key)
}

fn scalar(node: &MarkedYaml<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Tagged(_, inner) => scalar(inner),
        _ => None,
    }
}

/// What the Kubernetes rules read from a YAML tree, whichever reader built it.
trait View {
    type Node;
    fn get<'n>(&self, node: &'n Self::Node, key: &str) -> Option<&'n Self::Node>;
    /// A scalar's text, whatever its resolved type.
    fn scalar(&self, node: &Self::Node) -> Option<String>;
    fn items<'n>(&self, node: &'n Self::Node) -> Option<&'n [Self::Node]>;
    /// A mapping's entries (none for anything else).
    fn entries<'n>(&self, node: &'n Self::Node) -> Vec<(&'n Self::Node, &'n Self::Node)>;
    fn is_mapping(&self, node: &Self::Node) -> bool;
    /// Byte offsets of the node's start and end.
    fn range(&self, node: &Self::Node) -> (usize, usize);
    /// Byte offset of the end of the line where the node starts.
    fn line_end(&self, node: &Self::Node) -> usize;
}

struct SaphyrView<'a> {
    text: &'a str,
    lines: &'a LineIndex,
}

impl<'a> View for SaphyrView<'a> {
    type Node = MarkedYaml<'a>;

    fn get<'n>(&self, node: &'n Self::Node, key: &str) -> Option<&'n Self::Node> {
        get(node, key)
    }

    fn scalar(&self, node: &Self::Node) -> Option<String> {
        scalar(node)
    }

    fn items<'n>(&self, node: &'n Self::Node) -> Option<&'n [Self::Node]> {
        node.data.as_vec().map(Vec::as_slice)
    }

    fn entries<'n>(&self, node: &'n Self::Node) -> Vec<(&'n Self::Node, &'n Self::Node)> {
        match &node.data {
            YamlData::Mapping(m) => m.iter().collect(),
            _ => Vec::new(),
        }
    }

    fn is_mapping(&self, node: &Self::Node) -> bool {
        matches!(node.data, YamlData::Mapping(_))
    }

    fn range(&self, node: &Self::Node) -> (usize, usize) {
        let start = self
            .lines
            .offset(self.text, node.span.start.line(), node.span.start.col());
        let end = self
            .lines
            .offset(self.text, node.span.end.line(), node.span.end.col());
        (start, end)
    }

    fn line_end(&self, node: &Self::Node) -> usize {
        self.lines.line(self.text, node.span.start.line()).1
    }
}

/// The fast reader's tree; reading a block scalar sets `gave_up`.
struct FastView<'a> {
    text: &'a str,
    gave_up: std::cell::Cell<bool>,
}

impl<'a> View for FastView<'a> {
    type Node = crate::kube_yaml::Node<'a>;

    fn get<'n>(&self, node: &'n Self::Node, key: &str) -> Option<&'n Self::Node> {
        use crate::kube_yaml::Node;
        match node {
            Node::Map(entries, _) => entries
                .iter()
                .find(|(k, _)| matches!(k, Node::Scalar(Scalar::String(s), _, _) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn scalar(&self, node: &Self::Node) -> Option<String> {
        use crate::kube_yaml::Node;
        match node {
            Node::Scalar(s, _, _) => match s {
                Scalar::String(s) => Some(s.to_string()),
                Scalar::Integer(i) => Some(i.to_string()),
                Scalar::Boolean(b) => Some(b.to_string()),
                Scalar::FloatingPoint(f) => Some(f.to_string()),
                Scalar::Null => None,
            },
            Node::Opaque => {
                self.gave_up.set(true);
                None
            }
            _ => None,
        }
    }

    fn items<'n>(&self, node: &'n Self::Node) -> Option<&'n [Self::Node]> {
        match node {
            crate::kube_yaml::Node::Seq(items, _) => Some(items),
            _ => None,
        }
    }

    fn entries<'n>(&self, node: &'n Self::Node) -> Vec<(&'n Self::Node, &'n Self::Node)> {
        match node {
            crate::kube_yaml::Node::Map(entries, _) => {
                entries.iter().map(|(k, v)| (k, v)).collect()
            }
            _ => Vec::new(),
        }
    }

    fn is_mapping(&self, node: &Self::Node) -> bool {
        matches!(node, crate::kube_yaml::Node::Map(..))
    }

    fn range(&self, node: &Self::Node) -> (usize, usize) {
        use crate::kube_yaml::Node;
        match node {
            Node::Map(_, start) | Node::Seq(_, start) => (*start, *start),
            Node::Scalar(_, start, end) => (*start, *end),
            Node::Opaque => {
                self.gave_up.set(true);
                (0, 0)
            }
        }
    }

    fn line_end(&self, node: &Self::Node) -> usize {
        let (start, _) = self.range(node);
        self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |n| start + n)
    }
}

/// A scalar and where it is.
fn located<V: View>(view: &V, path: &str, node: &V::Node) -> Option<Located> {
    let value = view.scalar(node)?;
    let (start, end) = view.range(node);
    Some(Located {
        value,
        loc: Loc {
            path: path.to_owned(),
            start,
            end: end.max(start),
        },
    })
}

/// Collects `image:` and `chart:` values anywhere, kustomize `helmCharts[].name` and
/// a `Chart.yaml`'s `dependencies[].name`.
fn walk<V: View>(view: &V, path: &str, node: &V::Node, out: &mut KubeDoc) {
    if let Some(items) = view.items(node) {
        items.iter().for_each(|i| walk(view, path, i, out));
        return;
    }
    for (k, v) in view.entries(node) {
        match view.scalar(k).as_deref() {
            Some("image") => out.images.extend(located(view, path, v)),
            Some("chart") => out.charts.extend(located(view, path, v)),
            // A chart's own dependencies (`Chart.yaml`): how an operator is often installed.
            Some("helmCharts") | Some("dependencies")
                if view.items(v).is_some()
                    && (view.scalar(k).as_deref() == Some("helmCharts")
                        || path.ends_with("Chart.yaml")) =>
            {
                if let Some(items) = view.items(v) {
                    out.charts.extend(
                        items
                            .iter()
                            .filter_map(|i| view.get(i, "name"))
                            .filter_map(|n| located(view, path, n)),
                    );
                }
            }
            _ => {}
        }
        walk(view, path, v, out);
    }
}

/// The documents (mappings) of one Kubernetes file.
fn kube_docs<V: View>(view: &V, docs: &[&V::Node], path: &str, out: &mut Vec<KubeDoc>) {
    let is_kustomization =
        path.ends_with("/kustomization.yaml") || path.ends_with("/kustomization.yml");
    for &doc in docs {
        let mut kd = KubeDoc {
            path: path.to_owned(),
            kind: view.get(doc, "kind").and_then(|n| located(view, path, n)),
            api_version: view
                .get(doc, "apiVersion")
                .and_then(|n| located(view, path, n)),
            name: view
                .get(doc, "metadata")
                .and_then(|m| view.get(m, "name"))
                .and_then(|n| view.scalar(n)),
            namespace: view
                .get(doc, "metadata")
                .and_then(|m| view.get(m, "namespace"))
                .and_then(|n| view.scalar(n)),
            images: Vec::new(),
            charts: Vec::new(),
            crd_group: None,
            components: None,
            resources: None,
            source_paths: Vec::new(),
            kustomization_namespace: None,
            pod_labels: None,
            containers: Vec::new(),
        };
        walk(view, path, doc, &mut kd);
        let kind = kd.kind.as_ref().map(|k| k.value.as_str());
        if kind == Some("CustomResourceDefinition") {
            kd.crd_group = view
                .get(doc, "spec")
                .and_then(|s| view.get(s, "group"))
                .and_then(|n| located(view, path, n));
        }
        if matches!(kind, Some("Deployment" | "StatefulSet" | "DaemonSet")) {
            let labels = view
                .get(doc, "spec")
                .and_then(|s| view.get(s, "template"))
                .and_then(|t| view.get(t, "metadata"));
            let labels_node = labels.and_then(|m| view.get(m, "labels"));
            let map: BTreeMap<String, String> = match labels_node {
                Some(n) if view.is_mapping(n) => view
                    .entries(n)
                    .into_iter()
                    .filter_map(|(k, v)| Some((view.scalar(k)?, view.scalar(v)?)))
                    .collect(),
                _ => BTreeMap::new(),
            };
            let at = labels_node
                .or(labels)
                .or_else(|| view.get(doc, "spec"))
                .unwrap_or(doc);
            let (start, _) = view.range(at);
            let end = view.line_end(at);
            kd.pod_labels = Some((
                map,
                Loc {
                    path: path.to_owned(),
                    start,
                    end: end.max(start),
                },
            ));
            let pod = view
                .get(doc, "spec")
                .and_then(|s| view.get(s, "template"))
                .and_then(|t| view.get(t, "spec"));
            for (key, init) in [("initContainers", true), ("containers", false)] {
                let items = pod
                    .and_then(|p| view.get(p, key))
                    .and_then(|l| view.items(l))
                    .unwrap_or_default();
                for item in items {
                    let (start, _) = view.range(item);
                    let field = |k: &str| view.get(item, k).and_then(|n| view.scalar(n));
                    kd.containers.push(PodContainer {
                        name: field("name"),
                        image: field("image"),
                        init,
                        loc: Loc {
                            path: path.to_owned(),
                            start,
                            end: view.line_end(item).max(start),
                        },
                    });
                }
            }
        }
        if kind == Some("Application") {
            let spec = view.get(doc, "spec");
            let single = spec.and_then(|s| view.get(s, "source"));
            let many = spec
                .and_then(|s| view.get(s, "sources"))
                .and_then(|s| view.items(s))
                .unwrap_or_default();
            kd.source_paths = single
                .into_iter()
                .chain(many)
                .filter_map(|s| view.get(s, "path").and_then(|p| view.scalar(p)))
                .collect();
        }
        if is_kustomization && (kind.is_none() || kind == Some("Kustomization")) {
            // A list's scalar entries (none when the key is absent).
            let entries = |key: &str| -> Vec<Located> {
                view.get(doc, key)
                    .and_then(|c| view.items(c))
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|n| located(view, path, n))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            kd.resources = Some(entries("resources"));
            kd.kustomization_namespace = view.get(doc, "namespace").and_then(|n| view.scalar(n));
            kd.components = Some(entries("components"));
        }
        out.push(kd);
    }
}

/// A SOPS file's recipients, by a line scan of its metadata (YAML or JSON): no
/// YAML parse, so thousands of files stay fast. `None` when `text` has no SOPS metadata.
/// A YAML file of several documents (`---` lines) is scanned document by document.
pub fn scan_sops_file(path: &str, text: &str) -> Option<SopsFile> {
    let mut documents = Vec::new();
    if path.ends_with(".json") {
        documents.extend(scan_sops_document(path, text, 0));
    } else {
        for (start, end) in yaml_documents(text) {
            documents.extend(scan_sops_document(path, &text[..end], start));
        }
    }
    let first = documents.first()?;
    Some(SopsFile {
        path: path.to_owned(),
        recipients: documents
            .iter()
            .flat_map(|d| d.recipients.iter().cloned())
            .collect(),
        loc: first.loc.clone(),
        documents,
    })
}

/// Byte ranges of the YAML documents of `text`, split at `---` lines (a
/// document start marker, alone or followed by a space or comment).
fn yaml_documents(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for pos in memchr::memmem::find_iter(text.as_bytes(), b"---") {
        if pos != 0 && text.as_bytes()[pos - 1] != b'\n' {
            continue;
        }
        let after = text.as_bytes().get(pos + 3).copied();
        if !matches!(after, None | Some(b'\n' | b'\r' | b' ' | b'\t')) {
            continue;
        }
        if pos > start {
            out.push((start, pos));
        }
        start = pos;
    }
    out.push((start, text.len()));
    out
}

/// The `sops` metadata of the document of `text` that starts at `from`.
fn scan_sops_document(path: &str, text: &str, from: usize) -> Option<SopsDocument> {
    use memchr::memmem;
    let doc = &text[from..];
    let (meta_start, meta_end) = if let Some(pos) = find_line_start(doc, "sops:") {
        (from + pos, from + pos + "sops:".len())
    } else if path.ends_with(".json") {
        let pos = memmem::find(doc.as_bytes(), b"\"sops\":")?;
        (from + pos, from + pos + "\"sops\"".len())
    } else {
        return None;
    };
    let meta = &text[meta_start..];
    let has = |needle: &str| memmem::find(meta.as_bytes(), needle.as_bytes()).is_some();
    if !(has("mac") && (has("lastmodified") || has("version"))) {
        return None;
    }
    let mut recipients = Vec::new();
    // Only lines holding `recipient` can hold one: visit those, each once, in order.
    let mut next_line = 0;
    for hit in memmem::find_iter(meta.as_bytes(), b"recipient") {
        if hit < next_line {
            continue;
        }
        let line_start = meta[..hit].rfind('\n').map_or(0, |n| n + 1);
        let line_end =
            memchr::memchr(b'\n', &meta.as_bytes()[hit..]).map_or(meta.len(), |n| hit + n + 1);
        next_line = line_end;
        let line = &meta[line_start..line_end];
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        let rest = trimmed
            .strip_prefix("recipient:")
            .or_else(|| trimmed.strip_prefix("\"recipient\":"))
            .map(str::trim);
        if let Some(rest) = rest {
            let value = rest
                .trim_end_matches(',')
                .trim()
                .trim_matches(|c| c == '"' || c == '\'');
            if !value.is_empty() {
                let start = meta_start + line_start + line.find(value).unwrap_or(0);
                recipients.push(Located {
                    value: value.to_owned(),
                    loc: Loc {
                        path: path.to_owned(),
                        start,
                        end: start + value.len(),
                    },
                });
            }
        }
    }
    Some(SopsDocument {
        recipients,
        loc: Loc {
            path: path.to_owned(),
            start: meta_start,
            end: meta_end,
        },
    })
}

/// Byte offset of a line that starts with `prefix` and has nothing else but
/// whitespace or a comment after it.
fn find_line_start(text: &str, prefix: &str) -> Option<usize> {
    for pos in memchr::memmem::find_iter(text.as_bytes(), prefix.as_bytes()) {
        if pos != 0 && text.as_bytes()[pos - 1] != b'\n' {
            continue;
        }
        let after = pos + prefix.len();
        let end =
            memchr::memchr(b'\n', &text.as_bytes()[after..]).map_or(text.len(), |n| after + n + 1);
        let rest = text[after..end].trim();
        if rest.is_empty() || rest.starts_with('#') {
            return Some(pos);
        }
    }
    None
}

/// Byte ranges of `age1…` recipients written in a line (outside comments).
fn find_age_keys(line: &str) -> Vec<(usize, usize)> {
    let code = match line.find(" #") {
        Some(p) => &line[..p],
        None if line.trim_start().starts_with('#') => "",
        None => line,
    };
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = code[i..].find("age1") {
        let start = i + p;
        let boundary = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let end = code[start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(code.len(), |n| start + n);
        if boundary && end - start > 20 {
            out.push((start, end));
        }
        i = end.max(start + 4);
    }
    out
}

/// HuJSON → JSON: drops `//` and `/* */` comments and trailing commas, keeping
/// line breaks so JSON error lines stay right.
pub fn strip_hujson(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '/' if chars.peek() == Some(&'/') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                    }
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    // Trailing commas: `,` followed by whitespace and `}` or `]`.
    let bytes: Vec<char> = out.chars().collect();
    let mut result = String::with_capacity(out.len());
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if c == '\\' && i + 1 < bytes.len() {
                result.push(c);
                result.push(bytes[i + 1]);
                i += 2;
                continue;
            }
            if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = bytes[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                i += 1;
                continue;
            }
        }
        result.push(c);
        i += 1;
    }
    result
}

/// Line starts of a text, to turn (line, column) into byte offsets.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// Byte range of the 1-based `line`, without its newline.
    fn line(&self, text: &str, line: usize) -> (usize, usize) {
        let idx = line.saturating_sub(1).min(self.starts.len() - 1);
        let start = self.starts[idx].min(text.len());
        let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
        (start, end)
    }

    /// Byte offset of 1-based `line`, 0-based character `col`.
    pub(crate) fn offset(&self, text: &str, line: usize, col: usize) -> usize {
        let (start, end) = self.line(text, line);
        text[start..end]
            .char_indices()
            .nth(col)
            .map_or(end, |(i, _)| start + i)
    }

    /// The line without its leading and trailing whitespace.
    pub(crate) fn trimmed_line(&self, text: &str, line: usize) -> (usize, usize) {
        let (start, end) = self.line(text, line);
        let s = &text[start..end];
        let lead = s.len() - s.trim_start().len();
        let trail = s.len() - s.trim_end().len();
        if lead + trail >= s.len() {
            (start, start)
        } else {
            (start + lead, end - trail)
        }
    }

    /// `needle` in the 1-based `line`, else the trimmed line.
    pub(crate) fn find_in_line(&self, text: &str, line: usize, needle: &str) -> (usize, usize) {
        let (start, end) = self.line(text, line);
        match text[start..end].find(needle) {
            Some(p) if !needle.is_empty() => (start + p, start + p + needle.len()),
            _ => self.trimmed_line(text, line),
        }
    }

    /// The first `needle` on lines `from..until` (1-based).
    fn find_after(
        &self,
        text: &str,
        from: usize,
        until: usize,
        needle: &str,
    ) -> Option<(usize, usize)> {
        let mut line = from;
        while line < until && line <= self.starts.len() {
            let (start, end) = self.line(text, line);
            if let Some(p) = text[start..end].find(needle) {
                return Some((start + p, start + p + needle.len()));
            }
            line += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(files: &[(&str, &str)]) -> RepoInput {
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

    #[test]
    fn sops_file_recipients_with_locations() {
        let text = "a: ENC[x]\nsops:\n    age:\n        - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqq\n          enc: |\n    mac: ENC[y]\n    lastmodified: \"2025-01-01T00:00:00Z\"\n";
        let f = scan_sops_file("s.yaml", text).unwrap();
        assert_eq!(f.recipients.len(), 1);
        let r = &f.recipients[0];
        assert_eq!(
            &text[r.loc.start..r.loc.end],
            "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
        );
        assert!(scan_sops_file("p.yaml", "a: 1\n").is_none());
    }

    #[test]
    fn kube_docs_kinds_images_components() {
        let facts = RepoFacts::build(input(&[
            (
                "kubernetes/a/deploy.yaml",
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: op\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          image: tailscale/k8s-operator:v1\n",
            ),
            (
                "kubernetes/base/apps/irc/m/kustomization.yaml",
                "resources: [ deployment.yaml ]\ncomponents:\n  - vpn-egress\n",
            ),
        ]));
        let d = &facts.kube_docs[0];
        assert_eq!(d.kind.as_ref().unwrap().value, "Deployment");
        let img = &d.images[0];
        let text = facts.text("kubernetes/a/deploy.yaml").unwrap();
        assert_eq!(
            &text[img.loc.start..img.loc.end],
            "tailscale/k8s-operator:v1"
        );
        let comps = facts.kube_docs[1].components.as_ref().unwrap();
        assert_eq!(comps[0].value, "vpn-egress");
    }

    #[test]
    fn hujson_tag_owners() {
        let facts = RepoFacts::build(input(&[(
            TAILSCALE_POLICY,
            "// policy\n{\n  \"tagOwners\": { \"tag:infra\": [\"autogroup:admin\"], /* x */ },\n  \"grants\": [],\n}\n",
        )]));
        assert_eq!(
            facts.policy_tags.unwrap().into_iter().collect::<Vec<_>>(),
            ["tag:infra"]
        );
    }

    /// The fast reader, when it reads a file, finds what saphyr's tree gives.
    fn same_kube_docs(path: &str, text: &str) -> bool {
        let mut fast = RepoFacts::default();
        let read = fast.read_kube_file_fast(path, text);
        if read {
            let mut slow = RepoFacts::default();
            slow.read_kube_file_saphyr(path, text);
            assert_eq!(
                format!("{:?}", fast.kube_docs),
                format!("{:?}", slow.kube_docs),
                "{text}"
            );
            assert!(slow.problems.is_empty(), "{text}");
        }
        read
    }

    #[test]
    fn fast_kube_reader_agrees_with_saphyr() {
        if let Ok(list) = std::env::var("AVALANCHE_KUBE_DIFF_FILES") {
            let (mut read, mut all) = (0, 0);
            for file in list.split_whitespace() {
                let Ok(text) = std::fs::read_to_string(file) else {
                    continue;
                };
                let name = format!("kubernetes/{}", file.rsplit('/').next().unwrap_or(file));
                let mut variants = vec![text.clone()];
                for cut in [text.len() / 3, text.len() / 2, text.len() * 2 / 3] {
                    let mut c = cut;
                    while !text.is_char_boundary(c) {
                        c -= 1;
                    }
                    variants.push(format!("{}\n  x: 1\n{}", &text[..c], &text[c..]));
                    variants.push(format!("{}\n- y\n{}", &text[..c], &text[c..]));
                    variants.push(format!("{}   {}", &text[..c], &text[c..]));
                    variants.push(format!("{}# c\n{}", &text[..c], &text[c..]));
                    variants.push(format!("{}\n{}", &text[..c], &text[c..]));
                }
                for v in &variants {
                    all += 1;
                    if same_kube_docs(&name, v) {
                        read += 1;
                    }
                }
            }
            eprintln!("fast reader read {read} of {all}");
        }
        let read = [
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a # c\n  labels:\n    app: \"x\"\nspec:\n  template:\n    metadata:\n      labels:\n        app: x\n        n: 1\n    spec:\n      containers:\n        - name: c\n          image: 'i:1'\n          args:\n          - a\n          - 0x1F\n",
            "# only\n---\nkind: Kustomization\nnamespace: ns\ncomponents:\n- vpn-egress\n- ../x\nresources:\n  - a.yaml\n---\nkind: Secret\ndata:\n  k: |\n    v\n\n    w\nsops:\n  x: y\n",
            "a: 1.50\nb: true\nc: ~x\nd: -1\n",
        ];
        for text in read {
            assert!(
                same_kube_docs("kubernetes/a/kustomization.yaml", text),
                "{text}"
            );
        }
        let left_to_saphyr = [
            "a: [ b ]\n",
            "a:\n",
            "a: 1\na: 2\n",
            "a: &x 1\n",
            "a: b\n  c\n",
            "a:\n\tb: 1\n",
            "a: \"b\\n\"\n",
            "\"a\": 1\n",
            "a: b: c\n",
            "- a\n",
            "a: 1\n b: 2\n",
            "k: |\n  v\nimage: |\n  x\n",
        ];
        for text in left_to_saphyr {
            let ok = same_kube_docs("kubernetes/a.yaml", text);
            // A block scalar read by a rule gives up too.
            assert!(!ok || text.contains('|'), "{text}");
        }
    }

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
