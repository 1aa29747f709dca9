//! Fuzzes the ledger reader (`kubernetes/.avalanche-generated.json`), which is
//! untrusted input: any bytes must give the generated files or a located error,
//! never a panic; and whatever it accepts names only generated files (a plain
//! relative path inside `kubernetes.dir`, or the Tailscale policy; never `.git`,
//! the declarations or `.sops.yaml`). What it accepts also reads back the same.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run ledger fuzz/corpus/ledger fuzz/seeds/ledger`
//! (or `cargo +nightly fuzz run …`); `scripts/fuzz-smoke` runs it briefly.
#![no_main]

use avalanche_model::layout::{self, LedgerScope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let protected = ["nix/network.nix".to_owned(), "secrets/routy/tailscale.yaml".to_owned()];
    for kubernetes_dir in ["kubernetes", "."] {
        let scope = LedgerScope {
            kubernetes_dir,
            also: &["tailscale/policy.hujson"],
            protected: &protected,
        };
        match layout::parse_ledger(&text, "kubernetes/.avalanche-generated.json", &scope) {
            Ok(files) => {
                for (path, hash) in &files {
                    assert!(layout::relative_path_problem(path).is_none(), "accepted {path:?}");
                    assert!(!layout::is_protected(path), "accepted {path:?}");
                    assert!(!protected.contains(path), "accepted {path:?}");
                    assert!(
                        layout::is_within(path, kubernetes_dir) || path == "tailscale/policy.hujson",
                        "accepted {path:?} outside {kubernetes_dir}"
                    );
                    assert_eq!(hash.len(), 64);
                }
                let again = layout::parse_ledger(&layout::ledger_text(&files), "L", &scope);
                assert_eq!(again.as_ref(), Ok(&files), "the ledger does not read back");
            }
            Err(e) => {
                assert!(e.line >= 1);
                let _ = e.to_string();
            }
        }
    }
});
