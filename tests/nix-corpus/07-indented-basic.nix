{
  a = ''
    hello
      indented
    world
  '';
  b = ''one line'';
  c = ''
  '';
  d = '''';
}
