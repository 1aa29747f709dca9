//! The static reader never panics and never overflows its stack, whatever the input:
//! pathological nesting is a `nix-too-deep` diagnostic, arbitrary bytes give a value
//! or diagnostics.
use avalanche_diag::SourceMap;
use proptest::prelude::*;
use std::path::Path;

/// Reads `text`; diagnostics are rendered too, so every span must fit its source.
fn read(text: &str) -> Result<avalanche_nix::Value, Vec<avalanche_diag::Diagnostic>> {
    let mut sources = SourceMap::default();
    let out = avalanche_nix::read_source(Path::new("deep.nix"), text, &mut sources);
    if let Err(diagnostics) = &out {
        assert!(!diagnostics.is_empty(), "an error without diagnostics");
        let _ = avalanche_diag::render_human(diagnostics, &sources, Default::default());
    }
    out
}

fn rules(text: &str) -> Vec<String> {
    match read(text) {
        Ok(_) => Vec::new(),
        Err(d) => d.into_iter().map(|d| d.rule.id.to_owned()).collect(),
    }
}

const N: usize = 100_000;

#[track_caller]
fn assert_too_deep(text: &str) {
    let rules = rules(text);
    assert!(
        rules.iter().any(|r| r == "nix-too-deep"),
        "expected nix-too-deep, got {rules:?}"
    );
}

#[test]
fn deep_lists_are_refused() {
    assert_too_deep(&format!("{}{}", "[".repeat(N), "]".repeat(N)));
}

#[test]
fn deep_attrsets_are_refused() {
    assert_too_deep(&format!("{}1{}", "{a=".repeat(N), ";}".repeat(N)));
}

#[test]
fn deep_parens_are_refused() {
    assert_too_deep(&format!("{}1{}", "(".repeat(N), ")".repeat(N)));
}

#[test]
fn long_operator_chains_are_refused() {
    assert_too_deep(&format!("{}1", "- ".repeat(N)));
    assert_too_deep(&format!("{}true", "!".repeat(N)));
    assert_too_deep(&format!("[]{}", " ++ []".repeat(N)));
    assert_too_deep(&format!("{{}}{}", " // {}".repeat(N)));
    assert_too_deep(&format!("1{}", " + 1".repeat(N)));
    assert_too_deep(&format!("{{ a{} = 1; }}", ".a".repeat(N)));
    assert_too_deep(&format!("{}1", "let a = 1; in ".repeat(N)));
    assert_too_deep(&format!("{}\"x\"{}", "\"${".repeat(N), "}\"".repeat(N)));
}

#[test]
fn unclosed_deep_input_is_refused() {
    assert_too_deep(&"[".repeat(N));
    assert_too_deep(&"{a=".repeat(N));
}

#[test]
fn moderate_nesting_evaluates() {
    let depth = 200;
    let v =
        read(&format!("{}1{}", "[".repeat(depth), "]".repeat(depth))).expect("200 nested lists");
    assert_eq!(
        v.to_json_string(),
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    );
    let v = read(&format!("1{}", " + 1".repeat(400))).expect("a chain of 400 additions");
    assert_eq!(v.to_json_string(), "401");
}

#[test]
fn long_definition_chains_are_refused_or_evaluated_without_overflow() {
    // a0 = 0; a1 = a0 + 1; …: evaluation depth grows with the chain, not the syntax.
    for n in [1_000, 100_000] {
        let mut text = String::from("rec { a0 = 0; ");
        for i in 1..n {
            text.push_str(&format!("a{i} = a{} + 1; ", i - 1));
        }
        text.push_str(&format!("}}.a{}", n - 1));
        match read(&text) {
            Ok(v) => assert_eq!(v.to_json_string(), (n - 1).to_string()),
            Err(d) => assert_eq!(d[0].rule, "nix-too-deep", "{d:?}"),
        }
    }
}

#[test]
fn self_containing_values_are_errors() {
    assert_eq!(rules("let x = [ x ]; in x"), ["nix-infinite-recursion"]);
    assert_eq!(rules("rec { a = { b = a; }; }"), ["nix-infinite-recursion"]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = read(&text);
    }

    #[test]
    fn near_nix_text_never_panics(tokens in proptest::collection::vec(prop::sample::select(vec![
        "{", "}", "[", "]", "(", ")", "=", ";", "a", "b", ".", "\"", "''", "${", "rec", "let", "in",
        "inherit", "//", "++", "+", "-", "*", "/", "1", "2.5", "\"s\"", "''x''", "import", "./x.nix",
        "with", "if", "then", "else", ":", "?", "or", "!", "==", "\\", "$", "'", "\n", " ", "#c\n",
        "/*", "*/", "true", "null", "...", ",", "@",
    ]), 0..60)) {
        let text: String = tokens.concat();
        let _ = read(&text);
    }

    #[test]
    fn generated_attrsets_round_trip(entries in proptest::collection::btree_map("[a-z][a-z0-9_-]{0,8}", -1000i64..1000, 0..20)) {
        const KEYWORDS: &[&str] = &["if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"];
        prop_assume!(entries.keys().all(|k| !KEYWORDS.contains(&k.as_str())));
        let mut text = String::from("{ ");
        for (k, v) in &entries {
            text.push_str(&format!("{k} = {};", if *v < 0 { format!("({v})") } else { v.to_string() }));
        }
        text.push('}');
        let value = read(&text).map_err(|d| TestCaseError::fail(format!("{d:?}")))?;
        let json: serde_json::Value = serde_json::from_str(&value.to_json_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want: serde_json::Value = entries.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>().into();
        prop_assert_eq!(json, want);
    }
}

#[test]
fn huge_input_is_refused_with_nix_too_large() {
    let big = "a".repeat(2 << 20);
    assert_eq!(rules(&format!("{{ a = \"{big}\"; }}")), ["nix-too-large"]);
    assert_eq!(rules(&format!("{{ a = ''{big}''; }}")), ["nix-too-large"]);
    let half = "a".repeat(600 << 10);
    assert_eq!(
        rules(&format!("let h = \"{half}\"; in h + h")),
        ["nix-too-large"]
    );
    let list = "1 ".repeat(200_000);
    assert_eq!(rules(&format!("[ {list}]")), ["nix-too-large"]);
    let list = "1 ".repeat(60_000);
    assert_eq!(
        rules(&format!("let l = [ {list}]; in l ++ l")),
        ["nix-too-large"]
    );
    assert_eq!(
        rules(&format!("\"{}\"", "a".repeat(17 << 20))),
        ["nix-too-large"]
    );
}

/// Issue 20 item 23: Nix cuts a string at a NUL byte (it reads C strings); the
/// static reader refuses the byte, located, rather than keep what Nix drops.
#[test]
fn a_nul_byte_is_refused_at_its_place() {
    for text in [
        "{ a = \"x\0y\"; }",
        "{ a = ''x\0y''; }",
        "{ a = 1; }\0 garbage",
    ] {
        let mut sources = SourceMap::default();
        let errors = avalanche_nix::read_source(Path::new("n.nix"), text, &mut sources)
            .expect_err("a NUL byte");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].rule, "nix-nul-byte");
        let span = errors[0].span.expect("located");
        assert_eq!(span.start as usize, text.find('\0').expect("NUL"));
    }
}

/// A set that doubles at each of 60 levels: 8 KB of source, 2^60 values once
/// evaluated (`let a1 = { x = a0; y = a0; }; …`).
fn bomb(levels: usize) -> String {
    let mut text = String::from("let\n  a0 = { s = \"payload\"; };\n");
    for i in 1..=levels {
        text.push_str(&format!(
            "  a{i} = {{ x = a{}; y = a{}; }};\n",
            i - 1,
            i - 1
        ));
    }
    text
}

/// Issue 20 item 7: an evaluation bomb is a located `nix-too-large` error in
/// bounded time (the evaluation budget), naming the attribute being evaluated;
/// and a caller that will not read an attribute (an unknown one) does not pay
/// for evaluating it at all.
#[test]
fn an_evaluation_bomb_is_refused_or_never_evaluated() {
    let text = format!("{}in {{ known = 1; junk = a60; }}\n", bomb(60));
    let started = std::time::Instant::now();
    let mut sources = SourceMap::default();
    let errors = avalanche_nix::read_source(Path::new("n.nix"), &text, &mut sources)
        .expect_err("over the budget");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].rule, "nix-too-large");
    assert!(
        errors[0].message.contains("(while evaluating `junk."),
        "{}",
        errors[0].message
    );
    assert!(errors[0].span.is_some(), "not located");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    fn only_known(path: &[String]) -> bool {
        path.first().is_none_or(|p| p == "known")
    }
    let started = std::time::Instant::now();
    let mut sources = SourceMap::default();
    let value =
        avalanche_nix::read_source_keeping(Path::new("n.nix"), &text, &mut sources, only_known)
            .expect("the bomb is never evaluated");
    assert_eq!(value.to_json_string(), r#"{"junk":null,"known":1}"#);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
