//! `check` on a repository shaped like a real operator's (issue 15):
//! `tests/fixtures/repos/homelab-real/`. Every planted problem is marked
//! `PLANTED` in the fixture; the test asserts the exact set of findings (rule,
//! severity, file, line), that history prose gives no error or warning, and that
//! the human report stays short enough to read.
use crate::support::TempRepo;
use serde_json::Value;

const FIXTURE: &str = "fixtures/repos/homelab-real";

/// The age recipient of the retired `git` VM (see the fixture's `nix/network.nix`).
const GIT_KEY: &str = "age1lv305yra8ukcwc8nju679dzmqf9j93k6a95kg4xwnm8llwcaleasf3ry76";
const ALICE_KEY: &str = "age1gap5y5qj0xxzsx80vgf5h4g8e3n43vuaxw4gg7p6ngul0dwd2scsk8yd6j";
const HAWK_KEY: &str = "age1veqzg5vma63guh7lttpxj8mft3ea6dddtm6a62as87ns9ucctd3qeaj20t";

/// A SOPS file of about 5 MiB (over the 4 MiB read in one piece), still
/// encrypted to the retired `git` VM: its metadata is at the end.
fn big_sops_file() -> String {
    let value = "ENC[AES256_GCM,data:Zml4dHVyZQ==,iv:Zml4dHVyZQ==,tag:Zml4dHVyZQ==,type:str]";
    let mut text = String::with_capacity(5 * 1024 * 1024 + 4096);
    let mut i = 0;
    while text.len() < 5 * 1024 * 1024 {
        text.push_str(&format!("chunk{i:06}: {value}\n"));
        i += 1;
    }
    text.push_str("sops:\n    age:\n");
    for key in [ALICE_KEY, HAWK_KEY, GIT_KEY] {
        text.push_str(&format!(
            "        - recipient: {key}\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            YWdl\n            -----END AGE ENCRYPTED FILE-----\n"
        ));
    }
    text.push_str(&format!(
        "    lastmodified: \"2025-06-01T00:00:00Z\"\n    mac: {value}\n    version: 3.10.2\n"
    ));
    text
}

fn repo() -> TempRepo {
    let repo = TempRepo::from_fixture(FIXTURE);
    repo.write("secrets/hawk/archive.yaml", &big_sops_file());
    repo.commit_all();
    repo
}

/// The line of the big file's recipient of `GIT_KEY`.
fn big_file_git_line() -> u64 {
    let text = big_sops_file();
    let at = text.find(GIT_KEY).expect("the key is in the file");
    text[..at].matches('\n').count() as u64 + 1
}

fn json_findings(repo: &TempRepo, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["check", "--format", "json"];
    all.extend_from_slice(args);
    let run = repo.run(&all);
    run.expect_code(1);
    run.findings()
}

use crate::support::finding_key as key;

#[test]
fn every_planted_problem_and_nothing_else() {
    let repo = repo();
    let findings = json_findings(&repo, &[]);
    let mut got: Vec<String> = findings.iter().map(key).collect();
    got.sort();
    let big = format!(
        "error retired-recipient secrets/hawk/archive.yaml:{}",
        big_file_git_line()
    );
    let mut want: Vec<String> = [
        // The flake built with `with self.lib; let … in` and a helper.
        "error retired-nixos-config flake.nix:17",
        // `nixos/hosts/<name>/`.
        "error retired-hosts-dir nixos/hosts/storage/default.nix:1",
        // The catch-all rule that matches only `secrets/helm-values.yaml`.
        "error sops-rule-unused .sops.yaml:25",
        // The cluster join token still readable by the retired NAS.
        "error retired-recipient secrets/chipmunk/k3s.yaml:15",
        // The app-of-apps still lists the deleted operator Application.
        "error kustomize-path-missing kubernetes/argocd/apps/kustomization.yaml:8",
        // A dead NetworkPolicy that would widen marmithon's fence.
        "error networkpolicy-dead-widens kubernetes/base/apps/irc/marmithon/allow-egress.yaml:4",
        // A workstation whose host refuses the LAN routes.
        "error tailscale-host-contradicts-role nixos/hosts/calypso/default.nix:10",
        // A subnet router running "both": loose reverse-path filtering for nothing.
        "error tailscale-host-contradicts-role nixos/hosts/routy/default.nix:6",
        // A hand-written gluetun sidecar nobody declared.
        "warning egress-undeclared kubernetes/base/apps/media/jellyfin/deployment.yaml:22",
        // Whose key is `&ci`?
        "warning sops-recipient-unknown .sops.yaml:6",
        // A listed NetworkPolicy whose selector matches no pod of `media`.
        "warning networkpolicy-selects-nothing kubernetes/base/apps/media/jellyfin/networkpolicy.yaml:3",
        // A dead Ingress.
        "warning kustomize-dead-manifest kubernetes/base/apps/media/jellyfin/old-ingress.yaml:3",
        // Live configuration naming retired hosts: an FQDN, an address.
        "warning retired-mention nixos/modules/backup.nix:6",
        "warning retired-mention nixos/modules/firewall.nix:6",
        // The migration plan: one note for the file.
        "note retired-mention-note docs/plans/storage-to-hawk.md:6",
        // Bare words (`/srv/storage`, `git clone`, `Eagle-200`): summed up in one note.
        "note retired-mention-note -:-",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    want.push(big);
    want.sort();
    assert_eq!(
        got,
        want,
        "findings differ:\n{}",
        serde_json::to_string_pretty(&findings).unwrap_or_default()
    );
    // History prose: no error and no warning from `docs/`.
    assert!(
        findings
            .iter()
            .all(|f| f["severity"] == "note"
                || !f["file"].as_str().unwrap_or("").starts_with("docs/")),
        "{findings:#?}"
    );
}

#[test]
fn the_human_report_is_short() {
    let repo = repo();
    let run = repo.run(&["check"]);
    run.expect_code(1);
    let out = run.stdout();
    let lines = out.lines().count();
    assert!(lines < 80, "{lines} lines:\n{out}");
    assert!(
        out.trim_end()
            .lines()
            .last()
            .unwrap_or("")
            .starts_with("error: 9 errors, 6 warnings, 2 notes ("),
        "{out}"
    );
}

#[test]
fn mentions_all_lists_history_prose_and_bare_words() {
    let repo = repo();
    let findings = json_findings(&repo, &["--mentions", "all"]);
    let notes: Vec<String> = findings
        .iter()
        .filter(|f| f["rule"] == "retired-mention-note")
        .map(key)
        .collect();
    // The history file (marked), a bare word in a live file, another case.
    for want in [
        "note retired-mention-note docs/migration/2025-gitea.md:4",
        "note retired-mention-note nixos/hosts/hawk/default.nix:1",
        "note retired-mention-note kubernetes/charts/hass/values.yaml:2",
    ] {
        assert!(
            notes.iter().any(|n| n == want),
            "{want} missing: {notes:#?}"
        );
    }
    // Still no warning from prose, and the same warnings as without the flag.
    let warnings: Vec<String> = findings
        .iter()
        .filter(|f| f["severity"] == "warning" && f["rule"] == "retired-mention")
        .map(key)
        .collect();
    assert_eq!(
        warnings,
        [
            "warning retired-mention nixos/modules/backup.nix:6",
            "warning retired-mention nixos/modules/firewall.nix:6"
        ]
    );
}
