//! The regular expressions of sops as sops reads them: Go's `regexp` (RE2
//! syntax). One translation for every pattern sops matches — a creation rule's
//! `path_regex` (`check`, `secrets seal`, `updatekeys`) and the encryption rule's
//! `encrypted_regex`/`unencrypted_regex` on mapping keys (sealing, decrypting,
//! the MAC).
//!
//! Go's RE2 and Rust's `regex` agree on nearly everything once Rust runs in
//! Unicode mode (`.` is one Unicode scalar, `(?i)` is Unicode simple case
//! folding, `\pL` is Unicode), except that RE2's Perl classes and word boundary
//! are ASCII: `\d` is `[0-9]`, `\w` is `[0-9A-Za-z_]`, `\s` is `[\t\n\f\r ]`
//! (no `\v`), `\b` is an ASCII word boundary. [`to_rust`] rewrites exactly
//! those, so one compiled regex (or one `RegexSet` over many) answers as sops does.

use crate::path_glob::PathGlob;

/// The Rust `regex` pattern that matches what Go's `regexp` matches for the
/// RE2 `pattern`. Errors with the parser's message when `pattern` is invalid.
pub fn to_rust(pattern: &str) -> Result<String, String> {
    use regex_syntax::ast::{self, Ast, ClassPerlKind, ClassSetItem};
    // The original is parsed once and translated as `regex::Regex::new` would
    // (the same steps, defaults and error texts as `regex_syntax::Parser`), so
    // an error names the user's own text.
    let parsed = ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    regex_syntax::hir::translate::Translator::new()
        .translate(pattern, &parsed)
        .map_err(|e| e.to_string())?;

    /// Byte ranges of `pattern` to replace, with their replacement.
    struct Edits(Vec<(usize, usize, &'static str)>);
    fn perl(class: &ast::ClassPerl) -> &'static str {
        // Nested classes are valid inside a bracket too (`[a[0-9]]`), so one
        // replacement serves both places.
        match (&class.kind, class.negated) {
            (ClassPerlKind::Digit, false) => "[0-9]",
            (ClassPerlKind::Digit, true) => "[^0-9]",
            (ClassPerlKind::Word, false) => "[0-9A-Za-z_]",
            (ClassPerlKind::Word, true) => "[^0-9A-Za-z_]",
            (ClassPerlKind::Space, false) => r"[\t\n\x0C\r ]",
            (ClassPerlKind::Space, true) => r"[^\t\n\x0C\r ]",
        }
    }
    impl ast::Visitor for &mut Edits {
        type Output = ();
        type Err = ();
        fn finish(self) -> Result<(), ()> {
            Ok(())
        }
        fn visit_pre(&mut self, node: &Ast) -> Result<(), ()> {
            match node {
                Ast::ClassPerl(class) => {
                    self.0
                        .push((class.span.start.offset, class.span.end.offset, perl(class)))
                }
                Ast::Assertion(a) => {
                    let to = match a.kind {
                        ast::AssertionKind::WordBoundary => r"(?-u:\b)",
                        ast::AssertionKind::NotWordBoundary => r"(?-u:\B)",
                        _ => return Ok(()),
                    };
                    self.0.push((a.span.start.offset, a.span.end.offset, to));
                }
                _ => {}
            }
            Ok(())
        }
        fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), ()> {
            if let ClassSetItem::Perl(class) = item {
                self.0
                    .push((class.span.start.offset, class.span.end.offset, perl(class)));
            }
            Ok(())
        }
    }
    let mut edits = Edits(Vec::new());
    // The visitor itself never fails.
    let _ = ast::visit(&parsed, &mut edits);
    edits.0.sort_unstable_by_key(|e| e.0);
    let mut out = String::with_capacity(pattern.len() + 16 * edits.0.len());
    let mut at = 0;
    for (start, end, to) in edits.0 {
        out.push_str(&pattern[at..start]);
        out.push_str(to);
        at = end;
    }
    out.push_str(&pattern[at..]);
    Ok(out)
}

/// A compiled RE2 pattern of sops (`path_regex`, `encrypted_regex`,
/// `unencrypted_regex`), answering as Go's `regexp` does.
#[derive(Debug, Clone)]
pub struct Re2 {
    /// The pattern as written in `.sops.yaml` (or in a file's metadata).
    source: String,
    /// [`to_rust`] of it.
    rust: String,
    /// Literals and `.*` only: matched without a regex engine.
    glob: Option<PathGlob>,
    /// Compiled on first use (most runs only check it is valid).
    compiled: std::sync::OnceLock<Option<regex::Regex>>,
}

impl Re2 {
    /// Checks and prepares `pattern`; errors with the reason it is invalid.
    pub fn new(pattern: &str) -> Result<Re2, String> {
        let rust = to_rust(pattern)?;
        let compiled = std::sync::OnceLock::new();
        // What parses can still exceed the compiled size limit, but only through a
        // counted repetition or a long pattern: those are compiled to be sure.
        if rust.len() > 64 || rust.contains('{') {
            let re = regex::Regex::new(&rust).map_err(|e| e.to_string())?;
            let _ = compiled.set(Some(re));
        }
        Ok(Re2 {
            source: pattern.to_owned(),
            glob: PathGlob::parse(&rust),
            rust,
            compiled,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The pattern as a [`PathGlob`], when it is only literals and `.*`.
    pub fn glob(&self) -> Option<&PathGlob> {
        self.glob.as_ref()
    }

    /// Whether Go's unanchored search finds `path` (a path, or a mapping key).
    pub fn is_match(&self, path: &str) -> bool {
        if let Some(glob) = &self.glob
            && !path.contains('\n')
        {
            return glob.is_match(path.as_bytes());
        }
        self.compiled
            .get_or_init(|| regex::Regex::new(&self.rust).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(path))
    }
}

/// Which of many patterns match a path, all at once (one regex set: 500 rules
/// and thousands of files stay fast), with the same answers as
/// [`Re2::is_match`] one by one.
#[derive(Debug)]
pub struct PathRegexSet {
    /// Every pattern is a [`PathGlob`] (then `set` is only built for a path with
    /// a line break).
    all_globs: bool,
    patterns: Vec<Re2>,
    set: std::sync::OnceLock<Option<regex::RegexSet>>,
}

impl PathRegexSet {
    /// The set of `patterns`, in order.
    pub fn new(patterns: Vec<Re2>) -> PathRegexSet {
        let all_globs = patterns.iter().all(|p| p.glob.is_some());
        let set = PathRegexSet {
            all_globs,
            patterns,
            set: std::sync::OnceLock::new(),
        };
        if !set.all_globs {
            set.set();
        }
        set
    }

    fn set(&self) -> Option<&regex::RegexSet> {
        self.set
            .get_or_init(|| {
                regex::RegexSetBuilder::new(self.patterns.iter().map(|p| p.rust.as_str()))
                    .size_limit(64 << 20)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// The indices of the patterns matching `path`, ascending.
    pub fn matches(&self, path: &str) -> Vec<usize> {
        if (!self.all_globs || path.contains('\n'))
            && let Some(set) = self.set()
        {
            return set.matches(path).iter().collect();
        }
        // All globs, or a set too large to build: pattern by pattern.
        (0..self.patterns.len())
            .filter(|&i| self.patterns[i].is_match(path))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests;
