let a = "A"; b = { c = "C"; }; in [ ("${a}-" + b.c) "${b.c}${a}" "x${""}y" ]
