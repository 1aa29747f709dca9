//! Egress gateways: the host that runs one (it exists, imports the module, has the
//! listen address), the secret holding its tunnel key (declared, sealed for that
//! host), and the clients it admits.
//!
//! What is the host's own Nix is `hosts::own_nix`: its host directories, its own
//! expression in `flake.nix` and the files that expression imports. What is
//! outside (a helper, a module list every host shares, a common module) may be
//! any host's: a rule that finds something only there cannot tell, and is silent.
use crate::facts::Loc;
use crate::hosts::OwnNix;
use crate::{Checker, label, list, rules};
use avalanche_model::{Cidr, Gateway, SecretFormat};
use avalanche_nix::nixos;
use std::net::IpAddr;

/// The module a gateway's host imports (`nixosModules.egressGateway`).
const MODULE: &str = "egressGateway";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let network = cx.network;
    let facts = cx.facts;
    one_per_host(cx);
    for (name, gw) in &network.egress.gateways {
        if let Some(own) = crate::hosts::own_nix(facts, &cx.host_dirs, gw.host.value.as_str()) {
            module_imported(cx, name.as_str(), gw, &own);
            listen_is_the_hosts(cx, name.as_str(), gw, &own);
        }
        key_sealed_for_host(cx, name.as_str(), gw);
        // A flake that computes its hosts cannot be listed statically: then only
        // `hosts/<name>/` directories are known, and a missing host is not reported.
        let host = gw.host.value.as_str();
        if let Some(scan) = facts.flake.as_ref().filter(|f| f.complete())
            && !scan.hosts.iter().any(|h| h.name == host)
            && !cx.host_dirs.iter().any(|d| d.name == host)
        {
            let hosts: Vec<&str> = scan.hosts.iter().map(|h| h.name.as_str()).collect();
            let message = format!(
                "gateway `{name}` runs on `{host}`, which the flake has no `nixosConfigurations.{host}` for"
            );
            let d = cx.emit(&rules::GATEWAY_NO_HOST, message, gw.host.span.or(gw.span));
            d.notes.push(format!("the flake's hosts: {}", list(&hosts)));
            d.help = Some(match crate::did_you_mean(host, hosts.iter().copied()) {
                Some(similar) => format!("did you mean `{similar}`?"),
                None => "name a NixOS host of this flake (the one that imports `nixosModules.egressGateway`)".into(),
            });
        }
        let secret_name = &gw.tunnel.private_key_secret;
        match network.secrets.get(secret_name.value.as_str()) {
            None => {
                let message = format!(
                    "gateway `{name}` reads its WireGuard key from secret `{}`, which `secrets` does not declare",
                    secret_name.value
                );
                cx.emit(
                    &rules::GATEWAY_KEY_SECRET,
                    message,
                    secret_name.span.or(gw.span),
                )
                .help = Some(format!(
                    "declare `secrets.{} = {{ format = \"plain\"; file = \"secrets/{host}/wireguard.yaml\"; keys = [ \"privateKey\" ]; }};`",
                    secret_name.value
                ));
            }
            Some(secret) if secret.format != SecretFormat::Plain => {
                let message = format!(
                    "gateway `{name}`'s key secret `{}` is a Kubernetes Secret, but the host reads it with sops-nix",
                    secret_name.value
                );
                cx.emit(
                    &rules::GATEWAY_KEY_SECRET,
                    message,
                    secret_name.span.or(gw.span),
                )
                .help = Some(format!(
                    "set `secrets.{}.format = \"plain\";`",
                    secret_name.value
                ));
            }
            Some(_) => {}
        }
        if let Some(allowed) = &gw.allowed_clients {
            let pods = network.kubernetes.pod_cidr.value.canonical();
            let covers = |inner: Cidr| {
                allowed.iter().any(|c| {
                    let c = c.value.canonical();
                    c.0.contains(&inner.0.network()) && c.0.prefix_len() <= inner.0.prefix_len()
                })
            };
            // Pods come from their own addresses, or (a masquerading CNI) from their
            // node's: the declared node networks, all of them, admit them too.
            let nodes = &network.kubernetes.node_cidrs;
            let covered = covers(pods)
                || (!nodes.is_empty() && nodes.iter().all(|n| covers(n.value.canonical())));
            if !covered {
                let at = allowed.first().and_then(|c| c.span).or(gw.span);
                let message = format!("gateway `{name}` does not admit the pod network `{pods}`");
                let d = cx.emit(&rules::GATEWAY_PODS_NOT_ADMITTED, message, at);
                d.notes.push("pods whose traffic reaches the gateway unmasqueraded (their own addresses) are refused".into());
                d.help = Some(format!(
                    "add `\"{pods}\"` (or the nodes' networks, `kubernetes.nodeCIDRs`, when the CNI masquerades) to `allowedClients`, or leave it unset (the default is the pod and node networks)"
                ));
            }
        }
    }
}

/// The byte location of a piece of a repository file.
fn loc(path: &str, (start, end): (usize, usize)) -> Loc {
    Loc {
        path: path.to_owned(),
        start,
        end,
    }
}

/// `gateway-module-missing`: no Nix of the host's own uses `nixosModules.egressGateway`
/// (or its options), and no shared place (a helper, a common module) does either:
/// only other hosts' own Nix, or nothing at all.
fn module_imported(cx: &mut Checker<'_>, name: &str, gw: &Gateway, own: &[OwnNix]) {
    let facts = cx.facts;
    let host = gw.host.value.as_str();
    for piece in own {
        let Some(nix) = &piece.nix else {
            return; // not read (too large): cannot tell
        };
        // Every mention in the host's own Nix counts (even a definition would
        // make the module the host's): the tokenizer is enough.
        match nix.names(MODULE) {
            Some(false) => {}
            _ => return, // imported, or unreadable
        }
    }
    let Some(scan) = &facts.flake else { return };
    // Other hosts' own places: their expressions in the flake, and the directories
    // of hosts the flake has (a `hosts/common/` is no host: a shared place).
    let others: Vec<(&str, (usize, usize))> = scan
        .hosts
        .iter()
        .filter(|h| h.name != host)
        .filter_map(|h| h.definition.map(|d| (h.name.as_str(), d)))
        .collect();
    let other_dir = |path: &str| {
        cx.host_dirs.iter().find(|d| {
            d.name != host
                && path.starts_with(&d.dir)
                && scan.hosts.iter().any(|h| h.name == d.name)
        })
    };
    let mut elsewhere: Option<(String, Loc)> = None;
    for path in facts.paths.iter().filter(|p| p.ends_with(".nix")) {
        if own.iter().any(|o| o.path == *path && o.range.is_none()) {
            continue;
        }
        let Some(text) = facts.text(path) else {
            continue;
        };
        if !text.contains(MODULE) {
            continue;
        }
        let Some(uses) = nixos::attr_uses(text, MODULE, None) else {
            return; // unreadable: cannot tell
        };
        for at in uses {
            if path == crate::facts::FLAKE {
                if own.iter().any(|o| {
                    o.path == *path && o.range.is_some_and(|(s, e)| s <= at.0 && at.1 <= e)
                }) {
                    continue; // the host's own expression: looked at above
                }
                match others.iter().find(|(_, (s, e))| *s <= at.0 && at.1 <= *e) {
                    Some((other, _)) => {
                        elsewhere.get_or_insert_with(|| ((*other).to_owned(), loc(path, at)));
                    }
                    None => return, // a helper or a shared list: cannot tell
                }
            } else if let Some(dir) = other_dir(path) {
                elsewhere.get_or_insert_with(|| (dir.name.clone(), loc(path, at)));
            } else {
                return; // a common module: cannot tell
            }
        }
    }
    // Where the host is: its name in the flake, else its directory.
    let at = scan
        .hosts
        .iter()
        .find(|h| h.name == host && !h.listed_by_nix)
        .map(|h| loc(crate::facts::FLAKE, (h.start, h.end)))
        .or_else(|| {
            own.first().map(|o| {
                let end = facts
                    .text(&o.path)
                    .map_or(0, |t| t.find('\n').unwrap_or(t.len()));
                loc(&o.path, (0, end))
            })
        });
    let Some(at) = at else { return };
    let span = cx.span(&at);
    let reference = facts
        .text(crate::facts::FLAKE)
        .and_then(|t| nixos::module_reference(t, "avalanche-net", MODULE))
        .unwrap_or_else(|| format!("inputs.avalanche-net.nixosModules.{MODULE}"));
    let message = format!(
        "gateway `{name}` runs on `{host}`, but `{host}`'s own configuration does not import `nixosModules.{MODULE}`: the gateway would not run, and every client would be refused"
    );
    let elsewhere_span = elsewhere.as_ref().map(|(_, l)| cx.span(l));
    let in_flake = own.iter().any(|o| o.range.is_some());
    let own_files: Vec<&str> = own
        .iter()
        .filter(|o| o.range.is_none())
        .map(|o| o.path.as_str())
        .collect();
    let d = cx.emit(&rules::GATEWAY_MODULE_MISSING, message, Some(span));
    label(d, gw.host.span, "the gateway's host");
    if let Some((other, _)) = &elsewhere {
        label(d, elsewhere_span, &format!("imported by `{other}` instead"));
    }
    d.notes.push(match (in_flake, own_files.is_empty()) {
        (true, true) => format!("looked in `{host}`'s expression in `flake.nix`"),
        (true, false) => format!(
            "looked in `{host}`'s expression in `flake.nix` and in {}",
            list(&own_files)
        ),
        (false, _) => format!("looked in {}", list(&own_files)),
    });
    // In `flake.nix` the flake's own names are in scope; a host file sees
    // `inputs` only when `specialArgs` passes it.
    let place = match (
        in_flake,
        own_files
            .iter()
            .find(|p| p.ends_with("/default.nix"))
            .or(own_files.first()),
    ) {
        (true, _) | (false, None) => {
            format!("add `{reference}` to `{host}`'s `modules` in `flake.nix`")
        }
        (false, Some(file)) => format!(
            "add `inputs.avalanche-net.nixosModules.{MODULE}` to `imports` in `{file}` (with `specialArgs = {{ inherit inputs; }};`)"
        ),
    };
    d.help = Some(format!(
        "{place}{}",
        if elsewhere.is_some() {
            " (and remove it from the other host, unless that one runs a gateway too)"
        } else {
            ""
        }
    ));
}

/// `gateway-listen-not-host-address`: the host's own Nix gives its interfaces
/// addresses (all of them written literally), and `listen` is none of them.
fn listen_is_the_hosts(cx: &mut Checker<'_>, name: &str, gw: &Gateway, own: &[OwnNix]) {
    let host = gw.host.value.as_str();
    let listen = gw.listen.value;
    let mut addresses: Vec<(String, nixos::StaticAddress)> = Vec::new();
    let mut dhcp: Option<Loc> = None;
    for piece in own {
        let Some(nix) = &piece.nix else {
            return;
        };
        // Written literally in a form not read (`services.x.listenAddress`, an
        // option of the operator's own): the host likely has it.
        let source = nix.source();
        if source.contains(&format!("\"{listen}\"")) || source.contains(&format!("\"{listen}/")) {
            return;
        }
        let found = nix.config();
        if found.unreadable || !found.computed.is_empty() {
            return; // not all addresses known
        }
        if let Some(at) = found.dhcp.first() {
            dhcp.get_or_insert_with(|| loc(&piece.path, *at));
        }
        addresses.extend(found.addresses.into_iter().map(|a| (piece.path.clone(), a)));
    }
    if addresses.is_empty() || addresses.iter().any(|(_, a)| a.address == listen) {
        return;
    }
    let shown: Vec<String> = addresses
        .iter()
        .map(|(_, a)| match a.prefix {
            Some(p) => format!("{}/{p}", a.address),
            None => a.address.to_string(),
        })
        .collect();
    // The host's address on the listen address's network: the likely intent.
    let same_network = addresses
        .iter()
        .find(|(_, a)| match (a.prefix, a.address, listen) {
            (Some(p), IpAddr::V4(a), IpAddr::V4(l)) => {
                ipnet::Ipv4Net::new(a, p).is_ok_and(|n| n.contains(&l))
            }
            (Some(p), IpAddr::V6(a), IpAddr::V6(l)) => {
                ipnet::Ipv6Net::new(a, p).is_ok_and(|n| n.contains(&l))
            }
            _ => false,
        });
    let message = format!(
        "gateway `{name}` listens on `{listen}`, which is not an address of `{host}`: its configuration gives it {}",
        list(&shown)
    );
    let spans: Vec<_> = addresses
        .iter()
        .map(|(path, a)| cx.span(&loc(path, (a.start, a.end))))
        .collect();
    let dhcp_span = dhcp.as_ref().map(|l| cx.span(l));
    let dhcp_line = dhcp_span.map(|s| cx.line_of(s));
    let d = cx.emit(
        &rules::GATEWAY_LISTEN_NOT_HOST_ADDRESS,
        message,
        gw.listen.span.or(gw.span),
    );
    for span in spans {
        label(d, Some(span), &format!("an address of `{host}`"));
    }
    d.notes.push(format!(
        "the proxy binds only `{listen}`: on a host without it, it does not start, and every client is refused"
    ));
    if let Some((file, line)) = dhcp_line {
        d.notes.push(format!(
            "`{host}` also takes an address by DHCP ({file}:{line}), which no file says: if `{listen}` is that one, give it statically (a proxy bound to a leased address stops when the lease changes)"
        ));
    }
    d.help = Some(match same_network {
        Some((_, a)) => format!(
            "did you mean `listen = \"{}\";` (`{host}`'s address on that network)? Or add `{listen}` to `{host}`'s interface",
            a.address
        ),
        None => format!(
            "set `listen` to `{host}`'s LAN address, or add `{listen}` to `{host}`'s interface"
        ),
    });
}

/// `gateway-key-not-for-host`: the tunnel key's sealed file is not encrypted to
/// any of the host's age recipients (when the host has one `check` can name), so
/// sops-nix on the host cannot decrypt it. A missing or unsealed file is
/// `secret-file-missing`/`secret-file-unsealed`'s; a file that only lags its
/// creation rule is `sops-recipients-differ`'s, which then says what it means for
/// the gateway.
fn key_sealed_for_host(cx: &mut Checker<'_>, name: &str, gw: &Gateway) {
    let facts = cx.facts;
    let host = gw.host.value.as_str();
    let secret_name = gw.tunnel.private_key_secret.value.as_str();
    let Some(secret) = cx.network.secrets.get(secret_name) else {
        return;
    };
    let file = secret.file.value.as_str();
    let Ok(i) = facts
        .sops_files
        .binary_search_by(|f| f.path.as_str().cmp(file))
    else {
        return;
    };
    let sealed = &facts.sops_files[i];
    let keys = crate::recipients::host_keys(cx, host);
    if keys.is_empty() {
        return;
    }
    let Some(document) = sealed.documents.iter().find(|d| {
        !d.recipients
            .iter()
            .any(|r| keys.iter().any(|k| k.value == r.value))
    }) else {
        return;
    };
    let named: Vec<&str> = keys.iter().map(|k| k.named.as_str()).collect();
    let consequence = format!(
        "gateway `{name}` reads its WireGuard key from it: sops-nix on `{host}` cannot decrypt it, so the gateway does not start"
    );
    // The rule lists the host, the file lags behind: `sops-recipients-differ` says
    // so at the same place, with the fix; it gets the consequence.
    if let Some(d) = cx
        .out
        .iter_mut()
        .find(|d| d.rule.id == rules::SOPS_RECIPIENTS_DIFFER.id && d.path.as_deref() == Some(file))
    {
        d.notes.push(consequence);
        return;
    }
    let rule = match (&facts.sops, &cx.sops_matcher) {
        (Some(sops), Some(m)) => m.first(sops, file).map(|i| (i, sops)),
        _ => None,
    };
    let rule_at = rule.map(|(i, sops)| {
        let r = &sops.rules[i];
        (
            i,
            r.path_regex
                .as_ref()
                .map_or(r.loc.clone(), |p| p.loc.clone()),
        )
    });
    let rule_lists_host = rule.is_some_and(|(i, sops)| {
        sops.config.rules[i]
            .age
            .iter()
            .any(|a| keys.iter().any(|k| k.value == a.value))
    });
    let span = cx.span(
        &document
            .recipients
            .first()
            .map_or(&document.loc, |r| &r.loc)
            .clone(),
    );
    let rule_span = rule_at.as_ref().map(|(_, l)| cx.span(l));
    let rule_line = rule_span.map(|s| cx.line_of(s).1);
    let key_line = keys.iter().find_map(|k| k.loc.clone()).map(|l| cx.span(&l));
    let message = format!(
        "`{file}`, the tunnel key of gateway `{name}`, is not sealed for `{host}` ({}): {}",
        list(&named),
        consequence.split_once(": ").map_or("", |(_, c)| c)
    );
    let anchor = keys
        .iter()
        .find(|k| k.loc.is_some())
        .map(|k| k.named.replacen('&', "*", 1));
    let d = cx.emit(&rules::GATEWAY_KEY_NOT_FOR_HOST, message, Some(span));
    d.path = Some(file.to_owned());
    if let Some((i, _)) = rule_at {
        label(
            d,
            rule_span,
            &format!("creation rule #{} applies to it", i + 1),
        );
    }
    label(d, key_line, &format!("`{host}`'s key"));
    d.help = Some(match (rule_lists_host, rule_line, anchor) {
        (true, _, _) => format!("run `avalanche-net secrets updatekeys {file}`"),
        (false, Some(line), Some(anchor)) => format!(
            "add `{anchor}` to the recipients of creation rule .sops.yaml:{line}, then run `avalanche-net secrets updatekeys {file}`"
        ),
        (false, Some(line), None) => format!(
            "add `{host}`'s key to the recipients of creation rule .sops.yaml:{line}, then run `avalanche-net secrets updatekeys {file}`"
        ),
        (false, None, _) => format!(
            "add a creation rule for `{file}` whose recipients include `{host}`'s key, then run `avalanche-net secrets updatekeys {file}`"
        ),
    });
}

/// Two gateways on one host cannot both work: their proxies run as the one
/// proxy user, whose packets each gateway's table marks for its own tunnel and
/// whose other packets each table's kill switch drops. Reported at every
/// gateway after the first on that host.
fn one_per_host(cx: &mut Checker<'_>) {
    let mut first: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for (name, gw) in &cx.network.egress.gateways {
        let host = gw.host.value.as_str();
        let Some(other) = first.get(host).copied() else {
            first.insert(host, name.as_str());
            continue;
        };
        let message = format!(
            "gateways `{other}` and `{name}` both run on `{host}`: their proxies would share one user, whose \
             packets one gateway's table sends into its tunnel and the other's kill switch drops"
        );
        let d = cx.emit(
            &rules::GATEWAY_HOST_SHARED,
            message,
            gw.host.span.or(gw.span),
        );
        d.help = Some(format!(
            "run `{name}` on another host, or keep one gateway on `{host}` (a client names it with `proxy`)"
        ));
    }
}
