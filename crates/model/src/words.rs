//! Naming things back to the user: the closest known name to a misspelled one,
//! and a list of names in a sentence. One owner for both, used by the resolver
//! here, by `check`'s rules and by `explain`.

/// The closest of `candidates` to `name`, when close enough to be a typo: the one
/// policy for every "did you mean" (attribute names in the decoder, references in
/// the resolver, hosts and tags in `check`, rule ids in `explain`). Case is
/// ignored (`podCidr` is `podCIDR`); the allowed distance grows with the word
/// (1 edit up to 4 characters, 2 up to 8, 3 beyond); ties go to the first in
/// alphabetical order, whatever order the candidates come in.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = match name.chars().count() {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let name = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&name, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// "`a`, `b` and `c`" (`none` for no items).
pub fn list(items: impl IntoIterator<Item = impl std::fmt::Display>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| format!("`{i}`")).collect();
    match items.len() {
        0 => "none".to_owned(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn one_policy_for_every_typo() {
        // Case is ignored: attribute names differ from their option by case.
        assert_eq!(
            did_you_mean("podCidr", ["serviceCIDR", "podCIDR"]),
            Some("podCIDR")
        );
        // The allowed distance grows with the word: 1 edit up to 4 characters…
        assert_eq!(did_you_mean("rol", ["role"]), Some("role"));
        assert_eq!(did_you_mean("ro", ["role"]), None);
        // …2 up to 8…
        assert_eq!(did_you_mean("exitnde", ["exit-node"]), Some("exit-node"));
        assert_eq!(did_you_mean("exitnd", ["exit-node"]), None);
        // …3 beyond.
        assert_eq!(
            did_you_mean("subnetrutr", ["subnet-router"]),
            Some("subnet-router")
        );
        assert_eq!(did_you_mean("xyz", ["role", "tags"]), None);
        // Ties go to the first alphabetically, whatever the order given.
        assert_eq!(did_you_mean("ab", ["ac", "aa"]), Some("aa"));
        assert_eq!(did_you_mean("ab", ["aa", "ac"]), Some("aa"));
    }
}
