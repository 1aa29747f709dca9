//! From rnix syntax to what the evaluator needs: attrset definitions built the way
//! Nix's parser builds `ExprAttrs` (attr-path merging, duplicate errors), attribute
//! names, parse-error diagnostics, and the static checks Nix does before evaluating
//! (undefined variables) plus the boundary of the static subset.
use crate::strings;
use avalanche_diag::{Diagnostic, FileId, Span};
use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, TextRange};
use rowan::ast::AstNode;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Help line of every `nix-unsupported` diagnostic.
pub const UNSUPPORTED_HELP: &str = "the static reader covers a pure subset of Nix; evaluate this file with real Nix: \
     `--eval nix` (or `--eval auto` with nix installed)";

/// Why an argument of the top-level function is outside the subset.
pub(crate) const ARG_DETAIL: &str =
    ": it is an argument of the top-level function, which the static reader calls with `{ }`";

/// Names Nix's base environment binds besides `true`, `false`, `null` and `import`.
const BUILTIN_NAMES: &[&str] = &[
    "builtins",
    "abort",
    "throw",
    "toString",
    "map",
    "removeAttrs",
    "baseNameOf",
    "dirOf",
    "isNull",
    "derivation",
    "derivationStrict",
    "placeholder",
    "fetchTarball",
    "fetchGit",
    "fetchMercurial",
    "fetchTree",
    "fromTOML",
    "scopedImport",
];

/// True when `name` is bound by Nix's base environment to something outside the subset.
pub(crate) fn is_builtin(name: &str) -> bool {
    BUILTIN_NAMES.contains(&name) || name.starts_with("__")
}

/// A span in `file`.
pub(crate) fn span(file: FileId, r: TextRange) -> Span {
    Span {
        file,
        start: u32::from(r.start()),
        end: u32::from(r.end()),
    }
}

/// A `nix-unsupported` diagnostic naming `what`.
pub(crate) fn unsupported(file: FileId, r: TextRange, what: &str, detail: &str) -> Diagnostic {
    Diagnostic::error(
        &crate::rules::NIX_UNSUPPORTED,
        format!("`{what}` is outside the static Nix subset{detail}"),
    )
    .with_span(span(file, r))
    .with_help(UNSUPPORTED_HELP)
}

/// Skips parentheses.
pub(crate) fn unparen(mut e: ast::Expr) -> ast::Expr {
    while let ast::Expr::Paren(p) = &e {
        match p.expr() {
            Some(inner) => e = inner,
            None => break,
        }
    }
    e
}

/// The text of a node made of one token (an identifier), read from the green tree:
/// rowan's `text()` would build a cursor and format it.
pub(crate) fn token_text(node: &rnix::SyntaxNode) -> Option<&str> {
    let mut children = node.green().children();
    match (children.next(), children.next()) {
        (Some(rowan::NodeOrToken::Token(t)), None) => Some(t.text()),
        _ => None,
    }
}

/// The name an identifier stands for.
pub(crate) fn ident_name(id: &ast::Ident) -> std::borrow::Cow<'_, str> {
    match token_text(id.syntax()) {
        Some(text) => std::borrow::Cow::Borrowed(text),
        None => std::borrow::Cow::Owned(id.syntax().text().to_string()),
    }
}

/// `rec { … }`: the keyword is the node's first token when the parse has no
/// errors (checked before any set is built). Equivalent to `rec_token()`, which
/// walks every child of the set.
pub(crate) fn is_rec(set: &ast::AttrSet) -> bool {
    matches!(
        set.syntax().green().children().next(),
        Some(rowan::NodeOrToken::Token(t)) if t.kind() == rowan::SyntaxKind(SyntaxKind::TOKEN_REC as u16)
    )
}

/// The attr path and value of `path = value;`, in one walk over its children
/// (each accessor of rnix walks them again).
pub(crate) fn path_value(apv: &ast::AttrpathValue) -> (Option<ast::Attrpath>, Option<ast::Expr>) {
    let mut path = None;
    let mut value = None;
    for child in apv.syntax().children() {
        if path.is_none()
            && let Some(p) = ast::Attrpath::cast(child.clone())
        {
            path = Some(p);
        } else if value.is_none()
            && let Some(v) = ast::Expr::cast(child)
        {
            value = Some(v);
        }
    }
    (path, value)
}

/// True when every attribute of the path is a plain identifier (nothing in it to
/// check), read from the green tree.
fn only_identifiers(path: &ast::Attrpath) -> bool {
    let ident = rowan::SyntaxKind(SyntaxKind::NODE_IDENT as u16);
    path.syntax().green().children().all(|c| match c {
        rowan::NodeOrToken::Node(n) => n.kind() == ident,
        rowan::NodeOrToken::Token(_) => true,
    })
}

/// The name of an attribute when it is known without evaluating anything
/// (`a`, `"a b"`, `${"a"}`); `None` for a dynamic name.
pub(crate) fn static_name(attr: &ast::Attr) -> Option<String> {
    match attr {
        ast::Attr::Ident(i) => Some(ident_name(i).into_owned()),
        ast::Attr::Str(s) => strings::static_text(s),
        ast::Attr::Dynamic(d) => match d.expr().map(unparen) {
            Some(ast::Expr::Str(s)) => strings::static_text(&s),
            _ => None,
        },
    }
}

/// What an attribute is defined as.
pub(crate) enum DefValue {
    /// `name = expr;`
    Expr(ast::Expr),
    /// An attrset literal, or one made by an attr path (`a.b = …;` makes `a`).
    Set(Box<SetDef>),
    /// `inherit name;`: the name is looked up outside the set.
    Inherit,
    /// `inherit (from) name;`: `from.name`, evaluated inside the set's scope.
    InheritFrom(ast::Expr),
}

/// One statically named attribute.
pub(crate) struct AttrDef {
    /// The last attr-path segment naming it.
    pub name_range: TextRange,
    /// The whole attr path that defined it (where Nix reports duplicates).
    pub def_range: TextRange,
    /// Its definition.
    pub value: DefValue,
}

/// An attribute whose name is computed (`${e} = …;`).
pub(crate) struct DynDef {
    /// The name expression.
    pub name: ast::Attr,
    /// Its definition.
    pub value: DefValue,
}

/// An attrset as Nix's parser builds it (`ExprAttrs`).
pub(crate) struct SetDef {
    /// `rec { … }`
    pub rec: bool,
    /// The literal, or the attr path that made it.
    pub range: TextRange,
    /// Static attributes, by name.
    pub attrs: BTreeMap<String, AttrDef>,
    /// Dynamic attributes, in order.
    pub dynamic: Vec<DynDef>,
}

/// A problem found while building a set: where, and what.
pub(crate) struct BuildError {
    pub range: TextRange,
    pub rule: &'static avalanche_diag::Rule,
    pub message: String,
    pub first: Option<TextRange>,
}

impl SetDef {
    fn new(rec: bool, range: TextRange) -> SetDef {
        SetDef {
            rec,
            range,
            attrs: BTreeMap::new(),
            dynamic: Vec::new(),
        }
    }

    /// Builds the definition of an attrset literal or the bindings of a `let`.
    pub(crate) fn build(
        node: &impl HasEntry,
        rec: bool,
        is_let: bool,
        errors: &mut Vec<BuildError>,
    ) -> SetDef {
        let mut set = SetDef::new(rec, node.syntax().text_range());
        for entry in node.entries() {
            match entry {
                ast::Entry::AttrpathValue(apv) => {
                    let (Some(path), Some(value)) = path_value(&apv) else {
                        continue;
                    };
                    let attrs = segments(&path);
                    if is_let && attrs.first().is_some_and(|first| first.name().is_none()) {
                        // Nix reports it at the `let`.
                        let at = node.syntax().text_range();
                        errors.push(BuildError {
                            range: TextRange::new(at.start(), at.start()),
                            rule: &crate::rules::NIX_SYNTAX,
                            message: "dynamic attributes are not allowed in `let`".into(),
                            first: None,
                        });
                        continue;
                    }
                    let value = def_of(value, errors);
                    set.add_path(&attrs, value, path.syntax().text_range(), errors);
                }
                ast::Entry::Inherit(inh) => {
                    let from = inh.from().and_then(|f| f.expr());
                    for attr in inh.attrs() {
                        let r = attr.syntax().text_range();
                        let Some(name) = static_name(&attr) else {
                            errors.push(BuildError {
                                range: r,
                                rule: &crate::rules::NIX_SYNTAX,
                                message: "dynamic attributes are not allowed in `inherit`".into(),
                                first: None,
                            });
                            continue;
                        };
                        if let Some(prev) = set.attrs.get(&name) {
                            errors.push(dup_error(&name, r, prev.def_range));
                            continue;
                        }
                        let value = match &from {
                            Some(e) => DefValue::InheritFrom(e.clone()),
                            None => DefValue::Inherit,
                        };
                        set.attrs.insert(
                            name,
                            AttrDef {
                                name_range: r,
                                def_range: r,
                                value,
                            },
                        );
                    }
                }
            }
        }
        set
    }

    /// Nix's `addAttr`.
    fn add_path(
        &mut self,
        path: &[Seg<'_>],
        value: DefValue,
        entry: TextRange,
        errors: &mut Vec<BuildError>,
    ) {
        let Some((last, init)) = path.split_last() else {
            return;
        };
        let mut set = self;
        let mut shown = Vec::new();
        for seg in init {
            let r = seg.range();
            match (seg.name(), seg) {
                (Some(name), _) => {
                    shown.push(name.clone());
                    let def = set.attrs.entry(name).or_insert_with(|| AttrDef {
                        name_range: r,
                        def_range: entry,
                        value: DefValue::Set(Box::new(SetDef::new(false, entry))),
                    });
                    match &mut def.value {
                        DefValue::Set(inner) => set = inner,
                        _ => {
                            let first = def.def_range;
                            shown.extend(path[shown.len()..].iter().map(Seg::text));
                            errors.push(dup_error(&shown.join("."), entry, first));
                            return;
                        }
                    }
                }
                (None, Seg::Node(attr)) => {
                    shown.push(attr_text(attr));
                    set.dynamic.push(DynDef {
                        name: attr.clone(),
                        value: DefValue::Set(Box::new(SetDef::new(false, entry))),
                    });
                    let Some(DynDef {
                        value: DefValue::Set(inner),
                        ..
                    }) = set.dynamic.last_mut()
                    else {
                        return;
                    };
                    set = inner;
                }
                // An identifier always has a name.
                (None, Seg::Ident(..)) => return,
            }
        }
        let r = last.range();
        match (last.name(), last) {
            (Some(name), _) => match set.attrs.entry(name) {
                std::collections::btree_map::Entry::Vacant(vacant) => {
                    vacant.insert(AttrDef {
                        name_range: r,
                        def_range: entry,
                        value,
                    });
                }
                std::collections::btree_map::Entry::Occupied(mut occupied) => {
                    let name = occupied.key().clone();
                    let existing = occupied.get_mut();
                    match (&mut existing.value, value) {
                        (DefValue::Set(into), DefValue::Set(from)) => {
                            for (n, def) in from.attrs {
                                if let Some(prev) = into.attrs.get(&n) {
                                    errors.push(dup_error(&n, prev.def_range, def.def_range));
                                } else {
                                    into.attrs.insert(n, def);
                                }
                            }
                        }
                        _ => {
                            shown.push(name);
                            errors.push(dup_error(&shown.join("."), entry, existing.def_range));
                        }
                    }
                }
            },
            (None, Seg::Node(attr)) => set.dynamic.push(DynDef {
                name: attr.clone(),
                value,
            }),
            (None, Seg::Ident(..)) => {}
        }
    }
}

/// One attribute of an attr path: an identifier read from the green tree (no
/// cursor), or the node itself.
enum Seg<'a> {
    Ident(&'a str, TextRange),
    Node(ast::Attr),
}

impl Seg<'_> {
    fn range(&self) -> TextRange {
        match self {
            Seg::Ident(_, r) => *r,
            Seg::Node(attr) => attr.syntax().text_range(),
        }
    }

    fn name(&self) -> Option<String> {
        match self {
            Seg::Ident(name, _) => Some((*name).to_string()),
            Seg::Node(attr) => static_name(attr),
        }
    }

    fn text(&self) -> String {
        match self {
            Seg::Ident(name, _) => (*name).to_string(),
            Seg::Node(attr) => attr_text(attr),
        }
    }
}

/// The attributes of an attr path; identifiers only (the common case) are read
/// with their ranges from the green tree, anything else as nodes.
fn segments(path: &ast::Attrpath) -> Vec<Seg<'_>> {
    let ident = rowan::SyntaxKind(SyntaxKind::NODE_IDENT as u16);
    let mut at = path.syntax().text_range().start();
    let mut out = Vec::new();
    for child in path.syntax().green().children() {
        let len = match child {
            rowan::NodeOrToken::Node(n) => {
                let mut tokens = n.children();
                match (n.kind() == ident, tokens.next(), tokens.next()) {
                    (true, Some(rowan::NodeOrToken::Token(t)), None) => {
                        out.push(Seg::Ident(t.text(), TextRange::at(at, n.text_len())));
                    }
                    _ => return path.attrs().map(Seg::Node).collect(),
                }
                n.text_len()
            }
            rowan::NodeOrToken::Token(t) => t.text_len(),
        };
        at += len;
    }
    out
}

fn attr_text(attr: &ast::Attr) -> String {
    static_name(attr).unwrap_or_else(|| attr.syntax().text().to_string())
}

fn dup_error(name: &str, at: TextRange, first: TextRange) -> BuildError {
    BuildError {
        range: at,
        rule: &crate::rules::NIX_DUPLICATE_ATTR,
        message: format!("attribute '{name}' already defined"),
        first: Some(first),
    }
}

/// The definition of a value expression: attrset literals become [`SetDef`]s so
/// that attr paths can merge into them, as Nix does.
fn def_of(value: ast::Expr, errors: &mut Vec<BuildError>) -> DefValue {
    match unparen(value.clone()) {
        ast::Expr::AttrSet(set) => {
            DefValue::Set(Box::new(SetDef::build(&set, is_rec(&set), false, errors)))
        }
        _ => DefValue::Expr(value),
    }
}

/// Turns build errors into diagnostics.
pub(crate) fn build_diagnostics(file: FileId, errors: Vec<BuildError>) -> Vec<Diagnostic> {
    errors
        .into_iter()
        .map(|e| {
            let mut d = Diagnostic::error(e.rule, e.message).with_span(span(file, e.range));
            if let Some(first) = e.first {
                d = d.with_label(span(file, first), "first defined here");
            }
            d
        })
        .collect()
}

/// A parse error as a `nix-syntax` diagnostic.
pub(crate) fn parse_diagnostic(file: FileId, text: &str, err: &rnix::ParseError) -> Diagnostic {
    use rnix::ParseError as P;
    let end = TextRange::empty(rowan::TextSize::from(
        u32::try_from(text.len()).unwrap_or(u32::MAX),
    ));
    let snippet = |r: &TextRange| {
        let s = text
            .get(usize::from(r.start())..usize::from(r.end()))
            .unwrap_or("");
        let s: String = s.chars().take(40).collect();
        s
    };
    let (range, message) = match err {
        P::Unexpected(r) => (*r, format!("unexpected `{}`", snippet(r))),
        P::UnexpectedExtra(r) => (
            *r,
            format!(
                "unexpected `{}` after the end of the expression",
                snippet(r)
            ),
        ),
        P::UnexpectedWanted(_, r, wanted) => (
            *r,
            format!("unexpected `{}`, expected {}", snippet(r), kinds(wanted)),
        ),
        P::UnexpectedDoubleBind(r) => (*r, "the argument set is bound twice (`@`)".to_string()),
        P::UnexpectedEOF => (end, "unexpected end of file".to_string()),
        P::UnexpectedEOFWanted(wanted) => (
            end,
            format!("unexpected end of file, expected {}", kinds(wanted)),
        ),
        P::DuplicatedArgs(r, name) => (*r, format!("duplicate formal function argument '{name}'")),
        P::RecursionLimitExceeded => {
            return Diagnostic::error(
                &crate::rules::NIX_TOO_DEEP,
                "expressions are nested too deeply",
            )
            .with_span(span(file, end))
            .with_help(
                "flatten the expression: the static reader refuses nesting deeper than 512 levels",
            );
        }
        other => (end, other.to_string()),
    };
    Diagnostic::error(
        &crate::rules::NIX_SYNTAX,
        format!("syntax error: {message}"),
    )
    .with_span(span(file, range))
}

fn kinds(wanted: &[SyntaxKind]) -> String {
    // Every token that can start a value: name the category, not rnix's token list.
    if [
        SyntaxKind::TOKEN_L_PAREN,
        SyntaxKind::TOKEN_L_BRACK,
        SyntaxKind::TOKEN_STRING_START,
    ]
    .iter()
    .all(|k| wanted.contains(k))
    {
        return "a value (a string, a number, `{ … }`, `[ … ]`, a name, …)".into();
    }
    let names: Vec<String> = wanted.iter().map(|k| kind_name(*k)).collect();
    if names.is_empty() {
        "something else".into()
    } else {
        names.join(", ")
    }
}

fn kind_name(k: SyntaxKind) -> String {
    use SyntaxKind::*;
    let s = match k {
        TOKEN_SEMICOLON => "`;`",
        TOKEN_ASSIGN => "`=`",
        TOKEN_R_BRACE => "`}`",
        TOKEN_R_BRACK => "`]`",
        TOKEN_R_PAREN => "`)`",
        TOKEN_L_BRACE => "`{`",
        TOKEN_L_BRACK => "`[`",
        TOKEN_L_PAREN => "`(`",
        TOKEN_REC => "`rec`",
        TOKEN_LET => "`let`",
        TOKEN_DOT => "`.`",
        TOKEN_STRING_START => "a string",
        TOKEN_INTEGER => "a number",
        TOKEN_FLOAT => "a number",
        TOKEN_IN => "`in`",
        TOKEN_THEN => "`then`",
        TOKEN_ELSE => "`else`",
        TOKEN_COLON => "`:`",
        TOKEN_COMMA => "`,`",
        TOKEN_IDENT => "an identifier",
        TOKEN_STRING_END => "the end of the string",
        TOKEN_INTERPOL_END => "`}`",
        other => {
            return format!("{other:?}")
                .trim_start_matches("TOKEN_")
                .trim_start_matches("NODE_")
                .to_lowercase();
        }
    };
    s.to_string()
}

/// What a name in scope is bound to, for the static checks.
enum Frame {
    /// Ordinary bindings.
    Names(HashSet<String>),
    /// Arguments of the top-level function without a default.
    Args(HashSet<String>),
    /// Inside `with`: any name may be bound.
    With,
}

/// The static checks: undefined variables (Nix reports them before evaluating) and
/// every construct outside the subset, each with its exact span.
pub(crate) struct Checker {
    file: FileId,
    frames: Vec<Frame>,
    /// Diagnostics found.
    pub diagnostics: Vec<Diagnostic>,
    /// The sets built while checking, for the evaluator to reuse: each attrset
    /// literal or `let` not nested as an attribute value in another one.
    pub prebuilt: HashMap<rnix::SyntaxNode, SetDef>,
}

impl Checker {
    pub(crate) fn new(file: FileId) -> Checker {
        Checker {
            file,
            frames: Vec::new(),
            diagnostics: Vec::new(),
            prebuilt: HashMap::new(),
        }
    }

    fn unsupported(&mut self, r: TextRange, what: &str, detail: &str) {
        self.diagnostics
            .push(unsupported(self.file, r, what, detail));
    }

    /// Checks a file's root expression; `main` allows a top-level `{ … }:` function.
    pub(crate) fn check_root(&mut self, expr: &ast::Expr, main: bool) {
        if let ast::Expr::Lambda(lambda) = unparen(expr.clone())
            && let Some(ast::Param::Pattern(pat)) = lambda.param()
        {
            let mut names = HashSet::new();
            let mut args = HashSet::new();
            for entry in pat.pat_entries() {
                let Some(id) = entry.ident() else { continue };
                let name = id.syntax().text().to_string();
                if entry.default().is_some() {
                    names.insert(name);
                } else {
                    args.insert(name);
                }
            }
            if let Some(bind) = pat.pat_bind().and_then(|b| b.ident()) {
                args.insert(bind.syntax().text().to_string());
            }
            if !main {
                self.unsupported(
                    lambda.syntax().text_range(),
                    "function",
                    " (a file imported from another evaluates to a function)",
                );
            }
            self.frames.push(Frame::Args(args));
            self.frames.push(Frame::Names(names));
            for entry in pat.pat_entries() {
                if let Some(d) = entry.default() {
                    self.expr(&d);
                }
            }
            if let Some(body) = lambda.body() {
                self.expr(&body);
            }
            self.frames.pop();
            self.frames.pop();
            return;
        }
        self.expr(expr);
    }

    fn lookup(&mut self, name: &str, r: TextRange) {
        for frame in self.frames.iter().rev() {
            match frame {
                Frame::Names(n) if n.contains(name) => return,
                Frame::Args(a) if a.contains(name) => {
                    self.unsupported(r, name, ARG_DETAIL);
                    return;
                }
                Frame::With => return,
                _ => {}
            }
        }
        match name {
            "true" | "false" | "null" => {}
            "import" => self.unsupported(r, "import", " as a value (only `import ./file.nix` is)"),
            _ if is_builtin(name) => self.unsupported(r, name, " (builtins are not available)"),
            _ => self.diagnostics.push(
                Diagnostic::error(
                    &crate::rules::NIX_UNDEFINED_VARIABLE,
                    format!("undefined variable '{name}'"),
                )
                .with_span(span(self.file, r)),
            ),
        }
    }

    fn is_bound(&self, name: &str) -> bool {
        self.frames.iter().any(|f| match f {
            Frame::Names(n) => n.contains(name),
            Frame::Args(a) => a.contains(name),
            Frame::With => true,
        })
    }

    fn attr(&mut self, attr: &ast::Attr) {
        match attr {
            ast::Attr::Ident(_) => {}
            ast::Attr::Str(s) => self.string(s),
            ast::Attr::Dynamic(d) => {
                if let Some(e) = d.expr() {
                    self.expr(&e);
                }
            }
        }
    }

    fn string(&mut self, s: &ast::Str) {
        if !strings::has_interpolation(s) {
            return;
        }
        for part in s.parts() {
            if let ast::InterpolPart::Interpolation(i) = part
                && let Some(e) = i.expr()
            {
                self.expr(&e);
            }
        }
    }

    /// `built`: the set was already built as part of an enclosing one (an attrset
    /// literal bound to an attribute), so its build errors were reported there.
    fn entries(&mut self, node: &impl HasEntry, rec: bool, is_let: bool, built: bool) {
        if !built {
            let mut errors = Vec::new();
            let def = SetDef::build(node, rec, is_let, &mut errors);
            if errors.is_empty() {
                self.prebuilt.insert(node.syntax().clone(), def);
            }
            let diags = build_diagnostics(self.file, errors);
            self.diagnostics.extend(diags);
        }
        // One walk over the children (each walk makes a cursor per child).
        let entries: Vec<ast::Entry> = node.entries().collect();
        // `inherit a;` reads the enclosing scope.
        let inherits = entries.iter().filter_map(|e| match e {
            ast::Entry::Inherit(inh) => Some(inh),
            ast::Entry::AttrpathValue(_) => None,
        });
        for inh in inherits {
            if inh.from().is_none() {
                for attr in inh.attrs() {
                    if let Some(name) = static_name(&attr) {
                        self.lookup(&name, attr.syntax().text_range());
                    }
                }
            }
        }
        if rec {
            let mut names = HashSet::new();
            for entry in &entries {
                match entry {
                    ast::Entry::AttrpathValue(apv) => {
                        if let Some(first) = path_value(apv).0.and_then(|p| p.attrs().next())
                            && let Some(name) = static_name(&first)
                        {
                            names.insert(name);
                        }
                    }
                    ast::Entry::Inherit(inh) => {
                        names.extend(inh.attrs().filter_map(|a| static_name(&a)));
                    }
                }
            }
            self.frames.push(Frame::Names(names));
        }
        for entry in &entries {
            match entry {
                ast::Entry::AttrpathValue(apv) => {
                    let (path, value) = path_value(apv);
                    if let Some(path) = path.filter(|p| !only_identifiers(p)) {
                        for a in path.attrs() {
                            self.attr(&a);
                        }
                    }
                    if let Some(v) = value {
                        self.expr_in(&v, true);
                    }
                }
                ast::Entry::Inherit(inh) => {
                    if let Some(e) = inh.from().and_then(|f| f.expr()) {
                        self.expr(&e);
                    }
                }
            }
        }
    }

    /// Checks an expression.
    pub(crate) fn expr(&mut self, e: &ast::Expr) {
        self.expr_in(e, false);
    }

    /// Checks an expression; `bound` when it is the value of an attribute.
    fn expr_in(&mut self, e: &ast::Expr, bound: bool) {
        use ast::Expr as E;
        let r = e.syntax().text_range();
        match e {
            E::Literal(lit) => {
                if let ast::LiteralKind::Uri(_) = lit.kind() {
                    self.unsupported(r, "URI literal", " (write it as a string)");
                }
            }
            E::Str(s) => self.string(s),
            E::Ident(id) => self.lookup(&ident_name(id), r),
            E::List(l) => {
                for item in l.items() {
                    self.expr(&item);
                }
            }
            E::AttrSet(set) => {
                let rec = is_rec(set);
                self.entries(set, rec, false, bound);
                if rec {
                    self.frames.pop();
                }
            }
            E::LetIn(l) => {
                self.entries(l, true, true, false);
                if let Some(body) = l.body() {
                    self.expr(&body);
                }
                self.frames.pop();
            }
            E::LegacyLet(_) => self.unsupported(r, "let { }", " (legacy `let`)"),
            E::Paren(p) => {
                if let Some(inner) = p.expr() {
                    self.expr_in(&inner, bound);
                }
            }
            E::Select(sel) => {
                if let Some(inner) = sel.expr() {
                    self.expr(&inner);
                }
                if let Some(path) = sel.attrpath() {
                    for a in path.attrs() {
                        self.attr(&a);
                    }
                }
                if let Some(or) = sel.or_token() {
                    self.unsupported(
                        or.text_range(),
                        "or",
                        " (a default for a missing attribute)",
                    );
                    if let Some(d) = sel.default_expr() {
                        self.expr(&d);
                    }
                }
            }
            E::BinOp(op) => {
                use ast::BinOpKind as K;
                let kind = op.operator();
                let ok = matches!(
                    kind,
                    Some(K::Concat | K::Update | K::Add | K::Sub | K::Mul | K::Div)
                );
                if !ok {
                    let tok = op
                        .syntax()
                        .children_with_tokens()
                        .filter_map(|c| c.into_token())
                        .find(|t| ast::BinOpKind::from_kind(t.kind()).is_some());
                    let (tr, text) = match tok {
                        Some(t) => (t.text_range(), t.text().to_string()),
                        None => (r, "operator".to_string()),
                    };
                    self.unsupported(tr, &text, "");
                }
                if let Some(l) = op.lhs() {
                    self.expr(&l);
                }
                if let Some(rhs) = op.rhs() {
                    self.expr(&rhs);
                }
            }
            E::UnaryOp(op) => {
                if op.operator() == Some(ast::UnaryOpKind::Invert) {
                    self.unsupported(r, "!", "");
                }
                if let Some(inner) = op.expr() {
                    self.expr(&inner);
                }
            }
            E::Apply(app) => {
                if is_import(app) && !self.is_bound("import") {
                    if let Some(arg) = app.argument().map(unparen)
                        && !import_path_ok(&arg)
                    {
                        if matches!(arg, ast::Expr::PathAbs(_) | ast::Expr::PathRel(_)) {
                            self.unsupported(
                                arg.syntax().text_range(),
                                "import",
                                ": only `import ./file.nix` is supported, not an interpolated path",
                            );
                        } else if matches!(arg, ast::Expr::PathHome(_) | ast::Expr::PathSearch(_)) {
                            self.path(&arg);
                        } else {
                            self.unsupported(
                                r,
                                "import",
                                ": only `import ./file.nix` is supported, not a computed path",
                            );
                            self.expr(&arg);
                        }
                    }
                    return;
                }
                self.unsupported(r, "function call", " (only `import ./file.nix` is)");
                if let Some(f) = app.lambda()
                    && !matches!(unparen(f.clone()), ast::Expr::Ident(_))
                {
                    self.expr(&f);
                }
                if let Some(a) = app.argument() {
                    self.expr(&a);
                }
            }
            E::PathAbs(_) | E::PathRel(_) | E::PathHome(_) | E::PathSearch(_) => self.path(e),
            E::Lambda(_) => self.unsupported(r, "function", " (only a top-level `{ ... }:` is)"),
            E::With(w) => {
                self.unsupported(r, "with", "");
                if let Some(ns) = w.namespace() {
                    self.expr(&ns);
                }
                self.frames.push(Frame::With);
                if let Some(body) = w.body() {
                    self.expr(&body);
                }
                self.frames.pop();
            }
            E::IfElse(_) => self.unsupported(r, "if", ""),
            E::Assert(_) => self.unsupported(r, "assert", ""),
            E::HasAttr(h) => {
                let q = h.question_token().map_or(r, |t| t.text_range());
                self.unsupported(q, "?", " (attribute test)");
            }
            E::CurPos(_) => self.unsupported(r, "__curPos", ""),
            E::Root(root) => {
                if let Some(inner) = root.expr() {
                    self.expr(&inner);
                }
            }
            E::Error(_) => {}
        }
    }

    fn path(&mut self, e: &ast::Expr) {
        let r = e.syntax().text_range();
        match e {
            ast::Expr::PathSearch(_) => self.unsupported(
                r,
                &e.syntax().text().to_string(),
                " (search paths need NIX_PATH)",
            ),
            _ => self.unsupported(
                r,
                "path value",
                " (paths are only supported as the argument of `import`)",
            ),
        }
    }
}

/// `import <something>`.
pub(crate) fn is_import(app: &ast::Apply) -> bool {
    matches!(app.lambda().map(unparen), Some(ast::Expr::Ident(id)) if id.syntax().text() == "import")
}

/// A literal relative or absolute path without interpolation.
pub(crate) fn import_path_ok(arg: &ast::Expr) -> bool {
    matches!(arg, ast::Expr::PathRel(_) | ast::Expr::PathAbs(_))
        && arg.syntax().children().next().is_none()
}
