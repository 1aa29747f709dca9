//! `path_regex` patterns that are only literals and `.*` (`^kubernetes/.*\.sops\.yaml$`,
//! as nearly all are), matched without a regex engine: compiling a regex costs far
//! more than a few `memmem` searches, and a checker matches every file of a
//! repository against every creation rule.

/// A `path_regex` that is literals joined by `.*`, maybe anchored (`^a/.*\.yaml$`),
/// as most are: matched without a regex engine. On a path without a line break
/// (`.` matches any other byte), the same answer as the pattern's search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathGlob {
    start: bool,
    end: bool,
    /// The literals, in order; `.*` between each two (and at an open end).
    literals: Vec<Vec<u8>>,
    /// Whether a `.*` is at the start, and at the end.
    any_first: bool,
    any_last: bool,
}

impl PathGlob {
    /// The glob of `pattern`, when it is one.
    pub fn parse(pattern: &str) -> Option<PathGlob> {
        use regex_syntax::hir::{Class, HirKind, Look};
        // Unicode mode, as [`crate::path_regex`] compiles it: a literal is its
        // UTF-8 bytes (`\x{FC}` is `ü`, not the byte 0xFC).
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let items: Vec<&regex_syntax::hir::Hir> = match hir.kind() {
            HirKind::Concat(items) => items.iter().collect(),
            _ => vec![&hir],
        };
        let mut glob = PathGlob {
            start: false,
            end: false,
            literals: Vec::new(),
            any_first: false,
            any_last: false,
        };
        // 0: before anything, 1: after a literal, 2: after `.*`.
        let mut last = 0;
        for (i, item) in items.iter().enumerate() {
            match item.kind() {
                HirKind::Look(Look::Start) if i == 0 => glob.start = true,
                HirKind::Look(Look::End) if i == items.len() - 1 => glob.end = true,
                HirKind::Literal(lit) if last != 1 => {
                    glob.literals.push(lit.0.to_vec());
                    last = 1;
                }
                HirKind::Repetition(rep)
                    if rep.min == 0
                        && rep.max.is_none()
                        && last != 2
                        // `.`: every scalar but `\n`, i.e. on valid UTF-8 every byte but `\n`.
                        && matches!(rep.sub.kind(), HirKind::Class(Class::Unicode(c))
                            if c.ranges().len() == 2
                                && (c.ranges()[0].start(), c.ranges()[0].end()) == ('\0', '\t')
                                && (c.ranges()[1].start(), c.ranges()[1].end()) == ('\x0B', char::MAX)) =>
                {
                    if last == 0 {
                        glob.any_first = true;
                    }
                    last = 2;
                }
                _ => return None,
            }
        }
        glob.any_last = last == 2;
        if glob.literals.is_empty() {
            return None;
        }
        Some(glob)
    }

    /// Whether the pattern's (unanchored) search finds `path`, for a path
    /// without a line break.
    pub fn is_match(&self, path: &[u8]) -> bool {
        let n = self.literals.len();
        let mut at = 0;
        for (i, lit) in self.literals.iter().enumerate() {
            let pinned_start = i == 0 && self.start && !self.any_first;
            let pinned_end = i == n - 1 && self.end && !self.any_last;
            if pinned_end {
                let Some(from) = path.len().checked_sub(lit.len()) else {
                    return false;
                };
                return from >= at && path.ends_with(lit) && (!pinned_start || from == 0);
            }
            if pinned_start {
                if !path.starts_with(lit) {
                    return false;
                }
                at = lit.len();
                continue;
            }
            match memchr::memmem::find(&path[at..], lit) {
                Some(p) => at += p + lit.len(),
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_the_regexes_do() {
        let patterns = [
            r"^kubernetes/.*\.sops\.yaml$",
            r"^secrets/routy/.*\.yaml$",
            r"secrets/",
            r"\.yaml$",
            r"^a$",
            r"^.*b.*c",
            r"a.*?b.*$",
            r"^x",
            r"(?i)^a",
            r"^(a|b)",
        ];
        let paths = [
            "kubernetes/a/s.sops.yaml",
            "kubernetes/.sops.yaml",
            "xkubernetes/a.sops.yaml",
            "secrets/routy/t.yaml",
            "secrets/routy/.yaml",
            "secrets/routy/t.yaml.bak",
            "a",
            "ab",
            "ba",
            "abc",
            "cba",
            "kubernetes/ü/s.sops.yaml",
            "x/secrets/y",
            "",
        ];
        for pattern in patterns {
            let re = regex::Regex::new(pattern).unwrap();
            let Some(glob) = PathGlob::parse(pattern) else {
                assert!(pattern.contains('('), "{pattern}");
                continue;
            };
            for path in paths {
                assert_eq!(
                    glob.is_match(path.as_bytes()),
                    re.is_match(path),
                    "{pattern} on {path}"
                );
            }
        }
    }
}
