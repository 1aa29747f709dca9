//! Declared Tailscale roles versus what the hosts really run.
//!
//! Each managed node's host directory (`nixos/hosts/<name>/`, …; or the
//! directory setting `avalanche.tailscale.nodeName = "<name>"`) is read
//! statically for `services.tailscale.useRoutingFeatures` and for the flags of
//! `extraUpFlags`/`extraSetFlags` and `tailscale up|set` invocations. A value
//! that contradicts the declared capabilities is reported at the host file's
//! line. A setting must give what the declaration needs (as the NixOS module's
//! assertions judge: `both` covers `server` and `client`) and nothing it does not:
//! IP forwarding (`server`) on a node that routes nothing, or loose reverse-path
//! filtering (`client`) on a node that uses no one's routes, is reported too — so
//! `both` on a subnet router that accepts no routes is a contradiction.
use crate::facts::Loc;
use crate::{Checker, label, rules};
use avalanche_model::TailscaleNode;
use std::collections::BTreeSet;

/// One contradiction found in a host file.
struct Found {
    start: usize,
    end: usize,
    what: String,
    declared: String,
    fix: String,
}

/// Whether byte `at` of `text` is in a `#` comment (Nix, shell, systemd).
fn in_comment(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    text[line_start..at].contains('#')
}

/// The value of `useRoutingFeatures = "x"` and its range, for each occurrence.
fn routing_features(text: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("useRoutingFeatures") {
        if in_comment(text, at) {
            continue;
        }
        let rest = &text[at + "useRoutingFeatures".len()..];
        let Some(rest) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let rest_trim = rest.trim_start();
        let Some(value) = rest_trim.strip_prefix('"') else {
            continue;
        };
        let Some(end) = value.find('"') else { continue };
        let start = text.len() - value.len();
        out.push((start, start + end, &value[..end]));
    }
    out
}

/// The Tailscale flags written in `text` (`--accept-routes=false`, `--advertise-tags tag:x`):
/// flag, value (`None` for a bare boolean) and the range of the flag.
fn flags(text: &str) -> Vec<(usize, usize, &str, Option<&str>)> {
    const FLAGS: [&str; 4] = [
        "accept-routes",
        "advertise-routes",
        "advertise-exit-node",
        "advertise-tags",
    ];
    let mut out = Vec::new();
    for (at, _) in text.match_indices("--") {
        if in_comment(text, at) {
            continue;
        }
        let rest = &text[at + 2..];
        let Some(flag) = FLAGS.iter().find(|f| {
            rest.starts_with(**f)
                && !rest[f.len()..]
                    .bytes()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'-')
        }) else {
            continue;
        };
        let after = &rest[flag.len()..];
        let word_end = |s: &str| {
            s.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ']' | ';'))
                .unwrap_or(s.len())
        };
        let (value, end) = if let Some(v) = after.strip_prefix('=') {
            let n = word_end(v);
            (Some(&v[..n]), at + 2 + flag.len() + 1 + n)
        } else if matches!(*flag, "advertise-routes" | "advertise-tags") && after.starts_with(' ') {
            let v = after.trim_start();
            let n = word_end(v);
            (Some(&v[..n]), text.len() - v.len() + n)
        } else {
            (None, at + 2 + flag.len())
        };
        out.push((at, end, *flag, value));
    }
    out
}

fn truthy(value: Option<&str>) -> bool {
    !matches!(value, Some("false" | "0" | "f" | "F" | "FALSE" | "False"))
}

/// What the flags and settings of one host file contradict in `node`.
fn contradictions(text: &str, node: &TailscaleNode, exit_allowed: bool) -> Vec<Found> {
    let role = node.role.value.as_str();
    let routes: BTreeSet<String> = node
        .advertise_routes
        .iter()
        .map(|r| r.value.to_string())
        .collect();
    let exit = node.exit_node() && exit_allowed;
    let forwards = !routes.is_empty() || exit;
    let accepts = node.accepts_routes();
    let mut out = Vec::new();
    for (start, end, value) in routing_features(text) {
        let server = matches!(value, "server" | "both");
        let client = matches!(value, "client" | "both");
        let problem = if forwards && !server {
            Some(format!(
                "it forwards ({}), which needs \"server\" or \"both\"",
                if exit {
                    "an exit node"
                } else {
                    "subnet routes"
                }
            ))
        } else if accepts && !client {
            Some("it accepts subnet routes, which needs \"client\" or \"both\"".to_owned())
        } else if server && !forwards {
            Some("it advertises no route and is no exit node: IP forwarding is turned on for nothing".to_owned())
        } else if client && !accepts && !exit_allowed {
            // nixpkgs: "client" (and so "both") sets `networking.firewall.checkReversePath
            // = "loose"`, which only a node using others' routes or an exit node needs;
            // with exit nodes allowed, using one is not declared anywhere, so not judged.
            Some(format!(
                "it accepts no subnet routes and, exit nodes being forbidden, uses no exit node: \"{value}\" loosens reverse-path filtering (`checkReversePath = \"loose\"`) for nothing"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            let want = match (forwards, accepts) {
                (true, true) => "both",
                (true, false) => "server",
                (false, true) => "client",
                (false, false) => "none",
            };
            out.push(Found {
                start,
                end,
                what: format!("`useRoutingFeatures = \"{value}\"`"),
                declared: format!("`{role}`: {problem}"),
                fix: format!(
                    "set `useRoutingFeatures = \"{want}\"` (or leave it to the module), or change the node's declaration{}",
                    if client && !accepts {
                        " (`acceptRoutes = true;` if it uses the other nodes' routes)"
                    } else {
                        ""
                    }
                ),
            });
        }
    }
    for (start, end, flag, value) in flags(text) {
        let shown = match value {
            Some(v) => format!("--{flag}={v}"),
            None => format!("--{flag}"),
        };
        let problem = match flag {
            "accept-routes" if truthy(value) != accepts => Some(if accepts {
                format!("`{role}`, which accepts the subnet routes")
            } else {
                format!(
                    "`{role}`, which does not accept subnet routes (set `acceptRoutes = true;` if it should)"
                )
            }),
            "advertise-exit-node" if truthy(value) != exit => Some(if exit {
                format!("`{role}`, an exit node")
            } else {
                format!("`{role}`, not an exit node")
            }),
            "advertise-routes" => {
                let given: BTreeSet<String> = value
                    .unwrap_or("")
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                (given != routes).then(|| {
                    if routes.is_empty() {
                        format!("`{role}`, which advertises no route")
                    } else {
                        format!(
                            "`{role}`, which advertises {}",
                            routes.iter().cloned().collect::<Vec<_>>().join(",")
                        )
                    }
                })
            }
            "advertise-tags" => {
                let given: BTreeSet<&str> = value
                    .unwrap_or("")
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .collect();
                let declared: BTreeSet<&str> = node.tags.iter().map(|t| t.value.as_str()).collect();
                (given != declared)
                    .then(|| format!("`{role}` with the tags {}", crate::list(declared.iter())))
            }
            _ => None,
        };
        if let Some(declared) = problem {
            out.push(Found {
                start,
                end,
                what: format!("`{shown}`"),
                declared,
                fix: "remove the flag (the NixOS module sets what the declaration says), or change the node's declaration".to_owned(),
            });
        }
    }
    out
}

/// `avalanche.tailscale.nodeName = "x"` (or `nodeName = "x";`) in a host file.
fn node_name(text: &str) -> Option<&str> {
    let at = text.find("nodeName")?;
    let rest = text[at + "nodeName".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    rest.find('"').map(|end| &rest[..end])
}

pub(crate) fn check(cx: &mut Checker<'_>) {
    let network = cx.network;
    let facts = cx.facts;
    let exit_allowed = network.tailscale.exit_nodes.value == avalanche_model::Permission::Allowed;
    let dirs = cx.host_dirs.clone();
    for dir in &dirs {
        let files: Vec<&String> = facts
            .paths
            .iter()
            .filter(|p| p.starts_with(&dir.dir))
            .filter(|p| {
                p.ends_with(".nix")
                    || p.ends_with(".sh")
                    || !p.rsplit('/').next().unwrap_or("").contains('.')
            })
            .collect();
        let texts: Vec<(&String, &str)> = files
            .iter()
            .filter_map(|p| facts.text(p).map(|t| (*p, t)))
            .collect();
        let name = texts
            .iter()
            .find_map(|(_, t)| node_name(t))
            .unwrap_or(dir.name.as_str());
        let Some((node_key, node)) = network
            .tailscale
            .nodes
            .iter()
            .find(|(n, _)| n.as_str() == name)
        else {
            continue;
        };
        if !node.role.value.is_managed() {
            continue;
        }
        for (path, text) in texts {
            for found in contradictions(text, node, exit_allowed) {
                let span = cx.span(&Loc {
                    path: path.clone(),
                    start: found.start,
                    end: found.end,
                });
                let message = format!(
                    "`{path}` sets {}, but node `{node_key}` is declared {}",
                    found.what, found.declared
                );
                let d = cx.emit(&rules::TAILSCALE_HOST_CONTRADICTS_ROLE, message, Some(span));
                d.help = Some(found.fix);
                label(d, node.role.span, "declared here");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_as_written() {
        let text = "tailscale set --accept-routes=false --ssh\nextraUpFlags = [ \"--advertise-tags=tag:a,tag:b\" \"--advertise-exit-node\" ];\ntailscale up --advertise-routes 10.1.0.0/24\n";
        let got: Vec<(&str, Option<&str>, &str)> = flags(text)
            .into_iter()
            .map(|(s, e, f, v)| (f, v, &text[s..e]))
            .collect();
        assert_eq!(
            got,
            [
                ("accept-routes", Some("false"), "--accept-routes=false"),
                (
                    "advertise-tags",
                    Some("tag:a,tag:b"),
                    "--advertise-tags=tag:a,tag:b"
                ),
                ("advertise-exit-node", None, "--advertise-exit-node"),
                (
                    "advertise-routes",
                    Some("10.1.0.0/24"),
                    "--advertise-routes 10.1.0.0/24"
                ),
            ]
        );
        let rf = routing_features(
            "# useRoutingFeatures = \"server\";\nservices.tailscale.useRoutingFeatures = \"both\";",
        );
        assert_eq!(rf.len(), 1);
        assert!(flags("# tailscale set --accept-routes=false").is_empty());
        assert_eq!(rf[0].2, "both");
        assert_eq!(
            node_name("avalanche.tailscale.nodeName = \"gw\";"),
            Some("gw")
        );
    }
}
