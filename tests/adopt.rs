//! Adopting avalanche-net in an existing repository shaped like a real one
//! (`tests/fixtures/adopt/homelab`: hosts under `nixos/hosts/`, an app-of-apps
//! kustomization listing `*-app.yaml`, an app whose VPN keys come from an
//! ExternalSecret, an IRC bot with a plain `app:` label, a CRLF kustomization, a
//! leftover `.sops.yaml` anchor, a hand-written `nix/network.nix`).
//!
//! `build` wires what it generates into the hand-written kustomizations: one
//! added list entry per file, every other byte kept.
use crate::build::kustomize;
use crate::support::{self, TempRepo, tree};
use serde_json::Value;

const FIXTURE: &str = "fixtures/adopt/homelab";
const MARMITHON: &str = "kubernetes/base/apps/irc/marmithon/kustomization.yaml";
const QBITTORRENT: &str = "kubernetes/base/apps/media/qbittorrent/kustomization.yaml";
const APPS: &str = "kubernetes/argocd/apps/kustomization.yaml";
const APPLICATION: &str = "kubernetes/argocd/apps/vpn-proxy-app.yaml";
/// The shared proxies' credentials: declared in the fixture, never sealed there.
const PROTONVPN_FILE: &str = "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml";
const PROTONVPN_KEYS: [&str; 3] = [
    "WIREGUARD_PRIVATE_KEY",
    "WIREGUARD_ADDRESSES",
    "SHADOWSOCKS_PASSWORD",
];

/// The fixture with the proxies' credentials sealed (to its `.sops.yaml`
/// recipients' public keys) and committed: what `build` into the repository waits for.
fn sealed_fixture() -> TempRepo {
    let repo = TempRepo::from_fixture(FIXTURE);
    repo.seal("protonvpn", &PROTONVPN_KEYS);
    repo
}

/// `text` with `line` inserted after the first line that starts with `after`
/// (or appended when `after` is empty).
fn with_line(text: &str, after: &str, line: &str) -> String {
    if after.is_empty() {
        return format!("{text}{line}");
    }
    let at = text
        .find(after)
        .unwrap_or_else(|| panic!("`{after}` not in\n{text}"));
    let end = at + text[at..].find('\n').map_or(text.len() - at, |n| n + 1);
    format!("{}{line}{}", &text[..end], &text[end..])
}

#[test]
fn build_wires_the_generated_files_into_a_real_repository() {
    let repo = sealed_fixture();
    let before = tree(repo.path());

    // Nothing to fix by hand first (once the credentials are sealed): the
    // component and its wiring arrive together.
    repo.run(&["check"]).expect_code(0);
    let run = repo.run(&["build"]);
    run.expect_code(0);
    assert_wired(&repo, &run, &before, &[]);

    // A second build changes nothing and edits nothing.
    let after = tree(repo.path());
    let again = repo.run(&["build"]);
    again.expect_code(0);
    assert!(again.stdout().contains("wired 0"), "{}", again.stdout());
    assert_eq!(tree(repo.path()), after);
    repo.run(&["check"]).expect_code(0);
}

/// After `run` (a `build`): the three hand-written kustomizations differ from
/// `before` only by their added entry, every other file of `before` but
/// `changed` is untouched, the Application is ledgered (the hand edits are not),
/// and every touched app and the app-of-apps root build with kubectl.
fn assert_wired(
    repo: &TempRepo,
    run: &support::Run,
    before: &std::collections::BTreeMap<String, Vec<u8>>,
    changed: &[&str],
) {
    for path in [MARMITHON, QBITTORRENT, APPS] {
        assert!(
            run.stdout().contains(&format!("wired     {path}")),
            "{}",
            run.stdout()
        );
    }
    // Hand-written files differ from before only by the added entries.
    let after = tree(repo.path());
    let text = |t: &std::collections::BTreeMap<String, Vec<u8>>, p: &str| {
        String::from_utf8(t[p].clone()).expect("UTF-8")
    };
    assert_eq!(
        text(&after, MARMITHON),
        with_line(&text(before, MARMITHON), "", "components: [vpn-egress]\n"),
        "a flow-list file gets a flow list"
    );
    assert_eq!(
        text(&after, QBITTORRENT),
        with_line(
            &text(before, QBITTORRENT),
            "components:  # none yet",
            "    - vpn-egress\r\n"
        ),
        "CRLF and the four-space indentation are kept"
    );
    assert_eq!(
        text(&after, APPS),
        with_line(
            &text(before, APPS),
            "  - \"media-app.yaml\"",
            "  - \"vpn-proxy-app.yaml\"\n"
        ),
        "after the last entry, quoted like it, before the trailing comment"
    );
    for (path, bytes) in before {
        if ![MARMITHON, QBITTORRENT, APPS].contains(&path.as_str())
            && !changed.contains(&path.as_str())
        {
            assert_eq!(after.get(path), Some(bytes), "{path} changed");
        }
    }
    // The Application is written next to the app-of-apps, and not ledgered as a hand edit.
    assert!(after.contains_key(APPLICATION), "{:?}", after.keys());
    let ledger = repo.read("kubernetes/.avalanche-generated.json");
    assert!(ledger.contains(APPLICATION), "{ledger}");
    for path in [MARMITHON, QBITTORRENT, APPS] {
        assert!(!ledger.contains(path), "{path} in the ledger:\n{ledger}");
    }

    // Every touched app and the app-of-apps root build; the root has the new Application.
    if let Some(kubectl) = support::oracle("kubectl") {
        let scratch = tempfile::tempdir().expect("a temp dir");
        let dirs: Vec<String> = [
            "kubernetes/argocd/apps",
            "kubernetes/base/apps/irc/marmithon",
            "kubernetes/base/apps/media",
            "kubernetes/base/infra/network/vpn-proxy",
        ]
        .iter()
        .map(|d| (*d).to_owned())
        .collect();
        let built = kustomize(repo.path(), &kubectl, scratch.path(), &dirs);
        let root = &built[0].1;
        assert!(
            root.contains("kind: Application") && root.contains("name: vpn-proxy"),
            "{root}"
        );
        assert!(
            root.contains("name: irc") && root.contains("name: media"),
            "{root}"
        );
        let bot = &built[1].1;
        assert!(bot.contains("name: HTTPS_PROXY"), "{bot}");
        assert!(bot.contains("kind: NetworkPolicy"), "{bot}");
        let media = &built[2].1;
        assert!(media.contains("kind: ExternalSecret"), "{media}");
        assert!(media.contains("restartPolicy: Always"), "{media}");
        let gluetuns = media
            .lines()
            .filter(|l| l.trim_start_matches([' ', '-']) == "name: gluetun")
            .count();
        assert_eq!(gluetuns, 1, "one gluetun container:\n{media}");
    }
}

#[test]
fn no_wire_leaves_hand_written_files_and_check_names_the_lines() {
    let repo = sealed_fixture();
    let before = tree(repo.path());
    repo.run(&["build", "--no-wire"]).expect_code(0);
    let after = tree(repo.path());
    for (path, bytes) in &before {
        assert_eq!(after.get(path), Some(bytes), "{path} changed");
    }
    repo.commit_all();
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(1);
    let findings: Value = serde_json::from_str(&run.stdout()).expect("JSON");
    let findings = findings.as_array().expect("an array");
    let find = |rule: &str, file: &str| {
        findings
            .iter()
            .find(|f| f["rule"] == rule && f["file"] == file)
            .unwrap_or_else(|| panic!("no {rule} in {file}: {findings:?}"))
    };
    let app = find("argocd-app-unreachable", APPS);
    assert_eq!(app["severity"], "error");
    assert_eq!(app["line"], 4, "{app}");
    assert!(
        app["help"].as_str().is_some_and(|h| h
            .contains("add `  - \"vpn-proxy-app.yaml\"` under `resources:` in `kubernetes/argocd/apps/kustomization.yaml` (as line 7)")),
        "{app}"
    );
    let bot = find("egress-component-missing", MARMITHON);
    assert!(
        bot["help"]
            .as_str()
            .is_some_and(|h| h.contains("`components: [vpn-egress]`")),
        "{bot}"
    );
    // `build` (wiring) then fixes exactly that.
    repo.run(&["build"]).expect_code(0);
    repo.commit_all();
    repo.run(&["check"]).expect_code(0);
}

#[test]
fn a_shape_that_cannot_be_edited_safely_is_refused_with_the_lines() {
    let repo = TempRepo::from_fixture(FIXTURE);
    // `components:` is an alias: adding to it would change what it points at.
    repo.write(
        MARMITHON,
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: irc\nresources: &r [deployment.yaml]\ncomponents: *r\n",
    );
    repo.commit_all();
    let before = tree(repo.path());
    let run = repo.run(&["build"]);
    run.expect_code(1);
    assert!(
        run.stderr().contains("alias") && run.stderr().contains("`  - vpn-egress`"),
        "{}",
        run.stderr()
    );
    assert_eq!(tree(repo.path()), before, "nothing written");
}

#[test]
fn status_is_honest_about_what_is_deployed_and_saved() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let network = repo.read("nix/network.nix").replace(
        "    kubernetes.argocd.repoURL",
        r#"    retired.vps = {
      description = "Rented VPS, the old exit node";
      monthlyCost = 4.49;
      replacedBy = { description = "a smaller VPS"; monthlyCost = 3.79; };
    };
    retired.mysecrets = { description = "reinstalled as chipmunk"; renamedTo = "chipmunk"; monthlyCost = 9.99; };
    kubernetes.argocd.repoURL"#,
    );
    let network = network.replace(
        "calypso.role = \"workstation\";",
        "calypso = { role = \"workstation\"; state = \"off\"; };",
    );
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    // The credentials were never sealed: `build` into the repository waits for them.
    refused_until_sealed(&repo);
    repo.seal("protonvpn", &PROTONVPN_KEYS);
    repo.run(&["build"]).expect_code(0);
    repo.commit_all();
    let status = status_json(&repo);
    let phase = |id: &str| phase_of(&status, id);
    // Sealed, built, wired and committed: the proxy service is deployed.
    let proxies = phase("proxy-service");
    assert_eq!(proxies["state"], "done", "{proxies}");
    // The app-of-apps reaches the Application, and the bot's kustomization its component.
    let reasons = proxies["reasons"].to_string();
    assert!(!reasons.contains("not reachable"), "{proxies}");
    let clients = phase("clients");
    assert!(
        !clients["reasons"].to_string().contains("not reachable"),
        "{clients}"
    );
    // Without its sealed file (deleted, or never pushed), the phase is open again.
    repo.git(&["rm", "-q", PROTONVPN_FILE]);
    repo.commit_all();
    let proxies = phase_of(&status_json(&repo), "proxy-service");
    assert_eq!(proxies["state"], "open", "{proxies}");
    assert!(
        has_reason(&proxies, "credentials `protonvpn` are not sealed"),
        "{proxies}"
    );
    repo.seal("protonvpn", &PROTONVPN_KEYS);
    // Net savings: the rename saves nothing, the replacement is subtracted.
    let year = &status["savings"]["perYear"][0];
    assert_eq!(year["gross"], "53.88", "{status}");
    assert_eq!(year["replacement"], "45.48", "{status}");
    assert_eq!(year["net"], "8.40", "{status}");
    let cleanup = phase("cleanup");
    let notes = cleanup["notes"].to_string();
    assert!(
        notes.contains("`mysecrets` was renamed to `chipmunk`"),
        "{cleanup}"
    );
    assert!(notes.contains("`calypso` is powered down"), "{cleanup}");

    // An app that speaks only SOCKS5 is not served by HTTP_PROXY: check and status say so.
    let socks = network.replace(
        "podLabels = { app = \"marmithon\"; };",
        "podLabels = { app = \"marmithon\"; };\n        speaks = [ \"socks5\" ];",
    );
    repo.write("nix/network.nix", &socks);
    repo.commit_all();
    let check = repo.run(&["check"]);
    check.expect_code(1);
    assert!(
        check.stdout().contains("egress-client-protocol"),
        "{}",
        check.stdout()
    );
    let status: Value =
        serde_json::from_str(&repo.run(&["status", "--format", "json"]).stdout()).expect("JSON");
    let clients = status["phases"][2].clone();
    assert_eq!(clients["state"], "open", "{clients}");
    assert!(
        clients["reasons"]
            .to_string()
            .contains("the proxy cannot carry its traffic"),
        "{clients}"
    );
}

/// `status` counts each sidecar's own credentials, on the real-shaped repository:
/// when qBittorrent's keys move from the ExternalSecret to a SOPS file for KSOPS,
/// the proxy phase is open until that file is sealed, and closes once it is.
#[test]
fn a_sidecars_unsealed_credentials_hold_the_proxy_phase_open() {
    let repo = sealed_fixture();
    repo.run(&["build"]).expect_code(0);
    repo.commit_all();
    let proxies = phase_of(&status_json(&repo), "proxy-service");
    assert_eq!(proxies["state"], "done", "{proxies}");

    let network = repo.read("nix/network.nix");
    let start = network
        .find("        existingSecret = {\n")
        .expect("the sidecar's existingSecret");
    let end =
        start + network[start..].find("        };\n").expect("its end") + "        };\n".len();
    let network = format!(
        "{}        credentials = \"qbittorrent-wireguard\";\n{}",
        &network[..start],
        &network[end..]
    )
    .replace(
        "    kubernetes.argocd.repoURL",
        "    secrets.qbittorrent-wireguard = {\n      file = \"kubernetes/base/apps/media/qbittorrent/wireguard.sops.yaml\";\n      keys = [ \"WIREGUARD_PRIVATE_KEY\" \"WIREGUARD_ADDRESSES\" ];\n    };\n    kubernetes.argocd.repoURL",
    );
    assert!(!network.contains("wg-key"), "{network}");
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    let proxies = phase_of(&status_json(&repo), "proxy-service");
    assert_eq!(proxies["state"], "open", "{proxies}");
    assert!(
        has_reason(
            &proxies,
            "the sidecar `qbittorrent`'s credentials `qbittorrent-wireguard` are not sealed: its gluetun cannot start"
        ),
        "{proxies}"
    );
    assert!(
        !has_reason(&proxies, "`protonvpn` are not sealed"),
        "the proxies' credentials are sealed: {proxies}"
    );

    repo.seal(
        "qbittorrent-wireguard",
        &["WIREGUARD_PRIVATE_KEY", "WIREGUARD_ADDRESSES"],
    );
    let proxies = phase_of(&status_json(&repo), "proxy-service");
    assert!(!has_reason(&proxies, "not sealed"), "{proxies}");
    repo.run(&["build"]).expect_code(0);
    repo.commit_all();
    let proxies = phase_of(&status_json(&repo), "proxy-service");
    assert_eq!(proxies["state"], "done", "{proxies}");
    let generator =
        repo.read("kubernetes/base/apps/media/qbittorrent/vpn-egress/secret-generator.yaml");
    assert!(generator.contains("wireguard.sops.yaml"), "{generator}");
}

/// `status --format json`, after asserting it exits 0.
fn status_json(repo: &TempRepo) -> Value {
    let run = repo.run(&["status", "--format", "json"]);
    run.expect_code(0);
    serde_json::from_str(&run.stdout()).expect("JSON")
}

/// The phase `id` of a `status --format json`.
fn phase_of(status: &Value, id: &str) -> Value {
    status["phases"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["id"] == id))
        .unwrap_or_else(|| panic!("no phase {id}: {status}"))
        .clone()
}

/// Whether one of `phase`'s reasons contains `text`.
fn has_reason(phase: &Value, text: &str) -> bool {
    phase["reasons"].as_array().is_some_and(|r| {
        r.iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains(text)))
    })
}

/// `build` into the repository is refused while the proxies' credentials are not
/// sealed: it names the file and the command, and writes nothing; the preview
/// (`build --out`) still writes, under the error banner.
fn refused_until_sealed(repo: &TempRepo) {
    let before = tree(repo.path());
    let run = repo.run(&["build"]);
    run.expect_code(1);
    let report = run.stdout() + &run.stderr();
    assert!(
        report.contains("secret-file-missing")
            && report.contains(PROTONVPN_FILE)
            && report.contains("avalanche-net secrets seal protonvpn"),
        "{report}"
    );
    assert_eq!(tree(repo.path()), before, "build refused: nothing written");
    let out = tempfile::tempdir().expect("a temp dir");
    let preview = out.path().join("preview");
    let preview_arg = preview.to_string_lossy().into_owned();
    let run = repo.run(&["build", "--out", &preview_arg]);
    run.expect_code(0);
    assert!(run.stderr().contains("finds 1 error"), "{}", run.stderr());
    assert!(
        preview
            .join("kubernetes/base/infra/network/vpn-proxy/deployment-iceland.yaml")
            .is_file(),
        "{:?}",
        tree(&preview).keys()
    );
    assert_eq!(
        tree(repo.path()),
        before,
        "the preview wrote into the repository"
    );
}

/// A gateway on the real-shaped repository's router: marmithon moves from the
/// Iceland gluetun to it by changing one word, and its component (built by
/// `kubectl kustomize`) points the proxy variables and the fence at the gateway's
/// LAN address, not at the proxy's pods.
#[test]
fn a_client_moves_to_a_gateway_by_one_word() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let network = repo.read("nix/network.nix");
    let gateway = concat!(
        "      gateways.home = {\n",
        "        host = \"routy\";\n",
        "        listen = \"10.1.0.1\";\n",
        "        httpPort = 8888;\n",
        "        allowedClients = [ \"10.42.0.0/16\" \"10.1.0.0/24\" ];\n",
        "        tunnel = {\n",
        "          endpoint = \"vps.alice.example:51820\";\n",
        "          publicKey = \"e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=\";\n",
        // Both addresses, as a VPN provider's configuration lists them.
        "          address = [ \"10.2.0.2/32\" \"2a07:b944::2:2/128\" ];\n",
        "          privateKeySecret = \"routy-wireguard\";\n",
        "        };\n",
        "      };\n",
    );
    let network = with_line(&network, "      proxies.iceland", gateway);
    let network = network.replace(
        "    kubernetes.argocd",
        "    secrets.routy-wireguard = { format = \"plain\"; file = \"secrets/routy/wireguard.yaml\"; keys = [ \"privateKey\" ]; };\n    kubernetes.argocd",
    );
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    // The gateway's key is read by sops-nix on routy: sealed before the build, as
    // the proxies' credentials are.
    repo.seal("routy-wireguard", &["privateKey"]);
    repo.seal("protonvpn", &PROTONVPN_KEYS);
    repo.run(&["build"]).expect_code(0);
    let patch_path = "kubernetes/base/apps/irc/marmithon/vpn-egress/deployment-patch.yaml";
    assert!(repo.read(patch_path).contains("vpn-proxy-iceland"));

    // The one word.
    let switched = network.replace("proxy = \"iceland\";", "proxy = \"home\";");
    assert_ne!(switched, network);
    repo.write("nix/network.nix", &switched);
    let run = repo.run(&["build"]);
    run.expect_code(0);
    let patch = repo.read(patch_path);
    assert!(patch.contains("value: http://10.1.0.1:8888"), "{patch}");
    assert!(!patch.contains("vpn-proxy"), "{patch}");

    if let Some(kubectl) = support::oracle("kubectl") {
        let scratch = tempfile::tempdir().expect("a temp dir");
        let dirs = ["kubernetes/base/apps/irc/marmithon".to_owned()];
        let built = kustomize(repo.path(), &kubectl, scratch.path(), &dirs);
        let bot = &built[0].1;
        assert!(bot.contains("name: HTTPS_PROXY"), "{bot}");
        assert!(bot.contains("value: http://10.1.0.1:8888"), "{bot}");
        assert!(bot.contains("cidr: 10.1.0.1/32"), "{bot}");
        assert!(bot.contains("port: 8888"), "{bot}");
        assert!(
            bot.contains("app: marmithon"),
            "the fence selects the app's own label:\n{bot}"
        );
        assert!(!bot.contains("vpn-proxy-iceland"), "{bot}");
    }

    // SOCKS5 through the gluetun proxy is refused by `check` with the reason.
    let socks = network.replace("protocol = \"http\";", "protocol = \"socks5\";");
    repo.write("nix/network.nix", &socks);
    let run = repo.run(&["check"]);
    run.expect_code(1);
    assert!(
        run.stdout().contains("egress-upstream-protocol"),
        "{}",
        run.stdout()
    );
    // And served by the gateway.
    repo.write(
        "nix/network.nix",
        &socks.replace("proxy = \"iceland\";", "proxy = \"home\";"),
    );
    repo.run(&["build"]).expect_code(0);
    assert!(
        repo.read(patch_path)
            .contains("value: socks5h://10.1.0.1:1080")
    );
}

/// `check --format json` exits 1 with a finding of `rule`: that finding.
fn failing_check(repo: &TempRepo, rule: &str) -> Value {
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(1);
    let findings: Value = serde_json::from_str(&run.stdout()).expect("JSON");
    findings
        .as_array()
        .and_then(|f| f.iter().find(|f| f["rule"] == rule))
        .cloned()
        .unwrap_or_else(|| panic!("no {rule}: {findings}"))
}

const QBITTORRENT_PATCH: &str =
    "kubernetes/base/apps/media/qbittorrent/vpn-egress/deployment-patch.yaml";

#[test]
fn an_existing_secret_is_referenced_not_sealed() {
    let repo = sealed_fixture();
    repo.run(&["build"]).expect_code(0);
    // The sidecar reads the ExternalSecret's keys; no KSOPS generator for it.
    let patch = repo.read(QBITTORRENT_PATCH);
    for (var, key) in [
        ("WIREGUARD_PRIVATE_KEY", "wg-key"),
        ("WIREGUARD_ADDRESSES", "wg-address"),
    ] {
        let at = patch
            .find(&format!("name: {var}"))
            .unwrap_or_else(|| panic!("no {var} in\n{patch}"));
        let entry = &patch[at..at + patch[at..].find("- name:").unwrap_or(patch.len() - at)];
        assert!(
            entry.contains("name: qbittorrent-vpn") && entry.contains(&format!("key: {key}")),
            "{var}:\n{entry}"
        );
    }
    let component =
        repo.read("kubernetes/base/apps/media/qbittorrent/vpn-egress/kustomization.yaml");
    assert!(!component.contains("generators"), "{component}");
    assert!(
        !repo
            .path()
            .join("kubernetes/base/apps/media/qbittorrent/vpn-egress/secret-generator.yaml")
            .exists()
    );
    // The proxy keeps its sealed (KSOPS) credentials.
    let proxies = repo.read("kubernetes/base/infra/network/vpn-proxy/kustomization.yaml");
    assert!(proxies.contains("secret-generator.yaml"), "{proxies}");

    // A key the ExternalSecret does not make is an error at the mapping, naming the file.
    let network = repo.read("nix/network.nix");
    repo.write(
        "nix/network.nix",
        &network.replace(
            "WIREGUARD_PRIVATE_KEY = \"wg-key\"",
            "WIREGUARD_PRIVATE_KEY = \"private-key\"",
        ),
    );
    repo.commit_all();
    let finding = failing_check(&repo, "egress-existing-secret-keys");
    assert_eq!(finding["file"], "nix/network.nix", "{finding}");
    let message = finding["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`private-key` (for WIREGUARD_PRIVATE_KEY)")
            && message.contains("kubernetes/base/apps/media/qbittorrent/externalsecret.yaml")
            && !message.contains("wg-address"),
        "{finding}"
    );
}

#[test]
fn without_ksops_no_sops_secret_is_rendered_and_a_sealed_one_is_an_error() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let network = repo.read("nix/network.nix").replace(
        "    kubernetes.argocd.repoURL",
        "    kubernetes.secrets = \"none\";\n    kubernetes.argocd.repoURL",
    );
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    let finding = failing_check(&repo, "egress-secret-no-ksops");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["file"], "nix/network.nix", "{finding}");
    assert!(
        finding["help"]
            .as_str()
            .is_some_and(|h| h.contains("existingSecret = { name = ")),
        "{finding}"
    );
    // The preview renders no KSOPS generator for it: nothing in the cluster would run it.
    let out = tempfile::tempdir().expect("a temp dir");
    let out_dir = out.path().join("preview");
    let out_arg = out_dir.to_string_lossy().into_owned();
    repo.run(&["build", "--out", &out_arg]).expect_code(0);
    let preview = tree(&out_dir);
    assert!(
        preview
            .keys()
            .any(|p| p.ends_with("deployment-iceland.yaml")),
        "{:?}",
        preview.keys()
    );
    let generators: Vec<&String> = preview
        .keys()
        .filter(|p| p.contains("secret-generator"))
        .collect();
    assert!(generators.is_empty(), "{generators:?}");

    // The proxies' credentials from an existing Secret too: clean, and nothing SOPS rendered.
    let network = network.replace(
        "credentials = \"protonvpn\"; };",
        "existingSecret.name = \"protonvpn-keys\"; };",
    );
    // The declared secret goes: nothing seals it any more.
    let start = network
        .find("    secrets.protonvpn = {\n")
        .expect("the secret");
    let end = start + network[start..].find("    };\n").expect("its end") + "    };\n".len();
    let network = format!("{}{}", &network[..start], &network[end..]);
    assert!(!network.contains("secrets.protonvpn"), "{network}");
    repo.write("nix/network.nix", &network);
    // Nothing SOPS in the cluster: its creation rule goes too (else it is stale).
    let sops = repo.read(".sops.yaml");
    let rule = "  - path_regex: kubernetes/.*\\.sops\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    key_groups:\n      - age:\n          - *alice\n";
    assert!(sops.contains(rule), "{sops}");
    repo.write(".sops.yaml", &sops.replace(rule, ""));
    repo.commit_all();
    repo.run(&["check"]).expect_code(0);
    repo.run(&["build"]).expect_code(0);
    let after = tree(repo.path());
    let sops: Vec<&String> = after
        .keys()
        .filter(|p| p.starts_with("kubernetes/"))
        .filter(|p| p.contains("secret-generator") || p.ends_with(".sops.yaml"))
        .collect();
    assert!(sops.is_empty(), "{sops:?}");
    let proxy = repo.read("kubernetes/base/infra/network/vpn-proxy/deployment-iceland.yaml");
    assert!(proxy.contains("name: protonvpn-keys"), "{proxy}");
    assert!(proxy.contains("key: WIREGUARD_PRIVATE_KEY"), "{proxy}");
}

/// `path`'s text with `from` replaced by `to` (which must be there).
fn edit(repo: &TempRepo, path: &str, from: &str, to: &str) {
    let text = repo.read(path);
    assert!(text.contains(from), "`{from}` not in {path}:\n{text}");
    repo.write(path, &text.replacen(from, to, 1));
}

/// The error rules of `check --format json`, sorted.
fn error_rules(repo: &TempRepo) -> Vec<String> {
    let run = repo.run(&["check", "--format", "json"]);
    let findings: Value = serde_json::from_str(&run.stdout()).expect("JSON");
    let mut rules: Vec<String> = findings
        .as_array()
        .expect("an array")
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["rule"].as_str().unwrap_or_default().to_owned())
        .collect();
    rules.sort();
    rules
}

#[test]
fn init_drafts_what_a_real_repository_says_then_check_diff_build() {
    let repo = TempRepo::from_fixture(FIXTURE);
    repo.git(&["rm", "-q", "nix/network.nix"]);
    repo.commit_all();

    // The draft, deterministic, written once and never over a file.
    let printed = repo.run(&["init", "--print"]);
    printed.expect_code(0);
    assert_eq!(repo.run(&["init", "--print"]).stdout(), printed.stdout());
    assert!(
        !repo.path().join("nix/network.nix").exists(),
        "--print wrote"
    );
    repo.run(&["init"]).expect_code(0);
    let draft = repo.read("nix/network.nix");
    assert_eq!(draft, printed.stdout());
    let again = repo.run(&["init"]);
    again.expect_code(1);
    assert!(
        again.stderr().contains("nix/network.nix exists")
            && again.stderr().contains("never overwrites"),
        "{}",
        again.stderr()
    );
    assert_eq!(repo.read("nix/network.nix"), draft);
    // What the repository says, each with where it says it.
    for line in [
        "      # nixos/hosts/routy/default.nix:7: --advertise-routes\n",
        "      routy = { role = \"subnet-router\"; advertiseRoutes = [ \"10.1.0.0/24\" ]; };\n",
        "      # nixos/hosts/calypso/default.nix:6: useRoutingFeatures = \"client\"\n",
        "      calypso = { role = \"workstation\"; };\n",
        "      chipmunk = { role = \"server\"; };\n",
        "    # .sops.yaml:5: the key `&oldvps` is in no creation rule and is no host of the flake:\n",
        "      ageRecipients = [ \"age1fj3zd9ccduyzsyrehpjas7h3c6xymnffqfkt8702havpwg2td5ascvp45w\" ];\n",
        "      routy-tailscale = { format = \"plain\"; file = \"secrets/routy/tailscale.yaml\"; keys = [ \"authkey\" ]; };\n",
        "        # qbittorrent = { namespace = \"media\"; provider = \"FILL-IN\"; countries = [ \"FILL IN\" ]; existingSecret = { name = \"qbittorrent-vpn\"; keys = { WIREGUARD_ADDRESSES = \"wg-address\"; WIREGUARD_PRIVATE_KEY = \"wg-key\"; }; }; };\n",
        "      # kubernetes/argocd/apps/irc-app.yaml:9: the repository Argo CD syncs\n",
        "      argocd.repoURL = \"https://github.com/alice/homelab.git\";\n",
    ] {
        assert!(draft.contains(line), "no `{line}` in\n{draft}");
    }
    assert!(
        !draft.contains("alice ="),
        "a person's key is no host:\n{draft}"
    );

    // It decodes, and `check` finds what the repository has: the leftover key and
    // the creation rule for SOPS files nobody declares.
    assert_eq!(
        error_rules(&repo),
        ["retired-sops-anchor", "sops-rule-unused"]
    );

    // The person fills in what the files do not say: the VPN's provider and
    // countries, and a shared proxy for the bot whose credentials are a SOPS file
    // for KSOPS (the creation rule for `kubernetes/…sops.yaml` says where).
    edit(
        &repo,
        "nix/network.nix",
        "        # qbittorrent = { namespace = \"media\"; provider = \"FILL-IN\"; countries = [ \"FILL IN\" ];",
        "        qbittorrent = { namespace = \"media\"; provider = \"protonvpn\"; countries = [ \"Iceland\" ]; inputPorts = [ 8080 ];",
    );
    edit(
        &repo,
        "nix/network.nix",
        "      sidecars = {\n",
        "      providers.protonvpn = { credentials = \"protonvpn\"; };\n      proxies.iceland = { provider = \"protonvpn\"; countries = [ \"Iceland\" ]; };\n      clients.marmithon = { namespace = \"irc\"; proxy = \"iceland\"; enforce = true; podLabels = { app = \"marmithon\"; }; };\n      sidecars = {\n",
    );
    edit(
        &repo,
        "nix/network.nix",
        "    secrets = {\n",
        &format!(
            "    secrets = {{\n      protonvpn = {{ file = \"{PROTONVPN_FILE}\"; keys = [ \"WIREGUARD_PRIVATE_KEY\" \"WIREGUARD_ADDRESSES\" \"SHADOWSOCKS_PASSWORD\" ]; }};\n"
        ),
    );
    repo.commit_all();
    // The leftover key, and the credentials file nobody sealed yet.
    assert_eq!(
        error_rules(&repo),
        ["retired-sops-anchor", "secret-file-missing"]
    );
    let before = tree(repo.path());

    // The preview works while `check` still fails, and writes nothing.
    let diff = repo.run(&["diff"]);
    diff.expect_code(1);
    assert!(
        diff.stderr().contains("finds 2 errors"),
        "{}",
        diff.stderr()
    );
    assert!(diff.stdout().contains(APPLICATION), "{}", diff.stdout());
    assert_eq!(tree(repo.path()), before);
    repo.run(&["build"]).expect_code(1);
    assert_eq!(tree(repo.path()), before, "build refused: nothing written");

    // The person removes the leftover check named; `build` still waits for the
    // credentials, and says which file and which command.
    edit(
        &repo,
        ".sops.yaml",
        "  # leftover from the old VPS\n  - &oldvps age1fj3zd9ccduyzsyrehpjas7h3c6xymnffqfkt8702havpwg2td5ascvp45w\n",
        "",
    );
    repo.commit_all();
    assert_eq!(error_rules(&repo), ["secret-file-missing"]);
    refused_until_sealed(&repo);

    // Sealed to the public recipients (no key that decrypts is needed), then built.
    let sealed = repo.seal("protonvpn", &PROTONVPN_KEYS);
    assert!(
        sealed
            .stdout()
            .contains(&format!("sealed {PROTONVPN_FILE}")),
        "{}",
        sealed.stdout()
    );
    if let Some(sops) = support::oracle("sops") {
        // sops itself reads it as an encrypted file.
        let out = std::process::Command::new(sops)
            .args(["filestatus", PROTONVPN_FILE])
            .current_dir(repo.path())
            .output()
            .expect("running sops");
        let status = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && status.contains("\"encrypted\":true"),
            "sops filestatus: {status}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    repo.run(&["check"]).expect_code(0);
    let before = tree(repo.path());
    let run = repo.run(&["build"]);
    run.expect_code(0);
    assert_wired(&repo, &run, &before, &[]);
    // KSOPS decrypts the proxies' sealed file; the sidecar reads the ExternalSecret's Secret.
    let proxies = repo.read("kubernetes/base/infra/network/vpn-proxy/secret-generator.yaml");
    assert!(proxies.contains("secrets.sops.yaml"), "{proxies}");
    assert!(
        !repo
            .path()
            .join("kubernetes/base/apps/media/qbittorrent/vpn-egress/secret-generator.yaml")
            .exists(),
        "the ExternalSecret's Secret is not sealed again"
    );

    // Status is honest: built but not committed is not deployed; the credentials are sealed.
    let status = status_json(&repo);
    let proxies = phase_of(&status, "proxy-service");
    assert_eq!(proxies["state"], "open", "{proxies}");
    assert!(has_reason(&proxies, "commit"), "{proxies}");
    assert!(!has_reason(&proxies, "not sealed"), "{proxies}");
}

#[test]
fn init_drafts_hand_written_gluetuns_and_their_clients() {
    let repo = TempRepo::from_fixture("fixtures/adopt/by-hand");
    let before = tree(repo.path());
    let run = repo.run(&["init"]);
    run.expect_code(0);
    assert!(
        run.stdout().contains("1 proxies, 1 sidecars, 1 clients"),
        "{}",
        run.stdout()
    );
    let draft = repo.read("nix/network.nix");
    let after = tree(repo.path());
    assert_eq!(
        after.len(),
        before.len() + 2,
        "only nix/ and its file are new"
    );
    for line in [
        // Hosts from `genAttrs` in the flake, settings from `machines/<name>/`.
        "      # machines/router/configuration.nix:10: --advertise-routes\n",
        "      router = { role = \"subnet-router\"; advertiseRoutes = [ \"192.168.1.0/24\" \"192.168.20.0/24\" ]; tags = [ \"tag:router\" ]; acceptRoutes = true; };\n",
        "      storage = { role = \"server\"; };\n",
        "    retired.hetzner = {\n",
        "      router-tailscale = { format = \"plain\"; file = \"secrets/router/tailscale.yaml\"; keys = [ \"tailscale_authkey\" ]; };\n",
        "        mullvad = { };\n",
        "        switzerland = { provider = \"mullvad\"; countries = [ \"Switzerland\" ]; existingSecret = { name = \"mullvad\"; keys = { WIREGUARD_ADDRESSES = \"addresses\"; WIREGUARD_PRIVATE_KEY = \"private-key\"; }; }; };\n",
        "        # It has WIREGUARD_ADDRESSES as plain values in the manifest: move them into a Secret (not copied here).\n",
        "        transmission = { namespace = \"downloads\"; provider = \"protonvpn\"; countries = [ \"Netherlands\" \"Sweden\" ]; portForwarding = true; inputPorts = [ 9091 ]; existingSecret = { name = \"transmission-vpn\"; keys = { WIREGUARD_PRIVATE_KEY = \"wireguard-private-key\"; }; }; };\n",
        "        ircbot = { namespace = \"chat\"; proxy = \"switzerland\"; podLabels = { app = \"ircbot\"; }; };\n",
        "      dir = \"k8s\";\n",
        "      argocd.repoURL = \"https://git.example.org/bob/infra.git\";\n",
        // Apps under `apps/<namespace>/<app>`, not the default `base/apps/…`.
        "      # k8s/apps/chat/ircbot/deployment.yaml:2, k8s/apps/downloads/transmission/deployment.yaml:2: apps at `apps/{namespace}/{app}`\n",
        "      layout.apps = \"apps/{namespace}/{app}\";\n",
    ] {
        assert!(draft.contains(line), "no `{line}` in\n{draft}");
    }
    assert!(
        !draft.contains("10.2.0.2"),
        "a credential value was copied:\n{draft}"
    );
    // The draft decodes; the leftover key and the sidecar's missing Secret key are
    // the repository's own findings, and the only errors (the apps' components
    // go where their kustomizations are: no `egress-component-missing`).
    assert_eq!(
        error_rules(&repo),
        ["egress-existing-secret-keys", "retired-sops-anchor"]
    );
}

/// What an earlier `build` generated (its ledger says which) is not drafted as
/// if people had written it: a repository built before drafts no proxies from
/// the generated gluetuns.
#[test]
fn init_ignores_what_a_build_generated() {
    let repo = sealed_fixture();
    repo.run(&["build"]).expect_code(0);
    repo.git(&["rm", "-q", "nix/network.nix"]);
    repo.commit_all();
    let run = repo.run(&["init", "--print"]);
    run.expect_code(0);
    let draft = run.stdout();
    assert!(!draft.contains("proxies = {"), "{draft}");
    assert!(!draft.contains("hand-written gluetun"), "{draft}");
    assert!(
        draft.contains("routy = { role = \"subnet-router\";"),
        "{draft}"
    );
}
