{ fromSub = import ./deeper/leaf.nix; name = "sub"; }
