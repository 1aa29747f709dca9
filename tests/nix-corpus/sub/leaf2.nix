"leaf2"
