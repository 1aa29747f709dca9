//! Times the static reader on a file (`cargo run --release --example timing FILE [N]`).
use avalanche_diag::SourceMap;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = args.get(1).map_or_else(
        || "1".to_string(),
        |p| std::fs::read_to_string(p).unwrap_or_default(),
    );
    let n: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let mut best = f64::MAX;
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let mut sources = SourceMap::default();
        let v = avalanche_nix::read_source(std::path::Path::new("x.nix"), &text, &mut sources);
        best = best.min(t.elapsed().as_secs_f64());
        drop(v);
    }
    println!(
        "best {:.1} µs, mean {:.1} µs",
        best * 1e6,
        start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}
