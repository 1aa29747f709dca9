//! Validation of the declarations and the whole repository: retired hosts, SOPS
//! creation rules, Tailscale roles and routes, egress consistency.
//!
//! [`check`] is a pure function of the decoded [`Network`] and the [`RepoFacts`]
//! (what the repository holds: flake hosts, `.sops.yaml`, SOPS files' recipients,
//! the Kubernetes tree, tracked text files). It returns every finding as a
//! [`Diagnostic`] whose rule id is in the [`rules`] registry, and adds the
//! repository files the findings point into to the [`SourceMap`], so they render
//! with snippets.
//!
//! ```
//! use avalanche_check::{check, facts::{RepoFacts, RepoInput}};
//! let network = avalanche_model::Network::default();
//! let facts = RepoFacts::build(RepoInput::default());
//! let mut sources = avalanche_diag::SourceMap::default();
//! assert!(check(&network, &facts, &mut sources).is_empty());
//! ```
//!
//! This crate must not do I/O (the caller reads the files), decrypt anything, or
//! know how diagnostics are printed.
#![deny(missing_docs)]

mod egress;
mod egress_undeclared;
pub mod facts;
mod gateway;
mod host_roles;
pub mod hosts;
mod kube_yaml;
mod kustomize_graph;
pub mod list_edit;
mod mentions;
mod policy_selects;
mod recipients;
pub mod registry;
mod retired;
pub mod rules;
mod sops;
mod tailscale;
#[cfg(test)]
mod tests;
pub mod wiring;

pub use facts::{PreparedFacts, RepoFacts, RepoFile, RepoInput};
pub use mentions::HISTORY_MARKER;
pub use rules::Rule;

use avalanche_diag::{Diagnostic, FileId, SourceMap, Span};
use avalanche_model::Network;
use facts::Loc;
use std::collections::HashMap;
use std::path::Path;

/// The public key of the demo age identity in `tests/keys/demo.agekey`: anyone can
/// decrypt what is encrypted to it.
pub const DEMO_RECIPIENT: &str = "age13u7gagxczv0vsz34mvv0xh27wvkqpj26daa3ns5xa2hqh5vusskqgna8yk";

/// How the rules judge what `build` is about to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The check runs for a `build` that wires what it generates (see
    /// [`wiring`]): a component or Application `build` will add to a
    /// kustomization in the same write is not a finding; one it cannot add is.
    pub build_wires: bool,
    /// `check --mentions all`: every mention of a retired host is listed (as a
    /// note where it is history, prose or weak evidence), not only those naming a host.
    pub mentions_all: bool,
}

/// Runs every rule. Findings are sorted by file, then position.
pub fn check(network: &Network, facts: &RepoFacts, sources: &mut SourceMap) -> Vec<Diagnostic> {
    check_with(network, facts, sources, Options::default())
}

/// [`check`], for a `build` that wires (see [`Options`]).
pub fn check_with(
    network: &Network,
    facts: &RepoFacts,
    sources: &mut SourceMap,
    options: Options,
) -> Vec<Diagnostic> {
    let unresolved = network.resolve().err().unwrap_or_default();
    check_resolved(network, &unresolved, facts, sources, options)
}

/// [`check_with`] for a caller that has resolved the network already (the
/// pipeline, which renders the same resolution): `unresolved` is what
/// [`Network::resolve`] found (nothing when it resolved), reported among the
/// findings, so the references are checked once per run.
pub fn check_resolved(
    network: &Network,
    unresolved: &[Diagnostic],
    facts: &RepoFacts,
    sources: &mut SourceMap,
    options: Options,
) -> Vec<Diagnostic> {
    let mut cx = Checker {
        network,
        unresolved,
        facts,
        options,
        sources,
        files: HashMap::new(),
        out: Vec::new(),
        host_dirs: hosts::host_dirs(
            facts,
            &network
                .repository
                .host_dirs
                .iter()
                .map(|d| d.value.clone())
                .collect::<Vec<_>>(),
        ),
        sops_matcher: facts
            .sops
            .as_ref()
            .map(|s| std::rc::Rc::new(sops::Matcher::new(s))),
    };
    for problem in &facts.sops_problems {
        let span = cx.span(&problem.loc);
        cx.emit(
            &rules::SOPS_CONFIG_INVALID,
            problem.message.clone(),
            Some(span),
        );
    }
    for problem in &facts.problems {
        let span = cx.span(&problem.loc);
        cx.emit(
            &rules::REPO_FILE_INVALID,
            problem.message.clone(),
            Some(span),
        );
    }
    hosts::check_flake_known(&mut cx);
    retired::check(&mut cx);
    sops::check(&mut cx);
    recipients::check(&mut cx);
    tailscale::check(&mut cx);
    host_roles::check(&mut cx);
    egress::check(&mut cx);
    egress_undeclared::check(&mut cx);
    gateway::check(&mut cx);
    kustomize_graph::check(&mut cx);
    let Checker { out, sources, .. } = cx;
    sort(out, sources)
}

fn sort(mut out: Vec<Diagnostic>, sources: &SourceMap) -> Vec<Diagnostic> {
    out.sort_by_cached_key(|d| match d.span {
        Some(s) => (0, sources.display_path(s.file), s.start, d.rule),
        None => (1, Default::default(), 0, d.rule),
    });
    out.dedup_by(|a, b| a.rule == b.rule && a.span == b.span && a.message == b.message);
    out
}

/// The state rules share: inputs, the source map and the findings so far.
pub(crate) struct Checker<'a> {
    pub network: &'a Network,
    /// [`Network::resolve`]'s errors (see `egress.rs`).
    pub unresolved: &'a [Diagnostic],
    pub facts: &'a RepoFacts,
    pub options: Options,
    sources: &'a mut SourceMap,
    files: HashMap<String, FileId>,
    pub out: Vec<Diagnostic>,
    /// The repository's host directories (every layout).
    pub host_dirs: Vec<hosts::HostDir>,
    /// The creation rules' matcher, built once for the rules that use it.
    pub sops_matcher: Option<std::rc::Rc<sops::Matcher>>,
}

impl Checker<'_> {
    /// The span of a repository location, adding its file to the source map once.
    pub fn span(&mut self, loc: &Loc) -> Span {
        let file = match self.files.get(&loc.path) {
            Some(id) => *id,
            None => {
                let id = self.sources.find(Path::new(&loc.path)).unwrap_or_else(|| {
                    let text = self.facts.text(&loc.path).unwrap_or_default();
                    self.sources.add(loc.path.clone(), text)
                });
                self.files.insert(loc.path.clone(), id);
                id
            }
        };
        let len = self.sources.text(file).len();
        self.sources
            .span(file, loc.start.min(len), loc.end.min(len))
    }

    /// The span of the first line of a repository file.
    pub fn file_span(&mut self, path: &str) -> Span {
        let end = self
            .facts
            .text(path)
            .map_or(0, |t| t.find('\n').unwrap_or(t.len()));
        self.span(&Loc {
            path: path.to_owned(),
            start: 0,
            end,
        })
    }

    /// The 1-based line of a location (for de-duplication across rules).
    pub fn line_of(&mut self, span: Span) -> (String, usize) {
        let (line, _) = self.sources.line_col(span);
        (self.sources.path(span.file).display().to_string(), line)
    }

    /// Records a finding of `rule`.
    pub fn emit(
        &mut self,
        rule: &'static Rule,
        message: impl Into<String>,
        span: Option<Span>,
    ) -> &mut Diagnostic {
        self.out.push(Diagnostic::of(rule, message).with_span(span));
        let last = self.out.len() - 1;
        &mut self.out[last]
    }
}

/// Adds a label to a diagnostic in place.
pub(crate) fn label(d: &mut Diagnostic, span: Option<Span>, message: &str) {
    if let Some(span) = span {
        d.labels.push(avalanche_diag::Label {
            span,
            message: message.to_owned(),
        });
    }
}

/// The closest of `candidates` to `name`, when close enough to be a typo (the
/// model's, which the resolver's findings use too).
pub use avalanche_model::words::did_you_mean;
pub(crate) use avalanche_model::words::list;

#[cfg(test)]
mod helper_tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("icelnd", ["iceland", "netherlands"]),
            Some("iceland")
        );
        assert_eq!(did_you_mean("xyz", ["iceland"]), None);
        assert_eq!(list(["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
