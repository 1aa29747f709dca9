//! Retired hosts must leave no trace: flake, `hosts/`, `.sops.yaml`, SOPS files,
//! `secrets/`, the tailnet, and (as warnings) any other mention.
use crate::facts::Loc;
use crate::{Checker, label, rules};
use avalanche_diag::Span;
use avalanche_model::RetiredHost;
use std::collections::HashSet;

/// A retired host's names: its own first, then its aliases (lowercase).
pub(crate) struct Retired<'a> {
    pub name: &'a str,
    pub host: &'a RetiredHost,
    pub names: Vec<String>,
}

impl Retired<'_> {
    /// How a matched name is described: "`vps`" or "`hetzner` (alias of retired host `vps`)".
    pub(crate) fn describe(&self, matched: &str) -> String {
        if matched.eq_ignore_ascii_case(self.name) {
            format!("retired host `{}`", self.name)
        } else {
            format!("`{matched}` (an alias of retired host `{}`)", self.name)
        }
    }

    pub(crate) fn matching(&self, candidate: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(candidate))
            .map(String::as_str)
    }

    fn owns_recipient(&self, recipient: &str) -> bool {
        // A renamed machine keeps its key: its recipient is in use, not a leftover.
        self.host.renamed_to.is_none()
            && self
                .host
                .age_recipients
                .iter()
                .any(|r| r.value == recipient)
    }
}

pub(crate) fn check(cx: &mut Checker<'_>) {
    let network = cx.network;
    let retired: Vec<Retired<'_>> = network
        .retired
        .iter()
        .map(|(name, host)| {
            let mut names = vec![name.as_str().to_ascii_lowercase()];
            names.extend(
                host.aliases
                    .iter()
                    .map(|a| a.value.as_str().to_ascii_lowercase()),
            );
            Retired {
                name: name.as_str(),
                host,
                names,
            }
        })
        .collect();
    if retired.is_empty() {
        return;
    }
    // Lines already reported by a specific rule are not reported again as mentions.
    let mut reported: HashSet<(String, usize)> = HashSet::new();
    for r in &retired {
        flake(cx, r, &mut reported);
        dirs(cx, r, &mut reported);
        sops_config(cx, r, &mut reported);
        sops_files(cx, r, &mut reported);
        tailscale(cx, r);
    }
    crate::mentions::check(cx, &retired, &reported);
}

fn note_retired(
    cx: &mut Checker<'_>,
    r: &Retired<'_>,
    span: Span,
    reported: &mut HashSet<(String, usize)>,
) {
    let line = cx.line_of(span);
    reported.insert(line);
    if let Some(d) = cx.out.last_mut() {
        label(d, r.host.span, "retired here");
    }
}

fn flake(cx: &mut Checker<'_>, r: &Retired<'_>, reported: &mut HashSet<(String, usize)>) {
    let Some(scan) = &cx.facts.flake else { return };
    for host in &scan.hosts {
        let Some(matched) = r.matching(&host.name) else {
            continue;
        };
        let span = cx.span(&Loc {
            path: crate::facts::FLAKE.into(),
            start: host.start,
            end: host.end,
        });
        let (listed, help) = if host.listed_by_nix {
            (
                " (listed by `nix eval`)",
                format!(
                    "remove `{}` from where the flake computes `nixosConfigurations` (the static scan cannot see where: this is where it gave up)",
                    host.name
                ),
            )
        } else {
            (
                "",
                format!(
                    "delete `nixosConfigurations.{}` from `flake.nix`",
                    host.name
                ),
            )
        };
        let message = format!(
            "{} is still a NixOS configuration of the flake{listed}",
            r.describe(matched)
        );
        cx.emit(&rules::RETIRED_NIXOS_CONFIG, message, Some(span))
            .help = Some(help);
        note_retired(cx, r, span, reported);
    }
}

fn dirs(cx: &mut Checker<'_>, r: &Retired<'_>, reported: &mut HashSet<(String, usize)>) {
    let facts = cx.facts;
    let mut found: Vec<(String, String, usize, &str, &rules::Rule)> = Vec::new();
    for host in &cx.host_dirs {
        if let Some(matched) = r.matching(&host.name) {
            found.push((
                host.dir.clone(),
                host.first.clone(),
                host.files,
                matched,
                &rules::RETIRED_HOSTS_DIR,
            ));
        }
    }
    for (name, first) in &facts.secrets_dirs {
        if let Some(matched) = r.matching(name) {
            let dir = format!("secrets/{name}/");
            let count = facts.paths.iter().filter(|p| p.starts_with(&dir)).count();
            found.push((
                dir,
                first.clone(),
                count,
                matched,
                &rules::RETIRED_SECRETS_DIR,
            ));
        }
    }
    for (dir, first, count, matched, rule) in found {
        let span = cx.file_span(&first);
        let hosts = rule.id == rules::RETIRED_HOSTS_DIR.id;
        let what = if hosts { "configuration" } else { "secrets" };
        let message = format!(
            "`{dir}` still holds {what} of {} ({count} tracked file{})",
            r.describe(matched),
            if count == 1 { "" } else { "s" }
        );
        let help = if hosts {
            format!("`git rm -r {dir}`")
        } else {
            format!("`git rm -r {dir}`, and revoke what the secrets gave access to")
        };
        cx.emit(rule, message, Some(span)).help = Some(help);
        note_retired(cx, r, span, reported);
    }
}

/// Whether `text` names `name` as a word: `_`, `-`, `/`, `.` and other
/// non-alphanumerics separate words (`host_vps`, `secrets/vps/`).
pub(crate) fn names_word(text: &str, name: &str) -> bool {
    find_word(text, name, 0).is_some()
}

/// Byte offset of the first whole-word, ASCII-case-insensitive occurrence of
/// `name` in `text` at or after `from`.
fn find_word(text: &str, name: &str, from: usize) -> Option<usize> {
    let (hay, needle) = (text.as_bytes(), name.as_bytes());
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let mut i = from;
    while i + needle.len() <= hay.len() {
        if hay[i..i + needle.len()].eq_ignore_ascii_case(needle) {
            let before = i == 0 || !hay[i - 1].is_ascii_alphanumeric();
            let after =
                i + needle.len() == hay.len() || !hay[i + needle.len()].is_ascii_alphanumeric();
            if before && after {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

fn sops_config(cx: &mut Checker<'_>, r: &Retired<'_>, reported: &mut HashSet<(String, usize)>) {
    let Some(sops) = &cx.facts.sops else { return };
    let mut seen: HashSet<usize> = HashSet::new();
    for (i, rule) in sops.rules.iter().enumerate() {
        if let Some(re) = &rule.path_regex
            && let Some(matched) = r.names.iter().find(|n| names_word(&re.value, n))
        {
            let span = cx.span(&re.loc);
            let message = format!(
                "creation rule #{} is for {} (`path_regex: {}`)",
                i + 1,
                r.describe(matched),
                re.value
            );
            cx.emit(&rules::RETIRED_SOPS_RULE, message, Some(span)).help =
                Some("delete the rule (its files should be gone too)".into());
            note_retired(cx, r, span, reported);
            seen.insert(re.loc.start);
            continue;
        }
        for recipient in &rule.recipients {
            if r.owns_recipient(&recipient.value) && seen.insert(recipient.loc.start) {
                let span = cx.span(&recipient.loc);
                let message = format!(
                    "creation rule #{} still encrypts new files to the key of retired host `{}`",
                    i + 1,
                    r.name
                );
                cx.emit(&rules::RETIRED_SOPS_RULE, message, Some(span)).help =
                    Some("remove the recipient from the rule, then `avalanche-net secrets updatekeys --rotate FILE` for its files".into());
                note_retired(cx, r, span, reported);
            }
        }
    }
    for (name, value, loc) in &sops.anchors {
        let by_name = r.names.iter().find(|n| names_word(name, n));
        if by_name.is_none() && !r.owns_recipient(value) {
            continue;
        }
        seen.insert(loc.start);
        let span = cx.span(loc);
        let message = match by_name {
            Some(matched) => format!(
                "`.sops.yaml` still defines anchor `&{name}` for {}",
                r.describe(matched)
            ),
            None => format!(
                "`.sops.yaml` anchor `&{name}` is the key of retired host `{}`",
                r.name
            ),
        };
        cx.emit(&rules::RETIRED_SOPS_ANCHOR, message, Some(span))
            .help = Some(format!("remove `&{name}` and every `*{name}`"));
        note_retired(cx, r, span, reported);
    }
    for key in &sops.literal_keys {
        if !r.owns_recipient(&key.value) {
            continue;
        }
        let span = cx.span(&key.loc);
        let line = cx.line_of(span);
        if reported.contains(&line) {
            continue;
        }
        let message = format!(
            "`.sops.yaml` still holds the age key of retired host `{}`",
            r.name
        );
        cx.emit(&rules::RETIRED_SOPS_ANCHOR, message, Some(span))
            .help = Some("remove the key".into());
        note_retired(cx, r, span, reported);
    }
}

fn sops_files(cx: &mut Checker<'_>, r: &Retired<'_>, reported: &mut HashSet<(String, usize)>) {
    for file in &cx.facts.sops_files {
        for recipient in &file.recipients {
            if !r.owns_recipient(&recipient.value) {
                continue;
            }
            let span = cx.span(&recipient.loc);
            let message = format!(
                "`{}` is still encrypted to retired host `{}`: it can still decrypt it",
                file.path, r.name
            );
            let d = cx.emit(&rules::RETIRED_RECIPIENT, message, Some(span));
            d.help = Some(format!(
                "remove the key from `.sops.yaml`, then run `avalanche-net secrets updatekeys --rotate {}` \
                 (updatekeys alone re-wraps the same data key, which the host may have kept: --rotate makes a new one), \
                 and rotate the secret's contents too (a new password, token or key): the host could read them",
                file.path
            ));
            note_retired(cx, r, span, reported);
        }
    }
}

fn tailscale(cx: &mut Checker<'_>, r: &Retired<'_>) {
    for (name, node) in &cx.network.tailscale.nodes {
        let Some(matched) = r.matching(name.as_str()) else {
            continue;
        };
        let message = format!(
            "{} is still declared as a Tailscale node",
            r.describe(matched)
        );
        let d = cx.emit(&rules::RETIRED_TAILSCALE_NODE, message, node.span);
        d.help = Some(format!(
            "delete `tailscale.nodes.{name}`, and remove the machine in the Tailscale admin console"
        ));
        label(d, r.host.span, "retired here");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert!(names_word("secrets/vps/.*", "vps"));
        assert!(names_word("host_VPS", "vps"));
        assert!(!names_word("vpsx", "vps"));
        assert_eq!(find_word("the VPS, then vps", "vps", 5), Some(14));
    }
}
