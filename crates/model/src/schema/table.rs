//! The table: every option of `avalanche.network`, its type, default, example and
//! description. Defaults are the constants of [`crate::defaults`]; enums are the
//! `NAMES` of the model's types. Descriptions are Markdown, one paragraph each.
//!
//! Each group lists its options in the order the decoder names them in its messages.

use super::Default::{Computed, Is, Required};
use super::Ty::*;
use super::{Group, Lit, Opt};
use crate::defaults as d;
use crate::network::{
    ClientProtocol, GitOps, HealthCheck, NodeState, Permission, PortTarget, RecipientKind, Role,
    SecretFormat, SecretsBackend, Speaks, TunDevice, VpnType,
};

/// The kinds of Flux source a `Kustomization` may name (`spec.sourceRef.kind`).
pub const FLUX_SOURCE_KINDS: [&str; 3] = ["GitRepository", "OCIRepository", "Bucket"];

/// A `nested.set` of options: no option itself.
const fn group(name: &'static str, group: &'static Group) -> Opt {
    Opt {
        name,
        ty: Group(group),
        default: Required,
        example: None,
        description: "",
    }
}

/// `avalanche.network` itself.
pub static NETWORK: Group = Group::new(
    "network",
    &[
        Opt {
            name: "retired",
            ty: AttrsOf(&Submodule(&RETIRED)),
            default: Is(Lit::Attrs(&[])),
            example: Some(
                r#"{
  oldbox = {
    description = "Rented cloud server, once the Tailscale exit node";
    aliases = [ "cloudbox" ];
    monthlyCost = 4.49;
  };
}"#,
            ),
            description: "Hosts that are gone and must leave no trace (`avalanche-net check` hunts for them).",
        },
        group("tailscale", &TAILSCALE),
        group("egress", &EGRESS),
        Opt {
            name: "secrets",
            ty: AttrsOf(&Submodule(&SECRET)),
            default: Is(Lit::Attrs(&[])),
            example: Some(
                r#"{
  protonvpn = {
    file = "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml";
    keys = [ "WIREGUARD_PRIVATE_KEY" "WIREGUARD_ADDRESSES" ];
  };
}"#,
            ),
            description: "SOPS-encrypted secrets (`avalanche-net secrets seal NAME`), by name.",
        },
        group("kubernetes", &KUBERNETES),
        Opt {
            name: "domains",
            ty: ListOf(&Str),
            default: Is(Lit::List(&[])),
            example: Some(r#"[ "home.example.org" ]"#),
            description: "DNS domains the hosts are named under: `check` counts `<host>.<domain>` as naming a \
                host (a retired host's name alone is weak evidence when it is a common word).",
        },
        group("sops", &SOPS),
        group("repository", &REPOSITORY),
    ],
);

/// `retired.<name>`.
pub static RETIRED: Group = Group::new(
    "retiredHost",
    &[
        Opt {
            name: "description",
            ty: Str,
            default: Required,
            example: Some(r#""Rented cloud server, once the Tailscale exit node""#),
            description: "What the host was (shown by `avalanche-net status`).",
        },
        Opt {
            name: "aliases",
            ty: ListOf(&DnsLabel),
            default: Is(Lit::List(&[])),
            example: Some(r#"[ "cloudbox" ]"#),
            description: "Other names the host went by; `check` looks for them too.",
        },
        Opt {
            name: "ageRecipients",
            ty: ListOf(&Str),
            default: Is(Lit::List(&[])),
            example: Some(
                r#"[ "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq" ]"#,
            ),
            description: "The host's age recipients (`age1…`): `check` finds SOPS files it can still decrypt \
                and `.sops.yaml` rules that still name it.",
        },
        Opt {
            name: "addresses",
            ty: ListOf(&Str),
            default: Is(Lit::List(&[])),
            example: Some(r#"[ "10.1.0.20" "100.101.102.103" ]"#),
            description: "The IP addresses the host had (LAN, tailnet): `check` finds them where a name would \
                not show, in firewall rules, egress policies and DNS records.",
        },
        Opt {
            name: "monthlyCost",
            ty: Number,
            default: Is(Lit::Float(d::MONTHLY_COST)),
            example: Some("4.49"),
            description: "What the host cost per month, in `currency` (for the savings in `status`).",
        },
        Opt {
            name: "currency",
            ty: Str,
            default: Is(Lit::Str(d::CURRENCY)),
            example: Some(r#""CHF""#),
            description: "ISO 4217 code of `monthlyCost`.",
        },
        group("replacedBy", &REPLACEMENT),
        Opt {
            name: "renamedTo",
            ty: NullOr(&DnsLabel),
            default: Is(Lit::Null),
            example: Some(r#""chipmunk""#),
            description: "The machine lives on under this name with the same key: the old name is gone, but \
                its age recipients are not leftovers, and it saves nothing.",
        },
    ],
);

/// `retired.<name>.replacedBy`.
pub static REPLACEMENT: Group = Group::new(
    "replacedBy",
    &[
        Opt {
            name: "description",
            ty: Str,
            default: Is(Lit::Str("")),
            example: Some(r#""Raspberry Pi 5 at home""#),
            description: "What was bought to replace the host (shown by `avalanche-net status`).",
        },
        Opt {
            name: "monthlyCost",
            ty: Number,
            default: Is(Lit::Float(d::MONTHLY_COST)),
            example: Some("3.79"),
            description: "What the replacement costs per month (0: nothing replaced it); `status` shows net \
                savings.",
        },
        Opt {
            name: "currency",
            ty: Str,
            default: Is(Lit::Str(d::CURRENCY)),
            example: Some(r#""CHF""#),
            description: "ISO 4217 code of the replacement's `monthlyCost`.",
        },
    ],
);

/// `tailscale`.
pub static TAILSCALE: Group = Group::new(
    "tailscale",
    &[
        Opt {
            name: "exitNodes",
            ty: Enum(&Permission::NAMES),
            default: Is(Lit::Str(d::PERMISSION)),
            example: Some(r#""allowed""#),
            description: "Whether a node may have the role `exit-node`.",
        },
        Opt {
            name: "kubernetesOperator",
            ty: Enum(&Permission::NAMES),
            default: Is(Lit::Str(d::PERMISSION)),
            example: Some(r#""allowed""#),
            description: "Whether the Tailscale Kubernetes operator may appear under `kubernetes.dir`.",
        },
        Opt {
            name: "nodes",
            ty: AttrsOf(&Submodule(&NODE)),
            default: Is(Lit::Attrs(&[])),
            example: Some(
                r#"{
  routy = { role = "subnet-router"; advertiseRoutes = [ "10.1.0.0/24" ]; };
  calypso.role = "workstation";
  mysecrets = { role = "server"; tags = [ "tag:infra" ]; };
  phone.role = "device";
}"#,
            ),
            description: "The tailnet's nodes, by host name (`networking.hostName` for NixOS hosts).",
        },
    ],
);

/// `tailscale.nodes.<name>`.
pub static NODE: Group = Group::new(
    "tailscaleNode",
    &[
        Opt {
            name: "role",
            ty: Enum(&Role::NAMES),
            default: Required,
            example: Some(r#""subnet-router""#),
            description: "The node's role. `subnet-router` advertises `advertiseRoutes`; `exit-node` is only \
                allowed with `tailscale.exitNodes = \"allowed\"`; `workstation` accepts routes; \
                `server` advertises its `tags`; `device` is not a NixOS host of this flake (a \
                phone). Every role but `device` needs a host of its name with \
                `nixosModules.tailscale`.",
        },
        Opt {
            name: "advertiseRoutes",
            ty: ListOf(&Cidr),
            default: Is(Lit::List(&[])),
            example: Some(r#"[ "10.1.0.0/24" ]"#),
            description: "Routes a subnet router advertises (`--advertise-routes`). Canonical CIDRs (no host \
                bits), outside Tailscale's 100.64.0.0/10.",
        },
        Opt {
            name: "tags",
            ty: ListOf(&TailscaleTag),
            default: Is(Lit::List(&[])),
            example: Some(r#"[ "tag:infra" ]"#),
            description: "ACL tags the node advertises at first login (`--advertise-tags`).",
        },
        Opt {
            name: "advertiseExitNode",
            ty: NullOr(&Bool),
            default: Is(Lit::Null),
            example: Some("true"),
            description: "Whether the node offers itself as an exit node (`--advertise-exit-node`), whatever \
                its role; `null` leaves it to the role (only `exit-node` is one). Only allowed with \
                `tailscale.exitNodes = \"allowed\"`. Capabilities combine: a `subnet-router` with \
                `advertiseExitNode = true` and `tags` is all three.",
        },
        Opt {
            name: "acceptRoutes",
            ty: NullOr(&Bool),
            default: Is(Lit::Null),
            example: Some("true"),
            description: "Whether the node uses the subnet routes others advertise (`--accept-routes`); `null` \
                leaves it to the role (only `workstation` does).",
        },
        Opt {
            name: "state",
            ty: Enum(&NodeState::NAMES),
            default: Is(Lit::Str(d::NODE_STATE)),
            example: Some(r#""off""#),
            description: "`\"off\"` for a powered-down machine: still a node of the tailnet, serving nothing \
                (its routes are unreachable unless another router advertises them).",
        },
    ],
);

/// `egress`.
pub static EGRESS: Group = Group::new(
    "egress",
    &[
        Opt {
            name: "image",
            ty: Str,
            default: Is(Lit::Str(d::GLUETUN_IMAGE)),
            example: Some(r#""qmcgaw/gluetun:v3.40.0""#),
            description: "The gluetun image of every proxy and sidecar. Its tag must be a release \
                `avalanche-net` knows the variables of (the generated containers set only what that \
                release reads).",
        },
        Opt {
            name: "tunDevice",
            ty: Enum(&TunDevice::NAMES),
            default: Is(Lit::Str(d::TUN_DEVICE)),
            example: Some(r#""mknod""#),
            description: "How gluetun gets `/dev/net/tun`, which it opens at start (and creates with `mknod` \
                when missing): `\"host-device\"` mounts the node's device (`hostPath`, `CharDevice`; \
                no extra capability), `\"mknod\"` adds the `MKNOD` capability, `\"privileged\"` runs \
                a privileged container. Per proxy or sidecar: `tunDevice`.",
        },
        Opt {
            name: "keepalive",
            ty: Duration,
            default: Is(Lit::Str(d::KEEPALIVE)),
            example: Some(r#""15s""#),
            description: "WireGuard persistent keepalive (`WIREGUARD_PERSISTENT_KEEPALIVE_INTERVAL`): without \
                it NAT state expires and idle connections stop receiving. `\"0s\"` turns it off. Per \
                proxy or sidecar: `keepalive`.",
        },
        Opt {
            name: "providers",
            ty: AttrsOf(&Submodule(&PROVIDER)),
            default: Is(Lit::Attrs(&[])),
            example: Some(r#"{ protonvpn = { credentials = "protonvpn"; }; }"#),
            description: "VPN providers, by name.",
        },
        Opt {
            name: "proxies",
            ty: AttrsOf(&Submodule(&PROXY)),
            default: Is(Lit::Attrs(&[])),
            example: Some(
                r#"{ iceland = { provider = "protonvpn"; countries = [ "Iceland" ]; }; }"#,
            ),
            description: "Shared gluetun proxies, one Deployment per region in the `vpn-proxy` namespace.",
        },
        Opt {
            name: "sidecars",
            ty: AttrsOf(&Submodule(&SIDECAR)),
            default: Is(Lit::Attrs(&[])),
            example: Some(
                r#"{
  qbittorrent = {
    namespace = "media";
    provider = "protonvpn";
    countries = [ "Iceland" ];
    portForwarding = true;
    inputPorts = [ 8080 ];
  };
}"#,
            ),
            description: "Apps that keep their own gluetun as a native sidecar.",
        },
        Opt {
            name: "clients",
            ty: AttrsOf(&Submodule(&CLIENT)),
            default: Is(Lit::Attrs(&[])),
            example: Some(
                "{ marmithon = { namespace = \"irc\"; proxy = \"iceland\"; enforce = true; }; }",
            ),
            description: "Apps that go out through a shared proxy.",
        },
        Opt {
            name: "gateways",
            ty: AttrsOf(&Submodule(&GATEWAY)),
            default: Is(Lit::Attrs(&[])),
            example: Some(
                r#"{
  home = {
    host = "routy";
    listen = "10.1.0.1";
    tunnel = {
      endpoint = "exit.example.org:51820";
      publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
      address = "10.99.0.2/32";
      privateKeySecret = "routy-wireguard";
    };
  };
}"#,
            ),
            description: "Egress gateways: a NixOS host whose SOCKS5 proxy goes out only through its own \
                WireGuard tunnel (a kill switch drops it otherwise). A second backend beside the \
                gluetun `proxies`; the two never share a name.",
        },
    ],
);

/// `egress.providers.<name>`.
pub static PROVIDER: Group = Group::new(
    "provider",
    &[
        Opt {
            name: "service",
            ty: Str,
            default: Is(Lit::Name),
            example: Some(r#""protonvpn""#),
            description: "gluetun's `VPN_SERVICE_PROVIDER` (default: the provider's attribute name).",
        },
        Opt {
            name: "type",
            ty: Enum(&VpnType::NAMES),
            default: Is(Lit::Str(d::VPN_TYPE)),
            example: Some(r#""openvpn""#),
            description: "The VPN protocol (`VPN_TYPE`).",
        },
        Opt {
            name: "credentials",
            ty: DnsLabel,
            default: Is(Lit::Name),
            example: Some(r#""protonvpn""#),
            description: "The declared secret (a key of `avalanche.network.secrets`) holding the provider's \
                keys (default: the provider's attribute name). Unused when `existingSecret` is set.",
        },
        Opt {
            name: "existingSecret",
            ty: NullOr(&Submodule(&EXISTING_SECRET)),
            default: Is(Lit::Null),
            example: Some(
                r#"{ name = "qbittorrent-vpn"; keys.WIREGUARD_PRIVATE_KEY = "wg-key"; }"#,
            ),
            description: "A Secret the cluster already has (made by ExternalSecrets, sealed-secrets or by \
                hand) with the provider's credentials, referenced as it is: nothing is sealed and no \
                KSOPS generator is rendered for it. Replaces `credentials`.",
        },
    ],
);

/// `existingSecret` of a provider, proxy or sidecar.
pub static EXISTING_SECRET: Group = Group::new(
    "existingSecret",
    &[
        Opt {
            name: "name",
            ty: DnsLabel,
            default: Required,
            example: Some(r#""qbittorrent-vpn""#),
            description: "The Secret's `metadata.name`, in the namespace the gluetun runs in.",
        },
        Opt {
            name: "keys",
            ty: AttrsOf(&Str),
            default: Is(Lit::Attrs(&[])),
            example: Some(
                "{ WIREGUARD_ADDRESSES = \"wg-address\"; WIREGUARD_PRIVATE_KEY = \"wg-key\"; }",
            ),
            description: "gluetun variable → the Secret's key holding it (default: each variable's own name). \
                Variables: WIREGUARD_PRIVATE_KEY, WIREGUARD_ADDRESSES, OPENVPN_USER, \
                OPENVPN_PASSWORD, SHADOWSOCKS_PASSWORD.",
        },
    ],
);

/// `egress.proxies.<name>`.
pub static PROXY: Group = Group::new(
    "proxy",
    &[
        PROVIDER_REF,
        COUNTRIES,
        Opt {
            name: "replicas",
            ty: U32,
            default: Is(Lit::Int(d::PROXY_REPLICAS as i64)),
            example: Some("2"),
            description: "Replicas of the region's gluetun Deployment (`vpn-proxy-<name>`).",
        },
        HEALTH_CHECK,
        INSTANCE_TUN_DEVICE,
        INSTANCE_KEEPALIVE,
        INSTANCE_CREDENTIALS,
        INSTANCE_EXISTING_SECRET,
        CONTROL_SERVER,
    ],
)
.with_removed(&["privileged"]);

/// `egress.sidecars.<name>`.
pub static SIDECAR: Group = Group::new("sidecar", &[
    Opt {
        name: "namespace",
        ty: DnsLabel,
        default: Required,
        example: Some(r#""media""#),
        description: "The app's namespace.",
    },
    Opt {
        name: "deployment",
        ty: DnsLabel,
        default: Is(Lit::Name),
        example: Some(r#""qbittorrent""#),
        description: "The app's Deployment to patch (default: the sidecar's attribute name).",
    },
    PROVIDER_REF,
    COUNTRIES,
    Opt {
        name: "portForwarding",
        ty: Bool,
        default: Is(Lit::Bool(d::PORT_FORWARDING)),
        example: Some("true"),
        description: "Ask the provider for a forwarded port (`VPN_PORT_FORWARDING=on`).",
    },
    Opt {
        name: "inputPorts",
        ty: ListOf(&Port),
        default: Is(Lit::List(&[])),
        example: Some("[ 8080 ]"),
        description: "The app's own listening ports: gluetun's firewall drops them unless they are in \
                `FIREWALL_INPUT_PORTS`.",
    },
    Opt {
        name: "forwardedPortTo",
        ty: NullOr(&Submodule(&PORT_TARGET)),
        default: Is(Lit::Null),
        example: Some(r#"{ app = "qbittorrent"; }"#),
        description: "Who learns the forwarded port (needs `portForwarding = true`): the provider hands \
                out a new one on every connection (ProtonVPN: enable NAT-PMP in the WireGuard \
                configuration).",
    },
    HEALTH_CHECK,
    INSTANCE_TUN_DEVICE,
    INSTANCE_KEEPALIVE,
    INSTANCE_CREDENTIALS,
    INSTANCE_EXISTING_SECRET,
    CONTROL_SERVER,
])
.with_removed(&["privileged"]);

// The options every gluetun instance (a proxy or a sidecar) has, and the others both have.
const PROVIDER_REF: Opt = Opt {
    name: "provider",
    ty: DnsLabel,
    default: Required,
    example: Some(r#""protonvpn""#),
    description: "The VPN provider: a key of `avalanche.network.egress.providers`.",
};

const COUNTRIES: Opt = Opt {
    name: "countries",
    ty: ListOf(&Str),
    default: Required,
    example: Some(r#"[ "Iceland" ]"#),
    description: "Countries gluetun picks servers from (`SERVER_COUNTRIES`, as the provider spells \
            them).",
};

const HEALTH_CHECK: Opt = Opt {
    name: "healthCheck",
    ty: Enum(&HealthCheck::NAMES),
    default: Is(Lit::Str(d::HEALTH_CHECK)),
    example: Some(r#""icmp""#),
    description: "gluetun's small health check (`HEALTH_SMALL_CHECK_TYPE`): `\"icmp\"` needs the \
            `NET_RAW` capability, `\"dns\"` does not.",
};

const INSTANCE_TUN_DEVICE: Opt = Opt {
    name: "tunDevice",
    ty: NullOr(&Enum(&TunDevice::NAMES)),
    default: Is(Lit::Null),
    example: Some(r#""mknod""#),
    description: "How this gluetun gets `/dev/net/tun` (default: `egress.tunDevice`).",
};

const INSTANCE_KEEPALIVE: Opt = Opt {
    name: "keepalive",
    ty: NullOr(&Duration),
    default: Is(Lit::Null),
    example: Some(r#""15s""#),
    description: "This gluetun's WireGuard persistent keepalive (default: `egress.keepalive`).",
};

const INSTANCE_CREDENTIALS: Opt = Opt {
    name: "credentials",
    ty: NullOr(&DnsLabel),
    default: Is(Lit::Null),
    example: Some(r#""protonvpn-iceland""#),
    description: "The declared secret (a key of `avalanche.network.secrets`) with this gluetun's own \
            WireGuard key (default: its provider's `credentials`). Every running gluetun needs \
            its own key: two tunnels with one key break each other.",
};

const INSTANCE_EXISTING_SECRET: Opt = Opt {
    name: "existingSecret",
    ty: NullOr(&Submodule(&EXISTING_SECRET)),
    default: Is(Lit::Null),
    example: Some(r#"{ name = "qbittorrent-vpn"; keys.WIREGUARD_PRIVATE_KEY = "wg-key"; }"#),
    description: "A Secret the cluster already has (made by ExternalSecrets, sealed-secrets or by \
            hand) with this gluetun's own credentials, referenced as it is: nothing is sealed \
            and no KSOPS generator is rendered for it. Replaces `credentials`.",
};

const CONTROL_SERVER: Opt = Opt {
    name: "controlServer",
    ty: ListenAddress,
    default: Is(Lit::Str(d::CONTROL_SERVER)),
    example: Some(r#"":8000""#),
    description: "gluetun's control server address (`HTTP_CONTROL_SERVER_ADDRESS`). Its default role \
            may stop the VPN without authentication: keep it on loopback unless another \
            container must reach it.",
};

/// `egress.sidecars.<name>.forwardedPortTo`.
pub static PORT_TARGET: Group = Group::new(
    "portTarget",
    &[
        Opt {
            name: "app",
            ty: NullOr(&Enum(&PortTarget::APPS)),
            default: Is(Lit::Null),
            example: Some(r#""qbittorrent""#),
            description: "The app that learns the port: `\"qbittorrent\"` sets `listen_port` through its Web \
                API from localhost (enable \"Bypass authentication for clients on localhost\").",
        },
        Opt {
            name: "webUIPort",
            ty: Port,
            default: Is(Lit::Int(d::QBITTORRENT_WEBUI_PORT as i64)),
            example: None,
            description: "The app's WebUI port, on the pod's loopback.",
        },
        Opt {
            name: "command",
            ty: NullOr(&Str),
            default: Is(Lit::Null),
            example: Some(r#""/bin/sh -c 'echo {{PORT}} > /gluetun/port'""#),
            description: "Instead of `app`: the `VPN_PORT_FORWARDING_UP_COMMAND` as written; gluetun replaces \
                `{{PORT}}`/`{{PORTS}}` and runs it without a shell.",
        },
        Opt {
            name: "downCommand",
            ty: NullOr(&Str),
            default: Is(Lit::Null),
            example: Some(r#""/bin/sh -c 'rm -f /gluetun/port'""#),
            description: "With `command`: the `VPN_PORT_FORWARDING_DOWN_COMMAND`, which gluetun runs (with the \
                old `{{PORTS}}`, for at most 60 s) when port forwarding stops, before it closes the \
                ports. With `app`, it is generated.",
        },
    ],
);

/// `egress.clients.<name>`.
pub static CLIENT: Group = Group::new(
    "client",
    &[
        Opt {
            name: "namespace",
            ty: DnsLabel,
            default: Required,
            example: Some(r#""irc""#),
            description: "The app's namespace.",
        },
        Opt {
            name: "deployment",
            ty: DnsLabel,
            default: Is(Lit::Name),
            example: Some(r#""marmithon""#),
            description: "The app's Deployment to patch (default: the client's attribute name).",
        },
        Opt {
            name: "proxy",
            ty: NullOr(&DnsLabel),
            default: Is(Lit::Null),
            example: Some(r#""iceland""#),
            description: "The upstream it goes out through: a key of `avalanche.network.egress.proxies` or of \
                `avalanche.network.egress.gateways` (the two never share a name), so switching \
                backends is one word. Set this or `gateway`.",
        },
        Opt {
            name: "gateway",
            ty: NullOr(&DnsLabel),
            default: Is(Lit::Null),
            example: Some(r#""home""#),
            description: "The egress gateway it goes out through (a key of \
                `avalanche.network.egress.gateways`); instead of `proxy`.",
        },
        Opt {
            name: "protocol",
            ty: Enum(&ClientProtocol::NAMES),
            default: Is(Lit::Str(d::CLIENT_PROTOCOL)),
            example: Some(r#""shadowsocks""#),
            description: "How the app reaches its upstream: `\"http\"` (`HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` \
                to a proxy's port 8888 or a gateway's `httpPort`), `\"shadowsocks\"` (a proxy's port \
                8388: Shadowsocks, not SOCKS5), `\"sidecar\"` (its own gluetun), or `\"socks5\"` \
                (`ALL_PROXY=socks5h://…`; gateways only: gluetun v3.41.3 has no SOCKS5 server).",
        },
        Opt {
            name: "enforce",
            ty: Bool,
            default: Is(Lit::Bool(d::CLIENT_ENFORCE)),
            example: Some("true"),
            description: "Add an egress NetworkPolicy that makes the proxy (and DNS) the app's only way out.",
        },
        Opt {
            name: "podLabels",
            ty: AttrsOf(&Str),
            default: Is(Lit::Attrs(&[(d::POD_LABEL_KEY, Lit::Name)])),
            example: Some(r#"{ app = "marmithon"; }"#),
            description: "Labels selecting the app's pods (for the NetworkPolicy).",
        },
        Opt {
            name: "allowedDestinations",
            ty: ListOf(&Submodule(&DESTINATION)),
            default: Is(Lit::List(&[])),
            example: Some(
                "[ { namespace = \"irc\"; podLabels = { \"app.kubernetes.io/name\" = \"redis\"; }; \
                ports = [ 6379 ]; services = [ \"redis\" ]; } ]",
            ),
            description: "With `enforce`: what the app may reach directly besides its proxy and DNS (the \
                services it calls in the cluster, hosts of the LAN). Each entry becomes a rule of \
                its egress NetworkPolicy, and its `cidr` or `services` names its `NO_PROXY` \
                (loopback and these only: an enforced client's other in-cluster calls go to the \
                proxy, which refuses them visibly).",
        },
        Opt {
            name: "speaks",
            ty: NullOr(&ListOf(&Enum(&Speaks::NAMES))),
            default: Is(Lit::Null),
            example: Some(r#"[ "socks5" ]"#),
            description: "The proxy protocols the app itself can use (null: not judged). `protocol = \"http\"` \
                needs `\"http-connect\"`, `\"shadowsocks\"` needs `\"shadowsocks\"`; gluetun v3.41 \
                serves no SOCKS5, so a SOCKS5-only app needs `\"sidecar\"`.",
        },
    ],
);

/// Each of `egress.clients.<name>.allowedDestinations`.
pub static DESTINATION: Group = Group::new(
    "destination",
    &[
        Opt {
            name: "namespace",
            ty: NullOr(&DnsLabel),
            default: Is(Lit::Null),
            example: Some(r#""irc""#),
            description: "Pods of this namespace (with `podLabels`: only those).",
        },
        Opt {
            name: "podLabels",
            ty: NullOr(&AttrsOf(&Str)),
            default: Is(Lit::Null),
            example: None,
            description: "Labels selecting the pods of `namespace` (default: all of them).",
        },
        Opt {
            name: "cidr",
            ty: NullOr(&Str),
            default: Is(Lit::Null),
            example: Some(r#""192.168.1.0/24""#),
            description: "Instead of `namespace`: addresses outside the cluster (added to `NO_PROXY`).",
        },
        Opt {
            name: "ports",
            ty: ListOf(&Port),
            default: Is(Lit::List(&[])),
            example: Some("[ 6379 ]"),
            description: "TCP ports (the pods' own, not a Service's); `[ ]`: every port.",
        },
        Opt {
            name: "services",
            ty: NullOr(&ListOf(&DnsLabel)),
            default: Is(Lit::Null),
            example: Some(r#"[ "redis" ]"#),
            description: "With `namespace`: the Services in front of these pods that the app calls by \
                name. An enforced HTTP client's `NO_PROXY` lists their names (`<svc>.<ns>`, \
                `<svc>.<ns>.svc`, `<svc>.<ns>.svc.<clusterDomain>`, and `<svc>` from its own \
                namespace) and nothing else of the cluster: any other in-cluster name goes to the \
                proxy and fails there visibly.",
        },
    ],
);

/// `egress.gateways.<name>`.
pub static GATEWAY: Group = Group::new(
    "gateway",
    &[
        Opt {
            name: "host",
            ty: DnsLabel,
            default: Required,
            example: Some(r#""routy""#),
            description: "The NixOS host of this flake that runs the gateway (it imports \
                `nixosModules.egressGateway`).",
        },
        Opt {
            name: "listen",
            ty: Str,
            default: Required,
            example: Some(r#""10.1.0.1""#),
            description: "The host's LAN address the SOCKS5 proxy listens on; it is admitted nowhere else.",
        },
        Opt {
            name: "socksPort",
            ty: Port,
            default: Is(Lit::Int(d::GATEWAY_SOCKS_PORT as i64)),
            example: Some("1081"),
            description: "The SOCKS5 port (microsocks).",
        },
        Opt {
            name: "httpPort",
            ty: NullOr(&Port),
            default: Is(Lit::Null),
            example: Some("8888"),
            description: "An HTTP CONNECT port (tinyproxy) on the listen address, for `protocol = \"http\"` \
                clients (null: none).",
        },
        Opt {
            name: "interface",
            ty: Str,
            default: Is(Lit::NameAfter("wg-")),
            example: Some(r#""wg-egress""#),
            description: "The WireGuard interface (at most 15 bytes).",
        },
        group("tunnel", &TUNNEL),
        Opt {
            name: "allowedClients",
            ty: NullOr(&ListOf(&Cidr)),
            default: Is(Lit::Null),
            example: Some(r#"[ "10.42.0.0/16" "10.1.0.0/24" ]"#),
            description: "The networks admitted to the proxy (null: `kubernetes.podCIDR` and \
                `kubernetes.nodeCIDRs`).",
        },
        Opt {
            name: "routingTable",
            ty: U32,
            default: Is(Lit::Int(d::GATEWAY_ROUTING_TABLE as i64)),
            example: Some("100"),
            description: "The routing table of the tunnel default route (and its `unreachable` kill switch).",
        },
        Opt {
            name: "fwmark",
            ty: U32,
            default: Is(Lit::Int(d::GATEWAY_FWMARK as i64)),
            example: Some("100"),
            description: "The mark of the proxy user's packets; the WireGuard socket's is the next number.",
        },
        Opt {
            name: "monitoring",
            ty: Bool,
            default: Is(Lit::Bool(d::GATEWAY_MONITORING)),
            example: Some("true"),
            description: "Run the WireGuard exporter and alert on the handshake age.",
        },
    ],
);

/// `egress.gateways.<name>.tunnel`.
pub static TUNNEL: Group = Group::new(
    "tunnel",
    &[
        Opt {
            name: "endpoint",
            ty: Str,
            default: Required,
            example: Some(r#""exit.example.org:51820""#),
            description: "`host:port` of the WireGuard peer (a rented server or a VPN provider's server).",
        },
        Opt {
            name: "publicKey",
            ty: Str,
            default: Required,
            example: Some(r#""e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=""#),
            description: "The peer's public key.",
        },
        Opt {
            name: "address",
            ty: OneOrListOf(&Cidr),
            default: Required,
            example: Some(r#"[ "10.2.0.2/32" "2a07:b944::2:2/128" ]"#),
            description: "This side's tunnel address, with its prefix length, or a list of them (an IPv4 \
                and an IPv6 address, as providers hand out): with an IPv6 address the proxy also reaches \
                IPv6 destinations through the tunnel; without one they fail at once.",
        },
        Opt {
            name: "persistentKeepalive",
            ty: U16,
            default: Is(Lit::Int(d::GATEWAY_PERSISTENT_KEEPALIVE as i64)),
            example: Some("15"),
            description: "Seconds between WireGuard keepalives (0: none). Without them a NAT on the path \
                forgets the idle tunnel and idle proxied connections stop receiving.",
        },
        Opt {
            name: "mtu",
            ty: U16,
            default: Is(Lit::Int(d::GATEWAY_MTU as i64)),
            example: Some("1380"),
            description: "The tunnel's MTU.",
        },
        Opt {
            name: "privateKeySecret",
            ty: DnsLabel,
            default: Required,
            example: Some(r#""routy-wireguard""#),
            description: "The declared secret (`avalanche.network.secrets.<name>`, `format = \"plain\"`, for \
                sops-nix on the host) whose first key is this side's private key.",
        },
    ],
);

/// `secrets.<name>`.
pub static SECRET: Group = Group::new(
    "secret",
    &[
        Opt {
            name: "format",
            ty: Enum(&SecretFormat::NAMES),
            default: Is(Lit::Str(d::SECRET_FORMAT)),
            example: Some(r#""plain""#),
            description: "`\"kubernetes\"`: a Kubernetes Secret (`stringData`) decrypted by KSOPS; \
                `\"plain\"`: a plain YAML map, for sops-nix on a host.",
        },
        Opt {
            name: "file",
            ty: Str,
            default: Required,
            example: Some(r#""kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml""#),
            description: "Repository-relative path of the SOPS file.",
        },
        Opt {
            name: "keys",
            ty: ListOf(&Str),
            default: Required,
            example: Some(r#"[ "WIREGUARD_PRIVATE_KEY" ]"#),
            description: "The keys the secret holds.",
        },
        Opt {
            name: "namespace",
            ty: NullOr(&DnsLabel),
            default: Is(Lit::Null),
            example: Some(r#""vpn-proxy""#),
            description: "The Secret's namespace (default: the kustomization's namespace applies).",
        },
    ],
);

/// `sops`.
pub static SOPS: Group = Group::new(
    "sops",
    &[Opt {
        name: "recipients",
        ty: AttrsOf(&Submodule(&RECIPIENT)),
        default: Is(Lit::Attrs(&[])),
        example: Some(
            r#"{
  alice = { age = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"; kind = "admin"; };
  github-actions = { age = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"; kind = "ci"; };
}"#,
        ),
        description: "Age recipients that are not a host's anchor (`&host_<name>` in `.sops.yaml`): \
                `check` warns about every recipient it cannot attribute to a host, a declared \
                recipient or a retired host.",
    }],
);

/// `sops.recipients.<name>`.
pub static RECIPIENT: Group = Group::new(
    "sopsRecipient",
    &[
        Opt {
            name: "age",
            ty: Str,
            default: Required,
            example: Some(r#""age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq""#),
            description: "The age recipient (`age1…`) written in `.sops.yaml` and SOPS files.",
        },
        Opt {
            name: "kind",
            ty: Enum(&RecipientKind::NAMES),
            default: Required,
            example: Some(r#""ci""#),
            description: "Whose key it is: a person (`admin`), a CI system (`ci`), or a machine whose \
                `.sops.yaml` anchor is not named after it (`host`).",
        },
    ],
);

/// `repository`.
pub static REPOSITORY: Group = Group::new(
    "repository",
    &[Opt {
        name: "hostDirs",
        ty: ListOf(&Str),
        default: Is(Lit::List(&[])),
        example: Some(r#"[ "infra/boxes" ]"#),
        description: "Repository-relative directories whose subdirectories are hosts, besides the layouts \
                `check` knows (`hosts/`, `nixos/hosts/`, `machines/`, `nixos/machines/`, \
                `systems/<arch>/`): a retired host's directory there is an error, and a managed \
                Tailscale node needs one when the flake's hosts cannot be listed.",
    }],
);

/// `kubernetes`.
pub static KUBERNETES: Group = Group::new(
    "kubernetes",
    &[
        Opt {
            name: "dir",
            ty: Str,
            default: Is(Lit::Str(d::KUBERNETES_DIR)),
            example: Some(r#""k8s""#),
            description: "Repository-relative directory of the Kubernetes tree.",
        },
        Opt {
            name: "podCIDR",
            ty: Cidr,
            default: Is(Lit::Str(d::POD_CIDR)),
            example: Some(r#""10.244.0.0/16""#),
            description: "The cluster's pod network (k3s default), for `NO_PROXY` and gluetun's outbound \
                subnets.",
        },
        Opt {
            name: "serviceCIDR",
            ty: Cidr,
            default: Is(Lit::Str(d::SERVICE_CIDR)),
            example: Some(r#""10.96.0.0/12""#),
            description: "The cluster's service network (k3s default).",
        },
        Opt {
            name: "nodeCIDRs",
            ty: ListOf(&Cidr),
            default: Is(Lit::List(&[])),
            example: Some(r#"[ "10.1.0.0/24" ]"#),
            description: "The networks the cluster's nodes have addresses in. Pods reach hosts outside the \
                cluster from their node's address when the CNI masquerades (k3s' flannel does), so \
                egress gateways admit these by default.",
        },
        Opt {
            name: "clusterDomain",
            ty: Str,
            default: Is(Lit::Str(d::CLUSTER_DOMAIN)),
            example: Some(r#""k8s.example""#),
            description: "The cluster's DNS domain.",
        },
        Opt {
            name: "dnsServiceIP",
            ty: NullOr(&Str),
            default: Computed("the tenth address of `serviceCIDR` (k3s: `10.43.0.10`)"),
            example: Some(r#""10.96.0.10""#),
            description: "The ClusterIP of the cluster DNS Service (`kubectl -n kube-system get service \
                kube-dns`). The proxies' gluetun forwards cluster-local names to it, so it is the \
                one cluster address in their `FIREWALL_OUTBOUND_SUBNETS` (as a /32).",
        },
        Opt {
            name: "gitops",
            ty: Enum(&GitOps::NAMES),
            default: Is(Lit::Str(d::GITOPS)),
            example: Some(r#""flux""#),
            description: "The GitOps engine that deploys the repository. `\"argocd\"`: `build` writes an Argo \
                CD `Application` and KSOPS generators decrypt the SOPS-encrypted Secrets. \
                `\"flux\"`: it writes a Flux `Kustomization` (`kustomize.toolkit.fluxcd.io/v1`) with \
                `decryption.provider: sops`, and the encrypted Secrets are listed as plain resources \
                (kustomize-controller decrypts them). `\"none\"`: plain manifests only, nothing \
                registers the tree (you apply it: `kubectl apply -k`), and `kubernetes.secrets` alone \
                decides how the Secrets are made.",
        },
        group("argocd", &ARGOCD),
        group("flux", &FLUX),
        group("layout", &LAYOUT),
        group("monitoring", &MONITORING),
        group("verification", &VERIFICATION),
        Opt {
            name: "secrets",
            ty: Enum(&SecretsBackend::NAMES),
            default: Is(Lit::Str(d::KUBERNETES_SECRETS)),
            example: Some(r#""none""#),
            description: "Whether Argo CD decrypts SOPS files with KSOPS (`\"ksops\"`): declared secrets of \
                `format = \"kubernetes\"` become Secrets through a generated KSOPS generator. With \
                `\"none\"` (Secrets come from ExternalSecrets, sealed-secrets…), no SOPS file or \
                generator is rendered, and credentials are `existingSecret`s.",
        },
    ],
);

/// `kubernetes.argocd`.
pub static ARGOCD: Group = Group::new(
    "argocd",
    &[
        Opt {
            name: "namespace",
            ty: Str,
            default: Is(Lit::Str(d::ARGOCD_NAMESPACE)),
            example: Some(r#""gitops""#),
            description: "Namespace of Argo CD's `Application`s.",
        },
        Opt {
            name: "project",
            ty: Str,
            default: Is(Lit::Str(d::ARGOCD_PROJECT)),
            example: Some(r#""homelab""#),
            description: "Argo CD project of the generated `Application`s.",
        },
        Opt {
            name: "repoURL",
            ty: Str,
            default: Is(Lit::Str(d::ARGOCD_REPO_URL)),
            example: Some(r#""https://github.com/alice/avalanche.git""#),
            description: "The Git repository Argo CD syncs from.",
        },
        Opt {
            name: "targetRevision",
            ty: Str,
            default: Is(Lit::Str(d::ARGOCD_TARGET_REVISION)),
            example: Some(r#""HEAD""#),
            description: "The branch, tag or commit Argo CD syncs.",
        },
        Opt {
            name: "registerIn",
            ty: NullOr(&Str),
            default: Is(Lit::Null),
            example: Some(r#""kubernetes/argocd/apps/kustomization.yaml""#),
            description: "The app-of-apps kustomization (repo-relative) that lists the repository's Argo CD \
                `Application` files: `avalanche-net build` writes `vpn-proxy-app.yaml` next to it \
                and adds it to its `resources:`. Unset: the one kustomization listing `*-app.yaml` \
                files, if any.",
        },
    ],
);

/// `kubernetes.flux`.
pub static FLUX: Group = Group::new(
    "flux",
    &[
        Opt {
            name: "namespace",
            ty: DnsLabel,
            default: Is(Lit::Str(d::FLUX_NAMESPACE)),
            example: Some(r#""flux""#),
            description: "Namespace of the generated Flux `Kustomization` (where Flux runs).",
        },
        group("sourceRef", &FLUX_SOURCE),
        Opt {
            name: "interval",
            ty: Interval,
            default: Is(Lit::Str(d::FLUX_INTERVAL)),
            example: Some(r#""1h""#),
            description: "How often Flux reconciles the generated `Kustomization` (a Go duration).",
        },
        Opt {
            name: "decryptionSecret",
            ty: DnsLabel,
            default: Is(Lit::Str(d::FLUX_DECRYPTION_SECRET)),
            example: Some(r#""sops-gpg""#),
            description: "The Secret (in `namespace`) holding the age key kustomize-controller decrypts the \
                SOPS files with (`decryption.secretRef`).",
        },
        Opt {
            name: "registerIn",
            ty: NullOr(&Str),
            default: Is(Lit::Null),
            example: Some(r#""clusters/home""#),
            description: "The directory (repo-relative) Flux applies the cluster's `Kustomization`s from: \
                `avalanche-net build` writes `vpn-proxy.yaml` there (and lists it in the directory's \
                `kustomization.yaml`, if it has one). Unset: the path of the bootstrap \
                `Kustomization` `flux-system`, when the repository has exactly one.",
        },
    ],
);

/// `kubernetes.flux.sourceRef`.
pub static FLUX_SOURCE: Group = Group::new(
    "sourceRef",
    &[
        Opt {
            name: "kind",
            ty: Enum(&FLUX_SOURCE_KINDS),
            default: Is(Lit::Str(d::FLUX_SOURCE_KIND)),
            example: Some(r#""OCIRepository""#),
            description: "Kind of the Flux source holding this repository.",
        },
        Opt {
            name: "name",
            ty: DnsLabel,
            default: Is(Lit::Str(d::FLUX_SOURCE_NAME)),
            example: Some(r#""homelab""#),
            description: "Name of the Flux source holding this repository (`flux bootstrap` names it \
                `flux-system`).",
        },
    ],
);

/// `kubernetes.layout`.
pub static LAYOUT: Group = Group::new(
    "layout",
    &[
        Opt {
            name: "apps",
            ty: Str,
            default: Is(Lit::Str(d::LAYOUT_APPS)),
            example: Some(r#""apps/{namespace}/{app}""#),
            description: "Where each app's manifests are, under `dir`, with the placeholders `{namespace}` and \
                `{app}`: a directory holding the app's `kustomization.yaml` (which lists the \
                generated `vpn-egress` component), or a flat manifest (`apps/{app}.yaml`, kubenix's \
                `.k8s/{app}.yaml`), whose component goes where `egress` says.",
        },
        Opt {
            name: "proxies",
            ty: Str,
            default: Is(Lit::Str(d::LAYOUT_PROXIES)),
            example: Some(r#""infrastructure/vpn-proxy""#),
            description: "Directory of the shared proxies' tree, under `dir`.",
        },
        Opt {
            name: "egress",
            ty: Str,
            default: Is(Lit::Str(d::LAYOUT_EGRESS)),
            example: Some(r#""kustomize/egress/{app}""#),
            description: "For flat app manifests: the directory of each app's generated egress Component, \
                under `dir`, with the placeholders `{namespace}` and `{app}`. `build` lists it in what \
                applies the app's manifest: the `components:` of the kustomization listing the file, or \
                `spec.components` of the Flux Kustomization applying its directory; it must lie outside \
                every directory Flux applies without a kustomization. Unused for app directories.",
        },
    ],
);

/// `kubernetes.monitoring`.
pub static MONITORING: Group = Group::new(
    "monitoring",
    &[
        Opt {
            name: "enable",
            ty: Bool,
            default: Is(Lit::Bool(d::MONITORING)),
            example: Some("true"),
            description: "Emit alerts (kube-state-metrics) and a Grafana dashboard ConfigMap; for each \
                gateway with `monitoring`, its scrape target, its proxy's probe, alerts and a dashboard.",
        },
        Opt {
            name: "prober",
            ty: Str,
            default: Is(Lit::Str(d::MONITORING_PROBER)),
            example: Some(r#""blackbox-exporter.monitoring.svc:19115""#),
            description: "`host:port` of the blackbox exporter that probes each monitored gateway's proxy \
                port (a prometheus-operator `Probe`'s `prober.url`).",
        },
        Opt {
            name: "proberModule",
            ty: Str,
            default: Is(Lit::Str(d::MONITORING_PROBER_MODULE)),
            example: Some(r#""tcp_connect""#),
            description: "The blackbox exporter module of those probes: a `tcp` prober module of its configuration.",
        },
    ],
)
.with_removed(&["tunnelMetrics"]);

/// `kubernetes.verification`.
pub static VERIFICATION: Group = Group::new(
    "verification",
    &[Opt {
        name: "enable",
        ty: Bool,
        default: Is(Lit::Bool(d::VERIFICATION)),
        example: Some("true"),
        description: "Emit a Job that proves each proxy's egress leaves through the VPN.",
    }],
);
