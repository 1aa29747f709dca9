//! The one error type of the crate. Messages never contain plaintext values:
//! only paths, line numbers, key names and what went wrong.
use std::path::PathBuf;

/// What went wrong, with as much location as is known.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error inside a file: wraps another error with the file's path.
    // The inner error is part of the message, not a `source`, so a
    // chain printer (anyhow's `{:#}`) does not say it twice.
    // A line inside it is written `path:line:`, as compilers do.
    #[error("{}", in_file(path, inner))]
    InFile {
        /// The file.
        path: PathBuf,
        /// What went wrong in it.
        inner: Box<Error>,
    },
    /// An error in one document of a multi-document YAML file.
    #[error("document {number} (line {line}): {inner}")]
    InDocument {
        /// 1-based document number.
        number: usize,
        /// 1-based line where the document starts.
        line: usize,
        /// What went wrong in it.
        inner: Box<Error>,
    },
    /// The text is not valid YAML or JSON.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line (0 when unknown).
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// `.sops.yaml` is well-formed YAML but not a valid configuration.
    #[error("line {line}: {message}")]
    Config {
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A creation rule uses several key groups (Shamir secret sharing).
    #[error("line {line}: {}", shamir(*groups))]
    ShamirUnsupported {
        /// 1-based line of the rule.
        line: usize,
        /// How many groups it has.
        groups: usize,
    },
    /// No creation rule matches the file.
    #[error("no creation rule in {} matches `{path}`", config.display())]
    NoMatchingRule {
        /// The `.sops.yaml`.
        config: PathBuf,
        /// The path relative to the config's directory.
        path: String,
    },
    /// The file has no (or a malformed) `sops` metadata section.
    #[error("not a SOPS file: {0}")]
    Metadata(String),
    /// A value is not in `ENC[AES256_GCM,…]` form, or is malformed.
    #[error("malformed encrypted value at `{path}`: {reason}")]
    MalformedValue {
        /// The key path (`a:b:`).
        path: String,
        /// What is malformed (never the value).
        reason: String,
    },
    /// AES-GCM authentication failed for a value: wrong data key, or tampered.
    #[error("value at `{path}` failed authentication (tampered value, or wrong data key)")]
    Tampered {
        /// The key path (`a:b:`).
        path: String,
    },
    /// The MAC stored in the file does not match the values.
    #[error("MAC mismatch: the file's values or MAC were modified")]
    MacMismatch,
    /// None of the available identities can decrypt the data key.
    #[error(
        "no age identity can decrypt the data key; the recipients that can: {}; {hint}",
        recipients.join(", ")
    )]
    NoIdentity {
        /// The file's recipients: the keys that could decrypt it.
        recipients: Vec<String>,
        /// Where identities were looked for.
        hint: String,
    },
    /// An age recipient or identity is invalid.
    #[error("{0}")]
    Key(String),
    /// The tree has something SOPS cannot encrypt.
    #[error("{0}")]
    Unsupported(String),
    /// A file could not be read: not a regular file, over its size limit, absent.
    #[error("{what}: {error}")]
    Read {
        /// What the file is for (`SOPS_AGE_KEY_FILE`, `reading`).
        what: String,
        /// Why it could not be read (names the file, and the limit).
        error: avalanche_fsread::ReadError,
    },
    /// Reading or writing failed.
    #[error("{context}: {error}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        error: std::io::Error,
    },
}

fn shamir(groups: usize) -> String {
    format!(
        "the creation rule has {groups} key_groups: Shamir key groups are not supported \
         (use one key group, or a plain `age:` list)"
    )
}

/// `path:line: message` when the error is at a line of the file, else `path: error`.
fn in_file(path: &std::path::Path, inner: &Error) -> String {
    match inner.at_line() {
        Some((line, message)) => format!("{}:{line}: {message}", path.display()),
        None => format!("{}: {inner}", path.display()),
    }
}

impl Error {
    /// The 1-based line and the message without it, for an error at a known
    /// line of a file (`.sops.yaml`'s syntax and shape errors).
    pub fn at_line(&self) -> Option<(usize, String)> {
        match self {
            Error::Syntax { line, message } | Error::Config { line, message } if *line > 0 => {
                Some((*line, message.clone()))
            }
            Error::ShamirUnsupported { line, groups } if *line > 0 => {
                Some((*line, shamir(*groups)))
            }
            _ => None,
        }
    }

    /// Wraps `self` with the document of a multi-document file it happened in.
    pub fn in_document(self, number: usize, line: usize) -> Error {
        Error::InDocument {
            number,
            line,
            inner: Box::new(self),
        }
    }

    /// Wraps `self` with the file it happened in (once).
    pub fn in_file(self, path: impl Into<PathBuf>) -> Error {
        match self {
            Error::InFile { .. } => self,
            other => Error::InFile {
                path: path.into(),
                inner: Box::new(other),
            },
        }
    }

    /// The message, with each recipient of a [`Error::NoIdentity`] written by
    /// `name` (say, by its `.sops.yaml` anchor, see
    /// [`crate::config::SopsConfig::recipient_name`]) instead of as a raw key.
    pub fn to_string_naming(&self, name: &dyn Fn(&str) -> String) -> String {
        match self {
            Error::InFile { path, inner } if inner.at_line().is_none() => {
                format!("{}: {}", path.display(), inner.to_string_naming(name))
            }
            Error::InDocument {
                number,
                line,
                inner,
            } => format!(
                "document {number} (line {line}): {}",
                inner.to_string_naming(name)
            ),
            Error::NoIdentity { recipients, hint } => Error::NoIdentity {
                recipients: recipients.iter().map(|r| name(r)).collect(),
                hint: hint.clone(),
            }
            .to_string(),
            other => other.to_string(),
        }
    }

    /// Whether the file itself is at fault (a tampered or malformed value, a MAC
    /// that does not hold, text that is not a SOPS file), as opposed to this
    /// machine being unable to check it (no identity, an unsupported feature, I/O).
    pub fn is_damage(&self) -> bool {
        matches!(
            self.kind(),
            Error::Tampered { .. }
                | Error::MacMismatch
                | Error::MalformedValue { .. }
                | Error::Syntax { .. }
                | Error::Metadata(_)
        )
    }

    /// Whether decrypting failed on the content: a value that does not
    /// authenticate or is malformed, or a MAC that does not hold.
    pub fn is_decryption_failure(&self) -> bool {
        matches!(
            self.kind(),
            Error::Tampered { .. } | Error::MacMismatch | Error::MalformedValue { .. }
        )
    }

    /// The innermost error (below any `InFile`).
    pub fn kind(&self) -> &Error {
        match self {
            Error::InFile { inner, .. } | Error::InDocument { inner, .. } => inner.kind(),
            other => other,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
