//! `check` as a pure function: declarations and repository files in memory,
//! findings out as `(rule, file, line)`.
use crate::facts::{RepoFacts, RepoFile, RepoInput};
use avalanche_diag::SourceMap;
use std::path::Path;

const VPS_KEY: &str = "age1jx982p8stghxd27gaem8kumyyl57zgyay866q2wgypjuyqlnyshq8r9ja3";
const ADMIN_KEY: &str = "age17rxgf2gprdrf3xxsfvjecq2xdvrke3cza9d3eqmqrdyvn9qjze5qwfjgye";

/// `check`'s diagnostics on the declarations and files, with the source map they point into.
fn diagnostics(
    network: &str,
    files: &[(&str, &str)],
    generated: &[&str],
) -> (Vec<avalanche_diag::Diagnostic>, SourceMap) {
    let mut sources = SourceMap::default();
    let value = avalanche_nix::read_source(Path::new("nix/network.nix"), network, &mut sources)
        .unwrap_or_else(|d| panic!("{d:#?}"));
    let (network, diagnostics) = avalanche_model::decode(&value);
    let network = network.unwrap_or_else(|| panic!("{diagnostics:#?}"));
    let facts = RepoFacts::build(RepoInput {
        files: files
            .iter()
            .map(|(p, t)| RepoFile {
                path: (*p).into(),
                text: Some((*t).into()),
            })
            .collect(),
        generated: generated.iter().map(|g| (*g).to_owned()).collect(),
        declarations: vec!["nix/network.nix".into()],
        kubernetes_dir: network.kubernetes.dir.clone(),
    });
    (crate::check(&network, &facts, &mut sources), sources)
}

fn run(network: &str, files: &[(&str, &str)], generated: &[&str]) -> Vec<(String, String, usize)> {
    let (found, sources) = diagnostics(network, files, generated);
    found
        .into_iter()
        .map(|d| {
            let span = d.span.expect("located");
            (
                d.rule.id.to_owned(),
                sources.display_path(span.file),
                sources.line_col(span).0,
            )
        })
        .collect()
}

fn sops_file(recipients: &[&str]) -> String {
    let mut out =
        String::from("a: ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:str]\nsops:\n    age:\n");
    for r in recipients {
        out.push_str(&format!(
            "        - recipient: {r}\n          enc: |\n            x\n"
        ));
    }
    out.push_str(
        "    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: ENC[x]\n    version: 3.10.2\n",
    );
    out
}

fn retired_network() -> String {
    format!(
        "{{ avalanche.network.retired.vps = {{ description = \"x\"; ageRecipients = [ \"{VPS_KEY}\" ]; }}; }}\n"
    )
}

#[test]
fn a_retired_recipient_is_found_in_every_sops_file_at_its_line() {
    let config = format!(
        "keys:\n  - &admin {ADMIN_KEY}\ncreation_rules:\n  - path_regex: secrets/\n    age: *admin\n"
    );
    let file = sops_file(&[ADMIN_KEY, VPS_KEY]);
    let found = run(
        &retired_network(),
        &[(".sops.yaml", &config), ("secrets/a.yaml", &file)],
        &[],
    );
    assert!(
        found.contains(&("retired-recipient".into(), "secrets/a.yaml".into(), 7)),
        "{found:?}"
    );
    // Only the retired key is too many: `retired-recipient` says it, with the fix.
    assert!(
        !found
            .iter()
            .any(|(rule, _, _)| rule == "sops-recipients-differ"),
        "{found:?}"
    );
}

#[test]
fn generated_and_declared_files_keep_a_rule_in_use() {
    let config = format!(
        "creation_rules:\n  - path_regex: ^kubernetes/.*\\.sops\\.yaml$\n    age: {ADMIN_KEY}\n  - path_regex: ^secrets/\n    age: {ADMIN_KEY}\n"
    );
    let network = format!(
        "{{ avalanche.network.secrets.x = {{ format = \"plain\"; file = \"secrets/x.yaml\"; keys = [ \"k\" ]; }}; \
         avalanche.network.sops.recipients.admin = {{ age = \"{ADMIN_KEY}\"; kind = \"admin\"; }}; }}"
    );
    let network = network.as_str();
    let found = run(
        network,
        &[(".sops.yaml", &config)],
        &["kubernetes/base/a.sops.yaml"],
    );
    assert!(found.is_empty(), "{found:?}");
    let found = run(network, &[(".sops.yaml", &config)], &[]);
    assert_eq!(
        found,
        [("sops-rule-unused".to_owned(), ".sops.yaml".to_owned(), 2)]
    );
}

#[test]
fn routes_overlapping_on_one_node_and_names_shared_by_a_proxy_and_a_client() {
    let network = r#"{
  avalanche.network = {
    tailscale.nodes.routy = { role = "subnet-router"; advertiseRoutes = [ "10.1.0.0/24" "10.1.0.128/25" ]; };
    egress.providers.p = { credentials = "p"; };
    egress.proxies.iceland = { provider = "p"; countries = [ "Iceland" ]; };
    egress.clients.iceland = { namespace = "irc"; proxy = "iceland"; };
    secrets.p = { file = "s.yaml"; keys = [ "k" ]; };
  };
}
"#;
    let found = run(network, &[], &[]);
    let rules: Vec<(&str, usize)> = found.iter().map(|(r, _, l)| (r.as_str(), *l)).collect();
    assert!(rules.contains(&("tailscale-route-overlap", 3)), "{found:?}");
    assert!(
        // Reported at the later declaration (the client), labelled at the proxy.
        rules.contains(&("egress-duplicate-name", 6)),
        "{found:?}"
    );
    // No `.sops.yaml` at all: the declared secret has no rule.
    assert!(rules.contains(&("egress-secret-no-rule", 7)), "{found:?}");
}

#[test]
fn hosts_bound_by_let_in_the_flake_are_hosts() {
    let network = "{ avalanche.network.tailscale.nodes = { routy.role = \"workstation\"; nas.role = \"server\"; }; }";
    let flake =
        "{ outputs = { self }: let hosts = { routy = 1; }; in { nixosConfigurations = hosts; }; }";
    let found = run(network, &[("flake.nix", flake)], &[]);
    assert_eq!(
        found,
        [(
            "tailscale-node-no-host".to_owned(),
            "nix/network.nix".to_owned(),
            1
        )]
    );
}

#[test]
fn a_host_with_another_node_name_is_the_nodes_host() {
    // `nixosConfigurations.gw-01` is the node `gw` (avalanche.tailscale.nodeName).
    let network = "{ avalanche.network.tailscale.nodes = { gw.role = \"workstation\"; nas.role = \"server\"; }; }";
    let flake = "{ outputs = { self }: { nixosConfigurations.gw-01 = 1; }; }";
    let host = "{ ... }: { avalanche.tailscale = { enable = true; nodeName =\n  \"gw\"; }; }";
    let found = run(
        network,
        &[("flake.nix", flake), ("machines/gw-01/default.nix", host)],
        &[],
    );
    assert_eq!(
        found,
        [(
            "tailscale-node-no-host".to_owned(),
            "nix/network.nix".to_owned(),
            1
        )],
        "only nas has no host"
    );
}

/// Findings with their severities, for the rules whose severity depends on the case.
fn run_with_severity(network: &str) -> Vec<(String, avalanche_diag::Severity, usize)> {
    let (found, sources) = diagnostics(network, &[], &[]);
    found
        .into_iter()
        .map(|d| {
            let span = d.span.expect("located");
            (d.rule.id.to_owned(), d.severity, sources.line_col(span).0)
        })
        .collect()
}

#[test]
fn the_same_prefix_on_two_routers_is_a_failover_pair_not_an_overlap() {
    use avalanche_diag::Severity::{Error, Warning};
    // Two routers, one LAN: Tailscale's high-availability setup.
    let ha = r#"{ avalanche.network.tailscale.nodes = {
  gw1 = { role = "subnet-router"; advertiseRoutes = [ "192.168.10.0/24" ]; };
  gw2 = { role = "subnet-router"; advertiseRoutes = [ "192.168.10.0/24" "fd00:10::/64" ]; };
  gw3 = { role = "subnet-router"; advertiseRoutes = [ "fd00:10::/64" ]; };
}; }"#;
    let found = run_with_severity(ha);
    assert!(
        !found
            .iter()
            .any(|(r, _, _)| r.starts_with("tailscale-route")),
        "{found:?}"
    );
    // Different prefixes that overlap: a warning, at the later one.
    let nested = r#"{ avalanche.network.tailscale.nodes = {
  gw1 = { role = "subnet-router"; advertiseRoutes = [ "10.0.0.0/8" ]; };
  gw2 = { role = "subnet-router"; advertiseRoutes = [ "10.1.0.0/24" ]; };
}; }"#;
    assert_eq!(
        run_with_severity(nested),
        [("tailscale-route-overlap".to_owned(), Warning, 3)]
    );
    // One node listing a prefix twice is still reported.
    let twice = r#"{ avalanche.network.tailscale.nodes = {
  gw1 = { role = "subnet-router"; advertiseRoutes = [ "10.1.0.0/24" "10.1.0.0/24" ]; };
}; }"#;
    assert_eq!(
        run_with_severity(twice),
        [("tailscale-route-overlap".to_owned(), Warning, 2)]
    );
    // An overlap reaching into Tailscale's own ranges is an error (IPv6 too).
    let cgnat = r#"{ avalanche.network.tailscale.nodes = {
  gw1 = { role = "subnet-router"; advertiseRoutes = [ "100.0.0.0/8" "fd7a:115c::/32" ]; };
  gw2 = { role = "subnet-router"; advertiseRoutes = [ "100.100.0.0/16" ]; };
}; }"#;
    let found = run_with_severity(cgnat);
    assert!(
        found.contains(&("tailscale-route-overlap".to_owned(), Error, 3)),
        "{found:?}"
    );
    assert!(
        found.contains(&("tailscale-route-cgnat".to_owned(), Error, 2)),
        "{found:?}"
    );
    assert_eq!(
        found
            .iter()
            .filter(|(r, _, _)| r == "tailscale-route-cgnat")
            .count(),
        3,
        "100.0.0.0/8, fd7a:115c::/32 and 100.100.0.0/16: {found:?}"
    );
}

/// Two running WireGuard gluetuns on one key, a proxy with replicas, a
/// sidecar-protocol client borrowing its proxy's key: each reported where it is
/// written. Own keys and OpenVPN are not.
#[test]
fn two_gluetuns_on_one_wireguard_key_are_reported() {
    let network = |proxies: &str, kind: &str| {
        format!(
            "{{ avalanche.network = {{
  egress.providers.p = {{ type = \"{kind}\"; }};
  egress.proxies = {{
{proxies}
  }};
  secrets.p = {{ file = \"kubernetes/p.sops.yaml\"; keys = [ \"WIREGUARD_PRIVATE_KEY\" ]; }};
  secrets.b = {{ file = \"kubernetes/b.sops.yaml\"; keys = [ \"WIREGUARD_PRIVATE_KEY\" ]; }};
}}; }}\n"
        )
    };
    let config = "creation_rules:\n  - path_regex: kubernetes/\n    age: age1x\n";
    let shared = |found: &[(String, String, usize)]| {
        found
            .iter()
            .filter(|(rule, _, _)| rule == "egress-shared-key")
            .map(|(_, file, line)| (file.clone(), *line))
            .collect::<Vec<_>>()
    };
    let found = run(
        &network(
            "    a = { provider = \"p\"; countries = [ \"x\" ]; };\n    b = { provider = \"p\"; countries = [ \"x\" ]; };",
            "wireguard",
        ),
        &[(".sops.yaml", config)],
        &[],
    );
    assert_eq!(
        shared(&found),
        vec![("nix/network.nix".to_owned(), 5)],
        "{found:?}"
    );

    let found = run(
        &network(
            "    a = { provider = \"p\"; countries = [ \"x\" ]; replicas = 2; };\n    b = { provider = \"p\"; countries = [ \"x\" ]; credentials = \"b\"; };",
            "wireguard",
        ),
        &[(".sops.yaml", config)],
        &[],
    );
    assert_eq!(
        shared(&found),
        vec![("nix/network.nix".to_owned(), 4)],
        "{found:?}"
    );

    let with_client = network(
        "    a = { provider = \"p\"; countries = [ \"x\" ]; };\n    b = { provider = \"p\"; countries = [ \"x\" ]; credentials = \"b\"; };",
        "wireguard",
    )
    .replace(
        "  secrets.p",
        "  egress.clients.c = { namespace = \"x\"; proxy = \"b\"; protocol = \"sidecar\"; };\n  secrets.p",
    );
    let found = run(&with_client, &[(".sops.yaml", config)], &[]);
    assert_eq!(
        shared(&found),
        vec![("nix/network.nix".to_owned(), 7)],
        "{found:?}"
    );

    let found = run(
        &network(
            "    a = { provider = \"p\"; countries = [ \"x\" ]; };\n    b = { provider = \"p\"; countries = [ \"x\" ]; };",
            "openvpn",
        ),
        &[(".sops.yaml", config)],
        &[],
    );
    assert_eq!(shared(&found), vec![], "{found:?}");
}

/// A gateway `home` on `routy` listening on `listen`, its key in
/// `secrets/routy/wireguard.yaml`; `extra` is added to `avalanche.network`.
fn gateway_network(listen: &str, extra: &str) -> String {
    format!(
        r#"{{ avalanche.network = {{
  egress.gateways.home = {{
    host = "routy";
    listen = "{listen}";
    tunnel = {{ endpoint = "vps.example.org:51820"; publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U="; address = "10.99.0.2/32"; privateKeySecret = "routy-wireguard"; }};
  }};
  secrets.routy-wireguard = {{ format = "plain"; file = "secrets/routy/wireguard.yaml"; keys = [ "privateKey" ]; }};
  {extra}
}}; }}
"#
    )
}

fn gateway_findings(found: Vec<(String, String, usize)>) -> Vec<(String, String, usize)> {
    found
        .into_iter()
        .filter(|(rule, _, _)| rule.starts_with("gateway-"))
        .collect()
}

/// Hosts computed from another file: no expression of routy's own in the flake.
/// Its directory is still its own; the file computing the hosts is shared.
#[test]
fn gateway_rules_degrade_when_the_flake_computes_its_hosts() {
    let flake = "{ outputs = inputs: { nixosConfigurations = import ./nix/hosts.nix inputs; }; }";
    let key = sops_file(&[ADMIN_KEY]);
    let routy = "{ ... }: {\n  systemd.network.networks.lan.address = [ \"10.1.0.1/24\" ];\n}\n";
    let network = gateway_network("10.1.0.9", "");
    let base = [
        ("flake.nix", flake),
        ("secrets/routy/wireguard.yaml", key.as_str()),
    ];
    // No directory either: nothing is routy's own, nothing is judged.
    assert_eq!(gateway_findings(run(&network, &base, &[])), []);
    // Its directory: its addresses are known; the module is used nowhere.
    let mut files = base.to_vec();
    files.push(("hosts/routy/default.nix", routy));
    assert_eq!(
        gateway_findings(run(&network, &files, &[])),
        [
            (
                "gateway-module-missing".into(),
                "hosts/routy/default.nix".into(),
                1
            ),
            (
                "gateway-listen-not-host-address".into(),
                "nix/network.nix".into(),
                4
            ),
        ]
    );
    // The file computing the hosts imports it for every host: cannot tell.
    let hosts = "inputs: { routy = inputs.nixpkgs.lib.nixosSystem { modules = [ inputs.avalanche-net.nixosModules.egressGateway ./routy ]; }; }";
    files.push(("nix/hosts.nix", hosts));
    assert_eq!(
        gateway_findings(run(&network, &files, &[])),
        [(
            "gateway-listen-not-host-address".into(),
            "nix/network.nix".into(),
            4
        )]
    );
    // A computed address: the addresses are not all known.
    let computed = "{ lan, ... }: {\n  systemd.network.networks.lan.address = [ \"10.1.0.1/24\" lan.address ];\n}\n";
    files.retain(|(p, _)| *p != "hosts/routy/default.nix");
    files.push(("hosts/routy/default.nix", computed));
    assert_eq!(gateway_findings(run(&network, &files, &[])), []);
}

/// The host's recipient: an anchor named after it alone, or a declared
/// `sops.recipients.<host>` of kind `host`; else unknown, and no finding.
#[test]
fn the_hosts_recipient_is_known_or_nothing_is_said() {
    const ROUTY_KEY: &str = "age1jk5zqu9kpnuxu8333zldxdm6xtd2v909q7vznzjkutypr8vku4dqeaz6ed";
    let admin = format!("sops.recipients.admin = {{ age = \"{ADMIN_KEY}\"; kind = \"admin\"; }};");
    let key = sops_file(&[ADMIN_KEY]);
    let rule = "creation_rules:\n  - path_regex: ^secrets/routy/\n    age: *admin\n";
    let files = |config: &str| -> Vec<(String, String)> {
        vec![
            (".sops.yaml".into(), config.to_owned()),
            ("secrets/routy/wireguard.yaml".into(), key.clone()),
        ]
    };
    let check = |network: &str, config: &str| {
        let owned = files(config);
        let refs: Vec<(&str, &str)> = owned
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        gateway_findings(run(network, &refs, &[]))
    };
    let not_for_host = vec![(
        "gateway-key-not-for-host".to_owned(),
        "secrets/routy/wireguard.yaml".to_owned(),
        4,
    )];
    // `&server-routy` names routy.
    let named = format!("keys:\n  - &admin {ADMIN_KEY}\n  - &server-routy {ROUTY_KEY}\n{rule}");
    assert_eq!(
        check(&gateway_network("10.1.0.1", &admin), &named),
        not_for_host
    );
    // `&routy_old` does not name routy alone: unknown.
    let old = format!("keys:\n  - &admin {ADMIN_KEY}\n  - &routy_old {ROUTY_KEY}\n{rule}");
    let with_old =
        format!("{admin} sops.recipients.old = {{ age = \"{ROUTY_KEY}\"; kind = \"host\"; }};");
    assert_eq!(check(&gateway_network("10.1.0.1", &with_old), &old), []);
    // Declared in the network, not in `.sops.yaml`.
    let plain = format!("keys:\n  - &admin {ADMIN_KEY}\n{rule}");
    let declared =
        format!("{admin} sops.recipients.routy = {{ age = \"{ROUTY_KEY}\"; kind = \"host\"; }};");
    assert_eq!(
        check(&gateway_network("10.1.0.1", &declared), &plain),
        not_for_host
    );
    // Sealed for it: nothing.
    let both = sops_file(&[ADMIN_KEY, ROUTY_KEY]);
    let owned = [
        (".sops.yaml", named.as_str()),
        ("secrets/routy/wireguard.yaml", both.as_str()),
    ];
    assert!(gateway_findings(run(&gateway_network("10.1.0.1", &admin), &owned, &[])).is_empty());
}
