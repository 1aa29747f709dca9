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
      withTool =
        args:
        {
          avalanche-net = self.packages.${args.pkgs.stdenv.hostPlatform.system}.avalanche-net;
        }
        // args;
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

        # For an operator's flake (README "Use it from your own flake"):
        #   mkVpnManifests { pkgs, src, network ? "nix/network.nix" }
        #   mkChecks { pkgs, src, network ? "nix/network.nix", nixosConfigurations ? { }, prefix ? "avalanche-" }
        # `src` (the operator's repository) is required; the tool is this flake's
        # package for `pkgs`' system unless `avalanche-net` is given.
        mkVpnManifests = args: avalancheLib.mkVpnManifests (withTool args);
        mkChecks = args: avalancheLib.mkChecks (withTool args);
      };

      # Attrsets importing the files (not bare paths): older `nix flake check` rejects
      # paths as modules, and importing keeps the files' names in error messages.
      # `_class` makes the module system refuse them outside NixOS (network-options.nix
      # itself has no class: lib.evalNetwork evaluates it on its own).
      nixosModules = {
        network = {
          _class = "nixos";
          imports = [ ./nix/modules/network-options.nix ];
        };
        tailscale = {
          _class = "nixos";
          imports = [ ./nix/modules/tailscale.nix ];
        };
        default = {
          _class = "nixos";
          imports = [
            self.nixosModules.network
            self.nixosModules.tailscale
          ];
        };
        # Imported by the hosts that run an egress gateway (egress.gateways.<name>.host).
        egressGateway = {
          _class = "nixos";
          imports = [
            self.nixosModules.network
            ./nix/modules/egress-gateway.nix
          ];
        };
      };

      # flake-parts: `imports = [ inputs.avalanche-net.flakeModules.default ];` adds
      # packages.vpn-manifests and the checks of lib.mkChecks for every system.
      flakeModules.default = import ./nix/flake-module.nix { avalanche = self; };

      templates.default = {
        path = ./templates/default;
        description = "A NixOS flake with avalanche-net: declarations, .sops.yaml, one host";
        welcomeText = ''
          # avalanche-net

          Next steps:

          - replace OWNER in flake.nix's avalanche-net input, and the age recipient in .sops.yaml;
          - declare your network in nix/network.nix, and your hosts in flake.nix and hosts/;
          - `nix flake check`, then `nix build .#vpn-manifests`.
        '';
      };

      nixosConfigurations = {
        routy = mkHost "routy" {
          # routy also runs the egress gateway `home` (nix/network.nix,
          # egress.gateways.home.host = "routy"): its WireGuard tunnel, the kill
          # switch and the SOCKS5/HTTP proxies on 10.1.0.1.
          imports = [ self.nixosModules.egressGateway ];
          # With sops-nix: config.sops.secrets."routy-tailscale".path, from the declared
          # plain secret secrets/routy/tailscale.yaml (key "authkey").
          avalanche.tailscale.authKeyFile = "/run/secrets/routy-tailscale";
          # With sops-nix, `avalanche.egressGateway.repositoryRoot = ./.;` declares
          # sops.secrets."routy-wireguard" from the plain secret secrets/routy/wireguard.yaml
          # (key "privateKey") and this path follows.
          avalanche.egressGateway.privateKeyFiles.home = "/run/secrets/routy-wireguard";
        };
        calypso = mkHost "calypso" { };
        # Its tags are applied at first login, with an auth key (sops-nix, as routy's).
        mysecrets = mkHost "mysecrets" {
          avalanche.tailscale.authKeyFile = "/run/secrets/mysecrets-tailscale";
        };
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
            src = avalancheLib.networkSource self;
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
