# Module evaluation tests of `nixosModules.tailscale`, one host per role, written
# once and run by two backends:
#   - run-modules.nix: nixpkgs' `lib` alone (NIXPKGS_LIB) with ./nixos-stubs.nix;
#   - the flake's checks: the real NixOS modules (`nixpkgs.lib.nixosSystem`).
# `evalHost { hostName, modules }` returns the host's `config` with
# `nixosModules.default` imported and `avalanche.tailscale.enable = true`.
# The result is a `lib.runTests` suite: every test's `expr` must equal `expected`.
{ lib, evalHost }:
let
  # The mission's tailnet (DESIGN.md).
  mission = {
    avalanche.network = {
      tailscale.nodes = {
        routy = {
          role = "subnet-router";
          advertiseRoutes = [ "10.1.0.0/24" ];
        };
        calypso.role = "workstation";
        mysecrets = {
          role = "server";
          tags = [ "tag:infra" ];
        };
        phone.role = "device";
      };
      secrets.routy-tailscale = {
        format = "plain";
        file = "secrets/routy/tailscale.yaml";
        keys = [ "authkey" ];
      };
    };
  };

  exitNode = exitNodes: {
    avalanche.network.tailscale = {
      inherit exitNodes;
      nodes.gateway.role = "exit-node";
    };
  };

  host =
    hostName: modules:
    evalHost {
      inherit hostName;
      modules = [ mission ] ++ modules;
    };

  tailscaleOf = config: {
    inherit (config.services.tailscale)
      enable
      useRoutingFeatures
      extraUpFlags
      extraSetFlags
      authKeyFile
      ;
  };

  # The failed assertions of these modules (under the real NixOS, other modules
  # have assertions of their own: they are not these tests' business).
  failures =
    config:
    lib.filter (lib.hasInfix "avalanche.") (
      map (a: a.message) (lib.filter (a: !a.assertion) config.assertions)
    );

  # Which failed assertions mention each of `needles` (all must be found).
  failsWith =
    needles: config:
    let
      messages = failures config;
    in
    {
      failed = messages != [ ];
      mentions = map (needle: lib.any (lib.hasInfix needle) messages) needles;
    };
  failsWithExpected = needles: {
    failed = true;
    mentions = map (_: true) needles;
  };
in
{
  testSubnetRouter = {
    expr = tailscaleOf (host "routy" [ { avalanche.tailscale.authKeyFile = "/run/secrets/routy-tailscale"; } ]);
    expected = {
      enable = true;
      useRoutingFeatures = "server";
      extraUpFlags = [ ];
      extraSetFlags = [ "--advertise-routes=10.1.0.0/24" ];
      authKeyFile = "/run/secrets/routy-tailscale";
    };
  };

  testSubnetRouterPasses = {
    expr = failures (host "routy" [ ]);
    expected = [ ];
  };

  testWorkstation = {
    expr = tailscaleOf (host "calypso" [ ]);
    expected = {
      enable = true;
      useRoutingFeatures = "client";
      extraUpFlags = [ ];
      extraSetFlags = [ "--accept-routes" ];
      authKeyFile = null;
    };
  };

  testServer = {
    expr = tailscaleOf (host "mysecrets" [ ]);
    expected = {
      enable = true;
      useRoutingFeatures = "none";
      extraUpFlags = [ "--advertise-tags=tag:infra" ];
      extraSetFlags = [ ];
      authKeyFile = null;
    };
  };

  testExitNodeAllowed = {
    expr = tailscaleOf (host "gateway" [ (exitNode "allowed") ]);
    expected = {
      enable = true;
      useRoutingFeatures = "server";
      extraUpFlags = [ ];
      extraSetFlags = [ "--advertise-exit-node" ];
      authKeyFile = null;
    };
  };

  testExitNodeAllowedPasses = {
    expr = failures (host "gateway" [ (exitNode "allowed") ]);
    expected = [ ];
  };

  # A forbidden exit node: the host refuses to build, and never advertises itself.
  testExitNodeForbiddenFails = {
    expr = failsWith [
      ''avalanche.network.tailscale.nodes.gateway.role is "exit-node"''
      ''avalanche.network.tailscale.exitNodes = "allowed"''
    ] (host "gateway" [ (exitNode "forbidden") ]);
    expected = failsWithExpected [ 1 2 ];
  };

  testExitNodeForbiddenNoFlag = {
    expr = (tailscaleOf (host "gateway" [ (exitNode "forbidden") ])).extraSetFlags;
    expected = [ ];
  };

  # The default is "forbidden": a host elsewhere in the tailnet fails too.
  testExitNodeForbiddenByDefault = {
    expr = failsWith [ ''nodes.gateway.role is "exit-node"'' ] (host "calypso" [
      { avalanche.network.tailscale.nodes.gateway.role = "exit-node"; }
    ]);
    expected = failsWithExpected [ 1 ];
  };

  testSubnetRouterWithoutRoutesFails = {
    expr = failsWith [ "routy2 is a subnet router without routes" "advertiseRoutes" ] (host "routy2" [
      { avalanche.network.tailscale.nodes.routy2.role = "subnet-router"; }
    ]);
    expected = failsWithExpected [ 1 2 ];
  };

  testRouteWithHostBitsFails = {
    expr = failsWith [ "`10.1.0.5/24` has host bits set" "write `10.1.0.0/24`" ] (host "routy" [
      { avalanche.network.tailscale.nodes.routy.advertiseRoutes = lib.mkForce [ "10.1.0.5/24" ]; }
    ]);
    expected = failsWithExpected [ 1 2 ];
  };

  testRouteInTailscaleRangeFails = {
    expr = failsWith [ "overlaps 100.64.0.0/10" ] (host "routy" [
      { avalanche.network.tailscale.nodes.routy.advertiseRoutes = lib.mkForce [ "100.100.0.0/16" ]; }
    ]);
    expected = failsWithExpected [ 1 ];
  };

  testHostWithoutNodeFails = {
    expr = failsWith [ ''has no
node "builder"'' "Declare avalanche.network.tailscale.nodes.builder" ] (host "builder" [ ]);
    expected = failsWithExpected [ 1 2 ];
  };

  testHostWithoutNodeNoTailscale = {
    expr = (tailscaleOf (host "builder" [ ])).enable;
    expected = false;
  };

  testDeviceAsHostFails = {
    expr = failsWith [ ''nodes.phone.role is "device"'' ] (host "phone" [ ]);
    expected = failsWithExpected [ 1 ];
  };

  testDisabledTouchesNothing = {
    expr = tailscaleOf (host "routy" [ { avalanche.tailscale.enable = lib.mkForce false; } ]);
    expected = {
      enable = false;
      useRoutingFeatures = "none";
      extraUpFlags = [ ];
      extraSetFlags = [ ];
      authKeyFile = null;
    };
  };

  testDisabledNoAssertion = {
    expr = failures (host "builder" [ { avalanche.tailscale.enable = lib.mkForce false; } ]);
    expected = [ ];
  };

  testNodeIsReadable = {
    expr = (host "routy" [ ]).avalanche.tailscale.node.advertiseRoutes;
    expected = [ "10.1.0.0/24" ];
  };
}
