# A stand-in for flake-parts' `lib.mkFlake`, for the user-flake tests
# (tests/flake.rs) on machines without network. Written for these tests after
# flake-parts' documented interface, not its code: a module evaluation of class
# "flake" with `self` and `inputs` as module arguments; options `systems`,
# `perSystem` (a deferred module evaluated once per system with `pkgs` and
# `system`) and `flake` (the outputs, free-form); each system's `packages` and
# `checks` become `flake.packages.<system>` and `flake.checks.<system>`.
# Unlike flake-parts it takes nixpkgs' lib from the caller's `inputs.nixpkgs`.
{
  lib.mkFlake =
    { inputs, ... }:
    module:
    let
      inherit (inputs.nixpkgs) lib;

      perSystemOptions = {
        options = {
          packages = lib.mkOption {
            type = lib.types.lazyAttrsOf lib.types.raw;
            default = { };
            description = "stub of flake-parts' option";
          };
          checks = lib.mkOption {
            type = lib.types.lazyAttrsOf lib.types.raw;
            default = { };
            description = "stub of flake-parts' option";
          };
        };
      };

      core =
        { config, ... }:
        {
          options = {
            systems = lib.mkOption {
              type = lib.types.listOf lib.types.str;
              description = "stub of flake-parts' option";
            };
            perSystem = lib.mkOption {
              type = lib.types.deferredModule;
              default = { };
              description = "stub of flake-parts' option";
            };
            flake = lib.mkOption {
              type = lib.types.submodule { freeformType = lib.types.lazyAttrsOf lib.types.raw; };
              default = { };
              description = "stub of flake-parts' option";
            };
          };

          config.flake =
            let
              systems = lib.genAttrs config.systems (
                system:
                (lib.evalModules {
                  class = "perSystem";
                  modules = [
                    perSystemOptions
                    config.perSystem
                    {
                      _module.args = {
                        inherit system;
                        pkgs = inputs.nixpkgs.legacyPackages.${system};
                      };
                    }
                  ];
                }).config
              );
            in
            {
              packages = lib.mapAttrs (_: s: s.packages) systems;
              checks = lib.mapAttrs (_: s: s.checks) systems;
            };
        };
    in
    (lib.evalModules {
      class = "flake";
      specialArgs = {
        inherit inputs;
        inherit (inputs) self;
      };
      modules = [
        core
        module
      ];
    }).config.flake;
}
