# Checked option types and pure helpers shared by the avalanche modules.
#
# The checks follow the Rust model (`crates/model/src/names.rs`): names are
# DNS-1123 labels, CIDRs need an address and a prefix length and may have host
# bits set (an assertion reports those, as `avalanche-net check` does).
{ lib }:
let
  dnsLabelRegex = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
  octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  ipv4Regex = "${octet}\\.${octet}\\.${octet}\\.${octet}/(3[0-2]|[12]?[0-9])";
  # Loose on purpose: the Rust model parses IPv6 fully; this only rejects the obvious.
  ipv6Regex = "[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/(12[0-8]|1[01][0-9]|[1-9]?[0-9])";

  matches = regex: s: builtins.isString s && builtins.match regex s != null;

  pow2 = n: if n == 0 then 1 else 2 * pow2 (n - 1);

  # `"10.1.0.5/24"` → { address = <int>; prefix = 24; }, or null for anything else.
  parseIPv4 =
    s:
    let
      m = builtins.match "([0-9]+)\\.([0-9]+)\\.([0-9]+)\\.([0-9]+)/([0-9]+)" s;
      n = i: lib.toInt (builtins.elemAt m i);
    in
    if !(matches ipv4Regex s) || m == null then
      null
    else
      {
        address = ((n 0 * 256 + n 1) * 256 + n 2) * 256 + n 3;
        prefix = n 4;
      };

  formatIPv4 =
    a:
    lib.concatMapStringsSep "." (shift: toString (lib.mod (a / pow2 shift) 256)) [
      24
      16
      8
      0
    ];

  # The network of an IPv4 CIDR (host bits cleared), as an integer.
  ipv4Network = c: c.address - lib.mod c.address (pow2 (32 - c.prefix));
in
rec {
  inherit
    dnsLabelRegex
    parseIPv4
    formatIPv4
    ipv4Network
    ;

  isDnsLabel = matches dnsLabelRegex;
  isCidr = s: matches ipv4Regex s || matches ipv6Regex s;
  isTailscaleTag = matches "tag:${dnsLabelRegex}";
  # Go durations in whole units, as gluetun reads them (`25s`, `1m30s`, `0`).
  isDuration = s: s == "0" || isInterval s;
  # A duration with its unit (a Flux interval: `0` would never reconcile).
  isInterval = matches "([0-9]{1,6}[smh])+";
  # `IP:PORT` or `:PORT` (gluetun's listening addresses); the Rust model checks the IP fully.
  isListenAddress = matches "([0-9.]*|[[][0-9A-Fa-f:.]+[]]):[0-9]{1,5}";

  # The canonical form of an IPv4 CIDR (`10.1.0.0/24` for `10.1.0.5/24`); IPv6 is returned as is.
  canonicalCidr =
    s:
    let
      c = parseIPv4 s;
    in
    if c == null then s else "${formatIPv4 (ipv4Network c)}/${toString c.prefix}";

  # True when two IPv4 CIDRs share an address (false for IPv6: the Rust check covers it).
  cidrsOverlap =
    a: b:
    let
      x = parseIPv4 a;
      y = parseIPv4 b;
      shorter = lib.min x.prefix y.prefix;
      net = c: ipv4Network (c // { prefix = shorter; });
    in
    x != null && y != null && net x == net y;

  # What a node does in the tailnet: its role is a shorthand for these defaults,
  # and `advertiseExitNode`/`acceptRoutes` (when not null) override them, so one
  # machine can route subnets, be an exit node and carry tags (crates/model
  # `TailscaleNode::exit_node`/`accepts_routes` are the Rust twin).
  capabilities =
    node:
    let
      defaults = import ./defaults.nix;
      orRole = value: roles: if value == null then builtins.elem node.role roles else value;
    in
    {
      routes = node.advertiseRoutes;
      exitNode = orRole (node.advertiseExitNode or null) defaults.exitNodeRoles;
      acceptRoutes = orRole (node.acceptRoutes or null) defaults.acceptRoutesRoles;
      tags = node.tags;
    };

  # Option types checked as the Rust model checks the value (a string of the right shape).
  types =
    let
      checked =
        name: description: check:
        lib.mkOptionType {
          inherit name description check;
          descriptionClass = "noun";
          merge = lib.mergeEqualOption;
        };
    in
    {
      dnsLabel = checked "dnsLabel" "DNS-1123 label (1-63 of a-z, 0-9 and -, starting and ending with a letter or digit)" isDnsLabel;
      cidr = checked "cidr" "CIDR (an address and a prefix length, like 10.1.0.0/24)" isCidr;
      duration = checked "duration" "duration (a number and a unit s, m or h, like 25s or 1m30s)" isDuration;
      interval = checked "interval" "interval (a number and a unit s, m or h, like 10m or 1h; not 0)" isInterval;
      listenAddress = checked "listenAddress" "listening address (IP:PORT, like 127.0.0.1:8000)" isListenAddress;
      tailscaleTag = checked "tailscaleTag" "Tailscale tag (tag:<name>, the name a DNS-1123 label)" isTailscaleTag;
    };
}
