//! Regression tests for the attacks of issue 20 (and issue 15 item 11) that are not
//! about writing: key material in output, unbounded or blocking reads, evaluation
//! bombs, real Nix in `--eval auto`, unsafe values in declarations, exit codes
//! through a closed pipe, misleading errors. Each test reproduces the attack.
use crate::support::{self, TempRepo};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A key-shaped canary: the shape of an age identity, not a real key (spelled in
/// parts so secret scanners do not flag the test). Its body must never be printed.
fn canary_key() -> String {
    format!("{}-1{}", "AGE-SECRET-KEY", "CANARYQQQQZZZZ".repeat(4))
}

const CANARY_BODY: &str = "CANARYQQQQZZZZ";

fn assert_no_key(run: &support::Run, what: &str) {
    for (stream, text) in [("stdout", run.stdout()), ("stderr", run.stderr())] {
        assert!(
            !text.to_ascii_uppercase().contains(CANARY_BODY),
            "{what}: the key is printed on {stream}:\n{text}"
        );
    }
}

fn demo_key_body() -> String {
    let text = std::fs::read_to_string(support::workspace_root().join("tests/keys/demo.agekey"))
        .expect("the demo key");
    let line = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .expect("a key line");
    line["AGE-SECRET-KEY-1".len()..].to_owned()
}

/// The demo key's path, for `SOPS_AGE_KEY_FILE`.
fn demo_key_file() -> String {
    support::workspace_root()
        .join("tests/keys/demo.agekey")
        .display()
        .to_string()
}

/// Issue 20 item 5: a private age key is never printed, in any format, whether it
/// is the whole declarations file, a value quoted in a message, or a path in an error.
#[test]
fn a_private_key_is_masked_in_every_output_format() {
    let repo = TempRepo::bundled();
    let key_file = support::workspace_root().join("tests/keys/demo.agekey");
    let body = demo_key_body();
    for format in ["human", "json", "sarif"] {
        let run = repo.run(&[
            "--network",
            key_file.to_str().expect("UTF-8"),
            "check",
            "--format",
            format,
        ]);
        assert_ne!(run.code(), 0);
        for text in [run.stdout(), run.stderr()] {
            assert!(
                !text.contains(&body),
                "{format}: the demo key is printed:\n{text}"
            );
        }
    }

    // Quoted in a message (an enum value), as a label, a note and the help.
    let network = repo.read("nix/network.nix").replace(
        "role = \"workstation\";",
        &format!("role = \"{}\";", canary_key()),
    );
    repo.write("nix/network.nix", &network);
    for format in ["human", "json", "sarif"] {
        let run = repo.run(&["check", "--format", format]);
        assert_ne!(run.code(), 0, "{}", run.stderr());
        assert_no_key(&run, format);
        let all = run.stdout() + &run.stderr();
        assert!(all.contains("AGE-SECRET-KEY-*"), "{format}: {all}");
    }

    // In an error of the binary itself (a path).
    let run = repo.run(&["--repo", &format!("/nonexistent/{}", canary_key()), "check"]);
    run.expect_code(2);
    assert_no_key(&run, "--repo");
}

/// Runs the binary with a time limit: a read that blocks (a FIFO) must not hang
/// the test suite. Returns (code, stdout, stderr).
fn run_bounded(repo: &TempRepo, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(support::bin());
    cmd.args(args)
        .current_dir(repo.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", repo.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawning avalanche-net");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            let out = child.wait_with_output().expect("output");
            return (
                status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("avalanche-net {args:?} hung (a blocking read?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mkfifo(path: &std::path::Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// Issue 20 items 6 and 21: every read of a repository or user file refuses a
/// device or a FIFO at once, saying what it is (not "does not exist", not a hang,
/// not the OOM killer): an import of `/dev/zero`, `--network` a FIFO, `.sops.yaml`,
/// a SOPS file, `SOPS_AGE_KEY_FILE` and `--from`.
#[test]
fn devices_and_fifos_are_refused_everywhere_without_blocking() {
    let repo = TempRepo::bundled();
    let network = repo.read("nix/network.nix");

    // An import of a symlink to /dev/zero.
    std::os::unix::fs::symlink("/dev/zero", repo.path().join("nix/zero.nix")).expect("symlink");
    repo.write(
        "nix/network.nix",
        // Under an attribute decoding reads (an unknown one is never evaluated).
        &network.replacen(
            "description = \"Hetzner CAX11 Tailscale exit node\";",
            "description = import ./zero.nix;",
            1,
        ),
    );
    let (code, out, err) = run_bounded(&repo, &["check", "--eval", "static"], &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("zero.nix is a character device, not a regular file"),
        "{out}{err}"
    );
    repo.write("nix/network.nix", &network);
    std::fs::remove_file(repo.path().join("nix/zero.nix")).expect("rm");

    // --network is a FIFO.
    let fifo = repo.path().join(format!("decl-{}.nix", std::process::id()));
    mkfifo(&fifo);
    let (code, out, err) = run_bounded(
        &repo,
        &["--network", fifo.to_str().expect("UTF-8"), "check"],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        out.contains("is a FIFO (named pipe), not a regular file"),
        "{out}{err}"
    );
    std::fs::remove_file(&fifo).expect("rm");
    let (code, out, err) = run_bounded(&repo, &["--network", "/dev/zero", "check"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        out.contains("/dev/zero is a character device"),
        "{out}{err}"
    );

    // SOPS_AGE_KEY_FILE=/dev/zero, and a FIFO.
    let key_fifo = repo.path().join(format!("key-{}.txt", std::process::id()));
    mkfifo(&key_fifo);
    for key_file in ["/dev/zero", key_fifo.to_str().expect("UTF-8")] {
        let (code, _, err) = run_bounded(
            &repo,
            &["secrets", "show", "protonvpn"],
            &[("SOPS_AGE_KEY_FILE", key_file)],
        );
        assert_eq!(code, 2, "{key_file}: {err}");
        assert!(err.contains("not a regular file"), "{key_file}: {err}");
    }
    std::fs::remove_file(&key_fifo).expect("rm");

    // --from a FIFO.
    let from = repo
        .path()
        .join(format!("from-{}.yaml", std::process::id()));
    mkfifo(&from);
    let (code, _, err) = run_bounded(
        &repo,
        &[
            "secrets",
            "seal",
            "protonvpn",
            "--from",
            from.to_str().expect("UTF-8"),
        ],
        &[("SOPS_AGE_KEY_FILE", &demo_key_file())],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FIFO (named pipe), not a regular file"),
        "{err}"
    );
    std::fs::remove_file(&from).expect("rm");

    // `.sops.yaml` a FIFO: `secrets` commands say so; `check` does not open it and
    // counts it as not read.
    std::fs::remove_file(repo.path().join(".sops.yaml")).expect("rm");
    mkfifo(&repo.path().join(".sops.yaml"));
    let (code, _, err) = run_bounded(
        &repo,
        &["secrets", "seal", "protonvpn"],
        &[("SOPS_AGE_KEY_FILE", &demo_key_file())],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(".sops.yaml is a FIFO"), "{err}");
    let (_, out, err) = run_bounded(&repo, &["check"], &[]);
    assert!(out.contains("1 unreadable"), "{out}\n{err}");
}

/// The bundled network's retired VPS recipient.
const RETIRED_RECIPIENT: &str = "age1vwqtca3dnr6t844x99nun324vv7sy6gve8lsuvdn8dvfqax7zymq3n5vra";

/// Issue 20 item 8 / issue 15 item 11: files over 4 MiB are not skipped: a 5 MiB
/// SOPS file still encrypted to a retired host is reported at its recipient's line,
/// a retired host in a 5 MiB `flake.nix` is found, and `secrets verify` does not
/// skip a large SOPS file (it tries it, and fails on it).
#[test]
fn large_files_are_checked_not_skipped() {
    let repo = TempRepo::bundled();
    let mut sops = String::new();
    let value = format!(
        "ENC[AES256_GCM,data:{},iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]",
        "A".repeat(64)
    );
    let mut lines = 0;
    while sops.len() < 5 << 20 {
        sops.push_str(&format!("key{lines}: {value}\n"));
        lines += 1;
    }
    sops.push_str(&format!(
        "sops:\n    age:\n        - recipient: {RETIRED_RECIPIENT}\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            YWdl\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: \"2026-11-24T22:34:51Z\"\n    mac: {value}\n    unencrypted_suffix: _unencrypted\n    version: 3.11.0\n"
    ));
    repo.write("secrets/routy/big.yaml", &sops);
    let mut flake = repo.read("flake.nix");
    let padding = format!("# {}\n", "padding ".repeat(100)).repeat(7000);
    flake = flake.replacen('{', &format!("{{\n{padding}"), 1);
    repo.write("flake.nix", &flake);
    repo.write(
        "nixos/hosts/vps/default.nix",
        "{ networking.hostName = \"vps\"; }\n",
    );
    let run = repo.run(&["check", "--format", "json"]);
    let findings: serde_json::Value = serde_json::from_str(&run.stdout()).expect("JSON");
    let found = |rule: &str, file: &str| {
        findings
            .as_array()
            .expect("array")
            .iter()
            .any(|f| f["rule"] == rule && f["file"] == file)
    };
    assert!(
        found("retired-recipient", "secrets/routy/big.yaml"),
        "{}",
        run.stdout()
    );
    let at = findings
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["rule"] == "retired-recipient" && f["file"] == "secrets/routy/big.yaml")
        .expect("found");
    assert_eq!(at["line"], serde_json::json!(lines + 3), "{at}");
    run.expect_code(1);

    let run = repo.run_env(
        &["secrets", "verify"],
        &[("SOPS_AGE_KEY_FILE", &demo_key_file())],
    );
    assert!(
        (run.stdout() + &run.stderr()).contains("secrets/routy/big.yaml"),
        "verify skipped the large file:\n{}\n{}",
        run.stdout(),
        run.stderr()
    );
}

/// Issue 20 item 21: each error says what is actually wrong.
#[test]
fn errors_say_what_is_actually_wrong() {
    let repo = TempRepo::bundled();
    let key = demo_key_file();

    // A duplicate YAML key in a SOPS file: a syntax error, not "neither YAML nor JSON".
    let sealed = repo.read("secrets/routy/tailscale.yaml");
    let first = sealed.lines().next().expect("a line").to_owned();
    repo.write("dup.yaml", &format!("{first}\n{sealed}"));
    let run = repo.run_env(
        &["secrets", "show", "dup.yaml"],
        &[("SOPS_AGE_KEY_FILE", &key)],
    );
    run.expect_code(2);
    assert!(run.stderr().contains("duplicated key"), "{}", run.stderr());
    assert!(
        !run.stderr().contains("neither YAML nor JSON"),
        "{}",
        run.stderr()
    );

    // A damaged age stanza: the metadata is damaged, not "none of the identities".
    let damaged = sealed.replacen(
        "YWdlLWVuY3J5cHRpb24ub3JnL3Yx",
        "bm90LWFnZS1hdC1hbGwtLS0tLS0t",
        1,
    );
    assert_ne!(damaged, sealed, "the fixture's age stanza changed");
    repo.write("secrets/routy/tailscale.yaml", &damaged);
    let run = repo.run_env(
        &["secrets", "show", "secrets/routy/tailscale.yaml"],
        &[("SOPS_AGE_KEY_FILE", &key)],
    );
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains("is not a valid age file"),
        "{}",
        run.stderr()
    );
    assert!(
        !run.stderr().contains("none of the identities"),
        "{}",
        run.stderr()
    );
    repo.write("secrets/routy/tailscale.yaml", &sealed);

    // A binary `.sops.yaml`: not UTF-8, not "there is no .sops.yaml".
    std::fs::write(repo.path().join(".sops.yaml"), b"\xff\xfe\0binary").expect("write");
    let run = repo.run(&["check"]);
    run.expect_code(1);
    assert!(
        run.stdout().contains("`.sops.yaml` is not UTF-8 text"),
        "{}",
        run.stdout()
    );
    assert!(
        !run.stdout().contains("there is no `.sops.yaml`"),
        "{}",
        run.stdout()
    );

    // A bare repository: said so, not merely "not inside a git repository".
    let bare = tempfile::tempdir().expect("tempdir");
    let status = Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(bare.path())
        .status()
        .expect("git init --bare");
    assert!(status.success());
    let run = support::run_in(bare.path(), &["check"], &[]);
    run.expect_code(2);
    assert!(
        run.stdout().contains("is a bare git repository"),
        "{}{}",
        run.stdout(),
        run.stderr()
    );
}

/// Issue 20 item 22: invalid UTF-8 in the declarations, and a file over the
/// reader's size limit, are located (file and line) in every format.
#[test]
fn unreadable_declarations_are_located() {
    let repo = TempRepo::bundled();
    let network = repo.read("nix/network.nix");
    let mut bytes = network.clone().into_bytes();
    let at = network.find("retired.vps").expect("the retired host");
    bytes.insert(at, 0xff);
    std::fs::write(repo.path().join("nix/network.nix"), &bytes).expect("write");
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(2);
    let findings: serde_json::Value = serde_json::from_str(&run.stdout()).expect("JSON");
    let first = &findings[0];
    assert_eq!(first["file"], "nix/network.nix", "{first}");
    let line = network[..at].matches('\n').count() + 1;
    assert_eq!(first["line"], serde_json::json!(line), "{first}");
    assert!(
        first["message"]
            .as_str()
            .is_some_and(|m| m.contains("not UTF-8")),
        "{first}"
    );

    let huge = format!("{network}\n# {}\n", "x".repeat(17 << 20));
    repo.write("nix/network.nix", &huge);
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(2);
    let findings: serde_json::Value = serde_json::from_str(&run.stdout()).expect("JSON");
    assert_eq!(findings[0]["rule"], "nix-too-large", "{}", run.stdout());
    assert_eq!(findings[0]["file"], "nix/network.nix", "{}", run.stdout());
    assert_eq!(
        findings[0]["line"],
        serde_json::json!(1),
        "{}",
        run.stdout()
    );
}

/// Issue 20 item 17: terminal escape sequences from declarations are escaped in
/// human diagnostics, in the message and in the echoed source line.
#[test]
fn terminal_escapes_from_declarations_are_not_printed() {
    let repo = TempRepo::bundled();
    // An attribute name (quoted in the message) and a value (rejected, echoed in
    // the snippet).
    let network = repo.read("nix/network.nix").replace(
        "role = \"workstation\";",
        "role = \"workstation\"; \"\u{1b}[2J\u{1b}]0;owned\u{7}x\" = \"\u{1b}[5m\";",
    );
    repo.write("nix/network.nix", &network);
    for color in ["never", "always"] {
        let run = repo.run(&["--color", color, "check"]);
        run.expect_code(1);
        let out = run.stdout() + &run.stderr();
        assert!(
            !out.contains("\u{1b}[2J") && !out.contains("\u{1b}[5m") && !out.contains('\u{7}'),
            "{color}: {out:?}"
        );
        assert!(out.contains("\\u{1b}[2J"), "{color}: {out}");
    }
}

/// Issue 20 item 26: README says the flag wins over `NO_COLOR`; so does the tool.
#[test]
fn color_always_wins_over_no_color_as_documented() {
    let repo = TempRepo::bundled();
    let network = repo
        .read("nix/network.nix")
        .replace("role = \"workstation\";", "role = \"nope\";");
    repo.write("nix/network.nix", &network);
    // The harness sets NO_COLOR=1.
    let run = repo.run(&["--color", "always", "check"]);
    assert!(run.stdout().contains("\u{1b}["), "{}", run.stdout());
    let run = repo.run(&["check"]);
    assert!(!run.stdout().contains("\u{1b}["), "{}", run.stdout());
    let readme =
        std::fs::read_to_string(support::workspace_root().join("README.md")).expect("README");
    assert!(readme.contains("the flag wins over `NO_COLOR`"));
}

/// Runs the binary with stdout a pipe whose reader has already gone (every write
/// fails with EPIPE), or with stdout closed (`>&-`); returns the exit code and stderr.
fn run_without_reader(repo: &TempRepo, args: &[&str], closed: bool) -> (i32, String) {
    let mut cmd = if closed {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg("\"$@\" >&-")
            .arg("bash")
            .arg(support::bin());
        cmd
    } else {
        Command::new(support::bin())
    };
    cmd.args(args)
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .env("SOPS_AGE_KEY_FILE", demo_key_file())
        .stderr(Stdio::piped());
    if !closed {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        cmd.stdout(writer);
    }
    let out = cmd.output().expect("running avalanche-net");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 20 item 20: a reader that goes away keeps the exit code of the findings
/// (`check | true` with errors is 1, `diff | true` with drift is 1); a command
/// whose output is its result fails (2) when there is no stdout at all.
#[test]
fn a_closed_pipe_keeps_the_exit_code_of_the_findings() {
    let repo = TempRepo::bundled();
    let clean = repo.run(&["build"]);
    clean.expect_code(0);
    // Drift: a generated file edited.
    let generated = "kubernetes/base/infra/vpn-proxy-app.yaml";
    let text = repo.read(generated);
    repo.write(generated, &format!("{text}# edited\n"));
    // Bigger than a pipe buffer, so the writes really fail.
    let (code, err) = run_without_reader(&repo, &["diff"], false);
    assert_eq!(code, 1, "diff | true: {err}");
    repo.write(generated, &text);

    let network = repo.read("nix/network.nix");
    let mut broken = network.clone();
    for i in 0..200 {
        broken = broken.replacen(
            "    tailscale = {",
            &format!("    retired.r{i} = {{ description = \"x\"; }};\n    tailscale = {{"),
            1,
        );
    }
    broken = broken.replace("role = \"workstation\";", "role = \"nope\";");
    repo.write("nix/network.nix", &broken);
    for format in ["human", "json"] {
        let (code, err) = run_without_reader(&repo, &["check", "--format", format], false);
        assert_eq!(code, 1, "check --format {format} | true: {err}");
    }
    repo.write("nix/network.nix", &network);

    // No stdout at all: nothing was delivered.
    for args in [&["eval"][..], &["secrets", "show", "protonvpn"], &["graph"]] {
        let (code, err) = run_without_reader(&repo, args, true);
        assert_eq!(code, 2, "{args:?} >&-: {err}");
        assert!(err.contains("stdout is closed"), "{args:?}: {err}");
    }
    // A reader that stopped early (`eval | head -c1`) is not a failure.
    let (code, err) = run_without_reader(&repo, &["eval"], false);
    assert_eq!(code, 0, "eval | true: {err}");
}

/// Strings the YAML emitter must carry exactly through YAML 1.1 readers.
const TRICKY_STRINGS: &[&str] = &[
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14T21:59:43.10Z",
    "2001-12-14 21:59:43.10 -5",
    "2001-12-14",
    "2002-1-2",
    "a\u{7f}b",
    "c1 \u{80}\u{85}\u{9f} end",
    "nonchars \u{fffe}\u{ffff}",
    "\u{feff}bom",
    "on",
    "No",
    "~",
    "null",
    "0x1F",
    "0o17",
    "1_000",
    "1:20",
    "1e3",
    ".inf",
    "-.5",
    "=",
    "<<",
    "@at",
    "!tag",
    "&anchor",
    "*alias",
    "? key",
    "| block",
    "> fold",
    "%directive",
    "`tick",
    "x: y",
    "x #y",
    " lead",
    "trail ",
    "multi\nline\n",
    "tab\there",
    "quote \" and \\ backslash",
    "é ü 😀",
];

/// Issue 20 items 13 and 14: the emitter's output reads back exactly with PyYAML
/// (a YAML 1.1 reader) and through `kubectl kustomize`: DEL, C1 controls,
/// U+FFFE/U+FFFF escaped, every timestamp form quoted.
#[test]
fn generated_yaml_round_trips_through_pyyaml_and_kustomize() {
    use avalanche_render::node::Node;
    use std::borrow::Cow;
    let (Some(python), Some(kubectl)) = (support::oracle("python3"), support::oracle("kubectl"))
    else {
        return;
    };
    let has_yaml = Command::new(&python)
        .args(["-c", "import yaml"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_yaml {
        assert!(
            !support::oracles_required(),
            "PyYAML is not installed (python3-yaml; .ci/run installs it), and AVALANCHE_REQUIRE_ORACLES=1"
        );
        eprintln!("SKIPPED: PyYAML is not installed");
        return;
    }
    let data: Vec<(Cow<str>, Node)> = TRICKY_STRINGS
        .iter()
        .enumerate()
        .map(|(i, s)| (Cow::Owned(format!("k{i}")), Node::from(*s)))
        .collect();
    let config_map = Node::Map(vec![
        ("apiVersion".into(), "v1".into()),
        ("kind".into(), "ConfigMap".into()),
        (
            "metadata".into(),
            Node::Map(vec![("name".into(), "tricky".into())]),
        ),
        ("data".into(), Node::Map(data)),
    ]);
    let yaml = avalanche_render::yaml::to_string(&config_map);
    let want = config_map.to_json();

    let load = |text: &str| -> serde_json::Value {
        let mut child = Command::new(&python)
            .args([
                "-c",
                "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin.buffer), sys.stdout)",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("writing");
        let out = child.wait_with_output().expect("python3");
        assert!(
            out.status.success(),
            "PyYAML rejects:\n{}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON from python")
    };
    assert_eq!(
        load(&yaml),
        want,
        "PyYAML reads back something else:\n{yaml}"
    );

    // kustomize re-emits values raw and then refuses DEL, C1 controls and
    // U+FFFE/U+FFFF however they were escaped: such values cannot pass through it
    // at all, which is why declarations may not hold them (model-control-char).
    // Every other string must come out of it unchanged.
    let carried: Vec<(Cow<str>, Node)> = TRICKY_STRINGS
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            !s.chars().any(|c| {
                matches!(c, '\u{7f}' | '\u{80}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
            })
        })
        .map(|(i, s)| (Cow::Owned(format!("k{i}")), Node::from(*s)))
        .collect();
    assert!(carried.len() + 3 == TRICKY_STRINGS.len());
    let config_map = Node::Map(vec![
        ("apiVersion".into(), "v1".into()),
        ("kind".into(), "ConfigMap".into()),
        (
            "metadata".into(),
            Node::Map(vec![("name".into(), "tricky".into())]),
        ),
        ("data".into(), Node::Map(carried)),
    ]);
    let yaml = avalanche_render::yaml::to_string(&config_map);
    let want = config_map.to_json();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("cm.yaml"), &yaml).expect("write");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cm.yaml\n",
    )
    .expect("write");
    let out = Command::new(&kubectl)
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .expect("kubectl kustomize");
    assert!(
        out.status.success(),
        "kustomize rejects:\n{}\n{yaml}",
        String::from_utf8_lossy(&out.stderr)
    );
    // kustomize writes `=` plain, which PyYAML cannot construct (YAML 1.1's
    // value tag): its output is read with a YAML 1.2 reader.
    let built: serde_json::Value =
        serde_norway::from_slice(&out.stdout).expect("kustomize's output parses");
    assert_eq!(
        built["data"], want["data"],
        "kustomize changed a value:\n{yaml}"
    );
}

/// Issue 20 item 7: an 8 KB declarations file hiding a shared nested-set bomb under
/// an unknown attribute: `check` reports the unknown attribute without evaluating
/// it (in seconds, not the OOM killer); `eval`, which must print everything,
/// stops at the evaluation budget with a located error.
#[test]
fn an_evaluation_bomb_under_an_unknown_attribute_is_not_evaluated() {
    let repo = TempRepo::bundled();
    let mut bomb = String::from("let\n  a0 = { s = \"payload\"; };\n");
    for i in 1..=60 {
        bomb.push_str(&format!(
            "  a{i} = {{ x = a{}; y = a{}; }};\n",
            i - 1,
            i - 1
        ));
    }
    let network = repo.read("nix/network.nix");
    let body = network.trim_start_matches(|c| c != '{');
    let text = format!(
        "{bomb}in\n{}",
        body.replacen("    egress = {", "    egress = {\n      bogus = a60;", 1)
    );
    repo.write("nix/network.nix", &text);
    let started = Instant::now();
    let (code, out, err) = run_bounded(
        &repo,
        &["check", "--format", "json", "--eval", "static"],
        &[],
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "slow: {:?}",
        started.elapsed()
    );
    assert_eq!(code, 1, "{out}{err}");
    let findings: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let unknown = findings
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["rule"] == "model-unknown-attribute")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        unknown["message"]
            .as_str()
            .is_some_and(|m| m.contains("bogus")),
        "{unknown}"
    );
    assert_eq!(unknown["file"], "nix/network.nix");

    let (code, out, err) = run_bounded(&repo, &["eval", "--eval", "static"], &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("nix-too-large")
            && err.contains("while evaluating `avalanche.network.egress.bogus"),
        "{err}"
    );
}
