{
  description = "avalanche-net: declare the homelab network once in Nix; get validated Kubernetes manifests, SOPS secrets and each host's Tailscale config";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});

      avalancheLib = import ./nix/lib.nix { inherit lib; };
      cargoToml = lib.importTOML ./Cargo.toml;

      # A host of the avalanche network: its Tailscale setup comes from the declarations.
      # `hosts/<name>/` holds the rest of its configuration when the repo has it.
      mkHost =
        name: extra:
        lib.nixosSystem {
          modules = [
            self.nixosModules.default
            ./nix/network.nix
            {
              nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";
              networking.hostName = name;
              avalanche.tailscale.enable = true;
              # Placeholders until the host's own configuration lives in hosts/<name>/.
              boot.isContainer = lib.mkDefault true;
              system.stateVersion = lib.mkDefault "25.11";
            }
            extra
          ]
          ++ lib.optional (builtins.pathExists ./hosts/${name}) ./hosts/${name};
        };
    in
    {
      # The declarations, evaluated: what `avalanche-net --eval nix` reads with
      # `nix eval --json .#lib.network`.
      lib = avalancheLib // {
        network = avalancheLib.evalNetwork ./nix/network.nix;

        # mkVpnManifests { pkgs, network } builds with this flake's tool and sources
        # unless `avalanche-net` or `src` are given.
        mkVpnManifests =
          args:
          avalancheLib.mkVpnManifests (
            {
              avalanche-net = self.packages.${args.pkgs.stdenv.hostPlatform.system}.avalanche-net;
              src = self;
            }
            // args
          );
      };

      # Attrsets importing the files (not bare paths): older `nix flake check` rejects
      # paths as modules, and importing keeps the files' names in error messages.
      nixosModules = {
        network.imports = [ ./nix/modules/network-options.nix ];
        tailscale.imports = [ ./nix/modules/tailscale.nix ];
        default = {
          imports = [
            self.nixosModules.network
            self.nixosModules.tailscale
          ];
        };
      };

      nixosConfigurations = {
        routy = mkHost "routy" {
          # With sops-nix: config.sops.secrets."routy-tailscale".path, from the declared
          # plain secret secrets/routy/tailscale.yaml (key "authkey").
          avalanche.tailscale.authKeyFile = "/run/secrets/routy-tailscale";
        };
        calypso = mkHost "calypso" { };
        mysecrets = mkHost "mysecrets" { };
      };

      packages = forAllSystems (
        system: pkgs: {
          avalanche-net = pkgs.rustPlatform.buildRustPackage {
            pname = "avalanche-net";
            inherit (cargoToml.workspace.package) version;
            src = lib.cleanSource ./.;
            cargoLock.lockFile = ./Cargo.lock;
            # The end-to-end tests make git repositories; tools they cannot find
            # (nix, kubectl, …) are skipped with a printed reason.
            nativeCheckInputs = [
              pkgs.git
              pkgs.age
            ];
            preCheck = ''
              export HOME="$TMPDIR"
            '';
            meta = {
              inherit (cargoToml.package) description;
              license = [
                lib.licenses.mit
                lib.licenses.asl20
              ];
              mainProgram = "avalanche-net";
              platforms = systems;
            };
          };

          vpn-manifests = self.lib.mkVpnManifests {
            inherit pkgs;
            inherit (self.lib) network;
          };

          default = self.packages.${system}.avalanche-net;
        }
      );

      apps = forAllSystems (
        system: _: {
          default = {
            type = "app";
            program = lib.getExe self.packages.${system}.avalanche-net;
            meta.description = "Run avalanche-net (check, build, diff, secrets, status, graph)";
          };
        }
      );

      checks = forAllSystems (
        system: pkgs:
        import ./nix/checks {
          inherit
            pkgs
            lib
            self
            system
            avalancheLib
            ;
        }
      );

      devShells = forAllSystems (
        _: pkgs: {
          default = pkgs.mkShell {
            packages = [
              pkgs.rustc
              pkgs.cargo
              pkgs.clippy
              pkgs.rustfmt
              pkgs.nix
              pkgs.age
              pkgs.sops
              pkgs.kubectl
              pkgs.nixfmt
            ];
          };
        }
      );

      # nixfmt ≥ 1.0 is the RFC 166 style formatter (formerly `nixfmt-rfc-style`).
      formatter = forAllSystems (_: pkgs: pkgs.nixfmt);
    };
}
