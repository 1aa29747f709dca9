let
  cfg.port = 8080;
  cfg.host = "h";
in cfg
