//! Monitoring of the egress gateways (issue 18 item 5), on a repository shaped
//! like a real one: `fixtures/repos/media-gluetun` with the overlay
//! `fixtures/gateway-monitoring` (a gateway `home` on the NAS, `monitoring` on, its
//! key in a sops-nix file). The alerts are proven by Prometheus' own rule engine
//! (`promtool test rules`, Debian `prometheus`) on synthetic series labelled as the
//! generated scrape target and probe label them; every new object is checked
//! against the prometheus-operator CRDs (`tests/oracles/prometheus_operator.py`)
//! or Kubernetes' own schemas (`kubernetes-validate --strict`).
use crate::support::{self, TempRepo};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const TREE: &str = "kubernetes/base/infra/network/vpn-proxy";
const GATEWAY_FILES: [&str; 4] = [
    "gateway-home-scrapeconfig.yaml",
    "gateway-home-probe.yaml",
    "gateway-home-prometheusrule.yaml",
    "gateway-home-dashboard.yaml",
];

/// The fixture, built; `edit` changes its declarations first.
fn built(edit: impl FnOnce(&str) -> String) -> TempRepo {
    let repo = TempRepo::from_fixture("fixtures/repos/media-gluetun");
    support::lay_over(
        &repo,
        &support::workspace_root().join("tests/fixtures/gateway-monitoring"),
    );
    let network = repo.read("nix/network.nix");
    repo.write("nix/network.nix", &edit(&network));
    repo.commit_all();
    repo.run(&["build"]).expect_code(0);
    repo
}

fn doc(repo: &TempRepo, file: &str) -> Value {
    serde_norway::from_str(&repo.read(&format!("{TREE}/{file}")))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn run(command: &mut Command) -> (bool, String) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

/// `promtool check rules` on a PrometheusRule's `spec` (a Prometheus rules file).
fn rules_file(rule: &Value, to: &Path) {
    std::fs::write(
        to,
        serde_json::to_string_pretty(&rule["spec"]).expect("json"),
    )
    .expect("writing the rules file");
}

/// The alerts of the gateway fire on a stale handshake (10 minutes), a missing
/// tunnel, a down exporter, an unreachable proxy and a missing probe, and stay
/// quiet on a healthy gateway (a handshake 30 s old, or 170 s old: one rekey
/// late) — as Prometheus evaluates them, on the labels the generated ScrapeConfig
/// and Probe give the series.
#[test]
fn gateway_alerts_fire_when_they_should_and_only_then() {
    let Some(promtool) = support::oracle("promtool") else {
        return;
    };
    let repo = built(str::to_owned);
    let scratch = tempfile::tempdir().expect("a temp dir");
    let rule = doc(&repo, "gateway-home-prometheusrule.yaml");
    let scrape = doc(&repo, "gateway-home-scrapeconfig.yaml");
    let probe = doc(&repo, "gateway-home-probe.yaml");
    let rules = scratch.path().join("gateway.rules.json");
    rules_file(&rule, &rules);
    // The proxies' rules too: the same check on what existed before.
    let proxy_rules = scratch.path().join("proxy.rules.json");
    rules_file(&doc(&repo, "prometheusrule.yaml"), &proxy_rules);
    let (ok, report) = run(Command::new(&promtool)
        .args(["check", "rules"])
        .args([&rules, &proxy_rules]));
    assert!(ok, "promtool check rules:\n{report}");

    // The series as Prometheus stores them: the scrape's job, instance and static
    // labels, the exporter's own labels (prometheus_wireguard_exporter: interface,
    // public_key, allowed_ips).
    let job = scrape["spec"]["jobName"].as_str().expect("jobName");
    let static_config = &scrape["spec"]["staticConfigs"][0];
    let instance = static_config["targets"][0].as_str().expect("a target");
    let mut target: Vec<(String, String)> = vec![
        ("job".into(), job.into()),
        ("instance".into(), instance.into()),
    ];
    for (k, v) in static_config["labels"].as_object().expect("labels") {
        target.push((k.clone(), v.as_str().expect("a label").into()));
    }
    let peer = [
        ("interface", "wg-home"),
        ("public_key", "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U="),
        ("allowed_ips", "0.0.0.0/0,::/0"),
    ];
    let mut peer_labels = target.clone();
    peer_labels.extend(peer.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let series = |name: &str, labels: &[(String, String)]| {
        let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        format!("{name}{{{}}}", inner.join(", "))
    };
    let probe_job = probe["spec"]["jobName"].as_str().expect("jobName");
    let probe_targets: Vec<&str> = probe["spec"]["targets"]["staticConfig"]["static"]
        .as_array()
        .expect("probe targets")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(probe_targets, ["192.168.1.2:1080", "192.168.1.2:8888"]);
    let probe_series = |target: &str| {
        series(
            "probe_success",
            &[
                ("job".into(), probe_job.into()),
                ("instance".into(), target.into()),
                ("gateway".into(), "home".into()),
            ],
        )
    };
    let up = series("up", &target);
    let handshake = series("wireguard_latest_handshake_seconds", &peer_labels);
    let healthy_probes: Vec<Value> = probe_targets
        .iter()
        .map(|t| json!({ "series": probe_series(t), "values": "1x30" }))
        .collect();
    let alerts = [
        "VpnGatewayExporterDown",
        "VpnGatewayTunnelMissing",
        "VpnGatewayHandshakeStale",
        "VpnGatewayProxyUnreachable",
        "VpnGatewayProbeMissing",
    ];
    let none_at = |at: &str| -> Vec<Value> {
        alerts
            .iter()
            .map(|a| json!({ "eval_time": at, "alertname": a, "exp_alerts": [] }))
            .collect()
    };
    let labels_of = |labels: &[(String, String)], severity: &str| {
        let mut m: serde_json::Map<String, Value> =
            labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        m.insert("severity".into(), json!(severity));
        Value::Object(m)
    };
    // The annotations as Prometheus expands them for the alert.
    let annotations = |alert: &str, instance: &str, value: &str| {
        let mut m = expanded(&rule, alert, &[("instance", instance)]);
        for text in m.as_object_mut().expect("annotations").values_mut() {
            let t = text
                .as_str()
                .expect("text")
                .replace("{{ $value | humanizeDuration }}", value);
            *text = json!(t);
        }
        m
    };
    let fires = |alert: &str, at: &str, labels: Value, annotations: Value| {
        json!({ "eval_time": at, "alertname": alert,
                "exp_alerts": [{ "exp_labels": labels, "exp_annotations": annotations }] })
    };

    let mut tests = Vec::new();
    // Healthy: the last handshake always 30 s old (it moves with the clock).
    let mut input = vec![
        json!({ "series": up, "values": "1x30" }),
        json!({ "series": handshake, "values": "-30+60x30" }),
    ];
    input.extend(healthy_probes.iter().cloned());
    tests.push(
        json!({ "interval": "1m", "input_series": input, "alert_rule_test": none_at("20m") }),
    );
    // Healthy: one rekey late (170 s), under the bound for a 25 s keepalive.
    let mut input = vec![
        json!({ "series": up, "values": "1x30" }),
        json!({ "series": handshake, "values": "-170+60x30" }),
    ];
    input.extend(healthy_probes.iter().cloned());
    tests.push(
        json!({ "interval": "1m", "input_series": input, "alert_rule_test": none_at("20m") }),
    );
    // Stale: no handshake since t=0, evaluated 10 minutes later.
    let mut input = vec![
        json!({ "series": up, "values": "1x30" }),
        json!({ "series": handshake, "values": "0x30" }),
    ];
    input.extend(healthy_probes.iter().cloned());
    let mut checks = vec![fires(
        "VpnGatewayHandshakeStale",
        "10m",
        labels_of(&peer_labels, "critical"),
        annotations("VpnGatewayHandshakeStale", instance, "10m 0s"),
    )];
    checks.extend(
        none_at("10m")
            .into_iter()
            .filter(|c| c["alertname"] != "VpnGatewayHandshakeStale"),
    );
    tests.push(json!({ "interval": "1m", "input_series": input, "alert_rule_test": checks }));
    // The tunnel is gone: the exporter answers, without the peer.
    let mut input = vec![json!({ "series": up, "values": "1x30" })];
    input.extend(healthy_probes.iter().cloned());
    tests.push(
        json!({ "interval": "1m", "input_series": input, "alert_rule_test": [
        fires("VpnGatewayTunnelMissing", "10m", labels_of(&target, "critical"),
              annotations("VpnGatewayTunnelMissing", instance, "")),
    ] }),
    );
    // The exporter is down; then, not scraped at all (no `up` series).
    let mut input = vec![json!({ "series": up, "values": "0x30" })];
    input.extend(healthy_probes.iter().cloned());
    tests.push(
        json!({ "interval": "1m", "input_series": input, "alert_rule_test": [
        fires("VpnGatewayExporterDown", "10m", labels_of(&target, "warning"),
              annotations("VpnGatewayExporterDown", instance, "")),
        { "eval_time": "10m", "alertname": "VpnGatewayTunnelMissing", "exp_alerts": [] },
    ] }),
    );
    tests.push(
        json!({ "interval": "1m", "input_series": healthy_probes.clone(), "alert_rule_test": [
        fires("VpnGatewayExporterDown", "10m", labels_of(&[("job".into(), job.into())], "warning"),
              annotations("VpnGatewayExporterDown", instance, "")),
    ] }),
    );
    // The SOCKS5 port refuses; then, nothing probes the proxy.
    let socks = probe_targets[0];
    let probe_labels: Vec<(String, String)> = vec![
        ("job".into(), probe_job.into()),
        ("instance".into(), socks.into()),
        ("gateway".into(), "home".into()),
    ];
    tests.push(json!({ "interval": "1m", "input_series": [
        { "series": up, "values": "1x30" },
        { "series": handshake, "values": "-30+60x30" },
        { "series": probe_series(socks), "values": "0x30" },
        { "series": probe_series(probe_targets[1]), "values": "1x30" },
    ], "alert_rule_test": [
        fires("VpnGatewayProxyUnreachable", "10m", labels_of(&probe_labels, "critical"),
              annotations("VpnGatewayProxyUnreachable", socks, "")),
    ] }));
    tests.push(json!({ "interval": "1m", "input_series": [
        { "series": up, "values": "1x30" },
        { "series": handshake, "values": "-30+60x30" },
    ], "alert_rule_test": [
        fires("VpnGatewayProbeMissing", "20m", labels_of(&[("job".into(), probe_job.into())], "warning"),
              annotations("VpnGatewayProbeMissing", "", "")),
        { "eval_time": "10m", "alertname": "VpnGatewayProbeMissing", "exp_alerts": [] },
    ] }));

    let unit = scratch.path().join("gateway.test.json");
    let spec = json!({
        "rule_files": [rules.to_string_lossy()],
        "evaluation_interval": "1m",
        "tests": tests,
    });
    std::fs::write(&unit, serde_json::to_string_pretty(&spec).expect("json")).expect("writing");
    let (ok, report) = run(Command::new(&promtool).args(["test", "rules"]).arg(&unit));
    assert!(ok, "promtool test rules:\n{report}\n{spec:#}");
    assert!(report.contains("SUCCESS"), "{report}");
}

/// Every new object matches its schema: the prometheus-operator ones their CRDs
/// (strict: no field the CRD lacks), the dashboard ConfigMap Kubernetes' own; the
/// tree's kustomization lists them.
#[test]
fn gateway_monitoring_objects_match_their_schemas() {
    let repo = built(str::to_owned);
    let kustomization = repo.read(&format!("{TREE}/kustomization.yaml"));
    for file in GATEWAY_FILES {
        assert!(
            kustomization.contains(&format!("- {file}\n")),
            "{file} not listed:\n{kustomization}"
        );
    }
    let dashboard = doc(&repo, "gateway-home-dashboard.yaml");
    assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
    let board: Value = serde_json::from_str(
        dashboard["data"]["vpn-gateway-home.json"]
            .as_str()
            .expect("the dashboard"),
    )
    .expect("the dashboard is JSON");
    let exprs: Vec<&str> = board["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str())
        .collect();
    for metric in [
        "wireguard_latest_handshake_seconds{job=\"vpn-gateway-home\"",
        "wireguard_received_bytes_total{job=\"vpn-gateway-home\"",
        "wireguard_sent_bytes_total{job=\"vpn-gateway-home\"",
        "probe_success{job=\"vpn-gateway-home-proxy\"}",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(metric)),
            "{metric} not in {exprs:?}"
        );
    }

    let Some(python) = support::oracle("python3") else {
        return;
    };
    let files: Vec<std::path::PathBuf> = GATEWAY_FILES
        .iter()
        .chain(&["prometheusrule.yaml"])
        .map(|f| repo.path().join(TREE).join(f))
        .collect();
    let (ok, report) = run(Command::new(python)
        .arg(support::workspace_root().join("tests/oracles/prometheus_operator.py"))
        .args(&files));
    if !ok && report.contains("oracle not installed") {
        assert!(
            !support::oracles_required(),
            "the prometheus-operator schema oracle is not installed, and AVALANCHE_REQUIRE_ORACLES=1 (see .ci/run): {report}"
        );
        eprintln!("SKIPPED: the prometheus-operator schema oracle is not installed: {report}");
        return;
    }
    assert!(ok, "prometheus-operator CRDs:\n{report}");
    for object in [
        "scrapeconfig/vpn-gateway-home",
        "probe/vpn-gateway-home-proxy",
        "prometheusrule/vpn-gateway-home",
        "prometheusrule/vpn-proxy",
    ] {
        assert!(
            report.contains(&format!("passed for {object}\n")),
            "{object}:\n{report}"
        );
    }

    let Some(validate) = support::oracle("kubernetes-validate") else {
        return;
    };
    let (ok, report) = run(Command::new(validate)
        .args(["--strict", "--kubernetes-version", "1.34.0", "--no-warn"])
        .arg(repo.path().join(TREE).join("gateway-home-dashboard.yaml")));
    assert!(ok, "kubernetes-validate --strict:\n{report}");
    assert!(
        report.contains("passed for resource configmap/vpn-gateway-home-dashboard"),
        "{report}"
    );
}

/// Nothing is emitted for a gateway without `monitoring`, nor without
/// `kubernetes.monitoring.enable` (the objects need prometheus-operator).
#[test]
fn no_gateway_monitoring_unless_both_switches_are_on() {
    for (what, from, to) in [
        (
            "gateway monitoring off",
            "monitoring = true;",
            "monitoring = false;",
        ),
        (
            "cluster monitoring off",
            "monitoring.enable = true;",
            "monitoring.enable = false;",
        ),
    ] {
        let repo = built(|n| {
            assert!(n.contains(from), "{what}: no `{from}`");
            n.replacen(from, to, 1)
        });
        let tree = support::tree(&repo.path().join(TREE));
        let gateway: Vec<&String> = tree.keys().filter(|p| p.contains("gateway")).collect();
        assert!(gateway.is_empty(), "{what}: {gateway:?}");
        let kustomization = repo.read(&format!("{TREE}/kustomization.yaml"));
        assert!(
            !kustomization.contains("gateway-"),
            "{what}:\n{kustomization}"
        );
        let readme = repo.read(&format!("{TREE}/README.md"));
        assert!(!readme.contains("vpn-gateway-home"), "{what}:\n{readme}");
    }
}

/// The rule `alert`'s annotations as Prometheus expands them for an alert with
/// `labels` (the templates these rules use: `{{ $labels.<name> }}`).
fn expanded(rule: &Value, alert: &str, labels: &[(&str, &str)]) -> Value {
    let r = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["alert"] == alert)
        .unwrap_or_else(|| panic!("no alert {alert}"));
    let mut m = serde_json::Map::new();
    for (k, v) in r["annotations"].as_object().expect("annotations") {
        let mut text = v.as_str().expect("text").to_owned();
        for (name, value) in labels {
            text = text.replace(&format!("{{{{ $labels.{name} }}}}"), value);
        }
        m.insert(k.clone(), json!(text));
    }
    Value::Object(m)
}

/// The proxies' existing rules (kube-state-metrics) under the same engine: each
/// fires on its failure and not on a healthy series, the sidecar alert only for
/// the gluetun init container of a declared sidecar's namespace.
#[test]
fn proxy_alerts_fire_when_they_should_and_only_then() {
    let Some(promtool) = support::oracle("promtool") else {
        return;
    };
    let repo = built(str::to_owned);
    let scratch = tempfile::tempdir().expect("a temp dir");
    let rule = doc(&repo, "prometheusrule.yaml");
    let rules = scratch.path().join("proxy.rules.json");
    rules_file(&rule, &rules);
    let deployment = r#"kube_deployment_status_replicas_available{namespace="vpn-proxy", deployment="vpn-proxy-switzerland"}"#;
    let restarts = r#"kube_pod_container_status_restarts_total{namespace="vpn-proxy", pod="vpn-proxy-switzerland-1", container="gluetun"}"#;
    let sidecar = r#"kube_pod_init_container_status_restarts_total{namespace="media", pod="qbittorrent-1", container="gluetun"}"#;
    let other_init = r#"kube_pod_init_container_status_restarts_total{namespace="media", pod="qbittorrent-1", container="fix-permissions"}"#;
    let labels = |pairs: &[(&str, &str)], severity: &str| {
        let mut m: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        m.insert("severity".into(), json!(severity));
        Value::Object(m)
    };
    let none = |at: &str| -> Vec<Value> {
        [
            "VpnProxyUnavailable",
            "VpnProxyRestarting",
            "VpnSidecarRestarting",
        ]
        .iter()
        .map(|a| json!({ "eval_time": at, "alertname": a, "exp_alerts": [] }))
        .collect()
    };
    let d = [
        ("namespace", "vpn-proxy"),
        ("deployment", "vpn-proxy-switzerland"),
    ];
    let p = [
        ("namespace", "vpn-proxy"),
        ("pod", "vpn-proxy-switzerland-1"),
        ("container", "gluetun"),
    ];
    let s = [
        ("namespace", "media"),
        ("pod", "qbittorrent-1"),
        ("container", "gluetun"),
    ];
    let tests = json!([
        // Healthy: one pod available, no restarts; an unrelated init container restarting.
        { "interval": "1m", "input_series": [
            { "series": deployment, "values": "1x30" },
            { "series": restarts, "values": "0x30" },
            { "series": sidecar, "values": "0x30" },
            { "series": other_init, "values": "0+1x30" },
        ], "alert_rule_test": none("20m") },
        // Broken: no pod available, gluetun restarting once a minute, in both places.
        { "interval": "1m", "input_series": [
            { "series": deployment, "values": "0x30" },
            { "series": restarts, "values": "0+1x30" },
            { "series": sidecar, "values": "0+1x30" },
        ], "alert_rule_test": [
            { "eval_time": "20m", "alertname": "VpnProxyUnavailable", "exp_alerts": [
                { "exp_labels": labels(&d, "critical"), "exp_annotations": expanded(&rule, "VpnProxyUnavailable", &d) } ] },
            { "eval_time": "20m", "alertname": "VpnProxyRestarting", "exp_alerts": [
                { "exp_labels": labels(&p, "warning"), "exp_annotations": expanded(&rule, "VpnProxyRestarting", &p) } ] },
            { "eval_time": "20m", "alertname": "VpnSidecarRestarting", "exp_alerts": [
                { "exp_labels": labels(&s, "warning"), "exp_annotations": expanded(&rule, "VpnSidecarRestarting", &s) } ] },
        ] },
    ]);
    let unit = scratch.path().join("proxy.test.json");
    let spec = json!({ "rule_files": [rules.to_string_lossy()], "evaluation_interval": "1m", "tests": tests });
    std::fs::write(&unit, serde_json::to_string_pretty(&spec).expect("json")).expect("writing");
    let (ok, report) = run(Command::new(&promtool).args(["test", "rules"]).arg(&unit));
    assert!(ok, "promtool test rules:\n{report}\n{spec:#}");
    assert!(report.contains("SUCCESS"), "{report}");
}

/// A network namespace and what runs in it, removed on every exit path.
struct Netns {
    name: String,
    iface: String,
    children: Vec<std::process::Child>,
}

impl Drop for Netns {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .stderr(std::process::Stdio::null())
            .status();
        // wireguard-go's UAPI sockets are shared by every namespace.
        let _ = std::fs::remove_file(format!("/var/run/wireguard/{}.sock", self.iface));
    }
}

#[track_caller]
fn must(command: &mut Command) -> String {
    let (ok, report) = run(command);
    assert!(ok, "{command:?}:\n{report}");
    report
}

/// The label names the rules select the exporter's series by, from the generated
/// rule (the `job` label is Prometheus' own).
fn selected_labels(rule: &Value, metric: &str) -> Vec<String> {
    let exprs: Vec<&str> = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["expr"].as_str())
        .collect();
    let expr = exprs
        .iter()
        .find(|e| e.contains(&format!("{metric}{{")))
        .unwrap_or_else(|| panic!("no rule reads {metric}: {exprs:?}"));
    let start = expr.find(&format!("{metric}{{")).expect("found") + metric.len() + 1;
    let inner = &expr[start..start + expr[start..].find('}').expect("a closing brace")];
    inner
        .split(", ")
        .filter_map(|pair| pair.split_once('=').map(|(k, _)| k.to_owned()))
        .filter(|k| k != "job")
        .collect()
}

/// The real exporter (crates.io `prometheus_wireguard_exporter`, which shells out
/// to `wg show all dump`) on a userspace WireGuard interface in a namespace of its
/// own: the metrics the rules and the dashboard read exist, with the labels the
/// rules select by, named as the declaration names them (interface, peer key).
#[test]
fn the_real_exporter_serves_what_the_rules_select() {
    let Some(tools) = support::root_oracle(&[
        "prometheus_wireguard_exporter",
        "wireguard-go",
        "wg",
        "ip",
        "curl",
    ]) else {
        return;
    };
    let exporter = &tools[0];
    let repo = built(str::to_owned);
    let rule = doc(&repo, "gateway-home-prometheusrule.yaml");
    let labels = selected_labels(&rule, "wireguard_latest_handshake_seconds");
    assert!(labels.iter().any(|l| l == "interface"), "{labels:?}");

    let pid = std::process::id();
    let mut ns = Netns {
        name: format!("avgwmon{pid}"),
        iface: format!("wgm{pid}"),
        children: Vec::new(),
    };
    must(Command::new("ip").args(["netns", "add", &ns.name]));
    must(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]));
    let in_ns = |program: &str| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns.name, program]);
        c
    };
    let child = in_ns("wireguard-go")
        .arg(&ns.iface)
        .env("WG_PROCESS_FOREGROUND", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("wireguard-go");
    ns.children.push(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !run(Command::new("ip").args(["-n", &ns.name, "link", "show", &ns.iface])).0 {
        assert!(
            std::time::Instant::now() < deadline,
            "wireguard-go made no {} in 10 s",
            ns.iface
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let scratch = tempfile::tempdir().expect("a temp dir");
    let key = scratch.path().join("private");
    std::fs::write(&key, must(Command::new("wg").arg("genkey")).trim()).expect("writing the key");
    // The peer: the fixture's declared public key.
    let peer = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
    must(
        in_ns("wg")
            .args(["set", &ns.iface, "private-key"])
            .arg(&key)
            .args([
                "peer",
                peer,
                "endpoint",
                "127.0.0.1:51820",
                "allowed-ips",
                "0.0.0.0/0",
                "persistent-keepalive",
                "25",
            ]),
    );
    must(Command::new("ip").args(["-n", &ns.name, "link", "set", &ns.iface, "up"]));

    let port = avalanche_model::defaults::GATEWAY_EXPORTER_PORT.to_string();
    let child = in_ns(&exporter.to_string_lossy())
        .args(["-l", "127.0.0.1", "-p", &port])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the exporter");
    ns.children.push(child);
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let metrics = loop {
        let (ok, body) = run(in_ns("curl").args(["-sf", "--max-time", "2", &url]));
        if ok && body.contains("wireguard_latest_handshake_seconds{") {
            break body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no metrics at {url} in 15 s:\n{body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    for metric in [
        "wireguard_latest_handshake_seconds",
        "wireguard_sent_bytes_total",
        "wireguard_received_bytes_total",
    ] {
        let line = metrics
            .lines()
            // `wg show all` lists every userspace interface of the machine (their
            // sockets are shared by the namespaces): other tests' ones too.
            .find(|l| {
                l.starts_with(&format!("{metric}{{")) && l.contains(&format!("\"{}\"", ns.iface))
            })
            .unwrap_or_else(|| panic!("no {metric} series of {}:\n{metrics}", ns.iface));
        for label in &labels {
            // The values the declaration gives (the test's interface stands for the
            // declared one: wireguard-go's sockets are shared, its name is per process).
            let wanted = match label.as_str() {
                "interface" => format!("interface=\"{}\"", ns.iface),
                "public_key" => format!("public_key=\"{peer}\""),
                other => format!("{other}=\""),
            };
            assert!(
                line.contains(&wanted),
                "the rules select `{wanted}`, the exporter serves:\n{line}"
            );
        }
    }
}
