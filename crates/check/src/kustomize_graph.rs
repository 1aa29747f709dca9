//! Kustomizations must resolve, and what they leave out is dead.
//!
//! Every path a hand-written `kustomization.yaml` names (`resources`,
//! `components`, `patches[].path`, `patchesStrategicMerge`, `generators`,
//! `transformers`) must exist — a tracked file or directory, or one `build`
//! generates. A Kubernetes manifest in a directory that has a kustomization, but
//! that no kustomization lists, is dead: deleting it is safe, and listing it one
//! day would apply whatever it says. A dead NetworkPolicy that selects an
//! enforced client's pods is worse: policies are additive, so listed again it
//! would widen the generated fence around the proxy. A listed NetworkPolicy
//! that selects no pod is `policy_selects.rs`'s.
use crate::facts::{KubeDoc, Located};
use crate::wiring::{join, normalize, parent};
use crate::{Checker, label, rules};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The names a kustomization file may have.
pub(crate) const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether a kustomization entry is remote (a Git or HTTP base), not a path.
pub(crate) fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.contains("?ref=")
}

/// Whether `rel`, joined to `dir`, climbs above the repository root.
fn escapes(dir: &str, rel: &str) -> bool {
    let mut depth: i64 = dir
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .count() as i64;
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

/// One entry of a kustomization, with the list it is in.
struct Entry<'f> {
    doc: &'f KubeDoc,
    key: &'static str,
    item: &'f Located,
}

fn entries(doc: &KubeDoc) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    for item in doc.resources.iter().flatten() {
        out.push(Entry {
            doc,
            key: "resources",
            item,
        });
    }
    for item in doc.components.iter().flatten() {
        out.push(Entry {
            doc,
            key: "components",
            item,
        });
    }
    for item in &doc.kustomize_files {
        out.push(Entry {
            doc,
            key: "patches/generators",
            item,
        });
    }
    out
}

pub(crate) fn check(cx: &mut Checker<'_>) {
    let facts = cx.facts;
    let kustomizations: Vec<&KubeDoc> = facts
        .kube_docs
        .iter()
        .filter(|d| d.resources.is_some())
        .collect();
    // Every path some kustomization lists (files, and directories by their
    // kustomization), and the lines that list each.
    let mut listed: BTreeMap<String, Vec<&Located>> = BTreeMap::new();
    let exists_dir = |dir: &str| {
        let prefix = format!("{dir}/");
        let under = |set: &mut dyn Iterator<Item = &String>| {
            set.next().is_some_and(|p| p.starts_with(&prefix))
        };
        under(
            &mut facts.paths[facts
                .paths
                .partition_point(|p| p.as_str() < prefix.as_str())..]
                .iter(),
        ) || under(&mut facts.generated.range(prefix.clone()..))
    };
    for k in &kustomizations {
        let dir = parent(&k.path);
        for e in entries(k) {
            let value = e.item.value.trim();
            if value.is_empty() || is_remote(value) || value.contains('*') {
                continue;
            }
            let target = normalize(&join(dir, value));
            let file = facts.is_tracked(&target) || facts.generated.contains(&target);
            if file {
                listed.entry(target).or_default().push(e.item);
                continue;
            }
            if !escapes(dir, value) && exists_dir(&target) {
                for name in KUSTOMIZATION_FILES {
                    listed.entry(join(&target, name)).or_default().push(e.item);
                }
                listed.entry(target).or_default().push(e.item);
                continue;
            }
            missing(cx, &e, &target);
        }
    }
    // A Flux Kustomization's `spec.components`, relative to its `spec.path`:
    // kustomize-controller fails the whole build on one that is not there.
    for flux in facts
        .kube_docs
        .iter()
        .filter(|d| crate::wiring::is_flux_kustomization(d))
    {
        for source in &flux.source_paths {
            let source = normalize(source.trim_start_matches("./"));
            for c in &flux.flux_components {
                let value = c.value.trim();
                if value.is_empty() || is_remote(value) {
                    continue;
                }
                let target = normalize(&join(&source, value));
                if !escapes(&source, value) && exists_dir(&target) {
                    continue;
                }
                let span = cx.span(&c.loc);
                let message = format!(
                    "`{}` lists `{value}` under `spec.components` (relative to its `spec.path`, `{source}`), but `{target}` does not exist: Flux fails to build the whole Kustomization",
                    flux.path
                );
                cx.emit(&rules::KUSTOMIZE_PATH_MISSING, message, Some(span))
                    .help = Some(format!(
                    "delete the line `- {value}` (the component moved or was removed), or restore `{target}`"
                ));
            }
        }
    }
    // Each directory's kustomization (its `namespace:` applies to the files there).
    let by_dir: HashMap<&str, &KubeDoc> = kustomizations
        .iter()
        .map(|k| (parent(&k.path), *k))
        .collect();
    dead(cx, &by_dir, &listed);
    crate::policy_selects::check(cx, &kustomizations, &by_dir, &listed);
}

fn missing(cx: &mut Checker<'_>, e: &Entry<'_>, target: &str) {
    let span = cx.span(&e.item.loc);
    let message = format!(
        "`{}` lists `{}` under `{}`, but `{target}` does not exist: `kubectl kustomize` (and Argo CD) fail on it",
        e.doc.path, e.item.value, e.key
    );
    cx.emit(&rules::KUSTOMIZE_PATH_MISSING, message, Some(span))
        .help = Some(format!(
        "delete the line `- {}` (the file was removed), or restore `{target}`",
        e.item.value
    ));
}

/// Where a manifest is reported: its `kind`, else its first byte.
pub(crate) fn kind_loc(doc: &KubeDoc) -> crate::facts::Loc {
    doc.kind.as_ref().map_or_else(
        || crate::facts::Loc {
            path: doc.path.clone(),
            start: 0,
            end: 0,
        },
        |k| k.loc.clone(),
    )
}

/// A manifest's namespace: its own, else its directory's kustomization's.
pub(crate) fn namespace_of(doc: &KubeDoc, by_dir: &HashMap<&str, &KubeDoc>) -> Option<String> {
    doc.namespace.clone().or_else(|| {
        by_dir
            .get(parent(&doc.path))
            .and_then(|k| k.kustomization_namespace.clone())
    })
}

fn dead(
    cx: &mut Checker<'_>,
    by_dir: &HashMap<&str, &KubeDoc>,
    listed: &BTreeMap<String, Vec<&Located>>,
) {
    let facts = cx.facts;
    let sops: BTreeSet<&str> = facts.sops_files.iter().map(|f| f.path.as_str()).collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for doc in &facts.kube_docs {
        let path = doc.path.as_str();
        let Some(kustomization) = by_dir.get(parent(path)) else {
            continue;
        };
        if doc.resources.is_some()
            || doc.kind.is_none()
            || doc.api_version.is_none()
            || sops.contains(path)
            || listed.contains_key(path)
            || !seen.insert(path)
        {
            continue;
        }
        // A generator's input (`configMapGenerator`, a KSOPS `files:` list) is
        // named in the kustomization's text even when no list we read holds it.
        let name = path.rsplit('/').next().unwrap_or(path);
        if facts
            .text(&kustomization.path)
            .is_some_and(|t| t.contains(name))
        {
            continue;
        }
        let kind = doc.kind.as_ref().map_or("", |k| k.value.as_str());
        if kind == "NetworkPolicy"
            && let Some(client) = widened_client(cx, doc, by_dir)
        {
            let span = cx.span(&kind_loc(doc));
            let message = format!(
                "`{path}` is a NetworkPolicy no kustomization lists, and it selects the pods of enforced client `{client}`: \
                 listed again, it would widen the generated fence around the proxy (policies are additive)"
            );
            let declared = cx
                .network
                .egress
                .clients
                .iter()
                .find(|(n, _)| n.as_str() == client)
                .and_then(|(_, c)| c.span);
            let d = cx.emit(&rules::NETWORKPOLICY_DEAD_WIDENS, message, Some(span));
            d.help = Some(format!(
                "`git rm {path}` (no kustomization lists it: no other line to edit)"
            ));
            label(d, declared, "enforced client declared here");
            continue;
        }
        let span = cx.span(&kind_loc(doc));
        let message = format!(
            "`{path}` ({kind}) is in a kustomization's directory, but no kustomization lists it: it is never applied"
        );
        let d = cx.emit(&rules::KUSTOMIZE_DEAD_MANIFEST, message, Some(span));
        d.help = Some(format!(
            "`git rm {path}` if it is obsolete, or add `- {name}` to `{}`'s `resources:`",
            kustomization.path
        ));
    }
}

/// The enforced client whose pods a (dead) NetworkPolicy selects, if any.
fn widened_client(
    cx: &Checker<'_>,
    policy: &KubeDoc,
    by_dir: &HashMap<&str, &KubeDoc>,
) -> Option<String> {
    let selector = policy.policy_selector.as_ref()?;
    let namespace = namespace_of(policy, by_dir)?;
    for (name, client) in &cx.network.egress.clients {
        if !client.enforce || client.namespace.value.as_str() != namespace {
            continue;
        }
        // The client's pods: its workload's labels as committed, else as declared.
        let workload = cx.facts.kube_docs.iter().find(|d| {
            d.pod_labels.is_some()
                && d.name.as_deref() == Some(client.deployment.value.as_str())
                && namespace_of(d, by_dir).as_deref() == Some(namespace.as_str())
        });
        let labels: BTreeMap<String, String> = match workload.and_then(|w| w.pod_labels.as_ref()) {
            Some((labels, _)) => labels.clone(),
            None => client.pod_labels.clone(),
        };
        if selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            return Some(name.as_str().to_owned());
        }
    }
    None
}

/// `k.yaml:3` for each kustomization line that lists `path`: help texts that
/// tell the user to delete a file name the lines to edit too.
pub(crate) fn listing_lines(cx: &mut Checker<'_>, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let facts = cx.facts;
    for k in facts.kube_docs.iter().filter(|d| d.resources.is_some()) {
        let dir = parent(&k.path);
        for e in entries(k) {
            if normalize(&join(dir, e.item.value.trim())) == path {
                let span = cx.span(&e.item.loc);
                let (file, line) = cx.line_of(span);
                out.push(format!("{file}:{line}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_and_escaping_entries() {
        assert!(is_remote("https://github.com/x/y//base?ref=v1"));
        assert!(is_remote("github.com/kubernetes-sigs/kustomize/examples"));
        assert!(!is_remote("../base"));
        assert!(escapes("kubernetes", "../../x"));
        assert!(!escapes("kubernetes/apps", "../base"));
    }
}
