# The avalanche network, declared once.
#
# This file is the single source of truth for the homelab's network:
#   - `avalanche-net check` validates it and the whole repository against it,
#   - `avalanche-net build` writes the Kubernetes manifests under `kubernetes/`,
#   - `avalanche-net secrets seal NAME` writes the SOPS files it declares,
#   - every NixOS host of the flake imports it for its Tailscale configuration.
#
# It is a NixOS-style module setting `avalanche.network`. Keep it plain data (no
# `with`, no `lib`, no `if`): then `avalanche-net` reads it without Nix installed,
# and every mistake is reported at its line. Options left out take the defaults
# listed in `crates/model/src/defaults.rs` (the same as `nix/modules/defaults.nix`).
#
# After an edit: `avalanche-net check`, then `avalanche-net build`.
{
  avalanche.network = {

    # ------------------------------------------------------------------ retired
    # Hosts that are gone. `check` hunts for what they left behind: NixOS hosts
    # still in flake.nix, `.sops.yaml` anchors and rules, SOPS files they can
    # still decrypt (through their age recipient), mentions of their names.
    # `status` counts what retiring them saves.
    #
    # To retire another host: add an entry with what it was, the other names it
    # went by, its age public key (from `.sops.yaml`) and its monthly cost.
    retired.vps = {
      description = "Hetzner CAX11 Tailscale exit node";
      aliases = [ "hetzner" ];
      # The retired host's old age key: only its public half (a recipient) is
      # here; the private key was destroyed with the machine. `check` reports
      # every SOPS file still encrypted for it.
      ageRecipients = [ "age1vwqtca3dnr6t844x99nun324vv7sy6gve8lsuvdn8dvfqax7zymq3n5vra" ];
      monthlyCost = 4.49;
      currency = "EUR";
    };

    # ---------------------------------------------------------------- tailscale
    # Tailscale does remote access only. Each node is a NixOS host of this flake
    # (same name as its `networking.hostName`), except `device`s like the phone.
    #
    # Roles: "subnet-router" (advertises `advertiseRoutes`), "workstation"
    # (accepts routes), "server" (advertises its `tags`), "device" (unmanaged),
    # "exit-node" (only when `exitNodes = "allowed";`).
    #
    # To add a server: `newhost = { role = "server"; tags = [ "tag:infra" ]; };`
    # and give the flake a NixOS host `newhost` importing `nixosModules.tailscale`.
    # To route another LAN through routy: add it to `advertiseRoutes`
    # (a canonical CIDR such as "10.2.0.0/24", not overlapping 100.64.0.0/10).
    tailscale = {
      # The Hetzner exit node is retired: no node may be an exit node. Set
      # `exitNodes = "allowed";` only to bring one back on purpose.
      exitNodes = "forbidden";
      # Workload egress goes through gluetun, not the Tailscale operator.
      kubernetesOperator = "forbidden";
      nodes = {
        routy = {
          role = "subnet-router";
          advertiseRoutes = [ "10.1.0.0/24" ];
        };
        calypso = {
          role = "workstation";
        };
        mysecrets = {
          role = "server";
          tags = [ "tag:infra" ];
        };
        # Not a NixOS host of this flake.
        phone = {
          role = "device";
        };
      };
    };

    # ------------------------------------------------------------------- egress
    # VPN egress for workloads, with gluetun. Shared proxies run as one
    # Deployment per region in the `vpn-proxy` namespace; apps either go out
    # through one of them (`clients`) or keep their own gluetun (`sidecars`).
    egress = {
      # The latest gluetun release. `:latest` is ahead of it (SOCKS5, Prometheus
      # metrics); pin a release so the manifests do not change under you.
      image = "qmcgaw/gluetun:v3.41.3";

      # gluetun opens /dev/net/tun at start and creates it (mknod) when missing:
      # "host-device" mounts the node's device and adds no capability. "mknod" (the
      # MKNOD capability) or "privileged" are for nodes or runtimes without it.
      tunDevice = "host-device";
      # WireGuard persistent keepalive: without it NAT state on the way to the VPN
      # server expires and an idle connection (the IRC bot) stops receiving.
      keepalive = "25s";

      # ProtonVPN over WireGuard. Its keys live in the secret of the same name
      # (`secrets.protonvpn` below) unless a proxy or sidecar names its own
      # `credentials`. To switch to Mullvad: add `providers.mullvad = { };`, a
      # secret per gluetun, and point the proxies at it.
      providers.protonvpn = {
        service = "protonvpn";
        type = "wireguard";
        credentials = "protonvpn";
      };

      # One shared proxy per region: Iceland is the primary, the Netherlands the
      # backup. Each serves an HTTP proxy on :8888 and Shadowsocks on :8388.
      # Every gluetun needs its own WireGuard key (two tunnels with one key break
      # each other): Iceland uses the provider's `protonvpn`, the Netherlands its own.
      # To add a region: `switzerland = { provider = "protonvpn"; countries = [ "Switzerland" ]; };`
      proxies = {
        iceland = {
          provider = "protonvpn";
          countries = [ "Iceland" ];
        };
        netherlands = {
          provider = "protonvpn";
          countries = [ "Netherlands" ];
          credentials = "protonvpn-netherlands";
        };
      };

      # A second backend beside gluetun: a gateway on routy, the router. Its SOCKS5
      # proxy (microsocks, :1080) and HTTP CONNECT proxy (tinyproxy, :8888) listen
      # on routy's LAN address and go out only through routy's own WireGuard
      # tunnel: when the tunnel is down they refuse, they never leave by the home
      # WAN. Choose it for apps that speak SOCKS5, for idle connections that must
      # live for hours, or to share one tunnel between the LAN and the cluster;
      # routy's flake host imports `nixosModules.egressGateway` (flake.nix).
      # Clients name it like a proxy: `proxy = "home";`.
      gateways.home = {
        host = "routy";
        listen = "10.1.0.1";
        # The same port as the gluetun proxies' HTTP proxy: an HTTP client moves
        # here by its `proxy` alone.
        httpPort = 8888;
        # The peer: a ProtonVPN server. `endpoint`, `publicKey` and `address`
        # come from the WireGuard configuration made for routy in the provider's
        # account page (its [Peer] Endpoint and PublicKey, its [Interface]
        # Address); these are demo values. Its [Interface] PrivateKey goes into
        # the secret below, never here. A rented server of your own works the same.
        tunnel = {
          endpoint = "203.0.113.41:51820";
          publicKey = "oWRlqKuEfKABFAPjC+yzaa0B1nTWoGpZRSLewEpTVj8=";
          address = "10.2.0.2/32";
          privateKeySecret = "routy-wireguard";
        };
        # allowedClients defaults to the pod network and `kubernetes.nodeCIDRs`.
        # The WireGuard exporter on routy; `build` adds its scrape target, a probe
        # of the proxy ports, the alerts (a stale handshake, a missing tunnel, an
        # unreachable proxy) and a dashboard next to the proxies' monitoring.
        monitoring = true;
      };

      # qbittorrent keeps its own gluetun as a native sidecar (its traffic never
      # leaves the pod unencrypted), with a forwarded port for seeding.
      # `inputPorts` are the app's own listening ports (its WebUI): gluetun's
      # firewall drops them unless they are listed.
      # To move it to the Netherlands: `countries = [ "Netherlands" ];`
      sidecars.qbittorrent = {
        namespace = "media";
        provider = "protonvpn";
        countries = [ "Iceland" ];
        portForwarding = true;
        inputPorts = [ 8080 ];
        # ProtonVPN hands out a new port on every connection: gluetun tells
        # qBittorrent through its Web API on 8080 (enable "Bypass authentication
        # for clients on localhost" in its WebUI settings).
        forwardedPortTo = { app = "qbittorrent"; };
        # Its own key: a ProtonVPN WireGuard configuration with NAT-PMP enabled.
        credentials = "protonvpn-qbittorrent";
      };

      # The IRC bot goes out through the Iceland proxy with HTTP CONNECT (which
      # reaches any TCP port, IRC over TLS on 6697 included). `enforce` adds a
      # NetworkPolicy that makes the proxy (and DNS) its only way out.
      # To move marmithon to the Netherlands: `proxy = "netherlands";`
      # To move marmithon to the gateway on routy: `proxy = "home";` (still HTTP
      # CONNECT, on routy's 10.1.0.1:8888; its policy then allows only that address).
      # Note: gluetun v3.41.3 has no SOCKS5 server (8388 is Shadowsocks), so
      # `protocol = "socks5";` is rejected; "shadowsocks" works if the app speaks it.
      clients.marmithon = {
        namespace = "irc";
        proxy = "iceland";
        protocol = "http";
        enforce = true;
      };
    };

    # ------------------------------------------------------------------ secrets
    # SOPS-encrypted files, sealed with `avalanche-net secrets seal NAME` for the
    # recipients `.sops.yaml` names for their path. Only key names are declared
    # here; the values never enter the repository unencrypted.

    # Kubernetes Secrets (decrypted in the cluster by KSOPS), one per gluetun:
    # each holds that instance's WireGuard key. SHADOWSOCKS_PASSWORD protects the
    # proxies' port 8388. The Iceland proxy's (the provider's default):
    secrets.protonvpn = {
      file = "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml";
      keys = [
        "WIREGUARD_PRIVATE_KEY"
        "WIREGUARD_ADDRESSES"
        "SHADOWSOCKS_PASSWORD"
      ];
    };

    # The Netherlands proxy's own key.
    secrets.protonvpn-netherlands = {
      file = "kubernetes/base/infra/network/vpn-proxy/secrets-netherlands.sops.yaml";
      keys = [
        "WIREGUARD_PRIVATE_KEY"
        "WIREGUARD_ADDRESSES"
        "SHADOWSOCKS_PASSWORD"
      ];
    };

    # qbittorrent's sidecar's own key (a sidecar serves no Shadowsocks).
    secrets.protonvpn-qbittorrent = {
      file = "kubernetes/base/apps/media/qbittorrent/vpn-secrets.sops.yaml";
      keys = [
        "WIREGUARD_PRIVATE_KEY"
        "WIREGUARD_ADDRESSES"
      ];
    };

    # A plain YAML map for sops-nix on routy: its Tailscale auth key.
    secrets.routy-tailscale = {
      format = "plain";
      file = "secrets/routy/tailscale.yaml";
      keys = [ "authkey" ];
    };

    # routy's WireGuard key for the gateway `home` (sops-nix on routy; the one
    # key of that tunnel: no other peer may use it).
    secrets.routy-wireguard = {
      format = "plain";
      file = "secrets/routy/wireguard.yaml";
      keys = [ "privateKey" ];
    };

    # --------------------------------------------------------------- kubernetes
    # Where the manifests go and how Argo CD deploys them.
    kubernetes = {
      # `avalanche-net build` writes under this directory of the repository.
      dir = "kubernetes";
      # k3s defaults; used for NO_PROXY and for gluetun's outbound subnets.
      podCIDR = "10.42.0.0/16";
      serviceCIDR = "10.43.0.0/16";
      # The nodes sit on the home LAN. k3s' flannel masquerades pods' traffic
      # leaving the cluster, so the gateway on routy sees the node's address:
      # it admits these networks (and the pod network) by default.
      nodeCIDRs = [ "10.1.0.0/24" ];
      # Replace OWNER with the GitHub account holding this repository.
      argocd = {
        namespace = "argocd";
        project = "default";
        repoURL = "https://github.com/OWNER/avalanche.git";
        targetRevision = "main";
      };
      # Alerts (kube-state-metrics) and a Grafana dashboard for the proxies, and
      # each monitored gateway's (its exporter, scraped from outside the cluster).
      # Set `enable = false;` on a cluster without the Prometheus operator.
      monitoring.enable = true;
    };
  };
}
