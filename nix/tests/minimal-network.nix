# One of everything with only the required options set: every other value is a
# default. tests/flake.rs decodes it twice with the Rust model, as written (Rust
# fills in the defaults) and as the options module evaluates it (Nix fills them
# in), and requires the same network.
{ ... }:
{
  avalanche.network = {
    retired.oldbox.description = "a retired host";
    tailscale.nodes = {
      gw.role = "subnet-router";
      desk.role = "workstation";
    };
    egress = {
      providers.proton = { };
      proxies.north = {
        provider = "proton";
        countries = [ "Iceland" ];
      };
      sidecars.torrent = {
        namespace = "media";
        provider = "proton";
        countries = [ "Iceland" ];
      };
      clients.bot = {
        namespace = "irc";
        proxy = "north";
      };
    };
    secrets.proton = {
      file = "kubernetes/proton.sops.yaml";
      keys = [ "WIREGUARD_PRIVATE_KEY" ];
    };
  };
}
