//! Naming things back to the user: the closest known name to a misspelled one,
//! and a list of names in a sentence. One owner for both, used by the resolver
//! here, by `check`'s rules and by `explain`.

/// The closest of `candidates` to `name`, when close enough to be a typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
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
