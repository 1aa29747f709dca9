# `flakeModules.default`: avalanche-net in a flake-parts flake.
#
#   outputs = inputs@{ flake-parts, ... }:
#     flake-parts.lib.mkFlake { inherit inputs; } {
#       imports = [ inputs.avalanche-net.flakeModules.default ];
#       systems = [ "x86_64-linux" ];
#       avalanche-net.network = ./nix/network.nix;
#       flake.nixosConfigurations = { … };
#     };
#
# Adds, for each system, `packages.vpn-manifests` (lib.mkVpnManifests) and the
# checks of lib.mkChecks (`avalanche-network`, `avalanche-manifests-in-sync`,
# `avalanche-host-<name>` for each host of `flake.nixosConfigurations` that enables
# the module). Written against flake-parts' documented module interface: top-level
# options next to `perSystem` (a deferred module given `pkgs` and `system`) and
# `flake`; `self` is a module argument.
{ avalanche }:
{
  config,
  lib,
  self,
  ...
}:
let
  cfg = config.avalanche-net;
in
{
  _class = "flake";

  options.avalanche-net = {
    src = lib.mkOption {
      # A path or a source attrset (`self`, `lib.cleanSource …`): taken as is.
      type = lib.types.raw;
      default = self;
      defaultText = lib.literalExpression "self";
      example = lib.literalExpression "lib.cleanSource ./.";
      description = ''
        The repository holding the declarations, `.sops.yaml`, the secrets and the
        Kubernetes tree (`avalanche-net check` reads all of it).
      '';
    };
    network = lib.mkOption {
      type = lib.types.either lib.types.str lib.types.path;
      default = "nix/network.nix";
      example = lib.literalExpression "./infra/network.nix";
      description = ''
        The declarations (`avalanche.network`): a path inside `src`, or a string
        relative to it.
      '';
    };
    checks.enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      example = false;
      description = "Add the checks of `lib.mkChecks` to each system's `checks`.";
    };
    checks.prefix = lib.mkOption {
      type = lib.types.str;
      default = "avalanche-";
      description = "Prefix of the checks' names, so they sit next to the flake's own.";
    };
  };

  config.perSystem =
    { pkgs, ... }:
    let
      args = {
        inherit pkgs;
        inherit (cfg) src network;
      };
      manifests = avalanche.lib.mkVpnManifests args;
    in
    {
      packages.vpn-manifests = manifests;
      checks = lib.mkIf cfg.checks.enable (
        avalanche.lib.mkChecks (
          args
          // {
            inherit manifests;
            inherit (cfg.checks) prefix;
            nixosConfigurations = config.flake.nixosConfigurations or { };
          }
        )
      );
    };
}
