//! The cross-references between declarations, resolved once for every command:
//! each proxy and sidecar to its provider and credentials secret, each client to
//! its proxy or gateway (and whether that upstream serves its protocol), and no
//! two egress declarations generating the same thing.
//!
//! [`Network::resolve`] is the one place these are checked: `check` reports its
//! errors (under the `egress-*` ids of [`crate::rules`]), and `render` accepts
//! only a [`Resolved`] network, which cannot hold a dangling reference: a
//! [`ResolvedClient`] has its proxy, a [`Vpn`] its provider and Secret.
//!
//! ```
//! use avalanche_model::Network;
//! let network = Network::default();
//! let resolved = network.resolve().expect("nothing to resolve");
//! assert!(resolved.proxies.is_empty());
//! ```
use crate::rules;
use crate::{
    Client, ClientProtocol, Credentials, ExistingSecret, Gateway, Name, Network, Provider, Proxy,
    Sidecar, Spanned, Upstream,
};
use avalanche_diag::{Diagnostic, Span};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What a gluetun container connects with.
#[derive(Debug, Clone, Copy)]
pub struct Vpn<'a> {
    /// The provider's declaration.
    pub provider: &'a Provider,
    /// The Kubernetes Secret holding its credentials (the declared secret's name,
    /// or the `existingSecret`'s).
    pub secret_name: &'a str,
    /// The repo-relative SOPS file KSOPS makes that Secret from (`None`: the
    /// Secret exists already, or the cluster has no KSOPS).
    pub secret_file: Option<&'a str>,
    /// Where they come from (for the key of each variable).
    pub credentials: Credentials<'a>,
    /// `SERVER_COUNTRIES`.
    pub countries: &'a [Spanned<String>],
}

impl<'a> Vpn<'a> {
    /// The key of the credentials Secret holding gluetun's variable `var`.
    pub fn key(&self, var: &'a str) -> &'a str {
        self.credentials.key(var)
    }
}

/// A proxy with its VPN.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedProxy<'a> {
    /// The region name (`iceland`).
    pub name: &'a str,
    /// Its declaration.
    pub proxy: &'a Proxy,
    /// Its VPN.
    pub vpn: Vpn<'a>,
}

/// A client with its proxy.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedClient<'a> {
    /// The client's name.
    pub name: &'a str,
    /// Its declaration.
    pub client: &'a Client,
    /// The proxy it goes through.
    pub proxy: ResolvedProxy<'a>,
}

/// A client of an egress gateway.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedGatewayClient<'a> {
    /// The client's name.
    pub name: &'a str,
    /// Its declaration.
    pub client: &'a Client,
    /// The gateway's name.
    pub gateway_name: &'a str,
    /// The gateway it goes through.
    pub gateway: &'a Gateway,
}

/// A sidecar with its VPN.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedSidecar<'a> {
    /// The app's name.
    pub name: &'a str,
    /// Its declaration.
    pub sidecar: &'a Sidecar,
    /// Its VPN.
    pub vpn: Vpn<'a>,
}

/// A network whose every reference resolves: only [`Network::resolve`] makes one.
#[derive(Debug)]
pub struct Resolved<'a> {
    /// The network itself.
    pub network: &'a Network,
    /// Proxies, by name.
    pub proxies: Vec<ResolvedProxy<'a>>,
    /// Clients of a proxy, by name.
    pub clients: Vec<ResolvedClient<'a>>,
    /// Clients of a gateway, by name.
    pub gateway_clients: Vec<ResolvedGatewayClient<'a>>,
    /// Sidecars, by name.
    pub sidecars: Vec<ResolvedSidecar<'a>>,
    /// Indices into `clients`, by proxy name.
    clients_by_proxy: BTreeMap<&'a str, Vec<usize>>,
}

impl<'a> Resolved<'a> {
    /// The clients going through proxy `name`.
    pub fn clients_of(&self, name: &str) -> impl Iterator<Item = &ResolvedClient<'a>> {
        self.clients_by_proxy
            .get(name)
            .into_iter()
            .flatten()
            .map(|&i| &self.clients[i])
    }
}

impl Network {
    /// Resolves every cross-reference. `Err` holds one located error per problem
    /// (each reported once: a provider's missing secret once, not once per
    /// instance inheriting it); `check` reports them, `render` needs the `Ok`.
    pub fn resolve(&self) -> Result<Resolved<'_>, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        providers(self, &mut errors);
        secrets(self, &mut errors);
        for (name, client) in &self.egress.clients {
            upstream(self, name.as_str(), client, &mut errors);
        }
        duplicates(self, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        // Every reference was checked above, so linking cannot fail; were the two
        // ever to disagree, the network is refused rather than rendered in part.
        link(self).ok_or_else(|| {
            vec![Diagnostic::of(
                &rules::EGRESS_UNKNOWN_PROXY,
                "a reference of the egress declarations does not resolve",
            )]
        })
    }
}

/// Links every proxy, sidecar and client to what it names; `None` when one
/// does not resolve.
fn link(net: &Network) -> Option<Resolved<'_>> {
    let egress = &net.egress;
    let proxies: Vec<ResolvedProxy<'_>> = egress
        .proxies
        .iter()
        .map(|(name, proxy)| {
            let (name, vpn) = (name.as_str(), vpn(net, instance!(proxy))?);
            Some(ResolvedProxy { name, proxy, vpn })
        })
        .collect::<Option<_>>()?;
    let sidecars: Vec<ResolvedSidecar<'_>> = egress
        .sidecars
        .iter()
        .map(|(name, sidecar)| {
            let (name, vpn) = (name.as_str(), vpn(net, instance!(sidecar))?);
            Some(ResolvedSidecar { name, sidecar, vpn })
        })
        .collect::<Option<_>>()?;
    let by_name: HashMap<&str, ResolvedProxy<'_>> = proxies.iter().map(|p| (p.name, *p)).collect();
    let mut out = Resolved {
        network: net,
        proxies,
        clients: Vec::new(),
        gateway_clients: Vec::new(),
        sidecars,
        clients_by_proxy: BTreeMap::new(),
    };
    for (name, client) in &egress.clients {
        match net.upstream(client)? {
            Upstream::Proxy(proxy, _) => {
                let proxy = *by_name.get(proxy.as_str())?;
                out.clients_by_proxy
                    .entry(proxy.name)
                    .or_default()
                    .push(out.clients.len());
                out.clients.push(ResolvedClient {
                    name: name.as_str(),
                    client,
                    proxy,
                });
            }
            Upstream::Gateway(gateway_name, gateway) => {
                out.gateway_clients.push(ResolvedGatewayClient {
                    name: name.as_str(),
                    client,
                    gateway_name: gateway_name.as_str(),
                    gateway,
                });
            }
        }
    }
    Some(out)
}

/// What [`vpn`] needs of a proxy or sidecar: its provider, own credentials,
/// own `existingSecret` and countries.
macro_rules! instance {
    ($i:expr) => {
        (
            &$i.provider,
            $i.credentials.as_ref(),
            $i.existing_secret.as_ref(),
            &$i.countries[..],
        )
    };
}
use instance;

impl Network {
    /// Whether building the shared proxies' tree runs the KSOPS generator: a
    /// proxy's credentials are a SOPS file that KSOPS decrypts, and the GitOps
    /// engine does not decrypt SOPS itself (Flux does). The render emits the
    /// tree's `secret-generator.yaml` exactly then; how to apply the tree by
    /// hand ([`crate::layout::apply_command`]) depends on it.
    pub fn proxies_run_ksops(&self) -> bool {
        self.kubernetes.gitops.value != crate::GitOps::Flux
            && self
                .egress
                .proxies
                .values()
                .any(|p| vpn(self, instance!(p)).is_some_and(|v| v.secret_file.is_some()))
    }

    /// Whether building sidecar `name`'s component runs the KSOPS generator (see
    /// [`Network::proxies_run_ksops`]); `false` for a name that is not a sidecar.
    pub fn sidecar_runs_ksops(&self, name: &str) -> bool {
        self.kubernetes.gitops.value != crate::GitOps::Flux
            && self
                .egress
                .sidecars
                .get(name)
                .and_then(|s| vpn(self, instance!(s)))
                .is_some_and(|v| v.secret_file.is_some())
    }
}

/// A proxy's or sidecar's provider, own credentials, own `existingSecret` and
/// countries (see [`instance!`]).
type Instance<'a> = (
    &'a Spanned<Name>,
    Option<&'a Spanned<Name>>,
    Option<&'a ExistingSecret>,
    &'a [Spanned<String>],
);

/// An instance's provider and credentials secret, when both resolve.
fn vpn<'a>(
    net: &'a Network,
    (provider, own_credentials, own_existing, countries): Instance<'a>,
) -> Option<Vpn<'a>> {
    let provider = net.egress.providers.get(provider.as_str())?;
    let credentials = net.credentials(own_credentials, own_existing, provider);
    Some(Vpn {
        provider,
        secret_name: credentials.secret_name()?,
        secret_file: credentials.sops_file(&net.kubernetes),
        credentials,
        countries,
    })
}

/// `name` is not among `declared` (whose option is `option`): the error, with a
/// "did you mean" or the names that are declared.
fn unknown<T>(
    rule: &'static avalanche_diag::Rule,
    message: String,
    option: &str,
    name: &Spanned<Name>,
    declared: &BTreeMap<Name, T>,
) -> Diagnostic {
    let names: Vec<&str> = declared.keys().map(Name::as_str).collect();
    let help = match crate::words::did_you_mean(name.value.as_str(), names.iter().copied()) {
        Some(similar) => format!("did you mean `{similar}`?"),
        None => format!(
            "declare `{option}.{}`, or use one of {}",
            name.value,
            crate::words::list(&names)
        ),
    };
    Diagnostic::of(rule, message)
        .with_span(name.span)
        .with_help(help)
}

/// Each proxy's and sidecar's provider is declared.
fn providers(net: &Network, errors: &mut Vec<Diagnostic>) {
    let egress = &net.egress;
    let proxies = egress
        .proxies
        .iter()
        .map(|(n, p)| ("proxy", n, &p.provider));
    let sidecars = egress
        .sidecars
        .iter()
        .map(|(n, s)| ("sidecar", n, &s.provider));
    for (kind, name, provider) in proxies.chain(sidecars) {
        if egress.providers.contains_key(provider.as_str()) {
            continue;
        }
        let message = format!(
            "{kind} `{name}` uses provider `{}`, which `egress.providers` does not declare",
            provider.value
        );
        errors.push(unknown(
            &rules::EGRESS_UNKNOWN_PROVIDER,
            message,
            "egress.providers",
            provider,
            &egress.providers,
        ));
    }
}

/// Each proxy's and sidecar's credentials secret (its own, else its provider's)
/// is declared, or is an `existingSecret`. A provider's is reported once, and only
/// when an instance inherits it; a `protocol = "sidecar"` client runs with its
/// proxy's settings, so its proxy's finding is its own.
fn secrets(net: &Network, errors: &mut Vec<Diagnostic>) {
    let egress = &net.egress;
    let proxies = egress.proxies.iter().map(|(n, p)| {
        let own = (p.credentials.as_ref(), p.existing_secret.as_ref());
        ("proxy", n, &p.provider, own)
    });
    let sidecars = egress.sidecars.iter().map(|(n, s)| {
        let own = (s.credentials.as_ref(), s.existing_secret.as_ref());
        ("sidecar", n, &s.provider, own)
    });
    let mut inherited: BTreeSet<&str> = BTreeSet::new();
    for (kind, name, provider_name, (own, own_existing)) in proxies.chain(sidecars) {
        let Some(provider) = egress.providers.get(provider_name.as_str()) else {
            continue; // `providers` reports it
        };
        let creds = net.credentials(own, own_existing, provider);
        if creds.secret_name().is_some() {
            continue;
        }
        let owner = if creds.own {
            format!("{kind} `{name}`")
        } else if inherited.insert(provider_name.as_str()) {
            format!("provider `{}`", provider_name.value)
        } else {
            continue;
        };
        let message = format!(
            "{owner} uses credentials secret `{}`, which `secrets` does not declare",
            creds.reference.value
        );
        errors.push(unknown(
            &rules::EGRESS_UNKNOWN_SECRET,
            message,
            "secrets",
            creds.reference,
            &net.secrets,
        ));
    }
}

/// The client's upstream is declared, and serves its protocol.
fn upstream(net: &Network, name: &str, client: &Client, errors: &mut Vec<Diagnostic>) {
    let egress = &net.egress;
    let wanted = &client.proxy;
    let Some(up) = net.upstream(client) else {
        let (what, option) = if client.gateway {
            ("gateway", "egress.gateways")
        } else {
            ("upstream", "egress.proxies")
        };
        let message = format!(
            "client `{name}` goes through {what} `{}`, which `{option}` does not declare{}",
            wanted.value,
            if client.gateway {
                ""
            } else {
                " (nor `egress.gateways`)"
            }
        );
        let mut names: Vec<&str> = egress.gateways.keys().map(Name::as_str).collect();
        if !client.gateway {
            names.extend(egress.proxies.keys().map(Name::as_str));
        }
        names.sort_unstable();
        let help = match crate::words::did_you_mean(wanted.value.as_str(), names.iter().copied()) {
            Some(similar) => format!("did you mean `{similar}`?"),
            None if client.gateway && egress.proxies.contains_key(wanted.value.as_str()) => {
                format!(
                    "`{}` is a proxy: write `proxy = \"{}\";`",
                    wanted.value, wanted.value
                )
            }
            None => format!(
                "declare `{option}.{}`, or use one of {}",
                wanted.value,
                crate::words::list(&names)
            ),
        };
        errors.push(
            Diagnostic::of(&rules::EGRESS_UNKNOWN_PROXY, message)
                .with_span(wanted.span.or(client.span))
                .with_help(help),
        );
        return;
    };
    let protocol = client.protocol.value;
    if up.serves(protocol) {
        return;
    }
    let at = client.protocol.span.or(client.span);
    let upstream = up.name();
    let mut d = match up {
        Upstream::Proxy(..) => {
            let message = format!(
                "client `{name}` uses `protocol = \"socks5\"`, but proxy `{upstream}` is a gluetun, which serves no SOCKS5"
            );
            let gateways: Vec<&str> = egress.gateways.keys().map(Name::as_str).collect();
            Diagnostic::of(&rules::EGRESS_UPSTREAM_PROTOCOL, message)
                .with_span(at)
                .with_note("gluetun's port 8388 is Shadowsocks (`SHADOWSOCKS=on`), not SOCKS5: a SOCKS5 client cannot talk to it")
                .with_note("a SOCKS5 server exists only on `qmcgaw/gluetun:latest` (`SOCKS5_ENABLED=on`, port 1080), in no v3.41 release")
                .with_help(match gateways.first() {
                    Some(g) => format!("go through a gateway (`proxy = \"{g}\";`), or write `protocol = \"http\";`: HTTP CONNECT reaches any TCP port, IRC over TLS on 6697 included"),
                    None => "write `protocol = \"http\";` (HTTP CONNECT reaches any TCP port, IRC over TLS on 6697 included), `protocol = \"shadowsocks\";` if the app speaks Shadowsocks, or declare an `egress.gateways` host, which serves SOCKS5".into(),
                })
        }
        Upstream::Gateway(_, g) => {
            let message = format!(
                "client `{name}` uses `protocol = \"{}\"`, which gateway `{upstream}` does not serve",
                protocol.as_str()
            );
            let d = Diagnostic::of(&rules::EGRESS_UPSTREAM_PROTOCOL, message)
                .with_span(at)
                .with_help(if protocol == ClientProtocol::Http {
                    format!(
                        "give the gateway an HTTP CONNECT port (`egress.gateways.{upstream}.httpPort = 8888;`), or write `protocol = \"socks5\";`"
                    )
                } else {
                    "a gateway serves `protocol = \"socks5\"` (and `\"http\"` with an `httpPort`): use one, or name a gluetun proxy".into()
                });
            labelled(d, g.span, "the gateway")
        }
    };
    d = labelled(d.with_subject(name), wanted.span, "the upstream");
    errors.push(d);
}

/// `d` with a label at `span`, when there is one.
fn labelled(d: Diagnostic, span: Option<Span>, message: &str) -> Diagnostic {
    match span {
        Some(span) => d.with_label(span, message),
        None => d,
    }
}

/// One egress declaration, for [`duplicates`].
struct Entry<'a> {
    kind: &'static str,
    name: &'a str,
    namespace: Option<&'a str>,
    deployment: Option<&'a str>,
    span: Option<Span>,
}

/// Names are unique across proxies, sidecars and clients (their generated
/// objects and components would collide), and one Deployment gets one egress.
fn duplicates(net: &Network, errors: &mut Vec<Diagnostic>) {
    let egress = &net.egress;
    let mut entries: Vec<Entry<'_>> = Vec::new();
    entries.extend(egress.proxies.iter().map(|(n, p)| Entry {
        kind: "proxy",
        name: n.as_str(),
        namespace: None,
        deployment: None,
        span: p.span,
    }));
    entries.extend(egress.sidecars.iter().map(|(n, s)| Entry {
        kind: "sidecar",
        name: n.as_str(),
        namespace: Some(s.namespace.value.as_str()),
        deployment: Some(s.deployment.value.as_str()),
        span: s.span,
    }));
    entries.extend(egress.clients.iter().map(|(n, c)| Entry {
        kind: "client",
        name: n.as_str(),
        namespace: Some(c.namespace.value.as_str()),
        deployment: Some(c.deployment.value.as_str()),
        span: c.span,
    }));
    // First declaration of each name and of each patched Deployment: an earlier
    // entry clashing with `e` is found by lookup, not by a scan of all of them.
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut by_deployment: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let name_clash = by_name.get(e.name).copied();
        let deployment_clash = match (e.namespace, e.deployment) {
            (Some(ns), Some(dep)) => by_deployment.get(&(ns, dep)).copied(),
            _ => None,
        };
        by_name.entry(e.name).or_insert(i);
        if let (Some(ns), Some(dep)) = (e.namespace, e.deployment) {
            by_deployment.entry((ns, dep)).or_insert(i);
        }
        let first = match (name_clash, deployment_clash) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(earlier) = first.map(|j| &entries[j]) else {
            continue;
        };
        let message = if earlier.name == e.name {
            format!(
                "{} `{}` has the same name as {} `{}`",
                e.kind, e.name, earlier.kind, earlier.name
            )
        } else if e.namespace.is_some()
            && e.namespace == earlier.namespace
            && e.deployment == earlier.deployment
        {
            format!(
                "{} `{}` patches Deployment `{}/{}`, like {} `{}`",
                e.kind,
                e.name,
                e.namespace.unwrap_or_default(),
                e.deployment.unwrap_or_default(),
                earlier.kind,
                earlier.name
            )
        } else {
            continue;
        };
        let d = Diagnostic::of(&rules::EGRESS_DUPLICATE_NAME, message)
            .with_span(e.span)
            .with_help("names must be unique across proxies, sidecars and clients, and one Deployment gets one egress");
        errors.push(labelled(d, earlier.span, "also declared here"));
    }
}

#[cfg(test)]
mod tests {
    use crate::Network;

    /// A network of `egress`/`secrets` declarations (Nix text inside
    /// `avalanche.network`), decoded.
    fn network(declarations: &str) -> Network {
        let text = format!("{{ avalanche.network = {{ {declarations} }}; }}");
        let mut sources = avalanche_diag::SourceMap::default();
        let value = avalanche_nix::read_source(
            std::path::Path::new("nix/network.nix"),
            &text,
            &mut sources,
        )
        .unwrap_or_else(|d| panic!("{d:#?}"));
        let (network, diagnostics) = crate::decode(&value);
        network.unwrap_or_else(|| panic!("{diagnostics:#?}"))
    }

    const ICELAND: &str = r#"
        egress.providers.protonvpn = { credentials = "protonvpn"; };
        egress.proxies.iceland = { provider = "protonvpn"; countries = [ "Iceland" ]; };
    "#;
    const SECRET: &str =
        r#"secrets.protonvpn = { file = "s.sops.yaml"; keys = [ "WIREGUARD_PRIVATE_KEY" ]; };"#;

    fn messages(n: &Network) -> Vec<(String, String)> {
        match n.resolve() {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .into_iter()
                .map(|d| (d.rule.id.to_owned(), d.message))
                .collect(),
        }
    }

    #[test]
    fn a_resolved_network_links_every_reference() {
        let n = network(&format!(
            r#"{ICELAND} {SECRET} egress.clients.marmithon = {{ namespace = "irc"; proxy = "iceland"; }};"#
        ));
        let resolved = n.resolve().unwrap_or_else(|e| panic!("{e:#?}"));
        assert_eq!(resolved.proxies[0].vpn.secret_name, "protonvpn");
        assert_eq!(resolved.clients[0].proxy.name, "iceland");
        assert_eq!(resolved.clients_of("iceland").count(), 1);
    }

    #[test]
    fn messages_are_the_ones_the_nix_module_repeats() {
        // `tests/flake.rs` (`reference_assertions_use_the_resolvers_ids_and_words`)
        // expects these words from `nix/modules/network-options.nix` too.
        let n = network(&format!(
            r#"{ICELAND} {SECRET}
            egress.proxies.sweden = {{ provider = "mullvad"; countries = [ "Sweden" ]; }};
            egress.clients.bot = {{ namespace = "irc"; proxy = "icelnd"; }};"#
        ));
        assert_eq!(
            messages(&n),
            [
                (
                    "egress-unknown-provider".to_owned(),
                    "proxy `sweden` uses provider `mullvad`, which `egress.providers` does not declare".to_owned()
                ),
                (
                    "egress-unknown-proxy".to_owned(),
                    "client `bot` goes through upstream `icelnd`, which `egress.proxies` does not declare (nor `egress.gateways`)".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_providers_missing_secret_is_one_error_however_many_inherit_it() {
        let n = network(&format!(
            r#"{ICELAND}
            egress.proxies.netherlands = {{ provider = "protonvpn"; countries = [ "Netherlands" ]; }};
            egress.clients.seeder = {{ namespace = "media"; proxy = "iceland"; protocol = "sidecar"; }};"#
        ));
        assert_eq!(
            messages(&n),
            [(
                "egress-unknown-secret".to_owned(),
                "provider `protonvpn` uses credentials secret `protonvpn`, which `secrets` does not declare".to_owned()
            )]
        );
    }
}
