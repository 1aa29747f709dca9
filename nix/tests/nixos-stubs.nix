# Stand-ins for the NixOS options `nixosModules.tailscale` sets or reads, so the
# module tests run with nixpkgs' `lib` alone (no NixOS module tree here).
# Names, types and defaults are nixpkgs' own, as read in
#   nixos/modules/services/networking/tailscale.nix (services.tailscale.*),
#   nixos/modules/tasks/network-interfaces.nix (networking.hostName),
#   nixos/modules/misc/assertions.nix (assertions, warnings).
# The flake's checks run the same cases against the real NixOS modules.
{ lib, ... }:
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
      authKeyFile = lib.mkOption {
        type = lib.types.nullOr lib.types.path;
        default = null;
        description = "stub of nixpkgs' option";
      };
    };
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
}
