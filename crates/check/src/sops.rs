//! `.sops.yaml` creation rules against the repository's files.
use crate::facts::SopsFacts;
use crate::{Checker, DEMO_RECIPIENT, label, list, rules};
use std::collections::BTreeSet;

/// For each rule: how many paths it matches, and how many of those an earlier
/// rule takes first (with the first such earlier rule).
#[derive(Default, Clone)]
struct RuleUse {
    matched: usize,
    shadowed: usize,
    shadowed_by: Option<usize>,
}

/// A declared secret's `file` must not be a directory of the repository (decoding
/// already refuses a path ending in `/`; whether a path is a directory only the
/// repository's listing tells).
fn secret_files_are_files(cx: &mut Checker<'_>) {
    let facts = cx.facts;
    for (name, secret) in &cx.network.secrets {
        let dir = format!("{}/", secret.file.value.trim_end_matches('/'));
        let Some(inside) = facts.paths.iter().find(|p| p.starts_with(&dir)) else {
            continue;
        };
        let message = format!(
            "secret `{name}`: `file = \"{}\"` is a directory of the repository (it holds `{inside}`)",
            secret.file.value
        );
        let span = secret.file.span;
        cx.emit(&rules::SECRET_FILE_DIRECTORY, message, span).help = Some(format!(
            "name a file inside it, e.g. `file = \"{}{name}.sops.yaml\";`",
            dir
        ));
    }
}

/// Which rules match which paths: the sops crate's one matcher (RE2 semantics,
/// all rules at once), kept per run, with each path's answer kept too: the
/// rules ask about every SOPS file more than once, and one question runs all
/// the rules' patterns.
pub(crate) struct Matcher {
    rules: avalanche_sops::config::RuleMatcher,
    answers: std::cell::RefCell<std::collections::HashMap<String, Vec<usize>>>,
}

impl Matcher {
    pub(crate) fn new(sops: &SopsFacts) -> Matcher {
        Matcher {
            rules: sops.config.matcher(),
            answers: Default::default(),
        }
    }

    /// The rules matching `path`, in file order.
    pub(crate) fn matches(&self, _sops: &SopsFacts, path: &str) -> Vec<usize> {
        if let Some(known) = self.answers.borrow().get(path) {
            return known.clone();
        }
        let matched = self.rules.matches(path);
        self.answers
            .borrow_mut()
            .insert(path.to_owned(), matched.clone());
        matched
    }

    /// The rule sops would use for `path`.
    pub(crate) fn first(&self, sops: &SopsFacts, path: &str) -> Option<usize> {
        if let Some(known) = self.answers.borrow().get(path) {
            return known.first().copied();
        }
        self.matches(sops, path).first().copied()
    }
}

pub(crate) fn check(cx: &mut Checker<'_>) {
    secret_files_are_files(cx);
    let facts = cx.facts;
    let Some(sops) = &facts.sops else {
        if facts.sops_problems.is_empty() {
            for file in &facts.sops_files {
                let span = cx.span(&file.loc);
                let message = format!(
                    "`{}` is a SOPS file but there is no `.sops.yaml`",
                    file.path
                );
                cx.emit(&rules::SOPS_FILE_UNMATCHED, message, Some(span))
                    .help = Some("add a `.sops.yaml` with a creation rule for it".into());
            }
        }
        return;
    };
    let Some(matcher) = cx.sops_matcher.clone() else {
        return;
    };
    let mut uses = vec![RuleUse::default(); sops.rules.len()];
    let declared: BTreeSet<&str> = cx
        .network
        .secrets
        .values()
        .map(|s| s.file.value.as_str())
        .collect();
    // A rule is used only by a file that is (or will be) SOPS-encrypted: a plain
    // `helm-values.yaml` that an unanchored catch-all happens to match is no use.
    let candidates: BTreeSet<&str> = facts
        .sops_files
        .iter()
        .map(|f| f.path.as_str())
        .chain(declared.iter().copied())
        // A generated file named as SOPS files are (`*.sops.yaml`) is sealed when written.
        .chain(
            facts
                .generated
                .iter()
                .map(String::as_str)
                .filter(|p| p.contains(".sops.")),
        )
        .filter(|p| *p != crate::facts::SOPS_CONFIG)
        .collect();
    for path in &candidates {
        let matched = matcher.matches(sops, path);
        let Some(&first) = matched.first() else {
            continue;
        };
        for &i in &matched {
            let u = &mut uses[i];
            u.matched += 1;
            if i != first {
                u.shadowed += 1;
                u.shadowed_by.get_or_insert(first);
            }
        }
    }
    // For the unused rules' notes: the plain files they match.
    let mut plain_matches: Vec<(usize, Option<&str>)> = vec![(0, None); sops.rules.len()];
    if uses.iter().any(|u| u.matched == 0) {
        for path in &facts.paths {
            if candidates.contains(path.as_str()) || path == crate::facts::SOPS_CONFIG {
                continue;
            }
            for i in matcher.matches(sops, path) {
                if uses[i].matched == 0 {
                    let entry = &mut plain_matches[i];
                    entry.0 += 1;
                    entry.1.get_or_insert(path.as_str());
                }
            }
        }
    }
    for (i, (rule, u)) in sops.rules.iter().zip(&uses).enumerate() {
        let loc = rule.path_regex.as_ref().map_or(&rule.loc, |r| &r.loc);
        let span = cx.span(loc);
        if u.matched == 0 {
            let re = rule.path_regex.as_ref().map_or("", |r| r.value.as_str());
            let message = format!(
                "creation rule #{} (`path_regex: {re}`) is stale: it matches no SOPS file and no declared secret",
                i + 1
            );
            let d = cx.emit(&rules::SOPS_RULE_UNUSED, message, Some(span));
            d.help = Some("delete the rule, or correct its `path_regex`".into());
            if let (n, Some(example)) = plain_matches[i] {
                d.notes.push(format!(
                    "it matches {n} plain file{} (`{example}`{}), which no SOPS metadata marks as encrypted",
                    if n == 1 { "" } else { "s" },
                    if n > 1 { ", …" } else { "" }
                ));
            }
        } else if u.shadowed == u.matched {
            let by = u.shadowed_by.unwrap_or(0);
            let by_loc = sops.rules[by]
                .path_regex
                .as_ref()
                .map_or(&sops.rules[by].loc, |r| &r.loc);
            let by_span = cx.span(by_loc);
            let message = format!(
                "creation rule #{} never applies: every SOPS file it matches is matched first by rule #{}",
                i + 1,
                by + 1
            );
            let d = cx.emit(&rules::SOPS_RULE_SHADOWED, message, Some(span));
            d.help =
                Some("move it before the broader rule, or narrow the earlier `path_regex`".into());
            label(d, Some(by_span), "this earlier rule matches first");
        }
        if sops.config.rules[i].key_groups > 1 {
            let loc = rule.key_groups.as_ref().unwrap_or(&rule.loc);
            let span = cx.span(loc);
            let message = format!(
                "creation rule #{} has {} key groups (Shamir secret sharing): one key no longer decrypts",
                i + 1,
                sops.config.rules[i].key_groups
            );
            cx.emit(&rules::SOPS_KEY_GROUPS, message, Some(span)).help =
                Some("use a single key group, or a plain `age:` list".into());
        }
        for recipient in &rule.recipients {
            if recipient.value == DEMO_RECIPIENT {
                let span = cx.span(&recipient.loc);
                let message = format!("creation rule #{} encrypts to the public demo key", i + 1);
                let d = cx.emit(&rules::SOPS_DEMO_KEY, message, Some(span));
                d.help = Some(
                    "replace it by your own keys, then `avalanche-net secrets updatekeys --rotate FILE` for its files"
                        .into(),
                );
                d.notes
                    .push("the demo private key is published in avalanche-net's repository".into());
            }
        }
    }
    for file in &facts.sops_files {
        let Some(i) = matcher.first(sops, &file.path) else {
            let span = cx.span(&file.loc);
            let message = format!(
                "no creation rule of `.sops.yaml` matches SOPS file `{}`",
                file.path
            );
            cx.emit(&rules::SOPS_FILE_UNMATCHED, message, Some(span))
                .help = Some("add a creation rule whose `path_regex` matches it".into());
            continue;
        };
        let rule = &sops.config.rules[i];
        if rule.key_groups > 1 || rule.age.is_empty() {
            continue;
        }
        recipients_per_document(cx, sops, file, i);
    }
}

/// Compares each document's recipients with its creation rule's: in a file of
/// several documents each document has its own `sops` block, and a recipient
/// removed from (or left in) one of them matters as much as in a whole file.
fn recipients_per_document(
    cx: &mut Checker<'_>,
    sops: &crate::facts::SopsFacts,
    file: &crate::facts::SopsFile,
    i: usize,
) {
    let rule = &sops.config.rules[i];
    let want: BTreeSet<&str> = rule.age.iter().map(|r| r.value.as_str()).collect();
    let several = file.documents.len() > 1;
    for (n, document) in file.documents.iter().enumerate() {
        let have: BTreeSet<&str> = document
            .recipients
            .iter()
            .map(|r| r.value.as_str())
            .collect();
        if want == have {
            continue;
        }
        let missing: Vec<&str> = want.difference(&have).copied().collect();
        let extra: Vec<&str> = have.difference(&want).copied().collect();
        // Only retired hosts' keys too many: `retired-recipient` already says it,
        // at the same line, with the same fix.
        let retired_key = |r: &str| {
            cx.network
                .retired
                .values()
                .any(|h| h.renamed_to.is_none() && h.age_recipients.iter().any(|k| k.value == r))
        };
        if missing.is_empty() && extra.iter().all(|r| retired_key(r)) {
            continue;
        }
        let loc = document
            .recipients
            .iter()
            .find(|r| extra.contains(&r.value.as_str()))
            .map_or(&document.loc, |r| &r.loc);
        let span = cx.span(loc);
        let rule_loc = sops.rules[i]
            .path_regex
            .as_ref()
            .map_or(&sops.rules[i].loc, |r| &r.loc);
        let rule_span = cx.span(rule_loc);
        let which = if several {
            format!("document {} of ", n + 1)
        } else {
            String::new()
        };
        let message = format!(
            "the recipients of {which}`{}` differ from those of creation rule #{}",
            file.path,
            i + 1
        );
        let rotate = if extra.is_empty() { "" } else { "--rotate " };
        let d = cx.emit(&rules::SOPS_RECIPIENTS_DIFFER, message, Some(span));
        // Another rule adds what the missing recipient means (`gateway-key-not-for-host`).
        d.path = Some(file.path.clone());
        if !missing.is_empty() {
            d.notes
                .push(format!("cannot be decrypted by {}", list(&missing)));
        }
        if !extra.is_empty() {
            d.notes.push(format!(
                "can still be decrypted by {}, which the rule no longer lists",
                list(&extra)
            ));
        }
        d.help = Some(format!(
            "run `avalanche-net secrets updatekeys {rotate}{}`",
            file.path
        ));
        label(d, Some(rule_span), "the rule that applies");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::facts::{RepoFacts, RepoFile, RepoInput};

    fn facts(config: &str) -> RepoFacts {
        RepoFacts::build(RepoInput {
            files: vec![RepoFile {
                path: crate::facts::SOPS_CONFIG.into(),
                text: Some(config.into()),
            }],
            ..RepoInput::default()
        })
    }

    #[test]
    fn the_set_agrees_with_rule_by_rule_matching() {
        let f = facts(
            "creation_rules:\n  - path_regex: ^secrets/a/[^/]+\\.yaml$\n    age: age1x\n  - path_regex: \\.yaml$\n    age: age1x\n  - age: age1x\n",
        );
        let sops = f.sops.as_ref().expect("parsed");
        let m = Matcher::new(sops);
        for path in [
            "secrets/a/b.yaml",
            "secrets/a/b/c.yaml",
            "x.yaml",
            "README.md",
            "é/ü.yaml",
        ] {
            let by_rule: Vec<usize> = (0..sops.config.rules.len())
                .filter(|&i| sops.config.rules[i].matches(path))
                .collect();
            assert_eq!(m.matches(sops, path), by_rule, "{path}");
        }
        assert_eq!(m.first(sops, "README.md"), Some(2));
    }
}
