//! One value: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` (sops `aes/cipher.go`).
//!
//! AES-256-GCM with a 32-byte IV and a 16-byte tag; the additional data is
//! the value's key path joined with `:` plus a trailing `:`.
use crate::error::{Error, Result};
use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// AES-256-GCM with sops' 32-byte nonce.
type SopsGcm = AesGcm<Aes256, U32>;

/// The size of sops' IV.
pub const IV_LEN: usize = 32;

/// A value's plaintext type, as written in `type:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `str`.
    Str,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `bool`.
    Bool,
    /// `bytes` (read only).
    Bytes,
    /// `time` (read only; kept as its text).
    Time,
    /// `comment` (read only).
    Comment,
}

impl ValueType {
    /// The `type:` tag.
    pub fn tag(self) -> &'static str {
        match self {
            ValueType::Str => "str",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Bytes => "bytes",
            ValueType::Time => "time",
            ValueType::Comment => "comment",
        }
    }

    fn from_tag(tag: &str) -> Option<ValueType> {
        Some(match tag {
            "str" => ValueType::Str,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "bytes" => ValueType::Bytes,
            "time" => ValueType::Time,
            "comment" => ValueType::Comment,
            _ => return None,
        })
    }
}

/// The parts of an encrypted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncValue {
    /// Ciphertext without the tag.
    pub data: Vec<u8>,
    /// The 32-byte IV.
    pub iv: Vec<u8>,
    /// The 16-byte GCM tag.
    pub tag: Vec<u8>,
    /// The plaintext's type.
    pub ty: ValueType,
}

/// Parses `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`. `path` only names the value in errors.
pub fn parse(value: &str, path: &str) -> Result<EncValue> {
    let bad = |reason: &str| Error::MalformedValue {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    let inner = value
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(|| {
            bad("not an ENC[AES256_GCM,…] value (was the file decrypted or edited by hand?)")
        })?;
    let mut data = None;
    let mut iv = None;
    let mut tag = None;
    let mut ty = None;
    for part in inner.split(',') {
        let (k, v) = part
            .split_once(':')
            .ok_or_else(|| bad("a field lacks `:`"))?;
        let decode = |v: &str, what: &str| {
            B64.decode(v)
                .map_err(|_| bad(&format!("{what} is not valid base64")))
        };
        match k {
            "data" => data = Some(decode(v, "data")?),
            "iv" => iv = Some(decode(v, "iv")?),
            "tag" => tag = Some(decode(v, "tag")?),
            "type" => ty = Some(ValueType::from_tag(v).ok_or_else(|| bad("unknown type"))?),
            _ => return Err(bad("unknown field")),
        }
    }
    let (Some(data), Some(iv), Some(tag), Some(ty)) = (data, iv, tag, ty) else {
        return Err(bad("a field (data, iv, tag or type) is missing"));
    };
    if iv.len() != IV_LEN {
        return Err(bad("the iv is not 32 bytes"));
    }
    if tag.len() != 16 {
        return Err(bad("the tag is not 16 bytes"));
    }
    Ok(EncValue { data, iv, tag, ty })
}

/// Decrypts a parsed value; returns the plaintext bytes.
pub fn open(enc: &EncValue, key: &[u8; 32], aad: &str) -> Result<Vec<u8>> {
    let cipher = SopsGcm::new(key.into());
    let mut msg = Vec::with_capacity(enc.data.len() + enc.tag.len());
    msg.extend_from_slice(&enc.data);
    msg.extend_from_slice(&enc.tag);
    cipher
        .decrypt(
            Nonce::<U32>::from_slice(&enc.iv),
            Payload {
                msg: &msg,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| Error::Tampered {
            path: aad.to_string(),
        })
}

/// Encrypts `plaintext` with the given IV; returns the `ENC[…]` string.
pub fn seal(
    plaintext: &[u8],
    ty: ValueType,
    key: &[u8; 32],
    iv: &[u8; IV_LEN],
    aad: &str,
) -> Result<String> {
    let cipher = SopsGcm::new(key.into());
    let out = cipher
        .encrypt(
            Nonce::<U32>::from_slice(iv),
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| Error::Unsupported(format!("AES-GCM encryption failed at `{aad}`")))?;
    let (data, tag) = out.split_at(out.len() - 16);
    Ok(format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
        B64.encode(data),
        B64.encode(iv),
        B64.encode(tag),
        ty.tag()
    ))
}

/// A fresh random IV.
pub fn random_iv() -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut iv);
    iv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let key = [7u8; 32];
        let iv = [9u8; 32];
        let s = seal(b"hello", ValueType::Str, &key, &iv, "a:b:").unwrap();
        let enc = parse(&s, "a:b:").unwrap();
        assert_eq!(open(&enc, &key, "a:b:").unwrap(), b"hello");
        assert!(matches!(
            open(&enc, &key, "a:c:"),
            Err(Error::Tampered { .. })
        ));
        assert!(matches!(
            parse("ENC[AES256_GCM,data:x]", "p:"),
            Err(Error::MalformedValue { .. })
        ));
    }
}
