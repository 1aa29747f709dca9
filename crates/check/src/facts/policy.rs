//! `tailscale/policy.hujson`: its `tagOwners`, read by the one HuJSON reader
//! ([`avalanche_model::hujson`]).
use super::{FileProblem, LineIndex, Loc, RepoFacts, TAILSCALE_POLICY};

impl RepoFacts {
    pub(super) fn read_policy(&mut self, text: &str) {
        use avalanche_model::hujson::{self, HujsonError};
        match hujson::parse(text) {
            Ok(value) => {
                let tags = value
                    .get("tagOwners")
                    .and_then(|t| t.as_object())
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                self.policy_tags = Some(tags);
            }
            Err(err) => {
                let lines = LineIndex::new(text);
                let (line, message) = match err {
                    HujsonError::Syntax { line, message, .. } => (line, message),
                    HujsonError::Shape(message) => (1, message),
                };
                let (start, end) = lines.trimmed_line(text, line);
                self.problems.push(FileProblem {
                    loc: Loc {
                        path: TAILSCALE_POLICY.to_owned(),
                        start,
                        end,
                    },
                    message: format!("`{TAILSCALE_POLICY}` is not valid HuJSON: {message}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::input;
    use super::*;

    #[test]
    fn hujson_tag_owners() {
        let facts = RepoFacts::build(input(&[(
            TAILSCALE_POLICY,
            "// policy\n{\n  \"tagOwners\": { \"tag:infra\": [\"autogroup:admin\"], /* x */ },\n  \"grants\": [],\n}\n",
        )]));
        assert_eq!(
            facts.policy_tags.unwrap().into_iter().collect::<Vec<_>>(),
            ["tag:infra"]
        );
    }
}
