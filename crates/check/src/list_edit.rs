//! Minimal edits of hand-written YAML: add one entry to a top-level list
//! (`components:`, `resources:`), or to a list of a top-level mapping (a Flux
//! Kustomization's `spec.components`, in its own document of a file that may
//! hold several), and leave every other byte as it was.
//!
//! `build` uses it to wire what it generates into the operator's own
//! kustomizations, so it must never reformat a file: comments, key order,
//! quoting, flow lists (`[a, b]`), the indentation of block lists (`  - a` or
//! `- a`) and CRLF line ends are kept. When the file's shape leaves any doubt
//! (several documents, anchors, aliases, tags, a multi-line flow list, a key
//! whose value is not a list, a duplicate key), it refuses and says which lines
//! to add by hand, rather than guessing.
//!
//! Text in, text out: no I/O here.

/// What [`add_entry`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The list already has the entry: nothing to change.
    Present,
    /// The edited text (the input plus the entry).
    Edited(String),
}

/// Why a file cannot be edited safely, and the lines to add by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why: "the value of `resources:` is an alias", etc.
    pub reason: String,
    /// The 1-based line the entry belongs after (the key's line), when the key exists.
    pub line: Option<usize>,
    /// The exact text to add (e.g. `components:\n  - vpn-egress`).
    pub lines_to_add: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.reason)
    }
}

/// The items of a top-level list, as written (quotes removed), or `None` when
/// `key` is absent or not a list this module can read.
pub fn entries(text: &str, key: &str) -> Option<Vec<String>> {
    let doc = Doc::new(text).ok()?;
    let at = doc.find_key(key).ok()??;
    match doc.value(at, key, 0).ok()? {
        Value::Flow { items, .. } => Some(items),
        Value::Block { items, .. } => Some(items.into_iter().map(|i| i.text).collect()),
        Value::Empty => Some(Vec::new()),
    }
}

/// Whether two list entries name the same thing (`./a/` and `a` do).
pub fn same_entry(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim();
        let s = s.strip_prefix("./").unwrap_or(s);
        s.trim_end_matches('/').to_owned()
    };
    norm(a) == norm(b)
}

/// Adds `entry` to the top-level list `key` of the single YAML document `text`:
/// after the last item of a block list (with the same indentation and quoting),
/// before the `]` of a one-line flow list, under an empty `key:`, or as a new
/// `key:` list at the end of the file when the key is missing.
pub fn add_entry(text: &str, key: &str, entry: &str) -> Result<Outcome, Refusal> {
    let refuse = |reason: String, line: Option<usize>, indent: &str| Refusal {
        reason,
        line,
        lines_to_add: match line {
            Some(_) => format!("{indent}- {entry}"),
            None => format!("{key}:\n{indent}- {entry}"),
        },
    };
    let doc = match Doc::new(text) {
        Ok(doc) => doc,
        Err(reason) => return Err(refuse(reason, None, "  ")),
    };
    let indent = doc.list_indent();
    let at = match doc.find_key(key) {
        Ok(at) => at,
        Err(reason) => return Err(refuse(reason, None, &indent)),
    };
    let Some(at) = at else {
        // No such key: a new list at the end, in the file's own style.
        let eol = doc.eol;
        let mut out = String::with_capacity(text.len() + key.len() + entry.len() + 16);
        out.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(key);
        out.push(':');
        if doc.flow_style() {
            // The file writes its lists `[a, b]`: so is the new one.
            out.push_str(" [");
            out.push_str(&quote_like(entry, None));
            out.push(']');
        } else {
            out.push_str(eol);
            out.push_str(&indent);
            out.push_str("- ");
            out.push_str(&quote_like(entry, None));
        }
        out.push_str(eol);
        return Ok(Outcome::Edited(out));
    };
    let line_no = Some(at + 1);
    let value = match doc.value(at, key, 0) {
        Ok(v) => v,
        Err(reason) => return Err(refuse(reason, line_no, &indent)),
    };
    Ok(edit_value(text, &doc, at, value, entry, &indent))
}

/// Adds `entry` to the list `key` of the top-level mapping `parent` (a Flux
/// Kustomization's `spec.components`), as [`add_entry`] does at the top level:
/// after the last item, in a one-line flow list, under an empty `key:`, or as a
/// new `key:` list at the end of `parent`'s block. `parent` must be a block
/// mapping written over the following lines.
pub fn add_nested_entry(
    text: &str,
    parent: &str,
    key: &str,
    entry: &str,
) -> Result<Outcome, Refusal> {
    let refuse = |reason: String, line: Option<usize>, lines_to_add: String| Refusal {
        reason,
        line,
        lines_to_add,
    };
    let whole = format!("{parent}:\n  {key}:\n    - {entry}");
    let doc = Doc::new(text).map_err(|r| refuse(r, None, whole.clone()))?;
    let at = match doc.find_key(parent) {
        Ok(Some(at)) => at,
        Ok(None) => return Err(refuse(format!("there is no `{parent}:`"), None, whole)),
        Err(reason) => return Err(refuse(reason, None, whole)),
    };
    let under = |lines: String| refuse(String::new(), Some(at + 1), lines);
    let rest = strip_key(doc.lines[at].text, parent).unwrap_or_default();
    if !strip_comment(rest).trim().is_empty() {
        let r = under(format!("  {key}:\n    - {entry}"));
        return Err(Refusal {
            reason: format!("the value of `{parent}:` is not a block mapping"),
            ..r
        });
    }
    // The mapping's lines: up to the next line at column 0.
    let end = doc.lines[at + 1..]
        .iter()
        .position(|l| !l.is_blank() && l.indent() == 0)
        .map_or(doc.lines.len(), |p| at + 1 + p);
    let body = &doc.lines[at + 1..end];
    let Some(first) = body.iter().find(|l| !l.is_blank()) else {
        let r = under(format!("  {key}:\n    - {entry}"));
        return Err(Refusal {
            reason: format!("`{parent}:` is empty"),
            ..r
        });
    };
    let base = first.indent();
    if body
        .iter()
        .any(|l| !l.is_blank() && (l.text.starts_with('\t') || l.indent() < base))
    {
        let r = under(format!(
            "{}{key}:\n{}  - {entry}",
            " ".repeat(base),
            " ".repeat(base)
        ));
        return Err(Refusal {
            reason: format!("`{parent}:` is not indented evenly"),
            ..r
        });
    }
    let mut found = None;
    for (i, line) in body.iter().enumerate() {
        if line.is_blank() || line.indent() != base {
            continue;
        }
        if strip_key(&line.text[base..], key).is_some() {
            if found.is_some() {
                let r = under(String::new());
                return Err(Refusal {
                    reason: format!("`{parent}.{key}:` appears twice"),
                    ..r
                });
            }
            found = Some(at + 1 + i);
        }
    }
    let pad = " ".repeat(base);
    let item_pad = format!("{pad}{}", doc.list_indent());
    let Some(key_at) = found else {
        // A new list at the end of the mapping.
        let last = body
            .iter()
            .rposition(|l| !l.is_blank())
            .map_or(at, |p| at + 1 + p);
        let pos = doc.lines[last].content_end;
        let eol = doc.eol;
        let what = format!(
            "{eol}{pad}{key}:{eol}{item_pad}- {}",
            quote_like(entry, None)
        );
        let mut out = String::with_capacity(text.len() + what.len());
        out.push_str(&text[..pos]);
        out.push_str(&what);
        out.push_str(&text[pos..]);
        return Ok(Outcome::Edited(out));
    };
    let value = doc.value(key_at, key, base).map_err(|reason| Refusal {
        reason,
        line: Some(key_at + 1),
        lines_to_add: format!("{item_pad}- {entry}"),
    })?;
    Ok(edit_value(text, &doc, key_at, value, entry, &item_pad))
}

/// [`add_nested_entry`] in the one document of `text` whose top-level `kind:`
/// is `kind` and whose `metadata.name` is `name`: Flux repositories often keep
/// several Kustomizations in one file (`infrastructure.yaml` with the
/// controllers and their configs), separated by `---` lines. The other
/// documents are left byte for byte.
pub fn add_nested_entry_in(
    text: &str,
    kind: &str,
    name: &str,
    parent: &str,
    key: &str,
    entry: &str,
) -> Result<Outcome, Refusal> {
    // Byte ranges of the documents, between `---` lines.
    let mut docs = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if body.starts_with("---") && (body.len() == 3 || body[3..].starts_with([' ', '#'])) {
            docs.push(start..at);
            start = at + line.len();
        }
        at += line.len();
    }
    docs.push(start..text.len());
    let is_it = |doc: &str| {
        let Ok(d) = Doc::new(doc) else { return false };
        let scalar = |l: &Line<'_>, k: &str, base: usize| {
            strip_key(&l.text[base.min(l.text.len())..], k)
                .and_then(|rest| unquote(strip_comment(rest).trim()))
                .map(|(v, _)| v)
        };
        let kind_ok = d
            .lines
            .iter()
            .any(|l| l.indent() == 0 && scalar(l, "kind", 0).as_deref() == Some(kind));
        let Ok(Some(meta)) = d.find_key("metadata") else {
            return false;
        };
        let base = d.lines[meta + 1..]
            .iter()
            .find(|l| !l.is_blank())
            .map_or(0, Line::indent);
        kind_ok
            && d.lines[meta + 1..]
                .iter()
                .take_while(|l| l.is_blank() || l.indent() > 0)
                .any(|l| l.indent() == base && scalar(l, "name", base).as_deref() == Some(name))
    };
    let matching: Vec<&std::ops::Range<usize>> =
        docs.iter().filter(|r| is_it(&text[(*r).clone()])).collect();
    let whole = format!("{parent}:\n  {key}:\n    - {entry}");
    let [range] = matching.as_slice() else {
        return Err(Refusal {
            reason: format!(
                "{} documents of the file are the {kind} `{name}`",
                if matching.is_empty() {
                    "none of the"
                } else {
                    "several"
                }
            ),
            line: None,
            lines_to_add: whole,
        });
    };
    let (range, before) = ((*range).clone(), &text[..range.start]);
    let line_offset = before.bytes().filter(|b| *b == b'\n').count();
    match add_nested_entry(&text[range.clone()], parent, key, entry) {
        Ok(Outcome::Edited(doc)) => {
            let mut out = String::with_capacity(text.len() + entry.len() + 32);
            out.push_str(before);
            out.push_str(&doc);
            out.push_str(&text[range.end..]);
            Ok(Outcome::Edited(out))
        }
        Ok(Outcome::Present) => Ok(Outcome::Present),
        Err(r) => Err(Refusal {
            line: r.line.map(|l| l + line_offset),
            ..r
        }),
    }
}

/// `text` with `entry` added to the list `value` read on line `at` (`indent`:
/// the items' indentation for a list that has none yet).
fn edit_value(
    text: &str,
    doc: &Doc<'_>,
    at: usize,
    value: Value,
    entry: &str,
    indent: &str,
) -> Outcome {
    let insert = |pos: usize, what: &str| {
        let mut out = String::with_capacity(text.len() + what.len());
        out.push_str(&text[..pos]);
        out.push_str(what);
        out.push_str(&text[pos..]);
        Outcome::Edited(out)
    };
    match value {
        Value::Flow {
            items,
            close,
            inner_space,
            last_quote,
        } => {
            if items.iter().any(|i| same_entry(i, entry)) {
                return Outcome::Present;
            }
            let item = quote_like(entry, last_quote);
            if items.is_empty() {
                // `[]` → `[b]`; `[ ]` → `[ b ]` (the spacing inside kept).
                let what = if inner_space {
                    format!("{item} ")
                } else {
                    item
                };
                return insert(close, &what);
            }
            // Before the spaces that precede `]`: `[ a ]` → `[ a, b ]`.
            let pos = text[..close].trim_end_matches(' ').len();
            insert(pos, &format!(", {item}"))
        }
        Value::Block {
            items,
            indent: item_indent,
            end,
        } => {
            if items.iter().any(|i| same_entry(&i.text, entry)) {
                return Outcome::Present;
            }
            let quote = items.last().and_then(|i| i.quote);
            let line = format!(
                "{}{}- {}",
                doc.eol,
                " ".repeat(item_indent),
                quote_like(entry, quote)
            );
            insert(end, &line)
        }
        Value::Empty => {
            let line = format!("{}{indent}- {}", doc.eol, quote_like(entry, None));
            insert(doc.lines[at].content_end, &line)
        }
    }
}

/// `entry`, quoted as the list's last item was (`"…"`, `'…'` or plain), and
/// double-quoted when it would not read back as the same plain string.
fn quote_like(entry: &str, quote: Option<char>) -> String {
    match quote {
        Some('"') => format!("\"{entry}\""),
        Some('\'') => format!("'{entry}'"),
        _ if plain_safe(entry) => entry.to_owned(),
        _ => format!("\"{}\"", entry.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

/// A plain scalar YAML reads back as this exact string (path-like names).
fn plain_safe(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
        && !s.starts_with(['-', '.'])
        || s.starts_with("./")
        || s.starts_with("../")
}

/// One line of the text.
struct Line<'a> {
    /// The line without its end (`\n` or `\r\n`).
    text: &'a str,
    /// Byte offset where the line's content ends (before `\r\n` / `\n`).
    content_end: usize,
}

impl Line<'_> {
    fn indent(&self) -> usize {
        self.text.len() - self.text.trim_start_matches(' ').len()
    }
    /// Blank or a comment only.
    fn is_blank(&self) -> bool {
        let t = self.text.trim();
        t.is_empty() || t.starts_with('#')
    }
}

struct Doc<'a> {
    lines: Vec<Line<'a>>,
    /// The file's line end, as written on its first line.
    eol: &'static str,
}

/// A block list item.
struct Item {
    text: String,
    quote: Option<char>,
}

enum Value {
    /// `key: [a, b]` on one line.
    Flow {
        items: Vec<String>,
        /// Byte offset of `]`.
        close: usize,
        /// Written `[ a ]` rather than `[a]`.
        inner_space: bool,
        last_quote: Option<char>,
    },
    /// `key:` then `- item` lines.
    Block {
        items: Vec<Item>,
        indent: usize,
        /// Byte offset where the last item's line content ends.
        end: usize,
    },
    /// `key:` with nothing (null): becomes a block list.
    Empty,
}

impl<'a> Doc<'a> {
    fn new(text: &'a str) -> Result<Doc<'a>, String> {
        let mut lines = Vec::new();
        let mut start = 0;
        for raw in text.split_inclusive('\n') {
            let body = raw.strip_suffix('\n').unwrap_or(raw);
            let body = body.strip_suffix('\r').unwrap_or(body);
            lines.push(Line {
                text: body,
                content_end: start + body.len(),
            });
            start += raw.len();
        }
        let eol = if text.split('\n').next().is_some_and(|l| l.ends_with('\r')) {
            "\r\n"
        } else {
            "\n"
        };
        let mut content_seen = false;
        for line in &lines {
            let t = line.text;
            if t.starts_with("---") && (t.len() == 3 || t[3..].starts_with([' ', '#'])) {
                if content_seen {
                    return Err("the file holds several YAML documents".into());
                }
                continue;
            }
            if t.starts_with('%') && !content_seen {
                return Err("the file has YAML directives".into());
            }
            if !line.is_blank() {
                if !content_seen && t.starts_with(['{', '[', '-']) {
                    return Err("the document is not a block mapping".into());
                }
                content_seen = true;
            }
            if t.starts_with("...") {
                return Err("the file has a document end marker".into());
            }
        }
        Ok(Doc { lines, eol })
    }

    /// The line of the top-level `key:` (`None` when absent).
    fn find_key(&self, key: &str) -> Result<Option<usize>, String> {
        let mut found = None;
        for (i, line) in self.lines.iter().enumerate() {
            if line.indent() != 0 || line.is_blank() {
                continue;
            }
            let Some(rest) = strip_key(line.text, key) else {
                continue;
            };
            if found.is_some() {
                return Err(format!("`{key}:` appears twice"));
            }
            let _ = rest;
            found = Some(i);
        }
        Ok(found)
    }

    /// The indentation of the items of the file's block lists (`"  "` when it
    /// has none): a new list looks like its neighbours.
    fn list_indent(&self) -> String {
        for (i, line) in self.lines.iter().enumerate() {
            if line.indent() != 0 || line.is_blank() || !line.text.trim_end().ends_with(':') {
                continue;
            }
            if let Some(next) = self.lines[i + 1..].iter().find(|l| !l.is_blank()) {
                let t = next.text.trim_start_matches(' ');
                if t.starts_with("- ") || t == "-" {
                    return " ".repeat(next.indent());
                }
            }
        }
        "  ".to_owned()
    }

    /// Whether the file writes its top-level lists as flow lists (`key: [a]`)
    /// and none as a block list.
    fn flow_style(&self) -> bool {
        let mut flow = false;
        for (i, line) in self.lines.iter().enumerate() {
            if line.indent() != 0 || line.is_blank() {
                continue;
            }
            let value = line
                .text
                .split_once(':')
                .map_or("", |(_, v)| strip_comment(v).trim());
            if value.starts_with('[') {
                flow = true;
            } else if value.is_empty()
                && self.lines[i + 1..]
                    .iter()
                    .find(|l| !l.is_blank())
                    .is_some_and(|l| l.text.trim_start().starts_with('-'))
            {
                return false;
            }
        }
        flow
    }

    /// The value of the `key:` on line `at`, the key written at column `base`
    /// (0 at the top level, the mapping's indentation when nested).
    fn value(&self, at: usize, key: &str, base: usize) -> Result<Value, String> {
        let line = &self.lines[at];
        let rest = strip_key(&line.text[base.min(line.text.len())..], key).unwrap_or_default();
        let value = strip_comment(rest).trim();
        let line_start = line.content_end - line.text.len();
        if value.starts_with('&') {
            return Err(format!("the value of `{key}:` has an anchor"));
        }
        if value.starts_with('*') {
            return Err(format!("the value of `{key}:` is an alias"));
        }
        if value.starts_with('!') {
            return Err(format!("the value of `{key}:` has a tag"));
        }
        if value.starts_with('[') {
            if !value.ends_with(']') {
                return Err(format!(
                    "`{key}:` is a flow list written over several lines"
                ));
            }
            let inner = &value[1..value.len() - 1];
            if inner.contains(['[', ']', '{', '}', '&', '*', '!']) {
                return Err(format!(
                    "`{key}:` is a flow list with nested or special items"
                ));
            }
            let open = line_start
                + (line.text.len() - rest.len())
                + (rest.len() - rest.trim_start().len());
            let close = open + value.len() - 1;
            let mut items = Vec::new();
            let mut last_quote = None;
            if !inner.trim().is_empty() {
                for raw in inner.split(',') {
                    let raw = raw.trim();
                    if raw.is_empty() {
                        continue; // a trailing comma
                    }
                    let (text, quote) = unquote(raw).ok_or_else(|| {
                        format!("`{key}:` has an item that is not a plain or quoted name: `{raw}`")
                    })?;
                    last_quote = quote;
                    items.push(text);
                }
            }
            if inner.trim_end().ends_with(',') {
                return Err(format!("`{key}:` is a flow list with a trailing comma"));
            }
            return Ok(Value::Flow {
                items,
                close,
                inner_space: inner.starts_with(' '),
                last_quote,
            });
        }
        if value.starts_with('{') {
            return Err(format!("the value of `{key}:` is a mapping, not a list"));
        }
        if value.starts_with(['|', '>']) {
            return Err(format!(
                "the value of `{key}:` is a block scalar, not a list"
            ));
        }
        if !value.is_empty() {
            return Err(format!("the value of `{key}:` is `{value}`, not a list"));
        }
        // A block list on the following lines (or nothing: null).
        let mut items = Vec::new();
        let mut indent = None;
        let mut end = None;
        for next in &self.lines[at + 1..] {
            if next.is_blank() {
                continue;
            }
            if next.text.starts_with('\t') || next.text.trim_start_matches(' ').starts_with('\t') {
                return Err(format!("`{key}:` is indented with tabs"));
            }
            let col = next.indent();
            let body = &next.text[col..];
            let is_item = body.starts_with("- ") || body == "-";
            match indent {
                // Items may sit at the key's own column (`key:\n- a`).
                None if is_item && col >= base => indent = Some(col),
                None if col <= base => break, // the next key: `key:` is empty
                None => return Err(format!("the value of `{key}:` is not a list")),
                Some(i) if col == i && is_item => {}
                Some(i) if col > i => {
                    // A continuation of the previous item (a multi-line item).
                    return Err(format!("`{key}:` has an item written over several lines"));
                }
                Some(_) => break,
            }
            let raw = strip_comment(body[1..].trim_start()).trim();
            let (text, quote) = unquote(raw).ok_or_else(|| {
                format!("`{key}:` has an item that is not a plain or quoted name: `{raw}`")
            })?;
            items.push(Item { text, quote });
            end = Some(next.content_end);
        }
        match (indent, end) {
            (Some(indent), Some(end)) => Ok(Value::Block { items, indent, end }),
            _ => Ok(Value::Empty),
        }
    }
}

/// The rest of `line` after `key:` when the line is that key (plain or quoted).
fn strip_key<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    for quoted in [key.to_owned(), format!("\"{key}\""), format!("'{key}'")] {
        if let Some(rest) = line.strip_prefix(quoted.as_str()) {
            let rest = rest.trim_start_matches(' ');
            if let Some(after) = rest.strip_prefix(':')
                && (after.is_empty() || after.starts_with([' ', '#']))
            {
                return Some(after);
            }
        }
    }
    None
}

/// `s` without a trailing `# comment` (a `#` after a space, outside quotes).
fn strip_comment(s: &str) -> &str {
    let mut quote = None;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'#') if i == 0 || bytes[i - 1] == b' ' => return &s[..i],
            _ => {}
        }
    }
    s
}

/// A plain or quoted scalar's text and its quote; `None` for anything else
/// (anchors, aliases, tags, mappings, escapes).
fn unquote(raw: &str) -> Option<(String, Option<char>)> {
    if raw.is_empty() {
        return None;
    }
    for q in ['"', '\''] {
        if let Some(inner) = raw.strip_prefix(q) {
            let inner = inner.strip_suffix(q)?;
            if inner.contains(q) || (q == '"' && inner.contains('\\')) {
                return None;
            }
            return Some((inner.to_owned(), Some(q)));
        }
    }
    if raw.starts_with(['&', '*', '!', '{', '[', '|', '>', '@', '`', '%'])
        || raw.contains(": ")
        || raw.ends_with(':')
    {
        return None;
    }
    Some((raw.to_owned(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(text: &str, key: &str, entry: &str) -> String {
        match add_entry(text, key, entry) {
            Ok(Outcome::Edited(t)) => t,
            other => panic!("expected an edit of\n{text}\ngot {other:?}"),
        }
    }

    fn refused(text: &str, key: &str) -> Refusal {
        match add_entry(text, key, "vpn-egress") {
            Err(r) => r,
            other => panic!("expected a refusal for\n{text}\ngot {other:?}"),
        }
    }

    #[test]
    fn block_list_keeps_comments_and_order() {
        let text = "# my app\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
                    resources:\n  - deployment.yaml # the bot\n  # - old.yaml\n\nnamespace: irc\n";
        assert_eq!(
            edited(text, "resources", "extra.yaml"),
            "# my app\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
             resources:\n  - deployment.yaml # the bot\n  - extra.yaml\n  # - old.yaml\n\nnamespace: irc\n"
        );
    }

    #[test]
    fn block_list_indentation_is_kept() {
        let zero = "resources:\n- a.yaml\n- b.yaml\ncomponents:\n- x\n";
        assert_eq!(
            edited(zero, "components", "vpn-egress"),
            "resources:\n- a.yaml\n- b.yaml\ncomponents:\n- x\n- vpn-egress\n"
        );
        let four = "resources:\n    -   a.yaml\n";
        assert_eq!(
            edited(four, "resources", "b.yaml"),
            "resources:\n    -   a.yaml\n    - b.yaml\n"
        );
    }

    #[test]
    fn quoting_follows_the_last_item() {
        let text = "resources:\n  - \"a.yaml\"\n  - 'b.yaml'\n";
        assert_eq!(
            edited(text, "resources", "c.yaml"),
            "resources:\n  - \"a.yaml\"\n  - 'b.yaml'\n  - 'c.yaml'\n"
        );
    }

    #[test]
    fn flow_lists() {
        assert_eq!(
            edited("components: [a, b] # two\n", "components", "vpn-egress"),
            "components: [a, b, vpn-egress] # two\n"
        );
        assert_eq!(
            edited(
                "components: [ a ]\nkind: Kustomization\n",
                "components",
                "vpn-egress"
            ),
            "components: [ a, vpn-egress ]\nkind: Kustomization\n"
        );
        assert_eq!(
            edited("components: []\n", "components", "vpn-egress"),
            "components: [vpn-egress]\n"
        );
        assert_eq!(
            edited("components: [ ]\n", "components", "vpn-egress"),
            "components: [ vpn-egress ]\n"
        );
        assert_eq!(
            edited("resources: [\"a.yaml\"]\n", "resources", "b.yaml"),
            "resources: [\"a.yaml\", \"b.yaml\"]\n"
        );
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let text = "kind: Kustomization\r\nresources:\r\n  - a.yaml\r\n# end\r\n";
        assert_eq!(
            edited(text, "resources", "b.yaml"),
            "kind: Kustomization\r\nresources:\r\n  - a.yaml\r\n  - b.yaml\r\n# end\r\n"
        );
        assert_eq!(
            edited("kind: Kustomization\r\n", "components", "vpn-egress"),
            "kind: Kustomization\r\ncomponents:\r\n  - vpn-egress\r\n"
        );
    }

    #[test]
    fn missing_key_and_empty_key() {
        assert_eq!(
            edited("resources:\n- a.yaml\n", "components", "vpn-egress"),
            "resources:\n- a.yaml\ncomponents:\n- vpn-egress\n"
        );
        assert_eq!(
            edited("resources: [a.yaml] # flow\n", "components", "vpn-egress"),
            "resources: [a.yaml] # flow\ncomponents: [vpn-egress]\n"
        );
        assert_eq!(
            edited("kind: Kustomization", "components", "vpn-egress"),
            "kind: Kustomization\ncomponents:\n  - vpn-egress\n"
        );
        assert_eq!(
            edited(
                "components: # later\nkind: Kustomization\n",
                "components",
                "vpn-egress"
            ),
            "components: # later\n  - vpn-egress\nkind: Kustomization\n"
        );
    }

    #[test]
    fn at_the_end_of_a_file_without_newline() {
        assert_eq!(
            edited("resources:\n  - a.yaml", "resources", "b.yaml"),
            "resources:\n  - a.yaml\n  - b.yaml"
        );
    }

    #[test]
    fn present_entries_are_left_alone() {
        for text in [
            "components:\n  - ./vpn-egress/\n",
            "components: [vpn-egress]\n",
            "components:\n- \"vpn-egress\"\n",
        ] {
            assert_eq!(
                add_entry(text, "components", "vpn-egress"),
                Ok(Outcome::Present)
            );
        }
    }

    #[test]
    fn refusals_say_what_to_add() {
        let r = refused("base: &c\n  - x\ncomponents: *c\n", "components");
        assert!(r.reason.contains("alias"), "{r:?}");
        assert_eq!(r.line, Some(3));
        assert_eq!(r.lines_to_add, "  - vpn-egress");
        let r = refused("components: &c [x]\n", "components");
        assert!(r.reason.contains("anchor"), "{r:?}");
        let r = refused("components: vpn\n", "components");
        assert!(r.reason.contains("not a list"), "{r:?}");
        let r = refused("components:\n  a: b\n", "components");
        assert!(r.reason.contains("not a list"), "{r:?}");
        let r = refused("components: [a,\n  b]\n", "components");
        assert!(r.reason.contains("several lines"), "{r:?}");
        let r = refused("components:\n  - &x a\n", "components");
        assert!(r.reason.contains("not a plain"), "{r:?}");
        let r = refused("kind: A\n---\nkind: B\n", "components");
        assert!(r.reason.contains("several YAML documents"), "{r:?}");
        assert_eq!(r.lines_to_add, "components:\n  - vpn-egress");
        let r = refused("components: [a]\ncomponents: [b]\n", "components");
        assert!(r.reason.contains("twice"), "{r:?}");
        let r = refused("resources:\n  - path: a\n    target: b\n", "resources");
        assert!(
            r.reason.contains("not a plain") || r.reason.contains("several lines"),
            "{r:?}"
        );
    }

    fn nested(text: &str) -> Result<Outcome, Refusal> {
        add_nested_entry(text, "spec", "components", "../vpn-egress/qbit")
    }

    #[test]
    fn nested_lists_are_edited_in_place() {
        let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  \
                    interval: 10m0s\n  path: ./.k8s # kubenix\n  decryption:\n    provider: sops\n\n";
        assert_eq!(
            nested(flux),
            Ok(Outcome::Edited(format!(
                "{}\n  components:\n    - ../vpn-egress/qbit\n\n",
                flux.trim_end()
            )))
        );
        // Followed by a top-level key, items at the key's column, a flow list.
        assert_eq!(
            nested("spec:\n  path: x\n  components:\n  - a\nmetadata: {}\n"),
            Ok(Outcome::Edited(
                "spec:\n  path: x\n  components:\n  - a\n  - ../vpn-egress/qbit\nmetadata: {}\n"
                    .to_owned()
            ))
        );
        assert_eq!(
            nested("spec:\n    components: [a]\n    path: x\n"),
            Ok(Outcome::Edited(
                "spec:\n    components: [a, ../vpn-egress/qbit]\n    path: x\n".to_owned()
            ))
        );
        assert_eq!(
            nested("spec:\n  components:\n    - ./../vpn-egress/qbit/\n"),
            Ok(Outcome::Present)
        );
        // A `components:` deeper down is not `spec.components`.
        assert_eq!(
            nested("spec:\n  patches:\n    - components: x\n"),
            Ok(Outcome::Edited(
                "spec:\n  patches:\n    - components: x\n  components:\n    - ../vpn-egress/qbit\n"
                    .to_owned()
            ))
        );
        assert_eq!(
            nested("spec:\n  decryption:\n    components: [x]\n"),
            Ok(Outcome::Edited(
                "spec:\n  decryption:\n    components: [x]\n  components:\n    - ../vpn-egress/qbit\n"
                    .to_owned()
            ))
        );
        let crlf = "spec:\r\n  path: x\r\n";
        assert_eq!(
            nested(crlf),
            Ok(Outcome::Edited(
                "spec:\r\n  path: x\r\n  components:\r\n    - ../vpn-egress/qbit\r\n".to_owned()
            ))
        );
    }

    #[test]
    fn nested_lists_in_one_of_several_documents() {
        let two = "# infrastructure\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n\
                   metadata:\n  name: controllers\nspec:\n  path: ./infra/controllers\n---\n\
                   apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  \
                   name: \"apps\" # the flat ones\n  namespace: flux-system\nspec:\n  path: ./.k8s\n";
        let edited = two.replace(
            "path: ./.k8s\n",
            "path: ./.k8s\n  components:\n    - ../vpn-egress/qbit\n",
        );
        let add = |text: &str, name: &str| {
            add_nested_entry_in(
                text,
                "Kustomization",
                name,
                "spec",
                "components",
                "../vpn-egress/qbit",
            )
        };
        assert_eq!(add(two, "apps"), Ok(Outcome::Edited(edited.clone())));
        assert_eq!(add(&edited, "apps"), Ok(Outcome::Present));
        let other = two.replace(
            "path: ./infra/controllers\n",
            "path: ./infra/controllers\n  components:\n    - ../vpn-egress/qbit\n",
        );
        assert_eq!(add(two, "controllers"), Ok(Outcome::Edited(other)));
        let r = add(two, "nope").expect_err("no such document");
        assert!(r.reason.contains("none of the documents"), "{r:?}");
        let r = add(&two.replace("name: controllers", "name: apps"), "apps").expect_err("two");
        assert!(r.reason.contains("several documents"), "{r:?}");
        // A refusal's line is the file's, not the document's.
        let r = add(&two.replace("path: ./.k8s", "components: *c"), "apps").expect_err("alias");
        assert_eq!(r.line, Some(16), "{r:?}");
    }

    #[test]
    fn nested_refusals_say_what_to_add() {
        let r = nested("kind: A\n---\nspec:\n  path: x\n").expect_err("two documents");
        assert!(r.reason.contains("several YAML documents"), "{r:?}");
        assert_eq!(
            r.lines_to_add,
            "spec:\n  components:\n    - ../vpn-egress/qbit"
        );
        let r = nested("spec: {path: x}\n").expect_err("flow");
        assert!(r.reason.contains("not a block mapping"), "{r:?}");
        assert_eq!(r.line, Some(1));
        let r = nested("spec:\n  components: *c\n").expect_err("alias");
        assert!(r.reason.contains("alias"), "{r:?}");
        assert_eq!(
            (r.line, r.lines_to_add.as_str()),
            (Some(2), "    - ../vpn-egress/qbit")
        );
        let r = nested("spec:\n  components: [a]\n  components: [b]\n").expect_err("twice");
        assert!(r.reason.contains("twice"), "{r:?}");
        let r = nested("spec:\n    path: x\n  prune: true\n").expect_err("uneven");
        assert!(r.reason.contains("evenly"), "{r:?}");
        let r = nested("kind: A\n").expect_err("no spec");
        assert!(r.reason.contains("no `spec:`"), "{r:?}");
    }

    #[test]
    fn entries_are_read() {
        assert_eq!(
            entries("resources: [a-app.yaml, 'b-app.yaml']\n", "resources"),
            Some(vec!["a-app.yaml".to_owned(), "b-app.yaml".to_owned()])
        );
        assert_eq!(entries("kind: K\n", "resources"), None);
    }
}
