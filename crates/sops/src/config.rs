//! `.sops.yaml`: the creation rules that say which age recipients (and which
//! encryption rule) a new SOPS file gets.
//!
//! The one reader of `.sops.yaml` (`check` and `secrets` both use
//! [`SopsConfig::parse`]): parsed with `saphyr`, every value it reports carries
//! its line and byte range, so no caller searches the text again. YAML aliases
//! are resolved by the loader; anchor names, which the loader does not keep,
//! are read from the parser's own events (an anchored scalar's span starts at
//! its `&name`), not by a second scanner.
use crate::error::{Error, Result};
use crate::path_glob::PathGlob;
use crate::path_regex::{PathRegexSet, Re2};
use saphyr::{MarkedYaml, Scalar, YamlData, YamlLoader};
use saphyr_parser::{Event, Marker, Span, SpannedEventReceiver};
use std::ops::Range;

/// A parsed `.sops.yaml`.
#[derive(Debug, Clone, Default)]
pub struct SopsConfig {
    /// `creation_rules`, in file order.
    pub rules: Vec<CreationRule>,
    /// Scalar anchors defined in the file (`&name value`), in file order.
    pub anchors: Vec<Anchor>,
    /// Every age recipient written literally in a scalar of the file (in
    /// `keys:`, a rule, anywhere; comments are not scalars), in file order.
    pub literal_keys: Vec<Spanned>,
}

/// A value of `.sops.yaml` and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned {
    /// The value.
    pub value: String,
    /// 1-based line where it starts.
    pub line: usize,
    /// Its bytes in the text (for an alias use, the `*name`).
    pub span: Range<usize>,
}

/// A scalar anchor definition, `&name value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The anchor's name (without `&`).
    pub name: String,
    /// The scalar it names.
    pub value: String,
    /// 1-based line of the `&name`.
    pub line: usize,
    /// The bytes of `&name`.
    pub span: Range<usize>,
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
    /// The rule's first line, trimmed (from its `- `): where a finding about
    /// the whole rule points.
    pub item: Range<usize>,
    /// `path_regex`; `None` matches every path.
    pub path_regex: Option<Spanned>,
    /// age recipients (from `age:`, or from the single key group), each where
    /// it is written: the key inside its scalar, or the alias (`*host_x`) used.
    pub age: Vec<Spanned>,
    /// Number of `key_groups` entries (0 if none). More than one is Shamir, unsupported.
    pub key_groups: usize,
    /// The `key_groups` key, when there is one.
    pub key_groups_key: Option<Range<usize>>,
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
    regex: Option<Re2>,
}

impl SopsConfig {
    /// Parses the text of a `.sops.yaml`. Errors carry 1-based line numbers.
    ///
    /// Several key groups are *not* an error here (so a checker can report
    /// them with the others); [`CreationRule::ensure_supported`] is.
    pub fn parse(text: &str) -> Result<SopsConfig> {
        // From the `&str` itself, not a `char` iterator (what `load_from_str` uses):
        // the same documents, spans and errors, read several times faster.
        let mut reader = Reader {
            loader: YamlLoader::default(),
            anchored: Vec::new(),
            keyish: Vec::new(),
        };
        let syntax = |e: &saphyr::ScanError| Error::Syntax {
            line: e.marker().line(),
            message: e.info().to_string(),
        };
        saphyr_parser::Parser::new_from_str(text)
            .load(&mut reader, true)
            .map_err(|e| syntax(&e))?;
        if let Some(e) = reader.loader.error() {
            return Err(syntax(e));
        }
        let at = Offsets::new(text);
        let anchors = reader
            .anchored
            .iter()
            .filter_map(|(span, value)| {
                let from = at.byte(span.start);
                let (offset, name) = anchor_name(&text[from..])?;
                let start = from + offset;
                Some(Anchor {
                    name: name.to_owned(),
                    value: value.clone(),
                    line: at.line_of(start),
                    span: start..start + 1 + name.len(),
                })
            })
            .collect();
        let literal_keys = reader
            .keyish
            .iter()
            .flat_map(|span| {
                let range = at.range(span);
                let from = range.start + value_start(&text[range.clone()]);
                age_keys(&text[from..range.end.max(from)]).map(move |(s, e)| from + s..from + e)
            })
            .map(|span| Spanned {
                value: text[span.clone()].to_owned(),
                line: at.line_of(span.start),
                span,
            })
            .collect();
        let mut config = SopsConfig {
            rules: Vec::new(),
            anchors,
            literal_keys,
        };
        let Some(doc) = reader.loader.into_documents().into_iter().next() else {
            return Ok(config);
        };
        let top = match &doc.data {
            YamlData::Mapping(m) => m,
            YamlData::Value(Scalar::Null) => return Ok(config),
            _ => {
                return Err(config_err(
                    &doc,
                    "the top level must be a mapping with `creation_rules`",
                ));
            }
        };
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
                config.rules.push(parse_rule(item, text, &at)?);
            }
        }
        Ok(config)
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
        match self.anchors.iter().find(|a| a.value.trim() == recipient) {
            Some(a) => format!("{} ({short})", a.name),
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
        self.regex.as_ref().and_then(Re2::glob)
    }

    /// The recipients as plain strings.
    pub fn recipients(&self) -> Vec<String> {
        self.age.iter().map(|r| r.value.clone()).collect()
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

/// `age:` as a comma-separated string or a list of strings, each recipient
/// located inside its scalar (or at the alias that stands for it).
fn recipients_field(
    key: &str,
    v: &MarkedYaml<'_>,
    text: &str,
    at: &Offsets<'_>,
    out: &mut Vec<Spanned>,
) -> Result<()> {
    let mut scalar = |node: &MarkedYaml<'_>| -> Result<()> {
        let Some(s) = string_field(key, node)? else {
            return Ok(());
        };
        let range = at.range(&node.span);
        let source = &text[range.clone()];
        let alias = source.starts_with('*');
        let mut cursor = range.start + value_start(source);
        for part in s.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            // Each part is written in the scalar's text, after the previous one
            // (a folded scalar puts them on later lines); an alias stands for all.
            let span = match memchr::memmem::find(
                &text.as_bytes()[cursor..range.end.max(cursor)],
                part.as_bytes(),
            ) {
                Some(p) if !alias => cursor + p..cursor + p + part.len(),
                _ => range.clone(),
            };
            cursor = span.end.max(cursor);
            out.push(Spanned {
                value: part.to_owned(),
                line: at.line_of(span.start),
                span,
            });
        }
        Ok(())
    };
    match &v.data {
        YamlData::Value(Scalar::Null) => {}
        YamlData::Sequence(items) => {
            for item in items {
                scalar(item)?;
            }
        }
        _ => scalar(v)?,
    }
    Ok(())
}

fn parse_rule(item: &MarkedYaml<'_>, text: &str, at: &Offsets<'_>) -> Result<CreationRule> {
    let map = match &item.data {
        YamlData::Mapping(m) => m,
        _ => return Err(config_err(item, "each creation rule must be a mapping")),
    };
    let mut rule = CreationRule {
        line: line_of(item),
        item: at.trimmed_line(line_of(item)),
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
                    rule.regex = Some(Re2::new(&s).map_err(|e| {
                        config_err(
                            v,
                            format!("`path_regex` is not a valid regular expression: {e}"),
                        )
                    })?);
                    let span = at.range(&v.span);
                    rule.path_regex = Some(Spanned {
                        value: s,
                        line: line_of(v),
                        span,
                    });
                }
            }
            "age" => recipients_field(&key, v, text, at, &mut rule.age)?,
            "key_groups" => {
                rule.key_groups_key = Some(at.range(&k.span));
                match &v.data {
                    YamlData::Sequence(items) => groups.extend(items.iter()),
                    YamlData::Value(Scalar::Null) => {}
                    _ => return Err(config_err(v, "`key_groups` must be a list")),
                }
            }
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
                // Checked as sops will match it: the one RE2 translation (`Re2`).
                if let Some(s) = &s {
                    Re2::new(s).map_err(|e| {
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
                Some("age") => recipients_field("age", v, text, at, &mut rule.age)?,
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

/// The parser's events go to saphyr's loader; on the way, the anchored scalars
/// (their span starts at `&name`) and the scalars that may hold an age key are
/// noted.
struct Reader<'i> {
    loader: YamlLoader<'i, MarkedYaml<'i>>,
    /// Anchored scalars: span and value.
    anchored: Vec<(Span, String)>,
    /// Scalars whose value contains `age1`.
    keyish: Vec<Span>,
}

impl<'i> SpannedEventReceiver<'i> for Reader<'i> {
    fn on_event(&mut self, ev: Event<'i>, span: Span) {
        if let Event::Scalar(value, _, anchor, _) = &ev {
            if *anchor > 0 {
                self.anchored.push((span, value.to_string()));
            }
            if memchr::memmem::find(value.as_bytes(), b"age1").is_some() {
                self.keyish.push(span);
            }
        }
        self.loader.on_event(ev, span);
    }
}

/// The anchor at the start of `source` (`&name …`, perhaps after a tag:
/// `!!str &name …`): the offset of its `&` and its name, as YAML delimits it
/// (up to a space or a flow indicator).
fn anchor_name(source: &str) -> Option<(usize, &str)> {
    let offset = if source.starts_with('!') {
        let tag = token_len(source);
        tag + (source[tag..].len() - source[tag..].trim_start().len())
    } else {
        0
    };
    let rest = source[offset..].strip_prefix('&')?;
    let name = &rest[..token_len(rest)];
    (!name.is_empty()).then_some((offset, name))
}

/// Length of the token at the start of `s`: up to whitespace or a flow indicator.
fn token_len(s: &str) -> usize {
    s.find(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}'))
        .unwrap_or(s.len())
}

/// Where a scalar's own text starts in its source: after its `&anchor` and
/// `!tag` properties, if any.
fn value_start(source: &str) -> usize {
    let mut at = 0;
    while source[at..].starts_with(['&', '!']) {
        at += token_len(&source[at..]);
        at += source[at..].len()
            - source[at..]
                .trim_start_matches([' ', '\t', '\r', '\n'])
                .len();
    }
    at
}

/// Byte ranges of the `age1…` recipients written in `s`: a bech32-looking word
/// of more than 20 characters starting `age1`.
fn age_keys(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = s.as_bytes();
    memchr::memmem::find_iter(bytes, b"age1").filter_map(move |start| {
        let boundary = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(s.len(), |n| start + n);
        (boundary && end - start > 20).then_some((start, end))
    })
}

/// saphyr's markers (line, column in characters) as byte offsets of the text.
struct Offsets<'t> {
    text: &'t str,
    /// Byte offset of each line's start.
    starts: Vec<usize>,
    /// Whether every character is one byte (then a marker's index is a byte offset).
    ascii: bool,
}

impl<'t> Offsets<'t> {
    fn new(text: &'t str) -> Offsets<'t> {
        let starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        Offsets {
            text,
            starts,
            ascii: text.is_ascii(),
        }
    }

    /// The bytes of the 1-based `line`, without its line break.
    fn line_range(&self, line: usize) -> Range<usize> {
        let idx = line.saturating_sub(1).min(self.starts.len() - 1);
        let start = self.starts[idx].min(self.text.len());
        let end = memchr::memchr(b'\n', &self.text.as_bytes()[start..])
            .map_or(self.text.len(), |n| start + n);
        start..end
    }

    fn byte(&self, m: Marker) -> usize {
        if self.ascii {
            return m.index().min(self.text.len());
        }
        // The column counts characters of its line.
        let line = self.line_range(m.line());
        self.text[line.clone()]
            .char_indices()
            .nth(m.col())
            .map_or(line.end, |(i, _)| line.start + i)
    }

    fn range(&self, span: &Span) -> Range<usize> {
        let start = self.byte(span.start);
        start..self.byte(span.end).max(start)
    }

    /// The 1-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }

    /// The 1-based `line` without its leading and trailing whitespace.
    fn trimmed_line(&self, line: usize) -> Range<usize> {
        let range = self.line_range(line);
        let s = &self.text[range.clone()];
        let lead = s.len() - s.trim_start().len();
        let trimmed = s.trim();
        range.start + lead..range.start + lead + trimmed.len()
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
        let anchors: Vec<(&str, &str, usize, &str)> = c
            .anchors
            .iter()
            .map(|a| (&*a.name, &*a.value, a.line, &CONF[a.span.clone()]))
            .collect();
        assert_eq!(
            anchors,
            vec![
                ("demo", "age1abc", 2, "&demo"),
                ("host_routy", "age1def", 3, "&host_routy")
            ]
        );
        assert_eq!(c.rules.len(), 5);
        let located = |r: &CreationRule| -> Vec<(String, usize, String)> {
            r.age
                .iter()
                .map(|s| (s.value.clone(), s.line, CONF[s.span.clone()].to_owned()))
                .collect()
        };
        let r0 = &c.rules[0];
        assert_eq!(r0.line, 5);
        assert_eq!(
            &CONF[r0.item.clone()],
            "- path_regex: kubernetes/.*\\.sops\\.yaml$"
        );
        let re = r0.path_regex.as_ref().unwrap();
        assert_eq!(
            (re.line, &CONF[re.span.clone()]),
            (5, "kubernetes/.*\\.sops\\.yaml$")
        );
        assert_eq!(located(r0), vec![("age1abc".into(), 7, "*demo".into())]);
        assert_eq!(r0.encrypted_regex.as_deref(), Some("^(data|stringData)$"));
        // A folded scalar: each key on its own line.
        assert_eq!(
            located(&c.rules[1]),
            vec![
                ("age1abc".into(), 10, "age1abc".into()),
                ("age1def".into(), 11, "age1def".into())
            ]
        );
        assert_eq!(
            located(&c.rules[2]),
            vec![
                ("age1abc".into(), 14, "*demo".into()),
                ("age1def".into(), 15, "*host_routy".into())
            ]
        );
        let groups = c.rules[3].key_groups_key.clone().unwrap();
        assert_eq!(&CONF[groups], "key_groups");
        assert!(c.rules[0].key_groups_key.is_none());
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
    fn literal_keys_anchors_and_offsets_past_non_ascii_text() {
        let key = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
        let text = format!(
            "# ü: age1commentedoutcommentedoutcommentedout\nkeys:\n  - &hôst_ü {key} # ü\n  - !!str &b \"{key}\"\ncreation_rules:\n  - path_regex: ^ü/\n    age: '{key},{key}'\n"
        );
        let c = SopsConfig::parse(&text).unwrap();
        let names: Vec<(&str, &str, usize)> = c
            .anchors
            .iter()
            .map(|a| (&*a.name, &text[a.span.clone()], a.line))
            .collect();
        assert_eq!(names, vec![("hôst_ü", "&hôst_ü", 3), ("b", "&b", 4)]);
        // Not the comment; the anchored values and both keys of the rule.
        let keys: Vec<(usize, &str)> = c
            .literal_keys
            .iter()
            .map(|k| (k.line, &text[k.span.clone()]))
            .collect();
        assert_eq!(keys, vec![(3, key), (4, key), (7, key), (7, key)]);
        assert!(c.literal_keys.iter().all(|k| k.value == key));
        let rule = &c.rules[0];
        assert_eq!(&text[rule.path_regex.as_ref().unwrap().span.clone()], "^ü/");
        assert_eq!(rule.age.len(), 2);
        assert!(
            rule.age[0].span.end <= rule.age[1].span.start,
            "{:?}",
            rule.age
        );
        assert_eq!(&text[rule.age[1].span.clone()], key);
    }

    #[test]
    fn encryption_regex_errors_are_the_translations() {
        for pattern in crate::path_regex::tests::ERROR_CASES {
            let want = Re2::new(pattern).err();
            let conf = format!("creation_rules:\n  - encrypted_regex: '{pattern}'\n");
            let got = SopsConfig::parse(&conf).err().map(|e| e.to_string());
            match (&got, &want) {
                (Some(got), Some(want)) => assert!(got.contains(want.as_str()), "{pattern}: {got}"),
                _ => assert_eq!(got.is_some(), want.is_some(), "{pattern}: {got:?}"),
            }
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
