//! Reading (the static Nix reader) and decoding (into the typed `Network`) of the
//! bundled declarations and of generated networks with 10, 1,000 and 10,000 proxies.
//!
//! Run: `cargo bench -p avalanche-model --bench read_decode`. The generated text is
//! the one `scripts/bench-nix-compare` writes, to compare with `nix-instantiate`.
//! Targets: the bundled network under 1 ms, 10,000 proxies under 100 ms.
use avalanche_diag::SourceMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    divan::main();
}

const COUNTRIES: &[&str] = &["Iceland", "Netherlands", "Switzerland", "Sweden"];

/// A network declaration with `proxies` egress proxies (and a client for each tenth).
pub fn network_text(proxies: usize) -> String {
    let mut t = String::with_capacity(200 + proxies * 120);
    t.push_str(
        "{\n  avalanche.network = {\n    egress = {\n      image = \"qmcgaw/gluetun:v3.41.3\";\n",
    );
    t.push_str("      providers.protonvpn = {\n        service = \"protonvpn\";\n        type = \"wireguard\";\n        credentials = \"protonvpn\";\n      };\n");
    t.push_str("      proxies = {\n");
    for i in 0..proxies {
        let country = COUNTRIES[i % COUNTRIES.len()];
        let _ = writeln!(
            t,
            "        proxy{i} = {{\n          provider = \"protonvpn\";\n          countries = [ \"{country}\" ];\n        }};"
        );
    }
    t.push_str("      };\n");
    for i in (0..proxies).step_by(10) {
        let _ = writeln!(
            t,
            "      clients.client{i} = {{ namespace = \"ns{i}\"; proxy = \"proxy{i}\"; protocol = \"http\"; }};"
        );
    }
    t.push_str("    };\n    secrets.protonvpn = {\n      file = \"kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml\";\n      keys = [ \"WIREGUARD_PRIVATE_KEY\" \"WIREGUARD_ADDRESSES\" ];\n    };\n  };\n}\n");
    t
}

fn bundled() -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nix/network.nix");
    match std::fs::read_to_string(&path) {
        Ok(text) => (path, text),
        Err(_) => (PathBuf::from("nix/network.nix"), network_text(10)),
    }
}

fn read(path: &Path, text: &str) -> avalanche_nix::Value {
    let mut sources = SourceMap::default();
    match avalanche_nix::read_source(path, text, &mut sources) {
        Ok(v) => v,
        Err(d) => panic!("the benchmark input does not read: {d:?}"),
    }
}

#[divan::bench]
fn bundled_read(bencher: divan::Bencher) {
    let (path, text) = bundled();
    bencher.bench(|| read(&path, &text));
}

#[divan::bench]
fn bundled_read_decode(bencher: divan::Bencher) {
    let (path, text) = bundled();
    bencher.bench(|| avalanche_model::decode(&read(&path, &text)));
}

#[divan::bench(args = [10, 1_000, 10_000])]
fn generated_read(bencher: divan::Bencher, proxies: usize) {
    let text = network_text(proxies);
    bencher.bench(|| read(Path::new("nix/network.nix"), &text));
}

#[divan::bench(args = [10, 1_000, 10_000])]
fn generated_read_decode(bencher: divan::Bencher, proxies: usize) {
    let text = network_text(proxies);
    bencher.bench(|| avalanche_model::decode(&read(Path::new("nix/network.nix"), &text)));
}

#[divan::bench(args = [10, 1_000, 10_000])]
fn generated_decode_only(bencher: divan::Bencher, proxies: usize) {
    let value = read(Path::new("nix/network.nix"), &network_text(proxies));
    bencher.bench(|| avalanche_model::decode(&value));
}

/// The network `scripts/bench-compare` generates (`n` proxies and `n` clients): the
/// one its `nix-instantiate` column reads, so the two numbers compare directly.
pub fn compare_network_text(n: usize) -> String {
    let mut t = String::with_capacity(600 + n * 200);
    t.push_str("{\n  avalanche.network = {\n    tailscale.nodes = {\n");
    t.push_str(
        "      routy = { role = \"subnet-router\"; advertiseRoutes = [ \"10.1.0.0/24\" ]; };\n",
    );
    t.push_str("      calypso = { role = \"workstation\"; };\n    };\n    egress = {\n");
    t.push_str("      image = \"qmcgaw/gluetun:v3.41.3\";\n");
    t.push_str("      providers.protonvpn = { service = \"protonvpn\"; type = \"wireguard\"; credentials = \"protonvpn\"; };\n");
    t.push_str("      proxies = {\n");
    for i in 0..n {
        let country = COUNTRIES[i % COUNTRIES.len()];
        let _ = writeln!(
            t,
            "        p{i:05} = {{ provider = \"protonvpn\"; countries = [ \"{country}\" ]; }};"
        );
    }
    t.push_str("      };\n      clients = {\n");
    for i in 0..n {
        let protocol = if i % 2 == 0 { "http" } else { "shadowsocks" };
        let enforce = i % 3 == 0;
        let _ = writeln!(
            t,
            "        c{i:05} = {{ namespace = \"apps{:02}\"; proxy = \"p{i:05}\"; protocol = \"{protocol}\"; enforce = {enforce}; }};",
            i % 100
        );
    }
    t.push_str("      };\n    };\n    secrets.protonvpn = {\n");
    t.push_str("      file = \"kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml\";\n");
    t.push_str("      keys = [ \"WIREGUARD_PRIVATE_KEY\" \"WIREGUARD_ADDRESSES\" \"SHADOWSOCKS_PASSWORD\" ];\n    };\n");
    t.push_str("    kubernetes = {\n      dir = \"kubernetes\";\n");
    t.push_str("      argocd.repoURL = \"https://github.com/OWNER/avalanche.git\";\n");
    t.push_str("      monitoring.enable = true;\n    };\n  };\n}\n");
    t
}

#[divan::bench(args = [10_000])]
fn compare_read_decode(bencher: divan::Bencher, n: usize) {
    let text = compare_network_text(n);
    bencher.bench(|| avalanche_model::decode(&read(Path::new("nix/network.nix"), &text)));
}
