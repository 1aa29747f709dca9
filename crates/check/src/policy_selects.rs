//! A NetworkPolicy that a kustomization applies, but whose `podSelector` selects
//! no pod: a fence around nothing (typically left behind when the app's labels
//! changed), so the pods it was written for are not covered.
//!
//! Judged only where every pod of the namespace is visible in the repository, so
//! that "no pod" is a fact and not a blind spot. A namespace is left alone when
//! anything there could make pods `check` does not read:
//! - a document of a kind that makes pods other than a Deployment, StatefulSet or
//!   DaemonSet (a Job, a CronJob, a bare Pod), or of any kind not known to make
//!   none (a custom resource an operator turns into pods, an Ingress that
//!   cert-manager answers with solver pods);
//! - a kustomization over its documents that changes them (components, patches,
//!   generators, transformers, `commonLabels`/`labels`, Helm charts, remote bases);
//! - a Helm chart, an Argo CD Application or a Flux object that names the namespace
//!   and deploys something else than a kustomization of this repository;
//! - what `build` generates (the proxies' namespace, sidecars' and clients');
//! - anywhere, a workload whose namespace is not written (its namespace is then
//!   decided outside the files).
//!
//! A file its directory's kustomization does not list is not applied, so it
//! counts for nothing (it is `kustomize-dead-manifest`'s).
//!
//! The policy must select with `matchLabels` (an empty selector selects every pod,
//! `matchExpressions` are not judged), and at least one workload of its
//! namespace must be in the directory of the kustomization that lists it.
use crate::facts::{KubeDoc, Located};
use crate::kustomize_graph::namespace_of;
use crate::wiring::{join, normalize, parent};
use crate::{Checker, rules};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The kinds whose pods `check` reads (`spec.template.metadata.labels`).
const READ_PODS: [&str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];

/// Kinds that make no pod.
const NO_PODS: &[&str] = &[
    "ConfigMap",
    "Secret",
    "Service",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "PersistentVolumeClaim",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "LimitRange",
    "ResourceQuota",
    "ExternalSecret",
    "SealedSecret",
    "ServiceMonitor",
    "PodMonitor",
    "PrometheusRule",
    // Cluster-scoped (a kustomization's `namespace:` still names them).
    "Namespace",
    "StorageClass",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "IngressClass",
];

/// Kinds that make pods whose labels `check` does not read.
const OTHER_PODS: &[&str] = &[
    "Pod",
    "Job",
    "CronJob",
    "ReplicaSet",
    "ReplicationController",
];

/// Kinds that deploy something named elsewhere (a chart, a path, another repository).
const DEPLOYERS: &[&str] = &[
    "Application",
    "ApplicationSet",
    "HelmRelease",
    "HelmChart",
    "Kustomization",
];

fn kind(doc: &KubeDoc) -> &str {
    doc.kind.as_ref().map_or("", |k| k.value.as_str())
}

/// Whether `text` holds `word` as a whole word (a namespace name).
fn names(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let part = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-');
        !part(before) && !part(after)
    })
}

/// A kustomization that changes what it includes (so the labels in the files may
/// not be the pods' labels), or includes what `check` cannot read.
fn transforms(cx: &Checker<'_>, k: &KubeDoc) -> bool {
    let text = cx.facts.text(&k.path).unwrap_or_default();
    k.components.as_ref().is_some_and(|c| !c.is_empty())
        || !k.kustomize_files.is_empty()
        || !k.charts.is_empty()
        || k.resources
            .iter()
            .flatten()
            .any(|r| crate::kustomize_graph::is_remote(r.value.trim()) || r.value.contains('*'))
        || text.lines().any(|l| {
            let key = l.split(':').next().unwrap_or("");
            matches!(
                key,
                "commonLabels"
                    | "labels"
                    | "helmCharts"
                    | "patches"
                    | "patchesJson6902"
                    | "patchesStrategicMerge"
                    | "replacements"
                    | "generators"
                    | "transformers"
                    | "configurations"
                    | "openapi"
                    | "crds"
            )
        })
}

/// Whether every pod of `namespace` is visible (see the module's documentation).
fn visible(
    cx: &Checker<'_>,
    namespace: &str,
    kustomizations: &[&KubeDoc],
    by_dir: &HashMap<&str, &KubeDoc>,
    listed: &BTreeMap<String, Vec<&Located>>,
) -> bool {
    let facts = cx.facts;
    let network = cx.network;
    let generated = std::iter::once(avalanche_model::defaults::PROXY_NAMESPACE)
        .chain(
            network
                .egress
                .sidecars
                .values()
                .map(|s| s.namespace.value.as_str()),
        )
        .chain(
            network
                .egress
                .clients
                .values()
                .map(|c| c.namespace.value.as_str()),
        );
    if generated.into_iter().any(|n| n == namespace) {
        return false;
    }
    let mut dirs: BTreeSet<&str> = BTreeSet::new();
    for doc in facts.kube_docs.iter().filter(|d| d.resources.is_none()) {
        // A file its directory's kustomization does not list is never applied
        // (`kustomize-dead-manifest`): it makes no pod.
        if by_dir.contains_key(parent(&doc.path)) && !listed.contains_key(&doc.path) {
            continue;
        }
        let k = kind(doc);
        if DEPLOYERS.contains(&k) {
            // Deploys a kustomization of this repository, or something unseen.
            // An Application of a kustomization here that says its namespace: what it
            // deploys is read, in the namespace the files say.
            let ours = k == "Application"
                && doc.charts.is_empty()
                && !doc.source_paths.is_empty()
                && doc.source_paths.iter().all(|p| {
                    let p = normalize(p.trim_end_matches('/'));
                    by_dir
                        .get(p.as_str())
                        .is_some_and(|k| k.kustomization_namespace.is_some())
                });
            if !ours && facts.text(&doc.path).is_some_and(|t| names(t, namespace)) {
                return false;
            }
            continue;
        }
        if !doc.charts.is_empty() && facts.text(&doc.path).is_some_and(|t| names(t, namespace)) {
            return false;
        }
        if namespace_of(doc, by_dir).as_deref() != Some(namespace) {
            continue;
        }
        if !READ_PODS.contains(&k) && !NO_PODS.contains(&k) {
            return false;
        }
        dirs.insert(parent(&doc.path));
    }
    // The kustomizations over the namespace's documents: in their directory or
    // above, listing one of those directories or above, or setting the namespace.
    let covers = |dir: &str, target: &str| {
        dir == target || dir.starts_with(&format!("{target}/")) || target.is_empty()
    };
    !kustomizations.iter().any(|k| {
        let kdir = parent(&k.path);
        let over = k.kustomization_namespace.as_deref() == Some(namespace)
            || dirs.iter().any(|d| covers(d, kdir))
            || k.resources.iter().flatten().any(|r| {
                let target = normalize(&join(kdir, r.value.trim()));
                dirs.iter().any(|d| covers(d, &target))
            });
        over && transforms(cx, k)
    })
}

/// Reports the listed NetworkPolicies that select no pod. `listed` are the paths
/// some kustomization lists (see `kustomize_graph::check`).
pub(crate) fn check(
    cx: &mut Checker<'_>,
    kustomizations: &[&KubeDoc],
    by_dir: &HashMap<&str, &KubeDoc>,
    listed: &BTreeMap<String, Vec<&Located>>,
) {
    let facts = cx.facts;
    // A workload whose namespace the files do not say lands wherever it is deployed.
    if facts.kube_docs.iter().any(|d| {
        d.resources.is_none()
            && (READ_PODS.contains(&kind(d)) || OTHER_PODS.contains(&kind(d)))
            && namespace_of(d, by_dir).is_none()
    }) {
        return;
    }
    let mut judged: HashMap<String, bool> = HashMap::new();
    for policy in &facts.kube_docs {
        if kind(policy) != "NetworkPolicy" || !listed.contains_key(&policy.path) {
            continue;
        }
        let Some(selector) = policy.policy_selector.as_ref().filter(|s| !s.is_empty()) else {
            continue;
        };
        let Some(namespace) = namespace_of(policy, by_dir) else {
            continue;
        };
        let seen = *judged
            .entry(namespace.clone())
            .or_insert_with(|| visible(cx, &namespace, kustomizations, by_dir, listed));
        if !seen {
            continue;
        }
        let workloads: Vec<&KubeDoc> = facts
            .kube_docs
            .iter()
            .filter(|d| {
                READ_PODS.contains(&kind(d))
                    && namespace_of(d, by_dir).as_deref() == Some(namespace.as_str())
            })
            .collect();
        let tree = parent(&policy.path);
        let in_tree = workloads
            .iter()
            .any(|w| w.path.starts_with(&format!("{tree}/")) || parent(&w.path) == tree);
        if !in_tree {
            continue;
        }
        let selects = |w: &&KubeDoc| {
            w.pod_labels
                .as_ref()
                .is_some_and(|(labels, _)| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
        };
        if workloads.iter().any(selects) {
            continue;
        }
        let shown: Vec<String> = selector.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let pods: Vec<String> = workloads
            .iter()
            .map(|w| {
                let labels = w.pod_labels.as_ref().map_or_else(String::new, |(l, _)| {
                    l.iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                });
                format!(
                    "{} `{}` ({labels})",
                    kind(w),
                    w.name.as_deref().unwrap_or("?")
                )
            })
            .collect();
        let lines = crate::kustomize_graph::listing_lines(cx, &policy.path);
        let span = cx.span(&crate::kustomize_graph::kind_loc(policy));
        let message = format!(
            "`{}` is applied, but its podSelector ({}) selects no pod in namespace `{namespace}`: it fences nothing",
            policy.path,
            shown.join(", ")
        );
        let d = cx.emit(&rules::NETWORKPOLICY_SELECTS_NOTHING, message, Some(span));
        d.notes
            .push(format!("the pods of `{namespace}`: {}", pods.join("; ")));
        d.help = Some(format!(
            "make the selector match the pods it was written for, or `git rm {}` and delete the line{} {}",
            policy.path,
            if lines.len() == 1 { "" } else { "s" },
            lines.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_is_named_as_a_word() {
        assert!(names("    namespace: media\n", "media"));
        assert!(!names("    namespace: media-server\n", "media"));
        assert!(!names("path: kubernetes/multimedia", "media"));
        assert!(names("path: apps/media/jellyfin", "media"));
    }
}
