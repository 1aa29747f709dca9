//! A static scan of `flake.nix` for the NixOS hosts it defines.
//!
//! [`scan_flake`] finds the names under `nixosConfigurations` without evaluating
//! anything: attrsets (`nixosConfigurations = { a = …; }`), attr paths
//! (`nixosConfigurations.a = …`), `inherit`, `//` merges and names bound by `let`
//! (or a `rec` attrset) in scope (`let hosts = { … }; in { nixosConfigurations = hosts; }`,
//! followed a few levels). Anything computed (`genAttrs`, `mapAttrs`, imports) makes
//! the scan [`FlakeScan::dynamic`]: the names found are then a lower bound.
use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode};

/// The attribute of flake outputs that holds NixOS systems.
const NIXOS_CONFIGURATIONS: &str = "nixosConfigurations";

/// How many let-bound names are followed in a chain (`a = b; b = { … };`).
const MAX_INDIRECTION: usize = 4;

/// One `nixosConfigurations.<name>`, with the byte range of its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlakeHost {
    /// The host name.
    pub name: String,
    /// Byte offset of the name's first byte in the flake's text.
    pub start: usize,
    /// Byte offset one past the name's last byte.
    pub end: usize,
}

/// What [`scan_flake`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlakeScan {
    /// The hosts, in source order, each name once (its first definition).
    pub hosts: Vec<FlakeHost>,
    /// True when some part of `nixosConfigurations` is computed, so hosts may be missing.
    pub dynamic: bool,
    /// Syntax errors, as `(byte offset, message)`; the scan still reports what it found.
    pub errors: Vec<(usize, String)>,
}

/// Scans the text of a `flake.nix` for its NixOS hosts.
///
/// ```
/// let scan = avalanche_nix::flake::scan_flake(
///     "{ outputs = { self }: let hosts = { routy = 1; }; in { nixosConfigurations = hosts // { calypso = 2; }; }; }",
/// );
/// let names: Vec<_> = scan.hosts.iter().map(|h| h.name.as_str()).collect();
/// assert_eq!(names, ["routy", "calypso"]);
/// ```
pub fn scan_flake(text: &str) -> FlakeScan {
    let parse = rnix::Root::parse(text);
    let mut scan = FlakeScan {
        errors: parse
            .errors()
            .iter()
            .map(|e| (error_offset(e), e.to_string()))
            .collect(),
        ..FlakeScan::default()
    };
    let root = parse.syntax();
    for node in root.descendants() {
        if let Some(apv) = cast::<ast::AttrpathValue>(node.clone()) {
            scan_binding(&apv, &mut scan);
        } else if let Some(inherit) = cast::<ast::Inherit>(node) {
            scan_inherit(&inherit, &mut scan);
        }
    }
    scan.hosts.sort_by_key(|h| h.start);
    let mut seen = std::collections::HashSet::new();
    scan.hosts.retain(|h| seen.insert(h.name.clone()));
    scan
}

/// `rnix` implements `rowan` 0.17's `AstNode`; going through its own subtrait keeps
/// this crate independent of the `rowan` version the workspace pins.
fn syntax<N: ast::AstNode>(node: &N) -> &SyntaxNode {
    node.syntax()
}

fn cast<N: ast::AstNode>(node: SyntaxNode) -> Option<N> {
    N::cast(node)
}

fn error_offset(error: &rnix::ParseError) -> usize {
    use rnix::ParseError as E;
    match error {
        E::Unexpected(r)
        | E::UnexpectedExtra(r)
        | E::UnexpectedWanted(_, r, _)
        | E::UnexpectedDoubleBind(r)
        | E::DuplicatedArgs(r, _) => usize::from(r.start()),
        _ => 0,
    }
}

/// `… nixosConfigurations … = value;`
fn scan_binding(apv: &ast::AttrpathValue, scan: &mut FlakeScan) {
    let Some(path) = apv.attrpath() else { return };
    let attrs: Vec<ast::Attr> = path.attrs().collect();
    let Some(pos) = attrs
        .iter()
        .position(|a| attr_name(a).as_deref() == Some(NIXOS_CONFIGURATIONS))
    else {
        return;
    };
    // `nixosConfigurations` inside a `let` is a binding, not an output: its value is
    // reached through the name that uses it.
    if pos == 0 && is_let_binding(apv) {
        return;
    }
    match attrs.get(pos + 1) {
        Some(host) => push_attr(host, scan),
        None => {
            if let Some(value) = apv.value() {
                resolve(&value, 0, scan);
            }
        }
    }
}

/// `inherit nixosConfigurations;` or `inherit (x) nixosConfigurations;`
fn scan_inherit(inherit: &ast::Inherit, scan: &mut FlakeScan) {
    for attr in inherit.attrs() {
        if attr_name(&attr).as_deref() != Some(NIXOS_CONFIGURATIONS) {
            continue;
        }
        if is_let_binding_node(syntax(inherit)) {
            continue;
        }
        if inherit.from().is_some() {
            scan.dynamic = true;
        } else {
            resolve_name(NIXOS_CONFIGURATIONS, syntax(&attr), 0, scan);
        }
    }
}

fn is_let_binding(apv: &ast::AttrpathValue) -> bool {
    is_let_binding_node(syntax(apv))
}

fn is_let_binding_node(node: &SyntaxNode) -> bool {
    node.parent().is_some_and(|p| {
        p.kind() == SyntaxKind::NODE_LET_IN || p.kind() == SyntaxKind::NODE_LEGACY_LET
    })
}

/// The hosts an expression evaluates to, as far as a static look can tell.
fn resolve(expr: &ast::Expr, depth: usize, scan: &mut FlakeScan) {
    match expr {
        ast::Expr::AttrSet(set) => {
            for entry in set.entries() {
                match entry {
                    ast::Entry::AttrpathValue(apv) => {
                        if let Some(first) = apv.attrpath().and_then(|p| p.attrs().next()) {
                            push_attr(&first, scan);
                        }
                    }
                    ast::Entry::Inherit(inherit) => {
                        for attr in inherit.attrs() {
                            push_attr(&attr, scan);
                        }
                    }
                }
            }
        }
        ast::Expr::Paren(p) => {
            if let Some(inner) = p.expr() {
                resolve(&inner, depth, scan);
            }
        }
        ast::Expr::LetIn(l) => {
            if let Some(body) = l.body() {
                resolve(&body, depth, scan);
            }
        }
        ast::Expr::BinOp(op) if op.operator() == Some(ast::BinOpKind::Update) => {
            for side in [op.lhs(), op.rhs()].into_iter().flatten() {
                resolve(&side, depth, scan);
            }
        }
        ast::Expr::Ident(ident) => match ident.ident_token() {
            Some(token) if depth < MAX_INDIRECTION => {
                resolve_name(token.text(), syntax(ident), depth + 1, scan);
            }
            _ => scan.dynamic = true,
        },
        _ => scan.dynamic = true,
    }
}

/// Resolves `name` as seen from `at`: the nearest enclosing `let` or `rec` attrset
/// binding it (`name = …;`, or `name.<host> = …;` bindings).
fn resolve_name(name: &str, at: &SyntaxNode, depth: usize, scan: &mut FlakeScan) {
    for scope in at.ancestors() {
        let entries: Vec<ast::AttrpathValue> = if let Some(l) = cast::<ast::LetIn>(scope.clone()) {
            l.attrpath_values().collect()
        } else if let Some(set) =
            cast::<ast::AttrSet>(scope.clone()).filter(|s| s.rec_token().is_some())
        {
            set.attrpath_values().collect()
        } else {
            continue;
        };
        let mut found = false;
        for apv in entries {
            let Some(path) = apv.attrpath() else { continue };
            let attrs: Vec<ast::Attr> = path.attrs().collect();
            if attrs.first().and_then(attr_name).as_deref() != Some(name) {
                continue;
            }
            found = true;
            match attrs.get(1) {
                Some(host) => push_attr(host, scan),
                None => {
                    if let Some(value) = apv.value() {
                        resolve(&value, depth, scan);
                    }
                }
            }
        }
        if found {
            return;
        }
    }
    // A function argument or a free variable: computed elsewhere.
    scan.dynamic = true;
}

fn push_attr(attr: &ast::Attr, scan: &mut FlakeScan) {
    let Some(name) = attr_name(attr) else {
        scan.dynamic = true;
        return;
    };
    let range = syntax(attr).text_range();
    let (mut start, mut end) = (usize::from(range.start()), usize::from(range.end()));
    if matches!(attr, ast::Attr::Str(_)) && end >= start + 2 {
        start += 1;
        end -= 1;
    }
    scan.hosts.push(FlakeHost { name, start, end });
}

/// The name of a static attribute (`a`, `"a"`, `${"a"}`); `None` when computed.
fn attr_name(attr: &ast::Attr) -> Option<String> {
    match attr {
        ast::Attr::Ident(i) => i.ident_token().map(|t| t.text().to_owned()),
        ast::Attr::Str(s) => static_string(s),
        ast::Attr::Dynamic(d) => match d.expr()? {
            ast::Expr::Str(s) => static_string(&s),
            _ => None,
        },
    }
}

fn static_string(s: &ast::Str) -> Option<String> {
    let mut out = String::new();
    for part in s.normalized_parts() {
        match part {
            ast::InterpolPart::Literal(text) => out.push_str(&text),
            ast::InterpolPart::Interpolation(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        scan_flake(text).hosts.into_iter().map(|h| h.name).collect()
    }

    #[test]
    fn attrset_in_outputs_function() {
        let text = "{\n  outputs = { self, nixpkgs }: {\n    nixosConfigurations = {\n      routy = nixpkgs.lib.nixosSystem { };\n      \"calypso\" = x;\n    };\n  };\n}\n";
        let scan = scan_flake(text);
        assert_eq!(names(text), ["routy", "calypso"]);
        assert!(!scan.dynamic);
        let calypso = &scan.hosts[1];
        assert_eq!(&text[calypso.start..calypso.end], "calypso");
    }

    #[test]
    fn attr_paths() {
        let text = "{ outputs = _: { nixosConfigurations.vps = 1; nixosConfigurations.routy.extra = 2; }; }";
        assert_eq!(names(text), ["vps", "routy"]);
    }

    #[test]
    fn let_bound_names_and_updates() {
        let text = "{ outputs = inputs: let\n  base = { a = 1; };\n  hosts = base // { b = 2; };\nin { nixosConfigurations = hosts; }; }";
        assert_eq!(names(text), ["a", "b"]);
    }

    #[test]
    fn let_bound_attr_paths_and_inherit() {
        let text = "{ outputs = inputs: let nixosConfigurations.one = 1; nixosConfigurations.two = 2; in { inherit nixosConfigurations; }; }";
        assert_eq!(names(text), ["one", "two"]);
    }

    #[test]
    fn computed_is_dynamic() {
        let scan = scan_flake(
            "{ outputs = i: { nixosConfigurations = i.nixpkgs.lib.genAttrs [ \"a\" ] (n: n); }; }",
        );
        assert!(scan.hosts.is_empty());
        assert!(scan.dynamic);
    }

    #[test]
    fn syntax_errors_are_reported_and_scan_goes_on() {
        let scan = scan_flake("{ outputs = _: { nixosConfigurations.a = 1; }; broken = ; }");
        assert_eq!(scan.hosts.len(), 1);
        assert!(!scan.errors.is_empty());
    }
}
