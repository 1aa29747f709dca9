//! The test harness: run the real binary in a temp git repo with a clean
//! environment, print everything on failure, and find external oracles.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository this test suite lives in (the bundled avalanche network).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The compiled binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_avalanche-net"))
}

/// True when CI demands every oracle (`AVALANCHE_REQUIRE_ORACLES=1`).
pub fn oracles_required() -> bool {
    std::env::var("AVALANCHE_REQUIRE_ORACLES").is_ok_and(|v| v == "1")
}

/// Finds `tool` on PATH. When missing: panics under `AVALANCHE_REQUIRE_ORACLES=1`,
/// else prints why the calling test is skipped and returns `None`.
pub fn oracle(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if oracles_required() {
            panic!(
                "oracle `{tool}` is not installed, and AVALANCHE_REQUIRE_ORACLES=1 (see .ci/run)"
            );
        }
        eprintln!(
            "SKIPPED: oracle `{tool}` is not installed (set AVALANCHE_REQUIRE_ORACLES=1 to make this a failure)"
        );
    }
    found
}

/// The tools of an oracle that also needs root (network namespaces, `setpriv`,
/// device nodes): `None`, loudly, when a tool is missing or the tests do not run as
/// root, and a failure instead under `AVALANCHE_REQUIRE_ORACLES=1`.
pub fn root_oracle(tools: &[&str]) -> Option<Vec<PathBuf>> {
    let found: Vec<PathBuf> = tools.iter().filter_map(|t| oracle(t)).collect();
    if found.len() != tools.len() {
        return None;
    }
    let uid = Command::new("id").arg("-u").output().ok().and_then(|o| {
        String::from_utf8(o.stdout)
            .ok()
            .map(|s| s.trim().to_owned())
    });
    if uid.as_deref() != Some("0") {
        if oracles_required() {
            panic!("this oracle needs root, and AVALANCHE_REQUIRE_ORACLES=1 (CI runs as root)");
        }
        eprintln!(
            "SKIPPED: this oracle needs root (set AVALANCHE_REQUIRE_ORACLES=1 to make this a failure)"
        );
        return None;
    }
    Some(found)
}

/// A temporary directory made into a git repository.
pub struct TempRepo {
    pub dir: tempfile::TempDir,
}

impl TempRepo {
    /// An empty git repo.
    pub fn new() -> TempRepo {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        let repo = TempRepo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// A git repo holding a copy of `fixture` (a directory under `tests/`), committed.
    pub fn from_fixture(fixture: &str) -> TempRepo {
        let repo = TempRepo::new();
        copy_dir(&workspace_root().join("tests").join(fixture), repo.path());
        repo.commit_all();
        repo
    }

    /// A git repo holding a copy of the bundled network's files (`nix/`, `.sops.yaml`,
    /// `secrets/`, `kubernetes/`, `tailscale/`, `flake.nix`), committed.
    pub fn bundled() -> TempRepo {
        let repo = TempRepo::new();
        let root = workspace_root();
        for entry in ["nix", "secrets", "kubernetes", "tailscale", "hosts"] {
            if root.join(entry).is_dir() {
                copy_dir(&root.join(entry), &repo.path().join(entry));
            }
        }
        for file in [".sops.yaml", "flake.nix", "flake.lock"] {
            if root.join(file).is_file() {
                std::fs::copy(root.join(file), repo.path().join(file))
                    .expect("copying a bundled file");
            }
        }
        repo.commit_all();
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `rel` (creating directories).
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("creating directories");
        }
        std::fs::write(path, text).expect("writing a file");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel))
            .unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    pub fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=test",
                "-c",
                "user.email=test@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(self.path())
            .status()
            .expect("running git");
        assert!(status.success(), "git {args:?} failed");
    }

    pub fn commit_all(&self) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", "fixture"]);
    }

    /// Seals the declared secret `name` with `avalanche-net secrets seal`, each of
    /// `keys` given a placeholder value, and commits: what an operator adopting the
    /// tool does before `build` (`secret-file-missing` is an error). Encrypting
    /// needs only the public keys of the `.sops.yaml` recipients.
    pub fn seal(&self, name: &str, keys: &[&str]) -> Run {
        let values: Vec<(String, String)> = keys
            .iter()
            .map(|k| ((*k).to_owned(), format!("placeholder-{}", k.to_lowercase())))
            .collect();
        let env: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let run = self.run_env(&["secrets", "seal", name], &env);
        run.expect_code(0);
        self.commit_all();
        run
    }

    /// Runs the binary in this repo with a clean environment.
    pub fn run(&self, args: &[&str]) -> Run {
        run_in(self.path(), args, &[])
    }

    /// Runs the binary with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        run_in(self.path(), args, env)
    }
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating a directory");
    for entry in
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display()))
    {
        let entry = entry.expect("reading a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copying a file");
        }
    }
}

/// Lays the overlay directory `from` over `repo`: its files are copied, except a
/// `<file>.patch` (a unified diff of `<file>` against what `repo` holds), which is
/// applied with `git apply` instead. A fixture that differs from its base by a few
/// lines says only those lines, not a whole copy of the base file.
pub fn lay_over(repo: &TempRepo, from: &Path) {
    copy_dir(from, repo.path());
    let mut patches = Vec::new();
    collect_patches(from, from, &mut patches);
    for rel in patches {
        let rel = rel.to_string_lossy().into_owned();
        repo.git(&["apply", "--whitespace=nowarn", &rel]);
        std::fs::remove_file(repo.path().join(&rel)).expect("removing an applied patch");
    }
}

fn collect_patches(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
    {
        let path = entry.expect("reading a directory entry").path();
        if path.is_dir() {
            collect_patches(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "patch") {
            out.push(
                path.strip_prefix(root)
                    .expect("under the overlay")
                    .to_path_buf(),
            );
        }
    }
    out.sort();
}

/// The result of one run, with everything needed to explain a failure.
pub struct Run {
    pub cwd: PathBuf,
    pub args: Vec<String>,
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The findings of a `check --format json` run, in its order: the one reader
    /// of that output for the tests.
    #[track_caller]
    pub fn findings(&self) -> Vec<serde_json::Value> {
        let parsed: serde_json::Value = serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout()));
        parsed.as_array().cloned().expect("an array of findings")
    }

    /// Those of [`Run::findings`] of `rule`.
    #[track_caller]
    pub fn findings_of(&self, rule: &str) -> Vec<serde_json::Value> {
        let mut all = self.findings();
        all.retain(|f| f["rule"] == rule);
        all
    }

    /// Asserts the exit code, printing the command, the directory listing, stdout and stderr otherwise.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        if self.code() != code {
            panic!(
                "expected exit {code}, got {}\n--- command: avalanche-net {}\n--- cwd: {}\n--- files:\n{}\n--- stdout:\n{}\n--- stderr:\n{}",
                self.code(),
                self.args.join(" "),
                self.cwd.display(),
                listing(&self.cwd),
                self.stdout(),
                self.stderr()
            );
        }
        self
    }
}

fn listing(dir: &Path) -> String {
    let out = Command::new("find")
        .arg(".")
        .arg("-not")
        .arg("-path")
        .arg("./.git*")
        .current_dir(dir)
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Runs the binary in `cwd` with a clean environment (PATH, HOME, and `env` only).
pub fn run_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_with_stdin(cwd, args, env, None)
}

/// [`run_in`], with `stdin` given to the binary (when `Some`) instead of a closed one.
pub fn run_with_stdin(
    cwd: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
) -> Run {
    use std::io::Write as _;
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(cwd).env_clear();
    for var in ["PATH", "HOME", "TMPDIR", "NIXPKGS_LIB"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd.env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = match stdin {
        None => cmd.output().expect("running avalanche-net"),
        Some(bytes) => {
            cmd.stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let mut child = cmd.spawn().expect("running avalanche-net");
            let mut input = child.stdin.take().expect("a stdin pipe");
            let bytes = bytes.to_vec();
            // Written on its own thread: the binary may never read it.
            let writer = std::thread::spawn(move || {
                let _ = input.write_all(&bytes);
            });
            let output = child.wait_with_output().expect("running avalanche-net");
            let _ = writer.join();
            output
        }
    };
    Run {
        cwd: cwd.to_path_buf(),
        args: args.iter().map(|s| s.to_string()).collect(),
        output,
    }
}

/// Every regular file and symlink under `dir` (but `.git`), path → bytes
/// (a symlink's bytes are `-> target`); directories as `path/` → empty.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.expect("a directory entry");
            let path = entry.path();
            if path
                .file_name()
                .is_some_and(|n| n == ".git" || n == "lost+found")
            {
                continue;
            }
            let ty = entry.file_type().expect("a file type");
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            if ty.is_symlink() {
                let target = std::fs::read_link(&path).expect("reading a link");
                out.insert(rel, format!("-> {}", target.display()).into_bytes());
            } else if ty.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(root, &path, out);
            } else {
                out.insert(
                    rel,
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `kubernetes-validate --strict` (Kubernetes 1.34's schemas) on what kustomize
/// built (`texts`), each of `objects` (`kind/name`, lowercase) required to pass.
/// A Secret still encrypted by SOPS is left out: it carries `sops:`, which the
/// GitOps engine strips when it decrypts; every other object is validated as
/// the API server sees it. Skipped, loudly, without the oracle (see [`oracle`]).
pub fn validate_strict(texts: &[String], objects: &[&str]) {
    let Some(validate) = oracle("kubernetes-validate") else {
        return;
    };
    let scratch = tempfile::tempdir().expect("a temp dir");
    let mut files = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let kept: Vec<&str> = text
            .split("\n---\n")
            .filter(|doc| {
                let secret = doc.contains("\nkind: Secret\n") || doc.starts_with("kind: Secret\n");
                !(secret && doc.contains("\nsops:\n"))
            })
            .collect();
        let file = scratch.path().join(format!("built-{i}.yaml"));
        std::fs::write(&file, kept.join("\n---\n")).expect("writing");
        files.push(file);
    }
    let out = Command::new(validate)
        .args(["--strict", "--kubernetes-version", "1.34.0", "--no-warn"])
        .args(&files)
        .output()
        .expect("kubernetes-validate");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "kubernetes-validate --strict failed:\n{report}"
    );
    for object in objects {
        assert!(
            report.contains(&format!("passed for resource {object}")),
            "{object} not validated:\n{report}"
        );
    }
}

/// One finding of `check --format json` as `severity rule file:line` (`-` for
/// what it lacks): how the exact-findings tests compare them.
pub fn finding_key(f: &serde_json::Value) -> String {
    format!(
        "{} {} {}:{}",
        f["severity"].as_str().unwrap_or("?"),
        f["rule"].as_str().unwrap_or("?"),
        f["file"].as_str().unwrap_or("-"),
        f["line"].as_u64().map_or("-".to_owned(), |l| l.to_string())
    )
}
