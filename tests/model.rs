//! The bundled declarations and the typed model, end to end: `eval` on the bundled
//! `nix/network.nix` prints what real Nix prints and decodes into the mission's
//! network; a mistake in the declarations is reported at its line and column.

use crate::support::{self, TempRepo};
use avalanche_diag::{RenderOptions, SourceMap};
use avalanche_model::{ClientProtocol, Name, Role, SecretFormat};
use avalanche_nix::Value;

fn name(s: &str) -> Name {
    Name::new(s).expect("a valid name")
}

/// The network the bundled file declares, as `avalanche-net eval` prints it.
fn eval_bundled() -> serde_json::Value {
    let repo = TempRepo::bundled();
    let run = repo.run(&["eval", "--eval", "static"]);
    run.expect_code(0);
    serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("eval printed no JSON ({e}):\n{}", run.stdout()))
}

#[test]
fn the_bundled_network_evaluates_and_decodes_into_the_mission() {
    let json = eval_bundled();
    let (network, diagnostics) = avalanche_model::decode(&Value::from_json(&json));
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let network = network.expect("the bundled network decodes");

    // Tailscale: remote access only.
    let nodes = &network.tailscale.nodes;
    assert_eq!(*nodes[&name("routy")].role, Role::SubnetRouter);
    assert_eq!(
        nodes[&name("routy")]
            .advertise_routes
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>(),
        ["10.1.0.0/24"]
    );
    assert_eq!(*nodes[&name("calypso")].role, Role::Workstation);
    assert_eq!(*nodes[&name("mysecrets")].role, Role::Server);
    assert_eq!(
        nodes[&name("mysecrets")]
            .tags
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>(),
        ["tag:infra"]
    );
    assert_eq!(*nodes[&name("phone")].role, Role::Device);
    assert!(nodes.values().all(|n| *n.role != Role::ExitNode));

    // The retired exit node, its cost and its key.
    let vps = &network.retired[&name("vps")];
    assert_eq!(vps.description, "Hetzner CAX11 Tailscale exit node");
    assert_eq!((vps.monthly_cost, vps.currency.as_str()), (4.49, "EUR"));
    assert_eq!(
        vps.aliases.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        ["hetzner"]
    );
    assert!(
        vps.age_recipients.iter().all(|r| r.starts_with("age1")) && vps.age_recipients.len() == 1
    );

    // gluetun egress.
    let egress = &network.egress;
    assert_eq!(*egress.image, "qmcgaw/gluetun:v3.41.3");
    assert_eq!(
        egress.proxies.keys().map(Name::as_str).collect::<Vec<_>>(),
        ["iceland", "netherlands"]
    );
    for proxy in egress.proxies.values() {
        assert_eq!(proxy.provider.as_str(), "protonvpn");
    }
    assert_eq!(
        egress.proxies[&name("iceland")]
            .countries
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        ["Iceland"]
    );
    let qbit = &egress.sidecars[&name("qbittorrent")];
    assert_eq!(qbit.namespace.as_str(), "media");
    assert!(qbit.port_forwarding);
    assert_eq!(
        qbit.input_ports.iter().map(|p| **p).collect::<Vec<_>>(),
        [8080]
    );
    let bot = &egress.clients[&name("marmithon")];
    assert_eq!(
        (
            bot.namespace.as_str(),
            bot.proxy.as_str(),
            *bot.protocol,
            bot.enforce
        ),
        ("irc", "iceland", ClientProtocol::Http, true)
    );

    // Secrets and the cluster.
    assert_eq!(
        network.secrets[&name("protonvpn")].format,
        SecretFormat::Kubernetes
    );
    assert_eq!(
        network.secrets[&name("routy-tailscale")].format,
        SecretFormat::Plain
    );
    assert!(network.kubernetes.monitoring.enable);
    assert_eq!(
        network.kubernetes.argocd.repo_url,
        "https://github.com/OWNER/avalanche.git"
    );
}

#[test]
fn the_bundled_network_evaluates_as_real_nix_does() {
    let Some(nix) = support::oracle("nix-instantiate") else {
        return;
    };
    let ours = eval_bundled();
    let state = tempfile::tempdir().expect("a temp dir");
    let output = std::process::Command::new(nix)
        .args(["--eval", "--strict", "--json"])
        .arg(support::workspace_root().join("nix/network.nix"))
        .env("NIX_STATE_DIR", state.path())
        .output()
        .expect("running nix-instantiate");
    assert!(
        output.status.success(),
        "nix-instantiate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("nix-instantiate prints JSON");
    assert_eq!(ours, theirs);
}

const BAD_ROLE: &str = r#"{
  avalanche.network = {
    tailscale.nodes = {
      routy = { role = "subnetrouter"; advertiseRoutes = [ "10.1.0.0/24" ]; };
    };
  };
}
"#;

#[test]
fn a_bad_role_is_reported_at_its_line_and_column() {
    // In process, exactly as the commands render it.
    let mut sources = SourceMap::default();
    let value = avalanche_nix::read_source(
        std::path::Path::new("nix/network.nix"),
        BAD_ROLE,
        &mut sources,
    )
    .expect("the file reads");
    let (network, diagnostics) = avalanche_model::decode(&value);
    assert!(network.is_none());
    let text = avalanche_diag::render_human(&diagnostics, &sources, RenderOptions::default());
    assert_eq!(
        text,
        concat!(
            "error[model-enum]: unknown role `subnetrouter`\n",
            " --> nix/network.nix:4:24\n",
            "  |\n",
            "4 |       routy = { role = \"subnetrouter\"; advertiseRoutes = [ \"10.1.0.0/24\" ]; };\n",
            "  |                        ^^^^^^^^^^^^^^ expected one of: subnet-router, exit-node, workstation, server, device\n",
            "  |\n",
            "  = help: write `role = \"subnet-router\";`\n",
            "\n",
        )
    );
    let json: serde_json::Value =
        serde_json::from_str(&avalanche_diag::render_json(&diagnostics, &sources)).expect("JSON");
    assert_eq!(json[0]["rule"], "model-enum");
    assert_eq!(
        (
            json[0]["file"].as_str(),
            json[0]["line"].as_u64(),
            json[0]["column"].as_u64()
        ),
        (Some("nix/network.nix"), Some(4), Some(24))
    );

    // Through the binary: a command that reads the declarations refuses them, and
    // says where the mistake is.
    let repo = TempRepo::bundled();
    repo.write("nix/network.nix", BAD_ROLE);
    let run = repo.run(&["status"]);
    let stderr = run.stderr();
    assert_ne!(run.code(), 0, "status accepted a bad role:\n{stderr}");
    assert!(
        stderr.contains("error[model-enum]: unknown role `subnetrouter`"),
        "{stderr}"
    );
    assert!(stderr.contains("nix/network.nix:4:24\n"), "{stderr}");
    assert!(
        stderr.contains("^^^^^^^^^^^^^^ expected one of: subnet-router"),
        "{stderr}"
    );
}
