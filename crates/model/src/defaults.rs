//! Every default of `avalanche.network`, in one place. The Nix options module
//! (generated from [`crate::schema`]) and `nix/modules/defaults.nix` (generated from
//! [`NIX`]) take their values from here.

use crate::schema::Lit;

/// `egress.image`: the latest gluetun release (`:latest` is ahead of it).
pub const GLUETUN_IMAGE: &str = "qmcgaw/gluetun:v3.41.3";
/// `egress.providers.<name>.type`.
pub const VPN_TYPE: &str = "wireguard";
/// `egress.proxies.<name>.replicas`.
pub const PROXY_REPLICAS: u32 = 1;
/// `healthCheck` of proxies and sidecars.
pub const HEALTH_CHECK: &str = "dns";
/// `egress.tunDevice`: the node's `/dev/net/tun`, mounted (no extra capability).
pub const TUN_DEVICE: &str = "host-device";
/// `egress.keepalive`: under the shortest NAT/conntrack UDP timeouts (30 s).
pub const KEEPALIVE: &str = "25s";
/// `controlServer` of proxies and sidecars: loopback only (its default role can stop the VPN).
pub const CONTROL_SERVER: &str = "127.0.0.1:8000";
/// `egress.sidecars.<name>.portForwarding`.
pub const PORT_FORWARDING: bool = false;
/// `egress.sidecars.<name>.forwardedPortTo.webUIPort`: qBittorrent's own default.
pub const QBITTORRENT_WEBUI_PORT: u16 = 8080;
/// `egress.clients.<name>.protocol`.
pub const CLIENT_PROTOCOL: &str = "http";
/// `egress.clients.<name>.enforce`.
pub const CLIENT_ENFORCE: bool = false;
/// The label key of a client's default `podLabels` (value: the client's name).
pub const POD_LABEL_KEY: &str = "app.kubernetes.io/name";
/// The roles whose nodes are exit nodes unless `advertiseExitNode` says otherwise.
pub const EXIT_NODE_ROLES: &[&str] = &["exit-node"];
/// The roles whose nodes accept routes unless `acceptRoutes` says otherwise.
pub const ACCEPT_ROUTES_ROLES: &[&str] = &["workstation"];
/// `tailscale.exitNodes` and `tailscale.kubernetesOperator`.
pub const PERMISSION: &str = "forbidden";
/// `secrets.<name>.format`.
pub const SECRET_FORMAT: &str = "kubernetes";
/// `retired.<name>.currency`.
pub const CURRENCY: &str = "EUR";
/// `retired.<name>.monthlyCost`.
pub const MONTHLY_COST: f64 = 0.0;
/// `tailscale.nodes.<name>.state`.
pub const NODE_STATE: &str = "on";
/// `kubernetes.dir`.
pub const KUBERNETES_DIR: &str = "kubernetes";
/// `kubernetes.podCIDR` (k3s).
pub const POD_CIDR: &str = "10.42.0.0/16";
/// `kubernetes.serviceCIDR` (k3s).
pub const SERVICE_CIDR: &str = "10.43.0.0/16";
/// `kubernetes.clusterDomain`.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// `kubernetes.argocd.namespace`.
pub const ARGOCD_NAMESPACE: &str = "argocd";
/// `kubernetes.argocd.project`.
pub const ARGOCD_PROJECT: &str = "default";
/// `kubernetes.argocd.repoURL`.
pub const ARGOCD_REPO_URL: &str = "https://github.com/OWNER/avalanche.git";
/// `kubernetes.argocd.targetRevision`.
pub const ARGOCD_TARGET_REVISION: &str = "main";
/// `kubernetes.argocd.registerIn` (none: detected, see `ArgoCd::register_in`).
pub const ARGOCD_REGISTER_IN: Option<&str> = None;
/// `kubernetes.gitops`.
pub const GITOPS: &str = "argocd";
/// `kubernetes.flux.namespace`.
pub const FLUX_NAMESPACE: &str = "flux-system";
/// `kubernetes.flux.sourceRef.kind`.
pub const FLUX_SOURCE_KIND: &str = "GitRepository";
/// `kubernetes.flux.sourceRef.name` (what `flux bootstrap` names the repository's source).
pub const FLUX_SOURCE_NAME: &str = "flux-system";
/// `kubernetes.flux.interval`.
pub const FLUX_INTERVAL: &str = "10m";
/// `kubernetes.flux.decryptionSecret` (the name Flux's SOPS guide uses).
pub const FLUX_DECRYPTION_SECRET: &str = "sops-age";
/// `kubernetes.flux.registerIn` (none: detected from the repository's Flux tree).
pub const FLUX_REGISTER_IN: Option<&str> = None;
/// `kubernetes.layout.apps`.
pub const LAYOUT_APPS: &str = "base/apps/{namespace}/{app}";
/// `kubernetes.layout.proxies`.
pub const LAYOUT_PROXIES: &str = "base/infra/network/vpn-proxy";
/// `kubernetes.layout.egress`: outside the apps' flat manifests, so that no
/// directory Flux applies whole (and generates a kustomization for) holds it.
pub const LAYOUT_EGRESS: &str = "vpn-egress/{app}";
/// `kubernetes.secrets`: Argo CD decrypts SOPS files with KSOPS.
pub const KUBERNETES_SECRETS: &str = "ksops";
/// `kubernetes.monitoring.enable`.
pub const MONITORING: bool = false;
/// `kubernetes.monitoring.prober`: the blackbox exporter of the prometheus-community
/// chart installed as release `prometheus-blackbox-exporter` in namespace `monitoring`.
pub const MONITORING_PROBER: &str = "prometheus-blackbox-exporter.monitoring.svc:9115";
/// `kubernetes.monitoring.proberModule`: the blackbox exporter's TCP connect module
/// (in its example configuration; the chart's default has only `http_2xx`).
pub const MONITORING_PROBER_MODULE: &str = "tcp_connect";
/// `kubernetes.verification.enable`.
pub const VERIFICATION: bool = false;
/// The namespace of the shared proxies (fixed: part of the generated layout).
pub const PROXY_NAMESPACE: &str = "vpn-proxy";
/// `egress.gateways.<name>.socksPort`.
pub const GATEWAY_SOCKS_PORT: u16 = 1080;
/// `egress.gateways.<name>.tunnel.persistentKeepalive` (seconds): under the 30 s and
/// more after which NATs forget an idle UDP mapping.
pub const GATEWAY_PERSISTENT_KEEPALIVE: u16 = 25;
/// `egress.gateways.<name>.tunnel.mtu` (WireGuard's own default over IPv4 and IPv6).
pub const GATEWAY_MTU: u16 = 1420;
/// `egress.gateways.<name>.routingTable` (`wg-quick`'s number).
pub const GATEWAY_ROUTING_TABLE: u32 = 51820;
/// `egress.gateways.<name>.fwmark`: the proxy user's mark; the WireGuard socket
/// carries the next number.
pub const GATEWAY_FWMARK: u32 = 51820;
/// `egress.gateways.<name>.monitoring`.
pub const GATEWAY_MONITORING: bool = false;
/// The port of a gateway host's WireGuard exporter (prometheus-wireguard-exporter's
/// own default): fixed, not an option, since one exporter serves every gateway of
/// a host; the NixOS module sets it and the generated scrape target names it.
pub const GATEWAY_EXPORTER_PORT: u16 = 9586;
/// The uid of the gateway's proxy user (fixed, not an option): numeric in the
/// nftables ruleset, so the NixOS module pins the user to it.
pub const GATEWAY_PROXY_UID: u32 = 51080;

/// Every constant above under the name the Nix modules read it by (`import
/// ./defaults.nix`, and the flake's `lib.defaults`): the camelCase of its name.
/// `nix/modules/defaults.nix` is generated from this list ([`crate::schema::defaults_nix`]).
pub const NIX: &[(&str, Lit)] = &[
    ("gluetunImage", Lit::Str(GLUETUN_IMAGE)),
    ("vpnType", Lit::Str(VPN_TYPE)),
    ("proxyReplicas", Lit::Int(PROXY_REPLICAS as i64)),
    ("healthCheck", Lit::Str(HEALTH_CHECK)),
    ("tunDevice", Lit::Str(TUN_DEVICE)),
    ("keepalive", Lit::Str(KEEPALIVE)),
    ("controlServer", Lit::Str(CONTROL_SERVER)),
    ("portForwarding", Lit::Bool(PORT_FORWARDING)),
    (
        "qbittorrentWebuiPort",
        Lit::Int(QBITTORRENT_WEBUI_PORT as i64),
    ),
    ("clientProtocol", Lit::Str(CLIENT_PROTOCOL)),
    ("clientEnforce", Lit::Bool(CLIENT_ENFORCE)),
    ("podLabelKey", Lit::Str(POD_LABEL_KEY)),
    ("exitNodeRoles", Lit::Strings(EXIT_NODE_ROLES)),
    ("acceptRoutesRoles", Lit::Strings(ACCEPT_ROUTES_ROLES)),
    ("permission", Lit::Str(PERMISSION)),
    ("secretFormat", Lit::Str(SECRET_FORMAT)),
    ("currency", Lit::Str(CURRENCY)),
    ("monthlyCost", Lit::Float(MONTHLY_COST)),
    ("nodeState", Lit::Str(NODE_STATE)),
    ("kubernetesDir", Lit::Str(KUBERNETES_DIR)),
    ("podCidr", Lit::Str(POD_CIDR)),
    ("serviceCidr", Lit::Str(SERVICE_CIDR)),
    ("clusterDomain", Lit::Str(CLUSTER_DOMAIN)),
    ("argocdNamespace", Lit::Str(ARGOCD_NAMESPACE)),
    ("argocdProject", Lit::Str(ARGOCD_PROJECT)),
    ("argocdRepoUrl", Lit::Str(ARGOCD_REPO_URL)),
    ("argocdTargetRevision", Lit::Str(ARGOCD_TARGET_REVISION)),
    ("argocdRegisterIn", nullable(ARGOCD_REGISTER_IN)),
    ("gitops", Lit::Str(GITOPS)),
    ("fluxNamespace", Lit::Str(FLUX_NAMESPACE)),
    ("fluxSourceKind", Lit::Str(FLUX_SOURCE_KIND)),
    ("fluxSourceName", Lit::Str(FLUX_SOURCE_NAME)),
    ("fluxInterval", Lit::Str(FLUX_INTERVAL)),
    ("fluxDecryptionSecret", Lit::Str(FLUX_DECRYPTION_SECRET)),
    ("fluxRegisterIn", nullable(FLUX_REGISTER_IN)),
    ("layoutApps", Lit::Str(LAYOUT_APPS)),
    ("layoutProxies", Lit::Str(LAYOUT_PROXIES)),
    ("layoutEgress", Lit::Str(LAYOUT_EGRESS)),
    ("kubernetesSecrets", Lit::Str(KUBERNETES_SECRETS)),
    ("monitoring", Lit::Bool(MONITORING)),
    ("monitoringProber", Lit::Str(MONITORING_PROBER)),
    ("monitoringProberModule", Lit::Str(MONITORING_PROBER_MODULE)),
    ("verification", Lit::Bool(VERIFICATION)),
    ("proxyNamespace", Lit::Str(PROXY_NAMESPACE)),
    ("gatewaySocksPort", Lit::Int(GATEWAY_SOCKS_PORT as i64)),
    (
        "gatewayPersistentKeepalive",
        Lit::Int(GATEWAY_PERSISTENT_KEEPALIVE as i64),
    ),
    ("gatewayMtu", Lit::Int(GATEWAY_MTU as i64)),
    (
        "gatewayRoutingTable",
        Lit::Int(GATEWAY_ROUTING_TABLE as i64),
    ),
    ("gatewayFwmark", Lit::Int(GATEWAY_FWMARK as i64)),
    ("gatewayMonitoring", Lit::Bool(GATEWAY_MONITORING)),
    (
        "gatewayExporterPort",
        Lit::Int(GATEWAY_EXPORTER_PORT as i64),
    ),
    ("gatewayProxyUid", Lit::Int(GATEWAY_PROXY_UID as i64)),
];

const fn nullable(value: Option<&'static str>) -> Lit {
    match value {
        Some(s) => Lit::Str(s),
        None => Lit::Null,
    }
}
