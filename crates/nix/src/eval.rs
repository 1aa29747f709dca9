//! The lazy evaluator of the static subset. Values are evaluated on demand through
//! memoized thunks (so `rec` and `let` are order-independent, and a thunk forced
//! while being forced is Nix's "infinite recursion"), then forced deeply into a
//! [`Value`] as `--strict` does.
use crate::scan;
use crate::strings::{self, Piece};
use crate::syntax::{self, DefValue, SetDef, span, unparen};
use crate::value::{Attr, Value, ValueKind};
use avalanche_diag::{Diagnostic, FileId, SourceMap, Span};
use rnix::TextRange;
use rnix::ast::{self, AstToken};
use rowan::ast::AstNode;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

/// Deeper evaluation than this is refused (`nix-too-deep`).
const MAX_EVAL_DEPTH: usize = 10_000;

/// Size limits of the static reader (`nix-too-large`): declarations are small, and
/// these keep hostile input cheap to refuse. A file:
pub(crate) const MAX_FILE_BYTES: u64 = 16 << 20;
/// A string value:
const MAX_STRING_BYTES: usize = 1 << 20;
/// A list value:
const MAX_LIST_ITEMS: usize = 100_000;
/// The evaluation budget: values in the evaluated result (a value shared by many
/// attributes counts once per place, as it is copied there: the result of
/// `let b = { x = a; y = a; }; …` doubles with each level) …
const MAX_OUTPUT_VALUES: usize = 1_000_000;
/// … and bytes of its strings.
const MAX_OUTPUT_BYTES: usize = 64 << 20;

const TOO_LARGE_HELP: &str =
    "the static reader refuses input this large; if it is meant, evaluate with `--eval nix`";

/// A `nix-too-large` error.
pub(crate) fn too_large(message: String, at: Option<Span>) -> Diagnostic {
    Diagnostic::error(&crate::rules::NIX_TOO_LARGE, message)
        .with_span(at)
        .with_help(TOO_LARGE_HELP)
}

/// The offset of the first NUL byte of `text`.
fn memchr_nul(text: &str) -> Option<usize> {
    text.bytes().position(|b| b == 0)
}

type Errs = Vec<Diagnostic>;
type R<T> = Result<T, Errs>;

/// A lexical scope.
struct Scope {
    vars: RefCell<HashMap<String, Thunk>>,
    parent: Option<Env>,
    file: FileId,
}
type Env = Rc<Scope>;

/// A memoized, lazily evaluated value.
type Thunk = Rc<RefCell<ThunkState>>;

enum ThunkState {
    Expr(ast::Expr, Env),
    Set(Box<SetDef>, Env),
    /// `inherit (from) name;`: boxed, to keep every thunk small.
    Select(Box<(ast::Expr, String, TextRange)>, Env),
    /// An argument of the top-level function without a default.
    Arg,
    /// Being forced.
    Blackhole(Span),
    Done(V),
}

fn thunk(s: ThunkState) -> Thunk {
    Rc::new(RefCell::new(s))
}

/// A value in weak head normal form.
#[derive(Clone)]
struct V {
    k: K,
    span: Span,
}

type AttrMap = BTreeMap<String, (Span, Thunk)>;

#[derive(Clone)]
enum K {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    List(Rc<Vec<Thunk>>),
    Attrs(Rc<AttrMap>),
    Lambda,
}

fn type_desc(k: &K) -> &'static str {
    match k {
        K::Null => "null",
        K::Bool(_) => "a Boolean",
        K::Int(_) => "an integer",
        K::Float(_) => "a float",
        K::Str(_) => "a string",
        K::List(_) => "a list",
        K::Attrs(_) => "a set",
        K::Lambda => "a function",
    }
}

enum ImportState {
    InProgress,
    Done(V),
}

/// One evaluation: the files read so far and the import stack.
pub(crate) struct Evaluator {
    sources: SourceMap,
    imports: HashMap<PathBuf, ImportState>,
    stack: Vec<PathBuf>,
    depth: usize,
    deep_stack: Vec<(usize, FileId)>,
    /// The attribute names from the root to the value being forced deeply.
    deep_path: Vec<String>,
    /// Values and string bytes of the result so far (the budget).
    output_values: usize,
    output_bytes: usize,
    /// Which attributes of the result are forced (see [`crate::Keep`]).
    pub(crate) keep: crate::Keep,
    names: HashMap<PathBuf, PathBuf>,
    /// Set definitions the checker built, by node (each node is evaluated once:
    /// the subset has no functions).
    prebuilt: HashMap<rnix::SyntaxNode, SetDef>,
}

fn err(rule: &'static avalanche_diag::Rule, message: impl Into<String>, at: Span) -> Errs {
    vec![Diagnostic::error(rule, message).with_span(at)]
}

/// `a/./b/../c` → `a/c`, as Nix's `canonPath` does without touching the disk.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn import_key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        let abs = std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf());
        normalize(&abs)
    })
}

impl Evaluator {
    pub(crate) fn new(sources: SourceMap) -> Evaluator {
        Evaluator {
            sources,
            imports: HashMap::new(),
            stack: Vec::new(),
            depth: 0,
            deep_stack: Vec::new(),
            deep_path: Vec::new(),
            output_values: 0,
            output_bytes: 0,
            keep: crate::keep_all,
            names: HashMap::new(),
            prebuilt: HashMap::new(),
        }
    }

    /// A `nix-too-large` error at `at`. The span is dropped (its place named in the
    /// message instead) when its line is very long, so that rendering the snippet
    /// does not echo the huge input back.
    fn too_large_at(&self, what: String, at: Span) -> Errs {
        let (line, col) = self.sources.line_col(at);
        let line_len = self.sources.line_span(at.file, line);
        if line_len.end - line_len.start > 1000 {
            let shown = self.sources.path(at.file).display().to_string();
            return vec![too_large(format!("{what}, at {shown}:{line}:{col}"), None)];
        }
        vec![too_large(what, Some(at))]
    }

    fn check_string(&self, s: &str, at: Span) -> R<()> {
        if s.len() > MAX_STRING_BYTES {
            return Err(self.too_large_at(
                format!(
                    "a string of {} bytes (the limit is {MAX_STRING_BYTES})",
                    s.len()
                ),
                at,
            ));
        }
        Ok(())
    }

    fn check_list(&self, len: usize, at: Span) -> R<()> {
        if len > MAX_LIST_ITEMS {
            return Err(self.too_large_at(
                format!("a list of {len} elements (the limit is {MAX_LIST_ITEMS})"),
                at,
            ));
        }
        Ok(())
    }

    /// The source map, with the files this evaluation read added.
    pub(crate) fn take_sources(&mut self) -> SourceMap {
        std::mem::take(&mut self.sources)
    }

    /// Evaluates `text` as the file `path` (the main file) and forces it deeply.
    pub(crate) fn run(&mut self, path: &Path, text: String) -> R<Value> {
        let key = import_key(path);
        self.imports.insert(key.clone(), ImportState::InProgress);
        self.names.insert(key.clone(), path.to_path_buf());
        self.stack.push(key.clone());
        let v = self.load(path, text, true)?;
        self.stack.pop();
        self.imports.insert(key, ImportState::Done(v.clone()));
        self.deep(&v)
    }

    /// Parses, checks and evaluates one file to weak head normal form.
    fn load(&mut self, path: &Path, text: String, main: bool) -> R<V> {
        if text.len() as u64 > MAX_FILE_BYTES {
            let size = text.len();
            let file = self.sources.add(path, text);
            return Err(self.too_large_at(
                format!(
                    "{} is {size} bytes (the limit is {MAX_FILE_BYTES})",
                    path.display()
                ),
                Span {
                    file,
                    start: 0,
                    end: 0,
                },
            ));
        }
        // Nix reads source as a C string: a NUL byte ends the file (or the
        // string) there, silently. The static reader does not guess: it is the
        // subset's boundary.
        if let Some(at) = memchr_nul(&text) {
            let file = self.sources.add(path, text);
            return Err(err(
                &crate::rules::NIX_NUL_BYTE,
                "a NUL byte in a Nix file: Nix would silently cut the text here",
                Span {
                    file,
                    start: at as u32,
                    end: at as u32 + 1,
                },
            )
            .into_iter()
            .map(|d| d.with_help("remove the NUL byte (a string cannot hold one in Nix)"))
            .collect());
        }
        let deep_at = scan::too_deep(&text);
        let parse = if deep_at.is_none() {
            Some(rnix::Root::parse(&text))
        } else {
            None
        };
        let file = self.sources.add(path, text);
        if let Some(at) = deep_at {
            return Err(err(
                &crate::rules::NIX_TOO_DEEP,
                format!("expressions are nested more than {} levels deep", scan::MAX_DEPTH),
                Span { file, start: at as u32, end: at as u32 },
            )
            .into_iter()
            .map(|d| d.with_help("flatten the expression; the static reader bounds nesting to stay safe on any input"))
            .collect());
        }
        let Some(parse) = parse else {
            return Err(Vec::new());
        };
        let text = self.sources.text(file);
        // Only the first parse error, as Nix reports it: after it the parser
        // recovers by guessing, and what it reports next (a missing `;`, an
        // unexpected end of file, every closing brace) mostly echoes that mistake.
        let errors: Vec<Diagnostic> = parse
            .errors()
            .iter()
            .take(1)
            .map(|e| syntax::parse_diagnostic(file, text, e))
            .collect();
        if !errors.is_empty() {
            return Err(dedup(errors));
        }
        let root = parse.tree();
        let Some(expr) = root.expr() else {
            return Err(err(
                &crate::rules::NIX_SYNTAX,
                "syntax error: the file holds no expression",
                Span {
                    file,
                    start: 0,
                    end: 0,
                },
            ));
        };
        let mut checker = syntax::Checker::new(file);
        checker.check_root(&expr, main);
        if !checker.diagnostics.is_empty() {
            return Err(dedup(checker.diagnostics));
        }
        self.prebuilt.extend(checker.prebuilt);
        let base = Rc::new(Scope {
            vars: RefCell::new(HashMap::new()),
            parent: None,
            file,
        });
        let inner = unparen(expr.clone());
        if let ast::Expr::Lambda(lambda) = &inner
            && let Some(ast::Param::Pattern(pat)) = lambda.param()
        {
            if !main {
                return Ok(V {
                    k: K::Lambda,
                    span: span(file, lambda.syntax().text_range()),
                });
            }
            let scope = Rc::new(Scope {
                vars: RefCell::new(HashMap::new()),
                parent: Some(base),
                file,
            });
            for entry in pat.pat_entries() {
                let Some(id) = entry.ident() else { continue };
                let t = match entry.default() {
                    Some(d) => thunk(ThunkState::Expr(d, scope.clone())),
                    None => thunk(ThunkState::Arg),
                };
                scope
                    .vars
                    .borrow_mut()
                    .insert(id.syntax().text().to_string(), t);
            }
            if let Some(bind) = pat.pat_bind().and_then(|b| b.ident()) {
                scope
                    .vars
                    .borrow_mut()
                    .insert(bind.syntax().text().to_string(), thunk(ThunkState::Arg));
            }
            let Some(body) = lambda.body() else {
                return Err(err(
                    &crate::rules::NIX_SYNTAX,
                    "syntax error: function without a body",
                    span(file, lambda.syntax().text_range()),
                ));
            };
            return self.eval(&body, &scope);
        }
        self.eval(&expr, &base)
    }

    fn enter(&mut self, at: Span) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_EVAL_DEPTH {
            return Err(vec![
                Diagnostic::error(
                    &crate::rules::NIX_TOO_DEEP,
                    format!("evaluation is nested more than {MAX_EVAL_DEPTH} levels deep"),
                )
                .with_span(at)
                .with_help("a chain of definitions this long is not supported by the static reader; use `--eval nix`"),
            ]);
        }
        Ok(())
    }

    fn force(&mut self, t: &Thunk) -> R<V> {
        let state = {
            let mut b = t.borrow_mut();
            match &*b {
                ThunkState::Done(v) => return Ok(v.clone()),
                ThunkState::Blackhole(at) => {
                    return Err(err(
                        &crate::rules::NIX_INFINITE_RECURSION,
                        "infinite recursion encountered",
                        *at,
                    ));
                }
                ThunkState::Arg => {
                    // The static checks report each use at its place first.
                    return Err(vec![
                        Diagnostic::error(
                            &crate::rules::NIX_UNSUPPORTED,
                            "an argument of the top-level function is used",
                        )
                        .with_help(syntax::UNSUPPORTED_HELP),
                    ]);
                }
                _ => {}
            }
            let at = match &*b {
                ThunkState::Expr(e, env) => span(env.file, e.syntax().text_range()),
                ThunkState::Set(d, env) => span(env.file, d.range),
                ThunkState::Select(sel, env) => span(env.file, sel.2),
                _ => Span {
                    file: FileId(0),
                    start: 0,
                    end: 0,
                },
            };
            std::mem::replace(&mut *b, ThunkState::Blackhole(at))
        };
        let v = match state {
            ThunkState::Expr(e, env) => self.eval(&e, &env)?,
            ThunkState::Set(def, env) => self.materialize(*def, &env)?,
            ThunkState::Select(sel, env) => {
                let (from, name, r) = *sel;
                let set = self.eval(&from, &env)?;
                let at = span(env.file, r);
                self.select_name(&set, &name, at)?
            }
            ThunkState::Arg | ThunkState::Blackhole(_) | ThunkState::Done(_) => {
                return Err(vec![Diagnostic::error(
                    &crate::rules::NIX_INTERNAL,
                    "the static reader reached a state it cannot be in (a bug: please report it)",
                )]);
            }
        };
        *t.borrow_mut() = ThunkState::Done(v.clone());
        Ok(v)
    }

    fn select_name(&mut self, set: &V, name: &str, at: Span) -> R<V> {
        match &set.k {
            K::Attrs(map) => match map.get(name) {
                Some((_, t)) => {
                    let t = t.clone();
                    self.force(&t)
                }
                None => Err(err(
                    &crate::rules::NIX_MISSING_ATTR,
                    format!("attribute '{name}' missing"),
                    at,
                )),
            },
            other => Err(err(
                &crate::rules::NIX_TYPE_ERROR,
                format!("value is {} while a set was expected", type_desc(other)),
                at,
            )),
        }
    }

    fn lookup(&self, name: &str, env: &Env) -> Option<Thunk> {
        let mut scope = Some(env);
        while let Some(s) = scope {
            if let Some(t) = s.vars.borrow().get(name) {
                return Some(t.clone());
            }
            scope = s.parent.as_ref();
        }
        None
    }

    fn builtin_value(name: &str, at: Span) -> Option<V> {
        let k = match name {
            "true" => K::Bool(true),
            "false" => K::Bool(false),
            "null" => K::Null,
            _ => return None,
        };
        Some(V { k, span: at })
    }

    fn var(&mut self, name: &str, at: Span, env: &Env) -> R<V> {
        match self.lookup(name, env) {
            Some(t) => {
                if matches!(&*t.borrow(), ThunkState::Arg) {
                    return Err(vec![syntax::unsupported(
                        at.file,
                        TextRange::new(at.start.into(), at.end.into()),
                        name,
                        syntax::ARG_DETAIL,
                    )]);
                }
                self.force(&t)
            }
            None => match Self::builtin_value(name, at) {
                Some(v) => Ok(v),
                None => Err(err(
                    &crate::rules::NIX_UNDEFINED_VARIABLE,
                    format!("undefined variable '{name}'"),
                    at,
                )),
            },
        }
    }

    fn eval(&mut self, e: &ast::Expr, env: &Env) -> R<V> {
        let at = span(env.file, e.syntax().text_range());
        self.enter(at)?;
        let out = self.eval_inner(e, env, at);
        self.depth -= 1;
        out
    }

    fn eval_inner(&mut self, e: &ast::Expr, env: &Env, at: Span) -> R<V> {
        use ast::Expr as E;
        let file = env.file;
        let unsupported = |what: &str| -> Errs {
            vec![syntax::unsupported(file, e.syntax().text_range(), what, "")]
        };
        match e {
            E::Literal(lit) => match lit.kind() {
                ast::LiteralKind::Integer(i) => match i.value() {
                    Ok(n) => Ok(V {
                        k: K::Int(n),
                        span: at,
                    }),
                    Err(_) => Err(err(
                        &crate::rules::NIX_SYNTAX,
                        format!("invalid integer '{}'", i.syntax().text()),
                        at,
                    )),
                },
                ast::LiteralKind::Float(f) => match f.value() {
                    Ok(x) if x.is_finite() => Ok(V {
                        k: K::Float(x),
                        span: at,
                    }),
                    _ => Err(err(
                        &crate::rules::NIX_SYNTAX,
                        format!("invalid float '{}'", f.syntax().text()),
                        at,
                    )),
                },
                ast::LiteralKind::Uri(_) => Err(unsupported("URI literal")),
            },
            E::Str(s) => {
                if let Some(text) = strings::plain(s) {
                    self.check_string(&text, at)?;
                    return Ok(V {
                        k: K::Str(text),
                        span: at,
                    });
                }
                let mut out = String::new();
                for piece in strings::pieces(s) {
                    match piece {
                        Piece::Text(t) => out.push_str(&t),
                        Piece::Interp(i) => {
                            let Some(inner) = i.expr() else { continue };
                            let v = self.eval(&inner, env)?;
                            match &v.k {
                                K::Str(s) => out.push_str(s),
                                other => {
                                    return Err(err(
                                        &crate::rules::NIX_TYPE_ERROR,
                                        format!("cannot coerce {} to a string", type_desc(other)),
                                        span(file, i.syntax().text_range()),
                                    ));
                                }
                            }
                        }
                    }
                }
                self.check_string(&out, at)?;
                Ok(V {
                    k: K::Str(out.into()),
                    span: at,
                })
            }
            E::Ident(id) => self.var(&syntax::ident_name(id), at, env),
            E::List(l) => {
                let items: Vec<Thunk> = l
                    .items()
                    .take(MAX_LIST_ITEMS + 1)
                    .map(|item| thunk(ThunkState::Expr(item, env.clone())))
                    .collect();
                self.check_list(items.len(), at)?;
                Ok(V {
                    k: K::List(Rc::new(items)),
                    span: at,
                })
            }
            E::AttrSet(set) => {
                let def = match self.prebuilt.remove(set.syntax()) {
                    Some(def) => def,
                    None => {
                        let mut errors = Vec::new();
                        let def = SetDef::build(set, syntax::is_rec(set), false, &mut errors);
                        if !errors.is_empty() {
                            return Err(syntax::build_diagnostics(file, errors));
                        }
                        def
                    }
                };
                self.materialize(def, env)
            }
            E::LetIn(l) => {
                let def = match self.prebuilt.remove(l.syntax()) {
                    Some(def) => def,
                    None => {
                        let mut errors = Vec::new();
                        let def = SetDef::build(l, true, true, &mut errors);
                        if !errors.is_empty() {
                            return Err(syntax::build_diagnostics(file, errors));
                        }
                        def
                    }
                };
                let scope = Rc::new(Scope {
                    vars: RefCell::new(HashMap::new()),
                    parent: Some(env.clone()),
                    file,
                });
                let mut vars = HashMap::new();
                for (name, ad) in def.attrs {
                    let t = self.def_thunk(ad.value, &name, ad.name_range, &scope, env)?;
                    vars.insert(name, t);
                }
                *scope.vars.borrow_mut() = vars;
                let Some(body) = l.body() else {
                    return Err(err(
                        &crate::rules::NIX_SYNTAX,
                        "syntax error: `let` without a body",
                        at,
                    ));
                };
                self.eval(&body, &scope)
            }
            E::Paren(p) => match p.expr() {
                Some(inner) => self.eval(&inner, env),
                None => Err(err(
                    &crate::rules::NIX_SYNTAX,
                    "syntax error: empty parentheses",
                    at,
                )),
            },
            E::Select(sel) => {
                if sel.or_token().is_some() {
                    return Err(unsupported("or"));
                }
                let (Some(inner), Some(path)) = (sel.expr(), sel.attrpath()) else {
                    return Err(err(
                        &crate::rules::NIX_SYNTAX,
                        "syntax error: incomplete selection",
                        at,
                    ));
                };
                let mut v = self.eval(&inner, env)?;
                for attr in path.attrs() {
                    let name = self.attr_name(&attr, env)?;
                    let Some(name) = name else {
                        return Err(err(
                            &crate::rules::NIX_TYPE_ERROR,
                            "value is null while a string was expected",
                            at,
                        ));
                    };
                    // Nix reports a missing attribute at the selection.
                    v = self.select_name(&v, &name, at)?;
                }
                Ok(v)
            }
            E::BinOp(op) => self.binop(op, env, at),
            E::UnaryOp(op) => {
                let Some(inner) = op.expr() else {
                    return Err(err(
                        &crate::rules::NIX_SYNTAX,
                        "syntax error: operator without an operand",
                        at,
                    ));
                };
                match op.operator() {
                    Some(ast::UnaryOpKind::Negate) => {
                        let v = self.eval(&inner, env)?;
                        if !matches!(v.k, K::Int(_) | K::Float(_)) {
                            return Err(type_err(&v.k, "an integer", at));
                        }
                        // Nix parses `-e` as `__sub 0 e`.
                        let zero = V {
                            k: K::Int(0),
                            span: at,
                        };
                        arith(ast::BinOpKind::Sub, &zero, &v, at)
                    }
                    _ => Err(unsupported("!")),
                }
            }
            E::Apply(app) => {
                if syntax::is_import(app)
                    && self.lookup("import", env).is_none()
                    && let Some(arg) = app.argument().map(unparen)
                    && syntax::import_path_ok(&arg)
                {
                    return self.import(&arg, env, at);
                }
                Err(unsupported("function call"))
            }
            E::Root(root) => match root.expr() {
                Some(inner) => self.eval(&inner, env),
                None => Err(err(
                    &crate::rules::NIX_SYNTAX,
                    "syntax error: no expression",
                    at,
                )),
            },
            E::Lambda(_) => Err(unsupported("function")),
            E::With(_) => Err(unsupported("with")),
            E::IfElse(_) => Err(unsupported("if")),
            E::Assert(_) => Err(unsupported("assert")),
            E::HasAttr(_) => Err(unsupported("?")),
            E::LegacyLet(_) => Err(unsupported("let { }")),
            E::CurPos(_) => Err(unsupported("__curPos")),
            E::PathAbs(_) | E::PathRel(_) | E::PathHome(_) | E::PathSearch(_) => {
                Err(unsupported("path value"))
            }
            E::Error(_) => Err(err(&crate::rules::NIX_SYNTAX, "syntax error", at)),
        }
    }

    /// The name an attribute stands for; `None` when a dynamic name is `null`.
    fn attr_name(&mut self, attr: &ast::Attr, env: &Env) -> R<Option<String>> {
        if let Some(name) = syntax::static_name(attr) {
            return Ok(Some(name));
        }
        let file = env.file;
        let v = match attr {
            ast::Attr::Dynamic(d) => match d.expr() {
                Some(inner) => self.eval(&inner, env)?,
                None => {
                    return Err(err(
                        &crate::rules::NIX_SYNTAX,
                        "syntax error: empty `${}`",
                        span(file, d.syntax().text_range()),
                    ));
                }
            },
            ast::Attr::Str(s) => self.eval(&ast::Expr::Str(s.clone()), env)?,
            ast::Attr::Ident(i) => return Ok(Some(i.syntax().text().to_string())),
        };
        match v.k {
            K::Str(s) => Ok(Some(s.to_string())),
            K::Null => Ok(None),
            other => Err(err(
                &crate::rules::NIX_TYPE_ERROR,
                format!("value is {} while a string was expected", type_desc(&other)),
                span(file, attr.syntax().text_range()),
            )),
        }
    }

    fn def_thunk(
        &mut self,
        value: DefValue,
        name: &str,
        name_range: TextRange,
        venv: &Env,
        ienv: &Env,
    ) -> R<Thunk> {
        Ok(match value {
            DefValue::Expr(e) => thunk(ThunkState::Expr(e, venv.clone())),
            DefValue::Set(def) => thunk(ThunkState::Set(def, venv.clone())),
            DefValue::InheritFrom(e) => thunk(ThunkState::Select(
                Box::new((e, name.to_string(), name_range)),
                venv.clone(),
            )),
            DefValue::Inherit => match self.lookup(name, ienv) {
                Some(t) => t,
                None => {
                    let at = span(ienv.file, name_range);
                    match Self::builtin_value(name, at) {
                        Some(v) => thunk(ThunkState::Done(v)),
                        None => {
                            return Err(err(
                                &crate::rules::NIX_UNDEFINED_VARIABLE,
                                format!("undefined variable '{name}'"),
                                at,
                            ));
                        }
                    }
                }
            },
        })
    }

    /// Evaluates an attrset definition in `env`.
    fn materialize(&mut self, def: SetDef, env: &Env) -> R<V> {
        let file = env.file;
        let at = span(file, def.range);
        let venv = if def.rec {
            Rc::new(Scope {
                vars: RefCell::new(HashMap::new()),
                parent: Some(env.clone()),
                file,
            })
        } else {
            env.clone()
        };
        let mut entries = Vec::with_capacity(def.attrs.len());
        for (name, ad) in def.attrs {
            let t = self.def_thunk(ad.value, &name, ad.name_range, &venv, env)?;
            entries.push((name, (span(file, ad.name_range), t)));
        }
        let mut map: AttrMap = entries.into_iter().collect();
        if def.rec {
            *venv.vars.borrow_mut() = map
                .iter()
                .map(|(k, (_, t))| (k.clone(), t.clone()))
                .collect();
        }
        for dd in def.dynamic {
            let r = dd.name.syntax().text_range();
            let Some(name) = self.attr_name(&dd.name, &venv)? else {
                continue;
            };
            if let Some((first, _)) = map.get(&name) {
                let first = *first;
                return Err(vec![
                    Diagnostic::error(
                        &crate::rules::NIX_DUPLICATE_ATTR,
                        format!("dynamic attribute '{name}' already defined"),
                    )
                    .with_span(span(file, r))
                    .with_label(first, "first defined here"),
                ]);
            }
            let t = self.def_thunk(dd.value, &name, r, &venv, env)?;
            map.insert(name, (span(file, r), t));
        }
        Ok(V {
            k: K::Attrs(Rc::new(map)),
            span: at,
        })
    }

    fn binop(&mut self, op: &ast::BinOp, env: &Env, at: Span) -> R<V> {
        use ast::BinOpKind as B;
        let file = env.file;
        let (Some(lhs), Some(rhs), Some(kind)) = (op.lhs(), op.rhs(), op.operator()) else {
            return Err(err(
                &crate::rules::NIX_SYNTAX,
                "syntax error: incomplete operator",
                at,
            ));
        };
        let l = self.eval(&lhs, env)?;
        let r = self.eval(&rhs, env)?;
        let lspan = span(file, lhs.syntax().text_range());
        let rspan = span(file, rhs.syntax().text_range());
        match kind {
            B::Update => match (&l.k, &r.k) {
                (K::Attrs(a), K::Attrs(b)) => {
                    if a.is_empty() {
                        return Ok(V {
                            k: r.k.clone(),
                            span: at,
                        });
                    }
                    if b.is_empty() {
                        return Ok(V {
                            k: l.k.clone(),
                            span: at,
                        });
                    }
                    let mut m = (**a).clone();
                    for (k, v) in b.iter() {
                        m.insert(k.clone(), v.clone());
                    }
                    Ok(V {
                        k: K::Attrs(Rc::new(m)),
                        span: at,
                    })
                }
                (K::Attrs(_), other) => Err(type_err(other, "a set", at)),
                (other, _) => Err(type_err(other, "a set", at)),
            },
            B::Concat => match (&l.k, &r.k) {
                (K::List(a), K::List(b)) => {
                    self.check_list(a.len() + b.len(), at)?;
                    let mut items = (**a).clone();
                    items.extend(b.iter().cloned());
                    Ok(V {
                        k: K::List(Rc::new(items)),
                        span: at,
                    })
                }
                (K::List(_), other) => Err(type_err(other, "a list", at)),
                (other, _) => Err(type_err(other, "a list", at)),
            },
            B::Add => match (&l.k, &r.k) {
                (K::Str(a), K::Str(b)) => {
                    let mut s = String::with_capacity(a.len() + b.len());
                    s.push_str(a);
                    s.push_str(b);
                    self.check_string(&s, at)?;
                    Ok(V {
                        k: K::Str(s.into()),
                        span: at,
                    })
                }
                (K::Str(_), other) => Err(err(
                    &crate::rules::NIX_TYPE_ERROR,
                    format!("cannot coerce {} to a string", type_desc(other)),
                    rspan,
                )),
                (K::Int(_) | K::Float(_), K::Int(_) | K::Float(_)) => arith(B::Add, &l, &r, at),
                (K::Int(_), other) => Err(err(
                    &crate::rules::NIX_TYPE_ERROR,
                    format!("cannot add {} to an integer", type_desc(other)),
                    rspan,
                )),
                (K::Float(_), other) => Err(err(
                    &crate::rules::NIX_TYPE_ERROR,
                    format!("cannot add {} to a float", type_desc(other)),
                    rspan,
                )),
                (other, _) => Err(err(
                    &crate::rules::NIX_TYPE_ERROR,
                    format!("cannot coerce {} to a string", type_desc(other)),
                    lspan,
                )),
            },
            B::Sub | B::Mul | B::Div => {
                // Nix's `__sub`/`__mul`/`__div`: floats if either side is one.
                let expected = if matches!(l.k, K::Float(_)) || matches!(r.k, K::Float(_)) {
                    "a float"
                } else {
                    "an integer"
                };
                if !matches!(l.k, K::Int(_) | K::Float(_)) {
                    return Err(type_err(&l.k, expected, at));
                }
                if !matches!(r.k, K::Int(_) | K::Float(_)) {
                    return Err(type_err(&r.k, expected, at));
                }
                arith(kind, &l, &r, at)
            }
            _ => Err(vec![syntax::unsupported(
                file,
                op.syntax().text_range(),
                "operator",
                "",
            )]),
        }
    }

    fn import(&mut self, arg: &ast::Expr, env: &Env, at: Span) -> R<V> {
        let file = env.file;
        let rel = arg.syntax().text().to_string();
        let importer = self.sources.path(file).to_path_buf();
        let target = if Path::new(&rel).is_absolute() {
            normalize(Path::new(&rel))
        } else {
            normalize(&importer.parent().unwrap_or(Path::new("")).join(&rel))
        };
        let target = if target.is_dir() {
            target.join("default.nix")
        } else {
            target
        };
        let key = import_key(&target);
        match self.imports.get(&key) {
            Some(ImportState::Done(v)) => return Ok(v.clone()),
            Some(ImportState::InProgress) => {
                let start = self.stack.iter().position(|k| *k == key).unwrap_or(0);
                let mut chain: Vec<String> =
                    self.stack[start..].iter().map(|k| self.shown(k)).collect();
                chain.push(self.shown(&key));
                return Err(vec![
                    Diagnostic::error(
                        &crate::rules::NIX_IMPORT_CYCLE,
                        format!("import cycle: {}", chain.join(" -> ")),
                    )
                    .with_span(at)
                    .with_note("Nix reports this as infinite recursion"),
                ]);
            }
            None => {}
        }
        let text = match crate::read_nix_file(&target, &mut self.sources) {
            Ok(t) => t,
            // Unreadable: reported where the import is written.
            Err(d) if d.span.is_none() => {
                return Err(err(&crate::rules::NIX_IMPORT, d.message, at));
            }
            // Too large, not UTF-8: reported in the file, with where it is imported.
            Err(d) => {
                let (line, col) = self.sources.line_col(at);
                let importer = self.sources.path(at.file).display().to_string();
                return Err(vec![
                    d.with_note(format!("imported at {importer}:{line}:{col}")),
                ]);
            }
        };
        self.imports.insert(key.clone(), ImportState::InProgress);
        self.names.insert(key.clone(), target.clone());
        self.stack.push(key.clone());
        let out = self.load(&target, text, false);
        self.stack.pop();
        let v = out?;
        self.imports.insert(key, ImportState::Done(v.clone()));
        Ok(v)
    }

    /// How an import key is shown: the path it was read under.
    fn shown(&self, key: &Path) -> String {
        self.names
            .get(key)
            .unwrap_or(&key.to_path_buf())
            .display()
            .to_string()
    }

    /// Forces a value deeply into a [`Value`].
    fn deep(&mut self, v: &V) -> R<Value> {
        self.enter(v.span)?;
        let out = self.deep_inner(v);
        self.depth -= 1;
        out
    }

    /// The `nix-too-large` error of an exhausted evaluation budget, at `at`,
    /// naming the attribute being forced.
    fn over_budget(&self, what: String, at: Span) -> Errs {
        let place = if self.deep_path.is_empty() {
            String::new()
        } else {
            format!(" (while evaluating `{}`)", self.deep_path.join("."))
        };
        self.too_large_at(format!("{what}{place}"), at)
            .into_iter()
            .map(|d| {
                d.with_note(
                    "a value used at many places is copied to each of them: sets that refer to one another twice per level double with each level",
                )
            })
            .collect()
    }

    fn deep_inner(&mut self, v: &V) -> R<Value> {
        self.output_values += 1;
        if self.output_values > MAX_OUTPUT_VALUES {
            return Err(self.over_budget(
                format!("the evaluated value holds more than {MAX_OUTPUT_VALUES} values"),
                v.span,
            ));
        }
        if let K::Str(s) = &v.k {
            self.output_bytes += s.len();
            if self.output_bytes > MAX_OUTPUT_BYTES {
                return Err(self.over_budget(
                    format!(
                        "the evaluated value holds more than {MAX_OUTPUT_BYTES} bytes of strings"
                    ),
                    v.span,
                ));
            }
        }
        let kind = match &v.k {
            K::Null => ValueKind::Null,
            K::Bool(b) => ValueKind::Bool(*b),
            K::Int(i) => ValueKind::Int(*i),
            K::Float(f) => ValueKind::Float(*f),
            K::Str(s) => ValueKind::String(s.to_string()),
            K::Lambda => {
                return Err(err(
                    &crate::rules::NIX_TYPE_ERROR,
                    "cannot convert a function to JSON",
                    v.span,
                ));
            }
            K::List(items) => {
                let ptr = Rc::as_ptr(items) as usize;
                self.cycle_check(ptr, v.span)?;
                self.deep_stack.push((ptr, v.span.file));
                let mut out = Vec::with_capacity(items.len());
                for t in items.iter() {
                    let item = self.force(t)?;
                    out.push(self.deep(&item)?);
                }
                self.deep_stack.pop();
                ValueKind::List(out)
            }
            K::Attrs(map) => {
                let ptr = Rc::as_ptr(map) as usize;
                self.cycle_check(ptr, v.span)?;
                self.deep_stack.push((ptr, v.span.file));
                let mut out = Vec::with_capacity(map.len());
                for (name, (name_span, t)) in map.iter() {
                    self.deep_path.push(name.to_string());
                    let value = if (self.keep)(&self.deep_path) {
                        let item = self.force(t)?;
                        self.deep(&item)?
                    } else {
                        // Not wanted: never evaluated (see `Keep`).
                        Value {
                            kind: ValueKind::Null,
                            span: Some(*name_span),
                        }
                    };
                    self.deep_path.pop();
                    out.push((
                        name.clone(),
                        Attr {
                            name_span: Some(*name_span),
                            value,
                        },
                    ));
                }
                self.deep_stack.pop();
                // Already sorted: collecting builds the tree in bulk.
                ValueKind::Attrs(out.into_iter().collect())
            }
        };
        Ok(Value {
            kind,
            span: Some(v.span),
        })
    }

    fn cycle_check(&self, ptr: usize, at: Span) -> R<()> {
        let Some(start) = self.deep_stack.iter().position(|(p, _)| *p == ptr) else {
            return Ok(());
        };
        let mut files: Vec<FileId> = Vec::new();
        for (_, f) in &self.deep_stack[start..] {
            if files.last() != Some(f) {
                files.push(*f);
            }
        }
        if files.len() > 1 {
            let mut names: Vec<String> = files
                .iter()
                .map(|f| self.sources.path(*f).display().to_string())
                .collect();
            names.push(names[0].clone());
            return Err(err(
                &crate::rules::NIX_IMPORT_CYCLE,
                format!(
                    "import cycle: {} (the value contains itself)",
                    names.join(" -> ")
                ),
                at,
            ));
        }
        Err(err(
            &crate::rules::NIX_INFINITE_RECURSION,
            "infinite recursion encountered: the value contains itself",
            at,
        ))
    }
}

fn type_err(k: &K, expected: &str, at: Span) -> Errs {
    err(
        &crate::rules::NIX_TYPE_ERROR,
        format!("value is {} while {expected} was expected", type_desc(k)),
        at,
    )
}

fn arith(kind: ast::BinOpKind, l: &V, r: &V, at: Span) -> R<V> {
    use ast::BinOpKind as B;
    let k = match (&l.k, &r.k) {
        (K::Int(a), K::Int(b)) => match kind {
            B::Add => K::Int(a.wrapping_add(*b)),
            B::Sub => K::Int(a.wrapping_sub(*b)),
            B::Mul => K::Int(a.wrapping_mul(*b)),
            _ => {
                if *b == 0 {
                    return Err(err(
                        &crate::rules::NIX_DIVISION_BY_ZERO,
                        "division by zero",
                        at,
                    ));
                }
                if *a == i64::MIN && *b == -1 {
                    return Err(err(
                        &crate::rules::NIX_OVERFLOW,
                        "overflow in integer division",
                        at,
                    ));
                }
                K::Int(a.wrapping_div(*b))
            }
        },
        _ => {
            let a = as_f64(&l.k);
            let b = as_f64(&r.k);
            match kind {
                B::Add => K::Float(a + b),
                B::Sub => K::Float(a - b),
                B::Mul => K::Float(a * b),
                _ => {
                    if b == 0.0 {
                        return Err(err(
                            &crate::rules::NIX_DIVISION_BY_ZERO,
                            "division by zero",
                            at,
                        ));
                    }
                    K::Float(a / b)
                }
            }
        }
    };
    Ok(V { k, span: at })
}

fn as_f64(k: &K) -> f64 {
    match k {
        K::Int(i) => *i as f64,
        K::Float(f) => *f,
        _ => f64::NAN,
    }
}

/// Drops repeated diagnostics (same rule and span), keeping the first.
fn dedup(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    diags
        .into_iter()
        .filter(|d| {
            seen.insert((
                d.rule,
                d.span.map(|s| (s.file, s.start, s.end)),
                d.message.clone(),
            ))
        })
        .collect()
}
