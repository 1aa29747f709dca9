# A NixOS host's Tailscale configuration, derived from `avalanche.network`.
#
# The host finds its node by `networking.hostName` in
# `avalanche.network.tailscale.nodes` and gets `services.tailscale` from the node's
# role (nixpkgs' nixos/modules/services/networking/tailscale.nix):
#   subnet-router → useRoutingFeatures "server", extraSetFlags --advertise-routes=…
#   exit-node     → useRoutingFeatures "server", extraSetFlags --advertise-exit-node
#                   (only while exitNodes = "allowed"; an assertion fails otherwise)
#   workstation   → useRoutingFeatures "client", extraSetFlags --accept-routes
#   server        → its tags
# The network's own assertions (an exit node while forbidden, a subnet router
# without routes, non-canonical routes, dangling references) come with the imported
# options module, so every host refuses to build a broken declaration; this module
# adds the host's own: it must be declared, and not as an unmanaged `device`.
# Tags go through extraUpFlags (`--advertise-tags` is a `tailscale up` flag, applied
# at first login with an auth key); the other flags through extraSetFlags, which
# `tailscale set` re-applies at every boot.
{ config, lib, ... }:
let
  cfg = config.avalanche.tailscale;
  net = config.avalanche.network;
  host = config.networking.hostName;
  node = net.tailscale.nodes.${host} or null;
  role = if node == null then null else node.role;
  opt = "avalanche.network.tailscale";
  exitNodeAllowed = net.tailscale.exitNodes == "allowed";

  routingFeatures =
    {
      subnet-router = "server";
      exit-node = if exitNodeAllowed then "server" else null;
      workstation = "client";
    }
    .${toString role} or null;

  setFlags =
    {
      subnet-router = [ "--advertise-routes=${lib.concatStringsSep "," node.advertiseRoutes}" ];
      exit-node = lib.optional exitNodeAllowed "--advertise-exit-node";
      workstation = [ "--accept-routes" ];
    }
    .${toString role} or [ ];

  upFlags = lib.optional (node != null && node.tags != [ ]) "--advertise-tags=${lib.concatStringsSep "," node.tags}";
in
{
  imports = [ ./network-options.nix ];

  options.avalanche.tailscale = {
    enable = lib.mkEnableOption ''
      Tailscale on this host as `avalanche.network.tailscale.nodes.<networking.hostName>`
      declares it (the host must be declared there, with a role other than `device`)'';

    authKeyFile = lib.mkOption {
      type = lib.types.nullOr lib.types.path;
      default = null;
      example = lib.literalExpression ''config.sops.secrets."routy-tailscale".path'';
      description = ''
        A file holding a Tailscale auth key, passed to `services.tailscale.authKeyFile`.
        With an auth key the host logs in by itself and `extraUpFlags` (its tags) apply.
        Decrypt it with sops-nix from the declared `plain` secret, e.g.
        `sops.secrets."routy-tailscale" = { sopsFile = ./secrets/routy/tailscale.yaml; key = "authkey"; };`.
      '';
    };

    node = lib.mkOption {
      type = lib.types.nullOr lib.types.attrs;
      readOnly = true;
      default = node;
      defaultText = lib.literalExpression "config.avalanche.network.tailscale.nodes.\${config.networking.hostName} or null";
      description = "This host's node, as found by its host name (read-only).";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = node != null;
            message = ''
              avalanche.tailscale.enable is set on host "${host}", but ${opt}.nodes has no
              node "${host}" (declared: ${lib.concatStringsSep ", " (lib.attrNames net.tailscale.nodes)}).
              Declare ${opt}.nodes.${host} with its role, or fix networking.hostName.'';
          }
          {
            assertion = role != "device";
            message = ''
              ${opt}.nodes.${host}.role is "device" (an unmanaged device, like a phone), but
              "${host}" is a NixOS host with avalanche.tailscale.enable: give it the role
              "workstation", "server" or "subnet-router".'';
          }
        ];
      }
      (lib.mkIf (node != null && role != "device") {
        services.tailscale = lib.mkMerge [
          {
            enable = true;
            extraSetFlags = setFlags;
            extraUpFlags = upFlags;
          }
          (lib.mkIf (routingFeatures != null) { useRoutingFeatures = routingFeatures; })
          (lib.mkIf (cfg.authKeyFile != null) { inherit (cfg) authKeyFile; })
        ];
      })
    ]
  );
}
