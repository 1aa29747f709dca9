//! [`Node`]: the document tree the renderers build and the YAML emitter writes.
//!
//! Why not `serde_json::Value`: rendering 10,000 proxies spent most of its time
//! allocating and hashing (an `IndexMap` and an owned `String` per key). A `Node`
//! map is a `Vec` in insertion order, keys are `&'static str`, and literal values
//! are borrowed, so a Deployment costs a few dozen allocations instead of hundreds.
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A YAML document node. Maps keep their insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(Cow<'static, str>),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in order.
    Map(Vec<(Cow<'static, str>, Node)>),
}

/// A literal usable as a [`Node`] without allocating.
pub trait Lit {
    /// The node.
    fn node(self) -> Node;
}

impl Lit for &'static str {
    fn node(self) -> Node {
        Node::Str(Cow::Borrowed(self))
    }
}

impl Lit for i32 {
    fn node(self) -> Node {
        Node::Int(i64::from(self))
    }
}

impl Lit for bool {
    fn node(self) -> Node {
        Node::Bool(self)
    }
}

impl Node {
    /// A literal (`"TCP"`, `8888`, `true`), borrowed.
    pub fn lit(l: impl Lit) -> Node {
        l.node()
    }

    /// An empty map.
    pub fn map() -> Node {
        Node::Map(Vec::new())
    }

    /// Sets `key` (replacing its value, or appending it) on a map; no-op otherwise.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Node>) {
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
    pub fn get(&self, key: &str) -> Option<&Node> {
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

impl From<&str> for Node {
    fn from(s: &str) -> Node {
        Node::Str(Cow::Owned(s.to_owned()))
    }
}

impl From<String> for Node {
    fn from(s: String) -> Node {
        Node::Str(Cow::Owned(s))
    }
}

impl From<&String> for Node {
    fn from(s: &String) -> Node {
        Node::Str(Cow::Owned(s.clone()))
    }
}

impl From<Cow<'static, str>> for Node {
    fn from(s: Cow<'static, str>) -> Node {
        Node::Str(s)
    }
}

impl From<bool> for Node {
    fn from(b: bool) -> Node {
        Node::Bool(b)
    }
}

macro_rules! int_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Node {
            fn from(i: $t) -> Node {
                Node::Int(i64::from(i))
            }
        }
    )*};
}
int_from!(u8, u16, u32, i32, i64);

impl<T: Into<Node>> From<Vec<T>> for Node {
    fn from(items: Vec<T>) -> Node {
        Node::Seq(items.into_iter().map(Into::into).collect())
    }
}

impl<const N: usize> From<[&'static str; N]> for Node {
    fn from(items: [&'static str; N]) -> Node {
        Node::Seq(items.into_iter().map(Node::lit).collect())
    }
}

impl From<&[String]> for Node {
    fn from(items: &[String]) -> Node {
        Node::Seq(items.iter().map(Node::from).collect())
    }
}

impl From<&BTreeMap<String, String>> for Node {
    fn from(map: &BTreeMap<String, String>) -> Node {
        Node::Map(
            map.iter()
                .map(|(k, v)| (Cow::Owned(k.clone()), Node::from(v)))
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
