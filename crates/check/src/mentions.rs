//! Mentions of retired hosts in the repository's other text files.
//!
//! History is not a leftover: a migration plan that names a retired host on
//! purpose is prose, not configuration. And host names are often common words
//! (`storage`, `git`): a bare word is weak evidence. So a mention is judged by
//! where it is and what it says:
//!
//! - a file marked [`HISTORY_MARKER`] is history: its mentions are not shown;
//! - a mention *names a host* when it is an FQDN under a declared domain, a
//!   `hosts/<name>` path, a Nix attribute name, a URL or ssh host, a
//!   `host:port`, a DNS zone record, a configuration value that is exactly the
//!   name (`"storage"`, `kubernetes.io/hostname: storage`), or one of the host's
//!   declared addresses; only those count, and only in the exact case declared;
//! - in live configuration (code, YAML, Nix, scripts) each such line is a
//!   warning; in prose (`.md`, `.txt`, `.rst`, `.adoc`) the file gets one note;
//! - the rest (bare words, other cases) is summed up in one note, and listed
//!   with `--mentions all`.
use crate::facts::Loc;
use crate::retired::Retired;
use crate::{Checker, rules};
use std::collections::HashSet;

/// A line holding this marks the whole file as history (see `explain retired-mention`).
pub const HISTORY_MARKER: &str = "avalanche-net: history";

/// Extensions of prose files: documentation, where history is written on purpose.
const PROSE_EXTENSIONS: &[&str] = &[
    "md", "markdown", "mdx", "txt", "rst", "adoc", "asciidoc", "org",
];

/// Whether `path` is prose rather than live configuration or code.
pub(crate) fn is_prose(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((_, ext)) => PROSE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()),
        // `README`, `CHANGELOG`, `NOTES`, … without an extension.
        None => {
            let upper = name.to_ascii_uppercase();
            ["README", "CHANGELOG", "CHANGES", "HISTORY", "NEWS", "NOTES"]
                .iter()
                .any(|p| upper.starts_with(p))
        }
    }
}

/// What makes a mention name a host (shown in the finding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    Fqdn,
    Address,
    HostPath,
    NixAttribute,
    UrlHost,
    HostPort,
    DnsRecord,
    Value,
}

impl Evidence {
    fn describe(self) -> &'static str {
        match self {
            Evidence::Fqdn => "as a name under a declared domain",
            Evidence::Address => "by its address",
            Evidence::HostPath => "as a host directory",
            Evidence::NixAttribute => "as a Nix attribute",
            Evidence::UrlHost => "as a URL or ssh host",
            Evidence::HostPort => "as `host:port`",
            Evidence::DnsRecord => "in a DNS record",
            Evidence::Value => "as a configuration value",
        }
    }
}

/// One mention found in a file.
struct Mention<'r, 'a> {
    start: usize,
    end: usize,
    line: usize,
    host: &'r Retired<'a>,
    /// The name or address as written.
    matched: String,
    /// `None`: weak evidence (a bare word, or another case).
    evidence: Option<Evidence>,
}

/// The text around a match, for judging it.
struct Around<'t> {
    text: &'t str,
    start: usize,
    end: usize,
}

impl Around<'_> {
    fn before(&self) -> &str {
        &self.text[..self.start]
    }
    fn after(&self) -> &str {
        &self.text[self.end..]
    }
    fn prev(&self) -> Option<u8> {
        self.before().bytes().last()
    }
    fn next(&self) -> Option<u8> {
        self.after().bytes().next()
    }
    /// The match's line, and the match's offset in it.
    fn line(&self) -> (&str, usize) {
        let line_start = self.before().rfind('\n').map_or(0, |n| n + 1);
        let line_end = self
            .after()
            .find('\n')
            .map_or(self.text.len(), |n| self.end + n);
        (&self.text[line_start..line_end], self.start - line_start)
    }
}

/// Whether `rest` starts with one of `domains` as a whole name (`home.example.org`
/// in `home.example.org:22`, not in `home.example.organic`).
fn starts_with_domain(rest: &str, domains: &[String]) -> bool {
    domains.iter().any(|d| {
        rest.strip_prefix(d.as_str()).is_some_and(|tail| {
            let mut b = tail.bytes();
            match b.next() {
                None => true,
                Some(c) if c.is_ascii_alphanumeric() || c == b'-' => false,
                Some(b'.') => !b.next().is_some_and(|c| c.is_ascii_alphanumeric()),
                Some(_) => true,
            }
        })
    })
}

/// How a whole-word match of a name is to be taken: `Err(())` when it is part
/// of another dotted name (`storage.k8s.io`, `pkgs.git`, `.git/`) and so no
/// mention at all; `Ok(None)` for a bare word; `Ok(Some(_))` when it names a host.
fn judge(a: &Around<'_>, nix: bool, domains: &[String]) -> Result<Option<Evidence>, ()> {
    let after = a.after();
    let before = a.before();
    let dotted_after = after.starts_with('.')
        && after[1..]
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if dotted_after {
        return if starts_with_domain(&after[1..], domains) {
            Ok(Some(Evidence::Fqdn))
        } else {
            Err(())
        };
    }
    if a.prev() == Some(b'.') {
        if nix && before.ends_with("nixosConfigurations.") {
            return Ok(Some(Evidence::NixAttribute));
        }
        return Err(());
    }
    if a.prev() == Some(b'@') || before.ends_with("://") || before.ends_with("ssh ") {
        return Ok(Some(Evidence::UrlHost));
    }
    if ["hosts/", "machines/"].iter().any(|p| before.ends_with(p)) {
        return Ok(Some(Evidence::HostPath));
    }
    if after.starts_with(':')
        && after[1..]
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    {
        return Ok(Some(Evidence::HostPort));
    }
    let quote = |c: Option<u8>| matches!(c, Some(b'"' | b'\''));
    if quote(a.prev()) && a.prev() == a.next() {
        return Ok(Some(Evidence::Value));
    }
    let (line, at) = a.line();
    let head = line[..at].trim();
    let tail = line[at + (a.end - a.start)..].trim();
    if nix && tail.starts_with('=') && !tail.starts_with("==") {
        let prev_code = head.bytes().last();
        if matches!(prev_code, None | Some(b'{' | b';')) || head.ends_with("inherit") {
            return Ok(Some(Evidence::NixAttribute));
        }
    }
    // `kubernetes.io/hostname: storage`, `host: storage`, `- storage`: the whole value.
    let value_alone = tail.is_empty() || tail.starts_with('#');
    if value_alone && (head.ends_with(':') || head == "-") {
        return Ok(Some(Evidence::Value));
    }
    if head.ends_with("kubernetes.io/hostname=") {
        return Ok(Some(Evidence::Value));
    }
    // A zone file: `storage  IN  A  10.1.0.20`, `storage 300 CNAME hawk`.
    if head.is_empty() {
        let mut words = tail.split_whitespace();
        let mut w = words.next();
        while let Some(x) = w {
            if x.bytes().all(|c| c.is_ascii_digit()) || x == "IN" {
                w = words.next();
            } else {
                break;
            }
        }
        if matches!(
            w,
            Some("A" | "AAAA" | "CNAME" | "MX" | "TXT" | "PTR" | "SRV" | "NS")
        ) {
            return Ok(Some(Evidence::DnsRecord));
        }
    }
    Ok(None)
}

/// Byte ranges of `address` in `text` as a whole address (`10.1.0.20` in
/// `10.1.0.20/32`, not in `10.1.0.200` or `110.1.0.20`).
fn find_address(text: &str, address: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let part = |c: u8| c.is_ascii_hexdigit() || c == b':';
    memchr::memmem::find_iter(bytes, address.as_bytes())
        .filter(|&s| {
            let e = s + address.len();
            let before_ok = s == 0 || !(part(bytes[s - 1]) || bytes[s - 1] == b'.');
            let after_ok = match bytes.get(e) {
                None => true,
                Some(c) if part(*c) => false,
                Some(b'.') => !bytes.get(e + 1).is_some_and(u8::is_ascii_digit),
                Some(_) => true,
            };
            before_ok && after_ok
        })
        .map(|s| (s, s + address.len()))
        .collect()
}

/// Reports the mentions of `retired` hosts in every tracked text file but those
/// `skip` says are reported otherwise. Lines in `reported` already have a finding.
pub(crate) fn check(
    cx: &mut Checker<'_>,
    retired: &[Retired<'_>],
    reported: &HashSet<(String, usize)>,
) {
    let facts = cx.facts;
    let all = cx.options.mentions_all;
    let domains: Vec<String> = cx.network.domains.iter().map(|d| d.value.clone()).collect();
    // Files inside a retired host's directory are reported once, as the directory.
    let mut skip_dirs: Vec<String> = Vec::new();
    for r in retired {
        for n in &r.names {
            skip_dirs.push(format!("secrets/{n}/"));
        }
        for host in &cx.host_dirs {
            if r.matching(&host.name).is_some() {
                skip_dirs.push(host.dir.to_ascii_lowercase());
            }
        }
    }
    let names: Vec<(&Retired<'_>, &str)> = retired
        .iter()
        .flat_map(|r| r.names.iter().map(move |n| (r, n.as_str())))
        .collect();
    let addresses: Vec<(&Retired<'_>, String)> = retired
        .iter()
        .flat_map(|r| {
            r.host
                .addresses
                .iter()
                .map(move |a| (r, a.value.to_string()))
        })
        .collect();
    let finder = NameFinder::new(names.iter().map(|(_, n)| *n));
    // Encrypted values are base64: a name can occur in them by chance.
    let sops_files: HashSet<&str> = facts.sops_files.iter().map(|f| f.path.as_str()).collect();
    let (mut hidden, mut hidden_files) = (0usize, 0usize);
    for path in &facts.paths {
        // Generated files derive from the declarations, like the declarations themselves.
        if facts.declarations.contains(path)
            || facts.generated.contains(path)
            || sops_files.contains(path.as_str())
        {
            continue;
        }
        if !skip_dirs.is_empty() {
            let lower = path.to_ascii_lowercase();
            if skip_dirs.iter().any(|d| lower.starts_with(d)) {
                continue;
            }
        }
        let Some(text) = facts.text(path) else {
            continue;
        };
        let nix = path.ends_with(".nix");
        let mut found: Vec<Mention<'_, '_>> = Vec::new();
        let bytes = text.as_bytes();
        for (start, end) in finder.find_all(bytes) {
            let word_before = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
            let word_after = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
            if !(word_before && word_after) {
                continue;
            }
            let matched = &text[start..end];
            let Some((host, name)) = names.iter().find(|(_, n)| n.eq_ignore_ascii_case(matched))
            else {
                continue;
            };
            let a = Around { text, start, end };
            let Ok(evidence) = judge(&a, nix, &domains) else {
                continue;
            };
            // Case-sensitive: `Eagle-200` is a product, `eagle` the host.
            let evidence = evidence.filter(|_| matched == *name);
            found.push(Mention {
                start,
                end,
                line: 0,
                host,
                matched: matched.to_owned(),
                evidence,
            });
        }
        for (host, address) in &addresses {
            for (start, end) in find_address(text, address) {
                found.push(Mention {
                    start,
                    end,
                    line: 0,
                    host,
                    matched: address.clone(),
                    evidence: Some(Evidence::Address),
                });
            }
        }
        if found.is_empty() {
            continue;
        }
        found.sort_by_key(|m| m.start);
        let (mut line, mut counted_to) = (1usize, 0usize);
        for m in &mut found {
            line += bytes[counted_to..m.start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            counted_to = m.start;
            m.line = line;
        }
        // One mention per line: the strongest, then the first.
        found.sort_by_key(|m| (m.line, m.evidence.is_none(), m.start));
        found.dedup_by_key(|m| m.line);
        found.retain(|m| !reported.contains(&(path.clone(), m.line)));
        let history = text.contains(HISTORY_MARKER);
        if history && !all {
            continue;
        }
        let prose = is_prose(path);
        let (strong, weak): (Vec<&Mention<'_, '_>>, Vec<&Mention<'_, '_>>) =
            found.iter().partition(|m| m.evidence.is_some() && !history);
        if all {
            for m in &found {
                let why = if history {
                    "in a file marked as history".to_owned()
                } else if prose && m.evidence.is_some() {
                    "in prose".to_owned()
                } else if m.evidence.is_none() {
                    "a bare word or another case: weak evidence".to_owned()
                } else {
                    continue;
                };
                let span = cx.span(&loc(path, m));
                let message = format!("`{path}` mentions {} ({why})", what(m));
                cx.emit(&rules::RETIRED_MENTION_NOTE, message, Some(span));
            }
        } else if !weak.is_empty() {
            hidden += weak.len();
            hidden_files += 1;
        }
        if strong.is_empty() {
            continue;
        }
        if prose {
            if all {
                continue;
            }
            let first = strong[0];
            let span = cx.span(&loc(path, first));
            let mut hosts: Vec<&str> = strong.iter().map(|m| m.host.name).collect();
            hosts.sort_unstable();
            hosts.dedup();
            let message = format!(
                "`{path}` names retired host{} {} on {} line{} (prose: history, not a leftover)",
                if hosts.len() == 1 { "" } else { "s" },
                crate::list(&hosts),
                strong.len(),
                if strong.len() == 1 { "" } else { "s" },
            );
            let lines: Vec<String> = strong.iter().take(3).map(|m| m.line.to_string()).collect();
            let more = if strong.len() > 3 { ", …" } else { "" };
            let d = cx.emit(&rules::RETIRED_MENTION_NOTE, message, Some(span));
            d.notes.push(format!("lines {}{more}", lines.join(", ")));
            d.help = Some(format!(
                "if the file is a record of the past, add a line `{HISTORY_MARKER}` to it; else reword it (`--mentions all` lists every mention)"
            ));
            continue;
        }
        for m in strong {
            let span = cx.span(&loc(path, m));
            let message = format!("`{path}` still names {}", what(m));
            cx.emit(&rules::RETIRED_MENTION, message, Some(span)).help = Some(format!(
                "remove or update it (a record of the past can be marked with a line `{HISTORY_MARKER}`, or listed in `.avalancheignore`)"
            ));
        }
    }
    if hidden > 0 {
        let message = format!(
            "{hidden} more mention{} of retired hosts in {hidden_files} file{} are bare words or in another case: weak evidence, not shown",
            if hidden == 1 { "" } else { "s" },
            if hidden_files == 1 { "" } else { "s" },
        );
        cx.emit(&rules::RETIRED_MENTION_NOTE, message, None).help =
            Some("`avalanche-net check --mentions all` lists them".into());
    }
}

fn loc(path: &str, m: &Mention<'_, '_>) -> Loc {
    Loc {
        path: path.to_owned(),
        start: m.start,
        end: m.end,
    }
}

/// "retired host `storage` as …", "`hetzner` (an alias of retired host `vps`)", "the address …".
fn what(m: &Mention<'_, '_>) -> String {
    match m.evidence {
        Some(Evidence::Address) => format!(
            "`{}`, an address of retired host `{}`",
            m.matched, m.host.name
        ),
        Some(e) => format!("{} {}", m.host.describe(&m.matched), e.describe()),
        None => m.host.describe(&m.matched),
    }
}

/// A case-insensitive (ASCII) search for several literal names at once, with the
/// matches of a leftmost-first regex alternation `(?i-u)a|b|…`: the earliest
/// start wins, the first name listed among those starting there, and the search
/// goes on after the match. Nothing to compile: one `memmem` finder per name.
pub(crate) struct NameFinder<'n> {
    finders: Vec<memchr::memmem::Finder<'n>>,
}

impl<'n> NameFinder<'n> {
    /// `names` must be lowercase.
    pub(crate) fn new(names: impl IntoIterator<Item = &'n str>) -> Self {
        NameFinder {
            finders: names
                .into_iter()
                .filter(|n| !n.is_empty())
                .map(memchr::memmem::Finder::new)
                .collect(),
        }
    }

    /// The byte ranges of the matches in `text`.
    pub(crate) fn find_all(&self, text: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.finders.is_empty() {
            return out;
        }
        // Lowercasing ASCII keeps every byte offset; most files need no copy.
        let lowered;
        let hay = if text.iter().any(u8::is_ascii_uppercase) {
            lowered = text.to_ascii_lowercase();
            &lowered[..]
        } else {
            text
        };
        // The next match of each name at or after `at` (`None`: no more).
        let mut next: Vec<Option<usize>> = vec![Some(0); self.finders.len()];
        let mut stale = vec![true; self.finders.len()];
        let mut at = 0;
        loop {
            let mut best: Option<(usize, usize)> = None;
            for (i, finder) in self.finders.iter().enumerate() {
                if stale[i] || next[i].is_some_and(|p| p < at) {
                    next[i] = finder.find(&hay[at..]).map(|p| p + at);
                    stale[i] = false;
                }
                if let Some(p) = next[i]
                    && best.is_none_or(|(b, _)| p < b)
                {
                    best = Some((p, i));
                }
            }
            let Some((start, i)) = best else { break };
            let end = start + self.finders[i].needle().len();
            out.push((start, end));
            at = end;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_finder_is_leftmost_first() {
        let f = NameFinder::new(["vps", "vps-old", "old"]);
        assert_eq!(
            f.find_all(b"a VPS-old vpsold"),
            [(2, 5), (6, 9), (10, 13), (13, 16)]
        );
        let f = NameFinder::new(["vps-old", "vps"]);
        assert_eq!(f.find_all(b"VPS-OLD vps"), [(0, 7), (8, 11)]);
        assert!(NameFinder::new(["x"]).find_all(b"").is_empty());
    }

    /// How the first `name` in `text` is judged.
    fn judged(text: &str, name: &str, nix: bool) -> Result<Option<Evidence>, ()> {
        let start = text.find(name).expect("the name is in the text");
        let a = Around {
            text,
            start,
            end: start + name.len(),
        };
        judge(&a, nix, &["home.example.org".to_owned()])
    }

    #[test]
    fn what_names_a_host_and_what_does_not() {
        use Evidence::*;
        type Judged = Result<Option<Evidence>, ()>;
        let cases: &[(&str, bool, Judged)] = &[
            ("ssh backup@storage.home.example.org", false, Ok(Some(Fqdn))),
            ("x storage.home.example.org:22", false, Ok(Some(Fqdn))),
            ("apiVersion: storage.k8s.io/v1", false, Err(())),
            ("x storage.home.example.organic", false, Err(())),
            ("pkgs.storage", true, Err(())),
            ("in .storage/hooks", false, Err(())),
            (
                "nixosConfigurations.storage = x;",
                true,
                Ok(Some(NixAttribute)),
            ),
            ("  storage = mkHost {};", true, Ok(Some(NixAttribute))),
            ("{ storage = 1; }", true, Ok(Some(NixAttribute))),
            ("a == storage", true, Ok(None)),
            ("root@storage", false, Ok(Some(UrlHost))),
            ("https://storage/x", false, Ok(Some(UrlHost))),
            ("ssh storage uptime", false, Ok(Some(UrlHost))),
            ("imports = [ ./hosts/storage ];", true, Ok(Some(HostPath))),
            ("nfs storage:2049", false, Ok(Some(HostPort))),
            ("host = \"storage\";", true, Ok(Some(Value))),
            ("  kubernetes.io/hostname: storage", false, Ok(Some(Value))),
            ("  - storage # the NAS", false, Ok(Some(Value))),
            ("-l kubernetes.io/hostname=storage", false, Ok(Some(Value))),
            ("storage   IN  A  10.1.0.20", false, Ok(Some(DnsRecord))),
            ("storage 300 CNAME hawk", false, Ok(Some(DnsRecord))),
            ("/srv/storage/media", false, Ok(None)),
            ("the storage box was retired", false, Ok(None)),
            ("storage: 10Gi", false, Ok(None)),
        ];
        for (text, nix, want) in cases {
            assert_eq!(&judged(text, "storage", *nix), want, "{text}");
        }
    }

    #[test]
    fn addresses_are_whole() {
        let text =
            "a 10.1.0.20 b 10.1.0.200 c 110.1.0.20 d 10.1.0.20/32 e 10.1.0.20.5 f 10.1.0.20.";
        let hits: Vec<&str> = find_address(text, "10.1.0.20")
            .into_iter()
            .map(|(s, e)| &text[s - 2..e])
            .collect();
        assert_eq!(hits, ["a 10.1.0.20", "d 10.1.0.20", "f 10.1.0.20"]);
        assert_eq!(find_address("fd00::1:2 fd00::1", "fd00::1").len(), 1);
    }

    #[test]
    fn prose_or_live() {
        for p in [
            "docs/plan.md",
            "NOTES.txt",
            "a/README",
            "x.adoc",
            "CHANGELOG",
        ] {
            assert!(is_prose(p), "{p}");
        }
        for p in ["flake.nix", "a.yaml", "deploy.sh", "Dockerfile", "x.md.nix"] {
            assert!(!is_prose(p), "{p}");
        }
    }
}
