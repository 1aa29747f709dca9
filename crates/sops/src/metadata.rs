//! The `sops` metadata section of an encrypted file, read without decrypting.
use crate::CryptRule;
use crate::error::{Error, Result};
use crate::tree::{self, Format, Value};

/// One `sops.age[]` entry: a recipient and the data key encrypted to it (armored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeStanza {
    /// `age1…` or an ssh public key line.
    pub recipient: String,
    /// `-----BEGIN AGE ENCRYPTED FILE-----…`.
    pub enc: String,
}

/// The metadata of a SOPS file.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// The age stanzas (top level, or of the single key group).
    pub age: Vec<AgeStanza>,
    /// `lastmodified`, exactly as written (the MAC's AAD).
    pub lastmodified: String,
    /// The encrypted MAC.
    pub mac: String,
    /// Which values are encrypted.
    pub rule: CryptRule,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
    /// `version`.
    pub version: String,
    /// Number of `key_groups` (0 when the keys are at the top level).
    pub key_groups: usize,
    /// Non-age key types that have entries (`pgp`, `kms`, …).
    pub other_key_types: Vec<String>,
}

/// Whether `text` is a SOPS-encrypted YAML or JSON file: the one detector,
/// [`crate::scan::is_sops`]. Cheap on files that are not.
pub fn is_sops_file(text: &str) -> bool {
    crate::scan::is_sops(text)
}

/// The age recipients of a SOPS file (of its first document, as sops reads
/// them), without decrypting anything.
pub fn recipients(text: &str, format: Format) -> Result<Vec<String>> {
    let docs = tree::parse_documents(text, format)?;
    let doc = docs
        .first()
        .ok_or_else(|| Error::Metadata("the file has no document".into()))?;
    Ok(Metadata::from_doc(&doc.value)?
        .age
        .into_iter()
        .map(|s| s.recipient)
        .collect())
}

impl Metadata {
    /// Reads the `sops` section of a parsed document.
    pub fn from_doc(doc: &Value) -> Result<Metadata> {
        let Some(sops) = doc.get("sops") else {
            return Err(Error::Metadata(
                "the `sops` metadata section is missing".into(),
            ));
        };
        let Value::Map(items) = sops else {
            return Err(Error::Metadata("`sops` is not a mapping".into()));
        };
        let mut md = Metadata {
            age: Vec::new(),
            lastmodified: String::new(),
            mac: String::new(),
            rule: CryptRule::default(),
            mac_only_encrypted: false,
            version: String::new(),
            key_groups: 0,
            other_key_types: Vec::new(),
        };
        let mut rules = Vec::new();
        let mut saw_mac = false;
        let mut saw_lastmodified = false;
        for (k, v) in items {
            match k.as_str() {
                "age" => read_age(v, &mut md.age)?,
                "lastmodified" => {
                    saw_lastmodified = true;
                    md.lastmodified = string(k, v)?;
                }
                "mac" => {
                    saw_mac = true;
                    md.mac = string(k, v)?;
                }
                "version" => {
                    md.version = match v {
                        Value::Float(f) => tree::format_float(*f),
                        Value::Int(i) => i.to_string(),
                        _ => string(k, v)?,
                    }
                }
                "mac_only_encrypted" => md.mac_only_encrypted = matches!(v, Value::Bool(true)),
                "encrypted_regex" => rules.push(CryptRule::EncryptedRegex(string(k, v)?)),
                "unencrypted_regex" => rules.push(CryptRule::UnencryptedRegex(string(k, v)?)),
                "encrypted_suffix" => rules.push(CryptRule::EncryptedSuffix(string(k, v)?)),
                "unencrypted_suffix" => rules.push(CryptRule::UnencryptedSuffix(string(k, v)?)),
                "encrypted_comment_regex" | "unencrypted_comment_regex" => {
                    return Err(Error::Unsupported(format!(
                        "`sops.{k}` (comment encryption) is not supported"
                    )));
                }
                "key_groups" => {
                    if let Value::Seq(groups) = v {
                        md.key_groups = groups.len();
                        if let [Value::Map(_)] = groups.as_slice()
                            && let Some(age) = groups[0].get("age")
                        {
                            read_age(age, &mut md.age)?;
                        }
                    }
                }
                "shamir_threshold" => {}
                other => {
                    let has_entries = match v {
                        Value::Seq(s) => !s.is_empty(),
                        Value::Null => false,
                        _ => true,
                    };
                    if has_entries {
                        md.other_key_types.push(other.to_string());
                    }
                }
            }
        }
        if !saw_mac {
            return Err(Error::Metadata("`sops.mac` is missing".into()));
        }
        if !saw_lastmodified {
            return Err(Error::Metadata("`sops.lastmodified` is missing".into()));
        }
        rules.retain(|r| !r.is_empty());
        match rules.len() {
            0 => {}
            1 => md.rule = rules.remove(0),
            _ => {
                return Err(Error::Metadata(
                    "more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex".into(),
                ));
            }
        }
        Ok(md)
    }

    /// The metadata as the `sops` mapping sops 3.11 writes it (its struct
    /// order: `age` (`recipient`, `enc`), `lastmodified`, `mac`, the encryption
    /// rule, `mac_only_encrypted`, `version`; empty entries left out).
    pub fn to_value(&self) -> Value {
        let mut items: Vec<(String, Value)> = Vec::new();
        if !self.age.is_empty() {
            items.push(("age".into(), age_value(&self.age)));
        }
        items.push(("lastmodified".into(), Value::Str(self.lastmodified.clone())));
        items.push(("mac".into(), Value::Str(self.mac.clone())));
        let (key, value) = match &self.rule {
            CryptRule::UnencryptedSuffix(r) => ("unencrypted_suffix", r),
            CryptRule::EncryptedSuffix(r) => ("encrypted_suffix", r),
            CryptRule::UnencryptedRegex(r) => ("unencrypted_regex", r),
            CryptRule::EncryptedRegex(r) => ("encrypted_regex", r),
        };
        items.push((key.into(), Value::Str(value.clone())));
        if self.mac_only_encrypted {
            items.push(("mac_only_encrypted".into(), Value::Bool(true)));
        }
        items.push(("version".into(), Value::Str(self.version.clone())));
        Value::Map(items)
    }
}

/// `sops.age` as sops writes it.
pub fn age_value(stanzas: &[AgeStanza]) -> Value {
    Value::Seq(
        stanzas
            .iter()
            .map(|s| {
                Value::Map(vec![
                    ("recipient".into(), Value::Str(s.recipient.clone())),
                    ("enc".into(), Value::Str(s.enc.clone())),
                ])
            })
            .collect(),
    )
}

fn string(key: &str, v: &Value) -> Result<String> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        _ => Err(Error::Metadata(format!("`sops.{key}` must be a string"))),
    }
}

fn read_age(v: &Value, out: &mut Vec<AgeStanza>) -> Result<()> {
    let Value::Seq(items) = v else {
        if *v == Value::Null {
            return Ok(());
        }
        return Err(Error::Metadata("`sops.age` must be a list".into()));
    };
    for item in items {
        let recipient = item.get("recipient").and_then(Value::as_str);
        let enc = item.get("enc").and_then(Value::as_str);
        match (recipient, enc) {
            (Some(r), Some(e)) => out.push(AgeStanza {
                recipient: r.to_string(),
                enc: e.to_string(),
            }),
            _ => {
                return Err(Error::Metadata(
                    "a `sops.age` entry lacks `recipient` or `enc`".into(),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "a: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nsops:\n    age:\n        - recipient: age1abc\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: \"2021-09-30T19:49:41Z\"\n    mac: ENC[x]\n    unencrypted_suffix: _unencrypted\n    version: 3.7.1\n";

    #[test]
    fn reads_recipients_yaml_and_json() {
        assert_eq!(recipients(FILE, Format::Yaml).unwrap(), vec!["age1abc"]);
        let json = r#"{"a": "x", "sops": {"age": [{"recipient": "age1j", "enc": "E"}], "lastmodified": "t", "mac": "m", "version": "3.9.4"}}"#;
        assert_eq!(recipients(json, Format::Json).unwrap(), vec!["age1j"]);
        assert!(is_sops_file(FILE));
        assert!(is_sops_file(json));
        assert!(!is_sops_file("a: b\n"));
        assert!(!is_sops_file("sops: 1\nmac: 2\n"));
    }

    #[test]
    fn missing_metadata_is_an_error() {
        assert!(matches!(
            recipients("a: b\n", Format::Yaml),
            Err(Error::Metadata(_))
        ));
    }
}
