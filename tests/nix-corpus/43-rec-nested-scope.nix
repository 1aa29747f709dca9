let x = 1; in rec { x = 2; y = { z = x; }; w = let x = 3; in x; }
