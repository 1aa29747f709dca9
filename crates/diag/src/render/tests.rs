//! Snapshot tests of the three renderers.
use super::*;
use crate::{Diagnostic, Rule, SourceMap};

/// A rule for these tests only (the renderers print whatever id they are given).
fn r(id: &'static str) -> &'static Rule {
    Box::leak(Box::new(Rule {
        id,
        severity: Severity::Error,
        summary: "a test rule",
        explanation: "",
        could_not_run: false,
    }))
}

const NETWORK: &str = r#"{
  avalanche.network = {
    tailscale.nodes = {
      routy = { role = "subnetrouter"; };
      calypso = { role = "workstation"; tags = [ "infra" ]; };
    };
    egress.clients.marmithon = {
      protocol = "socks5";
    };
  };
}
"#;

fn span_of(sources: &SourceMap, file: FileId, needle: &str) -> Span {
    let text = sources.text(file);
    let start = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    sources.span(file, start, start + needle.len())
}

/// A realistic set: two files, labels, notes, help, a warning, an unlocated one,
/// given out of order.
fn sample() -> (Vec<Diagnostic>, SourceMap) {
    let mut sources = SourceMap::default();
    let net = sources.add("nix/network.nix", NETWORK);
    let sops = sources.add(
        ".sops.yaml",
        "creation_rules:\n  - path_regex: secrets/vps/.*\n    age: age1abc\n",
    );
    let diagnostics = vec![
        Diagnostic::warning(r("sops-stale-rule"), "creation rule matches no file")
            .with_span(span_of(&sources, sops, "secrets/vps/.*"))
            .with_help("remove the rule"),
        Diagnostic::error(r("model-socks5"), "gluetun v3.41.3 has no SOCKS5 proxy")
            .with_primary_label(
                Some(span_of(&sources, net, "\"socks5\"")),
                "not served by gluetun v3.41.3",
            )
            .with_note("port 8388 is Shadowsocks, not SOCKS5")
            .with_help("write `protocol = \"http\";`"),
        Diagnostic::error(r("model-enum"), "unknown role `subnetrouter`")
            .with_primary_label(
                Some(span_of(&sources, net, "\"subnetrouter\"")),
                "expected one of: subnet-router, exit-node, workstation, server, device",
            )
            .with_label(span_of(&sources, net, "calypso"), "another node")
            .with_label(span_of(&sources, sops, "age1abc"), "its key is still here")
            .with_help("write `role = \"subnet-router\";`"),
        Diagnostic::error(r("flake-missing"), "no flake.nix")
            .with_note("every managed node needs a NixOS host"),
    ];
    (diagnostics, sources)
}

#[test]
fn human() {
    let (diagnostics, sources) = sample();
    let mut text = render_human(&diagnostics, &sources, RenderOptions::default());
    text.push_str(&summary(&diagnostics));
    insta::assert_snapshot!(text);
}

#[test]
fn human_color() {
    let (diagnostics, sources) = sample();
    let text = render_human(&diagnostics[..2], &sources, RenderOptions { color: true });
    insta::assert_snapshot!(text.replace('\x1b', "\\e"));
}

#[test]
fn json() {
    let (diagnostics, sources) = sample();
    let text = render_json(&diagnostics, &sources);
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(parsed.as_array().map(Vec::len), Some(4));
    insta::assert_snapshot!(text);
}

#[test]
fn sarif() {
    let (diagnostics, sources) = sample();
    let text = render_sarif(&diagnostics, &sources);
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(parsed["version"], "2.1.0");
    assert_eq!(parsed["runs"][0]["tool"]["driver"]["name"], "avalanche-net");
    insta::assert_snapshot!(text);
}

#[test]
fn render_dispatches_on_format() {
    let (diagnostics, sources) = sample();
    let options = RenderOptions::default();
    assert_eq!(
        render(Format::Json, &diagnostics, &sources, options),
        render_json(&diagnostics, &sources)
    );
    assert_eq!(
        render(Format::Sarif, &diagnostics, &sources, options),
        render_sarif(&diagnostics, &sources)
    );
    assert_eq!(
        render(Format::Human, &diagnostics, &sources, options),
        render_human(&diagnostics, &sources, options)
    );
}

#[test]
fn tabs_and_unicode() {
    let mut sources = SourceMap::default();
    let file = sources.add("tabs.nix", "{\n\tnom = \"café ☕ 東京\";\tbad = 1;\n}\n");
    let d = vec![
        Diagnostic::error(r("t-tab"), "after a tab").with_span(span_of(&sources, file, "nom")),
        Diagnostic::error(r("t-unicode"), "after wide characters")
            .with_primary_label(Some(span_of(&sources, file, "bad")), "carets line up"),
        Diagnostic::error(r("t-wide"), "a wide span").with_span(span_of(&sources, file, "東京")),
    ];
    let text = render_human(&d, &sources, RenderOptions::default());
    insta::assert_snapshot!(text);
    let json: serde_json::Value = serde_json::from_str(&render_json(&d, &sources)).expect("JSON");
    // Columns count characters: the tab is one column.
    assert_eq!(
        (json[0]["line"].as_u64(), json[0]["column"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        (json[1]["column"].as_u64(), json[1]["end_column"].as_u64()),
        (Some(16), Some(18))
    );
    assert_eq!(json[2]["column"].as_u64(), Some(21));
}

#[test]
fn eof_empty_file_and_multiline() {
    let mut sources = SourceMap::default();
    let empty = sources.add("empty.nix", "");
    let unterminated = sources.add("eof.nix", "{ a = 1;");
    let multi = sources.add("multi.nix", "{\n  a = {\n    b = 1;\n  };\n}\n");
    let start = sources.text(multi).find("{\n    b").unwrap_or(0);
    let end = sources.text(multi).find("};").unwrap_or(0) + 1;
    let d = vec![
        Diagnostic::error(r("t-empty"), "the file is empty").with_span(sources.span(empty, 0, 0)),
        Diagnostic::error(r("t-eof"), "unexpected end of file")
            .with_primary_label(Some(sources.span(unterminated, 8, 8)), "expected `}`"),
        Diagnostic::error(r("t-multi"), "a multi-line span")
            .with_primary_label(Some(sources.span(multi, start, end)), "this set")
            .with_label(sources.line_span(multi, 5), "closed here"),
    ];
    let text = render_human(&d, &sources, RenderOptions::default());
    insta::assert_snapshot!(text);
    let json: serde_json::Value = serde_json::from_str(&render_json(&d, &sources)).expect("JSON");
    assert_eq!(json[0]["line"].as_u64(), Some(1));
    assert_eq!(json[1]["column"].as_u64(), Some(9));
    assert_eq!(
        (json[2]["end_line"].as_u64(), json[2]["end_column"].as_u64()),
        (Some(4), Some(4))
    );
}

#[test]
fn order_is_file_then_position_then_unlocated() {
    let (diagnostics, sources) = sample();
    let json: serde_json::Value =
        serde_json::from_str(&render_json(&diagnostics, &sources)).expect("JSON");
    let rules: Vec<&str> = json
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["rule"].as_str())
        .collect();
    assert_eq!(
        rules,
        [
            "sops-stale-rule",
            "model-enum",
            "model-socks5",
            "flake-missing"
        ]
    );
}

#[test]
fn summaries() {
    let e = Diagnostic::error(r("a"), "a");
    let w = Diagnostic::warning(r("b"), "b");
    assert_eq!(summary(&[]), "no errors or warnings");
    assert_eq!(summary(std::slice::from_ref(&w)), "warning: 1 warning");
    assert_eq!(summary(std::slice::from_ref(&e)), "error: 1 error");
    assert_eq!(
        summary(&[e.clone(), e, w.clone(), w]),
        "error: 2 errors, 2 warnings"
    );
}

#[test]
fn paths_are_shown_relative_to_the_root() {
    let mut sources = SourceMap::default();
    sources.set_root("/home/op/avalanche");
    let inside = sources.add("/home/op/avalanche/nix/network.nix", "{ }\n");
    let outside = sources.add("/etc/other.nix", "{ }\n");
    let dotted = sources.add("./nix/x.nix", "{ }\n");
    assert_eq!(sources.display_path(inside), "nix/network.nix");
    assert_eq!(sources.display_path(outside), "/etc/other.nix");
    assert_eq!(sources.display_path(dotted), "nix/x.nix");
    let d = [Diagnostic::error(r("r"), "m").with_span(sources.span(inside, 0, 1))];
    assert!(
        render_human(&d, &sources, RenderOptions::default()).contains(" --> nix/network.nix:1:1\n")
    );
    assert!(render_json(&d, &sources).contains("\"file\": \"nix/network.nix\""));
    assert!(render_sarif(&d, &sources).contains("\"uri\": \"nix/network.nix\""));
}

#[test]
fn a_huge_line_is_not_echoed() {
    let mut sources = SourceMap::default();
    let text = format!("{{ a = \"{}\"; b = with x; 1; }}\n", "x".repeat(5000));
    let file = sources.add("big.nix", text.clone());
    let start = text.find("with").expect("with");
    let d = Diagnostic::error(r("nix-unsupported"), "`with` is outside the static subset")
        .with_span(sources.span(file, start, start + 4));
    let out = render_human(&[d], &sources, RenderOptions::default());
    assert!(out.contains("--> big.nix:1:"), "{out}");
    assert!(out.contains("not shown"), "{out}");
    assert!(out.len() < 500, "the huge line was echoed:\n{out}");
}

#[test]
fn an_age_secret_key_in_a_snippet_is_masked() {
    let mut sources = SourceMap::default();
    // Not a real key; spelled in two parts so secret scanners do not flag the test.
    let key = format!("{}-1QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", "AGE-SECRET-KEY");
    let text = format!("{{ ageRecipients = [ \"{key}\" ]; }}\n");
    let file = sources.add("nix/network.nix", text.clone());
    let start = text.find(&key).expect("key");
    let d = Diagnostic::error(r("model-age-recipient"), "a secret key, not a recipient")
        .with_span(sources.span(file, start, start + key.len()));
    let out = render_human(&[d], &sources, RenderOptions::default());
    assert!(!out.contains(&key), "{out}");
    assert!(out.contains("AGE-SECRET-KEY-****"), "{out}");
    // The carets still cover the whole (masked) key.
    assert!(out.contains(&"^".repeat(key.len())), "{out}");
}

/// Many findings of one rule in one file: three in full, the rest in one line
/// with their line numbers; the closing line counts every rule.
#[test]
fn grouped_report_caps_repeats_and_counts_rules() {
    let mut sources = SourceMap::default();
    let text: String = (1..=8).map(|i| format!("line {i} vps\n")).collect();
    let file = sources.add("a.nix", text.clone());
    let other = sources.add("b.md", "vps\n");
    let mut all: Vec<Diagnostic> = (0..8)
        .map(|i| {
            let start = i * "line 1 vps\n".len() + 7;
            Diagnostic::warning(r("mention"), format!("m{i}")).with_span(sources.span(
                file,
                start,
                start + 3,
            ))
        })
        .collect();
    all.push(
        Diagnostic::new(r("history"), Severity::Note, "n").with_span(sources.span(other, 0, 3)),
    );
    all.push(Diagnostic::error(r("bad"), "e").with_span(sources.span(file, 0, 4)));
    let out = render_grouped(&all, &sources, RenderOptions::default(), 3);
    let headers: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("error[") || l.starts_with("warning[") || l.starts_with("note["))
        .collect();
    assert_eq!(
        headers,
        [
            "error[bad]: e",
            "warning[mention]: m0",
            "warning[mention]: m1",
            "warning[mention]: m2",
            "warning[mention]: 5 more in a.nix (lines 4, 5, 6, 7, 8); `--format json` lists every finding",
            "note[history]: n",
        ]
    );
    assert_eq!(
        render_grouped(&all, &sources, RenderOptions::default(), 0)
            .matches("warning[mention]: m")
            .count(),
        8
    );
    assert_eq!(
        summary_by_rule(&all),
        "error: 1 error, 8 warnings, 1 note (bad 1, mention 8, history 1)"
    );
    assert_eq!(
        warnings_line(&all).as_deref(),
        Some(
            "warning: 8 warnings, 1 note (mention 8, history 1): `avalanche-net check` shows them"
        )
    );
    assert_eq!(warnings_line(&all[9..]), None);
}

#[test]
fn carets_count_a_wide_character_as_two_columns() {
    // `☕` (U+2615) is East Asian Wide: a terminal gives it two columns, so the
    // carets under `bad` start one column further than its character count.
    let mut sources = SourceMap::default();
    let file = sources.add("wide.nix", "{ a = \"☕\"; bad = 1; }\n");
    let d = vec![
        Diagnostic::error(r("t-wide"), "after a cup").with_span(span_of(&sources, file, "bad")),
    ];
    let text = render_human(&d, &sources, RenderOptions::default());
    let source = text
        .lines()
        .find(|l| l.contains("bad = 1"))
        .unwrap_or_else(|| panic!("{text}"));
    let carets = text
        .lines()
        .find(|l| l.trim_end().ends_with("^^^"))
        .unwrap_or_else(|| panic!("{text}"));
    let at = source.find("bad").unwrap_or_else(|| panic!("{text}"));
    // Columns of the source line up to `bad`: every character one, `☕` two.
    let columns = source[..at].chars().count() + 1;
    assert_eq!(carets.find('^'), Some(columns), "{text}");
}
