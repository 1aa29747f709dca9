# GENERATED from `NIX` in crates/model/src/defaults.rs: do not edit. After changing it:
#   AVALANCHE_REGENERATE=1 cargo test -p avalanche-model schema
# The defaults of `avalanche.network` as plain data, for the NixOS modules
# (`import ./defaults.nix`) and the flake's `lib.defaults`. Each key is the camelCase
# name of a constant of defaults.rs, documented there.
{
  gluetunImage = "qmcgaw/gluetun:v3.41.3";
  vpnType = "wireguard";
  proxyReplicas = 1;
  healthCheck = "dns";
  tunDevice = "host-device";
  keepalive = "25s";
  controlServer = "127.0.0.1:8000";
  portForwarding = false;
  qbittorrentWebuiPort = 8080;
  clientProtocol = "http";
  clientEnforce = false;
  podLabelKey = "app.kubernetes.io/name";
  exitNodeRoles = [ "exit-node" ];
  acceptRoutesRoles = [ "workstation" ];
  permission = "forbidden";
  secretFormat = "kubernetes";
  currency = "EUR";
  monthlyCost = 0.0;
  nodeState = "on";
  kubernetesDir = "kubernetes";
  podCidr = "10.42.0.0/16";
  serviceCidr = "10.43.0.0/16";
  clusterDomain = "cluster.local";
  argocdNamespace = "argocd";
  argocdProject = "default";
  argocdRepoUrl = "https://github.com/OWNER/avalanche.git";
  argocdTargetRevision = "main";
  argocdRegisterIn = null;
  gitops = "argocd";
  fluxNamespace = "flux-system";
  fluxSourceKind = "GitRepository";
  fluxSourceName = "flux-system";
  fluxInterval = "10m";
  fluxDecryptionSecret = "sops-age";
  fluxRegisterIn = null;
  layoutApps = "base/apps/{namespace}/{app}";
  layoutProxies = "base/infra/network/vpn-proxy";
  layoutEgress = "vpn-egress/{app}";
  kubernetesSecrets = "ksops";
  monitoring = false;
  monitoringProber = "prometheus-blackbox-exporter.monitoring.svc:9115";
  monitoringProberModule = "tcp_connect";
  verification = false;
  proxyNamespace = "vpn-proxy";
  gatewaySocksPort = 1080;
  gatewayPersistentKeepalive = 25;
  gatewayMtu = 1420;
  gatewayRoutingTable = 51820;
  gatewayFwmark = 51820;
  gatewayMonitoring = false;
  gatewayExporterPort = 9586;
  gatewayProxyUid = 51080;
}
