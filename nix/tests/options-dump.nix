# Dumps the `avalanche.network` option tree as data, for tests/flake.rs to compare
# with the Rust model: one row per option, `path` relative to avalanche.network
# (`<name>` for an attribute of an attrsOf submodule), a normalised `type`, and the
# `default` (null with hasDefault = false when the option is required).
#   nix-instantiate --eval --strict --json nix/tests/options-dump.nix --arg nixpkgsLib "$NIXPKGS_LIB"
{ nixpkgsLib }:
let
  lib = import nixpkgsLib;
  evaluated = lib.evalModules {
    modules = [
      ../modules/network-options.nix
      { options.assertions = lib.mkOption { type = lib.types.unspecified; }; }
    ];
  };

  describe =
    t:
    if t.name == "enum" then
      "enum(${lib.concatStringsSep "|" (t.functor.payload.values or t.functor.payload)})"
    else if t.name == "coercedTo" then
      "coercedTo(${describe t.nestedTypes.coercedType},${describe t.nestedTypes.finalType})"
    else if t.name == "either" then
      "either(${describe t.nestedTypes.left},${describe t.nestedTypes.right})"
    else if t.nestedTypes ? elemType then
      "${t.name}(${describe t.nestedTypes.elemType})"
    else
      t.name;

  rows =
    loc: opts:
    lib.concatLists (
      lib.mapAttrsToList (
        name: value:
        if name == "_module" then
          [ ]
        else if lib.isOption value then
          optionRows (loc ++ [ name ]) value
        else
          rows (loc ++ [ name ]) value
      ) opts
    );

  optionRows =
    loc: option:
    let
      t = option.type;
      isSubmoduleSet = t.name == "attrsOf" && t.nestedTypes.elemType.name == "submodule";
    in
    [
      {
        path = lib.concatStringsSep "." loc;
        type = describe t;
        hasDefault = option ? default;
        default = option.default or null;
      }
    ]
    ++ lib.optionals isSubmoduleSet (rows (loc ++ [ "<name>" ]) (t.nestedTypes.elemType.getSubOptions [ ]));
in
rows [ ] evaluated.options.avalanche.network
