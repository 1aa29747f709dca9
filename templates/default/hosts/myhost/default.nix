# myhost: its Tailscale setup comes from nix/network.nix (nodes.myhost).
{ lib, ... }:
{
  networking.hostName = "myhost";
  avalanche.tailscale.enable = true;

  # A tagged node logs in with an auth key, decrypted by sops-nix (add the input
  # github:Mic92/sops-nix and its nixosModules.sops to this host):
  #   sops.secrets.myhost-tailscale = {
  #     sopsFile = ../../secrets/myhost/tailscale.yaml;
  #     key = "authkey";
  #     restartUnits = [ "tailscaled-autoconnect.service" ];
  #   };
  #   avalanche.tailscale.authKeyFile = config.sops.secrets.myhost-tailscale.path;
  # Your own Tailscale settings compose with the module's: e.g.
  #   services.tailscale.useRoutingFeatures = "both";
  #   services.tailscale.extraSetFlags = [ "--ssh" ];

  # Placeholders: replace them with the host's hardware configuration.
  nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";
  boot.isContainer = lib.mkDefault true;
  system.stateVersion = "25.11";
}
