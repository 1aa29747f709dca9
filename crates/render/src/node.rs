//! [`Node`]: the document tree the renderers build and the YAML emitter writes.
//!
//! Why not `serde_json::Value`: rendering 10,000 proxies spent most of its time
//! allocating and hashing (an `IndexMap` and an owned `String` per key). A `Node`
//! map is a `Vec` in insertion order, and keys, literals and the network's own
//! strings (names, namespaces, labels) are borrowed rather than copied, so a
//! Deployment costs a few dozen allocations instead of hundreds.
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A YAML document node. Maps keep their insertion order. Strings borrow what
/// they can (literals, the network's names) for `'a`: a document lives only until
/// it is emitted, and the network outlives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(Cow<'a, str>),
    /// A sequence.
    Seq(Vec<Node<'a>>),
    /// A mapping, in order.
    Map(Vec<(Cow<'a, str>, Node<'a>)>),
}

/// A literal usable as a [`Node`] without allocating.
pub trait Lit<'a> {
    /// The node.
    fn node(self) -> Node<'a>;
}

impl<'a> Lit<'a> for &'a str {
    fn node(self) -> Node<'a> {
        Node::Str(Cow::Borrowed(self))
    }
}

impl Lit<'_> for i32 {
    fn node(self) -> Node<'static> {
        Node::Int(i64::from(self))
    }
}

impl Lit<'_> for bool {
    fn node(self) -> Node<'static> {
        Node::Bool(self)
    }
}

impl<'a> Node<'a> {
    /// A literal (`"TCP"`, `8888`, `true`), borrowed.
    pub fn lit(l: impl Lit<'a>) -> Node<'a> {
        l.node()
    }

    /// An empty map.
    pub fn map() -> Node<'a> {
        Node::Map(Vec::new())
    }

    /// Sets `key` (replacing its value, or appending it) on a map; no-op otherwise.
    pub fn insert(&mut self, key: impl Into<Cow<'a, str>>, value: impl Into<Node<'a>>) {
        if let Node::Map(entries) = self {
            let key = key.into();
            let value = value.into();
            match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => entries.push((key, value)),
            }
        }
    }

    /// The value of `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The same document as a JSON value (for tests and for embedding).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::Str(s) => Value::String(s.to_string()),
            Node::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

impl<'a> From<&'a str> for Node<'a> {
    fn from(s: &'a str) -> Node<'a> {
        Node::Str(Cow::Borrowed(s))
    }
}

impl From<String> for Node<'_> {
    fn from(s: String) -> Self {
        Node::Str(Cow::Owned(s))
    }
}

impl<'a> From<&'a String> for Node<'a> {
    fn from(s: &'a String) -> Node<'a> {
        Node::Str(Cow::Borrowed(s.as_str()))
    }
}

impl<'a> From<Cow<'a, str>> for Node<'a> {
    fn from(s: Cow<'a, str>) -> Node<'a> {
        Node::Str(s)
    }
}

impl From<bool> for Node<'_> {
    fn from(b: bool) -> Self {
        Node::Bool(b)
    }
}

macro_rules! int_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Node<'_> {
            fn from(i: $t) -> Self {
                Node::Int(i64::from(i))
            }
        }
    )*};
}
int_from!(u8, u16, u32, i32, i64);

impl<'a, T: Into<Node<'a>>> From<Vec<T>> for Node<'a> {
    fn from(items: Vec<T>) -> Node<'a> {
        Node::Seq(items.into_iter().map(Into::into).collect())
    }
}

impl<'a, const N: usize> From<[&'a str; N]> for Node<'a> {
    fn from(items: [&'a str; N]) -> Node<'a> {
        Node::Seq(items.into_iter().map(Node::lit).collect())
    }
}

impl<'a> From<&'a [String]> for Node<'a> {
    fn from(items: &'a [String]) -> Node<'a> {
        Node::Seq(items.iter().map(Node::from).collect())
    }
}

impl<'a> From<&'a BTreeMap<String, String>> for Node<'a> {
    fn from(map: &'a BTreeMap<String, String>) -> Node<'a> {
        Node::Map(
            map.iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), Node::from(v)))
                .collect(),
        )
    }
}

/// Builds a [`Node`] with JSON-like syntax: `node!({ "kind": "Service", "spec": { … } })`.
/// Keys are string literals; a value is `null`, a literal (borrowed, no
/// allocation), a nested `{ … }` or `[ … ]`, or any expression with `Into<Node>`.
macro_rules! node {
    // A map: entries are munched one by one, a value running to the next top-level comma.
    (@map [$($done:tt)*]) => {
        $crate::node::Node::Map(vec![$($done)*])
    };
    (@map [$($done:tt)*] $key:literal : $($rest:tt)+) => {
        $crate::node::node!(@value [$($done)*] $key [] $($rest)+)
    };
    (@value [$($done:tt)*] $key:literal [$($val:tt)+] , $($rest:tt)*) => {
        $crate::node::node!(@map [$($done)* (::std::borrow::Cow::Borrowed($key), $crate::node::node!($($val)+)),] $($rest)*)
    };
    (@value [$($done:tt)*] $key:literal [$($val:tt)*] $next:tt $($rest:tt)*) => {
        $crate::node::node!(@value [$($done)*] $key [$($val)* $next] $($rest)*)
    };
    (@value [$($done:tt)*] $key:literal [$($val:tt)+]) => {
        $crate::node::node!(@map [$($done)* (::std::borrow::Cow::Borrowed($key), $crate::node::node!($($val)+)),])
    };
    // A sequence, likewise.
    (@seq [$($done:tt)*] []) => {
        $crate::node::Node::Seq(vec![$($done)*])
    };
    (@seq [$($done:tt)*] [$($val:tt)+]) => {
        $crate::node::Node::Seq(vec![$($done)* $crate::node::node!($($val)+),])
    };
    (@seq [$($done:tt)*] [$($val:tt)+] , $($rest:tt)*) => {
        $crate::node::node!(@seq [$($done)* $crate::node::node!($($val)+),] [] $($rest)*)
    };
    (@seq [$($done:tt)*] [$($val:tt)*] $next:tt $($rest:tt)*) => {
        $crate::node::node!(@seq [$($done)*] [$($val)* $next] $($rest)*)
    };
    (null) => {
        $crate::node::Node::Null
    };
    ({ $($tt:tt)* }) => {
        $crate::node::node!(@map [] $($tt)*)
    };
    ([ $($tt:tt)* ]) => {
        $crate::node::node!(@seq [] [] $($tt)*)
    };
    ($lit:literal) => {
        $crate::node::Node::lit($lit)
    };
    ($($other:tt)+) => {
        $crate::node::Node::from($($other)+)
    };
}
pub(crate) use node;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_macro_builds_in_order() {
        let name = "x".to_owned();
        let n =
            node!({ "b": 1, "a": [true, null, "s"], "c": name, "d": format!("{}-y", 2), "e": {} });
        assert_eq!(
            n.to_json().to_string(),
            r#"{"b":1,"a":[true,null,"s"],"c":"x","d":"2-y","e":{}}"#
        );
        let mut m = n;
        m.insert("a", "replaced");
        m.insert("z", 5u16);
        assert_eq!(m.get("a"), Some(&Node::lit("replaced")));
        assert_eq!(m.get("z"), Some(&Node::Int(5)));
    }
}
