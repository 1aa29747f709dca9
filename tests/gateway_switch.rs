//! Issue 18's "Done when": the bundled example moves marmithon from the Iceland
//! gluetun to the gateway `home` on routy by one word, and `build` and the flake
//! produce both sides: the cluster's (the proxy variables and the fence, valid for
//! kustomize and the Kubernetes schemas) and routy's (the gateway's units, applying
//! exactly the files the Rust renderer makes, the ones tests/gateway.rs proves in
//! network namespaces).
use crate::flake::{
    assert_module_applies_the_rust_files, nix_flake_cmd, nixpkgs_lib, rust_gateway_in, show,
    stand_in_nixpkgs,
};
use crate::support::{self, TempRepo};
use serde_json::{Value as Json, json};

const NETWORK: &str = "nix/network.nix";
// The line of marmithon's declaration (the comments above it say the same words).
const ON_ICELAND: &str = "\n        proxy = \"iceland\";\n";
const ON_HOME: &str = "\n        proxy = \"home\";\n";
const PATCH: &str = "kubernetes/base/apps/irc/marmithon/vpn-egress/deployment-patch.yaml";
const FENCE: &str = "kubernetes/base/apps/irc/marmithon/vpn-egress/networkpolicy.yaml";

/// A generated YAML file of `repo`, as JSON.
fn yaml(repo: &TempRepo, rel: &str) -> Json {
    serde_norway::from_str(&repo.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Replaces the one occurrence of `from` by `to` in the declarations, checking that
/// exactly one word of the file changes.
fn switch(repo: &TempRepo, from: &str, to: &str) {
    let before = repo.read(NETWORK);
    assert_eq!(
        before.matches(from).count(),
        1,
        "{NETWORK} must hold the line `{}` exactly once (marmithon's proxy)",
        from.trim()
    );
    let after = before.replacen(from, to, 1);
    let words = |t: &str| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let changed = words(&before)
        .iter()
        .zip(words(&after).iter())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(changed, 1, "more than one word changed");
    assert_eq!(words(&before).len(), words(&after).len());
    repo.write(NETWORK, &after);
}

#[test]
fn bundled_marmithon_moves_to_the_gateway_on_routy_by_one_word_and_back() {
    let repo = TempRepo::bundled();
    let original = repo.read(NETWORK);
    switch(&repo, ON_ICELAND, ON_HOME);

    // `check`: no error (the demo key's warnings stay).
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(0);
    let findings: Json = serde_json::from_str(&run.stdout()).expect("check prints JSON");
    let errors: Vec<&Json> = findings
        .as_array()
        .expect("an array")
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // `build`: the cluster side.
    repo.run(&["build"]).expect_code(0);
    let patch = yaml(&repo, PATCH);
    let container = &patch["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["name"], "marmithon", "{patch:#}");
    let env: Vec<(String, String)> = container["env"]
        .as_array()
        .expect("an env list")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_owned(),
                e["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
        let values: Vec<&str> = env
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(values, ["http://10.1.0.1:8888"], "{name} in {env:?}");
    }
    assert!(
        !env.iter().any(|(_, v)| v.contains("vpn-proxy-iceland")),
        "{env:?}"
    );
    // The fence: the gateway's address on its HTTP port, and DNS; nothing else.
    let fence = yaml(&repo, FENCE);
    assert_eq!(fence["kind"], "NetworkPolicy");
    assert_eq!(fence["spec"]["policyTypes"], json!(["Egress"]));
    assert_eq!(
        fence["spec"]["egress"],
        json!([
            {
                "to": [ { "ipBlock": { "cidr": "10.1.0.1/32" } } ],
                "ports": [ { "port": 8888, "protocol": "TCP" } ],
            },
            {
                "to": [ {
                    "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "kube-system" } },
                    "podSelector": { "matchLabels": { "k8s-app": "kube-dns" } },
                } ],
                "ports": [ { "port": 53, "protocol": "UDP" }, { "port": 53, "protocol": "TCP" } ],
            },
        ]),
        "{fence:#}"
    );
    // The Iceland proxy admitted only marmithon: its ingress policy is pruned.
    assert!(
        !repo
            .path()
            .join("kubernetes/base/infra/network/vpn-proxy/networkpolicy-iceland.yaml")
            .exists(),
        "the Iceland proxy still admits a client it no longer has"
    );
    // Every kustomization builds, and the result is valid Kubernetes.
    crate::build::build_and_validate(&repo, &["deployment/vpn-proxy-iceland"]);

    // The flake: routy's configuration runs the gateway with the renderer's bytes.
    routy_runs_the_rendered_gateway(&repo);

    // And back: one word again, and every file is what it was.
    switch(&repo, ON_HOME, ON_ICELAND);
    assert_eq!(repo.read(NETWORK), original);
    repo.run(&["build"]).expect_code(0);
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(repo.path())
        .output()
        .expect("git status");
    assert_eq!(
        String::from_utf8_lossy(&status.stdout),
        "",
        "switching back did not restore the bundled files"
    );
}

/// `nixosConfigurations.routy` of the repository's flake (nixpkgs: the stand-in
/// around `NIXPKGS_LIB`, as tests/flake.rs evaluates the flake) has the gateway's
/// units, and its rendered files are the Rust renderer's.
fn routy_runs_the_rendered_gateway(repo: &TempRepo) {
    let Some(lib) = nixpkgs_lib("the bundled routy's egress gateway against the Rust renderer")
    else {
        return;
    };
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    let fake = stand_in_nixpkgs(&lib);
    let home = tempfile::tempdir().expect("a temp HOME");
    let fake_ref = format!("path:{}", fake.path().display());
    // The files as a unit names them: content-addressed store paths (`--eval`
    // computes them), so a script naming one applies exactly those bytes.
    let apply = "c: let r = c.avalanche.egressGateway.rendered; in { \
        inherit r; \
        written = builtins.mapAttrs (n: f: { \
          nftables = builtins.toFile \"avalanche-gateway-${n}.nft\" f.nftables; \
          routing = builtins.toFile \"avalanche-gateway-${n}.ip\" f.routing; \
          routing6 = builtins.toFile \"avalanche-gateway-${n}.ip6\" f.routing6; \
          wireguard = builtins.toFile \"avalanche-gateway-${n}.wg\" f.wireguard; \
        }) r; \
        units = builtins.mapAttrs (_: u: { \
          inherit (u) script bindsTo; \
          ExecStart = u.serviceConfig.ExecStart or null; \
          User = u.serviceConfig.User or null; \
        }) c.systemd.services; \
        ports = c.networking.firewall.allowedTCPPorts; \
        exporter = c.services.prometheus.exporters.wireguard.enable; \
        failed = map (a: a.message) (builtins.filter (a: !a.assertion) c.assertions); \
      }";
    let args = [
        "eval",
        "--json",
        ".#nixosConfigurations.routy.config",
        "--apply",
        apply,
        "--override-input",
        "nixpkgs",
        &fake_ref,
    ];
    let out = nix_flake_cmd(&nix, home.path(), repo.path(), &args);
    let cmd = format!("nix {}", args.join(" "));
    assert!(out.status.success(), "{}", show(&cmd, &out));
    let routy: Json = serde_json::from_slice(&out.stdout).expect("nix eval prints JSON");
    assert_eq!(routy["failed"], json!([]), "{routy:#}");

    let host = rust_gateway_in(&repo.path().join(NETWORK), "home");
    let units = &routy["units"];
    let tunnel = units["avalanche-gateway-home"]["script"]
        .as_str()
        .unwrap_or_default();
    assert_module_applies_the_rust_files(
        &routy["r"]["home"],
        &routy["written"]["home"],
        tunnel,
        &host,
    );
    assert_eq!(routy["r"].as_object().map(|r| r.len()), Some(1));
    // One tunnel for the cluster and the LAN: the pods' network, and the nodes' (the
    // home LAN, where flannel's masquerading puts pods' traffic), are admitted.
    let nftables = routy["r"]["home"]["nftables"].as_str().unwrap_or_default();
    assert!(
        nftables.contains("elements = { 10.1.0.0/24, 10.42.0.0/16 }"),
        "{nftables}"
    );
    assert!(
        tunnel.contains("wg set wg-home private-key /run/secrets/routy-wireguard\n"),
        "{tunnel}"
    );
    for (unit, program) in [
        (
            "avalanche-gateway-home-socks",
            "microsocks -i 10.1.0.1 -p 1080",
        ),
        ("avalanche-gateway-home-http", "tinyproxy -d -c /nix/store/"),
    ] {
        let u = &units[unit];
        assert_eq!(u["User"], "avalanche-gateway", "{unit}: {u:#}");
        assert_eq!(u["bindsTo"], json!(["avalanche-gateway-home.service"]));
        assert!(
            u["ExecStart"].as_str().is_some_and(|e| e.contains(program)),
            "{unit}: {u:#}"
        );
    }
    // The proxy ports, and the WireGuard exporter's (`monitoring = true`).
    let exporter = avalanche_model::defaults::GATEWAY_EXPORTER_PORT;
    assert_eq!(routy["ports"], json!([1080, 8888, exporter]));
    assert_eq!(routy["exporter"], true);
}
