//! Multi-document SOPS YAML files, as real repositories hold them: several
//! Kubernetes Secrets in one file, encrypted by the real `sops` (one `sops:`
//! block repeated in every document, one MAC over all of them), and files made
//! by concatenating documents encrypted one by one (a `sops:` block and MAC per
//! document). The repository is `fixtures/repos/homelab-ha`; its age keys are
//! made here with `age-keygen` and thrown away with the temporary directory.
use crate::support::{self, TempRepo};
use std::path::{Path, PathBuf};
use std::process::Command;

const HOMELAB: &str = "fixtures/repos/homelab-ha";
const GRAFANA: &str = "k8s/monitoring/grafana.sops.yaml";

const PLAIN: &str = "apiVersion: v1
kind: Secret
metadata:
    name: grafana-admin
    namespace: monitoring
type: Opaque
stringData:
    password: first-password
---
apiVersion: v1
kind: Secret
metadata:
    name: grafana-oauth
    namespace: monitoring
stringData:
    client-secret: oauth-client-secret
    empty: \"\"
";

/// An age key pair made by the real `age-keygen`: (key file, public key).
fn keygen(tool: &Path, dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}.agekey"));
    let out = Command::new(tool)
        .arg("-o")
        .arg(&path)
        .output()
        .expect("running age-keygen");
    assert!(out.status.success(), "age-keygen failed");
    let text = std::fs::read_to_string(&path).expect("reading the key");
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("a public key line")
        .to_owned();
    (path, public)
}

struct Fixture {
    repo: TempRepo,
    sops: PathBuf,
    keys: tempfile::TempDir,
    alice: (PathBuf, String),
    gw_a: (PathBuf, String),
    eve: (PathBuf, String),
}

impl Fixture {
    /// The homelab with a `.sops.yaml` naming each key by an anchor, or `None`
    /// (skipped loudly) without the oracles.
    fn new() -> Option<Fixture> {
        let sops = support::oracle("sops")?;
        let keygen_tool = support::oracle("age-keygen")?;
        let keys = tempfile::tempdir().expect("temp dir");
        let alice = keygen(&keygen_tool, keys.path(), "alice");
        let gw_a = keygen(&keygen_tool, keys.path(), "gw-a");
        let eve = keygen(&keygen_tool, keys.path(), "eve");
        let repo = TempRepo::from_fixture(HOMELAB);
        let f = Fixture {
            repo,
            sops,
            keys,
            alice,
            gw_a,
            eve,
        };
        f.write_sops_yaml(false);
        Some(f)
    }

    fn write_sops_yaml(&self, with_eve: bool) {
        let eve = if with_eve {
            format!("  - &admin_eve {}\n", self.eve.1)
        } else {
            String::new()
        };
        let eve_alias = if with_eve {
            "\n          - *admin_eve"
        } else {
            ""
        };
        self.repo.write(
            ".sops.yaml",
            &format!(
                "keys:\n  - &admin_alice {}\n  - &host_gw_a {}\n{eve}creation_rules:\n  - path_regex: ^k8s/.*\\.sops\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    key_groups:\n      - age:\n          - *admin_alice\n          - *host_gw_a{eve_alias}\n",
                self.alice.1, self.gw_a.1
            ),
        );
    }

    /// Runs the real sops in the repository with `key`.
    fn sops(&self, key: &Path, args: &[&str]) -> String {
        let out = Command::new(&self.sops)
            .arg("--disable-version-check")
            .args(args)
            .current_dir(self.repo.path())
            .env("SOPS_AGE_KEY_FILE", key)
            .env("XDG_CONFIG_HOME", self.keys.path())
            .env("HOME", self.keys.path())
            .output()
            .expect("running sops");
        assert!(
            out.status.success(),
            "sops {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// Runs avalanche-net with `key` as the only identity.
    fn run(&self, key: &Path, args: &[&str], extra: &[(&str, &str)]) -> support::Run {
        let home = self.keys.path().display().to_string();
        let key = key.display().to_string();
        let mut env = vec![
            ("SOPS_AGE_KEY_FILE", key.as_str()),
            ("XDG_CONFIG_HOME", home.as_str()),
            ("HOME", home.as_str()),
        ];
        env.extend_from_slice(extra);
        self.repo.run_env(args, &env)
    }

    /// The two Secrets of `PLAIN`, encrypted by sops in one go.
    fn seal_with_sops(&self) {
        self.repo.write(GRAFANA, PLAIN);
        self.sops(&self.alice.0, &["-e", "-i", GRAFANA]);
    }
}

#[test]
fn a_file_sops_wrote_with_several_documents_is_read_verified_sealed_and_rekeyed() {
    let Some(f) = Fixture::new() else { return };
    f.seal_with_sops();
    let written = f.repo.read(GRAFANA);
    assert_eq!(written.matches("\nsops:\n").count(), 2, "{written}");

    // Every document is read, and the one MAC over both holds.
    let verify = f.run(&f.gw_a.0, &["secrets", "verify", "--verbose"], &[]);
    verify.expect_code(0);
    assert!(
        verify
            .stdout()
            .contains(&format!("ok {GRAFANA} (2 documents)"))
            && verify.stdout().contains("verified 1 SOPS file"),
        "{}",
        verify.stdout()
    );
    // `show` prints what `sops -d` prints.
    let show = f.run(&f.gw_a.0, &["secrets", "show", GRAFANA], &[]);
    show.expect_code(0);
    assert_eq!(show.stdout(), f.sops(&f.alice.0, &["-d", GRAFANA]));

    // Re-sealing unchanged values leaves the file alone…
    f.repo.write(
        "nix/network.nix",
        &f.repo.read("nix/network.nix").replace(
            "    kubernetes.dir = \"k8s\";",
            "    kubernetes.dir = \"k8s\";\n    secrets.grafana-admin = { file = \"k8s/monitoring/grafana.sops.yaml\"; namespace = \"monitoring\"; keys = [ \"password\" ]; };",
        ),
    );
    let same = f.run(&f.alice.0, &["secrets", "seal", "grafana-admin"], &[]);
    same.expect_code(0);
    assert_eq!(f.repo.read(GRAFANA), written, "{}", same.stdout());
    // …and a new value changes its document only; sops reads the result.
    f.run(
        &f.alice.0,
        &["secrets", "seal", "grafana-admin"],
        &[("password", "second-password")],
    )
    .expect_code(0);
    let resealed = f.sops(&f.gw_a.0, &["-d", GRAFANA]);
    assert_eq!(
        resealed,
        f.sops(&f.alice.0, &["-d", GRAFANA]),
        "both recipients read it"
    );
    assert!(
        resealed.contains("password: second-password")
            && resealed.contains("client-secret: oauth-client-secret"),
        "{resealed}"
    );
    let new_text = f.repo.read(GRAFANA);
    let oauth_line = |t: &str| {
        t.lines()
            .find(|l| l.contains("client-secret: ENC["))
            .map(str::to_owned)
    };
    assert_eq!(
        oauth_line(&new_text),
        oauth_line(&written),
        "the other document keeps its ciphertext"
    );

    // updatekeys: a new recipient in `.sops.yaml` can decrypt every document
    // with the real sops; the data key and values stay.
    f.write_sops_yaml(true);
    let update = f.run(&f.alice.0, &["secrets", "updatekeys"], &[]);
    update.expect_code(0);
    assert!(
        update.stdout().contains(&format!("updated {GRAFANA}")),
        "{}",
        update.stdout()
    );
    assert_eq!(f.sops(&f.eve.0, &["-d", GRAFANA]), resealed);
    let rekeyed = f.repo.read(GRAFANA);
    assert_eq!(
        rekeyed.matches(&f.eve.1).count(),
        2,
        "one stanza per document: {rekeyed}"
    );
    assert_eq!(oauth_line(&rekeyed), oauth_line(&new_text));
    // --rotate: a new data key for the whole file, still one MAC sops accepts.
    f.run(&f.alice.0, &["secrets", "updatekeys", "--rotate"], &[])
        .expect_code(0);
    assert_ne!(oauth_line(&f.repo.read(GRAFANA)), oauth_line(&rekeyed));
    assert_eq!(f.sops(&f.eve.0, &["-d", GRAFANA]), resealed);
}

/// Documents encrypted one by one and concatenated carry a `sops:` block and a
/// MAC each: read document by document; a fault names its document.
#[test]
fn documents_with_their_own_metadata_are_judged_one_by_one() {
    let Some(f) = Fixture::new() else { return };
    let (first, second) = PLAIN.split_once("---\n").expect("two documents");
    f.repo.write("k8s/a.sops.yaml", first);
    f.repo.write("k8s/b.sops.yaml", second);
    f.sops(&f.alice.0, &["-e", "-i", "k8s/a.sops.yaml"]);
    f.sops(&f.alice.0, &["-e", "-i", "k8s/b.sops.yaml"]);
    let a = f.repo.read("k8s/a.sops.yaml");
    let b = f.repo.read("k8s/b.sops.yaml");
    std::fs::remove_file(f.repo.path().join("k8s/a.sops.yaml")).expect("rm");
    std::fs::remove_file(f.repo.path().join("k8s/b.sops.yaml")).expect("rm");
    let joined = format!("{a}---\n{b}");
    f.repo.write(GRAFANA, &joined);

    let verify = f.run(&f.gw_a.0, &["secrets", "verify", "--verbose"], &[]);
    verify.expect_code(0);
    assert!(
        verify
            .stdout()
            .contains(&format!("ok {GRAFANA} (2 documents)")),
        "{}",
        verify.stdout()
    );
    let show = f.run(&f.gw_a.0, &["secrets", "show", GRAFANA], &[]);
    show.expect_code(0);
    assert_eq!(show.stdout(), PLAIN);

    // A value of the second document tampered with: exit 1, naming the document.
    let line = joined
        .lines()
        .find(|l| l.contains("client-secret: ENC["))
        .expect("a value");
    let at = line.find("data:").expect("data") + 5;
    let flipped = if &line[at..at + 1] == "A" { "B" } else { "A" };
    let tampered = joined.replace(
        line,
        &format!("{}{flipped}{}", &line[..at], &line[at + 1..]),
    );
    f.repo.write(GRAFANA, &tampered);
    let doc2_line = a.lines().count() + 2;
    let verify = f.run(&f.gw_a.0, &["secrets", "verify"], &[]);
    verify.expect_code(1);
    assert!(
        verify.stderr().contains(&format!(
            "{GRAFANA}: document 2 (line {doc2_line}): value at `stringData:client-secret:` failed authentication"
        )),
        "{}",
        verify.stderr()
    );
    f.repo.write(GRAFANA, &joined);

    // Sealing the first document re-encrypts it alone: the second keeps its bytes.
    f.repo.write(
        "nix/network.nix",
        &f.repo.read("nix/network.nix").replace(
            "    kubernetes.dir = \"k8s\";",
            "    kubernetes.dir = \"k8s\";\n    secrets.grafana-admin = { file = \"k8s/monitoring/grafana.sops.yaml\"; namespace = \"monitoring\"; keys = [ \"password\" ]; };",
        ),
    );
    f.run(
        &f.alice.0,
        &["secrets", "seal", "grafana-admin"],
        &[("password", "second-password")],
    )
    .expect_code(0);
    let sealed = f.repo.read(GRAFANA);
    assert!(sealed.ends_with(&format!("---\n{b}")), "{sealed}");
    let show = f.run(&f.gw_a.0, &["secrets", "show", GRAFANA], &[]);
    show.expect_code(0);
    assert_eq!(
        show.stdout(),
        PLAIN.replace("first-password", "second-password")
    );
    f.repo.write(GRAFANA, &joined);

    // `check` compares each document's recipients with the rule: the second
    // document is no longer encrypted to gw-a.
    let without_gw_a = {
        let (head, tail) = joined.split_at(a.len());
        let mut kept = String::new();
        let mut skip = 0;
        for l in tail.lines() {
            if l.contains(&format!("- recipient: {}", f.gw_a.1)) {
                skip = 8; // the recipient line and its armored `enc` block
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            kept.push_str(l);
            kept.push('\n');
        }
        format!("{head}{kept}")
    };
    assert_eq!(without_gw_a.matches(&f.gw_a.1).count(), 1, "{without_gw_a}");
    f.repo.write(GRAFANA, &without_gw_a);
    let check = f.repo.run(&["check", "--format", "json"]);
    let findings: serde_json::Value = serde_json::from_str(&check.stdout()).expect("JSON");
    let differ: Vec<&serde_json::Value> = findings
        .as_array()
        .expect("array")
        .iter()
        .filter(|f| f["rule"] == "sops-recipients-differ")
        .collect();
    let sops_line = without_gw_a
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "sops:")
        .nth(1)
        .map(|(n, _)| n as u64 + 1)
        .expect("a second sops block");
    assert_eq!(differ.len(), 1, "{differ:#?}");
    assert_eq!(differ[0]["file"], GRAFANA);
    assert_eq!(differ[0]["line"], sops_line, "{differ:#?}");
    assert!(
        differ[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("document 2 of")),
        "{differ:#?}"
    );
}

/// `verify` counts every SOPS file and names each it could not read, with the
/// reason, without `--verbose`.
#[test]
fn verify_counts_every_sops_file_and_names_those_it_cannot_read() {
    let Some(f) = Fixture::new() else { return };
    f.seal_with_sops();
    let good = f.repo.read(GRAFANA);
    // A copy whose YAML broke (a merge conflict left in it).
    f.repo.write(
        "k8s/broken.sops.yaml",
        &good.replacen("kind: Secret\n", "kind: Secret\n<<<<<<< HEAD\n  : [\n", 1),
    );
    // A SOPS file no creation rule covers.
    f.repo.write("elsewhere/other.sops.yaml", &good);
    // A subtree governed by its own `.sops.yaml`.
    f.repo
        .write("vendor/chart/.sops.yaml", "creation_rules: []\n");
    f.repo.write("vendor/chart/values.sops.yaml", &good);
    let verify = f.run(&f.gw_a.0, &["secrets", "verify"], &[]);
    verify.expect_code(1);
    let err = verify.stderr();
    // Named as `file:line:`.
    let at = err.find("k8s/broken.sops.yaml:").expect(&err) + "k8s/broken.sops.yaml:".len();
    assert!(err[at..].starts_with(|c: char| c.is_ascii_digit()), "{err}");
    assert!(
        err.contains("1 SOPS file left out, as no creation rule of .sops.yaml matches it: elsewhere/other.sops.yaml"),
        "{err}"
    );
    assert!(
        err.contains("1 of 2 SOPS files: 1 failed to verify"),
        "{err}"
    );
    assert!(
        err.contains("note: left out vendor/chart/, which has its own .sops.yaml"),
        "{err}"
    );
}
