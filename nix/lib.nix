# The flake's `lib`: evaluating declarations with the options module, and building
# the manifests in the Nix sandbox. Needs only nixpkgs' `lib` (and `pkgs` for
# `mkVpnManifests`), so the tests can load it from a nixpkgs.lib checkout.
{ lib }:
let
  avalanche = import ./modules/types.nix { inherit lib; };

  # Outside NixOS nothing declares `assertions`; the options module sets it.
  assertionsModule = {
    options.assertions = lib.mkOption {
      type = lib.types.listOf lib.types.unspecified;
      internal = true;
      default = [ ];
      description = "Same as NixOS' `assertions`: { assertion, message } pairs.";
    };
  };

  evalDeclarations =
    network:
    lib.evalModules {
      modules = [
        ./modules/network-options.nix
        assertionsModule
        network
      ];
    };
in
rec {
  inherit (avalanche) types canonicalCidr cidrsOverlap;

  # The defaults of every option (the same values as crates/model/src/defaults.rs).
  defaults = import ./modules/defaults.nix;

  # The declarations (a module: a path, an attrset or a function setting
  # `avalanche.network`) evaluated with the options module: every default filled
  # in, every type checked. The result is `config.avalanche.network`, plain data:
  # what `nix eval --json .#lib.network` prints for `avalanche-net --eval nix`.
  # Cross-reference rules are not enforced here (`avalanche-net check` reports them
  # with line numbers); see `networkAssertions`.
  evalNetwork = network: (evalDeclarations network).config.avalanche.network;

  # The messages of the network's failed assertions (the same ones a NixOS host
  # importing the declarations would refuse to build with); [ ] when all hold.
  networkAssertions =
    network:
    map (a: a.message) (lib.filter (a: !a.assertion) (evalDeclarations network).config.assertions);

  # The declarations' path relative to `src`: `network` is such a relative path
  # (a string), or a path inside `src` (`./nix/network.nix` next to `src = ./.`).
  # `what` names the caller in errors.
  declarationsPath =
    what: src: network:
    let
      root = toString (src.origSrc or src);
      given = if builtins.isAttrs network && !(network ? outPath) then "" else toString network;
      rel =
        if builtins.isAttrs network && !(network ? outPath) then
          throw ''
            ${what}: `network` is the declarations' path (relative to src, e.g.
            network = "nix/network.nix";), not their evaluated value.''
        else if builtins.isPath network || lib.hasPrefix "/" given then
          if lib.hasPrefix "${root}/" given then
            lib.removePrefix "${root}/" given
          else
            throw ''
              ${what}: network = ${given} is not inside src = ${root}.
              Pass the declarations' path relative to src, e.g. network = "nix/network.nix";''
        else
          lib.removePrefix "./" given;
    in
    if builtins.pathExists "${root}/${rel}" then
      rel
    else
      throw ''
        ${what}: no declarations at ${rel} in src (${root}).
        Pass network = "<path of your declarations, relative to src>"; (default "nix/network.nix").'';

  # `src`, or a message saying it is needed: without it the build would silently
  # check some other repository.
  requireSrc =
    what: args:
    if args ? src then
      args.src
    else
      throw ''
        ${what}: `src` is required: the repository holding your declarations, .sops.yaml,
        secrets and Kubernetes tree, e.g. `src = self;` (or `src = ./.;`), and
        `network = "nix/network.nix";` if your declarations live elsewhere.'';

  # A derivation holding the generated tree (`avalanche-net build --out`: paths
  # relative to the repository, `kubernetes/…` and `tailscale/…`) built in the
  # sandbox from the evaluated declarations (handed to the tool as a plain-data Nix
  # file by `writeDeclarations`), plus the committed SOPS-encrypted Kubernetes
  # secrets it refers to (copied, never decrypted).
  #   pkgs: nixpkgs for the build platform; avalanche-net: the tool's package;
  #   src: the repository (its .sops.yaml, secrets/ and kubernetes/ are read by
  #   `check`), required; network: the declarations, relative to src.
  mkVpnManifests =
    args@{
      pkgs,
      avalanche-net,
      network ? "nix/network.nix",
      name ? "vpn-manifests",
      ...
    }:
    let
      what = "avalanche-net lib.mkVpnManifests";
      src = requireSrc what args;
      rel = declarationsPath what src network;
      declarations = evalNetwork "${toString (src.origSrc or src)}/${rel}";
      sopsFiles = lib.mapAttrsToList (_: s: s.file) (
        lib.filterAttrs (_: s: s.format == "kubernetes") declarations.secrets
      );
    in
    pkgs.runCommand name
      {
        nativeBuildInputs = [
          avalanche-net
          pkgs.git
        ];
        passthru.network = declarations;
      }
      ''
        ${prepareRepo pkgs src rel declarations}
        avalanche-net --repo repo --network repo/${lib.escapeShellArg rel} --eval static build --out "$out"
        ${lib.concatMapStrings (file: ''
          if [ ! -f repo/${lib.escapeShellArg file} ]; then
            echo "error: the declared secret file ${file} is not committed;" >&2
            echo "       create it with: avalanche-net secrets seal <name>" >&2
            exit 1
          fi
          install -D -m 0444 repo/${lib.escapeShellArg file} "$out"/${lib.escapeShellArg file}
        '') sopsFiles}
      '';

  # The checks this flake runs for itself, for any repository:
  #   <prefix>network            `avalanche-net check` on the repository (and the
  #                              declarations' own assertions, at evaluation)
  #   <prefix>manifests-in-sync  the sandbox-built tree equals the committed files,
  #                              and `avalanche-net diff` finds no drift
  #   <prefix>host-<name>        each NixOS host with avalanche.tailscale.enable
  #                              evaluates (its assertions hold) with these declarations
  # Arguments as mkVpnManifests, plus `nixosConfigurations` (the hosts to check),
  # `prefix` (default "avalanche-", so they sit next to a flake's own checks) and
  # `manifests` (the vpn-manifests derivation, when the caller has one already).
  mkChecks =
    args@{
      pkgs,
      avalanche-net,
      network ? "nix/network.nix",
      nixosConfigurations ? { },
      prefix ? "avalanche-",
      ...
    }:
    let
      what = "avalanche-net lib.mkChecks";
      src = requireSrc what args;
      rel = declarationsPath what src network;
      file = "${toString (src.origSrc or src)}/${rel}";
      declarations = evalNetwork file;
      manifests =
        args.manifests or (mkVpnManifests {
          inherit pkgs avalanche-net src;
          network = rel;
        });
      tool = {
        nativeBuildInputs = [
          avalanche-net
          pkgs.git
        ];
      };
      failed = networkAssertions file;
      managed = lib.filterAttrs (_: host: host.config.avalanche.tailscale.enable or false) nixosConfigurations;
      hostCheck =
        name: host:
        let
          inherit (host) config;
        in
        lib.nameValuePair "${prefix}host-${name}" (
          if config.avalanche.network != declarations then
            throw ''
              nixosConfigurations.${name} imports avalanche-net's module with other declarations
              than ${rel}: import ${rel} in the host (or the same module the checks are given).''
          else
            builtins.seq config.system.build.toplevel.drvPath (
              pkgs.runCommand "${prefix}host-${name}" { } "touch $out"
            )
        );
    in
    lib.mapAttrs' hostCheck managed
    // {
      "${prefix}network" =
        if failed != [ ] then
          throw "${rel}:\n- ${lib.concatStringsSep "\n- " failed}"
        else
          pkgs.runCommand "${prefix}network-check" tool ''
            ${prepareRepo pkgs src rel declarations}
            avalanche-net --repo repo --network repo/${lib.escapeShellArg rel} --eval static check
            touch "$out"
          '';

      "${prefix}manifests-in-sync" = pkgs.runCommand "${prefix}manifests-in-sync" tool ''
        status=0
        cd ${manifests}
        while IFS= read -r -d "" file; do
          file=''${file#./}
          if ! cmp -s "$file" "${src}/$file"; then
            echo "out of sync: $file" >&2
            status=1
          fi
        done < <(find . -type f -print0)
        cd "$NIX_BUILD_TOP"
        ${prepareRepo pkgs src rel declarations}
        avalanche-net --repo repo --network repo/${lib.escapeShellArg rel} --eval static diff || status=1
        if [ "$status" -ne 0 ]; then
          echo "The committed generated files are not what the declarations produce." >&2
          echo "Run \`avalanche-net build\` and commit the result." >&2
          exit 1
        fi
        touch "$out"
      '';
    };

  # The evaluated declarations (`evalNetwork`'s value) as a Nix file of plain data,
  # every default written out: the static reader of `avalanche-net` reads it in the
  # sandbox, where there is no `nix` to evaluate the original module.
  writeDeclarations =
    pkgs: network:
    pkgs.writeText "avalanche-network.nix" ''
      # Generated by the avalanche flake (lib.evalNetwork): the declarations of
      # nix/network.nix as the options module evaluates them. Do not edit.
      ${lib.generators.toPretty { } { avalanche.network = network; }}
    '';

  # The parts of a repository that make up the network (the files
  # `avalanche-net check` reads and `build` writes): this repository also holds the
  # tool's own sources and test fixtures, which are not part of the operator's repo.
  networkSource =
    src:
    lib.cleanSourceWith {
      name = "avalanche-network-source";
      inherit src;
      filter =
        path: _type:
        let
          rel = lib.removePrefix "${toString src}/" (toString path);
        in
        lib.elem (lib.head (lib.splitString "/" rel)) [
          "nix"
          "secrets"
          "kubernetes"
          "tailscale"
          "hosts"
          ".sops.yaml"
          "flake.nix"
          "flake.lock"
        ];
    };

  # Shell lines making a writable copy of `src` at ./repo, with the evaluated
  # declarations in place of the file at `rel` (so every rule and every generated
  # header sees the usual file), as a git repository (the tool asks git which
  # files are tracked; the sandbox copy has no .git).
  prepareRepo = pkgs: src: rel: network: ''
    cp -r ${src} repo
    chmod -R u+w repo
    mkdir -p "$(dirname repo/${lib.escapeShellArg rel})"
    cp ${writeDeclarations pkgs network} repo/${lib.escapeShellArg rel}
    export HOME="$TMPDIR"
    git -C repo init -q
    git -C repo add -A
  '';
}
