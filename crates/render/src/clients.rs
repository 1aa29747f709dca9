//! The kustomize Components of the apps that use the VPN: a client of a shared
//! proxy (proxy environment, egress fence) or an app with its own gluetun as a
//! native sidecar. Each lands in the app's directory, `<app dir>/vpn-egress/`
//! (listed under `components:` by the app's hand-written kustomization), or for
//! a flat manifest in `kubernetes.layout.egress` (listed by what applies the
//! file: a kustomization, or a Flux Kustomization's `spec.components`).
use crate::gluetun::{self, HTTP_PROXY_PORT, SHADOWSOCKS_CIPHER, SHADOWSOCKS_PORT, env};
use crate::node::{Node, node};
use crate::plan::yaml_file;
use crate::proxy::{ksops_generator, verification_job_node};
use crate::{Ctx, PROXY_NAMESPACE, Plan, concat, labels, proxy_selector, relative};
use avalanche_model::resolve::{ResolvedClient, ResolvedGatewayClient, ResolvedSidecar, Vpn};
use avalanche_model::{
    Client, ClientProtocol, Destination, NO_PROXY_LOOPBACK, PortTarget, TunDevice, VpnType,
};
use std::borrow::Cow;

/// The volume the sidecar's gluetun keeps its state in (prefixed: the app has its own volumes).
const SIDECAR_VOLUME: &str = "vpn-egress-gluetun";
/// The kustomization giving a flat app's credentials Secret its namespace, in
/// the app's Component.
const FLAT_SECRET_DIR: &str = "secret";
/// The node's TUN device in a sidecar pod.
const SIDECAR_TUN_VOLUME: &str = "vpn-egress-tun";

pub fn render(ctx: &Ctx<'_>, plan: &mut Plan) {
    let clients = &ctx.resolved.clients;
    if clients.len() < crate::PARALLEL_FROM {
        render_clients(ctx, clients, plan);
    } else {
        // Each client is its own Component: the halves render on two threads.
        let (first, second) = clients.split_at(clients.len() / 2);
        let other = std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                let mut part = Plan::new();
                render_clients(ctx, second, &mut part);
                part
            });
            render_clients(ctx, first, plan);
            other.join()
        });
        match other {
            Ok(part) => plan.merge(part),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    render_gateway_clients(ctx, plan);
    render_sidecars(ctx, plan);
}

fn render_clients(ctx: &Ctx<'_>, clients: &[ResolvedClient<'_>], plan: &mut Plan) {
    let no_proxy = no_proxy(ctx);
    for c in clients {
        let dir = ctx.component_dir(c.client.namespace.as_str(), c.name);
        let mut component = Component::new(dir);
        match c.client.protocol.value {
            ClientProtocol::Http => {
                let url = format!("http://{}:{HTTP_PROXY_PORT}", ctx.proxy_host(c.proxy.name));
                let no_proxy = client_no_proxy(ctx, &no_proxy, c.client);
                component.patch(
                    plan,
                    c.client.deployment.as_str(),
                    http_patch(c, &url, &no_proxy),
                );
            }
            ClientProtocol::Shadowsocks => {
                component.resource(plan, "configmap.yaml", shadowsocks_config(ctx, c));
            }
            // `resolve` puts SOCKS5 clients under their gateway: no gluetun serves it.
            ClientProtocol::Socks5 => {}
            ClientProtocol::Sidecar => {
                // Its own gluetun, configured like the proxy it names.
                let sidecar = SidecarSpec {
                    gluetun: crate::proxy::spec(ctx, &c.proxy),
                    input_ports: Vec::new(),
                    forwarded_port_to: None,
                };
                let deployment = c.client.deployment.as_str();
                component.remove_gluetun(plan, deployment);
                component.patch(plan, deployment, sidecar_patch(ctx, deployment, &sidecar));
                component.credentials(ctx, plan, &sidecar.gluetun.vpn, c.client.namespace.as_str());
            }
        }
        // A sidecar's gluetun is its own fence (kill switch) and must reach the VPN
        // server directly: an egress policy is only for clients of a shared proxy.
        if c.client.enforce && c.client.protocol.value != ClientProtocol::Sidecar {
            component.resource(plan, "networkpolicy.yaml", egress_policy(c));
            if ctx.net.kubernetes.verification && c.client.protocol.value == ClientProtocol::Http {
                component.resource(plan, "verification-job.yaml", client_verification(ctx, c));
            }
        }
        component.finish(plan);
    }
}

/// Clients of an egress gateway: the proxy variables pointing at the gateway's
/// listen address, and with `enforce` a fence whose only way out is that address
/// (an `ipBlock` of one address: the gateway is a LAN host, not a pod) and DNS.
fn render_gateway_clients(ctx: &Ctx<'_>, plan: &mut Plan) {
    let no_proxy = no_proxy(ctx);
    for c in &ctx.resolved.gateway_clients {
        let dir = ctx.component_dir(c.client.namespace.as_str(), c.name);
        let mut component = Component::new(dir);
        let Some((url, port)) = gateway_endpoint(c) else {
            continue; // `resolve` refuses a protocol the gateway does not serve
        };
        let names: &[&str] = match c.client.protocol.value {
            // `socks5h`: the gateway resolves names, so DNS goes through the tunnel too.
            ClientProtocol::Socks5 => &["ALL_PROXY", "all_proxy"],
            _ => &["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"],
        };
        let mut vars: Vec<Node<'_>> = names.iter().map(|n| env(n, url.as_str())).collect();
        let no_proxy = client_no_proxy(ctx, &no_proxy, c.client);
        vars.push(env("NO_PROXY", &*no_proxy));
        vars.push(env("no_proxy", &*no_proxy));
        let deployment = c.client.deployment.as_str();
        let patch = node!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": deployment },
            "spec": {
                "template": {
                    "metadata": { "annotations": { "avalanche.network/egress-gateway": c.gateway_name } },
                    "spec": { "containers": [{ "name": deployment, "env": vars }] },
                },
            },
        });
        component.patch(plan, deployment, patch);
        if c.client.enforce {
            component.resource(plan, "networkpolicy.yaml", gateway_policy(c, port));
        }
        component.finish(plan);
    }
}

/// The proxy URL a gateway client uses, and the port it connects to.
pub(crate) fn gateway_endpoint(c: &ResolvedGatewayClient<'_>) -> Option<(String, u16)> {
    let g = c.gateway;
    let host = match g.listen.value {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => format!("[{a}]"),
    };
    match c.client.protocol.value {
        ClientProtocol::Socks5 => {
            Some((format!("socks5h://{host}:{}", g.socks_port), g.socks_port))
        }
        ClientProtocol::Http => {
            let port = g.http_port.as_ref()?.value;
            Some((format!("http://{host}:{port}"), port))
        }
        ClientProtocol::Shadowsocks | ClientProtocol::Sidecar => None,
    }
}

/// The gateway client's only way out: the gateway's listen address on the one
/// port its protocol uses, DNS, and its declared `allowedDestinations`.
fn gateway_policy<'a>(c: &ResolvedGatewayClient<'a>, port: u16) -> Node<'a> {
    let listen = c.gateway.listen.value;
    let block = match listen {
        std::net::IpAddr::V4(_) => format!("{listen}/32"),
        std::net::IpAddr::V6(_) => format!("{listen}/128"),
    };
    let upstream = node!({
        "to": [{ "ipBlock": { "cidr": block } }],
        "ports": [{ "port": port, "protocol": "TCP" }],
    });
    client_fence(c.name, c.client, upstream)
}

/// DNS: UDP and TCP 53 to the cluster's DNS pods (namespace and pod selector in
/// one peer: both must match).
fn dns_rule<'a>() -> Node<'a> {
    node!({
        "to": [{
            "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "kube-system" } },
            "podSelector": { "matchLabels": { "k8s-app": "kube-dns" } },
        }],
        "ports": [{ "port": 53, "protocol": "UDP" }, { "port": 53, "protocol": "TCP" }],
    })
}

fn render_sidecars(ctx: &Ctx<'_>, plan: &mut Plan) {
    for s in &ctx.resolved.sidecars {
        let dir = ctx.component_dir(s.sidecar.namespace.as_str(), s.name);
        let mut component = Component::new(dir);
        let spec = SidecarSpec {
            gluetun: sidecar_spec(ctx, s),
            input_ports: s.sidecar.input_ports.iter().map(|p| p.value).collect(),
            forwarded_port_to: s
                .sidecar
                .forwarded_port_to
                .as_ref()
                .filter(|_| s.sidecar.port_forwarding)
                .map(|t| &t.value),
        };
        let deployment = s.sidecar.deployment.as_str();
        component.remove_gluetun(plan, deployment);
        component.patch(plan, deployment, sidecar_patch(ctx, deployment, &spec));
        component.credentials(ctx, plan, &spec.gluetun.vpn, s.sidecar.namespace.as_str());
        component.finish(plan);
    }
}

/// The gluetun of a declared sidecar: its own settings, else the egress-wide ones.
pub(crate) fn sidecar_spec<'a>(ctx: &Ctx<'a>, s: &ResolvedSidecar<'a>) -> gluetun::Spec<'a> {
    let egress = &ctx.net.egress;
    gluetun::Spec {
        vpn: s.vpn,
        version: egress.version(),
        health: s.sidecar.health_check,
        tun: s.sidecar.tun_device.unwrap_or(egress.tun_device),
        keepalive: s
            .sidecar
            .keepalive
            .as_ref()
            .unwrap_or(&egress.keepalive)
            .value
            .as_str(),
        control_server: s.sidecar.control_server.value.as_str(),
        port_forwarding: s.sidecar.port_forwarding,
    }
}

/// A Component being assembled.
struct Component<'a> {
    dir: String,
    resources: Vec<&'static str>,
    patches: Vec<Node<'a>>,
    generators: Vec<&'static str>,
    /// SOPS-encrypted Secrets listed as resources (the engine decrypts them).
    secret_files: Vec<String>,
}

impl<'a> Component<'a> {
    fn new(dir: String) -> Component<'a> {
        Component {
            dir,
            resources: Vec::new(),
            patches: Vec::new(),
            generators: Vec::new(),
            secret_files: Vec::new(),
        }
    }

    fn resource(&mut self, plan: &mut Plan, file: &'static str, doc: Node<'_>) {
        plan.insert(concat(&[&self.dir, "/", file]), yaml_file(&doc));
        self.resources.push(file);
    }

    fn patch(&mut self, plan: &mut Plan, deployment: &'a str, doc: Node<'_>) {
        self.patch_file(plan, "deployment-patch.yaml", deployment, doc);
    }

    /// A strategic-merge patch of the app's Deployment, applied after the earlier ones
    /// (kustomize refuses several documents in one targeted patch file).
    fn patch_file(
        &mut self,
        plan: &mut Plan,
        file: &'static str,
        deployment: &'a str,
        doc: Node<'_>,
    ) {
        plan.insert(concat(&[&self.dir, "/", file]), yaml_file(&doc));
        self.patches.push(node!({
            "path": file,
            "target": { "group": "apps", "version": "v1", "kind": "Deployment", "name": deployment },
        }));
    }

    /// The first patch of a sidecar component: deletes a container named `gluetun`
    /// from the app's `containers` and `initContainers` (a hand-written sidecar the
    /// declaration replaces; `check` reports it as `egress-existing-gluetun`), so the
    /// pod never has two. Deleting an absent container is a no-op for kustomize.
    fn remove_gluetun(&mut self, plan: &mut Plan, deployment: &'a str) {
        let delete = || node!([{ "name": gluetun::CONTAINER, "$patch": "delete" }]);
        let doc = node!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": deployment },
            "spec": { "template": { "spec": {
                "initContainers": delete(),
                "containers": delete(),
            } } },
        });
        self.patch_file(plan, "remove-gluetun-patch.yaml", deployment, doc);
    }

    /// The credentials Secret in the app's namespace: made by a KSOPS generator,
    /// or, when the GitOps engine decrypts SOPS itself (Flux), the encrypted
    /// Secret listed as a resource; nothing when the Secret exists already
    /// (`existingSecret`) or nothing decrypts SOPS (`kubernetes.secrets = "none"`).
    /// An app directory's kustomization puts it in the app's `namespace`; a flat
    /// manifest has no such kustomization (Flux generates one without a
    /// namespace), so the Secret comes from a kustomization of its own, `secret/`,
    /// that does: a Component's `namespace:` would move every object it is
    /// applied to.
    fn credentials(&mut self, ctx: &Ctx<'_>, plan: &mut Plan, vpn: &Vpn<'_>, namespace: &str) {
        let Some(file) = vpn.secret_file else {
            return;
        };
        let flat = avalanche_model::layout::apps_are_flat(&ctx.net.kubernetes);
        let dir = if flat {
            concat(&[&self.dir, "/", FLAT_SECRET_DIR])
        } else {
            self.dir.clone()
        };
        let mut resources = Vec::new();
        let mut generators = Vec::new();
        if ctx.engine_decrypts() {
            resources.push(relative(&dir, file));
        } else {
            let files = [relative(&dir, file)];
            let generator = "secret-generator.yaml";
            plan.insert(
                format!("{dir}/{generator}"),
                yaml_file(&ksops_generator(
                    Cow::Owned(format!("{}-secrets", vpn.secret_name)),
                    &files,
                )),
            );
            generators.push(generator);
        }
        if !flat {
            self.secret_files.extend(resources);
            self.generators.extend(generators);
            return;
        }
        let mut k = node!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": namespace,
        });
        if !resources.is_empty() {
            k.insert("resources", node!(resources));
        }
        if !generators.is_empty() {
            k.insert("generators", node!(generators));
        }
        plan.insert(concat(&[&dir, "/kustomization.yaml"]), yaml_file(&k));
        self.resources.push(FLAT_SECRET_DIR);
    }

    fn finish(self, plan: &mut Plan) {
        let mut k =
            node!({ "apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component" });
        if !self.resources.is_empty() || !self.secret_files.is_empty() {
            let mut resources: Vec<String> =
                self.resources.iter().map(|r| (*r).to_owned()).collect();
            resources.extend(self.secret_files);
            k.insert("resources", node!(resources));
        }
        if !self.generators.is_empty() {
            k.insert("generators", node!(self.generators));
        }
        if !self.patches.is_empty() {
            k.insert("patches", node!(self.patches));
        }
        plan.insert(concat(&[&self.dir, "/kustomization.yaml"]), yaml_file(&k));
        plan.own_dir(self.dir);
    }
}

/// `NO_PROXY` of a client without `enforce`:
/// `localhost,127.0.0.1,::1,<podCIDR>,<serviceCIDR>,.svc,.<clusterDomain>`.
fn no_proxy(ctx: &Ctx<'_>) -> String {
    let k = &ctx.net.kubernetes;
    format!(
        "{},{},{},.svc,.{}",
        NO_PROXY_LOOPBACK.join(","),
        k.pod_cidr.value.canonical(),
        k.service_cidr.value.canonical(),
        k.cluster_domain
    )
}

/// `NO_PROXY` of a client: without `enforce`, the whole cluster (`cluster`, from
/// [`no_proxy`]), which it reaches directly; with it, [`Client::enforced_no_proxy`].
fn client_no_proxy<'a>(ctx: &Ctx<'_>, cluster: &'a str, client: &Client) -> Cow<'a, str> {
    if !client.enforce {
        return Cow::Borrowed(cluster);
    }
    Cow::Owned(
        client
            .enforced_no_proxy(&ctx.net.kubernetes.cluster_domain)
            .join(","),
    )
}

/// The declared in-cluster dependencies and LAN hosts, as egress rules: exactly
/// what [`client_no_proxy`] sends direct, and what the app reaches without HTTP.
fn destination_rules(client: &Client) -> impl Iterator<Item = Node<'_>> {
    client
        .allowed_destinations
        .iter()
        .map(|d| destination_rule(&d.value))
}

/// One `allowedDestinations` entry as a NetworkPolicy egress rule (TCP ports;
/// none: every port).
fn destination_rule<'a>(d: &'a Destination) -> Node<'a> {
    let (to, ports) = match d {
        Destination::Pods {
            namespace,
            pod_labels,
            ports,
            ..
        } => {
            let mut peer = node!({
                "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": namespace.as_str() } },
            });
            // Without a pod selector: every pod of the namespace (same list item = AND).
            if !pod_labels.is_empty() {
                peer.insert("podSelector", node!({ "matchLabels": pod_labels }));
            }
            (peer, ports)
        }
        Destination::Cidr { cidr, ports } => {
            (node!({ "ipBlock": { "cidr": cidr.to_string() } }), ports)
        }
    };
    let mut rule = node!({ "to": [to] });
    if !ports.is_empty() {
        let ports: Vec<Node<'_>> = ports
            .iter()
            .map(|p| node!({ "port": *p, "protocol": "TCP" }))
            .collect();
        rule.insert("ports", node!(ports));
    }
    rule
}

/// Proxy variables (`url` of the proxy, `no_proxy`) on the app's container (named
/// like its Deployment), upper and lower case: curl, Python and Go read different ones.
fn http_patch<'a>(c: &ResolvedClient<'a>, url: &'a str, no_proxy: &'a str) -> Node<'a> {
    let deployment = c.client.deployment.as_str();
    node!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": deployment },
        "spec": {
            "template": {
                "metadata": { "annotations": { "avalanche.network/egress-proxy": c.proxy.name } },
                "spec": {
                    "containers": [{
                        "name": deployment,
                        "env": [
                            env("HTTP_PROXY", url),
                            env("HTTPS_PROXY", url),
                            env("http_proxy", url),
                            env("https_proxy", url),
                            env("NO_PROXY", no_proxy),
                            env("no_proxy", no_proxy),
                        ],
                    }],
                },
            },
        },
    })
}

/// The endpoint and cipher a Shadowsocks client needs (the password stays in the
/// proxy's Secret: copy it into the app's own secret).
fn shadowsocks_config<'a>(ctx: &Ctx<'a>, c: &ResolvedClient<'a>) -> Node<'a> {
    node!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": avalanche_model::layout::client_egress_name(c.name),
            "namespace": c.client.namespace.as_str(),
            "labels": labels(c.name, None, "vpn-egress"),
        },
        "data": {
            "SHADOWSOCKS_SERVER": ctx.proxy_host(c.proxy.name),
            "SHADOWSOCKS_PORT": SHADOWSOCKS_PORT.to_string(),
            "SHADOWSOCKS_CIPHER": SHADOWSOCKS_CIPHER,
        },
    })
}

/// The client's only way out: its proxy's pods on the ports its protocol uses, and DNS.
fn egress_policy<'a>(c: &ResolvedClient<'a>) -> Node<'a> {
    let ports = match c.client.protocol.value {
        ClientProtocol::Shadowsocks => node!([
            { "port": SHADOWSOCKS_PORT, "protocol": "TCP" },
            { "port": SHADOWSOCKS_PORT, "protocol": "UDP" },
        ]),
        _ => node!([{ "port": HTTP_PROXY_PORT, "protocol": "TCP" }]),
    };
    let upstream = node!({
        "to": [{
            "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": PROXY_NAMESPACE } },
            "podSelector": { "matchLabels": proxy_selector(avalanche_model::layout::proxy_service(c.proxy.name)) },
        }],
        "ports": ports,
    });
    client_fence(c.name, c.client, upstream)
}

/// A client's egress NetworkPolicy: its one way to its upstream (a proxy's pods or
/// a gateway's address), DNS, and its declared `allowedDestinations`; nothing else.
fn client_fence<'a>(name: &'a str, client: &'a Client, upstream: Node<'a>) -> Node<'a> {
    let mut egress = vec![upstream, dns_rule()];
    egress.extend(destination_rules(client));
    node!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": avalanche_model::layout::client_egress_name(name),
            "namespace": client.namespace.as_str(),
            "labels": labels(name, None, "vpn-egress"),
        },
        "spec": {
            "podSelector": { "matchLabels": &client.pod_labels },
            "policyTypes": ["Egress"],
            "egress": egress,
        },
    })
}

/// A pod with the client's labels: the internet must be unreachable directly and
/// reachable through the proxy.
fn client_verification<'a>(ctx: &Ctx<'a>, c: &ResolvedClient<'a>) -> Node<'a> {
    let proxy = format!("http://{}:{HTTP_PROXY_PORT}", ctx.proxy_host(c.proxy.name));
    let script = format!(
        "set -u\nif curl -fsS --max-time 10 --noproxy '*' https://ipinfo.io/ip; then echo 'direct egress is open: the NetworkPolicy is not enforced'; exit 1; fi\ncurl -fsS --max-time 20 -x {proxy} https://ipinfo.io/ip || {{ echo 'the proxy is unreachable'; exit 1; }}\necho ok\n"
    );
    let mut pod_labels = node!(&c.client.pod_labels);
    pod_labels.insert("avalanche.network/verification", node!("true"));
    let name = avalanche_model::layout::client_verify_job(c.name);
    verification_job_node(
        name,
        c.client.namespace.as_str(),
        labels(c.name, None, "verification"),
        pod_labels,
        1,
        script,
    )
}

/// What a native gluetun sidecar needs.
struct SidecarSpec<'a> {
    gluetun: gluetun::Spec<'a>,
    input_ports: Vec<u16>,
    /// `forwardedPortTo` (only with port forwarding: `decode` refuses it otherwise).
    forwarded_port_to: Option<&'a PortTarget>,
}

/// gluetun as a native sidecar (an init container with `restartPolicy: Always`,
/// Kubernetes ≥ 1.29): it starts, and passes its startup probe, before the app
/// starts, and the app shares its network namespace, so its traffic goes through
/// the tunnel or nowhere.
fn sidecar_patch<'a>(ctx: &Ctx<'a>, deployment: &'a str, s: &SidecarSpec<'a>) -> Node<'a> {
    let k = &ctx.net.kubernetes;
    let g = &s.gluetun;
    let mut env = gluetun::base_env(g);
    if let Some(target) = s.forwarded_port_to {
        env.set(
            "VPN_PORT_FORWARDING_UP_COMMAND",
            gluetun::port_forwarding_up_command(target),
        );
        if let Some(down) = gluetun::port_forwarding_down_command(target) {
            env.set("VPN_PORT_FORWARDING_DOWN_COMMAND", down);
        }
    }
    if !s.input_ports.is_empty() {
        let ports: Vec<String> = s.input_ports.iter().map(u16::to_string).collect();
        env.set("FIREWALL_INPUT_PORTS", ports.join(","));
    }
    // The app talks to in-cluster services from inside gluetun's firewall.
    env.set(
        "FIREWALL_OUTBOUND_SUBNETS",
        format!(
            "{},{}",
            k.pod_cidr.value.canonical(),
            k.service_cidr.value.canonical()
        ),
    );
    gluetun::health_env(&mut env, g.health);
    let mut mounts = vec![node!({ "name": SIDECAR_VOLUME, "mountPath": "/gluetun" })];
    let mut volumes = vec![node!({ "name": SIDECAR_VOLUME, "emptyDir": {} })];
    if g.tun == TunDevice::HostDevice {
        mounts.push(gluetun::tun_mount(SIDECAR_TUN_VOLUME));
        volumes.push(gluetun::tun_volume(SIDECAR_TUN_VOLUME));
    }
    // No liveness probe: gluetun restarts its own tunnel when it is unhealthy, the
    // app has no network meanwhile either way (kill switch), and a kubelet restart
    // of the sidecar would only add CrashLoopBackOff delays to a provider outage.
    let mut container = node!({
        "name": gluetun::CONTAINER,
        "image": &ctx.net.egress.image.value,
        "imagePullPolicy": "IfNotPresent",
        "restartPolicy": "Always",
        "env": env.finish(),
        "startupProbe": gluetun::startup_probe(),
        "resources": gluetun::resources(),
        "securityContext": gluetun::security_context(g),
        "volumeMounts": mounts,
    });
    if g.vpn.provider.vpn_type.value == VpnType::Wireguard {
        container.insert("lifecycle", gluetun::post_start_cleanup());
    }
    node!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": deployment },
        "spec": {
            // A second pod during a rolling update would hold the same port forward and ip rules.
            "strategy": { "type": "Recreate", "rollingUpdate": null },
            "template": {
                "spec": {
                    "initContainers": [container],
                    "volumes": volumes,
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::render;
    use avalanche_model::Network;

    /// The bundled shape with a gateway `home` on `routy`; `client` is marmithon's
    /// declaration body.
    fn network(client: &str) -> Result<Network, String> {
        let text = format!(
            r#"{{ avalanche.network = {{
              egress = {{
                providers.protonvpn = {{ service = "protonvpn"; credentials = "protonvpn"; }};
                proxies.iceland = {{ provider = "protonvpn"; countries = [ "Iceland" ]; }};
                gateways.home = {{
                  host = "routy";
                  listen = "10.1.0.1";
                  httpPort = 8888;
                  tunnel = {{
                    endpoint = "exit.example.org:51820";
                    publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
                    address = "10.99.0.2/32";
                    privateKeySecret = "routy-wireguard";
                  }};
                }};
                clients.marmithon = {{ namespace = "irc"; enforce = true; {client} }};
              }};
              secrets.protonvpn = {{ file = "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml"; keys = [ "WIREGUARD_PRIVATE_KEY" ]; }};
            }}; }}"#
        );
        let mut sources = avalanche_diag::SourceMap::default();
        let value =
            avalanche_nix::read_source(std::path::Path::new("network.nix"), &text, &mut sources)
                .map_err(|d| format!("{d:?}"))?;
        let (network, diagnostics) = avalanche_model::decode(&value);
        if !diagnostics.is_empty() {
            return Err(format!("{diagnostics:?}"));
        }
        network.ok_or_else(|| "no network".to_owned())
    }

    fn component(client: &str) -> (String, String) {
        let n = network(client).unwrap_or_else(|e| panic!("{e}"));
        let plan = render(&n).unwrap_or_else(|d| panic!("{d:#?}"));
        let dir = "kubernetes/base/apps/irc/marmithon/vpn-egress";
        let read = |f: &str| {
            String::from_utf8_lossy(
                plan.get(&format!("{dir}/{f}"))
                    .unwrap_or_else(|| panic!("no {dir}/{f}")),
            )
            .into_owned()
        };
        (read("deployment-patch.yaml"), read("networkpolicy.yaml"))
    }

    #[test]
    fn a_socks5_client_of_a_gateway() {
        let (patch, policy) = component(r#"proxy = "home"; protocol = "socks5";"#);
        assert!(patch.contains("name: ALL_PROXY\n"), "{patch}");
        assert!(
            patch.contains("value: socks5h://10.1.0.1:1080\n"),
            "{patch}"
        );
        assert!(!patch.contains("HTTP_PROXY"), "{patch}");
        assert!(
            patch.contains("avalanche.network/egress-gateway: home"),
            "{patch}"
        );
        assert!(
            policy.contains("ipBlock:\n") && policy.contains("cidr: 10.1.0.1/32\n"),
            "{policy}"
        );
        assert!(policy.contains("port: 1080\n"), "{policy}");
        assert!(!policy.contains("vpn-proxy"), "{policy}");
        assert!(policy.contains("k8s-app: kube-dns"), "{policy}");
        let n =
            network(r#"proxy = "home"; protocol = "socks5";"#).unwrap_or_else(|e| panic!("{e}"));
        let plan = render(&n).unwrap_or_else(|d| panic!("{d:#?}"));
        let readme = plan
            .get("kubernetes/base/infra/network/vpn-proxy/README.md")
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        assert!(
            readme.contains(
                "- `home` on `routy`: SOCKS5 `10.1.0.1:1080`, HTTP CONNECT `10.1.0.1:8888`"
            ),
            "{readme}"
        );
        assert!(readme.contains("golang.org/x/net/proxy"), "{readme}");
    }

    #[test]
    fn an_http_client_switches_backend_by_one_word() {
        let (patch, policy) = component(r#"gateway = "home";"#);
        assert!(patch.contains("value: http://10.1.0.1:8888\n"), "{patch}");
        assert!(patch.contains("name: HTTPS_PROXY\n"), "{patch}");
        assert!(
            policy.contains("port: 8888\n") && policy.contains("cidr: 10.1.0.1/32"),
            "{policy}"
        );
        let (gluetun, _) = component(r#"proxy = "iceland";"#);
        assert!(
            gluetun.contains("vpn-proxy-iceland.vpn-proxy.svc"),
            "{gluetun}"
        );
    }

    #[test]
    fn an_upstream_that_does_not_serve_the_protocol_is_refused() {
        for (client, upstream) in [
            (r#"proxy = "iceland"; protocol = "socks5";"#, "iceland"),
            (r#"proxy = "home"; protocol = "shadowsocks";"#, "home"),
            (r#"gateway = "iceland";"#, ""),
        ] {
            let n = network(client).unwrap_or_else(|e| panic!("{e}"));
            let errors = render(&n).expect_err(client);
            let rule = if upstream.is_empty() {
                "egress-unknown-proxy"
            } else {
                "egress-upstream-protocol"
            };
            assert_eq!(errors.len(), 1, "{errors:#?}");
            assert_eq!(errors[0].rule, rule, "{client}");
            assert!(errors[0].message.contains(&format!("`{upstream}`")) || upstream.is_empty());
        }
    }
}
