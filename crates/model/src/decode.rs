//! Decoding a [`Value`] into a [`Network`].
//!
//! The decoder walks the value once, checks every attribute against the declaration
//! schema (the table of [`crate::schema`], from which the Nix options module is
//! generated) and reports *every* problem it finds, each at the most specific place:
//! the attribute name for an unknown attribute, the value for a wrong value, the
//! enclosing attribute for a missing one. Defaults come from [`crate::defaults`].
//! Attribute paths for messages are built on the stack and only formatted when a
//! diagnostic is made, so a clean decode allocates little beyond the result.
use crate::defaults as d;
use crate::network::*;
use crate::schema::{self, Group};
use crate::{Cidr, Name};
use avalanche_diag::{Diagnostic, Span};
use avalanche_nix::{Attr, Value, ValueKind};
use std::collections::BTreeMap;
use std::fmt;

type Attrs = BTreeMap<String, Attr>;

/// Decodes the evaluated declarations: either the module (`{ avalanche.network = …; }`)
/// or the `avalanche.network` value itself (what `nix eval .#…network` prints).
/// Returns the network and every diagnostic; the network is `None` when any is an error.
///
/// Every attribute may be set explicitly to its default, and optional attributes
/// to `null`, so the output of `nix eval` (all defaults filled in) decodes too.
pub fn decode(value: &Value) -> (Option<Network>, Vec<Diagnostic>) {
    decode_in(value, ".")
}

/// Whether [`decode`] reads the value at `path` (attribute names from the root of
/// the declarations, in either form: `{ avalanche.network = …; }` or the bare
/// network): the [`avalanche_nix::Keep`] that spares the reader from evaluating
/// what decoding rejects unread, an unknown attribute (issue: an evaluation bomb
/// hidden under one). Levels it does not know to restrict are kept.
pub fn decodes(path: &[String]) -> bool {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let rest: &[&str] = match path.as_slice() {
        ["avalanche"] | ["avalanche", "network"] => return true,
        ["avalanche", "network", rest @ ..] => rest,
        ["avalanche", ..] => return false,
        rest => rest,
    };
    schema::NETWORK.reads(rest)
}

/// [`decode`], knowing the repository-relative directory of the declarations file
/// (`.` for the root): `kubernetes.dir` may not be that directory or inside it
/// (see [`crate::layout::kubernetes_dir_for`]).
pub fn decode_in(value: &Value, declarations_dir: &str) -> (Option<Network>, Vec<Diagnostic>) {
    let mut decoder = Decoder {
        diagnostics: Vec::new(),
        declarations_dir: declarations_dir.to_owned(),
    };
    let network = decoder.top(value);
    let network = if avalanche_diag::has_errors(&decoder.diagnostics) {
        None
    } else {
        network
    };
    // Attribute sets are walked in name order; report in source order.
    let mut diagnostics = decoder.diagnostics;
    diagnostics.sort_by_key(|d| d.span.map_or((u32::MAX, u32::MAX), |s| (s.file.0, s.start)));
    (network, diagnostics)
}

// ---------------------------------------------------------------- attribute paths

/// A dotted attribute path, relative to `avalanche.network`.
#[derive(Clone, Copy)]
enum Path<'a> {
    /// `avalanche.network` itself.
    Root,
    /// `parent.key`.
    Key(&'a Path<'a>, &'a str),
    /// The `index`th element of the list at `parent`.
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    /// The last attribute name (for `help: write \`key = …;\``).
    fn last(&self) -> &str {
        match self {
            Path::Root => "network",
            Path::Key(_, k) => k,
            Path::Index(p, _) => p.last(),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("avalanche.network"),
            Path::Key(Path::Root, k) => write_key(f, k),
            Path::Key(parent, k) => {
                write!(f, "{parent}.")?;
                write_key(f, k)
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

fn write_key(f: &mut fmt::Formatter<'_>, key: &str) -> fmt::Result {
    f.write_str(&nix_attr(key))
}

/// An attribute name as written in Nix: bare when it is an identifier, else quoted
/// (also what the generated options module writes, `crate::schema`).
pub(crate) fn nix_attr(key: &str) -> std::borrow::Cow<'_, str> {
    let ident = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-'".contains(c));
    if ident {
        key.into()
    } else {
        nix_string(key).into()
    }
}

/// A Nix string literal for `s`.
pub(crate) fn nix_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// "an int", "a string", … for messages.
fn found(v: &Value) -> &'static str {
    match v.kind {
        ValueKind::Null => "null",
        ValueKind::Bool(_) => "a bool",
        ValueKind::Int(_) => "an int",
        ValueKind::Float(_) => "a float",
        ValueKind::String(_) => "a string",
        ValueKind::List(_) => "a list",
        ValueKind::Attrs(_) => "an attribute set",
    }
}

// ---------------------------------------------------------------- edit distance

/// The candidate closest to `word`, if it is close enough to be a likely typo
/// (the one policy, `words::did_you_mean`).
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    crate::words::did_you_mean(word, candidates.iter().copied())
}

// ---------------------------------------------------------------- checks on strings

/// A valid DNS-1123 label close to `s` (lowercased, other characters made `-`).
fn suggest_name(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(63).collect();
    let trimmed = trimmed.trim_end_matches('-');
    Name::new(trimmed).ok().map(|n| n.as_str().to_owned())
}

/// Why `s` is not a Tailscale ACL tag (`tag:` then a DNS-1123 label, as the Nix
/// option type `tailscaleTag` says).
fn tag_problem(s: &str) -> Option<String> {
    let Some(name) = s.strip_prefix("tag:") else {
        return Some("a tag starts with `tag:`".to_owned());
    };
    Name::new(name).err().map(|e| format!("after `tag:`, {e}"))
}

const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// BIP-173 checksum of a lowercase bech32 string split into `hrp` and `data`.
fn bech32_valid(hrp: &str, data: &str) -> bool {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    let mut step = |v: u32| {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ v;
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    };
    for b in hrp.bytes() {
        step(u32::from(b >> 5));
    }
    step(0);
    for b in hrp.bytes() {
        step(u32::from(b & 31));
    }
    for c in data.chars() {
        match BECH32.find(c) {
            Some(v) => step(v as u32),
            None => return false,
        }
    }
    chk == 1
}

/// Why `s` is not an age recipient (`age1…`, bech32), if it is not.
fn age_recipient_problem(s: &str) -> Option<String> {
    if !s.starts_with("age1") {
        return Some("an age recipient starts with `age1`".to_owned());
    }
    if s.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("an age recipient is written in lowercase".to_owned());
    }
    // The separator is the last `1`: `age1…` for X25519, `age1<plugin>1…` for plugins.
    let (hrp, data) = s.rsplit_once('1').unwrap_or((s, ""));
    if let Some(c) = data.chars().find(|c| !BECH32.contains(*c)) {
        return Some(format!("`{c}` is not in the bech32 alphabet ({BECH32})"));
    }
    if data.len() < 7 {
        return Some("it is too short to be an age public key".to_owned());
    }
    if !bech32_valid(hrp, data) {
        return Some(
            "its bech32 checksum does not match: a character is mistyped or missing".to_owned(),
        );
    }
    None
}

/// Why `p` is not a clean repository-relative path, if it is not.
fn relative_path_problem(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        Some("the path is empty")
    } else if p.starts_with('/') {
        Some("the path must be relative to the repository root")
    } else if p.split('/').any(|c| c == "..") {
        Some("the path must stay inside the repository (no `..`)")
    } else {
        None
    }
}

/// The largest amount of money per month `monthlyCost` takes (sums and yearly
/// figures stay exact and finite).
const MAX_AMOUNT: f64 = 1_000_000.0;

/// Ports gluetun listens on inside the pod it shares with the app.
const GLUETUN_PORTS: [(u16, &str); 5] = [
    (53, "its DNS server"),
    (8000, "its control server"),
    (8388, "Shadowsocks"),
    (8888, "its HTTP proxy"),
    (9999, "its health server"),
];

/// Characters no declared string may hold: C0 controls (newline and tab too),
/// DEL, C1 controls, bidirectional overrides, U+FFFE/U+FFFF.
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Why `name` is not the name part of a label key or a label value (1 to 63 of
/// `[A-Za-z0-9_.-]`, alphanumeric at both ends).
fn label_name_problem(name: &str) -> Option<String> {
    if name.len() > 63 {
        return Some(format!("{} characters, more than 63", name.len()));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Some("only `a-z A-Z 0-9 - _ .` are allowed".into());
    }
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Some("it must start and end with a letter or a digit".into());
    }
    None
}

/// Why `key` is not a Kubernetes label key (`[prefix/]name`).
fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let dns = prefix.len() <= 253
            && prefix.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !dns {
            return Some(format!("the prefix `{prefix}` is not a DNS subdomain"));
        }
    }
    if name.is_empty() {
        return Some("the name part is empty".into());
    }
    label_name_problem(name)
}

/// Why `value` is not a Kubernetes label value (empty is allowed).
fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        None
    } else {
        label_name_problem(value)
    }
}

/// A Kubernetes Secret data key: `[-._a-zA-Z0-9]+`.
fn secret_key_valid(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
}

fn spanned<T>(value: T, v: &Value) -> Spanned<T> {
    Spanned {
        value,
        span: v.span,
    }
}

/// A Flux interval: a [`duration_valid`] that is not a bare `0` (the Nix type
/// `interval` of `nix/modules/types.nix` says the same).
pub fn interval_valid(s: &str) -> bool {
    s != "0" && duration_valid(s)
}

/// One or more `<digits><unit>` with a unit of `s`, `m` or `h` (or a bare `0`):
/// the Nix type `duration` of `nix/modules/types.nix`.
pub fn duration_valid(s: &str) -> bool {
    if s == "0" {
        return true;
    }
    let mut digits = 0;
    let mut parts = 0;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b's' | b'm' | b'h' if digits > 0 && digits <= 6 => {
                digits = 0;
                parts += 1;
            }
            _ => return false,
        }
    }
    digits == 0 && parts > 0
}

/// The options shared by proxies and sidecars.
struct Instance {
    tun_device: Option<TunDevice>,
    keepalive: Option<Spanned<String>>,
    credentials: Option<Spanned<Name>>,
    existing_secret: Option<ExistingSecret>,
    control_server: Spanned<String>,
}

fn lookup<T: Copy>(all: &[(&str, T)], name: &str, fallback: T) -> T {
    all.iter()
        .find(|(n, _)| *n == name)
        .map_or(fallback, |(_, t)| *t)
}

// ---------------------------------------------------------------- the decoder

/// An attribute set being decoded, with where it was named (for `model-missing`).
struct Section<'v, 'p> {
    attrs: &'v Attrs,
    path: Path<'p>,
    span: Option<Span>,
}

impl<'v> Section<'v, '_> {
    /// The value of `key`; `null` counts as unset.
    fn get(&self, key: &str) -> Option<&'v Value> {
        self.attrs
            .get(key)
            .map(|a| &a.value)
            .filter(|v| !matches!(v.kind, ValueKind::Null))
    }
}

struct Decoder {
    diagnostics: Vec<Diagnostic>,
    /// Where the declarations file is (repository-relative, `.` for the root).
    declarations_dir: String,
}

impl Decoder {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    // ------------------------------------------------------------ generic parts

    fn type_error(&mut self, v: &Value, path: Path<'_>, expected: &str) {
        let found = found(v);
        let mut diagnostic = Diagnostic::error(
            &crate::rules::MODEL_TYPE,
            format!("wrong type for `{path}`"),
        )
        .with_primary_label(v.span, format!("expected {expected}, found {found}"));
        if expected.starts_with("a list of")
            && !matches!(v.kind, ValueKind::List(_) | ValueKind::Attrs(_))
        {
            diagnostic = diagnostic.with_help("wrap it in a list: `[ … ]`");
        }
        self.push(diagnostic);
    }

    /// Opens an attribute set and reports the attributes that are not options of `known`
    /// (the schema's group for this place).
    fn section<'v, 'p>(
        &mut self,
        v: &'v Value,
        path: Path<'p>,
        named_at: Option<Span>,
        known: &Group,
    ) -> Option<Section<'v, 'p>> {
        let ValueKind::Attrs(attrs) = &v.kind else {
            self.type_error(v, path, "an attribute set");
            return None;
        };
        for (key, attr) in attrs {
            if known.knows(key) {
                continue;
            }
            self.unknown_attribute(key, attr, path, known);
        }
        Some(Section {
            attrs,
            path,
            span: named_at.or(v.span),
        })
    }

    fn unknown_attribute(&mut self, key: &str, attr: &Attr, path: Path<'_>, known: &Group) {
        let at = attr.name_span.or(attr.value.span);
        let whereabouts = match path {
            Path::Root => "`avalanche.network`".to_owned(),
            _ => format!("`{path}`"),
        };
        // Attributes kept only to report their removal are not offered.
        let known: Vec<&str> = known.names().collect();
        let known = known.as_slice();
        let mut diagnostic = Diagnostic::error(
            &crate::rules::MODEL_UNKNOWN_ATTRIBUTE,
            format!("unknown attribute `{key}` in {whereabouts}"),
        )
        .with_primary_label(at, "unknown attribute")
        .with_note(format!(
            "the attributes of {whereabouts} are: {}",
            known.join(", ")
        ));
        if let Some(best) = closest(key, known) {
            diagnostic = diagnostic.with_help(format!("did you mean `{best}`?"));
        }
        self.push(diagnostic);
    }

    /// The value of a required attribute; reports it missing at the enclosing attribute.
    fn require<'v>(&mut self, s: &Section<'v, '_>, key: &str, example: &str) -> Option<&'v Value> {
        let value = s.attrs.get(key).map(|a| &a.value);
        if value.is_none() {
            self.push(
                Diagnostic::error(
                    &crate::rules::MODEL_MISSING,
                    format!("`{}` has no `{key}`", s.path),
                )
                .with_primary_label(s.span, format!("`{key}` is required here"))
                .with_help(format!("add `{key} = {example};`")),
            );
        }
        value
    }

    /// Each entry of an attribute set of named things (`nodes.<name>`, …), with its
    /// name checked as a DNS-1123 label; entries with a bad name are still decoded
    /// (to report their problems too) but left out.
    fn named<'v, T>(
        &mut self,
        v: &'v Value,
        path: Path<'_>,
        mut entry: impl FnMut(&mut Self, &Name, &'v Attr, Path<'_>) -> Option<T>,
    ) -> BTreeMap<Name, T> {
        let mut out = BTreeMap::new();
        let ValueKind::Attrs(attrs) = &v.kind else {
            self.type_error(v, path, "an attribute set");
            return out;
        };
        for (key, attr) in attrs {
            let name = match Name::new(key) {
                Ok(name) => name,
                Err(err) => {
                    self.bad_name(key, attr.name_span.or(attr.value.span), &err.to_string());
                    // Decode it under a placeholder so its own problems are reported too.
                    let placeholder = Name::new("invalid").unwrap_or_else(|_| unreachable!());
                    let _ = entry(self, &placeholder, attr, path.key(key));
                    continue;
                }
            };
            if let Some(t) = entry(self, &name, attr, path.key(key)) {
                out.insert(name, t);
            }
        }
        out
    }

    fn bad_name(&mut self, s: &str, at: Option<Span>, why: &str) {
        let mut diagnostic = Diagnostic::error(
            &crate::rules::MODEL_NAME,
            format!("`{s}` is not a valid name"),
        )
        .with_primary_label(at, why)
        .with_note(
            "names become Kubernetes resource names and hostnames: DNS-1123 labels of 1 to 63 \
                 characters `a-z`, `0-9` and `-`, starting and ending with a letter or a digit",
        );
        if let Some(suggestion) = suggest_name(s) {
            diagnostic = diagnostic.with_help(format!("use `{suggestion}`"));
        }
        self.push(diagnostic);
    }

    // ------------------------------------------------------------ scalars

    fn string<'v>(&mut self, v: &'v Value, path: Path<'_>) -> Option<&'v str> {
        match &v.kind {
            ValueKind::String(s) => {
                // Every declared string reaches generated YAML, README tables, shell
                // examples or labels, all one line each: a newline or an escape
                // sequence would break them (or a terminal showing them).
                if let Some(c) = s.chars().find(|c| is_control(*c)) {
                    self.push(
                        Diagnostic::error(
                            &crate::rules::MODEL_CONTROL_CHAR,
                            format!("`{path}` holds the control character {}", c.escape_unicode()),
                        )
                        .with_primary_label(v.span, "control characters are not allowed here")
                        .with_note("declared text lands in generated YAML, the generated README (tables and `sh` blocks) and labels, one line each")
                        .with_help("write it on one line, without control characters"),
                    );
                    return None;
                }
                Some(s)
            }
            _ => {
                self.type_error(v, path, "a string");
                None
            }
        }
    }

    fn non_empty<'v>(&mut self, v: &'v Value, path: Path<'_>) -> Option<&'v str> {
        let s = self.string(v, path)?;
        if s.is_empty() {
            self.push(
                Diagnostic::error(&crate::rules::MODEL_EMPTY, format!("`{path}` is empty"))
                    .with_primary_label(v.span, "expected a non-empty string"),
            );
            return None;
        }
        Some(s)
    }

    fn name(&mut self, v: &Value, path: Path<'_>) -> Option<Name> {
        let s = self.string(v, path)?;
        match Name::new(s) {
            Ok(name) => Some(name),
            Err(err) => {
                self.bad_name(s, v.span, &err.to_string());
                None
            }
        }
    }

    fn boolean(&mut self, v: &Value, path: Path<'_>) -> Option<bool> {
        match v.kind {
            ValueKind::Bool(b) => Some(b),
            _ => {
                self.type_error(v, path, "a bool (`true` or `false`)");
                None
            }
        }
    }

    fn cidr(&mut self, v: &Value, path: Path<'_>) -> Option<Cidr> {
        let s = self.string(v, path)?;
        match Cidr::parse(s) {
            Ok(cidr) => Some(cidr),
            Err(_) => {
                let mut diagnostic =
                    Diagnostic::error(&crate::rules::MODEL_CIDR, format!("`{s}` is not a CIDR"))
                        .with_primary_label(
                            v.span,
                            "expected an address and a prefix length, like `10.1.0.0/24`",
                        );
                if let Ok(addr) = s.parse::<std::net::IpAddr>() {
                    let bits = if addr.is_ipv4() { 32 } else { 128 };
                    diagnostic = diagnostic
                        .with_help(format!("for this one address, write `\"{addr}/{bits}\"`"));
                } else if let Some((addr, len)) = s.split_once('/')
                    && addr.parse::<std::net::IpAddr>().is_ok()
                {
                    diagnostic = diagnostic.with_note(format!(
                        "`{len}` is not a prefix length: at most 32 for IPv4, 128 for IPv6"
                    ));
                }
                self.push(diagnostic);
                None
            }
        }
    }

    /// A cluster range (`podCIDR`, `serviceCIDR`): canonical, private, at most a /8
    /// (IPv6: inside fc00::/7, at most a /48). It lands in the gluetun sidecars'
    /// `FIREWALL_OUTBOUND_SUBNETS`: whatever it covers bypasses the kill switch.
    fn cluster_cidr(&mut self, v: &Value, path: Path<'_>) -> Option<Cidr> {
        let cidr = self.cidr(v, path)?;
        let net: ipnet::IpNet = cidr.0;
        let problem = if cidr.has_host_bits() {
            Some(format!("host bits are set: the range is `{}`", net.trunc()))
        } else {
            match net {
                ipnet::IpNet::V4(n) => {
                    let private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
                        .iter()
                        .filter_map(|p| p.parse::<ipnet::Ipv4Net>().ok())
                        .any(|p| p.contains(&n));
                    (!private).then(|| {
                        "not a private range (RFC 1918: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)".to_owned()
                    })
                }
                ipnet::IpNet::V6(n) => {
                    let ula = "fc00::/7".parse::<ipnet::Ipv6Net>().ok();
                    if !ula.is_some_and(|u| u.contains(&n)) {
                        Some("not a private range (ULA: inside fc00::/7)".to_owned())
                    } else if n.prefix_len() < 48 {
                        Some(format!(
                            "a /{} is wider than a cluster needs (at most a /48)",
                            n.prefix_len()
                        ))
                    } else {
                        None
                    }
                }
            }
        };
        match problem {
            None => Some(cidr),
            Some(why) => {
                self.push(
                    Diagnostic::error(&crate::rules::MODEL_CLUSTER_CIDR, format!("`{path}` = `{cidr}` cannot be a cluster range"))
                        .with_primary_label(v.span, why)
                        .with_note("it becomes FIREWALL_OUTBOUND_SUBNETS of every gluetun sidecar: traffic to it bypasses the VPN kill switch")
                        .with_help("use the cluster's own range, e.g. k3s' `\"10.42.0.0/16\"` (pods) and `\"10.43.0.0/16\"` (services)"),
                );
                None
            }
        }
    }

    fn enumeration<T: Copy>(
        &mut self,
        v: &Value,
        path: Path<'_>,
        what: &str,
        all: &[(&str, T)],
    ) -> Option<T> {
        let s = self.string(v, path)?;
        if let Some((_, t)) = all.iter().find(|(n, _)| *n == s) {
            return Some(*t);
        }
        let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
        let mut diagnostic =
            Diagnostic::error(&crate::rules::MODEL_ENUM, format!("unknown {what} `{s}`"))
                .with_primary_label(v.span, format!("expected one of: {}", names.join(", ")));
        if let Some(best) = closest(s, &names) {
            diagnostic = diagnostic.with_help(format!("write `{} = \"{best}\";`", path.last()));
        }
        self.push(diagnostic);
        None
    }

    /// A non-negative integer that fits `u32`.
    fn count(&mut self, v: &Value, path: Path<'_>) -> Option<u32> {
        let ValueKind::Int(i) = v.kind else {
            self.type_error(v, path, "an int");
            return None;
        };
        match u32::try_from(i) {
            Ok(n) => Some(n),
            Err(_) => {
                self.push(
                    Diagnostic::error(
                        &crate::rules::MODEL_RANGE,
                        format!("`{path}` is out of range"),
                    )
                    .with_primary_label(v.span, format!("expected 0 to {}, found {i}", u32::MAX)),
                );
                None
            }
        }
    }

    fn port(&mut self, v: &Value, path: Path<'_>) -> Option<u16> {
        let ValueKind::Int(i) = v.kind else {
            self.type_error(v, path, "a port number (an int)");
            return None;
        };
        match u16::try_from(i) {
            Ok(p) if p > 0 => Some(p),
            _ => {
                self.push(
                    Diagnostic::error(
                        &crate::rules::MODEL_PORT,
                        format!("port {i} is out of range"),
                    )
                    .with_primary_label(v.span, "a port is a number from 1 to 65535"),
                );
                None
            }
        }
    }

    /// An amount of money: an int or a float, not negative.
    fn amount(&mut self, v: &Value, path: Path<'_>) -> Option<f64> {
        let x = match v.kind {
            ValueKind::Int(i) => i as f64,
            ValueKind::Float(f) => f,
            _ => {
                self.type_error(v, path, "a number");
                return None;
            }
        };
        if !(x.is_finite() && (0.0..=MAX_AMOUNT).contains(&x)) {
            self.push(
                Diagnostic::error(
                    &crate::rules::MODEL_RANGE,
                    format!("`{path}` is out of range"),
                )
                .with_primary_label(
                    v.span,
                    format!("expected an amount from 0 to {MAX_AMOUNT}, found {x}"),
                ),
            );
            return None;
        }
        Some(x)
    }

    fn list<'v, T>(
        &mut self,
        v: &'v Value,
        path: Path<'_>,
        expected: &str,
        mut element: impl FnMut(&mut Self, &'v Value, Path<'_>) -> Option<T>,
    ) -> Option<Vec<Spanned<T>>> {
        let ValueKind::List(items) = &v.kind else {
            self.type_error(v, path, expected);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match element(self, item, Path::Index(&path, i)) {
                Some(t) => out.push(spanned(t, item)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn strings(&mut self, v: &Value, path: Path<'_>) -> Option<Vec<Spanned<String>>> {
        self.list(v, path, "a list of strings", |me, item, p| {
            me.non_empty(item, p).map(str::to_owned)
        })
    }

    // ------------------------------------------------------------ optional attributes

    /// `key` decoded by `f`, or `default` when unset (or `null`).
    fn opt<'v, T>(
        &mut self,
        s: &Section<'v, '_>,
        key: &str,
        default: impl FnOnce() -> T,
        f: impl FnOnce(&mut Self, &'v Value, Path<'_>) -> Option<T>,
    ) -> T {
        match s.get(key) {
            Some(v) => f(self, v, s.path.key(key)).unwrap_or_else(default),
            None => default(),
        }
    }

    /// `key` decoded by `f` with its span, or the unspanned `default`.
    fn opt_spanned<'v, T>(
        &mut self,
        s: &Section<'v, '_>,
        key: &str,
        default: impl FnOnce() -> T,
        f: impl FnOnce(&mut Self, &'v Value, Path<'_>) -> Option<T>,
    ) -> Spanned<T> {
        match s.get(key) {
            Some(v) => match f(self, v, s.path.key(key)) {
                Some(t) => spanned(t, v),
                None => Spanned::unspanned(default()),
            },
            None => Spanned::unspanned(default()),
        }
    }

    /// A required `key` decoded by `f`, with its span.
    fn req<'v, T>(
        &mut self,
        s: &Section<'v, '_>,
        key: &str,
        example: &str,
        f: impl FnOnce(&mut Self, &'v Value, Path<'_>) -> Option<T>,
    ) -> Option<Spanned<T>> {
        let v = self.require(s, key, example)?;
        f(self, v, s.path.key(key)).map(|t| spanned(t, v))
    }

    // ------------------------------------------------------------ the schema

    fn top(&mut self, value: &Value) -> Option<Network> {
        let Some(attrs) = value.as_attrs() else {
            self.push(
                Diagnostic::error(
                    &crate::rules::MODEL_TYPE,
                    "the declarations are not an attribute set",
                )
                .with_primary_label(
                    value.span,
                    format!(
                        "expected `{{ avalanche.network = …; }}`, found {}",
                        found(value)
                    ),
                ),
            );
            return None;
        };
        let Some(avalanche) = attrs.get("avalanche") else {
            // The bare `avalanche.network` value, as `nix eval` prints it.
            return self.network(value, None);
        };
        for (key, attr) in attrs.iter().filter(|(k, _)| k.as_str() != "avalanche") {
            let mut diagnostic = Diagnostic::error(
                &crate::rules::MODEL_UNKNOWN_ATTRIBUTE,
                format!("unknown top-level attribute `{key}`"),
            )
            .with_primary_label(
                attr.name_span.or(attr.value.span),
                "not read by avalanche-net",
            )
            .with_note("this file is read for `avalanche.network` only");
            if closest(key, &["avalanche"]).is_some() {
                diagnostic = diagnostic.with_help("did you mean `avalanche`?");
            }
            self.push(diagnostic);
        }
        let ValueKind::Attrs(inner) = &avalanche.value.kind else {
            self.push(
                Diagnostic::error(&crate::rules::MODEL_TYPE, "wrong type for `avalanche`")
                    .with_primary_label(
                        avalanche.value.span,
                        format!(
                            "expected an attribute set, found {}",
                            found(&avalanche.value)
                        ),
                    ),
            );
            return None;
        };
        for (key, attr) in inner.iter().filter(|(k, _)| k.as_str() != "network") {
            let mut diagnostic = Diagnostic::error(
                &crate::rules::MODEL_UNKNOWN_ATTRIBUTE,
                format!("unknown attribute `avalanche.{key}`"),
            )
            .with_primary_label(attr.name_span.or(attr.value.span), "unknown attribute")
            .with_note("the only attribute of `avalanche` is `network`");
            if closest(key, &["network"]).is_some() {
                diagnostic = diagnostic.with_help("did you mean `network`?");
            }
            self.push(diagnostic);
        }
        match inner.get("network") {
            Some(network) => self.network(&network.value, network.name_span),
            None => {
                self.push(
                    Diagnostic::error(&crate::rules::MODEL_MISSING, "`avalanche` has no `network`")
                        .with_primary_label(
                            avalanche.name_span.or(avalanche.value.span),
                            "`network` is required here",
                        )
                        .with_help("add `network = { … };`"),
                );
                None
            }
        }
    }

    fn network(&mut self, v: &Value, named_at: Option<Span>) -> Option<Network> {
        let s = self.section(v, Path::Root, named_at, &schema::NETWORK)?;
        let path = s.path;
        let retired = match s.get("retired") {
            Some(v) => self.named(v, path.key("retired"), Self::retired),
            None => BTreeMap::new(),
        };
        let tailscale = match s.get("tailscale") {
            Some(v) => self.tailscale(v, path.key("tailscale"), s.attrs.get("tailscale")),
            None => Some(Tailscale::default()),
        };
        let egress = match s.get("egress") {
            Some(v) => self.egress(v, path.key("egress"), s.attrs.get("egress")),
            None => Some(Egress::default()),
        };
        let secrets = match s.get("secrets") {
            Some(v) => self.named(v, path.key("secrets"), Self::secret),
            None => BTreeMap::new(),
        };
        let kubernetes = match s.get("kubernetes") {
            Some(v) => self.kubernetes(v, path.key("kubernetes"), s.attrs.get("kubernetes")),
            None => Some(Kubernetes::default()),
        };
        let domains = self.opt(&s, "domains", Vec::new, |me, v, p| {
            me.list(v, p, "a list of DNS domains", |me, item, p| {
                me.domain(item, p)
            })
        });
        let sops = match s.get("sops") {
            Some(v) => self.sops(v, path.key("sops"), s.attrs.get("sops")),
            None => SopsSettings::default(),
        };
        let repository = match s.get("repository") {
            Some(v) => self.repository(v, path.key("repository"), s.attrs.get("repository")),
            None => Repository::default(),
        };
        Some(Network {
            retired,
            tailscale: tailscale?,
            egress: egress?,
            secrets,
            kubernetes: kubernetes?,
            domains,
            sops,
            repository,
        })
    }

    fn retired(&mut self, _name: &Name, attr: &Attr, path: Path<'_>) -> Option<RetiredHost> {
        let s = self.section(&attr.value, path, attr.name_span, &schema::RETIRED)?;
        let description = self.req(&s, "description", "\"what it was\"", |me, v, p| {
            me.string(v, p).map(str::to_owned)
        });
        let aliases = self.opt(&s, "aliases", Vec::new, |me, v, p| {
            me.list(v, p, "a list of names", |me, item, p| me.name(item, p))
        });
        let age_recipients = self.opt(&s, "ageRecipients", Vec::new, |me, v, p| {
            me.list(v, p, "a list of age recipients (strings)", |me, item, p| {
                me.age_recipient(item, p)
            })
        });
        let addresses = self.opt(&s, "addresses", Vec::new, |me, v, p| {
            me.list(v, p, "a list of IP addresses (strings)", |me, item, p| {
                me.ip_address(item, p)
            })
        });
        let monthly_cost = self.opt(
            &s,
            "monthlyCost",
            || d::MONTHLY_COST,
            |me, v, p| me.amount(v, p),
        );
        let currency = self.opt(
            &s,
            "currency",
            || d::CURRENCY.to_owned(),
            |me, v, p| me.currency(v, p),
        );
        let replaced_by = match s.get("replacedBy") {
            Some(v) => self.replacement(v, s.path.key("replacedBy"), s.attrs.get("replacedBy")),
            None => Replacement::none(),
        };
        let renamed_to = s
            .get("renamedTo")
            .and_then(|v| self.name(v, s.path.key("renamedTo")).map(|n| spanned(n, v)));
        Some(RetiredHost {
            span: s.span,
            description: description?.value,
            aliases,
            age_recipients,
            addresses,
            monthly_cost,
            currency,
            replaced_by,
            renamed_to,
        })
    }

    /// An IP address (`10.1.0.20`, `2001:db8::1`), without a prefix length.
    fn ip_address(&mut self, v: &Value, path: Path<'_>) -> Option<std::net::IpAddr> {
        let s = self.string(v, path)?;
        if let Ok(ip) = s.parse() {
            return Some(ip);
        }
        let mut diagnostic = Diagnostic::error(
            &crate::rules::MODEL_ADDRESS,
            format!("`{s}` is not an IP address"),
        )
        .with_primary_label(v.span, "expected an address like `10.1.0.20`");
        if let Some((ip, _)) = s.split_once('/')
            && ip.parse::<std::net::IpAddr>().is_ok()
        {
            diagnostic = diagnostic.with_help(format!("write the address alone: `\"{ip}\"`"));
        }
        self.push(diagnostic);
        None
    }

    /// A DNS domain (`home.example.org`): lowercase labels separated by dots.
    fn domain(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let s = self.string(v, path)?;
        let trimmed = s.trim_end_matches('.');
        let valid = !trimmed.is_empty()
            && trimmed.len() <= 253
            && trimmed.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if valid {
            return Some(trimmed.to_owned());
        }
        self.push(
            Diagnostic::error(
                &crate::rules::MODEL_DOMAIN,
                format!("`{s}` is not a DNS domain"),
            )
            .with_primary_label(
                v.span,
                "expected lowercase labels separated by dots, like `home.example.org`",
            ),
        );
        None
    }

    fn sops(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> SopsSettings {
        let Some(s) = self.section(v, path, attr.and_then(|a| a.name_span), &schema::SOPS) else {
            return SopsSettings::default();
        };
        let recipients = match s.get("recipients") {
            Some(v) => self.named(v, s.path.key("recipients"), Self::recipient),
            None => BTreeMap::new(),
        };
        SopsSettings { recipients }
    }

    fn recipient(&mut self, _name: &Name, attr: &Attr, path: Path<'_>) -> Option<SopsRecipient> {
        let s = self.section(&attr.value, path, attr.name_span, &schema::RECIPIENT)?;
        let age = self.req(&s, "age", "\"age1…\"", |me, v, p| me.age_recipient(v, p));
        let kind = self.req(&s, "kind", "\"admin\"", |me, v, p| {
            me.enumeration(v, p, "recipient kind", &RecipientKind::ALL)
        });
        Some(SopsRecipient {
            span: s.span,
            age: age?,
            kind: kind?,
        })
    }

    fn repository(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> Repository {
        let Some(s) = self.section(v, path, attr.and_then(|a| a.name_span), &schema::REPOSITORY)
        else {
            return Repository::default();
        };
        let host_dirs = self.opt(&s, "hostDirs", Vec::new, |me, v, p| {
            me.list(v, p, "a list of directories", |me, item, p| {
                me.relative_path(item, p)
                    .map(|d| d.trim_start_matches("./").trim_end_matches('/').to_owned())
            })
        });
        Repository { host_dirs }
    }

    fn replacement(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> Replacement {
        let Some(s) = self.section(
            v,
            path,
            attr.and_then(|a| a.name_span),
            &schema::REPLACEMENT,
        ) else {
            return Replacement::none();
        };
        Replacement {
            description: self.opt(&s, "description", String::new, |me, v, p| {
                me.string(v, p).map(str::to_owned)
            }),
            monthly_cost: self.opt(
                &s,
                "monthlyCost",
                || d::MONTHLY_COST,
                |me, v, p| me.amount(v, p),
            ),
            currency: self.opt(
                &s,
                "currency",
                || d::CURRENCY.to_owned(),
                |me, v, p| me.currency(v, p),
            ),
        }
    }

    fn age_recipient(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let s = self.string(v, path)?;
        if s.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") {
            // Never echo the key itself.
            self.push(
                Diagnostic::error(&crate::rules::MODEL_AGE_RECIPIENT, "this is an age *secret* key, not a recipient")
                    .with_primary_label(v.span, "a private key, in the repository")
                    .with_note("anyone who can read this file can decrypt what the key protects")
                    .with_help(
                        "put the public key here instead (`age-keygen -y KEYFILE` prints it), \
                         remove the secret key from the file and its history, and treat it as leaked",
                    ),
            );
            return None;
        }
        match age_recipient_problem(s) {
            None => Some(s.to_owned()),
            Some(why) => {
                self.push(
                    Diagnostic::error(&crate::rules::MODEL_AGE_RECIPIENT, format!("`{s}` is not an age recipient"))
                        .with_primary_label(v.span, why)
                        .with_note("an age recipient is a public key like `age1` followed by 58 bech32 characters")
                        .with_help("copy it from `.sops.yaml`, or print it with `age-keygen -y KEYFILE`"),
                );
                None
            }
        }
    }

    fn currency(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let s = self.string(v, path)?;
        if s.len() == 3 && s.chars().all(|c| c.is_ascii_uppercase()) {
            return Some(s.to_owned());
        }
        let mut diagnostic = Diagnostic::error(
            &crate::rules::MODEL_CURRENCY,
            format!("`{s}` is not a currency code"),
        )
        .with_primary_label(
            v.span,
            "expected an ISO 4217 code of three capital letters, like `EUR`",
        );
        if s.len() == 3 && s.chars().all(|c| c.is_ascii_alphabetic()) {
            diagnostic = diagnostic.with_help(format!(
                "write `currency = \"{}\";`",
                s.to_ascii_uppercase()
            ));
        }
        self.push(diagnostic);
        None
    }

    fn tailscale(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> Option<Tailscale> {
        let s = self.section(v, path, attr.and_then(|a| a.name_span), &schema::TAILSCALE)?;
        let permission = |me: &mut Self, v: &Value, p: Path<'_>| {
            me.enumeration(v, p, "permission", &Permission::ALL)
        };
        let forbidden = || lookup(&Permission::ALL, d::PERMISSION, Permission::Forbidden);
        let exit_nodes = self.opt_spanned(&s, "exitNodes", forbidden, permission);
        let kubernetes_operator = self.opt_spanned(&s, "kubernetesOperator", forbidden, permission);
        let nodes = match s.get("nodes") {
            Some(v) => self.named(v, s.path.key("nodes"), Self::node),
            None => BTreeMap::new(),
        };
        Some(Tailscale {
            exit_nodes,
            kubernetes_operator,
            nodes,
        })
    }

    fn node(&mut self, _name: &Name, attr: &Attr, path: Path<'_>) -> Option<TailscaleNode> {
        let s = self.section(&attr.value, path, attr.name_span, &schema::NODE)?;
        let role = self.req(&s, "role", "\"server\"", |me, v, p| {
            me.enumeration(v, p, "role", &Role::ALL)
        });
        let advertise_routes = self.opt(&s, "advertiseRoutes", Vec::new, |me, v, p| {
            me.list(v, p, "a list of CIDRs (strings)", |me, item, p| {
                me.cidr(item, p)
            })
        });
        let tags = self.opt(&s, "tags", Vec::new, |me, v, p| {
            me.list(v, p, "a list of strings", |me, item, p| me.tag(item, p))
        });
        // `null` (or unset) leaves the capability to the role.
        let flag = |me: &mut Self, v: &Value, p: Path<'_>| me.boolean(v, p).map(Some);
        let advertise_exit_node = self.opt_spanned(&s, "advertiseExitNode", || None, flag);
        let accept_routes = self.opt_spanned(&s, "acceptRoutes", || None, flag);
        let state = self.opt_spanned(
            &s,
            "state",
            || lookup(&NodeState::ALL, d::NODE_STATE, NodeState::On),
            |me, v, p| me.enumeration(v, p, "node state", &NodeState::ALL),
        );
        Some(TailscaleNode {
            span: s.span,
            role: role?,
            advertise_routes,
            tags,
            advertise_exit_node,
            accept_routes,
            state,
        })
    }

    fn tag(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let s = self.string(v, path)?;
        let Some(why) = tag_problem(s) else {
            return Some(s.to_owned());
        };
        let mut diagnostic = Diagnostic::error(
            &crate::rules::MODEL_TAG,
            format!("`{s}` is not a Tailscale tag"),
        )
        .with_primary_label(v.span, why)
        .with_note(
            "tags look like `tag:infra`; the policy file's `tagOwners` says who may apply them",
        );
        if !s.starts_with("tag:") && tag_problem(&format!("tag:{s}")).is_none() {
            diagnostic = diagnostic.with_help(format!("write `\"tag:{s}\"`"));
        }
        self.push(diagnostic);
        None
    }

    fn egress(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> Option<Egress> {
        let s = self.section(v, path, attr.and_then(|a| a.name_span), &schema::EGRESS)?;
        let image = self.opt_spanned(
            &s,
            "image",
            || d::GLUETUN_IMAGE.to_owned(),
            |me, v, p| me.image(v, p),
        );
        let tun_device = self.opt(
            &s,
            "tunDevice",
            || lookup(&TunDevice::ALL, d::TUN_DEVICE, TunDevice::HostDevice),
            |me, v, p| me.enumeration(v, p, "TUN device", &TunDevice::ALL),
        );
        let keepalive = self.opt_spanned(
            &s,
            "keepalive",
            || d::KEEPALIVE.to_owned(),
            |me, v, p| me.duration(v, p),
        );
        let map = |key: &'static str| s.get(key).map(|v| (v, s.path.key(key)));
        let providers = match map("providers") {
            Some((v, p)) => self.named(v, p, Self::provider),
            None => BTreeMap::new(),
        };
        let proxies = match map("proxies") {
            Some((v, p)) => self.named(v, p, Self::proxy),
            None => BTreeMap::new(),
        };
        let sidecars = match map("sidecars") {
            Some((v, p)) => self.named(v, p, Self::sidecar),
            None => BTreeMap::new(),
        };
        let clients = match map("clients") {
            Some((v, p)) => self.named(v, p, Self::client),
            None => BTreeMap::new(),
        };
        let gateways: BTreeMap<Name, Gateway> = match map("gateways") {
            Some((v, p)) => self.named(v, p, Self::gateway),
            None => BTreeMap::new(),
        };
        // Clients name their upstream by name: one name, one backend.
        for (name, gateway) in &gateways {
            if let Some(proxy) = proxies.get(name) {
                let mut diagnostic = Diagnostic::error(
                    &crate::rules::MODEL_GATEWAY_NAME,
                    format!("`{name}` is both a proxy and a gateway"),
                )
                .with_primary_label(gateway.span, "the gateway")
                .with_note("a client names its upstream by name, so the two must differ")
                .with_help(format!("rename one, e.g. `gateways.{name}-gw`"));
                if let Some(at) = proxy.span {
                    diagnostic = diagnostic.with_label(at, "the proxy of the same name");
                }
                self.push(diagnostic);
            }
        }
        Some(Egress {
            image,
            tun_device,
            keepalive,
            providers,
            proxies,
            sidecars,
            clients,
            gateways,
        })
    }

    fn gateway(&mut self, name: &Name, attr: &Attr, path: Path<'_>) -> Option<Gateway> {
        let s = self.section(&attr.value, path, attr.name_span, &schema::GATEWAY)?;
        let host = self.req(&s, "host", "\"routy\"", |me, v, p| me.name(v, p));
        let listen = self.req(&s, "listen", "\"10.1.0.1\"", |me, v, p| {
            let text = me.string(v, p)?;
            match text.parse::<std::net::IpAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    me.push(
                        Diagnostic::error(
                            &crate::rules::MODEL_ADDRESS,
                            format!("`{text}` is not an address"),
                        )
                        .with_primary_label(v.span, "expected one IP address, like `10.1.0.1`")
                        .with_help(
                            "write one of the host's LAN addresses, without a prefix length",
                        ),
                    );
                    None
                }
            }
        });
        let socks_port = self.opt(
            &s,
            "socksPort",
            || d::GATEWAY_SOCKS_PORT,
            |me, v, p| me.port(v, p),
        );
        let http_port = s
            .get("httpPort")
            .and_then(|v| self.port(v, s.path.key("httpPort")).map(|p| spanned(p, v)));
        if let Some(http) = &http_port
            && http.value == socks_port
        {
            self.push(
                Diagnostic::error(
                    &crate::rules::MODEL_PORT,
                    format!(
                        "gateway `{name}` serves SOCKS5 and HTTP on the same port {socks_port}"
                    ),
                )
                .with_primary_label(http.span, "the SOCKS5 port too")
                .with_help("give `httpPort` its own number, like 8888"),
            );
        }
        let interface = self.opt_spanned(
            &s,
            "interface",
            || format!("wg-{name}"),
            |me, v, p| me.non_empty(v, p).map(str::to_owned),
        );
        if interface.value.len() > 15 {
            let at = interface.span.or(attr.name_span).or(attr.value.span);
            self.push(
                Diagnostic::error(
                    &crate::rules::MODEL_INTERFACE,
                    format!("interface name `{}` is too long", interface.value),
                )
                .with_primary_label(
                    at,
                    format!("{} bytes; Linux allows 15", interface.value.len()),
                )
                .with_help("set `interface` to a shorter name, like `\"wg-egress\"`"),
            );
        }
        let tunnel = match s.get("tunnel") {
            Some(v) => self.tunnel(v, s.path.key("tunnel"), s.attrs.get("tunnel")),
            None => {
                self.require(&s, "tunnel", "{ endpoint = \"exit.example.org:51820\"; … }");
                None
            }
        };
        let allowed_clients = match s.get("allowedClients") {
            Some(v) => self.list(
                v,
                s.path.key("allowedClients"),
                "a list of CIDRs",
                |me, item, p| me.cidr(item, p),
            ),
            None => None,
        };
        let routing_table = self.opt_spanned(
            &s,
            "routingTable",
            || d::GATEWAY_ROUTING_TABLE,
            |me, v, p| {
                let n = me.count(v, p)?;
                // 0 and 253-255 are the kernel's unspec, default, main and local tables.
                if n == 0 || (253..=255).contains(&n) {
                    me.push(
                        Diagnostic::error(
                            &crate::rules::MODEL_RANGE,
                            format!("table {n} is reserved"),
                        )
                        .with_primary_label(
                            v.span,
                            "0, 253, 254 and 255 are the kernel's own tables",
                        )
                        .with_help(format!(
                            "use another number, like {}",
                            d::GATEWAY_ROUTING_TABLE
                        )),
                    );
                    return None;
                }
                Some(n)
            },
        );
        let fwmark = self.opt_spanned(
            &s,
            "fwmark",
            || d::GATEWAY_FWMARK,
            |me, v, p| {
                let n = me.count(v, p)?;
                if n == 0 || n == u32::MAX {
                    me.push(
                        Diagnostic::error(
                            &crate::rules::MODEL_RANGE,
                            format!("fwmark {n} cannot be used"),
                        )
                        .with_primary_label(
                            v.span,
                            "0 is no mark, and the WireGuard socket needs the next number",
                        )
                        .with_help(format!("use another number, like {}", d::GATEWAY_FWMARK)),
                    );
                    return None;
                }
                Some(n)
            },
        );
        let monitoring = self.opt(
            &s,
            "monitoring",
            || d::GATEWAY_MONITORING,
            |me, v, p| me.boolean(v, p),
        );
        Some(Gateway {
            span: s.span,
            host: host?,
            listen: listen?,
            socks_port,
            http_port,
            interface,
            tunnel: tunnel?,
            allowed_clients,
            routing_table,
            fwmark,
            monitoring,
        })
    }

    /// `forwardedPortTo`: an app (`app`, its `webUIPort`) or a `command`, only
    /// with `portForwarding = true` (without a port gluetun never runs it).
    fn port_target(
        &mut self,
        attr: &Attr,
        path: Path<'_>,
        port_forwarding: bool,
    ) -> Option<Spanned<PortTarget>> {
        if matches!(attr.value.kind, ValueKind::Null) {
            return None;
        }
        let s = self.section(&attr.value, path, attr.name_span, &schema::PORT_TARGET)?;
        let at = attr.name_span.or(attr.value.span);
        if !port_forwarding {
            self.push(
                Diagnostic::error(
                    &crate::rules::MODEL_FORWARDED_PORT,
                    format!("`{path}` without port forwarding"),
                )
                .with_primary_label(at, "gluetun runs it only when the provider forwards a port")
                .with_help(
                    "set `portForwarding = true;` on the sidecar, or delete `forwardedPortTo`",
                ),
            );
            return None;
        }
        let down = match s.get("downCommand") {
            Some(v) => Some(self.non_empty(v, path.key("downCommand"))?.to_owned()),
            None => None,
        };
        let target = match (s.get("app"), s.get("command")) {
            (Some(app), None) if down.is_some() => {
                self.push(
                    Diagnostic::error(&crate::rules::MODEL_FORWARDED_PORT, format!("`{path}` has `downCommand` with `app`"))
                        .with_primary_label(app.span, "the app's down command is generated")
                        .with_help("delete `downCommand`, or write both commands: `{ command = \"… {{PORT}} …\"; downCommand = \"…\"; }`"),
                );
                return None;
            }
            (Some(app), None) => {
                let name = self.string(app, path.key("app"))?;
                if !PortTarget::APPS.contains(&name) {
                    self.push(
                        Diagnostic::error(&crate::rules::MODEL_ENUM, format!("unknown app `{name}`"))
                            .with_primary_label(app.span, format!("expected one of: {}", PortTarget::APPS.join(", ")))
                            .with_help("for another app, write the command it needs: `command = \"… {{PORT}} …\";`"),
                    );
                    return None;
                }
                let web_ui_port = match s.get("webUIPort") {
                    Some(v) => self.port(v, path.key("webUIPort"))?,
                    None => d::QBITTORRENT_WEBUI_PORT,
                };
                PortTarget::Qbittorrent { web_ui_port }
            }
            (None, Some(command)) => {
                let text = self.non_empty(command, path.key("command"))?;
                if !["{{PORT}}", "{{PORTS}}"].iter().any(|p| text.contains(p)) {
                    self.push(
                        Diagnostic::error(&crate::rules::MODEL_FORWARDED_PORT, "the command never receives the port")
                            .with_primary_label(command.span, "no `{{PORT}}` or `{{PORTS}}` in it")
                            .with_help("gluetun replaces `{{PORT}}` (the first port) and `{{PORTS}}` (all, comma-separated): pass one to the app"),
                    );
                    return None;
                }
                PortTarget::Command {
                    up: text.to_owned(),
                    down,
                }
            }
            (app, command) => {
                let both = app.is_some() && command.is_some();
                self.push(
                    Diagnostic::error(
                        &crate::rules::MODEL_FORWARDED_PORT,
                        if both {
                            format!("`{path}` has both `app` and `command`")
                        } else {
                            format!("`{path}` has neither `app` nor `command`")
                        },
                    )
                    .with_primary_label(at, "one of the two says who learns the port")
                    .with_help(
                        "write `{ app = \"qbittorrent\"; }` or `{ command = \"… {{PORT}} …\"; }`",
                    ),
                );
                return None;
            }
        };
        Some(Spanned {
            value: target,
            span: at,
        })
    }

    fn tunnel(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> Option<GatewayTunnel> {
        let s = self.section(v, path, attr.and_then(|a| a.name_span), &schema::TUNNEL)?;
        let endpoint = self.req(&s, "endpoint", "\"exit.example.org:51820\"", |me, v, p| {
            let text = me.non_empty(v, p)?;
            let port_ok = text
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
            if !port_ok {
                me.push(
                    Diagnostic::error(&crate::rules::MODEL_ENDPOINT, format!("`{text}` is not `host:port`"))
                        .with_primary_label(v.span, "expected a host and a port")
                        .with_help("write it like `\"exit.example.org:51820\"` (`[2001:db8::1]:51820` for IPv6)"),
                );
                return None;
            }
            Some(text.to_owned())
        });
        let public_key = self.req(&s, "publicKey", "\"<44 base64 characters>\"", |me, v, p| {
            let text = me.string(v, p)?;
            let base64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
            let valid = text.len() == 44 && text.ends_with('=') && text[..43].chars().all(base64);
            if !valid {
                me.push(
                    Diagnostic::error(
                        &crate::rules::MODEL_WIREGUARD_KEY,
                        "not a WireGuard public key",
                    )
                    .with_primary_label(v.span, "expected 44 base64 characters ending in `=`")
                    .with_help("copy the peer's key from `wg pubkey` (never the private key)"),
                );
                return None;
            }
            Some(text.to_owned())
        });
        // One CIDR, or several (a provider may hand out an IPv4 and an IPv6 address).
        let address = self.req(&s, "address", "\"10.99.0.2/32\"", |me, v, p| {
            if !matches!(v.kind, ValueKind::List(_)) {
                return me.cidr(v, p).map(|c| vec![spanned(c, v)]);
            }
            let list = me.list(v, p, "a CIDR or a list of CIDRs", |me, item, p| me.cidr(item, p))?;
            if list.is_empty() {
                me.push(
                    Diagnostic::error(&crate::rules::MODEL_CIDR, format!("`{p}` is empty"))
                        .with_primary_label(v.span, "expected at least one address")
                        .with_help("write the tunnel's address, like `\"10.99.0.2/32\"` (or `[ \"10.2.0.2/32\" \"2a07:b944::2:2/128\" ]`)"),
                );
                return None;
            }
            Some(list)
        });
        let persistent_keepalive = self.opt(
            &s,
            "persistentKeepalive",
            || d::GATEWAY_PERSISTENT_KEEPALIVE,
            |me, v, p| {
                let n = me.count(v, p)?;
                let Ok(n) = u16::try_from(n) else {
                    me.push(
                        Diagnostic::error(
                            &crate::rules::MODEL_RANGE,
                            format!("`{p}` is out of range"),
                        )
                        .with_primary_label(v.span, "seconds from 0 (off) to 65535"),
                    );
                    return None;
                };
                Some(n)
            },
        );
        let mtu = self.opt(
            &s,
            "mtu",
            || d::GATEWAY_MTU,
            |me, v, p| {
                let n = me.port(v, p)?;
                if n < 1280 {
                    me.push(
                        Diagnostic::error(
                            &crate::rules::MODEL_RANGE,
                            format!("MTU {n} is too small"),
                        )
                        .with_primary_label(v.span, "at least 1280 (IPv6's minimum)"),
                    );
                    return None;
                }
                Some(n)
            },
        );
        let private_key_secret =
            self.req(&s, "privateKeySecret", "\"routy-wireguard\"", |me, v, p| {
                me.name(v, p)
            });
        Some(GatewayTunnel {
            endpoint: endpoint?,
            public_key: public_key?,
            address: address?.value,
            persistent_keepalive,
            mtu,
            private_key_secret: private_key_secret?,
        })
    }

    fn provider(&mut self, name: &Name, attr: &Attr, path: Path<'_>) -> Option<Provider> {
        let s = self.section(&attr.value, path, attr.name_span, &schema::PROVIDER)?;
        let service = self.opt_spanned(
            &s,
            "service",
            || name.as_str().to_owned(),
            |me, v, p| me.non_empty(v, p).map(str::to_owned),
        );
        let vpn_type = self.opt_spanned(
            &s,
            "type",
            || lookup(&VpnType::ALL, d::VPN_TYPE, VpnType::Wireguard),
            |me, v, p| me.enumeration(v, p, "VPN type", &VpnType::ALL),
        );
        let credentials =
            self.opt_spanned(&s, "credentials", || name.clone(), |me, v, p| me.name(v, p));
        let existing_secret = self.existing_secret(&s, Some(name));
        Some(Provider {
            span: s.span,
            service,
            vpn_type,
            credentials,
            existing_secret,
        })
    }

    fn health_check(&mut self, s: &Section<'_, '_>) -> HealthCheck {
        self.opt(
            s,
            "healthCheck",
            || lookup(&HealthCheck::ALL, d::HEALTH_CHECK, HealthCheck::Dns),
            |me, v, p| me.enumeration(v, p, "health check", &HealthCheck::ALL),
        )
    }

    /// The options every gluetun instance (proxy or sidecar) has.
    fn instance(&mut self, s: &Section<'_, '_>) -> Instance {
        if let Some(attr) = s.attrs.get("privileged") {
            let on = matches!(attr.value.kind, ValueKind::Bool(true));
            let help = if on {
                "write `tunDevice = \"privileged\";`, or better the default `\"host-device\"` (a hostPath \
                 mount of /dev/net/tun) or `\"mknod\"` (the MKNOD capability)"
            } else {
                "delete it: the default `tunDevice = \"host-device\";` needs no privilege"
            };
            self.push(
                Diagnostic::error(
                    &crate::rules::MODEL_RENAMED,
                    format!("`{}` was replaced by `tunDevice`", s.path.key("privileged")),
                )
                .with_primary_label(attr.name_span.or(attr.value.span), "no longer read")
                .with_note(
                    "gluetun needs /dev/net/tun, and creates it with mknod when it is missing: \
                     `tunDevice` says how it gets it",
                )
                .with_help(help),
            );
        }
        let tun_device = s.get("tunDevice").and_then(|v| {
            self.enumeration(v, s.path.key("tunDevice"), "TUN device", &TunDevice::ALL)
        });
        let keepalive = s.get("keepalive").and_then(|v| {
            self.duration(v, s.path.key("keepalive"))
                .map(|d| spanned(d, v))
        });
        let credentials = s.get("credentials").and_then(|v| {
            self.name(v, s.path.key("credentials"))
                .map(|n| spanned(n, v))
        });
        let control_server = self.opt_spanned(
            s,
            "controlServer",
            || d::CONTROL_SERVER.to_owned(),
            |me, v, p| me.listen_address(v, p),
        );
        let existing_secret = self.existing_secret(s, None);
        Instance {
            tun_device,
            keepalive,
            credentials,
            existing_secret,
            control_server,
        }
    }

    /// `existingSecret = { name; keys; }`, which replaces `credentials` (both
    /// written is an error: which one the gluetun reads would be a guess).
    /// `default_credentials`: what `credentials` is when unset (a provider's name), which
    /// the Nix module writes out beside an `existingSecret`: that is not setting both.
    fn existing_secret(
        &mut self,
        s: &Section<'_, '_>,
        default_credentials: Option<&Name>,
    ) -> Option<ExistingSecret> {
        let attr = s.attrs.get("existingSecret")?;
        if matches!(attr.value.kind, ValueKind::Null) {
            return None;
        }
        let path = s.path.key("existingSecret");
        let credentials = s.get("credentials").filter(|v| {
            !matches!((&v.kind, default_credentials),
                (ValueKind::String(c), Some(d)) if c.as_str() == d.as_str())
        });
        if credentials.is_some() {
            self.push(
                Diagnostic::error(
                    &crate::rules::MODEL_CONFLICT,
                    format!("`{}` sets both `credentials` and `existingSecret`", s.path),
                )
                .with_primary_label(attr.name_span.or(attr.value.span), "a Secret the cluster already has")
                .with_note("`credentials` names a declared secret, sealed with SOPS")
                .with_help("keep one: `existingSecret` when the Secret comes from ExternalSecrets, sealed-secrets or elsewhere, `credentials` when avalanche-net seals it"),
            );
            return None;
        }
        let e = self.section(&attr.value, path, attr.name_span, &schema::EXISTING_SECRET)?;
        let name = self.req(&e, "name", "\"qbittorrent-vpn\"", |me, v, p| me.name(v, p));
        let keys = self.opt(&e, "keys", BTreeMap::new, |me, v, p| {
            let ValueKind::Attrs(attrs) = &v.kind else {
                me.type_error(v, p, "an attribute set of strings");
                return None;
            };
            let mut out = BTreeMap::new();
            for (var, attr) in attrs {
                if !ExistingSecret::VARIABLES.contains(&var.as_str()) {
                    me.push(
                        Diagnostic::error(
                            &crate::rules::MODEL_UNKNOWN_ATTRIBUTE,
                            format!("`{var}` is not a credentials variable of gluetun"),
                        )
                        .with_primary_label(attr.name_span.or(attr.value.span), "not read from the credentials Secret")
                        .with_note(format!(
                            "`keys` maps each variable gluetun reads from the Secret to the Secret's key: {}",
                            ExistingSecret::VARIABLES.join(", ")
                        ))
                        .with_help("write `keys = { WIREGUARD_PRIVATE_KEY = \"wg-key\"; };`"),
                    );
                    continue;
                }
                let Some(key) = me.non_empty(&attr.value, p.key(var)) else {
                    continue;
                };
                if !secret_key_valid(key) {
                    me.push(
                        Diagnostic::error(&crate::rules::MODEL_SECRET_KEY, format!("`{key}` is not a Kubernetes Secret key"))
                            .with_primary_label(attr.value.span, "only letters, digits, `-`, `_` and `.` are allowed"),
                    );
                    continue;
                }
                out.insert(var.clone(), spanned(key.to_owned(), &attr.value));
            }
            Some(out)
        });
        Some(ExistingSecret {
            span: attr.name_span.or(attr.value.span),
            name: name?,
            keys,
        })
    }

    /// `egress.image`: a gluetun release the variable table describes.
    fn image(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let image = self.non_empty(v, path)?;
        match crate::gluetun::image_version(image) {
            Ok(_) => Some(image.to_owned()),
            Err(err) => {
                let repository = image.split(['@']).next().unwrap_or(image);
                let repository = match repository.rsplit_once(':') {
                    Some((r, tag)) if !tag.contains('/') => r,
                    _ => repository,
                };
                let diagnostic = Diagnostic::error(
                    &crate::rules::MODEL_GLUETUN_VERSION,
                    err.to_string(),
                )
                .with_primary_label(v.span, "the tag must be a gluetun release like `vX.Y.Z`")
                .with_note(format!(
                    "the generated containers set only the variables each release reads; \
                         avalanche-net knows the releases {}",
                    crate::gluetun::range()
                ))
                .with_help(format!(
                    "pin a release of that range: `image = \"{repository}:v{}.{}.<patch>\";`",
                    crate::gluetun::LAST.major,
                    crate::gluetun::LAST.minor
                ));
                self.push(diagnostic);
                None
            }
        }
    }

    /// A Go duration as gluetun parses it, in whole units: `25s`, `1m30s`, `0s`.
    fn duration(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let s = self.string(v, path)?;
        if duration_valid(s) {
            return Some(s.to_owned());
        }
        let mut diagnostic = Diagnostic::error(
            &crate::rules::MODEL_DURATION,
            format!("`{s}` is not a duration"),
        )
        .with_primary_label(v.span, "expected a number and a unit, like `25s` or `1m`")
        .with_note("units: `s`, `m`, `h`; `\"0s\"` turns the WireGuard keepalive off");
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            diagnostic = diagnostic.with_help(format!("write `{} = \"{s}s\";`", path.last()));
        }
        self.push(diagnostic);
        None
    }

    /// A listening address `host:port` (`:8000` listens on every interface).
    fn listen_address(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let s = self.string(v, path)?;
        let valid = s.rsplit_once(':').is_some_and(|(host, port)| {
            let host_ok = host.is_empty()
                || host.parse::<std::net::Ipv4Addr>().is_ok()
                || host
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
            host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if valid {
            return Some(s.to_owned());
        }
        self.push(
            Diagnostic::error(
                &crate::rules::MODEL_ADDRESS,
                format!("`{s}` is not a listening address"),
            )
            .with_primary_label(v.span, "expected `IP:PORT`, like `127.0.0.1:8000`")
            .with_help("keep the default `127.0.0.1:8000` unless another container must reach it"),
        );
        None
    }

    fn countries(&mut self, s: &Section<'_, '_>) -> Option<Vec<Spanned<String>>> {
        self.req(s, "countries", "[ \"Iceland\" ]", |me, v, p| {
            let countries = me.strings(v, p)?;
            if countries.is_empty() {
                me.push(
                    Diagnostic::error(&crate::rules::MODEL_EMPTY, format!("`{p}` is empty"))
                        .with_primary_label(
                            v.span,
                            "gluetun needs at least one country (SERVER_COUNTRIES)",
                        )
                        .with_help("write `countries = [ \"Iceland\" ];`"),
                );
                return None;
            }
            Some(countries)
        })
        .map(|c| c.value)
    }

    /// Names that reach generated resource names with a prefix or suffix must leave
    /// room for it within Kubernetes' 63 characters (Service names, label values).
    fn name_fits(&mut self, name: &Name, attr: &Attr, max: usize, generated: &str) -> bool {
        if name.as_str().len() <= max {
            return true;
        }
        self.push(
            Diagnostic::error(&crate::rules::MODEL_NAME, format!("`{}` is too long: at most {max} characters here", name.as_str()))
                .with_primary_label(attr.name_span.or(attr.value.span), format!("{} characters", name.as_str().len()))
                .with_note(format!("it becomes `{generated}`, a Kubernetes name or label value of at most 63 characters"))
                .with_help("use a shorter name"),
        );
        false
    }

    fn proxy(&mut self, name: &Name, attr: &Attr, path: Path<'_>) -> Option<Proxy> {
        // `vpn-proxy-<name>`: the Service, Deployment and `app.kubernetes.io/instance`.
        let fits = self.name_fits(
            name,
            attr,
            crate::layout::PROXY_REGION_MAX,
            &crate::layout::proxy_service(name.as_str()),
        );
        let s = self.section(&attr.value, path, attr.name_span, &schema::PROXY)?;
        let provider = self.req(&s, "provider", "\"protonvpn\"", |me, v, p| me.name(v, p));
        let countries = self.countries(&s);
        let replicas = self.opt(
            &s,
            "replicas",
            || d::PROXY_REPLICAS,
            |me, v, p| me.count(v, p),
        );
        let health_check = self.health_check(&s);
        let i = self.instance(&s);
        if !fits {
            return None;
        }
        Some(Proxy {
            span: s.span,
            provider: provider?,
            countries: countries?,
            replicas,
            health_check,
            tun_device: i.tun_device,
            keepalive: i.keepalive,
            credentials: i.credentials,
            existing_secret: i.existing_secret,
            control_server: i.control_server,
        })
    }

    fn sidecar(&mut self, name: &Name, attr: &Attr, path: Path<'_>) -> Option<Sidecar> {
        let s = self.section(&attr.value, path, attr.name_span, &schema::SIDECAR)?;
        let namespace = self.req(&s, "namespace", "\"media\"", |me, v, p| me.name(v, p));
        let deployment =
            self.opt_spanned(&s, "deployment", || name.clone(), |me, v, p| me.name(v, p));
        let provider = self.req(&s, "provider", "\"protonvpn\"", |me, v, p| me.name(v, p));
        let countries = self.countries(&s);
        let port_forwarding = self.opt(
            &s,
            "portForwarding",
            || d::PORT_FORWARDING,
            |me, v, p| me.boolean(v, p),
        );
        let input_ports = self.opt(&s, "inputPorts", Vec::new, |me, v, p| {
            me.list(v, p, "a list of ports (ints)", |me, item, p| {
                let port = me.port(item, p)?;
                if let Some((_, what)) = GLUETUN_PORTS.iter().find(|(n, _)| *n == port) {
                    me.push(
                        Diagnostic::error(&crate::rules::MODEL_PORT, format!("port {port} is gluetun's own ({what})"))
                            .with_primary_label(item.span, "the app and its gluetun sidecar share the pod's network: one of them would fail to bind")
                            .with_help("move the app to another port"),
                    );
                    return None;
                }
                Some(port)
            })
        });
        let forwarded_port_to = s.attrs.get("forwardedPortTo").and_then(|attr| {
            self.port_target(attr, s.path.key("forwardedPortTo"), port_forwarding)
        });
        let health_check = self.health_check(&s);
        let i = self.instance(&s);
        Some(Sidecar {
            span: s.span,
            namespace: namespace?,
            deployment,
            provider: provider?,
            countries: countries?,
            port_forwarding,
            input_ports,
            forwarded_port_to,
            health_check,
            tun_device: i.tun_device,
            keepalive: i.keepalive,
            credentials: i.credentials,
            existing_secret: i.existing_secret,
            control_server: i.control_server,
        })
    }

    fn client(&mut self, name: &Name, attr: &Attr, path: Path<'_>) -> Option<Client> {
        // `<name>-vpn-egress-verify`: the verification Job (its name is a pod label).
        let fits = self.name_fits(
            name,
            attr,
            crate::layout::CLIENT_VERIFY_NAME_MAX,
            &crate::layout::client_verify_job(name.as_str()),
        );
        let s = self.section(&attr.value, path, attr.name_span, &schema::CLIENT)?;
        let namespace = self.req(&s, "namespace", "\"irc\"", |me, v, p| me.name(v, p));
        let deployment =
            self.opt_spanned(&s, "deployment", || name.clone(), |me, v, p| me.name(v, p));
        // The upstream is named by `proxy` (a proxy or a gateway: their names never
        // clash) or by `gateway` (a gateway only), never by both.
        let gateway = s.get("gateway").is_some();
        let proxy = match (s.get("proxy"), s.get("gateway")) {
            (Some(_), Some(g)) => {
                self.push(
                    Diagnostic::error(
                        &crate::rules::MODEL_CLIENT_UPSTREAM,
                        format!("client `{name}` sets both `proxy` and `gateway`"),
                    )
                    .with_primary_label(
                        s.attrs.get("gateway").and_then(|a| a.name_span).or(g.span),
                        "the second upstream",
                    )
                    .with_help(
                        "keep one: `proxy = \"<proxy or gateway>\";` or `gateway = \"<gateway>\";`",
                    ),
                );
                None
            }
            (None, Some(_)) => self.req(&s, "gateway", "\"home\"", |me, v, p| me.name(v, p)),
            _ => self.req(&s, "proxy", "\"iceland\"", |me, v, p| me.name(v, p)),
        };
        let protocol = self.opt_spanned(
            &s,
            "protocol",
            || {
                lookup(
                    &ClientProtocol::ALL,
                    d::CLIENT_PROTOCOL,
                    ClientProtocol::Http,
                )
            },
            |me, v, p| me.protocol(v, p),
        );
        let enforce = self.opt(
            &s,
            "enforce",
            || d::CLIENT_ENFORCE,
            |me, v, p| me.boolean(v, p),
        );
        let pod_labels = match s.get("podLabels") {
            Some(v) => self.labels(v, s.path.key("podLabels")).unwrap_or_default(),
            None => BTreeMap::from([(d::POD_LABEL_KEY.to_owned(), name.as_str().to_owned())]),
        };
        let allowed_destinations = match s.get("allowedDestinations") {
            Some(v) => self
                .list(
                    v,
                    s.path.key("allowedDestinations"),
                    "a list of attribute sets",
                    |me, item, p| me.destination(item, p),
                )
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let speaks = s.get("speaks").and_then(|v| {
            self.list(
                v,
                s.path.key("speaks"),
                "a list of strings",
                |me, item, p| me.enumeration(item, p, "proxy protocol", &Speaks::ALL),
            )
            .map(|items| spanned(items.into_iter().map(|i| i.value).collect(), v))
        });
        if !fits {
            return None;
        }
        Some(Client {
            span: s.span,
            namespace: namespace?,
            deployment,
            proxy: proxy?,
            gateway,
            protocol,
            enforce,
            pod_labels,
            allowed_destinations,
            speaks,
        })
    }

    /// One of `allowedDestinations`: pods (`namespace`, `podLabels`) or a `cidr`, and `ports`.
    fn destination(&mut self, v: &Value, path: Path<'_>) -> Option<Destination> {
        let s = self.section(v, path, None, &schema::DESTINATION)?;
        let ports = match s.get("ports") {
            Some(p) => self
                .list(
                    p,
                    s.path.key("ports"),
                    "a list of ports (ints)",
                    |me, item, p| me.port(item, p),
                )
                .map(|l| l.into_iter().map(|p| p.value).collect())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        match (s.get("namespace"), s.get("cidr")) {
            (Some(ns), None) => {
                let namespace = self.name(ns, s.path.key("namespace"))?;
                let pod_labels = match s.get("podLabels") {
                    Some(l) => self.labels(l, s.path.key("podLabels"))?,
                    None => BTreeMap::new(),
                };
                let services = match s.get("services") {
                    Some(l) => self
                        .list(
                            l,
                            s.path.key("services"),
                            "a list of Service names (strings)",
                            |me, item, p| me.name(item, p),
                        )?
                        .into_iter()
                        .map(|n| n.value)
                        .collect(),
                    None => Vec::new(),
                };
                Some(Destination::Pods {
                    namespace,
                    pod_labels,
                    ports,
                    services,
                })
            }
            (None, Some(c)) => {
                let cidr = self.cidr(c, s.path.key("cidr"))?;
                if let Some(key) = ["podLabels", "services"]
                    .into_iter()
                    .find(|k| s.get(k).is_some())
                {
                    self.push(
                        Diagnostic::error(&crate::rules::MODEL_DESTINATION, format!("`{path}` has `{key}` with `cidr`"))
                            .with_primary_label(v.span, "pod labels and Services name pods, a CIDR addresses")
                            .with_help("write one destination per kind: `{ namespace = …; podLabels = …; services = [ … ]; }` or `{ cidr = …; }`"),
                    );
                    return None;
                }
                Some(Destination::Cidr {
                    cidr: cidr.canonical(),
                    ports,
                })
            }
            (ns, _) => {
                let what = if ns.is_some() {
                    "both `namespace` and `cidr`"
                } else {
                    "neither `namespace` nor `cidr`"
                };
                self.push(
                    Diagnostic::error(&crate::rules::MODEL_DESTINATION, format!("`{path}` has {what}"))
                        .with_primary_label(v.span, "a destination is pods of a namespace, or a CIDR")
                        .with_help("write `{ namespace = \"irc\"; ports = [ 6379 ]; }` or `{ cidr = \"192.168.1.0/24\"; }`"),
                );
                None
            }
        }
    }

    fn protocol(&mut self, v: &Value, path: Path<'_>) -> Option<ClientProtocol> {
        // `"socks5"` decodes: whether the upstream serves it (a gateway does, gluetun
        // v3.41 does not) is a cross-reference, `check`'s `egress-upstream-protocol`.
        self.enumeration(v, path, "client protocol", &ClientProtocol::ALL)
    }

    fn labels(&mut self, v: &Value, path: Path<'_>) -> Option<BTreeMap<String, String>> {
        let ValueKind::Attrs(attrs) = &v.kind else {
            self.type_error(v, path, "an attribute set of strings");
            return None;
        };
        let mut out = BTreeMap::new();
        for (key, attr) in attrs {
            if let Some(why) = label_key_problem(key) {
                self.push(
                    Diagnostic::error(&crate::rules::MODEL_LABEL, format!("`{key}` is not a Kubernetes label key"))
                        .with_primary_label(attr.name_span.or(attr.value.span), why)
                        .with_help("a label key is an optional DNS prefix and `/`, then 1 to 63 of `a-z A-Z 0-9 - _ .`, starting and ending alphanumeric"),
                );
                continue;
            }
            if let Some(value) = self.string(&attr.value, path.key(key)) {
                if let Some(why) = label_value_problem(value) {
                    self.push(
                        Diagnostic::error(&crate::rules::MODEL_LABEL, format!("`{}` is not a Kubernetes label value", path.key(key)))
                            .with_primary_label(attr.value.span, why)
                            .with_help("a label value is empty or 1 to 63 of `a-z A-Z 0-9 - _ .`, starting and ending alphanumeric"),
                    );
                    continue;
                }
                out.insert(key.clone(), value.to_owned());
            }
        }
        Some(out)
    }

    fn secret(&mut self, _name: &Name, attr: &Attr, path: Path<'_>) -> Option<Secret> {
        let s = self.section(&attr.value, path, attr.name_span, &schema::SECRET)?;
        let format = self.opt(
            &s,
            "format",
            || {
                lookup(
                    &SecretFormat::ALL,
                    d::SECRET_FORMAT,
                    SecretFormat::Kubernetes,
                )
            },
            |me, v, p| me.enumeration(v, p, "secret format", &SecretFormat::ALL),
        );
        let file = self.req(&s, "file", "\"secrets/<host>/<name>.yaml\"", |me, v, p| {
            let file = me.relative_path(v, p)?;
            let last = file.rsplit('/').next().unwrap_or("");
            if matches!(last, "" | "." | "..") {
                me.push(
                    Diagnostic::error(
                        &crate::rules::MODEL_PATH,
                        format!("`{p}` names a directory, not a file"),
                    )
                    .with_primary_label(v.span, "a SOPS file is written at this path")
                    .with_help("name the file, like `\"secrets/routy/tailscale.yaml\"`"),
                );
                return None;
            }
            Some(file)
        });
        let keys = self.req(&s, "keys", "[ \"KEY\" ]", |me, v, p| {
            me.list(v, p, "a list of strings", |me, item, p| {
                let key = me.non_empty(item, p)?;
                if format == SecretFormat::Kubernetes && !secret_key_valid(key) {
                    me.push(
                        Diagnostic::error(&crate::rules::MODEL_SECRET_KEY, format!("`{key}` is not a Kubernetes Secret key"))
                            .with_primary_label(item.span, "only letters, digits, `-`, `_` and `.` are allowed")
                            .with_help("rename the key, or use `format = \"plain\";` for a file read by sops-nix"),
                    );
                    return None;
                }
                if format == SecretFormat::Plain && key == "sops" {
                    me.push(
                        Diagnostic::error(&crate::rules::MODEL_SECRET_KEY, "a key named `sops` in a plain secret")
                            .with_primary_label(item.span, "SOPS keeps its metadata under the top-level `sops` key of the file")
                            .with_help("rename the key"),
                    );
                    return None;
                }
                Some(key.to_owned())
            })
        });
        let namespace = s
            .get("namespace")
            .and_then(|v| self.name(v, s.path.key("namespace")));
        Some(Secret {
            span: s.span,
            format,
            file: file?,
            keys: keys?.value,
            namespace,
        })
    }

    fn relative_path(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let s = self.string(v, path)?;
        match relative_path_problem(s) {
            None => Some(s.to_owned()),
            Some(why) => {
                self.push(
                    Diagnostic::error(&crate::rules::MODEL_PATH, format!("`{path}` is not a path in the repository"))
                        .with_primary_label(v.span, why)
                        .with_help("write it relative to the repository root, like `\"secrets/routy/tailscale.yaml\"`"),
                );
                None
            }
        }
    }

    /// `kubernetes.dir`, in its normal form (`kubernetes/.` is `kubernetes`).
    fn kubernetes_dir(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let given = self.relative_path(v, path)?;
        match crate::layout::kubernetes_dir_for(&given, &self.declarations_dir) {
            Ok(dir) => Some(dir),
            Err(problem) => {
                self.push(
                    Diagnostic::error(
                        &crate::rules::MODEL_PATH,
                        format!("`{path}` cannot hold generated files"),
                    )
                    .with_primary_label(v.span, problem.reason())
                    .with_help("use a directory of its own, like `\"kubernetes\"`"),
                );
                None
            }
        }
    }

    /// A repo-relative path to a `kustomization.yaml` (or `.yml`).
    fn kustomization_path(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let p = self.relative_path(v, path)?;
        let file = p.rsplit('/').next().unwrap_or_default();
        if file == "kustomization.yaml" || file == "kustomization.yml" {
            return Some(p.trim_start_matches("./").to_owned());
        }
        self.push(
            Diagnostic::error(&crate::rules::MODEL_PATH, format!("`{path}` is not a kustomization file"))
                .with_primary_label(v.span, "expected a path ending in `kustomization.yaml`")
                .with_help("name the app-of-apps kustomization that lists your `*-app.yaml` files, like `\"kubernetes/argocd/apps/kustomization.yaml\"`"),
        );
        None
    }

    fn kubernetes(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> Option<Kubernetes> {
        let s = self.section(v, path, attr.and_then(|a| a.name_span), &schema::KUBERNETES)?;
        let defaults = Kubernetes::default();
        let dir = self.opt(
            &s,
            "dir",
            || defaults.dir.clone(),
            |me, v, p| me.kubernetes_dir(v, p),
        );
        let pod_cidr = self.opt_spanned(
            &s,
            "podCIDR",
            || defaults.pod_cidr.value,
            |me, v, p| me.cluster_cidr(v, p),
        );
        let service_cidr = self.opt_spanned(
            &s,
            "serviceCIDR",
            || defaults.service_cidr.value,
            |me, v, p| me.cluster_cidr(v, p),
        );
        let node_cidrs = match s.get("nodeCIDRs") {
            Some(v) => self
                .list(
                    v,
                    s.path.key("nodeCIDRs"),
                    "a list of CIDRs",
                    |me, item, p| me.cidr(item, p),
                )
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let cluster_domain = self.opt(
            &s,
            "clusterDomain",
            || defaults.cluster_domain.clone(),
            |me, v, p| me.non_empty(v, p).map(str::to_owned),
        );
        let dns_service_ip = s.get("dnsServiceIP").and_then(|v| {
            let text = self.string(v, s.path.key("dnsServiceIP"))?;
            let Ok(ip) = text.parse::<std::net::IpAddr>() else {
                self.push(
                    Diagnostic::error(&crate::rules::MODEL_ADDRESS, format!("`{text}` is not an address"))
                        .with_primary_label(v.span, "expected the cluster DNS Service's ClusterIP, like `10.43.0.10`")
                        .with_help("`kubectl -n kube-system get service kube-dns -o jsonpath='{.spec.clusterIP}'` prints it"),
                );
                return None;
            };
            let cidr = &service_cidr;
            if !cidr.value.0.trunc().contains(&ip) {
                self.push(
                    Diagnostic::error(
                        &crate::rules::MODEL_ADDRESS,
                        format!("`{ip}` is not in `serviceCIDR` ({})", cidr.value.canonical()),
                    )
                    .with_primary_label(v.span, "a ClusterIP is an address of the service network")
                    .with_help("`kubectl -n kube-system get service kube-dns -o jsonpath='{.spec.clusterIP}'` prints it"),
                );
                return None;
            }
            Some(spanned(ip, v))
        });
        let mut argocd = match s.get("argocd") {
            Some(v) => self.argocd(v, s.path.key("argocd"), s.attrs.get("argocd")),
            None => defaults.argocd.clone(),
        };
        // The Application is generated next to it, and generated files live
        // under `kubernetes.dir` (the ledger holds nothing else).
        if let Some(register_in) = &argocd.register_in
            && !crate::layout::is_within(&register_in.value, &dir)
        {
            self.push(
                Diagnostic::error(
                    &crate::rules::MODEL_PATH,
                    "`kubernetes.argocd.registerIn` is outside `kubernetes.dir`".to_owned(),
                )
                .with_primary_label(
                    register_in.span,
                    format!("not under `{dir}/`: the Application is generated next to it"),
                )
                .with_help("name the app-of-apps kustomization inside `kubernetes.dir`, or set `kubernetes.dir` to a directory that holds it"),
            );
            argocd.register_in = None;
        }
        let gitops = self.opt_spanned(
            &s,
            "gitops",
            || lookup(&GitOps::ALL, d::GITOPS, GitOps::ArgoCd),
            |me, v, p| me.enumeration(v, p, "GitOps engine", &GitOps::ALL),
        );
        let flux = match s.get("flux") {
            Some(v) => self.flux(v, s.path.key("flux"), s.attrs.get("flux")),
            None => defaults.flux.clone(),
        };
        let layout = match s.get("layout") {
            Some(v) => self.layout(v, s.path.key("layout"), s.attrs.get("layout")),
            None => defaults.layout.clone(),
        };
        let monitoring = match s.get("monitoring") {
            Some(v) => self.monitoring(v, s.path.key("monitoring"), s.attrs.get("monitoring")),
            None => defaults.monitoring.clone(),
        };
        let verification = match s.get("verification") {
            Some(v) => {
                let at = s.attrs.get("verification").and_then(|a| a.name_span);
                match self.section(v, s.path.key("verification"), at, &schema::VERIFICATION) {
                    Some(inner) => self.opt(
                        &inner,
                        "enable",
                        || d::VERIFICATION,
                        |me, v, p| me.boolean(v, p),
                    ),
                    None => d::VERIFICATION,
                }
            }
            None => d::VERIFICATION,
        };
        let secrets = self.opt_spanned(
            &s,
            "secrets",
            || defaults.secrets.value,
            |me, v, p| me.enumeration(v, p, "secrets backend", &SecretsBackend::ALL),
        );
        Some(Kubernetes {
            dir,
            pod_cidr,
            service_cidr,
            node_cidrs,
            cluster_domain,
            dns_service_ip,
            gitops,
            argocd,
            flux,
            layout,
            monitoring,
            verification,
            secrets,
        })
    }

    fn flux(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> Flux {
        let defaults = Flux::default();
        let Some(s) = self.section(v, path, attr.and_then(|a| a.name_span), &schema::FLUX) else {
            return defaults;
        };
        let label =
            |me: &mut Self, v: &Value, p: Path<'_>| me.name(v, p).map(|n| n.as_str().to_owned());
        let (source_kind, source_name) = match s.get("sourceRef") {
            Some(v) => {
                let at = s.attrs.get("sourceRef").and_then(|a| a.name_span);
                match self.section(v, s.path.key("sourceRef"), at, &schema::FLUX_SOURCE) {
                    Some(r) => (
                        self.opt(
                            &r,
                            "kind",
                            || defaults.source_kind.clone(),
                            |me, v, p| {
                                me.enumeration(
                                    v,
                                    p,
                                    "Flux source kind",
                                    &schema::FLUX_SOURCE_KINDS.map(|k| (k, k)),
                                )
                                .map(str::to_owned)
                            },
                        ),
                        self.opt(&r, "name", || defaults.source_name.clone(), label),
                    ),
                    None => (defaults.source_kind.clone(), defaults.source_name.clone()),
                }
            }
            None => (defaults.source_kind.clone(), defaults.source_name.clone()),
        };
        Flux {
            namespace: self.opt(&s, "namespace", || defaults.namespace.clone(), label),
            source_kind,
            source_name,
            interval: self.opt(
                &s,
                "interval",
                || defaults.interval.clone(),
                |me, v, p| {
                    let d = me.duration(v, p)?;
                    if !interval_valid(&d) {
                        // Flux's CRD wants a unit; `0` would never reconcile.
                        me.push(
                            Diagnostic::error(
                                &crate::rules::MODEL_DURATION,
                                format!("`{p}` cannot be `0`"),
                            )
                            .with_primary_label(
                                v.span,
                                "Flux reconciles at this interval: it needs a number and a unit",
                            )
                            .with_help("write it like `\"10m\"`"),
                        );
                        return None;
                    }
                    Some(d)
                },
            ),
            decryption_secret: self.opt(
                &s,
                "decryptionSecret",
                || defaults.decryption_secret.clone(),
                label,
            ),
            register_in: match s.get("registerIn") {
                Some(v) => self
                    .relative_path(v, s.path.key("registerIn"))
                    .map(|p| spanned(crate::layout::normalized(&p), v))
                    .or(defaults.register_in),
                None => defaults.register_in,
            },
        }
    }

    fn layout(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> Layout {
        let defaults = Layout::default();
        let Some(s) = self.section(v, path, attr.and_then(|a| a.name_span), &schema::LAYOUT) else {
            return defaults;
        };
        let apps = self.layout_pattern(
            &s,
            "apps",
            defaults.apps.clone(),
            crate::layout::apps_pattern_problem,
            "is not a layout of apps",
            "write where an app's manifests are under `kubernetes.dir`, like `\"apps/{namespace}/{app}\"` (a directory with its kustomization) or `\"apps/{app}.yaml\"` (one flat manifest)",
        );
        let proxies = self.opt(&s, "proxies", || defaults.proxies.clone(), |me, v, p| {
            let given = me.relative_path(v, p)?;
            match crate::layout::kubernetes_dir(&given) {
                Ok(dir) if dir != "." => Some(dir),
                Ok(_) => {
                    me.push(
                        Diagnostic::error(&crate::rules::MODEL_PATH, format!("`{p}` cannot hold the proxies' tree"))
                            .with_primary_label(v.span, "it is `kubernetes.dir` itself: pruning the tree would reach every file in it")
                            .with_help("name a directory of its own, like `\"infrastructure/vpn-proxy\"`"),
                    );
                    None
                }
                Err(problem) => {
                    me.push(
                        Diagnostic::error(&crate::rules::MODEL_PATH, format!("`{p}` cannot hold the proxies' tree"))
                            .with_primary_label(v.span, problem.reason())
                            .with_help("name a directory under `kubernetes.dir`, like `\"infrastructure/vpn-proxy\"`"),
                    );
                    None
                }
            }
        });
        let egress = self.layout_pattern(
            &s,
            "egress",
            defaults.egress.clone(),
            crate::layout::egress_pattern_problem,
            "is not a layout of egress components",
            "write a directory under `kubernetes.dir` outside what Flux applies whole, like `\"vpn-egress/{app}\"`",
        );
        Layout {
            apps,
            proxies,
            egress,
        }
    }

    /// A `kubernetes.layout` pattern (`apps`, `egress`): the default when
    /// absent or refused by `problem` (reported with `what` and `help`).
    fn layout_pattern(
        &mut self,
        s: &Section<'_, '_>,
        key: &str,
        default: Spanned<String>,
        problem: fn(&str) -> Option<&'static str>,
        what: &str,
        help: &str,
    ) -> Spanned<String> {
        let Some(v) = s.get(key) else {
            return default;
        };
        let p = s.path.key(key);
        let Some(pattern) = self.string(v, p) else {
            return default;
        };
        match problem(pattern) {
            None => spanned(pattern.trim_start_matches("./").to_owned(), v),
            Some(why) => {
                self.push(
                    Diagnostic::error(&crate::rules::MODEL_PATH, format!("`{p}` {what}"))
                        .with_primary_label(v.span, why)
                        .with_help(help),
                );
                default
            }
        }
    }

    fn argocd(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> ArgoCd {
        let defaults = ArgoCd::default();
        let Some(s) = self.section(v, path, attr.and_then(|a| a.name_span), &schema::ARGOCD) else {
            return defaults;
        };
        let text = |me: &mut Self, v: &Value, p: Path<'_>| me.non_empty(v, p).map(str::to_owned);
        ArgoCd {
            namespace: self.opt(
                &s,
                "namespace",
                || defaults.namespace.clone(),
                |me, v, p| me.name(v, p).map(|n| n.as_str().to_owned()),
            ),
            project: self.opt(&s, "project", || defaults.project.clone(), text),
            repo_url: self.opt(&s, "repoURL", || defaults.repo_url.clone(), text),
            target_revision: self.opt(
                &s,
                "targetRevision",
                || defaults.target_revision.clone(),
                text,
            ),
            register_in: match s.get("registerIn") {
                Some(v) => self
                    .kustomization_path(v, s.path.key("registerIn"))
                    .map(|p| spanned(p, v))
                    .or(defaults.register_in),
                None => defaults.register_in,
            },
        }
    }

    fn monitoring(&mut self, v: &Value, path: Path<'_>, attr: Option<&Attr>) -> Monitoring {
        let Some(s) = self.section(v, path, attr.and_then(|a| a.name_span), &schema::MONITORING)
        else {
            return Monitoring::default();
        };
        if let Some(attr) = s.attrs.get("tunnelMetrics") {
            self.push(
                Diagnostic::error(
                    &crate::rules::MODEL_REMOVED,
                    format!("`{}` was removed", s.path.key("tunnelMetrics")),
                )
                .with_primary_label(attr.name_span.or(attr.value.span), "no longer read")
                .with_note(
                    "it set `METRICS_TYPE`, which no gluetun release reads: the endpoint it \
                     scraped never existed, and its alert could only fire",
                )
                .with_help("delete it; the default alerts watch kube-state-metrics"),
            );
        }
        Monitoring {
            enable: self.opt(&s, "enable", || d::MONITORING, |me, v, p| me.boolean(v, p)),
            prober: self.opt(
                &s,
                "prober",
                || d::MONITORING_PROBER.to_owned(),
                |me, v, p| me.host_port(v, p),
            ),
            prober_module: self.opt(
                &s,
                "proberModule",
                || d::MONITORING_PROBER_MODULE.to_owned(),
                |me, v, p| me.non_empty(v, p).map(str::to_owned),
            ),
        }
    }

    /// A service address `host:port` (a DNS name or an IP, `[v6]` bracketed): what
    /// a prometheus-operator `Probe`'s `prober.url` holds, without a scheme.
    fn host_port(&mut self, v: &Value, path: Path<'_>) -> Option<String> {
        let s = self.string(v, path)?;
        let valid = s.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty()
                && !host.contains(['/', ' ', '@'])
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if valid {
            return Some(s.to_owned());
        }
        self.push(
            Diagnostic::error(
                &crate::rules::MODEL_ADDRESS,
                format!("`{s}` is not a `host:port` address"),
            )
            .with_primary_label(v.span, "expected `HOST:PORT`, without a scheme or a path")
            .with_help(format!("like the default `{}`", d::MONITORING_PROBER)),
        );
        None
    }
}

#[cfg(test)]
mod tests;
