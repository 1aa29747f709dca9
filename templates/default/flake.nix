{
  description = "NixOS hosts and a homelab network declared once with avalanche-net";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    avalanche-net = {
      url = "github:OWNER/avalanche";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      avalanche-net,
    }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      nixosConfigurations.myhost = nixpkgs.lib.nixosSystem {
        modules = [
          avalanche-net.nixosModules.default
          ./nix/network.nix
          ./hosts/myhost
        ];
      };

      # nix build .#vpn-manifests: the generated Kubernetes tree, built in the sandbox.
      packages = forAllSystems (pkgs: {
        vpn-manifests = avalanche-net.lib.mkVpnManifests {
          inherit pkgs;
          src = self;
        };
      });

      # nix flake check: `avalanche-net check`, the committed generated files up to
      # date, and each host enabling the module evaluates.
      checks = forAllSystems (
        pkgs:
        avalanche-net.lib.mkChecks {
          inherit pkgs;
          src = self;
          inherit (self) nixosConfigurations;
        }
      );
    };
}
