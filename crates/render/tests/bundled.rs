//! The whole generated tree for the bundled `nix/network.nix`, read with the static
//! reader and decoded: reviewed line by line in `tests/snapshots/`.
use avalanche_diag::SourceMap;
use avalanche_render::{Plan, plan_listing, render};
use std::path::Path;

fn bundled_plan() -> Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nix/network.nix");
    let mut sources = SourceMap::default();
    let value =
        avalanche_nix::read_file(&path, &mut sources).unwrap_or_else(|d| panic!("reading: {d:#?}"));
    let (network, diagnostics) = avalanche_model::decode(&value);
    let network = network.unwrap_or_else(|| panic!("decoding: {diagnostics:#?}"));
    render(&network).unwrap_or_else(|d| panic!("rendering: {d:#?}"))
}

#[test]
fn bundled_tree() {
    insta::assert_snapshot!(plan_listing(&bundled_plan()));
}

#[test]
fn bundled_yaml_parses_back_and_has_the_header() {
    let plan = bundled_plan();
    for (path, bytes) in plan.files() {
        if !path.ends_with(".yaml") {
            continue;
        }
        let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(text.starts_with(avalanche_render::HEADER), "{path}");
        let value: serde_json::Value =
            serde_norway::from_str(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            value.get("apiVersion").is_some() && value.get("kind").is_some(),
            "{path}"
        );
    }
    assert_eq!(plan.ledger_path(), "kubernetes/.avalanche-generated.json");
}

#[test]
fn bundled_is_deterministic() {
    assert_eq!(bundled_plan(), bundled_plan());
}
