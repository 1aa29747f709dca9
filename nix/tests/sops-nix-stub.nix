# A stand-in for sops-nix's `nixosModules.sops`, for the user-flake tests
# (tests/flake.rs) on machines without network. Written for these tests: only the
# options a host's Tailscale wiring uses, with sops-nix's names and defaults
# (Mic92/sops-nix modules/sops/default.nix): a secret's `path` is
# /run/secrets/<name>, its `key` defaults to its name, and its `sopsFile` must exist.
{ config, lib, ... }:
let
  secret =
    { name, config, ... }:
    {
      options = {
        sopsFile = lib.mkOption {
          type = lib.types.either lib.types.str lib.types.path;
          description = "stub of sops-nix's option";
        };
        key = lib.mkOption {
          type = lib.types.str;
          default = name;
          description = "stub of sops-nix's option";
        };
        path = lib.mkOption {
          type = lib.types.str;
          default = "/run/secrets/${name}";
          description = "stub of sops-nix's option";
        };
        owner = lib.mkOption {
          type = lib.types.str;
          default = "root";
          description = "stub of sops-nix's option";
        };
        restartUnits = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ ];
          description = "stub of sops-nix's option";
        };
      };
    };
in
{
  _class = "nixos";

  options.sops = {
    secrets = lib.mkOption {
      type = lib.types.attrsOf (lib.types.submodule secret);
      default = { };
      description = "stub of sops-nix's option";
    };
    age.keyFile = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      description = "stub of sops-nix's option";
    };
  };

  config.assertions = lib.mapAttrsToList (name: s: {
    assertion = builtins.pathExists s.sopsFile;
    message = "sops.secrets.${name}.sopsFile: ${toString s.sopsFile} does not exist";
  }) config.sops.secrets;
}
