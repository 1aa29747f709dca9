rec {
  c = a + b;
  a = 1;
  b = a + 1;
  s = "${t}!";
  t = "x";
  nested = { v = c; };
}
