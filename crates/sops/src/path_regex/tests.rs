//! `path_regex` answers as Go's `regexp` gives them. Each expected answer is
//! read off RE2's syntax documentation, which Go's `regexp/syntax` follows
//! (https://github.com/google/re2/wiki/Syntax and
//! https://pkg.go.dev/regexp/syntax); the line relied on is quoted per group.
//! The cases are ours.
use super::*;

/// (pattern, path, whether Go's unanchored search finds it).
const RE2_CASES: &[(&str, &str, bool)] = &[
    // "`.` any character, possibly including newline (s=true)": a character is
    // a rune (a Unicode scalar), not a byte.
    (r"^secrets/.\.yaml$", "secrets/ü.yaml", true),
    (r"^secrets/.\.yaml$", "secrets/日.yaml", true),
    (r"^secrets/..\.yaml$", "secrets/ü.yaml", false),
    // A combining sequence is two runes.
    (r"^secrets/.\.yaml$", "secrets/u\u{308}.yaml", false),
    (r"^secrets/..\.yaml$", "secrets/u\u{308}.yaml", true),
    (r"^.$", "\n", false),
    (r"(?s)^.$", "\n", true),
    // "`[^a-z]` negated character class": also one rune.
    (r"^secrets/[^a]\.yaml$", "secrets/ü.yaml", true),
    // "`\d` digits (== `[0-9]`)": ASCII only.
    (r"^\d$", "7", true),
    (r"^\d$", "٣", false),
    (r"^\d$", "５", false),
    (r"^\D$", "٣", true),
    // "`\w` word characters (== `[0-9A-Za-z_]`)": ASCII only.
    (r"^\w+\.yaml$", "abc_1.yaml", true),
    (r"^secrets/\w+\.yaml$", "secrets/ü.yaml", false),
    (r"^secrets/\W\.yaml$", "secrets/ü.yaml", true),
    // Perl classes inside a bracket keep their meaning.
    (r"^[\w.]+$", "a.yaml", true),
    (r"^[\w.]+$", "ü.yaml", false),
    (r"^[^\d]$", "٣", true),
    // "`\s` whitespace (== `[\t\n\f\r ]`)": no vertical tab, no Unicode spaces.
    (r"^a\sb$", "a b", true),
    (r"^a\sb$", "a\tb", true),
    (r"^a\sb$", "a\u{b}b", false),
    (r"^a\sb$", "a\u{a0}b", false),
    (r"^a\Sb$", "a\u{a0}b", true),
    // "`\b` at ASCII word boundary (`\w` on one side and `\W`, `\A`, or `\z` on
    // the other)": `ü` is not a word character there.
    (r"^secrets/a\b", "secrets/aü.yaml", true),
    (r"\bü", "aü", true),
    (r"^secrets/a\B", "secrets/aü.yaml", false),
    (r"\bprod\b", "secrets/prod.yaml", true),
    (r"\bprod\b", "secrets/production.yaml", false),
    // "`[[:alpha:]]` alphabetic (== `[A-Za-z]`)": ASCII classes are ASCII.
    (r"^[[:alpha:]]$", "ü", false),
    (r"^[[:word:]]$", "_", true),
    // "`\pN` Unicode character class (one-letter name)", "`\p{Greek}`": Unicode.
    (r"^\pL$", "ü", true),
    (r"^\p{Greek}$", "λ", true),
    (r"^\p{Greek}$", "l", false),
    // "`(?i)` case-insensitive": Unicode simple case folding.
    (r"(?i)^secrets/Ü\.yaml$", "secrets/ü.yaml", true),
    (r"(?i)^k$", "\u{212A}", true),
    (r"^K$", "k", false),
    // "`\x{10FFFF}` hex character code": a code point, not a byte.
    (r"^secrets/\x{FC}\.yaml$", "secrets/ü.yaml", true),
    (r"^secrets/\xFC\.yaml$", "secrets/ü.yaml", true),
    // "`$` at end of text (like `\z` not `\Z`) or line (m=true)".
    (r"\.yaml$", "a.yaml\n", false),
    (r"(?m)\.yaml$", "a.yaml\nb", true),
    // "`^` at beginning of text or line (m=true)"; the search is unanchored.
    (r"secrets/", "x/secrets/y", true),
    (r"^secrets/", "x/secrets/y", false),
    // Literals and `.*` only (matched without a regex engine) agree too.
    (r"^secrets/.*\.yaml$", "secrets/ü/日.yaml", true),
    (r"^secrets/ü.*$", "secrets/ü.yaml", true),
    (r"^secrets/ü.*$", "secrets/u.yaml", false),
];

#[test]
fn answers_as_go_regexp_does() {
    let compiled: Vec<Re2> = RE2_CASES
        .iter()
        .map(|(p, _, _)| Re2::new(p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .collect();
    let set = PathRegexSet::new(compiled.clone());
    for (i, ((pattern, path, want), re)) in RE2_CASES.iter().zip(&compiled).enumerate() {
        assert_eq!(re.is_match(path), *want, "`{pattern}` on {path:?}");
        assert_eq!(
            set.matches(path).contains(&i),
            *want,
            "set: `{pattern}` on {path:?}"
        );
        // Also through the regex engine when the glob fast path took it.
        let engine = regex::Regex::new(&to_rust(pattern).unwrap()).unwrap();
        assert_eq!(
            engine.is_match(path),
            *want,
            "engine: `{pattern}` on {path:?}"
        );
    }
}

#[test]
fn creation_rules_use_the_same_matcher() {
    let conf = crate::config::SopsConfig::parse(
        "creation_rules:\n  - path_regex: ^secrets/\\w\\.yaml$\n    age: age1a\n  - path_regex: ^secrets/.\\.yaml$\n    age: age1b\n",
    )
    .unwrap();
    let rule = conf.rule_for("secrets/ü.yaml").unwrap();
    assert_eq!(rule.recipients(), vec!["age1b"]);
    assert_eq!(conf.matcher().matches("secrets/ü.yaml"), vec![1]);
    assert_eq!(conf.matcher().matches("secrets/a.yaml"), vec![0, 1]);
}

#[test]
fn invalid_patterns_name_the_original_text() {
    let e = Re2::new(r"\w(").unwrap_err();
    assert!(e.contains(r"\w("), "{e}");
}

/// Patterns `regex::Regex::new` refuses (each error kind) or accepts at the edge:
/// the translation must give its very answer, wherever a pattern is read.
pub(crate) const ERROR_CASES: &[&str] = &[
    "(",
    "a)",
    "[z-a]",
    "\\q",
    "(?<n>a)(?<n>b)",
    "\\p{Nope}",
    "a{2,1}",
    "\\w{1000}{1000}",
    "(?-u)\\xFF",
    "x*",
    "^a.*\\.yaml$",
    "(?i)[[:word:]]",
];

#[test]
fn errors_are_those_of_regex_new() {
    for pattern in ERROR_CASES {
        let want = regex::Regex::new(pattern).err().map(|e| e.to_string());
        assert_eq!(Re2::new(pattern).err(), want, "{pattern}");
    }
}
