let a = "outer"; in rec {
  inherit a;
  b = a;
  inherit ({ c = 1; }) c;
  d = c + 1;
}
