//! Spans: every value remembers the expression that produced it, every attribute
//! the last segment of the attr path that named it; files are added to the
//! `SourceMap` under the path given, imports under their path relative to it.
use avalanche_diag::SourceMap;
use avalanche_nix::{Value, ValueKind};
use std::path::Path;

fn text_of(sources: &SourceMap, span: Option<avalanche_diag::Span>) -> &str {
    let span = span.expect("a span");
    &sources.text(span.file)[span.start as usize..span.end as usize]
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a avalanche_nix::Attr {
    let mut attrs = v.as_attrs().expect("a set");
    let (last, init) = path.split_last().expect("a path");
    for key in init {
        attrs = attrs
            .get(*key)
            .expect("present")
            .value
            .as_attrs()
            .expect("a set");
    }
    attrs.get(*last).expect("present")
}

#[test]
fn values_and_names_are_located() {
    let text = "{\n  a.b.c = 42;\n  list = [ \"x\" 1.5 ];\n  s = \"hi ${\"there\"}\";\n  inherit (x) y;\n}\n";
    let text = text.replace("inherit (x) y;", "");
    let mut sources = SourceMap::default();
    let v = avalanche_nix::read_source(Path::new("nix/network.nix"), &text, &mut sources)
        .expect("reads");
    let c = get(&v, &["a", "b", "c"]);
    assert_eq!(text_of(&sources, c.name_span), "c");
    assert_eq!(text_of(&sources, c.value.span), "42");
    assert_eq!(sources.line_col(c.value.span.expect("span")), (2, 11));
    let b = get(&v, &["a", "b"]);
    assert_eq!(text_of(&sources, b.name_span), "b");
    let list = get(&v, &["list"]);
    let ValueKind::List(items) = &list.value.kind else {
        panic!("a list")
    };
    assert_eq!(text_of(&sources, items[0].span), "\"x\"");
    assert_eq!(text_of(&sources, items[1].span), "1.5");
    assert_eq!(
        text_of(&sources, get(&v, &["s"]).value.span),
        "\"hi ${\"there\"}\""
    );
    assert_eq!(
        sources.path(c.value.span.expect("span").file),
        Path::new("nix/network.nix")
    );
}

#[test]
fn values_from_variables_point_at_their_definition() {
    let text = "let port = 8080; in { inherit port; p = port; }";
    let mut sources = SourceMap::default();
    let v = avalanche_nix::read_source(Path::new("n.nix"), text, &mut sources).expect("reads");
    let port = get(&v, &["port"]);
    assert_eq!(text_of(&sources, port.name_span), "port");
    assert_eq!(text_of(&sources, port.value.span), "8080");
    assert_eq!(text_of(&sources, get(&v, &["p"]).value.span), "8080");
}

#[test]
fn imported_files_are_added_under_their_relative_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("nix/hosts")).expect("mkdir");
    std::fs::write(
        dir.path().join("nix/hosts/a.nix"),
        "{ role = \"server\"; }\n",
    )
    .expect("write");
    let main = dir.path().join("nix/network.nix");
    let mut sources = SourceMap::default();
    let v = avalanche_nix::read_source(&main, "{ a = import ./hosts/a.nix; }", &mut sources)
        .expect("reads");
    let role = get(&v, &["a", "role"]);
    assert_eq!(
        sources.path(role.value.span.expect("span").file),
        dir.path().join("nix/hosts/a.nix")
    );
    assert_eq!(text_of(&sources, role.value.span), "\"server\"");
}
