//! `.sops.yaml`: the creation rules that say which age recipients (and which
//! encryption rule) a new SOPS file gets.
//!
//! Parsed with `saphyr` (spans give 1-based line numbers; YAML aliases are
//! resolved by the loader). saphyr does not expose anchor *names*, so
//! [`scan_anchors`] finds `&name value` definitions with a small line scanner.
use crate::error::{Error, Result};
use crate::path_glob::PathGlob;
use crate::path_regex::{PathRegex, PathRegexSet};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// A parsed `.sops.yaml`.
#[derive(Debug, Clone, Default)]
pub struct SopsConfig {
    /// `creation_rules`, in file order.
    pub rules: Vec<CreationRule>,
    /// Scalar anchors defined in the file: name, value, 1-based line.
    pub anchors: Vec<(String, String, usize)>,
}

/// Which creation rules match which paths ([`SopsConfig::matcher`]).
#[derive(Debug)]
pub struct RuleMatcher {
    set: PathRegexSet,
    /// Rule index of each pattern of `set`.
    pattern_rule: Vec<usize>,
    /// Rules without `path_regex`: they match every path.
    match_all: Vec<usize>,
}

impl RuleMatcher {
    /// The indices of the rules matching `rel_path`, in file order.
    pub fn matches(&self, rel_path: &str) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .set
            .matches(rel_path)
            .into_iter()
            .map(|p| self.pattern_rule[p])
            .collect();
        out.extend(&self.match_all);
        out.sort_unstable();
        out
    }

    /// The rule sops uses for `rel_path`: the first that matches.
    pub fn first(&self, rel_path: &str) -> Option<usize> {
        self.matches(rel_path).first().copied()
    }
}

/// One entry of `creation_rules`.
#[derive(Debug, Clone, Default)]
pub struct CreationRule {
    /// 1-based line of the rule's `- ` item.
    pub line: usize,
    /// `path_regex` and its line; `None` matches every path.
    pub path_regex: Option<(String, usize)>,
    /// age recipients with their lines (from `age:`, or from the single key group).
    pub age: Vec<(String, usize)>,
    /// Number of `key_groups` entries (0 if none). More than one is Shamir, unsupported.
    pub key_groups: usize,
    /// `shamir_threshold`, if set.
    pub shamir_threshold: Option<u64>,
    /// `encrypted_regex`.
    pub encrypted_regex: Option<String>,
    /// `unencrypted_regex`.
    pub unencrypted_regex: Option<String>,
    /// `encrypted_suffix`.
    pub encrypted_suffix: Option<String>,
    /// `unencrypted_suffix`.
    pub unencrypted_suffix: Option<String>,
    /// `encrypted_comment_regex` (comments are dropped by this implementation).
    pub encrypted_comment_regex: Option<String>,
    /// `unencrypted_comment_regex` (comments are dropped by this implementation).
    pub unencrypted_comment_regex: Option<String>,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
    /// Key types other than age the rule names (`pgp`, `kms`, …); this crate only does age.
    pub other_key_types: Vec<String>,
    /// `path_regex` with Go's RE2 semantics, as sops matches it.
    regex: Option<PathRegex>,
}

impl SopsConfig {
    /// Parses the text of a `.sops.yaml`. Errors carry 1-based line numbers.
    ///
    /// Several key groups are *not* an error here (so a checker can report
    /// them with the others); [`CreationRule::ensure_supported`] is.
    pub fn parse(text: &str) -> Result<SopsConfig> {
        // From the `&str` itself, not a `char` iterator (what `load_from_str` uses):
        // the same documents, spans and errors, read several times faster.
        let docs = MarkedYaml::load_from_parser(&mut saphyr_parser::Parser::new_from_str(text))
            .map_err(|e| Error::Syntax {
                line: e.marker().line(),
                message: e.info().to_string(),
            })?;
        let anchors = scan_anchors(text);
        let Some(doc) = docs.into_iter().next() else {
            return Ok(SopsConfig {
                rules: Vec::new(),
                anchors,
            });
        };
        let top = match &doc.data {
            YamlData::Mapping(m) => m,
            YamlData::Value(Scalar::Null) => {
                return Ok(SopsConfig {
                    rules: Vec::new(),
                    anchors,
                });
            }
            _ => {
                return Err(config_err(
                    &doc,
                    "the top level must be a mapping with `creation_rules`",
                ));
            }
        };
        let mut rules = Vec::new();
        for (k, v) in top {
            if scalar_str(k).as_deref() != Some("creation_rules") {
                continue;
            }
            let items = match &v.data {
                YamlData::Sequence(items) => items,
                YamlData::Value(Scalar::Null) => continue,
                _ => return Err(config_err(v, "`creation_rules` must be a list")),
            };
            for item in items {
                rules.push(parse_rule(item)?);
            }
        }
        Ok(SopsConfig { rules, anchors })
    }

    /// The first rule whose `path_regex` matches `rel_path` (relative to the
    /// config's directory, `/`-separated); a rule without `path_regex` matches all.
    pub fn rule_for(&self, rel_path: &str) -> Option<&CreationRule> {
        self.rules.iter().find(|r| r.matches(rel_path))
    }

    /// All rules matched against many paths at once, with [`CreationRule::matches`]'s answers.
    pub fn matcher(&self) -> RuleMatcher {
        let mut patterns = Vec::new();
        let mut pattern_rule = Vec::new();
        let mut match_all = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            match &rule.regex {
                Some(re) => {
                    patterns.push(re.clone());
                    pattern_rule.push(i);
                }
                None => match_all.push(i),
            }
        }
        RuleMatcher {
            set: PathRegexSet::new(patterns),
            pattern_rule,
            match_all,
        }
    }

    /// A recipient as people know it: the `.sops.yaml` anchor that holds it with
    /// the key shortened (`host_routy (age1qyqs…ja3cx)`), or the shortened key
    /// alone when no anchor names it.
    pub fn recipient_name(&self, recipient: &str) -> String {
        let recipient = recipient.trim();
        let short = short_key(recipient);
        match self
            .anchors
            .iter()
            .find(|(_, value, _)| value.trim() == recipient)
        {
            Some((name, _, _)) => format!("{name} ({short})"),
            None => short,
        }
    }
}

/// A key shortened for reading: its first 9 and last 6 characters (`age1` keys
/// are 62 long; the ends are what people compare).
pub fn short_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 20 {
        return key.to_owned();
    }
    let head: String = chars[..9].iter().collect();
    let tail: String = chars[chars.len() - 6..].iter().collect();
    format!("{head}…{tail}")
}

impl CreationRule {
    /// Whether this rule applies to `rel_path` (unanchored regex search, as sops does).
    pub fn matches(&self, rel_path: &str) -> bool {
        self.regex.as_ref().is_none_or(|re| re.is_match(rel_path))
    }

    /// `path_regex` as a [`PathGlob`], when it is only literals and `.*`.
    pub fn path_glob(&self) -> Option<&PathGlob> {
        self.regex.as_ref().and_then(PathRegex::glob)
    }

    /// The recipients as plain strings.
    pub fn recipients(&self) -> Vec<String> {
        self.age.iter().map(|(r, _)| r.clone()).collect()
    }

    /// Errors when this implementation cannot encrypt with the rule: several
    /// key groups (Shamir), or no age recipient.
    pub fn ensure_supported(&self) -> Result<()> {
        if self.key_groups > 1 {
            return Err(Error::ShamirUnsupported {
                line: self.line,
                groups: self.key_groups,
            });
        }
        if self.age.is_empty() {
            let other = if self.other_key_types.is_empty() {
                String::new()
            } else {
                format!(
                    " (it names {}, which this tool does not support)",
                    self.other_key_types.join(", ")
                )
            };
            return Err(Error::Config {
                line: self.line,
                message: format!("the creation rule has no age recipient{other}"),
            });
        }
        Ok(())
    }

    /// The encryption rule this creation rule asks for, as written into a file's metadata.
    pub fn crypt_rule(&self) -> crate::CryptRule {
        use crate::CryptRule;
        if let Some(r) = &self.encrypted_regex {
            CryptRule::EncryptedRegex(r.clone())
        } else if let Some(r) = &self.unencrypted_regex {
            CryptRule::UnencryptedRegex(r.clone())
        } else if let Some(s) = &self.encrypted_suffix {
            CryptRule::EncryptedSuffix(s.clone())
        } else if let Some(s) = &self.unencrypted_suffix {
            CryptRule::UnencryptedSuffix(s.clone())
        } else {
            CryptRule::default()
        }
    }
}

fn line_of(node: &MarkedYaml<'_>) -> usize {
    node.span.start.line()
}

fn config_err(node: &MarkedYaml<'_>, message: impl Into<String>) -> Error {
    Error::Config {
        line: line_of(node),
        message: message.into(),
    }
}

/// A scalar's text, whatever its resolved type.
fn scalar_str(node: &MarkedYaml<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(s) => Some(match s {
            Scalar::Null => return None,
            Scalar::Boolean(b) => b.to_string(),
            Scalar::Integer(i) => i.to_string(),
            Scalar::FloatingPoint(f) => f.to_string(),
            Scalar::String(s) => s.to_string(),
        }),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        YamlData::Tagged(_, inner) => scalar_str(inner),
        _ => None,
    }
}

fn string_field(key: &str, v: &MarkedYaml<'_>) -> Result<Option<String>> {
    match &v.data {
        YamlData::Value(Scalar::Null) => Ok(None),
        YamlData::Value(_) | YamlData::Representation(..) => Ok(scalar_str(v)),
        _ => Err(config_err(v, format!("`{key}` must be a string"))),
    }
}

/// `age:` as a comma-separated string or a list of strings.
fn recipients_field(key: &str, v: &MarkedYaml<'_>, out: &mut Vec<(String, usize)>) -> Result<()> {
    match &v.data {
        YamlData::Value(Scalar::Null) => {}
        YamlData::Sequence(items) => {
            for item in items {
                let Some(s) = string_field(key, item)? else {
                    continue;
                };
                for part in s.split(',') {
                    let part = part.trim();
                    if !part.is_empty() {
                        out.push((part.to_string(), line_of(item)));
                    }
                }
            }
        }
        _ => {
            let Some(s) = string_field(key, v)? else {
                return Ok(());
            };
            // A folded or multi-line scalar puts recipients on later lines; the
            // scalar's start line is the best line we have.
            for part in s.split(',') {
                let part = part.trim();
                if !part.is_empty() {
                    out.push((part.to_string(), line_of(v)));
                }
            }
        }
    }
    Ok(())
}

fn parse_rule(item: &MarkedYaml<'_>) -> Result<CreationRule> {
    let map = match &item.data {
        YamlData::Mapping(m) => m,
        _ => return Err(config_err(item, "each creation rule must be a mapping")),
    };
    let mut rule = CreationRule {
        line: line_of(item),
        ..CreationRule::default()
    };
    let mut groups: Vec<&MarkedYaml<'_>> = Vec::new();
    for (k, v) in map {
        let Some(key) = scalar_str(k) else { continue };
        match key.as_str() {
            "path_regex" => {
                if let Some(s) = string_field(&key, v)?
                    && !s.is_empty()
                {
                    rule.regex = Some(PathRegex::new(&s).map_err(|e| {
                        config_err(
                            v,
                            format!("`path_regex` is not a valid regular expression: {e}"),
                        )
                    })?);
                    rule.path_regex = Some((s, line_of(v)));
                }
            }
            "age" => recipients_field(&key, v, &mut rule.age)?,
            "key_groups" => match &v.data {
                YamlData::Sequence(items) => groups.extend(items.iter()),
                YamlData::Value(Scalar::Null) => {}
                _ => return Err(config_err(v, "`key_groups` must be a list")),
            },
            "shamir_threshold" => match &v.data {
                YamlData::Value(Scalar::Integer(i)) if *i >= 0 => {
                    rule.shamir_threshold = Some(*i as u64)
                }
                _ => {
                    return Err(config_err(
                        v,
                        "`shamir_threshold` must be a non-negative integer",
                    ));
                }
            },
            "encrypted_regex"
            | "unencrypted_regex"
            | "encrypted_comment_regex"
            | "unencrypted_comment_regex" => {
                let s = string_field(&key, v)?;
                if let Some(s) = &s {
                    validate_regex(s).map_err(|e| {
                        config_err(v, format!("`{key}` is not a valid regular expression: {e}"))
                    })?;
                }
                let s = s.filter(|s| !s.is_empty());
                match key.as_str() {
                    "encrypted_regex" => rule.encrypted_regex = s,
                    "unencrypted_regex" => rule.unencrypted_regex = s,
                    "encrypted_comment_regex" => rule.encrypted_comment_regex = s,
                    _ => rule.unencrypted_comment_regex = s,
                }
            }
            "encrypted_suffix" => {
                rule.encrypted_suffix = string_field(&key, v)?.filter(|s| !s.is_empty())
            }
            "unencrypted_suffix" => {
                rule.unencrypted_suffix = string_field(&key, v)?.filter(|s| !s.is_empty())
            }
            "mac_only_encrypted" => match &v.data {
                YamlData::Value(Scalar::Boolean(b)) => rule.mac_only_encrypted = *b,
                YamlData::Value(Scalar::Null) => {}
                _ => return Err(config_err(v, "`mac_only_encrypted` must be true or false")),
            },
            "pgp" | "kms" | "gcp_kms" | "hckms" | "azure_keyvault" | "hc_vault_transit_uri"
                if !matches!(v.data, YamlData::Value(Scalar::Null)) =>
            {
                rule.other_key_types.push(key.clone());
            }
            _ => {}
        }
    }
    let crypt_rules = [
        rule.encrypted_regex.is_some(),
        rule.unencrypted_regex.is_some(),
        rule.encrypted_suffix.is_some(),
        rule.unencrypted_suffix.is_some(),
        rule.encrypted_comment_regex.is_some(),
        rule.unencrypted_comment_regex.is_some(),
    ];
    if crypt_rules.iter().filter(|b| **b).count() > 1 {
        return Err(Error::Config {
            line: rule.line,
            message: "cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, \
                      unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex in one rule"
                .into(),
        });
    }
    rule.key_groups = groups.len();
    if groups.len() == 1 {
        let group = groups[0];
        let YamlData::Mapping(gm) = &group.data else {
            return Err(config_err(group, "a key group must be a mapping"));
        };
        for (k, v) in gm {
            match scalar_str(k).as_deref() {
                Some("age") => recipients_field("age", v, &mut rule.age)?,
                Some(other)
                    if other != "merge" && !matches!(v.data, YamlData::Value(Scalar::Null)) =>
                {
                    rule.other_key_types.push(other.to_string());
                }
                _ => {}
            }
        }
    }
    Ok(rule)
}

/// Checks that `pattern` is a regular expression `regex::Regex::new` accepts,
/// with the same error, without compiling it when that can be avoided (compiling
/// costs far more than parsing). Returns the compiled regex when it had to
/// compile it.
fn validate_regex(pattern: &str) -> std::result::Result<Option<regex::Regex>, String> {
    // `regex::Regex::new` parses with these same (default) settings and reports a
    // syntax error as this error's text.
    regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    // What parses can still exceed the compiled size limit, but only through a
    // counted repetition or a long pattern: those are compiled to be sure.
    if pattern.len() > 64 || pattern.contains('{') {
        return regex::Regex::new(pattern)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    Ok(None)
}

/// Finds scalar anchor definitions (`&name value`) in YAML text, with their
/// 1-based lines. A small scanner, not a YAML parser: it looks for `&` at
/// the start of a token, outside quotes and comments, followed by a name and
/// a plain or quoted scalar on the same line. Anchors on collections
/// (`&name` at the end of a line) are skipped.
pub fn scan_anchors(text: &str) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut i = 0;
        let mut quote: Option<u8> = None;
        while i < bytes.len() {
            let c = bytes[i];
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            let token_start = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'[' | b'{' | b',');
            if c == b'#' && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
                break;
            }
            if (c == b'"' || c == b'\'') && token_start {
                quote = Some(c);
                i += 1;
                continue;
            }
            if c == b'&' && token_start {
                let name_end = line[i + 1..]
                    .find(|ch: char| {
                        ch.is_whitespace() || matches!(ch, ',' | '[' | ']' | '{' | '}')
                    })
                    .map_or(line.len(), |n| i + 1 + n);
                let name = &line[i + 1..name_end];
                let rest = line[name_end..].trim_start();
                if !name.is_empty()
                    && let Some(value) = anchor_value(rest)
                {
                    out.push((name.to_string(), value, idx + 1));
                }
                i = name_end;
                continue;
            }
            i += 1;
        }
    }
    out
}

/// The scalar right after an anchor name, or `None` if there is none on the line.
fn anchor_value(rest: &str) -> Option<String> {
    let first = rest.chars().next()?;
    match first {
        '"' | '\'' => {
            let end = rest[1..].find(first)?;
            Some(rest[1..1 + end].to_string())
        }
        '#' | '[' | '{' | '|' | '>' => None,
        _ => {
            let end = rest.find(" #").unwrap_or(rest.len());
            let mut v = rest[..end].trim();
            // In a flow sequence the value ends at `,` or `]`.
            if let Some(p) = v.find([',', ']', '}']) {
                v = v[..p].trim();
            }
            if v.is_empty() {
                None
            } else {
                Some(v.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "\
keys:
  - &demo age1abc
  - &host_routy 'age1def' # routy
creation_rules:
  - path_regex: kubernetes/.*\\.sops\\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: *demo
  - path_regex: secrets/routy/.*\\.yaml$
    age: >-
      age1abc,
      age1def
  - path_regex: lists/
    age:
      - *demo
      - *host_routy
  - path_regex: groups/
    key_groups:
      - age: [ *demo ]
  - path_regex: shamir/
    key_groups:
      - age: [ *demo ]
      - age: [ *host_routy ]
";

    #[test]
    fn parses_rules_anchors_and_aliases() {
        let c = SopsConfig::parse(CONF).unwrap();
        assert_eq!(
            c.anchors,
            vec![
                ("demo".to_string(), "age1abc".to_string(), 2),
                ("host_routy".to_string(), "age1def".to_string(), 3)
            ]
        );
        assert_eq!(c.rules.len(), 5);
        let r0 = &c.rules[0];
        assert_eq!(r0.line, 5);
        assert_eq!(r0.age, vec![("age1abc".to_string(), 7)]);
        assert_eq!(r0.encrypted_regex.as_deref(), Some("^(data|stringData)$"));
        assert_eq!(c.rules[1].recipients(), vec!["age1abc", "age1def"]);
        assert_eq!(
            c.rules[2].age,
            vec![("age1abc".to_string(), 14), ("age1def".to_string(), 15)]
        );
        assert_eq!(c.rules[3].key_groups, 1);
        assert_eq!(c.rules[3].recipients(), vec!["age1abc"]);
        assert!(c.rules[3].ensure_supported().is_ok());
        assert!(matches!(
            c.rules[4].ensure_supported(),
            Err(Error::ShamirUnsupported { groups: 2, .. })
        ));
        assert_eq!(
            c.rule_for("kubernetes/base/x/secrets.sops.yaml")
                .unwrap()
                .line,
            5
        );
        assert_eq!(c.rule_for("secrets/routy/tailscale.yaml").unwrap().line, 8);
        assert!(c.rule_for("elsewhere.yaml").is_none());
    }

    #[test]
    fn regex_errors_are_regex_new_errors() {
        for pattern in [
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
        ] {
            let want = regex::Regex::new(pattern).err().map(|e| e.to_string());
            let got = validate_regex(pattern).err();
            assert_eq!(got, want, "{pattern}");
        }
    }

    #[test]
    fn errors_have_lines() {
        let e = SopsConfig::parse("creation_rules:\n  - path_regex: '('\n").unwrap_err();
        assert!(matches!(e, Error::Config { line: 2, .. }), "{e:?}");
        let e = SopsConfig::parse("creation_rules:\n  - a: [\n").unwrap_err();
        assert!(matches!(e, Error::Syntax { .. }), "{e:?}");
        let e = SopsConfig::parse("creation_rules: 3\n").unwrap_err();
        assert!(matches!(e, Error::Config { line: 1, .. }), "{e:?}");
    }

    #[test]
    fn empty_path_regex_matches_all() {
        let c = SopsConfig::parse("creation_rules:\n  - age: age1x\n").unwrap();
        assert!(c.rule_for("anything").is_some());
    }
}
