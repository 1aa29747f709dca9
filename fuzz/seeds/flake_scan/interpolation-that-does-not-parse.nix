{
  description = "aliceق homelab";
i 
pn uts = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";:
    let
      mkHost =
        name:
 ����   nixpkgs.lib.nixosSystem {
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
 "    };
    };
}�����
