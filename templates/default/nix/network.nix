# Your network, declared once (avalanche-net). Plain data: `avalanche-net` reads
# it without Nix, and every NixOS host imports it for its Tailscale setup.
#
# After an edit: `avalanche-net check`, then `avalanche-net build` (commit what it
# writes; `nix flake check` fails while the committed files are out of date).
{
  avalanche.network = {
    tailscale.nodes = {
      # A NixOS host of this flake (nixosConfigurations.myhost).
      myhost.role = "workstation";
      # A device Tailscale runs on that is not a NixOS host.
      phone.role = "device";
      # A subnet router (needs useRoutingFeatures "server" or "both": the module sets it):
      # router = { role = "subnet-router"; advertiseRoutes = [ "192.168.1.0/24" ]; };
      # A tagged server: tags apply at first login, so it needs an auth key (hosts/…):
      # nas = { role = "server"; tags = [ "tag:infra" ]; };
    };

    # Where Argo CD finds this repository's generated manifests.
    kubernetes.argocd.repoURL = "https://github.com/OWNER/REPO.git";
  };
}
