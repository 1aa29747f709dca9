{
  dollar = ''
    price: ''${amount}
    lone $ sign and $$
  '';
  quotes = ''
    two: '''
    one: ' here
  '';
  escapes = ''
    tab:''\tend
    nl:''\nend
    cr:''\rx
    bs:''\\x
    other:''\qx
  '';
}
