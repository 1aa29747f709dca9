//! `vpn-proxy/README.md`: how to use, switch, secure, watch and test the proxies.
use crate::gluetun::{HTTP_PROXY_PORT, SHADOWSOCKS_CIPHER, SHADOWSOCKS_PORT};
use crate::{Ctx, PROXY_NAMESPACE};
use avalanche_model::{ClientProtocol, GitOps};
use std::fmt::Write as _;

pub fn render(ctx: &Ctx<'_>) -> String {
    let net = ctx.net;
    let k = &net.kubernetes;
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "# VPN egress proxies (`{PROXY_NAMESPACE}`)\n");
    let _ = writeln!(
        w,
        "One [gluetun](https://github.com/qdm12/gluetun) Deployment per region (image `{}`), each exposing an\n\
         HTTP proxy on {HTTP_PROXY_PORT}/TCP and a **Shadowsocks** server on {SHADOWSOCKS_PORT}/TCP+UDP. Workloads that must\n\
         leave the cluster through the VPN either use a proxy (clients) or run their own gluetun as a native\n\
         sidecar. Everything here is generated from `nix/network.nix` by `avalanche-net build`.\n",
        net.egress.image.value
    );

    let _ = writeln!(
        w,
        "Every file here but the sealed secrets is generated: edit `nix/network.nix`, run `avalanche-net build`\n\
         and commit the result (`avalanche-net diff` exits 1 in CI when they disagree). `build` keeps a ledger of\n\
         what it wrote (`{}`) and refuses to overwrite a generated file edited by hand (`--force` to\n\
         discard the edit). Secrets: `avalanche-net secrets seal <name>`.\n",
        avalanche_model::layout::ledger_path(&ctx.root)
    );
    if k.gitops.value == GitOps::None {
        applying(ctx, w);
    }
    let _ = writeln!(w, "## Regions\n");
    let _ = writeln!(
        w,
        "| region | provider | countries | HTTP proxy | Shadowsocks | clients |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|");
    // One row per proxy, written in place: at 10,000 proxies the temporary
    // `Vec`s and `String`s of each row cost more than the row.
    for p in &ctx.resolved.proxies {
        let host = ctx.proxy_host(p.name);
        let _ = write!(
            w,
            "| `{}` | `{}` ({}) | ",
            p.name,
            p.vpn.provider.service.value,
            p.vpn.provider.vpn_type.as_str(),
        );
        push_joined(w, p.vpn.countries.iter().map(|c| c.value.as_str()), ", ");
        let _ = write!(
            w,
            " | `http://{host}:{HTTP_PROXY_PORT}` | `{host}:{SHADOWSOCKS_PORT}` | "
        );
        let mut clients = ctx.resolved.clients_of(p.name).peekable();
        if clients.peek().is_none() {
            w.push_str("none");
        }
        for (i, c) in clients.enumerate() {
            if i > 0 {
                w.push_str(", ");
            }
            let _ = write!(
                w,
                "`{}/{}` ({})",
                c.client.namespace.value,
                c.name,
                c.client.protocol.as_str()
            );
        }
        w.push_str(" |\n");
    }
    if !ctx.resolved.sidecars.is_empty() {
        let _ = writeln!(w, "\nApps with their own gluetun sidecar:\n");
        for sc in &ctx.resolved.sidecars {
            let countries: Vec<&str> = sc.vpn.countries.iter().map(|c| c.value.as_str()).collect();
            let _ = writeln!(
                w,
                "- `{}/{}`: `{}`, {}; component `{}`{}",
                sc.sidecar.namespace.value,
                sc.name,
                sc.vpn.provider.service.value,
                countries.join(", "),
                ctx.component_dir(sc.sidecar.namespace.as_str(), sc.name),
                port_forwarding_note(sc),
            );
        }
    }

    let example = ctx
        .resolved
        .proxies
        .first()
        .map(|p| p.name)
        // No proxy declared yet: a placeholder, not a name from the bundled example.
        .unwrap_or("REGION");
    let host = ctx.proxy_host(example);
    let _ = writeln!(w, "\n## Using a proxy\n");
    let _ = writeln!(
        w,
        "### HTTP (`protocol = \"http\"`)\n\n\
         The client's Component patches its Deployment (the container named like the Deployment) with:\n\n\
         ```sh\n\
         HTTP_PROXY=http://{host}:{HTTP_PROXY_PORT}\n\
         HTTPS_PROXY=http://{host}:{HTTP_PROXY_PORT}   # and lowercase http_proxy / https_proxy\n\
         NO_PROXY=localhost,127.0.0.1,::1,{},{},.svc,.{}   # and lowercase no_proxy\n\
         ```\n\n\
         That `NO_PROXY` (the whole cluster goes direct) is for clients without `enforce`. An enforced client's\n\
         fence lets it reach only its proxy, DNS and its `allowedDestinations`, so its `NO_PROXY` is exactly that:\n\
         `localhost,127.0.0.1,::1`, each `cidr` destination, and the DNS names of the Services a pod destination\n\
         declares in `services` (`<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.<clusterDomain>`, and the bare\n\
         `<svc>` from the client's own namespace). Any other in-cluster name goes to the proxy, which cannot reach\n\
         it: the call fails with an error from the proxy instead of being dropped silently by the fence. Declare\n\
         the Services the app calls by name, e.g.\n\
         `{{ namespace = \"irc\"; podLabels = {{ app = \"redis\"; }}; ports = [ 6379 ]; services = [ \"redis\" ]; }}`.\n\n\
         The proxy accepts `CONNECT` to any TCP port, so TLS services on other ports (IRC on 6697) work when the\n\
         app honours the variables. Apps that ignore them need their own proxy setting or the sidecar.\n",
        k.pod_cidr.value.canonical(),
        k.service_cidr.value.canonical(),
        k.cluster_domain
    );
    let _ = writeln!(
        w,
        "### Shadowsocks (`protocol = \"shadowsocks\"`)\n\n\
         - endpoint: `{host}:{SHADOWSOCKS_PORT}` (TCP and UDP)\n\
         - cipher: `{SHADOWSOCKS_CIPHER}`\n\
         - password: key `SHADOWSOCKS_PASSWORD` of the provider's credentials Secret (SOPS-encrypted in this repo)\n\n\
         The client's Component carries a ConfigMap `<client>-vpn-egress` with the endpoint and cipher.\n\
         Port {SHADOWSOCKS_PORT} is **Shadowsocks, not SOCKS5**: gluetun v3.41.3 has no SOCKS5 server (it exists only on\n\
         `:latest`, `SOCKS5_ENABLED` on :1080). Use the HTTP proxy or a Shadowsocks client (e.g. `sslocal`).\n"
    );
    // How a sidecar's credentials Secret comes to be, in the app's namespace.
    let (verb, how) = if ctx.engine_decrypts() {
        ("lists", "SOPS-encrypted; Flux decrypts it")
    } else if sidecars_run_ksops(ctx) {
        ("generates", "KSOPS")
    } else {
        (
            "references",
            "`existingSecret`: one the cluster already has",
        )
    };
    let _ = writeln!(
        w,
        "### Sidecar (`protocol = \"sidecar\"`, `egress.sidecars`)\n\n\
         gluetun runs as a native sidecar (`initContainers` with `restartPolicy: Always`, Kubernetes ≥ 1.29): the app\n\
         starts after the tunnel passes its startup probe and shares its network namespace, so it has the VPN or no\n\
         network at all. `FIREWALL_OUTBOUND_SUBNETS` lets it reach the pod and service networks; the app's own\n\
         listening ports are in `FIREWALL_INPUT_PORTS`. The Component also {verb} the credentials Secret in the\n\
         app's namespace ({how}). Its first patch deletes a hand-written container named `gluetun` (from `containers`\n\
         or `initContainers`), so an app that ran its own keeps exactly one; `avalanche-net check` points at the\n\
         dead YAML to delete, and refuses a gluetun image under another name (it would be a second gluetun).\n",
    );

    gateways(ctx, w);

    let _ = writeln!(w, "## Switching regions\n");
    let _ = write!(
        w,
        "A client's region is one word in `nix/network.nix`:\n\n\
         ```nix\n\
         egress.clients.<name>.proxy = \"{example}\";   # any of: "
    );
    for (i, p) in ctx.resolved.proxies.iter().enumerate() {
        if i > 0 {
            w.push_str(", ");
        }
        w.push('`');
        w.push_str(p.name);
        w.push('`');
    }
    let gateways = &ctx.net.egress.gateways;
    for (i, name) in gateways.keys().enumerate() {
        w.push_str(if i == 0 { "; a gateway: `" } else { ", `" });
        w.push_str(name.as_str());
        w.push('`');
    }
    let _ = writeln!(
        w,
        "\n\
         ```\n\n\
         then `avalanche-net build`, review `git diff`, {deploy} the client's patch and both\n\
         NetworkPolicies (the old proxy stops admitting it, the new one starts). To add a region, declare\n\
         `egress.proxies.<region> = {{ provider = …; countries = [ … ]; }}`.\n",
        deploy = match k.gitops.value {
            GitOps::None => "and apply both trees again (see Applying):".to_owned(),
            engine => format!("commit and push: {} syncs", engine.product()),
        }
    );
    if !gateways.is_empty() {
        let _ = writeln!(
            w,
            "Moving a client to a gateway is the same one word, as long as the gateway serves its `protocol`\n\
             (`http` needs the gateway's `httpPort`): its patch then points the proxy variables at the gateway's\n\
             address and its NetworkPolicy allows only that address. The gateway itself runs on its host once the\n\
             host is rebuilt from the flake (`nixosModules.egressGateway`); it admits clients by address\n\
             (`allowedClients`), not by a NetworkPolicy.\n"
        );
    }

    w.push_str("## Egress paths\n\n```mermaid\n");
    w.push_str(&ensure_newline(crate::graph::mermaid(net)));
    w.push_str("```\n\n");

    let _ = writeln!(w, "## Fences\n");
    let _ = writeln!(
        w,
        "- `{PROXY_NAMESPACE}` denies all ingress by default; each proxy admits only its declared clients (their\n\
         namespace **and** pod labels, one `from` item) on {HTTP_PROXY_PORT}/TCP and {SHADOWSOCKS_PORT}/TCP+UDP. An undeclared pod\n\
         cannot use the proxies.\n\
         - Clients with `enforce = true` get an egress NetworkPolicy: their proxy's pods on the container port,\n\
         and DNS (UDP and TCP 53) to `kube-system` pods labelled `k8s-app: kube-dns`, and what the client declares in\n\
         `allowedDestinations` (pods of a namespace by labels, on their own ports; CIDRs outside the cluster). Its\n\
         `NO_PROXY` lists exactly those (the CIDRs and the declared `services`' names), nothing else of the cluster;\n\
         `check` warns (`egress-no-proxy-fence`) when a hand-written `NO_PROXY` of its workload sends more direct.\n\
         - NetworkPolicies need an enforcing CNI: k3s enforces them (kube-router); flannel alone does not.\n"
    );
    let mut enforced = ctx
        .resolved
        .clients
        .iter()
        .filter(|c| c.client.enforce && c.client.protocol.value != ClientProtocol::Sidecar)
        .peekable();
    if enforced.peek().is_some() {
        w.push_str("Enforced clients: ");
        for (i, c) in enforced.enumerate() {
            if i > 0 {
                w.push_str(", ");
            }
            let _ = write!(w, "`{}/{}`", c.client.namespace.value, c.name);
        }
        w.push_str(".\n\n");
    }

    runtime(ctx, w);

    // Whether any generated tree runs the KSOPS generator: with every credential
    // an `existingSecret` (or `kubernetes.secrets = "none"`), nothing decrypts.
    let runs_ksops = ctx.net.proxies_run_ksops()
        || (!ctx.resolved.sidecars.is_empty() && sidecars_run_ksops(ctx));
    if ctx.engine_decrypts() {
        secrets_flux(ctx, w);
    } else if !runs_ksops {
        secrets_existing(w);
    } else if k.gitops.value == GitOps::None {
        secrets_applied(ctx, w);
    } else {
        let _ = writeln!(w, "## Secrets and Argo CD (KSOPS)\n");
        let _ = writeln!(
            w,
            "The WireGuard key and addresses and the Shadowsocks password live in a SOPS-encrypted Secret\n\
             (`avalanche-net secrets seal`), decrypted at build time by the KSOPS generator `secret-generator.yaml`.\n\
             Argo CD must be set up once:\n\n\
             1. `argocd-cm`: `kustomize.buildOptions: --enable-alpha-plugins --enable-exec`\n\
             2. the `ksops` binary in the repo-server (an init container copying it from `viaductoss/ksops` into a\n   shared volume on the repo-server's PATH)\n\
             3. the age private key mounted in the repo-server and named by `SOPS_AGE_KEY_FILE`\n   (e.g. a Secret `sops-age` mounted at `/.config/sops/age/keys.txt`)\n\n\
             Locally: `{} {}` with `ksops` on PATH and\n\
             `SOPS_AGE_KEY_FILE` set.\n",
            avalanche_model::layout::KSOPS_BUILD,
            ctx.proxy_dir()
        );
    }

    let _ = writeln!(w, "## Monitoring\n");
    if k.monitoring.enable {
        let _ = writeln!(
            w,
            "gluetun ({version}) exposes **no Prometheus metrics** (no release does: `METRICS_TYPE` is read by none). The\n\
             alerts (`prometheusrule.yaml`) therefore watch what kube-state-metrics (kube-prometheus-stack) knows:\n\n\
             - `VpnProxyUnavailable`: no available pod of a proxy Deployment for 5 minutes. Readiness is gluetun's own\n  health check (`/gluetun-entrypoint healthcheck`), so this fires when the tunnel is down, not only when the\n  pod is gone.\n\
             - `VpnProxyRestarting`: more than 3 container restarts in 15 minutes (gluetun exiting at start, or\n  unhealthy for the 15 minutes its lenient liveness probe allows).\n\
             - `VpnSidecarRestarting` (when sidecars are declared): the same for the apps' gluetun. A native sidecar\n  is an init container, so this alert reads `kube_pod_init_container_status_restarts_total`.\n\n\
             They do not see: which country the exit IP is in, a tunnel that is up but slow, or a provider that\n\
             silently changed the exit IP. The verification Job and the checklist below cover those by hand.\n\
             `grafana-dashboard.yaml` is a ConfigMap labelled `grafana_dashboard: \"1\"` for Grafana's dashboard sidecar\n\
             (it must watch the `{PROXY_NAMESPACE}` namespace, or all namespaces).\n",
            version = net.egress.image.value
        );
        gateway_monitoring(ctx, w);
    } else {
        let _ = writeln!(w, "Off (`kubernetes.monitoring.enable = false`).\n");
    }

    let first_client = ctx
        .resolved
        .clients
        .iter()
        .find(|c| c.client.protocol.value == ClientProtocol::Http);
    let _ = writeln!(w, "## Testing checklist\n");
    let _ = writeln!(
        w,
        "Run after every change, in order:\n\n\
         ```sh\n\
         avalanche-net check && avalanche-net diff      # declarations valid, tree up to date\n\
         {engine}\n\
         kubectl -n {PROXY_NAMESPACE} get deploy,pods,svc,networkpolicy\n\
         ```\n",
        engine = match k.gitops.value {
            GitOps::ArgoCd => format!(
                "kubectl -n {} get application vpn-proxy   # Synced / Healthy",
                k.argocd.namespace
            ),
            GitOps::Flux => format!(
                "kubectl -n {} get kustomization vpn-proxy   # Ready (decrypted and applied)",
                k.flux.namespace
            ),

            GitOps::None => format!(
                "kubectl -n {PROXY_NAMESPACE} get events --sort-by=.lastTimestamp | tail   # after `{}`",
                avalanche_model::layout::apply_command(
                    &ctx.proxy_dir(),
                    ctx.net.proxies_run_ksops()
                )
            ),
        }
    );
    for p in &ctx.resolved.proxies {
        let _ = write!(w, "```sh\n# {}: the tunnel is up and exits in ", p.name);
        push_joined(w, p.vpn.countries.iter().map(|c| c.value.as_str()), ", ");
        let _ = writeln!(
            w,
            "\n\
             kubectl -n {PROXY_NAMESPACE} rollout status deploy/{service}\n\
             kubectl -n {PROXY_NAMESPACE} logs deploy/{service} -c gluetun | grep -iE 'public ip|healthy'\n\
             kubectl -n {PROXY_NAMESPACE} exec deploy/{service} -c gluetun -- wget -qO- https://ipinfo.io/json\n\
             ```\n",
            service = avalanche_model::layout::proxy_service(p.name),
        );
    }
    if let Some(c) = first_client {
        let ns = c.client.namespace.as_str();
        let labels: Vec<String> = c
            .client
            .pod_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let proxy = format!("http://{}:{HTTP_PROXY_PORT}", ctx.proxy_host(c.proxy.name));
        let _ = writeln!(
            w,
            "```sh\n\
             # {name}: the client goes out through {region}, and only through it\n\
             kubectl -n {ns} get deploy/{deploy} -o jsonpath='{{.spec.template.spec.containers[0].env}}' | grep -o 'HTTPS_PROXY[^}}]*'\n\
             kubectl -n {ns} run egress-test --rm -it --restart=Never --image=curlimages/curl --labels={labels} -- \\\n  curl -sS --max-time 20 -x {proxy} https://ipinfo.io/json      # the VPN's IP and country\n\
             kubectl -n {ns} run egress-test --rm -it --restart=Never --image=curlimages/curl --labels={labels} -- \\\n  curl -sS --max-time 10 --noproxy '*' https://ipinfo.io/ip        # must time out when enforced\n\
             kubectl -n {ns} run egress-test --rm -it --restart=Never --image=curlimages/curl -- \\\n  curl -sS --max-time 10 -x {proxy} https://ipinfo.io/ip           # undeclared pods: time out (the proxy's fence)\n\
             ```\n",
            name = c.name,
            region = c.proxy.name,
            deploy = c.client.deployment.value,
            labels = labels.join(","),
        );
    }
    for sc in &ctx.resolved.sidecars {
        let ns = sc.sidecar.namespace.as_str();
        let deploy = sc.sidecar.deployment.as_str();
        let _ = writeln!(
            w,
            "```sh\n\
             # {name}: its own gluetun starts first and carries all of its traffic\n\
             kubectl -n {ns} get pod -l app.kubernetes.io/name={name} -o jsonpath='{{.items[0].spec.initContainers[0].restartPolicy}}'   # Always\n\
             kubectl -n {ns} logs deploy/{deploy} -c gluetun | grep -iE 'public ip|healthy{pf}'\n\
             kubectl -n {ns} exec deploy/{deploy} -c {deploy} -- curl -sS --max-time 20 https://ipinfo.io/json   # the VPN's IP\n\
             ```\n",
            name = sc.name,
            pf = if sc.sidecar.port_forwarding {
                "|port forward"
            } else {
                ""
            },
        );
    }
    if k.verification {
        let _ = writeln!(
            w,
            "The verification Jobs (`kubernetes.verification.enable`) run these checks{}:\n\n\
             ```sh\n\
             kubectl -n {PROXY_NAMESPACE} logs job/vpn-proxy-verify\n\
             ```\n",
            match k.gitops.value {
                GitOps::ArgoCd => " as Argo CD PostSync hooks",
                // Flux ignores Argo CD's hook annotations: the Jobs run once applied.
                GitOps::Flux => " once Flux applies them",
                GitOps::None => " once applied",
            }
        );
    }

    let _ = writeln!(w, "## Troubleshooting\n");
    let _ = writeln!(
        w,
        "- `creating TUN device file node: operation not permitted`: gluetun found no `/dev/net/tun` and may not\n  create it. Use `tunDevice = \"host-device\"` (the default; check the node has `/dev/net/tun`) or `\"mknod\"`.\n\
         - `MountVolume.SetUp failed … hostPath type check failed: /dev/net/tun is not a character device`: the\n  node has no TUN device (`modprobe tun`, and `tun` in `boot.kernelModules` on NixOS), or use `\"mknod\"`.\n\
         - `chowning file: operation not permitted`: a hand-set `PUID`/`PGID` other than 0 without `CHOWN`.\n\
         - `listen udp :53: bind: permission denied`: `NET_BIND_SERVICE` was removed from the container.\n\
         - `adding IPv6 rule: file exists` after a restart: stale ip rules in the pod. The Deployments use\n  `strategy: Recreate` and a `postStart` hook deleting table 51820's rules.\n\
         - Probes: gluetun's health server listens on `127.0.0.1:9999`; the probes run\n  `/gluetun-entrypoint healthcheck` inside the container (an `httpGet` could not reach it).\n\
         - `HEALTH_SMALL_CHECK_TYPE=dns` is the default so `NET_RAW` is not needed; `healthCheck = \"icmp\"` adds it."
    );
    let has_sidecars = !ctx.resolved.sidecars.is_empty()
        || ctx
            .resolved
            .clients
            .iter()
            .any(|c| c.client.protocol.value == ClientProtocol::Sidecar);
    if has_sidecars {
        let _ = writeln!(
            w,
            "- In a sidecar pod, gluetun's own DNS server (DNS over TLS through the tunnel) answers for the whole\n  \
             pod: in-cluster names (`*.svc.{}`) do not resolve from the app. `DNS_KEEP_NAMESERVER=on` would\n  \
             bring them back but sends DNS outside the VPN (gluetun-wiki), so it is not set; reach in-cluster\n  \
             services by ClusterIP, or use a shared proxy instead of a sidecar.",
            k.cluster_domain
        );
    }
    s
}

/// How each gluetun gets its TUN device, its capabilities, its keepalive and its
/// key, and why: the choices an operator may have to change for their cluster.
fn runtime(ctx: &Ctx<'_>, w: &mut String) {
    let egress = &ctx.net.egress;
    let _ = writeln!(w, "## How each gluetun runs\n");
    let _ = writeln!(
        w,
        "| gluetun | TUN device | capabilities added | keepalive | credentials (Secret) | control server |\n\
         |---|---|---|---|---|---|"
    );
    let mut specs: Vec<(String, crate::gluetun::Spec<'_>)> = Vec::new();
    for p in &ctx.resolved.proxies {
        specs.push((
            format!(
                "{PROXY_NAMESPACE}/{}",
                avalanche_model::layout::proxy_service(p.name)
            ),
            crate::proxy::spec(ctx, p),
        ));
    }
    for c in &ctx.resolved.clients {
        if c.client.protocol.value == ClientProtocol::Sidecar {
            specs.push((
                format!("{}/{} (sidecar)", c.client.namespace.value, c.name),
                crate::proxy::spec(ctx, &c.proxy),
            ));
        }
    }
    for sc in &ctx.resolved.sidecars {
        specs.push((
            format!("{}/{} (sidecar)", sc.sidecar.namespace.value, sc.name),
            crate::clients::sidecar_spec(ctx, sc),
        ));
    }
    for (name, s) in &specs {
        let keepalive = if s.vpn.provider.vpn_type.value == avalanche_model::VpnType::Wireguard {
            s.keepalive
        } else {
            "n/a (OpenVPN)"
        };
        let _ = writeln!(
            w,
            "| `{name}` | `{}` | {} | `{keepalive}` | `{}` | `{}` |",
            s.tun.as_str(),
            crate::gluetun::capabilities(s).join(", "),
            s.vpn.secret_name,
            s.control_server
        );
    }
    let _ = writeln!(
        w,
        "\n\
         **TUN device** (`egress.tunDevice`, or `tunDevice` per proxy or sidecar). gluetun opens `/dev/net/tun` at start\n\
         and, when it is missing (it always is in a Kubernetes container), creates it with `mknod` — for kernel\n\
         WireGuard too. Without the device or the right to create it, gluetun exits at start with `creating TUN device\n\
         file node: operation not permitted`. Choose one:\n\n\
         - `\"host-device\"` (the default; `egress.tunDevice` is `{default}` here): the node's `/dev/net/tun` is mounted (`hostPath`, `type: CharDevice`).\n  \
         No extra capability. Needs the `tun` module loaded on every node that may run the pod (`lsmod | grep tun`;\n  \
         NixOS: `boot.kernelModules = [ \"tun\" ];`), and a namespace allowed to use `hostPath` volumes.\n\
         - `\"mknod\"`: adds the `MKNOD` capability and gluetun creates the node itself. No host path, but the container may\n  \
         create device nodes (the runtime's device rules still decide which it may open; containerd's and Docker's allow\n  \
         the TUN device).\n\
         - `\"privileged\"`: a privileged container (every capability, the host's devices). Only for runtimes that refuse\n  \
         both of the above.\n\n\
         **Capabilities.** Every capability is dropped, then exactly what gluetun does at start is added back:\n\
         `NET_ADMIN` (routes, ip rules, the nftables firewall, the WireGuard link), `NET_BIND_SERVICE` (its DNS server\n\
         binds port 53, below the unprivileged port range most runtimes keep), `MKNOD` with `tunDevice = \"mknod\"`, and\n\
         `NET_RAW` only with `healthCheck = \"icmp\"`. gluetun chowns the forwarded-port file (and OpenVPN's files) to\n\
         `PUID`/`PGID`, 1000 by default, which needs `CHOWN`: the containers set `PUID=0`/`PGID=0` instead, so the files\n\
         stay root's (the port file is world-readable) and no `CHOWN` or `SETUID` is needed. gluetun needs the\n\
         `privileged` Pod Security level in any case (`NET_ADMIN`): label the namespaces accordingly if you enforce PSA.\n\n\
         **Keepalive** (`egress.keepalive`, or `keepalive` per proxy or sidecar; default `{keepalive}`). gluetun's WireGuard\n\
         sends nothing on an idle tunnel by default, so NAT and conntrack state between the node and the VPN server\n\
         expires and inbound traffic (an IRC server's messages) stops arriving after minutes of silence. The\n\
         containers set `WIREGUARD_PERSISTENT_KEEPALIVE_INTERVAL` (the variable without `_INTERVAL` does not exist\n\
         and is ignored by gluetun). `\"0s\"` turns it off.\n\n\
         **One key per gluetun.** Each running gluetun (each proxy, each replica, each sidecar) needs its own WireGuard\n\
         private key: two tunnels with one key make the server follow whichever spoke last (the connections of the\n\
         other break), and providers may block the key. Create one WireGuard configuration per instance in the\n\
         provider's dashboard (one per device; enable NAT-PMP on the one used with port forwarding), declare\n\
         a secret per instance and name it in `proxies.<name>.credentials` / `sidecars.<name>.credentials`; then\n\
         `avalanche-net secrets seal <secret>`. `avalanche-net check` reports two instances sharing a key\n\
         (`egress-shared-key`), and a proxy with `replicas` above 1 on WireGuard.\n\n\
         **Control server.** gluetun's control server (`HTTP_CONTROL_SERVER_ADDRESS`) lets its default role change the\n\
         VPN status without authentication, and gluetun's firewall accepts input from the pod's subnet: it listens on\n\
         `127.0.0.1:8000` unless `controlServer` says otherwise.\n\n\
         **Probes.** gluetun restarts its own tunnel when its health check fails. The proxies keep a startup probe, a\n\
         readiness probe (out of the Service while the tunnel is down) and a lenient liveness probe (15 minutes);\n\
         sidecars have no liveness probe at all: a restart would not bring the tunnel back sooner.\n\n\
         **Cluster DNS in the proxies.** gluetun forwards cluster-local names to the resolver of the pod's\n\
         `resolv.conf`, the cluster DNS Service `{dns}` (`kubernetes.dnsServiceIP`, by default the tenth address of\n\
         `serviceCIDR`). Its firewall drops that address unless it is in `FIREWALL_OUTBOUND_SUBNETS`: the proxies list\n\
         it alone, as `{dns_subnet}`, so a client going through a proxy reaches no pod and no other Service of the\n\
         cluster (only kube-dns, which it may reach directly anyway). Their pods also set `ndots: \"1\"`, so a name with a\n\
         dot (`ipinfo.io`) is resolved as written first, not after a query under each search domain.\n",
        default = egress.tun_device.as_str(),
        keepalive = egress.keepalive.value,
        dns = ctx.net.kubernetes.dns_service_ip(),
        dns_subnet = crate::proxy::dns_subnet(ctx),
    );
}

/// `items` separated by `sep`, like `join` without the temporary `Vec` and `String`.
fn push_joined<'s>(w: &mut String, items: impl Iterator<Item = &'s str>, sep: &str) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            w.push_str(sep);
        }
        w.push_str(item);
    }
}

fn ensure_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Whether a sidecar's component runs the KSOPS generator; with no sidecar
/// declared, whether one would (`kubernetes.secrets = "ksops"`).
fn sidecars_run_ksops(ctx: &Ctx<'_>) -> bool {
    if ctx.resolved.sidecars.is_empty() {
        return ctx.net.kubernetes.secrets.value == avalanche_model::SecretsBackend::Ksops;
    }
    ctx.resolved
        .sidecars
        .iter()
        .any(|s| ctx.net.sidecar_runs_ksops(s.name))
}

/// How the tree is deployed when no GitOps engine applies it
/// (`kubernetes.gitops = "none"`): the user applies it, each directory with its
/// own command ([`avalanche_model::layout::apply_command`]).
fn applying(ctx: &Ctx<'_>, w: &mut String) {
    use avalanche_model::layout::apply_command;
    let net = ctx.net;
    let _ = writeln!(w, "## Applying\n");
    let _ = writeln!(
        w,
        "No GitOps engine deploys this tree (`kubernetes.gitops = \"none\"`): nothing registers it, and\n\
         you apply it yourself after each `avalanche-net build`:\n\n\
         ```sh\n\
         {}",
        apply_command(&ctx.proxy_dir(), net.proxies_run_ksops())
    );
    // Each app's own kustomization, which lists its `vpn-egress` component.
    let mut apps: Vec<(&str, &str, bool)> = Vec::new();
    for c in &ctx.resolved.clients {
        apps.push((c.name, c.client.namespace.as_str(), false));
    }
    for c in &ctx.resolved.gateway_clients {
        apps.push((c.name, c.client.namespace.as_str(), false));
    }
    for s in &ctx.resolved.sidecars {
        let runs_ksops = net.sidecar_runs_ksops(s.name);
        apps.push((s.name, s.sidecar.namespace.as_str(), runs_ksops));
    }
    apps.sort_unstable();
    // A flat manifest is applied with what lists it (a kustomization `build`
    // wired), which render does not know: said after the commands.
    let flat = avalanche_model::layout::apps_are_flat(&net.kubernetes);
    if !flat {
        for (name, namespace, runs_ksops) in &apps {
            let dir = avalanche_model::layout::app_path(&net.kubernetes, namespace, name);
            let _ = writeln!(w, "{}   # {name}", apply_command(&dir, *runs_ksops));
        }
    }
    let _ = writeln!(w, "```\n");
    if flat && !apps.is_empty() {
        let _ = writeln!(
            w,
            "Each app's manifest is a flat file (`kubernetes.layout.apps = \"{}\"`): apply the kustomization that\n\
             lists it, whose `components:` `build` gave the app's Component (`kubernetes.layout.egress`), the same\n\
             way (with KSOPS when a sidecar's credentials are sealed).",
            net.kubernetes.layout.apps.value
        );
    } else {
        let _ = writeln!(
            w,
            "Each app's own kustomization now lists its `vpn-egress` component."
        );
    }
    let _ = writeln!(
        w,
        "Removing a proxy from the declarations deletes its files, not its objects in the cluster (nothing\n\
         prunes them): `kubectl delete` those yourself.\n"
    );
}

/// The secrets section when the user applies the tree (`kubernetes.gitops =
/// "none"`) and KSOPS decrypts: run locally, at build time.
fn secrets_applied(ctx: &Ctx<'_>, w: &mut String) {
    let _ = writeln!(w, "## Secrets\n");
    let _ = writeln!(
        w,
        "The WireGuard key and addresses and the Shadowsocks password live in a SOPS-encrypted Secret\n\
         (`avalanche-net secrets seal`), decrypted when you build the tree by the KSOPS generator\n\
         `secret-generator.yaml`: with `ksops` on PATH and `SOPS_AGE_KEY_FILE` set,\n\
         `{}`.\n",
        avalanche_model::layout::apply_command(&ctx.proxy_dir(), true)
    );
}

/// The secrets section when nothing generated decrypts a secret: every
/// credential is a Secret the cluster has (`existingSecret`), whatever engine.
fn secrets_existing(w: &mut String) {
    let _ = writeln!(
        w,
        "## Secrets\n\n\
         The credentials are Secrets the cluster already has (`existingSecret`): nothing here decrypts or\n\
         creates them.\n"
    );
}

/// The secrets section when Flux decrypts the SOPS files itself.
fn secrets_flux(ctx: &Ctx<'_>, w: &mut String) {
    let flux = &ctx.net.kubernetes.flux;
    let _ = writeln!(w, "## Secrets and Flux (SOPS decryption)\n");
    let _ = writeln!(
        w,
        "The WireGuard key and addresses and the Shadowsocks password live in a SOPS-encrypted Secret\n\
         (`avalanche-net secrets seal`), listed as a plain resource: Flux's kustomize-controller decrypts it\n\
         (`decryption.provider: sops` in the generated `Kustomization` `{}`). Flux must be set up once:\n\n\
         1. the age private key as the Secret `{}` in `{}` (key `age.agekey`):\n   \
         `kubectl -n {} create secret generic {} --from-file=age.agekey=/path/to/keys.txt`\n\n\
         Locally: `kubectl kustomize --load-restrictor LoadRestrictionsNone {}` (as Flux builds it) shows the\n\
         objects with the Secret still encrypted; `avalanche-net secrets show` decrypts it.\n",
        crate::application_path(ctx.net).unwrap_or_default(),
        flux.decryption_secret,
        flux.namespace,
        flux.namespace,
        flux.decryption_secret,
        ctx.proxy_dir()
    );
}

/// How a sidecar's forwarded port is set up, for its line in the list.
fn port_forwarding_note(sc: &avalanche_model::resolve::ResolvedSidecar<'_>) -> String {
    use avalanche_model::PortTarget;
    if !sc.sidecar.port_forwarding {
        return String::new();
    }
    let only = if avalanche_model::gluetun::has_port_forward_only_servers(
        &sc.vpn.provider.service.value,
    ) {
        ", `PORT_FORWARD_ONLY=on`"
    } else {
        ""
    };
    let to = match sc.sidecar.forwarded_port_to.as_ref().map(|t| &t.value) {
        Some(PortTarget::Qbittorrent { web_ui_port }) => format!(
            ". gluetun gives each new port to qBittorrent (`VPN_PORT_FORWARDING_UP_COMMAND`: its Web API \
             `setPreferences` `listen_port` on `127.0.0.1:{web_ui_port}`): the command returns at once, so \
             gluetun's NAT-PMP keep-alive is not held up, and one loop per gluetun container sets each new \
             port within 5 s once the WebUI answers. The loop lives as long as the container, because gluetun \
             (PID 1) does not reap processes it did not start: a loop that ended would stay a zombie. \
             `VPN_PORT_FORWARDING_DOWN_COMMAND` makes it forget a port that is no longer forwarded. Turn on \
             \"Bypass authentication for clients on localhost\" in qBittorrent's WebUI settings"
        ),
        Some(PortTarget::Command { down, .. }) => format!(
            ". gluetun runs the declared `VPN_PORT_FORWARDING_UP_COMMAND` with each new port{}; it waits for \
             it, and its NAT-PMP keep-alive starts only after: the command must return within seconds, and \
             a process it leaves running after returning stays a zombie when it ends (gluetun, PID 1, does \
             not reap it)",
            if down.is_some() {
                ", and `VPN_PORT_FORWARDING_DOWN_COMMAND` when forwarding stops"
            } else {
                ""
            }
        ),
        None => ". Nothing tells the app the port: declare `forwardedPortTo`".to_owned(),
    };
    format!(
        ". Port forwarding is on (`VPN_PORT_FORWARDING=on`{only}){to}. The provider must allow it: ProtonVPN needs a \
         WireGuard configuration made with NAT-PMP (port forwarding) on, and changes the port on every connection."
    )
}

/// The egress gateways and how a client uses one (nothing when none is declared).
fn gateways(ctx: &Ctx<'_>, w: &mut String) {
    let gateways = &ctx.net.egress.gateways;
    if gateways.is_empty() {
        return;
    }
    let _ = writeln!(
        w,
        "### Egress gateways (`egress.gateways`, `protocol = \"socks5\"` or `\"http\"`)\n\n\
         A gateway is a NixOS host of the flake (`nixosModules.egressGateway`): its proxy runs as a dedicated user\n\
         whose packets leave only through the host's WireGuard tunnel (a down tunnel refuses, never leaks). A client\n\
         names it like a proxy (`proxy = \"<gateway>\";`); `enforce` allows only the gateway's address on its port.\n"
    );
    for (name, g) in gateways {
        let host = match g.listen.value {
            std::net::IpAddr::V4(a) => a.to_string(),
            std::net::IpAddr::V6(a) => format!("[{a}]"),
        };
        let _ = write!(
            w,
            "- `{name}` on `{}`: SOCKS5 `{host}:{}`",
            g.host.value, g.socks_port
        );
        if let Some(http) = &g.http_port {
            let _ = write!(w, ", HTTP CONNECT `{host}:{}`", http.value);
        }
        let _ = writeln!(w, ", exit via `{}`", g.tunnel.endpoint.value);
    }
    let _ = writeln!(
        w,
        "\n`protocol = \"socks5\"` sets `ALL_PROXY=socks5h://<address>:<port>` (and `all_proxy`): the `h` has the\n\
         gateway resolve names, so DNS goes through the tunnel too. An app that reads no proxy variable dials\n\
         through it itself, e.g. in Go with `golang.org/x/net/proxy`:\n\n\
         ```go\n\
         dialer, err := proxy.SOCKS5(\"tcp\", os.Getenv(\"ALL_PROXY\")[len(\"socks5h://\"):], nil, proxy.Direct)\n\
         conn, err := dialer.Dial(\"tcp\", \"irc.libera.chat:6697\")\n\
         ```\n"
    );
}

/// The monitored gateways' scrape targets, probes and alerts, and what to do when
/// each alert fires (nothing when no gateway has `monitoring`).
fn gateway_monitoring(ctx: &Ctx<'_>, w: &mut String) {
    use crate::monitoring::{exporter_target, handshake_bound, monitored_gateways, proxy_targets};
    use avalanche_model::layout::{gateway_job, gateway_monitoring_file, gateway_probe_job};
    let gateways = monitored_gateways(ctx);
    if gateways.is_empty() {
        return;
    }
    let m = &ctx.net.kubernetes.monitoring;
    let _ = writeln!(
        w,
        "### Egress gateways\n\n\
         Each gateway with `monitoring = true` runs the Prometheus WireGuard exporter on its host, on its listen\n\
         address and port {port} (admitted, like the proxy, only from its `allowedClients`). Here, per gateway:\n\
         a `ScrapeConfig` (`monitoring.coreos.com/v1alpha1`: the exporter is a static target outside the cluster),\n\
         a `Probe` of its proxy ports through the blackbox exporter\n\
         `{prober}` (module `{module}`), a `PrometheusRule` and a dashboard ConfigMap.\n\n\
         | gateway | scrape target (job) | probed (job) | files |\n\
         |---|---|---|---|",
        port = avalanche_model::defaults::GATEWAY_EXPORTER_PORT,
        prober = m.prober,
        module = m.prober_module,
    );
    for (name, gw) in &gateways {
        let files: Vec<String> = ["scrapeconfig", "probe", "prometheusrule", "dashboard"]
            .iter()
            .map(|what| format!("`{}`", gateway_monitoring_file(name, what)))
            .collect();
        let probed: Vec<String> = proxy_targets(gw).iter().map(|t| format!("`{t}`")).collect();
        let _ = writeln!(
            w,
            "| `{name}` on `{}` | `{}` (`{}`) | {} (`{}`) | {} |",
            gw.host.value.as_str(),
            exporter_target(gw),
            gateway_job(name),
            probed.join(", "),
            gateway_probe_job(name),
            files.join(", ")
        );
    }
    let bounds: Vec<String> = gateways
        .iter()
        .map(
            |(name, gw)| match handshake_bound(gw.tunnel.persistent_keepalive) {
                Some(b) => format!("`{name}` {b} s"),
                None => format!("`{name}` none (no keepalive: an idle tunnel does not handshake)"),
            },
        )
        .collect();
    let _ = writeln!(
        w,
        "\nThe Prometheus must select `ScrapeConfig`, `Probe` and `PrometheusRule` objects in `{PROXY_NAMESPACE}`\n\
         (kube-prometheus-stack: set `scrapeConfigSelectorNilUsesHelmValues`, `probeSelectorNilUsesHelmValues`\n\
         and `ruleSelectorNilUsesHelmValues` to `false`), and the blackbox exporter needs a `tcp` module named\n\
         `{module}` (the prometheus-community chart's default configuration has only `http_2xx`):\n\n\
         ```yaml\n\
         config:\n  modules:\n    {module}:\n      prober: tcp\n      timeout: 5s\n\
         ```\n\n\
         Alerts, and what to do:\n\n\
         - `VpnGatewayHandshakeStale` (critical): the tunnel's last handshake is older than WireGuard's key\n  \
         lifetime (180 s) plus one keepalive ({bounds}), for 2 minutes: the keys have\n  \
         expired, the proxy's connections go nowhere (the kill switch keeps them off the WAN). On the host:\n  \
         `wg show <interface>`; check the peer is up, its public key, and that the endpoint is reachable.\n\
         - `VpnGatewayTunnelMissing` (critical): the exporter answers but reports no peer with the declared key\n  \
         on the gateway's interface: the tunnel unit is down. `systemctl status avalanche-gateway-<name>`.\n\
         - `VpnGatewayExporterDown` (warning): the exporter is not scraped (down, refused, or no target at all):\n  \
         the tunnel is unwatched. On the host `systemctl status prometheus-wireguard-exporter`; from a pod\n  \
         `curl http://<target>/metrics`; check the Prometheus selects the `ScrapeConfig`.\n\
         - `VpnGatewayProxyUnreachable` (critical): a TCP connection from the cluster to a proxy port fails for\n  \
         5 minutes: the proxy is down (`systemctl status avalanche-gateway-<name>-socks` or `-http`), the\n  \
         prober's address is not in `allowedClients` (the gateway resets others), or the host is unreachable.\n\
         - `VpnGatewayProbeMissing` (warning): no probe result for 15 minutes: the blackbox exporter is missing\n  \
         or lacks the module above, or the Prometheus does not select the `Probe`.\n",
        module = m.prober_module,
        bounds = bounds.join(", "),
    );
}
