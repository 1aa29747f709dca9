//! End-to-end tests of `check` and `explain`.
//!
//! Fixtures: `tests/fixtures/check/clean/` is a small repository on which every
//! rule passes; `tests/fixtures/check/<rule>/` holds the files that, laid over the
//! clean repository, break exactly that rule (and say so at a known file and line).
use crate::support::{self, TempRepo};
use serde_json::Value;

/// The clean repository with the files of `fixtures/check/<overlay>` laid over it, committed.
fn fixture(overlay: &str) -> TempRepo {
    let repo = TempRepo::from_fixture("fixtures/check/clean");
    if overlay != "clean" {
        let dir = support::workspace_root()
            .join("tests/fixtures/check")
            .join(overlay);
        assert!(dir.is_dir(), "no fixture {}", dir.display());
        support::lay_over(&repo, &dir);
        repo.commit_all();
    }
    repo
}

/// `check --format json` in `repo`: the findings, after asserting the exit code.
fn findings(repo: &TempRepo, code: i32) -> Vec<Value> {
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(code);
    let parsed: Value = serde_json::from_str(&run.stdout()).unwrap_or_else(|e| {
        panic!(
            "check --format json printed invalid JSON ({e}):\n{}",
            run.stdout()
        )
    });
    parsed
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("not an array: {parsed}"))
}

fn describe(findings: &[Value]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "  {} {}:{}: {}",
                f["rule"], f["file"], f["line"], f["message"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts that the `<rule>` fixture reports `rule` at `file:line` with the rule's
/// severity, and the exit code that severity implies.
#[track_caller]
fn assert_finding(rule: &str, file: &str, line: u64) {
    let repo = fixture(rule);
    let severity = avalanche_check::registry::find(rule)
        .map(|r| r.severity.as_str())
        .expect("a known rule");
    let all = findings(&repo, if severity == "error" { 1 } else { 0 });
    let hit = all
        .iter()
        .find(|f| f["rule"] == rule && f["file"] == file && f["line"] == line);
    let hit = hit.unwrap_or_else(|| {
        panic!(
            "no `{rule}` at {file}:{line}; findings:\n{}",
            describe(&all)
        )
    });
    assert_eq!(hit["severity"], severity);
    assert!(hit["column"].as_u64().is_some_and(|c| c >= 1), "{hit}");
    assert!(!hit["message"].as_str().unwrap_or_default().is_empty());
}

#[test]
fn clean_fixture_has_no_finding() {
    let repo = fixture("clean");
    let all = findings(&repo, 0);
    assert!(
        all.is_empty(),
        "findings on the clean fixture:\n{}",
        describe(&all)
    );
    let run = repo.run(&["check"]);
    run.expect_code(0);
    assert!(
        run.stdout().contains("no errors or warnings"),
        "{}",
        run.stdout()
    );
}

#[test]
fn every_rule_has_a_fixture() {
    let dir = support::workspace_root().join("tests/fixtures/check");
    for rule in avalanche_check::rules::ALL {
        assert!(
            dir.join(rule.id).is_dir(),
            "rule `{}` has no fixture under {}",
            rule.id,
            dir.display()
        );
    }
}

/// Issue 20 item 27: a secret `file` naming a directory of the repository was
/// caught only by `secrets seal`, without a location.
#[test]
fn a_secret_file_that_is_a_directory_is_an_error_at_its_line() {
    assert_finding("secret-file-directory", "nix/network.nix", 35);
    let repo = fixture("secret-file-directory");
    let all = findings(&repo, 1);
    let hit = all
        .iter()
        .find(|f| f["rule"] == "secret-file-directory")
        .expect("the finding");
    assert!(
        hit["message"]
            .as_str()
            .is_some_and(|m| m.contains("secrets/routy/tailscale.yaml")),
        "{hit}"
    );
}

// ---------------------------------------------------------------- retired hosts

#[test]
fn retired_nixos_config() {
    assert_finding("retired-nixos-config", "flake.nix", 12);
}

#[test]
fn retired_hosts_dir() {
    assert_finding("retired-hosts-dir", "hosts/vps/configuration.nix", 1);
}

#[test]
fn retired_sops_anchor() {
    assert_finding("retired-sops-anchor", ".sops.yaml", 4);
}

#[test]
fn retired_sops_rule() {
    assert_finding("retired-sops-rule", ".sops.yaml", 12);
}

#[test]
fn retired_recipient_says_rotate() {
    assert_finding("retired-recipient", "secrets/routy/tailscale.yaml", 14);
    let repo = fixture("retired-recipient");
    let all = findings(&repo, 1);
    let hit = all
        .iter()
        .find(|f| f["rule"] == "retired-recipient")
        .expect("the finding");
    let help = hit["help"].as_str().unwrap_or_default();
    assert!(
        help.contains("avalanche-net secrets updatekeys --rotate secrets/routy/tailscale.yaml"),
        "{help}"
    );
}

#[test]
fn retired_secrets_dir() {
    assert_finding("retired-secrets-dir", "secrets/vps/README", 1);
}

#[test]
fn retired_tailscale_node() {
    assert_finding("retired-tailscale-node", "nix/network.nix", 16);
}

#[test]
fn retired_mention_names_a_host_in_live_config() {
    // `backup@hetzner` in a script: the alias `hetzner`, as an ssh host.
    assert_finding("retired-mention", "scripts/backup.sh", 4);
}

#[test]
fn retired_mention_note_for_prose() {
    // A plan naming `hosts/vps/`: prose, one note for the file.
    assert_finding("retired-mention-note", "docs/retirement.md", 4);
}

#[test]
fn egress_undeclared_sidecar_and_proxy_variable() {
    let all = findings(&fixture("egress-undeclared"), 0);
    let at: Vec<(String, u64)> = all
        .iter()
        .filter(|f| f["rule"] == "egress-undeclared")
        .map(|f| {
            (
                f["file"].as_str().unwrap_or("").to_owned(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let file = "kubernetes/base/apps/media/jellyfin/deployment.yaml".to_owned();
    assert_eq!(at, [(file.clone(), 16), (file, 18)], "{}", describe(&all));
}

#[test]
fn tailscale_host_contradicts_role() {
    assert_finding(
        "tailscale-host-contradicts-role",
        "hosts/calypso/default.nix",
        5,
    );
}

/// Issue 15 item 9: `"both"` on a subnet router that accepts no routes turns on
/// loose reverse-path filtering (nixpkgs' `"client"` half) for nothing; declared
/// `acceptRoutes`, or exit nodes allowed (one may be in use), it is right.
#[test]
fn both_on_a_router_that_accepts_no_routes_contradicts_its_role() {
    let repo = fixture("clean");
    repo.write(
        "hosts/routy/default.nix",
        "{\n  services.tailscale.enable = true;\n  services.tailscale.useRoutingFeatures = \"both\";\n}\n",
    );
    repo.commit_all();
    let all = findings(&repo, 1);
    let at: Vec<String> = all
        .iter()
        .map(|f| format!("{} {}:{}", f["rule"], f["file"], f["line"]))
        .collect();
    assert_eq!(
        at,
        [r#""tailscale-host-contradicts-role" "hosts/routy/default.nix":3"#],
        "{}",
        describe(&all)
    );
    let help = all[0]["help"].as_str().unwrap_or_default();
    assert!(
        help.contains("\"server\"") && help.contains("acceptRoutes"),
        "{help}"
    );
    let network = repo.read("nix/network.nix");
    for declared in [
        network.replace(
            "advertiseRoutes = [ \"10.1.0.0/24\" ]; };",
            "advertiseRoutes = [ \"10.1.0.0/24\" ]; acceptRoutes = true; };",
        ),
        network.replacen(
            "tailscale = {\n",
            "tailscale = {\n      exitNodes = \"allowed\";\n",
            1,
        ),
    ] {
        assert_ne!(declared, network);
        repo.write("nix/network.nix", &declared);
        repo.commit_all();
        let all = findings(&repo, 0);
        assert!(all.is_empty(), "{}", describe(&all));
    }
}

#[test]
fn kustomize_path_missing() {
    assert_finding(
        "kustomize-path-missing",
        "kubernetes/base/apps/irc/marmithon/kustomization.yaml",
        6,
    );
}

#[test]
fn kustomize_dead_manifest() {
    assert_finding(
        "kustomize-dead-manifest",
        "kubernetes/base/apps/irc/marmithon/service.yaml",
        3,
    );
}

#[test]
fn networkpolicy_dead_widens() {
    assert_finding(
        "networkpolicy-dead-widens",
        "kubernetes/base/apps/irc/marmithon/allow-egress.yaml",
        3,
    );
}

#[test]
fn networkpolicy_selects_nothing() {
    assert_finding(
        "networkpolicy-selects-nothing",
        "kubernetes/base/apps/home/hass/networkpolicy.yaml",
        4,
    );
}

/// `dir` joined with a relative `name` (`..` climbs).
fn join_rel(dir: &str, name: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').collect();
    for c in name.split('/') {
        match c {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            c => parts.push(c),
        }
    }
    parts.join("/")
}

/// `networkpolicy-selects-nothing` speaks only where every pod of the namespace
/// is visible: each blind spot silences it, and so does a selector that matches.
#[test]
fn a_policy_is_judged_only_where_every_pod_of_its_namespace_is_visible() {
    const DIR: &str = "kubernetes/base/apps/home/hass";
    let rule = "networkpolicy-selects-nothing";
    let has = |repo: &TempRepo| {
        let run = repo.run(&["check", "--format", "json"]);
        let all: Vec<Value> = serde_json::from_str(&run.stdout()).expect("JSON");
        all.iter().any(|f| f["rule"] == rule)
    };
    assert!(has(&fixture(rule)));
    let kustomization = format!("{DIR}/kustomization.yaml");
    let variants: [(&str, &[(&str, &str)]); 6] = [
        (
            "a selector that matches",
            &[(
                "networkpolicy.yaml",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: hass-ingress\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: hass\n",
            )],
        ),
        (
            "a CronJob's pods",
            &[
                (
                    "backup.yaml",
                    "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: backup\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n          labels:\n            app: home-assistant\n        spec:\n          containers:\n            - name: b\n              image: busybox\n",
                ),
                (
                    "kustomization.yaml",
                    "namespace: home\nresources:\n  - deployment.yaml\n  - service.yaml\n  - networkpolicy.yaml\n  - backup.yaml\n",
                ),
            ],
        ),
        (
            "labels kustomize adds",
            &[(
                "kustomization.yaml",
                "namespace: home\ncommonLabels:\n  app: home-assistant\nresources:\n  - deployment.yaml\n  - service.yaml\n  - networkpolicy.yaml\n",
            )],
        ),
        (
            "an Ingress (cert-manager's solver pods)",
            &[
                (
                    "ingress.yaml",
                    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: hass\nspec:\n  rules: []\n",
                ),
                (
                    "kustomization.yaml",
                    "namespace: home\nresources:\n  - deployment.yaml\n  - service.yaml\n  - networkpolicy.yaml\n  - ingress.yaml\n",
                ),
            ],
        ),
        (
            "a Helm chart deployed into the namespace",
            &[(
                "../../../../argocd/esphome.yaml",
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: esphome\n  namespace: argocd\nspec:\n  source:\n    repoURL: https://charts.example.org\n    chart: esphome\n    targetRevision: 1.0.0\n  destination:\n    namespace: home\n",
            )],
        ),
        (
            "a workload whose namespace the files do not say",
            &[(
                "../../misc/deployment.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: misc\nspec:\n  template:\n    metadata:\n      labels:\n        app: misc\n    spec:\n      containers:\n        - name: m\n          image: busybox\n",
            )],
        ),
    ];
    let mut reported = Vec::new();
    for (what, files) in variants {
        let repo = fixture(rule);
        for (name, text) in files {
            let path = join_rel(DIR, name);
            let text = if path == kustomization {
                format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n{text}")
            } else {
                (*text).to_owned()
            };
            repo.write(&path, &text);
        }
        repo.commit_all();
        if has(&repo) {
            reported.push(what);
        }
    }
    assert!(reported.is_empty(), "still reported with: {reported:?}");
}

// ---------------------------------------------------------------- creation rules

#[test]
fn sops_config_invalid() {
    assert_finding("sops-config-invalid", ".sops.yaml", 8);
}

#[test]
fn sops_rule_unused() {
    assert_finding("sops-rule-unused", ".sops.yaml", 12);
}

#[test]
fn sops_rule_shadowed() {
    assert_finding("sops-rule-shadowed", ".sops.yaml", 12);
}

#[test]
fn sops_key_groups() {
    assert_finding("sops-key-groups", ".sops.yaml", 10);
}

#[test]
fn sops_file_unmatched() {
    assert_finding("sops-file-unmatched", "backup/token.yaml", 2);
}

#[test]
fn sops_recipients_differ() {
    assert_finding("sops-recipients-differ", "secrets/routy/tailscale.yaml", 2);
}

#[test]
fn sops_recipient_unknown() {
    assert_finding("sops-recipient-unknown", ".sops.yaml", 4);
}

#[test]
fn sops_recipient_host_gone() {
    assert_finding("sops-recipient-host-gone", ".sops.yaml", 4);
}

#[test]
fn sops_demo_key() {
    assert_finding("sops-demo-key", ".sops.yaml", 8);
}

// ---------------------------------------------------------------- tailscale

#[test]
fn tailscale_exit_node_forbidden() {
    assert_finding("tailscale-exit-node-forbidden", "nix/network.nix", 13);
}

#[test]
fn tailscale_operator_forbidden() {
    assert_finding(
        "tailscale-operator-forbidden",
        "kubernetes/base/infra/tailscale/operator.yaml",
        22,
    );
    assert_finding(
        "tailscale-operator-forbidden",
        "kubernetes/base/infra/tailscale/proxyclass.yaml",
        2,
    );
    // The help that says "delete" names the kustomization line to edit too.
    let all = findings(&fixture("tailscale-operator-forbidden"), 1);
    let help = all
        .iter()
        .find(|f| f["file"] == "kubernetes/base/infra/tailscale/operator.yaml")
        .and_then(|f| f["help"].as_str())
        .unwrap_or_default();
    assert!(
        help.ends_with(
            "the lines listing the file: kubernetes/base/infra/tailscale/kustomization.yaml:4"
        ),
        "{help}"
    );
}

#[test]
fn tailscale_router_no_routes() {
    assert_finding("tailscale-router-no-routes", "nix/network.nix", 12);
}

#[test]
fn tailscale_route_host_bits() {
    assert_finding("tailscale-route-host-bits", "nix/network.nix", 12);
}

#[test]
fn tailscale_route_cgnat() {
    assert_finding("tailscale-route-cgnat", "nix/network.nix", 12);
}

#[test]
fn tailscale_route_overlap() {
    assert_finding("tailscale-route-overlap", "nix/network.nix", 12);
}

#[test]
fn tailscale_node_no_host() {
    assert_finding("tailscale-node-no-host", "nix/network.nix", 16);
}

#[test]
fn tailscale_tag_undeclared() {
    assert_finding("tailscale-tag-undeclared", "nix/network.nix", 14);
}

#[test]
fn a_generated_policy_is_left_to_build_and_diff() {
    // `build` rewrites it: reporting its drift here would block the `build` that fixes it.
    let repo = fixture("tailscale-tag-undeclared");
    let policy = repo.read("tailscale/policy.hujson");
    repo.write(
        "tailscale/policy.hujson",
        &format!("// Tailscale policy file (HuJSON), generated by avalanche-net\n{policy}"),
    );
    repo.commit_all();
    findings(&repo, 0);
}

#[test]
fn flake_hosts_unknown_says_which_rules_are_off() {
    assert_finding("flake-hosts-unknown", "flake.nix", 6);
    let all = findings(&fixture("flake-hosts-unknown"), 0);
    let hit = all
        .iter()
        .find(|f| f["rule"] == "flake-hosts-unknown")
        .expect("the finding");
    let message = hit["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`tailscale-node-no-host` is off"),
        "{message}"
    );
}

#[test]
fn flake_hosts_evaluated_says_the_list_came_from_nix() {
    if support::oracle("nix").is_none() || support::oracle("git").is_none() {
        return;
    }
    assert_finding("flake-hosts-evaluated", "flake.nix", 5);
    let all = findings(&fixture("flake-hosts-evaluated"), 0);
    let rules: Vec<&str> = all.iter().filter_map(|f| f["rule"].as_str()).collect();
    assert_eq!(rules, ["flake-hosts-evaluated"], "{}", describe(&all));
    let message = all[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`calypso`, `mysecrets` and `routy`"),
        "{message}"
    );
}

#[test]
fn a_flake_written_with_with_let_and_a_helper_is_read() {
    // `with self.lib; let … in` and `name = mkNixosConfig { … }`: hosts are found,
    // nothing is off, and a missing host is still reported.
    let repo = fixture("tailscale-node-no-host");
    repo.write(
        "flake.nix",
        "{\n  outputs = { self, nixpkgs }: {\n    nixosConfigurations = with self.lib; let\n      common = [ ];\n    in {\n      routy = mkNixosConfig { modules = common; };\n      calypso = mkNixosConfig { };\n    } // mkHost \"mysecrets\" { };\n  };\n}\n",
    );
    repo.commit_all();
    let all = findings(&repo, 1);
    let rules: Vec<&str> = all.iter().filter_map(|f| f["rule"].as_str()).collect();
    assert_eq!(rules, ["tailscale-node-no-host"], "{}", describe(&all));
}

#[test]
fn a_flake_that_computes_its_hosts_is_not_second_guessed() {
    let repo = fixture("tailscale-node-no-host");
    repo.write(
        "flake.nix",
        "{\n  outputs = { self, nixpkgs }: {\n    nixosConfigurations = nixpkgs.lib.genAttrs (import ./hosts.nix) (n: n);\n  };\n}\n",
    );
    repo.commit_all();
    let all = findings(&repo, 0);
    assert!(
        all.iter().all(|f| f["rule"] != "tailscale-node-no-host"),
        "{}",
        describe(&all)
    );
    // … but says so.
    assert!(
        all.iter()
            .any(|f| f["rule"] == "flake-hosts-unknown" && f["line"] == 3),
        "{}",
        describe(&all)
    );
}

#[test]
fn a_flake_nested_too_deep_is_an_error_not_a_crash() {
    let repo = fixture("clean");
    repo.write(
        "flake.nix",
        &format!("{{ outputs = _: {}true; }}\n", "!".repeat(100_000)),
    );
    repo.commit_all();
    let all = findings(&repo, 0);
    assert!(
        all.iter().any(|f| f["rule"] == "repo-file-invalid"
            && f["file"] == "flake.nix"
            && f["message"].as_str().is_some_and(|m| m.contains("nests"))),
        "{}",
        describe(&all)
    );
}

#[test]
fn nixos_hosts_and_machines_layouts_are_host_dirs() {
    for dir in ["nixos/hosts", "machines", "systems/x86_64-linux"] {
        let repo = fixture("clean");
        repo.write(&format!("{dir}/vps/default.nix"), "{ }\n");
        repo.commit_all();
        let all = findings(&repo, 1);
        assert!(
            all.iter().any(|f| f["rule"] == "retired-hosts-dir"
                && f["file"] == format!("{dir}/vps/default.nix")),
            "{dir}: {}",
            describe(&all)
        );
    }
}

#[test]
fn declared_host_dirs_are_host_dirs() {
    // `repository.hostDirs`: a layout `check` cannot guess.
    let repo = fixture("clean");
    repo.write("infra/boxes/vps/default.nix", "{ }\n");
    repo.commit_all();
    let before = findings(&repo, 0);
    assert!(
        !before.iter().any(|f| f["rule"] == "retired-hosts-dir"),
        "{}",
        describe(&before)
    );
    let network = repo.read("nix/network.nix").replace(
        "    sops.recipients.admin",
        "    repository.hostDirs = [ \"infra/boxes\" ];\n    sops.recipients.admin",
    );
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    let after = findings(&repo, 1);
    assert!(
        after.iter().any(|f| f["rule"] == "retired-hosts-dir"
            && f["file"] == "infra/boxes/vps/default.nix"
            && f["line"] == 1),
        "{}",
        describe(&after)
    );
}

// ---------------------------------------------------------------- egress

/// Issue 14 item 13: an app that already runs a gluetun. Under another name it
/// would stay beside the generated one (an error at the container); named
/// `gluetun`, the generated component deletes it (a warning to remove the dead YAML).
#[test]
fn egress_existing_gluetun() {
    assert_finding(
        "egress-existing-gluetun",
        "kubernetes/base/apps/media/qbittorrent/deployment.yaml",
        18,
    );
    let repo = fixture("egress-existing-gluetun");
    let path = "kubernetes/base/apps/media/qbittorrent/deployment.yaml";
    let text = repo.read(path).replace("- name: vpn", "- name: gluetun");
    repo.write(path, &text);
    repo.commit_all();
    let all = findings(&repo, 0);
    let hit = all
        .iter()
        .find(|f| f["rule"] == "egress-existing-gluetun")
        .unwrap_or_else(|| panic!("no finding:\n{}", describe(&all)));
    assert_eq!(hit["severity"], "warning", "{hit}");
    assert_eq!(
        (hit["file"].as_str(), hit["line"].as_u64()),
        (Some(path), Some(18))
    );
    assert!(
        hit["message"]
            .as_str()
            .is_some_and(|m| m.contains("deletes it")),
        "{hit}"
    );
}

/// Issue 14 item 14: what gluetun (or the cluster) refuses at start, reported
/// at the declaration that causes it.
#[test]
fn egress_port_forwarding_provider() {
    assert_finding("egress-port-forwarding-provider", "nix/network.nix", 22);
}

/// Issue 14 item 12: a CIDR destination inside the cluster goes direct (NO_PROXY)
/// where the fence's ipBlock may not match.
#[test]
fn egress_no_proxy_fence() {
    assert_finding("egress-no-proxy-fence", "nix/network.nix", 27);
}

#[test]
fn egress_secret_key_missing() {
    // The proxy reads SHADOWSOCKS_PASSWORD from `protonvpn`, which does not declare it.
    assert_finding("egress-secret-key-missing", "nix/network.nix", 31);
}

#[test]
fn secret_file_missing() {
    assert_finding("secret-file-missing", "nix/network.nix", 38);
}

#[test]
fn secret_file_unsealed() {
    // The sidecar's credentials file exists but has no SOPS metadata.
    assert_finding("secret-file-unsealed", "nix/network.nix", 38);
}

#[test]
fn egress_shared_key() {
    // The sidecar is the second gluetun on the provider's key: reported there.
    assert_finding("egress-shared-key", "nix/network.nix", 22);
}

#[test]
fn egress_unknown_provider() {
    assert_finding("egress-unknown-provider", "nix/network.nix", 21);
}

#[test]
fn egress_unknown_proxy_suggests_the_close_name() {
    assert_finding("egress-unknown-proxy", "nix/network.nix", 27);
    let all = findings(&fixture("egress-unknown-proxy"), 1);
    let hit = all
        .iter()
        .find(|f| f["rule"] == "egress-unknown-proxy")
        .expect("the finding");
    assert_eq!(hit["help"], "did you mean `iceland`?");
}

#[test]
fn egress_unknown_secret() {
    assert_finding("egress-unknown-secret", "nix/network.nix", 19);
}

#[test]
fn egress_duplicate_name() {
    assert_finding("egress-duplicate-name", "nix/network.nix", 27);
}

#[test]
fn egress_secret_no_rule() {
    assert_finding("egress-secret-no-rule", "nix/network.nix", 35);
}

#[test]
fn egress_client_not_admitted() {
    assert_finding(
        "egress-client-not-admitted",
        "kubernetes/base/apps/irc/marmithon/deployment.yaml",
        12,
    );
}

/// Issue 21: a flat layout gets no component nothing could include; each app is
/// reported at its declaration.
#[test]
fn egress_app_unreachable() {
    assert_finding("egress-app-unreachable", "nix/network.nix", 27);
    assert_finding("egress-app-unreachable", "nix/network.nix", 21);
}

/// Issue 21: with Flux the encrypted Secrets are plain resources, decrypted only
/// by a Flux Kustomization that says how.
#[test]
fn flux_decryption_missing() {
    assert_finding(
        "flux-decryption-missing",
        "kubernetes/clusters/home/apps.yaml",
        4,
    );
}

#[test]
fn flux_register_ambiguous() {
    assert_finding(
        "flux-register-ambiguous",
        "kubernetes/clusters/home/flux-system/gotk-sync.yaml",
        2,
    );
}

#[test]
fn flux_kustomization_unreachable() {
    assert_finding(
        "flux-kustomization-unreachable",
        "kubernetes/clusters/home/kustomization.yaml",
        3,
    );
    let repo = fixture("flux-kustomization-unreachable");
    let all = findings(&repo, 1);
    assert!(
        !all.iter().any(|f| f["rule"] == "argocd-app-unreachable"),
        "{}",
        describe(&all)
    );
}

#[test]
fn egress_component_missing() {
    assert_finding(
        "egress-component-missing",
        "kubernetes/base/apps/irc/marmithon/kustomization.yaml",
        1,
    );
    // The help names the exact lines to add, and that `build` adds them.
    let repo = fixture("egress-component-missing");
    let all = findings(&repo, 1);
    let hit = all
        .iter()
        .find(|f| f["rule"] == "egress-component-missing")
        .unwrap_or_else(|| panic!("{}", describe(&all)));
    let help = hit["help"].as_str().unwrap_or_default();
    assert!(
        help.contains("`components:` and `  - vpn-egress`") && help.contains("avalanche-net build"),
        "{hit}"
    );
}

#[test]
fn no_component_finding_before_the_first_build() {
    // The kustomization lacks the entry, but the component does not exist yet:
    // `build` creates it and adds the entry in one write, so nothing to fix first.
    let repo = fixture("clean");
    repo.write(
        "kubernetes/base/apps/irc/marmithon/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: irc\nresources:\n  - deployment.yaml\n",
    );
    repo.commit_all();
    let all = findings(&repo, 0);
    assert!(all.is_empty(), "{}", describe(&all));
}

#[test]
fn egress_upstream_protocol() {
    // SOCKS5 through a gluetun proxy: v3.41 serves none.
    assert_finding("egress-upstream-protocol", "nix/network.nix", 27);
    let all = findings(&fixture("egress-upstream-protocol"), 1);
    let hit = all
        .iter()
        .find(|f| f["rule"] == "egress-upstream-protocol")
        .expect("the finding");
    assert!(
        hit["message"]
            .as_str()
            .is_some_and(|m| m.contains("serves no SOCKS5")),
        "{hit}"
    );
}

#[test]
fn egress_client_protocol() {
    assert_finding("egress-client-protocol", "nix/network.nix", 27);
}

#[test]
fn argocd_app_unreachable() {
    assert_finding(
        "argocd-app-unreachable",
        "kubernetes/argocd/apps/kustomization.yaml",
        3,
    );
    let repo = fixture("argocd-app-unreachable");
    let all = findings(&repo, 1);
    let hit = all
        .iter()
        .find(|f| f["rule"] == "argocd-app-unreachable")
        .unwrap_or_else(|| panic!("{}", describe(&all)));
    assert!(
        hit["help"]
            .as_str()
            .is_some_and(|h| h.contains("`  - vpn-proxy-app.yaml` under `resources:`")),
        "{hit}"
    );
}

// ---------------------------------------------------------------- other files

#[test]
fn repo_file_invalid() {
    assert_finding(
        "repo-file-invalid",
        "kubernetes/base/apps/irc/marmithon/configmap.yaml",
        6,
    );
}

// ---------------------------------------------------------------- output and exit codes

/// Several findings at once, in every output format.
fn multi() -> TempRepo {
    let repo = fixture("clean");
    for overlay in [
        "retired-sops-anchor",
        "retired-recipient",
        "retired-mention",
        "tailscale-route-host-bits",
    ] {
        support::lay_over(
            &repo,
            &support::workspace_root()
                .join("tests/fixtures/check")
                .join(overlay),
        );
    }
    repo.commit_all();
    repo
}

#[test]
fn human_output_snapshot() {
    let run = multi().run(&["check"]);
    run.expect_code(1);
    let out = run.stdout();
    // One closing line: the counts, then each rule's.
    let last = out.trim_end().lines().last().unwrap_or_default();
    // `sops-recipients-differ` is left to `retired-recipient` when only a retired key is too many.
    assert!(last.starts_with("error: 3 errors, 1 warning ("), "{out}");
    assert!(last.contains("retired-recipient 1"), "{out}");
    insta::assert_snapshot!("check_human", out);
}

#[test]
fn json_output_snapshot() {
    let run = multi().run(&["check", "--format", "json"]);
    run.expect_code(1);
    let json: Value = serde_json::from_str(&run.stdout()).expect("JSON");
    insta::assert_json_snapshot!("check_json", json);
}

#[test]
fn sarif_output_snapshot() {
    let run = multi().run(&["check", "--format", "sarif"]);
    run.expect_code(1);
    let json: Value = serde_json::from_str(&run.stdout()).expect("SARIF is JSON");
    assert_eq!(json["version"], "2.1.0");
    insta::assert_json_snapshot!("check_sarif", json);
}

#[test]
fn warnings_alone_exit_zero() {
    let all = findings(&fixture("retired-mention"), 0);
    assert!(
        all.iter().all(|f| f["severity"] == "warning"),
        "{}",
        describe(&all)
    );
}

#[test]
fn decode_errors_are_findings() {
    let repo = fixture("clean");
    repo.write(
        "nix/network.nix",
        "{ avalanche.network.tailscale.nodes.routy.role = \"router\"; }\n",
    );
    repo.commit_all();
    let all = findings(&repo, 1);
    assert!(
        all.iter()
            .any(|f| f["file"] == "nix/network.nix" && f["line"] == 1),
        "{}",
        describe(&all)
    );
}

#[test]
fn unreadable_declarations_exit_two() {
    let repo = fixture("clean");
    repo.write("nix/network.nix", "{ avalanche.network = { \n");
    repo.commit_all();
    repo.run(&["check"]).expect_code(2);
    let missing = TempRepo::new();
    missing.run(&["check"]).expect_code(2);
}

#[test]
fn untracked_files_are_checked_and_ignored_ones_are_not() {
    let repo = fixture("clean");
    repo.write("hosts/vps/configuration.nix", "{ }\n");
    let all = findings(&repo, 1);
    assert!(
        all.iter().any(|f| f["rule"] == "retired-hosts-dir"),
        "{}",
        describe(&all)
    );
    repo.write(".gitignore", "hosts/vps/\n");
    findings(&repo, 0);
}

#[test]
fn outside_git_the_directory_is_walked() {
    let repo = fixture("retired-hosts-dir");
    std::fs::remove_dir_all(repo.path().join(".git")).expect("removing .git");
    let run = support::run_in(
        repo.path(),
        &["--repo", ".", "check", "--format", "json"],
        &[],
    );
    run.expect_code(1);
    assert!(
        run.stdout().contains("retired-hosts-dir"),
        "{}",
        run.stdout()
    );
}

#[test]
fn bundled_repo_has_no_errors() {
    let repo = TempRepo::bundled();
    let all = findings(&repo, 0);
    assert!(
        all.iter().all(|f| f["severity"] == "warning"),
        "errors on the bundled repo:\n{}",
        describe(&all)
    );
}

// ---------------------------------------------------------------- egress gateways

#[test]
fn gateway_no_host() {
    assert_finding("gateway-no-host", "nix/network.nix", 29);
}

#[test]
fn gateway_key_secret() {
    assert_finding("gateway-key-secret", "nix/network.nix", 35);
}

#[test]
fn gateway_pods_not_admitted() {
    assert_finding("gateway-pods-not-admitted", "nix/network.nix", 37);
}

#[test]
fn gateway_host_shared() {
    // `home` and `office` both on routy: the second is reported at its `host`.
    assert_finding("gateway-host-shared", "nix/network.nix", 39);
}

#[test]
fn gateway_module_missing() {
    // The clean flake's `mkHost` imports no gateway module, and routy has no directory.
    assert_finding("gateway-module-missing", "flake.nix", 9);
}

#[test]
fn gateway_listen_not_host_address() {
    // `hosts/routy/default.nix` gives routy `10.1.0.1/24`; the gateway listens on `.11`.
    assert_finding("gateway-listen-not-host-address", "nix/network.nix", 30);
}

#[test]
fn gateway_key_not_for_host() {
    // `&host_routy` is routy's key; neither the rule nor the file has it.
    assert_finding(
        "gateway-key-not-for-host",
        "secrets/routy/tailscale.yaml",
        4,
    );
}

// ---------------------------------------------------------------- explain

#[test]
fn explain_prints_the_rule_documentation() {
    let repo = TempRepo::new();
    let run = repo.run(&["explain", "retired-recipient"]);
    run.expect_code(0);
    let out = run.stdout();
    assert!(out.starts_with("retired-recipient (error)"), "{out}");
    assert!(out.contains("--rotate"), "{out}");
}

#[test]
fn explain_unknown_rule_lists_the_rules() {
    let repo = TempRepo::new();
    let run = repo.run(&["explain", "no-such-rule"]);
    run.expect_code(2);
    for rule in avalanche_check::rules::ALL {
        assert!(
            run.stderr().contains(rule.id),
            "{} missing from:\n{}",
            rule.id,
            run.stderr()
        );
    }
}

// ---------------------------------------------------------------- .avalancheignore

#[test]
fn avalancheignore_leaves_listed_paths_out_of_check() {
    // The same mention and the same unmatched SOPS file, once listed in
    // `.avalancheignore`, are no longer findings; unlisted files still are.
    let repo = fixture("retired-mention");
    support::lay_over(
        &repo,
        &support::workspace_root().join("tests/fixtures/check/sops-file-unmatched"),
    );
    repo.commit_all();
    let before = findings(&repo, 1);
    assert!(
        before.iter().any(|f| f["file"] == "scripts/backup.sh"),
        "{}",
        describe(&before)
    );
    assert!(
        before.iter().any(|f| f["file"] == "backup/token.yaml"),
        "{}",
        describe(&before)
    );

    repo.write(
        ".avalancheignore",
        "# old scripts and backups\n/scripts/\nbackup/*.yaml\n",
    );
    repo.commit_all();
    let after = findings(&repo, 0);
    assert!(
        after
            .iter()
            .all(|f| f["file"] != "scripts/backup.sh" && f["file"] != "backup/token.yaml"),
        "{}",
        describe(&after)
    );
}

#[test]
fn the_workspace_itself_passes_check() {
    // This repository is the tool *and* the bundled example; `.avalancheignore`
    // keeps the tool's sources and fixtures out, so `cargo run -- build` works here.
    let run = support::run_in(
        &support::workspace_root(),
        &["check", "--format", "json"],
        &[],
    );
    run.expect_code(0);
    let all: Vec<Value> = serde_json::from_str(&run.stdout()).expect("JSON findings");
    let unexpected: Vec<Value> = all
        .into_iter()
        .filter(|f| f["rule"] != "sops-demo-key")
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected findings:\n{}",
        describe(&unexpected)
    );
}

#[test]
fn a_missing_repo_directory_is_named_not_its_network_file() {
    let repo = TempRepo::bundled();
    let missing = repo.path().join("no-such-dir");
    let missing = missing.to_str().expect("a UTF-8 temp path");
    for command in ["check", "build", "status", "graph", "eval"] {
        let run = repo.run(&["--repo", missing, command]);
        run.expect_code(2);
        assert!(
            run.stderr()
                .contains(&format!("--repo {missing}: does not exist"))
                && run.stderr().contains("help:"),
            "`{command}`: {}",
            run.stderr()
        );
    }
    // A file is not a repository either.
    let run = repo.run(&["--repo", "flake.nix", "check"]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("--repo flake.nix: is not a directory"),
        "{}",
        run.stderr()
    );
    // Commands that do not read the repository do not care.
    repo.run(&["--repo", missing, "explain", "retired-recipient"])
        .expect_code(0);
}

#[test]
fn outside_a_git_repository_the_missing_declarations_say_why() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let run = support::run_in(dir.path(), &["check"], &[]);
    run.expect_code(2);
    let out = run.stdout();
    assert!(
        out.contains("nix/network.nix does not exist")
            && out.contains("is not inside a git repository")
            && out.contains("--repo DIR"),
        "{out}"
    );
    // A directory given as `--network` is named as a directory.
    let repo = TempRepo::bundled();
    let run = repo.run(&["check", "--network", "nix", "--format", "json"]);
    run.expect_code(2);
    let findings: Value = serde_json::from_str(&run.stdout()).expect("JSON on stdout");
    assert_eq!(findings[0]["rule"], "network-missing", "{findings}");
    assert!(
        findings[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("is a directory")),
        "{findings}"
    );
}

#[test]
fn explain_answers_for_the_ids_of_declaration_errors() {
    let repo = TempRepo::new();
    // `check` prints these ids too; `explain` must not call them unknown.
    for id in ["model-enum", "nix-syntax", "network-missing"] {
        let run = repo.run(&["explain", id]);
        run.expect_code(0);
        assert!(
            run.stdout().starts_with(id) && run.stdout().contains("declarations"),
            "{}",
            run.stdout()
        );
    }
    repo.run(&["explain", "model"]).expect_code(2);
}

#[test]
fn a_relative_network_outside_the_cwd_points_into_the_repo() {
    let repo = TempRepo::bundled();
    let elsewhere = tempfile::tempdir().expect("a temp dir");
    let repo_dir = repo.path().to_str().expect("a UTF-8 temp path");
    let run = support::run_in(
        elsewhere.path(),
        &["--repo", repo_dir, "--network", "nix/network.nix", "check"],
        &[],
    );
    run.expect_code(2);
    let out = run.stdout();
    assert!(
        out.contains("relative to the current directory")
            && out.contains(&format!("pass `--network {repo_dir}/nix/network.nix`")),
        "{out}"
    );
}

#[test]
fn explain_knows_the_ids_of_the_resolver_and_the_readers() {
    // Issue 19: render's `unknown-*` were in no registry (`explain unknown-proxy`
    // said "no rule"); the one resolver (`Network::resolve`) reports `egress-*`.
    let repo = TempRepo::new();
    for (id, severity) in [
        ("egress-unknown-proxy", "error"),
        ("egress-unknown-secret", "error"),
        ("egress-upstream-protocol", "error"),
        ("nix-too-deep", "error"),
    ] {
        let run = repo.run(&["explain", id]);
        run.expect_code(0);
        assert!(
            run.stdout().starts_with(&format!("{id} ({severity})\n")),
            "{}",
            run.stdout()
        );
    }
}

/// Every `rules!` block of the sources (outside tests), as (file, ids).
fn declared_rule_ids() -> Vec<(String, Vec<String>)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() && name != "tests" && name != "snapshots" {
                walk(&path, out);
            } else if name.ends_with(".rs") && name != "tests.rs" {
                out.push(path);
            }
        }
    }
    let root = support::workspace_root();
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    for krate in std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .flatten()
    {
        walk(&krate.path().join("src"), &mut files);
    }
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a UTF-8 source");
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        // A hand-built `Rule` (every literal sets `could_not_run`) would bypass
        // `rules!` and its `ALL`.
        if !shown.starts_with("crates/diag/") {
            assert!(
                !text.contains("could_not_run:"),
                "{shown} builds a `Rule` by hand: declare it with `avalanche_diag::rules!`"
            );
        }
        if !text.contains("rules! {") || shown.starts_with("crates/diag/") {
            continue;
        }
        // `NAME = "id", Severity…`: the entry lines of the block.
        let ids = text
            .lines()
            .filter_map(|line| {
                let (name, rest) = line.trim().split_once(" = \"")?;
                let (id, _) = rest.split_once('"')?;
                name.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    .then(|| id.to_owned())
            })
            .collect();
        out.push((shown, ids));
    }
    out
}

#[test]
fn no_diagnostic_can_carry_an_unregistered_id() {
    // The types do most of the work: a `Diagnostic` holds a `&'static Rule`, which
    // only `avalanche_diag::rules!` makes. What they cannot see is a block of rules
    // left out of the registry `explain` and the exit codes read.
    let blocks = declared_rule_ids();
    let files: Vec<&str> = blocks.iter().map(|(f, _)| f.as_str()).collect();
    assert!(
        files.contains(&"crates/check/src/rules.rs")
            && files.contains(&"crates/nix/src/rules.rs")
            && files.contains(&"crates/model/src/rules.rs"),
        "the scan misses a registry block: {files:?}"
    );
    let mut declared = 0;
    for (file, ids) in &blocks {
        assert!(!ids.is_empty(), "{file}: a `rules!` block without entries?");
        for id in ids {
            declared += 1;
            assert!(
                avalanche_check::registry::find(id).is_some(),
                "{file} declares `{id}`, which `avalanche_check::registry` does not list"
            );
        }
    }
    assert_eq!(declared, avalanche_check::registry::all().count());
}

#[test]
fn explain_suggests_the_rule_meant_by_a_typo() {
    let repo = TempRepo::new();
    let run = repo.run(&["explain", "retired-recipients"]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .starts_with("error: no rule `retired-recipients` (did you mean `retired-recipient`?)"),
        "{}",
        run.stderr()
    );
}

#[test]
fn build_and_diff_sum_up_warnings_in_one_line() {
    let repo = fixture("retired-mention");
    for command in ["build", "diff"] {
        let run = repo.run(&[command]);
        let err = run.stderr();
        assert!(
            err.contains(
                "warning: 1 warning (retired-mention 1): `avalanche-net check` shows them"
            ),
            "`{command}`: {err}"
        );
        assert!(
            !err.contains("-->"),
            "`{command}` re-printed the warnings: {err}"
        );
    }
}

#[test]
fn helm_templates_are_not_yaml_and_an_operator_chart_dependency_is_found() {
    let repo = fixture("clean");
    // A chart of the repository: its templates are Go templates, never `repo-file-invalid`.
    repo.write(
        "kubernetes/charts/homepage/Chart.yaml",
        "apiVersion: v2\nname: homepage\nversion: 0.1.0\n",
    );
    repo.write(
        "kubernetes/charts/homepage/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n    {{- include \"homepage.labels\" . | nindent 4 }}\n",
    );
    repo.commit_all();
    let all = findings(&repo, 0);
    assert!(all.is_empty(), "{}", describe(&all));
    // An umbrella chart that depends on the Tailscale operator installs it.
    repo.write(
        "kubernetes/charts/tailnet/Chart.yaml",
        "apiVersion: v2\nname: tailnet\nversion: 0.1.0\ndependencies:\n  - name: tailscale-operator\n    version: 1.80.0\n    repository: https://pkgs.tailscale.com/helmcharts\n",
    );
    repo.commit_all();
    let all = findings(&repo, 1);
    assert!(
        all.iter()
            .any(|f| f["rule"] == "tailscale-operator-forbidden"
                && f["file"] == "kubernetes/charts/tailnet/Chart.yaml"
                && f["line"] == 5),
        "{}",
        describe(&all)
    );
}

#[test]
fn egress_secret_no_ksops() {
    assert_finding("egress-secret-no-ksops", "nix/network.nix", 30);
}

#[test]
fn egress_existing_secret_keys() {
    assert_finding("egress-existing-secret-keys", "nix/network.nix", 28);
}

// ---------------------------------------------------------------- cross-references

/// The clean repository's declarations with one of every cross-reference error
/// (issue 19: they were checked by `check` and by render's resolver, under two ids).
const BROKEN_REFERENCES: &str = r#"{
  avalanche.network = {
    egress = {
      providers.protonvpn = { service = "protonvpn"; credentials = "protonvpn"; };
      proxies.iceland = { provider = "protonvpn"; countries = [ "Iceland" ]; };
      proxies.netherlands = { provider = "protonvpn"; countries = [ "Netherlands" ]; };
      proxies.sweden = { provider = "mullvad"; countries = [ "Sweden" ]; };
      proxies.norway = { provider = "protonvpn"; countries = [ "Norway" ]; credentials = "norway-vpn"; };
      sidecars.qbittorrent = { namespace = "media"; provider = "protonvnp"; countries = [ "Iceland" ]; };
      clients.marmithon = { namespace = "irc"; proxy = "icelnd"; };
      clients.bot = { namespace = "irc"; proxy = "iceland"; protocol = "socks5"; };
      clients.seeder = { namespace = "media"; proxy = "norway"; protocol = "sidecar"; };
      clients.fetcher = { namespace = "web"; gateway = "home"; };
      clients.qbittorrent = { namespace = "media"; proxy = "iceland"; };
    };
  };
}
"#;

/// Each cross-reference problem is one finding, under the resolver's id, in
/// `check` and in what `build` prints when it refuses: a provider's missing secret
/// once (not once per proxy inheriting it), a proxy's own missing secret once (not
/// again for the `protocol = "sidecar"` client running with its settings).
#[test]
fn each_cross_reference_error_is_reported_exactly_once() {
    let repo = fixture("clean");
    repo.write("nix/network.nix", BROKEN_REFERENCES);
    repo.commit_all();
    let expected = [
        // proxy `sweden`, sidecar `qbittorrent`
        ("egress-unknown-provider", vec![7, 9]),
        // provider `protonvpn` (inherited by iceland and netherlands), proxy `norway`
        ("egress-unknown-secret", vec![4, 8]),
        // client `marmithon` (a proxy), client `fetcher` (a gateway)
        ("egress-unknown-proxy", vec![10, 13]),
        ("egress-upstream-protocol", vec![11]),
        // client `qbittorrent`, named like the sidecar
        ("egress-duplicate-name", vec![14]),
    ];
    let all = findings(&repo, 1);
    for (rule, lines) in &expected {
        let mut found: Vec<u64> = all
            .iter()
            .filter(|f| f["rule"] == *rule)
            .map(|f| f["line"].as_u64().unwrap_or(0))
            .collect();
        found.sort_unstable();
        assert_eq!(&found, lines, "`{rule}`; findings:\n{}", describe(&all));
    }
    // `build` refuses with the same findings, each printed once.
    let run = repo.run(&["build"]);
    run.expect_code(1);
    let err = run.stderr();
    for (rule, lines) in &expected {
        assert_eq!(
            err.matches(&format!("error[{rule}]")).count(),
            lines.len(),
            "`{rule}` in:\n{err}"
        );
    }
    // The render-time ids are gone: one id per problem.
    assert!(!err.contains("error[unknown-"), "{err}");
}
