# Runs ./modules.nix with nixpkgs' `lib` alone (a nixpkgs.lib checkout: NIXPKGS_LIB)
# and the NixOS stand-ins of ./nixos-stubs.nix. Prints the failed tests ([ ] = all pass):
#   nix-instantiate --eval --strict --json nix/tests/run-modules.nix --arg nixpkgsLib "$NIXPKGS_LIB"
{ nixpkgsLib }:
let
  lib = import nixpkgsLib;
  evalHost =
    { hostName, modules }:
    (lib.evalModules {
      modules = [
        ./nixos-stubs.nix
        ../modules/tailscale.nix
        {
          networking.hostName = hostName;
          avalanche.tailscale.enable = true;
        }
      ]
      ++ modules;
    }).config;
in
lib.runTests (import ./modules.nix { inherit lib evalHost; })
