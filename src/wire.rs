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
    match network.kubernetes.gitops.value {
        GitOps::Flux => return detect_flux_register_in(repo, network),
        // Nothing registers a tree the user applies.
        GitOps::None => return,
        GitOps::ArgoCd => {}
    }
    if network.kubernetes.argocd.register_in.is_some() {
        return;
    }
    let found = collect_files(repo, &network.kubernetes.dir, &|name| {
        name == "kustomization.yaml" || name == "kustomization.yml"
    });
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
    let found = collect_files(repo, ".", &|name| {
        name.ends_with(".yaml") || name.ends_with(".yml")
    });
    let mut roots: Vec<String> = found
        .iter()
        .filter(|(_, text)| text.contains(avalanche_check::facts::FLUX_KUSTOMIZE_API))
        .flat_map(|(path, text)| avalanche_check::facts::kube_docs_of(path, text))
        .filter(|d| {
            avalanche_check::wiring::is_flux_kustomization(d)
                && d.name.as_deref() == Some("flux-system")
        })
        .filter_map(|d| d.source_paths.first().cloned())
        .map(|p| avalanche_model::layout::normalized(&p))
        .collect();
    roots.sort();
    roots.dedup();
    if let [only] = roots.as_slice() {
        network.kubernetes.flux.register_in = Some(Spanned::unspanned(only.clone()));
    }
}

/// A kustomization (or Flux manifest) larger than this is not one worth reading.
const MAX_KUSTOMIZATION_BYTES: u64 = 1 << 20;

/// The files under `dir` (repository-relative, `.` for all) whose name `wanted`
/// accepts, with their text: the files `check` sees there (`walk.rs`, the one
/// walker), each read bounded. A repository that cannot be listed has none:
/// nothing is detected, and `check` reports why it cannot read it.
fn collect_files(repo: &Path, dir: &str, wanted: &dyn Fn(&str) -> bool) -> Vec<(String, String)> {
    let Ok(listing) = crate::walk::list_under(repo, dir) else {
        return Vec::new();
    };
    listing
        .paths
        .into_iter()
        .filter(|path| wanted(path.rsplit('/').next().unwrap_or(path)))
        .filter_map(|path| {
            let text =
                avalanche_fsread::read_text(&repo.join(&path), MAX_KUSTOMIZATION_BYTES).ok()?;
            Some((path, text))
        })
        .collect()
}
