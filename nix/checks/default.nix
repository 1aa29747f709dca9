# `nix flake check`: the declarations, the manifests, the modules and the package.
#   network            `avalanche-net check` on the repository, with the declarations
#                      as the options module evaluates them, and the module's own assertions
#   manifests-in-sync  the sandbox-built tree equals the committed files, and
#                      `avalanche-net diff` finds no drift (nor anything to prune)
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
  network = self.lib.network;

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
// {
  inherit avalanche-net;

  network =
    let
      failed = avalancheLib.networkAssertions ../network.nix;
    in
    if failed != [ ] then
      throw "nix/network.nix:\n- ${lib.concatStringsSep "\n- " failed}"
    else
      pkgs.runCommand "avalanche-network-check"
        {
          nativeBuildInputs = [
            avalanche-net
            pkgs.git
          ];
        }
        ''
          ${avalancheLib.prepareRepo pkgs self network}
          avalanche-net --repo repo --eval static check
          touch "$out"
        '';

  manifests-in-sync =
    pkgs.runCommand "avalanche-manifests-in-sync"
      {
        nativeBuildInputs = [
          avalanche-net
          pkgs.git
        ];
      }
      ''
        status=0
        cd ${vpn-manifests}
        while IFS= read -r -d "" file; do
          file=''${file#./}
          if ! cmp -s "$file" "${avalancheLib.networkSource self}/$file"; then
            echo "out of sync: $file" >&2
            status=1
          fi
        done < <(find . -type f -print0)
        cd "$NIX_BUILD_TOP"
        ${avalancheLib.prepareRepo pkgs self network}
        avalanche-net --repo repo --eval static diff || status=1
        if [ "$status" -ne 0 ]; then
          echo "The committed generated files are not what the declarations produce." >&2
          echo "Run \`avalanche-net build\` and commit the result." >&2
          exit 1
        fi
        touch "$out"
      '';

  exit-node-forbidden-fails =
    let
      attempt = builtins.tryEval forbiddenExitNode.config.system.build.toplevel.drvPath;
    in
    if attempt.success then
      throw "a host with an exit node while exitNodes = \"forbidden\" evaluated; its assertion is missing"
    else
      pkgs.runCommand "exit-node-forbidden-fails" { } "touch $out";
}
