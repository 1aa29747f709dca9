//! A small, deterministic YAML emitter for [`Node`] documents.
//!
//! Why not `serde_norway::to_string`: it writes `on`, `off`, `yes` and `no` as plain
//! scalars, and Kubernetes reads manifests with a YAML 1.1 parser (go-yaml v2 via
//! `sigs.k8s.io/yaml`), for which those are booleans: `HTTPPROXY: on` would become
//! `true` and the `EnvVar.value` would fail to decode. This emitter writes a plain
//! scalar only when it is a string under both YAML 1.1 and 1.2, and double-quotes
//! everything else (JSON escaping is valid YAML). Multi-line strings become literal
//! blocks. Key order is the map's order.
//!
//! Everything is written straight into one output `String`: rendering 10,000
//! proxies emits hundreds of thousands of scalars, and a temporary `String` per
//! scalar (for quoting or number formatting) used to cost more than the writing.
use crate::node::Node;

/// Emits one YAML document (no `---`), ending with a newline.
pub fn to_string(value: &Node<'_>) -> String {
    let mut out = String::with_capacity(1024);
    write(&mut out, value);
    out
}

/// Appends one YAML document (no `---`), ending with a newline, to `out`.
pub fn write(out: &mut String, value: &Node<'_>) {
    let plain = &mut Verdicts::new();
    if is_nonempty_collection(value) {
        block(out, plain, value, 0, false);
    } else {
        push_inline(out, plain, value);
        out.push('\n');
    }
}

/// The [`is_plain_safe`] verdicts of one document's strings, by address and
/// length: a document repeats its keys (`name`, `app.kubernetes.io/name`) and
/// many values dozens of times, and a lookup costs less than a scan.
///
/// Sound because a `Verdicts` lives only while one document is borrowed for
/// emitting: none of its strings can be freed or changed meanwhile, so one
/// address and length always hold the same bytes.
struct Verdicts([(usize, usize, bool); 64]);

impl Verdicts {
    fn new() -> Verdicts {
        // Address 0 is never a string's: the empty slots never match.
        Verdicts([(0, 0, false); 64])
    }

    fn check(&mut self, s: &str) -> bool {
        let (addr, len) = (s.as_ptr().addr(), s.len());
        let slot = &mut self.0[(addr ^ (addr >> 6) ^ len) % 64];
        if slot.0 == addr && slot.1 == len {
            return slot.2;
        }
        let plain = is_plain_safe(s);
        *slot = (addr, len, plain);
        plain
    }
}

fn is_nonempty_collection(v: &Node<'_>) -> bool {
    match v {
        Node::Map(m) => !m.is_empty(),
        Node::Seq(a) => !a.is_empty(),
        _ => false,
    }
}

const SPACES: &str = "                                                                ";

fn pad(out: &mut String, n: usize) {
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

/// Writes a non-empty mapping or sequence with its lines at `indent`; when
/// `continued`, the first line's indentation is already written (after `- `).
fn block(out: &mut String, plain: &mut Verdicts, value: &Node<'_>, indent: usize, continued: bool) {
    let mut first = continued;
    match value {
        Node::Map(map) => {
            for (key, v) in map {
                if !std::mem::take(&mut first) {
                    pad(out, indent);
                }
                push_scalar_str(out, plain, key);
                out.push(':');
                child(out, plain, v, indent, indent + 2);
            }
        }
        Node::Seq(items) => {
            for v in items {
                if !std::mem::take(&mut first) {
                    pad(out, indent);
                }
                out.push('-');
                if is_nonempty_collection(v) {
                    out.push(' ');
                    block(out, plain, v, indent + 2, true);
                } else {
                    child(out, plain, v, indent, indent + 2);
                }
            }
        }
        _ => {
            if !first {
                pad(out, indent);
            }
            push_inline(out, plain, value);
            out.push('\n');
        }
    }
}

/// Writes the value after `key:` or `-`: inline for scalars, a literal block for
/// multi-line strings, else a nested block (sequences under a key are not indented,
/// as `kubectl` writes them).
fn child(out: &mut String, plain: &mut Verdicts, v: &Node<'_>, indent: usize, nested: usize) {
    match v {
        Node::Map(m) if !m.is_empty() => {
            out.push('\n');
            block(out, plain, v, nested, false);
        }
        Node::Seq(a) if !a.is_empty() => {
            out.push('\n');
            block(out, plain, v, indent, false);
        }
        // A plain-safe string has no newline: testing it first spares the common
        // case the newline scan.
        Node::Str(s) if plain.check(s) => {
            out.push(' ');
            out.push_str(s);
            out.push('\n');
        }
        Node::Str(s) if literal_ok(s) => {
            let body = s.trim_end_matches('\n');
            let trailing = s.len() - body.len();
            out.push_str(match trailing {
                0 => " |-\n",
                1 => " |\n",
                _ => " |+\n",
            });
            for line in s.split_inclusive('\n') {
                if line != "\n" {
                    pad(out, nested);
                }
                out.push_str(line);
            }
            if trailing == 0 {
                out.push('\n');
            }
        }
        Node::Str(s) => {
            out.push(' ');
            push_quoted(out, s);
            out.push('\n');
        }
        _ => {
            out.push(' ');
            push_inline(out, plain, v);
            out.push('\n');
        }
    }
}

/// A multi-line string that a literal block can carry exactly: no control
/// character but newlines (C0, DEL, C1) and no byte order mark.
fn literal_ok(s: &str) -> bool {
    let bytes = s.as_bytes();
    // Byte by byte (no char decoding): in UTF-8 the C1 controls are `C2 80`..`C2 9F`
    // and U+FEFF is `EF BB BF`; `C2` and `EF` only ever start a character.
    let forbidden = |(i, &b): (usize, &u8)| match b {
        b'\n' => false,
        0x00..=0x1f | 0x7f => true,
        0xc2 => matches!(bytes.get(i + 1), Some(0x80..=0x9f)),
        0xef => bytes.get(i + 1..i + 3) == Some(&[0xbb, 0xbf][..]),
        _ => false,
    };
    s.contains('\n') && !s.starts_with([' ', '\n']) && !bytes.iter().enumerate().any(forbidden)
}

/// A scalar (or an empty collection) in flow style.
fn push_inline(out: &mut String, plain: &mut Verdicts, v: &Node<'_>) {
    match v {
        Node::Null => out.push_str("null"),
        Node::Bool(true) => out.push_str("true"),
        Node::Bool(false) => out.push_str("false"),
        Node::Int(n) => push_int(out, *n),
        Node::Str(s) => push_scalar_str(out, plain, s),
        Node::Map(m) if m.is_empty() => out.push_str("{}"),
        Node::Seq(a) if a.is_empty() => out.push_str("[]"),
        // Non-empty collections never reach here (`block` writes them); as flow JSON
        // they would still be valid YAML.
        other => out.push_str(&other.to_json().to_string()),
    }
}

/// `n` in decimal, as `Display` writes it.
fn push_int(out: &mut String, n: i64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        start -= 1;
        // `rest % 10` is below 10: the cast cannot truncate.
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push('-');
    }
    for &d in &digits[start..] {
        out.push(char::from(d));
    }
}

/// A string as a plain scalar when that is unambiguous, else double-quoted.
fn push_scalar_str(out: &mut String, plain: &mut Verdicts, s: &str) {
    if plain.check(s) {
        out.push_str(s);
    } else {
        push_quoted(out, s);
    }
}

/// `s` as a YAML double-quoted scalar, in JSON's syntax (`\"`, `\\`, the short
/// escapes for backspace, tab, newline, form feed and carriage return, `\u00xx`
/// in lower-case hex for the other C0 controls, as `serde_json` writes them), and
/// also `\u` escapes for what YAML does not allow verbatim although JSON does:
/// DEL, the C1 controls (U+0080 to U+009F) and the noncharacters U+FFFE and
/// U+FFFF (PyYAML and kustomize reject a file holding them raw). Everything else
/// verbatim.
fn push_quoted(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex4 = |out: &mut String, code: u32| {
        out.push_str("\\u");
        for shift in [12, 8, 4, 0] {
            out.push(char::from(HEX[((code >> shift) & 0xf) as usize]));
        }
    };
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut verbatim = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // In UTF-8, `C2 80`..`C2 9F` are the C1 controls and `EF BF BE`/`EF BF BF`
        // U+FFFE/U+FFFF; `C2` and `EF` only ever start a character, so `i` and the
        // end of the sequence are char boundaries.
        let (len, code) = match b {
            b'"' | b'\\' | 0x00..=0x1f | 0x7f => (1, u32::from(b)),
            0xc2 if matches!(bytes.get(i + 1), Some(0x80..=0x9f)) => (2, u32::from(bytes[i + 1])),
            0xef if bytes.get(i + 1) == Some(&0xbf)
                && matches!(bytes.get(i + 2), Some(0xbe | 0xbf)) =>
            {
                (3, 0xfffe + u32::from(bytes[i + 2] - 0xbe))
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[verbatim..i]);
        match code {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0c => out.push_str("\\f"),
            0x0d => out.push_str("\\r"),
            code => hex4(out, code),
        }
        i += len;
        verbatim = i;
    }
    out.push_str(&s[verbatim..]);
    out.push('"');
}

/// Byte classes for [`is_plain_safe`].
const PLAIN: u8 = 1;
/// A byte that may appear in something YAML could read as a number.
const NUMERIC: u8 = 2;
/// `:`, which starts a mapping value when a space follows.
const COLON: u8 = 4;

/// [`PLAIN`], [`NUMERIC`] and [`COLON`] for every byte.
static CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut class = 0;
        if c.is_ascii_alphanumeric()
            || matches!(
                c,
                b' ' | b'.'
                    | b'_'
                    | b'/'
                    | b':'
                    | b'@'
                    | b'='
                    | b'+'
                    | b','
                    | b'('
                    | b')'
                    | b'-'
                    | b'$'
            )
        {
            class |= PLAIN;
        }
        if c.is_ascii_hexdigit()
            || matches!(
                c,
                b'x' | b'X' | b'o' | b'O' | b'.' | b'_' | b':' | b'+' | b'-'
            )
        {
            class |= NUMERIC;
        }
        if c == b':' {
            class |= COLON;
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// Whether `s` can be written as a plain scalar that every YAML 1.1 and 1.2
/// parser reads back as this very string: non-empty; not a boolean or null word
/// of either version; starting with a letter, digit, `/`, `_` or `$`; made only of
/// letters, digits and ` ._/:@=+,()-$` (so no `#` comment, no flow or block
/// indicator); no `: ` inside and no space or `:` at the end (mapping syntax); and
/// not something that might be a number in some YAML version (ints, floats,
/// 0x/0o, sexagesimal `1:20`, timestamps `2001-12-14`, `1_000`).
fn is_plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    // Every YAML 1.1 timestamp form starts `YYYY-` (`2001-12-14t21:59:43.10-05:00`,
    // `2001-12-14 21:59:43.10 -5`): YAML 1.1 readers such as kustomize would turn
    // it into a time, so it is quoted.
    if bytes.len() >= 5 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-' {
        return false;
    }
    if !(first.is_ascii_alphanumeric() || matches!(first, b'/' | b'_' | b'$'))
        || matches!(last, b' ' | b':')
        || (bytes.len() <= 5 && is_reserved(s))
    {
        return false;
    }
    // Long texts (scripts, descriptions) are mostly multi-line, and a newline is
    // never plain: `memchr` finds it faster than the loop below would scan them.
    if bytes.len() > 64 && bytes.contains(&b'\n') {
        return false;
    }
    // One pass for every class, without early exit: most scalars are short, and a
    // separate scan per rule (or a `memchr` for `:`) cost more than the whole test.
    let (mut all, mut any) = (PLAIN | NUMERIC, 0);
    for &b in bytes {
        let class = CLASSES[usize::from(b)];
        all &= class;
        any |= class;
    }
    all & PLAIN != 0
        && (any & COLON == 0 || !bytes.windows(2).any(|w| w == b": "))
        && !(first.is_ascii_digit() && all & NUMERIC != 0)
}

/// Words YAML 1.1 or 1.2 resolves to booleans or null (`~` never passes the
/// first-byte test of [`is_plain_safe`], but it is one of them).
fn is_reserved(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | "null"
            | "Null"
            | "NULL"
            | "~"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::node;
    use serde_json::Value;

    #[test]
    fn yaml_1_1_booleans_and_numbers_are_quoted() {
        let doc = node!({"a": "on", "b": "8888", "c": ":8888", "d": "10.42.0.0/16", "e": "1:20", "f": "64Mi", "g": "", "h": "No"});
        assert_eq!(
            to_string(&doc),
            "a: \"on\"\nb: \"8888\"\nc: \":8888\"\nd: 10.42.0.0/16\ne: \"1:20\"\nf: 64Mi\ng: \"\"\nh: \"No\"\n"
        );
    }

    #[test]
    fn nesting_and_literal_blocks() {
        let doc = node!({"m": {"k": [1, {"x": "y", "z": []}, ["a"]]}, "s": "exec:\n  path: ksops\n", "t": "a\nb"});
        assert_eq!(
            to_string(&doc),
            "m:\n  k:\n  - 1\n  - x: \"y\"\n    z: []\n  - - a\ns: |\n  exec:\n    path: ksops\nt: |-\n  a\n  b\n"
        );
    }

    /// The rules as first written, one check at a time: the one-pass version must agree.
    fn reference_is_plain_safe(s: &str) -> bool {
        const RESERVED: &[&str] = &[
            "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
            "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null",
            "NULL", "~",
        ];
        let Some(first) = s.chars().next() else {
            return false;
        };
        if RESERVED.contains(&s) {
            return false;
        }
        if !(first.is_ascii_alphanumeric() || matches!(first, '/' | '_' | '$')) {
            return false;
        }
        if s.ends_with([' ', ':']) || s.contains(": ") || s.contains(" #") {
            return false;
        }
        if !s.bytes().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b' ' | b'.'
                        | b'_'
                        | b'/'
                        | b':'
                        | b'@'
                        | b'='
                        | b'+'
                        | b','
                        | b'('
                        | b')'
                        | b'-'
                        | b'$'
                )
        }) {
            return false;
        }
        let numberish = (first.is_ascii_digit() || first == '.')
            && s.bytes().all(|c| {
                c.is_ascii_hexdigit()
                    || matches!(
                        c,
                        b'x' | b'X' | b'o' | b'O' | b'.' | b'_' | b':' | b'+' | b'-'
                    )
            });
        !numberish
    }

    #[test]
    fn plain_safety_matches_the_reference() {
        let alphabet = [
            "", "a", "Z", "0", "9", "f", "x", "o", "e", " ", ":", "#", ".", "-", "+", "_", "/",
            "$", "@", "=", ",", "(", ")", "~", "'", "\"", "\n", "\t", "é", "\u{feff}", "[", "{",
            "*", "&", "!", "|", ">", "%", "`", "?", "\\",
        ];
        let words = [
            "y",
            "Yes",
            "NO",
            "true",
            "False",
            "on",
            "OFF",
            "null",
            "Null",
            "~",
            "yes!",
            "onn",
            "10.42.0.0/16",
            "1:20",
            "2001-12-14",
            "64Mi",
            "8888",
            "0x1F",
            "1e3",
            "1_000",
            ".5",
            "vpn-proxy",
            "a: b",
            "a:b",
            "x #y",
            "ends:",
            "ends ",
            "$(curl)",
            "/gluetun",
        ];
        let mut cases: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    cases.push(format!("{a}{b}{c}"));
                    for w in &words[..8] {
                        cases.push(format!("{a}{w}{c}"));
                    }
                }
            }
        }
        for s in &cases {
            assert_eq!(is_plain_safe(s), reference_is_plain_safe(s), "{s:?}");
        }
    }

    #[test]
    fn literal_blocks_refuse_what_they_cannot_carry() {
        let reference = |s: &str| {
            s.contains('\n')
                && !s.starts_with([' ', '\n'])
                && !s
                    .chars()
                    .any(|c| (c.is_control() && c != '\n') || c == '\u{feff}')
        };
        let mut cases: Vec<String> = (0u32..0x100)
            .chain([
                0x2028, 0xfeff, 0xfefe, 0xfffe, 0x1f600, 0x10ffff, 0xc280, 0x80, 0x9f,
            ])
            .filter_map(char::from_u32)
            .flat_map(|c| [format!("a{c}\nb"), format!("{c}\n"), format!("a\n{c}")])
            .collect();
        cases.extend([
            "a\nb".to_owned(),
            " a\nb".to_owned(),
            "\nab".to_owned(),
            "ab".to_owned(),
        ]);
        for s in &cases {
            assert_eq!(literal_ok(s), reference(s), "{s:?}");
        }
    }

    #[test]
    fn remembered_verdicts_are_the_verdicts() {
        let text = "on: 8888 vpn-proxy a:b";
        let mut plain = Verdicts::new();
        // Prefixes share their address: the length tells them apart.
        for _ in 0..2 {
            for end in 0..=text.len() {
                let s = &text[..end];
                assert_eq!(plain.check(s), is_plain_safe(s), "{s:?}");
            }
        }
    }

    #[test]
    fn quoting_matches_serde_json() {
        let mut cases: Vec<String> = (0u32..0x80)
            .chain([0x85, 0xa0, 0x2028, 0xfeff, 0x1f600])
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b{c}"))
            .collect();
        cases.extend(["".to_owned(), "\"\\".to_owned(), "é\u{1}ü\n".to_owned()]);
        cases.extend(["\u{7f}\u{80}\u{9f}\u{fffe}\u{ffff}\u{fffd}".to_owned()]);
        for s in &cases {
            let mut out = String::new();
            push_quoted(&mut out, s);
            // JSON's escaping, plus what YAML does not allow verbatim.
            let mut want = String::new();
            for c in serde_json::Value::from(s.as_str()).to_string().chars() {
                match c {
                    '\u{7f}' | '\u{80}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' => {
                        want.push_str(&format!("\\u{:04x}", u32::from(c)));
                    }
                    c => want.push(c),
                }
            }
            assert_eq!(out, want, "{s:?}");
        }
    }

    #[test]
    fn integers_match_display() {
        for n in [0, 1, -1, 9, 10, -10, 8888, i64::MAX, i64::MIN, 86400] {
            let mut out = String::new();
            push_int(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn round_trips_through_a_yaml_parser() {
        let doc = node!({
            "on": ["off", "yes", "-x", "- x", "a: b", "#c", "1e3", "0x1F", "2001-12-14", "x #y", "tab\there", "é",
                   "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2002-12-14", "a\u{7f}\u{85}\u{9f}\u{fffe}\u{ffff}b"],
            "multi": "line1\n\nline3\n\n",
            "lead": " leading space\nsecond",
            "nested": [[{"a": null, "b": true, "c": (-1), "d": {}}]],
        });
        let text = to_string(&doc);
        let back: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, doc.to_json(), "{text}");
    }
}
