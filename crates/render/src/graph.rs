//! The network as a picture: Mermaid and Graphviz DOT.
//!
//! Both formats are printed from one intermediate [`Graph`] so they always show the
//! same thing: the Tailscale nodes with their roles, tags and advertised routes; the
//! egress paths (client → proxy → country → provider); apps with their own gluetun
//! sidecar; the NetworkPolicy fences around enforced clients (a subgraph); and the
//! retired hosts, greyed and dashed. Identifiers are escaped so that any name or
//! label gives a valid diagram, and the output depends only on the network (maps
//! are ordered), so it is byte-for-byte deterministic.
use avalanche_model::{
    ClientProtocol, Network, Permission, Role, Spanned, Upstream, defaults, layout,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Mermaid flowchart of the egress paths (client → proxy → country → provider),
/// sidecars and fences; embedded in the vpn-proxy README.
pub fn mermaid(network: &Network) -> String {
    Graph::of(network).to_mermaid()
}

/// Graphviz DOT of the whole network.
pub fn dot(network: &Network) -> String {
    Graph::of(network).to_dot()
}

/// What a node stands for; decides its shape and style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tailnode,
    Retired,
    Subnet,
    Proxy,
    Client,
    Sidecar,
    Country,
    Provider,
    Gateway,
    Undeclared,
}

impl Kind {
    /// The Mermaid class and DOT style name.
    fn class(self) -> &'static str {
        match self {
            Kind::Tailnode => "tailnode",
            Kind::Retired => "retired",
            Kind::Subnet => "subnet",
            Kind::Proxy => "proxy",
            Kind::Client => "client",
            Kind::Sidecar => "sidecar",
            Kind::Country => "country",
            Kind::Provider => "provider",
            Kind::Gateway => "gateway",
            Kind::Undeclared => "undeclared",
        }
    }

    const ALL: [Kind; 10] = [
        Kind::Tailnode,
        Kind::Retired,
        Kind::Subnet,
        Kind::Proxy,
        Kind::Client,
        Kind::Sidecar,
        Kind::Country,
        Kind::Provider,
        Kind::Gateway,
        Kind::Undeclared,
    ];

    fn mermaid_style(self) -> &'static str {
        match self {
            Kind::Tailnode => "fill:#e8f0fe,stroke:#1a73e8",
            Kind::Retired => "fill:#eeeeee,stroke:#9e9e9e,color:#757575,stroke-dasharray:5 5",
            Kind::Subnet => "fill:#e6f4ea,stroke:#188038",
            Kind::Proxy => "fill:#fef7e0,stroke:#f29900",
            Kind::Client => "fill:#ffffff,stroke:#5f6368",
            Kind::Sidecar => "fill:#fce8e6,stroke:#d93025",
            Kind::Country => "fill:#f3e8fd,stroke:#8430ce",
            Kind::Provider => "fill:#f1f3f4,stroke:#3c4043",
            Kind::Gateway => "fill:#e6f4ea,stroke:#137333",
            Kind::Undeclared => "fill:#ffffff,stroke:#d93025,color:#d93025,stroke-dasharray:2 2",
        }
    }

    fn mermaid_open_close(self) -> (&'static str, &'static str) {
        match self {
            Kind::Subnet => ("[(", ")]"),
            Kind::Country => ("([", "])"),
            Kind::Provider => ("[[", "]]"),
            Kind::Proxy => ("{{", "}}"),
            Kind::Gateway => ("[/", "/]"),
            _ => ("[", "]"),
        }
    }

    fn dot_attrs(self) -> &'static str {
        match self {
            Kind::Tailnode => {
                r##"shape=box, style="rounded,filled", fillcolor="#e8f0fe", color="#1a73e8""##
            }
            Kind::Retired => {
                r##"shape=box, style="rounded,dashed,filled", fillcolor="#eeeeee", color="#9e9e9e", fontcolor="#757575""##
            }
            Kind::Subnet => {
                r##"shape=cylinder, style=filled, fillcolor="#e6f4ea", color="#188038""##
            }
            Kind::Proxy => r##"shape=hexagon, style=filled, fillcolor="#fef7e0", color="#f29900""##,
            Kind::Client => r##"shape=box, style=rounded, color="#5f6368""##,
            Kind::Sidecar => {
                r##"shape=box, style="rounded,filled", fillcolor="#fce8e6", color="#d93025""##
            }
            Kind::Country => {
                r##"shape=ellipse, style=filled, fillcolor="#f3e8fd", color="#8430ce""##
            }
            Kind::Provider => {
                r##"shape=box3d, style=filled, fillcolor="#f1f3f4", color="#3c4043""##
            }
            Kind::Gateway => {
                r##"shape=parallelogram, style=filled, fillcolor="#e6f4ea", color="#137333""##
            }
            Kind::Undeclared => {
                r##"shape=box, style=dashed, color="#d93025", fontcolor="#d93025""##
            }
        }
    }
}

/// What a subgraph stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupKind {
    /// A plain box: the tailnet, the cluster, the providers.
    Plain,
    /// A Kubernetes namespace.
    Namespace,
    /// The egress NetworkPolicy of an enforced client: its only way out is the proxy.
    Fence,
    /// Hosts that are gone.
    Retired,
}

#[derive(Debug, Clone)]
struct Node {
    id: String,
    lines: Vec<String>,
    kind: Kind,
}

#[derive(Debug, Clone)]
struct Group {
    id: String,
    title: String,
    kind: GroupKind,
    children: Vec<Child>,
}

#[derive(Debug, Clone)]
enum Child {
    Node(Node),
    Group(Group),
}

#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    label: Option<&'static str>,
    dashed: bool,
}

/// The picture, independent of the output format.
#[derive(Debug, Clone, Default)]
struct Graph {
    children: Vec<Child>,
    edges: Vec<Edge>,
}

/// A diagram identifier made of `kind` and `parts`: ASCII letters and digits are
/// kept, every other byte becomes `_xx` (hex), and parts are joined with `__`, which
/// an escaped part never contains: distinct inputs give distinct, valid ids in both
/// Mermaid and DOT, and no id is a keyword (`end`, `graph`, …) thanks to the prefix.
fn ident(kind: &str, parts: &[&str]) -> String {
    // The longest it can get (every byte escaped): no regrowth.
    let mut id =
        String::with_capacity(kind.len() + parts.iter().map(|p| 2 + 3 * p.len()).sum::<usize>());
    id.push_str(kind);
    for part in parts {
        id.push_str("__");
        for byte in part.bytes() {
            if byte.is_ascii_alphanumeric() {
                id.push(char::from(byte));
            } else {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                id.push('_');
                id.push(char::from(HEX[usize::from(byte >> 4)]));
                id.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
        }
    }
    id
}

/// Where a proxy, sidecar or sidecar client exits: its node id, provider,
/// countries and edge label.
type ExitPath<'n> = (String, &'n str, &'n [Spanned<String>], Option<&'static str>);

fn node(id: String, kind: Kind, lines: Vec<String>) -> Child {
    Child::Node(Node { id, lines, kind })
}

impl Graph {
    fn edge(
        &mut self,
        from: impl Into<String>,
        to: impl Into<String>,
        label: Option<&'static str>,
        dashed: bool,
    ) {
        self.edges.push(Edge {
            from: from.into(),
            to: to.into(),
            label,
            dashed,
        });
    }

    fn of(network: &Network) -> Graph {
        let mut graph = Graph::default();
        let ts = &network.tailscale;

        // The tailnet: nodes with role and tags; subnet routes as their own nodes.
        let exit = match ts.exit_nodes.value {
            Permission::Forbidden => "exit nodes forbidden",
            Permission::Allowed => "exit nodes allowed",
        };
        let mut tailnet = Group {
            id: ident("tailnet", &[]),
            title: format!("Tailscale tailnet ({exit})"),
            kind: GroupKind::Plain,
            children: Vec::new(),
        };
        let mut subnets = Vec::new();
        for (name, ts_node) in &ts.nodes {
            let id = ident("ts", &[name.as_str()]);
            let mut second = ts_node.role.as_str().to_owned();
            // Capabilities beyond the role's own (a subnet router that is also an exit node).
            if ts_node.exit_node() && ts_node.role.value != Role::ExitNode {
                second.push_str(" · exit node");
            }
            for tag in &ts_node.tags {
                second.push_str(" · ");
                second.push_str(tag);
            }
            tailnet.children.push(node(
                id.clone(),
                Kind::Tailnode,
                vec![name.to_string(), second],
            ));
            for route in &ts_node.advertise_routes {
                let text = route.to_string();
                let route_id = ident("route", &[&text]);
                if !subnets
                    .iter()
                    .any(|(r, _): &(String, String)| *r == route_id)
                {
                    subnets.push((route_id.clone(), text));
                }
                graph.edge(id.as_str(), route_id.as_str(), Some("subnet route"), false);
            }
        }
        graph.children.push(Child::Group(tailnet));
        let failover = ts.failover_groups();
        for (id, text) in subnets {
            let mut lines = vec![text, "home subnet".to_owned()];
            // A prefix several routers advertise: Tailscale's high-availability pair.
            if let Some((_, routers)) = failover.iter().find(|(c, _)| c.to_string() == lines[0]) {
                let names: Vec<&str> = routers.iter().map(|n| n.as_str()).collect();
                lines.push(format!("failover: {}", names.join(", ")));
            }
            graph.children.push(node(id, Kind::Subnet, lines));
        }

        // The cluster: one box per namespace; enforced clients inside their fence.
        let egress = &network.egress;
        // Keyed by borrowed names: one `String` per entry of 10,000 was a good part of the work.
        let mut namespaces: BTreeMap<&str, Vec<Child>> = BTreeMap::new();
        for (name, proxy) in &egress.proxies {
            let countries = proxy
                .countries
                .iter()
                .map(|c| c.value.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            namespaces
                .entry(defaults::PROXY_NAMESPACE)
                .or_default()
                .push(node(
                    ident("proxy", &[name.as_str()]),
                    Kind::Proxy,
                    vec![
                        layout::proxy_service(name.as_str()),
                        format!("gluetun · {countries}"),
                        "HTTP :8888 · Shadowsocks :8388".to_owned(),
                    ],
                ));
        }
        let mut undeclared_proxies = BTreeSet::new();
        for (name, client) in &egress.clients {
            let id = ident("client", &[name.as_str()]);
            let mut lines = vec![name.to_string()];
            if client.deployment.as_str() != name.as_str() {
                lines.push(format!("deployment {}", client.deployment.as_str()));
            }
            let child = node(id, Kind::Client, lines);
            let ns = namespaces.entry(client.namespace.as_str()).or_default();
            let upstream = network.upstream(client);
            if client.enforce {
                let via = match upstream {
                    Some(Upstream::Gateway(g, _)) => format!("gateway {g}"),
                    _ => layout::proxy_service(client.proxy.as_str()),
                };
                ns.push(Child::Group(Group {
                    id: ident("fence", &[name.as_str()]),
                    title: format!("NetworkPolicy: {name} egress only via {via}"),
                    kind: GroupKind::Fence,
                    children: vec![child],
                }));
            } else {
                ns.push(child);
            }
            if upstream.is_none() {
                undeclared_proxies.insert(client.proxy.to_string());
            }
        }
        for (name, sidecar) in &egress.sidecars {
            let mut second = "own gluetun sidecar".to_owned();
            if sidecar.port_forwarding {
                second.push_str(" · port forwarding");
            }
            let mut lines = vec![name.to_string()];
            if sidecar.deployment.as_str() != name.as_str() {
                lines.push(format!("deployment {}", sidecar.deployment.as_str()));
            }
            lines.push(second);
            namespaces
                .entry(sidecar.namespace.as_str())
                .or_default()
                .push(node(
                    ident("sidecar", &[name.as_str()]),
                    Kind::Sidecar,
                    lines,
                ));
        }
        for name in &undeclared_proxies {
            namespaces
                .entry(defaults::PROXY_NAMESPACE)
                .or_default()
                .push(node(
                    ident("proxy", &[name]),
                    Kind::Undeclared,
                    vec![layout::proxy_service(name), "not declared".to_owned()],
                ));
        }
        if !namespaces.is_empty() {
            let children = namespaces
                .into_iter()
                .map(|(ns, children)| {
                    Child::Group(Group {
                        id: ident("ns", &[ns]),
                        title: format!("namespace {ns}"),
                        kind: GroupKind::Namespace,
                        children,
                    })
                })
                .collect();
            graph.children.push(Child::Group(Group {
                id: ident("cluster", &[]),
                title: "Kubernetes cluster".to_owned(),
                kind: GroupKind::Plain,
                children,
            }));
        }

        // Egress gateways: NixOS hosts of the flake, outside the cluster; the
        // Tailscale node of the same host runs it.
        if !egress.gateways.is_empty() {
            let mut group = Group {
                id: ident("gateways", &[]),
                title: "Egress gateways (NixOS hosts, WireGuard)".to_owned(),
                kind: GroupKind::Plain,
                children: Vec::new(),
            };
            for (name, g) in &egress.gateways {
                let id = ident("gateway", &[name.as_str()]);
                let mut ports = format!("SOCKS5 :{}", g.socks_port);
                if let Some(http) = &g.http_port {
                    let _ = write!(ports, " · HTTP :{}", http.value);
                }
                group.children.push(node(
                    id.clone(),
                    Kind::Gateway,
                    vec![
                        name.to_string(),
                        format!("on {} · exit {}", g.host.as_str(), g.tunnel.endpoint.value),
                        ports,
                    ],
                ));
                if ts.nodes.contains_key(g.host.as_str()) {
                    graph.edge(ident("ts", &[g.host.as_str()]), id, Some("runs"), true);
                }
            }
            graph.children.push(Child::Group(group));
        }

        // Providers and the countries their exit servers are in, as used.
        // Borrowed from the network: at 10,000 proxies copies of every provider and
        // country name were a good part of the work.
        let mut used: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut paths: Vec<ExitPath<'_>> = Vec::new();
        for (name, proxy) in &egress.proxies {
            paths.push((
                ident("proxy", &[name.as_str()]),
                proxy.provider.as_str(),
                &proxy.countries,
                None,
            ));
        }
        for (name, sidecar) in &egress.sidecars {
            paths.push((
                ident("sidecar", &[name.as_str()]),
                sidecar.provider.as_str(),
                &sidecar.countries,
                None,
            ));
        }
        for (name, client) in &egress.clients {
            let from = ident("client", &[name.as_str()]);
            if let Some(Upstream::Gateway(g, _)) = network.upstream(client) {
                let label = match client.protocol.value {
                    ClientProtocol::Http => "HTTP CONNECT",
                    _ => "SOCKS5",
                };
                graph.edge(from, ident("gateway", &[g.as_str()]), Some(label), false);
                continue;
            }
            let to = ident("proxy", &[client.proxy.as_str()]);
            match client.protocol.value {
                ClientProtocol::Http => graph.edge(from, to, Some("HTTP proxy :8888"), false),
                ClientProtocol::Shadowsocks => {
                    graph.edge(from, to, Some("Shadowsocks :8388"), false)
                }
                ClientProtocol::Socks5 => graph.edge(from, to, Some("SOCKS5"), false),
                ClientProtocol::Sidecar => {
                    // Its own gluetun, set up like the proxy it names: straight to the countries.
                    if let Some(proxy) = egress.proxies.get(client.proxy.as_str()) {
                        paths.push((
                            from,
                            proxy.provider.as_str(),
                            &proxy.countries,
                            Some("own gluetun sidecar"),
                        ));
                    } else {
                        graph.edge(from, to, Some("own gluetun sidecar"), false);
                    }
                }
            }
        }
        for (_, provider, countries, _) in &paths {
            used.entry(provider)
                .or_default()
                .extend(countries.iter().map(|c| c.value.as_str()));
        }
        for (from, provider, countries, label) in &paths {
            if countries.is_empty() {
                graph.edge(from.as_str(), ident("provider", &[provider]), *label, false);
            }
            for country in *countries {
                graph.edge(
                    from.as_str(),
                    ident("country", &[provider, &country.value]),
                    *label,
                    false,
                );
            }
        }
        let mut providers = Group {
            id: ident("providers", &[]),
            title: "VPN providers".to_owned(),
            kind: GroupKind::Plain,
            children: Vec::new(),
        };
        let mut all_providers: BTreeSet<&str> =
            egress.providers.keys().map(|n| n.as_str()).collect();
        all_providers.extend(used.keys().copied());
        for &name in &all_providers {
            let id = ident("provider", &[name]);
            let child = match egress.providers.get(name) {
                Some(p) if p.service.as_str() == name => node(
                    id.clone(),
                    Kind::Provider,
                    vec![name.to_owned(), p.vpn_type.as_str().to_owned()],
                ),
                Some(p) => node(
                    id.clone(),
                    Kind::Provider,
                    vec![
                        name.to_owned(),
                        format!("service {} · {}", p.service.as_str(), p.vpn_type.as_str()),
                    ],
                ),
                None => node(
                    id.clone(),
                    Kind::Undeclared,
                    vec![name.to_owned(), "not declared".to_owned()],
                ),
            };
            for &country in used.get(name).into_iter().flatten() {
                let country_id = ident("country", &[name, country]);
                providers.children.push(node(
                    country_id.clone(),
                    Kind::Country,
                    vec![country.to_owned()],
                ));
                graph.edge(country_id, id.as_str(), None, false);
            }
            providers.children.push(child);
        }
        if !providers.children.is_empty() {
            graph.children.push(Child::Group(providers));
        }

        if !network.retired.is_empty() {
            let mut retired = Group {
                id: ident("retired", &[]),
                title: "Retired: must leave no trace".to_owned(),
                kind: GroupKind::Retired,
                children: Vec::new(),
            };
            for (name, host) in &network.retired {
                let mut lines = vec![format!("{name} (retired)")];
                if !host.description.is_empty() {
                    lines.push(host.description.clone());
                }
                retired
                    .children
                    .push(node(ident("host", &[name.as_str()]), Kind::Retired, lines));
            }
            graph.children.push(Child::Group(retired));
        }
        graph
    }

    fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        out.push_str(
            "  %% The avalanche network, generated by avalanche-net from the declarations.\n",
        );
        let mut classes: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
        let mut styles = Vec::new();
        for child in &self.children {
            mermaid_child(&mut out, child, 1, &mut classes, &mut styles);
        }
        // Written piece by piece: at 10,000 proxies `format!` machinery dominated.
        for edge in &self.edges {
            let arrow = if edge.dashed { "-.->" } else { "-->" };
            out.push_str("  ");
            out.push_str(&edge.from);
            out.push(' ');
            out.push_str(arrow);
            if let Some(label) = &edge.label {
                out.push_str("|\"");
                push_mermaid_text(&mut out, label);
                out.push_str("\"|");
            }
            out.push(' ');
            out.push_str(&edge.to);
            out.push('\n');
        }
        for kind in Kind::ALL {
            if let Some(ids) = classes.get(kind.class()) {
                let _ = writeln!(out, "  classDef {} {}", kind.class(), kind.mermaid_style());
                let _ = writeln!(out, "  class {} {}", ids.join(","), kind.class());
            }
        }
        for (id, style) in styles {
            out.push_str("  style ");
            out.push_str(id);
            out.push(' ');
            out.push_str(style);
            out.push('\n');
        }
        out
    }

    fn to_dot(&self) -> String {
        let mut out = String::from("digraph avalanche {\n");
        out.push_str(
            "  // The avalanche network, generated by avalanche-net from the declarations.\n",
        );
        out.push_str("  graph [rankdir=LR, compound=true, fontname=\"Helvetica\", fontsize=12];\n");
        out.push_str("  node [fontname=\"Helvetica\", fontsize=11];\n");
        out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
        for child in &self.children {
            dot_child(&mut out, child, 1);
        }
        for edge in &self.edges {
            let mut attrs = Vec::new();
            if let Some(label) = &edge.label {
                attrs.push(format!("label={}", dot_quote(label)));
            }
            if edge.dashed {
                attrs.push("style=dashed".to_owned());
            }
            let attrs = if attrs.is_empty() {
                String::new()
            } else {
                format!(" [{}]", attrs.join(", "))
            };
            let _ = writeln!(
                out,
                "  {} -> {}{attrs};",
                dot_quote(&edge.from),
                dot_quote(&edge.to)
            );
        }
        out.push_str("}\n");
        out
    }
}

/// Text inside a quoted Mermaid label: characters Mermaid would read as syntax or
/// HTML become entity codes (`#quot;`, `#35;`…), which Mermaid decodes when drawing.
#[cfg(test)]
fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_mermaid_text(&mut out, text);
    out
}

/// Appends [`mermaid_text`]'s escaping of `text` to `out`.
fn push_mermaid_text(out: &mut String, text: &str) {
    // Every character replaced is ASCII: runs between them are copied whole.
    let mut verbatim = 0;
    for (i, b) in text.bytes().enumerate() {
        let replacement = match b {
            b'"' => "#quot;",
            b'#' => "#35;",
            b'<' => "#lt;",
            b'>' => "#gt;",
            b'&' => "#amp;",
            b'`' => "#96;",
            b'|' => "#124;",
            b'\n' | b'\r' => " ",
            _ => continue,
        };
        out.push_str(&text[verbatim..i]);
        out.push_str(replacement);
        verbatim = i + 1;
    }
    out.push_str(&text[verbatim..]);
}

fn mermaid_child<'a>(
    out: &mut String,
    child: &'a Child,
    depth: usize,
    classes: &mut BTreeMap<&'static str, Vec<&'a str>>,
    styles: &mut Vec<(&'a str, &'static str)>,
) {
    let indent = |out: &mut String| {
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    match child {
        Child::Node(n) => {
            let (open, close) = n.kind.mermaid_open_close();
            indent(out);
            out.push_str(&n.id);
            out.push_str(open);
            out.push('"');
            for (i, line) in n.lines.iter().enumerate() {
                if i > 0 {
                    out.push_str("<br/>");
                }
                push_mermaid_text(out, line);
            }
            out.push('"');
            out.push_str(close);
            out.push('\n');
            classes.entry(n.kind.class()).or_default().push(&n.id);
        }
        Child::Group(g) => {
            indent(out);
            out.push_str("subgraph ");
            out.push_str(&g.id);
            out.push_str("[\"");
            push_mermaid_text(out, &g.title);
            out.push_str("\"]\n");
            for c in &g.children {
                mermaid_child(out, c, depth + 1, classes, styles);
            }
            indent(out);
            out.push_str("end\n");
            let style = match g.kind {
                GroupKind::Fence => {
                    "fill:#fff8f7,stroke:#d93025,stroke-width:2px,stroke-dasharray:6 3"
                }
                GroupKind::Retired => "fill:#fafafa,stroke:#9e9e9e,stroke-dasharray:5 5",
                GroupKind::Namespace => "fill:#f8f9fa,stroke:#80868b",
                GroupKind::Plain => return,
            };
            styles.push((&g.id, style));
        }
    }
}

/// A DOT double-quoted string.
fn dot_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A DOT label of several lines, each escaped, joined with DOT's centred line break.
fn dot_label(lines: &[String]) -> String {
    let inner: Vec<String> = lines
        .iter()
        .map(|line| {
            let quoted = dot_quote(line);
            quoted[1..quoted.len() - 1].to_owned()
        })
        .collect();
    format!("\"{}\"", inner.join("\\n"))
}

fn dot_child(out: &mut String, child: &Child, depth: usize) {
    let indent = "  ".repeat(depth);
    match child {
        Child::Node(n) => {
            let label = dot_label(&n.lines);
            let _ = writeln!(
                out,
                "{indent}{} [label={label}, {}];",
                dot_quote(&n.id),
                n.kind.dot_attrs()
            );
        }
        Child::Group(g) => {
            let _ = writeln!(
                out,
                "{indent}subgraph {} {{",
                dot_quote(&format!("cluster_{}", g.id))
            );
            let _ = writeln!(out, "{indent}  label={};", dot_quote(&g.title));
            let style = match g.kind {
                GroupKind::Plain => "style=rounded; color=\"#5f6368\";",
                GroupKind::Namespace => {
                    "style=\"rounded,filled\"; fillcolor=\"#f8f9fa\"; color=\"#80868b\";"
                }
                GroupKind::Fence => {
                    "style=\"dashed,bold\"; color=\"#d93025\"; fontcolor=\"#d93025\";"
                }
                GroupKind::Retired => {
                    "style=\"dashed,filled\"; fillcolor=\"#fafafa\"; color=\"#9e9e9e\"; fontcolor=\"#757575\";"
                }
            };
            let _ = writeln!(out, "{indent}  {style}");
            for c in &g.children {
                dot_child(out, c, depth + 1);
            }
            let _ = writeln!(out, "{indent}}}");
        }
    }
}

#[cfg(test)]
pub(crate) mod test_network {
    //! The bundled network, built in Rust (for unit tests that must not read files).
    use avalanche_model::*;
    use std::collections::BTreeMap;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap_or_else(|e| panic!("{e}"))
    }
    fn sp<T>(v: T) -> Spanned<T> {
        Spanned::unspanned(v)
    }

    /// What the bundled `nix/network.nix` declares.
    pub fn bundled() -> Network {
        let mut n = Network::default();
        n.retired.insert(
            name("vps"),
            RetiredHost {
                span: None,
                description: "Hetzner CAX11 Tailscale exit node".to_owned(),
                aliases: vec![sp(name("hetzner"))],
                age_recipients: vec![],
                addresses: vec![],
                monthly_cost: 4.49,
                currency: "EUR".to_owned(),
                replaced_by: avalanche_model::Replacement::none(),
                renamed_to: None,
            },
        );
        let ts_node = |role, routes: &[&str], tags: &[&str]| TailscaleNode {
            span: None,
            role: sp(role),
            advertise_routes: routes
                .iter()
                .map(|r| sp(Cidr::parse(r).unwrap_or_else(|e| panic!("{e}"))))
                .collect(),
            tags: tags.iter().map(|t| sp((*t).to_owned())).collect(),
            advertise_exit_node: Spanned::default(),
            accept_routes: Spanned::default(),
            state: sp(avalanche_model::NodeState::On),
        };
        n.tailscale.nodes.insert(
            name("routy"),
            ts_node(Role::SubnetRouter, &["10.1.0.0/24"], &[]),
        );
        n.tailscale
            .nodes
            .insert(name("calypso"), ts_node(Role::Workstation, &[], &[]));
        n.tailscale.nodes.insert(
            name("mysecrets"),
            ts_node(Role::Server, &[], &["tag:infra"]),
        );
        n.tailscale
            .nodes
            .insert(name("phone"), ts_node(Role::Device, &[], &[]));
        n.egress.providers.insert(
            name("protonvpn"),
            Provider {
                span: None,
                service: sp("protonvpn".to_owned()),
                vpn_type: sp(VpnType::Wireguard),
                credentials: sp(name("protonvpn")),
                existing_secret: None,
            },
        );
        for (region, country) in [("iceland", "Iceland"), ("netherlands", "Netherlands")] {
            n.egress.proxies.insert(
                name(region),
                Proxy {
                    span: None,
                    provider: sp(name("protonvpn")),
                    countries: vec![sp(country.to_owned())],
                    replicas: 1,
                    health_check: HealthCheck::Dns,
                    tun_device: None,
                    keepalive: None,
                    credentials: None,
                    existing_secret: None,
                    control_server: sp(avalanche_model::defaults::CONTROL_SERVER.to_owned()),
                },
            );
        }
        n.egress.sidecars.insert(
            name("qbittorrent"),
            Sidecar {
                span: None,
                namespace: sp(name("media")),
                deployment: sp(name("qbittorrent")),
                provider: sp(name("protonvpn")),
                countries: vec![sp("Iceland".to_owned())],
                port_forwarding: true,
                input_ports: vec![sp(8080)],
                forwarded_port_to: None,
                health_check: HealthCheck::Dns,
                tun_device: None,
                keepalive: None,
                credentials: None,
                existing_secret: None,
                control_server: sp(avalanche_model::defaults::CONTROL_SERVER.to_owned()),
            },
        );
        n.egress.clients.insert(
            name("marmithon"),
            Client {
                span: None,
                namespace: sp(name("irc")),
                deployment: sp(name("marmithon")),
                proxy: sp(name("iceland")),
                gateway: false,
                protocol: sp(ClientProtocol::Http),
                enforce: true,
                pod_labels: BTreeMap::from([(
                    "app.kubernetes.io/name".to_owned(),
                    "marmithon".to_owned(),
                )]),
                allowed_destinations: Vec::new(),
                speaks: None,
            },
        );
        n.kubernetes.monitoring.enable = true;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_escaped_and_unambiguous() {
        assert_eq!(
            ident("route", &["10.1.0.0/24"]),
            "route__10_2e1_2e0_2e0_2f24"
        );
        assert_ne!(ident("c", &["a", "b"]), ident("c", &["a__b"]));
        assert_ne!(ident("c", &["x", "5fy"]), ident("c", &["x_y"]));
        assert!(
            ident("k", &["end"])
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        );
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(
            mermaid_text(r#"a "b" <c> #d"#),
            "a #quot;b#quot; #lt;c#gt; #35;d"
        );
        assert_eq!(dot_quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }

    #[test]
    fn bundled_mermaid() {
        insta::assert_snapshot!(mermaid(&test_network::bundled()));
    }

    #[test]
    fn bundled_dot() {
        insta::assert_snapshot!(dot(&test_network::bundled()));
    }

    #[test]
    fn deterministic() {
        let n = test_network::bundled();
        assert_eq!(mermaid(&n), mermaid(&n.clone()));
        assert_eq!(dot(&n), dot(&n.clone()));
    }
}
