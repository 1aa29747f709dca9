//! Where hosts live in a repository: the per-host directories of the common
//! layouts, the flake's `readDir` listings and the declared `repository.hostDirs`.
use crate::facts::{Loc, RepoFacts};
use crate::{Checker, rules};
use std::collections::BTreeMap;

/// Parents whose subdirectories are hosts, in the layouts operators use.
const LAYOUTS: &[&str] = &["hosts/", "nixos/hosts/", "machines/", "nixos/machines/"];

/// One host directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDir {
    /// The host name (the directory's name).
    pub name: String,
    /// The directory, with a trailing `/` (`nixos/hosts/vps/`).
    pub dir: String,
    /// Its first file, in path order (where findings point).
    pub first: String,
    /// How many files it holds.
    pub files: usize,
}

/// The host directories of the repository. `declared` are extra parents
/// (`repository.hostDirs`, repository-relative).
pub fn host_dirs(facts: &RepoFacts, declared: &[String]) -> Vec<HostDir> {
    let mut parents: Vec<String> = LAYOUTS.iter().map(|l| (*l).to_owned()).collect();
    if let Some(scan) = &facts.flake {
        parents.extend(scan.host_dirs.iter().map(|d| format!("{}/", d.dir)));
    }
    parents.extend(
        declared
            .iter()
            .map(|d| format!("{}/", d.trim_start_matches("./").trim_end_matches('/'))),
    );
    parents.sort();
    parents.dedup();
    let mut found: BTreeMap<String, HostDir> = BTreeMap::new();
    for path in &facts.paths {
        let mut hit = |dir: String, name: &str| {
            found
                .entry(dir.clone())
                .and_modify(|d| d.files += 1)
                .or_insert_with(|| HostDir {
                    name: name.to_owned(),
                    dir,
                    first: path.clone(),
                    files: 1,
                });
        };
        for parent in &parents {
            if let Some((name, _)) = path
                .strip_prefix(parent.as_str())
                .and_then(|rest| rest.split_once('/'))
            {
                hit(format!("{parent}{name}/"), name);
            }
        }
        // `systems/<arch>/<name>/` (`x86_64-linux`, `aarch64-darwin`, …).
        if let Some(rest) = path.strip_prefix("systems/")
            && let Some((arch, rest)) = rest.split_once('/')
            && (arch.ends_with("-linux") || arch.ends_with("-darwin"))
            && let Some((name, _)) = rest.split_once('/')
        {
            hit(format!("systems/{arch}/{name}/"), name);
        }
    }
    found.into_values().collect()
}

/// A piece of Nix that is one host's own: a file of its host directory, a file
/// its own expression in `flake.nix` imports by path, or that expression itself.
pub(crate) struct OwnNix<'a> {
    /// Repository-relative path.
    pub path: String,
    /// The byte range that is the host's (`None`: the whole file).
    pub range: Option<(usize, usize)>,
    /// Its text, parsed at most once for all the rules (`None`: the file was not
    /// read as text, so nothing about it is known).
    pub nix: Option<avalanche_nix::nixos::Piece<'a>>,
}

/// The Nix that is `host`'s own (see [`OwnNix`]), or `None` when nothing is
/// known to be: the flake computes the host (no expression of its own) and it has
/// no host directory. Only `.nix` files; what is outside these (a helper, a module
/// list shared by every host, a common module) may be any host's.
pub(crate) fn own_nix<'a>(
    facts: &'a RepoFacts,
    dirs: &[HostDir],
    host: &str,
) -> Option<Vec<OwnNix<'a>>> {
    let piece = |path: &str, range: Option<(usize, usize)>| OwnNix {
        path: path.to_owned(),
        range,
        nix: facts
            .text(path)
            .map(|t| avalanche_nix::nixos::Piece::new(t, range)),
    };
    let mut own = Vec::new();
    for dir in dirs.iter().filter(|d| d.name == host) {
        let start = facts
            .paths
            .partition_point(|p| p.as_str() < dir.dir.as_str());
        own.extend(
            facts.paths[start..]
                .iter()
                .take_while(|p| p.starts_with(&dir.dir))
                .filter(|p| p.ends_with(".nix"))
                .map(|p| piece(p, None)),
        );
    }
    let definition = facts
        .flake
        .as_ref()
        .and_then(|scan| scan.hosts.iter().find(|h| h.name == host))
        .and_then(|h| h.definition);
    if let Some(range) = definition {
        let expression = piece(crate::facts::FLAKE, Some(range));
        // `modules = [ ./nixos/routy.nix ./hosts/routy ]`: a directory is its `default.nix`.
        let written = expression
            .nix
            .as_ref()
            .map(|n| n.relative_paths())
            .unwrap_or_default();
        own.push(expression);
        for written in written {
            let Some(path) = normal_relative(&written) else {
                continue;
            };
            let file = if facts.is_tracked(&path) {
                path
            } else {
                format!("{path}/default.nix")
            };
            if file.ends_with(".nix")
                && facts.is_tracked(&file)
                && !own.iter().any(|o| o.path == file)
            {
                own.push(piece(&file, None));
            }
        }
    }
    (!own.is_empty()).then_some(own)
}

/// `./a/b/` as the repository path `a/b` (the flake is at the root); `None` when it
/// leaves the repository.
fn normal_relative(written: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in written.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Says so when the flake's hosts cannot be listed and a rule needs them: never
/// silently off, never "no hosts". When real Nix listed them instead of the
/// static scan, a note says so (and which hosts).
pub(crate) fn check_flake_known(cx: &mut Checker<'_>) {
    let Some(scan) = &cx.facts.flake else { return };
    if scan.listed_by_nix() {
        let Some((why, (start, end))) = scan.static_unknown_at() else {
            return;
        };
        let span = cx.span(&Loc {
            path: crate::facts::FLAKE.into(),
            start,
            end,
        });
        let names: Vec<&str> = scan.hosts.iter().map(|h| h.name.as_str()).collect();
        let message = format!(
            "the flake's NixOS hosts were listed by real Nix, the static scan could not ({why}): {}",
            if names.is_empty() {
                "none".to_owned()
            } else {
                crate::list(&names)
            }
        );
        let d = cx.emit(&rules::FLAKE_HOSTS_EVALUATED, message, Some(span));
        d.notes.push(format!(
            "ran `{}`: offline, no lock file written, no import-from-derivation, no build",
            avalanche_nix::flake_eval::SHOWN
        ));
        return;
    }
    if scan.too_deep && scan.nix.is_none() {
        return; // `repo-file-invalid` already says the flake cannot be read.
    }
    let Some((why, (start, end))) = scan.unknown_at() else {
        return;
    };
    let network = cx.network;
    let managed = network
        .tailscale
        .nodes
        .values()
        .any(|n| n.role.value.is_managed());
    let mut off = Vec::new();
    if !network.retired.is_empty() {
        off.push("`retired-nixos-config` sees only the hosts found");
    }
    if managed {
        off.push("`tailscale-node-no-host` is off");
    }
    if off.is_empty() {
        return;
    }
    let span = cx.span(&Loc {
        path: crate::facts::FLAKE.into(),
        start,
        end,
    });
    let found: Vec<&str> = scan.hosts.iter().map(|h| h.name.as_str()).collect();
    let nix = match scan.nix_unavailable() {
        Some(reason) => format!(", and real Nix did not list them ({reason})"),
        None => String::new(),
    };
    let message = format!(
        "the flake's NixOS hosts cannot be listed statically: {why}{nix}; {}",
        off.join(", and ")
    );
    let d = cx.emit(&rules::FLAKE_HOSTS_UNKNOWN, message, Some(span));
    if !found.is_empty() {
        d.notes
            .push(format!("hosts found so far: {}", crate::list(&found)));
    }
    d.help = Some(format!(
        "write the host names literally (an attrset, or `genAttrs [ \"a\" \"b\" ]`), or declare the host directories in `repository.hostDirs`{}",
        if scan.nix.is_some() {
            "; or let real Nix list them: `nix` on PATH, without `--eval static`, and a `flake.lock` whose inputs are already in the store (it runs offline)"
        } else {
            ""
        }
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{RepoFile, RepoInput};

    #[test]
    fn the_common_layouts_and_declared_ones() {
        let files = [
            "hosts/a/default.nix",
            "nixos/hosts/b/configuration.nix",
            "nixos/hosts/b/hardware.nix",
            "machines/c/default.nix",
            "systems/x86_64-linux/d/default.nix",
            "systems/README.md",
            "infra/boxes/e/default.nix",
            "hosts/README.md",
        ];
        let facts = RepoFacts::build(RepoInput {
            files: files
                .iter()
                .map(|p| RepoFile {
                    path: (*p).into(),
                    text: Some(String::new()),
                })
                .collect(),
            ..RepoInput::default()
        });
        let dirs = host_dirs(&facts, &["./infra/boxes/".into()]);
        let names: Vec<(&str, &str, usize)> = dirs
            .iter()
            .map(|d| (d.name.as_str(), d.dir.as_str(), d.files))
            .collect();
        assert_eq!(
            names,
            [
                ("a", "hosts/a/", 1),
                ("e", "infra/boxes/e/", 1),
                ("c", "machines/c/", 1),
                ("b", "nixos/hosts/b/", 2),
                ("d", "systems/x86_64-linux/d/", 1),
            ]
        );
    }
}
