//! The flake and its NixOS modules (issues 6 and 17).
//!
//! What runs where:
//! - with Debian's `nix` only (no nixpkgs, no network): every `.nix` file parses
//!   (templates and fixtures included); `flake.nix`'s shape; `flake.lock` as real Nix
//!   reads it; `nix/modules/defaults.nix` against the Rust constants of
//!   `crates/model/src/defaults.rs`; the schema table (`avalanche_model::schema`, from
//!   which `nix/modules/options.generated.nix` is generated) against the fields of
//!   `crates/model/src/network.rs`; `nix flake init -t` of the template (its files;
//!   `check` and `diff` clean); the user-flake fixture's repository checks clean.
//! - with `NIXPKGS_LIB` naming nixpkgs' `lib` directory (a nixpkgs or nixpkgs.lib
//!   checkout): the evaluated options module's tree (names, types, defaults) against that
//!   table;
//!   the module tests of `nix/tests/modules.nix` (one host per role, composition with
//!   a host's own settings, every misuse); the checked types against `Name`/`Cidr`;
//!   `nix eval .#lib.network` on the bundled repo with nixpkgs overridden by the
//!   checkout, decoded by the Rust model; an operator's flake
//!   (`tests/fixtures/user-flake`, flake-parts + sops-nix) and the instantiated template
//!   consuming this flake as a path input, with local stand-ins for nixpkgs, sops-nix
//!   and flake-parts (`nix/tests/*-stub.nix`, `fake-nixpkgs.nix`).
//!   Without `NIXPKGS_LIB` each of these prints a numbered `SKIPPED #n … (NIXPKGS_LIB
//!   unset)` line to the test output and passes.
//!
//! Not run here: `nix flake check`, `nix build .#vpn-manifests`, `nix flake show`
//! (they need the full nixpkgs: CI with network does them, `.github/workflows/ci.yml`).

use crate::support::{self, TempRepo};
use avalanche_model::defaults as d;
use avalanche_model::schema;
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// ---------------------------------------------------------------- helpers

fn root() -> PathBuf {
    support::workspace_root()
}

/// What the Nix module tests evaluate with: nixpkgs' `lib` (see [`nixpkgs_lib`],
/// skipped loudly without it) and `nix-instantiate` (an oracle).
fn lib_and_nix_instantiate(what: &str) -> Option<(PathBuf, PathBuf)> {
    let lib = nixpkgs_lib(what)?;
    let tool = support::oracle("nix-instantiate")?;
    Some((lib, tool))
}

/// `NIXPKGS_LIB` (nixpkgs' `lib` directory), or a loud skip.
pub(crate) fn nixpkgs_lib(what: &str) -> Option<PathBuf> {
    match std::env::var_os("NIXPKGS_LIB").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("default.nix").is_file(),
                "NIXPKGS_LIB={} is not nixpkgs' lib directory (no default.nix)",
                dir.display()
            );
            Some(dir)
        }
        None => {
            // Written to the process' stderr, not through the test harness' capture:
            // every skip shows in `cargo test`'s output, numbered, even when it passes.
            let n = SKIPS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED #{n} of tests/flake.rs (NIXPKGS_LIB unset): {what}. Run with \
                 NIXPKGS_LIB=<nixpkgs checkout>/lib (e.g. a checkout of github:nix-community/nixpkgs.lib)."
            );
            None
        }
    }
}

/// How many tests of this file skipped for want of `NIXPKGS_LIB` in this run.
static SKIPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub(crate) fn show(cmd: &str, out: &Output) -> String {
    format!(
        "--- {cmd}\n--- exit: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `nix-instantiate ARGS` in the workspace; panics with everything on failure.
fn instantiate(tool: &Path, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(root())
        .output()
        .expect("running nix-instantiate");
    assert!(
        out.status.success(),
        "{}",
        show(&format!("nix-instantiate {}", args.join(" ")), &out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `nix-instantiate --eval --strict --json ARGS` as JSON.
fn eval_json(tool: &Path, args: &[&str]) -> Json {
    let mut all = vec!["--eval", "--strict", "--json"];
    all.extend_from_slice(args);
    let text = instantiate(tool, &all);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("nix-instantiate printed no JSON ({e}): {text}"))
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// `nix ARGS` for flake commands, with a private state and cache directory.
pub(crate) fn nix_flake_cmd(nix: &Path, home: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(nix)
        .args(args)
        .current_dir(cwd)
        .env("NIX_CONFIG", "experimental-features = nix-command flakes")
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .output()
        .expect("running nix")
}

/// Every `.nix` file of the repository (not under target/ or .git/).
fn nix_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
    {
        let entry = entry.expect("a directory entry");
        let path = entry.path();
        let name = entry.file_name();
        if entry.file_type().expect("a file type").is_dir() {
            if name != "target" && name != ".git" && name != "node_modules" {
                nix_files(&path, found);
            }
        } else if path.extension().is_some_and(|e| e == "nix") {
            found.push(path);
        }
    }
}

// ------------------------------------------------ the Rust side of the schema

/// One option of `avalanche.network` from the schema table (`avalanche_model::schema`),
/// in the shape `nix/tests/options-dump.nix` prints: path (relative to
/// `avalanche.network`, `<name>` for an attribute name), normalised type (the names of
/// nixpkgs' option types), and default (`None`: required; `"<name>"` in a default
/// stands for the attribute's name).
struct Opt {
    path: String,
    ty: String,
    default: Option<Json>,
}

/// The name nixpkgs' `lib` gives a type (`describe` in nix/tests/options-dump.nix).
fn nixpkgs_type(ty: &schema::Ty) -> String {
    use schema::Ty;
    match ty {
        Ty::Str => "str".to_owned(),
        Ty::Bool => "bool".to_owned(),
        Ty::Number => "either(int,float)".to_owned(),
        Ty::Port | Ty::U16 => "unsignedInt16".to_owned(),
        Ty::U32 => "unsignedInt32".to_owned(),
        Ty::DnsLabel => "dnsLabel".to_owned(),
        Ty::Cidr => "cidr".to_owned(),
        Ty::Duration => "duration".to_owned(),
        Ty::Interval => "interval".to_owned(),
        Ty::ListenAddress => "listenAddress".to_owned(),
        Ty::TailscaleTag => "tailscaleTag".to_owned(),
        Ty::Enum(names) => format!("enum({})", names.join("|")),
        Ty::NullOr(t) => format!("nullOr({})", nixpkgs_type(t)),
        Ty::ListOf(t) => format!("listOf({})", nixpkgs_type(t)),
        Ty::OneOrListOf(t) => format!("coercedTo({},listOf({}))", nixpkgs_type(t), nixpkgs_type(t)),
        Ty::AttrsOf(t) => format!("attrsOf({})", nixpkgs_type(t)),
        Ty::Submodule(_) => "submodule".to_owned(),
        Ty::Group(g) => panic!("{} is a group, not an option", g.name),
    }
}

/// A default as nixpkgs evaluates it (its documentation evaluation names the attribute
/// `‹name›`, written `<name>` here).
fn default_json(lit: &schema::Lit) -> Json {
    use schema::Lit;
    match lit {
        Lit::Null => Json::Null,
        Lit::Bool(b) => json!(b),
        Lit::Int(i) => json!(i),
        Lit::Float(f) => json!(f),
        Lit::Str(s) => json!(s),
        Lit::List(xs) => Json::Array(xs.iter().map(default_json).collect()),
        Lit::Strings(xs) => json!(xs),
        Lit::Attrs(xs) => Json::Object(
            xs.iter()
                .map(|(k, v)| ((*k).to_owned(), default_json(v)))
                .collect(),
        ),
        Lit::Name => json!("<name>"),
        Lit::NameAfter(prefix) => json!(format!("{prefix}<name>")),
    }
}

/// Every option of the schema table.
fn rust_options() -> Vec<Opt> {
    schema::options()
        .into_iter()
        .map(|(path, opt)| Opt {
            path,
            ty: nixpkgs_type(&opt.ty),
            default: match &opt.default {
                schema::Default::Required => None,
                schema::Default::Is(lit) => Some(default_json(lit)),
                schema::Default::Computed(_) => Some(Json::Null),
            },
        })
        .collect()
}

/// Where each struct of network.rs sits in the option tree.
const STRUCT_PATHS: &[(&str, &str)] = &[
    ("Network", ""),
    ("RetiredHost", "retired.<name>"),
    ("Tailscale", "tailscale"),
    ("TailscaleNode", "tailscale.nodes.<name>"),
    ("Egress", "egress"),
    ("Provider", "egress.providers.<name>"),
    ("Proxy", "egress.proxies.<name>"),
    ("Sidecar", "egress.sidecars.<name>"),
    ("Client", "egress.clients.<name>"),
    ("Gateway", "egress.gateways.<name>"),
    ("GatewayTunnel", "egress.gateways.<name>.tunnel"),
    ("Secret", "secrets.<name>"),
    ("Kubernetes", "kubernetes"),
    ("ArgoCd", "kubernetes.argocd"),
    ("Flux", "kubernetes.flux"),
    ("Layout", "kubernetes.layout"),
    ("Monitoring", "kubernetes.monitoring"),
    ("Replacement", "retired.<name>.replacedBy"),
    ("SopsSettings", "sops"),
    ("SopsRecipient", "sops.recipients.<name>"),
    ("Repository", "repository"),
];

/// Rust field names whose Nix option is not their camelCase.
fn nix_name(field: &str) -> String {
    match field {
        "vpn_type" => "type".to_owned(),
        "pod_cidr" => "podCIDR".to_owned(),
        "service_cidr" => "serviceCIDR".to_owned(),
        "dns_service_ip" => "dnsServiceIP".to_owned(),
        "node_cidrs" => "nodeCIDRs".to_owned(),
        "repo_url" => "repoURL".to_owned(),
        "source_kind" => "sourceRef.kind".to_owned(),
        "source_name" => "sourceRef.name".to_owned(),
        "verification" => "verification.enable".to_owned(),
        _ => {
            let mut out = String::new();
            let mut upper = false;
            for c in field.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    out.extend(c.to_uppercase());
                    upper = false;
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// The option paths the fields of `crates/model/src/network.rs` stand for (every
/// `pub` field of the structs above but `span`), with the line of each field.
fn rust_field_paths() -> BTreeMap<String, usize> {
    let file = root().join("crates/model/src/network.rs");
    let text = std::fs::read_to_string(&file).expect("reading network.rs");
    let mut paths = BTreeMap::new();
    let mut current: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let name = rest
                .split([' ', '<', '{', '(', ';'])
                .next()
                .unwrap_or_default();
            current = STRUCT_PATHS
                .iter()
                .find(|(s, _)| *s == name)
                .map(|(_, p)| *p);
            continue;
        }
        if line.starts_with('}') {
            current = None;
            continue;
        }
        let Some(prefix) = current else { continue };
        let Some(field) = line
            .trim()
            .strip_prefix("pub ")
            .and_then(|f| f.split_once(':'))
            .map(|(f, _)| f)
        else {
            continue;
        };
        if field == "span" {
            continue;
        }
        let name = nix_name(field);
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        paths.insert(path, i + 1);
    }
    paths
}

// ------------------------------------------------------------------- tests

#[test]
fn every_nix_file_parses() {
    let Some(tool) = support::oracle("nix-instantiate") else {
        return;
    };
    let mut files = Vec::new();
    nix_files(&root(), &mut files);
    for must in [
        "flake.nix",
        "nix/lib.nix",
        "nix/modules/network-options.nix",
        "nix/modules/tailscale.nix",
    ] {
        assert!(files.contains(&root().join(must)), "{must} is missing");
    }
    for file in &files {
        // Files broken on purpose live under an `errors` directory (tests/nix-corpus/errors/)
        // or say so in their name.
        if file
            .strip_prefix(root())
            .unwrap_or(file)
            .components()
            .any(|c| {
                let c = c.as_os_str().to_string_lossy();
                c == "errors"
                    || ["invalid", "broken", "syntax-error"]
                        .iter()
                        .any(|w| c.contains(w))
            })
        {
            continue;
        }
        let out = Command::new(&tool)
            .arg("--parse")
            .arg(file)
            .output()
            .expect("running nix-instantiate");
        assert!(
            out.status.success(),
            "{}",
            show(&format!("nix-instantiate --parse {}", file.display()), &out)
        );
    }
}

#[test]
fn flake_nix_shape_evaluates_without_nixpkgs() {
    let Some(tool) = support::oracle("nix-instantiate") else {
        return;
    };
    let description = eval_json(&tool, &["-E", "(import ./flake.nix).description"]);
    assert!(
        description
            .as_str()
            .is_some_and(|s| s.starts_with("avalanche-net")),
        "description: {description}"
    );
    let url = eval_json(&tool, &["-E", "(import ./flake.nix).inputs.nixpkgs.url"]);
    assert_eq!(url, json!("github:NixOS/nixpkgs/nixpkgs-unstable"));
    let args = eval_json(
        &tool,
        &["-E", "builtins.functionArgs (import ./flake.nix).outputs"],
    );
    assert_eq!(
        args,
        json!({ "self": false, "nixpkgs": false }),
        "outputs must be `{{ self, nixpkgs }}: …`"
    );
}

#[test]
fn flake_lock_pins_nixpkgs_as_nix_writes_it() {
    let text = std::fs::read_to_string(root().join("flake.lock")).expect("reading flake.lock");
    let lock: Json = serde_json::from_str(&text).expect("flake.lock is JSON");
    assert_eq!(lock["version"], json!(7));
    assert_eq!(lock["root"], json!("root"));
    assert_eq!(
        lock["nodes"]["root"]["inputs"],
        json!({ "nixpkgs": "nixpkgs" })
    );
    assert_eq!(
        lock["nodes"]["nixpkgs"]["locked"],
        json!({
            "lastModified": 1774610258,
            "narHash": "sha256-HaThtroVD9wRdx7KQk0B75JmFcXlMUoEdDFNOMOlsOs=",
            "owner": "NixOS",
            "repo": "nixpkgs",
            "rev": "832efc09b4caf6b4569fbf9dc01bec3082a00611",
            "type": "github"
        })
    );
    assert_eq!(
        lock["nodes"]["nixpkgs"]["original"],
        json!({ "owner": "NixOS", "ref": "nixpkgs-unstable", "repo": "nixpkgs", "type": "github" })
    );
    // Byte for byte what `nix flake lock` writes: sorted keys, two-space indent, final newline.
    fn sorted(v: &Json) -> Json {
        match v {
            Json::Object(map) => {
                let mut keys: Vec<_> = map.keys().collect();
                keys.sort();
                Json::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            other => other.clone(),
        }
    }
    let canonical = serde_json::to_string_pretty(&sorted(&lock)).expect("serialising") + "\n";
    assert_eq!(
        text, canonical,
        "flake.lock is not in `nix flake lock`'s format"
    );

    // Real Nix reads it (no fetching: `flake metadata` only reads the lock).
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    let repo = TempRepo::bundled();
    let home = tempfile::tempdir().expect("a temp HOME");
    let out = nix_flake_cmd(
        &nix,
        home.path(),
        repo.path(),
        &["flake", "metadata", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        show("nix flake metadata --json", &out)
    );
    let meta: Json = serde_json::from_slice(&out.stdout).expect("nix flake metadata prints JSON");
    assert_eq!(meta["locks"], lock, "nix read a different lock");
}

/// The generated `defaults.nix` as real Nix reads it is `defaults::NIX` (the generator's
/// literals are the values meant; `schema::tests` checks the text and that `NIX` lists
/// every constant).
#[test]
fn defaults_nix_matches_the_rust_constants() {
    let Some(tool) = support::oracle("nix-instantiate") else {
        return;
    };
    let nix = eval_json(&tool, &["nix/modules/defaults.nix"]);
    let nix = nix.as_object().expect("defaults.nix is an attrset");
    let rust: BTreeMap<&str, Json> = d::NIX
        .iter()
        .map(|(key, lit)| (*key, default_json(lit)))
        .collect();
    let nix_keys: BTreeSet<&str> = nix.keys().map(String::as_str).collect();
    let rust_keys: BTreeSet<&str> = rust.keys().copied().collect();
    assert_eq!(
        nix_keys, rust_keys,
        "defaults.nix and defaults.rs declare different defaults"
    );
    for (key, want) in &rust {
        let got = &nix[*key];
        let same = match (got.as_f64(), want.as_f64()) {
            // Nix prints 0.0 as 0: numbers compare by value.
            (Some(a), Some(b)) => a == b,
            _ => got == want,
        };
        assert!(
            same,
            "defaults.nix `{key}` = {got}, but defaults.rs says {want}"
        );
    }
}

#[test]
fn option_table_covers_every_field_of_the_rust_model() {
    let fields = rust_field_paths();
    assert!(
        fields.len() > 30,
        "network.rs parsed to only {} fields: {fields:?}",
        fields.len()
    );
    let options = rust_options();
    let table: BTreeSet<&str> = options.iter().map(|o| o.path.as_str()).collect();
    let is_prefix = |p: &str| table.iter().any(|t| t.starts_with(&format!("{p}.")));
    for (path, line) in &fields {
        assert!(
            table.contains(path.as_str()) || is_prefix(path),
            "crates/model/src/network.rs:{line}: no option `avalanche.network.{path}` in the table"
        );
    }
    for path in &table {
        assert!(
            fields.contains_key(*path) || fields.keys().any(|f| path.starts_with(&format!("{f}."))),
            "option `avalanche.network.{path}` has no field in crates/model/src/network.rs"
        );
    }
}

#[test]
fn options_module_agrees_with_the_rust_model() {
    let Some(lib) =
        nixpkgs_lib("the options module's names, types and defaults against the Rust model")
    else {
        return;
    };
    let Some(tool) = support::oracle("nix-instantiate") else {
        return;
    };
    let dump = eval_json(
        &tool,
        &[
            "nix/tests/options-dump.nix",
            "--arg",
            "nixpkgsLib",
            path_str(&lib),
        ],
    );
    let mut nix: BTreeMap<String, (String, Option<Json>)> = BTreeMap::new();
    for row in dump.as_array().expect("the dump is a list") {
        let path = row["path"].as_str().expect("a path").to_owned();
        let ty = row["type"].as_str().expect("a type").to_owned();
        // nixpkgs' lib names the attribute `‹name›` in documentation evaluations.
        let default = (row["hasDefault"] == json!(true))
            .then(|| {
                serde_json::from_str(
                    &row["default"]
                        .to_string()
                        .replace('\u{2039}', "<")
                        .replace('\u{203a}', ">"),
                )
            })
            .transpose()
            .expect("re-reading a default");
        nix.insert(path, (ty, default));
    }
    let rust = rust_options();
    let rust_paths: BTreeSet<&str> = rust.iter().map(|o| o.path.as_str()).collect();
    let nix_paths: BTreeSet<&str> = nix.keys().map(String::as_str).collect();
    assert_eq!(
        nix_paths.difference(&rust_paths).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "options in nix/modules/network-options.nix that the Rust model lacks"
    );
    assert_eq!(
        rust_paths.difference(&nix_paths).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "fields of the Rust model with no option in nix/modules/network-options.nix"
    );
    for opt in &rust {
        let (ty, default) = &nix[&opt.path];
        assert_eq!(ty, &opt.ty, "type of avalanche.network.{}", opt.path);
        let same = match (default, &opt.default) {
            (Some(a), Some(b)) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            },
            (None, None) => true,
            _ => false,
        };
        assert!(
            same,
            "default of avalanche.network.{}: Nix {default:?}, Rust {:?}",
            opt.path, opt.default
        );
    }
}

#[test]
fn module_tests_pass_with_nixpkgs_lib() {
    let Some((lib, tool)) =
        lib_and_nix_instantiate("the NixOS module tests of nix/tests/modules.nix")
    else {
        return;
    };
    let suite = eval_json(
        &tool,
        &[
            "-E",
            "builtins.attrNames (import ./nix/tests/modules.nix { lib = null; evalHost = null; })",
        ],
    );
    let names: Vec<&str> = suite
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    for role in [
        "testSubnetRouter",
        "testWorkstation",
        "testServer",
        "testExitNodeAllowed",
        "testExitNodeForbiddenFails",
        "testTagsWithoutAuthKeyFail",
        "testAuthKeyPathLiteralRefused",
        "testRoutingBothComposes",
        "testHostSetFlagContradictionFails",
        "testHostSetUnitOrderedBefore",
        "testHostSetUnitContradictionFails",
        "testNodeName",
    ] {
        assert!(names.contains(&role), "nix/tests/modules.nix lost {role}");
    }
    let failures = eval_json(
        &tool,
        &[
            "nix/tests/run-modules.nix",
            "--arg",
            "nixpkgsLib",
            path_str(&lib),
        ],
    );
    assert_eq!(
        failures,
        json!([]),
        "failed module tests (expected vs result)"
    );
    eprintln!("{} module tests passed with NIXPKGS_LIB", names.len());
}

/// The bundled declarations evaluated as a NixOS host's modules (the stubs, the
/// Tailscale module, `nix/network.nix`) with `config` (the body of one more module)
/// added: `{ failed = [ the messages of the failed assertions ]; <also> }`, `also`
/// being more attributes over `config`.
fn eval_host_module(tool: &Path, lib: &Path, config: &str, also: &str) -> Json {
    let expr = format!(
        r#"let
          lib = import {lib};
          config = (lib.evalModules {{ modules = [
            ./nix/tests/nixos-stubs.nix ./nix/modules/tailscale.nix ./nix/network.nix
            {{ {config} }}
          ]; }}).config;
        in {{
          failed = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
          {also}
        }}"#,
        lib = path_str(lib)
    );
    eval_json(tool, &["-E", &expr])
}

#[test]
fn forbidden_exit_node_message_says_how_to_fix_it() {
    let Some((lib, tool)) = lib_and_nix_instantiate("the forbidden exit node assertion message")
    else {
        return;
    };
    let result = eval_host_module(
        &tool,
        &lib,
        r#"networking.hostName = "gateway"; avalanche.tailscale.enable = true;
           avalanche.network.tailscale.nodes.gateway.role = "exit-node";"#,
        "flags = config.services.tailscale.extraSetFlags;",
    );
    let failed: Vec<&str> = result["failed"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "one failed assertion expected: {failed:#?}"
    );
    let message = failed[0].split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        message,
        "avalanche.network.tailscale.nodes.gateway.role is \"exit-node\", but avalanche.network.tailscale.exitNodes \
         is \"forbidden\": give gateway another role (exit nodes are retired), or set \
         avalanche.network.tailscale.exitNodes = \"allowed\"."
    );
    assert_eq!(
        result["flags"],
        json!([]),
        "a forbidden exit node must not advertise itself"
    );
}

/// Issue 19: the options module's reference assertions say what `check` says
/// (`Network::resolve`), under the same rule id, so an evaluation of a host and
/// `avalanche-net check` name one problem alike.
#[test]
fn reference_assertions_use_the_resolvers_ids_and_words() {
    let Some((lib, tool)) = lib_and_nix_instantiate("the reference assertion messages") else {
        return;
    };
    let result = eval_host_module(
        &tool,
        &lib,
        r#"networking.hostName = "routy";
           avalanche.network.egress.proxies.sweden = { provider = "mullvad"; countries = [ "Sweden" ]; };
           avalanche.network.egress.clients.bot = { namespace = "irc"; proxy = "icelnd"; };"#,
        "",
    );
    let failed: Vec<String> = result["failed"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Json::as_str)
        .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    // The resolver's messages (crates/model/src/resolve.rs, its unit test
    // `messages_are_the_ones_the_nix_module_repeats` holds them to the same words).
    let expected = [
        "avalanche.network.egress.proxies.sweden.provider: [egress-unknown-provider] proxy `sweden` uses provider `mullvad`, which `egress.providers` does not declare",
        "avalanche.network.egress.clients.bot.proxy: [egress-unknown-proxy] client `bot` goes through upstream `icelnd`, which `egress.proxies` does not declare (nor `egress.gateways`)",
    ];
    assert_eq!(failed.len(), expected.len(), "{failed:#?}");
    for want in expected {
        assert!(
            failed.iter().any(|m| m.starts_with(want)),
            "no assertion says {want:?}: {failed:#?}"
        );
    }
}

/// `existingSecret.keys` accepts exactly the variables the decoder accepts (the
/// Nix list is generated from `ExistingSecret::VARIABLES`), and an unknown one
/// fails with the assertion that says which names are allowed and how to write it.
#[test]
fn existing_secret_keys_accept_what_the_decoder_accepts() {
    let Some((lib, tool)) = lib_and_nix_instantiate("the existingSecret.keys assertion") else {
        return;
    };
    let allowed = avalanche_model::ExistingSecret::VARIABLES;
    let keys = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("{n} = \"k\";"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let failed = |provider_keys: &str, sidecar_keys: &str| -> Vec<String> {
        let expr = format!(
            r#"let
              lib = import {lib};
              config = (lib.evalModules {{ modules = [
                ./nix/tests/nixos-stubs.nix ./nix/modules/network-options.nix
                {{ avalanche.network = {{
                  egress.providers.protonvpn.existingSecret = {{ name = "vpn-keys"; keys = {{ {provider_keys} }}; }};
                  egress.proxies.iceland = {{ provider = "protonvpn"; countries = [ "Iceland" ]; }};
                  egress.sidecars.qbittorrent = {{
                    namespace = "media"; provider = "protonvpn"; countries = [ "Iceland" ];
                    existingSecret = {{ name = "qbittorrent-vpn"; keys = {{ {sidecar_keys} }}; }};
                  }};
                }}; }}
              ]; }}).config;
            in map (a: a.message) (lib.filter (a: !a.assertion) config.assertions)"#,
            lib = path_str(&lib)
        );
        eval_json(&tool, &["-E", &expr])
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(Json::as_str)
            .map(squash)
            .collect()
    };
    // Every variable the decoder accepts, on a provider and on a sidecar.
    assert_eq!(
        failed(&keys(&allowed), &keys(&allowed)),
        Vec::<String>::new()
    );
    // What it refuses (a near miss, and the variable without `_INTERVAL`'s cousin).
    let failures = failed(&keys(&["WIREGUARD_KEY"]), &keys(&["OPENVPN_PASS"]));
    let list = allowed.join(", ");
    assert_eq!(
        failures,
        [
            format!(
                "avalanche.network.egress.providers.protonvpn.existingSecret.keys.WIREGUARD_KEY: `WIREGUARD_KEY` is not \
                 a credentials variable of gluetun. `keys` maps each variable gluetun reads from the Secret to the \
                 Secret's key: {list}; write e.g. `keys = {{ WIREGUARD_PRIVATE_KEY = \"wg-key\"; }};`."
            ),
            format!(
                "avalanche.network.egress.sidecars.qbittorrent.existingSecret.keys.OPENVPN_PASS: `OPENVPN_PASS` is not \
                 a credentials variable of gluetun. `keys` maps each variable gluetun reads from the Secret to the \
                 Secret's key: {list}; write e.g. `keys = {{ WIREGUARD_PRIVATE_KEY = \"wg-key\"; }};`."
            ),
        ]
    );
}

#[test]
fn checked_types_agree_with_name_cidr_and_duration() {
    let Some(lib) =
        nixpkgs_lib("the options module's DNS-1123 and CIDR types against Name and Cidr")
    else {
        return;
    };
    let Some(tool) = support::oracle("nix-instantiate") else {
        return;
    };
    let names = [
        "routy",
        "a",
        "vpn-proxy",
        "x1",
        "0",
        "-a",
        "a-",
        "A",
        "a_b",
        "a.b",
        "",
        "a b",
        "é",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk", // 63
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl", // 64
    ];
    let cidrs = [
        "10.1.0.0/24",
        "10.1.0.5/24",
        "0.0.0.0/0",
        "255.255.255.255/32",
        "10.1.0.0/33",
        "10.1.0.0",
        "256.1.0.0/8",
        "10.1.0/24",
        "fd00::/8",
        "::/0",
        "2001:db8::1/128",
        "10.1.0.0/",
        "/24",
        "x/24",
    ];
    // `0` is a duration (a keepalive off) but not a Flux interval.
    let durations = [
        "0", "0s", "25s", "1m30s", "10m", "1h", "999999s", "1000000s", "", "s", "25", "1.5m", "1d",
        "00", "-1s", "1ms",
    ];
    let list = |xs: &[&str]| {
        xs.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let expr = format!(
        "let t = import ./nix/modules/types.nix {{ lib = import {lib}; }}; in {{ \
           names = map t.types.dnsLabel.check [ {names} ]; \
           cidrs = map t.types.cidr.check [ {cidrs} ]; \
           durations = map t.types.duration.check [ {durations} ]; \
           intervals = map t.types.interval.check [ {durations} ]; \
           canonical = map t.canonicalCidr [ {v4} ]; }}",
        lib = path_str(&lib),
        names = list(&names),
        cidrs = list(&cidrs),
        durations = list(&durations),
        v4 = list(&[
            "10.1.0.0/24",
            "10.1.0.5/24",
            "192.168.7.200/20",
            "1.2.3.4/0",
            "1.2.3.4/32"
        ]),
    );
    let result = eval_json(&tool, &["-E", &expr]);
    for (i, name) in names.iter().enumerate() {
        let rust = avalanche_model::Name::new(name).is_ok();
        assert_eq!(
            result["names"][i],
            json!(rust),
            "dnsLabel vs Name::new on {name:?}"
        );
    }
    for (i, cidr) in cidrs.iter().enumerate() {
        let rust = avalanche_model::Cidr::parse(cidr).is_ok();
        assert_eq!(
            result["cidrs"][i],
            json!(rust),
            "cidr vs Cidr::parse on {cidr:?}"
        );
    }
    for (i, d) in durations.iter().enumerate() {
        let (duration, interval) = (
            avalanche_model::decode::duration_valid(d),
            avalanche_model::decode::interval_valid(d),
        );
        assert_eq!(result["durations"][i], json!(duration), "duration on {d:?}");
        assert_eq!(result["intervals"][i], json!(interval), "interval on {d:?}");
    }
    for (i, cidr) in [
        "10.1.0.0/24",
        "10.1.0.5/24",
        "192.168.7.200/20",
        "1.2.3.4/0",
        "1.2.3.4/32",
    ]
    .iter()
    .enumerate()
    {
        let rust = avalanche_model::Cidr::parse(cidr)
            .expect("a CIDR")
            .canonical()
            .to_string();
        assert_eq!(
            result["canonical"][i],
            json!(rust),
            "canonicalCidr vs Cidr::canonical on {cidr}"
        );
    }
}

#[test]
fn flake_lib_network_is_the_bundled_network_with_defaults() {
    let Some(lib) =
        nixpkgs_lib("`nix eval --json .#lib.network` with nixpkgs overridden by NIXPKGS_LIB")
    else {
        return;
    };
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    // The nixpkgs.lib checkout (or a nixpkgs checkout) is a flake with `lib`: enough for lib.network.
    let checkout = lib
        .parent()
        .expect("NIXPKGS_LIB has a parent")
        .to_path_buf();
    assert!(
        checkout.join("flake.nix").is_file(),
        "{} has no flake.nix",
        checkout.display()
    );
    let repo = TempRepo::bundled();
    let home = tempfile::tempdir().expect("a temp HOME");
    let override_arg = format!("path:{}", checkout.display());
    let args = [
        "eval",
        "--json",
        ".#lib.network",
        "--override-input",
        "nixpkgs",
        &override_arg,
    ];
    let out = nix_flake_cmd(&nix, home.path(), repo.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        show(&format!("nix {}", args.join(" ")), &out)
    );
    let network: Json = serde_json::from_slice(&out.stdout).expect("nix eval prints JSON");

    // The module filled in the defaults the declarations leave out.
    assert_eq!(
        network["kubernetes"]["clusterDomain"],
        json!(d::CLUSTER_DOMAIN)
    );
    assert_eq!(
        network["egress"]["proxies"]["iceland"]["replicas"],
        json!(d::PROXY_REPLICAS)
    );
    assert_eq!(
        network["egress"]["clients"]["marmithon"]["podLabels"],
        json!({ d::POD_LABEL_KEY: "marmithon" })
    );
    assert_eq!(
        network["tailscale"]["nodes"]["routy"]["advertiseRoutes"],
        json!(["10.1.0.0/24"])
    );
    assert_eq!(
        network["secrets"]["routy-tailscale"]["format"],
        json!("plain")
    );

    // And the Rust model reads what the module produced, without an error.
    let value = avalanche_nix::Value::from_json(&network);
    let (decoded, diagnostics) = avalanche_model::decode(&value);
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| &d.message)
        .collect();
    assert!(
        errors.is_empty(),
        "the Rust model rejects the module's output: {errors:#?}"
    );
    let decoded = decoded.expect("a network");
    assert_eq!(decoded.tailscale.nodes.len(), 4);
    assert_eq!(decoded.egress.proxies.len(), 2);
}

#[test]
fn nix_defaults_and_rust_defaults_give_the_same_network() {
    let Some(lib) =
        nixpkgs_lib("decoding declarations with Rust's defaults vs the options module's")
    else {
        return;
    };
    let Some(tool) = support::oracle("nix-instantiate") else {
        return;
    };
    for file in ["nix/tests/minimal-network.nix", "nix/network.nix"] {
        let raw = eval_json(
            &tool,
            &[
                "-E",
                &format!(
                    "let m = import ./{file}; in if builtins.isFunction m then m {{ }} else m"
                ),
            ],
        );
        let evaluated = eval_json(
            &tool,
            &[
                "-E",
                &format!(
                    "(import ./nix/lib.nix {{ lib = import {}; }}).evalNetwork ./{file}",
                    path_str(&lib)
                ),
            ],
        );
        let decode = |json: &Json, what: &str| {
            let (network, diagnostics) =
                avalanche_model::decode(&avalanche_nix::Value::from_json(json));
            let errors: Vec<_> = diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| &d.message)
                .collect();
            assert!(errors.is_empty(), "{file} {what}: {errors:#?}");
            network.expect("a network")
        };
        let with_rust_defaults = decode(&raw, "as written");
        let with_nix_defaults = decode(&evaluated, "as the options module evaluates it");
        assert_eq!(
            with_rust_defaults, with_nix_defaults,
            "{file}: the Nix and Rust defaults differ"
        );
    }
}

/// The bundled repo plus what `flake.nix` reads besides it (Cargo.toml, Cargo.lock),
/// committed, and a stand-in nixpkgs flake (nix/tests/fake-nixpkgs.nix around the
/// `NIXPKGS_LIB` checkout) for `--override-input nixpkgs`.
fn flake_with_stand_in_nixpkgs(lib: &Path) -> (TempRepo, tempfile::TempDir) {
    let repo = TempRepo::bundled();
    for file in ["Cargo.toml", "Cargo.lock"] {
        std::fs::copy(root().join(file), repo.path().join(file)).expect("copying a Cargo file");
    }
    support::copy_dir(&root().join("templates"), &repo.path().join("templates"));
    repo.commit_all();
    (repo, stand_in_nixpkgs(lib))
}

/// The stand-in nixpkgs flake (`nix/tests/fake-nixpkgs.nix` around nixpkgs' `lib`
/// from `NIXPKGS_LIB`), for `--override-input nixpkgs path:<dir>`.
pub(crate) fn stand_in_nixpkgs(lib: &Path) -> tempfile::TempDir {
    let fake = tempfile::tempdir().expect("a temp dir");
    support::copy_dir(lib, &fake.path().join("lib"));
    for file in ["fake-nixpkgs.nix", "nixos-stubs.nix"] {
        std::fs::copy(root().join("nix/tests").join(file), fake.path().join(file))
            .expect("copying a stub");
    }
    std::fs::write(
        fake.path().join("flake.nix"),
        "{ outputs = { self }: import ./fake-nixpkgs.nix { lib = import ./lib; }; }\n",
    )
    .expect("writing the stand-in flake");
    fake
}

#[test]
fn flake_check_no_build_passes_with_a_stand_in_nixpkgs() {
    let Some(lib) =
        nixpkgs_lib("`nix flake check --no-build` and `nix flake show` with a stand-in nixpkgs")
    else {
        return;
    };
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    let (repo, fake) = flake_with_stand_in_nixpkgs(&lib);
    let home = tempfile::tempdir().expect("a temp HOME");
    let fake_ref = format!("path:{}", fake.path().display());

    // Evaluates every output: checks (the module tests among them, against the
    // stand-in NixOS), packages, apps, devShells, formatter, and the three hosts'
    // system.build.toplevel (which throws on a failed assertion).
    let args = [
        "flake",
        "check",
        "--no-build",
        "--override-input",
        "nixpkgs",
        &fake_ref,
    ];
    let out = nix_flake_cmd(&nix, home.path(), repo.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        show(&format!("nix {}", args.join(" ")), &out)
    );

    let args = [
        "flake",
        "show",
        "--json",
        "--override-input",
        "nixpkgs",
        &fake_ref,
    ];
    let out = nix_flake_cmd(&nix, home.path(), repo.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        show(&format!("nix {}", args.join(" ")), &out)
    );
    let shown: Json = serde_json::from_slice(&out.stdout).expect("nix flake show prints JSON");
    for system in ["x86_64-linux", "aarch64-linux"] {
        for package in ["avalanche-net", "vpn-manifests", "default"] {
            assert!(
                shown["packages"][system][package].is_object(),
                "no packages.{system}.{package}: {shown:#}"
            );
        }
        for (output, name) in [
            ("apps", "default"),
            ("devShells", "default"),
            ("formatter", ""),
        ] {
            let value = if name.is_empty() {
                &shown[output][system]
            } else {
                &shown[output][system][name]
            };
            assert!(value.is_object(), "no {output}.{system} {name}: {shown:#}");
        }
        for check in [
            "network",
            "manifests-in-sync",
            "avalanche-net",
            "exit-node-forbidden-fails",
            "module-subnet-router",
        ] {
            assert!(
                shown["checks"][system][check].is_object(),
                "no checks.{system}.{check}: {shown:#}"
            );
        }
    }
    for module in ["default", "network", "tailscale", "egressGateway"] {
        assert!(
            shown["nixosModules"][module].is_object(),
            "no nixosModules.{module}: {shown:#}"
        );
    }
    for host in ["routy", "calypso", "mysecrets"] {
        assert!(
            shown["nixosConfigurations"][host].is_object(),
            "no nixosConfigurations.{host}: {shown:#}"
        );
    }
}

#[test]
fn flake_check_fails_when_a_host_declares_a_forbidden_exit_node() {
    let Some(lib) = nixpkgs_lib("`nix flake check --no-build` failing on a forbidden exit node")
    else {
        return;
    };
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    let (repo, fake) = flake_with_stand_in_nixpkgs(&lib);
    let network = repo.read("nix/network.nix");
    let edited = network.replacen(r#"role = "workstation";"#, r#"role = "exit-node";"#, 1);
    assert_ne!(
        network, edited,
        "nix/network.nix has no workstation to turn into an exit node"
    );
    repo.write("nix/network.nix", &edited);
    repo.commit_all();
    let home = tempfile::tempdir().expect("a temp HOME");
    let fake_ref = format!("path:{}", fake.path().display());
    let args = [
        "flake",
        "check",
        "--no-build",
        "--override-input",
        "nixpkgs",
        &fake_ref,
    ];
    let out = nix_flake_cmd(&nix, home.path(), repo.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        !out.status.success(),
        "{}",
        show("nix flake check (exit node)", &out)
    );
    assert!(
        stderr.contains(r#"avalanche.network.tailscale.nodes.calypso.role is "exit-node", but avalanche.network.tailscale.exitNodes is "forbidden""#),
        "{}",
        show("nix flake check (exit node)", &out)
    );
}

#[test]
fn sandbox_declarations_read_statically_and_check_like_the_source() {
    let Some((lib, tool)) = lib_and_nix_instantiate(
        "lib.writeDeclarations read by the static reader, as in `nix build .#vpn-manifests`",
    ) else {
        return;
    };
    let lib_expr = format!(
        "(import ./nix/lib.nix {{ lib = import {}; }})",
        path_str(&lib)
    );
    // `writeText` returning its text: the file the sandbox gets.
    let text = eval_json(
        &tool,
        &[
            "-E",
            &format!(
                "{lib_expr}.writeDeclarations {{ writeText = _: t: t; }} ({lib_expr}.evalNetwork ./nix/network.nix)"
            ),
        ],
    );
    let text = text.as_str().expect("the declarations file is text");
    let evaluated = eval_json(
        &tool,
        &[
            "-E",
            &format!("{{ avalanche.network = {lib_expr}.evalNetwork ./nix/network.nix; }}"),
        ],
    );

    let repo = TempRepo::bundled();
    let outside = tempfile::tempdir().expect("a temp dir");
    let file = outside.path().join("avalanche-network.nix");
    std::fs::write(&file, text).expect("writing the declarations");

    let run = repo.run(&["eval", "--eval", "static", path_str(&file)]);
    run.expect_code(0);
    let read: Json = serde_json::from_str(&run.stdout()).expect("eval prints JSON");
    assert_eq!(
        read, evaluated,
        "the static reader reads the generated file differently"
    );

    // As lib.prepareRepo does: the generated file in place of nix/network.nix. It gets
    // the same verdict as the source: same exit code, same findings (lines aside).
    let findings = |run: &support::Run| -> BTreeSet<String> {
        let all: Json = serde_json::from_str(&run.stdout()).unwrap_or(Json::Null);
        all.as_array()
            .map(|a| {
                a.iter()
                    .map(|f| {
                        format!(
                            "{} {} {} {}",
                            f["severity"], f["rule"], f["file"], f["message"]
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let source = repo.run(&["--eval", "static", "check", "--format", "json"]);
    assert_ne!(
        source.code(),
        2,
        "check could not run on the bundled repo:\n{}",
        source.stderr()
    );
    repo.write("nix/network.nix", text);
    repo.commit_all();
    let sandbox = repo.run(&["--eval", "static", "check", "--format", "json"]);
    sandbox.expect_code(source.code());
    assert_eq!(
        findings(&sandbox),
        findings(&source),
        "the sandbox's declarations get other findings"
    );
}

#[test]
fn sandbox_source_is_the_operator_repo_not_the_tool_sources() {
    let Some(lib) = nixpkgs_lib("lib.networkSource (what the sandbox builds and checks)") else {
        return;
    };
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    let home = tempfile::tempdir().expect("a temp HOME");
    let expr = format!(
        "let l = import ./nix/lib.nix {{ lib = import {}; }}; src = l.networkSource ./.; in {{ \
           top = builtins.attrNames (builtins.readDir src); \
           declarations = builtins.pathExists (src + \"/nix/network.nix\"); }}",
        path_str(&lib)
    );
    let out = nix_flake_cmd(
        &nix,
        home.path(),
        &root(),
        &["eval", "--impure", "--json", "--expr", &expr],
    );
    assert!(
        out.status.success(),
        "{}",
        show("nix eval lib.networkSource", &out)
    );
    let got: Json = serde_json::from_slice(&out.stdout).expect("nix eval prints JSON");
    // The same entries as TempRepo::bundled, where the end-to-end tests run `check` clean.
    let expected: Vec<&str> = {
        let mut v: Vec<&str> = [
            "nix",
            "secrets",
            "kubernetes",
            "tailscale",
            "hosts",
            ".sops.yaml",
            "flake.nix",
            "flake.lock",
        ]
        .into_iter()
        .filter(|e| root().join(e).exists())
        .collect();
        v.sort();
        v
    };
    assert_eq!(got["top"], json!(expected));
    assert_eq!(got["declarations"], json!(true));
}

/// Runs a derivation's build script the way the stand-in nixpkgs records it
/// (`runCommand`'s `script`), outside Nix: bash with stdenv's `-eu -o pipefail`,
/// `$out`, `$TMPDIR`, `$NIX_BUILD_TOP`, and the built avalanche-net first on PATH.
fn run_build_script(script: &str, top: &Path, out: &Path) -> Output {
    let build = top.join("build");
    std::fs::create_dir_all(&build).expect("creating the build dir");
    let bin_dir = support::bin()
        .parent()
        .expect("the binary's directory")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("a PATH");
    Command::new("bash")
        .args(["-eu", "-o", "pipefail", "-c", script])
        .current_dir(&build)
        .env("PATH", path)
        .env("out", out)
        .env("TMPDIR", top)
        .env("NIX_BUILD_TOP", &build)
        .env("NO_COLOR", "1")
        .output()
        .expect("running bash")
}

#[test]
fn vpn_manifests_and_checks_scripts_run_outside_the_sandbox() {
    let Some(lib) = nixpkgs_lib(
        "the build scripts of packages.vpn-manifests and checks.{network,manifests-in-sync}",
    ) else {
        return;
    };
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    let stand_ins = StandIns::new(&lib);
    let repo = &stand_ins.avalanche;
    // packages.vpn-manifests: the generated tree plus the committed SOPS secret;
    // checks.network and checks.manifests-in-sync pass on the committed tree.
    let built = run_consumer_scripts(&stand_ins, &nix, repo.path(), &["nixpkgs"], "");
    assert!(
        built.contains_key("kubernetes/base/infra/network/vpn-proxy/kustomization.yaml"),
        "vpn-manifests has no kustomization: {:?}",
        built.keys().collect::<Vec<_>>()
    );
    let sops = "kubernetes/base/infra/network/vpn-proxy/secrets.sops.yaml";
    assert_eq!(
        built.get(sops),
        Some(&repo.read(sops).into_bytes()),
        "the SOPS secret is copied, never decrypted"
    );
}

// ------------------------------------------- an operator's flake (issue 17)

/// Whitespace runs as one space: Nix wraps assertion messages over lines.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The stand-in inputs of an operator's flake, every one local: nixpkgs (the
/// stand-in of `flake_with_stand_in_nixpkgs`), avalanche-net (this flake, copied),
/// sops-nix and flake-parts (nix/tests/{sops-nix,flake-parts}-stub.nix).
struct StandIns {
    avalanche: TempRepo,
    nixpkgs: tempfile::TempDir,
    sops_nix: tempfile::TempDir,
    flake_parts: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl StandIns {
    fn new(lib: &Path) -> StandIns {
        let (avalanche, nixpkgs) = flake_with_stand_in_nixpkgs(lib);
        let stub_flake = |stub: &str, outputs: &str| {
            let dir = tempfile::tempdir().expect("a temp dir");
            std::fs::copy(root().join("nix/tests").join(stub), dir.path().join(stub))
                .expect("copying a stub");
            std::fs::write(
                dir.path().join("flake.nix"),
                format!("{{ outputs = {{ self }}: {outputs}; }}\n"),
            )
            .expect("writing a stand-in flake");
            dir
        };
        StandIns {
            avalanche,
            nixpkgs,
            sops_nix: stub_flake(
                "sops-nix-stub.nix",
                "{ nixosModules.sops = ./sops-nix-stub.nix; nixosModules.default = ./sops-nix-stub.nix; }",
            ),
            flake_parts: stub_flake("flake-parts-stub.nix", "import ./flake-parts-stub.nix"),
            home: tempfile::tempdir().expect("a temp HOME"),
        }
    }

    /// `--override-input` for each of `inputs` (the flake's own input names).
    fn overrides(&self, inputs: &[&str]) -> Vec<String> {
        let mut args = Vec::new();
        for input in inputs {
            let dir = match *input {
                "nixpkgs" => self.nixpkgs.path(),
                "avalanche-net" => self.avalanche.path(),
                "sops-nix" => self.sops_nix.path(),
                "flake-parts" => self.flake_parts.path(),
                other => panic!("no stand-in for the input {other}"),
            };
            args.extend([
                "--override-input".to_owned(),
                (*input).to_owned(),
                format!("path:{}", dir.display()),
            ]);
        }
        args
    }

    /// `nix ARGS --override-input …` in `flake`.
    fn nix(&self, nix: &Path, flake: &Path, inputs: &[&str], args: &[&str]) -> (String, Output) {
        let overrides = self.overrides(inputs);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(overrides.iter().map(String::as_str));
        let cmd = format!("nix {}", args.join(" "));
        (cmd, nix_flake_cmd(nix, self.home.path(), flake, &all))
    }

    /// Each host's Tailscale settings (`HOSTS_TAILSCALE`) as `flake` evaluates them.
    fn hosts_tailscale(&self, nix: &Path, flake: &Path, inputs: &[&str]) -> Json {
        let args = [
            "eval",
            "--json",
            ".#nixosConfigurations",
            "--apply",
            HOSTS_TAILSCALE,
        ];
        serde_json::from_str(&self.nix_ok(nix, flake, inputs, &args)).expect("nix eval prints JSON")
    }

    /// `nix ARGS` that must succeed; its stdout.
    fn nix_ok(&self, nix: &Path, flake: &Path, inputs: &[&str], args: &[&str]) -> String {
        let (cmd, out) = self.nix(nix, flake, inputs, args);
        assert!(out.status.success(), "{}", show(&cmd, &out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

const USER_FLAKE_INPUTS: &[&str] = &["nixpkgs", "avalanche-net", "sops-nix", "flake-parts"];
const TEMPLATE_INPUTS: &[&str] = &["nixpkgs", "avalanche-net"];

/// Each host's Tailscale settings as the flake evaluates them.
const HOSTS_TAILSCALE: &str = "hosts: builtins.mapAttrs (_: h: { \
    inherit (h.config.services.tailscale) enable useRoutingFeatures extraUpFlags extraSetFlags authKeyFile; \
    setAfter = h.config.systemd.services.tailscaled-set.after or [ ]; \
    failed = map (a: a.message) (builtins.filter (a: !a.assertion) h.config.assertions); \
  }) hosts";

/// `nix flake check --no-build` and `nix flake show` of a consuming flake: it
/// evaluates every host (system.build.toplevel refuses a failed assertion), the
/// packages and every check.
fn flake_check_and_show(
    stand_ins: &StandIns,
    nix: &Path,
    flake: &Path,
    inputs: &[&str],
    checks: &[&str],
) {
    stand_ins.nix_ok(nix, flake, inputs, &["flake", "check", "--no-build"]);
    let shown: Json =
        serde_json::from_str(&stand_ins.nix_ok(nix, flake, inputs, &["flake", "show", "--json"]))
            .expect("nix flake show prints JSON");
    assert!(
        shown["packages"]["x86_64-linux"]["vpn-manifests"].is_object(),
        "no packages.x86_64-linux.vpn-manifests: {shown:#}"
    );
    for check in checks {
        assert!(
            shown["checks"]["x86_64-linux"][check].is_object(),
            "no checks.x86_64-linux.{check}: {shown:#}"
        );
    }
}

/// Runs the build scripts of `packages.vpn-manifests` and of the checks
/// `<prefix>network` and `<prefix>manifests-in-sync` with the real binary, outside
/// Nix (as `vpn_manifests_and_checks_scripts_run_outside_the_sandbox` does for this
/// repository): `avalanche-net check`, `build` and `diff` on the consuming repo.
/// Returns the built tree's files.
fn run_consumer_scripts(
    stand_ins: &StandIns,
    nix: &Path,
    flake: &Path,
    inputs: &[&str],
    prefix: &str,
) -> BTreeMap<String, Vec<u8>> {
    let raw = |attr: &str| stand_ins.nix_ok(nix, flake, inputs, &["eval", "--raw", attr]);
    let top = tempfile::tempdir().expect("a temp dir");
    let manifests = top.path().join("vpn-manifests");
    let out = run_build_script(
        &raw(".#packages.x86_64-linux.vpn-manifests.script"),
        &top.path().join("m"),
        &manifests,
    );
    assert!(
        out.status.success(),
        "{}",
        show("vpn-manifests' script", &out)
    );

    let out = run_build_script(
        &raw(&format!(".#checks.x86_64-linux.{prefix}network.script")),
        &top.path().join("n"),
        &top.path().join("network-out"),
    );
    assert!(
        out.status.success(),
        "{}",
        show("the network check's script", &out)
    );

    let store_path = raw(".#packages.x86_64-linux.vpn-manifests.outPath");
    let script = raw(&format!(
        ".#checks.x86_64-linux.{prefix}manifests-in-sync.script"
    ));
    assert!(
        script.contains(&store_path),
        "manifests-in-sync does not read vpn-manifests"
    );
    let script = script.replace(&store_path, path_str(&manifests));
    let out = run_build_script(&script, &top.path().join("s"), &top.path().join("sync-out"));
    assert!(
        out.status.success(),
        "{}",
        show("manifests-in-sync's script", &out)
    );
    support::tree(&manifests)
}

#[test]
fn user_flake_consumes_the_flake_as_an_input() {
    let Some(lib) = nixpkgs_lib(
        "tests/fixtures/user-flake (flake-parts, sops-nix, own hosts and declarations path) \
         with `nix flake check --no-build` and `nix eval`",
    ) else {
        return;
    };
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    let stand_ins = StandIns::new(&lib);
    let user = TempRepo::from_fixture("fixtures/user-flake");

    flake_check_and_show(
        &stand_ins,
        &nix,
        user.path(),
        USER_FLAKE_INPUTS,
        &[
            "avalanche-network",
            "avalanche-manifests-in-sync",
            "avalanche-host-gw-01",
            "avalanche-host-desk",
            "avalanche-host-vault",
        ],
    );

    let hosts = stand_ins.hosts_tailscale(&nix, user.path(), USER_FLAKE_INPUTS);
    assert_eq!(
        hosts,
        json!({
            // Its own routing features ("server": `check` reports "both" on a router that
            // accepts no routes) and its own sops-nix auth key, with the declared routes.
            "gw-01": {
                "enable": true,
                "useRoutingFeatures": "server",
                "extraUpFlags": [],
                "extraSetFlags": ["--advertise-routes=192.168.10.0/24"],
                "authKeyFile": "/run/secrets/tailscale_auth_key",
                "setAfter": ["tailscaled.service", "tailscaled-autoconnect.service"],
                "failed": [],
            },
            // Its own `tailscale set` unit runs before ours.
            "desk": {
                "enable": true,
                "useRoutingFeatures": "client",
                "extraUpFlags": [],
                "extraSetFlags": ["--accept-routes"],
                "authKeyFile": null,
                "setAfter": ["tailscaled.service", "tailscale-prefs.service"],
                "failed": [],
            },
            // Tagged at first login with the sops-nix key given to the module.
            "vault": {
                "enable": true,
                "useRoutingFeatures": "none",
                "extraUpFlags": ["--advertise-tags=tag:infra"],
                "extraSetFlags": [],
                "authKeyFile": "/run/secrets/vault-tailscale",
                "setAfter": [],
                "failed": [],
            },
        })
    );

    // The checks' scripts run with the declarations at infra/network.nix.
    let built = run_consumer_scripts(
        &stand_ins,
        &nix,
        user.path(),
        USER_FLAKE_INPUTS,
        "avalanche-",
    );
    assert_eq!(
        built.get("tailscale/policy.hujson"),
        Some(&user.read("tailscale/policy.hujson").into_bytes()),
        "vpn-manifests did not build the user's policy file"
    );
}

#[test]
fn user_flake_misuse_fails_with_a_message_saying_how_to_fix_it() {
    let Some(lib) = nixpkgs_lib(
        "tests/fixtures/user-flake broken on purpose (tags without an auth key, a path-literal \
         auth key, a contradicting `tailscale set`, a router without forwarding)",
    ) else {
        return;
    };
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    let stand_ins = StandIns::new(&lib);
    let user = TempRepo::from_fixture("fixtures/user-flake");
    let cases: [(&str, &str, &str, &[&str]); 5] = [
        (
            "vault",
            "machines/vault/default.nix",
            "{ ... }: { avalanche.tailscale.enable = true; }",
            &[
                r#"avalanche.network.tailscale.nodes.vault.tags = [ "tag:infra" ], but host "vault" has no auth key"#,
                r#"Set avalanche.tailscale.authKeyFile = config.sops.secrets."<name>".path;"#,
            ],
        ),
        (
            "vault",
            "machines/vault/default.nix",
            "{ ... }: { avalanche.tailscale = { enable = true; authKeyFile = ../../secrets/vault/tailscale.yaml; }; }",
            &[
                "A definition for option `avalanche.tailscale.authKeyFile' is not of type",
                "absolute path outside the Nix store, as a string",
                "never a path literal such as ./authkey",
            ],
        ),
        (
            "gw-01",
            "machines/gw-01/default.nix",
            r#"{ ... }: { avalanche.tailscale = { enable = true; nodeName = "gw"; }; services.tailscale.authKeyFile = ../../secrets/gw/tailscale.yaml; }"#,
            &[
                r#"services.tailscale.authKeyFile on host "gw-01" is a path literal"#,
                "Use a string path outside the store",
            ],
        ),
        (
            "desk",
            "machines/desk/default.nix",
            r#"{ ... }: { avalanche.tailscale.enable = true; systemd.services.tailscale-prefs.script = "tailscale set --ssh --accept-routes=false"; }"#,
            &[
                r#"systemd.services.tailscale-prefs on host "desk" runs `tailscale set --accept-routes=false`, which contradicts --accept-routes=true"#,
                "remove that flag from the unit, or change the node's role",
            ],
        ),
        (
            "gw-01",
            "machines/gw-01/default.nix",
            r#"{ ... }: { avalanche.tailscale = { enable = true; nodeName = "gw"; authKeyFile = "/run/secrets/gw"; }; services.tailscale.useRoutingFeatures = "client"; }"#,
            &[
                r#"avalanche.network.tailscale.nodes.gw is a subnet-router, which needs services.tailscale.useRoutingFeatures = "server" (or "both"), but the host sets "client""#,
            ],
        ),
    ];
    for (host, file, text, needles) in cases {
        let original = user.read(file);
        user.write(file, &format!("{text}\n"));
        user.commit_all();
        let attr = format!(".#nixosConfigurations.{host}.config.system.build.toplevel.drvPath");
        let (cmd, out) = stand_ins.nix(
            &nix,
            user.path(),
            USER_FLAKE_INPUTS,
            &["eval", "--raw", &attr],
        );
        let stderr = squash(&String::from_utf8_lossy(&out.stderr));
        assert!(
            !out.status.success(),
            "{file} = {text} evaluated:\n{}",
            show(&cmd, &out)
        );
        for needle in needles {
            assert!(
                stderr.contains(&squash(needle)),
                "{file} = {text}: no `{needle}` in the error:\n{}",
                show(&cmd, &out)
            );
        }
        user.write(file, &original);
        user.commit_all();
    }
}

/// The template as `nix flake init -t` writes it: in an empty git repository.
fn instantiate_template(nix: &Path, flake: &Path, home: &Path) -> TempRepo {
    let repo = TempRepo::new();
    let from = format!("path:{}#default", flake.display());
    let out = nix_flake_cmd(nix, home, repo.path(), &["flake", "init", "-t", &from]);
    assert!(out.status.success(), "{}", show("nix flake init -t", &out));
    repo.commit_all();
    repo
}

/// The files `templates.default` gives (`nix flake init -t`).
const TEMPLATE_FILES: &[&str] = &[
    ".sops.yaml",
    "flake.nix",
    "hosts/myhost/default.nix",
    "kubernetes/.avalanche-generated.json",
    "nix/network.nix",
    "tailscale/policy.hujson",
];

#[test]
fn template_instantiates_with_its_files_and_checks_clean() {
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    // The flake as a user gets it, templates included; `nix flake init` fetches
    // no input (the template is a path of the flake).
    let flake = TempRepo::bundled();
    support::copy_dir(&root().join("templates"), &flake.path().join("templates"));
    flake.commit_all();
    let home = tempfile::tempdir().expect("a temp HOME");
    let repo = instantiate_template(&nix, flake.path(), home.path());
    let files: Vec<String> = support::tree(repo.path())
        .into_keys()
        .filter(|f| !f.starts_with(".git/") && !f.ends_with('/'))
        .collect();
    assert_eq!(files, TEMPLATE_FILES, "the template's files");
    // A working start: the declarations check clean (warnings aside) and the
    // committed generated files are what they produce.
    repo.run(&["check"]).expect_code(0);
    repo.run(&["diff"]).expect_code(0);
    // flakeModules.default is a flake-parts module (a function of flake-parts'
    // module arguments) and the NixOS modules carry their class; neither reads
    // nixpkgs. `nix eval .#x` looks at `packages.<system>.x` first: a stand-in
    // nixpkgs whose `genAttrs` gives no systems makes that lookup come back empty.
    let empty = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        empty.path().join("flake.nix"),
        "{ outputs = { self }: { lib.genAttrs = _: _: { }; }; }\n",
    )
    .expect("writing the empty flake");
    let empty = format!("path:{}", empty.path().display());
    let args = [
        "eval",
        "--json",
        ".#flakeModules.default",
        "--apply",
        "m: builtins.attrNames (builtins.functionArgs m)",
        "--override-input",
        "nixpkgs",
        &empty,
    ];
    let out = nix_flake_cmd(&nix, home.path(), flake.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        show("nix eval .#flakeModules.default", &out)
    );
    let module_args: Json = serde_json::from_slice(&out.stdout).expect("nix eval prints JSON");
    assert_eq!(module_args, json!(["config", "lib", "self"]));
    let args = [
        "eval",
        "--json",
        ".#nixosModules",
        "--apply",
        "ms: builtins.mapAttrs (_: m: m._class) ms",
        "--override-input",
        "nixpkgs",
        &empty,
    ];
    let out = nix_flake_cmd(&nix, home.path(), flake.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        show("nix eval .#nixosModules", &out)
    );
    let classes: Json = serde_json::from_slice(&out.stdout).expect("nix eval prints JSON");
    assert_eq!(
        classes,
        json!({ "default": "nixos", "network": "nixos", "tailscale": "nixos", "egressGateway": "nixos" })
    );
}

#[test]
fn user_flake_fixture_checks_clean_with_its_declarations_path() {
    // What checks.avalanche-network runs in the sandbox, run here on the fixture
    // itself: a coherent operator repository (secrets sealed, generated files
    // committed), declared at infra/network.nix.
    let user = TempRepo::from_fixture("fixtures/user-flake");
    user.run(&["--network", "infra/network.nix", "check"])
        .expect_code(0);
    user.run(&["--network", "infra/network.nix", "diff"])
        .expect_code(0);
}

#[test]
fn template_passes_the_flake_checks_with_a_stand_in_nixpkgs() {
    let Some(lib) =
        nixpkgs_lib("the template's `nix flake check --no-build` and its checks' scripts")
    else {
        return;
    };
    let Some(nix) = support::oracle("nix") else {
        return;
    };
    let stand_ins = StandIns::new(&lib);
    let repo = instantiate_template(&nix, stand_ins.avalanche.path(), stand_ins.home.path());
    flake_check_and_show(
        &stand_ins,
        &nix,
        repo.path(),
        TEMPLATE_INPUTS,
        &[
            "avalanche-network",
            "avalanche-manifests-in-sync",
            "avalanche-host-myhost",
        ],
    );
    let hosts = stand_ins.hosts_tailscale(&nix, repo.path(), TEMPLATE_INPUTS);
    assert_eq!(
        hosts,
        json!({
            "myhost": {
                "enable": true,
                "useRoutingFeatures": "client",
                "extraUpFlags": [],
                "extraSetFlags": ["--accept-routes"],
                "authKeyFile": null,
                "setAfter": ["tailscaled.service"],
                "failed": [],
            },
        })
    );
    run_consumer_scripts(&stand_ins, &nix, repo.path(), TEMPLATE_INPUTS, "avalanche-");
}

#[test]
fn lib_needs_the_users_src_and_finds_any_declarations_path() {
    let Some((lib, tool)) = lib_and_nix_instantiate("lib.mkVpnManifests/mkChecks arguments") else {
        return;
    };
    let fails = |expr: &str, needles: &[&str]| {
        let full = format!(
            "let l = import ./nix/lib.nix {{ lib = import {}; }}; \
               pkgs = {{ runCommand = n: e: s: s; writeText = n: t: t; git = \"git\"; }}; \
             in {expr}",
            path_str(&lib)
        );
        let out = Command::new(&tool)
            .args(["--eval", "--strict", "-E", &full])
            .current_dir(root())
            .output()
            .expect("running nix-instantiate");
        let stderr = squash(&String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "{}", show(expr, &out));
        for needle in needles {
            assert!(
                stderr.contains(&squash(needle)),
                "no `{needle}`:\n{}",
                show(expr, &out)
            );
        }
    };
    fails(
        "l.mkVpnManifests { inherit pkgs; avalanche-net = \"t\"; }",
        &[
            "avalanche-net lib.mkVpnManifests: `src` is required",
            "src = self;",
        ],
    );
    fails(
        "l.mkChecks { inherit pkgs; avalanche-net = \"t\"; }",
        &["avalanche-net lib.mkChecks: `src` is required"],
    );
    fails(
        "l.mkVpnManifests { inherit pkgs; avalanche-net = \"t\"; src = ./tests/fixtures/user-flake; }",
        &[
            "no declarations at nix/network.nix in src",
            "Pass network = \"<path of your declarations, relative to src>\";",
        ],
    );
    fails(
        "l.mkVpnManifests { inherit pkgs; avalanche-net = \"t\"; src = ./tests/fixtures/user-flake; network = ./nix/network.nix; }",
        &["is not inside src", "network = \"nix/network.nix\";"],
    );
    fails(
        "l.mkVpnManifests { inherit pkgs; avalanche-net = \"t\"; src = ./tests/fixtures/user-flake; network = l.evalNetwork ./tests/fixtures/user-flake/infra/network.nix; }",
        &[
            "`network` is the declarations' path",
            "not their evaluated value",
        ],
    );
    // A host that imports the module with other declarations than the checks'.
    fails(
        "(l.mkChecks { inherit pkgs; avalanche-net = \"t\"; src = ./tests/fixtures/user-flake; network = \"infra/network.nix\"; nixosConfigurations.h.config = { \
           avalanche.tailscale.enable = true; avalanche.network = { }; system.build.toplevel.drvPath = \"\"; }; \
         }).avalanche-host-h",
        &[
            "nixosConfigurations.h imports avalanche-net's module with other declarations than infra/network.nix",
        ],
    );
    // A path inside src and the same path as a string name the same file; the
    // script copies the declarations there, not to nix/network.nix.
    let script = |network: &str| {
        eval_json(
            &tool,
            &[
                "-E",
                &format!(
                    "let l = import ./nix/lib.nix {{ lib = import {}; }}; \
                       pkgs = {{ runCommand = n: e: s: s; writeText = n: t: n; git = \"git\"; }}; \
                     in l.mkVpnManifests {{ inherit pkgs; avalanche-net = \"t\"; \
                          src = ./tests/fixtures/user-flake; network = {network}; }}",
                    path_str(&lib)
                ),
            ],
        )
    };
    let by_path = script("./tests/fixtures/user-flake/infra/network.nix");
    assert_eq!(by_path, script("\"infra/network.nix\""));
    let text = by_path.as_str().expect("the script");
    assert!(
        text.contains("repo/infra/network.nix") && !text.contains("repo/nix/network.nix"),
        "{text}"
    );
}

#[test]
fn documented_defaults_are_real_nix_expressions() {
    let Some((lib, tool)) =
        lib_and_nix_instantiate("the avalanche options' defaultText as Nix expressions")
    else {
        return;
    };
    let texts = eval_json(
        &tool,
        &[
            "nix/tests/default-texts.nix",
            "--arg",
            "nixpkgsLib",
            path_str(&lib),
        ],
    );
    let texts = texts.as_array().expect("a list");
    assert!(
        texts.len() > 40,
        "too few documented defaults: {}",
        texts.len()
    );
    for option in texts {
        let name = option["name"].as_str().expect("a name");
        let text = option["text"].as_str().expect("a text");
        // In the scope a module (or a submodule, for `name`) has.
        let expr = format!("{{ config, options, lib, pkgs, name, ... }}: (\n{text}\n)");
        let out = Command::new(&tool)
            .args(["--parse", "-E", &expr])
            .output()
            .expect("running nix-instantiate");
        assert!(
            out.status.success(),
            "{name}: its default `{text}` is not a Nix expression in a module's scope:\n{}",
            show("nix-instantiate --parse", &out)
        );
        // `<name>` parses too, as a search path lookup: not what the manual means.
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("__findFile"),
            "{name}: its default `{text}` names a <…> search path; write the expression \
             (e.g. `name`, the submodule's attribute name)"
        );
    }
}

// ------------------------------------------------- nixosModules.egressGateway

/// `nix/tests/run-gateway.nix` on `tests/fixtures/gateway-host` for `host`, with
/// `extra` arguments.
fn gateway_module(tool: &Path, lib: &Path, host: &str, extra: &[&str]) -> Json {
    let repo = root().join("tests/fixtures/gateway-host");
    gateway_module_in(tool, lib, &repo, host, extra)
}

/// `nix/tests/run-gateway.nix` on the repository `repo`.
fn gateway_module_in(tool: &Path, lib: &Path, repo: &Path, host: &str, extra: &[&str]) -> Json {
    let runner = root().join("nix/tests/run-gateway.nix");
    let mut args = vec![
        path_str(&runner),
        "--arg",
        "nixpkgsLib",
        path_str(lib),
        "--arg",
        "repo",
        path_str(repo),
        "--argstr",
        "hostName",
        host,
    ];
    args.extend_from_slice(extra);
    eval_json(tool, &args)
}

/// Gateway `name` of `tests/fixtures/gateway-host`, read and resolved by the Rust side.
fn rust_gateway(name: &str) -> avalanche_render::gateway::GatewayHost {
    rust_gateway_in(
        &root().join("tests/fixtures/gateway-host/nix/network.nix"),
        name,
    )
}

/// Gateway `name` of the declarations `file`, read and resolved by the Rust side.
pub(crate) fn rust_gateway_in(file: &Path, name: &str) -> avalanche_render::gateway::GatewayHost {
    let text = std::fs::read_to_string(file).expect("reading the declarations");
    let mut sources = avalanche_diag::SourceMap::default();
    let value = avalanche_nix::read_source(file, &text, &mut sources)
        .unwrap_or_else(|d| panic!("the declarations do not read: {d:?}"));
    let (network, diagnostics) = avalanche_model::decode(&value);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let network = network.expect("a network");
    avalanche_render::gateway::host(&network, name).expect("the gateway")
}

/// The module's `rendered` files of one gateway (as Nix evaluated them) are byte
/// for byte what the Rust renderer makes for `host`, and the tunnel unit's `script`
/// applies exactly those bytes: the files it names are the `written` store paths
/// (content-addressed) of the rendered text.
pub(crate) fn assert_module_applies_the_rust_files(
    rendered: &Json,
    written: &Json,
    script: &str,
    host: &avalanche_render::gateway::GatewayHost,
) {
    use avalanche_render::gateway as g;
    for (what, rust) in [
        ("nftables", g::nftables(host)),
        ("routing", g::routing(host)),
        ("routing6", g::routing6(host)),
        ("wireguard", g::wireguard(host)),
        ("routeWatcher", g::route_watcher(host)),
        ("tinyproxy", g::tinyproxy(host).expect("an HTTP port")),
    ] {
        assert_eq!(
            rendered[what].as_str(),
            Some(rust.as_str()),
            "the module's {what} differs from the Rust renderer's"
        );
    }
    assert_eq!(rendered["proxyArgs"], json!(g::proxy_args(host)));
    let wg_setconf = format!("wg setconf {}", host.interface);
    for (command, what) in [
        ("nft -f", "nftables"),
        ("ip -batch", "routing"),
        ("ip -6 -batch", "routing6"),
        (wg_setconf.as_str(), "wireguard"),
    ] {
        let line = format!("{command} {}\n", written[what].as_str().unwrap_or("?"));
        assert!(script.contains(&line), "no `{line}` in\n{script}");
    }
}

/// The module applies exactly the files the Rust renderer makes (the ones
/// tests/gateway.rs proves in network namespaces), with the key from sops-nix, the
/// proxies as the marked user, bound to the tunnel unit.
#[test]
fn egress_gateway_module_applies_the_rendered_files() {
    let Some((lib, tool)) =
        lib_and_nix_instantiate("nixosModules.egressGateway against the Rust renderer")
    else {
        return;
    };
    let out = gateway_module(&tool, &lib, "routy", &[]);
    assert_eq!(out["failures"], json!([]), "{out:#}");
    assert_eq!(out["warnings"], json!([]), "{out:#}");

    let host = rust_gateway("home-vps");
    let units = &out["units"];
    let tunnel = &units["avalanche-gateway-home-vps"];
    let script = tunnel["script"].as_str().unwrap_or_default();
    assert_module_applies_the_rust_files(
        &out["rendered"]["home-vps"],
        &out["written"]["home-vps"],
        script,
        &host,
    );
    // Only this host's gateway.
    assert_eq!(out["rendered"].as_object().map(|o| o.len()), Some(1));
    assert!(
        script.contains("wg set wg-home-vps private-key /run/secrets/routy-wireguard\n"),
        "{script}"
    );
    assert!(
        tunnel["preStop"]
            .as_str()
            .unwrap_or_default()
            .contains("nft delete table inet avalanche_gateway_home_vps"),
        "{tunnel:#}"
    );
    // The route watcher runs the rendered script, restarted with the tunnel unit.
    let written = &out["written"]["home-vps"];
    let routes = &units["avalanche-gateway-home-vps-routes"];
    assert_eq!(
        routes["serviceConfig"]["ExecStart"],
        json!(format!(
            "/nix/store/00000000000000000000000000000000-bash/bin/bash {}",
            written["routeWatcher"].as_str().unwrap_or("?")
        )),
        "{routes:#}"
    );
    for key in ["bindsTo", "partOf"] {
        assert_eq!(
            routes[key],
            json!(["avalanche-gateway-home-vps.service"]),
            "{routes:#}"
        );
    }
    let socks = &units["avalanche-gateway-home-vps-socks"];
    assert_eq!(socks["serviceConfig"]["User"], "avalanche-gateway");
    for key in ["bindsTo", "partOf"] {
        assert_eq!(
            socks[key],
            json!(["avalanche-gateway-home-vps.service"]),
            "{socks:#}"
        );
    }
    assert!(
        socks["serviceConfig"]["ExecStart"]
            .as_str()
            .is_some_and(|e| e.ends_with("-microsocks/bin/microsocks -i 10.1.0.1 -p 1080")),
        "{socks:#}"
    );
    let http = &units["avalanche-gateway-home-vps-http"];
    assert_eq!(http["serviceConfig"]["User"], "avalanche-gateway");
    assert!(
        http["serviceConfig"]["ExecStart"]
            .as_str()
            .is_some_and(|e| e.contains("tinyproxy -d -c /nix/store/")),
        "{http:#}"
    );
    // The marked user has the uid the ruleset names.
    assert_eq!(
        out["users"]["avalanche-gateway"]["uid"],
        json!(host.proxy_uid)
    );
    assert_eq!(out["sysctl"]["net.ipv4.conf.all.src_valid_mark"], 1);
    // The exporter of the monitored gateway: on its listen address, at the port the
    // generated ScrapeConfig names (one constant in crates/model, repeated in
    // nix/modules/defaults.nix), opened like the proxy's and admitted by its table.
    let exporter_port = avalanche_model::defaults::GATEWAY_EXPORTER_PORT;
    assert_eq!(out["ports"], json!([1080, 8888, exporter_port]));
    assert_eq!(out["exporter"], true);
    assert_eq!(out["exporterListen"], "10.1.0.1");
    assert_eq!(out["exporterPort"], json!(exporter_port));
    assert_eq!(host.exporter_port, Some(exporter_port));
    let secret = &out["secrets"]["routy-wireguard"];
    assert_eq!(secret["key"], "privateKey");
    assert!(
        secret["sopsFile"].as_str().is_some_and(
            |f| f.ends_with("tests/fixtures/gateway-host/secrets/routy/wireguard.yaml")
        ),
        "{secret:#}"
    );
    assert_eq!(
        secret["restartUnits"],
        json!(["avalanche-gateway-home-vps.service"])
    );
}

/// One gateway per host (they would share the proxy user, marked for one tunnel
/// and dropped by the other's kill switch): two on routy are refused, on two
/// listen addresses or on one; one gateway alone is not.
#[test]
fn egress_gateway_module_runs_one_gateway_per_host() {
    let Some((lib, tool)) =
        lib_and_nix_instantiate("nixosModules.egressGateway: one gateway per host")
    else {
        return;
    };
    let gateway = |name: &str, host: &str, listen: &str, table: u32| {
        format!(
            r#"gateways.{name} = {{ host = "{host}"; listen = "{listen}"; monitoring = true;
               routingTable = {table}; fwmark = {table};
               tunnel = {{ endpoint = "vps.example.org:51820"; address = "10.99.0.2/32";
                          publicKey = "e0gWO1SDBRbgwSEOawN6HMy9XahWrxdpUumPgFX480U=";
                          privateKeySecret = "k"; }}; }};"#
        )
    };
    for (second_host, second_listen, refused) in [
        ("routy", "10.1.0.2", true),
        ("routy", "10.1.0.1", true),
        ("nas", "10.1.0.2", false),
    ] {
        let repo = tempfile::tempdir().expect("a temp dir");
        std::fs::create_dir_all(repo.path().join("nix")).expect("mkdir");
        std::fs::write(
            repo.path().join("nix/network.nix"),
            format!(
                "{{ avalanche.network = {{ egress = {{ {} {} }}; secrets.k = {{ format = \"plain\"; file = \"k.yaml\"; keys = [ \"k\" ]; }}; }}; }}\n",
                gateway("a", "routy", "10.1.0.1", 100),
                gateway("b", second_host, second_listen, 200)
            ),
        )
        .expect("writing the network");
        let out = gateway_module_in(
            &tool,
            &lib,
            repo.path(),
            "routy",
            &[
                "--arg",
                "sops",
                "false",
                "--arg",
                "privateKeyFiles",
                r#"{ a = "/run/a"; b = "/run/b"; }"#,
            ],
        );
        let failures = out["failures"].to_string();
        assert_eq!(
            failures.contains("all run on `routy`, but a host runs"),
            refused,
            "{second_host} {second_listen}: {out:#}"
        );
        if !refused {
            assert_eq!(out["failures"], json!([]), "{out:#}");
            assert_eq!(out["exporterListen"], "10.1.0.1");
        }
    }
}

/// Without sops-nix the key file must be given; a host no gateway names is told
/// the import does nothing; keepalive 0 renders no keepalive line.
#[test]
fn egress_gateway_module_says_what_is_missing() {
    let Some((lib, tool)) = lib_and_nix_instantiate("nixosModules.egressGateway's assertions")
    else {
        return;
    };
    let out = gateway_module(&tool, &lib, "calypso", &["--arg", "sops", "false"]);
    let failures = out["failures"].to_string();
    assert!(
        failures.contains("gateway `lab` has no private key file")
            && failures.contains("privateKeyFiles.lab"),
        "{out:#}"
    );
    let out = gateway_module(
        &tool,
        &lib,
        "calypso",
        &[
            "--arg",
            "sops",
            "false",
            "--arg",
            "privateKeyFiles",
            "{ lab = \"/var/lib/wg/lab.key\"; }",
        ],
    );
    assert_eq!(out["failures"], json!([]), "{out:#}");
    // Defaults (allowedClients: the pod and node networks; keepalive 0: none) agree too.
    let lab = rust_gateway("lab");
    use avalanche_render::gateway as g;
    let rendered = &out["rendered"]["lab"];
    assert_eq!(
        rendered["nftables"].as_str(),
        Some(g::nftables(&lab).as_str())
    );
    assert_eq!(
        rendered["routing"].as_str(),
        Some(g::routing(&lab).as_str())
    );
    assert_eq!(
        rendered["wireguard"].as_str(),
        Some(g::wireguard(&lab).as_str())
    );
    assert!(g::nftables(&lab).contains("elements = { 10.42.0.0/16, 192.168.5.0/24 }"));
    assert!(!g::wireguard(&lab).contains("PersistentKeepalive"));
    assert!(
        !out["units"]
            .as_object()
            .is_some_and(|u| u.contains_key("avalanche-gateway-lab-http"))
    );
    assert_eq!(out["exporter"], false);
    let out = gateway_module(&tool, &lib, "nas", &[]);
    assert_eq!(out["units"], json!({}));
    assert!(
        out["warnings"]
            .to_string()
            .contains("no egress gateway names host `nas`"),
        "{out:#}"
    );
}
