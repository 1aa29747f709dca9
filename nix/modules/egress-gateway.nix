# `nixosModules.egressGateway`: the host side of the egress gateways declared in
# `avalanche.network.egress.gateways` whose `host` is this machine.
#
# For each such gateway:
#   - a oneshot unit `avalanche-gateway-<name>` makes the WireGuard interface and
#     applies the rendered files (./gateway-render.nix, the byte-for-byte twin of
#     the Rust renderer that tests/gateway.rs proves in network namespaces): the
#     `wg setconf` file, the private key from its file (sops-nix; never in the
#     store), the `ip -batch` policy routing (`ip -6 -batch` for IPv6)
#     and the nftables table;
#   - `avalanche-gateway-<name>-socks`: microsocks on the listen address only, as
#     the dedicated user whose packets the table marks and lets out only through
#     the tunnel (the kill switch), bound to the tunnel unit;
#   - `avalanche-gateway-<name>-http` when `httpPort` is set: tinyproxy, the same way;
#   - `avalanche-gateway-<name>-routes`: the rendered route watcher, which restores
#     the tunnel table's routes whenever the interface comes back up (a down
#     interface loses them; the kill switch's `unreachable` default stays, so
#     without it a link flap refuses every request for good);
#   - the firewall opens the proxy ports (the gateway's own table then admits only
#     `allowedClients` at the listen address), `src_valid_mark` is set, and with
#     `monitoring` the Prometheus WireGuard exporter runs.
# No endpoint-route watcher: the WireGuard socket's own mark keeps encapsulated
# packets in the main table (the `wg-quick` way).
#
# The key: with sops-nix imported and `repositoryRoot` set, the module declares
# `sops.secrets.<privateKeySecret>` (the declared plain secret's file, its first
# key); otherwise set `avalanche.egressGateway.privateKeyFiles.<gateway>`.
{
  config,
  lib,
  options,
  pkgs,
  ...
}:
let
  cfg = config.avalanche.egressGateway;
  net = config.avalanche.network;
  render = import ./gateway-render.nix { inherit lib; };
  defaults = import ./defaults.nix;
  user = "avalanche-gateway";
  opt = "avalanche.egressGateway";
  hasSops = options ? sops.secrets;

  mine = lib.filterAttrs (_: g: g.host == cfg.hostName) net.egress.gateways;
  hosts = lib.mapAttrs (name: _: render.host net name) mine;
  unit = name: "avalanche-gateway-${name}";
  # One WireGuard exporter serves every tunnel of the host: on the monitored
  # gateways' listen address, at the port the generated ScrapeConfig names.
  exporterListens = lib.unique (lib.mapAttrsToList (_: g: g.listen) (lib.filterAttrs (_: g: g.monitoring) mine));

  secretOf = g: net.secrets.${g.tunnel.privateKeySecret} or null;
  sopsSecrets = lib.mapAttrs' (
    name: g:
    let
      s = secretOf g;
    in
    lib.nameValuePair g.tunnel.privateKeySecret {
      sopsFile = cfg.repositoryRoot + "/${s.file}";
      key = lib.head s.keys;
      restartUnits = [ "${unit name}.service" ];
    }
  ) (lib.filterAttrs (_: g: secretOf g != null && (secretOf g).keys != [ ]) mine);

  writeFile = name: text: pkgs.writeText name text;

  startScript =
    name: gw: files: keyFile:
    ''
      ip link del dev ${gw.interface} 2>/dev/null || true
      ip link add dev ${gw.interface} type wireguard
      wg setconf ${gw.interface} ${files.wireguard}
      wg set ${gw.interface} private-key ${lib.escapeShellArg keyFile}
      ip -batch ${files.routing}
      # Skipped only on a kernel without IPv6 (booted with ipv6.disable=1), where
      # no IPv6 can leave at all.
      if [ -e /proc/net/if_inet6 ]; then
        ip -6 -batch ${files.routing6}
      fi
      nft -f ${files.nftables}
    '';
  stopScript = name: gw: ''
    nft delete table inet ${render.tableName name} 2>/dev/null || true
    for family in -4 -6; do
      for priority in 10000 10001 10002; do
        # Two rules per allowed client network at 10001, two at 10002: bounded by
        # the declaration.
        for _ in ${toString (lib.range 0 (2 * lib.length gw.allowedClients + 1))}; do
          ip "$family" rule del priority "$priority" 2>/dev/null || break
        done
      done
      ip "$family" route flush table ${toString gw.routingTable} 2>/dev/null || true
    done
    ip link del dev ${gw.interface} 2>/dev/null || true
  '';

  hardening = {
    User = user;
    Group = user;
    Restart = "always";
    RestartSec = "2s";
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    CapabilityBoundingSet = "";
  };

  files = lib.mapAttrs (name: gw: {
    nftables = writeFile "avalanche-gateway-${name}.nft" (render.nftables gw);
    routing = writeFile "avalanche-gateway-${name}.ip" (render.routing gw);
    routing6 = writeFile "avalanche-gateway-${name}.ip6" (render.routing6 gw);
    wireguard = writeFile "avalanche-gateway-${name}.wg" (render.wireguard gw);
    routeWatcher = writeFile "avalanche-gateway-${name}-routes.sh" (render.routeWatcher gw);
    tinyproxy = if gw.httpPort == null then null else writeFile "avalanche-gateway-${name}-tinyproxy.conf" (render.tinyproxy gw);
  }) hosts;
in
{
  options.avalanche.egressGateway = {
    enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Run the egress gateways whose `host` is this machine (importing the module turns it on).";
    };
    hostName = lib.mkOption {
      type = lib.types.str;
      default = config.networking.hostName;
      defaultText = lib.literalExpression "config.networking.hostName";
      description = "The name `avalanche.network.egress.gateways.<name>.host` gives this machine.";
    };
    repositoryRoot = lib.mkOption {
      type = lib.types.nullOr lib.types.path;
      default = null;
      example = lib.literalExpression "./.";
      description = ''
        The repository the declared secrets' `file`s are relative to. With sops-nix
        imported, the module then declares `sops.secrets.<privateKeySecret>` itself.
      '';
    };
    privateKeyFiles = lib.mkOption {
      type = lib.types.attrsOf lib.types.str;
      default = lib.mapAttrs (_: g: config.sops.secrets.${g.tunnel.privateKeySecret}.path) (
        lib.filterAttrs (_: g: hasSops && cfg.repositoryRoot != null && secretOf g != null) mine
      );
      defaultText = lib.literalExpression "the sops-nix path of each gateway's privateKeySecret";
      example = {
        home = "/run/secrets/routy-wireguard";
      };
      description = "Each gateway's WireGuard private key file (outside the Nix store), by gateway name.";
    };
    rendered = lib.mkOption {
      type = lib.types.attrsOf (lib.types.attrsOf lib.types.unspecified);
      readOnly = true;
      default = lib.mapAttrs (_: gw: {
        nftables = render.nftables gw;
        routing = render.routing gw;
        routing6 = render.routing6 gw;
        wireguard = render.wireguard gw;
        routeWatcher = render.routeWatcher gw;
        tinyproxy = render.tinyproxy gw;
        proxyArgs = render.proxyArgs gw;
      }) hosts;
      defaultText = lib.literalExpression "the files of each gateway on this host";
      description = "The rendered files of each gateway on this host, as the units apply them (read-only).";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions =
          lib.mapAttrsToList (name: g: {
            assertion = cfg.privateKeyFiles ? ${name};
            message = ''
              ${opt}: gateway `${name}` has no private key file: import sops-nix and set
              ${opt}.repositoryRoot = ./.; (its secret `${g.tunnel.privateKeySecret}` is then
              declared for you), or set ${opt}.privateKeyFiles.${name} = "/run/secrets/…";.'';
          }) mine
          ++ lib.mapAttrsToList (name: g: {
            assertion = secretOf g != null && (secretOf g).format == "plain";
            message = ''
              ${opt}: gateway `${name}` reads its key from secret `${g.tunnel.privateKeySecret}`, which
              avalanche.network.secrets must declare with format = "plain" (sops-nix reads a plain map).'';
          }) mine
          ++ [
            {
              # One proxy user per host: each gateway's table marks that user's packets
              # for its own tunnel and drops the rest (so, one exporter address too).
              assertion = lib.length (lib.attrNames mine) <= 1;
              message = ''
                ${opt}: gateways ${lib.concatStringsSep " and " (lib.attrNames mine)} all run on `${cfg.hostName}`, but a host runs
                at most one: their proxies would share one user, whose packets one gateway's table sends into its
                tunnel and the other's kill switch drops. Set the others' `host` to other machines.'';
            }
          ];
        warnings = lib.optional (mine == { }) ''
          ${opt}: no egress gateway names host `${cfg.hostName}`; the module does nothing here
          (set avalanche.network.egress.gateways.<name>.host = "${cfg.hostName}", or drop the import).'';
      }
      (lib.mkIf (mine != { }) (
        {
          users.users.${user} = {
            isSystemUser = true;
            # Fixed and numeric: the nftables table matches it before the user exists.
            uid = defaults.gatewayProxyUid;
            group = user;
            description = "avalanche-net egress gateway proxies (their packets leave only through the tunnel)";
          };
          users.groups.${user}.gid = config.users.users.${user}.uid;
          boot.kernel.sysctl."net.ipv4.conf.all.src_valid_mark" = 1;
          networking.firewall.allowedTCPPorts = lib.concatLists (
            lib.mapAttrsToList (_: gw: [ gw.socksPort ] ++ lib.optional (gw.httpPort != null) gw.httpPort) hosts
          ) ++ lib.optional (exporterListens != [ ]) defaults.gatewayExporterPort;
          # Admitted, like the proxy, only from allowedClients by the gateway's table.
          services.prometheus.exporters.wireguard = lib.mkIf (exporterListens != [ ]) {
            enable = true;
            listenAddress = lib.head exporterListens;
            port = defaults.gatewayExporterPort;
          };
          systemd.services = lib.mkMerge (
            lib.mapAttrsToList (
              name: gw:
              let
                f = files.${name};
                tunnel = "${unit name}.service";
              in
              {
                ${unit name} = {
                  description = "avalanche-net egress gateway ${name}: WireGuard tunnel, policy routing, kill switch";
                  after = [ "network-online.target" ];
                  wants = [ "network-online.target" ];
                  wantedBy = [ "multi-user.target" ];
                  path = [
                    pkgs.iproute2
                    pkgs.wireguard-tools
                    pkgs.nftables
                  ];
                  serviceConfig = {
                    Type = "oneshot";
                    RemainAfterExit = true;
                  };
                  script = startScript name gw f (cfg.privateKeyFiles.${name} or "");
                  preStop = stopScript name gw;
                };
                # Root with CAP_NET_ADMIN alone; restarted with the tunnel unit
                # (its `ip monitor` follows the interface it found at start).
                "${unit name}-routes" = {
                  description = "avalanche-net egress gateway ${name}: restores the tunnel routes when ${gw.interface} comes up";
                  after = [ tunnel ];
                  bindsTo = [ tunnel ];
                  partOf = [ tunnel ];
                  wantedBy = [ "multi-user.target" ];
                  path = [ pkgs.iproute2 ];
                  serviceConfig = {
                    ExecStart = "${lib.getExe' pkgs.bash "bash"} ${f.routeWatcher}";
                    Restart = "always";
                    RestartSec = "2s";
                    CapabilityBoundingSet = "CAP_NET_ADMIN";
                    NoNewPrivileges = true;
                    ProtectSystem = "strict";
                    ProtectHome = true;
                    PrivateTmp = true;
                    RestrictAddressFamilies = [
                      "AF_NETLINK"
                      "AF_UNIX"
                    ];
                  };
                };
                "${unit name}-socks" = {
                  description = "avalanche-net egress gateway ${name}: SOCKS5 (microsocks)";
                  after = [ tunnel ];
                  bindsTo = [ tunnel ];
                  # Restarted with it (sops-nix restarts the tunnel unit on a new
                  # key): bound alone, a proxy would be stopped and stay so.
                  partOf = [ tunnel ];
                  wantedBy = [ "multi-user.target" ];
                  serviceConfig = hardening // {
                    ExecStart = "${lib.getExe' pkgs.microsocks "microsocks"} ${lib.escapeShellArgs (render.proxyArgs gw)}";
                  };
                };
              }
              // lib.optionalAttrs (gw.httpPort != null) {
                "${unit name}-http" = {
                  description = "avalanche-net egress gateway ${name}: HTTP CONNECT (tinyproxy)";
                  after = [ tunnel ];
                  bindsTo = [ tunnel ];
                  partOf = [ tunnel ];
                  wantedBy = [ "multi-user.target" ];
                  serviceConfig = hardening // {
                    ExecStart = "${lib.getExe' pkgs.tinyproxy "tinyproxy"} -d -c ${f.tinyproxy}";
                  };
                };
              }
            ) hosts
          );
        }
        // lib.optionalAttrs hasSops {
          sops.secrets = lib.mkIf (cfg.repositoryRoot != null) sopsSecrets;
        }
      ))
    ]
  );
}
