//! Where the generated files live in the repository: `kubernetes.dir` in its one
//! normal form, the ledger's path, the writer's journal, and which paths the
//! writer may never touch. One owner for these facts: render, check, the writer
//! and `status` all ask here.
//!
//! ```
//! use avalanche_model::layout;
//! assert_eq!(layout::kubernetes_dir("./kubernetes/.").as_deref(), Ok("kubernetes"));
//! assert!(layout::kubernetes_dir(".git/refs/heads").is_err());
//! assert_eq!(layout::ledger_path("k8s"), "k8s/.avalanche-generated.json");
//! ```

use crate::network::{GitOps, Kubernetes};

/// The shared proxies' tree by default, relative to `kubernetes.dir`
/// (`kubernetes.layout.proxies`; see [`proxy_dir`]).
pub const PROXY_DIR: &str = crate::defaults::LAYOUT_PROXIES;

/// The generated Tailscale policy (repository-relative; outside `kubernetes.dir`).
pub const POLICY_PATH: &str = "tailscale/policy.hujson";

/// The directory of a client's or sidecar's generated kustomize Component, in
/// its app's directory.
pub const COMPONENT_DIR: &str = "vpn-egress";

/// The generated Argo CD Application's file name.
pub const APPLICATION_FILE: &str = "vpn-proxy-app.yaml";

/// The generated Flux `Kustomization`'s file name (named like the tree it
/// applies, as `flux bootstrap` repositories name theirs: `apps.yaml`, `infrastructure.yaml`).
pub const FLUX_KUSTOMIZATION_FILE: &str = "vpn-proxy.yaml";

/// Where the registration is written in the default layout when nothing
/// says where the repository registers its trees, relative to `kubernetes.dir`.
const DEFAULT_REGISTRATION_DIR: &str = "base/infra";

/// The placeholders of `kubernetes.layout.apps`.
pub const APP_PLACEHOLDERS: [&str; 2] = ["{namespace}", "{app}"];

/// Why a `kubernetes.layout.apps` pattern is refused, `None` when it is valid:
/// a relative path without `..`, naming `{app}` (two apps must not share a
/// place), no other `{...}`, and a directory or a `.yaml`/`.yml` file.
pub fn apps_pattern_problem(pattern: &str) -> Option<&'static str> {
    if !pattern.contains("{app}") {
        return Some("the pattern must contain `{app}`: every app needs a place of its own");
    }
    let mut rest = pattern.to_owned();
    for p in APP_PLACEHOLDERS {
        rest = rest.replace(p, "x");
    }
    if rest.contains('{') || rest.contains('}') {
        return Some("the only placeholders are `{namespace}` and `{app}`");
    }
    if let Err(problem) = kubernetes_dir(&rest) {
        return Some(problem.reason());
    }
    if rest.trim_matches('/').is_empty() || rest.split('/').any(|c| c == ".") {
        return Some("write the path without `.` components");
    }
    None
}

/// Why a `kubernetes.layout.egress` pattern is refused, `None` when it is valid:
/// what [`apps_pattern_problem`] asks, and a directory (a Component's).
pub fn egress_pattern_problem(pattern: &str) -> Option<&'static str> {
    if pattern.ends_with(".yaml") || pattern.ends_with(".yml") {
        return Some("a Component is a directory, not a `.yaml` file");
    }
    apps_pattern_problem(pattern)
}

/// Whether the apps' layout is flat: one manifest file per app (`apps/{app}.yaml`),
/// no kustomization of its own to list a component.
pub fn apps_are_flat(k: &Kubernetes) -> bool {
    let p = k.layout.apps.value.as_str();
    p.ends_with(".yaml") || p.ends_with(".yml")
}

/// Where an app's manifests are (repository-relative): its directory, or its
/// manifest file when the layout is flat.
pub fn app_path(k: &Kubernetes, namespace: &str, app: &str) -> String {
    filled(k, &k.layout.apps.value, namespace, app)
}

/// A layout pattern with its placeholders filled, under `kubernetes.dir`.
fn filled(k: &Kubernetes, pattern: &str, namespace: &str, app: &str) -> String {
    let rel = pattern
        .replace("{namespace}", namespace)
        .replace("{app}", app);
    let rel = kubernetes_dir(&rel).unwrap_or(rel);
    join(&normalized(&k.dir), &rel)
}

/// The generated kustomize Component of an app's egress: `<app dir>/vpn-egress`,
/// listed by the app's kustomization; for a flat layout, where
/// `kubernetes.layout.egress` says (listed by what applies the app's file:
/// a kustomization, or a Flux Kustomization's `spec.components`).
pub fn component_dir(k: &Kubernetes, namespace: &str, app: &str) -> String {
    if !apps_are_flat(k) {
        return join(&app_path(k, namespace, app), COMPONENT_DIR);
    }
    filled(k, &k.layout.egress.value, namespace, app)
}

/// The shared proxies' tree (repository-relative): `kubernetes.layout.proxies`
/// under `kubernetes.dir`.
pub fn proxy_dir(k: &Kubernetes) -> String {
    let rel = kubernetes_dir(&k.layout.proxies).unwrap_or_else(|_| k.layout.proxies.clone());
    join(&normalized(&k.dir), &rel)
}

/// The command that applies the generated kustomization directory `dir` when no
/// GitOps engine does (`kubernetes.gitops = "none"`): `kubectl apply -k DIR`, or,
/// when its build runs the KSOPS generator (an exec plugin, which `kubectl apply
/// -k` cannot run), `kubectl kustomize` with plugins enabled, piped to `kubectl
/// apply -f -`. The one wording of it: `status`, the generated README and
/// `check`'s advice all use it.
pub fn apply_command(dir: &str, runs_ksops: bool) -> String {
    if runs_ksops {
        format!("{KSOPS_BUILD} {dir} | kubectl apply -f -")
    } else {
        format!("kubectl apply -k {dir}")
    }
}

/// `kubectl kustomize` able to run KSOPS (an exec plugin): the directory follows.
pub const KSOPS_BUILD: &str = "kubectl kustomize --enable-alpha-plugins --enable-exec";

/// How the generated names of a proxy start: `vpn-proxy-<region>` (see [`proxy_service`]).
const PROXY_SERVICE_PREFIX: &str = "vpn-proxy-";

/// The longest region name whose [`proxy_service`] is still a Kubernetes name
/// (at most 63 characters).
pub const PROXY_REGION_MAX: usize = 63 - PROXY_SERVICE_PREFIX.len();

/// `vpn-proxy-<region>`: the name of a proxy's Service and Deployment, and its
/// `app.kubernetes.io/instance` label. Clients reach it as
/// [`proxy_host`]; `init` reads it back with [`proxy_region`].
pub fn proxy_service(region: &str) -> String {
    concat(&[PROXY_SERVICE_PREFIX, region])
}

/// The region of a proxy's Service name (`vpn-proxy-iceland` → `iceland`);
/// `None` for a name [`proxy_service`] does not make.
pub fn proxy_region(service: &str) -> Option<&str> {
    service.strip_prefix(PROXY_SERVICE_PREFIX)
}

/// A proxy's Service in the cluster's DNS:
/// `vpn-proxy-<region>.<namespace>.svc.<clusterDomain>`.
pub fn proxy_host(region: &str, cluster_domain: &str) -> String {
    let namespace = crate::defaults::PROXY_NAMESPACE;
    concat(&[
        PROXY_SERVICE_PREFIX,
        region,
        ".",
        namespace,
        ".svc.",
        cluster_domain,
    ])
}

/// How the generated names of a gateway's monitoring start: `vpn-gateway-<name>`.
const GATEWAY_MONITORING_PREFIX: &str = "vpn-gateway-";

/// `vpn-gateway-<gateway>`: the name of a monitored gateway's scrape target
/// (the `ScrapeConfig`), its alerts and dashboard, and the Prometheus `job` label of
/// its exporter's series: the rules and the dashboard select that job.
pub fn gateway_job(gateway: &str) -> String {
    concat(&[GATEWAY_MONITORING_PREFIX, gateway])
}

/// `vpn-gateway-<gateway>-proxy`: the name of the `Probe` of a gateway's proxy
/// ports, and the `job` label of its `probe_success` series.
pub fn gateway_probe_job(gateway: &str) -> String {
    concat(&[GATEWAY_MONITORING_PREFIX, gateway, "-proxy"])
}

/// The files of a monitored gateway's objects in the proxies' tree
/// ([`proxy_dir`]), one object each: `gateway-<gateway>-<what>.yaml`, `what`
/// being `scrapeconfig`, `probe`, `prometheusrule` or `dashboard`.
pub fn gateway_monitoring_file(gateway: &str, what: &str) -> String {
    concat(&["gateway-", gateway, "-", what, ".yaml"])
}

/// `<client>-vpn-egress`: the objects an app's egress component adds to its
/// namespace (its NetworkPolicy fence, its Shadowsocks ConfigMap).
pub fn client_egress_name(client: &str) -> String {
    concat(&[client, "-", COMPONENT_DIR])
}

/// How the name of a client's verification Job ends (see [`client_verify_job`]).
const CLIENT_VERIFY_SUFFIX: &str = "-vpn-egress-verify";

/// The longest client name whose [`client_verify_job`] is still a label value
/// (a Job's name becomes its pods' `job-name` label: at most 63 characters).
pub const CLIENT_VERIFY_NAME_MAX: usize = 63 - CLIENT_VERIFY_SUFFIX.len();

/// `<client>-vpn-egress-verify`: the Job that proves an enforced client's fence.
pub fn client_verify_job(client: &str) -> String {
    concat(&[client, CLIENT_VERIFY_SUFFIX])
}

/// Where the generated registration of the proxies' tree is written
/// (repository-relative): the Argo CD Application next to the app-of-apps that
/// lists it (`kubernetes.argocd.registerIn`), the Flux `Kustomization` in the
/// directory Flux applies the cluster's Kustomizations from
/// (`kubernetes.flux.registerIn`); else beside the proxies' tree (`base/infra`
/// in the default layout). `None` with `kubernetes.gitops = "none"`: nothing
/// registers the tree, the user applies it.
pub fn registration_path(k: &Kubernetes) -> Option<String> {
    let (register_dir, file) = match k.gitops.value {
        GitOps::None => return None,
        GitOps::ArgoCd => (
            k.argocd.register_in.as_ref().map(|r| {
                r.value
                    .rsplit_once('/')
                    .map_or(".".to_owned(), |(dir, _)| dir.to_owned())
            }),
            APPLICATION_FILE,
        ),
        GitOps::Flux => (
            k.flux.register_in.as_ref().map(|r| normalized(&r.value)),
            FLUX_KUSTOMIZATION_FILE,
        ),
    };
    let dir = register_dir.unwrap_or_else(|| {
        if k.layout.proxies == PROXY_DIR {
            // Where the bundled layout has always kept it.
            return join(&normalized(&k.dir), DEFAULT_REGISTRATION_DIR);
        }
        let proxies = proxy_dir(k);
        match proxies.rsplit_once('/') {
            Some((parent, _)) => parent.to_owned(),
            None => ".".to_owned(),
        }
    });
    Some(join(&dir, file))
}

/// The ledger's file name, in `kubernetes.dir`: every generated file and the
/// SHA-256 of what was written.
pub const LEDGER_NAME: &str = ".avalanche-generated.json";

/// The writer's journal, at the root it writes under (the repository, or
/// `build --out DIR`): the renames and deletions of a build, written before the
/// first of them, so that a build killed mid-way is finished by the next command.
pub const JOURNAL: &str = ".avalanche-net-journal.json";

/// How the names of `build`'s temp files and staging directories start (they end
/// in `.tmp`).
pub const BUILD_TEMP_PREFIX: &str = ".avalanche-net-";

/// How the names of `secrets seal`'s (and `updatekeys`') temp files start.
pub const SEAL_TEMP_PREFIX: &str = ".avalanche-sops-";

/// Whether a file or directory name is one of the writers' temp files (left by a
/// killed writer until the next one sweeps it): never a file of the repository
/// to check.
pub fn is_writer_temp(name: &str) -> bool {
    (name.starts_with(BUILD_TEMP_PREFIX) && name.ends_with(".tmp"))
        || name.starts_with(SEAL_TEMP_PREFIX)
}

/// Why a `kubernetes.dir` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirProblem {
    /// Starts with `/`.
    Absolute,
    /// Has a `..` component.
    Parent,
    /// Has a `.git` component: generated files would overwrite git's own.
    Git,
    /// Is (or is inside) the directory of the declarations file.
    Declarations,
}

impl DirProblem {
    /// Why, in a sentence fragment (a diagnostic's label).
    pub fn reason(self) -> &'static str {
        match self {
            DirProblem::Absolute => "the path must be relative to the repository root",
            DirProblem::Parent => "the path must stay inside the repository (no `..`)",
            DirProblem::Git => "`.git` is git's own directory: generated files would corrupt it",
            DirProblem::Declarations => {
                "it is the declarations' own directory: a build would write (and prune) next to them"
            }
        }
    }
}

/// `kubernetes.dir` in normal form: `/`-separated, no `.` or empty components,
/// no trailing `/`; `.` for the repository root. Refuses absolute paths, `..`
/// and any `.git` component (compared without case: a case-insensitive
/// filesystem would take `.GIT` for `.git`).
pub fn kubernetes_dir(dir: &str) -> Result<String, DirProblem> {
    if dir.starts_with('/') {
        return Err(DirProblem::Absolute);
    }
    let mut parts = Vec::new();
    for part in dir.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(DirProblem::Parent),
            p if p.eq_ignore_ascii_case(".git") => return Err(DirProblem::Git),
            p => parts.push(p),
        }
    }
    Ok(if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    })
}

/// [`kubernetes_dir`], also refusing the directory holding the declarations file
/// (`declarations_dir`, repository-relative; `.` for the root) and any directory
/// inside it: pruning there could reach the declarations themselves. The root
/// itself (`kubernetes.dir = "."`) stays allowed when the declarations are in a
/// subdirectory, as the writer never prunes outside what its ledger lists and
/// the ledger never lists the declarations.
pub fn kubernetes_dir_for(dir: &str, declarations_dir: &str) -> Result<String, DirProblem> {
    let dir = kubernetes_dir(dir)?;
    let declarations = kubernetes_dir(declarations_dir).unwrap_or_else(|_| ".".to_owned());
    if declarations != "." && is_within(&dir, &declarations) {
        return Err(DirProblem::Declarations);
    }
    Ok(dir)
}

/// `kubernetes.dir` for a network that was decoded (so already valid): the
/// normal form, or the text as given when it is not valid (a network built by
/// hand in a test, say); the writer validates every path it writes anyway.
pub fn normalized(dir: &str) -> String {
    kubernetes_dir(dir).unwrap_or_else(|_| dir.to_owned())
}

/// `rel` inside the (normalised) directory `dir`. In one allocation of the
/// exact size (see [`concat()`]): render makes tens of thousands of paths, and
/// `format!` costs several times more.
pub fn join(dir: &str, rel: &str) -> String {
    if dir == "." || dir.is_empty() {
        rel.to_owned()
    } else {
        concat(&[dir, "/", rel])
    }
}

/// `parts` joined, in one allocation of the exact size: generated names and
/// paths are made tens of thousands of times (render uses it too).
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// The ledger's repository-relative path for a (normalised) `kubernetes.dir`.
pub fn ledger_path(dir: &str) -> String {
    join(dir, LEDGER_NAME)
}

/// Whether the normal relative path `path` is `dir` or inside it (`.` holds
/// everything).
pub fn is_within(path: &str, dir: &str) -> bool {
    dir == "."
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Why a path read from an untrusted place (the ledger, the journal) is not a
/// plain repository-relative path: absolute, empty, with `.`, `..` or empty
/// components, a backslash or a control character. `None` when it is one.
pub fn relative_path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("the path is empty");
    }
    if path.starts_with('/') {
        return Some("the path is absolute");
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Some("the path has a control character or a backslash");
    }
    for part in path.split('/') {
        match part {
            "" => return Some("the path has an empty component (`//` or a trailing `/`)"),
            "." => return Some("the path has a `.` component"),
            ".." => return Some("the path leaves its directory (`..`)"),
            _ => {}
        }
    }
    None
}

/// Whether a (normal, relative) path is one the writer must never delete or
/// overwrite whatever its ledger says: anything in `.git`, and the SOPS
/// creation rules. (The declarations file and the SOPS files are known only to
/// the caller, which refuses them too.)
pub fn is_protected(path: &str) -> bool {
    path.split('/').any(|p| p.eq_ignore_ascii_case(".git")) || path == ".sops.yaml"
}

/// What a ledger may name: the generated files, and only them.
#[derive(Debug, Clone, Copy)]
pub struct LedgerScope<'a> {
    /// `kubernetes.dir`, normalised: an entry must be inside it...
    pub kubernetes_dir: &'a str,
    /// ...or be one of these generated files outside it (the Tailscale policy).
    pub also: &'a [&'a str],
    /// Paths never to touch whatever the ledger says (the declarations file, the
    /// SOPS files), besides what [`is_protected`] refuses.
    pub protected: &'a [String],
}

impl LedgerScope<'_> {
    /// Why `path` may not be in a ledger, if it may not.
    pub fn problem(&self, path: &str) -> Option<String> {
        if let Some(why) = relative_path_problem(path) {
            return Some(why.to_owned());
        }
        if is_protected(path) || self.protected.iter().any(|p| p == path) {
            return Some(
                "the writer never touches it (git's files, the declarations, the SOPS rules and files)"
                    .to_owned(),
            );
        }
        if is_within(path, self.kubernetes_dir) || self.also.contains(&path) {
            return None;
        }
        let mut roots = vec![format!("{}/", self.kubernetes_dir)];
        roots.extend(self.also.iter().map(|p| (*p).to_owned()));
        Some(format!(
            "it is outside the generated files ({})",
            roots.join(", ")
        ))
    }
}

/// A ledger that cannot be trusted: where, which entry, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {}{reason}", entry.as_ref().map(|e| format!("entry {e:?}: ")).unwrap_or_default())]
pub struct LedgerError {
    /// The ledger's repository-relative path.
    pub file: String,
    /// The line of the entry (1 when the whole file is wrong).
    pub line: usize,
    /// The entry's path, when one entry is wrong.
    pub entry: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// Reads a ledger's text (`file` is its path, for errors): the generated files
/// and the SHA-256 of each, every entry checked against `scope`. The ledger is
/// a file in the repository, so anyone may have edited it: an entry outside the
/// generated files (`flake.nix`, `.git/config`) is refused rather than pruned.
pub fn parse_ledger(
    text: &str,
    file: &str,
    scope: &LedgerScope<'_>,
) -> Result<std::collections::BTreeMap<String, String>, LedgerError> {
    let whole = |reason: &str| LedgerError {
        file: file.to_owned(),
        line: 1,
        entry: None,
        reason: reason.to_owned(),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| LedgerError {
        file: file.to_owned(),
        line: e.line().max(1),
        entry: None,
        reason: format!("not valid JSON ({e})"),
    })?;
    let files = value
        .get("files")
        .and_then(|f| f.as_object())
        .ok_or_else(|| whole("no `files` object"))?;
    let mut out = std::collections::BTreeMap::new();
    for (path, hash) in files {
        let bad = |reason: String| LedgerError {
            file: file.to_owned(),
            line: line_of_key(text, path),
            entry: Some(path.clone()),
            reason,
        };
        let Some(hash) = hash.as_str() else {
            return Err(bad("its hash is not a string".to_owned()));
        };
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("its hash is not a hex SHA-256".to_owned()));
        }
        if let Some(why) = scope.problem(path) {
            return Err(bad(why));
        }
        out.insert(path.clone(), hash.to_ascii_lowercase());
    }
    Ok(out)
}

/// The ledger's text for `files` (path → hex SHA-256), sorted, one entry a line.
pub fn ledger_text(files: &std::collections::BTreeMap<String, String>) -> String {
    let files: serde_json::Map<String, serde_json::Value> = files
        .iter()
        .map(|(p, h)| (p.clone(), serde_json::Value::String(h.clone())))
        .collect();
    let doc = serde_json::json!({
        "comment": "Files generated by avalanche-net (path -> sha256 of their content). Do not edit: `avalanche-net build` uses it to find hand edits and prune.",
        "version": 1,
        "files": files,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The line where the JSON key `key` is written (1 when it cannot be found).
fn line_of_key(text: &str, key: &str) -> usize {
    let needle = serde_json::Value::String(key.to_owned()).to_string();
    text.find(&needle).map_or(1, |at| {
        text[..at].bytes().filter(|b| *b == b'\n').count() + 1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_dir_has_one_normal_form() {
        for (given, normal) in [
            ("kubernetes", "kubernetes"),
            ("./kubernetes/", "kubernetes"),
            ("kubernetes/.", "kubernetes"),
            ("kubernetes//base/./", "kubernetes/base"),
            (".", "."),
            ("./", "."),
            ("", "."),
        ] {
            assert_eq!(kubernetes_dir(given).as_deref(), Ok(normal), "{given}");
        }
    }

    #[test]
    fn kubernetes_dir_refuses_git_absolute_and_parent() {
        assert_eq!(kubernetes_dir(".git/refs/heads"), Err(DirProblem::Git));
        assert_eq!(kubernetes_dir("x/.GIT"), Err(DirProblem::Git));
        assert_eq!(kubernetes_dir("/etc"), Err(DirProblem::Absolute));
        assert_eq!(kubernetes_dir("k8s/../.."), Err(DirProblem::Parent));
        assert_eq!(
            kubernetes_dir_for("nix/", "nix"),
            Err(DirProblem::Declarations)
        );
        assert_eq!(
            kubernetes_dir_for("nix/k8s", "nix"),
            Err(DirProblem::Declarations)
        );
        assert_eq!(kubernetes_dir_for(".", "nix").as_deref(), Ok("."));
        assert_eq!(kubernetes_dir_for("nixos", "nix").as_deref(), Ok("nixos"));
    }

    #[test]
    fn apps_layouts() {
        let mut k = Kubernetes::default();
        assert_eq!(
            app_path(&k, "media", "qbit"),
            "kubernetes/base/apps/media/qbit"
        );
        assert_eq!(
            component_dir(&k, "media", "qbit"),
            "kubernetes/base/apps/media/qbit/vpn-egress"
        );
        assert_eq!(proxy_dir(&k), "kubernetes/base/infra/network/vpn-proxy");
        assert_eq!(
            registration_path(&k).as_deref(),
            Some("kubernetes/base/infra/vpn-proxy-app.yaml")
        );
        k.dir = ".".to_owned();
        k.layout.apps = crate::Spanned::unspanned("apps/{app}.yaml".to_owned());
        k.layout.proxies = "infrastructure/vpn-proxy".to_owned();
        k.gitops = crate::Spanned::unspanned(GitOps::Flux);
        assert!(apps_are_flat(&k));
        assert_eq!(app_path(&k, "media", "qbit"), "apps/qbit.yaml");
        assert_eq!(component_dir(&k, "media", "qbit"), "vpn-egress/qbit");
        assert!(egress_pattern_problem("egress/{app}.yaml").is_some());
        assert_eq!(egress_pattern_problem("egress/{namespace}/{app}"), None);
        assert_eq!(
            registration_path(&k).as_deref(),
            Some("infrastructure/vpn-proxy.yaml")
        );
        k.flux.register_in = Some(crate::Spanned::unspanned("clusters/home/".to_owned()));
        assert_eq!(
            registration_path(&k).as_deref(),
            Some("clusters/home/vpn-proxy.yaml")
        );
        k.gitops = crate::Spanned::unspanned(GitOps::None);
        assert_eq!(registration_path(&k), None);
        for bad in [
            "apps/{namespace}",
            "/apps/{app}",
            "../{app}",
            "a/{ns}/{app}",
            "./{app}",
        ] {
            assert!(apps_pattern_problem(bad).is_some(), "{bad}");
        }
        for good in [
            "base/apps/{namespace}/{app}",
            "{namespace}/{app}",
            "apps/{app}.yaml",
        ] {
            assert_eq!(apps_pattern_problem(good), None, "{good}");
        }
    }

    #[test]
    fn generated_names_round_trip() {
        assert_eq!(proxy_service("iceland"), "vpn-proxy-iceland");
        assert_eq!(proxy_region(&proxy_service("iceland")), Some("iceland"));
        assert_eq!(proxy_region("iceland"), None);
        assert_eq!(
            proxy_host("iceland", "cluster.local"),
            "vpn-proxy-iceland.vpn-proxy.svc.cluster.local"
        );
        assert_eq!(proxy_service(&"a".repeat(PROXY_REGION_MAX)).len(), 63);
        assert_eq!(client_verify_job("irc"), "irc-vpn-egress-verify");
        assert_eq!(client_egress_name("irc"), "irc-vpn-egress");
        assert_eq!(
            client_verify_job(&"a".repeat(CLIENT_VERIFY_NAME_MAX)).len(),
            63
        );
    }

    #[test]
    fn untrusted_paths_must_be_plain() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "./a",
            "a//b",
            "a/",
            "a\\b",
            "a\nb",
        ] {
            assert!(relative_path_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(relative_path_problem("kubernetes/base/x.yaml"), None);
        assert!(is_protected(".git/config"));
        assert!(is_protected("sub/.git/HEAD"));
        assert!(is_protected(".sops.yaml"));
        assert!(!is_protected("kubernetes/x.yaml"));
        assert!(is_within("kubernetes/a", "kubernetes"));
        assert!(!is_within("kubernetes2/a", "kubernetes"));
        assert!(is_within("anything", "."));
    }

    #[test]
    fn a_ledger_names_generated_files_only() {
        let protected = ["nix/network.nix".to_owned()];
        let scope = LedgerScope {
            kubernetes_dir: "kubernetes",
            also: &["tailscale/policy.hujson"],
            protected: &protected,
        };
        let hash = "a".repeat(64);
        let ledger = |path: &str| {
            format!(
                "{{\n  \"version\": 1,\n  \"files\": {{\n    \"kubernetes/a.yaml\": \"{hash}\",\n    {path:?}: \"{hash}\"\n  }}\n}}\n"
            )
        };
        let ok = parse_ledger(&ledger("tailscale/policy.hujson"), "L", &scope).expect("valid");
        assert_eq!(ok.len(), 2);
        for bad in [
            "flake.nix",
            "nix/network.nix",
            ".git/config",
            "kubernetes/../flake.nix",
            "/etc/passwd",
            "kubernetes/.git/x",
        ] {
            let err = parse_ledger(&ledger(bad), "L", &scope).expect_err(bad);
            assert_eq!((err.line, err.entry.as_deref()), (5, Some(bad)), "{err}");
        }
        let err = parse_ledger("{", "L", &scope).expect_err("not JSON");
        assert!(err.to_string().starts_with("L:1: not valid JSON"), "{err}");
        let round = ledger_text(&ok);
        assert_eq!(parse_ledger(&round, "L", &scope), Ok(ok));
    }
}
