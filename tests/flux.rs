//! A Flux repository (issue 21): `tests/fixtures/flux/homelab` is shaped like the
//! second real repository of the issue — six NixOS hosts computed from an
//! attrset in another file (`lib.mapAttrs … (import ./hosts/nodes.nix)`), Flux v2
//! bootstrapped at `clusters/home` (no `kustomization.yaml` there: Flux makes
//! one), an `apps` Kustomization decrypting SOPS itself, kubenix-generated flat
//! manifests in `.k8s/`, apps under `apps/<namespace>/<app>`, two subnet routers
//! advertising the same LAN for failover, Mullvad instead of ProtonVPN, and a
//! multi-document SOPS file written by the real sops (`secrets/nas/`).
//!
//! With `kubernetes.gitops = "flux"`, `build` writes a Flux `Kustomization`
//! (valid under Flux's CRD schema) where the bootstrap applies the cluster's
//! Kustomizations, lists the SOPS-encrypted Secrets as plain resources (no
//! KSOPS), and every generated path follows `kubernetes.layout`.
use crate::support::{self, TempRepo, tree};
use std::process::Command;

const FIXTURE: &str = "fixtures/flux/homelab";
const PROXIES: &str = "infrastructure/vpn-proxy";
const REGISTRATION: &str = "clusters/home/vpn-proxy.yaml";
const QBITTORRENT: &str = "apps/media/qbittorrent";
const IRCBOT: &str = "apps/chat/ircbot";

/// `check --format json`, its exit code asserted (`None`: any).
fn check_run(repo: &TempRepo, code: Option<i32>) -> support::Run {
    let run = repo.run(&["check", "--format", "json"]);
    if let Some(code) = code {
        run.expect_code(code);
    }
    run
}

/// Every finding `check` reports, in its order (see [`check_run`]).
fn findings(repo: &TempRepo, code: Option<i32>) -> Vec<serde_json::Value> {
    check_run(repo, code).findings()
}

/// The findings of `rule` (see [`check_run`]).
fn findings_of(repo: &TempRepo, code: Option<i32>, rule: &str) -> Vec<serde_json::Value> {
    check_run(repo, code).findings_of(rule)
}

/// The findings `check` reports, as `severity rule`, sorted.
fn rules(repo: &TempRepo) -> Vec<String> {
    let mut rules: Vec<String> = findings(repo, None)
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["severity"].as_str().unwrap_or_default(),
                f["rule"].as_str().unwrap_or_default()
            )
        })
        .collect();
    rules.sort();
    rules
}

#[test]
fn flux_repository_builds_checks_diffs_and_reports() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let before = tree(repo.path());

    // `check` is right before the first build: no false error for the HA
    // route, the shared key and the computed hosts are what they are.
    let expected = [
        "warning egress-shared-key",
        "warning flake-hosts-unknown",
        "warning sops-demo-key",
        "warning sops-demo-key",
    ];
    assert_eq!(rules(&repo), expected);
    repo.run(&["check"]).expect_code(0);

    let run = repo.run(&["build"]);
    run.expect_code(0);
    for wired in [QBITTORRENT, IRCBOT] {
        assert!(
            run.stdout()
                .contains(&format!("wired     {wired}/kustomization.yaml")),
            "{}",
            run.stdout()
        );
    }

    // The output tree: the proxies where the layout says, the Flux
    // Kustomization where the bootstrap applies the cluster's ones, the
    // components in the apps' directories; no KSOPS anywhere.
    let after = tree(repo.path());
    let added: Vec<&str> = after
        .keys()
        .filter(|p| !before.contains_key(*p) && !p.ends_with('/'))
        .map(String::as_str)
        .collect();
    assert_eq!(
        added,
        [
            ".avalanche-generated.json",
            "apps/chat/ircbot/vpn-egress/deployment-patch.yaml",
            "apps/chat/ircbot/vpn-egress/kustomization.yaml",
            "apps/chat/ircbot/vpn-egress/networkpolicy.yaml",
            "apps/media/qbittorrent/vpn-egress/deployment-patch.yaml",
            "apps/media/qbittorrent/vpn-egress/kustomization.yaml",
            "apps/media/qbittorrent/vpn-egress/remove-gluetun-patch.yaml",
            REGISTRATION,
            "infrastructure/vpn-proxy/README.md",
            "infrastructure/vpn-proxy/deployment-sweden.yaml",
            "infrastructure/vpn-proxy/kustomization.yaml",
            "infrastructure/vpn-proxy/namespace.yaml",
            "infrastructure/vpn-proxy/networkpolicy-default-deny.yaml",
            "infrastructure/vpn-proxy/networkpolicy-sweden.yaml",
            "infrastructure/vpn-proxy/service-sweden.yaml",
            "tailscale/policy.hujson",
        ]
    );
    let text = |p: &str| String::from_utf8(after[p].clone()).expect("UTF-8");
    for path in &added {
        let t = text(path);
        assert!(
            !t.contains("ksops") && !t.contains("secret-generator"),
            "{path} uses KSOPS:\n{t}"
        );
        assert!(
            !t.contains("Argo") && !t.contains("argocd"),
            "{path} speaks Argo CD:\n{t}"
        );
    }
    // The hand-written files changed only by their added component.
    for (path, bytes) in before.iter().filter(|(p, _)| !p.ends_with('/')) {
        let kustomizations = [
            format!("{QBITTORRENT}/kustomization.yaml"),
            format!("{IRCBOT}/kustomization.yaml"),
        ];
        if kustomizations.contains(path) {
            assert_eq!(
                text(path),
                format!(
                    "{}components:\n  - vpn-egress\n",
                    String::from_utf8_lossy(bytes)
                )
            );
        } else {
            assert_eq!(after.get(path), Some(bytes), "{path} changed");
        }
    }
    // The encrypted Secret is a plain resource of the proxies' tree and of the
    // sidecar's component: Flux decrypts it.
    let readme = text(&format!("{PROXIES}/README.md"));
    assert!(
        readme.contains("kubectl -n flux-system get kustomization vpn-proxy"),
        "{readme}"
    );
    let proxies = text(&format!("{PROXIES}/kustomization.yaml"));
    assert!(proxies.contains("- mullvad.sops.yaml"), "{proxies}");
    let component = text(&format!("{QBITTORRENT}/vpn-egress/kustomization.yaml"));
    assert!(
        component.contains("../../../../infrastructure/vpn-proxy/mullvad.sops.yaml"),
        "{component}"
    );

    let flux: FluxKustomization =
        serde_norway::from_str(&text(REGISTRATION)).expect("a Flux Kustomization");
    assert_eq!(flux.api_version, "kustomize.toolkit.fluxcd.io/v1");
    assert_eq!(flux.kind, "Kustomization");
    assert_eq!(flux.metadata.namespace, "flux-system");
    assert_eq!(flux.spec.path, format!("./{PROXIES}"));
    assert_eq!(flux.spec.source_ref.name, "flux-system");
    assert!(flux.spec.prune);
    assert_eq!(flux.spec.decryption.provider, "sops");
    assert_eq!(flux.spec.decryption.secret_ref.name, "sops-age");

    // What Flux applies, built as kustomize-controller builds it.
    kustomize_as_flux(repo.path(), &[PROXIES, QBITTORRENT, IRCBOT]);
    flux_schema(&repo.path().join(REGISTRATION), "vpn-proxy");

    // Idempotent, and `check` still right once built and committed.
    repo.commit_all();
    repo.run(&["diff"]).expect_code(0);
    assert_eq!(rules(&repo), expected);

    // Every SOPS file is judged, the multi-document one (one `sops:` block per
    // document, as sops writes it) included.
    let key = support::workspace_root().join("tests/keys/demo.agekey");
    let verify = repo.run_env(
        &["secrets", "verify"],
        &[("SOPS_AGE_KEY_FILE", key.to_str().expect("UTF-8"))],
    );
    verify.expect_code(0);
    assert!(
        verify.stdout().contains("verified 2 SOPS files"),
        "{}",
        verify.stdout()
    );

    // `status` speaks Flux and follows the Flux tree from the bootstrap.
    let status = repo.run(&["status"]);
    status.expect_code(0);
    let out = status.stdout();
    assert!(out.contains("[x] 2. Proxy service deployed"), "{out}");
    assert!(out.contains("[x] 3. Clients migrated (ircbot)"), "{out}");
    assert!(!out.contains("Argo"), "{out}");
    assert!(
        out.contains("gate1 and gate2 form a failover group for 192.168.50.0/24"),
        "{out}"
    );
    let verbose = repo.run(&["status", "--verbose"]).stdout();
    for line in [
        format!("checked: {PROXIES} and the Flux Kustomization {REGISTRATION} exist"),
        "checked: the Flux Kustomization and the proxy tree are reached from a Flux root"
            .to_owned(),
        format!("checked: {IRCBOT}/vpn-egress is reached from a Flux root"),
    ] {
        assert!(verbose.contains(&line), "{line}\n{verbose}");
    }
}

#[test]
fn a_flux_tree_nothing_applies_is_not_deployed() {
    let repo = TempRepo::from_fixture(FIXTURE);
    // Without the bootstrap there is no Flux root and nowhere to register.
    std::fs::remove_dir_all(repo.path().join("clusters/home/flux-system")).expect("rm");
    repo.commit_all();
    repo.run(&["build"]).expect_code(0);
    repo.commit_all();
    let out = repo.run(&["status"]).stdout();
    assert!(out.contains("[ ] 2. Proxy service deployed"), "{out}");
    assert!(out.contains("is not reachable from a Flux root"), "{out}");
}

/// Flat manifests nothing applies (`apps/{app}.yaml` does not exist, and no
/// kustomization or Flux Kustomization takes it): the Component would be
/// included by nothing, so `check` refuses with the kustomization to write and
/// `build` writes nothing.
#[test]
fn a_flat_manifest_nothing_applies_is_reported_not_generated() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let network = repo.read("nix/network.nix").replace(
        "apps = \"apps/{namespace}/{app}\";",
        "apps = \"apps/{app}.yaml\";",
    );
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    let findings = findings_of(&repo, Some(1), "egress-app-unreachable");
    let unreachable: Vec<&serde_json::Value> = findings.iter().collect();
    assert_eq!(unreachable.len(), 2, "{findings:#?}");
    // In the order of the declarations.
    for (finding, app) in unreachable.iter().zip(["qbittorrent", "ircbot"]) {
        let message = finding["message"].as_str().unwrap_or_default();
        assert_eq!(
            message,
            format!(
                "`{app}`'s generated egress component `vpn-egress/{app}` would be applied by nothing: \
                 no kustomization lists `apps/{app}.yaml` and no Flux Kustomization applies its directory without one"
            )
        );
        assert_eq!(finding["file"], "nix/network.nix");
        assert_eq!(
            finding["notes"][0],
            format!("`apps/{app}.yaml` is not in the repository either")
        );
        let help = finding["help"].as_str().unwrap_or_default();
        assert!(
            help.starts_with(&format!(
                "write `apps/kustomization.yaml` with the lines `resources:`, `  - {app}.yaml`, `components:` and `  - ../vpn-egress/{app}`, so that what applies `apps/{app}.yaml` applies it with its component"
            )),
            "{help}"
        );
    }
    // Nothing is written while `check` has errors.
    repo.run(&["build"]).expect_code(1);
    assert!(!repo.path().join("vpn-egress").exists());
}

const KUBENIX: &str = "fixtures/flux/kubenix";

/// Issue 21's second repository: Flux v2 applies `.k8s/`, where kubenix renders
/// one flat manifest per app (no kustomization.yaml anywhere: Flux generates
/// one), through a hand-written Flux Kustomization that decrypts SOPS; qBittorrent
/// with a hand-written gluetun, an IRC bot behind the proxy. `build` writes each
/// app's Component in `vpn-egress/<app>` (outside what Flux applies whole) and
/// lists it in that Flux Kustomization's `spec.components`; what Flux then builds
/// carries the sidecar and the proxy variables, and validates strictly.
#[test]
fn flat_kubenix_manifests_get_their_egress_through_the_flux_kustomization() {
    let repo = TempRepo::from_fixture(KUBENIX);
    let flux_file = "clusters/home/apps.yaml";
    let expected = [
        "warning egress-existing-gluetun",
        "warning egress-shared-key",
        "warning flake-hosts-unknown",
        "warning sops-demo-key",
    ];
    assert_eq!(rules(&repo), expected);

    // Built but not wired: each app is reported with the exact lines.
    repo.run(&["build", "--no-wire"]).expect_code(0);
    repo.commit_all();
    let findings = findings_of(&repo, Some(1), "egress-app-unreachable");
    let unwired: Vec<(String, String, String)> = findings
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("message"), s("file"), s("help"))
        })
        .collect();
    let message = |app: &str| {
        format!(
            "`{flux_file}` applies `.k8s/{app}.yaml` but does not list `{app}`'s generated egress component `vpn-egress/{app}` under `spec.components`"
        )
    };
    // Each edit follows the one before it in the same file.
    assert_eq!(
        unwired,
        [
            (
                message("ircbot"),
                flux_file.to_owned(),
                format!(
                    "add the lines `  components:` and `    - ../vpn-egress/ircbot` to `{flux_file}` (from line 20); or run `avalanche-net build`, which adds it"
                )
            ),
            (
                message("qbittorrent"),
                flux_file.to_owned(),
                format!(
                    "add `    - ../vpn-egress/qbittorrent` under `spec.components:` in `{flux_file}` (as line 22); or run `avalanche-net build`, which adds it"
                )
            ),
        ]
    );

    let original = repo.read(flux_file);
    let run = repo.run(&["build"]);
    run.expect_code(0);
    assert!(
        run.stdout().contains(&format!("wired     {flux_file}")),
        "{}",
        run.stdout()
    );
    assert_eq!(
        repo.read(flux_file),
        format!(
            "{original}  components:\n    - ../vpn-egress/ircbot\n    - ../vpn-egress/qbittorrent\n"
        )
    );
    repo.commit_all();
    assert_eq!(rules(&repo), expected);
    repo.run(&["diff"]).expect_code(0);
    // No hand-written manifest changed: kubenix would rewrite it anyway.
    for app in ["qbittorrent", "ircbot", "homepage"] {
        let path = format!(".k8s/{app}.yaml");
        let fixture = std::fs::read_to_string(
            support::workspace_root()
                .join("tests")
                .join(KUBENIX)
                .join(&path),
        )
        .expect("the fixture");
        assert_eq!(repo.read(&path), fixture, "{path}");
    }
    // `status` follows the Flux Kustomization's `spec.components`.
    let status = repo.run(&["status", "--verbose"]).stdout();
    assert!(
        status.contains("[x] 3. Clients migrated (ircbot)"),
        "{status}"
    );
    assert!(
        status.contains("checked: vpn-egress/ircbot is reached from a Flux root"),
        "{status}"
    );
    assert!(status.contains("note: ircbot: wired on "), "{status}");

    let built = build_as_flux(repo.path(), flux_file);
    flux_built_has_the_egress(&built);
    flux_schema(&repo.path().join(flux_file), "apps");
}

/// The Flux Kustomization applying `.k8s/` shares its file with another, as
/// Flux's own examples keep `infrastructure.yaml`: only its document gets the
/// entries, every other byte stays.
#[test]
fn a_flux_kustomization_among_several_in_one_file_gets_the_entries() {
    let repo = TempRepo::from_fixture(KUBENIX);
    let flux_file = "clusters/home/apps.yaml";
    let apps = repo.read(flux_file);
    let controllers = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: controllers\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./infrastructure/controllers\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";
    let before = format!("{controllers}---\n{apps}");
    repo.write(flux_file, &before);
    repo.commit_all();
    repo.run(&["build"]).expect_code(0);
    assert_eq!(
        repo.read(flux_file),
        format!(
            "{controllers}---\n{apps}  components:\n    - ../vpn-egress/ircbot\n    - ../vpn-egress/qbittorrent\n"
        )
    );
    repo.commit_all();
    assert!(
        !rules(&repo).iter().any(|r| r.starts_with("error")),
        "{:?}",
        rules(&repo)
    );
}

/// `kubernetes.layout.egress` moved after a build: the Components move, and the
/// entries left in `spec.components` name directories that are gone, on which
/// kustomize-controller fails the whole Kustomization: `check` says which line.
#[test]
fn a_flux_component_entry_left_behind_is_kustomize_path_missing() {
    let repo = TempRepo::from_fixture(KUBENIX);
    repo.run(&["build"]).expect_code(0);
    repo.commit_all();
    let network = repo.read("nix/network.nix").replace(
        "proxies = \"infrastructure/vpn-proxy\";",
        "proxies = \"infrastructure/vpn-proxy\";\n        egress = \"kustomize/egress/{app}\";",
    );
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    repo.run(&["build"]).expect_code(0);
    repo.commit_all();
    assert!(!repo.path().join("vpn-egress").exists());
    let findings = findings_of(&repo, Some(1), "kustomize-path-missing");
    let missing: Vec<(String, u64)> = findings
        .iter()
        .map(|f| {
            (
                f["message"].as_str().unwrap_or_default().to_owned(),
                f["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        missing,
        [("ircbot", 21), ("qbittorrent", 22)].map(|(app, line)| (
            format!(
                "`clusters/home/apps.yaml` lists `../vpn-egress/{app}` under `spec.components` (relative to its `spec.path`, `.k8s`), but `vpn-egress/{app}` does not exist: Flux fails to build the whole Kustomization"
            ),
            line
        ))
    );
}

/// The Flux Kustomization applying the flat files without `spec.decryption`:
/// the sidecar's Component it would build lists the encrypted Secret, so it is
/// `flux-decryption-missing`, about qBittorrent's credentials.
#[test]
fn a_flat_sidecar_needs_its_flux_kustomization_to_decrypt() {
    let repo = TempRepo::from_fixture(KUBENIX);
    let flux_file = "clusters/home/apps.yaml";
    let text = repo.read(flux_file);
    let cut = text.find("  decryption:").expect("decryption");
    repo.write(flux_file, &text[..cut]);
    repo.commit_all();
    let findings = findings_of(&repo, Some(1), "flux-decryption-missing");
    let messages: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "Flux Kustomization `apps` applies SOPS-encrypted Secrets (`qbittorrent's sidecar credentials`) without `spec.decryption`: they would be applied encrypted"
        ]
    );
}

/// The same manifests listed by a hand-written `.k8s/kustomization.yaml` (the
/// second way flat files are applied): its `components:` gets the entries, the
/// Flux Kustomization is left alone, and Flux builds the same egress.
#[test]
fn flat_manifests_listed_by_a_kustomization_get_their_components_there() {
    let repo = TempRepo::from_fixture(KUBENIX);
    let kustomization = ".k8s/kustomization.yaml";
    let before = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - homepage.yaml\n  - ircbot.yaml\n  - qbittorrent.yaml\n";
    repo.write(kustomization, before);
    repo.commit_all();
    let flux_file = "clusters/home/apps.yaml";
    let flux_before = repo.read(flux_file);
    repo.run(&["build"]).expect_code(0);
    assert_eq!(
        repo.read(kustomization),
        format!("{before}components:\n  - ../vpn-egress/ircbot\n  - ../vpn-egress/qbittorrent\n")
    );
    assert_eq!(repo.read(flux_file), flux_before);
    repo.commit_all();
    assert_eq!(
        rules(&repo),
        [
            "warning egress-existing-gluetun",
            "warning egress-shared-key",
            "warning flake-hosts-unknown",
            "warning sops-demo-key",
        ]
    );
    let built = build_as_flux(repo.path(), flux_file);
    flux_built_has_the_egress(&built);

    // A Component inside what Flux applies whole would break Flux's generated
    // kustomization: refused, nothing written.
    let repo = TempRepo::from_fixture(KUBENIX);
    let network = repo.read("nix/network.nix").replace(
        "proxies = \"infrastructure/vpn-proxy\";",
        "proxies = \"infrastructure/vpn-proxy\";\n        egress = \".k8s/egress/{app}\";",
    );
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    let findings = findings_of(&repo, Some(1), "egress-app-unreachable");
    let messages: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert_eq!(
        messages,
        ["ircbot", "qbittorrent"].map(|app| format!(
            "`{flux_file}` cannot list `{app}`'s generated egress component `.k8s/egress/{app}`: the generated Component `.k8s/egress/{app}` is inside `.k8s`, which the Flux Kustomization in `{flux_file}` applies whole: Flux would take it for a resource and fail"
        ))
    );
    repo.run(&["build"]).expect_code(1);
    assert!(!repo.path().join(".k8s/egress").exists());
}

/// The kubenix manifests under Argo CD (`kubernetes.gitops = "argocd"`). An
/// Application on the plain directory cannot take a Component: refused with
/// the kustomization to write beside the files. Once `.k8s/kustomization.yaml`
/// lists them, `build` adds the components there, and `kubectl kustomize`
/// builds it with the default load restrictions (the sidecar's Secret from
/// KSOPS, in the app's namespace).
#[test]
fn flat_manifests_under_argo_cd_are_wired_through_their_kustomization() {
    let repo = TempRepo::from_fixture(KUBENIX);
    let network = repo
        .read("nix/network.nix")
        .replace("gitops = \"flux\";", "gitops = \"argocd\";");
    repo.write("nix/network.nix", &network);
    std::fs::remove_dir_all(repo.path().join("clusters")).expect("rm");
    repo.commit_all();
    let findings = findings_of(&repo, Some(1), "egress-app-unreachable");
    let helps: Vec<&str> = findings.iter().filter_map(|f| f["help"].as_str()).collect();
    assert_eq!(
        helps,
        ["qbittorrent", "ircbot"].map(|app| format!(
            "write `.k8s/kustomization.yaml` with the lines `resources:`, `  - homepage.yaml`, `  - ircbot.yaml`, `  - qbittorrent.yaml`, `components:` and `  - ../vpn-egress/{app}`, so that what applies `.k8s/{app}.yaml` applies it with its component"
        ))
    );
    repo.run(&["build"]).expect_code(1);
    assert!(!repo.path().join("vpn-egress").exists());

    let kustomization = ".k8s/kustomization.yaml";
    let before = "resources: [homepage.yaml, ircbot.yaml, qbittorrent.yaml]\n";
    repo.write(kustomization, before);
    repo.commit_all();
    repo.run(&["build"]).expect_code(0);
    assert_eq!(
        repo.read(kustomization),
        "resources: [homepage.yaml, ircbot.yaml, qbittorrent.yaml]\ncomponents: [../vpn-egress/ircbot, ../vpn-egress/qbittorrent]\n"
    );
    assert_eq!(
        repo.read("vpn-egress/qbittorrent/secret/kustomization.yaml")
            .lines()
            .skip(1)
            .collect::<Vec<_>>(),
        [
            "apiVersion: kustomize.config.k8s.io/v1beta1",
            "kind: Kustomization",
            "namespace: media",
            "generators:",
            "- secret-generator.yaml",
        ]
    );
    repo.commit_all();
    assert!(
        !rules(&repo).iter().any(|r| r.starts_with("error")),
        "{:?}",
        rules(&repo)
    );
    let Some(kubectl) = support::oracle("kubectl") else {
        return;
    };
    let scratch = tempfile::tempdir().expect("a temp dir");
    let built =
        crate::build::kustomize(repo.path(), &kubectl, scratch.path(), &[".k8s".to_owned()]);
    let text = &built[0].1;
    assert!(text.contains("restartPolicy: Always"), "{text}");
    assert!(text.contains("name: HTTPS_PROXY"), "{text}");
    assert!(
        text.contains("name: ircbot-vpn-egress\n  namespace: chat"),
        "{text}"
    );
    support::validate_strict(
        std::slice::from_ref(text),
        &[
            "deployment/qbittorrent",
            "deployment/ircbot",
            "networkpolicy/ircbot-vpn-egress",
        ],
    );
}

/// What kustomize-controller builds for the Flux Kustomization in `flux_file`
/// (a scratch copy of the repository): the kustomization of its `spec.path`, or
/// the one Flux generates when there is none (every YAML file below, a
/// directory with its own kustomization as one resource; fluxcd/pkg
/// `kustomize_generator.go`), with `spec.components` appended, built with
/// `LoadRestrictionsNone`. `None` when kubectl is not installed (and allowed not to be).
fn build_as_flux(repo: &std::path::Path, flux_file: &str) -> Option<String> {
    let kubectl = support::oracle("kubectl")?;
    let scratch = tempfile::tempdir().expect("a temp dir");
    support::copy_dir(repo, scratch.path());
    let flux: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(repo.join(flux_file)).expect("reading"))
            .expect("YAML");
    let spec = &flux["spec"];
    let path = spec["path"]
        .as_str()
        .expect("spec.path")
        .trim_start_matches("./");
    let dir = scratch.path().join(path);
    let file = dir.join("kustomization.yaml");
    let mut k: serde_norway::Value = if file.exists() {
        serde_norway::from_str(&std::fs::read_to_string(&file).expect("reading")).expect("YAML")
    } else {
        fn scan(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .expect("reading")
                .map(|e| e.expect("entry").path())
                .collect();
            entries.sort();
            for p in entries {
                let rel = p
                    .strip_prefix(base)
                    .expect("below")
                    .to_string_lossy()
                    .into_owned();
                if p.is_dir() {
                    if p.join("kustomization.yaml").exists() {
                        out.push(format!("./{rel}"));
                    } else {
                        scan(base, &p, out);
                    }
                } else if rel.ends_with(".yaml") || rel.ends_with(".yml") {
                    out.push(format!("./{rel}"));
                }
            }
        }
        let mut resources = Vec::new();
        scan(&dir, &dir, &mut resources);
        serde_norway::from_str(&format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: {resources:?}\n"
        ))
        .expect("YAML")
    };
    if let Some(components) = spec["components"].as_sequence() {
        let list = k
            .as_mapping_mut()
            .expect("a mapping")
            .entry("components".into())
            .or_insert_with(|| serde_norway::Value::Sequence(Vec::new()));
        list.as_sequence_mut()
            .expect("a list")
            .extend(components.iter().cloned());
    }
    std::fs::write(&file, serde_norway::to_string(&k).expect("YAML")).expect("writing");
    let out = Command::new(kubectl)
        .args(["kustomize", "--load-restrictor", "LoadRestrictionsNone"])
        .arg(&dir)
        .output()
        .expect("kubectl kustomize");
    assert!(
        out.status.success(),
        "kubectl kustomize as Flux:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("UTF-8"))
}

/// What Flux applies of the kubenix apps: qBittorrent's hand-written gluetun
/// replaced by the generated native sidecar with its Secret in its namespace,
/// the IRC bot's proxy variables and fence; every object but the still-encrypted
/// Secret valid under `kubernetes-validate --strict`.
fn flux_built_has_the_egress(built: &Option<String>) {
    let Some(text) = built else { return };
    let docs: Vec<serde_norway::Value> = text
        .split("\n---\n")
        .map(|d| serde_norway::from_str(d).expect("YAML"))
        .collect();
    let find = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in:\n{text}"))
    };
    let qbittorrent = &find("Deployment", "qbittorrent")["spec"]["template"]["spec"];
    let names = |key: &str| -> Vec<String> {
        qbittorrent[key]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(names("containers"), ["qbittorrent"], "{text}");
    assert_eq!(
        names("initContainers").first().map(String::as_str),
        Some("gluetun"),
        "{text}"
    );
    assert_eq!(qbittorrent["initContainers"][0]["restartPolicy"], "Always");
    let secret = find("Secret", "mullvad");
    assert_eq!(secret["metadata"]["namespace"], "media", "{text}");
    assert!(
        text.contains("ENC[AES256_GCM,"),
        "Flux decrypts it:\n{text}"
    );
    let ircbot = &find("Deployment", "ircbot")["spec"]["template"]["spec"]["containers"][0];
    assert!(
        ircbot["env"]
            .as_sequence()
            .is_some_and(|env| env.iter().any(|e| e["name"] == "HTTPS_PROXY")),
        "{text}"
    );
    assert_eq!(
        find("NetworkPolicy", "ircbot-vpn-egress")["metadata"]["namespace"],
        "chat"
    );
    assert_eq!(
        find("Deployment", "homepage")["spec"]["template"]["spec"]["containers"][0]["name"],
        "homepage"
    );
    support::validate_strict(
        std::slice::from_ref(text),
        &[
            "deployment/qbittorrent",
            "deployment/ircbot",
            "networkpolicy/ircbot-vpn-egress",
        ],
    );
}

/// `kubectl kustomize` with Flux's load restrictor (kustomize-controller builds
/// with `LoadRestrictionsNone`: a component may list a Secret from elsewhere in
/// the repository), asserting the encrypted Secret comes through as is.
fn kustomize_as_flux(repo: &std::path::Path, dirs: &[&str]) {
    let Some(kubectl) = support::oracle("kubectl") else {
        return;
    };
    let mut built = Vec::new();
    for dir in dirs {
        let out = Command::new(&kubectl)
            .args(["kustomize", "--load-restrictor", "LoadRestrictionsNone"])
            .arg(repo.join(dir))
            .output()
            .expect("kubectl kustomize");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "kubectl kustomize {dir}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let secret = dir != &IRCBOT;
        assert_eq!(
            text.contains("kind: Secret") && text.contains("ENC[AES256_GCM,"),
            secret,
            "{dir}:\n{text}"
        );
        assert!(text.contains("kind: Deployment"), "{dir}:\n{text}");
        if dir == &QBITTORRENT {
            assert!(text.contains("restartPolicy: Always"), "{text}");
        }
        if dir == &IRCBOT {
            assert!(text.contains("name: HTTPS_PROXY"), "{text}");
            assert!(text.contains("kind: NetworkPolicy"), "{text}");
        }
        built.push(text.into_owned());
    }
    support::validate_strict(
        &built,
        &[
            "deployment/vpn-proxy-sweden",
            "deployment/qbittorrent",
            "deployment/ircbot",
            "networkpolicy/ircbot-vpn-egress",
        ],
    );
}

/// The Flux CRD's schema (PyPI `cloudcoil-models-fluxcd`, made strict) accepts it.
fn flux_schema(file: &std::path::Path, name: &str) {
    let Some(python) = support::oracle("python3") else {
        return;
    };
    let script = support::workspace_root().join("tests/oracles/flux_kustomization.py");
    let out = Command::new(python)
        .arg(script)
        .arg(file)
        .output()
        .expect("python3");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(3) {
        assert!(
            !support::oracles_required(),
            "the Flux schema oracle is not installed, and AVALANCHE_REQUIRE_ORACLES=1 (see .ci/run): {report}"
        );
        eprintln!("SKIPPED: the Flux schema oracle is not installed: {report}");
        return;
    }
    assert!(out.status.success(), "Flux schema:\n{report}");
    assert!(
        report.contains(&format!("passed for kustomization/{name}")),
        "{report}"
    );
}

/// `kustomize.toolkit.fluxcd.io/v1` Kustomization: the fields we set, no others.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FluxKustomization {
    api_version: String,
    kind: String,
    metadata: FluxMetadata,
    spec: FluxSpec,
}
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FluxMetadata {
    name: String,
    namespace: String,
    labels: std::collections::BTreeMap<String, String>,
}
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct FluxSpec {
    interval: String,
    path: String,
    prune: bool,
    source_ref: SourceRef,
    decryption: Decryption,
}
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SourceRef {
    kind: String,
    name: String,
}
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Decryption {
    provider: String,
    secret_ref: NameRef,
}
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NameRef {
    name: String,
}

/// A Flux app directory of plain manifests (no kustomization: Flux makes one):
/// a Component there would break the kustomization Flux generates, so `build`
/// writes nothing, and `check` gives the whole wrapper kustomization to add.
#[test]
fn a_plain_app_directory_gets_its_wrapper_kustomization_spelled_out() {
    let repo = TempRepo::from_fixture(FIXTURE);
    std::fs::remove_file(repo.path().join(IRCBOT).join("kustomization.yaml")).expect("rm");
    repo.commit_all();
    let findings = findings_of(&repo, Some(1), "egress-component-missing");
    let hit = findings.first().unwrap_or_else(|| panic!("{findings:#?}"));
    let help = hit["help"].as_str().unwrap_or_default();
    for line in [
        "`resources:`",
        "`  - deployment.yaml`",
        "`components:`",
        "`  - vpn-egress`",
    ] {
        assert!(help.contains(line), "{line} not in: {help}");
    }
    repo.run(&["build"]).expect_code(1);
    assert!(!repo.path().join(IRCBOT).join("vpn-egress").exists());
}

/// A cluster directory with its own kustomization: `build` lists the generated
/// Flux Kustomization there (one added line), and what Flux applies of the
/// cluster path holds it, next to the bootstrap and the hand-written ones.
#[test]
fn a_cluster_kustomization_gets_the_generated_one_listed() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let cluster = "clusters/home/kustomization.yaml";
    let before = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - flux-system\n  - apps.yaml\n  - generated.yaml\n";
    repo.write(cluster, before);
    repo.commit_all();
    let run = repo.run(&["build"]);
    run.expect_code(0);
    assert!(
        run.stdout().contains(&format!("wired     {cluster}")),
        "{}",
        run.stdout()
    );
    assert_eq!(repo.read(cluster), format!("{before}  - vpn-proxy.yaml\n"));
    repo.commit_all();
    let status = repo.run(&["status"]).stdout();
    assert!(status.contains("[x] 2. Proxy service deployed"), "{status}");
    let Some(kubectl) = support::oracle("kubectl") else {
        return;
    };
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(repo.path().join("clusters/home"))
        .output()
        .expect("kubectl kustomize");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["flux-system", "apps", "generated", "vpn-proxy"] {
        assert!(
            text.contains(&format!("\n  name: {name}\n")),
            "{name} not applied by the cluster path:\n{text}"
        );
    }
    assert_eq!(text.matches("kind: Kustomization\n").count(), 4, "{text}");
}

/// `kubernetes.gitops = "none"` on the same repository (issue 21 item 2):
/// plain manifests the user applies. No Argo CD Application and no Flux
/// Kustomization is written or registered, `check` asks for no registration,
/// `status` neither ticks nor demands one and says how to apply the tree, and
/// what `build` writes builds under `kubectl kustomize` and validates strictly.
/// The credentials are the cluster's own Secret (`kubernetes.secrets = "none"`).
#[test]
fn gitops_none_writes_plain_manifests_and_registers_nothing() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let network = repo.read("nix/network.nix");
    let start = network.find("    secrets.mullvad = {").expect("the secret");
    let end = start + network[start..].find("    };\n").expect("its end") + "    };\n".len();
    let network = format!("{}{}", &network[..start], &network[end..])
        .replace("gitops = \"flux\";", "gitops = \"none\";\n      secrets = \"none\";")
        .replace(
            "credentials = \"mullvad\"; };",
            "existingSecret = { name = \"mullvad\"; keys = { WIREGUARD_PRIVATE_KEY = \"WIREGUARD_PRIVATE_KEY\"; WIREGUARD_ADDRESSES = \"WIREGUARD_ADDRESSES\"; }; }; };",
        );
    assert!(network.contains("gitops = \"none\""), "{network}");
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    let before = tree(repo.path());

    // The repository's own findings only: nothing about a registration.
    let expected = [
        "warning flake-hosts-unknown",
        "warning sops-demo-key",
        "warning sops-demo-key",
    ];
    assert_eq!(rules(&repo), expected);

    repo.run(&["build"]).expect_code(0);
    let after = tree(repo.path());
    let added: Vec<&str> = after
        .keys()
        .filter(|p| !before.contains_key(*p) && !p.ends_with('/'))
        .map(String::as_str)
        .collect();
    assert!(!added.contains(&REGISTRATION), "{added:?}");
    let text = |p: &str| String::from_utf8_lossy(&after[p]).into_owned();
    for path in &added {
        let t = text(path);
        for engine in [
            "kind: Application",
            "kustomize.toolkit.fluxcd.io",
            "argoproj.io",
            "ksops",
        ] {
            assert!(!t.contains(engine), "{path} has {engine}:\n{t}");
        }
    }
    assert!(
        added.contains(&"infrastructure/vpn-proxy/kustomization.yaml"),
        "{added:?}"
    );
    // The only hand-written files touched: the apps' component entries.
    for (path, bytes) in before.iter().filter(|(p, _)| !p.ends_with('/')) {
        if !path.ends_with("/kustomization.yaml") || !path.starts_with("apps/") {
            assert_eq!(after.get(path), Some(bytes), "{path} changed");
        }
    }
    let readme = text(&format!("{PROXIES}/README.md"));
    assert!(
        readme.contains(&format!("kubectl apply -k {PROXIES}\n")),
        "{readme}"
    );
    assert!(
        !readme.contains("Argo CD") && !readme.contains("Flux"),
        "{readme}"
    );
    // Each app's own kustomization, with the command that builds it, and no
    // KSOPS anywhere: every credential is the cluster's own Secret.
    for (dir, app) in [(IRCBOT, "ircbot"), (QBITTORRENT, "qbittorrent")] {
        assert!(
            readme.contains(&format!("kubectl apply -k {dir}   # {app}\n")),
            "{readme}"
        );
    }
    assert!(
        readme.contains("## Secrets\n\nThe credentials are Secrets the cluster already has")
            && !readme.contains("KSOPS"),
        "{readme}"
    );

    repo.commit_all();
    repo.run(&["diff"]).expect_code(0);
    assert_eq!(rules(&repo), expected);

    let status = repo.run(&["status", "--verbose"]);
    status.expect_code(0);
    let out = status.stdout();
    assert!(
        !out.contains("registered") && !out.contains("Application"),
        "{out}"
    );
    assert!(
        !out.contains("Kustomization") && !out.contains("GitOps root"),
        "{out}"
    );
    assert!(
        out.contains("[x] 2. Proxy service built (you apply it)"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "apply it yourself after each build: `kubectl apply -k {PROXIES}`"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("you apply it: `kubectl apply -k {IRCBOT}`")),
        "{out}"
    );

    // What the user applies builds and validates (no Secret: the cluster's own).
    let Some(kubectl) = support::oracle("kubectl") else {
        return;
    };
    let mut built = Vec::new();
    for dir in [PROXIES, QBITTORRENT, IRCBOT] {
        let out = Command::new(&kubectl)
            .arg("kustomize")
            .arg(repo.path().join(dir))
            .output()
            .expect("kubectl kustomize");
        assert!(
            out.status.success(),
            "kubectl kustomize {dir}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("kind: Secret"), "{dir}:\n{text}");
        assert!(!text.contains("kind: Application"), "{dir}:\n{text}");
        built.push(text.into_owned());
    }
    support::validate_strict(&built, &["deployment/vpn-proxy-sweden"]);
}

/// `kubernetes.gitops = "none"` with KSOPS declared (the default) but every
/// credential an `existingSecret`: no tree runs the KSOPS generator, so `status`
/// and the generated README both say `kubectl apply -k` (one owner of the
/// command); with the sealed file back, both say the KSOPS pipe, and the README
/// gives it to the sidecar's app too.
#[test]
fn gitops_none_status_and_readme_give_the_same_apply_command() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let sealed = repo
        .read("nix/network.nix")
        .replace("gitops = \"flux\";", "gitops = \"none\";");
    let existing = sealed.replace(
        "providers.mullvad = { service = \"mullvad\"; credentials = \"mullvad\"; };",
        "providers.mullvad = { service = \"mullvad\"; existingSecret = { name = \"mullvad\"; }; };",
    );
    assert_ne!(existing, sealed, "the provider line moved");
    let ksops = "kubectl kustomize --enable-alpha-plugins --enable-exec";
    for (network, proxies, qbittorrent) in [
        (
            &existing,
            format!("kubectl apply -k {PROXIES}"),
            format!("kubectl apply -k {QBITTORRENT}"),
        ),
        (
            &sealed,
            format!("{ksops} {PROXIES} | kubectl apply -f -"),
            format!("{ksops} {QBITTORRENT} | kubectl apply -f -"),
        ),
    ] {
        repo.write("nix/network.nix", network);
        repo.run(&["build"]).expect_code(0);
        let readme = repo.read(&format!("{PROXIES}/README.md"));
        assert!(readme.contains(&format!("```sh\n{proxies}\n")), "{readme}");
        assert!(
            readme.contains(&format!("{qbittorrent}   # qbittorrent\n")),
            "{readme}"
        );
        let status = repo.run(&["status", "--verbose"]);
        status.expect_code(0);
        let out = status.stdout();
        assert!(
            out.contains(&format!("apply it yourself after each build: `{proxies}`")),
            "{out}"
        );
    }
}

/// Flux's manifests outside `kubernetes.dir` (issue 21): the same repository with
/// its apps and proxies under `kubernetes/` (`kubernetes.dir = "kubernetes"`) and
/// Flux's Kustomizations where `flux bootstrap` puts them, in `clusters/home/`.
/// They are read there: the findings are the same as with everything under one
/// directory, `status` sees the apps reached through the `apps` Kustomization,
/// and a Kustomization there that stops decrypting is reported at its line.
#[test]
fn flux_kustomizations_outside_the_kubernetes_dir_are_read() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let findings_in_one_dir = rules(&repo);
    let root = repo.path();
    std::fs::create_dir(root.join("kubernetes")).expect("mkdir");
    for dir in ["apps", "infrastructure"] {
        std::fs::rename(root.join(dir), root.join("kubernetes").join(dir)).expect("moving");
    }
    let network = repo.read("nix/network.nix");
    let moved = network
        .replace("dir = \".\";", "dir = \"kubernetes\";")
        .replace(
            "file = \"infrastructure/",
            "file = \"kubernetes/infrastructure/",
        );
    assert_ne!(moved, network);
    repo.write("nix/network.nix", &moved);
    let apps = repo.read("clusters/home/apps.yaml");
    repo.write(
        "clusters/home/apps.yaml",
        &apps.replace("path: ./apps\n", "path: ./kubernetes/apps\n"),
    );
    repo.commit_all();
    assert_eq!(rules(&repo), findings_in_one_dir);

    repo.run(&["build"]).expect_code(0);
    repo.commit_all();
    assert_eq!(rules(&repo), findings_in_one_dir);
    let status = repo.run(&["status"]);
    let out = status.stdout();
    assert!(out.contains("[x] 3. Clients migrated (ircbot)"), "{out}");
    assert!(!out.contains("not reachable"), "{out}");

    let decrypting = repo.read("clusters/home/apps.yaml");
    let plain = decrypting.replace(
        "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n",
        "",
    );
    assert_ne!(plain, decrypting);
    repo.write("clusters/home/apps.yaml", &plain);
    repo.commit_all();
    let findings = findings_of(&repo, None, "flux-decryption-missing");
    let missing: Vec<&serde_json::Value> = findings.iter().collect();
    assert_eq!(missing.len(), 1, "{findings:#?}");
    assert_eq!(
        missing[0]["file"], "clusters/home/apps.yaml",
        "{findings:#?}"
    );
}

/// `init` drafts the names the generated Flux Kustomization must share with the
/// repository's, when they are not `flux bootstrap`'s: its source (here the
/// GitRepository `home-ops`) and the Secret its Kustomizations decrypt with
/// (`sops-keys`). With them, the generated Kustomization applies from the
/// repository's source and decrypts with its key.
#[test]
fn init_drafts_the_flux_source_and_decryption_secret_the_repository_uses() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let hand_written = repo.read("nix/network.nix");
    for file in [
        "clusters/home/apps.yaml",
        "clusters/home/generated.yaml",
        "clusters/home/flux-system/gotk-sync.yaml",
    ] {
        let text = repo.read(file);
        let renamed = text
            .replace(
                "    kind: GitRepository\n    name: flux-system\n",
                "    kind: GitRepository\n    name: home-ops\n",
            )
            .replace("      name: sops-age\n", "      name: sops-keys\n");
        assert_ne!(renamed, text, "{file}");
        repo.write(file, &renamed);
    }
    repo.git(&["rm", "-q", "nix/network.nix"]);
    repo.commit_all();
    repo.run(&["init"]).expect_code(0);
    let draft = repo.read("nix/network.nix");
    for line in [
        "      # clusters/home/flux-system/gotk-sync.yaml:17 applies this repository from the GitRepository `home-ops`.\n",
        "      flux.sourceRef.name = \"home-ops\";\n",
        "      # clusters/home/apps.yaml:2 decrypts SOPS with the key in `sops-keys`.\n",
        "      flux.decryptionSecret = \"sops-keys\";\n",
    ] {
        assert!(draft.contains(line), "no `{line}` in\n{draft}");
    }
    assert!(!draft.contains("flux.namespace"), "{draft}");

    // With the egress added by the person, the generated Kustomization uses them.
    let start = hand_written.find("    egress = {\n").expect("the block");
    let end =
        start + hand_written[start..].find("\n    };\n").expect("its end") + "\n    };\n".len();
    let at = draft
        .find("    kubernetes = {\n")
        .expect("the kubernetes section");
    repo.write(
        "nix/network.nix",
        &format!(
            "{}{}\n{}",
            &draft[..at],
            &hand_written[start..end],
            &draft[at..]
        ),
    );
    repo.commit_all();
    repo.run(&["build"]).expect_code(0);
    let registration = repo.read(REGISTRATION);
    assert!(
        registration.contains("  sourceRef:\n    kind: GitRepository\n    name: home-ops\n")
            && registration.contains("    secretRef:\n      name: sops-keys\n"),
        "{registration}"
    );
}

/// `init` on the Flux repository drafts what it says: Flux (the bootstrap, and
/// where it applies the cluster's Kustomizations), the directory all Flux trees
/// lie in, the apps' layout (a flat kubenix manifest noted, not chosen) and the
/// existing `vpn-proxy` directory, each with its file and line. The draft finds
/// nothing the repository does not have; with the person's egress added, `build`
/// writes exactly the files the hand-written declarations write.
#[test]
fn init_drafts_flux_and_the_layout() {
    let hand = TempRepo::from_fixture(FIXTURE);
    hand.run(&["build"]).expect_code(0);
    let by_hand = tree(hand.path());

    let repo = TempRepo::from_fixture(FIXTURE);
    repo.git(&["rm", "-q", "nix/network.nix"]);
    repo.commit_all();
    repo.run(&["init"]).expect_code(0);
    let draft = repo.read("nix/network.nix");
    for line in [
        "      # Flux applies `./apps` (clusters/home/apps.yaml:2), `./clusters/home` (clusters/home/flux-system/gotk-sync.yaml:17), `./.k8s` (clusters/home/generated.yaml:3): all under `.`.\n",
        "      dir = \".\";\n",
        "      # clusters/home/flux-system/gotk-sync.yaml:17: the Flux bootstrap Kustomization `flux-system`\n",
        "      gitops = \"flux\";\n",
        "      # It applies `clusters/home`: `build` registers the generated Kustomization there.\n",
        "      # apps/chat/ircbot/deployment.yaml:2, apps/media/qbittorrent/deployment.yaml:2: apps at `apps/{namespace}/{app}`\n",
        "      layout.apps = \"apps/{namespace}/{app}\";\n",
        "      # Also apps at `.k8s/{app}.yaml`: .k8s/homepage.yaml:2\n",
        "      # infrastructure/vpn-proxy/mullvad.sops.yaml: the repository's `vpn-proxy` directory; the shared proxies' tree goes there.\n",
        "      layout.proxies = \"infrastructure/vpn-proxy\";\n",
        // Its keys read from SOPS metadata, never decrypted; a file of several
        // documents (each its own Secret) is left to the person, not merged.
        "      # infrastructure/vpn-proxy/mullvad.sops.yaml: a SOPS file (its keys read from the file, not decrypted)\n",
        "      # secrets/nas/backup.sops.yaml: a SOPS file of 2 documents, not drafted (one `secrets` entry is one document)\n",
    ] {
        assert!(draft.contains(line), "no `{line}` in\n{draft}");
    }
    assert!(!draft.contains("argocd"), "no Argo CD here:\n{draft}");
    // It decodes, and finds only what the repository has (its demo-key rules).
    assert_eq!(
        rules(&repo),
        ["warning sops-demo-key", "warning sops-demo-key"]
    );

    // The person adds what the repository could not say: the Tailscale nodes (the
    // hosts are computed) and the egress (no gluetun to start from).
    let hand_written = hand.read("nix/network.nix");
    let block = |open: &str| {
        let start = hand_written.find(open).expect("the block");
        let end =
            start + hand_written[start..].find("\n    };\n").expect("its end") + "\n    };\n".len();
        hand_written[start..end].to_owned()
    };
    let at = draft
        .find("    kubernetes = {\n")
        .expect("the kubernetes section");
    repo.write(
        "nix/network.nix",
        &format!(
            "{}{}{}\n{}",
            &draft[..at],
            block("    tailscale.nodes = {\n"),
            block("    egress = {\n"),
            &draft[at..]
        ),
    );
    repo.commit_all();
    // The repository's own findings, exactly those of the hand-written declarations.
    assert_eq!(rules(&repo), rules(&hand));
    repo.run(&["build"]).expect_code(0);
    // And the same tree, byte for byte, but the declarations file itself.
    let drafted = tree(repo.path());
    let without_declarations = |t: &std::collections::BTreeMap<String, Vec<u8>>| {
        t.iter()
            .filter(|(p, _)| p.as_str() != "nix/network.nix")
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (want, got) = (
        without_declarations(&by_hand),
        without_declarations(&drafted),
    );
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &want {
        assert!(got.get(path) == Some(bytes), "{path} differs");
    }
    assert!(want.contains_key(REGISTRATION), "{:?}", want.keys());
}

/// Apps kept as flat manifests (`apps/<app>.yaml`, no kustomization of their
/// own) are drafted as the flat layout, with what it means for a component.
#[test]
fn init_drafts_a_flat_layout() {
    let repo = TempRepo::from_fixture(FIXTURE);
    for (app, dir) in [("ircbot", IRCBOT), ("qbittorrent", QBITTORRENT)] {
        let manifest = repo.read(&format!("{dir}/deployment.yaml"));
        std::fs::remove_dir_all(repo.path().join(dir)).expect("rm");
        repo.write(&format!("apps/{app}.yaml"), &manifest);
    }
    repo.git(&["rm", "-q", "--cached", "-r", "apps", "nix/network.nix"]);
    std::fs::remove_file(repo.path().join("nix/network.nix")).expect("rm");
    repo.commit_all();
    let run = repo.run(&["init", "--print"]);
    run.expect_code(0);
    let draft = run.stdout();
    assert!(
        draft.contains("      # apps/ircbot.yaml:2, apps/qbittorrent.yaml:2: apps at `apps/{app}.yaml`\n")
            && draft.contains("      layout.apps = \"apps/{app}.yaml\";\n")
            && draft.contains("      # (flat manifests: each app's generated component goes to `kubernetes.layout.egress`, `vpn-egress/{app}` by default, and `build` lists it in what applies the file)\n")
            && draft.contains("      # Also apps at `.k8s/{app}.yaml`: .k8s/homepage.yaml:2\n"),
        "{draft}"
    );
    // It decodes, and finds only what the repository has.
    repo.write("nix/network.nix", &draft);
    repo.commit_all();
    assert_eq!(
        rules(&repo),
        ["warning sops-demo-key", "warning sops-demo-key"]
    );
}

/// Built with `--no-wire`, the generated Flux Kustomization is not listed by the
/// cluster's kustomization: `check` says so under Flux's own rule id, with the
/// line to add, and never under Argo CD's.
#[test]
fn an_unlisted_flux_kustomization_is_flux_kustomization_unreachable() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let cluster = "clusters/home/kustomization.yaml";
    repo.write(
        cluster,
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - flux-system\n  - apps.yaml\n  - generated.yaml\n",
    );
    repo.commit_all();
    repo.run(&["build", "--no-wire"]).expect_code(0);
    repo.commit_all();
    let rules = rules(&repo);
    assert!(
        rules.contains(&"error flux-kustomization-unreachable".to_owned()),
        "{rules:?}"
    );
    assert!(!rules.iter().any(|r| r.contains("argocd")), "{rules:?}");
    let run = repo.run(&["check"]);
    run.expect_code(1);
    assert!(
        run.stdout().contains("  - vpn-proxy.yaml"),
        "{}",
        run.stdout()
    );
}

/// `kubernetes.secrets = "none"` beside a SOPS-sealed Kubernetes secret: under
/// Flux the way back is Flux's own decryption, not "if Argo CD runs KSOPS"
/// (advice from the declarations, issue 21 item 6).
#[test]
fn without_sops_secrets_the_help_speaks_of_flux_not_argo_cd() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let network = repo.read("nix/network.nix");
    let edited = network.replacen(
        "      gitops = \"flux\";\n",
        "      gitops = \"flux\";\n      secrets = \"none\";\n",
        1,
    );
    assert_ne!(edited, network, "the fixture declares gitops = \"flux\"");
    repo.write("nix/network.nix", &edited);
    repo.commit_all();
    let findings = findings_of(&repo, Some(1), "egress-secret-no-ksops");
    let hit = findings.first().unwrap_or_else(|| panic!("{findings:#?}"));
    let help = hit["help"].as_str().unwrap_or_default();
    assert!(help.contains("existingSecret = {"), "{help}");
    assert!(
        help.contains("to have Flux decrypt the sealed file itself"),
        "{help}"
    );
    assert!(!help.contains("Argo CD"), "{help}");
}

/// Flat manifests under `kubernetes.dir`, applied by a Flux Kustomization that
/// lives outside it (`clusters/home/`, where `flux bootstrap` puts them): the
/// kubenix repository with its `.k8s/` moved to `kubernetes/apps/` and
/// `kubernetes.dir = "kubernetes"`. The Flux Kustomization is read there, so
/// `build` lists the Components in its `spec.components` (relative to its
/// `spec.path`), and nothing is reported unreachable.
#[test]
fn flat_manifests_applied_by_a_flux_kustomization_outside_the_kubernetes_dir_are_wired() {
    let repo = TempRepo::from_fixture(KUBENIX);
    let root = repo.path();
    std::fs::create_dir(root.join("kubernetes")).expect("mkdir");
    std::fs::rename(root.join(".k8s"), root.join("kubernetes/apps")).expect("moving");
    std::fs::rename(
        root.join("infrastructure"),
        root.join("kubernetes/infrastructure"),
    )
    .expect("moving");
    let network = repo.read("nix/network.nix");
    let moved = network
        .replace("dir = \".\";", "dir = \"kubernetes\";")
        .replace("apps = \".k8s/{app}.yaml\";", "apps = \"apps/{app}.yaml\";")
        .replace(
            "file = \"infrastructure/",
            "file = \"kubernetes/infrastructure/",
        );
    for line in [
        "dir = \"kubernetes\";",
        "apps = \"apps/{app}.yaml\";",
        "file = \"kubernetes/infrastructure/",
    ] {
        assert!(moved.contains(line), "{line} not in\n{moved}");
    }
    repo.write("nix/network.nix", &moved);
    let apps = repo.read("clusters/home/apps.yaml");
    let applied = apps.replace("path: ./.k8s\n", "path: ./kubernetes/apps\n");
    assert_ne!(applied, apps);
    repo.write("clusters/home/apps.yaml", &applied);
    repo.commit_all();

    repo.run(&["build"]).expect_code(0);
    let wired = repo.read("clusters/home/apps.yaml");
    assert_eq!(
        wired,
        format!(
            "{applied}  components:\n    - ../vpn-egress/ircbot\n    - ../vpn-egress/qbittorrent\n"
        )
    );
    assert!(
        repo.path()
            .join("kubernetes/vpn-egress/ircbot/kustomization.yaml")
            .is_file()
    );
    repo.commit_all();
    let findings = rules(&repo);
    assert!(
        !findings.iter().any(|r| r.contains("unreachable")),
        "{findings:?}"
    );
}
