//! The Kubernetes tree: each hand-written document's kind, images, charts,
//! labels and kustomization lists, by the fast reader or saphyr.
use super::{FileProblem, LineIndex, Loc, Located, RepoFacts};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use std::collections::BTreeMap;

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
    /// `spec.source.path` and `spec.sources[].path` of an Argo CD Application,
    /// `spec.path` of a Flux Kustomization: the repository directories it deploys.
    pub source_paths: Vec<String>,
    /// `namespace:` of a Kustomization (applies to all its resources).
    pub kustomization_namespace: Option<String>,
    /// A Flux Kustomization's `spec.decryption` is set (it decrypts SOPS files).
    pub flux_decryption: bool,
    /// A Flux Kustomization's `spec.decryption.secretRef.name`: the Secret with
    /// the key it decrypts with.
    pub flux_decryption_secret: Option<String>,
    /// A Flux Kustomization's `spec.sourceRef` (`kind`, `name`): the source of
    /// the manifests it applies (`GitRepository` `flux-system` after `flux bootstrap`).
    pub flux_source: Option<(Option<String>, String)>,
    /// A Flux Kustomization's `spec.components`: kustomize Components, relative
    /// to `spec.path`, that kustomize-controller adds to what it builds there.
    pub flux_components: Vec<Located>,
    /// `spec.template.metadata.labels` of a workload, and where they are.
    pub pod_labels: Option<(BTreeMap<String, String>, Loc)>,
    /// A workload's pod containers (`initContainers`, then `containers`).
    pub containers: Vec<PodContainer>,
    /// For a Kustomization: the files of `patches[].path`, `patchesStrategicMerge`,
    /// `generators` and `transformers` (with `resources` and `components`, every
    /// path it names).
    pub kustomize_files: Vec<Located>,
    /// For a NetworkPolicy: `spec.podSelector.matchLabels` (empty: every pod of
    /// the namespace; `None` when it uses `matchExpressions`).
    pub policy_selector: Option<BTreeMap<String, String>>,
    /// The values of `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` (any case) in
    /// the document's `env:` lists.
    pub proxy_env: Vec<Located>,
    /// The values of `NO_PROXY` (any case) in the document's `env:` lists.
    pub no_proxy_env: Vec<Located>,
    /// The Secret this document makes: a `Secret`, an `ExternalSecret` or a
    /// `SealedSecret` (`None` for other documents).
    pub makes_secret: Option<MadeSecret>,
}

/// A Secret a hand-written manifest makes (what an `existingSecret` can name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeSecret {
    /// The Secret's name (an ExternalSecret's `spec.target.name`, else its own).
    pub name: String,
    /// Its keys, when the manifest lists them all (`None`: `dataFrom` or a
    /// template decides them).
    pub keys: Option<Vec<String>>,
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

/// The API group of Flux's kustomize-controller (its `Kustomization`), as an
/// `apiVersion` starts: also how a file is recognized as Flux's before parsing.
pub const FLUX_KUSTOMIZE_API: &str = "kustomize.toolkit.fluxcd.io/";

/// Whether an `apiVersion` is Flux's kustomize-controller's (`Kustomization`).
pub fn is_flux_api(api_version: &str) -> bool {
    api_version.starts_with(FLUX_KUSTOMIZE_API)
}

/// The Kubernetes documents of one file, read as `check` reads the
/// repository's (no `resources:` unless the file is a kustomization).
pub fn kube_docs_of(path: &str, text: &str) -> Vec<KubeDoc> {
    let mut facts = RepoFacts::default();
    facts.read_kube_file(path, text);
    facts.kube_docs
}

impl RepoFacts {
    pub(super) fn read_kube_file(&mut self, path: &str, text: &str) {
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
}

/// Where the fast reader and saphyr disagree on `text`, when the fast reader
/// reads it at all (it may give up: then saphyr alone reads the file, and there
/// is nothing to compare). `kube_yaml.rs` is kept only while this holds: the
/// differential test below and the `kube_yaml` fuzz target check it.
#[doc(hidden)]
pub fn fast_reader_disagreement(path: &str, text: &str) -> Option<String> {
    let mut fast = RepoFacts::default();
    if !fast.read_kube_file_fast(path, text) {
        return None;
    }
    let mut saphyr = RepoFacts::default();
    saphyr.read_kube_file_saphyr(path, text);
    let fast = format!("{:#?}\n{:#?}", fast.kube_docs, fast.problems);
    let saphyr = format!("{:#?}\n{:#?}", saphyr.kube_docs, saphyr.problems);
    (fast != saphyr).then(|| format!("the fast reader found:\n{fast}\nsaphyr found:\n{saphyr}"))
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
            crate::kube_yaml::Node::Seq(items) => Some(items),
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
            Node::Map(_, start) => (*start, *start),
            Node::Scalar(_, start, end) => (*start, *end),
            // Where saphyr starts a sequence depends on its indentation (an
            // indentless one starts at its first item, not at the `-`), found
            // by the differential test: a sequence's place is saphyr's to give.
            Node::Seq(..) | Node::Opaque => {
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
            Some("env") => {
                for item in view.items(v).unwrap_or_default() {
                    let Some(named) = view.get(item, "name").and_then(|n| view.scalar(n)) else {
                        continue;
                    };
                    let list = if ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]
                        .iter()
                        .any(|p| named.eq_ignore_ascii_case(p))
                    {
                        &mut out.proxy_env
                    } else if named.eq_ignore_ascii_case("NO_PROXY") {
                        &mut out.no_proxy_env
                    } else {
                        continue;
                    };
                    list.extend(view.get(item, "value").and_then(|x| located(view, path, x)));
                }
            }
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

/// The Secret a `Secret`, `ExternalSecret` or `SealedSecret` document makes.
fn made_secret<V: View>(
    view: &V,
    doc: &V::Node,
    kind: &str,
    name: Option<String>,
) -> Option<MadeSecret> {
    let keys_of = |node: Option<&V::Node>| -> Vec<String> {
        node.filter(|n| view.is_mapping(n))
            .map(|n| {
                view.entries(n)
                    .into_iter()
                    .filter_map(|(k, _)| view.scalar(k))
                    .collect()
            })
            .unwrap_or_default()
    };
    let spec = view.get(doc, "spec");
    let (name, keys) = match kind {
        "Secret" => {
            let mut keys = keys_of(view.get(doc, "data"));
            keys.extend(keys_of(view.get(doc, "stringData")));
            (name, Some(keys))
        }
        "ExternalSecret" => {
            let target = spec.and_then(|s| view.get(s, "target"));
            let renamed = target
                .and_then(|t| view.get(t, "name"))
                .and_then(|n| view.scalar(n));
            let templated = target.and_then(|t| view.get(t, "template")).is_some();
            let keys = spec
                .and_then(|s| view.get(s, "data"))
                .and_then(|d| view.items(d))
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| view.get(i, "secretKey").and_then(|k| view.scalar(k)))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let from = spec.and_then(|s| view.get(s, "dataFrom")).is_some();
            (renamed.or(name), (!from && !templated).then_some(keys))
        }
        _ => {
            // SealedSecret: `spec.template.metadata.name` may rename it.
            let renamed = spec
                .and_then(|s| view.get(s, "template"))
                .and_then(|t| view.get(t, "metadata"))
                .and_then(|m| view.get(m, "name"))
                .and_then(|n| view.scalar(n));
            let keys = keys_of(spec.and_then(|s| view.get(s, "encryptedData")));
            (renamed.or(name), Some(keys))
        }
    };
    Some(MadeSecret { name: name?, keys })
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
            flux_decryption: false,
            flux_decryption_secret: None,
            flux_source: None,
            flux_components: Vec::new(),
            pod_labels: None,
            containers: Vec::new(),
            kustomize_files: Vec::new(),
            policy_selector: None,
            proxy_env: Vec::new(),
            no_proxy_env: Vec::new(),
            makes_secret: None,
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
        if kind == Some("Kustomization")
            && kd
                .api_version
                .as_ref()
                .is_some_and(|v| is_flux_api(&v.value))
        {
            // A Flux Kustomization deploys `spec.path` of its source (the repository).
            let spec = view.get(doc, "spec");
            let decryption = spec.and_then(|s| view.get(s, "decryption"));
            kd.flux_decryption = decryption.is_some();
            kd.flux_decryption_secret = decryption
                .and_then(|d| view.get(d, "secretRef"))
                .and_then(|r| view.get(r, "name"))
                .and_then(|n| view.scalar(n));
            let source = spec.and_then(|s| view.get(s, "sourceRef"));
            kd.flux_source = source
                .and_then(|r| view.get(r, "name"))
                .and_then(|n| view.scalar(n))
                .map(|name| {
                    let kind = source
                        .and_then(|r| view.get(r, "kind"))
                        .and_then(|k| view.scalar(k));
                    (kind, name)
                });
            kd.flux_components = spec
                .and_then(|s| view.get(s, "components"))
                .and_then(|c| view.items(c))
                .unwrap_or_default()
                .iter()
                .filter_map(|c| located(view, path, c))
                .collect();
            kd.source_paths = view
                .get(doc, "spec")
                .and_then(|s| view.get(s, "path"))
                .and_then(|p| view.scalar(p))
                .into_iter()
                .collect();
        }
        if matches!(kind, Some("Secret" | "ExternalSecret" | "SealedSecret")) {
            kd.makes_secret = made_secret(view, doc, kind.unwrap_or_default(), kd.name.clone());
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
            let mut files = entries("patchesStrategicMerge");
            files.extend(entries("generators"));
            files.extend(entries("transformers"));
            if let Some(items) = view.get(doc, "patches").and_then(|p| view.items(p)) {
                files.extend(
                    items
                        .iter()
                        .filter_map(|i| view.get(i, "path"))
                        .filter_map(|n| located(view, path, n)),
                );
            }
            kd.kustomize_files = files;
        }
        if kind == Some("NetworkPolicy") {
            let selector = view
                .get(doc, "spec")
                .and_then(|s| view.get(s, "podSelector"));
            kd.policy_selector = match selector {
                None => None,
                Some(sel) if view.get(sel, "matchExpressions").is_some() => None,
                Some(sel) => Some(
                    view.get(sel, "matchLabels")
                        .map(|m| {
                            view.entries(m)
                                .into_iter()
                                .filter_map(|(k, v)| Some((view.scalar(k)?, view.scalar(v)?)))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
            };
        }
        out.push(kd);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::input;
    use super::*;

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
}

#[cfg(test)]
mod differential;
