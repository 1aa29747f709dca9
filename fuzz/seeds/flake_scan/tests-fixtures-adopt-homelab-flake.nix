{
  description = "alice's homelab";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    sops-nix.url = "github:Mic92/sops-nix";
  };

  outputs =
    { nixpkgs, sops-nix, ... }:
    let
      mkHost =
        name:
        nixpkgs.lib.nixosSystem {
          system = "x86_64-linux";
          modules = [
            sops-nix.nixosModules.sops
            ./nixos/hosts/${name}
          ];
        };
    in
    {
      nixosConfigurations = {
        routy = mkHost "routy";
        calypso = mkHost "calypso";
        chipmunk = mkHost "chipmunk";
      };
    };
}
