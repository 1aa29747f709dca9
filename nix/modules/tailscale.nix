# A NixOS host's Tailscale configuration, derived from `avalanche.network`.
#
# The host finds its node by `avalanche.tailscale.nodeName` (default:
# `networking.hostName`) in `avalanche.network.tailscale.nodes` and gets
# `services.tailscale` from the node's capabilities — its role is a shorthand for
# them, and they combine (types.nix `capabilities`; nixpkgs'
# nixos/modules/services/networking/tailscale.nix):
#   advertiseRoutes (subnet-router)    → extraSetFlags --advertise-routes=…
#   exit node (exit-node, or advertiseExitNode = true)
#                                      → extraSetFlags --advertise-exit-node
#                   (only while exitNodes = "allowed"; an assertion fails otherwise)
#   acceptRoutes (workstation)         → extraSetFlags --accept-routes
#   useRoutingFeatures: "server" for routes or an exit node, "client" to accept
#   routes, "both" for both; any node with tags → extraUpFlags --advertise-tags=…
#   (needs an auth key)
#
# It composes with a host's own Tailscale settings instead of fighting them:
#   - `enable`, `useRoutingFeatures` and `authKeyFile` are set with `mkDefault`, so
#     a host's own value wins without a conflicting-definition error; assertions
#     then check the *final* values against what the role needs ("both" is fine for
#     a subnet router, "none" is not) and say how to fix them;
#   - `extraSetFlags`/`extraUpFlags` are lists: the host's flags are merged with
#     ours; a host flag that contradicts one of ours (`--accept-routes=false` on a
#     workstation) fails an assertion, and so does a role flag removed by `mkForce`;
#   - a host's own unit that runs `tailscale set` (its `script` or `ExecStart`) is
#     ordered before nixpkgs' `tailscaled-set` (ours runs last, so the declared
#     flags are the ones in effect), and fails an assertion when it contradicts a
#     declared flag; `tailscaled-set` also runs after `tailscaled-autoconnect` (the
#     first login), so `tailscale up` never sees prefs it was not given.
#
# Tags: `--advertise-tags` is a `tailscale up` flag (`tailscale set` has no such
# flag), and NixOS runs `tailscale up` only with `authKeyFile`: a node with tags
# and no auth key fails an assertion instead of silently staying untagged.
#
# The network's own assertions (an exit node while forbidden, a subnet router
# without routes, non-canonical routes, dangling references) come with the imported
# options module, so every host refuses to build a broken declaration.
{
  config,
  lib,
  options,
  ...
}:
let
  cfg = config.avalanche.tailscale;
  ts = config.services.tailscale;
  net = config.avalanche.network;
  name = cfg.nodeName;
  node = net.tailscale.nodes.${name} or null;
  role = if node == null then null else node.role;
  managed = cfg.enable && node != null && role != "device";
  opt = "avalanche.network.tailscale";
  exitNodeAllowed = net.tailscale.exitNodes == "allowed";
  storeDir = builtins.storeDir;

  # What the node does: routes, exit node, accepting routes (a role is a shorthand).
  caps = if node == null then null else (import ./types.nix { inherit lib; }).capabilities node;
  exitNode = caps != null && caps.exitNode && exitNodeAllowed;
  forwards = caps != null && (caps.routes != [ ] || exitNode);
  accepts = caps != null && caps.acceptRoutes;

  # The routing features the capabilities need, and the final values that satisfy
  # them ("both" is a superset of "server" and of "client").
  routingFeatures =
    if forwards && accepts then
      "both"
    else if forwards then
      "server"
    else if accepts then
      "client"
    else
      null;
  routingSatisfied = {
    server = [
      "server"
      "both"
    ];
    client = [
      "client"
      "both"
    ];
    both = [ "both" ];
  };

  setFlags =
    lib.optional (caps != null && caps.routes != [ ]) "--advertise-routes=${lib.concatStringsSep "," caps.routes}"
    ++ lib.optional exitNode "--advertise-exit-node"
    ++ lib.optional accepts "--accept-routes";

  upFlags = lib.optional (
    node != null && node.tags != [ ]
  ) "--advertise-tags=${lib.concatStringsSep "," node.tags}";

  # ------------------------------------------------------------ flag parsing
  # `tailscale` parses its flags with Go's `flag` package: `--name=value`,
  # `--name value` (not for booleans) and a bare `--name` for a boolean true.
  boolFlags = [
    "accept-dns"
    "accept-routes"
    "advertise-connector"
    "advertise-exit-node"
    "exit-node-allow-lan-access"
    "reset"
    "shields-up"
    "snat-subnet-routes"
    "ssh"
    "stateful-filtering"
    "update-check"
    "webclient"
  ];
  # Go's strconv.ParseBool; anything else is kept as written.
  boolValue =
    v:
    if
      lib.elem v [
        "1"
        "t"
        "T"
        "true"
        "TRUE"
        "True"
      ]
    then
      "true"
    else if
      lib.elem v [
        "0"
        "f"
        "F"
        "false"
        "FALSE"
        "False"
      ]
    then
      "false"
    else
      v;
  # Lists (routes, tags) compare as sets.
  normalise =
    flag: value:
    if lib.elem flag boolFlags then
      boolValue value
    else
      lib.concatStringsSep "," (lib.sort lib.lessThan (lib.filter (s: s != "") (lib.splitString "," value)));

  # [ "--accept-routes" "--advertise-routes" "10.1.0.0/24" ] →
  # [ { flag = "accept-routes"; value = "true"; } { flag = "advertise-routes"; value = "10.1.0.0/24"; } ]
  parseFlags =
    words:
    let
      step =
        st: word:
        let
          m = builtins.match "--?([A-Za-z0-9-]+)(=(.*))?" word;
          flag = lib.elemAt m 0;
          value = lib.elemAt m 2;
          push = f: v: st.flags ++ [
            {
              flag = f;
              value = normalise f v;
            }
          ];
        in
        if st.pending != null && m == null then
          {
            pending = null;
            flags = push st.pending word;
          }
        else if m == null then
          st
        else if value != null then
          {
            pending = null;
            flags = push flag value;
          }
        else if lib.elem flag boolFlags then
          {
            pending = null;
            flags = push flag "true";
          }
        else
          {
            pending = flag;
            inherit (st) flags;
          };
    in
    (lib.foldl' step {
      pending = null;
      flags = [ ];
    } words).flags;

  wanted = parseFlags setFlags;
  wantedFlags = map (f: f.flag) wanted;
  # The flags in `given` that set one of ours to another value.
  contradicting =
    given:
    lib.filter (
      g: lib.any (w: w.flag == g.flag && w.value != g.value) wanted
    ) (parseFlags given);
  showFlags = fs: lib.concatMapStringsSep " " (f: "--${f.flag}=${f.value}") fs;

  # -------------------------------------------- the host's own `tailscale set`
  # The words after `tailscale set` on each line of a unit's script/ExecStart.
  unitText =
    unit:
    let
      exec = unit.serviceConfig.ExecStart or "";
    in
    lib.concatStringsSep "\n" (
      [ (unit.script or "") ] ++ map toString (lib.toList exec)
    );
  setInvocations =
    text:
    lib.concatMap (
      line:
      let
        m = builtins.match ".*tailscale[\"']?[[:space:]]+set([[:space:]].*)?" line;
      in
      if m == null then
        [ ]
      else
        [
          (map (lib.removePrefix "'") (
            map (lib.removeSuffix "'") (
              map (lib.removePrefix "\"") (
                map (lib.removeSuffix "\"") (
                  lib.filter (w: w != "") (lib.splitString " " (lib.replaceStrings [ "\t" ] [ " " ] (toString (lib.head m))))
                )
              )
            )
          ))
        ]
    ) (lib.splitString "\n" text);
  # Units nixpkgs' module makes itself are not the host's.
  ourUnits = [
    "tailscaled"
    "tailscaled-set"
    "tailscaled-autoconnect"
  ];
  services = config.systemd.services or { };
  hostSetUnits = lib.filterAttrs (
    n: unit: !(lib.elem n ourUnits) && (unit.enable or true) && setInvocations (unitText unit) != [ ]
  ) services;

  # ------------------------------------------------------------ auth key type
  # An absolute path as a string, outside the store: a path literal (`./authkey`)
  # would be copied into the world-readable Nix store when the unit is written.
  externalPathDescription = "absolute path outside the Nix store, as a string (e.g. config.sops.secrets.\"tailscale\".path); never a path literal such as ./authkey, which would copy the key into the world-readable Nix store";
  externalPath =
    if lib.types ? pathWith then
      lib.types.pathWith {
        inStore = false;
        absolute = true;
      }
      // {
        description = externalPathDescription;
      }
    else
      lib.mkOptionType {
        name = "path";
        description = externalPathDescription;
        descriptionClass = "noun";
        check =
          x: builtins.isString x && lib.hasPrefix "/" x && !(lib.hasPrefix "${storeDir}/" x);
        merge = lib.mergeEqualOption;
      };

  # The final auth key file may come from the host itself (services.tailscale).
  authKey = ts.authKeyFile;
  authKeyOutsideStore =
    authKey == null || (!(builtins.isPath authKey) && !(lib.hasPrefix "${storeDir}/" (toString authKey)));
  fix = "fix it in the host's configuration";
in
{
  _class = "nixos";

  imports = [ ./network-options.nix ];

  options.avalanche.tailscale = {
    enable = lib.mkEnableOption ''
      Tailscale on this host as `avalanche.network.tailscale.nodes.<nodeName>`
      declares it (the node must be declared there, with a role other than `device`)'';

    nodeName = lib.mkOption {
      type = (import ./types.nix { inherit lib; }).types.dnsLabel;
      default = config.networking.hostName;
      defaultText = lib.literalExpression "config.networking.hostName";
      example = "routy";
      description = ''
        This host's node in `avalanche.network.tailscale.nodes`, when it is not the
        host name (e.g. a host `router-01` declared as the node `routy`).
      '';
    };

    authKeyFile = lib.mkOption {
      type = lib.types.nullOr externalPath;
      default = null;
      example = lib.literalExpression ''config.sops.secrets."routy-tailscale".path'';
      description = ''
        A file holding a Tailscale auth key, passed to `services.tailscale.authKeyFile`
        (as a default: a host that sets `services.tailscale.authKeyFile` itself keeps
        its value). With an auth key the host logs in by itself (`tailscaled-autoconnect`)
        and `extraUpFlags` (its tags) apply. A string, never a path literal: decrypt it
        with sops-nix from the declared `plain` secret, e.g.
        `sops.secrets."routy-tailscale" = { sopsFile = ./secrets/routy/tailscale.yaml; key = "authkey"; restartUnits = [ "tailscaled-autoconnect.service" ]; };`.
      '';
    };

    node = lib.mkOption {
      type = lib.types.nullOr (lib.types.attrsOf lib.types.anything);
      readOnly = true;
      default = node;
      defaultText = lib.literalExpression "config.avalanche.network.tailscale.nodes.\${config.avalanche.tailscale.nodeName} or null";
      description = "This host's node, as found by `nodeName` (read-only).";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = node != null;
            message = ''
              avalanche.tailscale.enable is set on host "${config.networking.hostName}", but ${opt}.nodes
              has no node "${name}" (declared: ${lib.concatStringsSep ", " (lib.attrNames net.tailscale.nodes)}).
              Declare ${opt}.nodes.${name} with its role, or set avalanche.tailscale.nodeName
              to the node this host is.'';
          }
          {
            assertion = role != "device";
            message = ''
              ${opt}.nodes.${name}.role is "device" (an unmanaged device, like a phone), but
              "${name}" is a NixOS host with avalanche.tailscale.enable: give it the role
              "workstation", "server" or "subnet-router".'';
          }
        ];
      }
      (lib.mkIf managed {
        services.tailscale = lib.mkMerge [
          {
            enable = lib.mkDefault true;
            extraSetFlags = setFlags;
            extraUpFlags = upFlags;
          }
          (lib.mkIf (routingFeatures != null) { useRoutingFeatures = lib.mkDefault routingFeatures; })
          (lib.mkIf (cfg.authKeyFile != null) { authKeyFile = lib.mkDefault cfg.authKeyFile; })
        ];

        # Ours last: after the first login and after the host's own `tailscale set`.
        systemd.services = lib.mkIf (setFlags != [ ] && options ? systemd.services) {
          tailscaled-set.after =
            lib.optional (authKey != null) "tailscaled-autoconnect.service"
            ++ map (n: "${n}.service") (lib.attrNames hostSetUnits);
        };

        assertions = [
          {
            assertion = ts.enable;
            message = ''
              services.tailscale.enable is false on host "${config.networking.hostName}", but
              avalanche.tailscale.enable is true: set avalanche.tailscale.enable = false instead
              (or drop services.tailscale.enable = false) — ${fix}.'';
          }
          {
            assertion = routingFeatures == null || lib.elem ts.useRoutingFeatures routingSatisfied.${routingFeatures};
            message = ''
              ${opt}.nodes.${name} is a ${toString role}, which needs
              services.tailscale.useRoutingFeatures = "${toString routingFeatures}" (or "both"), but the
              host sets "${ts.useRoutingFeatures}": set it to "${toString routingFeatures}" or "both", or remove
              the host's own setting (the module sets "${toString routingFeatures}" by default).'';
          }
          {
            assertion = node.tags == [ ] || authKey != null;
            message = ''
              ${opt}.nodes.${name}.tags = [ ${lib.concatMapStringsSep " " (t: ''"${t}"'') node.tags} ], but
              host "${config.networking.hostName}" has no auth key: tags are applied only by
              `tailscale up --advertise-tags` at first login, which NixOS runs only with
              services.tailscale.authKeyFile (`tailscale set` cannot set tags). Set
              avalanche.tailscale.authKeyFile = config.sops.secrets."<name>".path;
              (a tagged auth key), or remove the tags.'';
          }
          {
            assertion = authKeyOutsideStore;
            message = ''
              services.tailscale.authKeyFile on host "${config.networking.hostName}" is ${
                if builtins.isPath authKey then "a path literal" else "in the Nix store"
              } (${toString authKey}): the auth key would be readable by every user of the
              machine. Use a string path outside the store, e.g.
              avalanche.tailscale.authKeyFile = config.sops.secrets."${name}-tailscale".path;'';
          }
          {
            assertion = cfg.authKeyFile == null || authKey == cfg.authKeyFile;
            message = ''
              avalanche.tailscale.authKeyFile is "${toString cfg.authKeyFile}" but the host sets
              services.tailscale.authKeyFile = "${toString authKey}": set only one of them.'';
          }
          {
            assertion = lib.all (f: lib.elem f ts.extraSetFlags) setFlags;
            message = ''
              services.tailscale.extraSetFlags on host "${config.networking.hostName}" lacks
              ${lib.concatStringsSep " " (lib.filter (f: !(lib.elem f ts.extraSetFlags)) setFlags)}, which the ${toString role}
              role of ${opt}.nodes.${name} needs: add your own flags with a plain definition
              (lists are merged) instead of lib.mkForce.'';
          }
          {
            assertion = contradicting ts.extraSetFlags == [ ];
            message = ''
              services.tailscale.extraSetFlags on host "${config.networking.hostName}" has
              ${showFlags (contradicting ts.extraSetFlags)}, which contradicts ${showFlags wanted}
              (the ${toString role} role of ${opt}.nodes.${name}): remove the host's flag, or
              change the node's role in the declarations.'';
          }
        ]
        ++ lib.mapAttrsToList (
          n: unit:
          let
            bad = lib.concatMap contradicting (setInvocations (unitText unit));
          in
          {
            assertion = bad == [ ];
            message = ''
              systemd.services.${n} on host "${config.networking.hostName}" runs
              `tailscale set ${showFlags bad}`, which contradicts ${showFlags wanted}
              (the ${toString role} role of ${opt}.nodes.${name}; tailscaled-set runs after it
              and would undo it): remove that flag from the unit, or change the node's role.'';
          }
        ) hostSetUnits;
      })
    ]
  );
}
