//! Fuzzes `check`'s fast reader of plain block YAML against saphyr: whenever the
//! fast reader reads a text (it may give up, and saphyr reads it instead), the
//! Kubernetes facts it finds must be exactly saphyr's — the condition on which
//! `crates/check/src/kube_yaml.rs` is kept (BENCHMARKS.md has its gain). Any
//! bytes: never a panic, a stack overflow or a hang either.
//!
//! Seeds: `fuzz/seeds/kube_yaml/` (hand-written manifests shaped like the test
//! fixtures'). Run with `scripts/fuzz-smoke kube_yaml`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The file's name changes what is read (a kustomization's lists, a chart's
    // dependencies).
    for path in ["app/deployment.yaml", "app/kustomization.yaml", "chart/Chart.yaml"] {
        if let Some(difference) = avalanche_check::facts::fast_reader_disagreement(path, text) {
            panic!("{path}: {difference}");
        }
    }
});
