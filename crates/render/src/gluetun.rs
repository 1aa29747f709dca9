//! The gluetun container, shared by the proxies and the sidecars: its
//! environment (only what the declared release reads, see
//! [`avalanche_model::gluetun`]), its capabilities (exactly what gluetun does at
//! start needs), the TUN device, probes and resources.
use crate::node::{Node, node};
use avalanche_model::gluetun::{self as table, Version};
use avalanche_model::resolve::Vpn;
use avalanche_model::{HealthCheck, PortTarget, TunDevice, VpnType};
use std::borrow::Cow;

/// The HTTP proxy port (gluetun `HTTPPROXY_LISTENING_ADDRESS`).
pub const HTTP_PROXY_PORT: u16 = 8888;
/// The Shadowsocks port, TCP and UDP (`SHADOWSOCKS_LISTENING_ADDRESS`).
pub const SHADOWSOCKS_PORT: u16 = 8388;
/// The only Shadowsocks cipher we configure (gluetun's default, AEAD).
pub const SHADOWSOCKS_CIPHER: &str = "chacha20-ietf-poly1305";
/// The container name, in proxies and sidecars.
pub const CONTAINER: &str = table::CONTAINER;
/// The exec health check: the health server listens on 127.0.0.1:9999, which a
/// kubelet `httpGet` cannot reach.
pub const HEALTHCHECK: [&str; 2] = ["/gluetun-entrypoint", "healthcheck"];
/// Where gluetun opens (or, missing, creates with `mknod c 10 200`) the TUN device.
pub const TUN_PATH: &str = "/dev/net/tun";
/// Where gluetun writes the forwarded port (`VPN_PORT_FORWARDING_STATUS_FILE`'s default).
pub const PORT_FILE: &str = "/tmp/gluetun/forwarded_port";

/// What one gluetun container is made of.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    /// Provider, credentials, countries.
    pub vpn: Vpn<'a>,
    /// The release of the declared image.
    pub version: Version,
    /// `healthCheck`.
    pub health: HealthCheck,
    /// How it gets `/dev/net/tun`.
    pub tun: TunDevice,
    /// `WIREGUARD_PERSISTENT_KEEPALIVE_INTERVAL`.
    pub keepalive: &'a str,
    /// `HTTP_CONTROL_SERVER_ADDRESS`.
    pub control_server: &'a str,
    /// `VPN_PORT_FORWARDING=on`.
    pub port_forwarding: bool,
}

/// A gluetun environment under construction: a variable the declared release does
/// not read is left out (gluetun ignores unknown variables silently, so writing
/// one would only suggest a setting that does nothing).
pub struct Env<'a> {
    version: Version,
    list: Vec<Node<'a>>,
}

impl<'a> Env<'a> {
    /// `name = value`, when the release reads `name`.
    pub fn set(&mut self, name: &'a str, value: impl Into<Cow<'a, str>>) {
        debug_assert!(table::var(name).is_some(), "{name} is not in the table");
        if table::reads(self.version, name) {
            self.list
                .push(node!({ "name": name, "value": value.into() }));
        }
    }

    /// `name` from key `key` of Secret `secret`, when the release reads `name`.
    pub fn secret(&mut self, name: &'a str, secret: &'a str, key: &'a str) {
        debug_assert!(table::var(name).is_some(), "{name} is not in the table");
        if table::reads(self.version, name) {
            self.list.push(
                node!({ "name": name, "valueFrom": { "secretKeyRef": { "name": secret, "key": key } } }),
            );
        }
    }

    /// The `env:` list.
    pub fn finish(self) -> Vec<Node<'a>> {
        self.list
    }
}

/// `{ name, value }`, for containers that are not gluetun.
pub fn env<'a>(name: &'a str, value: impl Into<Cow<'a, str>>) -> Node<'a> {
    node!({ "name": name, "value": value.into() })
}

/// The variables every gluetun gets: provider, credentials, servers, keepalive,
/// the file owner, the control server and the small health check.
pub fn base_env<'a>(s: &Spec<'a>) -> Env<'a> {
    let mut e = Env {
        version: s.version,
        list: Vec::with_capacity(20),
    };
    e.set(
        "VPN_SERVICE_PROVIDER",
        s.vpn.provider.service.value.as_str(),
    );
    e.set("VPN_TYPE", s.vpn.provider.vpn_type.as_str());
    let secret = s.vpn.secret_name;
    for key in table::credential_keys(s.vpn.provider.vpn_type.value) {
        e.secret(key, secret, s.vpn.key(key));
    }
    if s.vpn.provider.vpn_type.value == VpnType::Wireguard {
        // gluetun's default is 0 (off): NAT and conntrack state on the way to the
        // server expire and an idle tunnel stops receiving. The variable without
        // `_INTERVAL` does not exist and would be ignored.
        e.set("WIREGUARD_PERSISTENT_KEEPALIVE_INTERVAL", s.keepalive);
    }
    if !s.vpn.countries.is_empty() {
        // gluetun reads every SERVER_* filter as a comma-separated list.
        let countries: Vec<&str> = s.vpn.countries.iter().map(|c| c.value.as_str()).collect();
        e.set("SERVER_COUNTRIES", countries.join(","));
    }
    if s.port_forwarding {
        e.set("VPN_PORT_FORWARDING", "on");
        // Only servers that forward a port; gluetun refuses the filter (exits at
        // start) for providers without such servers.
        if table::has_port_forward_only_servers(&s.vpn.provider.service.value) {
            e.set("PORT_FORWARD_ONLY", "on");
        }
    }
    // gluetun chowns the forwarded-port file (and OpenVPN's files) to PUID:PGID, 1000
    // by default: that needs CAP_CHOWN, and OpenVPN would then drop to that user
    // (CAP_SETUID). As root's own files they need neither; the port file stays
    // world-readable (0644).
    e.set("PUID", "0");
    e.set("PGID", "0");
    // The control server's default role may `PUT /v1/vpn/status` without auth, and
    // gluetun's firewall admits the pod subnet: loopback unless declared otherwise.
    e.set("HTTP_CONTROL_SERVER_ADDRESS", s.control_server);
    e
}

/// The small health check, last in the list (after what proxies and sidecars add).
pub fn health_env(e: &mut Env<'_>, health: HealthCheck) {
    e.set("HEALTH_SMALL_CHECK_TYPE", health.as_str());
}

/// The capabilities gluetun needs at start, and nothing more:
/// - `NET_ADMIN`: routes, ip rules, the nftables firewall, the WireGuard link;
/// - `NET_BIND_SERVICE`: its DNS server binds :53 (below the default
///   `ip_unprivileged_port_start`, which runtimes do not all lower);
/// - `MKNOD` with `tunDevice = "mknod"`: it creates `/dev/net/tun`;
/// - `NET_RAW` for the ICMP small health check (the releases that have it).
///
/// `NET_RAW` is not needed by iptables-nft; `CHOWN` is not needed with `PUID=0`.
pub fn capabilities(s: &Spec<'_>) -> Vec<&'static str> {
    let mut add = vec!["NET_ADMIN", "NET_BIND_SERVICE"];
    if s.tun == TunDevice::Mknod {
        add.push("MKNOD");
    }
    if s.health == HealthCheck::Icmp && table::reads(s.version, "HEALTH_SMALL_CHECK_TYPE") {
        add.push("NET_RAW");
    }
    add
}

/// Every capability dropped but [`capabilities`]; privileged only when declared.
pub fn security_context(s: &Spec<'_>) -> Node<'static> {
    let mut sc = Node::map();
    if s.tun == TunDevice::Privileged {
        // Declared for runtimes that refuse both the hostPath device and MKNOD: a
        // privileged container has every capability and the host's /dev.
        sc.insert("privileged", node!(true));
    } else {
        sc.insert("allowPrivilegeEscalation", node!(false));
    }
    sc.insert(
        "capabilities",
        node!({ "drop": ["ALL"], "add": capabilities(s) }),
    );
    sc.insert("seccompProfile", node!({ "type": "RuntimeDefault" }));
    sc
}

/// The `hostPath` volume of the node's TUN device (`tunDevice = "host-device"`).
pub fn tun_volume(name: &str) -> Node<'_> {
    node!({ "name": name, "hostPath": { "path": TUN_PATH, "type": "CharDevice" } })
}

/// Its mount, where gluetun looks for it.
pub fn tun_mount(name: &str) -> Node<'_> {
    node!({ "name": name, "mountPath": TUN_PATH })
}

/// An exec probe on gluetun's own health check.
pub fn probe(period: u32, failures: u32) -> Node<'static> {
    node!({
        "exec": { "command": HEALTHCHECK },
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    })
}

/// Up to 3 minutes to connect the first time.
pub fn startup_probe() -> Node<'static> {
    probe(5, 36)
}

/// Deletes the ip rules a previous, abruptly stopped gluetun left in the pod's
/// network namespace (gluetun-wiki, Kubernetes page): without it a restarted
/// container fails with `adding IPv6 rule: file exists`.
pub fn post_start_cleanup() -> Node<'static> {
    node!({
        "postStart": {
            "exec": {
                "command": ["/bin/sh", "-c", "(ip rule del table 51820; ip -6 rule del table 51820) || true"]
            }
        }
    })
}

/// Where the generated qBittorrent commands keep the port to set (written by the
/// up command, emptied by the down command), and the lock that keeps their sync
/// loop to one: in the gluetun container's own `/tmp`, new with every container.
const QBITTORRENT_PORT_FILE: &str = "/tmp/avalanche-qbittorrent-port";
const QBITTORRENT_SYNC_LOCK: &str = "/tmp/avalanche-qbittorrent-sync";

/// `VPN_PORT_FORWARDING_UP_COMMAND` for `forwardedPortTo`. gluetun (v3.41
/// `internal/portforward/service`) replaces `{{PORT}}`/`{{PORTS}}`, splits the
/// command like a shell (quotes, no expansion), runs it without a shell once per
/// new port, and waits for it: its NAT-PMP keep-alive starts only when the
/// command returns (ProtonVPN maps for 60 s and refreshes every 45 s, so the
/// command must return within seconds).
///
/// qBittorrent: its Web API `POST /api/v2/app/setPreferences` with the form field
/// `json={"listen_port":<port>}`, from 127.0.0.1 (the pod's loopback), which the
/// WebUI accepts without a session when "Bypass authentication for clients on
/// localhost" is on. The app starts after gluetun (a native sidecar passes its
/// startup probe first), so the first port comes before the WebUI listens: the
/// request must be retried after the command has returned. gluetun runs as PID 1
/// and never reaps a process it did not start, so a retry loop that ends after
/// its command returned would stay a zombie, one per port change. Hence one loop
/// per container, which never ends: the command writes the port to a file and
/// starts the loop unless it runs already (`mkdir` is the lock); every 5 s the
/// loop sets a port it has not set yet (`wget -T 10`). Its own children (`wget`,
/// `sleep`) it reaps itself. `wget` (GNU in the image, BusyBox elsewhere) and
/// `/bin/sh` are in gluetun's image; only options both wgets know are used.
pub fn port_forwarding_up_command(target: &PortTarget) -> Cow<'_, str> {
    match target {
        PortTarget::Command { up, .. } => Cow::Borrowed(up),
        PortTarget::Qbittorrent { web_ui_port } => Cow::Owned(format!(
            "/bin/sh -c 'echo {{{{PORT}}}} > {QBITTORRENT_PORT_FILE}; \
             mkdir {QBITTORRENT_SYNC_LOCK} 2>/dev/null || exit 0; \
             (a=; while :; do p=; read -r p < {QBITTORRENT_PORT_FILE}; \
             if [ -n \"$p\" ] && [ \"$p\" != \"$a\" ] && \
             wget -q -T 10 -O /dev/null --post-data \"json={{\\\"listen_port\\\":$p}}\" \
             http://127.0.0.1:{web_ui_port}/api/v2/app/setPreferences; then a=$p; fi; \
             sleep 5; done) </dev/null >/dev/null 2>&1 &'"
        )),
    }
}

/// `VPN_PORT_FORWARDING_DOWN_COMMAND` for `forwardedPortTo`: gluetun runs it (with
/// the old ports, for at most 60 s, waiting for it) when port forwarding stops,
/// before it closes the ports in its firewall. qBittorrent: the pending port is
/// forgotten, so the sync loop never sets a port that is no longer forwarded; the
/// app keeps listening on the old one until the next up command gives it the new.
pub fn port_forwarding_down_command(target: &PortTarget) -> Option<Cow<'_, str>> {
    match target {
        PortTarget::Command { down, .. } => down.as_deref().map(Cow::Borrowed),
        PortTarget::Qbittorrent { .. } => Some(Cow::Owned(format!(
            "/bin/sh -c ': > {QBITTORRENT_PORT_FILE}'"
        ))),
    }
}

/// Requests and limits: gluetun idles around 20 MiB and a few millicores.
pub fn resources() -> Node<'static> {
    node!({
        "requests": { "cpu": "50m", "memory": "64Mi" },
        "limits": { "cpu": "1", "memory": "256Mi" },
    })
}
