[ (import ./sub/leaf2.nix) (import ./sub/deeper/leaf.nix) ]
