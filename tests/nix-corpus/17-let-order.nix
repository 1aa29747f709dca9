let
  z = y + 1;
  y = x * 2;
  x = 3;
in [ x y z ]
