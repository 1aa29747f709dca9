# `nix flake check`: the declarations, the manifests, the modules and the package.
# The first three are `lib.mkChecks` (../lib.nix), the same checks an operator's
# flake gets for its own repository:
#   network            `avalanche-net check` on the repository, with the declarations
#                      as the options module evaluates them, and the module's own assertions
#   manifests-in-sync  the sandbox-built tree equals the committed files, and
#                      `avalanche-net diff` finds no drift (nor anything to prune)
#   host-<name>        each host of nixosConfigurations evaluates with the module
#   module-*           ../tests/modules.nix against the real NixOS modules, one host per role
#   exit-node-forbidden-fails  a host with a forbidden exit node does not evaluate
#   avalanche-net      the package build, with its test suite
{
  pkgs,
  lib,
  self,
  system,
  avalancheLib,
}:
let
  inherit (self.packages.${system}) avalanche-net vpn-manifests;

  # A NixOS host of this flake's modules; `modules` add the declarations.
  nixosHost =
    { hostName, modules }:
    lib.nixosSystem {
      modules = [
        self.nixosModules.default
        {
          nixpkgs.hostPlatform = system;
          networking.hostName = hostName;
          avalanche.tailscale.enable = true;
          boot.isContainer = true;
          system.stateVersion = "25.11";
        }
      ]
      ++ modules;
    };

  moduleTests = import ../tests/modules.nix {
    inherit lib;
    evalHost = args: (nixosHost args).config;
  };

  # testSubnetRouter → module-subnet-router
  kebab =
    name:
    lib.concatMapStrings (c: if lib.toLower c != c then "-${lib.toLower c}" else c) (
      lib.stringToCharacters (lib.removePrefix "test" name)
    );

  moduleCheck =
    name: test:
    lib.nameValuePair "module${kebab name}" (
      if test.expr == test.expected then
        pkgs.runCommand "module-${name}" { } "touch $out"
      else
        throw ''
          module test ${name} failed:
            expected: ${builtins.toJSON test.expected}
            got:      ${builtins.toJSON test.expr}''
    );

  forbiddenExitNode = nixosHost {
    hostName = "gateway";
    modules = [ { avalanche.network.tailscale.nodes.gateway.role = "exit-node"; } ];
  };
in
lib.mapAttrs' moduleCheck moduleTests
// avalancheLib.mkChecks {
  inherit pkgs avalanche-net;
  inherit (self) nixosConfigurations;
  src = avalancheLib.networkSource self;
  manifests = vpn-manifests;
  prefix = "";
}
// {
  inherit avalanche-net;

  exit-node-forbidden-fails =
    let
      attempt = builtins.tryEval forbiddenExitNode.config.system.build.toplevel.drvPath;
    in
    if attempt.success then
      throw "a host with an exit node while exitNodes = \"forbidden\" evaluated; its assertion is missing"
    else
      pkgs.runCommand "exit-node-forbidden-fails" { } "touch $out";
}
