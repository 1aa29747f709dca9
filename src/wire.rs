//! Where the repository registers its Argo CD Applications, found before the
//! declarations are rendered (the generated Application is written next to it).
//!
//! An app-of-apps is a kustomization listing `*-app.yaml` files of its own
//! directory (see `avalanche_check::wiring::app_of_apps`). When exactly one is
//! found under `kubernetes.dir` and `kubernetes.argocd.registerIn` is not
//! declared, it becomes `registerIn`; several are `check`'s business (it asks
//! for `registerIn`).
use avalanche_model::{Network, Spanned};
use std::path::Path;

/// Fills `kubernetes.argocd.registerIn` from the repository when it is not declared.
pub fn detect_register_in(repo: &Path, network: &mut Network) {
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
    collect_kustomizations(repo, dir, 0, &mut Budget(100_000), &mut found);
    let candidates =
        avalanche_check::wiring::app_of_apps(found.iter().map(|(p, t)| (p.as_str(), t.as_str())));
    if let [only] = candidates.as_slice() {
        network.kubernetes.argocd.register_in = Some(Spanned::unspanned(only.clone()));
    }
}

/// A kustomization larger than this is not an app-of-apps worth reading.
const MAX_KUSTOMIZATION_BYTES: u64 = 1 << 20;

/// How many directory entries the walk may still look at.
struct Budget(usize);

/// The kustomization files under `rel` (repo-relative), with their text. No
/// symlink is followed; hidden directories are skipped; depth and entries are bounded.
fn collect_kustomizations(
    repo: &Path,
    rel: &str,
    depth: usize,
    budget: &mut Budget,
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
            collect_kustomizations(repo, &path, depth + 1, budget, out);
        } else if kind.is_file()
            && (name == "kustomization.yaml" || name == "kustomization.yml")
            && let Ok(text) =
                avalanche_fsread::read_text(&repo.join(&path), MAX_KUSTOMIZATION_BYTES)
        {
            out.push((path, text));
        }
    }
}
