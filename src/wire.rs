//! Where the repository registers its Argo CD Applications (or Flux
//! Kustomizations), found before the declarations are rendered (the generated
//! Application or Kustomization is written there).
//!
//! An app-of-apps is a kustomization listing `*-app.yaml` files of its own
//! directory (see `avalanche_check::wiring::app_of_apps`). When exactly one is
//! found under `kubernetes.dir` and `kubernetes.argocd.registerIn` is not
//! declared, it becomes `registerIn`; several are `check`'s business (it asks
//! for `registerIn`).
use avalanche_model::{GitOps, Network, Spanned};
use std::path::Path;

/// Fills `kubernetes.argocd.registerIn` (or `kubernetes.flux.registerIn`)
/// from the repository when it is not declared.
pub fn detect_register_in(repo: &Path, network: &mut Network) {
    if network.kubernetes.gitops.value == GitOps::Flux {
        detect_flux_register_in(repo, network);
        return;
    }
    if network.kubernetes.argocd.register_in.is_some() {
        return;
    }
    let dir = network
        .kubernetes
        .dir
        .trim_start_matches("./")
        .trim_end_matches('/');
    let dir = if dir.is_empty() { "." } else { dir };
    let mut found = Vec::new();
    collect_files(
        repo,
        dir,
        0,
        &mut Budget(100_000),
        &|name| name == "kustomization.yaml" || name == "kustomization.yml",
        &mut found,
    );
    let candidates =
        avalanche_check::wiring::app_of_apps(found.iter().map(|(p, t)| (p.as_str(), t.as_str())));
    if let [only] = candidates.as_slice() {
        network.kubernetes.argocd.register_in = Some(Spanned::unspanned(only.clone()));
    }
}

/// Fills `kubernetes.flux.registerIn` with the directory the bootstrap Flux
/// `Kustomization` (`flux-system`, as `flux bootstrap` writes it in
/// `clusters/<name>/flux-system/gotk-sync.yaml`) applies: where the cluster's
/// Kustomizations live. Several bootstraps (one repository, several clusters)
/// are ambiguous: nothing is filled, and `status` says the tree is not reached.
fn detect_flux_register_in(repo: &Path, network: &mut Network) {
    if network.kubernetes.flux.register_in.is_some() {
        return;
    }
    let mut found = Vec::new();
    collect_files(
        repo,
        ".",
        0,
        &mut Budget(100_000),
        &|name| name.ends_with(".yaml") || name.ends_with(".yml"),
        &mut found,
    );
    let mut roots: Vec<String> = found
        .iter()
        .filter(|(_, text)| text.contains("kustomize.toolkit.fluxcd.io"))
        .flat_map(|(path, text)| avalanche_check::facts::kube_docs_of(path, text))
        .filter(|d| {
            avalanche_check::wiring::is_flux_kustomization(d)
                && d.name.as_deref() == Some("flux-system")
        })
        .filter_map(|d| d.source_paths.first().cloned())
        .map(|p| avalanche_model::layout::normalized(p.trim_start_matches("./")))
        .collect();
    roots.sort();
    roots.dedup();
    if let [only] = roots.as_slice() {
        network.kubernetes.flux.register_in = Some(Spanned::unspanned(only.clone()));
    }
}

/// A kustomization (or Flux manifest) larger than this is not one worth reading.
const MAX_KUSTOMIZATION_BYTES: u64 = 1 << 20;

/// How many directory entries the walk may still look at.
struct Budget(usize);

/// The files under `rel` (repo-relative) whose name `wanted` accepts, with
/// their text. No symlink is followed; hidden directories are skipped; depth,
/// entries and each file's size are bounded.
fn collect_files(
    repo: &Path,
    rel: &str,
    depth: usize,
    budget: &mut Budget,
    wanted: &dyn Fn(&str) -> bool,
    out: &mut Vec<(String, String)>,
) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(repo.join(rel)) else {
        return;
    };
    let mut names: Vec<(String, std::fs::FileType)> = entries
        .flatten()
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.file_type().ok()?)))
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, kind) in names {
        if budget.0 == 0 {
            return;
        }
        budget.0 -= 1;
        if name.starts_with('.') {
            continue;
        }
        let path = if rel == "." {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if kind.is_dir() {
            collect_files(repo, &path, depth + 1, budget, wanted, out);
        } else if kind.is_file()
            && wanted(&name)
            && let Ok(text) =
                avalanche_fsread::read_text(&repo.join(&path), MAX_KUSTOMIZATION_BYTES)
        {
            out.push((path, text));
        }
    }
}
