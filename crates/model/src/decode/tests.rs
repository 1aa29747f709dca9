//! Decoding tests: the bundled network, the `nix eval` form with every default
//! explicit, and every error kind with its rule and line:column.
use super::*;
use avalanche_diag::{RenderOptions, SourceMap, render_human};
use std::path::Path as FsPath;

const BUNDLED: &str = include_str!("../../../../nix/network.nix");

struct Decoded {
    network: Option<Network>,
    diagnostics: Vec<Diagnostic>,
    sources: SourceMap,
}

impl Decoded {
    /// `(rule, line, column)` of every diagnostic, in the order reported.
    fn at(&self) -> Vec<(&str, usize, usize)> {
        self.diagnostics
            .iter()
            .map(|d| {
                let (line, col) = d.span.map_or((0, 0), |s| self.sources.line_col(s));
                (d.rule.as_str(), line, col)
            })
            .collect()
    }

    fn rendered(&self) -> String {
        render_human(&self.diagnostics, &self.sources, RenderOptions::default())
    }

    fn only(&self) -> &Diagnostic {
        assert_eq!(
            self.diagnostics.len(),
            1,
            "expected one diagnostic:\n{}",
            self.rendered()
        );
        &self.diagnostics[0]
    }
}

fn decode_nix(text: &str) -> Decoded {
    let mut sources = SourceMap::default();
    let value = avalanche_nix::read_source(FsPath::new("nix/network.nix"), text, &mut sources)
        .unwrap_or_else(|d| {
            panic!(
                "the test input does not read: {}",
                render_human(&d, &sources, RenderOptions::default())
            )
        });
    let (network, diagnostics) = decode(&value);
    if network.is_some() {
        assert!(!avalanche_diag::has_errors(&diagnostics));
    }
    Decoded {
        network,
        diagnostics,
        sources,
    }
}

/// A module around `inner`, the body of `avalanche.network`.
fn module(inner: &str) -> String {
    format!("{{\n  avalanche.network = {{\n{inner}\n  }};\n}}\n")
}

fn decode_json(json: &str) -> (Option<Network>, Vec<Diagnostic>) {
    let json: serde_json::Value = serde_json::from_str(json).expect("test JSON");
    decode(&Value::from_json(&json))
}

fn name(s: &str) -> Name {
    Name::new(s).expect("a valid name")
}

#[test]
fn bundled_network_decodes_cleanly() {
    let decoded = decode_nix(BUNDLED);
    assert!(decoded.diagnostics.is_empty(), "{}", decoded.rendered());
    let network = decoded.network.expect("a network");

    let vps = &network.retired[&name("vps")];
    assert_eq!(vps.description, "Hetzner CAX11 Tailscale exit node");
    assert_eq!(
        vps.aliases.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        ["hetzner"]
    );
    assert_eq!(vps.monthly_cost, 4.49);
    assert_eq!(vps.currency, "EUR");
    assert_eq!(vps.age_recipients.len(), 1);

    let nodes = &network.tailscale.nodes;
    assert_eq!(
        nodes.keys().map(Name::as_str).collect::<Vec<_>>(),
        ["calypso", "mysecrets", "phone", "routy"]
    );
    assert_eq!(*nodes[&name("routy")].role, Role::SubnetRouter);
    assert_eq!(
        nodes[&name("routy")].advertise_routes[0].to_string(),
        "10.1.0.0/24"
    );
    assert_eq!(*nodes[&name("mysecrets")].tags[0], "tag:infra");
    assert_eq!(*nodes[&name("phone")].role, Role::Device);
    assert_eq!(*network.tailscale.exit_nodes, Permission::Forbidden);

    let egress = &network.egress;
    assert_eq!(*egress.image, "qmcgaw/gluetun:v3.41.3");
    let proton = &egress.providers[&name("protonvpn")];
    assert_eq!(
        (proton.service.as_str(), *proton.vpn_type),
        ("protonvpn", VpnType::Wireguard)
    );
    assert_eq!(
        egress.proxies.keys().map(Name::as_str).collect::<Vec<_>>(),
        ["iceland", "netherlands"]
    );
    assert_eq!(egress.proxies[&name("iceland")].replicas, 1);
    assert_eq!(
        egress.proxies[&name("iceland")].health_check,
        HealthCheck::Dns
    );
    let qbit = &egress.sidecars[&name("qbittorrent")];
    assert_eq!(
        (qbit.namespace.as_str(), qbit.deployment.as_str()),
        ("media", "qbittorrent")
    );
    assert!(qbit.port_forwarding);
    assert_eq!(
        qbit.input_ports.iter().map(|p| **p).collect::<Vec<_>>(),
        [8080]
    );
    let bot = &egress.clients[&name("marmithon")];
    assert_eq!(
        (bot.namespace.as_str(), bot.proxy.as_str()),
        ("irc", "iceland")
    );
    assert_eq!((*bot.protocol, bot.enforce), (ClientProtocol::Http, true));
    assert_eq!(
        bot.pod_labels
            .get("app.kubernetes.io/name")
            .map(String::as_str),
        Some("marmithon")
    );
    assert_eq!(bot.deployment.as_str(), "marmithon");
    assert!(bot.deployment.span.is_none(), "a default has no span");

    let secrets = &network.secrets;
    assert_eq!(secrets[&name("protonvpn")].format, SecretFormat::Kubernetes);
    assert_eq!(secrets[&name("protonvpn")].keys.len(), 3);
    assert_eq!(
        secrets[&name("routy-tailscale")].format,
        SecretFormat::Plain
    );
    assert_eq!(
        *secrets[&name("routy-tailscale")].file,
        "secrets/routy/tailscale.yaml"
    );

    let k = &network.kubernetes;
    assert!(k.monitoring.enable);
    assert_eq!(k.argocd.repo_url, "https://github.com/OWNER/avalanche.git");
    assert_eq!(
        (k.pod_cidr.to_string(), k.service_cidr.to_string()),
        ("10.42.0.0/16".into(), "10.43.0.0/16".into())
    );

    // Spans point into the file.
    let span = nodes[&name("routy")].role.span.expect("a span");
    assert_eq!(
        decoded.sources.text(span.file)[span.start as usize..span.end as usize].to_owned(),
        "\"subnet-router\""
    );
}

#[test]
fn the_bundled_json_decodes_like_the_nix() {
    let mut sources = SourceMap::default();
    let value = avalanche_nix::read_source(FsPath::new("nix/network.nix"), BUNDLED, &mut sources)
        .expect("reads");
    let (network, diagnostics) = decode(&Value::from_json(&value.to_json()));
    assert!(diagnostics.is_empty());
    let network = network.expect("a network");
    let static_network = decode(&value).0.expect("a network");
    // Same content; only the spans differ.
    assert_eq!(
        format!("{:?}", network.egress.proxies.keys().collect::<Vec<_>>()),
        "[Name(\"iceland\"), Name(\"netherlands\")]"
    );
    let (json_vps, static_vps) = (
        &network.retired[&name("vps")],
        &static_network.retired[&name("vps")],
    );
    assert_eq!(json_vps.description, static_vps.description);
    assert_eq!(
        json_vps
            .aliases
            .iter()
            .map(|a| &a.value)
            .collect::<Vec<_>>(),
        static_vps
            .aliases
            .iter()
            .map(|a| &a.value)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        (json_vps.monthly_cost, &json_vps.currency),
        (static_vps.monthly_cost, &static_vps.currency)
    );
    assert!(json_vps.aliases[0].span.is_none() && static_vps.aliases[0].span.is_some());
    assert_eq!(network.kubernetes.argocd, static_network.kubernetes.argocd);
    assert_eq!(
        network.egress.clients[&name("marmithon")].pod_labels,
        static_network.egress.clients[&name("marmithon")].pod_labels
    );
}

/// What `nix eval .#lib.network` prints: the bare value, every default explicit,
/// `null` for unset optional attributes.
const EVALUATED: &str = r#"{
  "retired": { "vps": { "description": "Hetzner CAX11 Tailscale exit node", "aliases": [ "hetzner" ],
      "ageRecipients": [ "age1vwqtca3dnr6t844x99nun324vv7sy6gve8lsuvdn8dvfqax7zymq3n5vra" ],
      "monthlyCost": 4.49, "currency": "EUR" } },
  "tailscale": { "exitNodes": "forbidden", "kubernetesOperator": "forbidden", "nodes": {
      "routy": { "role": "subnet-router", "advertiseRoutes": [ "10.1.0.0/24" ], "tags": [] },
      "phone": { "role": "device", "advertiseRoutes": [], "tags": [] } } },
  "egress": {
    "image": "qmcgaw/gluetun:v3.41.3", "tunDevice": "host-device", "keepalive": "25s",
    "providers": { "protonvpn": { "service": "protonvpn", "type": "wireguard", "credentials": "protonvpn" } },
    "proxies": { "iceland": { "provider": "protonvpn", "countries": [ "Iceland" ], "replicas": 1,
        "healthCheck": "dns", "tunDevice": null, "keepalive": null, "credentials": null,
        "controlServer": "127.0.0.1:8000" } },
    "sidecars": { "qbittorrent": { "namespace": "media", "deployment": "qbittorrent", "provider": "protonvpn",
        "countries": [ "Iceland" ], "portForwarding": true, "inputPorts": [ 8080 ], "healthCheck": "dns",
        "tunDevice": null, "keepalive": null, "credentials": null, "controlServer": "127.0.0.1:8000" } },
    "clients": { "marmithon": { "namespace": "irc", "deployment": "marmithon", "proxy": "iceland",
        "protocol": "http", "enforce": true, "podLabels": { "app.kubernetes.io/name": "marmithon" } } } },
  "secrets": { "protonvpn": { "format": "kubernetes", "file": "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml",
      "keys": [ "WIREGUARD_PRIVATE_KEY" ], "namespace": null } },
  "kubernetes": { "dir": "kubernetes", "podCIDR": "10.42.0.0/16", "serviceCIDR": "10.43.0.0/16",
    "clusterDomain": "cluster.local",
    "argocd": { "namespace": "argocd", "project": "default", "repoURL": "https://github.com/OWNER/avalanche.git",
      "targetRevision": "main" },
    "monitoring": { "enable": true }, "verification": { "enable": false } }
}"#;

#[test]
fn the_evaluated_form_with_every_default_explicit_decodes() {
    let (network, diagnostics) = decode_json(EVALUATED);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let network = network.expect("a network");
    assert_eq!(network.secrets[&name("protonvpn")].namespace, None);
    assert_eq!(
        network.egress.sidecars[&name("qbittorrent")]
            .deployment
            .as_str(),
        "qbittorrent"
    );
    assert_eq!(
        network.kubernetes,
        Kubernetes {
            monitoring: Monitoring {
                enable: true,
                ..Monitoring::default()
            },
            ..Kubernetes::default()
        }
    );
}

#[test]
fn defaults_come_from_the_defaults_module() {
    let (network, diagnostics) = decode_json(
        r#"{ "egress": { "providers": { "mullvad": {} },
              "proxies": { "ch": { "provider": "mullvad", "countries": ["x"] } },
              "clients": { "bot": { "namespace": "irc", "proxy": "ch" } } },
             "secrets": { "s": { "file": "s.yaml", "keys": [] } } }"#,
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let network = network.expect("a network");
    let mullvad = &network.egress.providers[&name("mullvad")];
    assert_eq!(
        (mullvad.service.as_str(), mullvad.credentials.as_str()),
        ("mullvad", "mullvad")
    );
    assert_eq!(mullvad.vpn_type.as_str(), crate::defaults::VPN_TYPE);
    let ch = &network.egress.proxies[&name("ch")];
    assert_eq!(ch.replicas, crate::defaults::PROXY_REPLICAS);
    assert_eq!(ch.health_check.as_str(), crate::defaults::HEALTH_CHECK);
    assert_eq!(ch.tun_device, None);
    assert_eq!(
        network.egress.tun_device.as_str(),
        crate::defaults::TUN_DEVICE
    );
    assert_eq!(
        network.egress.keepalive.as_str(),
        crate::defaults::KEEPALIVE
    );
    assert_eq!(ch.control_server.as_str(), crate::defaults::CONTROL_SERVER);
    assert_eq!(ch.credentials, None);
    let bot = &network.egress.clients[&name("bot")];
    assert_eq!(bot.protocol.as_str(), crate::defaults::CLIENT_PROTOCOL);
    assert_eq!(bot.enforce, crate::defaults::CLIENT_ENFORCE);
    assert_eq!(bot.deployment.as_str(), "bot");
    assert_eq!(
        bot.pod_labels
            .get(crate::defaults::POD_LABEL_KEY)
            .map(String::as_str),
        Some("bot")
    );
    assert_eq!(
        network.secrets[&name("s")].format.as_str(),
        crate::defaults::SECRET_FORMAT
    );
    assert_eq!(*network.egress.image, crate::defaults::GLUETUN_IMAGE);
    assert_eq!(network.kubernetes, Kubernetes::default());
    assert_eq!(network.tailscale, Tailscale::default());
}

#[test]
fn an_empty_network_is_valid() {
    let (network, diagnostics) = decode_json(r#"{ "avalanche": { "network": {} } }"#);
    assert!(diagnostics.is_empty());
    assert_eq!(network, Some(Network::default()));
}

#[test]
fn unknown_attribute_with_did_you_mean() {
    let d = decode_nix(&module(
        "    tailscale.nodes.routy = { role = \"subnet-router\"; advertisedRoutes = [ \"10.1.0.0/24\" ]; };",
    ));
    assert_eq!(d.at(), [("model-unknown-attribute", 3, 55)]);
    let only = d.only();
    assert_eq!(
        only.help.as_deref(),
        Some("did you mean `advertiseRoutes`?")
    );
    assert!(
        only.notes[0].contains("role, advertiseRoutes, tags"),
        "{:?}",
        only.notes
    );
    assert!(
        only.message.contains("`tailscale.nodes.routy`"),
        "{}",
        only.message
    );
    assert!(d.network.is_none());
    insta::assert_snapshot!(d.rendered());
}

#[test]
fn unknown_attribute_without_a_close_match_lists_the_valid_ones() {
    let d = decode_nix(&module("    egress.frobnicate = true;"));
    assert_eq!(d.at(), [("model-unknown-attribute", 3, 12)]);
    assert_eq!(d.only().help, None);
    assert!(
        d.only().notes[0]
            .contains("image, tunDevice, keepalive, providers, proxies, sidecars, clients")
    );
}

#[test]
fn unknown_top_level_attributes() {
    let d = decode_nix(
        "{\n  avalanche.network = { };\n  avalanch.foo = 1;\n  avalanche.netwrk = { };\n}\n",
    );
    assert_eq!(
        d.at(),
        [
            ("model-unknown-attribute", 3, 3),
            ("model-unknown-attribute", 4, 13)
        ]
    );
    assert_eq!(
        d.diagnostics[0].help.as_deref(),
        Some("did you mean `avalanche`?")
    );
    assert_eq!(
        d.diagnostics[1].help.as_deref(),
        Some("did you mean `network`?")
    );
}

#[test]
fn wrong_types() {
    let d = decode_nix(&module(concat!(
        "    tailscale.nodes.mysecrets = { role = \"server\"; tags = \"tag:infra\"; };\n",
        "    egress.sidecars.qb = { namespace = \"media\"; provider = \"p\"; countries = [ 1 ]; portForwarding = \"yes\"; };\n",
        "    kubernetes.argocd = \"argocd\";",
    )));
    assert_eq!(
        d.at(),
        [
            ("model-type", 3, 59),
            ("model-type", 4, 79),
            ("model-type", 4, 101),
            ("model-type", 5, 25)
        ],
        "{}",
        d.rendered()
    );
    assert_eq!(
        d.diagnostics[0].labels[0].message,
        "expected a list of strings, found a string"
    );
    assert_eq!(
        d.diagnostics[0].help.as_deref(),
        Some("wrap it in a list: `[ … ]`")
    );
    assert_eq!(
        d.diagnostics[1].labels[0].message,
        "expected a string, found an int"
    );
    assert!(
        d.diagnostics[1]
            .message
            .contains("`egress.sidecars.qb.countries[0]`")
    );
    assert_eq!(
        d.diagnostics[2].labels[0].message,
        "expected a bool (`true` or `false`), found a string"
    );
    assert_eq!(
        d.diagnostics[3].labels[0].message,
        "expected an attribute set, found a string"
    );
    insta::assert_snapshot!(d.rendered());
}

#[test]
fn names_must_be_dns_labels() {
    let d = decode_nix(&module(concat!(
        "    tailscale.nodes.My_Router = { role = \"server\"; };\n",
        "    egress.proxies.iceland = { provider = \"Proton VPN\"; countries = [ \"x\" ]; };\n",
        "    retired.vps = { description = \"x\"; aliases = [ \"-old\" ]; };",
    )));
    assert_eq!(
        d.at(),
        [
            ("model-name", 3, 21),
            ("model-name", 4, 43),
            ("model-name", 5, 52)
        ],
        "{}",
        d.rendered()
    );
    assert_eq!(d.diagnostics[0].help.as_deref(), Some("use `my-router`"));
    assert_eq!(d.diagnostics[1].help.as_deref(), Some("use `proton-vpn`"));
    assert_eq!(d.diagnostics[2].help.as_deref(), Some("use `old`"));
    assert!(
        d.diagnostics[0].labels[0]
            .message
            .contains("only lowercase letters")
    );
    insta::assert_snapshot!(d.rendered());
}

#[test]
fn cidrs() {
    let d = decode_nix(&module(concat!(
        "    tailscale.nodes.routy = { role = \"subnet-router\"; advertiseRoutes = [ \"10.1.0.0/24\" \"10.1.0.1\" \"10.2.0.0/33\" ]; };\n",
        "    kubernetes.podCIDR = \"pods\";",
    )));
    assert_eq!(
        d.at(),
        [
            ("model-cidr", 3, 89),
            ("model-cidr", 3, 100),
            ("model-cidr", 4, 26)
        ],
        "{}",
        d.rendered()
    );
    assert_eq!(
        d.diagnostics[0].help.as_deref(),
        Some("for this one address, write `\"10.1.0.1/32\"`")
    );
    assert!(d.diagnostics[1].notes[0].contains("`33` is not a prefix length"));
    insta::assert_snapshot!(d.rendered());
}

#[test]
fn enums_list_the_valid_values() {
    let d = decode_nix(&module(concat!(
        "    tailscale.exitNodes = \"maybe\";\n",
        "    tailscale.nodes.routy = { role = \"subnetrouter\"; advertiseRoutes = [ \"10.1.0.0/24\" ]; };\n",
        "    egress.providers.p.type = \"ipsec\";\n",
        "    secrets.s = { format = \"yaml\"; file = \"s.yaml\"; keys = [ ]; };",
    )));
    assert_eq!(
        d.at(),
        [
            ("model-enum", 3, 27),
            ("model-enum", 4, 38),
            ("model-enum", 5, 31),
            ("model-enum", 6, 28)
        ]
    );
    let role = &d.diagnostics[1];
    assert_eq!(role.message, "unknown role `subnetrouter`");
    assert_eq!(
        role.labels[0].message,
        "expected one of: subnet-router, exit-node, workstation, server, device"
    );
    assert_eq!(
        role.help.as_deref(),
        Some("write `role = \"subnet-router\";`")
    );
    assert_eq!(
        d.diagnostics[0].labels[0].message,
        "expected one of: forbidden, allowed"
    );
    insta::assert_snapshot!(d.rendered());
}

#[test]
fn missing_required_attributes_are_reported_at_the_enclosing_attribute() {
    let d = decode_nix(&module(concat!(
        "    tailscale.nodes.calypso = { };\n",
        "    egress.proxies.iceland = { countries = [ \"Iceland\" ]; };\n",
        "    egress.clients.bot = { namespace = \"irc\"; };\n",
        "    secrets.s = { keys = [ ]; };",
    )));
    assert_eq!(
        d.at(),
        [
            ("model-missing", 3, 21),
            ("model-missing", 4, 20),
            ("model-missing", 5, 20),
            ("model-missing", 6, 13)
        ],
        "{}",
        d.rendered()
    );
    assert_eq!(
        d.diagnostics[0].message,
        "`tailscale.nodes.calypso` has no `role`"
    );
    assert_eq!(
        d.diagnostics[0].help.as_deref(),
        Some("add `role = \"server\";`")
    );
    insta::assert_snapshot!(d.rendered());
}

#[test]
fn ports() {
    let d = decode_nix(&module(
        "    egress.sidecars.qb = { namespace = \"media\"; provider = \"p\"; countries = [ \"x\" ]; inputPorts = [ 0 8080 65536 ]; };",
    ));
    assert_eq!(
        d.at(),
        [("model-port", 3, 101), ("model-port", 3, 108)],
        "{}",
        d.rendered()
    );
    assert_eq!(d.diagnostics[0].message, "port 0 is out of range");
    assert_eq!(d.diagnostics[1].message, "port 65536 is out of range");
}

#[test]
fn a_client_names_its_upstream_once() {
    // `socks5` decodes (a gateway serves it); `gateway = …` names a gateway only.
    let d = decode_nix(&module(
        "    egress.clients.marmithon = { namespace = \"irc\"; gateway = \"home\"; protocol = \"socks5\"; };",
    ));
    assert!(d.diagnostics.is_empty(), "{}", d.rendered());
    let network = d.network.expect("a network");
    let bot = &network.egress.clients["marmithon"];
    assert_eq!(bot.proxy.as_str(), "home");
    assert!(bot.gateway);
    assert_eq!(bot.protocol.value, ClientProtocol::Socks5);
    let d = decode_nix(&module(
        "    egress.clients.marmithon = { namespace = \"irc\"; proxy = \"iceland\"; gateway = \"home\"; };",
    ));
    assert_eq!(d.at(), [("model-client-upstream", 3, 72)]);
}

#[test]
fn a_gateway_http_port_is_not_its_socks_port() {
    let d = decode_nix(&module(concat!(
        "    egress.gateways.home = { host = \"routy\"; listen = \"10.1.0.1\"; httpPort = 1080;\n",
        "      tunnel = { endpoint = \"exit.example.org:51820\"; publicKey = \"e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=\"; address = \"10.99.0.2/32\"; privateKeySecret = \"k\"; }; };",
    )));
    assert_eq!(d.at(), [("model-port", 3, 78)]);
}

#[test]
fn tags_and_age_recipients() {
    let valid = "age1vwqtca3dnr6t844x99nun324vv7sy6gve8lsuvdn8dvfqax7zymq3n5vra";
    let typo = valid.replace("vwqt", "vwqq");
    // Not a real key; spelled in two parts so secret scanners do not flag the test.
    let pasted = format!("{}-1QQQQ", "AGE-SECRET-KEY");
    let d = decode_nix(&module(&format!(
        "    tailscale.nodes.s = {{ role = \"server\"; tags = [ \"infra\" \"tag:\" ]; }};\n    retired.vps = {{ description = \"x\"; ageRecipients = [ \"{valid}\" \"{typo}\" \"ssh-ed25519 AAAA\" \"{pasted}\" ]; }};",
    )));
    assert_eq!(
        d.at(),
        [
            ("model-tag", 3, 53),
            ("model-tag", 3, 61),
            ("model-age-recipient", 4, 123),
            ("model-age-recipient", 4, 188),
            ("model-age-recipient", 4, 207),
        ],
        "{}",
        d.rendered()
    );
    assert_eq!(
        d.diagnostics[0].help.as_deref(),
        Some("write `\"tag:infra\"`")
    );
    assert!(d.diagnostics[2].labels[0].message.contains("checksum"));
    assert!(
        d.diagnostics[3].labels[0]
            .message
            .contains("starts with `age1`")
    );
    // A pasted secret key is called out and never echoed.
    assert!(d.diagnostics[4].message.contains("secret"));
    assert!(!d.rendered().contains(&pasted), "{}", d.rendered());
    insta::assert_snapshot!(d.rendered());
}

#[test]
fn age_recipient_checks() {
    assert_eq!(
        age_recipient_problem("age1vwqtca3dnr6t844x99nun324vv7sy6gve8lsuvdn8dvfqax7zymq3n5vra"),
        None
    );
    assert!(
        age_recipient_problem("age1vwqtca3dnr6t844x99nun324vv7sy6gve8lsuvdn8dvfqax7zymq3n5vrb")
            .is_some()
    );
    assert!(age_recipient_problem("age1bbbbbbbbbb").is_some_and(|w| w.contains("`b`")));
    assert!(age_recipient_problem("AGE1VWQT").is_some());
}

#[test]
fn ranges_currency_paths_and_secret_keys() {
    let d = decode_nix(&module(concat!(
        "    retired.vps = { description = \"x\"; monthlyCost = -1; currency = \"eur\"; };\n",
        "    egress.proxies.p = { provider = \"p\"; countries = [ \"\" ]; replicas = -2; };\n",
        "    secrets.s = { file = \"/etc/secret.yaml\"; keys = [ \"has space\" ]; };\n",
        "    kubernetes.dir = \"../k8s\";",
    )));
    assert_eq!(
        d.at(),
        [
            ("model-range", 3, 54),
            ("model-currency", 3, 69),
            ("model-empty", 4, 56),
            ("model-range", 4, 73),
            ("model-path", 5, 26),
            ("model-secret-key", 5, 55),
            ("model-path", 6, 22),
        ],
        "{}",
        d.rendered()
    );
    assert_eq!(
        d.diagnostics[1].help.as_deref(),
        Some("write `currency = \"EUR\";`")
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let text = module(concat!(
        "    tailscale.nodes = {\n",
        "      routy = { role = \"subnetrouter\"; advertiseRoutes = [ \"10.1.0.0\" ]; };\n",
        "      Calypso = { role = \"workstation\"; tag = [ ]; };\n",
        "    };\n",
        "    egress.clients.marmithon = { namespace = \"irc\"; protocol = \"socks\"; };\n",
        "    egress.sidecars.qbittorrent = { namespace = \"media\"; provider = \"protonvpn\"; countries = [ \"Iceland\" ]; inputPorts = [ 70000 ]; };",
    ));
    let d = decode_nix(&text);
    let rules: Vec<&str> = d.at().into_iter().map(|(r, _, _)| r).collect();
    assert_eq!(
        rules,
        [
            "model-enum",
            "model-cidr",
            "model-name",
            "model-unknown-attribute",
            "model-missing",
            "model-enum",
            "model-port"
        ],
        "{}",
        d.rendered()
    );
    assert!(d.network.is_none());
    insta::assert_snapshot!(d.rendered());
}

#[test]
fn not_an_attribute_set() {
    let d = decode_nix("[ 1 2 ]\n");
    assert_eq!(d.at(), [("model-type", 1, 1)]);
    let d = decode_nix("{ avalanche = 1; }\n");
    assert_eq!(d.at(), [("model-type", 1, 15)]);
    let d = decode_nix("{ avalanche.netwrk = { }; }\n");
    assert_eq!(
        d.at(),
        [("model-missing", 1, 3), ("model-unknown-attribute", 1, 13)]
    );
}

#[test]
fn nulls_count_as_unset_for_optional_attributes() {
    let d = decode_nix(&module(
        "    secrets.s = { file = \"s.yaml\"; keys = [ ]; namespace = null; format = null; };\n    egress.image = null;",
    ));
    assert!(d.diagnostics.is_empty(), "{}", d.rendered());
    let network = d.network.expect("a network");
    assert_eq!(*network.egress.image, crate::defaults::GLUETUN_IMAGE);
    // …but a required one set to null is a type error.
    let d = decode_nix(&module("    secrets.s = { file = null; keys = [ ]; };"));
    assert_eq!(d.at(), [("model-type", 3, 26)]);
}

#[test]
fn helpers() {
    assert_eq!(
        closest("subnetrouter", &["exit-node", "subnet-router"]),
        Some("subnet-router")
    );
    assert_eq!(
        closest("podCidr", &["podCIDR", "serviceCIDR"]),
        Some("podCIDR")
    );
    assert_eq!(closest("xyz", &["role", "tags"]), None);
    assert_eq!(suggest_name("My_Router"), Some("my-router".to_owned()));
    assert_eq!(suggest_name("__"), None);
    assert_eq!(nix_string("a\"${b}"), "\"a\\\"\\${b}\"");
    assert_eq!(
        Path::Key(
            &Path::Key(&Path::Root, "podLabels"),
            "app.kubernetes.io/name"
        )
        .to_string(),
        "podLabels.\"app.kubernetes.io/name\""
    );
}

#[test]
fn errors_in_nix_eval_output_have_no_span_but_keep_their_explanation() {
    let (network, diagnostics) = decode_json(
        r#"{ "tailscale": { "nodes": { "routy": { "role": "subnetrouter", "advertiseRoutes": [] } } } }"#,
    );
    assert!(network.is_none());
    assert_eq!(diagnostics.len(), 1);
    let d = &diagnostics[0];
    assert_eq!((d.rule.as_str(), d.span), ("model-enum", None));
    assert_eq!(
        d.notes,
        ["expected one of: subnet-router, exit-node, workstation, server, device"]
    );
    assert_eq!(d.help.as_deref(), Some("write `role = \"subnet-router\";`"));
}

/// Issue 20 items 10, 15, 16, 24 and 27: what Kubernetes, gluetun, the generated
/// docs or the kill switch would reject (or be broken by) is an error at decode,
/// at the value, saying why. One line of the declarations per attack.
#[test]
fn values_that_would_break_outputs_are_rejected_where_written() {
    let long = "p".repeat(54);
    let cases: Vec<(String, &str, &str)> = vec![
        // 10: cluster ranges land in FIREWALL_OUTBOUND_SUBNETS.
        ("kubernetes.podCIDR = \"10.42.0.0/1\";".into(), "model-cluster-cidr", "host bits"),
        ("kubernetes.podCIDR = \"0.0.0.0/0\";".into(), "model-cluster-cidr", "not a private range"),
        ("kubernetes.serviceCIDR = \"10.43.0.1/16\";".into(), "model-cluster-cidr", "host bits"),
        ("kubernetes.serviceCIDR = \"100.64.0.0/16\";".into(), "model-cluster-cidr", "not a private range"),
        ("kubernetes.podCIDR = \"fd00::/8\";".into(), "model-cluster-cidr", "wider than a cluster needs"),
        // 15/17: control characters in any string.
        ("egress.proxies.is = { provider = \"p\"; countries = [ \"Iceland\\n| x |\" ]; };".into(), "model-control-char", "not allowed"),
        ("egress.image = \"qmcgaw/gluetun:v3.41.1\\r\";".into(), "model-control-char", "not allowed"),
        ("kubernetes.argocd.repoURL = \"https://x/\u{1b}[2J\";".into(), "model-control-char", "not allowed"),
        ("kubernetes.clusterDomain = \"cluster.local\\n\";".into(), "model-control-char", "not allowed"),
        ("retired.vps = { description = \"a\u{85}b\"; };".into(), "model-control-char", "not allowed"),
        // 16: what Kubernetes and gluetun reject.
        ("egress.proxies.is = { provider = \"p\"; countries = [ ]; };".into(), "model-empty", "at least one country"),
        ("egress.sidecars.qb = { namespace = \"media\"; provider = \"p\"; countries = [ \"x\" ]; inputPorts = [ 8000 ]; };".into(), "model-port", "share the pod's network"),
        ("egress.sidecars.qb = { namespace = \"media\"; provider = \"p\"; countries = [ \"x\" ]; inputPorts = [ 53 ]; };".into(), "model-port", "share the pod's network"),
        ("egress.clients.bot = { namespace = \"irc\"; proxy = \"is\"; podLabels = { \"bad key!\" = \"x\"; }; };".into(), "model-label", "only"),
        ("egress.clients.bot = { namespace = \"irc\"; proxy = \"is\"; podLabels = { app = \"-x\"; }; };".into(), "model-label", "start and end"),
        (format!("egress.clients.bot = {{ namespace = \"irc\"; proxy = \"is\"; podLabels = {{ app = \"{}\"; }}; }};", "v".repeat(64)), "model-label", "more than 63"),
        (format!("egress.proxies.{long} = {{ provider = \"p\"; countries = [ \"x\" ]; }};"), "model-name", "54 characters"),
        (format!("egress.clients.{} = {{ namespace = \"irc\"; proxy = \"is\"; }};", "c".repeat(46)), "model-name", "46 characters"),
        // 24: money.
        ("retired.vps = { description = \"x\"; monthlyCost = 1.0e308; };".into(), "model-range", "from 0 to"),
        // 27: secrets that fail only at seal.
        ("secrets.s = { format = \"plain\"; file = \"secrets/s.yaml\"; keys = [ \"sops\" ]; };".into(), "model-secret-key", "metadata"),
        ("secrets.s = { file = \"secrets/routy/\"; keys = [ \"k\" ]; };".into(), "model-path", "a SOPS file is written"),
        ("secrets.s = { file = \"secrets/.\"; keys = [ \"k\" ]; };".into(), "model-path", "a SOPS file is written"),
    ];
    for (line, rule, why) in &cases {
        let d = decode_nix(&module(&format!("    {line}")));
        let found = d
            .diagnostics
            .iter()
            .find(|x| x.rule == *rule)
            .unwrap_or_else(|| panic!("{line}: no {rule}:\n{}", d.rendered()));
        assert!(found.span.is_some(), "{line}: not located");
        let text = d.rendered();
        assert!(
            text.contains(why),
            "{line}: does not say why ({why}):\n{text}"
        );
        assert!(d.network.is_none(), "{line}: decoded anyway");
    }
    // The limits themselves are accepted.
    let ok = module(&format!(
        "    kubernetes.podCIDR = \"10.0.0.0/8\";\n    kubernetes.serviceCIDR = \"fd00:10:43::/112\";\n    egress.proxies.{} = {{ provider = \"p\"; countries = [ \"x\" ]; }};\n    egress.clients.bot = {{ namespace = \"irc\"; proxy = \"is\"; podLabels = {{ \"example.com/app\" = \"\"; }}; }};\n    retired.vps = {{ description = \"x\"; monthlyCost = 1000000; }};",
        "p".repeat(53)
    ));
    let d = decode_nix(&ok);
    assert!(
        !d.diagnostics
            .iter()
            .any(|x| x.rule.id.starts_with("model-cluster")
                || x.rule == "model-label"
                || x.rule == "model-range"
                || x.rule == "model-name"),
        "{}",
        d.rendered()
    );
}

/// `decodes` keeps every attribute the bundled network sets (decoding through it
/// gives the same network) and drops unknown ones at each level.
#[test]
fn decodes_keeps_what_decoding_reads() {
    let mut sources = SourceMap::default();
    let full = avalanche_nix::read_source(FsPath::new("nix/network.nix"), BUNDLED, &mut sources)
        .expect("bundled");
    let kept = avalanche_nix::read_source_keeping(
        FsPath::new("nix/network.nix"),
        BUNDLED,
        &mut SourceMap::default(),
        decodes,
    )
    .expect("bundled");
    assert_eq!(kept.to_json_string(), full.to_json_string());
    let p = |s: &str| s.split('.').map(str::to_owned).collect::<Vec<_>>();
    for unknown in [
        "bogus",
        "avalanche.bogus",
        "avalanche.network.bogus",
        "avalanche.network.egress.bogus",
        "avalanche.network.egress.proxies.is.bogus",
        "avalanche.network.kubernetes.argocd.bogus",
        "avalanche.network.retired.vps.bogus",
        "egress.clients.bot.bogus",
        "egress.gateways.home.bogus",
        "egress.gateways.home.tunnel.bogus",
    ] {
        assert!(!decodes(&p(unknown)), "{unknown}");
    }
    for known in [
        "avalanche.network.egress.clients.bot.podLabels.app",
        "egress.gateways.home.tunnel.publicKey",
        "egress.gateways.home.allowedClients",
        "avalanche.network.retired.vps.aliases",
        "kubernetes.podCIDR",
    ] {
        assert!(decodes(&p(known)), "{known}");
    }
}

#[test]
fn gluetun_options_are_checked_where_they_are_written() {
    let (network, diagnostics) = decode_json(
        r#"{ "egress": { "image": "qmcgaw/gluetun:latest", "keepalive": "25",
              "providers": { "p": {} },
              "proxies": { "a": { "provider": "p", "countries": [ "x" ], "privileged": true,
                                  "tunDevice": "tun", "controlServer": "localhost" } },
              "sidecars": { "b": { "namespace": "x", "provider": "p", "countries": [ "x" ],
                                   "credentials": "b-key", "keepalive": "1m30s", "tunDevice": "mknod" } } },
             "kubernetes": { "monitoring": { "tunnelMetrics": true } } }"#,
    );
    assert!(network.is_none());
    let rules: Vec<&str> = diagnostics.iter().map(|d| d.rule.as_str()).collect();
    for rule in [
        "model-gluetun-version",
        "model-duration",
        "model-renamed",
        "model-enum",
        "model-address",
        "model-removed",
    ] {
        assert!(rules.contains(&rule), "{rule} missing: {diagnostics:#?}");
    }
    let version = diagnostics
        .iter()
        .find(|d| d.rule == "model-gluetun-version")
        .map(|d| format!("{d:?}"))
        .unwrap_or_default();
    assert!(version.contains(&crate::gluetun::range()), "{version}");
    let duration = diagnostics.iter().find(|d| d.rule == "model-duration");
    assert!(
        duration.is_some_and(|d| d.help.as_deref() == Some("write `keepalive = \"25s\";`")),
        "{duration:?}"
    );

    let (network, diagnostics) = decode_json(
        r#"{ "egress": { "image": "ghcr.io/qdm12/gluetun:v3.40.0", "tunDevice": "mknod",
              "providers": { "p": {} },
              "sidecars": { "b": { "namespace": "x", "provider": "p", "countries": [ "x" ],
                                   "credentials": "b-key", "keepalive": "1m30s", "tunDevice": "privileged",
                                   "controlServer": ":8000" } } } }"#,
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let network = network.expect("a network");
    let b = &network.egress.sidecars[&name("b")];
    assert_eq!(b.tun_device, Some(TunDevice::Privileged));
    assert_eq!(network.egress.tun_device, TunDevice::Mknod);
    assert_eq!(b.keepalive.as_ref().map(|k| k.as_str()), Some("1m30s"));
    assert_eq!(b.credentials.as_ref().map(|c| c.as_str()), Some("b-key"));
    assert_eq!(b.control_server.as_str(), ":8000");
    assert_eq!(
        network.egress.version(),
        crate::gluetun::Version::new(3, 40, 0)
    );
}

const GATEWAY: &str = r#"
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
"#;

#[test]
fn a_gateway_decodes_with_its_defaults() {
    let decoded = decode_nix(&module(GATEWAY));
    assert!(decoded.diagnostics.is_empty(), "{}", decoded.rendered());
    let network = decoded.network.expect("a network");
    let gw = &network.egress.gateways[&name("home")];
    assert_eq!(gw.host.value, name("routy"));
    assert_eq!(gw.listen.value.to_string(), "10.1.0.1");
    assert_eq!(gw.socks_port, d::GATEWAY_SOCKS_PORT);
    assert_eq!(gw.interface.value, "wg-home");
    assert_eq!(
        gw.tunnel.persistent_keepalive,
        d::GATEWAY_PERSISTENT_KEEPALIVE
    );
    assert_eq!(gw.tunnel.mtu, d::GATEWAY_MTU);
    assert_eq!(gw.routing_table.value, d::GATEWAY_ROUTING_TABLE);
    assert_eq!(gw.fwmark.value, d::GATEWAY_FWMARK);
    assert_eq!(gw.allowed_clients, None);
    assert!(!gw.monitoring);
}

#[test]
fn a_proxy_and_a_gateway_of_one_name_are_an_error() {
    let text = GATEWAY.replace("gateways.home", "gateways.iceland")
        + r#"
  egress.proxies.iceland = { provider = "protonvpn"; countries = [ "Iceland" ]; };
"#;
    let decoded = decode_nix(&module(&text));
    let rules: Vec<&str> = decoded.at().iter().map(|(r, _, _)| *r).collect();
    assert_eq!(rules, ["model-gateway-name"], "{}", decoded.rendered());
    assert!(
        decoded
            .rendered()
            .contains("`iceland` is both a proxy and a gateway")
    );
}

#[test]
fn gateway_values_are_checked() {
    let text = GATEWAY
        .replace("\"10.1.0.1\"", "\"10.1.0.1/24\"")
        .replace("exit.example.org:51820", "exit.example.org")
        .replace("e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=", "not-a-key")
        .replace("host = \"routy\";", "host = \"routy\"; interface = \"wg-far-too-long-name\"; fwmark = 0; routingTable = 254;");
    let decoded = decode_nix(&module(&text));
    let mut rules: Vec<&str> = decoded.at().iter().map(|(r, _, _)| *r).collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "model-address",
            "model-endpoint",
            "model-interface",
            "model-range",
            "model-range",
            "model-wireguard-key"
        ],
        "{}",
        decoded.rendered()
    );
}

/// Issue 14 item 3: who learns the forwarded port. `nix eval` writes every option
/// of the submodule (nulls and the default `webUIPort` included).
#[test]
fn forwarded_port_to_an_app_or_a_command() {
    let sidecar = |extra: &str| {
        format!(
            r#"{{ "egress": {{ "providers": {{ "p": {{}} }},
                 "sidecars": {{ "b": {{ "namespace": "x", "provider": "p", "countries": [ "x" ], {extra} }} }} }} }}"#
        )
    };
    let target = |json: &str| {
        let (network, diagnostics) = decode_json(json);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let network = network.expect("a network");
        network.egress.sidecars[&name("b")]
            .forwarded_port_to
            .clone()
            .map(|t| t.value)
    };
    assert_eq!(
        target(&sidecar(
            r#""portForwarding": true, "forwardedPortTo": { "app": "qbittorrent", "webUIPort": 8080, "command": null }"#
        )),
        Some(PortTarget::Qbittorrent { web_ui_port: 8080 })
    );
    assert_eq!(
        target(&sidecar(
            r#""portForwarding": true, "forwardedPortTo": { "app": "qbittorrent", "webUIPort": 9091 }"#
        )),
        Some(PortTarget::Qbittorrent { web_ui_port: 9091 })
    );
    assert_eq!(
        target(&sidecar(
            r#""portForwarding": true, "forwardedPortTo": { "app": null, "webUIPort": 8080, "command": "/bin/sh -c 'echo {{PORT}}'" }"#
        )),
        Some(PortTarget::Command {
            up: "/bin/sh -c 'echo {{PORT}}'".into(),
            down: None,
        })
    );
    assert_eq!(
        target(&sidecar(
            r#""portForwarding": true, "forwardedPortTo": { "command": "app-port {{PORTS}}", "downCommand": "app-port-closed {{PORTS}}" }"#
        )),
        Some(PortTarget::Command {
            up: "app-port {{PORTS}}".into(),
            down: Some("app-port-closed {{PORTS}}".into()),
        })
    );
    assert_eq!(target(&sidecar(r#""forwardedPortTo": null"#)), None);
    for (extra, rule) in [
        (
            r#""forwardedPortTo": { "app": "qbittorrent" }"#,
            "model-forwarded-port",
        ),
        (
            r#""portForwarding": true, "forwardedPortTo": { "app": "transmission" }"#,
            "model-enum",
        ),
        (
            r#""portForwarding": true, "forwardedPortTo": { "command": "echo hi" }"#,
            "model-forwarded-port",
        ),
        (
            r#""portForwarding": true, "forwardedPortTo": { "webUIPort": 8080 }"#,
            "model-forwarded-port",
        ),
        (
            r#""portForwarding": true, "forwardedPortTo": { "app": "qbittorrent", "command": "echo {{PORT}}" }"#,
            "model-forwarded-port",
        ),
        (
            r#""portForwarding": true, "forwardedPortTo": { "app": "qbittorrent", "downCommand": "echo {{PORT}}" }"#,
            "model-forwarded-port",
        ),
    ] {
        let (network, diagnostics) = decode_json(&sidecar(extra));
        assert!(network.is_none(), "{extra}");
        assert!(
            diagnostics.iter().any(|d| d.rule == rule),
            "{extra}: {rule} missing: {diagnostics:#?}"
        );
    }
}

/// Issue 14 item 8: the cluster DNS address the proxies may reach, derived from
/// `serviceCIDR` or declared inside it.
#[test]
fn the_cluster_dns_address_is_in_the_service_network() {
    let (network, diagnostics) =
        decode_json(r#"{ "kubernetes": { "serviceCIDR": "10.96.0.0/12" } }"#);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let network = network.expect("a network");
    assert_eq!(
        network.kubernetes.dns_service_ip().to_string(),
        "10.96.0.10"
    );
    assert_eq!(
        Network::default().kubernetes.dns_service_ip().to_string(),
        "10.43.0.10"
    );
    let (network, diagnostics) =
        decode_json(r#"{ "kubernetes": { "dnsServiceIP": "10.43.0.53" } }"#);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(
        network
            .expect("a network")
            .kubernetes
            .dns_service_ip()
            .to_string(),
        "10.43.0.53"
    );
    for bad in [r#""10.96.0.10""#, r#""kube-dns""#] {
        let (network, diagnostics) = decode_json(&format!(
            r#"{{ "kubernetes": {{ "dnsServiceIP": {bad} }} }}"#
        ));
        assert!(network.is_none(), "{bad}");
        assert!(
            diagnostics.iter().any(|d| d.rule == "model-address"),
            "{bad}: {diagnostics:#?}"
        );
    }
}

#[test]
fn existing_secret_replaces_credentials() {
    let d = decode_nix(&module(
        r#"    egress.providers.protonvpn.existingSecret = {
      name = "vpn-keys";
      keys.WIREGUARD_PRIVATE_KEY = "wg-key";
    };
    egress.sidecars.qbittorrent = {
      namespace = "media"; provider = "protonvpn"; countries = [ "Iceland" ];
      credentials = "protonvpn"; existingSecret.name = "qbittorrent-vpn";
    };
    egress.proxies.iceland = {
      provider = "protonvpn"; countries = [ "Iceland" ];
      existingSecret = { name = "x"; keys.WIREGUARD_KEY = "k"; };
    };
    kubernetes.secrets = "sealed";"#,
    ));
    let at = d.at();
    assert_eq!(
        at,
        vec![
            ("model-conflict", 9, 34),
            ("model-unknown-attribute", 13, 43),
            ("model-enum", 15, 26),
        ],
        "{}",
        d.rendered()
    );
    assert!(
        d.rendered()
            .contains("WIREGUARD_PRIVATE_KEY, WIREGUARD_ADDRESSES")
    );

    // Clean: the provider's existing Secret wins over its default `credentials`.
    let d = decode_nix(&module(
        r#"    egress.providers.protonvpn.existingSecret = {
      name = "vpn-keys";
      keys.WIREGUARD_PRIVATE_KEY = "wg-key";
    };
    egress.proxies.iceland = { provider = "protonvpn"; countries = [ "Iceland" ]; };
    kubernetes.secrets = "none";"#,
    ));
    let network = d
        .network
        .as_ref()
        .unwrap_or_else(|| panic!("{}", d.rendered()));
    assert_eq!(network.kubernetes.secrets.value, SecretsBackend::None);
    let provider = &network.egress.providers[&name("protonvpn")];
    let creds = network.credentials(None, None, provider);
    assert_eq!(creds.secret_name(), Some("vpn-keys"));
    assert_eq!(creds.key("WIREGUARD_PRIVATE_KEY"), "wg-key");
    assert_eq!(creds.key("WIREGUARD_ADDRESSES"), "WIREGUARD_ADDRESSES");
    assert_eq!(creds.sops_file(&network.kubernetes), None);
}

/// Issue 14 item 12: an enforced client's allowed destinations.
#[test]
fn allowed_destinations_are_pods_or_a_cidr() {
    let client = |dests: &str| {
        format!(
            r#"{{ "egress": {{ "providers": {{ "p": {{}} }}, "proxies": {{ "a": {{ "provider": "p", "countries": [ "x" ] }} }},
                 "clients": {{ "c": {{ "namespace": "irc", "proxy": "a", "enforce": true, "allowedDestinations": {dests} }} }} }} }}"#
        )
    };
    let (network, diagnostics) = decode_json(&client(
        r#"[ { "namespace": "irc", "podLabels": { "app": "redis" }, "ports": [ 6379 ], "cidr": null, "services": [ "redis", "redis-replica" ] },
             { "cidr": "192.168.1.5/24", "namespace": null, "podLabels": null, "ports": [], "services": null } ]"#,
    ));
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let network = network.expect("a network");
    let dests: Vec<Destination> = network.egress.clients[&name("c")]
        .allowed_destinations
        .iter()
        .map(|d| d.value.clone())
        .collect();
    assert_eq!(
        dests,
        [
            Destination::Pods {
                namespace: name("irc"),
                pod_labels: BTreeMap::from([("app".to_owned(), "redis".to_owned())]),
                ports: vec![6379],
                services: vec![name("redis"), name("redis-replica")],
            },
            Destination::Cidr {
                cidr: Cidr::parse("192.168.1.0/24").expect("a CIDR"),
                ports: Vec::new(),
            },
        ]
    );
    for bad in [
        r#"[ { "ports": [ 80 ] } ]"#,
        r#"[ { "namespace": "irc", "cidr": "10.0.0.0/8" } ]"#,
        r#"[ { "cidr": "10.0.0.0/8", "podLabels": { "a": "b" } } ]"#,
        r#"[ { "cidr": "10.0.0.0/8", "services": [ "redis" ] } ]"#,
    ] {
        let (network, diagnostics) = decode_json(&client(bad));
        assert!(network.is_none(), "{bad}");
        assert!(
            diagnostics.iter().any(|d| d.rule == "model-destination"),
            "{bad}: {diagnostics:#?}"
        );
    }
    let (network, diagnostics) = decode_json(&client(
        r#"[ { "namespace": "irc", "services": [ "Not_A_Name" ] } ]"#,
    ));
    assert!(network.is_none() && !diagnostics.is_empty());
}

/// The names a pod destination's Services add to `NO_PROXY`: the bare name only
/// from the same namespace, and never one that is a label of `svc.<cluster domain>`
/// (`NO_PROXY` matches suffixes).
#[test]
fn a_destination_s_no_proxy_names() {
    let pods = |ns: &str, services: &[&str]| Destination::Pods {
        namespace: name(ns),
        pod_labels: BTreeMap::new(),
        ports: Vec::new(),
        services: services.iter().map(|s| name(s)).collect(),
    };
    assert_eq!(
        pods("irc", &["redis"]).no_proxy_names("irc", "cluster.local"),
        [
            "redis",
            "redis.irc",
            "redis.irc.svc",
            "redis.irc.svc.cluster.local"
        ]
    );
    assert_eq!(
        pods("db", &["redis"]).no_proxy_names("irc", "cluster.local"),
        ["redis.db", "redis.db.svc", "redis.db.svc.cluster.local"]
    );
    for suffix in ["svc", "local", "cluster"] {
        assert_eq!(
            pods("irc", &[suffix]).no_proxy_names("irc", "cluster.local")[0],
            format!("{suffix}.irc")
        );
    }
    assert!(
        pods("irc", &[])
            .no_proxy_names("irc", "cluster.local")
            .is_empty()
    );
    let cidr = Destination::Cidr {
        cidr: Cidr::parse("192.168.1.0/24").expect("a CIDR"),
        ports: Vec::new(),
    };
    assert_eq!(
        cidr.no_proxy_names("irc", "cluster.local"),
        ["192.168.1.0/24"]
    );
}

#[test]
fn domains_addresses_recipients_and_host_dirs() {
    let (network, diagnostics) = decode_json(
        r#"{ "domains": [ "home.example.org" ],
             "retired": { "storage": { "description": "NAS", "addresses": [ "10.1.0.20", "fd00::20" ] } },
             "sops": { "recipients": { "alice": {
               "age": "age1gap5y5qj0xxzsx80vgf5h4g8e3n43vuaxw4gg7p6ngul0dwd2scsk8yd6j", "kind": "admin" } } },
             "repository": { "hostDirs": [ "./infra/boxes/" ] } }"#,
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let network = network.expect("decoded");
    assert_eq!(network.domains[0].value, "home.example.org");
    let storage = &network.retired[&name("storage")];
    let addresses: Vec<String> = storage
        .addresses
        .iter()
        .map(|a| a.value.to_string())
        .collect();
    assert_eq!(addresses, ["10.1.0.20", "fd00::20"]);
    assert_eq!(
        network.sops.recipients[&name("alice")].kind.value,
        RecipientKind::Admin
    );
    assert_eq!(network.repository.host_dirs[0].value, "infra/boxes");

    let (_, diagnostics) = decode_json(
        r#"{ "domains": [ "Home.Example" ],
             "retired": { "x": { "description": "x", "addresses": [ "10.1.0.20/32" ] } },
             "sops": { "recipients": { "bob": { "age": "age1x", "kind": "person" } } },
             "repository": { "hostDirs": [ "../elsewhere" ] } }"#,
    );
    let rules: Vec<&str> = diagnostics.iter().map(|d| d.rule.as_str()).collect();
    for rule in ["model-domain", "model-address", "model-enum", "model-path"] {
        assert!(rules.contains(&rule), "{rule} missing: {diagnostics:#?}");
    }
    let cidr = diagnostics.iter().find(|d| d.rule == "model-address");
    assert!(
        cidr.is_some_and(|d| d.help.as_deref() == Some("write the address alone: `\"10.1.0.20\"`")),
        "{cidr:?}"
    );
}
