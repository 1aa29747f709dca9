//! Encrypting and decrypting whole documents: the tree walk, the encryption
//! rule, the MAC (sops `sops.go`), and the `sops` metadata.
use crate::CryptRule;
use crate::cipher::{self, ValueType};
use crate::error::{Error, Result};
use crate::keys::{DataKey, Identities};
use crate::metadata::{AgeStanza, Metadata};
use crate::path_regex::Re2;
use crate::tree::{self, Format, Value};
use sha2::{Digest, Sha512};
use std::collections::HashMap;

/// The sops version written into new files' metadata: the files are laid out
/// exactly as sops 3.11.0 writes them (a test compares with the real one).
pub const SOPS_VERSION: &str = "3.11.0";

/// sops' `MACOnlyEncryptedInitialization`: sha256("sops"), hashed first when
/// `mac_only_encrypted` is set.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// IVs of values already encrypted, by (additional data, type, plaintext), so
/// that re-encrypting an unchanged value gives the same ciphertext (as sops'
/// own stash does). An IV is only ever reused for the very same plaintext.
#[derive(Default, Clone)]
pub struct Stash(HashMap<(String, ValueType, Vec<u8>), [u8; cipher::IV_LEN]>);

impl std::fmt::Debug for Stash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stash({} values)", self.0.len())
    }
}

/// A decrypted document.
#[derive(Debug, Clone)]
pub struct Decrypted {
    /// The plaintext document, without the `sops` section.
    pub plain: Value,
    /// The file's metadata.
    pub metadata: Metadata,
    /// The data key.
    pub data_key: DataKey,
    /// IVs of the values, for stable re-encryption.
    pub stash: Stash,
}

/// How a file's documents carry their `sops` metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One document (every JSON file, most YAML files).
    Single,
    /// Several YAML documents as sops writes them: the same `sops` metadata in
    /// every document, one data key, one MAC over all documents' values in order.
    Shared,
    /// Several YAML documents, each with its own metadata, data key and MAC:
    /// files encrypted one by one and concatenated (Flux decrypts such files
    /// object by object; `sops -d`, which reads only the first document's
    /// metadata, cannot).
    PerDocument,
}

/// A decrypted file: its documents in order.
#[derive(Debug, Clone)]
pub struct DecryptedFile {
    /// How the documents carry their metadata.
    pub layout: Layout,
    /// Each document decrypted, with its metadata and data key (the same for
    /// every document of a [`Layout::Shared`] file).
    pub documents: Vec<Decrypted>,
    /// 1-based line where each document starts.
    pub lines: Vec<usize>,
}

impl DecryptedFile {
    /// The plaintext documents.
    pub fn plains(&self) -> Vec<Value> {
        self.documents.iter().map(|d| d.plain.clone()).collect()
    }
}

/// How to encrypt a document.
#[derive(Debug, Clone)]
pub struct EncryptOptions {
    /// Which values are encrypted.
    pub rule: CryptRule,
    /// Whether the MAC covers only encrypted values.
    pub mac_only_encrypted: bool,
    /// `lastmodified`, `YYYY-MM-DDTHH:MM:SSZ` (see [`now_lastmodified`]).
    pub lastmodified: String,
    /// `version` to write.
    pub version: String,
}

struct Matcher {
    rule: CryptRule,
    /// `encrypted_regex`/`unencrypted_regex` with Go's RE2 meaning (sops matches
    /// each mapping key with Go's `regexp`): the same translation as `path_regex`,
    /// so `\w` stays ASCII and a key sops leaves plain is never encrypted here.
    re: Option<Re2>,
}

impl Matcher {
    fn new(rule: &CryptRule) -> Result<Matcher> {
        let re = match rule {
            CryptRule::EncryptedRegex(r) | CryptRule::UnencryptedRegex(r) => Some(
                Re2::new(r)
                    .map_err(|e| Error::Metadata(format!("invalid encryption regex: {e}")))?,
            ),
            _ => None,
        };
        Ok(Matcher {
            rule: rule.clone(),
            re,
        })
    }

    /// sops' `shouldBeEncrypted` for a leaf at `path` (its mapping keys).
    fn encrypted(&self, path: &[&str]) -> bool {
        match (&self.rule, &self.re) {
            (CryptRule::UnencryptedSuffix(s), _) => !path.iter().any(|p| p.ends_with(s.as_str())),
            (CryptRule::EncryptedSuffix(s), _) => path.iter().any(|p| p.ends_with(s.as_str())),
            (CryptRule::UnencryptedRegex(_), Some(re)) => !path.iter().any(|p| re.is_match(p)),
            (CryptRule::EncryptedRegex(_), Some(re)) => path.iter().any(|p| re.is_match(p)),
            _ => true,
        }
    }
}

/// The bytes sops hashes for a value (`ToBytes`), with its type.
fn to_bytes(v: &Value) -> Option<(ValueType, Vec<u8>)> {
    Some(match v {
        Value::Str(s) => (ValueType::Str, s.as_bytes().to_vec()),
        Value::Int(i) => (ValueType::Int, i.to_string().into_bytes()),
        Value::Float(f) => (ValueType::Float, tree::format_float(*f).into_bytes()),
        Value::Bool(b) => (
            ValueType::Bool,
            if *b {
                b"True".to_vec()
            } else {
                b"False".to_vec()
            },
        ),
        Value::Null | Value::Map(_) | Value::Seq(_) => return None,
    })
}

fn aad(path: &[&str]) -> String {
    let mut s = path.join(":");
    s.push(':');
    s
}

/// Calls `f(path, leaf)` for every non-null leaf in document order, skipping
/// the top-level `sops` key; `f` returns the replacement leaf.
fn map_leaves(
    v: &Value,
    path: &mut Vec<String>,
    top: bool,
    f: &mut dyn FnMut(&[&str], &Value) -> Result<Value>,
) -> Result<Value> {
    Ok(match v {
        Value::Map(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (k, child) in items {
                if top && k == "sops" {
                    continue;
                }
                path.push(k.clone());
                let r = map_leaves(child, path, false, f);
                path.pop();
                out.push((k.clone(), r?));
            }
            Value::Map(out)
        }
        Value::Seq(items) => Value::Seq(
            items
                .iter()
                .map(|c| map_leaves(c, path, false, f))
                .collect::<Result<_>>()?,
        ),
        Value::Null => Value::Null,
        leaf => {
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            f(&p, leaf)?
        }
    })
}

fn new_hasher(mac_only_encrypted: bool) -> Sha512 {
    let mut h = Sha512::new();
    if mac_only_encrypted {
        h.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    h
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The MAC sops computes over a plaintext document (uppercase hex of SHA-512).
pub fn compute_mac(plain: &Value, rule: &CryptRule, mac_only_encrypted: bool) -> Result<String> {
    let m = Matcher::new(rule)?;
    let mut h = new_hasher(mac_only_encrypted);
    map_leaves(plain, &mut Vec::new(), true, &mut |path, leaf| {
        if (!mac_only_encrypted || m.encrypted(path))
            && let Some((_, b)) = to_bytes(leaf)
        {
            h.update(&b);
        }
        Ok(Value::Null)
    })?;
    Ok(hex_upper(&h.finalize()))
}

/// Decrypts a single-document SOPS file with the given identities, checking the
/// MAC. A file with several documents is an error here: see [`decrypt_file`].
pub fn decrypt(text: &str, format: Format, ids: &Identities) -> Result<Decrypted> {
    let mut file = decrypt_file(text, format, ids)?;
    if file.documents.len() > 1 {
        return Err(Error::Unsupported(format!(
            "the file has {} YAML documents where one was expected",
            file.documents.len()
        )));
    }
    file.documents
        .pop()
        .ok_or_else(|| Error::Metadata("the file has no document".into()))
}

/// Decrypts every document of a SOPS file, checking the MAC: one MAC over all
/// documents when they share their metadata (as sops writes them), else each
/// document's own. Errors in a document of a multi-document file say which.
pub fn decrypt_file(text: &str, format: Format, ids: &Identities) -> Result<DecryptedFile> {
    let docs = tree::parse_documents(text, format)?;
    let lines: Vec<usize> = docs.iter().map(|d| d.line).collect();
    let several = docs.len() > 1;
    let in_doc = |i: usize, e: Error| {
        if several {
            e.in_document(i + 1, lines[i])
        } else {
            e
        }
    };
    let metas: Vec<Metadata> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| Metadata::from_doc(&d.value).map_err(|e| in_doc(i, e)))
        .collect::<Result<_>>()?;
    let shared = metas.windows(2).all(|w| w[0] == w[1]);
    if shared {
        let metadata = metas[0].clone();
        check_supported(&metadata)?;
        let key = ids.unwrap(&metadata.age)?;
        let values: Vec<&Value> = docs.iter().map(|d| &d.value).collect();
        let documents = decrypt_docs_with_key(&values, &metadata, &key)?;
        return Ok(DecryptedFile {
            layout: if several {
                Layout::Shared
            } else {
                Layout::Single
            },
            documents,
            lines,
        });
    }
    let mut documents = Vec::with_capacity(docs.len());
    for (i, (d, metadata)) in docs.iter().zip(metas).enumerate() {
        let one = (|| {
            check_supported(&metadata)?;
            let key = ids.unwrap(&metadata.age)?;
            decrypt_docs_with_key(&[&d.value], &metadata, &key)
        })()
        .map_err(|e| in_doc(i, e))?;
        documents.extend(one);
    }
    Ok(DecryptedFile {
        layout: Layout::PerDocument,
        documents,
        lines,
    })
}

fn check_supported(md: &Metadata) -> Result<()> {
    if md.key_groups > 1 {
        return Err(Error::Unsupported(format!(
            "the file uses {} key groups (Shamir secret sharing), which is not supported",
            md.key_groups
        )));
    }
    if md.age.is_empty() {
        let other = if md.other_key_types.is_empty() {
            String::new()
        } else {
            format!(
                " (only {}, which this tool does not support)",
                md.other_key_types.join(", ")
            )
        };
        return Err(Error::Metadata(format!(
            "the file has no age recipient{other}"
        )));
    }
    Ok(())
}

/// Decrypts a parsed document with a known data key, checking the MAC.
pub fn decrypt_doc_with_key(doc: &Value, metadata: Metadata, key: DataKey) -> Result<Decrypted> {
    let mut out = decrypt_docs_with_key(&[doc], &metadata, &key)?;
    out.pop()
        .ok_or_else(|| Error::Metadata("the file has no document".into()))
}

/// Decrypts documents that share `metadata` and `key`, checking the one MAC
/// that covers all their values in order (sops hashes every branch of a tree
/// with one hasher).
fn decrypt_docs_with_key(
    docs: &[&Value],
    metadata: &Metadata,
    key: &DataKey,
) -> Result<Vec<Decrypted>> {
    let m = Matcher::new(&metadata.rule)?;
    let mut h = new_hasher(metadata.mac_only_encrypted);
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        let mut stash = Stash::default();
        let plain = map_leaves(doc, &mut Vec::new(), true, &mut |path, leaf| {
            let encrypted = m.encrypted(path);
            let v = if encrypted {
                let a = aad(path);
                let Value::Str(s) = leaf else {
                    return Err(Error::MalformedValue {
                        path: a,
                        reason: "expected an encrypted string".into(),
                    });
                };
                if s.is_empty() {
                    Value::Str(String::new())
                } else {
                    let enc = cipher::parse(s, &a)?;
                    let bytes = cipher::open(&enc, key.bytes(), &a)?;
                    let v = typed(&bytes, enc.ty, &a)?;
                    if let Ok(iv) = <[u8; cipher::IV_LEN]>::try_from(enc.iv.as_slice())
                        && let Some((ty, b)) = to_bytes(&v)
                    {
                        stash.0.insert((a, ty, b), iv);
                    }
                    v
                }
            } else {
                leaf.clone()
            };
            if (!metadata.mac_only_encrypted || encrypted)
                && let Some((_, b)) = to_bytes(&v)
            {
                h.update(&b);
            }
            Ok(v)
        })?;
        out.push(Decrypted {
            plain,
            metadata: metadata.clone(),
            data_key: key.clone(),
            stash,
        });
    }
    let computed = hex_upper(&h.finalize());
    let mac_enc = cipher::parse(&metadata.mac, "sops:mac")
        .map_err(|_| Error::Metadata("`sops.mac` is not an encrypted value".into()))?;
    let stored = cipher::open(&mac_enc, key.bytes(), &metadata.lastmodified)
        .map_err(|_| Error::MacMismatch)?;
    if stored != computed.as_bytes() {
        return Err(Error::MacMismatch);
    }
    Ok(out)
}

/// A decrypted value of the given type.
fn typed(bytes: &[u8], ty: ValueType, path: &str) -> Result<Value> {
    let bad = |what: &str| Error::MalformedValue {
        path: path.to_string(),
        reason: format!("not a valid {what}"),
    };
    let text = || String::from_utf8(bytes.to_vec()).map_err(|_| bad("UTF-8 string"));
    Ok(match ty {
        ValueType::Str | ValueType::Time | ValueType::Comment | ValueType::Bytes => {
            Value::Str(text()?)
        }
        ValueType::Int => Value::Int(text()?.parse().map_err(|_| bad("integer"))?),
        ValueType::Float => Value::Float(text()?.parse().map_err(|_| bad("float"))?),
        ValueType::Bool => Value::Bool(match text()?.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => return Err(bad("boolean")),
        }),
    })
}

/// Encrypts a plaintext document: values per `opts.rule`, the MAC, and the
/// metadata with the given age stanzas. IVs come from `stash` when the same
/// value was encrypted before (same path, type and plaintext), else fresh.
pub fn encrypt(
    plain: &Value,
    key: &DataKey,
    age: Vec<AgeStanza>,
    opts: &EncryptOptions,
    stash: Option<&Stash>,
) -> Result<Value> {
    let mut docs = encrypt_documents(std::slice::from_ref(plain), key, age, opts, stash)?;
    docs.pop()
        .ok_or_else(|| Error::Unsupported("nothing to encrypt".into()))
}

/// Encrypts documents as sops writes a multi-document file: one data key, one
/// MAC over every document's values in order, and the same `sops` metadata
/// appended to each document.
pub fn encrypt_documents(
    plains: &[Value],
    key: &DataKey,
    age: Vec<AgeStanza>,
    opts: &EncryptOptions,
    stash: Option<&Stash>,
) -> Result<Vec<Value>> {
    let m = Matcher::new(&opts.rule)?;
    let mut h = new_hasher(opts.mac_only_encrypted);
    let mut encrypted_docs = Vec::with_capacity(plains.len());
    for plain in plains {
        if plain.get("sops").is_some() {
            return Err(Error::Unsupported(
                "the document has a top-level `sops` key, which is reserved".into(),
            ));
        }
        let Value::Map(_) = plain else {
            return Err(Error::Unsupported(
                "the document's top level must be a mapping".into(),
            ));
        };
        let encrypted_doc = map_leaves(plain, &mut Vec::new(), true, &mut |path, leaf| {
            let encrypted = m.encrypted(path);
            let Some((ty, bytes)) = to_bytes(leaf) else {
                return Ok(leaf.clone());
            };
            if !opts.mac_only_encrypted || encrypted {
                h.update(&bytes);
            }
            if !encrypted {
                return Ok(leaf.clone());
            }
            if bytes.is_empty() && ty == ValueType::Str {
                // sops writes empty strings as they are, unencrypted.
                return Ok(Value::Str(String::new()));
            }
            let a = aad(path);
            let stash_key = (a, ty, bytes);
            let iv = stash
                .and_then(|s| s.0.get(&stash_key).copied())
                .unwrap_or_else(cipher::random_iv);
            let (a, ty, bytes) = stash_key;
            Ok(Value::Str(cipher::seal(&bytes, ty, key.bytes(), &iv, &a)?))
        })?;
        encrypted_docs.push(encrypted_doc);
    }
    let mac = hex_upper(&h.finalize());
    let mac_iv = cipher::random_iv();
    let metadata = Metadata {
        age,
        lastmodified: opts.lastmodified.clone(),
        mac: cipher::seal(
            mac.as_bytes(),
            ValueType::Str,
            key.bytes(),
            &mac_iv,
            &opts.lastmodified,
        )?,
        rule: opts.rule.clone(),
        mac_only_encrypted: opts.mac_only_encrypted,
        version: opts.version.clone(),
        key_groups: 0,
        other_key_types: Vec::new(),
    };
    let md = metadata.to_value();
    encrypted_docs
        .into_iter()
        .map(|doc| {
            let Value::Map(mut items) = doc else {
                return Err(Error::Unsupported(
                    "the document's top level must be a mapping".into(),
                ));
            };
            items.push(("sops".into(), md.clone()));
            Ok(Value::Map(items))
        })
        .collect()
}

impl Stash {
    /// Adds the IVs of another stash (documents of one file share a data key).
    pub fn extend(&mut self, other: &Stash) {
        for (k, v) in &other.0 {
            self.0.entry(k.clone()).or_insert(*v);
        }
    }
}

/// The current time as sops writes `lastmodified`: `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn now_lastmodified() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_timestamp(secs)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = crate::civil::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (rule, the mapping key, whether sops — Go's `regexp`, RE2 — encrypts its
    /// value). The expected answers follow RE2's syntax documentation
    /// (https://github.com/google/re2/wiki/Syntax): `\w` is `[0-9A-Za-z_]`, `\d`
    /// is `[0-9]`, `\s` is `[\t\n\f\r ]`, `\b` an ASCII word boundary, `.` a
    /// rune. Rust's `regex` in its default Unicode mode answers otherwise on
    /// each line marked *.
    const GO_KEY_CASES: &[(&str, bool, &str, bool)] = &[
        // (pattern, encrypted_regex (else unencrypted_regex), key, encrypted)
        (r"^\w+$", true, "password", true),
        (r"^\w+$", true, "passwörd", false), // *
        (r"^\d+$", true, "42", true),
        (r"^\d+$", true, "٤٢", false), // *
        (r"^.$", true, "ü", true),
        (r"^.$", true, "u\u{308}", false),
        (r"\bkey\b", true, "ükey", true), // *
        (r"\bkey\b", true, "api_key", false),
        (r"^\s", false, " note", false),
        (r"^\s", false, "\u{a0}note", true),  // *
        (r"^\S+$", false, "\u{2003}", false), // *
        (r"(?i)^DATA$", true, "data", true),
        (r"^(data|stringData)$", true, "metadata", false),
    ];

    #[test]
    fn encryption_regexes_match_keys_as_go_regexp_does() {
        for &(pattern, encrypted_regex, key, want) in GO_KEY_CASES {
            let rule = if encrypted_regex {
                CryptRule::EncryptedRegex(pattern.into())
            } else {
                CryptRule::UnencryptedRegex(pattern.into())
            };
            let m = Matcher::new(&rule).unwrap();
            assert_eq!(m.encrypted(&[key]), want, "{rule:?} on key {key:?}");
            // Anywhere on the path, as sops' `shouldBeEncrypted` looks.
            assert_eq!(m.encrypted(&["-·-", key]), want, "{rule:?} on -·-:{key:?}");
        }
    }

    #[test]
    fn a_key_sops_leaves_plain_is_sealed_plain() {
        let plain = Value::Map(vec![
            ("password".into(), Value::Str("one".into())),
            ("passwörd".into(), Value::Str("two".into())),
        ]);
        let opts = EncryptOptions {
            rule: CryptRule::EncryptedRegex(r"^\w+$".into()),
            mac_only_encrypted: false,
            lastmodified: "2026-01-02T03:04:05Z".into(),
            version: SOPS_VERSION.into(),
        };
        let doc = encrypt(&plain, &DataKey::generate(), Vec::new(), &opts, None).unwrap();
        let Some(Value::Str(one)) = doc.get("password") else {
            panic!("{doc:?}")
        };
        assert!(one.starts_with("ENC[AES256_GCM,"), "{one}");
        assert_eq!(doc.get("passwörd"), Some(&Value::Str("two".into())));
    }

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_timestamp(1_633_031_381), "2021-09-30T19:49:41Z");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29T00:00:00Z");
    }
}
