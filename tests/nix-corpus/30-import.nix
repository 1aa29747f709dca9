{ sub = import ./sub/value.nix; again = import ./sub/value.nix; deeper = import ./sub/deeper; }
