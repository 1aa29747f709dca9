//! Every default of `avalanche.network`, in one place. The Nix options module must
//! agree with these (a test compares them).

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
/// `kubernetes.secrets`: Argo CD decrypts SOPS files with KSOPS.
pub const KUBERNETES_SECRETS: &str = "ksops";
/// `kubernetes.monitoring.enable`.
pub const MONITORING: bool = false;
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
/// The uid of the gateway's proxy user (fixed, not an option): numeric in the
/// nftables ruleset, so the NixOS module pins the user to it.
pub const GATEWAY_PROXY_UID: u32 = 51080;
