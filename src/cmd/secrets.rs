//! `avalanche-net secrets seal|show|verify|updatekeys`: SOPS files for the
//! declared secrets, through `avalanche-sops`.
//!
//! Plaintext stays in memory: it is never written to a file other than
//! encrypted, never logged, never part of an error message; `show` prints it
//! because it was asked to.
use crate::cli::{SealArgs, SecretsArgs, SecretsCommand, ShowArgs, UpdateKeysArgs, VerifyArgs};
use crate::context::Context;
use anyhow::{Context as _, anyhow, bail};
use avalanche_model::{Network, Secret, SecretFormat};
use avalanche_sops::config::SopsConfig;
use avalanche_sops::ops::{self, Outcome};
use avalanche_sops::secret::Shape;
use avalanche_sops::{Decrypted, DecryptedFile, Format, Identities, Value};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zeroize::Zeroizing;

pub fn run(ctx: &Context, args: SecretsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SecretsCommand::Seal(a) => seal(ctx, a),
        SecretsCommand::Show(a) => show(ctx, a),
        SecretsCommand::Verify(a) => verify(ctx, a),
        SecretsCommand::UpdateKeys(a) => update_keys(ctx, a),
    }
}

/// The identities sops would use, from this process's environment.
fn identities() -> anyhow::Result<Identities> {
    Ok(Identities::from_env(&|k| std::env::var(k).ok())?)
}

/// The declarations (errors printed as diagnostics, then exit 2).
fn network(ctx: &Context) -> anyhow::Result<Network> {
    match crate::pipeline::network_or_print(ctx) {
        Some(network) => Ok(network),
        None => bail!("the declarations have errors (see above)"),
    }
}

fn declared<'n>(ctx: &Context, network: &'n Network, name: &str) -> anyhow::Result<&'n Secret> {
    network
        .secrets
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, s)| s)
        .ok_or_else(|| {
            let names: Vec<&str> = network.secrets.keys().map(|n| n.as_str()).collect();
            let file = ctx.network_file();
            let file = file.strip_prefix(&ctx.repo).unwrap_or(&file).display();
            let help = format!(
                "  = help: declare it in {file}: `secrets.{name} = {{ file = \"…\"; keys = [ … ]; }};`"
            );
            if names.is_empty() {
                anyhow!("no secret `{name}` is declared in {file} (it has no `secrets`)\n{help}")
            } else {
                anyhow!(
                    "no secret `{name}` is declared in {file}; declared secrets: {}\n{help}",
                    names.join(", ")
                )
            }
        })
}

/// `path` relative to the repo, `/`-separated (as `.sops.yaml` rules see it).
fn rel(ctx: &Context, path: &Path) -> String {
    let root = ctx.repo.canonicalize().unwrap_or_else(|_| ctx.repo.clone());
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let abs = abs.canonicalize().unwrap_or_else(|_| {
        // A file that does not exist yet: canonicalize its parent.
        match (abs.parent(), abs.file_name()) {
            (Some(p), Some(f)) => p.canonicalize().map(|p| p.join(f)).unwrap_or(abs.clone()),
            _ => abs.clone(),
        }
    });
    let r = abs.strip_prefix(&root).unwrap_or(&abs);
    r.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Resolves a user-given file path: absolute, else relative to the current directory.
fn user_path(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// The repository's `.sops.yaml`, when there is one that parses: to name
/// recipients in messages, to choose files.
fn optional_config(ctx: &Context) -> Option<SopsConfig> {
    load_config(ctx).ok().map(|(_, conf)| conf)
}

/// An error's message with recipients written by their `.sops.yaml` anchor names.
fn named(e: &avalanche_sops::Error, conf: Option<&SopsConfig>) -> String {
    match conf {
        Some(c) => e.to_string_naming(&|r| c.recipient_name(r)),
        None => e.to_string_naming(&avalanche_sops::config::short_key),
    }
}

/// The one read of `.sops.yaml` for `secrets` (`check` reads it on its listing
/// thread): the same parse, whose errors name `.sops.yaml:LINE`.
fn load_config(ctx: &Context) -> anyhow::Result<(PathBuf, SopsConfig)> {
    let path = ctx.repo.join(".sops.yaml");
    let text = avalanche_fsread::read_text(&path, MAX_SOPS_FILE_BYTES)
        .with_context(|| format!("reading {} (the SOPS creation rules)", path.display()))?;
    let conf = SopsConfig::parse(&text).map_err(|e| e.in_file(".sops.yaml"))?;
    Ok((path, conf))
}

/// The recipients and rule of the creation rule matching `rel_path`.
fn rule_for<'c>(
    conf: &'c SopsConfig,
    rel_path: &str,
) -> anyhow::Result<&'c avalanche_sops::config::CreationRule> {
    let rule = conf
        .rule_for(rel_path)
        .ok_or_else(|| avalanche_sops::Error::NoMatchingRule {
            config: PathBuf::from(".sops.yaml"),
            path: rel_path.to_string(),
        })?;
    rule.ensure_supported()
        .map_err(|e| e.in_file(".sops.yaml"))?;
    Ok(rule)
}

/// SOPS files, `.sops.yaml` and `--from` files are read whole up to this size
/// (through the shared bounded reader: a regular file, never a FIFO or device).
const MAX_SOPS_FILE_BYTES: u64 = 256 << 20;

fn read_text(path: &Path, shown: &str) -> anyhow::Result<String> {
    avalanche_fsread::read_text(path, MAX_SOPS_FILE_BYTES)
        .with_context(|| format!("reading {shown}"))
}

/// Whether a file is a SOPS file, by the one detector ([`avalanche_sops::scan`]:
/// a `sops` mapping with a `mac` in any document; a file whose YAML broke after
/// a `sops:` block still counts, so that `verify` names it with its syntax error
/// instead of skipping it).
/// A file over 4 MiB is judged by its last 64 KiB, where sops writes the metadata
/// (so a large SOPS file is never skipped; reading it whole comes later, bounded).
fn looks_like_sops(path: &Path) -> bool {
    use std::io::{Read as _, Seek as _};
    const TAIL: u64 = 64 << 10;
    let Ok((mut file, len)) = avalanche_fsread::open(path) else {
        return false;
    };
    if len <= 4 << 20 {
        return avalanche_fsread::read_open(file, len, path, 4 << 20)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .is_some_and(|t| avalanche_sops::scan::is_sops(&t));
    }
    let mut tail = Vec::new();
    if file.seek(std::io::SeekFrom::Start(len - TAIL)).is_err()
        || file.take(TAIL).read_to_end(&mut tail).is_err()
    {
        return false;
    }
    let tail = String::from_utf8_lossy(&tail);
    (tail.contains("\nsops:") || tail.contains("\"sops\":")) && tail.contains("mac")
}

fn decrypt_file(
    path: &Path,
    shown: &str,
    ids: &Identities,
) -> Result<(String, DecryptedFile), avalanche_sops::Error> {
    let text = avalanche_fsread::read_text(path, MAX_SOPS_FILE_BYTES).map_err(|error| {
        avalanche_sops::Error::Read {
            what: "reading".into(),
            error,
        }
        .in_file(shown)
    })?;
    let d = avalanche_sops::decrypt_file(&text, Format::from_path(path), ids).map_err(|e| {
        // A file that does not even parse (a `.nix` file, say) is not a SOPS file:
        // say that, rather than where its YAML broke.
        // A file with a `sops` key that does not parse (a duplicate key, a bad
        // indent, a merge conflict left in it) keeps its syntax error: that is
        // what is wrong with it.
        let has_sops_key = text.starts_with("sops:")
            || text.contains("\nsops:")
            || text.contains("\"sops\"")
            || text.contains("ENC[AES256_GCM,");
        if matches!(e, avalanche_sops::Error::Syntax { .. }) && !has_sops_key {
            avalanche_sops::Error::Metadata(
                "it is neither YAML nor JSON with a `sops` section; name a file that `secrets seal` or `sops` wrote".into(),
            )
            .in_file(shown)
        } else {
            e.in_file(shown)
        }
    })?;
    Ok((text, d))
}

/// Writes `text` to `rel` (repository-relative) atomically: a temp file in the
/// same directory, synced, then renamed over the target. The directory is reached
/// from the repository root without following a symlink, and the temp file and
/// the rename are made relative to it (`crate::beneath`): no write leaves the
/// repository. With the writers' lock held, temp files a killed `seal` left in
/// that directory are removed first. A file being replaced keeps its mode; a
/// new one is 0600.
fn write_atomic(repo: &Path, rel: &str, text: &str) -> anyhow::Result<()> {
    let (dir_rel, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let _lock = crate::plan_write::lock(repo)?;
    let dir = crate::beneath::open_dir(repo, dir_rel, true, rel)?;
    crate::beneath::sweep_temps(&dir, &repo.join(dir_rel), &|name| {
        name.starts_with(avalanche_model::layout::SEAL_TEMP_PREFIX)
    })
    .with_context(|| format!("removing stale temp files next to {rel}"))?;
    if crate::beneath::is_symlink(&dir, name) {
        bail!(
            "refusing to write `{rel}`: it is a symlink\n  = help: replace the link with the file itself"
        );
    }
    let mode = crate::beneath::file_mode(&dir, name).unwrap_or(0o600);
    let temp = crate::beneath::temp_name(avalanche_model::layout::SEAL_TEMP_PREFIX);
    crate::beneath::create_file(&dir, &temp, text.as_bytes(), mode, true).map_err(|e| {
        anyhow!(
            "{rel} was left unchanged: cannot create a file in {}: {e}",
            repo.join(dir_rel).display()
        )
    })?;
    rustix::fs::renameat(&dir, temp.as_str(), &dir, name).map_err(|e| {
        let _ = rustix::fs::unlinkat(&dir, temp.as_str(), rustix::fs::AtFlags::empty());
        anyhow!("replacing {rel}: {}", std::io::Error::from(e))
    })?;
    Ok(())
}

/// `path` (absolute, or relative to the current directory) as a path relative to
/// the repository, compared without resolving symlinks (a link must not carry a
/// write out of the repository, nor make an outside file look inside); `None`
/// when it is not inside.
fn inside_repo(ctx: &Context, path: &Path) -> Option<String> {
    let repo = std::path::absolute(&ctx.repo).ok()?;
    let path = std::path::absolute(path).ok()?;
    let rel = path.strip_prefix(&repo).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| match c {
            std::path::Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

// ------------------------------------------------------------------ seal

fn seal(ctx: &Context, args: SealArgs) -> anyhow::Result<ExitCode> {
    let network = network(ctx)?;
    let secret = declared(ctx, &network, &args.name)?;
    let rel_path = secret.file.value.clone();
    let path = ctx.repo.join(&rel_path);
    let (_, conf) = load_config(ctx)?;
    let rule = rule_for(&conf, &rel_path)?;
    // Before anything is read through it: a symlink on the way could lead out.
    crate::beneath::check_path(&ctx.repo, &rel_path)?;
    let format = Format::from_path(&path);
    let shape = match secret.format {
        SecretFormat::Kubernetes => Shape::KubernetesSecret {
            name: &args.name,
            namespace: secret.namespace.as_ref().map(|ns| ns.as_str()),
        },
        SecretFormat::Plain => Shape::Plain,
    };
    let crypt_rule = shape.crypt_rule(rule);
    let ids = identities()?;

    let existing_file = if path.exists() {
        let (text, d) = decrypt_file(&path, &rel_path, &ids).map_err(|e| {
            let e = named(&e, Some(&conf));
            anyhow!("{e}\n  (the existing file must decrypt so its data key and values can be kept; to start over, delete it)")
        })?;
        Some((text, d))
    } else {
        None
    };
    // In a file of several documents, this secret is one of them: the Secret of
    // its name (the others are kept as they are).
    let index = match &existing_file {
        Some((_, file)) if file.documents.len() > 1 => {
            Some(secret_document(file, &args.name, shape, &rel_path)?)
        }
        _ => None,
    };
    let existing: Option<&Decrypted> = existing_file
        .as_ref()
        .and_then(|(_, f)| f.documents.get(index.unwrap_or(0)));
    let key_names: Vec<String> = secret.keys.iter().map(|k| k.value.clone()).collect();

    let from = match &args.from {
        Some(f) => {
            let p = user_path(f);
            let shown = f.display().to_string();
            let (_, d) = decrypt_file(&p, &shown, &ids)?;
            Some((shown, document_with_keys(d, &key_names)))
        }
        None => None,
    };
    let values = gather_values(&args, &key_names, from.as_ref(), existing)?;

    let pairs: Vec<(&str, &str)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let plain = shape.document(&pairs);
    let recipients = rule.recipients();
    let request = ops::Seal {
        plain: &plain,
        recipients: &recipients,
        rule: crypt_rule,
        mac_only_encrypted: rule.mac_only_encrypted,
        format,
        existing,
    };
    let outcome = match (&existing_file, index) {
        (Some((text, file)), Some(index)) => ops::seal_document(&request, file, text, index),
        _ => ops::seal(&request),
    }
    .map_err(|e| e.in_file(&rel_path))?;
    match outcome {
        Outcome::Unchanged => {
            if !ctx.global.quiet {
                println!("unchanged {rel_path} (same values, same recipients)");
            }
        }
        Outcome::Changed(text) => {
            write_atomic(&ctx.repo, &rel_path, &text)?;
            if !ctx.global.quiet {
                let verb = if existing.is_some() {
                    "updated"
                } else {
                    "sealed"
                };
                println!(
                    "{verb} {rel_path} ({} key{}, {} recipient{})",
                    values.len(),
                    if values.len() == 1 { "" } else { "s" },
                    recipients.len(),
                    if recipients.len() == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The document of a multi-document file that holds secret `name`: for a
/// Kubernetes secret, the `Secret` with that `metadata.name`.
fn secret_document(
    file: &DecryptedFile,
    name: &str,
    shape: Shape<'_>,
    shown: &str,
) -> anyhow::Result<usize> {
    if let Some(i) = file
        .documents
        .iter()
        .position(|d| shape.is_document(&d.plain))
    {
        return Ok(i);
    }
    let names: Vec<String> = file
        .documents
        .iter()
        .map(|d| {
            let kind = d.plain.get("kind").and_then(Value::as_str).unwrap_or("?");
            let n = d
                .plain
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            format!("{kind}/{n}")
        })
        .collect();
    bail!(
        "{shown} has {} YAML documents ({}), and none is the Secret `{name}`: \
         name the Secret `{name}` in one of them, or declare the secret in a file of its own",
        file.documents.len(),
        names.join(", ")
    )
}

/// The document of a `--from` file to take values from: the first that holds
/// one of `keys` (the only one, in a single-document file).
fn document_with_keys(file: DecryptedFile, keys: &[String]) -> Decrypted {
    let at = file
        .documents
        .iter()
        .position(|d| keys.iter().any(|k| find_key(&d.plain, k).is_some()))
        .unwrap_or(0);
    let mut documents = file.documents;
    documents.swap_remove(at)
}

/// A scalar value as the string it stands for.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(avalanche_sops::tree::format_float(*f)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The value at a dotted path; under `data` (a Kubernetes Secret), base64-decoded.
fn lookup(doc: &Value, path: &str) -> Option<Result<String, String>> {
    let mut cur = doc;
    for seg in path.split('.') {
        cur = cur.get(seg)?;
    }
    let text = scalar_text(cur)?;
    if path.starts_with("data.") && doc.get("kind").and_then(Value::as_str) == Some("Secret") {
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| format!("`{path}` is not valid base64"));
        return Some(decoded.and_then(|b| {
            String::from_utf8(b).map_err(|_| format!("`{path}` is not UTF-8 text"))
        }));
    }
    Some(Ok(text))
}

/// Where a declared key's value is in a secret file, if anywhere.
fn find_key(doc: &Value, key: &str) -> Option<Result<String, String>> {
    lookup(doc, &format!("stringData.{key}"))
        .or_else(|| lookup(doc, &format!("data.{key}")))
        .or_else(|| lookup(doc, key))
}

/// Each declared key's plaintext: `--from`, else the environment, else the
/// current file, else a prompt on a terminal.
fn gather_values(
    args: &SealArgs,
    keys: &[String],
    from: Option<&(String, Decrypted)>,
    existing: Option<&Decrypted>,
) -> anyhow::Result<Vec<(String, Zeroizing<String>)>> {
    let mut from_values: Vec<(String, Zeroizing<String>)> = Vec::new();
    if let Some((shown, d)) = from {
        if args.key.is_empty() {
            for k in keys {
                if let Some(v) = find_key(&d.plain, k) {
                    let v = v.map_err(|e| anyhow!("{shown}: {e}"))?;
                    from_values.push((k.clone(), Zeroizing::new(v)));
                }
            }
            if from_values.is_empty() {
                bail!(
                    "{shown}: none of the declared keys ({}) is in it; name the value with --key PATH",
                    keys.join(", ")
                );
            }
        } else {
            for spec in &args.key {
                let (key, path) = match spec.split_once('=') {
                    Some((k, p)) => (k.to_string(), p.to_string()),
                    None => (
                        spec.rsplit('.').next().unwrap_or(spec).to_string(),
                        spec.clone(),
                    ),
                };
                if !keys.contains(&key) {
                    bail!(
                        "--key {spec}: `{key}` is not a declared key of this secret (declared: {})",
                        keys.join(", ")
                    );
                }
                let v = lookup(&d.plain, &path)
                    .ok_or_else(|| anyhow!("{shown}: no value at `{path}`"))?
                    .map_err(|e| anyhow!("{shown}: {e}"))?;
                from_values.push((key, Zeroizing::new(v)));
            }
        }
    }
    let interactive = std::io::stdin().is_terminal();
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for k in keys {
        if let Some((_, v)) = from_values.iter().find(|(n, _)| n == k) {
            out.push((k.clone(), v.clone()));
        } else if let Some(v) = std::env::var_os(k) {
            let v = v
                .into_string()
                .map_err(|_| anyhow!("the environment variable {k} is not UTF-8"))?;
            out.push((k.clone(), Zeroizing::new(v)));
        } else if let Some(Ok(v)) = existing.and_then(|d| find_key(&d.plain, k)) {
            out.push((k.clone(), Zeroizing::new(v)));
        } else if interactive {
            let v = rpassword::prompt_password(format!("{} {k}: ", args.name))
                .context("reading a value from the terminal")?;
            out.push((k.clone(), Zeroizing::new(v)));
        } else {
            missing.push(k.as_str());
        }
    }
    if !missing.is_empty() {
        bail!(
            "no value for {} of secret `{}`: set the environment variable{} of the same name, use --from FILE, \
             or run on a terminal to be prompted",
            missing.join(", "),
            args.name,
            if missing.len() == 1 { "" } else { "s" }
        );
    }
    Ok(out)
}

// ------------------------------------------------------------------ show

fn show(ctx: &Context, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let as_path = user_path(Path::new(&args.target));
    let (path, shown) = if as_path.is_file() {
        (as_path, args.target.clone())
    } else if args.target.contains('/') || args.target.contains('.') {
        bail!("{}: no such file", args.target);
    } else {
        let network = network(ctx)?;
        let secret = declared(ctx, &network, &args.target)?;
        let p = ctx.repo.join(&secret.file.value);
        if !p.is_file() {
            bail!(
                "{}: the secret `{}` is not sealed yet (run `avalanche-net secrets seal {}`)",
                secret.file.value,
                args.target,
                args.target
            );
        }
        (p, secret.file.value.clone())
    };
    let ids = identities()?;
    let d = match decrypt_file(&path, &shown, &ids) {
        Ok((_, d)) => d,
        // A value or MAC that does not hold is a finding about the file (exit 1);
        // anything else means it could not be read here (exit 2).
        Err(e) => {
            eprintln!("error: {}", named(&e, optional_config(ctx).as_ref()));
            return Ok(if e.is_decryption_failure() {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            });
        }
    };
    // Several documents are shown as `sops -d` shows them: separated by `---`.
    let text = avalanche_sops::tree::emit_documents(&d.plains(), Format::from_path(&path));
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------- verify

/// Every SOPS file (YAML or JSON with a `sops` section) of the repository, as
/// [`crate::walk`] lists its files (what git shows, so `.gitignore`d files are
/// not the repository's), sorted, leaving out subtrees with their own
/// `.sops.yaml` (sops governs a file by the nearest one, so those belong to
/// another configuration). Also returns those subtrees, so that they are named
/// rather than skipped silently.
fn repo_sops_files(root: &Path) -> anyhow::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let listing = crate::walk::list(root)?;
    // The outermost directories (below the root) holding a `.sops.yaml`.
    let mut other_configs: Vec<&str> = Vec::new();
    for dir in listing
        .paths
        .iter()
        .filter_map(|p| p.strip_suffix(".sops.yaml"))
        .filter(|dir| dir.ends_with('/'))
    {
        if !other_configs.iter().any(|outer| dir.starts_with(outer)) {
            other_configs.push(dir);
        }
    }
    let mut out: Vec<PathBuf> = listing
        .paths
        .iter()
        .filter(|p| !other_configs.iter().any(|dir| p.starts_with(dir)))
        .filter(|p| {
            matches!(
                Path::new(p).extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            )
        })
        .map(|p| root.join(p))
        .filter(|p| looks_like_sops(p))
        .collect();
    out.sort();
    let other_configs = other_configs
        .iter()
        .map(|dir| root.join(dir.trim_end_matches('/')))
        .collect();
    Ok((out, other_configs))
}

/// The files to work on: those named, else the repository's SOPS files that a
/// creation rule of its `.sops.yaml` matches (all of them without a `.sops.yaml`).
fn targets(ctx: &Context, files: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, String)>> {
    if !files.is_empty() {
        let named: Vec<(PathBuf, String)> = files
            .iter()
            .map(|f| (user_path(f), f.display().to_string()))
            .collect();
        // A mistyped path could not run (exit 2); it is not a file that failed.
        if let Some((_, shown)) = named.iter().find(|(p, _)| !p.is_file()) {
            bail!(
                "{shown}: no such file (name SOPS files by their path; without FILES every SOPS file of the repository is used)"
            );
        }
        return Ok(named);
    }
    let conf = optional_config(ctx);
    let mut skipped = Vec::new();
    let mut out = Vec::new();
    let (found, other_configs) = repo_sops_files(&ctx.repo)?;
    if !other_configs.is_empty() && !ctx.global.quiet {
        let dirs: Vec<String> = other_configs
            .iter()
            .map(|d| format!("{}/", rel(ctx, d)))
            .collect();
        eprintln!(
            "note: left out {}, which {} its own .sops.yaml (run there to use it)",
            dirs.join(", "),
            if dirs.len() == 1 { "has" } else { "each have" }
        );
    }
    for p in found {
        let r = rel(ctx, &p);
        if conf.as_ref().is_none_or(|c| c.rule_for(&r).is_some()) {
            out.push((p, r));
        } else {
            skipped.push(r);
        }
    }
    // Never left out silently: they belong to no rule of this `.sops.yaml`
    // (test fixtures, another tool's files), so their keys may not be here.
    if !skipped.is_empty() && !ctx.global.quiet {
        eprintln!(
            "note: {} SOPS file{} left out, as no creation rule of .sops.yaml matches {}: {}",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            if skipped.len() == 1 { "it" } else { "them" },
            skipped.join(", ")
        );
    }
    Ok(out)
}

fn verify(ctx: &Context, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let ids = identities()?;
    let files = targets(ctx, &args.files)?;
    if files.is_empty() {
        if !ctx.global.quiet {
            println!("no SOPS files found");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let conf = optional_config(ctx);
    // Files at fault (tampered, MAC, malformed) and files this machine could not
    // check (no identity, unsupported): the first is exit 1, the second alone exit 2.
    let (mut failed, mut unchecked) = (0, 0);
    for (path, shown) in &files {
        match decrypt_file(path, shown, &ids) {
            Ok((_, file)) => {
                if ctx.global.verbose {
                    // A reader going away (`| head`) must not cut the checks short:
                    // the exit code says whether every file verified.
                    let _ = match file.documents.len() {
                        1 => writeln!(std::io::stdout(), "ok {shown}"),
                        n => writeln!(std::io::stdout(), "ok {shown} ({n} documents)"),
                    };
                }
            }
            Err(e) if e.is_damage() => {
                failed += 1;
                eprintln!("error: {}", named(&e, conf.as_ref()));
            }
            Err(e) => {
                unchecked += 1;
                eprintln!("could not check: {}", named(&e, conf.as_ref()));
            }
        }
    }
    if failed > 0 || unchecked > 0 {
        let mut parts = Vec::new();
        if failed > 0 {
            parts.push(format!("{failed} failed to verify"));
        }
        if unchecked > 0 {
            parts.push(format!("{unchecked} could not be checked here"));
        }
        eprintln!(
            "{} of {} SOPS files: {}",
            failed + unchecked,
            files.len(),
            parts.join(", ")
        );
        return Ok(ExitCode::from(if failed > 0 { 1 } else { 2 }));
    }
    if !ctx.global.quiet {
        println!(
            "verified {} SOPS file{} (decrypted, MAC holds)",
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

// ------------------------------------------------------------ updatekeys

fn update_keys(ctx: &Context, args: UpdateKeysArgs) -> anyhow::Result<ExitCode> {
    let (_, conf) = load_config(ctx)?;
    let ids = identities()?;
    let files = targets(ctx, &args.files)?;
    let mut failed = 0;
    let mut damaged = 0;
    let mut updated = 0;
    for (path, shown) in &files {
        let result = (|| -> anyhow::Result<bool> {
            let rel_path = rel(ctx, path);
            let rule = rule_for(&conf, &rel_path)?;
            let text = read_text(path, shown)?;
            let d = avalanche_sops::decrypt_file(&text, Format::from_path(path), &ids)
                .map_err(|e| e.in_file(shown))
                .map_err(|e| {
                    if e.is_damage() {
                        damaged += 1;
                    }
                    anyhow!("{}", named(&e, Some(&conf)))
                })?;
            let outcome = ops::update_keys_file(
                &text,
                Format::from_path(path),
                &d,
                &rule.recipients(),
                args.rotate,
            )
            .map_err(|e| e.in_file(shown))?;
            match outcome {
                Outcome::Unchanged => Ok(false),
                Outcome::Changed(new) => {
                    let inside = inside_repo(ctx, path).ok_or_else(|| {
                        anyhow!(
                            "refusing to write {shown}: it is outside the repository {}",
                            ctx.repo.display()
                        )
                    })?;
                    write_atomic(&ctx.repo, &inside, &new)?;
                    Ok(true)
                }
            }
        })();
        match result {
            Ok(true) => {
                updated += 1;
                if !ctx.global.quiet {
                    println!("updated {shown}");
                }
            }
            Ok(false) => {
                if ctx.global.verbose {
                    println!("unchanged {shown}");
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {e:#}");
            }
        }
    }
    if !ctx.global.quiet {
        println!(
            "{updated} updated, {} unchanged, {failed} failed",
            files.len() - updated - failed
        );
    }
    // A damaged file is a finding (exit 1); otherwise a file that could not be
    // updated here (no identity, no rule) means the command could not do its job.
    Ok(if damaged > 0 {
        ExitCode::from(1)
    } else if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
