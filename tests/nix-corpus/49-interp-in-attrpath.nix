let n = "net"; in { "${n}".hosts."${n}-1" = 1; other.${n} = 2; }
