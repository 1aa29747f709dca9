//! Diagnostics shared by every avalanche-net crate.
//!
//! A [`Diagnostic`] carries a stable rule id, a severity, a message, a primary
//! [`Span`] into a file held by a [`SourceMap`], notes and a `help:` line.
//! Byte offsets become line:column only when rendering, at the edge.
//!
//! This crate must not do I/O: sources are handed to the [`SourceMap`] by the
//! caller, and renderers return strings. It knows nothing of Nix, YAML or age.
//!
//! Rule ids are typed: a diagnostic names a registered [`Rule`] (declared with
//! [`rules!`]), never a free-form string.
//!
//! ```
//! use avalanche_diag::{Diagnostic, SourceMap, Severity};
//! avalanche_diag::rules! {
//!     NIX_UNSUPPORTED = "nix-unsupported", Error,
//!         "A construct outside the static subset.", "Fix: use `--eval nix`.";
//! }
//! let mut sources = SourceMap::default();
//! let file = sources.add("nix/network.nix", "{ a = with x; 1; }\n");
//! let d = Diagnostic::error(&NIX_UNSUPPORTED, "`with` is outside the static subset")
//!     .with_span(sources.span(file, 6, 10))
//!     .with_help("run with `--eval nix` to evaluate it with real Nix");
//! assert_eq!(d.severity, Severity::Error);
//! let (line, col) = sources.line_col(d.span.unwrap());
//! assert_eq!((line, col), (1, 7));
//! ```
#![deny(missing_docs)]

mod redact;
mod render;
mod rule;
mod source;

pub use rule::Rule;

pub use redact::{escape_controls, is_unprintable, redact_secrets};

pub use render::{
    Format, RenderOptions, render, render_grouped, render_grouped_concise, render_human,
    render_json, render_sarif, summary, summary_by_rule, warnings_line,
};
pub use source::{FileId, SourceMap, Span};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Blocks `build`; `check` exits 1.
    Error,
    /// Reported, does not change the exit code.
    Warning,
    /// Context worth knowing, not a problem: e.g. a retired host named in a
    /// migration plan on purpose. Does not change the exit code.
    Note,
}

impl Severity {
    /// The lowercase name used in JSON and human output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A secondary location with its own short message.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is there, e.g. "first defined here".
    pub message: String,
}

/// One finding: a problem in the user's input, located as precisely as possible.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The registered rule, e.g. `nix-unsupported`, `retired-nixos-config`.
    pub rule: &'static Rule,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// The most specific place the problem is at, if any.
    pub span: Option<Span>,
    /// Other places that explain the problem.
    pub labels: Vec<Label>,
    /// The "why": extra facts, one per line.
    pub notes: Vec<String>,
    /// How to fix it.
    pub help: Option<String>,
    /// What the finding is about, as data for tools that act on findings
    /// (`status`) without reading their message: the declared name (a client, a
    /// host). Never rendered.
    pub subject: Option<String>,
    /// The repository path the finding is about, whether or not the span points
    /// into it (e.g. the kustomization that does not exist yet). Never rendered.
    pub path: Option<String>,
}

impl Diagnostic {
    /// A new diagnostic with no location.
    pub fn new(rule: &'static Rule, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            severity,
            message: message.into(),
            span: None,
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
            subject: None,
            path: None,
        }
    }

    /// A finding of `rule` with the rule's own severity.
    pub fn of(rule: &'static Rule, message: impl Into<String>) -> Self {
        Self::new(rule, rule.severity, message)
    }

    /// A new error.
    pub fn error(rule: &'static Rule, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Error, message)
    }

    /// A new warning.
    pub fn warning(rule: &'static Rule, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Warning, message)
    }

    /// Sets the primary location (`None` leaves it unset).
    pub fn with_span(mut self, span: impl Into<Option<Span>>) -> Self {
        self.span = span.into();
        self
    }

    /// Sets the primary location and the short message drawn under it (rendered
    /// as a label on the same span). Without a location, the message becomes a note
    /// so it is not lost (values read through `nix eval` have no spans).
    pub fn with_primary_label(mut self, span: Option<Span>, message: impl Into<String>) -> Self {
        self.span = span;
        match span {
            Some(span) => self.labels.push(Label {
                span,
                message: message.into(),
            }),
            None => self.notes.push(message.into()),
        }
        self
    }

    /// Adds a secondary location.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Sets the `help:` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets what the finding is about (see [`Diagnostic::subject`]).
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the repository path the finding is about (see [`Diagnostic::path`]).
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// True when the command could not run: an error of a rule marked
/// [`Rule::could_not_run`] (the declarations could not be read or evaluated).
pub fn could_not_run(diagnostics: &[Diagnostic]) -> bool {
    diagnostics
        .iter()
        .any(|d| d.is_error() && d.rule.could_not_run)
}

/// True when any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}
