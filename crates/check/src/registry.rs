//! Every diagnostic id avalanche-net can report, in one registry: reading the
//! declarations ([`avalanche_nix::rules`]), decoding them and their references
//! ([`avalanche_model::rules`]), and the repository rules of `check`
//! ([`crate::rules`]). A [`Diagnostic`](avalanche_diag::Diagnostic) holds a
//! `&'static Rule`, so it can only carry an id declared with
//! [`avalanche_diag::rules!`]; the binary's registry test proves every such
//! block is listed here.
//!
//! ```
//! let rule = avalanche_check::registry::find("egress-unknown-proxy").expect("registered");
//! assert!(!rule.could_not_run);
//! assert!(avalanche_check::registry::find("nix-syntax").is_some_and(|r| r.could_not_run));
//! ```
use avalanche_diag::Rule;

/// The registered rule lists, by the stage that reports them, in `explain`'s order.
pub const GROUPS: &[(&str, &[Rule])] = &[
    ("repository rules (`check`)", crate::rules::ALL),
    ("reading the declarations", avalanche_nix::rules::ALL),
    (
        "the declarations' shape and references",
        avalanche_model::rules::ALL,
    ),
];

/// Every registered rule.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    GROUPS.iter().flat_map(|(_, rules)| rules.iter())
}

/// The rule with id `id`.
pub fn find(id: &str) -> Option<&'static Rule> {
    all().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_every_stage_and_documented() {
        let mut ids: Vec<&str> = all().map(|r| r.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "an id is registered twice");
        for rule in all() {
            assert!(
                rule.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                rule.id
            );
            assert!(
                !rule.summary.is_empty() && !rule.explanation.is_empty(),
                "{}",
                rule.id
            );
        }
        // "Could not run" is the readers' property, not an id prefix's.
        assert!(avalanche_nix::rules::ALL.iter().all(|r| r.could_not_run));
        assert!(
            all()
                .filter(|r| r.could_not_run)
                .all(|r| avalanche_nix::rules::ALL.contains(r))
        );
    }
}
