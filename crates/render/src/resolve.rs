//! Cross-references the renderer needs (proxy → provider → credentials secret,
//! client → proxy), resolved once, every dangling one reported at its Nix line.
//!
//! `check` reports the same problems with more context; rendering must still never
//! emit a manifest pointing at nothing, so it refuses on its own too.
use avalanche_diag::Diagnostic;
use avalanche_model::{
    Client, ExistingSecret, Gateway, Name, Network, Provider, Proxy, Sidecar, Spanned, Upstream,
};
use std::collections::BTreeMap;

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
    pub credentials: avalanche_model::Credentials<'a>,
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

/// Everything resolved.
#[derive(Debug, Default)]
pub struct Resolved<'a> {
    /// Proxies by name.
    pub proxies: Vec<ResolvedProxy<'a>>,
    /// Clients of a proxy, by name.
    pub clients: Vec<ResolvedClient<'a>>,
    /// Clients of a gateway, by name.
    pub gateway_clients: Vec<ResolvedGatewayClient<'a>>,
    /// Sidecars by name.
    pub sidecars: Vec<ResolvedSidecar<'a>>,
    /// Indices into `clients`, by proxy name.
    pub clients_by_proxy: BTreeMap<&'a str, Vec<usize>>,
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

fn vpn<'a>(
    net: &'a Network,
    provider: &'a Spanned<Name>,
    own_credentials: Option<&'a Spanned<Name>>,
    own_existing: Option<&'a ExistingSecret>,
    countries: &'a [Spanned<String>],
    // `("proxy", name)`: formatted only for an error, not for each of 10,000 proxies.
    (kind, name): (&str, &str),
    errors: &mut Vec<Diagnostic>,
) -> Option<Vpn<'a>> {
    let Some(p) = net.egress.providers.get(provider.as_str()) else {
        let known: Vec<&str> = net.egress.providers.keys().map(Name::as_str).collect();
        errors.push(
            Diagnostic::error(
                &avalanche_model::rules::UNKNOWN_PROVIDER,
                format!(
                    "{kind} `{name}` names provider `{}`, which is not declared",
                    provider.value
                ),
            )
            .with_span(provider.span)
            .with_help(known_help("egress.providers", &known)),
        );
        return None;
    };
    let creds = net.credentials(own_credentials, own_existing, p);
    let Some(secret_name) = creds.secret_name() else {
        let known: Vec<&str> = net.secrets.keys().map(Name::as_str).collect();
        let message = if creds.own {
            format!(
                "{kind} `{name}` takes its credentials from secret `{}`, which is not declared",
                creds.reference.value
            )
        } else {
            format!(
                "provider `{}` takes its credentials from secret `{}`, which is not declared",
                provider.value, creds.reference.value
            )
        };
        errors.push(
            Diagnostic::error(&avalanche_model::rules::UNKNOWN_SECRET, message)
                .with_span(creds.reference.span.or(p.span))
                .with_help(known_help("secrets", &known)),
        );
        return None;
    };
    Some(Vpn {
        provider: p,
        secret_name,
        secret_file: creds.sops_file(&net.kubernetes),
        credentials: creds,
        countries,
    })
}

fn known_help(option: &str, known: &[&str]) -> String {
    if known.is_empty() {
        format!("declare it under `{option}`")
    } else {
        format!(
            "declare it under `{option}`, or use one of: {}",
            known.join(", ")
        )
    }
}

/// Resolves every reference; `Err` holds one located error per dangling reference.
pub fn resolve(net: &Network) -> Result<Resolved<'_>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut out = Resolved::default();
    for (name, proxy) in &net.egress.proxies {
        let what = ("proxy", name.as_str());
        let own = proxy.credentials.as_ref();
        if let Some(vpn) = vpn(
            net,
            &proxy.provider,
            own,
            proxy.existing_secret.as_ref(),
            &proxy.countries,
            what,
            &mut errors,
        ) {
            out.proxies.push(ResolvedProxy {
                name: name.as_str(),
                proxy,
                vpn,
            });
        }
    }
    let by_name: BTreeMap<&str, ResolvedProxy<'_>> =
        out.proxies.iter().map(|p| (p.name, *p)).collect();
    for (name, client) in &net.egress.clients {
        let upstream = net.upstream(client);
        if let Some(up) = upstream
            && !up.serves(client.protocol.value)
        {
            // `check` explains it (`egress-upstream-protocol`); never render it.
            errors.push(
                Diagnostic::error(
                    &avalanche_model::rules::UPSTREAM_PROTOCOL,
                    format!(
                        "client `{name}` uses `protocol = \"{}\"`, which `{}` does not serve",
                        client.protocol.value.as_str(),
                        up.name()
                    ),
                )
                .with_span(client.protocol.span.or(client.span)),
            );
            continue;
        }
        match upstream {
            // A proxy whose provider is unknown is not in `by_name`: that is reported.
            Some(Upstream::Proxy(..)) => {
                if let Some(proxy) = by_name.get(client.proxy.as_str()) {
                    out.clients_by_proxy
                        .entry(proxy.name)
                        .or_default()
                        .push(out.clients.len());
                    out.clients.push(ResolvedClient {
                        name: name.as_str(),
                        client,
                        proxy: *proxy,
                    });
                }
            }
            Some(Upstream::Gateway(gateway_name, gateway)) => {
                out.gateway_clients.push(ResolvedGatewayClient {
                    name: name.as_str(),
                    client,
                    gateway_name: gateway_name.as_str(),
                    gateway,
                });
            }
            None => {
                let known: Vec<&str> = net
                    .egress
                    .proxies
                    .keys()
                    .chain(net.egress.gateways.keys())
                    .map(Name::as_str)
                    .collect();
                errors.push(
                    Diagnostic::error(
                        &avalanche_model::rules::UNKNOWN_PROXY,
                        format!(
                            "client `{name}` goes through `{}`, which is neither a declared proxy nor a gateway",
                            client.proxy.value
                        ),
                    )
                    .with_span(client.proxy.span.or(client.span))
                    .with_help(known_help("egress.proxies` or `egress.gateways", &known)),
                );
            }
        }
    }
    for (name, sidecar) in &net.egress.sidecars {
        let what = ("sidecar", name.as_str());
        if let Some(vpn) = vpn(
            net,
            &sidecar.provider,
            sidecar.credentials.as_ref(),
            sidecar.existing_secret.as_ref(),
            &sidecar.countries,
            what,
            &mut errors,
        ) {
            out.sidecars.push(ResolvedSidecar {
                name: name.as_str(),
                sidecar,
                vpn,
            });
        }
    }
    for (name, client) in &net.egress.clients {
        let sidecar = net.egress.sidecars.get(name.as_str());
        if sidecar.is_some_and(|s| s.namespace.value == client.namespace.value) {
            errors.push(
                Diagnostic::error(
                    &avalanche_model::rules::DUPLICATE_EGRESS,
                    format!(
                        "`{name}` in namespace `{}` is both a client and a sidecar",
                        client.namespace.value
                    ),
                )
                .with_span(client.span)
                .with_help(
                    "keep one: a client goes through a shared proxy, a sidecar has its own gluetun",
                ),
            );
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
