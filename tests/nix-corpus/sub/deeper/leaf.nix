[ "leaf" 1 ]
