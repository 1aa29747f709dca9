//! Every generated gluetun container, on the bundled network and on variants of
//! it, checked against what gluetun reads and needs: the variable table of the
//! declared release, the capabilities, the TUN device, keepalive, one key per
//! instance, the control server, the probes and the alerts. The capability
//! oracle (`tests/gluetun.rs` at the repository root) runs the operations; this
//! file checks the manifests without external tools.
use avalanche_diag::SourceMap;
use avalanche_model::gluetun;
use avalanche_render::{Plan, render};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn bundled_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nix/network.nix");
    std::fs::read_to_string(path).expect("reading nix/network.nix")
}

/// The bundled network with each `(from, to)` replacement applied (each must match).
fn variant(edits: &[(&str, &str)]) -> (avalanche_model::Network, Plan) {
    let mut text = bundled_text();
    for (from, to) in edits {
        assert!(text.contains(from), "the bundled network has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nix/network.nix");
    let mut sources = SourceMap::default();
    let value = avalanche_nix::read_source(&path, &text, &mut sources)
        .unwrap_or_else(|d| panic!("reading: {d:#?}"));
    let (network, diagnostics) = avalanche_model::decode(&value);
    let network = network.unwrap_or_else(|| panic!("decoding: {diagnostics:#?}\n{text}"));
    let plan = render(&network).unwrap_or_else(|d| panic!("rendering: {d:#?}"));
    (network, plan)
}

/// One gluetun container of the plan, with the pod around it.
struct Found {
    file: String,
    container: Json,
    pod: Json,
    sidecar: bool,
}

impl Found {
    fn env(&self) -> BTreeMap<String, Json> {
        self.container["env"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|e| {
                        let name = e["name"].as_str().expect("an env name").to_owned();
                        let value = e
                            .get("value")
                            .cloned()
                            .unwrap_or_else(|| e["valueFrom"].clone());
                        (name, value)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn value(&self, name: &str) -> Option<String> {
        self.env()
            .get(name)
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    fn caps(&self) -> BTreeSet<String> {
        self.container["securityContext"]["capabilities"]["add"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn tun_mounted(&self) -> bool {
        let mounts = self.container["volumeMounts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(mount) = mounts.iter().find(|m| m["mountPath"] == "/dev/net/tun") else {
            return false;
        };
        let volumes = self.pod["volumes"].as_array().cloned().unwrap_or_default();
        volumes.iter().any(|v| {
            v["name"] == mount["name"]
                && v["hostPath"]["path"] == "/dev/net/tun"
                && v["hostPath"]["type"] == "CharDevice"
        })
    }

    fn secret(&self) -> Option<String> {
        self.env()
            .get("WIREGUARD_PRIVATE_KEY")
            .and_then(|v| v["secretKeyRef"]["name"].as_str().map(str::to_owned))
    }
}

fn docs(plan: &Plan) -> Vec<(String, Json)> {
    let mut out = Vec::new();
    for (path, bytes) in plan.files() {
        if !path.ends_with(".yaml") {
            continue;
        }
        let text = std::str::from_utf8(bytes).expect("UTF-8");
        let doc: Json = serde_norway::from_str(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        out.push((path.to_owned(), doc));
    }
    out
}

/// Every container named `gluetun` or running a gluetun image, in every document.
fn gluetuns(plan: &Plan) -> Vec<Found> {
    let mut out = Vec::new();
    for (file, doc) in docs(plan) {
        let pod = doc["spec"]["template"]["spec"].clone();
        for (list, sidecar) in [("containers", false), ("initContainers", true)] {
            for c in pod[list].as_array().cloned().unwrap_or_default() {
                let image = c["image"].as_str().unwrap_or_default();
                // The sidecar component's first patch deletes a hand-written gluetun.
                let deletion = c["$patch"] == "delete";
                if !deletion && (c["name"] == "gluetun" || image.contains("gluetun")) {
                    out.push(Found {
                        file: file.clone(),
                        container: c,
                        pod: pod.clone(),
                        sidecar,
                    });
                }
            }
        }
    }
    out
}

fn text(plan: &Plan, path: &str) -> String {
    String::from_utf8(
        plan.get(path)
            .unwrap_or_else(|| panic!("{path} missing"))
            .to_vec(),
    )
    .expect("UTF-8")
}

const PROXY_DIR: &str = "kubernetes/base/infra/network/vpn-proxy";

/// The properties every gluetun must have, whatever the variant.
fn check_every_gluetun(network: &avalanche_model::Network, plan: &Plan) -> Vec<Found> {
    let version = network.egress.version();
    let found = gluetuns(plan);
    assert!(!found.is_empty(), "no gluetun in the plan");
    for g in &found {
        let at = &g.file;
        // The variable table: each variable exists in the declared release.
        for name in g.env().keys() {
            let row = gluetun::var(name)
                .unwrap_or_else(|| panic!("{at}: `{name}` is not in the variable table"));
            assert!(
                gluetun::reads(version, name),
                "{at}: `{name}` is read from {} on, the image is {version}",
                row.since
            );
        }
        assert!(g.value("METRICS_TYPE").is_none(), "{at}");
        // Port forwarding only where gluetun supports it, and its filter only where
        // the provider has such servers (gluetun exits at start otherwise).
        let service = g.value("VPN_SERVICE_PROVIDER").unwrap_or_default();
        if g.value("VPN_PORT_FORWARDING").as_deref() == Some("on") {
            assert!(gluetun::forwards_ports(&service), "{at}: {service}");
        }
        if g.value("PORT_FORWARD_ONLY").is_some() {
            assert!(
                gluetun::has_port_forward_only_servers(&service),
                "{at}: {service}"
            );
        }
        if g.value("VPN_PORT_FORWARDING_UP_COMMAND").is_some() {
            assert_eq!(
                g.value("VPN_PORT_FORWARDING").as_deref(),
                Some("on"),
                "{at}"
            );
        }
        let wireguard = g.value("VPN_TYPE").as_deref() == Some("wireguard");
        assert_eq!(
            g.env()
                .contains_key("WIREGUARD_PERSISTENT_KEEPALIVE_INTERVAL"),
            wireguard,
            "{at}: keepalive on WireGuard only"
        );
        assert!(
            !g.env().contains_key("WIREGUARD_PERSISTENT_KEEPALIVE"),
            "{at}"
        );
        // The file owner: root's own files need no CHOWN (nor SETUID for OpenVPN).
        assert_eq!(g.value("PUID").as_deref(), Some("0"), "{at}");
        assert_eq!(g.value("PGID").as_deref(), Some("0"), "{at}");
        assert_eq!(
            g.value("HTTP_CONTROL_SERVER_ADDRESS").as_deref(),
            Some("127.0.0.1:8000"),
            "{at}"
        );
        // The TUN device: mounted, or MKNOD, or privileged.
        let caps = g.caps();
        let privileged = g.container["securityContext"]["privileged"] == true;
        assert!(
            g.tun_mounted() || caps.contains("MKNOD") || privileged,
            "{at}: gluetun can neither open nor create /dev/net/tun"
        );
        assert_eq!(
            g.container["securityContext"]["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{at}"
        );
        for needed in ["NET_ADMIN", "NET_BIND_SERVICE"] {
            assert!(caps.contains(needed), "{at}: {needed} missing: {caps:?}");
        }
        let icmp = g.value("HEALTH_SMALL_CHECK_TYPE").as_deref() == Some("icmp");
        assert_eq!(
            caps.contains("NET_RAW"),
            icmp,
            "{at}: NET_RAW only for ICMP"
        );
        assert!(
            !caps.contains("CHOWN") && !caps.contains("SYS_ADMIN"),
            "{at}"
        );
        // Probes: no liveness on sidecars, a lenient one on proxies.
        assert!(g.container["startupProbe"].is_object(), "{at}");
        if g.sidecar {
            assert!(g.container.get("livenessProbe").is_none(), "{at}");
            assert_eq!(g.container["restartPolicy"], "Always", "{at}");
            let first = &g.pod["initContainers"][0]["name"];
            assert_eq!(
                first, "gluetun",
                "{at}: gluetun must be the first init container"
            );
        } else {
            // Issue 14 item 8: cluster DNS and nothing else of the cluster. The only
            // cluster destination the proxy's firewall admits is the DNS Service's
            // address (a single address of the service network): a client going
            // through the proxy reaches no pod and no other Service.
            let dns = network.kubernetes.dns_service_ip();
            let k = &network.kubernetes;
            let subnets = g.value("FIREWALL_OUTBOUND_SUBNETS").unwrap_or_default();
            let subnets: Vec<_> = subnets
                .split(',')
                .map(|s| {
                    avalanche_model::Cidr::parse(s)
                        .unwrap_or_else(|e| panic!("{at}: {e}"))
                        .0
                })
                .collect();
            assert_eq!(subnets.len(), 1, "{at}: {subnets:?}");
            assert_eq!(subnets[0].addr(), dns, "{at}: {subnets:?}");
            assert!(k.service_cidr.value.0.contains(&dns), "{at}: {dns}");
            for net in &subnets {
                assert_eq!(
                    net.hosts().count(),
                    1,
                    "{at}: {net} is more than one address"
                );
                assert!(!net.contains(&k.pod_cidr.value.0.network()), "{at}: {net}");
            }
            assert_eq!(
                g.pod["dnsConfig"],
                serde_json::json!({ "options": [{ "name": "ndots", "value": "1" }] }),
                "{at}"
            );
            let l = &g.container["livenessProbe"];
            let tolerated = l["periodSeconds"].as_u64().unwrap_or(0)
                * l["failureThreshold"].as_u64().unwrap_or(0);
            assert!(tolerated >= 600, "{at}: liveness kills after {tolerated} s");
            assert!(g.container["readinessProbe"].is_object(), "{at}");
        }
    }
    // One key per running gluetun.
    let mut by_secret: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for g in &found {
        if let Some(secret) = g.secret() {
            by_secret.entry(secret).or_default().push(&g.file);
        }
    }
    for (secret, users) in &by_secret {
        assert_eq!(users.len(), 1, "secret `{secret}` is used by {users:?}");
    }
    found
}

#[test]
fn bundled_gluetuns_start_and_stay_up() {
    let (network, plan) = variant(&[]);
    let found = check_every_gluetun(&network, &plan);
    assert_eq!(found.len(), 3, "two proxies and qbittorrent's sidecar");
    for g in &found {
        assert!(
            g.tun_mounted(),
            "{}: the default is the host's device",
            g.file
        );
        assert_eq!(
            g.caps(),
            BTreeSet::from(["NET_ADMIN".to_owned(), "NET_BIND_SERVICE".to_owned()]),
            "{}",
            g.file
        );
        assert_eq!(
            g.value("WIREGUARD_PERSISTENT_KEEPALIVE_INTERVAL")
                .as_deref(),
            Some("25s")
        );
    }
    let sidecar = found.iter().find(|g| g.sidecar).expect("the sidecar");
    assert_eq!(sidecar.value("PORT_FORWARD_ONLY").as_deref(), Some("on"));
    let command = sidecar
        .value("VPN_PORT_FORWARDING_UP_COMMAND")
        .expect("the up command");
    assert!(
        command.starts_with("/bin/sh -c 'echo {{PORT}} > ")
            && command.contains("http://127.0.0.1:8080/api/v2/app/setPreferences")
            && command.contains(r#"--post-data "json={\"listen_port\":$p}""#),
        "{command}"
    );
    let down = sidecar
        .value("VPN_PORT_FORWARDING_DOWN_COMMAND")
        .expect("the down command");
    assert!(down.starts_with("/bin/sh -c ': > /tmp/"), "{down}");
    // Native sidecars are init containers: the alert reads their own series.
    let rule: Json =
        serde_norway::from_str(&text(&plan, &format!("{PROXY_DIR}/prometheusrule.yaml")))
            .expect("YAML");
    let sidecar_alert = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["alert"] == "VpnSidecarRestarting"))
        .expect("the sidecar alert");
    assert_eq!(
        sidecar_alert["expr"],
        "increase(kube_pod_init_container_status_restarts_total{namespace=~\"media\", container=\"gluetun\"}[15m]) > 3"
    );
    // An HTTP-only client is admitted to 8888 only.
    let np = text(&plan, &format!("{PROXY_DIR}/networkpolicy-iceland.yaml"));
    assert!(np.contains("port: 8888") && !np.contains("8388"), "{np}");
}

#[test]
fn variants_start_and_stay_up() {
    let shadowsocks = [("protocol = \"http\";", "protocol = \"shadowsocks\";")];
    let (network, plan) = variant(&shadowsocks);
    check_every_gluetun(&network, &plan);
    let np = text(&plan, &format!("{PROXY_DIR}/networkpolicy-iceland.yaml"));
    assert!(np.contains("port: 8388") && !np.contains("8888"), "{np}");

    let no_port_forwarding = [
        ("portForwarding = true;", "portForwarding = false;"),
        ("forwardedPortTo = { app = \"qbittorrent\"; };", ""),
    ];
    let (network, plan) = variant(&no_port_forwarding);
    let found = check_every_gluetun(&network, &plan);
    assert!(
        found
            .iter()
            .all(|g| g.value("VPN_PORT_FORWARDING").is_none())
    );

    let monitoring_off = [("monitoring.enable = true;", "monitoring.enable = false;")];
    let (network, plan) = variant(&monitoring_off);
    check_every_gluetun(&network, &plan);
    assert!(
        plan.get(&format!("{PROXY_DIR}/prometheusrule.yaml"))
            .is_none()
    );

    let mullvad = [
        (
            "providers.protonvpn = {",
            "providers.mullvad = { credentials = \"mullvad\"; };\n      providers.protonvpn = {",
        ),
        (
            "provider = \"protonvpn\";\n          countries = [ \"Netherlands\" ];\n          credentials = \"protonvpn-netherlands\";",
            "provider = \"mullvad\";\n          countries = [ \"Netherlands\" ];",
        ),
        (
            "    secrets.protonvpn-netherlands = {",
            "    secrets.mullvad = { file = \"kubernetes/mullvad.sops.yaml\"; keys = [ \"WIREGUARD_PRIVATE_KEY\" \"WIREGUARD_ADDRESSES\" \"SHADOWSOCKS_PASSWORD\" ]; };\n    secrets.protonvpn-netherlands = {",
        ),
    ];
    let (network, plan) = variant(&mullvad);
    let found = check_every_gluetun(&network, &plan);
    assert!(
        found
            .iter()
            .any(|g| g.value("VPN_SERVICE_PROVIDER").as_deref() == Some("mullvad"))
    );

    // A provider that forwards ports without port-forward-only servers, and a
    // declared command: no `PORT_FORWARD_ONLY` (gluetun would exit), the command as written.
    let privatevpn = [
        (
            "providers.protonvpn = {",
            "providers.privatevpn = { };\n      providers.protonvpn = {",
        ),
        (
            "namespace = \"media\";\n        provider = \"protonvpn\";",
            "namespace = \"media\";\n        provider = \"privatevpn\";",
        ),
        (
            "forwardedPortTo = { app = \"qbittorrent\"; };",
            "forwardedPortTo = { command = \"/bin/sh -c 'echo {{PORT}} > /gluetun/port'\"; downCommand = \"rm -f /gluetun/port\"; };",
        ),
    ];
    let (network, plan) = variant(&privatevpn);
    let found = check_every_gluetun(&network, &plan);
    let sidecar = found.iter().find(|g| g.sidecar).expect("the sidecar");
    assert_eq!(
        sidecar.value("VPN_SERVICE_PROVIDER").as_deref(),
        Some("privatevpn")
    );
    assert_eq!(sidecar.value("VPN_PORT_FORWARDING").as_deref(), Some("on"));
    assert!(
        sidecar.value("PORT_FORWARD_ONLY").is_none(),
        "{}",
        sidecar.file
    );
    assert_eq!(
        sidecar.value("VPN_PORT_FORWARDING_UP_COMMAND").as_deref(),
        Some("/bin/sh -c 'echo {{PORT}} > /gluetun/port'")
    );
    assert_eq!(
        sidecar.value("VPN_PORT_FORWARDING_DOWN_COMMAND").as_deref(),
        Some("rm -f /gluetun/port")
    );

    // Another cluster's service network: its DNS address follows (kubeadm's
    // 10.96.0.10), or is declared.
    let kubeadm = [(
        "serviceCIDR = \"10.43.0.0/16\";",
        "serviceCIDR = \"10.96.0.0/12\";",
    )];
    let (network, plan) = variant(&kubeadm);
    let found = check_every_gluetun(&network, &plan);
    let proxy = found.iter().find(|g| !g.sidecar).expect("a proxy");
    assert_eq!(
        proxy.value("FIREWALL_OUTBOUND_SUBNETS").as_deref(),
        Some("10.96.0.10/32")
    );
    let declared = [(
        "serviceCIDR = \"10.43.0.0/16\";",
        "serviceCIDR = \"10.43.0.0/16\";\n      dnsServiceIP = \"10.43.0.53\";",
    )];
    let (network, plan) = variant(&declared);
    let found = check_every_gluetun(&network, &plan);
    let proxy = found.iter().find(|g| !g.sidecar).expect("a proxy");
    assert_eq!(
        proxy.value("FIREWALL_OUTBOUND_SUBNETS").as_deref(),
        Some("10.43.0.53/32")
    );

    let openvpn = [("type = \"wireguard\";", "type = \"openvpn\";")];
    let (network, plan) = variant(&openvpn);
    let found = check_every_gluetun(&network, &plan);
    for g in &found {
        assert!(g.env().contains_key("OPENVPN_USER"), "{}", g.file);
        assert!(g.container.get("lifecycle").is_none(), "{}", g.file);
    }

    let mknod_icmp_older = [
        (
            "image = \"qmcgaw/gluetun:v3.41.3\";",
            "image = \"qmcgaw/gluetun:v3.40.4\";",
        ),
        ("tunDevice = \"host-device\";", "tunDevice = \"mknod\";"),
        (
            "countries = [ \"Iceland\" ];\n        };",
            "countries = [ \"Iceland\" ];\n          healthCheck = \"icmp\";\n        };",
        ),
    ];
    let (network, plan) = variant(&mknod_icmp_older);
    let found = check_every_gluetun(&network, &plan);
    for g in &found {
        assert!(!g.tun_mounted() && g.caps().contains("MKNOD"), "{}", g.file);
        // v3.40 has no small health check (and no ICMP): no variable, no NET_RAW.
        assert!(g.value("HEALTH_SMALL_CHECK_TYPE").is_none(), "{}", g.file);
    }

    let icmp_privileged = [
        (
            "countries = [ \"Iceland\" ];\n        };",
            "countries = [ \"Iceland\" ];\n          healthCheck = \"icmp\";\n          tunDevice = \"privileged\";\n        };",
        ),
        ("keepalive = \"25s\";", "keepalive = \"1m\";"),
    ];
    let (network, plan) = variant(&icmp_privileged);
    let found = check_every_gluetun(&network, &plan);
    let iceland = found
        .iter()
        .find(|g| g.file.ends_with("deployment-iceland.yaml"))
        .expect("the Iceland proxy");
    assert!(iceland.caps().contains("NET_RAW"));
    assert_eq!(iceland.container["securityContext"]["privileged"], true);
    assert_eq!(
        iceland
            .value("WIREGUARD_PERSISTENT_KEEPALIVE_INTERVAL")
            .as_deref(),
        Some("1m")
    );
}

/// The table itself: each row names a settings file and a release of the table.
#[test]
fn the_variable_table_is_consistent() {
    let mut seen = BTreeSet::new();
    for v in gluetun::VARIABLES {
        assert!(seen.insert(v.name), "{} twice", v.name);
        assert!(gluetun::known(v.since), "{v:?}");
        assert!(v.source.ends_with(".go"), "{v:?}");
    }
    // Variables that no release reads are not in it.
    for absent in [
        "METRICS_TYPE",
        "WIREGUARD_PERSISTENT_KEEPALIVE",
        "SOCKS5_ENABLED",
    ] {
        assert!(gluetun::var(absent).is_none(), "{absent}");
    }
}

/// Issue 14 item 12: an enforced client's in-cluster dependencies and LAN hosts
/// become rules of its egress fence, and a LAN CIDR goes direct (`NO_PROXY`).
#[test]
fn allowed_destinations_open_the_fence_and_no_proxy() {
    let path = "kubernetes/base/apps/irc/marmithon/vpn-egress";
    let (_, plan) = variant(&[]);
    let policy: Json =
        serde_norway::from_str(&text(&plan, &format!("{path}/networkpolicy.yaml"))).expect("YAML");
    assert_eq!(
        policy["spec"]["egress"].as_array().map(Vec::len),
        Some(2),
        "proxy and DNS only: {policy}"
    );
    let declared = [(
        "        enforce = true;\n      };",
        "        enforce = true;\n        allowedDestinations = [\n          { namespace = \"irc\"; podLabels = { \"app.kubernetes.io/name\" = \"redis\"; }; ports = [ 6379 ]; }\n          { namespace = \"monitoring\"; }\n          { cidr = \"192.168.1.0/24\"; ports = [ 443 ]; }\n        ];\n      };",
    )];
    let (_, plan) = variant(&declared);
    let policy: Json =
        serde_norway::from_str(&text(&plan, &format!("{path}/networkpolicy.yaml"))).expect("YAML");
    let egress = policy["spec"]["egress"].as_array().expect("egress rules");
    assert_eq!(egress.len(), 5, "{policy}");
    assert_eq!(
        egress[2],
        serde_json::json!({
            "to": [{
                "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "irc" } },
                "podSelector": { "matchLabels": { "app.kubernetes.io/name": "redis" } },
            }],
            "ports": [{ "port": 6379, "protocol": "TCP" }],
        })
    );
    assert_eq!(
        egress[3],
        serde_json::json!({
            "to": [{
                "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "monitoring" } },
            }],
        }),
        "every pod, every port"
    );
    assert_eq!(
        egress[4],
        serde_json::json!({
            "to": [{ "ipBlock": { "cidr": "192.168.1.0/24" } }],
            "ports": [{ "port": 443, "protocol": "TCP" }],
        })
    );
    let patch: Json =
        serde_norway::from_str(&text(&plan, &format!("{path}/deployment-patch.yaml")))
            .expect("YAML");
    let env = &patch["spec"]["template"]["spec"]["containers"][0]["env"];
    let no_proxy = env
        .as_array()
        .and_then(|e| e.iter().find(|v| v["name"] == "NO_PROXY"))
        .and_then(|v| v["value"].as_str())
        .expect("NO_PROXY");
    assert!(no_proxy.ends_with(",192.168.1.0/24"), "{no_proxy}");
}
