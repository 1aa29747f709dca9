{
  description = "avalanche: the homelab";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs = { self, nixpkgs }:
    let
      host = name: nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        modules = [ ./hosts/${name}/configuration.nix ./nix/network.nix ];
      };
    in {
      nixosConfigurations = {
        routy = host "routy";
        calypso = host "calypso";
        mysecrets = host "mysecrets";
        # Still here: the Hetzner exit node, retired but not yet removed.
        vps = nixpkgs.lib.nixosSystem {
          system = "aarch64-linux";
          modules = [ ./hosts/vps/configuration.nix ];
        };
      };
    };
}
