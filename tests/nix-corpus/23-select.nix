let s = { a = { b = { c = 1; "d e" = 2; }; }; f = "b"; }; in [ s.a.b.c s.a.b."d e" s.a.${"b"}.c s.a.${s.f}.c (s.a).b.c ]
