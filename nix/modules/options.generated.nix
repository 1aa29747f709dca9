# GENERATED from crates/model/src/schema/table.rs, the one table of the
# `avalanche.network` options: do not edit. After changing the table:
#   AVALANCHE_REGENERATE=1 cargo test -p avalanche-model schema
# network-options.nix imports this file and adds the assertions.
{ lib, ... }:
let
  inherit ((import ./types.nix { inherit lib; }).types)
    dnsLabel
    cidr
    duration
    interval
    listenAddress
    tailscaleTag
    ;

  providerOption = lib.mkOption {
    type = dnsLabel;
    example = "protonvpn";
    description = "The VPN provider: a key of `avalanche.network.egress.providers`.";
  };

  countriesOption = lib.mkOption {
    type = lib.types.listOf lib.types.str;
    example = [ "Iceland" ];
    description = ''
      Countries gluetun picks servers from (`SERVER_COUNTRIES`, as the provider spells them).
    '';
  };

  healthCheckOption = lib.mkOption {
    type = lib.types.enum [ "icmp" "dns" ];
    default = "dns";
    example = "icmp";
    description = ''
      gluetun's small health check (`HEALTH_SMALL_CHECK_TYPE`): `"icmp"` needs the `NET_RAW`
      capability, `"dns"` does not.
    '';
  };

  tunDeviceOption = lib.mkOption {
    type = lib.types.nullOr (lib.types.enum [ "host-device" "mknod" "privileged" ]);
    default = null;
    example = "mknod";
    description = "How this gluetun gets `/dev/net/tun` (default: `egress.tunDevice`).";
  };

  keepaliveOption = lib.mkOption {
    type = lib.types.nullOr duration;
    default = null;
    example = "15s";
    description = "This gluetun's WireGuard persistent keepalive (default: `egress.keepalive`).";
  };

  credentialsOption = lib.mkOption {
    type = lib.types.nullOr dnsLabel;
    default = null;
    example = "protonvpn-iceland";
    description = ''
      The declared secret (a key of `avalanche.network.secrets`) with this gluetun's own WireGuard
      key (default: its provider's `credentials`). Every running gluetun needs its own key: two
      tunnels with one key break each other.
    '';
  };

  existingSecretOption = lib.mkOption {
    type = lib.types.nullOr (lib.types.submodule existingSecret);
    default = null;
    example = { name = "qbittorrent-vpn"; keys.WIREGUARD_PRIVATE_KEY = "wg-key"; };
    description = ''
      A Secret the cluster already has (made by ExternalSecrets, sealed-secrets or by hand) with
      this gluetun's own credentials, referenced as it is: nothing is sealed and no KSOPS generator
      is rendered for it. Replaces `credentials`.
    '';
  };

  controlServerOption = lib.mkOption {
    type = listenAddress;
    default = "127.0.0.1:8000";
    example = ":8000";
    description = ''
      gluetun's control server address (`HTTP_CONTROL_SERVER_ADDRESS`). Its default role may stop
      the VPN without authentication: keep it on loopback unless another container must reach it.
    '';
  };

  retiredHost = {
    options = {
      description = lib.mkOption {
        type = lib.types.str;
        example = "Rented cloud server, once the Tailscale exit node";
        description = "What the host was (shown by `avalanche-net status`).";
      };
      aliases = lib.mkOption {
        type = lib.types.listOf dnsLabel;
        default = [ ];
        example = [ "cloudbox" ];
        description = "Other names the host went by; `check` looks for them too.";
      };
      ageRecipients = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq" ];
        description = ''
          The host's age recipients (`age1…`): `check` finds SOPS files it can still decrypt and
          `.sops.yaml` rules that still name it.
        '';
      };
      addresses = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "10.1.0.20" "100.101.102.103" ];
        description = ''
          The IP addresses the host had (LAN, tailnet): `check` finds them where a name would not
          show, in firewall rules, egress policies and DNS records.
        '';
      };
      monthlyCost = lib.mkOption {
        type = lib.types.number;
        default = 0.0;
        example = 4.49;
        description = "What the host cost per month, in `currency` (for the savings in `status`).";
      };
      currency = lib.mkOption {
        type = lib.types.str;
        default = "EUR";
        example = "CHF";
        description = "ISO 4217 code of `monthlyCost`.";
      };
      replacedBy = {
        description = lib.mkOption {
          type = lib.types.str;
          default = "";
          example = "Raspberry Pi 5 at home";
          description = "What was bought to replace the host (shown by `avalanche-net status`).";
        };
        monthlyCost = lib.mkOption {
          type = lib.types.number;
          default = 0.0;
          example = 3.79;
          description = ''
            What the replacement costs per month (0: nothing replaced it); `status` shows net
            savings.
          '';
        };
        currency = lib.mkOption {
          type = lib.types.str;
          default = "EUR";
          example = "CHF";
          description = "ISO 4217 code of the replacement's `monthlyCost`.";
        };
      };
      renamedTo = lib.mkOption {
        type = lib.types.nullOr dnsLabel;
        default = null;
        example = "chipmunk";
        description = ''
          The machine lives on under this name with the same key: the old name is gone, but its age
          recipients are not leftovers, and it saves nothing.
        '';
      };
    };
  };

  tailscaleNode = {
    options = {
      role = lib.mkOption {
        type = lib.types.enum [ "subnet-router" "exit-node" "workstation" "server" "device" ];
        example = "subnet-router";
        description = ''
          The node's role. `subnet-router` advertises `advertiseRoutes`; `exit-node` is only allowed
          with `tailscale.exitNodes = "allowed"`; `workstation` accepts routes; `server` advertises
          its `tags`; `device` is not a NixOS host of this flake (a phone). Every role but `device`
          needs a host of its name with `nixosModules.tailscale`.
        '';
      };
      advertiseRoutes = lib.mkOption {
        type = lib.types.listOf cidr;
        default = [ ];
        example = [ "10.1.0.0/24" ];
        description = ''
          Routes a subnet router advertises (`--advertise-routes`). Canonical CIDRs (no host bits),
          outside Tailscale's 100.64.0.0/10.
        '';
      };
      tags = lib.mkOption {
        type = lib.types.listOf tailscaleTag;
        default = [ ];
        example = [ "tag:infra" ];
        description = "ACL tags the node advertises at first login (`--advertise-tags`).";
      };
      advertiseExitNode = lib.mkOption {
        type = lib.types.nullOr lib.types.bool;
        default = null;
        example = true;
        description = ''
          Whether the node offers itself as an exit node (`--advertise-exit-node`), whatever its
          role; `null` leaves it to the role (only `exit-node` is one). Only allowed with
          `tailscale.exitNodes = "allowed"`. Capabilities combine: a `subnet-router` with
          `advertiseExitNode = true` and `tags` is all three.
        '';
      };
      acceptRoutes = lib.mkOption {
        type = lib.types.nullOr lib.types.bool;
        default = null;
        example = true;
        description = ''
          Whether the node uses the subnet routes others advertise (`--accept-routes`); `null`
          leaves it to the role (only `workstation` does).
        '';
      };
      state = lib.mkOption {
        type = lib.types.enum [ "on" "off" ];
        default = "on";
        example = "off";
        description = ''
          `"off"` for a powered-down machine: still a node of the tailnet, serving nothing (its
          routes are unreachable unless another router advertises them).
        '';
      };
    };
  };

  provider =
    { name, ... }:
    {
      options = {
        service = lib.mkOption {
          type = lib.types.str;
          default = name;
          defaultText = lib.literalExpression "name";
          example = "protonvpn";
          description = ''
            gluetun's `VPN_SERVICE_PROVIDER` (default: the provider's attribute name).
          '';
        };
        type = lib.mkOption {
          type = lib.types.enum [ "wireguard" "openvpn" ];
          default = "wireguard";
          example = "openvpn";
          description = "The VPN protocol (`VPN_TYPE`).";
        };
        credentials = lib.mkOption {
          type = dnsLabel;
          default = name;
          defaultText = lib.literalExpression "name";
          example = "protonvpn";
          description = ''
            The declared secret (a key of `avalanche.network.secrets`) holding the provider's keys
            (default: the provider's attribute name). Unused when `existingSecret` is set.
          '';
        };
        existingSecret = lib.mkOption {
          type = lib.types.nullOr (lib.types.submodule existingSecret);
          default = null;
          example = { name = "qbittorrent-vpn"; keys.WIREGUARD_PRIVATE_KEY = "wg-key"; };
          description = ''
            A Secret the cluster already has (made by ExternalSecrets, sealed-secrets or by hand)
            with the provider's credentials, referenced as it is: nothing is sealed and no KSOPS
            generator is rendered for it. Replaces `credentials`.
          '';
        };
      };
    };

  existingSecret = {
    options = {
      name = lib.mkOption {
        type = dnsLabel;
        example = "qbittorrent-vpn";
        description = "The Secret's `metadata.name`, in the namespace the gluetun runs in.";
      };
      keys = lib.mkOption {
        type = lib.types.attrsOf lib.types.str;
        default = { };
        example = { WIREGUARD_ADDRESSES = "wg-address"; WIREGUARD_PRIVATE_KEY = "wg-key"; };
        description = ''
          gluetun variable → the Secret's key holding it (default: each variable's own name).
          Variables: WIREGUARD_PRIVATE_KEY, WIREGUARD_ADDRESSES, OPENVPN_USER, OPENVPN_PASSWORD,
          SHADOWSOCKS_PASSWORD.
        '';
      };
    };
  };

  proxy = {
    options = {
      provider = providerOption;
      countries = countriesOption;
      replicas = lib.mkOption {
        type = lib.types.ints.u32;
        default = 1;
        example = 2;
        description = "Replicas of the region's gluetun Deployment (`vpn-proxy-<name>`).";
      };
      healthCheck = healthCheckOption;
      tunDevice = tunDeviceOption;
      keepalive = keepaliveOption;
      credentials = credentialsOption;
      existingSecret = existingSecretOption;
      controlServer = controlServerOption;
    };
  };

  sidecar =
    { name, ... }:
    {
      options = {
        namespace = lib.mkOption {
          type = dnsLabel;
          example = "media";
          description = "The app's namespace.";
        };
        deployment = lib.mkOption {
          type = dnsLabel;
          default = name;
          defaultText = lib.literalExpression "name";
          example = "qbittorrent";
          description = "The app's Deployment to patch (default: the sidecar's attribute name).";
        };
        provider = providerOption;
        countries = countriesOption;
        portForwarding = lib.mkOption {
          type = lib.types.bool;
          default = false;
          example = true;
          description = "Ask the provider for a forwarded port (`VPN_PORT_FORWARDING=on`).";
        };
        inputPorts = lib.mkOption {
          type = lib.types.listOf lib.types.port;
          default = [ ];
          example = [ 8080 ];
          description = ''
            The app's own listening ports: gluetun's firewall drops them unless they are in
            `FIREWALL_INPUT_PORTS`.
          '';
        };
        forwardedPortTo = lib.mkOption {
          type = lib.types.nullOr (lib.types.submodule portTarget);
          default = null;
          example = { app = "qbittorrent"; };
          description = ''
            Who learns the forwarded port (needs `portForwarding = true`): the provider hands out a
            new one on every connection (ProtonVPN: enable NAT-PMP in the WireGuard configuration).
          '';
        };
        healthCheck = healthCheckOption;
        tunDevice = tunDeviceOption;
        keepalive = keepaliveOption;
        credentials = credentialsOption;
        existingSecret = existingSecretOption;
        controlServer = controlServerOption;
      };
    };

  portTarget = {
    options = {
      app = lib.mkOption {
        type = lib.types.nullOr (lib.types.enum [ "qbittorrent" ]);
        default = null;
        example = "qbittorrent";
        description = ''
          The app that learns the port: `"qbittorrent"` sets `listen_port` through its Web API from
          localhost (enable "Bypass authentication for clients on localhost").
        '';
      };
      webUIPort = lib.mkOption {
        type = lib.types.port;
        default = 8080;
        description = "The app's WebUI port, on the pod's loopback.";
      };
      command = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/bin/sh -c 'echo {{PORT}} > /gluetun/port'";
        description = ''
          Instead of `app`: the `VPN_PORT_FORWARDING_UP_COMMAND` as written; gluetun replaces
          `{{PORT}}`/`{{PORTS}}` and runs it without a shell.
        '';
      };
      downCommand = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/bin/sh -c 'rm -f /gluetun/port'";
        description = ''
          With `command`: the `VPN_PORT_FORWARDING_DOWN_COMMAND`, which gluetun runs (with the old
          `{{PORTS}}`, for at most 60 s) when port forwarding stops, before it closes the ports.
          With `app`, it is generated.
        '';
      };
    };
  };

  client =
    { name, ... }:
    {
      options = {
        namespace = lib.mkOption {
          type = dnsLabel;
          example = "irc";
          description = "The app's namespace.";
        };
        deployment = lib.mkOption {
          type = dnsLabel;
          default = name;
          defaultText = lib.literalExpression "name";
          example = "marmithon";
          description = "The app's Deployment to patch (default: the client's attribute name).";
        };
        proxy = lib.mkOption {
          type = lib.types.nullOr dnsLabel;
          default = null;
          example = "iceland";
          description = ''
            The upstream it goes out through: a key of `avalanche.network.egress.proxies` or of
            `avalanche.network.egress.gateways` (the two never share a name), so switching backends
            is one word. Set this or `gateway`.
          '';
        };
        gateway = lib.mkOption {
          type = lib.types.nullOr dnsLabel;
          default = null;
          example = "home";
          description = ''
            The egress gateway it goes out through (a key of `avalanche.network.egress.gateways`);
            instead of `proxy`.
          '';
        };
        protocol = lib.mkOption {
          type = lib.types.enum [ "http" "shadowsocks" "sidecar" "socks5" ];
          default = "http";
          example = "shadowsocks";
          description = ''
            How the app reaches its upstream: `"http"` (`HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` to a
            proxy's port 8888 or a gateway's `httpPort`), `"shadowsocks"` (a proxy's port 8388:
            Shadowsocks, not SOCKS5), `"sidecar"` (its own gluetun), or `"socks5"`
            (`ALL_PROXY=socks5h://…`; gateways only: gluetun v3.41.3 has no SOCKS5 server).
          '';
        };
        enforce = lib.mkOption {
          type = lib.types.bool;
          default = false;
          example = true;
          description = ''
            Add an egress NetworkPolicy that makes the proxy (and DNS) the app's only way out.
          '';
        };
        podLabels = lib.mkOption {
          type = lib.types.attrsOf lib.types.str;
          default = { "app.kubernetes.io/name" = name; };
          defaultText = lib.literalExpression "{ \"app.kubernetes.io/name\" = name; }";
          example = { app = "marmithon"; };
          description = "Labels selecting the app's pods (for the NetworkPolicy).";
        };
        allowedDestinations = lib.mkOption {
          type = lib.types.listOf (lib.types.submodule destination);
          default = [ ];
          example = [ { namespace = "irc"; podLabels = { "app.kubernetes.io/name" = "redis"; }; ports = [ 6379 ]; services = [ "redis" ]; } ];
          description = ''
            With `enforce`: what the app may reach directly besides its proxy and DNS (the services
            it calls in the cluster, hosts of the LAN). Each entry becomes a rule of its egress
            NetworkPolicy, and its `cidr` or `services` names its `NO_PROXY` (loopback and these
            only: an enforced client's other in-cluster calls go to the proxy, which refuses them
            visibly).
          '';
        };
        speaks = lib.mkOption {
          type = lib.types.nullOr (lib.types.listOf (lib.types.enum [ "http-connect" "socks5" "shadowsocks" ]));
          default = null;
          example = [ "socks5" ];
          description = ''
            The proxy protocols the app itself can use (null: not judged). `protocol = "http"` needs
            `"http-connect"`, `"shadowsocks"` needs `"shadowsocks"`; gluetun v3.41 serves no SOCKS5,
            so a SOCKS5-only app needs `"sidecar"`.
          '';
        };
      };
    };

  destination = {
    options = {
      namespace = lib.mkOption {
        type = lib.types.nullOr dnsLabel;
        default = null;
        example = "irc";
        description = "Pods of this namespace (with `podLabels`: only those).";
      };
      podLabels = lib.mkOption {
        type = lib.types.nullOr (lib.types.attrsOf lib.types.str);
        default = null;
        description = "Labels selecting the pods of `namespace` (default: all of them).";
      };
      cidr = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "192.168.1.0/24";
        description = ''
          Instead of `namespace`: addresses outside the cluster (added to `NO_PROXY`).
        '';
      };
      ports = lib.mkOption {
        type = lib.types.listOf lib.types.port;
        default = [ ];
        example = [ 6379 ];
        description = "TCP ports (the pods' own, not a Service's); `[ ]`: every port.";
      };
      services = lib.mkOption {
        type = lib.types.nullOr (lib.types.listOf dnsLabel);
        default = null;
        example = [ "redis" ];
        description = ''
          With `namespace`: the Services in front of these pods that the app calls by name. An
          enforced HTTP client's `NO_PROXY` lists their names (`<svc>.<ns>`, `<svc>.<ns>.svc`,
          `<svc>.<ns>.svc.<clusterDomain>`, and `<svc>` from its own namespace) and nothing else of
          the cluster: any other in-cluster name goes to the proxy and fails there visibly.
        '';
      };
    };
  };

  gateway =
    { name, ... }:
    {
      options = {
        host = lib.mkOption {
          type = dnsLabel;
          example = "routy";
          description = ''
            The NixOS host of this flake that runs the gateway (it imports
            `nixosModules.egressGateway`).
          '';
        };
        listen = lib.mkOption {
          type = lib.types.str;
          example = "10.1.0.1";
          description = ''
            The host's LAN address the SOCKS5 proxy listens on; it is admitted nowhere else.
          '';
        };
        socksPort = lib.mkOption {
          type = lib.types.port;
          default = 1080;
          example = 1081;
          description = "The SOCKS5 port (microsocks).";
        };
        httpPort = lib.mkOption {
          type = lib.types.nullOr lib.types.port;
          default = null;
          example = 8888;
          description = ''
            An HTTP CONNECT port (tinyproxy) on the listen address, for `protocol = "http"` clients
            (null: none).
          '';
        };
        interface = lib.mkOption {
          type = lib.types.str;
          default = "wg-${name}";
          defaultText = lib.literalExpression "\"wg-\${name}\"";
          example = "wg-egress";
          description = "The WireGuard interface (at most 15 bytes).";
        };
        tunnel = {
          endpoint = lib.mkOption {
            type = lib.types.str;
            example = "exit.example.org:51820";
            description = ''
              `host:port` of the WireGuard peer (a rented server or a VPN provider's server).
            '';
          };
          publicKey = lib.mkOption {
            type = lib.types.str;
            example = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
            description = "The peer's public key.";
          };
          address = lib.mkOption {
            type = lib.types.coercedTo cidr lib.toList (lib.types.nonEmptyListOf cidr);
            example = [ "10.2.0.2/32" "2a07:b944::2:2/128" ];
            description = ''
              This side's tunnel address, with its prefix length, or a list of them (an IPv4 and an
              IPv6 address, as providers hand out): with an IPv6 address the proxy also reaches IPv6
              destinations through the tunnel; without one they fail at once.
            '';
          };
          persistentKeepalive = lib.mkOption {
            type = lib.types.ints.u16;
            default = 25;
            example = 15;
            description = ''
              Seconds between WireGuard keepalives (0: none). Without them a NAT on the path forgets
              the idle tunnel and idle proxied connections stop receiving.
            '';
          };
          mtu = lib.mkOption {
            type = lib.types.ints.u16;
            default = 1420;
            example = 1380;
            description = "The tunnel's MTU.";
          };
          privateKeySecret = lib.mkOption {
            type = dnsLabel;
            example = "routy-wireguard";
            description = ''
              The declared secret (`avalanche.network.secrets.<name>`, `format = "plain"`, for
              sops-nix on the host) whose first key is this side's private key.
            '';
          };
        };
        allowedClients = lib.mkOption {
          type = lib.types.nullOr (lib.types.listOf cidr);
          default = null;
          example = [ "10.42.0.0/16" "10.1.0.0/24" ];
          description = ''
            The networks admitted to the proxy (null: `kubernetes.podCIDR` and
            `kubernetes.nodeCIDRs`).
          '';
        };
        routingTable = lib.mkOption {
          type = lib.types.ints.u32;
          default = 51820;
          example = 100;
          description = ''
            The routing table of the tunnel default route (and its `unreachable` kill switch).
          '';
        };
        fwmark = lib.mkOption {
          type = lib.types.ints.u32;
          default = 51820;
          example = 100;
          description = ''
            The mark of the proxy user's packets; the WireGuard socket's is the next number.
          '';
        };
        monitoring = lib.mkOption {
          type = lib.types.bool;
          default = false;
          example = true;
          description = "Run the WireGuard exporter and alert on the handshake age.";
        };
      };
    };

  secret = {
    options = {
      format = lib.mkOption {
        type = lib.types.enum [ "kubernetes" "plain" ];
        default = "kubernetes";
        example = "plain";
        description = ''
          `"kubernetes"`: a Kubernetes Secret (`stringData`) decrypted by KSOPS; `"plain"`: a plain
          YAML map, for sops-nix on a host.
        '';
      };
      file = lib.mkOption {
        type = lib.types.str;
        example = "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml";
        description = "Repository-relative path of the SOPS file.";
      };
      keys = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        example = [ "WIREGUARD_PRIVATE_KEY" ];
        description = "The keys the secret holds.";
      };
      namespace = lib.mkOption {
        type = lib.types.nullOr dnsLabel;
        default = null;
        example = "vpn-proxy";
        description = "The Secret's namespace (default: the kustomization's namespace applies).";
      };
    };
  };

  sopsRecipient = {
    options = {
      age = lib.mkOption {
        type = lib.types.str;
        example = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
        description = "The age recipient (`age1…`) written in `.sops.yaml` and SOPS files.";
      };
      kind = lib.mkOption {
        type = lib.types.enum [ "admin" "ci" "host" ];
        example = "ci";
        description = ''
          Whose key it is: a person (`admin`), a CI system (`ci`), or a machine whose `.sops.yaml`
          anchor is not named after it (`host`).
        '';
      };
    };
  };
in
{
  options.avalanche.network = {
    retired = lib.mkOption {
      type = lib.types.attrsOf (lib.types.submodule retiredHost);
      default = { };
      example = lib.literalExpression ''
        {
          oldbox = {
            description = "Rented cloud server, once the Tailscale exit node";
            aliases = [ "cloudbox" ];
            monthlyCost = 4.49;
          };
        }
      '';
      description = ''
        Hosts that are gone and must leave no trace (`avalanche-net check` hunts for them).
      '';
    };
    tailscale = {
      exitNodes = lib.mkOption {
        type = lib.types.enum [ "forbidden" "allowed" ];
        default = "forbidden";
        example = "allowed";
        description = "Whether a node may have the role `exit-node`.";
      };
      kubernetesOperator = lib.mkOption {
        type = lib.types.enum [ "forbidden" "allowed" ];
        default = "forbidden";
        example = "allowed";
        description = ''
          Whether the Tailscale Kubernetes operator may appear under `kubernetes.dir`.
        '';
      };
      nodes = lib.mkOption {
        type = lib.types.attrsOf (lib.types.submodule tailscaleNode);
        default = { };
        example = lib.literalExpression ''
          {
            routy = { role = "subnet-router"; advertiseRoutes = [ "10.1.0.0/24" ]; };
            calypso.role = "workstation";
            mysecrets = { role = "server"; tags = [ "tag:infra" ]; };
            phone.role = "device";
          }
        '';
        description = "The tailnet's nodes, by host name (`networking.hostName` for NixOS hosts).";
      };
    };
    egress = {
      image = lib.mkOption {
        type = lib.types.str;
        default = "qmcgaw/gluetun:v3.41.3";
        example = "qmcgaw/gluetun:v3.40.0";
        description = ''
          The gluetun image of every proxy and sidecar. Its tag must be a release `avalanche-net`
          knows the variables of (the generated containers set only what that release reads).
        '';
      };
      tunDevice = lib.mkOption {
        type = lib.types.enum [ "host-device" "mknod" "privileged" ];
        default = "host-device";
        example = "mknod";
        description = ''
          How gluetun gets `/dev/net/tun`, which it opens at start (and creates with `mknod` when
          missing): `"host-device"` mounts the node's device (`hostPath`, `CharDevice`; no extra
          capability), `"mknod"` adds the `MKNOD` capability, `"privileged"` runs a privileged
          container. Per proxy or sidecar: `tunDevice`.
        '';
      };
      keepalive = lib.mkOption {
        type = duration;
        default = "25s";
        example = "15s";
        description = ''
          WireGuard persistent keepalive (`WIREGUARD_PERSISTENT_KEEPALIVE_INTERVAL`): without it NAT
          state expires and idle connections stop receiving. `"0s"` turns it off. Per proxy or
          sidecar: `keepalive`.
        '';
      };
      providers = lib.mkOption {
        type = lib.types.attrsOf (lib.types.submodule provider);
        default = { };
        example = { protonvpn = { credentials = "protonvpn"; }; };
        description = "VPN providers, by name.";
      };
      proxies = lib.mkOption {
        type = lib.types.attrsOf (lib.types.submodule proxy);
        default = { };
        example = { iceland = { provider = "protonvpn"; countries = [ "Iceland" ]; }; };
        description = ''
          Shared gluetun proxies, one Deployment per region in the `vpn-proxy` namespace.
        '';
      };
      sidecars = lib.mkOption {
        type = lib.types.attrsOf (lib.types.submodule sidecar);
        default = { };
        example = lib.literalExpression ''
          {
            qbittorrent = {
              namespace = "media";
              provider = "protonvpn";
              countries = [ "Iceland" ];
              portForwarding = true;
              inputPorts = [ 8080 ];
            };
          }
        '';
        description = "Apps that keep their own gluetun as a native sidecar.";
      };
      clients = lib.mkOption {
        type = lib.types.attrsOf (lib.types.submodule client);
        default = { };
        example = { marmithon = { namespace = "irc"; proxy = "iceland"; enforce = true; }; };
        description = "Apps that go out through a shared proxy.";
      };
      gateways = lib.mkOption {
        type = lib.types.attrsOf (lib.types.submodule gateway);
        default = { };
        example = lib.literalExpression ''
          {
            home = {
              host = "routy";
              listen = "10.1.0.1";
              tunnel = {
                endpoint = "exit.example.org:51820";
                publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
                address = "10.99.0.2/32";
                privateKeySecret = "routy-wireguard";
              };
            };
          }
        '';
        description = ''
          Egress gateways: a NixOS host whose SOCKS5 proxy goes out only through its own WireGuard
          tunnel (a kill switch drops it otherwise). A second backend beside the gluetun `proxies`;
          the two never share a name.
        '';
      };
    };
    secrets = lib.mkOption {
      type = lib.types.attrsOf (lib.types.submodule secret);
      default = { };
      example = lib.literalExpression ''
        {
          protonvpn = {
            file = "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml";
            keys = [ "WIREGUARD_PRIVATE_KEY" "WIREGUARD_ADDRESSES" ];
          };
        }
      '';
      description = "SOPS-encrypted secrets (`avalanche-net secrets seal NAME`), by name.";
    };
    kubernetes = {
      dir = lib.mkOption {
        type = lib.types.str;
        default = "kubernetes";
        example = "k8s";
        description = "Repository-relative directory of the Kubernetes tree.";
      };
      podCIDR = lib.mkOption {
        type = cidr;
        default = "10.42.0.0/16";
        example = "10.244.0.0/16";
        description = ''
          The cluster's pod network (k3s default), for `NO_PROXY` and gluetun's outbound subnets.
        '';
      };
      serviceCIDR = lib.mkOption {
        type = cidr;
        default = "10.43.0.0/16";
        example = "10.96.0.0/12";
        description = "The cluster's service network (k3s default).";
      };
      nodeCIDRs = lib.mkOption {
        type = lib.types.listOf cidr;
        default = [ ];
        example = [ "10.1.0.0/24" ];
        description = ''
          The networks the cluster's nodes have addresses in. Pods reach hosts outside the cluster
          from their node's address when the CNI masquerades (k3s' flannel does), so egress gateways
          admit these by default.
        '';
      };
      clusterDomain = lib.mkOption {
        type = lib.types.str;
        default = "cluster.local";
        example = "k8s.example";
        description = "The cluster's DNS domain.";
      };
      dnsServiceIP = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        defaultText = lib.literalMD "the tenth address of `serviceCIDR` (k3s: `10.43.0.10`)";
        example = "10.96.0.10";
        description = ''
          The ClusterIP of the cluster DNS Service (`kubectl -n kube-system get service kube-dns`).
          The proxies' gluetun forwards cluster-local names to it, so it is the one cluster address
          in their `FIREWALL_OUTBOUND_SUBNETS` (as a /32).
        '';
      };
      gitops = lib.mkOption {
        type = lib.types.enum [ "argocd" "flux" "none" ];
        default = "argocd";
        example = "flux";
        description = ''
          The GitOps engine that deploys the repository. `"argocd"`: `build` writes an Argo CD
          `Application` and KSOPS generators decrypt the SOPS-encrypted Secrets. `"flux"`: it writes
          a Flux `Kustomization` (`kustomize.toolkit.fluxcd.io/v1`) with `decryption.provider:
          sops`, and the encrypted Secrets are listed as plain resources (kustomize-controller
          decrypts them). `"none"`: plain manifests only, nothing registers the tree (you apply it:
          `kubectl apply -k`), and `kubernetes.secrets` alone decides how the Secrets are made.
        '';
      };
      argocd = {
        namespace = lib.mkOption {
          type = lib.types.str;
          default = "argocd";
          example = "gitops";
          description = "Namespace of Argo CD's `Application`s.";
        };
        project = lib.mkOption {
          type = lib.types.str;
          default = "default";
          example = "homelab";
          description = "Argo CD project of the generated `Application`s.";
        };
        repoURL = lib.mkOption {
          type = lib.types.str;
          default = "https://github.com/OWNER/avalanche.git";
          example = "https://github.com/alice/avalanche.git";
          description = "The Git repository Argo CD syncs from.";
        };
        targetRevision = lib.mkOption {
          type = lib.types.str;
          default = "main";
          example = "HEAD";
          description = "The branch, tag or commit Argo CD syncs.";
        };
        registerIn = lib.mkOption {
          type = lib.types.nullOr lib.types.str;
          default = null;
          example = "kubernetes/argocd/apps/kustomization.yaml";
          description = ''
            The app-of-apps kustomization (repo-relative) that lists the repository's Argo CD
            `Application` files: `avalanche-net build` writes `vpn-proxy-app.yaml` next to it and
            adds it to its `resources:`. Unset: the one kustomization listing `*-app.yaml` files, if
            any.
          '';
        };
      };
      flux = {
        namespace = lib.mkOption {
          type = dnsLabel;
          default = "flux-system";
          example = "flux";
          description = "Namespace of the generated Flux `Kustomization` (where Flux runs).";
        };
        sourceRef = {
          kind = lib.mkOption {
            type = lib.types.enum [ "GitRepository" "OCIRepository" "Bucket" ];
            default = "GitRepository";
            example = "OCIRepository";
            description = "Kind of the Flux source holding this repository.";
          };
          name = lib.mkOption {
            type = dnsLabel;
            default = "flux-system";
            example = "homelab";
            description = ''
              Name of the Flux source holding this repository (`flux bootstrap` names it
              `flux-system`).
            '';
          };
        };
        interval = lib.mkOption {
          type = interval;
          default = "10m";
          example = "1h";
          description = "How often Flux reconciles the generated `Kustomization` (a Go duration).";
        };
        decryptionSecret = lib.mkOption {
          type = dnsLabel;
          default = "sops-age";
          example = "sops-gpg";
          description = ''
            The Secret (in `namespace`) holding the age key kustomize-controller decrypts the SOPS
            files with (`decryption.secretRef`).
          '';
        };
        registerIn = lib.mkOption {
          type = lib.types.nullOr lib.types.str;
          default = null;
          example = "clusters/home";
          description = ''
            The directory (repo-relative) Flux applies the cluster's `Kustomization`s from:
            `avalanche-net build` writes `vpn-proxy.yaml` there (and lists it in the directory's
            `kustomization.yaml`, if it has one). Unset: the path of the bootstrap `Kustomization`
            `flux-system`, when the repository has exactly one.
          '';
        };
      };
      layout = {
        apps = lib.mkOption {
          type = lib.types.str;
          default = "base/apps/{namespace}/{app}";
          example = "apps/{namespace}/{app}";
          description = ''
            Where each app's manifests are, under `dir`, with the placeholders `{namespace}` and
            `{app}`: a directory holding the app's `kustomization.yaml` (which lists the generated
            `vpn-egress` component), or a flat manifest (`apps/{app}.yaml`, kubenix's
            `.k8s/{app}.yaml`), whose component goes where `egress` says.
          '';
        };
        proxies = lib.mkOption {
          type = lib.types.str;
          default = "base/infra/network/vpn-proxy";
          example = "infrastructure/vpn-proxy";
          description = "Directory of the shared proxies' tree, under `dir`.";
        };
        egress = lib.mkOption {
          type = lib.types.str;
          default = "vpn-egress/{app}";
          example = "kustomize/egress/{app}";
          description = ''
            For flat app manifests: the directory of each app's generated egress Component, under
            `dir`, with the placeholders `{namespace}` and `{app}`. `build` lists it in what applies
            the app's manifest: the `components:` of the kustomization listing the file, or
            `spec.components` of the Flux Kustomization applying its directory; it must lie outside
            every directory Flux applies without a kustomization. Unused for app directories.
          '';
        };
      };
      monitoring = {
        enable = lib.mkOption {
          type = lib.types.bool;
          default = false;
          example = true;
          description = ''
            Emit alerts (kube-state-metrics) and a Grafana dashboard ConfigMap; for each gateway
            with `monitoring`, its scrape target, its proxy's probe, alerts and a dashboard.
          '';
        };
        prober = lib.mkOption {
          type = lib.types.str;
          default = "prometheus-blackbox-exporter.monitoring.svc:9115";
          example = "blackbox-exporter.monitoring.svc:19115";
          description = ''
            `host:port` of the blackbox exporter that probes each monitored gateway's proxy port (a
            prometheus-operator `Probe`'s `prober.url`).
          '';
        };
        proberModule = lib.mkOption {
          type = lib.types.str;
          default = "tcp_connect";
          example = "tcp_connect";
          description = ''
            The blackbox exporter module of those probes: a `tcp` prober module of its
            configuration.
          '';
        };
      };
      verification = {
        enable = lib.mkOption {
          type = lib.types.bool;
          default = false;
          example = true;
          description = "Emit a Job that proves each proxy's egress leaves through the VPN.";
        };
      };
      secrets = lib.mkOption {
        type = lib.types.enum [ "ksops" "none" ];
        default = "ksops";
        example = "none";
        description = ''
          Whether Argo CD decrypts SOPS files with KSOPS (`"ksops"`): declared secrets of `format =
          "kubernetes"` become Secrets through a generated KSOPS generator. With `"none"` (Secrets
          come from ExternalSecrets, sealed-secrets…), no SOPS file or generator is rendered, and
          credentials are `existingSecret`s.
        '';
      };
    };
    domains = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "home.example.org" ];
      description = ''
        DNS domains the hosts are named under: `check` counts `<host>.<domain>` as naming a host (a
        retired host's name alone is weak evidence when it is a common word).
      '';
    };
    sops = {
      recipients = lib.mkOption {
        type = lib.types.attrsOf (lib.types.submodule sopsRecipient);
        default = { };
        example = lib.literalExpression ''
          {
            alice = { age = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"; kind = "admin"; };
            github-actions = { age = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"; kind = "ci"; };
          }
        '';
        description = ''
          Age recipients that are not a host's anchor (`&host_<name>` in `.sops.yaml`): `check`
          warns about every recipient it cannot attribute to a host, a declared recipient or a
          retired host.
        '';
      };
    };
    repository = {
      hostDirs = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "infra/boxes" ];
        description = ''
          Repository-relative directories whose subdirectories are hosts, besides the layouts
          `check` knows (`hosts/`, `nixos/hosts/`, `machines/`, `nixos/machines/`,
          `systems/<arch>/`): a retired host's directory there is an error, and a managed Tailscale
          node needs one when the flake's hosts cannot be listed.
        '';
      };
    };
  };
}
