//! Fuzzes the `flake.nix` scanner (`avalanche_nix::flake::scan_flake`): any bytes
//! must give a scan, never a panic, a stack overflow or a hang; every host name's
//! range and every error offset lies inside the text, on character boundaries.
//!
//! Seeds: `fuzz/seeds/flake_scan/` (the flakes of the test fixtures, shaped like
//! operators' repositories). Run with `scripts/fuzz-smoke flake_scan`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let scan = avalanche_nix::flake::scan_flake(&text);
    for host in &scan.hosts {
        assert!(host.start <= host.end && host.end <= text.len(), "{host:?}");
        assert!(text.get(host.start..host.end).is_some(), "{host:?}");
        assert!(!host.name.is_empty(), "{host:?}");
    }
    let mut names: Vec<&str> = scan.hosts.iter().map(|h| h.name.as_str()).collect();
    names.sort_unstable();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count, "each name once");
    for (offset, message) in &scan.errors {
        assert!(*offset <= text.len(), "{offset} {message}");
    }
});
