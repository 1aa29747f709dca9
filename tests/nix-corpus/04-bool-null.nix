{ t = true; f = false; n = null; l = [ true false null ]; }
