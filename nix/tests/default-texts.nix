# The documented default of every avalanche option (avalanche.network and
# avalanche.tailscale): its `defaultText`, or its default rendered as Nix, as the
# manual shows it. tests/flake.rs checks that each is a real Nix expression (it
# parses, and names no `<…>` search path):
#   nix-instantiate --eval --strict --json nix/tests/default-texts.nix --arg nixpkgsLib "$NIXPKGS_LIB"
{ nixpkgsLib }:
let
  lib = import nixpkgsLib;
  evaluated = lib.evalModules {
    modules = [
      ./nixos-stubs.nix
      ../modules/tailscale.nix
    ];
  };
in
map (o: {
  inherit (o) name;
  inherit (o.default) text;
}) (
  lib.filter (o: lib.hasPrefix "avalanche." o.name && (o.default._type or null) == "literalExpression") (
    lib.optionAttrSetToDocList evaluated.options
  )
)
