//! age: recipients, identities (looked up as sops looks them up), and the
//! data key wrapped per recipient as an armored age file.
use crate::error::{Error, Result};
use crate::metadata::AgeStanza;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use zeroize::Zeroizing;

/// The 32-byte data key that encrypts every value of a file.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    /// A new random data key.
    pub fn generate() -> DataKey {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, k.as_mut());
        DataKey(k)
    }

    /// From raw bytes (must be 32 long).
    pub fn from_bytes(bytes: &[u8]) -> Result<DataKey> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::Key(format!("the data key is {} bytes, not 32", bytes.len())))?;
        Ok(DataKey(Zeroizing::new(arr)))
    }

    /// The raw key.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A recipient: `age1…` (X25519) or an `ssh-ed25519`/`ssh-rsa` public key line.
pub fn parse_recipient(s: &str) -> Result<Box<dyn age::Recipient + Send>> {
    let s = s.trim();
    if s.starts_with("ssh-") {
        age::ssh::Recipient::from_str(s)
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|_| Error::Key(format!("invalid ssh recipient `{s}`")))
    } else {
        age::x25519::Recipient::from_str(s)
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|e| Error::Key(format!("invalid age recipient `{s}`: {e}")))
    }
}

/// Encrypts the data key to one recipient: an armored age file, as sops writes it.
pub fn wrap(key: &DataKey, recipient: &str) -> Result<AgeStanza> {
    let r = parse_recipient(recipient)?;
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&*r as &dyn age::Recipient))
        .map_err(|e| Error::Key(format!("age encryption to `{recipient}` failed: {e}")))?;
    let io = |e: std::io::Error| Error::Io {
        context: "armoring the data key".into(),
        error: e,
    };
    let mut out = Vec::new();
    let armored = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .map_err(io)?;
    let mut w = encryptor.wrap_output(armored).map_err(io)?;
    w.write_all(key.bytes()).map_err(io)?;
    w.finish().and_then(|a| a.finish()).map_err(io)?;
    let mut enc =
        String::from_utf8(out).map_err(|_| Error::Key("age armor is not UTF-8".into()))?;
    if !enc.ends_with('\n') {
        enc.push('\n');
    }
    Ok(AgeStanza {
        recipient: recipient.to_string(),
        enc,
    })
}

/// The identities that can decrypt data keys, with where they came from.
#[derive(Default)]
pub struct Identities {
    ids: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// Where identities were looked for (for error messages).
    pub looked_in: Vec<String>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identities({} keys from {:?})",
            self.ids.len(),
            self.looked_in
        )
    }
}

impl Identities {
    /// No identities.
    pub fn empty() -> Identities {
        Identities::default()
    }

    /// How many identities were loaded.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether none were loaded.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds the identities of a `keys.txt`-style text (one `AGE-SECRET-KEY-…` a
    /// line; `#` comments and blank lines ignored). With `several_per_line`, each
    /// whitespace-separated word is a key (as `SOPS_AGE_KEY` is read).
    pub fn add_keys_text(
        &mut self,
        text: &str,
        several_per_line: bool,
        source: &str,
    ) -> Result<()> {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = if several_per_line {
                line.split_whitespace().collect()
            } else {
                vec![line]
            };
            for word in words {
                if word.starts_with(IDENTITY_PREFIX) {
                    let id = age::x25519::Identity::from_str(word)
                        .map_err(|_| Error::Key(format!("{source}: malformed age identity")))?;
                    self.ids.push(Box::new(id));
                } else {
                    let file = age::IdentityFile::from_buffer(word.as_bytes())
                        .map_err(|_| Error::Key(format!("{source}: unknown identity type")))?;
                    let ids = file
                        .into_identities()
                        .map_err(|_| Error::Key(format!("{source}: unknown identity type")))?;
                    if ids.is_empty() {
                        return Err(Error::Key(format!("{source}: unknown identity type")));
                    }
                    self.ids.extend(ids);
                }
            }
        }
        Ok(())
    }

    /// Adds an unencrypted OpenSSH private key (ed25519 or RSA).
    pub fn add_ssh_key(&mut self, text: &[u8], source: &str) -> Result<()> {
        let id = age::ssh::Identity::from_buffer(text, Some(source.to_string()))
            .map_err(|e| Error::Key(format!("{source}: not an SSH private key: {e}")))?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {
                self.ids.push(Box::new(id));
                Ok(())
            }
            age::ssh::Identity::Encrypted(_) => Err(Error::Key(format!(
                "{source}: password-protected SSH keys are not supported"
            ))),
            age::ssh::Identity::Unsupported(_) => {
                Err(Error::Key(format!("{source}: unsupported SSH key type")))
            }
        }
    }

    /// Loads identities the way sops does, from (all that exist):
    /// `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, else `~/.ssh/id_ed25519` and `~/.ssh/id_rsa`;
    /// `SOPS_AGE_KEY` (several keys a line); `SOPS_AGE_KEY_FILE`; and
    /// `$XDG_CONFIG_HOME/sops/age/keys.txt` (default `~/.config/sops/age/keys.txt`).
    /// `env` looks up an environment variable. The `*_CMD` variables are not supported.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Identities> {
        let mut ids = Identities::default();
        let home = env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
        if let Some(path) = env("SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
            ids.looked_in.push("SOPS_AGE_SSH_PRIVATE_KEY_FILE".into());
            let text = read(Path::new(&path), "SOPS_AGE_SSH_PRIVATE_KEY_FILE")?;
            ids.add_ssh_key(&text, &path)?;
        } else if let Some(home) = &home {
            for name in ["id_ed25519", "id_rsa"] {
                let p = home.join(".ssh").join(name);
                if p.is_file() {
                    ids.looked_in.push(p.display().to_string());
                    let text = read(&p, "an SSH key")?;
                    // sops fails on an unreadable default key; skip unsupported ones instead.
                    let _ = ids.add_ssh_key(&text, &p.display().to_string());
                }
            }
        }
        if let Some(k) = env("SOPS_AGE_KEY") {
            ids.looked_in.push("SOPS_AGE_KEY".into());
            ids.add_keys_text(&k, true, "SOPS_AGE_KEY")?;
        }
        if let Some(path) = env("SOPS_AGE_KEY_FILE") {
            ids.looked_in.push(format!("SOPS_AGE_KEY_FILE ({path})"));
            let text = read(Path::new(&path), "SOPS_AGE_KEY_FILE")?;
            let text = String::from_utf8(text)
                .map_err(|_| Error::Key(format!("SOPS_AGE_KEY_FILE ({path}) is not UTF-8")))?;
            ids.add_keys_text(&text, false, &path)?;
        }
        let config_dir = env("XDG_CONFIG_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".config")));
        if let Some(dir) = config_dir {
            let p = dir.join("sops/age/keys.txt");
            if p.is_file() {
                ids.looked_in.push(p.display().to_string());
                let text = read(&p, "the age keys file")?;
                let text = String::from_utf8(text)
                    .map_err(|_| Error::Key(format!("{} is not UTF-8", p.display())))?;
                ids.add_keys_text(&text, false, &p.display().to_string())?;
            }
        }
        Ok(ids)
    }

    /// Decrypts the data key from the first stanza one of the identities opens.
    pub fn unwrap(&self, stanzas: &[AgeStanza]) -> Result<DataKey> {
        // Stanzas that are not age files at all: a damaged file, not a missing key.
        let mut damaged: Vec<String> = Vec::new();
        for s in stanzas {
            let decryptor = match age::Decryptor::new_buffered(age::armor::ArmoredReader::new(
                s.enc.as_bytes(),
            )) {
                Ok(d) => d,
                Err(e) => {
                    damaged.push(format!("{} ({e})", s.recipient));
                    continue;
                }
            };
            let Ok(mut reader) =
                decryptor.decrypt(self.ids.iter().map(|i| &**i as &dyn age::Identity))
            else {
                continue;
            };
            let mut out = Zeroizing::new(Vec::new());
            if reader.read_to_end(&mut out).is_ok() {
                return DataKey::from_bytes(&out);
            }
        }
        if !damaged.is_empty() {
            return Err(Error::Key(format!(
                "the encrypted data key (`sops.age[].enc`) of {} is not a valid age file: the metadata is damaged; restore it from version control, or re-seal the file",
                damaged.join(", ")
            )));
        }
        let recipients = stanzas.iter().map(|s| s.recipient.clone()).collect();
        let hint = if self.ids.is_empty() {
            "no age identity found: set SOPS_AGE_KEY_FILE to the age key file of one of these recipients (or SOPS_AGE_KEY to the key itself), or put it in ~/.config/sops/age/keys.txt".into()
        } else {
            format!(
                "none of the identities from {} is one of them: set SOPS_AGE_KEY_FILE to the age key file of one of these recipients",
                self.looked_in.join(", ")
            )
        };
        Err(Error::NoIdentity { recipients, hint })
    }
}

/// Key files are small; anything larger is not one (and is not read whole).
pub const MAX_KEY_FILE_BYTES: u64 = 1 << 20;

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    avalanche_fsread::read(path, MAX_KEY_FILE_BYTES).map_err(|error| Error::Read {
        what: format!("reading {what}"),
        error,
    })
}

/// How an age X25519 identity starts (the Bech32 separator `1` follows; the
/// `age` crate validates the rest).
const IDENTITY_PREFIX: &str = "AGE-SECRET-KEY-";

/// The public recipient (`age1…`) of each X25519 identity in a keys text.
pub fn recipients_of_keys_text(text: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with(IDENTITY_PREFIX) {
            let id = age::x25519::Identity::from_str(line)
                .map_err(|_| Error::Key("malformed age identity".into()))?;
            out.push(id.to_public().to_string());
        }
    }
    Ok(out)
}
