# A stand-in for the nixpkgs flake, for `nix flake check --no-build` on machines
# without nixpkgs: nixpkgs' real `lib` (a nixpkgs.lib checkout) plus
#   - `lib.nixosSystem`: lib.evalModules over ./nixos-stubs.nix and a few more stubs,
#     with NixOS' behaviour of refusing to build `system.build.toplevel` when an
#     assertion fails;
#   - `legacyPackages.<system>`: the few packages and builders the flake uses, as
#     inert derivations (never built: only their evaluation is checked).
# tests/flake.rs writes a flake around it and passes it with --override-input.
{ lib }:
let
  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];

  nixosExtraStubs =
    { config, lib, ... }:
    {
      options = {
        boot.isContainer = lib.mkOption {
          type = lib.types.bool;
          default = false;
        };
        system.stateVersion = lib.mkOption { type = lib.types.str; };
        nixpkgs.hostPlatform = lib.mkOption { type = lib.types.str; };
        system.build.toplevel = lib.mkOption {
          type = lib.types.unspecified;
          readOnly = true;
        };
      };
      # NixOS' `pkgs` module argument: the stand-in packages of the host's platform.
      config._module.args.pkgs = pkgsFor config.nixpkgs.hostPlatform;
      config.system.build.toplevel =
        let
          failed = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
        in
        if failed != [ ] then
          throw "\nFailed assertions:\n${lib.concatMapStrings (m: "- ${m}\n") failed}"
        else
          inert config.nixpkgs.hostPlatform "nixos-system-${config.networking.hostName}" { };
    };

  inert =
    system: name: attrs:
    derivation (
      {
        inherit name system;
        builder = "/bin/sh";
        args = [
          "-c"
          "echo inert > $out"
        ];
      }
      // builtins.mapAttrs (_: v: if builtins.isAttrs v || builtins.isList v then builtins.toJSON v else v) (
        removeAttrs attrs [
          "meta"
          "passthru"
        ]
      )
    )
    // {
      meta = attrs.meta or { };
    }
    // (attrs.passthru or { });

  pkgsFor =
    system:
    let
      tool = name: inert system name { meta.mainProgram = name; };
    in
    {
      inherit system;
      stdenv.hostPlatform.system = system;
      runCommand =
        name: env: script:
        inert system name (env // { inherit script; });
      # A real file (builtins.toFile), so the scripts can be run outside Nix by the tests.
      writeText = builtins.toFile;
      mkShell = args: inert system "shell" { packages = map toString (args.packages or [ ]); };
      rustPlatform.buildRustPackage =
        args:
        assert builtins.pathExists args.cargoLock.lockFile;
        inert system "${args.pname}-${args.version}" {
          src = toString args.src;
          inherit (args) meta;
        };
    }
    // lib.genAttrs [
      "git"
      "age"
      "sops"
      "kubectl"
      "nix"
      "nixfmt"
      "rustc"
      "cargo"
      "clippy"
      "rustfmt"
      # nixosModules.egressGateway (routy runs the gateway `home`)
      "bash"
      "iproute2"
      "wireguard-tools"
      "nftables"
      "microsocks"
      "tinyproxy"
    ] tool;
in
{
  lib = lib // {
    nixosSystem =
      {
        modules,
        specialArgs ? { },
        ...
      }:
      lib.evalModules {
        inherit specialArgs;
        class = "nixos";
        modules = [
          ./nixos-stubs.nix
          nixosExtraStubs
        ]
        ++ modules;
      };
  };
  legacyPackages = lib.genAttrs systems pkgsFor;
}
