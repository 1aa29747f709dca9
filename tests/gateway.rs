//! The egress gateway's host side, for real, in network namespaces: the rendered
//! nftables ruleset, policy routing, WireGuard configuration and proxy command line
//! (the bytes `avalanche_render::gateway` produces, not a copy) applied to a
//! `gateway` namespace between a `client`, an `exit` (the WireGuard peer,
//! masquerading) and an `internet` (a router with an HTTP server that answers with
//! the source address it sees).
//!
//! ```text
//! client ──lan── gateway ──wan── internet (192.0.2.80) ── exit ══ WireGuard ══ gateway
//! 10.77.0.2/.3   10.77.0.1  198.51.100.2   198.51.100.1 / 203.0.113.1   203.0.113.2
//!                           2001:db8:100::2 (2001:db8:80::80) 2001:db8:113::2
//! tunnel: gateway 10.99.0.2, fd99::2 — exit 10.99.0.1, fd99::1
//! ```
//! IPv6 on both WANs (a dual-stack home line): the proxy user's IPv6 must go
//! through the tunnel or fail at once, never out of the home WAN.
//!
//! Needs root, `/dev/net/tun` and the Debian packages of `.ci/run` (userspace
//! `wireguard-go`: kernel WireGuard is not available in these namespaces).
use crate::support::{oracle, oracles_required};
use avalanche_model::Cidr;
use avalanche_render::gateway::{self, GatewayHost, Tunnel};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const LISTEN: &str = "10.77.0.1";
const CLIENT: &str = "10.77.0.2";
const FOREIGN: &str = "10.77.0.3";
const WAN: &str = "198.51.100.2";
const EXIT: &str = "203.0.113.2";
const SERVER: &str = "192.0.2.80";
const WAN6: &str = "2001:db8:100::2";
const EXIT6: &str = "2001:db8:113::2";
const SERVER6: &str = "2001:db8:80::80";
/// The gateway's IPv6 tunnel address (beside 10.99.0.2).
const TUNNEL6: &str = "fd99::2/128";
const PROXY_UID: u32 = 61080;
/// The HTTP CONNECT port (tinyproxy).
const HTTP_PORT: u16 = 8888;
/// Short enough that an idle tunnel loses its NAT mapping within the test.
const UDP_TIMEOUT_S: u32 = 2;
/// The keepalive the test renders: under `UDP_TIMEOUT_S` (the default, 25 s, is
/// under real NATs' 30 s and more).
const KEEPALIVE_S: u16 = 1;
/// How long the `late` server stays silent on a new connection: past the UDP timeout.
const IDLE_S: u32 = 7;

/// The echo and `late` servers: ports 80 (for the proxied requests) and 8080 (for
/// the gateway's own) answer an HTTP GET with the peer address; port 81 accepts, stays silent `IDLE_S` seconds, then sends `late`.
const SERVERS_PY: &str = r#"
import http.server, socketserver, socket, sys, threading, time
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (self.client_address[0] + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print("GET", self.client_address[0], flush=True)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
class Server6(Server):
    address_family = socket.AF_INET6
for host, kind in ((sys.argv[1], Server), (sys.argv[3], Server6)):
    for port in (80, 8080):
        threading.Thread(target=kind((host, port), Echo).serve_forever, daemon=True).start()
late = socket.socket()
late.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
late.bind((sys.argv[1], 81))
late.listen(8)
def answer(conn, delay):
    # Closes only after the proxy has: the proxy's side ends in TIME_WAIT, whose
    # last ACK has no owner any more.
    time.sleep(delay)
    try:
        conn.sendall(b"late\n")
        conn.settimeout(10)
        while conn.recv(64):
            pass
    except OSError:
        pass
    conn.close()
while True:
    conn, peer = late.accept()
    print("LATE", peer[0], flush=True)
    threading.Thread(target=answer, args=(conn, float(sys.argv[2])), daemon=True).start()
"#;

/// A SOCKS5 client that connects through the proxy, then waits for data:
/// prints `got <bytes>` or `timeout`.
const IDLE_CLIENT_PY: &str = r#"
import socket, struct, sys
proxy, port, src, dst, dport, wait = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
s = socket.socket()
s.bind((src, 0))
s.settimeout(5)
s.connect((proxy, port))
s.sendall(b"\x05\x01\x00")
assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(dst) + struct.pack(">H", dport))
reply = s.recv(10)
assert reply[1] == 0, reply
s.settimeout(wait)
try:
    print("got", s.recv(16).decode().strip())
except socket.timeout:
    print("timeout")
"#;

/// curl's exit code for a connection to the proxy that failed (refused: a reset).
const CURL_COULDNT_CONNECT: i32 = 7;

/// How a `curl` failed: its exit code tells who refused. 7: the connection to the
/// proxy itself (the gateway's table resets it); 56: the proxy answered and
/// refused (tinyproxy's own `Allow` list, a 403); 28: a timeout.
#[derive(Debug, PartialEq)]
struct CurlFailed {
    code: Option<i32>,
    stderr: String,
}

static LABS: AtomicUsize = AtomicUsize::new(0);

/// The namespaces, processes and files of one test; `Drop` removes them all, on
/// every exit path (a failed assertion included).
struct Lab {
    client: String,
    gateway: String,
    exit: String,
    internet: String,
    /// The WireGuard interfaces: their UAPI sockets (`/var/run/wireguard/NAME.sock`)
    /// are shared by every namespace, so the names are unique per process.
    gw_if: String,
    exit_if: String,
    children: Vec<(&'static str, Child)>,
    dir: tempfile::TempDir,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            // Each child leads its own process group: the route watcher's `ip
            // monitor` goes with its shell (left behind, it would keep the
            // namespace alive).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.client, &self.gateway, &self.exit, &self.internet] {
            let _ = Command::new("ip")
                .args(["netns", "delete", ns])
                .stderr(Stdio::null())
                .status();
        }
        for iface in [&self.gw_if, &self.exit_if] {
            let _ = std::fs::remove_file(format!("/var/run/wireguard/{iface}.sock"));
        }
    }
}

fn output(mut cmd: Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

/// Runs a command that must succeed.
#[track_caller]
fn must(cmd: Command) -> String {
    let shown = format!("{cmd:?}");
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ip(args: &[&str]) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(args);
    cmd
}

impl Lab {
    fn new() -> Lab {
        let n = LABS.fetch_add(1, Ordering::SeqCst);
        let id = format!("{}{n}", std::process::id());
        let lab = Lab {
            client: format!("avgw{id}c"),
            gateway: format!("avgw{id}g"),
            exit: format!("avgw{id}x"),
            internet: format!("avgw{id}i"),
            gw_if: format!("avg{id}"),
            exit_if: format!("avx{id}"),
            children: Vec::new(),
            dir: tempfile::tempdir().expect("a temp dir"),
        };
        assert!(lab.gw_if.len() <= 15, "interface name too long");
        lab
    }

    /// A command run inside namespace `ns`.
    fn exec(&self, ns: &str, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, program]).args(args);
        cmd
    }

    fn spawn(&mut self, what: &'static str, mut cmd: Command) {
        let log = std::fs::File::create(self.file(&format!("{what}.log"))).expect("a log file");
        let err = log.try_clone().expect("a log file");
        let child = cmd
            .stdout(log)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {what}: {e}"));
        self.children.push((what, child));
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.file(name);
        std::fs::write(&path, text).expect("writing a lab file");
        path.to_str().expect("a UTF-8 path").to_owned()
    }

    fn log(&self, what: &str) -> String {
        std::fs::read_to_string(self.file(&format!("{what}.log"))).unwrap_or_default()
    }

    /// Every log, for a failure message.
    fn logs(&self) -> String {
        self.children
            .iter()
            .map(|(what, _)| format!("--- {what}:\n{}", self.log(what)))
            .collect()
    }

    fn topology(&self) {
        for ns in [&self.client, &self.gateway, &self.exit, &self.internet] {
            must(ip(&["netns", "add", ns]));
            // IPv6 addresses usable at once (no duplicate address detection).
            for conf in ["all", "default"] {
                must(self.exec(
                    ns,
                    "sysctl",
                    &["-qw", &format!("net.ipv6.conf.{conf}.accept_dad=0")],
                ));
            }
            must(ip(&["-n", ns, "link", "set", "lo", "up"]));
        }
        let veth = |a: &str, a_ns: &str, b: &str, b_ns: &str| {
            must(ip(&[
                "link", "add", a, "netns", a_ns, "type", "veth", "peer", "name", b, "netns", b_ns,
            ]));
        };
        veth("lan", &self.gateway, "lan", &self.client);
        veth("wan", &self.gateway, "gw", &self.internet);
        veth("wan", &self.exit, "ex", &self.internet);
        let addrs: [(&str, &str, &str); 11] = [
            (&self.client, "lan", "10.77.0.2/24"),
            (&self.client, "lan", "10.77.0.3/24"),
            (&self.gateway, "lan", "10.77.0.1/24"),
            (&self.gateway, "wan", "198.51.100.2/24"),
            (&self.gateway, "wan", "2001:db8:100::2/64"),
            (&self.internet, "gw", "198.51.100.1/24"),
            (&self.internet, "gw", "2001:db8:100::1/64"),
            (&self.internet, "ex", "203.0.113.1/24"),
            (&self.internet, "ex", "2001:db8:113::1/64"),
            (&self.exit, "wan", "203.0.113.2/24"),
            (&self.exit, "wan", "2001:db8:113::2/64"),
        ];
        for (ns, dev, addr) in addrs {
            must(ip(&["-n", ns, "addr", "add", addr, "dev", dev]));
            must(ip(&["-n", ns, "link", "set", dev, "up"]));
        }
        for server in ["192.0.2.80/32", "2001:db8:80::80/128"] {
            must(ip(&[
                "-n",
                &self.internet,
                "addr",
                "add",
                server,
                "dev",
                "lo",
            ]));
        }
        for (ns, via) in [
            (&self.gateway, "2001:db8:100::1"),
            (&self.exit, "2001:db8:113::1"),
        ] {
            must(ip(&["-n", ns, "-6", "route", "add", "default", "via", via]));
        }
        must(ip(&[
            "-n",
            &self.gateway,
            "route",
            "add",
            "default",
            "via",
            "198.51.100.1",
        ]));
        must(ip(&[
            "-n",
            &self.exit,
            "route",
            "add",
            "default",
            "via",
            "203.0.113.1",
        ]));
        for ns in [&self.internet, &self.exit] {
            for key in ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"] {
                must(self.exec(ns, "sysctl", &["-qw", &format!("{key}=1")]));
            }
        }
    }

    /// Starts `wireguard-go IFACE` in `ns` and waits (bounded) for the interface.
    fn wireguard_go(&mut self, what: &'static str, ns: &str, iface: &str) {
        let mut cmd = self.exec(ns, "wireguard-go", &[iface]);
        cmd.env("WG_PROCESS_FOREGROUND", "1");
        self.spawn(what, cmd);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !output(ip(&["-n", ns, "link", "show", iface]))
            .status
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "wireguard-go did not create {iface} in 10 s:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keypair(&self, name: &str) -> (String, String) {
        let private = must({
            let mut cmd = Command::new("wg");
            cmd.arg("genkey");
            cmd
        });
        let mut child = Command::new("wg")
            .arg("pubkey")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("running wg pubkey");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(private.as_bytes())
            .expect("writing the key");
        let out = child.wait_with_output().expect("wg pubkey");
        let path = self.write(name, &private);
        (path, String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// The `from_wan` counter of `internet`: TCP packets from the gateway's WAN link,
    /// whatever their source address, to the servers the proxied requests use (80,
    /// 81; not the gateway's own, 8080) — a lone ACK of a closed connection included.
    fn leaked_via_wan(&self) -> u64 {
        let text = must(self.exec(
            &self.internet,
            "nft",
            &["list", "counter", "inet", "lab", "from_wan"],
        ));
        text.split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no packet count in {text}"))
    }

    /// Waits (at most 20 s) until `internet`'s NAT holds no mapping for the tunnel.
    fn wait_quiet(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let table = output(self.exec(&self.internet, "cat", &["/proc/net/nf_conntrack"]));
            if !table.status.success() {
                // No conntrack procfs on this kernel: wait out the timeout instead.
                eprintln!("note: no /proc/net/nf_conntrack; waiting out the UDP timeout");
                std::thread::sleep(Duration::from_secs(u64::from(UDP_TIMEOUT_S) + 1));
                return;
            }
            let text = String::from_utf8_lossy(&table.stdout);
            if !text
                .lines()
                .any(|l| l.contains(" udp ") && l.contains("dport=51820"))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the tunnel never went quiet in 20 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `curl` through the SOCKS5 proxy from source `src`; the body, or how curl failed.
    fn socks_get(&self, src: &str, max_s: u32) -> Result<String, CurlFailed> {
        self.socks_get_url(src, max_s, &format!("http://{SERVER}/"))
    }

    /// `curl` of `url` through the SOCKS5 proxy from source `src`.
    fn socks_get_url(&self, src: &str, max_s: u32, url: &str) -> Result<String, CurlFailed> {
        self.curl_via(
            src,
            max_s,
            &["--socks5-hostname", &format!("{LISTEN}:1080"), url],
        )
    }

    /// `curl` through the HTTP CONNECT proxy (tinyproxy; `-p` makes even a plain
    /// `http://` request a CONNECT tunnel) from source `src`.
    fn connect_get(&self, src: &str, max_s: u32) -> Result<String, CurlFailed> {
        self.curl_via(
            src,
            max_s,
            &[
                "-p",
                "-x",
                &format!("http://{LISTEN}:{HTTP_PORT}"),
                &format!("http://{SERVER}/"),
            ],
        )
    }

    /// `curl` from `client`, source `src`, with `proxy` arguments and the URL.
    fn curl_via(&self, src: &str, max_s: u32, proxy_url: &[&str]) -> Result<String, CurlFailed> {
        let max = max_s.to_string();
        let mut args = vec!["-sS", "-m", &max, "--interface", src];
        args.extend_from_slice(proxy_url);
        let out = output(self.exec(&self.client, "curl", &args));
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(CurlFailed {
                code: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
    }

    /// Connects through the proxy to the `late` server and waits `wait_s` for its answer.
    fn idle_connection(&self, script: &str, wait_s: u32) -> String {
        let wait = wait_s.to_string();
        let out = output(self.exec(
            &self.client,
            "python3",
            &[script, LISTEN, "1080", CLIENT, SERVER, "81", &wait],
        ));
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

fn ready(required: &[&str]) -> bool {
    // Every tool first, so one run names everything missing.
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|tool| oracle(tool).is_none())
        .collect();
    if !missing.is_empty() {
        return false;
    }
    let root = output({
        let mut cmd = Command::new("id");
        cmd.arg("-u");
        cmd
    })
    .stdout
        == b"0\n";
    let tun = Path::new("/dev/net/tun").exists();
    if !root || !tun {
        let why = if root {
            "/dev/net/tun is missing (wireguard-go needs it)"
        } else {
            "network namespaces need root"
        };
        assert!(
            !oracles_required(),
            "{why}, and AVALANCHE_REQUIRE_ORACLES=1"
        );
        eprintln!("SKIPPED: {why}");
        return false;
    }
    true
}

#[test]
fn gateway_egress_only_through_the_tunnel_with_a_kill_switch() {
    if !ready(&[
        "ip",
        "nft",
        "wg",
        "wireguard-go",
        "microsocks",
        "tinyproxy",
        "setpriv",
        "curl",
        "python3",
    ]) {
        return;
    }
    let mut lab = Lab::new();
    lab.topology();

    // The exit: the test's WireGuard peer, masquerading the tunnel to `internet`.
    let (gw_key, gw_pub) = lab.keypair("gateway.key");
    let (exit_key, exit_pub) = lab.keypair("exit.key");
    let (exit_ns, exit_if) = (lab.exit.clone(), lab.exit_if.clone());
    lab.wireguard_go("exit-wireguard", &exit_ns, &exit_if);
    must(lab.exec(
        &exit_ns,
        "wg",
        &[
            "set",
            &exit_if,
            "listen-port",
            "51820",
            "private-key",
            &exit_key,
            "peer",
            &gw_pub,
            "allowed-ips",
            "10.99.0.2/32,fd99::2/128",
        ],
    ));
    for address in ["10.99.0.1/24", "fd99::1/64"] {
        must(ip(&[
            "-n", &exit_ns, "addr", "add", address, "dev", &exit_if,
        ]));
    }
    must(ip(&["-n", &exit_ns, "link", "set", &exit_if, "up"]));
    let exit_nft = lab.write(
        "exit.nft",
        "table inet lab {\n  chain out_nat {\n    type nat hook postrouting priority srcnat; policy accept;\n    oifname \"wan\" masquerade\n  }\n}\n",
    );
    must(lab.exec(&exit_ns, "nft", &["-f", &exit_nft]));

    // The internet: a router whose NAT towards the exit forgets idle UDP mappings
    // fast (a home NAT, shortened), and counts what reaches its servers from the WAN.
    let internet_nft = lab.write(
        "internet.nft",
        "table inet lab {\n  counter from_wan {\n  }\n  chain udp_nat {\n    type nat hook postrouting priority srcnat; policy accept;\n    oifname \"ex\" meta l4proto udp masquerade\n  }\n  chain servers {\n    type filter hook input priority filter; policy accept;\n    iifname \"gw\" tcp dport { 80, 81 } counter name \"from_wan\"\n  }\n}\n",
    );
    let internet = lab.internet.clone();
    must(lab.exec(&internet, "nft", &["-f", &internet_nft]));
    let timeout = UDP_TIMEOUT_S.to_string();
    for key in [
        "nf_conntrack_udp_timeout",
        "nf_conntrack_udp_timeout_stream",
    ] {
        must(lab.exec(
            &internet,
            "sysctl",
            &["-qw", &format!("net.netfilter.{key}={timeout}")],
        ));
    }
    let servers = lab.write("servers.py", SERVERS_PY);
    let idle = IDLE_S.to_string();
    let cmd = lab.exec(&internet, "python3", &[&servers, SERVER, &idle, SERVER6]);
    lab.spawn("servers", cmd);

    // The gateway, from the rendered bytes only.
    let host = GatewayHost {
        name: "lab".into(),
        listen: LISTEN.parse().expect("an address"),
        socks_port: 1080,
        http_port: Some(HTTP_PORT),
        interface: lab.gw_if.clone(),
        tunnel: Tunnel {
            endpoint: format!("{EXIT}:51820"),
            public_key: exit_pub.clone(),
            addresses: vec![
                Cidr::parse("10.99.0.2/32").expect("a CIDR"),
                Cidr::parse(TUNNEL6).expect("a CIDR"),
            ],
            persistent_keepalive: KEEPALIVE_S,
            mtu: 1420,
        },
        allowed_clients: vec![Cidr::parse(&format!("{CLIENT}/32")).expect("a CIDR")],
        routing_table: 51820,
        fwmark: 0xca6c,
        socket_fwmark: 0xca6d,
        proxy_uid: PROXY_UID,
        // Monitored: the real `nft` loads the admission with the exporter's port too.
        exporter_port: Some(avalanche_model::defaults::GATEWAY_EXPORTER_PORT),
    };
    let (gw_ns, gw_if) = (lab.gateway.clone(), lab.gw_if.clone());
    lab.wireguard_go("gateway-wireguard", &gw_ns, &gw_if);
    let wg_conf = lab.write("gateway.wg", &gateway::wireguard(&host));
    must(lab.exec(&gw_ns, "wg", &["setconf", &gw_if, &wg_conf]));
    must(lab.exec(&gw_ns, "wg", &["set", &gw_if, "private-key", &gw_key]));
    let batch = lab.write("gateway.ip", &gateway::routing(&host));
    must(ip(&["-n", &gw_ns, "-batch", &batch]));
    let batch6 = lab.write("gateway.ip6", &gateway::routing6(&host));
    must(ip(&["-n", &gw_ns, "-6", "-batch", &batch6]));
    // The route watcher, from its rendered script, as the module's unit runs it.
    let watcher = lab.write("routes.sh", &gateway::route_watcher(&host));
    let cmd = lab.exec(&gw_ns, "bash", &[&watcher]);
    lab.spawn("route-watcher", cmd);
    let rules = || {
        must(ip(&["-n", &gw_ns, "rule", "show"])) + &must(ip(&["-n", &gw_ns, "-6", "rule", "show"]))
    };
    let rules_at_start = rules();
    let ruleset = lab.write("gateway.nft", &gateway::nftables(&host));
    must(lab.exec(&gw_ns, "nft", &["-f", &ruleset]));
    // Loading it twice must replace, not duplicate (a restarted unit does this).
    must(lab.exec(&gw_ns, "nft", &["-f", &ruleset]));
    let loaded = must(lab.exec(&gw_ns, "nft", &["list", "ruleset"]));
    assert_eq!(
        loaded.matches("masquerade").count(),
        1,
        "loaded twice:\n{loaded}"
    );
    for (key, value) in gateway::SYSCTLS {
        must(lab.exec(&gw_ns, "sysctl", &["-qw", &format!("{key}={value}")]));
    }
    let uid = format!("--reuid={PROXY_UID}");
    let gid = format!("--regid={PROXY_UID}");
    let mut proxy = vec![uid.as_str(), gid.as_str(), "--clear-groups", "microsocks"];
    let args = gateway::proxy_args(&host);
    proxy.extend(args.iter().map(String::as_str));
    let cmd = lab.exec(&gw_ns, "setpriv", &proxy);
    lab.spawn("microsocks", cmd);
    // tinyproxy as the same user, from the rendered configuration.
    let tinyproxy_conf = lab.write(
        "tinyproxy.conf",
        &gateway::tinyproxy(&host).expect("an HTTP port"),
    );
    let cmd = lab.exec(
        &gw_ns,
        "setpriv",
        &[
            &uid,
            &gid,
            "--clear-groups",
            "tinyproxy",
            "-d",
            "-c",
            &tinyproxy_conf,
        ],
    );
    lab.spawn("tinyproxy", cmd);

    // 1. Through the proxy, the internet sees the exit, never the WAN address. The
    //    first try waits for the proxy, the server and the handshake (bounded).
    let deadline = Instant::now() + Duration::from_secs(15);
    let first = loop {
        match lab.socks_get(CLIENT, 3) {
            Ok(body) => break body,
            Err(e) if Instant::now() > deadline => {
                panic!("no answer through the proxy in 15 s: {e:?}\n{}", lab.logs())
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    assert_eq!(
        first, EXIT,
        "the proxied request left from {first}, not the exit"
    );
    assert_eq!(
        lab.leaked_via_wan(),
        0,
        "a proxied packet reached the internet from the WAN"
    );

    // 1b. The same through HTTP CONNECT (tinyproxy), waiting for it to listen.
    let deadline = Instant::now() + Duration::from_secs(10);
    let connected = loop {
        match lab.connect_get(CLIENT, 3) {
            Ok(body) => break body,
            Err(e) if Instant::now() > deadline => {
                panic!(
                    "no answer through HTTP CONNECT in 10 s: {e:?}\n{}",
                    lab.logs()
                )
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    assert_eq!(
        connected, EXIT,
        "the CONNECT request left from {connected}, not the exit"
    );
    assert_eq!(
        lab.leaked_via_wan(),
        0,
        "a CONNECT packet reached the internet from the WAN"
    );

    // 1c. IPv6 too: the tunnel has an IPv6 address, so an IPv6 destination goes
    //     through it and comes out at the exit's IPv6 address.
    let six = lab.socks_get_url(CLIENT, 5, &format!("http://[{SERVER6}]/"));
    assert_eq!(
        six.as_deref(),
        Ok(EXIT6),
        "an IPv6 request did not leave from the exit:\n{}",
        lab.logs()
    );
    assert_eq!(
        lab.leaked_via_wan(),
        0,
        "a proxied IPv6 packet reached the internet from the WAN"
    );

    // 2. The gateway's own traffic (not the proxy user's) still leaves via the WAN,
    //    both families.
    for (url, wan) in [
        (format!("http://{SERVER}:8080/"), WAN),
        (format!("http://[{SERVER6}]:8080/"), WAN6),
    ] {
        let own = must(lab.exec(&gw_ns, "curl", &["-sS", "-m", "5", &url]));
        assert_eq!(own.trim(), wan, "the gateway's own traffic left via {own}");
    }

    // 3. A client outside allowedClients is refused by the gateway's table: a reset
    //    (curl: could not connect), fast. For CONNECT this must not be tinyproxy's
    //    own `Allow` list answering 403 (curl exit 56): that refusal would hide a
    //    broken admission rule.
    let started = Instant::now();
    let foreign = lab.socks_get(FOREIGN, 5);
    assert_eq!(
        foreign.as_ref().err().and_then(|e| e.code),
        Some(CURL_COULDNT_CONNECT),
        "a foreign client was not reset by the table: {foreign:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "refused by timeout, not reset"
    );

    let started = Instant::now();
    let foreign = lab.connect_get(FOREIGN, 5);
    assert_eq!(
        foreign.as_ref().err().and_then(|e| e.code),
        Some(CURL_COULDNT_CONNECT),
        "a foreign CONNECT client was not reset by the table: {foreign:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "CONNECT refused by timeout, not reset"
    );

    // 4. An idle proxied connection outlives the NAT's UDP timeout thanks to the
    //    keepalive. First the control, keepalive off: the lab's NAT really forgets.
    //    Then the rendered configuration again. Each starts on a quiet tunnel (no
    //    NAT mapping left): the end of an earlier connection (retransmissions,
    //    resets) would otherwise keep the mapping alive for it.
    let idle_client = lab.write("idle_client.py", IDLE_CLIENT_PY);
    must(lab.exec(
        &gw_ns,
        "wg",
        &[
            "set",
            &gw_if,
            "peer",
            &exit_pub,
            "persistent-keepalive",
            "0",
        ],
    ));
    // Under load the control can see the answer anyway (a late retransmission or
    // WireGuard's own passive keepalive renews the mapping in time): it is a
    // property of the lab, not of the product, so it gets three tries.
    let mut lost = String::new();
    for _ in 0..3 {
        lab.wait_quiet();
        lost = lab.idle_connection(&idle_client, IDLE_S + 2);
        if lost == "timeout" {
            break;
        }
    }
    assert_eq!(
        lost, "timeout",
        "without keepalive the idle connection should die in this lab (is the NAT timeout applied?)"
    );
    lab.wait_quiet();
    must(lab.exec(&gw_ns, "wg", &["setconf", &gw_if, &wg_conf]));
    must(lab.exec(&gw_ns, "wg", &["set", &gw_if, "private-key", &gw_key]));
    let kept = lab.idle_connection(&idle_client, IDLE_S + 4);
    assert_eq!(
        kept,
        "got late",
        "the idle connection died:\n{}",
        lab.logs()
    );
    // Its end (the proxy's last ACK, sent from TIME_WAIT without an owner) went
    // through the tunnel too.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        lab.leaked_via_wan(),
        0,
        "a closing proxied connection leaked via the WAN"
    );

    // 5. The kill switch. Tunnel interface down: its routes go, the unreachable
    //    default stays; then that route removed too: the nftables layer alone.
    must(ip(&["-n", &gw_ns, "link", "set", &gw_if, "down"]));
    // Refused at once, IPv4 and IPv6: the proxy's sockets meet the unreachable
    // defaults (the WAN, which has both, is never tried), not a silent drop that
    // leaves the client waiting for its timeout.
    for url in [format!("http://{SERVER}/"), format!("http://[{SERVER6}]/")] {
        let started = Instant::now();
        let refused = lab.socks_get_url(CLIENT, 5, &url);
        assert!(
            refused.is_err(),
            "{url} got out with the tunnel down: {refused:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{url} with the tunnel down failed by timeout, not at once: {refused:?}"
        );
    }
    // The proxy user's own IPv6 connection, without a proxy: "unreachable" at once.
    let started = Instant::now();
    let direct = output(lab.exec(
        &gw_ns,
        "setpriv",
        &[
            &uid,
            &gid,
            "--clear-groups",
            "curl",
            "-sS",
            "-m",
            "5",
            &format!("http://[{SERVER6}]/"),
        ],
    ));
    assert_eq!(
        direct.status.code(),
        Some(CURL_COULDNT_CONNECT),
        "the proxy user's IPv6 connection: {}",
        String::from_utf8_lossy(&direct.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the proxy user's IPv6 connection failed by timeout, not at once"
    );
    assert!(
        lab.connect_get(CLIENT, 2).is_err(),
        "a CONNECT request got out with the tunnel down"
    );
    must(ip(&[
        "-n",
        &gw_ns,
        "route",
        "del",
        "unreachable",
        "default",
        "metric",
        "4294967295",
        "table",
        "51820",
    ]));
    assert!(
        lab.socks_get(CLIENT, 2).is_err(),
        "a request got out with the tunnel down and no unreachable route"
    );
    assert_eq!(
        lab.leaked_via_wan(),
        0,
        "the kill switch leaked via the WAN"
    );

    // Back up, and nothing re-added by hand: the route watcher restores the
    // tunnel table (on the link event, well before its periodic check), and the
    // proxy works again, so the failures above were the kill switch.
    must(ip(&["-n", &gw_ns, "link", "set", &gw_if, "up"]));
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        match lab.socks_get(CLIENT, 2) {
            Ok(body) => {
                assert_eq!(body, EXIT, "after the link came back");
                break;
            }
            Err(e) => assert!(
                Instant::now() < deadline,
                "no answer 8 s after the link came back up: {e:?}\n{}\n{}",
                must(ip(&["-n", &gw_ns, "route", "show", "table", "51820"])),
                lab.logs()
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // IPv6 too: the link took the tunnel's IPv6 address with it, and the watcher
    // put it back with the route.
    let six = lab.socks_get_url(CLIENT, 5, &format!("http://[{SERVER6}]/"));
    assert_eq!(
        six.as_deref(),
        Ok(EXIT6),
        "IPv6 after the link came back:\n{}",
        must(ip(&["-n", &gw_ns, "-6", "route", "show", "table", "51820"]))
    );
    let table = must(ip(&["-n", &gw_ns, "route", "show", "table", "51820"]));
    assert!(
        table.contains("unreachable default") && table.contains(&format!("default dev {gw_if}")),
        "the tunnel table was not restored:\n{table}"
    );
    // Routes only: the policy rules are the ones applied at start, none added twice.
    assert_eq!(
        rules(),
        rules_at_start,
        "the rules changed after the link flap"
    );
    // Then the peer goes away: requests fail, nothing leaks.
    if let Some((_, peer)) = lab
        .children
        .iter_mut()
        .find(|(w, _)| *w == "exit-wireguard")
    {
        let _ = peer.kill();
        let _ = peer.wait();
    }
    assert!(
        lab.socks_get(CLIENT, 2).is_err(),
        "a request got out with the peer gone"
    );
    assert_eq!(
        lab.leaked_via_wan(),
        0,
        "the kill switch leaked via the WAN"
    );
    let seen = lab.log("servers");
    for wan in [WAN, WAN6] {
        assert_eq!(
            seen.matches(wan).count(),
            1,
            "the internet saw {wan} other than in the gateway's own request:\n{seen}"
        );
    }
}
