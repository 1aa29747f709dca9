//! Egress gateways: the host that runs one, the secret holding its tunnel key, and
//! the clients it admits.
use crate::{Checker, list, rules};
use avalanche_model::{Cidr, SecretFormat};

pub(crate) fn check(cx: &mut Checker<'_>) {
    let network = cx.network;
    let facts = cx.facts;
    for (name, gw) in &network.egress.gateways {
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
