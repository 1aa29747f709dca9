# The defaults the NixOS modules and `lib.defaults` read, as plain data (the options'
# own defaults are in ./options.generated.nix, generated from the Rust model).
#
# The Rust model keeps the same values in `crates/model/src/defaults.rs`;
# `tests/flake.rs` evaluates this file with `nix-instantiate --eval --strict --json`
# and compares it with those constants key by key, so the two cannot drift.
# Keep this file free of `lib` and of functions: the test evaluates it without nixpkgs.
# Keys are the Rust constant names in camelCase.
{
  # egress.image: the latest gluetun release (`:latest` is ahead of it).
  gluetunImage = "qmcgaw/gluetun:v3.41.3";
  # egress.providers.<name>.type
  vpnType = "wireguard";
  # egress.proxies.<name>.replicas
  proxyReplicas = 1;
  # healthCheck of proxies and sidecars: DNS needs no NET_RAW capability.
  healthCheck = "dns";
  # egress.tunDevice: the node's /dev/net/tun, mounted (no extra capability).
  tunDevice = "host-device";
  # egress.keepalive: under the shortest NAT/conntrack UDP timeouts (30 s).
  keepalive = "25s";
  # controlServer of proxies and sidecars: loopback only (its default role can stop the VPN).
  controlServer = "127.0.0.1:8000";
  # egress.sidecars.<name>.portForwarding
  portForwarding = false;
  # egress.sidecars.<name>.forwardedPortTo.webUIPort: qBittorrent's own default.
  qbittorrentWebuiPort = 8080;
  # egress.clients.<name>.protocol
  clientProtocol = "http";
  # egress.clients.<name>.enforce
  clientEnforce = false;
  # The label key of a client's default podLabels (its value is the client's name).
  podLabelKey = "app.kubernetes.io/name";
  # The roles whose nodes are exit nodes unless advertiseExitNode says otherwise.
  exitNodeRoles = [ "exit-node" ];
  # The roles whose nodes accept routes unless acceptRoutes says otherwise.
  acceptRoutesRoles = [ "workstation" ];
  # tailscale.exitNodes and tailscale.kubernetesOperator
  permission = "forbidden";
  # secrets.<name>.format
  secretFormat = "kubernetes";
  # retired.<name>.currency
  currency = "EUR";
  # retired.<name>.monthlyCost
  monthlyCost = 0.0;
  # kubernetes.dir
  kubernetesDir = "kubernetes";
  # kubernetes.podCIDR (k3s)
  podCidr = "10.42.0.0/16";
  # kubernetes.serviceCIDR (k3s)
  serviceCidr = "10.43.0.0/16";
  # kubernetes.clusterDomain
  clusterDomain = "cluster.local";
  # tailscale.nodes.<name>.state
  nodeState = "on";
  # kubernetes.argocd.namespace
  argocdNamespace = "argocd";
  # kubernetes.argocd.project
  argocdProject = "default";
  # kubernetes.argocd.repoURL
  argocdRepoUrl = "https://github.com/OWNER/avalanche.git";
  # kubernetes.argocd.targetRevision
  argocdTargetRevision = "main";
  # kubernetes.argocd.registerIn (null: detected by `avalanche-net build`)
  argocdRegisterIn = null;
  # kubernetes.gitops
  gitops = "argocd";
  # kubernetes.flux.namespace
  fluxNamespace = "flux-system";
  # kubernetes.flux.sourceRef.kind
  fluxSourceKind = "GitRepository";
  # kubernetes.flux.sourceRef.name (what `flux bootstrap` names it)
  fluxSourceName = "flux-system";
  # kubernetes.flux.interval
  fluxInterval = "10m";
  # kubernetes.flux.decryptionSecret
  fluxDecryptionSecret = "sops-age";
  # kubernetes.flux.registerIn (null: detected by `avalanche-net build`)
  fluxRegisterIn = null;
  # kubernetes.layout.apps
  layoutApps = "base/apps/{namespace}/{app}";
  # kubernetes.layout.proxies
  layoutProxies = "base/infra/network/vpn-proxy";
  # kubernetes.secrets: Argo CD decrypts SOPS files with KSOPS.
  kubernetesSecrets = "ksops";
  # kubernetes.monitoring.enable
  monitoring = false;
  # kubernetes.verification.enable
  verification = false;
  # The namespace of the shared proxies (fixed, not an option).
  proxyNamespace = "vpn-proxy";
  # egress.gateways.<name>.socksPort
  gatewaySocksPort = 1080;
  # egress.gateways.<name>.tunnel.persistentKeepalive (seconds; NATs forget idle UDP after 30 s and more)
  gatewayPersistentKeepalive = 25;
  # egress.gateways.<name>.tunnel.mtu
  gatewayMtu = 1420;
  # egress.gateways.<name>.routingTable (wg-quick's number)
  gatewayRoutingTable = 51820;
  # egress.gateways.<name>.fwmark (the proxy user's mark; the WireGuard socket has the next one)
  gatewayFwmark = 51820;
  # egress.gateways.<name>.monitoring
  gatewayMonitoring = false;
  # The uid of a gateway's proxy user (fixed, not an option; numeric in the nftables ruleset).
  gatewayProxyUid = 51080;
}
