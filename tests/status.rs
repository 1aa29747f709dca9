//! End-to-end tests of `status`, `graph`, the Tailscale policy, `completions` and
//! `man`, on the bundled network and on a half-migrated repository
//! (`fixtures/status/half-migrated`: proxies declared, marmithon not wired yet, the
//! VPS still in `flake.nix`).
//!
//! Oracles: Graphviz `dot` renders the DOT; the real Mermaid parser (npm `mermaid`
//! with `jsdom`, in `tests/oracles-graph/`) parses the Mermaid; `jsonvet --dialect
//! jwcc` (PyPI) checks the policy is HuJSON.
use crate::support::{TempRepo, oracle, oracles_required, workspace_root};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HALF_MIGRATED: &str = "fixtures/status/half-migrated";

/// The commit date of the prepared repos, so the "validate until" hint is stable.
const COMMITTED_AT: &str = "2026-11-20T12:00:00Z";

/// The network declared in `repo`, read in-process (the same reader as the binary).
fn network_of(repo: &TempRepo) -> avalanche_model::Network {
    let mut sources = avalanche_diag::SourceMap::default();
    let value = avalanche_nix::read_file(&repo.path().join("nix/network.nix"), &mut sources)
        .unwrap_or_else(|d| panic!("reading nix/network.nix: {d:?}"));
    let (network, diagnostics) = avalanche_model::decode(&value);
    network.unwrap_or_else(|| panic!("decoding nix/network.nix: {diagnostics:?}"))
}

/// Writes every file `build` would write (without its `check` gate: a half-migrated
/// repo has errors) and folds everything into one commit at [`COMMITTED_AT`].
fn generate_and_commit(repo: &TempRepo) {
    let plan =
        avalanche_render::render(&network_of(repo)).unwrap_or_else(|d| panic!("rendering: {d:?}"));
    for (path, bytes) in plan.files() {
        let target = repo.path().join(path);
        std::fs::create_dir_all(target.parent().expect("a file has a parent"))
            .expect("creating directories");
        std::fs::write(target, bytes).expect("writing a generated file");
    }
    commit_at(repo.path());
}

fn commit_at(dir: &Path) {
    for args in [
        &["add", "-A"][..],
        &[
            "commit",
            "-q",
            "--amend",
            "--no-edit",
            "--allow-empty",
            "--date",
            COMMITTED_AT,
        ][..],
    ] {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=test",
                "-c",
                "user.email=test@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .env("GIT_COMMITTER_DATE", COMMITTED_AT)
            .current_dir(dir)
            .status()
            .expect("running git");
        assert!(status.success(), "git {args:?} failed");
    }
}

fn half_migrated() -> TempRepo {
    let repo = TempRepo::from_fixture(HALF_MIGRATED);
    generate_and_commit(&repo);
    repo
}

/// The bundled network with its generated tree, or `None` (with a printed reason)
/// while the workspace has no `nix/network.nix`.
fn bundled() -> Option<TempRepo> {
    if !workspace_root().join("nix/network.nix").is_file() {
        eprintln!("SKIPPED: the bundled network (nix/network.nix) is not in the workspace");
        return None;
    }
    let repo = TempRepo::bundled();
    generate_and_commit(&repo);
    Some(repo)
}

fn stdout_of(repo: &TempRepo, args: &[&str]) -> String {
    let run = repo.run(args);
    run.expect_code(0);
    run.stdout()
}

/// Pipes `input` into `program args…`; returns (success, stdout, stderr).
fn pipe(program: &Path, args: &[&str], input: &str) -> (bool, String, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("writing stdin");
    let out = child.wait_with_output().expect("waiting");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// --- status -------------------------------------------------------------------

#[test]
fn status_half_migrated_human() {
    let repo = half_migrated();
    let out = stdout_of(&repo, &["status"]);
    assert!(out.contains("[x] 1. Documentation"), "{out}");
    assert!(out.contains("[x] 2. Proxy service deployed"), "{out}");
    assert!(out.contains("[ ] 3. Clients migrated (marmithon)"), "{out}");
    assert!(
        out.contains("kubernetes/base/apps/irc/marmithon/kustomization.yaml"),
        "{out}"
    );
    assert!(
        out.contains(
            "- flake.nix:18: retired host `vps` is still a NixOS configuration of the flake"
        ),
        "{out}"
    );
    assert!(out.contains("€53.88/year"), "{out}");
    insta::assert_snapshot!("status_half_migrated_human", out);
}

#[test]
fn status_half_migrated_json() {
    let repo = half_migrated();
    let out = stdout_of(&repo, &["status", "--format", "json"]);
    let value: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let done: Vec<bool> = value["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| p["done"] == true)
        .collect();
    assert_eq!(done, [true, true, false, false, false]);
    assert_eq!(value["savings"]["perYear"][0]["amount"], "53.88");
    assert_eq!(value["savings"]["perYear"][0]["cents"], 5388);
    insta::assert_snapshot!("status_half_migrated_json", out);
}

#[test]
fn status_before_build_says_to_build_and_still_exits_0() {
    let repo = TempRepo::from_fixture(HALF_MIGRATED);
    let out = stdout_of(&repo, &["status"]);
    assert!(out.contains("[ ] 1. Documentation"), "{out}");
    assert!(out.contains("[ ] 2. Proxy service deployed"), "{out}");
    assert!(out.contains("run: avalanche-net build"), "{out}");
}

#[test]
fn status_reports_uncommitted_and_stale_generated_files() {
    let repo = half_migrated();
    let deployment = "kubernetes/base/infra/network/vpn-proxy/deployment-iceland.yaml";
    let edited = repo.read(deployment) + "# edited by hand\n";
    repo.write(deployment, &edited);
    let out = stdout_of(&repo, &["status"]);
    assert!(out.contains(&format!("{deployment}: out of date")), "{out}");
    assert!(out.contains("[ ] 2. Proxy service deployed"), "{out}");
}

/// A file that mentions the retired host, and the note `status` makes of it.
const HISTORY: &str = "scripts/backup.sh";
const HISTORY_TEXT: &str = "rsync -a /srv/ root@vps:/backup/\n";
/// `status` sums up the warnings in one line; `check` shows them.
const HISTORY_NOTE: &str = "1 warning (retired-mention 1): `avalanche-net check` shows them";

#[test]
fn status_fully_migrated_is_all_done() {
    let repo = TempRepo::from_fixture(HALF_MIGRATED);
    let network = repo.read("nix/network.nix").replace(
        "dir = \"kubernetes\";",
        "dir = \"kubernetes\";\n      monitoring.enable = true;\n      verification.enable = true;",
    );
    repo.write("nix/network.nix", &network);
    repo.write(
        "kubernetes/base/apps/irc/marmithon/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: irc\nresources:\n  - deployment.yaml\ncomponents:\n  - vpn-egress\n",
    );
    let flake = repo.read("flake.nix");
    let start = flake.find("        # Still here").expect("the vps block");
    let end = flake[start..].find("        };\n").expect("its end") + start + "        };\n".len();
    repo.write(
        "flake.nix",
        &format!("{}{}", &flake[..start], &flake[end..]),
    );
    std::fs::remove_dir_all(repo.path().join("hosts/vps")).expect("removing hosts/vps");
    let sops: String = repo
        .read(".sops.yaml")
        .split("  - path_regex: secrets/vps/")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_owned()
            } else {
                part.split_once("  - path_regex:")
                    .map(|(_, rest)| format!("  - path_regex:{rest}"))
                    .unwrap_or_default()
            }
        })
        .collect::<String>()
        .lines()
        .filter(|l| !l.contains("host_vps"))
        .map(|l| format!("{l}\n"))
        .collect();
    repo.write(".sops.yaml", &sops);
    // A mention is a `check` warning: listed, but it does not hold the cleanup back.
    repo.write(HISTORY, HISTORY_TEXT);
    generate_and_commit(&repo);

    let out = stdout_of(&repo, &["status"]);
    assert!(
        out.contains("5 of 5 phases done"),
        "{out}\n--- .sops.yaml:\n{sops}"
    );
    assert!(
        out.contains(&format!(
            "[x] 4. Cleanup (vps)\n      note: {HISTORY_NOTE}\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("marmithon: wired on 2026-11-20; validate for one week, until 2026-11-27: check `kubectl -n irc logs deploy/marmithon` daily; egress IP via the proxy"),
        "{out}"
    );
}

/// A fake SOPS file of `secrets/routy/` still encrypted to the VPS's key (metadata
/// only: `check` reads recipients, it does not decrypt).
const SOPS_FILE_FOR_VPS: &str = "authkey: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]
sops:
    age:
        - recipient: age10wzjtwx3l6k0n8750hyhplf2qq38ww5w0k94r6y2sad5juqx6g7sh5gwhq
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            -----END AGE ENCRYPTED FILE-----
    lastmodified: \"2026-01-01T00:00:00Z\"
    mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]
    version: 3.9.0
";

/// Phase 4 is `check`'s `retired-*` findings: a SOPS file still encrypted to the
/// retired key and a retired Tailscale node are remaining work; `.avalancheignore`
/// leaves a file out of `status` as it does out of `check`.
#[test]
fn status_cleanup_follows_check() {
    let repo = half_migrated();
    repo.write("secrets/routy/old.yaml", SOPS_FILE_FOR_VPS);
    repo.write(HISTORY, HISTORY_TEXT);
    let network = repo.read("nix/network.nix").replace(
        "phone = { role = \"device\"; };",
        "phone = { role = \"device\"; };\n        vps = { role = \"device\"; };",
    );
    repo.write("nix/network.nix", &network);
    let out = stdout_of(&repo, &["status"]);
    assert!(
        out.contains("      - secrets/routy/old.yaml:4: `secrets/routy/old.yaml` is still encrypted to retired host `vps`"),
        "{out}"
    );
    assert!(
        out.contains("avalanche-net secrets updatekeys --rotate secrets/routy/old.yaml"),
        "{out}"
    );
    assert!(
        out.contains("      - nix/network.nix:20: retired host `vps` is still declared as a Tailscale node\n        fix: delete `tailscale.nodes.vps`"),
        "{out}"
    );
    // The script's line and the flake's `./hosts/vps` import, in one line.
    assert!(
        out.contains("      note: 2 warnings, 1 note (retired-mention 2, retired-mention-note 1): `avalanche-net check` shows them\n"),
        "{out}"
    );

    repo.write(".avalancheignore", "/scripts/\n");
    let out = stdout_of(&repo, &["status"]);
    assert!(
        out.contains("note: 1 warning, 1 note (retired-mention 1,"),
        "{out}"
    );
    assert!(out.contains("[ ] 4. Cleanup (vps)"), "{out}");
}

/// Without the app's kustomization, `check` points at the client's declaration;
/// `status` lists that under the client's phase.
#[test]
fn status_missing_app_kustomization_points_at_the_client() {
    let repo = half_migrated();
    std::fs::remove_file(
        repo.path()
            .join("kubernetes/base/apps/irc/marmithon/kustomization.yaml"),
    )
    .expect("removing the kustomization");
    let out = stdout_of(&repo, &["status", "--format", "json"]);
    let value: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let clients = &value["phases"][2];
    assert_eq!(clients["done"], false, "{out}");
    let todo = &clients["remaining"][0];
    assert_eq!(todo["rule"], "egress-component-missing", "{out}");
    assert_eq!(todo["file"], "nix/network.nix", "{out}");
    assert!(todo["line"].as_u64().is_some_and(|l| l > 1), "{out}");
    assert!(
        todo["what"].as_str().is_some_and(|w| w.starts_with(
            "marmithon does not go through vpn-proxy-iceland yet: `marmithon` has no kustomization at `kubernetes/base/apps/irc/marmithon/kustomization.yaml`"
        )),
        "{out}"
    );
    assert_eq!(clients["notes"], serde_json::json!([]), "{out}");
}

#[test]
fn status_quiet_and_verbose() {
    let repo = half_migrated();
    let quiet = stdout_of(&repo, &["status", "--quiet"]);
    assert_eq!(
        quiet,
        "2 of 5 phases done; next: 3. Clients migrated (marmithon); saved €53.88/year\n"
    );
    let verbose = stdout_of(&repo, &["status", "--verbose"]);
    assert!(
        verbose.contains("checked: kubernetes/base/infra/network/vpn-proxy/README.md exists"),
        "{verbose}"
    );
    let normal = stdout_of(&repo, &["status"]);
    assert!(!normal.contains("checked:"), "{normal}");
}

#[test]
fn status_and_graph_exit_2_on_broken_declarations() {
    let repo = TempRepo::new();
    repo.write(
        "nix/network.nix",
        "{ avalanche.network = { tailscale.nodes.routy.role = \"router\"; }; }\n",
    );
    for args in [&["status"][..], &["graph"][..]] {
        let run = repo.run(args);
        run.expect_code(2);
        assert!(run.stderr().contains("router"), "{}", run.stderr());
    }
}

#[test]
fn status_bundled() {
    let Some(repo) = bundled() else { return };
    insta::assert_snapshot!("status_bundled_human", stdout_of(&repo, &["status"]));
    let json = stdout_of(&repo, &["status", "--format", "json"]);
    let value: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    assert_eq!(value["savings"]["perYear"][0]["text"], "€53.88");
    insta::assert_snapshot!("status_bundled_json", json);
}

/// A gateway is part of the proxy service phase: where it runs and who uses it (a
/// note: its host deploys it, out of the repository's sight), and its tunnel key
/// sealed, like a gluetun's credentials.
#[test]
fn status_names_the_gateway_its_clients_and_its_unsealed_key() {
    let Some(repo) = bundled() else { return };
    let phase2 = |repo: &TempRepo| {
        let json = stdout_of(repo, &["status", "--format", "json"]);
        let value: serde_json::Value =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
        assert_eq!(value["phases"][1]["id"], "proxy-service", "{json}");
        value["phases"][1].clone()
    };
    let gateway_notes = |phase: &serde_json::Value| -> Vec<String> {
        phase["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .filter_map(|n| n.as_str())
            .filter(|n| n.starts_with("gateway `home`"))
            .map(str::to_owned)
            .collect()
    };
    let phase = phase2(&repo);
    assert_eq!(
        gateway_notes(&phase),
        [
            "gateway `home` runs on routy: routy's NixOS configuration deploys it (it imports \
          `nixosModules.egressGateway`); no client goes through it yet (a client's `proxy = \"home\";`)"
        ],
        "{phase:#}"
    );
    assert!(!phase.to_string().contains("routy-wireguard"), "{phase:#}");

    // marmithon moved to it (one word), and its key gone.
    let network = repo.read("nix/network.nix").replacen(
        "\n        proxy = \"iceland\";\n",
        "\n        proxy = \"home\";\n",
        1,
    );
    repo.write("nix/network.nix", &network);
    std::fs::remove_file(repo.path().join("secrets/routy/wireguard.yaml"))
        .expect("removing the key");
    let phase = phase2(&repo);
    let notes = gateway_notes(&phase);
    assert!(
        notes.len() == 1 && notes[0].ends_with("; clients: marmithon"),
        "{phase:#}"
    );
    let unsealed: Vec<&serde_json::Value> = phase["remaining"]
        .as_array()
        .expect("remaining")
        .iter()
        .filter(|t| t["file"] == "secrets/routy/wireguard.yaml")
        .collect();
    assert_eq!(unsealed.len(), 1, "{phase:#}");
    assert_eq!(
        unsealed[0]["what"],
        "the gateway `home`'s tunnel key `routy-wireguard` is not sealed: routy cannot bring up the tunnel"
    );
    assert_eq!(
        unsealed[0]["command"],
        "avalanche-net secrets seal routy-wireguard"
    );
}

/// The same on a repository shaped like an operator's (`repos/media-gluetun`: hosts
/// under `nixos/hosts/`, its own proxy and sidecar): a gateway on its NAS, used by
/// a SOCKS5 app, its key not sealed yet.
#[test]
fn status_names_a_gateway_on_an_operators_repository() {
    let repo = TempRepo::from_fixture("fixtures/repos/media-gluetun");
    let network = repo.read("nix/network.nix");
    let anchor = "      # Was a hand-written container";
    assert!(network.contains(anchor));
    let gateway = r#"      gateways.lan = {
        host = "nas";
        listen = "192.168.1.10";
        tunnel = {
          endpoint = "198.51.100.7:51820";
          publicKey = "oWRlqKuEfKABFAPjC+yzaa0B1nTWoGpZRSLewEpTVj8=";
          address = "10.66.0.2/32";
          privateKeySecret = "nas-wireguard";
        };
      };
      clients.soulseek = { namespace = "media"; proxy = "lan"; protocol = "socks5"; };
"#;
    let network = network.replacen(anchor, &format!("{gateway}{anchor}"), 1);
    let network = network.replacen(
        "    secrets.qbittorrent-vpn = {",
        "    secrets.nas-wireguard = { format = \"plain\"; file = \"secrets/nas/wireguard.yaml\"; keys = [ \"privateKey\" ]; };\n    secrets.qbittorrent-vpn = {",
        1,
    );
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    let json = stdout_of(&repo, &["status", "--format", "json"]);
    let value: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    let phase = &value["phases"][1];
    assert!(
        phase["notes"].as_array().expect("notes").iter().any(|n| n
            == "gateway `lan` runs on nas: nas's NixOS configuration deploys it (it imports \
                `nixosModules.egressGateway`); clients: soulseek"),
        "{phase:#}"
    );
    assert!(
        phase["remaining"].as_array().expect("remaining").iter().any(|t| t["what"]
            == "the gateway `lan`'s tunnel key `nas-wireguard` is not sealed: nas cannot bring up the tunnel"
            && t["file"] == "secrets/nas/wireguard.yaml"),
        "{phase:#}"
    );
}

// --- graph --------------------------------------------------------------------

fn graphs(repo: &TempRepo) -> (String, String) {
    let mermaid = stdout_of(repo, &["graph"]);
    assert_eq!(mermaid, stdout_of(repo, &["graph", "--format", "mermaid"]));
    (mermaid, stdout_of(repo, &["graph", "--format", "dot"]))
}

#[test]
fn graph_half_migrated() {
    let repo = half_migrated();
    let (mermaid, dot) = graphs(&repo);
    assert_eq!(
        (mermaid.clone(), dot.clone()),
        graphs(&repo),
        "graph output is not deterministic"
    );
    assert!(mermaid.contains("subgraph fence__marmithon"), "{mermaid}");
    assert!(mermaid.contains("10.1.0.0/24"), "{mermaid}");
    assert!(dot.contains("\"cluster_fence__marmithon\""), "{dot}");
    insta::assert_snapshot!("graph_half_migrated_mermaid", mermaid);
    insta::assert_snapshot!("graph_half_migrated_dot", dot);
}

#[test]
fn graph_bundled() {
    let Some(repo) = bundled() else { return };
    let (mermaid, dot) = graphs(&repo);
    insta::assert_snapshot!("graph_bundled_mermaid", mermaid);
    insta::assert_snapshot!("graph_bundled_dot", dot);
}

/// Odd but valid names and labels: quotes, `#`, `<`, backslashes, `end`.
fn awkward_repo() -> TempRepo {
    let repo = TempRepo::new();
    repo.write(
        "nix/network.nix",
        r#"{
  avalanche.network = {
    retired.end = { description = "say \"hi\" <b>#1</b> \\ back|slash & `tick`"; monthlyCost = 1.1; currency = "USD"; };
    tailscale.nodes.end = { role = "subnet-router"; advertiseRoutes = [ "10.9.0.0/16" "fd00:1::/64" ]; };
    egress = {
      providers.graph = { service = "custom"; };
      proxies.subgraph = { provider = "graph"; countries = [ "Côte d'Ivoire" "A \"B\"" ]; };
      clients.node = { namespace = "end"; proxy = "subgraph"; protocol = "shadowsocks"; enforce = true; };
      clients.edge = { namespace = "end"; proxy = "missing"; };
      clients.socks = { namespace = "end"; proxy = "gw"; protocol = "socks5"; enforce = true; };
      clients.web = { namespace = "end"; proxy = "gw"; protocol = "http"; };
      gateways.gw = {
        host = "end"; listen = "fd00:1::1"; httpPort = 8888;
        tunnel = { endpoint = "[2001:db8::1]:51820"; publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U="; address = "10.99.0.2/32"; privateKeySecret = "k"; };
      };
    };
  };
}
"#,
    );
    repo
}

#[test]
fn graph_dot_renders_with_graphviz() {
    let Some(dot) = oracle("dot") else { return };
    let mut repos = vec![half_migrated(), awkward_repo()];
    repos.extend(bundled());
    for repo in &repos {
        let text = stdout_of(repo, &["graph", "--format", "dot"]);
        let (ok, svg, err) = pipe(&dot, &["-Tsvg"], &text);
        assert!(
            ok && err.is_empty(),
            "dot -Tsvg failed:\n{err}\n--- input:\n{text}"
        );
        assert!(svg.contains("<svg"), "{svg}");
        assert!(
            svg.contains("marmithon") || svg.contains("subgraph"),
            "{svg}"
        );
    }
}

/// `node` and the npm oracle package, or `None` (skip, or panic under
/// `AVALANCHE_REQUIRE_ORACLES=1`).
fn mermaid_parser() -> Option<(PathBuf, PathBuf)> {
    let node = oracle("node")?;
    let dir = workspace_root().join("tests/oracles-graph");
    if !dir.join("node_modules/mermaid/package.json").is_file()
        || !dir.join("node_modules/jsdom/package.json").is_file()
    {
        let why = "the npm packages `mermaid` and `jsdom` are not installed: run `npm ci --prefix tests/oracles-graph`";
        if oracles_required() {
            panic!("{why}, and AVALANCHE_REQUIRE_ORACLES=1");
        }
        eprintln!("SKIPPED: {why}");
        return None;
    }
    Some((node, dir.join("parse-mermaid.mjs")))
}

#[test]
fn graph_mermaid_parses_with_mermaid() {
    let Some((node, script)) = mermaid_parser() else {
        return;
    };
    let script = script.to_string_lossy().into_owned();
    let mut repos = vec![half_migrated(), awkward_repo()];
    repos.extend(bundled());
    for repo in &repos {
        let text = stdout_of(repo, &["graph"]);
        let (ok, kind, err) = pipe(&node, &[&script], &text);
        assert!(ok, "mermaid rejected the graph:\n{err}\n--- input:\n{text}");
        assert_eq!(kind.trim(), "flowchart-v2");
    }
    // The oracle does reject a broken diagram.
    let (ok, _, err) = pipe(&node, &[&script], "flowchart LR\n  a[\"x\" --> b\n");
    assert!(!ok, "mermaid accepted a broken diagram");
    assert!(err.contains("parse error"), "{err}");
}

#[test]
fn graph_escapes_awkward_names() {
    let repo = awkward_repo();
    let mermaid = stdout_of(&repo, &["graph"]);
    assert!(
        mermaid.contains(
            "say #quot;hi#quot; #lt;b#gt;#35;1#lt;/b#gt; \\ back#124;slash #amp; #96;tick#96;"
        ),
        "{mermaid}"
    );
    assert!(mermaid.contains("host__end"), "{mermaid}");
    assert!(
        !mermaid.lines().any(|l| l.trim_start().starts_with("end[")),
        "{mermaid}"
    );
    let dot = stdout_of(&repo, &["graph", "--format", "dot"]);
    assert!(
        dot.contains(r#"say \"hi\" <b>#1</b> \\ back|slash & `tick`"#),
        "{dot}"
    );
    assert!(
        dot.contains("vpn-proxy-missing"),
        "an undeclared proxy is drawn: {dot}"
    );
    // A gateway is drawn as itself (not as an undeclared proxy), run by its host.
    assert!(
        mermaid.contains("gateway__gw[/") && !mermaid.contains("vpn-proxy-gw"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("client__socks -->|\"SOCKS5\"| gateway__gw"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("client__web -->|\"HTTP CONNECT\"| gateway__gw"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("ts__end -.->|\"runs\"| gateway__gw"),
        "{mermaid}"
    );
    // Its node says where it runs, where it exits and what it serves.
    assert!(
        mermaid.contains(
            "gateway__gw[/\"gw<br/>on end · exit [2001:db8::1]:51820<br/>SOCKS5 :1080 · HTTP :8888\"/]"
        ),
        "{mermaid}"
    );
    assert!(mermaid.contains("egress only via gateway gw"), "{mermaid}");
    assert!(dot.contains("shape=parallelogram"), "{dot}");
    for edge in [
        r#""ts__end" -> "gateway__gw" [label="runs", style=dashed];"#,
        r#""client__socks" -> "gateway__gw" [label="SOCKS5"];"#,
        r#""client__web" -> "gateway__gw" [label="HTTP CONNECT"];"#,
    ] {
        assert!(dot.contains(edge), "no {edge} in:\n{dot}");
    }
}

// --- the Tailscale policy ------------------------------------------------------

fn policy_of(repo: &TempRepo) -> String {
    let network = network_of(repo);
    let policy = avalanche_render::policy::render(&network);
    let plan = avalanche_render::render(&network).unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(
        plan.get("tailscale/policy.hujson"),
        Some(policy.as_bytes()),
        "build writes the policy as rendered"
    );
    policy
}

#[test]
fn policy_half_migrated() {
    let policy = policy_of(&half_migrated());
    assert!(
        policy.starts_with("// Tailscale policy file (HuJSON), generated by avalanche-net"),
        "{policy}"
    );
    assert!(!policy.contains("\"exitNode\":"), "{policy}");
    assert_eq!(
        avalanche_render::policy::parse_tag_owners(&policy),
        Ok(vec!["tag:infra".to_owned()])
    );
    insta::assert_snapshot!("policy_half_migrated", policy);
}

#[test]
fn policy_bundled() {
    let Some(repo) = bundled() else { return };
    let policy = policy_of(&repo);
    let value =
        avalanche_render::policy::parse(&policy).unwrap_or_else(|e| panic!("{e}\n{policy}"));
    assert_eq!(
        value["autoApprovers"]["routes"]["10.1.0.0/24"],
        serde_json::json!(["autogroup:admin"])
    );
    insta::assert_snapshot!("policy_bundled", policy);
}

#[test]
fn policy_is_hujson() {
    let Some(jsonvet) = oracle("jsonvet") else {
        return;
    };
    let mut repos = vec![half_migrated()];
    repos.extend(bundled());
    let dir = tempfile::tempdir().expect("a temp dir");
    for (i, repo) in repos.iter().enumerate() {
        let policy = policy_of(repo);
        let file = dir.path().join(format!("policy-{i}.hujson"));
        std::fs::write(&file, &policy).expect("writing the policy");
        let out = Command::new(&jsonvet)
            .args(["--no-config", "--dialect", "jwcc"])
            .arg(&file)
            .output()
            .expect("running jsonvet");
        assert!(
            out.status.success(),
            "jsonvet: {}{}\n--- policy:\n{policy}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The oracle does tell HuJSON from JSON5.
    let file = dir.path().join("json5.hujson");
    std::fs::write(&file, "{ tagOwners: {}, }\n").expect("writing");
    let out = Command::new(&jsonvet)
        .args(["--no-config", "--dialect", "jwcc"])
        .arg(&file)
        .output()
        .expect("running jsonvet");
    assert!(
        !out.status.success(),
        "jsonvet accepted unquoted keys as HuJSON"
    );
}

// --- completions, man, help -----------------------------------------------------

#[test]
fn completions_for_every_shell() {
    let repo = TempRepo::new();
    for (shell, checker) in [("bash", "bash"), ("zsh", "zsh"), ("fish", "fish")] {
        let script = stdout_of(&repo, &["completions", shell]);
        for command in ["status", "graph", "completions", "man", "check"] {
            assert!(
                script.contains(command),
                "{shell} completions lack `{command}`"
            );
        }
        assert!(
            script.contains("mermaid") && script.contains("dot"),
            "{shell}: no --format values"
        );
        // Syntax-check with the shell itself when it is installed (bash always is).
        let found = if shell == "bash" {
            oracle(checker)
        } else {
            which(checker)
        };
        if let Some(program) = found {
            let (ok, _, err) = pipe(&program, &["-n"], &script);
            assert!(ok, "{shell} -n rejects the completion script: {err}");
        }
    }
    repo.run(&["completions", "powershell"]).expect_code(2);
}

fn which(tool: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

#[test]
fn man_page() {
    let repo = TempRepo::new();
    let page = stdout_of(&repo, &["man"]);
    assert!(page.contains(".TH avalanche-net 1"), "{page}");
    for section in ["STATUS", "GRAPH", "COMPLETIONS", "MAN", "CHECK"] {
        assert!(
            page.contains(&format!(".SH \"COMMAND: AVALANCHE-NET {section}\"")),
            "no {section} section"
        );
    }
    assert!(page.contains(".SH EXAMPLES"), "{page}");
    let Some(groff) = oracle("groff") else { return };
    let (ok, text, err) = pipe(&groff, &["-man", "-Tutf8", "-ww"], &page);
    assert!(ok && err.is_empty(), "groff: {err}");
    assert!(text.contains("avalanche-net graph --format dot"), "{text}");
}

#[test]
fn help_has_examples_for_the_operator_commands() {
    let repo = TempRepo::new();
    for command in ["status", "graph", "completions", "man"] {
        let help = stdout_of(&repo, &[command, "--help"]);
        assert!(
            help.contains("Examples:\n  avalanche-net "),
            "`{command} --help` has no example:\n{help}"
        );
    }
}

#[test]
fn help_sets_the_global_options_apart() {
    let repo = TempRepo::new();
    for command in ["check", "build", "status", "graph"] {
        let run = repo.run(&[command, "--help"]);
        run.expect_code(0);
        let help = run.stdout();
        let (own, global) = help
            .split_once("Global options:")
            .unwrap_or_else(|| panic!("`{command} --help` has no global options heading:\n{help}"));
        assert!(
            global.contains("--repo") && !own.contains("--repo"),
            "{help}"
        );
    }
}

/// Every client through a gateway and no gluetun proxy (`fixtures/gateway-host`):
/// `build` writes no proxies' tree, so `status` asks for no README, no
/// registration, no proxies and no verification Job; the gateways' own work
/// (their unsealed keys) is what phase 2 lists. Once a gateway is monitored in
/// the cluster the tree exists, and its README and registration are expected.
#[test]
fn status_without_proxies_expects_no_proxies_tree() {
    let repo = TempRepo::from_fixture("fixtures/gateway-host");
    let out = stdout_of(&repo, &["status", "--verbose"]);
    for absent in [
        "write the vpn-proxy README",
        "generate the Argo CD Application",
        "generate the proxy tree",
        "declare the proxies",
        "declare a VPN provider",
        "add the egress verification job",
        "you apply it",
    ] {
        assert!(!out.contains(absent), "`{absent}` in:\n{out}");
    }
    assert!(
        out.contains(
            "no shared proxy: every client goes through a gateway, which its host deploys"
        ),
        "{out}"
    );
    assert!(
        out.contains("the gateway `home-vps`'s tunnel key `routy-wireguard` is not sealed"),
        "{out}"
    );

    let network = repo.read("nix/network.nix");
    let monitored = network.replace(
        "kubernetes.nodeCIDRs = [",
        "kubernetes.monitoring.enable = true;\n    kubernetes.nodeCIDRs = [",
    );
    assert_ne!(monitored, network);
    repo.write("nix/network.nix", &monitored);
    let out = stdout_of(&repo, &["status"]);
    assert!(out.contains("write the vpn-proxy README"), "{out}");
    assert!(out.contains("generate the Argo CD Application"), "{out}");

    // The same on an operator's repository (`repos/media-gluetun`: hosts under
    // `nixos/hosts/`, a hand-migrated qBittorrent sidecar) whose shared proxy was
    // replaced by a gateway on its NAS: the sidecar stays, no proxies' tree is asked for.
    let repo = TempRepo::from_fixture("fixtures/repos/media-gluetun");
    let network = repo.read("nix/network.nix");
    let proxy = "      proxies.switzerland = {\n        provider = \"protonvpn\";\n        countries = [ \"Switzerland\" ];\n        credentials = \"protonvpn-switzerland\";\n      };\n";
    let gateway = "      gateways.lan = {\n        host = \"nas\";\n        listen = \"192.168.1.10\";\n        httpPort = 8888;\n        tunnel = {\n          endpoint = \"198.51.100.7:51820\";\n          publicKey = \"oWRlqKuEfKABFAPjC+yzaa0B1nTWoGpZRSLewEpTVj8=\";\n          address = \"10.66.0.2/32\";\n          privateKeySecret = \"nas-wireguard\";\n        };\n      };\n";
    assert!(network.contains(proxy) && network.contains("proxy = \"switzerland\";"));
    let network = network
        .replacen(proxy, gateway, 1)
        .replacen("proxy = \"switzerland\";", "proxy = \"lan\";", 1)
        .replacen(
            "    secrets.qbittorrent-vpn = {",
            "    secrets.nas-wireguard = { format = \"plain\"; file = \"secrets/nas/wireguard.yaml\"; keys = [ \"privateKey\" ]; };\n    secrets.qbittorrent-vpn = {",
            1,
        );
    repo.write("nix/network.nix", &network);
    repo.commit_all();
    let out = stdout_of(&repo, &["status", "--verbose"]);
    for absent in [
        "write the vpn-proxy README",
        "generate the Argo CD Application",
        "generate the proxy tree",
        "declare the proxies",
        "add the egress verification job",
    ] {
        assert!(!out.contains(absent), "`{absent}` in:\n{out}");
    }
    assert!(
        out.contains("gateway `lan` runs on nas") && out.contains("clients: prowlarr"),
        "{out}"
    );
}
