let s = 1; in s.b
