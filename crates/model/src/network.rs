//! The network, as declared in `avalanche.network`.
use crate::{Cidr, Name};
use avalanche_diag::Span;
use std::collections::BTreeMap;

/// `as_str` of the enums written in Nix as one of a few names. Each type's `ALL`
/// table owns both directions: the decoder parses with it, `as_str` writes the name
/// back (for `VpnType` and `HealthCheck`, also the value gluetun reads:
/// `VPN_TYPE`, `HEALTH_SMALL_CHECK_TYPE`).
macro_rules! named_by_all {
    ($($ty:ident),* $(,)?) => {$(
        impl $ty {
            /// The name as written in Nix (its row of `ALL`).
            pub fn as_str(self) -> &'static str {
                $ty::ALL.iter().find(|(_, v)| *v == self).map_or("", |(s, _)| s)
            }

            /// Every name, in the order of `ALL` (the option's `lib.types.enum`).
            pub const NAMES: [&'static str; $ty::ALL.len()] = {
                let mut names = [""; $ty::ALL.len()];
                let mut i = 0;
                while i < names.len() {
                    names[i] = $ty::ALL[i].0;
                    i += 1;
                }
                names
            };
        }
    )*};
}

named_by_all!(
    Permission,
    NodeState,
    RecipientKind,
    Speaks,
    Role,
    VpnType,
    HealthCheck,
    TunDevice,
    ClientProtocol,
    SecretFormat,
    SecretsBackend,
    GitOps,
);

/// A value with the span of the Nix expression it was decoded from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written (`None` for defaults and `nix eval` input).
    pub span: Option<Span>,
}

impl<T> Spanned<T> {
    /// A value that was not written anywhere (a default).
    pub fn unspanned(value: T) -> Self {
        Spanned { value, span: None }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// `avalanche.network`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Network {
    /// `retired.<name>`: hosts that are gone and must leave no trace.
    pub retired: BTreeMap<Name, RetiredHost>,
    /// `tailscale`.
    pub tailscale: Tailscale,
    /// `egress`.
    pub egress: Egress,
    /// `secrets.<name>`.
    pub secrets: BTreeMap<Name, Secret>,
    /// `kubernetes`.
    pub kubernetes: Kubernetes,
    /// `domains`: the DNS domains the hosts are named under (`home.example.org`):
    /// `check` counts `<host>.<domain>` as naming a host.
    pub domains: Vec<Spanned<String>>,
    /// `sops`.
    pub sops: SopsSettings,
    /// `repository`.
    pub repository: Repository,
}

/// `sops`: who the age recipients of the repository's SOPS files are.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SopsSettings {
    /// `recipients.<name>`: declared keys that are not a host's (an admin's, CI's)
    /// or hosts' keys written under another name.
    pub recipients: BTreeMap<Name, SopsRecipient>,
}

/// `sops.recipients.<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct SopsRecipient {
    /// Where `sops.recipients.<name>` was written.
    pub span: Option<Span>,
    /// `age`: the recipient (`age1…`).
    pub age: Spanned<String>,
    /// `kind`: whose key it is.
    pub kind: Spanned<RecipientKind>,
}

/// Whose key a declared recipient is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientKind {
    /// A person's key.
    Admin,
    /// A CI system's key.
    Ci,
    /// A machine's key (when the anchor is not named after the host).
    Host,
}

impl RecipientKind {
    /// Every kind, as written in Nix.
    pub const ALL: [(&'static str, RecipientKind); 3] = [
        ("admin", RecipientKind::Admin),
        ("ci", RecipientKind::Ci),
        ("host", RecipientKind::Host),
    ];
}

/// `repository`: how the repository is laid out, where `check` cannot guess it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Repository {
    /// `hostDirs`: directories whose subdirectories are hosts (`infra/boxes` for
    /// `infra/boxes/<host>/`), besides the common layouts.
    pub host_dirs: Vec<Spanned<String>>,
}

impl Network {
    /// The upstream a client names: a proxy or a gateway of that name (`decode`
    /// refuses both at once), or `None` when neither is declared (or a proxy is
    /// named by `gateway = …`). The one place that resolves it: render, `check`,
    /// `status` and `graph` all ask here.
    pub fn upstream(&self, client: &Client) -> Option<Upstream<'_>> {
        let name = client.proxy.as_str();
        if !client.gateway
            && let Some((n, p)) = self.egress.proxies.get_key_value(name)
        {
            return Some(Upstream::Proxy(n, p));
        }
        self.egress
            .gateways
            .get_key_value(name)
            .map(|(n, g)| Upstream::Gateway(n, g))
    }

    /// Where one gluetun instance's credentials come from: its own `credentials` or
    /// `existingSecret`, else its provider's. The one place that decides it (render,
    /// `check`, `status` and the docs all call it), so that a new source of
    /// credentials is added here only.
    pub fn credentials<'a>(
        &'a self,
        own: Option<&'a Spanned<Name>>,
        own_existing: Option<&'a ExistingSecret>,
        provider: &'a Provider,
    ) -> Credentials<'a> {
        if let Some(existing) = own_existing {
            return Credentials::existing(existing, true);
        }
        if own.is_none()
            && let Some(existing) = &provider.existing_secret
        {
            return Credentials::existing(existing, false);
        }
        let reference = own.unwrap_or(&provider.credentials);
        Credentials {
            reference,
            own: own.is_some(),
            secret: self
                .secrets
                .get_key_value(reference.as_str())
                .map(|(n, s)| (n.as_str(), s)),
            existing: None,
        }
    }
}

/// What a client goes out through (see [`Network::upstream`]).
#[derive(Debug, Clone, Copy)]
pub enum Upstream<'a> {
    /// A shared gluetun proxy (`egress.proxies.<name>`).
    Proxy(&'a Name, &'a Proxy),
    /// An egress gateway (`egress.gateways.<name>`).
    Gateway(&'a Name, &'a Gateway),
}

impl Upstream<'_> {
    /// The upstream's name.
    pub fn name(&self) -> &str {
        match self {
            Upstream::Proxy(n, _) | Upstream::Gateway(n, _) => n.as_str(),
        }
    }

    /// Whether a client can use it with `protocol`: a gluetun proxy serves HTTP,
    /// Shadowsocks and its own settings for a sidecar, never SOCKS5 (v3.41 has no
    /// SOCKS5 server); a gateway serves SOCKS5, and HTTP when it has an `httpPort`.
    pub fn serves(&self, protocol: ClientProtocol) -> bool {
        match self {
            Upstream::Proxy(..) => protocol != ClientProtocol::Socks5,
            Upstream::Gateway(_, g) => match protocol {
                ClientProtocol::Socks5 => true,
                ClientProtocol::Http => g.http_port.is_some(),
                ClientProtocol::Shadowsocks | ClientProtocol::Sidecar => false,
            },
        }
    }
}

/// Where a gluetun instance's credentials come from (see [`Network::credentials`]).
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    /// The secret name as written: the instance's or the provider's `credentials`,
    /// or the `existingSecret`'s `name`.
    pub reference: &'a Spanned<Name>,
    /// Whether the instance names its own (`false`: inherited from its provider).
    pub own: bool,
    /// The declared secret, when it is declared (never for an `existingSecret`).
    pub secret: Option<(&'a str, &'a Secret)>,
    /// The Secret the cluster already has (`existingSecret`): nothing is sealed
    /// or generated for it.
    pub existing: Option<&'a ExistingSecret>,
}

impl<'a> Credentials<'a> {
    fn existing(existing: &'a ExistingSecret, own: bool) -> Credentials<'a> {
        Credentials {
            reference: &existing.name,
            own,
            secret: None,
            existing: Some(existing),
        }
    }

    /// The Kubernetes Secret the gluetun reads, when it resolves (a declared
    /// secret, or an existing one).
    pub fn secret_name(&self) -> Option<&'a str> {
        match (self.existing, self.secret) {
            (Some(e), _) => Some(e.name.as_str()),
            (None, Some((name, _))) => Some(name),
            (None, None) => None,
        }
    }

    /// The key of that Secret holding gluetun's variable `var`.
    pub fn key(&self, var: &'a str) -> &'a str {
        self.existing.map_or(var, |e| e.key(var))
    }

    /// The SOPS file KSOPS decrypts into the Secret: a declared secret of format
    /// `kubernetes` when the cluster has KSOPS (`kubernetes.secrets = "ksops"`).
    pub fn sops_file(&self, kubernetes: &Kubernetes) -> Option<&'a str> {
        let (_, secret) = self.secret?;
        (secret.format == SecretFormat::Kubernetes
            && kubernetes.secrets.value == SecretsBackend::Ksops)
            .then_some(secret.file.value.as_str())
    }
}

/// `existingSecret`: a Secret the cluster already has (made by ExternalSecrets,
/// sealed-secrets or by hand) holding a gluetun's credentials, referenced as it
/// is instead of sealing a new one.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingSecret {
    /// Where `existingSecret` was written.
    pub span: Option<Span>,
    /// `name`: the Secret's `metadata.name`, in the namespace of the gluetun.
    pub name: Spanned<Name>,
    /// `keys` (default `{ }`: each variable's own name): gluetun variable → the
    /// Secret's key holding it (`WIREGUARD_PRIVATE_KEY = "wg-key"`).
    pub keys: BTreeMap<String, Spanned<String>>,
}

impl ExistingSecret {
    /// The gluetun variables a credentials Secret can provide (the keys `keys`
    /// may map).
    pub const VARIABLES: [&'static str; 5] = [
        "WIREGUARD_PRIVATE_KEY",
        "WIREGUARD_ADDRESSES",
        "OPENVPN_USER",
        "OPENVPN_PASSWORD",
        "SHADOWSOCKS_PASSWORD",
    ];

    /// The Secret's key holding `var` (the variable's own name unless mapped).
    pub fn key<'a>(&'a self, var: &'a str) -> &'a str {
        self.keys.get(var).map_or(var, |k| k.value.as_str())
    }
}

/// A retired host.
#[derive(Debug, Clone, PartialEq)]
pub struct RetiredHost {
    /// Where `retired.<name>` was written.
    pub span: Option<Span>,
    /// What it was.
    pub description: String,
    /// Other names it went by.
    pub aliases: Vec<Spanned<Name>>,
    /// Its age recipients (`age1…`), to find it in SOPS files.
    pub age_recipients: Vec<Spanned<String>>,
    /// `addresses`: the IP addresses it had, found in firewall rules and policies.
    pub addresses: Vec<Spanned<std::net::IpAddr>>,
    /// What it cost per month.
    pub monthly_cost: f64,
    /// ISO currency code of `monthly_cost`.
    pub currency: String,
    /// `replacedBy`: what was bought instead (a cost of 0: nothing), so the
    /// savings `status` shows are net.
    pub replaced_by: Replacement,
    /// `renamedTo` (default none): the machine lives on under this name, with the
    /// same key. Its age recipients are then not leftovers, and it saves nothing.
    pub renamed_to: Option<Spanned<Name>>,
}

/// `retired.<name>.replacedBy`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Replacement {
    /// What replaced the host (default `""`).
    pub description: String,
    /// What the replacement costs per month (default 0: no replacement).
    pub monthly_cost: f64,
    /// ISO currency code of `monthly_cost` (default `EUR`).
    pub currency: String,
}

impl Replacement {
    /// The defaults: no replacement.
    pub fn none() -> Replacement {
        Replacement {
            description: String::new(),
            monthly_cost: crate::defaults::MONTHLY_COST,
            currency: crate::defaults::CURRENCY.to_owned(),
        }
    }
}

/// Whether a node runs (`"on"`) or is powered down (`"off"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Running (the default).
    On,
    /// Powered down: in the tailnet, but serving nothing.
    Off,
}

impl NodeState {
    /// Every state, as written in Nix.
    pub const ALL: [(&'static str, NodeState); 2] =
        [("on", NodeState::On), ("off", NodeState::Off)];
}

/// What an app's own network code speaks (`clients.<name>.speaks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaks {
    /// HTTP `CONNECT` through `HTTP_PROXY`/`HTTPS_PROXY`.
    HttpConnect,
    /// SOCKS5 (`ALL_PROXY=socks5://…`): no gluetun v3.41 server speaks it.
    Socks5,
    /// Shadowsocks.
    Shadowsocks,
}

impl Speaks {
    /// Every value, as written in Nix.
    pub const ALL: [(&'static str, Speaks); 3] = [
        ("http-connect", Speaks::HttpConnect),
        ("socks5", Speaks::Socks5),
        ("shadowsocks", Speaks::Shadowsocks),
    ];
}

/// `"forbidden"` or `"allowed"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Permission {
    /// Not allowed (the default).
    #[default]
    Forbidden,
    /// Allowed.
    Allowed,
}

impl Permission {
    /// Both, as written in Nix.
    pub const ALL: [(&'static str, Permission); 2] = [
        ("forbidden", Permission::Forbidden),
        ("allowed", Permission::Allowed),
    ];
}

/// `tailscale`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tailscale {
    /// `exitNodes`.
    pub exit_nodes: Spanned<Permission>,
    /// `kubernetesOperator`.
    pub kubernetes_operator: Spanned<Permission>,
    /// `nodes.<name>`.
    pub nodes: BTreeMap<Name, TailscaleNode>,
}

impl Tailscale {
    /// Prefixes advertised by more than one node, with those nodes in name order:
    /// Tailscale's high-availability subnet routers (one is primary, the others take
    /// over when it goes offline).
    pub fn failover_groups(&self) -> Vec<(Cidr, Vec<&Name>)> {
        let mut by_route: BTreeMap<String, (Cidr, Vec<&Name>)> = BTreeMap::new();
        for (name, node) in &self.nodes {
            for route in &node.advertise_routes {
                let cidr = route.value.canonical();
                let entry = by_route
                    .entry(cidr.to_string())
                    .or_insert_with(|| (cidr, Vec::new()));
                if !entry.1.contains(&name) {
                    entry.1.push(name);
                }
            }
        }
        by_route
            .into_values()
            .filter(|(_, nodes)| nodes.len() > 1)
            .collect()
    }
}

impl<T> Default for Spanned<Option<T>> {
    fn default() -> Self {
        Spanned::unspanned(None)
    }
}

impl Default for Spanned<Permission> {
    fn default() -> Self {
        Spanned::unspanned(Permission::Forbidden)
    }
}

/// A node's role in the tailnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Advertises `advertiseRoutes`.
    SubnetRouter,
    /// Advertises itself as an exit node (only when `exitNodes = "allowed"`).
    ExitNode,
    /// A workstation: accepts routes.
    Workstation,
    /// A server, usually tagged.
    Server,
    /// An unmanaged device (a phone): not a NixOS host of the flake.
    Device,
}

impl Role {
    /// Every role, as written in Nix.
    pub const ALL: [(&'static str, Role); 5] = [
        ("subnet-router", Role::SubnetRouter),
        ("exit-node", Role::ExitNode),
        ("workstation", Role::Workstation),
        ("server", Role::Server),
        ("device", Role::Device),
    ];

    /// False for devices: every other role needs a NixOS host in the flake.
    pub fn is_managed(self) -> bool {
        self != Role::Device
    }
}

/// `tailscale.nodes.<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct TailscaleNode {
    /// Where `nodes.<name>` was written.
    pub span: Option<Span>,
    /// `role`.
    pub role: Spanned<Role>,
    /// `advertiseRoutes` (default `[ ]`); may have host bits set: `check` reports it.
    pub advertise_routes: Vec<Spanned<Cidr>>,
    /// `tags` (default `[ ]`), each `tag:<name>`.
    pub tags: Vec<Spanned<String>>,
    /// `advertiseExitNode` (default `null`: as the role says, see [`TailscaleNode::exit_node`]).
    pub advertise_exit_node: Spanned<Option<bool>>,
    /// `acceptRoutes` (default `null`: as the role says, see [`TailscaleNode::accepts_routes`]).
    pub accept_routes: Spanned<Option<bool>>,
    /// `state` (default `"on"`): `"off"` for a powered-down machine.
    pub state: Spanned<NodeState>,
}

impl TailscaleNode {
    /// Whether the node offers itself as an exit node: `advertiseExitNode`, else
    /// its role's default ([`crate::defaults::EXIT_NODE_ROLES`]). A role is a
    /// shorthand; the capabilities combine (a subnet router can be an exit node).
    pub fn exit_node(&self) -> bool {
        self.advertise_exit_node
            .value
            .unwrap_or_else(|| crate::defaults::EXIT_NODE_ROLES.contains(&self.role.as_str()))
    }

    /// Whether the node uses the routes other nodes advertise: `acceptRoutes`,
    /// else its role's default ([`crate::defaults::ACCEPT_ROUTES_ROLES`]).
    pub fn accepts_routes(&self) -> bool {
        self.accept_routes
            .value
            .unwrap_or_else(|| crate::defaults::ACCEPT_ROUTES_ROLES.contains(&self.role.as_str()))
    }

    /// Where the node's exit-node capability was written: `advertiseExitNode`,
    /// else its role.
    pub fn exit_node_span(&self) -> Option<Span> {
        self.advertise_exit_node
            .span
            .or(self.role.span)
            .or(self.span)
    }
}

/// `egress`.
#[derive(Debug, Clone, PartialEq)]
pub struct Egress {
    /// `image` (default [`crate::defaults::GLUETUN_IMAGE`]).
    pub image: Spanned<String>,
    /// `tunDevice` (default `"host-device"`): how every gluetun gets `/dev/net/tun`
    /// unless its proxy or sidecar says otherwise.
    pub tun_device: TunDevice,
    /// `keepalive` (default `"25s"`): WireGuard persistent keepalive of every
    /// gluetun unless its proxy or sidecar says otherwise; `"0s"` turns it off.
    pub keepalive: Spanned<String>,
    /// `providers.<name>`.
    pub providers: BTreeMap<Name, Provider>,
    /// `proxies.<name>`: a shared gluetun Deployment per region in `vpn-proxy`.
    pub proxies: BTreeMap<Name, Proxy>,
    /// `sidecars.<name>`: an app with its own gluetun sidecar.
    pub sidecars: BTreeMap<Name, Sidecar>,
    /// `clients.<name>`: an app that goes out through a proxy.
    pub clients: BTreeMap<Name, Client>,
    /// `gateways.<name>`: a NixOS host whose SOCKS5 proxy goes out through its own
    /// WireGuard tunnel (the second egress backend, beside the gluetun proxies).
    pub gateways: BTreeMap<Name, Gateway>,
}

impl Egress {
    /// The gluetun release `image` names. `decode` refuses an image outside the
    /// table, so the fallback (the newest series of the table) is for hand-built models.
    pub fn version(&self) -> crate::gluetun::Version {
        crate::gluetun::image_version(&self.image.value).unwrap_or(crate::gluetun::LAST)
    }
}

impl Default for Egress {
    fn default() -> Self {
        Egress {
            image: Spanned::unspanned(crate::defaults::GLUETUN_IMAGE.to_owned()),
            tun_device: TunDevice::default(),
            keepalive: Spanned::unspanned(crate::defaults::KEEPALIVE.to_owned()),
            providers: BTreeMap::new(),
            proxies: BTreeMap::new(),
            sidecars: BTreeMap::new(),
            clients: BTreeMap::new(),
            gateways: BTreeMap::new(),
        }
    }
}

/// VPN protocol gluetun speaks to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VpnType {
    /// WireGuard (`WIREGUARD_PRIVATE_KEY`, `WIREGUARD_ADDRESSES`).
    Wireguard,
    /// OpenVPN (`OPENVPN_USER`, `OPENVPN_PASSWORD`).
    Openvpn,
}

impl VpnType {
    /// Every type, as written in Nix.
    pub const ALL: [(&'static str, VpnType); 2] = [
        ("wireguard", VpnType::Wireguard),
        ("openvpn", VpnType::Openvpn),
    ];
}

/// `egress.providers.<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// Where `providers.<name>` was written.
    pub span: Option<Span>,
    /// `service`: gluetun's `VPN_SERVICE_PROVIDER` (default: the provider's name).
    pub service: Spanned<String>,
    /// `type` (default `"wireguard"`).
    pub vpn_type: Spanned<VpnType>,
    /// `credentials`: the declared secret holding the keys (default: the provider's name).
    pub credentials: Spanned<Name>,
    /// `existingSecret` (default none): a Secret the cluster already has, used
    /// instead of `credentials`.
    pub existing_secret: Option<ExistingSecret>,
}

/// gluetun's small health check: ICMP needs `NET_RAW`, DNS does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthCheck {
    /// `HEALTH_SMALL_CHECK_TYPE=icmp` (needs `NET_RAW`).
    Icmp,
    /// `HEALTH_SMALL_CHECK_TYPE=dns` (the default here: one capability fewer).
    Dns,
}

impl HealthCheck {
    /// Every value, as written in Nix.
    pub const ALL: [(&'static str, HealthCheck); 2] =
        [("icmp", HealthCheck::Icmp), ("dns", HealthCheck::Dns)];
}

/// How a gluetun container gets `/dev/net/tun`: gluetun opens it at start and,
/// when it is missing (always, in a Kubernetes container), creates it with `mknod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TunDevice {
    /// The node's `/dev/net/tun` mounted as a `hostPath` volume of type `CharDevice`
    /// (the default): no extra capability.
    #[default]
    HostDevice,
    /// The `MKNOD` capability: gluetun creates the node itself.
    Mknod,
    /// A privileged container: the host's devices, every capability.
    Privileged,
}

impl TunDevice {
    /// Every value, as written in Nix.
    pub const ALL: [(&'static str, TunDevice); 3] = [
        ("host-device", TunDevice::HostDevice),
        ("mknod", TunDevice::Mknod),
        ("privileged", TunDevice::Privileged),
    ];
}

/// `egress.proxies.<name>`: one region.
#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    /// Where `proxies.<name>` was written.
    pub span: Option<Span>,
    /// `provider`: a key of `egress.providers`.
    pub provider: Spanned<Name>,
    /// `countries`: gluetun `SERVER_COUNTRIES`.
    pub countries: Vec<Spanned<String>>,
    /// `replicas` (default 1).
    pub replicas: u32,
    /// `healthCheck` (default `"dns"`).
    pub health_check: HealthCheck,
    /// `tunDevice` (default: `egress.tunDevice`).
    pub tun_device: Option<TunDevice>,
    /// `keepalive` (default: `egress.keepalive`).
    pub keepalive: Option<Spanned<String>>,
    /// `credentials`: the declared secret with this instance's own keys (default:
    /// its provider's `credentials`).
    pub credentials: Option<Spanned<Name>>,
    /// `existingSecret` (default none): a Secret the cluster already has with this
    /// instance's own keys, used instead of `credentials`.
    pub existing_secret: Option<ExistingSecret>,
    /// `controlServer` (default `"127.0.0.1:8000"`): gluetun's control server
    /// address (`HTTP_CONTROL_SERVER_ADDRESS`); its default role may stop the VPN.
    pub control_server: Spanned<String>,
}

/// `egress.sidecars.<name>`: an app that keeps its own gluetun as a native sidecar.
#[derive(Debug, Clone, PartialEq)]
pub struct Sidecar {
    /// Where `sidecars.<name>` was written.
    pub span: Option<Span>,
    /// `namespace`.
    pub namespace: Spanned<Name>,
    /// `deployment`: the app's Deployment to patch (default: the sidecar's name).
    pub deployment: Spanned<Name>,
    /// `provider`: a key of `egress.providers`.
    pub provider: Spanned<Name>,
    /// `countries`.
    pub countries: Vec<Spanned<String>>,
    /// `portForwarding` (default `false`): `VPN_PORT_FORWARDING=on`.
    pub port_forwarding: bool,
    /// `inputPorts` (default `[ ]`): the app's own listening ports, for `FIREWALL_INPUT_PORTS`.
    pub input_ports: Vec<Spanned<u16>>,
    /// `forwardedPortTo` (default none): who learns the forwarded port, through
    /// `VPN_PORT_FORWARDING_UP_COMMAND` (the provider changes it on every connection).
    pub forwarded_port_to: Option<Spanned<PortTarget>>,
    /// `healthCheck` (default `"dns"`).
    pub health_check: HealthCheck,
    /// `tunDevice` (default: `egress.tunDevice`).
    pub tun_device: Option<TunDevice>,
    /// `keepalive` (default: `egress.keepalive`).
    pub keepalive: Option<Spanned<String>>,
    /// `credentials`: the declared secret with this instance's own keys (default:
    /// its provider's `credentials`).
    pub credentials: Option<Spanned<Name>>,
    /// `existingSecret` (default none): a Secret the cluster already has with this
    /// instance's own keys, used instead of `credentials`.
    pub existing_secret: Option<ExistingSecret>,
    /// `controlServer` (default `"127.0.0.1:8000"`): gluetun's control server
    /// address (`HTTP_CONTROL_SERVER_ADDRESS`); its default role may stop the VPN.
    pub control_server: Spanned<String>,
}

/// `egress.sidecars.<name>.forwardedPortTo`: what gluetun runs when the provider
/// hands out a port.
#[derive(Debug, Clone, PartialEq)]
pub enum PortTarget {
    /// `{ app = "qbittorrent"; webUIPort = 8080; }`: its Web API sets
    /// `listen_port` (the WebUI must let localhost in without a password).
    Qbittorrent {
        /// `webUIPort` (default [`crate::defaults::QBITTORRENT_WEBUI_PORT`]).
        web_ui_port: u16,
    },
    /// `{ command = "…"; downCommand = "…"; }`: run as written; gluetun substitutes
    /// `{{PORT}}`, `{{PORTS}}` and `{{VPN_INTERFACE}}`.
    Command {
        /// `command`: `VPN_PORT_FORWARDING_UP_COMMAND`, run with each new port.
        up: String,
        /// `downCommand` (default none): `VPN_PORT_FORWARDING_DOWN_COMMAND`, run with
        /// the old ports when port forwarding stops.
        down: Option<String>,
    },
}

impl PortTarget {
    /// Every `app`, as written in Nix.
    pub const APPS: [&'static str; 1] = ["qbittorrent"];
}

/// How a client reaches its proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientProtocol {
    /// `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` environment.
    Http,
    /// Shadowsocks on 8388 (the app speaks it itself).
    Shadowsocks,
    /// Its own gluetun as a native sidecar.
    Sidecar,
    /// `ALL_PROXY=socks5h://…`: only an egress gateway serves SOCKS5 (gluetun v3.41
    /// has no SOCKS5 server).
    Socks5,
}

impl ClientProtocol {
    /// Every protocol, as written in Nix.
    pub const ALL: [(&'static str, ClientProtocol); 4] = [
        ("http", ClientProtocol::Http),
        ("shadowsocks", ClientProtocol::Shadowsocks),
        ("sidecar", ClientProtocol::Sidecar),
        ("socks5", ClientProtocol::Socks5),
    ];
}

/// `egress.clients.<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// Where `clients.<name>` was written.
    pub span: Option<Span>,
    /// `namespace`.
    pub namespace: Spanned<Name>,
    /// `deployment`: the app's Deployment to patch (default: the client's name).
    pub deployment: Spanned<Name>,
    /// `proxy` (or `gateway`): the upstream's name, a key of `egress.proxies` or of
    /// `egress.gateways` (the two never share a name); see [`Network::upstream`].
    pub proxy: Spanned<Name>,
    /// `gateway`: set instead of `proxy` (whose field then holds its value), the
    /// upstream must be a gateway.
    pub gateway: bool,
    /// `protocol` (default `"http"`).
    pub protocol: Spanned<ClientProtocol>,
    /// `enforce` (default `false`): an egress NetworkPolicy makes the proxy its only way out.
    pub enforce: bool,
    /// `podLabels`: labels selecting the app's pods (default
    /// `{ "app.kubernetes.io/name" = <name>; }`).
    pub pod_labels: BTreeMap<String, String>,
    /// `allowedDestinations` (default `[ ]`): what an `enforce`d client may reach
    /// directly besides its proxy and DNS (its in-cluster dependencies, LAN hosts).
    pub allowed_destinations: Vec<Spanned<Destination>>,
    /// `speaks` (default none: not judged): the proxy protocols the app itself
    /// can use; `protocol` must be one of them for the proxy to carry its traffic.
    pub speaks: Option<Spanned<Vec<Speaks>>>,
}

/// What every proxy client reaches without its proxy: the loopback names and addresses.
pub const NO_PROXY_LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

impl Client {
    /// `NO_PROXY` of an `enforce`d client: exactly what its fence lets it reach
    /// directly besides its proxy and DNS ([`NO_PROXY_LOOPBACK`], then each
    /// declared destination's [`Destination::no_proxy_names`]), so an in-cluster
    /// name it was not allowed goes to the proxy and fails visibly there instead of
    /// being sent direct and dropped silently by the NetworkPolicy.
    pub fn enforced_no_proxy(&self, cluster_domain: &str) -> Vec<String> {
        let mut out: Vec<String> = NO_PROXY_LOOPBACK.iter().map(|s| (*s).to_owned()).collect();
        for d in &self.allowed_destinations {
            out.extend(
                d.value
                    .no_proxy_names(self.namespace.value.as_str(), cluster_domain),
            );
        }
        out
    }
}

/// `egress.clients.<name>.allowedDestinations.*`: one more way out of an
/// enforced client's egress fence.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// `{ namespace = "irc"; podLabels = { … }; ports = [ … ]; services = [ … ]; }`:
    /// pods (all of the namespace unless `podLabels` says which), on `ports` (TCP;
    /// none: all).
    Pods {
        /// `namespace`.
        namespace: Name,
        /// `podLabels` (default `{ }`: every pod of the namespace).
        pod_labels: BTreeMap<String, String>,
        /// `ports`.
        ports: Vec<u16>,
        /// `services` (default `[ ]`): the Services of `namespace` in front of these
        /// pods. Their DNS names are what an enforced HTTP client's `NO_PROXY` sends
        /// direct (pods have no stable address to list); see [`Destination::no_proxy_names`].
        services: Vec<Name>,
    },
    /// `{ cidr = "192.168.1.0/24"; ports = [ … ]; }`: addresses outside the
    /// cluster (a NetworkPolicy `ipBlock` does not reliably select pods or
    /// Service addresses), on `ports` (TCP; none: all).
    Cidr {
        /// `cidr`.
        cidr: Cidr,
        /// `ports`.
        ports: Vec<u16>,
    },
}

impl Destination {
    /// The `NO_PROXY` entries this destination adds for a client in `client_namespace`:
    /// a CIDR as written; for each declared Service `<svc>` of namespace `<ns>`,
    /// `<svc>.<ns>`, `<svc>.<ns>.svc` and `<svc>.<ns>.svc.<cluster_domain>`, and the
    /// bare `<svc>` only from the same namespace (elsewhere it names the client's
    /// own namespace's Service) and only when it is no label of `svc.<cluster_domain>`
    /// (`NO_PROXY` matches suffixes: a Service named `svc` or `local` would send
    /// every in-cluster name direct).
    pub fn no_proxy_names(&self, client_namespace: &str, cluster_domain: &str) -> Vec<String> {
        match self {
            Destination::Cidr { cidr, .. } => vec![cidr.to_string()],
            Destination::Pods {
                namespace,
                services,
                ..
            } => {
                let mut out = Vec::with_capacity(services.len() * 4);
                for svc in services {
                    let (svc, ns) = (svc.as_str(), namespace.as_str());
                    let suffix_label =
                        svc == "svc" || cluster_domain.split('.').any(|label| label == svc);
                    if ns == client_namespace && !suffix_label {
                        out.push(svc.to_owned());
                    }
                    out.push(format!("{svc}.{ns}"));
                    out.push(format!("{svc}.{ns}.svc"));
                    out.push(format!("{svc}.{ns}.svc.{cluster_domain}"));
                }
                out
            }
        }
    }
}

/// An egress gateway: a NixOS host of the flake running a SOCKS5 proxy as a
/// dedicated user whose packets leave only through a WireGuard tunnel.
#[derive(Debug, Clone, PartialEq)]
pub struct Gateway {
    /// Where `gateways.<name>` was written.
    pub span: Option<Span>,
    /// `host`: the NixOS host (`nixosConfigurations.<host>`) that runs it.
    pub host: Spanned<Name>,
    /// `listen`: the LAN address the proxy listens on (and the only one it admits at).
    pub listen: Spanned<std::net::IpAddr>,
    /// `socksPort` (default [`crate::defaults::GATEWAY_SOCKS_PORT`]).
    pub socks_port: u16,
    /// `httpPort` (default none): an HTTP CONNECT proxy (tinyproxy) on the listen
    /// address, for `protocol = "http"` clients.
    pub http_port: Option<Spanned<u16>>,
    /// `interface`: the WireGuard interface (default `wg-<name>`, at most 15 bytes).
    pub interface: Spanned<String>,
    /// `tunnel`: the WireGuard peer.
    pub tunnel: GatewayTunnel,
    /// `allowedClients`: the networks admitted to the proxy (`None`: the pod CIDR
    /// and `kubernetes.nodeCIDRs`).
    pub allowed_clients: Option<Vec<Spanned<Cidr>>>,
    /// `routingTable`: the table of the tunnel default route.
    pub routing_table: Spanned<u32>,
    /// `fwmark`: the proxy user's mark (the WireGuard socket's is `fwmark + 1`).
    pub fwmark: Spanned<u32>,
    /// `monitoring`: the WireGuard exporter and its alerts.
    pub monitoring: bool,
}

/// `gateways.<name>.tunnel`: the WireGuard peer of a gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayTunnel {
    /// `endpoint`: `host:port` of the peer.
    pub endpoint: Spanned<String>,
    /// `publicKey`: the peer's public key (base64, 44 characters).
    pub public_key: Spanned<String>,
    /// `address`: this side's tunnel addresses with their prefixes (`10.99.0.2/32`;
    /// one string or a non-empty list, e.g. an IPv4 and an IPv6 address).
    pub address: Vec<Spanned<Cidr>>,
    /// `persistentKeepalive` in seconds, 0 for none (default
    /// [`crate::defaults::GATEWAY_PERSISTENT_KEEPALIVE`]).
    pub persistent_keepalive: u16,
    /// `mtu` (default [`crate::defaults::GATEWAY_MTU`]).
    pub mtu: u16,
    /// `privateKeySecret`: the declared secret (sops-nix on the host) holding the
    /// private key, its first key.
    pub private_key_secret: Spanned<Name>,
}

/// Shape of a declared secret's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretFormat {
    /// A Kubernetes `Secret` (`stringData`), decrypted by KSOPS.
    Kubernetes,
    /// A plain YAML map, for sops-nix on a host.
    Plain,
}

impl SecretFormat {
    /// Every format, as written in Nix.
    pub const ALL: [(&'static str, SecretFormat); 2] = [
        ("kubernetes", SecretFormat::Kubernetes),
        ("plain", SecretFormat::Plain),
    ];
}

/// `secrets.<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    /// Where `secrets.<name>` was written.
    pub span: Option<Span>,
    /// `format` (default `"kubernetes"`).
    pub format: SecretFormat,
    /// `file`: repo-relative path of the SOPS file.
    pub file: Spanned<String>,
    /// `keys`: the keys it holds.
    pub keys: Vec<Spanned<String>>,
    /// `namespace` (default none: the kustomization's namespace applies).
    pub namespace: Option<Name>,
}

/// `kubernetes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Kubernetes {
    /// `dir` (default `"kubernetes"`).
    pub dir: String,
    /// `podCIDR` (default `10.42.0.0/16`, k3s).
    pub pod_cidr: Spanned<Cidr>,
    /// `serviceCIDR` (default `10.43.0.0/16`, k3s).
    pub service_cidr: Spanned<Cidr>,
    /// `nodeCIDRs` (default `[ ]`): the networks the nodes have addresses in. Pods
    /// reach hosts outside the cluster from these when the CNI masquerades
    /// (k3s' flannel does), so a gateway admits them by default.
    pub node_cidrs: Vec<Spanned<Cidr>>,
    /// `clusterDomain` (default `cluster.local`).
    pub cluster_domain: String,
    /// `dnsServiceIP` (default none: see [`Kubernetes::dns_service_ip`]): the
    /// cluster DNS Service's ClusterIP, which the proxies' gluetun may reach.
    pub dns_service_ip: Option<Spanned<std::net::IpAddr>>,
    /// `gitops` (default `"argocd"`): what deploys the generated tree.
    pub gitops: Spanned<GitOps>,
    /// `argocd` (read when `gitops` is `"argocd"`).
    pub argocd: ArgoCd,
    /// `flux` (read when `gitops` is `"flux"`).
    pub flux: Flux,
    /// `layout`: where the apps' manifests and the generated trees are.
    pub layout: Layout,
    /// `monitoring`.
    pub monitoring: Monitoring,
    /// `verification.enable` (default `false`): a Job that proves the egress.
    pub verification: bool,
    /// `secrets` (default `"ksops"`): whether Argo CD decrypts SOPS files with KSOPS.
    pub secrets: Spanned<SecretsBackend>,
}

/// `kubernetes.secrets`: how the cluster gets Secrets from the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsBackend {
    /// Argo CD runs KSOPS: declared secrets are sealed SOPS files and a KSOPS
    /// generator makes the Secret (the default).
    Ksops,
    /// No KSOPS: Secrets come from elsewhere (ExternalSecrets, sealed-secrets):
    /// credentials are `existingSecret`s, no SOPS file or generator is rendered.
    None,
}

impl SecretsBackend {
    /// Every value, as written in Nix.
    pub const ALL: [(&'static str, SecretsBackend); 2] = [
        ("ksops", SecretsBackend::Ksops),
        ("none", SecretsBackend::None),
    ];
}

/// `kubernetes.argocd`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgoCd {
    /// `namespace` (default `argocd`).
    pub namespace: String,
    /// `project` (default `default`).
    pub project: String,
    /// `repoURL`.
    pub repo_url: String,
    /// `targetRevision` (default `main`).
    pub target_revision: String,
    /// `registerIn` (default none): the repository's app-of-apps
    /// `kustomization.yaml` (repo-relative), where `build` registers the generated
    /// Application, which is then written next to it. When unset, `build` looks for
    /// one kustomization listing `*-app.yaml` files.
    pub register_in: Option<Spanned<String>>,
}

/// `kubernetes.gitops`: the engine that deploys the repository. It decides what
/// registers the generated tree (an Argo CD `Application` or a Flux
/// `Kustomization`) and who decrypts the SOPS-encrypted Secrets (KSOPS in Argo
/// CD's repo-server, or Flux's kustomize-controller natively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GitOps {
    /// Argo CD (the default): an `Application`, KSOPS generators.
    #[default]
    ArgoCd,
    /// Flux v2: a `kustomize.toolkit.fluxcd.io/v1` `Kustomization` with SOPS
    /// decryption; the encrypted Secrets are plain resources.
    Flux,
    /// No engine: plain manifests the user applies (`kubectl apply -k`);
    /// nothing registers the tree, and `kubernetes.secrets` alone decides how
    /// the Secrets are made.
    None,
}

impl GitOps {
    /// Every engine, as written in Nix.
    pub const ALL: [(&'static str, GitOps); 3] = [
        ("argocd", GitOps::ArgoCd),
        ("flux", GitOps::Flux),
        ("none", GitOps::None),
    ];

    /// The product's name, for messages (`Argo CD`, `Flux`).
    pub fn product(self) -> &'static str {
        match self {
            GitOps::ArgoCd => "Argo CD",
            GitOps::Flux => "Flux",
            GitOps::None => "kubectl",
        }
    }

    /// What registers a tree with this engine, for messages (`None`: nothing
    /// does, the user applies it).
    pub fn registration(self) -> Option<&'static str> {
        match self {
            GitOps::ArgoCd => Some("Argo CD Application"),
            GitOps::Flux => Some("Flux Kustomization"),
            GitOps::None => None,
        }
    }
}

/// `kubernetes.flux`.
#[derive(Debug, Clone, PartialEq)]
pub struct Flux {
    /// `namespace` (default `flux-system`): of the generated `Kustomization`.
    pub namespace: String,
    /// `sourceRef.kind` (default `GitRepository`).
    pub source_kind: String,
    /// `sourceRef.name` (default `flux-system`, what `flux bootstrap` makes).
    pub source_name: String,
    /// `interval` (default `10m`).
    pub interval: String,
    /// `decryptionSecret` (default `sops-age`): the Secret in `namespace` holding
    /// the age key kustomize-controller decrypts with.
    pub decryption_secret: String,
    /// `registerIn` (default none: detected): the repository directory Flux
    /// applies the cluster's `Kustomization`s from (`clusters/<name>`), where the
    /// generated one is written.
    pub register_in: Option<Spanned<String>>,
}

impl Default for Flux {
    fn default() -> Self {
        use crate::defaults as d;
        Flux {
            namespace: d::FLUX_NAMESPACE.to_owned(),
            source_kind: d::FLUX_SOURCE_KIND.to_owned(),
            source_name: d::FLUX_SOURCE_NAME.to_owned(),
            interval: d::FLUX_INTERVAL.to_owned(),
            decryption_secret: d::FLUX_DECRYPTION_SECRET.to_owned(),
            register_in: d::FLUX_REGISTER_IN.map(|p| Spanned::unspanned(p.to_owned())),
        }
    }
}

/// `kubernetes.layout`: where things are, relative to `kubernetes.dir` (see
/// [`crate::layout`], which turns these into paths).
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// `apps` (default `base/apps/{namespace}/{app}`): where an app's manifests
    /// are, with `{namespace}` and `{app}` placeholders. A directory (holding the
    /// app's `kustomization.yaml`), or a flat manifest ending in `.yaml`/`.yml`.
    pub apps: Spanned<String>,
    /// `proxies` (default `base/infra/network/vpn-proxy`): the shared proxies' tree.
    pub proxies: String,
    /// `egress` (default `vpn-egress/{app}`): where the egress Component of an
    /// app with a flat manifest goes (an app directory keeps its own in
    /// `<app>/vpn-egress`).
    pub egress: Spanned<String>,
}

impl Default for Layout {
    fn default() -> Self {
        use crate::defaults as d;
        Layout {
            apps: Spanned::unspanned(d::LAYOUT_APPS.to_owned()),
            proxies: d::LAYOUT_PROXIES.to_owned(),
            egress: Spanned::unspanned(d::LAYOUT_EGRESS.to_owned()),
        }
    }
}

/// `kubernetes.monitoring`.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitoring {
    /// `enable` (default `false`).
    pub enable: bool,
    /// `prober`: `host:port` of the blackbox exporter probing the gateways' proxies
    /// (default [`crate::defaults::MONITORING_PROBER`]).
    pub prober: String,
    /// `proberModule`: its TCP module (default [`crate::defaults::MONITORING_PROBER_MODULE`]).
    pub prober_module: String,
}

impl Default for Monitoring {
    fn default() -> Self {
        use crate::defaults as d;
        Monitoring {
            enable: d::MONITORING,
            prober: d::MONITORING_PROBER.to_owned(),
            prober_module: d::MONITORING_PROBER_MODULE.to_owned(),
        }
    }
}

impl Kubernetes {
    /// The cluster DNS Service's ClusterIP: `dnsServiceIP`, else the tenth address
    /// of `serviceCIDR` (k3s' `10.43.0.10`, kubeadm's `10.96.0.10`: both give
    /// kube-dns that address by convention).
    pub fn dns_service_ip(&self) -> std::net::IpAddr {
        if let Some(ip) = &self.dns_service_ip {
            return ip.value;
        }
        let net = self.service_cidr.value.0.trunc();
        match net.network() {
            std::net::IpAddr::V4(a) => std::net::IpAddr::V4(u32::from(a).saturating_add(10).into()),
            std::net::IpAddr::V6(a) => {
                std::net::IpAddr::V6(u128::from(a).saturating_add(10).into())
            }
        }
    }
}

impl Default for Kubernetes {
    fn default() -> Self {
        use crate::defaults as d;
        let cidr =
            |s: &str| Spanned::unspanned(Cidr::parse(s).unwrap_or_else(|e| unreachable!("{e}")));
        Kubernetes {
            dir: d::KUBERNETES_DIR.to_owned(),
            pod_cidr: cidr(d::POD_CIDR),
            service_cidr: cidr(d::SERVICE_CIDR),
            node_cidrs: Vec::new(),
            cluster_domain: d::CLUSTER_DOMAIN.to_owned(),
            dns_service_ip: None,
            gitops: Spanned::unspanned(GitOps::default()),
            argocd: ArgoCd::default(),
            flux: Flux::default(),
            layout: Layout::default(),
            monitoring: Monitoring::default(),
            verification: d::VERIFICATION,
            secrets: Spanned::unspanned(
                SecretsBackend::ALL
                    .iter()
                    .find(|(n, _)| *n == d::KUBERNETES_SECRETS)
                    .map_or(SecretsBackend::Ksops, |(_, b)| *b),
            ),
        }
    }
}

impl Default for ArgoCd {
    fn default() -> Self {
        use crate::defaults as d;
        ArgoCd {
            namespace: d::ARGOCD_NAMESPACE.to_owned(),
            project: d::ARGOCD_PROJECT.to_owned(),
            repo_url: d::ARGOCD_REPO_URL.to_owned(),
            target_revision: d::ARGOCD_TARGET_REVISION.to_owned(),
            register_in: d::ARGOCD_REGISTER_IN.map(|p| Spanned::unspanned(p.to_owned())),
        }
    }
}
