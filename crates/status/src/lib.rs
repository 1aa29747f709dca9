//! Where the migration stands: the migration plan's five phases, each derived
//! from the declarations and the repository: (1) documentation, (2) the proxy
//! service deployed, (3) the clients (the IRC bot) migrated, (4) cleanup of the
//! retired hosts, (5) enhancements. Each is done, or lists what remains with the
//! exact file or command. Then the money the retired hosts no longer cost.
//!
//! [`assess`] is a pure function of the [`Network`], the render `Plan`, `check`'s
//! findings with the repository facts they ran on ([`Checked`]), and a
//! [`Worktree`]: the few questions about files and git history the phases ask,
//! which the binary answers from the disk and `git` (and a test from a map).
//! Phases 3 and 4 are `check`'s findings (`egress-component-missing`,
//! `egress-client-protocol`, the `retired-*` rules) on the same repository facts,
//! matched by their structured data (rule, `subject`, `path`), never by message
//! text, so `status` and `check` cannot disagree; phases 1, 2 and 5 compare the
//! repository with what `build` would write.
//!
//! This crate must not do I/O: no file reads, no `git`, no clock.
#![deny(missing_docs)]
use avalanche_check::rules;
use avalanche_diag::{Diagnostic, Severity, SourceMap};
use avalanche_model::{Network, layout};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What the GitOps engine deploys from the repository, and which SOPS files are
/// sealed: a phase is done only when its files are reached from one of its roots and its
/// secrets exist (`None` when the repository could not be read).
struct Deployed {
    reach: avalanche_check::wiring::Reach,
    gitops: avalanche_model::GitOps,
    sealed: std::collections::BTreeSet<String>,
}

impl Deployed {
    fn of(network: &Network, facts: &avalanche_check::RepoFacts) -> Deployed {
        Deployed {
            reach: avalanche_check::wiring::reach(network, facts),
            gitops: network.kubernetes.gitops.value,
            // The declared secrets' files that are sealed, judged as `check` judges them.
            sealed: network
                .secrets
                .values()
                .map(|s| s.file.value.clone())
                .filter(|file| facts.is_sealed(file))
                .collect(),
        }
    }

    /// Why `what` at `path` is not deployed, when it is not.
    fn unreached(&self, path: &str, what: &str) -> Option<Todo> {
        // Without a GitOps engine the user applies the trees: nothing to follow.
        if self.reach.reaches(path) || self.gitops == avalanche_model::GitOps::None {
            return None;
        }
        let flux = self.gitops == avalanche_model::GitOps::Flux;
        let roots = if self.reach.roots.is_empty() && flux {
            "the repository has no Flux bootstrap Kustomization (`flux-system`) and no `kubernetes.flux.registerIn`".to_owned()
        } else if self.reach.roots.is_empty() {
            "the repository has no Argo CD root (an Application no kustomization lists) and no `kubernetes.argocd.registerIn`".to_owned()
        } else {
            format!("roots: {}", self.reach.roots.join(", "))
        };
        let mut todo = Todo::new(format!(
            "{what} is not reachable from {} root ({roots}): nothing deploys it",
            if flux { "a Flux" } else { "an Argo CD" }
        ))
        .file(path);
        todo.fix = Some(if flux {
            "register it where Flux looks (`avalanche-net build` writes it in the directory the bootstrap Kustomization applies, or the one `kubernetes.flux.registerIn` names), commit and push".to_owned()
        } else {
            "register it where Argo CD looks (`avalanche-net build` wires the app-of-apps it finds, or the one `kubernetes.argocd.registerIn` names), commit and push"
                .to_owned()
        });
        Some(todo)
    }
}

/// The working tree and its git history, as the phases ask about them. The
/// binary answers from the disk and `git`; nothing here reads or spawns.
pub trait Worktree {
    /// Whether `rel` (repository-relative) is a regular file.
    fn is_file(&self, rel: &str) -> bool;
    /// The bytes of `rel`, `None` when it cannot be read.
    fn bytes(&self, rel: &str) -> Option<Vec<u8>>;
    /// The day (`YYYY-MM-DD`) of the last commit that changed how often `needle`
    /// occurs in `rel`: when it was wired in. `None` when not committed (or no git).
    fn committed_on(&self, rel: &str, needle: &str) -> Option<String>;
    /// Files under `paths` that git reports as new or modified (not committed).
    fn uncommitted(&self, paths: &[&str]) -> Vec<String>;
}

/// One thing left to do.
#[derive(Debug, Clone, PartialEq)]
struct Todo {
    what: String,
    file: Option<String>,
    line: Option<usize>,
    command: Option<String>,
    /// How to do it, when it comes from a `check` finding (its `help:`).
    fix: Option<String>,
    /// The `check` rule that found it.
    rule: Option<String>,
}

impl Todo {
    fn new(what: impl Into<String>) -> Todo {
        Todo {
            what: what.into(),
            file: None,
            line: None,
            command: None,
            fix: None,
            rule: None,
        }
    }
    fn file(mut self, file: impl Into<String>) -> Todo {
        self.file = Some(file.into());
        self
    }
    fn run(mut self, command: impl Into<String>) -> Todo {
        self.command = Some(command.into());
        self
    }
}

/// `file:line: `, `file: ` or nothing.
fn place(file: Option<&str>, line: Option<usize>) -> String {
    match (file, line) {
        (Some(f), Some(l)) => format!("{f}:{l}: "),
        (Some(f), None) => format!("{f}: "),
        _ => String::new(),
    }
}

/// A `check` finding, located for the checklist.
#[derive(Debug, Clone)]
struct Finding {
    rule: &'static avalanche_diag::Rule,
    /// What it is about (a client's name), as `check` says it.
    subject: Option<String>,
    /// The repository path it is about, as `check` says it.
    path: Option<String>,
    severity: Severity,
    message: String,
    help: Option<String>,
    /// Repository-relative path and 1-based line of the primary span.
    file: Option<String>,
    line: Option<usize>,
}

impl Finding {
    fn new(d: &Diagnostic, sources: &SourceMap) -> Finding {
        Finding {
            file: d.span.map(|s| sources.display_path(s.file)),
            line: d.span.map(|s| sources.line_col(s).0),
            rule: d.rule,
            subject: d.subject.clone(),
            path: d.path.clone(),
            severity: d.severity,
            message: d.message.clone(),
            help: d.help.clone(),
        }
    }

    fn todo(&self) -> Todo {
        Todo {
            what: self.message.clone(),
            file: self.file.clone(),
            line: self.line,
            command: None,
            fix: self.help.clone(),
            rule: Some(self.rule.id.to_owned()),
        }
    }
}

/// `check`'s findings, or why it could not run.
type Findings = Result<Vec<Finding>, String>;

/// One phase of the migration plan.
#[derive(Debug, Clone)]
struct Phase {
    number: u8,
    id: &'static str,
    title: String,
    remaining: Vec<Todo>,
    notes: Vec<String>,
    /// What was looked at (printed with `--verbose`).
    checked: Vec<String>,
}

impl Phase {
    fn new(number: u8, id: &'static str, title: impl Into<String>) -> Phase {
        Phase {
            number,
            id,
            title: title.into(),
            remaining: Vec::new(),
            notes: Vec::new(),
            checked: Vec::new(),
        }
    }
    fn done(&self) -> bool {
        self.remaining.is_empty()
    }
}

/// Money: integer cents, so that 4.49 × 12 is 53.88 and never 53.879999.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cents(i64);

impl Cents {
    fn from_amount(amount: f64) -> Cents {
        // Costs are small, finite and written with two decimals: rounding is exact.
        Cents((amount * 100.0).round() as i64)
    }
    fn plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", self.0.abs() / 100, self.0.abs() % 100)
    }
    fn with_currency(self, currency: &str) -> String {
        match currency {
            "EUR" => format!("€{}", self.plain()),
            "USD" => format!("${}", self.plain()),
            "GBP" => format!("£{}", self.plain()),
            other => format!("{} {other}", self.plain()),
        }
    }
}

#[derive(Debug, Clone)]
struct HostSaving {
    name: String,
    currency: String,
    monthly: Cents,
    /// What replaced it (description, currency, monthly cost), when something did.
    replaced_by: Option<(String, String, Cents)>,
}

/// One currency's yearly savings: what the retired hosts cost, what their
/// replacements cost, and the difference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Yearly {
    gross: Cents,
    replacement: Cents,
}

impl Yearly {
    fn net(self) -> Cents {
        Cents(self.gross.0 - self.replacement.0)
    }
}

/// Where the migration stands: [`assess`]'s answer.
#[derive(Debug, Clone)]
pub struct Status {
    network_file: String,
    phases: Vec<Phase>,
    savings: Vec<HostSaving>,
    /// Facts about the declarations worth knowing that are no remaining work.
    notes: Vec<String>,
}

impl Status {
    /// Yearly savings per currency: gross, replacements, net.
    fn yearly(&self) -> BTreeMap<&str, Yearly> {
        let mut total: BTreeMap<&str, Yearly> = BTreeMap::new();
        for host in &self.savings {
            total.entry(host.currency.as_str()).or_default().gross.0 += host.monthly.0 * 12;
            if let Some((_, currency, monthly)) = &host.replaced_by {
                total.entry(currency.as_str()).or_default().replacement.0 += monthly.0 * 12;
            }
        }
        total
    }

    /// Net yearly savings per currency (what the summary line says).
    fn per_year(&self) -> BTreeMap<&str, Cents> {
        self.yearly()
            .into_iter()
            .map(|(c, y)| (c, y.net()))
            .collect()
    }

    fn savings_text(&self) -> Option<String> {
        let yearly = self.yearly();
        if yearly.is_empty() {
            return None;
        }
        let totals: Vec<String> = yearly
            .iter()
            .map(|(cur, y)| {
                if y.replacement.0 == 0 {
                    format!("{}/year", y.gross.with_currency(cur))
                } else {
                    format!(
                        "{}/year net ({} gross − {} for replacements)",
                        y.net().with_currency(cur),
                        y.gross.with_currency(cur),
                        y.replacement.with_currency(cur)
                    )
                }
            })
            .collect();
        let hosts: Vec<String> = self
            .savings
            .iter()
            .map(|h| {
                let mut text =
                    format!("{}: {}/month", h.name, h.monthly.with_currency(&h.currency));
                if let Some((what, currency, monthly)) = &h.replaced_by {
                    let what = if what.is_empty() {
                        "a replacement"
                    } else {
                        what
                    };
                    text.push_str(&format!(
                        ", replaced by {what} at {}/month",
                        monthly.with_currency(currency)
                    ));
                }
                text
            })
            .collect();
        Some(format!("{} ({})", totals.join(" + "), hosts.join("; ")))
    }

    /// One line: how many phases are done, the next one, the money saved.
    pub fn summary(&self) -> String {
        let done = self.phases.iter().filter(|p| p.done()).count();
        let mut line = format!("{done} of {} phases done", self.phases.len());
        if let Some(next) = self.phases.iter().find(|p| !p.done()) {
            line.push_str(&format!("; next: {}. {}", next.number, next.title));
        }
        if let Some(saved) = self
            .per_year()
            .iter()
            .map(|(cur, c)| c.with_currency(cur))
            .reduce(|a, b| a + " + " + &b)
        {
            line.push_str(&format!("; saved {saved}/year"));
        }
        line
    }

    /// The checklist, for a terminal (`verbose` adds what each phase looked at).
    pub fn to_human(&self, verbose: bool) -> String {
        let mut out = format!("Migration status (declarations: {})\n\n", self.network_file);
        for phase in &self.phases {
            let mark = if phase.done() { "[x]" } else { "[ ]" };
            out.push_str(&format!("{mark} {}. {}\n", phase.number, phase.title));
            for todo in &phase.remaining {
                let place = place(todo.file.as_deref(), todo.line);
                out.push_str(&format!("      - {place}{}\n", todo.what));
                if let Some(fix) = &todo.fix {
                    out.push_str(&format!("        fix: {fix}\n"));
                }
                if let Some(cmd) = &todo.command {
                    out.push_str(&format!("        run: {cmd}\n"));
                }
            }
            for note in &phase.notes {
                out.push_str(&format!("      note: {note}\n"));
            }
            if verbose {
                for checked in &phase.checked {
                    out.push_str(&format!("      checked: {checked}\n"));
                }
            }
        }
        out.push('\n');
        for note in &self.notes {
            out.push_str(&format!("Note: {note}\n"));
        }
        if let Some(saved) = self.savings_text() {
            out.push_str(&format!("Saved by retiring hosts: {saved}\n"));
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// The checklist as JSON (`status --format json`).
    pub fn to_json(&self) -> Value {
        let phases: Vec<Value> = self
            .phases
            .iter()
            .map(|p| {
                let remaining: Vec<Value> = p
                    .remaining
                    .iter()
                    .map(|t| {
                        json!({
                            "what": t.what,
                            "file": t.file,
                            "line": t.line,
                            "command": t.command,
                            "fix": t.fix,
                            "rule": t.rule,
                        })
                    })
                    .collect();
                let reasons: Vec<&str> = p.remaining.iter().map(|t| t.what.as_str()).collect();
                json!({
                    "number": p.number,
                    "id": p.id,
                    "title": p.title,
                    "done": p.done(),
                    "state": if p.done() { "done" } else { "open" },
                    "reasons": reasons,
                    "remaining": remaining,
                    "notes": p.notes,
                })
            })
            .collect();
        let per_year: Vec<Value> = self
            .yearly()
            .iter()
            .map(|(cur, y)| {
                let net = y.net();
                json!({
                    "currency": cur,
                    "amount": net.plain(),
                    "cents": net.0,
                    "text": net.with_currency(cur),
                    "gross": y.gross.plain(),
                    "replacement": y.replacement.plain(),
                    "net": net.plain(),
                })
            })
            .collect();
        let hosts: Vec<Value> = self
            .savings
            .iter()
            .map(|h| {
                let mut host = json!({
                    "name": h.name,
                    "currency": h.currency,
                    "monthly": h.monthly.plain(),
                    "yearly": Cents(h.monthly.0 * 12).plain(),
                });
                if let Some((what, currency, monthly)) = &h.replaced_by {
                    host["replacedBy"] = json!({
                        "description": what,
                        "currency": currency,
                        "monthly": monthly.plain(),
                        "yearly": Cents(monthly.0 * 12).plain(),
                    });
                }
                host
            })
            .collect();
        let mut out = json!({
            "network": self.network_file,
            "phases": phases,
            "done": self.phases.iter().filter(|p| p.done()).count(),
            "total": self.phases.len(),
            "savings": { "perYear": per_year, "hosts": hosts },
        });
        // Only when there is something to say: the output of a network without
        // such facts stays as it was.
        if !self.notes.is_empty() {
            out["notes"] = json!(self.notes);
        }
        out
    }
}

/// `an Argo CD` or `a Flux`, for "… root".
fn article(engine: avalanche_model::GitOps) -> &'static str {
    match engine {
        avalanche_model::GitOps::ArgoCd => "an Argo CD",
        avalanche_model::GitOps::Flux => "a Flux",
        avalanche_model::GitOps::None => "no GitOps",
    }
}

/// `rel` under `kubernetes.dir` (normalised).
fn k8s_path(network: &Network, rel: &str) -> String {
    use avalanche_model::layout;
    layout::join(&layout::normalized(&network.kubernetes.dir), rel)
}

const BUILD: &str = "avalanche-net build";

/// The remaining item of a phase `check` could not judge.
fn cannot_check(err: &str) -> Todo {
    Todo::new(format!("the repository could not be checked: {err}")).run("avalanche-net check")
}

/// `check`'s outcome on the repository: its findings (with the sources their
/// spans point into) and the repository facts they ran on; `Err` says why the
/// repository could not be checked (phases 3 and 4 stay open).
pub type Checked<'a> = Result<
    (
        &'a [Diagnostic],
        &'a SourceMap,
        &'a avalanche_check::RepoFacts,
    ),
    String,
>;

/// The migration's phases for `network` (declared in `network_file`, as shown),
/// given what `build` would write (`plan`, `None` when the declarations do not
/// resolve), `check`'s outcome and the worktree.
pub fn assess(
    network: &Network,
    plan: Option<&avalanche_render::Plan>,
    repo: &dyn Worktree,
    network_file: &str,
    checked: Checked<'_>,
) -> Status {
    let (findings, deployed): (Findings, Option<Deployed>) = match checked {
        Ok((diagnostics, sources, facts)) => (
            Ok(diagnostics
                .iter()
                .map(|d| Finding::new(d, sources))
                .collect()),
            Some(Deployed::of(network, facts)),
        ),
        Err(err) => (Err(err), None),
    };
    let (findings, deployed) = (&findings, deployed.as_ref());
    let proxy_dir = avalanche_model::layout::proxy_dir(&network.kubernetes);
    let engine = network.kubernetes.gitops.value;
    // The registration (Argo CD Application or Flux Kustomization) and its
    // path; `None` with `kubernetes.gitops = "none"`, where the user applies the tree.
    // No tree at all when every egress goes through unmonitored gateways: then
    // no README and no registration are expected either.
    let tree = avalanche_render::writes_proxy_tree(network);
    let registered: Option<(&str, String)> = engine
        .registration()
        .zip(avalanche_render::application_path(network))
        .filter(|_| tree);
    let readme = format!("{proxy_dir}/README.md");
    let stale = |path: &str| match &plan {
        Some(plan) => plan
            .get(path)
            .is_some_and(|want| repo.bytes(path).is_some_and(|have| have != want)),
        None => false,
    };

    // 1. Documentation.
    let mut docs = Phase::new(1, "documentation", "Documentation");
    if !tree {
        docs.checked.push(
            "no shared proxy and no gateway monitored in the cluster: no proxies' tree, and no README, to write"
                .to_owned(),
        );
    } else {
        docs.checked
            .push(format!("{readme} exists and matches the declarations"));
        if !repo.is_file(&readme) {
            docs.remaining.push(
                Todo::new("write the vpn-proxy README")
                    .file(&readme)
                    .run(BUILD),
            );
        } else if stale(&readme) {
            docs.remaining.push(
                Todo::new("the vpn-proxy README is out of date")
                    .file(&readme)
                    .run(BUILD),
            );
        }
    }

    // 2. The proxy service: the tree and its registration (the Argo CD
    // Application or the Flux Kustomization) exist and are in sync.
    let regions: Vec<&str> = network.egress.proxies.keys().map(|n| n.as_str()).collect();
    // Without a GitOps engine the tool cannot know what is applied: the phase
    // is the tree being there, and the note says who applies it.
    let mut proxies = Phase::new(
        2,
        "proxy-service",
        if engine.registration().is_some() {
            "Proxy service deployed"
        } else {
            "Proxy service built (you apply it)"
        },
    );
    if regions.is_empty() && network.egress.gateways.is_empty() {
        // Advice from the user's own declarations, never the bundled example's names.
        let what = match network.egress.providers.keys().next() {
            Some(provider) => format!(
                "declare the proxies (avalanche.network.egress.proxies): one per region you go out through, each with `provider = \"{provider}\"; countries = [ … ];`"
            ),
            None => "declare a VPN provider (avalanche.network.egress.providers) and the proxies (avalanche.network.egress.proxies), one per region you go out through".to_owned(),
        };
        proxies.remaining.push(Todo::new(what).file(network_file));
    }
    // What `build` writes there (nothing without a tree); the well-known names
    // when the plan is not available.
    let mut expected: Vec<String> = match &plan {
        _ if !tree => Vec::new(),
        Some(plan) => plan
            .files()
            .map(|(path, _)| path)
            .filter(|path| path.starts_with(&format!("{proxy_dir}/")) && *path != readme)
            .map(str::to_owned)
            .collect(),
        None => {
            let mut names = vec![
                format!("{proxy_dir}/kustomization.yaml"),
                format!("{proxy_dir}/namespace.yaml"),
            ];
            for region in &regions {
                names.push(format!("{proxy_dir}/deployment-{region}.yaml"));
                names.push(format!("{proxy_dir}/service-{region}.yaml"));
            }
            names
        }
    };
    match &registered {
        None if !tree => {
            proxies.checked.push(
                "no shared proxy: every client goes through a gateway, which its host deploys"
                    .to_owned(),
            );
        }
        Some((registration, app)) => {
            expected.push(app.clone());
            proxies
                .checked
                .push(format!("{proxy_dir} and the {registration} {app} exist"));
            if !repo.is_file(app) {
                proxies.remaining.push(
                    Todo::new(format!("generate the {registration}"))
                        .file(app)
                        .run(BUILD),
                );
            }
        }
        None => {
            proxies.checked.push(format!("{proxy_dir} exists"));
            let apply =
                avalanche_model::layout::apply_command(&proxy_dir, network.proxies_run_ksops());
            proxies.notes.push(format!(
                "no GitOps engine (`kubernetes.gitops = \"none\"`): nothing registers or deploys the tree; apply it yourself after each build: `{apply}`"
            ));
        }
    }
    let missing: Vec<&String> = expected.iter().filter(|p| !repo.is_file(p)).collect();
    let missing_in_dir: Vec<&str> = missing
        .iter()
        .filter_map(|p| p.strip_prefix(&format!("{proxy_dir}/")))
        .collect();
    if !missing_in_dir.is_empty() {
        proxies.remaining.push(
            Todo::new(format!(
                "generate the proxy tree (missing: {})",
                missing_in_dir.join(", ")
            ))
            .file(format!("{proxy_dir}/"))
            .run(BUILD),
        );
    }
    if let Some(plan) = &plan {
        proxies
            .checked
            .push("every generated file matches what `build` would write".to_owned());
        let k8s_root = k8s_path(network, "");
        for (path, _) in plan.files() {
            let ours =
                path.starts_with(&k8s_root) && path != readme && !path.contains("/vpn-egress/");
            if ours && stale(path) {
                proxies.remaining.push(
                    Todo::new("out of date")
                        .file(path)
                        .run("avalanche-net diff; avalanche-net build"),
                );
            }
        }
    } else {
        proxies
            .notes
            .push("the declarations do not resolve: run `avalanche-net check`".to_owned());
    }
    // Deployed means reached from a root of the GitOps engine, with the credentials sealed.
    if let Some(deployed) = deployed
        && !regions.is_empty()
    {
        if let Some((registration, app)) = &registered {
            proxies
                .checked
                .push(format!("the {registration} and the proxy tree are reached from {} root; the proxies' credentials are sealed", article(engine)));
            if repo.is_file(app) {
                let kustomization = format!("{proxy_dir}/kustomization.yaml");
                match deployed.unreached(app, &format!("the {registration}")) {
                    Some(todo) => proxies.remaining.push(todo),
                    None => proxies
                        .remaining
                        .extend(deployed.unreached(&kustomization, "the proxy tree")),
                }
            }
        } else {
            proxies
                .checked
                .push("the proxies' credentials are sealed".to_owned());
        }
        // Each gluetun's own credentials (the shared proxies', then each sidecar's), as
        // `Network::credentials` resolves them: a declared `existingSecret` is the
        // cluster's (ExternalSecrets, sealed-secrets). A secret read by several is
        // named once, for its first reader, with what cannot start without it.
        fn secret_of<'a>(
            network: &'a Network,
            provider: &str,
            own: Option<&'a avalanche_model::Spanned<avalanche_model::Name>>,
            existing: Option<&'a avalanche_model::ExistingSecret>,
        ) -> Option<&'a str> {
            let provider = network.egress.providers.get(provider)?;
            let (name, _) = network.credentials(own, existing, provider).secret?;
            Some(name)
        }
        let mut credentials: Vec<(&str, String, &str)> = network
            .egress
            .proxies
            .values()
            .filter_map(|p| {
                secret_of(
                    network,
                    p.provider.as_str(),
                    p.credentials.as_ref(),
                    p.existing_secret.as_ref(),
                )
            })
            .map(|name| (name, "the proxies'".to_owned(), "the gluetun pods"))
            .collect();
        credentials.sort_unstable();
        credentials.dedup_by(|a, b| a.0 == b.0);
        for (sidecar, s) in &network.egress.sidecars {
            if let Some(name) = secret_of(
                network,
                s.provider.as_str(),
                s.credentials.as_ref(),
                s.existing_secret.as_ref(),
            ) && !credentials.iter().any(|(seen, _, _)| *seen == name)
            {
                credentials.push((name, format!("the sidecar `{sidecar}`'s"), "its gluetun"));
            }
        }
        for (name, whose, pods) in credentials {
            let Some(secret) = network.secrets.get(name) else {
                continue; // `check` reports the unknown secret
            };
            if network.kubernetes.secrets.value == avalanche_model::SecretsBackend::None {
                proxies.remaining.push(Todo::new(format!(
                    "{whose} credentials `{name}` are a SOPS file, but the cluster has no KSOPS (`kubernetes.secrets = \"none\"`): declare an `existingSecret`"
                )));
                continue;
            }
            let file = &secret.file.value;
            if !deployed.sealed.contains(file) {
                proxies.remaining.push(
                    Todo::new(format!(
                        "{whose} credentials `{name}` are not sealed: {pods} cannot start"
                    ))
                    .file(file)
                    .run(format!("avalanche-net secrets seal {name}")),
                );
            }
        }
    }
    // Without an engine, nothing is deployed from git: committing is the user's choice.
    if let Some((_, app)) = &registered
        && proxies.done()
        && !regions.is_empty()
    {
        let uncommitted = repo.uncommitted(&[&proxy_dir, app]);
        if !uncommitted.is_empty() {
            proxies.remaining.push(
                Todo::new(format!(
                    "commit and push so {} deploys it ({} files not committed)",
                    engine.product(),
                    uncommitted.len()
                ))
                .run(format!(
                    "git add {proxy_dir} {app} && git commit && git push"
                )),
            );
        }
    }

    // The egress gateways: each runs on a NixOS host and is deployed with that
    // host's configuration, which `status` cannot see; what it can see is who goes
    // through it and whether the host can read its tunnel key.
    for (name, gw) in &network.egress.gateways {
        let host = gw.host.as_str();
        let users: Vec<&str> = network
            .egress
            .clients
            .iter()
            .filter(|(_, c)| {
                matches!(network.upstream(c), Some(avalanche_model::Upstream::Gateway(g, _)) if g == name)
            })
            .map(|(n, _)| n.as_str())
            .collect();
        let used = if users.is_empty() {
            format!("no client goes through it yet (a client's `proxy = \"{name}\";`)")
        } else {
            format!("clients: {}", users.join(", "))
        };
        proxies.notes.push(format!(
            "gateway `{name}` runs on {host}: {host}'s NixOS configuration deploys it (it imports `nixosModules.egressGateway`); {used}"
        ));
        let key = gw.tunnel.private_key_secret.value.as_str();
        if let Some(deployed) = deployed
            && let Some(secret) = network.secrets.get(key)
            && !deployed.sealed.contains(&secret.file.value)
        {
            proxies.remaining.push(
                Todo::new(format!(
                    "the gateway `{name}`'s tunnel key `{key}` is not sealed: {host} cannot bring up the tunnel"
                ))
                .file(&secret.file.value)
                .run(format!("avalanche-net secrets seal {key}")),
            );
        }
    }

    // 3. Clients (the IRC bot) go through the proxies.
    let clients: Vec<&str> = network.egress.clients.keys().map(|n| n.as_str()).collect();
    let title = if clients.is_empty() {
        "Clients migrated".to_owned()
    } else {
        format!("Clients migrated ({})", clients.join(", "))
    };
    let mut migrated = Phase::new(3, "clients", title);
    if clients.is_empty() {
        migrated
            .notes
            .push("no clients declared (avalanche.network.egress.clients)".to_owned());
    }
    if let Err(err) = findings
        && !clients.is_empty()
    {
        migrated.remaining.push(cannot_check(err));
    }
    for (name, client) in &network.egress.clients {
        let app_dir =
            avalanche_check::wiring::app_dir(network, client.namespace.as_str(), name.as_str());
        let component = avalanche_model::layout::component_dir(
            &network.kubernetes,
            client.namespace.as_str(),
            name.as_str(),
        );
        let flat = avalanche_model::layout::apps_are_flat(&network.kubernetes);
        migrated.checked.push(if flat {
            format!(
                "what applies {app_dir} lists {component} under components (check: {})",
                rules::EGRESS_APP_UNREACHABLE.id
            )
        } else {
            format!(
                "{app_dir}/kustomization.yaml lists vpn-egress under components (check: {})",
                rules::EGRESS_COMPONENT_MISSING.id
            )
        });
        if !repo.is_file(&format!("{component}/kustomization.yaml")) {
            migrated.remaining.push(
                Todo::new(format!("generate {name}'s vpn-egress component"))
                    .file(&component)
                    .run(BUILD),
            );
        } else if plan.as_ref().is_some_and(|p| {
            p.files()
                .any(|(path, _)| path.starts_with(&component) && stale(path))
        }) {
            migrated.remaining.push(
                Todo::new(format!("{name}'s vpn-egress component is out of date"))
                    .file(&component)
                    .run(BUILD),
            );
        }
        let Ok(findings) = findings else { continue };
        // The proxy must be able to carry the app's traffic (`speaks`).
        let uncarried: Vec<Todo> = findings
            .iter()
            .filter(|f| {
                *f.rule == rules::EGRESS_CLIENT_PROTOCOL
                    || *f.rule == rules::EGRESS_UPSTREAM_PROTOCOL
            })
            .filter(|f| f.subject.as_deref() == Some(name.as_str()))
            .map(Finding::todo)
            .collect();
        if !uncarried.is_empty() {
            migrated.remaining.extend(uncarried);
            continue;
        }
        // `check` says which app kustomization it is about (the span points into
        // it, or, when it is missing, at the client's declaration).
        let kustomization = format!("{app_dir}/kustomization.yaml");
        let unwired: Vec<&Finding> = findings
            .iter()
            .filter(|f| {
                *f.rule == rules::EGRESS_COMPONENT_MISSING
                    || *f.rule == rules::EGRESS_APP_UNREACHABLE
            })
            .filter(|f| {
                f.subject.as_deref() == Some(name.as_str())
                    || f.path
                        .as_deref()
                        .is_some_and(|p| p.starts_with(&format!("{app_dir}/")))
            })
            .collect();
        let (upstream_kind, via) = upstream_label(network, client);
        if !unwired.is_empty() {
            migrated.remaining.extend(unwired.iter().map(|f| Todo {
                what: format!("{name} does not go through {via} yet: {}", f.message),
                ..f.todo()
            }));
            continue;
        }
        if let Some(deployed) = deployed
            && repo.is_file(&format!("{component}/kustomization.yaml"))
        {
            migrated.checked.push(if registered.is_some() {
                format!(
                    "{component} is reached from {} root; {name}'s protocol is one it speaks",
                    article(engine)
                )
            } else {
                format!(
                    "{name}'s protocol is one it speaks; you apply it: `{}`",
                    avalanche_model::layout::apply_command(&app_dir, false)
                )
            });
            migrated.remaining.extend(deployed.unreached(
                &format!("{component}/kustomization.yaml"),
                &format!("{name}'s vpn-egress component"),
            ));
        }
        let ns = client.namespace.as_str();
        let deployment = client.deployment.as_str();
        let yml = format!("{app_dir}/kustomization.yml");
        let component_file = format!("{component}/kustomization.yaml");
        let (wired_in, needle) = if flat {
            // The entry went into whatever applies the flat file, in the same
            // write as the Component: the Component's first commit dates it.
            (&component_file, "kind: Component")
        } else if !repo.is_file(&kustomization) && repo.is_file(&yml) {
            (&yml, layout::COMPONENT_DIR)
        } else {
            (&kustomization, layout::COMPONENT_DIR)
        };
        let when = match repo.committed_on(wired_in, needle) {
            Some(day) => match add_days(&day, 7) {
                Some(until) => format!("wired on {day}; validate for one week, until {until}"),
                None => format!("wired on {day}; validate for one week"),
            },
            None => "not committed yet; once deployed, validate for one week".to_owned(),
        };
        migrated.notes.push(format!(
            "{name}: {when}: check `kubectl -n {ns} logs deploy/{deployment}` daily; egress IP via the {upstream_kind} ({via})"
        ));
    }

    // 4. Cleanup: no trace of the retired hosts, as `check`'s `retired-*` rules see it.
    // Errors hold the phase back; warnings (mentions) are listed as notes.
    let retired: Vec<&str> = network.retired.keys().map(|n| n.as_str()).collect();
    let title = if retired.is_empty() {
        "Cleanup".to_owned()
    } else {
        format!("Cleanup ({})", retired.join(", "))
    };
    let mut cleanup = Phase::new(4, "cleanup", title);
    for (name, host) in &network.retired {
        let mut names = vec![name.as_str()];
        names.extend(host.aliases.iter().map(|a| a.value.as_str()));
        cleanup.checked.push(format!(
            "check's retired-* rules for {}: flake.nix, hosts/, secrets/, .sops.yaml, SOPS files, Tailscale nodes, mentions",
            names.join(", ")
        ));
    }
    match findings {
        Err(err) if !retired.is_empty() => cleanup.remaining.push(cannot_check(err)),
        Err(_) => {}
        Ok(findings) => {
            let traces = findings
                .iter()
                .filter(|f| f.rule.id.starts_with("retired-"));
            let (errors, warnings): (Vec<&Finding>, Vec<&Finding>) =
                traces.partition(|f| f.severity == Severity::Error);
            cleanup.remaining.extend(errors.iter().map(|f| f.todo()));
            // One line for the warnings and notes (mentions): `check` shows them.
            let others: Vec<avalanche_diag::Diagnostic> = warnings
                .iter()
                .map(|f| avalanche_diag::Diagnostic::new(f.rule, f.severity, ""))
                .collect();
            cleanup
                .notes
                .extend(avalanche_diag::warnings_line(&others).map(|l| {
                    l.split_once(": ")
                        .map_or(l.clone(), |(_, rest)| rest.to_owned())
                }));
        }
    }
    for (name, host) in &network.retired {
        if let Some(new) = &host.renamed_to {
            cleanup.notes.push(format!(
                "`{name}` was renamed to `{}`: the name is gone, its key lives on (its age recipients are not leftovers, and it saves nothing)",
                new.value
            ));
        }
    }
    for (name, node) in &network.tailscale.nodes {
        if node.state.value == avalanche_model::NodeState::Off {
            let routes: Vec<String> = node
                .advertise_routes
                .iter()
                .map(|r| r.value.to_string())
                .collect();
            let serves = if routes.is_empty() {
                String::new()
            } else {
                format!(
                    ": {} unreachable unless another router advertises it",
                    routes.join(", ")
                )
            };
            cleanup.notes.push(format!(
                "`{name}` is powered down (state = \"off\"){serves}; retire it (`retired.{name}`) or power it on"
            ));
        }
    }
    if !cleanup.remaining.is_empty() {
        cleanup.notes.push(
            "`avalanche-net check` shows each finding in context; `avalanche-net explain RULE` says why it matters"
                .to_owned(),
        );
    }

    // 5. Enhancements.
    let mut extras = Phase::new(
        5,
        "enhancements",
        "Enhancements (monitoring, verification job)",
    );
    if !network.kubernetes.monitoring.enable {
        extras.remaining.push(
            Todo::new("enable monitoring: set kubernetes.monitoring.enable = true")
                .file(network_file)
                .run(BUILD),
        );
    }
    // The Job proves the shared proxies' egress: without one it has nothing to prove.
    if !network.kubernetes.verification && !network.egress.proxies.is_empty() {
        extras.remaining.push(
            Todo::new("add the egress verification job: set kubernetes.verification.enable = true")
                .file(network_file)
                .run(BUILD),
        );
    }
    extras
        .checked
        .push("kubernetes.monitoring.enable and kubernetes.verification.enable".to_owned());

    // A renamed machine still runs (and costs): it saves nothing.
    let savings = network
        .retired
        .iter()
        .filter(|(_, host)| host.renamed_to.is_none())
        .map(|(name, host)| {
            let r = &host.replaced_by;
            let replaced = r.monthly_cost > 0.0 || !r.description.is_empty();
            HostSaving {
                name: name.to_string(),
                currency: host.currency.clone(),
                monthly: Cents::from_amount(host.monthly_cost),
                replaced_by: replaced.then(|| {
                    (
                        r.description.clone(),
                        r.currency.clone(),
                        Cents::from_amount(r.monthly_cost),
                    )
                }),
            }
        })
        .collect();
    Status {
        network_file: network_file.to_owned(),
        phases: vec![docs, proxies, migrated, cleanup, extras],
        savings,
        notes: tailnet_notes(network),
    }
}

/// The tailnet facts `status` mentions: subnet routers that form failover groups.
fn tailnet_notes(network: &Network) -> Vec<String> {
    network
        .tailscale
        .failover_groups()
        .iter()
        .map(|(route, routers)| {
            let names: Vec<&str> = routers.iter().map(|n| n.as_str()).collect();
            format!(
                "{} form a failover group for {route}: Tailscale makes one the primary router and switches to another when it goes offline (the policy approves the route for each)",
                names.join(" and ")
            )
        })
        .collect()
}

/// `YYYY-MM-DD` plus `days`, or `None` when `day` is not such a date.
fn add_days(day: &str, days: i64) -> Option<String> {
    let mut parts = day.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    use avalanche_sops::civil::{civil_from_days, days_from_civil};
    let (y, m, d) = civil_from_days(days_from_civil(y, m, d) + days);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// How `status` names a client's upstream: its kind, and the gluetun proxy's
/// Service or the gateway with the host it runs on.
fn upstream_label(
    network: &avalanche_model::Network,
    client: &avalanche_model::Client,
) -> (&'static str, String) {
    match network.upstream(client) {
        Some(avalanche_model::Upstream::Gateway(name, g)) => {
            ("gateway", format!("{name} on {}", g.host.as_str()))
        }
        _ => ("proxy", layout::proxy_service(client.proxy.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_no_float_noise() {
        assert_eq!(
            Cents(Cents::from_amount(4.49).0 * 12).with_currency("EUR"),
            "€53.88"
        );
        assert_eq!(Cents::from_amount(0.1 + 0.2).plain(), "0.30");
        assert_eq!(
            Cents(Cents::from_amount(19.99).0 * 12).with_currency("CHF"),
            "239.88 CHF"
        );
        assert_eq!(Cents(-5).plain(), "-0.05");
    }

    #[test]
    fn dates() {
        assert_eq!(add_days("2026-11-24", 7).as_deref(), Some("2026-12-01"));
        assert_eq!(add_days("2028-02-25", 7).as_deref(), Some("2028-03-03"));
        assert_eq!(add_days("2026-12-28", 7).as_deref(), Some("2027-01-04"));
        assert_eq!(add_days("nope", 7), None);
    }
}

#[cfg(test)]
mod assess_tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A worktree held in memory: no disk, no git.
    #[derive(Default)]
    struct Fake {
        files: BTreeMap<String, Vec<u8>>,
        committed: Option<String>,
    }

    impl Worktree for Fake {
        fn is_file(&self, rel: &str) -> bool {
            self.files.contains_key(rel)
        }
        fn bytes(&self, rel: &str) -> Option<Vec<u8>> {
            self.files.get(rel).cloned()
        }
        fn committed_on(&self, _rel: &str, _needle: &str) -> Option<String> {
            self.committed.clone()
        }
        fn uncommitted(&self, _paths: &[&str]) -> Vec<String> {
            Vec::new()
        }
    }

    fn bundled() -> Network {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nix/network.nix");
        let text = std::fs::read_to_string(&path).expect("the bundled declarations");
        let mut sources = SourceMap::default();
        let value = avalanche_nix::read_source(&path, &text, &mut sources).expect("they evaluate");
        avalanche_model::decode(&value).0.expect("they decode")
    }

    fn clients_phase(status: &Status) -> &Phase {
        status
            .phases
            .iter()
            .find(|p| p.id == "clients")
            .expect("a clients phase")
    }

    #[test]
    fn findings_are_matched_by_rule_and_subject_not_by_message() {
        let network = bundled();
        let mut worktree = Fake::default();
        let facts = avalanche_check::RepoFacts::build(avalanche_check::RepoInput::default());
        let sources = SourceMap::default();
        // The message does not name the client: only the structured subject does.
        let finding = Diagnostic::of(&rules::EGRESS_CLIENT_PROTOCOL, "the proxy cannot carry it")
            .with_subject("marmithon");
        let other = Diagnostic::of(&rules::EGRESS_CLIENT_PROTOCOL, "client `marmithon` …")
            .with_subject("someone-else");
        let findings = [finding, other];
        worktree.committed = Some("2026-11-24".into());
        let status = assess(
            &network,
            None,
            &worktree,
            "nix/network.nix",
            Ok((&findings, &sources, &facts)),
        );
        let remaining: Vec<&str> = clients_phase(&status)
            .remaining
            .iter()
            .filter(|t| t.rule.as_deref() == Some(rules::EGRESS_CLIENT_PROTOCOL.id))
            .map(|t| t.what.as_str())
            .collect();
        assert_eq!(remaining, ["the proxy cannot carry it"]);
    }

    #[test]
    fn a_sidecar_whose_credentials_are_not_sealed_holds_the_egress_phase_open() {
        let network = bundled();
        // A repository without a single SOPS file: nothing is sealed.
        let facts = avalanche_check::RepoFacts::build(avalanche_check::RepoInput::default());
        let sources = SourceMap::default();
        let status = assess(
            &network,
            None,
            &Fake::default(),
            "nix/network.nix",
            Ok((&[], &sources, &facts)),
        );
        let phase = status
            .phases
            .iter()
            .find(|p| p.id == "proxy-service")
            .expect("the proxy phase");
        let unsealed: Vec<&str> = phase
            .remaining
            .iter()
            .map(|t| t.what.as_str())
            .filter(|w| w.contains("are not sealed"))
            .collect();
        for (name, sidecar) in &network.egress.sidecars {
            let provider = &network.egress.providers[sidecar.provider.as_str()];
            let creds = network.credentials(
                sidecar.credentials.as_ref(),
                sidecar.existing_secret.as_ref(),
                provider,
            );
            let (secret, _) = creds
                .secret
                .expect("the bundled sidecar's credentials are a secret");
            assert!(
                unsealed.iter().any(|w| w.contains(&format!("`{name}`"))
                    && w.contains(&format!("`{secret}`"))),
                "{unsealed:?}"
            );
        }
        assert!(!network.egress.sidecars.is_empty());
    }

    #[test]
    fn a_repository_that_could_not_be_checked_leaves_the_phases_open() {
        let network = bundled();
        let status = assess(
            &network,
            None,
            &Fake::default(),
            "nix/network.nix",
            Err("no such directory".into()),
        );
        assert!(
            clients_phase(&status)
                .remaining
                .iter()
                .any(|t| t.what.contains("could not be checked: no such directory")),
            "{:?}",
            clients_phase(&status)
        );
    }
}
