//! What each gluetun release reads: the environment variables the generated
//! containers may set, with the first release that reads each one and the
//! source file of gluetun that reads it (qdm12/gluetun at that tag).
//!
//! The renderer emits only the variables the declared image's version reads;
//! `decode` refuses an image whose version is outside the table, at its line.
//! The table is data about gluetun, not about the network: messages derive the
//! version range from it and never spell a version themselves.
use std::fmt;

/// The name of every generated gluetun container (proxies and sidecars): the
/// sidecar component deletes a hand-written container of this name, and `check`
/// tells such a container apart from one it would not delete.
pub const CONTAINER: &str = "gluetun";

/// The providers gluetun forwards a port for (`VPN_SERVICE_PROVIDER` values;
/// `internal/configuration/settings/portforward.go`, `PortForwarding.Validate`, the
/// same in every release of the table): with another, `VPN_PORT_FORWARDING=on`
/// makes gluetun exit at start.
pub const PORT_FORWARDING_PROVIDERS: [&str; 4] = [
    "perfect privacy",
    "private internet access",
    "privatevpn",
    "protonvpn",
];

/// The providers with port-forwarding-only servers (`PORT_FORWARD_ONLY`;
/// `internal/configuration/settings/serverselection.go`, `validateFeatureFilters`):
/// the filter is refused for any other, and on by default for these two when port
/// forwarding is on.
pub const PORT_FORWARD_ONLY_PROVIDERS: [&str; 2] = ["private internet access", "protonvpn"];

/// The keys of its credentials Secret a gluetun of `vpn_type` reads (each as the
/// variable of the same name): render writes the `secretKeyRef`s from it and `check`
/// holds the declared secret's `keys` against it.
pub fn credential_keys(vpn_type: crate::VpnType) -> [&'static str; 2] {
    match vpn_type {
        crate::VpnType::Wireguard => ["WIREGUARD_PRIVATE_KEY", "WIREGUARD_ADDRESSES"],
        crate::VpnType::Openvpn => ["OPENVPN_USER", "OPENVPN_PASSWORD"],
    }
}

/// The key a proxy's Shadowsocks server reads its password from.
pub const SHADOWSOCKS_PASSWORD_KEY: &str = "SHADOWSOCKS_PASSWORD";

/// Whether gluetun forwards a port for `service` (gluetun lowercases the name).
pub fn forwards_ports(service: &str) -> bool {
    PORT_FORWARDING_PROVIDERS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(service))
}

/// Whether `service` has port-forwarding-only servers.
pub fn has_port_forward_only_servers(service: &str) -> bool {
    PORT_FORWARD_ONLY_PROVIDERS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(service))
}

/// A gluetun release series `major.minor`, and the patch when the tag has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// `3` of `v3.41.1`.
    pub major: u32,
    /// `41` of `v3.41.1`.
    pub minor: u32,
    /// `1` of `v3.41.1` (`None` for a `v3.41` tag: the newest patch of the series).
    pub patch: Option<u32>,
}

impl Version {
    /// `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            major,
            minor,
            patch: Some(patch),
        }
    }

    /// The release series (`major.minor`): variables are added in minor releases.
    fn series(self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "v{}.{}.{p}", self.major, self.minor),
            None => write!(f, "v{}.{}", self.major, self.minor),
        }
    }
}

/// One environment variable gluetun reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    /// The variable.
    pub name: &'static str,
    /// The first release in the table that reads it.
    pub since: Version,
    /// The file of qdm12/gluetun (at `since`) that reads it.
    pub source: &'static str,
}

const V3_40: Version = Version::new(3, 40, 0);
const V3_41: Version = Version::new(3, 41, 0);

macro_rules! vars {
    ($($name:literal, $since:ident, $file:literal;)*) => {
        /// Every variable avalanche-net may set, with where gluetun reads it.
        pub const VARIABLES: &[Var] = &[$(Var { name: $name, since: $since, source: concat!("internal/configuration/settings/", $file) }),*];
    };
}

// Read with `git show <tag>:internal/configuration/settings/<file>` at each tag of
// the v3.40 and v3.41 series (the oldest series in the table is where the table
// starts, not where gluetun introduced the variable).
vars! {
    "VPN_SERVICE_PROVIDER", V3_40, "provider.go";
    "VPN_TYPE", V3_40, "vpn.go";
    "WIREGUARD_PRIVATE_KEY", V3_40, "wireguard.go";
    "WIREGUARD_ADDRESSES", V3_40, "wireguard.go";
    "WIREGUARD_PERSISTENT_KEEPALIVE_INTERVAL", V3_40, "wireguard.go";
    "OPENVPN_USER", V3_40, "openvpn.go";
    "OPENVPN_PASSWORD", V3_40, "openvpn.go";
    "SERVER_COUNTRIES", V3_40, "serverselection.go";
    "PORT_FORWARD_ONLY", V3_40, "serverselection.go";
    "VPN_PORT_FORWARDING", V3_40, "portforward.go";
    "VPN_PORT_FORWARDING_UP_COMMAND", V3_40, "portforward.go";
    "VPN_PORT_FORWARDING_DOWN_COMMAND", V3_40, "portforward.go";
    "HTTPPROXY", V3_40, "httpproxy.go";
    "HTTPPROXY_LISTENING_ADDRESS", V3_40, "httpproxy.go";
    "SHADOWSOCKS", V3_40, "shadowsocks.go";
    "SHADOWSOCKS_LISTENING_ADDRESS", V3_40, "shadowsocks.go";
    "SHADOWSOCKS_CIPHER", V3_40, "shadowsocks.go";
    "SHADOWSOCKS_PASSWORD", V3_40, "shadowsocks.go";
    "FIREWALL_INPUT_PORTS", V3_40, "firewall.go";
    "FIREWALL_OUTBOUND_SUBNETS", V3_40, "firewall.go";
    "HTTP_CONTROL_SERVER_ADDRESS", V3_40, "server.go";
    "PUID", V3_40, "system.go";
    "PGID", V3_40, "system.go";
    "HEALTH_SMALL_CHECK_TYPE", V3_41, "health.go";
}

/// The oldest and newest release series the table describes.
pub const FIRST: Version = V3_40;
/// The newest release series the table describes (every patch of it).
pub const LAST: Version = V3_41;

/// The table's row for `name`.
pub fn var(name: &str) -> Option<&'static Var> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// Whether `version` reads `name` (false for a variable missing from the table).
pub fn reads(version: Version, name: &str) -> bool {
    var(name).is_some_and(|v| v.since.series() <= version.series())
}

/// Whether the table describes `version`.
pub fn known(version: Version) -> bool {
    FIRST.series() <= version.series() && version.series() <= LAST.series()
}

/// The range the table covers, for messages: `v3.40.x to v3.41.x`.
pub fn range() -> String {
    format!(
        "v{}.{}.x to v{}.{}.x",
        FIRST.major, FIRST.minor, LAST.major, LAST.minor
    )
}

/// Why an image names no version of the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// `qmcgaw/gluetun`, `…:latest`, `…@sha256:…` alone: no release to read.
    #[error("the image `{0}` names no gluetun release")]
    NoVersion(String),
    /// A release the table does not describe.
    #[error(
        "gluetun {version} is outside the releases avalanche-net knows ({})",
        range()
    )]
    Unknown {
        /// The release found in the tag.
        version: Version,
    },
}

/// The release of an image reference like `qmcgaw/gluetun:v3.41.3` (a digest after
/// `@` is allowed; the tag still says which variables it reads).
pub fn image_version(image: &str) -> Result<Version, ImageError> {
    let no_version = || ImageError::NoVersion(image.to_owned());
    let reference = image.split('@').next().unwrap_or(image);
    // The tag follows the last `:` after the last `/` (a registry may have a port).
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let (_, tag) = last.split_once(':').ok_or_else(no_version)?;
    let digits = tag.strip_prefix('v').unwrap_or(tag);
    let mut parts = digits.split('.');
    let mut number = || -> Option<u32> {
        let p = parts.next()?;
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 6 {
            return None;
        }
        p.parse().ok()
    };
    let major = number().ok_or_else(no_version)?;
    let minor = number().ok_or_else(no_version)?;
    let patch = match parts.next() {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse().ok()
        }
        Some(_) => return Err(no_version()),
    };
    if parts.next().is_some() {
        return Err(no_version());
    }
    let version = Version {
        major,
        minor,
        patch,
    };
    if known(version) {
        Ok(version)
    } else {
        Err(ImageError::Unknown { version })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_versions() {
        assert_eq!(
            image_version("qmcgaw/gluetun:v3.41.3"),
            Ok(Version::new(3, 41, 3))
        );
        assert_eq!(
            image_version("ghcr.io:5000/qdm12/gluetun:v3.40.0@sha256:abc"),
            Ok(Version::new(3, 40, 0))
        );
        assert_eq!(
            image_version("qmcgaw/gluetun:v3.41").map(|v| v.patch),
            Ok(None)
        );
        for bad in [
            "qmcgaw/gluetun",
            "qmcgaw/gluetun:latest",
            "x:v3",
            "x:v3.41.1.2",
            "x:v3.x",
        ] {
            assert!(
                matches!(image_version(bad), Err(ImageError::NoVersion(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            image_version("qmcgaw/gluetun:v3.39.1"),
            Err(ImageError::Unknown { .. })
        ));
        assert!(matches!(
            image_version("qmcgaw/gluetun:v3.42.0"),
            Err(ImageError::Unknown { .. })
        ));
    }

    #[test]
    fn the_small_health_check_is_read_from_its_series_only() {
        assert!(reads(Version::new(3, 41, 0), "HEALTH_SMALL_CHECK_TYPE"));
        assert!(!reads(Version::new(3, 40, 4), "HEALTH_SMALL_CHECK_TYPE"));
        assert!(!reads(Version::new(3, 41, 0), "METRICS_TYPE"));
        assert!(!reads(
            Version::new(3, 41, 0),
            "WIREGUARD_PERSISTENT_KEEPALIVE"
        ));
    }

    #[test]
    fn every_source_is_a_settings_file() {
        for v in VARIABLES {
            assert!(
                v.source.starts_with("internal/configuration/settings/")
                    && v.source.ends_with(".go"),
                "{v:?}"
            );
        }
    }
}
