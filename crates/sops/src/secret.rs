//! What a sealed secret looks like: the plaintext document `secrets seal`
//! encrypts and which of its values are encrypted. Two shapes: a Kubernetes
//! `Secret` (for KSOPS: `stringData`, with only `data`/`stringData` encrypted so
//! the manifest's metadata stays readable) and a plain map (for sops-nix).
//!
//! ```
//! use avalanche_sops::secret::Shape;
//! use avalanche_sops::{CryptRule, Value};
//! let shape = Shape::KubernetesSecret { name: "vpn", namespace: Some("vpn-proxy") };
//! let doc = shape.document(&[("KEY", "v")]);
//! assert_eq!(doc.get("kind").and_then(Value::as_str), Some("Secret"));
//! let rule = avalanche_sops::config::SopsConfig::parse("creation_rules:\n  - age: age1xyz\n").unwrap();
//! assert_eq!(shape.crypt_rule(&rule.rules[0]), CryptRule::kubernetes());
//! ```
use crate::config::CreationRule;
use crate::{CryptRule, Value};

/// The shape of a sealed secret's plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape<'a> {
    /// A Kubernetes `Secret` named `name` (in `namespace`, when given).
    KubernetesSecret {
        /// `metadata.name`.
        name: &'a str,
        /// `metadata.namespace`.
        namespace: Option<&'a str>,
    },
    /// A flat map of keys to values.
    Plain,
}

impl Shape<'_> {
    /// The plaintext document holding `values` (key, value), in that order.
    pub fn document(&self, values: &[(&str, &str)]) -> Value {
        let map = Value::Map(
            values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::Str((*v).to_owned())))
                .collect(),
        );
        match self {
            Shape::KubernetesSecret { name, namespace } => {
                let mut meta = vec![("name".to_owned(), Value::Str((*name).to_owned()))];
                if let Some(ns) = namespace {
                    meta.push(("namespace".into(), Value::Str((*ns).to_owned())));
                }
                Value::Map(vec![
                    ("apiVersion".into(), Value::Str("v1".into())),
                    ("kind".into(), Value::Str("Secret".into())),
                    ("metadata".into(), Value::Map(meta)),
                    ("type".into(), Value::Str("Opaque".into())),
                    ("stringData".into(), map),
                ])
            }
            Shape::Plain => map,
        }
    }

    /// Whether `doc` is this secret's document in a file of several: the
    /// Kubernetes `Secret` of its name (a plain map is never one of several).
    pub fn is_document(&self, doc: &Value) -> bool {
        match self {
            Shape::KubernetesSecret { name, .. } => {
                doc.get("kind").and_then(Value::as_str) == Some("Secret")
                    && doc
                        .get("metadata")
                        .and_then(|m| m.get("name"))
                        .and_then(Value::as_str)
                        == Some(*name)
            }
            Shape::Plain => false,
        }
    }

    /// The encryption rule to seal with under the creation rule `rule`: what the
    /// rule asks for, except that a Kubernetes Secret under a rule that asks for
    /// nothing (sops' default) encrypts only `data` and `stringData`, so its
    /// metadata stays readable to kustomize and KSOPS.
    pub fn crypt_rule(&self, rule: &CreationRule) -> CryptRule {
        let asked = rule.crypt_rule();
        match self {
            Shape::KubernetesSecret { .. }
                if asked == CryptRule::default() && rule.unencrypted_suffix.is_none() =>
            {
                CryptRule::kubernetes()
            }
            _ => asked,
        }
    }
}
