//! Benchmarks: sealing the bundled Secret (target < 10 ms) and verifying
//! 1,000 SOPS files from disk (target < 1 s). `cargo bench -p avalanche-sops`.
use avalanche_sops::ops::{self, Outcome};
use avalanche_sops::{CryptRule, Format, Identities, Value};
use std::path::PathBuf;

fn main() {
    divan::main();
}

fn demo_identities() -> (Identities, String) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/keys/demo.agekey");
    let text = std::fs::read_to_string(path).expect("the demo key");
    let mut ids = Identities::empty();
    ids.add_keys_text(&text, false, "demo key")
        .expect("a valid key");
    let recipient = avalanche_sops::keys::recipients_of_keys_text(&text)
        .expect("a key")
        .remove(0);
    (ids, recipient)
}

fn proton_secret() -> Value {
    let s = |v: &str| Value::Str(v.into());
    Value::Map(vec![
        ("apiVersion".into(), s("v1")),
        ("kind".into(), s("Secret")),
        (
            "metadata".into(),
            Value::Map(vec![("name".into(), s("protonvpn"))]),
        ),
        ("type".into(), s("Opaque")),
        (
            "stringData".into(),
            Value::Map(vec![
                (
                    "WIREGUARD_PRIVATE_KEY".into(),
                    s("REPLACE_ME_WITH_YOUR_PROTONVPN_WIREGUARD_PRIVATE_KEY"),
                ),
                ("WIREGUARD_ADDRESSES".into(), s("10.2.0.2/32")),
                ("SHADOWSOCKS_PASSWORD".into(), s("REPLACE_ME")),
            ]),
        ),
    ])
}

fn seal_text(plain: &Value, recipient: &str) -> String {
    let recipients = [recipient.to_string()];
    match ops::seal(&ops::Seal {
        plain,
        recipients: &recipients,
        rule: CryptRule::kubernetes(),
        mac_only_encrypted: false,
        format: Format::Yaml,
        existing: None,
    }) {
        Ok(Outcome::Changed(text)) => text,
        other => panic!("unexpected {other:?}"),
    }
}

/// Seal the bundled ProtonVPN Secret: new data key, age wrap, 4 values, MAC, YAML.
#[divan::bench]
fn seal_bundled_secret(bencher: divan::Bencher) {
    let (_, recipient) = demo_identities();
    let plain = proton_secret();
    bencher.bench(|| seal_text(divan::black_box(&plain), &recipient));
}

/// Verify 1,000 sealed files: read each from disk, unwrap its data key with
/// age, decrypt every value and check the MAC.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn verify_1000_files(bencher: divan::Bencher) {
    let (ids, recipient) = demo_identities();
    let dir: PathBuf =
        std::env::temp_dir().join(format!("avalanche-sops-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let plain = proton_secret();
    let files: Vec<PathBuf> = (0..1000)
        .map(|i| {
            let p = dir.join(format!("secret-{i}.sops.yaml"));
            std::fs::write(&p, seal_text(&plain, &recipient)).expect("writing a file");
            p
        })
        .collect();
    bencher.bench(|| {
        for p in &files {
            let text = std::fs::read_to_string(p).expect("reading a file");
            avalanche_sops::decrypt(&text, Format::Yaml, &ids).expect("verifies");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
