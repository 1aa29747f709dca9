//! `init`'s draft of `nix/network.nix`: what the repository already says, read
//! from its facts, written as declarations a person can review. A pure function
//! of the [`RepoFacts`] (read by `facts.rs` with the Kubernetes directory at the
//! repository root, so every YAML file is seen): no I/O, no decryption, the same
//! bytes for the same repository.
//!
//! Each drafted entry carries a comment naming the file and line it comes from.
//! What cannot be inferred (a retired machine's description, a sidecar's
//! countries when its manifests do not say) is left as a commented-out entry
//! with `FILL IN`, never guessed: a draft must decode, and must not invent a
//! finding the repository does not have.
use avalanche_check::RepoFacts;
use avalanche_check::facts::KubeDoc;
use avalanche_check::hosts::HostDir;
use avalanche_model::{ExistingSecret, Name};
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The drafted declarations and a summary of what was found.
pub struct Draft {
    /// The text of the declarations file.
    pub text: String,
    /// One line per kind of thing found, for the terminal.
    pub summary: Vec<String>,
}

/// The 1-based line of byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// `path:line` of the first line of `path` containing `needle` (`path` alone
/// when it does not).
fn at(facts: &RepoFacts, path: &str, needle: &str) -> String {
    match facts
        .text(path)
        .and_then(|t| t.find(needle).map(|i| line_of(t, i)))
    {
        Some(line) => format!("{path}:{line}"),
        None => path.to_owned(),
    }
}

/// A Nix string literal.
fn nix_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn nix_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| nix_str(i)).collect();
    format!("[ {} ]", quoted.join(" "))
}

/// An attribute name: bare when it is an identifier, quoted otherwise.
fn nix_attr(s: &str) -> String {
    let ident = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''));
    if ident { s.to_owned() } else { nix_str(s) }
}

/// `s` as a DNS-1123 label (the names of the schema), when it can be one.
fn label(s: &str) -> Option<String> {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let out = out.trim_matches('-');
    Name::new(out).ok().map(|n| n.as_str().to_owned())
}

// ---------------------------------------------------------------- Tailscale

/// What a host's files say about its Tailscale.
#[derive(Default)]
struct TailscaleHost {
    /// Where `services.tailscale` is (`file:line`).
    at: Option<String>,
    routes: Vec<String>,
    routes_at: Option<String>,
    tags: Vec<String>,
    exit_node: Option<String>,
    accepts_routes: Option<String>,
    routing_features: Option<(String, String)>,
}

/// The values of a `--flag=a,b` or `--flag a,b` written anywhere in `text`.
fn flag_values(text: &str, flag: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(flag) {
        let rest = &text[i + flag.len()..];
        let Some(rest) = rest.strip_prefix('=').or_else(|| rest.strip_prefix(' ')) else {
            continue;
        };
        let value: String = rest
            .chars()
            .take_while(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | ':' | ',' | '-' | '_')
            })
            .collect();
        let values: Vec<String> = value
            .split(',')
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        if !values.is_empty() {
            out.push((i, values));
        }
    }
    out
}

fn tailscale_of(facts: &RepoFacts, dir: &str) -> TailscaleHost {
    let mut t = TailscaleHost::default();
    for path in facts
        .paths
        .iter()
        .filter(|p| p.starts_with(dir) && p.ends_with(".nix"))
    {
        let Some(text) = facts.text(path) else {
            continue;
        };
        let here = |i: usize| format!("{path}:{}", line_of(text, i));
        if t.at.is_none()
            && let Some(i) = text.find("services.tailscale")
        {
            t.at = Some(here(i));
        }
        for (i, routes) in flag_values(text, "--advertise-routes") {
            t.routes_at.get_or_insert_with(|| here(i));
            for r in routes {
                if !t.routes.contains(&r) {
                    t.routes.push(r);
                }
            }
        }
        for (_, tags) in flag_values(text, "--advertise-tags") {
            for tag in tags {
                if tag.starts_with("tag:") && !t.tags.contains(&tag) {
                    t.tags.push(tag);
                }
            }
        }
        if let Some(i) = text.find("--advertise-exit-node") {
            t.exit_node.get_or_insert_with(|| here(i));
        }
        if let Some(i) = text.find("--accept-routes") {
            t.accepts_routes.get_or_insert_with(|| here(i));
        }
        if let Some(i) = text.find("useRoutingFeatures") {
            let value = text[i..]
                .split('"')
                .nth(1)
                .filter(|v| ["none", "client", "server", "both"].contains(v));
            if let Some(v) = value {
                t.routing_features
                    .get_or_insert_with(|| (v.to_owned(), here(i)));
            }
        }
    }
    t
}

fn draft_tailscale(
    facts: &RepoFacts,
    dirs: &[HostDir],
    out: &mut String,
    summary: &mut Vec<String>,
) -> BTreeSet<String> {
    // Hosts: the flake's, then the host directories'.
    let mut hosts: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    let flake_text = facts
        .text(avalanche_check::facts::FLAKE)
        .unwrap_or_default();
    if let Some(scan) = &facts.flake {
        for h in &scan.hosts {
            let at = if h.listed_by_nix {
                format!(
                    "flake.nix:{} (listed by `nix eval`)",
                    line_of(flake_text, h.start)
                )
            } else {
                format!("flake.nix:{}", line_of(flake_text, h.start))
            };
            hosts.entry(h.name.clone()).or_default().0 = Some(at);
        }
    }
    for d in dirs {
        hosts.entry(d.name.clone()).or_default().1 = Some(d.dir.clone());
    }
    let unknown = facts.flake.as_ref().and_then(|s| s.unknown_at());
    let mut nodes = String::new();
    let mut without = Vec::new();
    let mut count = 0;
    for (host, (in_flake, dir)) in &hosts {
        let t = dir
            .as_deref()
            .map(|d| tailscale_of(facts, d))
            .unwrap_or_default();
        let Some(ts_at) = &t.at else {
            without.push(host.clone());
            continue;
        };
        let Some(name) = Name::new(host).ok() else {
            let _ = writeln!(
                nodes,
                "      # `{host}` ({ts_at}) is not a DNS label: name its node yourself"
            );
            continue;
        };
        count += 1;
        let mut why = vec![format!("{ts_at}: services.tailscale")];
        let features = t.routing_features.as_ref().map(|(v, _)| v.as_str());
        let role = if !t.routes.is_empty() {
            "subnet-router"
        } else if t.accepts_routes.is_some() || matches!(features, Some("client" | "both")) {
            "workstation"
        } else {
            "server"
        };
        if let Some((v, a)) = &t.routing_features {
            why.push(format!("{a}: useRoutingFeatures = \"{v}\""));
        }
        if let Some(a) = &t.routes_at {
            why.push(format!("{a}: --advertise-routes"));
        }
        if let Some(a) = &t.accepts_routes {
            why.push(format!("{a}: --accept-routes"));
        }
        if let Some(f) = in_flake {
            why.push(format!("{f}: a host of the flake"));
        }
        for w in &why {
            let _ = writeln!(nodes, "      # {w}");
        }
        let mut attrs = vec![format!("role = {};", nix_str(role))];
        if !t.routes.is_empty() {
            attrs.push(format!("advertiseRoutes = {};", nix_list(&t.routes)));
        }
        if !t.tags.is_empty() {
            attrs.push(format!("tags = {};", nix_list(&t.tags)));
        }
        if t.accepts_routes.is_some() && role != "workstation" {
            attrs.push("acceptRoutes = true;".to_owned());
        }
        if let Some(a) = &t.exit_node {
            let _ = writeln!(
                nodes,
                "      # {a}: --advertise-exit-node; exit nodes are `\"forbidden\"` unless `tailscale.exitNodes = \"allowed\";`"
            );
            attrs.push("advertiseExitNode = true;".to_owned());
        }
        let _ = writeln!(
            nodes,
            "      {} = {{ {} }};",
            nix_attr(name.as_str()),
            attrs.join(" ")
        );
    }
    if count > 0 || !without.is_empty() {
        out.push_str("    tailscale.nodes = {\n");
        out.push_str(&nodes);
        if !without.is_empty() {
            let _ = writeln!(
                out,
                "      # No `services.tailscale` found for: {}. A phone or laptop outside the flake is\n      # `<name> = {{ role = \"device\"; }};`.",
                without.join(", ")
            );
        }
        out.push_str("    };\n");
    }
    if let Some((why, _)) = unknown {
        let _ = writeln!(
            out,
            "    # flake.nix: {why}; only the hosts found so far are listed above."
        );
    }
    summary.push(format!(
        "{count} Tailscale node{} (of {} host{})",
        if count == 1 { "" } else { "s" },
        hosts.len(),
        if hosts.len() == 1 { "" } else { "s" }
    ));
    hosts.into_keys().collect()
}

// ---------------------------------------------------------------- retired hosts

/// The host an anchor names (`host_routy`, `server-routy` → `routy`).
fn anchor_host(anchor: &str) -> &str {
    [
        "host_", "host-", "server_", "server-", "machine_", "machine-",
    ]
    .iter()
    .find_map(|p| anchor.strip_prefix(p))
    .unwrap_or(anchor)
}

fn draft_retired(
    facts: &RepoFacts,
    hosts: &BTreeSet<String>,
    out: &mut String,
    summary: &mut Vec<String>,
) {
    let Some(sops) = &facts.sops else { return };
    let text = facts
        .text(avalanche_check::facts::SOPS_CONFIG)
        .unwrap_or_default();
    let used: BTreeSet<&str> = sops
        .rules
        .iter()
        .flat_map(|r| r.recipients.iter().map(|l| l.value.as_str()))
        .collect();
    let mut count = 0;
    let mut people = Vec::new();
    for (anchor, value, loc) in &sops.anchors {
        if !value.starts_with("age1") || hosts.contains(anchor_host(anchor)) {
            continue;
        }
        let line = line_of(text, loc.start);
        if used.contains(value.as_str()) {
            people.push(format!("`{anchor}` (.sops.yaml:{line})"));
            continue;
        }
        let Some(name) = label(anchor_host(anchor)) else {
            continue;
        };
        count += 1;
        let _ = writeln!(
            out,
            "    # .sops.yaml:{line}: the key `&{anchor}` is in no creation rule and is no host of the flake:\n    # a machine that is gone? Keep this entry if so (`check` then finds what it left), delete it if not."
        );
        let _ = writeln!(out, "    retired.{} = {{", nix_attr(&name));
        let _ = writeln!(out, "      description = \"FILL IN: what `{name}` was\";");
        let _ = writeln!(out, "      ageRecipients = [ {} ];", nix_str(value));
        out.push_str("      # monthlyCost = 0.0; currency = \"EUR\";  # FILL IN what it cost, for `status`\n");
        out.push_str("    };\n");
    }
    if !people.is_empty() {
        let _ = writeln!(
            out,
            "    # Keys in creation rules that are no host (people's keys, kept): {}.",
            people.join(", ")
        );
    }
    summary.push(format!(
        "{count} retired candidate{} (keys in `.sops.yaml` no host or rule uses)",
        if count == 1 { "" } else { "s" }
    ));
}

// ---------------------------------------------------------------- secrets

fn draft_secrets(facts: &RepoFacts, out: &mut String, summary: &mut Vec<String>) {
    let mut entries = String::new();
    let mut names = BTreeSet::new();
    for file in &facts.sops_files {
        let Some(text) = facts.text(&file.path) else {
            continue;
        };
        let (is_secret, keys) = match avalanche_sops::scan::keys_of(text) {
            Some(avalanche_sops::scan::Keys {
                kubernetes_secret,
                names,
                documents: 1,
            }) => (kubernetes_secret, names),
            // One entry per file: a file of several documents (each its own
            // Secret) is the person's to split or declare, not merged here.
            Some(keys) => {
                let _ = writeln!(
                    entries,
                    "      # {}: a SOPS file of {} documents, not drafted (one `secrets` entry is one document)",
                    file.path, keys.documents
                );
                continue;
            }
            None => {
                let _ = writeln!(
                    entries,
                    "      # {}: a SOPS file whose keys could not be read (not YAML or JSON maps)",
                    file.path
                );
                continue;
            }
        };
        let stem = file.path.rsplit('/').next().unwrap_or(&file.path);
        let stem = stem.split('.').next().unwrap_or(stem);
        let base = match file
            .path
            .strip_prefix("secrets/")
            .and_then(|r| r.split_once('/'))
        {
            Some((host, _)) => format!("{host}-{stem}"),
            None => stem.to_owned(),
        };
        let Some(mut name) = label(&base) else {
            continue;
        };
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{}-{n}", label(&base).unwrap_or_default());
            n += 1;
        }
        names.insert(name.clone());
        let format = if is_secret {
            ""
        } else {
            " format = \"plain\";"
        };
        let _ = writeln!(
            entries,
            "      # {}: a SOPS file (its keys read from the file, not decrypted)",
            file.path
        );
        let _ = writeln!(
            entries,
            "      {} = {{{format} file = {}; keys = {}; }};",
            nix_attr(&name),
            nix_str(&file.path),
            nix_list(&keys)
        );
    }
    if !names.is_empty() {
        out.push_str("    secrets = {\n");
        out.push_str(&entries);
        out.push_str("    };\n");
    }
    summary.push(format!(
        "{} SOPS secret{}",
        names.len(),
        if names.len() == 1 { "" } else { "s" }
    ));
}

// ---------------------------------------------------------------- egress

/// One container of a workload, as far as egress is concerned.
struct Container {
    image: String,
    /// `name` → a literal value.
    env: BTreeMap<String, String>,
    /// `name` → (Secret, key) of a `secretKeyRef`.
    secret_env: BTreeMap<String, (String, String)>,
}

/// A Deployment (StatefulSet, DaemonSet) with its containers.
struct Workload<'f> {
    doc: &'f KubeDoc,
    name: String,
    namespace: Option<String>,
    containers: Vec<Container>,
    /// `path:line` of its `kind:`.
    at: String,
}

fn containers_of(spec: &Value) -> Vec<Container> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers"] {
        let Some(items) = spec.get(list).and_then(Value::as_sequence) else {
            continue;
        };
        for c in items {
            let mut container = Container {
                image: c
                    .get("image")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                env: BTreeMap::new(),
                secret_env: BTreeMap::new(),
            };
            for e in c
                .get("env")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let Some(name) = e.get("name").and_then(Value::as_str) else {
                    continue;
                };
                if let Some(v) = e.get("value") {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => continue,
                    };
                    container.env.insert(name.to_owned(), v);
                } else if let Some(r) = e.get("valueFrom").and_then(|v| v.get("secretKeyRef")) {
                    let (Some(s), Some(k)) = (
                        r.get("name").and_then(Value::as_str),
                        r.get("key").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    container
                        .secret_env
                        .insert(name.to_owned(), (s.to_owned(), k.to_owned()));
                }
            }
            out.push(container);
        }
    }
    out
}

/// The namespace of a document: its own, else its directory's kustomization's.
fn namespace_of(facts: &RepoFacts, doc: &KubeDoc) -> Option<String> {
    doc.namespace.clone().or_else(|| {
        let dir = doc.path.rsplit_once('/').map_or("", |(d, _)| d);
        facts
            .kube_docs
            .iter()
            .filter(|k| k.resources.is_some())
            .find(|k| k.path.rsplit_once('/').map_or("", |(d, _)| d) == dir)
            .and_then(|k| k.kustomization_namespace.clone())
    })
}

fn workloads(facts: &RepoFacts) -> Vec<Workload<'_>> {
    let mut out = Vec::new();
    let mut parsed: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for doc in facts.kube_docs.iter().filter(|d| d.pod_labels.is_some()) {
        let Some(name) = doc.name.clone() else {
            continue;
        };
        let docs = parsed.entry(doc.path.as_str()).or_insert_with(|| {
            let text = facts.text(&doc.path).unwrap_or_default();
            serde_norway::Deserializer::from_str(text)
                .filter_map(|d| serde::Deserialize::deserialize(d).ok())
                .collect()
        });
        let Some(value) = docs.iter().find(|v: &&Value| {
            v.get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                == Some(name.as_str())
                && v.get("kind").and_then(Value::as_str)
                    == doc.kind.as_ref().map(|k| k.value.as_str())
        }) else {
            continue;
        };
        let Some(spec) = value
            .get("spec")
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("spec"))
        else {
            continue;
        };
        let text = facts.text(&doc.path).unwrap_or_default();
        let line = doc.kind.as_ref().map_or(1, |k| line_of(text, k.loc.start));
        out.push(Workload {
            doc,
            namespace: namespace_of(facts, doc),
            containers: containers_of(spec),
            at: format!("{}:{line}", doc.path),
            name,
        });
    }
    out
}

/// gluetun's settings as a hand-written container has them.
struct Gluetun {
    service: Option<String>,
    vpn_type: Option<String>,
    countries: Vec<String>,
    port_forwarding: bool,
    input_ports: Vec<String>,
    http_proxy: bool,
    /// The credentials Secret and the key of each variable, when every one is a `secretKeyRef` to it.
    existing: Option<(String, BTreeMap<String, String>)>,
    /// Credentials written as literal values (never copied into the draft).
    literal: Vec<String>,
}

fn gluetun_of(c: &Container) -> Gluetun {
    let on = |v: &str| {
        c.env
            .get(v)
            .is_some_and(|x| matches!(x.as_str(), "on" | "yes" | "true"))
    };
    let mut secrets: BTreeSet<&str> = BTreeSet::new();
    let mut keys = BTreeMap::new();
    let mut literal = Vec::new();
    for var in ExistingSecret::VARIABLES {
        if let Some((secret, key)) = c.secret_env.get(var) {
            secrets.insert(secret);
            keys.insert(var.to_owned(), key.clone());
        } else if c.env.contains_key(var) {
            literal.push(var.to_owned());
        }
    }
    let existing = match secrets.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => Some(((*one).to_owned(), keys)),
        _ => None,
    };
    let vpn_type = c.env.get("VPN_TYPE").cloned().or_else(|| {
        (c.env.contains_key("WIREGUARD_PRIVATE_KEY")
            || c.secret_env.contains_key("WIREGUARD_PRIVATE_KEY"))
        .then(|| "wireguard".to_owned())
    });
    Gluetun {
        service: c
            .env
            .get("VPN_SERVICE_PROVIDER")
            .map(|s| s.to_ascii_lowercase()),
        vpn_type,
        countries: c
            .env
            .get("SERVER_COUNTRIES")
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        port_forwarding: on("VPN_PORT_FORWARDING"),
        input_ports: c
            .env
            .get("FIREWALL_INPUT_PORTS")
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|p| p.parse::<u16>().is_ok())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        http_proxy: on("HTTPPROXY"),
        existing,
        literal,
    }
}

fn is_gluetun(c: &Container) -> bool {
    c.image.contains("gluetun")
}

/// The `existingSecret = …;` line of a hand-written gluetun's credentials.
fn existing_line(secret: &str, keys: &BTreeMap<String, String>) -> String {
    let mapped: Vec<String> = keys
        .iter()
        .filter(|(var, key)| var != key)
        .map(|(var, key)| format!("{var} = {};", nix_str(key)))
        .collect();
    if mapped.is_empty() {
        format!("existingSecret.name = {};", nix_str(secret))
    } else {
        format!(
            "existingSecret = {{ name = {}; keys = {{ {} }}; }};",
            nix_str(secret),
            mapped.join(" ")
        )
    }
}

/// What the VPN keys of a Secret-making document are likely for, from their names.
fn vpn_variable(key: &str) -> Option<&'static str> {
    let k = key.to_ascii_lowercase();
    if k.contains("address") {
        Some("WIREGUARD_ADDRESSES")
    } else if k.contains("private")
        || k == "wg-key"
        || k == "wg_key"
        || k.ends_with("wireguard-key")
    {
        Some("WIREGUARD_PRIVATE_KEY")
    } else {
        None
    }
}

/// The drafted egress and the provider services it uses.
#[derive(Default)]
struct Egress {
    providers: BTreeMap<String, (String, Option<String>, String)>,
    proxies: String,
    sidecars: String,
    clients: String,
    /// Hand-written proxies: host names they are reached by → drafted proxy name.
    proxy_hosts: BTreeMap<String, String>,
    counts: [usize; 3],
}

impl Egress {
    /// The provider name for a gluetun's `service` (declared once, where first found).
    fn provider(&mut self, g: &Gluetun, at: &str) -> Option<String> {
        let service = g.service.clone()?;
        let name = label(&service)?;
        self.providers
            .entry(name.clone())
            .or_insert_with(|| (service, g.vpn_type.clone(), at.to_owned()));
        Some(name)
    }
}

fn draft_egress(facts: &RepoFacts, out: &mut String, summary: &mut Vec<String>) {
    let all = workloads(facts);
    let mut e = Egress::default();
    let mut vpn_secrets_used: BTreeSet<String> = BTreeSet::new();
    // Shared proxies first: clients name them.
    for w in &all {
        let [only] = w.containers.as_slice() else {
            continue;
        };
        if !is_gluetun(only) {
            continue;
        }
        let g = gluetun_of(only);
        let base = w
            .name
            .trim_start_matches("gluetun-")
            .trim_end_matches("-gluetun");
        // One `build` generated (`vpn-proxy-<region>`) names its region.
        let base = avalanche_model::layout::proxy_region(base)
            .unwrap_or(base)
            .trim_start_matches("vpn-");
        let name = match (base, g.countries.first()) {
            ("gluetun" | "vpn" | "", Some(country)) => label(country),
            (base, _) => label(base),
        };
        let Some(name) = name else { continue };
        if let Some(ns) = &w.namespace {
            e.proxy_hosts
                .insert(format!("{}.{ns}", w.name), name.clone());
        }
        e.proxy_hosts.insert(w.name.clone(), name.clone());
        let provider = e.provider(&g, &w.at);
        let _ = writeln!(
            e.proxies,
            "      # {}: a hand-written gluetun Deployment `{}`{};\n      # the generated one runs in namespace `vpn-proxy`: move its clients, then delete the old one.",
            w.at,
            w.name,
            if g.http_proxy {
                " with its HTTP proxy on"
            } else {
                ""
            }
        );
        let comment = if provider.is_none() || g.countries.is_empty() {
            "# "
        } else {
            ""
        };
        let mut attrs = vec![format!(
            "provider = {};",
            nix_str(provider.as_deref().unwrap_or("FILL-IN"))
        )];
        attrs.push(format!("countries = {};", nix_list(&g.countries)));
        if let Some((secret, keys)) = &g.existing {
            vpn_secrets_used.insert(secret.clone());
            let _ = writeln!(
                e.proxies,
                "      # Its keys are in Secret `{secret}`: the generated proxy reads it in namespace `vpn-proxy` (copy it there)."
            );
            attrs.push(existing_line(secret, keys));
        }
        if !comment.is_empty() {
            e.proxies.push_str("      # FILL IN its provider (`VPN_SERVICE_PROVIDER`) and countries, then uncomment:\n");
        }
        let _ = writeln!(
            e.proxies,
            "      {comment}{} = {{ {} }};",
            nix_attr(&name),
            attrs.join(" ")
        );
        e.counts[0] += 1;
    }
    // Sidecars: a gluetun next to the app's own containers.
    for w in &all {
        if w.containers.len() < 2 {
            continue;
        }
        let Some(gc) = w.containers.iter().find(|c| is_gluetun(c)) else {
            continue;
        };
        let g = gluetun_of(gc);
        let (Some(name), Some(ns)) = (label(&w.name), w.namespace.as_deref().and_then(label))
        else {
            continue;
        };
        let provider = e.provider(&g, &w.at);
        let _ = writeln!(
            e.sidecars,
            "      # {}: `{}` runs a hand-written gluetun sidecar;\n      # the generated one is a native sidecar (remove the old container when you build).",
            w.at, w.name
        );
        if !g.literal.is_empty() {
            let _ = writeln!(
                e.sidecars,
                "      # It has {} as plain values in the manifest: move them into a Secret (not copied here).",
                g.literal.join(", ")
            );
        }
        let comment = if provider.is_none() || g.countries.is_empty() {
            "# "
        } else {
            ""
        };
        let mut attrs = vec![
            format!("namespace = {};", nix_str(&ns)),
            format!(
                "provider = {};",
                nix_str(provider.as_deref().unwrap_or("FILL-IN"))
            ),
            format!("countries = {};", nix_list(&g.countries)),
        ];
        if g.port_forwarding {
            attrs.push("portForwarding = true;".to_owned());
        }
        if !g.input_ports.is_empty() {
            attrs.push(format!("inputPorts = [ {} ];", g.input_ports.join(" ")));
        }
        if let Some((secret, keys)) = &g.existing {
            vpn_secrets_used.insert(secret.clone());
            attrs.push(existing_line(secret, keys));
        }
        if !comment.is_empty() {
            e.sidecars.push_str("      # FILL IN its provider (`VPN_SERVICE_PROVIDER`) and countries, then uncomment:\n");
        }
        let _ = writeln!(
            e.sidecars,
            "      {comment}{} = {{ {} }};",
            nix_attr(&name),
            attrs.join(" ")
        );
        e.counts[1] += 1;
    }
    // Apps that hold VPN keys but run no gluetun yet: a sidecar to fill in.
    for doc in &facts.kube_docs {
        let Some(made) = &doc.makes_secret else {
            continue;
        };
        if vpn_secrets_used.contains(&made.name) {
            continue;
        }
        let Some(keys) = &made.keys else { continue };
        let mapped: BTreeMap<String, String> = keys
            .iter()
            .filter_map(|k| Some((vpn_variable(k)?.to_owned(), k.clone())))
            .collect();
        if !mapped.contains_key("WIREGUARD_PRIVATE_KEY") {
            continue;
        }
        let dir = doc.path.rsplit_once('/').map_or("", |(d, _)| d);
        let Some(w) = all
            .iter()
            .find(|w| w.doc.path.rsplit_once('/').map_or("", |(d, _)| d) == dir)
        else {
            continue;
        };
        let (Some(name), Some(ns)) = (label(&w.name), w.namespace.as_deref().and_then(label))
        else {
            continue;
        };
        let kind = doc.kind.as_ref().map_or("Secret", |k| k.value.as_str());
        let text = facts.text(&doc.path).unwrap_or_default();
        let line = doc.kind.as_ref().map_or(1, |k| line_of(text, k.loc.start));
        let _ = writeln!(
            e.sidecars,
            "      # {}:{line}: {kind} `{}` holds WireGuard keys ({}) for\n      # `{}` ({}), which runs no gluetun yet.\n      # FILL IN its provider and countries, then uncomment (keys mapped from their names: check them):",
            doc.path,
            made.name,
            keys.join(", "),
            w.name,
            w.at
        );
        let _ = writeln!(
            e.sidecars,
            "      # {} = {{ namespace = {}; provider = \"FILL-IN\"; countries = [ \"FILL IN\" ]; {} }};",
            nix_attr(&name),
            nix_str(&ns),
            existing_line(&made.name, &mapped)
        );
    }
    // Clients: apps configured with a proxy.
    for w in &all {
        if w.containers.iter().any(is_gluetun) {
            continue;
        }
        let proxy_env = w.containers.iter().find_map(|c| {
            [
                "HTTPS_PROXY",
                "HTTP_PROXY",
                "https_proxy",
                "http_proxy",
                "ALL_PROXY",
                "all_proxy",
            ]
            .iter()
            .find_map(|v| c.env.get(*v).map(|url| (*v, url.clone())))
        });
        let Some((var, url)) = proxy_env else {
            continue;
        };
        let (Some(name), Some(ns)) = (label(&w.name), w.namespace.as_deref().and_then(label))
        else {
            continue;
        };
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or(&url)
            .split([':', '/'])
            .next()
            .unwrap_or_default();
        let proxy = e
            .proxy_hosts
            .iter()
            .find(|(h, _)| host == h.as_str() || host.starts_with(&format!("{h}.")))
            .map(|(_, p)| p.clone());
        let socks = url.starts_with("socks");
        let _ = writeln!(e.clients, "      # {}: `{}` sets {var}={url}", w.at, w.name);
        let mut attrs = vec![format!("namespace = {};", nix_str(&ns))];
        attrs.push(format!(
            "proxy = {};",
            nix_str(proxy.as_deref().unwrap_or("FILL-IN"))
        ));
        if socks {
            e.clients.push_str("      # It speaks SOCKS5, which no gluetun serves: its own gluetun (`protocol = \"sidecar\"`) is transparent to it.\n");
            attrs.push("protocol = \"sidecar\"; speaks = [ \"socks5\" ];".to_owned());
        }
        let labels = w
            .doc
            .pod_labels
            .as_ref()
            .map(|(l, _)| l.clone())
            .unwrap_or_default();
        let default = BTreeMap::from([(
            avalanche_model::defaults::POD_LABEL_KEY.to_owned(),
            w.name.clone(),
        )]);
        if !labels.is_empty() && labels != default {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{} = {};", nix_attr(k), nix_str(v)))
                .collect();
            attrs.push(format!("podLabels = {{ {} }};", pairs.join(" ")));
        }
        let comment = if proxy.is_none() { "# " } else { "" };
        if proxy.is_none() {
            e.clients.push_str("      # FILL IN the proxy it should use (a key of `egress.proxies`), then uncomment:\n");
        }
        let _ = writeln!(
            e.clients,
            "      {comment}{} = {{ {} }};",
            nix_attr(&name),
            attrs.join(" ")
        );
        e.counts[2] += 1;
    }
    let sections = [
        ("providers", String::new()),
        ("proxies", e.proxies.clone()),
        ("sidecars", e.sidecars.clone()),
        ("clients", e.clients.clone()),
    ];
    let mut providers = String::new();
    for (name, (service, vpn_type, at)) in &e.providers {
        let _ = writeln!(providers, "      # {at}: VPN_SERVICE_PROVIDER={service}");
        let mut attrs = Vec::new();
        if service != name {
            attrs.push(format!("service = {};", nix_str(service)));
        }
        if let Some(t) = vpn_type
            .as_deref()
            .filter(|t| *t != avalanche_model::defaults::VPN_TYPE)
        {
            attrs.push(format!("type = {};", nix_str(t)));
        }
        let body = if attrs.is_empty() {
            " ".to_owned()
        } else {
            format!(" {} ", attrs.join(" "))
        };
        let _ = writeln!(providers, "      {} = {{{body}}};", nix_attr(name));
    }
    let any = !providers.is_empty() || sections.iter().any(|(_, s)| !s.is_empty());
    if any {
        out.push_str("    egress = {\n");
        for (section, body) in [
            ("providers", &providers),
            ("proxies", &sections[1].1),
            ("sidecars", &sections[2].1),
            ("clients", &sections[3].1),
        ] {
            if body.is_empty() {
                continue;
            }
            let _ = writeln!(out, "      {section} = {{");
            for line in body.lines() {
                let _ = writeln!(out, "  {line}");
            }
            out.push_str("      };\n");
        }
        out.push_str("    };\n");
    }
    summary.push(format!(
        "{} proxies, {} sidecars, {} clients from hand-written manifests",
        e.counts[0], e.counts[1], e.counts[2]
    ));
}

// ---------------------------------------------------------------- kubernetes

/// The Flux `Kustomization`s people wrote (`kustomize.toolkit.fluxcd.io`), in
/// path order: what Flux applies, and from where.
fn flux_kustomizations(facts: &RepoFacts) -> Vec<&KubeDoc> {
    facts
        .kube_docs
        .iter()
        .filter(|d| avalanche_check::wiring::is_flux_kustomization(d))
        .collect()
}

/// `path:line` of a document's `kind:`.
fn doc_at(facts: &RepoFacts, d: &KubeDoc) -> String {
    let text = facts.text(&d.path).unwrap_or_default();
    let line = d.kind.as_ref().map_or(1, |k| line_of(text, k.loc.start));
    format!("{}:{line}", d.path)
}

/// The directory every `spec.path` of the Flux Kustomizations lies in (their
/// longest common directory, `.` when they share none): Flux applies trees from
/// all over the repository, and `kubernetes.dir` must hold them all.
fn flux_dir(flux: &[&KubeDoc]) -> Option<String> {
    let paths: Vec<String> = flux
        .iter()
        .filter_map(|d| d.source_paths.first())
        .map(|p| avalanche_model::layout::normalized(p))
        .collect();
    let first = paths.first()?;
    let mut common: Vec<&str> = first.split('/').filter(|c| *c != ".").collect();
    for p in &paths[1..] {
        let parts: Vec<&str> = p.split('/').collect();
        let same = common
            .iter()
            .zip(&parts)
            .take_while(|(a, b)| a == b)
            .count();
        common.truncate(same);
    }
    Some(if common.is_empty() {
        ".".to_owned()
    } else {
        common.join("/")
    })
}

/// The directory holding the Kubernetes manifests: with Flux, the one all its
/// Kustomizations' paths lie in; else the top-level directory holding most
/// Kubernetes documents (or `.`).
pub fn kubernetes_dir(facts: &RepoFacts) -> String {
    if let Some(dir) = flux_dir(&flux_kustomizations(facts)) {
        return dir;
    }
    let mut by_dir: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &facts.kube_docs {
        if d.api_version.is_some() && d.kind.is_some() {
            let top = d.path.split_once('/').map_or(".", |(t, _)| t);
            *by_dir.entry(top).or_default() += 1;
        }
    }
    let best = by_dir.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
    best.map_or(avalanche_model::defaults::KUBERNETES_DIR, |(d, _)| d)
        .to_owned()
}

fn draft_kubernetes(facts: &RepoFacts, dir: &str, out: &mut String) {
    let mut lines = Vec::new();
    let flux = flux_kustomizations(facts);
    if dir != avalanche_model::defaults::KUBERNETES_DIR {
        if flux.is_empty() {
            lines.push(format!(
                "      # Most Kubernetes manifests are under `{dir}/`."
            ));
        } else {
            let applied: Vec<String> = flux
                .iter()
                .filter_map(|d| {
                    let path = d.source_paths.first()?;
                    Some(format!("`{path}` ({})", doc_at(facts, d)))
                })
                .collect();
            lines.push(format!(
                "      # Flux applies {}: all under `{dir}`.",
                applied.join(", ")
            ));
        }
        lines.push(format!("      dir = {};", nix_str(dir)));
    }
    if flux.is_empty() {
        draft_argocd(facts, dir, &mut lines);
    } else {
        draft_flux(facts, &flux, &mut lines);
    }
    draft_layout(facts, dir, &mut lines);
    out.push_str("    kubernetes = {\n");
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out.push_str("    };\n");
}

/// `gitops = "flux"` from the Flux Kustomizations, and where `build` registers
/// the generated one: the directory the bootstrap (`flux-system`, as `flux
/// bootstrap` writes it) applies, found again by `build`; with several
/// bootstraps, `flux.registerIn` names one to review.
fn draft_flux(facts: &RepoFacts, flux: &[&KubeDoc], lines: &mut Vec<String>) {
    let bootstraps: Vec<&&KubeDoc> = flux
        .iter()
        .filter(|d| d.name.as_deref() == Some(avalanche_model::defaults::FLUX_NAMESPACE))
        .collect();
    let first = bootstraps.first().copied().unwrap_or(&flux[0]);
    let what = if bootstraps.is_empty() {
        "a Flux Kustomization (no `flux-system` bootstrap found)"
    } else {
        "the Flux bootstrap Kustomization `flux-system`"
    };
    lines.push(format!("      # {}: {what}", doc_at(facts, first)));
    lines.push("      gitops = \"flux\";".to_owned());
    let mut roots: Vec<(String, String)> = bootstraps
        .iter()
        .filter_map(|d| {
            let path = avalanche_model::layout::normalized(d.source_paths.first()?);
            Some((path, doc_at(facts, d)))
        })
        .collect();
    roots.sort();
    roots.dedup_by(|a, b| a.0 == b.0);
    match roots.as_slice() {
        [] => lines.push(
            "      # No bootstrap says where the cluster's Kustomizations live: name the directory.\n      # flux.registerIn = \"FILL IN: the directory Flux applies the cluster's Kustomizations from\";".to_owned(),
        ),
        [(path, _)] => lines.push(format!(
            "      # It applies `{path}`: `build` registers the generated Kustomization there."
        )),
        [(path, _), ..] => {
            let all: Vec<String> = roots.iter().map(|(p, at)| format!("`{p}` ({at})")).collect();
            lines.push(format!(
                "      # Several bootstraps apply {}: name the one of the cluster that runs the proxies.",
                all.join(", ")
            ));
            lines.push(format!("      flux.registerIn = {};", nix_str(path)));
        }
    }
    draft_flux_names(facts, flux, first, lines);
}

/// The names the generated Kustomization must share with the repository's:
/// its namespace and source (those of `first`, the bootstrap, which applies
/// this repository) and the Secret holding the decryption key (the one the
/// repository's Kustomizations name), each drafted only when it is not the
/// default, with where it was read.
fn draft_flux_names(
    facts: &RepoFacts,
    flux: &[&KubeDoc],
    first: &KubeDoc,
    lines: &mut Vec<String>,
) {
    use avalanche_model::defaults as d;
    let at = doc_at(facts, first);
    if let Some(namespace) = first.namespace.as_deref()
        && namespace != d::FLUX_NAMESPACE
    {
        lines.push(format!("      # {at} runs in `{namespace}`."));
        lines.push(format!("      flux.namespace = {};", nix_str(namespace)));
    }
    if let Some((kind, name)) = &first.flux_source {
        let kind = kind.as_deref().unwrap_or(d::FLUX_SOURCE_KIND);
        if kind != d::FLUX_SOURCE_KIND || name != d::FLUX_SOURCE_NAME {
            lines.push(format!(
                "      # {at} applies this repository from the {kind} `{name}`."
            ));
            if kind != d::FLUX_SOURCE_KIND {
                lines.push(format!("      flux.sourceRef.kind = {};", nix_str(kind)));
            }
            if name != d::FLUX_SOURCE_NAME {
                lines.push(format!("      flux.sourceRef.name = {};", nix_str(name)));
            }
        }
    }
    // The decryption Secrets the repository's Kustomizations name, each with
    // where it is first named.
    let mut secrets: BTreeMap<&str, (usize, String)> = BTreeMap::new();
    for doc in flux {
        if let Some(secret) = doc.flux_decryption_secret.as_deref() {
            let entry = secrets
                .entry(secret)
                .or_insert_with(|| (0, doc_at(facts, doc)));
            entry.0 += 1;
        }
    }
    let most_named = secrets
        .iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(a.0)));
    if let Some((secret, (_, at))) = most_named
        && *secret != d::FLUX_DECRYPTION_SECRET
    {
        if secrets.len() > 1 {
            let all: Vec<String> = secrets
                .iter()
                .map(|(name, (_, at))| format!("`{name}` ({at})"))
                .collect();
            lines.push(format!(
                "      # The Kustomizations decrypt with {}: the most named one.",
                all.join(", ")
            ));
        } else {
            lines.push(format!(
                "      # {at} decrypts SOPS with the key in `{secret}`."
            ));
        }
        lines.push(format!(
            "      flux.decryptionSecret = {};",
            nix_str(secret)
        ));
    }
}

/// `kubernetes.layout` from where the apps are: each hand-written workload's
/// place as a pattern (`apps/{namespace}/{app}` when its directory, named after
/// it, has a kustomization; `apps/{app}.yaml` for a flat manifest named after
/// it), the most common one drafted when it is not the default; and the
/// proxies' tree where the repository already has a `vpn-proxy` directory.
fn draft_layout(facts: &RepoFacts, dir: &str, lines: &mut Vec<String>) {
    let prefix = if dir == "." {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut votes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for w in workloads(facts) {
        // A hand-written gluetun proxy is no app a component joins.
        if !w.containers.is_empty() && w.containers.iter().all(is_gluetun) {
            continue;
        }
        let Some(rel) = w.doc.path.strip_prefix(&prefix) else {
            continue;
        };
        let (doc_dir, file) = rel.rsplit_once('/').unwrap_or(("", rel));
        let parent = |p: &str| p.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
        let full_dir = parent(&w.doc.path);
        let has_kustomization = facts
            .kube_docs
            .iter()
            .any(|k| k.resources.is_some() && parent(&k.path) == full_dir);
        let pattern = if has_kustomization {
            let mut parts: Vec<&str> = doc_dir.split('/').collect();
            if parts.last() != Some(&w.name.as_str()) {
                continue;
            }
            let n = parts.len();
            if n >= 2 && w.namespace.as_deref() == Some(parts[n - 2]) {
                parts[n - 2] = "{namespace}";
            }
            parts[n - 1] = "{app}";
            parts.join("/")
        } else {
            let Some(ext) = [".yaml", ".yml"]
                .into_iter()
                .find(|e| file.strip_suffix(e) == Some(w.name.as_str()))
            else {
                continue;
            };
            if doc_dir.is_empty() {
                format!("{{app}}{ext}")
            } else {
                format!("{doc_dir}/{{app}}{ext}")
            }
        };
        votes.entry(pattern).or_default().push(w.at.clone());
    }
    let best = votes
        .iter()
        .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)));
    if let Some((pattern, at)) = best {
        if pattern != avalanche_model::defaults::LAYOUT_APPS
            && avalanche_model::layout::apps_pattern_problem(pattern).is_none()
        {
            lines.push(format!("      # {}: apps at `{pattern}`", at.join(", ")));
            if pattern.ends_with(".yaml") || pattern.ends_with(".yml") {
                lines.push(format!(
                    "      # (flat manifests: each app's generated component goes to `kubernetes.layout.egress`, `{}` by default, and `build` lists it in what applies the file)",
                    avalanche_model::defaults::LAYOUT_EGRESS
                ));
            }
            lines.push(format!("      layout.apps = {};", nix_str(pattern)));
        }
        for (other, at) in votes.iter().filter(|(p, _)| *p != pattern) {
            lines.push(format!("      # Also apps at `{other}`: {}", at.join(", ")));
        }
    }
    // The repository already keeps a `vpn-proxy` directory (its credentials, say).
    let proxies = facts
        .paths
        .iter()
        .filter_map(|p| p.strip_prefix(&prefix).map(|rel| (p, rel)))
        .find_map(|(p, rel)| {
            let (d, _) = rel.rsplit_once('/')?;
            (d.rsplit('/').next() == Some("vpn-proxy")).then_some((p, d))
        });
    if let Some((path, proxy_dir)) = proxies
        && proxy_dir != avalanche_model::defaults::LAYOUT_PROXIES
    {
        lines.push(format!(
            "      # {path}: the repository's `vpn-proxy` directory; the shared proxies' tree goes there."
        ));
        lines.push(format!("      layout.proxies = {};", nix_str(proxy_dir)));
    }
}

/// `argocd.repoURL` and the app-of-apps, from the Argo CD Applications.
fn draft_argocd(facts: &RepoFacts, dir: &str, lines: &mut Vec<String>) {
    let prefix = format!("{dir}/");
    let apps: Vec<&KubeDoc> = facts
        .kube_docs
        .iter()
        .filter(|d| {
            d.path.starts_with(&prefix) && d.kind.as_ref().is_some_and(|k| k.value == "Application")
        })
        .collect();
    let repo_url = apps.iter().find_map(|d| {
        let text = facts.text(&d.path)?;
        let i = text.find("repoURL:")?;
        let value = text[i + 8..]
            .lines()
            .next()?
            .trim()
            .trim_matches(['"', '\'']);
        (!value.is_empty()).then(|| (value.to_owned(), format!("{}:{}", d.path, line_of(text, i))))
    });
    match repo_url {
        Some((url, at)) => {
            lines.push(format!("      # {at}: the repository Argo CD syncs"));
            lines.push(format!("      argocd.repoURL = {};", nix_str(&url)));
        }
        None => lines
            .push("      # argocd.repoURL = \"FILL IN: the repository Argo CD syncs\";".to_owned()),
    }
    let candidates = avalanche_check::wiring::app_of_apps(
        facts
            .kube_docs
            .iter()
            .filter(|d| d.resources.is_some() && d.path.starts_with(&prefix))
            .filter_map(|d| Some((d.path.as_str(), facts.text(&d.path)?))),
    );
    match candidates.as_slice() {
        [] => lines.push(
            "      # No app-of-apps kustomization (one listing `*-app.yaml`) found: `build` writes the Application\n      # and you apply or register it yourself (or set `argocd.registerIn`).".to_owned(),
        ),
        [one] => lines.push(format!(
            "      # {}: the app-of-apps; `build` registers the generated Application there.",
            at(facts, one, "resources")
        )),
        [first, ..] => {
            lines.push(format!(
                "      # Several kustomizations list `*-app.yaml` files ({}): name the one Argo CD's root deploys.",
                candidates.join(", ")
            ));
            lines.push(format!("      argocd.registerIn = {};", nix_str(first)));
        }
    }
}

/// Drafts the declarations from `facts` (read with the Kubernetes directory at
/// the repository root) and the host directories.
pub fn draft(facts: &RepoFacts, dirs: &[HostDir]) -> Draft {
    // What an earlier `build` generated is not what people wrote: its ledger says which.
    let generated: BTreeSet<String> = facts
        .paths
        .iter()
        .filter(|p| p.rsplit('/').next() == Some(avalanche_model::layout::LEDGER_NAME))
        .filter_map(|p| serde_json::from_str::<serde_json::Value>(facts.text(p)?).ok())
        .filter_map(|v| {
            v.get("files")?
                .as_object()
                .map(|f| f.keys().cloned().collect::<Vec<_>>())
        })
        .flatten()
        .collect();
    let mut own = facts.clone();
    own.kube_docs.retain(|d| !generated.contains(&d.path));
    let facts = &own;
    let mut summary = Vec::new();
    let mut body = String::new();
    // One section after the other, a blank line between those written.
    let section = |body: &mut String, f: &mut dyn FnMut(&mut String)| {
        let mut part = String::new();
        f(&mut part);
        if !part.is_empty() {
            if !body.is_empty() {
                body.push('\n');
            }
            body.push_str(&part);
        }
    };
    let mut hosts = BTreeSet::new();
    section(&mut body, &mut |b| {
        hosts = draft_tailscale(facts, dirs, b, &mut summary)
    });
    section(&mut body, &mut |b| {
        draft_retired(facts, &hosts, b, &mut summary)
    });
    section(&mut body, &mut |b| draft_secrets(facts, b, &mut summary));
    section(&mut body, &mut |b| draft_egress(facts, b, &mut summary));
    let dir = kubernetes_dir(facts);
    section(&mut body, &mut |b| draft_kubernetes(facts, &dir, b));
    let mut text = String::from(
        "# The network of this repository, drafted by `avalanche-net init` from what the\n\
         # repository already says. Each entry names the file and line it was found at.\n\
         # Review it; `FILL IN` marks what the files do not say (commented-out entries\n\
         # are uncommented once filled in). Then: `avalanche-net check`, `avalanche-net diff`,\n\
         # `avalanche-net secrets seal NAME` for each credentials file `check` finds missing,\n\
         # `avalanche-net build`.\n\
         # Every option is described in avalanche-net's README and in its\n\
         # `nix/modules/options.generated.nix` (mkOption descriptions and examples).\n\
         {\n  avalanche.network = {\n",
    );
    text.push_str(&body);
    text.push_str("  };\n}\n");
    Draft { text, summary }
}
