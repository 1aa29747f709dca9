//! The operations behind `seal` and `updatekeys`, text in, text out: they
//! decide whether a file must change and produce its new bytes; the caller
//! reads and writes files.
use crate::CryptRule;
use crate::crypt::{self, Decrypted, DecryptedFile, EncryptOptions, Layout, Stash};
use crate::error::{Error, Result};
use crate::keys::{self, DataKey};
use crate::metadata::{AgeStanza, Metadata};
use crate::tree::{self, Format, Value};

/// What an operation decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The file already is what it should be: leave it byte for byte.
    Unchanged,
    /// The file's new text.
    Changed(String),
}

/// What to seal.
#[derive(Debug)]
pub struct Seal<'a> {
    /// The plaintext document.
    pub plain: &'a Value,
    /// The recipients (from the matching creation rule).
    pub recipients: &'a [String],
    /// The encryption rule.
    pub rule: CryptRule,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
    /// The output format.
    pub format: Format,
    /// The current file, decrypted, when there is one: its data key, age
    /// stanzas and IVs are kept so unchanged values keep their ciphertext.
    pub existing: Option<&'a Decrypted>,
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&str> = a.iter().map(|s| s.trim()).collect();
    let mut b: Vec<&str> = b.iter().map(|s| s.trim()).collect();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}

/// The stanzas for `recipients`: kept from `old` when the recipient is there
/// (same data key), else newly wrapped.
fn stanzas(key: &DataKey, recipients: &[String], old: &[AgeStanza]) -> Result<Vec<AgeStanza>> {
    let mut out: Vec<AgeStanza> = Vec::new();
    for r in recipients {
        let r = r.trim();
        if out.iter().any(|s| s.recipient == r) {
            continue;
        }
        match old.iter().find(|s| s.recipient == r) {
            Some(s) => out.push(s.clone()),
            None => out.push(keys::wrap(key, r)?),
        }
    }
    Ok(out)
}

/// Errors unless there is at least one recipient and every one parses.
fn check_recipients(recipients: &[String]) -> Result<()> {
    if recipients.is_empty() {
        return Err(Error::Key("no recipients to encrypt to".into()));
    }
    for r in recipients {
        keys::parse_recipient(r)?;
    }
    Ok(())
}

/// Whether `old` already holds `req.plain` for the same recipients and rule.
fn already_sealed(req: &Seal<'_>, old: &Decrypted) -> bool {
    let old_recipients: Vec<String> = old
        .metadata
        .age
        .iter()
        .map(|s| s.recipient.clone())
        .collect();
    old.plain == *req.plain
        && same_set(&old_recipients, req.recipients)
        && old.metadata.rule == req.rule
        && old.metadata.mac_only_encrypted == req.mac_only_encrypted
}

/// Seals a document: `Unchanged` when the existing file decrypts to the same
/// values for the same recipients and rule; otherwise the new text, re-using
/// the existing data key, stanzas and IVs of unchanged values.
pub fn seal(req: &Seal<'_>) -> Result<Outcome> {
    check_recipients(req.recipients)?;
    if req.existing.is_some_and(|old| already_sealed(req, old)) {
        return Ok(Outcome::Unchanged);
    }
    let (key, old_stanzas, stash) = match req.existing {
        Some(d) => (
            d.data_key.clone(),
            d.metadata.age.as_slice(),
            Some(&d.stash),
        ),
        None => (DataKey::generate(), &[][..], None),
    };
    let age = stanzas(&key, req.recipients, old_stanzas)?;
    let opts = EncryptOptions {
        rule: req.rule.clone(),
        mac_only_encrypted: req.mac_only_encrypted,
        lastmodified: crypt::now_lastmodified(),
        version: crypt::SOPS_VERSION.into(),
    };
    let doc = crypt::encrypt(req.plain, &key, age, &opts, stash)?;
    Ok(Outcome::Changed(tree::emit(&doc, req.format)))
}

/// Re-wraps a file's data key for `recipients` (sops `updatekeys`); with
/// `rotate`, a new data key re-encrypts every value (sops `rotate`).
/// `decrypted` is the file decrypted (so its data key is known).
pub fn update_keys(
    text: &str,
    format: Format,
    decrypted: &Decrypted,
    recipients: &[String],
    rotate: bool,
) -> Result<Outcome> {
    if recipients.is_empty() {
        return Err(Error::Key("no recipients to encrypt to".into()));
    }
    let md = &decrypted.metadata;
    check_rewrappable(md)?;
    let old_recipients: Vec<String> = md.age.iter().map(|s| s.recipient.clone()).collect();
    if !rotate {
        if same_set(&old_recipients, recipients) {
            return Ok(Outcome::Unchanged);
        }
        let age = stanzas(&decrypted.data_key, recipients, &md.age)?;
        // Only the `sops.age` list changes: values, MAC and lastmodified stay.
        let mut doc = tree::parse(text, format)?;
        let new_md = Metadata { age, ..md.clone() };
        replace_age(&mut doc, &new_md)?;
        return Ok(Outcome::Changed(tree::emit(&doc, format)));
    }
    let key = DataKey::generate();
    let age = stanzas(&key, recipients, &[])?;
    let opts = EncryptOptions {
        rule: md.rule.clone(),
        mac_only_encrypted: md.mac_only_encrypted,
        lastmodified: crypt::now_lastmodified(),
        version: crypt::SOPS_VERSION.into(),
    };
    let doc = crypt::encrypt(&decrypted.plain, &key, age, &opts, None)?;
    Ok(Outcome::Changed(tree::emit(&doc, format)))
}

/// Seals one document of a multi-document file (`index`, 0-based) and keeps the
/// others: `Unchanged` when that document already decrypts to `req.plain` for
/// the same recipients and rule. In a file whose documents share their metadata
/// (as sops writes it), every document is re-encrypted under the one data key
/// and MAC (unchanged values keep their ciphertext); in a file whose documents
/// each have their own, only that document changes.
pub fn seal_document(
    req: &Seal<'_>,
    file: &DecryptedFile,
    text: &str,
    index: usize,
) -> Result<Outcome> {
    let Some(old) = file.documents.get(index) else {
        return Err(Error::Unsupported(format!(
            "the file has no document {}",
            index + 1
        )));
    };
    if file.layout == Layout::Single || file.layout == Layout::PerDocument {
        let one = Seal {
            plain: req.plain,
            recipients: req.recipients,
            rule: req.rule.clone(),
            mac_only_encrypted: req.mac_only_encrypted,
            format: req.format,
            existing: Some(old),
        };
        let Outcome::Changed(new_text) = seal(&one)? else {
            return Ok(Outcome::Unchanged);
        };
        if file.layout == Layout::Single {
            return Ok(Outcome::Changed(new_text));
        }
        // The other documents stay as they are, each with its own metadata.
        let mut docs: Vec<Value> = tree::parse_documents(text, req.format)?
            .into_iter()
            .map(|d| d.value)
            .collect();
        docs[index] = tree::parse(&new_text, req.format)?;
        return Ok(Outcome::Changed(tree::emit_documents(&docs, req.format)));
    }
    // Shared metadata: decide as `seal` does, on this document.
    check_recipients(req.recipients)?;
    if already_sealed(req, old) {
        return Ok(Outcome::Unchanged);
    }
    let mut plains = file.plains();
    plains[index] = req.plain.clone();
    let mut stash = Stash::default();
    for d in &file.documents {
        stash.extend(&d.stash);
    }
    let age = stanzas(&old.data_key, req.recipients, &old.metadata.age)?;
    let opts = EncryptOptions {
        rule: req.rule.clone(),
        mac_only_encrypted: req.mac_only_encrypted,
        lastmodified: crypt::now_lastmodified(),
        version: crypt::SOPS_VERSION.into(),
    };
    let docs = crypt::encrypt_documents(&plains, &old.data_key, age, &opts, Some(&stash))?;
    Ok(Outcome::Changed(tree::emit_documents(&docs, req.format)))
}

/// [`update_keys`] for a file of one or several documents: documents that share
/// their metadata (as sops writes them) get the same new `sops.age` list (with
/// `rotate`, one new data key and MAC for all); documents with their own
/// metadata are updated one by one, each keeping its own data key.
pub fn update_keys_file(
    text: &str,
    format: Format,
    file: &DecryptedFile,
    recipients: &[String],
    rotate: bool,
) -> Result<Outcome> {
    if recipients.is_empty() {
        return Err(Error::Key("no recipients to encrypt to".into()));
    }
    let Some(first) = file.documents.first() else {
        return Err(Error::Metadata("the file has no document".into()));
    };
    let docs = tree::parse_documents(text, format)?;
    match file.layout {
        Layout::Single => update_keys(text, format, first, recipients, rotate),
        Layout::Shared => {
            check_rewrappable(&first.metadata)?;
            let md = &first.metadata;
            if !rotate {
                let old: Vec<String> = md.age.iter().map(|s| s.recipient.clone()).collect();
                if same_set(&old, recipients) {
                    return Ok(Outcome::Unchanged);
                }
                let age = stanzas(&first.data_key, recipients, &md.age)?;
                let new_md = Metadata { age, ..md.clone() };
                let mut values: Vec<Value> = docs.into_iter().map(|d| d.value).collect();
                for v in &mut values {
                    replace_age(v, &new_md)?;
                }
                return Ok(Outcome::Changed(tree::emit_documents(&values, format)));
            }
            let key = DataKey::generate();
            let age = stanzas(&key, recipients, &[])?;
            let opts = EncryptOptions {
                rule: md.rule.clone(),
                mac_only_encrypted: md.mac_only_encrypted,
                lastmodified: crypt::now_lastmodified(),
                version: crypt::SOPS_VERSION.into(),
            };
            let values = crypt::encrypt_documents(&file.plains(), &key, age, &opts, None)?;
            Ok(Outcome::Changed(tree::emit_documents(&values, format)))
        }
        Layout::PerDocument => {
            let mut changed = false;
            let mut values = Vec::with_capacity(docs.len());
            for (doc, d) in docs.iter().zip(&file.documents) {
                let one = tree::emit(&doc.value, format);
                match update_keys(&one, format, d, recipients, rotate)? {
                    Outcome::Unchanged => values.push(doc.value.clone()),
                    Outcome::Changed(new) => {
                        changed = true;
                        values.push(tree::parse(&new, format)?);
                    }
                }
            }
            Ok(if changed {
                Outcome::Changed(tree::emit_documents(&values, format))
            } else {
                Outcome::Unchanged
            })
        }
    }
}

/// Errors when this implementation cannot re-wrap a file's data key.
fn check_rewrappable(md: &Metadata) -> Result<()> {
    if md.key_groups > 0 {
        return Err(Error::Unsupported(
            "updating the keys of a file with key_groups is not supported".into(),
        ));
    }
    if !md.other_key_types.is_empty() {
        return Err(Error::Unsupported(format!(
            "the file also has {} keys, which this tool cannot re-wrap",
            md.other_key_types.join(", ")
        )));
    }
    Ok(())
}

/// Replaces `sops.age` in a document, keeping every other metadata entry.
fn replace_age(doc: &mut Value, md: &Metadata) -> Result<()> {
    let Value::Map(items) = doc else {
        return Err(Error::Metadata("the document is not a mapping".into()));
    };
    let Some((_, Value::Map(sops))) = items.iter_mut().find(|(k, _)| k == "sops") else {
        return Err(Error::Metadata(
            "the `sops` metadata section is missing".into(),
        ));
    };
    let new_age = md
        .to_value()
        .get("age")
        .cloned()
        .unwrap_or(Value::Seq(Vec::new()));
    match sops.iter_mut().find(|(k, _)| k == "age") {
        Some((_, v)) => *v = new_age,
        None => {
            let at = sops
                .iter()
                .position(|(k, _)| k.as_str() > "age")
                .unwrap_or(sops.len());
            sops.insert(at, ("age".into(), new_age));
        }
    }
    Ok(())
}
