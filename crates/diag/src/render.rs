//! Rendering diagnostics: rustc-style text, the JSON array of `check --format json`, SARIF 2.1.0.
//!
//! Every renderer orders diagnostics the same way: grouped by file (files in the
//! order they are first mentioned), in source order within a file, diagnostics
//! without a location last. Lines and columns are 1-based; columns count
//! characters (Unicode scalar values), and an end column is one past the last
//! character, as in SARIF.
use crate::{Diagnostic, FileId, Severity, SourceMap, Span};
use std::fmt::Write as _;

/// Output format of a list of diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// rustc-style text with snippets.
    Human,
    /// JSON array (the `check --format json` contract, see README.md).
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
pub fn render(
    format: Format,
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    options: RenderOptions,
) -> String {
    match format {
        Format::Human => render_human(diagnostics, sources, options),
        Format::Json => render_json(diagnostics, sources),
        Format::Sarif => render_sarif(diagnostics, sources),
    }
}

/// The closing line of a human report: `error: 2 errors, 1 warning`,
/// `warning: 1 warning`, `no errors or warnings, 3 notes`, or `no errors or warnings`.
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let (errors, warnings, notes) = counts(diagnostics);
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut line = match (errors, warnings) {
        (0, 0) => "no errors or warnings".to_owned(),
        (0, w) => format!("warning: {}", count(w, "warning")),
        (e, 0) => format!("error: {}", count(e, "error")),
        (e, w) => format!("error: {}, {}", count(e, "error"), count(w, "warning")),
    };
    if notes > 0 {
        let _ = write!(line, ", {}", count(notes, "note"));
    }
    line
}

fn counts(diagnostics: &[Diagnostic]) -> (usize, usize, usize) {
    let of = |s: Severity| diagnostics.iter().filter(|d| d.severity == s).count();
    (
        of(Severity::Error),
        of(Severity::Warning),
        of(Severity::Note),
    )
}

/// Findings per rule, most severe rules first, then by count: `a 3, b 1`.
fn per_rule(diagnostics: &[&Diagnostic]) -> String {
    let mut rules: Vec<(Severity, &str, usize)> = Vec::new();
    for d in diagnostics {
        match rules.iter_mut().find(|(_, r, _)| *r == d.rule) {
            Some(entry) => {
                entry.2 += 1;
                entry.0 = entry.0.min(d.severity);
            }
            None => rules.push((d.severity, d.rule.id, 1)),
        }
    }
    rules.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(a.1.cmp(b.1)));
    rules
        .iter()
        .map(|(_, rule, n)| format!("{rule} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`summary`] followed by the count of each rule: the one closing line of
/// `check`'s human report (`error: 2 errors, 1 warning (a 2, b 1)`).
pub fn summary_by_rule(diagnostics: &[Diagnostic]) -> String {
    let mut line = summary(diagnostics);
    if !diagnostics.is_empty() {
        let all: Vec<&Diagnostic> = diagnostics.iter().collect();
        let _ = write!(line, " ({})", per_rule(&all));
    }
    line
}

/// One line for a command that is not `check` (`build`, `diff`, `status`): how
/// many warnings and notes there are and where to see them, instead of printing
/// them again. `None` when there is none.
pub fn warnings_line(diagnostics: &[Diagnostic]) -> Option<String> {
    let shown: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Error)
        .collect();
    if shown.is_empty() {
        return None;
    }
    let (_, warnings, notes) = counts(diagnostics);
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let what = match (warnings, notes) {
        (0, n) => count(n, "note"),
        (w, 0) => count(w, "warning"),
        (w, n) => format!("{}, {}", count(w, "warning"), count(n, "note")),
    };
    let level = if warnings > 0 { "warning" } else { "note" };
    Some(format!(
        "{level}: {what} ({}): `avalanche-net check` shows them",
        per_rule(&shown)
    ))
}

/// The diagnostics in report order: by file (first-seen order), by position within
/// a file, unlocated ones last; ties keep the caller's order.
fn ordered(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    let mut files: Vec<FileId> = Vec::new();
    let mut keyed: Vec<(usize, u32, u32, usize)> = diagnostics
        .iter()
        .enumerate()
        .map(|(i, d)| match d.span {
            Some(s) => {
                let rank = files.iter().position(|f| *f == s.file).unwrap_or_else(|| {
                    files.push(s.file);
                    files.len() - 1
                });
                (rank, s.start, s.end, i)
            }
            None => (usize::MAX, 0, 0, i),
        })
        .collect();
    keyed.sort_unstable();
    keyed
        .into_iter()
        .map(|(_, _, _, i)| &diagnostics[i])
        .collect()
}

/// A copy of `d` with `clean` applied to every text it carries (message, labels,
/// notes, help): key material masked for every format, controls escaped for
/// terminals. The rule id is the tool's own.
fn printable(d: &Diagnostic, clean: impl Fn(&str) -> String) -> Diagnostic {
    Diagnostic {
        rule: d.rule,
        severity: d.severity,
        message: clean(&d.message),
        span: d.span,
        labels: d
            .labels
            .iter()
            .map(|l| crate::Label {
                span: l.span,
                message: clean(&l.message),
            })
            .collect(),
        notes: d.notes.iter().map(|n| clean(n)).collect(),
        help: d.help.as_deref().map(&clean),
        subject: d.subject.clone(),
        path: d.path.clone(),
    }
}

fn masked(d: &Diagnostic) -> Diagnostic {
    printable(d, |text| crate::redact_secrets(text).into_owned())
}

// ---------------------------------------------------------------- human

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";

/// Wraps text in ANSI codes when colours are on.
struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on && !text.is_empty() {
            format!("{code}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }
}

fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => RED,
        Severity::Warning => YELLOW,
        Severity::Note => BLUE,
    }
}

/// rustc-style text: a header, the location, the source line with carets under
/// the span, secondary labels, then `= note:` and `= help:` lines. Each
/// diagnostic is followed by a blank line. See [`summary`] for the closing line.
pub fn render_human(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    options: RenderOptions,
) -> String {
    let paint = Paint { on: options.color };
    let mut out = String::new();
    for d in ordered(diagnostics) {
        write_human(&mut out, &for_terminal(d), sources, &paint);
        out.push('\n');
    }
    out
}

/// Key material masked, control characters escaped: what a terminal may show.
fn for_terminal(d: &Diagnostic) -> Diagnostic {
    printable(d, |text| {
        crate::escape_controls(&crate::redact_secrets(text)).into_owned()
    })
}

/// `check`'s report: findings grouped by severity, then rule, then file (in
/// source order within), each group of one rule in one file capped at `cap`
/// findings shown in full, the rest summed up in one line with their line
/// numbers. `cap == 0` shows everything. The closing line is [`summary_by_rule`].
pub fn render_grouped(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    options: RenderOptions,
    cap: usize,
) -> String {
    grouped(diagnostics, sources, options, cap, write_human)
}

/// [`render_grouped`] without source snippets: each finding is its header, its
/// location, its notes and its help (for reports too long to read with every
/// source line).
pub fn render_grouped_concise(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    options: RenderOptions,
    cap: usize,
) -> String {
    grouped(diagnostics, sources, options, cap, write_concise)
}

fn grouped(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    options: RenderOptions,
    cap: usize,
    write: fn(&mut String, &Diagnostic, &SourceMap, &Paint),
) -> String {
    let paint = Paint { on: options.color };
    let mut out = String::new();
    let mut order = ordered(diagnostics);
    // Stable: within one (severity, rule, file) the source order stays.
    let file_key = |d: &Diagnostic| d.span.map(|s| display_path(sources, s.file));
    order.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then_with(|| a.rule.cmp(b.rule))
            .then_with(|| match (file_key(a), file_key(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
    });
    let mut i = 0;
    while i < order.len() {
        let d = order[i];
        let key = (d.severity, d.rule, d.span.map(|s| s.file));
        let mut j = i;
        while j < order.len()
            && (
                order[j].severity,
                order[j].rule,
                order[j].span.map(|s| s.file),
            ) == key
        {
            j += 1;
        }
        let group = &order[i..j];
        let shown = if cap == 0 {
            group.len()
        } else {
            group.len().min(cap)
        };
        for d in &group[..shown] {
            write(&mut out, &for_terminal(d), sources, &paint);
            out.push('\n');
        }
        if shown < group.len() {
            let rest = &group[shown..];
            let lines: Vec<String> = rest
                .iter()
                .filter_map(|d| d.span.map(|s| sources.line_col(s).0.to_string()))
                .take(12)
                .collect();
            let more = if rest.len() > lines.len() {
                ", …"
            } else {
                ""
            };
            let place = match d.span {
                Some(s) => format!(" in {}", display_path(sources, s.file)),
                None => String::new(),
            };
            let at = if lines.is_empty() {
                String::new()
            } else {
                format!(" (lines {}{more})", lines.join(", "))
            };
            let _ = writeln!(
                out,
                "{}: {} more{place}{at}; `--format json` lists every finding\n",
                paint.paint(
                    severity_color(d.severity),
                    &format!("{}[{}]", d.severity.as_str(), d.rule)
                ),
                rest.len(),
            );
        }
        i = j;
    }
    out
}

/// One caret row to draw under a source line.
struct Annotation<'a> {
    span: Span,
    message: Option<&'a str>,
    primary: bool,
}

/// `error[rule]: message`, the first line of a finding in either form.
fn write_header(out: &mut String, d: &Diagnostic, paint: &Paint) {
    let _ = writeln!(
        out,
        "{}{}",
        paint.paint(
            severity_color(d.severity),
            &format!("{}[{}]", d.severity.as_str(), d.rule)
        ),
        paint.paint(BOLD, &format!(": {}", d.message))
    );
}

fn write_human(out: &mut String, d: &Diagnostic, sources: &SourceMap, paint: &Paint) {
    write_header(out, d, paint);
    let color = severity_color(d.severity);

    // The primary span, carrying the message of a label on the very same span,
    // then the other labels.
    let mut annotations: Vec<Annotation<'_>> = Vec::new();
    if let Some(span) = d.span {
        let own = d
            .labels
            .iter()
            .find(|l| l.span == span)
            .map(|l| l.message.as_str());
        annotations.push(Annotation {
            span,
            message: own,
            primary: true,
        });
    }
    let mut merged = false;
    for label in &d.labels {
        if Some(label.span) == d.span && !merged {
            merged = true;
            continue;
        }
        annotations.push(Annotation {
            span: label.span,
            message: Some(&label.message),
            primary: false,
        });
    }

    let width = annotations
        .iter()
        .map(|a| digits(sources.line_col(a.span).0))
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(width);

    // Files: the primary's first, then the others in first-seen order.
    let mut files: Vec<FileId> = Vec::new();
    for a in &annotations {
        if !files.contains(&a.span.file) {
            files.push(a.span.file);
        }
    }
    for file in files {
        let in_file: Vec<&Annotation<'_>> =
            annotations.iter().filter(|a| a.span.file == file).collect();
        let anchor = in_file[0].span;
        let (line, col) = sources.line_col(anchor);
        let _ = writeln!(
            out,
            "{pad}{} {}:{line}:{col}",
            paint.paint(BLUE, "-->"),
            sources.display_path(file)
        );
        let _ = writeln!(out, "{pad} {}", paint.paint(BLUE, "|"));
        write_snippet(out, &in_file, sources, paint, color, width);
    }
    if d.span.is_some() && (!d.notes.is_empty() || d.help.is_some()) {
        let _ = writeln!(out, "{pad} {}", paint.paint(BLUE, "|"));
    }
    for note in &d.notes {
        write_footer(out, "note", note, &pad, paint);
    }
    if let Some(help) = &d.help {
        write_footer(out, "help", help, &pad, paint);
    }
}

/// One finding without its source lines: header, location, notes, help.
fn write_concise(out: &mut String, d: &Diagnostic, sources: &SourceMap, paint: &Paint) {
    write_header(out, d, paint);
    let pad = " ";
    if let Some(span) = d.span {
        let (line, col) = sources.line_col(span);
        let _ = writeln!(
            out,
            "{pad}{} {}:{line}:{col}",
            paint.paint(BLUE, "-->"),
            sources.display_path(span.file)
        );
    }
    for note in &d.notes {
        write_footer(out, "note", note, pad, paint);
    }
    if let Some(help) = &d.help {
        write_footer(out, "help", help, pad, paint);
    }
}

/// Source lines of one file with their caret rows, in line order.
fn write_snippet(
    out: &mut String,
    annotations: &[&Annotation<'_>],
    sources: &SourceMap,
    paint: &Paint,
    color: &str,
    width: usize,
) {
    let mut by_line: Vec<(usize, &Annotation<'_>)> = annotations
        .iter()
        .map(|a| (sources.line_col(a.span).0, *a))
        .collect();
    by_line.sort_by_key(|(line, a)| (*line, a.span.start));
    let pad = " ".repeat(width);
    let mut previous: Option<usize> = None;
    let mut i = 0;
    while i < by_line.len() {
        let line = by_line[i].0;
        if let Some(p) = previous
            && line > p + 1
        {
            let _ = writeln!(out, "{}", paint.paint(BLUE, "..."));
        }
        previous = Some(line);
        let file = by_line[i].1.span.file;
        let line_span = sources.line_span(file, line);
        let text = sources.text(file);
        let raw = text[line_span.start as usize..line_span.end as usize].trim_end_matches('\r');
        let number = format!("{line:>width$}");
        if raw.len() > MAX_SNIPPET_LINE {
            // A minified or generated line: echoing megabytes back helps nobody.
            let _ = writeln!(
                out,
                "{} {} (a line of {} bytes, not shown)",
                paint.paint(BLUE, &number),
                paint.paint(BLUE, "|"),
                raw.len()
            );
            while i < by_line.len() && by_line[i].0 == line {
                i += 1;
            }
            continue;
        }
        // Masked, and each unprintable character shown as one replacement
        // character (the carets below count it as one column).
        let shown: String = crate::redact_secrets(&expand_tabs(raw))
            .chars()
            .map(|c| {
                if crate::is_unprintable(c) {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect();
        if shown.is_empty() {
            let _ = writeln!(
                out,
                "{} {}",
                paint.paint(BLUE, &number),
                paint.paint(BLUE, "|")
            );
        } else {
            let _ = writeln!(
                out,
                "{} {} {shown}",
                paint.paint(BLUE, &number),
                paint.paint(BLUE, "|")
            );
        }
        while i < by_line.len() && by_line[i].0 == line {
            let a = by_line[i].1;
            let start = (a.span.start as usize).clamp(
                line_span.start as usize,
                line_span.start as usize + raw.len(),
            );
            let end = (a.span.end as usize).clamp(start, line_span.start as usize + raw.len());
            let line_start = line_span.start as usize;
            let before = display_width(text.get(line_start..start).unwrap_or(""));
            let carets = display_width(text.get(start..end).unwrap_or("")).max(1);
            let (mark, code) = if a.primary { ("^", color) } else { ("-", BLUE) };
            let mut row = format!(
                "{}{}",
                " ".repeat(before),
                paint.paint(code, &mark.repeat(carets))
            );
            if let Some(message) = a.message {
                let indent = " ".repeat(width + 3 + before + carets + 1);
                let mut lines = message.lines();
                if let Some(first) = lines.next() {
                    let _ = write!(row, " {}", paint.paint(code, first));
                }
                for rest in lines {
                    let _ = write!(row, "\n{indent}{}", paint.paint(code, rest));
                }
            }
            let _ = writeln!(out, "{pad} {} {row}", paint.paint(BLUE, "|"));
            i += 1;
        }
    }
}

/// `= note: …` / `= help: …`, continuation lines aligned under the text.
fn write_footer(out: &mut String, kind: &str, text: &str, pad: &str, paint: &Paint) {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let _ = writeln!(
        out,
        "{pad} {} {}: {first}",
        paint.paint(BLUE, "="),
        paint.paint(BOLD, kind)
    );
    let indent = " ".repeat(pad.len() + 3 + kind.len() + 2);
    for rest in lines {
        let _ = writeln!(out, "{indent}{rest}");
    }
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

const TAB: &str = "    ";

/// Source lines longer than this (in bytes) are not echoed in snippets.
const MAX_SNIPPET_LINE: usize = 1000;

fn expand_tabs(line: &str) -> String {
    if line.contains('\t') {
        line.replace('\t', TAB)
    } else {
        line.to_owned()
    }
}

/// Terminal columns `s` takes once tabs are expanded, as `unicode-width` (the
/// Unicode East Asian Width tables) counts them: combining marks take none,
/// wide characters and emoji (`☕`) two; an unprintable character is shown as
/// one replacement character.
fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    if c == '\t' {
        return TAB.len();
    }
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(1)
}

// ---------------------------------------------------------------- JSON

/// Start and end (line, column) of a span; the end column is one past the last character.
fn region(sources: &SourceMap, span: Span) -> ((usize, usize), (usize, usize)) {
    let start = sources.line_col(span);
    let end = sources.offset_line_col(span.file, span.end.max(span.start) as usize);
    (start, end)
}

/// A path as shown to the user, with `/` separators.
fn display_path(sources: &SourceMap, file: FileId) -> String {
    sources.display_path(file)
}

/// JSON array of objects with `rule`, `severity`, `message`, `file`, `line`,
/// `column`, `end_line`, `end_column`, `notes`, `help` and `labels` (each with
/// `file`, `line`, `column`, `end_line`, `end_column`, `message`). Location fields
/// are `null` for a diagnostic without a location.
pub fn render_json(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    use serde_json::{Value as J, json};
    let items: Vec<J> = ordered(diagnostics)
        .into_iter()
        .map(masked)
        .map(|d| {
            let mut item = serde_json::Map::new();
            item.insert("rule".into(), J::from(d.rule.as_str()));
            item.insert("severity".into(), J::from(d.severity.as_str()));
            item.insert("message".into(), J::from(d.message.as_str()));
            match d.span {
                Some(span) => {
                    let ((line, column), (end_line, end_column)) = region(sources, span);
                    item.insert("file".into(), J::from(display_path(sources, span.file)));
                    item.insert("line".into(), J::from(line));
                    item.insert("column".into(), J::from(column));
                    item.insert("end_line".into(), J::from(end_line));
                    item.insert("end_column".into(), J::from(end_column));
                }
                None => {
                    for key in ["file", "line", "column", "end_line", "end_column"] {
                        item.insert(key.into(), J::Null);
                    }
                }
            }
            item.insert("notes".into(), json!(d.notes));
            item.insert("help".into(), json!(d.help));
            let labels: Vec<J> = d
                .labels
                .iter()
                .map(|l| {
                    let ((line, column), (end_line, end_column)) = region(sources, l.span);
                    json!({
                        "file": display_path(sources, l.span.file),
                        "line": line, "column": column,
                        "end_line": end_line, "end_column": end_column,
                        "message": l.message,
                    })
                })
                .collect();
            item.insert("labels".into(), J::Array(labels));
            J::Object(item)
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}

// ---------------------------------------------------------------- SARIF

/// The `$schema` of SARIF 2.1.0 reports.
const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A repo-relative path as a URI reference (`/` separators, reserved bytes escaped).
fn uri(sources: &SourceMap, file: FileId) -> String {
    let path = display_path(sources, file);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn sarif_location(sources: &SourceMap, span: Span) -> serde_json::Value {
    let ((line, column), (end_line, end_column)) = region(sources, span);
    serde_json::json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(sources, span.file) },
            "region": {
                "startLine": line, "startColumn": column,
                "endLine": end_line, "endColumn": end_column,
            }
        }
    })
}

/// SARIF 2.1.0: one run of the `avalanche-net` driver, its rules (every rule id
/// reported), and one result per diagnostic. Columns count Unicode code points
/// (`columnKind`). Notes and help are appended to the message text.
pub fn render_sarif(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    use serde_json::{Value as J, json};
    let ordered: Vec<Diagnostic> = ordered(diagnostics).into_iter().map(masked).collect();
    let mut rules: Vec<&str> = Vec::new();
    for d in &ordered {
        if !rules.contains(&d.rule.as_str()) {
            rules.push(d.rule.id);
        }
    }
    let results: Vec<J> = ordered
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            // The label drawn under the primary span belongs to the message.
            let primary_label = d.labels.iter().position(|l| Some(l.span) == d.span);
            if let Some(i) = primary_label {
                let _ = write!(text, "\n{}", d.labels[i].message);
            }
            for note in &d.notes {
                let _ = write!(text, "\nnote: {note}");
            }
            if let Some(help) = &d.help {
                let _ = write!(text, "\nhelp: {help}");
            }
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "note",
            };
            let mut result = json!({
                "ruleId": d.rule.id,
                "ruleIndex": rules.iter().position(|r| *r == d.rule).unwrap_or(0),
                "level": level,
                "message": { "text": text },
                "locations": d.span.map(|s| vec![sarif_location(sources, s)]).unwrap_or_default(),
            });
            let secondary = d
                .labels
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != primary_label);
            if d.labels.len() > usize::from(primary_label.is_some())
                && let Some(object) = result.as_object_mut()
            {
                let related: Vec<J> = secondary
                    .map(|(id, l)| {
                        let mut location = sarif_location(sources, l.span);
                        if let Some(o) = location.as_object_mut() {
                            o.insert("id".into(), J::from(id));
                            o.insert("message".into(), json!({ "text": l.message }));
                        }
                        location
                    })
                    .collect();
                object.insert("relatedLocations".into(), J::Array(related));
            }
            result
        })
        .collect();
    let sarif = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "avalanche-net",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/OWNER/avalanche",
                    "rules": rules.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
