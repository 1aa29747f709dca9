//! Who is this key? Every age recipient of `.sops.yaml` and of the SOPS files
//! must belong to something declared: a host (an anchor named after one, such as
//! `&host_hawk`), a declared `sops.recipients.<name>`, or a retired host (whose
//! keys the `retired-*` rules report). A key nobody can name may be a machine
//! long gone that can still read every secret.
use crate::facts::Loc;
use crate::{Checker, DEMO_RECIPIENT, rules};
use std::collections::{BTreeMap, BTreeSet};

/// Words an anchor adds to a host's name (`&host_hawk`, `&server-hawk`, `&hawk_key`).
const HOST_WORDS: &[&str] = &["host", "hosts", "server", "machine", "node", "key", "age"];

/// The host an anchor names, if it looks like a host's anchor: `(host, named)`
/// where `named` is whether a host word marks it as one (`host_x`, not just `x`).
fn anchor_host(anchor: &str) -> (Vec<&str>, bool) {
    let words: Vec<&str> = anchor.split(['_', '-']).filter(|w| !w.is_empty()).collect();
    let marked = words
        .iter()
        .any(|w| HOST_WORDS.contains(&w.to_ascii_lowercase().as_str()));
    let rest: Vec<&str> = words
        .into_iter()
        .filter(|w| !HOST_WORDS.contains(&w.to_ascii_lowercase().as_str()))
        .collect();
    (rest, marked)
}

/// One age recipient known to be a host's.
pub(crate) struct HostKey {
    /// How it is named: `&host_routy` or `sops.recipients.routy`.
    pub named: String,
    /// The recipient (`age1…`).
    pub value: String,
    /// Where it is written (`.sops.yaml`), when there.
    pub loc: Option<Loc>,
}

/// The age recipients that are `host`'s: a `.sops.yaml` anchor named after it
/// alone (`&routy`, `&host_routy`, `&server-routy`; not `&routy_old`), or a
/// declared `sops.recipients.<host>` of kind `host`. Empty when none is: who can
/// decrypt for the host is then not known.
pub(crate) fn host_keys(cx: &Checker<'_>, host: &str) -> Vec<HostKey> {
    let mut keys = Vec::new();
    if let Some(sops) = &cx.facts.sops {
        for (name, value, loc) in &sops.anchors {
            let (words, _) = anchor_host(name);
            if !words.is_empty() && (words.join("-") == host || words.join("_") == host) {
                keys.push(HostKey {
                    named: format!("&{name}"),
                    value: value.clone(),
                    loc: Some(loc.clone()),
                });
            }
        }
    }
    for (name, r) in &cx.network.sops.recipients {
        if name.as_str() == host && r.kind.value == avalanche_model::RecipientKind::Host {
            keys.push(HostKey {
                named: format!("sops.recipients.{name}"),
                value: r.age.value.clone(),
                loc: None,
            });
        }
    }
    keys
}

pub(crate) fn check(cx: &mut Checker<'_>) {
    let network = cx.network;
    let facts = cx.facts;
    let Some(sops) = &facts.sops else { return };
    let mut hosts: BTreeSet<String> = cx.host_dirs.iter().map(|h| h.name.clone()).collect();
    if let Some(scan) = &facts.flake {
        hosts.extend(scan.hosts.iter().map(|h| h.name.clone()));
    }
    hosts.extend(
        network
            .tailscale
            .nodes
            .keys()
            .map(|n| n.as_str().to_owned()),
    );
    let retired: BTreeSet<&str> = network
        .retired
        .iter()
        .flat_map(|(n, h)| {
            std::iter::once(n.as_str()).chain(h.aliases.iter().map(|a| a.value.as_str()))
        })
        .collect();
    let retired_keys: BTreeSet<&str> = network
        .retired
        .values()
        .flat_map(|h| h.age_recipients.iter().map(|k| k.value.as_str()))
        .collect();
    let declared: BTreeSet<&str> = network
        .sops
        .recipients
        .values()
        .map(|r| r.age.value.as_str())
        .collect();
    // Keys already attributed, and those already reported.
    let mut known: BTreeSet<String> = BTreeSet::new();
    known.extend(declared.iter().map(|k| (*k).to_owned()));
    known.extend(retired_keys.iter().map(|k| (*k).to_owned()));
    known.insert(DEMO_RECIPIENT.to_owned());
    // Whether the repository's hosts are known well enough to say one is gone.
    let hosts_listed = !cx.host_dirs.is_empty()
        || facts
            .flake
            .as_ref()
            .is_some_and(|s| s.unknown_at().is_none() && !s.hosts.is_empty());
    let mut gone: Vec<(String, String, Loc)> = Vec::new();
    for (name, value, loc) in &sops.anchors {
        let (words, marked) = anchor_host(name);
        if words.iter().any(|w| hosts.contains(*w)) {
            known.insert(value.clone());
            continue;
        }
        // Named after a retired host: `retired-sops-anchor` reports it.
        if words.iter().any(|w| retired.contains(*w)) {
            known.insert(value.clone());
            continue;
        }
        if marked && hosts_listed && !declared.contains(value.as_str()) && words.len() == 1 {
            gone.push((name.clone(), words[0].to_owned(), loc.clone()));
            known.insert(value.clone());
        }
    }
    // Files each key can read, for the messages.
    let mut readers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for file in &facts.sops_files {
        for r in &file.recipients {
            let files = readers.entry(r.value.as_str()).or_default();
            if files.last() != Some(&file.path.as_str()) {
                files.push(file.path.as_str());
            }
        }
    }
    let can_read = |key: &str| -> String {
        match readers.get(key) {
            None => "no SOPS file yet".to_owned(),
            Some(files) if files.len() == 1 => format!("`{}`", files[0]),
            Some(files) => format!("{} SOPS files (`{}`, …)", files.len(), files[0]),
        }
    };
    for (anchor, host, loc) in gone {
        let value = sops
            .anchors
            .iter()
            .find(|(n, _, _)| *n == anchor)
            .map_or("", |(_, v, _)| v.as_str());
        let span = cx.span(&loc);
        let message = format!(
            "`.sops.yaml` anchor `&{anchor}` is named after host `{host}`, which has no host directory and no `nixosConfigurations` entry: its key can still read {}",
            can_read(value)
        );
        cx.emit(&rules::SOPS_RECIPIENT_HOST_GONE, message, Some(span))
            .help = Some(format!(
            "declare the machine retired (`retired.{host}.ageRecipients = [ \"{value}\" ];`) and remove the anchor and every `*{anchor}`, \
             then `avalanche-net secrets updatekeys --rotate FILE` and rotate the secrets it could read; \
             or, if it is someone's key, declare `sops.recipients.<name>`"
        ));
    }
    // Unknown keys: where `.sops.yaml` writes them, else in the first SOPS file.
    let mut reported: BTreeSet<String> = BTreeSet::new();
    let mut places: Vec<(String, Loc, Option<String>)> = Vec::new();
    for (name, value, loc) in &sops.anchors {
        places.push((value.clone(), loc.clone(), Some(name.clone())));
    }
    for key in &sops.literal_keys {
        places.push((key.value.clone(), key.loc.clone(), None));
    }
    for file in &facts.sops_files {
        for r in &file.recipients {
            places.push((r.value.clone(), r.loc.clone(), None));
        }
    }
    for (value, loc, anchor) in places {
        if known.contains(&value) || !reported.insert(value.clone()) {
            continue;
        }
        let span = cx.span(&loc);
        let what = match &anchor {
            Some(a) => format!("anchor `&{a}`"),
            None => "age recipient".to_owned(),
        };
        let message = format!(
            "{what} `{value}` in `{}` belongs to nothing declared (no host, no `sops.recipients`, no retired host): it can read {}",
            loc.path,
            can_read(&value)
        );
        cx.emit(&rules::SOPS_RECIPIENT_UNKNOWN, message, Some(span))
            .help = Some(
            "declare it: `sops.recipients.<name> = { age = \"…\"; kind = \"admin\"; };` (or \"ci\", \"host\"), or name its anchor after its host (`&host_<name>`); \
             if nobody knows whose it is, remove it and run `avalanche-net secrets updatekeys --rotate FILE` on the files it can read"
                .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_named_after_hosts() {
        assert_eq!(anchor_host("host_hawk"), (vec!["hawk"], true));
        assert_eq!(anchor_host("server-chipmunk"), (vec!["chipmunk"], true));
        assert_eq!(anchor_host("hawk"), (vec!["hawk"], false));
        assert_eq!(anchor_host("admin_alice"), (vec!["admin", "alice"], false));
        assert_eq!(anchor_host("host_my-router"), (vec!["my", "router"], true));
    }
}
