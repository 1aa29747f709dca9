//! Monitoring that works with what exists: no gluetun release in the version
//! table has a Prometheus endpoint, so the alerts watch kube-state-metrics (which
//! kube-prometheus-stack ships). Native sidecars are init containers: their
//! restarts are `kube_pod_init_container_status_restarts_total`, not the
//! `kube_pod_container_*` series of ordinary containers.
//!
//! Egress gateways (NixOS hosts, issue 18) are outside the cluster: each one with
//! `monitoring` gets, in the proxies' tree, its WireGuard exporter's scrape target
//! (a `ScrapeConfig`: a static target outside the cluster, with no Service to
//! select), a `Probe` of its proxy ports through the blackbox exporter, alerts on
//! the tunnel's last handshake and the proxy's reachability, and a dashboard.
use crate::gluetun::CONTAINER;
use crate::node::{Node, node};
use crate::{Ctx, PROXY_NAMESPACE, concat, labels};

/// `(file name, document)` pairs for the vpn-proxy tree.
pub fn proxy_resources(ctx: &Ctx<'_>) -> Vec<(String, Node<'static>)> {
    let monitoring = &ctx.net.kubernetes.monitoring;
    if !monitoring.enable {
        return Vec::new();
    }
    vec![
        ("prometheusrule.yaml".to_owned(), prometheus_rule(ctx)),
        ("grafana-dashboard.yaml".to_owned(), dashboard(ctx)),
    ]
}

fn rule(
    alert: &'static str,
    expr: String,
    for_: &'static str,
    severity: &'static str,
    summary: impl Into<Node<'static>>,
    description: impl Into<Node<'static>>,
) -> Node<'static> {
    node!({
        "alert": alert,
        "expr": expr,
        "for": for_,
        "labels": { "severity": severity },
        "annotations": { "summary": summary.into(), "description": description.into() },
    })
}

fn prometheus_rule(ctx: &Ctx<'_>) -> Node<'static> {
    let ns = PROXY_NAMESPACE;
    let mut rules = vec![
        rule(
            "VpnProxyUnavailable",
            format!("kube_deployment_status_replicas_available{{namespace=\"{ns}\"}} < 1"),
            "5m",
            "critical",
            "VPN proxy {{ $labels.deployment }} has no available pod",
            "No pod of {{ $labels.deployment }} has passed its readiness probe (gluetun's own health check) for 5 minutes: clients going through it have no egress.",
        ),
        rule(
            "VpnProxyRestarting",
            format!(
                "increase(kube_pod_container_status_restarts_total{{namespace=\"{ns}\"}}[15m]) > 3"
            ),
            "0m",
            "warning",
            "VPN proxy pod {{ $labels.pod }} restarts repeatedly",
            "{{ $labels.pod }} restarted more than 3 times in 15 minutes: gluetun exits at start (TUN device, capabilities, credentials: see its log) or stayed unhealthy for 15 minutes.",
        ),
    ];
    // One alert for all sidecars: restarts of gluetun containers outside vpn-proxy.
    let sidecar_namespaces: std::collections::BTreeSet<&str> = ctx
        .resolved
        .sidecars
        .iter()
        .map(|s| s.sidecar.namespace.as_str())
        .chain(
            ctx.resolved
                .clients
                .iter()
                .filter(|c| c.client.protocol.value == avalanche_model::ClientProtocol::Sidecar)
                .map(|c| c.client.namespace.as_str()),
        )
        .collect();
    if !sidecar_namespaces.is_empty() {
        let re: Vec<&str> = sidecar_namespaces.into_iter().collect();
        rules.push(rule(
            "VpnSidecarRestarting",
            format!(
                "increase(kube_pod_init_container_status_restarts_total{{namespace=~\"{}\", container=\"{CONTAINER}\"}}[15m]) > 3",
                re.join("|")
            ),
            "0m",
            "warning",
            "gluetun sidecar in {{ $labels.pod }} restarts repeatedly",
            "The app's own gluetun (a native sidecar, so an init container) restarted more than 3 times in 15 minutes; while it is down the app has no network at all (kill switch).",
        ));
    }
    node!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": { "name": "vpn-proxy", "namespace": ns, "labels": labels("vpn-proxy", None, "monitoring") },
        "spec": { "groups": [{ "name": "vpn-proxy", "rules": rules }] },
    })
}

/// The Grafana dashboard: a file rather than a `json!` tree (building and
/// pretty-printing that tree was a fifth of rendering the bundled network). Its
/// queries select the `vpn-proxy` namespace ([`PROXY_NAMESPACE`]).
const DASHBOARD: &str = include_str!("grafana-dashboard.json");

fn dashboard(ctx: &Ctx<'_>) -> Node<'static> {
    let ns = PROXY_NAMESPACE;
    let _ = ctx;
    node!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "vpn-proxy-dashboard",
            "namespace": ns,
            "labels": {
                "grafana_dashboard": "1",
                "app.kubernetes.io/name": "vpn-proxy",
                "app.kubernetes.io/component": "monitoring",
                "app.kubernetes.io/part-of": "avalanche",
                "app.kubernetes.io/managed-by": "avalanche-net",
            },
        },
        "data": { "vpn-proxy.json": DASHBOARD },
    })
}

/// WireGuard's `REJECT_AFTER_TIME` (seconds): a session's keys are refused after
/// it, so a working tunnel that carries packets handshakes again before (it
/// starts at `REKEY_AFTER_TIME`, 120 s, on the next packet sent).
const WIREGUARD_REJECT_AFTER: u64 = 180;

/// How often the exporter is scraped and the proxy probed.
const SCRAPE_INTERVAL: &str = "30s";

/// The handshake age (seconds) past which a gateway's tunnel is stale: with a
/// persistent keepalive every `keepalive` seconds the gateway sends a packet at
/// least that often, so a session is renewed before `REJECT_AFTER_TIME`, and at
/// most one keepalive late. `None` without a keepalive: an idle tunnel does not
/// handshake at all, so its age says nothing.
pub(crate) fn handshake_bound(keepalive: u16) -> Option<u64> {
    (keepalive > 0).then(|| WIREGUARD_REJECT_AFTER + u64::from(keepalive))
}

/// The gateways whose monitoring objects are rendered: `monitoring` on, and
/// `kubernetes.monitoring.enable` (the objects need prometheus-operator).
pub(crate) fn monitored_gateways<'a>(
    ctx: &Ctx<'a>,
) -> Vec<(&'a str, &'a avalanche_model::Gateway)> {
    monitored_gateways_of(ctx.net).collect()
}

/// The gateways monitored in the cluster, by name: those with `monitoring`,
/// when `kubernetes.monitoring.enable` (none otherwise).
pub(crate) fn monitored_gateways_of(
    net: &avalanche_model::Network,
) -> impl Iterator<Item = (&str, &avalanche_model::Gateway)> {
    let enabled = net.kubernetes.monitoring.enable;
    net.egress
        .gateways
        .iter()
        .filter(move |(_, g)| enabled && g.monitoring)
        .map(|(n, g)| (n.as_str(), g))
}

/// `ip:port`, an IPv6 address in brackets.
pub(crate) fn host_port(ip: std::net::IpAddr, port: u16) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// The exporter's address: the gateway's listen address (the NixOS module binds
/// it there, and the gateway's table admits only the allowed clients to it).
pub(crate) fn exporter_target(gw: &avalanche_model::Gateway) -> String {
    host_port(
        gw.listen.value,
        avalanche_model::defaults::GATEWAY_EXPORTER_PORT,
    )
}

/// The proxy ports the `Probe` connects to: SOCKS5, and HTTP CONNECT when declared.
pub(crate) fn proxy_targets(gw: &avalanche_model::Gateway) -> Vec<String> {
    std::iter::once(gw.socks_port)
        .chain(gw.http_port.as_ref().map(|p| p.value))
        .map(|port| host_port(gw.listen.value, port))
        .collect()
}

/// `(file name, document)` pairs of the monitored gateways, for the proxies' tree.
pub fn gateway_resources(ctx: &Ctx<'_>) -> Vec<(String, Node<'static>)> {
    use avalanche_model::layout::gateway_monitoring_file as file;
    let mut out = Vec::new();
    for (name, gw) in monitored_gateways(ctx) {
        out.push((file(name, "scrapeconfig"), scrape_config(name, gw)));
        out.push((file(name, "probe"), probe(ctx, name, gw)));
        out.push((file(name, "prometheusrule"), gateway_rule(ctx, name, gw)));
        out.push((file(name, "dashboard"), gateway_dashboard(name, gw)));
    }
    out
}

fn gateway_metadata(name: String) -> Node<'static> {
    node!({
        "name": name,
        "namespace": PROXY_NAMESPACE,
        "labels": labels("vpn-gateway", None, "monitoring"),
    })
}

/// The exporter as a static target: a `ScrapeConfig` (prometheus-operator ≥ 0.65)
/// rather than a selector-less Service, hand-made Endpoints and a ServiceMonitor —
/// three objects pretending the host is in the cluster, for one address.
fn scrape_config(name: &str, gw: &avalanche_model::Gateway) -> Node<'static> {
    let job = avalanche_model::layout::gateway_job(name);
    node!({
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "ScrapeConfig",
        "metadata": gateway_metadata(job.clone()),
        "spec": {
            "jobName": job,
            "scrapeInterval": SCRAPE_INTERVAL,
            "staticConfigs": [{
                "targets": [exporter_target(gw)],
                "labels": { "gateway": name.to_owned(), "host": gw.host.value.as_str().to_owned() },
            }],
        },
    })
}

/// The proxy ports probed by the blackbox exporter's TCP module: a connection
/// succeeds only if the proxy runs and admits the cluster (the gateway's table
/// resets any other), which the exporter's metrics cannot tell.
fn probe(ctx: &Ctx<'_>, name: &str, gw: &avalanche_model::Gateway) -> Node<'static> {
    let monitoring = &ctx.net.kubernetes.monitoring;
    let job = avalanche_model::layout::gateway_probe_job(name);
    node!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Probe",
        "metadata": gateway_metadata(job.clone()),
        "spec": {
            "jobName": job,
            "interval": SCRAPE_INTERVAL,
            "module": monitoring.prober_module.clone(),
            "prober": { "url": monitoring.prober.clone() },
            "targets": { "staticConfig": {
                "static": proxy_targets(gw),
                "labels": { "gateway": name.to_owned() },
            } },
        },
    })
}

/// The series of the gateway's own tunnel: its interface and its peer's key (the
/// exporter reports every WireGuard interface of the host).
fn handshake_selector(job: &str, gw: &avalanche_model::Gateway) -> String {
    format!(
        "wireguard_latest_handshake_seconds{{job=\"{job}\", interface=\"{}\", public_key=\"{}\"}}",
        gw.interface.value, gw.tunnel.public_key.value
    )
}

fn gateway_rule(ctx: &Ctx<'_>, name: &str, gw: &avalanche_model::Gateway) -> Node<'static> {
    let job = avalanche_model::layout::gateway_job(name);
    let probe_job = avalanche_model::layout::gateway_probe_job(name);
    let host = gw.host.value.as_str();
    let target = exporter_target(gw);
    let iface = &gw.interface.value;
    let handshakes = handshake_selector(&job, gw);
    let monitoring = &ctx.net.kubernetes.monitoring;
    let mut rules = vec![rule(
        "VpnGatewayExporterDown",
        format!("up{{job=\"{job}\"}} == 0 or absent(up{{job=\"{job}\"}})"),
        "5m",
        "warning",
        format!("WireGuard exporter of gateway {name} ({target}) is not scraped"),
        format!(
            "Prometheus cannot scrape {target} (or has no such target): the tunnel of gateway {name} is unwatched. \
             On {host}: `systemctl status prometheus-wireguard-exporter`; from a pod: `curl http://{target}/metrics` \
             (the gateway admits only its allowedClients); in the cluster: does the Prometheus select ScrapeConfigs \
             in namespace {PROXY_NAMESPACE}?"
        ),
    )];
    rules.push(rule(
        "VpnGatewayTunnelMissing",
        format!("up{{job=\"{job}\"}} == 1 unless on(job, instance) {handshakes}"),
        "5m",
        "critical",
        format!("Gateway {name}: no WireGuard peer on {iface}"),
        format!(
            "The exporter on {host} reports no peer {} on interface {iface}: the tunnel unit is down, so the proxy \
             refuses every connection (kill switch). On {host}: `systemctl status avalanche-gateway-{name}`, `wg show {iface}`.",
            gw.tunnel.public_key.value
        ),
    ));
    if let Some(bound) = handshake_bound(gw.tunnel.persistent_keepalive) {
        rules.push(rule(
            "VpnGatewayHandshakeStale",
            format!("time() - {handshakes} > {bound}"),
            "2m",
            "critical",
            format!("Gateway {name}: last WireGuard handshake {{{{ $value | humanizeDuration }}}} ago"),
            format!(
                "With a keepalive every {}s the tunnel {iface} must handshake at least every {bound}s; it has not, \
                 so its keys have expired and the proxy's connections go nowhere (the kill switch keeps them off the WAN). \
                 Check the peer {} is up, its public key and the endpoint's reachability from {host} (`wg show {iface}`).",
                gw.tunnel.persistent_keepalive, gw.tunnel.endpoint.value
            ),
        ));
    }
    rules.push(rule(
        "VpnGatewayProxyUnreachable",
        format!("probe_success{{job=\"{probe_job}\"}} == 0"),
        "5m",
        "critical",
        format!("Gateway {name}: proxy {{{{ $labels.instance }}}} refuses connections from the cluster"),
        format!(
            "A TCP connection from the cluster to {{{{ $labels.instance }}}} fails: the proxy on {host} is down \
             (`systemctl status avalanche-gateway-{name}-socks`, or `-http`), or the cluster's address is not in the gateway's \
             allowedClients (its table resets others), or {host} is unreachable."
        ),
    ));
    rules.push(rule(
        "VpnGatewayProbeMissing",
        format!("absent(probe_success{{job=\"{probe_job}\"}})"),
        "15m",
        "warning",
        format!("Gateway {name}: its proxy is not probed"),
        format!(
            "No probe_success series of job {probe_job}: the blackbox exporter at {} is missing or has no module `{}` \
             (the prometheus-community chart's default configuration has only http_2xx), or the Prometheus does not \
             select Probes in namespace {PROXY_NAMESPACE}.",
            monitoring.prober, monitoring.prober_module
        ),
    ));
    node!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": gateway_metadata(job.clone()),
        "spec": { "groups": [{ "name": job, "rules": rules }] },
    })
}

/// The gateway's dashboard: handshake age, the tunnel's traffic, the probes.
fn gateway_dashboard(name: &str, gw: &avalanche_model::Gateway) -> Node<'static> {
    let job = avalanche_model::layout::gateway_job(name);
    let probe_job = avalanche_model::layout::gateway_probe_job(name);
    let iface = &gw.interface.value;
    let selector = format!("job=\"{job}\", interface=\"{iface}\"");
    let panel = |id: u32, title: &str, unit: &str, targets: serde_json::Value| {
        serde_json::json!({
            "id": id,
            "type": "timeseries",
            "title": title,
            "datasource": { "type": "prometheus", "uid": "${datasource}" },
            "fieldConfig": { "defaults": { "unit": unit }, "overrides": [] },
            "gridPos": { "h": 8, "w": 24, "x": 0, "y": (id - 1) * 8 },
            "targets": targets,
        })
    };
    let board = serde_json::json!({
        "uid": format!("avalanche-{job}"),
        "title": format!("VPN egress gateway {name} ({})", gw.host.value.as_str()),
        "tags": ["avalanche", "vpn"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "1m",
        "time": { "from": "now-24h", "to": "now" },
        "templating": { "list": [{ "name": "datasource", "type": "datasource", "query": "prometheus" }] },
        "panels": [
            panel(1, "Last WireGuard handshake (age)", "s", serde_json::json!([{
                "refId": "A",
                "expr": format!("time() - wireguard_latest_handshake_seconds{{{selector}}}"),
                "legendFormat": "{{interface}}",
            }])),
            panel(2, "Tunnel traffic (bytes/s)", "Bps", serde_json::json!([
                {
                    "refId": "A",
                    "expr": format!("rate(wireguard_received_bytes_total{{{selector}}}[5m])"),
                    "legendFormat": "received",
                },
                {
                    "refId": "B",
                    "expr": format!("rate(wireguard_sent_bytes_total{{{selector}}}[5m])"),
                    "legendFormat": "sent",
                },
            ])),
            panel(3, "Proxy reachable from the cluster (probe)", "bool_yes_no", serde_json::json!([{
                "refId": "A",
                "expr": format!("probe_success{{job=\"{probe_job}\"}}"),
                "legendFormat": "{{instance}}",
            }])),
        ],
    });
    let text = serde_json::to_string_pretty(&board).unwrap_or_default() + "\n";
    let mut data = Node::map();
    data.insert(concat(&[&job, ".json"]), text);
    node!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": concat(&[&job, "-dashboard"]),
            "namespace": PROXY_NAMESPACE,
            "labels": {
                "grafana_dashboard": "1",
                "app.kubernetes.io/name": "vpn-gateway",
                "app.kubernetes.io/component": "monitoring",
                "app.kubernetes.io/part-of": "avalanche",
                "app.kubernetes.io/managed-by": "avalanche-net",
            },
        },
        "data": data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_is_canonical_json_on_the_proxy_namespace() {
        let board: serde_json::Value =
            serde_json::from_str(DASHBOARD).unwrap_or_else(|e| panic!("{e}"));
        // Written as `serde_json::to_string_pretty` writes it, with a final newline.
        let pretty = serde_json::to_string_pretty(&board).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(DASHBOARD, pretty + "\n");
        let selector = format!("namespace=\\\"{PROXY_NAMESPACE}\\\"");
        assert_eq!(DASHBOARD.matches("\"expr\"").count(), 3);
        assert_eq!(DASHBOARD.matches(&selector).count(), 3, "{selector}");
    }

    /// A network of one gateway on `listen` with `keepalive`, monitored, and no
    /// gluetun proxy at all.
    fn gateways_only(listen: &str, keepalive: u16) -> avalanche_model::Network {
        let text = format!(
            r#"{{ avalanche.network = {{
              kubernetes.monitoring.enable = true;
              egress.gateways.home = {{
                host = "routy";
                listen = "{listen}";
                monitoring = true;
                tunnel = {{
                  endpoint = "exit.example.org:51820";
                  publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
                  address = "10.99.0.2/32";
                  persistentKeepalive = {keepalive};
                  privateKeySecret = "routy-wireguard";
                }};
              }};
            }}; }}"#
        );
        let mut sources = avalanche_diag::SourceMap::default();
        let value =
            avalanche_nix::read_source(std::path::Path::new("network.nix"), &text, &mut sources)
                .expect("the test input reads");
        let (network, diagnostics) = avalanche_model::decode(&value);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        network.expect("a network")
    }

    fn file(plan: &crate::Plan, name: &str) -> String {
        let dir = avalanche_model::layout::PROXY_DIR;
        let path = format!("kubernetes/{dir}/{name}");
        let bytes = plan.get(&path).unwrap_or_else(|| panic!("no {path}"));
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// Gateways alone (no gluetun proxy) still get the tree their monitoring lives
    /// in, listed by its kustomization and registered.
    #[test]
    fn monitored_gateways_alone_get_the_tree() {
        let plan = crate::render(&gateways_only("10.1.0.1", 25)).expect("renders");
        let kustomization = file(&plan, "kustomization.yaml");
        for what in ["scrapeconfig", "probe", "prometheusrule", "dashboard"] {
            let name = avalanche_model::layout::gateway_monitoring_file("home", what);
            assert!(
                kustomization.contains(&format!("- {name}\n")),
                "{kustomization}"
            );
            let _ = file(&plan, &name);
        }
        assert!(file(&plan, "gateway-home-scrapeconfig.yaml").contains("- \"10.1.0.1:9586\"\n"));
        assert!(file(&plan, "README.md").contains("`VpnGatewayHandshakeStale` (critical)"));
        assert!(
            plan.get("kubernetes/base/infra/vpn-proxy-app.yaml")
                .is_some()
        );
    }

    /// Without a keepalive an idle tunnel never handshakes: no age alert then, and
    /// the README says why; the other alerts stay.
    #[test]
    fn no_handshake_age_alert_without_a_keepalive() {
        assert_eq!(handshake_bound(25), Some(205));
        assert_eq!(handshake_bound(0), None);
        let plan = crate::render(&gateways_only("10.1.0.1", 0)).expect("renders");
        let rules = file(&plan, "gateway-home-prometheusrule.yaml");
        assert!(!rules.contains("VpnGatewayHandshakeStale"), "{rules}");
        assert!(rules.contains("VpnGatewayTunnelMissing"), "{rules}");
        assert!(file(&plan, "README.md").contains("`home` none (no keepalive"));
        let plan = crate::render(&gateways_only("10.1.0.1", 15)).expect("renders");
        let rules = file(&plan, "gateway-home-prometheusrule.yaml");
        assert!(rules.contains("> 195\"\n"), "{rules}");
    }

    /// An IPv6 listen address is bracketed in every target.
    #[test]
    fn ipv6_targets_are_bracketed() {
        let plan = crate::render(&gateways_only("fd00:1::1", 25)).expect("renders");
        assert!(file(&plan, "gateway-home-scrapeconfig.yaml").contains("- \"[fd00:1::1]:9586\"\n"));
        assert!(file(&plan, "gateway-home-probe.yaml").contains("- \"[fd00:1::1]:1080\"\n"));
    }
}
