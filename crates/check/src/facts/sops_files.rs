//! SOPS-encrypted files: their recipients, read from the metadata by a line scan.
use super::{Loc, Located};

/// A SOPS-encrypted file and its recipients (read from its metadata, not decrypted).
#[derive(Debug, Clone)]
pub struct SopsFile {
    /// Repository-relative path.
    pub path: String,
    /// `sops.age[].recipient`, with locations, of every document.
    pub recipients: Vec<Located>,
    /// The `sops` metadata key (of the first document).
    pub loc: Loc,
    /// Each YAML document's own metadata, in order (one entry for a
    /// single-document file): documents are judged one by one.
    pub documents: Vec<SopsDocument>,
}

/// The `sops` metadata of one document of a SOPS file.
#[derive(Debug, Clone)]
pub struct SopsDocument {
    /// `sops.age[].recipient`, with locations.
    pub recipients: Vec<Located>,
    /// The document's `sops` metadata key.
    pub loc: Loc,
}

/// A SOPS file's recipients, by a line scan of its metadata (YAML or JSON): no
/// YAML parse, so thousands of files stay fast. `None` when `text` has no SOPS metadata.
/// A YAML file of several documents (`---` lines) is scanned document by document.
pub fn scan_sops_file(path: &str, text: &str) -> Option<SopsFile> {
    let mut documents = Vec::new();
    if path.ends_with(".json") {
        documents.extend(scan_sops_document(path, text, 0));
    } else {
        for (start, end) in yaml_documents(text) {
            documents.extend(scan_sops_document(path, &text[..end], start));
        }
    }
    let first = documents.first()?;
    Some(SopsFile {
        path: path.to_owned(),
        recipients: documents
            .iter()
            .flat_map(|d| d.recipients.iter().cloned())
            .collect(),
        loc: first.loc.clone(),
        documents,
    })
}

/// Byte ranges of the YAML documents of `text`, split at `---` lines (a
/// document start marker, alone or followed by a space or comment).
fn yaml_documents(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for pos in memchr::memmem::find_iter(text.as_bytes(), b"---") {
        if pos != 0 && text.as_bytes()[pos - 1] != b'\n' {
            continue;
        }
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

/// The `sops` metadata of the document of `text` that starts at `from`.
fn scan_sops_document(path: &str, text: &str, from: usize) -> Option<SopsDocument> {
    use memchr::memmem;
    let doc = &text[from..];
    let (meta_start, meta_end) = if let Some(pos) = find_line_start(doc, "sops:") {
        (from + pos, from + pos + "sops:".len())
    } else if path.ends_with(".json") {
        let pos = memmem::find(doc.as_bytes(), b"\"sops\":")?;
        (from + pos, from + pos + "\"sops\"".len())
    } else {
        return None;
    };
    let meta = &text[meta_start..];
    let has = |needle: &str| memmem::find(meta.as_bytes(), needle.as_bytes()).is_some();
    if !(has("mac") && (has("lastmodified") || has("version"))) {
        return None;
    }
    let mut recipients = Vec::new();
    // Only lines holding `recipient` can hold one: visit those, each once, in order.
    let mut next_line = 0;
    for hit in memmem::find_iter(meta.as_bytes(), b"recipient") {
        if hit < next_line {
            continue;
        }
        let line_start = meta[..hit].rfind('\n').map_or(0, |n| n + 1);
        let line_end =
            memchr::memchr(b'\n', &meta.as_bytes()[hit..]).map_or(meta.len(), |n| hit + n + 1);
        next_line = line_end;
        let line = &meta[line_start..line_end];
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        let rest = trimmed
            .strip_prefix("recipient:")
            .or_else(|| trimmed.strip_prefix("\"recipient\":"))
            .map(str::trim);
        if let Some(rest) = rest {
            let value = rest
                .trim_end_matches(',')
                .trim()
                .trim_matches(|c| c == '"' || c == '\'');
            if !value.is_empty() {
                let start = meta_start + line_start + line.find(value).unwrap_or(0);
                recipients.push(Located {
                    value: value.to_owned(),
                    loc: Loc {
                        path: path.to_owned(),
                        start,
                        end: start + value.len(),
                    },
                });
            }
        }
    }
    Some(SopsDocument {
        recipients,
        loc: Loc {
            path: path.to_owned(),
            start: meta_start,
            end: meta_end,
        },
    })
}

/// Byte offset of a line that starts with `prefix` and has nothing else but
/// whitespace or a comment after it.
fn find_line_start(text: &str, prefix: &str) -> Option<usize> {
    for pos in memchr::memmem::find_iter(text.as_bytes(), prefix.as_bytes()) {
        if pos != 0 && text.as_bytes()[pos - 1] != b'\n' {
            continue;
        }
        let after = pos + prefix.len();
        let end =
            memchr::memchr(b'\n', &text.as_bytes()[after..]).map_or(text.len(), |n| after + n + 1);
        let rest = text[after..end].trim();
        if rest.is_empty() || rest.starts_with('#') {
            return Some(pos);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sops_file_recipients_with_locations() {
        let text = "a: ENC[x]\nsops:\n    age:\n        - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqq\n          enc: |\n    mac: ENC[y]\n    lastmodified: \"2025-01-01T00:00:00Z\"\n";
        let f = scan_sops_file("s.yaml", text).unwrap();
        assert_eq!(f.recipients.len(), 1);
        let r = &f.recipients[0];
        assert_eq!(
            &text[r.loc.start..r.loc.end],
            "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
        );
        assert!(scan_sops_file("p.yaml", "a: 1\n").is_none());
    }
}
