let unused = nope; in 1
