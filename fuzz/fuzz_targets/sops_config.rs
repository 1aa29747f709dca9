//! Fuzzes `.sops.yaml` parsing: any bytes must give a config or an error (with
//! its line), never a panic, a stack overflow or a hang. Every span the reader
//! reports lies inside the text, on character boundaries, and an anchor's span
//! reads `&name`. Rules found are then matched against a few paths, as
//! `secrets seal` and `check` use them.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run sops_config fuzz/corpus/sops_config fuzz/seeds/sops_config`
//! (or `cargo +nightly fuzz run …`); `scripts/fuzz-smoke` runs it briefly.
#![no_main]

use avalanche_sops::config::SopsConfig;
use std::ops::Range;
use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 5] = [
    "secrets/routy/tailscale.yaml",
    "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml",
    "a.json",
    "",
    "dir/../x.yaml",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let inside = |span: &Range<usize>| {
        assert!(span.start <= span.end, "{span:?}");
        assert!(text.get(span.clone()).is_some(), "{span:?} in {} bytes", text.len());
    };
    match SopsConfig::parse(&text) {
        Ok(config) => {
            for anchor in &config.anchors {
                inside(&anchor.span);
                assert_eq!(&text[anchor.span.clone()], format!("&{}", anchor.name));
            }
            config.literal_keys.iter().for_each(|k| inside(&k.span));
            for rule in &config.rules {
                inside(&rule.item);
                rule.path_regex.iter().for_each(|r| inside(&r.span));
                rule.age.iter().for_each(|r| inside(&r.span));
                rule.key_groups_key.iter().for_each(inside);
                let _ = rule.recipients();
                let _ = rule.ensure_supported().map_err(|e| e.to_string());
                let _ = rule.crypt_rule();
            }
            for path in PATHS {
                if let Some(rule) = config.rule_for(path) {
                    assert!(
                        rule.matches(path),
                        "rule_for returned a rule that does not match {path:?}"
                    );
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
