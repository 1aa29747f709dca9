# leading comment
{
  /* block
     comment */
  a = 1; # trailing
  b = /* inline */ 2;
}
# end
