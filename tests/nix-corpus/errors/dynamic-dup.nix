let n = "net"; in { "${n}".hosts."${n}-1" = 1; "${n}".hosts.b = 2; }
