{
  a = "tab\there";
  b = "line\nbreak";
  c = "cr\rx";
  d = "back\\slash";
  e = "quote\"d";
  f = "dollar \${not} interpolated";
  g = "unknown \q \z \' escapes";
  h = "lone $ and $$ and $${x}";
  i = "ends with $";
  j = "";
}
