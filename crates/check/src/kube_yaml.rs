//! A fast reader of the plain block YAML most Kubernetes manifests are written
//! in: block mappings and sequences of one-line scalars, comments, `---`.
//!
//! It gives up ([`None`]) on anything else (flow collections, anchors, aliases,
//! tags, quoted keys, escapes, multi-line or empty values, tabs, duplicate keys,
//! odd indentation) and the caller then loads the file with saphyr, so a `None`
//! costs time, never a different answer. Block scalars (`|`, `>`) are kept as
//! opaque values: reading one (its text or its location) also gives up.
use saphyr::Scalar;
use std::borrow::Cow;

/// A node of the tree.
pub(crate) enum Node<'a> {
    /// Entries in order; where the first key starts.
    Map(Vec<(Node<'a>, Node<'a>)>, usize),
    /// Items in order (where a sequence starts is saphyr's to say: see
    /// `FastView::range`).
    Seq(Vec<Node<'a>>),
    /// A one-line scalar, as saphyr resolves it, and its byte range.
    Scalar(Scalar<'a>, usize, usize),
    /// A block scalar (not read).
    Opaque,
}

/// The documents of `text` (only those that are mappings), or `None` when the
/// text is outside the subset.
pub(crate) fn load(text: &str) -> Option<Vec<Node<'_>>> {
    if text.contains(['\t', '\r']) || !printable(text) {
        return None;
    }
    let mut lines = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        lines.push(Line {
            start,
            text: body,
            indent: body.len() - body.trim_start_matches(' ').len(),
        });
        start += line.len();
    }
    let mut reader = Reader { lines, at: 0 };
    let mut docs = Vec::new();
    loop {
        reader.skip_blank();
        let Some(line) = reader.lines.get(reader.at) else {
            break;
        };
        if line.text.starts_with("---") {
            if line.text[3..].trim_start_matches(' ').is_empty() || line.text[3..].starts_with(" #")
            {
                reader.at += 1;
                continue;
            }
            return None;
        }
        if line.indent != 0 || line.text.starts_with("...") || line.text.starts_with('%') {
            return None;
        }
        if is_seq_item(line.content()) {
            return None; // a sequence document: not read by `check`
        }
        docs.push(reader.mapping(0)?);
        reader.skip_blank();
        if let Some(line) = reader.lines.get(reader.at)
            && !line.text.starts_with("---")
        {
            return None;
        }
    }
    Some(docs)
}

/// Whether every character is one YAML allows in a stream (its `c-printable`,
/// line breaks aside): saphyr refuses the file otherwise, even inside a block
/// scalar this reader does not read (found by the `kube_yaml` fuzz target).
fn printable(text: &str) -> bool {
    let controls = text.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7F);
    !controls
        && (text.is_ascii()
            || text.chars().all(|c| {
                c.is_ascii()
                    || matches!(c, '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
                    || c >= '\u{10000}'
            }))
}

struct Line<'a> {
    start: usize,
    text: &'a str,
    indent: usize,
}

impl<'a> Line<'a> {
    fn content(&self) -> &'a str {
        &self.text[self.indent..]
    }

    /// Blank or a comment only.
    fn is_blank(&self) -> bool {
        let c = self.content();
        c.is_empty() || c.starts_with('#')
    }
}

fn is_seq_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

struct Reader<'a> {
    lines: Vec<Line<'a>>,
    at: usize,
}

/// Bytes a plain key may have (`app.kubernetes.io/name`).
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-')
}

impl<'a> Reader<'a> {
    fn skip_blank(&mut self) {
        while self.lines.get(self.at).is_some_and(Line::is_blank) {
            self.at += 1;
        }
    }

    /// The next non-blank line's indent and content, without moving.
    fn peek(&self) -> Option<(usize, &'a str)> {
        self.lines[self.at..]
            .iter()
            .find(|l| !l.is_blank())
            .map(|l| (l.indent, l.content()))
    }

    /// A block mapping whose keys are at column `indent`, from the next line.
    fn mapping(&mut self, indent: usize) -> Option<Node<'a>> {
        self.mapping_from(indent, None)
    }

    /// A block mapping whose keys are at column `indent`; with `first_col`, its
    /// first key is on the current line at that column (after a `- `).
    fn mapping_from(&mut self, indent: usize, first_col: Option<usize>) -> Option<Node<'a>> {
        let mut entries: Vec<(Node<'a>, Node<'a>)> = Vec::new();
        let mut map_start = None;
        let mut col = first_col;
        loop {
            let offset_col = match col.take() {
                Some(c) => c,
                None => {
                    self.skip_blank();
                    let Some(line) = self.lines.get(self.at) else {
                        break;
                    };
                    if line.indent < indent || line.text.starts_with("---") {
                        break;
                    }
                    if line.indent > indent {
                        return None;
                    }
                    line.indent
                }
            };
            let line = &self.lines[self.at];
            let rest = &line.text[offset_col..];
            if is_seq_item(rest) {
                // A sequence where a key belongs.
                return None;
            }
            let key_len = rest.bytes().take_while(|b| is_key_byte(*b)).count();
            if key_len == 0 || !rest[key_len..].starts_with(':') {
                return None;
            }
            let key_start = line.start + offset_col;
            let key_text = &rest[..key_len];
            let key = Scalar::parse_from_cow_and_metadata(
                Cow::Borrowed(key_text),
                saphyr_parser::ScalarStyle::Plain,
                None,
            )?;
            if entries
                .iter()
                .any(|(k, _)| matches!(k, Node::Scalar(s, _, _) if *s == key))
            {
                return None; // saphyr reports duplicate keys
            }
            map_start.get_or_insert(key_start);
            let after = &rest[key_len + 1..];
            let value_col = offset_col + key_len + 1;
            let value = if after.is_empty() || after.trim_start_matches(' ').starts_with('#') {
                if !after.is_empty() && !after.starts_with(' ') {
                    return None;
                }
                // The value is on the next lines.
                self.at += 1;
                match self.peek() {
                    Some((i, content)) if i > indent => {
                        if is_seq_item(content) {
                            self.sequence(i)?
                        } else {
                            self.mapping(i)?
                        }
                    }
                    Some((i, content)) if i == indent && is_seq_item(content) => {
                        self.sequence(i)?
                    }
                    // An empty value.
                    _ => return None,
                }
            } else {
                if !after.starts_with(' ') {
                    return None;
                }
                let value = self.inline_value(value_col, indent)?;
                self.at += 1;
                value
            };
            entries.push((Node::Scalar(key, key_start, key_start + key_len), value));
        }
        Some(Node::Map(entries, map_start?))
    }

    /// A block sequence whose `-` are at column `indent`.
    fn sequence(&mut self, indent: usize) -> Option<Node<'a>> {
        let mut items = Vec::new();
        let mut seq_start = None;
        loop {
            self.skip_blank();
            let Some(line) = self.lines.get(self.at) else {
                break;
            };
            if line.indent < indent || line.text.starts_with("---") {
                break;
            }
            if line.indent > indent {
                return None;
            }
            if !is_seq_item(line.content()) {
                // The next key of a mapping whose sequence was at its own column.
                break;
            }
            seq_start.get_or_insert(line.start + indent);
            let after = &line.content()[1..];
            let pad = after.len() - after.trim_start_matches(' ').len();
            let item_col = indent + 1 + pad;
            let item = &line.text[item_col..];
            if item.is_empty() || item.starts_with('#') || is_seq_item(item) {
                return None;
            }
            let key_len = item.bytes().take_while(|b| is_key_byte(*b)).count();
            let is_key = key_len > 0
                && item[key_len..].starts_with(':')
                && (item.len() == key_len + 1 || item.as_bytes()[key_len + 1] == b' ');
            if is_key {
                items.push(self.mapping_from(item_col, Some(item_col))?);
            } else {
                items.push(self.inline_value(item_col - 1, indent)?);
                self.at += 1;
            }
        }
        // An empty sequence is not this reader's.
        seq_start?;
        Some(Node::Seq(items))
    }

    /// A scalar on the current line after column `col` (past the `:` or `-`),
    /// in a block whose entries are at column `indent`.
    fn inline_value(&mut self, col: usize, indent: usize) -> Option<Node<'a>> {
        let line = &self.lines[self.at];
        let rest = &line.text[col..];
        let pad = rest.len() - rest.trim_start_matches(' ').len();
        let text = &rest[pad..];
        let start = line.start + col + pad;
        let first = text.bytes().next()?;
        let (node, tail) = match first {
            b'"' | b'\'' => {
                let body = &text[1..];
                let close = body.find(first as char)?;
                let inner = &body[..close];
                if inner.contains('\\') || body[close + 1..].starts_with(first as char) {
                    return None;
                }
                let end = start + 1 + close + 1;
                (
                    Node::Scalar(Scalar::String(Cow::Borrowed(inner)), start, end),
                    &body[close + 1..],
                )
            }
            b'|' | b'>' => {
                let header = text[1..].trim_start_matches(['-', '+']);
                let header = header.trim_start_matches(|c: char| c.is_ascii_digit());
                if !(header.is_empty() || header.starts_with(" #") || header.trim().is_empty()) {
                    return None;
                }
                self.block_scalar(indent)?;
                return Some(Node::Opaque);
            }
            b'[' | b'{' | b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b'#' | b',' | b'?' | b':'
            | b']' | b'}' => return None,
            b'-' if text.len() == 1 || text.as_bytes()[1] == b' ' => return None,
            _ => {
                let end = text.find(" #").unwrap_or(text.len());
                let value = text[..end].trim_end_matches(' ');
                if value.contains(": ") || value.ends_with(':') {
                    return None;
                }
                let scalar = Scalar::parse_from_cow_and_metadata(
                    Cow::Borrowed(value),
                    saphyr_parser::ScalarStyle::Plain,
                    None,
                )?;
                (
                    Node::Scalar(scalar, start, start + value.len()),
                    &text[value.len()..],
                )
            }
        };
        // Only a comment may follow, after a space.
        let trimmed = tail.trim_start_matches(' ');
        if !(trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < tail.len())) {
            return None;
        }
        // A following line indented deeper would continue the scalar (or be an error).
        if self.lines[self.at + 1..]
            .iter()
            .find(|l| !l.content().is_empty())
            .is_some_and(|l| l.indent > indent)
        {
            return None;
        }
        Some(node)
    }

    /// Skips a block scalar's lines, after its header line.
    fn block_scalar(&mut self, indent: usize) -> Option<()> {
        let mut content_indent = None;
        let mut at = self.at + 1;
        while let Some(line) = self.lines.get(at) {
            if line.text.is_empty() {
                at += 1;
                continue;
            }
            if line.indent <= indent {
                break;
            }
            if line.content().is_empty() {
                return None; // spaces only
            }
            match content_indent {
                None => content_indent = Some(line.indent),
                Some(c) if line.indent < c => return None,
                Some(_) => {}
            }
            at += 1;
        }
        content_indent?;
        self.at = at - 1;
        Some(())
    }
}
