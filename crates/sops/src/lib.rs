//! SOPS files with age: the format, `.sops.yaml` rules, encryption and decryption; usable on its own.
//!
//! This crate reads and writes files compatible with getsops/sops 3.9+ (YAML
//! and JSON stores, AES-256-GCM values, the SHA-512 MAC, age recipients), so
//! KSOPS and sops-nix decrypt what it writes and it decrypts what they read.
//!
//! It must not: print or log anything, put a plaintext value in an error
//! message, read the declarations, or know about Kubernetes beyond the shape of
//! a sealed `Secret` and its encryption rule ([`secret`]). Writing files is the
//! caller's job: sealing returns the new text.
//!
//! ```
//! let conf = avalanche_sops::config::SopsConfig::parse(
//!     "creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: age1xyz\n",
//! ).unwrap();
//! assert_eq!(conf.rule_for("secrets/a.yaml").unwrap().recipients(), vec!["age1xyz"]);
//! ```
#![deny(missing_docs)]

pub mod cipher;
pub mod civil;
pub mod config;
pub mod crypt;
pub mod error;
pub mod keys;
pub mod metadata;
pub mod ops;
pub mod path_glob;
pub mod path_regex;
pub mod scan;
pub mod secret;
pub mod tree;

pub use crypt::{
    Decrypted, DecryptedFile, EncryptOptions, Layout, Stash, compute_mac, decrypt, decrypt_file,
    encrypt, encrypt_documents, now_lastmodified,
};
pub use error::{Error, Result};
pub use keys::{DataKey, Identities};
pub use metadata::{AgeStanza, Metadata, is_sops_file, recipients};
pub use tree::{Format, Value};

/// Which values of a file are encrypted: exactly one rule per file, written into its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptRule {
    /// Keys (anywhere on the path) matching the regex are encrypted; nothing else.
    EncryptedRegex(String),
    /// Keys matching the regex are left in clear; everything else is encrypted.
    UnencryptedRegex(String),
    /// Keys ending with the suffix are encrypted; nothing else.
    EncryptedSuffix(String),
    /// Keys ending with the suffix are left in clear (sops' default: `_unencrypted`).
    UnencryptedSuffix(String),
}

impl Default for CryptRule {
    fn default() -> Self {
        CryptRule::UnencryptedSuffix("_unencrypted".into())
    }
}

impl CryptRule {
    /// The Kubernetes Secret rule: only `data` and `stringData` are encrypted.
    pub fn kubernetes() -> CryptRule {
        CryptRule::EncryptedRegex("^(data|stringData)$".into())
    }

    fn is_empty(&self) -> bool {
        match self {
            CryptRule::EncryptedRegex(s)
            | CryptRule::UnencryptedRegex(s)
            | CryptRule::EncryptedSuffix(s)
            | CryptRule::UnencryptedSuffix(s) => s.is_empty(),
        }
    }
}
