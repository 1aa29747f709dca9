//! The line scan against the full parse, on real, generated and mutated files.
use super::*;

/// Files sops (Go) and `secrets seal` wrote.
const REAL: &[&str] = &[
    include_str!("../../../../tests/fixtures/sops-vectors/nested-list.sops.yaml"),
    include_str!("../../../../tests/fixtures/sops-vectors/ssh-recipient.sops.yaml"),
    include_str!("../../../../fuzz/seeds/sops_decrypt/bundled-k8s-secret.sops.yaml"),
    include_str!("../../../../fuzz/seeds/sops_decrypt/bundled-routy-plain.sops.yaml"),
    include_str!("../../../../fuzz/seeds/sops_decrypt/plain-demo-key.sops.json"),
];

/// A deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// SOPS files as the writer lays them out: YAML and JSON, one or several
/// documents, recipients at the top level or in key groups.
fn generated(rng: &mut Rng) -> Vec<String> {
    // The scan passes over a block scalar by its indentation: some stanzas
    // have the armor first (the recipient after it, at the armor key's column)
    // and a blank line inside it.
    let stanza = |r: &str, armor_first: bool| {
        let recipient = ("recipient".into(), Value::Str(r.into()));
        let enc = if armor_first {
            "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"
        } else {
            "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"
        };
        let enc = ("enc".into(), Value::Str(enc.into()));
        Value::Map(if armor_first {
            vec![enc, recipient]
        } else {
            vec![recipient, enc]
        })
    };
    let mut out = Vec::new();
    for n in 0..12 {
        let recipients: Vec<String> = (0..1 + rng.below(3))
            .map(|i| format!("age1{}q{n}{i}", "x".repeat(20 + rng.below(30))))
            .collect();
        let age = Value::Seq(
            recipients
                .iter()
                .enumerate()
                .map(|(i, r)| stanza(r, (n + i) % 4 == 3))
                .collect(),
        );
        let mut meta = vec![];
        if n % 3 == 2 {
            meta.push((
                "key_groups".into(),
                Value::Seq(vec![Value::Map(vec![("age".into(), age)])]),
            ));
        } else {
            meta.push(("age".into(), age));
        }
        meta.push((
            "lastmodified".into(),
            Value::Str("2025-01-01T00:00:00Z".into()),
        ));
        meta.push((
            "mac".into(),
            Value::Str("ENC[AES256_GCM,data:x,type:str]".into()),
        ));
        meta.push(("version".into(), Value::Str("3.9.0".into())));
        let doc = |i: usize| {
            Value::Map(vec![
                ("apiVersion".into(), Value::Str("v1".into())),
                (
                    "data".into(),
                    Value::Map(vec![(
                        format!("k{i}"),
                        Value::Str("ENC[AES256_GCM,data:y]".into()),
                    )]),
                ),
                ("note".into(), Value::Str("sops: mac in a value".into())),
                ("sops".into(), Value::Map(meta.clone())),
            ])
        };
        let docs: Vec<Value> = (0..1 + n % 3).map(doc).collect();
        out.push(tree::emit_documents(&docs, Format::Yaml));
        out.push(tree::emit_documents(&docs[..1], Format::Json));
    }
    out
}

/// One random edit of `text`.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.is_empty() {
        return "sops:\n    mac: x\n".into();
    }
    let i = rng.below(lines.len());
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    match rng.below(10) {
        0 => {
            out.remove(i);
        }
        1 => out.insert(i, lines[i].to_owned()),
        2 => out[i] = format!("  {}", lines[i]),
        3 => out[i] = lines[i].trim_start().to_owned(),
        4 => {
            let j = rng.below(lines.len());
            out.swap(i, j);
        }
        5 => out.truncate(i),
        6 => {
            let line = &lines[i];
            let mut cut = rng.below(line.len() + 1);
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            let ins = [
                ":", "- ", "# c", " ", "\"", "'", "{", "\t", "\n", "|", "&a ", "!t ",
            ];
            out[i] = format!(
                "{}{}{}",
                &line[..cut],
                ins[rng.below(ins.len())],
                &line[cut..]
            );
        }
        7 => {
            let words = [
                ("sops:", "\"sops\":"),
                ("mac:", "mac :"),
                ("mac", "max"),
                ("recipient:", "recipient: "),
                ("recipient: ", "recipient: \""),
                ("---\n", ""),
                ("\n", "\n---\n"),
                ("    ", "\t"),
            ];
            let (from, to) = words[rng.below(words.len())];
            out[i] = lines[i].replacen(from, to, 1);
        }
        8 => out.push("---\nsops:\n    mac: x\n".into()),
        // The line one level deeper, under a new key.
        _ => out[i] = format!("    nest:\n    {}", lines[i]),
    }
    out.concat()
}

/// Whether the full parse reads `text` at all.
fn parses(text: &str) -> bool {
    let format = if text.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Yaml
    };
    tree::parse_documents(text, format).is_ok()
}

/// On a text that parses, the line scan (behind [`scan`]) and the parse agree.
fn agree(text: &str) {
    if parses(text) {
        assert_eq!(
            scan(text),
            scan_parsed(text),
            "the scan and the parse disagree on:\n{text}"
        );
    }
}

#[test]
fn the_scan_agrees_with_the_parse_on_real_generated_and_mutated_files() {
    let mut rng = Rng(0x05ee_d0f5_095f_11e5);
    let mut files: Vec<String> = REAL.iter().map(|s| (*s).to_owned()).collect();
    files.extend(generated(&mut rng));
    let mut fast = 0;
    for file in &files {
        assert!(scan(file).is_some(), "not seen as a SOPS file:\n{file}");
        agree(file);
        if scan_lines(file) != Fast::Unsure {
            fast += 1;
        }
        let mut text = file.clone();
        for round in 0..200 {
            // Chains of edits, restarting from the file now and then.
            if round % 6 == 0 {
                text = file.clone();
            }
            text = mutate(&mut rng, &text);
            agree(&text);
        }
    }
    // The YAML files sops writes take the line scan (the JSON ones, the parse).
    assert!(
        fast * 2 >= files.len(),
        "only {fast} of {} took the line scan",
        files.len()
    );
}

#[test]
fn a_json_bodied_yaml_file_is_a_sops_file() {
    let json = REAL[4];
    let docs = scan(json).expect("a SOPS file");
    assert_eq!(&json[docs[0].key.clone()], "\"sops\"");
    let (value, at) = &docs[0].recipients[0];
    assert_eq!(&json[at.clone()], value);
}

#[test]
fn the_line_scan_locates_key_and_recipients() {
    let text = "a: ENC[x]\nsops:\n    age:\n        - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqq\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n    mac: ENC[y]\n    lastmodified: \"2025-01-01T00:00:00Z\"\n";
    let Fast::Found(docs) = scan_lines(text) else {
        panic!("the line scan should read it");
    };
    assert_eq!(&text[docs[0].key.clone()], "sops:");
    assert_eq!(
        &text[docs[0].recipients[0].1.clone()],
        "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
    );
    assert_eq!(Some(docs), scan_parsed(text));
    for not in [
        "a: 1\n",
        "sops:\n",
        "sops:\n    - mac\n",
        "sops:\n    version: 1\nmac: x\n",
    ] {
        assert_eq!(scan(not), None, "{not}");
    }
}

#[test]
fn node_properties_before_the_sops_key_leave_it_to_the_parse() {
    // Found by the differential test: `&a sops:` is the key `sops`, anchored.
    for text in [
        "&a sops:\n    mac: x\n",
        "a: 1\n!!str sops:\n    mac: x\n",
        "a: 1\n&k !!str sops:\n    mac: x\n",
        "x:\n  &v sops:\n    mac: y\n",
    ] {
        assert!(parses(text), "{text}");
        assert_eq!(scan(text), scan_parsed(text), "{text}");
    }
}

#[test]
fn the_keys_of_a_sealed_file_are_read_without_decrypting() {
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: vpn\nstringData:\n    WIREGUARD_PRIVATE_KEY: ENC[AES256_GCM,data:x]\ndata:\n    B64: ENC[AES256_GCM,data:y]\nsops:\n    mac: ENC[z]\n";
    assert_eq!(
        keys_of(secret),
        Some(Keys {
            kubernetes_secret: true,
            names: vec!["B64".into(), "WIREGUARD_PRIVATE_KEY".into()],
            documents: 1,
        })
    );
    let plain = "token: ENC[AES256_GCM,data:x]\nsops:\n    mac: ENC[z]\n";
    assert_eq!(
        keys_of(plain),
        Some(Keys {
            kubernetes_secret: false,
            names: vec!["token".into()],
            documents: 1,
        })
    );
    // A Secret beside a plain map is not a Kubernetes Secret file.
    let mixed = format!("{secret}---\n{plain}");
    let keys = keys_of(&mixed).expect("two maps");
    assert_eq!((keys.kubernetes_secret, keys.documents), (false, 2));
    assert_eq!(keys.names, ["B64", "WIREGUARD_PRIVATE_KEY", "token"]);
    // A dotenv file, or a list, has no map: no key names to read.
    for no_map in [
        "TOKEN=ENC[AES256_GCM,data:x]\n",
        "- ENC[AES256_GCM,data:x]\n",
    ] {
        assert_eq!(keys_of(no_map), None, "{no_map}");
        assert_eq!(key_names(no_map), None, "{no_map}");
    }
}
