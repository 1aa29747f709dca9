{
  firstLineSpaces = ''   
    body
  '';
  firstLineText = ''head
    body
  '';
  emptyLines = ''

    a

      b

  '';
  trailingText = ''
    a
    b'';
  tabs = ''
	x
	  y
  '';
  onlySpaces = ''    '';
  escapedSpace = ''
    ''\ x
    y
  '';
  lastSpaces = ''
    a
     '';
}
