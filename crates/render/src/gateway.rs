//! The host side of an egress gateway: a NixOS machine that sends one dedicated
//! user's traffic (a SOCKS5 proxy's) through a WireGuard tunnel, and nothing else.
//!
//! Each function renders one file's bytes from a resolved [`GatewayHost`]; the NixOS
//! module and the namespace test apply these same bytes, so what is tested is
//! what is deployed:
//! - [`nftables`]: `nft -f` ruleset — admits only the allowed clients to the proxy,
//!   marks the proxy user's packets, masquerades them on the tunnel, and the kill
//!   switch (the proxy user's packets leave only through the tunnel, to an allowed
//!   client, or to loopback);
//! - [`routing`]: `ip -batch` commands — the tunnel's IPv4 addresses, the IPv4
//!   policy rules and the tunnel table's IPv4 routes (the tunnel default route when
//!   the tunnel has an IPv4 address, and an `unreachable` default under it);
//! - [`routing6`]: `ip -6 -batch` commands — the same for IPv6 (a batch line cannot
//!   say `-6`, and a rule without an address is IPv4), skipped on a kernel without
//!   IPv6;
//! - [`route_watcher`]: a script restoring [`tunnel_routes`] whenever the interface
//!   comes back up;
//! - [`wireguard`]: `wg setconf` configuration, without the private key (it is set
//!   from the secret's file, `wg set IFACE private-key FILE`, and never rendered);
//! - [`SYSCTLS`] and [`proxy_args`] (microsocks bound to the listen address only).
//!
//! Why the pieces look like this:
//! - The kernel picks a connection's source address from the main table before the
//!   mark re-routes it, so the tunnel needs a masquerade (the WAN address must never
//!   reach the peer either).
//! - The WireGuard socket carries its own mark, whose rule sends it to the main table:
//!   encapsulated packets can never enter the tunnel table, whatever the WAN gateway
//!   becomes — the `wg-quick` way, with no endpoint-route watcher.
//! - Replies to clients use the main table (one rule per allowed client network), so
//!   the gateway needs no knowledge of its LAN interfaces.
//! - The proxy user's sockets find the tunnel table by their owner (`uidrange`
//!   rules) as well as by the mark: the socket's own route lookup then already
//!   meets the tunnel table, so a destination the tunnel cannot reach (a down
//!   tunnel, IPv6 without a tunnel IPv6 address) fails at `connect` with
//!   "unreachable" instead of hanging until the client's timeout (the mark alone
//!   re-routes the packet after the kernel has picked a route, and a failed
//!   re-route is a silent drop that TCP retransmits).
//! - Two kill-switch layers: an `unreachable` default per family in the tunnel
//!   table (a down tunnel interface loses its routes, and the lookup must not fall
//!   through to the main table), and the nftables drop after routing.
use crate::HEADER;
use avalanche_model::{Cidr, Network};
use std::fmt::Write as _;
use std::net::IpAddr;

/// The default WireGuard persistent keepalive (seconds): a NAT on the path forgets
/// an idle UDP mapping in 30 s or more, after which the peer cannot reach us.
pub const DEFAULT_PERSISTENT_KEEPALIVE: u16 =
    avalanche_model::defaults::GATEWAY_PERSISTENT_KEEPALIVE;

/// Policy-rule priorities: before the main table (32766), after the local one (0).
const RULE_SOCKET: u32 = 10000;
const RULE_CLIENTS: u32 = 10001;
const RULE_TUNNEL: u32 = 10002;

/// Kernel settings the rules need: reverse-path checks must see the restored mark,
/// or the replies arriving on the tunnel are dropped as spoofed.
pub const SYSCTLS: &[(&str, &str)] = &[("net.ipv4.conf.all.src_valid_mark", "1")];

/// One egress gateway as its host applies it: every name, address and number resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayHost {
    /// The gateway's name (a DNS-1123 label): names the nftables table.
    pub name: String,
    /// The LAN address the proxy listens on, and the only one it is admitted at.
    pub listen: IpAddr,
    /// The SOCKS5 port.
    pub socks_port: u16,
    /// The HTTP CONNECT port (tinyproxy), if any.
    pub http_port: Option<u16>,
    /// The WireGuard interface (at most 15 bytes).
    pub interface: String,
    /// The WireGuard peer.
    pub tunnel: Tunnel,
    /// The networks admitted to the proxy; the proxy user may answer only them outside the tunnel.
    pub allowed_clients: Vec<Cidr>,
    /// The routing table holding the tunnel default route.
    pub routing_table: u32,
    /// The mark of the proxy user's packets, which selects `routing_table`.
    pub fwmark: u32,
    /// The mark of the WireGuard socket's (encapsulated) packets: always the main table.
    pub socket_fwmark: u32,
    /// The numeric uid the proxy runs as (numeric: the ruleset must load, and be
    /// checked, where the user does not exist yet).
    pub proxy_uid: u32,
    /// The WireGuard exporter's port when the gateway is monitored: admitted like
    /// the proxy's (only the allowed clients, only at the listen address).
    pub exporter_port: Option<u16>,
}

/// The WireGuard peer of a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    /// `host:port` of the peer.
    pub endpoint: String,
    /// The peer's public key (base64).
    pub public_key: String,
    /// This side's tunnel addresses, with their prefixes (`10.99.0.2/32`), at least one.
    pub addresses: Vec<Cidr>,
    /// Seconds between keepalives; 0 turns them off.
    pub persistent_keepalive: u16,
    /// The tunnel MTU.
    pub mtu: u16,
}

/// The host side of the declared gateway `name`, defaults applied: `allowedClients`
/// defaults to the pod CIDR and the nodes' networks (pods reach the LAN from
/// their node's address when the CNI masquerades), the WireGuard socket's mark
/// is `fwmark + 1`.
pub fn host(network: &Network, name: &str) -> Option<GatewayHost> {
    let gw = network.egress.gateways.get(name)?;
    let allowed_clients = match &gw.allowed_clients {
        Some(list) => list.iter().map(|c| c.value).collect(),
        None => std::iter::once(network.kubernetes.pod_cidr.value)
            .chain(network.kubernetes.node_cidrs.iter().map(|c| c.value))
            .collect(),
    };
    Some(GatewayHost {
        name: name.to_owned(),
        listen: gw.listen.value,
        socks_port: gw.socks_port,
        http_port: gw.http_port.as_ref().map(|p| p.value),
        interface: gw.interface.value.clone(),
        tunnel: Tunnel {
            endpoint: gw.tunnel.endpoint.value.clone(),
            public_key: gw.tunnel.public_key.value.clone(),
            addresses: gw.tunnel.address.iter().map(|a| a.value).collect(),
            persistent_keepalive: gw.tunnel.persistent_keepalive,
            mtu: gw.tunnel.mtu,
        },
        allowed_clients,
        routing_table: gw.routing_table.value,
        fwmark: gw.fwmark.value,
        socket_fwmark: gw.fwmark.value.saturating_add(1),
        proxy_uid: avalanche_model::defaults::GATEWAY_PROXY_UID,
        exporter_port: gw
            .monitoring
            .then_some(avalanche_model::defaults::GATEWAY_EXPORTER_PORT),
    })
}

/// The name of the nftables table of gateway `name`.
pub fn table_name(name: &str) -> String {
    // nft names are identifiers: a DNS-1123 label's `-` becomes `_`.
    format!("avalanche_gateway_{}", name.replace('-', "_"))
}

fn clients(gw: &GatewayHost, v4: bool) -> Vec<String> {
    let mut out: Vec<String> = gw
        .allowed_clients
        .iter()
        .filter(|c| c.0.addr().is_ipv4() == v4)
        .map(|c| c.canonical().to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The nftables ruleset (`nft -f`): one table of its own, so it composes with the
/// host's firewall (a packet must pass every table's base chains).
pub fn nftables(gw: &GatewayHost) -> String {
    let mut s = String::new();
    let uid = gw.proxy_uid;
    let mark = gw.fwmark;
    let iface = &gw.interface;
    // One port, or the set: `tcp dport 1080` / `tcp dport { 1080, 8888, 9586 }`
    // (the HTTP CONNECT port, the exporter's when monitored).
    let ports: Vec<String> = [Some(gw.socks_port), gw.http_port, gw.exporter_port]
        .into_iter()
        .flatten()
        .map(|p| p.to_string())
        .collect();
    let port = match ports.as_slice() {
        [one] => one.clone(),
        _ => format!("{{ {} }}", ports.join(", ")),
    };
    let (v4, v6) = (clients(gw, true), clients(gw, false));
    let (family, set) = if gw.listen.is_ipv4() {
        ("ip", "clients4")
    } else {
        ("ip6", "clients6")
    };
    let _ = writeln!(s, "{HEADER}# egress gateway `{}`", gw.name);
    let table = table_name(&gw.name);
    // Declare, delete, define: loading the file again replaces the table in one
    // transaction instead of appending a second copy of every rule.
    let _ = writeln!(s, "table inet {table} {{\n}}\ndelete table inet {table}");
    let _ = writeln!(s, "table inet {table} {{");
    for (set, kind, elems) in [
        ("clients4", "ipv4_addr", &v4),
        ("clients6", "ipv6_addr", &v6),
    ] {
        let _ = writeln!(s, "  set {set} {{\n    type {kind}\n    flags interval");
        if !elems.is_empty() {
            let _ = writeln!(s, "    elements = {{ {} }}", elems.join(", "));
        }
        s.push_str("  }\n");
    }
    // Admission: only the allowed clients, only at the listen address; the others
    // get a reset (refused fast, not left to time out).
    let _ = writeln!(
        s,
        "  chain proxy_admit {{\n    type filter hook input priority filter; policy accept;\n    \
         {family} daddr {listen} tcp dport {port} {family} saddr @{set} accept\n    \
         tcp dport {port} reject with tcp reset\n  }}",
        listen = gw.listen,
    );
    // The mark is set on output (a `route` chain re-routes marked packets) and kept
    // in conntrack: the replies get it back before routing, and so do the packets a
    // proxy connection sends once its socket is gone (the ACK of TIME_WAIT, a
    // reset), which have no owner to match and would otherwise leave via the WAN.
    let _ = writeln!(
        s,
        "  chain proxy_mark {{\n    type route hook output priority mangle; policy accept;\n    \
         meta skuid {uid} meta mark set {mark:#x} ct mark set meta mark\n    \
         ct mark {mark:#x} meta mark set ct mark\n  }}"
    );
    let _ = writeln!(
        s,
        "  chain reply_mark {{\n    type filter hook prerouting priority mangle; policy accept;\n    \
         ct mark {mark:#x} meta mark set ct mark\n  }}"
    );
    // After routing, on the final output interface (the `output` hook still sees
    // the interface chosen before the mark re-routed the packet).
    let _ = writeln!(
        s,
        "  chain kill_switch {{\n    type filter hook postrouting priority filter; policy accept;\n    \
         meta mark {mark:#x} oifname {{ \"lo\", \"{iface}\" }} accept\n    \
         meta mark {mark:#x} ip daddr @clients4 accept\n    \
         meta mark {mark:#x} ip6 daddr @clients6 accept\n    \
         meta mark {mark:#x} counter drop\n    \
         meta skuid {uid} counter drop\n  }}"
    );
    let _ = writeln!(
        s,
        "  chain tunnel_nat {{\n    type nat hook postrouting priority srcnat; policy accept;\n    \
         oifname \"{iface}\" meta mark {mark:#x} masquerade\n  }}"
    );
    s.push_str("}\n");
    s
}

/// The tunnel's addresses of one family (`v4`), as written.
fn tunnel_addresses(gw: &GatewayHost, v4: bool) -> impl Iterator<Item = &Cidr> {
    gw.tunnel
        .addresses
        .iter()
        .filter(move |a| a.0.addr().is_ipv4() == v4)
}

/// The policy rules of one family: the WireGuard socket's packets to the main
/// table; the proxy user's (by mark, and by owner for its sockets' own lookup) to
/// the main table for the allowed clients, to the tunnel table otherwise.
fn rules(gw: &GatewayHost, v4: bool) -> String {
    let mut s = String::new();
    let (table, uid) = (gw.routing_table, gw.proxy_uid);
    let _ = writeln!(
        s,
        "rule add priority {RULE_SOCKET} fwmark {:#x} lookup main",
        gw.socket_fwmark
    );
    let selectors = [
        format!("fwmark {:#x}", gw.fwmark),
        format!("uidrange {uid}-{uid}"),
    ];
    for client in clients(gw, v4) {
        for selector in &selectors {
            let _ = writeln!(
                s,
                "rule add priority {RULE_CLIENTS} {selector} to {client} lookup main"
            );
        }
    }
    for selector in &selectors {
        let _ = writeln!(
            s,
            "rule add priority {RULE_TUNNEL} {selector} lookup {table}"
        );
    }
    s
}

/// The policy routing, as `ip -batch` commands, run once the WireGuard interface
/// exists: the addresses, the IPv4 rules, the tunnel table of both families.
/// The IPv6 rules are [`routing6`].
pub fn routing(gw: &GatewayHost) -> String {
    let mut s = String::new();
    let iface = &gw.interface;
    let _ = writeln!(s, "{HEADER}# egress gateway `{}`", gw.name);
    for address in tunnel_addresses(gw, true) {
        let _ = writeln!(s, "address add {address} dev {iface}");
    }
    let _ = writeln!(s, "link set dev {iface} mtu {} up", gw.tunnel.mtu);
    s.push_str(&rules(gw, true));
    s.push_str(&tunnel_routes(gw, true));
    s
}

/// The IPv6 policy routing, as `ip -6 -batch` commands (after [`routing`]): the
/// tunnel's IPv6 addresses, rules and routes. Always, even without a tunnel IPv6
/// address: the proxy user's IPv6 then meets the `unreachable` default and fails
/// at once. Only a kernel without IPv6 (`/proc/net/if_inet6` absent) skips it.
pub fn routing6(gw: &GatewayHost) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{HEADER}# egress gateway `{}`: IPv6 (`ip -6 -batch`)",
        gw.name
    );
    s.push_str(&rules(gw, false));
    s.push_str(&tunnel_routes(gw, false));
    s
}

/// The tunnel table's routes of one family (`ip -batch`, or `ip -6 -batch` for
/// IPv6): what the interface loses when it goes down (the `unreachable` default
/// stays), so what [`route_watcher`] re-applies when it comes back up. Idempotent
/// (`replace`), and no policy rule: those survive a link flap, and adding one
/// again duplicates it.
pub fn tunnel_routes(gw: &GatewayHost, v4: bool) -> String {
    let (iface, table) = (&gw.interface, gw.routing_table);
    let mut s = String::new();
    if !v4 {
        // IPv6 addresses go with the link (IPv4 ones stay); no duplicate address
        // detection on a point-to-point tunnel: the address is usable at once.
        for address in tunnel_addresses(gw, false) {
            let _ = writeln!(s, "address replace {address} dev {iface} nodad");
        }
    }
    if tunnel_addresses(gw, v4).next().is_some() {
        let _ = writeln!(s, "route replace default dev {iface} table {table}");
    }
    let _ = writeln!(
        s,
        "route replace unreachable default metric 4294967295 table {table}"
    );
    s
}

/// How long the watcher waits for a link event before it checks anyway: the bound
/// on a missed event (one between its first check and its listener's start).
pub const WATCHER_RECHECK_S: u32 = 30;

/// A bash script that restores the [`tunnel_routes`] whenever the WireGuard interface
/// is up: at start, on every link event of the interface (`ip monitor`), and every
/// [`WATCHER_RECHECK_S`] seconds without one. A down interface loses the tunnel
/// table's default route and nothing else brings it back: after a link flap the
/// kill switch would refuse every request for good. Needs `ip` on `PATH` and
/// `CAP_NET_ADMIN`; exits non-zero when the monitor ends (the unit restarts it).
///
/// A script applying rendered routes, not systemd-networkd: the module sets the
/// tunnel up with `ip`, and the namespace test can run this very file where no
/// systemd runs.
pub fn route_watcher(gw: &GatewayHost) -> String {
    let iface = &gw.interface;
    let mut s = String::new();
    let _ = writeln!(s, "{HEADER}# egress gateway `{}`", gw.name);
    let _ = writeln!(
        s,
        "# Restores the tunnel table's routes whenever {iface} comes up: a down interface loses them."
    );
    s.push_str("set -u\n");
    // `UP` between the flags' brackets or commas (not `LOWER_UP`).
    let _ = writeln!(
        s,
        "restore() {{\n  case \"$(ip -o link show dev {iface} 2>/dev/null)\" in\n    \
         *[\\<,]UP[,\\>]*) ;;\n    *) return 0 ;;\n  esac\n  \
         ip -batch - <<'ROUTES' || echo \"{iface} is up, but its IPv4 routes could not be restored\" >&2\n\
         {}ROUTES\n  \
         [ -e /proc/net/if_inet6 ] || return 0\n  \
         ip -6 -batch - <<'ROUTES' || echo \"{iface} is up, but its IPv6 routes could not be restored\" >&2\n\
         {}ROUTES\n}}",
        tunnel_routes(gw, true),
        tunnel_routes(gw, false)
    );
    let _ = writeln!(
        s,
        "restore\nip -o monitor link dev {iface} | while :; do\n  \
         if read -r -t {WATCHER_RECHECK_S} _; then\n    restore\n  \
         elif [ $? -gt 128 ]; then\n    # No event for a while: check anyway.\n    restore\n  \
         else\n    echo \"the monitor of {iface} ended\" >&2\n    exit 1\n  fi\ndone"
    );
    s
}

/// The `wg setconf` configuration. No `PrivateKey`: set it from the secret's file.
pub fn wireguard(gw: &GatewayHost) -> String {
    let t = &gw.tunnel;
    let mut s = String::new();
    let _ = writeln!(s, "{HEADER}# egress gateway `{}`", gw.name);
    let _ = writeln!(s, "[Interface]\nFwMark = {:#x}\n", gw.socket_fwmark);
    let _ = writeln!(
        s,
        "[Peer]\nPublicKey = {}\nEndpoint = {}\nAllowedIPs = 0.0.0.0/0, ::/0",
        t.public_key, t.endpoint
    );
    if t.persistent_keepalive > 0 {
        let _ = writeln!(s, "PersistentKeepalive = {}", t.persistent_keepalive);
    }
    s
}

/// tinyproxy's configuration for the HTTP CONNECT port (`None` without one): bound
/// to the listen address, admitting only the allowed clients (the nftables table
/// does too), CONNECT to any port, no `Via` header. Runs as the proxy user (its
/// packets are marked like microsocks'), in the foreground, logging to stderr.
pub fn tinyproxy(gw: &GatewayHost) -> Option<String> {
    let port = gw.http_port?;
    let mut s = String::new();
    let _ = writeln!(s, "{HEADER}# egress gateway `{}`", gw.name);
    let _ = writeln!(s, "Port {port}\nListen {}", gw.listen);
    // Idle CONNECT tunnels (an IRC bot's) must live for hours: tinyproxy's
    // timeout is per read, so a day.
    s.push_str("Timeout 86400\nMaxClients 256\nDisableViaHeader Yes\nLogLevel Notice\n");
    for client in clients(gw, true).into_iter().chain(clients(gw, false)) {
        let _ = writeln!(s, "Allow {client}");
    }
    Some(s)
}

/// microsocks' arguments (the program is the caller's: a store path, or PATH):
/// bound to the listen address only, never to all addresses.
pub fn proxy_args(gw: &GatewayHost) -> Vec<String> {
    vec![
        "-i".into(),
        gw.listen.to_string(),
        "-p".into(),
        gw.socks_port.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> GatewayHost {
        GatewayHost {
            name: "home-vps".into(),
            listen: "10.1.0.1".parse().expect("an address"),
            socks_port: 1080,
            http_port: None,
            interface: "wg-home-vps".into(),
            tunnel: Tunnel {
                endpoint: "exit.example.org:51820".into(),
                public_key: "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=".into(),
                addresses: vec![Cidr::parse("10.99.0.2/32").expect("a CIDR")],
                persistent_keepalive: DEFAULT_PERSISTENT_KEEPALIVE,
                mtu: 1420,
            },
            allowed_clients: vec![
                Cidr::parse("10.42.0.0/16").expect("a CIDR"),
                Cidr::parse("10.1.0.5/24").expect("a CIDR"),
                Cidr::parse("fd00::/64").expect("a CIDR"),
            ],
            routing_table: 51820,
            fwmark: 0xca6c,
            socket_fwmark: 0xca6d,
            proxy_uid: 990,
            exporter_port: None,
        }
    }

    #[test]
    fn the_declared_gateway_resolves_with_defaults() {
        let text = r#"{ avalanche.network = {
          egress.gateways.home = {
            host = "routy";
            listen = "10.1.0.1";
            tunnel = {
              endpoint = "exit.example.org:51820";
              publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
              address = "10.99.0.2/32";
              privateKeySecret = "routy-wireguard";
            };
          };
        }; }"#;
        let mut sources = avalanche_diag::SourceMap::default();
        let value =
            avalanche_nix::read_source(std::path::Path::new("network.nix"), text, &mut sources)
                .expect("the test input reads");
        let (network, diagnostics) = avalanche_model::decode(&value);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let network = network.expect("a network");
        let gw = host(&network, "home").expect("the gateway");
        assert_eq!(gw.interface, "wg-home");
        assert_eq!(gw.allowed_clients, [network.kubernetes.pod_cidr.value]);
        assert_eq!(gw.socks_port, 1080);
        assert_eq!(gw.tunnel.persistent_keepalive, DEFAULT_PERSISTENT_KEEPALIVE);
        assert_eq!(gw.socket_fwmark, gw.fwmark + 1);
        assert!(host(&network, "elsewhere").is_none());
        assert_eq!(
            gw.tunnel.addresses,
            [Cidr::parse("10.99.0.2/32").expect("a CIDR")]
        );
    }

    fn decode_tunnel_address(address: &str) -> (Option<Network>, Vec<avalanche_diag::Diagnostic>) {
        let text = format!(
            r#"{{ avalanche.network.egress.gateways.home = {{
              host = "routy"; listen = "10.1.0.1";
              tunnel = {{ endpoint = "exit.example.org:51820";
                publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
                address = {address}; privateKeySecret = "routy-wireguard"; }};
            }}; }}"#
        );
        let mut sources = avalanche_diag::SourceMap::default();
        let value =
            avalanche_nix::read_source(std::path::Path::new("network.nix"), &text, &mut sources)
                .expect("the test input reads");
        avalanche_model::decode(&value)
    }

    #[test]
    fn a_tunnel_address_may_be_a_list_never_an_empty_one() {
        let (network, diagnostics) =
            decode_tunnel_address(r#"[ "10.2.0.2/32" "2a07:b944::2:2/128" ]"#);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let gw = host(&network.expect("a network"), "home").expect("the gateway");
        assert_eq!(gw.tunnel.addresses.len(), 2);
        assert!(
            tunnel_routes(&gw, false).contains("route replace default dev wg-home table 51820\n")
        );

        let (_, diagnostics) = decode_tunnel_address("[ ]");
        assert!(
            diagnostics
                .iter()
                .any(|d| d.is_error() && d.message.contains("tunnel.address` is empty")),
            "{diagnostics:?}"
        );
        let (_, diagnostics) = decode_tunnel_address(r#"[ "10.2.0.2" ]"#);
        assert!(
            diagnostics
                .iter()
                .any(|d| d.is_error() && d.message.contains("is not a CIDR")),
            "{diagnostics:?}"
        );
    }

    #[test]
    fn nftables_ruleset() {
        insta::assert_snapshot!(nftables(&example()));
    }

    #[test]
    fn routing_batch() {
        insta::assert_snapshot!(routing(&example()));
    }

    #[test]
    fn routing6_batch() {
        insta::assert_snapshot!(routing6(&example()));
    }

    /// With an IPv6 tunnel address: the address (again after a link flap) and an
    /// IPv6 default through the tunnel; an IPv6-only tunnel has no IPv4 default.
    #[test]
    fn an_ipv6_tunnel_address_routes_ipv6_through_the_tunnel() {
        let mut gw = example();
        assert!(!tunnel_routes(&gw, false).contains(" dev "));
        gw.tunnel
            .addresses
            .push(Cidr::parse("2a07:b944::2:2/128").expect("a CIDR"));
        let routes = tunnel_routes(&gw, false);
        assert_eq!(
            routes,
            "address replace 2a07:b944::2:2/128 dev wg-home-vps nodad\n\
             route replace default dev wg-home-vps table 51820\n\
             route replace unreachable default metric 4294967295 table 51820\n"
        );
        assert!(routing6(&gw).ends_with(&routes));
        assert!(!routing(&gw).contains("2a07"));
        gw.tunnel.addresses.remove(0);
        assert!(!tunnel_routes(&gw, true).contains(" dev "));
        assert!(!routing(&gw).contains("address add"));
    }

    #[test]
    fn route_watcher_script() {
        let script = route_watcher(&example());
        // Routes only: a rule added again would be a duplicate.
        assert!(!script.contains("rule "), "{script}");
        insta::assert_snapshot!(script);
    }

    #[test]
    fn wireguard_config_has_no_private_key() {
        let conf = wireguard(&example());
        assert!(!conf.contains("PrivateKey"));
        insta::assert_snapshot!(conf);
    }

    #[test]
    fn an_http_port_is_admitted_and_served_by_tinyproxy() {
        let mut gw = example();
        assert_eq!(tinyproxy(&gw), None);
        gw.http_port = Some(8888);
        let rules = nftables(&gw);
        assert!(
            rules
                .contains("ip daddr 10.1.0.1 tcp dport { 1080, 8888 } ip saddr @clients4 accept\n")
                && rules.contains("tcp dport { 1080, 8888 } reject with tcp reset\n"),
            "{rules}"
        );
        insta::assert_snapshot!(tinyproxy(&gw).unwrap_or_default());
    }

    /// A monitored gateway's exporter is admitted exactly as its proxy: the same
    /// clients at the same address, a reset for anyone else.
    #[test]
    fn a_monitored_gateways_exporter_is_admitted_like_its_proxy() {
        let mut gw = example();
        gw.exporter_port = Some(9586);
        let rules = nftables(&gw);
        assert!(
            rules
                .contains("ip daddr 10.1.0.1 tcp dport { 1080, 9586 } ip saddr @clients4 accept\n")
                && rules.contains("tcp dport { 1080, 9586 } reject with tcp reset\n"),
            "{rules}"
        );
        gw.http_port = Some(8888);
        assert!(
            nftables(&gw).contains("tcp dport { 1080, 8888, 9586 } reject with tcp reset\n"),
            "{rules}"
        );
    }

    #[test]
    fn keepalive_zero_is_off() {
        let mut gw = example();
        gw.tunnel.persistent_keepalive = 0;
        assert!(!wireguard(&gw).contains("PersistentKeepalive"));
    }

    #[test]
    fn proxy_binds_the_listen_address_only() {
        assert_eq!(proxy_args(&example()), ["-i", "10.1.0.1", "-p", "1080"]);
    }
}
