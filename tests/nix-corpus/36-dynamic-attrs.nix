let k = "key"; in {
  ${k} = 1;
  "${k}2" = 2;
  ${"static"} = 3;
  nested.${k}.x = 4;
  ${null} = 5;
}
