//! Links the `avalanche-net` executable as a fixed-address (non-PIE) binary on
//! Linux.
//!
//! Why: the tool is run in every CI step and inside `nix flake check`, where it
//! is started thousands of times and each run lasts a few milliseconds. A PIE
//! binary spends a measurable part of that in the dynamic loader: about 17,000
//! relative relocations written into 80 pages of `.data.rel.ro` at every start
//! (0.4 M instructions and ~90 page faults, 0.2–0.3 ms here; BENCHMARKS.md).
//! Linked non-PIE, the addresses are resolved at link time. The code itself stays
//! position-independent (nothing else changes, and libraries and proc-macros are
//! untouched: the flag only reaches this package's binaries). The trade-off is the
//! one Go's tools (kubectl, sops, age) make by default: the executable image is
//! not randomised by ASLR (its heap, stack and libraries still are). Set
//! `AVALANCHE_PIE=1` at build time to link a PIE binary instead.
fn main() {
    println!("cargo::rerun-if-env-changed=AVALANCHE_PIE");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let pie_wanted = std::env::var_os("AVALANCHE_PIE").is_some_and(|v| v != "0" && !v.is_empty());
    if os == "linux" && env == "gnu" && !pie_wanted {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
