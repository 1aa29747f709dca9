//! Whether a text is a SOPS file, and where its metadata is: the one detector
//! `check`, `secrets` and the plan writer use.
//!
//! A document is SOPS-encrypted when its top level is a mapping whose `sops`
//! value is a mapping with a `mac` key; a file is a SOPS file when one of its
//! documents is (the YAML documents separated by `---`, or the one JSON object:
//! a text whose first character is `{` is read as JSON whatever its name, as
//! sops' YAML store would read it too).
//!
//! [`scan`] answers with a line scan when the file has the shape sops writes
//! (a block `sops:` key at the start of a line), which never parses YAML, so
//! thousands of files stay fast; any other shape goes to [`scan_parsed`], the
//! full parse. On every text that parses, the two agree (a differential test on
//! generated and mutated files holds them to it). On a text that does not parse,
//! the line scan still says "SOPS" when it sees a `sops:` block with a `mac`,
//! so that a damaged SOPS file is named with its error rather than skipped.
use crate::tree::{self, Format, Value};
use memchr::memmem;
use std::ops::Range;
use std::sync::LazyLock;

// The searchers, built once: building one costs more than searching a small file.
static SOPS: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("sops"));
static SOPS_KEY: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("sops:"));
static MAC: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("mac"));
static MARKER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("\n---"));

/// The `sops` metadata of one document, located (nothing is decrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SopsDocument {
    /// Byte range of the `sops` key (`sops:` in YAML, `"sops"` in JSON).
    pub key: Range<usize>,
    /// Every `recipient` value of the metadata (`age[]`, and `key_groups[].age[]`),
    /// in document order, with its byte range.
    pub recipients: Vec<(String, Range<usize>)>,
}

/// The documents of `text` that carry SOPS metadata, in order; `None` when no
/// document does (the text is not a SOPS file). Cheap on texts that are not.
pub fn scan(text: &str) -> Option<Vec<SopsDocument>> {
    if !maybe_sops(text) {
        return None;
    }
    match scan_lines(text) {
        Fast::Found(docs) => Some(docs),
        Fast::NotSops => None,
        Fast::Unsure => scan_parsed(text),
    }
}

/// Whether `text` is a SOPS file (see [`scan`]).
pub fn is_sops(text: &str) -> bool {
    scan(text).is_some()
}

/// A necessary condition: both words appear.
fn maybe_sops(text: &str) -> bool {
    SOPS.find(text.as_bytes()).is_some() && MAC.find(text.as_bytes()).is_some()
}

/// [`scan`] by the full parse only (YAML or JSON, by the first character):
/// what the line scan must agree with. `None` also for a text that does not parse.
pub fn scan_parsed(text: &str) -> Option<Vec<SopsDocument>> {
    if !maybe_sops(text) {
        return None;
    }
    let format = if text.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Yaml
    };
    let docs = tree::parse_documents(text, format).ok()?;
    let starts = line_starts(text);
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let Some(Value::Map(meta)) = doc.value.get("sops") else {
            continue;
        };
        if !meta.iter().any(|(k, _)| k == "mac") {
            continue;
        }
        let from = line_start(&starts, doc.line, text.len());
        let until = docs
            .get(i + 1)
            .map_or(text.len(), |d| line_start(&starts, d.line, text.len()));
        let key = find_key(text, from, until.max(from))?;
        let mut values = Vec::new();
        recipients_of(&Value::Map(meta.clone()), &mut values);
        let mut cursor = key.end;
        let mut recipients = Vec::with_capacity(values.len());
        for value in values {
            // Found after the previous one: each is written once, in order.
            let at = memmem::find(&text.as_bytes()[cursor..], value.as_bytes())
                .map_or(cursor..cursor, |p| cursor + p..cursor + p + value.len());
            cursor = at.end;
            recipients.push((value, at));
        }
        out.push(SopsDocument { key, recipients });
    }
    (!out.is_empty()).then_some(out)
}

/// Every string under a `recipient` key, in document order.
fn recipients_of(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Map(items) => {
            for (k, v) in items {
                match v {
                    Value::Str(s) if k == "recipient" => {
                        if !s.is_empty() {
                            out.push(s.clone());
                        }
                    }
                    _ => recipients_of(v, out),
                }
            }
        }
        Value::Seq(items) => items.iter().for_each(|v| recipients_of(v, out)),
        _ => {}
    }
}

/// The last `sops` key of `text[from..until]`: `"sops"`/`'sops'` quoted, else
/// `sops:`. The metadata comes last in what sops writes; a data key cannot be
/// named `sops`, but a value may contain the word.
fn find_key(text: &str, from: usize, until: usize) -> Option<Range<usize>> {
    let region = &text.as_bytes()[from..until];
    let mut found = None;
    for p in memmem::find_iter(region, b"sops") {
        let before = p.checked_sub(1).map(|i| region[i]);
        let after = region.get(p + 4).copied();
        let range = match (before, after) {
            (Some(q @ (b'"' | b'\'')), Some(a)) if a == q => {
                let rest = &region[p + 5..];
                let colon = rest.iter().position(|&c| c != b' ' && c != b'\t');
                if colon.is_some_and(|i| rest[i] == b':') {
                    from + p - 1..from + p + 5
                } else {
                    continue;
                }
            }
            (None | Some(b'\n' | b' ' | b'\t' | b'{' | b','), Some(b':')) => from + p..from + p + 5,
            _ => continue,
        };
        found = Some(range);
    }
    found
}

/// Byte offsets where lines start.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
        .collect()
}

/// Byte offset of the 1-based `line`.
fn line_start(starts: &[usize], line: usize, len: usize) -> usize {
    starts
        .get(line.saturating_sub(1))
        .copied()
        .unwrap_or(len)
        .min(len)
}

/// What the line scan could tell.
#[derive(Debug, PartialEq, Eq)]
enum Fast {
    Found(Vec<SopsDocument>),
    NotSops,
    /// A shape the line scan does not read (JSON, flow style, quoted keys,
    /// tabs, directives…): the parse decides.
    Unsure,
}

/// The line scan, for block YAML with `sops:` at the start of a line.
fn scan_lines(text: &str) -> Fast {
    let bytes = text.as_bytes();
    if text.trim_start().starts_with('{')
        || text.starts_with(['%', '.'])
        || text.contains("\n%")
        || text.contains("\n...")
    {
        return Fast::Unsure;
    }
    // Every `sops` followed by a colon (perhaps after a quote) must be a block
    // key at the start of a line; anything else is a shape left to the parse.
    for p in SOPS.find_iter(bytes) {
        let mut q = p + 4;
        if matches!(bytes.get(q), Some(b'"' | b'\'')) {
            q += 1;
        }
        while matches!(bytes.get(q), Some(b' ' | b'\t')) {
            q += 1;
        }
        if bytes.get(q) != Some(&b':') {
            continue;
        }
        let at_line_start = p == 0 || bytes[p - 1] == b'\n';
        if at_line_start && q == p + 4 && block_key_line_rest(text, p + 5) {
            continue;
        }
        // Where a key may start (after indentation, `{`, `,`, `- ` or `? `),
        // another shape of a `sops` key: the parse judges. Elsewhere the word
        // is inside a value.
        let mut b = if q > p + 4 && matches!(bytes.get(p + 4), Some(b'"' | b'\'')) {
            p.checked_sub(1).filter(|&i| bytes[i] == bytes[p + 4])
        } else {
            Some(p)
        };
        // Back over blanks, and over node properties (`&anchor`, `!tag`) that
        // may stand before a key.
        loop {
            while let Some(i) = b.filter(|&i| i > 0 && matches!(bytes[i - 1], b' ' | b'\t')) {
                b = Some(i - 1);
            }
            let Some(i) = b.filter(|&i| i > 0 && !matches!(bytes[i - 1], b'\n' | b'\r')) else {
                break;
            };
            let token = bytes[..i]
                .iter()
                .rposition(|&c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
                .map_or(0, |n| n + 1);
            if token == i || !matches!(bytes[token], b'&' | b'!') {
                break;
            }
            b = Some(token);
        }
        match b {
            None => {}
            Some(0) => return Fast::Unsure,
            Some(i) if matches!(bytes[i - 1], b'\n' | b'{' | b',' | b'-' | b'?') => {
                return Fast::Unsure;
            }
            Some(_) => {}
        }
    }
    let mut out = Vec::new();
    for (start, end) in yaml_documents(text) {
        match scan_document(text, start, end) {
            Fast::Found(mut docs) => out.append(&mut docs),
            Fast::NotSops => {}
            Fast::Unsure => return Fast::Unsure,
        }
    }
    if out.is_empty() {
        Fast::NotSops
    } else {
        Fast::Found(out)
    }
}

/// Whether what follows a key's colon at `at` is nothing (a block value on the
/// next lines), perhaps with a comment.
fn block_key_line_rest(text: &str, at: usize) -> bool {
    let end = memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |n| at + n);
    let rest = text[at..end].trim_end_matches('\r');
    let trimmed = rest.trim_start_matches([' ', '\t']);
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())
}

/// Byte ranges of the YAML documents of `text`, split at `---` lines (a
/// document start marker, alone or followed by a space or comment).
fn yaml_documents(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    // Only at a line's start: the armor's `-----` lines never stop the search.
    let first = text.starts_with("---").then_some(0);
    let rest = MARKER.find_iter(text.as_bytes()).map(|p| p + 1);
    for pos in first.into_iter().chain(rest) {
        let after = text.as_bytes().get(pos + 3).copied();
        if !matches!(after, None | Some(b'\n' | b'\r' | b' ' | b'\t')) {
            continue;
        }
        if pos > start {
            out.push((start, pos));
        }
        start = pos;
    }
    out.push((start, text.len()));
    out
}

/// The line scan of one document, `text[start..end]`.
///
/// One pass over the lines of the `sops:` block, each found with `memchr`,
/// nothing collected: a line inside a block scalar (the armored `enc: |` keys,
/// most of the block) is passed over by its indentation alone.
fn scan_document(text: &str, start: usize, end: usize) -> Fast {
    let bytes = text.as_bytes();
    let Some(pos) = SOPS_KEY
        .find_iter(&bytes[start..end])
        .find(|&p| p == 0 || bytes[start + p - 1] == b'\n')
    else {
        return Fast::NotSops;
    };
    let key = start + pos..start + pos + "sops:".len();
    // The block: the lines after `sops:` up to the next line that starts at
    // column 0 (another top-level key, a document marker) or the document's end.
    let mut at = memchr::memchr(b'\n', &bytes[key.end..end]).map_or(end, |n| key.end + n + 1);
    // The indentation of the block's keys (that of its first content line).
    let mut child: Option<usize> = None;
    let mut mac = false;
    // `sops` is a sequence (not metadata); the rest of the block is still read,
    // as a tab anywhere in it leaves the answer to the parse.
    let mut sequence = false;
    let mut recipients = Vec::new();
    // Inside a block scalar (`enc: |`): the column of its key.
    let mut scalar_of: Option<usize> = None;
    while at < end {
        let line_end = memchr::memchr(b'\n', &bytes[at..end]).map_or(end, |n| at + n);
        let line = &text[at..line_end];
        let next = line_end + 1;
        match line.as_bytes().first() {
            Some(b' ') => {}
            // A tab where indentation is expected is a shape the parse judges.
            Some(b'\t') => return Fast::Unsure,
            None | Some(b'\r' | b'#') => {
                at = next;
                continue;
            }
            Some(_) => break,
        }
        // Deeper than the block scalar's key: its text (or a blank line).
        if let Some(column) = scalar_of
            && line.len() > column
            && line.as_bytes()[..=column].iter().all(|&b| b == b' ')
        {
            at = next;
            continue;
        }
        let body = line.trim_start_matches(' ');
        let ind = line.len() - body.len();
        if body.is_empty() || body == "\r" || body.starts_with('#') {
            at = next;
            continue;
        }
        scalar_of = None;
        let child = *child.get_or_insert(ind);
        if ind < child {
            // Under-indented: the parse judges whether it is an error.
            return Fast::Unsure;
        }
        let dash = body.starts_with("- ") || body.trim_end_matches('\r') == "-";
        if dash && ind == child {
            sequence = true;
            at = next;
            continue;
        }
        let item = match body.strip_prefix("- ") {
            Some(rest) => rest.trim_start_matches(' '),
            None if dash => return Fast::Unsure,
            None => body,
        };
        let Some((name, rest)) = plain_key(item) else {
            return Fast::Unsure;
        };
        let column = line.len() - item.len();
        if ind == child && name == "mac" {
            mac = true;
        }
        if rest.trim_matches([' ', '\r']).starts_with(['|', '>']) {
            scalar_of = Some(column);
        }
        if name == "recipient" {
            let Some((value, range)) = plain_value(rest) else {
                return Fast::Unsure;
            };
            let offset = at + (line.len() - rest.len());
            recipients.push((value.to_owned(), offset + range.start..offset + range.end));
        }
        at = next;
    }
    if child.is_none() || sequence || !mac {
        // `sops:` with nothing under it (null), a sequence, or no `mac`: not metadata.
        return Fast::NotSops;
    }
    Fast::Found(vec![SopsDocument { key, recipients }])
}

/// A line of the metadata block split at its plain key (no quotes, flow
/// collections, complex keys, anchors or tags): the key and what follows its colon.
fn plain_key(body: &str) -> Option<(&str, &str)> {
    let first = body.bytes().next()?;
    if !(first.is_ascii_alphanumeric() || first == b'_') {
        return None;
    }
    let colon = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))?;
    let rest = body[colon..].strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with([' ', '\r'])) {
        return None;
    }
    Some((&body[..colon], rest))
}

/// The scalar after `recipient:` when it is written simply (plain, or quoted
/// without escapes), with its range in `rest`; `None` for anything else.
fn plain_value(rest: &str) -> Option<(&str, Range<usize>)> {
    let lead = rest.len() - rest.trim_start_matches(' ').len();
    if lead == 0 && !rest.trim_end_matches('\r').is_empty() {
        return None;
    }
    let v = rest[lead..].trim_end_matches(['\r', ' ']);
    if v.is_empty() {
        // The value is on the next lines (or null): the parse judges.
        return None;
    }
    let first = v.as_bytes()[0];
    let (value, start) = match first {
        b'"' | b'\'' => {
            let inner = v[1..].strip_suffix(first as char)?;
            if inner.contains(['"', '\'', '\\']) {
                return None;
            }
            (inner, lead + 1)
        }
        b if b.is_ascii_alphabetic() => {
            // A plain scalar that reads as a string, on one line.
            let keyword = matches!(
                v.to_ascii_lowercase().as_str(),
                "true" | "false" | "null" | "yes" | "no" | "on" | "off"
            );
            if keyword
                || v.contains(" #")
                || v.contains(": ")
                || v.ends_with(':')
                || v.contains('\t')
            {
                return None;
            }
            (v, lead)
        }
        _ => return None,
    };
    Some((value, start..start + value.len()))
}

/// The key names of a SOPS file, read without decrypting (sops keeps them in
/// plaintext): of every document, a Kubernetes `Secret`'s `data` and
/// `stringData` keys, else its top-level keys (never `sops`). `None` when the
/// text does not parse.
pub fn key_names(text: &str) -> Option<Vec<String>> {
    keys_of(text).map(|keys| keys.names)
}

/// What a SOPS file holds, from its plaintext structure (never decrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// Every document is a Kubernetes `Secret` (and there is at least one).
    pub kubernetes_secret: bool,
    /// The key names, as [`key_names`] lists them.
    pub names: Vec<String>,
    /// How many YAML documents the file holds (each with its own metadata).
    pub documents: usize,
}

/// The key names of a SOPS file and whether it is a Kubernetes `Secret`: the one
/// reader of a sealed file's keys (`check` compares them with what gluetun reads,
/// `init` drafts them). `None` when the text does not parse as YAML or JSON
/// maps (the parse refuses a document of another shape).
pub fn keys_of(text: &str) -> Option<Keys> {
    let format = if text.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Yaml
    };
    let docs = tree::parse_documents(text, format).ok()?;
    let mut names = Vec::new();
    let mut secrets = 0;
    for doc in &docs {
        let Value::Map(top) = &doc.value else {
            continue;
        };
        if doc.value.get("kind").and_then(Value::as_str) == Some("Secret") {
            secrets += 1;
            for field in ["data", "stringData"] {
                if let Some(Value::Map(m)) = doc.value.get(field) {
                    names.extend(m.iter().map(|(k, _)| k.clone()));
                }
            }
        } else {
            names.extend(top.iter().map(|(k, _)| k.clone()).filter(|k| k != "sops"));
        }
    }
    Some(Keys {
        kubernetes_secret: secrets > 0 && secrets == docs.len(),
        names,
        documents: docs.len(),
    })
}

#[cfg(test)]
mod tests;
