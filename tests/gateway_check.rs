//! `check`'s egress gateway rules on a repository shaped like a real operator's
//! (issue 18 item 4): `tests/fixtures/repos/gateway-router/`, a flake with a
//! `mkHost` helper, hosts in `hosts/<name>/` (the router's addresses written the
//! systemd-networkd way, the NAS's the `networking.interfaces` way), one
//! `.sops.yaml` anchor per admin and per host, and the tunnel keys sealed by the
//! real sops. Each test changes one thing an operator gets wrong and asserts the
//! exact findings.
use crate::support::{TempRepo, finding_key, oracle};
use serde_json::Value;

const FIXTURE: &str = "fixtures/repos/gateway-router";

/// `severity rule file:line` of every finding, sorted, and the findings.
fn findings(repo: &TempRepo) -> (Vec<String>, Vec<Value>) {
    let run = repo.run(&["check", "--format", "json"]);
    assert!(
        matches!(run.code(), 0 | 1),
        "check could not run:\n{}\n{}",
        run.stdout(),
        run.stderr()
    );
    let all = run.findings();
    let mut keys: Vec<String> = all.iter().map(finding_key).collect();
    keys.sort();
    (keys, all)
}

/// Replaces `from` (which must be there, once) by `to` in the repository's `rel`, and commits.
fn edit(repo: &TempRepo, rel: &str, from: &str, to: &str) {
    let text = repo.read(rel);
    assert_eq!(text.matches(from).count(), 1, "`{from}` once in {rel}");
    repo.write(rel, &text.replacen(from, to, 1));
    repo.commit_all();
}

fn text_of(finding: &Value) -> String {
    serde_json::to_string(finding).unwrap_or_default()
}

#[test]
fn the_router_repository_is_clean() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let (keys, all) = findings(&repo);
    assert!(keys.is_empty(), "{all:#?}");
}

#[test]
fn a_listen_address_typo_is_one_finding_at_its_line() {
    let repo = TempRepo::from_fixture(FIXTURE);
    // The router's addresses are systemd-networkd's `address = [ "10.1.0.1/24" ]`.
    edit(
        &repo,
        "nix/network.nix",
        "listen = \"10.1.0.1\";",
        "listen = \"10.1.0.11\";",
    );
    let (keys, all) = findings(&repo);
    assert_eq!(
        keys,
        ["error gateway-listen-not-host-address nix/network.nix:14"],
        "{all:#?}"
    );
    let shown = text_of(&all[0]);
    assert!(
        shown.contains("did you mean `listen = \\\"10.1.0.1\\\";`"),
        "{shown}"
    );
    assert!(shown.contains("hosts/routy/network.nix"), "{shown}");
    // The NAS's are `networking.interfaces.eno1.ipv4.addresses`.
    edit(
        &repo,
        "nix/network.nix",
        "listen = \"10.1.0.11\";",
        "listen = \"10.1.0.1\";",
    );
    edit(
        &repo,
        "nix/network.nix",
        "listen = \"10.1.0.5\";",
        "listen = \"10.1.0.6\";",
    );
    let (keys, all) = findings(&repo);
    assert_eq!(
        keys,
        ["error gateway-listen-not-host-address nix/network.nix:25"],
        "{all:#?}"
    );
    assert!(text_of(&all[0]).contains("hosts/nas/network.nix"));
}

#[test]
fn the_module_imported_by_the_wrong_host_is_reported() {
    let repo = TempRepo::from_fixture(FIXTURE);
    edit(
        &repo,
        "flake.nix",
        "routy = mkHost \"routy\" [",
        "calypso = mkHost \"calypso\" [",
    );
    edit(
        &repo,
        "flake.nix",
        "calypso = mkHost \"calypso\" [ ];",
        "routy = mkHost \"routy\" [ ];",
    );
    let (keys, all) = findings(&repo);
    assert_eq!(
        keys,
        ["warning gateway-module-missing flake.nix:42"],
        "{all:#?}"
    );
    let shown = text_of(&all[0]);
    assert!(shown.contains("imported by `calypso` instead"), "{shown}");
    assert!(
        shown.contains("add `avalanche-net.nixosModules.egressGateway` to `routy`'s `modules`"),
        "{shown}"
    );
}

#[test]
fn a_helper_importing_the_module_for_every_host_is_no_finding() {
    let repo = TempRepo::from_fixture(FIXTURE);
    // Out of routy's own expression and the NAS's directory, into `mkHost`.
    edit(
        &repo,
        "flake.nix",
        "          avalanche-net.nixosModules.egressGateway\n          { avalanche.egressGateway.repositoryRoot = ./.; }\n",
        "",
    );
    edit(
        &repo,
        "hosts/nas/default.nix",
        "    inputs.avalanche-net.nixosModules.egressGateway\n",
        "",
    );
    edit(
        &repo,
        "hosts/nas/default.nix",
        "  avalanche.egressGateway.repositoryRoot = ../..;\n",
        "",
    );
    // Nowhere now: both gateways' hosts are reported, each at its name in the flake.
    let (keys, all) = findings(&repo);
    assert_eq!(
        keys,
        [
            "warning gateway-module-missing flake.nix:37",
            "warning gateway-module-missing flake.nix:39",
        ],
        "{all:#?}"
    );
    edit(
        &repo,
        "flake.nix",
        "            { networking.hostName = name; }\n",
        "            { networking.hostName = name; }\n            avalanche-net.nixosModules.egressGateway\n",
    );
    let (keys, all) = findings(&repo);
    assert!(keys.is_empty(), "{all:#?}");
}

/// Seals `secrets/routy/wireguard.yaml` with the real sops for the admin alone
/// (run outside the repository, so that `.sops.yaml` does not add the host).
fn seal_for_the_admin_only(repo: &TempRepo, sops: &std::path::Path) {
    let config = repo.read(".sops.yaml");
    let admin = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("- &admin_alice "))
        .expect("the admin's anchor")
        .to_owned();
    let outside = tempfile::tempdir().expect("a temp dir");
    let plain = outside.path().join("wireguard.yaml");
    std::fs::write(&plain, "privateKey: placeholder-not-a-key\n").expect("writing");
    let out = std::process::Command::new(sops)
        .args(["--encrypt", "--age", &admin])
        .arg(&plain)
        .current_dir(outside.path())
        .env("HOME", outside.path())
        .output()
        .expect("running sops");
    assert!(
        out.status.success(),
        "sops: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    repo.write(
        "secrets/routy/wireguard.yaml",
        &String::from_utf8(out.stdout).expect("UTF-8"),
    );
    repo.commit_all();
}

#[test]
fn a_key_sealed_only_for_the_admin_is_reported() {
    let Some(sops) = oracle("sops") else { return };
    let repo = TempRepo::from_fixture(FIXTURE);
    seal_for_the_admin_only(&repo, &sops);
    // The rule lists the host, the file lags behind it: the existing finding
    // says so, and what it means for the gateway.
    let (keys, all) = findings(&repo);
    assert_eq!(
        keys,
        ["error sops-recipients-differ secrets/routy/wireguard.yaml:2"],
        "{all:#?}"
    );
    assert!(
        text_of(&all[0]).contains("sops-nix on `routy` cannot decrypt it"),
        "{all:#?}"
    );
    // The rule forgot the host too: only the gateway rule can say it.
    edit(
        &repo,
        ".sops.yaml",
        "          - *admin_alice\n          - *host_routy\n",
        "          - *admin_alice\n",
    );
    let (keys, all) = findings(&repo);
    assert_eq!(
        keys,
        ["error gateway-key-not-for-host secrets/routy/wireguard.yaml:4"],
        "{all:#?}"
    );
    let shown = text_of(&all[0]);
    assert!(
        shown.contains("add `*host_routy` to the recipients of creation rule .sops.yaml:8"),
        "{shown}"
    );
}

/// The bundled example's gateway `home` on `routy`: routy imports the module in
/// its own expression, has no host directory (its addresses are unknown), and
/// `.sops.yaml` has only `&demo` (routy's recipient is unknown): no gateway finding.
#[test]
fn the_bundled_gateway_has_no_gateway_finding() {
    let repo = TempRepo::bundled();
    assert!(
        repo.read("nix/network.nix").contains("gateways.home"),
        "the bundled example declares a gateway"
    );
    let (keys, all) = findings(&repo);
    assert!(!keys.iter().any(|k| k.contains(" gateway-")), "{all:#?}");
}

/// The gateway rules on the other real layout, `repos/homelab-real`: hosts under
/// `nixos/hosts/<name>/`, `nixosConfigurations = with self.lib; let common = …;
/// in { routy = mkNixosConfig { … }; }`, an app-of-apps, migration notes naming
/// retired hosts, and a `.sops.yaml` whose catch-all rule seals for the admin
/// alone. A gateway `home` on routy, its key sealed by the real sops under that
/// rule: each gateway rule is said once, at its place; once routy's own file
/// imports the module and writes the listen address, only the key is left.
#[test]
fn the_gateway_rules_on_a_nixos_hosts_repository() {
    let Some(sops) = oracle("sops") else { return };
    let repo = TempRepo::from_fixture("fixtures/repos/homelab-real");
    let gateway_keys = |keys: Vec<String>| -> Vec<String> {
        keys.into_iter()
            .filter(|k| k.contains(" gateway-"))
            .collect()
    };
    let (keys, all) = findings(&repo);
    assert_eq!(gateway_keys(keys), Vec::<String>::new(), "{all:#?}");

    edit(
        &repo,
        "nix/network.nix",
        "      clients.marmithon = { namespace = \"irc\"; proxy = \"iceland\"; protocol = \"http\"; enforce = true; };\n",
        "      clients.marmithon = { namespace = \"irc\"; proxy = \"iceland\"; protocol = \"http\"; enforce = true; };\n      gateways.home = {\n        host = \"routy\";\n        listen = \"10.1.0.1\";\n        tunnel = {\n          endpoint = \"203.0.113.41:51820\";\n          publicKey = \"e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=\";\n          address = \"10.2.0.2/32\";\n          privateKeySecret = \"routy-wireguard\";\n        };\n      };\n",
    );
    edit(
        &repo,
        "nix/network.nix",
        "    secrets.protonvpn = {\n",
        "    secrets.routy-wireguard = { format = \"plain\"; file = \"secrets/routy-wireguard.yaml\"; keys = [ \"privateKey\" ]; };\n    secrets.protonvpn = {\n",
    );
    edit(
        &repo,
        "nixos/hosts/routy/default.nix",
        "  boot.kernel.sysctl.\"net.ipv4.ip_forward\" = 1;\n",
        "  boot.kernel.sysctl.\"net.ipv4.ip_forward\" = 1;\n  networking.interfaces.lan0.ipv4.addresses = [ { address = \"10.1.0.254\"; prefixLength = 24; } ];\n",
    );
    repo.write(
        "secrets/routy-wireguard.yaml",
        "privateKey: placeholder-not-a-key\n",
    );
    let out = std::process::Command::new(&sops)
        .args(["--encrypt", "--in-place", "secrets/routy-wireguard.yaml"])
        .current_dir(repo.path())
        .env("HOME", repo.path())
        .output()
        .expect("running sops");
    assert!(
        out.status.success(),
        "sops: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !repo
            .read("secrets/routy-wireguard.yaml")
            .contains("placeholder")
    );
    repo.commit_all();
    let (keys, all) = findings(&repo);
    assert_eq!(
        gateway_keys(keys),
        [
            "error gateway-key-not-for-host secrets/routy-wireguard.yaml:4",
            "error gateway-listen-not-host-address nix/network.nix:36",
            "warning gateway-module-missing flake.nix:13",
        ],
        "{all:#?}"
    );
    let listen = all
        .iter()
        .find(|f| f["rule"] == "gateway-listen-not-host-address")
        .map(text_of)
        .unwrap_or_default();
    assert!(listen.contains("nixos/hosts/routy/default.nix"), "{listen}");

    // routy's own file imports the module and the listen address is its own.
    edit(
        &repo,
        "nixos/hosts/routy/default.nix",
        "{ config, ... }:\n{\n",
        "{ config, inputs, ... }:\n{\n  imports = [ inputs.avalanche-net.nixosModules.egressGateway ];\n",
    );
    edit(
        &repo,
        "nix/network.nix",
        "listen = \"10.1.0.1\";",
        "listen = \"10.1.0.254\";",
    );
    let (keys, all) = findings(&repo);
    assert_eq!(
        gateway_keys(keys),
        ["error gateway-key-not-for-host secrets/routy-wireguard.yaml:4"],
        "{all:#?}"
    );
}
