//! Rendering speed: the bundled network (goal < 5 ms, read + decode + render) and
//! 10,000 proxies with a client each (goal < 1 s, peak RSS < 256 MB).
//!
//! `cargo bench -p avalanche-render --bench render`
use avalanche_diag::SourceMap;
use avalanche_model::{Client, ClientProtocol, HealthCheck, Name, Network, Proxy, Spanned};
use std::path::Path;

fn main() {
    divan::main();
}

fn bundled_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nix/network.nix")
}

fn bundled() -> Network {
    let mut sources = SourceMap::default();
    let value = avalanche_nix::read_file(&bundled_path(), &mut sources)
        .unwrap_or_else(|d| panic!("{d:#?}"));
    avalanche_model::decode(&value)
        .0
        .unwrap_or_else(|| panic!("the bundled network does not decode"))
}

fn name(s: &str) -> Name {
    Name::new(s).unwrap_or_else(|e| panic!("{e}"))
}

/// The bundled network with `n` proxies, each with one enforced HTTP client.
fn many(n: usize) -> Network {
    many_with(n, true)
}

fn many_with(n: usize, with_clients: bool) -> Network {
    let mut net = bundled();
    net.egress.clients.clear();
    for i in 0..n {
        let region = format!("region-{i}");
        net.egress.proxies.insert(
            name(&region),
            Proxy {
                span: None,
                provider: Spanned::unspanned(name("protonvpn")),
                countries: vec![Spanned::unspanned("Iceland".to_owned())],
                replicas: 1,
                health_check: HealthCheck::Dns,
                tun_device: None,
                keepalive: None,
                credentials: None,
                existing_secret: None,
                control_server: Spanned::unspanned(
                    avalanche_model::defaults::CONTROL_SERVER.to_owned(),
                ),
            },
        );
        if !with_clients {
            continue;
        }
        net.egress.clients.insert(
            name(&format!("client-{i}")),
            Client {
                span: None,
                namespace: Spanned::unspanned(name(&format!("ns-{}", i % 50))),
                deployment: Spanned::unspanned(name(&format!("client-{i}"))),
                proxy: Spanned::unspanned(name(&region)),
                gateway: false,
                protocol: Spanned::unspanned(ClientProtocol::Http),
                enforce: true,
                pod_labels: [("app.kubernetes.io/name".to_owned(), format!("client-{i}"))].into(),
                allowed_destinations: Vec::new(),
                speaks: None,
            },
        );
    }
    net
}

/// Render only.
#[divan::bench]
fn render_bundled(bencher: divan::Bencher) {
    let net = bundled();
    bencher.bench(|| avalanche_render::render(divan::black_box(&net)).map(|p| p.total_bytes()));
}

/// Read, decode and render: what `build` computes before writing.
#[divan::bench]
fn read_decode_render_bundled() -> usize {
    let net = bundled();
    avalanche_render::render(&net)
        .map(|p| p.total_bytes())
        .unwrap_or_default()
}

/// 10,000 proxies and 10,000 clients.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn render_10k_proxies(bencher: divan::Bencher) {
    let net = many(10_000);
    bencher.bench(|| avalanche_render::render(divan::black_box(&net)).map(|p| p.total_bytes()));
}

/// 10,000 proxies, no clients.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn render_10k_proxies_without_clients(bencher: divan::Bencher) {
    let net = many_with(10_000, false);
    bencher.bench(|| avalanche_render::render(divan::black_box(&net)).map(|p| p.total_bytes()));
}

/// The README's diagram alone, at 10,000 proxies (part of `render_10k_proxies`).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn mermaid_10k_proxies(bencher: divan::Bencher) {
    let net = many(10_000);
    bencher.bench(|| avalanche_render::graph::mermaid(divan::black_box(&net)).len());
}

/// The Tailscale policy alone, at 10,000 proxies (part of `render_10k_proxies`).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn policy_10k_proxies(bencher: divan::Bencher) {
    let net = many(10_000);
    bencher.bench(|| avalanche_render::policy::render(divan::black_box(&net)).len());
}
