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
use avalanche_model::{GitOps, Network};
use std::collections::{BTreeSet, HashMap};

/// The generated Application's file name.
pub const APPLICATION_FILE: &str = avalanche_model::layout::APPLICATION_FILE;

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
    /// What applies an app's flat manifest lists its generated Component: the
    /// kustomization listing the file (`components:`), or the Flux
    /// Kustomization applying its directory (`spec.components`).
    Flat {
        /// The client or sidecar.
        name: String,
        /// Its declaration.
        span: Option<Span>,
        /// Its manifest file (`kubernetes.layout.apps`).
        manifest: String,
        /// The generated Component's directory (`kubernetes.layout.egress`).
        component: String,
    },
    /// The app-of-apps lists the generated Application, or the kustomization
    /// of the directory Flux applies lists the generated Flux Kustomization.
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
    /// The edits to make, one per file: several needs may edit one file (two
    /// flat apps in one Flux Kustomization's `spec.components`), each computed
    /// from the text the previous one left, so the file's edit goes from the
    /// first one's `before` to the last one's `after`.
    pub fn edits(&self) -> Vec<Edit> {
        let mut out: Vec<Edit> = Vec::new();
        for (_, need) in &self.needs {
            let Need::Edit(e) = need else { continue };
            match out.iter_mut().find(|o| o.path == e.path) {
                Some(o) => o.after.clone_from(&e.after),
                None => out.push(e.clone()),
            }
        }
        out
    }
}

/// The texts of the files edited so far by [`plan`] (the next edit of a file
/// starts from there).
type Pending = HashMap<String, String>;

fn current<'a>(facts: &'a RepoFacts, pending: &'a Pending, path: &str) -> &'a str {
    pending
        .get(path)
        .map(String::as_str)
        .unwrap_or_else(|| facts.text(path).unwrap_or_default())
}

/// Where a client's or sidecar's manifests are (`kubernetes.layout.apps`):
/// its directory, or its manifest file in a flat layout.
pub fn app_dir(network: &Network, namespace: &str, name: &str) -> String {
    avalanche_model::layout::app_path(&network.kubernetes, namespace, name)
}

/// The tracked kustomization of directory `dir`.
pub fn kustomization_in(facts: &RepoFacts, dir: &str) -> Option<String> {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .map(|f| join(dir, f))
        .find(|p| facts.is_tracked(p))
}

/// The generated registration's path (the Argo CD Application or the Flux
/// Kustomization), when the tool generates one.
pub fn application<'f>(network: &Network, facts: &'f RepoFacts) -> Option<&'f str> {
    let path = avalanche_model::layout::registration_path(&network.kubernetes)?;
    facts.generated.get(&path).map(String::as_str)
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
    let mut pending = Pending::new();
    let mut apps: Vec<(&str, &str, Option<Span>)> = Vec::new();
    for (name, c) in &network.egress.clients {
        apps.push((name.as_str(), c.namespace.value.as_str(), c.span));
    }
    for (name, s) in &network.egress.sidecars {
        apps.push((name.as_str(), s.namespace.value.as_str(), s.span));
    }
    apps.sort_by_key(|(name, _, _)| *name);
    let flat = avalanche_model::layout::apps_are_flat(&network.kubernetes);
    for (name, namespace, span) in apps {
        let component =
            avalanche_model::layout::component_dir(&network.kubernetes, namespace, name);
        if !generates_under(facts, &component) {
            continue;
        }
        if flat {
            let manifest = app_dir(network, namespace, name);
            for need in flat_needs(network, facts, &mut pending, &manifest, &component) {
                let purpose = Purpose::Flat {
                    name: name.to_owned(),
                    span,
                    manifest: manifest.clone(),
                    component: component.clone(),
                };
                wiring.needs.push((purpose, need));
            }
            continue;
        }
        let dir = app_dir(network, namespace, name);
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
                    lines_to_add: wrapper_lines(
                        facts,
                        &dir,
                        None,
                        avalanche_model::layout::COMPONENT_DIR,
                    ),
                },
                missing: true,
            }),
            Some(path) => edit(
                facts,
                &mut pending,
                path,
                "components",
                avalanche_model::layout::COMPONENT_DIR,
            ),
        };
        wiring.needs.push((purpose, need));
    }
    if let Some(need) = register(network, facts, &mut pending) {
        wiring.needs.push((Purpose::Application, need));
    }
    wiring
}

/// How an app's flat manifest gets its Component listed: by each hand-written
/// kustomization listing the file (in its `components:`), else by each
/// hand-written Flux Kustomization whose generated kustomization takes the file
/// (in its `spec.components`, relative to `spec.path`); else refused, with the
/// kustomization to write beside the file. Never a Component nothing includes.
fn flat_needs(
    network: &Network,
    facts: &RepoFacts,
    pending: &mut Pending,
    manifest: &str,
    component: &str,
) -> Vec<Need> {
    // Flux's generated kustomization would take a Component under its path as
    // a resource, and fail.
    if let Some((whole, owner)) = flux_applies_whole(facts, component) {
        return vec![Need::Refused(Refused {
            path: owner.clone(),
            refusal: Refusal {
                reason: format!(
                    "the generated Component `{component}` is inside `{whole}`, which the Flux Kustomization in `{owner}` applies whole: Flux would take it for a resource and fail"
                ),
                line: None,
                lines_to_add: String::new(),
            },
            missing: false,
        })];
    }
    let hand_written = |d: &&KubeDoc| !facts.generated.contains(&d.path);
    let mut listing: Vec<&KubeDoc> = facts
        .kube_docs
        .iter()
        .filter(hand_written)
        .filter(|d| {
            d.resources.iter().flatten().any(|r| {
                !r.value.contains("://") && normalize(&join(parent(&d.path), &r.value)) == manifest
            })
        })
        .collect();
    listing.sort_by(|a, b| a.path.cmp(&b.path));
    listing.dedup_by(|a, b| a.path == b.path);
    if !listing.is_empty() {
        return listing
            .iter()
            .map(|d| {
                let entry = relative_to(parent(&d.path), component);
                edit(facts, pending, d.path.clone(), "components", &entry)
            })
            .collect();
    }
    let dir = parent(manifest);
    let mut out = Vec::new();
    if network.kubernetes.gitops.value == GitOps::Flux {
        let mut applying: Vec<(&KubeDoc, String)> = Vec::new();
        for d in facts.kube_docs.iter().filter(hand_written) {
            if !is_flux_kustomization(d) {
                continue;
            }
            for source in &d.source_paths {
                let source = normalize(source.trim_start_matches("./"));
                if kustomization_in(facts, &source).is_none()
                    && files_under(facts, &source).iter().any(|f| f == manifest)
                {
                    applying.push((d, source));
                }
            }
        }
        for (d, source) in applying {
            let entry = relative_to(&source, component);
            let text = current(facts, pending, &d.path).to_owned();
            out.push(
                match list_edit::add_nested_entry_in(
                    &text,
                    "Kustomization",
                    d.name.as_deref().unwrap_or_default(),
                    "spec",
                    "components",
                    &entry,
                ) {
                    Ok(Outcome::Present) => Need::Present,
                    Ok(Outcome::Edited(after)) => {
                        pending.insert(d.path.clone(), after.clone());
                        Need::Edit(Edit {
                            path: d.path.clone(),
                            key: "spec.components",
                            entry,
                            before: text,
                            after,
                        })
                    }
                    Err(refusal) => Need::Refused(Refused {
                        path: d.path.clone(),
                        refusal,
                        missing: false,
                    }),
                },
            );
        }
    }
    if out.is_empty() {
        let lines = wrapper_lines(facts, dir, Some(manifest), &relative_to(dir, component));
        out.push(Need::Refused(Refused {
            path: join(dir, "kustomization.yaml"),
            refusal: Refusal {
                reason: format!(
                    "no kustomization lists `{manifest}`{}",
                    if network.kubernetes.gitops.value == GitOps::Flux {
                        " and no Flux Kustomization applies its directory without one"
                    } else {
                        ""
                    }
                ),
                line: None,
                lines_to_add: lines,
            },
            missing: true,
        }));
    }
    out
}

/// The directory a hand-written Flux Kustomization applies without a
/// kustomization (Flux generates one taking every manifest and every
/// kustomization directory under it) that holds `dir`, and that Flux
/// Kustomization's file.
fn flux_applies_whole(facts: &RepoFacts, dir: &str) -> Option<(String, String)> {
    facts
        .kube_docs
        .iter()
        .filter(|d| is_flux_kustomization(d))
        .flat_map(|d| d.source_paths.iter().map(move |s| (d, s)))
        .map(|(d, s)| (d, normalize(s.trim_start_matches("./"))))
        .find(|(_, s)| {
            avalanche_model::layout::is_within(dir, if s.is_empty() { "." } else { s })
                && kustomization_in(facts, s).is_none()
        })
        .map(|(d, s)| {
            (
                if s.is_empty() { ".".to_owned() } else { s },
                d.path.clone(),
            )
        })
}

/// `to` relative to the directory `from` (both normal repository paths; `""`
/// or `.` is the root): `../vpn-egress/qbittorrent`.
pub(crate) fn relative_to(from: &str, to: &str) -> String {
    let from: Vec<&str> = from
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let to: Vec<&str> = to
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// The kustomization a directory of plain manifests needs to include a
/// component: its own manifests (what Argo CD or Flux applied of it without a
/// kustomization; `also`, a manifest to list even if it is not there yet) and
/// `component` (`vpn-egress` in an app directory, the path of a flat app's).
fn wrapper_lines(facts: &RepoFacts, dir: &str, also: Option<&str>, component: &str) -> String {
    let mut manifests = files_in(facts, dir);
    if let Some(also) = also
        && !manifests.iter().any(|m| m == also)
    {
        manifests.push(also.to_owned());
    }
    let mut lines = String::new();
    if !manifests.is_empty() {
        lines.push_str("resources:\n");
        for m in &manifests {
            lines.push_str("  - ");
            lines.push_str(m.rsplit('/').next().unwrap_or(m));
            lines.push('\n');
        }
    }
    lines.push_str("components:\n  - ");
    lines.push_str(component);
    lines
}

/// Registering the generated Application (in `kubernetes.argocd.registerIn`) or
/// Flux Kustomization (in `kubernetes.flux.registerIn`): `None` when there is
/// nothing to register or nowhere known to register it.
fn register(network: &Network, facts: &RepoFacts, pending: &mut Pending) -> Option<Need> {
    let k = &network.kubernetes;
    let app = application(network, facts)?;
    // It is written in the registering directory: listed by its file name.
    let entry = app.rsplit('/').next().unwrap_or(app).to_owned();
    match k.gitops.value {
        GitOps::ArgoCd => {
            let path = k.argocd.register_in.as_ref()?.value.clone();
            Some(if facts.is_tracked(&path) {
                edit(facts, pending, path, "resources", &entry)
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
            })
        }
        GitOps::Flux => {
            let dir = &k.flux.register_in.as_ref()?.value;
            // Without a kustomization Flux applies every manifest of the
            // directory: the file is registered by being there.
            Some(match kustomization_in(facts, dir) {
                Some(path) => edit(facts, pending, path, "resources", &entry),
                None => Need::Present,
            })
        }
        // Nothing registers a tree the user applies.
        GitOps::None => None,
    }
}

fn edit(
    facts: &RepoFacts,
    pending: &mut Pending,
    path: String,
    key: &'static str,
    entry: &str,
) -> Need {
    let text = current(facts, pending, &path).to_owned();
    match list_edit::add_entry(&text, key, entry) {
        Ok(Outcome::Present) => Need::Present,
        Ok(Outcome::Edited(after)) => {
            pending.insert(path.clone(), after.clone());
            Need::Edit(Edit {
                path,
                key,
                entry: entry.to_owned(),
                before: text,
                after,
            })
        }
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

/// What the GitOps engine deploys from this repository: every file reached
/// from a root. Argo CD's roots are the Applications no kustomization lists
/// (bootstrap apps, applied once by hand) other than generated ones, and
/// `kubernetes.argocd.registerIn`. Flux's are the bootstrap `Kustomization`
/// (`flux-system`; without one, every hand-written Flux Kustomization) and
/// `kubernetes.flux.registerIn`.
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
    let k = &network.kubernetes;
    match k.gitops.value {
        GitOps::ArgoCd => {
            for d in &facts.kube_docs {
                let is_app = d.kind.as_ref().is_some_and(|k| k.value == "Application");
                if is_app && !listed.contains(&d.path) && !facts.generated.contains(&d.path) {
                    out.roots.push(d.path.clone());
                }
            }
            if let Some(r) = &k.argocd.register_in {
                out.roots.push(r.value.clone());
            }
        }
        GitOps::Flux => {
            let flux: Vec<&KubeDoc> = facts
                .kube_docs
                .iter()
                .filter(|d| is_flux_kustomization(d) && !facts.generated.contains(&d.path))
                .collect();
            let bootstrap: Vec<&&KubeDoc> = flux
                .iter()
                .filter(|d| d.name.as_deref() == Some("flux-system"))
                .collect();
            if bootstrap.is_empty() {
                out.roots.extend(flux.iter().map(|d| d.path.clone()));
            } else {
                out.roots.extend(bootstrap.iter().map(|d| d.path.clone()));
            }
            if let Some(r) = &k.flux.register_in {
                match kustomization_in(facts, &r.value) {
                    Some(kz) => out.roots.push(kz),
                    None => out.roots.extend(files_under(facts, &r.value)),
                }
            }
        }
        // No engine: the user applies the trees (`kubectl apply -k`), so no
        // root is known and nothing is judged reached.
        GitOps::None => {}
    }
    queue.extend(out.roots.iter().cloned());
    out.roots.sort();
    out.roots.dedup();
    out.files = walk(network, facts, &docs_by_path, queue, true);
    out
}

/// Every file reached from `queue`, following kustomizations and the
/// engines' source paths (`follow_sources = false` stops at a nested Flux
/// Kustomization: what one Flux Kustomization builds itself).
fn walk(
    network: &Network,
    facts: &RepoFacts,
    docs_by_path: &HashMap<&str, Vec<&KubeDoc>>,
    mut queue: Vec<String>,
    follow_sources: bool,
) -> BTreeSet<String> {
    let k = &network.kubernetes;
    let mut files = BTreeSet::new();
    let mut steps = 0usize;
    while let Some(path) = queue.pop() {
        steps += 1;
        if steps > 1_000_000 || !files.insert(path.clone()) {
            continue;
        }
        let dir = parent(&path);
        // Generated files are not parsed into `kube_docs`: the generated
        // Application deploys the generated proxy tree.
        if follow_sources && application(network, facts) == Some(path.as_str()) {
            queue.push(avalanche_model::layout::join(
                &avalanche_model::layout::proxy_dir(k),
                "kustomization.yaml",
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
            // A nested Flux Kustomization's path is its own build (its own
            // decryption): followed only when walking the whole deployment.
            let sources: &[String] = if follow_sources || !is_flux_kustomization(d) {
                &d.source_paths
            } else {
                &[]
            };
            for source in sources {
                let source = normalize(source.trim_start_matches("./"));
                match kustomization_in(facts, &source) {
                    Some(k) => queue.push(k),
                    // A plain directory: Flux applies the manifests of the whole
                    // tree (it generates the kustomization), Argo CD those of the
                    // directory itself.
                    None if is_flux_kustomization(d) => queue.extend(files_under(facts, &source)),
                    None => queue.extend(files_in(facts, &source)),
                }
            }
            if follow_sources {
                queue.extend(flux_components(facts, d));
            }
        }
    }
    files
}

/// The files one Flux Kustomization builds (and decrypts, or not) itself: its
/// `spec.path` and what the kustomizations there reach, not the paths of the
/// Flux Kustomizations it applies.
pub fn flux_builds(network: &Network, facts: &RepoFacts, flux: &KubeDoc) -> BTreeSet<String> {
    let mut docs_by_path: HashMap<&str, Vec<&KubeDoc>> = HashMap::new();
    for d in &facts.kube_docs {
        docs_by_path.entry(d.path.as_str()).or_default().push(d);
    }
    let mut queue = Vec::new();
    for source in &flux.source_paths {
        let source = normalize(source.trim_start_matches("./"));
        match kustomization_in(facts, &source) {
            Some(k) => queue.push(k),
            None => queue.extend(files_under(facts, &source)),
        }
    }
    queue.extend(flux_components(facts, flux));
    walk(network, facts, &docs_by_path, queue, false)
}

/// The kustomizations of a Flux Kustomization's `spec.components` (relative to
/// its `spec.path`: kustomize-controller adds them to the kustomization it
/// builds there, its own or the one it generates).
fn flux_components(facts: &RepoFacts, flux: &KubeDoc) -> Vec<String> {
    let mut out = Vec::new();
    for source in &flux.source_paths {
        let source = source.trim_start_matches("./");
        for c in &flux.flux_components {
            if let Some(k) = kustomization_in(facts, &normalize(&join(source, &c.value))) {
                out.push(k);
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

/// Whether a document is a Flux `Kustomization` (not a kustomize one).
pub fn is_flux_kustomization(d: &KubeDoc) -> bool {
    d.kind.as_ref().is_some_and(|k| k.value == "Kustomization")
        && d.api_version
            .as_ref()
            .is_some_and(|v| crate::facts::is_flux_api(&v.value))
}

/// What Flux applies of a directory without a kustomization: every YAML file of
/// the tree, except that a subdirectory with its own kustomization is applied
/// through it (its kustomization is returned, not its files).
fn files_under(facts: &RepoFacts, dir: &str) -> Vec<String> {
    let prefix = if dir.is_empty() || dir == "." {
        String::new()
    } else {
        format!("{dir}/")
    };
    let is_yaml = |p: &str| p.ends_with(".yaml") || p.ends_with(".yml");
    let has_kustomization = |d: &str| kustomization_in(facts, d).is_some();
    let mut out = Vec::new();
    for p in &facts.paths {
        let Some(rest) = p.strip_prefix(&prefix) else {
            continue;
        };
        // Hidden directories are not manifests (`.github/`, a generator's cache).
        if !is_yaml(rest) || rest.split('/').rev().skip(1).any(|c| c.starts_with('.')) {
            continue;
        }
        // The directories between `dir` and the file, outermost first.
        let parts: Vec<&str> = rest.split('/').collect();
        let mut owner = None;
        for depth in 1..parts.len() {
            let sub = format!("{prefix}{}", parts[..depth].join("/"));
            if has_kustomization(&sub) {
                owner = Some(sub);
                break;
            }
        }
        match owner {
            None => out.push(p.clone()),
            Some(sub) => {
                if let Some(kz) = kustomization_in(facts, &sub)
                    && !out.contains(&kz)
                {
                    out.push(kz);
                }
            }
        }
    }
    out
}

/// The directory of a repository path (`""` at the root).
pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

pub(crate) fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() || dir == "." {
        rel.to_owned()
    } else {
        format!("{dir}/{rel}")
    }
}

/// `a/./b/../c/` → `a/c`.
pub(crate) fn normalize(path: &str) -> String {
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
        assert_eq!(relative_to(".k8s", "vpn-egress/qbit"), "../vpn-egress/qbit");
        assert_eq!(relative_to("", "vpn-egress/qbit"), "vpn-egress/qbit");
        assert_eq!(relative_to("k/apps", "k/egress/x"), "../egress/x");
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
