# Evaluates `nixosModules.egressGateway` on one host with nixpkgs' `lib` alone
# (NIXPKGS_LIB), the NixOS stand-ins of ./nixos-stubs.nix and ./sops-nix-stub.nix,
# and inert packages; prints what tests/flake.rs compares with the Rust renderer:
#   nix-instantiate --eval --strict --json nix/tests/run-gateway.nix \
#     --arg nixpkgsLib "$NIXPKGS_LIB" --arg repo ./tests/fixtures/gateway-host --argstr hostName routy
{
  nixpkgsLib,
  repo,
  hostName,
  # false: without sops-nix (then privateKeyFiles must be given).
  sops ? true,
  privateKeyFiles ? null,
}:
let
  lib = import nixpkgsLib;
  package = name: {
    inherit name;
    type = "derivation";
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
  pkgs = {
    # Content-addressed: the path names the bytes (see `written` below).
    writeText = builtins.toFile;
  }
  // lib.genAttrs [
    "bash"
    "iproute2"
    "wireguard-tools"
    "nftables"
    "microsocks"
    "tinyproxy"
  ] package;
  config =
    (lib.evalModules {
      modules = [
        ./nixos-stubs.nix
        ../modules/network-options.nix
        ../modules/egress-gateway.nix
        (repo + "/nix/network.nix")
        {
          _module.args.pkgs = pkgs;
          networking.hostName = hostName;
        }
      ]
      ++ lib.optionals sops [
        ./sops-nix-stub.nix
        { avalanche.egressGateway.repositoryRoot = repo; }
      ]
      ++ lib.optional (privateKeyFiles != null) { avalanche.egressGateway.privateKeyFiles = privateKeyFiles; };
    }).config;
  units = lib.filterAttrs (n: _: lib.hasPrefix "avalanche-gateway-" n) config.systemd.services;
  rendered = config.avalanche.egressGateway.rendered;
in
{
  inherit rendered;
  # The store path each rendered file has when written: a unit naming it applies
  # exactly those bytes (`--eval` computes the path without writing the file).
  written = lib.mapAttrs (
    name: r:
    {
      nftables = builtins.toFile "avalanche-gateway-${name}.nft" r.nftables;
      routing = builtins.toFile "avalanche-gateway-${name}.ip" r.routing;
      routing6 = builtins.toFile "avalanche-gateway-${name}.ip6" r.routing6;
      wireguard = builtins.toFile "avalanche-gateway-${name}.wg" r.wireguard;
      routeWatcher = builtins.toFile "avalanche-gateway-${name}-routes.sh" r.routeWatcher;
    }
    // lib.optionalAttrs (r.tinyproxy != null) {
      tinyproxy = builtins.toFile "avalanche-gateway-${name}-tinyproxy.conf" r.tinyproxy;
    }
  ) rendered;
  units = lib.mapAttrs (_: u: {
    inherit (u)
      after
      bindsTo
      partOf
      wantedBy
      script
      preStop
      ;
    serviceConfig = lib.filterAttrs (n: _: lib.elem n [ "ExecStart" "User" "Type" ]) u.serviceConfig;
    path = map toString u.path;
  }) units;
  users = lib.mapAttrs (_: u: { inherit (u) uid isSystemUser; }) config.users.users;
  sysctl = config.boot.kernel.sysctl;
  ports = config.networking.firewall.allowedTCPPorts;
  exporter = config.services.prometheus.exporters.wireguard.enable;
  exporterListen = config.services.prometheus.exporters.wireguard.listenAddress;
  exporterPort = config.services.prometheus.exporters.wireguard.port;
  secrets = lib.mapAttrs (_: s: {
    sopsFile = toString s.sopsFile;
    inherit (s) key path restartUnits;
  }) (config.sops.secrets or { });
  failures = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  inherit (config) warnings;
}
