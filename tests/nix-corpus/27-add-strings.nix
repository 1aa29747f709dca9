let a = "foo"; in { s = a + "bar"; e = "" + ""; n = "a" + "b" + "c"; }
