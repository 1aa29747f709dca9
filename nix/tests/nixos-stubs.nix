# Stand-ins for the NixOS options `nixosModules.tailscale` sets or reads, so the
# module tests run with nixpkgs' `lib` alone (no NixOS module tree here).
# Names, types and defaults follow nixpkgs' own declarations, as read in
#   nixos/modules/services/networking/tailscale.nix (services.tailscale.*, and the
#     `tailscaled-autoconnect`/`tailscaled-set` units it makes),
#   nixos/modules/system/boot/systemd.nix (systemd.services.<name>.*),
#   nixos/modules/tasks/network-interfaces.nix (networking.hostName),
#   nixos/modules/misc/assertions.nix (assertions, warnings).
# Written for these tests (not nixpkgs' code): the units only carry what the tests
# look at (ordering, the command line). The flake's checks run the same cases
# against the real NixOS modules.
{ config, lib, ... }:
let
  cfg = config.services.tailscale;
  stub =
    type: default:
    lib.mkOption {
      inherit type default;
      description = "stub of nixpkgs' option";
    };
  unit = {
    options = {
      enable = stub lib.types.bool true;
      description = stub lib.types.str "";
      after = stub (lib.types.listOf lib.types.str) [ ];
      bindsTo = stub (lib.types.listOf lib.types.str) [ ];
      partOf = stub (lib.types.listOf lib.types.str) [ ];
      path = stub (lib.types.listOf lib.types.unspecified) [ ];
      preStop = stub lib.types.lines "";
      wants = stub (lib.types.listOf lib.types.str) [ ];
      wantedBy = stub (lib.types.listOf lib.types.str) [ ];
      script = stub lib.types.lines "";
      # nixpkgs: attrsOf unitOption (a value or a list of values).
      serviceConfig = stub (lib.types.attrsOf lib.types.unspecified) { };
    };
  };
in
{
  options = {
    services.tailscale = {
      enable = lib.mkEnableOption "Tailscale client daemon";
      useRoutingFeatures = lib.mkOption {
        type = lib.types.enum [
          "none"
          "client"
          "server"
          "both"
        ];
        default = "none";
        description = "stub of nixpkgs' option";
      };
      extraUpFlags = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        description = "stub of nixpkgs' option";
      };
      extraSetFlags = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        description = "stub of nixpkgs' option";
      };
      # nixpkgs: `types.nullOr types.path`, which takes path literals too.
      authKeyFile = lib.mkOption {
        type = lib.types.nullOr lib.types.path;
        default = null;
        description = "stub of nixpkgs' option";
      };
    };
    systemd.services = lib.mkOption {
      type = lib.types.attrsOf (lib.types.submodule unit);
      default = { };
      description = "stub of nixpkgs' option";
    };
    # For nixosModules.egressGateway (nixos/modules/config/users-groups.nix,
    # config/sysctl.nix, services/networking/firewall.nix,
    # services/monitoring/prometheus/exporters.nix).
    users.users = stub (lib.types.attrsOf (
      lib.types.submodule {
        options = {
          isSystemUser = stub lib.types.bool false;
          uid = stub (lib.types.nullOr lib.types.int) null;
          group = stub lib.types.str "";
          description = stub lib.types.str "";
        };
      }
    )) { };
    users.groups = stub (lib.types.attrsOf (
      lib.types.submodule { options.gid = stub (lib.types.nullOr lib.types.int) null; }
    )) { };
    boot.kernel.sysctl = stub (lib.types.attrsOf lib.types.unspecified) { };
    networking.firewall.allowedTCPPorts = stub (lib.types.listOf lib.types.port) [ ];
    services.prometheus.exporters.wireguard.enable = stub lib.types.bool false;
    # nixpkgs' defaults (exporters.nix, exporters/wireguard.nix).
    services.prometheus.exporters.wireguard.listenAddress = stub lib.types.str "0.0.0.0";
    services.prometheus.exporters.wireguard.port = stub lib.types.port 9586;
    networking.hostName = lib.mkOption {
      type = lib.types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$";
      default = "nixos";
      description = "stub of nixpkgs' option";
    };
    assertions = lib.mkOption {
      type = lib.types.listOf lib.types.unspecified;
      internal = true;
      default = [ ];
      description = "stub of nixpkgs' option";
    };
    warnings = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      internal = true;
      default = [ ];
      description = "stub of nixpkgs' option";
    };
  };

  # What nixpkgs' module makes of the options above: the first login with the auth
  # key (extraUpFlags only there) and `tailscale set` at every boot.
  config = lib.mkIf cfg.enable {
    systemd.services.tailscaled.wantedBy = [ "multi-user.target" ];
    systemd.services.tailscaled-autoconnect = lib.mkIf (cfg.authKeyFile != null) {
      after = [ "tailscaled.service" ];
      wants = [ "tailscaled.service" ];
      wantedBy = [ "multi-user.target" ];
      serviceConfig.Type = "oneshot";
      script = "tailscale up --auth-key 'file:${toString cfg.authKeyFile}' ${lib.escapeShellArgs cfg.extraUpFlags}";
    };
    systemd.services.tailscaled-set = lib.mkIf (cfg.extraSetFlags != [ ]) {
      after = [ "tailscaled.service" ];
      wants = [ "tailscaled.service" ];
      wantedBy = [ "multi-user.target" ];
      serviceConfig.Type = "oneshot";
      script = "tailscale set ${lib.escapeShellArgs cfg.extraSetFlags}";
    };
  };
}
