//! The `vpn-proxy` tree: one gluetun Deployment and Service per region, the
//! namespace, the ingress fence, the KSOPS generator, monitoring, the README, and
//! the Argo CD Application that deploys it.
use crate::gluetun::{self, HTTP_PROXY_PORT, SHADOWSOCKS_CIPHER, SHADOWSOCKS_PORT};
use crate::node::{Node, node};
use crate::plan::{markdown_file, yaml_file};
use crate::{Ctx, PROXY_NAMESPACE, Plan, concat, labels, proxy_selector, relative};
use avalanche_model::resolve::ResolvedProxy;
use avalanche_model::{ClientProtocol, GitOps, TunDevice, VpnType};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Name of the verification Job's pods (admitted by the ingress fence).
pub const VERIFY_NAME: &str = "vpn-proxy-verify";

pub fn render(ctx: &Ctx<'_>, plan: &mut Plan) {
    if !crate::writes_proxy_tree(ctx.net) {
        return;
    }
    let dir = ctx.proxy_dir();
    plan.own_dir(dir.clone());
    let mut resources: Vec<String> = Vec::new();
    let mut add = |plan: &mut Plan, file: String, bytes: Vec<u8>| {
        plan.insert(concat(&[&dir, "/", &file]), bytes);
        resources.push(file);
    };

    add(plan, "namespace.yaml".to_owned(), yaml_file(&namespace()));
    // The per-region documents are independent: emitted on two threads when many.
    let regional = crate::par_map(&ctx.resolved.proxies, |p| {
        // `vpn-proxy-<region>`: the name, instance label and selector of all three.
        let instance = avalanche_model::layout::proxy_service(p.name);
        (
            yaml_file(&deployment(ctx, p, &instance)),
            yaml_file(&service(&instance)),
            ingress_policy(ctx, p, &instance).map(|np| yaml_file(&np)),
        )
    });
    let mut policies = Vec::new();
    for (p, (deployment, service, policy)) in ctx.resolved.proxies.iter().zip(regional) {
        add(plan, concat(&["deployment-", p.name, ".yaml"]), deployment);
        add(plan, concat(&["service-", p.name, ".yaml"]), service);
        if let Some(bytes) = policy {
            policies.push((concat(&["networkpolicy-", p.name, ".yaml"]), bytes));
        }
    }
    add(
        plan,
        "networkpolicy-default-deny.yaml".to_owned(),
        yaml_file(&default_deny()),
    );
    for (file, bytes) in policies {
        add(plan, file, bytes);
    }
    for (file, doc) in crate::monitoring::proxy_resources(ctx)
        .into_iter()
        .chain(crate::monitoring::gateway_resources(ctx))
    {
        add(plan, file, yaml_file(&doc));
    }
    if ctx.net.kubernetes.verification {
        add(
            plan,
            "verification-job.yaml".to_owned(),
            yaml_file(&verification_job(ctx)),
        );
    }

    let secret_files = credential_files(ctx, &dir);
    if ctx.engine_decrypts() {
        // Flux decrypts SOPS-encrypted resources itself after the build.
        resources.extend(secret_files.iter().cloned());
    }
    let mut kustomization = node!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": PROXY_NAMESPACE,
        "resources": resources,
    });
    if !secret_files.is_empty() && !ctx.engine_decrypts() {
        plan.insert(
            format!("{dir}/secret-generator.yaml"),
            yaml_file(&ksops_generator("vpn-proxy-secrets".into(), &secret_files)),
        );
        kustomization.insert("generators", node!(["secret-generator.yaml"]));
    }
    plan.insert(
        format!("{dir}/kustomization.yaml"),
        yaml_file(&kustomization),
    );
    plan.insert(
        format!("{dir}/README.md"),
        markdown_file(&crate::readme::render(ctx)),
    );
    let registration = match ctx.net.kubernetes.gitops.value {
        GitOps::ArgoCd => application(ctx, &dir),
        GitOps::Flux => flux_kustomization(ctx, &dir),
        // Plain manifests: the user applies the tree (`kubectl apply -k`).
        GitOps::None => return,
    };
    if let Some(path) = crate::application_path(ctx.net) {
        plan.insert(path, yaml_file(&registration));
    }
}

/// The SOPS files KSOPS makes the credential Secrets from, relative to `dir`
/// (none for an `existingSecret`, or without KSOPS).
fn credential_files(ctx: &Ctx<'_>, dir: &str) -> Vec<String> {
    // Distinct files first: thousands of proxies share a handful of secrets.
    let sources: BTreeSet<&str> = ctx
        .resolved
        .proxies
        .iter()
        .filter_map(|p| p.vpn.secret_file)
        .collect();
    let files: BTreeSet<String> = sources.into_iter().map(|f| relative(dir, f)).collect();
    files.into_iter().collect()
}

/// A KSOPS generator: Argo CD's repo-server decrypts `files` at build time.
pub fn ksops_generator<'a>(name: Cow<'a, str>, files: &'a [String]) -> Node<'a> {
    node!({
        "apiVersion": "viaduct.ai/v1",
        "kind": "ksops",
        "metadata": {
            "name": name,
            "annotations": { "config.kubernetes.io/function": "exec:\n  path: ksops\n" },
        },
        "files": files,
    })
}

fn namespace() -> Node<'static> {
    let mut l = labels("vpn-proxy", None, "egress-proxy");
    // The API server sets it too; writing it keeps selectors and docs honest.
    l.insert("kubernetes.io/metadata.name", node!(PROXY_NAMESPACE));
    node!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": PROXY_NAMESPACE, "labels": l },
    })
}

/// The labels of one proxy's objects; `instance` is `vpn-proxy-<region>`.
fn proxy_labels(instance: &str) -> Node<'_> {
    labels("vpn-proxy", Some(Cow::Borrowed(instance)), "egress-proxy")
}

fn container_ports() -> Vec<Node<'static>> {
    vec![
        node!({ "name": "http-proxy", "containerPort": HTTP_PROXY_PORT, "protocol": "TCP" }),
        node!({ "name": "shadowsocks", "containerPort": SHADOWSOCKS_PORT, "protocol": "TCP" }),
        node!({ "name": "shadowsocks-udp", "containerPort": SHADOWSOCKS_PORT, "protocol": "UDP" }),
    ]
}

/// The gluetun of one proxy: its own settings, else the egress-wide ones.
pub(crate) fn spec<'a>(ctx: &Ctx<'a>, p: &ResolvedProxy<'a>) -> gluetun::Spec<'a> {
    let egress = &ctx.net.egress;
    gluetun::Spec {
        vpn: p.vpn,
        version: egress.version(),
        health: p.proxy.health_check,
        tun: p.proxy.tun_device.unwrap_or(egress.tun_device),
        keepalive: p
            .proxy
            .keepalive
            .as_ref()
            .unwrap_or(&egress.keepalive)
            .value
            .as_str(),
        control_server: p.proxy.control_server.value.as_str(),
        port_forwarding: false,
    }
}

/// The cluster DNS Service's address as a one-address subnet.
pub(crate) fn dns_subnet(ctx: &Ctx<'_>) -> String {
    match ctx.net.kubernetes.dns_service_ip() {
        std::net::IpAddr::V4(ip) => format!("{ip}/32"),
        std::net::IpAddr::V6(ip) => format!("{ip}/128"),
    }
}

/// The volume name of the TUN device in a proxy pod.
const TUN_VOLUME: &str = "dev-net-tun";

fn deployment<'a>(ctx: &Ctx<'a>, p: &ResolvedProxy<'a>, name: &'a str) -> Node<'a> {
    let spec = spec(ctx, p);
    let mut env = gluetun::base_env(&spec);
    env.set("HTTPPROXY", "on");
    env.set("HTTPPROXY_LISTENING_ADDRESS", format!(":{HTTP_PROXY_PORT}"));
    env.set("SHADOWSOCKS", "on");
    env.set(
        "SHADOWSOCKS_LISTENING_ADDRESS",
        format!(":{SHADOWSOCKS_PORT}"),
    );
    env.set("SHADOWSOCKS_CIPHER", SHADOWSOCKS_CIPHER);
    let password = avalanche_model::gluetun::SHADOWSOCKS_PASSWORD_KEY;
    env.secret(password, p.vpn.secret_name, p.vpn.key(password));
    // On a /32 pod network gluetun's firewall drops inbound traffic to every port not listed.
    env.set(
        "FIREWALL_INPUT_PORTS",
        format!("{HTTP_PROXY_PORT},{SHADOWSOCKS_PORT}"),
    );
    // gluetun (v3.41) forwards cluster-local names to the resolver of the pod's
    // resolv.conf; its firewall blocks that address unless listed here. The DNS
    // Service's ClusterIP alone: through the proxy a client reaches nothing of the
    // cluster but what it may reach directly anyway (kube-dns).
    env.set("FIREWALL_OUTBOUND_SUBNETS", dns_subnet(ctx));
    gluetun::health_env(&mut env, spec.health);

    let mut mounts = vec![node!({ "name": "gluetun", "mountPath": "/gluetun" })];
    let mut volumes = vec![node!({ "name": "gluetun", "emptyDir": {} })];
    if spec.tun == TunDevice::HostDevice {
        mounts.push(gluetun::tun_mount(TUN_VOLUME));
        volumes.push(gluetun::tun_volume(TUN_VOLUME));
    }
    let mut container = node!({
        "name": gluetun::CONTAINER,
        "image": &ctx.net.egress.image.value,
        "imagePullPolicy": "IfNotPresent",
        "env": env.finish(),
        "ports": container_ports(),
        "startupProbe": gluetun::startup_probe(),
        // Readiness takes a proxy out of its Service while the tunnel is down.
        "readinessProbe": gluetun::probe(10, 3),
        // gluetun restarts its own tunnel when the health check fails
        // (HEALTH_RESTART_VPN): a strict liveness probe only adds restarts and
        // CrashLoopBackOff delays during a provider outage. This one kills only a
        // gluetun unhealthy for 15 minutes.
        "livenessProbe": gluetun::probe(60, 15),
        "resources": gluetun::resources(),
        "securityContext": gluetun::security_context(&spec),
        "volumeMounts": mounts,
    });
    if p.vpn.provider.vpn_type.value == VpnType::Wireguard {
        container.insert("lifecycle", gluetun::post_start_cleanup());
    }
    node!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "namespace": PROXY_NAMESPACE, "labels": proxy_labels(name) },
        "spec": {
            "replicas": p.proxy.replicas,
            "revisionHistoryLimit": 3,
            // Two gluetun in one pod network namespace fight over ip rules: never overlap.
            "strategy": { "type": "Recreate" },
            "selector": { "matchLabels": proxy_selector(name) },
            "template": {
                "metadata": { "labels": proxy_labels(name) },
                "spec": {
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    // With the default ndots:5 every name the proxy resolves (`ipinfo.io`)
                    // is first tried under each search domain, cluster-local queries that
                    // go to the cluster DNS: one dot is enough to try it as written first.
                    "dnsConfig": { "options": [{ "name": "ndots", "value": "1" }] },
                    "securityContext": { "seccompProfile": { "type": "RuntimeDefault" } },
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    })
}

fn service(name: &str) -> Node<'_> {
    let ports = vec![
        node!({ "name": "http-proxy", "port": HTTP_PROXY_PORT, "targetPort": "http-proxy", "protocol": "TCP" }),
        node!({ "name": "shadowsocks", "port": SHADOWSOCKS_PORT, "targetPort": "shadowsocks", "protocol": "TCP" }),
        node!({ "name": "shadowsocks-udp", "port": SHADOWSOCKS_PORT, "targetPort": "shadowsocks-udp", "protocol": "UDP" }),
    ];
    node!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": name, "namespace": PROXY_NAMESPACE, "labels": proxy_labels(name) },
        "spec": { "type": "ClusterIP", "selector": proxy_selector(name), "ports": ports },
    })
}

fn default_deny() -> Node<'static> {
    node!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": { "name": "default-deny-ingress", "namespace": PROXY_NAMESPACE, "labels": labels("vpn-proxy", None, "egress-proxy") },
        "spec": { "podSelector": {}, "policyTypes": ["Ingress"] },
    })
}

/// A `from` peer: pods with `pod_labels` in `namespace` (one item: AND).
fn peer<'a>(namespace: &'a str, pod_labels: Node<'a>) -> Node<'a> {
    node!({
        "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": namespace } },
        "podSelector": { "matchLabels": pod_labels },
    })
}

/// Admits the declared clients (and the verification Job) to one proxy, each on
/// the container ports of its protocol only: an HTTP client cannot reach
/// Shadowsocks, nor the reverse. `None` when nobody may connect: an empty `from`
/// would admit all.
fn ingress_policy<'a>(ctx: &Ctx<'a>, p: &ResolvedProxy<'a>, instance: &'a str) -> Option<Node<'a>> {
    let mut http: Vec<Node<'a>> = Vec::new();
    let mut shadowsocks: Vec<Node<'a>> = Vec::new();
    for c in ctx.resolved.clients_of(p.name) {
        let from = peer(c.client.namespace.as_str(), node!(&c.client.pod_labels));
        match c.client.protocol.value {
            ClientProtocol::Http => http.push(from),
            ClientProtocol::Shadowsocks => shadowsocks.push(from),
            ClientProtocol::Sidecar | ClientProtocol::Socks5 => {}
        }
    }
    if ctx.net.kubernetes.verification {
        // The verification Job goes through the HTTP proxy.
        http.push(peer(
            PROXY_NAMESPACE,
            node!({ "app.kubernetes.io/name": VERIFY_NAME }),
        ));
    }
    let mut rules = Vec::new();
    if !http.is_empty() {
        rules.push(
            node!({ "from": http, "ports": [{ "port": HTTP_PROXY_PORT, "protocol": "TCP" }] }),
        );
    }
    if !shadowsocks.is_empty() {
        rules.push(node!({
            "from": shadowsocks,
            "ports": [
                { "port": SHADOWSOCKS_PORT, "protocol": "TCP" },
                { "port": SHADOWSOCKS_PORT, "protocol": "UDP" },
            ],
        }));
    }
    if rules.is_empty() {
        return None;
    }
    Some(node!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": { "name": concat(&[instance, "-clients"]), "namespace": PROXY_NAMESPACE, "labels": proxy_labels(instance) },
        "spec": {
            "podSelector": { "matchLabels": proxy_selector(instance) },
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }))
}

/// Checks through each proxy that the egress IP differs from the direct one.
fn verification_job(ctx: &Ctx<'_>) -> Node<'static> {
    let mut script = String::from(
        "set -eu\ndirect=$(curl -fsS --max-time 20 https://ipinfo.io/ip)\necho \"direct egress: $direct\"\n",
    );
    for p in &ctx.resolved.proxies {
        let host = ctx.proxy_host(p.name);
        script.push_str(&format!(
            "via=$(curl -fsS --max-time 20 -x http://{host}:{HTTP_PROXY_PORT} https://ipinfo.io/ip)\necho \"{name}: $via\"\n[ \"$via\" != \"$direct\" ] || {{ echo \"{name}: egress IP is the direct one\"; exit 1; }}\n",
            name = p.name
        ));
    }
    let l = labels(VERIFY_NAME, None, "verification");
    verification_job_node(VERIFY_NAME, PROXY_NAMESPACE, l.clone(), l, 2, script)
}

/// A verification Job: an Argo CD PostSync hook running `script` with curl, as a
/// non-root, read-only, capability-less pod.
pub fn verification_job_node<'a>(
    name: impl Into<Cow<'a, str>>,
    namespace: &'a str,
    labels: Node<'a>,
    pod_labels: Node<'a>,
    backoff_limit: u32,
    script: String,
) -> Node<'a> {
    let name: Cow<'a, str> = name.into();
    node!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {
                "argocd.argoproj.io/hook": "PostSync",
                "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
            },
        },
        "spec": {
            "backoffLimit": backoff_limit,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": { "labels": pod_labels },
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "securityContext": { "runAsNonRoot": true, "runAsUser": 100, "seccompProfile": { "type": "RuntimeDefault" } },
                    "containers": [{
                        "name": "verify",
                        "image": CURL_IMAGE,
                        "command": ["/bin/sh", "-c", script],
                        "resources": { "requests": { "cpu": "10m", "memory": "16Mi" }, "limits": { "memory": "64Mi" } },
                        "securityContext": { "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": { "drop": ["ALL"] } },
                    }],
                },
            },
        },
    })
}

/// The image of the verification Jobs.
pub const CURL_IMAGE: &str = "curlimages/curl:8.11.1";

fn application<'a>(ctx: &Ctx<'a>, dir: &'a str) -> Node<'a> {
    let argocd = &ctx.net.kubernetes.argocd;
    node!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "vpn-proxy",
            "namespace": &argocd.namespace,
            "labels": labels("vpn-proxy", None, "egress-proxy"),
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": &argocd.project,
            "source": { "repoURL": &argocd.repo_url, "targetRevision": &argocd.target_revision, "path": dir },
            "destination": { "server": "https://kubernetes.default.svc", "namespace": PROXY_NAMESPACE },
            "syncPolicy": {
                "automated": { "prune": true, "selfHeal": true },
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    })
}

/// The Flux `Kustomization` (`kustomize.toolkit.fluxcd.io/v1`) applying the
/// proxies' tree, decrypting its SOPS-encrypted Secrets with the age key in
/// `kubernetes.flux.decryptionSecret`.
fn flux_kustomization<'a>(ctx: &Ctx<'a>, dir: &'a str) -> Node<'a> {
    let flux = &ctx.net.kubernetes.flux;
    node!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {
            "name": "vpn-proxy",
            "namespace": &flux.namespace,
            "labels": labels("vpn-proxy", None, "egress-proxy"),
        },
        "spec": {
            "interval": &flux.interval,
            // Flux paths are relative to the source's root, written `./…`.
            "path": concat(&["./", dir]),
            "prune": true,
            "sourceRef": { "kind": &flux.source_kind, "name": &flux.source_name },
            "decryption": {
                "provider": "sops",
                "secretRef": { "name": &flux.decryption_secret },
            },
        },
    })
}
