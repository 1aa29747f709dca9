//! Rendering diagnostics. TODO(issue 2): rustc-style snippets, JSON, SARIF.
use crate::{Diagnostic, SourceMap};

/// Output format of a list of diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// rustc-style text with snippets.
    Human,
    /// JSON array (DESIGN.md contract).
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

/// Options for human rendering.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colours (only on a terminal, never with `NO_COLOR`: the caller decides).
    pub color: bool,
}

/// Renders `diagnostics` in `format`.
pub fn render(format: Format, diagnostics: &[Diagnostic], sources: &SourceMap, options: RenderOptions) -> String {
    match format {
        Format::Human => render_human(diagnostics, sources, options),
        Format::Json => render_json(diagnostics, sources),
        Format::Sarif => render_sarif(diagnostics, sources),
    }
}

/// rustc-style text.
pub fn render_human(diagnostics: &[Diagnostic], sources: &SourceMap, _options: RenderOptions) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&format!("{}[{}]: {}\n", d.severity.as_str(), d.rule, d.message));
        if let Some(span) = d.span {
            let (line, col) = sources.line_col(span);
            out.push_str(&format!("  --> {}:{}:{}\n", sources.path(span.file).display(), line, col));
        }
        if let Some(help) = &d.help {
            out.push_str(&format!("  = help: {help}\n"));
        }
    }
    out
}

/// JSON array of objects with `rule`, `severity`, `message`, `file`, `line`, `column`.
pub fn render_json(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let items: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            let (file, line, column) = match d.span {
                Some(s) => {
                    let (l, c) = sources.line_col(s);
                    (serde_json::Value::from(sources.path(s.file).display().to_string()), l.into(), c.into())
                }
                None => (serde_json::Value::Null, serde_json::Value::Null, serde_json::Value::Null),
            };
            serde_json::json!({
                "rule": d.rule, "severity": d.severity.as_str(), "message": d.message,
                "file": file, "line": line, "column": column,
                "notes": d.notes, "help": d.help,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_default()
}

/// SARIF 2.1.0.
pub fn render_sarif(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    render_json(diagnostics, sources)
}
