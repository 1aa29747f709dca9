//! End-to-end tests of `eval`: the static reader against real Nix on the corpus,
//! diagnostics for everything outside the subset (located by their `--> file:L:C`
//! line), import cycles, pathological nesting, the `nix` bridge and `--eval auto`.
use crate::support::{self, TempRepo};
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    support::workspace_root().join("tests/nix-corpus")
}

fn nix_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "nix"))
        .collect();
    files.sort();
    files
}

/// Runs `nix-instantiate --eval --strict --json` on `file` (a top-level function is
/// called as the static reader calls it), with throwaway state directories.
fn nix_instantiate(tool: &Path, file: &Path) -> std::process::Output {
    let nix = NixSandbox::new();
    let abs = std::fs::canonicalize(file).expect("canonical path");
    Command::new(tool)
        .args(avalanche_nix::nix_instantiate_args(&abs))
        .envs(nix.env())
        .output()
        .expect("running nix-instantiate")
}

fn parse_json(text: &str, what: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{what} is not JSON ({e}): {text}"))
}

#[test]
fn corpus_evaluates_as_nix_instantiate_does() {
    let Some(nix) = support::oracle("nix-instantiate") else {
        return;
    };
    let dir = corpus();
    let files = nix_files(&dir);
    assert!(files.len() >= 45, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let run = support::run_in(&dir, &["eval", "--eval", "static", &name], &[]);
        if run.code() != 0 {
            failures.push(format!("{name}: exit {}\n{}", run.code(), run.stderr()));
            continue;
        }
        let out = nix_instantiate(&nix, file);
        assert!(
            out.status.success(),
            "{name}: nix-instantiate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = parse_json(&run.stdout(), "our output");
        let theirs = parse_json(
            &String::from_utf8_lossy(&out.stdout),
            "nix-instantiate's output",
        );
        // serde_json compares numbers exactly (floats as parsed f64), objects by key.
        if ours != theirs {
            failures.push(format!(
                "{name}:\n  ours:   {}\n  theirs: {}",
                run.stdout().trim(),
                theirs
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// `(line, column)` of the first `--> path:L:C` in human output, with the path.
fn location(stderr: &str) -> Option<(String, usize, usize)> {
    stderr.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("--> ")?;
        let mut parts = rest.rsplitn(3, ':');
        let col = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((parts.next()?.to_string(), line, col))
    })
}

/// Every construct outside the static subset: (source, construct named, line, column).
const UNSUPPORTED: &[(&str, &str, usize, usize)] = &[
    ("{\n  a = with x; 1;\n}\n", "`with`", 2, 7),
    ("{ a = if true then 1 else 2; }\n", "`if`", 1, 7),
    ("{ a = x: x; }\n", "`function`", 1, 7),
    ("{ a = (import ./b.nix) { }; }\n", "`function call`", 1, 7),
    ("{ a = builtins.length [ ]; }\n", "`builtins`", 1, 7),
    ("{ a = map (x: x) [ ]; }\n", "`function call`", 1, 7),
    ("{ a = { }.b or 1; }\n", "`or`", 1, 13),
    ("{ a = { } ? b; }\n", "`?`", 1, 11),
    ("{ a = assert true; 1; }\n", "`assert`", 1, 7),
    (
        "{ lib, ... }:\n{\n  a = lib.mkDefault 1;\n}\n",
        "`lib`",
        3,
        7,
    ),
    (
        "{ config, ... }:\n{\n  b = config.networking;\n}\n",
        "`config`",
        3,
        7,
    ),
    ("args@{ ... }: { a = args; }\n", "`args`", 1, 21),
    ("{ a = ./file.txt; }\n", "`path value`", 1, 7),
    ("{ a = \"${./x}\"; }\n", "`path value`", 1, 10),
    ("{ a = ~/x; }\n", "`path value`", 1, 7),
    ("{ a = <nixpkgs>; }\n", "`<nixpkgs>`", 1, 7),
    ("{ a = import <nixpkgs> { }; }\n", "`function call`", 1, 7),
    ("{ a = import \"./x.nix\"; }\n", "`import`", 1, 7),
    ("{ a = import ./${\"x\"}.nix; }\n", "`import`", 1, 14),
    ("{ a = import; }\n", "`import`", 1, 7),
    ("{ a = 1 == 1; }\n", "`==`", 1, 9),
    ("{ a = 1 != 2; }\n", "`!=`", 1, 9),
    ("{ a = 1 < 2; }\n", "`<`", 1, 9),
    ("{ a = 1 >= 2; }\n", "`>=`", 1, 9),
    ("{ a = !true; }\n", "`!`", 1, 7),
    ("{ a = true && false; }\n", "`&&`", 1, 12),
    ("{ a = true || false; }\n", "`||`", 1, 12),
    ("{ a = true -> false; }\n", "`->`", 1, 12),
    ("{ a = http://example.org; }\n", "`URI literal`", 1, 7),
    ("let { body = 1; }\n", "`let { }`", 1, 1),
    ("{ a = __curPos; }\n", "`__curPos`", 1, 7),
    ("{ a = toString 1; }\n", "`function call`", 1, 7),
    (
        "# The network.\n#\n#\n#\n#\n#\n#\n#\n#\n#\n{\n  a = {\n    b = with c; d;\n  };\n}\n",
        "`with`",
        13,
        9,
    ),
];

#[test]
fn unsupported_constructs_are_located_and_named() {
    let repo = TempRepo::new();
    let mut failures = Vec::new();
    for (source, construct, line, col) in UNSUPPORTED {
        repo.write("nix/network.nix", source);
        let run = repo.run(&["eval", "--eval", "static", "nix/network.nix"]);
        let stderr = run.stderr();
        let ok = run.code() == 2
            && stderr.contains("error[nix-unsupported]")
            && stderr.contains(&format!("{construct} is outside the static Nix subset"))
            && stderr.contains("--eval nix")
            && location(&stderr) == Some(("nix/network.nix".to_string(), *line, *col));
        if !ok {
            failures.push(format!(
                "{source:?}: expected {construct} at {line}:{col}, exit 2; got exit {}:\n{stderr}",
                run.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn syntax_errors_and_undefined_variables_are_located() {
    let repo = TempRepo::new();
    for (source, rule, line, col) in [
        ("{\n  a = 1\n}\n", "nix-syntax", 3, 1),
        ("{\n  a = b;\n}\n", "nix-undefined-variable", 2, 7),
        ("{\n  a.b = 1;\n  a.b = 2;\n}\n", "nix-duplicate-attr", 3, 3),
        ("{ a = \"${1}\"; }\n", "nix-type-error", 1, 8),
    ] {
        repo.write("nix/network.nix", source);
        let run = repo.run(&["eval", "--eval", "static", "nix/network.nix"]);
        run.expect_code(2);
        let stderr = run.stderr();
        assert!(
            stderr.contains(&format!("error[{rule}]")),
            "{source:?}: expected {rule}:\n{stderr}"
        );
        assert_eq!(
            location(&stderr),
            Some(("nix/network.nix".to_string(), line, col)),
            "{source:?}:\n{stderr}"
        );
    }
}

#[test]
fn imports_resolve_relative_to_the_importing_file() {
    let repo = TempRepo::new();
    repo.write(
        "nix/network.nix",
        "{ hosts = import ./hosts; extra = import ./hosts/extra.nix; }\n",
    );
    repo.write("nix/hosts/default.nix", "{ a = import ./a.nix; }\n");
    repo.write(
        "nix/hosts/a.nix",
        "{ role = \"server\"; up = import ../../top.nix; }\n",
    );
    repo.write("nix/hosts/extra.nix", "[ 1 ]\n");
    repo.write("top.nix", "\"top\"\n");
    let run = repo.run(&["eval", "--eval", "static", "nix/network.nix"]);
    run.expect_code(0);
    assert_eq!(
        parse_json(&run.stdout(), "eval"),
        serde_json::json!({ "hosts": { "a": { "role": "server", "up": "top" } }, "extra": [1] })
    );
    // An error in an imported file is located in that file, under its path.
    repo.write("nix/hosts/a.nix", "{\n  role = with x; 1;\n}\n");
    let run = repo.run(&["eval", "--eval", "static", "nix/network.nix"]);
    run.expect_code(2);
    assert_eq!(
        location(&run.stderr()),
        Some(("nix/hosts/a.nix".to_string(), 2, 10)),
        "{}",
        run.stderr()
    );
}

#[test]
fn import_cycles_are_errors_naming_the_cycle() {
    let repo = TempRepo::new();
    repo.write("nix/network.nix", "import ./a.nix\n");
    repo.write("nix/a.nix", "{ b = import ./b.nix; }.b\n");
    repo.write("nix/b.nix", "import ./a.nix\n");
    let run = repo.run(&["eval", "--eval", "static", "nix/network.nix"]);
    run.expect_code(2);
    let stderr = run.stderr();
    assert!(stderr.contains("error[nix-import-cycle]"), "{stderr}");
    assert!(
        stderr.contains("import cycle: nix/a.nix -> nix/b.nix -> nix/a.nix"),
        "{stderr}"
    );

    // A cycle through lazily evaluated attributes: found when forcing the value.
    repo.write("nix/network.nix", "{ a = import ./c.nix; }\n");
    repo.write("nix/c.nix", "{ d = import ./d.nix; }\n");
    repo.write("nix/d.nix", "{ c = import ./c.nix; }\n");
    let run = repo.run(&["eval", "--eval", "static", "nix/network.nix"]);
    run.expect_code(2);
    let stderr = run.stderr();
    assert!(stderr.contains("error[nix-import-cycle]"), "{stderr}");
    assert!(
        stderr.contains("nix/c.nix -> nix/d.nix -> nix/c.nix"),
        "{stderr}"
    );
}

#[test]
fn pathological_nesting_is_an_error_not_a_crash() {
    let repo = TempRepo::new();
    let n = 100_000;
    for (what, text) in [
        ("lists", format!("{}{}", "[".repeat(n), "]".repeat(n))),
        (
            "attrsets",
            format!("{}1{}", "{a=".repeat(n), ";}".repeat(n)),
        ),
        (
            "parentheses",
            format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        ),
    ] {
        repo.write("deep.nix", &text);
        let run = repo.run(&["eval", "--eval", "static", "deep.nix"]);
        run.expect_code(2);
        assert!(
            run.stderr().contains("error[nix-too-deep]"),
            "{what}: {}",
            run.stderr()
        );
    }
}

#[test]
fn the_bundled_network_evaluates_without_nix_on_path() {
    let repo = TempRepo::bundled();
    if !repo.path().join("nix/network.nix").is_file() {
        panic!("the bundled nix/network.nix is missing");
    }
    // A PATH holding only git (the binary needs nothing else).
    let bin = tempfile::tempdir().expect("temp dir");
    let git = std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("git"))
                .find(|g| g.is_file())
        })
        .expect("git on PATH");
    std::os::unix::fs::symlink(git, bin.path().join("git")).expect("symlink");
    let path = bin.path().display().to_string();
    for mode in ["static", "auto"] {
        let run = repo.run_env(
            &["eval", "--eval", mode, "nix/network.nix"],
            &[("PATH", &path)],
        );
        run.expect_code(0);
        let json = parse_json(&run.stdout(), "eval");
        assert!(json["avalanche"]["network"].is_object(), "{mode}: {json}");
        assert!(run.stderr().is_empty(), "{mode}: {}", run.stderr());
    }
    // The default file is the declarations file.
    let run = repo.run_env(&["eval", "--eval", "static"], &[("PATH", &path)]);
    run.expect_code(0);
}

#[test]
fn eval_nix_without_nix_says_how_to_proceed() {
    let repo = TempRepo::new();
    repo.write("nix/network.nix", "{ a = 1; }\n");
    let empty = tempfile::tempdir().expect("temp dir");
    let path = empty.path().display().to_string();
    let run = repo.run_env(
        &["eval", "--eval", "nix", "nix/network.nix"],
        &[("PATH", &path)],
    );
    run.expect_code(2);
    assert!(
        run.stderr().contains("error[nix-missing]"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("--eval static"), "{}", run.stderr());

    // `auto` without nix: the static reader's diagnostics stand.
    repo.write("nix/network.nix", "{\n  a = with x; 1;\n}\n");
    let run = repo.run_env(
        &["eval", "--eval", "auto", "nix/network.nix"],
        &[("PATH", &path)],
    );
    run.expect_code(2);
    assert!(
        run.stderr().contains("error[nix-unsupported]"),
        "{}",
        run.stderr()
    );
}

/// A private Nix state directory and HOME for `nix-instantiate` (Debian's nix
/// wants both writable), alive as long as this value.
struct NixSandbox {
    _dir: tempfile::TempDir,
    vars: [(&'static str, String); 2],
}

impl NixSandbox {
    fn new() -> NixSandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let vars = [
            (
                "NIX_STATE_DIR",
                dir.path().join("state").display().to_string(),
            ),
            ("HOME", dir.path().display().to_string()),
        ];
        NixSandbox { _dir: dir, vars }
    }

    /// The variables, as `TempRepo::run_env` takes them.
    fn env(&self) -> Vec<(&str, &str)> {
        self.vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

#[test]
fn eval_auto_falls_back_to_nix_outside_the_subset() {
    if support::oracle("nix-instantiate").is_none() {
        return;
    }
    let repo = TempRepo::new();
    let nix = NixSandbox::new();
    let env = nix.env();
    repo.write(
        "nix/network.nix",
        "let s = { b = 2; }; in {\n  a = with s; b;\n  c = if true then 1 else 0;\n}\n",
    );
    let run = repo.run_env(&["eval", "nix/network.nix"], &env);
    run.expect_code(0);
    assert_eq!(
        parse_json(&run.stdout(), "eval"),
        serde_json::json!({ "a": 2, "c": 1 })
    );
    assert!(
        run.stderr().contains(
            "note: nix/network.nix leaves the static subset (with at 2:7); evaluated with nix-instantiate"
        ),
        "{}",
        run.stderr()
    );
    // Even with `--quiet`: running real Nix is never silent.
    let run = repo.run_env(&["--quiet", "eval", "nix/network.nix"], &env);
    run.expect_code(0);
    assert!(
        run.stderr().contains("evaluated with nix-instantiate"),
        "--quiet: {}",
        run.stderr()
    );

    // A top-level module function whose arguments are only used outside the subset.
    repo.write(
        "nix/network.nix",
        "{ lib, ... }:\n{\n  a = if true then 1 else 0;\n}\n",
    );
    let run = repo.run_env(&["eval", "--eval", "nix", "nix/network.nix"], &env);
    run.expect_code(0);
    assert_eq!(
        parse_json(&run.stdout(), "eval"),
        serde_json::json!({ "a": 1 })
    );

    // Errors that are not about the subset do not fall back.
    repo.write("nix/network.nix", "{\n  a = with {}; b;\n  c = d;\n}\n");
    let run = repo.run_env(&["eval", "nix/network.nix"], &env);
    run.expect_code(2);
    assert!(
        run.stderr().contains("error[nix-undefined-variable]"),
        "{}",
        run.stderr()
    );
}

#[test]
fn eval_nix_reports_nix_errors() {
    if support::oracle("nix-instantiate").is_none() {
        return;
    }
    let repo = TempRepo::new();
    let nix = NixSandbox::new();
    let env = nix.env();
    repo.write("nix/network.nix", "{ a = throw \"boom\"; }\n");
    let run = repo.run_env(&["eval", "--eval", "nix", "nix/network.nix"], &env);
    run.expect_code(2);
    assert!(
        run.stderr().contains("error[nix-eval-failed]"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("boom"),
        "Nix's own message is shown: {}",
        run.stderr()
    );
}

#[test]
fn one_syntax_mistake_is_one_error_in_plain_words() {
    let repo = TempRepo::new();
    repo.write(
        "nix/network.nix",
        "{\n  avalanche.network = {\n    retired.vps = { monthlyCost = ; };\n  };\n}\n",
    );
    let run = repo.run(&["eval", "--eval", "static"]);
    run.expect_code(2);
    let err = run.stderr();
    assert_eq!(err.matches("error[nix-syntax]").count(), 1, "{err}");
    assert!(
        err.contains("nix/network.nix:3:35") && err.contains("expected a value"),
        "{err}"
    );
    assert!(
        !err.contains("l_paren") && !err.contains("string_start"),
        "rnix's token names leak: {err}"
    );
}

#[test]
fn eval_without_declarations_says_what_is_missing() {
    let repo = TempRepo::new();
    let run = repo.run(&["eval"]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("error[network-missing]: nix/network.nix does not exist")
            && run.stderr().contains("help:"),
        "{}",
        run.stderr()
    );
}

#[test]
fn the_fallback_note_names_the_declarations_relative_to_the_repo() {
    if support::oracle("nix-instantiate").is_none() {
        return;
    }
    let repo = TempRepo::new();
    let nix = NixSandbox::new();
    let env = nix.env();
    repo.write(
        "nix/network.nix",
        "{\n  avalanche.network = with { }; { };\n}\n",
    );
    // No FILE: the declarations, found under the repository root.
    let run = repo.run_env(&["eval"], &env);
    run.expect_code(0);
    assert!(
        run.stderr()
            .starts_with("note: nix/network.nix leaves the static subset (with at 2:23)"),
        "{}",
        run.stderr()
    );
}

/// Issue 20 item 9: `--eval auto` never evaluates the repository's flake, and the
/// declarations file is evaluated without import-from-derivation: a canary build
/// (in the flake's `lib.network` and in the file itself) must not run.
#[test]
fn eval_auto_runs_no_build_and_never_the_flake() {
    if support::oracle("nix-instantiate").is_none() || support::oracle("nix").is_none() {
        return;
    }
    let repo = TempRepo::new();
    let nix = NixSandbox::new();
    // Builds run as an unprivileged build user: the marker's directory is open to it.
    let open_dir = repo.path().join("canary");
    std::fs::create_dir(&open_dir).expect("mkdir");
    std::fs::set_permissions(
        &open_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod");
    let marker = open_dir.join(format!("CANARY-{}", std::process::id()));
    let canary = |tag: &str| {
        format!(
            "(derivation {{ name = \"avalanche-canary-{tag}-{}\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [ \"-c\" \"echo ran > {}; echo '{{ }}' > $out\" ]; }})",
            std::process::id(),
            marker.display()
        )
    };
    repo.write(
        "flake.nix",
        &format!(
            "{{\n  outputs = {{ self }}: {{\n    lib.network = import {};\n  }};\n}}\n",
            canary("flake")
        ),
    );
    repo.write(
        "nix/network.nix",
        &format!(
            "{{\n  avalanche.network = with builtins; import {};\n}}\n",
            canary("file")
        ),
    );
    repo.commit_all();
    let mut env = nix.env();
    // Were a build to run, no sandbox would stop the canary from writing its marker.
    env.push((
        "NIX_CONFIG",
        "experimental-features = nix-command flakes\nsandbox = false\nsubstituters =",
    ));
    let run = repo.run_env(&["-q", "check"], &env);
    assert!(
        !marker.exists(),
        "a build ran during check: {}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("evaluated with nix-instantiate")
            && run.stderr().contains("no import-from-derivation"),
        "{}",
        run.stderr()
    );
    assert_ne!(run.code(), 0, "{}", run.stderr());
    // The help says what `--eval nix` does.
    let help = repo.run(&["check", "--help"]);
    assert!(
        help.stdout().contains("RUNS THE REPOSITORY'S CODE"),
        "{}",
        help.stdout()
    );
}
