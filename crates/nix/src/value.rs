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

    /// The JSON `nix-instantiate --eval --strict --json` prints for it.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.kind {
            ValueKind::Null => J::Null,
            ValueKind::Bool(b) => J::Bool(*b),
            ValueKind::Int(i) => J::from(*i),
            ValueKind::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            ValueKind::String(s) => J::String(s.clone()),
            ValueKind::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            ValueKind::Attrs(attrs) => {
                J::Object(attrs.iter().map(|(k, a)| (k.clone(), a.value.to_json())).collect())
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
                    .map(|(k, v)| (k.clone(), Attr { name_span: None, value: Value::from_json(v) }))
                    .collect(),
            ),
        };
        Value::new(kind)
    }
}
