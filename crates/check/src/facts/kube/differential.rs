//! The fast reader (`kube_yaml.rs`) against saphyr, on the hand-written
//! manifests of the test fixtures and the bundled tree, and on thousands of
//! mutations of them: whatever the fast reader reads, it must find exactly
//! what saphyr finds.
use super::{RepoFacts, fast_reader_disagreement};

/// Every YAML file of the fixtures and of the bundled Kubernetes tree, but SOPS
/// files (`check` does not read those as Kubernetes).
fn corpus() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    let mut dirs = vec![root.join("tests/fixtures"), root.join("kubernetes")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = path.to_string_lossy().into_owned();
            if (name.ends_with(".yaml") || name.ends_with(".yml"))
                && !name.contains(".sops.")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                out.push((name, text));
            }
        }
    }
    out.sort();
    out
}

/// What an edit may insert: YAML's indicators and the scalars it resolves
/// specially (the fast reader must give up on, or read as saphyr does, each).
const INSERTS: &[&str] = &[
    ": ",
    "- ",
    "#",
    " #",
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a ",
    "*a",
    "!t ",
    "|",
    ">",
    "? ",
    "\t",
    "\r",
    "---",
    "...",
    "%",
    "@",
    "`",
    "~",
    "null",
    "yes",
    "no",
    "on",
    "0x1F",
    "0o17",
    "1e3",
    ".inf",
    "-.5",
    "+1",
    "1_000",
    "2001-12-14",
    "\\",
    "ü",
    " ",
    "\u{2}",
    "\u{7f}",
    "\u{0}",
    "\u{fffe}",
];

#[test]
fn the_fast_reader_finds_what_saphyr_finds() {
    let corpus = corpus();
    assert!(corpus.len() >= 50, "only {} YAML files found", corpus.len());
    // A deterministic sequence (a 64-bit LCG), so a failure replays.
    let mut state: u64 = 0x6b75_6265_5f79_616d;
    let mut below = |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % n.max(1)
    };
    let mut read_fast = 0;
    let mut mutants_read_fast = 0;
    for (name, text) in &corpus {
        let path = name.rsplit('/').next().unwrap_or(name);
        if let Some(d) = fast_reader_disagreement(path, text) {
            panic!("{name}: {d}");
        }
        if RepoFacts::default().read_kube_file_fast(path, text) {
            read_fast += 1;
        }
        let mut current = text.clone();
        for round in 0..60 {
            if round % 5 == 0 {
                current = text.clone();
            }
            let lines: Vec<&str> = current.split_inclusive('\n').collect();
            if lines.is_empty() {
                break;
            }
            let i = below(lines.len());
            let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            match below(8) {
                0 => {
                    out.remove(i);
                }
                1 => out.insert(i, lines[i].to_owned()),
                2 => out[i] = format!("  {}", lines[i]),
                3 => out[i] = lines[i].trim_start().to_owned(),
                4 => out.swap(i, below(lines.len())),
                // At a value's start (after `key: ` or `- `), where a scalar's
                // properties and indicators change what it is.
                5 | 6 => {
                    let line = lines[i];
                    let at = line
                        .find(": ")
                        .map(|p| p + 2)
                        .or_else(|| line.find("- ").map(|p| p + 2))
                        .unwrap_or(line.len() - line.trim_start().len());
                    let insert = INSERTS[below(INSERTS.len())];
                    out[i] = format!("{}{insert}{}", &line[..at], &line[at..]);
                }
                _ => {
                    let line = lines[i];
                    let mut cut = below(line.len() + 1);
                    while !line.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    let insert = INSERTS[below(INSERTS.len())];
                    out[i] = format!("{}{insert}{}", &line[..cut], &line[cut..]);
                }
            }
            current = out.concat();
            if let Some(d) = fast_reader_disagreement(path, &current) {
                panic!("{name}, mutated:\n{current}\n{d}");
            }
            if RepoFacts::default().read_kube_file_fast(path, &current) {
                mutants_read_fast += 1;
            }
        }
    }
    // The comparison means something only if the fast reader reads most of
    // what operators write, mutated or not.
    assert!(
        read_fast * 2 >= corpus.len(),
        "the fast reader read {read_fast} of {} files",
        corpus.len()
    );
    assert!(
        mutants_read_fast > 500,
        "the fast reader read {mutants_read_fast} mutants ({read_fast} of {} files)",
        corpus.len()
    );
}

#[test]
fn a_character_yaml_forbids_is_left_to_saphyr() {
    // Found by the `kube_yaml` fuzz target: a control character inside a block
    // scalar (which the fast reader does not read) makes saphyr refuse the file.
    for text in [
        "kind: ConfigMap\ndata:\n  a.json: |\n    {\"x\u{2}\u{0}\": 1}\n",
        "kind: ConfigMap\nmetadata:\n  name: a\u{0}b\n",
        "kind: ConfigMap\nmetadata:\n  name: a\u{7f}b\u{fffe}\n",
    ] {
        assert_eq!(fast_reader_disagreement("a.yaml", text), None, "{text:?}");
        assert!(
            !RepoFacts::default().read_kube_file_fast("a.yaml", text),
            "{text:?}"
        );
    }
}
