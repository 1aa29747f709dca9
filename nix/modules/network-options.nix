# The `avalanche.network` options: the declaration schema (README.md shows it in use).
#
# The options themselves are generated from the Rust model's one table
# (`crates/model/src/schema/table.rs`) into ./options.generated.nix: add or change an
# option there, never here. This module adds what the table cannot say: the
# assertions. They mirror `avalanche-net check`'s Tailscale and egress rules, so a
# NixOS host importing a broken declaration fails to build with the same advice.
{ config, lib, ... }:
let
  cfg = config.avalanche.network;
  avalanche = import ./types.nix { inherit lib; };
  # The gluetun variables `existingSecret.keys` may map: the decoder's own list,
  # written into data.generated.nix from the Rust model (never edited here).
  inherit (import ./data.generated.nix) credentialVariables;
  nodes = cfg.tailscale.nodes;
  opt = "avalanche.network";
  cgnat = "100.64.0.0/10";
  routeAssertions = lib.concatLists (
    lib.mapAttrsToList (
      n: node:
      map (route: {
        assertion = avalanche.canonicalCidr route == route;
        message = ''
          ${opt}.tailscale.nodes.${n}.advertiseRoutes: `${route}` has host bits set;
          write `${avalanche.canonicalCidr route}` (Tailscale rejects non-canonical routes).'';
      }) node.advertiseRoutes
      ++ map (route: {
        assertion = !(avalanche.cidrsOverlap route cgnat);
        message = ''
          ${opt}.tailscale.nodes.${n}.advertiseRoutes: `${route}` overlaps ${cgnat},
          the range Tailscale gives its own nodes; advertise your LAN instead.'';
      }) node.advertiseRoutes
    ) nodes
  );
  # Providers some gluetun takes its credentials from (no `credentials` of its own).
  inheritingProviders =
    lib.mapAttrsToList (_: p: p.provider) (
      lib.filterAttrs (_: p: p.credentials == null && p.existingSecret == null) (
        cfg.egress.proxies // cfg.egress.sidecars
      )
    )
    ++ lib.concatLists (
      lib.mapAttrsToList (
        _: c:
        let
          p = if c.proxy == null then null else cfg.egress.proxies.${c.proxy} or null;
        in
        lib.optional (
          c.protocol == "sidecar" && p != null && p.credentials == null && p.existingSecret == null
        ) p.provider
      ) cfg.egress.clients
    );
  # The cross-references as `avalanche-net check` reports them (`Network::resolve`
  # in crates/model/src/resolve.rs): the same rule ids and wording, so an evaluation
  # of a host and `check` name one problem alike.
  singular = {
    proxies = "proxy";
    sidecars = "sidecar";
    clients = "client";
  };
  refAssertions =
    rule: kind: attrs: field: verb: target: which:
    lib.mapAttrsToList (n: v: {
      assertion = target ? ${v.${field}};
      message = ''
        ${opt}.egress.${kind}.${n}.${field}: [${rule}] ${singular.${kind}} `${n}` ${verb} `${v.${field}}`,
        ${which} (declared: ${
          if target == { } then "none" else lib.concatStringsSep ", " (lib.attrNames target)
        }): correct the name or declare it.'';
    }) attrs;
in
{
  imports = [ ./options.generated.nix ];

  config.assertions =
    lib.mapAttrsToList (n: node: {
      assertion = !(avalanche.capabilities node).exitNode || cfg.tailscale.exitNodes == "allowed";
      message =
        if node.advertiseExitNode == null then
          ''
            ${opt}.tailscale.nodes.${n}.role is "exit-node", but ${opt}.tailscale.exitNodes
            is "forbidden": give ${n} another role (exit nodes are retired), or set
            ${opt}.tailscale.exitNodes = "allowed".''
        else
          ''
            ${opt}.tailscale.nodes.${n}.advertiseExitNode is true, but ${opt}.tailscale.exitNodes
            is "forbidden": remove it (exit nodes are retired), or set
            ${opt}.tailscale.exitNodes = "allowed".'';
    }) nodes
    ++ lib.mapAttrsToList (n: node: {
      assertion = node.role != "subnet-router" || node.advertiseRoutes != [ ];
      message = ''
        ${opt}.tailscale.nodes.${n} is a subnet router without routes: set
        ${opt}.tailscale.nodes.${n}.advertiseRoutes (e.g. [ "10.1.0.0/24" ]) or change its role.'';
    }) nodes
    ++ routeAssertions
    ++ refAssertions "egress-unknown-provider" "proxies" cfg.egress.proxies "provider" "uses provider"
      cfg.egress.providers "which `egress.providers` does not declare"
    ++ refAssertions "egress-unknown-provider" "sidecars" cfg.egress.sidecars "provider" "uses provider"
      cfg.egress.providers "which `egress.providers` does not declare"
    ++ lib.mapAttrsToList (n: c: {
      assertion = (c.proxy == null) != (c.gateway == null);
      message = ''
        ${opt}.egress.clients.${n} needs exactly one upstream: set `proxy` (a proxy or a gateway)
        or `gateway` (a gateway), not ${if c.proxy == null then "neither" else "both"}.'';
    }) cfg.egress.clients
    ++ refAssertions "egress-unknown-proxy" "clients" (lib.filterAttrs (_: c: c.proxy != null) cfg.egress.clients)
      "proxy" "goes through upstream"
      (cfg.egress.proxies // cfg.egress.gateways)
      "which `egress.proxies` does not declare (nor `egress.gateways`)"
    ++ refAssertions "egress-unknown-proxy" "clients" (lib.filterAttrs (_: c: c.gateway != null) cfg.egress.clients)
      "gateway" "goes through gateway"
      cfg.egress.gateways "which `egress.gateways` does not declare"
    ++ lib.mapAttrsToList (n: p: {
      # Checked only when an instance takes its credentials from the provider.
      assertion =
        !(lib.elem n inheritingProviders) || p.existingSecret != null || cfg.secrets ? ${p.credentials};
      message = ''
        ${opt}.egress.providers.${n}.credentials: [egress-unknown-secret] provider `${n}` uses credentials secret
        `${p.credentials}`, which `secrets` does not declare: declare ${opt}.secrets.${p.credentials}
        (then `avalanche-net secrets seal ${p.credentials}`), or correct the name.'';
    }) cfg.egress.providers
    ++ lib.concatLists (
      lib.mapAttrsToList (
        kind: attrs:
        lib.mapAttrsToList (n: v: {
          assertion = v.credentials == null || cfg.secrets ? ${v.credentials};
          message = ''
            ${opt}.egress.${kind}.${n}.credentials: [egress-unknown-secret] ${singular.${kind}} `${n}` uses credentials
            secret `${toString v.credentials}`, which `secrets` does not declare: declare ${opt}.secrets.${toString v.credentials}
            (then `avalanche-net secrets seal ${toString v.credentials}`), or correct the name.'';
        }) attrs
        ++ lib.mapAttrsToList (n: v: {
          assertion = v.credentials == null || v.existingSecret == null;
          message = ''
            ${opt}.egress.${kind}.${n} sets both credentials and existingSecret: keep one
            (existingSecret when the cluster already has the Secret).'';
        }) attrs
      ) { inherit (cfg.egress) proxies sidecars; }
    )
    # As the decoder: a name in `existingSecret.keys` that gluetun does not read
    # from its credentials Secret is a typo, and the variable would go unset.
    ++ lib.concatLists (
      lib.mapAttrsToList (
        kind: attrs:
        lib.concatLists (
          lib.mapAttrsToList (
            n: v:
            map (var: {
              assertion = lib.elem var credentialVariables;
              message = ''
                ${opt}.egress.${kind}.${n}.existingSecret.keys.${var}: `${var}` is not a credentials
                variable of gluetun. `keys` maps each variable gluetun reads from the Secret to the
                Secret's key: ${lib.concatStringsSep ", " credentialVariables}; write e.g.
                `keys = { WIREGUARD_PRIVATE_KEY = "wg-key"; };`.'';
            }) (if v.existingSecret == null then [ ] else lib.attrNames v.existingSecret.keys)
          ) attrs
        )
      ) { inherit (cfg.egress) providers proxies sidecars; }
    )
    ++ lib.mapAttrsToList (n: s: {
      assertion = cfg.kubernetes.secrets != "none" || s.format != "kubernetes";
      message = ''
        ${opt}.secrets.${n} is a SOPS-sealed Kubernetes secret, but ${opt}.kubernetes.secrets is
        "none" (no KSOPS in the cluster): reference the Secret the cluster has with existingSecret
        instead, or set ${opt}.kubernetes.secrets = "ksops".'';
    }) cfg.secrets
    ++ lib.mapAttrsToList (n: _: {
      assertion = !(cfg.egress.proxies ? ${n});
      message = ''
        ${opt}.egress.gateways.${n} and ${opt}.egress.proxies.${n} share a name, but a client
        names its upstream by name: rename one (e.g. gateways.${n}-gw).'';
    }) cfg.egress.gateways
    ++ lib.mapAttrsToList (n: g: {
      assertion = cfg.secrets ? ${g.tunnel.privateKeySecret};
      message = ''
        ${opt}.egress.gateways.${n}.tunnel.privateKeySecret = "${g.tunnel.privateKeySecret}" names no
        declared secret: declare ${opt}.secrets.${g.tunnel.privateKeySecret} with format = "plain"
        (then `avalanche-net secrets seal ${g.tunnel.privateKeySecret}`).'';
    }) cfg.egress.gateways;
}
