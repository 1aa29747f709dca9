//! A static scan of `flake.nix` for the NixOS hosts it defines.
//!
//! [`scan_flake`] finds the names under `nixosConfigurations` without evaluating
//! anything, in the shapes flakes are written in: attrsets (`nixosConfigurations =
//! { a = mkNixosConfig { … }; }`), attr paths (`nixosConfigurations.a = …`, flake-parts'
//! `flake.nixosConfigurations`), `inherit`, `//` merges, `with …;`, names bound by
//! `let` (or a `rec` attrset) in scope, helper calls whose first argument is the
//! name (`mkHost "a" { … }`), `genAttrs` over a literal list, `listToAttrs` over a
//! literal list of such calls, and `mapAttrs f (builtins.readDir ./hosts)` (then the
//! directory's listing is the answer: [`FlakeScan::host_dirs`]). Anything else
//! computed (imports, `mapAttrs` over an attrset in another file, a flake-parts flake
//! that never writes `nixosConfigurations` here) makes the host list unknown
//! ([`FlakeScan::complete`] is false, [`FlakeScan::unknown_at`] says where): the names
//! found are then a lower bound, never "the flake has no hosts".
//!
//! The text goes through the same depth guard as the declarations before rnix
//! parses it: a pathological flake is an error, not a stack overflow.
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
    /// True when only real Nix listed it ([`FlakeScan::adopt_nix_listing`]): the
    /// range is then where the static scan gave up, not the name's definition.
    pub listed_by_nix: bool,
    /// The byte range of the expression that is this host alone (`mkHost "a" { … }`,
    /// the value of `a = …;`), when there is one: what is written there is the
    /// host's own, what is outside it (a helper, a shared module list) may be every
    /// host's. `None` when the host shares its expression (`genAttrs [ … ] mkHost`),
    /// is inherited, or was listed by real Nix.
    pub definition: Option<(usize, usize)>,
}

/// What real Nix said about the hosts when the static scan could not list them
/// (the caller runs it: [`crate::flake_eval::flake_host_names`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NixListing {
    /// `nix eval` listed the hosts: these names are the host list.
    Listed(Vec<String>),
    /// Real Nix was not run, or could not list them: why, in one line.
    Unavailable(String),
}

/// A directory whose listing is the flake's host list (`builtins.readDir ./hosts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDirListing {
    /// The directory, relative to the flake's directory, `/`-separated, without `./`.
    pub dir: String,
    /// Byte range of the path in the flake's text.
    pub start: usize,
    /// One past the path's last byte.
    pub end: usize,
}

/// What [`scan_flake`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlakeScan {
    /// The hosts, in source order, each name once (its first definition).
    pub hosts: Vec<FlakeHost>,
    /// Directories whose subdirectories are hosts too (`readDir` over them).
    pub host_dirs: Vec<HostDirListing>,
    /// True when some part of `nixosConfigurations` is computed, so hosts may be missing.
    pub dynamic: bool,
    /// Where the scan first met something it could not follow (byte range), when
    /// [`FlakeScan::dynamic`].
    pub dynamic_at: Option<(usize, usize)>,
    /// True when the text names `nixosConfigurations` somewhere (else a flake-parts
    /// or import-tree flake may define it in another file: unknown, not empty).
    pub mentions_configurations: bool,
    /// True when the flake nests too deeply to be parsed (then nothing was scanned).
    pub too_deep: bool,
    /// Syntax errors, as `(byte offset, message)`; the scan still reports what it found.
    pub errors: Vec<(usize, String)>,
    /// What real Nix said, when it was asked because the scan was not enough.
    pub nix: Option<NixListing>,
    /// The byte range of the first `outputs` attribute name (where a flake that
    /// never names `nixosConfigurations` is reported).
    pub outputs_at: Option<(usize, usize)>,
}

impl FlakeScan {
    /// True when [`FlakeScan::hosts`] and [`FlakeScan::host_dirs`] are all the hosts
    /// (found by the static scan, or listed by real Nix).
    pub fn complete(&self) -> bool {
        self.listed_by_nix() || self.statically_complete()
    }

    /// True when the static scan alone found every host.
    pub fn statically_complete(&self) -> bool {
        self.mentions_configurations && !self.dynamic && !self.too_deep
    }

    /// True when the hosts are the ones real Nix listed.
    pub fn listed_by_nix(&self) -> bool {
        matches!(self.nix, Some(NixListing::Listed(_)))
    }

    /// Why real Nix could not list the hosts, when it was asked and could not.
    pub fn nix_unavailable(&self) -> Option<&str> {
        match &self.nix {
            Some(NixListing::Unavailable(why)) => Some(why),
            _ => None,
        }
    }

    /// Takes the host list real Nix gave (`names`, from `nix eval`) when the static
    /// scan could not see it, or why it could not (`Err`). The names the scan found
    /// keep their ranges; the others point where the scan gave up. A scan that was
    /// complete is left as it is.
    pub fn adopt_nix_listing(&mut self, listing: Result<Vec<String>, String>) {
        if self.statically_complete() {
            return;
        }
        let names = match listing {
            Ok(names) => names,
            Err(why) => {
                self.nix = Some(NixListing::Unavailable(why));
                return;
            }
        };
        let (start, end) = self.static_unknown_at().map_or((0, 0), |(_, at)| at);
        let mut hosts = Vec::with_capacity(names.len());
        for name in &names {
            match self.hosts.iter().find(|h| &h.name == name) {
                Some(found) => hosts.push(found.clone()),
                None => hosts.push(FlakeHost {
                    name: name.clone(),
                    start,
                    end,
                    listed_by_nix: true,
                    definition: None,
                }),
            }
        }
        self.hosts = hosts;
        self.nix = Some(NixListing::Listed(names));
    }

    /// Why the host list is unknown, and where (byte range), when it is.
    pub fn unknown_at(&self) -> Option<(String, (usize, usize))> {
        if self.listed_by_nix() {
            return None;
        }
        self.static_unknown_at()
    }

    /// Why the static scan could not list the hosts, and where, when it could not
    /// (whether real Nix listed them afterwards or not).
    pub fn static_unknown_at(&self) -> Option<(String, (usize, usize))> {
        if self.too_deep {
            let at = self.errors.first().map_or(0, |e| e.0);
            Some(("the flake nests too deeply to be read".into(), (at, at)))
        } else if self.dynamic {
            Some((
                "`nixosConfigurations` is computed in a way the static scan cannot follow".into(),
                self.dynamic_at.unwrap_or((0, 0)),
            ))
        } else if !self.mentions_configurations {
            Some((
                "`flake.nix` never names `nixosConfigurations` (flake-parts or import-tree may define it in another file)".into(),
                self.outputs_at.unwrap_or((0, 0)),
            ))
        } else {
            None
        }
    }

    fn give_up(&mut self, node: &SyntaxNode) {
        if !self.dynamic {
            let range = node.text_range();
            self.dynamic_at = Some((usize::from(range.start()), usize::from(range.end())));
        }
        self.dynamic = true;
    }
}

/// Scans the text of a `flake.nix` for its NixOS hosts.
///
/// ```
/// let scan = avalanche_nix::flake::scan_flake(
///     "{ outputs = { self }: let hosts = { routy = 1; }; in { nixosConfigurations = hosts // { calypso = 2; }; }; }",
/// );
/// let names: Vec<_> = scan.hosts.iter().map(|h| h.name.as_str()).collect();
/// assert_eq!(names, ["routy", "calypso"]);
/// assert!(scan.complete());
/// ```
pub fn scan_flake(text: &str) -> FlakeScan {
    if let Some(at) = crate::scan::too_deep(text) {
        return FlakeScan {
            too_deep: true,
            errors: vec![(
                at,
                format!(
                    "the expression nests more than {} levels deep here",
                    crate::scan::MAX_DEPTH
                ),
            )],
            ..FlakeScan::default()
        };
    }
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
    // `"" = …` is a valid attribute but names no host (found by the fuzzer).
    scan.hosts
        .retain(|h| !h.name.is_empty() && seen.insert(h.name.clone()));
    scan.host_dirs.sort_by_key(|d| d.start);
    scan.host_dirs.dedup_by(|a, b| a.dir == b.dir);
    scan
}

/// `rnix` implements `rowan` 0.17's `AstNode`; going through its own subtrait keeps
/// this crate independent of the `rowan` version the workspace pins.
pub(crate) fn syntax<N: ast::AstNode>(node: &N) -> &SyntaxNode {
    node.syntax()
}

pub(crate) fn cast<N: ast::AstNode>(node: SyntaxNode) -> Option<N> {
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
    if scan.outputs_at.is_none()
        && let [only] = attrs.as_slice()
        && attr_name(only).as_deref() == Some("outputs")
    {
        let range = syntax(only).text_range();
        scan.outputs_at = Some((usize::from(range.start()), usize::from(range.end())));
    }
    let Some(pos) = attrs
        .iter()
        .position(|a| attr_name(a).as_deref() == Some(NIXOS_CONFIGURATIONS))
    else {
        return;
    };
    scan.mentions_configurations = true;
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
        scan.mentions_configurations = true;
        // `inherit (self) nixosConfigurations;` reads the flake's own output (to pass
        // it to a check): a use, not a definition.
        let from_self = inherit
            .from()
            .and_then(|f| f.expr())
            .is_some_and(|e| syntax(&e).text() == "self");
        if from_self || is_let_binding_node(syntax(inherit)) {
            continue;
        }
        if inherit.from().is_some() {
            scan.give_up(syntax(inherit));
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
        // `with self.lib; …`: the names the body binds are still literal.
        ast::Expr::With(w) => {
            if let Some(body) = w.body() {
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
            _ => scan.give_up(syntax(ident)),
        },
        ast::Expr::Apply(_) => resolve_apply(expr, depth, scan),
        _ => scan.give_up(syntax(expr)),
    }
}

/// A function application: `f a b` as the head `f` and the arguments `[a, b]`.
pub(crate) fn spine(expr: &ast::Expr) -> (ast::Expr, Vec<ast::Expr>) {
    let mut args = Vec::new();
    let mut head = expr.clone();
    while let ast::Expr::Apply(apply) = &head {
        let (Some(f), Some(arg)) = (apply.lambda(), apply.argument()) else {
            break;
        };
        args.push(arg);
        head = f;
    }
    args.reverse();
    (head, args)
}

/// The last name of a function: `genAttrs` for `nixpkgs.lib.genAttrs`.
pub(crate) fn function_name(head: &ast::Expr) -> Option<String> {
    match head {
        ast::Expr::Ident(i) => i.ident_token().map(|t| t.text().to_owned()),
        ast::Expr::Select(s) => s.attrpath()?.attrs().last().as_ref().and_then(attr_name),
        ast::Expr::Paren(p) => function_name(&p.expr()?),
        _ => None,
    }
}

pub(crate) fn unparen(expr: ast::Expr) -> ast::Expr {
    match &expr {
        ast::Expr::Paren(p) => p.expr().map_or(expr, unparen),
        _ => expr,
    }
}

/// `genAttrs [ … ] f`, `mapAttrs f set`, `listToAttrs [ … ]`, `mkHost "name" { … }`.
fn resolve_apply(expr: &ast::Expr, depth: usize, scan: &mut FlakeScan) {
    let (head, args) = spine(expr);
    let name = function_name(&head);
    match (name.as_deref(), args.as_slice()) {
        (Some("genAttrs"), [list, ..]) => {
            if !push_string_list(list, depth, scan) {
                scan.give_up(syntax(list));
            }
        }
        // The names are the set's names (the function only changes values).
        (Some("mapAttrs"), [_, set]) => resolve(set, depth, scan),
        // Filtering a directory listing (`type == "directory"`) keeps it a listing;
        // filtering literal names could drop some, so only the listing is accepted.
        (Some("filterAttrs"), [_, set]) => {
            let mut inner = FlakeScan::default();
            resolve(set, depth, &mut inner);
            if inner.hosts.is_empty() && !inner.dynamic && !inner.host_dirs.is_empty() {
                scan.host_dirs.extend(inner.host_dirs);
            } else {
                scan.give_up(syntax(expr));
            }
        }
        (Some("readDir"), [path]) => match unparen(path.clone()) {
            ast::Expr::PathRel(p) => {
                let written = syntax(&p).text().to_string();
                let dir = written
                    .trim_start_matches("./")
                    .trim_end_matches('/')
                    .to_owned();
                let range = syntax(&p).text_range();
                if written.starts_with("./") && !dir.contains("..") && !dir.is_empty() {
                    scan.host_dirs.push(HostDirListing {
                        dir,
                        start: usize::from(range.start()),
                        end: usize::from(range.end()),
                    });
                } else {
                    scan.give_up(syntax(&p));
                }
            }
            other => scan.give_up(syntax(&other)),
        },
        (Some("listToAttrs" | "mergeAttrsList"), [list]) => {
            resolve_list_of_hosts(list, depth, scan);
        }
        // A helper named for what it makes: `mkHost "name" { … }`.
        (_, [first, ..]) if string_literal(first).is_some() => {
            if let Some((value, start, end)) = string_literal(first) {
                scan.hosts.push(FlakeHost {
                    name: value,
                    start,
                    end,
                    listed_by_nix: false,
                    definition: Some(range_of(syntax(expr))),
                });
            }
        }
        _ => scan.give_up(syntax(expr)),
    }
}

/// `[ (mkHost "a" { … }) { name = "b"; value = …; } (nameValuePair "c" …) ]`, or
/// `map f [ "a" "b" ]`.
fn resolve_list_of_hosts(list: &ast::Expr, depth: usize, scan: &mut FlakeScan) {
    match unparen(list.clone()) {
        ast::Expr::List(items) => {
            for item in items.items() {
                match unparen(item) {
                    ast::Expr::AttrSet(set) => {
                        let name = set.attrpath_values().find_map(|apv| {
                            let attrs: Vec<ast::Attr> = apv.attrpath()?.attrs().collect();
                            if attrs.len() == 1 && attr_name(&attrs[0]).as_deref() == Some("name") {
                                string_literal(&apv.value()?)
                            } else {
                                None
                            }
                        });
                        match name {
                            Some((name, start, end)) => {
                                scan.hosts.push(FlakeHost {
                                    name,
                                    start,
                                    end,
                                    listed_by_nix: false,
                                    definition: Some(range_of(syntax(&set))),
                                });
                            }
                            None => scan.give_up(syntax(&set)),
                        }
                    }
                    apply @ ast::Expr::Apply(_) => {
                        let (_, args) = spine(&apply);
                        match args.first().and_then(string_literal) {
                            Some((name, start, end)) => {
                                scan.hosts.push(FlakeHost {
                                    name,
                                    start,
                                    end,
                                    listed_by_nix: false,
                                    definition: Some(range_of(syntax(&apply))),
                                });
                            }
                            None => scan.give_up(syntax(&apply)),
                        }
                    }
                    other => scan.give_up(syntax(&other)),
                }
            }
        }
        apply @ ast::Expr::Apply(_) => {
            let (head, args) = spine(&apply);
            match (function_name(&head).as_deref(), args.as_slice()) {
                (Some("map"), [_, names]) if push_string_list(names, depth, scan) => {}
                _ => scan.give_up(syntax(&apply)),
            }
        }
        ast::Expr::Ident(ident) if depth < MAX_INDIRECTION => {
            let mut found = None;
            if let Some(token) = ident.ident_token() {
                found = let_value(token.text(), syntax(&ident));
            }
            match found {
                Some(value) => resolve_list_of_hosts(&value, depth + 1, scan),
                None => scan.give_up(syntax(&ident)),
            }
        }
        other => scan.give_up(syntax(&other)),
    }
}

/// Pushes the strings of a literal list (or a let-bound one) as hosts; false when
/// it is not one.
fn push_string_list(list: &ast::Expr, depth: usize, scan: &mut FlakeScan) -> bool {
    match unparen(list.clone()) {
        ast::Expr::List(items) => {
            let mut names = Vec::new();
            for item in items.items() {
                match string_literal(&item) {
                    Some(s) => names.push(s),
                    None => return false,
                }
            }
            for (name, start, end) in names {
                // One expression makes every host of the list: none is a host's own.
                scan.hosts.push(FlakeHost {
                    name,
                    start,
                    end,
                    listed_by_nix: false,
                    definition: None,
                });
            }
            true
        }
        ast::Expr::Ident(ident) if depth < MAX_INDIRECTION => ident
            .ident_token()
            .and_then(|t| let_value(t.text(), syntax(&ident)))
            .is_some_and(|value| push_string_list(&value, depth + 1, scan)),
        _ => false,
    }
}

/// A string literal without interpolation, with the range of its contents.
pub(crate) fn string_literal(expr: &ast::Expr) -> Option<(String, usize, usize)> {
    match unparen(expr.clone()) {
        ast::Expr::Str(s) => {
            let value = static_string(&s)?;
            let range = syntax(&s).text_range();
            let (start, end) = (usize::from(range.start()), usize::from(range.end()));
            Some((value, start + 1, end.saturating_sub(1).max(start + 1)))
        }
        _ => None,
    }
}

/// The value `name` is bound to by the nearest enclosing `let` or `rec` attrset (a
/// plain `name = value;` binding).
pub(crate) fn let_value(name: &str, at: &SyntaxNode) -> Option<ast::Expr> {
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
        for apv in entries {
            let attrs: Vec<ast::Attr> = apv.attrpath()?.attrs().collect();
            if attrs.len() == 1 && attr_name(&attrs[0]).as_deref() == Some(name) {
                return apv.value();
            }
        }
    }
    None
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
    scan.give_up(at);
}

fn push_attr(attr: &ast::Attr, scan: &mut FlakeScan) {
    let Some(name) = attr_name(attr) else {
        scan.give_up(syntax(attr));
        return;
    };
    let range = syntax(attr).text_range();
    let (mut start, mut end) = (usize::from(range.start()), usize::from(range.end()));
    if matches!(attr, ast::Attr::Str(_)) && end >= start + 2 {
        start += 1;
        end -= 1;
    }
    scan.hosts.push(FlakeHost {
        name,
        start,
        end,
        listed_by_nix: false,
        definition: attr_definition(attr),
    });
}

/// The value bound to a host's attribute when the attribute is the last of its
/// path (`a = …;`, `nixosConfigurations.a = …;`): `a.extra = …;` is only part of
/// the host, and `inherit (x) a;` has no expression here.
fn attr_definition(attr: &ast::Attr) -> Option<(usize, usize)> {
    let path = cast::<ast::Attrpath>(syntax(attr).parent()?)?;
    if path.attrs().last().as_ref().map(syntax) != Some(syntax(attr)) {
        return None;
    }
    let apv = cast::<ast::AttrpathValue>(syntax(&path).parent()?)?;
    Some(range_of(syntax(&apv.value()?)))
}

pub(crate) fn range_of(node: &SyntaxNode) -> (usize, usize) {
    let range = node.text_range();
    (usize::from(range.start()), usize::from(range.end()))
}

/// The name of a static attribute (`a`, `"a"`, `${"a"}`); `None` when computed.
pub(crate) fn attr_name(attr: &ast::Attr) -> Option<String> {
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
    // rnix's `normalized_parts` asserts that every part is a literal or an
    // interpolation; a string whose interpolation did not parse holds an error
    // node instead (a flake with a syntax error is still scanned), so such a
    // string is not a static name.
    if syntax(s)
        .descendants()
        .any(|n| n.kind() == SyntaxKind::NODE_ERROR)
    {
        return None;
    }
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

    /// Found by the `flake_scan` fuzzer: rnix's `normalized_parts` asserted on a
    /// string whose interpolation does not parse, and `check` exited 101.
    #[test]
    fn a_string_whose_interpolation_does_not_parse_is_not_a_name() {
        let text = "{ outputs = _: { nixosConfigurations = { \"a${\" = 1; b = 2; }; }; }";
        let scan = scan_flake(text);
        assert!(!scan.hosts.iter().any(|h| h.name.starts_with('a')));
        let seed = include_bytes!(
            "../../../fuzz/seeds/flake_scan/interpolation-that-does-not-parse.input"
        );
        let _ = scan_flake(&String::from_utf8_lossy(seed));
    }

    #[test]
    fn an_empty_attribute_name_is_not_a_host() {
        let text = "{ outputs = _: { nixosConfigurations = { \"\" = 1; b = 2; }; }; }";
        assert_eq!(names(text), ["b"]);
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
        let text = "{ outputs = i: {\n  nixosConfigurations = import ./hosts { inherit i; };\n}; }";
        let scan = scan_flake(text);
        assert!(scan.hosts.is_empty());
        assert!(!scan.complete());
        let (why, (start, end)) = scan.unknown_at().expect("unknown");
        assert!(why.contains("computed"), "{why}");
        assert_eq!(&text[start..end], "import ./hosts { inherit i; }");
    }

    #[test]
    fn with_let_and_helpers_as_people_write_them() {
        let text = r#"{
  outputs = { self, nixpkgs, ... }@inputs: {
    lib = import ./lib { inherit inputs; };
    nixosConfigurations = with self.lib; let
      common = [ ./nixos/common ];
    in {
      chipmunk = mkNixosConfig { modules = common; };
      "hawk" = mkNixosConfig { };
      inherit (extra) owl;
    } // (mkHost "eagle" { }) // listToAttrs [ (mkHost "lynx" { }) { name = "fox"; value = 1; } ];
  };
}"#;
        let scan = scan_flake(text);
        assert_eq!(
            scan.hosts
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>(),
            ["chipmunk", "hawk", "owl", "eagle", "lynx", "fox"]
        );
        assert!(scan.complete(), "{:?}", scan.unknown_at());
        let eagle = &scan.hosts[3];
        assert_eq!(&text[eagle.start..eagle.end], "eagle");
        // Each host's own expression; none for an inherited one.
        let own: Vec<Option<&str>> = scan
            .hosts
            .iter()
            .map(|h| h.definition.map(|(s, e)| &text[s..e]))
            .collect();
        assert_eq!(
            own,
            [
                Some("mkNixosConfig { modules = common; }"),
                Some("mkNixosConfig { }"),
                None,
                Some("mkHost \"eagle\" { }"),
                Some("mkHost \"lynx\" { }"),
                Some("{ name = \"fox\"; value = 1; }"),
            ]
        );
    }

    #[test]
    fn flake_parts_gen_attrs_and_read_dir() {
        let parts = "{ outputs = inputs: flake-parts.lib.mkFlake { inherit inputs; } {\n  flake.nixosConfigurations = nixpkgs.lib.genAttrs [ \"a\" \"b\" ] mkHost;\n}; }";
        assert_eq!(names(parts), ["a", "b"]);
        assert!(scan_flake(parts).complete());
        // One expression makes both: neither has one of its own.
        assert!(
            scan_flake(parts)
                .hosts
                .iter()
                .all(|h| h.definition.is_none())
        );
        let listed = "{ outputs = _: let names = [ \"x\" ]; in { nixosConfigurations = lib.genAttrs names mk // lib.listToAttrs (map mk [ \"y\" ]); }; }";
        assert_eq!(names(listed), ["x", "y"]);
        let dir = "{ outputs = _: { nixosConfigurations = builtins.mapAttrs (n: _: mk n) (lib.filterAttrs (_: t: t == \"directory\") (builtins.readDir ./nixos/hosts)); }; }";
        let scan = scan_flake(dir);
        assert!(scan.complete(), "{:?}", scan.unknown_at());
        assert_eq!(scan.host_dirs[0].dir, "nixos/hosts");
    }

    #[test]
    fn inheriting_the_flakes_own_configurations_is_a_use() {
        let text = "{ outputs = { self }: { nixosConfigurations.a = 1; checks = mk { inherit (self) nixosConfigurations; }; }; }";
        assert!(scan_flake(text).complete());
        assert!(!scan_flake("{ outputs = i: { inherit (i.x) nixosConfigurations; }; }").complete());
    }

    #[test]
    fn a_flake_that_never_names_configurations_is_unknown_not_empty() {
        let scan = scan_flake("{ outputs = inputs: import-tree ./modules; }");
        assert!(scan.hosts.is_empty());
        assert!(!scan.complete());
        assert!(scan.unknown_at().is_some());
    }

    #[test]
    fn a_deep_flake_is_an_error_not_a_stack_overflow() {
        // 100,000 nested `!`: rnix would recurse once per level.
        let text = format!("{{ outputs = _: {}true; }}", "!".repeat(100_000));
        let scan = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || scan_flake(&text))
            .expect("a thread")
            .join()
            .expect("no overflow");
        assert!(scan.too_deep);
        assert!(!scan.complete());
        assert!(scan.errors[0].1.contains("nests"), "{:?}", scan.errors);
        // Just under the limit still parses on an ordinary thread's stack.
        let text = format!(
            "{{ outputs = _: {{ nixosConfigurations.a = {}true; }}; }}",
            "!".repeat(crate::scan::MAX_DEPTH - 8)
        );
        let scan = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || scan_flake(&text))
            .expect("a thread")
            .join()
            .expect("no overflow");
        assert!(!scan.too_deep);
        assert_eq!(scan.hosts.len(), 1);
    }

    #[test]
    fn syntax_errors_are_reported_and_scan_goes_on() {
        let scan = scan_flake("{ outputs = _: { nixosConfigurations.a = 1; }; broken = ; }");
        assert_eq!(scan.hosts.len(), 1);
        assert!(!scan.errors.is_empty());
    }
}
