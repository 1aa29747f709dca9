let a = 1; in let b = a + 1; in let a = 10; in [ a b ]
