//! `tailscale/policy.hujson`: its `tagOwners`.
use super::{FileProblem, LineIndex, Loc, RepoFacts, TAILSCALE_POLICY};

impl RepoFacts {
    pub(super) fn read_policy(&mut self, text: &str) {
        let json = strip_hujson(text);
        match serde_json::from_str::<serde_json::Value>(&json) {
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
                let (start, end) = lines.trimmed_line(text, err.line());
                self.problems.push(FileProblem {
                    loc: Loc {
                        path: TAILSCALE_POLICY.to_owned(),
                        start,
                        end,
                    },
                    message: format!("`{TAILSCALE_POLICY}` is not valid HuJSON: {err}"),
                });
            }
        }
    }
}

/// HuJSON → JSON: drops `//` and `/* */` comments and trailing commas, keeping
/// line breaks so JSON error lines stay right.
pub fn strip_hujson(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '/' if chars.peek() == Some(&'/') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                    }
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    // Trailing commas: `,` followed by whitespace and `}` or `]`.
    let bytes: Vec<char> = out.chars().collect();
    let mut result = String::with_capacity(out.len());
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if c == '\\' && i + 1 < bytes.len() {
                result.push(c);
                result.push(bytes[i + 1]);
                i += 2;
                continue;
            }
            if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = bytes[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                i += 1;
                continue;
            }
        }
        result.push(c);
        i += 1;
    }
    result
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
