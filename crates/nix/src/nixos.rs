//! A static look at NixOS configuration text (a host's modules, or one host's
//! expression in `flake.nix`): the addresses it gives the host's interfaces, and
//! where it uses an attribute such as a module's name.
//!
//! Nothing is evaluated. Bindings are followed through attrsets, attr paths,
//! `let … in`, module functions (`{ config, ... }: { … }`), `with`, `if`, `//`,
//! `++` and the module system's wrappers (`mkIf`, `mkMerge`, `mkForce`, …); a list
//! item or another function's argument starts a new module (`modules = [ { … } ]`).
//! An address setting whose value is not a literal (an interpolation, a function's
//! result, a name not bound to a literal by a `let` in scope) is reported as
//! computed: then the host's addresses are not all known, and a caller must not
//! conclude that an address is not one of them.
//!
//! The address forms read (as nixpkgs' options spell them):
//! - `networking.interfaces.<if>.ipv4.addresses` / `ipv6.addresses`:
//!   `[ { address = "10.1.0.1"; prefixLength = 24; } ]`;
//! - `systemd.network.networks.<n>.address = [ "10.1.0.1/24" ]` (or one string),
//!   `.addresses = [ { Address = "…"; } ]` (`addressConfig.Address` in older
//!   nixpkgs) and `.networkConfig.Address`;
//! - `networking.wireguard.interfaces.<if>.ips` and
//!   `networking.wg-quick.interfaces.<if>.address` (tunnel addresses are the
//!   host's too).
//!
//! DHCP settings (`useDHCP = true`, networkd `DHCP = "yes"|"ipv4"|…`) are listed:
//! such an interface has an address no text says.
use crate::flake::{
    attr_name, cast, function_name, let_value, range_of, spine, string_literal, syntax, unparen,
};
use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode};
use std::net::IpAddr;

/// How many `let`-bound names are followed for one address value.
const MAX_INDIRECTION: usize = 4;

/// An address written literally in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticAddress {
    /// The address.
    pub address: IpAddr,
    /// Its prefix length, when written.
    pub prefix: Option<u8>,
    /// Byte range of the literal in the text given (whole-file offsets).
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

/// What [`read_config`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NixosText {
    /// The addresses written literally.
    pub addresses: Vec<StaticAddress>,
    /// Address settings whose value is computed (byte ranges): the addresses are
    /// then not all known.
    pub computed: Vec<(usize, usize)>,
    /// Settings that give an interface an address by DHCP (byte ranges).
    pub dhcp: Vec<(usize, usize)>,
    /// True when the text could not be read (it nests too deeply to parse): then
    /// nothing about it is known.
    pub unreadable: bool,
}

/// Reads the addresses of the NixOS configuration in `text`, or in its byte range
/// `range` only (one host's expression in a flake). Offsets are into `text`.
///
/// ```
/// let text = r#"{ lib, ... }: {
///   networking.interfaces.lan.ipv4.addresses = [ { address = "10.1.0.1"; prefixLength = 24; } ];
///   systemd.network.networks."10-wan" = { address = [ "192.0.2.7/24" ]; DHCP = "ipv6"; };
/// }"#;
/// let found = avalanche_nix::nixos::read_config(text, None);
/// let shown: Vec<String> = found.addresses.iter().map(|a| format!("{}/{}", a.address, a.prefix.unwrap())).collect();
/// assert_eq!(shown, ["10.1.0.1/24", "192.0.2.7/24"]);
/// assert_eq!(found.dhcp.len(), 1);
/// ```
pub fn read_config(text: &str, range: Option<(usize, usize)>) -> NixosText {
    Piece::new(text, range).config()
}

/// Where `text` (or its range `range`) uses the attribute `name` (byte ranges,
/// whole-file offsets): a select (`inputs.x.nixosModules.name`), a name, or a
/// setting under it (`avalanche.name.enable = true;`) — not the place that
/// defines it (`nixosModules.name = …;`, `options.….name = …;`), and not a
/// comment or a string. `None` when the text cannot be read.
///
/// ```
/// let text = "{ nixosModules.gw = ./gw.nix; # imports gw\n  host = { imports = [ self.nixosModules.gw ]; }; }";
/// let uses = avalanche_nix::nixos::attr_uses(text, "gw", None).unwrap();
/// assert_eq!(uses.len(), 1);
/// assert_eq!(&text[uses[0].0 - 13..uses[0].1], "nixosModules.gw");
/// ```
pub fn attr_uses(
    text: &str,
    name: &str,
    range: Option<(usize, usize)>,
) -> Option<Vec<(usize, usize)>> {
    Piece::new(text, range).attr_uses(name)
}

/// The relative paths written in `text` (or its range) without interpolation
/// (`./hosts/routy`, `../common.nix`), as written: the files a host's expression
/// imports. Empty when the text cannot be read.
///
/// ```
/// let paths = avalanche_nix::nixos::relative_paths("{ modules = [ ./hosts/a ./x/${n} ../c.nix ]; }", None);
/// assert_eq!(paths, ["./hosts/a", "../c.nix"]);
/// let commented = "{ # repositoryRoot = ./.;\n  modules = [ ]; }";
/// assert!(avalanche_nix::nixos::relative_paths(commented, None).is_empty());
/// ```
pub fn relative_paths(text: &str, range: Option<(usize, usize)>) -> Vec<String> {
    Piece::new(text, range).relative_paths()
}

/// One piece of NixOS configuration — a file, or one host's expression in a
/// flake (a byte range of its text) — parsed at most once, however many
/// questions are asked of it, and not at all when the words a question needs
/// are not in its text.
pub struct Piece<'t> {
    text: &'t str,
    range: Option<(usize, usize)>,
    tree: std::cell::OnceCell<Option<(SyntaxNode, usize)>>,
}

impl<'t> Piece<'t> {
    /// The piece `text` (or its byte range `range`).
    pub fn new(text: &'t str, range: Option<(usize, usize)>) -> Piece<'t> {
        Piece {
            text,
            range,
            tree: std::cell::OnceCell::new(),
        }
    }

    /// Its text (the range's, for a range).
    pub fn source(&self) -> &'t str {
        let (start, end) = self.range.unwrap_or((0, self.text.len()));
        self.text.get(start..end).unwrap_or("")
    }

    fn tree(&self) -> Option<&(SyntaxNode, usize)> {
        self.tree
            .get_or_init(|| parse(self.text, self.range))
            .as_ref()
    }

    /// [`read_config`].
    pub fn config(&self) -> NixosText {
        let mut out = NixosText::default();
        // Every setting read is named with one of these: a text without them is
        // not parsed (most of a host's files).
        if !["ddress", "ips", "DHCP"]
            .iter()
            .any(|w| self.source().contains(w))
        {
            return out;
        }
        let Some((root, base)) = self.tree() else {
            out.unreadable = true;
            return out;
        };
        let mut reader = Reader {
            base: *base,
            out: &mut out,
        };
        for expr in root_exprs(root) {
            reader.walk(&expr, &mut Vec::new());
        }
        out
    }

    /// [`attr_uses`].
    pub fn attr_uses(&self, name: &str) -> Option<Vec<(usize, usize)>> {
        // Most texts never name it: no parse for them.
        if !self.source().contains(name) {
            return Some(Vec::new());
        }
        let (root, base) = self.tree()?;
        let mut uses = Vec::new();
        for token in root
            .descendants_with_tokens()
            .filter_map(|e| e.into_token())
            .filter(|t| t.kind() == SyntaxKind::TOKEN_IDENT && t.text() == name)
        {
            let Some(node) = token.parent() else { continue };
            if defines(&node) {
                continue;
            }
            let (s, e) = range_of(&node);
            uses.push((base + s, base + e));
        }
        Some(uses)
    }

    /// Whether the piece names `name` as an identifier (not in a comment or a
    /// string): a cheaper question than [`Piece::attr_uses`], by the tokenizer
    /// alone, for a piece whose every mention counts (a host's own Nix). `None`
    /// when the text cannot be read.
    pub fn names(&self, name: &str) -> Option<bool> {
        let source = self.source();
        if !source.contains(name) {
            return Some(false);
        }
        if crate::scan::too_deep(source).is_some() {
            return None;
        }
        Some(
            rnix::tokenize(source)
                .any(|(kind, text)| kind == SyntaxKind::TOKEN_IDENT && text == name),
        )
    }

    /// [`relative_paths`].
    pub fn relative_paths(&self) -> Vec<String> {
        // No `./` outside a line comment: no path, and no parse.
        let source = self.source();
        let outside_comments = source.match_indices("./").any(|(at, _)| {
            let line = source[..at].rfind('\n').map_or(0, |n| n + 1);
            !source[line..at].contains('#')
        });
        if !outside_comments {
            return Vec::new();
        }
        let Some((root, _)) = self.tree() else {
            return Vec::new();
        };
        root.descendants()
            .filter(|n| n.kind() == SyntaxKind::NODE_PATH_REL)
            .filter(|n| n.children().next().is_none())
            .map(|n| n.text().to_string())
            .filter(|p| p.starts_with("./") || p.starts_with("../"))
            .collect()
    }
}

/// How the flake `text` names the NixOS module `module` of the flake input whose
/// URL contains `url_part`: `self.nixosModules.<module>` when the flake defines the
/// module itself, else `<inputs>.<input>.nixosModules.<module>` or, when `outputs`
/// takes the input by name, `<input>.nixosModules.<module>`. `None` when no input
/// names it (and the flake does not define it), or the flake cannot be read.
///
/// ```
/// let text = r#"{ inputs.avalanche.url = "github:OWNER/avalanche-net"; outputs = { self, nixpkgs, ... }@inputs: { }; }"#;
/// assert_eq!(
///     avalanche_nix::nixos::module_reference(text, "avalanche-net", "egressGateway").as_deref(),
///     Some("inputs.avalanche.nixosModules.egressGateway")
/// );
/// ```
pub fn module_reference(text: &str, url_part: &str, module: &str) -> Option<String> {
    let (root, _) = parse(text, None)?;
    let mut input = None;
    let mut outputs = None;
    for apv in root.descendants().filter_map(cast::<ast::AttrpathValue>) {
        let path = binding_path(&apv);
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        match path.as_slice() {
            [.., "nixosModules", m] if *m == module => {
                return Some(format!("self.nixosModules.{module}"));
            }
            ["inputs", name, "url"] | ["inputs", name] if input.is_none() => {
                let url = apv.value().as_ref().and_then(string_literal);
                if url.is_some_and(|(u, _, _)| u.contains(url_part)) {
                    input = Some((*name).to_owned());
                }
            }
            ["outputs"] => outputs = apv.value(),
            _ => {}
        }
    }
    let input = input?;
    let via = match outputs.map(unparen) {
        Some(ast::Expr::Lambda(l)) => match l.param() {
            Some(ast::Param::Pattern(p)) => {
                let named = |i: Option<ast::Ident>| {
                    i.and_then(|i| i.ident_token()).map(|t| t.text().to_owned())
                };
                if p.pat_entries()
                    .any(|e| named(e.ident()).as_deref() == Some(&input))
                {
                    None
                } else {
                    Some(
                        p.pat_bind()
                            .and_then(|b| named(b.ident()))
                            .unwrap_or_else(|| "inputs".into()),
                    )
                }
            }
            Some(ast::Param::IdentParam(i)) => Some(
                i.ident()
                    .and_then(|i| i.ident_token())
                    .map_or_else(|| "inputs".into(), |t| t.text().to_owned()),
            ),
            None => Some("inputs".into()),
        },
        _ => Some("inputs".into()),
    };
    Some(match via {
        Some(via) => format!("{via}.{input}.nixosModules.{module}"),
        None => format!("{input}.nixosModules.{module}"),
    })
}

/// Parses `text`, or its range alone (an expression), with the depth guard;
/// returns the tree and the offset to add to its positions.
fn parse(text: &str, range: Option<(usize, usize)>) -> Option<(SyntaxNode, usize)> {
    let (start, end) = range.unwrap_or((0, text.len()));
    let source = text.get(start..end)?;
    if crate::scan::too_deep(source).is_some() {
        return None;
    }
    Some((rnix::Root::parse(source).syntax(), start))
}

/// The top-level expressions of a parsed text (one, or none when empty).
fn root_exprs(root: &SyntaxNode) -> Vec<ast::Expr> {
    root.children().filter_map(cast::<ast::Expr>).collect()
}

/// True when the identifier node `node` is the attribute a binding defines as a
/// module or an option (`nixosModules.x = …`, `options.a.x = …`), the last of its
/// path, rather than a use or a setting.
fn defines(node: &SyntaxNode) -> bool {
    let Some(path) = node.parent().and_then(cast::<ast::Attrpath>) else {
        return false;
    };
    let Some(apv) = syntax(&path).parent().and_then(cast::<ast::AttrpathValue>) else {
        return false;
    };
    if path.attrs().last().as_ref().map(syntax) != Some(node) {
        return false; // `avalanche.x.enable = …`: a setting under it.
    }
    let mut names = binding_path(&apv);
    names.pop();
    names
        .last()
        .is_some_and(|n| n == "nixosModules" || n == "nixosModule")
        || names.first().is_some_and(|n| n == "options")
}

/// The attribute names leading to a binding, through the attrsets that enclose it
/// (`a = { b.c = 1; }` gives `a b c` for the inner binding).
pub(crate) fn binding_path(apv: &ast::AttrpathValue) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = Some(apv.clone());
    while let Some(binding) = at {
        let mut own: Vec<String> = binding
            .attrpath()
            .map(|p| {
                p.attrs()
                    .map(|a| attr_name(&a).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default();
        own.append(&mut names);
        names = own;
        at = syntax(&binding)
            .parent()
            .filter(|p| p.kind() == SyntaxKind::NODE_ATTR_SET)
            .and_then(|set| set.parent())
            .and_then(cast::<ast::AttrpathValue>);
    }
    names
}

struct Reader<'a> {
    base: usize,
    out: &'a mut NixosText,
}

/// The module system's functions whose last argument is configuration at the
/// same place (`x = mkForce { … };` sets `x`).
const WRAPPERS: &[&str] = &[
    "mkIf",
    "mkDefault",
    "mkForce",
    "mkOverride",
    "mkBefore",
    "mkAfter",
    "mkOrder",
    "optionalAttrs",
    "mkMerge",
];

impl Reader<'_> {
    /// Walks the configuration `expr` set at attribute path `at`.
    fn walk(&mut self, expr: &ast::Expr, at: &mut Vec<String>) {
        match expr {
            ast::Expr::AttrSet(set) => {
                for apv in set.attrpath_values() {
                    let Some(path) = apv.attrpath() else { continue };
                    let depth = at.len();
                    // A computed name (`${lan}`) still holds a setting at that place.
                    at.extend(path.attrs().map(|a| attr_name(&a).unwrap_or_default()));
                    if let Some(value) = apv.value() {
                        self.setting(at, &value);
                        self.walk(&value, at);
                    }
                    at.truncate(depth);
                }
            }
            ast::Expr::Paren(p) => {
                if let Some(e) = p.expr() {
                    self.walk(&e, at);
                }
            }
            ast::Expr::LetIn(l) => {
                if let Some(e) = l.body() {
                    self.walk(&e, at);
                }
            }
            ast::Expr::Lambda(l) => {
                if let Some(e) = l.body() {
                    self.walk(&e, at);
                }
            }
            ast::Expr::With(w) => {
                if let Some(e) = w.body() {
                    self.walk(&e, at);
                }
            }
            ast::Expr::IfElse(i) => {
                for e in [i.body(), i.else_body()].into_iter().flatten() {
                    self.walk(&e, at);
                }
            }
            ast::Expr::BinOp(op) => {
                for e in [op.lhs(), op.rhs()].into_iter().flatten() {
                    self.walk(&e, at);
                }
            }
            ast::Expr::List(list) => {
                // `imports = [ { … } ]`, `modules = [ … ]`: each item is a module.
                for item in list.items() {
                    self.walk(&item, &mut Vec::new());
                }
            }
            ast::Expr::Apply(_) => {
                let (head, args) = spine(expr);
                match function_name(&head).as_deref() {
                    Some("mkMerge") => {
                        if let Some(ast::Expr::List(list)) = args.last().cloned().map(unparen) {
                            for item in list.items() {
                                self.walk(&item, at);
                            }
                        }
                    }
                    Some(f) if WRAPPERS.contains(&f) => {
                        if let Some(last) = args.last() {
                            self.walk(last, at);
                        }
                    }
                    // `nixosSystem { modules = [ … ]; }`, `mkHost "a" { … }`: new modules.
                    _ => {
                        for arg in &args {
                            self.walk(arg, &mut Vec::new());
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// One setting `at = value`: an address or a DHCP setting, when it is one.
    fn setting(&mut self, at: &[String], value: &ast::Expr) {
        let n = at.len();
        let tail = |k: usize| -> Vec<&str> {
            at[n.saturating_sub(k)..]
                .iter()
                .map(String::as_str)
                .collect()
        };
        let under = |i: usize, name: &str| n > i && at[n - 1 - i] == name;
        // networking.interfaces.<if>.ipv4.addresses
        if n >= 4
            && matches!(tail(2).as_slice(), ["ipv4" | "ipv6", "addresses"])
            && under(3, "interfaces")
        {
            self.each_item(value, &mut |r, item| r.interface_address(item));
            return;
        }
        // systemd.network.networks.<n>.…
        let in_networks = |k: usize| {
            // `networks.<name>` then `k` more names.
            n >= k + 2 && at[n - k - 2] == "networks" && (n < k + 3 || at[n - k - 3] == "network")
        };
        let wg = |kind: &str| n >= 4 && at[n - 3] == "interfaces" && at[n - 4] == kind;
        match tail(1).as_slice() {
            ["address"] if in_networks(1) || wg("wg-quick") => self.each_string(value, true),
            ["addresses"] if in_networks(1) => {
                self.each_item(value, &mut |r, item| r.networkd_address(item));
            }
            ["Address"] if n >= 2 && at[n - 2] == "networkConfig" && in_networks(2) => {
                self.each_string(value, true);
            }
            ["ips"] if wg("wireguard") => self.each_string(value, true),
            ["useDHCP"] if is_true(value) => self.dhcp(value),
            ["DHCP"]
                if (in_networks(1)
                    || (n >= 2 && at[n - 2] == "networkConfig" && in_networks(2)))
                    && string_literal(value).is_none_or(|(v, _, _)| v != "no") =>
            {
                self.dhcp(value);
            }
            _ => {}
        }
    }

    fn dhcp(&mut self, value: &ast::Expr) {
        let (s, e) = range_of(syntax(value));
        self.out.dhcp.push((self.base + s, self.base + e));
    }

    fn computed(&mut self, value: &ast::Expr) {
        let (s, e) = range_of(syntax(value));
        self.out.computed.push((self.base + s, self.base + e));
    }

    /// Each item of a list value (or the value itself when it is not a list).
    fn each_item(&mut self, value: &ast::Expr, f: &mut dyn FnMut(&mut Self, &ast::Expr)) {
        match literal(value) {
            Some(ast::Expr::List(list)) => {
                for item in list.items() {
                    f(self, &item);
                }
            }
            // `mkForce [ … ]`, `[ … ] ++ [ … ]`.
            Some(ast::Expr::Apply(_)) => {
                let (head, args) = spine(value);
                match (function_name(&head).as_deref(), args.last()) {
                    (Some(w), Some(last)) if WRAPPERS.contains(&w) && w != "mkMerge" => {
                        self.each_item(last, f);
                    }
                    _ => self.computed(value),
                }
            }
            Some(ast::Expr::BinOp(op)) if op.operator() == Some(ast::BinOpKind::Concat) => {
                for side in [op.lhs(), op.rhs()].into_iter().flatten() {
                    self.each_item(&side, f);
                }
            }
            _ => self.computed(value),
        }
    }

    /// Strings `"a/p"` (or `"a"`), one or a list of them.
    fn each_string(&mut self, value: &ast::Expr, list_ok: bool) {
        match literal(value) {
            Some(ast::Expr::List(_) | ast::Expr::Apply(_) | ast::Expr::BinOp(_)) if list_ok => {
                self.each_item(value, &mut |r, item| r.each_string(item, false));
            }
            _ => self.address_string(value),
        }
    }

    fn address_string(&mut self, value: &ast::Expr) {
        let resolved = literal(value).and_then(|e| string_literal(&e));
        let Some((text, start, end)) = resolved else {
            self.computed(value);
            return;
        };
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, p.parse::<u8>().ok()),
            None => (text.as_str(), None),
        };
        match addr.parse::<IpAddr>() {
            Ok(address) => self.out.addresses.push(StaticAddress {
                address,
                prefix,
                start: self.base + start,
                end: self.base + end,
            }),
            Err(_) => self.computed(value),
        }
    }

    /// `{ address = "…"; prefixLength = N; }`
    fn interface_address(&mut self, item: &ast::Expr) {
        let Some(ast::Expr::AttrSet(set)) = literal(item) else {
            self.computed(item);
            return;
        };
        let mut address = None;
        let mut prefix = None;
        for apv in set.attrpath_values() {
            let names: Vec<String> = apv
                .attrpath()
                .map(|p| {
                    p.attrs()
                        .map(|a| attr_name(&a).unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default();
            match (names.as_slice(), apv.value()) {
                ([n], Some(v)) if n == "address" => address = Some(v),
                ([n], Some(v)) if n == "prefixLength" => prefix = integer(&v),
                _ => {}
            }
        }
        let Some(value) = address else {
            self.computed(item);
            return;
        };
        let before = self.out.addresses.len();
        self.address_string(&value);
        if let Some(found) = self.out.addresses.get_mut(before) {
            found.prefix = found.prefix.or(prefix);
        }
    }

    /// `{ Address = "a/p"; }` or `{ addressConfig.Address = "a/p"; }`
    fn networkd_address(&mut self, item: &ast::Expr) {
        let Some(ast::Expr::AttrSet(set)) = literal(item) else {
            self.computed(item);
            return;
        };
        let mut found = None;
        for apv in set.attrpath_values() {
            let names: Vec<String> = apv
                .attrpath()
                .map(|p| {
                    p.attrs()
                        .map(|a| attr_name(&a).unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            match (names.as_slice(), apv.value()) {
                (["Address"] | ["addressConfig", "Address"], Some(v)) => found = Some(v),
                (["addressConfig"], Some(ast::Expr::AttrSet(inner))) => {
                    for apv in inner.attrpath_values() {
                        let is_address = apv
                            .attrpath()
                            .and_then(|p| p.attrs().next())
                            .and_then(|a| attr_name(&a))
                            .is_some_and(|n| n == "Address");
                        if is_address {
                            found = apv.value();
                        }
                    }
                }
                _ => {}
            }
        }
        match found {
            Some(v) => self.address_string(&v),
            None => self.computed(item),
        }
    }
}

/// The expression a value stands for, following names bound by a `let` in scope
/// (a few levels) and parentheses; `None` when it is a name bound elsewhere.
fn literal(value: &ast::Expr) -> Option<ast::Expr> {
    let mut expr = unparen(value.clone());
    for _ in 0..MAX_INDIRECTION {
        let ast::Expr::Ident(ident) = &expr else {
            return Some(expr);
        };
        let token = ident.ident_token()?;
        expr = unparen(let_value(token.text(), syntax(ident))?);
    }
    None
}

fn integer(value: &ast::Expr) -> Option<u8> {
    match literal(value)? {
        ast::Expr::Literal(lit) => match lit.kind() {
            ast::LiteralKind::Integer(i) => i.value().ok().and_then(|n| u8::try_from(n).ok()),
            _ => None,
        },
        _ => None,
    }
}

fn is_true(value: &ast::Expr) -> bool {
    match unparen(value.clone()) {
        ast::Expr::Ident(i) => i.ident_token().is_some_and(|t| t.text() == "true"),
        // `mkDefault true`, a condition: it may be on.
        ast::Expr::Apply(_) | ast::Expr::IfElse(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str, range: Option<(usize, usize)>) -> Vec<String> {
        read_config(text, range)
            .addresses
            .iter()
            .map(|a| {
                let written = &text[a.start..a.end];
                match a.prefix {
                    Some(p) => format!("{} /{p} `{written}`", a.address),
                    None => format!("{} `{written}`", a.address),
                }
            })
            .collect()
    }

    #[test]
    fn the_forms_operators_write() {
        let text = r#"{ config, lib, ... }:
let
  lan = "10.1.0.1";
in {
  networking = {
    interfaces.lan = lib.mkIf true { ipv4.addresses = [ { address = lan; prefixLength = 24; } ]; };
    interfaces."enp3s0".ipv6.addresses = lib.mkForce [ { address = "fd00::1"; prefixLength = 64; } ];
    wireguard.interfaces.wg0.ips = [ "10.100.0.1/24" ];
    wg-quick.interfaces.wg1.address = [ "10.101.0.1/24" ];
  };
  systemd.network = lib.mkMerge [
    { networks."20-iot".addresses = [ { Address = "10.20.0.1/24"; } { addressConfig.Address = "10.21.0.1/24"; } ]; }
    { networks."30-mgmt".networkConfig.Address = [ "10.30.0.1/24" ]; }
  ];
  # networking.interfaces.x.ipv4.addresses = [ { address = "9.9.9.9"; } ];
  services.dnsmasq.settings.address = [ "/example/10.9.9.9" ];
}"#;
        assert_eq!(
            shown(text, None),
            [
                "10.1.0.1 /24 `10.1.0.1`",
                "fd00::1 /64 `fd00::1`",
                "10.100.0.1 /24 `10.100.0.1/24`",
                "10.101.0.1 /24 `10.101.0.1/24`",
                "10.20.0.1 /24 `10.20.0.1/24`",
                "10.21.0.1 /24 `10.21.0.1/24`",
                "10.30.0.1 /24 `10.30.0.1/24`",
            ]
        );
        assert!(read_config(text, None).computed.is_empty());
    }

    #[test]
    fn computed_addresses_and_dhcp_are_said() {
        let text = r#"{ config, ... }: {
  networking.interfaces.lan.ipv4.addresses = [ { address = "${prefix}.1"; prefixLength = 24; } ];
  networking.interfaces.wan.useDHCP = true;
  systemd.network.networks.lan.address = config.my.addresses;
  systemd.network.networks.wan = { DHCP = "ipv4"; };
  systemd.network.networks.off.DHCP = "no";
}"#;
        let found = read_config(text, None);
        assert!(found.addresses.is_empty());
        let computed: Vec<&str> = found.computed.iter().map(|(s, e)| &text[*s..*e]).collect();
        assert_eq!(computed, ["\"${prefix}.1\"", "config.my.addresses"]);
        let dhcp: Vec<&str> = found.dhcp.iter().map(|(s, e)| &text[*s..*e]).collect();
        assert_eq!(dhcp, ["true", "\"ipv4\""]);
    }

    #[test]
    fn one_hosts_expression_in_a_flake() {
        let text = r#"{ outputs = _: let
  mkHost = name: extra: nixosSystem { modules = [ extra { networking.interfaces.eth0.ipv4.addresses = [ { address = "10.0.0.9"; prefixLength = 8; } ]; } ]; };
in { nixosConfigurations = {
  a = mkHost "a" { systemd.network.networks.lan.address = [ "10.1.0.1/24" ]; };
  b = mkHost "b" { systemd.network.networks.lan.address = [ "10.1.0.2/24" ]; };
}; }; }"#;
        let scan = crate::flake::scan_flake(text);
        let a = scan.hosts[0].definition.expect("a's own expression");
        assert_eq!(
            &text[a.0..a.1],
            r#"mkHost "a" { systemd.network.networks.lan.address = [ "10.1.0.1/24" ]; }"#
        );
        assert_eq!(shown(text, Some(a)), ["10.1.0.1 /24 `10.1.0.1/24`"]);
        // A `let` binding's value is not configuration until used: the helper's
        // module is every host's, not read as any one's.
        assert_eq!(shown(text, None).len(), 2);
    }

    #[test]
    fn uses_not_definitions() {
        let text = r#"{
  nixosModules = { egressGateway = { imports = [ ./gw.nix ]; }; };
  options.avalanche.egressGateway = { };
  # self.nixosModules.egressGateway
  x = { imports = [ inputs.avalanche-net.nixosModules.egressGateway ]; avalanche.egressGateway.repositoryRoot = ./.; };
  y = "egressGateway";
}"#;
        let piece = Piece::new(text, None);
        assert_eq!(piece.names("egressGateway"), Some(true));
        assert_eq!(
            Piece::new(text, Some((0, 60))).names("egressGateway"),
            Some(true)
        );
        let comment = "{ # egressGateway\n  x = \"egressGateway\"; }";
        assert_eq!(
            Piece::new(comment, None).names("egressGateway"),
            Some(false)
        );
        let uses = attr_uses(text, "egressGateway", None).expect("readable");
        let lines: Vec<usize> = uses
            .iter()
            .map(|(s, _)| text[..*s].matches('\n').count() + 1)
            .collect();
        assert_eq!(lines, [5, 5]);
        assert_eq!(attr_uses("{ }", "egressGateway", None), Some(vec![]));
    }

    #[test]
    fn how_a_flake_names_a_module() {
        let r = |text: &str| module_reference(text, "avalanche-net", "egressGateway");
        let by_name = r#"{ inputs = { avalanche-net = { url = "github:o/avalanche-net"; }; }; outputs = { self, avalanche-net, ... }: { }; }"#;
        assert_eq!(
            r(by_name).as_deref(),
            Some("avalanche-net.nixosModules.egressGateway")
        );
        let ident =
            r#"{ inputs.net.url = "git+https://example.org/avalanche-net"; outputs = i: { }; }"#;
        assert_eq!(
            r(ident).as_deref(),
            Some("i.net.nixosModules.egressGateway")
        );
        let own = "{ outputs = { self }: { nixosModules = { egressGateway = ./m.nix; }; }; }";
        assert_eq!(r(own).as_deref(), Some("self.nixosModules.egressGateway"));
        assert_eq!(r("{ outputs = _: { }; }"), None);
    }
}
