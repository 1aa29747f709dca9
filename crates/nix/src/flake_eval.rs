//! Real Nix for the flake's host list, when the static scan cannot see it.
//!
//! [`flake_host_names`] runs `nix eval --json .#nixosConfigurations --apply
//! builtins.attrNames` in the repository, the way a cautious operator would run it
//! on a flake nobody vetted:
//! - nothing written to the repository (`--no-write-lock-file`; `eval` makes no
//!   result link), and only a git work tree is evaluated: Nix copies a git flake's
//!   *tracked* files into the store, but every file of a plain directory
//!   (untracked secrets included);
//! - no build (`allow-import-from-derivation = false`, `--max-jobs 0`, no remote
//!   builders), no URL fetched by the evaluation (`restrict-eval`), no substituter
//!   (`--offline`), no flake registry, the flake's own `nixConfig` ignored; an input
//!   missing from the store is fetched at most once, with a short connect timeout;
//! - a bounded time: the process group is killed when it expires;
//! - stdin closed; the environment reduced to what Nix needs to find its store
//!   and cache ([`PASSED_ENV`]): no token, no SOPS key, no `NIX_CONFIG`;
//! - the experimental features enabled by flag (`--extra-experimental-features`,
//!   which Nix 2.8 accepts), so the user's configuration is not needed;
//! - stdout and stderr read up to a bound; a failure is summed up in one line.
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What `nix eval` may take by default before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment variables passed on to `nix` (when set); everything else is
/// dropped.
pub const PASSED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "TMPDIR",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CONFIG_DIRS",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "NIX_REMOTE",
    "NIX_STORE_DIR",
    "NIX_STATE_DIR",
    "NIX_LOG_DIR",
    "NIX_CONF_DIR",
    "NIX_USER_CONF_FILES",
    "NIX_DAEMON_SOCKET_PATH",
    "LANG",
    "LC_ALL",
];

/// The arguments after `nix`, run in the repository.
pub fn flake_hosts_args() -> Vec<&'static str> {
    vec![
        "--extra-experimental-features",
        "nix-command flakes",
        "eval",
        "--json",
        "--no-write-lock-file",
        "--offline",
        "--max-jobs",
        "0",
        "--option",
        "allow-import-from-derivation",
        "false",
        "--option",
        "restrict-eval",
        "true",
        "--option",
        "accept-flake-config",
        "false",
        "--option",
        "use-registries",
        "false",
        "--option",
        "builders",
        "",
        "--option",
        "connect-timeout",
        "5",
        "--option",
        "download-attempts",
        "1",
        "--option",
        "warn-dirty",
        "false",
        ".#nixosConfigurations",
        "--apply",
        "builtins.attrNames",
    ]
}

/// The command line shown to people (in notes and help).
pub const SHOWN: &str = "nix eval --json .#nixosConfigurations --apply builtins.attrNames";

/// At most this much of stdout (a list of names) and of stderr is kept.
const OUTPUT_LIMIT: usize = 1 << 20;
const STDERR_LIMIT: usize = 64 << 10;

/// The names of the flake's `nixosConfigurations`, sorted, as real Nix lists them in
/// `repo` (see the module's documentation for how it is run). `Err` is why not, in
/// one line: `nix` missing, not a git work tree, Nix's own error, a timeout.
pub fn flake_host_names(repo: &Path, timeout: Duration) -> Result<Vec<String>, String> {
    let Some(nix) = crate::bridge::which("nix") else {
        return Err("`nix` is not on PATH".into());
    };
    let abs = std::path::absolute(repo).unwrap_or_else(|_| repo.to_path_buf());
    if !abs.ancestors().any(|dir| dir.join(".git").exists()) {
        return Err("the repository is not in a git work tree: Nix would copy every file of the directory, untracked ones included, into the store".into());
    }
    let mut cmd = Command::new(nix);
    cmd.args(flake_hosts_args())
        .current_dir(repo)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in PASSED_ENV {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    // Git must not rewrite the index while Nix reads the work tree.
    cmd.env("GIT_OPTIONAL_LOCKS", "0");
    let ran = run_bounded(cmd, timeout).map_err(|e| match e {
        Bounded::Spawn(e) => format!("cannot run `nix`: {e}"),
        Bounded::TimedOut => format!(
            "`nix eval` did not finish in {} s and was stopped",
            timeout.as_secs_f64()
        ),
    })?;
    if !ran.success {
        return Err(format!("`nix eval` failed: {}", summary(&ran.stderr)));
    }
    let text = String::from_utf8_lossy(&ran.stdout);
    let names: Vec<String> = serde_json::from_str(text.trim())
        .map_err(|e| format!("`nix eval` printed something other than a list of names: {e}"))?;
    Ok(names)
}

/// Nix's error in one line: its first `error:` line (or the last line it printed),
/// without control characters, cut at 300 characters.
fn summary(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines
        .iter()
        .find_map(|l| l.strip_prefix("error:"))
        .or_else(|| lines.last().copied())
        .unwrap_or("no message")
        .trim();
    let mut one: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one.chars().count() > 300 {
        one = one.chars().take(300).collect::<String>() + "…";
    }
    one
}

/// How a bounded run ended early.
#[derive(Debug)]
enum Bounded {
    Spawn(std::io::Error),
    TimedOut,
}

/// A finished bounded run.
#[derive(Debug)]
struct Ran {
    success: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs `cmd` in its own process group, reading stdout and stderr up to their
/// bounds; when `timeout` expires the whole group is killed.
fn run_bounded(mut cmd: Command, timeout: Duration) -> Result<Ran, Bounded> {
    use std::os::unix::process::CommandExt as _;
    cmd.process_group(0);
    let deadline = Instant::now() + timeout;
    let mut child = cmd.spawn().map_err(Bounded::Spawn)?;
    let group = rustix::process::Pid::from_raw(child.id() as i32);
    let kill_group = || {
        if let Some(group) = group {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let readers = [
        child
            .stdout
            .take()
            .map(|s| (0, Box::new(s) as Box<dyn Read + Send>)),
        child
            .stderr
            .take()
            .map(|s| (1, Box::new(s) as Box<dyn Read + Send>)),
    ];
    for (which, stream) in readers.into_iter().flatten() {
        let tx = tx.clone();
        let limit = if which == 0 {
            OUTPUT_LIMIT
        } else {
            STDERR_LIMIT
        };
        std::thread::spawn(move || {
            let _ = tx.send((which, read_bounded(stream, limit)));
        });
    }
    drop(tx);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break None,
        }
    };
    let Some(status) = status else {
        // Killed before it is reaped, so the group id is still this group's.
        kill_group();
        let _ = child.wait();
        return Err(Bounded::TimedOut);
    };
    let mut out = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        // A descendant that keeps a pipe open is killed with the group after a grace period.
        let got = rx
            .recv_timeout(Duration::from_secs(1))
            .or_else(|_| {
                kill_group();
                rx.recv_timeout(Duration::from_secs(1))
            })
            .ok();
        if let Some((which, bytes)) = got {
            out[which] = bytes;
        }
    }
    let [stdout, stderr] = out;
    Ok(Ran {
        success: status.success(),
        stdout,
        stderr,
    })
}

/// Reads `stream` to its end, keeping the first `limit` bytes.
fn read_bounded(mut stream: impl Read, limit: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nix_errors_are_summed_up_in_one_line() {
        let stderr = b"warning: not writing modified lock file of flake 'git+file:///r':\n\xe2\x80\xa2 Added input 'x'\nerror: unable to download 'https://api.github.com/x': Couldn't resolve host name (6)\n(use '--show-trace' to show detailed location information)\n";
        assert_eq!(
            summary(stderr),
            "unable to download 'https://api.github.com/x': Couldn't resolve host name (6)"
        );
        assert_eq!(
            summary(b"just this\n\x1b[31mand that\n"),
            "\u{20}[31mand that"
        );
        assert_eq!(summary(b""), "no message");
        let long = format!("error: {}\n", "x".repeat(1000));
        assert_eq!(summary(long.as_bytes()).chars().count(), 301);
    }

    #[test]
    fn a_run_past_its_time_is_killed_with_its_children() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pid_file = dir.path().join("child.pid");
        let mut cmd = Command::new("sh");
        // The grandchild holds stdout open and would outlive a kill of `sh` alone.
        cmd.arg("-c")
            .arg(format!("sleep 30 & echo $! > {}; wait", pid_file.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let ran = run_bounded(cmd, Duration::from_millis(300));
        assert!(matches!(ran, Err(Bounded::TimedOut)));
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .expect("the child's pid")
            .trim()
            .parse()
            .expect("a pid");
        // Killed (a zombie of init at most, reaped shortly).
        let gone = (0..100).any(|_| {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // `pid (comm) S …`: gone, or a zombie (`Z`) or dead (`X`).
            let alive = state.rsplit(')').next().is_some_and(|rest| {
                let rest = rest.trim_start();
                !rest.is_empty() && !rest.starts_with('Z') && !rest.starts_with('X')
            });
            if alive {
                std::thread::sleep(Duration::from_millis(20));
            }
            !alive
        });
        assert!(gone, "the grandchild {pid} survived the timeout");
    }

    #[test]
    fn output_is_bounded() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("head -c 3000000 /dev/zero; head -c 200000 /dev/zero >&2")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let ran = run_bounded(cmd, Duration::from_secs(20)).expect("it ends");
        assert!(ran.success);
        assert_eq!(ran.stdout.len(), OUTPUT_LIMIT);
        assert_eq!(ran.stderr.len(), STDERR_LIMIT);
    }
}
