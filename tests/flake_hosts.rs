//! Issue 15 item 4: when the static scan of `flake.nix` cannot list the hosts
//! (`tests/fixtures/repos/flake-parts`: a flake-parts module in another file,
//! `mapAttrs` over an inventory), real Nix lists them — offline, read-only, in a
//! reduced environment, bounded in time — and when it cannot, the warning at the
//! flake's line says which rules are off and Nix's reason.
use crate::support::{self, TempRepo};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FIXTURE: &str = "fixtures/repos/flake-parts";

/// The flake's `outputs` line: where a flake-parts flake is reported.
const OUTPUTS: &str = "flake.nix:12";

fn findings(run: &support::Run) -> Vec<Value> {
    run.findings()
}

fn keys(findings: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = findings.iter().map(crate::support::finding_key).collect();
    keys.sort();
    keys
}

fn message<'a>(findings: &'a [Value], rule: &str) -> &'a str {
    findings
        .iter()
        .find(|f| f["rule"] == rule)
        .and_then(|f| f["message"].as_str())
        .unwrap_or_else(|| panic!("no `{rule}` in {findings:#?}"))
}

/// What `check` finds once the hosts are known: the retired NAS still built
/// and the laptop no machine is, besides the inventory line naming the NAS.
fn listed() -> Vec<String> {
    let mut want = vec![
        format!("note flake-hosts-evaluated {OUTPUTS}"),
        format!("error retired-nixos-config {OUTPUTS}"),
        "error tailscale-node-no-host nix/network.nix:13".to_owned(),
        "warning retired-mention nix/machines.nix:6".to_owned(),
    ];
    want.sort();
    want
}

/// Every file under `dir`, `.git` included: path → bytes.
fn every_byte(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("a directory") {
            let path = entry.expect("an entry").path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(root, &path, out);
            } else if meta.is_symlink() {
                let target = std::fs::read_link(&path).expect("a link");
                out.insert(rel, target.to_string_lossy().into_owned().into_bytes());
            } else {
                out.insert(rel, std::fs::read(&path).expect("a file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn real_nix_lists_a_flake_parts_flake_offline_and_writes_nothing() {
    let (Some(_), Some(_)) = (support::oracle("nix"), support::oracle("git")) else {
        return;
    };
    let repo = TempRepo::from_fixture(FIXTURE);
    let before = every_byte(repo.path());
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(1);
    let all = findings(&run);
    assert_eq!(keys(&all), listed(), "{all:#?}");
    let note = message(&all, "flake-hosts-evaluated");
    assert!(
        note.contains("`hawk`, `routy` and `storage`") && note.contains("never names"),
        "{note}"
    );
    assert!(
        message(&all, "retired-nixos-config").contains("listed by `nix eval`"),
        "{all:#?}"
    );
    // Not one byte changed: no flake.lock written (the stand-in input is not in it),
    // no result link, the git index untouched.
    let after = every_byte(repo.path());
    assert!(
        after == before,
        "the repository changed: {:?}",
        after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .chain(before.keys().filter(|k| !after.contains_key(*k)))
            .collect::<Vec<_>>()
    );
    // The human report says where the host list came from.
    let human = repo.run(&["check"]);
    human.expect_code(1);
    assert!(
        human.stdout().contains("listed by real Nix"),
        "{}",
        human.stdout()
    );
}

/// A directory holding only a fake `nix` (a shell script `body`), for PATH.
fn fake_nix(body: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("a temp dir");
    let nix = dir.path().join("nix");
    std::fs::write(&nix, format!("#!/bin/sh\n{body}")).expect("writing the fake nix");
    std::fs::set_permissions(&nix, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn without_nix_the_warning_at_the_flake_says_which_rules_are_off_and_why() {
    let repo = TempRepo::from_fixture(FIXTURE);
    let empty = tempfile::tempdir().expect("a temp dir");
    let no_nix = empty.path().display().to_string();
    let fails = fake_nix(
        "echo \"warning: not writing modified lock file of flake 'git+file:///r'\" >&2\n\
         echo \"error: unable to download 'https://api.github.com/x': Couldn't resolve host name (6)\" >&2\n\
         echo \"(use '--show-trace' to show detailed location information)\" >&2\nexit 1\n",
    );
    let fails_path = path_with(fails.path());
    let cases: [(&[&str], &str, &str); 3] = [
        (&[], &no_nix, "`nix` is not on PATH"),
        (
            &[],
            &fails_path,
            "`nix eval` failed: unable to download 'https://api.github.com/x': Couldn't resolve host name (6)",
        ),
        (
            &["--eval", "static"],
            &fails_path,
            "`--eval static` runs no Nix",
        ),
    ];
    for (global, path, why) in cases {
        let mut args = global.to_vec();
        args.extend(["check", "--format", "json"]);
        let run = repo.run_env(&args, &[("PATH", path)]);
        run.expect_code(0);
        let all = findings(&run);
        assert_eq!(
            keys(&all),
            [
                format!("warning flake-hosts-unknown {OUTPUTS}"),
                "warning retired-mention nix/machines.nix:6".to_owned()
            ],
            "{why}: {all:#?}"
        );
        let warning = message(&all, "flake-hosts-unknown");
        for part in [
            "never names `nixosConfigurations`",
            why,
            "`retired-nixos-config` sees only the hosts found",
            "`tailscale-node-no-host` is off",
        ] {
            assert!(warning.contains(part), "no {part:?} in {warning:?}");
        }
        assert!(!warning.contains('\n'), "{warning:?}");
    }
}

/// How `nix` is run, seen by a fake one that records its arguments, environment,
/// stdin and directory, then answers like `nix eval` would.
#[test]
fn nix_runs_offline_read_only_with_stdin_closed_and_no_secrets() {
    let seen = tempfile::tempdir().expect("a temp dir");
    let at = |name: &str| seen.path().join(name).display().to_string();
    let fake = fake_nix(&format!(
        "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > {args}\n/usr/bin/env > {env}\n/bin/cat > {stdin}\npwd > {cwd}\necho '[\"hawk\",\"routy\",\"storage\"]'\n",
        args = at("args"),
        env = at("env"),
        stdin = at("stdin"),
        cwd = at("cwd"),
    ));
    let repo = TempRepo::from_fixture(FIXTURE);
    // A stdin with something to read: `nix` must not get it.
    let run = support::run_with_stdin(
        repo.path(),
        &["check", "--format", "json"],
        &[
            ("PATH", &path_with(fake.path())),
            ("SOPS_AGE_KEY", "AGE-SECRET-KEY-1NOTREAL"),
            ("GITHUB_TOKEN", "ghp_notreal"),
            ("NIX_CONFIG", "access-tokens = github.com=ghp_notreal"),
        ],
        Some(b"y\n"),
    );
    run.expect_code(1);
    assert_eq!(keys(&findings(&run)), listed());
    let read = |name: &str| std::fs::read_to_string(seen.path().join(name)).expect(name);
    let args: Vec<String> = read("args").lines().map(str::to_owned).collect();
    let has = |pair: &[&str]| args.windows(pair.len()).any(|w| w == pair);
    for pair in [
        &["--extra-experimental-features", "nix-command flakes"][..],
        &["eval", "--json"],
        &["--no-write-lock-file"],
        &["--offline"],
        &["--max-jobs", "0"],
        &["--option", "allow-import-from-derivation", "false"],
        &["--option", "restrict-eval", "true"],
        &["--option", "accept-flake-config", "false"],
        &[".#nixosConfigurations", "--apply", "builtins.attrNames"],
    ] {
        assert!(has(pair), "no {pair:?} in {args:?}");
    }
    let env = read("env");
    for secret in ["SOPS_AGE_KEY", "GITHUB_TOKEN", "NIX_CONFIG", "notreal"] {
        assert!(!env.contains(secret), "{secret} passed on:\n{env}");
    }
    assert!(env.contains("GIT_OPTIONAL_LOCKS=0"), "{env}");
    assert_eq!(read("stdin"), "", "stdin is not closed");
    let cwd = PathBuf::from(read("cwd").trim());
    assert_eq!(
        cwd.canonicalize().expect("cwd"),
        repo.path().canonicalize().expect("repo")
    );
}

#[test]
fn a_nix_that_hangs_is_stopped_with_its_children() {
    let seen = tempfile::tempdir().expect("a temp dir");
    let pid_file = seen.path().join("pid");
    let fake = fake_nix(&format!(
        "/bin/sleep 60 &\necho $! > {}\nwait\n",
        pid_file.display()
    ));
    let repo = TempRepo::from_fixture(FIXTURE);
    let started = std::time::Instant::now();
    let run = repo.run_env(
        &["--nix-timeout", "1", "check", "--format", "json"],
        &[("PATH", &path_with(fake.path()))],
    );
    let took = started.elapsed();
    run.expect_code(0);
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    let all = findings(&run);
    let warning = message(&all, "flake-hosts-unknown");
    assert!(
        warning.contains("`nix eval` did not finish in 1 s and was stopped"),
        "{warning}"
    );
    let pid = std::fs::read_to_string(&pid_file).expect("the fake's child");
    let stat = format!("/proc/{}/stat", pid.trim());
    let alive = || {
        std::fs::read_to_string(&stat)
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim_start().to_owned()))
            .is_some_and(|r| !r.is_empty() && !r.starts_with('Z') && !r.starts_with('X'))
    };
    let gone = (0..100).any(|_| {
        let still = alive();
        if still {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        !still
    });
    assert!(
        gone,
        "the fake nix's child {} outlived the timeout",
        pid.trim()
    );
}
