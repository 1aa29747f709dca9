//! Name and CIDR newtypes.
use std::fmt;

/// A DNS-1123 label: 1–63 characters of `a-z`, `0-9` and `-`, starting and ending
/// with an alphanumeric. Every name in the network is one (they become Kubernetes
/// resource names and hostnames).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

/// Why a string is not a [`Name`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty.
    #[error("a name cannot be empty")]
    Empty,
    /// Longer than 63 characters.
    #[error("`{0}` is longer than 63 characters")]
    TooLong(String),
    /// A character outside `a-z0-9-`.
    #[error("`{name}` contains `{ch}`: only lowercase letters, digits and `-` are allowed")]
    BadChar {
        /// The name.
        name: String,
        /// The first bad character.
        ch: char,
    },
    /// Starts or ends with `-`.
    #[error("`{0}` must start and end with a letter or digit")]
    BadEdge(String),
}

impl Name {
    /// Checks `s` is a DNS-1123 label.
    pub fn new(s: &str) -> Result<Name, NameError> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.len() > 63 {
            return Err(NameError::TooLong(s.to_owned()));
        }
        if let Some(ch) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(NameError::BadChar {
                name: s.to_owned(),
                ch,
            });
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(NameError::BadEdge(s.to_owned()));
        }
        Ok(Name(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// An IP network as written (`10.1.0.0/24`); host bits are kept so `check` can
/// report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr(pub ipnet::IpNet);

impl Cidr {
    /// Parses `a.b.c.d/n` or `x::/n`; the prefix length is required.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        s.parse::<ipnet::IpNet>().map(Cidr).map_err(|_| {
            format!(
                "`{s}` is not a CIDR (expected an address and a prefix length, like `10.1.0.0/24`)"
            )
        })
    }

    /// True when the address has bits set past the prefix (`10.1.0.5/24`).
    pub fn has_host_bits(&self) -> bool {
        self.0.addr() != self.0.network()
    }

    /// The canonical form (`10.1.0.0/24` for `10.1.0.5/24`).
    pub fn canonical(&self) -> Cidr {
        Cidr(self.0.trunc())
    }

    /// True when the two networks share an address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        let (a, b) = (self.0.trunc(), other.0.trunc());
        a.contains(&b.network()) || b.contains(&a.network())
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
