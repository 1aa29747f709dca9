//! The reliability suite: the tool never leaks a secret, never loses data and never
//! crashes, whatever happens around it.
//!
//! - a canary secret never appears in a written file or in any output (but `secrets show`);
//! - a build that fails part-way (read-only output, a full disk, an error in a later
//!   file) leaves the previous tree intact, byte for byte;
//! - a build killed mid-write leaves no partial file, and no temp file survives the
//!   next build;
//! - two builds at once cannot corrupt the tree (the lock);
//! - symlinks in the output tree are not followed out of the repository;
//! - huge or deeply nested declarations give an error (exit 2), not a crash, in
//!   bounded time.
//!
//! Tests needing `mount` (a small or read-only tmpfs) skip, saying why, where
//! mounting is not permitted.
use crate::support::{self, TempRepo, tree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LEDGER: &str = "kubernetes/.avalanche-generated.json";
const TEMP_PREFIX: &str = ".avalanche-net-";

/// Every file under `dir`, `.git` included, for the canary scan.
fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let entry = entry.expect("a directory entry");
        let ty = entry.file_type().expect("a file type");
        if ty.is_dir() {
            all_files(&entry.path(), out);
        } else if ty.is_file() {
            out.push(entry.path());
        }
    }
}

/// A temp file of the writer, or a file inside one of its staging directories.
fn is_temp(path: &str) -> bool {
    path.split('/').any(|name| name.starts_with(TEMP_PREFIX))
}

fn temp_files(tree: &BTreeMap<String, Vec<u8>>) -> Vec<&String> {
    tree.keys().filter(|p| is_temp(p)).collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn demo_key() -> String {
    path_str(&support::workspace_root().join("tests/keys/demo.agekey")).to_owned()
}

/// The binary, set up as `support::run_in` does, but spawned (to kill it, or to race it).
fn command(repo: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(support::bin());
    cmd.args(args).current_dir(repo).env_clear();
    for var in ["PATH", "HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd.env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for `child` at most `limit`; kills it and fails the test past that.
fn wait_bounded(mut child: Child, limit: Duration, what: &str) -> (i32, String, String) {
    let start = Instant::now();
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (killed)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&out_thread.join().expect("stdout thread")).into_owned();
    let stderr = String::from_utf8_lossy(&err_thread.join().expect("stderr thread")).into_owned();
    let code = match status.code() {
        Some(code) => code,
        None => panic!(
            "{what}: killed by a signal ({status:?}) after {:?}: a crash\n--- stderr (tail):\n{}",
            start.elapsed(),
            tail(&stderr)
        ),
    };
    (code, stdout, stderr)
}

fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(3000);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

// --------------------------------------------------------------------------
// Synthetic networks: N proxies and N clients (with their apps' kustomizations).

/// Writes a network of `n` proxies and `n` clients to `file`, and the apps'
/// kustomizations into `repo`. `variant` moves every client to another proxy and
/// every proxy to another country, so that every generated file changes.
fn synthetic(repo: &Path, file: &Path, n: usize, variant: usize) {
    const COUNTRIES: [&str; 4] = ["Iceland", "Netherlands", "Switzerland", "Sweden"];
    let mut s = String::from(
        "{\n  avalanche.network = {\n    egress = {\n      image = \"qmcgaw/gluetun:v3.41.3\";\n      \
         providers.protonvpn = { service = \"protonvpn\"; type = \"wireguard\"; credentials = \"protonvpn\"; };\n      \
         proxies = {\n",
    );
    for i in 0..n {
        let country = COUNTRIES[(i + variant) % COUNTRIES.len()];
        s.push_str(&format!(
            "        p{i:05} = {{ provider = \"protonvpn\"; countries = [ \"{country}\" ]; }};\n"
        ));
    }
    s.push_str("      };\n      clients = {\n");
    for i in 0..n {
        let proxy = (i + variant) % n;
        let protocol = if i % 2 == 0 { "http" } else { "shadowsocks" };
        s.push_str(&format!(
            "        c{i:05} = {{ namespace = \"apps{:02}\"; proxy = \"p{proxy:05}\"; protocol = \"{protocol}\"; enforce = {}; }};\n",
            i % 100,
            i % 3 == 0
        ));
        let dir = repo.join(format!("kubernetes/base/apps/apps{:02}/c{i:05}", i % 100));
        std::fs::create_dir_all(&dir).expect("an app directory");
        std::fs::write(
            dir.join("kustomization.yaml"),
            format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: apps{:02}\n\
                 components:\n  - vpn-egress\n",
                i % 100
            ),
        )
        .expect("an app kustomization");
    }
    s.push_str(
        "      };\n    };\n    secrets.protonvpn = {\n      \
         file = \"kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml\";\n      \
         keys = [ \"WIREGUARD_PRIVATE_KEY\" \"WIREGUARD_ADDRESSES\" \"SHADOWSOCKS_PASSWORD\" ];\n    };\n  };\n}\n",
    );
    std::fs::write(file, s).expect("writing the synthetic network");
}

/// The bundled repository with a synthetic network of `n` proxies in two variants,
/// A (`nix/network.nix`) and B (returned path, outside the repository).
fn synthetic_repo(n: usize) -> (TempRepo, tempfile::TempDir, PathBuf) {
    let repo = TempRepo::bundled();
    // The bundled apps are not in the synthetic network: their kustomizations
    // would list components the synthetic builds prune (`kustomize-path-missing`).
    for app in ["irc/marmithon", "media/qbittorrent"] {
        let dir = repo.path().join("kubernetes/base/apps").join(app);
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).expect("removing a bundled app");
        }
    }
    synthetic(repo.path(), &repo.path().join("nix/network.nix"), n, 0);
    repo.commit_all();
    let nets = tempfile::tempdir().expect("a temp dir");
    let b = nets.path().join("network-b.nix");
    synthetic(repo.path(), &b, n, 1);
    (repo, nets, b)
}

// --------------------------------------------------------------------------
// A canary secret.

#[test]
fn canary_secret_never_appears_in_any_file_or_output_but_show() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let canary = format!("CANARY-{}-{nanos:x}", std::process::id());
    let routy_canary = format!("{canary}-routy");
    let repo = TempRepo::bundled();
    let xdg = tempfile::tempdir().expect("a temp dir");
    let key = demo_key();
    let xdg_s = path_str(xdg.path()).to_owned();
    let out = tempfile::tempdir().expect("a temp dir");
    // The values sit in the environment of *every* command, as in a shell that exported them.
    let env: Vec<(&str, &str)> = vec![
        ("SOPS_AGE_KEY_FILE", &key),
        ("XDG_CONFIG_HOME", &xdg_s),
        ("WIREGUARD_PRIVATE_KEY", &canary),
        ("WIREGUARD_ADDRESSES", "10.2.0.2/32"),
        ("SHADOWSOCKS_PASSWORD", "shadowsocks-not-the-canary"),
        ("authkey", &routy_canary),
    ];
    let mut outputs = String::new();
    for args in [
        &["secrets", "seal", "protonvpn"][..],
        &["secrets", "seal", "routy-tailscale"],
        &["build", "--verbose"],
        &["build", "--format", "json"],
        &["build", "--out", path_str(out.path()), "--verbose"],
        &["check"],
        &["check", "--format", "json"],
        &["check", "--format", "sarif"],
        &["status"],
        &["status", "--format", "json"],
        &["secrets", "verify"],
        &["diff"],
        &["diff", "--stat"],
        &["graph"],
        &["eval"],
    ] {
        let run = repo.run_env(args, &env);
        assert!(
            matches!(run.code(), 0 | 1),
            "avalanche-net {args:?} could not run:\n{}{}",
            run.stdout(),
            run.stderr()
        );
        outputs.push_str(&run.stdout());
        outputs.push_str(&run.stderr());
    }
    // Failures (no identity, a broken `.sops.yaml`) must not leak it either.
    let failing = [
        ("XDG_CONFIG_HOME", xdg_s.as_str()),
        ("WIREGUARD_PRIVATE_KEY", canary.as_str()),
    ];
    for args in [
        &["secrets", "verify"][..],
        &["secrets", "show", "protonvpn"],
    ] {
        let run = repo.run_env(args, &failing);
        assert_ne!(
            run.code(),
            0,
            "avalanche-net {args:?} without an identity succeeded"
        );
        outputs.push_str(&run.stdout());
        outputs.push_str(&run.stderr());
    }
    for secret in [canary.as_str(), routy_canary.as_str()] {
        assert!(
            !outputs.contains(secret),
            "the canary `{secret}` is in the output:\n{outputs}"
        );
    }
    let mut files = Vec::new();
    all_files(repo.path(), &mut files);
    all_files(out.path(), &mut files);
    all_files(xdg.path(), &mut files);
    assert!(files.len() > 20, "too few files scanned: {files:?}");
    for file in &files {
        let bytes = std::fs::read(file).expect("reading a file");
        assert!(
            !contains(&bytes, &canary),
            "the canary is in {}",
            file.display()
        );
    }
    // And yet it was sealed: `show` (the one command asked for it) prints it.
    let shown = repo.run_env(&["secrets", "show", "protonvpn"], &env);
    shown.expect_code(0);
    assert!(shown.stdout().contains(&canary), "{}", shown.stdout());
    let shown = repo.run_env(&["secrets", "show", "routy-tailscale"], &env);
    shown.expect_code(0);
    assert!(shown.stdout().contains(&routy_canary), "{}", shown.stdout());
}

// --------------------------------------------------------------------------
// A build that fails part-way leaves the previous tree intact.

/// The bundled repo built into `out`, then the declarations changed so the next
/// build rewrites files. Returns the tree as it was.
fn built_then_changed(repo: &TempRepo, out: &Path) -> BTreeMap<String, Vec<u8>> {
    repo.run(&["build", "--out", path_str(out)]).expect_code(0);
    let text = repo.read("nix/network.nix");
    let changed = text
        .replacen("proxy = \"iceland\";", "proxy = \"netherlands\";", 1)
        .replacen(
            "countries = [ \"Netherlands\" ];",
            "countries = [ \"Switzerland\" ];",
            1,
        );
    assert_ne!(text, changed, "the bundled declarations changed shape");
    repo.write("nix/network.nix", &changed);
    tree(out)
}

fn assert_failed_and_intact(run: &support::Run, out: &Path, before: &BTreeMap<String, Vec<u8>>) {
    run.expect_code(2);
    assert!(
        !run.stderr().trim().is_empty(),
        "a failure without a message"
    );
    let after = tree(out);
    assert!(
        temp_files(&after).is_empty(),
        "temp files left: {:?}",
        temp_files(&after)
    );
    if after != *before {
        let changed: Vec<&String> = before
            .keys()
            .chain(after.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|k| before.get(*k) != after.get(*k))
            .collect();
        panic!(
            "a failed build changed the tree: {changed:?}\n--- stderr:\n{}",
            run.stderr()
        );
    }
}

#[test]
fn an_error_in_a_later_file_leaves_the_previous_tree() {
    let repo = TempRepo::bundled();
    let out = tempfile::tempdir().expect("a temp dir");
    built_then_changed(&repo, out.path());
    // `tailscale/policy.hujson` sorts after every `kubernetes/` file: make its
    // directory a regular file, so staging fails after the others were staged.
    std::fs::remove_dir_all(out.path().join("tailscale")).expect("removing tailscale/");
    std::fs::write(out.path().join("tailscale"), "in the way\n").expect("a file in the way");
    let before = tree(out.path());
    let run = repo.run(&["build", "--out", path_str(out.path())]);
    assert_failed_and_intact(&run, out.path(), &before);
}

/// A tmpfs mounted on a fresh directory, unmounted on drop. `None` (with the reason
/// printed) where mounting is not permitted.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str, test: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
                path_str(dir.path()),
            ])
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            Ok(o) => {
                eprintln!(
                    "SKIPPED {test}: `mount -t tmpfs` is not permitted here ({}); run the tests as root with CAP_SYS_ADMIN to cover it",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED {test}: cannot run `mount` ({e})");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro", path_str(self.path())])
            .status()
            .expect("running mount");
        assert!(status.success(), "remounting the tmpfs read-only failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.path()).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_read_only_output_directory_leaves_the_previous_tree() {
    let repo = TempRepo::bundled();
    if is_root() {
        // Permission bits do not stop root: a read-only mount does.
        let Some(fs) = Tmpfs::mount(
            "16m",
            "a_read_only_output_directory_leaves_the_previous_tree",
        ) else {
            return;
        };
        let before = built_then_changed(&repo, fs.path());
        fs.remount_read_only();
        let run = repo.run(&["build", "--out", path_str(fs.path())]);
        assert_failed_and_intact(&run, fs.path(), &before);
    } else {
        let out = tempfile::tempdir().expect("a temp dir");
        let before = built_then_changed(&repo, out.path());
        let mut dirs: Vec<PathBuf> = before
            .keys()
            .filter(|k| k.ends_with('/'))
            .map(|k| out.path().join(k))
            .collect();
        dirs.push(out.path().to_path_buf());
        let mode = |d: &Path, m: u32| {
            std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(m))
                .expect("chmod")
        };
        for d in &dirs {
            mode(d, 0o555);
        }
        let run = repo.run(&["build", "--out", path_str(out.path())]);
        for d in &dirs {
            mode(d, 0o755);
        }
        assert_failed_and_intact(&run, out.path(), &before);
    }
}

#[test]
fn a_full_disk_leaves_the_previous_tree() {
    let repo = TempRepo::bundled();
    let Some(fs) = Tmpfs::mount("2m", "a_full_disk_leaves_the_previous_tree") else {
        return;
    };
    let out = fs.path().join("out");
    let before = built_then_changed(&repo, &out);
    // Fill the disk, then free 8 KiB: a few files stage, then one does not fit.
    let filler = fs.path().join("filler");
    {
        let mut f = std::fs::File::create(&filler).expect("creating the filler");
        let chunk = vec![b'x'; 4096];
        loop {
            if std::io::Write::write_all(&mut f, &chunk).is_err() {
                break;
            }
        }
        let len = f.metadata().expect("filler metadata").len();
        f.set_len(len.saturating_sub(8 * 1024))
            .expect("truncating the filler");
    }
    let run = repo.run(&["build", "--out", path_str(&out)]);
    assert_failed_and_intact(&run, &out, &before);
    // Space again: the same build now succeeds.
    std::fs::remove_file(&filler).expect("removing the filler");
    repo.run(&["build", "--out", path_str(&out)]).expect_code(0);
    assert_ne!(tree(&out), before);
}

// --------------------------------------------------------------------------
// An interrupted build.

#[test]
fn a_killed_build_leaves_no_partial_file_and_no_temp_file_survives() {
    const N: usize = 150;
    let (repo, _nets, b) = synthetic_repo(N);
    let b_arg = format!("--network={}", path_str(&b));
    // The two complete trees: A (the state before) and B (the build being killed).
    let tree_a = {
        let dir = tempfile::tempdir().expect("a temp dir");
        repo.run(&["build", "--out", path_str(dir.path())])
            .expect_code(0);
        tree(dir.path())
    };
    let (tree_b, full) = {
        let dir = tempfile::tempdir().expect("a temp dir");
        let start = Instant::now();
        repo.run(&[&b_arg, "build", "--out", path_str(dir.path())])
            .expect_code(0);
        (tree(dir.path()), start.elapsed())
    };
    assert!(
        tree_a.len() > 5 * N,
        "the synthetic tree is too small: {}",
        tree_a.len()
    );
    let out = tempfile::tempdir().expect("a temp dir");
    repo.run(&["build", "--out", path_str(out.path())])
        .expect_code(0);
    let mut killed = 0;
    let mut temp_left = 0;
    for step in 1..=8u32 {
        let delay = full * step / 9;
        let mut child = command(
            repo.path(),
            &[&b_arg, "build", "--out", path_str(out.path())],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning a build");
        std::thread::sleep(delay);
        if child.try_wait().expect("polling the build").is_none() {
            child.kill().expect("SIGKILL");
            killed += 1;
        }
        let _ = child.wait();
        let now = tree(out.path());
        for (path, bytes) in &now {
            if is_temp(path) {
                temp_left += 1;
                continue;
            }
            assert!(
                tree_a.get(path) == Some(bytes) || tree_b.get(path) == Some(bytes),
                "after a kill at {delay:?}: `{path}` is neither the old nor the new file (a partial write)"
            );
        }
    }
    eprintln!(
        "{killed} of 8 builds killed mid-run; {temp_left} temp file(s) seen right after the kills"
    );
    assert!(
        killed >= 1,
        "no build was still running when killed: the test no longer interrupts anything"
    );
    // The next build completes the job, and no temp file of a killed one survives it.
    repo.run(&[&b_arg, "build", "--out", path_str(out.path())])
        .expect_code(0);
    let after = tree(out.path());
    let left = temp_files(&after);
    assert!(
        left.is_empty(),
        "{} temp file(s) of killed builds survive a complete build, e.g. {:?}",
        left.len(),
        &left[..left.len().min(5)]
    );
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        tree_b.keys().collect::<Vec<_>>()
    );
    assert!(
        after == tree_b,
        "the tree after the kills and a complete build is not the clean build's tree"
    );
}

/// A first build into an empty directory stages whole new directories and renames
/// them into place: killed at any point, it leaves nothing but complete files of the
/// new tree outside its staging directories, and the next build sweeps those.
#[test]
fn a_killed_first_build_leaves_no_partial_file_and_its_staging_is_swept() {
    const N: usize = 150;
    let (repo, _nets, _b) = synthetic_repo(N);
    let (full_tree, full) = {
        let dir = tempfile::tempdir().expect("a temp dir");
        let start = Instant::now();
        repo.run(&["build", "--out", path_str(dir.path())])
            .expect_code(0);
        (tree(dir.path()), start.elapsed())
    };
    let mut killed = 0;
    let mut staged_left = 0;
    for step in 1..=8u32 {
        let out = tempfile::tempdir().expect("a temp dir");
        let delay = full * step / 9;
        let mut child = command(repo.path(), &["build", "--out", path_str(out.path())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning a build");
        std::thread::sleep(delay);
        if child.try_wait().expect("polling the build").is_none() {
            child.kill().expect("SIGKILL");
            killed += 1;
        }
        let _ = child.wait();
        for (path, bytes) in &tree(out.path()) {
            if is_temp(path) {
                staged_left += 1;
                continue;
            }
            assert!(
                full_tree.get(path) == Some(bytes),
                "after a kill at {delay:?}: `{path}` is not the new file (a partial write)"
            );
        }
        repo.run(&["build", "--out", path_str(out.path())])
            .expect_code(0);
        let after = tree(out.path());
        let left = temp_files(&after);
        assert!(
            left.is_empty(),
            "{} temp file(s) of a killed first build survive a complete build, e.g. {:?}",
            left.len(),
            &left[..left.len().min(5)]
        );
        assert!(
            after == full_tree,
            "after a kill at {delay:?} and a complete build, the tree differs"
        );
    }
    eprintln!(
        "{killed} of 8 first builds killed mid-run; {staged_left} staged file(s) seen right after the kills"
    );
    assert!(
        killed >= 1,
        "no build was still running when killed: the test no longer interrupts anything"
    );
}

// --------------------------------------------------------------------------
// Concurrent builds.

#[test]
fn two_builds_at_once_never_corrupt_the_tree() {
    const N: usize = 60;
    let (repo, _nets, b) = synthetic_repo(N);
    let b_arg = format!("--network={}", path_str(&b));
    let clean = |net: Option<&str>| {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut args = Vec::from_iter(net);
        args.extend(["build", "--out", path_str(dir.path())]);
        repo.run(&args).expect_code(0);
        tree(dir.path())
    };
    let (tree_a, tree_b) = (clean(None), clean(Some(&b_arg)));
    let out = tempfile::tempdir().expect("a temp dir");
    let out_s = path_str(out.path()).to_owned();
    let mut locked = 0;
    for round in 0..6 {
        // Alternate A and B, so each round rewrites the whole tree.
        let (net, expected): (Vec<&str>, _) = if round % 2 == 0 {
            (vec![], &tree_a)
        } else {
            (vec![b_arg.as_str()], &tree_b)
        };
        let mut args = net.clone();
        args.extend(["build", "--out", &out_s]);
        let children: Vec<Child> = (0..2)
            .map(|_| command(repo.path(), &args).spawn().expect("spawning"))
            .collect();
        let results: Vec<(i32, String, String)> = children
            .into_iter()
            .map(|c| wait_bounded(c, Duration::from_secs(120), "a concurrent build"))
            .collect();
        let mut ok = 0;
        for (code, _, stderr) in &results {
            match code {
                0 => ok += 1,
                2 if stderr.contains("lock") => locked += 1,
                _ => panic!(
                    "round {round}: a concurrent build ended {code} without reporting the lock:\n{stderr}"
                ),
            }
        }
        assert!(
            ok >= 1,
            "round {round}: neither build succeeded: {results:?}"
        );
        let now = tree(out.path());
        assert!(
            temp_files(&now).is_empty(),
            "round {round}: temp files left: {:?}",
            temp_files(&now)
        );
        assert!(
            now == *expected,
            "round {round}: two builds at once left a tree unlike a single build's"
        );
    }
    eprintln!("{locked} of 12 concurrent builds reported the lock");
}

// --------------------------------------------------------------------------
// Symlinks in the output tree.

#[test]
fn symlinked_output_directories_and_files_are_not_followed_out_of_the_repo() {
    let repo = TempRepo::bundled();
    let outside = tempfile::tempdir().expect("a temp dir");
    std::fs::write(outside.path().join("sentinel"), "untouched\n").expect("a sentinel");
    let before_outside = tree(outside.path());
    // A whole generated directory, a generated file, and the ledger, each a link out.
    // (A directory holding no sealed file: moving `kubernetes/base/infra` aside
    // would take the proxies' credentials with it, and `check` would refuse the
    // build before the writer meets the link.)
    let cases: [(&str, bool); 4] = [
        ("kubernetes/base/apps/media/qbittorrent/vpn-egress", true),
        (
            "kubernetes/base/apps/irc/marmithon/vpn-egress/networkpolicy.yaml",
            false,
        ),
        ("tailscale", true),
        (LEDGER, false),
    ];
    for (rel, is_dir) in cases {
        let link = repo.path().join(rel);
        let saved = tempfile::tempdir().expect("a temp dir");
        let keep = saved.path().join("kept");
        std::fs::rename(&link, &keep).expect("moving the original aside");
        let target = if is_dir {
            outside.path().to_path_buf()
        } else {
            outside.path().join("sentinel")
        };
        std::os::unix::fs::symlink(&target, &link).expect("a symlink");
        let repo_before = tree(repo.path());
        let run = repo.run(&["build"]);
        run.expect_code(2);
        assert!(
            run.stderr().contains("symlink") || run.stderr().contains("not a regular file"),
            "{}",
            run.stderr()
        );
        assert_eq!(
            tree(outside.path()),
            before_outside,
            "`{rel}` -> outside: wrote outside the repository"
        );
        assert_eq!(
            tree(repo.path()),
            repo_before,
            "`{rel}` -> outside: the failed build changed the repo"
        );
        let run = repo.run(&["diff"]);
        assert!(
            matches!(run.code(), 1 | 2),
            "diff through a symlink: {}\n{}",
            run.stdout(),
            run.stderr()
        );
        assert_eq!(tree(outside.path()), before_outside);
        std::fs::remove_file(&link).expect("removing the link");
        std::fs::rename(&keep, &link).expect("putting the original back");
    }
    repo.run(&["build"]).expect_code(0);
    assert_eq!(tree(outside.path()), before_outside);
}

// --------------------------------------------------------------------------
// Huge and deeply nested inputs.

/// Runs `check`, `eval` and `build` on `text` as the declarations: each must refuse
/// it with a message, within `limit`, without a crash, and `build` write nothing.
fn refused_in_bounded_time(name: &str, text: &str, limit: Duration) {
    let repo = TempRepo::bundled();
    repo.write("nix/network.nix", text);
    // `build` refuses with 1 when the declarations have errors (the CLI contract);
    // `check` and `eval` say 2, "could not run".
    for (args, expected) in [
        (&["check"][..], 2),
        (&["eval"], 2),
        (&["build", "--quiet"], 1),
    ] {
        let start = Instant::now();
        let child = command(repo.path(), args).spawn().expect("spawning");
        let (code, stdout, stderr) =
            wait_bounded(child, limit, &format!("{name}: avalanche-net {args:?}"));
        // `check` reports on stdout, the others on stderr.
        let report = format!("{stdout}{stderr}");
        assert!(
            code == expected || code == 2,
            "{name}: avalanche-net {args:?} ended {code} in {:?}; expected {expected} (input beyond the limits) with a message\n--- output (tail):\n{}",
            start.elapsed(),
            tail(&report)
        );
        assert!(
            !report.trim().is_empty(),
            "{name}: exit {code} without a message"
        );
        assert!(
            !report.contains("panicked"),
            "{name}: a panic:\n{}",
            tail(&report)
        );
        assert!(
            report.len() < 1 << 20,
            "{name}: {} bytes of report (the input echoed back?)",
            report.len()
        );
    }
    let status = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(repo.path())
        .output()
        .expect("git status");
    let changed = String::from_utf8_lossy(&status.stdout).into_owned();
    assert_eq!(
        changed.trim(),
        "M nix/network.nix",
        "{name}: a refused build changed the repository"
    );
}

const BOUND: Duration = Duration::from_secs(60);

#[test]
fn a_50_mb_string_is_an_error_not_a_crash() {
    let big = "a".repeat(50 << 20);
    let text = format!("{{ avalanche.network.retired.old = {{ description = \"{big}\"; }}; }}\n");
    refused_in_bounded_time("50 MB string", &text, BOUND);
}

#[test]
fn a_million_element_list_is_an_error_not_a_crash() {
    let mut list = String::with_capacity(3 << 20);
    for _ in 0..1_000_000 {
        list.push_str("\"a\" ");
    }
    let text = format!(
        "{{ avalanche.network.retired.old = {{ description = \"x\"; aliases = [ {list}]; }}; }}\n"
    );
    refused_in_bounded_time("1,000,000-element list", &text, BOUND);
}

#[test]
fn nesting_100000_levels_deep_is_an_error_not_a_crash() {
    const DEPTH: usize = 100_000;
    let attrs = format!(
        "{{ avalanche.network = {}1{}; }}\n",
        "{ a = ".repeat(DEPTH),
        "; }".repeat(DEPTH)
    );
    refused_in_bounded_time("100,000 nested attrsets", &attrs, BOUND);
    let lists = format!(
        "{{ avalanche.network.x = {}{}; }}\n",
        "[ ".repeat(DEPTH),
        " ]".repeat(DEPTH)
    );
    refused_in_bounded_time("100,000 nested lists", &lists, BOUND);
    let parens = format!(
        "{{ avalanche.network.x = {}1{}; }}\n",
        "(".repeat(DEPTH),
        ")".repeat(DEPTH)
    );
    refused_in_bounded_time("100,000 nested parentheses", &parens, BOUND);
    let dotted = format!(
        "{{ avalanche.network.{} = 1; }}\n",
        vec!["a"; DEPTH].join(".")
    );
    refused_in_bounded_time("a 100,000-part attribute path", &dotted, BOUND);
}

// --------------------------------------------------------------------------
// Trust boundaries: the ledger, `kubernetes.dir`, seal's targets.

/// The ledger with one more entry, `rel`, hashed as its current content is (so
/// that it looks like an unedited generated file).
fn ledger_with(repo: &TempRepo, rel: &str) -> String {
    use sha2::Digest as _;
    let content = std::fs::read(repo.path().join(rel)).unwrap_or_default();
    let hash: String = sha2::Sha256::digest(&content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut ledger: serde_json::Value =
        serde_json::from_str(&repo.read(LEDGER)).expect("the ledger is JSON");
    ledger["files"][rel] = serde_json::Value::String(hash);
    serde_json::to_string_pretty(&ledger).expect("JSON")
}

#[test]
fn a_ledger_naming_files_it_did_not_generate_is_refused_with_its_location() {
    let repo = TempRepo::bundled();
    repo.run(&["build"]).expect_code(0);
    repo.write(".git/info/canary", "git's own\n");
    // Each would have been pruned (deleted) or printed by `diff` when the ledger
    // was trusted: the flake, the declarations, git's files, a SOPS file (inside
    // `kubernetes/` too), the SOPS rules, and a path leaving the repository.
    for rel in [
        "flake.nix",
        "nix/network.nix",
        ".git/config",
        ".git/info/canary",
        ".sops.yaml",
        "secrets/routy/tailscale.yaml",
        "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml",
        "kubernetes/../flake.nix",
    ] {
        let saved = repo.read(LEDGER);
        repo.write(LEDGER, &ledger_with(&repo, rel));
        let before = tree(repo.path());
        let git_before = std::fs::read(repo.path().join(".git/config")).expect(".git/config");
        for command in ["build", "diff"] {
            let run = repo.run(&[command]);
            run.expect_code(2);
            let stderr = run.stderr();
            assert!(
                stderr.contains(LEDGER) && stderr.contains(&format!("entry {rel:?}")),
                "{command} with `{rel}` in the ledger: the error must name the ledger and the entry\n{stderr}"
            );
            assert!(
                run.stdout().is_empty(),
                "{command} printed through the ledger:\n{}",
                run.stdout()
            );
            assert_eq!(
                tree(repo.path()),
                before,
                "{command} with `{rel}` changed the tree"
            );
            assert_eq!(
                std::fs::read(repo.path().join(".git/config")).expect(".git/config"),
                git_before
            );
            assert!(repo.path().join(".git/info/canary").is_file());
        }
        repo.write(LEDGER, &saved);
    }
    repo.run(&["build"]).expect_code(0);
    // A ledger that is not JSON at all is located too (line 1).
    repo.write(LEDGER, "{ not json");
    let run = repo.run(&["build"]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains(&format!("{LEDGER}:1: not valid JSON")),
        "{}",
        run.stderr()
    );
}

#[test]
fn kubernetes_dir_is_normalised_and_git_or_the_declarations_directory_refused() {
    let repo = TempRepo::bundled();
    let network = repo.read("nix/network.nix");
    assert!(
        network.contains("dir = \"kubernetes\";"),
        "the bundled network sets kubernetes.dir"
    );
    for (dir, why) in [
        (".git/refs/heads", "`.git` is git's own directory"),
        ("./.git", "`.git` is git's own directory"),
        ("nix", "the declarations' own directory"),
        ("nix/generated", "the declarations' own directory"),
        ("/tmp/k8s", "relative to the repository root"),
    ] {
        repo.write(
            "nix/network.nix",
            &network.replace("dir = \"kubernetes\";", &format!("dir = {dir:?};")),
        );
        let before = tree(repo.path());
        for command in ["check", "build"] {
            let run = repo.run(&[command]);
            run.expect_code(1);
            // `check` prints its findings on stdout, `build` on stderr.
            let stderr = run.stdout() + &run.stderr();
            assert!(
                stderr.contains("model-path")
                    && stderr.contains("nix/network.nix:")
                    && stderr.contains(why),
                "{command} with kubernetes.dir = {dir:?}:\n{stderr}"
            );
        }
        assert_eq!(
            tree(repo.path()),
            before,
            "kubernetes.dir = {dir:?}: something was written"
        );
    }
    // `kubernetes/.` is `kubernetes`: the same files, all still ours.
    repo.write(
        "nix/network.nix",
        &network.replace("dir = \"kubernetes\";", "dir = \"./kubernetes/.\";"),
    );
    let before = tree(repo.path());
    let run = repo.run(&["build"]);
    run.expect_code(0);
    assert!(run.stdout().contains("written 0,"), "{}", run.stdout());
    assert_eq!(tree(repo.path()), before);
}

#[test]
fn seal_never_writes_through_a_symlinked_directory_and_sweeps_its_temp_files() {
    let repo = TempRepo::bundled();
    let key = demo_key();
    let env = [
        ("SOPS_AGE_KEY_FILE", key.as_str()),
        ("authkey", "tskey-auth-test"),
    ];
    // A killed seal left a complete copy under a temp name: `check` does not
    // take it for a SOPS file of the repository, the next seal removes it.
    let stale = "secrets/routy/.avalanche-sops-0123456789abcdef.tmp";
    let older = "secrets/routy/.avalanche-sops-x1Yz2a";
    repo.write(stale, &repo.read("secrets/routy/tailscale.yaml"));
    repo.write(older, &repo.read("secrets/routy/tailscale.yaml"));
    repo.run(&["check"]).expect_code(0);
    repo.run_env(&["secrets", "seal", "routy-tailscale"], &env)
        .expect_code(0);
    assert!(!repo.path().join(stale).exists() && !repo.path().join(older).exists());

    // `secrets/routy` a link to a directory outside: refused, nothing written there.
    let outside = tempfile::tempdir().expect("a temp dir");
    // A SOPS file outside, so that `updatekeys` would get as far as writing it.
    std::fs::write(
        outside.path().join("tailscale.yaml"),
        repo.read("secrets/routy/tailscale.yaml"),
    )
    .expect("a file outside");
    let before = tree(outside.path());
    let kept = repo.path().join("secrets/routy-kept");
    std::fs::rename(repo.path().join("secrets/routy"), &kept).expect("moving routy aside");
    std::os::unix::fs::symlink(outside.path(), repo.path().join("secrets/routy")).expect("a link");
    let run = repo.run_env(&["secrets", "seal", "routy-tailscale"], &env);
    run.expect_code(2);
    assert!(
        run.stderr().contains("secrets/routy is a symlink"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        tree(outside.path()),
        before,
        "seal wrote outside the repository"
    );
    // The same through `updatekeys` naming the file.
    let run = repo.run_env(
        &[
            "secrets",
            "updatekeys",
            "--rotate",
            "secrets/routy/tailscale.yaml",
        ],
        &env,
    );
    assert_ne!(run.code(), 0, "{}", run.stdout());
    assert_eq!(
        tree(outside.path()),
        before,
        "updatekeys wrote outside the repository"
    );
}

// --------------------------------------------------------------------------
// The journal: a build killed at any point is finished (or undone) by the next
// command, whichever it is.

/// A tiny deterministic generator (xorshift), seeded per run and printed, so a
/// failing sequence of kill points can be replayed with `KILL_LOOP_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Which of two complete trees the generated files of `repo` are: all of them
/// exactly `a`'s (`'A'`), all exactly `b`'s (`'B'`); panics on a mixture, a
/// partial file, a temp file or a ledger that does not match.
fn classify(
    repo: &Path,
    a: &BTreeMap<String, Vec<u8>>,
    b: &BTreeMap<String, Vec<u8>>,
    what: &str,
) -> char {
    let now = tree(repo);
    let temps = temp_files(&now);
    assert!(
        temps.is_empty(),
        "{what}: temp files left: {:?}",
        &temps[..temps.len().min(5)]
    );
    assert!(
        !now.contains_key(".avalanche-net-journal.json"),
        "{what}: the journal is still there"
    );
    let (mut old, mut new, mut neither) = (Vec::new(), Vec::new(), Vec::new());
    for path in a.keys().chain(b.keys().filter(|p| !a.contains_key(*p))) {
        let here = now.get(path);
        let is_a = here == a.get(path);
        let is_b = here == b.get(path);
        match (is_a, is_b) {
            (true, true) => {}
            (true, false) => old.push(path.as_str()),
            (false, true) => new.push(path.as_str()),
            (false, false) => neither.push(path.as_str()),
        }
    }
    assert!(
        neither.is_empty() && (old.is_empty() || new.is_empty()),
        "{what}: a mixed tree: {} old ({:?}…), {} new ({:?}…), {} neither ({:?}…)",
        old.len(),
        &old[..old.len().min(3)],
        new.len(),
        &new[..new.len().min(3)],
        neither.len(),
        &neither[..neither.len().min(3)]
    );
    // The ledger is one of the generated files compared above: it matches the tree.
    assert!(now.contains_key(LEDGER), "{what}: no ledger");
    if new.is_empty() { 'A' } else { 'B' }
}

#[test]
fn a_build_killed_at_random_points_is_finished_or_undone_by_the_next_command() {
    const N: usize = 120;
    const ITERATIONS: usize = 50;
    let budget = Duration::from_secs(150);
    let (repo, _nets, b) = synthetic_repo(N);
    let b_arg = format!("--network={}", path_str(&b));
    let a_arg = format!(
        "--network={}",
        path_str(&repo.path().join("nix/network.nix"))
    );
    // The generated files of each variant, as a build into the repository writes
    // them (the hand-written kustomizations are not compared: they never change).
    let built = |arg: &str| {
        let dir = tempfile::tempdir().expect("a temp dir");
        repo.run(&[arg, "build", "--out", path_str(dir.path())])
            .expect_code(0);
        tree(dir.path())
    };
    let (tree_a, tree_b) = (built(&a_arg), built(&b_arg));
    assert!(
        tree_a.len() > 5 * N,
        "the synthetic tree is too small: {}",
        tree_a.len()
    );
    repo.run(&[&a_arg, "build"]).expect_code(0);
    let timed = Instant::now();
    repo.run(&[&b_arg, "build"]).expect_code(0);
    let full = timed.elapsed();
    repo.run(&[&a_arg, "build"]).expect_code(0);
    let seed = std::env::var("KILL_LOOP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("kill loop: seed {seed} (KILL_LOOP_SEED), a full build takes {full:?}");
    let mut rng = Rng(seed);
    let mut state = 'A';
    let (mut killed, mut changed_by_recovery) = (0, 0);
    let followers: [&[&str]; 4] = [&["check"], &["status"], &["diff", "--stat"], &["graph"]];
    let started = Instant::now();
    for i in 0..ITERATIONS {
        assert!(
            started.elapsed() < budget,
            "the kill loop ran past {budget:?} after {i} iterations"
        );
        let (target, arg) = if state == 'A' {
            ('B', &b_arg)
        } else {
            ('A', &a_arg)
        };
        // Kill points over the whole build, weighted to its end, where the renames are.
        let permille = 200 + rng.next() % 900;
        let delay = full * u32::try_from(permille).expect("small") / 1000;
        let mut child = command(repo.path(), &[arg.as_str(), "build"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning a build");
        std::thread::sleep(delay);
        let was_running = child.try_wait().expect("polling the build").is_none();
        if was_running {
            child.kill().expect("SIGKILL");
            killed += 1;
        }
        let status = child.wait().expect("waiting for the build");
        // The next command, whichever it is, finishes or undoes the killed build.
        let follower = followers[i % followers.len()];
        let mut args = vec![arg.as_str()];
        args.extend_from_slice(follower);
        let (code, _, stderr) = wait_bounded(
            command(repo.path(), &args)
                .spawn()
                .expect("spawning the next command"),
            Duration::from_secs(30),
            "the command after a kill",
        );
        assert!(
            code <= 1,
            "{follower:?} after a kill exited {code}:\n{}",
            tail(&stderr)
        );
        let what = format!(
            "iteration {i} (seed {seed}): `build` to {target} killed after {delay:?} (running: {was_running}, {status:?}), then {follower:?}"
        );
        let now = classify(repo.path(), &tree_a, &tree_b, &what);
        if now != state && was_running {
            changed_by_recovery += 1;
        }
        state = now;
    }
    eprintln!(
        "kill loop: {killed} of {ITERATIONS} builds killed mid-run, {changed_by_recovery} of them completed by the next command, in {:?}",
        started.elapsed()
    );
    assert!(
        killed >= ITERATIONS / 2,
        "only {killed} builds were still running when killed: the test no longer interrupts builds"
    );
}

/// One rename of the commit fails (the target is a mount point in a private
/// mount namespace: it can be neither linked nor replaced, while its directory
/// stays writable, so staging succeeds): the renames already made are rolled
/// back, the tree is the previous one, the ledger too, and the error says so.
#[test]
fn a_rename_failing_mid_commit_is_rolled_back_and_says_so() {
    const N: usize = 6;
    let Some(unshare) = support::oracle("unshare") else {
        eprintln!("SKIPPED: `unshare` is not installed");
        return;
    };
    let (repo, _nets, b) = synthetic_repo(N);
    let b_arg = format!("--network={}", path_str(&b));
    repo.run(&["build"]).expect_code(0);
    let before = tree(repo.path());
    // The last generated file in the plan's order (the order of the renames):
    // every other file is renamed before it fails.
    let ledger: serde_json::Value =
        serde_json::from_str(&repo.read(LEDGER)).expect("the ledger is JSON");
    let tree_b = {
        let dir = tempfile::tempdir().expect("a temp dir");
        repo.run(&[&b_arg, "build", "--out", path_str(dir.path())])
            .expect_code(0);
        tree(dir.path())
    };
    let files: Vec<&String> = ledger["files"]
        .as_object()
        .expect("files")
        .keys()
        .filter(|p| tree_b.get(*p) != before.get(*p))
        .collect();
    assert!(
        files.len() > 10 && files.len() < 64,
        "{} files: not one thread",
        files.len()
    );
    let blocked = files.last().expect("a file");
    assert!(blocked.starts_with("kubernetes/base/"), "{blocked}");
    let source = tempfile::tempdir().expect("a temp dir");
    // The same content (else `prepare` sees a hand edit and nothing is staged).
    std::fs::write(source.path().join("mounted"), repo.read(blocked)).expect("a file to mount");
    let script = format!(
        "mount --bind '{}' '{}' && exec '{}' '{b_arg}' build",
        source.path().join("mounted").display(),
        repo.path().join(blocked).display(),
        support::bin().display()
    );
    let output = Command::new(&unshare)
        .args(["-rm", "sh", "-c", &script])
        .current_dir(repo.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .output()
        .expect("running unshare");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("unshare:") || stderr.contains("mount:") {
        assert!(
            !support::oracles_required(),
            "no mount namespace here, and AVALANCHE_REQUIRE_ORACLES=1: {stderr}"
        );
        eprintln!("SKIPPED: no mount namespaces here: {stderr}");
        return;
    }
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(blocked.as_str())
            && stderr.contains("the build was rolled back")
            && stderr.contains("the tree is the previous one"),
        "{stderr}"
    );
    let undone: usize = stderr
        .split("rolled back (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        undone + 1 >= files.len(),
        "only {undone} renames undone:\n{stderr}"
    );
    assert!(
        tree(repo.path()) == before,
        "after a failed rename the tree is not the previous one (or temp files are left)"
    );
    // Without the obstacle the same build goes through.
    repo.run(&[&b_arg, "build"]).expect_code(0);
    assert_ne!(tree(repo.path()), before);
}

/// The last generated file under `kubernetes/base/apps/` that differs between
/// two trees: renamed late in the commit.
fn late_changed_file(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> String {
    a.keys()
        .rfind(|p| p.starts_with("kubernetes/base/apps/") && b.get(*p) != a.get(*p))
        .expect("a changed file")
        .clone()
}

/// A file edited by hand while a build runs is never silently overwritten: the
/// build either refuses (the edit was there when it compared, or is seen just
/// before the file's rename) or ran its rename before the edit.
#[test]
fn a_hand_edit_made_during_a_build_is_never_overwritten() {
    const N: usize = 80;
    const ITERATIONS: u32 = 12;
    let (repo, _nets, b) = synthetic_repo(N);
    let b_arg = format!("--network={}", path_str(&b));
    let out = |arg: Option<&str>| {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut args: Vec<&str> = arg.into_iter().collect();
        args.extend(["build", "--out", path_str(dir.path())]);
        repo.run(&args).expect_code(0);
        tree(dir.path())
    };
    let (tree_a, tree_b) = (out(None), out(Some(&b_arg)));
    let file = late_changed_file(&tree_a, &tree_b);
    repo.run(&["build"]).expect_code(0);
    let timed = Instant::now();
    repo.run(&[&b_arg, "build"]).expect_code(0);
    let full = timed.elapsed();
    let mut seen_at_commit = 0;
    for i in 0..ITERATIONS {
        repo.run(&["build", "--force"]).expect_code(0);
        let child = command(repo.path(), &[&b_arg, "build"])
            .spawn()
            .expect("a build");
        std::thread::sleep(full * (i + 1) / (ITERATIONS + 1));
        let edit = format!("# edited by hand during build {i}\n");
        std::fs::write(repo.path().join(&file), &edit).expect("a hand edit");
        let (code, _, stderr) = wait_bounded(child, Duration::from_secs(30), "a build");
        let now = repo.read(&file);
        assert_eq!(
            now,
            edit,
            "iteration {i}: the hand edit of {file} was overwritten (build exit {code}):\n{}",
            tail(&stderr)
        );
        if stderr.contains("was edited while the build ran") {
            seen_at_commit += 1;
            assert!(stderr.contains("rolled back"), "{stderr}");
        }
    }
    eprintln!("{seen_at_commit} of {ITERATIONS} edits were caught just before their rename");
}

/// A directory swapped for a symlink to the outside while a build runs never
/// receives a write through the link: writes are made relative to directories
/// opened (without following links) before.
#[test]
fn a_directory_swapped_for_a_symlink_during_a_build_leads_no_write_outside() {
    const N: usize = 80;
    const ITERATIONS: u32 = 8;
    let (repo, _nets, b) = synthetic_repo(N);
    let b_arg = format!("--network={}", path_str(&b));
    let outside = tempfile::tempdir().expect("a temp dir");
    let dir = repo.path().join("kubernetes/base/apps");
    let kept = repo.path().join("kubernetes/apps-kept");
    repo.run(&["build"]).expect_code(0);
    // The outside directory mirrors the one swapped (as an attacker would make
    // it), so that a write through the link finds its directories there.
    support::copy_dir(&dir, outside.path());
    let before = tree(outside.path());
    let timed = Instant::now();
    repo.run(&[&b_arg, "build"]).expect_code(0);
    let full = timed.elapsed();
    for i in 0..ITERATIONS {
        repo.run(&["build", "--force"]).expect_code(0);
        let child = command(repo.path(), &[&b_arg, "build"])
            .spawn()
            .expect("a build");
        std::thread::sleep(full * (i + 1) / (ITERATIONS + 1));
        std::fs::rename(&dir, &kept).expect("moving the directory away");
        std::os::unix::fs::symlink(outside.path(), &dir).expect("a link in its place");
        let (code, _, stderr) = wait_bounded(child, Duration::from_secs(30), "a build");
        let now = tree(outside.path());
        let changed: Vec<&String> = now
            .keys()
            .chain(before.keys())
            .filter(|p| now.get(*p) != before.get(*p))
            .collect();
        assert!(
            changed.is_empty(),
            "iteration {i}: the build (exit {code}) wrote through the swapped-in link: {} files, e.g. {:?}\n{}",
            changed.len(),
            &changed[..changed.len().min(3)],
            tail(&stderr)
        );
        std::fs::remove_file(&dir).expect("removing the link");
        std::fs::rename(&kept, &dir).expect("moving the directory back");
    }
}
