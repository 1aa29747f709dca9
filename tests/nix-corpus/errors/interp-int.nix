let port = 80; in "port ${port}"
