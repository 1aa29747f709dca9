{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";
  outputs = { self, nixpkgs }:
    let
      mkHost = name: nixpkgs.lib.nixosSystem { modules = [ ./nix/network.nix { networking.hostName = name; } ]; };
    in
    {
      nixosConfigurations = {
        routy = mkHost "routy";
        calypso = mkHost "calypso";
        mysecrets = mkHost "mysecrets";
      };
    };
}
