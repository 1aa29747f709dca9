//! The tailnet as real homelabs run it (`fixtures/repos/homelab-ha`): two subnet
//! routers advertising the same LAN for failover, hosts computed by `mapAttrs`,
//! kept under `nixos/hosts/`.
use crate::support::TempRepo;

const HOMELAB: &str = "fixtures/repos/homelab-ha";

#[test]
fn ha_subnet_routers_are_a_failover_pair_in_check_status_graph_and_policy() {
    let repo = TempRepo::from_fixture(HOMELAB);
    // No finding about the shared prefix (it used to be an error blocking `build`).
    let check = repo.run(&["check", "--format", "json"]);
    let findings: serde_json::Value =
        serde_json::from_str(&check.stdout()).expect("check --format json");
    let routes: Vec<&serde_json::Value> = findings
        .as_array()
        .expect("an array")
        .iter()
        .filter(|f| {
            f["rule"]
                .as_str()
                .is_some_and(|r| r.starts_with("tailscale-route"))
        })
        .collect();
    assert!(routes.is_empty(), "{routes:#?}");
    check.expect_code(0);

    // `status` says the two form a failover group.
    let status = repo.run(&["status", "--format", "json"]);
    status.expect_code(0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout()).expect("JSON");
    let notes: Vec<&str> = status["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("gw-a and gw-b form a failover group for 192.168.10.0/24")),
        "{notes:?}"
    );
    let human = repo.run(&["status"]);
    human.expect_code(0);
    assert!(
        human
            .stdout()
            .contains("Note: gw-a and gw-b form a failover group"),
        "{}",
        human.stdout()
    );

    // `graph` labels the shared subnet with its routers.
    let graph = repo.run(&["graph"]);
    graph.expect_code(0);
    assert!(
        graph.stdout().contains("failover: gw-a, gw-b"),
        "{}",
        graph.stdout()
    );

    // The policy approves the route for each router (by their tag).
    let build = repo.run(&["build"]);
    build.expect_code(0);
    let policy = repo.read("tailscale/policy.hujson");
    assert!(
        policy.contains("      \"192.168.10.0/24\": [\"tag:router\"], // failover: gw-a, gw-b\n"),
        "{policy}"
    );
}

/// One node that routes a subnet, is an exit node and carries a tag: every
/// capability reaches the policy and the graph; forbidding exit nodes reports it
/// at `advertiseExitNode`.
#[test]
fn a_node_combines_routes_exit_node_and_tags() {
    let repo = TempRepo::from_fixture(HOMELAB);
    let check = repo.run(&["check", "--format", "json"]);
    check.expect_code(0);
    repo.run(&["build"]).expect_code(0);
    let policy = repo.read("tailscale/policy.hujson");
    let value = avalanche_render::policy::parse(&policy).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        value["autoApprovers"]["routes"]["192.168.20.0/24"],
        serde_json::json!(["tag:nas"]),
        "{policy}"
    );
    assert_eq!(
        value["autoApprovers"]["exitNode"],
        serde_json::json!(["tag:nas"]),
        "{policy}"
    );
    assert_eq!(
        value["tagOwners"]["tag:nas"],
        serde_json::json!(["autogroup:admin"])
    );
    let graph = repo.run(&["graph"]);
    graph.expect_code(0);
    assert!(
        graph
            .stdout()
            .contains("nas<br/>subnet-router · exit node · tag:nas"),
        "{}",
        graph.stdout()
    );

    // Exit nodes forbidden: the capability is reported where it was declared.
    let network = repo.read("nix/network.nix");
    repo.write(
        "nix/network.nix",
        &network.replace("exitNodes = \"allowed\";", "exitNodes = \"forbidden\";"),
    );
    let line = network
        .lines()
        .position(|l| l.contains("advertiseExitNode = true;"))
        .expect("the declaration") as u64
        + 1;
    let check = repo.run(&["check", "--format", "json"]);
    check.expect_code(1);
    let findings: serde_json::Value = serde_json::from_str(&check.stdout()).expect("JSON");
    let hits: Vec<&serde_json::Value> = findings
        .as_array()
        .expect("array")
        .iter()
        .filter(|f| f["rule"] == "tailscale-exit-node-forbidden")
        .collect();
    assert_eq!(hits.len(), 1, "{findings:#}");
    assert_eq!(hits[0]["line"], line, "{findings:#}");
    assert!(
        hits[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`nas` advertises an exit node")),
        "{findings:#}"
    );
}

/// The bundled example's names: advice built from them would be wrong anywhere else.
const BUNDLED_NAMES: &[&str] = &[
    "iceland",
    "netherlands",
    "routy",
    "calypso",
    "mysecrets",
    "protonvpn",
    "marmithon",
    "qbittorrent",
    "hetzner",
    "vps",
    "10.1.0.0",
];

/// The bundled names that `text` mentions as words.
fn bundled_names_in(text: &str) -> Vec<&'static str> {
    let lower = text.to_ascii_lowercase();
    BUNDLED_NAMES
        .iter()
        .copied()
        .filter(|name| {
            lower.match_indices(name).any(|(at, _)| {
                let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
                !word(lower[..at].chars().next_back())
                    && !word(lower[at + name.len()..].chars().next())
            })
        })
        .collect()
}

/// `status` and the generated README advise from the user's declarations: on the
/// bundled example they name its hosts and regions; on another repository, none
/// of those names appears.
#[test]
fn status_and_generated_readme_advise_from_the_declarations_not_the_example() {
    let bundled = TempRepo::bundled();
    let status = bundled.run(&["status"]);
    status.expect_code(0);
    assert!(
        !bundled_names_in(&status.stdout()).is_empty(),
        "the bundled status names nothing of its own: {}",
        status.stdout()
    );

    let repo = TempRepo::from_fixture(HOMELAB);
    for format in ["human", "json"] {
        let status = repo.run(&["status", "--format", format, "--verbose"]);
        status.expect_code(0);
        let text = status.stdout() + &status.stderr();
        assert_eq!(bundled_names_in(&text), Vec::<&str>::new(), "{text}");
    }
    // The generated README names this repository's provider, proxy and client.
    let network = repo.read("nix/network.nix");
    repo.write(
        "nix/network.nix",
        &network.replace(
            "    kubernetes.dir = \"k8s\";",
            r#"    kubernetes.dir = "k8s";
    egress = {
      providers.mullvad = { service = "mullvad"; credentials = "mullvad"; };
      proxies.sweden = { provider = "mullvad"; countries = [ "Sweden" ]; };
      clients.weechat = { namespace = "chat"; proxy = "sweden"; };
    };
    secrets.mullvad = {
      file = "k8s/base/infra/network/vpn-proxy/secrets.sops.yaml";
      keys = [ "WIREGUARD_PRIVATE_KEY" "WIREGUARD_ADDRESSES" "SHADOWSOCKS_PASSWORD" ];
    };"#,
        ),
    );
    repo.write(
        ".sops.yaml",
        "creation_rules:\n  - path_regex: ^k8s/.*\\.sops\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: age1ve5dcmpd7zm4ucc22z5fdxnk5n0xem5pe7xq64325npf028tag0qvmeep9\n",
    );
    repo.write(
        "k8s/base/apps/chat/weechat/kustomization.yaml",
        "resources:\n  - deployment.yaml\ncomponents:\n  - vpn-egress\n",
    );
    // What the kustomization lists must exist (`kustomize-path-missing`).
    repo.write(
        "k8s/base/apps/chat/weechat/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: weechat\nspec:\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: weechat\n",
    );
    // The proxy's credentials are sealed before `build` writes into the repository.
    repo.seal(
        "mullvad",
        &[
            "WIREGUARD_PRIVATE_KEY",
            "WIREGUARD_ADDRESSES",
            "SHADOWSOCKS_PASSWORD",
        ],
    );
    let build = repo.run(&["build"]);
    build.expect_code(0);
    let readme = repo.read("k8s/base/infra/network/vpn-proxy/README.md");
    assert!(
        readme.contains("sweden") && readme.contains("weechat"),
        "{readme}"
    );
    assert_eq!(bundled_names_in(&readme), Vec::<&str>::new(), "{readme}");
    let status = repo.run(&["status", "--verbose"]);
    status.expect_code(0);
    assert_eq!(
        bundled_names_in(&status.stdout()),
        Vec::<&str>::new(),
        "{}",
        status.stdout()
    );
}
