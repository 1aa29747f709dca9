//! The operations behind `seal` and `updatekeys`, text in, text out: they
//! decide whether a file must change and produce its new bytes; the caller
//! reads and writes files.
use crate::CryptRule;
use crate::crypt::{self, Decrypted, EncryptOptions};
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

/// Seals a document: `Unchanged` when the existing file decrypts to the same
/// values for the same recipients and rule; otherwise the new text, re-using
/// the existing data key, stanzas and IVs of unchanged values.
pub fn seal(req: &Seal<'_>) -> Result<Outcome> {
    if req.recipients.is_empty() {
        return Err(Error::Key("no recipients to encrypt to".into()));
    }
    for r in req.recipients {
        keys::parse_recipient(r)?;
    }
    if let Some(old) = req.existing {
        let old_recipients: Vec<String> = old
            .metadata
            .age
            .iter()
            .map(|s| s.recipient.clone())
            .collect();
        if old.plain == *req.plain
            && same_set(&old_recipients, req.recipients)
            && old.metadata.rule == req.rule
            && old.metadata.mac_only_encrypted == req.mac_only_encrypted
        {
            return Ok(Outcome::Unchanged);
        }
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
