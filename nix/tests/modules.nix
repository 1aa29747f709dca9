# Module evaluation tests of `nixosModules.tailscale`, one host per role, written
# once and run by two backends:
#   - run-modules.nix: nixpkgs' `lib` alone (NIXPKGS_LIB) with ./nixos-stubs.nix;
#   - the flake's checks: the real NixOS modules (`nixpkgs.lib.nixosSystem`).
# `evalHost { hostName, modules }` returns the host's `config` with
# `nixosModules.default` imported and `avalanche.tailscale.enable = true`.
# The result is a `lib.runTests` suite: every test's `expr` must equal `expected`.
{ lib, evalHost }:
let
  # The tailnet of the bundled declarations (nix/network.nix).
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

  # Line breaks and runs of spaces as one space: messages are wrapped for reading.
  squash =
    s: lib.concatStringsSep " " (lib.filter (w: w != "") (lib.splitString " " (lib.replaceStrings [ "\n" ] [ " " ] s)));

  # Which failed assertions mention each of `needles` (all must be found).
  failsWith =
    needles: config:
    let
      messages = map squash (failures config);
    in
    {
      failed = messages != [ ];
      mentions = map (needle: lib.any (lib.hasInfix (squash needle)) messages) needles;
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
    expr = tailscaleOf (host "mysecrets" [ { avalanche.tailscale.authKeyFile = "/run/secrets/mysecrets-tailscale"; } ]);
    expected = {
      enable = true;
      useRoutingFeatures = "none";
      extraUpFlags = [ "--advertise-tags=tag:infra" ];
      extraSetFlags = [ ];
      authKeyFile = "/run/secrets/mysecrets-tailscale";
    };
  };

  testServerPasses = {
    expr = failures (host "mysecrets" [ { avalanche.tailscale.authKeyFile = "/run/secrets/mysecrets-tailscale"; } ]);
    expected = [ ];
  };

  # `tailscale set` cannot tag a node: without an auth key the tags would apply nowhere.
  testTagsWithoutAuthKeyFail = {
    expr = failsWith [
      ''avalanche.network.tailscale.nodes.mysecrets.tags = [ "tag:infra" ]''
      "has no auth key"
      "avalanche.tailscale.authKeyFile = config.sops.secrets"
    ] (host "mysecrets" [ ]);
    expected = failsWithExpected [ 1 2 3 ];
  };

  # The host's own services.tailscale.authKeyFile (sops-nix) is enough, and is kept.
  testTagsWithHostAuthKeyPass = {
    expr =
      let
        config = host "mysecrets" [ { services.tailscale.authKeyFile = "/run/secrets/tailscale_auth_key"; } ];
      in
      {
        failures = failures config;
        inherit (config.services.tailscale) authKeyFile extraUpFlags;
      };
    expected = {
      failures = [ ];
      authKeyFile = "/run/secrets/tailscale_auth_key";
      extraUpFlags = [ "--advertise-tags=tag:infra" ];
    };
  };

  # A path literal would be copied into the world-readable store: refused by the type.
  testAuthKeyPathLiteralRefused = {
    expr =
      (builtins.tryEval (
        builtins.deepSeq (host "routy" [ { avalanche.tailscale.authKeyFile = ./modules.nix; } ])
          .avalanche.tailscale.authKeyFile
          true
      )).success;
    expected = false;
  };

  testAuthKeyInStoreRefused = {
    expr =
      (builtins.tryEval (
        builtins.deepSeq (host "routy" [ { avalanche.tailscale.authKeyFile = "${builtins.storeDir}/00000000000000000000000000000000-authkey"; } ])
          .avalanche.tailscale.authKeyFile
          true
      )).success;
    expected = false;
  };

  # nixpkgs' own option takes path literals: the assertion looks at the final value.
  testHostAuthKeyPathLiteralFails = {
    expr = failsWith [ "is a path literal" "Use a string path outside the store" ] (host "routy" [
      # A path literal (this file): under the real NixOS it is only named, never read.
      { services.tailscale.authKeyFile = ./modules.nix; }
    ]);
    expected = failsWithExpected [ 1 2 ];
  };

  testAuthKeyTwiceFails = {
    expr = failsWith [ "set only one of them" ] (host "routy" [
      {
        avalanche.tailscale.authKeyFile = "/run/secrets/a";
        services.tailscale.authKeyFile = "/run/secrets/b";
      }
    ]);
    expected = failsWithExpected [ 1 ];
  };

  # "both" is a superset of "server": a router config keeps its own value.
  testRoutingBothComposes = {
    expr =
      let
        config = host "routy" [ { services.tailscale.useRoutingFeatures = "both"; } ];
      in
      {
        failures = failures config;
        inherit (config.services.tailscale) useRoutingFeatures;
      };
    expected = {
      failures = [ ];
      useRoutingFeatures = "both";
    };
  };

  testRoutingNoneFails = {
    expr = failsWith [ ''needs
services.tailscale.useRoutingFeatures = "server" (or "both")'' ''the host sets "none"'' ] (host "routy" [
      { services.tailscale.useRoutingFeatures = "none"; }
    ]);
    expected = failsWithExpected [ 1 2 ];
  };

  testWorkstationRoutingServerFails = {
    expr = failsWith [ ''useRoutingFeatures = "client" (or "both")'' ] (host "calypso" [
      { services.tailscale.useRoutingFeatures = "server"; }
    ]);
    expected = failsWithExpected [ 1 ];
  };

  testDisabledTailscaleFails = {
    expr = failsWith [ "services.tailscale.enable is false" ] (host "calypso" [
      { services.tailscale.enable = false; }
    ]);
    expected = failsWithExpected [ 1 ];
  };

  # The host's own flags are merged with the role's.
  testHostSetFlagsMerge = {
    expr =
      let
        config = host "calypso" [ { services.tailscale.extraSetFlags = [ "--ssh" ]; } ];
      in
      {
        failures = failures config;
        flags = lib.sort lib.lessThan config.services.tailscale.extraSetFlags;
      };
    expected = {
      failures = [ ];
      flags = [
        "--accept-routes"
        "--ssh"
      ];
    };
  };

  testHostSetFlagContradictionFails = {
    expr = failsWith [ "has
--accept-routes=false, which contradicts --accept-routes=true" ] (host "calypso" [
      { services.tailscale.extraSetFlags = [ "--accept-routes=false" ]; }
    ]);
    expected = failsWithExpected [ 1 ];
  };

  testRouteFlagContradictionFails = {
    expr = failsWith [ "--advertise-routes=10.9.0.0/24, which contradicts --advertise-routes=10.1.0.0/24" ] (host "routy" [
      {
        services.tailscale.extraSetFlags = [
          "--advertise-routes"
          "10.9.0.0/24"
        ];
      }
    ]);
    expected = failsWithExpected [ 1 ];
  };

  testRoleFlagForcedAwayFails = {
    expr = failsWith [ "lacks
--accept-routes" "instead of lib.mkForce" ] (host "calypso" [
      { services.tailscale.extraSetFlags = lib.mkForce [ "--ssh" ]; }
    ]);
    expected = failsWithExpected [ 1 2 ];
  };

  # A host's own `tailscale set` unit runs first; the declared flags are set last.
  testHostSetUnitOrderedBefore = {
    expr =
      let
        config = host "calypso" [ { systemd.services.tailscale-prefs.script = "/run/current-system/sw/bin/tailscale set --ssh --accept-dns=false"; } ];
      in
      {
        failures = failures config;
        ordered = lib.elem "tailscale-prefs.service" config.systemd.services.tailscaled-set.after;
      };
    expected = {
      failures = [ ];
      ordered = true;
    };
  };

  testHostSetUnitContradictionFails = {
    expr = failsWith [ "systemd.services.no-routes" "`tailscale set --accept-routes=false`" ] (host "calypso" [
      {
        systemd.services.no-routes.serviceConfig.ExecStart = "/run/current-system/sw/bin/tailscale set --accept-routes=false";
      }
    ]);
    expected = failsWithExpected [ 1 2 ];
  };

  # The first login (`tailscale up` with the tags) comes before `tailscale set`.
  testAutoconnectBeforeSet = {
    expr = lib.elem "tailscaled-autoconnect.service" (host "routy" [
      { avalanche.tailscale.authKeyFile = "/run/secrets/routy-tailscale"; }
    ]).systemd.services.tailscaled-set.after;
    expected = true;
  };

  # A host whose name is not its node's.
  testNodeName = {
    expr =
      let
        config = host "router-01" [ { avalanche.tailscale.nodeName = "routy"; } ];
      in
      {
        failures = failures config;
        inherit (config.services.tailscale) extraSetFlags;
      };
    expected = {
      failures = [ ];
      extraSetFlags = [ "--advertise-routes=10.1.0.0/24" ];
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

  # Capabilities combine: a subnet router that is also an exit node, accepts
  # routes and carries a tag.
  testCombinedCapabilities = {
    expr = tailscaleOf (host "nas" [
      {
        avalanche.network.tailscale = {
          exitNodes = "allowed";
          nodes.nas = {
            role = "subnet-router";
            advertiseRoutes = [ "192.168.20.0/24" ];
            advertiseExitNode = true;
            acceptRoutes = true;
            tags = [ "tag:nas" ];
          };
        };
        avalanche.tailscale.authKeyFile = "/run/secrets/nas-tailscale";
      }
    ]);
    expected = {
      enable = true;
      useRoutingFeatures = "both";
      extraUpFlags = [ "--advertise-tags=tag:nas" ];
      extraSetFlags = [
        "--advertise-routes=192.168.20.0/24"
        "--advertise-exit-node"
        "--accept-routes"
      ];
      authKeyFile = "/run/secrets/nas-tailscale";
    };
  };

  # advertiseExitNode on another role is refused while exit nodes are forbidden.
  testAdvertiseExitNodeForbiddenFails = {
    expr = failsWith [ ''avalanche.network.tailscale.nodes.nas.advertiseExitNode is true'' ] (host "nas" [
      {
        avalanche.network.tailscale.nodes.nas = {
          role = "server";
          advertiseExitNode = true;
        };
      }
    ]);
    expected = failsWithExpected [ 1 ];
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

  # A gateway and a proxy of one name: a client could not say which it means.
  testGatewayProxyNameClashFails = {
    expr = failsWith [ "egress.gateways.iceland and avalanche.network.egress.proxies.iceland share a name" ] (host "routy" [
      {
        avalanche.network.secrets.routy-wireguard = {
          format = "plain";
          file = "secrets/routy/wireguard.yaml";
          keys = [ "privateKey" ];
        };
        avalanche.network.egress.proxies.iceland = {
          provider = "protonvpn";
          countries = [ "Iceland" ];
        };
        avalanche.network.egress.gateways.iceland = {
          host = "routy";
          listen = "10.1.0.1";
          tunnel = {
            endpoint = "exit.example.org:51820";
            publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
            address = "10.99.0.2/32";
            privateKeySecret = "routy-wireguard";
          };
        };
      }
    ]);
    expected = failsWithExpected [ 1 ];
  };

  # `tunnel.address` takes one CIDR or a list of them, and is a list once evaluated
  # (nix/modules/gateway-render.nix reads it so).
  testGatewayTunnelAddressIsAList = {
    expr = map (
      address:
      (host "routy" [
        {
          avalanche.network.egress.gateways.home = {
            host = "routy";
            listen = "10.1.0.1";
            tunnel = {
              endpoint = "exit.example.org:51820";
              publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
              inherit address;
              privateKeySecret = "routy-wireguard";
            };
          };
        }
      ]).avalanche.network.egress.gateways.home.tunnel.address
    ) [
      "10.99.0.2/32"
      [
        "10.2.0.2/32"
        "2a07:b944::2:2/128"
      ]
    ];
    expected = [
      [ "10.99.0.2/32" ]
      [
        "10.2.0.2/32"
        "2a07:b944::2:2/128"
      ]
    ];
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
    expr = failsWith [ ''has no node "builder"'' "Declare avalanche.network.tailscale.nodes.builder" ] (host "builder" [ ]);
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
