//! Egress consistency: references, names, secrets' creation rules, and the
//! hand-written app manifests the generated parts plug into.
use crate::facts::{KubeDoc, Loc};
use crate::list_edit::Refusal;
use crate::wiring::{self, Need, Purpose};
use crate::{Checker, label, list, rules};
use avalanche_diag::Span;
use avalanche_model::{
    ClientProtocol, ExistingSecret, Name, Provider, SecretFormat, SecretsBackend, Spanned, Speaks,
    VpnType,
};
use std::collections::{BTreeMap, HashMap};

pub(crate) fn check(cx: &mut Checker<'_>) {
    references(cx);
    shared_keys(cx);
    port_forwarding(cx);
    no_proxy_fence(cx);
    credential_keys(cx);
    credential_files(cx);
    secrets(cx);
    without_ksops(cx);
    existing_keys(cx);
    apps(cx);
}

/// The cross-references between declarations, as the model resolves them (the
/// one place they are checked: `render` refuses on the same errors).
fn references(cx: &mut Checker<'_>) {
    cx.out.extend_from_slice(cx.unresolved);
}

/// One running gluetun (or a group of identical replicas).
struct Instance<'a> {
    kind: &'static str,
    name: &'a str,
    span: Option<Span>,
    provider: Option<&'a Provider>,
    own_credentials: Option<&'a Spanned<Name>>,
    own_existing: Option<&'a ExistingSecret>,
    /// The namespace it runs in (where an existing Secret must be).
    namespace: &'a str,
    replicas: u32,
}

/// Every gluetun the network runs: the proxies, the sidecars, and the clients with
/// `protocol = "sidecar"` (their own gluetun, configured like their proxy).
fn instances(net: &avalanche_model::Network) -> Vec<Instance<'_>> {
    let egress = &net.egress;
    let mut out = Vec::new();
    for (name, p) in &egress.proxies {
        out.push(Instance {
            kind: "proxy",
            name: name.as_str(),
            span: p.span,
            provider: egress.providers.get(p.provider.as_str()),
            own_credentials: p.credentials.as_ref(),
            own_existing: p.existing_secret.as_ref(),
            namespace: avalanche_model::defaults::PROXY_NAMESPACE,
            replicas: p.replicas,
        });
    }
    for (name, s) in &egress.sidecars {
        out.push(Instance {
            kind: "sidecar",
            name: name.as_str(),
            span: s.span,
            provider: egress.providers.get(s.provider.as_str()),
            own_credentials: s.credentials.as_ref(),
            own_existing: s.existing_secret.as_ref(),
            namespace: s.namespace.as_str(),
            replicas: 1,
        });
    }
    for (name, c) in &egress.clients {
        if c.protocol.value != ClientProtocol::Sidecar {
            continue;
        }
        let Some(p) = egress.proxies.get(c.proxy.as_str()) else {
            continue;
        };
        out.push(Instance {
            kind: "client",
            name: name.as_str(),
            span: c.span,
            provider: egress.providers.get(p.provider.as_str()),
            own_credentials: p.credentials.as_ref(),
            own_existing: p.existing_secret.as_ref(),
            namespace: c.namespace.as_str(),
            replicas: 1,
        });
    }
    out
}

/// Where to point for an instance's key: its own `credentials` when it wrote one,
/// else the instance (a client borrows its proxy's settings).
fn at(creds: &avalanche_model::Credentials<'_>, i: &Instance<'_>) -> Option<Span> {
    if creds.own && i.kind != "client" {
        creds.reference.span.or(i.span)
    } else {
        i.span
    }
}

/// The running gluetuns on one secret, and the instances (with where to point).
type Sharing = (u64, Vec<(String, Option<Span>)>);

/// Running WireGuard gluetuns resolving to the same secret (so the same
/// `WIREGUARD_PRIVATE_KEY`), a proxy's replicas included: one finding per shared
/// secret (a network of thousands of proxies on one key gets one, not thousands).
fn shared_keys(cx: &mut Checker<'_>) {
    let net = cx.network;
    // Secret → (running gluetuns, the instances in declaration order with where to point).
    let mut by_secret: BTreeMap<String, Sharing> = BTreeMap::new();
    for i in instances(net) {
        let Some(provider) = i.provider else { continue };
        if provider.vpn_type.value != VpnType::Wireguard {
            continue;
        }
        let creds = net.credentials(i.own_credentials, i.own_existing, provider);
        // A declared secret is one key wherever it is decrypted; an existing
        // Secret is one per namespace.
        let secret = match (creds.existing, creds.secret) {
            (Some(e), _) => format!("{}/{}", i.namespace, e.name.value),
            (None, Some((name, _))) => name.to_owned(),
            (None, None) => continue,
        };
        let what = if i.replicas > 1 {
            format!("{} `{}` ({} replicas)", i.kind, i.name, i.replicas)
        } else {
            format!("{} `{}`", i.kind, i.name)
        };
        let entry = by_secret.entry(secret).or_default();
        entry.0 += u64::from(i.replicas.max(1));
        entry.1.push((what, at(&creds, &i)));
    }
    const SHOWN: usize = 4;
    for (secret, (running, users)) in by_secret {
        if running < 2 {
            continue;
        }
        let names: Vec<&str> = users.iter().map(|(w, _)| w.as_str()).collect();
        let listed = match names.len() {
            n if n > SHOWN => format!("{}, and {} more", names[..SHOWN].join(", "), n - SHOWN),
            1 => names[0].to_owned(),
            n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
        };
        let message = format!(
            "{running} running gluetuns use the same WireGuard key (`WIREGUARD_PRIVATE_KEY` of secret `{secret}`): {listed}"
        );
        // Point at the second user (the first to share), or at the one with replicas.
        let primary = if users.len() > 1 { 1 } else { 0 };
        let d = cx.emit(&rules::EGRESS_SHARED_KEY, message, users[primary].1);
        d.notes.push(
            "two tunnels with one key are one peer for the VPN server: it answers whichever spoke last, and the other stops receiving".into(),
        );
        d.help = Some(
            "create a WireGuard key per gluetun at the provider, declare a secret for each, and set `credentials = \"<secret>\";` on each proxy or sidecar; keep `replicas = 1` on WireGuard proxies"
                .into(),
        );
        for (k, (_, span)) in users.iter().enumerate().take(SHOWN + 1) {
            if k != primary {
                label(d, *span, "same key");
            }
        }
    }
}

/// Port forwarding only on providers gluetun forwards ports for: with another,
/// gluetun exits at start (`VPN_PORT_FORWARDING=on`).
fn port_forwarding(cx: &mut Checker<'_>) {
    let egress = &cx.network.egress;
    for (name, s) in &egress.sidecars {
        if !s.port_forwarding {
            continue;
        }
        let Some(provider) = egress.providers.get(s.provider.as_str()) else {
            continue; // egress-unknown-provider
        };
        let service = provider.service.value.as_str();
        if avalanche_model::gluetun::forwards_ports(service) {
            continue;
        }
        let message = format!(
            "sidecar `{name}` asks for port forwarding, but gluetun forwards ports only for {}, not `{service}` (provider `{}`): it would exit at start",
            list(avalanche_model::gluetun::PORT_FORWARDING_PROVIDERS),
            s.provider.value
        );
        let d = cx.emit(&rules::EGRESS_PORT_FORWARDING_PROVIDER, message, s.span);
        d.help = Some(format!(
            "set `egress.sidecars.{name}.portForwarding = false;`, or use a provider that forwards ports"
        ));
        label(
            d,
            provider.service.span.or(provider.span),
            "the provider's service",
        );
    }
}

/// An enforced HTTP client's `NO_PROXY` sends its allowed CIDRs direct; a CIDR
/// inside the pod or service network is one the fence's `ipBlock` may not match
/// (Service addresses are translated before the policy sees them, and pods are
/// selected by labels), so the calls `NO_PROXY` sends there may be dropped.
fn no_proxy_fence(cx: &mut Checker<'_>) {
    let k = &cx.network.kubernetes;
    let cluster = [
        ("podCIDR", &k.pod_cidr.value),
        ("serviceCIDR", &k.service_cidr.value),
    ];
    for (name, c) in &cx.network.egress.clients {
        if !c.enforce || c.protocol.value != ClientProtocol::Http {
            continue;
        }
        for d in &c.allowed_destinations {
            let avalanche_model::Destination::Cidr { cidr, .. } = &d.value else {
                continue;
            };
            let Some((option, net)) = cluster.iter().find(|(_, n)| n.overlaps(cidr)) else {
                continue;
            };
            let message = format!(
                "client `{name}`: `NO_PROXY` sends `{cidr}` direct, but it is inside `{option}` ({}), where the fence's `ipBlock` does not reliably match: those calls may be dropped",
                net.canonical()
            );
            let d = cx.emit(&rules::EGRESS_NO_PROXY_FENCE, message, d.span.or(c.span));
            d.help = Some(
                "allow the pods instead: `{ namespace = \"<namespace>\"; podLabels = { … }; ports = [ … ]; services = [ … ]; }`".into(),
            );
        }
    }
    hand_written_no_proxy(cx);
}

/// A hand-written `NO_PROXY` in an enforced client's own workload manifest that
/// sends direct what its fence drops: `*`, in-cluster names of undeclared
/// Services (`.svc`, the cluster domain), cluster or other undeclared addresses,
/// names outside its declared destinations. The generated Component sets
/// `NO_PROXY` on the container named like the Deployment; the hand-written value
/// still holds in every other container, and wherever the Component is not wired.
fn hand_written_no_proxy(cx: &mut Checker<'_>) {
    let net = cx.network;
    let k = &net.kubernetes;
    let facts = cx.facts;
    let enforced: Vec<(&Name, &avalanche_model::Client)> = net
        .egress
        .clients
        .iter()
        .filter(|(_, c)| {
            c.enforce
                && matches!(
                    c.protocol.value,
                    ClientProtocol::Http | ClientProtocol::Socks5
                )
        })
        .collect();
    if enforced.is_empty() {
        return;
    }
    let by_dir: HashMap<&str, &KubeDoc> = facts
        .kube_docs
        .iter()
        .filter(|d| d.resources.is_some())
        .map(|d| (wiring::parent(&d.path), d))
        .collect();
    for doc in &facts.kube_docs {
        if doc.no_proxy_env.is_empty() || doc.pod_labels.is_none() {
            continue;
        }
        let Some(workload) = doc.name.as_deref() else {
            continue;
        };
        let namespace = crate::egress_undeclared::namespace_of(doc, &by_dir);
        let Some((name, client)) = enforced.iter().find(|(_, c)| {
            c.deployment.value.as_str() == workload
                && namespace
                    .as_deref()
                    .is_none_or(|n| n == c.namespace.value.as_str())
        }) else {
            continue;
        };
        let allowed = client.enforced_no_proxy(&k.cluster_domain);
        let cidrs: Vec<&avalanche_model::Cidr> = client
            .allowed_destinations
            .iter()
            .filter_map(|d| match &d.value {
                avalanche_model::Destination::Cidr { cidr, .. } => Some(cidr),
                avalanche_model::Destination::Pods { .. } => None,
            })
            .collect();
        for value in &doc.no_proxy_env {
            let blocked: Vec<String> = value
                .value
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .filter_map(|entry| {
                    no_proxy_entry_blocked(entry, &allowed, &cidrs, k)
                        .map(|why| format!("`{entry}` ({why})"))
                })
                .collect();
            if blocked.is_empty() {
                continue;
            }
            let message = format!(
                "`NO_PROXY` of `{}/{workload}` sends direct what client `{name}`'s fence drops: {}",
                client.namespace.value,
                blocked.join(", ")
            );
            let span = cx.span(&value.loc);
            let d = cx.emit(&rules::EGRESS_NO_PROXY_FENCE, message, Some(span));
            d.help = Some(format!(
                "remove it (the generated Component sets `NO_PROXY={}` on container `{workload}`), or write that value; \
                 declare what the app must reach directly in `egress.clients.{name}.allowedDestinations` \
                 (pods with `services = [ … ];` for the names it calls, or a `cidr`)",
                allowed.join(",")
            ));
        }
    }
}

/// Why one hand-written `NO_PROXY` entry sends direct what an enforced client's
/// fence drops, or `None` when it is loopback, one of the generated entries
/// (`allowed`), or an address inside a declared `cidr` destination. Entries match
/// as curl and Go read them: a name covers itself and every name under it.
fn no_proxy_entry_blocked(
    entry: &str,
    allowed: &[String],
    cidrs: &[&avalanche_model::Cidr],
    k: &avalanche_model::Kubernetes,
) -> Option<String> {
    let entry = entry.to_ascii_lowercase();
    if allowed.contains(&entry) {
        return None;
    }
    if entry == "*" {
        return Some("every host".into());
    }
    // An address or a network (`10.0.0.5`, `[::1]`, `10.96.0.0/12`).
    let bare = entry.trim_start_matches('[').trim_end_matches(']');
    let net = bare
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| {
            let len = if ip.is_ipv4() { 32 } else { 128 };
            format!("{ip}/{len}")
        })
        .or_else(|| bare.contains('/').then(|| bare.to_owned()))
        .and_then(|n| avalanche_model::Cidr::parse(&n).ok());
    if let Some(net) = net {
        let net = net.canonical();
        if net.0.addr().is_loopback() && net.0.network().is_loopback() {
            return None;
        }
        if cidrs.iter().any(|c| c.canonical().0.contains(&net.0)) {
            return None;
        }
        for (option, cluster) in [
            ("podCIDR", &k.pod_cidr.value),
            ("serviceCIDR", &k.service_cidr.value),
        ] {
            if cluster.overlaps(&net) {
                return Some(format!(
                    "inside `{option}` {}: pods and Services it was not allowed",
                    cluster.canonical()
                ));
            }
        }
        return Some("an address no `cidr` destination allows".into());
    }
    // A name: drop a port, a leading `*.` or `.`.
    let name = entry.rsplit_once(':').map_or(entry.as_str(), |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            entry.as_str()
        }
    });
    let name = name.trim_start_matches("*.").trim_start_matches('.');
    if name == "localhost" || name.ends_with(".localhost") {
        return None;
    }
    if allowed.iter().any(|a| a == name) {
        return None;
    }
    let domain = k.cluster_domain.as_str();
    let in_cluster = name == "svc"
        || name.ends_with(".svc")
        || name == domain
        || name.ends_with(&format!(".{domain}"))
        || domain.ends_with(&format!(".{name}"));
    Some(if in_cluster {
        "in-cluster names of Services it was not allowed".into()
    } else if cidrs.is_empty() {
        "a name outside its declared destinations".into()
    } else {
        "a name outside its declared destinations, unless it resolves inside a declared `cidr`"
            .into()
    })
}

/// Every key of its credentials Secret a gluetun reads (`secretKeyRef`) is a
/// declared key of that secret: a missing key keeps the pod from starting
/// (`CreateContainerConfigError`), and `secrets seal` writes only declared keys.
fn credential_keys(cx: &mut Checker<'_>) {
    let net = cx.network;
    // Secret → the keys read, each with its first reader.
    let mut needed: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    for i in instances(net) {
        let Some(provider) = i.provider else { continue };
        let creds = net.credentials(i.own_credentials, i.own_existing, provider);
        let Some((secret, _)) = creds.secret else {
            continue; // egress-unknown-secret
        };
        let mut keys = avalanche_model::gluetun::credential_keys(provider.vpn_type.value).to_vec();
        if i.kind == "proxy" {
            keys.push(avalanche_model::gluetun::SHADOWSOCKS_PASSWORD_KEY);
        }
        for key in keys {
            needed
                .entry(secret)
                .or_default()
                .entry(key)
                .or_insert_with(|| format!("{} `{}`", i.kind, i.name));
        }
    }
    for (secret_name, keys) in needed {
        let Some(secret) = net.secrets.get(secret_name) else {
            continue;
        };
        let missing: Vec<(&str, &String)> = keys
            .iter()
            .filter(|(k, _)| !secret.keys.iter().any(|d| d.value == **k))
            .map(|(k, who)| (*k, who))
            .collect();
        if missing.is_empty() {
            sealed_keys(cx, secret_name, secret, &keys);
            continue;
        }
        let names: Vec<&str> = missing.iter().map(|(k, _)| *k).collect();
        let (first, who) = missing[0];
        let message = format!(
            "secret `{secret_name}` does not declare {} that the generated gluetun reads ({who} reads `{first}`): its pod would not start",
            list(&names)
        );
        let at = secret.keys.first().and_then(|k| k.span).or(secret.span);
        let d = cx.emit(&rules::EGRESS_SECRET_KEY_MISSING, message, at);
        let quoted: Vec<String> = names.iter().map(|k| format!("\"{k}\"")).collect();
        d.help = Some(format!(
            "add {} to `secrets.{secret_name}.keys`, then `avalanche-net secrets seal {secret_name}`",
            quoted.join(" ")
        ));
    }
}

/// The keys a gluetun reads must also be in the sealed file, not only declared:
/// a file sealed before a key was declared (or by hand) lacks it, and the pod
/// would not start. sops keeps key names in plaintext: read, never decrypted.
fn sealed_keys(
    cx: &mut Checker<'_>,
    secret_name: &str,
    secret: &avalanche_model::Secret,
    keys: &BTreeMap<&str, String>,
) {
    let file = secret.file.value.as_str();
    let Some(text) = cx.facts.text(file) else {
        return; // secret-file-missing
    };
    if !avalanche_sops::scan::is_sops(text) {
        return; // secret-file-unsealed
    }
    let Some(present) = avalanche_sops::scan::key_names(text) else {
        return;
    };
    let missing: Vec<(&str, &String)> = keys
        .iter()
        .filter(|(k, _)| !present.iter().any(|p| p == *k))
        .map(|(k, who)| (*k, who))
        .collect();
    let Some((first, who)) = missing.first() else {
        return;
    };
    let names: Vec<&str> = missing.iter().map(|(k, _)| *k).collect();
    let message = format!(
        "`{file}` (secret `{secret_name}`) is sealed without {} that the generated gluetun reads ({who} reads `{first}`; the file has {}): its pod would not start",
        list(&names),
        if present.is_empty() {
            "no key".to_owned()
        } else {
            list(present.iter().map(String::as_str).collect::<Vec<_>>())
        }
    );
    let d = cx.emit(
        &rules::EGRESS_SECRET_KEY_MISSING,
        message,
        secret.file.span.or(secret.span),
    );
    d.help = Some(format!(
        "seal it again with every declared key: `avalanche-net secrets seal {secret_name}`"
    ));
}

/// A secret a gluetun or a gateway reads must have its SOPS file in the
/// repository, sealed, before the manifests that read it are deployed: else KSOPS
/// (or Flux, or sops-nix) fails in the cluster (on the host), far from the cause.
/// Both are errors, so `build` into the repository waits for `secrets seal`;
/// `diff` and `build --out DIR` still preview.
fn credential_files(cx: &mut Checker<'_>) {
    let net = cx.network;
    let mut readers: BTreeMap<&str, String> = BTreeMap::new();
    for i in instances(net) {
        let Some(provider) = i.provider else { continue };
        if let Some((secret, _)) = net
            .credentials(i.own_credentials, i.own_existing, provider)
            .secret
        {
            readers
                .entry(secret)
                .or_insert_with(|| format!("{} `{}`", i.kind, i.name));
        }
    }
    for (name, g) in &net.egress.gateways {
        readers
            .entry(g.tunnel.private_key_secret.as_str())
            .or_insert_with(|| format!("gateway `{name}`"));
    }
    for (secret_name, who) in readers {
        let Some(secret) = net.secrets.get(secret_name) else {
            continue;
        };
        let file = secret.file.value.as_str();
        let dir = format!("{}/", file.trim_end_matches('/'));
        if cx.facts.paths.iter().any(|p| p.starts_with(&dir)) {
            continue; // a directory: secret-file-directory
        }
        let span = secret.file.span.or(secret.span);
        if !cx.facts.is_tracked(file) {
            let message = format!(
                "`{file}`, the file of secret `{secret_name}` that {who} reads, does not exist: it would fail to decrypt where it is deployed"
            );
            cx.emit(&rules::SECRET_FILE_MISSING, message, span).help = Some(format!(
                "`avalanche-net secrets seal {secret_name}` writes it (only the `.sops.yaml` recipients' public keys are needed), or correct `secrets.{secret_name}.file`"
            ));
        } else if cx.facts.text(file).is_some() && !cx.facts.is_sealed(file) {
            // Read, and no SOPS metadata in it (a file that could not be read is
            // reported where it was skipped, not called plaintext).
            let message = format!(
                "`{file}`, the file of secret `{secret_name}` that {who} reads, has no SOPS metadata: it is not sealed (its values are in the clear) and would fail to decrypt where it is deployed"
            );
            cx.emit(&rules::SECRET_FILE_UNSEALED, message, span).help = Some(format!(
                "move the file out of the repository, run `avalanche-net secrets seal {secret_name}` (values from the environment or a prompt), and rotate the values if they were ever committed"
            ));
        }
    }
}

/// `kubernetes.secrets = "none"`: nothing in the cluster decrypts a SOPS-sealed
/// Kubernetes secret, so every one declared is a Secret that never appears.
fn without_ksops(cx: &mut Checker<'_>) {
    let kubernetes = &cx.network.kubernetes;
    if kubernetes.secrets.value != SecretsBackend::None {
        return;
    }
    for (name, secret) in &cx.network.secrets {
        if secret.format != SecretFormat::Kubernetes {
            continue;
        }
        let message = format!(
            "secret `{name}` is a SOPS-sealed Kubernetes Secret, but `kubernetes.secrets = \"none\"` says the cluster has no KSOPS to decrypt it"
        );
        let d = cx.emit(&rules::EGRESS_SECRET_NO_KSOPS, message, secret.span);
        label(d, kubernetes.secrets.span, "no KSOPS");
        // What `"ksops"` (the default) means depends on who decrypts.
        let decrypts = match kubernetes.gitops.value {
            avalanche_model::GitOps::ArgoCd => "if Argo CD runs KSOPS".to_owned(),
            avalanche_model::GitOps::Flux => {
                "to have Flux decrypt the sealed file itself (`decryption.provider: sops`)"
                    .to_owned()
            }
            avalanche_model::GitOps::None => format!(
                "if you apply the tree through KSOPS (`{}`)",
                avalanche_model::layout::KSOPS_BUILD
            ),
        };
        d.help = Some(format!(
            "reference the Secret the cluster already has instead: replace `credentials = \"{name}\";` with `existingSecret = {{ name = \"<Secret>\"; keys = {{ WIREGUARD_PRIVATE_KEY = \"<key>\"; }}; }};` and delete `secrets.{name}`; or set `kubernetes.secrets = \"ksops\";` {decrypts}"
        ));
    }
}

/// Each `existingSecret` the repository makes (a `Secret`, `ExternalSecret` or
/// `SealedSecret` in the gluetun's namespace) provides every key gluetun reads
/// from it. A Secret made outside the repository is taken on trust.
fn existing_keys(cx: &mut Checker<'_>) {
    let net = cx.network;
    let facts = cx.facts;
    let mut seen = std::collections::BTreeSet::new();
    for i in instances(net) {
        let Some(provider) = i.provider else { continue };
        let creds = net.credentials(i.own_credentials, i.own_existing, provider);
        let Some(existing) = creds.existing else {
            continue;
        };
        let name = existing.name.as_str();
        if !seen.insert((i.namespace, name, std::ptr::from_ref(existing))) {
            continue;
        }
        let makers: Vec<&KubeDoc> = facts
            .kube_docs
            .iter()
            .filter(|d| d.makes_secret.as_ref().is_some_and(|m| m.name == name))
            .filter(|d| doc_namespace(facts, d).is_none_or(|ns| ns == i.namespace))
            .collect();
        let [maker] = makers.as_slice() else {
            continue; // none, or several: not ours to judge
        };
        let Some(keys) = maker.makes_secret.as_ref().and_then(|m| m.keys.as_ref()) else {
            continue;
        };
        let mut vars: Vec<&str> = match provider.vpn_type.value {
            VpnType::Wireguard => vec!["WIREGUARD_PRIVATE_KEY", "WIREGUARD_ADDRESSES"],
            VpnType::Openvpn => vec!["OPENVPN_USER", "OPENVPN_PASSWORD"],
        };
        if i.kind == "proxy" {
            vars.push("SHADOWSOCKS_PASSWORD");
        }
        let missing: Vec<String> = vars
            .iter()
            .filter(|v| !keys.iter().any(|k| k == existing.key(v)))
            .map(|v| format!("`{}` (for {v})", existing.key(v)))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let kind = maker.kind.as_ref().map_or("manifest", |k| k.value.as_str());
        let message = format!(
            "{} `{}` reads its credentials from Secret `{name}`, but the {kind} in `{}` that makes it has no key {}",
            i.kind,
            i.name,
            maker.path,
            missing.join(", ")
        );
        let at = existing
            .keys
            .values()
            .find_map(|k| k.span)
            .or(existing.span)
            .or(i.span);
        let maker_at = maker.kind.as_ref().map(|k| cx.span(&k.loc));
        let d = cx.emit(&rules::EGRESS_EXISTING_SECRET_KEYS, message, at);
        let have: Vec<&str> = keys.iter().map(String::as_str).collect();
        d.help = Some(format!(
            "map each variable to a key the Secret has ({}): `keys = {{ WIREGUARD_PRIVATE_KEY = \"<key>\"; … }};`, or add the keys to `{}`",
            list(&have),
            maker.path
        ));
        label(d, maker_at, "makes the Secret");
    }
}

/// The namespace a document lands in: its own, else its kustomization's.
fn doc_namespace<'f>(facts: &'f crate::RepoFacts, d: &'f KubeDoc) -> Option<&'f str> {
    d.namespace.as_deref().or_else(|| {
        let dir = parent(&d.path);
        facts
            .kube_docs
            .iter()
            .find(|k| k.components.is_some() && parent(&k.path) == dir)
            .and_then(|k| k.kustomization_namespace.as_deref())
    })
}

fn secrets(cx: &mut Checker<'_>) {
    let facts = cx.facts;
    let sops = facts.sops.as_ref();
    if sops.is_none() && !facts.sops_problems.is_empty() {
        return; // `.sops.yaml` is unreadable: already reported.
    }
    let matcher = cx.sops_matcher.clone();
    let no_ksops = cx.network.kubernetes.secrets.value == SecretsBackend::None;
    for (name, secret) in &cx.network.secrets {
        let file = secret.file.value.as_str();
        if no_ksops && secret.format == SecretFormat::Kubernetes {
            // Reported once by `without_ksops`: its creation rule does not matter.
            continue;
        }
        let matched = match (sops, &matcher) {
            (Some(sops), Some(m)) => m.first(sops, file).is_some(),
            _ => false,
        };
        if matched {
            continue;
        }
        let message = match sops {
            Some(_) => format!(
                "no creation rule of `.sops.yaml` matches `{file}`, the file of secret `{name}`"
            ),
            None => format!(
                "secret `{name}` is declared but there is no `.sops.yaml` to say who may read `{file}`"
            ),
        };
        cx.emit(
            &rules::EGRESS_SECRET_NO_RULE,
            message,
            secret.file.span.or(secret.span),
        )
        .help = Some("add a creation rule whose `path_regex` matches the file".into());
    }
}

use crate::wiring::app_dir;

/// The Kubernetes documents looked up per client, indexed once (a scan of all of
/// them per client would be quadratic at thousands of clients).
struct DocIndex<'f> {
    /// Workloads (documents with pod labels) by `metadata.name`, in file order.
    workloads: HashMap<&'f str, Vec<&'f KubeDoc>>,
    /// The first kustomization document of each file.
    kustomization_at: HashMap<&'f str, &'f KubeDoc>,
    /// The first kustomization document of each directory.
    kustomization_in: HashMap<&'f str, &'f KubeDoc>,
}

impl<'f> DocIndex<'f> {
    fn new(docs: &'f [KubeDoc]) -> DocIndex<'f> {
        let mut index = DocIndex {
            workloads: HashMap::new(),
            kustomization_at: HashMap::new(),
            kustomization_in: HashMap::new(),
        };
        for d in docs {
            if d.pod_labels.is_some()
                && let Some(name) = d.name.as_deref()
            {
                index.workloads.entry(name).or_default().push(d);
            }
            if d.components.is_some() {
                index.kustomization_at.entry(d.path.as_str()).or_insert(d);
                if let Some((dir, _)) = d.path.rsplit_once('/') {
                    index.kustomization_in.entry(dir).or_insert(d);
                }
            }
        }
        index
    }
}

/// What a client's `protocol` needs the app to speak (`None`: nothing, a sidecar
/// is transparent).
pub(crate) fn protocol_needs(protocol: ClientProtocol) -> Option<Speaks> {
    match protocol {
        ClientProtocol::Http => Some(Speaks::HttpConnect),
        ClientProtocol::Shadowsocks => Some(Speaks::Shadowsocks),
        ClientProtocol::Socks5 => Some(Speaks::Socks5),
        ClientProtocol::Sidecar => None,
    }
}

/// Each client's `protocol` is one its app speaks, when `speaks` says.
fn carried(cx: &mut Checker<'_>) {
    for (name, c) in &cx.network.egress.clients {
        let (Some(speaks), Some(need)) = (&c.speaks, protocol_needs(c.protocol.value)) else {
            continue;
        };
        if speaks.value.contains(&need) {
            continue;
        }
        let said: Vec<&str> = speaks.value.iter().map(|s| s.as_str()).collect();
        let message = format!(
            "client `{name}` goes out with `protocol = \"{}\"`, which needs an app speaking {}, but it speaks {}: the proxy cannot carry its traffic",
            c.protocol.value.as_str(),
            need.as_str(),
            list(&said)
        );
        let fix = if speaks.value.contains(&Speaks::Socks5)
            && !cx.network.egress.gateways.is_empty()
        {
            "set `protocol = \"socks5\";` and go through an egress gateway (`proxy = \"<gateway>\";`)"
        } else if speaks.value.contains(&Speaks::Shadowsocks) {
            "set `protocol = \"shadowsocks\";`, or `protocol = \"sidecar\";` (its own gluetun)"
        } else if speaks.value.contains(&Speaks::HttpConnect) {
            "set `protocol = \"http\";`, or `protocol = \"sidecar\";` (its own gluetun)"
        } else {
            "set `protocol = \"sidecar\";` (gluetun v3.41 serves no SOCKS5, and a sidecar is transparent to the app), or declare an egress gateway and use `protocol = \"socks5\";`"
        };
        let d = cx.emit(
            &rules::EGRESS_CLIENT_PROTOCOL,
            message,
            speaks.span.or(c.protocol.span).or(c.span),
        );
        d.help = Some(fix.to_owned());
        d.subject = Some(name.to_string());
        label(d, c.protocol.span, "the protocol");
    }
}

fn apps(cx: &mut Checker<'_>) {
    let network = cx.network;
    carried(cx);
    let index = DocIndex::new(&cx.facts.kube_docs);
    for (name, c) in &network.egress.clients {
        // A sidecar-protocol client carries its own gluetun: no proxy ingress to pass.
        if c.protocol.value != ClientProtocol::Sidecar {
            admitted(
                cx,
                &index,
                name.as_str(),
                c.namespace.value.as_str(),
                c.deployment.value.as_str(),
                &c.pod_labels,
                c.span,
            );
        }
    }
    existing_gluetuns(cx, &index);
    wired(cx);
}

/// The generated components and Application are wired into the hand-written
/// kustomizations (see [`crate::wiring`]).
fn wired(cx: &mut Checker<'_>) {
    let facts = cx.facts;
    let plan = wiring::plan(cx.network, facts);
    // "Argo CD Application" or "Flux Kustomization" (none is generated without a
    // GitOps engine, so no Application need arises then).
    let registration = cx
        .network
        .kubernetes
        .gitops
        .value
        .registration()
        .unwrap_or("registration");
    for (purpose, need) in &plan.needs {
        match (purpose, need) {
            (_, Need::Present) => {}
            (Purpose::Component { name, span }, Need::Refused(r)) if r.missing => {
                let dir = r.path.rsplit_once('/').map_or("", |(d, _)| d);
                let message = format!(
                    "`{name}` has no kustomization at `{}` to use its generated `vpn-egress` component",
                    r.path
                );
                let d = cx.emit(&rules::EGRESS_COMPONENT_MISSING, message, *span);
                d.subject = Some(name.clone());
                d.path = Some(r.path.clone());
                d.help = Some(format!(
                    "write `{dir}/kustomization.yaml` with the app's resources and the lines {}",
                    list(r.refusal.lines_to_add.lines())
                ));
            }
            (Purpose::Component { name, .. }, Need::Refused(r)) => {
                let span = key_span(cx, &r.path, "components");
                let message = format!(
                    "`{}` cannot be edited safely to list the generated component `vpn-egress`: {}",
                    r.path, r.refusal.reason
                );
                let d = cx.emit(&rules::EGRESS_COMPONENT_MISSING, message, Some(span));
                d.subject = Some(name.clone());
                d.path = Some(r.path.clone());
                d.help = Some(add_help(&r.path, "components", &r.refusal, false));
            }
            (Purpose::Component { name, .. }, Need::Edit(e)) => {
                let component = format!(
                    "{}/{}/",
                    parent(&e.path),
                    avalanche_model::layout::COMPONENT_DIR
                );
                let built = facts
                    .paths
                    .iter()
                    .any(|p| p.starts_with(&component) && !p.ends_with(".tmp"));
                // Before the first build, the component and its entry arrive together.
                if cx.options.build_wires || !built {
                    continue;
                }
                let span = key_span(cx, &e.path, "components");
                let message = format!(
                    "`{}` does not list the generated component `vpn-egress` under `components:`",
                    e.path
                );
                let refusal = edit_lines(e);
                let d = cx.emit(&rules::EGRESS_COMPONENT_MISSING, message, Some(span));
                d.subject = Some(name.clone());
                d.path = Some(e.path.clone());
                d.help = Some(add_help(&e.path, "components", &refusal, true));
            }
            (
                Purpose::Flat {
                    name,
                    span,
                    manifest,
                    component,
                },
                Need::Refused(r),
            ) => {
                let message = if r.missing {
                    format!(
                        "`{name}`'s generated egress component `{component}` would be applied by nothing: {}",
                        r.refusal.reason
                    )
                } else {
                    format!(
                        "`{}` cannot list `{name}`'s generated egress component `{component}`: {}",
                        r.path, r.refusal.reason
                    )
                };
                let key = list_key(&r.path);
                let at = if r.missing || !facts.is_tracked(&r.path) {
                    *span
                } else {
                    Some(key_span(cx, &r.path, key))
                };
                let egress = cx.network.kubernetes.layout.egress.value.clone();
                let d = cx.emit(&rules::EGRESS_APP_UNREACHABLE, message, at.or(*span));
                d.subject = Some(name.clone());
                d.path = Some(manifest.clone());
                if r.missing && !facts.is_tracked(manifest) {
                    d.notes
                        .push(format!("`{manifest}` is not in the repository either"));
                }
                d.help = Some(if r.missing {
                    format!(
                        "write `{}` with the lines {}, so that what applies `{manifest}` applies it with its component",
                        r.path,
                        list(r.refusal.lines_to_add.lines())
                    )
                } else if r.refusal.lines_to_add.is_empty() {
                    format!(
                        "declare `kubernetes.layout.egress` as a directory no Flux Kustomization applies whole (now `\"{egress}\"`)"
                    )
                } else {
                    add_help(&r.path, key, &r.refusal, false)
                });
            }
            (
                Purpose::Flat {
                    name,
                    component,
                    manifest,
                    ..
                },
                Need::Edit(e),
            ) => {
                let prefix = format!("{component}/");
                let built = facts
                    .paths
                    .iter()
                    .any(|p| p.starts_with(&prefix) && !p.ends_with(".tmp"));
                // Before the first build, the component and its entry arrive together.
                if cx.options.build_wires || !built {
                    continue;
                }
                let key = list_key(&e.path);
                let span = key_span(cx, &e.path, key.rsplit('.').next().unwrap_or(key));
                let message = format!(
                    "`{}` applies `{manifest}` but does not list `{name}`'s generated egress component `{component}` under `{key}`",
                    e.path
                );
                let refusal = edit_lines(e);
                let d = cx.emit(&rules::EGRESS_APP_UNREACHABLE, message, Some(span));
                d.subject = Some(name.clone());
                d.path = Some(manifest.clone());
                d.help = Some(add_help(&e.path, key, &refusal, true));
            }
            (Purpose::Application, Need::Refused(r)) => {
                let span = registered_span(cx, &r.path);
                let message = format!(
                    "the generated {} cannot be registered in `{}`: {}",
                    registration, r.path, r.refusal.reason
                );
                let d = cx.emit(registration_rule(cx.network), message, span);
                d.help = Some(add_help(&r.path, "resources", &r.refusal, false));
            }
            (Purpose::Application, Need::Edit(e)) => {
                let app = wiring::application(cx.network, facts).unwrap_or_default();
                if cx.options.build_wires || !facts.is_tracked(app) {
                    continue;
                }
                let span = registered_span(cx, &e.path);
                let message = format!(
                    "the generated {} `{app}` is not listed by `{}`: nothing deploys it",
                    registration, e.path
                );
                let refusal = edit_lines(e);
                let d = cx.emit(registration_rule(cx.network), message, span);
                d.help = Some(add_help(&e.path, "resources", &refusal, true));
            }
        }
    }
    unregistered(cx);
    flux_unregistered(cx);
    flux_decryption(cx);
}

/// The rule of an unregistered generated registration: the engine's own id
/// (`argocd-app-unreachable` stays what Argo CD users see).
fn registration_rule(network: &avalanche_model::Network) -> &'static avalanche_diag::Rule {
    match network.kubernetes.gitops.value {
        avalanche_model::GitOps::Flux => &rules::FLUX_KUSTOMIZATION_UNREACHABLE,
        _ => &rules::ARGOCD_APP_UNREACHABLE,
    }
}

/// The bootstraps' paths, when several clusters are bootstrapped and
/// `kubernetes.flux.registerIn` does not say which one runs the proxies.
fn flux_unregistered(cx: &mut Checker<'_>) {
    let k = &cx.network.kubernetes;
    if k.gitops.value != avalanche_model::GitOps::Flux || k.flux.register_in.is_some() {
        return;
    }
    let bootstraps: Vec<&KubeDoc> = cx
        .facts
        .kube_docs
        .iter()
        .filter(|d| wiring::is_flux_kustomization(d) && d.name.as_deref() == Some("flux-system"))
        .collect();
    let mut paths: Vec<String> = bootstraps
        .iter()
        .flat_map(|d| d.source_paths.iter())
        .map(|p| avalanche_model::layout::normalized(p))
        .collect();
    paths.sort();
    paths.dedup();
    if paths.len() < 2 {
        return;
    }
    let at = bootstraps[0].kind.as_ref().map(|k| k.loc.clone());
    let span = match at {
        Some(loc) => cx.span(&loc),
        None => cx.file_span(&bootstraps[0].path),
    };
    let message = format!(
        "several Flux bootstraps apply {}: `build` cannot tell which cluster runs the proxies",
        list(&paths)
    );
    let d = cx.emit(&rules::FLUX_REGISTER_AMBIGUOUS, message, Some(span));
    d.help = Some(format!(
        "declare `kubernetes.flux.registerIn = \"{}\";` (or the path of the cluster that runs them)",
        paths[0]
    ));
}

/// Whether the generated component of app `name` lists a SOPS-encrypted Secret
/// (a sidecar's credentials, decrypted by the GitOps engine).
fn lists_sops_secret(network: &avalanche_model::Network, name: &str) -> bool {
    let egress = &network.egress;
    let credentials = if let Some(s) = egress.sidecars.get(name) {
        egress
            .providers
            .get(s.provider.value.as_str())
            .map(|p| network.credentials(s.credentials.as_ref(), s.existing_secret.as_ref(), p))
    } else if let Some(c) = egress.clients.get(name)
        && c.protocol.value == avalanche_model::ClientProtocol::Sidecar
    {
        egress
            .proxies
            .get(c.proxy.value.as_str())
            .and_then(|proxy| {
                egress
                    .providers
                    .get(proxy.provider.value.as_str())
                    .map(|p| {
                        network.credentials(
                            proxy.credentials.as_ref(),
                            proxy.existing_secret.as_ref(),
                            p,
                        )
                    })
            })
    } else {
        None
    };
    // The same question render asks (`Vpn::secret_file`): a SOPS file the cluster decrypts.
    credentials.is_some_and(|c| c.sops_file(&network.kubernetes).is_some())
}

/// A hand-written Flux Kustomization that builds a SOPS file, or an app whose
/// component lists one, without `spec.decryption`.
fn flux_decryption(cx: &mut Checker<'_>) {
    let network = cx.network;
    let facts = cx.facts;
    if network.kubernetes.gitops.value != avalanche_model::GitOps::Flux {
        return;
    }
    let mut apps: Vec<(String, String)> = Vec::new(); // (name, app kustomization)
    let names = network
        .egress
        .sidecars
        .iter()
        .map(|(n, s)| (n, &s.namespace.value))
        .chain(
            network
                .egress
                .clients
                .iter()
                .map(|(n, c)| (n, &c.namespace.value)),
        );
    for (name, namespace) in names {
        if !lists_sops_secret(network, name.as_str()) {
            continue;
        }
        let dir = app_dir(network, namespace.as_str(), name.as_str());
        if avalanche_model::layout::apps_are_flat(&network.kubernetes) {
            // What builds the flat manifest builds its Component (or must).
            apps.push((name.as_str().to_owned(), dir));
        } else if let Some(k) = wiring::kustomization_in(facts, &dir) {
            apps.push((name.as_str().to_owned(), k));
        }
    }
    let sops: std::collections::BTreeSet<&str> =
        facts.sops_files.iter().map(|f| f.path.as_str()).collect();
    for doc in &facts.kube_docs {
        if !wiring::is_flux_kustomization(doc)
            || doc.flux_decryption
            || facts.generated.contains(&doc.path)
        {
            continue;
        }
        let built = wiring::flux_builds(network, facts, doc);
        let mut what: Vec<String> = apps
            .iter()
            .filter(|(_, k)| built.contains(k))
            .map(|(name, _)| format!("{name}'s sidecar credentials"))
            .collect();
        what.extend(
            built
                .iter()
                .filter(|p| sops.contains(p.as_str()))
                .map(|p| p.to_owned()),
        );
        if what.is_empty() {
            continue;
        }
        let span = match doc.kind.as_ref() {
            Some(k) => cx.span(&k.loc.clone()),
            None => cx.file_span(&doc.path),
        };
        let message = format!(
            "Flux Kustomization `{}` applies SOPS-encrypted Secrets ({}) without `spec.decryption`: they would be applied encrypted",
            doc.name.as_deref().unwrap_or("?"),
            list(&what)
        );
        let secret = &network.kubernetes.flux.decryption_secret;
        let d = cx.emit(&rules::FLUX_DECRYPTION_MISSING, message, Some(span));
        d.help = Some(format!(
            "add to its `spec`: `decryption: {{ provider: sops, secretRef: {{ name: {secret} }} }}`"
        ));
    }
}

/// The list a flat app's Component is added to in `path`: a kustomization's
/// `components`, a Flux Kustomization's `spec.components`.
fn list_key(path: &str) -> &'static str {
    let file = path.rsplit('/').next().unwrap_or(path);
    if matches!(
        file,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    ) {
        "components"
    } else {
        "spec.components"
    }
}

/// The generated Application when `registerIn` is neither declared nor
/// detected: several app-of-apps candidates are ambiguous.
fn unregistered(cx: &mut Checker<'_>) {
    let facts = cx.facts;
    if cx.network.kubernetes.gitops.value != avalanche_model::GitOps::ArgoCd
        || cx.network.kubernetes.argocd.register_in.is_some()
    {
        return;
    }
    if wiring::application(cx.network, facts).is_none() {
        return;
    }
    let candidates = wiring::app_of_apps(
        facts
            .kube_docs
            .iter()
            .filter(|d| d.resources.is_some())
            .filter_map(|d| Some((d.path.as_str(), facts.text(&d.path)?))),
    );
    if candidates.len() > 1 {
        let message = format!(
            "several kustomizations list `*-app.yaml` files ({}): `build` cannot tell where to register the generated Application",
            list(&candidates)
        );
        let span = cx.file_span(&candidates[0]);
        let d = cx.emit(&rules::ARGOCD_APP_UNREACHABLE, message, Some(span));
        d.severity = avalanche_diag::Severity::Warning;
        d.help = Some(format!(
            "declare `kubernetes.argocd.registerIn = \"{}\";` (the one Argo CD's root Application deploys)",
            candidates[0]
        ));
    }
    // No app-of-apps at all: the repository does not register applications in
    // kustomizations (it applies them by hand), so there is nothing to wire and
    // nothing to report; `status` still says the Application is not reachable.
}

/// The refusal-shaped description of an edit: the lines it adds (or the line
/// it rewrites, for a flow list), and where.
fn edit_lines(e: &wiring::Edit) -> Refusal {
    let before: Vec<&str> = e.before.lines().map(|l| l.trim_end_matches('\r')).collect();
    let after: Vec<&str> = e.after.lines().map(|l| l.trim_end_matches('\r')).collect();
    let prefix = before
        .iter()
        .zip(&after)
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = before[prefix..]
        .iter()
        .rev()
        .zip(after[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let added = after[prefix..after.len() - suffix].join("\n");
    let replaced = before.len() - suffix > prefix;
    Refusal {
        reason: if replaced {
            format!("line {} becomes", prefix + 1)
        } else {
            String::new()
        },
        line: Some(prefix + 1),
        lines_to_add: added,
    }
}

/// "add `  - x` under `key:` in F (as line N)", the lines for a new key, or
/// the rewritten line of a flow list.
fn add_help(path: &str, key: &str, r: &Refusal, buildable: bool) -> String {
    let lines = r.lines_to_add.trim_end();
    let what = if r.reason.starts_with("line ") && r.reason.ends_with(" becomes") {
        format!("in `{path}`, {} `{lines}`", r.reason)
    } else if lines.contains('\n') {
        let each = list(lines.lines());
        match r.line {
            Some(n) if buildable => format!("add the lines {each} to `{path}` (from line {n})"),
            _ => format!("add the lines {each} to `{path}`"),
        }
    } else {
        match r.line {
            // An edit knows the line it adds; a refusal, the line of `key:`.
            Some(n) if buildable => {
                format!("add `{lines}` under `{key}:` in `{path}` (as line {n})")
            }
            Some(n) => format!("add `{lines}` under `{key}:` (line {n}) in `{path}`"),
            None => format!("add `{lines}` under `{key}:` in `{path}`"),
        }
    };
    if buildable {
        format!("{what}; or run `avalanche-net build`, which adds it")
    } else {
        what
    }
}

/// Where `key:` is in the kustomization at `path` (its first line otherwise).
fn key_span(cx: &mut Checker<'_>, path: &str, key: &str) -> Span {
    let text = cx.facts.text(path).unwrap_or_default();
    let found = text
        .match_indices(key)
        .find(|(i, _)| {
            (*i == 0 || text.as_bytes()[i - 1] == b'\n')
                && text[i + key.len()..]
                    .trim_start_matches(' ')
                    .starts_with(':')
        })
        .map(|(i, _)| i);
    match found {
        Some(start) => cx.span(&Loc {
            path: path.to_owned(),
            start,
            end: start + key.len(),
        }),
        None => cx.file_span(path),
    }
}

/// The registering kustomization (its `resources:`), or the declaration of `registerIn`.
fn registered_span(cx: &mut Checker<'_>, path: &str) -> Option<Span> {
    if cx.facts.is_tracked(path) {
        return Some(key_span(cx, path, "resources"));
    }
    wiring::register_in(cx.network).and_then(|(_, span)| span)
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The app's workload as committed: its namespace and pod labels must be what the
/// client declares, or the proxies' ingress policy will not admit its pods.
fn admitted(
    cx: &mut Checker<'_>,
    index: &DocIndex<'_>,
    name: &str,
    namespace: &str,
    deployment: &str,
    pod_labels: &BTreeMap<String, String>,
    span: Option<Span>,
) {
    let Some(doc) = workload(cx, index, namespace, name, deployment) else {
        return;
    };
    let Some((labels, labels_loc)) = &doc.pod_labels else {
        return;
    };
    let actual_namespace = doc
        .namespace
        .clone()
        .or_else(|| kustomization_namespace(index, &doc.path));
    if let Some(actual) = actual_namespace.filter(|a| a != namespace) {
        let kind_loc = doc.kind.as_ref().map_or(labels_loc, |k| &k.loc);
        let at = cx.span(kind_loc);
        let message = format!(
            "client `{name}` is declared in namespace `{namespace}`, but its {} `{deployment}` runs in `{actual}`: \
             the proxies admit only `{namespace}`",
            doc.kind.as_ref().map_or("workload", |k| k.value.as_str())
        );
        let d = cx.emit(&rules::EGRESS_CLIENT_NOT_ADMITTED, message, Some(at));
        d.help = Some(format!(
            "set `egress.clients.{name}.namespace = \"{actual}\";`, or move the app"
        ));
        label(d, span, "client declared here");
        return;
    }
    let missing: Vec<String> = pod_labels
        .iter()
        .filter(|(k, v)| labels.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if missing.is_empty() {
        return;
    }
    let at = cx.span(labels_loc);
    let message = format!(
        "the pods of {} `{deployment}` lack the labels {} that the proxies' ingress policy admits for client `{name}`",
        doc.kind.as_ref().map_or("workload", |k| k.value.as_str()),
        list(&missing)
    );
    let d = cx.emit(&rules::EGRESS_CLIENT_NOT_ADMITTED, message, Some(at));
    let actual: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    d.notes
        .push(format!("its pod template has {}", list(&actual)));
    d.help = Some(format!(
        "set `egress.clients.{name}.podLabels` to labels its pods carry, or add the labels to the pod template"
    ));
    label(d, span, "client declared here");
}

/// The committed workload the component of `name` patches: the Deployment named
/// `deployment` in the app's own directory, else the only one of that name.
fn workload<'f>(
    cx: &Checker<'_>,
    index: &DocIndex<'f>,
    namespace: &str,
    name: &str,
    deployment: &str,
) -> Option<&'f KubeDoc> {
    let dir = format!("{}/", app_dir(cx.network, namespace, name));
    let workloads: &[&KubeDoc] = index.workloads.get(deployment).map_or(&[], Vec::as_slice);
    workloads
        .iter()
        .find(|d| d.path.starts_with(&dir))
        .or_else(|| (workloads.len() == 1).then(|| &workloads[0]))
        .copied()
}

/// Whether an image reference names gluetun (`qmcgaw/gluetun:v3.40`,
/// `ghcr.io/qdm12/gluetun@sha256:…`, a mirror's `registry:5000/x/gluetun`).
pub(crate) fn is_gluetun_image(image: &str) -> bool {
    let image = image.split('@').next().unwrap_or_default();
    let last = image.rsplit('/').next().unwrap_or_default();
    last.split(':').next() == Some("gluetun")
}

/// Apps that already run a hand-written gluetun where the generated sidecar goes.
/// One named `gluetun` is deleted by the generated component (its first patch), so
/// the pod keeps one gluetun: a warning to delete the dead YAML. One under another
/// name would stay beside the generated one: two gluetuns in one network
/// namespace fight over routes, ip rules and the firewall, an error.
fn existing_gluetuns(cx: &mut Checker<'_>, index: &DocIndex<'_>) {
    let egress = &cx.network.egress;
    let mut apps: Vec<(&str, &str, &str, &str, Option<Span>)> = Vec::new();
    for (name, s) in &egress.sidecars {
        apps.push((
            "sidecar",
            name.as_str(),
            s.namespace.as_str(),
            s.deployment.as_str(),
            s.span,
        ));
    }
    for (name, c) in &egress.clients {
        if c.protocol.value == ClientProtocol::Sidecar {
            apps.push((
                "client",
                name.as_str(),
                c.namespace.as_str(),
                c.deployment.as_str(),
                c.span,
            ));
        }
    }
    for (kind, name, namespace, deployment, span) in apps {
        let Some(doc) = workload(cx, index, namespace, name, deployment) else {
            continue;
        };
        for container in &doc.containers {
            let image = container.image.as_deref().unwrap_or_default();
            let named = container.name.as_deref() == Some(avalanche_model::gluetun::CONTAINER);
            if !named && !is_gluetun_image(image) {
                continue;
            }
            let at = cx.span(&container.loc);
            let list_name = if container.init {
                "initContainers"
            } else {
                "containers"
            };
            let d = if named {
                let message = format!(
                    "Deployment `{deployment}` already has a hand-written container `gluetun` (in `{list_name}`): \
                     the generated component of {kind} `{name}` deletes it and adds its own gluetun first among the init containers"
                );
                let d = cx.emit(&rules::EGRESS_EXISTING_GLUETUN, message, Some(at));
                d.severity = avalanche_diag::Severity::Warning;
                d.help = Some(format!(
                    "delete the container (and the volumes and env only it used) from `{}`: `egress.{kind}s.{name}` replaces it",
                    doc.path
                ));
                d
            } else {
                let shown = container.name.as_deref().unwrap_or("(unnamed)");
                let message = format!(
                    "container `{shown}` of Deployment `{deployment}` runs gluetun (`{image}`): the generated sidecar of {kind} `{name}` \
                     would be a second gluetun in the pod, and two gluetuns in one network namespace fight over the routes, ip rules and firewall"
                );
                let d = cx.emit(&rules::EGRESS_EXISTING_GLUETUN, message, Some(at));
                d.help = Some(format!(
                    "delete the container from `{}` (`egress.{kind}s.{name}` replaces it), or name it `gluetun` so that the generated component removes it",
                    doc.path
                ));
                d
            };
            label(d, span, "the generated gluetun is declared here");
        }
    }
}

/// The `namespace:` of the kustomization in the directory of `path` (or above it).
fn kustomization_namespace(index: &DocIndex<'_>, path: &str) -> Option<String> {
    let mut dir = path.rsplit_once('/').map(|(d, _)| d)?;
    loop {
        if let Some(k) = index.kustomization_in.get(dir)
            && let Some(ns) = &k.kustomization_namespace
        {
            return Some(ns.clone());
        }
        dir = dir.rsplit_once('/')?.0;
    }
}

#[cfg(test)]
mod no_proxy_tests {
    use super::no_proxy_entry_blocked;
    use avalanche_model::{Cidr, Kubernetes};

    /// Each hand-written entry against an enforced client allowed to reach
    /// `redis` (its namespace, `irc`) and `192.168.1.0/24`, on k3s' ranges.
    #[test]
    fn which_hand_written_entries_the_fence_drops() {
        let k = Kubernetes::default();
        let lan = Cidr::parse("192.168.1.0/24").expect("a CIDR");
        let allowed: Vec<String> = [
            "localhost",
            "127.0.0.1",
            "::1",
            "redis",
            "redis.irc",
            "redis.irc.svc",
            "redis.irc.svc.cluster.local",
            "192.168.1.0/24",
        ]
        .map(str::to_owned)
        .to_vec();
        let blocked = |e: &str| no_proxy_entry_blocked(e, &allowed, &[&lan], &k);
        for ok in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.0.0.0/8",
            "[::1]",
            "redis",
            "redis.irc.svc:6379",
            ".redis.irc.svc.cluster.local",
            "192.168.1.5",
            "192.168.1.128/25",
            "foo.localhost",
        ] {
            assert_eq!(blocked(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("*", "every host"),
            (".svc", "in-cluster"),
            ("svc", "in-cluster"),
            (".cluster.local", "in-cluster"),
            ("cluster.local", "in-cluster"),
            ("local", "in-cluster"),
            ("api.irc.svc", "in-cluster"),
            (".irc.svc.cluster.local", "in-cluster"),
            ("10.43.0.0/16", "serviceCIDR"),
            ("10.42.7.9", "podCIDR"),
            ("192.168.0.0/16", "no `cidr`"),
            ("example.org", "outside its declared destinations, unless"),
        ] {
            let why_got = blocked(bad).unwrap_or_else(|| panic!("{bad} passes"));
            assert!(why_got.contains(why), "{bad}: {why_got}");
        }
    }
}
