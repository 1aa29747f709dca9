# An operator's flake consuming avalanche-net (tests/flake.rs): flake-parts,
# hosts computed in machines/, declarations at infra/network.nix, sops-nix.
# The tests override every input with a local stand-in (no network).
{
  description = "homelab";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    flake-parts.url = "github:hercules-ci/flake-parts";
    sops-nix = {
      url = "github:Mic92/sops-nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    avalanche-net = {
      url = "github:OWNER/avalanche";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    inputs@{ flake-parts, ... }:
    flake-parts.lib.mkFlake { inherit inputs; } {
      imports = [ inputs.avalanche-net.flakeModules.default ];
      systems = [ "x86_64-linux" ];

      avalanche-net.network = ./infra/network.nix;

      flake.nixosConfigurations = import ./machines { inherit inputs; };
    };
}
