//! Tailscale does remote access only: roles, routes, hosts, tags, no operator.
use crate::{Checker, label, list, rules};
use avalanche_model::{Cidr, Permission, Role};

/// Tailscale's own address ranges: node addresses (CGNAT) and its IPv6 ULA prefix.
const TAILSCALE_RANGES: [&str; 2] = ["100.64.0.0/10", "fd7a:115c:a1e0::/48"];

/// Kinds the Tailscale Kubernetes operator defines.
const OPERATOR_KINDS: [&str; 5] = [
    "ProxyClass",
    "Connector",
    "ProxyGroup",
    "Recorder",
    "DNSConfig",
];

pub(crate) fn check(cx: &mut Checker<'_>) {
    exit_nodes(cx);
    nodes(cx);
    routes(cx);
    if cx.network.tailscale.kubernetes_operator.value == Permission::Forbidden {
        operator(cx);
    }
}

/// True when a tracked Nix file sets `nodeName = "<name>"`
/// (`avalanche.tailscale.nodeName`): a host of another name is this node.
fn node_name_set(facts: &crate::facts::RepoFacts, name: &str) -> bool {
    let quoted = format!("\"{name}\"");
    facts.texts.iter().any(|(path, text)| {
        path.ends_with(".nix")
            && text.match_indices("nodeName").any(|(at, key)| {
                text[at + key.len()..]
                    .trim_start()
                    .strip_prefix('=')
                    .is_some_and(|value| value.trim_start().starts_with(&quoted))
            })
    })
}

/// The fix for a subnet router without routes, from the declarations: the
/// prefix another router advertises (a failover pair), else a placeholder —
/// never a LAN from the bundled example.
fn router_help(network: &avalanche_model::Network) -> String {
    let routed = network
        .tailscale
        .nodes
        .values()
        .flat_map(|n| n.advertise_routes.iter())
        .map(|r| r.value.canonical())
        .next();
    match routed {
        Some(route) => format!(
            "add the LAN it routes, like `advertiseRoutes = [ \"{route}\" ];` to pair it with the router already advertising it, or change the role"
        ),
        None => "add the LAN it routes (`advertiseRoutes = [ \"<network address>/<prefix length>\" ];`), or change the role".to_owned(),
    }
}

fn nodes(cx: &mut Checker<'_>) {
    let network = cx.network;
    let facts = cx.facts;
    for (name, node) in &network.tailscale.nodes {
        let role = node.role.value;
        if role == Role::SubnetRouter && node.advertise_routes.is_empty() {
            let message = format!("subnet router `{name}` advertises no routes");
            cx.emit(
                &rules::TAILSCALE_ROUTER_NO_ROUTES,
                message,
                node.role.span.or(node.span),
            )
            .help = Some(router_help(network));
        }
        // A flake that computes its hosts (`genAttrs`, `mapAttrs`, imports) cannot be
        // listed statically: then only `hosts/<name>/` directories are known, and a
        // missing host is not reported.
        // A powered-down machine may have left the flake already.
        let running = node.state.value == avalanche_model::NodeState::On;
        if running && role.is_managed() && facts.flake.as_ref().is_some_and(|f| f.complete()) {
            let in_flake = facts
                .flake
                .as_ref()
                .is_some_and(|f| f.hosts.iter().any(|h| h.name == name.as_str()));
            if !in_flake
                && !cx.host_dirs.iter().any(|d| d.name == name.as_str())
                && !node_name_set(facts, name.as_str())
            {
                let message = format!(
                    "`{name}` has the managed role `{}` but the flake has no `nixosConfigurations.{name}`",
                    role.as_str()
                );
                let d = cx.emit(
                    &rules::TAILSCALE_NODE_NO_HOST,
                    message,
                    node.span.or(node.role.span),
                );
                d.help = Some("add the host to the flake, or use `role = \"device\"` for machines not managed here".into());
                if let Some(scan) = &facts.flake {
                    let hosts: Vec<&str> = scan.hosts.iter().map(|h| h.name.as_str()).collect();
                    d.notes.push(format!("the flake's hosts: {}", list(&hosts)));
                    if let Some(similar) = crate::did_you_mean(name.as_str(), hosts.iter().copied())
                    {
                        d.help = Some(format!("did you mean `{similar}`?"));
                    }
                }
            }
        }
        if let Some(declared) = &facts.policy_tags
            && !policy_is_generated(cx)
        {
            for tag in &node.tags {
                if !declared.contains(tag.value.as_str()) {
                    let message = format!(
                        "tag `{}` of `{name}` is not declared in `tagOwners` of `{}`",
                        tag.value,
                        crate::facts::TAILSCALE_POLICY
                    );
                    let d = cx.emit(
                        &rules::TAILSCALE_TAG_UNDECLARED,
                        message,
                        tag.span.or(node.span),
                    );
                    d.help = Some(format!(
                        "declare `\"{}\"` in `tagOwners`, or correct the tag",
                        tag.value
                    ));
                    if let Some(similar) =
                        crate::did_you_mean(&tag.value, declared.iter().map(String::as_str))
                    {
                        d.help = Some(format!("did you mean `{similar}`?"));
                    }
                }
            }
        }
    }
}

/// Exit nodes while `tailscale.exitNodes` is "forbidden": the `exit-node` role, or
/// `advertiseExitNode = true` on a node of any role (capabilities combine).
fn exit_nodes(cx: &mut Checker<'_>) {
    let network = cx.network;
    if network.tailscale.exit_nodes.value != Permission::Forbidden {
        return;
    }
    for (name, node) in &network.tailscale.nodes {
        if !node.exit_node() {
            continue;
        }
        let by_role = node.advertise_exit_node.value.is_none();
        let message = if by_role {
            format!("`{name}` is an exit node, but `tailscale.exitNodes` is \"forbidden\"")
        } else {
            format!(
                "`{name}` advertises an exit node (`advertiseExitNode = true`), but `tailscale.exitNodes` is \"forbidden\""
            )
        };
        let d = cx.emit(
            &rules::TAILSCALE_EXIT_NODE_FORBIDDEN,
            message,
            node.exit_node_span(),
        );
        d.help = Some(if by_role {
            "VPN egress is gluetun's job: give the node another role".into()
        } else {
            "VPN egress is gluetun's job: remove `advertiseExitNode`, or set `tailscale.exitNodes = \"allowed\"` on purpose".into()
        });
        label(
            d,
            network.tailscale.exit_nodes.span,
            "exit nodes forbidden here",
        );
    }
}

/// A committed policy that `build` wrote is refreshed by `build` (its drift is
/// `diff`'s business, and `build` must not be blocked by it); only a hand-written
/// one, which `build` never overwrites, is checked here.
fn policy_is_generated(cx: &Checker<'_>) -> bool {
    let path = crate::facts::TAILSCALE_POLICY;
    cx.facts.text(path).is_some_and(|t| {
        t.lines().take(3).any(|l| {
            l.to_ascii_lowercase()
                .contains("generated by avalanche-net")
        })
    })
}

/// Whether a route shares an address with one of Tailscale's own ranges.
fn in_tailscale_range(cidr: &Cidr) -> Option<&'static str> {
    TAILSCALE_RANGES
        .into_iter()
        .find(|r| Cidr::parse(r).is_ok_and(|range| range.overlaps(cidr)))
}

fn routes(cx: &mut Checker<'_>) {
    let network = cx.network;
    let mut seen: Vec<(&str, &avalanche_model::Spanned<Cidr>)> = Vec::new();
    for (name, node) in &network.tailscale.nodes {
        for route in &node.advertise_routes {
            let cidr = route.value;
            if cidr.has_host_bits() {
                let message = format!("route `{cidr}` of `{name}` has host bits set");
                cx.emit(
                    &rules::TAILSCALE_ROUTE_HOST_BITS,
                    message,
                    route.span.or(node.span),
                )
                .help = Some(format!("write `{}`", cidr.canonical()));
            }
            let tailscale_range = in_tailscale_range(&cidr);
            if let Some(range) = tailscale_range {
                let message =
                    format!("route `{cidr}` of `{name}` overlaps Tailscale's own range {range}");
                cx.emit(
                    &rules::TAILSCALE_ROUTE_CGNAT,
                    message,
                    route.span.or(node.span),
                )
                .help = Some("advertise the LAN's own prefix".into());
            }
            route_overlap(cx, name.as_str(), node.span, route, &seen, tailscale_range);
            seen.push((name.as_str(), route));
        }
    }
}

/// The same prefix on two nodes is Tailscale's high-availability setup (one router
/// is primary, the other takes over): not reported. The same prefix twice on one
/// node, or two different prefixes that overlap, are: a warning, since Tailscale
/// picks the most specific route; an error when one of them reaches into Tailscale's
/// own ranges, where the overlap would hijack tailnet addresses.
fn route_overlap(
    cx: &mut Checker<'_>,
    name: &str,
    node_span: Option<avalanche_diag::Span>,
    route: &avalanche_model::Spanned<Cidr>,
    seen: &[(&str, &avalanche_model::Spanned<Cidr>)],
    tailscale_range: Option<&str>,
) {
    let cidr = route.value;
    let same = |o: &Cidr| o.canonical() == cidr.canonical();
    let Some((other_node, other)) = seen
        .iter()
        .find(|(n, o)| o.value.overlaps(&cidr) && !(same(&o.value) && *n != name))
    else {
        return;
    };
    let message = if *other_node == name {
        if same(&other.value) {
            format!("route `{cidr}` of `{name}` is advertised twice")
        } else {
            format!(
                "route `{cidr}` of `{name}` overlaps its own route `{}`",
                other.value
            )
        }
    } else {
        format!(
            "route `{cidr}` of `{name}` overlaps `{other_node}`'s route `{}`",
            other.value
        )
    };
    let other_span = other.span;
    let serious = tailscale_range.or_else(|| in_tailscale_range(&other.value));
    let d = cx.emit(
        &rules::TAILSCALE_ROUTE_OVERLAP,
        message,
        route.span.or(node_span),
    );
    if let Some(range) = serious {
        d.severity = avalanche_diag::Severity::Error;
        d.notes.push(format!(
            "one of them reaches into Tailscale's own range {range}"
        ));
    }
    d.help = Some(if same(&other.value) {
        "list the prefix once".into()
    } else {
        "advertise one of the two prefixes; for failover, advertise the same prefix on both routers"
            .into()
    });
    label(d, other_span, "overlapping route");
}

fn operator(cx: &mut Checker<'_>) {
    let facts = cx.facts;
    let forbidden_span = cx.network.tailscale.kubernetes_operator.span;
    for doc in &facts.kube_docs {
        let api_group = doc
            .api_version
            .as_ref()
            .and_then(|a| a.value.split_once('/'))
            .map(|(g, _)| g);
        let kind = doc.kind.as_ref().map(|k| k.value.as_str());
        let found = if let Some(group) = doc
            .crd_group
            .as_ref()
            .filter(|g| g.value.ends_with("tailscale.com"))
        {
            Some((
                &group.loc,
                format!(
                    "a Tailscale operator CRD (`{}`)",
                    doc.name.as_deref().unwrap_or(&group.value)
                ),
            ))
        } else if api_group.is_some_and(|g| g.ends_with("tailscale.com"))
            || kind.is_some_and(|k| {
                OPERATOR_KINDS.contains(&k) && api_group.is_some_and(|g| g.contains("tailscale"))
            })
        {
            let k = doc.kind.as_ref().or(doc.api_version.as_ref());
            k.map(|k| {
                (
                    &k.loc,
                    format!("a Tailscale operator resource (`{}`)", k.value),
                )
            })
        } else if let Some(image) = doc.images.iter().find(|i| {
            i.value.contains("tailscale/k8s-operator")
                || i.value.contains("tailscale/k8s-nameserver")
        }) {
            Some((
                &image.loc,
                format!("the Tailscale operator image (`{}`)", image.value),
            ))
        } else {
            doc.charts
                .iter()
                .find(|c| c.value == "tailscale-operator")
                .map(|c| (&c.loc, "the Tailscale operator Helm chart".to_owned()))
        };
        if let Some((loc, what)) = found {
            let span = cx.span(loc);
            let message = format!(
                "`{}` holds {what}, but `tailscale.kubernetesOperator` is \"forbidden\"",
                doc.path
            );
            // Deleting the file leaves the lines that list it: name them too.
            let listing = crate::kustomize_graph::listing_lines(cx, &doc.path);
            let d = cx.emit(&rules::TAILSCALE_OPERATOR_FORBIDDEN, message, Some(span));
            d.help = Some(if listing.is_empty() {
                "delete these manifests (and the Argo CD Application that deploys them)".into()
            } else {
                format!(
                    "delete these manifests (and the Argo CD Application that deploys them), and the lines listing the file: {}",
                    listing.join(", ")
                )
            });
            label(d, forbidden_span, "forbidden here");
        }
    }
}
