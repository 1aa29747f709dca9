//! `.sops.yaml`: creation rules, anchors and literal recipients, with byte locations.
use super::{FileProblem, LineIndex, Loc, Located, RepoFacts, SOPS_CONFIG};
use avalanche_sops::config::SopsConfig;

/// `.sops.yaml`, parsed, with byte locations.
#[derive(Debug, Clone)]
pub struct SopsFacts {
    /// The parsed configuration (lines are 1-based).
    pub config: SopsConfig,
    /// Per rule: its location (the `- ` item), its `path_regex` location,
    /// its recipients with locations, and the location of `key_groups`.
    pub rules: Vec<RuleFacts>,
    /// Scalar anchors: name, value and location of the `&name`.
    pub anchors: Vec<(String, String, Loc)>,
    /// Every line of the file that writes an age recipient literally: value and location.
    pub literal_keys: Vec<Located>,
}

/// Locations of one creation rule.
#[derive(Debug, Clone)]
pub struct RuleFacts {
    /// The rule item.
    pub loc: Loc,
    /// `path_regex`, if any.
    pub path_regex: Option<Located>,
    /// Its age recipients, where written in the rule (an alias use or a literal).
    pub recipients: Vec<Located>,
    /// `key_groups:` key, if any.
    pub key_groups: Option<Loc>,
}

impl RepoFacts {
    pub(super) fn read_sops_config(&mut self, text: &str) {
        let lines = LineIndex::new(text);
        let config = match SopsConfig::parse(text) {
            Ok(config) => config,
            Err(err) => {
                let line = match &err {
                    avalanche_sops::Error::Syntax { line, .. }
                    | avalanche_sops::Error::Config { line, .. } => *line,
                    avalanche_sops::Error::ShamirUnsupported { line, .. } => *line,
                    _ => 1,
                };
                let (start, end) = lines.trimmed_line(text, line);
                self.sops_problems.push(FileProblem {
                    loc: Loc {
                        path: SOPS_CONFIG.to_owned(),
                        start,
                        end,
                    },
                    message: format!("`.sops.yaml` cannot be read: {err}"),
                });
                return;
            }
        };
        let loc = |start: usize, end: usize| Loc {
            path: SOPS_CONFIG.to_owned(),
            start,
            end,
        };
        let at = |line: usize, needle: &str| {
            let (s, e) = lines.find_in_line(text, line, needle);
            loc(s, e)
        };
        let mut rules = Vec::new();
        for (i, rule) in config.rules.iter().enumerate() {
            let next_line = config.rules.get(i + 1).map_or(usize::MAX, |r| r.line);
            let recipients = rule
                .age
                .iter()
                .map(|(value, line)| {
                    // An alias use (`*host_x`) is shown where it is written.
                    let alias = config
                        .anchors
                        .iter()
                        .find(|(_, v, _)| v == value)
                        .map(|(n, _, _)| format!("*{n}"));
                    let (s, e) = lines.find_in_line(text, *line, value);
                    let (s, e) = match &alias {
                        Some(a) if s == e || !text[s..e].contains(value.as_str()) => {
                            lines.find_in_line(text, *line, a)
                        }
                        _ => (s, e),
                    };
                    Located {
                        value: value.clone(),
                        loc: loc(s, e),
                    }
                })
                .collect();
            let key_groups = (rule.key_groups > 0)
                .then(|| lines.find_after(text, rule.line, next_line, "key_groups"))
                .flatten()
                .map(|(s, e)| loc(s, e));
            // The item's own location: its first line, trimmed (from the `- `).
            let (item_start, item_end) = lines.trimmed_line(text, rule.line);
            rules.push(RuleFacts {
                loc: loc(item_start, item_end),
                path_regex: rule.path_regex.as_ref().map(|(re, line)| {
                    let (s, e) = lines.find_in_line(text, *line, re);
                    Located {
                        value: re.clone(),
                        loc: loc(s, e),
                    }
                }),
                recipients,
                key_groups,
            });
        }
        let anchors = config
            .anchors
            .iter()
            .map(|(name, value, line)| {
                (name.clone(), value.clone(), at(*line, &format!("&{name}")))
            })
            .collect();
        let literal_keys = text
            .lines()
            .enumerate()
            .flat_map(|(i, line)| {
                let base = lines.starts[i];
                find_age_keys(line)
                    .into_iter()
                    .map(move |(s, e)| (i, base + s, base + e))
            })
            .map(|(_, s, e)| Located {
                value: text[s..e].to_owned(),
                loc: loc(s, e),
            })
            .collect();
        self.sops = Some(SopsFacts {
            config,
            rules,
            anchors,
            literal_keys,
        });
    }
}

/// Byte ranges of `age1…` recipients written in a line (outside comments).
fn find_age_keys(line: &str) -> Vec<(usize, usize)> {
    let code = match line.find(" #") {
        Some(p) => &line[..p],
        None if line.trim_start().starts_with('#') => "",
        None => line,
    };
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = code[i..].find("age1") {
        let start = i + p;
        let boundary = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let end = code[start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(code.len(), |n| start + n);
        if boundary && end - start > 20 {
            out.push((start, end));
        }
        i = end.max(start + 4);
    }
    out
}
