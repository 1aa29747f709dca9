//! Egress nobody declared: a hand-written workload that runs its own gluetun
//! without being a declared sidecar, or that points `HTTP_PROXY`/`ALL_PROXY` at
//! a declared proxy without being a declared client. Both work today and escape
//! everything the declarations give: one WireGuard key per instance, the
//! proxies' ingress policy, the enforced fence, the monitoring.
use crate::facts::KubeDoc;
use crate::wiring::parent;
use crate::{Checker, rules};
use std::collections::HashMap;

/// The namespace a workload runs in: its own, else the nearest kustomization's
/// `namespace:` in its directory or above.
pub(crate) fn namespace_of(doc: &KubeDoc, by_dir: &HashMap<&str, &KubeDoc>) -> Option<String> {
    if let Some(ns) = &doc.namespace {
        return Some(ns.clone());
    }
    let mut dir = parent(&doc.path);
    loop {
        if let Some(ns) = by_dir
            .get(dir)
            .and_then(|k| k.kustomization_namespace.clone())
        {
            return Some(ns);
        }
        dir = dir.rsplit_once('/')?.0;
    }
}

pub(crate) fn check(cx: &mut Checker<'_>) {
    let network = cx.network;
    let facts = cx.facts;
    let by_dir: HashMap<&str, &KubeDoc> = facts
        .kube_docs
        .iter()
        .filter(|d| d.resources.is_some())
        .map(|k| (parent(&k.path), k))
        .collect();
    for doc in &facts.kube_docs {
        if doc.pod_labels.is_none() {
            continue;
        }
        let Some(name) = doc.name.as_deref() else {
            continue;
        };
        let namespace = namespace_of(doc, &by_dir);
        let same = |ns: &str, deployment: &str| {
            deployment == name && namespace.as_deref().is_none_or(|n| n == ns)
        };
        let sidecar = network
            .egress
            .sidecars
            .values()
            .any(|s| same(s.namespace.value.as_str(), s.deployment.value.as_str()));
        let client = network
            .egress
            .clients
            .values()
            .any(|c| same(c.namespace.value.as_str(), c.deployment.value.as_str()));
        let ns = namespace.as_deref().unwrap_or("?");
        if !sidecar
            && let Some(image) = doc
                .images
                .iter()
                .find(|i| crate::egress::is_gluetun_image(&i.value))
        {
            let span = cx.span(&image.loc);
            let message = format!(
                "`{}` runs its own gluetun (`{}`) in `{ns}/{name}`, which no `egress.sidecars` entry declares",
                doc.path, image.value
            );
            cx.emit(&rules::EGRESS_UNDECLARED, message, Some(span)).help = Some(format!(
                "declare it (`egress.sidecars.{name} = {{ namespace = \"{ns}\"; provider = …; countries = [ … ]; }};`) and remove the hand-written container, \
                 so it gets its own key, the TUN device and the probes `build` generates"
            ));
        }
        if client {
            continue;
        }
        for value in &doc.proxy_env {
            // The regions of the proxy Services (`vpn-proxy-<region>`) the value names.
            let regions: Vec<&str> = value
                .value
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .filter_map(avalanche_model::layout::proxy_region)
                .collect();
            let Some(proxy) = network
                .egress
                .proxies
                .keys()
                .find(|p| regions.contains(&p.as_str()))
            else {
                continue;
            };
            let span = cx.span(&value.loc);
            let message = format!(
                "`{}` sends `{ns}/{name}` through proxy `{}` (`{}`) without an `egress.clients` entry: the proxies' ingress policy does not admit it",
                doc.path, proxy, value.value
            );
            cx.emit(&rules::EGRESS_UNDECLARED, message, Some(span)).help = Some(format!(
                "declare it: `egress.clients.{name} = {{ namespace = \"{ns}\"; proxy = \"{proxy}\"; }};` (then `build` sets the variables and the policy)"
            ));
        }
    }
}
