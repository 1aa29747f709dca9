//! The ids of what decoding the declarations into a [`Network`](crate::Network)
//! reports (`model-*`: the shape of each value), and of what
//! [`Network::resolve`](crate::Network::resolve) reports about the
//! cross-references between declarations (`egress-unknown-*`: a client's proxy,
//! an instance's provider and credentials secret; `egress-upstream-protocol`,
//! `egress-duplicate-name`). These are findings about the declarations (exit 1),
//! not a failure to run: the file was read, and it says something the network
//! cannot be. `check` reports the resolver's; `build` refuses with them.
//!
//! `avalanche-net explain ID` prints these entries.

/// The paragraph every decoding entry shares.
macro_rules! declared {
    () => {
        declared!(@ "")
    };
    ($what:literal) => {
        declared!(@ concat!($what, "\n\n"))
    };
    (@ $what:expr) => {
        concat!(
            $what,
            "A finding about the declarations themselves (their shape), reported by every command that reads them.\n\
             Fix the declarations file (`nix/network.nix`, or the file given with `--network`) at the reported\n\
             line, as its `help:` says, then run `avalanche-net check` again."
        )
    };
}

avalanche_diag::rules! {
    MODEL_TYPE = "model-type", Error,
        "A declaration has the wrong type (a string where a list is expected, …).",
        declared!("The options and their types are listed in README.md (\"The declaration schema\").");
    MODEL_MISSING = "model-missing", Error,
        "A required attribute is missing from the declarations.",
        declared!("The message names the attribute and an example value.");
    MODEL_UNKNOWN_ATTRIBUTE = "model-unknown-attribute", Error,
        "The declarations set an attribute that does not exist (a typo, or an option of another version).",
        declared!("Unknown attributes are never ignored: a misspelled option would silently keep its default.\n\
                   The `help:` suggests the closest known name.");
    MODEL_ENUM = "model-enum", Error,
        "A declaration has a value outside its allowed set (a role, a format, a protocol, …).",
        declared!("The message lists the allowed values.");
    MODEL_EMPTY = "model-empty", Error,
        "A declaration that must not be empty is an empty string or list.",
        declared!();
    MODEL_NAME = "model-name", Error,
        "A name in the declarations is not a DNS-1123 label, or is too long for the resources made from it.",
        declared!("Names become Kubernetes resource names and labels: lowercase letters, digits and `-`, starting\n\
                   with a letter, at most 63 characters (less when a prefix or suffix is added to them).");
    MODEL_LABEL = "model-label", Error,
        "A Kubernetes label key or value in the declarations is invalid.",
        declared!("A label key is an optional DNS prefix and `/`, then 1 to 63 of `a-z A-Z 0-9 - _ .`; a value is empty\n\
                   or 1 to 63 of those, starting and ending alphanumeric.");
    MODEL_RANGE = "model-range", Error,
        "A number in the declarations is out of its range.",
        declared!("The message gives the range (a port, a keepalive interval, an MTU, a routing table, …).");
    MODEL_PORT = "model-port", Error,
        "A port in the declarations is invalid or collides with another one.",
        declared!("A port is a number from 1 to 65535; an app and its gluetun sidecar share the pod's network, so\n\
                   they cannot listen on the same port.");
    MODEL_FORWARDED_PORT = "model-forwarded-port", Error,
        "A sidecar's `forwardedPortTo` cannot deliver the forwarded port.",
        declared!("`forwardedPortTo` is `{ app = \"qbittorrent\"; }` or `{ command = \"… {{PORT}} …\"; }` (one of the two), on a\n\
                   sidecar with `portForwarding = true`: gluetun runs `VPN_PORT_FORWARDING_UP_COMMAND` only when the\n\
                   provider forwards a port, and a command without `{{PORT}}` or `{{PORTS}}` never learns it.");
    MODEL_DESTINATION = "model-destination", Error,
        "An entry of a client's `allowedDestinations` is neither pods of a namespace nor a CIDR.",
        declared!("Each entry is `{ namespace = \"irc\"; podLabels = { … }; ports = [ … ]; }` (pods; `podLabels` optional) or\n\
                   `{ cidr = \"192.168.1.0/24\"; ports = [ … ]; }` (addresses outside the cluster), never both.");
    MODEL_CIDR = "model-cidr", Error,
        "A CIDR in the declarations is invalid.",
        declared!("Write it like `10.1.0.0/24`.");
    MODEL_CLUSTER_CIDR = "model-cluster-cidr", Error,
        "A cluster range (`podCIDR`, `serviceCIDR`) is not canonical, not private, or wider than /8.",
        declared!("It becomes `FIREWALL_OUTBOUND_SUBNETS` of every gluetun sidecar: traffic to it bypasses the VPN\n\
                   kill switch, so it must be exactly the cluster's own private range.");
    MODEL_ADDRESS = "model-address", Error,
        "An address in the declarations is not an IP address (or `IP:PORT`).",
        declared!();
    MODEL_DOMAIN = "model-domain", Error,
        "A DNS domain in the declarations (`domains`) is not lowercase labels separated by dots.",
        declared!("Write it like `home.example.org`: `check` counts `<host>.<domain>` as naming a host.");
    MODEL_ENDPOINT = "model-endpoint", Error,
        "A WireGuard endpoint in the declarations is not a host and a port.",
        declared!();
    MODEL_WIREGUARD_KEY = "model-wireguard-key", Error,
        "A WireGuard public key in the declarations is malformed.",
        declared!("A key is 44 base64 characters ending in `=`; copy the peer's key from `wg pubkey` (never the\n\
                   private key).");
    MODEL_AGE_RECIPIENT = "model-age-recipient", Error,
        "An age recipient in the declarations is not an `age1…` public key (or is a private key).",
        declared!("A private key in the declarations is in the repository: anyone who can read the file can decrypt\n\
                   what it protects. Declare the public key (`age-keygen -y KEYFILE`).");
    MODEL_SECRET_KEY = "model-secret-key", Error,
        "A declared secret's key name is not allowed.",
        declared!("Kubernetes Secret keys are letters, digits, `-`, `_` and `.`; `sops` is SOPS's own metadata key.");
    MODEL_PATH = "model-path", Error,
        "A path in the declarations is not a repository-relative file path.",
        declared!("Paths are relative to the repository root, without `..`, and name a file (not a directory).");
    MODEL_CONTROL_CHAR = "model-control-char", Error,
        "A string in the declarations holds a control character.",
        declared!("Generated files and the cluster cannot carry it safely.");
    MODEL_CURRENCY = "model-currency", Error,
        "A currency in the declarations is not a three-letter ISO 4217 code.",
        declared!();
    MODEL_DURATION = "model-duration", Error,
        "A duration in the declarations is not a number and a unit (`25s`, `1m`).",
        declared!();
    MODEL_GLUETUN_VERSION = "model-gluetun-version", Error,
        "The gluetun image's tag is not a release this tool knows the settings of.",
        declared!("The generated environment depends on the release (variables come and go between versions): the\n\
                   tag must be a gluetun release like `vX.Y.Z`.");
    MODEL_CLIENT_UPSTREAM = "model-client-upstream", Error,
        "A client sets both `proxy` and `gateway`.",
        declared!("A client has one upstream: `proxy` names a proxy or a gateway (their names never clash), `gateway`\n\
                   names a gateway only. Keep one of the two.");
    MODEL_TAG = "model-tag", Error,
        "A Tailscale tag in the declarations is not `tag:<name>`.",
        declared!();
    MODEL_GATEWAY_NAME = "model-gateway-name", Error,
        "An egress gateway has the name of a proxy.",
        declared!("Gateways and proxies share the namespace of generated names.");
    MODEL_INTERFACE = "model-interface", Error,
        "A network interface name in the declarations is invalid (Linux allows 15 characters).",
        declared!();
    MODEL_CONFLICT = "model-conflict", Error,
        "Two options that exclude each other are both set (`credentials` and `existingSecret`).",
        declared!("A gluetun reads its credentials from one Secret: a declared secret sealed with SOPS\n\
                   (`credentials`), or one the cluster already has (`existingSecret`). Keep one.");
    MODEL_RENAMED = "model-renamed", Error,
        "The declarations use an option that was renamed.",
        declared!("The message names the new option.");
    MODEL_REMOVED = "model-removed", Error,
        "The declarations use an option that was removed.",
        declared!("The message says what replaces it.");
    EGRESS_UNKNOWN_PROVIDER = "egress-unknown-provider", Error,
        "A proxy or sidecar names a provider that `egress.providers` does not declare.",
        "Fix: declare the provider, or correct the name.";
    EGRESS_UNKNOWN_PROXY = "egress-unknown-proxy", Error,
        "A client names an upstream that neither `egress.proxies` nor `egress.gateways` declares.",
        "`egress.clients.<name>.proxy` names a shared gluetun proxy or an egress gateway (their names never clash);\n\
         `gateway = \"<name>\"` names a gateway only.\n\n\
         Fix: declare the proxy (region) or the gateway, or correct the name.";
    EGRESS_UNKNOWN_SECRET = "egress-unknown-secret", Error,
        "A `credentials` (of a provider, proxy or sidecar) names a secret that `secrets` does not declare.",
        "The gluetuns read the WireGuard key (and the proxies the Shadowsocks password) from that Kubernetes Secret.\n\
         A provider's `credentials` is checked only when an instance takes its credentials from the provider.\n\n\
         Fix: declare `secrets.<name>` with its `file` and `keys`, or correct the name.";
    EGRESS_DUPLICATE_NAME = "egress-duplicate-name", Error,
        "Two egress declarations would generate the same thing.",
        "Names must be unique across `egress.proxies`, `egress.sidecars` and `egress.clients`, and two clients or\n\
         sidecars must not patch the same Deployment of the same namespace: the generated components and policies\n\
         would collide.\n\n\
         Fix: rename one of them.";
    EGRESS_UPSTREAM_PROTOCOL = "egress-upstream-protocol", Error,
        "A client's `protocol` is not one its upstream serves.",
        "A shared gluetun proxy serves HTTP CONNECT on 8888 and Shadowsocks on 8388 (not SOCKS5: gluetun v3.41 has\n\
         no SOCKS5 server; 8388 is Shadowsocks), and its settings to a `\"sidecar\"` client. An egress gateway\n\
         serves SOCKS5 on `socksPort`, and HTTP CONNECT only when it declares `httpPort`.\n\n\
         Fix: pick a protocol the upstream serves, go through the other backend (`proxy = \"<gateway>\"` for\n\
         SOCKS5), or give the gateway an `httpPort`.";
}
