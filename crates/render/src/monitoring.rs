//! Monitoring that works with what exists: no gluetun release in the version
//! table has a Prometheus endpoint, so the alerts watch kube-state-metrics (which
//! kube-prometheus-stack ships). Native sidecars are init containers: their
//! restarts are `kube_pod_init_container_status_restarts_total`, not the
//! `kube_pod_container_*` series of ordinary containers.
use crate::gluetun::CONTAINER;
use crate::node::{Node, node};
use crate::{Ctx, PROXY_NAMESPACE, labels};

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
    summary: &'static str,
    description: &'static str,
) -> Node<'static> {
    node!({
        "alert": alert,
        "expr": expr,
        "for": for_,
        "labels": { "severity": severity },
        "annotations": { "summary": summary, "description": description },
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
}
