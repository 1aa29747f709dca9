let v = import ./sub/value.nix; in { inherit (v) name; n = v.name + "!"; }
