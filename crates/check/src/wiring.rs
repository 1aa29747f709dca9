//! Wiring: the one-line edits of hand-written kustomizations that make the
//! generated files deployed (each app's `components: [vpn-egress]`, the
//! generated Argo CD Application in the app-of-apps `resources:`), and what an
//! Argo CD root reaches in the repository.
//!
//! `build` applies [`plan`]'s edits in the same all-or-nothing write as the
//! generated files; `check` reports what is not wired (unless `build` is about to
//! wire it); `status` judges a phase done only when its files are reachable
//! ([`Reach`]). Pure: the texts come from [`RepoFacts`].
use crate::facts::{KubeDoc, RepoFacts};
use crate::list_edit::{self, Outcome, Refusal};
use avalanche_diag::Span;
use avalanche_model::Network;
use std::collections::{BTreeSet, HashMap};

/// The generated Application's file name.
pub const APPLICATION_FILE: &str = "vpn-proxy-app.yaml";

/// One edit of a hand-written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Repository-relative path of the kustomization.
    pub path: String,
    /// The list edited (`components` or `resources`).
    pub key: &'static str,
    /// The entry added.
    pub entry: String,
    /// The text the edit was computed from (the write is refused if the file
    /// no longer holds exactly this).
    pub before: String,
    /// The text with the entry added.
    pub after: String,
}

/// What the edit is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// An app's kustomization lists its generated `vpn-egress` component.
    Component {
        /// The client or sidecar.
        name: String,
        /// Its declaration.
        span: Option<Span>,
    },
    /// The app-of-apps lists the generated Application.
    Application,
}

/// A wiring the file's shape does not allow, or a file that is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The kustomization (or where it should be).
    pub path: String,
    /// Why, and the lines to add by hand.
    pub refusal: Refusal,
    /// The file does not exist.
    pub missing: bool,
}

/// One wiring need: done already, an edit, or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// The entry is there.
    Present,
    /// The edit that adds it.
    Edit(Edit),
    /// It cannot be added safely.
    Refused(Refused),
}

/// Every wiring the declarations call for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wiring {
    /// In the order of the declarations (components, then the Application).
    pub needs: Vec<(Purpose, Need)>,
}

impl Wiring {
    /// The edits to make.
    pub fn edits(&self) -> impl Iterator<Item = &Edit> {
        self.needs.iter().filter_map(|(_, n)| match n {
            Need::Edit(e) => Some(e),
            _ => None,
        })
    }
}

/// The app directory of a client or sidecar: `<dir>/base/apps/<namespace>/<name>`.
pub fn app_dir(kubernetes_dir: &str, namespace: &str, name: &str) -> String {
    let root = avalanche_model::layout::normalized(kubernetes_dir);
    avalanche_model::layout::join(&root, &format!("base/apps/{namespace}/{name}"))
}

/// The tracked kustomization of directory `dir`.
pub fn kustomization_in(facts: &RepoFacts, dir: &str) -> Option<String> {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .map(|f| join(dir, f))
        .find(|p| facts.is_tracked(p))
}

/// The generated Application's path (from the files the tool generates).
pub fn application(facts: &RepoFacts) -> Option<&str> {
    facts
        .generated
        .iter()
        .map(String::as_str)
        .find(|p| p.rsplit('/').next() == Some(APPLICATION_FILE))
}

/// Whether the tool generates something under `dir/`.
fn generates_under(facts: &RepoFacts, dir: &str) -> bool {
    let prefix = format!("{dir}/");
    facts
        .generated
        .range(prefix.clone()..)
        .next()
        .is_some_and(|g| g.starts_with(&prefix))
}

/// What `build` must add to hand-written kustomizations for the generated files
/// to be deployed.
pub fn plan(network: &Network, facts: &RepoFacts) -> Wiring {
    let mut wiring = Wiring::default();
    let mut apps: Vec<(&str, &str, Option<Span>)> = Vec::new();
    for (name, c) in &network.egress.clients {
        apps.push((name.as_str(), c.namespace.value.as_str(), c.span));
    }
    for (name, s) in &network.egress.sidecars {
        apps.push((name.as_str(), s.namespace.value.as_str(), s.span));
    }
    apps.sort_by_key(|(name, _, _)| *name);
    for (name, namespace, span) in apps {
        let dir = app_dir(&facts.kubernetes_dir, namespace, name);
        if !generates_under(facts, &format!("{dir}/vpn-egress")) {
            continue;
        }
        let purpose = Purpose::Component {
            name: name.to_owned(),
            span,
        };
        let need = match kustomization_in(facts, &dir) {
            None => Need::Refused(Refused {
                path: join(&dir, "kustomization.yaml"),
                refusal: Refusal {
                    reason: format!("`{dir}/kustomization.yaml` does not exist"),
                    line: None,
                    lines_to_add: "components:\n  - vpn-egress".to_owned(),
                },
                missing: true,
            }),
            Some(path) => edit(facts, path, "components", "vpn-egress"),
        };
        wiring.needs.push((purpose, need));
    }
    if let (Some(app), Some(register_in)) =
        (application(facts), &network.kubernetes.argocd.register_in)
    {
        let path = register_in.value.clone();
        // The Application is rendered next to `registerIn` (see
        // `avalanche_render::application_path`): listed by its file name.
        let entry = app.rsplit('/').next().unwrap_or(app).to_owned();
        let need = if facts.is_tracked(&path) {
            edit(facts, path, "resources", &entry)
        } else {
            Need::Refused(Refused {
                refusal: Refusal {
                    reason: format!("`{path}` (kubernetes.argocd.registerIn) does not exist"),
                    line: None,
                    lines_to_add: format!("resources:\n  - {entry}"),
                },
                path,
                missing: true,
            })
        };
        wiring.needs.push((Purpose::Application, need));
    }
    wiring
}

fn edit(facts: &RepoFacts, path: String, key: &'static str, entry: &str) -> Need {
    let text = facts.text(&path).unwrap_or_default();
    match list_edit::add_entry(text, key, entry) {
        Ok(Outcome::Present) => Need::Present,
        Ok(Outcome::Edited(after)) => Need::Edit(Edit {
            path,
            key,
            entry: entry.to_owned(),
            before: text.to_owned(),
            after,
        }),
        Err(refusal) => Need::Refused(Refused {
            path,
            refusal,
            missing: false,
        }),
    }
}

/// The kustomizations that register Argo CD Applications: those listing
/// `*-app.yaml` files in their own directory (app-of-apps). `paths_and_texts`
/// are the candidate kustomization files.
pub fn app_of_apps<'a>(
    kustomizations: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<String> {
    let mut found: Vec<String> = kustomizations
        .into_iter()
        .filter(|(_, text)| {
            list_edit::entries(text, "resources").is_some_and(|items| {
                items.iter().any(|i| {
                    let i = i.trim_start_matches("./");
                    !i.contains('/') && (i.ends_with("-app.yaml") || i.ends_with("-app.yml"))
                })
            })
        })
        .map(|(p, _)| p.to_owned())
        .collect();
    found.sort();
    found
}

/// What Argo CD deploys from this repository: every file reached from a root.
/// Roots are the Applications no kustomization lists (bootstrap apps, applied
/// once by hand) other than generated ones, and `kubernetes.argocd.registerIn`.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// Reached files (repository-relative).
    pub files: BTreeSet<String>,
    /// The roots it started from.
    pub roots: Vec<String>,
}

impl Reach {
    /// Whether `path` (a file) is deployed.
    pub fn reaches(&self, path: &str) -> bool {
        self.files.contains(path)
    }
}

/// Follows kustomizations (`resources`, `components`) and Applications
/// (`spec.source.path`) from the roots.
pub fn reach(network: &Network, facts: &RepoFacts) -> Reach {
    let mut docs_by_path: HashMap<&str, Vec<&KubeDoc>> = HashMap::new();
    for d in &facts.kube_docs {
        docs_by_path.entry(d.path.as_str()).or_default().push(d);
    }
    // Files some kustomization lists.
    let mut listed: BTreeSet<String> = BTreeSet::new();
    for d in &facts.kube_docs {
        let dir = parent(&d.path);
        for r in d.resources.iter().flatten() {
            listed.insert(normalize(&join(dir, &r.value)));
        }
    }
    let mut out = Reach::default();
    let mut queue: Vec<String> = Vec::new();
    for d in &facts.kube_docs {
        let is_app = d.kind.as_ref().is_some_and(|k| k.value == "Application");
        if is_app && !listed.contains(&d.path) && !facts.generated.contains(&d.path) {
            out.roots.push(d.path.clone());
            queue.push(d.path.clone());
        }
    }
    if let Some(r) = &network.kubernetes.argocd.register_in {
        out.roots.push(r.value.clone());
        queue.push(r.value.clone());
    }
    out.roots.sort();
    out.roots.dedup();
    let mut steps = 0usize;
    while let Some(path) = queue.pop() {
        steps += 1;
        if steps > 1_000_000 || !out.files.insert(path.clone()) {
            continue;
        }
        let dir = parent(&path);
        // Generated files are not parsed into `kube_docs`: the generated
        // Application deploys the generated proxy tree.
        if application(facts) == Some(path.as_str()) {
            let root = avalanche_model::layout::normalized(&facts.kubernetes_dir);
            queue.push(avalanche_model::layout::join(
                &root,
                &format!("{}/kustomization.yaml", avalanche_model::layout::PROXY_DIR),
            ));
        }
        for d in docs_by_path.get(path.as_str()).into_iter().flatten() {
            let targets = d
                .resources
                .iter()
                .flatten()
                .chain(d.components.iter().flatten());
            for t in targets {
                let target = normalize(&join(dir, &t.value));
                if t.value.contains("://") {
                    continue; // a remote base
                }
                if facts.is_tracked(&target) {
                    queue.push(target);
                } else if let Some(k) = kustomization_in(facts, &target) {
                    queue.push(k);
                }
            }
            for source in &d.source_paths {
                let source = normalize(source.trim_start_matches("./"));
                match kustomization_in(facts, &source) {
                    Some(k) => queue.push(k),
                    // A plain directory: Argo CD applies its manifests.
                    None => queue.extend(files_in(facts, &source)),
                }
            }
        }
    }
    out
}

/// The YAML files directly in `dir`.
fn files_in(facts: &RepoFacts, dir: &str) -> Vec<String> {
    let prefix = format!("{dir}/");
    facts
        .paths
        .iter()
        .filter(|p| {
            p.strip_prefix(&prefix).is_some_and(|rest| {
                !rest.contains('/') && (rest.ends_with(".yaml") || rest.ends_with(".yml"))
            })
        })
        .cloned()
        .collect()
}

/// The directory of a repository path (`""` at the root).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() || dir == "." {
        rel.to_owned()
    } else {
        format!("{dir}/{rel}")
    }
}

/// `a/./b/../c/` → `a/c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

/// Registration targets by file, for messages: `registerIn` as declared or detected.
pub fn register_in(network: &Network) -> Option<(&str, Option<Span>)> {
    network
        .kubernetes
        .argocd
        .register_in
        .as_ref()
        .map(|r| (r.value.as_str(), r.span))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(normalize("a/./b/../c/"), "a/c");
        assert_eq!(
            app_of_apps([
                (
                    "k/apps/kustomization.yaml",
                    "resources:\n  - irc-app.yaml\n"
                ),
                (
                    "k/irc/kustomization.yaml",
                    "resources:\n  - deployment.yaml\n"
                ),
            ]),
            vec!["k/apps/kustomization.yaml".to_owned()]
        );
    }
}
