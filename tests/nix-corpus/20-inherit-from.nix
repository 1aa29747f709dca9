let
  src = { x = 1; y = 2; z = 3; };
  inner = { deep = { k = "v"; }; };
in {
  inherit (src) x y;
  inherit (inner.deep) k;
  inherit (src) z;
}
