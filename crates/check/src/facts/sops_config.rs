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
        let loc = |span: &std::ops::Range<usize>| Loc {
            path: SOPS_CONFIG.to_owned(),
            start: span.start,
            end: span.end,
        };
        let config = match SopsConfig::parse(text) {
            Ok(config) => config,
            Err(err) => {
                let line = err.at_line().map_or(1, |(line, _)| line);
                let (start, end) = LineIndex::new(text).trimmed_line(text, line);
                self.sops_problems.push(FileProblem {
                    loc: loc(&(start..end)),
                    message: format!("`.sops.yaml` cannot be read: {err}"),
                });
                return;
            }
        };
        // Every location is the reader's own (`SopsConfig` keeps spans): nothing
        // is searched for in the text again.
        let located = |s: &avalanche_sops::config::Spanned| Located {
            value: s.value.clone(),
            loc: loc(&s.span),
        };
        let rules = config
            .rules
            .iter()
            .map(|rule| RuleFacts {
                loc: loc(&rule.item),
                path_regex: rule.path_regex.as_ref().map(located),
                recipients: rule.age.iter().map(located).collect(),
                key_groups: rule.key_groups_key.as_ref().map(loc),
            })
            .collect();
        let anchors = config
            .anchors
            .iter()
            .map(|a| (a.name.clone(), a.value.clone(), loc(&a.span)))
            .collect();
        let literal_keys = config.literal_keys.iter().map(located).collect();
        self.sops = Some(SopsFacts {
            config,
            rules,
            anchors,
            literal_keys,
        });
    }
}
