let x = "X"; multi = "l1\nl2"; in {
  a = ''
      ${x} first
    second
  '';
  b = ''
    ${multi}
      more
  '';
  c = ''${x}
    tail
  '';
  d = ''
    a
    ${x}'';
}
