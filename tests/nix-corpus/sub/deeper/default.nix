{ isDefault = true; up = import ../leaf2.nix; }
