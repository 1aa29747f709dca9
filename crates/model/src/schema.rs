//! The declaration schema: every option of `avalanche.network`, written once.
//!
//! [`NETWORK`] and the groups below it (the table in `schema/table.rs`) name each
//! option with its type, default, example and description. Two things are derived
//! from it and from nothing else:
//! - the decoder's knowledge of which attributes exist where ([`Group::knows`],
//!   [`Group::reads`]): an attribute missing from the table is `model-unknown-attribute`;
//! - the Nix options module `nix/modules/options.generated.nix` ([`nix_module`]), which
//!   `nix/modules/network-options.nix` imports (it adds only the assertions).
//!
//! The generated file is committed so the flake needs no Rust to evaluate; a unit test
//! regenerates the text and fails when the committed file differs (see
//! [`GENERATED_PATH`] for the command that rewrites it). What the decoder does with a
//! value (its parsing, its default) is the decoder's; tests hold the two together: the
//! default each option documents is the one the decoder applies, every example it
//! shows decodes, and a value of another type is refused.
//!
//! Adding an option: a row in the table, the field in `network.rs`, its decoding in
//! `decode.rs`, then regenerate.

use crate::decode::{nix_attr, nix_string};
use std::fmt::Write as _;

mod table;
pub use table::*;

/// The repository-relative path of the generated Nix options module, and how to
/// rewrite it after changing the table.
pub const GENERATED_PATH: &str = "nix/modules/options.generated.nix";

/// The repository-relative path of the generated defaults for the other Nix modules
/// ([`crate::defaults::NIX`]).
pub const DEFAULTS_PATH: &str = "nix/modules/defaults.nix";

/// The repository-relative path of the generated Nix data: the lists of allowed
/// names the Rust model owns, which `network-options.nix`'s assertions read (an
/// options module cannot hand a value to another one; a plain file can).
pub const GENERATED_DATA_PATH: &str = "nix/modules/data.generated.nix";

/// The command that rewrites [`GENERATED_PATH`], [`DEFAULTS_PATH`] and [`GENERATED_DATA_PATH`].
pub const REGENERATE: &str = "AVALANCHE_REGENERATE=1 cargo test -p avalanche-model schema";

/// An attribute set of options: the network itself, a section (`kubernetes.argocd`)
/// or the options of each entry of a set of named things (`egress.proxies.<name>`).
#[derive(Debug)]
pub struct Group {
    /// The name of the submodule in the generated Nix (`proxy`), and of the group in tests.
    pub name: &'static str,
    /// The options, in the order the decoder lists them in its messages.
    pub options: &'static [Opt],
    /// Attributes that were removed or renamed: no option any more, but the decoder
    /// still recognises them to say what replaced them.
    pub removed: &'static [&'static str],
}

/// One option.
#[derive(Debug)]
pub struct Opt {
    /// The attribute name.
    pub name: &'static str,
    /// Its type ([`Ty::Group`] for a plain nested set of options).
    pub ty: Ty,
    /// Its default.
    pub default: Default,
    /// An example value, as Nix source (several lines: shown as written).
    pub example: Option<&'static str>,
    /// What it is for (Markdown, one paragraph).
    pub description: &'static str,
}

/// The type of an option, as nixpkgs' `lib.types` (and `nix/modules/types.nix`) spell it.
#[derive(Debug)]
pub enum Ty {
    /// `lib.types.str`.
    Str,
    /// `lib.types.bool`.
    Bool,
    /// `lib.types.number` (an integer or a float).
    Number,
    /// `lib.types.port`.
    Port,
    /// `lib.types.ints.u16`.
    U16,
    /// `lib.types.ints.u32`.
    U32,
    /// A DNS-1123 label (`types.nix`).
    DnsLabel,
    /// A CIDR (`types.nix`).
    Cidr,
    /// A Go duration (`types.nix`).
    Duration,
    /// A Go duration that is not a bare `0` (`types.nix`): a Flux interval,
    /// which its CRD wants with a unit and which `0` would never reconcile.
    Interval,
    /// `IP:PORT` or `:PORT` (`types.nix`).
    ListenAddress,
    /// `tag:<name>` (`types.nix`).
    TailscaleTag,
    /// One of these strings (a Rust enum's `NAMES`).
    Enum(&'static [&'static str]),
    /// `null` or the type.
    NullOr(&'static Ty),
    /// A list of the type.
    ListOf(&'static Ty),
    /// One value of the type or a non-empty list of them (`lib.types.coercedTo T
    /// lib.toList (nonEmptyListOf T)`: a list once evaluated).
    OneOrListOf(&'static Ty),
    /// An attribute set of the type (by name).
    AttrsOf(&'static Ty),
    /// A submodule with these options.
    Submodule(&'static Group),
    /// Not an option: a nested set of options (`kubernetes.argocd`).
    Group(&'static Group),
}

/// What an option is when it is not set.
#[derive(Debug)]
pub enum Default {
    /// Nothing: the option must be set.
    Required,
    /// This value.
    Is(Lit),
    /// `null` in Nix; the Rust model computes it from other options (the text says how).
    Computed(&'static str),
}

/// A default value.
#[derive(Debug)]
pub enum Lit {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(&'static str),
    /// A list.
    List(&'static [Lit]),
    /// A list of strings.
    Strings(&'static [&'static str]),
    /// An attribute set.
    Attrs(&'static [(&'static str, Lit)]),
    /// The attribute name of the entry the option belongs to (`egress.proxies.<name>`).
    Name,
    /// That name after a prefix (`"wg-${name}"`).
    NameAfter(&'static str),
}

impl Group {
    /// A group of options, none removed.
    pub const fn new(name: &'static str, options: &'static [Opt]) -> Group {
        Group {
            name,
            options,
            removed: &[],
        }
    }

    /// The same group, still recognising these removed attributes.
    pub const fn with_removed(self, removed: &'static [&'static str]) -> Group {
        Group { removed, ..self }
    }

    /// The option named `key`.
    pub fn get(&self, key: &str) -> Option<&'static Opt> {
        self.options.iter().find(|o| o.name == key)
    }

    /// The option names, in order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.options.iter().map(|o| o.name)
    }

    /// Whether the decoder accepts the attribute `key` here (an option, or a removed
    /// attribute it reports as such).
    pub fn knows(&self, key: &str) -> bool {
        self.get(key).is_some() || self.removed.contains(&key)
    }

    /// Whether the decoder reads the value at `path` below this group (attribute names,
    /// one for each entry of a set of named things; lists add none). Paths below an
    /// unknown attribute are not read: the decoder rejects it unread.
    pub fn reads(&self, path: &[&str]) -> bool {
        let [key, rest @ ..] = path else {
            return true;
        };
        if self.removed.contains(key) {
            return true;
        }
        self.get(key).is_some_and(|o| o.ty.reads(rest))
    }
}

impl Ty {
    fn reads(&self, path: &[&str]) -> bool {
        match self {
            Ty::Group(g) | Ty::Submodule(g) => g.reads(path),
            Ty::NullOr(t) | Ty::ListOf(t) | Ty::OneOrListOf(t) => t.reads(path),
            Ty::AttrsOf(t) => match path {
                [] => true,
                [_, rest @ ..] => t.reads(rest),
            },
            _ => true,
        }
    }

    /// Whether the type is a submodule or holds one (`attrsOf (submodule …)`).
    pub fn submodule(&self) -> Option<&'static Group> {
        match self {
            Ty::Submodule(g) => Some(g),
            Ty::NullOr(t) | Ty::ListOf(t) | Ty::OneOrListOf(t) | Ty::AttrsOf(t) => t.submodule(),
            _ => None,
        }
    }
}

impl Lit {
    /// Whether the value names the entry it belongs to.
    fn mentions_name(&self) -> bool {
        match self {
            Lit::Name | Lit::NameAfter(_) => true,
            Lit::List(xs) => xs.iter().any(Lit::mentions_name),
            Lit::Attrs(xs) => xs.iter().any(|(_, x)| x.mentions_name()),
            _ => false,
        }
    }

    fn nix(&self) -> String {
        match self {
            Lit::Null => "null".to_owned(),
            Lit::Bool(b) => b.to_string(),
            Lit::Int(i) => i.to_string(),
            Lit::Float(f) => format!("{f:?}"),
            Lit::Str(s) => nix_string(s),
            Lit::List([]) => "[ ]".to_owned(),
            Lit::List(xs) => {
                let items: Vec<String> = xs.iter().map(Lit::nix).collect();
                format!("[ {} ]", items.join(" "))
            }
            Lit::Strings([]) => "[ ]".to_owned(),
            Lit::Strings(xs) => {
                let items: Vec<String> = xs.iter().map(|s| nix_string(s)).collect();
                format!("[ {} ]", items.join(" "))
            }
            Lit::Attrs([]) => "{ }".to_owned(),
            Lit::Attrs(xs) => {
                let items: Vec<String> = xs
                    .iter()
                    .map(|(k, v)| format!("{} = {};", nix_attr(k), v.nix()))
                    .collect();
                format!("{{ {} }}", items.join(" "))
            }
            Lit::Name => "name".to_owned(),
            Lit::NameAfter(prefix) => {
                // `"wg-${name}"`: the prefix's literal, opened up for the interpolation.
                let quoted = nix_string(prefix);
                format!("{}${{name}}\"", &quoted[..quoted.len() - 1])
            }
        }
    }
}

/// Every option, depth first: its dotted path below `avalanche.network` (`<name>` for
/// an entry of a set of named things; options inside a list's or a nullable
/// submodule are not listed, as nixpkgs' option tree does not list them) and the option.
pub fn options() -> Vec<(String, &'static Opt)> {
    fn walk(group: &'static Group, prefix: &str, out: &mut Vec<(String, &'static Opt)>) {
        for opt in group.options {
            let path = if prefix.is_empty() {
                opt.name.to_owned()
            } else {
                format!("{prefix}.{}", opt.name)
            };
            match &opt.ty {
                Ty::Group(g) => walk(g, &path, out),
                Ty::AttrsOf(Ty::Submodule(g)) => {
                    out.push((path.clone(), opt));
                    walk(g, &format!("{path}.<name>"), out);
                }
                _ => out.push((path, opt)),
            }
        }
    }
    let mut out = Vec::new();
    walk(&NETWORK, "", &mut out);
    out
}

// ---------------------------------------------------------------- the Nix module

/// The text of `nix/modules/options.generated.nix`: the `avalanche.network` options
/// as `lib.mkOption`s, each submodule a `let` binding named after its group.
pub fn nix_module() -> String {
    let mut out = format!(
        "# GENERATED from crates/model/src/schema/table.rs, the one table of the\n\
         # `avalanche.network` options: do not edit. After changing the table:\n\
         #   {REGENERATE}\n\
         # network-options.nix imports this file and adds the assertions.\n"
    );
    out.push_str(
        r#"{ lib, ... }:
let
  inherit ((import ./types.nix { inherit lib; }).types)
    dnsLabel
    cidr
    duration
    interval
    listenAddress
    tailscaleTag
    ;
"#,
    );
    let mut submodules = Vec::new();
    collect_submodules(&NETWORK, &mut submodules);
    let shared = shared_options(&submodules);
    for (text, binding) in &shared {
        let _ = write!(out, "\n  {binding} = {text};\n");
    }
    for g in submodules {
        let takes_name = g.options.iter().any(|o| match &o.default {
            Default::Is(lit) => lit.mentions_name(),
            _ => false,
        });
        out.push('\n');
        // `{ name, ... }:` only where a default uses the entry's name.
        let (open, indent, close) = if takes_name {
            (
                "\n    { name, ... }:\n    {\n      options = {",
                8,
                "      };\n    };",
            )
        } else {
            (" {\n    options = {", 6, "    };\n  };")
        };
        let _ = writeln!(out, "  {} ={open}", g.name);
        options_nix(g, indent, &shared, &mut out);
        out.push_str(close);
        out.push('\n');
    }
    out.push_str("in\n{\n  options.avalanche.network = {\n");
    options_nix(&NETWORK, 4, &shared, &mut out);
    out.push_str("  };\n}\n");
    out
}

/// The text of `nix/modules/defaults.nix`: [`crate::defaults::NIX`] as plain data
/// (no `lib`, no functions: it is read without nixpkgs).
pub fn defaults_nix() -> String {
    let mut out = format!(
        "# GENERATED from `NIX` in crates/model/src/defaults.rs: do not edit. After changing it:\n\
         #   {REGENERATE}\n\
         # The defaults of `avalanche.network` as plain data, for the NixOS modules\n\
         # (`import ./defaults.nix`) and the flake's `lib.defaults`. Each key is the camelCase\n\
         # name of a constant of defaults.rs, documented there.\n\
         {{\n"
    );
    for (key, value) in crate::defaults::NIX {
        let _ = writeln!(out, "  {} = {};", nix_attr(key), value.nix());
    }
    out.push_str("}\n");
    out
}

/// The text of [`GENERATED_DATA_PATH`]: plain Nix data (no `lib`), each list
/// written from the Rust constant the decoder checks against.
pub fn nix_data() -> String {
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|i| nix_string(i))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "# GENERATED from the Rust model (crates/model/src): do not edit. Rewritten by:\n\
         #   {REGENERATE}\n\
         # network-options.nix's assertions read these lists: the same ones the decoder checks.\n\
         {{\n\
         \x20 # `existingSecret.keys`: the gluetun variables a credentials Secret can provide\n\
         \x20 # (`ExistingSecret::VARIABLES`).\n\
         \x20 credentialVariables = [ {} ];\n\
         }}\n",
        list(&crate::ExistingSecret::VARIABLES)
    )
}

/// The submodule groups below `group`, each once, in the order they are first met.
fn collect_submodules(group: &'static Group, out: &mut Vec<&'static Group>) {
    for opt in group.options {
        if let Ty::Group(g) = &opt.ty {
            collect_submodules(g, out);
        } else if let Some(g) = opt.ty.submodule()
            && !out.iter().any(|seen| std::ptr::eq(*seen, g))
        {
            out.push(g);
            collect_submodules(g, out);
        }
    }
}

/// Options that stand identical in several submodules (a proxy's and a sidecar's
/// `healthCheck`): each becomes one `let` binding, `<name>Option`, keyed by its text.
type Shared = Vec<(String, String)>;

fn shared_options(submodules: &[&'static Group]) -> Shared {
    let mut seen: Vec<(String, &str, usize)> = Vec::new();
    for g in submodules {
        // An option whose default is the entry's name needs the submodule's `name`.
        let shareable = |o: &&Opt| {
            !matches!(o.ty, Ty::Group(_))
                && !matches!(&o.default, Default::Is(lit) if lit.mentions_name())
        };
        for opt in g.options.iter().filter(shareable) {
            let text = mkoption_nix(opt, 2);
            match seen.iter_mut().find(|(t, _, _)| *t == text) {
                Some((_, _, count)) => *count += 1,
                None => seen.push((text, opt.name, 1)),
            }
        }
    }
    let mut shared: Shared = Vec::new();
    for (text, name, count) in seen {
        if count > 1 {
            let binding = format!("{name}Option");
            // Two different shared options of one name would need two bindings.
            assert!(
                !shared.iter().any(|(_, b)| *b == binding),
                "schema: two different options `{name}` are each shared by several groups"
            );
            shared.push((text, binding));
        }
    }
    shared
}

fn options_nix(group: &Group, indent: usize, shared: &Shared, out: &mut String) {
    let pad = " ".repeat(indent);
    for opt in group.options {
        let name = nix_attr(opt.name);
        if let Ty::Group(g) = &opt.ty {
            let _ = writeln!(out, "{pad}{name} = {{");
            options_nix(g, indent + 2, shared, out);
            let _ = writeln!(out, "{pad}}};");
            continue;
        }
        let text = mkoption_nix(opt, 2);
        match shared.iter().find(|(t, _)| *t == text) {
            Some((_, binding)) => {
                let _ = writeln!(out, "{pad}{name} = {binding};");
            }
            None => {
                let _ = writeln!(out, "{pad}{name} = {};", mkoption_nix(opt, indent));
            }
        }
    }
}

/// `lib.mkOption { … }` for `opt`, its closing brace at `indent`.
fn mkoption_nix(opt: &Opt, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let inner = " ".repeat(indent + 2);
    let mut out = String::from("lib.mkOption {\n");
    let _ = writeln!(out, "{inner}type = {};", type_nix(&opt.ty));
    match &opt.default {
        Default::Required => {}
        Default::Is(lit) => {
            let _ = writeln!(out, "{inner}default = {};", lit.nix());
            if lit.mentions_name() {
                let _ = writeln!(
                    out,
                    "{inner}defaultText = lib.literalExpression {};",
                    nix_string(&lit.nix())
                );
            }
        }
        Default::Computed(text) => {
            let _ = writeln!(out, "{inner}default = null;");
            let _ = writeln!(
                out,
                "{inner}defaultText = lib.literalMD {};",
                nix_string(text)
            );
        }
    }
    match opt.example {
        Some(example) if example.contains('\n') => {
            let _ = writeln!(out, "{inner}example = lib.literalExpression ''");
            for line in example.lines() {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "{inner}  {}", escape_indented(line));
                }
            }
            let _ = writeln!(out, "{inner}'';");
        }
        Some(example) => {
            let _ = writeln!(out, "{inner}example = {example};");
        }
        None => {}
    }
    text_nix(&inner, "description", opt.description, &mut out);
    out.push_str(&pad);
    out.push('}');
    out
}

/// `key = "text";`, or an indented string wrapped at 100 columns when that is longer.
fn text_nix(pad: &str, key: &str, text: &str, out: &mut String) {
    let one_line = format!("{pad}{key} = {};", nix_string(text));
    if one_line.chars().count() <= 100 {
        out.push_str(&one_line);
        out.push('\n');
        return;
    }
    let _ = writeln!(out, "{pad}{key} = ''");
    let width = 100 - pad.len() - 2;
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            let _ = writeln!(out, "{pad}  {}", escape_indented(&line));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{pad}  {}", escape_indented(&line));
    }
    let _ = writeln!(out, "{pad}'';");
}

fn type_nix(ty: &Ty) -> String {
    let wrap = |f: &str, t: &Ty| {
        let inner = type_nix(t);
        if inner.contains(' ') {
            format!("lib.types.{f} ({inner})")
        } else {
            format!("lib.types.{f} {inner}")
        }
    };
    match ty {
        Ty::Str => "lib.types.str".to_owned(),
        Ty::Bool => "lib.types.bool".to_owned(),
        Ty::Number => "lib.types.number".to_owned(),
        Ty::Port => "lib.types.port".to_owned(),
        Ty::U16 => "lib.types.ints.u16".to_owned(),
        Ty::U32 => "lib.types.ints.u32".to_owned(),
        Ty::DnsLabel => "dnsLabel".to_owned(),
        Ty::Cidr => "cidr".to_owned(),
        Ty::Duration => "duration".to_owned(),
        Ty::Interval => "interval".to_owned(),
        Ty::ListenAddress => "listenAddress".to_owned(),
        Ty::TailscaleTag => "tailscaleTag".to_owned(),
        Ty::Enum(names) => {
            let names: Vec<String> = names.iter().map(|n| nix_string(n)).collect();
            format!("lib.types.enum [ {} ]", names.join(" "))
        }
        Ty::NullOr(t) => wrap("nullOr", t),
        Ty::ListOf(t) => wrap("listOf", t),
        Ty::OneOrListOf(t) => {
            let inner = type_nix(t);
            let inner = if inner.contains(' ') {
                format!("({inner})")
            } else {
                inner
            };
            format!("lib.types.coercedTo {inner} lib.toList (lib.types.nonEmptyListOf {inner})")
        }
        Ty::AttrsOf(t) => wrap("attrsOf", t),
        Ty::Submodule(g) => format!("lib.types.submodule {}", g.name),
        // Not a type: `options_nix` writes a nested set instead.
        Ty::Group(g) => g.name.to_owned(),
    }
}

/// Text inside an indented string (`'' … ''`).
fn escape_indented(s: &str) -> String {
    s.replace("''", "'''").replace("${", "''${")
}

#[cfg(test)]
mod tests;
