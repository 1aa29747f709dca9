//! Fuzzes the static Nix reader: any bytes must give a value or diagnostics, never a
//! panic, a stack overflow or a hang.
//!
//! Run: `cargo +nightly fuzz run read_source -- -max_total_time=60` (from the
//! repository root; `cargo install cargo-fuzz` first). Without cargo-fuzz, build it as
//! cargo-fuzz does and run the binary (seeded with the differential corpus):
//!
//! ```sh
//! cd fuzz && RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
//!   -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
//!   -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions" \
//!   cargo +nightly build --release --bin read_source --target x86_64-unknown-linux-gnu
//! mkdir -p corpus && cp ../tests/nix-corpus/*.nix ../tests/nix-corpus/errors/*.nix corpus/
//! ./target/x86_64-unknown-linux-gnu/release/read_source -max_total_time=150 -max_len=4096 corpus
//! ```
//!
//! Diagnostics are rendered too, so their spans are checked against the source.
#![no_main]

use avalanche_diag::{RenderOptions, SourceMap};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut sources = SourceMap::default();
    match avalanche_nix::read_source(Path::new("fuzz/input.nix"), &text, &mut sources) {
        Ok(value) => {
            let _ = value.to_json_string();
        }
        Err(diagnostics) => {
            let _ = avalanche_diag::render_human(&diagnostics, &sources, RenderOptions::default());
        }
    }
});
