{ ... }:
let
  mkProxy = null;
  domain = "example.org";
in {
  avalanche.network = rec {
    retired.vps = {
      description = "Hetzner CAX11 exit node";
      aliases = [ "hetzner" ];
      monthlyCost = 4.49;
      currency = "EUR";
    };
    tailscale = {
      exitNodes = "forbidden";
      nodes = {
        routy = { role = "subnet-router"; advertiseRoutes = [ "10.1.0.0/24" ]; };
        calypso.role = "workstation";
      };
    };
    proxies.irc = { port = 6697; host = "irc.${domain}"; };
    proxies.web = proxies.irc // { port = 8888; };
  };
}
