//! Making text safe to print: key material masked, terminal controls escaped.
//!
//! A diagnostic may quote its input, and its input may be a private key pasted
//! into the wrong file (`--network ~/.config/sops/age/keys.txt`): whatever a
//! renderer prints goes through [`redact_secrets`], in every format. The human
//! format also goes to terminals, where an escape sequence from a declaration
//! could rewrite the screen: [`escape_controls`].
use std::borrow::Cow;

/// Prefixes of secret key material that is masked after the prefix, matched
/// without regard to ASCII case (Bech32 keys may be written in lowercase).
const KEY_PREFIXES: [&str; 2] = ["AGE-SECRET-KEY-", "AGE-PLUGIN-"];

/// `text` with key material masked, each masked character replaced by `*` so that
/// widths (and carets under a snippet) stay the same: the body of an age identity
/// (the `AGE-SECRET-KEY-` and `AGE-PLUGIN-` prefixes) and of a PEM private key block
/// (`-----BEGIN … PRIVATE KEY-----`).
pub fn redact_secrets(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    let mut masked: Vec<(usize, usize)> = Vec::new();
    for prefix in KEY_PREFIXES {
        let needle = prefix.to_ascii_lowercase();
        let mut from = 0;
        while let Some(at) = lower[from..].find(&needle) {
            let start = from + at + needle.len();
            let len = text[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(text.len() - start);
            masked.push((start, start + len));
            from = start + len;
        }
    }
    let mut from = 0;
    while let Some(at) = lower[from..].find("private key-----") {
        let start = from + at + "private key-----".len();
        let end = lower[start..]
            .find("-----end")
            .map_or(text.len(), |n| start + n);
        masked.push((start, end));
        from = end;
    }
    if masked.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out: Vec<char> = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let secret = masked.iter().any(|&(s, e)| (s..e).contains(&i))
            && !c.is_whitespace()
            && c != '"'
            && c != '\'';
        out.push(if secret { '*' } else { c });
    }
    Cow::Owned(out.into_iter().collect())
}

/// Characters a terminal would act on rather than show: C0 controls but newline
/// and tab, DEL, C1 controls, bidirectional overrides and isolates, and the
/// noncharacters U+FFFE/U+FFFF.
pub fn is_unprintable(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FFFE}' | '\u{FFFF}')
}

/// `text` with every [`is_unprintable`] character written as a Rust-style escape
/// (`\u{1b}`), so a declaration cannot send escape sequences to a terminal.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unprintable) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unprintable(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Not a real key; spelled in parts so secret scanners do not flag the test.
    fn key() -> String {
        format!("{}-1QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", "AGE-SECRET-KEY")
    }

    #[test]
    fn age_identities_are_masked_in_any_case_keeping_widths() {
        let text = format!("unknown attribute `{}` here", key());
        let out = redact_secrets(&text);
        assert!(!out.contains("QPZRY9X8"), "{out}");
        assert_eq!(out.chars().count(), text.chars().count());
        let lower = text.to_lowercase();
        assert!(!redact_secrets(&lower).contains("qpzry9x8"));
        let plugin = format!("{}-YUBIKEY-1QQQSECRET", "AGE-PLUGIN");
        assert!(!redact_secrets(&plugin).contains("QQQSECRET"));
        assert!(matches!(
            redact_secrets("age1recipient is public"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn pem_private_key_bodies_are_masked() {
        let pem = format!(
            "-----BEGIN OPENSSH {} KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
            "PRIVATE"
        );
        let out = redact_secrets(&pem);
        assert!(!out.contains("b3BlbnNza"), "{out}");
        assert!(out.contains("-----END OPENSSH PRIVATE KEY-----"), "{out}");
    }

    #[test]
    fn controls_are_escaped() {
        assert_eq!(
            escape_controls("a\u{1b}[31mb\u{7f}\u{85}\u{202e}c\n"),
            "a\\u{1b}[31mb\\u{7f}\\u{85}\\u{202e}c\n"
        );
    }
}
