//! SOPS-encrypted files: their recipients, read from the metadata by the sops
//! crate's detector.
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

/// A SOPS file's documents and recipients, located: what
/// [`avalanche_sops::scan::scan`] (the one detector, a line scan behind it)
/// finds. `None` when `text` has no SOPS metadata.
pub fn scan_sops_file(path: &str, text: &str) -> Option<SopsFile> {
    let loc = |range: std::ops::Range<usize>| Loc {
        path: path.to_owned(),
        start: range.start,
        end: range.end,
    };
    let documents: Vec<SopsDocument> = avalanche_sops::scan::scan(text)?
        .into_iter()
        .map(|doc| SopsDocument {
            recipients: doc
                .recipients
                .into_iter()
                .map(|(value, at)| Located {
                    value,
                    loc: loc(at),
                })
                .collect(),
            loc: loc(doc.key),
        })
        .collect();
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
