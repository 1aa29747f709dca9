//! The gluetun container, as v3.41.3 wants it: shared by the proxies and the sidecars.
use crate::node::{Node, node};
use crate::resolve::Vpn;
use avalanche_model::{HealthCheck, VpnType};
use std::borrow::Cow;

/// The HTTP proxy port (gluetun `HTTPPROXY_LISTENING_ADDRESS`).
pub const HTTP_PROXY_PORT: u16 = 8888;
/// The Shadowsocks port, TCP and UDP (`SHADOWSOCKS_LISTENING_ADDRESS`).
pub const SHADOWSOCKS_PORT: u16 = 8388;
/// The Prometheus port of gluetun newer than v3.41.3 (`METRICS_TYPE=prometheus`).
pub const METRICS_PORT: u16 = 9090;
/// The only Shadowsocks cipher we configure (gluetun's default, AEAD).
pub const SHADOWSOCKS_CIPHER: &str = "chacha20-ietf-poly1305";
/// The container name, in proxies and sidecars.
pub const CONTAINER: &str = "gluetun";
/// The exec health check: the health server listens on 127.0.0.1:9999, which a
/// kubelet `httpGet` cannot reach.
pub const HEALTHCHECK: [&str; 2] = ["/gluetun-entrypoint", "healthcheck"];

/// `{ name, value }`.
pub fn env<'a>(name: &'a str, value: impl Into<Cow<'a, str>>) -> Node<'a> {
    node!({ "name": name, "value": value.into() })
}

/// `{ name, valueFrom.secretKeyRef }`.
pub fn env_secret<'a>(name: &'a str, secret: &'a str, key: &'a str) -> Node<'a> {
    node!({ "name": name, "valueFrom": { "secretKeyRef": { "name": secret, "key": key } } })
}

/// The provider, credentials and server selection variables.
pub fn vpn_env<'a>(vpn: &Vpn<'a>) -> Vec<Node<'a>> {
    // Room for what the proxies and sidecars append: no regrowth.
    let mut out = Vec::with_capacity(16);
    out.push(env(
        "VPN_SERVICE_PROVIDER",
        vpn.provider.service.value.as_str(),
    ));
    out.push(env("VPN_TYPE", vpn.provider.vpn_type.as_str()));
    let secret = vpn.secret_name;
    match vpn.provider.vpn_type.value {
        VpnType::Wireguard => {
            out.push(env_secret(
                "WIREGUARD_PRIVATE_KEY",
                secret,
                "WIREGUARD_PRIVATE_KEY",
            ));
            out.push(env_secret(
                "WIREGUARD_ADDRESSES",
                secret,
                "WIREGUARD_ADDRESSES",
            ));
        }
        VpnType::Openvpn => {
            out.push(env_secret("OPENVPN_USER", secret, "OPENVPN_USER"));
            out.push(env_secret("OPENVPN_PASSWORD", secret, "OPENVPN_PASSWORD"));
        }
    }
    if !vpn.countries.is_empty() {
        // gluetun reads every SERVER_* filter as a comma-separated list.
        let countries: Vec<&str> = vpn.countries.iter().map(|c| c.value.as_str()).collect();
        out.push(env("SERVER_COUNTRIES", countries.join(",")));
    }
    out
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

/// Least privilege: every capability dropped but `NET_ADMIN` (routes, firewall,
/// WireGuard), plus `NET_RAW` only for the ICMP health check.
pub fn security_context(health: HealthCheck, privileged: bool) -> Node<'static> {
    let mut add = vec!["NET_ADMIN"];
    if health == HealthCheck::Icmp {
        add.push("NET_RAW");
    }
    let mut sc = Node::map();
    if privileged {
        // Declared for runtimes that refuse gluetun the TUN device; a privileged
        // container sees the host's /dev, /dev/net/tun included.
        sc.insert("privileged", node!(true));
    } else {
        sc.insert("allowPrivilegeEscalation", node!(false));
    }
    sc.insert("capabilities", node!({ "drop": ["ALL"], "add": add }));
    sc.insert("seccompProfile", node!({ "type": "RuntimeDefault" }));
    sc
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

/// Requests and limits: gluetun idles around 20 MiB and a few millicores.
pub fn resources() -> Node<'static> {
    node!({
        "requests": { "cpu": "50m", "memory": "64Mi" },
        "limits": { "cpu": "1", "memory": "256Mi" },
    })
}
