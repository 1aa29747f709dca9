//! A small, deterministic YAML emitter for [`Node`] documents.
//!
//! Why not `serde_norway::to_string`: it writes `on`, `off`, `yes` and `no` as plain
//! scalars, and Kubernetes reads manifests with a YAML 1.1 parser (go-yaml v2 via
//! `sigs.k8s.io/yaml`), for which those are booleans: `HTTPPROXY: on` would become
//! `true` and the `EnvVar.value` would fail to decode. This emitter writes a plain
//! scalar only when it is a string under both YAML 1.1 and 1.2, and double-quotes
//! everything else (JSON escaping is valid YAML). Multi-line strings become literal
//! blocks. Key order is the map's order.
use crate::node::Node;

/// Emits one YAML document (no `---`), ending with a newline.
pub fn to_string(value: &Node) -> String {
    let mut out = String::with_capacity(1024);
    if is_nonempty_collection(value) {
        block(&mut out, value, 0, false);
    } else {
        out.push_str(&inline(value));
        out.push('\n');
    }
    out
}

fn is_nonempty_collection(v: &Node) -> bool {
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
fn block(out: &mut String, value: &Node, indent: usize, continued: bool) {
    let mut first = continued;
    match value {
        Node::Map(map) => {
            for (key, v) in map {
                if !std::mem::take(&mut first) {
                    pad(out, indent);
                }
                push_scalar_str(out, key);
                out.push(':');
                child(out, v, indent, indent + 2);
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
                    block(out, v, indent + 2, true);
                } else {
                    child(out, v, indent, indent + 2);
                }
            }
        }
        _ => {
            if !first {
                pad(out, indent);
            }
            out.push_str(&inline(value));
            out.push('\n');
        }
    }
}

/// Writes the value after `key:` or `-`: inline for scalars, a literal block for
/// multi-line strings, else a nested block (sequences under a key are not indented,
/// as `kubectl` writes them).
fn child(out: &mut String, v: &Node, indent: usize, nested: usize) {
    match v {
        Node::Map(m) if !m.is_empty() => {
            out.push('\n');
            block(out, v, nested, false);
        }
        Node::Seq(a) if !a.is_empty() => {
            out.push('\n');
            block(out, v, indent, false);
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
        _ => {
            out.push(' ');
            match v {
                Node::Str(s) => push_scalar_str(out, s),
                _ => out.push_str(&inline(v)),
            }
            out.push('\n');
        }
    }
}

/// A multi-line string that a literal block can carry exactly.
fn literal_ok(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{feff}')
}

fn inline(v: &Node) -> String {
    match v {
        Node::Null => "null".to_owned(),
        Node::Bool(b) => b.to_string(),
        Node::Int(n) => n.to_string(),
        Node::Str(s) => scalar_str(s),
        // Non-empty collections never reach here (`block` writes them); as flow JSON
        // they would still be valid YAML.
        other => other.to_json().to_string(),
    }
}

/// A string as a plain scalar when that is unambiguous, else double-quoted.
fn scalar_str(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        quote(s)
    }
}

fn push_scalar_str(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        out.push_str(&quote(s));
    }
}

fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Words YAML 1.1 or 1.2 resolves to booleans or null.
const RESERVED: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
    "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~",
];

fn is_plain_safe(s: &str) -> bool {
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
    // Anything that might be a number in some YAML version (ints, floats, 0x/0o,
    // sexagesimal `1:20`, timestamps `2001-12-14`, `1_000`) stays quoted.
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

    #[test]
    fn round_trips_through_a_yaml_parser() {
        let doc = node!({
            "on": ["off", "yes", "-x", "- x", "a: b", "#c", "1e3", "0x1F", "2001-12-14", "x #y", "tab\there", "é"],
            "multi": "line1\n\nline3\n\n",
            "lead": " leading space\nsecond",
            "nested": [[{"a": null, "b": true, "c": (-1), "d": {}}]],
        });
        let text = to_string(&doc);
        let back: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, doc.to_json(), "{text}");
    }
}
