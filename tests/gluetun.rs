//! gluetun's start, against real kernels: for every generated gluetun container,
//! the operations gluetun makes at start are run as uid 0 with exactly the
//! capabilities the manifest grants (`setpriv`, the container's bounding set), in a
//! fresh network namespace where ports below 1024 are privileged. They must all
//! succeed with the generated grant, and some must fail with any one capability
//! fewer — so the grant is enough, and nothing in it is spare.
//!
//! What gluetun does at start (qdm12/gluetun `cmd/gluetun/main.go`, `internal/tun`,
//! `internal/portforward/service/fs.go`, `internal/firewall`): open `/dev/net/tun`
//! or create it with `mknod c 10 200`; iptables (nft) and ip rules; bind its DNS
//! server on :53; with port forwarding, write the port file and chown it to
//! `PUID`/`PGID`; a TUN interface for userspace WireGuard; a raw ICMP socket for the
//! ICMP health check.
use crate::support::{self, TempRepo};
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The operations, as a script: `ok <op>` or `FAIL <op>` per line, exit 1 on any failure.
const OPS: &str = r#"set -u
w=$1
fail=0
op() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "ok $name"; else echo "FAIL $name"; fail=1; fi; }
if [ "$TUN_MOUNTED" = 1 ]; then
  op tun-open sh -c 'exec 3<>/dev/net/tun'
else
  op tun-mknod mknod "$w/tun" c 10 200
  op tun-open sh -c "exec 3<>'$w/tun'"
fi
op tun-interface ip tuntap add dev avtun0 mode tun
op firewall sh -c 'iptables-nft -w 5 -A OUTPUT -o lo -j ACCEPT && iptables-nft -w 5 -D OUTPUT -o lo -j ACCEPT'
op ip-rule ip rule add table 51820 pref 101
op dns-bind python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 53))'
if [ "$PORT_FORWARDING" = 1 ]; then
  op port-file sh -c "mkdir -p '$w/pf' && printf 51413 > '$w/pf/forwarded_port' && chmod 644 '$w/pf/forwarded_port' && chown '$PUID:$PGID' '$w/pf/forwarded_port'"
fi
if [ "$ICMP" = 1 ]; then
  op icmp-socket python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)'
fi
exit $fail
"#;

/// One gluetun container as the oracle needs it.
#[derive(Debug)]
struct Gluetun {
    file: String,
    caps: BTreeSet<String>,
    privileged: bool,
    tun_mounted: bool,
    port_forwarding: bool,
    puid: String,
    pgid: String,
    icmp: bool,
}

fn env_value(c: &Json, name: &str) -> Option<String> {
    c["env"].as_array()?.iter().find(|e| e["name"] == name)?["value"]
        .as_str()
        .map(str::to_owned)
}

/// Every gluetun container under `dir` (containers and init containers).
fn gluetuns(root: &Path) -> Vec<Gluetun> {
    let mut out = Vec::new();
    for (path, bytes) in support::tree(&root.join("kubernetes")) {
        if !path.ends_with(".yaml") || path.ends_with(".sops.yaml") {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        let Ok(doc) = serde_norway::from_str::<Json>(&text) else {
            continue;
        };
        let pod = &doc["spec"]["template"]["spec"];
        for list in ["containers", "initContainers"] {
            for c in pod[list].as_array().into_iter().flatten() {
                let image = c["image"].as_str().unwrap_or_default();
                // The sidecar component's first patch deletes a hand-written gluetun.
                let deletion = c["$patch"] == "delete";
                if deletion || (c["name"] != "gluetun" && !image.contains("gluetun")) {
                    continue;
                }
                let caps = c["securityContext"]["capabilities"]["add"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect();
                let mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
                let tun_mounted = mounts.iter().any(|m| {
                    m["mountPath"] == "/dev/net/tun"
                        && pod["volumes"].as_array().into_iter().flatten().any(|v| {
                            v["name"] == m["name"]
                                && v["hostPath"]["path"] == "/dev/net/tun"
                                && v["hostPath"]["type"] == "CharDevice"
                        })
                });
                out.push(Gluetun {
                    file: path.clone(),
                    caps,
                    privileged: c["securityContext"]["privileged"] == true,
                    tun_mounted,
                    port_forwarding: env_value(c, "VPN_PORT_FORWARDING").as_deref() == Some("on"),
                    // The image's defaults when the manifest says nothing (Dockerfile ENV).
                    puid: env_value(c, "PUID").unwrap_or_else(|| "1000".into()),
                    pgid: env_value(c, "PGID").unwrap_or_else(|| "1000".into()),
                    icmp: env_value(c, "HEALTH_SMALL_CHECK_TYPE").as_deref() == Some("icmp"),
                });
            }
        }
    }
    out
}

/// Runs the operations of `g` with exactly `caps`; `(success, output)`.
fn run_ops(g: &Gluetun, caps: &BTreeSet<String>, work: &Path) -> (bool, String) {
    let script = work.join("ops.sh");
    std::fs::write(&script, OPS).expect("writing the script");
    let bounding: String = std::iter::once("-all".to_owned())
        .chain(caps.iter().map(|c| format!("+{}", c.to_ascii_lowercase())))
        .collect::<Vec<_>>()
        .join(",");
    // A fresh network namespace: the firewall, rules and interfaces die with it, and
    // ports below 1024 need NET_BIND_SERVICE whatever the host has lowered.
    let inner = format!(
        "sysctl -qw net.ipv4.ip_unprivileged_port_start=1024 && ip link set lo up && \
         exec setpriv --inh-caps=-all --ambient-caps=-all --bounding-set={bounding} -- sh '{}' '{}'",
        script.display(),
        work.display()
    );
    let flag = |b: bool| if b { "1" } else { "0" };
    let out = Command::new("timeout")
        .args(["60", "unshare", "-n", "--", "sh", "-c", &inner])
        .env("TUN_MOUNTED", flag(g.tun_mounted))
        .env("PORT_FORWARDING", flag(g.port_forwarding))
        .env("PUID", &g.puid)
        .env("PGID", &g.pgid)
        .env("ICMP", flag(g.icmp))
        .output()
        .expect("running unshare");
    // Whatever the script left (a device node, the port file) goes with the next run.
    for leftover in ["tun", "pf"] {
        let p = work.join(leftover);
        let _ = std::fs::remove_file(&p);
        let _ = std::fs::remove_dir_all(&p);
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The oracle over every gluetun of `repo`'s generated tree.
fn capability_oracle(repo: &TempRepo, what: &str) -> usize {
    let found = gluetuns(repo.path());
    assert!(!found.is_empty(), "{what}: no gluetun container generated");
    let work = tempfile::Builder::new()
        .prefix(&format!("avalanche-caps-{}-", std::process::id()))
        .tempdir()
        .expect("a temp dir");
    for g in &found {
        let (ok, out) = run_ops(g, &g.caps, work.path());
        assert!(
            ok,
            "{what}: {}: gluetun's start fails with the generated capabilities {:?}:\n{out}",
            g.file, g.caps
        );
        if g.privileged {
            continue; // every capability: nothing to take away
        }
        for cap in &g.caps {
            let mut fewer = g.caps.clone();
            fewer.remove(cap);
            let (ok, out) = run_ops(g, &fewer, work.path());
            assert!(
                !ok,
                "{what}: {}: {cap} is granted but nothing gluetun does at start needs it:\n{out}",
                g.file
            );
        }
    }
    found.len()
}

fn build(repo: &TempRepo) {
    repo.run(&["build"]).expect_code(0);
}

#[test]
fn generated_gluetuns_start_with_exactly_their_capabilities() {
    if support::root_oracle(&[
        "setpriv",
        "unshare",
        "iptables-nft",
        "ip",
        "python3",
        "timeout",
    ])
    .is_none()
    {
        return;
    }
    let repo = TempRepo::bundled();
    build(&repo);
    assert_eq!(capability_oracle(&repo, "bundled"), 3);

    // mknod instead of the host's device, ICMP health checks, no port forwarding.
    let network = repo
        .read("nix/network.nix")
        .replacen("tunDevice = \"host-device\";", "tunDevice = \"mknod\";", 1)
        .replacen(
            "countries = [ \"Iceland\" ];\n        };",
            "countries = [ \"Iceland\" ];\n          healthCheck = \"icmp\";\n        };",
            1,
        )
        .replacen("portForwarding = true;", "portForwarding = false;", 1)
        .replacen("forwardedPortTo = { app = \"qbittorrent\"; };", "", 1);
    repo.write("nix/network.nix", &network);
    build(&repo);
    let found = gluetuns(repo.path());
    assert!(
        found
            .iter()
            .all(|g| g.caps.contains("MKNOD") && !g.tun_mounted)
    );
    assert!(found.iter().any(|g| g.icmp));
    capability_oracle(&repo, "mknod + icmp");
}

/// The oracle catches a gluetun that cannot start: today's manifests before the fix
/// (`NET_ADMIN` alone, no TUN device, the image's `PUID=1000` with port forwarding).
#[test]
fn the_capability_oracle_fails_on_a_gluetun_that_cannot_start() {
    if support::root_oracle(&[
        "setpriv",
        "unshare",
        "iptables-nft",
        "ip",
        "python3",
        "timeout",
    ])
    .is_none()
    {
        return;
    }
    let work = tempfile::Builder::new()
        .prefix(&format!("avalanche-caps-{}-", std::process::id()))
        .tempdir()
        .expect("a temp dir");
    let before = Gluetun {
        file: "before".into(),
        caps: BTreeSet::from(["NET_ADMIN".to_owned()]),
        privileged: false,
        tun_mounted: false,
        port_forwarding: true,
        puid: "1000".into(),
        pgid: "1000".into(),
        icmp: false,
    };
    let (ok, out) = run_ops(&before, &before.caps, work.path());
    assert!(!ok, "{out}");
    for failed in ["FAIL tun-mknod", "FAIL dns-bind", "FAIL port-file"] {
        assert!(out.contains(failed), "{failed}:\n{out}");
    }
    assert!(out.contains("ok firewall"), "{out}");
}

/// The names of every pod's containers in a `kubectl kustomize` output, per
/// workload: `(kind/name, init container names, container names)`.
fn pod_containers(built: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    for doc in built.split("\n---\n") {
        let Ok(doc) = serde_norway::from_str::<Json>(doc) else {
            continue;
        };
        let pod = &doc["spec"]["template"]["spec"];
        if !pod.is_object() {
            continue;
        }
        let names = |list: &str| -> Vec<String> {
            pod[list]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        };
        let what = format!(
            "{}/{}",
            doc["kind"].as_str().unwrap_or_default(),
            doc["metadata"]["name"].as_str().unwrap_or_default()
        );
        out.push((what, names("initContainers"), names("containers")));
    }
    out
}

/// The API server refuses a pod whose containers and init containers share a name.
#[track_caller]
fn assert_no_duplicate_containers(dir: &str, built: &str) {
    for (what, init, regular) in pod_containers(built) {
        let mut all: Vec<&String> = init.iter().chain(&regular).collect();
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(
            all.len(),
            count,
            "{dir}: {what} has duplicate container names: {init:?} {regular:?}"
        );
    }
}

/// Issue 14 items 13 and 11, on a repository shaped like a real one
/// (`fixtures/repos/media-gluetun`): qBittorrent already runs a hand-written
/// gluetun container. `check` warns at it, `build` replaces it, and the built pod
/// has exactly one gluetun, first among the init containers (before the app's own
/// `fix-permissions`, so nothing runs before the tunnel and its kill switch).
#[test]
fn an_app_with_its_own_gluetun_gets_exactly_one_first_among_init_containers() {
    let repo = TempRepo::from_fixture("fixtures/repos/media-gluetun");
    let deployment = "kubernetes/base/apps/media/qbittorrent/deployment.yaml";
    let check = repo.run(&["check", "--format", "json"]);
    check.expect_code(0);
    let findings: Json = serde_json::from_str(&check.stdout()).expect("JSON");
    let hit = findings
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["rule"] == "egress-existing-gluetun")
        .unwrap_or_else(|| panic!("no egress-existing-gluetun: {findings}"));
    assert_eq!(
        (
            hit["file"].as_str(),
            hit["line"].as_u64(),
            hit["severity"].as_str()
        ),
        (Some(deployment), Some(27), Some("warning")),
        "{hit}"
    );
    // Item 12: the indexer's hand-written NO_PROXY (written before the fence) sends
    // every Service and the service network direct; its fence drops them.
    let hit = findings
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["rule"] == "egress-no-proxy-fence")
        .unwrap_or_else(|| panic!("no egress-no-proxy-fence: {findings}"));
    assert_eq!(
        (
            hit["file"].as_str(),
            hit["line"].as_u64(),
            hit["severity"].as_str()
        ),
        (
            Some("kubernetes/base/apps/media/prowlarr/deployment.yaml"),
            Some(25),
            Some("warning")
        ),
        "{hit}"
    );
    let message = hit["message"].as_str().unwrap_or_default();
    for entry in ["`.svc`", "`.cluster.local`", "`10.96.0.0/12`"] {
        assert!(message.contains(entry), "{entry}: {message}");
    }
    assert!(!message.contains("`localhost`"), "{message}");
    build(&repo);
    let Some(kubectl) = support::oracle("kubectl") else {
        return;
    };
    let scratch = tempfile::tempdir().expect("a temp dir");
    let dir = "kubernetes/base/apps/media/qbittorrent".to_owned();
    let built = crate::build::kustomize(
        repo.path(),
        &kubectl,
        scratch.path(),
        std::slice::from_ref(&dir),
    );
    let (_, text) = &built[0];
    assert_no_duplicate_containers(&dir, text);
    let pods = pod_containers(text);
    let (_, init, regular) = pods
        .iter()
        .find(|(what, _, _)| what == "Deployment/qbittorrent")
        .unwrap_or_else(|| panic!("no qbittorrent Deployment:\n{text}"));
    let gluetuns = init
        .iter()
        .chain(regular)
        .filter(|n| *n == "gluetun")
        .count();
    assert_eq!(gluetuns, 1, "{init:?} {regular:?}\n{text}");
    assert_eq!(
        init.first().map(String::as_str),
        Some("gluetun"),
        "{init:?}"
    );
    assert!(init.contains(&"fix-permissions".to_owned()), "{init:?}");
    assert_eq!(regular, &["qbittorrent".to_owned()]);
    // The generated one, not a merge with the old: its image and restart policy.
    assert!(
        !text.contains("v3.39.1"),
        "the hand-written gluetun survived:\n{text}"
    );
    // It tells qBittorrent each forwarded port (item 3), on the operator's own app.
    assert!(
        text.contains("VPN_PORT_FORWARDING_UP_COMMAND")
            && text.contains("127.0.0.1:8080/api/v2/app/setPreferences"),
        "{text}"
    );

    // Item 8 on kubeadm's service network: the proxy reaches its DNS address only.
    let proxy = repo.read("kubernetes/base/infra/network/vpn-proxy/deployment-switzerland.yaml");
    assert!(
        proxy.contains("- name: FIREWALL_OUTBOUND_SUBNETS\n          value: 10.96.0.10/32\n"),
        "{proxy}"
    );
    // Item 12: the indexer's fence lets it call qBittorrent's WebUI, nothing else of the cluster.
    let dir = "kubernetes/base/apps/media/prowlarr".to_owned();
    let built = crate::build::kustomize(
        repo.path(),
        &kubectl,
        scratch.path(),
        std::slice::from_ref(&dir),
    );
    let policy = built[0]
        .1
        .split("\n---\n")
        .filter_map(|d| serde_norway::from_str::<Json>(d).ok())
        .find(|d| d["kind"] == "NetworkPolicy")
        .unwrap_or_else(|| panic!("no NetworkPolicy:\n{}", built[0].1));
    let egress = policy["spec"]["egress"].as_array().expect("egress rules");
    assert_eq!(
        egress.len(),
        4,
        "proxy, DNS, qBittorrent, FlareSolverr: {policy}"
    );
    assert_eq!(
        egress[2],
        serde_json::json!({
            "to": [{
                "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "media" } },
                "podSelector": { "matchLabels": { "app": "qbittorrent" } },
            }],
            "ports": [{ "port": 8080, "protocol": "TCP" }],
        })
    );

    // The bundled network too: no pod anywhere has duplicate container names.
    let bundled = TempRepo::bundled();
    build(&bundled);
    for (dir, text) in crate::build::kustomize_all(bundled.path(), &kubectl, scratch.path()) {
        assert_no_duplicate_containers(&dir, &text);
    }
}

/// A fake qBittorrent WebUI: answers every request with `Ok.` and prints each as
/// JSON (method, path, content type, body) on stdout. Its port is the first line.
const FAKE_QBITTORRENT: &str = r#"
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        self.send_response(200); self.end_headers(); self.wfile.write(b"Ok.")
        print(json.dumps({"method": "POST", "path": self.path, "type": self.headers.get("Content-Type"),
                          "host": self.headers.get("Host"), "body": body}), flush=True)
    def do_GET(self):
        self.send_response(405); self.end_headers()
        print(json.dumps({"method": "GET", "path": self.path}), flush=True)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

/// gluetun's place, as far as its children can tell: PID 1 of a fresh PID
/// namespace that waits only for the commands it starts (Go's `cmd.Wait`) and never
/// reaps an orphan, with its own `/tmp`. It runs each command of `argv[1]` (JSON), prints
/// `[exit code, seconds]` after each and waits for a line on stdin before the next
/// (EOF: it stops at once, and the namespace dies with it); then it reports the
/// processes left: zombies, and the live ones it inherited (parent PID 1).
const GLUETUN_AS_PID1: &str = r#"
import json, os, subprocess, sys, time
# The container's own /tmp (the commands keep their state there), in this mount namespace only.
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "avalanche-test", "/tmp"], check=True)
for argv in json.loads(sys.argv[1]):
    t = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.wait(timeout=30)
    print(json.dumps([p.returncode, time.monotonic() - t]), flush=True)
    if not sys.stdin.readline():
        sys.exit(1)
zombies, inherited = [], []
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) == os.getpid():
        continue
    try:
        stat = open(f"/proc/{pid}/stat").read()
        cmdline = open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
    except OSError:
        continue
    state, ppid = stat.rsplit(")", 1)[1].split()[:2]
    if state == "Z":
        zombies.append(pid)
    elif int(ppid) == os.getpid():
        inherited.append(cmdline)
print(json.dumps({"zombies": zombies, "inherited": inherited}), flush=True)
"#;

/// gluetun's `command.Split` (quotes and backslashes, no expansion), done by
/// Python's POSIX `shlex`, after its `{{PORT}}`/`{{PORTS}}` substitution.
fn gluetun_argv(command: &str, port: u16) -> Vec<String> {
    let command = command
        .replace("{{PORTS}}", &port.to_string())
        .replace("{{PORT}}", &port.to_string());
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, shlex, sys; print(json.dumps(shlex.split(sys.argv[1])))",
            &command,
        ])
        .output()
        .expect("python3");
    serde_json::from_slice(&out.stdout).expect("shlex output")
}

/// What a port-forwarding run shows: the requests the fake WebUI got, the up and
/// down commands, each command's `[exit code, seconds]`, and what was left in the
/// PID namespace.
struct PortSync {
    requests: Vec<Json>,
    up: String,
    down: String,
    runs: Vec<Json>,
    left: Json,
}

/// The generated up command with ports 51413 then 51414, then the down command,
/// run as gluetun runs them (split, no shell, waited for) by [`GLUETUN_AS_PID1`]
/// in a fresh PID namespace (`unshare`), with `/bin/sh` replaced by each variant's
/// shell and `wget` first in PATH from its directory when given, against a fake qBittorrent.
/// After each up command it waits (at most 10 s) for the request with its port.
fn forwarded_port_sync(unshare: &Path, variants: &[(&[&str], Option<&Path>)]) -> Vec<PortSync> {
    use std::io::BufRead;
    use std::sync::mpsc;
    let mut server = Command::new("python3")
        .args(["-c", FAKE_QBITTORRENT])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut lines = std::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let web_ui: u16 = lines
        .next()
        .and_then(Result::ok)
        .and_then(|l| l.trim().parse().ok())
        .expect("the fake server's port");
    let (tx, requests_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let repo = TempRepo::bundled();
    let text = repo.read("nix/network.nix").replacen(
        "forwardedPortTo = { app = \"qbittorrent\"; };",
        &format!("forwardedPortTo = {{ app = \"qbittorrent\"; webUIPort = {web_ui}; }};"),
        1,
    );
    assert!(text.contains(&format!("webUIPort = {web_ui}")));
    repo.write("nix/network.nix", &text);
    build(&repo);
    let patch =
        repo.read("kubernetes/base/apps/media/qbittorrent/vpn-egress/deployment-patch.yaml");
    let doc: Json = serde_norway::from_str(&patch).expect("YAML");
    let gluetun = &doc["spec"]["template"]["spec"]["initContainers"][0];
    let up = env_value(gluetun, "VPN_PORT_FORWARDING_UP_COMMAND")
        .unwrap_or_else(|| panic!("no up command:\n{patch}"));
    let down = env_value(gluetun, "VPN_PORT_FORWARDING_DOWN_COMMAND")
        .unwrap_or_else(|| panic!("no down command:\n{patch}"));
    let mut out = Vec::new();
    for (shell, wget_dir) in variants {
        out.push(sync_once(
            unshare,
            shell,
            *wget_dir,
            &up,
            &down,
            &requests_rx,
        ));
    }
    let _ = server.kill();
    let _ = server.wait();
    out
}

/// One run of [`forwarded_port_sync`].
fn sync_once(
    unshare: &Path,
    shell: &[&str],
    wget_dir: Option<&Path>,
    up: &str,
    down: &str,
    requests_rx: &std::sync::mpsc::Receiver<String>,
) -> PortSync {
    use std::io::{BufRead, Write};
    let ports = [51413, 51414];
    let steps: Vec<Vec<String>> = ports
        .iter()
        .map(|p| gluetun_argv(up, *p))
        .chain([gluetun_argv(down, ports[1])])
        .map(|argv| {
            assert_eq!(argv[..2], ["/bin/sh", "-c"], "{argv:?}");
            shell
                .iter()
                .map(|s| (*s).to_owned())
                .chain(argv[1..].iter().cloned())
                .collect()
        })
        .collect();
    let mut cmd = Command::new(unshare);
    cmd.args([
        "--pid",
        "--fork",
        "--mount-proc",
        "--kill-child",
        "python3",
        "-c",
    ])
    .arg(GLUETUN_AS_PID1)
    .arg(serde_json::to_string(&steps).expect("JSON"))
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped());
    if let Some(dir) = wget_dir {
        let path = format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PATH", path);
    }
    let mut pid1 = cmd.spawn().expect("unshare");
    let mut stdin = pid1.stdin.take().expect("stdin");
    let mut out = std::io::BufReader::new(pid1.stdout.take().expect("stdout")).lines();
    let mut runs = Vec::new();
    let mut requests = Vec::new();
    for step in 0..steps.len() {
        let line = out.next().and_then(Result::ok).unwrap_or_default();
        runs.push(serde_json::from_str::<Json>(&line).unwrap_or(Json::Null));
        if let Some(port) = ports.get(step) {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
                let Ok(got) = requests_rx.recv_timeout(left) else {
                    break;
                };
                let got: Json = serde_json::from_str(&got).unwrap_or(Json::Null);
                let done = got["body"]
                    .as_str()
                    .is_some_and(|b| b.contains(&format!(":{port}}}")));
                requests.push(got);
                if done {
                    break;
                }
            }
        }
        let _ = writeln!(stdin, "go");
    }
    let left = out
        .next()
        .and_then(Result::ok)
        .and_then(|l| serde_json::from_str(&l).ok())
        .unwrap_or(Json::Null);
    drop(stdin);
    let _ = pid1.kill();
    let _ = pid1.wait();
    // A late request (none is expected after the down command).
    requests.extend(
        requests_rx
            .try_iter()
            .map(|l| serde_json::from_str(&l).unwrap_or(Json::Null)),
    );
    PortSync {
        requests,
        up: up.to_owned(),
        down: down.to_owned(),
        runs,
        left,
    }
}

/// Issue 14 item 3: the forwarded port reaches qBittorrent, every time it
/// changes, and nothing is left behind. The generated up and down commands, split
/// and substituted as gluetun does, run as gluetun runs them (PID 1 of a PID
/// namespace that never reaps orphans) with both wgets (GNU, as in gluetun's image,
/// and BusyBox) and both shells: each command returns at once (gluetun's NAT-PMP
/// keep-alive waits for it); each port reaches qBittorrent's `setPreferences` as
/// `listen_port`; no zombie is left, and one sync loop at most, however many
/// ports came.
#[test]
fn the_forwarded_port_reaches_qbittorrent_through_its_web_api() {
    let (Some(_), Some(_)) = (support::oracle("python3"), support::oracle("wget")) else {
        return;
    };
    let Some(busybox) = support::oracle("busybox") else {
        return;
    };
    let Some(found) = support::root_oracle(&["unshare"]) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("a temp dir");
    std::os::unix::fs::symlink(&busybox, scratch.path().join("wget")).expect("a wget link");
    let variants: [(&[&str], Option<&Path>); 2] = [
        (&["/bin/sh"], None),
        (
            &[busybox.to_str().expect("UTF-8"), "sh"],
            Some(scratch.path()),
        ),
    ];
    let syncs = forwarded_port_sync(&found[0], &variants);
    for ((shell, _), sync) in variants.iter().zip(&syncs) {
        let at = format!(
            "{shell:?}, {} / {}: runs {:?}, requests {:?}, left {}",
            sync.up, sync.down, sync.runs, sync.requests, sync.left
        );
        assert_eq!(sync.runs.len(), 3, "{at}");
        for run in &sync.runs {
            assert_eq!(run[0], 0, "{at}");
            assert!(
                run[1].as_f64().is_some_and(|s| s < 3.0),
                "a command blocked gluetun: {at}"
            );
        }
        let mut ports = Vec::new();
        for got in &sync.requests {
            assert_eq!(got["method"], "POST", "{at}");
            assert_eq!(got["path"], "/api/v2/app/setPreferences", "{at}");
            assert_eq!(got["type"], "application/x-www-form-urlencoded", "{at}");
            assert!(
                got["host"]
                    .as_str()
                    .is_some_and(|h| h.starts_with("127.0.0.1:")),
                "{at}"
            );
            // The form field `json`, as qBittorrent's WebUI parses it.
            let body = got["body"].as_str().unwrap_or_default();
            let out = Command::new("python3")
                .args([
                    "-c",
                    "import json, sys, urllib.parse; print(json.dumps(json.loads(urllib.parse.parse_qs(sys.argv[1], strict_parsing=True)['json'][0])))",
                    body,
                ])
                .output()
                .expect("python3");
            let prefs: Json = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{at}: the body is not json=<JSON> ({e})"));
            ports.push(prefs["listen_port"].clone());
            assert_eq!(prefs.as_object().map(|o| o.len()), Some(1), "{at}");
        }
        assert_eq!(ports, [51413, 51414], "{at}");
        assert_eq!(sync.left["zombies"], serde_json::json!([]), "{at}");
        let inherited = sync.left["inherited"]
            .as_array()
            .map_or(usize::MAX, Vec::len);
        assert!(inherited <= 1, "more than one sync loop: {at}");
    }
}

/// Issue 14 item 12, as behaviour: for each enforced client in the built trees, every
/// host its generated `NO_PROXY` sends direct must be one its generated NetworkPolicy
/// lets it reach. Hosts tried: every name of every Service in the built output (bare
/// from the client's namespace, `<svc>.<ns>`, `.svc`, `.svc.cluster.local`), an
/// in-cluster name that is no Service there, a pod and a Service address, a LAN host
/// and an internet name. `NO_PROXY` entries match as curl and Go match them (a suffix
/// at a dot, `.x` also `x`, CIDRs, `*`); a Service is allowed when a rule selects its
/// backing pods (namespace and labels) on its target port.
#[test]
fn an_enforced_client_s_no_proxy_sends_direct_only_what_its_fence_allows() {
    let Some(kubectl) = support::oracle("kubectl") else {
        return;
    };
    let fixture = TempRepo::from_fixture("fixtures/repos/media-gluetun");
    let bundled = TempRepo::bundled();
    let mut clients = 0;
    for repo in [&fixture, &bundled] {
        build(repo);
        let scratch = tempfile::tempdir().expect("a temp dir");
        let docs: Vec<Json> = crate::build::kustomize_all(repo.path(), &kubectl, scratch.path())
            .iter()
            .flat_map(|(_, text)| text.split("\n---\n").map(str::to_owned).collect::<Vec<_>>())
            .filter_map(|d| serde_norway::from_str::<Json>(&d).ok())
            .collect();
        for (client, no_proxy, direct) in fence::evaluate(&docs) {
            clients += 1;
            assert!(
                direct.is_empty(),
                "{}: `{client}`'s NO_PROXY={no_proxy} sends direct what its fence drops: {direct:#?}",
                repo.path().display()
            );
            if client == "media/prowlarr" {
                // Not vacuous: the two declared services do go direct, the third does not.
                for host in [
                    "qbittorrent",
                    "qbittorrent.media.svc.cluster.local",
                    "flaresolverr.media",
                ] {
                    assert!(fence::direct(&no_proxy, host), "{host}: {no_proxy}");
                }
                assert!(!fence::direct(&no_proxy, "sonarr.media.svc"), "{no_proxy}");
            }
        }
    }
    assert_eq!(clients, 2, "prowlarr (fixture) and marmithon (bundled)");
}

/// A small evaluator of `NO_PROXY` against NetworkPolicy egress rules (see
/// [`an_enforced_client_s_no_proxy_sends_direct_only_what_its_fence_allows`]).
mod fence {
    use serde_json::Value as Json;
    use std::net::Ipv4Addr;

    /// Whether `NO_PROXY` sends `host` direct, as curl and Go read it.
    pub fn direct(no_proxy: &str, host: &str) -> bool {
        no_proxy.split(',').map(str::trim).any(|entry| {
            let entry = entry.to_ascii_lowercase();
            if entry == "*" {
                return true;
            }
            if let Ok(ip) = host.parse::<Ipv4Addr>() {
                return match entry.split_once('/') {
                    Some((net, len)) => in_cidr(ip, net, len),
                    None => entry.parse::<Ipv4Addr>() == Ok(ip),
                };
            }
            let suffix = entry.trim_start_matches("*.").trim_start_matches('.');
            !suffix.is_empty() && (host == suffix || host.ends_with(&format!(".{suffix}")))
        })
    }

    fn in_cidr(ip: Ipv4Addr, net: &str, len: &str) -> bool {
        let (Ok(net), Ok(len)) = (net.parse::<Ipv4Addr>(), len.parse::<u32>()) else {
            return false;
        };
        let mask = u32::MAX.checked_shl(32 - len.min(32)).unwrap_or(0);
        u32::from(ip) & mask == u32::from(net) & mask
    }

    /// Where a host leads.
    #[derive(Debug)]
    enum Target {
        /// Pods with these labels in this namespace, on this port.
        Pods(String, serde_json::Map<String, Json>, u64),
        Address(Ipv4Addr),
        /// No Service of that name, or a name outside the cluster: nothing a fence
        /// can be shown to allow.
        Unknown,
    }

    fn labels_within(selector: &Json, labels: &serde_json::Map<String, Json>) -> bool {
        selector
            .as_object()
            .is_none_or(|s| s.iter().all(|(k, v)| labels.get(k) == Some(v)))
    }

    fn allows(egress: &[Json], target: &Target) -> bool {
        egress.iter().any(|rule| {
            let port_ok = |port: u64| {
                rule["ports"]
                    .as_array()
                    .is_none_or(|ps| ps.iter().any(|p| p["port"].as_u64() == Some(port)))
            };
            let to = rule["to"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            match target {
                Target::Pods(ns, labels, port) => {
                    port_ok(*port)
                        && to.iter().any(|peer| {
                            let ns_ok = peer["namespaceSelector"]["matchLabels"]
                                ["kubernetes.io/metadata.name"]
                                == ns.as_str();
                            ns_ok && labels_within(&peer["podSelector"]["matchLabels"], labels)
                        })
                }
                Target::Address(ip) => to.iter().any(|peer| {
                    peer["ipBlock"]["cidr"]
                        .as_str()
                        .and_then(|c| c.split_once('/'))
                        .is_some_and(|(net, len)| in_cidr(*ip, net, len))
                }),
                Target::Unknown => false,
            }
        })
    }

    /// For each enforced client (a `*-vpn-egress` NetworkPolicy and the Deployment it
    /// selects): its name, its `NO_PROXY`, and the hosts it sends direct that the
    /// fence drops.
    pub fn evaluate(docs: &[Json]) -> Vec<(String, String, Vec<String>)> {
        let kind = |k: &'static str| docs.iter().filter(move |d| d["kind"] == k);
        let services: Vec<&Json> = kind("Service").collect();
        // A Service's backing pods: the labels of the Deployment it selects, and the
        // container port its first port targets.
        let backing = |svc: &Json| -> Target {
            let ns = svc["metadata"]["namespace"].as_str().unwrap_or("default");
            let deployment = kind("Deployment").find(|d| {
                d["metadata"]["namespace"] == ns
                    && d["spec"]["template"]["metadata"]["labels"]
                        .as_object()
                        .is_some_and(|l| labels_within(&svc["spec"]["selector"], l))
            });
            let (Some(d), Some(port)) = (deployment, svc["spec"]["ports"].get(0)) else {
                return Target::Unknown;
            };
            let target = &port["targetPort"];
            let number = target.as_u64().or_else(|| {
                d["spec"]["template"]["spec"]["containers"]
                    .as_array()?
                    .iter()
                    .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
                    .find(|p| p["name"] == *target)?["containerPort"]
                    .as_u64()
            });
            let labels = d["spec"]["template"]["metadata"]["labels"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            number.map_or(Target::Unknown, |n| Target::Pods(ns.to_owned(), labels, n))
        };
        let mut out = Vec::new();
        for policy in kind("NetworkPolicy") {
            let name = policy["metadata"]["name"].as_str().unwrap_or("");
            let Some(client) = name.strip_suffix("-vpn-egress") else {
                continue;
            };
            let ns = policy["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default");
            let egress = policy["spec"]["egress"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let deployment = kind("Deployment")
                .find(|d| d["metadata"]["namespace"] == ns && d["metadata"]["name"] == client)
                .unwrap_or_else(|| panic!("no Deployment {ns}/{client}"));
            let no_proxy = deployment["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default())
                .find(|e| e["name"] == "NO_PROXY")
                .and_then(|e| e["value"].as_str().map(str::to_owned))
                .unwrap_or_else(|| panic!("no NO_PROXY on {ns}/{client}"));
            let mut hosts: Vec<(String, Target)> = Vec::new();
            for svc in &services {
                let sname = svc["metadata"]["name"].as_str().unwrap_or("");
                let sns = svc["metadata"]["namespace"].as_str().unwrap_or("default");
                for host in [
                    format!("{sname}.{sns}"),
                    format!("{sname}.{sns}.svc"),
                    format!("{sname}.{sns}.svc.cluster.local"),
                ] {
                    hosts.push((host, backing(svc)));
                }
                if sns == ns {
                    hosts.push((sname.to_owned(), backing(svc)));
                }
            }
            for host in ["kubernetes.default.svc", "nothing-here", "example.org"] {
                hosts.push((host.to_owned(), Target::Unknown));
            }
            for ip in [
                "10.96.0.1",
                "10.43.0.1",
                "10.244.3.7",
                "10.42.3.7",
                "192.168.1.20",
            ] {
                let ip: Ipv4Addr = ip.parse().expect("an address");
                hosts.push((ip.to_string(), Target::Address(ip)));
            }
            let dropped: Vec<String> = hosts
                .iter()
                .filter(|(host, target)| direct(&no_proxy, host) && !allows(&egress, target))
                .map(|(host, target)| format!("{host} → {target:?}"))
                .collect();
            out.push((format!("{ns}/{client}"), no_proxy, dropped));
        }
        out
    }
}
