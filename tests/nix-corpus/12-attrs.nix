{ a = 1; b = { c = 2; d = [ 3 ]; }; "quoted name" = 4; ${"dyn"} = 5; "${"x"}y" = 6; }
