//! The evaluated value, with source spans.
use avalanche_diag::Span;
use std::collections::BTreeMap;

/// An evaluated Nix value. `span` is the expression that produced it (`None` when
/// the value came from `nix eval`).
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// What it is.
    pub kind: ValueKind,
    /// Where it was written.
    pub span: Option<Span>,
}

/// An attribute of an attrset: the value and where its name was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// Span of the attribute name (the last segment of its attr path).
    pub name_span: Option<Span>,
    /// The value.
    pub value: Value,
}

/// The kinds of value the readers produce (fully evaluated: no thunks, no functions).
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (context-free).
    String(String),
    /// A list.
    List(Vec<Value>),
    /// An attrset; Nix orders attribute names lexicographically by bytes.
    Attrs(BTreeMap<String, Attr>),
}

impl Value {
    /// A value with no span.
    pub fn new(kind: ValueKind) -> Self {
        Value { kind, span: None }
    }

    /// The Nix type name (`int`, `set`, …) as `builtins.typeOf` says it.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            ValueKind::Null => "null",
            ValueKind::Bool(_) => "bool",
            ValueKind::Int(_) => "int",
            ValueKind::Float(_) => "float",
            ValueKind::String(_) => "string",
            ValueKind::List(_) => "list",
            ValueKind::Attrs(_) => "set",
        }
    }

    /// The attrset, if it is one.
    pub fn as_attrs(&self) -> Option<&BTreeMap<String, Attr>> {
        match &self.kind {
            ValueKind::Attrs(a) => Some(a),
            _ => None,
        }
    }

    /// The value as JSON (floats exact). For the very text `nix-instantiate --eval
    /// --strict --json` prints (floats rounded as Nix 2 prints them), use
    /// [`Value::to_json_string`].
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.kind {
            ValueKind::Null => J::Null,
            ValueKind::Bool(b) => J::Bool(*b),
            ValueKind::Int(i) => J::from(*i),
            ValueKind::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            ValueKind::String(s) => J::String(s.clone()),
            ValueKind::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            ValueKind::Attrs(attrs) => J::Object(
                attrs
                    .iter()
                    .map(|(k, a)| (k.clone(), a.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// The exact text `nix-instantiate --eval --strict --json` (Nix 2.x) prints:
    /// compact, keys sorted, floats as C++ streams print them (`%g`, 6 significant
    /// digits: `1.0` is `1`, `1.0e10` is `1e+10`), strings escaped as Nix does.
    pub fn to_json_string(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match &self.kind {
            ValueKind::Null => out.push_str("null"),
            ValueKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            ValueKind::Int(i) => out.push_str(&i.to_string()),
            ValueKind::Float(f) => out.push_str(&format_float(*f)),
            ValueKind::String(s) => write_json_string(s, out),
            ValueKind::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            ValueKind::Attrs(attrs) => {
                out.push('{');
                for (i, (k, a)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(k, out);
                    out.push(':');
                    a.value.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// Builds a span-less value from JSON (what `nix eval --json` prints).
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        let kind = match json {
            J::Null => ValueKind::Null,
            J::Bool(b) => ValueKind::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => ValueKind::Int(i),
                None => ValueKind::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => ValueKind::String(s.clone()),
            J::Array(items) => ValueKind::List(items.iter().map(Value::from_json).collect()),
            J::Object(map) => ValueKind::Attrs(
                map.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            Attr {
                                name_span: None,
                                value: Value::from_json(v),
                            },
                        )
                    })
                    .collect(),
            ),
        };
        Value::new(kind)
    }
}

/// A float as `std::ostream << double` prints it (`%g`, precision 6), which is
/// what Nix 2.x writes into JSON.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    const P: i32 = 6;
    // The exponent after rounding to P significant digits.
    let sci = format!("{:.*e}", (P - 1) as usize, f);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..P).contains(&exp) {
        let m = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (P - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{f:.decimals$}")).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A JSON string as Nix escapes it: `"` `\\` `\n` `\r` `\t`, other control
/// characters as `\u00XX`, everything else verbatim (UTF-8).
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_nix_2_prints_them() {
        let cases = [
            (4.49, "4.49"),
            (1.0, "1"),
            (1.0e10, "1e+10"),
            (0.1 + 0.2, "0.3"),
            (1.0e-7, "1e-07"),
            (123456789.123, "1.23457e+08"),
            (1.0e21, "1e+21"),
            (0.000001, "1e-06"),
            (2.5e-5, "2.5e-05"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (0.5, "0.5"),
            (1.5e300, "1.5e+300"),
            (-3.25, "-3.25"),
            (0.0001, "0.0001"),
            (999999.5, "1e+06"),
        ];
        for (f, want) in cases {
            assert_eq!(format_float(f), want, "{f}");
        }
    }

    #[test]
    fn strings_escape_as_nix_does() {
        let v = Value::new(ValueKind::String("a\"\\\n\t\r\u{1}\u{7f}é".into()));
        assert_eq!(v.to_json_string(), "\"a\\\"\\\\\\n\\t\\r\\u0001\u{7f}é\"");
    }
}
