let
  name = "world";
  greeting = "hello ${name}";
in {
  inherit greeting;
  nested = "a ${"b ${"c ${name}"}"} d";
  adjacent = "${name}${name}";
  onlyInterp = "${greeting}";
}
