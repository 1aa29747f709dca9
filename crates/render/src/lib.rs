//! Renders the network into a [`Plan`]: repo-relative path → bytes, for the
//! Kubernetes trees (the `vpn-proxy` proxies, the clients' and sidecars' kustomize
//! Components), the Argo CD Application, monitoring, docs and the Tailscale policy.
//!
//! ```
//! let network = avalanche_model::Network::default();
//! let plan = avalanche_render::render(&network).expect("nothing to resolve");
//! assert!(plan.get("tailscale/policy.hujson").is_some());
//! ```
//!
//! Layout (`<dir>` is `kubernetes.dir`):
//! - `<dir>/base/infra/network/vpn-proxy/`: per region `deployment-<r>.yaml` and
//!   `service-<r>.yaml`, `namespace.yaml`, the ingress fence (`networkpolicy-*.yaml`),
//!   the KSOPS `secret-generator.yaml`, monitoring, `kustomization.yaml`, `README.md`;
//! - `<dir>/base/infra/vpn-proxy-app.yaml`: the Argo CD Application (next to the
//!   app-of-apps kustomization instead when `kubernetes.argocd.registerIn` names one),
//!   or with `kubernetes.gitops = "flux"` the Flux `Kustomization` `vpn-proxy.yaml`
//!   (in `kubernetes.flux.registerIn`), which decrypts the SOPS Secrets itself: they
//!   are then listed as resources, with no KSOPS generator;
//! - `<dir>/base/apps/<namespace>/<name>/vpn-egress/`: a kustomize Component per
//!   client or sidecar, listed by the app's own (hand-written) kustomization
//!   (`kubernetes.layout.apps` says where the apps are);
//!
//! Every path comes from `avalanche_model::layout`.
//! - `tailscale/policy.hujson`.
//!
//! Documents are [`node::Node`] trees emitted by [`yaml`] (which quotes every string
//! a YAML 1.1 parser would read as a bool or number: `"on"`, `"8888"`).
//!
//! This crate must not touch the disk, read the clock or the environment: the same
//! network always gives the same bytes, and writing the plan is the binary's job.
//! It does not re-validate what `check` validates: it takes a resolved network
//! ([`avalanche_model::Resolved`], whose references all resolve), so it never
//! meets an unknown proxy, provider or secret.
#![deny(missing_docs)]
#![recursion_limit = "512"]

mod clients;
pub mod gateway;
pub mod gluetun;
pub mod graph;
mod monitoring;
pub mod node;
mod plan;
pub mod policy;
mod proxy;
mod readme;
pub mod yaml;

pub use plan::{HEADER, LEDGER_NAME, Plan};

use crate::node::{Node, node};
use avalanche_diag::Diagnostic;
use avalanche_model::{Network, Resolved};
use std::borrow::Cow;

/// The repo-relative path of the Tailscale policy file.
pub const POLICY_PATH: &str = avalanche_model::layout::POLICY_PATH;

/// Resolves the network ([`Network::resolve`]) and renders it
/// ([`render_resolved`]). `Err` carries the resolver's errors: one located error
/// per reference the manifests cannot be written without (an unknown proxy,
/// provider or credentials secret, …), the ones `check` reports.
pub fn render(network: &Network) -> Result<Plan, Vec<Diagnostic>> {
    Ok(render_resolved(&network.resolve()?))
}

/// Renders every generated file of a resolved network. Pure: no I/O. It cannot
/// fail: a [`Resolved`] network has no dangling reference.
pub fn render_resolved(resolved: &Resolved<'_>) -> Plan {
    let network = resolved.network;
    let ctx = Ctx {
        net: network,
        root: avalanche_model::layout::normalized(&network.kubernetes.dir),
        resolved,
    };
    let mut plan = Plan::new();
    plan.set_ledger_path(avalanche_model::layout::ledger_path(&ctx.root));
    proxy::render(&ctx, &mut plan);
    clients::render(&ctx, &mut plan);
    let policy = policy::render(network);
    let policy = if policy.starts_with("//") {
        policy
    } else {
        format!("// {}{policy}", HEADER.trim_start_matches("# "))
    };
    plan.insert(POLICY_PATH, policy);
    plan
}

/// `f` over `items`, in order; on two threads when there are enough items to
/// pay for one (the output is the same either way: each item is rendered alone).
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() < PARALLEL_FROM {
        return items.iter().map(&f).collect();
    }
    let (first, second) = items.split_at(items.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| second.iter().map(&f).collect::<Vec<R>>());
        let mut out: Vec<R> = first.iter().map(&f).collect();
        match other.join() {
            Ok(rest) => out.extend(rest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        out
    })
}

/// Below this many items a second thread costs more than it saves.
pub(crate) const PARALLEL_FROM: usize = 64;

/// What every renderer shares.
pub(crate) struct Ctx<'a> {
    pub net: &'a Network,
    /// `kubernetes.dir`, without `./` or trailing `/`.
    pub root: String,
    pub resolved: &'a Resolved<'a>,
}

impl Ctx<'_> {
    /// The shared proxies' tree (`kubernetes.layout.proxies`).
    pub fn proxy_dir(&self) -> String {
        avalanche_model::layout::proxy_dir(&self.net.kubernetes)
    }

    /// An app's generated Component (`<app dir>/vpn-egress`, or
    /// `kubernetes.layout.egress` for flat manifests).
    pub fn component_dir(&self, namespace: &str, name: &str) -> String {
        avalanche_model::layout::component_dir(&self.net.kubernetes, namespace, name)
    }

    /// Whether the SOPS-encrypted Secrets are decrypted by the GitOps engine
    /// itself (Flux) and so listed as plain resources, rather than by a KSOPS
    /// generator (Argo CD's repo-server).
    // A `kubernetes.secrets = "ksops" | "none"` mode (issue 16) composes here:
    // Flux decrypting natively is its own way, whatever that mode says.
    pub fn engine_decrypts(&self) -> bool {
        self.net.kubernetes.gitops.value == avalanche_model::GitOps::Flux
    }

    /// `http://vpn-proxy-<region>.vpn-proxy.svc.<clusterDomain>:<port>` without scheme.
    pub fn proxy_host(&self, region: &str) -> String {
        avalanche_model::layout::proxy_host(region, &self.net.kubernetes.cluster_domain)
    }
}

/// The file name of the generated Argo CD Application.
pub const APPLICATION_FILE: &str = avalanche_model::layout::APPLICATION_FILE;

/// Whether `build` writes the shared proxies' tree, and with it its README and
/// its registration: for the gluetun proxies, and for the gateways monitored in
/// the cluster (their scrape targets, probes, alerts and dashboards live in it).
/// `status` expects those files exactly then.
pub fn writes_proxy_tree(network: &Network) -> bool {
    !network.egress.proxies.is_empty()
        || crate::monitoring::monitored_gateways_of(network)
            .next()
            .is_some()
}

/// Where the generated registration (the Argo CD Application or the Flux
/// Kustomization) is written: see [`avalanche_model::layout::registration_path`]
/// (`None` with `kubernetes.gitops = "none"`).
pub fn application_path(network: &Network) -> Option<String> {
    avalanche_model::layout::registration_path(&network.kubernetes)
}

/// `parts` joined, in one allocation of the exact size (`format!` costs several
/// times more, and file paths and names are made tens of thousands of times).
pub(crate) use avalanche_model::layout::concat;

/// The namespace of the shared proxies.
pub const PROXY_NAMESPACE: &str = avalanche_model::defaults::PROXY_NAMESPACE;

/// `to` relative to the directory `from` (both repo-relative, `/`-separated).
pub(crate) fn relative(from_dir: &str, to: &str) -> String {
    let from: Vec<&str> = from_dir
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let to_parts: Vec<&str> = to
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to_parts[common..]);
    parts.join("/")
}

/// `app.kubernetes.io/*` labels shared by everything generated.
pub(crate) fn labels<'a>(
    name: &'a str,
    instance: Option<Cow<'a, str>>,
    component: &'a str,
) -> Node<'a> {
    // Room for the namespace's extra label: no regrowth.
    let mut m = Vec::with_capacity(6);
    m.push(("app.kubernetes.io/name".into(), node!(name)));
    if let Some(i) = instance {
        m.push(("app.kubernetes.io/instance".into(), node!(i)));
    }
    m.push(("app.kubernetes.io/component".into(), node!(component)));
    m.push(("app.kubernetes.io/part-of".into(), node!("avalanche")));
    m.push((
        "app.kubernetes.io/managed-by".into(),
        node!("avalanche-net"),
    ));
    Node::Map(m)
}

/// The selector of one proxy's pods; `instance` is `vpn-proxy-<region>`.
pub(crate) fn proxy_selector<'a>(instance: impl Into<Cow<'a, str>>) -> Node<'a> {
    node!({
        "app.kubernetes.io/name": "vpn-proxy",
        "app.kubernetes.io/instance": instance.into(),
    })
}

/// The whole plan as one text, file by file: what the snapshot tests compare.
pub fn plan_listing(plan: &Plan) -> String {
    let mut out = String::new();
    for (path, bytes) in plan.files() {
        out.push_str("=== ");
        out.push_str(path);
        out.push_str(" ===\n");
        out.push_str(&String::from_utf8_lossy(bytes));
        if !bytes.ends_with(b"\n") {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::test_network;
    use avalanche_model::{Name, Secret, SecretFormat, Spanned};

    /// The bundled network (`nix/network.nix`), secrets included.
    pub(crate) fn bundled() -> Network {
        let mut n = test_network::bundled();
        let keys = |ks: &[&str]| {
            ks.iter()
                .map(|k| Spanned::unspanned((*k).to_owned()))
                .collect()
        };
        n.secrets.insert(
            Name::new("protonvpn").unwrap_or_else(|e| panic!("{e}")),
            Secret {
                span: None,
                format: SecretFormat::Kubernetes,
                file: Spanned::unspanned(
                    "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml".to_owned(),
                ),
                keys: keys(&[
                    "WIREGUARD_PRIVATE_KEY",
                    "WIREGUARD_ADDRESSES",
                    "SHADOWSOCKS_PASSWORD",
                ]),
                namespace: None,
            },
        );
        n
    }

    #[test]
    fn deterministic() {
        let a = render(&bundled()).unwrap_or_else(|d| panic!("{d:#?}"));
        let b = render(&bundled()).unwrap_or_else(|d| panic!("{d:#?}"));
        assert_eq!(a, b);
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative("a/b/c", "a/b/c/f.yaml"), "f.yaml");
        assert_eq!(relative("a/b/c", "a/x/f.yaml"), "../../x/f.yaml");
        assert_eq!(relative(".", "a/f"), "a/f");
    }

    fn name(s: &str) -> Name {
        Name::new(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn text(plan: &Plan, path: &str) -> String {
        String::from_utf8_lossy(plan.get(path).unwrap_or_else(|| panic!("no {path}"))).into_owned()
    }

    #[test]
    fn unknown_proxy_is_a_located_error() {
        let mut n = bundled();
        let file =
            avalanche_diag::SourceMap::default().add("nix/network.nix", "proxy = \"germany\";\n");
        let span = avalanche_diag::SourceMap::default().span(file, 8, 17);
        if let Some(c) = n.egress.clients.get_mut("marmithon") {
            c.proxy = Spanned {
                value: name("germany"),
                span: Some(span),
            };
        }
        let errors = render(&n).expect_err("an unknown proxy");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].rule, "egress-unknown-proxy");
        assert_eq!(errors[0].span, Some(span));
        assert!(
            errors[0]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("`iceland` and `netherlands`")),
            "{errors:#?}"
        );
    }

    #[test]
    fn unknown_provider_and_secret_are_errors() {
        let mut n = bundled();
        n.secrets.clear();
        let errors = render(&n).expect_err("no credentials");
        assert!(
            errors.iter().all(|d| d.rule == "egress-unknown-secret"),
            "{errors:#?}"
        );
        let mut n = bundled();
        n.egress.providers.clear();
        let errors = render(&n).expect_err("no provider");
        assert!(
            errors.iter().any(|d| d.rule == "egress-unknown-provider"),
            "{errors:#?}"
        );
    }

    #[test]
    fn a_proxy_without_clients_admits_nobody() {
        let plan = render(&bundled()).unwrap_or_else(|d| panic!("{d:#?}"));
        let dir = "kubernetes/base/infra/network/vpn-proxy";
        assert!(
            plan.get(&format!("{dir}/networkpolicy-iceland.yaml"))
                .is_some()
        );
        // An allow policy with an empty `from` would admit everyone: none is written.
        assert!(
            plan.get(&format!("{dir}/networkpolicy-netherlands.yaml"))
                .is_none()
        );
        assert!(
            text(&plan, &format!("{dir}/networkpolicy-default-deny.yaml"))
                .contains("podSelector: {}")
        );
    }

    /// The generated README speaks of KSOPS only when a tree really runs its
    /// generator, and applies each tree with the command that builds it
    /// (`kubernetes.gitops = "none"`): one owner, `layout::apply_command`
    /// over `Network::proxies_run_ksops`, which agrees with the plan.
    #[test]
    fn the_readme_speaks_of_ksops_only_when_a_generator_is_emitted() {
        let dir = "kubernetes/base/infra/network/vpn-proxy";
        let generator = format!("{dir}/secret-generator.yaml");
        let ksops = "kubectl kustomize --enable-alpha-plugins --enable-exec";

        // Argo CD, KSOPS, SOPS-sealed credentials: the generator and its setup.
        let n = bundled();
        let plan = render(&n).unwrap_or_else(|d| panic!("{d:#?}"));
        assert!(n.proxies_run_ksops() && plan.get(&generator).is_some());
        assert!(
            text(&plan, &format!("{dir}/README.md")).contains("## Secrets and Argo CD (KSOPS)")
        );

        // Every credential the cluster's own Secret: no generator, no KSOPS advice.
        let mut n = bundled();
        n.kubernetes.secrets = Spanned::unspanned(avalanche_model::SecretsBackend::None);
        let existing = avalanche_model::ExistingSecret {
            span: None,
            name: Spanned::unspanned(name("vpn")),
            keys: Default::default(),
        };
        for p in n.egress.proxies.values_mut() {
            p.credentials = None;
            p.existing_secret = Some(existing.clone());
        }
        for s in n.egress.sidecars.values_mut() {
            s.credentials = None;
            s.existing_secret = Some(existing.clone());
        }
        let plan = render(&n).unwrap_or_else(|d| panic!("{d:#?}"));
        assert!(!n.proxies_run_ksops() && plan.get(&generator).is_none());
        let readme = text(&plan, &format!("{dir}/README.md"));
        assert!(
            !readme.contains("KSOPS") && !readme.contains("ksops"),
            "{readme}"
        );
        assert!(
            readme.contains("## Secrets\n\nThe credentials are Secrets the cluster already has"),
            "{readme}"
        );

        // The same with no GitOps engine and KSOPS declared: `kubectl apply -k`,
        // since nothing in the trees needs the plugin.
        n.kubernetes.secrets = Spanned::unspanned(avalanche_model::SecretsBackend::Ksops);
        n.kubernetes.gitops = Spanned::unspanned(avalanche_model::GitOps::None);
        let plan = render(&n).unwrap_or_else(|d| panic!("{d:#?}"));
        let readme = text(&plan, &format!("{dir}/README.md"));
        assert!(
            readme.contains(&format!("```sh\nkubectl apply -k {dir}\n")),
            "{readme}"
        );
        assert!(!readme.contains(ksops), "{readme}");

        // And with the sealed credentials back: the KSOPS pipe, for the proxies'
        // tree and for qbittorrent's app (its sidecar's generator), not marmithon's.
        let mut n = bundled();
        n.kubernetes.gitops = Spanned::unspanned(avalanche_model::GitOps::None);
        let plan = render(&n).unwrap_or_else(|d| panic!("{d:#?}"));
        let readme = text(&plan, &format!("{dir}/README.md"));
        assert!(
            readme.contains(&format!("```sh\n{ksops} {dir} | kubectl apply -f -\n")),
            "{readme}"
        );
        assert!(
            readme.contains(&format!(
                "{ksops} kubernetes/base/apps/media/qbittorrent | kubectl apply -f -   # qbittorrent\n"
            )),
            "{readme}"
        );
        assert!(
            readme.contains("kubectl apply -k kubernetes/base/apps/irc/marmithon   # marmithon\n"),
            "{readme}"
        );

        // Flat app manifests: no command made of a file's path, but what to apply.
        n.kubernetes.layout.apps = Spanned::unspanned("apps/{app}.yaml".to_owned());
        let plan = render(&n).unwrap_or_else(|d| panic!("{d:#?}"));
        let readme = text(&plan, &format!("{dir}/README.md"));
        assert!(!readme.contains("   # marmithon"), "{readme}");
        assert!(
            readme.contains("Each app's manifest is a flat file (`kubernetes.layout.apps = \"apps/{app}.yaml\"`): apply the kustomization that\nlists it"),
            "{readme}"
        );
    }

    #[test]
    fn options_change_the_manifests() {
        let mut n = bundled();
        n.kubernetes.verification = true;
        n.kubernetes.dir = "./k8s/".to_owned();
        if let Some(p) = n.egress.proxies.get_mut("netherlands") {
            p.tun_device = Some(avalanche_model::TunDevice::Privileged);
            p.health_check = avalanche_model::HealthCheck::Icmp;
            p.countries
                .push(Spanned::unspanned("Switzerland".to_owned()));
        }
        n.egress.clients.insert(
            name("ircbot"),
            avalanche_model::Client {
                span: None,
                namespace: Spanned::unspanned(name("irc")),
                deployment: Spanned::unspanned(name("ircbot")),
                proxy: Spanned::unspanned(name("netherlands")),
                gateway: false,
                protocol: Spanned::unspanned(avalanche_model::ClientProtocol::Shadowsocks),
                enforce: true,
                pod_labels: [("app".to_owned(), "ircbot".to_owned())].into(),
                allowed_destinations: Vec::new(),
                speaks: None,
            },
        );
        let plan = render(&n).unwrap_or_else(|d| panic!("{d:#?}"));
        let dir = "k8s/base/infra/network/vpn-proxy";
        let nl = text(&plan, &format!("{dir}/deployment-netherlands.yaml"));
        assert!(
            nl.contains("privileged: true") && !nl.contains("allowPrivilegeEscalation"),
            "{nl}"
        );
        assert!(
            nl.contains("- NET_RAW") && nl.contains("value: icmp"),
            "{nl}"
        );
        assert!(nl.contains("value: Netherlands,Switzerland"), "{nl}");
        assert!(
            nl.contains("value: 8888,8388") && !nl.contains("METRICS"),
            "{nl}"
        );
        let is = text(&plan, &format!("{dir}/deployment-iceland.yaml"));
        assert!(
            !is.contains("privileged") && !is.contains("NET_RAW"),
            "{is}"
        );
        assert!(plan.get(&format!("{dir}/servicemonitor.yaml")).is_none());
        assert!(
            text(&plan, &format!("{dir}/kustomization.yaml")).contains("- verification-job.yaml")
        );
        let np = text(&plan, &format!("{dir}/networkpolicy-netherlands.yaml"));
        assert!(
            np.contains("kubernetes.io/metadata.name: irc") && np.contains("app: ircbot"),
            "{np}"
        );
        assert!(
            np.contains("app.kubernetes.io/name: vpn-proxy-verify"),
            "{np}"
        );
        let comp = "k8s/base/apps/irc/ircbot/vpn-egress";
        let cm = text(&plan, &format!("{comp}/configmap.yaml"));
        assert!(
            cm.contains("SHADOWSOCKS_SERVER: vpn-proxy-netherlands.vpn-proxy.svc.cluster.local"),
            "{cm}"
        );
        assert!(
            cm.contains("SHADOWSOCKS_CIPHER: chacha20-ietf-poly1305"),
            "{cm}"
        );
        let fence = text(&plan, &format!("{comp}/networkpolicy.yaml"));
        assert!(
            fence.contains("port: 8388") && !fence.contains("port: 8888"),
            "{fence}"
        );
        assert!(plan.get(&format!("{comp}/deployment-patch.yaml")).is_none());
        assert!(
            plan.get("k8s/base/apps/irc/marmithon/vpn-egress/verification-job.yaml")
                .is_some()
        );
        assert_eq!(plan.ledger_path(), "k8s/.avalanche-generated.json");
        assert!(
            text(&plan, "k8s/base/infra/vpn-proxy-app.yaml")
                .contains("path: k8s/base/infra/network/vpn-proxy")
        );
    }

    #[test]
    fn a_sidecar_client_gets_gluetun_and_no_fence() {
        let mut n = bundled();
        if let Some(c) = n.egress.clients.get_mut("marmithon") {
            c.protocol = Spanned::unspanned(avalanche_model::ClientProtocol::Sidecar);
        }
        let plan = render(&n).unwrap_or_else(|d| panic!("{d:#?}"));
        let comp = "kubernetes/base/apps/irc/marmithon/vpn-egress";
        let patch = text(&plan, &format!("{comp}/deployment-patch.yaml"));
        assert!(
            patch.contains("initContainers:") && patch.contains("restartPolicy: Always"),
            "{patch}"
        );
        assert!(
            patch.contains("value: 10.42.0.0/16,10.43.0.0/16"),
            "{patch}"
        );
        assert!(!patch.contains("VPN_PORT_FORWARDING"), "{patch}");
        assert!(plan.get(&format!("{comp}/networkpolicy.yaml")).is_none());
        assert!(plan.get(&format!("{comp}/secret-generator.yaml")).is_some());
        // Not admitted to the shared proxies: it does not use them.
        assert!(
            plan.get("kubernetes/base/infra/network/vpn-proxy/networkpolicy-iceland.yaml")
                .is_none()
        );
    }

    #[test]
    fn no_proxies_no_proxy_tree() {
        let mut n = bundled();
        n.egress.proxies.clear();
        n.egress.clients.clear();
        let plan = render(&n).unwrap_or_else(|d| panic!("{d:#?}"));
        assert!(
            plan.files().all(|(p, _)| !p.contains("vpn-proxy")),
            "{:?}",
            plan.files().map(|f| f.0).collect::<Vec<_>>()
        );
        assert!(
            plan.get("kubernetes/base/apps/media/qbittorrent/vpn-egress/kustomization.yaml")
                .is_some()
        );
    }
}
