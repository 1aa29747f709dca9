//! Fuzzes SOPS decryption: any bytes, read as a YAML or JSON SOPS file, must
//! decrypt or give an error, never a panic, a stack overflow or a hang.
//!
//! Three depths: the document and its `sops` metadata; every value with a fixed
//! data key (reaches `ENC[…]` parsing, AES-GCM and the MAC without age); and the
//! whole `decrypt` with the public test identities (the demo key and the
//! sops-vectors key), so the seeds from `tests/fixtures/sops-vectors` decrypt
//! for real and mutations of them reach every branch.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run sops_decrypt fuzz/corpus/sops_decrypt fuzz/seeds/sops_decrypt`
//! (or `cargo +nightly fuzz run …`); `scripts/fuzz-smoke` runs it briefly.
#![no_main]

use avalanche_sops::crypt::decrypt_doc_with_key;
use avalanche_sops::{
    DataKey, Format, Identities, Metadata, decrypt, is_sops_file, recipients, tree,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// Public test keys only (both are published in this repository).
const KEYS: [&str; 2] = [
    include_str!("../../tests/fixtures/sops-vectors/age-test-key.txt"),
    include_str!("../../tests/keys/demo.agekey"),
];

fn identities() -> &'static Identities {
    static IDS: OnceLock<Identities> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut ids = Identities::empty();
        for (i, text) in KEYS.iter().enumerate() {
            if ids
                .add_keys_text(text, false, &format!("test key {i}"))
                .is_err()
            {
                panic!("the bundled test key {i} does not parse");
            }
        }
        ids
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = is_sops_file(&text);
    for format in [Format::Yaml, Format::Json] {
        let _ = recipients(&text, format);
        if let Ok(doc) = tree::parse(&text, format) {
            let _ = tree::emit(&doc, format);
            if let Ok(metadata) = Metadata::from_doc(&doc)
                && let Ok(key) = DataKey::from_bytes(&[7u8; 32])
            {
                let _ = decrypt_doc_with_key(&doc, metadata, key).map_err(|e| e.to_string());
            }
        }
        let _ = decrypt(&text, format, identities()).map_err(|e| e.to_string());
    }
});
