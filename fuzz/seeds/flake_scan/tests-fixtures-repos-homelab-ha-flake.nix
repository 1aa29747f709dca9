{
  description = "homelab";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    sops-nix.url = "github:Mic92/sops-nix";
  };

  outputs = { self, nixpkgs, sops-nix, ... }@inputs:
    let
      inherit (nixpkgs) lib;
      nodes = import ./nixos/nodes.nix;
      mkHost = name: node: lib.nixosSystem {
        inherit (node) system;
        specialArgs = { inherit inputs; };
        modules = [
          ./nixos/hosts/${name}
          ./nix/network.nix
          sops-nix.nixosModules.sops
        ];
      };
    in
    {
      nixosConfigurations = lib.mapAttrs mkHost nodes;
    };
}
