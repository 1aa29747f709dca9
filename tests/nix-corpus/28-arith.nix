{
  add = 1 + 2;
  sub = 10 - 3;
  mul = 6 * 7;
  div = 7 / 2;
  negdiv = (0 - 7) / 2;
  fdiv = 7.0 / 2;
  mixed = 1 + 2.5;
  mixed2 = 2.5 + 1;
  prec = 1 + 2 * 3 - 4 / 2;
  neg = -(3 * 2);
  fneg = -1.5 * 2;
  wrap = 9223372036854775807 + 1;
  small = 0.000001 * 3;
}
